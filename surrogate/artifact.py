"""The surrogate artifact: one folder with the fitted models of every target.

Layout (schema :data:`SCHEMA_VERSION`)::

    <artifact>/
        metadata.json            kind and schema, package and library versions, featurizer
                                 and the input width of each target's model, model name and
                                 parameters (Optuna best included), targets, data digests,
                                 split sizes, held-out metrics per target, and the sha256 of
                                 every other file of the folder
        noise.json               the run-to-run noise model (:mod:`surrogate.noise`)
        training_cells.npz       the cells each target's model was fitted on (packed bits)
        <target>/                one saved regressor per target (``model.save(dir)`` of
            metadata.json        :mod:`surrogate.base`: XGBoost ``model.ubj`` or a torch
            model.ubj | ...      ``state_dict``; never a pickle)

**Stacking** (``stacked_on`` in ``metadata.json``, target to target): the model of a stacked
target takes the featurizer's features plus, as one last column, the prediction of another
target's model for the same cell (:func:`make_inputs`). The bundled default stacks its
validation accuracies on ``test_accuracy@108``, the one target labelled on every cell of the
space, so that targets labelled on a sample learn from it (training time is not stacked).

Target names are ``"<metric>@<epochs>"`` for final values (``"test_accuracy@108"``,
``"validation_accuracy@12"``, ``"training_time@108"``) and ``"halfway_<metric>@<epochs>"``
for the values at half the budget; see :func:`nb101.parse_target`.

The folder is written atomically (:func:`nb101._io.atomic_folder`): everything goes into a
temporary sibling folder which is renamed onto ``path`` at the end (an existing artifact there
is replaced only then); the JSON files are strict (:func:`nb101._io.write_json`).

What :func:`load_artifact` checks, each failure an :class:`nb101.ArtifactError` of one line
that names the file:

* ``metadata.json`` is this project's (``kind``; a folder without one, or with ``{}``, is
  "not a surrogate artifact") and of this schema version (an older one says to retrain);
* every file listed in ``files`` is there and has its recorded sha256, and no target folder
  holds a file the list lacks: a file copied from another target or another artifact, or
  truncated, is caught before any weights are read;
* the featurizer is registered and gives as many features per cell as each array model was
  fitted on (an edited featurizer is named with both widths);
* the weights parse (a backend's error is cut to its first line: no C++ stack frames).

The models themselves are read lazily, when a target is first predicted
(:meth:`Artifact.model`), so that loading an artifact whose predictions are cached
(:mod:`surrogate.predictions`) never imports XGBoost or torch; ``load_artifact(...,
lazy=False)`` reads them all at once.

:attr:`Artifact.digest` identifies what the models compute: a sha256 over the featurizer, and
the targets with their files' sha256; the prediction cache is keyed by it.

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
from nb101.io import atomic_folder, open_npz, write_json
from nb101.cell_space import NUM_CELLS
from nb101.paths import user_path

from .noise import NoiseModel

__all__ = ["SCHEMA_VERSION", "ARTIFACT_KIND", "Artifact", "save_artifact", "load_artifact",
           "read_metadata", "data_digest", "file_sha256", "library_versions", "make_inputs",
           "predict_cells", "DEFAULT_ARTIFACT", "READABLE_SCHEMAS"]

#: Version of the folder layout and of ``metadata.json`` (2: ``kind``, the sha256 of every
#: file, the input width of each model; 3: ``stacked_on``).
SCHEMA_VERSION = 3
#: Schema versions :func:`read_metadata` accepts (a version-2 artifact is one without stacking).
READABLE_SCHEMAS = (2, 3)
#: Marker in every artifact's ``metadata.json``.
ARTIFACT_KIND = "nb101-surrogate artifact"
#: The bundled default artifact.
DEFAULT_ARTIFACT = Path(__file__).resolve().parent / "default"
_METADATA = "metadata.json"
_NOISE = "noise.json"
_TRAINING_CELLS = "training_cells.npz"
#: Cells per model call when predicting many cells.
PREDICT_CHUNK = 65536
_RETRAIN = ("retrain it with this version: python train_surrogate.py ... --out {path} (the "
            "README's 'Training a surrogate' gives the bundled default's command)")


def data_digest(indices: np.ndarray, labels: np.ndarray) -> str:
    """sha256 of the training data: cell indices (int64 LE) then labels (float64 LE)."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(indices, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(labels, dtype="<f8").tobytes())
    return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


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
    """A loaded artifact: its metadata, noise model and training cells, and the fitted model
    of every target (read on first need, see :meth:`model`).

    Attributes
    ----------
    path : Path
    metadata : dict
        The parsed ``metadata.json``.
    noise : surrogate.noise.NoiseModel or None
    training_masks : dict of str to bool ndarray
        Per target, the cells its model was fitted on (empty if unrecorded).
    """

    path: Path
    metadata: dict[str, Any]
    noise: Any = None
    training_masks: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _models: dict[str, Any] = field(default_factory=dict, repr=False)

    def in_sample(self, target: str) -> np.ndarray | None:
        """Boolean mask of the cells ``target``'s model was fitted on (None if unrecorded)."""
        return self.training_masks.get(target)

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.metadata["targets"])

    @property
    def featurizer(self) -> str:
        return self.metadata["featurizer"]

    @property
    def stacked_on(self) -> dict[str, str]:
        """Stacked target -> the target whose prediction its model takes as last input."""
        return dict(self.metadata.get("stacked_on") or {})

    def base_model(self, target: str) -> Any:
        """The model whose prediction ``target``'s model takes as last input (None if the
        target is not stacked)."""
        base = self.stacked_on.get(target)
        return None if base is None else self.model(base)

    @property
    def digest(self) -> str:
        """sha256 of what the models compute: the featurizer, its width and, per target, the
        sha256 of each of its files (weights and model metadata). Two artifacts with the same
        digest predict the same values; the prediction cache is keyed by it."""
        meta = self.metadata
        lines = [f"featurizer {meta['featurizer']}"]
        lines += [f"stacked {t} on {b}" for t, b in sorted(self.stacked_on.items())]
        for target in self.targets:
            lines.append(f"target {target} input {meta['input_dims'].get(target)}")
            lines += [f"{name} {sha}" for name, sha in sorted(meta["files"].items())
                      if name.startswith(f"{target}/")]
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    def model(self, target: str) -> Any:
        """The fitted regressor of ``target``, read from its folder on first need.

        Raises
        ------
        KeyError
            If the artifact has no such target.
        ArtifactError
            If the weights do not parse, or the model's input width differs from the
            featurizer's (one line, naming the folder).
        """
        model = self._models.get(target)
        if model is None:
            if target not in self.metadata["targets"]:
                raise KeyError(f"artifact {self.path} has no target {target!r}; "
                               f"targets: {list(self.targets)}")
            model = self._models[target] = _load_target_model(self.path, self.metadata, target)
        return model

    @property
    def models(self) -> dict[str, Any]:
        """Every target's fitted regressor (all read now if not yet)."""
        return {target: self.model(target) for target in self.targets}

    def inputs(self, target: str, indices: np.ndarray) -> Any:
        """Model input of cells ``indices`` for ``target`` (array or list of ``Data``)."""
        return make_inputs(self.model(target), self.featurizer, indices,
                           base=self.base_model(target))

    def predict(self, target: str, indices: np.ndarray) -> np.ndarray:
        """Predicted mean of ``target`` for cell indices, float64 (K,)."""
        return predict_cells(self.model(target), self.featurizer, indices,
                             base=self.base_model(target))

    def members(self, target: str) -> int:
        """Ensemble members of ``target`` whose runs a noisy surrogate samples (noise rule 6,
        :mod:`surrogate.noise`); 1 for a single model."""
        noise = self.noise.targets.get(target) if self.noise is not None else None
        return 1 if noise is None else noise.members

    def predict_targets(self, targets: Iterable[str], indices: np.ndarray,
                        member: int | None = None) -> dict[str, np.ndarray]:
        """Predicted means of several targets for the same cells (float64 (K,) each), the
        inputs made once per chunk of :data:`PREDICT_CHUNK` cells and input kind (the
        targets share the featurizer): the same values as :meth:`predict` of each.
        ``member``: the prediction of ensemble member ``member mod M`` of the targets with
        ``M`` > 1 members (rule 6) instead of their mean."""
        targets = list(targets)
        stacked = self.stacked_on
        # unstacked targets first: a base predicted as a target is reused as the stacked input
        models = {target: self.model(target) for target in sorted(targets,
                                                                 key=lambda t: t in stacked)}
        indices = np.asarray(indices, dtype=np.int64)
        parts: dict[str, list[np.ndarray]] = {target: [np.zeros(0)] for target in targets}
        for start in range(0, len(indices), PREDICT_CHUNK):
            chunk = indices[start:start + PREDICT_CHUNK]
            inputs: dict[str, Any] = {}
            means: dict[str, np.ndarray] = {}  # this chunk's mean predictions, for stacking
            stacked_inputs: dict[str, np.ndarray] = {}  # per base: features + its prediction
            for target, model in models.items():
                kind = getattr(model, "input_kind", "array")
                if kind not in inputs:
                    inputs[kind] = make_inputs(model, self.featurizer, chunk)
                X = inputs[kind]
                base = stacked.get(target)
                if base is not None:  # the base's mean prediction, once per chunk and base
                    if base not in stacked_inputs:
                        stacked_inputs[base] = _with_column(
                            X, means[base] if base in means else self.model(base).predict(X))
                    X = stacked_inputs[base]
                one = model
                if member is not None and self.members(target) > 1:
                    one = model.members_[member % len(model.members_)]
                parts[target].append(np.asarray(one.predict(X), dtype=np.float64).ravel())
                if one is model:
                    means[target] = parts[target][-1]
        return {target: np.concatenate(values) for target, values in parts.items()}

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


def make_inputs(model: Any, featurizer: str, indices: np.ndarray, *, base: Any = None) -> Any:
    """Features of cells for ``model``: a float32 array for array models, PyG ``Data`` for
    graph models (a ``Batch`` of the canonical cells; the featurizer is then unused).
    ``base``: a fitted array model on the same featurizer whose prediction is appended as
    the last column (stacking, module docstring)."""
    if getattr(model, "input_kind", "array") == "graph":
        if base is not None:
            raise ValueError("a graph model cannot be stacked on another model's prediction")
        from features import cells_to_batch
        return cells_to_batch(np.asarray(indices, dtype=np.int64))
    from features import get_featurizer
    X = get_featurizer(featurizer).transform(np.asarray(indices, dtype=np.int64))
    return X if base is None else _with_column(X, base.predict(X))


def _with_column(X: np.ndarray, column: np.ndarray) -> np.ndarray:
    """``X`` with ``column`` appended (float32, the features' dtype)."""
    return np.hstack([X, np.asarray(column, dtype=np.float32).reshape(-1, 1)])


def predict_cells(model: Any, featurizer: str, indices: np.ndarray, *,
                  members: bool = False, base: Any = None) -> np.ndarray:
    """Predictions of ``model`` for cell indices, float64 (K,), in chunks of
    :data:`PREDICT_CHUNK` cells (the features of the whole space never sit in memory);
    ``members=True``: each member's prediction of an ensemble, (M, K); ``base``: see
    :func:`make_inputs`."""
    indices = np.asarray(indices, dtype=np.int64)
    chunks = [indices[start:start + PREDICT_CHUNK]
              for start in range(0, len(indices), PREDICT_CHUNK)]
    if members:
        width = len(model.members_)
        return np.concatenate([np.zeros((width, 0))] + [
            np.asarray(model.predict_members(make_inputs(model, featurizer, chunk, base=base)),
                       dtype=np.float64).T for chunk in chunks], axis=1)
    return np.concatenate([np.zeros(0)] + [
        np.asarray(model.predict(make_inputs(model, featurizer, chunk, base=base)),
                   dtype=np.float64).ravel() for chunk in chunks])


def _target_dir(target: str) -> str:
    parse_target(target)
    return target  # "test_accuracy@108": portable file-name characters


def save_artifact(path: str | os.PathLike, *, models: Mapping[str, Any], featurizer: str,
                  model_name: str, model_params: Mapping[str, Any] | None = None,
                  noise: Any = None, targets_info: Mapping[str, Mapping[str, Any]] | None = None,
                  extra: Mapping[str, Any] | None = None,
                  training_cells: Mapping[str, np.ndarray] | None = None,
                  stacked_on: Mapping[str, str] | None = None) -> Path:
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
        (module docstring); the base must be an unstacked target of ``models``.
    """
    path = user_path(path)
    for target in models:
        _target_dir(target)
    stacked_on = dict(stacked_on or {})
    _check_stacking(path, list(models), stacked_on)
    input_dims = {target: _input_dim(model) for target, model in models.items()}
    if any(dim is not None for dim in input_dims.values()):
        from features import get_featurizer
        _check_input_dims(path, featurizer, get_featurizer(featurizer).dim, input_dims,
                          stacked_on)
    with atomic_folder(path) as tmp:
        for target, model in models.items():
            model.save(tmp / _target_dir(target))
        info = {t: dict((targets_info or {}).get(t, {})) for t in models}
        if training_cells:
            masks = {}
            for target, cells in training_cells.items():
                mask = np.zeros(NUM_CELLS, dtype=bool)
                mask[np.asarray(cells, dtype=np.int64)] = True
                masks[target] = np.packbits(mask)
            np.savez_compressed(tmp / _TRAINING_CELLS, **masks)
        write_json(tmp / _NOISE, noise.to_dict() if noise is not None else None, indent=1)
        files = {file.relative_to(tmp).as_posix(): file_sha256(file)
                 for file in sorted(tmp.rglob("*")) if file.is_file()}
        meta = {
            "kind": ARTIFACT_KIND,
            "schema_version": SCHEMA_VERSION,
            "package_version": _package_version(),
            "featurizer": featurizer,
            "input_dims": input_dims,
            "model": {"name": model_name, "class": type(next(iter(models.values()))).__name__
                      if models else None, "params": dict(model_params or {})},
            "targets": list(models),
            "stacked_on": stacked_on,
            "target_info": info,
            "libraries": library_versions(),
            **dict(extra or {}),
            "files": files,
        }
        write_json(tmp / _METADATA, meta, indent=2)
    return path


def _input_dim(model: Any) -> int | None:
    """Features per cell an array model was fitted on; None for a graph model."""
    if getattr(model, "input_kind", "array") == "graph":
        return None
    dim = getattr(model, "n_features_in_", None)
    return None if dim is None else int(dim)


def _check_stacking(path: Path, targets: Sequence[str], stacked_on: Mapping[str, str]) -> None:
    """Every stacked target and its base are targets of the artifact; a base is not stacked.

    Raises
    ------
    ArtifactError
        Naming the target and the rule it breaks.
    """
    for target, base in stacked_on.items():
        if target not in targets or base not in targets:
            raise ArtifactError(f"surrogate artifact {path}: stacked_on maps {target!r} to "
                                f"{base!r}, but its targets are {list(targets)}")
        if base in stacked_on:
            raise ArtifactError(f"surrogate artifact {path}: target {target!r} is stacked on "
                                f"{base!r}, which is stacked itself (one level only)")


def _check_input_dims(path: Path, featurizer: str, width: int,
                      input_dims: Mapping[str, int | None],
                      stacked_on: Mapping[str, str] | None = None) -> None:
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
                f"fitted on another one): restore it, or {_RETRAIN.format(path=path)}")


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
        raise ArtifactError(f"{path} is not a surrogate artifact: it has no {_METADATA} "
                            f"(expected {file})")
    try:
        meta = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{file} is not valid JSON: {exc}") from exc
    if not isinstance(meta, dict) or ("kind" not in meta and "schema_version" not in meta):
        raise ArtifactError(f"{path} is not a surrogate artifact: {file} has no 'kind': "
                            f"{ARTIFACT_KIND!r} and no schema_version")
    if "kind" in meta and meta["kind"] != ARTIFACT_KIND:
        raise ArtifactError(f"{path} is not a surrogate artifact: {file} has kind "
                            f"{meta['kind']!r}, expected {ARTIFACT_KIND!r}")
    got = meta.get("schema_version")
    if got not in READABLE_SCHEMAS:
        older = isinstance(got, int) and got < SCHEMA_VERSION
        raise ArtifactError(
            f"surrogate artifact {path} has {'an older' if older else 'another'} schema "
            f"version: got {got!r}, expected {SCHEMA_VERSION}; {_RETRAIN.format(path=path)}")
    for key in ("featurizer", "model", "targets", "files", "input_dims"):
        if key not in meta:
            raise ArtifactError(f"{file} lacks the key {key!r}")
    if not isinstance(meta["files"], dict) or not isinstance(meta["input_dims"], dict) \
            or not isinstance(meta.get("stacked_on", {}), dict):
        raise ArtifactError(f"{file}: 'files', 'input_dims' and 'stacked_on' must be JSON "
                            f"objects")
    return meta


def _verify_files(path: Path, meta: Mapping[str, Any]) -> None:
    """Every listed file has its recorded sha256; no target folder holds an unlisted file.

    Raises
    ------
    ArtifactError
        Naming the file that is missing, changed or unexpected.
    """
    files = meta["files"]
    for name in files:
        parts = Path(name).parts
        if Path(name).is_absolute() or ".." in parts or name == _METADATA:
            raise ArtifactError(f"{path / _METADATA}: 'files' lists {name!r}, which is not a "
                                f"file inside the artifact")
    for target in meta["targets"]:
        folder = path / _target_dir(target)
        if not folder.is_dir():
            raise ArtifactError(f"surrogate artifact {path} is missing the model folder "
                                f"{folder} of target {target!r}")
        for file in sorted(folder.rglob("*")):
            if file.is_file() and file.relative_to(path).as_posix() not in files:
                raise ArtifactError(
                    f"{file} is not part of the surrogate artifact {path}: its metadata.json "
                    f"lists no such file (copied from elsewhere?); remove it or retrain")
    for name, recorded in files.items():
        file = path / name
        if not file.is_file():
            raise ArtifactError(f"surrogate artifact {path} is missing {file}")
        got = file_sha256(file)
        if got != recorded:
            raise ArtifactError(
                f"{file} is corrupt or was replaced: its sha256 is {got[:16]}..., the artifact "
                f"recorded {str(recorded)[:16]}... (a file copied from another target or "
                f"artifact, a truncated copy or an edit); restore the artifact or retrain it")


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
        model = load_model(folder)
    except ArtifactError as exc:
        raise ArtifactError(f"surrogate artifact {path}, target {target!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any backend failure means corrupt weights
        raise ArtifactError(f"surrogate artifact {path}: corrupt weights in {folder} "
                            f"({_first_line(exc)})") from None
    recorded = meta["input_dims"].get(target)
    if _input_dim(model) != recorded:
        raise ArtifactError(f"surrogate artifact {path}: the model of target {target!r} takes "
                            f"{_input_dim(model)} features per cell, but metadata.json "
                            f"records {recorded}; {_RETRAIN.format(path=path)}")
    return model


def load_artifact(path: str | os.PathLike | None = None, *,
                  require_targets: Iterable[str] | None = None,
                  lazy: bool = False) -> Artifact:
    """Load and check an artifact folder (default: the bundled one).

    Parameters
    ----------
    path : path-like, optional
        The artifact folder (``~`` is the home folder); ``None`` is :data:`DEFAULT_ARTIFACT`.
    require_targets : iterable of str, optional
        Targets the caller needs.
    lazy : bool, default=False
        Read each target's weights on first need (:meth:`Artifact.model`) instead of now;
        every other check (module docstring) is done now either way.

    Raises
    ------
    ArtifactError
        If the folder is not an artifact, of another schema version, misses a file, holds a
        file that differs from its recorded sha256 or is unlisted, its featurizer does not
        give its models' input width, weights do not parse (``lazy=False``), or a required
        target is not provided. One line, naming the file.
    """
    path = user_path(path) if path is not None else DEFAULT_ARTIFACT
    meta = read_metadata(path)
    targets = list(meta["targets"])
    _check_provides(path, targets, require_targets)  # before reading any weights
    for target in targets:
        try:
            parse_target(target)
        except ValueError as exc:
            raise ArtifactError(f"{path / _METADATA}: {exc}") from exc
    _verify_files(path, meta)
    stacked_on = meta.get("stacked_on") or {}
    _check_stacking(path, targets, stacked_on)
    dims = {t: meta["input_dims"].get(t) for t in targets}
    if any(dim is not None for dim in dims.values()):
        from features import get_featurizer
        try:
            width = get_featurizer(meta["featurizer"]).dim
        except ValueError as exc:
            raise ArtifactError(f"surrogate artifact {path} uses the featurizer "
                                f"{meta['featurizer']!r}: {exc} (register it before loading)"
                                ) from None
        _check_input_dims(path, meta["featurizer"], width, dims, stacked_on)
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
            with open_npz(mask_file) as data:
                for target in data.files:
                    bits = data[target]
                    if bits.shape != ((NUM_CELLS + 7) // 8,) or bits.dtype != np.uint8:
                        raise ValueError(f"mask of {target!r} has shape {bits.shape}")
                    masks[target] = np.unpackbits(bits, count=NUM_CELLS).astype(bool)
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"{mask_file} is not a valid training-cell file: {exc}") from exc
    artifact = Artifact(path=path, metadata=meta, noise=noise, training_masks=masks)
    if not lazy:
        for target in targets:
            artifact.model(target)
    return artifact
