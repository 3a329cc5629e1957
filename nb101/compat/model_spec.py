"""``nasbench.lib.model_spec`` without TensorFlow: the original ``ModelSpec``, faithfully.

Usage, as with the original::

    from nb101.compat import model_spec

    spec = model_spec.ModelSpec(matrix, ops)   # ops kept as given: names or any labels
    spec.valid_spec                            # False if no input -> output path
    spec.matrix, spec.ops                      # pruned (None when not valid_spec)
    spec.original_matrix, spec.original_ops    # deep copies of the input
    spec.hash_spec(canonical_ops)              # labels interior ops by canonical_ops.index
    spec.visualize()                           # a graphviz.Digraph (needs graphviz)
    model_spec.is_upper_triangular(matrix)

Unlike :class:`nb101.ModelSpec` (which stores ``int8`` matrices and ``str`` ops), this class
keeps the ops exactly as given (``[1, 2, 4]`` stays ``[1, 2, 4]``) and the matrix in the
input's dtype (a nested list becomes ``np.array(matrix)``), as the original does, so code and
tests written against ``nasbench`` see the same objects. ``NASBench`` of
:mod:`nb101.compat.api` accepts both classes.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import OutOfDomainError
from ..hashing import hash_module
from ..model_spec import binary_matrix, pick_flat, prune_flat
from .graph_util import is_upper_triangular

__all__ = ["ModelSpec", "is_upper_triangular"]

_GRAPHVIZ_HINT = ("ModelSpec.visualize() needs the graphviz Python package and the Graphviz "
                  "programs: pip install graphviz (and the system package, e.g. "
                  "apt-get install graphviz or brew install graphviz)")


class ModelSpec:
    """A cell as the original ``nasbench`` ``ModelSpec``: adjacency matrix, ops, pruning.

    Parameters
    ----------
    matrix : array-like of shape (V, V)
        Upper-triangular adjacency matrix (zeros on and below the diagonal); vertex 0 is the
        input, V-1 the output. An ndarray keeps its dtype, anything else goes through
        ``np.array``.
    ops : sequence of length V
        One label per vertex, kept as given: op names (``'input'``, ``'conv3x3-bn-relu'``,
        ...) to query a benchmark, or any labels (e.g. ints) for graph work.
    data_format : str, default='channels_last'
        Stored for the original's model builder; unused here.

    Attributes
    ----------
    original_matrix, original_ops
        Deep copies of the input.
    matrix : ndarray or None
        The pruned matrix (vertices off every input -> output path removed), same dtype.
    ops : list or None
        The pruned ops.
    valid_spec : bool
        False if the input does not reach the output (``matrix`` and ``ops`` are then None).
    data_format : str

    Raises
    ------
    ValueError
        "matrix must be square", "length of ops must match matrix dimensions" or "matrix
        must be upper triangular", as the original (each message adds what was got).

    Notes
    -----
    Differences from :class:`nb101.ModelSpec`, which is stricter: that class requires a 0/1
    integer matrix and stores it as ``int8``, and turns every op into ``str``; it has no
    ``visualize``. Both prune and hash identically, and ``NASBench.query`` accepts either.
    Differences from the original: ``ops`` is always a ``list`` (the original keeps a tuple
    when nothing is pruned, and fails when something is), a ragged or string ``ops``
    argument raises ``ValueError``, ``hash_spec`` of a disconnected spec raises
    ``OutOfDomainError`` (the original fails inside ``hash_module``).
    """

    def __init__(self, matrix, ops: Sequence, data_format: str = "channels_last"):
        if not isinstance(matrix, np.ndarray):
            try:
                matrix = np.array(matrix)
            except ValueError as exc:  # ragged nested lists
                raise ValueError(f"matrix must be square, got ragged rows {matrix!r}") from exc
            fresh = matrix  # a copy already
        else:
            fresh = None
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"matrix must be square, got shape {matrix.shape}")
        if isinstance(ops, (str, bytes)) or not hasattr(ops, "__len__"):
            raise ValueError(f"ops must be a sequence of one label per vertex, got {ops!r}")
        if len(ops) != matrix.shape[0]:
            raise ValueError(f"length of ops must match matrix dimensions, got {len(ops)} ops "
                             f"for a {matrix.shape[0]}x{matrix.shape[0]} matrix")
        flat = binary_matrix(matrix)  # a 0/1 matrix, as external code writes it: no numpy
        n = matrix.shape[0]
        keep = None
        if flat is not None:
            try:
                keep = prune_flat(flat, n)
                upper = True
            except ValueError:
                upper = False
        else:
            upper = is_upper_triangular(matrix)
        if not upper:
            raise ValueError("matrix must be upper triangular (zeros on and below the "
                             f"diagonal), got {matrix.tolist()}")
        # deep copies: changing the caller's objects later does not change the spec
        if fresh is not None:
            self.original_matrix = fresh
        else:
            self.original_matrix = (matrix.copy() if matrix.dtype != object
                                    else copy.deepcopy(matrix))
        self.original_ops = _copy_labels(ops)
        self.matrix: np.ndarray | None = None
        self.ops: list | None = None
        self.valid_spec = True
        self._pruned_flat: bytes | None = None  # the 0/1 bytes of the pruned matrix, if any
        if flat is None:
            self._prune()
        elif keep is None:
            self.valid_spec = False
        else:
            self._keep(keep, flat)
        self.data_format = data_format

    def _prune(self) -> None:
        """Keep the vertices reachable from the input and reaching the output (any values:
        nonzero is an edge)."""
        n = self.original_matrix.shape[0]
        edges = self.original_matrix.astype(bool).tolist()
        from_input = _reachable(0, lambda v: (w for w in range(v + 1, n) if edges[v][w]))
        to_output = _reachable(n - 1, lambda v: (w for w in range(v) if edges[w][v]))
        keep = [v for v in range(n) if v in from_input and v in to_output]
        if len(keep) < 2:  # the input does not reach the output
            self.valid_spec = False
            return
        self._keep(keep, None)

    def _keep(self, keep: Sequence[int], flat: bytes | None) -> None:
        """Set the pruned matrix and ops to the vertices ``keep`` (``flat``: the 0/1 entries of
        the matrix as bytes, when it is one)."""
        original = self.original_matrix
        if len(keep) == original.shape[0]:
            self.matrix = original.copy()
            self._pruned_flat = flat
        elif flat is not None:
            self._pruned_flat = pick_flat(flat, original.shape[0], tuple(keep))
            self.matrix = np.frombuffer(self._pruned_flat, dtype=np.uint8).astype(
                original.dtype).reshape(len(keep), len(keep))
        else:
            self.matrix = original[np.ix_(keep, keep)].copy()
        ops = self.original_ops
        if set(map(type, ops)) <= _STR:  # nothing to copy in a str
            self.ops = list(ops) if len(keep) == len(ops) else [ops[v] for v in keep]
        else:
            self.ops = [copy.deepcopy(ops[v]) for v in keep]

    def hash_spec(self, canonical_ops: Sequence) -> str:
        """The module hash of the pruned spec (the official fingerprint).

        Parameters
        ----------
        canonical_ops : sequence
            The interior ops in their canonical order (``config['available_ops']`` for
            names); each interior op is labelled by its index in it, input -1, output -2.

        Raises
        ------
        OutOfDomainError
            If the spec is disconnected, or an interior op is not in ``canonical_ops``.
        """
        if not self.valid_spec:
            raise OutOfDomainError("invalid spec, provided graph is disconnected.")
        canonical = list(canonical_ops)
        labeling = [-1]
        for op in self.ops[1:-1]:
            if op not in canonical:
                raise OutOfDomainError(f"op {op!r} is not in canonical_ops {canonical}")
            labeling.append(canonical.index(op))
        labeling.append(-2)
        return hash_module(self.matrix, labeling)

    def visualize(self) -> Any:
        """The pruned spec as a ``graphviz.Digraph`` (shown inline by notebooks).

        Raises
        ------
        ImportError
            If the ``graphviz`` package is missing (the message says what to install).
        OutOfDomainError
            If the spec is disconnected (nothing to draw).
        """
        try:
            import graphviz
        except ImportError as exc:
            raise ImportError(_GRAPHVIZ_HINT) from exc
        if not self.valid_spec:
            raise OutOfDomainError("invalid spec, provided graph is disconnected: nothing to "
                                   "draw")
        n = self.matrix.shape[0]
        graph = graphviz.Digraph()
        graph.node("0", "input")
        for v in range(1, n - 1):
            graph.node(str(v), str(self.ops[v]))
        graph.node(str(n - 1), "output")
        for src in range(n - 1):
            for dst in range(src + 1, n):
                if self.matrix[src, dst]:
                    graph.edge(str(src), str(dst))
        return graph

    def __repr__(self) -> str:
        return (f"{type(self).__module__}.ModelSpec(matrix={self.original_matrix.tolist()}, "
                f"ops={self.original_ops!r})")


_STR = frozenset((str,))


def _copy_labels(ops: Sequence) -> Sequence:
    """``copy.deepcopy(ops)``, without its cost for a list of str (a str is immutable)."""
    if type(ops) is list and set(map(type, ops)) <= _STR:
        return ops.copy()
    return copy.deepcopy(ops)


def _reachable(start: int, neighbours) -> set[int]:
    seen, stack = {start}, [start]
    while stack:
        for w in neighbours(stack.pop()):
            if w not in seen:
                seen.add(w)
                stack.append(w)
    return seen
