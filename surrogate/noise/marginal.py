"""Rule 4: simulated runs take the table's marginal distribution.

Where the training data gave one (the labels the model was fitted on, a uniform sample of the
space), simulated runs pass through a monotone map ``Q_labels(F_sim(value))``: ``F_sim`` is
the distribution of one reference draw of runs (rules 1-3 and 5, levels from
:data:`~surrogate.noise.levels.REFERENCE_KEY`) over the whole space, fitted once at training
time by :func:`fit_transfer` and stored with the artifact. The surrogate supplies the order of
the cells, the table the distribution of the values. Why: where the model has partly memorised
its training labels (their run noise included), added run noise widens the distribution, and
the best cells an optimizer finds come out too good.

**Upper tail.** The labels are a sample, the surrogate answers for the whole space: the best
of its 423,624 cells lies above the best of a few thousand labels, and an empirical quantile
function would cap every simulated run at the sample's maximum. So the labels' top 1 % (at
least :data:`TAIL_MIN` labels) is modelled by a generalized Pareto distribution fitted to the
exceedances over its threshold (peaks over threshold; the shape capped at 0, a bounded or
exponential tail, as accuracies and times are), and the marginal's levels above the threshold
are that fit's quantiles (:func:`label_quantiles`).

The fit is Zhang and Stephens' (2009) estimator (:func:`fit_generalized_pareto`), not maximum
likelihood: with the few dozen exceedances of a small training set (50 for a surrogate
fitted on 1 % of the space) maximum likelihood makes the tail too short, and the best cells
of the space too poor, by about the bias that the full track's 1 % surrogate showed (every
optimizer pessimistic). ``benchmarks/bench_marginal_tail.py`` measures the fitted quantiles
against the whole space's.
"""

from __future__ import annotations

import numpy as np

from .levels import MARGINAL_LEVELS, REFERENCE_ERROR_KEY, REFERENCE_KEY, uniform_levels
from .target import TargetNoise, unmapped_run

__all__ = ["TAIL_MIN", "fit_generalized_pareto", "label_quantiles", "fit_transfer"]

#: Fewest labels in the modelled upper tail of rule 4's marginal (and 1 % of the labels).
TAIL_MIN = 50


def fit_generalized_pareto(excess: np.ndarray) -> tuple[float, float]:
    """Shape and scale (:data:`scipy.stats.genpareto`'s ``c`` and ``scale``, location 0) of a
    generalized Pareto distribution fitted to the exceedances ``excess`` (>= 0, at least two of
    them positive) by Zhang and Stephens' estimator (Technometrics 51(3), 2009): the posterior
    mean of the profile likelihood over a grid of ``theta = -shape / scale``, with their grid
    and prior. Its bias at a few dozen exceedances is small where maximum likelihood's is not.
    """
    from scipy.special import softmax

    x = np.sort(np.asarray(excess, dtype=np.float64).ravel())
    n = len(x)
    quartile = x[int(n / 4 + 0.5) - 1]
    if quartile <= 0:  # a quarter of the exceedances tied at the threshold: no grid
        quartile = float(x[x > 0][0])
    grid = 20 + int(np.sqrt(n))
    theta = 1 / x[-1] + (1 - np.sqrt(grid / (np.arange(1, grid + 1) - 0.5))) / (3 * quartile)
    # theta < 1 / max(x): every log1p argument is > -1
    k = -np.log1p(-theta[:, None] * x[None, :]).mean(axis=1)
    profile = n * (np.log(theta / k) + k - 1)
    theta_hat = float(np.sum(theta * softmax(profile)))
    if abs(theta_hat) < 1e-12 / x[-1]:  # the exponential limit
        return 0.0, float(x.mean())
    shape = float(np.log1p(-theta_hat * x).mean())
    return shape, -shape / theta_hat


def label_quantiles(labels: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Quantiles of ``labels`` at ``levels`` with a modelled upper tail (rule 4): empirical
    below the threshold of the top ``max(TAIL_MIN, 1 %)`` labels, a generalized Pareto fit to
    the exceedances above it (shape <= 0). Fewer than ``4 * TAIL_MIN`` labels: empirical."""
    from scipy.stats import genpareto

    labels = np.sort(np.asarray(labels, dtype=np.float64).ravel())
    levels = np.asarray(levels, dtype=np.float64)
    out = np.quantile(labels, levels)
    n = len(labels)
    m = max(TAIL_MIN, n // 100)
    if n < 4 * TAIL_MIN:
        return out
    threshold = labels[n - m - 1]
    excess = labels[n - m :] - threshold
    if np.count_nonzero(excess > 0) < 2:
        return out
    shape, scale = fit_generalized_pareto(excess)
    if shape > 0:  # no heavy tails: refit with the exponential tail
        shape, scale = 0.0, float(excess.mean())
    tail = levels > 1 - m / n
    # level 1 would be the endpoint, infinite for the exponential tail: a finite top instead
    beyond = np.maximum(1 - levels[tail], 1e-7)
    out[tail] = threshold + genpareto.ppf(1 - beyond * n / m, shape, 0, scale)
    # monotone in the level whatever order the levels come in
    order = np.argsort(levels, kind="stable")
    out[order] = np.maximum.accumulate(out[order])
    return out


def fit_transfer(
    target: str, noise: TargetNoise, predicted: np.ndarray, in_sample: np.ndarray | None = None
) -> None:
    """Fit rule 4's transfer function of ``target`` into ``noise``: ``predicted`` is the
    model's prediction of every cell of the space (index order; shape (M, cells) for the
    members of an ensemble, rule 6: one transfer per member), ``in_sample`` the mask of
    the cells it was fitted on; one reference draw of runs (rules 1-3 and 5, levels from
    :data:`REFERENCE_KEY` and :data:`REFERENCE_ERROR_KEY`, the same for every ``noise_seed``)
    gives the quantiles that the labels' quantiles are matched to."""
    if noise.marginal is None:
        raise ValueError(f"target {target!r} has no labels' marginal to map onto")
    predicted = np.asarray(predicted, dtype=np.float64)
    rows = predicted.reshape(-1, predicted.shape[-1])  # one row per member, or the model
    cells = np.arange(rows.shape[1])
    u = uniform_levels(REFERENCE_KEY, np.zeros_like(cells), cells)
    u_cell = None
    if noise.model_error:
        # independent levels, not one field: a field's value over a region (the cells
        # predicted best share most paths) is one draw for the whole region, so one field
        # would tilt the transfer, and every realization with it; per cell the levels are
        # uniform either way, so this is the realizations' expected distribution
        u_cell = uniform_levels(REFERENCE_ERROR_KEY, np.zeros_like(cells), cells)
        if in_sample is not None:
            u_cell[np.asarray(in_sample, dtype=bool)] = np.nan
    simulated = np.stack(
        [np.quantile(unmapped_run(target, noise, row, u, u_cell), MARGINAL_LEVELS) for row in rows]
    )
    noise.simulated = simulated if predicted.ndim == 2 else simulated[0]
