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
* :func:`sign_test`: is the sign of (surrogate - table) across optimizers systematic?
* :func:`kendall_tau_b`: tau-b vectorised over leading axes (bootstrap resamples).
* :func:`nanmean`: the mean over seeds of curves that may hold NaN (no warnings).
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "curve_gap",
    "ranking_tau",
    "verdicts",
    "verdict_agreement",
    "draw_consistency",
    "sign_test",
    "kendall_tau_b",
    "nanmean",
    "rank_values",
    "ALPHA",
]

ALPHA = 0.05


def nanmean(x: np.ndarray, axis: int = 0) -> np.ndarray:
    """``np.nanmean`` without the warning on all-NaN slices (they give NaN): curves are NaN
    before an optimizer's first full-budget evaluation."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=axis)


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall tau-b between ``x`` and ``y`` along the last axis (NaN where one side is
    constant), for many small rankings at once; equals ``scipy.stats.kendalltau``."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    i, j = np.triu_indices(x.shape[-1], 1)
    sx = np.sign(x[..., i] - x[..., j])
    sy = np.sign(y[..., i] - y[..., j])
    n0 = len(i)
    tx = n0 - np.count_nonzero(sx == 0, axis=-1)
    ty = n0 - np.count_nonzero(sy == 0, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((tx > 0) & (ty > 0), (sx * sy).sum(-1) / np.sqrt(tx * ty), np.nan)


def sign_test(differences: np.ndarray) -> dict[str, float]:
    """Two-sided sign test of ``differences`` (one per optimizer; zeros and NaN dropped):
    under no systematic bias each sign is a fair coin."""
    from scipy.stats import binomtest

    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d) & (d != 0)]
    positive, n = int((d > 0).sum()), len(d)
    p = float(binomtest(positive, n, 0.5).pvalue) if n else float("nan")
    return {"positive": positive, "negative": n - positive, "p": p}


def curve_gap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of the seed-mean curves over grid points defined on both."""
    d = np.abs(nanmean(a) - nanmean(b))
    return float(np.nanmean(d)) if np.isfinite(d).any() else float("nan")


def rank_values(means: np.ndarray) -> np.ndarray:
    """Seed means as values to rank: an optimizer without any result yet ranks below every
    result, tied with other such optimizers (-inf would make the differences NaN)."""
    return np.where(np.isfinite(means), means, -1e300)


def ranking_tau(a: dict[str, np.ndarray], b: dict[str, np.ndarray], at: int) -> float:
    """Kendall tau-b between the optimizers' seed means at grid index ``at``."""
    names = sorted(set(a) & set(b))
    if len(names) < 2:
        return float("nan")
    x = rank_values(np.array([nanmean(a[n][:, at : at + 1])[0] for n in names]))
    y = rank_values(np.array([nanmean(b[n][:, at : at + 1])[0] for n in names]))
    return float(kendall_tau_b(x, y))


def verdicts(
    curves: dict[str, np.ndarray], at: int, alpha: float = ALPHA
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
        out[(a, b)] = (
            0
            if p >= alpha
            else int(np.sign(np.median(x) - np.median(y)) or np.sign(x.mean() - y.mean()))
        )
    return out


def verdict_agreement(
    a: dict[str, np.ndarray], b: dict[str, np.ndarray], at: int, alpha: float = ALPHA
) -> tuple[float, int]:
    """``(share, pairs)``: share of pairs significant on either side with equal verdicts,
    and the number of such pairs."""
    va, vb = verdicts(a, at, alpha), verdicts(b, at, alpha)
    pairs = [k for k in va if k in vb and (va[k] != 0 or vb[k] != 0)]
    if not pairs:
        return float("nan"), 0
    return float(np.mean([va[k] == vb[k] for k in pairs])), len(pairs)


def draw_consistency(
    table: dict[str, np.ndarray], draws: list[dict[str, np.ndarray]], at: int
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
        T = float(nanmean(table[n][:, at : at + 1])[0])
        D = np.array([nanmean(d[n][:, at : at + 1])[0] for d in draws], dtype=float)
        D = D[np.isfinite(D)]
        k = len(D)
        sd = float(np.std(D, ddof=1)) if k >= 2 else float("nan")
        stat = p = float("nan")
        if k >= 2 and sd > 0 and np.isfinite(T):
            stat = float((T - D.mean()) / (sd * np.sqrt(1 + 1 / k)))
            p = float(2 * student.sf(abs(stat), k - 1))
        out[n] = {
            "table": T,
            "draws_mean": float(D.mean()) if k else float("nan"),
            "draws_sd": sd,
            "t": stat,
            "p": p,
            "draws": k,
        }
    return out
