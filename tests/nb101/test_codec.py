"""Tests of nb101.codec: the genotype codec (encode, decode, neighbours, mutation, the graph)."""

from __future__ import annotations

import numpy as np
import pytest
from _eval import requires_real_data

from nb101 import OPS, ModelSpec
from nb101.codec import ABSENT, get_codec
from nb101.errors import OutOfDomainError

pytestmark = requires_real_data


@pytest.fixture(scope="module")
def codec(space):
    return get_codec(space)


def _spec_of(edges: int, labels) -> ModelSpec:
    m = np.zeros((7, 7), dtype=int)
    pairs = [(x, y) for y in range(1, 7) for x in range(y)]
    for b, (x, y) in enumerate(pairs):
        m[x, y] = (edges >> b) & 1
    return ModelSpec(m, ["input", *(OPS[int(j)] for j in labels), "output"])


def test_codec_roundtrip_and_decode_matches_modelspec(space, codec):
    idx = np.arange(0, len(space), 997)
    e, lab = codec.encode(idx, np.random.default_rng(0))
    assert np.array_equal(codec.decode(e, lab), idx)
    rng = np.random.default_rng(1)
    E, L = codec.random_genotypes(400, rng)
    got = codec.decode(E, L)
    for k in range(len(E)):
        try:
            want = space.index_of_spec(_spec_of(int(E[k]), L[k]))
        except OutOfDomainError:
            want = -1
        assert got[k] == want
        assert codec.decode_one(int(E[k]), L[k]) == want


def test_neighbours_match_space(space, codec):
    for i in np.random.default_rng(2).choice(len(space), 25, replace=False):
        assert np.array_equal(codec.neighbours(int(i)), space.neighbours(int(i)))


def test_neighbour_graph_rows_are_the_neighbours(space, codec):
    graph = codec.neighbour_graph()
    assert graph.shape == (len(space), len(space)) and set(np.unique(graph.data)) == {1}
    for i in np.random.default_rng(2).choice(len(space), 300, replace=False):
        assert np.array_equal(graph[i].indices, codec.neighbours(int(i)))
    # pruning edits lead to smaller cells that do not lead back: the graph is not symmetric
    assert (graph != graph.T).nnz > 0
    assert codec.neighbour_graph() is graph  # built once


def test_mutation_is_valid_and_seeded(codec):
    e, lab = codec.encode(np.arange(50), np.random.default_rng(0))
    a = codec.mutate(e, lab, np.random.default_rng(3))
    b = codec.mutate(e, lab, np.random.default_rng(3))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert (a[2] >= 0).all()
    assert np.array_equal(codec.decode(a[0], a[1]), a[2])


def test_codec_labels_of_a_full_cell(codec, space):
    # the notebook's Inception-like cell has 7 vertices: no padding label
    i = space.index_of_hash("28cfc7874f6d200472e1a9dcd8650aa0")
    assert (codec.labels[i] != ABSENT).sum() == 5
