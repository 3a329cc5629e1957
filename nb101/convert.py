"""Conversion of an official dataset file (``nasbench_full`` / ``nasbench_only108``) into a
table file (:mod:`nb101.table_file`).

Usage
-----
>>> from nb101.convert import convert_tfrecord
>>> convert_tfrecord("nasbench_full.tfrecord", "nb101_full.npz")       # doctest: +SKIP

The real data of ``../shared/data`` has its own conversion,
:func:`nb101.real_data.convert_real_data`, beside its loaders.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .cell_space import CellSpace, get_space
from .errors import OutOfDomainError, RecordError
from .model_spec import OPS, ModelSpec, edge_bits
from .paths import user_path
from .protocol import RUN_FIELDS
from .run_records import read_records
from .table_file import write_table

__all__ = ["convert_tfrecord"]

_log = logging.getLogger(__name__)

#: Records decoded per vectorised step.
_CHUNK = 1 << 16


def convert_tfrecord(
    tfrecord_path: str | os.PathLike,
    out_path: str | os.PathLike,
    progress: bool = True,
    *,
    space: CellSpace | None = None,
    verify: bool = True,
) -> Path:
    """Convert an official dataset file (``nasbench_full`` / ``only108``) into a table.

    Streams the records with :func:`nb101.run_records.read_records`; the repeat index of a
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
    space = space if space is not None else get_space()
    tfrecord_path, out_path = user_path(tfrecord_path), user_path(out_path)
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
        except OutOfDomainError:
            for i, h in enumerate(chunk_hashes):
                try:
                    space.index_of_hash(h)
                except OutOfDomainError:
                    raise RecordError(
                        f"{tfrecord_path}: record {count - len(chunk_hashes) + i}: module hash "
                        f"{h!r} is not a cell of NAS-Bench-101"
                    ) from None
        epochs.append(np.array(chunk_epochs, dtype=np.int64))
        values.append(
            np.array(
                [[np.nan if v is None else v for v in row] for row in chunk_values],
                dtype=np.float64,
            )
            if any(None in row for row in chunk_values)
            else np.array(chunk_values, dtype=np.float64)
        )
        chunk_hashes.clear()
        chunk_epochs.clear()
        chunk_values.clear()

    for run in records:
        h = run.module_hash
        chunk_hashes.append(h)
        chunk_epochs.append(run.epochs)
        chunk_values.append(
            (
                run.halfway_training_time,
                run.halfway_train_accuracy,
                run.halfway_validation_accuracy,
                run.halfway_test_accuracy,
                run.final_training_time,
                run.final_train_accuracy,
                run.final_validation_accuracy,
                run.final_test_accuracy,
            )
        )
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
        epoch[order][1:] != epoch[order][:-1]
    )
    position = np.arange(count) - np.maximum.accumulate(np.where(group_start, np.arange(count), 0))
    repeat = np.empty(count, dtype=np.int64)
    repeat[order] = position
    if repeat.max() > np.iinfo(np.int8).max:
        raise RecordError(f"{tfrecord_path}: more than 128 runs of one (hash, epochs)")

    graph_cells, nv, graph_bits, codes, p_cells, p_values = [], [], [], [], [], []
    op_index = {op: i for i, op in enumerate(OPS)}
    for h, (first, adjacency, operations, params) in fixed.items():
        index = space.index_of_hash(h)
        try:
            n, code = len(operations), 0
            for op in operations[1:-1]:
                code = code * 3 + op_index[op]
            bits = edge_bits(adjacency)
        except (KeyError, IndexError, TypeError) as exc:
            raise RecordError(
                f"{tfrecord_path}: record {first}: the stored graph of {h} is "
                f"not a cell of NAS-Bench-101 (bad op {exc})"
            ) from exc
        if (n, bits, code) != (
            int(space.num_vertices[index]),
            int(space.bits[index]),
            int(space.codes[index]),
        ):
            # not the canonical representative: still a pruned graph of this cell?
            try:
                spec = ModelSpec(adjacency, operations)
                same = space.index_of_spec(spec) == index and spec.matrix.shape == adjacency.shape
            except (ValueError, KeyError) as exc:
                raise RecordError(
                    f"{tfrecord_path}: record {first}: the stored graph of {h} "
                    f"is not a cell of NAS-Bench-101 ({exc})"
                ) from exc
            if not same:
                raise RecordError(
                    f"{tfrecord_path}: record {first}: the stored graph is not "
                    f"a pruned graph of the cell {h}"
                )
        graph_cells.append(index)
        nv.append(n)
        graph_bits.append(bits)
        codes.append(code)
        if params is not None:
            p_cells.append(index)
            p_values.append(params)
    source = {
        "kind": "tfrecord",
        "file": tfrecord_path.name,
        "size": os.path.getsize(tfrecord_path),
        "records": count,
        "repeat": "order of appearance per (hash, epochs)",
        "fixed": "first record of each hash",
    }
    out = write_table(
        out_path,
        run_cell=cell,
        run_epochs=epoch,
        run_repeat=repeat,
        values={name: value[:, j] for j, name in enumerate(RUN_FIELDS)},
        source=source,
        parameters=(p_cells, p_values),
        graphs=(graph_cells, nv, graph_bits, codes),
        space=space,
    )
    _log.info(
        "converted %d records of %s in %.1f s", count, tfrecord_path, time.perf_counter() - started
    )
    return out
