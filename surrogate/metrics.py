"""Regression and ranking metrics of a surrogate's predictions.

``regression_metrics(y_true, y_pred)`` returns:

- ``r2``: coefficient of determination;
- ``mae``: mean absolute error (units of ``y``);
- ``kendall_tau``, ``spearman``: rank correlations (scipy, tau-b);
- ``sparse_kendall_tau``: Kendall tau after rounding labels AND predictions to 3 decimals,
  i.e. 0.1 % of accuracy for accuracies in [0, 1], as in NAS-Bench-301 (Siems et al., 2020):
  differences below 0.1 % count as ties, so noise-level reorderings do not count;
- ``precision_top1``, ``precision_top5``: share of the true top 1 % (5 %) of cells, by label,
  that are also in the predicted top 1 % (5 %); ``k = max(1, round(q * n))`` cells each.

>>> regression_metrics([0.9, 0.8, 0.7], [0.91, 0.79, 0.6])["kendall_tau"]
1.0
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["regression_metrics", "precision_at_top", "METRIC_NAMES", "METRIC_RANGES"]

METRIC_NAMES = (
    "r2",
    "mae",
    "kendall_tau",
    "spearman",
    "sparse_kendall_tau",
    "precision_top1",
    "precision_top5",
)
#: The values each metric can take, ``(low, high)``: intervals and plots stay inside them.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "r2": (-np.inf, 1.0),
    "mae": (0.0, np.inf),
    "kendall_tau": (-1.0, 1.0),
    "spearman": (-1.0, 1.0),
    "sparse_kendall_tau": (-1.0, 1.0),
    "precision_top1": (0.0, 1.0),
    "precision_top5": (0.0, 1.0),
}


def precision_at_top(y_true: np.ndarray, y_pred: np.ndarray, fraction: float) -> float:
    """Share of the true top ``fraction`` that is also in the predicted top ``fraction``."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    k = max(1, int(round(fraction * len(y_true))))
    true_top = np.argsort(-y_true, kind="stable")[:k]
    pred_top = np.argsort(-y_pred, kind="stable")[:k]
    return len(np.intersect1d(true_top, pred_top)) / k


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """All metrics of the module docstring as a dict of floats.

    Raises
    ------
    ValueError
        If the arrays differ in length, have fewer than 2 values or hold NaN.
    """
    y_true = np.asarray(y_true, dtype=np.float64).ravel()
    y_pred = np.asarray(y_pred, dtype=np.float64).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_pred has {len(y_pred)} values, but y_true has {len(y_true)}")
    if len(y_true) < 2:
        raise ValueError(f"need at least 2 values, got {len(y_true)}")
    if not (np.all(np.isfinite(y_true)) and np.all(np.isfinite(y_pred))):
        raise ValueError("y_true and y_pred must be finite")
    resid = np.sum((y_true - y_pred) ** 2)
    total = np.sum((y_true - y_true.mean()) ** 2)
    return {
        "r2": float(1 - resid / total) if total > 0 else float("nan"),
        "mae": float(np.mean(np.abs(y_true - y_pred))),
        "kendall_tau": float(stats.kendalltau(y_true, y_pred).statistic),
        "spearman": float(stats.spearmanr(y_true, y_pred).statistic),
        "sparse_kendall_tau": float(
            stats.kendalltau(np.round(y_true, 3), np.round(y_pred, 3)).statistic
        ),
        "precision_top1": precision_at_top(y_true, y_pred, 0.01),
        "precision_top5": precision_at_top(y_true, y_pred, 0.05),
    }
