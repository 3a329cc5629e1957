"""The training-time model on cells it was not fitted on, the smallest cells above all.

Usage::

    python benchmarks/bench_time_model.py [--data-dir DIR] [--split-seeds 0 1 2] [--json PATH]

The multi-fidelity track charges a query the backend's training time of the cell, and its
nearest-cell projection sends many genotypes to the few smallest cells of the space (two to
four vertices, timed on 1-4 cells each in the real data). So a time model that is right on
average but too high on the cheapest cells makes every optimizer pay more on the surrogate
than on the table, early in its runs, when it still samples small cells.

The real 108-epoch training times are cut into three folds per split seed, as the fidelity
study's out-of-sample protocol cuts the multi-fidelity cells (:func:`eval.fidelity.
split_folds`); each fold is predicted by a model fitted on the other two, so every cell gets
one out-of-sample prediction per split. Per variant of the time model (XGBoost with the
default recipe's ``model_params``: with the regressor's clip of the lowest labels; without
it; boosted around the compute-cost trend of :mod:`surrogate.trend`, without the clip, as
the bundled default's recipe fits it), the script prints the RMSE
of log(predicted / true), the mean of that log ratio over the cheapest and the costliest
5 % of cells, the mean ratio per number of vertices, and each cell of at most four vertices
with its true time and its mean prediction over the splits.

Seeded; nothing is timed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET = "training_time@108"
#: The time model's variants: constructor parameters over the default recipe's.
VARIANTS = {
    "clipped (the regressor's default)": {"clip_quantile": 0.02},
    "unclipped": {"clip_quantile": None},
    "compute-cost trend, unclipped (the recipe's)": {
        "trend": "compute_cost",
        "clip_quantile": None,
    },
}
#: The share of cells in the cheapest and costliest tails.
TAIL = 0.05
#: Folds per split seed, as the fidelity study's out-of-sample protocol.
FOLDS = 3


def held_out_predictions(
    cells: np.ndarray, X: np.ndarray, times: np.ndarray, params: dict, split_seeds
) -> np.ndarray:
    """One out-of-sample prediction per cell and split seed, shape (len(split_seeds), K):
    each fold predicted by an XGBoost model with ``params`` fitted on the other folds
    (``X``: the cells' ``"adjacency_compute"`` features; ``cells`` ascending)."""
    from eval.fidelity import split_folds
    from surrogate.xgb import XGBRegressorModel

    out = np.empty((len(split_seeds), len(cells)))
    for row, seed in enumerate(split_seeds):
        for fold in split_folds(cells, FOLDS, seed):
            held = np.searchsorted(cells, fold)
            fitted = np.setdiff1d(np.arange(len(cells)), held)
            model = XGBRegressorModel(**params, random_state=0).fit(X[fitted], times[fitted])
            out[row, held] = model.predict(X[held])
    return out


def summarize(
    cells: np.ndarray, times: np.ndarray, predicted: np.ndarray, vertices: np.ndarray
) -> dict:
    """Errors of ``predicted`` (split seeds x cells) against the true ``times``."""
    log_ratio = np.log(predicted / times)
    cheap = times <= np.quantile(times, TAIL)
    costly = times >= np.quantile(times, 1 - TAIL)
    small = np.flatnonzero(vertices <= 4)
    return {
        "rmse_log": float(np.sqrt((log_ratio**2).mean(axis=1)).mean()),
        "bias_log_cheapest": float(log_ratio[:, cheap].mean()),
        "bias_log_costliest": float(log_ratio[:, costly].mean()),
        "ratio_by_vertices": {
            str(v): float(np.exp(log_ratio[:, vertices == v]).mean())
            for v in np.unique(vertices).tolist()
        },
        "small_cells": [
            {
                "cell": int(cells[i]),
                "vertices": int(vertices[i]),
                "true": float(times[i]),
                "predicted": float(predicted[:, i].mean()),
            }
            for i in small
        ],
    }


def measure(data_dir=None, split_seeds=(0, 1, 2)) -> dict:
    from features import get_featurizer
    from nb101 import get_space
    from nb101.real_data import real_table
    from nb101.table_file import load_table
    from surrogate.train import DEFAULT_RECIPE, target_data

    data = target_data(load_table(real_table(data_dir)), TARGET)
    cells, times = data.indices, data.labels
    vertices = get_space().num_vertices[cells].astype(np.int64)
    X = get_featurizer("adjacency_compute").transform(cells)
    base = dict(DEFAULT_RECIPE["model_params"])
    variants = {}
    for name, params in VARIANTS.items():
        predicted = held_out_predictions(cells, X, times, {**base, **params}, split_seeds)
        variants[name] = {"params": params, **summarize(cells, times, predicted, vertices)}
    return {
        "target": TARGET,
        "cells": int(len(cells)),
        "cells_by_vertices": {
            str(v): int((vertices == v).sum()) for v in np.unique(vertices).tolist()
        },
        "split_seeds": list(split_seeds),
        "folds": FOLDS,
        "model_params": base,
        "tail": TAIL,
        "variants": variants,
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", help="real data folder (default: ../shared/data)")
    parser.add_argument("--split-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--json", help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    from nb101.io import write_json

    result = measure(args.data_dir, tuple(args.split_seeds))
    print(
        f"{result['target']}: {result['cells']:,} cells, {result['folds']} folds x split seeds "
        f"{result['split_seeds']}, each cell predicted by a model not fitted on it"
    )
    names = list(result["variants"])
    print(f"{'':34s}" + "".join(f"{n[:28]:>30s}" for n in names))
    rows = [
        ("RMSE of log(predicted / true)", "rmse_log", "{:.4f}"),
        (f"mean log ratio, cheapest {TAIL:.0%}", "bias_log_cheapest", "{:+.4f}"),
        (f"mean log ratio, costliest {TAIL:.0%}", "bias_log_costliest", "{:+.4f}"),
    ]
    for label, key, fmt in rows:
        values = [fmt.format(result["variants"][n][key]) for n in names]
        print(f"{label:34s}" + "".join(f"{v:>30s}" for v in values))
    for v, count in result["cells_by_vertices"].items():
        values = [f"{result['variants'][n]['ratio_by_vertices'][v]:.3f}" for n in names]
        label = f"mean ratio, {v} vertices ({count:,})"
        print(f"{label:34s}" + "".join(f"{x:>30s}" for x in values))
    for i, cell in enumerate(result["variants"][names[0]]["small_cells"]):
        values = [f"{result['variants'][n]['small_cells'][i]['predicted']:.0f}" for n in names]
        label = f"cell {cell['cell']} ({cell['vertices']} v.), true {cell['true']:.0f} s"
        print(f"{label:34s}" + "".join(f"{x:>30s}" for x in values))
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
