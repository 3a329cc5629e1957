"""Regularized evolution (Real et al. 2019) as in the NAS-Bench-101 notebook.

Population of ``population_size`` cells initialised uniformly; then each step samples
``tournament_size`` members, mutates the best (the notebook's ``mutate_spec`` on its
unpruned 7-vertex genotype, see :meth:`nb101.codec.CellCodec.mutate`), evaluates the child at
the maximum budget, appends it and removes the *oldest* member.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .base import Ask, Optimizer

__all__ = ["RegularizedEvolution"]


class RegularizedEvolution(Optimizer):
    """Parameters
    ----------
    population_size : int (default: 50)
    tournament_size : int (default: 10)
    mutation_rate : float (default: 1.0)
        Expected number of flipped edge bits and of changed ops is ``3 * rate`` and ``rate``.
    """

    name = "evolution"

    def __init__(
        self, *, population_size: int = 50, tournament_size: int = 10, mutation_rate: float = 1.0
    ):
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.mutation_rate = mutation_rate

    def setup(self, problem):
        super().setup(problem)
        self._pop: deque = deque()  # (edges, labels, value)
        self._pending: dict[int, tuple] = {}
        self._initialised = 0

    def ask(self) -> Ask:
        p = self.problem
        if self._initialised < self.population_size:
            n = self.population_size - self._initialised
            cells = p.sample(n)
            edges, labels = p.encode(cells)
            self._pending = {"init": (edges, labels)}
            return Ask(cells, p.max_epochs)
        members = list(self._pop)
        k = min(self.tournament_size, len(members))
        pick = self.rng.choice(len(members), size=k, replace=False)
        parent = max((members[i] for i in pick), key=lambda m: m[2])
        e, lab, cells = p.mutate(parent[0][None], parent[1][None], self.mutation_rate)
        self._pending = {"child": (e, lab)}
        return Ask(cells, p.max_epochs)

    def tell(self, ask, values):
        ((kind, (edges, labels)),) = self._pending.items()
        for i, v in enumerate(values):
            v = -np.inf if np.isnan(v) else float(v)
            self._pop.append((edges[i], labels[i], v))
            if kind == "init":
                self._initialised += 1
            elif len(self._pop) > self.population_size:
                self._pop.popleft()
