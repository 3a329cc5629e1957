"""Graph inputs for GNN surrogates: one PyG :class:`~torch_geometric.data.Data` per cell.

Each graph is the *pruned* cell: ``x`` has one row per vertex (V rows, vertex order of the
cell), a one-hot float32 row over :data:`NODE_TYPES` (input, output, conv3x3, conv1x1,
maxpool3x3), and ``edge_index`` (2, E) int64 holds the directed edges ``u -> v`` of the
adjacency matrix in row-major order. With targets, ``y`` is a float32 tensor of shape (1,)
per graph (so a batch has ``y`` of shape (num_graphs,)).

Cells of the space use their canonical representative. :func:`cells_to_data` and
:func:`cells_to_batch` build the node and edge tensors of all requested cells at once and
slice them; all 423,624 cells take a few seconds as a list and well under a second as one
batch.

Example
-------
>>> from nb101 import get_space
>>> space = get_space()
>>> idx = space.sample(256, seed=0)
>>> batch = cells_to_batch(idx, space, y=np.zeros(256))      # == Batch.from_data_list(...)
>>> batch.num_graphs, batch.x.shape[1]
(256, 5)
>>> data_list = cells_to_data(idx, space)                    # for a DataLoader
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Sequence

import numpy as np

from nb101._optional import MissingDependencyError
from nb101.cell_space import CellSpace, get_space
from nb101.model_spec import CONV1X1, CONV3X3, INPUT, MAXPOOL3X3, OUTPUT, ModelSpec

from .encodings import spec_to_dense
from .featurizers import check_indices

try:
    import torch
    from torch_geometric.data import Batch, Data
    from torch_geometric.data.storage import GlobalStorage
except ModuleNotFoundError as exc:  # the gnn extra; this module is imported on first use
    raise MissingDependencyError(exc.name or "torch", "gnn", "graph inputs") from exc

__all__ = [
    "NODE_TYPES",
    "NUM_NODE_FEATURES",
    "spec_to_data",
    "specs_to_data",
    "cells_to_data",
    "cells_to_batch",
    "dense_to_data",
    "dense_to_batch",
]

#: Column order of the node features.
NODE_TYPES = (INPUT, OUTPUT, CONV3X3, CONV1X1, MAXPOOL3X3)
NUM_NODE_FEATURES = len(NODE_TYPES)
# dense label (-1 input, -2 output, 0/1/2 OPS index) -> column of NODE_TYPES
_LABEL_COLUMN = {-1: 0, -2: 1, 0: 2, 1: 3, 2: 4}


def _graph_arrays(adjacency: np.ndarray, labels: np.ndarray):
    """Concatenated node features and local edges of dense cells.

    Returns x (total_nodes, 5) float32, node_ptr (K+1,), edges (2, E) int64 with vertex
    numbers local to each cell, edge_ptr (K+1,) and the cell of every edge (E,).
    """
    labels = np.asarray(labels)
    present = labels != -3
    counts = present.sum(axis=1)
    node_ptr = np.zeros(len(labels) + 1, dtype=np.int64)
    np.cumsum(counts, out=node_ptr[1:])
    lookup = np.full(8, -1, dtype=np.int64)  # label + 3 -> column
    for label, column in _LABEL_COLUMN.items():
        lookup[label + 3] = column
    columns = lookup[labels[present].astype(np.int64) + 3]
    x = np.zeros((len(columns), NUM_NODE_FEATURES), dtype=np.float32)
    x[np.arange(len(columns)), columns] = 1.0
    cell, source, target = np.nonzero(np.asarray(adjacency))  # row-major per cell
    edge_ptr = np.zeros(len(labels) + 1, dtype=np.int64)
    np.cumsum(np.bincount(cell, minlength=len(labels)), out=edge_ptr[1:])
    edges = np.stack([source, target]).astype(np.int64)
    return x, node_ptr, edges, edge_ptr, cell


def _check_y(y, num_graphs: int) -> torch.Tensor | None:
    if y is None:
        return None
    values = np.asarray(y, dtype=np.float32)
    if values.shape != (num_graphs,):
        raise ValueError(
            f"y must have shape ({num_graphs},), one target per cell, got {values.shape}"
        )
    return torch.from_numpy(values.copy())


_DATA_ATTRS = {key: value for key, value in Data().__dict__.items() if key != "_store"}
_FAST_DATA = set(Data().__dict__) == {"_store", "_edge_attr_cls", "_tensor_attr_cls"}


def _new_data(mapping: dict[str, torch.Tensor]) -> Data:
    """``Data(**mapping)`` without the per-attribute bookkeeping (as ``Data.__copy__`` does),
    three times faster; falls back to the constructor on an unknown PyG layout."""
    if not _FAST_DATA:
        return Data(**mapping)
    out = Data.__new__(Data)
    out.__dict__.update(_DATA_ATTRS)
    store = GlobalStorage.__new__(GlobalStorage)
    store.__dict__["_mapping"] = mapping
    store.__dict__["_parent"] = weakref.ref(out)
    out.__dict__["_store"] = store
    return out


def dense_to_data(adjacency: np.ndarray, labels: np.ndarray, y=None) -> list[Data]:
    """One :class:`Data` per dense cell (arrays as from :meth:`CellSpace.dense`).

    Cells are grouped by (vertex count, edge count) so that each group's node and edge
    tensors are built at once and cut into per-cell views with ``unbind``.
    """
    adjacency = np.asarray(adjacency) != 0
    labels = np.asarray(labels)
    if adjacency.ndim != 3 or labels.shape != adjacency.shape[:2]:
        raise ValueError(
            f"adjacency (K, 7, 7) and labels (K, 7) do not match, got "
            f"{adjacency.shape} and {labels.shape}"
        )
    targets = _check_y(y, len(labels))
    num_vertices = np.count_nonzero(labels != -3, axis=1)
    num_edges = adjacency.sum(axis=(1, 2))
    lookup = np.full(8, -1, dtype=np.int64)  # label + 3 -> column
    for label, column in _LABEL_COLUMN.items():
        lookup[label + 3] = column
    out: list[Data | None] = [None] * len(labels)
    key = num_vertices * 64 + num_edges
    gc_was_enabled = gc.isenabled()
    gc.disable()  # hundreds of thousands of new containers would trigger full collections
    try:
        _fill_data(out, key, adjacency, labels, targets, lookup)
    finally:
        if gc_was_enabled:
            gc.enable()
    return out


def _fill_data(out, key, adjacency, labels, targets, lookup) -> None:
    for group in np.unique(key).tolist():
        rows = np.flatnonzero(key == group)
        n, m = divmod(group, 64)
        columns = lookup[labels[rows, :n].astype(np.int64) + 3]  # (G, n)
        x = np.zeros((len(rows), n, NUM_NODE_FEATURES), dtype=np.float32)
        np.put_along_axis(x, columns[:, :, None], 1.0, axis=2)
        _, source, target = np.nonzero(adjacency[rows])  # row-major within each cell
        edges = np.stack([source.reshape(len(rows), m), target.reshape(len(rows), m)], axis=1)
        xs = torch.from_numpy(x).unbind(0)
        es = torch.from_numpy(edges.astype(np.int64)).unbind(0)
        if targets is None:
            for r, a, b in zip(rows.tolist(), xs, es):
                out[r] = _new_data({"x": a, "edge_index": b})
        else:
            ys = targets[torch.from_numpy(rows)].view(-1, 1).unbind(0)
            for r, a, b, c in zip(rows.tolist(), xs, es, ys):
                out[r] = _new_data({"x": a, "edge_index": b, "y": c})


def dense_to_batch(adjacency: np.ndarray, labels: np.ndarray, y=None) -> Batch:
    """One :class:`Batch` of dense cells, equal to ``Batch.from_data_list(dense_to_data(...))``
    (``to_data_list``, ``index_select`` and ``get_example`` work on it) but built at once."""
    x, node_ptr, edges, edge_ptr, cell = _graph_arrays(adjacency, labels)
    num_graphs = len(labels)
    targets = _check_y(y, num_graphs)
    node_ptr_t = torch.from_numpy(node_ptr)
    batch = Batch(_base_cls=Data)
    batch.x = torch.from_numpy(x)
    batch.edge_index = torch.from_numpy(edges + node_ptr[cell])
    slices = {"x": node_ptr_t, "edge_index": torch.from_numpy(edge_ptr)}
    increments = {
        "x": torch.zeros(num_graphs, dtype=torch.int64),
        "edge_index": node_ptr_t[:-1].clone(),
    }
    if targets is not None:
        batch.y = targets
        slices["y"] = torch.arange(num_graphs + 1)
        increments["y"] = torch.zeros(num_graphs, dtype=torch.int64)
    batch.batch = torch.repeat_interleave(
        torch.arange(num_graphs), torch.from_numpy(np.diff(node_ptr))
    )
    batch.ptr = node_ptr_t
    batch._num_graphs = num_graphs
    batch._slice_dict = slices
    batch._inc_dict = increments
    return batch


def spec_to_data(spec: ModelSpec, y: float | None = None) -> Data:
    """The pruned cell of a valid spec as a :class:`Data` (the spec's own vertex order).

    Raises
    ------
    OutOfDomainError
        If ``spec`` is not a valid cell of the space.
    """
    return dense_to_data(*spec_to_dense(spec), y=None if y is None else [y])[0]


def specs_to_data(specs: Sequence[ModelSpec], y=None) -> list[Data]:
    """:func:`spec_to_data` of many specs (each keeps its own vertex order)."""
    dense = [spec_to_dense(spec) for spec in specs]
    if not dense:
        return []
    adjacency = np.concatenate([a for a, _ in dense])
    labels = np.concatenate([lab for _, lab in dense])
    return dense_to_data(adjacency, labels, y)


def cells_to_data(
    indices: np.ndarray | None = None, space: CellSpace | None = None, y=None
) -> list[Data]:
    """One :class:`Data` per cell ``indices`` of ``space`` (None: all cells), canonical form.

    Parameters
    ----------
    indices : ndarray of int, optional
        Cell indices (default: the whole space).
    space : CellSpace, optional
        Default :func:`nb101.get_space`.
    y : array-like of shape (K,), optional
        One target per cell, stored as ``data.y`` of shape (1,) float32.
    """
    space = space if space is not None else get_space()
    indices = check_indices(indices, space)
    return dense_to_data(*space.dense(indices), y=y)


def cells_to_batch(
    indices: np.ndarray | None = None, space: CellSpace | None = None, y=None
) -> Batch:
    """Cells ``indices`` as one :class:`Batch`, equal to
    ``Batch.from_data_list(cells_to_data(indices, space, y))`` but vectorised."""
    space = space if space is not None else get_space()
    indices = check_indices(indices, space)
    return dense_to_batch(*space.dense(indices), y=y)
