"""Collecting a study: plan it, run (or load from the cache) every run, read the runs back
into curves and measure the landscapes (:func:`collect`); :func:`run_fidelity` then writes
the report.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np

from nb101.paths import user_path

from ..optimizers import is_external, resolve_optimizer
from ..tracks import covered_cells, make_track, resolve_track
from .config import (
    GRID_POINTS,
    IN_SAMPLE_SHARE,
    RANK_AT,
    RUN_FORMAT,
    FidelityConfig,
    resolve_table,
    track_targets,
    validate,
)
from .execute import execute
from .plan import StudyPlan, draw_label, noise_seeds, plan_studies
from .results import FidelityResult, StudyResult
from .runs import file_digest, load_run, open_backend

__all__ = ["run_fidelity", "collect"]

_log = logging.getLogger(__name__)


def run_fidelity(config: FidelityConfig) -> dict:
    """Run (or load from the cache) every run of the study, then write the report.

    Returns
    -------
    dict
        The report (also written to ``out/fidelity.json``).

    Raises
    ------
    EvalConfigError
        Bad options or data, before any run starts.
    """
    from .report import build_report, write_report

    result = collect(config)
    _log.info("bootstrap intervals, verdict and figures of %d studies", len(result.studies))
    report = build_report(result)
    write_report(report, user_path(config.out))
    return report


def collect(config: FidelityConfig) -> FidelityResult:
    """Run (or load) every run of the study and collect the raw results (no statistics)."""
    t_start = time.perf_counter()
    tracks, names = validate(config)
    out = user_path(config.out)
    table = resolve_table(config)
    # the driver's backends, apart from the workers': its reads (mean training time, the
    # table's values, landscapes) must not depend on which runs this thread ran before
    reader = partial(open_backend, cache=OrderedDict())
    cells = {t: covered_cells(t, reader("table", str(table), t)) for t in tracks}
    out.mkdir(parents=True, exist_ok=True)
    studies = plan_studies(config, tracks, table, out, cells)
    answers = f"n{int(config.noise)}r{int(config.surrogate_repeats)}"
    digests: dict[Path, str] = {}

    def digest(p: Path) -> str:
        if p not in digests:
            digests[p] = file_digest(p)
        return digests[p]

    jobs, plan = [], []
    for study in studies:
        budget = float(config.budget)
        if study.track == "multifidelity":
            budget *= make_track(
                study.track, reader("table", str(table), study.track), cells=study.cells
            ).mean_time108
        backends = [("table", "table", table, 0)] + [
            ("surrogate", draw_label(label, k), path, k)
            for label, path, _ in study.surrogates
            for k in noise_seeds(config)
        ]
        opt = [
            n
            for n in names
            if not resolve_optimizer(n).multi_fidelity or study.track == "multifidelity"
        ]
        files = {}
        for kind, label, path, noise_seed in backends:
            tag = (
                digest(path)
                if kind == "table"
                else (f"{digest(path)}-{answers}" + (f"s{noise_seed}" if noise_seed else ""))
            )
            for name in opt:
                for seed in range(config.seeds):
                    f = (
                        out
                        / "runs"
                        / study.track
                        / study.slug
                        / f"{label}-{tag}"
                        / name
                        / f"v{RUN_FORMAT}{_library(name)}-b{budget:.6g}-s{seed}.npz"
                    )
                    files[(label, name, seed)] = f
                    if not f.exists():
                        jobs.append(
                            dict(
                                track=study.track,
                                study=study.name,
                                kind=kind,
                                label=label,
                                path=str(path),
                                cells=study.cells,
                                optimizer=name,
                                seed=seed,
                                budget=budget,
                                file=str(f),
                                noise=config.noise,
                                repeats=int(config.surrogate_repeats),
                                noise_seed=noise_seed,
                            )
                        )
        plan.append((study, budget, backends, opt, files))
    t_runs = time.perf_counter()
    failed = [r["failed"] for r in execute(jobs, config) if "failed" in r] if jobs else []
    run_seconds = time.perf_counter() - t_runs
    from tqdm.auto import tqdm

    # reading the runs back and measuring the landscapes takes minutes on a large study
    results = []
    for study, budget, backends, opt, files in tqdm(
        plan, desc="fidelity studies", unit="study", disable=not config.progress
    ):
        # an optimizer with a failed run is left out of the study (its other runs stay cached)
        lost = {
            f["optimizer"] for f in failed if (f["track"], f["study"]) == (study.track, study.name)
        }
        kept = [n for n in opt if n not in lost]
        if lost:
            _log.warning(
                "%s track, %s: %s left out (failed runs)",
                study.track,
                study.name,
                ", ".join(sorted(lost)),
            )
        if kept:
            results.append(
                _collect_study(config, table, study, budget, backends, kept, files, reader)
            )
    surrogates = {
        f"{s.track}/{s.name}/{label}": str(path) for s in studies for label, path, _ in s.surrogates
    }
    return FidelityResult(
        config,
        str(table),
        results,
        surrogates,
        timing={
            "total_seconds": round(time.perf_counter() - t_start, 2),
            "run_seconds": round(run_seconds, 2),
            "runs_computed": len(jobs) - len(failed),
            "runs_failed": len(failed),
            "runs_total": sum(len(p[4]) for p in plan),
        },
        failed_runs=failed,
    )


def _library(name: str) -> str:
    """The library and version of an external optimizer, for its run files' names: a new
    version of the library computes new runs."""
    if not is_external(name):
        return ""
    cls = resolve_optimizer(name)
    return f"-{cls.distribution}{cls.version()}"


def _grid(budget: float, unit: float) -> np.ndarray:
    """Log-spaced budgets from ``max(unit, budget / 100)`` to ``budget``."""
    lo = min(max(unit, budget / 100), budget)
    return np.geomspace(lo, budget, GRID_POINTS)


def _collect_study(
    config: FidelityConfig,
    table: Path,
    study: StudyPlan,
    budget: float,
    backends: list,
    opt: list[str],
    files: dict,
    reader,
) -> StudyResult:
    unit = budget / float(config.budget)  # one full training in track units
    grid = _grid(budget, unit)
    rank_at = [int(np.argmin(np.abs(grid - f * budget))) for f in RANK_AT]
    table_bench = reader("table", str(table), study.track)
    objective = resolve_track(study.track).objective
    truth = np.full(len(table_bench.space), np.nan)
    truth[study.cells] = table_bench.query_batch(study.cells, 108)[objective]
    table_bench.reset_budget_counters()
    curves, true_curves, final_cells = {}, {}, {}
    visited: dict[str, list[np.ndarray]] = {}
    for kind, label, _, _ in backends:
        curves[label], final_cells[label] = {}, {}
        for n in opt:
            vals, trues, finals = [], [], []
            for seed in range(config.seeds):
                r = load_run(files[(label, n, seed)])
                v, c = r.curve(grid)
                vals.append(v)
                finals.append(c[-1])
                trues.append(np.where(c >= 0, truth[np.maximum(c, 0)], np.nan))
                if kind != "table":
                    visited.setdefault(label, []).append(r.cells)
            curves[label][n] = np.array(vals)
            final_cells[label][n] = np.array(finals, dtype=np.int64)
            if kind != "table":
                true_curves.setdefault(label, {})[n] = np.array(trues)
    draws = {
        label: [draw_label(label, k) for k in noise_seeds(config)]
        for label, _, _ in study.surrogates
    }
    share, protocol = {}, {}
    for label, path, proto in study.surrogates:
        mask = _training_mask(path, track_targets(study.track))
        cells = np.unique(np.concatenate([c for d in draws[label] for c in visited[d]]))
        share[label] = None if mask is None else float(mask[cells].mean())
        if proto in ("in-sample", "out-of-sample"):
            protocol[label] = proto
        elif share[label] is None:
            protocol[label] = "unknown"
        else:
            protocol[label] = "in-sample" if share[label] >= IN_SAMPLE_SHARE else "out-of-sample"
    landscape, top = (
        _landscape(config, table, study, truth, draws, reader) if config.landscape else ({}, {})
    )
    return StudyResult(
        study.track,
        study.name,
        study.protocol,
        len(study.cells),
        budget,
        unit,
        grid,
        rank_at,
        opt,
        curves,
        true_curves,
        draws,
        protocol,
        share,
        landscape,
        final_cells,
        top,
    )


def _training_mask(path: Path, targets: Sequence[str]) -> np.ndarray | None:
    """Cells in the training set of any of ``targets`` (None if the artifact has no record)."""
    from surrogate.artifact import load_artifact

    artifact = load_artifact(path)
    masks = [artifact.in_sample(t) for t in targets]
    if any(m is None for m in masks):
        return None
    return np.logical_or.reduce(masks)


def _landscape(
    config: FidelityConfig,
    table: Path,
    study: StudyPlan,
    truth: np.ndarray,
    draws: dict[str, list[str]],
    reader,
) -> tuple[dict[str, dict], dict[str, dict]]:
    """The landscape statistics and those of its top (:mod:`eval.top_structure`) of the
    table and of every draw, on the same sample of start cells and walks."""
    from ..landscape import landscape_sample, landscape_stats
    from ..top_structure import top_structure_stats

    table_bench = reader("table", str(table), study.track)
    track = make_track(study.track, table_bench, cells=study.cells)
    sample = landscape_sample(study.cells, track.neighbours, seed=0)
    out = {"table": landscape_stats(sample, truth, track.neighbours, n_boot=config.n_boot)}
    top = {"table": top_structure_stats(sample, truth, track.neighbours, n_boot=config.n_boot)}
    objective = resolve_track(study.track).objective
    for label, path, _ in study.surrogates:
        for k, draw in zip(noise_seeds(config), draws[label]):
            bench = reader(
                "surrogate",
                str(path),
                study.track,
                config.noise,
                int(config.surrogate_repeats),
                k,
                study.cells,
            )
            values = np.full(len(truth), np.nan)
            values[study.cells] = bench.query_batch(study.cells, 108)[objective]
            bench.reset_budget_counters()
            out[draw] = landscape_stats(sample, values, track.neighbours, n_boot=config.n_boot)
            top[draw] = top_structure_stats(sample, values, track.neighbours, n_boot=config.n_boot)
    return out, top
