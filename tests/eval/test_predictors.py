"""The predictor research harness (eval.predictors): splits, metrics, plug-ins, bad input,
noise ceiling, outputs and the CLI, on small seconds-long configurations."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from eval.errors import EvalConfigError
from eval.predictors import (
    METRIC_RANGES,
    GraphPredictor,
    PluginError,
    ProtocolConfig,
    TargetData,
    import_object,
    leaderboard_markdown,
    list_predictors,
    main,
    make_splits,
    noise_ceiling,
    run_protocol,
    summarize,
)
from surrogate.noise import pooled_run_std

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------ plug-ins under test
class VertexMeanPredictor:
    """A cell predictor plug-in: the mean label of training cells with as many vertices
    (plus a tiny edge-count term so the ranking has few ties)."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    @staticmethod
    def _keys(cells):
        from nb101 import get_space

        space = get_space()
        bits = space.bits[cells].astype(np.int64)
        edges = np.array([bin(b).count("1") for b in bits.tolist()])
        return space.num_vertices[cells].astype(int), edges

    def fit(self, cells, y):
        nv, _ = self._keys(cells)
        self.mean_ = float(np.mean(y))
        self.by_nv_ = {v: float(np.mean(y[nv == v])) for v in np.unique(nv)}
        return self

    def predict(self, cells):
        nv, edges = self._keys(cells)
        return np.array([self.by_nv_.get(v, self.mean_) for v in nv]) + 1e-4 * edges


class NoMethods:
    pass


class RaisesInFit(VertexMeanPredictor):
    def fit(self, cells, y):
        raise RuntimeError("boom in fit")


class WrongShape(VertexMeanPredictor):
    def predict(self, cells):
        return np.zeros(len(cells) + 1)


class ReturnsNaN(VertexMeanPredictor):
    def predict(self, cells):
        return np.full(len(cells), np.nan)


class SizeFeaturizer:
    """A featurizer plug-in: vertex count and edge count."""

    def transform(self, indices):
        from nb101 import get_space

        space = get_space()
        bits = space.bits[indices].astype(np.int64)
        edges = np.array([bin(b).count("1") for b in bits.tolist()], dtype=np.float32)
        return np.stack([space.num_vertices[indices].astype(np.float32), edges], axis=1)


SIZE_FEATURIZER = SizeFeaturizer()


# ----------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def synthetic(space) -> TargetData:
    """2,000 cells whose label depends on the cell (vertex and edge counts) plus noise; 300
    of them with 3 runs of known noise (sigma 0.005)."""
    rng = np.random.default_rng(0)
    cells = np.sort(rng.choice(len(space), 2000, replace=False))
    nv = space.num_vertices[cells].astype(float)
    edges = np.array([bin(int(b)).count("1") for b in space.bits[cells]])
    mu = 0.85 + 0.01 * nv + 0.004 * edges
    runs = mu[:300, None] + rng.normal(0, 0.005, (300, 3))
    y = mu + rng.normal(0, 0.005, len(mu))
    y[:300] = runs[:, 0]
    return TargetData(
        target="validation_accuracy@108",
        table="synthetic",
        cells=cells,
        y=y,
        full_space=False,
        repeat_cells=cells[:300],
        repeat_runs=list(runs),
    )


def _no_nan(token: str):
    raise ValueError(f"non-standard JSON token {token}")


def _smoke(**kw) -> ProtocolConfig:
    base = dict(sizes=(20, 60), trials=2, test_size=300, predictors=("adjacency+xgb",), n_boot=10)
    base.update(kw)
    return ProtocolConfig.smoke(**base)


# ---------------------------------------------------------------------------- splits
def test_sample_splits_fixed_test_set_nested_and_disjoint(synthetic):
    splits = make_splits(
        synthetic,
        sizes=(10, 30, 100),
        standard_sizes=(),
        trials=3,
        seed=4,
        test_size=500,
        standard_test_size=None,
    )
    assert len(splits) == 9
    test = splits[0].test
    for s in splits:
        np.testing.assert_array_equal(s.test, test)
        assert len(s.train) == s.size
        assert not np.intersect1d(s.train, s.test).size
    by_trial = {t: [s for s in splits if s.trial == t] for t in range(3)}
    for group in by_trial.values():  # nested within a trial
        assert set(group[0].train) <= set(group[1].train) <= set(group[2].train)
    assert not np.array_equal(by_trial[0][2].train, by_trial[1][2].train)
    again = make_splits(
        synthetic,
        sizes=(10, 30, 100),
        standard_sizes=(),
        trials=3,
        seed=4,
        test_size=500,
        standard_test_size=None,
    )
    assert all(np.array_equal(a.train, b.train) for a, b in zip(splits, again))


def test_standard_splits_need_the_whole_space(synthetic, space):
    with pytest.raises(ValueError, match="whole space"):
        make_splits(
            synthetic,
            sizes=(),
            standard_sizes=(100,),
            trials=1,
            seed=0,
            test_size=100,
            standard_test_size=1000,
        )
    full = TargetData(
        "test_accuracy@108",
        "synthetic",
        np.arange(len(space)),
        np.zeros(len(space)),
        True,
        np.zeros(0, np.int64),
        [],
    )
    splits = make_splits(
        full,
        sizes=(),
        standard_sizes=(100, 424),
        trials=2,
        seed=0,
        test_size=100,
        standard_test_size=5000,
    )
    assert [(s.kind, s.size) for s in splits] == [("standard", 100)] * 2 + [("standard", 424)] * 2
    for s in splits:
        assert len(s.test) == 5000 and not np.intersect1d(s.train, s.test).size
    all_others = make_splits(
        full,
        sizes=(),
        standard_sizes=(100,),
        trials=1,
        seed=0,
        test_size=100,
        standard_test_size=None,
    )[0]
    assert len(all_others.test) == len(space) - 100


def test_bad_options_raise_before_running(synthetic):
    with pytest.raises(EvalConfigError, match="trials"):
        run_protocol(_smoke(trials=0), data=synthetic)
    with pytest.raises(EvalConfigError, match="matches no built-in"):
        run_protocol(_smoke(predictors=("nope+xgb",)), data=synthetic)
    with pytest.raises(EvalConfigError, match="does not fit"):
        run_protocol(_smoke(sizes=(5000,)), data=synthetic)


# ------------------------------------------------------------------- protocol + plug-ins
def test_protocol_with_plugins_and_outputs(synthetic, tmp_path):
    result = run_protocol(
        _smoke(),
        plugins=[
            f"{__name__}:VertexMeanPredictor",
            f"{__file__}:NoMethods",
            RaisesInFit,
            WrongShape,
            ReturnsNaN,
            "no_such_module_xyz:Thing",
        ],
        plugin_featurizers={"size": SIZE_FEATURIZER},
        data=synthetic,
    )
    names = {r["predictor"] for r in result.rows}
    assert {
        "adjacency+xgb",
        "VertexMeanPredictor",
        "size+xgb",
        "size+rf",
        "size+mlp",
        "size+ensemble",
    } <= names
    ok = result.row("VertexMeanPredictor", 60)
    assert ok["status"] == "ok" and ok["trials_ok"] == 2
    assert ok["kendall_tau"] > 0.3 and ok["kendall_tau_ci_low"] <= ok["kendall_tau"]
    assert result.row("adjacency+xgb", 60)["status"] == "ok"
    assert result.row("size+xgb", 60)["status"] == "ok"
    failures = {
        "NoMethods": "no fit",
        "RaisesInFit": "boom in fit",
        "WrongShape": "shape",
        "ReturnsNaN": "NaN",
        "Thing": "does not import",
    }
    for name, words in failures.items():
        row = result.row(name, 20)
        assert row["status"] == "failed", name
        assert name in row["error"] or "no_such_module_xyz" in row["error"], row["error"]
        assert words in row["error"], row["error"]
    for t in result.trials:
        if t["status"] == "ok":
            assert set(t["metrics"]) >= {
                "kendall_tau",
                "spearman",
                "sparse_kendall_tau",
                "r2",
                "mae",
                "precision_top1",
                "precision_top5",
            }
            assert t["fit_s"] >= 0 and t["query_us_per_cell"] > 0

    paths = result.write(tmp_path)
    md = paths["markdown"].read_text()
    assert "VertexMeanPredictor" in md and "Noise ceiling" in md and "failed" in md
    with open(paths["csv"]) as fh:
        rows = list(csv.DictReader(fh))
    assert {r["predictor"] for r in rows} == names
    data = json.loads(paths["json"].read_text(), parse_constant=_no_nan)  # strict JSON
    assert len(data["trials"]) == len(result.trials) and data["noise_ceiling"]["method"]
    assert paths["plot_sample"].stat().st_size > 1000


def test_plugin_imports_by_module_and_file(tmp_path, monkeypatch):
    module = tmp_path / "my_plugin_mod.py"
    module.write_text(
        "class P:\n    def fit(self, cells, y):\n        return self\n"
        "    def predict(self, cells):\n        return cells * 1.0\n"
    )
    monkeypatch.chdir(tmp_path)
    assert import_object("my_plugin_mod:P").__name__ == "P"
    assert import_object(f"{module}:P").__name__ == "P"
    with pytest.raises(PluginError, match="has no attribute 'Q'"):
        import_object("my_plugin_mod:Q")
    with pytest.raises(PluginError, match="module:Name"):
        import_object("just_a_name")
    specs = list_predictors(
        _smoke(predictors=("adjacency+*",)),
        plugins=["my_plugin_mod:P"],
        plugin_featurizers=["nowhere:f"],
    )
    by_name = {s.name: s for s in specs}
    assert by_name["P"].error is None and by_name["f+*"].error


def test_graph_predictor_gin_end_to_end(synthetic):
    from surrogate.registry import get_regressor

    gin = get_regressor(
        "gin", hidden_channels=8, num_layers=1, epochs=2, min_steps=1, random_state=0
    )
    cells = synthetic.cells[:40]
    pred = (
        GraphPredictor(regressor=gin).fit(cells, synthetic.y[:40]).predict(synthetic.cells[40:90])
    )
    assert pred.shape == (50,) and np.all(np.isfinite(pred))
    names = [s.name for s in list_predictors(ProtocolConfig())]
    assert "gin" in names and "path+xgb" in names and "adjacency_path+ensemble" in names


# ------------------------------------------------------------------------ statistics
def test_summary_uses_a_t_interval():
    trials = [
        {
            "predictor": "p",
            "split": "sample",
            "size": 10,
            "status": "ok",
            "error": "",
            "fit_s": 1.0,
            "query_us_per_cell": 1.0,
            "metrics": {"kendall_tau": v},
        }
        for v in (0.1, 0.2, 0.3)
    ]
    row = summarize(trials, ["p"])[0]
    half = 4.302652729911275 * 0.1 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert row["kendall_tau"] == pytest.approx(0.2)
    assert row["kendall_tau_ci_high"] - row["kendall_tau"] == pytest.approx(half)


def test_summary_intervals_stay_in_the_metric_range():
    values = {
        "kendall_tau": (0.2, 0.99, 0.98),
        "spearman": (-0.95, -0.1, -0.99),
        "precision_top1": (0.0, 0.9, 0.05),
        "mae": (0.001, 0.2, 0.002),
    }
    trials = [
        {
            "predictor": "p",
            "split": "sample",
            "size": 10,
            "status": "ok",
            "error": "",
            "fit_s": f,
            "query_us_per_cell": 1.0,
            "metrics": {k: v[i] for k, v in values.items()},
        }
        for i, f in enumerate((0.01, 5.0, 0.02))
    ]
    row = summarize(trials, ["p"])[0]
    for key, (low, high) in METRIC_RANGES.items():
        if np.isfinite(row[f"{key}_ci_low"]):
            assert low <= row[f"{key}_ci_low"] <= row[key] <= row[f"{key}_ci_high"] <= high
    # the raw Student-t intervals of these trials leave the ranges on the clipped side only
    assert row["kendall_tau_ci_high"] == 1.0 and row["kendall_tau_ci_low"] < 0.5
    assert row["spearman_ci_low"] == -1.0 and row["precision_top1_ci_low"] == 0.0
    assert row["mae_ci_low"] == 0.0 and row["fit_s_ci_low"] == 0.0
    table = leaderboard_markdown(
        [row], {"config": {"trials": 3, "seed": 0}, "target": "t", "table": "x", "n_cells": 100}
    )
    assert f"{row['kendall_tau']:.3f} [{row['kendall_tau_ci_low']:.3f}, 1.000]" in table


def test_noise_ceiling_estimates():
    rng = np.random.default_rng(1)
    mu = rng.normal(0.9, 0.02, 2000)
    y = mu + rng.normal(0, 0.01, 2000)
    runs = [m + rng.normal(0, 0.01, 3) for m in mu[:60]]
    sim = noise_ceiling(runs, y, seed=0, n_boot=30)
    truth = float(__import__("scipy").stats.kendalltau(mu, y).statistic)
    assert sim["method"] == "simulated"
    assert sim["sigma"] == pytest.approx(0.01, rel=0.3)
    assert abs(sim["kendall_tau"] - truth) < 0.06
    assert sim["ci_low"] <= sim["kendall_tau"] <= sim["ci_high"]
    assert sim["sigma"] == pooled_run_std(runs)[0]  # one estimate of the run-to-run noise
    many = [m + rng.normal(0, 0.01, 3) for m in mu]
    direct = noise_ceiling(many, y, repeat_test_share=1.0, seed=0, n_boot=10)
    assert direct["method"] == "repeats" and 0.5 < direct["kendall_tau"] < truth + 0.02
    none = noise_ceiling([], y)
    assert none["method"] == "none" and none["kendall_tau"] is None


# ------------------------------------------------------------------ real data and CLI
def test_cli_smoke_on_real_data_with_plugins(real_data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("NB101_DATA", str(real_data_dir))
    monkeypatch.chdir(REPO)
    out = tmp_path / "out"
    status = main(
        [
            "--smoke",
            "--no-progress",
            "--predictors",
            "adjacency+xgb",
            "--sizes",
            "10,30",
            "--out",
            str(out),
            "--plugin",
            "tests/eval/test_predictors.py:VertexMeanPredictor",
            "--plugin",
            f"{__name__}:NoMethods",
            "--plugin-featurizer",
            f"{__name__}:SIZE_FEATURIZER",
        ]
    )
    assert status == 0
    data = json.loads((out / "trials.json").read_text())
    assert data["target"] == "validation_accuracy@108" and data["n_cells"] > 18_000
    assert data["noise_ceiling"]["method"] == "simulated"
    assert data["noise_ceiling"]["n_repeat_cells"] >= 50
    with open(out / "leaderboard.csv") as fh:
        rows = {(r["predictor"], int(r["size"])): r for r in csv.DictReader(fh)}
    assert rows[("VertexMeanPredictor", 30)]["status"] == "ok"
    assert rows[("SIZE_FEATURIZER+xgb", 30)]["status"] == "ok"
    assert rows[("NoMethods", 30)]["status"] == "failed"
    assert (out / "learning_curve_kendall_tau.png").is_file()
    assert main(["--smoke", "--trials", "0", "--out", str(out)]) == 2


@pytest.mark.parametrize("folder", ["empty", "absent"])
def test_smoke_without_data_ends_with_one_instruction(tmp_path, monkeypatch, capsys, folder):
    """No real data and a fresh cache: one line that says how to provide a table."""
    from eval.predictors.cli import main

    data = tmp_path / "data"
    if folder == "empty":
        data.mkdir()
    monkeypatch.setenv("NB101_DATA", str(data))
    monkeypatch.setenv("NB101_CACHE", str(tmp_path / "cache"))
    assert main(["--smoke", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("python -m eval.predictors: error: table:")
    assert str(data) in err and "--table" in err and "NB101_DATA" in err
    assert not (tmp_path / "out").exists()
