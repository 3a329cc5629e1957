"""Surrogate models of NAS-Bench-101: regressors, training, artifacts and the query backend.

* :class:`SurrogateBenchmark` (:mod:`surrogate.surrogate_benchmark`) -- the ``nasbench.api`` queries
  answered by a trained artifact; a drop-in for :class:`nb101.tabular_benchmark.TabularBenchmark`.
* :mod:`surrogate.artifact` -- :func:`load_artifact` / :func:`save_artifact` of the artifact
  folder (``metadata.json``, ``noise.json``, portable weights per target).
* :mod:`surrogate.train` -- ``TrainConfig`` and ``train(config) -> Path`` (CLI
  ``nb101-train``).
* :mod:`surrogate.predictions` -- the per-machine cache of whole-space predictions.
* :mod:`surrogate.noise` -- the run-to-run noise model.
* :mod:`surrogate.registry` -- the regressors by name: :mod:`surrogate.xgb` (XGBoost, random
  forest), :mod:`surrogate.mlp`, :mod:`surrogate.ensemble`, :mod:`surrogate.gin`, all on
  :mod:`surrogate.base`.
* :mod:`surrogate.tuning`, :mod:`surrogate.metrics` -- Optuna search, held-out metrics.

Heavy dependencies (torch, PyG, xgboost, optuna) load only when a name that needs them is
first used.

Example
-------
>>> from surrogate import SurrogateBenchmark
>>> bench = SurrogateBenchmark(seed=0)                 # the bundled default artifact
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "SurrogateBenchmark",
    "Artifact",
    "load_artifact",
    "save_artifact",
    "DEFAULT_ARTIFACT",
    "TrainConfig",
    "NoiseModel",
    "REGRESSORS",
    "get_regressor",
    "regression_metrics",
    "tune",
]

_LAZY = {
    "SurrogateBenchmark": "surrogate_benchmark",
    "Artifact": "artifact",
    "load_artifact": "artifact",
    "save_artifact": "artifact",
    "DEFAULT_ARTIFACT": "artifact",
    "TrainConfig": "train",
    "NoiseModel": "noise",
    "REGRESSORS": "registry",
    "get_regressor": "registry",
    "regression_metrics": "metrics",
    "tune": "tuning",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
