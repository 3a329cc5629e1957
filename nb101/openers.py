"""Open any NAS-Bench-101 data source as a :class:`nb101.protocol.Benchmark`, by path or name.

``open_benchmark(source, seed=None)`` accepts what ``nasbench.api.NASBench(dataset_file)``
accepted and more:

* an official dataset file (``nasbench_full.tfrecord`` / ``nasbench_only108.tfrecord``,
  recognised by its TFRecord framing or its suffix): converted ONCE into a table in the
  project cache folder (``$NB101_CACHE`` or ``~/.cache/nb101-surrogate``), as
  ``tfrecord-v<table format>-<size>-<sha256>.npz``, with a tqdm progress bar; later opens of
  the same bytes (anywhere on disk) hash the file and load the cached table;
* a table file written by this project (``nb101 convert``, :func:`nb101.write_table`);
* anything a higher layer registers an opener for, e.g. a surrogate artifact folder or the
  name ``"surrogate"`` for the bundled default surrogate (registered by ``surrogate``).

Openers are callables ``opener(source, seed) -> Benchmark | None`` that return None when the
source is not theirs. The built-in ones (:data:`OPENERS`) are tried first; then those that
packages declare in the entry-point group :data:`OPENER_GROUP` (``nb101.openers``, loaded
on first need, in name order), so this layer never imports the layers above it. Tests and
plugins without package metadata call :func:`register_opener`.

Example
-------
>>> bench = open_benchmark("nasbench_only108.tfrecord", seed=0)   # doctest: +SKIP
>>> bench = open_benchmark("surrogate", seed=0)                    # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import TableError
from .paths import user_path
from .protocol import Benchmark

__all__ = [
    "OPENER_GROUP",
    "OPENERS",
    "Opener",
    "open_benchmark",
    "openers",
    "register_opener",
    "open_table",
    "open_tfrecord",
    "cache_folder",
    "tfrecord_cache_path",
    "file_sha256",
]

_log = logging.getLogger(__name__)

#: Entry-point group through which packages register openers (name -> ``module:function``).
OPENER_GROUP = "nb101.openers"

Opener = Callable[[Any, int | None], Benchmark | None]

_ZIP_MAGIC = b"PK\x03\x04"
_HASH_BLOCK = 8 << 20


def _as_path(source: Any) -> Path | None:
    if isinstance(source, (str, os.PathLike)):
        return user_path(source)
    return None


def _progress(progress: bool | None) -> bool:
    """Progress bars are on by default on a terminal."""
    return sys.stderr.isatty() if progress is None else bool(progress)


# ----------------------------------------------------------------------- built-in openers
def open_table(source: Any, seed: int | None = None):
    """A table file (an uncompressed ``.npz``) as :class:`nb101.TabularBenchmark`, else None.

    Raises
    ------
    TableError
        If the file is a zip archive but not a table of this project's format.
    """
    path = _as_path(source)
    if path is None or not path.is_file():
        return None
    with open(path, "rb") as fh:
        if fh.read(4) != _ZIP_MAGIC:
            return None
    from .tabular_benchmark import TabularBenchmark

    return TabularBenchmark(path, seed=seed)


def _looks_like_tfrecord(path: Path) -> bool:
    from .tfrecord import masked_crc32c

    with open(path, "rb") as fh:
        head = fh.read(12)
    return len(head) == 12 and int.from_bytes(head[8:], "little") == masked_crc32c(head[:8])


def open_tfrecord(source: Any, seed: int | None = None):
    """An official ``.tfrecord`` as :class:`nb101.TabularBenchmark`, else None.

    The file is converted once (:func:`nb101.convert_tfrecord`) into
    :func:`tfrecord_cache_path`; a cached table that does not load is converted again.
    Progress bars (hashing, converting) show on a terminal.

    Raises
    ------
    RecordError
        If the file breaks the official format.
    """
    path = _as_path(source)
    if path is None or not path.is_file():
        return None
    if path.suffix != ".tfrecord" and not _looks_like_tfrecord(path):
        return None
    from .convert import convert_tfrecord
    from .tabular_benchmark import TabularBenchmark

    cached = tfrecord_cache_path(path)
    if cached.is_file():
        try:
            return TabularBenchmark(cached, seed=seed)
        except TableError as exc:
            _log.warning(
                "cached table %s of %s does not load (%s); converting again", cached, path, exc
            )
    _log.info("converting %s into %s (once)", path, cached)
    convert_tfrecord(path, cached, progress=_progress(None))
    return TabularBenchmark(cached, seed=seed)


def file_sha256(path: str | os.PathLike, *, progress: bool | None = None) -> str:
    """SHA-256 hex digest of a file, read in blocks (a tqdm bar over the bytes)."""
    path = Path(path)
    digest = hashlib.sha256()
    from tqdm.auto import tqdm

    with (
        open(path, "rb") as fh,
        tqdm(
            total=path.stat().st_size,
            unit="B",
            unit_scale=True,
            desc=f"hashing {path.name}",
            disable=not _progress(progress),
        ) as bar,
    ):
        while block := fh.read(_HASH_BLOCK):
            digest.update(block)
            bar.update(len(block))
    return digest.hexdigest()


def cache_folder() -> Path:
    """The project cache folder (``$NB101_CACHE`` or ``~/.cache/nb101-surrogate``), beside
    the space cache."""
    from .cell_space import default_cache_path

    return default_cache_path().parent


def tfrecord_cache_path(path: str | os.PathLike, *, progress: bool | None = None) -> Path:
    """Where the table converted from an official file goes: the project cache folder,
    keyed by the file's size and SHA-256 (and the table format)."""
    from .table_file import TABLE_FORMAT

    size = Path(path).stat().st_size
    digest = file_sha256(path, progress=progress)
    return cache_folder() / f"tfrecord-v{TABLE_FORMAT}-{size}-{digest}.npz"


#: Built-in openers, tried first, in this order. Extend with :func:`register_opener`.
OPENERS: dict[str, Opener] = {"table": open_table, "tfrecord": open_tfrecord}
_BUILTIN = frozenset(OPENERS)
_plugins_loaded = False


def register_opener(name: str, opener: Opener) -> None:
    """Add (or replace) an opener; it is tried after the built-in ones."""
    if not callable(opener):
        raise TypeError(f"opener {name!r} must be callable, got {type(opener).__name__}")
    OPENERS[name] = opener


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    from importlib.metadata import entry_points

    for entry in sorted(entry_points(group=OPENER_GROUP), key=lambda e: e.name):
        if entry.name not in OPENERS:
            OPENERS[entry.name] = entry.load()
    _plugins_loaded = True


def openers() -> dict[str, Opener]:
    """Every opener: the built-in ones, then the registered ones (entry points loaded)."""
    _load_plugins()
    return dict(OPENERS)


def open_benchmark(source: Any, seed: int | None = None) -> Benchmark:
    """Open a data source (see the module docstring) as a benchmark.

    Parameters
    ----------
    source : path-like or str
        An official ``.tfrecord``, a table file, or what a registered opener accepts
        (``"surrogate"``, a surrogate artifact folder, ...).
    seed : int, optional
        Seeds the benchmark's own generator, which draws the run of each query.

    Returns
    -------
    Benchmark

    Raises
    ------
    FileNotFoundError
        If no opener accepts ``source`` and it is not an existing path.
    TableError
        If ``source`` is an existing file or folder that no opener accepts.
    RecordError, ArtifactError
        From the opener that claimed the source, if it is malformed.
    """
    # the built-in openers first: opening a table or a .tfrecord never loads a plugin
    for name in [name for name in OPENERS if name in _BUILTIN]:
        bench = OPENERS[name](source, seed)
        if bench is not None:
            return bench
    for name, opener in openers().items():
        if name not in _BUILTIN:
            bench = opener(source, seed)
            if bench is not None:
                return bench
    path = _as_path(source)
    what = (
        "an official .tfrecord, a table file (.npz) or a source of one of the registered "
        f"openers {list(OPENERS)} (e.g. 'surrogate' or a surrogate artifact folder, where "
        "the surrogate package is installed)"
    )
    if path is not None and path.exists():
        raise TableError(f"cannot open {source!r}: it is not {what}")
    raise FileNotFoundError(
        f"cannot open {source!r}: no such file or folder, and no opener "
        f"recognises the name; expected {what}"
    )
