"""Curves of a surrogate against the table's: gap, Kendall tau, verdict agreement and bias,
each with a bootstrap interval over seeds (:func:`compare`), and the attainable reference of
an exactly right surrogate (:func:`attainable_reference`)."""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from ...stats import curve_gap, kendall_tau_b, nanmean, rank_values, sign_test, verdict_agreement
from .targets import curve_targets

__all__ = ["compare", "mean_curves", "leave_one_draw_out", "attainable_reference"]


def _seed_means(curves: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """(optimizers, grid) seed means."""
    return np.stack([nanmean(curves[n]) for n in names])


def _resampled_means(
    curves: dict[str, np.ndarray], names: list[str], idx: np.ndarray
) -> np.ndarray:
    """(boot, optimizers, grid) seed means of bootstrap resamples ``idx`` (boot, seeds)."""
    return np.stack([nanmean(curves[n][idx], axis=1) for n in names], axis=1)


def _interval(values: np.ndarray) -> list[float | None]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return [None, None]
    low, high = np.percentile(v, [2.5, 97.5])
    return [float(low), float(high)]


def compare(
    a: dict[str, np.ndarray],
    b: dict[str, np.ndarray],
    names: list[str],
    rank_at: list[int],
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Gap, tau, agreement and bias of curves ``a`` (surrogate) against ``b`` (table), each
    with a bootstrap interval over seeds."""
    rng = np.random.default_rng(seed)
    ma, mb = _seed_means(a, names), _seed_means(b, names)
    gap = {n: curve_gap(a[n], b[n]) for n in names}
    final = ma[:, -1] - mb[:, -1]
    out: dict[str, Any] = {
        "gap": gap,
        "mean_gap": float(np.nanmean(list(gap.values()))),
        "kendall_tau": [
            float(kendall_tau_b(rank_values(ma[:, i]), rank_values(mb[:, i]))) for i in rank_at
        ],
        "agreement": [],
        "significant_pairs": [],
        "bias": {n: float(d) for n, d in zip(names, final)},
        "mean_bias": float(np.nanmean(final)),
        "sign_test": sign_test(final),
    }
    for i in rank_at:
        share, pairs = verdict_agreement(a, b, i)
        out["agreement"].append(share)
        out["significant_pairs"].append(pairs)
    sa, sb = next(iter(a.values())).shape[0], next(iter(b.values())).shape[0]
    ia = rng.integers(0, sa, (n_boot, sa))
    ib = rng.integers(0, sb, (n_boot, sb))
    ba, bb = _resampled_means(a, names, ia), _resampled_means(b, names, ib)
    with np.errstate(invalid="ignore"):
        gaps = nanmean(np.abs(ba - bb), axis=2)  # (boot, optimizers)
    # |difference| is biased upwards by seed noise, so its resamples sit above the estimate:
    # the basic bootstrap interval (2 x estimate - percentiles) corrects for that
    low, high = _interval(np.nanmean(gaps, axis=1))
    out["mean_gap_ci"] = (
        [None, None]
        if low is None
        else [max(0.0, 2 * out["mean_gap"] - high), max(0.0, 2 * out["mean_gap"] - low)]
    )
    out["kendall_tau_ci"] = [
        _interval(kendall_tau_b(rank_values(ba[:, :, i]), rank_values(bb[:, :, i])))
        for i in rank_at
    ]
    out["mean_bias_ci"] = _interval(np.nanmean(ba[:, :, -1] - bb[:, :, -1], axis=1))
    out["agreement_ci"] = [_agreement_interval(a, b, names, i, ia, ib) for i in rank_at]
    return out


def _agreement_interval(a, b, names, at, ia, ib, alpha: float = 0.05) -> list[float | None]:
    """Bootstrap interval of the verdict agreement (vectorised Mann-Whitney tests)."""
    from scipy.stats import mannwhitneyu

    n_boot = len(ia)
    agree = np.zeros(n_boot)
    counted = np.zeros(n_boot)
    for x, y in itertools.combinations(names, 2):
        verdicts = []
        for curves, idx in ((a, ia), (b, ib)):
            u = curves[x][idx, at]
            v = curves[y][idx, at]
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN early budgets
                p = mannwhitneyu(u, v, axis=1, nan_policy="propagate").pvalue
                direction = np.sign(np.nanmedian(u, axis=1) - np.nanmedian(v, axis=1))
            verdicts.append(np.where(np.isfinite(p) & (p < alpha), direction, 0))
        significant = (verdicts[0] != 0) | (verdicts[1] != 0)
        counted += significant
        agree += significant & (verdicts[0] == verdicts[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return _interval(np.where(counted > 0, agree / counted, np.nan))


def mean_curves(
    curves: dict[str, dict[str, np.ndarray]], labels: list[str], names: list[str]
) -> dict[str, np.ndarray]:
    """Seed-by-seed mean over the draws ``labels`` of one surrogate."""
    return {n: nanmean(np.stack([curves[label][n] for label in labels]), axis=0) for n in names}


def leave_one_draw_out(
    curves: dict[str, dict[str, np.ndarray]], draws: list[str], names: list[str], rank_at: list[int]
) -> list[dict[str, Any]]:
    """Per draw, the comparison of the mean of the other draws (the surrogate) with that draw
    (playing the table): the cases of :func:`attainable_reference`."""
    cases = []
    for held in draws:
        rest = [d for d in draws if d != held]
        cases.append(
            compare(mean_curves(curves, rest, names), curves[held], names, rank_at, n_boot=1)
        )
    return cases


def attainable_reference(
    curves: dict[str, dict[str, np.ndarray]], draws: list[str], names: list[str], rank_at: list[int]
) -> dict[str, Any] | None:
    """What a surrogate that is exactly right would score: each draw in turn plays the
    table (one draw of runs, as the table is) and the mean of the other draws the
    surrogate. The share of these leave-one-draw-out cases meeting each target says how
    attainable the targets are at this study's noise (seeds, one table draw); the mean of
    K - 1 draws is a little noisier than the real comparison's mean of K."""
    if len(draws) < 3:
        return None
    cases = leave_one_draw_out(curves, draws, names, rank_at)
    met = [curve_targets(c) for c in cases]
    out: dict[str, Any] = {
        key: nanmean(np.array([c[key] for c in cases], dtype=float)).tolist()
        for key in ("kendall_tau", "agreement", "mean_gap")
    }
    out["mean_abs_bias"] = float(np.mean([abs(c["mean_bias"]) for c in cases]))
    out["gap"] = {n: float(np.nanmean([c["gap"][n] for c in cases])) for n in names}
    out["cases"] = len(cases)
    out["met"] = {key: float(np.mean([m[key] for m in met])) for key in met[0]}
    out["met"]["all"] = float(np.mean([all(m.values()) for m in met]))
    return out
