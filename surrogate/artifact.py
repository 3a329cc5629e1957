"""The surrogate artifact: one folder with the fitted models of every target, and their
predictions of the whole space.

Layout (schema :data:`SCHEMA_VERSION`)::

    <artifact>/
        metadata.json            kind and schema, package and library versions, featurizer
                                 and the input width of each target's model, model name and
                                 parameters (Optuna best included), targets, data digests,
                                 split sizes, held-out metrics per target, the stored
                                 predictions' resolution, and the sha256 of every other file
        noise.json               the run-to-run noise model (:mod:`surrogate.noise`)
        training_cells.npz       the cells each target's model was fitted on (packed bits)
        predictions.npz          the models' predictions of all 423,624 cells, 16 bits each
                                 (:mod:`surrogate.quantized`; absent: the models answer)
        <target>/                one saved regressor per target (``model.save(dir)`` of
            metadata.json        :mod:`surrogate.base`: XGBoost ``model.ubj`` or a torch
            model.ubj.gz | ...   ``state_dict``, gzip-compressed; never a pickle)

**A surrogate on a finite space is a table.** Queries read ``predictions.npz`` (written at
training time) and never load a model, so they import neither XGBoost nor torch. The models
stay in the artifact (provenance, retraining, re-prediction) and answer where the predictions
are absent: artifacts of schema 2 and 3, and ones trained with ``--no-predictions``.

**Stacking** (``stacked_on`` in ``metadata.json``, target to target): the model of a stacked
target takes the featurizer's features plus, as one last column, the prediction of another
target's model for the same cell (:func:`surrogate.inputs.make_inputs`). The bundled default
stacks its validation accuracies on ``test_accuracy@108``, the one target labelled on every
cell of the space, so that targets labelled on a sample learn from it (training time is not
stacked).

Target names are ``"<metric>@<epochs>"`` for final values (``"test_accuracy@108"``,
``"validation_accuracy@12"``, ``"training_time@108"``) and ``"halfway_<metric>@<epochs>"``
for the values at half the budget; see :func:`nb101.parse_target`. Writing:
:func:`surrogate.artifact_save.save_artifact`; reading each file: :mod:`surrogate.artifact_read`.

What :func:`load_artifact` checks, each failure an :class:`nb101.ArtifactError` of one line
that names the file:

* ``metadata.json`` is this project's (``kind``; a folder without one, or with ``{}``, is
  "not a surrogate artifact") and of a readable schema version (another one says to retrain);
* every file listed in ``files`` is there and has its recorded sha256, and no target folder
  holds a file the list lacks: a file copied from another target or another artifact, or
  truncated, is caught before it is read (with ``lazy=True``, as ``SurrogateBenchmark``
  loads, the weights and predictions are checked when first read, not at load);
* the featurizer is registered and gives as many features per cell as each array model was
  fitted on (an edited featurizer is named with both widths);
* the weights parse (a backend's error is cut to its first line: no C++ stack frames).

The models themselves are read lazily, when a target is first predicted (:meth:`Artifact.model`),
so that an artifact with predictions never imports XGBoost or torch; ``load_artifact(...,
lazy=False)`` reads them all at once.

:attr:`Artifact.digest` identifies what the models compute: a sha256 over the featurizer, and
the targets with their files' sha256; the per-machine prediction cache of artifacts without
stored predictions (:mod:`surrogate.predictions`) is keyed by it.

Example
-------
>>> art = load_artifact(DEFAULT_ARTIFACT, require_targets=["test_accuracy@108"])
>>> art.predict("test_accuracy@108", np.arange(10)).shape   # cell indices
(10,)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nb101 import ArtifactError, parse_target
from nb101.cell_space import NUM_CELLS
from nb101.paths import user_path

from .artifact_checks import (
    _METADATA,
    _check_featurizer,
    _check_provides,
    _check_stacking,
    _target_dir,
    _verify_file,
    _verify_files,
    file_sha256,
)
from .artifact_read import _load_target_model, _read_masks, read_metadata
from .artifact_save import (
    _NOISE,
    _TRAINING_CELLS,
    ARTIFACT_KIND,
    DEFAULT_ARTIFACT,
    READABLE_SCHEMAS,
    SCHEMA_VERSION,
    data_digest,
    library_versions,
    package_version,
    save_artifact,
)
from .inputs import PREDICT_CHUNK, make_inputs, predict_cells, with_column
from .noise import NoiseModel
from .quantized import StoredPredictions

__all__ = [
    "SCHEMA_VERSION",
    "ARTIFACT_KIND",
    "Artifact",
    "save_artifact",
    "load_artifact",
    "read_metadata",
    "data_digest",
    "file_sha256",
    "library_versions",
    "package_version",
    "make_inputs",
    "predict_cells",
    "DEFAULT_ARTIFACT",
    "READABLE_SCHEMAS",
    "PREDICT_CHUNK",
]


# ---------------------------------------------------------------------------- artifact
@dataclass
class Artifact:
    """A loaded artifact: its metadata, noise model, training cells and stored predictions,
    and the fitted model of every target (read on first need, see :meth:`model`).

    Attributes
    ----------
    path : Path
    metadata : dict
        The parsed ``metadata.json``.
    noise : surrogate.noise.NoiseModel or None
    training_masks : dict of str to bool ndarray
        Per target, the cells its model was fitted on (empty if unrecorded; read on first
        need).
    predictions : surrogate.quantized.StoredPredictions or None
        The models' predictions of every cell (None: the models answer).
    """

    path: Path
    metadata: dict[str, Any]
    noise: Any = None
    _masks: dict[str, np.ndarray] | None = field(default=None, repr=False)  # read on need
    predictions: StoredPredictions | None = field(default=None, repr=False)
    _models: dict[str, Any] = field(default_factory=dict, repr=False)
    _unverified: set[str] = field(default_factory=set, repr=False)  # checked on first read
    _featurizer_checked: bool = field(default=True, repr=False)

    @property
    def training_masks(self) -> dict[str, np.ndarray]:
        """Per target, the cells its model was fitted on (empty if unrecorded); read on
        first need."""
        if self._masks is None:
            self._masks = _read_masks(self.path / _TRAINING_CELLS)
        return self._masks

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
            lines += [
                f"{name} {sha}"
                for name, sha in sorted(meta["files"].items())
                if name.startswith(f"{target}/")
            ]
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()

    @property
    def noise_digest(self) -> str | None:
        """sha256 of the noise model's file (None without one): what simulated runs depend on
        beyond :attr:`digest`, which covers the models only."""
        return self.metadata["files"].get("noise.json")

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
                raise KeyError(
                    f"artifact {self.path} has no target {target!r}; targets: {list(self.targets)}"
                )
            if not self._featurizer_checked:
                _check_featurizer(self.path, self.metadata)
                self._featurizer_checked = True
            for name in sorted(self._unverified):
                if name.startswith(f"{_target_dir(target)}/"):
                    _verify_file(self.path, name, self.metadata["files"][name])
                    self._unverified.discard(name)
            model = self._models[target] = _load_target_model(self.path, self.metadata, target)
        return model

    @property
    def models(self) -> dict[str, Any]:
        """Every target's fitted regressor (all read now if not yet)."""
        return {target: self.model(target) for target in self.targets}

    def inputs(self, target: str, indices: np.ndarray) -> Any:
        """Model input of cells ``indices`` for ``target`` (array or list of ``Data``)."""
        return make_inputs(
            self.model(target), self.featurizer, indices, base=self.base_model(target)
        )

    def predict(self, target: str, indices: np.ndarray) -> np.ndarray:
        """Predicted mean of ``target`` for cell indices, float64 (K,)."""
        return predict_cells(
            self.model(target), self.featurizer, indices, base=self.base_model(target)
        )

    def members(self, target: str) -> int:
        """Ensemble members of ``target`` whose runs a noisy surrogate samples (noise rule 6,
        :mod:`surrogate.noise`); 1 for a single model."""
        noise = self.noise.targets.get(target) if self.noise is not None else None
        return 1 if noise is None else noise.members

    def predict_targets(
        self, targets: Iterable[str], indices: np.ndarray, member: int | None = None
    ) -> dict[str, np.ndarray]:
        """Predicted means of several targets for the same cells (float64 (K,) each), the
        inputs made once per chunk of :data:`PREDICT_CHUNK` cells and input kind (the
        targets share the featurizer): the same values as :meth:`predict` of each.
        ``member``: the prediction of ensemble member ``member mod M`` of the targets with
        ``M`` > 1 members (rule 6) instead of their mean."""
        targets = list(targets)
        stacked = self.stacked_on
        # unstacked targets first: a base predicted as a target is reused as the stacked input
        models = {
            target: self.model(target) for target in sorted(targets, key=lambda t: t in stacked)
        }
        indices = np.asarray(indices, dtype=np.int64)
        parts: dict[str, list[np.ndarray]] = {target: [np.zeros(0)] for target in targets}
        for start in range(0, len(indices), PREDICT_CHUNK):
            chunk = indices[start : start + PREDICT_CHUNK]
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
                        stacked_inputs[base] = with_column(
                            X, means[base] if base in means else self.model(base).predict(X)
                        )
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


def load_artifact(
    path: str | os.PathLike | None = None,
    *,
    require_targets: Iterable[str] | None = None,
    lazy: bool = False,
) -> Artifact:
    """Load and check an artifact folder (default: the bundled one).

    Parameters
    ----------
    path : path-like, optional
        The artifact folder (``~`` is the home folder); ``None`` is :data:`DEFAULT_ARTIFACT`.
    require_targets : iterable of str, optional
        Targets the caller needs.
    lazy : bool, default=False
        Read each target's weights on first need (:meth:`Artifact.model`) instead of now,
        and check the sha256 of the weights and of the stored predictions when they are
        first read; every other check (module docstring) is done now either way.

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
    # lazy: the weights and the predictions are checked when first read (most processes
    # read a few prediction arrays and no weights); the small files now
    deferred = frozenset(
        name
        for name in meta["files"]
        if lazy and ("/" in name or name == (meta.get("predictions") or {}).get("file"))
    )
    _verify_files(path, meta, deferred)
    _check_stacking(path, targets, meta.get("stacked_on") or {})
    # the featurizer matters to the models only: checked when the first one is read where
    # stored predictions answer (so a query never imports the featurizers)
    featurizer_checked = not (lazy and meta.get("predictions") is not None)
    if featurizer_checked:
        _check_featurizer(path, meta)
    noise = None
    noise_file = path / _NOISE
    if noise_file.is_file():
        try:
            data = json.loads(noise_file.read_text())
            noise = NoiseModel.from_dict(data) if data is not None else None
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"{noise_file} is not a valid noise model: {exc}") from exc
    masks = None if lazy else _read_masks(path / _TRAINING_CELLS)
    predictions = None
    section = meta.get("predictions")
    if section is not None:
        try:
            name = section["file"]
            if name not in meta["files"]:
                raise ValueError(f"its file {name!r} is not listed in 'files'")
            check = (
                (lambda raw: _verify_file(path, name, meta["files"][name], raw))
                if name in deferred
                else (lambda raw: None)
            )
            predictions = StoredPredictions(path / name, section, NUM_CELLS, check)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ArtifactError(
                f"{path / _METADATA}: invalid 'predictions' section ({type(exc).__name__}: {exc})"
            ) from None
    artifact = Artifact(
        path=path,
        metadata=meta,
        noise=noise,
        _masks=masks,
        predictions=predictions,
        _unverified=set(deferred),
        _featurizer_checked=featurizer_checked,
    )
    if not lazy:
        for target in targets:
            artifact.model(target)
    return artifact
