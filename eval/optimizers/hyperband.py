"""Hyperband (Li et al. 2018) over the track's training budgets (4/12/36/108 epochs).

With ``eta = 3`` and the four NAS-Bench-101 budgets (``s_max = 3``), the brackets
``s = 3, 2, 1, 0`` start ``n = ceil(4 / (s + 1) * 3**s)`` = 27, 12, 6, 4 configurations at
4, 12, 36, 108 epochs; successive halving keeps the best ``floor(n_i / eta)`` of every rung
and trains them from scratch at the next budget (each NAS-Bench-101 budget is a separate
run). Brackets cycle until the budget is spent. New configurations are uniform covered cells;
:class:`eval.optimizers.bohb.BOHB` overrides :meth:`Hyperband.propose`.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Ask, Optimizer

__all__ = ["Hyperband"]


class Hyperband(Optimizer):
    """Parameters
    ----------
    eta : int (default: 3)
    """

    name = "hyperband"
    multi_fidelity = True

    def __init__(self, *, eta: int = 3):
        self.eta = eta

    def setup(self, problem):
        super().setup(problem)
        self.budgets = problem.fidelities
        self.s_max = len(self.budgets) - 1
        self._s = self.s_max
        self._rung = None  # (cells, rung index, n of this bracket)
        self._seen: set[int] = set()

    def propose(self, n: int, epochs: int) -> np.ndarray:
        """``n`` new configurations for a bracket starting at ``epochs`` (uniform, distinct)."""
        cells = self.problem.sample(n)
        fresh = [c for c in dict.fromkeys(cells.tolist()) if c not in self._seen]
        while len(fresh) < n and len(self._seen) + len(fresh) < self.problem.num_cells:
            more = self.problem.sample(n)
            fresh.extend(c for c in more.tolist() if c not in self._seen and c not in fresh)
        fresh = fresh[:n] if fresh else cells.tolist()[:n]
        return np.array(fresh, dtype=np.int64)

    def observe(self, cells: np.ndarray, epochs: int, values: np.ndarray) -> None:
        """Hook: every evaluation (BOHB's model data)."""

    def ask(self) -> Ask:
        if self._rung is None:
            s = self._s
            n = math.ceil((self.s_max + 1) / (s + 1) * self.eta**s)
            first = self.s_max - s
            cells = self.propose(n, self.budgets[first])
            self._seen.update(cells.tolist())
            self._rung = (cells, first)
            self._s = s - 1 if s > 0 else self.s_max
        cells, i = self._rung
        return Ask(cells, self.budgets[i])

    def tell(self, ask, values):
        self.observe(ask.cells[: len(values)], ask.epochs, values)
        cells, i = self._rung
        if i == len(self.budgets) - 1 or len(values) < len(cells):
            self._rung = None
            return
        v = np.where(np.isnan(values), -np.inf, values)
        keep = max(1, len(cells) // self.eta)
        order = np.argsort(-v, kind="stable")[:keep]
        self._rung = (cells[order], i + 1)
