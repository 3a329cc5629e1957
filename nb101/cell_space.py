"""The exhaustively enumerated NAS-Bench-101 space: 423,624 cells, sorted by module hash.

``generate_graphs.py`` walks V = 2..7, every edge-bit pattern in ascending order and every
labeling in ``itertools.product`` order, and keeps the first graph met for each hash as its
canonical representative. Hashing all 1,293,208 labelled graphs that way takes minutes in
pure Python, so :func:`build_space` hashes only one graph per isomorphism class:

* a matrix isomorphic to an earlier one adds no new hash (each of its labelings is isomorphic
  to a labeling of the earlier matrix), so only the first matrix of each unlabelled class is
  labelled;
* two labelings of one matrix related by an automorphism are isomorphic, so only the smallest
  labeling of each orbit is hashed.

The first graph met of every class is one of those hashed, so the representatives are the
official ones. The build also stores, for every labelled graph of the enumeration (that is,
every pruned valid cell as a user may write it), the index of its cell. Looking a cell up is
then an exact table lookup instead of an md5 fingerprint. The exact trainable parameter
count of every cell is computed once at build time (vectorised) and stored with the space,
so no query ever computes one.

The cache file is ``space-v{SPACE_FORMAT}.npz``; a cache of an older format found beside it
(format 1 lacks the parameter counts) is upgraded instead of rebuilt.

Example
-------
>>> space = get_space()                       # built once into the user cache, then loaded
>>> len(space)
423624
>>> spec = space.spec(space.index_of_hash("00005c142e6f48ac74fdcf73e3439874"))
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .io import atomic_savez, open_npz
from .errors import OutOfDomainError, TableError, UnknownHashError
from .hashing import hash_rows
from .model_spec import INPUT, MAX_EDGES, NUM_VERTICES, OPS, OUTPUT, ModelSpec, check_spec
from .paths import user_path

__all__ = ["CellSpace", "build_space", "get_space", "default_cache_path", "SPACE_FORMAT",
           "UPGRADABLE_FORMATS"]

_log = logging.getLogger(__name__)

SPACE_FORMAT = 2
#: Older cache formats that are upgraded on load (format 1: no parameter counts).
UPGRADABLE_FORMATS = (1,)
#: Unique cells per vertex count (facts section 4); the build checks them.
EXPECTED_CELLS = {2: 1, 3: 6, 4: 84, 5: 2441, 6: 62010, 7: 359082}
NUM_CELLS = 423_624


def default_cache_path() -> Path:
    """``$NB101_CACHE`` or ``~/.cache/nb101-surrogate``, then ``space-v{SPACE_FORMAT}.npz``."""
    root = os.environ.get("NB101_CACHE") or Path.home() / ".cache" / "nb101-surrogate"
    return user_path(root) / _cache_name(SPACE_FORMAT)


def _cache_name(space_format: int) -> str:
    return f"space-v{space_format}.npz"


def _bit_index(x: int, y: int) -> int:
    return x + y * (y - 1) // 2  # official gen_is_edge_fn bit of edge x -> y


def _full_dag_matrices(n: int) -> np.ndarray:
    """Ascending edge bits of all full DAGs on n vertices with at most MAX_EDGES edges."""
    num_bits = n * (n - 1) // 2
    bits = np.arange(1 << num_bits, dtype=np.uint32)
    popcount = np.zeros(bits.shape, dtype=np.uint8)
    for b in range(num_bits):
        popcount += ((bits >> b) & 1).astype(np.uint8)
    keep = popcount <= MAX_EDGES
    for v in range(n - 1):  # every row but the output's has an out-edge
        mask = sum(1 << _bit_index(v, w) for w in range(v + 1, n))
        keep &= (bits & mask) != 0
    for w in range(1, n):  # every column but the input's has an in-edge
        mask = sum(1 << _bit_index(v, w) for v in range(w))
        keep &= (bits & mask) != 0
    return bits[keep]


def _interior_permutations(n: int) -> np.ndarray:
    """All vertex permutations that keep the input first and the output last, shape (P, n)."""
    perms = [(0, *p, n - 1) for p in itertools.permutations(range(1, n - 1))]
    return np.array(perms, dtype=np.int64).reshape(-1, n)


def _permute_bits(bits: np.ndarray, perm: np.ndarray, n: int) -> np.ndarray:
    """Bits of each matrix relabelled by ``perm`` (old v -> new perm[v]); -1 where the image
    is not upper-triangular (so not part of the enumeration)."""
    out = np.zeros(bits.shape, dtype=np.int64)
    bad = np.zeros(bits.shape, dtype=bool)
    for y in range(1, n):
        for x in range(y):
            present = ((bits >> _bit_index(x, y)) & 1).astype(bool)
            a, b = perm[x], perm[y]
            if a < b:
                out[present] |= 1 << _bit_index(a, b)
            else:
                bad |= present
    out[bad] = -1
    return out


def _labelings(n: int) -> np.ndarray:
    """Interior labelings in ``itertools.product`` order, shape (3**(n-2), n-2)."""
    return np.array(list(itertools.product(range(len(OPS)), repeat=n - 2)),
                    dtype=np.int64).reshape(len(OPS) ** (n - 2), n - 2)


def _codes(labelings: np.ndarray) -> np.ndarray:
    """Position of each labeling in ``itertools.product`` order (base 3, first digit high)."""
    weights = len(OPS) ** np.arange(labelings.shape[1] - 1, -1, -1)
    return labelings @ weights


_HEX_DIGIT = np.zeros(256, dtype=np.uint8)  # hex digit value of an ASCII byte (else 0)
_HEX_DIGIT[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint8)


def _hex_prefixes(text: np.ndarray) -> np.ndarray:
    """uint64 value of the first 16 hex digits of each row of ASCII bytes (K, >=16); rows
    that are not hex give some value (callers compare the full text afterwards)."""
    digits = _HEX_DIGIT[text[:, :16]]
    pairs = (digits[:, 0::2] << 4) | digits[:, 1::2]
    return np.ascontiguousarray(pairs).view(">u8").ravel().astype(np.uint64)


def _rows(bits: int, n: int) -> list[list[int]]:
    return [[(bits >> _bit_index(x, y)) & 1 if x < y else 0 for y in range(n)] for x in range(n)]


def _hash_chunk(args: tuple[int, list[tuple[int, int]]]) -> list[str]:
    n, items = args
    labelings = _labelings(n).tolist()
    return [hash_rows(_rows(bits, n), [-1, *labelings[code], -2]) for bits, code in items]


@dataclass
class _VertexCountPlan:
    n: int
    bits: np.ndarray          # (M,) ascending full-DAG matrices
    cell_of: np.ndarray       # (M, 3**(n-2)) provisional cell id of every labelled graph
    new_cells: list[tuple[int, int]]  # (bits, labeling code) of each class's first graph


def _plan_vertex_count(n: int, first_cell: int) -> _VertexCountPlan:
    bits = _full_dag_matrices(n)
    num_labelings = len(OPS) ** (n - 2)
    perms = _interior_permutations(n)
    permuted = np.stack([_permute_bits(bits, p, n) for p in perms])  # (P, M)
    valid = permuted >= 0
    canonical = np.where(valid, permuted, np.iinfo(np.int64).max).min(axis=0)
    labelings = _labelings(n)
    identity = np.arange(num_labelings)
    cell_of = np.full((len(bits), num_labelings), -1, dtype=np.int64)
    representative: dict[int, tuple[int, int]] = {}  # canonical bits -> (row, perm to canon)
    new_cells: list[tuple[int, int]] = []
    next_cell = first_cell
    for row in range(len(bits)):
        to_canon = int(np.argmax(permuted[:, row] == canonical[row]))
        key = int(canonical[row])
        if key not in representative:
            representative[key] = (row, to_canon)
            # Automorphisms: relabellings that give back the same matrix.
            autos = perms[permuted[:, row] == bits[row]]
            orbit_min = identity.copy()
            for auto in autos:
                inverse = np.argsort(auto)
                image = labelings[:, inverse[1:-1] - 1]  # label of new vertex u = L[auto^-1(u)]
                orbit_min = np.minimum(orbit_min, _codes(image))
            firsts = np.flatnonzero(orbit_min == identity)
            ids = np.full(num_labelings, -1, dtype=np.int64)
            ids[firsts] = np.arange(next_cell, next_cell + len(firsts))
            cell_of[row] = ids[orbit_min]
            new_cells.extend((int(bits[row]), int(code)) for code in firsts)
            next_cell += len(firsts)
        else:
            # Map this matrix onto the class representative: v -> rep^-1(canon(v)).
            rep_row, rep_perm = representative[key]
            q = np.argsort(perms[rep_perm])[perms[to_canon]]
            qinv = np.argsort(q)
            image = labelings[:, qinv[1:-1] - 1]
            cell_of[row] = cell_of[rep_row][_codes(image)]
    return _VertexCountPlan(n, bits, cell_of, new_cells)


def build_space(path: str | os.PathLike | None = None, *, processes: int | None = None,
                progress: bool = False) -> "CellSpace":
    """Enumerate the space exactly as ``generate_graphs.py`` and save it to ``path``.

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
    plans, offset = [], 0
    for n in range(2, NUM_VERTICES + 1):
        plan = _plan_vertex_count(n, offset)
        if len(plan.new_cells) != EXPECTED_CELLS[n]:
            raise RuntimeError(f"enumeration found {len(plan.new_cells)} cells with {n} vertices, "
                               f"expected {EXPECTED_CELLS[n]}")
        plans.append(plan)
        offset += len(plan.new_cells)
    jobs = []
    for plan in plans:
        for i in range(0, len(plan.new_cells), 4096):
            jobs.append((plan.n, plan.new_cells[i:i + 4096]))
    processes = processes or os.cpu_count() or 1
    if processes > 1:
        with get_context("fork" if os.name == "posix" else "spawn").Pool(processes) as pool:
            results = pool.imap(_hash_chunk, jobs)
            hashes = _collect(results, len(jobs), progress)
    else:
        hashes = _collect(map(_hash_chunk, jobs), len(jobs), progress)
    if len(set(hashes)) != len(hashes):
        raise RuntimeError("hash collision between non-isomorphic cells")
    hash_array = np.array(hashes, dtype="S32")
    order = np.argsort(hash_array, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))  # provisional id -> sorted position
    num_vertices = np.concatenate([np.full(len(p.new_cells), p.n, np.uint8) for p in plans])
    cell_bits = np.array([b for p in plans for b, _ in p.new_cells], dtype=np.uint32)
    codes = np.array([c for p in plans for _, c in p.new_cells], dtype=np.uint8)
    arrays = dict(
        format=np.array(SPACE_FORMAT),
        hashes=hash_array[order],
        num_vertices=num_vertices[order],
        bits=cell_bits[order],
        codes=codes[order],
        enumeration_rank=np.argsort(order).astype(np.int32),
        lookup_num_vertices=np.concatenate([np.full(len(p.bits), p.n, np.uint8) for p in plans]),
        lookup_bits=np.concatenate([p.bits for p in plans]).astype(np.uint32),
        lookup_cells=np.concatenate([rank[p.cell_of.ravel()] for p in plans]).astype(np.int32),
    )
    arrays["parameters"] = _cell_parameters(arrays["num_vertices"], arrays["bits"],
                                            arrays["codes"])
    path = user_path(path) if path is not None else default_cache_path()
    atomic_savez(path, **arrays)
    _log.info("built the space (%d cells) in %.1f s into %s", len(hashes),
              time.perf_counter() - start, path)
    return CellSpace(arrays, path)


def _collect(results: Iterable[list[str]], total: int, progress: bool) -> list[str]:
    if progress:
        from tqdm import tqdm
        results = tqdm(results, total=total, desc="hashing cells", unit="chunk")
    return [h for chunk in results for h in chunk]


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

    _ARRAYS = ("hashes", "num_vertices", "bits", "codes", "enumeration_rank",
               "lookup_num_vertices", "lookup_bits", "lookup_cells", "parameters")

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
            matrices = _dense_matrices(block)[:, :n, :n]
            stride = len(OPS) ** (n - 2)
            for i, (b, matrix) in enumerate(zip(block.tolist(), matrices)):
                matrix = np.ascontiguousarray(matrix)
                matrix.flags.writeable = False
                self._lookup_key[(n, b)] = first + i * stride
                self._matrix_key[matrix.tobytes()] = first + i * stride
                self._matrices[(n, b)] = matrix
            first += len(block) * stride
        self._ops_of: dict[int, list[tuple[str, ...]]] = {}  # V -> op lists in code order
        self._op_code: dict[tuple[str, ...], int] = {}       # op list -> labeling code
        for n in range(2, NUM_VERTICES + 1):
            self._ops_of[n] = [(INPUT, *(OPS[i] for i in labeling), OUTPUT)
                               for labeling in _labelings(n).tolist()]
            for code, ops in enumerate(self._ops_of[n]):
                self._op_code[ops] = code
        self._prefixes: np.ndarray | None = None  # see _hash_prefixes

    @classmethod
    def load(cls, path: str | os.PathLike) -> "CellSpace":
        """Read a space cache; one of an :data:`UPGRADABLE_FORMATS` is upgraded in memory.

        Raises
        ------
        TableError
            If the file is not a space cache of a known format.
        """
        path = user_path(path)
        try:
            with open_npz(path) as data:
                arrays = {name: data[name] for name in data.files}
        except (OSError, ValueError) as exc:
            raise TableError(f"{path} is not a space cache file: {exc}") from exc
        space_format = int(arrays.get("format", -1))
        needed = [name for name in cls._ARRAYS
                  if name != "parameters" or space_format == SPACE_FORMAT]
        if space_format not in (SPACE_FORMAT, *UPGRADABLE_FORMATS) or not all(
                name in arrays for name in needed):
            raise TableError(f"{path} is not a space cache of format {SPACE_FORMAT} "
                             f"(or an upgradable one: {list(UPGRADABLE_FORMATS)})")
        if len(arrays["hashes"]) != NUM_CELLS:
            raise TableError(f"{path} holds {len(arrays['hashes'])} cells, expected {NUM_CELLS}")
        if space_format != SPACE_FORMAT:
            _log.info("upgrading the space cache %s from format %d to %d", path, space_format,
                      SPACE_FORMAT)
            arrays["parameters"] = _cell_parameters(arrays["num_vertices"], arrays["bits"],
                                                    arrays["codes"])
        return cls(arrays, path)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the space as a cache file of the current format (atomically)."""
        path = user_path(path)
        atomic_savez(path, format=np.array(SPACE_FORMAT),
                     **{name: (self._parameters if name == "parameters" else getattr(self, name))
                        for name in self._ARRAYS})
        return path

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
        items = module_hashes if isinstance(module_hashes, (list, tuple)) else np.ravel(
            np.asarray(module_hashes))
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
            raise UnknownHashError(f"module hash {bad!r} is not a cell of NAS-Bench-101 "
                                   f"({int(missing.sum())} unknown hashes)")
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
            offset = (self._matrix_key.get(matrix.tobytes())
                      if isinstance(matrix, np.ndarray) and matrix.dtype is _INT8 else None)
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
        return self.graph_of(int(self.num_vertices[index]), int(self.bits[index]),
                             int(self.codes[index]))

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
                f"below 3**(V-2) are needed)")
        return matrix.copy(), list(labelings[code])

    def parameters(self, indices: np.ndarray | None = None) -> np.ndarray:
        """Exact trainable parameter counts (int64) of cells: the formula of
        :func:`nb101.model_spec.trainable_parameters`, stored with the space (computed once,
        vectorised, when the space is built). All cells (read-only) if ``indices`` is None."""
        return self._parameters if indices is None else self._parameters[np.asarray(indices)]

    def spec_from_hash(self, module_hash: str) -> ModelSpec:
        return self.spec(self.index_of_hash(module_hash))

    def dense(self, indices: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Canonical cells as arrays: adjacency (K, 7, 7) int8 in the top-left V x V block, and
        labels (K, 7) int8 with -1 input, -2 output, 0/1/2 = ``OPS`` index, -3 absent."""
        idx = np.arange(len(self)) if indices is None else np.asarray(indices)
        return _dense(self.num_vertices[idx], self.bits[idx], self.codes[idx])

    # ------------------------------------------------------------ sampling, neighbours
    def sample(self, size: int, seed: int | np.random.Generator | None = None,
               replace: bool = False) -> np.ndarray:
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
                    self._add_if_valid(found, matrix, [*ops[:v], op, *ops[v + 1:]])
        found.discard(own)
        return np.array(sorted(found), dtype=np.int64)

    def _add_if_valid(self, found: set[int], matrix: np.ndarray, ops: list[str]) -> None:
        try:
            found.add(self.index_of_spec(ModelSpec(matrix, ops)))
        except OutOfDomainError:
            pass


def _dense_matrices(bits: np.ndarray) -> np.ndarray:
    """(K, 7, 7) int8 upper-triangular adjacency of official edge bits."""
    bits = np.asarray(bits).astype(np.int64)
    adjacency = np.zeros((len(bits), NUM_VERTICES, NUM_VERTICES), dtype=np.int8)
    for y in range(1, NUM_VERTICES):
        for x in range(y):
            adjacency[:, x, y] = (bits >> _bit_index(x, y)) & 1
    return adjacency


def _dense(num_vertices: np.ndarray, bits: np.ndarray, codes: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Dense adjacency and labels of cells (see :meth:`CellSpace.dense`)."""
    nv = np.asarray(num_vertices).astype(np.int64)
    adjacency = _dense_matrices(bits)
    labels = np.full((len(nv), NUM_VERTICES), -3, dtype=np.int8)
    labels[:, 0] = -1
    codes = np.asarray(codes).astype(np.int64)
    for n in range(2, NUM_VERTICES + 1):
        sel = nv == n
        if not sel.any():
            continue
        rest = codes[sel].copy()
        block = np.empty((int(sel.sum()), n - 2), dtype=np.int8)
        for pos in range(n - 3, -1, -1):
            block[:, pos] = rest % 3
            rest //= 3
        labels[np.ix_(np.flatnonzero(sel), np.arange(1, n - 1))] = block
        labels[sel, n - 1] = -2
    return adjacency, labels


def _conv(kernel: int, cin, cout):
    return kernel * kernel * cin * cout + 2 * cout


def _cell_parameters(num_vertices: np.ndarray, bits: np.ndarray, codes: np.ndarray
                     ) -> np.ndarray:
    """Exact trainable parameter counts of cells, vectorised (int64 array).

    The formula of :func:`nb101.model_spec.trainable_parameters` (facts section 6.4)
    applied to the canonical representatives as arrays, so that no :class:`ModelSpec` is
    built: counting the whole space takes about a second.
    """
    adjacency, labels = _dense(num_vertices, bits, codes)
    adj = adjacency.astype(bool)
    k = len(adj)
    rows = np.arange(k)
    out_vertex = np.asarray(num_vertices).astype(np.int64) - 1
    vertex = np.arange(adj.shape[1])
    interior = (vertex[None, :] >= 1) & (vertex[None, :] < out_vertex[:, None])
    feeds = adj[rows, :, out_vertex] & interior               # interior -> output
    from_input = adj[:, 0, :] & interior                       # input -> interior
    input_to_output = adj[rows, 0, out_vertex]
    conv3 = (labels == 0) & interior
    conv1 = (labels == 1) & interior
    num_feeders = feeds.sum(axis=1)
    rank = np.cumsum(feeds, axis=1) - 1                        # extra channels go first
    total = np.full(k, _conv(3, 3, 128) + 512 * 10 + 10, dtype=np.int64)
    for cout, modules in ((128, ((128, 3),)), (256, ((128, 1), (256, 2))),
                          (512, ((256, 1), (512, 2)))):
        # vertex channels depend on cout only (facts 6.3)
        share, extra = np.divmod(cout, np.maximum(num_feeders, 1))
        vc = np.where(feeds, share[:, None] + (rank < extra[:, None]), 0).astype(np.int64)
        for v in range(adj.shape[1] - 2, 0, -1):  # non-feeders: max of interior successors
            best = np.where(adj[:, v, :] & interior, vc, 0).max(axis=1)
            fill = interior[:, v] & ~feeds[:, v]
            vc[fill, v] = best[fill]
        ops_part = (np.where(conv3, _conv(3, vc, vc), 0)
                    + np.where(conv1, _conv(1, vc, vc), 0)).sum(axis=1)
        projected = np.where(from_input, vc, 0).sum(axis=1)    # sum of vc[t] over 0 -> t
        for cin, count in modules:
            module_total = (ops_part + cin * projected + 2 * projected
                            + np.where(input_to_output, _conv(1, cin, cout), 0))
            total += count * module_total
    return total


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
    if path.name != _cache_name(SPACE_FORMAT):
        return None
    for old_format in sorted(UPGRADABLE_FORMATS, reverse=True):
        old = path.with_name(_cache_name(old_format))
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
