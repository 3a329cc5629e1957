"""Predictor research harness: the protocol of White et al. (2021), "How Powerful are
Performance Predictors in Neural Architecture Search?", on a table and target of your choice.

Every predictor works over CELLS (int64 indices of :func:`nb101.get_space`): it is fitted
with ``fit(cells, y)`` on a training set and asked ``predict(cells)`` on a test set. The
protocol runs, for every training-set size and every trial, every predictor on the same
split and scores it on:

``kendall_tau``, ``spearman``, ``sparse_kendall_tau``, ``r2``, ``mae``, ``precision_top1``,
``precision_top5``
    :func:`surrogate.metrics.regression_metrics` on the test set;
``fit_s``, ``query_us_per_cell``
    wall time of ``fit`` (seconds, featurization included) and of ``predict`` per test cell.

Per (predictor, size): mean and a 95 % Student-t interval over trials
(``mean +- t(0.975, n-1) * sd / sqrt(n)``).

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

Noise ceiling: see :mod:`eval._predictor_ceiling` (direct from repeats where most test cells
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

from __future__ import annotations

import argparse
import fnmatch
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ._predictor_ceiling import noise_ceiling
from ._predictor_data import (DEFAULT_SIZES, STANDARD_SIZES, Split, TargetData, load_target,
                              make_splits)
from ._predictor_plugins import (FAST_PARAMS, CellPredictor, FeaturizedPredictor,
                                 GraphPredictor, PluginError, PredictorSpec, _check_output,
                                 builtin_predictors, import_object, plugin_featurizer_pairs,
                                 plugin_predictor)
from ._predictor_report import METRICS, TIMES, summarize, write_outputs
from .errors import EvalConfigError

__all__ = ["ProtocolConfig", "ProtocolResult", "run_protocol", "list_predictors",
           "CellPredictor", "FeaturizedPredictor", "GraphPredictor", "PluginError",
           "FAST_PARAMS", "STANDARD_SIZES", "DEFAULT_SIZES", "METRICS", "TIMES",
           "import_object", "main"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProtocolConfig:
    """Settings of one protocol run (see the module docstring).

    Parameters
    ----------
    table : str, optional
        A table file, or None / ``"real"`` for the real data's combined table.
    target : str
        ``"[halfway_]<metric>@<epochs>"``, e.g. ``"validation_accuracy@108"`` (the 18,760-cell
        sample) or ``"test_accuracy@108"`` (the exhaustive table).
    sizes : tuple of int
        Training sizes of the sample splits (may be empty).
    standard_splits : bool or None
        Run the exhaustive table's standard splits; None: when the target covers the space.
    standard_sizes : tuple of int
    trials : int
        Trials per size (each with its own training set and model seed).
    seed : int
    test_size : int
        Cells of the fixed test set of the sample splits.
    standard_test_size : int or None
        Test cells of the standard splits (None: every cell outside the training set).
    predictors : tuple of str, optional
        Names or glob patterns of the built-ins to run (None: all).
    model_defaults : {"fast", "library"}
    n_boot : int
        Bootstrap resamples of the noise ceiling.
    """

    table: str | None = None
    target: str = "validation_accuracy@108"
    sizes: tuple[int, ...] = DEFAULT_SIZES
    standard_splits: bool | None = None
    standard_sizes: tuple[int, ...] = STANDARD_SIZES
    trials: int = 5
    seed: int = 0
    test_size: int = 10_000
    standard_test_size: int | None = 100_000
    predictors: tuple[str, ...] | None = None
    model_defaults: str = "fast"
    n_boot: int = 200

    @classmethod
    def smoke(cls, **overrides: Any) -> "ProtocolConfig":
        """A seconds-long configuration: two small sizes, two trials, 300 test cells, two
        fast built-ins, no standard splits."""
        base = dict(sizes=(10, 30), standard_splits=False, trials=2, test_size=300,
                    predictors=("adjacency+xgb", "path_trunc+rf"), n_boot=20)
        base.update(overrides)
        return cls(**base)

    def validate(self) -> None:
        """Raise :class:`EvalConfigError` naming a bad option."""
        if int(self.trials) < 1:
            raise EvalConfigError(f"trials must be >= 1, got {self.trials}")
        for name in ("sizes", "standard_sizes"):
            bad = [s for s in getattr(self, name) if int(s) < 2]
            if bad:
                raise EvalConfigError(f"{name} must be training sizes >= 2, got {bad}")
        if int(self.test_size) < 10:
            raise EvalConfigError(f"test_size must be >= 10, got {self.test_size}")
        if self.standard_test_size is not None and int(self.standard_test_size) < 10:
            raise EvalConfigError(f"standard_test_size must be >= 10 or None, got "
                                  f"{self.standard_test_size}")
        if self.model_defaults not in ("fast", "library"):
            raise EvalConfigError(f"model_defaults must be 'fast' or 'library', got "
                                  f"{self.model_defaults!r}")


@dataclass
class ProtocolResult:
    """What :func:`run_protocol` returns.

    Attributes
    ----------
    rows : list of dict
        One per (split kind, size, predictor): ``status``, ``error`` and, for every metric
        and time, the mean, ``<key>_ci_low`` and ``<key>_ci_high``.
    trials : list of dict
        Every trial: ``predictor``, ``split``, ``size``, ``trial``, ``seed``, ``status``,
        ``error``, ``metrics``, ``fit_s``, ``query_us_per_cell``.
    meta : dict
        Config, data description, noise ceiling, predictors and wall time.
    """

    rows: list[dict]
    trials: list[dict]
    meta: dict = field(default_factory=dict)

    def row(self, predictor: str, size: int, split: str | None = None) -> dict:
        """The summary row of ``predictor`` at ``size`` (KeyError if absent)."""
        for r in self.rows:
            if r["predictor"] == predictor and r["size"] == size and (
                    split is None or r["split"] == split):
                return r
        raise KeyError(f"no row for predictor {predictor!r} at size {size}")

    def leaderboard(self, size: int, split: str | None = None) -> list[dict]:
        """Rows at ``size``, best mean Kendall tau first (failed last)."""
        rows = [r for r in self.rows if r["size"] == size and (split is None
                                                               or r["split"] == split)]
        return sorted(rows, key=lambda r: (r["status"] == "failed", -np.nan_to_num(
            r["kendall_tau"], nan=-np.inf)))

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write the leaderboard, plots and trial JSON into folder ``out``."""
        return write_outputs(self.rows, self.trials, self.meta, out)


def list_predictors(config: ProtocolConfig | None = None, *, plugins: Sequence[Any] = (),
                    plugin_featurizers: Sequence[Any] | Mapping[str, Any] = ()
                    ) -> list[PredictorSpec]:
    """The predictors a run of ``config`` would use (built-ins selected, then plug-ins)."""
    config = config or ProtocolConfig()
    return _predictor_specs(config, plugins, plugin_featurizers)


def _select(specs: list[PredictorSpec], patterns: Sequence[str] | None) -> list[PredictorSpec]:
    if patterns is None:
        return specs
    names = [s.name for s in specs]
    chosen: list[str] = []
    for pattern in patterns:
        hits = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not hits:
            raise EvalConfigError(f"predictors: {pattern!r} matches no built-in predictor; "
                                  f"choices: {names}")
        chosen += [h for h in hits if h not in chosen]
    return [s for s in specs if s.name in chosen]


def _predictor_specs(config: ProtocolConfig, plugins, plugin_featurizers
                     ) -> list[PredictorSpec]:
    specs = _select(builtin_predictors(config.model_defaults), config.predictors)
    if isinstance(plugins, Mapping):
        plugin_items = list(plugins.items())
    else:
        plugin_items = [(None, p) for p in plugins]
    for name, plugin in plugin_items:
        specs.append(plugin_predictor(plugin, name))
    if isinstance(plugin_featurizers, Mapping):
        feat_items = list(plugin_featurizers.items())
    else:
        feat_items = [(None, p) for p in plugin_featurizers]
    for name, plugin in feat_items:
        specs.extend(plugin_featurizer_pairs(plugin, name, config.model_defaults))
    seen: dict[str, int] = {}
    out = []
    for spec in specs:  # unique names
        k = seen.get(spec.name, 0)
        seen[spec.name] = k + 1
        out.append(spec if k == 0 else replace(spec, name=f"{spec.name}#{k + 1}"))
    return out


def _run_trial(spec: PredictorSpec, split: Split, data: TargetData) -> dict:
    record: dict[str, Any] = {"predictor": spec.name, "origin": spec.origin,
                              "split": split.kind, "size": split.size, "trial": split.trial,
                              "seed": split.seed, "train_size": len(split.train),
                              "test_size": len(split.test), "status": "ok", "error": "",
                              "metrics": {}, "fit_s": None, "query_us_per_cell": None}
    who = f"predictor {spec.name!r}" + (" (plug-in)" if spec.origin == "plugin" else "")
    if spec.make is None:
        record.update(status="failed", error=spec.error or f"{who} could not be loaded")
        return record
    from surrogate.metrics import regression_metrics
    train_cells, test_cells = data.cells[split.train], data.cells[split.test]
    stage = "construction"
    try:
        model = spec.make(split.seed)
        stage = "fit"
        start = time.perf_counter()
        model.fit(train_cells.copy(), data.y[split.train].copy())
        record["fit_s"] = time.perf_counter() - start
        stage = "predict"
        start = time.perf_counter()
        raw = model.predict(test_cells.copy())
        record["query_us_per_cell"] = (time.perf_counter() - start) * 1e6 / len(test_cells)
        pred = _check_output(raw, len(test_cells), who)
        record["metrics"] = regression_metrics(data.y[split.test], pred)
    except Exception as exc:  # noqa: BLE001 - a failing predictor must not stop the run
        message = str(exc) if isinstance(exc, PluginError) else (
            f"{who} raised {type(exc).__name__} in {stage}: {exc}")
        if not message.startswith(("predictor", "plug-in", "featurizer")):
            message = f"{who}: {message}"
        record.update(status="failed", error=message)
        _log.warning("%s", message)
    return record


def run_protocol(config: ProtocolConfig | None = None, *, plugins: Sequence[Any] |
                 Mapping[str, Any] = (), plugin_featurizers: Sequence[Any] |
                 Mapping[str, Any] = (), data: TargetData | None = None,
                 progress: bool = False) -> ProtocolResult:
    """Run the protocol (module docstring) and return the summary and every trial.

    Parameters
    ----------
    config : ProtocolConfig, optional
    plugins : sequence or mapping name -> plug-in
        Cell predictors: ``"module:Class"`` strings, classes, factories or instances.
    plugin_featurizers : sequence or mapping name -> plug-in
        Featurizers (``"module:obj"`` strings or objects with ``transform``).
    data : TargetData, optional
        Labels to use instead of loading ``config.table`` / ``config.target``.
    progress : bool
        Show a tqdm progress bar (the CLI does).

    Raises
    ------
    EvalConfigError
        For a bad option (before anything runs). Failing predictors never raise: they are
        recorded as failed.
    """
    config = config or ProtocolConfig()
    config.validate()
    started = time.perf_counter()
    specs = _predictor_specs(config, plugins, plugin_featurizers)
    if not specs:
        raise EvalConfigError("no predictor selected")
    if data is None:
        try:
            data = load_target(config.table, config.target)
        except ValueError as exc:
            raise EvalConfigError(str(exc)) from exc
    standard = data.full_space if config.standard_splits is None else config.standard_splits
    try:
        splits = make_splits(data, sizes=tuple(int(s) for s in config.sizes),
                             standard_sizes=tuple(int(s) for s in config.standard_sizes)
                             if standard else (),
                             trials=int(config.trials), seed=int(config.seed),
                             test_size=int(config.test_size),
                             standard_test_size=config.standard_test_size)
    except ValueError as exc:
        raise EvalConfigError(str(exc)) from exc
    if not splits:
        raise EvalConfigError("nothing to run: sizes is empty and there are no standard splits")

    sample_test = next((s.test for s in splits if s.kind == "sample"), None)
    ceiling_cells = sample_test if sample_test is not None else np.random.default_rng(
        config.seed).choice(len(data.cells), min(10_000, len(data.cells)), replace=False)
    share = float(np.isin(data.cells[ceiling_cells], data.repeat_cells).mean())
    ceiling = noise_ceiling(data.repeat_runs, data.y[ceiling_cells], repeat_test_share=share,
                            seed=config.seed, n_boot=config.n_boot)

    jobs = [(split, spec) for split in splits for spec in specs]
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(jobs), desc="predictors", unit="fit", dynamic_ncols=True)
    trials = []
    try:
        for split, spec in jobs:
            if bar is not None:
                bar.set_postfix_str(f"{split.kind} n={split.size} t={split.trial} {spec.name}",
                                    refresh=False)
            trials.append(_run_trial(spec, split, data))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    rows = summarize(trials, [s.name for s in specs])
    meta = {
        "protocol": "White et al. (2021), How Powerful are Performance Predictors in NAS?",
        "target": data.target, "table": data.table, "n_cells": int(len(data.cells)),
        "full_space": bool(data.full_space),
        "config": {k: (list(v) if isinstance(v, tuple) else v)
                   for k, v in asdict(config).items()},
        "sample_test_size": int(len(sample_test)) if sample_test is not None else None,
        "standard_test_size": next((len(s.test) for s in splits if s.kind == "standard"),
                                   None),
        "noise_ceiling": ceiling,
        "interval": "95 % Student-t interval over trials: mean +- t(0.975, n-1) sd/sqrt(n)",
        "predictors": [{"name": s.name, "origin": s.origin, "error": s.error} for s in specs],
        "fast_params": {k: {p: repr(v) for p, v in d.items()} for k, d in FAST_PARAMS.items()}
        if config.model_defaults == "fast" else None,
        "wall_s": time.perf_counter() - started,
    }
    return ProtocolResult(rows, trials, meta)


# ------------------------------------------------------------------------------- CLI
def _int_list(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(int(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers or 'none', got "
                                         f"{text!r}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval.predictors",
        description="Performance-predictor protocol of White et al. (2021) on a NAS-Bench-101 "
                    "table: every featurizer x regressor pair, GIN and plug-ins.")
    p.add_argument("--table", default=None,
                   help="table file (default: the real data's combined table)")
    p.add_argument("--target", default="validation_accuracy@108",
                   help="'[halfway_]<metric>@<epochs>' (default validation_accuracy@108: the "
                        "18,760-cell sample; test_accuracy@108: the exhaustive table)")
    p.add_argument("--sizes", type=_int_list, default=None,
                   help="training sizes of the sample splits, comma-separated or 'none' "
                        "(default 10,30,100,300,1000)")
    p.add_argument("--standard-splits", choices=("auto", "on", "off"), default="auto",
                   help="the exhaustive table's standard splits (100,172,424,4236); auto: "
                        "when the target covers the whole space")
    p.add_argument("--standard-sizes", type=_int_list, default=None)
    p.add_argument("--trials", type=int, default=None, help="trials per size (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--test-size", type=int, default=None,
                   help="fixed test set of the sample splits (default 10000)")
    p.add_argument("--standard-test-size", type=int, default=100_000,
                   help="test cells of the standard splits; 0: all other cells")
    p.add_argument("--predictors", default=None,
                   help="built-ins to run, comma-separated names or globs (default: all)")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE:CLASS",
                   help="a cell predictor class (fit(cells, y), predict(cells)); repeatable")
    p.add_argument("--plugin-featurizer", action="append", default=[], metavar="MODULE:OBJ",
                   help="an object with transform(indices), paired with every array "
                        "regressor; repeatable")
    p.add_argument("--model-defaults", choices=("fast", "library"), default="fast")
    p.add_argument("--out", default="predictor_results", help="output folder")
    p.add_argument("--smoke", action="store_true",
                   help="seconds-long configuration (2 sizes, 2 trials, 300 test cells)")
    p.add_argument("--list", action="store_true", help="list the predictors and exit")
    p.add_argument("--no-progress", action="store_true")
    return p


def config_from_args(args: argparse.Namespace) -> ProtocolConfig:
    """The :class:`ProtocolConfig` of parsed CLI arguments."""
    values: dict[str, Any] = {"table": args.table, "target": args.target, "seed": args.seed,
                              "model_defaults": args.model_defaults,
                              "standard_test_size": args.standard_test_size or None,
                              "standard_splits": {"auto": None, "on": True,
                                                  "off": False}[args.standard_splits]}
    for name in ("sizes", "standard_sizes", "trials", "test_size"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.predictors:
        values["predictors"] = tuple(x.strip() for x in args.predictors.split(",") if x.strip())
    if args.smoke:
        if args.standard_splits == "auto":
            values.pop("standard_splits")
        return ProtocolConfig.smoke(**values)
    return ProtocolConfig(**values)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m eval.predictors``; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
        if args.list:
            for spec in list_predictors(config, plugins=args.plugin,
                                        plugin_featurizers=args.plugin_featurizer):
                print(f"{spec.name}\t{spec.origin}" + (f"\tFAILED: {spec.error}"
                                                       if spec.error else ""))
            return 0
        result = run_protocol(config, plugins=args.plugin,
                              plugin_featurizers=args.plugin_featurizer,
                              progress=not args.no_progress)
    except EvalConfigError as exc:
        print(f"error: {exc}")
        return 2
    paths = result.write(args.out)
    failed = sorted({r["predictor"] for r in result.rows if r["status"] != "ok"})
    print(f"{len(result.trials)} trials in {result.meta['wall_s']:.1f} s; "
          f"leaderboard: {paths['markdown']}")
    if failed:
        print(f"failed or partly failed: {', '.join(failed)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
