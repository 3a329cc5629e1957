"""Rule 4's upper tail against the whole space: how good are the best cells of a surrogate
trained on a few labels?

Usage::

    python benchmarks/bench_marginal_tail.py [--data-dir DIR] [--json PATH]

A surrogate maps its simulated runs onto the marginal of its training labels, with a
generalized Pareto upper tail (:mod:`surrogate.noise.marginal`), so the value of the
``k``-th best cell of a simulated full table is that marginal's quantile at level
``1 - (k - 0.5) / 423,624``. The real 108-epoch test accuracies of every cell (one run each,
``nb101-exhaustive``) give the true quantile. For uniform samples of 1 %, 3 % and 10 % of
the cells (the full track's training sets; a study's multi-fidelity training sets hold about
3 %), drawn ``--subsamples`` times each, the script prints the mean error (bias), the median
error and the share of samples whose marginal lies below the truth (a typical surrogate's
error, where the estimator is skewed) and the root mean square error of the marginal as an
artifact stores it (:data:`~surrogate.noise.MARGINAL_LEVELS`, interpolated), at ranks 1 to
1,000: the ranks where optimizers with 1,000 full trainings end. A negative bias makes every
optimizer pessimistic on that surrogate.

Seeded; nothing is timed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RANKS = (1, 3, 10, 30, 100, 300, 1000)
FRACTIONS = (0.01, 0.03, 0.1)


def tail_errors(
    accuracies: np.ndarray, fractions=FRACTIONS, subsamples: int = 100, seed: int = 0
) -> dict:
    """Bias (mean error), median error, share of samples below the truth and RMSE of
    :func:`~surrogate.noise.label_quantiles` at :data:`RANKS`, per fraction of labels."""
    from surrogate.noise import MARGINAL_LEVELS, label_quantiles

    values = np.asarray(accuracies, dtype=np.float64)
    values = values[np.isfinite(values)]
    n = len(values)
    levels = 1 - (np.asarray(RANKS, dtype=np.float64) - 0.5) / n
    truth = np.quantile(values, levels)
    rng = np.random.default_rng(seed)
    rows = []
    for fraction in fractions:
        size = int(round(fraction * n))
        errors = np.array(
            [
                np.interp(
                    levels,
                    MARGINAL_LEVELS,
                    label_quantiles(rng.choice(values, size, replace=False), MARGINAL_LEVELS),
                )
                - truth
                for _ in range(subsamples)
            ]
        )
        rows.append(
            {
                "fraction": fraction,
                "labels": size,
                "bias": errors.mean(axis=0).tolist(),
                "median": np.median(errors, axis=0).tolist(),
                "share_low": (errors < 0).mean(axis=0).tolist(),
                "rmse": np.sqrt((errors**2).mean(axis=0)).tolist(),
            }
        )
    return {
        "cells": n,
        "ranks": list(RANKS),
        "truth": truth.tolist(),
        "subsamples": subsamples,
        "seed": seed,
        "fractions": rows,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="real data folder (default: ../shared/data)")
    parser.add_argument("--subsamples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    from nb101.io import write_json
    from nb101.real_data import EXHAUSTIVE_FILE, resolve_data_dir

    accuracies = np.load(resolve_data_dir(args.data_dir) / EXHAUSTIVE_FILE)
    result = tail_errors(accuracies, subsamples=args.subsamples, seed=args.seed)
    print(
        f"rule 4's upper tail against the {result['cells']:,} cells' test accuracy at 108 "
        f"epochs ({result['subsamples']} uniform samples per fraction)"
    )
    print("rank k:        " + "".join(f"{k:>9,d}" for k in result["ranks"]))
    print("true value:    " + "".join(f"{v:9.4f}" for v in result["truth"]))
    for row in result["fractions"]:
        name = f"{row['fraction']:.0%} ({row['labels']:,})"
        print(f"{name:<15}")
        print("  bias         " + "".join(f"{v:+9.4f}" for v in row["bias"]))
        print("  median       " + "".join(f"{v:+9.4f}" for v in row["median"]))
        print("  share low    " + "".join(f"{v:9.2f}" for v in row["share_low"]))
        print("  rmse         " + "".join(f"{v:9.4f}" for v in row["rmse"]))
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
