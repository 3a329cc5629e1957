"""Speed of ``TabularBenchmark.query`` (one cell, spec lookup included) and ``query_batch``.

Uses the synthetic full table of ``bench_table.py`` (built if ``--table`` is absent) or any
table file given, and prints the median microseconds of one ``query`` over random valid specs
and the cells per second of ``query_batch`` on an int index array of ``--cells`` cells.

Usage::

    python benchmarks/bench_query.py [--table PATH] [--cells 1000000] [--queries 20000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nb101 import get_space  # noqa: E402
from nb101.table import TabularBenchmark  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", type=Path, default=None)
    parser.add_argument("--cells", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=108)
    args = parser.parse_args()
    path = args.table or Path(tempfile.gettempdir()) / "nb101_synthetic_full.npz"
    if not path.exists():
        from bench_table import build
        print(f"building {path} ...")
        build(path)
    space = get_space()
    bench = TabularBenchmark(path, seed=0, space=space)
    covered = bench.covered_indices(args.epochs)
    rng = np.random.default_rng(0)
    specs = [space.spec(int(i)) for i in rng.choice(covered, size=1000)]
    for spec in specs[:100]:  # warm the per-cell caches and the views
        bench.query(spec, args.epochs)
    times = []
    clock = time.perf_counter_ns
    for k in range(args.queries):
        spec = specs[k % len(specs)]
        t = clock()
        bench.query(spec, args.epochs)
        times.append(clock() - t)
    print(f"table: {path} ({bench.table.num_runs:,} runs)")
    print(f"single query (spec lookup included): median {statistics.median(times) / 1e3:.1f} µs, "
          f"p90 {np.percentile(times, 90) / 1e3:.1f} µs over {args.queries} queries "
          f"[target <= 50 µs]")
    cells = rng.choice(covered, size=args.cells)
    rates = []
    for _ in range(3):
        t = time.perf_counter()
        bench.query_batch(cells, args.epochs)
        rates.append(args.cells / (time.perf_counter() - t))
    print(f"query_batch of {args.cells:,} cells (int indices): median "
          f"{statistics.median(rates) / 1e6:.2f} M cells/s [target >= 1 M cells/s]")
    hashes = [space.hash(int(i)) for i in cells[:100_000]]
    t_hash = time.perf_counter()
    bench.query_batch(hashes, args.epochs)
    print(f"query_batch of 100,000 hashes: {1e5 / (time.perf_counter() - t_hash) / 1e6:.2f} "
          f"M cells/s")


if __name__ == "__main__":
    main()
