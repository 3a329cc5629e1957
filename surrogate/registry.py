"""Name -> regressor class, shared by the CLI, tuning and tests.

>>> model = get_regressor("xgb", n_estimators=300, random_state=0)
>>> REGRESSORS["gin"].input_kind
'graph'
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["REGRESSORS", "get_regressor"]


class _Registry(Mapping):
    """Name -> regressor class. A class's module is imported when the class is first looked
    up, so loading an XGBoost artifact never imports torch and PyG (seconds) for the GIN."""

    def __init__(self, entries: dict[str, tuple[str, str]]):
        self._entries = entries  # name -> (module of this package, class name)

    def __getitem__(self, name: str) -> type:
        module, attr = self._entries[name]
        return getattr(importlib.import_module(f".{module}", __package__), attr)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def by_class_name(self, class_name: str) -> type:
        """The registered class called ``class_name`` (KeyError if none)."""
        for name, (_, attr) in self._entries.items():
            if attr == class_name:
                return self[name]
        raise KeyError(class_name)

    def class_names(self) -> list[str]:
        return sorted(attr for _, attr in self._entries.values())


#: Registered regressors; each class has ``input_kind`` ("array" or "graph"),
#: ``has_std`` and a ``search_space(trial)`` classmethod.
REGRESSORS = _Registry(
    {
        "xgb": ("xgb", "XGBRegressorModel"),
        "rf": ("xgb", "RandomForestModel"),
        "mlp": ("mlp", "MLPModel"),
        "gin": ("gin", "GINModel"),
        "ensemble": ("ensemble", "EnsembleModel"),
    }
)


def get_regressor(name: str, **params: Any):
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
        raise ValueError(
            f"unknown parameters {unknown} for regressor {name!r}; valid: {sorted(valid)}"
        )
    return cls(**params)
