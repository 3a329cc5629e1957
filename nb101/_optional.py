"""Optional dependencies: imported by the feature that needs them, named with their extra.

The core install (``pip install nb101-surrogate``) answers the table and the bundled XGBoost
surrogate. Heavier features need an extra of ``pyproject.toml``: ``gnn`` (torch and PyG: the
GIN and MLP regressors, graph features), ``train`` (optuna: hyperparameter tuning), ``eval``
(dask, matplotlib: the fidelity study and the predictor protocol), ``viz`` (graphviz).

>>> torch = require("torch", "gnn", "the GIN regressor")  # doctest: +SKIP
MissingDependencyError: torch is needed for the GIN regressor: pip install 'nb101-surrogate[gnn]'
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingDependencyError", "require"]

#: Import name -> the name pip installs it by, where they differ.
_PIP_NAMES = {
    "torch_geometric": "torch-geometric",
    "distributed": "dask[distributed]",
    "sklearn": "scikit-learn",
    "syne_tune": "syne-tune",
}

#: Modules an extra cannot install, with the command that does: syne-tune requires the
#: `xgboost` distribution, which would clobber this project's `xgboost-cpu`.
_INSTALLED_APART = {"syne_tune": "pip install --no-deps syne-tune==0.16.0"}


class MissingDependencyError(ImportError):
    """A feature needs an optional dependency that is not installed.

    An :class:`ImportError`, so code that falls back on a missing module still catches it;
    the message names the module, the feature and the extra that installs it.
    """

    def __init__(self, module: str, extra: str, feature: str):
        top = module.split(".")[0]
        self.extra = extra
        self.feature = feature
        command = f"pip install 'nb101-surrogate[{extra}]'"
        if top in _INSTALLED_APART:
            command += f" && {_INSTALLED_APART[top]}"
        super().__init__(f"{_PIP_NAMES.get(top, top)} is needed for {feature}: {command}", name=top)


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import and return ``module``, or raise :class:`MissingDependencyError` naming ``extra``.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"torch"`` or ``"matplotlib.pyplot"``.
    extra : str
        The extra of ``nb101-surrogate`` that installs it, e.g. ``"gnn"``.
    feature : str
        What needs it, completing "needed for ...", e.g. ``"the GIN regressor"``.

    Raises
    ------
    MissingDependencyError
        If ``module`` (or a module it imports) is not installed.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise MissingDependencyError(exc.name or module, extra, feature) from exc
