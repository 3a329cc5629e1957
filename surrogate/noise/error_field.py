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

from collections import OrderedDict

import numpy as np

__all__ = ["error_levels", "FIELD_STEPS", "FIELD_WEIGHT"]

#: Smoothing steps ``s`` and neighbour weight ``w`` of the field.
FIELD_STEPS = 3
FIELD_WEIGHT = 4.0
#: Probe fields that estimate each cell's standard deviation (seeded: the same everywhere).
_PROBES = 64
#: Fields kept per process (one per key: a realization uses two, 3.4 MB each).
_KEEP = 8
_FIELDS: OrderedDict[int, np.ndarray] = OrderedDict()
_SMOOTHING: list = []  # [(the mean over mutual neighbours, each cell's standard deviation)]


def _smooth(mean_over_neighbours, e: np.ndarray) -> np.ndarray:
    for _ in range(FIELD_STEPS):
        e = e + FIELD_WEIGHT * (mean_over_neighbours @ e)
    return e


def _smoothing():
    """The row-normalised mutual one-edit graph of the whole space and each cell's standard
    deviation under :func:`_smooth` (built once a process)."""
    if not _SMOOTHING:
        from scipy import sparse

        from nb101.codec import get_codec

        graph = get_codec().neighbour_graph()
        mutual = graph.multiply(graph.T).tocsr()
        degree = np.asarray(mutual.sum(axis=1)).ravel()
        mean = (sparse.diags(1.0 / np.maximum(degree, 1)) @ mutual).tocsr()
        probes = np.random.default_rng(0).standard_normal((mean.shape[0], _PROBES))
        _SMOOTHING.append((mean, np.sqrt((_smooth(mean, probes) ** 2).mean(axis=1))))
    return _SMOOTHING[0]


def _field(key: int) -> np.ndarray:
    """The levels of every cell of the space for ``key``."""
    from scipy.special import ndtr

    mean, std = _smoothing()
    return ndtr(_smooth(mean, np.random.default_rng(key).standard_normal(len(std))) / std)


def error_levels(key: np.uint64, cells: np.ndarray) -> np.ndarray:
    """Rule 5's per-cell levels in (0, 1) of ``cells`` (indices of :func:`nb101.get_space`):
    a fixed function of ``key`` and the cell, about uniform over the space, correlated between
    cells a few edits apart (see the module docstring)."""
    key = int(key)
    field = _FIELDS.get(key)
    if field is None:
        field = _FIELDS[key] = _field(key)
        if len(_FIELDS) > _KEEP:
            _FIELDS.popitem(last=False)
    else:
        _FIELDS.move_to_end(key)
    return field[np.asarray(cells, dtype=np.int64)]
