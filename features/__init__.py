"""Featurizers: fixed-length encodings, GNN graph inputs and learned embeddings of cells.

* :mod:`features.encodings` -- pure ``encode_*(spec)`` functions (adjacency 36, path 364,
  truncated path, adjacency+path 400; float32) and their vectorised ``*_dense`` cores.
* :mod:`features.featurizers` -- the :class:`Featurizer` interface, the built-ins and the
  registry (:data:`FEATURIZERS`, :func:`get_featurizer`, :func:`register_featurizer`).
* :mod:`features.graph` -- PyG ``Data``/``Batch`` inputs for GNNs.
* :mod:`features.embedding` -- :class:`GNNEmbedding`, a trained GNN's pooled vector as
  features.

Example
-------
>>> from features import get_featurizer
>>> X = get_featurizer("adjacency_path").transform([0, 1, 2])   # None: all 423,624 cells
>>> X.shape
(3, 400)
"""

from __future__ import annotations

import importlib
from typing import Any

from ._cache import FEATURES_FORMAT, clear_feature_cache, feature_cache_path
from .encodings import (
    ADJACENCY_DIM,
    MAX_PATH_LENGTH,
    PATH_DIM,
    PATH_TRUNC_DEFAULT,
    adjacency_dense,
    cost_dense,
    encode_adjacency,
    encode_adjacency_path,
    encode_path,
    path_dense,
    path_index,
    path_ops,
    spec_to_dense,
)
from .featurizers import (
    FEATURIZERS,
    AdjacencyComputeEncoding,
    AdjacencyEncoding,
    AdjacencyPathEncoding,
    Featurizer,
    PathEncoding,
    check_indices,
    get_featurizer,
    register_featurizer,
)

__all__ = [
    "ADJACENCY_DIM",
    "PATH_DIM",
    "PATH_TRUNC_DEFAULT",
    "MAX_PATH_LENGTH",
    "encode_adjacency",
    "encode_path",
    "encode_adjacency_path",
    "adjacency_dense",
    "path_dense",
    "path_index",
    "path_ops",
    "spec_to_dense",
    "Featurizer",
    "AdjacencyEncoding",
    "AdjacencyComputeEncoding",
    "cost_dense",
    "PathEncoding",
    "AdjacencyPathEncoding",
    "FEATURIZERS",
    "get_featurizer",
    "register_featurizer",
    "check_indices",
    "FEATURES_FORMAT",
    "clear_feature_cache",
    "feature_cache_path",
    "NODE_TYPES",
    "NUM_NODE_FEATURES",
    "spec_to_data",
    "specs_to_data",
    "cells_to_data",
    "cells_to_batch",
    "dense_to_data",
    "dense_to_batch",
    "GNNEmbedding",
]

# The GNN helpers import torch and PyG (seconds); load them only when first used.
_LAZY = {
    name: "graph"
    for name in (
        "NODE_TYPES",
        "NUM_NODE_FEATURES",
        "spec_to_data",
        "specs_to_data",
        "cells_to_data",
        "cells_to_batch",
        "dense_to_data",
        "dense_to_batch",
    )
}
_LAZY["GNNEmbedding"] = "embedding"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
