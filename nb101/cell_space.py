"""The enumerated NAS-Bench-101 space: 423,624 cells, sorted by module hash.

:class:`CellSpace` holds every cell as arrays (from :mod:`nb101.space_enumeration`) and answers
the space's questions: the cell of a hash or of a spec (an exact table lookup, no md5), the
canonical representative of a cell, exact parameter counts, samples and neighbours.
:func:`get_space` loads it from its cache file (:mod:`nb101.space_file`), building it first
with :func:`build_space` where there is none (or upgrading the cache of an older format). The
exact trainable parameter count of every cell is computed once at build time
(:func:`cell_parameters`) and stored with the space, so no query ever computes one.

Example
-------
>>> space = get_space()                       # built once into the user cache, then loaded
>>> len(space)
423624
>>> spec = space.spec(space.index_of_hash("00005c142e6f48ac74fdcf73e3439874"))
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .errors import OutOfDomainError, TableError, UnknownHashError
from .model_spec import (
    INPUT,
    MAX_EDGES,
    MAXPOOL3X3,
    NUM_VERTICES,
    OPS,
    OUTPUT,
    ModelSpec,
    check_spec,
    trainable_parameters,
)
from .paths import user_path
from .space_enumeration import (
    EXPECTED_CELLS,
    NUM_CELLS,
    dense_cells,
    dense_matrices,
    enumerate_space,
    interior_labelings,
)
from .space_file import (
    SPACE_ARRAYS,
    SPACE_FORMAT,
    UPGRADABLE_FORMATS,
    cache_name,
    default_cache_path,
    read_space_file,
    write_space_file,
)

__all__ = [
    "CellSpace",
    "build_space",
    "get_space",
    "cell_parameters",
    "default_cache_path",
    "SPACE_FORMAT",
    "UPGRADABLE_FORMATS",
    "NUM_CELLS",
    "EXPECTED_CELLS",
]

_log = logging.getLogger(__name__)


_HEX_DIGIT = np.zeros(256, dtype=np.uint8)  # hex digit value of an ASCII byte (else 0)
_HEX_DIGIT[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)


def _hex_prefixes(text: np.ndarray) -> np.ndarray:
    """uint64 value of the first 16 hex digits of each row of ASCII bytes (K, >=16); rows
    that are not hex give some value (callers compare the full text afterwards)."""
    digits = _HEX_DIGIT[text[:, :16]]
    pairs = (digits[:, 0::2] << 4) | digits[:, 1::2]
    return np.ascontiguousarray(pairs).view(">u8").ravel().astype(np.uint64)


def build_space(
    path: str | os.PathLike | None = None, *, processes: int | None = None, progress: bool = False
) -> CellSpace:
    """Enumerate the space exactly as ``generate_graphs.py`` (:func:`enumerate_space`), count
    the parameters of every cell and save it to ``path``.

    Parameters
    ----------
    path : path-like, optional
        Where to write the cache (default :func:`default_cache_path`).
    processes : int, optional
        Worker processes for hashing (default: all cores).
    progress : bool
        Show a tqdm progress bar.
    """
    start = time.perf_counter()
    arrays = enumerate_space(processes=processes, progress=progress)
    arrays["parameters"] = cell_parameters(arrays["num_vertices"], arrays["bits"], arrays["codes"])
    path = write_space_file(user_path(path) if path is not None else default_cache_path(), arrays)
    _log.info(
        "built the space (%d cells) in %.1f s into %s",
        len(arrays["hashes"]),
        time.perf_counter() - start,
        path,
    )
    return CellSpace(arrays, path)


class CellSpace:
    """All 423,624 cells, indexed 0..N-1 in ascending hash order (the official file order).

    Use :func:`get_space` rather than the constructor.

    Attributes
    ----------
    hashes : ndarray of bytes (N,)
        Sorted module hashes (``S32``).
    num_vertices, bits, codes : ndarray (N,)
        The canonical representative: vertex count, official edge bits and the labeling's
        position in ``itertools.product(range(3), repeat=V-2)`` order.
    """

    _ARRAYS = SPACE_ARRAYS

    def __init__(self, arrays: dict[str, np.ndarray], path: Path | None = None):
        self.path = path
        for name in self._ARRAYS:
            if name != "parameters":  # the array behind the method parameters()
                setattr(self, name, arrays[name])
        self._parameters = np.asarray(arrays["parameters"], dtype=np.int64)
        self._parameters.flags.writeable = False
        # Exact lookup tables of everything a pruned valid cell can be made of: the full-DAG
        # matrices (6,472, by their int8 bytes and by (V, bits)) and the op lists (364).
        # Row offset of a matrix's block in lookup_cells; its labelings follow in code order.
        self._lookup_start: dict[int, tuple[int, int]] = {}  # V -> (first offset, matrices)
        self._lookup_key: dict[tuple[int, int], int] = {}
        self._matrix_key: dict[bytes, int] = {}
        self._matrices: dict[tuple[int, int], np.ndarray] = {}
        first = 0
        for n in range(2, NUM_VERTICES + 1):
            block = self.lookup_bits[self.lookup_num_vertices == n]
            self._lookup_start[n] = (first, len(block))
            matrices = dense_matrices(block)[:, :n, :n]
            stride = len(OPS) ** (n - 2)
            for i, (b, matrix) in enumerate(zip(block.tolist(), matrices)):
                matrix = np.ascontiguousarray(matrix)
                matrix.flags.writeable = False
                self._lookup_key[(n, b)] = first + i * stride
                self._matrix_key[matrix.tobytes()] = first + i * stride
                self._matrices[(n, b)] = matrix
            first += len(block) * stride
        self._ops_of: dict[int, list[tuple[str, ...]]] = {}  # V -> op lists in code order
        self._op_code: dict[tuple[str, ...], int] = {}  # op list -> labeling code
        for n in range(2, NUM_VERTICES + 1):
            self._ops_of[n] = [
                (INPUT, *(OPS[i] for i in labeling), OUTPUT)
                for labeling in interior_labelings(n).tolist()
            ]
            for code, ops in enumerate(self._ops_of[n]):
                self._op_code[ops] = code
        self._prefixes: np.ndarray | None = None  # see _hash_prefixes

    @classmethod
    def load(cls, path: str | os.PathLike) -> CellSpace:
        """Read a space cache; one of an :data:`UPGRADABLE_FORMATS` is upgraded in memory.

        Raises
        ------
        TableError
            If the file is not a space cache of a known format.
        """
        path = user_path(path)
        arrays, space_format = read_space_file(path)
        if space_format != SPACE_FORMAT:
            _log.info(
                "upgrading the space cache %s from format %d to %d",
                path,
                space_format,
                SPACE_FORMAT,
            )
            arrays["parameters"] = cell_parameters(
                arrays["num_vertices"], arrays["bits"], arrays["codes"]
            )
        return cls(arrays, path)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the space as a cache file of the current format (atomically)."""
        return write_space_file(
            path,
            {
                name: (self._parameters if name == "parameters" else getattr(self, name))
                for name in self._ARRAYS
            },
        )

    def __len__(self) -> int:
        return len(self.hashes)

    # ----------------------------------------------------------------- cells <-> hashes
    def hash(self, index: int) -> str:
        """Module hash of cell ``index``."""
        return self.hashes[index].decode()

    def index_of_hash(self, module_hash: str) -> int:
        """Cell index of a module hash: the one hash lookup of the project.

        Raises
        ------
        UnknownHashError
            An :class:`OutOfDomainError` (and a ``KeyError``) if no cell of the space has it.
        """
        key = module_hash.encode() if isinstance(module_hash, str) else bytes(module_hash)
        i = int(np.searchsorted(self.hashes, key))
        if i == len(self.hashes) or self.hashes[i] != key:
            raise UnknownHashError(f"module hash {module_hash!r} is not a cell of NAS-Bench-101")
        return i

    def indices_of_hashes(self, module_hashes: Sequence[str] | np.ndarray) -> np.ndarray:
        """Vectorised :meth:`index_of_hash` (str or bytes hashes, a sequence or an array).

        The hashes are located by their first 16 hex digits as 64-bit integers (unique
        among the cells of the space) and then compared in full.
        """
        items = (
            module_hashes
            if isinstance(module_hashes, (list, tuple))
            else np.ravel(np.asarray(module_hashes))
        )
        try:
            # one byte more than a hash, so that a longer string is not silently cut
            keys = np.array(items, dtype="S33").reshape(-1).view(np.uint8).reshape(-1, 33)
        except (UnicodeEncodeError, ValueError, TypeError):
            keys = None
        if keys is None or len(keys) != len(items):
            return np.array([self.index_of_hash(h) for h in items], dtype=np.int64)
        prefixes = _hex_prefixes(keys)
        order = np.argsort(prefixes)  # a binary search of sorted keys stays in cache
        idx = np.empty(len(keys), dtype=np.int64)
        idx[order] = np.searchsorted(self._hash_prefixes(), prefixes[order])
        idx_clip = np.minimum(idx, len(self.hashes) - 1)
        text = np.ascontiguousarray(keys[:, :32]).view("S32").ravel()
        missing = (keys[:, 32] != 0) | (self.hashes[idx_clip] != text)
        if missing.any():
            bad = items[int(np.flatnonzero(missing)[0])]
            bad = bad.decode(errors="replace") if isinstance(bad, bytes) else str(bad)
            raise UnknownHashError(
                f"module hash {bad!r} is not a cell of NAS-Bench-101 "
                f"({int(missing.sum())} unknown hashes)"
            )
        return idx.astype(np.int64)

    def _hash_prefixes(self) -> np.ndarray:
        """First 16 hex digits of every cell's hash as uint64 (ascending, like the hashes)."""
        if self._prefixes is None:
            prefixes = _hex_prefixes(self.hashes.view(np.uint8).reshape(-1, 32))
            if not (prefixes[1:] > prefixes[:-1]).all():
                raise RuntimeError("two cells share the first 16 hex digits of their hash")
            self._prefixes = prefixes
        return self._prefixes

    # ------------------------------------------------------------------- specs <-> cells
    def index_of_spec(self, spec: ModelSpec) -> int:
        """Cell index of a spec; exact and much faster than hashing it.

        Raises
        ------
        OutOfDomainError
            If the spec is not a valid cell of the space.
        """
        if isinstance(spec, ModelSpec) and spec.valid_spec:
            # A pruned matrix among the space's full DAGs (so <= 7 vertices, <= 9 edges) and
            # an op list among its labelings pass every rule of check_spec: two dict lookups.
            matrix = spec.matrix
            offset = (
                self._matrix_key.get(matrix.tobytes())
                if isinstance(matrix, np.ndarray) and matrix.dtype is _INT8
                else None
            )
            code = self._op_code.get(tuple(spec.ops))
            if offset is not None and code is not None and len(spec.ops) == len(matrix):
                return int(self.lookup_cells[offset + code])
        check_spec(spec)  # outside the space: raises the official error of the rule broken
        n = len(spec.ops)
        rows = spec.matrix.tolist()
        bits = 0
        for y in range(1, n):
            for x in range(y):
                if rows[x][y]:
                    bits |= 1 << (x + y * (y - 1) // 2)
        code = 0
        for op in spec.ops[1:-1]:
            code = code * 3 + _OP_INDEX[op]
        return int(self.lookup_cells[self._lookup_key[(n, bits)] + code])

    def indices_of_specs(self, specs: Iterable[ModelSpec]) -> np.ndarray:
        """Cell indices of many specs (each validated)."""
        return np.fromiter((self.index_of_spec(s) for s in specs), dtype=np.int64)

    def spec(self, index: int) -> ModelSpec:
        """The canonical representative of cell ``index`` (as stored in the official files)."""
        return ModelSpec(*self.graph(index))

    def graph(self, index: int) -> tuple[np.ndarray, list[str]]:
        """``(matrix, ops)`` of the canonical representative of cell ``index``: a fresh
        (V, V) int8 matrix and op list, without building (and pruning) a ``ModelSpec``."""
        return self.graph_of(
            int(self.num_vertices[index]), int(self.bits[index]), int(self.codes[index])
        )

    def graph_of(self, num_vertices: int, bits: int, code: int) -> tuple[np.ndarray, list[str]]:
        """``(matrix, ops)`` of a pruned valid cell given as vertex count, official edge bits
        and labeling code (as the space and the tables store graphs), by lookup.

        Raises
        ------
        OutOfDomainError
            If the three numbers do not describe a pruned valid cell.
        """
        matrix = self._matrices.get((num_vertices, bits))
        labelings = self._ops_of.get(num_vertices, ())
        if matrix is None or not 0 <= code < len(labelings):
            raise OutOfDomainError(
                f"no pruned valid cell has {num_vertices} vertices, edge bits {bits} and "
                f"labeling code {code} (a full DAG of at most {MAX_EDGES} edges and a code "
                f"below 3**(V-2) are needed)"
            )
        return matrix.copy(), list(labelings[code])

    def parameters(self, indices: np.ndarray | None = None) -> np.ndarray:
        """Exact trainable parameter counts (int64) of cells: the formula of
        :func:`nb101.model_spec.trainable_parameters`, stored with the space (computed once by
        :func:`cell_parameters` when the space is built). All cells (read-only) if ``indices``
        is None."""
        return self._parameters if indices is None else self._parameters[np.asarray(indices)]

    def spec_from_hash(self, module_hash: str) -> ModelSpec:
        return self.spec(self.index_of_hash(module_hash))

    def dense(self, indices: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Canonical cells as arrays: adjacency (K, 7, 7) int8 in the top-left V x V block, and
        labels (K, 7) int8 with -1 input, -2 output, 0/1/2 = ``OPS`` index, -3 absent."""
        idx = np.arange(len(self)) if indices is None else np.asarray(indices)
        return dense_cells(self.num_vertices[idx], self.bits[idx], self.codes[idx])

    # ------------------------------------------------------------ sampling, neighbours
    def sample(
        self, size: int, seed: int | np.random.Generator | None = None, replace: bool = False
    ) -> np.ndarray:
        """Uniformly sampled cell indices (seeded)."""
        rng = np.random.default_rng(seed)
        return rng.choice(len(self), size=size, replace=replace)

    def random_spec(self, seed: int | np.random.Generator | None = None) -> ModelSpec:
        return self.spec(int(self.sample(1, seed)[0]))

    def neighbours(self, cell: int | str | ModelSpec) -> np.ndarray:
        """Cells at edit distance 1: one edge of the (unpruned) matrix flipped or one interior
        op changed, then pruned; valid ones only, deduplicated, the cell itself excluded.

        A hash or index stands for its canonical representative."""
        if isinstance(cell, ModelSpec):
            spec = cell
        else:
            spec = self.spec(self.index_of_hash(cell) if isinstance(cell, str) else int(cell))
        own = self.index_of_spec(spec)
        matrix, ops = spec.original_matrix, spec.original_ops
        n = matrix.shape[0]
        found: set[int] = set()
        for y in range(1, n):
            for x in range(y):
                flipped = matrix.copy()
                flipped[x, y] ^= 1
                self._add_if_valid(found, flipped, ops)
        for v in range(1, n - 1):
            for op in OPS:
                if op != ops[v]:
                    self._add_if_valid(found, matrix, [*ops[:v], op, *ops[v + 1 :]])
        found.discard(own)
        return np.array(sorted(found), dtype=np.int64)

    def _add_if_valid(self, found: set[int], matrix: np.ndarray, ops: list[str]) -> None:
        try:
            found.add(self.index_of_spec(ModelSpec(matrix, ops)))
        except OutOfDomainError:
            pass


def cell_parameters(num_vertices: np.ndarray, bits: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Exact trainable parameter counts of cells (int64 array), by the one formula,
    :func:`nb101.model_spec.trainable_parameters`.

    The formula is evaluated per distinct matrix, not per cell: the vertex channels depend on
    the matrix only, and each interior op adds its own convolution's parameters at its vertex
    (a max-pool adds none). So a cell's count is its matrix's count with max-pools everywhere
    plus, per convolution, what that convolution adds at its vertex, which takes 1 + 2 (V - 2)
    evaluations per matrix (a few thousand matrices) instead of one per cell.
    """
    num_vertices = np.asarray(num_vertices).astype(np.int64)
    bits = np.asarray(bits).astype(np.int64)
    _, labels = dense_cells(num_vertices, bits, codes)
    matrices, which = np.unique(np.stack([num_vertices, bits], axis=1), axis=0, return_inverse=True)
    base = np.zeros(len(matrices), dtype=np.int64)
    gain = np.zeros((len(matrices), NUM_VERTICES, len(OPS)), dtype=np.int64)  # op i at v
    for j, (n, b) in enumerate(matrices.tolist()):
        matrix = dense_matrices(np.array([b]))[0, :n, :n]
        ops = [INPUT, *[MAXPOOL3X3] * (n - 2), OUTPUT]
        base[j] = trainable_parameters(ModelSpec(matrix, ops))
        for v in range(1, n - 1):
            for i, op in enumerate(OPS):
                if op != MAXPOOL3X3:
                    one = trainable_parameters(ModelSpec(matrix, [*ops[:v], op, *ops[v + 1 :]]))
                    gain[j, v, i] = one - base[j]
    which = which.reshape(-1)
    interior = labels >= 0  # -1 input, -2 output, -3 absent
    per_vertex = np.take_along_axis(gain[which], np.where(interior, labels, 0)[..., None], axis=2)[
        ..., 0
    ]
    return base[which] + np.where(interior, per_vertex, 0).sum(axis=1)


_OP_INDEX = {op: i for i, op in enumerate(OPS)}
_INT8 = np.dtype(np.int8)  # the dtype of ModelSpec matrices
_SPACES: dict[Path, CellSpace] = {}


def get_space(path: str | os.PathLike | None = None, *, progress: bool = False) -> CellSpace:
    """Load the space cache from ``path`` (default :func:`default_cache_path`), building it
    first if it does not exist (or upgrading the cache of an older format beside it). Loaded
    spaces are shared within the process."""
    path = user_path(path) if path is not None else default_cache_path()
    if path not in _SPACES:
        if path.exists():
            space = CellSpace.load(path)
        else:
            space = _upgrade_older_cache(path) or build_space(path, progress=progress)
        _SPACES[path] = space
    return _SPACES[path]


def _upgrade_older_cache(path: Path) -> CellSpace | None:
    """The space of an older cache file beside ``path`` (``space-v1.npz`` for
    ``space-v2.npz``), upgraded and saved to ``path``; None if there is none. The old file
    stays (older checkouts sharing the cache folder still read it)."""
    if path.name != cache_name(SPACE_FORMAT):
        return None
    for old_format in sorted(UPGRADABLE_FORMATS, reverse=True):
        old = path.with_name(cache_name(old_format))
        if not old.exists():
            continue
        try:
            space = CellSpace.load(old)
        except TableError as exc:
            _log.warning("ignoring the old space cache %s: %s", old, exc)
            continue
        space.path = space.save(path)
        return space
    return None
