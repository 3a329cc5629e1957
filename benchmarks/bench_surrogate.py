"""Speed of ``SurrogateBenchmark`` the way users meet it: fresh processes, fresh cells.

An optimizer opens the surrogate in a new process and queries cells it has not seen before,
once each, in no particular order. Every measurement here runs in a fresh process (a child of
this script) on cells drawn at random, each queried once (noise on, the default), in two
states of the per-machine caches:

* **cold**: a new cache folder holding only the enumerated space (no prediction cache, no
  feature cache): what the first process on a machine meets;
* **warm**: after one whole-space prediction (``precompute``, as ``nb101 rank`` makes), whose
  values the prediction cache (:mod:`surrogate.predictions`) keeps for every later process.

Printed, for each state: import time, load (``SurrogateBenchmark()``), the first query,
single queries of fresh cells (median and p90), and ``query_batch`` of fresh cells (the first
call of a fresh benchmark, cells/s); then the one-time whole-space prediction that turns cold
into warm, and the artifact's size. Goals: load <= 1 s after imports, first query <= 1 s,
single query <= 200 us, batch >= 1 M cells/s.

Usage::

    python benchmarks/bench_surrogate.py [ARTIFACT] [--queries 2000] [--batch 200000]
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


def _child(artifact: str | None, queries: int, batch: int) -> dict:
    clock = time.perf_counter
    t0 = clock()
    from nb101 import get_space
    from surrogate.benchmark import SurrogateBenchmark
    space = get_space()
    t1 = clock()
    bench = SurrogateBenchmark(artifact, seed=SEED)
    t2 = clock()
    order = np.random.default_rng(SEED).permutation(len(space))
    specs = [space.spec(int(i)) for i in order[:queries + 1]]  # the optimizer's own work
    t3 = clock()
    bench.query(specs[0])
    t4 = clock()
    single = []
    for spec in specs[1:]:
        t = time.perf_counter_ns()
        bench.query(spec)
        single.append(time.perf_counter_ns() - t)
    cells = order[queries + 1:queries + 1 + batch]  # never queried in this process
    fresh = SurrogateBenchmark(artifact, seed=SEED + 1)
    t5 = clock()
    fresh.query_batch(cells)
    t6 = clock()
    return {"imports_s": t1 - t0, "load_s": t2 - t1, "first_query_s": t4 - t3,
            "single_ns": single, "batch_cells": len(cells), "batch_s": t6 - t5,
            "models_loaded": len(bench.artifact._models)}


def _precompute(artifact: str | None) -> dict:
    from surrogate.benchmark import SurrogateBenchmark
    bench = SurrogateBenchmark(artifact)
    start = time.perf_counter()
    bench.precompute(progress=False)
    return {"precompute_s": time.perf_counter() - start, "targets": list(bench.targets),
            "file": str(bench.prediction_cache.path),
            "file_mb": bench.prediction_cache.path.stat().st_size / 1e6}


def _run(mode: str, cache: Path, args: argparse.Namespace) -> dict:
    env = {**os.environ, "NB101_CACHE": str(cache), "NB101_FEATURE_DISK_CACHE": "0"}
    command = [sys.executable, __file__, "--child", mode, "--queries", str(args.queries),
               "--batch", str(args.batch)] + ([args.artifact] if args.artifact else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _report(state: str, r: dict, goals: bool = True) -> None:
    single = r["single_ns"]
    print(f"{state}: imports + space {r['imports_s']:.2f} s; load {r['load_s'] * 1e3:.0f} ms "
          f"[goal <= 1 s]; first query {r['first_query_s'] * 1e3:.0f} ms [goal <= 1 s]")
    print(f"  single query, {len(single):,} fresh cells in random order: median "
          f"{statistics.median(single) / 1e3:.0f} us, p90 {np.percentile(single, 90) / 1e3:.0f} "
          f"us [goal <= 200 us]")
    print(f"  query_batch of {r['batch_cells']:,} fresh cells, first call: "
          f"{r['batch_cells'] / r['batch_s'] / 1e6:.2f} M cells/s [goal >= 1 M cells/s]; "
          f"models loaded: {r['models_loaded']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("artifact", nargs="?", default=None,
                        help="artifact folder (default: the bundled one)")
    parser.add_argument("--queries", type=int, default=2000, help="fresh single queries")
    parser.add_argument("--batch", type=int, default=200_000, help="fresh cells of the batch")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "query":
        print(json.dumps(_child(args.artifact, args.queries, args.batch)))
        return
    if args.child == "precompute":
        print(json.dumps(_precompute(args.artifact)))
        return

    from nb101 import get_space
    from surrogate.artifact import DEFAULT_ARTIFACT
    space = get_space()  # build it once, outside the children
    path = Path(args.artifact) if args.artifact else DEFAULT_ARTIFACT
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"artifact {path}: {size / 1e6:.1f} MB; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="nb101-bench-") as folder:
        cache = Path(folder)
        shutil.copy(space.path, cache / space.path.name)  # a machine that built its space
        _report("cold (no prediction cache)", _run("query", cache, args))
        pre = _run("precompute", cache, args)
        print(f"whole-space prediction (precompute, once per machine and artifact): "
              f"{pre['precompute_s']:.1f} s for {len(pre['targets'])} targets; prediction "
              f"cache {pre['file_mb']:.0f} MB")
        _report("warm (prediction cache)", _run("query", cache, args))


if __name__ == "__main__":
    main()
