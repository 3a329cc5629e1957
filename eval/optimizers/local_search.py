"""Local search over the edit-distance-1 neighbourhood, with random restarts.

From a uniformly drawn cell, evaluate all its not yet evaluated neighbours (one ask, random
order); move to the best neighbour if it beats the current cell, else restart from a fresh
random cell (best-improvement hill climbing, as White et al. 2021 "Local search is
state of the art for NAS benchmarks"). Values are remembered, so no cell is bought twice.
"""

from __future__ import annotations

import numpy as np

from .base import Ask, Optimizer

__all__ = ["LocalSearch"]


class LocalSearch(Optimizer):
    """Parameters
    ----------
    first_improvement : bool (default: False)
        Move to the first better neighbour instead of scanning the whole neighbourhood.
    """

    name = "local"

    def __init__(self, *, first_improvement: bool = False):
        self.first_improvement = first_improvement

    def setup(self, problem):
        super().setup(problem)
        self._values: dict[int, float] = {}
        self._current: int | None = None
        self._asked_start = False

    def ask(self) -> Ask:
        p = self.problem
        while True:
            if self._current is None:
                for _ in range(100):
                    start = int(p.sample(1)[0])
                    if start not in self._values:
                        break
                self._asked_start = True
                return Ask(np.array([start]), p.max_epochs)
            nbrs = p.neighbours(self._current)
            todo = np.array([c for c in nbrs.tolist() if c not in self._values], dtype=np.int64)
            if len(todo):
                self.rng.shuffle(todo)
                if self.first_improvement:
                    todo = todo[:1]
                self._asked_start = False
                return Ask(todo, p.max_epochs)
            self._move(nbrs)

    def _move(self, nbrs: np.ndarray) -> None:
        cur = self._values[self._current]
        best = max(nbrs.tolist(), key=lambda c: self._values.get(c, -np.inf), default=None)
        if best is not None and self._values.get(best, -np.inf) > cur:
            self._current = best
        else:
            self._current = None  # local optimum: restart

    def tell(self, ask, values):
        for c, v in zip(ask.cells.tolist(), values.tolist()):
            self._values[c] = -np.inf if v != v else v
        if self._asked_start:
            self._current = int(ask.cells[0])
            return
        if self.first_improvement:
            c = int(ask.cells[0])
            if self._values[c] > self._values[self._current]:
                self._current = c
            return
        self._move(self.problem.neighbours(self._current))
