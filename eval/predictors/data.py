"""Targets and splits of the predictor protocol (see :mod:`eval.predictors`).

A *target* is ``"[halfway_]<metric>@<epochs>"`` (:func:`nb101.parse_target`) read
from a table file (:class:`nb101.tabular_benchmark.TabularBenchmark`): every cell with at
least one run that has the field gets ONE label, the first such run in table order (known
repeats in repeat order, then unknown repeats). For the real data that is repeat 0 of the
exhaustive table for ``test_accuracy@108`` and the sample's run (or a record's repeat 0) for
``validation_accuracy@<e>``. Cells with two or more runs of the field also give their runs to
the noise ceiling.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nb101 import CellSpace, get_space, parse_target
from nb101.paths import user_path

from ..errors import EvalConfigError

__all__ = [
    "TargetData",
    "Split",
    "load_target",
    "make_splits",
    "resolve_table",
    "STANDARD_SIZES",
    "DEFAULT_SIZES",
]

#: The field's standard training-set sizes on the exhaustive table (about 0.02 %, 0.04 %,
#: 0.1 % and 1 % of the 423,624 cells), each tested on the other cells.
STANDARD_SIZES = (100, 172, 424, 4236)
#: Training-set sizes on a log scale from 10 to 1,000 (half decades).
DEFAULT_SIZES = (10, 30, 100, 300, 1000)


@dataclass(frozen=True)
class TargetData:
    """One label per cell for one target, plus the repeated runs for the noise ceiling.

    Attributes
    ----------
    target : str
    table : str
        Where the labels come from (a path or ``"real data"``).
    cells : ndarray of int64 (K,)
        Space indices with a label, ascending.
    y : ndarray of float64 (K,)
        The label of each cell (one run).
    full_space : bool
        True when every cell of the space has a label (the standard splits are possible).
    repeat_cells : ndarray of int64 (M,)
        Cells with two or more runs of the target.
    repeat_runs : list of ndarray
        The runs of each of those cells.
    source : dict
        The table's ``source`` description.
    """

    target: str
    table: str
    cells: np.ndarray
    y: np.ndarray
    full_space: bool
    repeat_cells: np.ndarray
    repeat_runs: list = field(repr=False)
    source: dict = field(default_factory=dict, repr=False)


def resolve_table(table: str | os.PathLike | None) -> Path:
    """The table file of ``table``: None or ``"real"`` is the real data's combined table
    (:func:`nb101.real_table`: converted on first use).

    Raises
    ------
    EvalConfigError
        If the real table is asked for and neither it nor the real data exists (one line that
        says how to provide it), or the given table file does not exist.
    """
    from nb101 import real_table

    if table is None or str(table) == "real":
        try:
            return real_table()
        except FileNotFoundError as exc:
            raise EvalConfigError(f"table: no --table given, and {exc}") from None
    path = user_path(table)
    if not path.exists():
        raise EvalConfigError(f"table: {path} does not exist")
    return path


def load_target(
    table: str | os.PathLike | None, target: str, *, space: CellSpace | None = None
) -> TargetData:
    """Labels of ``target`` from ``table`` (see the module docstring).

    Raises
    ------
    ValueError
        If ``target`` is not a target name, or the table has fewer than 20 cells with it.
    TableError
        If ``table`` is not a table file.
    """
    from nb101 import TabularBenchmark

    parsed = parse_target(target)
    epochs, column = parsed.epochs, parsed.column
    path = resolve_table(table)
    bench = TabularBenchmark(path, space=space if space is not None else get_space())
    runs = bench.table.runs
    keep = (runs["run_epochs"] == epochs) & ~np.isnan(runs[column])
    rows = np.flatnonzero(keep)  # sorted by (cell, epochs, repeat), unknown repeats last
    run_cell = runs["run_cell"][rows].astype(np.int64)
    values = runs[column][rows].astype(np.float64)
    cells, first, counts = np.unique(run_cell, return_index=True, return_counts=True)
    if len(cells) < 20:
        available = _available_targets(bench)
        raise ValueError(
            f"target {target!r} has {len(cells)} labelled cells in the table "
            f"{path} (at least 20 needed); targets with data: {available}"
        )
    multi = np.flatnonzero(counts >= 2)
    repeat_runs = [values[first[i] : first[i] + counts[i]] for i in multi]
    return TargetData(
        target=target,
        table=str(path) if table not in (None, "real") else "real data",
        cells=cells,
        y=values[first],
        full_space=len(cells) == len(bench.space),
        repeat_cells=cells[multi],
        repeat_runs=repeat_runs,
        source=dict(bench.table.source),
    )


def _available_targets(bench) -> list[str]:
    runs = bench.table.runs
    out = []
    for e in bench.table.epochs.tolist():
        at = runs["run_epochs"] == e
        for when in ("final", "halfway"):
            for metric in (
                "validation_accuracy",
                "test_accuracy",
                "training_time",
                "train_accuracy",
            ):
                n = len(np.unique(runs["run_cell"][at & ~np.isnan(runs[f"{when}_{metric}"])]))
                if n >= 20:
                    out.append(f"{'halfway_' if when == 'halfway' else ''}{metric}@{e} ({n} cells)")
    return out


@dataclass(frozen=True)
class Split:
    """One training set and its test set (positions into ``TargetData.cells``).

    ``kind`` is ``"sample"`` (the fixed seeded test set) or ``"standard"`` (the exhaustive
    table's standard split: the other cells, or a seeded subset of them)."""

    kind: str
    size: int
    trial: int
    seed: int
    train: np.ndarray
    test: np.ndarray


def make_splits(
    data: TargetData,
    *,
    sizes: tuple[int, ...],
    standard_sizes: tuple[int, ...],
    trials: int,
    seed: int,
    test_size: int,
    standard_test_size: int | None,
) -> list[Split]:
    """All training/test splits of the protocol, in run order (size, then trial).

    ``"sample"`` splits: one fixed test set of ``min(test_size, K - max(sizes))`` cells drawn
    with ``seed``; trial ``t`` permutes the rest (the pool) with ``seed + 1 + t`` and trains
    on the first ``size`` cells, so one trial's training sets are nested across sizes.

    ``"standard"`` splits (only when ``data.full_space``): ``standard_test_size`` fixed test
    cells drawn with ``seed + 10_000`` (None: the test set is every cell outside the training
    set); trial ``t`` draws the training cells from the others with ``seed + 10_001 + t``.

    Raises
    ------
    ValueError
        If a size does not fit in the cells available.
    """
    n = len(data.cells)
    splits: list[Split] = []
    if sizes:
        n_test = min(int(test_size), n - max(sizes))
        if n_test < 10:
            raise ValueError(
                f"training size {max(sizes)} does not fit: the target has {n} "
                f"cells, and the test set needs at least 10 of them"
            )
        rng = np.random.default_rng(seed)
        order = rng.permutation(n)
        test, pool = np.sort(order[:n_test]), order[n_test:]
        perms = [np.random.default_rng(seed + 1 + t).permutation(pool) for t in range(trials)]
        for size in sizes:
            for t in range(trials):
                splits.append(
                    Split("sample", int(size), t, seed + 1 + t, np.sort(perms[t][:size]), test)
                )
    if standard_sizes:
        if not data.full_space:
            raise ValueError(
                f"the standard splits need a target that covers the whole space; "
                f"{data.target!r} has {n} cells of {len(get_space())}"
            )
        if standard_test_size is not None:
            rng = np.random.default_rng(seed + 10_000)
            order = rng.permutation(n)
            test, rest = np.sort(order[:standard_test_size]), order[standard_test_size:]
        else:
            test, rest = None, np.arange(n)
        for size in standard_sizes:
            if size > len(rest):
                raise ValueError(f"standard training size {size} does not fit in {len(rest)} cells")
            for t in range(trials):
                rng = np.random.default_rng(seed + 10_001 + t)
                train = np.sort(rng.choice(rest, size=size, replace=False))
                split_test = (
                    test
                    if test is not None
                    else np.setdiff1d(np.arange(n), train, assume_unique=True)
                )
                splits.append(Split("standard", int(size), t, seed + 10_001 + t, train, split_test))
    return splits
