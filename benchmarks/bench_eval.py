"""Speed of the evaluation layer: codec moves, per-run time of every optimizer on both tracks.

Runs against the real-data table (``TabularBenchmark``; falls back to the in-memory
``ArrayBenchmark`` if the table cannot be built) and extrapolates the run time of the default
fidelity experiment (20 seeds, budget 1,000 full trainings, table + 3 surrogates, 2 cores),
assuming surrogate queries cost what table queries cost (both are array lookups).

    python benchmarks/bench_eval.py [--budget 1000] [--seeds 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=float, default=1000)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the numbers here as strict JSON",
    )
    args = ap.parse_args()

    from eval.optimizers import OPTIMIZERS, run
    from eval.tracks import make_track
    from nb101.codec import get_codec

    try:
        from nb101.real_data import real_table
        from nb101.tabular_benchmark import TabularBenchmark

        path = real_table()
        tables = {
            t: TabularBenchmark(path, seed=0, require=(m,))
            for t, m in (("full", "test_accuracy"), ("multifidelity", "validation_accuracy"))
        }
        kind = "TabularBenchmark"
    except (ImportError, OSError, ValueError):
        from eval._testing import real_data_benchmark

        b = real_data_benchmark(seed=0)
        tables = {"full": b, "multifidelity": b}
        kind = "ArrayBenchmark"

    t0 = time.perf_counter()
    codec = get_codec()
    numbers = {"codec_build_s": time.perf_counter() - t0}
    print(f"codec build: {numbers['codec_build_s']:.2f} s")
    rng = np.random.default_rng(0)
    e, lab = codec.encode(rng.integers(0, codec.num_cells, 1000), rng)
    t0 = time.perf_counter()
    for i in range(1000):
        codec.mutate(e[i : i + 1], lab[i : i + 1], rng)
    numbers["mutate_ms"] = time.perf_counter() - t0  # 1000 mutations: seconds = ms each
    print(f"mutate (one genotype): {numbers['mutate_ms']:.3f} ms")
    t0 = time.perf_counter()
    for i in range(300):
        codec._neighbours.__wrapped__(codec, int(i * 1000))
    numbers["neighbours_uncached_ms"] = (time.perf_counter() - t0) / 300 * 1e3
    print(f"neighbours (uncached): {numbers['neighbours_uncached_ms']:.3f} ms")

    tracks = {t: make_track(t, b) for t, b in tables.items()}
    total = 0.0
    rows = []
    print(f"\nbackend {kind}, budget {args.budget:g} full trainings, {args.seeds} seeds")
    print(f"{'optimizer':10s} {'track':14s} {'queries':>8s} {'s/run':>7s} {'us/query':>9s}")
    for name, cls in OPTIMIZERS.items():
        for tname, track in tracks.items():
            if cls.multi_fidelity and tname == "full":
                continue
            budget = args.budget * (track.mean_time108 if tname == "multifidelity" else 1)
            times, queries = [], []
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                r = run(cls(), track, budget, seed=seed)
                times.append(time.perf_counter() - t0)
                queries.append(len(r.cells))
            sec = float(np.mean(times))
            total += sec
            rows.append(
                {
                    "optimizer": name,
                    "track": tname,
                    "queries": float(np.mean(queries)),
                    "s_per_run": sec,
                    "us_per_query": sec / np.mean(queries) * 1e6,
                }
            )
            print(
                f"{name:10s} {tname:14s} {np.mean(queries):8.0f} {sec:7.2f} "
                f"{sec / np.mean(queries) * 1e6:9.1f}"
            )
    runs_per_seed_backend = total
    estimate = runs_per_seed_backend * 20 * 4 / 2
    print(
        f"\none seed of every (optimizer, track): {total:.1f} s; default experiment "
        f"(20 seeds x 4 backends on 2 cores), runs only: ~{estimate / 60:.1f} min"
    )
    if args.json is not None:
        from nb101.io import write_json

        write_json(
            args.json,
            {
                "script": "benchmarks/bench_eval.py",
                "args": vars(args),
                "backend": kind,
                **numbers,
                "one_seed_every_run_s": total,
                "default_experiment_estimate_min": estimate / 60,
                "runs": rows,
            },
            indent=1,
        )


if __name__ == "__main__":
    main()
