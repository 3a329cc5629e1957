"""Algorithm-ranking fidelity: do optimizers rank the same on a surrogate as on the table?

Runs every optimizer for N seeds on the table and on each surrogate, on each track
(:mod:`eval.tracks`), and compares them (:mod:`eval.stats`):

* anytime incumbent curves on every backend, plus, for surrogate runs, the incumbent's TRUE
  value (the table's objective of the surrogate's incumbent cell);
* per optimizer, the mean absolute gap between the surrogate and table curves on a log-spaced
  budget grid (observed and true);
* at several budgets, Kendall tau between the optimizer rankings (seed means) on the two
  backends and the share of optimizer pairs whose Mann-Whitney verdict (alpha 0.05) agrees,
  among the pairs significant on either backend;
* reference 1, seed noise: the same between two disjoint halves of the seeds on the table;
* reference 2, run-noise realizations: the same between the first surrogate holding
  ``realizations`` different draws of its simulated runs (``noise_seed`` 0, 1, ...), over the
  same optimizer seeds, averaged over all pairs of draws. The table is ONE realization of run
  noise (one training run per cell), so optimizers that differ by less than what a new draw
  of the runs changes cannot be ranked alike by any backend; reference 1 does not see this
  source of variance;
* for the same reason, every draw of the first surrogate against the table, and their mean:
  the surrogate's fidelity without the luck of one draw.

Surrogates: ``--surrogate PATH ...`` artifacts, or (default) three XGBoost surrogates trained
with :func:`surrogate.train.train` on the whole table (the trainer's default split: 90 % train,
10 % test), on 10 % and on 1 % of it, cached in ``OUT/surrogates``.

Budgets: ``--budget`` is in full trainings. Full track: that many 108-epoch queries.
Multi-fidelity track: that many times the mean 108-epoch training time of the track's cells on
the table (seconds), the same for the table and the surrogate runs.

Runs are cached in ``OUT/runs/<track>/<backend digest>/<optimizer>/`` keyed by budget and
seed (atomic writes): a rerun only computes what is missing. Every (backend, optimizer, seed)
run is one joblib job; ``--backend`` is joblib's backend name (``loky`` default,
``threading``; ``dask`` or ``ray`` after registering them, e.g. ``from joblib import
parallel_config; from dask.distributed import Client; client = Client(...)``, then run
:func:`run_fidelity` inside ``with parallel_config(backend="dask"):`` or pass
``backend="dask"``).

Usage::

    python -m eval.fidelity --out fidelity_out                 # default experiment
    python -m eval.fidelity --smoke --out /tmp/fid             # seconds
    python -m eval.fidelity --track multifidelity --optimizers random evolution \\
        --seeds 10 --budget 300 --surrogate my_artifact --out out

Outputs in ``OUT``: ``fidelity.json``, ``fidelity.md``, ``curves_<track>.png``,
``ranking_<track>.png``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import EvalConfigError
from .optimizers import OPTIMIZERS, RunResult, resolve_optimizer, run
from .tracks import TRACKS, covered_cells, make_track, resolve_track

__all__ = ["FidelityConfig", "run_fidelity", "main", "SURROGATE_FRACTIONS", "SMOKE"]

_log = logging.getLogger(__name__)

#: Label -> ``TrainConfig.train_size`` of the default surrogates.
SURROGATE_FRACTIONS = {"all": None, "10pct": 0.1, "1pct": 0.01}
#: Training targets each track needs from a surrogate.
TRACK_TARGETS = {
    "full": ("test_accuracy@108",),
    "multifidelity": ("validation_accuracy@4", "validation_accuracy@12",
                      "validation_accuracy@36", "validation_accuracy@108",
                      "training_time@108"),
}
#: Table ``require`` (visible runs) per track.
TABLE_REQUIRE = {"full": ("test_accuracy",), "multifidelity": ("validation_accuracy",)}
RUN_FORMAT = 1
#: Label of the first surrogate's extra run-noise realizations (reference 2).
REALIZATION_LABEL = "{label}@noise_seed={noise_seed}"
GRID_POINTS = 25
#: Fractions of the budget at which rankings are compared.
RANK_AT = (0.1, 0.3, 1.0)


@dataclass(frozen=True)
class FidelityConfig:
    """Settings of one fidelity study (see the module docstring).

    Parameters
    ----------
    tracks : tuple of str
    table : path-like, optional
        Table file (default: the real-data table, converted on first use).
    surrogates : tuple of path-like
        Artifacts; empty = train the default three into ``out/surrogates``.
    optimizers : tuple of str, optional
        Default: all; multi-fidelity ones run on the multi-fidelity track only.
    seeds : int
    budget : float
        In full trainings (see the module docstring).
    out : path-like
    n_jobs : int
        joblib ``n_jobs`` (-1 = all cores).
    backend : str
        joblib backend name.
    surrogate_model, surrogate_params : regressor name and parameters of trained surrogates.
    surrogate_fractions : dict label -> train_size of trained surrogates.
    noise : bool
        Surrogate queries answer with simulated runs (True) or return the mean.
    surrogate_repeats : int
        Simulated runs per cell of the surrogates (``SurrogateBenchmark(num_repeats=...)``).
        The default 1 mirrors the real table, which holds one run per cell and budget (so a
        re-queried cell gives the same value on both backends); use 3 against an official
        full table.
    realizations : int
        Draws of the first surrogate's simulated runs (``noise_seed`` 0 to
        ``realizations - 1``) for reference 2; 1 skips it, as does ``noise=False``.
    progress : bool
        tqdm progress bars.
    """

    tracks: tuple[str, ...] = ("full", "multifidelity")
    table: str | os.PathLike | None = None
    surrogates: tuple[str | os.PathLike, ...] = ()
    optimizers: tuple[str, ...] | None = None
    seeds: int = 20
    budget: float = 1000.0
    out: str | os.PathLike = "fidelity_out"
    n_jobs: int = -1
    backend: str = "loky"
    surrogate_model: str = "xgb"
    surrogate_params: dict = field(default_factory=dict)
    surrogate_fractions: dict = field(default_factory=lambda: dict(SURROGATE_FRACTIONS))
    noise: bool = True
    surrogate_repeats: int = 1
    realizations: int = 3
    progress: bool = False


#: The ``--smoke`` settings: a few seconds once the surrogate is cached.
SMOKE = dict(seeds=3, budget=15.0, surrogate_fractions={"1pct": 0.01},
             surrogate_params={"n_estimators": 20, "max_depth": 4})


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
    if isinstance(config.seeds, bool) or not isinstance(config.seeds, (int, np.integer)) \
            or config.seeds < 1:
        raise EvalConfigError(f"seeds must be a positive integer, got {config.seeds!r}")
    try:
        budget = float(config.budget)
    except (TypeError, ValueError):
        raise EvalConfigError(f"budget must be a positive number, got {config.budget!r}")
    if not budget > 0 or not np.isfinite(budget):
        raise EvalConfigError(f"budget must be a positive number of full trainings, got "
                              f"{config.budget!r}")
    if config.n_jobs == 0:
        raise EvalConfigError("n_jobs must be a non-zero integer (-1 = all cores), got 0")
    if isinstance(config.realizations, bool) or not isinstance(
            config.realizations, (int, np.integer)) or config.realizations < 1:
        raise EvalConfigError(f"realizations must be a positive integer (1 = no reference "
                              f"2), got {config.realizations!r}")
    if int(config.surrogate_repeats) < 1:
        raise EvalConfigError(f"surrogate_repeats must be a positive integer, got "
                              f"{config.surrogate_repeats!r}")
    if not any(not OPTIMIZERS[n].multi_fidelity or "multifidelity" in tracks for n in names):
        raise EvalConfigError(f"optimizers {names} only run on the multifidelity track, "
                              f"which is not among tracks {tracks}")
    return tracks, names


def _resolve_table(config: FidelityConfig) -> Path:
    if config.table is not None:
        path = Path(config.table)
        if not path.exists():
            raise EvalConfigError(f"table: {path} does not exist")
        return path
    from nb101.real_data import convert_real_data, default_real_table_path
    path = default_real_table_path()
    if not path.exists():
        convert_real_data(None, path)
    return path


def _check_surrogate(path: Path, tracks: Sequence[str]) -> None:
    from surrogate.artifact import read_metadata
    try:
        meta = read_metadata(path)
    except (OSError, ValueError) as exc:
        raise EvalConfigError(f"surrogate: {path} is not a surrogate artifact ({exc})") from exc
    targets = set(meta.get("targets") or meta.get("models") or [])
    for t in tracks:
        missing = [x for x in TRACK_TARGETS[t] if x not in targets]
        if missing:
            raise EvalConfigError(
                f"surrogate: artifact {path} was trained for {sorted(targets)}; track {t!r} "
                f"needs {list(TRACK_TARGETS[t])} (missing {missing})")


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
    from nb101._io import atomic_savez
    atomic_savez(path, meta=np.array(json.dumps(meta)), **result.to_arrays())


def _load_run(path: Path) -> RunResult:
    with np.load(path, allow_pickle=False) as data:
        return RunResult.from_arrays({k: data[k] for k in data.files})


# ------------------------------------------------------------------------ worker side
_BACKENDS: dict[int, OrderedDict] = {}   # per thread: the backends it used last
_CELLS: dict[tuple, np.ndarray] = {}
_LOCK = threading.Lock()
#: Backends a worker thread keeps loaded. Jobs come grouped by backend, so one or two are
#: enough, and a bounded cache keeps the worker's memory flat (loky restarts a worker whose
#: memory grew by 300 MB, and every restart reloads its backends).
_KEEP_BACKENDS = 2


def _backend(kind: str, path: str, track: str, noise: bool, repeats: int, noise_seed: int = 0):
    """The backend of a job, reused across the jobs of one worker thread."""
    key = (kind, path, track, noise, repeats, noise_seed)
    with _LOCK:
        cache = _BACKENDS.setdefault(threading.get_ident(), OrderedDict())
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
        return hit
    if kind == "table":
        from nb101.table import TabularBenchmark
        hit = TabularBenchmark(path, seed=0, require=TABLE_REQUIRE[track])
    else:
        from surrogate.benchmark import SurrogateBenchmark
        # the full track needs the whole space, the multi-fidelity track its cells only
        hit = SurrogateBenchmark(path, seed=0, noise=noise, num_repeats=repeats,
                                 noise_seed=noise_seed, full_cache=track == "full",
                                 require_targets=TRACK_TARGETS[track])
        if track != "full":
            table_path = _TABLE_OF.get(path)
            if table_path is not None:
                cells = _cells(table_path, track)
                for target in TRACK_TARGETS[track]:
                    hit.predict(target, cells)  # fill the prediction cache at once
    cache[key] = hit
    while len(cache) > _KEEP_BACKENDS:
        cache.popitem(last=False)
    return hit


def _cells(table_path: str, track: str) -> np.ndarray:
    key = (table_path, track)
    with _LOCK:
        hit = _CELLS.get(key)
    if hit is None:
        hit = covered_cells(track, _backend("table", table_path, track, True, 1))
        with _LOCK:
            _CELLS[key] = hit
    return hit


_TABLE_OF: dict[str, str] = {}


def _job(job: dict) -> dict:
    """Run one (track, backend, optimizer, seed) and write its cache file."""
    started = time.perf_counter()
    _TABLE_OF[job["path"]] = job["table"]
    backend = _backend(job["kind"], job["path"], job["track"], job["noise"], job["repeats"],
                       job["noise_seed"])
    backend.reseed(job["seed"])
    backend.reset_budget_counters()
    track = make_track(job["track"], backend, cells=_cells(job["table"], job["track"]))
    result = run(resolve_optimizer(job["optimizer"])(), track, job["budget"], job["seed"])
    seconds = time.perf_counter() - started
    _save_run(Path(job["file"]), result, {k: job[k] for k in ("track", "kind", "label",
                                                              "optimizer", "seed", "budget")}
              | {"seconds": seconds})
    return {"file": job["file"], "seconds": seconds, "queries": len(result.cells)}


# --------------------------------------------------------------------------- driver
def _surrogates(config: FidelityConfig, table: Path, tracks: list[str], out: Path
                ) -> list[tuple[str, Path]]:
    if config.surrogates:
        found = []
        for p in config.surrogates:
            p = Path(p)
            if not p.exists():
                raise EvalConfigError(f"surrogate: {p} does not exist")
            _check_surrogate(p, tracks)
            found.append((p.name, p))
        return found
    from surrogate.train import TrainConfig, train
    targets = sorted({t for tr in tracks for t in TRACK_TARGETS[tr]})
    made = []
    for label, size in config.surrogate_fractions.items():
        tag = hashlib.sha256(json.dumps([targets, size, config.surrogate_model,
                                         config.surrogate_params, _digest(table)],
                                        sort_keys=True, default=str).encode()).hexdigest()[:8]
        folder = out / "surrogates" / f"{label}-{tag}"
        if not (folder / "metadata.json").exists():
            _log.info("training surrogate %s into %s", label, folder)
            tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
            train(TrainConfig(table=table, model=config.surrogate_model, targets=targets,
                              train_size=size, seed=0,
                              model_params=dict(config.surrogate_params), out=tmp,
                              progress=config.progress))
            os.replace(tmp, folder)
        made.append((label, folder))
    return made


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
    t_start = time.perf_counter()
    tracks, names = _validate(config)
    out = Path(config.out)
    table = _resolve_table(config)
    # data checks before any run
    cells: dict[str, np.ndarray] = {}
    budgets: dict[str, float] = {}
    for t in tracks:
        bench = _backend("table", str(table), t, True, 1)
        cells[t] = _cells(str(table), t)
        if t == "multifidelity":
            trk = make_track(t, bench, cells=cells[t])
            budgets[t] = float(config.budget) * trk.mean_time108
        else:
            budgets[t] = float(config.budget)
    out.mkdir(parents=True, exist_ok=True)
    surrogates = _surrogates(config, table, tracks, out)
    # (kind, label, path, noise_seed)
    backends = [("table", "table", table, 0)] + [("surrogate", label, p, 0)
                                                 for label, p in surrogates]
    if config.noise:
        label, p = surrogates[0]
        backends += [("surrogate", REALIZATION_LABEL.format(label=label, noise_seed=k), p, k)
                     for k in range(1, int(config.realizations))]
    # a surrogate's runs depend on how it simulates runs, not only on its files
    answers = f"n{int(config.noise)}r{int(config.surrogate_repeats)}"
    digests = {label: _digest(p) if kind == "table" else
               f"{_digest(p)}-{answers}" + (f"s{noise_seed}" if noise_seed else "")
               for kind, label, p, noise_seed in backends}

    jobs, files = [], {}
    for t in tracks:
        for kind, label, path, noise_seed in backends:
            for name in names:
                if OPTIMIZERS[name].multi_fidelity and t != "multifidelity":
                    continue
                for seed in range(config.seeds):
                    f = (out / "runs" / t / f"{label}-{digests[label]}" / name
                         / f"v{RUN_FORMAT}-b{budgets[t]:.6g}-s{seed}.npz")
                    files[(t, label, name, seed)] = f
                    if not f.exists():
                        jobs.append(dict(track=t, kind=kind, label=label, path=str(path),
                                         table=str(table), optimizer=name, seed=seed,
                                         budget=budgets[t], file=str(f), noise=config.noise,
                                         repeats=int(config.surrogate_repeats),
                                         noise_seed=noise_seed))
    t_runs = time.perf_counter()
    if jobs:
        _execute(jobs, config)
    run_seconds = time.perf_counter() - t_runs
    from .report import build_report
    report = build_report(config, tracks, names, backends, budgets, files, table, out)
    report["timing"] = {"total_seconds": round(time.perf_counter() - t_start, 2),
                        "run_seconds": round(run_seconds, 2), "runs_computed": len(jobs),
                        "runs_total": len(files)}
    from nb101._io import atomic_path
    with atomic_path(out / "fidelity.json") as tmp:
        tmp.write_text(json.dumps(report, indent=1, default=_json_default))
    from .report import write_markdown
    write_markdown(report, out / "fidelity.md")
    return report


def _json_default(x):
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(type(x).__name__)


def _execute(jobs: list[dict], config: FidelityConfig) -> None:
    from joblib import Parallel, delayed
    # grouped by backend, so a worker loads each backend once (loading a surrogate predicts
    # its targets for every cell the track uses: seconds), longest jobs first within a
    # group for better packing
    order = {"bananas": 0, "bohb": 1, "reinforce": 2, "local": 3, "evolution": 4}
    jobs = sorted(jobs, key=lambda j: (j["track"], j["kind"] != "table", j["label"],
                                       order.get(j["optimizer"], 9), j["seed"]))
    bar = None
    if config.progress:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), desc="fidelity runs", unit="run")
    parallel = Parallel(n_jobs=config.n_jobs, backend=config.backend,
                        return_as="generator_unordered")
    for _ in parallel(delayed(_job)(j) for j in jobs):
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()


# ------------------------------------------------------------------------------ CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval.fidelity", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--track", default="both",
                   help="full, multifidelity or both (default: both)")
    p.add_argument("--table", default=None, help="table file (default: the real-data table)")
    p.add_argument("--surrogate", nargs="+", default=(), metavar="ARTIFACT",
                   help="surrogate artifact folder(s) (default: train all/10%%/1%%)")
    p.add_argument("--optimizers", nargs="+", default=None,
                   help=f"subset of {sorted(OPTIMIZERS)} (default: all)")
    p.add_argument("--seeds", type=int, default=None, help="seeds per optimizer (default 20)")
    p.add_argument("--budget", type=float, default=None,
                   help="budget in full trainings (default 1000)")
    p.add_argument("--out", default="fidelity_out", help="output folder")
    p.add_argument("--n-jobs", type=int, default=-1, help="joblib n_jobs (default -1)")
    p.add_argument("--backend", default="loky", help="joblib backend (default loky)")
    p.add_argument("--no-noise", action="store_true", help="surrogates return means")
    p.add_argument("--surrogate-repeats", type=int, default=1,
                   help="simulated runs per cell of the surrogates (1 = like the real table)")
    p.add_argument("--realizations", type=int, default=3,
                   help="draws of the first surrogate's simulated runs for reference 2 "
                        "(default 3; 1 skips it)")
    p.add_argument("--smoke", action="store_true", help="a seconds-long configuration")
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
    if args.seeds is not None:
        kw["seeds"] = args.seeds
    if args.budget is not None:
        kw["budget"] = args.budget
    return FidelityConfig(tracks=tracks, table=args.table, surrogates=tuple(args.surrogate),
                          optimizers=tuple(args.optimizers) if args.optimizers else None,
                          out=args.out, n_jobs=args.n_jobs, backend=args.backend,
                          noise=not args.no_noise, surrogate_repeats=args.surrogate_repeats,
                          realizations=args.realizations,
                          progress=not args.no_progress, **kw)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    config = config_from_args(argv)
    report = run_fidelity(config)
    out = Path(config.out)
    print(f"wrote {out / 'fidelity.md'} and {out / 'fidelity.json'} "
          f"in {report['timing']['total_seconds']:.1f} s")
    return 0


if __name__ == "__main__":
    # run the importable module's copy so that joblib workers pickle jobs by reference
    from eval.fidelity import main as _main
    raise SystemExit(_main())
