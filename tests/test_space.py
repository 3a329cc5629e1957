"""The enumerated space: counts, official canonical representatives, exact lookup, cache."""

import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest

from nb101 import ModelSpec, OutOfDomainError, TableError, get_space, hash_module, spec_from_hash
from nb101.model_spec import OPS, edge_bits, is_valid_spec, labeling_of, matrix_from_bits
from nb101.cell_space import EXPECTED_CELLS, CellSpace, _full_dag_matrices

DATA = Path(os.environ.get("NB101_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture(scope="module")
def cells():
    return get_space()


def test_counts_per_vertex_count(cells):
    assert len(cells) == 423_624
    counts = np.bincount(cells.num_vertices, minlength=8)
    assert {n: int(counts[n]) for n in range(2, 8)} == EXPECTED_CELLS
    assert (cells.hashes[:-1] < cells.hashes[1:]).all()  # sorted and unique


@pytest.mark.parametrize("n, expected", [(2, 1), (3, 2), (4, 10), (5, 121), (6, 1545), (7, 4793)])
def test_full_dag_matrix_counts(n, expected):
    assert len(_full_dag_matrices(n)) == expected


def _original_enumeration(max_vertices):
    """generate_graphs.py, brute force: first graph met per hash, in the original order."""
    first = {}
    for n in range(2, max_vertices + 1):
        for bits in range(1 << (n * (n - 1) // 2)):
            matrix = matrix_from_bits(bits, n)
            if matrix.sum() > 9:
                continue
            full = all(matrix[v].any() for v in range(n - 1)) and all(
                matrix[:, v].any() for v in range(1, n))
            if not full:
                continue
            for labeling in itertools.product(range(3), repeat=n - 2):
                h = hash_module(matrix, [-1, *labeling, -2])
                first.setdefault(h, (bits, labeling))
    return first


def test_canonical_representatives_are_the_first_graph_met(cells):
    for h, (bits, labeling) in _original_enumeration(5).items():
        spec = cells.spec(cells.index_of_hash(h))
        assert edge_bits(spec.matrix) == bits
        assert spec.ops[1:-1] == [OPS[i] for i in labeling]


def test_canonical_representatives_match_real_stored_records(cells):
    path = DATA / "nb101-repeats" / "nb101_repeat_records.json"
    if not path.exists():
        pytest.skip(f"real data not found at {path}")
    for h, record in json.loads(path.read_text()).items():
        spec = cells.spec_from_hash(h)
        assert spec.matrix.tolist() == record["fixed"]["module_adjacency"]
        assert spec.ops == record["fixed"]["module_operations"]


def test_every_labelled_graph_maps_to_the_cell_of_its_hash(cells):
    rng = np.random.default_rng(1)
    for n in range(2, 8):
        matrices = _full_dag_matrices(n)
        for bits in rng.choice(matrices, size=min(40, len(matrices)), replace=False):
            labels = [-1, *rng.integers(0, 3, n - 2).tolist(), -2]
            matrix = matrix_from_bits(int(bits), n)
            spec = ModelSpec(matrix, ["input", *(OPS[i] for i in labels[1:-1]), "output"])
            assert cells.hash(cells.index_of_spec(spec)) == hash_module(matrix, labels)


def test_random_cells_rehash_to_their_key(cells):
    for i in cells.sample(300, seed=3):
        spec = cells.spec(int(i))
        assert spec.hash_spec() == cells.hash(int(i))
        assert cells.index_of_spec(spec) == i
        assert hash_module(spec.matrix, labeling_of(spec.ops)) == spec_from_hash(
            cells.hash(int(i))).hash_spec()


def test_unpruned_spec_finds_its_pruned_cell(cells):
    spec = ModelSpec([[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0],
                      [0, 0, 0, 0, 0]], ["input", "conv3x3-bn-relu", "maxpool3x3",
                                         "conv1x1-bn-relu", "output"])
    assert cells.hash(cells.index_of_spec(spec)) == spec.hash_spec()


def test_index_of_spec_rejects_out_of_domain(cells):
    with pytest.raises(OutOfDomainError, match="too many edges"):
        cells.index_of_spec(ModelSpec(np.triu(np.ones((7, 7), int), 1),
                                      ["input", *["conv3x3-bn-relu"] * 5, "output"]))


def test_unknown_hash(cells):
    with pytest.raises(KeyError, match="not a cell"):
        cells.index_of_hash("0" * 32)
    with pytest.raises(KeyError, match="1 unknown hashes"):
        cells.indices_of_hashes([cells.hash(0), "f" * 32])
    with pytest.raises(OutOfDomainError) as info:
        cells.index_of_hash("0" * 32)
    assert str(info.value) == f"module hash {'0' * 32!r} is not a cell of NAS-Bench-101"
    with pytest.raises(OutOfDomainError, match="'f{32}' is not a cell .*1 unknown hashes"):
        cells.indices_of_hashes([cells.hash(0), "f" * 32])


def test_sampling_is_seeded_and_uniform_over_cells(cells):
    a, b = cells.sample(1000, seed=7), cells.sample(1000, seed=7)
    assert np.array_equal(a, b) and len(set(a.tolist())) == 1000
    assert not np.array_equal(a, cells.sample(1000, seed=8))
    assert is_valid_spec(cells.random_spec(seed=1))


def test_neighbours_are_at_edit_distance_one(cells):
    index = cells.index_of_hash("28cfc7874f6d200472e1a9dcd8650aa0")
    spec = cells.spec(index)
    neighbours = cells.neighbours(index)
    assert index not in neighbours and len(set(neighbours.tolist())) == len(neighbours)
    assert len(neighbours) > 0
    # brute-force: every valid single edit of the canonical spec lands in the set
    expected = set()
    m, ops = spec.original_matrix, spec.original_ops
    n = len(ops)
    for x, y in itertools.combinations(range(n), 2):
        flipped = m.copy()
        flipped[x, y] ^= 1
        candidate = ModelSpec(flipped, ops)
        if is_valid_spec(candidate):
            expected.add(cells.index_of_spec(candidate))
    for v in range(1, n - 1):
        for op in OPS:
            if op != ops[v]:
                expected.add(cells.index_of_spec(ModelSpec(m, [*ops[:v], op, *ops[v + 1:]])))
    expected.discard(index)
    assert set(neighbours.tolist()) == expected


def test_dense_arrays_match_specs(cells):
    idx = cells.sample(50, seed=0)
    adjacency, labels = cells.dense(idx)
    for row, i in enumerate(idx):
        spec = cells.spec(int(i))
        n = len(spec.ops)
        assert np.array_equal(adjacency[row, :n, :n], spec.matrix)
        assert labels[row, :n].tolist() == labeling_of(spec.ops)
        assert (labels[row, n:] == -3).all()


def test_cache_round_trip_and_corrupt_files(cells, tmp_path):
    arrays = {name: getattr(cells, name) for name in CellSpace._ARRAYS}
    path = tmp_path / "space.npz"
    np.savez(path, format=np.array(1), **arrays)
    assert np.array_equal(CellSpace.load(path).hashes, cells.hashes)
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(TableError, match="garbage.npz"):
        CellSpace.load(garbage)
    stale = tmp_path / "stale.npz"
    np.savez(stale, format=np.array(99), **arrays)
    with pytest.raises(TableError, match="format"):
        CellSpace.load(stale)


def test_vectorised_parameters_equal_the_formula(cells):
    from nb101 import trainable_parameters
    idx = cells.sample(300, seed=11)
    expected = [trainable_parameters(cells.spec(int(i))) for i in idx]
    assert cells.parameters(idx).tolist() == expected          # small batch, computed directly
    assert cells.parameters()[idx].tolist() == expected        # whole space, cached
