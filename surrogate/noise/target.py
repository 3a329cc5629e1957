"""The noise of one target (:class:`TargetNoise`) and one simulated run around a prediction.

A value of a simulated run is ``mean + location(mean) + scale * Q_bin(u)`` (rules 1-3):
``Q_bin`` the centred residual quantile function of the bin of the predicted ``mean``, ``u``
the run's uniform level, ``location`` zero but above the top bin's median prediction where
the top's regression to the mean is modelled (rule 1b, :mod:`.estimate`). Outside the
training set rule 5 adds the model error ``error_scale * Q_bin(u_cell)`` at the cell's level.
The value is then clipped to the metric's range ([0, 1] for accuracies, >= 0 for times) and,
where rule 4 applies, mapped onto the labels' marginal
(:meth:`surrogate.noise.NoiseModel.perturb`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .levels import MARGINAL_LEVELS, NUM_QUANTILES

__all__ = ["TargetNoise", "check_error_share", "unmapped_run", "clip_to_range"]


def check_error_share(share: Any, what: str = "error_share") -> float:
    """``share`` as rule 5's model-error share: a number in [0, 1) (not a bool), else a
    ``ValueError`` naming ``what``."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
        raise ValueError(f"{what} must be a number in [0, 1), got {share!r}")
    return float(share)


@dataclass
class TargetNoise:
    """Noise of one target: bin edges of the predicted value and centred residual quantiles.

    Attributes
    ----------
    edges : ndarray (B - 1,)
        Inner edges of the predicted-value bins.
    quantiles : ndarray (B, NUM_QUANTILES)
        Residual quantiles per bin at levels ``linspace(0, 1, NUM_QUANTILES)``, centred on
        the bin's median (artifacts trained before this rule: on its mean).
    scale : float
        Multiplier of the quantiles (``min(1, sigma_run / sigma_resid)``).
    info : dict
        ``sigma_resid``, ``sigma_run``, ``run_dof``, ``n_residuals``, ``source``.
    marginal : ndarray (len(MARGINAL_LEVELS),) or None
        Quantiles of the target's labels at :data:`MARGINAL_LEVELS` (rule 4); None: no mapping.
    simulated : ndarray (len(MARGINAL_LEVELS),) or (M, len(MARGINAL_LEVELS)) or None
        Quantiles of the reference draw at the same levels (set by
        :func:`surrogate.noise.fit_transfer`); rule 4 maps a run through
        ``interp(value, simulated, marginal)``. One row per ensemble member (rule 6) where the
        runs come from members.
    model_error : bool
        Rule 5: cells outside the training set get the fixed out-of-sample offset.
    error_share : float or None
        Rule 5's share of the residual variance, given at training time; None: ``1 -
        scale**2``.
    top_location : (ndarray, ndarray) or None
        Rule 1b: ``(knots, offsets)``, the predictions (increasing, the first the top bin's
        median) and the centre of their runs relative to the prediction (the first 0), with
        ``knots + offsets`` non-decreasing; linear between the knots, and above the last the
        centre stays where the last knot's is. None: off.
    """

    edges: np.ndarray
    quantiles: np.ndarray
    scale: float
    info: dict[str, Any]
    marginal: np.ndarray | None = None
    simulated: np.ndarray | None = None
    model_error: bool = False
    error_share: float | None = None
    top_location: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def members(self) -> int:
        """Ensemble members with their own reference draw (rule 6); 1 for a single model."""
        return 1 if self.simulated is None or self.simulated.ndim == 1 else len(self.simulated)

    @property
    def error_scale(self) -> float:
        """Multiplier of the quantiles for the out-of-sample model error (rule 5)."""
        if not self.model_error:
            return 0.0
        share = 1.0 - self.scale**2 if self.error_share is None else self.error_share
        return float(np.sqrt(max(0.0, share)))

    def _quantile(self, mean: np.ndarray, u: np.ndarray) -> np.ndarray:
        """``Q_bin(u)`` with the bin of ``mean``, linear between the stored levels: a new
        array (the passes below reuse their arrays: fresh memory is the cost on a batch)."""
        mean = np.asarray(mean)
        shape = (
            mean.shape
            if np.shape(u) == mean.shape
            else np.broadcast_shapes(mean.shape, np.shape(u))
        )
        pos = np.clip(u, 0.0, 1.0, out=np.empty(shape))
        pos *= NUM_QUANTILES - 1
        lo = np.floor(pos, out=np.empty(shape))  # == pos.astype(int): pos >= 0
        np.minimum(lo, NUM_QUANTILES - 2, out=lo)
        frac = np.subtract(pos, lo, out=pos)
        # flat index of (bin, lo); the bin is the number of edges at or below the mean:
        # searchsorted(side="right") on the sorted edges, or on many values (where its search
        # costs more than a NumPy call per edge) the count of the edges it is at or above
        if mean.size < 512 or mean.shape != shape:
            bins = np.searchsorted(self.edges, mean, side="right")
        else:
            bins, above = np.zeros(shape, np.uint8), np.empty(shape, bool)
            for edge in self.edges.tolist():
                bins += np.greater_equal(mean, edge, out=above).view(np.uint8)
        at = np.multiply(bins, NUM_QUANTILES, out=np.empty(shape, np.int64), dtype=np.int64)
        np.add(at, lo, out=at, casting="unsafe")  # lo holds small integers: exact
        q, q_next = self._flat_quantiles()
        value = np.take(q, at, out=np.empty(shape), mode="clip")  # in range: no check
        value *= np.subtract(1, frac, out=lo)
        value += np.multiply(np.take(q_next, at, mode="clip"), frac, out=frac)
        return value

    def _flat_quantiles(self) -> tuple[np.ndarray, np.ndarray]:
        """The quantiles flat, and shifted by one level (``q_next[i] = q[i + 1]``); made
        once per quantiles array."""
        cached = self.__dict__.get("_flat")
        if cached is None or cached[0] is not self.quantiles:
            q = np.ascontiguousarray(self.quantiles, dtype=np.float64).ravel()
            cached = self.__dict__["_flat"] = (self.quantiles, q, np.append(q[1:], 0.0))
        return cached[1], cached[2]

    def offsets(self, mean: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Run noise for predicted means ``mean`` at uniform levels ``u`` (same shape)."""
        value = self._quantile(mean, u)
        value *= self.scale
        return value

    def location(self, mean: np.ndarray) -> np.ndarray:
        """Rule 1b's centre of the runs relative to the prediction (0 where it is off)."""
        mean = np.asarray(mean, dtype=np.float64)
        if self.top_location is None:
            return np.zeros(mean.shape)
        knots, offsets = self.top_location
        out = np.interp(mean, knots, offsets, left=0.0, right=offsets[-1])
        out -= np.maximum(mean - knots[-1], 0.0)  # flat above the last knot
        return out

    def errors(self, mean: np.ndarray, u_cell: np.ndarray) -> np.ndarray:
        """Rule 5's out-of-sample model error at per-cell levels ``u_cell`` (0 where NaN)."""
        if not self.model_error:
            return np.zeros(np.shape(mean))
        out = self.error_scale * self._quantile(mean, np.nan_to_num(u_cell, nan=0.5))
        return np.where(np.isnan(u_cell), 0.0, out)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "edges": self.edges.tolist(),
            "quantiles": np.round(self.quantiles, 7).tolist(),
            "scale": self.scale,
            "info": self.info,
        }
        if self.marginal is not None:
            out["marginal"] = np.round(self.marginal, 7).tolist()
        if self.simulated is not None:
            out["simulated"] = np.round(self.simulated, 7).tolist()
        if self.model_error:
            out["model_error"] = True
        if self.error_share is not None:
            out["error_share"] = self.error_share
        if self.top_location is not None:
            knots, offsets = self.top_location
            out["top_location"] = {"knots": knots.tolist(), "offsets": offsets.tolist()}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetNoise:
        edges = np.asarray(data["edges"], dtype=np.float64).reshape(-1)
        quantiles = np.asarray(data["quantiles"], dtype=np.float64)
        if quantiles.ndim != 2 or quantiles.shape != (len(edges) + 1, NUM_QUANTILES):
            raise ValueError(
                f"noise quantiles must have shape ({len(edges) + 1}, "
                f"{NUM_QUANTILES}), got {quantiles.shape}"
            )
        levels = {}
        for name, ndims in (("marginal", (1,)), ("simulated", (1, 2))):
            values = data.get(name)
            if values is not None:
                values = np.asarray(values, dtype=np.float64)
                # simulated: one row per ensemble member (rule 6)
                if (
                    values.ndim not in ndims
                    or values.shape[-1] != len(MARGINAL_LEVELS)
                    or np.any(np.diff(values, axis=-1) < 0)
                ):
                    raise ValueError(
                        f"noise {name} must be {len(MARGINAL_LEVELS)} "
                        f"non-decreasing quantiles"
                        f"{' (a row per member)' if len(ndims) > 1 else ''}, "
                        f"got shape {values.shape}"
                    )
            levels[name] = values
        if (levels["marginal"] is None) != (levels["simulated"] is None):
            raise ValueError(
                "noise rule 4 needs both the labels' quantiles ('marginal') and "
                "the reference draw's ('simulated'); one is missing (an artifact "
                "of an older version: retrain it)"
            )
        share = data.get("error_share")
        top = data.get("top_location")
        if top is not None:
            top = _top_location(top)
        return cls(
            edges,
            quantiles,
            float(data["scale"]),
            dict(data.get("info", {})),
            levels["marginal"],
            levels["simulated"],
            bool(data.get("model_error", False)),
            None if share is None else check_error_share(share, "noise error_share"),
            top,
        )


def _top_location(data: Any) -> tuple[np.ndarray, np.ndarray]:
    """Rule 1b's knots and offsets read from ``noise.json``; a ``ValueError`` naming the rule
    they break."""
    try:
        knots = np.asarray(data["knots"], dtype=np.float64)
        offsets = np.asarray(data["offsets"], dtype=np.float64)
    except (TypeError, KeyError, ValueError):
        raise ValueError(
            f"noise top_location must be {{'knots': [...], 'offsets': [...]}}, got {data!r}"
        ) from None
    if (
        knots.ndim != 1
        or knots.shape != offsets.shape
        or len(knots) == 0
        or not np.all(np.isfinite(knots) & np.isfinite(offsets))
        or np.any(np.diff(knots) <= 0)
        or np.any(np.diff(knots + offsets) < 0)
    ):
        raise ValueError(
            "noise top_location needs finite knots, increasing, and as many offsets, with "
            "knots + offsets non-decreasing (the ranking of the predictions kept)"
        )
    return knots, offsets


def unmapped_run(
    target: str,
    noise: TargetNoise,
    mean: np.ndarray,
    u: np.ndarray,
    u_cell: np.ndarray | None = None,
) -> np.ndarray:
    """Rules 1-3 and 5: the run around ``mean`` at levels ``u`` (model error at ``u_cell``),
    clipped to the metric's range."""
    value = noise.offsets(mean, u)  # a new array: the sums below go into it
    value += mean
    if noise.top_location is not None:
        value += noise.location(mean)
    if u_cell is not None:
        value += noise.errors(mean, u_cell)
    return clip_to_range(target, value, out=value)


def clip_to_range(target: str, value: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``value`` in the metric's range: [0, 1] for accuracies, >= 0 for times (into
    ``out`` if given)."""
    if _is_accuracy(target):
        return np.clip(value, 0.0, 1.0, out=out)
    return np.maximum(value, 0.0, out=out)


@functools.cache
def _is_accuracy(target: str) -> bool:
    from nb101 import parse_target

    return parse_target(target).metric.endswith("accuracy")
