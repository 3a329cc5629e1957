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
"""

from __future__ import annotations

import numpy as np

from .levels import MARGINAL_LEVELS, REFERENCE_ERROR_KEY, REFERENCE_KEY, uniform_levels
from .target import TargetNoise, unmapped_run

__all__ = ["TAIL_MIN", "label_quantiles", "fit_transfer"]

#: Fewest labels in the modelled upper tail of rule 4's marginal (and 1 % of the labels).
TAIL_MIN = 50


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
    if not np.any(excess > 0):
        return out
    shape, _, scale = genpareto.fit(excess, floc=0)
    if shape > 0:  # no heavy tails: refit with the exponential tail
        shape, scale = 0.0, float(excess.mean())
    tail = levels > 1 - m / n
    # level 1 would be the endpoint, infinite for the exponential tail: a finite top instead
    beyond = np.maximum(1 - levels[tail], 1e-7)
    out[tail] = threshold + genpareto.ppf(1 - beyond * n / m, shape, 0, scale)
    return np.maximum.accumulate(out)


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
