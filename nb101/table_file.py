"""The table file: a compact columnar ``.npz`` of runs, and its writer and reader.

A table file is an uncompressed ``.npz`` (no pickle, written atomically) that holds what its
source has and no more:

per covered cell (ascending cell index = ascending module hash)
    ``cell_index`` int32, ``cell_hash`` S32, the stored graph ``num_vertices`` uint8,
    ``bits`` uint32 (official edge bits), ``codes`` uint8 (labeling, ``itertools.product``
    order) and ``trainable_parameters`` int32 (-1 = missing);
per run, sorted by (cell, epochs, repeat), the unknown repeats (-1) last in their group
    ``run_cell`` int32 (cell index), ``run_epochs`` int16, ``run_repeat`` int8 (-1 = unknown)
    and the eight columns of :data:`nb101.protocol.RUN_FIELDS` (NaN = missing), each float32 when
    every value of the column is exactly a float32 (the official files hold float32 values
    widened to double) and float64 otherwise, so no value is ever rounded; accuracies lie in
    [0, 1] and training times are finite and >= 0, checked when a table is written and when
    it is loaded;
lookup
    ``epochs`` int16 (the budgets present) and ``run_start`` int64 of length
    ``cells * len(epochs) + 1``: the runs of covered cell ``c`` at budget ``epochs[e]`` are rows
    ``run_start[c * E + e] : run_start[c * E + e + 1]``;
header
    ``format`` (:data:`TABLE_FORMAT`), ``kind`` (:data:`TABLE_KIND`) and ``source``, a JSON
    description of where the values come from.

Runs that may be different trainings are never merged. The members are stored uncompressed
so that loading is a plain read.

Checksums: every array is a member of the zip archive, and the zip format stores the CRC-32
of each member's bytes (header and data) in its headers. ``numpy.load`` reads a member
through :mod:`zipfile`, which computes the CRC-32 of the bytes as it reads them and compares
it with the stored one at the member's end, so a changed byte anywhere in an array (a bad
disk, a truncated copy, an edit) makes :func:`load_table` raise a :class:`TableError` that
names the file and the array. The check costs one CRC-32 pass over the file as it is read
(see ``benchmarks/bench_table.py``).

Usage
-----
>>> from nb101.table_file import load_table, write_table
>>> write_table("t.npz", run_cell=[0], run_epochs=[108], run_repeat=[0],   # doctest: +SKIP
...             values={"final_test_accuracy": [0.5]}, source={"kind": "example"})
>>> load_table("t.npz").num_runs                                          # doctest: +SKIP
1

:func:`nb101.convert.convert_tfrecord` and :func:`nb101.real_data.convert_real_data` write
tables from the official files and from the real data;
:class:`nb101.tabular_benchmark.TabularBenchmark` answers queries on one.
"""

from __future__ import annotations

import json
import logging
import os
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cell_space import CellSpace, get_space
from .errors import TableError
from .io import atomic_savez, open_npz
from .paths import user_path
from .protocol import RUN_FIELDS

__all__ = ["TABLE_FORMAT", "TABLE_KIND", "Table", "load_table", "write_table"]

_log = logging.getLogger(__name__)

#: Schema version of the table file; bumped on any incompatible change.
TABLE_FORMAT = 1
#: Marker stored in every table file.
TABLE_KIND = "nb101-surrogate table"

_CELL_ARRAYS = {
    "cell_index": np.int32,
    "cell_hash": np.dtype("S32"),
    "num_vertices": np.uint8,
    "bits": np.uint32,
    "codes": np.uint8,
    "trainable_parameters": np.int32,
}
_RUN_ARRAYS = {
    "run_cell": np.int32,
    "run_epochs": np.int16,
    "run_repeat": np.int8,
    **{name: np.float32 for name in RUN_FIELDS},
}
#: The dtypes a run field may have: float32 where it holds it exactly, else float64.
_FIELD_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_HEADER_ARRAYS = ("format", "kind", "source", "epochs", "run_start")


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


def write_table(
    path: str | os.PathLike,
    *,
    run_cell,
    run_epochs,
    run_repeat,
    values: Mapping[str, Any],
    source: Mapping[str, Any],
    parameters: tuple[Any, Any] | None = None,
    graphs: tuple[Any, Any, Any, Any] | None = None,
    space: CellSpace | None = None,
) -> Path:
    """Sort, check and write runs as a table file (atomically).

    Parameters
    ----------
    path : path-like
        Destination ``.npz``.
    run_cell, run_epochs, run_repeat : array-like (R,)
        Cell index (into the space, hash order), budget and repeat (-1 = unknown) of each run.
    values : mapping
        ``RUN_FIELDS`` name -> array-like (R,) of floats, NaN (or None) where missing; absent
        fields are all missing. A column is stored as float32 when every value is exactly a
        float32, else as float64 (never rounded).
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
        If an array breaks the rules (lengths, ranges, two runs with the same known repeat,
        parameters or graphs of cells without runs), or a value is out of
        its range (accuracies in [0, 1], training times finite and >= 0; the message names
        the file, the field and the value).
    """
    path = user_path(path)
    space = space if space is not None else get_space()
    cell = np.asarray(run_cell, dtype=np.int64).ravel()
    n = len(cell)
    epochs = np.asarray(run_epochs, dtype=np.int64).ravel()
    repeat = np.asarray(run_repeat, dtype=np.int64).ravel()
    if len(epochs) != n or len(repeat) != n:
        raise TableError(
            f"run_cell, run_epochs and run_repeat must have one length, got "
            f"{n}, {len(epochs)}, {len(repeat)}"
        )
    if n and (cell.min() < 0 or cell.max() >= len(space)):
        raise TableError(
            f"run_cell must lie in [0, {len(space)}), got [{cell.min()}, {cell.max()}]"
        )
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
        _check_range(path, name, column)
        narrow = column.astype(np.float32)
        exact = ((narrow.astype(np.float64) == column) | np.isnan(column)).all()
        columns[name] = narrow if exact else column  # float64 only where float32 would round

    order = np.lexsort((repeat & 0xFF, epochs, cell))  # unknown repeats (-1) last
    cell, epochs, repeat = cell[order], epochs[order], repeat[order]
    columns = {name: column[order] for name, column in columns.items()}
    same = (cell[1:] == cell[:-1]) & (epochs[1:] == epochs[:-1]) & (repeat[1:] == repeat[:-1])
    duplicate = same & (repeat[1:] >= 0)
    if duplicate.any():
        i = int(np.flatnonzero(duplicate)[0])
        raise TableError(
            f"two runs of cell {space.hash(int(cell[i]))} at {epochs[i]} epochs "
            f"share repeat {repeat[i]}; merge them or mark the repeat unknown (-1)"
        )

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
        num_vertices, bits, codes = (
            space.num_vertices[cells],
            space.bits[cells],
            space.codes[cells],
        )
    else:
        g_cells = np.asarray(graphs[0], dtype=np.int64).ravel()
        where = _slots_of(cells, g_cells, "graphs", space)
        if len(where) != len(cells):
            raise TableError(
                f"graphs must cover every cell with runs: got {len(where)} of {len(cells)}"
            )
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
    atomic_savez(path, **arrays)
    _log.info("wrote table %s: %d cells, %d runs", path, len(cells), n)
    return path


def _slots_of(cells: np.ndarray, which: np.ndarray, what: str, space: CellSpace) -> np.ndarray:
    where = np.searchsorted(cells, which)
    bad = (where >= len(cells)) | (cells[np.minimum(where, len(cells) - 1)] != which)
    if bad.any():
        raise TableError(
            f"{what} given for cell {space.hash(int(which[bad][0]))} which has "
            f"no run; a table holds only cells its source covers"
        )
    return where


def load_table(path: str | os.PathLike, space: CellSpace | None = None) -> Table:
    """Load and check a table file.

    Raises
    ------
    TableError
        If ``path`` is missing, a directory, not an uncompressed ``.npz``, of another format
        version, or if its arrays are missing, of the wrong dtype, inconsistent, out of their
        value range (the message names the array and the value) or corrupt (an array whose
        bytes fail the zip CRC-32; the message names it).
    """
    path = user_path(path)
    space = space if space is not None else get_space()
    if not path.exists():
        raise TableError(f"{path}: no such table file")
    if path.is_dir():
        raise TableError(f"{path} is a directory, not a table file")
    arrays = _read_arrays(path)

    def fail(rule: str) -> TableError:
        return TableError(f"{path} is not a valid table file: {rule}")

    if "format" not in arrays or "kind" not in arrays or str(arrays["kind"]) != TABLE_KIND:
        raise fail(f"no {TABLE_KIND!r} header (format/kind arrays)")
    fmt = arrays["format"]
    if fmt.shape != () or not np.issubdtype(fmt.dtype, np.integer) or int(fmt) != TABLE_FORMAT:
        raise fail(f"format version {fmt.tolist()!r}, this code reads format {TABLE_FORMAT}")
    missing = [
        name for name in (*_HEADER_ARRAYS, *_CELL_ARRAYS, *_RUN_ARRAYS) if name not in arrays
    ]
    if missing:
        raise fail(f"missing arrays {missing}")
    for name, dtype in {
        **_CELL_ARRAYS,
        **_RUN_ARRAYS,
        "epochs": np.int16,
        "run_start": np.int64,
    }.items():
        allowed = _FIELD_DTYPES if name in RUN_FIELDS else (np.dtype(dtype),)
        if arrays[name].dtype not in allowed or arrays[name].ndim != 1:
            raise fail(
                f"array {name!r} must be 1-D {' or '.join(map(str, allowed))}, got "
                f"{arrays[name].ndim}-D {arrays[name].dtype}"
            )
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
    if (
        len(run_start) != num_cells * len(epochs) + 1
        or run_start[0] != 0
        or run_start[-1] != num_runs
        or np.any(np.diff(run_start) < 0)
    ):
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
    if num_cells and cells["trainable_parameters"].min() < -1:
        raise fail(
            "array 'trainable_parameters' holds "
            f"{int(cells['trainable_parameters'].min())}; counts are >= 0 (-1 = missing)"
        )
    for name in RUN_FIELDS:
        _check_range(path, name, runs[name])
    return Table(path, source, epochs, run_start, cells, runs)


def _check_range(path: Path, name: str, column: np.ndarray) -> None:
    """The value rule of a run field, at write and at load: accuracies in [0, 1], training
    times finite and >= 0, NaN (missing) allowed everywhere.

    Raises
    ------
    TableError
        Naming the file, the array, the first bad value and its run.
    """
    low, high = np.fmin.reduce(column), np.fmax.reduce(column)  # NaN ignored
    if low != low:  # every value missing
        return
    if name.endswith("_accuracy"):
        if 0 <= low and high <= 1:
            return
        bad = (column < 0) | (column > 1)
        rule = "accuracies lie in [0, 1]"
    else:
        if 0 <= low and high < np.inf:
            return
        bad = (column < 0) | np.isinf(column)
        rule = "training times are finite and >= 0"
    run = int(np.flatnonzero(bad)[0])
    raise TableError(
        f"{path}: array {name!r} holds {float(column[run])!r} (run {run}); {rule} (NaN = missing)"
    )


def _read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an uncompressed ``.npz`` (``numpy.load``, no pickle)."""

    def fail(why: str) -> TableError:
        return TableError(f"{path} is not a table file (an uncompressed .npz of arrays): {why}")

    try:
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as fh:
                single = fh.read(6) == b"\x93NUMPY"
            raise fail(
                "it holds a single .npy array"
                if single
                else "it is not a zip archive (truncated, or another kind of file)"
            )
        with open_npz(path) as data:
            members = data.zip.infolist()
            compressed = [m.filename for m in members if m.compress_type != zipfile.ZIP_STORED]
            if compressed:
                raise fail(f"member {compressed[0]!r} is compressed")
            arrays = {}
            for member in members:
                if not member.filename.endswith(".npy"):
                    continue
                name = member.filename[:-4]
                try:  # zipfile checks the member's CRC-32 as numpy reads it to its end
                    arrays[name] = data[name]
                except zipfile.BadZipFile as exc:
                    raise TableError(
                        f"{path}: array {name!r} fails its CRC-32 checksum (the "
                        f"file is corrupt: {exc})"
                    ) from exc
            return arrays
    except TableError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise fail(f"{type(exc).__name__}: {exc}") from exc
