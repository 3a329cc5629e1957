"""Landscape fidelity: does a surrogate's landscape look like the table's on the same cells?

Optimizers meet a landscape through its neighbourhoods and its top, so six statistics are
measured on the values of one run per cell (the table's run, one simulated run of the
surrogate) over a track's cells and its neighbourhood graph (:meth:`eval.tracks.Track.
neighbours`: edit-distance-1 cells, projected onto the covered cells):

``neighbour_corr``
    Rank (Spearman) correlation of the values of a cell and of each of its neighbours.
``walk_autocorr_<k>``
    Rank autocorrelation at lag ``k`` = 1..5 of the values along random walks (each step to a
    uniformly drawn neighbour), pooled over walks. A cell without neighbours restarts its walk
    at a fresh cell, and no pair spans a restart. The space has one such cell, the two-vertex
    cell input -> output, which many cells prune to; a multi-fidelity fold also has cells all
    of whose neighbours project onto themselves. Walks that stayed on them were absorbed (88
    of 100 within 50 steps on the full track, every walk on a fold), and the statistic
    measured where those few cells' values rank.
``local_optima``
    Share of cells no neighbour of which is better.
``climb_length``
    Steps of best-improvement hill climbing from a random cell to a local optimum.
``improve_prob``
    Probability that a uniformly drawn neighbour of a random cell is better.
``top1_mean``
    Mean value of the best 1 % of the cells.

Every statistic comes from seeded random units (start cells, walks, climbs); its 95 %
interval is a percentile bootstrap over those units, so the table's interval says how
precisely the sample pins the statistic down. A surrogate matches a statistic when its value
lies inside the table's interval. Correlations are rank correlations: a few runs collapse
to chance accuracy (~0.1), and such outliers would dominate a Pearson correlation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["LANDSCAPE_STATS", "LandscapeSample", "landscape_sample", "landscape_stats", "WALK_LAGS"]

WALK_LAGS = (1, 2, 3, 4, 5)
LANDSCAPE_STATS = (
    "neighbour_corr",
    *(f"walk_autocorr_{k}" for k in WALK_LAGS),
    "local_optima",
    "climb_length",
    "improve_prob",
    "top1_mean",
)


@dataclass(frozen=True)
class LandscapeSample:
    """The random units of the statistics, drawn once per track and shared by every backend
    (so table and surrogate are measured on the same cells and walks).

    Attributes
    ----------
    cells : ndarray (N,)
        The track's cells.
    starts : ndarray (S,)
        Start cells (neighbour correlation, local optima, improvement, climbs).
    walks : ndarray (W, L)
        Random walks over the neighbourhood graph.
    picks : ndarray (S,)
        A uniformly drawn neighbour of each start cell.
    restarts : ndarray (W, L), bool
        Where a walk went on from a fresh cell instead of a neighbour (the cell before had
        none): no autocorrelation pair spans such a step.
    """

    cells: np.ndarray
    starts: np.ndarray
    walks: np.ndarray
    picks: np.ndarray
    restarts: np.ndarray


def landscape_sample(
    cells: np.ndarray,
    neighbours: Callable[[int], np.ndarray],
    *,
    num_starts: int = 500,
    num_walks: int = 100,
    walk_length: int = 50,
    seed: int = 0,
) -> LandscapeSample:
    """Draw the start cells, walks and neighbour picks of :func:`landscape_stats`."""
    rng = np.random.default_rng(seed)
    cells = np.asarray(cells, dtype=np.int64)
    starts = rng.choice(cells, size=min(num_starts, len(cells)), replace=False)
    picks = np.array([_pick(neighbours(int(c)), rng, int(c)) for c in starts], dtype=np.int64)
    walks = np.empty((num_walks, walk_length), dtype=np.int64)
    restarts = np.zeros((num_walks, walk_length), dtype=bool)
    for w in range(num_walks):
        c = int(rng.choice(cells))
        for t in range(walk_length):
            walks[w, t] = c
            nbrs = neighbours(c)
            if len(nbrs):
                c = int(nbrs[rng.integers(len(nbrs))])
            elif t + 1 < walk_length:  # a dead end would absorb the walk: start afresh
                c = int(rng.choice(cells))
                restarts[w, t + 1] = True
    return LandscapeSample(cells, starts, walks, picks, restarts)


def _pick(nbrs: np.ndarray, rng: np.random.Generator, cell: int) -> int:
    return int(nbrs[rng.integers(len(nbrs))]) if len(nbrs) else cell


def landscape_stats(
    sample: LandscapeSample,
    values: np.ndarray,
    neighbours: Callable[[int], np.ndarray],
    *,
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """The statistics of the module docstring with percentile-bootstrap 95 % intervals.

    Parameters
    ----------
    sample : LandscapeSample
    values : ndarray
        One value per cell of the space (indexed by cell; only the track's cells are read).
    neighbours : callable
        The track's neighbourhood (cell -> covered neighbour cells).

    Returns
    -------
    dict
        statistic -> ``{"value", "ci_low", "ci_high"}``; the walk autocorrelations also give
        ``"pairs"``, the pairs they pool (none spans a restart).
    """
    rng = np.random.default_rng(seed)
    v = np.asarray(values, dtype=np.float64)
    # per start cell: its neighbours' values (ragged), local optimum flag, climb length
    own, nbr_vals = [], []
    optimum, climbs = [], []
    for c in sample.starts.tolist():
        nb = neighbours(c)
        own.append(v[c])
        nbr_vals.append(v[nb])
        optimum.append(float(not len(nb) or v[nb].max() <= v[c]))
        climbs.append(_climb(c, v, neighbours))
    own = np.array(own)
    optimum = np.array(optimum)
    climbs = np.array(climbs, dtype=np.float64)
    improve = (v[sample.picks] > v[sample.starts]).astype(np.float64)
    walk_vals = v[sample.walks]
    # restarts in (t, t + lag] per lag: such a pair spans two walks
    restarts_so_far = np.cumsum(sample.restarts, axis=1)
    spans = {lag: restarts_so_far[:, lag:] > restarts_so_far[:, :-lag] for lag in WALK_LAGS}
    top = np.sort(v[sample.cells])[::-1][: max(1, len(sample.cells) // 100)]

    pairs = _neighbour_pairs(own, nbr_vals)

    def neighbour_corr(idx: np.ndarray) -> float:
        return _corr(*pairs(idx))

    def walk_corr(idx: np.ndarray, lag: int) -> float:
        w, keep = walk_vals[idx], ~spans[lag][idx]
        return _corr(w[:, :-lag][keep], w[:, lag:][keep])

    per_start = {
        "neighbour_corr": neighbour_corr,
        "local_optima": lambda idx: float(optimum[idx].mean()),
        "climb_length": lambda idx: float(climbs[idx].mean()),
        "improve_prob": lambda idx: float(improve[idx].mean()),
    }
    out = {}
    starts = np.arange(len(own))
    walks = np.arange(len(walk_vals))
    for name, stat in per_start.items():
        out[name] = _bootstrap(stat, starts, rng, n_boot)
    for lag in WALK_LAGS:
        out[f"walk_autocorr_{lag}"] = {
            **_bootstrap(lambda idx, k=lag: walk_corr(idx, k), walks, rng, n_boot),
            "pairs": int((~spans[lag]).sum()),
        }
    out["top1_mean"] = _bootstrap(
        lambda idx: float(top[idx].mean()), np.arange(len(top)), rng, n_boot
    )
    return {name: out[name] for name in LANDSCAPE_STATS}


def _neighbour_pairs(
    own: np.ndarray, neighbour_values: list[np.ndarray]
) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``pairs(idx)``: the (own value, neighbour value) pairs of the units ``idx`` (a bootstrap
    resample, repeats allowed), in its order: unit ``i``'s value ``own[i]`` once per value of
    ``neighbour_values[i]``. The same arrays as concatenating the units one by one, in a few
    array operations (a bootstrap asks for them a thousand times)."""
    counts = np.array([len(x) for x in neighbour_values], dtype=np.int64)
    flat = np.concatenate([np.asarray(x, dtype=np.float64) for x in neighbour_values] or [[]])
    first = np.cumsum(counts) - counts
    own = np.asarray(own, dtype=np.float64)

    def pairs(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.asarray(idx, dtype=np.int64)
        lengths = counts[idx]
        # a unit's positions in flat, shifted by where its run starts in the output
        shift = np.repeat(first[idx] - (np.cumsum(lengths) - lengths), lengths)
        return np.repeat(own[idx], lengths), flat[shift + np.arange(int(lengths.sum()))]

    return pairs


def _climb(
    start: int, v: np.ndarray, neighbours: Callable[[int], np.ndarray], max_steps: int = 1000
) -> int:
    c, steps = start, 0
    while steps < max_steps:
        nb = neighbours(c)
        if not len(nb):
            break
        best = int(nb[np.argmax(v[nb])])
        if v[best] <= v[c]:
            break
        c, steps = best, steps + 1
    return steps


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import rankdata

    ok = np.isfinite(a) & np.isfinite(b)
    a, b = rankdata(a[ok]), rankdata(b[ok])
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def _bootstrap(
    stat: Callable[[np.ndarray], float], units: np.ndarray, rng: np.random.Generator, n_boot: int
) -> dict[str, float]:
    value = stat(units)
    boots = np.array([stat(rng.choice(units, len(units))) for _ in range(n_boot)])
    boots = boots[np.isfinite(boots)]
    low, high = np.percentile(boots, [2.5, 97.5]) if len(boots) else (np.nan, np.nan)
    return {"value": value, "ci_low": float(low), "ci_high": float(high)}
