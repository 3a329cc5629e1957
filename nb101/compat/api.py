"""``nasbench.api`` without TensorFlow: existing NAS-Bench-101 code runs with one changed import.

Change ``from nasbench import api`` to ``from nb101.compat import api``; the rest of the code
stays as it is and runs on the real table or on a surrogate::

    nasbench = api.NASBench('/path/to/nasbench_only108.tfrecord')  # converted once, cached
    nasbench = api.NASBench('nb101_full.npz', seed=0)              # a table of this project
    nasbench = api.NASBench('surrogate', seed=0)                   # the bundled surrogate
    nasbench = api.NASBench('/path/to/artifact_folder')            # a trained surrogate

    model_spec = api.ModelSpec(
        matrix=[[0, 1, 1, 1, 0, 1, 0],    # input layer
                [0, 0, 0, 0, 0, 0, 1],    # 1x1 conv
                [0, 0, 0, 0, 0, 0, 1],    # 3x3 conv
                [0, 0, 0, 0, 1, 0, 0],    # 5x5 conv (replaced by two 3x3's)
                [0, 0, 0, 0, 0, 0, 1],    # 5x5 conv (replaced by two 3x3's)
                [0, 0, 0, 0, 0, 0, 1],    # 3x3 max-pool
                [0, 0, 0, 0, 0, 0, 0]],   # output layer
        ops=['input', 'conv1x1-bn-relu', 'conv3x3-bn-relu', 'conv3x3-bn-relu',
             'conv3x3-bn-relu', 'maxpool3x3', 'output'])
    data = nasbench.query(model_spec)                     # charges the budget
    nasbench.get_budget_counters()                        # (training time, epochs)
    fixed, computed = nasbench.get_metrics_from_spec(model_spec)   # no budget
    for module_hash in nasbench.hash_iterator():
        fixed, computed = nasbench.get_metrics_from_hash(module_hash)

``query(model_spec, epochs=108, stop_halfway=False)`` returns a dict with
``module_adjacency`` (np.int8 matrix of the stored canonical graph), ``module_operations``
(its op names), ``trainable_parameters``, ``training_time`` (seconds up to that point),
``train_accuracy``, ``validation_accuracy`` and ``test_accuracy`` (halfway values with
``stop_halfway=True``). ``get_metrics_from_hash/spec`` return ``(fixed, computed)``: ``fixed``
holds ``module_adjacency``, ``module_operations``, ``trainable_parameters``; ``computed[epochs]``
is a list of run dicts with ``halfway_training_time``, ``halfway_train_accuracy``,
``halfway_validation_accuracy``, ``halfway_test_accuracy``, ``final_training_time``,
``final_train_accuracy``, ``final_validation_accuracy`` and ``final_test_accuracy``.

Where this differs from the original, and why:

* ``seed`` never touches Python's global ``random`` module (the original calls
  ``random.seed(seed)``); the backend owns a ``random.Random(seed)``. On a table with three
  runs per cell it draws ``randint(0, 2)`` per query as the original did, so with the same
  seed the same query sequence picks the same repeats as the original (when nothing else
  drew from the original's global generator in between).
* Budget counters belong to the ``NASBench`` object (its backend); nothing is global.
* ``fixed_statistics`` and ``computed_statistics`` are lazy read-only mappings over the
  backend (the original held every record in dicts, gigabytes for the full file); each
  access returns fresh copies. ``hash_iterator()`` yields hashes in ascending order (the
  original: file order).
* A table that covers the space only partly (e.g. the real data) raises
  :class:`nb101.PartialTableError` (a ``KeyError``, as the original's missing hash) where a
  query needs a cell or budget it lacks; ``computed[epochs]`` is ``[]`` for a budget without
  runs of the cell, and a value it lacks is ``None``.
* A surrogate answers every cell of the space with simulated runs; what it has no model for
  is ``None`` (with the bundled default: ``train_accuracy`` and every halfway accuracy;
  ``test_accuracy`` at 108 epochs only), and ``computed[epochs]`` holds one run of predicted
  means.
* Every rule of ``_check_spec`` raises :class:`OutOfDomainError` (a ``ValueError``), including
  more than 7 vertices (the original raised ``TypeError`` there) and a matrix that holds
  values other than 0 and 1 (the original hashed them into a hash that is not in the data).
* ``evaluate`` (training with TensorFlow) raises ``NotImplementedError``.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Iterator, KeysView, Mapping
from typing import Any

import numpy as np

from ..api import Benchmark
from ..backends import open_benchmark
from ..errors import OutOfDomainError
from ..model_spec import CONV1X1, CONV3X3, MAXPOOL3X3, binary_matrix, check_pruned
from ..model_spec import ModelSpec as _ProjectSpec
from .model_spec import ModelSpec

__all__ = ["NASBench", "ModelSpec", "OutOfDomainError", "UnknownHashError", "default_config"]

_log = logging.getLogger(__name__)

_CONFIG = {
    # data (only used to generate the dataset)
    "train_data_files": [], "valid_data_file": "", "test_data_file": "",
    "sample_data_file": "", "data_format": "channels_last", "num_labels": 10,
    # search space
    "module_vertices": 7, "max_edges": 9, "available_ops": [CONV3X3, CONV1X1, MAXPOOL3X3],
    # network and training, as in the exhaustive evaluation
    "stem_filter_size": 128, "num_stacks": 3, "num_modules_per_stack": 3, "batch_size": 256,
    "train_epochs": 108, "train_seconds": 14400.0, "learning_rate": 0.1,
    "lr_decay_method": "COSINE_BY_STEP", "momentum": 0.9, "weight_decay": 1e-4,
    "max_attempts": 5, "intermediate_evaluations": ["0.5"], "num_repeats": 3,
    # TPU
    "use_tpu": True, "tpu_iterations_per_loop": 100, "tpu_num_shards": 2,
}


def default_config() -> dict[str, Any]:
    """The original ``config.build_config()`` with its default flag values (a fresh copy)."""
    return copy.deepcopy(_CONFIG)


class UnknownHashError(OutOfDomainError, KeyError):
    """A module hash that is no cell of the benchmark: an :class:`OutOfDomainError` and a
    ``KeyError`` (what the original's dict lookup raised)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class _Statistics(Mapping):
    """``fixed_statistics`` / ``computed_statistics``: hash -> the original layout, read
    lazily from the backend (fresh copies on every access; never charges the budget)."""

    def __init__(self, nasbench: NASBench, part: int, name: str):
        self._nasbench = nasbench
        self._part = part
        self._name = name

    def __getitem__(self, module_hash: str) -> Any:
        if self._part == 0:
            return self._nasbench._fixed(module_hash)
        return self._nasbench.get_metrics_from_hash(module_hash)[1]

    def __iter__(self) -> Iterator[str]:
        return iter(self._nasbench.backend.hash_iterator())

    def __len__(self) -> int:
        return self._nasbench._num_hashes()

    def __contains__(self, module_hash: object) -> bool:
        if not isinstance(module_hash, str):
            return False
        try:  # both mappings have the same keys; the fixed half is the cheap one to read
            self._nasbench._fixed(module_hash)
        except KeyError:
            return False
        return True

    def __repr__(self) -> str:
        return f"<{self._name}: lazy view of {len(self)} hashes of {self._nasbench.backend!r}>"


class NASBench:
    """The original ``nasbench.api.NASBench`` on a table or a surrogate.

    Parameters
    ----------
    dataset_file : path-like, str or Benchmark
        An official ``.tfrecord`` (converted once into the project cache folder, keyed by
        its size and SHA-256, then loaded from there), a table file of this project, a
        surrogate artifact folder, ``"surrogate"`` (the bundled default surrogate), or an
        already opened benchmark object (see :func:`nb101.backends.open_benchmark`).
    seed : int, optional
        Seeds the generator that draws which run each query returns. Unlike the original,
        which calls ``random.seed(seed)`` on Python's global ``random`` module, the global
        generator is never touched: the draws come from the backend's own
        ``random.Random(seed)`` (for a table, ``randint(0, n - 1)`` over the ``n`` runs of the
        cell, as the original). ``None`` seeds from fresh entropy.

    Attributes
    ----------
    config : dict
        The original's configuration values (``available_ops``, ``module_vertices`` = 7,
        ``max_edges`` = 9, ``num_repeats`` = 3, training settings, ...).
    valid_epochs : set of int
        Budgets the backend answers ({4, 12, 36, 108} for full data).
    fixed_statistics : Mapping
        hash -> ``{'module_adjacency', 'module_operations', 'trainable_parameters'}``.
    computed_statistics : Mapping
        hash -> {epochs -> list of run dicts with the eight ``halfway_*``/``final_*`` keys}.
    training_time_spent, total_epochs_spent
        The budget counters (charged by :meth:`query`).
    history : dict
        Unused, as in the original.
    backend : Benchmark
        The table or surrogate answering (its ``query_batch`` is many times faster than a
        loop of queries).

    Raises
    ------
    FileNotFoundError, TableError, RecordError, ArtifactError
        If ``dataset_file`` cannot be opened (the message says what is accepted).
    """

    def __init__(self, dataset_file: Any, seed: int | None = None):
        self.config = default_config()
        if isinstance(dataset_file, Benchmark):
            if seed is not None:
                raise ValueError("seed must be None when dataset_file is a benchmark object: "
                                 f"it owns its generator (got seed={seed!r})")
            self._backend = dataset_file
        else:
            self._backend = open_benchmark(dataset_file, seed=seed)
        _log.info("NASBench on %r", self._backend)
        self.valid_epochs = set(self._backend.valid_epochs)
        self.fixed_statistics: Mapping[str, dict] = _Statistics(self, 0, "fixed_statistics")
        self.computed_statistics: Mapping[str, dict] = _Statistics(
            self, 1, "computed_statistics")
        self.history: dict = {}
        self._len: int | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._backend!r})"

    @property
    def backend(self) -> Benchmark:
        """The table or surrogate that answers the queries."""
        return self._backend

    # ------------------------------------------------------------------ budget counters
    @property
    def training_time_spent(self) -> float:
        return self._backend.get_budget_counters()[0]

    @training_time_spent.setter
    def training_time_spent(self, value: float) -> None:
        self._backend.training_time_spent = value

    @property
    def total_epochs_spent(self) -> int:
        return self._backend.get_budget_counters()[1]

    @total_epochs_spent.setter
    def total_epochs_spent(self, value: int) -> None:
        self._backend.total_epochs_spent = value

    def get_budget_counters(self) -> tuple[float, int]:
        """``(training_time_spent, total_epochs_spent)``."""
        return self._backend.get_budget_counters()

    def reset_budget_counters(self) -> None:
        """Set both budget counters back to zero."""
        self._backend.reset_budget_counters()

    # ----------------------------------------------------------------------- queries
    def query(self, model_spec: ModelSpec, epochs: int = 108,
              stop_halfway: bool = False) -> dict[str, Any]:
        """One training run of ``model_spec`` (a stored or simulated one); charges the budget.

        Each call draws one of the runs of the cell (the original's ``num_repeats`` = 3
        repeats), so repeated or isomorphic queries may return identical metrics. The budget
        grows by the returned ``training_time`` (0 s where it is None, see
        :meth:`nb101.api.BaseBenchmark.query`) and by ``epochs`` (``epochs // 2`` with
        ``stop_halfway``).

        Parameters
        ----------
        model_spec : ModelSpec
            Of this module or :class:`nb101.ModelSpec`.
        epochs : int, default=108
            One of :attr:`valid_epochs`.
        stop_halfway : bool, default=False
            Return the metrics at half the budget instead of the final ones.

        Returns
        -------
        dict
            See the module docstring; a value the backend lacks is ``None``.

        Raises
        ------
        OutOfDomainError
            If ``epochs`` is not valid (checked first) or the spec is outside the space.
        PartialTableError
            If a partial table lacks the cell or the budget.
        """
        if epochs not in self.valid_epochs:
            raise OutOfDomainError(f"invalid number of epochs, must be one of "
                                   f"{sorted(self.valid_epochs)}, got {epochs!r}")
        return self._backend.query(self._project_spec(model_spec), epochs, stop_halfway)

    def is_valid(self, model_spec: ModelSpec) -> bool:
        """True if the spec lies in the space (does not charge the budget)."""
        try:
            self._check_spec(model_spec)
        except OutOfDomainError:
            return False
        return True

    def evaluate(self, model_spec: ModelSpec, model_dir: str | os.PathLike) -> dict:
        """Not available: the original trains the spec from scratch with TensorFlow.

        Raises
        ------
        NotImplementedError
            Always; query the table or a surrogate instead.
        """
        raise NotImplementedError(
            "NASBench.evaluate trains a model from scratch with TensorFlow (the original's "
            "lib/evaluate.py); training is out of scope of this TensorFlow-free package. "
            "Use query() on the table or a surrogate instead.")

    # ---------------------------------------------------------------------- analysis
    def hash_iterator(self) -> KeysView:
        """The hashes of every cell with data (ascending), as a keys view; no budget."""
        return self.fixed_statistics.keys()

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict, dict]:
        """``(fixed, computed)`` of a hash, fresh copies; for analysis, never charges the
        budget. ``computed`` has every budget of :attr:`valid_epochs` as a key, in ascending
        order; a partial table gives ``[]`` for a budget without runs of the cell.

        Raises
        ------
        UnknownHashError
            If no cell of the space has this hash (a ``KeyError``, as the original).
        PartialTableError
            If a partial table has no run of the cell (also a ``KeyError``).
        """
        try:
            fixed, computed = self._backend.get_metrics_from_hash(module_hash)
        except OutOfDomainError as exc:
            raise UnknownHashError(str(exc)) from exc
        # every valid budget is a key, as in the original (a partial table has [] where it
        # lacks runs), so loops over valid_epochs run unchanged
        return fixed, {e: computed.get(e, []) for e in sorted(self.valid_epochs)}

    def get_metrics_from_spec(self, model_spec: ModelSpec) -> tuple[dict, dict]:
        """:meth:`get_metrics_from_hash` of a validated spec; never charges the budget.

        Raises
        ------
        OutOfDomainError
            If the spec is outside the space.
        """
        self._check_spec(model_spec)
        return self.get_metrics_from_hash(self._hash_spec(model_spec))

    # ------------------------------------------------------------------------ helpers
    def _check_spec(self, model_spec: ModelSpec) -> bytes | None:
        """The original's ``_check_spec``: raise :class:`OutOfDomainError` unless the spec
        lies in the space (the rules, in the original order: connected, at most 7 vertices,
        at most 9 edges, input first, output last, interior ops in ``available_ops``).

        Returns :func:`nb101.model_spec.binary_matrix` of the pruned matrix (None unless it
        is a plain 0/1 integer matrix), for :meth:`_project_spec`."""
        if not (hasattr(model_spec, "valid_spec") and hasattr(model_spec, "matrix")
                and hasattr(model_spec, "ops")):
            raise TypeError(f"expected a ModelSpec, got {type(model_spec).__name__}")
        if not model_spec.valid_spec:
            raise OutOfDomainError("invalid spec, provided graph is disconnected.")
        flat = binary_matrix(model_spec.matrix)
        if flat is None:
            matrix = np.asarray(model_spec.matrix)
            if not np.isin(matrix, (0, 1)).all():
                raise OutOfDomainError(f"matrix must hold only 0 and 1, got values "
                                       f"{np.unique(matrix).tolist()}")
        check_pruned(model_spec.matrix, model_spec.ops,
                     num_edges=None if flat is None else flat.count(1))
        return flat

    def _hash_spec(self, model_spec: ModelSpec) -> str:
        """The module hash of a spec, labelled by ``config['available_ops']``."""
        return model_spec.hash_spec(self.config["available_ops"])

    def _project_spec(self, model_spec: ModelSpec) -> _ProjectSpec:
        """The validated spec as the backends' :class:`nb101.ModelSpec` (ops are names
        once validated; the pruned matrix is 0/1)."""
        flat = self._check_spec(model_spec)
        if isinstance(model_spec, _ProjectSpec):
            return model_spec
        if flat is not None and len(flat) == len(model_spec.ops) ** 2:  # as below, faster
            # the bytes the spec's own pruning produced are pruned (pruning is idempotent)
            pruned = flat == getattr(model_spec, "_pruned_flat", None)
            return _ProjectSpec._from_flat(flat, model_spec.ops, pruned=pruned)
        return _ProjectSpec(np.asarray(model_spec.matrix).astype(np.int8),
                            [str(op) for op in model_spec.ops])

    def _fixed(self, module_hash: str) -> dict:
        """``fixed_statistics[module_hash]``, without reading or predicting any run where the
        backend can (``get_fixed_from_hash`` of :class:`nb101.api.BaseBenchmark`)."""
        get_fixed = getattr(self._backend, "get_fixed_from_hash", None)
        if get_fixed is None:
            return self.get_metrics_from_hash(module_hash)[0]
        try:
            return get_fixed(module_hash)
        except OutOfDomainError as exc:
            raise UnknownHashError(str(exc)) from exc

    def _num_hashes(self) -> int:
        if self._len is None:
            self._len = sum(1 for _ in self._backend.hash_iterator())
        return self._len
