"""Tree regressors of the surrogate on XGBoost: gradient boosting and a random forest.

:class:`XGBRegressorModel` wraps ``xgboost.XGBRegressor`` (``hist`` trees);
:class:`RandomForestModel` is one boosting round of parallel trees (``XGBRFRegressor``), so a
forest keeps XGBoost's native, portable weight format (``model.ubj`` through ``save_model``;
never a pickle) and gives ``predict_std`` from its single trees. Both follow the contract of
:class:`surrogate.base.SurrogateRegressor` (standardised, clipped targets; ``save``/``load``).

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X_train, y_train, X_test = rng.random((200, 36)), rng.random(200), rng.random((100, 36))
>>> model = XGBRegressorModel(n_estimators=20, random_state=0).fit(X_train, y_train)
>>> model.predict(X_test).shape
(100,)
>>> path = model.save("artifacts/xgb")
>>> same = XGBRegressorModel.load("artifacts/xgb")
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.utils.validation import check_is_fitted

from nb101 import ArtifactError

from .base import SurrogateRegressor, check_targets, seed_int
from .trend import check_trend, fit_trend, trend_values

__all__ = ["XGBRegressorModel", "RandomForestModel"]


class _XGBBase(SurrogateRegressor):
    """XGBoost's sklearn wrapper as ``model_``: fit, predict, native weights and the seed.

    The seed is drawn once per fit (:func:`surrogate.base.seed_int` of ``random_state``),
    kept as ``seed_`` and saved with the fitted state, so a loaded model rebuilds the same
    wrapper. Subclasses build the wrapper in ``_make()`` with ``random_state=self._seed()``.
    """

    _weights_file: ClassVar[str] = "model.ubj"
    #: Up to this many rows, predict with one thread: a single cell's prediction is ~0.2 ms
    #: on one thread but can take ~20 ms with two when the cores are busy (OpenMP waits).
    _ONE_THREAD_ROWS: ClassVar[int] = 2048

    def _make(self):
        raise NotImplementedError

    def _seed(self) -> int:
        return self.seed_ if hasattr(self, "seed_") else seed_int(self.random_state)

    def _fit_scaled(self, X: np.ndarray, t: np.ndarray) -> None:
        if self.n_jobs is not None and self.n_jobs < 1:
            raise ValueError(f"n_jobs must be >= 1 or None, got {self.n_jobs}")
        self.seed_ = seed_int(self.random_state)
        self.model_ = self._make().fit(X, t)
        self._one_thread = None

    def _predict_scaled(self, X: np.ndarray) -> np.ndarray:
        if len(X) > self._ONE_THREAD_ROWS or self.n_jobs == 1:
            return self.model_.predict(X)
        one = getattr(self, "_one_thread", None)
        if one is None:  # a copy of the fitted wrapper on one thread (same trees, same values)
            one = self._one_thread = copy.deepcopy(self.model_).set_params(n_jobs=1)
        return one.predict(X)

    def _fitted_state(self) -> dict[str, Any]:
        return {**super()._fitted_state(), "seed_": self.seed_}

    def _save_weights(self, path: Path) -> None:
        self.model_.save_model(path / self._weights_file)

    def _load_weights(self, path: Path) -> None:
        file = path / self._weights_file
        if not file.is_file():
            raise ArtifactError(f"{path} lacks the weights file {self._weights_file}")
        self.model_ = self._make()
        self.model_.load_model(file)
        self._one_thread = None

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
    max_bin : int or None, default=None
        Histogram bins per feature (None: XGBoost's 256); 2 suits binary features and makes
        small fits several times faster.
    n_jobs : int, default=2
    random_state : int or None, default=None
    trend : {None, "compute_cost"}, default=None
        Boost around a trend (:mod:`surrogate.trend`): the trees fit ``log(y / trend)`` and
        the prediction is ``trend * exp(trees)``, so it follows the trend beyond the training
        cells where trees alone stay flat. ``"compute_cost"`` (``X`` from the
        ``"adjacency_compute"`` featurizer, positive ``y``) suits training time. The clip
        (``clip_quantile``) then applies to the log ratios.

    Attributes
    ----------
    model_ : xgboost.XGBRegressor
    y_mean_, y_std_ : float
        Target standardisation.
    trend_weights_ : ndarray or None
        The fitted trend's weights (None without a trend); ``trend_floor_`` its floor.
    n_features_in_ : int
    """

    def __init__(
        self,
        *,
        n_estimators: int = 600,
        max_depth: int = 6,
        learning_rate: float = 0.05,
        subsample: float = 0.8,
        colsample_bytree: float = 0.5,
        min_child_weight: float = 1.0,
        reg_lambda: float = 1.0,
        reg_alpha: float = 0.0,
        loss: str = "squared",
        clip_quantile: float | None = 0.02,
        max_bin: int | None = None,
        n_jobs: int = 2,
        random_state: int | None = None,
        trend: str | None = None,
    ):
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
        self.max_bin = max_bin
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.trend = trend

    def fit(self, X: Any, y: Any) -> XGBRegressorModel:
        if self.trend is None:
            self.trend_weights_ = self.trend_floor_ = None
            return super().fit(X, y)
        check_trend(self.trend)
        X = self._check_X(X, reset=True)
        y = check_targets(y, len(X))
        weights, floor = fit_trend(self.trend, X, y)
        ratio = np.log(y / trend_values(self.trend, weights, floor, X))
        self._fit_scaled(X, self._fit_targets(ratio))
        self.trend_weights_, self.trend_floor_ = weights, floor
        return self

    def predict(self, X: Any) -> np.ndarray:
        predicted = super().predict(X)
        if self.trend is None:
            return predicted
        X = self._check_X(X, reset=False)
        np.exp(predicted, out=predicted)
        predicted *= trend_values(self.trend, self.trend_weights_, self.trend_floor_, X)
        return predicted

    def _fitted_state(self) -> dict[str, Any]:
        state = super()._fitted_state()
        if self.trend is not None:
            state["trend_weights_"] = self.trend_weights_.tolist()
            state["trend_floor_"] = self.trend_floor_
        return state

    def _set_fitted_state(self, state: dict[str, Any]) -> None:
        super()._set_fitted_state(state)
        self.trend_weights_ = self.trend_floor_ = None
        if self.trend is not None:
            if "trend_weights_" not in state:
                raise ArtifactError(
                    f"a model with trend {self.trend!r} was saved without the trend's weights"
                )
            self.trend_weights_ = np.asarray(state["trend_weights_"], dtype=np.float64)
            self.trend_floor_ = float(state["trend_floor_"])

    def _make(self):
        import xgboost as xgb

        objectives = {"squared": "reg:squarederror", "pseudohuber": "reg:pseudohubererror"}
        if self.loss not in objectives:
            raise ValueError(f"loss must be one of {list(objectives)}, got {self.loss!r}")
        return xgb.XGBRegressor(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            min_child_weight=self.min_child_weight,
            reg_lambda=self.reg_lambda,
            reg_alpha=self.reg_alpha,
            objective=objectives[self.loss],
            tree_method="hist",
            n_jobs=self.n_jobs,
            random_state=self._seed(),
            **({} if self.max_bin is None else {"max_bin": int(self.max_bin)}),
        )

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

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        max_depth: int = 12,
        subsample: float = 0.8,
        colsample_bynode: float = 0.5,
        min_child_weight: float = 1.0,
        reg_lambda: float = 1e-3,
        clip_quantile: float | None = 0.02,
        n_jobs: int = 2,
        random_state: int | None = None,
    ):
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

        return xgb.XGBRFRegressor(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            subsample=self.subsample,
            colsample_bynode=self.colsample_bynode,
            min_child_weight=self.min_child_weight,
            reg_lambda=self.reg_lambda,
            learning_rate=1.0,
            tree_method="hist",
            n_jobs=self.n_jobs,
            random_state=self._seed(),
        )

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
            values[i, : len(tree["split_conditions"])] = tree["split_conditions"]
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
