"""Trends a regressor's trees boost around: ``y = trend(X) * exp(trees(X))``.

Trees predict a constant beyond the range of their training cells, so a target that keeps
falling below that range is predicted too high there. Training time is such a target, and the
multi-fidelity track queries exactly those cells: its nearest-cell projection sends many
genotypes to the few smallest cells of the space (two to four vertices), which the real data
time on 1-4 cells each. A trend that follows the cell's compute carries the prediction down
to them; the trees correct it by a factor. Measured in ``benchmarks/bench_time_model.py``.

Trends
------
``"compute_cost"``
    A training time is close to a sum of costs: a fixed overhead plus a cost per
    multiply-add, per pool channel, per op of each kind, per edge, ...
    (:meth:`features.AdjacencyComputeEncoding.costs`, so ``X`` must be that encoding). The
    trend is the non-negative least-squares fit of the labels on those quantities and an
    intercept: every weight is a cost, so a cell with less compute never gets a larger trend.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TRENDS", "check_trend", "fit_trend", "trend_values"]

#: The trends by name (see the module docstring).
TRENDS = ("compute_cost",)


def check_trend(trend: str | None) -> None:
    """A ``ValueError`` naming the choices unless ``trend`` is None or one of :data:`TRENDS`."""
    if trend is not None and trend not in TRENDS:
        raise ValueError(f"trend must be None or one of {list(TRENDS)}, got {trend!r}")


def _design(X: np.ndarray) -> np.ndarray:
    from features import AdjacencyComputeEncoding

    costs = AdjacencyComputeEncoding.costs(X)
    return np.column_stack([np.ones(len(costs)), costs])


def fit_trend(trend: str, X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """The weights of ``trend`` fitted on features ``X`` and positive labels ``y``, and its
    floor: a thousandth of its median over the fitted cells, so that a ratio to it is
    always defined."""
    check_trend(trend)
    if not np.all(y > 0):
        raise ValueError(
            f"trend {trend!r} models log(y / trend): the labels must be positive, "
            f"got minimum {float(np.min(y))!r}"
        )
    from scipy.optimize import nnls

    A = _design(X)
    # unit-scaled columns: the solver's tolerance then means the same for every quantity
    scale = np.abs(A).max(axis=0)
    scale[scale == 0] = 1.0
    weights, _ = nnls(A / scale, np.asarray(y, dtype=np.float64))
    weights /= scale
    return weights, 1e-3 * float(np.median(A @ weights))


def trend_values(trend: str, weights: np.ndarray, floor: float, X: np.ndarray) -> np.ndarray:
    """``trend`` with ``weights`` at features ``X``, at least ``floor``."""
    check_trend(trend)
    return np.maximum(_design(X) @ np.asarray(weights, dtype=np.float64), floor)
