"""Rule 5's per-cell levels: a short-ranged random field over the space's edit graph.

Model errors are not independent across cells, but their correlation fades within a few edits:
the rank correlation of the table's PIT against a surrogate is 0.14-0.26 for cells one edit
apart, about 0.10 two edits apart and 0 for random pairs (``benchmarks/bench_calibration.py``).
So the level of a cell's out-of-sample model error is ``Phi(z)``, ``z`` the cell's value of
``(I + w M)^s e`` divided by its standard deviation: ``e`` independent standard normals per
cell, drawn from the key, and ``M`` the mean over a cell's *mutual* neighbours (one edit apart
both ways). The standard deviation differs from cell to cell with the neighbourhood's size
(0.7-1.2 times the typical one for 80 % of the cells), so it is estimated per cell, once, from
64 fixed probe fields; every cell's level is then about uniform. Edits that prune
vertices are left out because they lead thousands of cells to the same few small cells,
which would tie far-apart cells (the whole top of the space, say) to one value.

With ``s = 3`` and ``w = 4`` the levels correlate about 0.4 one edit apart, 0.2 two edits
apart and 0 for random pairs, and the field's mean over the best 1 % of the cells hardly
varies across keys (``docs/notes/noise_model.md``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["error_levels", "FIELD_STEPS", "FIELD_WEIGHT"]

#: Smoothing steps ``s`` and neighbour weight ``w`` of the field.
FIELD_STEPS = 3
FIELD_WEIGHT = 4.0
#: Probe fields that estimate each cell's standard deviation (seeded: the same everywhere),
#: smoothed a few at a time so that the memory stays small.
_PROBES, _PROBE_BATCH = 64, 8


def _smooth(mean_over_neighbours, e: np.ndarray) -> np.ndarray:
    for _ in range(FIELD_STEPS):
        e = e + FIELD_WEIGHT * (mean_over_neighbours @ e)
    return e


@lru_cache(maxsize=1)
def _smoothing():
    """The row-normalised mutual one-edit graph of the whole space and each cell's standard
    deviation under :func:`_smooth` (built once a process)."""
    from scipy import sparse

    from nb101.codec import get_codec

    graph = get_codec().neighbour_graph()
    mutual = graph.multiply(graph.T).tocsr()
    degree = np.asarray(mutual.sum(axis=1)).ravel()
    mean = (sparse.diags(1.0 / np.maximum(degree, 1)) @ mutual).tocsr()
    rng = np.random.default_rng(0)
    squares = sum(
        (_smooth(mean, rng.standard_normal((mean.shape[0], _PROBE_BATCH))) ** 2).sum(axis=1)
        for _ in range(_PROBES // _PROBE_BATCH)
    )
    return mean, np.sqrt(squares / _PROBES)


@lru_cache(maxsize=8)  # a realization uses two keys; a field is 3.4 MB
def _field(key: int) -> np.ndarray:
    """The levels of every cell of the space for ``key`` (read-only)."""
    from scipy.special import ndtr

    mean, std = _smoothing()
    levels = ndtr(_smooth(mean, np.random.default_rng(key).standard_normal(len(std))) / std)
    levels.setflags(write=False)
    return levels


def error_levels(key: np.uint64, cells: np.ndarray) -> np.ndarray:
    """Rule 5's per-cell levels in (0, 1) of ``cells`` (indices of :func:`nb101.get_space`):
    a fixed function of ``key`` and the cell, about uniform over the space, correlated between
    cells a few edits apart (see the module docstring)."""
    return _field(int(key))[np.asarray(cells, dtype=np.int64)]
