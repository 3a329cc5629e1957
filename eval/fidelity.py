"""Algorithm-ranking fidelity: do optimizers behave and rank the same on a surrogate as on the
table, on cells whose labels the surrogate never saw?

A surrogate is used where it has no labels, so that is where it must be faithful. The study
runs every optimizer for N seeds on the table and on surrogates, on each track
(:mod:`eval.tracks`), collects the raw results into a :class:`FidelityResult` and hands it to
:mod:`eval.report`, which computes every statistic with intervals and renders the report.

Protocols (``--protocol``)
--------------------------
``out-of-sample`` (default)
    *Multi-fidelity track*: the covered cells are split into ``folds`` folds (a permutation
    seeded by ``--split-seeds``, 0 by default; several seeds repeat the protocol on several
    splits in one report, since one split certifies little); for each
    fold a surrogate is trained with the default recipe (:data:`surrogate.train.
    DEFAULT_RECIPE`) on the other folds only (``TrainConfig.exclude_cells``: every label of
    a held-out cell is hidden, its exhaustive test accuracy too, since for many cells that is
    the run of its validation label: ``benchmarks/bench_same_run.py``), and the table and
    the surrogate both run on the held-out fold. Every statistic is reported per fold and
    over folds. *Full track*: surrogates trained on 10 % and 1 % of the exhaustive table;
    the report gives, per surrogate, the share of the cells the optimizers visited that were
    in its training set.
``in-sample``
    The multi-fidelity surrogate is trained on all covered cells and runs on them; the full
    track's surrogate is trained on all cells (the trainer's 90 % split).
``both``
    Both, side by side in one report.

Explicit ``--surrogate`` artifacts replace the trained ones: they run on every covered cell
of ``--table`` (any table, any artifact) and their training share is reported when the
artifact records its training cells.

Each surrogate runs as ``realizations`` draws of its simulated runs (``noise_seed`` 0, 1,
...; ``--first-noise-seed`` replicates a study with fresh draws): the table holds one draw of
the training noise, so a surrogate is judged by the mean of its draws (and by whether the
table is a plausible further draw). The statistics, their bootstrap intervals over seeds and
the landscape comparison are described in :mod:`eval.report`.

Budgets: ``--budget`` is in full trainings. Full track: that many 108-epoch queries.
Multi-fidelity track: that many times the mean 108-epoch training time of the track's cells on
the table (seconds), the same for the table and the surrogate runs.

Execution: every (study, backend, optimizer, seed) run is one job, cached as
``OUT/runs/<track>/<study>/<backend>-<digest>/<optimizer>/...npz`` (atomic writes), so a
rerun computes only what is missing. Jobs run on joblib (``--n-jobs``, ``--backend`` loky or
threading) or, given ``--scheduler ADDRESS``, on a Dask cluster (``dask.distributed``).

Usage::

    python -m eval.fidelity --out fidelity_out                 # default experiment
    python -m eval.fidelity --smoke --out /tmp/fid             # a small configuration
    python -m eval.fidelity --protocol both --track multifidelity --out out
    python -m eval.fidelity --table other.npz --surrogate my_artifact --out out
    python -m eval.fidelity --scheduler tcp://10.0.0.1:8786 --out out

Outputs in ``OUT``: ``fidelity.json`` (strict JSON), ``fidelity.md``, ``curves_<track>.png``,
``ranking_<track>.png``, ``landscape_<track>.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nb101 import format_target
from nb101.io import atomic_savez, open_npz
from nb101.paths import user_path

from .errors import EvalConfigError
from .optimizers import OPTIMIZERS, RunResult, resolve_optimizer, run
from .tracks import TRACKS, covered_cells, make_track, resolve_track

__all__ = ["FidelityConfig", "FidelityResult", "StudyResult", "run_fidelity", "collect",
           "main", "SURROGATE_FRACTIONS", "SMOKE", "PROTOCOLS", "track_targets", "split_folds",
           "surrogate_recipe"]

_log = logging.getLogger(__name__)

#: Label -> ``TrainConfig.train_size`` of the full track's surrogates, and the protocol each
#: belongs to (a surrogate fitted on nearly all cells is in sample).
SURROGATE_FRACTIONS = {"all": None, "10pct": 0.1, "1pct": 0.01}
_FRACTION_PROTOCOL = {"all": "in-sample", "10pct": "out-of-sample", "1pct": "out-of-sample"}
PROTOCOLS = ("out-of-sample", "in-sample", "both")
#: Table ``require`` (visible runs) per track.
TABLE_REQUIRE = {"full": ("test_accuracy",), "multifidelity": ("validation_accuracy",)}
RUN_FORMAT = 1
GRID_POINTS = 25
#: Fractions of the budget at which rankings are compared (100, 316 and 1,000 of 1,000).
RANK_AT = (0.1, 0.316, 1.0)
#: A surrogate whose training set holds at least this share of the visited cells is
#: labelled in-sample.
IN_SAMPLE_SHARE = 0.5


def track_targets(track: str) -> tuple[str, ...]:
    """The surrogate targets a track needs: its ``requires`` as target names."""
    return tuple(format_target(metric, epochs) for metric, epochs in
                 resolve_track(track).requires)


@dataclass(frozen=True)
class FidelityConfig:
    """Settings of one fidelity study (see the module docstring).

    Parameters
    ----------
    tracks : tuple of str
    protocol : {"out-of-sample", "in-sample", "both"}
    folds : int
        Folds of the multi-fidelity track's out-of-sample protocol.
    split_seeds : tuple of int
        Seeds of the permutations that split the covered cells into folds, one split each
        (studies of a seed other than 0 are named ``"fold i/k, split s"``).
    table : path-like, optional
        Table file (default: the real-data table, converted on first use).
    surrogates : tuple of path-like
        Artifacts; empty = train the protocol's surrogates into ``out/surrogates``.
    optimizers : tuple of str, optional
        Default: all; multi-fidelity ones run on the multi-fidelity track only.
    seeds : int
    budget : float
        In full trainings (see the module docstring).
    out : path-like
    n_jobs : int
        joblib ``n_jobs`` (-1 = all cores).
    backend : str
        joblib backend name (``loky`` or ``threading``).
    scheduler : str, optional
        Address of a Dask scheduler; the runs are submitted to it instead of joblib.
    surrogate_recipe : dict, optional
        ``TrainConfig`` fields of trained surrogates (default
        :data:`surrogate.train.DEFAULT_RECIPE`).
    surrogate_fractions : dict
        Label -> ``train_size`` of the full track's surrogates.
    noise : bool
        Surrogate queries answer with simulated runs (True) or the predicted mean.
    surrogate_repeats : int
        Simulated runs per cell (``SurrogateBenchmark(num_repeats=...)``); 1 mirrors the real
        table, which holds one run per cell and budget.
    realizations : int
        Draws of every surrogate's simulated runs (``noise_seed`` ``first_noise_seed`` to
        ``first_noise_seed + realizations - 1``).
    first_noise_seed : int
        ``noise_seed`` of the first draw; another value than 0 replicates a study with fresh
        draws (the table's runs and the trained surrogates are reused from the cache).
    landscape : bool
        Compare the landscapes (:mod:`eval.landscape`).
    n_boot : int
        Bootstrap resamples of every interval.
    progress : bool
    """

    tracks: tuple[str, ...] = ("full", "multifidelity")
    protocol: str = "out-of-sample"
    folds: int = 3
    split_seeds: tuple[int, ...] = (0,)
    table: str | os.PathLike | None = None
    surrogates: tuple[str | os.PathLike, ...] = ()
    optimizers: tuple[str, ...] | None = None
    seeds: int = 20
    budget: float = 1000.0
    out: str | os.PathLike = "fidelity_out"
    n_jobs: int = -1
    backend: str = "loky"
    scheduler: str | None = None
    surrogate_recipe: dict | None = None
    surrogate_fractions: dict = field(default_factory=lambda: dict(SURROGATE_FRACTIONS))
    noise: bool = True
    surrogate_repeats: int = 1
    realizations: int = 5
    first_noise_seed: int = 0
    landscape: bool = True
    n_boot: int = 1000
    progress: bool = False


#: The ``--smoke`` settings: small surrogates, few seeds, a short budget.
SMOKE = dict(seeds=3, budget=15.0, folds=2, realizations=2, n_boot=100,
             surrogate_fractions={"1pct": 0.01},
             surrogate_recipe={"model_params": {"n_estimators": 20, "max_depth": 4}})


# ------------------------------------------------------------------------- the result
@dataclass
class StudyResult:
    """The raw results of one study: one track on one cell set, the table and surrogates.

    Attributes
    ----------
    track, name, protocol : str
        ``name`` is e.g. ``"fold 1/3"`` or ``"all cells"``; ``protocol`` is
        ``"out-of-sample"``, ``"in-sample"`` or ``"given"`` (explicit artifacts).
    cells : int
        Number of cells the optimizers run on.
    budget, unit : float
        The budget in track units and one full training in track units.
    grid : ndarray
        Log-spaced budgets (track units) of the curves.
    rank_at : list of int
        Grid indices where rankings are compared (:data:`RANK_AT`).
    optimizers : list of str
    curves : dict
        backend label -> optimizer -> incumbent values, array (seeds, grid). The table is
        ``"table"``; surrogate draws are ``draws[surrogate][k]``.
    true_curves : dict
        surrogate draw label -> optimizer -> the table's value of the incumbent cells.
    draws : dict
        surrogate label -> labels of its realizations (draw 0 first).
    surrogate_protocol : dict
        surrogate label -> ``"in-sample"``, ``"out-of-sample"`` or ``"unknown"``.
    training_share : dict
        surrogate label -> share of the cells visited by its runs that were in its training
        set (None when the artifact does not record it).
    landscape : dict
        ``{"table": stats, "<draw label>": stats}`` (:func:`eval.landscape.landscape_stats`).
    final_cells : dict
        backend label -> optimizer -> the incumbent cell of each seed at the final budget
        (-1 if none): where the seeds end shows how many cells a final value rests on.
    """

    track: str
    name: str
    protocol: str
    cells: int
    budget: float
    unit: float
    grid: np.ndarray
    rank_at: list[int]
    optimizers: list[str]
    curves: dict[str, dict[str, np.ndarray]]
    true_curves: dict[str, dict[str, np.ndarray]]
    draws: dict[str, list[str]]
    surrogate_protocol: dict[str, str]
    training_share: dict[str, float | None]
    landscape: dict[str, dict] = field(default_factory=dict)
    final_cells: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


@dataclass
class FidelityResult:
    """Everything a study collected: the config, the table and one :class:`StudyResult` per
    (track, study); :func:`eval.report.build_report` turns it into statistics."""

    config: FidelityConfig
    table: str
    studies: list[StudyResult]
    surrogates: dict[str, str]
    timing: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Study:
    track: str
    name: str
    protocol: str
    cells: np.ndarray
    surrogates: tuple[tuple[str, Path, str], ...]   # (label, artifact, protocol)

    @property
    def slug(self) -> str:
        digest = hashlib.sha1(np.ascontiguousarray(self.cells, dtype=np.int64)).hexdigest()
        return f"{self.name.replace(',', '').replace(' ', '_').replace('/', 'of')}-{digest[:8]}"


# ------------------------------------------------------------------------- validation
def _validate(config: FidelityConfig) -> tuple[list[str], list[str]]:
    tracks = list(dict.fromkeys(config.tracks))
    if not tracks:
        raise EvalConfigError(f"tracks: got none; choices: {sorted(TRACKS)}")
    for t in tracks:
        resolve_track(t)
    names = list(config.optimizers) if config.optimizers else list(OPTIMIZERS)
    if not names:
        raise EvalConfigError(f"optimizers: got none; choices: {sorted(OPTIMIZERS)}")
    for n in names:
        resolve_optimizer(n)
    for name in ("seeds", "realizations", "folds", "n_boot"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise EvalConfigError(f"{name} must be a positive integer, got {value!r}")
    first = config.first_noise_seed
    if isinstance(first, bool) or not isinstance(first, (int, np.integer)) or first < 0:
        raise EvalConfigError(f"first_noise_seed must be a non-negative integer, got {first!r}")
    seeds = tuple(config.split_seeds) if isinstance(config.split_seeds, (tuple, list)) else ()
    if not seeds or len(set(seeds)) != len(seeds) or any(
            isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0 for x in seeds):
        raise EvalConfigError(f"split_seeds must be distinct non-negative integers, got "
                              f"{config.split_seeds!r}")
    if config.folds < 2 and config.protocol != "in-sample" and not config.surrogates:
        raise EvalConfigError(f"folds must be at least 2 for the out-of-sample protocol, got "
                              f"{config.folds}")
    if config.protocol not in PROTOCOLS:
        raise EvalConfigError(f"unknown protocol {config.protocol!r}; choices: "
                              f"{list(PROTOCOLS)}")
    try:
        budget = float(config.budget)
    except (TypeError, ValueError):
        raise EvalConfigError(f"budget must be a positive number, got {config.budget!r}")
    if not budget > 0 or not np.isfinite(budget):
        raise EvalConfigError(f"budget must be a positive number of full trainings, got "
                              f"{config.budget!r}")
    if config.n_jobs == 0:
        raise EvalConfigError("n_jobs must be a non-zero integer (-1 = all cores), got 0")
    if int(config.surrogate_repeats) < 1:
        raise EvalConfigError(f"surrogate_repeats must be a positive integer, got "
                              f"{config.surrogate_repeats!r}")
    if not any(not OPTIMIZERS[n].multi_fidelity or "multifidelity" in tracks for n in names):
        raise EvalConfigError(f"optimizers {names} only run on the multifidelity track, "
                              f"which is not among tracks {tracks}")
    return tracks, names


def _resolve_table(config: FidelityConfig) -> Path:
    if config.table is not None:
        path = user_path(config.table)
        if not path.exists():
            raise EvalConfigError(f"table: {path} does not exist")
        return path
    from nb101 import real_table
    try:
        return real_table()
    except FileNotFoundError as exc:
        raise EvalConfigError(f"table: no --table given, and {exc}") from exc


def _check_surrogate(path: Path, tracks: Sequence[str]) -> None:
    from surrogate.artifact import read_metadata
    try:
        meta = read_metadata(path)
    except (OSError, ValueError) as exc:
        raise EvalConfigError(f"surrogate: {path} is not a surrogate artifact ({exc})") from exc
    targets = set(meta.get("targets") or [])
    for t in tracks:
        missing = [x for x in track_targets(t) if x not in targets]
        if missing:
            raise EvalConfigError(
                f"surrogate: artifact {path} was trained for {sorted(targets)}; track {t!r} "
                f"needs {list(track_targets(t))} (missing {missing})")


# ----------------------------------------------------------------------- digests / IO
def _digest(path: Path) -> str:
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        h.update(str(p.relative_to(path) if path.is_dir() else p.name).encode())
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def _save_run(path: Path, result: RunResult, meta: dict) -> None:
    atomic_savez(path, meta=np.array(json.dumps(meta)), **result.to_arrays())


def _load_run(path: Path) -> RunResult:
    with open_npz(path) as data:
        return RunResult.from_arrays({k: data[k] for k in data.files})


# ------------------------------------------------------------------------ worker side
_BACKENDS: dict[int, OrderedDict] = {}   # per thread: the backends it used last
_LOCK = threading.Lock()
#: Backends a worker thread keeps loaded. Jobs come grouped by backend, so one or two are
#: enough, and a bounded cache keeps the worker's memory flat (loky restarts a worker whose
#: memory grew, and every restart reloads its backends).
_KEEP_BACKENDS = 2


def _backend(kind: str, path: str, track: str, noise: bool = True, repeats: int = 1,
             noise_seed: int = 0, cells: np.ndarray | None = None):
    """The backend of a job, reused across the jobs of one worker thread."""
    key = (kind, path, track, noise, repeats, noise_seed)
    with _LOCK:
        cache = _BACKENDS.setdefault(threading.get_ident(), OrderedDict())
    hit = cache.get(key)
    if hit is None:
        if kind == "table":
            from nb101.tabular_benchmark import TabularBenchmark
            hit = TabularBenchmark(path, seed=0, require=TABLE_REQUIRE[track])
        else:
            from surrogate.surrogate_benchmark import SurrogateBenchmark
            # the full track needs the whole space, the multi-fidelity track its cells only
            hit = SurrogateBenchmark(path, seed=0, noise=noise, num_repeats=repeats,
                                     noise_seed=noise_seed, full_cache=track == "full",
                                     require_targets=track_targets(track))
        cache[key] = hit
    cache.move_to_end(key)
    while len(cache) > _KEEP_BACKENDS:
        cache.popitem(last=False)
    if kind != "table" and cells is not None and track != "full":
        hit.prefetch(cells, track_targets(track))  # fill the prediction cache at once
    return hit


def _job(job: dict) -> dict:
    """Run one (study, backend, optimizer, seed) and write its cache file."""
    started = time.perf_counter()
    cells = np.asarray(job["cells"], dtype=np.int64)
    backend = _backend(job["kind"], job["path"], job["track"], job["noise"], job["repeats"],
                       job["noise_seed"], cells)
    backend.reseed(job["seed"])
    backend.reset_budget_counters()
    track = make_track(job["track"], backend, cells=cells)
    result = run(resolve_optimizer(job["optimizer"])(), track, job["budget"], job["seed"])
    seconds = time.perf_counter() - started
    _save_run(Path(job["file"]), result,
              {k: job[k] for k in ("track", "kind", "label", "optimizer", "seed", "budget")}
              | {"seconds": seconds})
    return {"file": job["file"], "seconds": seconds, "queries": len(result.cells)}


# --------------------------------------------------------------------------- driver
def surrogate_recipe(config: FidelityConfig, table: Path) -> dict:
    """The ``TrainConfig`` fields of the surrogates the study trains on ``table``: the bundled
    default's recipe updated by ``config.surrogate_recipe``. A stacking base the table lacks
    (too few ``test_accuracy@108`` labels, say) is dropped with a warning, so that the study
    runs on any table with the track's data."""
    from nb101.table_file import load_table
    from surrogate.train import DEFAULT_RECIPE, available_targets
    recipe = {**DEFAULT_RECIPE, **(config.surrogate_recipe or {})}
    base = recipe.get("stack_on")
    if base is not None and base not in available_targets(load_table(table)):
        _log.warning("table %s has too few %s labels to stack on: its surrogates are trained "
                     "without stacking", table, base)
        recipe["stack_on"] = None
    return recipe


def _train(config: FidelityConfig, recipe: dict, table: Path, out: Path, label: str,
           targets: list[str], train_size: int | float | None = None,
           exclude: np.ndarray | None = None) -> Path:
    """A surrogate of ``recipe`` (:func:`surrogate_recipe`), cached by its settings in
    ``out/surrogates``."""
    from surrogate.train import TrainConfig, train
    excluded = None if exclude is None else hashlib.sha1(
        np.ascontiguousarray(exclude, dtype=np.int64)).hexdigest()
    tag = hashlib.sha256(json.dumps([targets, train_size, recipe, _digest(table), excluded],
                                    sort_keys=True, default=str).encode()).hexdigest()[:8]
    folder = out / "surrogates" / f"{label}-{tag}"
    if not (folder / "metadata.json").exists():
        _log.info("training surrogate %s into %s", label, folder)
        train(TrainConfig(table=table, targets=targets, train_size=train_size, seed=0,
                          out=folder, progress=config.progress, exclude_cells=exclude,
                          **recipe))
    return folder


def split_folds(cells: np.ndarray, folds: int, split_seed: int = 0) -> list[np.ndarray]:
    """The out-of-sample protocol's folds: ``cells`` permuted by ``split_seed``, cut into
    ``folds`` parts of (nearly) equal size, each sorted."""
    order = np.random.default_rng(int(split_seed)).permutation(np.asarray(cells, np.int64))
    return [np.sort(f) for f in np.array_split(order, int(folds))]


def _studies(config: FidelityConfig, tracks: list[str], table: Path, out: Path,
             cells: dict[str, np.ndarray]) -> list[_Study]:
    """The (track, cell set, surrogates) units the protocol asks for."""
    protocols = ("out-of-sample", "in-sample") if config.protocol == "both" else (
        config.protocol,)
    studies = []
    recipe = None if config.surrogates else surrogate_recipe(config, table)
    for t in tracks:
        targets = list(track_targets(t))
        if config.surrogates:
            given = []
            for p in config.surrogates:
                p = user_path(p)
                if not p.exists():
                    raise EvalConfigError(f"surrogate: {p} does not exist")
                _check_surrogate(p, [t])
                given.append((p.name, p, "given"))
            studies.append(_Study(t, "all cells", "given", cells[t], tuple(given)))
            continue
        if t == "full":
            chosen = tuple(
                (label, _train(config, recipe, table, out, label, targets, size),
                 _FRACTION_PROTOCOL.get(label, "out-of-sample"))
                for label, size in config.surrogate_fractions.items()
                if _FRACTION_PROTOCOL.get(label, "out-of-sample") in protocols)
            if chosen:
                studies.append(_Study(t, "all cells", "mixed", cells[t], chosen))
            continue
        if "out-of-sample" in protocols:
            for seed in config.split_seeds:
                folds = split_folds(cells[t], config.folds, seed)
                split = f", split {seed}" if seed else ""
                for i, fold in enumerate(folds):
                    path = _train(config, recipe, table, out, f"fold{i + 1}of{len(folds)}",
                                  targets, exclude=fold)
                    studies.append(_Study(t, f"fold {i + 1}/{len(folds)}{split}",
                                          "out-of-sample", fold,
                                          (("default", path, "out-of-sample"),)))
        if "in-sample" in protocols:
            path = _train(config, recipe, table, out, "in-sample", targets)
            studies.append(_Study(t, "in-sample", "in-sample", cells[t],
                                  (("default", path, "in-sample"),)))
    return studies


def _noise_seeds(config: FidelityConfig) -> range:
    """The ``noise_seed`` of each draw of a surrogate (one draw, seed 0, without noise)."""
    if not config.noise:
        return range(1)
    return range(int(config.first_noise_seed),
                 int(config.first_noise_seed) + int(config.realizations))


def _draw_label(label: str, noise_seed: int) -> str:
    return label if noise_seed == 0 else f"{label}@noise_seed={noise_seed}"


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
    tracks, names = _validate(config)
    out = user_path(config.out)
    table = _resolve_table(config)
    cells = {t: covered_cells(t, _backend("table", str(table), t)) for t in tracks}
    out.mkdir(parents=True, exist_ok=True)
    studies = _studies(config, tracks, table, out, cells)
    answers = f"n{int(config.noise)}r{int(config.surrogate_repeats)}"
    digests: dict[Path, str] = {}

    def digest(p: Path) -> str:
        if p not in digests:
            digests[p] = _digest(p)
        return digests[p]

    jobs, plan = [], []
    for study in studies:
        budget = float(config.budget)
        if study.track == "multifidelity":
            budget *= make_track(study.track, _backend("table", str(table), study.track),
                                 cells=study.cells).mean_time108
        backends = [("table", "table", table, 0)] + [
            ("surrogate", _draw_label(label, k), path, k)
            for label, path, _ in study.surrogates for k in _noise_seeds(config)]
        opt = [n for n in names
               if not OPTIMIZERS[n].multi_fidelity or study.track == "multifidelity"]
        files = {}
        for kind, label, path, noise_seed in backends:
            tag = digest(path) if kind == "table" else (
                f"{digest(path)}-{answers}" + (f"s{noise_seed}" if noise_seed else ""))
            for name in opt:
                for seed in range(config.seeds):
                    f = (out / "runs" / study.track / study.slug / f"{label}-{tag}" / name
                         / f"v{RUN_FORMAT}-b{budget:.6g}-s{seed}.npz")
                    files[(label, name, seed)] = f
                    if not f.exists():
                        jobs.append(dict(track=study.track, kind=kind, label=label,
                                         path=str(path), cells=study.cells, optimizer=name,
                                         seed=seed, budget=budget, file=str(f),
                                         noise=config.noise,
                                         repeats=int(config.surrogate_repeats),
                                         noise_seed=noise_seed))
        plan.append((study, budget, backends, opt, files))
    t_runs = time.perf_counter()
    if jobs:
        _execute(jobs, config)
    run_seconds = time.perf_counter() - t_runs
    from tqdm.auto import tqdm
    # reading the runs back and measuring the landscapes takes minutes on a large study
    results = [_collect_study(config, table, study, budget, backends, opt, files)
               for study, budget, backends, opt, files in tqdm(
                   plan, desc="fidelity studies", unit="study", disable=not config.progress)]
    surrogates = {f"{s.track}/{s.name}/{label}": str(path)
                  for s in studies for label, path, _ in s.surrogates}
    return FidelityResult(config, str(table), results, surrogates, timing={
        "total_seconds": round(time.perf_counter() - t_start, 2),
        "run_seconds": round(run_seconds, 2), "runs_computed": len(jobs),
        "runs_total": sum(len(p[4]) for p in plan)})


def _grid(budget: float, unit: float) -> np.ndarray:
    """Log-spaced budgets from ``max(unit, budget / 100)`` to ``budget``."""
    lo = min(max(unit, budget / 100), budget)
    return np.geomspace(lo, budget, GRID_POINTS)


def _collect_study(config: FidelityConfig, table: Path, study: _Study, budget: float,
                   backends: list, opt: list[str], files: dict) -> StudyResult:
    unit = budget / float(config.budget)  # one full training in track units
    grid = _grid(budget, unit)
    rank_at = [int(np.argmin(np.abs(grid - f * budget))) for f in RANK_AT]
    table_bench = _backend("table", str(table), study.track)
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
                r = _load_run(files[(label, n, seed)])
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
    draws = {label: [_draw_label(label, k) for k in _noise_seeds(config)]
             for label, _, _ in study.surrogates}
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
            protocol[label] = "in-sample" if share[label] >= IN_SAMPLE_SHARE else \
                "out-of-sample"
    landscape = _landscape(config, table, study, truth, draws) if config.landscape else {}
    return StudyResult(study.track, study.name, study.protocol, len(study.cells), budget,
                       unit, grid, rank_at, opt, curves, true_curves, draws, protocol, share,
                       landscape, final_cells)


def _training_mask(path: Path, targets: Sequence[str]) -> np.ndarray | None:
    """Cells in the training set of any of ``targets`` (None if the artifact has no record)."""
    from surrogate.artifact import load_artifact
    artifact = load_artifact(path)
    masks = [artifact.in_sample(t) for t in targets]
    if any(m is None for m in masks):
        return None
    return np.logical_or.reduce(masks)


def _landscape(config: FidelityConfig, table: Path, study: _Study, truth: np.ndarray,
               draws: dict[str, list[str]]) -> dict[str, dict]:
    from .landscape import landscape_sample, landscape_stats
    table_bench = _backend("table", str(table), study.track)
    track = make_track(study.track, table_bench, cells=study.cells)
    sample = landscape_sample(study.cells, track.neighbours, seed=0)
    out = {"table": landscape_stats(sample, truth, track.neighbours, n_boot=config.n_boot)}
    objective = resolve_track(study.track).objective
    for label, path, _ in study.surrogates:
        for k, draw in zip(_noise_seeds(config), draws[label]):
            bench = _backend("surrogate", str(path), study.track, config.noise,
                             int(config.surrogate_repeats), k, study.cells)
            values = np.full(len(truth), np.nan)
            values[study.cells] = bench.query_batch(study.cells, 108)[objective]
            bench.reset_budget_counters()
            out[draw] = landscape_stats(sample, values, track.neighbours, n_boot=config.n_boot)
    return out


def _execute(jobs: list[dict], config: FidelityConfig) -> None:
    # grouped by backend, so a worker loads each backend once; longest jobs first within a
    # group for better packing
    order = {"bananas": 0, "bohb": 1, "reinforce": 2, "local": 3, "evolution": 4}
    jobs = sorted(jobs, key=lambda j: (j["track"], j["kind"] != "table", j["label"], j["path"],
                                       order.get(j["optimizer"], 9), j["seed"]))
    from tqdm.auto import tqdm
    with tqdm(total=len(jobs), desc="fidelity runs", unit="run",
              disable=not config.progress) as bar:
        if config.scheduler:
            from dask.distributed import Client, as_completed
            with Client(config.scheduler) as client:
                futures = client.map(_job, jobs, pure=False)
                for future in as_completed(futures):
                    future.result()  # re-raise a failed run here
                    bar.update(1)
            return
        from joblib import Parallel, delayed
        parallel = Parallel(n_jobs=config.n_jobs, backend=config.backend,
                            return_as="generator_unordered")
        for _ in parallel(delayed(_job)(j) for j in jobs):
            bar.update(1)


# ------------------------------------------------------------------------------ CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval.fidelity",
        description="Algorithm-ranking fidelity: optimizers on the table and on surrogates, "
                    "on cells the surrogates never saw (see the module docstring).")
    p.add_argument("--track", default="both",
                   help="full, multifidelity or both (default: both)")
    p.add_argument("--protocol", default="out-of-sample", choices=PROTOCOLS,
                   help="out-of-sample (default), in-sample, or both side by side")
    p.add_argument("--folds", type=int, default=3,
                   help="folds of the out-of-sample multi-fidelity study (default 3)")
    p.add_argument("--split-seeds", type=int, nargs="+", default=[0], metavar="SEED",
                   help="seeds of the splits into folds (default 0); several seeds repeat "
                        "the out-of-sample study on several splits, summarised together")
    p.add_argument("--table", default=None, help="table file (default: the real-data table)")
    p.add_argument("--surrogate", nargs="+", default=(), metavar="ARTIFACT",
                   help="surrogate artifact folder(s) to evaluate instead of trained ones")
    p.add_argument("--optimizers", nargs="+", default=None,
                   help=f"subset of {sorted(OPTIMIZERS)} (default: all)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per optimizer (default 20)")
    p.add_argument("--budget", type=float, default=None,
                   help="budget in full trainings (default 1000)")
    p.add_argument("--out", default="fidelity_out", help="output folder")
    p.add_argument("--n-jobs", type=int, default=-1, help="joblib n_jobs (default -1)")
    p.add_argument("--backend", default="loky", help="joblib backend (default loky)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address: submit the runs to that cluster")
    p.add_argument("--no-noise", action="store_true", help="surrogates return means")
    p.add_argument("--surrogate-repeats", type=int, default=1,
                   help="simulated runs per cell of the surrogates (1 = like the real table)")
    p.add_argument("--realizations", type=int, default=None,
                   help="draws of every surrogate's simulated runs (default 5)")
    p.add_argument("--first-noise-seed", type=int, default=0, metavar="SEED",
                   help="noise_seed of the first draw (default 0); another value replicates "
                        "the study with fresh draws")
    p.add_argument("--no-landscape", action="store_true", help="skip the landscape statistics")
    p.add_argument("--smoke", action="store_true", help="a small, quick configuration")
    p.add_argument("--no-progress", action="store_true")
    return p


def config_from_args(argv: Sequence[str] | None = None) -> FidelityConfig:
    """Parse command-line arguments into a :class:`FidelityConfig`."""
    args = _parser().parse_args(argv)
    if args.track == "both":
        tracks = ("full", "multifidelity")
    else:
        resolve_track(args.track)
        tracks = (args.track,)
    kw: dict[str, Any] = dict(SMOKE) if args.smoke else {}
    for name in ("seeds", "budget", "realizations"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    if not args.smoke or args.folds != 3:
        kw["folds"] = args.folds
    return FidelityConfig(tracks=tracks, protocol=args.protocol, table=args.table,
                          split_seeds=tuple(args.split_seeds),
                          surrogates=tuple(args.surrogate),
                          optimizers=tuple(args.optimizers) if args.optimizers else None,
                          out=args.out, n_jobs=args.n_jobs, backend=args.backend,
                          scheduler=args.scheduler, noise=not args.no_noise,
                          surrogate_repeats=args.surrogate_repeats,
                          first_noise_seed=args.first_noise_seed, landscape=not args.no_landscape,
                          progress=not args.no_progress, **kw)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        config = config_from_args(argv)
        report = run_fidelity(config)
    except EvalConfigError as exc:
        print(f"python -m eval.fidelity: error: {exc}", file=sys.stderr)
        return 2
    out = user_path(config.out)
    print(f"wrote {out / 'fidelity.md'} and {out / 'fidelity.json'} "
          f"in {report['timing']['total_seconds']:.1f} s")
    print(report["verdict"])
    return 0


if __name__ == "__main__":
    # run the importable module's copy so that joblib workers pickle jobs by reference
    from eval.fidelity import main as _main
    raise SystemExit(_main())
