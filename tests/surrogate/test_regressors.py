"""Contract tests of every registered regressor, the tuning loop and the metrics (tiny data)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from torch_geometric.data import Batch, Data

from nb101.errors import ArtifactError
from surrogate.base import clip_targets, load_model
from surrogate.ensemble import EnsembleModel
from surrogate.gin import GIN, GINModel
from surrogate.metrics import precision_at_top, regression_metrics
from surrogate.registry import REGRESSORS, get_regressor
from surrogate.tuning import tune
from surrogate.xgb import RandomForestModel, XGBRegressorModel

# Small, fast settings per registered model.
FAST = {
    "xgb": {"n_estimators": 20},
    "rf": {"n_estimators": 8, "max_depth": 4},
    "mlp": {"hidden_layer_sizes": (16, 16), "max_epochs": 5},
    "gin": {"hidden_channels": 16, "num_layers": 2, "epochs": 3, "min_steps": 0, "batch_size": 16},
    "ensemble": {"base": XGBRegressorModel(n_estimators=10), "n_members": 2},
}


def _graph(rng: np.random.Generator) -> Data:
    n = int(rng.integers(3, 8))
    adj = np.triu(rng.integers(0, 2, size=(n, n)), 1)
    adj[np.arange(n - 1), np.arange(1, n)] = 1  # a chain keeps it connected
    x = np.zeros((n, 5), np.float32)
    x[0, 0] = x[n - 1, 1] = 1
    x[np.arange(1, n - 1), rng.integers(2, 5, size=n - 2)] = 1
    return Data(x=torch.from_numpy(x), edge_index=torch.from_numpy(np.stack(np.nonzero(adj))))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, size=(80, 12)).astype(np.float32)
    y = 0.9 + 0.02 * X[:, :4].sum(1) - 0.01 * X[:, 5] + 0.005 * rng.standard_normal(80)
    y[3] = 0.1  # a collapsed run
    graphs = [_graph(rng) for _ in range(80)]
    for g in graphs:
        g.validate(raise_on_error=True)
    return {"array": (X[:60], y[:60], X[60:]), "graph": (graphs[:60], y[:60], graphs[60:])}


def _make(name: str, seed: int = 0):
    return get_regressor(name, **FAST[name], random_state=seed)


def _inputs(name, data):
    return data[REGRESSORS[name].input_kind if name != "ensemble" else "array"]


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_clone_and_params(name):
    model = _make(name)
    copy = clone(model)
    assert type(copy) is type(model)
    assert set(copy.get_params(deep=False)) == set(model.get_params(deep=False))
    assert copy.get_params(deep=False)["random_state"] == 0
    assert REGRESSORS[name].input_kind in ("array", "graph")


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_fit_predict_contract(name, data, tmp_path):
    X, y, X_test = _inputs(name, data)
    model = _make(name)
    with pytest.raises(NotFittedError):
        model.predict(X_test)
    assert model.fit(X, y) is model
    pred = model.predict(X_test)
    assert pred.shape == (len(X_test),)
    assert np.all(np.isfinite(pred))
    # seeded determinism
    again = _make(name).fit(X, y).predict(X_test)
    np.testing.assert_array_equal(pred, again)
    # save / load: identical predictions, through the class and the dispatcher
    model.save(tmp_path / name)
    assert not list(tmp_path.rglob("*.pkl"))
    loaded = type(model).load(tmp_path / name)
    np.testing.assert_array_equal(loaded.predict(X_test), pred)
    np.testing.assert_array_equal(load_model(tmp_path / name).predict(X_test), pred)
    assert loaded.get_params(deep=False).keys() == model.get_params(deep=False).keys()
    if getattr(model, "has_std", False):
        std = model.predict_std(X_test)
        assert std.shape == (len(X_test),) and np.all(std >= 0)
        np.testing.assert_allclose(loaded.predict_std(X_test), std)


def test_torch_global_rng_untouched(data):
    X, y, _ = data["array"]
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _make("mlp").fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


def test_wrong_feature_count(data):
    X, y, X_test = data["array"]
    model = _make("xgb").fit(X, y)
    with pytest.raises(
        ValueError, match="X has 11 features, but XGBRegressorModel is expecting 12"
    ):
        model.predict(X_test[:, :11])


def test_load_wrong_class(data, tmp_path):
    X, y, _ = data["array"]
    _make("xgb").fit(X, y).save(tmp_path / "m")
    with pytest.raises(ArtifactError, match="expecting RandomForestModel, got XGBRegressorModel"):
        RandomForestModel.load(tmp_path / "m")
    with pytest.raises(ArtifactError, match="metadata.json is missing"):
        XGBRegressorModel.load(tmp_path / "nothing")


def test_forest_trees_average_to_prediction(data):
    X, y, X_test = data["array"]
    model = _make("rf").fit(X, y)
    trees = model.predict_trees(X_test)
    assert trees.shape == (len(X_test), 8)
    np.testing.assert_allclose(trees.mean(axis=1), model.predict(X_test), atol=1e-5)


def test_ensemble_spread_and_bootstrap(data):
    X, y, X_test = data["array"]
    model = EnsembleModel(
        base=XGBRegressorModel(n_estimators=10), n_members=3, bootstrap=True, random_state=1
    ).fit(X, y)
    members = model.predict_members(X_test)
    assert members.shape == (len(X_test), 3)
    np.testing.assert_allclose(model.predict_std(X_test), members.std(axis=1))
    assert model.predict_std(X_test).max() > 0


def test_gin_module_embed_and_batch_input(data):
    graphs, y, test = data["graph"]
    model = _make("gin").fit(Batch.from_data_list(graphs), y)
    assert isinstance(model.module_, GIN)
    emb = model.module_.embed(Batch.from_data_list(test))
    assert emb.shape == (len(test), 16)
    np.testing.assert_allclose(model.embed(test), emb.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.predict(Batch.from_data_list(test)), model.predict(test))
    with pytest.raises(ValueError, match="list of Data or a Batch"):
        model.predict(test[0])
    assert GINModel.input_kind == "graph"


def test_gin_shows_epoch_progress_when_asked(data, capsys):
    graphs, y, _ = data["graph"]
    _make("gin").fit(graphs, y)  # default: only on a terminal (pytest's stderr is not one)
    assert "epoch" not in capsys.readouterr().err
    model = _make("gin").set_params(progress=True).fit(graphs, y)
    err = capsys.readouterr().err
    assert f"GIN on {len(graphs):,} cells" in err and "/3 [" in err and "epoch" in err
    quiet = _make("gin").set_params(progress=False).fit(graphs, y)
    assert capsys.readouterr().err == ""
    np.testing.assert_array_equal(model.predict(graphs), quiet.predict(graphs))


def test_registry_errors():
    with pytest.raises(ValueError, match=r"unknown regressor 'xgbb'; choices: \['ensemble'"):
        get_regressor("xgbb")
    with pytest.raises(ValueError, match="unknown parameters \\['depth'\\]"):
        get_regressor("xgb", depth=3)
    with pytest.raises(ValueError, match="clip_quantile must be None or in"):
        get_regressor("xgb", clip_quantile=0.7).fit(np.ones((4, 2)), np.ones(4))


def test_clip_targets_rule():
    y = np.r_[np.full(3, 0.1), np.linspace(0.85, 0.95, 97)]
    clipped, low = clip_targets(y, 0.05)
    assert low == pytest.approx(np.quantile(y, 0.05)) and low > 0.8
    np.testing.assert_array_equal(clipped, np.maximum(y, low))
    for off in (None, 0, 0.0):
        same, low = clip_targets(y, off)
        assert same is y and low is None
    for bad in (-0.1, 0.5, True):
        with pytest.raises(ValueError, match="clip_quantile"):
            clip_targets(y, bad)


@pytest.mark.parametrize("name", sorted(REGRESSORS))
def test_clip_is_data_driven(name, data):
    """Every regressor clips at a quantile of its own labels: the rule follows the scale of
    the target (4-epoch accuracies around 0.2 are not flattened to a constant)."""
    X, y, X_test = _inputs(name, data)
    low_y = y * 0.25  # a low-accuracy target, like 4-epoch validation accuracy
    model = _make(name).fit(X, low_y)
    members = getattr(model, "members_", [model])
    for member in members:
        assert member.clip_min_ == pytest.approx(np.quantile(low_y, 0.02))
    assert np.ptp(model.predict(X_test)) > 0
    key = "base__clip_quantile" if name == "ensemble" else "clip_quantile"
    off = _make(name).set_params(**{key: None}).fit(X, low_y)
    assert all(m.clip_min_ is None for m in getattr(off, "members_", [off]))


@pytest.mark.parametrize("name", ["xgb", "mlp"])
def test_tune_two_trials(name, data):
    X, y, _ = data["array"]
    fixed = {"max_epochs": 3} if name == "mlp" else {"n_estimators": 10}
    best, study = tune(name, X[:40], y[:40], X[40:], y[40:], n_trials=2, seed=0, fixed_params=fixed)
    assert len(study.trials) == 2
    model = get_regressor(name, **best, random_state=0).fit(X, y)
    assert model.predict(X).shape == (60,)
    best2, _ = tune(name, X[:40], y[:40], X[40:], y[40:], n_trials=2, seed=0, fixed_params=fixed)
    assert best2 == best
    with pytest.raises(ValueError, match="unknown metric"):
        tune(name, X, y, X, y, n_trials=1, metric="auc")


def test_metrics_known_values():
    m = regression_metrics([0.1, 0.2, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4])
    assert m["r2"] == pytest.approx(1.0) and m["mae"] == 0.0
    assert m["kendall_tau"] == pytest.approx(1.0) and m["spearman"] == pytest.approx(1.0)
    m = regression_metrics([1.0, 2.0, 3.0], [3.0, 2.0, 1.0])
    assert m["kendall_tau"] == pytest.approx(-1.0)
    assert m["r2"] == pytest.approx(1 - 8 / 2)
    assert m["mae"] == pytest.approx(4 / 3)
    # one swapped pair of 4: tau = (5 - 1) / 6
    assert regression_metrics([1, 2, 3, 4], [1, 3, 2, 4])["kendall_tau"] == pytest.approx(4 / 6)
    # differences below 0.1 % of accuracy are ties for the sparse tau
    y_true = np.array([0.9001, 0.9002, 0.95, 0.80])
    y_pred = np.array([0.9002, 0.9001, 0.95, 0.80])
    m = regression_metrics(y_true, y_pred)
    assert m["kendall_tau"] < 1 and m["sparse_kendall_tau"] == pytest.approx(1.0)
    y = np.arange(200, dtype=float)
    assert precision_at_top(y, y, 0.05) == 1.0
    assert precision_at_top(y, -y, 0.05) == 0.0
    m = regression_metrics(y, y)
    assert m["precision_top1"] == 1.0 and m["precision_top5"] == 1.0
    with pytest.raises(ValueError, match="y_pred has 2 values, but y_true has 3"):
        regression_metrics([1, 2, 3], [1, 2])


def test_xgboost_artifact_loads_without_torch():
    """The per-family modules keep torch out of XGBoost-only work (a fresh interpreter)."""
    import subprocess
    import sys

    code = (
        "import sys; from surrogate.artifact import load_artifact; load_artifact(); "
        "assert 'torch' not in sys.modules and 'torch_geometric' not in sys.modules, "
        "sorted(m for m in sys.modules if m.startswith('torch'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------------------- trends
def _cost_labels(X: np.ndarray) -> np.ndarray:
    """A time that adds up over the compute, times a small op-dependent factor."""
    from features import AdjacencyComputeEncoding

    c = AdjacencyComputeEncoding.costs(X)
    return (250 + 0.005 * c[:, 1] + 3 * c[:, 2] + 90 * c[:, 5]) * (1 + 0.02 * X[:, 4])


def test_trend_carries_the_prediction_below_the_fitted_cells(space, tmp_path):
    """``trend="compute_cost"``: fitted on the costlier 80 % of cells, the model follows the
    cost down to the cheapest cells, where trees alone stay at the level of the cheapest
    fitted ones; the trend is saved with the model."""
    from features import get_featurizer

    X = get_featurizer("adjacency_compute").transform(space.sample(3000, seed=1), space)
    y = _cost_labels(X)
    cheap = y < np.quantile(y, 0.2)
    params = dict(n_estimators=100, learning_rate=0.1, clip_quantile=None, random_state=0)
    plain = XGBRegressorModel(**params).fit(X[~cheap], y[~cheap])
    model = XGBRegressorModel(**params, trend="compute_cost").fit(X[~cheap], y[~cheap])
    assert plain.trend_weights_ is None and (model.trend_weights_ >= 0).all()
    plain_error = np.abs(np.log(plain.predict(X[cheap]) / y[cheap])).mean()
    error = np.abs(np.log(model.predict(X[cheap]) / y[cheap])).mean()
    assert error < 0.03 < plain_error
    same = load_model(model.save(tmp_path / "trend"))
    assert same.trend == "compute_cost"
    np.testing.assert_array_equal(same.predict(X[:50]), model.predict(X[:50]))
    assert load_model(plain.save(tmp_path / "plain")).trend_weights_ is None


def test_trend_errors(space):
    from features import get_featurizer

    X = get_featurizer("adjacency_compute").transform(space.sample(50, seed=2), space)
    y = _cost_labels(X)
    with pytest.raises(ValueError, match="trend must be None or one of \\['compute_cost'\\]"):
        XGBRegressorModel(trend="linear").fit(X, y)
    with pytest.raises(ValueError, match="the labels must be positive, got minimum -1.0"):
        XGBRegressorModel(n_estimators=5, trend="compute_cost").fit(X, np.r_[y[:-1], -1.0])
    with pytest.raises(ValueError, match="'adjacency_compute' encoding"):
        XGBRegressorModel(n_estimators=5, trend="compute_cost").fit(X[:, :36], y)
