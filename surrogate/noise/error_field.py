"""Rule 5's per-cell levels: a smooth random field over the space.

Model errors are not independent across cells: the held-out residuals of neighbouring cells
(one edit apart) correlate. So the level ``u_cell`` of a cell's out-of-sample model error is
``Phi(z)`` with ``z`` a random linear function of the cell's path encoding: neighbouring
cells share most of their paths and get correlated levels, while every cell's level is still
about uniform over the space.
"""

from __future__ import annotations

import numpy as np

__all__ = ["error_levels"]

#: Cells that standardise the error field (a fixed, seeded sample of the space).
_FIELD_SAMPLE = 16384
_FIELDS: dict[int, tuple[np.ndarray, float, float]] = {}


def error_levels(key: np.uint64, cells: np.ndarray) -> np.ndarray:
    """Rule 5's per-cell levels in (0, 1): ``Phi(z)``, ``z`` a random linear function of the
    cells' path encoding with standard normal weights drawn from ``key``, standardised over a
    fixed sample of the space (so ``z`` is about standard normal over the space and
    neighbouring cells, which share most of their paths, get correlated levels)."""
    from scipy.special import ndtr

    from features import get_featurizer

    paths = get_featurizer("path")
    field = _FIELDS.get(int(key))
    if field is None:
        weights = np.random.default_rng(int(key)).standard_normal(paths.dim)
        from nb101 import get_space

        sample = np.random.default_rng(0).choice(len(get_space()), _FIELD_SAMPLE, replace=False)
        z = paths.transform(np.sort(sample)) @ weights
        field = _FIELDS[int(key)] = (weights, float(z.mean()), float(z.std()))
    weights, mean, std = field
    cells = np.asarray(cells, dtype=np.int64)
    z = np.concatenate(
        [np.zeros(0)]
        + [  # in chunks: the whole space's features are 0.6 GB
            paths.transform(cells[start : start + 65536]) @ weights
            for start in range(0, len(cells), 65536)
        ]
    )
    return ndtr((z - mean) / std)
