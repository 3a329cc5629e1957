"""Probability levels of the noise model: the quantile grids and the simulated runs' uniforms.

* :data:`NUM_QUANTILES` -- levels of each bin's residual quantile function (rules 1-3).
* :data:`MARGINAL_LEVELS` -- levels of the labels' and the reference draw's quantiles (rule 4).
* :func:`uniform_levels` -- the uniform level of one simulated run (rule 3), a fixed function
  of a key, the run's repeat and its cell, so a simulated table never has to be stored.
* :data:`REFERENCE_KEY`, :data:`REFERENCE_ERROR_KEY` -- the keys of the reference draw that
  fits rule 4's transfer function (the same for every ``noise_seed``).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NUM_QUANTILES",
    "MARGINAL_LEVELS",
    "REFERENCE_KEY",
    "REFERENCE_ERROR_KEY",
    "uniform_levels",
]

NUM_QUANTILES = 101
#: Levels of the stored label quantiles: uniform steps of 0.001, plus tails down to 1e-6 on a
#: log scale (optimizers live in the top 0.1 % of the space).
MARGINAL_LEVELS = np.unique(
    np.concatenate(
        [np.linspace(0, 1, 1001), np.geomspace(1e-6, 1e-3, 61), 1 - np.geomspace(1e-6, 1e-3, 61)]
    )
)
#: Key of the reference draw of the whole space that fits rule 4's transfer function.
REFERENCE_KEY = np.uint64(0x6E6231303172756C)
#: Key of the reference draw's per-cell model-error levels (rule 5).
REFERENCE_ERROR_KEY = np.uint64(0x6D6F64656C657272)


def uniform_levels(key: np.uint64, repeat: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Counter-based uniforms in [0, 1): the SplitMix64 finaliser of (key, repeat, cell), so a
    simulated run is a fixed function of its key and nothing has to be stored."""
    x = np.asarray(cells, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.asarray(
        repeat, dtype=np.uint64
    ) * np.uint64(0xD1B54A32D192ED03)
    x += key  # in place from here on (wrapping at 64 bits as before): no new arrays
    shifted = np.empty_like(x)
    x ^= np.right_shift(x, np.uint64(30), out=shifted)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= np.right_shift(x, np.uint64(27), out=shifted)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= np.right_shift(x, np.uint64(31), out=shifted)
    x >>= np.uint64(11)
    levels = x.astype(np.float64)
    levels *= 2.0**-53
    return levels
