"""The one query protocol shared by the table and every surrogate (``nasbench.api`` names).

Every backend answers::

    bench.query(spec, epochs=108, stop_halfway=False)
        -> {'module_adjacency', 'module_operations', 'trainable_parameters',
            'training_time', 'train_accuracy', 'validation_accuracy', 'test_accuracy'}
    bench.query_batch(cells, epochs=108, stop_halfway=False)
        -> {'index', 'trainable_parameters', 'training_time', 'train_accuracy',
            'validation_accuracy', 'test_accuracy'} as arrays (NaN where missing)
    bench.is_valid(spec)
    bench.get_budget_counters() -> (training_time_spent, total_epochs_spent)
    bench.reset_budget_counters()
    bench.hash_iterator()
    bench.get_metrics_from_hash(module_hash) -> (fixed, computed)
    bench.get_metrics_from_spec(spec) -> (fixed, computed)
    bench.valid_epochs

``query`` and ``query_batch`` "train" the cells and charge the budget
(``training_time_spent += training_time``, ``total_epochs_spent += epochs`` or ``epochs // 2``
when ``stop_halfway``); a missing training time charges 0 s. The getters never charge it.
A field a backend lacks comes back as ``None`` from ``query`` and NaN from ``query_batch``.

Switching a script from the table to a surrogate is one line::

    bench = TabularBenchmark("nb101.npz", seed=0)      # or: SurrogateBenchmark(seed=0)
"""

from __future__ import annotations

import abc
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from .cell_space import CellSpace, get_space
from .errors import OutOfDomainError
from .model_spec import ModelSpec, check_spec, is_valid_spec

__all__ = ["Benchmark", "BaseBenchmark", "METRICS", "RUN_FIELDS", "EPOCHS"]

#: The four per-run metrics, in the names ``query`` returns.
METRICS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
#: Per-run fields of ``computed_statistics`` in the official API.
RUN_FIELDS = tuple(f"{when}_{m}" for when in ("halfway", "final") for m in METRICS)
#: The official training budgets.
EPOCHS = (4, 12, 36, 108)


@runtime_checkable
class Benchmark(Protocol):
    """What every backend implements (see the module docstring)."""

    valid_epochs: frozenset[int]

    def query(self, model_spec: ModelSpec, epochs: int = 108,
              stop_halfway: bool = False) -> dict[str, Any]: ...

    def query_batch(self, cells, epochs: int = 108,
                    stop_halfway: bool = False) -> dict[str, np.ndarray]: ...

    def is_valid(self, model_spec: ModelSpec) -> bool: ...

    def get_budget_counters(self) -> tuple[float, int]: ...

    def reset_budget_counters(self) -> None: ...

    def hash_iterator(self) -> Iterator[str]: ...

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict, dict]: ...

    def get_metrics_from_spec(self, model_spec: ModelSpec) -> tuple[dict, dict]: ...


class BaseBenchmark(abc.ABC):
    """Shared logic of all backends: validation, cell lookup, budgets, batch plumbing.

    Subclasses implement :meth:`_runs` (one run per cell as arrays), :meth:`valid_epochs`,
    :meth:`hash_iterator` and :meth:`get_metrics_from_hash`.

    Parameters
    ----------
    seed : int, optional
        Seeds the backend's own ``random.Random`` (never the global one), which draws the
        repeat (table) or the noise (surrogate) of each query.
    space : CellSpace, optional
        The enumerated space (default :func:`nb101.get_space`).
    """

    def __init__(self, seed: int | None = None, space: CellSpace | None = None):
        self.seed = seed
        self._rng = random.Random(seed)
        self.space = space if space is not None else get_space()
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    # ------------------------------------------------------------------ to implement
    @property
    @abc.abstractmethod
    def valid_epochs(self) -> frozenset[int]:
        """The budgets this backend answers."""

    @abc.abstractmethod
    def _runs(self, indices: np.ndarray, epochs: int, stop_halfway: bool
              ) -> dict[str, np.ndarray]:
        """One run per cell index: float arrays for :data:`METRICS` (NaN if missing).
        May raise :class:`PartialTableError` for cells or budgets it does not cover."""

    @abc.abstractmethod
    def hash_iterator(self) -> Iterator[str]:
        """Hashes of the cells this backend answers, in ascending order."""

    @abc.abstractmethod
    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict, dict]:
        """``(fixed, computed)`` as the official API; never charges the budget. An unknown
        hash raises :class:`OutOfDomainError` (``self.space.index_of_hash`` does)."""

    # ------------------------------------------------------------------------ queries
    def _check_epochs(self, epochs: int) -> None:
        if epochs not in self.valid_epochs:
            raise OutOfDomainError(
                f"invalid number of epochs, got {epochs!r} "
                f"(valid epochs = {sorted(self.valid_epochs)})")

    def query(self, model_spec: ModelSpec, epochs: int = 108,
              stop_halfway: bool = False) -> dict[str, Any]:
        """Train ``model_spec`` for ``epochs`` by lookup or prediction and charge the budget.

        The budget grows as the original's: ``training_time_spent`` by the returned
        ``training_time`` and ``total_epochs_spent`` by ``epochs`` (``epochs // 2`` with
        ``stop_halfway``). A run without a training time (the real data's exhaustive test
        accuracies have none) charges 0 s and its epochs: the original, whose files time
        every run, has no rule for it, and a guessed time would put into the counters a
        value no run holds. So on such a table ``total_epochs_spent`` is exact and a budget
        in seconds undercounts; ``nb101 summary`` shows which budgets have training times.

        Raises
        ------
        OutOfDomainError
            If ``epochs`` is not a valid budget (checked first) or the spec is not in the space.
        """
        self._check_epochs(epochs)
        index = self.space.index_of_spec(model_spec)
        run = self._run(index, epochs, stop_halfway)
        result = self._fixed(index)
        result.update(run)
        self._charge(result["training_time"] or 0.0, epochs // 2 if stop_halfway else epochs)
        return result

    def query_batch(self, cells, epochs: int = 108,
                    stop_halfway: bool = False) -> dict[str, np.ndarray]:
        """Query many cells at once and charge the budget for all of them.

        Parameters
        ----------
        cells : sequence of ModelSpec, sequence of str hashes, or int array of cell indices

        Returns
        -------
        dict of ndarray
            ``index`` (cell index), ``trainable_parameters`` and the :data:`METRICS`
            (float64, NaN where the backend lacks a value).
        """
        self._check_epochs(epochs)
        indices = self.indices(cells)
        runs = self._runs(indices, epochs, stop_halfway)
        out = {"index": indices, "trainable_parameters": self.parameters(indices)}
        out.update({name: np.asarray(runs[name], dtype=np.float64) for name in METRICS})
        spent = float(np.nansum(out["training_time"]))
        self._charge(spent, (epochs // 2 if stop_halfway else epochs) * len(indices))
        return out

    def indices(self, cells) -> np.ndarray:
        """Cell indices of specs, hashes or indices (validated).

        Raises
        ------
        OutOfDomainError
            For an index out of range, an unknown hash (:meth:`CellSpace.index_of_hash`) or a
            spec outside the space.
        """
        if isinstance(cells, np.ndarray) and np.issubdtype(cells.dtype, np.integer):
            if cells.size and (cells.min() < 0 or cells.max() >= len(self.space)):
                raise OutOfDomainError(
                    f"cell indices must lie in [0, {len(self.space)}), got "
                    f"[{cells.min()}, {cells.max()}]")
            return cells.astype(np.int64, copy=False)
        cells = list(cells)
        if cells and all(isinstance(c, str) for c in cells):
            return self.space.indices_of_hashes(cells)
        return self.space.indices_of_specs(cells)

    def parameters(self, indices: np.ndarray) -> np.ndarray:
        """Trainable parameters of cells (float64 array; NaN where unknown).

        Default: the exact formula (:meth:`CellSpace.parameters`), vectorised."""
        return self.space.parameters(indices).astype(np.float64)

    def _run(self, index: int, epochs: int, stop_halfway: bool) -> dict[str, float | None]:
        """One run of one cell as Python floats (``None`` where missing); default via
        :meth:`_runs`. Backends may override it with a faster single-cell path."""
        runs = self._runs(np.array([index], dtype=np.int64), epochs, stop_halfway)
        out = {}
        for name in METRICS:
            value = float(runs[name][0])
            out[name] = None if value != value else value
        return out

    def _fixed(self, index: int) -> dict[str, Any]:
        """``fixed_statistics`` of a cell (fresh copies); default: the canonical
        representative and its exact parameter count, both read from the space (a few
        lookups, no spec built, nothing computed)."""
        matrix, ops = self.space.graph(index)
        return {"module_adjacency": matrix, "module_operations": ops,
                "trainable_parameters": int(self.space.parameters()[index])}

    # ------------------------------------------------------------------------ helpers
    def is_valid(self, model_spec: ModelSpec) -> bool:
        """True if the spec lies in the space (does not charge the budget)."""
        return is_valid_spec(model_spec)

    def get_fixed_from_hash(self, module_hash: str) -> dict[str, Any]:
        """The ``fixed`` half of :meth:`get_metrics_from_hash` alone (fresh copies; no run is
        read or predicted); never charges the budget.

        Raises
        ------
        OutOfDomainError
            If no cell of the space has this hash.
        PartialTableError
            If a partial table does not cover the cell.
        """
        index = self.space.index_of_hash(module_hash)  # UnknownHashError: OutOfDomainError
        return self._fixed(index)

    def get_metrics_from_spec(self, model_spec: ModelSpec) -> tuple[dict, dict]:
        """``get_metrics_from_hash`` of a validated spec; never charges the budget."""
        check_spec(model_spec)
        return self.get_metrics_from_hash(self.space.hash(self.space.index_of_spec(model_spec)))

    def get_budget_counters(self) -> tuple[float, int]:
        """``(training_time_spent, total_epochs_spent)`` since the last reset."""
        return self.training_time_spent, self.total_epochs_spent

    def reset_budget_counters(self) -> None:
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    def reseed(self, seed: int | None) -> None:
        """Restart the backend's own generator as if constructed with ``seed`` (cheaper than
        a new backend: loaded data and caches are kept)."""
        self.seed = seed
        self._rng = random.Random(seed)

    def _charge(self, seconds: float, epochs: int) -> None:
        self.training_time_spent += seconds
        self.total_epochs_spent += epochs

    def _draw(self, num_runs: Sequence[int] | np.ndarray) -> np.ndarray:
        """One uniform repeat index per cell from the backend's own RNG
        (``random.randint(0, n - 1)`` for a single cell, as the original API)."""
        if len(num_runs) == 1:
            return np.array([self._rng.randint(0, int(num_runs[0]) - 1)])
        rng = np.random.default_rng(self._rng.getrandbits(64))
        return (rng.random(len(num_runs)) * np.asarray(num_runs)).astype(np.int64)


# ------------------------------------------------------------------------------ targets
__all__ += ["Target", "parse_target", "format_target"]


@dataclass(frozen=True)
class Target:
    """One quantity of the benchmark: a metric of a run at a budget, final or at half of it.

    Its name is ``"[halfway_]<metric>@<epochs>"`` (``"test_accuracy@108"``,
    ``"halfway_test_accuracy@36"``): the key of a surrogate's models and of the predictor
    protocol's labels. It unpacks (and indexes) as ``(metric, epochs, halfway)``.

    Parameters
    ----------
    metric : str
        One of :data:`METRICS`.
    epochs : int
        One of :data:`EPOCHS`.
    halfway : bool, default=False
        The value at half the budget (``halfway_*`` fields) instead of the final one.

    Raises
    ------
    ValueError
        If ``metric`` or ``epochs`` is not one of the benchmark's.

    Examples
    --------
    >>> t = parse_target("halfway_test_accuracy@36")
    >>> t.metric, t.epochs, t.halfway, t.column
    ('test_accuracy', 36, True, 'halfway_test_accuracy')
    >>> Target("validation_accuracy", 108).name
    'validation_accuracy@108'
    """

    metric: str
    epochs: int
    halfway: bool = False

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown target metric {self.metric!r}; expected one of "
                             f"{list(METRICS)}")
        if isinstance(self.epochs, bool) or not isinstance(self.epochs, (int, np.integer)) \
                or int(self.epochs) not in EPOCHS:
            raise ValueError(f"target epochs must be one of {list(EPOCHS)}, got "
                             f"{self.epochs!r}")
        object.__setattr__(self, "epochs", int(self.epochs))
        object.__setattr__(self, "halfway", bool(self.halfway))

    @property
    def name(self) -> str:
        """``"[halfway_]<metric>@<epochs>"``."""
        return f"{'halfway_' if self.halfway else ''}{self.metric}@{self.epochs}"

    @property
    def column(self) -> str:
        """The per-run field of :data:`RUN_FIELDS` that holds it (``"final_test_accuracy"``)."""
        return f"{'halfway' if self.halfway else 'final'}_{self.metric}"

    def __str__(self) -> str:
        return self.name

    def __iter__(self) -> Iterator:
        return iter((self.metric, self.epochs, self.halfway))

    def __getitem__(self, position: int) -> str | int | bool:
        return (self.metric, self.epochs, self.halfway)[position]


def parse_target(target: str | Target) -> Target:
    """``"halfway_test_accuracy@36"`` -> ``Target("test_accuracy", 36, True)`` (a
    :class:`Target` is returned as is).

    Raises
    ------
    ValueError
        If the name is not ``[halfway_]<metric>@<epochs>`` with a metric of :data:`METRICS`
        and epochs in :data:`EPOCHS`.
    """
    if isinstance(target, Target):
        return target
    name, sep, epochs = str(target).partition("@")
    halfway = name.startswith("halfway_")
    metric = name[len("halfway_"):] if halfway else name
    if not sep or metric not in METRICS or not epochs.isdigit() or int(epochs) not in EPOCHS:
        raise ValueError(f"unknown target {target!r}; expected '[halfway_]<metric>@<epochs>' "
                         f"with metric in {list(METRICS)} and epochs in {list(EPOCHS)}")
    return Target(metric, int(epochs), halfway)


def format_target(metric: str, epochs: int, halfway: bool = False) -> str:
    """Inverse of :func:`parse_target`: the name of ``Target(metric, epochs, halfway)``.

    Raises
    ------
    ValueError
        If ``metric`` or ``epochs`` is not one of the benchmark's.
    """
    return Target(metric, epochs, halfway).name
