"""Optuna tuning of a registered regressor on a validation split (never the test split).

>>> import numpy as np
>>> from surrogate import get_regressor
>>> rng = np.random.default_rng(0)
>>> X_tr, y_tr = rng.random((200, 36)), rng.random(200)
>>> X_val, y_val = rng.random((50, 36)), rng.random(50)
>>> best, study = tune("xgb", X_tr, y_tr, X_val, y_val, n_trials=3, seed=0,   # e.g. 30 trials
...                    fixed_params={"n_estimators": 20})
>>> model = get_regressor("xgb", **best, random_state=0).fit(X_tr, y_tr)

Each trial draws parameters from the class's ``search_space(trial)``, fits on the training
split with ``random_state=seed`` and scores on the validation split with a metric of
:func:`surrogate.metrics.regression_metrics` (maximised, or minimised for ``mae``). The sampler
is a seeded ``TPESampler``; the study lives in memory; optuna's logging is silenced here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from nb101._optional import require

from .metrics import METRIC_NAMES, regression_metrics
from .registry import REGRESSORS, get_regressor

if TYPE_CHECKING:
    import optuna

__all__ = ["tune"]

_log = logging.getLogger(__name__)


def tune(
    name: str,
    X_train: Any,
    y_train: Any,
    X_val: Any,
    y_val: Any,
    n_trials: int,
    seed: int = 0,
    metric: str = "kendall_tau",
    *,
    fixed_params: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], optuna.Study]:
    """Tune regressor ``name`` within ``n_trials`` fits.

    Parameters
    ----------
    name : str
        A key of :data:`surrogate.registry.REGRESSORS`.
    X_train, y_train, X_val, y_val
        Training and validation data (arrays, or lists of ``Data`` for graph models).
    n_trials : int
    seed : int
        Seeds the sampler and every model.
    metric : str
        One of :data:`surrogate.metrics.METRIC_NAMES`.
    fixed_params : dict, optional
        Parameters set on every trial (e.g. a smaller ``epochs``).

    Returns
    -------
    best_params : dict
        Constructor parameters of the best trial (search space plus ``fixed_params``).
    study : optuna.Study
    """
    if name not in REGRESSORS:
        raise ValueError(f"unknown regressor {name!r}; choices: {sorted(REGRESSORS)}")
    if metric not in METRIC_NAMES:
        raise ValueError(f"unknown metric {metric!r}; choices: {list(METRIC_NAMES)}")
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1, got {n_trials}")
    optuna = require("optuna", "train", "hyperparameter tuning (--tune-trials)")
    cls = REGRESSORS[name]
    fixed = dict(fixed_params or {})

    def objective(trial: optuna.Trial) -> float:
        params = {**cls.search_space(trial), **fixed}
        trial.set_user_attr("params", _jsonable(params))
        model = get_regressor(name, **params, random_state=seed).fit(X_train, y_train)
        score = regression_metrics(y_val, model.predict(X_val))[metric]
        _log.info("trial %d: %s = %.4f", trial.number, metric, score)
        return score

    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(
            direction="minimize" if metric == "mae" else "maximize",
            sampler=optuna.samplers.TPESampler(seed=seed),
        )
        study.optimize(objective, n_trials=n_trials)
    finally:
        optuna.logging.set_verbosity(previous)
    best = {**cls.search_space(optuna.trial.FixedTrial(study.best_params)), **fixed}
    return best, study


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
