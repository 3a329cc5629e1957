"""The run cache and the worker side: one (study, backend, optimizer, seed) run is one job,
written to its own ``.npz`` file (atomically), so a rerun computes only what is missing and
one failed job loses no other run.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np

from nb101.io import atomic_savez, open_npz

from ..optimizers import ExternalOptimizerError, RunResult, resolve_optimizer, run
from ..tracks import make_track
from .config import TABLE_REQUIRE, track_targets

__all__ = ["file_digest", "save_run", "load_run", "open_backend", "run_job"]


# --------------------------------------------------------------------------- run files
def file_digest(path: Path) -> str:
    """16 hex characters of the SHA-256 of a file, or of a folder's files and their names."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for p in files:
        h.update(str(p.relative_to(path) if path.is_dir() else p.name).encode())
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:16]


def save_run(path: Path, result: RunResult, meta: dict) -> None:
    """Write one run's queries and its ``meta`` (JSON) to ``path``, atomically."""
    atomic_savez(path, meta=np.array(json.dumps(meta)), **result.to_arrays())


def load_run(path: Path) -> RunResult:
    """The run :func:`save_run` wrote."""
    with open_npz(path) as data:
        return RunResult.from_arrays({k: data[k] for k in data.files})


# ------------------------------------------------------------------------ worker side
_BACKENDS: dict[int, OrderedDict] = {}  # per thread: the backends it used last
_LOCK = threading.Lock()
#: Backends a worker thread keeps loaded. Jobs come grouped by backend, so one or two are
#: enough, and a bounded cache keeps the worker's memory flat (loky restarts a worker whose
#: memory grew, and every restart reloads its backends).
_KEEP_BACKENDS = 2


def open_backend(
    kind: str,
    path: str,
    track: str,
    noise: bool = True,
    repeats: int = 1,
    noise_seed: int = 0,
    cells: np.ndarray | None = None,
    *,
    cache: OrderedDict | None = None,
):
    """The backend of a job, reused across the jobs of one worker thread; with ``cache``,
    reused from there instead (the driver's own, so that what it reads does not depend on
    the runs this thread ran: the backends' generators advance with every query)."""
    key = (kind, path, track, noise, repeats, noise_seed)
    if cache is None:
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
            hit = SurrogateBenchmark(
                path,
                seed=0,
                noise=noise,
                num_repeats=repeats,
                noise_seed=noise_seed,
                full_cache=track == "full",
                require_targets=track_targets(track),
            )
        cache[key] = hit
    cache.move_to_end(key)
    while len(cache) > _KEEP_BACKENDS:
        cache.popitem(last=False)
    if kind != "table" and cells is not None and track != "full":
        hit.prefetch(cells, track_targets(track))  # fill the prediction cache at once
    return hit


def run_job(job: dict) -> dict:
    """Run one (study, backend, optimizer, seed) and write its cache file; a run whose
    external optimizer fails (:class:`~eval.optimizers.ExternalOptimizerError`) writes
    nothing and returns the failure under ``"failed"``."""
    started = time.perf_counter()
    cells = np.asarray(job["cells"], dtype=np.int64)
    backend = open_backend(
        job["kind"],
        job["path"],
        job["track"],
        job["noise"],
        job["repeats"],
        job["noise_seed"],
        cells,
    )
    backend.reseed(job["seed"])
    backend.reset_budget_counters()
    track = make_track(job["track"], backend, cells=cells)
    try:
        result = run(resolve_optimizer(job["optimizer"])(), track, job["budget"], job["seed"])
    except ExternalOptimizerError as exc:
        # the study goes on without this run (not cached: a rerun tries it again)
        return {
            "file": job["file"],
            "failed": {
                **{k: job[k] for k in ("track", "study", "optimizer", "seed")},
                "backend": job["label"],
                "error": str(exc),
                "config": None if exc.config is None else repr(exc.config),
            },
        }  # NaN: no JSON
    seconds = time.perf_counter() - started
    save_run(
        Path(job["file"]),
        result,
        {k: job[k] for k in ("track", "kind", "label", "optimizer", "seed", "budget")}
        | {"seconds": seconds},
    )
    return {"file": job["file"], "seconds": seconds, "queries": len(result.cells)}
