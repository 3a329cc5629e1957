"""Download the official NAS-Bench-101 dataset files and convert them into tables.

The two official files (facts section 1.1; ``google-research/nasbench`` README):

==========  =============================  ========  ========================
name        file                           size      budgets
==========  =============================  ========  ========================
``only108`` ``nasbench_only108.tfrecord``  ~499 MB   108 epochs
``full``    ``nasbench_full.tfrecord``     ~1.95 GB  4, 12, 36 and 108 epochs
==========  =============================  ========  ========================

:func:`download` fetches one with :func:`fetch` into the cache folder (``$NB101_CACHE``,
else ``~/.cache/nb101-surrogate``) and converts it with :func:`nb101.convert_tfrecord` into
``<cache>/nasbench_<name>-v<table format>.npz``, the table that ``TabularBenchmark`` reads.

:func:`fetch` writes ``<file>.part`` and resumes it with an HTTP ``Range`` request after an
interrupted transfer (in the same call, a bounded number of times, or in a later call); it
checks the size the server announced (``Content-Length`` / ``Content-Range``) and the SHA256
of the whole file, and only then renames it to its final name. A file whose digest is wrong
is deleted and :class:`ChecksumError` names it and both digests. ``--url`` and ``--sha256``
(or the arguments of the same names) point at a mirror, including a ``file://`` URL.

Example
-------
>>> from nb101.download import download
>>> tfrecord, table = download("only108")          # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .cell_space import default_cache_path
from .paths import user_path

__all__ = [
    "OfficialFile",
    "OFFICIAL_FILES",
    "DownloadError",
    "ChecksumError",
    "fetch",
    "download",
    "default_table_path",
    "resolve_official_file",
]

_log = logging.getLogger(__name__)

_CHUNK = 1 << 20


@dataclass(frozen=True)
class OfficialFile:
    """One official dataset file: its name, address, SHA256 and size as stated."""

    name: str
    url: str
    sha256: str
    size: str


#: The official files by short name (facts section 1.1).
OFFICIAL_FILES = {
    "only108": OfficialFile(
        "nasbench_only108.tfrecord",
        "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord",
        "4c39c3936e36a85269881d659e44e61a245babcb72cb374eacacf75d0e5f4fd1",
        "~499 MB",
    ),
    "full": OfficialFile(
        "nasbench_full.tfrecord",
        "https://storage.googleapis.com/nasbench/nasbench_full.tfrecord",
        "3d64db8180fb1b0207212f9032205064312b6907a3bbc81eabea10db2f5c7e9c",
        "~1.95 GB",
    ),
}


class DownloadError(OSError):
    """A transfer that failed or gave a file other than the one announced."""


class ChecksumError(DownloadError):
    """A file whose SHA256 is not the expected one."""

    def __init__(self, path: Path, expected: str, got: str, *, deleted: bool):
        what = "the download was deleted" if deleted else "delete it to download it again"
        super().__init__(
            f"{path}: SHA256 mismatch: expected {expected}, got {got}; {what} "
            f"(a mirror with another file? give its --sha256)"
        )
        self.path, self.expected, self.got = path, expected, got


def resolve_official_file(which: str) -> OfficialFile:
    """The :data:`OFFICIAL_FILES` entry named ``which``.

    Raises
    ------
    ValueError
        If there is none: "unknown official file 'x'; choices: [...]".
    """
    try:
        return OFFICIAL_FILES[which]
    except KeyError:
        raise ValueError(
            f"unknown official file {which!r}; choices: {sorted(OFFICIAL_FILES)}"
        ) from None


def default_table_path(which: str) -> Path:
    """``<cache>/nasbench_<which>-v<TABLE_FORMAT>.npz``, where :func:`download` writes."""
    from .tabular_benchmark import TABLE_FORMAT

    resolve_official_file(which)
    return default_cache_path().parent / f"nasbench_{which}-v{TABLE_FORMAT}.npz"


def _check_sha256(sha256: str) -> str:
    digest = sha256.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ValueError(f"sha256 must be 64 hex digits, got {sha256!r}")
    return digest


def _file_sha256(path: Path) -> Any:
    hasher = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            hasher.update(block)
    return hasher


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


#: Failures after which the next attempt may succeed (resuming the part file).
_TRANSIENT = (
    TimeoutError,
    ConnectionResetError,
    ConnectionAbortedError,
    BrokenPipeError,
    http.client.IncompleteRead,
)


class _Interrupted(Exception):
    """An attempt that ended early; the next one resumes the ``.part`` file."""


def fetch(
    url: str,
    dest: str | os.PathLike,
    sha256: str,
    *,
    progress: bool = False,
    timeout: float = 60.0,
    retries: int = 5,
    backoff: float = 1.0,
) -> Path:
    """Download ``url`` to ``dest``, resuming ``dest.part``, and check size and SHA256.

    Parameters
    ----------
    url : str
        ``http(s)://`` or ``file://`` address.
    dest : path-like
        Final file; written only once the whole file has the expected digest. If it already
        exists, it is only verified.
    sha256 : str
        Expected SHA256 (64 hex digits).
    progress : bool
        Show a tqdm progress bar (bytes).
    timeout : float
        Seconds without data before an attempt counts as interrupted.
    retries : int
        Interrupted attempts in a row, without new data, before giving up; every attempt
        resumes where the last one stopped.
    backoff : float
        Seconds before the first retry, doubled for each further one (at most 60).

    Returns
    -------
    Path
        ``dest``.

    Raises
    ------
    ChecksumError
        If the file's SHA256 is not ``sha256`` (a new download is deleted, never renamed to
        ``dest``).
    DownloadError
        If the server refuses the file or sends more bytes than it announced, if the
        address cannot be reached, or if ``retries`` attempts in a row are interrupted.
    """
    expected = _check_sha256(sha256)
    dest = user_path(dest)
    if dest.exists():
        got = _file_sha256(dest).hexdigest()
        if got != expected:
            raise ChecksumError(dest, expected, got, deleted=False)
        _log.info("%s is already there (SHA256 checked)", dest)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc=dest.name)
    try:
        failures = 0
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            before = _size(part)
            try:
                hasher = _attempt(url, part, timeout, bar)
                break
            except _Interrupted as exc:
                failures = 0 if _size(part) > before else failures + 1
                if failures > retries or attempt == _MAX_ATTEMPTS:
                    raise DownloadError(
                        f"{url}: gave up after {attempt} attempts ({exc}); "
                        f"run again to resume {part}"
                    ) from exc
                wait = min(backoff * 2 ** max(failures - 1, 0), 60.0)
                _log.warning(
                    "%s: interrupted at byte %d (%s); resuming in %.0f s",
                    url,
                    _size(part),
                    exc,
                    wait,
                )
                time.sleep(wait)
    finally:
        if bar is not None:
            bar.close()
    got = hasher.hexdigest()
    if got != expected:
        _unlink(part)
        raise ChecksumError(dest, expected, got, deleted=True)
    os.replace(part, dest)
    return dest


_MAX_ATTEMPTS = 1000  # a hard bound, beyond the retries without progress
_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+)")


def _open(url: str, part: Path, timeout: float):
    """The response to a GET from the end of ``part``; None if ``part`` is already whole."""
    offset = _size(part)
    headers = {"User-Agent": "nb101-surrogate", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send, or the part is too long
            match = _CONTENT_RANGE.fullmatch((exc.headers.get("Content-Range") or "").strip())
            if match and int(match.group(3)) == offset:
                return None
            _unlink(part)
            raise _Interrupted(
                f"HTTP 416: {part} ({offset} bytes) is longer than the file; starting again"
            ) from exc
        if exc.code in (408, 429) or exc.code >= 500:
            raise _Interrupted(f"HTTP {exc.code} {exc.reason}") from exc
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, _TRANSIENT):
            raise _Interrupted(str(exc.reason)) from exc
        raise DownloadError(f"{url}: {exc.reason}") from exc
    except _TRANSIENT as exc:
        raise _Interrupted(str(exc)) from exc
    except (http.client.HTTPException, OSError) as exc:
        raise DownloadError(f"{url}: {exc}") from exc


def _attempt(url: str, part: Path, timeout: float, bar) -> Any:
    """One request that resumes ``part``; the SHA256 hasher of the whole file once complete.

    Raises
    ------
    _Interrupted
        If the transfer ended early or the connection failed in a way worth retrying.
    """
    offset = _size(part)
    response = _open(url, part, timeout)
    if response is None:
        return _file_sha256(part)
    with response:
        status = getattr(response, "status", None) or 200  # file:// answers without one
        if status == 206:
            content_range = (response.headers.get("Content-Range") or "").strip()
            match = _CONTENT_RANGE.fullmatch(content_range)
            if not match or match.group(1) is None or int(match.group(1)) != offset:
                raise DownloadError(
                    f"{url}: answered a request from byte {offset} with "
                    f"Content-Range {content_range!r}"
                )
            total, hasher, mode = int(match.group(3)), _file_sha256(part), "ab"
        else:  # the whole file: nothing to resume, or a server that ignores ranges
            if offset:
                _log.warning("%s: the server sent the whole file; starting again", url)
            length = response.headers.get("Content-Length")
            total = int(length) if length is not None else None
            offset, hasher, mode = 0, hashlib.sha256(), "wb"
        if bar is not None:
            bar.reset(total=total)
            bar.update(offset)
        received, too_long = offset, False
        with open(part, mode) as fh:
            while True:
                try:
                    block = response.read(_CHUNK)
                except _TRANSIENT as exc:
                    raise _Interrupted(f"{type(exc).__name__} at byte {received}") from exc
                if not block:
                    break
                received += len(block)
                if total is not None and received > total:
                    too_long = True
                    break
                fh.write(block)
                hasher.update(block)
                if bar is not None:
                    bar.update(len(block))
    if too_long:
        _unlink(part)
        raise DownloadError(f"{url}: sent more than the {total} bytes it announced")
    if total is not None and received < total:
        raise _Interrupted(f"connection closed at byte {received} of {total}")
    return hasher


def download(
    which: str = "only108",
    *,
    url: str | None = None,
    sha256: str | None = None,
    download_dir: str | os.PathLike | None = None,
    out: str | os.PathLike | None = None,
    convert: bool = True,
    progress: bool = False,
    retries: int = 5,
    backoff: float = 1.0,
) -> tuple[Path, Path | None]:
    """Fetch an official file (:data:`OFFICIAL_FILES`) and convert it into a table.

    Parameters
    ----------
    which : {"only108", "full"}
    url, sha256 : str, optional
        A mirror and its file's SHA256 (default: the official address and digest).
    download_dir : path-like, optional
        Folder of the ``.tfrecord`` (default: the cache folder, ``$NB101_CACHE``).
    out : path-like, optional
        Table to write (default :func:`default_table_path`).
    convert : bool
        Convert into a table (with :func:`nb101.convert_tfrecord`) after the download; an
        existing table is kept.
    progress : bool
        Progress bars for the download and the conversion.
    retries, backoff
        See :func:`fetch`.

    Returns
    -------
    (Path, Path or None)
        The ``.tfrecord`` file and the table (None without ``convert``).
    """
    official = resolve_official_file(which)
    folder = user_path(download_dir) if download_dir is not None else default_cache_path().parent
    tfrecord = fetch(
        url or official.url,
        folder / official.name,
        sha256 if sha256 is not None else official.sha256,
        progress=progress,
        retries=retries,
        backoff=backoff,
    )
    if not convert:
        return tfrecord, None
    table = user_path(out) if out is not None else default_table_path(which)
    if table.exists():
        _log.info("%s is already there; delete it to convert again", table)
        return tfrecord, table
    from . import convert_tfrecord

    return tfrecord, convert_tfrecord(tfrecord, table, progress=progress)
