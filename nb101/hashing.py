"""The exact NAS-Bench-101 module fingerprint (``graph_util.hash_module``).

The hash is an iterated md5 over (out-degree, in-degree, label) vertex hashes; it must match
the official one bit for bit, so every quantity is turned into a Python ``int`` before it is
formatted (with numpy >= 2, ``str((np.int64(3),))`` prints ``np.int64(3)``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

__all__ = ["hash_module", "hash_rows"]


_INITIAL: dict[tuple[int, int, int], str] = {}


def _initial_hash(key: tuple[int, int, int]) -> str:
    digest = _INITIAL.get(key)
    if digest is None:
        digest = _INITIAL[key] = hashlib.md5(str(key).encode("utf-8")).hexdigest()
    return digest


def hash_module(matrix: np.ndarray | Sequence[Sequence[int]], labeling: Sequence[int]) -> str:
    """Return the 32-hex-digit fingerprint of a labelled DAG.

    Parameters
    ----------
    matrix : array-like of shape (V, V)
        0/1 upper-triangular adjacency matrix of the pruned cell (any integer or bool dtype).
    labeling : sequence of int
        ``-1`` for the input, ``-2`` for the output, ``0/1/2`` for conv3x3, conv1x1, maxpool.

    Returns
    -------
    str
        The md5 hexdigest used as module hash by NAS-Bench-101.
    """
    rows = np.asarray(matrix).tolist()
    return hash_rows(rows, [int(x) for x in labeling])


def hash_rows(rows: list[list[int]], labels: list[int]) -> str:
    """:func:`hash_module` on plain Python lists (the enumeration's fast path)."""
    md5 = hashlib.md5
    n = len(rows)
    succ = [[w for w in range(n) if rows[v][w]] for v in range(n)]
    pred = [[w for w in range(n) if rows[w][v]] for v in range(n)]
    # (out-degree, in-degree, label) as a tuple of Python ints, exactly as the original
    hashes = [_initial_hash((len(succ[v]), len(pred[v]), int(labels[v]))) for v in range(n)]
    for _ in range(n):
        hashes = [
            md5(
                (
                    "".join(sorted([hashes[w] for w in pred[v]]))
                    + "|"
                    + "".join(sorted([hashes[w] for w in succ[v]]))
                    + "|"
                    + hashes[v]
                ).encode("utf-8")
            ).hexdigest()
            for v in range(n)
        ]
    return md5(str(sorted(hashes)).encode("utf-8")).hexdigest()
