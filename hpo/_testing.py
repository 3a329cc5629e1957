"""A small synthetic table for the tests and the examples (no real data needed).

:func:`synthetic_table` writes a complete table (every field at 4/12/36/108 epochs, 3 repeats)
over a seeded sample of cells; :func:`nearest_covered` maps any cell onto the covered ones,
the stand-in of a track's nearest-covered-cell rule for such a partial table.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from nb101 import CellSpace, get_space, write_table
from nb101.protocol import EPOCHS

__all__ = ["synthetic_table", "nearest_covered"]


def synthetic_table(
    path: str | os.PathLike, *, num_cells: int = 2000, seed: int = 0, space: CellSpace | None = None
) -> Path:
    """Write a complete synthetic table of ``num_cells`` seeded cells and return its path.

    Accuracies rise with the budget and with a per-cell quality (a smooth function of the
    parameter count plus cell noise); each repeat adds its own noise; training time grows
    with the budget and the parameters.
    """
    space = get_space() if space is None else space
    rng = np.random.default_rng(seed)
    cells = np.sort(rng.choice(len(space), size=num_cells, replace=False))
    params = space.parameters(cells).astype(np.float64)
    quality = 0.8 + 0.1 * np.tanh(np.log(params) - 15.0) + rng.normal(0, 0.02, num_cells)
    run_cell, run_epochs, run_repeat = [], [], []
    values: dict[str, list[float]] = {
        f"{w}_{m}": []
        for w in ("halfway", "final")
        for m in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
    }
    for epochs in EPOCHS:
        scale = 1.0 - 0.4 * np.exp(-epochs / 20.0)
        for repeat in range(3):
            noise = rng.normal(0, 0.01, num_cells)
            for when, fraction in (("halfway", 0.5), ("final", 1.0)):
                acc = np.clip(quality * scale * (0.9 + 0.1 * fraction) + noise, 0.0, 1.0)
                time = fraction * epochs * (1.0 + params / 1e6) * (1.0 + 0.01 * repeat)
                values[f"{when}_training_time"] += time.tolist()
                values[f"{when}_train_accuracy"] += np.clip(acc + 0.05, 0, 1).tolist()
                values[f"{when}_validation_accuracy"] += acc.tolist()
                values[f"{when}_test_accuracy"] += np.clip(acc - 0.01, 0, 1).tolist()
            run_cell += cells.tolist()
            run_epochs += [epochs] * num_cells
            run_repeat += [repeat] * num_cells
    return write_table(
        path,
        run_cell=run_cell,
        run_epochs=run_epochs,
        run_repeat=run_repeat,
        values=values,
        source={"kind": "synthetic", "seed": seed},
        space=space,
    )


def nearest_covered(covered: np.ndarray):
    """A ``cell_map`` onto ``covered`` (ascending cell indices): the covered cell at or after
    the cell's index (wrapping around); the identity on covered cells. Deterministic."""
    covered = np.asarray(covered, dtype=np.int64)

    def cell_map(cell: int) -> int:
        i = int(np.searchsorted(covered, cell))
        return int(covered[i % len(covered)])

    return cell_map
