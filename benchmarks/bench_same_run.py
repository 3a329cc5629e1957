"""How much of a cell's validation run its exhaustive test accuracy gives away.

Usage::

    python -m eval.fidelity --track multifidelity --out fidelity_out   # trains fold surrogates
    python benchmarks/bench_same_run.py [FIDELITY_OUT_OR_ARTIFACT ...]

The real data hold one run per cell twice over: the sample's validation accuracies and the
exhaustive table's 108-epoch test accuracy (repeat 0). Where both come from the same training
run, the test accuracy carries that run's luck, so a surrogate that has seen a cell's test
accuracy has seen part of its validation label. This script measures it:

* **repeats**: on the 56 real per-repeat records, the correlation of the validation and test
  deviations from the cell's mean within one run, and the robust spread (1.4826 x MAD) of
  ``validation(run r) - test(run 0)`` for the same run (r = 0) and for another run (r = 1, 2),
  cells with a test accuracy of at least 0.93;
* **sample**: the same spread of ``validation@108 - test@108`` over the sample's cells with a
  test accuracy in [0.93, 0.95], to place between the two;
* **held out** (every artifact given, or under ``FIDELITY_OUT/surrogates``, that records its
  training cells): on the labelled cells its ``validation_accuracy@108`` model was not fitted
  on, the correlation of their residuals with the residuals of their test accuracy from its
  ``test_accuracy@108`` model, and the Kendall tau of the labels with the prediction and with
  a linear blend of prediction and test accuracy fitted on the training cells (what a
  surrogate that saw the held-out cells' test accuracies could reach).

Measured on the real data (nine folds of ``--split-seeds 0 1 2``, stacked default recipe):
within a run the deviations correlate 0.87; the spread is 0.0030 for the same run, 0.0042
for another run (8 cells) and 0.0028 in the sample; held-out residuals correlate 0.57-0.59,
and the blend lifts the held-out Kendall tau from 0.855-0.860 to 0.880-0.885. So the sample's
validation run is the exhaustive table's run for a large share of cells, which is why the
out-of-sample protocol of :mod:`eval.fidelity` hides every label of a held-out cell, its test
accuracy included (``TrainConfig.exclude_cells``), the stacking base's too.

Deterministic (nothing is drawn); nothing is timed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = "validation_accuracy@108"
BASE = "test_accuracy@108"
_MAD_TO_STD = 1.4826


def robust_sd(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(_MAD_TO_STD * np.median(np.abs(x - np.median(x))))


def repeats_report() -> str:
    from nb101.real_data import load_repeats

    val_dev, test_dev, same, other = [], [], [], []
    for _, computed in load_repeats().values():
        runs = computed[108]
        val = np.array([r["final_validation_accuracy"] for r in runs])
        test = np.array([r["final_test_accuracy"] for r in runs])
        if val.min() < 0.8:  # a collapsed run: its deviation says nothing about the others
            continue
        val_dev += list(val - val.mean())
        test_dev += list(test - test.mean())
        if test[0] >= 0.93:
            same.append(val[0] - test[0])
            other += list(val[1:] - test[0])
    corr = np.corrcoef(val_dev, test_dev)[0, 1]
    return (
        f"repeats: validation and test deviations within one run correlate {corr:.2f} "
        f"({len(val_dev)} runs); validation(run r) - test(run 0) spread: same run "
        f"{robust_sd(same):.4f}, another run {robust_sd(other):.4f} ({len(same)} cells with "
        f"test >= 0.93)"
    )


def paired_labels(table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cells labelled with both targets: indices, ``TARGET`` labels, ``BASE`` labels."""
    from surrogate.train import target_data

    val, test = target_data(table, TARGET), target_data(table, BASE)
    both, at_val, at_test = np.intersect1d(val.indices, test.indices, return_indices=True)
    return both, val.labels[at_val], test.labels[at_test]


def sample_report(val: np.ndarray, test: np.ndarray) -> str:
    band = (test >= 0.93) & (test <= 0.95)
    return (
        f"sample: {TARGET} - {BASE} spread {robust_sd(val[band] - test[band]):.4f} "
        f"({int(band.sum()):,} cells with test in [0.93, 0.95])"
    )


def held_out_report(path: Path, cells: np.ndarray, val: np.ndarray, test: np.ndarray) -> str:
    from scipy.stats import kendalltau
    from sklearn.linear_model import LinearRegression

    from surrogate import load_artifact

    artifact = load_artifact(path)
    if TARGET not in artifact.targets or BASE not in artifact.targets:
        return f"{path.name}: needs models of {TARGET} and {BASE}"
    fitted = artifact.in_sample(TARGET)
    if fitted is None:
        return f"{path.name}: records no training cells"
    keep = (test > 0.8) & (val > 0.8)  # no collapsed runs
    cells, y, t = cells[keep], val[keep], test[keep]
    predicted = artifact.predict_targets([TARGET, BASE], cells)
    p, b = predicted[TARGET], predicted[BASE]
    held = ~fitted[cells]
    corr = np.corrcoef((y - p)[held], (t - b)[held])[0, 1]
    blend = LinearRegression().fit(np.c_[p, t][~held], y[~held]).predict(np.c_[p, t])
    return (
        f"{path.name}: {int(held.sum()):,} held-out cells; residual correlation with the "
        f"test accuracy's {corr:.2f}; Kendall tau of the labels with the prediction "
        f"{kendalltau(y[held], p[held])[0]:.3f}, with prediction and test accuracy blended "
        f"{kendalltau(y[held], blend[held])[0]:.3f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "paths", nargs="*", default=[], help="eval.fidelity output folders or artifacts (optional)"
    )
    parser.add_argument("--table", default=None, help="table file (default: real-data table)")
    args = parser.parse_args(argv)
    from bench_calibration import find_artifacts

    from nb101.real_data import real_table
    from nb101.table_file import load_table

    table = load_table(args.table if args.table else real_table())
    cells, val, test = paired_labels(table)
    print(repeats_report(), flush=True)
    print(sample_report(val, test), flush=True)
    for path in find_artifacts(args.paths) if args.paths else []:
        print(held_out_report(path, cells, val, test), flush=True)


if __name__ == "__main__":
    main()
