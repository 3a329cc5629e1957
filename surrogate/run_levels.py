"""The uniform levels the simulated runs of :class:`surrogate.SurrogateBenchmark` are drawn
from: a fixed function of ``noise_seed``, the stream (accuracies or training time), the budget,
the repeat and the cell (:func:`surrogate.noise.uniform_levels`), and for noise rule 5 one
model-error level per cell (:func:`surrogate.noise.error_levels`). Re-querying a cell gives
the same levels, so a surrogate's runs are a fixed property of it, like a table's.
"""

from __future__ import annotations

import numpy as np
from numpy.random import SeedSequence  # with the module: the first query's key needs it

from nb101 import parse_target

from .noise import error_levels, uniform_levels

__all__ = ["NoiseLevels"]


class NoiseLevels:
    """The noise levels of :class:`surrogate.SurrogateBenchmark` (a mixin; the benchmark holds
    ``artifact``, ``noise_seed`` and the key cache ``_noise_keys``)."""

    def _error_levels(
        self, target: str, indices: np.ndarray, cell_levels: dict[str, np.ndarray] | None = None
    ) -> np.ndarray | None:
        """Per-cell model-error levels of noise rule 5 (:func:`surrogate.noise.error_levels`):
        one level per cell and ``noise_seed`` (shared by the cell's runs, and by every
        accuracy budget), NaN for the cells the target's model was fitted on. ``cell_levels``
        keeps a stream's levels of ``indices`` for the next target of the same query."""
        if not self.artifact.noise.has_model_error(target):
            return None
        stream = "training_time" if parse_target(target).metric == "training_time" else "accuracy"
        u = cell_levels.get(stream) if cell_levels is not None else None
        if u is None:  # budget 0: the cell's own level, not one training's
            u = error_levels(self._noise_key(stream, 0), indices)
            if cell_levels is not None:
                cell_levels[stream] = u
        mask = self.artifact.in_sample(target)
        if mask is not None:
            u = u.copy()
            u[mask[indices]] = np.nan
        return u

    def _noise_levels(
        self, stream: str, epochs: int, repeat: np.ndarray, indices: np.ndarray
    ) -> np.ndarray:
        """Uniform level of simulated run ``repeat`` of each cell at one budget: a fixed
        function of (``noise_seed``, stream, epochs, repeat, cell). One level per run for its
        accuracies (they move together), one for its training time; one per budget."""
        return uniform_levels(self._noise_key(stream, epochs), repeat, indices)

    def _noise_key(self, stream: str, epochs: int) -> np.uint64:
        """The key of a stream's levels at a budget, from ``noise_seed`` (derived once per
        stream and budget, not on every query; budget 0 keys the per-cell levels)."""
        key = self._noise_keys.get((stream, epochs))
        if key is None:
            stream_id = 0 if stream == "accuracy" else 1
            key = SeedSequence([self.noise_seed, stream_id, epochs]).generate_state(1, np.uint64)[0]
            self._noise_keys[(stream, epochs)] = key
        return key
