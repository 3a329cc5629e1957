"""The base of every surrogate regressor: the estimator contract, targets, seeds and weights.

Every regressor (:mod:`surrogate.xgb`, :mod:`surrogate.mlp`, :mod:`surrogate.ensemble`,
:mod:`surrogate.gin`) follows the scikit-learn contract: a keyword-only ``__init__`` that only
stores its parameters (so ``get_params``, ``set_params`` and ``sklearn.base.clone`` work),
``fit(X, y)`` that returns ``self``, learned state in attributes ending in ``_``, and
``predict(X)`` that raises ``NotFittedError`` before ``fit``. ``random_state`` seeds
everything (:func:`seed_int`), torch included (inside :func:`torch.random.fork_rng`, so the
global RNGs are left as they were).

Array models (``input_kind = "array"``) take ``X`` as a float array ``(n_samples, n_features)``
(an encoding of the ``features`` package); :class:`surrogate.gin.GINModel`
(``input_kind = "graph"``) takes a list of PyG ``Data`` instead.

Targets. All models standardise ``y`` internally, after one data-driven clip:
``clip_quantile`` (default 0.02) clips the training targets from below at that quantile of
the training labels (:func:`clip_targets`; the value used is ``clip_min_``). Some
NAS-Bench-101 runs collapsed (~10 % accuracy) or trained badly: 1 % of the 108-epoch test
accuracies lie below 0.63, 2 % below 0.82 (median 0.91). Under a squared loss those outliers
would set the scale of the fit; the clip keeps them at the bottom of the ranking without that
pull, at any budget (4-epoch accuracies have a median of 0.23 and are left almost as they
are). A target without such a tail only loses the spread of its lowest labels to the clip:
a training-time model clipped so predicts its cheapest cells too high
(``benchmarks/bench_time_model.py``), and the bundled default fits time unclipped.
Predictions come back in the units of ``y``.

Weights are portable, never pickled: ``save(dir)`` writes ``metadata.json`` (class, format
version :data:`MODEL_FORMAT`, ``get_params()`` and the fitted scalars) beside the native
weights (XGBoost ``model.ubj`` through ``save_model``; torch ``weights.pt`` holding a
``state_dict``, read back with ``torch.load(weights_only=True)``, see :class:`TorchWeights`).
``Model.load(dir)`` (or :func:`load_model`, which dispatches on the class named in the
metadata through :data:`surrogate.registry.REGRESSORS`) restores a model whose predictions
are identical.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X_train, y_train, X_test = rng.random((200, 36)), rng.random(200), rng.random((100, 36))
>>> from surrogate.xgb import XGBRegressorModel
>>> model = XGBRegressorModel(n_estimators=20, random_state=0).fit(X_train, y_train)
>>> path = model.save("artifacts/xgb")
>>> same = load_model("artifacts/xgb")
>>> bool((same.predict(X_test) == model.predict(X_test)).all())
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from nb101 import ArtifactError
from nb101._optional import require
from nb101.io import write_json

__all__ = [
    "SurrogateRegressor",
    "load_model",
    "clip_targets",
    "check_targets",
    "seed_int",
    "MODEL_FORMAT",
    "TorchWeights",
    "torch_threads",
    "torch_loss",
]

#: Version of the ``save``/``load`` folder layout (2: ``clip_quantile`` replaced
#: ``target_transform``/``clip_min``).
MODEL_FORMAT = 2
_METADATA = "metadata.json"


def _as_2d_float(X: Any, name: str = "X") -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (n_samples, n_features), got shape {X.shape}")
    return X


def check_targets(y: Any, n: int) -> np.ndarray:
    """Training targets as a finite float64 vector of ``n`` values.

    Raises
    ------
    ValueError
        If ``y`` has another length than the ``n`` samples, or holds NaN or infinite values.
    """
    y = np.asarray(y, dtype=np.float64).ravel()
    if len(y) != n:
        raise ValueError(f"y has {len(y)} values, but X has {n} samples")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or infinite values")
    return y


def clip_targets(y: np.ndarray, clip_quantile: float | None) -> tuple[np.ndarray, float | None]:
    """Clip training targets from below at their ``clip_quantile`` quantile.

    The one target rule of every regressor (``clip_quantile`` parameter, see the module
    docstring). Some NAS-Bench-101 runs collapsed (accuracy ~10 %, whatever the budget);
    under a squared loss those outliers would set the scale of the fit. Clipping at a
    quantile of the training labels keeps them at the bottom of the ranking without that
    pull, and adapts to the target: 108-epoch accuracies (median ~0.91) and 4-epoch ones
    (median ~0.23) alike.

    Parameters
    ----------
    y : ndarray (n,)
        Training targets.
    clip_quantile : float or None
        Quantile in [0, 0.5); None or 0 leaves ``y`` as it is.

    Returns
    -------
    (ndarray, float or None)
        The clipped targets and the clip value (None when not clipped).

    Raises
    ------
    ValueError
        If ``clip_quantile`` is outside [0, 0.5).
    """
    if clip_quantile is None or clip_quantile == 0:
        return y, None
    if isinstance(clip_quantile, bool) or not 0 <= float(clip_quantile) < 0.5:
        raise ValueError(f"clip_quantile must be None or in [0, 0.5), got {clip_quantile!r}")
    low = float(np.quantile(y, float(clip_quantile)))
    return np.maximum(y, low), low


def seed_int(random_state: int | None) -> int:
    """A concrete 31-bit seed of ``random_state``; ``None`` draws one from fresh OS entropy.

    Raises
    ------
    ValueError
        If ``random_state`` is a generator (the regressors take an int or None).
    """
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    if isinstance(random_state, (np.random.Generator, np.random.RandomState)):
        raise ValueError("random_state must be an int or None, got a generator")
    return int(random_state) % (2**31 - 1)


class SurrogateRegressor(RegressorMixin, BaseEstimator):
    """Base of all surrogate regressors: target scaling, ``save``/``load``, capabilities.

    Subclasses implement ``_fit_scaled(X, t)`` (``t`` the standardised target),
    ``_predict_scaled(X)``, ``_save_weights(dir)``, ``_load_weights(dir)`` and
    ``search_space(trial)``.

    Class flags
    -----------
    input_kind : ``"array"`` or ``"graph"``
        What ``X`` is: a float array or a list of PyG ``Data``.
    has_std : bool
        Whether ``predict_std`` is available.
    """

    input_kind: ClassVar[str] = "array"
    has_std: ClassVar[bool] = False

    # ------------------------------------------------------------------ targets
    def _fit_targets(self, y: np.ndarray) -> np.ndarray:
        """Clip (see :func:`clip_targets`) and standardise the training targets; sets
        ``clip_min_``, ``y_mean_`` and ``y_std_``."""
        t, self.clip_min_ = clip_targets(y, getattr(self, "clip_quantile", None))
        self.y_mean_ = float(t.mean())
        std = float(t.std())
        self.y_std_ = std if std > 0 else 1.0
        return (t - self.y_mean_) / self.y_std_

    def _unscale(self, t: np.ndarray) -> np.ndarray:
        return np.asarray(t, dtype=np.float64) * self.y_std_ + self.y_mean_

    def _check_X(self, X: Any, *, reset: bool) -> np.ndarray:
        X = _as_2d_float(X)
        if reset:
            self.n_features_in_ = X.shape[1]
        elif X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input."
            )
        return X

    # ---------------------------------------------------------------- public API
    def fit(self, X: Any, y: Any) -> SurrogateRegressor:
        """Fit on features ``X`` (n_samples, n_features) and targets ``y`` (n_samples,)."""
        X = self._check_X(X, reset=True)
        y = check_targets(y, len(X))
        self._fit_scaled(X, self._fit_targets(y))
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (n_samples,), float64, in the units of ``y``."""
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        return self._unscale(self._predict_scaled(X))

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "y_mean_")

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        """Hyperparameters to try in an Optuna ``trial`` (see :mod:`surrogate.tuning`)."""
        raise NotImplementedError(f"{cls.__name__} defines no search space")

    # ------------------------------------------------------------- persistence
    def _fitted_state(self) -> dict[str, Any]:
        return {
            "y_mean_": self.y_mean_,
            "y_std_": self.y_std_,
            "clip_min_": getattr(self, "clip_min_", None),
            "n_features_in_": getattr(self, "n_features_in_", None),
        }

    def _set_fitted_state(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            if value is not None or key == "clip_min_":
                setattr(self, key, value)

    def _write_metadata(self, path: Path, state: dict[str, Any]) -> None:
        """``<path>/metadata.json``: format, class, ``get_params()`` and fitted ``state``."""
        meta = {
            "format": MODEL_FORMAT,
            "class": type(self).__name__,
            "params": _jsonable_params(self),
            "state": state,
        }
        write_json(path / _METADATA, meta, indent=2, sort_keys=True)

    @classmethod
    def _from_metadata(cls, path: Path) -> tuple[SurrogateRegressor, dict[str, Any]]:
        """An unfitted instance with the saved parameters, and the parsed metadata.

        Raises
        ------
        ArtifactError
            If the folder lacks the metadata, or was written by another class or format.
        """
        meta = _read_metadata(path)
        if meta["class"] != cls.__name__:
            raise ArtifactError(
                f"loading a model of a different class from {path}: "
                f"expecting {cls.__name__}, got {meta['class']}"
            )
        return cls(**_params_from_json(cls, meta["params"])), meta

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``metadata.json`` and the native weights into folder ``path``."""
        check_is_fitted(self)
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        state = self._fitted_state()
        self._save_weights(path)
        self._write_metadata(path, state)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> SurrogateRegressor:
        """Rebuild a fitted model written by :meth:`save`.

        Raises
        ------
        ArtifactError
            If the folder lacks the metadata, was written by another class or format.
        """
        path = Path(path)
        model, meta = cls._from_metadata(path)
        model._set_fitted_state(meta["state"])
        model._load_weights(path)
        return model


def _jsonable_params(est: BaseEstimator) -> dict[str, Any]:
    out = {}
    for key, value in est.get_params(deep=False).items():
        if isinstance(value, BaseEstimator):
            out[key] = {"class": type(value).__name__, "params": _jsonable_params(value)}
        elif isinstance(value, tuple):
            out[key] = list(value)
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def _params_from_json(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    defaults = cls().get_params(deep=False)
    out = {}
    for key, value in params.items():
        if key not in defaults:
            raise ArtifactError(
                f"{cls.__name__} has no parameter {key!r} (saved by another version?)"
            )
        if isinstance(value, dict) and "class" in value and "params" in value:
            sub = _class_by_name(value["class"])
            value = sub(**_params_from_json(sub, value["params"]))
        elif isinstance(value, list) and isinstance(defaults[key], tuple):
            value = tuple(value)
        out[key] = value
    return out


def _read_metadata(path: Path) -> dict[str, Any]:
    file = path / _METADATA
    if not file.is_file():
        raise ArtifactError(f"{path} is not a saved model: {_METADATA} is missing")
    try:
        meta = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{file} is not valid JSON: {exc}") from exc
    if meta.get("format") != MODEL_FORMAT:
        raise ArtifactError(
            f"{file} has model format {meta.get('format')!r}, expected {MODEL_FORMAT}"
        )
    return meta


def _class_by_name(name: str) -> type:
    from .registry import REGRESSORS

    try:
        return REGRESSORS.by_class_name(name)
    except KeyError:
        raise ArtifactError(
            f"unknown model class {name!r}; known: {REGRESSORS.class_names()}"
        ) from None


def load_model(path: str | os.PathLike) -> SurrogateRegressor:
    """Load any model written by ``save``, dispatching on the class in its metadata.

    Raises
    ------
    ArtifactError
        If the folder is not a saved model of a registered class and this format.
    """
    path = Path(path)
    return _class_by_name(_read_metadata(path)["class"]).load(path)


# ============================================================ torch (MLP and GIN)
# torch is imported inside the helpers, so importing this module never loads it.
@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run torch with ``n`` intra-op threads (None: leave torch's setting), restoring the
    previous count afterwards.

    One thread is the default of the torch models: their ops are small, and on a busy machine
    extra threads cost more in synchronisation than they gain.

    Raises
    ------
    ValueError
        If ``n`` is below 1.
    """
    torch = require("torch", "gnn", "the torch regressors (GIN, MLP)")
    previous = torch.get_num_threads()
    if n is not None:
        if int(n) < 1:
            raise ValueError(f"n_jobs must be >= 1 or None, got {n}")
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def torch_loss(name: str, huber_delta: float):
    """The training loss ``"mse"`` or ``"huber"`` (with ``huber_delta``) as a torch module.

    Raises
    ------
    ValueError
        For another name.
    """
    nn = require("torch.nn", "gnn", "the torch regressors (GIN, MLP)")
    if name == "mse":
        return nn.MSELoss()
    if name == "huber":
        return nn.HuberLoss(delta=huber_delta)
    raise ValueError(f"loss must be one of ['mse', 'huber'], got {name!r}")


class TorchWeights:
    """Mixin of the torch models: fitted state (``n_epochs_`` included) and portable weights
    (``state_dict`` in ``weights.pt``, loaded with ``weights_only=True``). A subclass keeps its
    network in ``module_`` and builds an untrained one with ``_new_module()``; list the mixin
    before :class:`SurrogateRegressor`."""

    _weights_file: ClassVar[str] = "weights.pt"

    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(), "n_epochs_": self.n_epochs_}

    def _save_weights(self, path: Path) -> None:
        torch = require("torch", "gnn", "the torch regressors (GIN, MLP)")
        torch.save(self.module_.state_dict(), path / self._weights_file)

    def _load_weights(self, path: Path) -> None:
        torch = require("torch", "gnn", "loading a torch regressor (GIN, MLP)")
        file = path / self._weights_file
        if not file.is_file():
            raise ArtifactError(f"{path} lacks the weights file {self._weights_file}")
        module = self._new_module()
        module.load_state_dict(torch.load(file, weights_only=True))
        module.eval()
        self.module_ = module
