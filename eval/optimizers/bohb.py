"""BOHB (Falkner et al. 2018): Hyperband whose new configurations come from a TPE-style KDE.

Written on the ask/tell interface (no HpBandSter, no optuna). A configuration is a genotype
(21 edge bits + 5 ops: 26 categorical dimensions). As in BOHB:

* the model uses the largest budget with at least ``min_points_in_model + 2`` observations
  (default ``d + 1 = 27``); below that, configurations are uniform;
* observations are split into the best ``max(min_points, top_n_percent %)`` ("good") and the
  next ``max(min_points, (100 - top_n_percent) %)`` ("bad"); one product of
  Aitchison-Aitken kernels per group, bandwidth per dimension ``1.06 * std * n**(-1/5)``
  (``statsmodels`` normal reference), at least ``min_bandwidth``;
* a proposal draws ``num_samples`` candidates around random good points (each dimension keeps
  the point's value with probability ``1 - bandwidth``, else is uniform) and returns the one
  maximising ``l(x) / g(x)``; a ``random_fraction`` of configurations stays uniform.

Deviation for speed: each KDE is fitted on at most ``max_kde_points`` observations (a seeded
subsample of the group). A candidate genotype that is not a valid cell is redrawn; on a
partial track it is mapped to its nearest covered cell (:meth:`eval.tracks.Track.project`).
"""

from __future__ import annotations

import numpy as np

from nb101.codec import NUM_EDGE_BITS, NUM_OP_SPOTS

from .hyperband import Hyperband

__all__ = ["BOHB"]

_CARD = np.array([2] * NUM_EDGE_BITS + [3] * NUM_OP_SPOTS)
_DIM = len(_CARD)


def _to_vectors(edges: np.ndarray, labels: np.ndarray) -> np.ndarray:
    bits = (edges.astype(np.int64)[:, None] >> np.arange(NUM_EDGE_BITS)) & 1
    return np.concatenate([bits, labels.astype(np.int64)], axis=1)


def _from_vectors(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    edges = (x[:, :NUM_EDGE_BITS] << np.arange(NUM_EDGE_BITS)).sum(1).astype(np.uint32)
    return edges, x[:, NUM_EDGE_BITS:].astype(np.int8)


_OFFSETS = np.r_[0, np.cumsum(_CARD)[:-1]]


def _onehot(x: np.ndarray) -> np.ndarray:
    out = np.zeros((len(x), int(_CARD.sum())), dtype=np.float64)
    out[np.arange(len(x))[:, None], _OFFSETS[None, :] + x] = 1.0
    return out


class _CategoricalKDE:
    """Product of Aitchison-Aitken kernels: ``1 - bw`` on a match, ``bw / (c - 1)`` else."""

    def __init__(self, data: np.ndarray, min_bandwidth: float):
        self.data = data
        n = len(data)
        bw = 1.06 * data.std(0) * n ** (-1 / 5)
        self.bw = np.clip(bw, min_bandwidth, (_CARD - 1) / _CARD)
        miss = np.log(self.bw / (_CARD - 1))
        self._base = miss.sum()
        gain = np.log(1 - self.bw) - miss  # added per matching dimension
        self._weighted = _onehot(data) * np.repeat(gain, _CARD)[None, :]

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        logk = self._base + _onehot(x) @ self._weighted.T  # (M, n)
        m = logk.max(1, keepdims=True)
        return m[:, 0] + np.log(np.exp(logk - m).mean(1))


class BOHB(Hyperband):
    """Parameters
    ----------
    eta : int (default: 3)
    min_points_in_model : int, optional (default: dimensions + 1 = 27)
    top_n_percent : int (default: 15)
    num_samples : int (default: 64)
    random_fraction : float (default: 1/3)
    min_bandwidth : float (default: 1e-3)
    max_kde_points : int (default: 256)
        Each KDE keeps at most this many points (a seeded subsample; keeps proposals fast).
    """

    name = "bohb"

    def __init__(
        self,
        *,
        eta: int = 3,
        min_points_in_model: int | None = None,
        top_n_percent: int = 15,
        num_samples: int = 64,
        random_fraction: float = 1 / 3,
        min_bandwidth: float = 1e-3,
        max_kde_points: int = 256,
    ):
        super().__init__(eta=eta)
        self.min_points_in_model = min_points_in_model
        self.top_n_percent = top_n_percent
        self.num_samples = num_samples
        self.random_fraction = random_fraction
        self.min_bandwidth = min_bandwidth
        self.max_kde_points = max_kde_points

    def setup(self, problem):
        super().setup(problem)
        self._genotype: dict[int, np.ndarray] = {}
        self._obs: dict[int, tuple[list, list]] = {e: ([], []) for e in self.budgets}
        self._min_points = self.min_points_in_model or _DIM + 1

    def observe(self, cells, epochs, values):
        xs, ys = self._obs[epochs]
        for c, v in zip(cells.tolist(), values.tolist()):
            xs.append(self._genotype[c])
            ys.append(-np.inf if v != v else v)

    def _models(self):
        for e in sorted(self.budgets, reverse=True):
            xs, ys = self._obs[e]
            if len(xs) >= self._min_points + 2:
                x, y = np.array(xs), np.array(ys)
                order = np.argsort(-y, kind="stable")
                n = len(y)
                n_good = max(self._min_points, self.top_n_percent * n // 100)
                n_bad = max(self._min_points, (100 - self.top_n_percent) * n // 100)
                good, bad = x[order[:n_good]], x[order[n_good : n_good + n_bad]]
                if len(bad) == 0:
                    return None
                for name in ("good", "bad"):  # bound the KDE cost (speed, documented)
                    pts = good if name == "good" else bad
                    if len(pts) > self.max_kde_points:
                        pick = self.rng.choice(len(pts), self.max_kde_points, replace=False)
                        pts = pts[np.sort(pick)]
                    if name == "good":
                        good = pts
                    else:
                        bad = pts
                return (
                    _CategoricalKDE(good, self.min_bandwidth),
                    _CategoricalKDE(bad, self.min_bandwidth),
                )
        return None

    def propose(self, n, epochs):
        p = self.problem
        models = self._models()
        cells: list[int] = []
        genotypes: list[np.ndarray] = []
        taken = set(self._seen)
        for attempt in range(5):
            need = n - len(cells)
            if need <= 0:
                break
            if models is None or attempt == 4:  # last round: uniform (avoids duplicates)
                model_based = np.zeros(need, dtype=bool)
            else:
                model_based = self.rng.random(need) >= self.random_fraction
            k = int(model_based.sum())
            new_c: list[int] = []
            new_x: list[np.ndarray] = []
            if k:
                good, bad = models
                m = self.num_samples
                base = good.data[self.rng.integers(0, len(good.data), k * m)]
                keep = self.rng.random(base.shape) < (1 - good.bw)
                uniform = (self.rng.random(base.shape) * _CARD).astype(np.int64)
                cand = np.where(keep, base, uniform)
                # score valid genotypes first, project only the winners (cheaper)
                cand_cells = p.codec.decode(*_from_vectors(cand))
                score = np.full(len(cand), -np.inf)
                ok = np.flatnonzero(cand_cells >= 0)
                if len(ok):
                    score[ok] = good.log_pdf(cand[ok]) - bad.log_pdf(cand[ok])
                score = score.reshape(k, m)
                best = np.argmax(score, axis=1)
                rows = np.flatnonzero(np.isfinite(score[np.arange(k), best]))
                winners = rows * m + best[rows]
                new_c.extend(p.project(cand_cells[winners]).tolist())
                new_x.extend(cand[winners])
            r = need - len(new_c)
            if r > 0:
                rand = p.sample(r)
                e, lab = p.encode(rand)
                new_c.extend(rand.tolist())
                new_x.extend(_to_vectors(e, lab))
            for c, x in zip(new_c, new_x):
                if c not in taken:
                    taken.add(c)
                    cells.append(c)
                    genotypes.append(x)
        if len(cells) < n:  # tiny spaces: allow repeats
            extra = p.sample(n - len(cells))
            e, lab = p.encode(extra)
            cells.extend(extra.tolist())
            genotypes.extend(_to_vectors(e, lab))
        for c, x in zip(cells, genotypes):
            self._genotype[c] = x
        return np.array(cells, dtype=np.int64)
