"""``nasbench.api.NASBench`` on a table file: :class:`TabularBenchmark`.

Usage
-----
>>> from nb101 import TabularBenchmark, convert_tfrecord
>>> convert_tfrecord("nasbench_full.tfrecord", "nb101_full.npz")       # doctest: +SKIP
>>> bench = TabularBenchmark("nb101_full.npz", seed=0)                # doctest: +SKIP
>>> bench.query(spec, epochs=36)                                      # doctest: +SKIP
{'module_adjacency': ..., 'module_operations': [...], 'trainable_parameters': ...,
 'training_time': ..., 'train_accuracy': ..., 'validation_accuracy': ..., 'test_accuracy': ...}

Which run a query returns
-------------------------
``query`` draws one of the ``n`` runs of (cell, epochs) uniformly with the benchmark's own
seeded RNG, ``r = randint(0, n - 1)``, exactly as the official API draws one of the three
repeats, and returns that run's fields. A field the drawn run lacks (NaN in the table) comes
from the cell's runs at that budget that have it: the ``(r mod k)``-th of those ``k`` runs, in
table order (repeats 0, 1, 2, then the unknown repeats). So a query returns every field the
table has for the cell and budget, never a value the table does not hold, and is ``None``
only where no run of the cell at that budget has the field. On a complete table (the official
files: every run has every field) every field comes from the one drawn run, as in the
original.

Partial tables need this: the real data (:func:`nb101.real_data.real_table`) holds, for each
of its 18,760 sample cells, two partial 108-epoch runs that may be different trainings (the
test accuracy of repeat 0, and the validation accuracy and training time of a run of unknown
repeat); a query of such a cell returns all three, taken from those two runs. ``nb101
summary TABLE`` shows what a table covers, per budget and field.

``require=("validation_accuracy",)`` hides the runs lacking that field from queries, getters
and coverage (and so from the rule above): a query then sees only cells and runs that have
one. The file format is :mod:`nb101.table_file`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from .api import METRICS, RUN_FIELDS, BaseBenchmark
from .cell_space import CellSpace
from .errors import OutOfDomainError, PartialTableError
from .model_spec import OPS, matrix_from_bits
from .table_file import TABLE_FORMAT, load_table

__all__ = ["TabularBenchmark"]


def _required_fields(require: Sequence[str] | None) -> tuple[str, ...]:
    if require is None:
        return ()
    if isinstance(require, str):
        require = (require,)
    names = tuple(require)
    for name in names:
        if name not in METRICS and name not in RUN_FIELDS:
            raise ValueError(f"unknown metric {name!r} in require; choices: "
                             f"{list(METRICS) + list(RUN_FIELDS)}")
    return names


class TabularBenchmark(BaseBenchmark):
    """``nasbench.api.NASBench`` on a table file (see the module docstring).

    Parameters
    ----------
    path : path-like
        A table file (:mod:`nb101.table_file`) written by
        :func:`~nb101.table_file.write_table`, :func:`nb101.convert.convert_tfrecord` or
        :func:`nb101.real_data.convert_real_data`.
    seed : int, optional
        Seeds the benchmark's own RNG, which draws the run of every query.
    require : sequence of str, optional
        Metric names (``"validation_accuracy"`` or a full field name such as
        ``"final_test_accuracy"``) every usable run must have: runs lacking one are invisible
        to queries, getters and coverage. A short name means the ``halfway_`` field for
        ``stop_halfway`` queries and the ``final_`` one otherwise; getters and
        :meth:`hash_iterator` show a run usable by either kind of query.
    space : CellSpace, optional

    Attributes
    ----------
    table : nb101.table_file.Table
        The loaded arrays.

    Notes
    -----
    ``query`` and ``query_batch`` draw one run ``r`` of the cell's ``n`` usable runs at the
    budget (``randint(0, n - 1)``, as the original) and return its fields; a field that run
    lacks comes from the ``(r mod k)``-th of the ``k`` usable runs of the cell at that budget
    that have it (table order), so every field the table holds for the cell and budget comes
    back, and none is invented. On a complete table every field comes from the drawn run.
    ``get_metrics_from_hash`` lists the stored runs as they are (None where missing).

    ``trainable_parameters`` comes from the table; where the table lacks it (-1) it is
    the exact formula's count (:meth:`nb101.cell_space.CellSpace.parameters`, equal to every
    official value checked).

    Raises
    ------
    TableError
        If ``path`` is not a table file.
    """

    def __init__(self, path: str | os.PathLike, seed: int | None = None, *,
                 require: Sequence[str] | None = None, space: CellSpace | None = None):
        super().__init__(seed, space)
        self.table = load_table(path, self.space)
        self.path = self.table.path
        self.require = _required_fields(require)
        epochs = self.table.epochs.tolist()
        self._epochs = epochs
        self._epoch_slot = {e: j for j, e in enumerate(epochs)}
        self._valid_epochs = frozenset(epochs)
        self._slot = np.full(len(self.space), -1, dtype=np.int64)
        self._slot[self.table.cells["cell_index"]] = np.arange(self.table.num_cells)
        self._views: dict[tuple, tuple] = {}
        self._masks: dict[tuple, np.ndarray | None] = {}
        # memoryviews read single values as Python numbers, without numpy's per-call cost
        self._slot_of = memoryview(self._slot)
        self._run_start = memoryview(np.ascontiguousarray(self.table.run_start))
        self._columns = {name: memoryview(np.ascontiguousarray(self.table.runs[name]))
                         for name in RUN_FIELDS}
        self._graphs = tuple(memoryview(np.ascontiguousarray(self.table.cells[name])) for name
                             in ("num_vertices", "bits", "codes", "trainable_parameters"))
        self._params: np.ndarray | None = None

    # ------------------------------------------------------------------- properties
    @property
    def valid_epochs(self) -> frozenset[int]:
        """Budgets present in the table."""
        return self._valid_epochs

    # ------------------------------------------------------------ visible runs (views)
    def _mask(self, fields: tuple[str, ...], halfway: bool | None) -> np.ndarray | None:
        """Runs having all ``fields`` (None = all runs); ``halfway=None``: either half."""
        if not fields:
            return None
        key = (fields, halfway)
        if key not in self._masks:
            if halfway is None:
                mask = self._mask(fields, False) | self._mask(fields, True)
            else:
                mask = np.ones(self.table.num_runs, dtype=bool)
                for name in fields:
                    column = name if name in RUN_FIELDS else (
                        f"{'halfway' if halfway else 'final'}_{name}")
                    mask &= ~np.isnan(self.table.runs[column])
            self._masks[key] = mask
        return self._masks[key]

    def _view(self, fields: tuple[str, ...], halfway: bool | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``(start, count, rows)`` per (cell slot, epoch slot) group of the visible runs;
        visible run j of a group is row ``rows[start + j]`` (``start + j`` if rows is None)."""
        key = (fields, halfway)
        if key not in self._views:
            run_start = self.table.run_start
            mask = self._mask(fields, halfway)
            if mask is None:
                view = (run_start[:-1], np.diff(run_start), None)
            else:
                visible = np.concatenate([[0], np.cumsum(mask, dtype=np.int64)])[run_start]
                start, counts = visible[:-1], np.diff(visible)
                view = (start, counts, np.flatnonzero(mask))
            self._views[key] = view
        return self._views[key]

    # ---------------------------------------------------------------------- lookups
    def _runs(self, indices: np.ndarray, epochs: int, stop_halfway: bool
              ) -> dict[str, np.ndarray]:
        slots = self._slot[indices]
        start, count, rows = self._view(self.require, stop_halfway)
        keys = slots * len(self._epochs) + self._epoch_slot[epochs]
        n = np.where(slots >= 0, count[np.where(slots >= 0, keys, 0)], 0)
        if n.size and not n.all():
            bad = np.flatnonzero(n == 0)
            raise self._partial(int(indices[bad[0]]), epochs, stop_halfway, len(bad))
        drawn = self._draw(n) if n.size else np.zeros(0, np.int64)
        pick = start[keys] + drawn
        if rows is not None:
            pick = rows[pick]
        out = {}
        for name, column in (_HALFWAY if stop_halfway else _FINAL):
            values = self.table.runs[column]
            got = values[pick].astype(np.float64)
            lacking = np.flatnonzero(np.isnan(got))
            if len(lacking):  # the field from the cell's runs that have it (module docstring)
                got[lacking] = self._fallback(values, keys[lacking], drawn[lacking],
                                              stop_halfway)
            out[name] = got
        return out

    def _fallback(self, values: np.ndarray, keys: np.ndarray, drawn: np.ndarray,
                  halfway: bool) -> np.ndarray:
        """For each group ``keys[i]`` (cell slot, epoch slot), the ``drawn[i] mod k``-th of
        its ``k`` visible runs that have a value in ``values`` (table order); NaN where k = 0.
        Reads only these groups' runs (a few each), never a whole column."""
        start, count, rows = self._view(self.require, halfway)
        out = np.full(len(keys), np.nan)
        several = np.flatnonzero(count[keys] > 1)  # a lone run lacking the field: NaN
        if not len(several):
            return out
        keys, drawn = keys[several], drawn[several]
        first, size = start[keys], count[keys]
        j = np.arange(int(size.max()))
        inside = j < size[:, None]
        pos = np.where(inside, first[:, None] + j, 0)
        if rows is not None:
            pos = rows[pos]
        group = values[pos].astype(np.float64)
        has = inside & ~np.isnan(group)
        k = has.sum(axis=1)
        target = drawn % np.maximum(k, 1)
        chosen = (has & (np.cumsum(has, axis=1) - 1 == target[:, None])).argmax(axis=1)
        out[several] = np.where(k > 0, group[np.arange(len(keys)), chosen], np.nan)
        return out

    def _run(self, index: int, epochs: int, stop_halfway: bool) -> dict[str, float | None]:
        """:meth:`_runs` of one cell in plain Python: a few scalar reads of the cell's runs
        (no per-instance array is built on the way, so a fresh instance is as fast)."""
        slot = self._slot_of[index]
        key = slot * len(self._epochs) + self._epoch_slot[epochs]
        group: slice | list[int]
        if slot < 0:
            n = 0
        elif not self.require:  # every run is visible: the group's rows are consecutive
            first, last = self._run_start[key], self._run_start[key + 1]
            group, n = slice(first, last), last - first
        else:
            start, count, rows = self._view(self.require, stop_halfway)
            first, n = int(start[key]), int(count[key])
            group = rows[first:first + n].tolist()
        if n == 0:
            raise self._partial(index, epochs, stop_halfway, 1)
        drawn = self._rng.randint(0, n - 1)  # as _draw of one cell, without an array
        out = {}
        if n == 1:  # the one run: a field it lacks, no run of the cell has
            row = group.start if type(group) is slice else group[0]
            for name, column in (_HALFWAY if stop_halfway else _FINAL):
                value = self._columns[column][row]
                out[name] = None if value != value else value
            return out
        for name, column in (_HALFWAY if stop_halfway else _FINAL):
            values = self._columns[column]
            if type(group) is slice:
                values = values[group].tolist()
            else:
                values = [values[r] for r in group]
            value = values[drawn]
            if value != value:  # the field from the cell's runs that have it
                have = [v for v in values if v == v]
                value = have[drawn % len(have)] if have else None
            out[name] = value
        return out

    def _partial(self, index: int, epochs: int, halfway: bool, how_many: int
                 ) -> PartialTableError:
        covered = len(self.covered_indices(epochs, stop_halfway=halfway))
        need = f" with {'/'.join(self.require)}" if self.require else ""
        more = f" (and {how_many - 1} more of the cells asked)" if how_many > 1 else ""
        return PartialTableError(
            f"the table {self.path} is partial there: it has no run{need} of cell "
            f"{self.space.hash(index)} (index {index}) at {epochs} epochs{more}; it covers "
            f"{covered} of {len(self.space)} cells at {epochs} epochs "
            f"(budgets {self._epochs}, {self.table.num_cells} cells in all)")

    def _fixed(self, index: int) -> dict[str, Any]:
        """The table's stored graph of the cell and its parameter count (the table's, else
        the space's exact one), as fresh copies: lookups in the space's tables of graphs and
        parameters, nothing decoded or computed per cell."""
        slot = self._slot_of[index]
        if slot < 0:
            raise PartialTableError(
                f"the table {self.path} is partial there: it has no cell "
                f"{self.space.hash(index)} (index {index}); it covers "
                f"{self.table.num_cells} of {len(self.space)} cells")
        num_vertices, all_bits, codes, counts = self._graphs
        n, bits, code, params = num_vertices[slot], all_bits[slot], codes[slot], counts[slot]
        try:
            matrix, ops = self.space.graph_of(n, bits, code)
        except OutOfDomainError:  # a stored graph outside the space's tables (not pruned)
            matrix, ops = matrix_from_bits(bits, n), [
                "input", *(OPS[code // 3 ** (n - 3 - i) % 3] for i in range(n - 2)), "output"]
        return {"module_adjacency": matrix, "module_operations": ops,
                "trainable_parameters": params if params >= 0
                else int(self.space.parameters()[index])}

    def parameters(self, indices: np.ndarray) -> np.ndarray:
        """Trainable parameters of cells (float64): the table's, else the exact formula's."""
        if self._params is None:
            params = np.full(len(self.space), np.nan)
            stored = self.table.cells["trainable_parameters"].astype(np.float64)
            stored[stored < 0] = np.nan
            params[self.table.cells["cell_index"]] = stored
            params_missing = np.flatnonzero(np.isnan(params))
            if len(params_missing):
                params[params_missing] = self.space.parameters(params_missing)
            self._params = params
        return self._params[np.asarray(indices, dtype=np.int64)]

    # ---------------------------------------------------------------------- getters
    def hash_iterator(self) -> Iterator[str]:
        """Hashes of the cells with at least one usable run, ascending."""
        for index in self.covered_indices(halfway_or_final=True).tolist():
            yield self.space.hash(index)

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict, dict]:
        """``(fixed, computed)`` exactly as the official API (deep copies; no budget).

        ``computed[epochs]`` lists the usable runs of the cell in table order (repeat 0, 1,
        2, then unknown repeats), each with the eight ``RUN_FIELDS`` (None where missing).

        Raises
        ------
        OutOfDomainError
            If the hash is not a cell of the space.
        PartialTableError
            If the table has no usable run of the cell.
        """
        index = self.space.index_of_hash(module_hash)
        slot = int(self._slot[index])
        start, count, rows = self._view(self.require, None)
        computed: dict[int, list[dict]] = {}
        if slot >= 0:
            for j, epochs in enumerate(self._epochs):
                key = slot * len(self._epochs) + j
                picks = range(int(start[key]), int(start[key] + count[key]))
                if rows is not None:
                    picks = rows[list(picks)].tolist()
                if len(picks):
                    computed[epochs] = [self._record(int(r)) for r in picks]
        if not computed:
            need = f" with {'/'.join(self.require)}" if self.require else ""
            raise PartialTableError(
                f"the table {self.path} is partial there: it has no run{need} of cell "
                f"{module_hash} at any of {self._epochs} epochs; it covers "
                f"{len(self.covered_indices(halfway_or_final=True))} of {len(self.space)} cells")
        return self._fixed(index), computed

    def _record(self, row: int) -> dict[str, float | None]:
        out = {}
        for name in RUN_FIELDS:
            value = float(self.table.runs[name][row])
            out[name] = None if value != value else value
        return out

    def covered_indices(self, epochs: int | None = None, require: Sequence[str] | None = None,
                        *, stop_halfway: bool = False, halfway_or_final: bool = False
                        ) -> np.ndarray:
        """Cell indices (ascending) with at least one usable run.

        Parameters
        ----------
        epochs : int, optional
            Budget (default: any budget of the table).
        require : sequence of str, optional
            Metrics a usable run must have (default: the benchmark's ``require``).
        stop_halfway : bool
            Apply short ``require`` names to the halfway fields.
        halfway_or_final : bool
            A run counts if usable by either kind of query (as the getters).
        """
        fields = self.require if require is None else _required_fields(require)
        _, count, _ = self._view(fields, None if halfway_or_final else bool(stop_halfway))
        count = count.reshape(self.table.num_cells, len(self._epochs))
        if epochs is None:
            has = count.any(axis=1)
        else:
            self._check_epochs(epochs)
            has = count[:, self._epoch_slot[epochs]] > 0
        return self.table.cells["cell_index"][has].astype(np.int64)

    def summary(self) -> dict[str, Any]:
        """What the table holds (all its runs; ``require`` does not apply), as JSON-ready
        values.

        Returns
        -------
        dict
            ``path``, ``format``, ``source``, ``cells`` (covered) and ``space_cells``,
            ``runs``, ``trainable_parameters`` (cells with a stored count), ``fields`` (those
            present anywhere), ``partial`` (some cell of the space, or some field at a budget,
            is missing), ``query_rule`` (how a query combines a cell's runs, see the module
            docstring) and ``epochs``: per budget, ``runs``, ``cells``, ``runs_per_cell``
            (run count -> cells), ``repeats`` (repeat -> runs; -1 unknown), ``fields`` (field
            -> runs that have it), ``cells_with_field`` (field -> cells with at least one run
            that has it) and ``partial_fields`` (fields some covered cell lacks there).
        """
        runs = self.table.runs
        num_epochs = len(self._epochs)
        per_group = np.diff(self.table.run_start).reshape(self.table.num_cells, num_epochs)
        with_field = {}
        for name in RUN_FIELDS:
            has = ~np.isnan(runs[name])
            if has.any():
                cum = np.concatenate([[0], np.cumsum(has, dtype=np.int64)])[self.table.run_start]
                with_field[name] = np.diff(cum).reshape(self.table.num_cells, num_epochs)
        per_epochs = {}
        partial_fields = False
        for j, e in enumerate(self._epochs):
            sel = runs["run_epochs"] == e
            repeats, counts = np.unique(runs["run_repeat"][sel], return_counts=True)
            group = per_group[:, j]
            sizes, cells_of_size = np.unique(group[group > 0], return_counts=True)
            covered = int(np.count_nonzero(group))
            fields = {name: int(n[:, j].sum()) for name, n in with_field.items()
                      if n[:, j].any()}
            cells_with = {name: int(np.count_nonzero(with_field[name][:, j]))
                          for name in fields}
            lacking = [name for name, c in cells_with.items() if c < covered]
            partial_fields |= bool(lacking)
            per_epochs[e] = {
                "runs": int(sel.sum()),
                "cells": covered,
                "runs_per_cell": {int(k): int(c) for k, c in zip(sizes, cells_of_size)},
                "repeats": {int(r): int(c) for r, c in zip(repeats, counts)},
                "fields": fields,
                "cells_with_field": cells_with,
                "partial_fields": lacking,
            }
        return {
            "path": str(self.path),
            "format": TABLE_FORMAT,
            "source": self.table.source,
            "cells": self.table.num_cells,
            "space_cells": len(self.space),
            "partial": self.table.num_cells < len(self.space) or partial_fields,
            "runs": self.table.num_runs,
            "epochs": per_epochs,
            "trainable_parameters": int(
                np.count_nonzero(self.table.cells["trainable_parameters"] >= 0)),
            "fields": [name for name in RUN_FIELDS if name in with_field],
            "query_rule": QUERY_RULE,
        }


#: How ``query`` combines the runs of a cell at a budget (module docstring), in words.
QUERY_RULE = ("a query of a cell at a budget draws one of its n runs there, r = randint(0, "
              "n - 1), and returns that run's fields; a field that run lacks comes from the "
              "(r mod k)-th of the k runs of the cell at that budget that have it (repeats 0, "
              "1, 2, then unknown repeats), so every field the table holds for the cell and "
              "budget comes back; a field no run there has is None (NaN in query_batch)")


_HALFWAY = tuple((m, f"halfway_{m}") for m in METRICS)
_FINAL = tuple((m, f"final_{m}") for m in METRICS)
