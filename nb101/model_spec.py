"""The NAS-Bench-101 cell space: op names, ``ModelSpec``, pruning, validity and parameters.

Example
-------
>>> from nb101 import ModelSpec, INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT
>>> spec = ModelSpec(
...     matrix=[[0, 1, 1, 1, 0, 1, 0],
...             [0, 0, 0, 0, 0, 0, 1],
...             [0, 0, 0, 0, 0, 0, 1],
...             [0, 0, 0, 0, 1, 0, 0],
...             [0, 0, 0, 0, 0, 0, 1],
...             [0, 0, 0, 0, 0, 0, 1],
...             [0, 0, 0, 0, 0, 0, 0]],
...     ops=[INPUT, CONV1X1, CONV3X3, CONV3X3, CONV3X3, MAXPOOL3X3, OUTPUT])
>>> spec.hash_spec()
'28cfc7874f6d200472e1a9dcd8650aa0'
>>> trainable_parameters(spec)
2694282
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Sequence
from math import isqrt

import numpy as np

from .errors import OutOfDomainError
from .hashing import hash_module

__all__ = [
    "INPUT", "OUTPUT", "CONV1X1", "CONV3X3", "MAXPOOL3X3", "OPS", "NUM_VERTICES", "MAX_EDGES",
    "ModelSpec", "check_spec", "check_pruned", "is_valid_spec", "labeling_of",
    "trainable_parameters", "compute_vertex_channels", "edge_bits", "matrix_from_bits",
]

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
#: Interior ops in the official ``available_ops`` order; the index is the hash label.
OPS = (CONV3X3, CONV1X1, MAXPOOL3X3)
NUM_VERTICES = 7
MAX_EDGES = 9
_OP_LABEL = {op: i for i, op in enumerate(OPS)}


class ModelSpec:
    """A cell: adjacency matrix and vertex ops, pruned as in ``nasbench.api.ModelSpec``.

    Parameters
    ----------
    matrix : array-like of shape (V, V)
        Upper-triangular 0/1 adjacency matrix; vertex 0 is the input, V-1 the output.
    ops : sequence of str
        One op name per vertex.

    Attributes
    ----------
    original_matrix, original_ops : the input, deep-copied.
    matrix, ops : the pruned cell (``None`` if no input-to-output path exists).
    valid_spec : bool
        False if the input and the output are disconnected.

    Raises
    ------
    ValueError
        If the matrix is not square, not strictly upper-triangular, not 0/1, or if
        ``len(ops)`` differs from its size.

    Notes
    -----
    Stricter than the original ``nasbench`` class, on purpose: the matrix must hold 0/1
    integers and is stored as ``int8``, and ops are stored as ``str`` (``[1, 2, 4]`` becomes
    ``['1', '2', '4']``), so every spec of this package is a cell-like object of one shape.
    :class:`nb101.compat.model_spec.ModelSpec` is the faithful mirror (ops kept as given, the
    input's dtype kept, ``visualize``) for code written against ``nasbench.api``.

    A matrix written as nested lists of integers or as an integer ndarray (the way external
    code writes cells) is checked and pruned as bytes and bit masks
    (:func:`binary_matrix`, :func:`prune_flat`), without numpy's per-call costs; anything
    else goes through ``np.array`` and is accepted or rejected as always. Both give the same
    spec (``tests/test_fast_paths.py``).
    """

    original_matrix: np.ndarray
    original_ops: list[str]
    matrix: np.ndarray  # None (as in the original) when not valid_spec
    ops: list[str]
    valid_spec: bool
    data_format: str

    def __init__(self, matrix, ops: Sequence[str], data_format: str = "channels_last"):
        flat = binary_matrix(matrix)
        if flat is None:  # anything else (other dtypes, bad values): numpy checks it
            flat = _checked_flat(matrix)
        n = isqrt(len(flat))
        if isinstance(ops, str) or len(ops) != n:
            raise ValueError(
                f"length of ops must match matrix dimensions, got {len(ops)} ops "
                f"for a {n}x{n} matrix")
        self._init_flat(flat, n, list(map(str, ops)), data_format)

    @classmethod
    def _from_flat(cls, flat: bytes, ops: Sequence[str], pruned: bool = False) -> ModelSpec:
        """The spec of a checked 0/1 matrix given as :func:`binary_matrix` bytes and of as
        many op names (``nb101.compat`` turns its validated specs into this class so);
        ``pruned``: the bytes are known to be a pruned valid matrix (nothing to prune)."""
        spec = cls.__new__(cls)
        spec._init_flat(flat, len(ops), list(ops), "channels_last", pruned)
        return spec

    def _init_flat(self, flat: bytes, n: int, ops: list[str], data_format: str,
                   pruned: bool = False) -> None:
        # raises ValueError unless upper-triangular
        keep = tuple(range(n)) if pruned else prune_flat(flat, n)
        self.original_matrix = _int8_matrix(flat, n)
        self.original_ops = ops
        self.data_format = data_format
        if keep is None:
            self.matrix = None  # type: ignore[assignment]  # the original's invalid spec
            self.ops = None  # type: ignore[assignment]
            self.valid_spec = False
            return
        self.valid_spec = True
        if len(keep) == n:
            self.matrix = _int8_matrix(flat, n)
            self.ops = list(ops)
        else:
            self.matrix = _int8_matrix(pick_flat(flat, n, keep), len(keep))
            self.ops = [ops[v] for v in keep]

    def hash_spec(self, canonical_ops: Sequence[str] = OPS) -> str:
        """Return the official module hash of the pruned cell."""
        if not self.valid_spec:
            raise OutOfDomainError("invalid spec, provided graph is disconnected.")
        return hash_module(self.matrix, labeling_of(self.ops, canonical_ops))

    def __repr__(self) -> str:
        return f"ModelSpec(matrix={self.original_matrix.tolist()}, ops={self.original_ops})"

    def __deepcopy__(self, memo):
        return ModelSpec(self.original_matrix.copy(), list(self.original_ops), self.data_format)


# ------------------------------------------------------------ matrices as bytes (fast path)
# A cell has at most 7 vertices, so numpy's per-call overhead dominates its checks and its
# pruning. The constructors below work on the matrix as V*V bytes (one 0/1 byte per entry,
# row-major) and on Python ints with bit v * V + w set for the edge v -> w.

_INT8 = np.dtype(np.int8)
_ROWS = frozenset((list, tuple))
_FOREIGN_ORDER = ">" if sys.byteorder == "little" else "<"
_LOW_BYTE = 0 if sys.byteorder == "little" else -1  # offset of the value byte of a 0/1 int
_PICKERS: dict[tuple[int, tuple[int, ...]], operator.itemgetter] = {}


def binary_matrix(matrix) -> bytes | None:
    """The V*V entries (row-major, one byte each) of a square matrix of 0s and 1s given as an
    ndarray of an integer or bool dtype, or as a list/tuple of V lists/tuples of integers
    (as external code writes matrices); None for anything else.

    None means "not this fast case" (not square, other values, other element types): the
    callers then take numpy's path, which accepts or rejects the input as it always did.
    """
    if type(matrix) is np.ndarray:
        dtype = matrix.dtype
        if (matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or dtype.kind not in "biu"
                or dtype.byteorder == _FOREIGN_ORDER or not matrix.size):
            return None
        raw = matrix.tobytes()  # C order whatever the layout
        if raw.translate(None, b"\x00\x01"):
            return None  # some byte is neither 0 nor 1, so some value is neither
        size = dtype.itemsize
        if size == 1:
            return raw
        flat = raw[_LOW_BYTE % size::size]
        # every byte is 0 or 1; the values are 0/1 iff no 1 lies outside the value bytes
        return flat if raw.count(1) == flat.count(1) else None
    if type(matrix) is not list and type(matrix) is not tuple:
        return None
    n = len(matrix)
    if not n or not set(map(type, matrix)) <= _ROWS or set(map(len, matrix)) != {n}:
        return None
    try:  # bytes() takes ints (anything with __index__) in 0..255, and nothing else
        flat = b"".join(map(bytes, matrix))
    except (TypeError, ValueError):
        return None
    return None if flat.translate(None, b"\x00\x01") else flat


def prune_flat(flat: bytes, n: int) -> tuple[int, ...] | None:
    """The vertices on an input -> output path, ascending (the official ``_prune`` keeps
    exactly these); None if there is none (``valid_spec`` False).

    Parameters
    ----------
    flat : bytes
        The V*V 0/1 entries of the matrix, row-major (:func:`binary_matrix`).
    n : int
        V.

    Raises
    ------
    ValueError
        If the matrix is not upper-triangular (an entry on or below the diagonal is 1).
    """
    # bit v * n + w of ``edges``: the edge v -> w (the bytes read as a binary numeral)
    edges = int(flat[::-1].translate(_AS_DIGITS) or b"0", 2)
    masks = _MASKS.get(n) or _masks(n)
    if edges & masks[0]:
        raise ValueError("matrix must be upper triangular (zeros on and below the diagonal)")
    if n < 2:
        return None
    row = masks[1]
    reached = 1  # bit w: w is reached from the input (rows in topological order)
    for v in range(n - 1):
        if reached >> v & 1:
            reached |= edges >> n * v & row
    reaching = 1 << n - 1  # bit v: v reaches the output
    for v in range(n - 2, -1, -1):
        if edges >> n * v & reaching:
            reaching |= 1 << v
    both = reached & reaching
    if not both & 1:  # the input does not reach the output, so no vertex is on a path
        return None
    return masks[2][both] if n <= NUM_VERTICES else tuple(
        v for v in range(n) if both >> v & 1)


_AS_DIGITS = bytes.maketrans(b"\x00\x01", b"01")
_MASKS: dict[int, tuple[int, int, list[tuple[int, ...]]]] = {}


def _masks(n: int) -> tuple[int, int, list[tuple[int, ...]]]:
    """For V = n: the entries on and below the diagonal, one row, and the vertex tuple of
    every vertex bit set (V <= 7)."""
    lower = sum(1 << v * n + w for v in range(n) for w in range(v + 1))
    tuples = ([tuple(v for v in range(n) if s >> v & 1) for s in range(1 << n)]
              if n <= NUM_VERTICES else [])
    masks = (lower, (1 << n) - 1, tuples)
    if n <= NUM_VERTICES:
        _MASKS[n] = masks
    return masks


def pick_flat(flat: bytes, n: int, keep: tuple[int, ...]) -> bytes:
    """The entries of rows and columns ``keep`` (at least two) of a V*V bytes matrix."""
    picker = _PICKERS.get((n, keep))
    if picker is None:
        picker = operator.itemgetter(*(a * n + b for a in keep for b in keep))
        if n <= NUM_VERTICES:
            _PICKERS[(n, keep)] = picker
    return bytes(picker(flat))


def _int8_matrix(flat: bytes, n: int) -> np.ndarray:
    """A fresh, writable (n, n) int8 array of the bytes."""
    return np.ndarray((n, n), _INT8, bytearray(flat))


def _checked_flat(matrix) -> bytes:
    """The entries of a matrix that :func:`binary_matrix` does not take, as bytes, checked
    with numpy (any integer array-like of 0/1).

    Raises
    ------
    ValueError
        If it is ragged, not square, not of integers or booleans, or holds other values.
    """
    try:
        array = np.array(matrix)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"matrix must be square, got ragged rows {matrix!r}") from exc
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError(f"matrix must be square, got shape {array.shape}")
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise ValueError(f"matrix must hold 0/1 integers, got dtype {array.dtype}")
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ValueError(f"matrix must hold only 0 and 1, got values {np.unique(array).tolist()}")
    return array.astype(np.int8).tobytes()


def labeling_of(ops: Sequence[str], canonical_ops: Sequence[str] = OPS) -> list[int]:
    """Hash labels of a pruned op list: -1 input, -2 output, else the index in ``canonical_ops``."""
    canonical = list(canonical_ops)
    return [-1] + [canonical.index(op) for op in ops[1:-1]] + [-2]


def check_spec(spec: ModelSpec) -> None:
    """Raise :class:`OutOfDomainError` unless ``spec`` lies in the space (official ``_check_spec``).

    Unlike the original (which crashes with ``TypeError`` on too many vertices), every broken
    rule raises ``OutOfDomainError``.
    """
    if not isinstance(spec, ModelSpec):
        raise TypeError(f"expected a ModelSpec, got {type(spec).__name__}")
    if not spec.valid_spec:
        raise OutOfDomainError("invalid spec, provided graph is disconnected.")
    check_pruned(spec.matrix, spec.ops)


def check_pruned(matrix, ops: Sequence, *, num_edges: int | None = None) -> None:
    """The rules of :func:`check_spec` after pruning, in the official order: vertices, edges,
    first op, last op, interior ops.

    Shared with :mod:`nb101.compat`, whose ``ModelSpec`` keeps ops as given (ints stay
    ints) and the matrix in the input's dtype; an op that is not one of the names is out of
    the space. ``num_edges``: the matrix's sum, where the caller has it already.

    Raises
    ------
    OutOfDomainError
        Naming the rule and the value got.
    """
    num_vertices = len(ops)
    if num_vertices > NUM_VERTICES:
        raise OutOfDomainError(
            f"too many vertices, got {num_vertices} (max vertices = {NUM_VERTICES})")
    if num_edges is None:
        num_edges = int(np.sum(matrix))
    if num_edges > MAX_EDGES:
        raise OutOfDomainError(f"too many edges, got {num_edges} (max edges = {MAX_EDGES})")
    if not (isinstance(ops[0], str) and ops[0] == INPUT):
        raise OutOfDomainError(f"first operation should be 'input', got {ops[0]!r}")
    if not (isinstance(ops[-1], str) and ops[-1] == OUTPUT):
        raise OutOfDomainError(f"last operation should be 'output', got {ops[-1]!r}")
    for op in ops[1:-1]:
        if not (isinstance(op, str) and op in _OP_LABEL):
            raise OutOfDomainError(f"unsupported op {op!r}, available ops = {list(OPS)}")


def is_valid_spec(spec: ModelSpec) -> bool:
    """Return True if ``spec`` lies in the space; never raises for a ``ModelSpec``."""
    try:
        check_spec(spec)
    except OutOfDomainError:
        return False
    return True


def edge_bits(matrix: np.ndarray) -> int:
    """Encode an upper-triangular matrix as the official ``gen_is_edge_fn`` bits."""
    rows = np.asarray(matrix).tolist()
    bits = 0
    for y in range(1, len(rows)):
        for x in range(y):
            if rows[x][y]:
                bits |= 1 << (x + y * (y - 1) // 2)
    return bits


def matrix_from_bits(bits: int, num_vertices: int) -> np.ndarray:
    """Decode ``gen_is_edge_fn`` bits into a (V, V) int8 matrix."""
    matrix = np.zeros((num_vertices, num_vertices), dtype=np.int8)
    for y in range(1, num_vertices):
        for x in range(y):
            if (bits >> (x + y * (y - 1) // 2)) & 1:
                matrix[x, y] = 1
    return matrix


def compute_vertex_channels(in_channels: int, out_channels: int, matrix) -> list[int]:
    """Channels of every vertex of a module (official ``compute_vertex_channels``)."""
    rows = np.asarray(matrix).tolist()
    n = len(rows)
    channels = [0] * n
    channels[0] = in_channels
    channels[n - 1] = out_channels
    if n == 2:
        return channels
    feeds_output = [bool(rows[v][n - 1]) for v in range(n)]
    num_feeders = sum(feeds_output[1:])
    share, extra = divmod(out_channels, num_feeders)
    for v in range(1, n - 1):
        if feeds_output[v]:
            channels[v] = share + (1 if extra > 0 else 0)
            extra -= 1
    for v in range(n - 3, 0, -1):
        if not feeds_output[v]:
            channels[v] = max(channels[w] for w in range(v + 1, n - 1) if rows[v][w])
    return channels


def _conv_params(kernel: int, cin: int, cout: int) -> int:
    return kernel * kernel * cin * cout + 2 * cout  # conv without bias, BN gamma and beta


def _module_params(rows: list[list[int]], ops: Sequence[str], cin: int, cout: int) -> int:
    n = len(rows)
    channels = compute_vertex_channels(cin, cout, rows)
    total = 0
    for t in range(1, n - 1):
        if rows[0][t]:
            total += _conv_params(1, cin, channels[t])  # projection of the module input
        if ops[t] == CONV3X3:
            total += _conv_params(3, channels[t], channels[t])
        elif ops[t] == CONV1X1:
            total += _conv_params(1, channels[t], channels[t])
    if rows[0][n - 1]:
        total += _conv_params(1, cin, cout)
    return total


def trainable_parameters(spec: ModelSpec, stem_channels: int = 128, num_stacks: int = 3,
                         modules_per_stack: int = 3, num_labels: int = 10) -> int:
    """Exact trainable parameter count of the network built from a valid cell."""
    check_spec(spec)
    rows = spec.matrix.tolist()
    total = _conv_params(3, 3, stem_channels)
    channels = stem_channels
    for stack in range(num_stacks):
        if stack > 0:
            channels *= 2
        for module in range(modules_per_stack):
            cin = channels // 2 if (stack > 0 and module == 0) else channels
            total += _module_params(rows, spec.ops, cin, channels)
    return total + channels * num_labels + num_labels
