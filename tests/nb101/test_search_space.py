"""ModelSpec, pruning, validity, the exact hash and the parameter count (facts sections 3, 6)."""

import itertools

import numpy as np
import pytest
from _specs import INCEPTION, INCEPTION_STORED
from hypothesis import given, settings
from hypothesis import strategies as st

from nb101 import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAXPOOL3X3,
    OUTPUT,
    ModelSpec,
    OutOfDomainError,
    check_spec,
    hash_module,
    hash_of,
    is_valid_spec,
    trainable_parameters,
)
from nb101.model_spec import OPS, compute_vertex_channels, edge_bits, matrix_from_bits

SAMPLE_MATRIX = np.array(
    [int(c) for c in "0100110001000000010010000010000001000000010000000"]
).reshape(7, 7)
SAMPLE_OPS = [
    "input",
    "conv3x3-bn-relu",
    "maxpool3x3",
    "conv3x3-bn-relu",
    "conv3x3-bn-relu",
    "conv1x1-bn-relu",
    "output",
]


# --------------------------------------------------------------------------- hash
@pytest.mark.parametrize(
    "spec, expected",
    [
        (ModelSpec(SAMPLE_MATRIX, SAMPLE_OPS), "00005c142e6f48ac74fdcf73e3439874"),
        (INCEPTION, "28cfc7874f6d200472e1a9dcd8650aa0"),
        (INCEPTION_STORED, "28cfc7874f6d200472e1a9dcd8650aa0"),
        (ModelSpec([[0, 1], [0, 0]], [INPUT, OUTPUT]), "043721b9c7fe8c5fad811d47d83132ec"),
    ],
)
def test_hash_check_values(spec, expected):
    assert spec.hash_spec() == expected
    assert hash_of(spec) == expected


def test_best_spec_of_augment_model():
    spec = ModelSpec(
        [
            [0, 1, 1, 0, 0, 1, 1],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 1, 0, 0, 0],
            [0, 0, 0, 0, 1, 0, 0],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        [INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, CONV3X3, CONV3X3, OUTPUT],
    )
    assert spec.hash_spec() == "02e5a0247bbdcf2860b7e96f74961594"
    assert trainable_parameters(spec) == 32426634


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, bool])
def test_hash_ignores_input_dtypes(dtype):
    labels = [np.int64(-1), np.int32(0), np.int8(2), 0, 0, 1, np.int16(-2)]
    assert hash_module(SAMPLE_MATRIX.astype(dtype), labels) == "00005c142e6f48ac74fdcf73e3439874"
    assert ModelSpec(SAMPLE_MATRIX.astype(dtype), SAMPLE_OPS).hash_spec() == (
        "00005c142e6f48ac74fdcf73e3439874"
    )


def _permute(matrix, labels, perm):
    """Official ``permute_graph``: perm[v] is the new index of old vertex v."""
    inverse = np.argsort(perm)
    new = np.asarray(matrix)[np.ix_(inverse, inverse)]
    return new, [labels[i] for i in inverse]


def _is_isomorphic(m1, l1, m2, l2):
    """Brute-force oracle (official ``is_isomorphic``)."""
    n = len(l1)
    if n != len(l2):
        return False
    for perm in itertools.permutations(range(n)):
        pm, pl = _permute(m1, l1, perm)
        if np.array_equal(pm, m2) and pl == list(l2):
            return True
    return False


def test_permute_graph_convention():
    assert _permute(np.zeros((3, 3), int), ["a", "b", "c"], [2, 0, 1])[1] == ["b", "c", "a"]


@st.composite
def dags(draw, max_vertices=7):
    n = draw(st.integers(2, max_vertices))
    bits = draw(st.integers(0, (1 << (n * (n - 1) // 2)) - 1))
    ops = draw(st.lists(st.sampled_from(OPS), min_size=n - 2, max_size=n - 2))
    return matrix_from_bits(bits, n), [INPUT, *ops, OUTPUT]


@settings(max_examples=200, deadline=None)
@given(dags(), st.randoms(use_true_random=False))
def test_hash_invariant_under_permutations_keeping_ends(dag, rnd):
    matrix, ops = dag
    labels = [-1] + [OPS.index(op) for op in ops[1:-1]] + [-2]
    n = len(ops)
    interior = list(range(1, n - 1))
    rnd.shuffle(interior)
    perm = [0, *interior, n - 1]
    permuted, permuted_labels = _permute(matrix, labels, perm)
    assert hash_module(permuted, permuted_labels) == hash_module(matrix, labels)


def test_hash_separates_non_isomorphic_small_graphs():
    rng = np.random.default_rng(0)
    graphs = []
    for _ in range(60):
        n = int(rng.integers(3, 6))
        m = np.triu(rng.integers(0, 2, (n, n)), 1)
        graphs.append((m, [-1, *rng.integers(0, 3, n - 2).tolist(), -2]))
    for (m1, l1), (m2, l2) in itertools.combinations(graphs, 2):
        same_hash = hash_module(m1, l1) == hash_module(m2, l2)
        assert same_hash == _is_isomorphic(m1, l1, m2, l2)


# ------------------------------------------------------------------- parameters
@pytest.mark.parametrize(
    "spec, expected",
    [
        (ModelSpec(SAMPLE_MATRIX, SAMPLE_OPS), 8_555_530),
        (INCEPTION, 2_694_282),
        (INCEPTION_STORED, 2_694_282),
        (ModelSpec([[0, 1], [0, 0]], [INPUT, OUTPUT]), 882_570),
        (ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT]), 10_177_674),
        # ResNet-like spec of augment_model.py in the default skeleton (stem 128)
        (
            ModelSpec(
                [[0, 1, 0, 1], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
                [INPUT, CONV3X3, CONV3X3, OUTPUT],
            ),
            20_346_506,
        ),
    ],
)
def test_trainable_parameters(spec, expected):
    assert trainable_parameters(spec) == expected


DIAMOND = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
PARALLEL = [[0, 1, 1, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0] * 5]


@pytest.mark.parametrize(
    "cin, cout, matrix, expected",
    [
        (8, 8, DIAMOND, [8, 4, 4, 8]),
        (8, 15, DIAMOND, [8, 8, 7, 15]),
        (8, 8, PARALLEL, [8, 3, 3, 2, 8]),
    ],
)
def test_compute_vertex_channels(cin, cout, matrix, expected):
    assert compute_vertex_channels(cin, cout, matrix) == expected


# ------------------------------------------------------------ pruning, validity
def test_pruning_removes_dead_vertices_and_keeps_originals():
    matrix = [[0, 1, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0], [0] * 5]
    ops = [INPUT, CONV3X3, MAXPOOL3X3, "not-an-op", OUTPUT]
    spec = ModelSpec(matrix, ops)
    assert spec.original_matrix.tolist() == matrix and spec.original_ops == ops
    assert spec.matrix.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert spec.ops == [INPUT, CONV3X3, OUTPUT]
    assert is_valid_spec(spec)  # ops on pruned vertices are never validated


def test_disconnected_spec_is_invalid():
    spec = ModelSpec([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [INPUT, CONV3X3, OUTPUT])
    assert not spec.valid_spec and spec.matrix is None and spec.ops is None
    with pytest.raises(OutOfDomainError, match="disconnected"):
        check_spec(spec)


@pytest.mark.parametrize(
    "matrix, ops, message",
    [
        ([[0, 1, 0], [0, 0, 1]], [INPUT, CONV3X3, OUTPUT], "square"),
        ([[0, 1], [1, 0]], [INPUT, OUTPUT], "upper triangular"),
        ([[1, 1], [0, 0]], [INPUT, OUTPUT], "upper triangular"),
        ([[0, 1], [0, 0]], [INPUT, CONV3X3, OUTPUT], "length of ops"),
        ([[0, 2], [0, 0]], [INPUT, OUTPUT], "only 0 and 1"),
        ([[0, 1], [0]], [INPUT, OUTPUT], "square"),
    ],
)
def test_constructor_errors(matrix, ops, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec(matrix, ops)


def _chain(n):
    return np.eye(n, k=1, dtype=int)


@pytest.mark.parametrize(
    "spec, message",
    [
        (ModelSpec(_chain(8), [INPUT] + [CONV3X3] * 6 + [OUTPUT]), r"too many vertices, got 8"),
        (
            ModelSpec(np.triu(np.ones((7, 7), int), 1), [INPUT] + [CONV3X3] * 5 + [OUTPUT]),
            r"too many edges, got 21 \(max edges = 9\)",
        ),
        (ModelSpec(_chain(3), [INPUT, "conv5x5", OUTPUT]), "unsupported op 'conv5x5'"),
        (ModelSpec(_chain(3), [CONV3X3, CONV3X3, OUTPUT]), "first operation should be 'input'"),
        (ModelSpec(_chain(3), [INPUT, CONV3X3, CONV3X3]), "last operation should be 'output'"),
    ],
)
def test_out_of_domain(spec, message):
    with pytest.raises(OutOfDomainError, match=message):
        check_spec(spec)
    assert not is_valid_spec(spec)


def test_out_of_domain_error_is_a_value_error():
    assert issubclass(OutOfDomainError, ValueError)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 9), st.data())
def test_random_matrices_raise_only_documented_errors(n, data):
    matrix = np.array(
        data.draw(
            st.lists(st.lists(st.integers(0, 1), min_size=n, max_size=n), min_size=n, max_size=n)
        )
    )
    ops = data.draw(
        st.lists(st.sampled_from([*OPS, INPUT, OUTPUT, "bogus"]), min_size=n, max_size=n)
    )
    try:
        spec = ModelSpec(matrix, ops)
    except ValueError as exc:
        assert not isinstance(exc, OutOfDomainError)
        assert np.tril(matrix).any()
        return
    try:
        check_spec(spec)
    except OutOfDomainError:
        assert not is_valid_spec(spec)
    else:
        assert len(hash_of(spec)) == 32


def test_edge_bits_round_trip():
    for bits in (0, 1, 0b101101, (1 << 21) - 1):
        assert edge_bits(matrix_from_bits(bits, 7)) == bits
    # official gen_is_edge_fn order: (0,1)=bit0, (0,2)=bit1, (1,2)=bit2, (0,3)=bit3
    assert matrix_from_bits(0b100, 3)[1, 2] == 1 and matrix_from_bits(0b1000, 4)[0, 3] == 1
