"""The surrogate artifact: one folder with the fitted models of every target.

Layout (schema :data:`SCHEMA_VERSION`)::

    <artifact>/
        metadata.json            schema, package and library versions, featurizer, model name
                                 and parameters (Optuna best included), targets, data digests,
                                 split sizes and held-out metrics per target
        noise.json               the run-to-run noise model (:mod:`surrogate.noise`)
        <target>/                one saved regressor per target (``model.save(dir)`` of
            metadata.json        :mod:`surrogate.base`: XGBoost ``model.ubj`` or a torch
            model.ubj | ...      ``state_dict``; never a pickle)

Target names are ``"<metric>@<epochs>"`` for final values (``"test_accuracy@108"``,
``"validation_accuracy@12"``, ``"training_time@108"``) and ``"halfway_<metric>@<epochs>"``
for the values at half the budget; see :func:`nb101.parse_target`.

The folder is written atomically (:func:`nb101._io.atomic_folder`): everything goes into a
temporary sibling folder which is renamed onto ``path`` at the end (an existing artifact there
is replaced only then); the JSON files are strict (:func:`nb101._io.write_json`).

Example
-------
>>> art = load_artifact("surrogate/default", require_targets=["test_accuracy@108"])
>>> art.predict("test_accuracy@108", np.arange(10))        # cell indices
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nb101 import ArtifactError, parse_target
from nb101._io import atomic_folder, write_json
from nb101.cell_space import NUM_CELLS

from .noise import NoiseModel

__all__ = ["SCHEMA_VERSION", "Artifact", "save_artifact", "load_artifact", "data_digest",
           "library_versions", "make_inputs", "predict_cells", "DEFAULT_ARTIFACT"]

#: Version of the folder layout and of ``metadata.json``.
SCHEMA_VERSION = 1
#: The bundled default artifact.
DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "default"
_METADATA = "metadata.json"
_NOISE = "noise.json"
_TRAINING_CELLS = "training_cells.npz"
#: Cells per model call when predicting many cells.
PREDICT_CHUNK = 65536


def data_digest(indices: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of the training data: cell indices (int64 LE) then labels (float64 LE)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(indices, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(labels, dtype="<f8").tobytes())
    return h.hexdigest()


def library_versions() -> dict[str, str | None]:
    """Versions of the numeric libraries an artifact depends on (None if not installed)."""
    from importlib import metadata as md
    out: dict[str, str | None] = {}
    for name, dist in (("numpy", "numpy"), ("xgboost", "xgboost"), ("torch", "torch"),
                       ("torch_geometric", "torch-geometric"), ("sklearn", "scikit-learn")):
        try:
            out[name] = md.version(dist)
        except md.PackageNotFoundError:
            out[name] = None
    return out


def _package_version() -> str:
    from importlib import metadata as md
    try:
        return md.version("nb101-surrogate")
    except md.PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------- artifact
@dataclass
class Artifact:
    """A loaded artifact: fitted models per target, featurizer and noise model.

    Attributes
    ----------
    path : Path
    metadata : dict
        The parsed ``metadata.json``.
    models : dict of str to regressor
        One fitted regressor per target.
    noise : surrogate.noise.NoiseModel or None
    """

    path: Path
    metadata: dict[str, Any]
    models: dict[str, Any]
    noise: Any = None
    _featurizer: Any = field(default=None, repr=False)
    training_masks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def in_sample(self, target: str) -> np.ndarray | None:
        """Boolean mask of the cells ``target``'s model was fitted on (None if unrecorded)."""
        return self.training_masks.get(target)

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.models)

    @property
    def featurizer(self) -> str:
        return self.metadata["featurizer"]

    def inputs(self, target: str, indices: np.ndarray) -> Any:
        """Model input of cells ``indices`` for ``target`` (array or list of ``Data``)."""
        return make_inputs(self.models[target], self.featurizer, indices)

    def predict(self, target: str, indices: np.ndarray) -> np.ndarray:
        """Predicted mean of ``target`` for cell indices, float64 (K,)."""
        if target not in self.models:
            raise KeyError(f"artifact {self.path} has no target {target!r}; "
                           f"targets: {list(self.models)}")
        return predict_cells(self.models[target], self.featurizer, indices)

    def require(self, targets: Iterable[str] | None) -> None:
        """Raise :class:`ArtifactError` if the artifact lacks any of ``targets``."""
        _check_provides(self.path, self.targets, targets)


def _check_provides(path: Path, provided: Sequence[str], required: Iterable[str] | None
                    ) -> None:
    """The one check that an artifact has the targets a caller needs."""
    missing = [t for t in (required or ()) if t not in provided]
    if missing:
        raise ArtifactError(f"surrogate artifact {path} lacks the required targets {missing}; "
                            f"it provides {list(provided)}")


def make_inputs(model: Any, featurizer: str, indices: np.ndarray) -> Any:
    """Features of cells for ``model``: a float32 array for array models, PyG ``Data`` for
    graph models (a ``Batch`` of the canonical cells; the featurizer is then unused)."""
    if getattr(model, "input_kind", "array") == "graph":
        from features import cells_to_batch
        return cells_to_batch(np.asarray(indices, dtype=np.int64))
    from features import get_featurizer
    return get_featurizer(featurizer).transform(np.asarray(indices, dtype=np.int64))


def predict_cells(model: Any, featurizer: str, indices: np.ndarray) -> np.ndarray:
    """Predictions of ``model`` for cell indices, float64 (K,), in chunks of
    :data:`PREDICT_CHUNK` cells (the features of the whole space never sit in memory)."""
    indices = np.asarray(indices, dtype=np.int64)
    chunks = [indices[start:start + PREDICT_CHUNK]
              for start in range(0, len(indices), PREDICT_CHUNK)]
    return np.concatenate([np.zeros(0)] + [
        np.asarray(model.predict(make_inputs(model, featurizer, chunk)), dtype=np.float64).ravel()
        for chunk in chunks])


def _target_dir(target: str) -> str:
    parse_target(target)
    return target  # "test_accuracy@108": portable file-name characters


def save_artifact(path: str | os.PathLike, *, models: Mapping[str, Any], featurizer: str,
                  model_name: str, model_params: Mapping[str, Any] | None = None,
                  noise: Any = None, targets_info: Mapping[str, Mapping[str, Any]] | None = None,
                  extra: Mapping[str, Any] | None = None,
                  training_cells: Mapping[str, np.ndarray] | None = None) -> Path:
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
    """
    path = Path(path)
    for target in models:
        _target_dir(target)
    with atomic_folder(path) as tmp:
        for target, model in models.items():
            model.save(tmp / _target_dir(target))
        info = {t: dict((targets_info or {}).get(t, {})) for t in models}
        meta = {
            "schema_version": SCHEMA_VERSION,
            "package_version": _package_version(),
            "featurizer": featurizer,
            "model": {"name": model_name, "class": type(next(iter(models.values()))).__name__
                      if models else None, "params": dict(model_params or {})},
            "targets": list(models),
            "target_info": info,
            "libraries": library_versions(),
            **dict(extra or {}),
        }
        write_json(tmp / _METADATA, meta, indent=2)
        if training_cells:
            masks = {}
            for target, cells in training_cells.items():
                mask = np.zeros(NUM_CELLS, dtype=bool)
                mask[np.asarray(cells, dtype=np.int64)] = True
                masks[target] = np.packbits(mask)
            np.savez_compressed(tmp / _TRAINING_CELLS, **masks)
        write_json(tmp / _NOISE, noise.to_dict() if noise is not None else None, indent=1)
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Parse and check ``<path>/metadata.json`` (schema version included).

    Raises
    ------
    ArtifactError
        Missing folder or file, invalid JSON, or another schema version.
    """
    path = Path(path)
    if not path.is_dir():
        raise ArtifactError(f"surrogate artifact folder {path} does not exist")
    file = path / _METADATA
    if not file.is_file():
        raise ArtifactError(f"surrogate artifact {path} is missing {file}")
    try:
        meta = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{file} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ArtifactError(f"{file} does not hold a JSON object")
    got = meta.get("schema_version")
    if got != SCHEMA_VERSION:
        raise ArtifactError(f"surrogate artifact {path} has a stale schema version: got "
                            f"{got!r}, expected {SCHEMA_VERSION}; retrain it with nb101-train")
    for key in ("featurizer", "model", "targets"):
        if key not in meta:
            raise ArtifactError(f"{file} lacks the key {key!r}")
    return meta


def load_artifact(path: str | os.PathLike | None = None, *,
                  require_targets: Iterable[str] | None = None) -> Artifact:
    """Load and check an artifact folder (default: the bundled one).

    Parameters
    ----------
    path : path-like, optional
        The artifact folder; ``None`` is :data:`DEFAULT_ARTIFACT`.
    require_targets : iterable of str, optional
        Targets the caller needs.

    Raises
    ------
    ArtifactError
        If the folder or a file is missing, the schema version differs, weights are corrupt,
        or a required target is not provided.
    """
    from .base import load_model

    path = Path(path) if path is not None else DEFAULT_ARTIFACT
    meta = read_metadata(path)
    targets = list(meta["targets"])
    _check_provides(path, targets, require_targets)  # before loading any weights
    models = {}
    for target in targets:
        try:
            parse_target(target)
        except ValueError as exc:
            raise ArtifactError(f"{path / _METADATA}: {exc}") from exc
        folder = path / _target_dir(target)
        if not folder.is_dir():
            raise ArtifactError(f"surrogate artifact {path} is missing the model folder "
                                f"{folder} of target {target!r}")
        try:
            models[target] = load_model(folder)
        except ArtifactError as exc:
            raise ArtifactError(f"surrogate artifact {path}, target {target!r}: {exc}") from exc
        except Exception as exc:  # noqa: BLE001 - any backend failure means corrupt weights
            raise ArtifactError(f"surrogate artifact {path}: corrupt weights in {folder} "
                                f"({type(exc).__name__}: {exc})") from exc
    noise = None
    noise_file = path / _NOISE
    if noise_file.is_file():
        try:
            data = json.loads(noise_file.read_text())
            noise = NoiseModel.from_dict(data) if data is not None else None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{noise_file} is not a valid noise model: {exc}") from exc
    masks = {}
    mask_file = path / _TRAINING_CELLS
    if mask_file.is_file():
        try:
            with np.load(mask_file, allow_pickle=False) as data:
                for target in data.files:
                    bits = data[target]
                    if bits.shape != ((NUM_CELLS + 7) // 8,) or bits.dtype != np.uint8:
                        raise ValueError(f"mask of {target!r} has shape {bits.shape}")
                    masks[target] = np.unpackbits(bits, count=NUM_CELLS).astype(bool)
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"{mask_file} is not a valid training-cell file: {exc}") from exc
    return Artifact(path=path, metadata=meta, models=models, noise=noise, training_masks=masks)

