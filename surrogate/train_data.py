"""The training data of a target: its labelled cells with one label per cell (repeats
averaged), the targets a table has enough labels for, and the train/validation/test split.

The rules (which cells a target is learned from, why repeats are averaged, the split sizes)
are the "Data" and "Splits" sections of :mod:`surrogate.train`, which uses these functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nb101 import Target, parse_target
from nb101.protocol import EPOCHS, METRICS
from nb101.table_file import Table

__all__ = ["MAX_TEST", "TargetData", "target_data", "available_targets", "split_indices"]

#: Largest test split per target.
MAX_TEST = 100_000


@dataclass
class TargetData:
    """Labels of one target: cell indices (ascending), the mean label per cell, and the runs
    of cells with several runs of known, distinct repeats (for the noise model)."""

    target: str
    indices: np.ndarray
    labels: np.ndarray
    repeats: list[np.ndarray]
    repeat_cells: np.ndarray | None = None

    def without(self, cells: np.ndarray) -> TargetData:
        """The same data less ``cells`` (their labels and repeats)."""
        keep = ~np.isin(self.indices, cells)
        repeats = self.repeats
        if self.repeat_cells is not None:
            kept = ~np.isin(self.repeat_cells, cells)
            repeats = [r for r, k in zip(self.repeats, kept) if k]
            return TargetData(
                self.target, self.indices[keep], self.labels[keep], repeats, self.repeat_cells[kept]
            )
        return TargetData(self.target, self.indices[keep], self.labels[keep], repeats)


def target_data(table: Table, target: str) -> TargetData:
    """The labelled cells of ``target`` in ``table`` (repeats averaged per cell)."""
    parsed = parse_target(target)
    runs = table.runs
    values = runs[parsed.column].astype(np.float64)
    keep = (runs["run_epochs"] == parsed.epochs) & ~np.isnan(values)
    cells = runs["run_cell"][keep].astype(np.int64)
    values = values[keep]
    repeat = runs["run_repeat"][keep].astype(np.int64)
    if len(cells) == 0:
        return TargetData(target, np.zeros(0, np.int64), np.zeros(0), [], np.zeros(0, np.int64))
    order = np.argsort(cells, kind="stable")
    cells, values, repeat = cells[order], values[order], repeat[order]
    uniq, start, counts = np.unique(cells, return_index=True, return_counts=True)
    means = np.add.reduceat(values, start) / counts
    repeats, repeat_cells = [], []
    for i in np.flatnonzero(counts > 1):
        sl = slice(start[i], start[i] + counts[i])
        known = repeat[sl] >= 0
        _, first = np.unique(repeat[sl][known], return_index=True)
        if len(first) >= 2:
            repeats.append(values[sl][known][first])
            repeat_cells.append(uniq[i])
    return TargetData(target, uniq, means, repeats, np.array(repeat_cells, dtype=np.int64))


def available_targets(table: Table) -> list[str]:
    """Targets with at least ``min(1000, covered / 2)`` labelled cells (the "Data" section
    of :mod:`surrogate.train`)."""
    runs = table.runs
    out = []
    for epochs in table.epochs.tolist():
        if epochs not in EPOCHS:  # a table may hold other budgets; they are no targets
            continue
        at = runs["run_epochs"] == epochs
        covered = len(np.unique(runs["run_cell"][at]))
        need = max(1, min(1000, covered // 2))
        for halfway in (False, True):
            for metric in METRICS:
                target = Target(metric, epochs, halfway)
                has = at & ~np.isnan(runs[target.column])
                if len(np.unique(runs["run_cell"][has])) >= need:
                    out.append(target.name)
    return out


def split_indices(
    n: int, train_size: int | float | None, seed: int, validation: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions ``(train, validation, test)`` into ``n`` labelled cells (the "Splits"
    section of :mod:`surrogate.train`).

    Raises
    ------
    ValueError
        If ``train_size`` is out of range or leaves no test cell.
    """
    if n < 3:
        raise ValueError(f"need at least 3 labelled cells to split, got {n}")
    if train_size is None:
        n_test = min(MAX_TEST, max(1, int(round(0.1 * n))))
        n_pool = n - n_test
    else:
        if isinstance(train_size, float) and not isinstance(train_size, bool):
            if not 0 < train_size <= 1:
                raise ValueError(f"train_size as a fraction must be in (0, 1], got {train_size}")
            n_pool = int(round(train_size * n))
        else:
            n_pool = int(train_size)
        if not 2 <= n_pool <= n - 1:
            raise ValueError(
                f"train_size must leave a test split: got {train_size} of {n} "
                f"labelled cells (allowed: 2 to {n - 1} cells)"
            )
        n_test = min(MAX_TEST, n - n_pool)
    perm = np.random.default_rng(seed).permutation(n)
    pool, test = perm[:n_pool], perm[n_pool : n_pool + n_test]
    if validation:
        n_val = max(2, int(round(0.1 * n_pool)))
        if n_pool - n_val < 2:
            raise ValueError(
                f"a training pool of {n_pool} cells is too small to hold out a validation split"
            )
        return pool[n_val:], pool[:n_val], test
    return pool, pool[:0], test
