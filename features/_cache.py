"""Full-space feature tables: computed once per process, kept as packed bits in memory and
(optionally) on disk beside the space cache.

A table is a binary encoding of every cell of the space, stored with :func:`numpy.packbits`
along the feature axis (the path table is 423,624 x 46 bytes, 19 MB). The disk file is
``features-v{FEATURES_FORMAT}-{name}.npz`` in the folder of the space cache, written
atomically, and holds a fingerprint of the space's hashes; a file that does not match is
recomputed and replaced.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from nb101.cell_space import CellSpace, default_cache_path
from nb101.io import atomic_savez, open_npz

__all__ = [
    "FEATURES_FORMAT",
    "feature_cache_path",
    "full_table",
    "has_table",
    "clear_feature_cache",
    "unpack",
]

_log = logging.getLogger(__name__)

#: Bumped whenever an encoding changes; part of the cache file name.
FEATURES_FORMAT = 1
#: Environment variable that, set to ``0``, turns the disk cache off.
DISK_CACHE_ENV = "NB101_FEATURE_DISK_CACHE"

_TABLES: dict[tuple[str, str], np.ndarray] = {}  # (space fingerprint, table name) -> packed
_FINGERPRINTS: dict[int, tuple[CellSpace, str]] = {}


def _fingerprint(space: CellSpace) -> str:
    cached = _FINGERPRINTS.get(id(space))
    if cached is not None and cached[0] is space:
        return cached[1]
    digest = hashlib.sha1(np.ascontiguousarray(space.hashes).tobytes()).hexdigest()[:16]
    _FINGERPRINTS[id(space)] = (space, digest)
    return digest


def feature_cache_path(name: str, space: CellSpace | None = None) -> Path:
    """Disk cache file of table ``name``: beside the space cache (``space.path``), else in the
    folder of :func:`nb101.cell_space.default_cache_path`."""
    folder = (
        space.path.parent
        if space is not None and space.path is not None
        else default_cache_path().parent
    )
    return folder / f"features-v{FEATURES_FORMAT}-{name}.npz"


def _disk_cache_enabled() -> bool:
    return os.environ.get(DISK_CACHE_ENV, "1").strip().lower() not in ("0", "false", "no")


def full_table(
    name: str, dim: int, space: CellSpace, compute: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> np.ndarray:
    """Packed-bit table ``name`` of all cells of ``space``, shape (N, ceil(dim / 8)) uint8.

    Looked up in memory, then on disk, else ``compute(adjacency, labels)`` (dense arrays of
    the whole space, returning a (N, dim) bool array) is run and its result cached.
    """
    key = (_fingerprint(space), name)
    table = _TABLES.get(key)
    if table is not None:
        return table
    path = feature_cache_path(name, space)
    use_disk = _disk_cache_enabled()
    if use_disk and path.exists():
        table = _load(path, key[0], len(space), dim)
    if table is None:
        adjacency, labels = space.dense()
        bits = compute(adjacency, labels)
        if bits.shape != (len(space), dim):
            raise RuntimeError(
                f"table {name!r} has shape {bits.shape}, expected {(len(space), dim)}"
            )
        table = np.packbits(bits, axis=1)
        if use_disk:
            try:
                atomic_savez(
                    path,
                    format=np.array(FEATURES_FORMAT),
                    dim=np.array(dim),
                    fingerprint=np.array(key[0]),
                    table=table,
                )
            except OSError as exc:  # a read-only cache folder only costs the recomputation
                _log.warning("could not write the feature cache %s: %s", path, exc)
    _TABLES[key] = table
    return table


def _load(path: Path, fingerprint: str, num_cells: int, dim: int) -> np.ndarray | None:
    try:
        with open_npz(path) as data:
            ok = (
                int(data["format"]) == FEATURES_FORMAT
                and int(data["dim"]) == dim
                and str(data["fingerprint"]) == fingerprint
            )
            table = data["table"] if ok else None
    except (OSError, ValueError, KeyError) as exc:
        _log.warning("ignoring unreadable feature cache %s: %s", path, exc)
        return None
    if table is None or table.shape != (num_cells, (dim + 7) // 8) or table.dtype != np.uint8:
        _log.warning("ignoring stale feature cache %s", path)
        return None
    return table


def has_table(name: str, space: CellSpace) -> bool:
    """Whether table ``name`` of ``space`` is already in memory."""
    return (_fingerprint(space), name) in _TABLES


def unpack(
    table: np.ndarray, indices: np.ndarray | None, count: int, out: np.ndarray | None = None
) -> np.ndarray:
    """The first ``count`` features of rows ``indices`` (all if None) as float32, written into
    ``out`` (shape (K, count)) when given."""
    width = (count + 7) // 8
    rows = table[:, :width] if indices is None else table[indices, :width]
    if out is None:
        out = np.empty((len(rows), count), dtype=np.float32)
    np.copyto(out, np.unpackbits(rows, axis=1, count=count))  # faster than astype here
    return out


def clear_feature_cache(*, disk: bool = False, space: CellSpace | None = None) -> None:
    """Forget the in-memory tables; with ``disk=True`` also delete this format's cache files
    in the folder of ``space`` (default: the default space cache folder)."""
    _TABLES.clear()
    if disk:
        folder = feature_cache_path("x", space).parent
        for path in folder.glob(f"features-v{FEATURES_FORMAT}-*.npz"):
            path.unlink(missing_ok=True)
