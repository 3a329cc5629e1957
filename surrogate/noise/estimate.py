"""Estimating one target's noise from held-out residuals and real repeats (rules 1-2).

1. **Shape: empirical, heteroscedastic residuals.** Held-out residuals ``y - y_hat`` of the
   fitted model are grouped in ``B`` bins of the predicted value (equal-count bins; ``B`` = 10,
   fewer below 200 residuals per bin). Each bin keeps the quantile function of its residuals
   (:data:`~surrogate.noise.levels.NUM_QUANTILES` quantiles), centred on the bin's median
   residual, so a cell's typical (median) run is its prediction. Low-accuracy cells therefore
   get wider and more skewed noise than good cells, and the rare collapsed runs stay in the
   left tail. Not the mean: the regressors fit labels clipped from below
   (:func:`surrogate.base.clip_targets`), while the residuals keep the collapsed runs (about
   10 % accuracy), which pull a low bin's mean residual far below its typical one. Centred on
   the mean, the typical run of such a bin lay above its prediction, above the next bin's
   runs (the order inverted at the edge), and its upper tail put runs of cells the model
   ranks low at the top of the space (measured in the docs' noise-model notes).
1b. **Location at the top (an option):** among the cells a model ranks best, the labels'
   median rises more slowly than the prediction, and at the very top not at all: the model's
   highest predictions are partly its own error (regression to the mean), far more than the
   top bin's one median can show (the bin holds the best tenth of the held-out cells; an
   optimizer ends in the best thousandth of the space). With ``top_location=True`` the top
   bin's labels are followed by an isotonic (non-decreasing) fit of their median on the
   prediction, in chunks of neighbouring predictions; above the bin's median prediction a
   run is centred where that fit is (relative to the bin's centre), and above the last
   chunk it stays there. The ranking of the predictions is kept (ties at the very top), and
   rule 4 still maps the runs onto the labels' marginal, so the best runs move from the
   best-predicted cells to those the noise lifts, as on the table. It needs a top bin of
   1,000 held-out labels at least (a split of 10,000); with fewer the rule stays off, as
   noted in ``noise.json``: the fit of a few hundred labels is noise of the size of the
   effect.
2. **Scale: within-cell spread of real repeats.** Residuals hold model error plus run noise,
   so their spread is an upper bound. Where the table holds several runs of one cell for the
   target, the pooled within-cell standard deviation ``sigma_run`` is compared with the
   residual standard deviation ``sigma_resid`` (both robust, 1.4826 x MAD) and every residual
   quantile is multiplied by ``scale = min(1, sigma_run / sigma_resid)``. Without repeats the
   scale is 1 (the upper bound) and ``noise.json`` records
   ``"source": "residuals (upper bound)"``.
"""

from __future__ import annotations

import numpy as np

from .levels import MARGINAL_LEVELS, NUM_QUANTILES
from .marginal import label_quantiles
from .target import TargetNoise, check_error_share

__all__ = ["estimate_noise", "pooled_run_std"]

_MAX_BINS = 10
_MIN_PER_BIN = 200
_MAD_TO_STD = 1.4826
_TOP_CHUNK = 20  # cells per chunk of rule 1b's top bin: a robust median, finer with more data
# rule 1b's least top bin: a chunk's median of 20 runs is uncertain by about the effect at a
# fold's top (0.0007), so it takes tens of chunks above the bin's centre to see it
_TOP_MIN = 1000


def _robust_std(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return float("nan")
    mad = float(np.median(np.abs(x - np.median(x))))
    return _MAD_TO_STD * mad if mad > 0 else float(np.std(x))


def pooled_run_std(runs: list[np.ndarray] | None) -> tuple[float, int]:
    """Robust pooled within-cell standard deviation of cells with several runs.

    Parameters
    ----------
    runs : list of 1-d arrays
        The runs of each cell (cells with fewer than 2 runs are ignored).

    Returns
    -------
    (sigma, dof)
        ``sigma`` is NaN when no cell has two runs; ``dof`` = sum of (runs - 1).
    """
    devs, dof = [], 0
    for r in runs or ():
        r = np.asarray(r, dtype=np.float64)
        r = r[np.isfinite(r)]
        if len(r) < 2:
            continue
        # deviations from the cell mean, rescaled to unit-variance per run
        devs.append((r - r.mean()) * np.sqrt(len(r) / (len(r) - 1)))
        dof += len(r) - 1
    if not devs:
        return float("nan"), 0
    return _robust_std(np.concatenate(devs)), dof


def estimate_noise(
    predicted: np.ndarray,
    observed: np.ndarray,
    runs: list[np.ndarray] | None = None,
    labels: np.ndarray | None = None,
    *,
    model_error: bool = False,
    error_share: float | None = None,
    top_location: bool = False,
) -> TargetNoise:
    """Estimate one target's noise (rules 1-2 in this module's docstring; the labels'
    quantiles of rule 4; the switch and share of rule 5; rule 1b with ``top_location``).

    Parameters
    ----------
    predicted, observed : ndarray (n,)
        Held-out predictions and labels (never the training rows).
    runs : list of ndarray, optional
        Per cell with several runs of this target, its runs.
    labels : ndarray, optional
        Every label of the target the surrogate was given (a uniform sample of the space):
        their quantiles become the marginal of rule 4 (completed by
        :func:`surrogate.noise.fit_transfer`). None: no marginal mapping.
    model_error : bool
        Enable rule 5 (the out-of-sample model error).
    error_share : float, optional
        Rule 5's share of the residual variance (default ``1 - scale**2``); the run noise's
        scale is capped at ``sqrt(1 - error_share)`` so the two add up to at most the
        residuals' spread.
    top_location : bool
        Rule 1b: centre the runs of the best-predicted cells where the top bin's labels lie.
    """
    predicted = np.asarray(predicted, dtype=np.float64).ravel()
    observed = np.asarray(observed, dtype=np.float64).ravel()
    if predicted.shape != observed.shape or len(predicted) == 0:
        raise ValueError(
            f"predicted and observed must be non-empty and of one shape, got "
            f"{predicted.shape} and {observed.shape}"
        )
    resid = observed - predicted
    n_bins = int(np.clip(len(resid) // _MIN_PER_BIN, 1, _MAX_BINS))
    edges = (
        np.quantile(predicted, np.linspace(0, 1, n_bins + 1)[1:-1]) if n_bins > 1 else np.zeros(0)
    )
    edges = np.unique(edges)
    bins = np.searchsorted(edges, predicted, side="right")
    levels = np.linspace(0, 1, NUM_QUANTILES)
    quantiles = np.zeros((len(edges) + 1, NUM_QUANTILES))
    for b in range(len(edges) + 1):
        r = resid[bins == b]
        if len(r) == 0:
            r = resid
        quantiles[b] = np.quantile(r, levels)
        quantiles[b] -= np.median(r)
    sigma_resid = _robust_std(resid)
    sigma_run, dof = pooled_run_std(runs)
    if dof > 0 and np.isfinite(sigma_run) and sigma_resid > 0:
        scale = float(min(1.0, sigma_run / sigma_resid))
        source = "residuals scaled to within-cell repeats"
    else:
        scale, source = 1.0, "residuals (upper bound)"
    if not model_error:
        error_share = None  # rule 5 is off: no share to record
    elif error_share is not None:
        error_share = check_error_share(error_share)
        scale = min(scale, float(np.sqrt(1.0 - error_share)))
    top, in_top = None, bins == len(edges)
    if top_location and in_top.sum() >= _TOP_MIN:
        top = _top_location(predicted[in_top], resid[in_top])
    info = {
        "sigma_resid": sigma_resid,
        "sigma_run": None if dof == 0 else sigma_run,
        "run_dof": dof,
        "n_residuals": int(len(resid)),
        "source": source,
        "centre": "median",
    }
    if top_location:  # rule 1b asked for: whether the top bin held enough labels
        info["top_location"] = "on" if top is not None else f"off: top bin < {_TOP_MIN} labels"
    marginal = None
    if labels is not None:
        labels = np.asarray(labels, dtype=np.float64).ravel()
        labels = labels[np.isfinite(labels)]
        if len(labels) == 0:
            raise ValueError("labels for the noise marginal are empty or all NaN")
        marginal = label_quantiles(labels, MARGINAL_LEVELS)
        info["marginal_labels"] = int(len(labels))
    return TargetNoise(
        edges,
        quantiles,
        scale,
        info,
        marginal,
        model_error=bool(model_error),
        error_share=error_share,
        top_location=top,
    )


def _top_location(predicted: np.ndarray, resid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rule 1b from the top bin: its cells in chunks of 20 neighbouring predictions, the
    labels' median per chunk (robust to a collapsed run), made non-decreasing in the
    prediction (isotonic regression weighted by chunk size); knots at the bin's median
    prediction and at the chunks' above it, offsets from the fitted centre there."""
    from sklearn.isotonic import IsotonicRegression

    order = np.argsort(predicted, kind="stable")
    chunks = np.array_split(order, max(1, len(order) // _TOP_CHUNK))
    x = np.array([np.median(predicted[c]) for c in chunks])
    y = np.array([np.median(predicted[c] + resid[c]) for c in chunks])
    fit = IsotonicRegression(out_of_bounds="clip").fit(x, y, sample_weight=[len(c) for c in chunks])
    centre = float(np.median(predicted))
    knots = np.unique(np.concatenate([[centre], x[x > centre]]))
    offsets = fit.predict(knots) - knots
    return knots, offsets - offsets[0]
