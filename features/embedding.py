"""Learned features: the pooled hidden vector of a trained GNN, usable by any regressor.

:class:`GNNEmbedding` wraps any ``torch.nn.Module`` with an ``embed(batch) -> Tensor`` method
(``(num_graphs, d)``, e.g. ``surrogate.gin.GIN.embed``); it is duck-typed, so this module does
not import the surrogates. Cells are fed as :func:`features.graph.cells_to_batch` batches.

Example
-------
>>> import torch
>>> from nb101 import get_space
>>> class NodeCounts(torch.nn.Module):          # stands for a trained GNN, e.g. surrogate.gin.GIN
...     def embed(self, batch):                 # (num_graphs, d): here the node-type counts
...         out = torch.zeros(batch.num_graphs, batch.x.shape[1])
...         return out.index_add_(0, batch.batch, batch.x)
>>> emb = GNNEmbedding(NodeCounts())
>>> emb.transform(get_space().sample(1000, seed=0)).shape   # float32; register_featurizer
(1000, 5)
"""

from __future__ import annotations

import numpy as np

from nb101._optional import MissingDependencyError
from nb101.cell_space import CellSpace, get_space

try:
    import torch
except ModuleNotFoundError as exc:  # the gnn extra; this module is imported on first use
    raise MissingDependencyError(exc.name or "torch", "gnn", "GNN embeddings") from exc

from .featurizers import Featurizer, check_indices
from .graph import cells_to_batch

__all__ = ["GNNEmbedding"]


class GNNEmbedding(Featurizer):
    """Featurizer returning ``model.embed(batch)`` for cells of the space.

    The model is put in eval mode and run without gradients (its training mode is restored
    afterwards), on the device of its parameters unless ``device`` is given.

    Parameters
    ----------
    model : torch.nn.Module
        Trained model exposing ``embed(batch) -> Tensor`` of shape (num_graphs, d).
    batch_size : int
        Cells per forward pass (default: 4096).
    device : str or torch.device, optional
        Where to run the model (default: the device of its first parameter, else CPU).
    name : str
        Registry name (default: ``"gnn_embedding"``).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        batch_size: int = 4096,
        device: str | torch.device | None = None,
        name: str = "gnn_embedding",
    ):
        if not callable(getattr(model, "embed", None)):
            raise TypeError(
                f"model must expose embed(batch) -> Tensor, got {type(model).__name__} without it"
            )
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        self.model = model
        self.batch_size = batch_size
        self.device = device
        self.name = name
        self._dim: int | None = None

    @property
    def dim(self) -> int:
        """Embedding width, found by embedding one cell the first time it is asked for."""
        if self._dim is None:
            self.transform(np.zeros(1, dtype=np.int64))
        return self._dim

    def _device(self) -> torch.device:
        if self.device is not None:
            return torch.device(self.device)
        parameter = (
            next(iter(self.model.parameters()), None) if hasattr(self.model, "parameters") else None
        )
        return parameter.device if parameter is not None else torch.device("cpu")

    def transform(self, indices: np.ndarray | None, space: CellSpace | None = None) -> np.ndarray:
        space = space if space is not None else get_space()
        indices = check_indices(indices, space)
        device = self._device()
        was_training = getattr(self.model, "training", False)
        if hasattr(self.model, "eval"):
            self.model.eval()
        chunks = []
        try:
            with torch.no_grad():
                for start in range(0, len(indices), self.batch_size):
                    batch = cells_to_batch(indices[start : start + self.batch_size], space)
                    out = self.model.embed(batch.to(device))
                    if out.ndim != 2 or out.shape[0] != batch.num_graphs:
                        raise ValueError(
                            f"model.embed must return (num_graphs, d) = "
                            f"({batch.num_graphs}, d), got {tuple(out.shape)}"
                        )
                    chunks.append(out.detach().to("cpu", torch.float32).numpy())
        finally:
            if was_training and hasattr(self.model, "train"):
                self.model.train()
        if not chunks:
            if self._dim is None:  # width unknown: embed one cell to learn it
                self._dim = self.transform(np.zeros(1, dtype=np.int64), space).shape[1]
            return np.zeros((0, self._dim), dtype=np.float32)
        result = np.concatenate(chunks)
        self._dim = result.shape[1]
        return result
