"""Ensembles of surrogate regressors: members cloned from one base, mean and spread.

:class:`EnsembleModel` fits ``n_members`` clones of a base regressor (any of
:data:`surrogate.registry.REGRESSORS`; XGBoost by default) with seeds ``random_state + i``,
optionally each on a bootstrap resample of the training set, and predicts their mean;
``predict_std`` is their spread (the uncertainty that BANANAS-style acquisition uses). Saved
as one folder per member beside the ensemble's ``metadata.json``.

Example
-------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X_train, y_train, X_test = rng.random((200, 36)), rng.random(200), rng.random((100, 36))
>>> from surrogate.xgb import XGBRegressorModel
>>> ens = EnsembleModel(base=XGBRegressorModel(n_estimators=20), n_members=3,
...                     bootstrap=True, random_state=0).fit(X_train, y_train)
>>> mean, std = ens.predict(X_test), ens.predict_std(X_test)
>>> mean.shape, std.shape
((100,), (100,))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import clone
from sklearn.utils.validation import check_is_fitted

from .base import SurrogateRegressor, check_targets, load_model, seed_int
from .xgb import XGBRegressorModel

__all__ = ["EnsembleModel"]


class _MemberInputKind:
    """``input_kind`` of an ensemble: "array" on the class, the base's kind on an instance."""

    def __get__(self, obj: Any, owner: type) -> str:
        if obj is None:
            return "array"
        return getattr(obj._base(), "input_kind", "array")


class EnsembleModel(SurrogateRegressor):
    """Members cloned from ``base`` with seeds ``random_state + i``; mean and spread.

    Parameters
    ----------
    base : estimator, default=None
        Any registered regressor (``None``: :class:`XGBRegressorModel`). Its
        ``input_kind`` is the ensemble's.
    n_members : int, default=5
    bootstrap : bool, default=False
        Fit each member on a bootstrap resample of the training set.
    random_state : int or None, default=None

    Attributes
    ----------
    members_ : list of fitted estimators
    """

    has_std: ClassVar[bool] = True

    def __init__(
        self,
        *,
        base: SurrogateRegressor | None = None,
        n_members: int = 5,
        bootstrap: bool = False,
        random_state: int | None = None,
    ):
        self.base = base
        self.n_members = n_members
        self.bootstrap = bootstrap
        self.random_state = random_state

    input_kind = _MemberInputKind()  # type: ignore[assignment]

    def _base(self) -> SurrogateRegressor:
        return self.base if self.base is not None else XGBRegressorModel()

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "members_")

    def fit(self, X: Any, y: Any) -> EnsembleModel:
        if int(self.n_members) < 1:
            raise ValueError(f"n_members must be >= 1, got {self.n_members}")
        n = len(X)
        y = check_targets(y, n)
        seed = seed_int(self.random_state)
        rng = np.random.default_rng(seed)
        members = []
        for i in range(int(self.n_members)):
            member = clone(self._base()).set_params(random_state=seed + i)
            if self.bootstrap:
                rows = rng.integers(0, n, size=n)
                Xi = [X[j] for j in rows] if isinstance(X, list) else np.asarray(X)[rows]
                member.fit(Xi, y[rows])
            else:
                member.fit(X, y)
            members.append(member)
        self.members_ = members
        if hasattr(members[0], "n_features_in_"):
            self.n_features_in_ = members[0].n_features_in_
        return self

    def predict_members(self, X: Any) -> np.ndarray:
        """Each member's prediction, shape (n_samples, n_members)."""
        check_is_fitted(self)
        return np.stack([m.predict(X) for m in self.members_], axis=1)

    def predict(self, X: Any) -> np.ndarray:
        return self.predict_members(X).mean(axis=1)

    def predict_std(self, X: Any) -> np.ndarray:
        """Standard deviation across members, shape (n_samples,)."""
        return self.predict_members(X).std(axis=1)

    def save(self, path: str | os.PathLike) -> Path:
        check_is_fitted(self)
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        for i, member in enumerate(self.members_):
            member.save(path / f"member_{i}")
        self._write_metadata(path, {"n_members_": len(self.members_)})
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> EnsembleModel:
        path = Path(path)
        model, meta = cls._from_metadata(path)
        model.members_ = [
            load_model(path / f"member_{i}") for i in range(int(meta["state"]["n_members_"]))
        ]
        if hasattr(model.members_[0], "n_features_in_"):
            model.n_features_in_ = model.members_[0].n_features_in_
        return model

    @classmethod
    def search_space(cls, trial: Any) -> dict[str, Any]:
        return {
            "n_members": trial.suggest_int("n_members", 2, 8),
            "bootstrap": trial.suggest_categorical("bootstrap", [False, True]),
        }
