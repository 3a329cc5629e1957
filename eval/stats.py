"""Statistics of the fidelity study: curve gaps, ranking correlation, pairwise verdicts.

All functions take ``curves[optimizer] -> array (seeds, grid)`` of incumbent values.

* :func:`curve_gap`: mean over the grid of ``|mean_seeds(a) - mean_seeds(b)|``.
* :func:`ranking_tau`: Kendall tau between the optimizers' mean values at one grid point.
* :func:`verdicts` / :func:`verdict_agreement`: per optimizer pair, "A beats B", "B beats A"
  or "no difference" by a two-sided Mann-Whitney U test over seeds at ``alpha``; the agreement
  is the share of pairs significant on at least one side whose verdicts are equal (NaN if no
  pair is significant anywhere).
* :func:`draw_consistency`: per optimizer, is the table's result a plausible further draw of
  a surrogate whose simulated runs were drawn several times (a t test with K - 1 dof)?
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["curve_gap", "ranking_tau", "verdicts", "verdict_agreement", "draw_consistency",
           "ALPHA"]

ALPHA = 0.05


def _mean(curve: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(curve, axis=0)


def curve_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of the seed-mean curves over grid points defined on both."""
    d = np.abs(_mean(a) - _mean(b))
    return float(np.nanmean(d)) if np.isfinite(d).any() else float("nan")


def ranking_tau(a: dict[str, np.ndarray], b: dict[str, np.ndarray], at: int) -> float:
    """Kendall tau-b between the optimizers' seed means at grid index ``at``."""
    from scipy.stats import kendalltau
    names = sorted(set(a) & set(b))
    x = [np.nanmean(a[n][:, at]) if np.isfinite(a[n][:, at]).any() else -np.inf
         for n in names]
    y = [np.nanmean(b[n][:, at]) if np.isfinite(b[n][:, at]).any() else -np.inf
         for n in names]
    if len(names) < 2:
        return float("nan")
    tau = kendalltau(x, y).statistic
    return float(tau)


def verdicts(curves: dict[str, np.ndarray], at: int, alpha: float = ALPHA
             ) -> dict[tuple[str, str], int]:
    """``+1`` (A beats B), ``-1`` (B beats A) or ``0`` per pair (A, B), A < B by name."""
    from scipy.stats import mannwhitneyu
    out = {}
    for a, b in itertools.combinations(sorted(curves), 2):
        x = curves[a][:, at]
        y = curves[b][:, at]
        x, y = x[np.isfinite(x)], y[np.isfinite(y)]
        if len(x) < 2 or len(y) < 2 or (np.ptp(np.r_[x, y]) == 0):
            out[(a, b)] = 0
            continue
        p = mannwhitneyu(x, y, alternative="two-sided").pvalue
        out[(a, b)] = 0 if p >= alpha else int(np.sign(np.median(x) - np.median(y)) or
                                                   np.sign(x.mean() - y.mean()))
    return out


def verdict_agreement(a: dict[str, np.ndarray], b: dict[str, np.ndarray], at: int,
                      alpha: float = ALPHA) -> tuple[float, int]:
    """``(share, pairs)``: share of pairs significant on either side with equal verdicts,
    and the number of such pairs."""
    va, vb = verdicts(a, at, alpha), verdicts(b, at, alpha)
    pairs = [k for k in va if k in vb and (va[k] != 0 or vb[k] != 0)]
    if not pairs:
        return float("nan"), 0
    return float(np.mean([va[k] == vb[k] for k in pairs])), len(pairs)


def draw_consistency(table: dict[str, np.ndarray], draws: list[dict[str, np.ndarray]], at: int
                     ) -> dict[str, dict[str, float]]:
    """Per optimizer: is the table's seed mean a plausible further draw of the surrogate?

    ``draws`` are the curves of K >= 2 draws of one surrogate's simulated runs, over the same
    seeds as ``table``. If the table and the draws are exchangeable realizations of one
    benchmark, ``t = (T - mean(D)) / (sd(D) * sqrt(1 + 1/K))`` (T the table's seed mean, D the
    draws' seed means) follows Student's t with K - 1 degrees of freedom; ``p`` is two-sided.
    A small ``p`` says the surrogate is biased for that optimizer beyond what the luck of one
    draw of training runs explains. NaN where undefined (fewer than 2 draws, no spread).
    """
    from scipy.stats import t as student
    out = {}
    for n in sorted(table):
        T = float(_mean(table[n][:, at:at + 1])[0])
        D = np.array([_mean(d[n][:, at:at + 1])[0] for d in draws], dtype=float)
        D = D[np.isfinite(D)]
        k = len(D)
        sd = float(np.std(D, ddof=1)) if k >= 2 else float("nan")
        stat = p = float("nan")
        if k >= 2 and sd > 0 and np.isfinite(T):
            stat = float((T - D.mean()) / (sd * np.sqrt(1 + 1 / k)))
            p = float(2 * student.sf(abs(stat), k - 1))
        out[n] = {"table": T, "draws_mean": float(D.mean()) if k else float("nan"),
                  "draws_sd": sd, "t": stat, "p": p, "draws": k}
    return out
