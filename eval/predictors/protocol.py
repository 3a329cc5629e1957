"""The protocol run: the predictors of a config on every split, trial records and summary.

:func:`run_protocol` selects the predictors (built-ins by name or glob, then plug-ins: see
:mod:`eval.predictors.plugins`), loads the target (:mod:`eval.predictors.data`), estimates the
noise ceiling (:mod:`eval.predictors.ceiling`), fits and scores every predictor on every
split, and returns a :class:`ProtocolResult` whose rows :mod:`eval.predictors.report`
summarises and writes. A failing predictor is recorded as failed and never stops the run.
See :mod:`eval.predictors` for the protocol itself.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EvalConfigError
from .ceiling import noise_ceiling
from .data import DEFAULT_SIZES, STANDARD_SIZES, Split, TargetData, load_target, make_splits
from .plugins import (
    FAST_PARAMS,
    PluginError,
    PredictorSpec,
    builtin_predictors,
    check_output,
    plugin_featurizer_pairs,
    plugin_predictor,
)
from .report import INTERVAL, summarize, write_outputs

__all__ = ["ProtocolConfig", "ProtocolResult", "run_protocol", "list_predictors"]

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
    def smoke(cls, **overrides: Any) -> ProtocolConfig:
        """A seconds-long configuration: two small sizes, two trials, 300 test cells, two
        fast built-ins, no standard splits."""
        base = dict(
            sizes=(10, 30),
            standard_splits=False,
            trials=2,
            test_size=300,
            predictors=("adjacency+xgb", "path_trunc+rf"),
            n_boot=20,
        )
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
            raise EvalConfigError(
                f"standard_test_size must be >= 10 or None, got {self.standard_test_size}"
            )
        if self.model_defaults not in ("fast", "library"):
            raise EvalConfigError(
                f"model_defaults must be 'fast' or 'library', got {self.model_defaults!r}"
            )


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
            if (
                r["predictor"] == predictor
                and r["size"] == size
                and (split is None or r["split"] == split)
            ):
                return r
        raise KeyError(f"no row for predictor {predictor!r} at size {size}")

    def leaderboard(self, size: int, split: str | None = None) -> list[dict]:
        """Rows at ``size``, best mean Kendall tau first (failed last)."""
        rows = [
            r for r in self.rows if r["size"] == size and (split is None or r["split"] == split)
        ]
        return sorted(
            rows,
            key=lambda r: (r["status"] == "failed", -np.nan_to_num(r["kendall_tau"], nan=-np.inf)),
        )

    def write(self, out: str | Path) -> dict[str, Path]:
        """Write the leaderboard, plots and trial JSON into folder ``out``."""
        return write_outputs(self.rows, self.trials, self.meta, out)


def list_predictors(
    config: ProtocolConfig | None = None,
    *,
    plugins: Sequence[Any] = (),
    plugin_featurizers: Sequence[Any] | Mapping[str, Any] = (),
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
            raise EvalConfigError(
                f"predictors: {pattern!r} matches no built-in predictor; choices: {names}"
            )
        chosen += [h for h in hits if h not in chosen]
    return [s for s in specs if s.name in chosen]


def _predictor_specs(config: ProtocolConfig, plugins, plugin_featurizers) -> list[PredictorSpec]:
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
    record: dict[str, Any] = {
        "predictor": spec.name,
        "origin": spec.origin,
        "split": split.kind,
        "size": split.size,
        "trial": split.trial,
        "seed": split.seed,
        "train_size": len(split.train),
        "test_size": len(split.test),
        "status": "ok",
        "error": "",
        "metrics": {},
        "fit_s": None,
        "query_us_per_cell": None,
    }
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
        pred = check_output(raw, len(test_cells), who)
        record["metrics"] = regression_metrics(data.y[split.test], pred)
    except Exception as exc:  # noqa: BLE001 - a failing predictor must not stop the run
        message = (
            str(exc)
            if isinstance(exc, PluginError)
            else (f"{who} raised {type(exc).__name__} in {stage}: {exc}")
        )
        if not message.startswith(("predictor", "plug-in", "featurizer")):
            message = f"{who}: {message}"
        record.update(status="failed", error=message)
        _log.warning("%s", message)
    return record


def run_protocol(
    config: ProtocolConfig | None = None,
    *,
    plugins: Sequence[Any] | Mapping[str, Any] = (),
    plugin_featurizers: Sequence[Any] | Mapping[str, Any] = (),
    data: TargetData | None = None,
    progress: bool = False,
) -> ProtocolResult:
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
        splits = make_splits(
            data,
            sizes=tuple(int(s) for s in config.sizes),
            standard_sizes=tuple(int(s) for s in config.standard_sizes) if standard else (),
            trials=int(config.trials),
            seed=int(config.seed),
            test_size=int(config.test_size),
            standard_test_size=config.standard_test_size,
        )
    except ValueError as exc:
        raise EvalConfigError(str(exc)) from exc
    if not splits:
        raise EvalConfigError("nothing to run: sizes is empty and there are no standard splits")

    sample_test = next((s.test for s in splits if s.kind == "sample"), None)
    ceiling_cells = (
        sample_test
        if sample_test is not None
        else np.random.default_rng(config.seed).choice(
            len(data.cells), min(10_000, len(data.cells)), replace=False
        )
    )
    share = float(np.isin(data.cells[ceiling_cells], data.repeat_cells).mean())
    ceiling = noise_ceiling(
        data.repeat_runs,
        data.y[ceiling_cells],
        repeat_test_share=share,
        seed=config.seed,
        n_boot=config.n_boot,
    )

    jobs = [(split, spec) for split in splits for spec in specs]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="predictors", unit="fit", dynamic_ncols=True)
    trials = []
    try:
        for split, spec in jobs:
            if bar is not None:
                bar.set_postfix_str(
                    f"{split.kind} n={split.size} t={split.trial} {spec.name}", refresh=False
                )
            trials.append(_run_trial(spec, split, data))
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    rows = summarize(trials, [s.name for s in specs])
    meta = {
        "protocol": "White et al. (2021), How Powerful are Performance Predictors in NAS?",
        "target": data.target,
        "table": data.table,
        "n_cells": int(len(data.cells)),
        "full_space": bool(data.full_space),
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
        "sample_test_size": int(len(sample_test)) if sample_test is not None else None,
        "standard_test_size": next((len(s.test) for s in splits if s.kind == "standard"), None),
        "noise_ceiling": ceiling,
        "interval": INTERVAL,
        "predictors": [{"name": s.name, "origin": s.origin, "error": s.error} for s in specs],
        "fast_params": {k: {p: repr(v) for p, v in d.items()} for k, d in FAST_PARAMS.items()}
        if config.model_defaults == "fast"
        else None,
        "wall_s": time.perf_counter() - started,
    }
    return ProtocolResult(rows, trials, meta)
