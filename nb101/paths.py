"""Paths given by users (arguments, options, environment variables).

Every entry point that takes a path from a user passes it through :func:`user_path`, so
``~`` means the home folder everywhere (``TabularBenchmark("~/.cache/...")``,
``NB101_CACHE=~/nb101``, ``nb101 download --out ~/data/...``), as it does in a shell.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["user_path"]


def user_path(path: str | os.PathLike) -> Path:
    """``path`` as a :class:`~pathlib.Path` with a leading ``~`` or ``~user`` expanded."""
    return Path(os.fspath(path)).expanduser()
