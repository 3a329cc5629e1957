"""train_surrogate CLI and surrogate.train: end to end on a small table, splits, config."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import train_surrogate
from nb101 import write_table
from nb101.protocol import RUN_FIELDS
from surrogate.artifact import load_artifact
from surrogate.surrogate_benchmark import SurrogateBenchmark
from surrogate.train import MAX_TEST, TrainConfig, split_indices


@pytest.fixture(scope="module")
def small_table(space, tmp_path_factory):
    """400 cells, one run each at 12 and 108 epochs, final fields only."""
    rng = np.random.default_rng(5)
    cells = np.sort(rng.choice(len(space), 400, replace=False))
    params = space.parameters(cells).astype(np.float64)
    acc = 0.88 + 0.03 * np.tanh(np.log(params) - 15) + rng.normal(0, 0.004, 400)
    values = {name: np.full(800, np.nan) for name in RUN_FIELDS}
    values["final_validation_accuracy"] = np.r_[acc * 0.8, acc]
    values["final_test_accuracy"] = np.r_[acc * 0.8 - 0.01, acc - 0.003]
    values["final_training_time"] = np.r_[params / 1e4 * 12 / 108, params / 1e4]
    values = {k: v.astype(np.float32).astype(np.float64) for k, v in values.items()}
    return write_table(
        tmp_path_factory.mktemp("cli") / "small.npz",
        run_cell=np.r_[cells, cells],
        run_epochs=np.r_[[12] * 400, [108] * 400],
        run_repeat=np.zeros(800, int),
        values=values,
        source={"kind": "test"},
        space=space,
    )


def test_cli_end_to_end(small_table, tmp_path, capsys):
    out = tmp_path / "art"
    rc = train_surrogate.main(
        [
            "--table",
            str(small_table),
            "--features",
            "adjacency",
            "--model",
            "xgb",
            "--targets",
            "test_accuracy@108,validation_accuracy@12",
            "--train-size",
            "200",
            "--tune-trials",
            "2",
            "--seed",
            "3",
            "--out",
            str(out),
            "--params",
            '{"n_estimators": 15, "n_jobs": 1}',
        ]
    )
    assert rc == 0
    printed = capsys.readouterr().out
    assert "test_accuracy@108" in printed and "kendall_tau" in printed
    art = load_artifact(out, require_targets=["test_accuracy@108", "validation_accuracy@12"])
    meta = art.metadata
    info = meta["target_info"]["test_accuracy@108"]
    assert info["train_cells"] == 200 and info["test_cells"] == 200
    assert info["validation_cells"] == 20
    assert info["tuning"]["trials"] == 2 and info["tuning"]["metric"] == "kendall_tau"
    assert info["params"]["n_estimators"] == 15  # fixed params win over the search space
    assert set(info["metrics"]) == {
        "r2",
        "mae",
        "kendall_tau",
        "spearman",
        "sparse_kendall_tau",
        "precision_top1",
        "precision_top5",
    }
    assert meta["training"]["config"]["seed"] == 3
    assert len(info["data_sha256"]) == 64
    bench = SurrogateBenchmark(out, seed=0)
    assert bench.valid_epochs == frozenset({12, 108})
    assert bench.query_batch(np.arange(10), epochs=12)["validation_accuracy"].shape == (10,)


def test_cli_parse_and_errors(small_table, tmp_path, capsys):
    config = train_surrogate.parse_args(
        ["--out", "x", "--train-size", "0.5", "--targets", "a@1, b@2"]
    )
    assert config.train_size == 0.5 and config.targets == ("a@1", "b@2")
    assert config.table is None and config.model == "xgb"
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 1
    assert train_surrogate.parse_args(["--out", "x", "--train-size", "300"]).train_size == 300
    assert not config.top_location
    assert train_surrogate.parse_args(["--out", "x", "--top-location"]).top_location
    with pytest.raises(SystemExit):
        train_surrogate.parse_args(["--out", "x", "--train-size", "1.5"])
    item = 'training_time@108={"trend": "compute_cost", "clip_quantile": null}'
    assert train_surrogate.parse_args(["--out", "x", "--target-params", item]).target_params == {
        "training_time@108": {"trend": "compute_cost", "clip_quantile": None}
    }
    with pytest.raises(SystemExit):
        train_surrogate.parse_args(["--out", "x", "--target-params", "training_time@108=[1]"])
    assert "must be a JSON object" in capsys.readouterr().err
    rc = train_surrogate.main(
        [
            "--table",
            str(small_table),
            "--out",
            str(tmp_path / "a"),
            "--targets",
            "test_accuracy@108",
            "--train-size",
            "400",
            "--quiet",
        ]
    )
    assert rc == 2 and "train_size" in capsys.readouterr().err
    rc = train_surrogate.main(
        ["--table", str(small_table), "--out", str(tmp_path / "a"), "--model", "xgbb", "--quiet"]
    )
    assert rc == 2 and "xgbb" in capsys.readouterr().err
    rc = train_surrogate.main(
        ["--table", str(tmp_path / "none.npz"), "--out", str(tmp_path / "a"), "--quiet"]
    )
    assert rc == 2 and "none.npz" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


def test_split_rules():
    tr, va, te = split_indices(1000, None, seed=0, validation=False)
    assert len(tr) == 900 and len(va) == 0 and len(te) == 100
    assert len(np.unique(np.r_[tr, te])) == 1000
    tr, va, te = split_indices(1000, 200, seed=0, validation=True)
    assert len(tr) == 180 and len(va) == 20 and len(te) == 800
    assert len(np.unique(np.r_[tr, va, te])) == 1000
    tr2, va2, te2 = split_indices(1000, 200, seed=0, validation=True)
    np.testing.assert_array_equal(te, te2)
    assert not np.array_equal(split_indices(1000, 200, seed=1, validation=True)[2], te)
    tr, _, te = split_indices(1_000_000, 0.5, seed=0, validation=False)
    assert len(tr) == 500_000 and len(te) == MAX_TEST
    for bad in (0, 1000, 1.5, 0.0):
        with pytest.raises(ValueError, match="train_size"):
            split_indices(1000, bad, seed=0, validation=False)


def test_config_is_json_serialisable(small_table, tmp_path):
    config = TrainConfig(
        table=small_table,
        out=tmp_path / "a",
        targets=("training_time@108",),
        model_params={"n_estimators": 5, "n_jobs": 1},
        train_size=100,
    )
    from surrogate.train import train

    path = train(config)
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["training"]["config"]["table"] == str(small_table)
    assert meta["target_info"]["training_time@108"]["params"] == {"n_estimators": 5, "n_jobs": 1}


def test_members_sample_one_ensemble_member_per_realization(small_table, tmp_path, space):
    """Noise rule 6: ``members=3`` fits bootstrap members; realization ``noise_seed`` runs
    around member ``noise_seed mod 3`` through that member's own rule-4 transfer; the
    predicted mean, the deterministic answers and the fixed metrics use the members' mean."""
    from surrogate.train import train

    target = "validation_accuracy@108"
    path = train(
        TrainConfig(
            table=small_table,
            out=tmp_path / "m",
            targets=(target,),
            model_params={"n_estimators": 20, "n_jobs": 1},
            members=3,
        )
    )
    artifact = load_artifact(path)
    assert artifact.members(target) == 3
    noise = json.loads((path / "noise.json").read_text())
    assert noise["rule"].endswith("/v4")
    assert np.array(noise["targets"][target]["simulated"]).shape[0] == 3
    cells = np.arange(0, len(space), 997)
    model = artifact.model(target)
    members = model.predict_members(artifact.inputs(target, cells))
    assert not np.allclose(members[:, 0], members[:, 1])  # bootstrap: members differ
    # the artifact stores the mean and each member, within its resolution
    from surrogate.quantized import member_name

    stored = artifact.predictions
    within = {"rtol": 0, "atol": stored.resolution(target) * (1 + 1e-9)}
    for k in range(3):
        np.testing.assert_allclose(
            stored.load(member_name(target, k))[cells],
            members[:, k],
            rtol=0,
            atol=stored.resolution(member_name(target, k)),
        )
    mean = SurrogateBenchmark(path, seed=0, noise=False)
    np.testing.assert_allclose(mean.predict(target, cells), members.mean(1), **within)
    np.testing.assert_allclose(
        mean.query_batch(cells, 108)["validation_accuracy"], members.mean(1), **within
    )
    runs = {}
    for seed in (0, 1, 3):
        bench = SurrogateBenchmark(path, seed=0, noise_seed=seed, prediction_cache=False)
        np.testing.assert_allclose(bench.predict(target, cells), members.mean(1), **within)
        runs[seed] = bench.query_batch(cells, 108)["validation_accuracy"]
        u = bench._noise_levels("accuracy", 108, np.zeros(len(cells), dtype=np.int64), cells)
        member = stored.load(member_name(target, seed % 3))[cells]
        expected = artifact.noise.perturb(target, member, u, None, seed % 3)
        np.testing.assert_allclose(
            SurrogateBenchmark(
                path, seed=0, noise_seed=seed, num_repeats=1, prediction_cache=False
            ).query_batch(cells, 108)["validation_accuracy"],
            expected,
            rtol=1e-6,
        )
    assert not np.allclose(runs[0], runs[1])
    # a run's fixed metrics and get_metrics_from_hash stay on the mean
    computed = SurrogateBenchmark(path, seed=0, noise_seed=1).get_metrics_from_hash(
        space.hash(int(cells[0]))
    )[1]
    assert computed[108][0]["final_validation_accuracy"] == pytest.approx(
        float(members[0].mean()), abs=within["atol"]
    )
    with pytest.raises(ValueError, match="say which member"):
        artifact.noise.perturb(target, members[:, 0], u)
    with pytest.raises(ValueError, match="members must be an integer"):
        train(TrainConfig(table=small_table, out=tmp_path / "bad", members=0))
    with pytest.raises(ValueError, match="already"):
        train(TrainConfig(table=small_table, out=tmp_path / "bad", model="ensemble", members=2))


def test_stack_on_feeds_the_base_prediction_to_the_accuracy_targets(small_table, tmp_path, space):
    """``stack_on``: the base target is added and fitted first; every other accuracy target's
    model takes the base's prediction as its last input (training time does not), in
    training, through the artifact's one-target and many-target paths, and in the fixed
    benchmark answers; the metadata records it and load checks it."""
    from surrogate.artifact import READABLE_SCHEMAS, SCHEMA_VERSION, make_inputs
    from surrogate.train import train

    base, stacked = "test_accuracy@108", "validation_accuracy@12"
    path = train(
        TrainConfig(
            table=small_table,
            out=tmp_path / "s",
            targets=(stacked, "training_time@108"),
            stack_on=base,
            model_params={"n_estimators": 20, "n_jobs": 1},
            stack_params={"max_depth": 3},
        )
    )
    artifact = load_artifact(path)
    assert artifact.model(base).max_depth == 3 and artifact.model(stacked).max_depth == 6
    assert artifact.targets == (base, stacked, "training_time@108")
    assert artifact.stacked_on == {stacked: base}
    meta = artifact.metadata
    assert meta["schema_version"] == SCHEMA_VERSION == READABLE_SCHEMAS[-1]
    assert meta["input_dims"] == {base: 48, stacked: 49, "training_time@108": 48}
    cells = np.arange(0, len(space), 1009)
    features = make_inputs(artifact.model(base), "adjacency_compute", cells)
    with_base = np.hstack([features, artifact.predict(base, cells)[:, None].astype(np.float32)])
    np.testing.assert_array_equal(artifact.inputs(stacked, cells), with_base)
    expected = artifact.model(stacked).predict(with_base)
    np.testing.assert_allclose(artifact.predict(stacked, cells), expected, rtol=1e-6)
    both = artifact.predict_targets([stacked, "training_time@108", base], cells)
    np.testing.assert_allclose(both[stacked], expected, rtol=1e-6)
    np.testing.assert_allclose(both[base], artifact.predict(base, cells), rtol=1e-6)
    bench = SurrogateBenchmark(path, seed=0, noise=False, prediction_cache=False)
    np.testing.assert_allclose(
        bench.query_batch(cells, 12)["validation_accuracy"],
        expected,
        rtol=0,
        atol=artifact.predictions.resolution(stacked),
    )


def test_target_params_set_one_targets_model(small_table, tmp_path):
    """``target_params``: one target's model gets its parameters over ``model_params``, the
    others keep them; the config records them; a target not trained is refused."""
    from surrogate.train import train

    time_params = {"trend": "compute_cost", "clip_quantile": None}
    kwargs = dict(
        table=small_table,
        targets=("validation_accuracy@108", "training_time@108"),
        model_params={"n_estimators": 20, "n_jobs": 1},
    )
    path = train(
        TrainConfig(out=tmp_path / "t", target_params={"training_time@108": time_params}, **kwargs)
    )
    artifact = load_artifact(path)
    time_model, accuracy_model = (
        artifact.model("training_time@108"),
        artifact.model("validation_accuracy@108"),
    )
    assert (time_model.trend, time_model.clip_quantile) == ("compute_cost", None)
    assert (accuracy_model.trend, accuracy_model.clip_quantile) == (None, 0.02)
    assert time_model.n_estimators == accuracy_model.n_estimators == 20
    config = artifact.metadata["training"]["config"]
    assert config["target_params"] == {"training_time@108": time_params}
    with pytest.raises(ValueError, match="target_params names targets that are not trained"):
        train(
            TrainConfig(
                out=tmp_path / "u", target_params={"test_accuracy@108": time_params}, **kwargs
            )
        )


def test_stack_on_errors(small_table, tmp_path):
    from nb101 import ArtifactError
    from surrogate.train import train

    kwargs = dict(
        table=small_table,
        targets=("validation_accuracy@12",),
        model_params={"n_estimators": 5, "n_jobs": 1},
    )
    with pytest.raises(ValueError, match="stack_on: target 'test_accuracy@4' has too few"):
        train(TrainConfig(out=tmp_path / "a", stack_on="test_accuracy@4", **kwargs))
    with pytest.raises(ValueError, match="stack_on needs an array model"):
        train(TrainConfig(out=tmp_path / "a", stack_on="test_accuracy@108", model="gin", **kwargs))
    with pytest.raises(ValueError, match="stack_params needs stack_on"):
        train(TrainConfig(out=tmp_path / "a", stack_params={"max_depth": 8}, **kwargs))
    assert not (tmp_path / "a").exists()
    path = train(TrainConfig(out=tmp_path / "b", stack_on="test_accuracy@108", **kwargs))
    meta = json.loads((path / "metadata.json").read_text())
    meta["stacked_on"] = {"validation_accuracy@12": "validation_accuracy@36"}
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(
        ArtifactError, match="stacked_on maps 'validation_accuracy@12' to 'validation_accuracy@36'"
    ):
        load_artifact(path)
    meta["stacked_on"] = {}  # the stacked model's extra column is then caught
    (path / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="fitted on 49"):
        load_artifact(path)
    config = train_surrogate.parse_args(
        ["--out", "x", "--stack-on", "test_accuracy@108", "--stack-params", '{"max_depth": 8}']
    )
    assert config.stack_on == "test_accuracy@108" and config.stack_params == {"max_depth": 8}
