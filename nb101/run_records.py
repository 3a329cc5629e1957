"""Runs of the NAS-Bench-101 dataset files: one training run per record.

A dataset file is a sequence of TFRecord frames (:mod:`nb101.tfrecord`); each frame's payload
is the UTF-8 JSON array ``[module_hash, epochs, raw_adjacency, raw_operations, raw_metrics]``
where ``raw_metrics`` is the base64 text of a serialized proto2 ``nasbench.ModelMetrics``
message (:mod:`nb101.model_metrics`). This module turns payloads into :class:`Run` objects and
back, and reads and writes whole files of runs.

Usage
-----
>>> from nb101.run_records import read_records, write_runs
>>> for run in read_records("nasbench_only108.tfrecord"):  # doctest: +SKIP
...     print(run.module_hash, run.epochs, run.final_test_accuracy)

Each :class:`Run` holds the values the official ``nasbench.api`` keeps: the stored graph
(``adjacency``, ``operations``), ``trainable_parameters``, and the ``halfway_*`` and ``final_*``
``training_time``, ``train_accuracy``, ``validation_accuracy``, ``test_accuracy`` taken from
``evaluation_data[1]`` and ``evaluation_data[2]`` (``evaluation_data[0]`` is ignored, as in the
official API), plus the diagnostic ``total_time``.

The decoder has fast paths for the exact layout of the official files (a regular expression
over the JSON text, fixed offsets in the protobuf, decoded graphs shared between records);
any other valid payload takes the general path (``json``, a full proto2 field walk) and gives
the same :class:`Run`. The encoder writes the exact text style of the official files.

Every malformed payload raises :class:`nb101.errors.RecordError` naming the rule it breaks;
:func:`read_records` prefixes the message with the file path, the record number and its byte
offset.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import math
import operator
import os
import re
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .errors import RecordError
from .model_metrics import decode_model_metrics, encode_model_metrics, run_metric_values
from .paths import user_path
from .tfrecord import PathLike, _where, iter_records, write_records

__all__ = [
    "Run",
    "RecordError",
    "read_records",
    "write_runs",
    "parse_payload",
    "decode_model_metrics",
    "encode_model_metrics",
    "encode_payload",
    "encode_run",
]

_HASH_RE = re.compile(r"[0-9a-f]{32}")
_ADJ_RE = re.compile(r"[01]+")
_TO_01 = bytes.maketrans(b"01", b"\x00\x01")
_FAST_RE = re.compile(
    rb'\["([0-9a-f]{32})", ([1-9][0-9]{0,8}), "([01]+)", '
    rb'"([\x20\x21\x23-\x5b\x5d-\x7e]*)", "([A-Za-z0-9+/=\\n]*)"\]'
)
_RUN_METRIC_FIELDS = (
    "trainable_parameters",
    "total_time",
    "halfway_training_time",
    "halfway_train_accuracy",
    "halfway_validation_accuracy",
    "halfway_test_accuracy",
    "final_training_time",
    "final_train_accuracy",
    "final_validation_accuracy",
    "final_test_accuracy",
)
_SHAPE_ERROR = "payload is not a 5-element JSON array [hash, epochs, adjacency, ops, metrics]"


@dataclasses.dataclass(frozen=True, eq=False)
class Run:
    """One record of a dataset file: one training run of one cell at one epoch budget.

    Parameters
    ----------
    module_hash : str
        32 lowercase hex characters (graph fingerprint).
    epochs : int
        Training budget: 4, 12, 36 or 108.
    adjacency : numpy.ndarray
        Stored V x V adjacency matrix; kept as a read-only ``int8`` array.
    operations : list of str
        V op names, from ``"input"`` to ``"output"``.
    trainable_parameters : int or None
        None when absent from the record.
    halfway_training_time, halfway_train_accuracy, halfway_validation_accuracy, \
halfway_test_accuracy : float or None
        ``evaluation_data[1]`` (at ``epochs / 2``); None when absent.
    final_training_time, final_train_accuracy, final_validation_accuracy, \
final_test_accuracy : float or None
        ``evaluation_data[2]`` (at ``epochs``); None when absent.
    total_time : float or None
        Wall time of training plus evaluation (diagnostic only).
    """

    module_hash: str
    epochs: int
    adjacency: np.ndarray
    operations: list[str]
    trainable_parameters: int | None = None
    total_time: float | None = None
    halfway_training_time: float | None = None
    halfway_train_accuracy: float | None = None
    halfway_validation_accuracy: float | None = None
    halfway_test_accuracy: float | None = None
    final_training_time: float | None = None
    final_train_accuracy: float | None = None
    final_validation_accuracy: float | None = None
    final_test_accuracy: float | None = None

    def __post_init__(self) -> None:
        adjacency = np.array(self.adjacency, dtype=np.int8)
        if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
            raise ValueError(f"adjacency must be a square matrix, got shape {adjacency.shape}")
        adjacency.flags.writeable = False
        object.__setattr__(self, "adjacency", adjacency)
        object.__setattr__(self, "operations", list(self.operations))

    def _key(self) -> tuple:
        return (
            self.module_hash,
            self.epochs,
            self.adjacency.shape,
            self.adjacency.tobytes(),
            tuple(self.operations),
        ) + tuple(getattr(self, name) for name in _RUN_METRIC_FIELDS)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Run):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


_run_new = object.__new__
_run_setattr = object.__setattr__


def _make_run(h, epochs, adjacency, operations, m) -> Run:  # noqa: ANN001
    # Reader hot path: skips __post_init__ (inputs are already normalized).
    run = _run_new(Run)
    _run_setattr(
        run,
        "__dict__",
        {
            "module_hash": h,
            "epochs": epochs,
            "adjacency": adjacency,
            "operations": operations,
            "trainable_parameters": m[0],
            "total_time": m[1],
            "halfway_training_time": m[2],
            "halfway_train_accuracy": m[3],
            "halfway_validation_accuracy": m[4],
            "halfway_test_accuracy": m[5],
            "final_training_time": m[6],
            "final_train_accuracy": m[7],
            "final_validation_accuracy": m[8],
            "final_test_accuracy": m[9],
        },
    )
    return run


# Decoded graphs repeat across records (12 runs per cell in the full file, and many cells
# share a matrix); arrays are read-only and op names tuples, so sharing them is safe.
_CACHE_LIMIT = 1 << 16
_adj_cache: dict[bytes, np.ndarray] = {}
_ops_cache: dict[bytes, tuple[str, ...]] = {}


def _adjacency_from_text(raw: bytes) -> np.ndarray:
    adjacency = _adj_cache.get(raw)
    if adjacency is not None:
        return adjacency
    n = len(raw)
    dim = math.isqrt(n)
    if dim * dim != n:
        raise RecordError(f"adjacency has {n} characters, which is not a square number V*V")
    adjacency = np.frombuffer(raw.translate(_TO_01), dtype=np.int8).reshape(dim, dim)
    if len(_adj_cache) >= _CACHE_LIMIT:
        _adj_cache.clear()
    _adj_cache[raw] = adjacency
    return adjacency


def _ops_from_text(raw: bytes) -> tuple[str, ...]:
    ops = _ops_cache.get(raw)
    if ops is None:
        ops = tuple(sys.intern(op) for op in raw.decode("ascii").split(","))
        if len(_ops_cache) >= _CACHE_LIMIT:
            _ops_cache.clear()
        _ops_cache[raw] = ops
    return ops


def _parse_generic(payload: bytes) -> Run:
    try:
        text = bytes(payload).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordError(f"payload is not UTF-8 ({exc})") from exc
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"{_SHAPE_ERROR}: invalid JSON ({exc})") from exc
    if not isinstance(value, list) or len(value) != 5:
        got = f"list of {len(value)}" if isinstance(value, list) else type(value).__name__
        raise RecordError(f"{_SHAPE_ERROR}: got {got}")
    h, epochs, adj, ops, metrics = value
    if not isinstance(h, str) or not _HASH_RE.fullmatch(h):
        raise RecordError(f"{_SHAPE_ERROR}: hash must be 32 lowercase hex chars, got {h!r}")
    if type(epochs) is not int or epochs <= 0:
        raise RecordError(f"{_SHAPE_ERROR}: epochs must be a positive int, got {epochs!r}")
    if not isinstance(adj, str) or not _ADJ_RE.fullmatch(adj):
        raise RecordError(f"{_SHAPE_ERROR}: adjacency must be a string of '0'/'1', got {adj!r}")
    if not isinstance(ops, str):
        raise RecordError(f"{_SHAPE_ERROR}: ops must be a string, got {ops!r}")
    if not isinstance(metrics, str):
        raise RecordError(f"{_SHAPE_ERROR}: metrics must be a string, got {type(metrics).__name__}")
    try:
        raw = binascii.a2b_base64(metrics.replace("\n", "").encode("ascii"), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise RecordError(f"bad base64 in metrics ({exc})") from exc
    return _build_run(h, epochs, _adjacency_from_text(adj.encode("ascii")), ops.split(","), raw)


def _build_run(
    h: str, epochs: int, adjacency: np.ndarray, operations: list[str], raw: bytes
) -> Run:
    if len(operations) != len(adjacency):
        raise RecordError(
            f"ops has {len(operations)} entries but adjacency is {len(adjacency)}x{len(adjacency)}"
        )
    return _make_run(h, epochs, adjacency, operations, run_metric_values(raw))


def parse_payload(payload: bytes) -> Run:
    """Decode one record payload (JSON text, base64, ModelMetrics) into a :class:`Run`.

    Parameters
    ----------
    payload : bytes
        The payload of one TFRecord frame.

    Returns
    -------
    Run
        Halfway values from ``evaluation_data[1]``, final from ``evaluation_data[2]``.

    Raises
    ------
    RecordError
        If the payload is not a 5-element JSON array of the expected types, the base64 is
        bad, the protobuf is malformed or has fewer than 3 ``evaluation_data`` entries.
    """
    m = _FAST_RE.fullmatch(payload)
    if m is not None:
        h, epochs, adj, ops, b64 = m.groups()
        try:
            raw = binascii.a2b_base64(b64.replace(b"\\n", b""), strict_mode=True)
        except binascii.Error:
            return _parse_generic(payload)
        adjacency = _adjacency_from_text(adj)
        operations = list(_ops_from_text(ops))
        return _build_run(h.decode("ascii"), int(epochs), adjacency, operations, raw)
    return _parse_generic(payload)


def read_records(path: PathLike, *, verify: bool = True) -> Iterator[Run]:
    """Stream and decode every record of a dataset file.

    Parameters
    ----------
    path : str or os.PathLike
        ``nasbench_full.tfrecord``, ``nasbench_only108.tfrecord`` or a file written by
        :func:`write_runs`.
    verify : bool, default=True
        Check the CRCs of the framing.

    Yields
    ------
    Run
        One per record, in file order.

    Raises
    ------
    RecordError
        On any framing or payload error; the message names the file, the record number and
        its byte offset.
    """
    path = os.fspath(user_path(path))
    index = 0
    offset = 0
    for payload in iter_records(path, verify=verify):
        try:
            run = parse_payload(payload)
        except RecordError as exc:
            raise RecordError(f"{_where(path, index, offset)}: {exc}") from exc
        yield run
        index += 1
        offset += 16 + len(payload)


# ---------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------


def encode_payload(
    module_hash: str,
    epochs: int,
    adjacency: Any,
    operations: Sequence[str],
    metrics: bytes,
) -> bytes:
    """Build a payload in the exact text style of the official files.

    ``json.dumps`` with its default separators, the metrics as ``base64.encodebytes``
    text (a line break every 76 characters and a trailing one).

    Parameters
    ----------
    module_hash : str
        32 lowercase hex characters.
    epochs : int
        Positive budget.
    adjacency : array-like of shape (V, V)
        0/1 matrix.
    operations : sequence of str
        V op names.
    metrics : bytes
        Serialized ModelMetrics (see :func:`encode_model_metrics`).

    Returns
    -------
    bytes
        UTF-8 JSON payload.

    Raises
    ------
    ValueError
        If an argument breaks the format rules.
    """
    if not isinstance(module_hash, str) or not _HASH_RE.fullmatch(module_hash):
        raise ValueError(f"module_hash must be 32 lowercase hex chars, got {module_hash!r}")
    epochs_int = operator.index(epochs)
    if epochs_int <= 0:
        raise ValueError(f"epochs must be positive, got {epochs}")
    matrix = np.asarray(adjacency)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"adjacency must be a non-empty square matrix, got shape {matrix.shape}")
    if not np.isin(matrix, (0, 1)).all():
        raise ValueError("adjacency must contain only 0 and 1")
    ops = list(operations)
    if len(ops) != matrix.shape[0]:
        raise ValueError(
            f"operations has {len(ops)} entries but adjacency is "
            f"{matrix.shape[0]}x{matrix.shape[0]}"
        )
    if any(not isinstance(op, str) or "," in op for op in ops):
        raise ValueError(f"operations must be strings without ',', got {ops!r}")
    text = json.dumps(
        [
            module_hash,
            epochs_int,
            "".join("1" if v else "0" for v in matrix.ravel().tolist()),
            ",".join(ops),
            base64.encodebytes(bytes(metrics)).decode("ascii"),
        ]
    )
    return text.encode("utf-8")


def encode_run(run: Run) -> bytes:
    """Payload for a :class:`Run`, so that :func:`parse_payload` gives it back unchanged.

    ``evaluation_data`` gets three entries: ``[0]`` at epoch 0 with training time 0 and
    no accuracies, ``[1]`` at ``epochs / 2`` (halfway values) and ``[2]`` at ``epochs``
    (final values); absent (None) values are left out.
    """
    evaluation_data = [
        {"current_epoch": 0.0, "training_time": 0.0},
        {
            "current_epoch": run.epochs / 2,
            "training_time": run.halfway_training_time,
            "train_accuracy": run.halfway_train_accuracy,
            "validation_accuracy": run.halfway_validation_accuracy,
            "test_accuracy": run.halfway_test_accuracy,
        },
        {
            "current_epoch": float(run.epochs),
            "training_time": run.final_training_time,
            "train_accuracy": run.final_train_accuracy,
            "validation_accuracy": run.final_validation_accuracy,
            "test_accuracy": run.final_test_accuracy,
        },
    ]
    metrics = encode_model_metrics(
        evaluation_data,
        trainable_parameters=run.trainable_parameters,
        total_time=run.total_time,
    )
    return encode_payload(run.module_hash, run.epochs, run.adjacency, run.operations, metrics)


def write_runs(path: PathLike, runs: Iterable[Run]) -> int:
    """Write runs as a dataset file (:func:`encode_run`, then
    :func:`nb101.tfrecord.write_records`: atomic).

    Returns
    -------
    int
        Number of records written.
    """
    return write_records(user_path(path), (encode_run(run) for run in runs))
