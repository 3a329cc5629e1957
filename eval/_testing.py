"""A small in-memory backend for tests and benchmarks: one value per (metric, epochs, cell).

:class:`ArrayBenchmark` implements the shared protocol over dense arrays (NaN = missing) and
``covered_indices`` like the table. :func:`real_data_benchmark` fills it from the real data in
``../shared/data`` (exhaustive 108-epoch test accuracy; the 18,760-cell sample's validation
accuracy at 4/12/36/108 epochs and 108-epoch training time).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import numpy as np

from nb101.cell_space import CellSpace, get_space
from nb101.errors import PartialTableError
from nb101.protocol import METRICS, BaseBenchmark

__all__ = ["ArrayBenchmark", "real_data_arrays", "real_data_benchmark"]


class ArrayBenchmark(BaseBenchmark):
    """Backend over ``values[(metric, epochs)] -> float array (N,)`` with NaN for missing.

    ``noise`` adds seeded Gaussian noise of that standard deviation to accuracies (a stand-in
    for a noisy surrogate)."""

    def __init__(
        self,
        values: dict[tuple[str, int], np.ndarray],
        seed: int | None = None,
        space: CellSpace | None = None,
        noise: float = 0.0,
    ):
        super().__init__(seed=seed, space=space)
        self.values = values
        self.noise = noise
        self._nrng = np.random.default_rng(seed)

    @property
    def valid_epochs(self) -> frozenset[int]:
        return frozenset(e for _, e in self.values)

    def covered_indices(self, epochs=None, require=None) -> np.ndarray:
        epochs = (
            sorted(self.valid_epochs)
            if epochs is None
            else ([epochs] if isinstance(epochs, int) else list(epochs))
        )
        require = (
            list(METRICS)
            if require is None
            else ([require] if isinstance(require, str) else list(require))
        )
        ok = np.ones(len(self.space), dtype=bool)
        for e in epochs:
            for m in require:
                arr = self.values.get((m, e))
                if arr is None:
                    return np.zeros(0, dtype=np.int64)
                ok &= ~np.isnan(arr)
        return np.flatnonzero(ok)

    def _runs(self, indices, epochs, stop_halfway):
        out = {}
        for m in METRICS:
            arr = self.values.get((m, epochs))
            out[m] = arr[indices] if arr is not None else np.full(len(indices), np.nan)
        first = next(iter(out.values()))
        if all(np.isnan(out[m]).all() for m in METRICS) and len(first):
            raise PartialTableError(f"no data at {epochs} epochs")
        if self.noise:
            for m in ("validation_accuracy", "test_accuracy"):
                out[m] = out[m] + self._nrng.normal(0, self.noise, len(indices))
        return out

    def parameters(self, indices):
        return np.full(len(indices), np.nan)

    def hash_iterator(self) -> Iterator[str]:
        return (h.decode() for h in self.space.hashes)

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict, dict]:
        i = self.space.index_of_hash(module_hash)
        fixed = self._fixed(i)
        computed = {
            e: [
                {
                    f"final_{m}": float(self.values[(m, e)][i])
                    for m in METRICS
                    if (m, e) in self.values
                }
            ]
            for e in self.valid_epochs
        }
        return fixed, computed


@lru_cache(maxsize=2)
def real_data_arrays(data_dir: str | None = None) -> dict[tuple[str, int], np.ndarray]:
    """Dense arrays of the real data (read-only), from :mod:`nb101.real_data`."""
    from nb101.real_data import load_exhaustive, load_sample

    space = get_space()
    n = len(space)
    values = {("test_accuracy", 108): load_exhaustive(data_dir)}
    sample = load_sample(data_dir)
    idx = space.indices_of_hashes(sample.hashes)
    for e, accuracy in sample.validation_accuracy.items():
        arr = np.full(n, np.nan)
        arr[idx] = accuracy
        values[("validation_accuracy", e)] = arr
    t = np.full(n, np.nan)
    t[idx] = sample.final_training_time
    values[("training_time", 108)] = t
    for e in (4, 12, 36):
        values.setdefault(("test_accuracy", e), np.full(n, np.nan))
    for arr in values.values():
        arr.setflags(write=False)
    return values


def real_data_benchmark(
    seed: int | None = None, noise: float = 0.0, data_dir: str | None = None
) -> ArrayBenchmark:
    """An :class:`ArrayBenchmark` over the real data (see module docstring)."""
    return ArrayBenchmark(real_data_arrays(data_dir), seed=seed, noise=noise)
