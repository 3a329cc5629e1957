"""The project's one way to write files: atomically, with the usual modes, JSON strict.

* :func:`atomic_path` yields a temporary file beside the target and renames it onto the target
  only when the block succeeds, so a reader never sees half a file and a failed write leaves
  the old file in place. :func:`atomic_savez` is ``np.savez`` through it.
* :func:`atomic_folder` does the same for a folder (e.g. a surrogate artifact): the block fills
  a temporary sibling folder, which replaces an existing folder only at the end.
* :func:`write_json` writes strict JSON (:func:`to_jsonable`, then no NaN/Infinity tokens)
  atomically.
* :func:`open_npz` and :func:`load_npy` are the one way to read arrays (``np.load``, no pickle)
  from several threads: numpy parses every ``.npy`` header with ``ast.literal_eval``, and
  CPython 3.11 can raise ``SystemError: AST constructor recursion depth mismatch`` when two
  threads build ASTs at once (python/cpython#106905), so these readers take one process lock.

Temporary files and folders are created with ``os.open(..., 0o666)`` and ``os.mkdir(..., 0o777)``
so the kernel applies the process umask: the result has the mode a plain ``open`` or ``mkdir``
would give, without reading the umask (``os.umask`` can only be read by setting it, which
changes it for every thread of the process for a moment).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "atomic_path",
    "atomic_savez",
    "atomic_folder",
    "write_json",
    "to_jsonable",
    "open_npz",
    "load_npy",
]

_ATTEMPTS = 100
_READ_LOCK = threading.RLock()  # see the module docstring (numpy headers, CPython 3.11)


def _unique_sibling(path: Path, suffix: str, create: Callable[[Path], None]) -> Path:
    """Create (with ``create``) a new hidden sibling ``.<name>.<random><suffix>`` of ``path``."""
    for _ in range(_ATTEMPTS):
        candidate = path.parent / f".{path.name}.{secrets.token_hex(4)}{suffix}"
        try:
            create(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(
        f"could not create a temporary sibling of {path} after {_ATTEMPTS} attempts"
    )


def _create_file(path: Path) -> None:
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))


def _create_folder(path: Path) -> None:
    os.mkdir(path, 0o777)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a new empty temporary file beside ``path``; it replaces ``path`` only if the
    block succeeds (else it is deleted and ``path`` is left as it was).

    Parameters
    ----------
    path : path-like
        The target file; its folder is created if needed.
    suffix : str
        Suffix of the temporary name (some writers, e.g. matplotlib, pick the format by it).

    Examples
    --------
    >>> with atomic_path("out.txt") as tmp:          # doctest: +SKIP
    ...     tmp.write_text("done")
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _unique_sibling(path, suffix, _create_file)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_savez(path: str | os.PathLike, **arrays: np.ndarray) -> None:
    """``np.savez`` (uncompressed, no pickle) written atomically."""
    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


@contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new empty temporary folder beside ``path``; when the block succeeds it is
    renamed onto ``path``, replacing what was there only then. On an error the temporary
    folder is deleted and ``path`` is left as it was.

    Parameters
    ----------
    path : path-like
        The target folder; its parent is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _unique_sibling(path, ".tmp", _create_folder)
    try:
        yield tmp
        old = None
        if os.path.lexists(path):
            # nothing can be renamed onto a non-empty folder: move the old one aside first,
            # onto a fresh placeholder of its own kind
            is_folder = path.is_dir() and not path.is_symlink()
            old = _unique_sibling(path, ".old", _create_folder if is_folder else _create_file)
            os.replace(path, old)
        try:
            os.replace(tmp, path)
        except BaseException:
            if old is not None:
                os.replace(old, path)
            raise
        if old is not None:
            _remove(old)
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy arrays and scalars, paths and mapping keys made JSON-safe;
    NaN and infinities become ``None`` (strict JSON has no such numbers)."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def write_json(path: str | os.PathLike, obj: Any, **kwargs: Any) -> Path:
    """Write ``obj`` as strict JSON atomically: :func:`to_jsonable`, then ``json.dumps``
    with ``allow_nan=False`` and ``kwargs`` (e.g. ``indent``), plus a final newline.

    Returns
    -------
    Path

    Raises
    ------
    TypeError
        If ``obj`` holds a value JSON cannot represent (the file is not written).
    """
    path = Path(path)
    text = json.dumps(to_jsonable(obj), allow_nan=False, **kwargs) + "\n"
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


@contextmanager
def open_npz(path: str | os.PathLike) -> Iterator[Any]:
    """``np.load(path, allow_pickle=False)`` of an ``.npz``, held open (and the read lock held)
    for the block, so its members are read (and their headers parsed) one thread at a time."""
    with _READ_LOCK, np.load(path, allow_pickle=False) as data:
        yield data


def load_npy(path: str | os.PathLike) -> np.ndarray:
    """``np.load(path, allow_pickle=False)`` of one ``.npy`` array, under the read lock."""
    with _READ_LOCK:
        return np.load(path, allow_pickle=False)
