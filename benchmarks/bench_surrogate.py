"""Speed of ``SurrogateBenchmark`` the way users meet it: fresh processes, fresh cells, specs
built from matrices and ops.

An optimizer opens the surrogate in a new process and queries cells it has not seen before,
once each, in no particular order, as ``ModelSpec(matrix, ops)`` it built itself (nasbench
code, an Optuna trial, a Syne Tune config). Every measurement here runs in a fresh process (a
child of this script) whose cache folder holds only the enumerated space (no prediction cache,
no feature cache: a machine that never ran ``nb101 rank``), on cells drawn at random, each
queried once, noise on (the default). Two artifacts are compared:

* **stored predictions**: the artifact as trained (it carries its predictions of the whole
  space, :mod:`surrogate.quantized`), answered by lookup;
* **models only**: the same artifact without them (as ``train_surrogate.py --no-predictions``
  writes it, or an artifact of schema 3), answered by its models.

Printed, for each: import time, load (``SurrogateBenchmark()``) + the first query, single
queries of fresh specs (median and p90, the spec's construction included; and the median of
queries of specs built beforehand), ``query_batch`` of fresh cells (the first call of a fresh
benchmark, cells/s; noise on, and off), and whether XGBoost or torch was imported; then the
artifact's size on disk. Goals (after imports): load + first query
<= 50 ms, single query <= 25 us, batch >= 5 M cells/s.

Usage::

    python benchmarks/bench_surrogate.py [ARTIFACT] [--queries 3000] [--batch 200000]
        [--stored-only] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SEED = 0
GOALS = {"load_first_query_ms": 50.0, "single_query_us": 25.0, "batch_m_cells_per_s": 5.0}


def _child(artifact: str | None, queries: int, batch: int) -> dict:
    clock = time.perf_counter
    t0 = clock()
    from nb101 import ModelSpec, get_space
    from surrogate.surrogate_benchmark import SurrogateBenchmark

    space = get_space()
    t1 = clock()
    order = np.random.default_rng(SEED).permutation(len(space))
    graphs = [space.graph(int(i)) for i in order[: queries + 1]]  # what external code holds
    graphs = [(matrix.tolist(), list(ops)) for matrix, ops in graphs]
    t2 = clock()
    bench = SurrogateBenchmark(artifact, seed=SEED)
    bench.query(ModelSpec(*graphs[0]))
    t3 = clock()
    single = []
    for matrix, ops in graphs[1:]:
        t = time.perf_counter_ns()
        bench.query(ModelSpec(matrix, ops))
        single.append(time.perf_counter_ns() - t)
    specs = [ModelSpec(matrix, ops) for matrix, ops in graphs[1:]]
    again = SurrogateBenchmark(artifact, seed=SEED + 2)  # fresh cells for it
    prebuilt = []
    for spec in specs:
        t = time.perf_counter_ns()
        again.query(spec)
        prebuilt.append(time.perf_counter_ns() - t)
    cells = order[queries + 1 : queries + 1 + batch]  # never queried in this process
    fresh = SurrogateBenchmark(artifact, seed=SEED + 1)
    t4 = clock()
    fresh.query_batch(cells)
    t5 = clock()
    plain = SurrogateBenchmark(artifact, seed=SEED + 1, noise=False)
    other = order[queries + 1 + batch : queries + 1 + 2 * batch]
    t6 = clock()
    plain.query_batch(other)
    t7 = clock()
    return {
        "imports_s": t1 - t0,
        "load_first_query_s": t3 - t2,
        "single_ns": single,
        "prebuilt_single_us": statistics.median(prebuilt) / 1e3,
        "batch_cells": len(cells),
        "batch_s": t5 - t4,
        "batch_noise_off_s": t7 - t6,
        "models_loaded": len(bench.artifact._models) + len(fresh.artifact._models),
        "xgboost_imported": "xgboost" in sys.modules,
        "torch_imported": "torch" in sys.modules,
    }


def _run(artifact: Path, cache: Path, args: argparse.Namespace) -> dict:
    env = {**os.environ, "NB101_CACHE": str(cache), "NB101_FEATURE_DISK_CACHE": "0"}
    command = [
        sys.executable,
        __file__,
        str(artifact),
        "--child",
        "--queries",
        str(args.queries),
        "--batch",
        str(args.batch),
    ]
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _summary(r: dict) -> dict:
    single = r.pop("single_ns")
    return {
        **r,
        "load_first_query_ms": r["load_first_query_s"] * 1e3,
        "single_queries": len(single),
        "single_query_us": statistics.median(single) / 1e3,
        "single_query_p90_us": float(np.percentile(single, 90)) / 1e3,
        "batch_m_cells_per_s": r["batch_cells"] / r["batch_s"] / 1e6,
        "batch_noise_off_m_cells_per_s": r["batch_cells"] / r["batch_noise_off_s"] / 1e6,
    }


def _report(name: str, r: dict) -> None:
    print(
        f"{name}: imports + space {r['imports_s']:.2f} s; load + first query "
        f"{r['load_first_query_ms']:.1f} ms [goal <= 50 ms]"
    )
    print(
        f"  single query of a fresh ModelSpec(matrix, ops), {r['single_queries']:,} cells in "
        f"random order: median {r['single_query_us']:.1f} us, p90 "
        f"{r['single_query_p90_us']:.1f} us [goal <= 25 us]; of a spec built beforehand "
        f"(the surrogate's part): median {r['prebuilt_single_us']:.1f} us"
    )
    print(
        f"  query_batch of {r['batch_cells']:,} fresh cells, first call: "
        f"{r['batch_m_cells_per_s']:.2f} M cells/s [goal >= 5 M cells/s]; noise off: "
        f"{r['batch_noise_off_m_cells_per_s']:.2f} M cells/s"
    )
    print(
        f"  models loaded: {r['models_loaded']}; xgboost imported: {r['xgboost_imported']}; "
        f"torch imported: {r['torch_imported']}"
    )


def _without_predictions(path: Path, out: Path) -> Path:
    """A copy of an artifact without its stored predictions (its models answer)."""
    shutil.copytree(path, out)
    meta = json.loads((out / "metadata.json").read_text())
    section = meta.pop("predictions", None)
    if section is not None:
        (out / section["file"]).unlink()
        del meta["files"][section["file"]]
    (out / "metadata.json").write_text(json.dumps(meta))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "artifact", nargs="?", default=None, help="artifact folder (default: the bundled one)"
    )
    parser.add_argument("--queries", type=int, default=3000, help="fresh single queries")
    parser.add_argument("--batch", type=int, default=200_000, help="fresh cells of the batch")
    parser.add_argument(
        "--stored-only",
        action="store_true",
        help="measure the artifact as given only (skip the models-only copy)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the numbers to PATH as JSON",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.artifact, args.queries, args.batch)))
        return

    from nb101 import get_space
    from nb101.io import write_json
    from surrogate.artifact import DEFAULT_ARTIFACT

    space = get_space()  # build it once, outside the children
    path = Path(args.artifact) if args.artifact else DEFAULT_ARTIFACT
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"artifact {path}: {size / 1e6:.2f} MB on disk; {os.cpu_count()} cores")
    results = {}
    with tempfile.TemporaryDirectory(prefix="nb101-bench-") as folder:
        folder = Path(folder)
        runs = [("stored predictions", path)]
        if not args.stored_only:
            runs.append(("models only", _without_predictions(path, folder / "models_only")))
        for name, artifact in runs:
            cache = folder / f"cache-{len(results)}"
            cache.mkdir()
            shutil.copy(space.path, cache / space.path.name)  # a machine that built its space
            results[name] = _summary(_run(artifact, cache, args))
            _report(name, results[name])
    if args.json is not None:
        write_json(
            args.json,
            {
                "script": "benchmarks/bench_surrogate.py",
                "args": {
                    "artifact": str(path),
                    "queries": args.queries,
                    "batch": args.batch,
                    "stored_only": args.stored_only,
                },
                "cores": os.cpu_count(),
                "artifact_mb": size / 1e6,
                "goals": GOALS,
                "results": results,
            },
            indent=2,
        )


if __name__ == "__main__":
    main()
