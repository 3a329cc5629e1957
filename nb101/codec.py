"""Index-level cell operations: genotypes, decoding, mutation, neighbours, the edit graph.

A *genotype* is an unpruned 7-vertex cell as the NAS-Bench-101 notebook's ``random_spec`` and
``mutate_spec`` handle it: 21 upper-triangle edge bits (official ``gen_is_edge_fn`` order,
bit ``x + y*(y-1)//2`` for the edge x -> y) packed in a ``uint32`` plus 5 interior labels
(0/1/2 = index in :data:`nb101.OPS`). :class:`CellCodec` turns batches of genotypes into
cell indices of :func:`nb101.get_space` without building a ``ModelSpec`` (prune by
reachability, count edges, exact table lookup), which makes a mutation or a neighbourhood cost
microseconds instead of a millisecond, and the whole space's one-edit graph
(:meth:`CellCodec.neighbour_graph`) seconds.

Every cell also has a *padded encoding*: its canonical representative with the output moved to
vertex 6 and the missing vertices (if it has fewer than 7) left without edges and labelled
:data:`ABSENT`. It is the genotype an optimizer starts from when it samples a cell index, and
the encoding on which the multi-fidelity track measures distances (``edge bits XOR`` popcount
plus the number of differing labels, i.e. an edit distance on the padded encoding).

Example
-------
>>> codec = get_codec()
>>> edges, labels = codec.encode(np.array([0, 1]))
>>> codec.decode(edges, labels)
array([0, 1])
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import sparse

from .cell_space import CellSpace, get_space
from .model_spec import MAX_EDGES, NUM_VERTICES, OPS

__all__ = ["CellCodec", "get_codec", "ABSENT", "NUM_EDGE_BITS", "NUM_OP_SPOTS"]

#: Cells whose one-edit genotypes (about 31 each) are decoded at once when the whole space's
#: graph is built (bounds the memory).
_GRAPH_CHUNK = 4096

NUM_EDGE_BITS = NUM_VERTICES * (NUM_VERTICES - 1) // 2  # 21
NUM_OP_SPOTS = NUM_VERTICES - 2  # 5
#: Label of a vertex the padded encoding adds to a cell with fewer than 7 vertices.
ABSENT = 3

_PAIRS = [(x, y) for y in range(1, NUM_VERTICES) for x in range(y)]  # bit order
# every (interior spot, op) pair an op change can write
_SPOTS, _NEW_OPS = (a.ravel() for a in np.meshgrid(np.arange(NUM_OP_SPOTS), np.arange(len(OPS))))
_BIT = np.array([x + y * (y - 1) // 2 for x, y in _PAIRS], dtype=np.int64)
_POP8 = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


def popcount32(x: np.ndarray) -> np.ndarray:
    """Number of set bits of each uint32 (vectorised)."""
    x = np.asarray(x, dtype=np.uint32)
    return (
        _POP8[x & 0xFF] + _POP8[(x >> 8) & 0xFF] + _POP8[(x >> 16) & 0xFF] + _POP8[(x >> 24) & 0xFF]
    ).astype(np.int64)


def _bit_of(x: int, y: int) -> int:
    return x + y * (y - 1) // 2


class CellCodec:
    """Vectorised genotype <-> cell-index conversion over one :class:`nb101.CellSpace`.

    Use :func:`get_codec` (one instance per space and process).

    Attributes
    ----------
    edges : ndarray of uint32, shape (N,)
        Padded 7-vertex edge bits of every cell's canonical representative.
    labels : ndarray of int8, shape (N, 5)
        Padded interior labels (0/1/2, :data:`ABSENT` for padding vertices).
    """

    def __init__(self, space: CellSpace):
        self.space = space
        self.num_cells = len(space)
        # exact lookup: per vertex count the sorted edge bits of the enumerated full DAGs
        self._blocks = {}
        row = 0
        for n in range(2, NUM_VERTICES + 1):
            first, count = space._lookup_start[n]
            bits = space.lookup_bits[row : row + count].astype(np.int64)
            self._blocks[n] = (bits, first, len(OPS) ** (n - 2))
            row += count
        self.edges, self.labels = self._padded_encoding()
        self._graph: sparse.csr_matrix | None = None

    # ------------------------------------------------------------------ encodings
    def _padded_encoding(self) -> tuple[np.ndarray, np.ndarray]:
        space = self.space
        nv = space.num_vertices.astype(np.int64)
        bits = space.bits.astype(np.int64)
        edges = np.zeros(len(space), dtype=np.int64)
        for n in range(2, NUM_VERTICES + 1):
            sel = nv == n
            b = bits[sel]
            out = np.zeros(len(b), dtype=np.int64)
            place = list(range(n - 1)) + [NUM_VERTICES - 1]  # output moves to vertex 6
            for y in range(1, n):
                for x in range(y):
                    present = (b >> _bit_of(x, y)) & 1
                    out |= present << _bit_of(place[x], place[y])
            edges[sel] = out
        _, dense_labels = space.dense()
        labels = np.full((len(space), NUM_OP_SPOTS), ABSENT, dtype=np.int8)
        for n in range(3, NUM_VERTICES + 1):
            sel = nv == n
            labels[sel, : n - 2] = dense_labels[sel, 1 : n - 1]
        return edges.astype(np.uint32), labels

    def encode(
        self, indices: np.ndarray, rng: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Genotypes of cells: the padded encoding, padding labels drawn from ``rng``
        (label 0 if no ``rng``), so that a mutation can switch the padding vertices on."""
        indices = np.asarray(indices, dtype=np.int64)
        edges = self.edges[indices].copy()
        labels = self.labels[indices].copy()
        absent = labels == ABSENT
        if absent.any():
            labels[absent] = rng.integers(0, len(OPS), int(absent.sum())) if rng is not None else 0
        return edges, labels

    # ---------------------------------------------------------------------- decode
    def decode(self, edges: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Cell index of each genotype, -1 where it is not a valid cell.

        Pruning follows ``ModelSpec._prune`` (keep the vertices on an input-to-output path);
        validity follows ``_check_spec`` (connected, at most 9 edges after pruning).
        """
        edges = np.atleast_1d(np.asarray(edges)).astype(np.int64)
        labels = np.atleast_2d(np.asarray(labels)).astype(np.int64)
        k = len(edges)
        if k <= 4:  # pure-Python path: numpy overhead dominates tiny batches
            return np.array(
                [self.decode_one(int(e), lab) for e, lab in zip(edges.tolist(), labels.tolist())],
                dtype=np.int64,
            )
        adj = ((edges[:, None] >> _BIT[None, :]) & 1).astype(bool)  # (K, 21)
        a = np.zeros((k, NUM_VERTICES, NUM_VERTICES), dtype=bool)
        xs = np.array([p[0] for p in _PAIRS])
        ys = np.array([p[1] for p in _PAIRS])
        a[:, xs, ys] = adj
        fwd = np.zeros((k, NUM_VERTICES), dtype=bool)
        fwd[:, 0] = True
        for v in range(1, NUM_VERTICES):
            fwd[:, v] = (fwd[:, :v] & a[:, :v, v]).any(1)
        bwd = np.zeros((k, NUM_VERTICES), dtype=bool)
        bwd[:, -1] = True
        for v in range(NUM_VERTICES - 2, -1, -1):
            bwd[:, v] = (bwd[:, v + 1 :] & a[:, v, v + 1 :]).any(1)
        live = fwd & bwd
        valid = live[:, 0].copy()
        n = live.sum(1)
        pos = np.cumsum(live, axis=1) - 1
        kept = adj & live[:, xs] & live[:, ys]
        valid &= kept.sum(1) <= MAX_EDGES
        px, py = pos[:, xs], pos[:, ys]
        newbit = px + py * (py - 1) // 2
        pruned = (kept.astype(np.int64) << np.where(kept, newbit, 0)).sum(1)
        interior_live = live[:, 1:-1]
        code = np.zeros(k, dtype=np.int64)
        for j in range(NUM_OP_SPOTS):
            code = np.where(interior_live[:, j], code * 3 + labels[:, j], code)
        out = np.full(k, -1, dtype=np.int64)
        for nn in np.unique(n[valid]):
            sel = valid & (n == nn)
            bits, first, stride = self._blocks[int(nn)]
            row = np.searchsorted(bits, pruned[sel])
            out[sel] = self.space.lookup_cells[first + row * stride + code[sel]]
        return out

    def decode_one(self, edges: int, labels) -> int:
        """:meth:`decode` of one genotype (``int`` bits, 5 labels) in pure Python."""
        pred = [0] * NUM_VERTICES
        for b, (x, y) in enumerate(_PAIRS):
            if (edges >> b) & 1:
                pred[y] |= 1 << x
        fwd = 1
        for v in range(1, NUM_VERTICES):
            if pred[v] & fwd:
                fwd |= 1 << v
        bwd = 1 << (NUM_VERTICES - 1)
        for v in range(NUM_VERTICES - 1, 0, -1):
            if (bwd >> v) & 1:
                bwd |= pred[v]
        live = fwd & bwd
        if not live & 1:
            return -1
        keep = [v for v in range(NUM_VERTICES) if (live >> v) & 1]
        new = {v: i for i, v in enumerate(keep)}
        bits, count = 0, 0
        for v in keep[1:]:
            p = pred[v] & live
            for u in keep:
                if (p >> u) & 1:
                    bits |= 1 << _bit_of(new[u], new[v])
                    count += 1
        if count > MAX_EDGES:
            return -1
        code = 0
        for v in keep[1:-1]:
            code = code * 3 + int(labels[v - 1])
        n = len(keep)
        return int(self.space.lookup_cells[self.space._lookup_key[(n, bits)] + code])

    # --------------------------------------------------------------------- moves
    def neighbours(self, index: int) -> np.ndarray:
        """Cells at edit distance 1 (same set as :meth:`CellSpace.neighbours`), sorted."""
        return self._neighbours(int(index))

    def _one_edit(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every one-edit genotype of ``cells``' padded encodings, as ``(source cell, edges,
        labels)``: each of the 21 edge bits flipped, or one live interior op changed. A vertex
        an added edge brings in is labelled 0, as a padding vertex is decoded."""
        edges, labels = self.edges[cells], self.labels[cells]
        filled = np.where(labels == ABSENT, 0, labels)
        flips = np.uint32(1) << np.arange(NUM_EDGE_BITS, dtype=np.uint32)
        row, k = np.nonzero((labels[:, _SPOTS] != ABSENT) & (labels[:, _SPOTS] != _NEW_OPS))
        changed = filled[row]
        changed[np.arange(len(row)), _SPOTS[k]] = _NEW_OPS[k]
        return (
            np.concatenate([np.repeat(cells, NUM_EDGE_BITS), cells[row]]),
            np.concatenate([(edges[:, None] ^ flips[None, :]).ravel(), edges[row]]),
            np.concatenate([np.repeat(filled, NUM_EDGE_BITS, axis=0), changed]),
        )

    # The codec lives as long as its track; the bounded cache is what keeps it alive.
    @lru_cache(maxsize=200_000)  # noqa: B019
    def _neighbours(self, index: int) -> np.ndarray:
        _, edges, labels = self._one_edit(np.array([index]))
        cells = self.decode(edges, labels)
        cells = np.unique(cells[cells >= 0])
        out = cells[cells != index]
        out.setflags(write=False)
        return out

    def neighbour_graph(self) -> sparse.csr_matrix:
        """The whole space's one-edit graph, built once per codec: a sparse 0/1 matrix whose
        row ``i`` holds :meth:`neighbours` ``(i)``, vectorised over all cells.

        It is not symmetric: an edit that cuts a vertex off the input-to-output paths leads to
        a smaller, pruned cell, from which one edit does not lead back."""
        if self._graph is None:
            rows, cols = [], []
            for start in range(0, self.num_cells, _GRAPH_CHUNK):
                cells = np.arange(start, min(start + _GRAPH_CHUNK, self.num_cells))
                sources, edges, labels = self._one_edit(cells)
                got = self.decode(edges, labels)
                keep = (got >= 0) & (got != sources)
                rows.append(sources[keep])
                cols.append(got[keep])
            r, c = np.concatenate(rows), np.concatenate(cols)
            graph = sparse.csr_matrix(
                (np.ones(len(r), dtype=np.float32), (r, c)), shape=(self.num_cells,) * 2
            )
            graph.data[:] = 1  # two edits reaching the same cell are one neighbour
            self._graph = graph
        return self._graph

    def mutate(
        self,
        edges: np.ndarray,
        labels: np.ndarray,
        rng: np.random.Generator,
        mutation_rate: float = 1.0,
        max_tries: int = 1000,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The notebook's ``mutate_spec`` for a batch of genotypes.

        Each of the 21 edge bits flips with probability ``mutation_rate / 7``; each interior op
        is replaced by a *different* op with probability ``mutation_rate / 5``; a genotype
        whose result is not a valid cell is mutated again from the parent (retried until
        valid). Returns ``(edges, labels, cells)`` of the children.
        """
        edges = np.asarray(edges, dtype=np.uint32).copy()
        labels = np.asarray(labels, dtype=np.int8).copy()
        out_e, out_l = edges.copy(), labels.copy()
        cells = np.full(len(edges), -1, dtype=np.int64)
        todo = np.arange(len(edges))
        for _ in range(max_tries):
            m = len(todo)
            flips = rng.random((m, NUM_EDGE_BITS)) < mutation_rate / NUM_VERTICES
            mask = (flips.astype(np.int64) << _BIT[None, :]).sum(1).astype(np.uint32)
            new_e = edges[todo] ^ mask
            change = rng.random((m, NUM_OP_SPOTS)) < mutation_rate / NUM_OP_SPOTS
            shift = rng.integers(1, len(OPS), (m, NUM_OP_SPOTS))
            new_l = np.where(change, (labels[todo] + shift) % len(OPS), labels[todo])
            got = self.decode(new_e, new_l)
            ok = got >= 0
            out_e[todo[ok]] = new_e[ok]
            out_l[todo[ok]] = new_l[ok]
            cells[todo[ok]] = got[ok]
            todo = todo[~ok]
            if not len(todo):
                return out_e, out_l, cells
        raise RuntimeError(f"no valid mutation found in {max_tries} tries")

    def random_genotypes(
        self, size: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Uniform genotypes (every edge bit and label uniform), valid or not."""
        edges = (
            (rng.integers(0, 2, (size, NUM_EDGE_BITS)).astype(np.int64) << _BIT[None, :])
            .sum(1)
            .astype(np.uint32)
        )
        return edges, rng.integers(0, len(OPS), (size, NUM_OP_SPOTS)).astype(np.int8)

    # -------------------------------------------------------------------- distance
    def distances(self, index: int, candidates: np.ndarray) -> np.ndarray:
        """Edit distance on the padded encoding between cell ``index`` and each candidate:
        differing edge bits plus differing labels (absent counts as a fourth label)."""
        d = popcount32(self.edges[candidates] ^ self.edges[index])
        return d + (self.labels[candidates] != self.labels[index]).sum(1)


_CODECS: dict[int, CellCodec] = {}


def get_codec(space: CellSpace | None = None) -> CellCodec:
    """The shared :class:`CellCodec` of ``space`` (default :func:`nb101.get_space`)."""
    space = space if space is not None else get_space()
    if id(space) not in _CODECS:
        _CODECS[id(space)] = CellCodec(space)
    return _CODECS[id(space)]
