"""Featurizers: turn cell indices of the space (or specs) into float32 feature matrices.

A :class:`Featurizer` has a ``name``, a ``dim`` and ``transform(indices, space=None)``;
``transform_specs(specs)`` looks the specs up in the space first, so isomorphic specs get the
features of their canonical cell. The built-in featurizers are registered by name:

========================  ====  =====================================================
name                      dim   features (see :mod:`features.encodings`)
========================  ====  =====================================================
``"adjacency"``           36    21 upper-triangle bits + 5 x 3 one-hot ops, output last
``"path"``                364   BANANAS path encoding, by length then op index
``"path_trunc"``          40    the first 40 paths (all paths of at most three ops)
``"adjacency_path"``      400   ``"adjacency"`` then ``"path"``
``"adjacency_compute"``   48    ``"adjacency"``, log trainable parameters, then the 11
                                cost features of :func:`features.encodings.cost_dense`
                                (multiply-adds, op counts, edges, degrees, depth)
========================  ====  =====================================================

``"adjacency_compute"`` suits targets driven by the network's compute, such as training time:
the adjacency bits say which ops are wired where, but not what they cost, and a tree model
learns multiply-adds and parameter counts from them only approximately. Its extra columns are
computed on request (vectorised, 1-3 s for the whole space), not cached.

The built-ins encode the whole space once per process (about 2 s), keep it in memory as
packed bits and on disk beside the space cache (set ``NB101_FEATURE_DISK_CACHE=0`` to skip
the disk); a request for fewer than 1/8 of the cells with no table ready is encoded directly.

Example
-------
>>> from nb101 import get_space
>>> space = get_space()
>>> X = get_featurizer("path").transform(space.sample(1000, seed=0))
>>> X.shape, X.dtype
((1000, 364), dtype('float32'))
>>> register_featurizer("path_short", PathEncoding(k=13))
"""

from __future__ import annotations

import abc
from collections.abc import Iterable

import numpy as np

from nb101.cell_space import CellSpace, get_space
from nb101.model_spec import ModelSpec

from ._cache import full_table, has_table, unpack
from .encodings import (
    ADJACENCY_DIM,
    COST_DIM,
    PATH_DIM,
    PATH_TRUNC_DEFAULT,
    _check_k,
    adjacency_dense,
    cost_dense,
    path_dense,
)

__all__ = [
    "Featurizer",
    "AdjacencyEncoding",
    "PathEncoding",
    "AdjacencyPathEncoding",
    "AdjacencyComputeEncoding",
    "FEATURIZERS",
    "get_featurizer",
    "register_featurizer",
    "check_indices",
]


def check_indices(indices: np.ndarray | Iterable[int] | None, space: CellSpace) -> np.ndarray:
    """Validate cell indices: a 1-D integer array in [0, len(space)); None means all cells."""
    if indices is None:
        return np.arange(len(space))
    array = np.asarray(indices)
    if array.ndim == 0:
        raise ValueError(f"indices must be a 1-D array of cell indices, got the scalar {array}")
    if array.size == 0:
        return np.zeros(0, dtype=np.int64)
    if array.ndim != 1 or not np.issubdtype(array.dtype, np.integer):
        raise ValueError(
            f"indices must be a 1-D integer array, got shape {array.shape} and dtype {array.dtype}"
        )
    low, high = int(array.min()), int(array.max())
    if low < 0 or high >= len(space):
        bad = low if low < 0 else high
        raise ValueError(f"cell index {bad} is out of range for a space of {len(space)} cells")
    return array.astype(np.int64, copy=False)


class Featurizer(abc.ABC):
    """Maps cells of the space to a fixed-width float32 feature matrix.

    Subclasses set ``name`` and ``dim`` and implement :meth:`transform`.
    """

    name: str
    dim: int

    @abc.abstractmethod
    def transform(self, indices: np.ndarray | None, space: CellSpace | None = None) -> np.ndarray:
        """Features of cells ``indices`` of ``space`` (default :func:`nb101.get_space`;
        None means all cells), shape (K, dim) float32."""

    def transform_specs(
        self, specs: Iterable[ModelSpec], space: CellSpace | None = None
    ) -> np.ndarray:
        """Features of arbitrary valid specs: the same values as :meth:`transform` of their
        cell indices (isomorphic specs map to one cell).

        Raises
        ------
        OutOfDomainError
            If a spec is not a valid cell of the space.
        """
        space = space if space is not None else get_space()
        return self.transform(space.indices_of_specs(specs), space)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim})"


class _TableFeaturizer(Featurizer):
    """Concatenation of leading slices of cached full-space binary tables."""

    #: (table name, table dim, number of leading columns kept) per part
    _parts: tuple[tuple[str, int, int], ...] = ()

    def transform(self, indices: np.ndarray | None, space: CellSpace | None = None) -> np.ndarray:
        space = space if space is not None else get_space()
        whole = indices is None
        indices = check_indices(indices, space)
        if not whole and len(indices) * 8 < len(space) and not self._tables_ready(space):
            adjacency, labels = space.dense(indices)
            return np.concatenate(
                [_COMPUTE[table](adjacency, labels)[:, :keep] for table, _, keep in self._parts],
                axis=1,
            ).astype(np.float32)
        out = np.empty((len(indices), self.dim), dtype=np.float32)
        start = 0
        for table, dim, keep in self._parts:
            packed = full_table(table, dim, space, _COMPUTE[table])
            unpack(packed, None if whole else indices, keep, out=out[:, start : start + keep])
            start += keep
        return out

    def _tables_ready(self, space: CellSpace) -> bool:
        return all(has_table(table, space) for table, _, _ in self._parts)


_COMPUTE = {"adjacency": adjacency_dense, "path": path_dense}


class AdjacencyEncoding(_TableFeaturizer):
    """The 36-value adjacency encoding (output padded to vertex 6), ``"adjacency"``."""

    name = "adjacency"
    dim = ADJACENCY_DIM
    _parts = (("adjacency", ADJACENCY_DIM, ADJACENCY_DIM),)


class PathEncoding(_TableFeaturizer):
    """The path encoding, all 364 paths (``"path"``) or the first ``k`` (``"path_trunc"``).

    Parameters
    ----------
    k : int, optional
        Keep only the first ``k`` paths (shortest first); None keeps all 364.
    """

    def __init__(self, *, k: int | None = None):
        self.k = k
        self.dim = _check_k(k)
        self.name = (
            "path"
            if k is None
            else "path_trunc"
            if k == PATH_TRUNC_DEFAULT
            else f"path_trunc{self.dim}"
        )
        self._parts = (("path", PATH_DIM, self.dim),)


class AdjacencyPathEncoding(_TableFeaturizer):
    """Adjacency then full path encoding (400 values), ``"adjacency_path"``."""

    name = "adjacency_path"
    dim = ADJACENCY_DIM + PATH_DIM
    _parts = (("adjacency", ADJACENCY_DIM, ADJACENCY_DIM), ("path", PATH_DIM, PATH_DIM))


class AdjacencyComputeEncoding(Featurizer):
    """Adjacency encoding plus compute-cost features (48 values), ``"adjacency_compute"``.

    Columns 0-35 are ``"adjacency"``; 36 is log(trainable parameters) of the cell's network
    (:meth:`nb101.CellSpace.parameters`, exact); 37-47 are
    :func:`features.encodings.cost_dense`.
    """

    name = "adjacency_compute"
    dim = ADJACENCY_DIM + 1 + COST_DIM

    def transform(self, indices: np.ndarray | None, space: CellSpace | None = None) -> np.ndarray:
        space = space if space is not None else get_space()
        indices = check_indices(indices, space)
        out = np.empty((len(indices), self.dim), dtype=np.float32)
        out[:, :ADJACENCY_DIM] = _ADJACENCY.transform(indices, space)
        out[:, ADJACENCY_DIM] = np.log(space.parameters(indices).astype(np.float64))
        out[:, ADJACENCY_DIM + 1 :] = cost_dense(*space.dense(indices))
        return out

    @classmethod
    def costs(cls, X: np.ndarray) -> np.ndarray:
        """The compute columns of rows ``X`` of this encoding on a linear scale, float64
        (K, 12): trainable parameters, multiply-adds, then cost features 1-10 as they are
        (pool channels, op counts, edges, vertices, degrees, input -> output, depth).

        Quantities that add up over a cell's ops, so that a cost (a training time) is close
        to linear in them; the encoding stores the first two as logs, which trees prefer.
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != cls.dim:
            raise ValueError(
                f"costs needs rows of the {cls.name!r} encoding ({cls.dim} columns), "
                f"got shape {X.shape}"
            )
        out = X[:, ADJACENCY_DIM:].astype(np.float64)
        np.exp(out[:, 0], out=out[:, 0])
        np.expm1(out[:, 1], out=out[:, 1])
        return out


_ADJACENCY = AdjacencyEncoding()


#: Featurizers by name; extend with :func:`register_featurizer`.
FEATURIZERS: dict[str, Featurizer] = {
    "adjacency": AdjacencyEncoding(),
    "path": PathEncoding(),
    "path_trunc": PathEncoding(k=PATH_TRUNC_DEFAULT),
    "adjacency_path": AdjacencyPathEncoding(),
    "adjacency_compute": AdjacencyComputeEncoding(),
}


def get_featurizer(name: str | Featurizer) -> Featurizer:
    """The registered featurizer called ``name`` (a :class:`Featurizer` is returned as is).

    Raises
    ------
    ValueError
        ``"unknown featurizer 'x'; choices: [...]"`` for an unregistered name.
    """
    if isinstance(name, Featurizer):
        return name
    try:
        return FEATURIZERS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown featurizer {name!r}; choices: {sorted(FEATURIZERS)}") from None


def register_featurizer(name: str, featurizer: Featurizer, *, overwrite: bool = False) -> None:
    """Add a featurizer to :data:`FEATURIZERS` under ``name``.

    Raises
    ------
    TypeError
        If ``featurizer`` is not a :class:`Featurizer`.
    ValueError
        If ``name`` is empty or already taken and ``overwrite`` is False.
    """
    if not isinstance(featurizer, Featurizer):
        raise TypeError(
            f"featurizer must be a Featurizer instance, got {type(featurizer).__name__}"
        )
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty str, got {name!r}")
    if name in FEATURIZERS and not overwrite:
        raise ValueError(
            f"featurizer {name!r} is already registered; pass overwrite=True to replace it"
        )
    FEATURIZERS[name] = featurizer
