"""Scikit-learn style regressors of the surrogate: XGBoost, random forest, MLP, ensemble.

Every regressor follows the scikit-learn contract: a keyword-only ``__init__`` that only stores
its parameters (so ``get_params``, ``set_params`` and ``sklearn.base.clone`` work), ``fit(X, y)``
that returns ``self``, learned state in attributes ending in ``_``, and ``predict(X)`` that
raises ``NotFittedError`` before ``fit``. ``random_state`` seeds everything, torch included
(inside :func:`torch.random.fork_rng`, so the global RNGs are left as they were).

Array models (``input_kind = "array"``) take ``X`` as a float array ``(n_samples, n_features)``
(an encoding of the ``features`` package); :class:`surrogate.gin.GINModel`
(``input_kind = "graph"``) takes a list of PyG ``Data`` instead.

Targets. All models standardise ``y`` internally, after one data-driven clip:
``clip_quantile`` (default 0.02) clips the training targets from below at that quantile of
the training labels (:func:`clip_targets`; the value used is ``clip_min_``). Some
NAS-Bench-101 runs collapsed (~10 % accuracy) or trained badly: 1 % of the 108-epoch test
accuracies lie below 0.63, 2 % below 0.82 (median 0.91). Those outliers otherwise dominate a
squared loss; the clip keeps them at the bottom of the ranking without letting them set the
scale, at any budget (4-epoch accuracies have a median of 0.23 and are left almost as they
are), and costs nothing on targets without such a tail (training time). Measured with XGBoost
on the adjacency encoding, 4,236 training cells, Kendall tau of the 108-epoch test accuracy
on 20,000 others: 0.585 unclipped, 0.722 at the 1 % quantile, 0.770 at 2 %, 0.766 with the
former fixed clip at 0.8. Predictions come back in the units of ``y``.

Weights are portable, never pickled: ``save(dir)`` writes ``metadata.json`` (class, format
version, ``get_params()`` and the fitted scalars) beside the native weights (XGBoost
``model.ubj`` through ``save_model``; torch ``weights.pt`` holding a ``state_dict``, read back
with ``torch.load(weights_only=True)``). ``Model.load(dir)`` (or :func:`load_model`, which
dispatches on the class named in the metadata) restores a model whose predictions are
identical.

Example
-------
>>> model = XGBRegressorModel(n_estimators=200, random_state=0).fit(X_train, y_train)
>>> model.predict(X_test).shape
(100,)
>>> model.save("artifacts/xgb")
>>> same = XGBRegressorModel.load("artifacts/xgb")
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted

from nb101.errors import ArtifactError

__all__ = [
    "SurrogateRegressor", "XGBRegressorModel", "RandomForestModel", "MLPModel",
    "EnsembleModel", "load_model", "clip_targets", "MODEL_FORMAT",
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


def _as_1d_float(y: Any, n: int) -> np.ndarray:
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


def _seed_int(random_state: int | None) -> int:
    """A concrete 31-bit seed; ``None`` draws one from fresh OS entropy."""
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
            raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        return X

    # ---------------------------------------------------------------- public API
    def fit(self, X: Any, y: Any) -> "SurrogateRegressor":
        """Fit on features ``X`` (n_samples, n_features) and targets ``y`` (n_samples,)."""
        X = self._check_X(X, reset=True)
        y = _as_1d_float(y, len(X))
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
        return {"y_mean_": self.y_mean_, "y_std_": self.y_std_,
                "clip_min_": getattr(self, "clip_min_", None),
                "n_features_in_": getattr(self, "n_features_in_", None)}

    def _set_fitted_state(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            if value is not None or key == "clip_min_":
                setattr(self, key, value)

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``metadata.json`` and the native weights into folder ``path``."""
        check_is_fitted(self)
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        meta = {"format": MODEL_FORMAT, "class": type(self).__name__,
                "params": _jsonable_params(self), "state": self._fitted_state()}
        self._save_weights(path)
        (path / _METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SurrogateRegressor":
        """Rebuild a fitted model written by :meth:`save`.

        Raises
        ------
        ArtifactError
            If the folder lacks the metadata, was written by another class or format.
        """
        path = Path(path)
        meta = _read_metadata(path)
        if meta["class"] != cls.__name__:
            raise ArtifactError(f"loading a model of a different class from {path}: "
                                f"expecting {cls.__name__}, got {meta['class']}")
        model = cls(**_params_from_json(cls, meta["params"]))
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
            raise ArtifactError(f"{cls.__name__} has no parameter {key!r} (saved by another "
                                f"version?)")
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
        raise ArtifactError(f"{file} has model format {meta.get('format')!r}, "
                            f"expected {MODEL_FORMAT}")
    return meta


def _class_by_name(name: str) -> type:
    from .registry import REGRESSORS
    try:
        return REGRESSORS.by_class_name(name)
    except KeyError:
        raise ArtifactError(f"unknown model class {name!r}; known: "
                            f"{REGRESSORS.class_names()}") from None


def load_model(path: str | os.PathLike) -> SurrogateRegressor:
    """Load any model written by ``save``, dispatching on the class in its metadata."""
    path = Path(path)
    return _class_by_name(_read_metadata(path)["class"]).load(path)


# ====================================================================== XGBoost
class _XGBBase(SurrogateRegressor):
    _weights_file: ClassVar[str] = "model.ubj"

    def _xgb_params(self) -> dict[str, Any]:
        raise NotImplementedError

    def _make(self):
        raise NotImplementedError

    def _fit_scaled(self, X: np.ndarray, t: np.ndarray) -> None:
        if self.n_jobs is not None and self.n_jobs < 1:
            raise ValueError(f"n_jobs must be >= 1 or None, got {self.n_jobs}")
        self.model_ = self._make().fit(X, t)

    def _predict_scaled(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(X)

    def _save_weights(self, path: Path) -> None:
        self.model_.save_model(path / self._weights_file)

    def _load_weights(self, path: Path) -> None:
        file = path / self._weights_file
        if not file.is_file():
            raise ArtifactError(f"{path} lacks the weights file {self._weights_file}")
        self.model_ = self._make()
        self.model_.load_model(file)

    def get_booster(self):
        """The native ``xgboost.Booster``."""
        check_is_fitted(self)
        return self.model_.get_booster()


class XGBRegressorModel(_XGBBase):
    """Gradient-boosted trees (XGBoost ``hist``) on a feature array.

    Parameters
    ----------
    n_estimators : int, default=600
        Boosting rounds.
    max_depth : int, default=6
    learning_rate : float, default=0.05
    subsample : float, default=0.8
        Row subsample per tree.
    colsample_bytree : float, default=0.5
    min_child_weight : float, default=1.0
    reg_lambda : float, default=1.0
        L2 penalty on leaf weights.
    reg_alpha : float, default=0.0
    loss : {"squared", "pseudohuber"}, default="squared"
        ``reg:squarederror`` or ``reg:pseudohubererror`` (on the standardised target).
    clip_quantile : float or None, default=0.02
        Clip the training targets from below at this quantile of themselves
        (:func:`clip_targets`); None or 0: no clipping.
    n_jobs : int, default=2
    random_state : int or None, default=None

    Attributes
    ----------
    model_ : xgboost.XGBRegressor
    y_mean_, y_std_ : float
        Target standardisation.
    n_features_in_ : int
    """

    def __init__(self, *, n_estimators: int = 600, max_depth: int = 6,
                 learning_rate: float = 0.05, subsample: float = 0.8,
                 colsample_bytree: float = 0.5, min_child_weight: float = 1.0,
                 reg_lambda: float = 1.0, reg_alpha: float = 0.0, loss: str = "squared",
                 clip_quantile: float | None = 0.02, n_jobs: int = 2,
                 random_state: int | None = None):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.reg_alpha = reg_alpha
        self.loss = loss
        self.clip_quantile = clip_quantile
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _make(self):
        import xgboost as xgb
        objectives = {"squared": "reg:squarederror", "pseudohuber": "reg:pseudohubererror"}
        if self.loss not in objectives:
            raise ValueError(f"loss must be one of {list(objectives)}, got {self.loss!r}")
        return xgb.XGBRegressor(
            n_estimators=self.n_estimators, max_depth=self.max_depth,
            learning_rate=self.learning_rate, subsample=self.subsample,
            colsample_bytree=self.colsample_bytree, min_child_weight=self.min_child_weight,
            reg_lambda=self.reg_lambda, reg_alpha=self.reg_alpha,
            objective=objectives[self.loss], tree_method="hist", n_jobs=self.n_jobs,
            random_state=_seed_int(self.random_state) if not hasattr(self, "seed_") else
            self.seed_)

    def _fit_scaled(self, X: np.ndarray, t: np.ndarray) -> None:
        self.seed_ = _seed_int(self.random_state)
        super()._fit_scaled(X, t)

    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(), "seed_": self.seed_}

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 100, 1500, log=True),
            "max_depth": trial.suggest_int("max_depth", 3, 10),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.2, 1.0),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20, log=True),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10, log=True),
            "reg_alpha": trial.suggest_float("reg_alpha", 1e-4, 1, log=True),
        }


class RandomForestModel(_XGBBase):
    """Random forest as one round of XGBoost parallel trees (``XGBRFRegressor``).

    ``predict_std`` is the spread of the single trees' predictions (read from the leaves each
    sample reaches, ``pred_leaf=True``).

    Parameters
    ----------
    n_estimators : int, default=300
        Trees in the forest (``num_parallel_tree``).
    max_depth : int, default=12
    subsample : float, default=0.8
        Row bootstrap fraction (without replacement) per tree.
    colsample_bynode : float, default=0.5
        Features tried per split.
    min_child_weight : float, default=1.0
    reg_lambda : float, default=1e-3
    clip_quantile : float or None, default=0.02
        See :func:`clip_targets`.
    n_jobs : int, default=2
    random_state : int or None, default=None
    """

    has_std: ClassVar[bool] = True

    def __init__(self, *, n_estimators: int = 300, max_depth: int = 12,
                 subsample: float = 0.8, colsample_bynode: float = 0.5,
                 min_child_weight: float = 1.0, reg_lambda: float = 1e-3,
                 clip_quantile: float | None = 0.02, n_jobs: int = 2,
                 random_state: int | None = None):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.subsample = subsample
        self.colsample_bynode = colsample_bynode
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.clip_quantile = clip_quantile
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _make(self):
        import xgboost as xgb
        seed = self.seed_ if hasattr(self, "seed_") else _seed_int(self.random_state)
        return xgb.XGBRFRegressor(
            n_estimators=self.n_estimators, max_depth=self.max_depth, subsample=self.subsample,
            colsample_bynode=self.colsample_bynode, min_child_weight=self.min_child_weight,
            reg_lambda=self.reg_lambda, learning_rate=1.0, tree_method="hist",
            n_jobs=self.n_jobs, random_state=seed)

    def _fit_scaled(self, X: np.ndarray, t: np.ndarray) -> None:
        self.seed_ = _seed_int(self.random_state)
        super()._fit_scaled(X, t)

    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(), "seed_": self.seed_}

    def predict_trees(self, X: Any) -> np.ndarray:
        """Each tree's prediction, shape (n_samples, n_estimators), in units of ``y``."""
        import xgboost as xgb
        check_is_fitted(self)
        X = self._check_X(X, reset=False)
        booster = self.model_.get_booster()
        dm = xgb.DMatrix(X)
        leaves = booster.predict(dm, pred_leaf=True).astype(np.int64).reshape(len(X), -1)
        margin = booster.predict(dm, output_margin=True).astype(np.float64)
        values = self._leaf_values(booster)  # (n_trees, max_nodes)
        per_leaf = values[np.arange(values.shape[0])[None, :], leaves]  # (n, trees)
        n_trees = per_leaf.shape[1]
        base = margin - per_leaf.sum(axis=1)  # base score, per row
        return self._unscale(base[:, None] + n_trees * per_leaf)

    def predict_std(self, X: Any) -> np.ndarray:
        """Standard deviation of the trees' predictions, shape (n_samples,)."""
        return self.predict_trees(X).std(axis=1)

    @staticmethod
    def _leaf_values(booster) -> np.ndarray:
        model = json.loads(booster.save_raw("json"))
        trees = model["learner"]["gradient_booster"]["model"]["trees"]
        width = max(len(t["split_conditions"]) for t in trees)
        values = np.zeros((len(trees), width), dtype=np.float64)
        for i, tree in enumerate(trees):
            values[i, :len(tree["split_conditions"])] = tree["split_conditions"]
        return values

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 50, 500, log=True),
            "max_depth": trial.suggest_int("max_depth", 4, 16),
            "subsample": trial.suggest_float("subsample", 0.4, 1.0),
            "colsample_bynode": trial.suggest_float("colsample_bynode", 0.1, 1.0),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.5, 20, log=True),
        }


# ======================================================================== MLP
class _MLPNet:
    """Factory of the torch MLP (kept lazy so importing this module does not import torch)."""

    @staticmethod
    def build(n_in: int, hidden: tuple[int, ...], dropout: float):
        import torch
        from torch import nn

        class MLPNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("x_mean", torch.zeros(n_in))
                self.register_buffer("x_scale", torch.ones(n_in))
                layers, width = [], n_in
                for h in hidden:
                    layers += [nn.Linear(width, h), nn.ReLU()]
                    if dropout > 0:
                        layers.append(nn.Dropout(dropout))
                    width = h
                layers.append(nn.Linear(width, 1))
                self.body = nn.Sequential(*layers)

            def forward(self, x):
                return self.body((x - self.x_mean) / self.x_scale).squeeze(-1)

        return MLPNet()


class _torch_threads:
    """Run torch with ``n`` intra-op threads, restoring the previous count afterwards.

    One thread is the default of the torch models: their ops are small, and on a busy machine
    extra threads cost more in synchronisation than they gain (10x slower measured)."""

    def __init__(self, n: int | None):
        self.n = n

    def __enter__(self):
        import torch
        self.prev = torch.get_num_threads()
        if self.n is not None:
            if int(self.n) < 1:
                raise ValueError(f"n_jobs must be >= 1 or None, got {self.n}")
            torch.set_num_threads(int(self.n))
        return self

    def __exit__(self, *exc):
        import torch
        torch.set_num_threads(self.prev)
        return False


def _torch_loss(name: str, huber_delta: float):
    from torch import nn
    if name == "mse":
        return nn.MSELoss()
    if name == "huber":
        return nn.HuberLoss(delta=huber_delta)
    raise ValueError(f"loss must be one of ['mse', 'huber'], got {name!r}")


class _TorchWeights:
    """Fitted state and portable weights (``state_dict``, loaded with ``weights_only``) of the
    torch models; a subclass builds its network with ``_new_module()``."""

    _weights_file: ClassVar[str] = "weights.pt"

    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(), "n_epochs_": self.n_epochs_}

    def _save_weights(self, path: Path) -> None:
        import torch
        torch.save(self.module_.state_dict(), path / self._weights_file)

    def _load_weights(self, path: Path) -> None:
        import torch
        file = path / self._weights_file
        if not file.is_file():
            raise ArtifactError(f"{path} lacks the weights file {self._weights_file}")
        module = self._new_module()
        module.load_state_dict(torch.load(file, weights_only=True))
        module.eval()
        self.module_ = module


class MLPModel(_TorchWeights, SurrogateRegressor):
    """Fully connected network in torch (the simple baseline).

    Inputs are standardised per feature, targets standardised; Adam with a cosine learning
    rate, early stopping on a held-out ``validation_fraction`` of the training data (the best
    epoch's weights are kept).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 256, 256)
    dropout : float, default=0.1
    learning_rate : float, default=1e-3
    weight_decay : float, default=1e-4
    batch_size : int, default=256
    max_epochs : int, default=200
    patience : int, default=20
        Epochs without validation improvement before stopping.
    validation_fraction : float, default=0.1
    loss : {"huber", "mse"}, default="huber"
    huber_delta : float, default=1.0
    clip_quantile : float or None, default=0.02
        See :func:`clip_targets`.
    n_jobs : int or None, default=1
        Torch intra-op threads while fitting and predicting (None: leave torch's setting).
    random_state : int or None, default=None

    Attributes
    ----------
    module_ : torch.nn.Module
    n_epochs_ : int
        Epochs trained (early stopping included).
    """


    def __init__(self, *, hidden_layer_sizes: tuple[int, ...] = (256, 256, 256),
                 dropout: float = 0.1, learning_rate: float = 1e-3, weight_decay: float = 1e-4,
                 batch_size: int = 256, max_epochs: int = 200, patience: int = 20,
                 validation_fraction: float = 0.1, loss: str = "huber",
                 huber_delta: float = 1.0, clip_quantile: float | None = 0.02,
                 n_jobs: int | None = 1,
                 random_state: int | None = None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.loss = loss
        self.huber_delta = huber_delta
        self.clip_quantile = clip_quantile
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _build(self, n_in: int):
        return _MLPNet.build(n_in, tuple(int(h) for h in self.hidden_layer_sizes),
                             float(self.dropout))

    def _fit_scaled(self, X: np.ndarray, t: np.ndarray) -> None:
        import torch
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in [0, 1), got "
                             f"{self.validation_fraction}")
        loss_fn = _torch_loss(self.loss, self.huber_delta)
        seed = _seed_int(self.random_state)
        rng = np.random.default_rng(seed)
        n = len(X)
        n_val = int(round(self.validation_fraction * n)) if n >= 20 else 0
        perm = rng.permutation(n)
        val, tr = perm[:n_val], perm[n_val:]
        with torch.random.fork_rng(devices=[]), _torch_threads(self.n_jobs):
            torch.manual_seed(seed)
            module = self._build(X.shape[1])
            mean = X[tr].mean(axis=0)
            scale = X[tr].std(axis=0)
            scale[scale == 0] = 1.0
            module.x_mean.copy_(torch.from_numpy(mean))
            module.x_scale.copy_(torch.from_numpy(scale))
            Xt, tt = torch.from_numpy(X), torch.from_numpy(t.astype(np.float32))
            best, best_state, bad, epochs = np.inf, None, 0, 0
            opt = torch.optim.Adam(module.parameters(), lr=self.learning_rate,
                                   weight_decay=self.weight_decay)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.max_epochs)
            gen = torch.Generator().manual_seed(seed)
            tr_t = torch.from_numpy(tr)
            for epoch in range(self.max_epochs):
                module.train()
                order = tr_t[torch.randperm(len(tr_t), generator=gen)]
                for start in range(0, len(order), self.batch_size):
                    b = order[start:start + self.batch_size]
                    if len(b) < 2 and len(order) > 1:
                        continue
                    opt.zero_grad()
                    loss_fn(module(Xt[b]), tt[b]).backward()
                    opt.step()
                sched.step()
                epochs = epoch + 1
                if n_val:
                    module.eval()
                    with torch.no_grad():
                        v = float(loss_fn(module(Xt[val]), tt[val]))
                    if v < best - 1e-6:
                        best, bad = v, 0
                        best_state = {k: x.clone() for k, x in module.state_dict().items()}
                    else:
                        bad += 1
                        if bad >= self.patience:
                            break
            if best_state is not None:
                module.load_state_dict(best_state)
        module.eval()
        self.module_ = module
        self.n_epochs_ = epochs

    def _predict_scaled(self, X: np.ndarray) -> np.ndarray:
        import torch
        with torch.no_grad(), _torch_threads(self.n_jobs):
            return self.module_(torch.from_numpy(X)).numpy()

    def _new_module(self):
        return self._build(self.n_features_in_)

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        width = trial.suggest_categorical("width", [64, 128, 256, 512])
        depth = trial.suggest_int("depth", 1, 4)
        return {
            "hidden_layer_sizes": (width,) * depth,
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            "loss": trial.suggest_categorical("loss", ["mse", "huber"]),
        }


# =================================================================== ensemble
class _MemberInputKind:
    """``input_kind`` of an ensemble: "array" on the class, the base's kind on an instance."""

    def __get__(self, obj: Any, owner: type) -> str:
        if obj is None:
            return "array"
        return getattr(obj._base(), "input_kind", "array")


class EnsembleModel(SurrogateRegressor):
    """Members cloned from ``base`` with seeds ``random_state + i``; mean and spread.

    Parameters
    ----------
    base : estimator, default=None
        Any regressor of this module (``None``: :class:`XGBRegressorModel`). Its
        ``input_kind`` is the ensemble's.
    n_members : int, default=5
    bootstrap : bool, default=False
        Fit each member on a bootstrap resample of the training set.
    random_state : int or None, default=None

    Attributes
    ----------
    members_ : list of fitted estimators
    """

    has_std: ClassVar[bool] = True

    def __init__(self, *, base: SurrogateRegressor | None = None, n_members: int = 5,
                 bootstrap: bool = False, random_state: int | None = None):
        self.base = base
        self.n_members = n_members
        self.bootstrap = bootstrap
        self.random_state = random_state

    input_kind = _MemberInputKind()  # type: ignore[assignment]

    def _base(self) -> SurrogateRegressor:
        return self.base if self.base is not None else XGBRegressorModel()

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "members_")

    def fit(self, X: Any, y: Any) -> "EnsembleModel":
        if int(self.n_members) < 1:
            raise ValueError(f"n_members must be >= 1, got {self.n_members}")
        n = len(X)
        y = _as_1d_float(y, n)
        seed = _seed_int(self.random_state)
        rng = np.random.default_rng(seed)
        members = []
        for i in range(int(self.n_members)):
            member = clone(self._base()).set_params(random_state=seed + i)
            if self.bootstrap:
                rows = rng.integers(0, n, size=n)
                Xi = [X[j] for j in rows] if isinstance(X, list) else np.asarray(X)[rows]
                member.fit(Xi, y[rows])
            else:
                member.fit(X, y)
            members.append(member)
        self.members_ = members
        if hasattr(members[0], "n_features_in_"):
            self.n_features_in_ = members[0].n_features_in_
        return self

    def predict_members(self, X: Any) -> np.ndarray:
        """Each member's prediction, shape (n_samples, n_members)."""
        check_is_fitted(self)
        return np.stack([m.predict(X) for m in self.members_], axis=1)

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_members(X).mean(axis=1)

    def predict_std(self, X: Any) -> np.ndarray:
        """Standard deviation across members, shape (n_samples,)."""
        return self.predict_members(X).std(axis=1)

    def save(self, path: str | os.PathLike) -> Path:
        check_is_fitted(self)
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for i, member in enumerate(self.members_):
            member.save(path / f"member_{i}")
        meta = {"format": MODEL_FORMAT, "class": type(self).__name__,
                "params": _jsonable_params(self), "state": {"n_members_": len(self.members_)}}
        (path / _METADATA).write_text(json.dumps(meta, indent=2, sort_keys=True))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "EnsembleModel":
        path = Path(path)
        meta = _read_metadata(path)
        if meta["class"] != cls.__name__:
            raise ArtifactError(f"loading a model of a different class from {path}: "
                                f"expecting {cls.__name__}, got {meta['class']}")
        model = cls(**_params_from_json(cls, meta["params"]))
        model.members_ = [load_model(path / f"member_{i}")
                          for i in range(int(meta["state"]["n_members_"]))]
        if hasattr(model.members_[0], "n_features_in_"):
            model.n_features_in_ = model.members_[0].n_features_in_
        return model

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {"n_members": trial.suggest_int("n_members", 2, 8),
                "bootstrap": trial.suggest_categorical("bootstrap", [False, True])}
