"""The enumeration of the NAS-Bench-101 space: 423,624 cells as arrays, sorted by module hash.

``generate_graphs.py`` walks V = 2..7, every edge-bit pattern in ascending order and every
labeling in ``itertools.product`` order, and keeps the first graph met for each hash as its
canonical representative. Hashing all 1,293,208 labelled graphs that way takes minutes in
pure Python, so :func:`enumerate_space` hashes only one graph per isomorphism class:

* a matrix isomorphic to an earlier one adds no new hash (each of its labelings is isomorphic
  to a labeling of the earlier matrix), so only the first matrix of each unlabelled class is
  labelled;
* two labelings of one matrix related by an automorphism are isomorphic, so only the smallest
  labeling of each orbit is hashed.

The first graph met of every class is one of those hashed, so the representatives are the
official ones. The enumeration also gives, for every labelled graph of the walk (that is,
every pruned valid cell as a user may write it), the index of its cell, so that looking a
cell up is an exact table lookup instead of an md5 fingerprint.

A graph is stored as its vertex count, its official edge bits (``gen_is_edge_fn``) and the
position of its labeling in ``itertools.product(range(3), repeat=V-2)`` order (its code);
:func:`dense_matrices` and :func:`dense_cells` decode them into arrays.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np

from .hashing import hash_rows
from .model_spec import MAX_EDGES, NUM_VERTICES, OPS

__all__ = [
    "enumerate_space",
    "dense_matrices",
    "dense_cells",
    "interior_labelings",
    "EXPECTED_CELLS",
    "NUM_CELLS",
]

#: Unique cells per vertex count (facts section 4); the enumeration checks them.
EXPECTED_CELLS = {2: 1, 3: 6, 4: 84, 5: 2441, 6: 62010, 7: 359082}
NUM_CELLS = 423_624


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


def interior_labelings(n: int) -> np.ndarray:
    """Interior labelings in ``itertools.product`` order, shape (3**(n-2), n-2)."""
    return np.array(list(itertools.product(range(len(OPS)), repeat=n - 2)), dtype=np.int64).reshape(
        len(OPS) ** (n - 2), n - 2
    )


def _codes(labelings: np.ndarray) -> np.ndarray:
    """Position of each labeling in ``itertools.product`` order (base 3, first digit high)."""
    weights = len(OPS) ** np.arange(labelings.shape[1] - 1, -1, -1)
    return labelings @ weights


def _rows(bits: int, n: int) -> list[list[int]]:
    return [[(bits >> _bit_index(x, y)) & 1 if x < y else 0 for y in range(n)] for x in range(n)]


def _hash_chunk(args: tuple[int, list[tuple[int, int]]]) -> list[str]:
    n, items = args
    labelings = interior_labelings(n).tolist()
    return [hash_rows(_rows(bits, n), [-1, *labelings[code], -2]) for bits, code in items]


@dataclass
class _VertexCountPlan:
    n: int
    bits: np.ndarray  # (M,) ascending full-DAG matrices
    cell_of: np.ndarray  # (M, 3**(n-2)) provisional cell id of every labelled graph
    new_cells: list[tuple[int, int]]  # (bits, labeling code) of each class's first graph


def _plan_vertex_count(n: int, first_cell: int) -> _VertexCountPlan:
    bits = _full_dag_matrices(n)
    num_labelings = len(OPS) ** (n - 2)
    perms = _interior_permutations(n)
    permuted = np.stack([_permute_bits(bits, p, n) for p in perms])  # (P, M)
    valid = permuted >= 0
    canonical = np.where(valid, permuted, np.iinfo(np.int64).max).min(axis=0)
    labelings = interior_labelings(n)
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


def enumerate_space(
    *, processes: int | None = None, progress: bool = False
) -> dict[str, np.ndarray]:
    """Enumerate the space exactly as ``generate_graphs.py``.

    Parameters
    ----------
    processes : int, optional
        Worker processes for hashing (default: all cores).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    dict of str to ndarray
        In ascending hash order: ``hashes`` (S32), ``num_vertices``, ``bits`` and ``codes`` of
        the canonical representatives, ``enumeration_rank`` (position in the walk's order);
        the lookup of every labelled graph of the walk: ``lookup_num_vertices`` and
        ``lookup_bits`` of each full-DAG matrix, and ``lookup_cells``, the cell of each of its
        labelings (matrix blocks in order, labelings by code within a block).
    """
    plans, offset = [], 0
    for n in range(2, NUM_VERTICES + 1):
        plan = _plan_vertex_count(n, offset)
        if len(plan.new_cells) != EXPECTED_CELLS[n]:
            raise RuntimeError(
                f"enumeration found {len(plan.new_cells)} cells with {n} vertices, "
                f"expected {EXPECTED_CELLS[n]}"
            )
        plans.append(plan)
        offset += len(plan.new_cells)
    jobs = []
    for plan in plans:
        for i in range(0, len(plan.new_cells), 4096):
            jobs.append((plan.n, plan.new_cells[i : i + 4096]))
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
    return dict(
        hashes=hash_array[order],
        num_vertices=num_vertices[order],
        bits=cell_bits[order],
        codes=codes[order],
        enumeration_rank=np.argsort(order).astype(np.int32),
        lookup_num_vertices=np.concatenate([np.full(len(p.bits), p.n, np.uint8) for p in plans]),
        lookup_bits=np.concatenate([p.bits for p in plans]).astype(np.uint32),
        lookup_cells=np.concatenate([rank[p.cell_of.ravel()] for p in plans]).astype(np.int32),
    )


def _collect(results: Iterable[list[str]], total: int, progress: bool) -> list[str]:
    if progress:
        from tqdm import tqdm

        results = tqdm(results, total=total, desc="hashing cells", unit="chunk")
    return [h for chunk in results for h in chunk]


def dense_matrices(bits: np.ndarray) -> np.ndarray:
    """(K, 7, 7) int8 upper-triangular adjacency of official edge bits."""
    bits = np.asarray(bits).astype(np.int64)
    adjacency = np.zeros((len(bits), NUM_VERTICES, NUM_VERTICES), dtype=np.int8)
    for y in range(1, NUM_VERTICES):
        for x in range(y):
            adjacency[:, x, y] = (bits >> _bit_index(x, y)) & 1
    return adjacency


def dense_cells(
    num_vertices: np.ndarray, bits: np.ndarray, codes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dense adjacency (K, 7, 7) int8 and labels (K, 7) int8 of cells (see
    :meth:`nb101.CellSpace.dense`)."""
    nv = np.asarray(num_vertices).astype(np.int64)
    adjacency = dense_matrices(bits)
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
