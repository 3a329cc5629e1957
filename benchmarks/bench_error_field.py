"""The correlation structure of noise rule 5's model-error field (``error_levels``).

Usage::

    python benchmarks/bench_error_field.py [--keys K]

Over ``K`` keys (default 12), on 5,000 random cells of the space, each paired with a random
neighbour one edit away (:meth:`nb101.codec.CellCodec.neighbours`), with a random cell two
edits away and with a random cell, it prints:

* the rank correlation of the field's levels over those pairs (the table's PIT against a
  surrogate, ``benchmarks/bench_calibration.py``: 0.14-0.26 one edit apart on the nine folds);
* the spread of each cell's normal score across keys, next to that of independent standard
  normals (the same for a level that is uniform cell by cell);
* the field's mean normal score over the best 1 % of the cells of the real data, across keys
  (a field that ties the top of the space together moves it as one: the linear function of
  the path encoding that rule 5 used before put it anywhere from -0.95 to +0.84,
  ``docs/notes/noise_model.md``).

It needs the real data (``../shared/data`` or ``$NB101_DATA``). Seeded; nothing is timed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CELLS = 5000


def pairs(graph, cells: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Cell pairs one edit apart, two edits apart (not one) and at random."""
    one, two = [], []
    for cell in cells:
        near = graph[cell].indices
        if not len(near):
            continue
        step = rng.choice(near)
        one.append((cell, step))
        further = graph[step].indices
        further = further[(further != cell) & ~np.isin(further, near)]
        if len(further):
            two.append((cell, rng.choice(further)))
    at_random = np.stack([cells, rng.permutation(cells)], axis=1)
    return {"one edit": np.array(one), "two edits": np.array(two), "random": at_random}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keys", type=int, default=12, help="field keys (default 12)")
    args = parser.parse_args(argv)
    from scipy.special import ndtri
    from scipy.stats import spearmanr

    from nb101 import get_space
    from nb101.codec import get_codec
    from nb101.real_data import load_exhaustive
    from surrogate.noise import error_levels

    space = get_space()
    rng = np.random.default_rng(0)
    graph = get_codec(space).neighbour_graph()
    every = np.arange(len(space))
    scores = np.stack(
        [ndtri(error_levels(np.uint64(key), every)) for key in range(args.keys)], axis=1
    )
    print(f"rule 5's field over {args.keys} keys")
    for name, p in pairs(graph, rng.choice(len(space), CELLS, replace=False), rng).items():
        rho = [spearmanr(scores[p[:, 0], k], scores[p[:, 1], k])[0] for k in range(args.keys)]
        print(f"  rank correlation, {name:9s} ({len(p):,} pairs): {np.mean(rho):+.3f}")
    # against the same statistic of independent standard normals (its sampling spread)
    for name, spread in (
        ("each cell's normal score", scores.std(axis=1)),
        ("independent normals     ", rng.standard_normal(scores.shape).std(axis=1)),
    ):
        print(
            f"  {name} across keys, standard deviation: median {np.median(spread):.2f}, "
            f"10-90 % of the cells {np.quantile(spread, 0.1):.2f}-{np.quantile(spread, 0.9):.2f}"
        )
    truth = load_exhaustive()
    top = truth >= np.quantile(truth, 0.99)
    means = scores[top].mean(axis=0)
    print(
        f"  mean normal score over the best 1 % of the cells ({top.sum():,}), across keys: "
        f"standard deviation {means.std():.3f}, range {means.min():+.2f} to {means.max():+.2f}"
    )


if __name__ == "__main__":
    main()
