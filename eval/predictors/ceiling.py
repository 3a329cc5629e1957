"""Noise ceiling of the protocol: how high Kendall tau can go against one-run labels.

A label is one training run ``y = mu + e`` of a cell whose mean over runs is ``mu``; even a
predictor that knows ``mu`` exactly reaches only ``tau(mu, y) < 1``. Two estimates:

``"repeats"`` (direct)
    On the cells with two or more runs: Kendall tau between run ``k`` and the mean of the
    cell's other runs, averaged over ``k``; 95 % interval by a percentile bootstrap over cells
    (``n_boot`` resamples). The mean of the others is itself noisy, so this is a conservative
    (low) estimate of ``tau(mu, y)``. It is the estimate when at least half of the test cells
    (and at least 200 cells) have repeats, e.g. an official table with three repeats.
``"simulated"``
    When only a few cells have repeats (the real data: 56 cells with 3 runs at 108 epochs, 4
    at 4/12/36): the run-to-run standard deviation ``sigma`` is the pooled within-cell
    standard deviation of those cells, estimated as the surrogate's noise model estimates it
    (:func:`surrogate.noise.pooled_run_std`: deviations from each cell's mean, rescaled by
    ``sqrt(n / (n - 1))``, then 1.4826 x MAD, so one odd run does not set the scale). The
    means of the test cells are approximated by shrinking their
    labels towards the label mean so that their variance is ``var(y) - sigma**2`` (the
    variance of the means), Gaussian noise of ``sigma`` is added, and tau between the two is
    the ceiling; averaged over ``n_sim`` noise draws. 95 % interval: percentile bootstrap over
    the repeat cells (``sigma`` re-estimated, one noise draw each). Caveats: the noise is taken
    as Gaussian and the same for every cell, while bad cells are noisier and runs sometimes
    collapse to chance accuracy; and the repeat cells are not a random sample of the space (the
    real records are 52 cells from NASLib's test asset plus the 4 best cells).

With no cell with two runs there is no estimate (``method = "none"``).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from surrogate.noise import pooled_run_std

__all__ = ["noise_ceiling"]


def _tau(a: np.ndarray, b: np.ndarray) -> float:
    return float(stats.kendalltau(a, b).statistic)


def _direct(runs: list[np.ndarray]) -> float:
    """Mean over k of tau(run k, mean of the other runs), over cells with > k runs."""
    taus = []
    max_runs = max(len(r) for r in runs)
    for k in range(max_runs):
        sel = [r for r in runs if len(r) > k]
        if len(sel) < 3:
            continue
        own = np.array([r[k] for r in sel])
        others = np.array([(r.sum() - r[k]) / (len(r) - 1) for r in sel])
        taus.append(_tau(own, others))
    return float(np.nanmean(taus)) if taus else float("nan")


def _simulate(y: np.ndarray, sigma: float, rng: np.random.Generator, draws: int) -> float:
    var_y = float(y.var())
    var_mu = max(var_y - sigma**2, 0.0)
    mu = y.mean() + (y - y.mean()) * (np.sqrt(var_mu / var_y) if var_y > 0 else 0.0)
    return float(np.mean([_tau(mu, mu + rng.normal(0.0, sigma, len(mu))) for _ in range(draws)]))


def noise_ceiling(
    repeat_runs: list[np.ndarray],
    test_labels: np.ndarray,
    *,
    repeat_test_share: float = 0.0,
    seed: int = 0,
    n_boot: int = 200,
    n_sim: int = 10,
) -> dict:
    """Kendall-tau ceiling of a target (see the module docstring).

    Parameters
    ----------
    repeat_runs : list of 1-d arrays
        The runs of every cell with two or more runs of the target.
    test_labels : ndarray
        The labels of the test set (the distribution the ceiling is simulated over).
    repeat_test_share : float
        Share of the test cells that have repeats (chooses the direct estimate when >= 0.5).
    seed : int
        Seeds the bootstrap and the noise draws.

    Returns
    -------
    dict
        ``method`` (``"repeats"``, ``"simulated"`` or ``"none"``), ``kendall_tau``,
        ``ci_low``, ``ci_high``, ``n_repeat_cells``, ``sigma`` (simulated), ``direct``
        (the direct estimate on the repeat cells, with its interval, when simulated) and
        ``note``.
    """
    rng = np.random.default_rng(seed)
    runs = [np.asarray(r, dtype=np.float64) for r in repeat_runs if len(r) >= 2]
    out: dict = {
        "method": "none",
        "kendall_tau": None,
        "ci_low": None,
        "ci_high": None,
        "n_repeat_cells": len(runs),
    }
    if len(runs) < 3:
        out["note"] = (
            f"no noise ceiling: {len(runs)} cells of the target have two or more "
            f"runs (at least 3 needed)"
        )
        return out
    idx = np.arange(len(runs))
    direct = _direct(runs)
    boot_direct = [_direct([runs[i] for i in rng.choice(idx, len(idx))]) for _ in range(n_boot)]
    d_lo, d_hi = np.nanpercentile(boot_direct, [2.5, 97.5])
    if repeat_test_share >= 0.5 and len(runs) >= 200:
        out.update(
            method="repeats",
            kendall_tau=direct,
            ci_low=float(d_lo),
            ci_high=float(d_hi),
            note=(
                f"Kendall tau between one run and the mean of the others, over "
                f"{len(runs)} cells with repeats (percentile bootstrap over cells); "
                f"conservative, the mean of the others being noisy too"
            ),
        )
        return out
    y = np.asarray(test_labels, dtype=np.float64)
    sigma = pooled_run_std(runs)[0]
    value = _simulate(y, sigma, rng, n_sim)
    boot = [
        _simulate(y, pooled_run_std([runs[i] for i in rng.choice(idx, len(idx))])[0], rng, 1)
        for _ in range(n_boot)
    ]
    lo, hi = np.percentile(boot, [2.5, 97.5])
    out.update(
        method="simulated",
        kendall_tau=value,
        ci_low=float(lo),
        ci_high=float(hi),
        sigma=sigma,
        direct={"kendall_tau": direct, "ci_low": float(d_lo), "ci_high": float(d_hi)},
        note=(
            f"the labels are single training runs and only {len(runs)} cells have "
            f"repeats: run-to-run sigma = {sigma:.4f} "
            f"pooled over them (robust, as the surrogate's noise model), then "
            f"tau(mu, mu + N(0, sigma^2)) simulated over the "
            f"test labels shrunk to the variance of the means; Gaussian, "
            f"homoscedastic noise assumed, and the repeat cells are not a random "
            f"sample of the space (direct tau between one repeat and the mean of the "
            f"others on those cells: {direct:.3f} [{d_lo:.3f}, {d_hi:.3f}])"
        ),
    )
    return out
