"""Benchmark tracks: thin adapters that turn any backend into one optimisation problem.

A track implements the shared query protocol (:class:`nb101.protocol.BaseBenchmark`) over a
backend (table or surrogate) and fixes three things, so that an optimizer never knows which
backend it runs on:

* **cells**: the cells that may be queried (``covered``); a query outside raises
  :class:`nb101.PartialTableError`;
* **objective**: the metric to maximise (``objective``, a key of ``query``'s result);
* **budget rule**: what the track's budget counters charge; :meth:`Track.spent` converts
  them into the track's budget unit.

Tracks
------
``full``
    All 423,624 cells; objective = 108-epoch ``test_accuracy``; only 108-epoch queries;
    budget unit = one full training (``spent = total_epochs_spent / 108``).
``multifidelity``
    The cells that have validation accuracy at 4/12/36/108 epochs and a 108-epoch training
    time (the 18,760 sample cells of the real-data table; the whole space with a full official
    table); objective = ``validation_accuracy`` at the queried budget; budget unit = seconds of
    training (``spent = training_time_spent``). Training-time rule: a query at ``e`` epochs
    costs ``time_108(cell) * e / 108``, where ``time_108`` is the backend's 108-epoch training
    time of the cell, read once per track instance (the table has no 4/12/36-epoch times;
    every backend gets the same rule). ``stop_halfway`` costs half.

Nearest-covered-cell rule (multi-fidelity track with a partial table)
--------------------------------------------------------------------
Sampling draws uniformly from the covered cells. A cell produced by a move (mutation,
neighbour, model proposal) that the track lacks is replaced by the covered cell nearest by
edit distance on the padded encoding (:class:`nb101.codec.CellCodec`: number of differing
edge bits of the canonical 7-vertex matrix plus number of differing interior labels), ties
broken by the lowest cell index. The map is deterministic, so a surrogate run and its table
run move on the same graph. The neighbourhood of a covered cell is the set of projections of
its edit-distance-1 cells, itself excluded.

Example
-------
>>> track = make_track("full", table)                       # doctest: +SKIP
>>> track.query_batch(np.array([0, 1]))["test_accuracy"]    # doctest: +SKIP
>>> track.spent()                                           # doctest: +SKIP
2.0
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import ClassVar

import numpy as np

from nb101.codec import CellCodec, get_codec
from nb101.errors import OutOfDomainError, PartialTableError
from nb101.protocol import EPOCHS, BaseBenchmark

from .errors import EvalConfigError

__all__ = [
    "Track",
    "FullTrack",
    "MultiFidelityTrack",
    "TRACKS",
    "make_track",
    "resolve_track",
    "covered_cells",
]

MAX_EPOCHS = 108
_CACHES: dict[tuple, tuple[dict, dict]] = {}


class Track(BaseBenchmark):
    """Adapter base: restrict cells, name the objective, apply the budget rule.

    Parameters
    ----------
    backend : BaseBenchmark
        Table or surrogate (anything with the shared protocol).
    cells : int array, optional
        The covered cells (default: all cells of the space).
    """

    name: ClassVar[str]
    objective: ClassVar[str]
    budget_unit: ClassVar[str]
    multi_fidelity: ClassVar[bool] = False
    #: (metric, epochs) pairs a backend must provide on the covered cells.
    requires: ClassVar[tuple[tuple[str, int], ...]]

    def __init__(self, backend: BaseBenchmark, *, cells: np.ndarray | None = None):
        super().__init__(seed=None, space=backend.space)
        self.backend = backend
        self.codec: CellCodec = get_codec(self.space)
        n = len(self.space)
        if cells is None:
            self.covered = np.arange(n, dtype=np.int64)
        else:
            cells = np.asarray(cells, dtype=np.int64)
            if len(cells) > 1 and not (np.diff(cells) > 0).all():
                cells = np.unique(cells)
            self.covered = cells
        if not len(self.covered):
            raise EvalConfigError(f"track {self.name!r} got no covered cells")
        self.full_coverage = len(self.covered) == n
        self._mask = np.zeros(n, dtype=bool)
        self._mask[self.covered] = True
        # caches shared by every track over the same cell set in this process
        key = (id(self.space), hashlib.sha1(self.covered.tobytes()).hexdigest())
        self._project_cache, self._neighbour_cache = _CACHES.setdefault(key, ({}, {}))
        self._cov_onehot = None

    # ------------------------------------------------------------------ protocol
    @property
    def valid_epochs(self) -> frozenset[int]:
        return frozenset(e for e in self.fidelities)

    @property
    def fidelities(self) -> tuple[int, ...]:
        return (MAX_EPOCHS,)

    def _check_cells(self, indices: np.ndarray) -> None:
        if not self.full_coverage and not self._mask[indices].all():
            bad = int(indices[~self._mask[indices]][0])
            raise PartialTableError(
                f"cell {bad} is not covered by track {self.name!r} "
                f"({len(self.covered)} covered cells)"
            )

    def _time(
        self, indices: np.ndarray, epochs: int, stop_halfway: bool, reported: np.ndarray
    ) -> np.ndarray:
        return reported

    def _runs(self, indices, epochs, stop_halfway):
        """The backend's answer (charging the backend only) with the track's training time."""
        self._check_cells(indices)
        out = dict(self.backend.query_batch(indices, epochs, stop_halfway))
        out["training_time"] = self._time(
            indices, epochs, stop_halfway, np.asarray(out["training_time"], dtype=np.float64)
        )
        return out

    def query_batch(
        self, cells, epochs: int = MAX_EPOCHS, stop_halfway: bool = False
    ) -> dict[str, np.ndarray]:
        """Query the backend (charging it too) and charge this track by its budget rule."""
        self._check_epochs(epochs)
        indices = self.indices(cells)
        out = self._runs(indices, epochs, stop_halfway)
        self._charge(
            float(np.nansum(out["training_time"])),
            (epochs // 2 if stop_halfway else epochs) * len(indices),
        )
        return out

    def query(self, model_spec, epochs: int = MAX_EPOCHS, stop_halfway: bool = False) -> dict:
        self._check_epochs(epochs)
        index = self.space.index_of_spec(model_spec)
        runs = self.query_batch(np.array([index]), epochs, stop_halfway)
        fixed = self.backend.get_metrics_from_hash(self.space.hash(index))[0]
        result = {
            k: fixed[k] for k in ("module_adjacency", "module_operations", "trainable_parameters")
        }
        for name in ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy"):
            value = float(runs[name][0])
            result[name] = None if value != value else value
        return result

    def hash_iterator(self) -> Iterator[str]:
        return (self.space.hash(int(i)) for i in self.covered)

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict, dict]:
        index = self.space.index_of_hash(module_hash)
        self._check_cells(np.array([index]))
        return self.backend.get_metrics_from_hash(module_hash)

    # --------------------------------------------------------------- budget rule
    def spent(self) -> float:
        """Budget spent since the last reset, in :attr:`budget_unit`."""
        raise NotImplementedError

    def cost(self, indices: np.ndarray, epochs: int) -> np.ndarray:
        """What querying each cell at ``epochs`` will charge, in :attr:`budget_unit`."""
        raise NotImplementedError

    # ------------------------------------------------------------------ cell set
    def sample(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """``size`` covered cells, uniformly (distinct when ``size`` <= number covered)."""
        replace = size > len(self.covered)
        if self.full_coverage:
            if replace:
                return rng.integers(0, len(self.covered), size)
            picks = rng.integers(0, len(self.covered), size)  # distinct with high prob.
            if len(np.unique(picks)) == size:
                return picks
            return rng.choice(len(self.covered), size=size, replace=False)
        return self.covered[rng.choice(len(self.covered), size=size, replace=replace)]

    def project(self, indices: np.ndarray) -> np.ndarray:
        """Nearest covered cell of each cell (identity on covered cells); see module doc."""
        indices = np.asarray(indices, dtype=np.int64)
        if self.full_coverage:
            return indices
        out = indices.copy()
        cache = self._project_cache
        # membership per cell: `set - cache.keys()` would walk the whole (growing) cache
        todo = sorted({c for c in indices[~self._mask[indices]].tolist() if c not in cache})
        for start in range(0, len(todo), 64):
            chunk = np.array(todo[start : start + 64], dtype=np.int64)
            if self._cov_onehot is None:
                self._cov_onehot = _onehot(self.codec, self.covered).T.copy()
            # distance = 26 - matching positions, so the nearest cell maximises matches
            matches = _onehot(self.codec, chunk) @ self._cov_onehot
            nearest = self.covered[np.argmax(matches, axis=1)]  # first = lowest index
            cache.update(zip(chunk.tolist(), nearest.tolist()))
        for k in np.flatnonzero(~self._mask[indices]).tolist():
            out[k] = cache[int(indices[k])]
        return out

    def neighbours(self, index: int) -> np.ndarray:
        """Covered cells one edit away (projected), sorted, ``index`` excluded."""
        hit = self._neighbour_cache.get(index)
        if hit is None:
            raw = self.codec.neighbours(index)
            if not self.full_coverage:
                raw = np.unique(self.project(raw))
                raw = raw[raw != index]
            hit = raw
            self._neighbour_cache[index] = hit
        return hit


def _onehot(codec: CellCodec, cells: np.ndarray) -> np.ndarray:
    """One-hot padded encoding (21 edge bits x 2 + 5 labels x 4 values), float32."""
    bits = (codec.edges[cells].astype(np.int64)[:, None] >> np.arange(21)) & 1
    out = np.zeros((len(cells), 21 * 2 + 5 * 4), dtype=np.float32)
    rows = np.arange(len(cells))[:, None]
    out[rows, 2 * np.arange(21)[None, :] + bits] = 1.0
    out[rows, 42 + 4 * np.arange(5)[None, :] + codec.labels[cells].astype(np.int64)] = 1.0
    return out


class FullTrack(Track):
    """All cells, 108-epoch test accuracy, budget in full trainings."""

    name = "full"
    objective = "test_accuracy"
    budget_unit = "full trainings"
    requires = (("test_accuracy", MAX_EPOCHS),)

    def spent(self) -> float:
        return self.total_epochs_spent / MAX_EPOCHS

    def cost(self, indices: np.ndarray, epochs: int) -> np.ndarray:
        return np.full(len(indices), epochs / MAX_EPOCHS)


class MultiFidelityTrack(Track):
    """Covered cells, validation accuracy at 4/12/36/108 epochs, budget in seconds."""

    name = "multifidelity"
    objective = "validation_accuracy"
    budget_unit = "seconds"
    multi_fidelity = True
    requires = tuple(("validation_accuracy", e) for e in EPOCHS) + (("training_time", MAX_EPOCHS),)

    def __init__(self, backend: BaseBenchmark, *, cells: np.ndarray | None = None):
        super().__init__(backend, cells=cells)
        # 108-epoch training time of every covered cell, read once (charges only the backend)
        times = np.asarray(
            backend.query_batch(self.covered, MAX_EPOCHS)["training_time"], dtype=np.float64
        )
        backend.reset_budget_counters()
        if np.isnan(times).any():
            raise EvalConfigError(
                f"backend {type(backend).__name__} lacks the 108-epoch training time of "
                f"{int(np.isnan(times).sum())} covered cells; the multifidelity track needs it"
            )
        self._time108 = np.full(len(self.space), np.nan)
        self._time108[self.covered] = times
        self.mean_time108 = float(times.mean())

    @property
    def fidelities(self) -> tuple[int, ...]:
        return tuple(EPOCHS)

    def _time(self, indices, epochs, stop_halfway, reported):
        return self.cost(indices, epochs) * (0.5 if stop_halfway else 1.0)

    def spent(self) -> float:
        return self.training_time_spent

    def cost(self, indices: np.ndarray, epochs: int) -> np.ndarray:
        return self._time108[np.asarray(indices, dtype=np.int64)] * (epochs / MAX_EPOCHS)


TRACKS: dict[str, type[Track]] = {"full": FullTrack, "multifidelity": MultiFidelityTrack}


def resolve_track(name: str) -> type[Track]:
    """Track class of a name; :class:`EvalConfigError` naming the choices otherwise."""
    try:
        return TRACKS[name]
    except (KeyError, TypeError):
        raise EvalConfigError(f"unknown track {name!r}; choices: {sorted(TRACKS)}") from None


def covered_cells(name: str, table: BaseBenchmark) -> np.ndarray:
    """The cells of track ``name`` on ``table``: all cells for ``full`` (error unless the
    table covers them all), the cells with every required metric for ``multifidelity``.

    Uses ``table.covered_indices(epochs, require)`` where the backend has it (a full-space
    backend without it covers everything).

    Raises
    ------
    EvalConfigError
        If the table lacks the track's data.
    """
    cls = resolve_track(name)
    n = len(table.space)
    if not hasattr(table, "covered_indices"):
        return np.arange(n, dtype=np.int64)
    covered = None
    by_epochs: dict[int, list[str]] = {}
    for metric, epochs in cls.requires:
        by_epochs.setdefault(epochs, []).append(metric)
    for epochs, metrics in by_epochs.items():
        try:
            got = np.asarray(
                table.covered_indices(epochs=epochs, require=tuple(metrics)), dtype=np.int64
            )
        except (OutOfDomainError, PartialTableError, KeyError, ValueError) as exc:
            raise EvalConfigError(
                f"table lacks the data of track {name!r}: {metrics} at {epochs} epochs ({exc})"
            ) from exc
        covered = got if covered is None else np.intersect1d(covered, got)
    if covered is None or not len(covered):
        raise EvalConfigError(
            f"table covers no cell with the data of track {name!r} (needs {list(cls.requires)})"
        )
    if name == "full" and len(covered) != n:
        raise EvalConfigError(
            f"track 'full' needs 108-epoch test accuracy for all {n} cells; the table has "
            f"it for {len(covered)}"
        )
    return covered


def make_track(name: str, backend: BaseBenchmark, *, cells: np.ndarray | None = None) -> Track:
    """Wrap ``backend`` into track ``name`` (cells default: :func:`covered_cells` of it)."""
    cls = resolve_track(name)
    if cells is None:
        cells = covered_cells(name, backend)
    return cls(backend, cells=cells)
