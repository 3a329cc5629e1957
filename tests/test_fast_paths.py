"""The fast spec -> cell path against the reference path (numpy pruning and the md5 hash).

``nb101.ModelSpec`` and ``nb101.compat.api.ModelSpec`` prune 0/1 matrices as bytes and bit
masks, and ``CellSpace.index_of_spec`` finds cells by exact lookup; here every answer is
compared with a reference written the slow, obvious way: ``np.array``, a DFS over the
matrix, ``np.ix_``, the rules of ``_check_spec`` and the module hash looked up in the space.
"""

from __future__ import annotations

import random

import numpy as np
import pytest

from nb101 import OPS, ModelSpec, OutOfDomainError, hash_module
from nb101.compat import api
from nb101.model_spec import binary_matrix, check_pruned, labeling_of, prune_flat

NAMES = ["input", *OPS, "output"]


# ------------------------------------------------------------------------- references
def _reference_prune(matrix: np.ndarray) -> list[int] | None:
    """The official ``_prune``: vertices reached from the input and reaching the output."""
    n = matrix.shape[0]
    forward, stack = {0}, [0]
    while stack:
        v = stack.pop()
        for w in range(v + 1, n):
            if matrix[v, w] and w not in forward:
                forward.add(w)
                stack.append(w)
    backward, stack = {n - 1}, [n - 1]
    while stack:
        v = stack.pop()
        for w in range(v):
            if matrix[w, v] and w not in backward:
                backward.add(w)
                stack.append(w)
    extraneous = set(range(n)) - (forward & backward)
    if len(extraneous) > n - 2:
        return None
    return [v for v in range(n) if v not in extraneous]


def _reference_index(space, matrix, ops) -> int:
    """Cell index by the reference path: numpy checks, DFS pruning, check rules, md5 hash."""
    array = np.array(matrix)
    if array.ndim != 2 or array.shape[0] != array.shape[1]:
        raise ValueError("not square")
    if not (np.issubdtype(array.dtype, np.integer) or array.dtype == bool):
        raise ValueError("not integers")
    if array.size and (array.min() < 0 or array.max() > 1):
        raise ValueError("not 0/1")
    if len(ops) != array.shape[0]:
        raise ValueError("ops length")
    if np.tril(array).any():
        raise ValueError("not upper triangular")
    keep = _reference_prune(array)
    if keep is None:
        raise OutOfDomainError("disconnected")
    pruned, pruned_ops = array[np.ix_(keep, keep)], [str(ops[v]) for v in keep]
    check_pruned(pruned, pruned_ops)
    return space.index_of_hash(hash_module(pruned, labeling_of(pruned_ops)))


def _outcome(fn, *args):
    """The value, or the exception type."""
    try:
        return fn(*args)
    except (ValueError, OutOfDomainError) as exc:
        return type(exc)


def _written(matrix: np.ndarray, ops: list[str], rng: random.Random, extra: int = 0
             ) -> tuple[list[list[int]], list[str]]:
    """An isomorphic relabelling (random topological order) as nested lists, with ``extra``
    dangling vertices inserted before the output (pruned away again)."""
    n = len(ops)
    rows = matrix.tolist()
    order, placed = [0], {0}
    while len(order) < n - 1:
        ready = [v for v in range(1, n - 1) if v not in placed
                 and all(not rows[u][v] or u in placed for u in range(n))]
        v = rng.choice(ready)
        order.append(v)
        placed.add(v)
    order.append(n - 1)
    out = [[rows[a][b] for b in order] for a in order]
    names = [ops[v] for v in order]
    for _ in range(extra):  # a vertex fed by the input that feeds nothing
        for row in out:
            row.insert(len(row) - 1, 0)
        out.insert(len(out) - 1, [0] * (len(out) + 1))
        out[0][-2] = 1
        names.insert(len(names) - 1, rng.choice(OPS))
    return out, names


# ------------------------------------------------------------------------------ tests
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6])
def test_pruning_equals_the_dfs_on_every_upper_triangular_matrix(n):
    cells = [(x, y) for y in range(n) for x in range(y)]
    for bits in range(1 << len(cells)):
        matrix = np.zeros((n, n), dtype=np.int64)
        for i, (x, y) in enumerate(cells):
            matrix[x, y] = bits >> i & 1
        keep = _reference_prune(matrix)
        assert prune_flat(binary_matrix(matrix), n) == (None if keep is None else tuple(keep))
        if bits % 7 == 0:  # the classes on a subset (the constructor costs more than pruning)
            ops = ["input", *([OPS[bits % 3]] * (n - 2)), "output"][:n] if n > 1 else ["x"]
            spec = ModelSpec(matrix.tolist(), ops)
            assert spec.valid_spec == (keep is not None)
            assert spec.original_matrix.dtype == np.int8
            np.testing.assert_array_equal(spec.original_matrix, matrix)
            if keep is not None:
                np.testing.assert_array_equal(spec.matrix, matrix[np.ix_(keep, keep)])
                assert spec.matrix.dtype == np.int8 and spec.matrix.flags.writeable
                assert spec.ops == [ops[v] for v in keep]
            else:
                assert spec.matrix is None and spec.ops is None


def test_every_small_cell_and_samples_of_large_ones_agree_with_the_hash(space):
    """Every cell of 2-5 vertices (all their op labelings) and 1,500 of 6 and of 7, each as
    a random isomorphic relabelling, some with dangling vertices: the fast path, the compat
    path and the md5 reference find the same cell."""
    rng = random.Random(0)
    nb = api.NASBench(_bench_stub(space))
    sizes = space.num_vertices
    chosen = np.flatnonzero(sizes <= 5).tolist()
    for n in (6, 7):
        chosen += rng.sample(np.flatnonzero(sizes == n).tolist(), 1500)
    for index in chosen:
        matrix, ops = space.graph(index)
        extra = rng.choice((0, 0, 1, 2)) if len(ops) <= 5 else 0
        rows, names = _written(matrix, ops, rng, extra)
        assert space.index_of_spec(ModelSpec(rows, names)) == index
        assert _reference_index(space, rows, names) == index
        project = nb._project_spec(api.ModelSpec(rows, names))
        assert space.index_of_spec(project) == index


def test_random_unpruned_matrices_and_labelings_agree_with_the_reference(space):
    """Random 7x7 (and smaller) matrices, valid or not (disconnected, too many edges, lower
    entries, other values), random labelings (some names outside the space): the fast path
    gives the reference's cell or raises the reference's exception type."""
    rng = np.random.default_rng(5)
    nb = api.NASBench(_bench_stub(space))
    seen = set()
    for trial in range(6000):
        n = int(rng.integers(2, 8))
        density = rng.uniform(0.1, 0.6)
        matrix = np.triu((rng.random((n, n)) < density).astype(np.int64), 1)
        if trial % 50 == 0:
            matrix[rng.integers(n), rng.integers(n)] = 1  # maybe on or below the diagonal
        if trial % 97 == 0:
            matrix[0, n - 1] = 2
        labels = rng.integers(0, 3, n).tolist()
        ops = ["input", *(OPS[i] for i in labels[1:-1]), "output"]
        if trial % 31 == 0:
            ops[int(rng.integers(n))] = "conv5x5"
        expected = _outcome(_reference_index, space, matrix.tolist(), ops)
        for given in (matrix.tolist(), matrix, matrix.astype(np.int32),
                      [tuple(r) for r in matrix.tolist()]):
            got = _outcome(lambda m, o=ops: space.index_of_spec(ModelSpec(m, o)), given)
            assert got == expected, (matrix.tolist(), ops)
        if trial % 97:  # (compat takes other values, then rejects them as out of the space)
            compat = _outcome(lambda m, o=ops: nb._project_spec(api.ModelSpec(m, o)),
                              matrix.tolist())
            if isinstance(expected, int):
                assert space.index_of_spec(compat) == expected
            else:
                assert compat is expected
        seen.add(expected if isinstance(expected, type) else int)
    assert seen == {int, ValueError, OutOfDomainError}


def test_inputs_outside_the_fast_case_keep_their_old_answers():
    ops = ["input", "conv3x3-bn-relu", "output"]
    good = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    for matrix in (np.array(good, dtype=np.int64).T.copy().T,  # a transposed layout
                   np.array(good, dtype=">i4"), np.array(good, dtype=bool),
                   [[np.int64(v) for v in row] for row in good], [[bool(v) for v in row]
                                                                   for row in good]):
        spec = ModelSpec(matrix, ops)
        assert spec.matrix.tolist() == good and spec.ops == ops
    for matrix, match in (([[0, 1], [0]], "square"), ([[0.0, 1.0], [0.0, 0.0]], "0/1 integers"),
                          ([[0, 2], [0, 0]], "only 0 and 1"), ([[0, -1], [0, 0]], "only 0"),
                          ([[0, 1], [1, 0]], "upper triangular"), ([0, 1], "square"),
                          ([["0", "1"], ["0", "0"]], "0/1 integers"), ([], "square")):
        with pytest.raises(ValueError, match=match):
            ModelSpec(matrix, ["input", "output"])
    with pytest.raises(ValueError, match="length of ops"):
        ModelSpec(good, ["input", "output"])
    assert not ModelSpec([[0]], ["input"]).valid_spec


@pytest.mark.parametrize("matrix, dtype", [
    ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], np.array([[0]]).dtype),
    ([[False, True, False], [False, False, True], [False] * 3], np.dtype(bool)),
    (np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]], dtype=np.uint8), np.dtype(np.uint8)),
    (np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=np.int32), np.dtype(np.int32)),
    ([[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]], np.array([[0]]).dtype),
])
def test_compat_spec_keeps_dtype_and_ops_as_the_numpy_path(matrix, dtype):
    ops = ["input", 1, 2, "output"][:len(matrix) - 1] + ["output"]
    spec = api.ModelSpec(matrix, ops)
    array = np.array(matrix)
    assert spec.original_matrix.dtype == dtype and spec.original_ops == ops
    np.testing.assert_array_equal(spec.original_matrix, array)
    keep = _reference_prune(array)
    assert spec.valid_spec == (keep is not None)
    if keep is not None:
        assert spec.matrix.dtype == dtype
        np.testing.assert_array_equal(spec.matrix, array[np.ix_(keep, keep)])
        assert spec.ops == [ops[v] for v in keep]
    if isinstance(matrix, np.ndarray):
        matrix[0, 1] = 0  # the spec holds copies
        assert spec.original_matrix[0, 1] == 1


def test_compat_spec_copies_mutable_labels():
    labels = [["in"], ["a"], ["out"]]
    spec = api.ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], labels)
    labels[1].append("changed")
    assert spec.original_ops == [["in"], ["a"], ["out"]] and spec.ops[1] == ["a"]
    assert spec.ops[1] is not spec.original_ops[1]


def _bench_stub(space):
    """The smallest Benchmark for NASBench: only ``_project_spec`` is used here."""
    class Stub:
        valid_epochs = frozenset({108})

        def __init__(self):
            self.space = space

        def query(self, *a, **k): ...
        def query_batch(self, *a, **k): ...
        def is_valid(self, *a): ...
        def get_budget_counters(self): return 0.0, 0
        def reset_budget_counters(self): ...
        def hash_iterator(self): return iter(())
        def get_metrics_from_hash(self, h): ...
        def get_metrics_from_spec(self, s): ...
    return Stub()


def test_compat_spec_changed_after_construction_is_pruned_again(space):
    """The compat query reuses the spec's own pruning only while its matrix holds exactly
    the pruned bytes; a matrix changed by the caller is pruned again, as before."""
    nb = api.NASBench(_bench_stub(space))
    matrix = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    ops = ["input", "conv3x3-bn-relu", "maxpool3x3", "output"]
    spec = api.ModelSpec(matrix, ops)
    assert nb._project_spec(spec).matrix.tolist() == matrix
    spec.matrix[0, 2] = 0  # vertex 2 is now off every path
    project = nb._project_spec(spec)
    assert project.matrix.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert project.ops == ["input", "conv3x3-bn-relu", "output"]
