"""Cell predictors of the protocol: adapters of the registries and plug-ins.

A *cell predictor* is any object with ``fit(cells, y)`` and ``predict(cells)`` where ``cells``
is an int64 array of space indices (:func:`nb101.get_space`) and ``predict`` returns one
number per cell. The built-ins are every array featurizer of :data:`features.FEATURIZERS`
times every array regressor of :data:`surrogate.registry.REGRESSORS`
(:class:`FeaturizedPredictor`, named ``"<featurizer>+<regressor>"``) and every graph regressor
end to end on the cell graphs (:class:`GraphPredictor`, named ``"<regressor>"``).

Plug-ins join with no project change: ``"module:Class"`` or ``"path/to/file.py:Class"`` names a
cell predictor class (instantiated with ``random_state=seed`` or ``seed=seed`` when its
``__init__`` takes one, else with no argument), and a featurizer plug-in (any object, or a
class instantiated without arguments, with ``transform(indices) -> (K, dim)``) is paired with
every array regressor as ``"<name>+<regressor>"``.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "CellPredictor",
    "FeaturizedPredictor",
    "GraphPredictor",
    "PredictorSpec",
    "PluginError",
    "builtin_predictors",
    "plugin_predictor",
    "plugin_featurizer_pairs",
    "import_object",
    "check_output",
    "FAST_PARAMS",
]


class PluginError(ValueError):
    """A plug-in that cannot be used: it does not import, lacks ``fit``/``predict`` (or
    ``transform``), or misbehaves (raises, wrong shape, NaN). The message names the plug-in."""


@runtime_checkable
class CellPredictor(Protocol):
    """What the protocol runs: fit on cell indices and labels, predict cell indices."""

    def fit(self, cells: np.ndarray, y: np.ndarray) -> Any: ...

    def predict(self, cells: np.ndarray) -> np.ndarray: ...


#: Regressor parameters of the protocol's default ("fast") configuration: sized so that the
#: default run (all pairs, 5 trials, training sets up to 1,000 cells) takes minutes on two
#: cores. Only the parameters a regressor has are applied; ``model_defaults="library"`` uses
#: the library defaults instead.
FAST_PARAMS: dict[str, dict[str, Any]] = {
    "xgb": {"n_estimators": 200, "learning_rate": 0.1, "n_jobs": 1},
    "rf": {"n_estimators": 100, "max_depth": 10, "n_jobs": 1},
    "mlp": {"hidden_layer_sizes": (128, 128), "max_epochs": 100, "patience": 10},
    "ensemble": {"n_members": 3},
    "gin": {"hidden_channels": 64, "num_layers": 3, "epochs": 20, "min_steps": 200},
}


def _fast_params(name: str, cls: type) -> dict[str, Any]:
    valid = cls().get_params(deep=False) if hasattr(cls, "get_params") else {}
    params = {k: v for k, v in FAST_PARAMS.get(name, {}).items() if k in valid}
    if name == "ensemble" and "base" in valid:
        from surrogate.registry import REGRESSORS

        if "xgb" in REGRESSORS:
            params["base"] = REGRESSORS["xgb"](**_fast_params("xgb", REGRESSORS["xgb"]))
    return params


def check_output(pred: Any, n: int, who: str) -> np.ndarray:
    """Predictions of ``n`` cells as a finite float64 vector (an ``(n, 1)`` column is
    accepted); :class:`PluginError` naming ``who`` otherwise."""
    try:
        array = np.asarray(pred, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PluginError(f"{who} returned predictions that are not numbers ({exc})") from None
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.shape != (n,):
        raise PluginError(
            f"{who} returned predictions of shape {array.shape} for {n} cells, expected ({n},)"
        )
    bad = int(np.count_nonzero(~np.isfinite(array)))
    if bad:
        raise PluginError(f"{who} returned {bad} NaN or infinite predictions of {n}")
    return array


def _check_fitted(predictor: Any) -> None:
    if not hasattr(predictor, "regressor_"):
        from sklearn.exceptions import NotFittedError

        raise NotFittedError(
            f"this {type(predictor).__name__} is not fitted yet; call fit before predict"
        )


class FeaturizedPredictor:
    """A featurizer and an array regressor as one cell predictor.

    Parameters
    ----------
    featurizer : object
        Anything with ``transform(indices) -> (K, dim)`` (a :class:`features.Featurizer` or a
        plug-in object).
    regressor : estimator
        An unfitted array regressor (``fit(X, y)``, ``predict(X)``); ``fit`` fits a clone.
    name : str, optional
        Used in error messages.
    """

    def __init__(self, *, featurizer: Any, regressor: Any, name: str | None = None):
        self.featurizer = featurizer
        self.regressor = regressor
        self.name = name

    def _features(self, cells: np.ndarray) -> np.ndarray:
        who = f"featurizer of {self.name or type(self).__name__!r}"
        X = np.asarray(
            self.featurizer.transform(np.asarray(cells, dtype=np.int64)), dtype=np.float32
        )
        if X.ndim != 2 or len(X) != len(cells):
            raise PluginError(
                f"{who} returned features of shape {X.shape} for {len(cells)} "
                f"cells, expected ({len(cells)}, dim)"
            )
        if not np.all(np.isfinite(X)):
            raise PluginError(f"{who} returned NaN or infinite features")
        return X

    def fit(self, cells: np.ndarray, y: np.ndarray) -> FeaturizedPredictor:
        from sklearn.base import clone

        self.regressor_ = clone(self.regressor).fit(self._features(cells), y)
        return self

    def predict(self, cells: np.ndarray) -> np.ndarray:
        _check_fitted(self)
        return self.regressor_.predict(self._features(cells))


class GraphPredictor:
    """A graph regressor (``input_kind = "graph"``, e.g. GIN) on the cells' PyG graphs, built
    by :func:`features.cells_to_batch` (vectorised, one ``Batch`` per call)."""

    def __init__(self, *, regressor: Any):
        self.regressor = regressor

    @staticmethod
    def _graphs(cells: np.ndarray) -> Any:
        from features import cells_to_batch

        return cells_to_batch(np.asarray(cells, dtype=np.int64))

    def fit(self, cells: np.ndarray, y: np.ndarray) -> GraphPredictor:
        from sklearn.base import clone

        self.regressor_ = clone(self.regressor).fit(self._graphs(cells), y)
        return self

    def predict(self, cells: np.ndarray) -> np.ndarray:
        _check_fitted(self)
        return self.regressor_.predict(self._graphs(cells))


@dataclass(frozen=True)
class PredictorSpec:
    """A named predictor of the leaderboard.

    ``make(seed)`` returns a fresh unfitted cell predictor; ``error`` (when not None) marks a
    plug-in that could not be loaded: it is reported as failed without running."""

    name: str
    make: Callable[[int], Any] | None
    origin: str = "builtin"
    error: str | None = None


def _input_kind(cls: type) -> str:
    kind = getattr(cls, "input_kind", "array")
    if not isinstance(kind, str):  # a property (e.g. an ensemble takes its base's kind)
        kind = getattr(cls(), "input_kind", "array")
    return kind


def builtin_predictors(model_defaults: str = "fast") -> list[PredictorSpec]:
    """Every registered array featurizer x array regressor pair, then every graph regressor."""
    from features import FEATURIZERS
    from surrogate.registry import REGRESSORS

    if model_defaults not in ("fast", "library"):
        raise ValueError(f"model_defaults must be 'fast' or 'library', got {model_defaults!r}")
    specs = []
    for f_name, featurizer in FEATURIZERS.items():
        for r_name, cls in REGRESSORS.items():
            if _input_kind(cls) == "array":
                specs.append(
                    PredictorSpec(
                        f"{f_name}+{r_name}",
                        _pair_factory(
                            featurizer, r_name, cls, model_defaults, f"{f_name}+{r_name}"
                        ),
                    )
                )
    for r_name, cls in REGRESSORS.items():
        if _input_kind(cls) == "graph":
            specs.append(PredictorSpec(r_name, _graph_factory(r_name, cls, model_defaults)))
    return specs


def _regressor(r_name: str, cls: type, model_defaults: str, seed: int) -> Any:
    params = _fast_params(r_name, cls) if model_defaults == "fast" else {}
    if "random_state" in cls().get_params(deep=False):
        params["random_state"] = seed
    return cls(**params)


def _pair_factory(featurizer, r_name, cls, model_defaults, name):
    def make(seed: int) -> FeaturizedPredictor:
        return FeaturizedPredictor(
            featurizer=featurizer,
            regressor=_regressor(r_name, cls, model_defaults, seed),
            name=name,
        )

    return make


def _graph_factory(r_name, cls, model_defaults):
    def make(seed: int) -> GraphPredictor:
        return GraphPredictor(regressor=_regressor(r_name, cls, model_defaults, seed))

    return make


# --------------------------------------------------------------------------- plug-ins
def import_object(path: str) -> Any:
    """Import ``"package.module:attr"`` or ``"path/to/file.py:attr"``.

    The current directory is put on ``sys.path`` (as ``python -m`` does), and a file path's
    folder too, so a module beside the user's script or in ``tests/`` imports.

    Raises
    ------
    PluginError
        If the string is malformed, the module does not import or lacks the attribute.
    """
    module_name, sep, attr = str(path).rpartition(":")
    if not sep or not module_name or not attr:
        raise PluginError(f"plug-in {path!r} must be 'module:Name' or 'file.py:Name'")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if module_name.endswith(".py") or os.sep in module_name or "/" in module_name:
            file = Path(module_name).resolve()
            if not file.is_file():
                raise PluginError(f"plug-in {path!r}: no such file {file}")
            module = _module_of_file(file)
        else:
            module = importlib.import_module(module_name)
    except PluginError:
        raise
    except Exception as exc:  # noqa: BLE001 - any import-time failure of user code
        raise PluginError(f"plug-in {path!r} does not import: {type(exc).__name__}: {exc}") from exc
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise PluginError(
                f"plug-in {path!r}: module {module.__name__!r} has no attribute {attr!r}"
            )
        obj = getattr(obj, part)
    return obj


def _module_of_file(file: Path):
    for module in list(sys.modules.values()):
        mod_file = getattr(module, "__file__", None)
        if mod_file and Path(mod_file).resolve() == file:
            return module
    if str(file.parent) not in sys.path:
        sys.path.insert(0, str(file.parent))
    name = f"_nb101_plugin_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _label(obj: Any, given: str | None) -> str:
    if given:
        return given
    if isinstance(obj, str):
        return obj.rpartition(":")[2]
    return getattr(obj, "__name__", None) or getattr(obj, "name", None) or type(obj).__name__


def plugin_predictor(plugin: Any, name: str | None = None) -> PredictorSpec:
    """A cell-predictor plug-in: a ``"module:Class"`` string, a class (or factory), or an
    instance (deep-copied for each trial). Never raises: a plug-in that cannot be used comes
    back with ``error`` set."""
    label = _label(plugin, name)
    try:
        obj = import_object(plugin) if isinstance(plugin, str) else plugin
        if inspect.isclass(obj):
            for method in ("fit", "predict"):
                if not callable(getattr(obj, method, None)):
                    raise PluginError(
                        f"plug-in {label!r}: class {obj.__name__} has no "
                        f"{method}(cells{', y' if method == 'fit' else ''}) "
                        f"method; a cell predictor needs fit and predict"
                    )
            make = _class_factory(obj)
        elif callable(getattr(obj, "fit", None)) and callable(getattr(obj, "predict", None)):
            make = _instance_factory(obj)
        elif callable(obj):
            make = _callable_factory(obj, label)
        else:
            raise PluginError(
                f"plug-in {label!r} ({type(obj).__name__}) has no fit/predict "
                f"methods; a cell predictor needs fit(cells, y) and "
                f"predict(cells)"
            )
    except PluginError as exc:
        return PredictorSpec(label, None, "plugin", str(exc))
    return PredictorSpec(label, make, "plugin")


def _seed_kwarg(cls: Any) -> str | None:
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return None
    for key in ("random_state", "seed"):
        if key in params:
            return key
    return None


def _class_factory(cls: type) -> Callable[[int], Any]:
    key = _seed_kwarg(cls)
    return (lambda seed: cls(**{key: seed})) if key else (lambda seed: cls())


def _instance_factory(obj: Any) -> Callable[[int], Any]:
    return lambda seed: copy.deepcopy(obj)


def _callable_factory(func: Callable, label: str) -> Callable[[int], Any]:
    key = _seed_kwarg(func)

    def make(seed: int) -> Any:
        out = func(**{key: seed}) if key else func()
        if not (callable(getattr(out, "fit", None)) and callable(getattr(out, "predict", None))):
            raise PluginError(
                f"plug-in {label!r}: the factory returned a "
                f"{type(out).__name__} without fit/predict"
            )
        return out

    return make


def plugin_featurizer_pairs(
    plugin: Any, name: str | None = None, model_defaults: str = "fast"
) -> list[PredictorSpec]:
    """A featurizer plug-in (``"module:obj"``, an object or a class with ``transform``) paired
    with every array regressor. Never raises: a plug-in that cannot be used comes back as one
    failed entry."""
    from surrogate.registry import REGRESSORS

    label = _label(plugin, name)
    try:
        obj = import_object(plugin) if isinstance(plugin, str) else plugin
        if inspect.isclass(obj):
            if not callable(getattr(obj, "transform", None)):
                raise PluginError(
                    f"featurizer plug-in {label!r}: class {obj.__name__} has no "
                    f"transform(indices) method"
                )
            try:
                obj = obj()
            except Exception as exc:  # noqa: BLE001 - user code
                raise PluginError(
                    f"featurizer plug-in {label!r}: {obj.__name__}() raised "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
        if not callable(getattr(obj, "transform", None)):
            raise PluginError(
                f"featurizer plug-in {label!r} ({type(obj).__name__}) has no "
                f"transform(indices) method"
            )
    except PluginError as exc:
        return [PredictorSpec(f"{label}+*", None, "plugin", str(exc))]
    return [
        PredictorSpec(
            f"{label}+{r_name}",
            _pair_factory(obj, r_name, cls, model_defaults, f"{label}+{r_name}"),
            "plugin",
        )
        for r_name, cls in REGRESSORS.items()
        if _input_kind(cls) == "array"
    ]
