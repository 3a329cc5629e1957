"""Name -> regressor class, shared by the CLI, tuning and tests.

>>> model = get_regressor("xgb", n_estimators=300, random_state=0)
>>> REGRESSORS["gin"].input_kind
'graph'
"""

from __future__ import annotations

from typing import Any

from .gin import GINModel
from .models import (EnsembleModel, MLPModel, RandomForestModel, SurrogateRegressor,
                     XGBRegressorModel)

__all__ = ["REGRESSORS", "get_regressor"]

#: Registered regressors; each class has ``input_kind`` ("array" or "graph"),
#: ``has_std`` and a ``search_space(trial)`` classmethod.
REGRESSORS: dict[str, type[SurrogateRegressor]] = {
    "xgb": XGBRegressorModel,
    "rf": RandomForestModel,
    "mlp": MLPModel,
    "gin": GINModel,
    "ensemble": EnsembleModel,
}


def get_regressor(name: str, **params: Any) -> SurrogateRegressor:
    """A new, unfitted regressor ``name`` with the given parameters.

    Raises
    ------
    ValueError
        If ``name`` is not registered, or a parameter is unknown to the class.
    """
    try:
        cls = REGRESSORS[name]
    except KeyError:
        raise ValueError(f"unknown regressor {name!r}; choices: {sorted(REGRESSORS)}") from None
    valid = cls().get_params(deep=False)
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ValueError(f"unknown parameters {unknown} for regressor {name!r}; "
                         f"valid: {sorted(valid)}")
    return cls(**params)
