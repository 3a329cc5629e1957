"""The surrogate's opener for :func:`nb101.openers.open_benchmark` (and so for
``nb101.compat.api.NASBench``), registered through the ``nb101.openers`` entry-point group.

Sources it accepts:

* ``"surrogate"`` or ``"surrogate:default"``: the bundled default artifact;
* ``"surrogate:<folder>"``: the artifact in ``<folder>``;
* a folder holding a ``metadata.json``: an artifact folder (a broken one raises
  :class:`nb101.ArtifactError`, it is not passed on to other openers).

The benchmark is a :class:`surrogate.SurrogateBenchmark` with its defaults: simulated
training runs (``noise=True``, three per cell and budget, as the official table's repeats)
and ``seed`` drawing which run each query returns.

Example
-------
>>> from nb101.compat import api
>>> nasbench = api.NASBench("surrogate", seed=0)        # doctest: +SKIP
"""

from __future__ import annotations

import os
from typing import Any

from nb101.paths import user_path

__all__ = ["DEFAULT_NAMES", "open_artifact"]

#: Names of the bundled default artifact.
DEFAULT_NAMES = ("surrogate", "surrogate:default")
_PREFIX = "surrogate:"


def open_artifact(source: Any, seed: int | None = None):
    """A :class:`surrogate.SurrogateBenchmark` for ``source``, or None if it is not a
    surrogate source (see the module docstring).

    Raises
    ------
    ArtifactError
        If ``source`` names an artifact that is missing, stale or corrupt.
    """
    text = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    if not isinstance(text, str):
        return None
    if text in DEFAULT_NAMES:
        path = None
    elif text.startswith(_PREFIX):
        path = user_path(text[len(_PREFIX) :])  # load_artifact names what is missing
    else:
        path = user_path(text)
        if not (path.is_dir() and (path / "metadata.json").is_file()):
            return None
    from .surrogate_benchmark import SurrogateBenchmark

    return SurrogateBenchmark(path, seed=seed)
