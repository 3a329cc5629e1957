"""The enumerated space: counts, official canonical representatives, exact lookup, cache."""

import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest

from nb101 import ModelSpec, OutOfDomainError, TableError, get_space, hash_module, spec_from_hash
from nb101.cell_space import (
    EXPECTED_CELLS,
    SPACE_FORMAT,
    UPGRADABLE_FORMATS,
    CellSpace,
    cell_parameters,
    default_cache_path,
)
from nb101.model_spec import OPS, edge_bits, is_valid_spec, labeling_of, matrix_from_bits
from nb101.space_enumeration import _full_dag_matrices

DATA = Path(os.environ.get("NB101_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))


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
                matrix[:, v].any() for v in range(1, n)
            )
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
        assert (
            hash_module(spec.matrix, labeling_of(spec.ops))
            == spec_from_hash(cells.hash(int(i))).hash_spec()
        )


def test_unpruned_spec_finds_its_pruned_cell(cells):
    spec = ModelSpec(
        [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
        ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"],
    )
    assert cells.hash(cells.index_of_spec(spec)) == spec.hash_spec()


def test_index_of_spec_rejects_out_of_domain(cells):
    with pytest.raises(OutOfDomainError, match="too many edges"):
        cells.index_of_spec(
            ModelSpec(
                np.triu(np.ones((7, 7), int), 1), ["input", *["conv3x3-bn-relu"] * 5, "output"]
            )
        )


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
                expected.add(cells.index_of_spec(ModelSpec(m, [*ops[:v], op, *ops[v + 1 :]])))
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
    path = cells.save(tmp_path / "space.npz")
    loaded = CellSpace.load(path)
    assert np.array_equal(loaded.hashes, cells.hashes)
    assert np.array_equal(loaded.parameters(), cells.parameters())
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(TableError, match="garbage.npz"):
        CellSpace.load(garbage)
    arrays = {name: getattr(cells, name) for name in CellSpace._ARRAYS if name != "parameters"}
    stale = tmp_path / "stale.npz"
    np.savez(stale, format=np.array(99), **arrays)
    with pytest.raises(TableError, match="format"):
        CellSpace.load(stale)
    no_params = tmp_path / "no_params.npz"  # the current format needs the parameter counts
    np.savez(no_params, format=np.array(SPACE_FORMAT), **arrays)
    with pytest.raises(TableError, match="format"):
        CellSpace.load(no_params)


def _save_format_1(cells, path):
    """A cache as the previous format wrote it: no parameter counts."""
    np.savez(
        path,
        format=np.array(1),
        **{name: getattr(cells, name) for name in CellSpace._ARRAYS if name != "parameters"},
    )


def test_format_1_cache_is_upgraded(cells, tmp_path, monkeypatch):
    assert SPACE_FORMAT == 2 and UPGRADABLE_FORMATS == (1,)
    _save_format_1(cells, tmp_path / "space-v1.npz")
    upgraded = CellSpace.load(tmp_path / "space-v1.npz")  # in memory
    assert np.array_equal(upgraded.parameters(), cells.parameters())
    # the default cache: the v1 file beside it is upgraded into space-v2.npz, not rebuilt
    monkeypatch.setenv("NB101_CACHE", str(tmp_path))
    space = get_space()
    assert space.path == tmp_path / "space-v2.npz" and space.path.exists()
    assert (tmp_path / "space-v1.npz").exists()  # older checkouts may share the folder
    assert np.array_equal(CellSpace.load(space.path).parameters(), cells.parameters())


def test_cache_paths_expand_the_home_folder(cells, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NB101_CACHE", "~/nb101-cache")
    assert default_cache_path() == tmp_path / "nb101-cache" / f"space-v{SPACE_FORMAT}.npz"
    cells.save("~/copy.npz")
    assert (tmp_path / "copy.npz").exists()
    assert get_space("~/copy.npz").path == tmp_path / "copy.npz"


def test_stored_parameters_equal_the_formula(cells):
    from nb101 import trainable_parameters

    idx = cells.sample(300, seed=11)
    expected = [trainable_parameters(cells.spec(int(i))) for i in idx]
    assert cells.parameters(idx).tolist() == expected
    assert cells.parameters()[idx].tolist() == expected
    assert cells.parameters().dtype == np.int64 and not cells.parameters().flags.writeable
    assert np.array_equal(
        cell_parameters(cells.num_vertices[idx], cells.bits[idx], cells.codes[idx]), expected
    )


def test_graph_is_the_canonical_spec(cells):
    for i in cells.sample(200, seed=5):
        spec = cells.spec(int(i))
        matrix, ops = cells.graph(int(i))
        assert matrix.dtype == np.int8 and np.array_equal(matrix, spec.matrix)
        assert ops == spec.ops
        matrix[0, -1] = 1 - matrix[0, -1]  # fresh copies: the space is untouched
        ops.append("x")
        again = cells.graph(int(i))
        assert np.array_equal(again[0], spec.matrix) and again[1] == spec.ops
    with pytest.raises(OutOfDomainError, match="no pruned valid cell"):
        cells.graph_of(3, 0, 0)  # no edge: not a full DAG
    with pytest.raises(OutOfDomainError, match="labeling code 3"):
        cells.graph_of(3, 7, 3)


def test_index_of_spec_fast_and_checked_paths_agree(cells):
    for i in cells.sample(200, seed=6):
        spec = cells.spec(int(i))
        assert cells.index_of_spec(spec) == i
        spec.matrix = spec.matrix.astype(np.int64)  # not the int8 of ModelSpec: checked path
        assert cells.index_of_spec(spec) == i
    bad_op = ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"])
    with pytest.raises(OutOfDomainError, match="unsupported op 'conv5x5'"):
        cells.index_of_spec(bad_op)
    bad_end = ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "input"])
    with pytest.raises(OutOfDomainError, match="last operation"):
        cells.index_of_spec(bad_end)
    disconnected = ModelSpec([[0, 0], [0, 0]], ["input", "output"])
    with pytest.raises(OutOfDomainError, match="disconnected"):
        cells.index_of_spec(disconnected)
    with pytest.raises(TypeError, match="ModelSpec"):
        cells.index_of_spec("not a spec")


def test_indices_of_hashes_exact(cells):
    order = np.random.default_rng(2).permutation(len(cells))[:5000]
    hashes = [cells.hash(int(i)) for i in order]
    assert np.array_equal(cells.indices_of_hashes(hashes), order)
    assert np.array_equal(cells.indices_of_hashes(np.array(hashes)), order)
    assert np.array_equal(cells.indices_of_hashes(cells.hashes[order]), order)
    assert cells.indices_of_hashes([]).shape == (0,)
    h = cells.hash(3)
    for bad in (h + "0", h[:31], h.upper(), h[:16] + "g" * 16, "é" * 32):
        with pytest.raises(KeyError, match="not a cell"):
            cells.indices_of_hashes([cells.hash(0), bad])
