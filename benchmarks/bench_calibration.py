"""Calibration of a surrogate's simulated runs on cells it was not fitted on.

Usage::

    python -m eval.fidelity --track multifidelity --out fidelity_out   # trains fold surrogates
    python benchmarks/bench_calibration.py [FIDELITY_OUT_OR_ARTIFACT ...] [--target T]

For every surrogate (each artifact under ``FIDELITY_OUT/surrogates`` that records its training
cells, or the artifacts given), on the labelled cells of the table that the target's model was
not fitted on (``--table``; default: the real-data table), it prints:

* **PIT** (probability integral transform): the share of the surrogate's simulated runs of a
  cell (:meth:`surrogate.noise.NoiseModel.perturb` at 400 levels; the model-error level and the
  ensemble member drawn too, where the artifact has them) that lie below the table's run. A
  calibrated surrogate gives a mean of 0.50 and 10 % of cells in each outer decile, over all
  held-out cells and over the 1 % it predicts best (where optimizers go).
* **spread at the top**: the standard deviation of (table run - the surrogate's mean run) on
  the cells it predicts in its top 1 %, against the simulated runs' own spread there.
* **winner's selection**: the mean PIT of the table's top 1 % cells, against the same
  statistic for one simulated draw in the table's place (realization ``noise_seed=0`` of
  :class:`surrogate.SurrogateBenchmark`, one run per cell). Selecting on the outcome picks lucky
  runs, so both are above 0.5; a table value well above the draw's means the table's best
  cells beat the surrogate's predictions by more than its noise explains.
* **by predicted rank** (the top's regression to the mean): the held-out cells grouped by the
  rank of their prediction (best 0.01 %, 0.01-0.1 %, 0.1-1 %, 1-10 %; groups of 10 cells or
  more), the mean of (table run - mean simulated run) per group: negative where the model's
  best predictions are partly its own error and the runs do not say so (noise rule 1b,
  ``--top-location``, is the option that does).
* **where the best runs sit**: the median rank of the prediction (a share of the held-out
  cells) of the 100 best table runs, against the 100 best runs of one simulated draw: the
  smaller the draw's, the more its best runs sit where the model predicts best, the easier
  an optimizer finds them.
* **neighbour correlation** (Spearman) of the PIT values over pairs of held-out cells one edit
  apart: the table's (model error is shared by neighbours) against the draw's (run noise
  alone is independent across cells: about 0; noise rule 5's field is shared). The PIT, not
  the raw deviation, because it is uniform for every cell however skewed its noise, so
  independent runs give 0.

Measured on the nine folds of ``python -m eval.fidelity --track multifidelity --split-seeds
0 1 2`` (stacked default recipe, ``validation_accuracy@108``, 7,510 held-out cells each):
PIT 0.47-0.50 with 8-11 % of the cells in each outer decile; on the top 1 % predicted (76
cells) 0.43-0.52 with 3-17 %; spread at the top 0.0020-0.0029 against 0.0024-0.0026
simulated; winner's selection 0.74-0.86 for the table against 0.80-0.86 for a draw. So the
runs are calibrated cell by cell, at the top too. Neighbour correlation: 0.14-0.26 for the
table against -0.04 to 0.03 for a draw: the table's deviations from the surrogate are shared
by neighbouring cells, the surrogate's are not (noise rule 5 in :mod:`surrogate.noise` is
the option that adds such a shared part).

Seeded; nothing is timed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LEVELS = 400
TOP = 0.01
#: the groups of "by predicted rank": shares of the held-out cells, best first
RANK_GROUPS = ((0.0, 1e-4), (1e-4, 1e-3), (1e-3, 1e-2), (1e-2, 1e-1))
BEST_RUNS = 100


def find_artifacts(paths: list[str]) -> list[Path]:
    """The artifacts given, or those under ``FIDELITY_OUT/surrogates`` that record their
    training cells; exits with a message when there are none."""
    found = []
    for p in map(Path, paths):
        if (p / "metadata.json").exists():
            found.append(p)
        elif (p / "surrogates").is_dir():
            found += sorted(
                d for d in (p / "surrogates").iterdir() if (d / "training_cells.npz").exists()
            )
        else:
            sys.exit(
                f"{p}: neither an artifact nor an eval.fidelity output folder with "
                f"surrogates/ (run python -m eval.fidelity --track multifidelity first)"
            )
    if not found:
        sys.exit(f"no artifacts with recorded training cells under {', '.join(paths)}")
    return found


def simulated_runs(
    artifact, target: str, cells: np.ndarray, rng: np.random.Generator, levels: int = LEVELS
) -> np.ndarray:
    """(cells, levels) simulated runs of ``target``: run level, model-error level (noise rule
    5) and ensemble member (rule 6, around that member's prediction) drawn per column."""
    noise = artifact.noise
    members = artifact.members(target)
    around = (
        [artifact.predict_targets([target], cells, member=m)[target] for m in range(members)]
        if members > 1
        else [artifact.predict(target, cells)]
    )
    out = np.empty((len(cells), levels))
    for j in range(levels):
        u = rng.random(len(cells))
        u_cell = rng.random(len(cells)) if noise.has_model_error(target) else None
        m = int(rng.integers(members))
        out[:, j] = noise.perturb(target, around[m], u, u_cell, m if members > 1 else None)
    return out


def neighbour_pairs(cells: np.ndarray) -> np.ndarray:
    """Pairs (i, j), i < j, of positions in ``cells`` whose cells are one edit apart."""
    from nb101.codec import get_codec

    codec = get_codec()
    where = {int(c): i for i, c in enumerate(cells)}
    return np.array(
        [
            (i, where[int(n)])
            for i, c in enumerate(cells)
            for n in codec.neighbours(int(c))
            if where.get(int(n), -1) > i
        ],
        dtype=np.int64,
    ).reshape(-1, 2)


def report(path: Path, table, target: str, seed: int = 0) -> str:
    from scipy.stats import spearmanr

    from nb101 import parse_target
    from surrogate import SurrogateBenchmark, load_artifact
    from surrogate.train import target_data

    artifact = load_artifact(path)
    if artifact.noise is None or target not in artifact.noise:
        return f"{path.name}: no noise model for {target}"
    fitted = artifact.in_sample(target)
    data = target_data(table, target)
    keep = ~fitted[data.indices] if fitted is not None else np.ones(len(data.indices), bool)
    cells, y = data.indices[keep], data.labels[keep]
    rng = np.random.default_rng(seed)
    mean = artifact.predict(target, cells)
    sims = simulated_runs(artifact, target, cells, rng)
    centre = sims.mean(1)
    pit = (sims < y[:, None]).mean(1)
    top = mean >= np.quantile(mean, 1 - TOP)
    # one realization as a user meets it: a cell's model error is its field's, shared with
    # neighbours where the artifact has rule 5
    parsed = parse_target(target)
    draw = SurrogateBenchmark(artifact, seed=0, num_repeats=1, full_cache=False).query_batch(
        cells, parsed.epochs, parsed.halfway
    )[parsed.metric]
    pit_draw = (sims < draw[:, None]).mean(1)
    best, best_draw = y >= np.quantile(y, 1 - TOP), draw >= np.quantile(draw, 1 - TOP)
    pairs = neighbour_pairs(cells)
    # the prediction's rank of every cell as a share of the held-out cells (0: the best)
    rank = np.empty(len(cells))
    rank[np.argsort(-mean, kind="stable")] = np.arange(len(cells)) / len(cells)
    groups = []
    for lo, hi in RANK_GROUPS:
        group = (rank >= lo) & (rank < hi)
        if group.sum() >= 10:
            excess = np.mean(y[group] - centre[group])
            groups.append(f"{lo * 100:g}-{hi * 100:g} % ({group.sum():,}) {excess:+.4f}")

    def best_rank(values: np.ndarray) -> float:
        return float(np.median(rank[np.argsort(-values, kind="stable")[:BEST_RUNS]]) * 100)

    def nbr(p: np.ndarray) -> float:
        return (
            float(spearmanr(p[pairs[:, 0]], p[pairs[:, 1]])[0]) if len(pairs) > 2 else float("nan")
        )

    def deciles(p: np.ndarray) -> str:
        return f"{p.mean():.2f} ({np.mean(p < 0.1) * 100:.0f} % / {np.mean(p > 0.9) * 100:.0f} %)"

    return (
        f"{path.name}: {len(cells):,} held-out cells\n"
        f"  PIT mean (below 0.1 / above 0.9): all {deciles(pit)}, "
        f"top 1 % predicted {deciles(pit[top])}\n"
        f"  spread at the top: table - mean run sd {np.std(y[top] - centre[top]):.4f}, "
        f"simulated sd {np.sqrt(np.mean(sims[top].var(1))):.4f}\n"
        f"  winner's selection, mean PIT of the top 1 %: table {pit[best].mean():.2f}, "
        f"one simulated draw {pit_draw[best_draw].mean():.2f}\n"
        f"  by predicted rank, table - mean run: {'; '.join(groups)}\n"
        f"  where the best {BEST_RUNS} runs sit, median predicted rank: table "
        f"{best_rank(y):.2f} %, one simulated draw {best_rank(draw):.2f} %\n"
        f"  neighbour correlation of the PIT ({len(pairs):,} pairs one edit apart): "
        f"table {nbr(pit):.3f}, one simulated draw {nbr(pit_draw):.3f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "paths",
        nargs="*",
        default=["fidelity_out"],
        help="eval.fidelity output folders or artifacts",
    )
    parser.add_argument("--target", default="validation_accuracy@108")
    parser.add_argument("--table", default=None, help="table file (default: real-data table)")
    args = parser.parse_args(argv)
    from nb101.real_data import real_table
    from nb101.table_file import load_table

    table = load_table(args.table if args.table else real_table())
    for path in find_artifacts(args.paths):
        print(report(path, table, args.target), flush=True)


if __name__ == "__main__":
    main()
