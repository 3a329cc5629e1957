"""BANANAS-style Bayesian optimisation (White et al. 2021): an ensemble on the path encoding.

* ``num_init`` uniform cells first;
* then repeatedly: fit an ensemble of ``num_members`` XGBoost regressors on bootstrap
  resamples of all evaluations (:class:`surrogate.ensemble.EnsembleModel` with
  ``bootstrap=True``; the ``"path"`` featurizer of :mod:`features`, 364 binary features);
  generate candidates by mutating (the notebook's ``mutate_spec``) the ``num_parents`` best
  evaluated cells ``num_mutations`` times each, plus ``num_random`` uniform cells; score every
  not yet evaluated candidate with independent Thompson sampling (one draw from
  ``N(mean, std)`` of the ensemble's predictions, BANANAS' ITS acquisition) and evaluate the
  best ``batch`` of them.

``batch`` grows with the data (``max(min_batch, n * batch_fraction)``), so the ensemble is
refitted about ``log(budget) / log(1 + batch_fraction)`` times, which keeps a
1,000-evaluation run at a few seconds.
"""

from __future__ import annotations

import numpy as np

from features import get_featurizer

from .base import Ask, Optimizer

__all__ = ["Bananas"]

_SEED_RANGE = 2**31 - 1


class Bananas(Optimizer):
    """Parameters
    ----------
    num_init : int (default: 20)
    num_members : int (default: 5)
    n_estimators, max_depth, learning_rate : XGBoost settings (default: 50, 4, 0.1)
    num_parents, num_mutations, num_random : candidate pool (default: 10, 10, 20)
    min_batch : int (default: 10)
    batch_fraction : float (default: 0.5)
    """

    name = "bananas"

    def __init__(
        self,
        *,
        num_init: int = 20,
        num_members: int = 5,
        n_estimators: int = 50,
        max_depth: int = 4,
        learning_rate: float = 0.1,
        num_parents: int = 10,
        num_mutations: int = 10,
        num_random: int = 20,
        min_batch: int = 10,
        batch_fraction: float = 0.5,
    ):
        self.num_init = num_init
        self.num_members = num_members
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.num_parents = num_parents
        self.num_mutations = num_mutations
        self.num_random = num_random
        self.min_batch = min_batch
        self.batch_fraction = batch_fraction

    def setup(self, problem):
        super().setup(problem)
        self._cells: list[int] = []
        self._values: list[float] = []
        self._genotypes: dict[int, tuple] = {}

    def ask(self) -> Ask:
        p = self.problem
        if len(self._cells) < self.num_init:
            cells = np.unique(p.sample(self.num_init - len(self._cells)))
            self._remember(cells, *p.encode(cells))
            return Ask(cells, p.max_epochs)
        n = len(self._cells)
        batch = max(self.min_batch, int(n * self.batch_fraction))
        cand = self._candidates()
        if not len(cand):
            cells = p.sample(batch)
            self._remember(cells, *p.encode(cells))
            return Ask(cells, p.max_epochs)
        mean, std = self._predict(cand)
        score = self.rng.normal(mean, std)
        chosen = cand[np.argsort(-score, kind="stable")[:batch]]
        return Ask(chosen, p.max_epochs)

    def _remember(self, cells, edges, labels):
        for c, e, lab in zip(cells.tolist(), edges, labels):
            self._genotypes.setdefault(c, (e, lab))

    def _candidates(self) -> np.ndarray:
        p = self.problem
        values = np.array(self._values)
        cells = np.array(self._cells)
        top = cells[np.argsort(-values, kind="stable")[: self.num_parents]]
        edges = np.array([self._genotypes[c][0] for c in top.tolist()]).repeat(self.num_mutations)
        labels = np.array([self._genotypes[c][1] for c in top.tolist()]).repeat(
            self.num_mutations, axis=0
        )
        e, lab, children = p.mutate(edges, labels)
        self._remember(children, e, lab)
        rand = p.sample(self.num_random)
        self._remember(rand, *p.encode(rand))
        cand = np.unique(np.concatenate([children, rand]))
        seen = np.array(self._cells)
        return cand[~np.isin(cand, seen)]

    def _ensemble(self):
        """An unfitted bootstrap ensemble of small XGBoost models (one thread, no target clip:
        the evaluations are the data, outliers included), seeded from the run's generator."""
        from surrogate.ensemble import EnsembleModel
        from surrogate.xgb import XGBRegressorModel

        base = XGBRegressorModel(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=0.8,
            colsample_bytree=1.0,
            clip_quantile=None,
            max_bin=2,
            n_jobs=1,
        )
        return EnsembleModel(
            base=base,
            n_members=self.num_members,
            bootstrap=True,
            random_state=int(self.rng.integers(_SEED_RANGE)),
        )

    def _predict(self, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        space = self.problem.codec.space
        paths = get_featurizer("path")
        X = paths.transform(np.array(self._cells), space)
        y = np.array(self._values)
        ok = np.isfinite(y)
        X, y = X[ok], y[ok]
        cols = np.flatnonzero(X.max(0) > 0)
        Xc = paths.transform(cand, space)[:, cols]
        X = X[:, cols]
        members = self._ensemble().fit(X, y).predict_members(Xc)  # (candidates, members)
        return members.mean(1), members.std(1) + 1e-6

    def tell(self, ask, values):
        for c, v in zip(ask.cells.tolist(), values.tolist()):
            self._cells.append(c)
            self._values.append(-np.inf if v != v else v)
