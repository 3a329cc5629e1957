"""Graph isomorphism network surrogate: the ``GIN`` module and its sklearn-style ``GINModel``.

``GIN`` stacks :class:`torch_geometric.nn.GINConv` layers (Xu et al., "How Powerful are Graph
Neural Networks?", ICLR 2019),

.. math:: h_v^{(k)} = \\mathrm{MLP}^{(k)}\\big((1 + \\epsilon) h_v^{(k-1)}
          + \\textstyle\\sum_{u \\in N(v)} h_u^{(k-1)}\\big),

on the cell DAG, messages flowing along the edges and, when ``bidirectional``, also against
them (a second GINConv per layer, summed). The graph vector is the sum or mean of the last
layer's node states (:meth:`GIN.embed`), and an MLP head maps it to one number.

``GINModel`` trains it on CPU: the dataset is collated once, minibatches are gathered by index
(no per-batch ``Batch.from_data_list``), Adam with a cosine schedule for a fixed number of
epochs, Huber or MSE loss on the standardised target, clipped from below at its ``clip_quantile``
quantile (:func:`surrogate.base.clip_targets`, shared by every regressor).

Inputs: ``X`` is a list of PyG ``Data`` (or a ``Batch``) with ``x`` the 5-column one-hot node
labels (input, output, conv3x3, conv1x1, maxpool) and ``edge_index`` the directed cell edges,
as made by the ``features`` package.

Example
-------
>>> import numpy as np
>>> from torch_geometric.data import Batch
>>> from nb101 import get_space
>>> from features import cells_to_data
>>> cells = get_space().sample(300, seed=0)
>>> graphs_train, graphs_test = cells_to_data(cells[:200]), cells_to_data(cells[200:])
>>> y_train = np.random.default_rng(0).random(200)
>>> model = GINModel(epochs=2, min_steps=10, random_state=0).fit(graphs_train, y_train)
>>> model.predict(graphs_test).shape
(100,)
>>> emb = model.module_.embed(Batch.from_data_list(graphs_test))   # (100, hidden)
"""

from __future__ import annotations

import sys
from typing import Any, ClassVar

import numpy as np
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from nb101._optional import MissingDependencyError

try:
    import torch
    from torch import Tensor, nn
    from torch_geometric.data import Batch, Data
    from torch_geometric.nn import GINConv, global_add_pool, global_mean_pool
except ModuleNotFoundError as exc:  # the gnn extra; this module is imported on first use
    raise MissingDependencyError(exc.name or "torch", "gnn", "the GIN regressor") from exc

from .base import (
    SurrogateRegressor,
    TorchWeights,
    check_targets,
    seed_int,
    torch_loss,
    torch_threads,
)

__all__ = ["GIN", "GINModel"]

_POOLS = {"sum": global_add_pool, "mean": global_mean_pool}


def _mlp(d_in: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), nn.ReLU(), nn.Linear(d_out, d_out), nn.ReLU()
    )


class GIN(nn.Module):
    """GIN encoder plus regression head.

    Args:
        in_channels (int): Node feature size (default: 5).
        hidden_channels (int): Width of every layer and of the embedding (default: 64).
        num_layers (int): GINConv layers (default: 4).
        pooling (str): ``"sum"`` or ``"mean"`` readout (default: ``"sum"``).
        bidirectional (bool): Also pass messages against the edge direction (default: True).
        dropout (float): Dropout in the head (default: 0.0).

    Shapes:
        - forward: ``Batch`` with ``x`` (N, in_channels), ``edge_index`` (2, E), ``batch`` (N,)
          -> (num_graphs,)
        - embed: same input -> (num_graphs, hidden_channels)
    """

    def __init__(
        self,
        in_channels: int = 5,
        hidden_channels: int = 64,
        num_layers: int = 4,
        pooling: str = "sum",
        bidirectional: bool = True,
        dropout: float = 0.0,
    ):
        super().__init__()
        if pooling not in _POOLS:
            raise ValueError(f"pooling must be one of {list(_POOLS)}, got {pooling!r}")
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}")
        self.pooling = pooling
        self.bidirectional = bidirectional
        self.lin_in = nn.Linear(in_channels, hidden_channels)
        self.convs = nn.ModuleList(
            GINConv(_mlp(hidden_channels, hidden_channels), train_eps=True)
            for _ in range(num_layers)
        )
        self.back_convs = (
            nn.ModuleList(
                GINConv(_mlp(hidden_channels, hidden_channels), train_eps=True)
                for _ in range(num_layers)
            )
            if bidirectional
            else None
        )
        self.head = nn.Sequential(
            nn.Linear(hidden_channels, hidden_channels),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_channels, 1),
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for module in self.modules():
            if module is not self and hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def _node_states(self, x: Tensor, edge_index: Tensor) -> Tensor:
        h = self.lin_in(x)
        back = edge_index.flip(0) if self.bidirectional else None
        for i, conv in enumerate(self.convs):
            out = conv(h, edge_index)
            if self.back_convs is not None:
                out = out + self.back_convs[i](h, back)
            h = out + h  # residual
        return h

    def embed(self, batch: Data | Batch) -> Tensor:
        """Pooled graph vectors, shape (num_graphs, hidden_channels)."""
        h = self._node_states(batch.x, batch.edge_index)
        vec = getattr(batch, "batch", None)
        if vec is None:
            vec = torch.zeros(h.shape[0], dtype=torch.long, device=h.device)
        size = int(batch.num_graphs) if hasattr(batch, "num_graphs") else None
        return _POOLS[self.pooling](h, vec, size)

    def forward(self, batch: Data | Batch) -> Tensor:
        """Predicted (standardised) target per graph, shape (num_graphs,)."""
        return self.head(self.embed(batch)).squeeze(-1)


class _Collated:
    """The whole dataset as flat tensors, to gather minibatches by graph index quickly."""

    def __init__(self, graphs: list[Data] | Batch):
        batch = graphs if isinstance(graphs, Batch) else Batch.from_data_list(list(graphs))
        self.x = batch.x.float()
        self.edge_index = batch.edge_index.long()
        self.node_graph = batch.batch.long()
        self.edge_graph = self.node_graph[self.edge_index[0]]
        self.num_graphs = int(batch.num_graphs)

    def gather(self, graph_ids: Tensor) -> Batch:
        pos = torch.full((self.num_graphs,), -1, dtype=torch.long)
        pos[graph_ids] = torch.arange(len(graph_ids))
        node_pos = pos[self.node_graph]
        node_sel = node_pos >= 0
        new_id = torch.cumsum(node_sel.long(), 0) - 1
        edge_sel = pos[self.edge_graph] >= 0
        out = Batch(
            x=self.x[node_sel],
            edge_index=new_id[self.edge_index[:, edge_sel]],
            batch=node_pos[node_sel],
        )
        out._num_graphs = len(graph_ids)
        return out


class GINModel(TorchWeights, SurrogateRegressor):
    """Sklearn-style wrapper that trains :class:`GIN` (``input_kind = "graph"``).

    Parameters
    ----------
    hidden_channels : int, default=64
    num_layers : int, default=4
    pooling : {"sum", "mean"}, default="sum"
    bidirectional : bool, default=True
    dropout : float, default=0.0
    learning_rate : float, default=2e-3
    weight_decay : float, default=1e-5
    batch_size : int, default=256
    epochs : int, default=20
        Fixed epoch count (cosine learning-rate schedule to zero); see ``min_steps``.
    min_steps : int, default=1500
        At least this many optimizer steps: small training sets get more epochs.
    loss : {"huber", "mse"}, default="huber"
    huber_delta : float, default=1.0
    clip_quantile : float or None, default=0.02
        Clip the training targets from below at this quantile of themselves
        (:func:`surrogate.base.clip_targets`); None or 0: no clipping.
    n_jobs : int or None, default=1
        Torch intra-op threads while fitting and predicting (None: leave torch's setting).
    progress : bool or None, default=None
        A tqdm bar over the training epochs (with the last epoch's mean loss) on stderr; None:
        when stderr is a terminal. Training takes minutes on large sets.
    random_state : int or None, default=None

    Attributes
    ----------
    module_ : GIN
    n_epochs_ : int
    """

    input_kind: ClassVar[str] = "graph"

    def __init__(
        self,
        *,
        hidden_channels: int = 64,
        num_layers: int = 4,
        pooling: str = "sum",
        bidirectional: bool = True,
        dropout: float = 0.0,
        learning_rate: float = 2e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 256,
        epochs: int = 20,
        min_steps: int = 1500,
        loss: str = "huber",
        huber_delta: float = 1.0,
        clip_quantile: float | None = 0.02,
        n_jobs: int | None = 1,
        progress: bool | None = None,
        random_state: int | None = None,
    ):
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.pooling = pooling
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.min_steps = min_steps
        self.loss = loss
        self.huber_delta = huber_delta
        self.clip_quantile = clip_quantile
        self.n_jobs = n_jobs
        self.progress = progress
        self.random_state = random_state

    def _build(self) -> GIN:
        return GIN(
            in_channels=self.n_features_in_,
            hidden_channels=int(self.hidden_channels),
            num_layers=int(self.num_layers),
            pooling=self.pooling,
            bidirectional=bool(self.bidirectional),
            dropout=float(self.dropout),
        )

    @staticmethod
    def _collate(X: Any) -> _Collated:
        if isinstance(X, Batch):
            return _Collated(X)
        if isinstance(X, Data):
            raise ValueError("X must be a list of Data or a Batch, got a single Data")
        X = list(X)
        if not X or not all(isinstance(g, Data) for g in X):
            raise ValueError("X must be a non-empty list of torch_geometric Data objects")
        return _Collated(X)

    def fit(self, X: list[Data] | Batch, y: Any) -> GINModel:
        """Train on graphs ``X`` (list of ``Data`` or a ``Batch``) and targets ``y``."""
        data = self._collate(X)
        y = check_targets(y, data.num_graphs)
        t = self._fit_targets(y)
        self.n_features_in_ = int(data.x.shape[1])
        loss_fn = torch_loss(self.loss, self.huber_delta)
        seed = seed_int(self.random_state)
        n = data.num_graphs
        batch_size = int(min(self.batch_size, n))
        steps_per_epoch = -(-n // batch_size)
        epochs = max(int(self.epochs), -(-int(self.min_steps) // steps_per_epoch))
        with torch.random.fork_rng(devices=[]), torch_threads(self.n_jobs):
            torch.manual_seed(seed)
            module = self._build()
            opt = torch.optim.AdamW(
                module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            sched = torch.optim.lr_scheduler.OneCycleLR(
                opt,
                max_lr=self.learning_rate,
                total_steps=epochs * steps_per_epoch,
                pct_start=0.05,
                anneal_strategy="cos",
            )
            gen = torch.Generator().manual_seed(seed)
            tt = torch.from_numpy(t.astype(np.float32))
            module.train()
            show = sys.stderr.isatty() if self.progress is None else bool(self.progress)
            with tqdm(
                total=epochs,
                desc=f"GIN on {n:,} cells",
                unit="epoch",
                leave=False,
                disable=not show,
            ) as bar:
                for _ in range(epochs):
                    order = torch.randperm(n, generator=gen)
                    total, batches = 0.0, 0
                    for start in range(0, n, batch_size):
                        ids = order[start : start + batch_size]
                        if len(ids) < 2:  # BatchNorm needs two graphs
                            continue
                        opt.zero_grad()
                        loss = loss_fn(module(data.gather(ids)), tt[ids])
                        loss.backward()
                        opt.step()
                        sched.step()
                        total, batches = total + loss.item(), batches + 1
                    bar.set_postfix_str(f"loss {total / max(batches, 1):.4f}", refresh=False)
                    bar.update(1)
        module.eval()
        self.module_ = module
        self.n_epochs_ = epochs
        return self

    def _predict_scaled_graphs(self, data: _Collated, batch_size: int = 4096) -> np.ndarray:
        out = []
        with torch.no_grad(), torch_threads(self.n_jobs):
            for start in range(0, data.num_graphs, batch_size):
                ids = torch.arange(start, min(start + batch_size, data.num_graphs))
                out.append(self.module_(data.gather(ids)).numpy())
        return np.concatenate(out)

    def predict(self, X: list[Data] | Batch) -> np.ndarray:
        """Predicted targets, shape (num_graphs,)."""
        check_is_fitted(self)
        data = self._collate(X)
        if data.x.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {data.x.shape[1]} node features, but GINModel is "
                f"expecting {self.n_features_in_} node features as input."
            )
        return self._unscale(self._predict_scaled_graphs(data))

    def embed(self, X: list[Data] | Batch, batch_size: int = 4096) -> np.ndarray:
        """Pooled GIN embeddings of ``X``, shape (num_graphs, hidden_channels)."""
        check_is_fitted(self)
        data = self._collate(X)
        out = []
        with torch.no_grad(), torch_threads(self.n_jobs):
            for start in range(0, data.num_graphs, batch_size):
                ids = torch.arange(start, min(start + batch_size, data.num_graphs))
                out.append(self.module_.embed(data.gather(ids)).numpy())
        return np.concatenate(out)

    def _new_module(self) -> GIN:
        return self._build()

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "hidden_channels": trial.suggest_categorical("hidden_channels", [64, 96, 128]),
            "num_layers": trial.suggest_int("num_layers", 2, 5),
            "pooling": trial.suggest_categorical("pooling", ["sum", "mean"]),
            "learning_rate": trial.suggest_float("learning_rate", 3e-4, 1e-2, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            "loss": trial.suggest_categorical("loss", ["mse", "huber"]),
        }
