"""Random search: uniformly drawn covered cells at the maximum budget, never one twice."""

from __future__ import annotations

import numpy as np

from .base import Ask, Optimizer

__all__ = ["RandomSearch"]


class RandomSearch(Optimizer):
    """Uniform random search over the track's cells.

    Parameters
    ----------
    batch_size : int
        Cells per ask (only affects speed; every query is recorded on its own).
    """

    name = "random"

    def __init__(self, *, batch_size: int = 64):
        self.batch_size = batch_size

    def setup(self, problem):
        super().setup(problem)
        self._seen: set[int] = set()

    def ask(self) -> Ask:
        p = self.problem
        size = min(self.batch_size, max(1, p.num_cells - len(self._seen)))
        cells = p.sample(size)
        fresh = [c for c in cells.tolist() if c not in self._seen]
        if not fresh:  # every cell seen (tiny spaces): sample with repeats
            fresh = cells.tolist()
        fresh = list(dict.fromkeys(fresh))
        self._seen.update(fresh)
        return Ask(np.array(fresh, dtype=np.int64), p.max_epochs)

    def tell(self, ask, values):
        pass
