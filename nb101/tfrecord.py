"""TFRecord framing of the NAS-Bench-101 dataset files, without TensorFlow.

A dataset file (``nasbench_full.tfrecord``, ``nasbench_only108.tfrecord``) is a plain
concatenation of frames::

    uint64 LE length | uint32 LE masked_crc32c(length bytes)
    | payload | uint32 LE masked_crc32c(payload)

This module reads and writes frames only; what a payload holds (one training run) is
:mod:`nb101.run_records`, whose :func:`~nb101.run_records.read_records` decodes a whole file.

Usage
-----
>>> from nb101.tfrecord import iter_records, write_records
>>> write_records("x.tfrecord", [b"payload 0", b"payload 1"])    # doctest: +SKIP
2
>>> list(iter_records("x.tfrecord"))                            # doctest: +SKIP
[b'payload 0', b'payload 1']

The CRC32C (Castagnoli) comes from ``google_crc32c`` (a declared dependency; it ships a C
implementation and falls back to its own pure-Python one where the C one cannot be built).
The reader verifies the length CRC of a given length once per file, since the official
records repeat a handful of lengths.

A malformed file raises :class:`nb101.errors.RecordError`, whose message starts with the
file path, the record number and its byte offset.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterable, Iterator
from typing import Any, Union

import google_crc32c

from .errors import RecordError
from .io import atomic_path
from .paths import user_path

__all__ = [
    "RecordError",
    "crc32c",
    "masked_crc32c",
    "iter_records",
    "frame_record",
    "write_records",
]

PathLike = Union[str, "os.PathLike[str]"]

_CHUNK_SIZE = 8 << 20
_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF
_HEADER = struct.Struct("<QI")
_U64_LE = struct.Struct("<Q")
_U32_LE = struct.Struct("<I")
_crc32c_value = google_crc32c.value  # bytes only


def crc32c(data: bytes) -> int:
    """CRC32C (Castagnoli) of ``data``, without the TFRecord mask.

    Parameters
    ----------
    data : bytes-like
        Input bytes.

    Returns
    -------
    int
        Unsigned 32-bit CRC; ``crc32c(b"123456789") == 0xE3069283``.
    """
    return _crc32c_value(bytes(data))


def _mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


def masked_crc32c(data: bytes) -> int:
    """TFRecord masked CRC32C: rotate the CRC right by 15 bits, then add ``0xA282EAD8``.

    Parameters
    ----------
    data : bytes-like
        Input bytes.

    Returns
    -------
    int
        Unsigned 32-bit masked CRC.
    """
    return _mask(_crc32c_value(bytes(data)))


def _read_up_to(f: Any, n: int) -> bytes:
    parts = []
    while n > 0:
        part = f.read(n)
        if not part:
            break
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def _where(path: str, index: int, offset: int) -> str:
    return f"{path}: record {index} at byte offset {offset}"


def iter_records(path: PathLike, *, verify: bool = True) -> Iterator[bytes]:
    """Stream the raw payloads of a TFRecord file.

    Parameters
    ----------
    path : str or os.PathLike
        TFRecord file (uncompressed).
    verify : bool, default=True
        Check both masked CRCs of every record.

    Yields
    ------
    bytes
        The payload of each record, in file order.

    Raises
    ------
    RecordError
        On a bad length CRC, a bad data CRC, or a file that does not end at a record
        boundary ("truncated record").
    """
    path = os.fspath(user_path(path))
    crc = _crc32c_value
    unpack_header = _HEADER.unpack_from
    unpack_u32 = _U32_LE.unpack_from
    good_length_crc: dict[int, int] = {}  # length -> its verified masked CRC
    with open(path, "rb", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        buf = b""
        pos = 0
        base = 0  # file offset of buf[0]
        index = 0
        while True:
            avail = len(buf) - pos
            if avail < 12:
                base += pos
                buf = buf[pos:] + _read_up_to(f, max(_CHUNK_SIZE, 12 - avail))
                pos = 0
                avail = len(buf)
                if avail == 0:
                    return
                if avail < 12:
                    raise RecordError(
                        f"{_where(path, index, base)}: truncated record: "
                        f"expected 12 header bytes, got {avail}"
                    )
            length, length_crc = unpack_header(buf, pos)
            if verify and good_length_crc.get(length) != length_crc:
                expected = _mask(crc(buf[pos : pos + 8]))
                if expected != length_crc:
                    raise RecordError(
                        f"{_where(path, index, base + pos)}: bad length CRC "
                        f"(stored 0x{length_crc:08x}, computed 0x{expected:08x})"
                    )
                good_length_crc[length] = length_crc
            end = pos + 16 + length
            if end > len(buf):
                offset = base + pos
                if offset + 16 + length > size:
                    raise RecordError(
                        f"{_where(path, index, offset)}: truncated record: "
                        f"expected {16 + length} bytes, got {size - offset}"
                    )
                base = offset
                buf = buf[pos:] + _read_up_to(f, max(_CHUNK_SIZE, 16 + length - avail))
                pos = 0
                end = 16 + length
                if end > len(buf):  # the file shrank while reading
                    raise RecordError(
                        f"{_where(path, index, offset)}: truncated record: "
                        f"expected {16 + length} bytes, got {len(buf)}"
                    )
            payload = buf[pos + 12 : end - 4]
            if verify:
                (data_crc,) = unpack_u32(buf, end - 4)
                expected = _mask(crc(payload))
                if expected != data_crc:
                    raise RecordError(
                        f"{_where(path, index, base + pos)}: bad data CRC "
                        f"(stored 0x{data_crc:08x}, computed 0x{expected:08x})"
                    )
            yield payload
            pos = end
            index += 1


def frame_record(payload: bytes) -> bytes:
    """Wrap one payload in TFRecord framing (length, length CRC, payload, data CRC).

    Raises
    ------
    TypeError
        If ``payload`` is not bytes-like (a :class:`nb101.run_records.Run` is encoded by
        :func:`nb101.run_records.encode_run` first, or written by
        :func:`nb101.run_records.write_runs`).
    """
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"a record payload must be bytes, got {type(payload).__name__}; "
            f"encode runs with nb101.run_records.encode_run (or write them with "
            f"nb101.run_records.write_runs)"
        )
    payload = bytes(payload)
    length = _U64_LE.pack(len(payload))
    return (
        length
        + _U32_LE.pack(_mask(_crc32c_value(length)))
        + payload
        + _U32_LE.pack(_mask(_crc32c_value(payload)))
    )


def write_records(path: PathLike, payloads: Iterable[bytes]) -> int:
    """Write payloads as a TFRecord file, atomically (:func:`nb101.io.atomic_path`).

    Parameters
    ----------
    path : str or os.PathLike
        Destination; replaced only once every record is written and synced to disk.
    payloads : iterable of bytes
        Record payloads, written as they are (see :func:`nb101.run_records.write_runs` for
        :class:`~nb101.run_records.Run` objects).

    Returns
    -------
    int
        Number of records written.

    Raises
    ------
    TypeError
        If a payload is not bytes-like (the destination is then left as it was).
    """
    count = 0
    with atomic_path(user_path(path)) as tmp:
        with open(tmp, "wb", buffering=_CHUNK_SIZE) as f:
            for payload in payloads:
                f.write(frame_record(payload))
                count += 1
            f.flush()
            os.fsync(f.fileno())
    return count
