"""``nasbench.lib.graph_util`` without TensorFlow: edge bits, DAG checks, the hash, isomorphism.

The public names and semantics of the original module, reimplemented from the facts of the
format (``shared/docs/nb101_facts.md`` section 3)::

    from nb101.compat import graph_util

    matrix = np.fromfunction(graph_util.gen_is_edge_fn(bits), (v, v), dtype=np.int8)
    graph_util.is_full_dag(matrix)             # every vertex on an input -> output path
    graph_util.num_edges(matrix)
    graph_util.hash_module(matrix, labeling)   # the official module hash (nb101.hash_module)
    graph_util.permute_graph(matrix, labels, permutation)
    graph_util.is_isomorphic((m1, l1), (m2, l2))

Differences from the original, all on inputs the original mishandles: a malformed
permutation or two graphs of different sizes raise ``ValueError`` (the original indexes out
of range or fails an ``assert``); ``num_edges`` returns a Python ``int``; ``hash_module``
takes integer labels (the hash formats them as Python ints, so numpy >= 2 scalars hash as the
original did with numpy 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..hashing import hash_module

__all__ = [
    "gen_is_edge_fn",
    "is_upper_triangular",
    "is_full_dag",
    "num_edges",
    "hash_module",
    "permute_graph",
    "is_isomorphic",
]


def gen_is_edge_fn(bits: int) -> Callable[[Any, Any], np.ndarray]:
    """Edge test of an edge-bit pattern, for ``np.fromfunction``.

    Edge ``(x, y)`` with ``x < y`` is present iff bit ``x + y * (y - 1) // 2`` of ``bits`` is
    set: the upper triangle filled column by column from the least significant bit, so
    ``(0, 1)`` is bit 0, ``(0, 2)`` bit 1, ``(1, 2)`` bit 2, ``(0, 3)`` bit 3, ... The same
    bits describe the same edges for every matrix size.

    Parameters
    ----------
    bits : int
        The bit mask (``nb101.model_spec.edge_bits`` is its inverse).

    Returns
    -------
    callable
        ``is_edge(x, y)`` on vertex indices (scalars or arrays, broadcast together) that
        returns an ``int8`` array of 0/1.

    Examples
    --------
    >>> np.fromfunction(gen_is_edge_fn(5), (3, 3), dtype=np.int8).tolist()
    [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    """
    mask = int(bits)
    if mask < 0:
        raise ValueError(f"bits must be a non-negative integer, got {bits!r}")

    def is_edge(x, y) -> np.ndarray:
        # Python ints: the bit index of a large matrix overflows the int8 indices
        # np.fromfunction passes in, and so would a shift of the mask by them
        xs, ys = np.broadcast_arrays(np.asarray(x), np.asarray(y))
        out = np.zeros(xs.shape, dtype=np.int8)
        for where in np.ndindex(xs.shape):
            src, dst = int(xs[where]), int(ys[where])
            if 0 <= src < dst:
                out[where] = (mask >> (src + dst * (dst - 1) // 2)) & 1
        return out

    return is_edge


def is_upper_triangular(matrix) -> bool:
    """True if the matrix is 0 on and below the diagonal (a DAG in topological order).

    Examples
    --------
    >>> is_upper_triangular([[0, 1], [0, 0]]), is_upper_triangular([[1]])
    (True, False)
    """
    array = np.asarray(matrix)
    if array.ndim != 2:
        return False
    return not np.tril(array).any()


def is_full_dag(matrix) -> bool:
    """True if every vertex lies on an input -> output path of an upper-triangular matrix.

    For a DAG in topological order this is: no all-zero row but the last (only the output
    has no out-edge) and no all-zero column but the first (only the input has no in-edge).

    Examples
    --------
    >>> is_full_dag([[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    True
    >>> is_full_dag([[0, 1, 1], [0, 0, 0], [0, 0, 0]])   # vertex 1 reaches no output
    False
    """
    array = np.asarray(matrix)
    dead_end = ~array[:-1, :].any(axis=1)
    unreached = ~array[:, 1:].any(axis=0)
    return not (dead_end.any() or unreached.any())


def num_edges(matrix) -> int:
    """Number of edges (the sum of the 0/1 matrix)."""
    return int(np.sum(matrix))


def _inverse(permutation: Sequence[int], n: int) -> list[int]:
    perm = [int(p) for p in permutation]
    if sorted(perm) != list(range(n)):
        raise ValueError(f"permutation must hold each of 0..{n - 1} once, got {perm}")
    inverse = [0] * n
    for old, new in enumerate(perm):
        inverse[new] = old
    return inverse


def permute_graph(graph, label: Sequence, permutation: Sequence[int]) -> tuple[np.ndarray, list]:
    """Relabel the vertices of a directed graph (cycles and self-loops allowed).

    Parameters
    ----------
    graph : array-like of shape (V, V)
        Adjacency matrix; an entry equal to 1 is an edge.
    label : sequence of length V
        Vertex labels (any values).
    permutation : sequence of int
        ``permutation[v]`` is the new index of old vertex ``v``.

    Returns
    -------
    matrix : ndarray of bool, shape (V, V)
        ``matrix[permutation[v], permutation[w]]`` is the edge ``v -> w`` of ``graph``.
    labels : list
        ``labels[permutation[v]] == label[v]``.

    Raises
    ------
    ValueError
        If ``permutation`` is not a permutation of ``0..V-1`` or the sizes differ.

    Examples
    --------
    >>> permute_graph([[1, 1, 0], [0, 0, 1], [1, 0, 1]], ['a', 'b', 'c'], [2, 0, 1])[1]
    ['b', 'c', 'a']
    """
    matrix = np.asarray(graph)
    n = len(label)
    if matrix.shape != (n, n):
        raise ValueError(f"graph must be {n}x{n} to match {n} labels, got shape {matrix.shape}")
    inverse = _inverse(permutation, n)
    new_matrix = matrix[np.ix_(inverse, inverse)] == 1
    return new_matrix, [label[old] for old in inverse]


def is_isomorphic(graph1: tuple[Any, Sequence], graph2: tuple[Any, Sequence]) -> bool:
    """True iff some vertex permutation maps ``(matrix1, labels1)`` exactly onto
    ``(matrix2, labels2)``; the exhaustive test oracle of the hash.

    Input and output are not pinned (any vertex may map to any vertex), as in the original.
    The search walks the permutations vertex by vertex and abandons a partial one as soon as
    an assigned pair disagrees (label, degrees, an edge or a self-loop): the answer is the
    one of trying all ``V!`` permutations, found without visiting each of them.

    Parameters
    ----------
    graph1, graph2 : (matrix, labels)
        Square adjacency matrices (an entry equal to 1 is an edge) and vertex labels.

    Raises
    ------
    ValueError
        If the two graphs differ in size or a matrix does not match its labels.
    """
    a = np.asarray(graph1[0])
    b = np.asarray(graph2[0])
    labels1, labels2 = list(graph1[1]), list(graph2[1])
    n = len(labels1)
    if a.shape != (n, n) or b.shape != (len(labels2),) * 2:
        raise ValueError(
            f"each matrix must be VxV for its V labels, got shapes {a.shape} "
            f"and {b.shape} for {n} and {len(labels2)} labels"
        )
    if a.shape != b.shape:
        raise ValueError(f"graphs of different sizes: {a.shape} and {b.shape}")
    if not np.isin(b, (0, 1)).all():
        return False  # a permuted graph holds only edges (1) and non-edges (0)
    edges1 = (a == 1).tolist()
    edges2 = (b == 1).tolist()
    out1, in1 = [sum(r) for r in edges1], [sum(c) for c in zip(*edges1)]
    out2, in2 = [sum(r) for r in edges2], [sum(c) for c in zip(*edges2)]
    image = [-1] * n
    used = [False] * n

    def extend(v: int) -> bool:
        if v == n:
            return True
        for w in range(n):
            if used[w] or labels1[v] != labels2[w] or out1[v] != out2[w] or in1[v] != in2[w]:
                continue
            if edges1[v][v] != edges2[w][w]:
                continue
            if any(
                edges1[u][v] != edges2[image[u]][w] or edges1[v][u] != edges2[w][image[u]]
                for u in range(v)
            ):
                continue
            image[v], used[w] = w, True
            if extend(v + 1):
                return True
            used[w] = False
        return False

    return extend(0)
