"""Reading the files of a surrogate artifact, each checked as it is read: ``metadata.json``
(:func:`read_metadata`), one target's weights (gzip-compressed ones decompressed on the way)
and ``training_cells.npz``. :func:`surrogate.artifact.load_artifact` puts them together; the
list of checks is in :mod:`surrogate.artifact`.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nb101 import ArtifactError
from nb101.cell_space import NUM_CELLS
from nb101.io import open_npz
from nb101.paths import user_path

from .artifact_checks import _METADATA, _RETRAIN, _target_dir
from .artifact_save import ARTIFACT_KIND, GZIP_SUFFIX, READABLE_SCHEMAS, SCHEMA_VERSION, _input_dim

__all__ = ["read_metadata"]


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Parse and check ``<path>/metadata.json`` (kind, schema version and keys); reads no
    other file.

    Raises
    ------
    ArtifactError
        Missing folder, a folder that is not an artifact (no ``metadata.json``, or one without
        this project's ``kind``), invalid JSON, another schema version (the message says to
        retrain), or missing keys.
    """
    path = user_path(path)
    if not path.exists():
        raise ArtifactError(f"surrogate artifact folder {path} does not exist")
    if not path.is_dir():
        raise ArtifactError(f"{path} is not a surrogate artifact: it is a file, not a folder")
    file = path / _METADATA
    if not file.is_file():
        raise ArtifactError(
            f"{path} is not a surrogate artifact: it has no {_METADATA} (expected {file})"
        )
    try:
        meta = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{file} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or ("kind" not in meta and "schema_version" not in meta):
        raise ArtifactError(
            f"{path} is not a surrogate artifact: {file} has no 'kind': "
            f"{ARTIFACT_KIND!r} and no schema_version"
        )
    if "kind" in meta and meta["kind"] != ARTIFACT_KIND:
        raise ArtifactError(
            f"{path} is not a surrogate artifact: {file} has kind "
            f"{meta['kind']!r}, expected {ARTIFACT_KIND!r}"
        )
    got = meta.get("schema_version")
    if got not in READABLE_SCHEMAS:
        older = isinstance(got, int) and got < SCHEMA_VERSION
        raise ArtifactError(
            f"surrogate artifact {path} has {'an older' if older else 'another'} schema "
            f"version: got {got!r}, expected {SCHEMA_VERSION}; {_RETRAIN.format(path=path)}"
        )
    for key in ("featurizer", "model", "targets", "files", "input_dims"):
        if key not in meta:
            raise ArtifactError(f"{file} lacks the key {key!r}")
    if (
        not isinstance(meta["files"], dict)
        or not isinstance(meta["input_dims"], dict)
        or not isinstance(meta.get("stacked_on", {}), dict)
    ):
        raise ArtifactError(f"{file}: 'files', 'input_dims' and 'stacked_on' must be JSON objects")
    return meta


def _first_line(exc: BaseException) -> str:
    """An exception's message without what follows its first line (XGBoost appends C++
    stack frames)."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".strip()


def _load_target_model(path: Path, meta: Mapping[str, Any], target: str) -> Any:
    """Read and check the model of one target (see :meth:`Artifact.model`)."""
    from .base import load_model

    folder = path / _target_dir(target)
    try:
        with _uncompressed(folder) as plain:
            model = load_model(plain)
    except ArtifactError as exc:
        raise ArtifactError(f"surrogate artifact {path}, target {target!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any backend failure means corrupt weights
        raise ArtifactError(
            f"surrogate artifact {path}: corrupt weights in {folder} ({_first_line(exc)})"
        ) from None
    recorded = meta["input_dims"].get(target)
    if _input_dim(model) != recorded:
        raise ArtifactError(
            f"surrogate artifact {path}: the model of target {target!r} takes "
            f"{_input_dim(model)} features per cell, but metadata.json "
            f"records {recorded}; {_RETRAIN.format(path=path)}"
        )
    return model


class _uncompressed:
    """Context manager: ``folder`` itself, or where it holds gzip-compressed weights
    (schema 4), a temporary copy with them decompressed (the models' own ``load`` reads plain
    files)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> Path:
        files = [f for f in sorted(self.folder.rglob("*")) if f.is_file()]
        if not any(f.name.endswith(GZIP_SUFFIX) for f in files):
            return self.folder
        self._tmp = tempfile.TemporaryDirectory(prefix="nb101-model-")
        root = Path(self._tmp.name)
        for file in files:
            out = root / file.relative_to(self.folder)
            out.parent.mkdir(parents=True, exist_ok=True)
            if file.name.endswith(GZIP_SUFFIX):
                out.with_name(file.name[: -len(GZIP_SUFFIX)]).write_bytes(
                    gzip.decompress(file.read_bytes())
                )
            else:
                shutil.copyfile(file, out)
        return root

    def __exit__(self, *exc: Any) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()


def _read_masks(file: Path) -> dict[str, np.ndarray]:
    """The training cells of each target from ``training_cells.npz`` (empty without it).

    Raises
    ------
    ArtifactError
        If the file does not read or holds a mask of another size.
    """
    masks = {}
    if file.is_file():
        try:
            with open_npz(file) as data:
                for target in data.files:
                    bits = data[target]
                    if bits.shape != ((NUM_CELLS + 7) // 8,) or bits.dtype != np.uint8:
                        raise ValueError(f"mask of {target!r} has shape {bits.shape}")
                    masks[target] = np.unpackbits(bits, count=NUM_CELLS).astype(bool)
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"{file} is not a valid training-cell file: {exc}") from exc
    return masks
