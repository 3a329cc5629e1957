"""Landscape statistics of the full track: the table against a surrogate's simulated runs.

Usage::

    python benchmarks/bench_landscape.py [ARTIFACT ...]   # default: the bundled artifact

Optimizers meet the top of a landscape, so this compares, over the 423,624 cells and the
108-epoch test accuracy (one run per cell on the real table; one simulated run per cell on the
surrogate, ``num_repeats=1``, for ``noise_seed`` 0 and 1):

* **upper tail**: the 99th and 99.9th percentiles, the mean of the 100 best cells and the
  maximum (what random search and a good optimizer reach);
* **top-cell neighbourhoods**: among 500 cells drawn from each landscape's own top 1 %, the
  share of edit-distance-1 neighbours that are better and the share of cells that are local
  maxima (what local search meets);
* **the fidelity report's landscape statistics** (:mod:`eval.landscape`, the full track's
  start cells and walks, seed 0): neighbour correlation, walk autocorrelation at lags 1 and
  5, local optima, climb length, improvement probability, the table's with its 95 %
  interval;
* **calibration at the top** (noise-free means): the table's mean minus the surrogate's mean
  over the cells the surrogate ranks in its top 0.1 %, 1 % and 5 % (a negative value: the
  surrogate over-predicts the cells it likes best, the "winner's curse" that a model-based
  optimizer exploits).

Seeded; nothing is timed. It needs the real data (``../shared/data`` or ``$NB101_DATA``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = "test_accuracy@108"
TOP_DRAWS = 500


def tail(values: np.ndarray) -> str:
    q99, q999 = np.quantile(values, [0.99, 0.999])
    top100 = np.sort(values)[-100:].mean()
    return f"q99 {q99:.4f}  q99.9 {q999:.4f}  top-100 mean {top100:.4f}  max {values.max():.4f}"


def neighbourhoods(values: np.ndarray, space, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    top = np.argsort(-values, kind="stable")[: len(values) // 100]
    better, local_max = [], 0
    for cell in rng.choice(top, TOP_DRAWS, replace=False):
        nbrs = space.neighbours(int(cell))
        better.append(np.mean(values[nbrs] > values[cell]))
        local_max += bool(np.all(values[nbrs] <= values[cell]))
    return (
        f"top-1 % cells: better neighbours {np.mean(better):.3f}, "
        f"local maxima {local_max / TOP_DRAWS:.3f}"
    )


LANDSCAPE = (
    ("neighbour_corr", "neighbour corr"),
    ("walk_autocorr_1", "walk lag 1"),
    ("walk_autocorr_5", "walk lag 5"),
    ("local_optima", "local optima"),
    ("climb_length", "climb"),
    ("improve_prob", "improve"),
)


def landscape(values: np.ndarray, sample, neighbours, interval: bool = False) -> str:
    from eval.landscape import landscape_stats

    stats = landscape_stats(sample, values, neighbours, n_boot=200 if interval else 0)
    parts = []
    for key, name in LANDSCAPE:
        s = stats[key]
        ci = f" [{s['ci_low']:.3f}, {s['ci_high']:.3f}]" if interval else ""
        parts.append(f"{name} {s['value']:.3f}{ci}")
    return ", ".join(parts)


def calibration(mean: np.ndarray, truth: np.ndarray) -> str:
    order = np.argsort(-mean, kind="stable")
    parts = []
    for share in (0.001, 0.01, 0.05):
        sel = order[: int(share * len(mean))]
        parts.append(f"top {share * 100:g} %: {np.mean(truth[sel] - mean[sel]):+.4f}")
    return "table - surrogate mean over the surrogate's " + ", ".join(parts)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    from eval.landscape import landscape_sample
    from nb101 import get_space
    from nb101.codec import get_codec
    from nb101.real_data import load_exhaustive
    from surrogate.artifact import DEFAULT_ARTIFACT
    from surrogate.surrogate_benchmark import SurrogateBenchmark

    space = get_space()
    cells = np.arange(len(space))
    truth = load_exhaustive()
    # the full track's neighbourhood graph, on which the fidelity report measures landscapes
    neighbours = get_codec(space).neighbours
    sample = landscape_sample(cells, neighbours, seed=0)
    print(f"table                      {tail(truth)}")
    print(f"                           {neighbourhoods(truth, space)}")
    print(f"                           {landscape(truth, sample, neighbours, interval=True)}")
    for path in [Path(a) for a in argv] or [DEFAULT_ARTIFACT]:
        mean = SurrogateBenchmark(path, noise=False).predict(TARGET, cells)
        print(f"\n{path}")
        print(f"  mean                     {tail(mean)}")
        print(f"  {calibration(mean, truth)}")
        for noise_seed in (0, 1):
            bench = SurrogateBenchmark(path, seed=0, num_repeats=1, noise_seed=noise_seed)
            runs = bench.query_batch(cells, 108)["test_accuracy"]
            print(f"  runs, noise_seed {noise_seed}       {tail(runs)}")
            print(f"                           {neighbourhoods(runs, space)}")
            print(f"                           {landscape(runs, sample, neighbours)}")


if __name__ == "__main__":
    main()
