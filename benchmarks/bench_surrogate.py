"""Speed of SurrogateBenchmark: artifact load, full-space fill, batch and single queries.

Usage::

    python benchmarks/bench_surrogate.py [ARTIFACT]      # default: the bundled artifact

Prints (one line each): import + load time in this process, load time of a second load,
artifact size, the one-time full-space prediction per target, batch throughput (cells/s,
cached), single ``query`` latency (cached, noise on and off) and the single-query latency of
a benchmark with ``full_cache=False`` on cells it has not seen (one model call per query).
Targets: batch >= 50,000 cells/s, single query <= 1 ms, load <= 1 s, artifact <= 10 MB.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    t0 = time.perf_counter()
    from nb101 import get_space
    from surrogate.artifact import DEFAULT_ARTIFACT, load_artifact
    from surrogate.benchmark import SurrogateBenchmark
    path = Path(argv[0]) if argv else DEFAULT_ARTIFACT
    space = get_space()
    t_import = time.perf_counter() - t0

    t = time.perf_counter()
    load_artifact(path)
    t_first = time.perf_counter() - t
    t = time.perf_counter()
    art = load_artifact(path)
    t_load = time.perf_counter() - t
    print(f"artifact {path}: {_size(path) / 1e6:.2f} MB, targets {list(art.targets)}")
    print(f"imports + space: {t_import:.2f} s; first load (imports the model libraries): "
          f"{t_first:.2f} s; load: {t_load * 1e3:.1f} ms")

    bench = SurrogateBenchmark(art, seed=0)
    for target in art.targets:
        t = time.perf_counter()
        bench.predict(target, np.array([0]))
        print(f"full-space prediction of {target}: {time.perf_counter() - t:.2f} s "
              f"({len(space) / (time.perf_counter() - t):,.0f} cells/s, once per process)")

    rng = np.random.default_rng(0)
    epochs = max(bench.valid_epochs)
    for size in (1_000, 50_000, len(space)):
        cells = rng.choice(len(space), size, replace=False)
        bench.query_batch(cells, epochs=epochs)
        reps = max(1, 200_000 // size)
        t = time.perf_counter()
        for _ in range(reps):
            bench.query_batch(cells, epochs=epochs)
        rate = size * reps / (time.perf_counter() - t)
        print(f"query_batch of {size:,} cells ({epochs} epochs, noise on): {rate:,.0f} cells/s")

    specs = [space.spec(int(i)) for i in rng.choice(len(space), 2000, replace=False)]
    for noise in (True, False):
        b = SurrogateBenchmark(art, seed=0, noise=noise)
        b.precompute()
        for s in specs:
            b.query(s, epochs=epochs)  # fills the per-cell fixed-statistics cache
        t = time.perf_counter()
        for s in specs:
            b.query(s, epochs=epochs)
        print(f"single query (cached, noise={noise}): "
              f"{(time.perf_counter() - t) / len(specs) * 1e6:.1f} us")
        t = time.perf_counter()
        for s in specs[:500]:
            b.get_metrics_from_spec(s)
        print(f"get_metrics_from_spec (noise={noise}): "
              f"{(time.perf_counter() - t) / 500 * 1e6:.1f} us")

    lazy = SurrogateBenchmark(art, seed=0, full_cache=False)
    fresh = [space.spec(int(i)) for i in rng.choice(len(space), 200, replace=False)]
    lazy.query(fresh[0], epochs=epochs)
    t = time.perf_counter()
    for s in fresh[1:]:
        lazy.query(s, epochs=epochs)
    print(f"single query, full_cache=False, unseen cells (model call per query): "
          f"{(time.perf_counter() - t) / (len(fresh) - 1) * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
