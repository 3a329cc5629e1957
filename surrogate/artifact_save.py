"""Writing a surrogate artifact, and the layout facts that writing and loading share.

:func:`save_artifact` writes the folder described in :mod:`surrogate.artifact` atomically
(:func:`nb101.io.atomic_folder`): everything goes into a temporary sibling folder which is
renamed onto ``path`` at the end (an existing artifact there is replaced only then); the JSON
files are strict (:func:`nb101.io.write_json`). Model weights are stored gzip-compressed
(``<file>.gz``, deterministic: no time stamp), the models' ``metadata.json`` as they are.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nb101 import ArtifactError
from nb101.cell_space import NUM_CELLS
from nb101.io import atomic_folder, write_json
from nb101.paths import user_path

from .artifact_checks import _METADATA, _check_input_dims, _check_stacking, _target_dir, file_sha256
from .quantized import write_npz, write_predictions

__all__ = [
    "SCHEMA_VERSION",
    "READABLE_SCHEMAS",
    "ARTIFACT_KIND",
    "DEFAULT_ARTIFACT",
    "save_artifact",
    "data_digest",
    "file_sha256",
    "library_versions",
    "package_version",
]

#: Version of the folder layout and of ``metadata.json`` (2: ``kind``, the sha256 of every
#: file, the input width of each model; 3: ``stacked_on``; 4: the whole-space predictions
#: (``predictions``, optional) and gzip-compressed weights).
SCHEMA_VERSION = 4
#: Schema versions :func:`surrogate.artifact.read_metadata` accepts (a version-2 artifact is
#: one without stacking; versions 2 and 3 carry no predictions: their models answer).
READABLE_SCHEMAS = (2, 3, 4)
#: Marker in every artifact's ``metadata.json``.
ARTIFACT_KIND = "nb101-surrogate artifact"
#: The bundled default artifact.
DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "default"
_NOISE = "noise.json"
_TRAINING_CELLS = "training_cells.npz"
#: Suffix of a gzip-compressed weight file.
GZIP_SUFFIX = ".gz"


def data_digest(indices: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of the training data: cell indices (int64 LE) then labels (float64 LE)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(indices, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(labels, dtype="<f8").tobytes())
    return h.hexdigest()


#: The numeric libraries an artifact depends on: import name -> the distributions that
#: install it (this project installs XGBoost as ``xgboost-cpu`` where it has wheels).
_LIBRARIES = {
    "numpy": ("numpy",),
    "xgboost": ("xgboost", "xgboost-cpu"),
    "torch": ("torch",),
    "torch_geometric": ("torch-geometric",),
    "sklearn": ("scikit-learn",),
}


def library_versions() -> dict[str, str | None]:
    """Versions of the numeric libraries an artifact depends on (None if not installed)."""
    from importlib import metadata as md

    out: dict[str, str | None] = {}
    for name, dists in _LIBRARIES.items():
        out[name] = None
        for dist in dists:
            try:
                out[name] = md.version(dist)
                break
            except md.PackageNotFoundError:
                continue
    return out


def package_version() -> str:
    """This package's version (:data:`nb101.__version__`, the one place of it)."""
    from nb101 import __version__

    return __version__


def save_artifact(
    path: str | os.PathLike,
    *,
    models: Mapping[str, Any],
    featurizer: str,
    model_name: str,
    model_params: Mapping[str, Any] | None = None,
    noise: Any = None,
    targets_info: Mapping[str, Mapping[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
    training_cells: Mapping[str, np.ndarray] | None = None,
    stacked_on: Mapping[str, str] | None = None,
    predictions: Mapping[str, np.ndarray] | None = None,
) -> Path:
    """Write an artifact folder atomically and return its path.

    Parameters
    ----------
    path : path-like
        The artifact folder (replaced if it exists, only once the new one is complete).
    models : mapping of target name to fitted regressor
        Each is written with its own ``save(dir)`` into ``<path>/<target>/``.
    featurizer : str
        Name for :func:`features.get_featurizer`.
    model_name : str
        Registry name (:func:`surrogate.registry.get_regressor`).
    model_params : mapping, optional
        Constructor parameters shared by the targets (per-target tuned ones go in
        ``targets_info``).
    noise : surrogate.noise.NoiseModel, optional
    targets_info : mapping of target to dict, optional
        Per target: ``params`` (best Optuna params), ``data_sha256``, split sizes, ``metrics``.
    extra : mapping, optional
        More JSON-serialisable metadata (e.g. the training config).
    training_cells : mapping of target to int array, optional
        The cells each model was fitted on (stored as packed bit masks of the space in
        ``training_cells.npz``): which cells are in sample, for the noise model's
        out-of-sample model error and the fidelity report.
    stacked_on : mapping of target to target, optional
        Stacked targets and the target whose prediction each one's model takes as last input
        (:mod:`surrogate.artifact`); the base must be an unstacked target of ``models``.
    predictions : mapping of str to float64 array, optional
        The models' predictions of every cell: per target its mean, and for an ensemble
        whose runs come from its members (noise rule 6) each member's under
        :func:`surrogate.quantized.member_name`; stored quantized (:mod:`surrogate.quantized`)
        so that queries answer by lookup. Without it the models answer.

    Raises
    ------
    ArtifactError
        A stacking or input-width rule broken, or predictions missing a target or member.
    """
    path = user_path(path)
    for target in models:
        _target_dir(target)
    stacked_on = dict(stacked_on or {})
    _check_stacking(path, list(models), stacked_on)
    input_dims = {target: _input_dim(model) for target, model in models.items()}
    if any(dim is not None for dim in input_dims.values()):
        from features import get_featurizer

        _check_input_dims(path, featurizer, get_featurizer(featurizer).dim, input_dims, stacked_on)
    with atomic_folder(path) as tmp:
        for target, model in models.items():
            _compress_weights(model.save(tmp / _target_dir(target)))
        info = {t: dict((targets_info or {}).get(t, {})) for t in models}
        if training_cells:
            masks = {}
            for target, cells in training_cells.items():
                mask = np.zeros(NUM_CELLS, dtype=bool)
                mask[np.asarray(cells, dtype=np.int64)] = True
                masks[target] = np.packbits(mask)
            write_npz(tmp / _TRAINING_CELLS, masks)
        stored = None
        if predictions is not None:
            _check_predictions(path, models, noise, predictions)
            edges = {
                t: noise.targets[t].edges
                for t in models
                if noise is not None and t in noise.targets
            }
            stored = write_predictions(tmp, predictions, edges)
        write_json(tmp / _NOISE, noise.to_dict() if noise is not None else None, indent=1)
        files = {
            file.relative_to(tmp).as_posix(): file_sha256(file)
            for file in sorted(tmp.rglob("*"))
            if file.is_file()
        }
        meta = {
            "kind": ARTIFACT_KIND,
            "schema_version": SCHEMA_VERSION,
            "package_version": package_version(),
            "featurizer": featurizer,
            "input_dims": input_dims,
            "model": {
                "name": model_name,
                "class": type(next(iter(models.values()))).__name__ if models else None,
                "params": dict(model_params or {}),
            },
            "targets": list(models),
            "stacked_on": stacked_on,
            "target_info": info,
            **({"predictions": stored} if stored is not None else {}),
            "libraries": library_versions(),
            **dict(extra or {}),
            "files": files,
        }
        write_json(tmp / _METADATA, meta, indent=2)
    return path


def _compress_weights(folder: Path) -> None:
    """Replace every file of a saved model's folder but its ``metadata.json`` files by its
    gzip-compressed copy (``<name>.gz``; level 9, no time stamp: same bytes on retraining)."""
    for file in sorted(folder.rglob("*")):
        if file.is_file() and file.name != _METADATA:
            file.with_name(file.name + GZIP_SUFFIX).write_bytes(
                gzip.compress(file.read_bytes(), compresslevel=9, mtime=0)
            )
            file.unlink()


def _check_predictions(
    path: Path, models: Mapping[str, Any], noise: Any, predictions: Mapping[str, np.ndarray]
) -> None:
    """Predictions hold every cell of every target's mean, and of each member of the targets
    whose runs come from members (noise rule 6), and nothing else.

    Raises
    ------
    ArtifactError
        Naming the missing, extra or misshapen prediction.
    """
    from .quantized import member_name

    expected = set()
    for target in models:
        expected.add(member_name(target, None))
        members = (
            noise.targets[target].members if noise is not None and target in noise.targets else 1
        )
        if members > 1:
            expected.update(member_name(target, k) for k in range(members))
    if set(predictions) != expected:
        raise ArtifactError(
            f"surrogate artifact {path}: predictions of "
            f"{sorted(set(predictions))}, expected {sorted(expected)}"
        )
    for name, values in predictions.items():
        if np.shape(values) != (NUM_CELLS,):
            raise ArtifactError(
                f"surrogate artifact {path}: predictions of {name!r} have "
                f"shape {np.shape(values)}, expected ({NUM_CELLS},)"
            )


def _input_dim(model: Any) -> int | None:
    """Features per cell an array model was fitted on; None for a graph model."""
    if getattr(model, "input_kind", "array") == "graph":
        return None
    dim = getattr(model, "n_features_in_", None)
    return None if dim is None else int(dim)
