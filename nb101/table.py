"""The exact NAS-Bench-101 table: a compact columnar file and the ``nasbench.api`` on top of it.

A table file is an uncompressed ``.npz`` (no pickle, written atomically) that holds what its
source has and no more:

per covered cell (ascending cell index = ascending module hash)
    ``cell_index`` int32, ``cell_hash`` S32, the stored graph ``num_vertices`` uint8,
    ``bits`` uint32 (official edge bits), ``codes`` uint8 (labeling, ``itertools.product``
    order) and ``trainable_parameters`` int32 (-1 = missing);
per run, sorted by (cell, epochs, repeat), the unknown repeats (-1) last in their group
    ``run_cell`` int32 (cell index), ``run_epochs`` int16, ``run_repeat`` int8 (-1 = unknown)
    and the eight float32 columns of :data:`nb101.api.RUN_FIELDS` (NaN = missing; every
    official value is a float32 widened to double, so float32 is exact);
lookup
    ``epochs`` int16 (the budgets present) and ``run_start`` int64 of length
    ``cells * len(epochs) + 1``: the runs of covered cell ``c`` at budget ``epochs[e]`` are rows
    ``run_start[c * E + e] : run_start[c * E + e + 1]``;
header
    ``format`` (:data:`TABLE_FORMAT`), ``kind`` (:data:`TABLE_KIND`) and ``source``, a JSON
    description of where the values come from.

Runs that may be different trainings are never merged.

Usage
-----
>>> from nb101.table import TabularBenchmark, convert_tfrecord
>>> convert_tfrecord("nasbench_full.tfrecord", "nb101_full.npz")       # doctest: +SKIP
>>> bench = TabularBenchmark("nb101_full.npz", seed=0)                # doctest: +SKIP
>>> bench.query(spec, epochs=36)                                      # doctest: +SKIP
{'module_adjacency': ..., 'module_operations': [...], 'trainable_parameters': ...,
 'training_time': ..., 'train_accuracy': ..., 'validation_accuracy': ..., 'test_accuracy': ...}

``query`` draws one of the runs of (cell, epochs) uniformly with the benchmark's own seeded
RNG, exactly as the official API draws one of the three repeats. A table built from the real
data in ``../shared/data`` (:func:`nb101.real_data.convert_real_data`) covers every cell
but not every field: pass ``require=("validation_accuracy",)`` to see only runs that have one.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._io import atomic_savez
from .api import METRICS, RUN_FIELDS, BaseBenchmark
from .errors import OutOfDomainError, PartialTableError, RecordError, TableError
from .model_spec import OPS, matrix_from_bits
from .cell_space import CellSpace, get_space

__all__ = ["TABLE_FORMAT", "TABLE_KIND", "Table", "TabularBenchmark", "convert_tfrecord",
           "load_table", "write_table"]

_log = logging.getLogger(__name__)

#: Schema version of the table file; bumped on any incompatible change.
TABLE_FORMAT = 1
#: Marker stored in every table file.
TABLE_KIND = "nb101-surrogate table"

_CELL_ARRAYS = {"cell_index": np.int32, "cell_hash": np.dtype("S32"), "num_vertices": np.uint8,
                "bits": np.uint32, "codes": np.uint8, "trainable_parameters": np.int32}
_RUN_ARRAYS = {"run_cell": np.int32, "run_epochs": np.int16, "run_repeat": np.int8,
               **{name: np.float32 for name in RUN_FIELDS}}
_HEADER_ARRAYS = ("format", "kind", "source", "epochs", "run_start")


# --------------------------------------------------------------------------- the file
@dataclass(frozen=True, eq=False)
class Table:
    """The arrays of a table file (see the module docstring); use :func:`load_table`."""

    path: Path | None
    source: dict
    epochs: np.ndarray
    run_start: np.ndarray
    cells: dict[str, np.ndarray]
    runs: dict[str, np.ndarray]

    @property
    def num_cells(self) -> int:
        return len(self.cells["cell_index"])

    @property
    def num_runs(self) -> int:
        return len(self.runs["run_cell"])


def write_table(path: str | os.PathLike, *, run_cell, run_epochs, run_repeat,
                values: Mapping[str, Any], source: Mapping[str, Any],
                parameters: tuple[Any, Any] | None = None,
                graphs: tuple[Any, Any, Any, Any] | None = None,
                space: CellSpace | None = None) -> Path:
    """Sort, check and write runs as a table file (atomically).

    Parameters
    ----------
    path : path-like
        Destination ``.npz``.
    run_cell, run_epochs, run_repeat : array-like (R,)
        Cell index (into the space, hash order), budget and repeat (-1 = unknown) of each run.
    values : mapping
        ``RUN_FIELDS`` name -> array-like (R,) of floats, NaN (or None) where missing; absent
        fields are all missing. Every value must be exactly representable as float32.
    source : mapping
        JSON-serialisable description of the data (stored as ``source``).
    parameters : (cells, counts), optional
        Known trainable parameter counts; other covered cells get -1 (missing).
    graphs : (cells, num_vertices, bits, codes), optional
        Stored graph of covered cells (default: the space's canonical representative).
    space : CellSpace, optional

    Returns
    -------
    Path

    Raises
    ------
    TableError
        If an array breaks the rules (lengths, ranges, float32 exactness, two runs with the
        same known repeat, parameters or graphs of cells without runs).
    """
    space = space if space is not None else get_space()
    cell = np.asarray(run_cell, dtype=np.int64).ravel()
    n = len(cell)
    epochs = np.asarray(run_epochs, dtype=np.int64).ravel()
    repeat = np.asarray(run_repeat, dtype=np.int64).ravel()
    if len(epochs) != n or len(repeat) != n:
        raise TableError(f"run_cell, run_epochs and run_repeat must have one length, got "
                         f"{n}, {len(epochs)}, {len(repeat)}")
    if n and (cell.min() < 0 or cell.max() >= len(space)):
        raise TableError(f"run_cell must lie in [0, {len(space)}), got "
                         f"[{cell.min()}, {cell.max()}]")
    if n and (epochs.min() <= 0 or epochs.max() > np.iinfo(np.int16).max):
        raise TableError(f"run_epochs must lie in [1, 32767], got [{epochs.min()}, {epochs.max()}]")
    if n and (repeat.min() < -1 or repeat.max() > np.iinfo(np.int8).max):
        raise TableError(f"run_repeat must lie in [-1, 127], got [{repeat.min()}, {repeat.max()}]")
    unknown = set(values) - set(RUN_FIELDS)
    if unknown:
        raise TableError(f"unknown run fields {sorted(unknown)}; choices: {list(RUN_FIELDS)}")
    columns = {}
    for name in RUN_FIELDS:
        if name not in values:
            columns[name] = np.full(n, np.nan, dtype=np.float32)
            continue
        column = np.asarray(values[name])
        if column.dtype == object:
            column = np.array([np.nan if v is None else v for v in column], dtype=np.float64)
        column = column.astype(np.float64).ravel()
        if len(column) != n:
            raise TableError(f"run field {name!r} has {len(column)} values, expected {n}")
        narrow = column.astype(np.float32)
        inexact = ~((narrow.astype(np.float64) == column) | np.isnan(column))
        if inexact.any():
            first = int(np.flatnonzero(inexact)[0])
            raise TableError(f"run field {name!r}: value {column[first]!r} of run {first} is "
                             f"not a float32 (the table stores float32 exactly)")
        columns[name] = narrow

    order = np.lexsort((repeat & 0xFF, epochs, cell))  # unknown repeats (-1) last
    cell, epochs, repeat = cell[order], epochs[order], repeat[order]
    columns = {name: column[order] for name, column in columns.items()}
    same = (cell[1:] == cell[:-1]) & (epochs[1:] == epochs[:-1]) & (repeat[1:] == repeat[:-1])
    duplicate = same & (repeat[1:] >= 0)
    if duplicate.any():
        i = int(np.flatnonzero(duplicate)[0])
        raise TableError(f"two runs of cell {space.hash(int(cell[i]))} at {epochs[i]} epochs "
                         f"share repeat {repeat[i]}; merge them or mark the repeat unknown (-1)")

    cells = np.unique(cell)
    budgets = np.unique(epochs)
    slot = np.searchsorted(cells, cell)
    key = slot * len(budgets) + np.searchsorted(budgets, epochs)
    counts = np.bincount(key, minlength=len(cells) * len(budgets))
    run_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    params = np.full(len(cells), -1, dtype=np.int64)
    if parameters is not None:
        p_cells = np.asarray(parameters[0], dtype=np.int64).ravel()
        p_values = np.asarray(parameters[1], dtype=np.int64).ravel()
        where = _slots_of(cells, p_cells, "parameters", space)
        if p_values.size and (p_values.min() < -1 or p_values.max() > np.iinfo(np.int32).max):
            raise TableError("trainable parameter counts must lie in [-1, 2**31)")
        params[where] = p_values
    if graphs is None:
        num_vertices, bits, codes = (space.num_vertices[cells], space.bits[cells],
                                     space.codes[cells])
    else:
        g_cells = np.asarray(graphs[0], dtype=np.int64).ravel()
        where = _slots_of(cells, g_cells, "graphs", space)
        if len(where) != len(cells):
            raise TableError(f"graphs must cover every cell with runs: got {len(where)} of "
                             f"{len(cells)}")
        num_vertices, bits, codes = (np.empty(len(cells), np.int64) for _ in range(3))
        for target, src in zip((num_vertices, bits, codes), graphs[1:]):
            target[where] = np.asarray(src, dtype=np.int64).ravel()

    arrays = {
        "format": np.array(TABLE_FORMAT, dtype=np.int64),
        "kind": np.array(TABLE_KIND),
        "source": np.array(json.dumps(dict(source), sort_keys=True)),
        "epochs": budgets.astype(np.int16),
        "run_start": run_start,
        "cell_index": cells.astype(np.int32),
        "cell_hash": space.hashes[cells].astype("S32"),
        "num_vertices": np.asarray(num_vertices).astype(np.uint8),
        "bits": np.asarray(bits).astype(np.uint32),
        "codes": np.asarray(codes).astype(np.uint8),
        "trainable_parameters": params.astype(np.int32),
        "run_cell": cell.astype(np.int32),
        "run_epochs": epochs.astype(np.int16),
        "run_repeat": repeat.astype(np.int8),
        **columns,
    }
    path = Path(path)
    atomic_savez(path, **arrays)
    _log.info("wrote table %s: %d cells, %d runs", path, len(cells), n)
    return path


def _slots_of(cells: np.ndarray, which: np.ndarray, what: str, space: CellSpace) -> np.ndarray:
    where = np.searchsorted(cells, which)
    bad = (where >= len(cells)) | (cells[np.minimum(where, len(cells) - 1)] != which)
    if bad.any():
        raise TableError(f"{what} given for cell {space.hash(int(which[bad][0]))} which has "
                         f"no run; a table holds only cells its source covers")
    return where


def load_table(path: str | os.PathLike, space: CellSpace | None = None) -> Table:
    """Load and check a table file.

    Raises
    ------
    TableError
        If ``path`` is missing, a directory, not an uncompressed ``.npz``, of another format
        version, or if its arrays are missing, of the wrong dtype or inconsistent.
    """
    path = Path(path)
    space = space if space is not None else get_space()
    if not path.exists():
        raise TableError(f"{path}: no such table file")
    if path.is_dir():
        raise TableError(f"{path} is a directory, not a table file")
    arrays = _read_npz(path)

    def fail(rule: str) -> TableError:
        return TableError(f"{path} is not a valid table file: {rule}")

    if "format" not in arrays or "kind" not in arrays or str(arrays["kind"]) != TABLE_KIND:
        raise fail(f"no {TABLE_KIND!r} header (format/kind arrays)")
    fmt = arrays["format"]
    if fmt.shape != () or not np.issubdtype(fmt.dtype, np.integer) or int(fmt) != TABLE_FORMAT:
        raise fail(f"format version {fmt.tolist()!r}, this code reads format {TABLE_FORMAT}")
    missing = [name for name in (*_HEADER_ARRAYS, *_CELL_ARRAYS, *_RUN_ARRAYS)
               if name not in arrays]
    if missing:
        raise fail(f"missing arrays {missing}")
    for name, dtype in {**_CELL_ARRAYS, **_RUN_ARRAYS, "epochs": np.int16,
                        "run_start": np.int64}.items():
        if arrays[name].dtype != np.dtype(dtype) or arrays[name].ndim != 1:
            raise fail(f"array {name!r} must be 1-D {np.dtype(dtype)}, got "
                       f"{arrays[name].ndim}-D {arrays[name].dtype}")
    try:
        source = json.loads(str(arrays["source"]))
    except ValueError as exc:
        raise fail(f"source is not JSON ({exc})") from exc
    cells = {name: arrays[name] for name in _CELL_ARRAYS}
    runs = {name: arrays[name] for name in _RUN_ARRAYS}
    epochs, run_start = arrays["epochs"], arrays["run_start"]
    num_cells, num_runs = len(cells["cell_index"]), len(runs["run_cell"])
    if any(len(a) != num_cells for a in cells.values()):
        raise fail("per-cell arrays differ in length")
    if any(len(a) != num_runs for a in runs.values()):
        raise fail("per-run arrays differ in length")
    if len(epochs) and (epochs.min() <= 0 or np.any(np.diff(epochs) <= 0)):
        raise fail("epochs must be positive and strictly increasing")
    index = cells["cell_index"]
    if num_cells and (index[0] < 0 or index[-1] >= len(space) or np.any(np.diff(index) <= 0)):
        raise fail(f"cell_index must be strictly increasing in [0, {len(space)})")
    if not np.array_equal(cells["cell_hash"], space.hashes[index]):
        raise fail("cell_hash does not match the space's hash order")
    if (len(run_start) != num_cells * len(epochs) + 1 or run_start[0] != 0
            or run_start[-1] != num_runs or np.any(np.diff(run_start) < 0)):
        raise fail("run_start is not the offsets of the (cell, epochs) groups")
    counts = np.diff(run_start)
    if num_runs:
        slot_runs = counts.reshape(num_cells, len(epochs)).sum(axis=1)
        if not np.array_equal(np.repeat(index, slot_runs), runs["run_cell"]):
            raise fail("run_cell does not match run_start")
        if not np.array_equal(np.repeat(np.tile(epochs, num_cells), counts), runs["run_epochs"]):
            raise fail("run_epochs does not match run_start")
        if runs["run_repeat"].min() < -1:
            raise fail("run_repeat must be >= -1")
    return Table(path, source, epochs, run_start, cells, runs)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read every array of an uncompressed ``.npz`` straight from the file (no pickle)."""
    try:
        with zipfile.ZipFile(path) as archive, open(path, "rb") as fh:
            arrays = {}
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                if info.compress_type != zipfile.ZIP_STORED:
                    raise TableError(f"{path} is not a table file: member {info.filename!r} "
                                     f"is compressed (tables are uncompressed .npz)")
                fh.seek(info.header_offset)
                local = fh.read(30)
                if local[:4] != b"PK\x03\x04":
                    raise zipfile.BadZipFile(f"bad local header of {info.filename!r}")
                name_len = int.from_bytes(local[26:28], "little")
                extra_len = int.from_bytes(local[28:30], "little")
                fh.seek(info.header_offset + 30 + name_len + extra_len)
                arrays[info.filename[:-4]] = _read_npy(fh, info.file_size)
            return arrays
    except TableError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise TableError(f"{path} is not a table file (an uncompressed .npz of arrays): "
                         f"{type(exc).__name__}: {exc}") from exc


def _read_npy(fh, size: int) -> np.ndarray:
    start = fh.tell()
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if dtype.hasobject:
        raise ValueError("object arrays (pickle) are not allowed")
    count = int(np.prod(shape, dtype=np.int64))
    if fh.tell() - start + count * dtype.itemsize != size:
        raise ValueError("array size does not match its zip member")
    data = np.fromfile(fh, dtype=dtype, count=count)
    if len(data) != count:
        raise EOFError("truncated array")
    return data.reshape(shape, order="F" if fortran else "C")


# ------------------------------------------------------------------------ the benchmark
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
        A table file written by :func:`write_table`, :func:`convert_tfrecord` or
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
    table : Table
        The loaded arrays.

    Notes
    -----
    ``trainable_parameters`` comes from the table; where the table lacks it (-1) it is
    the exact formula's count (:meth:`nb101.cell_space.CellSpace.parameters`, equal to every official
    value checked).

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
        pick = start[keys] + self._draw(n) if n.size else np.zeros(0, np.int64)
        if rows is not None:
            pick = rows[pick]
        prefix = "halfway_" if stop_halfway else "final_"
        return {m: self.table.runs[prefix + m][pick].astype(np.float64) for m in METRICS}

    def _run(self, index: int, epochs: int, stop_halfway: bool) -> dict[str, float | None]:
        slot = int(self._slot[index])
        start, count, rows = self._view(self.require, stop_halfway)
        key = slot * len(self._epochs) + self._epoch_slot[epochs]
        n = int(count[key]) if slot >= 0 else 0
        if n == 0:
            raise self._partial(index, epochs, stop_halfway, 1)
        row = int(start[key]) + int(self._draw((n,))[0])
        if rows is not None:
            row = int(rows[row])
        runs = self.table.runs
        out = {}
        for name, column in (_HALFWAY if stop_halfway else _FINAL):
            value = float(runs[column][row])
            out[name] = None if value != value else value
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
        cached = self._fixed_cache.get(index)
        if cached is None:
            slot = int(self._slot[index])
            if slot < 0:
                raise PartialTableError(
                    f"the table {self.path} is partial there: it has no cell "
                    f"{self.space.hash(index)} (index {index}); it covers "
                    f"{self.table.num_cells} of {len(self.space)} cells")
            cells = self.table.cells
            n = int(cells["num_vertices"][slot])
            code = int(cells["codes"][slot])
            ops = []
            for _ in range(n - 2):
                code, digit = divmod(code, 3)
                ops.append(OPS[digit])
            ops = ("input", *reversed(ops), "output")
            params = int(cells["trainable_parameters"][slot])
            if params < 0:
                params = int(self.space.parameters(np.array([index]))[0])
            cached = (matrix_from_bits(int(cells["bits"][slot]), n), ops, params)
            self._fixed_cache[index] = cached
        matrix, ops, params = cached
        return {"module_adjacency": matrix.copy(), "module_operations": list(ops),
                "trainable_parameters": params}

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
        try:
            index = self.space.index_of_hash(module_hash)
        except KeyError as exc:
            raise OutOfDomainError(str(exc.args[0])) from exc
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
        """What the table holds: cells, runs per budget, repeats and the fields present."""
        runs = self.table.runs
        epochs = runs["run_epochs"]
        per_epochs = {}
        for e in self._epochs:
            sel = epochs == e
            repeats, counts = np.unique(runs["run_repeat"][sel], return_counts=True)
            per_epochs[e] = {
                "runs": int(sel.sum()),
                "cells": int(len(self.covered_indices(e, require=()))),
                "repeats": {int(r): int(c) for r, c in zip(repeats, counts)},
                "fields": {name: int(np.count_nonzero(~np.isnan(runs[name][sel])))
                           for name in RUN_FIELDS
                           if np.count_nonzero(~np.isnan(runs[name][sel]))},
            }
        return {
            "path": str(self.path),
            "format": TABLE_FORMAT,
            "source": self.table.source,
            "cells": self.table.num_cells,
            "space_cells": len(self.space),
            "partial": self.table.num_cells < len(self.space),
            "runs": self.table.num_runs,
            "epochs": per_epochs,
            "trainable_parameters": int(
                np.count_nonzero(self.table.cells["trainable_parameters"] >= 0)),
            "fields": [name for name in RUN_FIELDS
                       if any(name in v["fields"] for v in per_epochs.values())],
        }


_HALFWAY = tuple((m, f"halfway_{m}") for m in METRICS)
_FINAL = tuple((m, f"final_{m}") for m in METRICS)


# --------------------------------------------------------------------------- conversion
_CHUNK = 1 << 16


def convert_tfrecord(tfrecord_path: str | os.PathLike, out_path: str | os.PathLike,
                     progress: bool = True, *, space: CellSpace | None = None,
                     verify: bool = True) -> Path:
    """Convert an official dataset file (``nasbench_full`` / ``only108``) into a table.

    Streams the records with :func:`nb101.records.read_records`; the repeat index of a
    run is its order of appearance among the records of its (hash, epochs), as in the
    official API; the first record of a hash gives its stored graph and parameter count.

    Parameters
    ----------
    tfrecord_path, out_path : path-like
    progress : bool
        Show a tqdm progress bar (records).
    space : CellSpace, optional
    verify : bool
        Check the CRCs of the framing.

    Returns
    -------
    Path
        ``out_path``.

    Raises
    ------
    RecordError
        On a malformed file, a hash that is not a cell of the space, or a stored graph that
        is not a cell of the space.
    """
    from .records import read_records

    space = space if space is not None else get_space()
    tfrecord_path = Path(tfrecord_path)
    started = time.perf_counter()
    records: Iterable = read_records(tfrecord_path, verify=verify)
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(unit=" records", unit_scale=True, desc=f"converting {tfrecord_path.name}")
    cells, epochs, values = [], [], []
    fixed: dict[str, tuple] = {}
    chunk_hashes: list[str] = []
    chunk_epochs: list[int] = []
    chunk_values: list[tuple] = []
    count = 0

    def flush() -> None:
        if not chunk_hashes:
            return
        try:
            cells.append(space.indices_of_hashes(chunk_hashes))
        except KeyError:
            for i, h in enumerate(chunk_hashes):
                try:
                    space.index_of_hash(h)
                except KeyError:
                    raise RecordError(
                        f"{tfrecord_path}: record {count - len(chunk_hashes) + i}: module hash "
                        f"{h!r} is not a cell of NAS-Bench-101") from None
        epochs.append(np.array(chunk_epochs, dtype=np.int64))
        values.append(np.array([[np.nan if v is None else v for v in row]
                                for row in chunk_values], dtype=np.float64)
                      if any(None in row for row in chunk_values)
                      else np.array(chunk_values, dtype=np.float64))
        chunk_hashes.clear()
        chunk_epochs.clear()
        chunk_values.clear()

    for run in records:
        h = run.module_hash
        chunk_hashes.append(h)
        chunk_epochs.append(run.epochs)
        chunk_values.append((run.halfway_training_time, run.halfway_train_accuracy,
                             run.halfway_validation_accuracy, run.halfway_test_accuracy,
                             run.final_training_time, run.final_train_accuracy,
                             run.final_validation_accuracy, run.final_test_accuracy))
        if h not in fixed:
            fixed[h] = (count, run.adjacency, run.operations, run.trainable_parameters)
        count += 1
        if len(chunk_hashes) >= _CHUNK:
            flush()
            if bar is not None:
                bar.update(_CHUNK)
    flush()
    if bar is not None:
        bar.update(count - bar.n)
        bar.close()
    if not count:
        raise RecordError(f"{tfrecord_path}: no records")
    cell = np.concatenate(cells)
    epoch = np.concatenate(epochs)
    value = np.concatenate(values)
    # repeat = order of appearance within (cell, epochs)
    order = np.lexsort((np.arange(count), epoch, cell))
    group_start = np.ones(count, dtype=bool)
    group_start[1:] = (cell[order][1:] != cell[order][:-1]) | (
        epoch[order][1:] != epoch[order][:-1])
    position = np.arange(count) - np.maximum.accumulate(np.where(group_start, np.arange(count), 0))
    repeat = np.empty(count, dtype=np.int64)
    repeat[order] = position
    if repeat.max() > np.iinfo(np.int8).max:
        raise RecordError(f"{tfrecord_path}: more than 128 runs of one (hash, epochs)")

    graph_cells, nv, graph_bits, codes, p_cells, p_values = [], [], [], [], [], []
    from .model_spec import ModelSpec, edge_bits
    op_index = {op: i for i, op in enumerate(OPS)}
    for h, (first, adjacency, operations, params) in fixed.items():
        index = space.index_of_hash(h)
        try:
            n, code = len(operations), 0
            for op in operations[1:-1]:
                code = code * 3 + op_index[op]
            bits = edge_bits(adjacency)
        except (KeyError, IndexError, TypeError) as exc:
            raise RecordError(f"{tfrecord_path}: record {first}: the stored graph of {h} is "
                              f"not a cell of NAS-Bench-101 (bad op {exc})") from exc
        if (n, bits, code) != (int(space.num_vertices[index]), int(space.bits[index]),
                               int(space.codes[index])):
            # not the canonical representative: still a pruned graph of this cell?
            try:
                spec = ModelSpec(adjacency, operations)
                same = (space.index_of_spec(spec) == index
                        and spec.matrix.shape == adjacency.shape)
            except (ValueError, KeyError) as exc:
                raise RecordError(f"{tfrecord_path}: record {first}: the stored graph of {h} "
                                  f"is not a cell of NAS-Bench-101 ({exc})") from exc
            if not same:
                raise RecordError(f"{tfrecord_path}: record {first}: the stored graph is not "
                                  f"a pruned graph of the cell {h}")
        graph_cells.append(index)
        nv.append(n)
        graph_bits.append(bits)
        codes.append(code)
        if params is not None:
            p_cells.append(index)
            p_values.append(params)
    source = {"kind": "tfrecord", "file": tfrecord_path.name,
              "size": os.path.getsize(tfrecord_path), "records": count,
              "repeat": "order of appearance per (hash, epochs)",
              "fixed": "first record of each hash"}
    out = write_table(out_path, run_cell=cell, run_epochs=epoch, run_repeat=repeat,
                      values={name: value[:, j] for j, name in enumerate(RUN_FIELDS)},
                      source=source, parameters=(p_cells, p_values),
                      graphs=(graph_cells, nv, graph_bits, codes), space=space)
    _log.info("converted %d records of %s in %.1f s", count, tfrecord_path,
              time.perf_counter() - started)
    return out
