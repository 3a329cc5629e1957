"""The checks a surrogate artifact passes when it is written and when it is loaded (each
failure an :class:`nb101.ArtifactError` of one line that names the file or target; see
:mod:`surrogate.artifact` for the list)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from nb101 import ArtifactError, parse_target

__all__ = ["file_sha256"]

_METADATA = "metadata.json"
_RETRAIN = (
    "retrain it with this version: python train_surrogate.py ... --out {path} (the "
    "README's 'Training a surrogate' gives the bundled default's command)"
)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _target_dir(target: str) -> str:
    parse_target(target)
    return target  # "test_accuracy@108": portable file-name characters


def _check_provides(path: Path, provided: Sequence[str], required: Iterable[str] | None) -> None:
    """The one check that an artifact has the targets a caller needs."""
    missing = [t for t in (required or ()) if t not in provided]
    if missing:
        raise ArtifactError(
            f"surrogate artifact {path} lacks the required targets {missing}; "
            f"it provides {list(provided)}"
        )


def _check_stacking(path: Path, targets: Sequence[str], stacked_on: Mapping[str, str]) -> None:
    """Every stacked target and its base are targets of the artifact; a base is not stacked.

    Raises
    ------
    ArtifactError
        Naming the target and the rule it breaks.
    """
    for target, base in stacked_on.items():
        if target not in targets or base not in targets:
            raise ArtifactError(
                f"surrogate artifact {path}: stacked_on maps {target!r} to "
                f"{base!r}, but its targets are {list(targets)}"
            )
        if base in stacked_on:
            raise ArtifactError(
                f"surrogate artifact {path}: target {target!r} is stacked on "
                f"{base!r}, which is stacked itself (one level only)"
            )


def _check_input_dims(
    path: Path,
    featurizer: str,
    width: int,
    input_dims: Mapping[str, int | None],
    stacked_on: Mapping[str, str] | None = None,
) -> None:
    """The one check that the featurizer gives each array model the width it was fitted on
    (one more column for a stacked target).

    Raises
    ------
    ArtifactError
        Naming the featurizer and its width, the target and its model's width.
    """
    for target, dim in input_dims.items():
        if dim is not None and dim != width + (target in (stacked_on or {})):
            raise ArtifactError(
                f"surrogate artifact {path}: the featurizer {featurizer!r} gives {width} "
                f"features per cell, but the model of target {target!r} was fitted on {dim} "
                f"(n_features_in_); the featurizer changed since training (or the model was "
                f"fitted on another one): restore it, or {_RETRAIN.format(path=path)}"
            )


def _verify_files(
    path: Path, meta: Mapping[str, Any], deferred: frozenset[str] = frozenset()
) -> None:
    """Every listed file is there and has its recorded sha256 (those in ``deferred``: checked
    when first read, :func:`_verify_file`); no target folder holds an unlisted file.

    Raises
    ------
    ArtifactError
        Naming the file that is missing, changed or unexpected.
    """
    files = meta["files"]
    for name in files:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts or name == _METADATA:
            raise ArtifactError(
                f"{path / _METADATA}: 'files' lists {name!r}, which is not a "
                f"file inside the artifact"
            )
    for target in meta["targets"]:
        folder = path / _target_dir(target)
        if not folder.is_dir():
            raise ArtifactError(
                f"surrogate artifact {path} is missing the model folder "
                f"{folder} of target {target!r}"
            )
        for file in sorted(folder.rglob("*")):
            if file.is_file() and file.relative_to(path).as_posix() not in files:
                raise ArtifactError(
                    f"{file} is not part of the surrogate artifact {path}: its metadata.json "
                    f"lists no such file (copied from elsewhere?); remove it or retrain"
                )
    for name, recorded in files.items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"surrogate artifact {path} is missing {file}")
        if name not in deferred:
            _verify_file(path, name, recorded)


def _verify_file(path: Path, name: str, recorded: str, data: bytes | None = None) -> None:
    """The file ``name`` of the artifact (or its bytes ``data``, read already) has its
    recorded sha256.

    Raises
    ------
    ArtifactError
        Naming the file.
    """
    file = path / name
    got = (
        hashlib.sha256(data).hexdigest()
        if data is not None
        else file_sha256(file)
        if file.is_file()
        else "(missing)"
    )
    if got != recorded:
        raise ArtifactError(
            f"{file} is corrupt or was replaced: its sha256 is {got[:16]}..., the artifact "
            f"recorded {str(recorded)[:16]}... (a file copied from another target or "
            f"artifact, a truncated copy or an edit); restore the artifact or retrain it"
        )


def _check_featurizer(path: Path, meta: Mapping[str, Any]) -> None:
    """The featurizer is registered and gives each array model its input width.

    Raises
    ------
    ArtifactError
        Naming the featurizer (and the target and widths, :func:`_check_input_dims`).
    """
    dims = {t: meta["input_dims"].get(t) for t in meta["targets"]}
    if all(dim is None for dim in dims.values()):
        return
    from features import get_featurizer

    try:
        width = get_featurizer(meta["featurizer"]).dim
    except ValueError as exc:
        raise ArtifactError(
            f"surrogate artifact {path} uses the featurizer "
            f"{meta['featurizer']!r}: {exc} (register it before loading)"
        ) from None
    _check_input_dims(path, meta["featurizer"], width, dims, meta.get("stacked_on") or {})
