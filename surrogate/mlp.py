"""Fully connected network (torch) as a surrogate regressor: the simple neural baseline.

:class:`MLPModel` standardises its inputs per feature and its (clipped) targets, trains with
Adam and a cosine learning rate, and stops early on a held-out share of the training data
(the best epoch's weights are kept). torch is imported on first fit or load, never with this
module; the weights are a ``state_dict`` (:class:`surrogate.base.TorchWeights`).

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X_train, y_train, X_test = rng.random((200, 36)), rng.random(200), rng.random((100, 36))
>>> model = MLPModel(hidden_layer_sizes=(128, 128), random_state=0).fit(X_train, y_train)
>>> model.predict(X_test).shape
(100,)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nb101._optional import require

from .base import SurrogateRegressor, TorchWeights, seed_int, torch_loss, torch_threads

__all__ = ["MLPModel"]

_FEATURE = "the MLP regressor"


class _MLPNet:
    """Factory of the torch MLP (kept lazy so importing this module does not import torch)."""

    @staticmethod
    def build(n_in: int, hidden: tuple[int, ...], dropout: float):
        torch = require("torch", "gnn", _FEATURE)
        nn = torch.nn

        class MLPNet(nn.Module):
            def __init__(self):
                super().__init__()
                self.register_buffer("x_mean", torch.zeros(n_in))
                self.register_buffer("x_scale", torch.ones(n_in))
                layers, width = [], n_in
                for h in hidden:
                    layers += [nn.Linear(width, h), nn.ReLU()]
                    if dropout > 0:
                        layers.append(nn.Dropout(dropout))
                    width = h
                layers.append(nn.Linear(width, 1))
                self.body = nn.Sequential(*layers)

            def forward(self, x):
                return self.body((x - self.x_mean) / self.x_scale).squeeze(-1)

        return MLPNet()


class MLPModel(TorchWeights, SurrogateRegressor):
    """Fully connected network in torch (the simple baseline).

    Inputs are standardised per feature, targets standardised; Adam with a cosine learning
    rate, early stopping on a held-out ``validation_fraction`` of the training data (the best
    epoch's weights are kept).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 256, 256)
    dropout : float, default=0.1
    learning_rate : float, default=1e-3
    weight_decay : float, default=1e-4
    batch_size : int, default=256
    max_epochs : int, default=200
    patience : int, default=20
        Epochs without validation improvement before stopping.
    validation_fraction : float, default=0.1
    loss : {"huber", "mse"}, default="huber"
    huber_delta : float, default=1.0
    clip_quantile : float or None, default=0.02
        See :func:`clip_targets`.
    n_jobs : int or None, default=1
        Torch intra-op threads while fitting and predicting (None: leave torch's setting).
    random_state : int or None, default=None

    Attributes
    ----------
    module_ : torch.nn.Module
    n_epochs_ : int
        Epochs trained (early stopping included).
    """

    def __init__(
        self,
        *,
        hidden_layer_sizes: tuple[int, ...] = (256, 256, 256),
        dropout: float = 0.1,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        batch_size: int = 256,
        max_epochs: int = 200,
        patience: int = 20,
        validation_fraction: float = 0.1,
        loss: str = "huber",
        huber_delta: float = 1.0,
        clip_quantile: float | None = 0.02,
        n_jobs: int | None = 1,
        random_state: int | None = None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.loss = loss
        self.huber_delta = huber_delta
        self.clip_quantile = clip_quantile
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _build(self, n_in: int):
        return _MLPNet.build(
            n_in, tuple(int(h) for h in self.hidden_layer_sizes), float(self.dropout)
        )

    def _fit_scaled(self, X: np.ndarray, t: np.ndarray) -> None:
        torch = require("torch", "gnn", _FEATURE)
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction}"
            )
        loss_fn = torch_loss(self.loss, self.huber_delta)
        seed = seed_int(self.random_state)
        rng = np.random.default_rng(seed)
        n = len(X)
        n_val = int(round(self.validation_fraction * n)) if n >= 20 else 0
        perm = rng.permutation(n)
        val, tr = perm[:n_val], perm[n_val:]
        with torch.random.fork_rng(devices=[]), torch_threads(self.n_jobs):
            torch.manual_seed(seed)
            module = self._build(X.shape[1])
            mean = X[tr].mean(axis=0)
            scale = X[tr].std(axis=0)
            scale[scale == 0] = 1.0
            module.x_mean.copy_(torch.from_numpy(mean))
            module.x_scale.copy_(torch.from_numpy(scale))
            Xt, tt = torch.from_numpy(X), torch.from_numpy(t.astype(np.float32))
            best, best_state, bad, epochs = np.inf, None, 0, 0
            opt = torch.optim.Adam(
                module.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=self.max_epochs)
            gen = torch.Generator().manual_seed(seed)
            tr_t = torch.from_numpy(tr)
            for epoch in range(self.max_epochs):
                module.train()
                order = tr_t[torch.randperm(len(tr_t), generator=gen)]
                for start in range(0, len(order), self.batch_size):
                    b = order[start : start + self.batch_size]
                    if len(b) < 2 and len(order) > 1:
                        continue
                    opt.zero_grad()
                    loss_fn(module(Xt[b]), tt[b]).backward()
                    opt.step()
                sched.step()
                epochs = epoch + 1
                if n_val:
                    module.eval()
                    with torch.no_grad():
                        v = float(loss_fn(module(Xt[val]), tt[val]))
                    if v < best - 1e-6:
                        best, bad = v, 0
                        best_state = {k: x.clone() for k, x in module.state_dict().items()}
                    else:
                        bad += 1
                        if bad >= self.patience:
                            break
            if best_state is not None:
                module.load_state_dict(best_state)
        module.eval()
        self.module_ = module
        self.n_epochs_ = epochs

    def _predict_scaled(self, X: np.ndarray) -> np.ndarray:
        torch = require("torch", "gnn", _FEATURE)
        with torch.no_grad(), torch_threads(self.n_jobs):
            return self.module_(torch.from_numpy(X)).numpy()

    def _new_module(self):
        return self._build(self.n_features_in_)

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        width = trial.suggest_categorical("width", [64, 128, 256, 512])
        depth = trial.suggest_int("depth", 1, 4)
        return {
            "hidden_layer_sizes": (width,) * depth,
            "dropout": trial.suggest_float("dropout", 0.0, 0.5),
            "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
            "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
            "loss": trial.suggest_categorical("loss", ["mse", "huber"]),
        }
