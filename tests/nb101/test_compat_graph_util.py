"""``nb101.compat.graph_util``: every behaviour the original graph_util tests check, and more."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nb101 import hash_module as project_hash_module
from nb101.compat import graph_util
from nb101.model_spec import edge_bits, matrix_from_bits

# (x, y) of bits 0, 1, 2, ...: the upper triangle column by column
BIT_ORDER = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3), (0, 4), (1, 4), (2, 4), (3, 4)]


def _matrix(n: int, edges) -> np.ndarray:
    m = np.zeros((n, n), dtype=int)
    for src, dst in edges:
        m[src, dst] = 1
    return m


def _edge_matrix(bits: int, n: int) -> np.ndarray:
    return np.fromfunction(graph_util.gen_is_edge_fn(bits), (n, n), dtype=np.int8)


# ------------------------------------------------------------------------ gen_is_edge_fn
@pytest.mark.parametrize("bit, edge", list(enumerate(BIT_ORDER)))
def test_gen_is_edge_single_bit(bit, edge):
    assert _edge_matrix(1 << bit, 5).tolist() == _matrix(5, [edge]).tolist()


def test_gen_is_edge_examples():
    assert not _edge_matrix(0, 3).any()
    assert _edge_matrix(0b110, 3).tolist() == [[0, 0, 1], [0, 0, 1], [0, 0, 0]]
    assert _edge_matrix(0b111, 3).tolist() == [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    # the same bits mean the same edges in a bigger matrix (padded with zeros)
    assert _edge_matrix(0b111, 5)[:3, :3].tolist() == _edge_matrix(0b111, 3).tolist()
    assert not _edge_matrix(0b111, 5)[3:].any() and not _edge_matrix(0b111, 5)[:, 3:].any()
    # bits beyond the matrix are ignored; the edge test also takes scalars
    assert _edge_matrix(1 << 9, 4).sum() == 0
    fn = graph_util.gen_is_edge_fn(0b100)
    assert fn(1, 2) == 1 and fn(0, 1) == 0 and fn(2, 1) == 0


@pytest.mark.parametrize("n", range(2, 8))
def test_gen_is_edge_matches_the_project_bits(n):
    rng = np.random.default_rng(n)
    for bits in rng.integers(0, 1 << (n * (n - 1) // 2), size=50).tolist():
        matrix = _edge_matrix(bits, n)
        assert np.array_equal(matrix, matrix_from_bits(bits, n))
        assert edge_bits(matrix) == bits


def test_gen_is_edge_rejects_negative_bits():
    with pytest.raises(ValueError, match="non-negative"):
        graph_util.gen_is_edge_fn(-1)


# ---------------------------------------------------------------- DAG checks, edges
@pytest.mark.parametrize(
    "edges, n, full",
    [
        ([(0, 1), (1, 2)], 3, True),  # chain
        ([(0, 1), (0, 2), (1, 2)], 3, True),  # chain plus a skip
        ([(0, 1), (0, 2), (1, 3), (2, 3)], 4, True),  # diamond
        ([(0, 2), (1, 2)], 3, False),  # 1 not reached from input
        ([(0, 1), (0, 2)], 3, False),  # 1 reaches no output
        ([(0, 2), (2, 4), (1, 3)], 5, False),  # 1 -> 3 an island
        ([(0, 2), (1, 3)], 4, False),  # no input -> output path
        ([(0, 1), (1, 3)], 4, False),  # 2 isolated
    ],
)
def test_is_full_dag(edges, n, full):
    assert graph_util.is_full_dag(_matrix(n, edges)) is full


@pytest.mark.parametrize(
    "matrix, upper",
    [
        (np.zeros((4, 4), int), True),
        (np.triu(np.ones((4, 4), int), 1), True),
        (_matrix(4, [(0, 1), (2, 0)]), False),  # below the diagonal
        (np.tril(np.ones((4, 4), int)), False),
        (np.eye(3, dtype=int), False),  # on the diagonal
        ([[0]], True),
        ([[1]], False),
    ],
)
def test_is_upper_triangular(matrix, upper):
    assert graph_util.is_upper_triangular(matrix) is upper


def test_num_edges():
    assert graph_util.num_edges(_matrix(5, [(0, 1), (1, 4), (0, 4)])) == 3
    assert graph_util.num_edges(np.zeros((2, 2), dtype=bool)) == 0
    assert isinstance(graph_util.num_edges(np.ones((3, 3), dtype=np.int8)), int)


# -------------------------------------------------------------------------- hash_module
def test_hash_is_the_project_hash_with_the_reference_values():
    assert graph_util.hash_module is project_hash_module
    inception = _matrix(7, [(0, 1), (0, 2), (0, 3), (0, 5), (1, 6), (2, 6), (3, 4), (4, 6), (5, 6)])
    assert graph_util.hash_module(inception, [-1, 1, 0, 0, 0, 2, -2]) == (
        "28cfc7874f6d200472e1a9dcd8650aa0"
    )
    assert graph_util.hash_module([[0, 1], [0, 0]], [-1, -2]) == (
        "043721b9c7fe8c5fad811d47d83132ec"
    )
    sample = np.array(
        [int(c) for c in "0100110001000000010010000010000001000000010000000"]
    ).reshape(7, 7)
    assert graph_util.hash_module(sample, [-1, 0, 2, 0, 0, 1, -2]) == (
        "00005c142e6f48ac74fdcf73e3439874"
    )


def test_hash_ignores_the_matrix_type():
    m = _matrix(4, [(0, 1), (0, 2), (1, 3), (2, 3)])
    labels = [-1, 0, 2, -2]
    expected = graph_util.hash_module(m, labels)
    for variant in (m.astype(bool), m.astype(np.int8), m.tolist(), m.astype(np.uint8)):
        assert graph_util.hash_module(variant, labels) == expected
    assert graph_util.hash_module(m, np.array(labels)) == expected


def test_hash_of_isomorphic_and_non_isomorphic_graphs():
    diamond = _matrix(4, [(0, 1), (0, 2), (1, 3), (2, 3)])
    # swapping the labels of the two symmetric branches changes nothing
    assert graph_util.hash_module(diamond, [-1, 0, 1, -2]) == graph_util.hash_module(
        diamond, [-1, 1, 0, -2]
    )
    # the same labelled graph written with its interior vertices in another order
    a = _matrix(5, [(0, 1), (0, 2), (1, 4), (2, 3), (3, 4)])
    b = _matrix(5, [(0, 1), (0, 3), (1, 2), (2, 4), (3, 4)])
    assert graph_util.hash_module(a, [-1, 7, 8, 9, -2]) == graph_util.hash_module(
        b, [-1, 8, 9, 7, -2]
    )
    assert graph_util.hash_module(a, [-1, 7, 8, 9, -2]) != graph_util.hash_module(
        a, [-1, 8, 9, 7, -2]
    )
    chain = _matrix(5, [(0, 1), (1, 2), (2, 3), (3, 4)])
    # where a label sits along a chain matters (each vertex hashes itself too)
    assert graph_util.hash_module(chain, [-1, 1, 0, 0, -2]) != graph_util.hash_module(
        chain, [-1, 0, 0, 1, -2]
    )
    # edge directions matter
    skip = _matrix(4, [(0, 1), (1, 2), (2, 3), (0, 3)])
    assert graph_util.hash_module(skip, [-1, 1, 0, -2]) != graph_util.hash_module(
        skip, [-1, 0, 1, -2]
    )
    # in-neighbours matter, not only out-neighbours
    fan = _matrix(7, [(0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (2, 6), (3, 5), (4, 5), (5, 6)])
    assert graph_util.hash_module(fan, [-1, 1, 0, 0, 0, 0, -2]) != graph_util.hash_module(
        fan, [-1, 0, 0, 0, 1, 0, -2]
    )


@pytest.mark.parametrize("seed", range(5))
def test_hash_is_invariant_under_permutation_of_any_directed_graph(seed):
    """Random directed graphs of 3-20 vertices with cycles and self-loops: a permuted copy
    hashes the same, and the permuted copy is isomorphic (checked where cheap)."""
    rng = np.random.default_rng(seed)
    for _ in range(100):
        n = int(rng.integers(3, 21))
        matrix = rng.integers(0, 2, size=(n, n))
        labels = rng.integers(0, 11, size=n).tolist()
        perm = rng.permutation(n).tolist()
        pmatrix, plabels = graph_util.permute_graph(matrix, labels, perm)
        assert graph_util.hash_module(matrix, labels) == graph_util.hash_module(pmatrix, plabels)
        if n <= 8:
            assert graph_util.is_isomorphic((matrix, labels), (pmatrix, plabels))


def _bipartite_cell(middle) -> np.ndarray:
    """10 vertices: input -> four label-1 vertices, the middle edges to four label-2
    vertices, which feed the output."""
    return _matrix(10, [(0, a) for a in range(1, 5)] + [(b, 9) for b in range(5, 9)] + list(middle))


def test_counterexample_equal_hashes_of_non_isomorphic_graphs():
    """The hash is not a perfect identifier: a middle of two 4-cycles and a middle of one
    8-cycle (both 2-regular bipartite) hash the same but are not isomorphic."""
    two_cycles = _bipartite_cell([(1, 5), (1, 6), (2, 5), (2, 6), (3, 7), (3, 8), (4, 7), (4, 8)])
    one_cycle = _bipartite_cell([(1, 5), (1, 6), (2, 6), (2, 7), (3, 7), (3, 8), (4, 8), (4, 5)])
    labels = [-1, 1, 1, 1, 1, 2, 2, 2, 2, -2]
    assert graph_util.hash_module(two_cycles, labels) == graph_util.hash_module(one_cycle, labels)
    assert not graph_util.is_isomorphic((two_cycles, labels), (one_cycle, labels))
    assert graph_util.is_isomorphic((two_cycles, labels), (two_cycles, labels))


# ------------------------------------------------------------------------ permute_graph
def test_permute_graph_example():
    matrix = np.array([[1, 1, 0], [0, 0, 1], [1, 0, 1]])  # not a DAG: self-loops, a cycle
    pmatrix, plabels = graph_util.permute_graph(matrix, ["a", "b", "c"], [2, 0, 1])
    assert plabels == ["b", "c", "a"]
    assert pmatrix.dtype == bool
    assert pmatrix.astype(int).tolist() == [[0, 1, 0], [0, 1, 1], [1, 0, 1]]
    pmatrix, plabels = graph_util.permute_graph(matrix, ["a", "b", "c"], (0, 2, 1))
    assert plabels == ["a", "c", "b"]
    assert pmatrix.astype(int).tolist() == [[1, 0, 1], [1, 1, 0], [0, 1, 0]]


def test_permute_graph_moves_every_edge():
    rng = np.random.default_rng(3)
    matrix = rng.integers(0, 2, size=(6, 6))
    perm = rng.permutation(6)
    pmatrix, plabels = graph_util.permute_graph(matrix, list("uvwxyz"), perm)
    for v, w in itertools.product(range(6), repeat=2):
        assert pmatrix[perm[v], perm[w]] == matrix[v, w]
    assert [plabels[perm[v]] for v in range(6)] == list("uvwxyz")


@pytest.mark.parametrize("perm", [[0, 0, 1], [0, 1], [1, 2, 3]])
def test_permute_graph_rejects_a_bad_permutation(perm):
    with pytest.raises(ValueError, match="permutation"):
        graph_util.permute_graph(np.zeros((3, 3), int), ["a", "b", "c"], perm)


# ------------------------------------------------------------------------ is_isomorphic
def _brute_force(graph1, graph2) -> bool:
    """The definition, literally: some permutation maps graph1 exactly onto graph2."""
    n = len(graph1[1])
    return any(
        np.array_equal(p[0], np.asarray(graph2[0]) == 1) and p[1] == list(graph2[1])
        for p in (
            graph_util.permute_graph(graph1[0], graph1[1], perm)
            for perm in itertools.permutations(range(n))
        )
    )


def test_is_isomorphic_examples():
    diamond = _matrix(4, [(0, 1), (0, 2), (1, 3), (2, 3)])
    assert graph_util.is_isomorphic((diamond, [-1, 1, 2, -2]), (diamond, [-1, 2, 1, -2]))
    a = _matrix(5, [(0, 1), (0, 2), (1, 4), (2, 3), (3, 4)])
    b = _matrix(5, [(0, 1), (0, 3), (1, 2), (2, 4), (3, 4)])
    assert graph_util.is_isomorphic((a, [-1, 7, 8, 9, -2]), (b, [-1, 8, 9, 7, -2]))
    assert not graph_util.is_isomorphic((a, [-1, 7, 8, 9, -2]), (b, [-1, 7, 8, 9, -2]))
    # same degrees and labels everywhere, different wiring
    c = _matrix(6, [(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 5), (1, 4)])
    d = _matrix(6, [(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 5), (2, 3)])
    assert graph_util.is_isomorphic((c, [0] * 6), (d, [0] * 6))  # mirror images
    e = _matrix(6, [(0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 5), (1, 2)])
    assert not graph_util.is_isomorphic((c, [0] * 6), (e, [0] * 6))


def test_is_isomorphic_of_an_undirected_regular_graph():
    """The 3-cube (symmetric matrix: cycles in both directions) in two vertex orders."""
    cube = _matrix(8, [(v, v ^ (1 << k)) for v in range(8) for k in range(3)])
    perm = [3, 6, 0, 5, 1, 7, 2, 4]
    pcube, plabels = graph_util.permute_graph(cube, [1] * 8, perm)
    assert graph_util.is_isomorphic((cube, [1] * 8), (pcube, plabels))
    colours = [bin(v).count("1") % 2 for v in range(8)]  # the two sides of the cube
    pcube, pcolours = graph_util.permute_graph(cube, colours, perm)
    assert graph_util.is_isomorphic((cube, colours), (pcube, pcolours))
    # also a 4/4 split, but along one dimension only: not an automorphic image
    halves = [v & 1 for v in range(8)]
    assert not graph_util.is_isomorphic((cube, colours), (cube, halves))


def test_is_isomorphic_agrees_with_the_definition():
    rng = np.random.default_rng(11)
    for _ in range(150):
        n = int(rng.integers(1, 6))
        m1 = rng.integers(0, 2, size=(n, n))
        l1 = rng.integers(0, 2, size=n).tolist()
        if rng.random() < 0.5:  # an isomorphic copy, sometimes with one edge flipped
            m2, l2 = graph_util.permute_graph(m1, l1, rng.permutation(n))
            m2 = m2.astype(int)
            if rng.random() < 0.5:
                i, j = rng.integers(0, n, size=2)
                m2[i, j] = 1 - m2[i, j]
        else:
            m2, l2 = rng.integers(0, 2, size=(n, n)), rng.integers(0, 2, size=n).tolist()
        assert graph_util.is_isomorphic((m1, l1), (m2, l2)) == _brute_force((m1, l1), (m2, l2))


def test_is_isomorphic_rejects_graphs_of_different_sizes():
    with pytest.raises(ValueError, match="sizes"):
        graph_util.is_isomorphic((np.zeros((2, 2)), [0, 0]), (np.zeros((3, 3)), [0, 0, 0]))
    with pytest.raises(ValueError, match="labels"):
        graph_util.is_isomorphic((np.zeros((2, 2)), [0]), (np.zeros((2, 2)), [0, 0]))
