"""The space's cache file: where it lives, its format, and reading and writing it.

The cache file is ``space-v{SPACE_FORMAT}.npz`` in ``$NB101_CACHE`` or
``~/.cache/nb101-surrogate`` (:func:`default_cache_path`): an uncompressed ``.npz`` (no
pickle, written atomically) of the arrays :data:`SPACE_ARRAYS` plus ``format``. A cache of an
older format (:data:`UPGRADABLE_FORMATS`; format 1 lacks the parameter counts) is read and
upgraded by :meth:`nb101.CellSpace.load` instead of rebuilt.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import TableError
from .io import atomic_savez, open_npz
from .paths import user_path
from .space_enumeration import NUM_CELLS

__all__ = [
    "SPACE_FORMAT",
    "UPGRADABLE_FORMATS",
    "SPACE_ARRAYS",
    "default_cache_path",
    "cache_name",
    "read_space_file",
    "write_space_file",
]

SPACE_FORMAT = 2
#: Older cache formats that are upgraded on load (format 1: no parameter counts).
UPGRADABLE_FORMATS = (1,)
#: The arrays of a cache file of the current format (format 1: all but ``parameters``).
SPACE_ARRAYS = (
    "hashes",
    "num_vertices",
    "bits",
    "codes",
    "enumeration_rank",
    "lookup_num_vertices",
    "lookup_bits",
    "lookup_cells",
    "parameters",
)


def default_cache_path() -> Path:
    """``$NB101_CACHE`` or ``~/.cache/nb101-surrogate``, then ``space-v{SPACE_FORMAT}.npz``."""
    root = os.environ.get("NB101_CACHE") or Path.home() / ".cache" / "nb101-surrogate"
    return user_path(root) / cache_name(SPACE_FORMAT)


def cache_name(space_format: int) -> str:
    """File name of a space cache of format ``space_format``."""
    return f"space-v{space_format}.npz"


def read_space_file(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], int]:
    """The arrays of a space cache and its format (the current or an upgradable one).

    Raises
    ------
    TableError
        If the file is not a space cache of a known format.
    """
    path = user_path(path)
    try:
        with open_npz(path) as data:
            arrays = {name: data[name] for name in data.files}
    except (OSError, ValueError) as exc:
        raise TableError(f"{path} is not a space cache file: {exc}") from exc
    space_format = int(arrays.get("format", -1))
    needed = [name for name in SPACE_ARRAYS if name != "parameters" or space_format == SPACE_FORMAT]
    if space_format not in (SPACE_FORMAT, *UPGRADABLE_FORMATS) or not all(
        name in arrays for name in needed
    ):
        raise TableError(
            f"{path} is not a space cache of format {SPACE_FORMAT} "
            f"(or an upgradable one: {list(UPGRADABLE_FORMATS)})"
        )
    if len(arrays["hashes"]) != NUM_CELLS:
        raise TableError(f"{path} holds {len(arrays['hashes'])} cells, expected {NUM_CELLS}")
    return arrays, space_format


def write_space_file(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> Path:
    """Write the :data:`SPACE_ARRAYS` of ``arrays`` as a cache file of the current format
    (atomically)."""
    path = user_path(path)
    atomic_savez(
        path, format=np.array(SPACE_FORMAT), **{name: arrays[name] for name in SPACE_ARRAYS}
    )
    return path
