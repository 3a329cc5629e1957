"""Wall time of the predictor protocol (:mod:`eval.predictors`) and its cost per predictor.

Runs the protocol (by default the CLI's default run: every predictor, 5 trials, sizes 10 to
1,000 on ``validation_accuracy@108``; ``--quick``: one trial at sizes 100 and 1,000), then
prints the total wall time, the time per phase (data and noise ceiling vs fits and queries)
and, per predictor, the summed fit and query seconds and the mean Kendall tau at the largest
size. The machine's load average is printed too: timings on a shared machine are only
comparable at similar load.

Usage::

    python benchmarks/bench_predictors.py [--quick] [--target validation_accuracy@108]
        [--predictors "path+xgb,gin"] [--trials 5] [--out /tmp/bench_predictors] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval.predictors import ProtocolConfig, run_protocol  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one trial at sizes 100 and 1000")
    p.add_argument("--target", default="validation_accuracy@108")
    p.add_argument("--predictors", default=None)
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--out", default=None, help="also write the leaderboard here")
    p.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the numbers here as strict JSON",
    )
    args = p.parse_args()
    kw = {"target": args.target}
    if args.quick:
        kw.update(sizes=(100, 1000), trials=1, standard_splits=False)
    if args.trials is not None:
        kw["trials"] = args.trials
    if args.predictors:
        kw["predictors"] = tuple(x.strip() for x in args.predictors.split(","))
    config = ProtocolConfig(**kw)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    start = time.perf_counter()
    result = run_protocol(config, progress=True)
    wall = time.perf_counter() - start
    fit = defaultdict(float)
    query = defaultdict(float)
    for t in result.trials:
        fit[t["predictor"]] += t["fit_s"] or 0.0
        query[t["predictor"]] += (t["query_us_per_cell"] or 0.0) * t["test_size"] / 1e6
    model_s = sum(fit.values()) + sum(query.values())
    largest = max(r["size"] for r in result.rows)
    print(f"cpus {os.cpu_count()}, load average at start {load:.1f}")
    print(
        f"{len(result.trials)} trials, wall {wall:.1f} s "
        f"(fits + queries {model_s:.1f} s, the rest {wall - model_s:.1f} s)"
    )
    print(f"{'predictor':28s} {'fit s':>8s} {'query s':>8s}  tau@{largest}")
    rows = []
    for name in sorted(fit, key=lambda n: -(fit[n] + query[n])):
        tau = result.row(name, largest)["kendall_tau"]
        rows.append(
            {
                "predictor": name,
                "fit_s": fit[name],
                "query_s": query[name],
                f"kendall_tau@{largest}": tau,
            }
        )
        print(f"{name:28s} {fit[name]:8.1f} {query[name]:8.1f}  {tau:.3f}")
    if args.json is not None:
        from nb101.io import write_json

        write_json(
            args.json,
            {
                "script": "benchmarks/bench_predictors.py",
                "args": vars(args),
                "cpus": os.cpu_count(),
                "load_average_at_start": load,
                "trials": len(result.trials),
                "wall_s": wall,
                "fits_and_queries_s": model_s,
                "predictors": rows,
            },
            indent=1,
        )
    if args.out:
        print(result.write(args.out)["markdown"])


if __name__ == "__main__":
    main()
