"""The ``nasbench.ModelMetrics`` protobuf message of the NAS-Bench-101 dataset files.

Each record of a dataset file holds one training run (:mod:`nb101.run_records`); its metrics
are a serialized proto2 ``nasbench.ModelMetrics`` message (base64 inside the record's JSON)::

    message ModelMetrics {
      repeated EvaluationData evaluation_data = 1;  // initial, halfway, final
      optional int32 trainable_parameters = 2;
      optional double total_time = 3;
    }
    message EvaluationData {
      optional double current_epoch = 1;   optional double training_time = 2;
      optional double train_accuracy = 3;  optional double validation_accuracy = 4;
      optional double test_accuracy = 5;   optional string checkpoint_path = 6;
    }

:func:`decode_model_metrics` and :func:`encode_model_metrics` read and write any valid message
without the protobuf package. :func:`run_metric_values` gives the values a run keeps, with a
fast path for the exact layout of the official files (fixed offsets) and the general decoder
for anything else.

A malformed message raises :class:`nb101.errors.RecordError` ("malformed protobuf: ...").
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .errors import RecordError

__all__ = ["decode_model_metrics", "encode_model_metrics", "run_metric_values"]

_U32 = 0xFFFFFFFF
_F64_LE = struct.Struct("<d")

_EVAL_FIELDS = {  # field number -> name; all doubles except 6
    1: "current_epoch",
    2: "training_time",
    3: "train_accuracy",
    4: "validation_accuracy",
    5: "test_accuracy",
    6: "checkpoint_path",
}
_EVAL_NUMBERS = {name: number for number, name in _EVAL_FIELDS.items()}
_WIRE_NAMES = {0: "varint", 1: "fixed64", 2: "length-delimited", 5: "fixed32"}


def _malformed(message: str) -> RecordError:
    return RecordError(f"malformed protobuf: {message}")


def _read_varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise _malformed(f"truncated varint at byte {pos}")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise _malformed(f"varint longer than 10 bytes ending at byte {pos}")


def _iter_fields(buf: bytes, pos: int, end: int) -> Iterator[tuple[int, int, Any, int]]:
    """Yield ``(number, wire_type, value, start)``; length-delimited values as (start, stop)."""
    while pos < end:
        start = pos
        key, pos = _read_varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _malformed(f"field number 0 at byte {start}")
        if wire == 0:
            value, pos = _read_varint(buf, pos, end)
        elif wire == 1:
            if pos + 8 > end:
                raise _malformed(f"truncated fixed64 field {number} at byte {start}")
            value = buf[pos : pos + 8]
            pos += 8
        elif wire == 2:
            length, pos = _read_varint(buf, pos, end)
            if pos + length > end:
                raise _malformed(
                    f"truncated length-delimited field {number} at byte {start}: "
                    f"expected {length} bytes, got {end - pos}"
                )
            value = (pos, pos + length)
            pos += length
        elif wire == 5:
            if pos + 4 > end:
                raise _malformed(f"truncated fixed32 field {number} at byte {start}")
            value = None
            pos += 4
        else:
            raise _malformed(f"unsupported wire type {wire} (field {number}) at byte {start}")
        yield number, wire, value, start


def _expect_wire(number: int, wire: int, expected: int, start: int) -> None:
    if wire != expected:
        raise _malformed(
            f"field {number} at byte {start} has wire type {_WIRE_NAMES.get(wire, wire)}, "
            f"expected {_WIRE_NAMES[expected]}"
        )


def _decode_evaluation_data(buf: bytes, pos: int, end: int) -> dict[str, float | str | None]:
    out: dict[str, float | str | None] = dict.fromkeys(_EVAL_FIELDS.values())
    for number, wire, value, start in _iter_fields(buf, pos, end):
        name = _EVAL_FIELDS.get(number)
        if name is None:
            continue  # unknown field
        if number == 6:
            _expect_wire(number, wire, 2, start)
            try:
                out[name] = bytes(buf[value[0] : value[1]]).decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _malformed(f"checkpoint_path at byte {start} is not UTF-8") from exc
        else:
            _expect_wire(number, wire, 1, start)
            out[name] = _F64_LE.unpack(value)[0]
    return out


def decode_model_metrics(buf: bytes) -> dict[str, Any]:
    """Decode a serialized ``nasbench.ModelMetrics`` proto2 message.

    Fields may come in any order; unknown fields are skipped; for a repeated optional
    scalar the last value wins, as in protobuf.

    Parameters
    ----------
    buf : bytes-like
        Serialized message.

    Returns
    -------
    dict
        ``{"evaluation_data": [dict, ...], "trainable_parameters": int | None,
        "total_time": float | None}``. Each ``evaluation_data`` dict has the keys
        ``current_epoch``, ``training_time``, ``train_accuracy``, ``validation_accuracy``,
        ``test_accuracy`` (float or None) and ``checkpoint_path`` (str or None); None means
        absent. Byte positions in error messages are relative to ``buf``.

    Raises
    ------
    RecordError
        "malformed protobuf: ..." on truncation, a bad varint, a known field with the wrong
        wire type, or an unsupported wire type (groups).
    """
    buf = bytes(buf)
    evaluation_data: list[dict[str, float | str | None]] = []
    trainable_parameters: int | None = None
    total_time: float | None = None
    for number, wire, value, start in _iter_fields(buf, 0, len(buf)):
        if number == 1:
            _expect_wire(number, wire, 2, start)
            evaluation_data.append(_decode_evaluation_data(buf, value[0], value[1]))
        elif number == 2:
            _expect_wire(number, wire, 0, start)
            v = value & _U32  # int32: low 32 bits, signed
            trainable_parameters = v - (1 << 32) if v >= 1 << 31 else v
        elif number == 3:
            _expect_wire(number, wire, 1, start)
            total_time = _F64_LE.unpack(value)[0]
    return {
        "evaluation_data": evaluation_data,
        "trainable_parameters": trainable_parameters,
        "total_time": total_time,
    }


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_model_metrics(
    evaluation_data: Sequence[Mapping[str, float | str | None]],
    *,
    trainable_parameters: int | None = None,
    total_time: float | None = None,
) -> bytes:
    """Serialize a ``nasbench.ModelMetrics`` proto2 message.

    Fields are written in field-number order; None values are left out (absent). The
    output of :func:`decode_model_metrics` can be passed back as keyword arguments.

    Parameters
    ----------
    evaluation_data : sequence of mapping
        One mapping per ``EvaluationData`` with any of the keys ``current_epoch``,
        ``training_time``, ``train_accuracy``, ``validation_accuracy``, ``test_accuracy``
        (floats) and ``checkpoint_path`` (str).
    trainable_parameters : int or None, default=None
        int32 value.
    total_time : float or None, default=None
        Seconds.

    Returns
    -------
    bytes
        Serialized message.

    Raises
    ------
    ValueError
        On an unknown key or an out-of-range ``trainable_parameters``.
    """
    out = bytearray()
    for i, entry in enumerate(evaluation_data):
        unknown = set(entry) - set(_EVAL_NUMBERS)
        if unknown:
            raise ValueError(
                f"evaluation_data[{i}] has unknown keys {sorted(unknown)}; "
                f"allowed: {list(_EVAL_NUMBERS)}"
            )
        body = bytearray()
        for number, name in _EVAL_FIELDS.items():
            value = entry.get(name)
            if value is None:
                continue
            if number == 6:
                text = str(value).encode("utf-8")
                body += bytes((0x32,)) + _encode_varint(len(text)) + text
            else:
                body += bytes(((number << 3) | 1,)) + _F64_LE.pack(float(value))
        out += b"\x0a" + _encode_varint(len(body)) + body
    if trainable_parameters is not None:
        value = operator.index(trainable_parameters)
        if not -(1 << 31) <= value < (1 << 31):
            raise ValueError(f"trainable_parameters must fit in int32, got {trainable_parameters}")
        out += b"\x10" + _encode_varint(value & ((1 << 64) - 1))
    if total_time is not None:
        out += b"\x19" + _F64_LE.pack(float(total_time))
    return bytes(out)


# Fast path for the layout of the official files: 3 EvaluationData of exactly 45 bytes
# (5 doubles each), then trainable_parameters, then total_time.
_EVAL3 = struct.Struct("<" + ("2x" + "xd" * 5) * 3)
_EVAL3_TAG_POS = [47 * e + k for e in range(3) for k in (0, 1, 2, 11, 20, 29, 38)]
_EVAL3_TAGS = tuple([0x0A, 45, 0x09, 0x11, 0x19, 0x21, 0x29] * 3)
_get_eval3_tags = operator.itemgetter(*_EVAL3_TAG_POS)


def run_metric_values(raw: bytes) -> tuple:
    """``(trainable_parameters, total_time, halfway x4, final x4)`` from serialized metrics."""
    n = len(raw)
    if n >= 152 and raw[141] == 0x10 and _get_eval3_tags(raw) == _EVAL3_TAGS:
        pos = 142
        params = 0
        shift = 0
        while pos < n and shift < 35:
            b = raw[pos]
            pos += 1
            params |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
        else:
            params = -1
        if params >= 0 and params < (1 << 31) and pos + 9 == n and raw[pos] == 0x19:
            v = _EVAL3.unpack_from(raw)
            return (params, _F64_LE.unpack_from(raw, pos + 1)[0]) + v[6:10] + v[11:15]
    metrics = decode_model_metrics(raw)
    data = metrics["evaluation_data"]
    if len(data) < 3:
        raise RecordError(
            f"ModelMetrics has {len(data)} evaluation_data entries, expected at least 3 "
            "(initial, halfway, final)"
        )
    half, final = data[1], data[2]
    return (
        metrics["trainable_parameters"],
        metrics["total_time"],
        half["training_time"],
        half["train_accuracy"],
        half["validation_accuracy"],
        half["test_accuracy"],
        final["training_time"],
        final["train_accuracy"],
        final["validation_accuracy"],
        final["test_accuracy"],
    )
