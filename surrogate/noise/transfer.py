"""Rule 4's map applied fast: ``np.interp(x, xp, fp)`` bit for bit, in a few array passes.

``np.interp`` finds each value's segment by a binary search (about 11 steps over the 1,121
knots of a transfer), one value at a time: on a batch of random cells that search is most of
the noise's time. :class:`Transfer` finds the segment through a grid instead: the value's grid
bucket gives the number of knots below the bucket, and a few vectorized steps (at most the
most knots in one bucket, 1-3 for the stored transfers) count the knots of its own bucket at
or below it. Then it takes ``np.interp``'s arithmetic on that segment: ``slope * (x - xp[j]) +
fp[j]`` with ``slope = (fp[j+1] - fp[j]) / (xp[j+1] - xp[j])`` and ``j`` the last knot at or
below ``x``, ``fp[0]`` below the first knot and ``fp[-1]`` from the last on. So the result is
``np.interp``'s, bit for bit (``tests/test_noise_transfer.py``); values that are not finite,
knots whose slopes are not, and small arrays go to ``np.interp`` itself.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Transfer"]

#: Grid sizes tried, smallest first, until no bucket holds more than _STEPS knots.
_GRIDS = tuple(1 << k for k in range(10, 17))
_STEPS = 2
#: Fewest values mapped through the grid: on fewer, np.interp's one call costs less than the
#: grid's passes (each a NumPy call with its fixed overhead).
_GRID_MIN = 256
_ROUND = 2.0**52
_ROUND_BITS = np.float64(_ROUND).view(np.int64)


class Transfer:
    """The monotone map ``x -> np.interp(x, xp, fp)`` of non-decreasing knots ``xp``.

    Parameters
    ----------
    xp, fp : ndarray (n,)
        Knots (non-decreasing) and their values.
    """

    def __init__(self, xp: np.ndarray, fp: np.ndarray):
        self.xp = np.ascontiguousarray(xp, dtype=np.float64)
        self.fp = np.ascontiguousarray(fp, dtype=np.float64)
        xp, fp = self.xp, self.fp
        self._grid = None  # None: np.interp answers
        if len(xp) < 2 or not (np.isfinite(xp).all() and np.isfinite(fp).all()):
            return
        # a run of equal knots counts as its last one, as np.interp's search takes the last
        # knot at or below x: ``m`` below is the number of distinct knots at or below x
        last = np.flatnonzero(np.append(xp[1:] != xp[:-1], True))
        if len(last) < 2:
            return
        with np.errstate(divide="ignore", invalid="ignore"):
            slopes = (fp[1:] - fp[:-1]) / (xp[1:] - xp[:-1])  # np.interp's expression
        # by m: m = 0 holds fp[0] (slope 0), m = len(last) fp[-1] (slope 0)
        self._slope = np.concatenate([[0.0], slopes[last[:-1]], [0.0]])
        if not np.isfinite(self._slope).all():
            return
        self._x0 = np.concatenate([[xp[0]], xp[last]])
        self._y0 = np.concatenate([[fp[0]], fp[last]])
        knots = xp[last]
        self._next = np.append(knots, np.inf)  # the (m + 1)-th distinct knot
        self._low = float(knots[0])
        for size in _GRIDS:
            self._inv = size / (float(knots[-1]) - self._low)
            self._top = size - 1
            counts = np.bincount(self._bucket(knots), minlength=size)
            if counts.max() <= _STEPS or size == _GRIDS[-1]:
                break
        self._steps = int(counts.max())
        # distinct knots in the buckets below: the least m of a value in the bucket
        self._below = np.concatenate([[0], np.cumsum(counts)[:-1]])
        self._grid = size

    def _bucket(self, x: np.ndarray) -> np.ndarray:
        """Grid bucket of each value (a new int64 array): non-decreasing in the value, so a
        bucket's values lie above every knot of the buckets below it and below every knot of
        those above it (whatever the rounding)."""
        t = np.subtract(x, self._low)
        t *= self._inv
        np.clip(t, 0, self._top, out=t)
        # to the nearest integer through the mantissa (t + 2**52 holds it in its low bits):
        # in place, where astype makes a new array
        t += _ROUND
        out = t.view(np.int64)
        out -= _ROUND_BITS
        return out

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """``np.interp(x, xp, fp)`` (a new array)."""
        x = np.asarray(x, dtype=np.float64)
        if self._grid is None or x.ndim != 1 or len(x) < _GRID_MIN or not np.isfinite(x).all():
            return np.asarray(np.interp(x, self.xp, self.fp))  # an array, also for 0-d x
        # m: the number of distinct knots at or below x (np.interp's segment, plus one); the
        # arrays are reused: fresh memory is a large part of the cost on a batch
        bucket = self._bucket(x)
        m = np.take(self._below, bucket, mode="clip")  # in range: no check
        values = bucket.view(np.float64)
        below = np.empty(len(x), dtype=bool)
        for _ in range(self._steps):  # count the knots of the value's own bucket at or below x
            m += np.less_equal(np.take(self._next, m, out=values, mode="clip"), x, out=below)
        out = np.subtract(x, np.take(self._x0, m, mode="clip"))
        out *= np.take(self._slope, m, out=values, mode="clip")
        out += np.take(self._y0, m, out=values, mode="clip")
        return out
