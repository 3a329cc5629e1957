"""Tests of the featurizers: encodings, registry, caching, PyG graphs and GNN embeddings."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, Data
from torch_geometric.nn import global_add_pool

import features
from features import (
    ADJACENCY_DIM,
    FEATURIZERS,
    NODE_TYPES,
    PATH_DIM,
    AdjacencyComputeEncoding,
    Featurizer,
    GNNEmbedding,
    PathEncoding,
    _cache,
    cells_to_batch,
    cells_to_data,
    clear_feature_cache,
    encode_adjacency,
    encode_adjacency_path,
    encode_path,
    get_featurizer,
    path_index,
    path_ops,
    register_featurizer,
    spec_to_data,
)
from features.encodings import COST_DIM, cost_dense, spec_to_dense
from nb101 import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAXPOOL3X3,
    OPS,
    OUTPUT,
    ModelSpec,
    OutOfDomainError,
    get_space,
)

TRIU = list(zip(*np.triu_indices(7, 1)))
EXPECTED_DIMS = {"adjacency": 36, "path": 364, "path_trunc": 40, "adjacency_path": 400}


@pytest.fixture(scope="module")
def space():
    return get_space()


@pytest.fixture(scope="module")
def sample(space):
    # every vertex count, plus a uniform sample
    small = [int(np.flatnonzero(space.num_vertices == n)[0]) for n in range(2, 8)]
    return np.concatenate([small, space.sample(300, seed=0)]).astype(np.int64)


def _brute_force_paths(spec: ModelSpec) -> set[tuple[str, ...]]:
    """All input->output op paths of the pruned cell by depth-first search."""
    matrix, ops = spec.matrix, spec.ops
    n = len(ops)
    found = set()

    def walk(v, trail):
        if v == n - 1:
            found.add(tuple(trail))
            return
        for w in range(v + 1, n):
            if matrix[v, w]:
                walk(w, trail + ([ops[w]] if w != n - 1 else []))

    walk(0, [])
    return found


def _permuted(spec: ModelSpec, rng: np.random.Generator) -> ModelSpec | None:
    """An isomorphic copy with the interior vertices relabelled, if one stays upper-triangular."""
    n = len(spec.ops)
    for _ in range(200):
        perm = np.concatenate([[0], 1 + rng.permutation(n - 2), [n - 1]])  # old v -> new perm[v]
        matrix = np.zeros_like(spec.matrix)
        matrix[np.ix_(perm, perm)] = spec.matrix
        if not np.tril(matrix).any() and not np.array_equal(perm, np.arange(n)):
            ops = [None] * n
            for old, new in enumerate(perm):
                ops[new] = spec.ops[old]
            return ModelSpec(matrix, ops)
    return None


# ------------------------------------------------------------------------------ encodings
def test_path_index_order_and_roundtrip():
    assert path_index([]) == 0
    assert [path_index([op]) for op in OPS] == [1, 2, 3]
    assert path_index([CONV3X3, CONV3X3]) == 4
    assert path_index([CONV3X3, CONV1X1]) == 5
    assert path_index([CONV1X1, CONV3X3]) == 7
    assert path_index([MAXPOOL3X3] * 5) == PATH_DIM - 1 == 363
    assert all(path_index(path_ops(i)) == i for i in range(PATH_DIM))
    lengths = [len(path_ops(i)) for i in range(PATH_DIM)]
    assert lengths == sorted(lengths)  # short paths first
    assert max(i for i in range(PATH_DIM) if lengths[i] <= 3) == 39  # k=40: lengths <= 3
    with pytest.raises(ValueError, match="at most 5"):
        path_index([CONV3X3] * 6)


def test_path_encoding_hand_checked():
    single = ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    assert np.flatnonzero(encode_path(single)).tolist() == [path_index([CONV3X3])] == [1]
    direct = ModelSpec([[0, 1], [0, 0]], [INPUT, OUTPUT])
    assert np.flatnonzero(encode_path(direct)).tolist() == [0]
    skip = ModelSpec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INPUT, MAXPOOL3X3, OUTPUT])
    assert np.flatnonzero(encode_path(skip)).tolist() == [0, 3]
    # two branches and a chain: in->c1->mp->out, in->c3->out
    spec = ModelSpec(
        [[0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
        [INPUT, CONV1X1, MAXPOOL3X3, CONV3X3, OUTPUT],
    )
    expected = sorted([path_index([CONV1X1, MAXPOOL3X3]), path_index([CONV3X3])])
    assert np.flatnonzero(encode_path(spec)).tolist() == expected
    assert encode_path(spec, k=40).shape == (40,)
    assert encode_path(spec, k=4).tolist() == [0, 1, 0, 0]  # (conv3x3) only


@pytest.mark.parametrize("k", [0, 365, 2.5, True])
def test_path_bad_k(k):
    with pytest.raises(ValueError, match="k must be"):
        encode_path(ModelSpec([[0, 1], [0, 0]], [INPUT, OUTPUT]), k=k)


def test_path_encoding_of_the_inception_like_cell(space):
    # the notebook's Inception-like cell: paths in->conv1x1->out, in->conv3x3->out, ...
    i = space.index_of_hash("28cfc7874f6d200472e1a9dcd8650aa0")
    p = get_featurizer("path").transform(np.array([i]), space)
    assert p.shape == (1, 364) and p.dtype == np.float32
    assert p.sum() == 4  # 4 input-to-output paths


def test_path_encoding_matches_brute_force(space, sample):
    X = get_featurizer("path").transform(sample, space)
    for row, i in zip(X, sample):
        spec = space.spec(int(i))
        expected = sorted(path_index(p) for p in _brute_force_paths(spec))
        assert np.flatnonzero(row).tolist() == expected


def test_padded_adjacency_keeps_output_last():
    # input -> conv3x3 -> output plus input -> output, V = 3 < 7
    spec = ModelSpec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    enc = encode_adjacency(spec)
    assert enc.shape == (ADJACENCY_DIM,) and enc.dtype == np.float32
    edges = {TRIU[j] for j in np.flatnonzero(enc[:21])}
    assert edges == {(0, 1), (0, 6), (1, 6)}
    onehot = enc[21:].reshape(5, 3)
    assert onehot[0].tolist() == [1, 0, 0]  # vertex 1 is conv3x3
    assert not onehot[1:].any()  # padded vertices 2..5: all zero


def test_adjacency_full_cell_unchanged(space):
    i = int(np.flatnonzero(space.num_vertices == 7)[0])
    spec = space.spec(i)
    enc = encode_adjacency(spec)
    assert enc[:21].tolist() == [float(spec.matrix[a, b]) for a, b in TRIU]
    ops = enc[21:].reshape(5, 3)
    assert [OPS[j] for j in ops.argmax(axis=1)] == spec.ops[1:-1]
    assert ops.sum() == 5


def test_isomorphic_specs_same_path_encoding(space, sample):
    rng = np.random.default_rng(1)
    checked = 0
    for i in sample[-60:]:
        spec = space.spec(int(i))
        other = _permuted(spec, rng)
        if other is None:
            continue
        checked += 1
        assert np.array_equal(encode_path(other), encode_path(spec))
        for name in FEATURIZERS:  # canonicalised through the cell index
            f = get_featurizer(name)
            assert np.array_equal(f.transform_specs([other], space), f.transform([i], space))
    assert checked >= 20


def test_invalid_spec_raises():
    disconnected = ModelSpec([[0, 0], [0, 0]], [INPUT, OUTPUT])
    with pytest.raises(OutOfDomainError):
        encode_path(disconnected)
    with pytest.raises(OutOfDomainError):
        encode_adjacency(ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, "conv5x5", OUTPUT]))


# ----------------------------------------------------------------------------- featurizers
@pytest.mark.parametrize("name", sorted(EXPECTED_DIMS))
def test_featurizer_shapes_and_values(space, sample, name):
    f = get_featurizer(name)
    assert f.name == name and f.dim == EXPECTED_DIMS[name]
    X = f.transform(sample, space)
    assert X.shape == (len(sample), f.dim) and X.dtype == np.float32
    assert set(np.unique(X).tolist()) <= {0.0, 1.0}
    encode = {
        "adjacency": encode_adjacency,
        "path": encode_path,
        "path_trunc": lambda s: encode_path(s, k=40),
        "adjacency_path": encode_adjacency_path,
    }[name]
    expected = np.stack([encode(space.spec(int(i))) for i in sample])
    assert np.array_equal(X, expected)
    specs = [space.spec(int(i)) for i in sample[:50]]
    assert np.array_equal(f.transform_specs(specs, space), X[:50])
    assert f.transform(np.zeros(0, dtype=np.int64), space).shape == (0, f.dim)


def test_full_table_matches_direct_encoding(space, sample):
    clear_feature_cache()  # memory only: a small request is then encoded directly
    direct = get_featurizer("adjacency_path").transform(sample, space)
    full = get_featurizer("adjacency_path").transform(None, space)
    assert full.shape == (len(space), 400) and full.dtype == np.float32
    assert np.array_equal(full[sample], direct)
    assert np.array_equal(get_featurizer("adjacency_path").transform(sample, space), direct)
    trunc = get_featurizer("path_trunc").transform(None, space)
    assert np.array_equal(trunc, full[:, 36:76])
    assert full[:, 36:].any(axis=1).all()  # every cell has a path


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([0.5]), "integer"),
        (np.array([-1]), "range"),
        (np.array([10**7]), "out of range"),
        (np.int64(3), "scalar"),
    ],
)
def test_bad_indices(space, bad, match):
    with pytest.raises(ValueError, match=match):
        get_featurizer("path").transform(bad, space)


def test_resolver_error_message():
    with pytest.raises(ValueError) as info:
        get_featurizer("adjacensy")
    assert str(info.value) == (
        "unknown featurizer 'adjacensy'; choices: "
        "['adjacency', 'adjacency_compute', 'adjacency_path', 'path', "
        "'path_trunc']"
    )
    assert get_featurizer(FEATURIZERS["path"]) is FEATURIZERS["path"]


class _CountOps(Featurizer):
    name = "count_ops"
    dim = 3

    def transform(self, indices, space=None):
        space = space if space is not None else get_space()
        _, labels = space.dense(np.asarray(indices))
        return np.stack([(labels == j).sum(axis=1) for j in range(3)], axis=1).astype(np.float32)


def test_register_plugin(space):
    plugin = _CountOps()
    try:
        register_featurizer("count_ops", plugin)
        assert get_featurizer("count_ops") is plugin
        assert "count_ops" in str(pytest.raises(ValueError, get_featurizer, "nope").value)
        spec = ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV1X1, OUTPUT])
        assert get_featurizer("count_ops").transform_specs([spec], space).tolist() == [[0, 1, 0]]
        with pytest.raises(ValueError, match="already registered"):
            register_featurizer("count_ops", plugin)
        register_featurizer("count_ops", PathEncoding(k=13), overwrite=True)
        assert get_featurizer("count_ops").dim == 13
        with pytest.raises(TypeError, match="Featurizer instance"):
            register_featurizer("bad", object())
    finally:
        FEATURIZERS.pop("count_ops", None)


def test_public_api_exported():
    for name in features.__all__:
        assert hasattr(features, name), name


# --------------------------------------------------------------------------- disk cache
class _FakeSpace:
    def __init__(self, path):
        self.path = path
        self.hashes = np.array([b"%032d" % i for i in range(10)], dtype="S32")

    def __len__(self):
        return 10

    def dense(self, indices=None):
        return np.zeros((10, 7, 7), np.int8), np.zeros((10, 7), np.int8)


def test_disk_cache_roundtrip(tmp_path, monkeypatch):
    monkeypatch.delenv(_cache.DISK_CACHE_ENV, raising=False)
    fake = _FakeSpace(tmp_path / "space-v1.npz")
    calls = []

    def compute(adjacency, labels):
        calls.append(1)
        return np.eye(10, 12, dtype=bool)

    table = _cache.full_table("fake", 12, fake, compute)
    path = _cache.feature_cache_path("fake", fake)
    assert path.parent == tmp_path and f"v{_cache.FEATURES_FORMAT}" in path.name and path.exists()
    assert table.shape == (10, 2) and len(calls) == 1
    assert _cache.full_table("fake", 12, fake, compute) is table and len(calls) == 1
    _cache._TABLES.clear()
    again = _cache.full_table("fake", 12, fake, compute)  # from disk
    assert len(calls) == 1 and np.array_equal(again, table)
    np.testing.assert_array_equal(_cache.unpack(again, None, 12), np.eye(10, 12))
    _cache._TABLES.clear()
    _cache.full_table("fake", 11, fake, lambda a, b: np.eye(10, 11, dtype=bool))  # stale file
    _cache._TABLES.clear()
    monkeypatch.setenv(_cache.DISK_CACHE_ENV, "0")
    _cache.full_table("other", 12, fake, compute)
    assert not _cache.feature_cache_path("other", fake).exists() and len(calls) == 2
    _cache._TABLES.clear()


# ---------------------------------------------------------------------------------- graphs
def test_data_validates_and_matches_cell(space, sample):
    y = np.linspace(0, 1, len(sample))
    data_list = cells_to_data(sample, space, y=y)
    assert len(data_list) == len(sample)
    for data, i, target in zip(data_list, sample, y):
        assert data.validate(raise_on_error=True)
        spec = space.spec(int(i))
        n = len(spec.ops)
        assert data.x.dtype == torch.float32 and data.x.shape == (n, len(NODE_TYPES))
        assert data.x.sum(dim=1).eq(1).all()
        assert [NODE_TYPES[j] for j in data.x.argmax(dim=1).tolist()] == spec.ops
        dense = torch.zeros(n, n, dtype=torch.int64)
        dense[data.edge_index[0], data.edge_index[1]] = 1
        assert dense.tolist() == spec.matrix.tolist()
        assert data.edge_index.dtype == torch.int64
        assert data.y.shape == (1,) and data.y.item() == pytest.approx(target)
    slow = Data(x=data_list[0].x, edge_index=data_list[0].edge_index, y=data_list[0].y)
    assert data_list[0].to_dict().keys() == slow.to_dict().keys()
    assert repr(data_list[0]) == repr(slow)


def test_spec_to_data():
    spec = ModelSpec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INPUT, MAXPOOL3X3, OUTPUT])
    data = spec_to_data(spec, y=0.5)
    assert data.validate(raise_on_error=True)
    assert data.edge_index.tolist() == [[0, 0, 1], [1, 2, 2]]
    assert data.x.tolist() == [[1, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 1, 0, 0, 0]]
    assert data.y.tolist() == [0.5]


def test_cells_to_batch_equals_from_data_list(space, sample):
    y = np.arange(len(sample), dtype=np.float32)
    fast = cells_to_batch(sample, space, y=y)
    slow = Batch.from_data_list(cells_to_data(sample, space, y=y))
    assert fast.num_graphs == slow.num_graphs == len(sample)
    for key in ("x", "edge_index", "y", "batch", "ptr"):
        assert torch.equal(fast[key], slow[key]), key
    assert fast.validate(raise_on_error=True)
    example, reference = fast.get_example(5), slow.get_example(5)
    assert torch.equal(example.edge_index, reference.edge_index)
    assert torch.equal(example.x, reference.x)
    assert len(fast.index_select([0, 2])) == 2
    with pytest.raises(ValueError, match="one target per cell"):
        cells_to_batch(sample, space, y=np.zeros(3))


# ------------------------------------------------------------------------------ embeddings
class _TinyGNN(torch.nn.Module):
    def __init__(self, width=4):
        super().__init__()
        torch.manual_seed(0)
        self.lin = torch.nn.Linear(len(NODE_TYPES), width)

    def embed(self, batch):
        hidden = torch.relu(self.lin(batch.x))
        source, target = batch.edge_index
        hidden = hidden + torch.zeros_like(hidden).index_add_(0, target, hidden[source])
        return global_add_pool(hidden, batch.batch, size=batch.num_graphs)


def test_gnn_embedding(space, sample):
    model = _TinyGNN().train()
    emb = GNNEmbedding(model, batch_size=64)
    X = emb.transform(sample, space)
    assert X.shape == (len(sample), 4) and X.dtype == np.float32 and emb.dim == 4
    assert model.training  # mode restored
    whole = GNNEmbedding(model, batch_size=10_000).transform(sample, space)
    np.testing.assert_allclose(X, whole, rtol=1e-6)
    specs = [space.spec(int(i)) for i in sample[:5]]
    np.testing.assert_allclose(emb.transform_specs(specs, space), X[:5], rtol=1e-6)
    assert emb.transform(np.zeros(0, dtype=np.int64), space).shape == (0, 4)
    assert GNNEmbedding(model).dim == 4
    with pytest.raises(TypeError, match="embed"):
        GNNEmbedding(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="batch_size"):
        GNNEmbedding(model, batch_size=0)


def test_all_vertex_permutations_path_invariant():
    spec = ModelSpec(
        [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
        [INPUT, CONV3X3, CONV1X1, MAXPOOL3X3, OUTPUT],
    )
    reference = encode_path(spec)
    count = 0
    for perm in itertools.permutations(range(1, 4)):
        perm = np.array([0, *perm, 4])
        matrix = np.zeros_like(spec.matrix)
        matrix[np.ix_(perm, perm)] = spec.matrix
        if np.tril(matrix).any():
            continue
        ops = [None] * 5
        for old, new in enumerate(perm):
            ops[new] = spec.ops[old]
        assert np.array_equal(encode_path(ModelSpec(matrix, ops)), reference)
        count += 1
    assert count >= 2


# ---------------------------------------------------------------- adjacency + compute costs
def _cost_oracle(spec: ModelSpec) -> np.ndarray:
    """The 12 extra columns of "adjacency_compute" of one spec, computed plainly."""
    from nb101.model_spec import compute_vertex_channels, trainable_parameters

    m = np.asarray(spec.matrix, dtype=np.int64)
    n = len(m)
    ops = list(spec.ops)
    vc = compute_vertex_channels(128, 128, m.tolist())
    madds = 128 * 128 * m[0, n - 1]
    for t in range(1, n - 1):
        madds += 128 * vc[t] * m[0, t]
        madds += {CONV3X3: 9 * vc[t] ** 2, CONV1X1: vc[t] ** 2}.get(ops[t], 0)
    longest = {0: 0}
    for v in range(1, n):
        longest[v] = max((longest[u] + 1 for u in range(v) if m[u, v]), default=0)
    return np.array(
        [
            np.log(trainable_parameters(spec)),
            np.log1p(madds),
            sum(vc[t] for t in range(1, n - 1) if ops[t] == MAXPOOL3X3),
            ops.count(CONV3X3),
            ops.count(CONV1X1),
            ops.count(MAXPOOL3X3),
            m.sum(),
            n,
            m[1 : n - 1, n - 1].sum(),
            m[0, 1 : n - 1].sum(),
            m[0, n - 1],
            longest[n - 1],
        ],
        dtype=np.float32,
    )


def test_adjacency_compute_matches_oracle(space, sample):
    f = get_featurizer("adjacency_compute")
    assert f.name == "adjacency_compute" and f.dim == ADJACENCY_DIM + 12
    X = f.transform(sample, space)
    assert X.shape == (len(sample), f.dim) and X.dtype == np.float32
    assert np.array_equal(
        X[:, :ADJACENCY_DIM], get_featurizer("adjacency").transform(sample, space)
    )
    expected = np.stack([_cost_oracle(space.spec(int(i))) for i in sample[:200]])
    np.testing.assert_allclose(X[:200, ADJACENCY_DIM:], expected, rtol=1e-6)
    assert np.isfinite(X).all()
    specs = [space.spec(int(i)) for i in sample[:50]]
    assert np.array_equal(f.transform_specs(specs, space), X[:50])
    assert f.transform(np.zeros(0, dtype=np.int64), space).shape == (0, f.dim)


def test_adjacency_compute_costs_are_the_linear_quantities(space, sample):
    """``costs`` undoes the encoding's logs (parameters, multiply-adds) and keeps the rest."""
    f = get_featurizer("adjacency_compute")
    X = f.transform(sample[:300], space)
    costs = AdjacencyComputeEncoding.costs(X)
    assert costs.shape == (300, 12) and costs.dtype == np.float64
    np.testing.assert_allclose(costs[:, 0], space.parameters(sample[:300]), rtol=1e-5)
    np.testing.assert_allclose(np.log1p(costs[:, 1]), X[:, ADJACENCY_DIM + 1], rtol=1e-6)
    assert np.array_equal(costs[:, 2:], X[:, ADJACENCY_DIM + 2 :])
    with pytest.raises(ValueError, match="'adjacency_compute' encoding \\(48 columns\\)"):
        AdjacencyComputeEncoding.costs(X[:, :40])


def test_cost_dense_hand_checked():
    # input -> conv3x3 -> output plus input -> output: the conv is the only feeder of the
    # output (128 channels), the input is projected to it and, by the skip, to the output
    spec = ModelSpec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    cost = cost_dense(*spec_to_dense(spec))[0]
    assert cost.shape == (COST_DIM,)
    madds = 9 * 128**2 + 128 * 128 + 128 * 128
    np.testing.assert_allclose(cost, [np.log1p(madds), 0, 1, 0, 0, 3, 3, 1, 1, 1, 2])
