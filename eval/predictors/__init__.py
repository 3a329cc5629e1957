"""Predictor research harness: the protocol of White et al. (2021), "How Powerful are
Performance Predictors in Neural Architecture Search?", on a table and target of your choice.

Every predictor works over CELLS (int64 indices of :func:`nb101.get_space`): it is fitted
with ``fit(cells, y)`` on a training set and asked ``predict(cells)`` on a test set. The
protocol runs, for every training-set size and every trial, every predictor on the same
split and scores it on:

the accuracy of the predictions
    ``kendall_tau``, ``spearman``, ``sparse_kendall_tau``, ``r2``, ``mae``,
    ``precision_top1``, ``precision_top5``: :func:`surrogate.metrics.regression_metrics` on
    the test set;
``fit_s``, ``query_us_per_cell``
    wall time of ``fit`` (seconds, featurization included) and of ``predict`` per test cell.

Per (predictor, size): mean and a 95 % Student-t interval over trials
(``mean +- t(0.975, n-1) * sd / sqrt(n)``, clipped to the metric's range).

Splits
------
* Sample splits, ``sizes`` (default 10, 30, 100, 300, 1000: log scale): one fixed test set of
  ``test_size`` (default 10,000; fewer if the largest training set would not fit) seeded
  cells; trial ``t``
  trains on the first ``size`` cells of its own seeded permutation of the other cells.
* Standard splits of the exhaustive table, ``standard_sizes`` (100, 172, 424, 4,236 training
  cells), when the target covers all 423,624 cells (``standard_splits=None``: automatically):
  training cells drawn from the whole space and tested on the others; by default on a seeded
  100,000 of them (``standard_test_size=None``: all of them).

Predictors
----------
Every registered array featurizer (:data:`features.FEATURIZERS`) x array regressor
(:data:`surrogate.registry.REGRESSORS`), named ``"<featurizer>+<regressor>"``, and every graph
regressor (GIN) end to end, named ``"<regressor>"``. ``model_defaults="fast"`` (the default)
uses the smaller models of :data:`FAST_PARAMS`; ``"library"`` the regressors' own defaults.
``predictors`` selects built-ins by name or glob (``"path*+xgb"``). Plug-ins always join:

* ``plugins``: ``"module:Class"`` / ``"file.py:Class"`` strings, or classes, factories or
  instances with ``fit(cells, y)`` and ``predict(cells)``;
* ``plugin_featurizers``: ``"module:obj"`` strings or objects with ``transform(indices)``,
  each paired with every array regressor.

A plug-in that does not import, lacks the methods, raises, or returns the wrong shape or NaN
is reported as failed in the leaderboard with a message naming it; the rest still runs.

Noise ceiling: see :mod:`eval.predictors.ceiling` (direct from repeats where most test cells
have them; simulated from the pooled run-to-run noise of the few real repeat cells otherwise).

Outputs (:func:`write_outputs`, the CLI's ``--out``): ``leaderboard.md``, ``leaderboard.csv``,
``trials.json`` (config, data, noise ceiling, every trial) and ``learning_curve_kendall_tau.png``
(plus ``learning_curve_standard_kendall_tau.png`` with standard splits).

Usage
-----
::

    python -m eval.predictors                                   # validation_accuracy@108
    python -m eval.predictors --target test_accuracy@108 --sizes none   # standard splits
    python -m eval.predictors --predictors "path+xgb,gin" --trials 10 --out results/
    python -m eval.predictors --plugin my_module:MyPredictor --plugin-featurizer my_mod:feat
    python -m eval.predictors --smoke                           # seconds

>>> result = run_protocol(ProtocolConfig(sizes=(10, 100), trials=3),
...                       plugins=[MyPredictor])              # doctest: +SKIP
>>> result.write("results/")                                  # doctest: +SKIP
"""

from .ceiling import noise_ceiling
from .cli import config_from_args, main
from .data import (
    DEFAULT_SIZES,
    STANDARD_SIZES,
    Split,
    TargetData,
    load_target,
    make_splits,
    resolve_table,
)
from .plugins import (
    FAST_PARAMS,
    CellPredictor,
    FeaturizedPredictor,
    GraphPredictor,
    PluginError,
    PredictorSpec,
    builtin_predictors,
    import_object,
    plugin_featurizer_pairs,
    plugin_predictor,
)
from .protocol import ProtocolConfig, ProtocolResult, list_predictors, run_protocol
from .report import METRIC_RANGES, METRICS, TIMES, leaderboard_markdown, summarize, write_outputs

__all__ = [
    "ProtocolConfig",
    "ProtocolResult",
    "run_protocol",
    "list_predictors",
    "main",
    "config_from_args",
    "CellPredictor",
    "FeaturizedPredictor",
    "GraphPredictor",
    "PredictorSpec",
    "PluginError",
    "FAST_PARAMS",
    "builtin_predictors",
    "plugin_predictor",
    "plugin_featurizer_pairs",
    "import_object",
    "TargetData",
    "Split",
    "load_target",
    "make_splits",
    "resolve_table",
    "STANDARD_SIZES",
    "DEFAULT_SIZES",
    "noise_ceiling",
    "METRICS",
    "TIMES",
    "METRIC_RANGES",
    "summarize",
    "write_outputs",
    "leaderboard_markdown",
]
