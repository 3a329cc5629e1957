"""The optimizer interface (ask/tell), the problem an optimizer sees, and the run loop.

An optimizer is a small class with keyword-only hyperparameters and three methods::

    class MyOptimizer(Optimizer):
        name = "mine"
        def setup(self, problem):              # once per run; problem.rng is seeded
            ...
        def ask(self) -> Ask:                  # cells (int array of cell indices), epochs
            ...
        def tell(self, ask, values):           # objective of the first len(values) cells
            ...

Add it to :data:`eval.optimizers.OPTIMIZERS` and every tool (CLI, tests) picks it up.

:func:`run` drives it: it queries each ask through the track's ``query_batch`` (the only way
to the backend), stops once the budget read from the track's budget counters is spent (the
last query may overshoot, by at most one query: an ask is cut after the first query that
reaches the budget) and records every query. Only the cut prefix is told.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..tracks import Track

__all__ = ["Ask", "Problem", "Optimizer", "RunResult", "run"]


@dataclass(frozen=True)
class Ask:
    """Cells to evaluate (cell indices of the space) at one number of epochs."""

    cells: np.ndarray
    epochs: int = 108


class Problem:
    """What an optimizer may use: the track's cells, moves and fidelities, a seeded RNG.

    Attributes
    ----------
    track : Track
        The adapter (its ``codec`` gives genotype encodings and mutation).
    fidelities : tuple of int
        Valid epochs, ascending; ``max_epochs`` is the last.
    rng : numpy.random.Generator
        The run's generator (seeded from the run seed).
    """

    def __init__(self, track: Track, budget: float, rng: np.random.Generator):
        self.track = track
        self.budget = float(budget)
        self.rng = rng
        self.codec = track.codec
        self.fidelities = tuple(sorted(track.fidelities))
        self.max_epochs = self.fidelities[-1]
        self.num_cells = len(track.covered)

    def spent(self) -> float:
        """Budget spent so far, read from the track's budget counters."""
        return self.track.spent()

    def sample(self, size: int) -> np.ndarray:
        """Uniformly drawn covered cells."""
        return self.track.sample(size, self.rng)

    def neighbours(self, cell: int) -> np.ndarray:
        """Covered cells one edit away."""
        return self.track.neighbours(int(cell))

    def project(self, cells: np.ndarray) -> np.ndarray:
        """Nearest covered cell of each cell (identity for covered cells)."""
        return self.track.project(cells)

    def encode(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Genotypes ``(edges, labels)`` of cells (padding labels drawn from :attr:`rng`)."""
        return self.codec.encode(cells, self.rng)

    def mutate(
        self, edges: np.ndarray, labels: np.ndarray, mutation_rate: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The notebook's ``mutate_spec`` on genotypes, children projected onto covered cells
        (a projected child's genotype becomes its cell's encoding). Returns
        ``(edges, labels, cells)``."""
        e, lab, cells = self.codec.mutate(edges, labels, self.rng, mutation_rate)
        projected = self.project(cells)
        moved = projected != cells
        if moved.any():
            e2, l2 = self.encode(projected[moved])
            e[moved], lab[moved] = e2, l2
        return e, lab, projected

    def decode(self, edges: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Cells of genotypes projected onto covered cells, -1 where invalid."""
        cells = self.codec.decode(edges, labels)
        ok = cells >= 0
        cells[ok] = self.project(cells[ok])
        return cells


class Optimizer(abc.ABC):
    """Base of all optimizers (see the module docstring).

    Parameters
    ----------
    seed : int, optional
        Ignored by :func:`run`, which seeds ``problem.rng``; kept for standalone use.
    """

    name: ClassVar[str]
    #: True if the optimizer queries budgets below the maximum (needs several fidelities).
    multi_fidelity: ClassVar[bool] = False

    def setup(self, problem: Problem) -> None:
        self.problem = problem
        self.rng = problem.rng

    @abc.abstractmethod
    def ask(self) -> Ask:
        """The next cells to evaluate (a non-empty batch at one budget)."""

    @abc.abstractmethod
    def tell(self, ask: Ask, values: np.ndarray) -> None:
        """Objective values of ``ask.cells[:len(values)]`` (NaN where the backend lacks one)."""

    def get_params(self) -> dict:
        """Hyperparameters (the keyword arguments of ``__init__``)."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {p: getattr(self, p) for p in names}


@dataclass
class RunResult:
    """Every query of a run in order.

    Attributes
    ----------
    cells, epochs, values : arrays (Q,)
        Queried cell, its budget in epochs and the objective the backend returned.
    spent : array (Q,)
        Cumulative budget after each query (track unit), consistent with the track counters.
    """

    cells: np.ndarray
    epochs: np.ndarray
    values: np.ndarray
    spent: np.ndarray
    budget: float
    max_epochs: int = 108

    def incumbents(self) -> tuple[np.ndarray, np.ndarray]:
        """Running incumbent after each query: ``(value, cell)``, counted over queries at the
        maximum budget only (NaN / -1 before the first one); ties keep the older."""
        v = np.where(
            (self.epochs == self.max_epochs) & ~np.isnan(self.values), self.values, -np.inf
        )
        best = np.maximum.accumulate(v) if len(v) else v
        # index of the running argmax
        pos = np.arange(len(v))
        is_new = np.r_[v[:1] > -np.inf, v[1:] > best[:-1]] if len(v) else v.astype(bool)
        idx = np.maximum.accumulate(np.where(is_new, pos, -1)) if len(v) else pos
        cells = np.where(idx >= 0, self.cells[np.maximum(idx, 0)], -1)
        return np.where(np.isfinite(best), best, np.nan), cells

    def curve(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Incumbent ``(value, cell)`` at each budget of ``grid`` (after all queries whose
        cumulative spend is <= the grid point)."""
        value, cell = self.incumbents()
        k = np.searchsorted(self.spent, grid, side="right") - 1
        ok = k >= 0
        out_v = np.full(len(grid), np.nan)
        out_c = np.full(len(grid), -1, dtype=np.int64)
        out_v[ok] = value[k[ok]]
        out_c[ok] = cell[k[ok]]
        return out_v, out_c

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "cells": self.cells,
            "epochs": self.epochs,
            "values": self.values,
            "spent": self.spent,
            "budget": np.array(self.budget),
            "max_epochs": np.array(self.max_epochs),
        }

    @classmethod
    def from_arrays(cls, a) -> RunResult:
        return cls(
            np.asarray(a["cells"]),
            np.asarray(a["epochs"]),
            np.asarray(a["values"]),
            np.asarray(a["spent"]),
            float(a["budget"]),
            int(a["max_epochs"]),
        )


def run(
    optimizer: Optimizer,
    track: Track,
    budget: float,
    seed: int,
    *,
    callbacks: Sequence[Callable[[Problem, Ask, np.ndarray], None]] = (),
    max_asks: int = 10_000_000,
) -> RunResult:
    """Run ``optimizer`` on ``track`` until ``budget`` (track unit) is spent.

    Parameters
    ----------
    optimizer : Optimizer
    track : Track
        Its budget counters are reset first and are the run's only budget account.
    budget : float
        Positive, in ``track.budget_unit``.
    seed : int
        Seeds the problem's generator (and so the optimizer).
    callbacks : sequence of callables
        ``callback(problem, ask, values)`` after every evaluated ask.

    Returns
    -------
    RunResult
    """
    if not budget > 0:
        raise ValueError(f"budget must be positive, got {budget!r}")
    # optimizers work on small arrays: a multi-threaded BLAS only adds contention
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _run(optimizer, track, budget, seed, callbacks, max_asks)


def _run(optimizer, track, budget, seed, callbacks, max_asks) -> RunResult:
    if optimizer.multi_fidelity and len(track.fidelities) < 2:
        raise ValueError(
            f"optimizer {optimizer.name!r} needs several budgets; track "
            f"{track.name!r} has {list(track.fidelities)}"
        )
    track.reset_budget_counters()
    problem = Problem(track, budget, np.random.default_rng(seed))
    optimizer.setup(problem)
    cells, epochs, values, spent = [], [], [], []
    for _ in range(max_asks):
        before = track.spent()
        if before >= budget:
            break
        ask = optimizer.ask()
        batch = np.asarray(ask.cells, dtype=np.int64)
        if not len(batch):
            raise RuntimeError(f"optimizer {optimizer.name!r} asked for no cells")
        cost = track.cost(batch, ask.epochs)
        after = before + np.cumsum(cost)
        keep = int(np.searchsorted(after, budget, side="left")) + 1  # first reaching budget
        batch, after = batch[:keep], after[:keep]
        result = track.query_batch(batch, ask.epochs)
        got = np.asarray(result[track.objective], dtype=np.float64)
        now = track.spent()
        if abs(now - after[-1]) > 1e-6 * max(1.0, abs(now)):
            raise RuntimeError(f"track charged {now - before}, expected {after[-1] - before}")
        after[-1] = now
        cells.append(batch)
        epochs.append(np.full(len(batch), ask.epochs, dtype=np.int64))
        values.append(got)
        spent.append(after)
        optimizer.tell(Ask(batch, ask.epochs), got)
        for cb in callbacks:
            cb(problem, Ask(batch, ask.epochs), got)

    def cat(xs, dt):
        return np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)

    return RunResult(
        cat(cells, np.int64),
        cat(epochs, np.int64),
        cat(values, np.float64),
        cat(spent, np.float64),
        float(budget),
        problem.max_epochs,
    )
