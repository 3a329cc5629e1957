"""The real NAS-Bench-101 data in ``../shared/data``: its loaders, and their combined table.

The data folder (argument, else ``$NB101_DATA``, else ``<repo>/../shared/data``) holds:

``nb101-exhaustive/test_accuracy_108_repeat0.npy``
    108-epoch final test accuracy of repeat 0 of every cell, in sorted-hash order (the space's
    index order): :func:`load_exhaustive`.
``nb101-sample/nb101_sample_dev.json``
    18,760 cells: validation accuracy of one run at 4/12/36/108 epochs, the 108-epoch run's
    final training time, and the parameter count; the repeat is unknown: :func:`load_sample`.
``nb101-repeats/nb101_repeat_records.json``
    56 cells with the three official repeats (halfway and final), 4 of them at every budget:
    :func:`load_repeats`.

:func:`convert_real_data` combines them into one table of the whole space (see
:mod:`nb101.table_file`):

* the exhaustive value is the run (cell, 108, repeat 0), ``final_test_accuracy`` only;
* a record's repeat 0 at 108 epochs is that same run (their test accuracies must agree
  exactly; the record's fields are merged into it) and its repeats 1 and 2 are added;
* a sample run at 108 epochs is merged into a known repeat only when its validation accuracy
  and its training time both equal that repeat's exactly; otherwise it is its own run with
  repeat -1 (unknown), as are the sample's 4/12/36-epoch runs (nothing to match them on);
* parameter counts are stored for the sample cells and the records, after checking each
  against the exact formula (:func:`nb101.model_spec.trainable_parameters`).

The combined table is cached in the user cache (:func:`default_real_table_path`);
:func:`real_table` is the one place every tool finds it, converting the folder on first use.
Conversion lives here, beside the loaders, rather than with the tfrecord conversion
(:mod:`nb101.convert`), so that :func:`real_table` needs no module above this one.

Example
-------
>>> from nb101 import TabularBenchmark
>>> from nb101.real_data import real_table
>>> path = real_table()                     # doctest: +SKIP
>>> bench = TabularBenchmark(path, seed=0, require=("validation_accuracy",))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cell_space import CellSpace, default_cache_path, get_space
from .errors import OutOfDomainError, TableError
from .io import load_npy
from .model_spec import ModelSpec
from .paths import user_path
from .protocol import EPOCHS, RUN_FIELDS
from .table_file import TABLE_FORMAT, write_table

__all__ = [
    "Sample",
    "resolve_data_dir",
    "default_real_table_path",
    "real_table",
    "load_exhaustive",
    "load_sample",
    "load_repeats",
    "convert_real_data",
    "EXHAUSTIVE_FILE",
    "SAMPLE_FILE",
    "REPEATS_FILE",
]

_log = logging.getLogger(__name__)

EXHAUSTIVE_FILE = Path("nb101-exhaustive") / "test_accuracy_108_repeat0.npy"
SAMPLE_FILE = Path("nb101-sample") / "nb101_sample_dev.json"
REPEATS_FILE = Path("nb101-repeats") / "nb101_repeat_records.json"
_REPO = Path(__file__).resolve().parents[1]


def _data_dir_choice(data_dir: str | os.PathLike | None) -> tuple[Path, str]:
    """The real-data folder to use and how it was chosen (for messages)."""
    if data_dir is not None:
        return user_path(data_dir), "given"
    if os.environ.get("NB101_DATA"):
        return user_path(os.environ["NB101_DATA"]), "from $NB101_DATA"
    return _REPO.parent / "shared" / "data", "default <repo>/../shared/data"


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The real-data folder: ``data_dir``, else ``$NB101_DATA``, else ``<repo>/../shared/data``.

    Raises
    ------
    FileNotFoundError
        If the folder does not exist (the message names it, how it was chosen and how to
        provide one).
    """
    path, how = _data_dir_choice(data_dir)
    if not path.is_dir():
        raise FileNotFoundError(
            f"real NAS-Bench-101 data folder {path} ({how}) does not exist; pass the folder or "
            f"set NB101_DATA (no command downloads it: `nb101 download` fetches an official "
            f"file instead and writes a table that --table takes)"
        )
    return path


def default_real_table_path() -> Path:
    """Where the combined real table goes by default: ``real-v{TABLE_FORMAT}.npz`` in the
    user cache beside the space (``$NB101_CACHE`` or ``~/.cache/nb101-surrogate``)."""
    return default_cache_path().parent / f"real-v{TABLE_FORMAT}.npz"


def real_table(data_dir: str | os.PathLike | None = None) -> Path:
    """The combined real table, converted on first use: every tool's default table.

    Returns :func:`default_real_table_path` if that file exists (whatever ``data_dir``; delete
    it, or call :func:`convert_real_data`, to rebuild it), else converts the real-data folder
    into it first (:func:`convert_real_data`, about a second).

    Parameters
    ----------
    data_dir : path-like, optional
        The real-data folder to convert (see :func:`resolve_data_dir`).

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError
        If the table is not converted yet and the data folder does not exist or lacks a
        file; the one-line message names the folder and the ways to provide the data.
    TableError
        If the real data is inconsistent (see :func:`convert_real_data`).
    """
    path = default_real_table_path()
    if path.exists():
        return path
    folder, how = _data_dir_choice(data_dir)
    ways = (
        "pass a table file (--table), set NB101_DATA to the data folder, or fetch an "
        "official file with `nb101 download` and pass the table it writes (--table)"
    )
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no real NAS-Bench-101 table: {path} is not converted yet and the data folder "
            f"{folder} ({how}) does not exist; {ways}"
        )
    missing = [
        str(f) for f in (EXHAUSTIVE_FILE, SAMPLE_FILE, REPEATS_FILE) if not (folder / f).is_file()
    ]
    if missing:
        raise FileNotFoundError(
            f"no real NAS-Bench-101 table: {path} is not converted yet and the data folder "
            f"{folder} ({how}) lacks {', '.join(missing)}; {ways}"
        )
    _log.info("converting the real data of %s into %s", folder, path)
    return convert_real_data(folder, path)


def _file(data_dir, relative: Path) -> Path:
    path = resolve_data_dir(data_dir) / relative
    if not path.is_file():
        raise FileNotFoundError(f"real data file {path} does not exist")
    return path


def load_exhaustive(data_dir: str | os.PathLike | None = None) -> np.ndarray:
    """108-epoch final test accuracy of repeat 0 of every cell (float64, space index order)."""
    path = _file(data_dir, EXHAUSTIVE_FILE)
    values = load_npy(path)
    if values.shape != (423_624,) or values.dtype != np.float64:
        raise TableError(
            f"{path}: expected 423,624 float64 values, got {values.shape} {values.dtype}"
        )
    return values


@dataclass(frozen=True)
class Sample:
    """The 18,760-cell sample: one run per budget, repeat unknown.

    Attributes
    ----------
    hashes : ndarray of str (K,)
    validation_accuracy : dict of int -> ndarray (K,)
        Final validation accuracy of the run at 4, 12, 36 and 108 epochs.
    final_training_time : ndarray (K,)
        Training time of the 108-epoch run.
    trainable_parameters : ndarray of int64 (K,)
    """

    hashes: np.ndarray
    validation_accuracy: dict[int, np.ndarray]
    final_training_time: np.ndarray
    trainable_parameters: np.ndarray

    def __len__(self) -> int:
        return len(self.hashes)


def load_sample(data_dir: str | os.PathLike | None = None) -> Sample:
    """The 18,760-cell sample (see :class:`Sample`)."""
    path = _file(data_dir, SAMPLE_FILE)
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    try:
        hashes = np.array(raw["key"], dtype=str)
        sample = Sample(
            hashes=hashes,
            validation_accuracy={
                e: np.array(raw[f"{e}_final_validation_accuracy"], dtype=np.float64) for e in EPOCHS
            },
            final_training_time=np.array(raw["final_training_time"], dtype=np.float64),
            trainable_parameters=np.array(raw["trainable_parameters"], dtype=np.int64),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TableError(f"{path}: not the sample layout of its README ({exc})") from exc
    columns = [
        sample.final_training_time,
        sample.trainable_parameters,
        *sample.validation_accuracy.values(),
    ]
    if any(len(c) != len(hashes) for c in columns):
        raise TableError(f"{path}: columns differ in length")
    if len(set(hashes.tolist())) != len(hashes):
        raise TableError(f"{path}: duplicate hashes")
    return sample


def load_repeats(data_dir: str | os.PathLike | None = None) -> dict[str, tuple[dict, dict]]:
    """The per-repeat records: hash -> ``(fixed, computed)`` as ``get_metrics_from_hash``
    (``module_adjacency`` an int8 array, ``computed`` keyed by int epochs)."""
    path = _file(data_dir, REPEATS_FILE)
    with open(path, encoding="utf-8") as fh:
        raw = json.load(fh)
    out = {}
    try:
        for h, record in raw.items():
            fixed = dict(record["fixed"])
            fixed["module_adjacency"] = np.array(fixed["module_adjacency"], dtype=np.int8)
            computed = {
                int(e): [{name: run[name] for name in RUN_FIELDS} for run in runs]
                for e, runs in record["computed"].items()
            }
            out[h] = (fixed, computed)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise TableError(f"{path}: not the records layout of its README ({exc})") from exc
    return out


def _check_parameters(what: str, indices: np.ndarray, counts: np.ndarray, space: CellSpace) -> None:
    expected = space.parameters(indices)
    bad = np.flatnonzero(expected != counts)
    if len(bad):
        i = int(bad[0])
        raise TableError(
            f"{what}: cell {space.hash(int(indices[i]))} has "
            f"{int(counts[i])} trainable parameters, the exact formula gives "
            f"{int(expected[i])} ({len(bad)} mismatches)"
        )


def convert_real_data(
    data_dir: str | os.PathLike | None = None,
    out_path: str | os.PathLike | None = None,
    *,
    space: CellSpace | None = None,
) -> Path:
    """Combine the real data into ONE table of the whole space (module docstring).

    Parameters
    ----------
    data_dir : path-like, optional
        See :func:`resolve_data_dir`.
    out_path : path-like, optional
        Default :func:`default_real_table_path`.
    space : CellSpace, optional

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError
        If the folder or a file is missing.
    TableError
        If the sources disagree: a record's repeat 0 with another test accuracy than the
        exhaustive file, a parameter count unlike the exact formula, an unknown hash.
    """
    started = time.perf_counter()
    space = space if space is not None else get_space()
    data = resolve_data_dir(data_dir)
    out_path = user_path(out_path) if out_path is not None else default_real_table_path()
    exhaustive = load_exhaustive(data)
    sample = load_sample(data)
    repeats = load_repeats(data)

    # known repeats: (cell, epochs, repeat) -> fields; exhaustive first
    known: dict[tuple[int, int, int], dict[str, float]] = {}
    for h, (fixed, computed) in repeats.items():
        try:
            index = space.index_of_hash(h)
        except OutOfDomainError as exc:
            raise TableError(f"{data / REPEATS_FILE}: {exc.args[0]}") from exc
        stored = ModelSpec(fixed["module_adjacency"], fixed["module_operations"])
        if space.index_of_spec(stored) != index:
            raise TableError(f"{data / REPEATS_FILE}: the stored graph of {h} is not that cell")
        for epochs, runs in computed.items():
            for r, run in enumerate(runs):
                fields = {k: float(v) for k, v in run.items() if v is not None}
                if (epochs, r) == (108, 0):
                    test = fields.get("final_test_accuracy")
                    if test != exhaustive[index]:
                        raise TableError(
                            f"{data / REPEATS_FILE}: repeat 0 of {h} at 108 epochs has test "
                            f"accuracy {test!r}, the exhaustive file {exhaustive[index]!r}"
                        )
                known[(index, epochs, r)] = fields
    record_cells = np.array([space.index_of_hash(h) for h in repeats], dtype=np.int64)
    record_params = np.array(
        [repeats[h][0]["trainable_parameters"] for h in repeats], dtype=np.int64
    )
    _check_parameters(str(data / REPEATS_FILE), record_cells, record_params, space)

    try:
        sample_cells = space.indices_of_hashes(sample.hashes)
    except OutOfDomainError as exc:
        raise TableError(f"{data / SAMPLE_FILE}: {exc.args[0]}") from exc
    _check_parameters(str(data / SAMPLE_FILE), sample_cells, sample.trainable_parameters, space)
    p_cells = np.concatenate([sample_cells, record_cells])
    p_values = np.concatenate([sample.trainable_parameters, record_params])
    p_cells, first = np.unique(p_cells, return_index=True)
    p_values = p_values[first]

    # sample runs at 108: merge into a known repeat only on exact valid + time equality
    valid108 = sample.validation_accuracy[108]
    unmatched = np.ones(len(sample), dtype=bool)
    by_cell: dict[int, list[int]] = {}
    for index, epochs, r in known:
        if epochs == 108:
            by_cell.setdefault(index, []).append(r)
    for k in np.flatnonzero(np.isin(sample_cells, list(by_cell))).tolist():
        index = int(sample_cells[k])
        for r in by_cell[index]:
            fields = known[(index, 108, r)]
            if (
                fields.get("final_validation_accuracy") == valid108[k]
                and fields.get("final_training_time") == sample.final_training_time[k]
            ):
                unmatched[k] = False
                break
    merged = int((~unmatched).sum())

    # assemble the columns: exhaustive runs, then the other known runs, then sample runs
    n_cells = len(space)
    cols: dict[str, list[np.ndarray]] = {name: [] for name in RUN_FIELDS}
    cells, epochs_col, repeat_col = [], [], []

    def add(c, e, r, fields: dict[str, np.ndarray]) -> None:
        size = len(c)
        cells.append(np.asarray(c, dtype=np.int64))
        epochs_col.append(np.full(size, e, dtype=np.int64) if np.isscalar(e) else np.asarray(e))
        repeat_col.append(np.full(size, r, dtype=np.int64) if np.isscalar(r) else np.asarray(r))
        for name in RUN_FIELDS:
            cols[name].append(
                np.asarray(fields[name], dtype=np.float64)
                if name in fields
                else np.full(size, np.nan)
            )

    exhaustive_fields = {"final_test_accuracy": exhaustive.copy()}
    for (index, epochs, r), fields in known.items():
        if (epochs, r) == (108, 0):
            for name, value in fields.items():
                exhaustive_fields.setdefault(name, np.full(n_cells, np.nan))[index] = value
    add(np.arange(n_cells), 108, 0, exhaustive_fields)
    others = [(key, f) for key, f in known.items() if key[1:] != (108, 0)]
    if others:
        add(
            [k[0] for k, _ in others],
            np.array([k[1] for k, _ in others]),
            np.array([k[2] for k, _ in others]),
            {name: [f.get(name, np.nan) for _, f in others] for name in RUN_FIELDS},
        )
    for e in EPOCHS:
        keep = unmatched if e == 108 else np.ones(len(sample), dtype=bool)
        fields = {"final_validation_accuracy": sample.validation_accuracy[e][keep]}
        if e == 108:
            fields["final_training_time"] = sample.final_training_time[keep]
        add(sample_cells[keep], e, -1, fields)

    source = {
        "kind": "real data",
        "data_dir": str(data),
        "files": [str(EXHAUSTIVE_FILE), str(SAMPLE_FILE), str(REPEATS_FILE)],
        "exhaustive": "run (cell, 108, repeat 0): final_test_accuracy of all 423,624 cells",
        "repeats": f"{len(repeats)} cells, every repeat (halfway and final); repeat 0 at 108 "
        f"epochs merged into the exhaustive run after an exact test accuracy check",
        "sample": f"{len(sample)} cells: final_validation_accuracy at 4/12/36/108 epochs and "
        f"final_training_time at 108, repeat unknown (-1); {merged} 108-epoch runs "
        f"matched a known repeat exactly (validation accuracy and training time) "
        f"and were merged",
        "trainable_parameters": "sample and records only (-1 elsewhere), each checked "
        "against the exact formula",
    }
    path = write_table(
        out_path,
        run_cell=np.concatenate(cells),
        run_epochs=np.concatenate(epochs_col),
        run_repeat=np.concatenate(repeat_col),
        values={name: np.concatenate(c) for name, c in cols.items()},
        source=source,
        parameters=(p_cells, p_values),
        space=space,
    )
    _log.info("built the real table %s in %.1f s", path, time.perf_counter() - started)
    return path
