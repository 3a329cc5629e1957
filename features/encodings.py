"""Fixed-length encodings of NAS-Bench-101 cells: adjacency and path (BANANAS) encodings.

Every encoding is a float32 vector of fixed length computed from the *pruned* cell. The
vectorised ``*_dense`` functions take the arrays of :meth:`nb101.CellSpace.dense` (the
pruned cell in the top-left V x V block, the output at V-1, labels -1 input, -2 output,
0/1/2 = index in :data:`nb101.OPS`, -3 absent) and are what the featurizers use for the
whole space; the ``encode_*(spec)`` functions are their single-cell counterparts.

Adjacency encoding (:data:`ADJACENCY_DIM` = 36)
    The pruned V x V matrix is padded to 7 x 7 by inserting the missing vertices *before* the
    output, so the output is always vertex 6 (the input vertex 0). Values 0..20 are the 21
    upper-triangle bits in row-major order (``np.triu_indices(7, 1)``: (0,1), (0,2), ...,
    (0,6), (1,2), ..., (5,6)); values 21..35 are the one-hot ops of the interior vertices
    1..5, three per vertex in :data:`nb101.OPS` order (conv3x3, conv1x1, maxpool3x3).
    Padded vertices have all-zero rows, columns and one-hot. The encoding follows the given
    vertex order, so isomorphic specs can differ; :meth:`CellSpace.spec` gives the canonical
    representative, which is what the featurizers encode.

Path encoding (:data:`PATH_DIM` = 364)
    One value per possible input-to-output path, written as the sequence of interior ops
    along it (0 to 5 ops, 3**0 + ... + 3**5 = 364 sequences), 1.0 if the cell has at least
    one such path. Index order: by length, then lexicographically in op index (first op most
    significant), i.e. ``path_index(ops) = (3**L - 1) // 2 + sum(op_i * 3**(L-1-i))``:
    0 is the empty path (input -> output directly), 1..3 are (conv3x3), (conv1x1),
    (maxpool3x3), 4 is (conv3x3, conv3x3), 5 is (conv3x3, conv1x1), ..., 363 is five
    maxpools. The encoding is invariant under isomorphism.

Truncated path encoding
    The first ``k`` values of the path encoding. As in BANANAS (White et al., 2021), paths
    are ordered by length, short ones first, so truncation drops the long, rare paths and
    keeps the common ones; the default ``k = 40`` keeps exactly all paths of at most three
    ops (1 + 3 + 9 + 27 = 40). BANANAS orders ops within a length differently (last op most
    significant); for ``k`` at a length boundary (1, 4, 13, 40, 121, 364) the kept *set* of
    paths is the same.

Cost features (:data:`COST_DIM` = 11, :func:`cost_dense`)
    Quantities that drive a network's compute, for the ``"adjacency_compute"`` featurizer
    (which adds the log trainable-parameter count of :meth:`nb101.CellSpace.parameters`):
    0 log(1 + multiply-adds per pixel of the cell's convolutions at 128 channels: 1x1
    projections of the input, 3x3 and 1x1 convolutions, with the official vertex channels),
    1 channels through max-pool vertices, 2-4 counts of conv3x3 / conv1x1 / maxpool3x3,
    5 edges, 6 vertices, 7 in-degree of the output (how the channels are split),
    8 out-degree of the input (projections), 9 input -> output edge (0/1), 10 longest
    input-to-output path in edges. All are invariant under isomorphism.

Example
-------
>>> from nb101 import ModelSpec, INPUT, CONV3X3, OUTPUT
>>> spec = ModelSpec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
>>> np.flatnonzero(encode_path(spec)).tolist()       # the empty path and (conv3x3)
[0, 1]
>>> encode_adjacency(spec).shape
(36,)
"""

from __future__ import annotations

import numpy as np

from nb101.model_spec import NUM_VERTICES, OPS, ModelSpec, check_spec, labeling_of

__all__ = [
    "ADJACENCY_DIM",
    "PATH_DIM",
    "PATH_TRUNC_DEFAULT",
    "MAX_PATH_LENGTH",
    "encode_adjacency",
    "encode_path",
    "encode_adjacency_path",
    "adjacency_dense",
    "path_dense",
    "path_index",
    "path_ops",
    "spec_to_dense",
    "COST_DIM",
    "cost_dense",
]

_NUM_OPS = len(OPS)
#: Interior vertices of the padded 7-vertex cell.
_NUM_INTERIOR = NUM_VERTICES - 2
#: Longest input-to-output path, in interior ops.
MAX_PATH_LENGTH = _NUM_INTERIOR
_TRIU_ROWS, _TRIU_COLS = np.triu_indices(NUM_VERTICES, 1)
ADJACENCY_DIM = len(_TRIU_ROWS) + _NUM_INTERIOR * _NUM_OPS  # 21 + 15 = 36
PATH_DIM = sum(_NUM_OPS**length for length in range(MAX_PATH_LENGTH + 1))  # 364
PATH_TRUNC_DEFAULT = 40
COST_DIM = 11
_LABEL_ABSENT = -3


def _length_offset(length: int) -> int:
    """Index of the first path with ``length`` ops: 3**0 + ... + 3**(length-1)."""
    return (_NUM_OPS**length - 1) // (_NUM_OPS - 1)


def path_index(ops: list[str] | tuple[str, ...] | list[int]) -> int:
    """Position of a path (its interior ops, names or :data:`OPS` indices) in the encoding.

    Examples
    --------
    >>> path_index([]), path_index(["conv3x3-bn-relu"]), path_index([2, 2, 2, 2, 2])
    (0, 1, 363)
    """
    codes = [op if isinstance(op, (int, np.integer)) else OPS.index(op) for op in ops]
    if len(codes) > MAX_PATH_LENGTH:
        raise ValueError(f"path has {len(codes)} ops, but at most {MAX_PATH_LENGTH} fit in a cell")
    value = 0
    for code in codes:
        if not 0 <= code < _NUM_OPS:
            raise ValueError(f"op index must be in [0, {_NUM_OPS}), got {code}")
        value = value * _NUM_OPS + int(code)
    return _length_offset(len(codes)) + value


def path_ops(index: int) -> tuple[str, ...]:
    """Inverse of :func:`path_index`: the op names of path ``index``."""
    if not 0 <= index < PATH_DIM:
        raise ValueError(f"path index must be in [0, {PATH_DIM}), got {index}")
    length = 0
    while _length_offset(length + 1) <= index:
        length += 1
    value = index - _length_offset(length)
    codes = []
    for _ in range(length):
        value, code = divmod(value, _NUM_OPS)
        codes.append(code)
    return tuple(OPS[c] for c in reversed(codes))


# ------------------------------------------------------------------------ vectorised cores
def _check_dense(
    adjacency: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    adjacency = np.asarray(adjacency)
    labels = np.asarray(labels)
    if adjacency.ndim != 3 or adjacency.shape[1:] != (NUM_VERTICES, NUM_VERTICES):
        raise ValueError(
            f"adjacency must have shape (K, {NUM_VERTICES}, {NUM_VERTICES}), got {adjacency.shape}"
        )
    if labels.shape != adjacency.shape[:2]:
        raise ValueError(f"labels must have shape {adjacency.shape[:2]}, got {labels.shape}")
    num_vertices = np.count_nonzero(labels != _LABEL_ABSENT, axis=1)
    return adjacency, labels, num_vertices


def _padding_permutation(num_vertices: int) -> np.ndarray:
    """Source vertex of each padded position: 0..V-2, then the absent ones, the output last."""
    return np.array(
        [*range(num_vertices - 1), *range(num_vertices, NUM_VERTICES), num_vertices - 1],
        dtype=np.int64,
    )


def adjacency_dense(adjacency: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Adjacency encodings of cells given as dense arrays, shape (K, 36) bool.

    Parameters
    ----------
    adjacency : ndarray of shape (K, 7, 7)
        Pruned cells in the top-left V x V block (output at V-1), as from
        :meth:`nb101.CellSpace.dense`.
    labels : ndarray of shape (K, 7)
        Vertex labels: -1 input, -2 output, 0/1/2 op index, -3 absent.
    """
    adjacency, labels, num_vertices = _check_dense(adjacency, labels)
    out = np.zeros((len(adjacency), ADJACENCY_DIM), dtype=bool)
    for n in np.unique(num_vertices).tolist():
        rows = np.flatnonzero(num_vertices == n)
        perm = _padding_permutation(n)
        padded = adjacency[rows][:, perm][:, :, perm]
        out[rows, : len(_TRIU_ROWS)] = padded[:, _TRIU_ROWS, _TRIU_COLS] != 0
        interior = labels[rows][:, perm[1:-1]]  # (R, 5)
        onehot = interior[:, :, None] == np.arange(_NUM_OPS)[None, None, :]
        out[rows, len(_TRIU_ROWS) :] = onehot.reshape(len(rows), -1)
    return out


def path_dense(adjacency: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Path encodings of cells given as dense arrays, shape (K, 364) bool.

    Every increasing vertex sequence ``0 -> s_1 -> ... -> s_L -> V-1`` is a candidate path
    (2**(V-2) per vertex count, 63 in all); each is tested on all cells at once and its op
    sequence scattered into the encoding. Arguments as in :func:`adjacency_dense`.
    """
    adjacency, labels, num_vertices = _check_dense(adjacency, labels)
    adjacency = adjacency != 0
    labels = labels.astype(np.int64)
    out = np.zeros((len(adjacency), PATH_DIM), dtype=bool)
    for n in np.unique(num_vertices).tolist():
        rows = np.flatnonzero(num_vertices == n)
        adj = adjacency[rows]
        lab = labels[rows]
        output = n - 1
        for mask in range(1 << (n - 2)):
            interior = [v for v in range(1, n - 1) if mask >> (v - 1) & 1]
            chain = [0, *interior, output]
            exists = np.ones(len(rows), dtype=bool)
            for a, b in zip(chain[:-1], chain[1:]):
                exists &= adj[:, a, b]
            index = np.full(len(rows), _length_offset(len(interior)), dtype=np.int64)
            for position, v in enumerate(interior):
                index += lab[:, v] * _NUM_OPS ** (len(interior) - 1 - position)
            hit = np.flatnonzero(exists)
            out[rows[hit], index[hit]] = True
    return out


def cost_dense(adjacency: np.ndarray, labels: np.ndarray, channels: int = 128) -> np.ndarray:
    """Compute-cost features of cells given as dense arrays, shape (K, 11) float32.

    See "Cost features" in the module docstring; ``channels`` is the module width used for
    the vertex channels and multiply-adds. Arguments as in :func:`adjacency_dense`.
    """
    adjacency, labels, num_vertices = _check_dense(adjacency, labels)
    adj = adjacency.astype(bool)
    k = len(adj)
    rows = np.arange(k)
    out_vertex = num_vertices.astype(np.int64) - 1
    vertex = np.arange(NUM_VERTICES)
    interior = (vertex[None, :] >= 1) & (vertex[None, :] < out_vertex[:, None])
    feeds = adj[rows, :, out_vertex] & interior
    from_input = adj[:, 0, :] & interior
    input_to_output = adj[rows, 0, out_vertex]
    num_feeders = feeds.sum(axis=1)
    # vertex channels (official compute_vertex_channels): the output's channels are split
    # over its feeders, extra channels first; other vertices take the max of their successors
    share, extra = np.divmod(channels, np.maximum(num_feeders, 1))
    rank = np.cumsum(feeds, axis=1) - 1
    vc = np.where(feeds, share[:, None] + (rank < extra[:, None]), 0).astype(np.int64)
    for v in range(NUM_VERTICES - 2, 0, -1):
        best = np.where(adj[:, v, :] & interior, vc, 0).max(axis=1)
        fill = interior[:, v] & ~feeds[:, v]
        vc[fill, v] = best[fill]
    conv3, conv1, pool = ((labels == op) & interior for op in range(_NUM_OPS))
    madds = (
        (9 * vc * vc * conv3).sum(axis=1)
        + (vc * vc * conv1).sum(axis=1)
        + channels * (vc * from_input).sum(axis=1)
        + channels * channels * input_to_output
    )
    depth = np.zeros((k, NUM_VERTICES), dtype=np.int64)  # longest path from the input
    for v in range(1, NUM_VERTICES):
        depth[:, v] = np.where(adj[:, :v, v], depth[:, :v] + 1, 0).max(axis=1)
    columns = [
        np.log1p(madds),
        (vc * pool).sum(axis=1),
        conv3.sum(axis=1),
        conv1.sum(axis=1),
        pool.sum(axis=1),
        adj.sum(axis=(1, 2)),
        num_vertices,
        num_feeders,
        from_input.sum(axis=1),
        input_to_output,
        depth[rows, out_vertex],
    ]
    return np.stack(columns, axis=1).astype(np.float32)


# ---------------------------------------------------------------------- single-cell API
def spec_to_dense(spec: ModelSpec) -> tuple[np.ndarray, np.ndarray]:
    """The pruned cell of a valid spec as dense arrays of shape (1, 7, 7) and (1, 7) int8,
    laid out like :meth:`nb101.CellSpace.dense` (vertex order of the spec kept).

    Raises
    ------
    OutOfDomainError
        If ``spec`` is not a valid cell of the space.
    """
    check_spec(spec)
    n = len(spec.ops)
    adjacency = np.zeros((1, NUM_VERTICES, NUM_VERTICES), dtype=np.int8)
    adjacency[0, :n, :n] = spec.matrix
    labels = np.full((1, NUM_VERTICES), _LABEL_ABSENT, dtype=np.int8)
    labels[0, :n] = labeling_of(spec.ops)
    return adjacency, labels


def encode_adjacency(spec: ModelSpec) -> np.ndarray:
    """Adjacency encoding of a valid spec, shape (36,) float32 (see the module docstring).

    The spec's own (pruned) vertex order is encoded; encode ``space.spec(i)`` for the
    canonical form.

    Raises
    ------
    OutOfDomainError
        If ``spec`` is not a valid cell of the space.
    """
    return adjacency_dense(*spec_to_dense(spec))[0].astype(np.float32)


def encode_path(spec: ModelSpec, k: int | None = None) -> np.ndarray:
    """Path encoding of a valid spec, shape (364,) float32, or (k,) truncated to the first
    ``k`` paths (short paths first; see the module docstring).

    Raises
    ------
    OutOfDomainError
        If ``spec`` is not a valid cell of the space.
    ValueError
        If ``k`` is not in [1, 364].
    """
    k = _check_k(k)
    return path_dense(*spec_to_dense(spec))[0, :k].astype(np.float32)


def encode_adjacency_path(spec: ModelSpec) -> np.ndarray:
    """Adjacency then path encoding of a valid spec, shape (400,) float32."""
    adjacency, labels = spec_to_dense(spec)
    return np.concatenate(
        [adjacency_dense(adjacency, labels)[0], path_dense(adjacency, labels)[0]]
    ).astype(np.float32)


def _check_k(k: int | None) -> int:
    if k is None:
        return PATH_DIM
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= PATH_DIM:
        raise ValueError(f"k must be an int in [1, {PATH_DIM}] or None, got {k!r}")
    return int(k)
