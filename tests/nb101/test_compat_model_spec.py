"""``nb101.compat.model_spec``: the original ModelSpec (ops and dtype kept as given)."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
from _specs import INCEPTION

import nb101
from nb101 import OPS, OutOfDomainError
from nb101.compat import graph_util, model_spec
from nb101.compat.model_spec import ModelSpec

INCEPTION_MATRIX = INCEPTION.original_matrix.tolist()
INCEPTION_OPS = list(INCEPTION.original_ops)


# ------------------------------------------------------------------------------ pruning
@pytest.mark.parametrize(
    "matrix",
    [
        [[0, 1, 0], [0, 0, 1], [0, 0, 0]],
        [[0, 1, 1], [0, 0, 1], [0, 0, 0]],
        [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
    ],
)
def test_nothing_to_prune(matrix):
    ops = [0] * len(matrix)
    spec = ModelSpec(np.array(matrix), ops)
    assert spec.valid_spec
    assert np.array_equal(spec.matrix, spec.original_matrix)
    assert spec.ops == spec.original_ops == ops


@pytest.mark.parametrize(
    "matrix, ops, pruned",
    [
        # islands: vertices joined to neither end, or to one another only
        ([[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]], [1, 2, 3, 4], [1, 2, 4]),
        (
            [[0, 1, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]],
            [1, 2, 3, 4, 5],
            [1, 2, 5],
        ),
        # dangling: reached from the input but reaching no output, and the converse
        ([[0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]], [1, 2, 3, 4], [1, 3, 4]),
        ([[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [1, 2, 3, 4], [1, 3, 4]),
    ],
)
def test_pruning_keeps_integer_ops(matrix, ops, pruned):
    spec = ModelSpec(np.array(matrix), ops)
    assert spec.valid_spec
    assert spec.matrix.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert spec.ops == pruned and all(type(op) is int for op in spec.ops)
    assert spec.original_ops == ops and spec.original_matrix.tolist() == matrix


@pytest.mark.parametrize(
    "matrix",
    [
        [[0, 0], [0, 0]],
        [[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
        [[0, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
        [[0]],
    ],
)
def test_disconnected_specs_are_flagged(matrix):
    spec = ModelSpec(np.array(matrix), list(range(len(matrix))))
    assert not spec.valid_spec
    assert spec.matrix is None and spec.ops is None
    with pytest.raises(OutOfDomainError, match="disconnected"):
        spec.hash_spec([0, 1, 2])


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8, bool, np.float64])
def test_the_matrix_keeps_its_dtype(dtype):
    matrix = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]], dtype=dtype)
    spec = ModelSpec(matrix, ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    assert spec.original_matrix.dtype == spec.matrix.dtype == np.dtype(dtype)
    assert spec.matrix.astype(int).tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert spec.ops == ["input", "conv3x3-bn-relu", "output"]


def test_nested_lists_become_numpy_arrays_as_np_array_does():
    spec = ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS)
    assert spec.original_matrix.dtype == np.array(INCEPTION_MATRIX).dtype
    assert isinstance(spec.original_matrix, np.ndarray)


def test_the_input_is_deep_copied():
    matrix = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    ops = ["input", ["nested", "label"], "output"]
    spec = ModelSpec(matrix, ops)
    matrix[0, 2] = 0
    ops[1].append("changed")
    ops.append("extra")
    assert spec.original_matrix[0, 2] == 1 and spec.matrix[0, 2] == 1
    assert spec.original_ops == ["input", ["nested", "label"], "output"]
    assert spec.ops[1] == ["nested", "label"]
    spec.ops[1].append("x")
    assert spec.original_ops[1] == ["nested", "label"]


def test_data_format_is_stored():
    assert ModelSpec([[0, 1], [0, 0]], [0, 0]).data_format == "channels_last"
    assert ModelSpec([[0, 1], [0, 0]], [0, 0], "channels_first").data_format == "channels_first"


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "matrix, ops, message",
    [
        ([[0, 1, 0], [0, 0, 1]], [0, 0, 0], "matrix must be square"),
        ([0, 1, 0], [0, 0, 0], "matrix must be square"),
        ([[0, 1], [0, 0, 1]], [0, 0], "matrix must be square"),
        ([[0, 1], [0, 0]], [0, 0, 0], "length of ops must match matrix dimensions"),
        ([[0, 1], [0, 0]], "ab", "ops must be a sequence"),
        ([[0, 1], [1, 0]], [0, 0], "matrix must be upper triangular"),
        ([[1, 1], [0, 0]], [0, 0], "matrix must be upper triangular"),
    ],
)
def test_bad_input_raises_value_error(matrix, ops, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec(matrix, ops)


def test_is_upper_triangular_is_the_graph_util_one():
    assert model_spec.is_upper_triangular is graph_util.is_upper_triangular
    assert model_spec.is_upper_triangular(np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]]))
    assert not model_spec.is_upper_triangular(np.array([[0, 0], [1, 0]]))


# ----------------------------------------------------------------------------- hash_spec
def test_hash_spec_of_names_is_the_official_hash():
    spec = ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS)
    assert spec.hash_spec(list(OPS)) == "28cfc7874f6d200472e1a9dcd8650aa0"
    assert spec.hash_spec(OPS) == INCEPTION.hash_spec()


def test_hash_spec_labels_interior_ops_by_their_index_in_canonical_ops():
    matrix = np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]])
    by_index = graph_util.hash_module(matrix, [-1, 1, 0, -2])
    assert ModelSpec(matrix, [9, "b", "a", 9]).hash_spec(["a", "b"]) == by_index
    assert ModelSpec(matrix, [None, 5, 3, None]).hash_spec([3, 5]) == by_index
    # input and output are -1 and -2 whatever their own labels
    assert ModelSpec(matrix, ["x", 5, 3, "y"]).hash_spec((3, 5)) == by_index
    with pytest.raises(OutOfDomainError, match="not in canonical_ops") as info:
        ModelSpec(matrix, [0, 1, 7, 0]).hash_spec([0, 1])
    assert isinstance(info.value, ValueError)


def test_agrees_with_the_project_spec_on_random_cells():
    """Pruning, validity and hash of the compat class equal those of nb101.ModelSpec."""
    rng = np.random.default_rng(5)
    names = ["input", "output", *OPS]
    for _ in range(1500):
        n = int(rng.integers(2, 8))
        matrix = np.triu(rng.integers(0, 2, size=(n, n)), 1)
        ops = ["input", *rng.choice(names, size=n - 2).tolist(), "output"]
        compat, project = ModelSpec(matrix, ops), nb101.ModelSpec(matrix, ops)
        assert compat.valid_spec == project.valid_spec
        if compat.valid_spec:
            assert np.array_equal(compat.matrix, project.matrix)
            assert compat.ops == project.ops
            if nb101.is_valid_spec(project):
                assert compat.hash_spec(OPS) == project.hash_spec()


# ----------------------------------------------------------------------------- visualize
class _FakeDigraph:
    def __init__(self):
        self.nodes, self.edges = [], []

    def node(self, name, label):
        self.nodes.append((name, label))

    def edge(self, src, dst):
        self.edges.append((src, dst))


def test_visualize_draws_the_pruned_spec(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", types.SimpleNamespace(Digraph=_FakeDigraph))
    spec = ModelSpec(
        np.array([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]]),
        ["input", "conv1x1-bn-relu", "maxpool3x3", "output"],
    )
    graph = spec.visualize()
    assert graph.nodes == [("0", "input"), ("1", "conv1x1-bn-relu"), ("2", "output")]
    assert graph.edges == [("0", "1"), ("1", "2")]
    assert ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [0, 7, 0]).visualize().nodes[1] == (
        "1",
        "7",
    )
    with pytest.raises(OutOfDomainError, match="disconnected"):
        ModelSpec([[0, 0], [0, 0]], [0, 0]).visualize()


def test_visualize_without_graphviz_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError
    with pytest.raises(ImportError, match="pip install graphviz") as info:
        ModelSpec(INCEPTION_MATRIX, INCEPTION_OPS).visualize()
    assert "system package" in str(info.value)
