"""SurrogateBenchmark: one contract shared with TabularBenchmark, artifacts, noise."""

from __future__ import annotations

import dataclasses
import json
import shutil
import zipfile

import numpy as np
import pytest

from features import get_featurizer
from nb101 import (
    ArtifactError,
    ModelSpec,
    OutOfDomainError,
    TabularBenchmark,
    Target,
    format_target,
    load_table,
    parse_target,
    write_table,
)
from nb101.protocol import METRICS, RUN_FIELDS, BaseBenchmark, Benchmark
from surrogate.artifact import (
    SCHEMA_VERSION,
    data_digest,
    load_artifact,
    make_inputs,
    save_artifact,
)
from surrogate.noise import (
    NUM_QUANTILES,
    NoiseModel,
    estimate_noise,
    pooled_run_std,
    uniform_levels,
)
from surrogate.noise.target import unmapped_run
from surrogate.registry import get_regressor
from surrogate.surrogate_benchmark import SurrogateBenchmark
from surrogate.train import TrainConfig, available_targets, target_data, train

EPOCHS = (12, 108)
EPOCHS_ALL = (4, 12, 36, 108)
TINY_XGB = {"n_estimators": 15, "max_depth": 3, "n_jobs": 1}


def write_tiny_table(path, space, n_cells=300, seed=0, epochs=EPOCHS, repeats=3):
    """A synthetic table: ``n_cells`` cells, every field, ``repeats`` runs per budget; the
    labels depend on the cell (parameter count, size) plus run noise."""
    rng = np.random.default_rng(seed)
    cells = np.sort(rng.choice(len(space), n_cells, replace=False))
    params = space.parameters(cells)
    base = 0.85 + 0.05 * np.tanh(np.log(params) - 15) + 0.01 * (space.num_vertices[cells] - 5)
    run_cell, run_epochs, run_repeat = [], [], []
    values = {name: [] for name in RUN_FIELDS}
    for e in epochs:
        for r in range(repeats):
            acc = base * (0.7 + 0.3 * e / 108) + rng.normal(0, 0.004, n_cells)
            seconds = params / 1e4 * e / 108 * (1 + rng.normal(0, 0.01, n_cells))
            for when, frac in (("halfway", 0.5), ("final", 1.0)):
                values[f"{when}_training_time"].append(seconds * frac)
                for metric, offset in (("train", 0.05), ("validation", 0.0), ("test", -0.004)):
                    values[f"{when}_{metric}_accuracy"].append(
                        np.clip(acc * (0.9 + 0.1 * frac) + offset, 0, 1)
                    )
            run_cell.append(cells)
            run_epochs.append(np.full(n_cells, e))
            run_repeat.append(np.full(n_cells, r))
    values = {k: np.concatenate(v).astype(np.float32).astype(np.float64) for k, v in values.items()}
    return write_table(
        path,
        run_cell=np.concatenate(run_cell),
        run_epochs=np.concatenate(run_epochs),
        run_repeat=np.concatenate(run_repeat),
        values=values,
        source={"kind": "synthetic test table"},
        parameters=(cells, params),
        space=space,
    )


@pytest.fixture(scope="module")
def table_path(space, tmp_path_factory):
    return write_tiny_table(tmp_path_factory.mktemp("table") / "tiny.npz", space)


@pytest.fixture(scope="module")
def artifact_path(table_path, tmp_path_factory):
    """A surrogate of every field of the tiny table (tiny XGBoost models, seconds)."""
    out = tmp_path_factory.mktemp("artifact") / "art"
    return train(
        TrainConfig(
            table=table_path,
            features="adjacency",
            model="xgb",
            model_params=TINY_XGB,
            train_size=250,
            seed=0,
            out=out,
        )
    )


@pytest.fixture(scope="module")
def covered(table_path):
    return load_table(table_path).cells["cell_index"].astype(np.int64)


@pytest.fixture(params=["table", "surrogate"])
def bench(request, table_path, artifact_path):
    # The one-line switch of the drop-in backend:
    if request.param == "table":
        return TabularBenchmark(table_path, seed=0)
    return SurrogateBenchmark(artifact_path, seed=0)


# ----------------------------------------------------------------------------- contract
QUERY_KEYS = {"module_adjacency", "module_operations", "trainable_parameters", *METRICS}


def check_benchmark_contract(bench, space, cells):
    """The protocol of nb101.protocol, run unchanged on every backend."""
    assert isinstance(bench, Benchmark) and isinstance(bench, BaseBenchmark)
    assert {12, 108} <= set(bench.valid_epochs)
    index = int(cells[0])
    spec = space.spec(index)
    module_hash = space.hash(index)

    # query: keys, canonical cell, exact parameters, plausible values
    bench.reset_budget_counters()
    result = bench.query(spec, epochs=108)
    assert set(result) == QUERY_KEYS
    np.testing.assert_array_equal(result["module_adjacency"], spec.matrix)
    assert result["module_operations"] == list(spec.ops)
    assert result["trainable_parameters"] == int(space.parameters(np.array([index]))[0])
    for name in ("train_accuracy", "validation_accuracy", "test_accuracy"):
        assert isinstance(result[name], float) and 0.0 <= result[name] <= 1.0
    assert isinstance(result["training_time"], float) and result["training_time"] > 0

    # budget counters: query charges the returned time and the epochs (half if halfway)
    assert bench.get_budget_counters() == (result["training_time"], 108)
    half = bench.query(spec, epochs=12, stop_halfway=True)
    assert set(half) == QUERY_KEYS
    time_spent, epochs_spent = bench.get_budget_counters()
    assert epochs_spent == 108 + 6
    assert time_spent == pytest.approx(result["training_time"] + half["training_time"])

    # an isomorphic copy (vertices 1..V-2 permuted) is the same cell
    n = len(spec.ops)
    perm = [0, *range(n - 2, 0, -1), n - 1]
    matrix = spec.matrix[np.ix_(perm, perm)]
    if np.all(np.tril(matrix) == 0):
        twin = ModelSpec(matrix, [spec.ops[p] for p in perm])
        assert bench.query(twin)["trainable_parameters"] == result["trainable_parameters"]

    # query_batch: by indices, hashes or specs; vectorised; charges the budget
    bench.reset_budget_counters()
    some = np.asarray(cells[:40], dtype=np.int64)
    batch = bench.query_batch(some, epochs=108)
    assert set(batch) == {"index", "trainable_parameters", *METRICS}
    np.testing.assert_array_equal(batch["index"], some)
    for name in METRICS:
        assert batch[name].shape == (40,) and batch[name].dtype == np.float64
        assert np.isfinite(batch[name]).all()
    np.testing.assert_array_equal(batch["trainable_parameters"], space.parameters(some))
    assert bench.get_budget_counters() == (pytest.approx(batch["training_time"].sum()), 40 * 108)
    by_hash = bench.query_batch([space.hash(int(i)) for i in some[:5]])
    by_spec = bench.query_batch([space.spec(int(i)) for i in some[:5]])
    np.testing.assert_array_equal(by_hash["index"], some[:5])
    np.testing.assert_array_equal(by_spec["index"], some[:5])

    # getters: official shapes, never charge the budget
    bench.reset_budget_counters()
    fixed, computed = bench.get_metrics_from_spec(spec)
    assert set(fixed) == {"module_adjacency", "module_operations", "trainable_parameters"}
    assert fixed["trainable_parameters"] == result["trainable_parameters"]
    assert set(computed) <= set(bench.valid_epochs) and 108 in computed
    assert len(computed[108]) >= 1 and set(computed[108][0]) == set(RUN_FIELDS)
    assert computed[108][0]["final_test_accuracy"] is not None
    fixed2, computed2 = bench.get_metrics_from_hash(module_hash)
    assert computed2 == computed and fixed2["module_operations"] == fixed["module_operations"]
    assert bench.get_budget_counters() == (0.0, 0)

    # hash_iterator: ascending hashes, covering the cells asked
    hashes = list(bench.hash_iterator())
    assert hashes == sorted(hashes) and len(hashes) >= len(cells)
    assert set(space.hash(int(i)) for i in cells) <= set(hashes)

    # validity and out-of-domain errors
    assert bench.is_valid(spec)
    disconnected = ModelSpec(
        [[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"]
    )
    too_many_edges = ModelSpec(
        np.triu(np.ones((7, 7), dtype=int), 1), ["input", *["conv3x3-bn-relu"] * 5, "output"]
    )
    bad_op = ModelSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"])
    for bad in (disconnected, too_many_edges, bad_op):
        assert not bench.is_valid(bad)
        with pytest.raises(OutOfDomainError):
            bench.query(bad)
        with pytest.raises(OutOfDomainError):
            bench.get_metrics_from_spec(bad)
    with pytest.raises(OutOfDomainError, match="epochs"):
        bench.query(spec, epochs=7)
    with pytest.raises(OutOfDomainError, match="epochs"):
        bench.query_batch(some, epochs=200)
    with pytest.raises(OutOfDomainError):
        bench.get_metrics_from_hash("0" * 32)
    assert bench.get_budget_counters() == (0.0, 0)


def test_contract_is_the_same_on_table_and_surrogate(bench, space, covered):
    check_benchmark_contract(bench, space, covered)


def test_surrogate_covers_the_whole_space(artifact_path, space, covered):
    bench = SurrogateBenchmark(artifact_path, seed=0, noise=False)
    assert bench.valid_epochs == frozenset(EPOCHS)
    outside = np.setdiff1d(np.arange(0, len(space), 997), covered)[:50]
    batch = bench.query_batch(outside, epochs=12)
    assert np.isfinite(batch["validation_accuracy"]).all()
    assert sum(1 for _ in bench.hash_iterator()) == len(space)


def test_training_time_scaled_from_108_epochs(table_path, tmp_path, space, covered):
    path = train(
        TrainConfig(
            table=table_path,
            targets=("test_accuracy@108", "training_time@108", "validation_accuracy@12"),
            model_params=TINY_XGB,
            train_size=250,
            out=tmp_path / "a",
        )
    )
    bench = SurrogateBenchmark(path, noise=False)
    cells = covered[:10]
    t108 = bench.query_batch(cells, epochs=108)["training_time"]
    t12 = bench.query_batch(cells, epochs=12)
    np.testing.assert_allclose(t12["training_time"], t108 * 12 / 108)
    assert np.isnan(t12["test_accuracy"]).all() and np.isnan(t12["train_accuracy"]).all()
    half = bench.query(space.spec(int(cells[0])), epochs=108, stop_halfway=True)
    assert half["training_time"] == pytest.approx(t108[0] / 2)
    assert half["test_accuracy"] is None
    _, computed = bench.get_metrics_from_hash(space.hash(int(cells[0])))
    assert computed[12][0]["final_training_time"] == pytest.approx(t108[0] * 12 / 108)


# ----------------------------------------------------------------------------- artifact
@pytest.fixture(scope="module")
def fitted(space):
    rng = np.random.default_rng(1)
    cells = rng.choice(len(space), 200, replace=False)
    y = 0.9 + 0.01 * rng.standard_normal(200)
    model = get_regressor("xgb", **TINY_XGB, random_state=0).fit(
        make_inputs(get_regressor("xgb"), "adjacency", cells), y
    )
    return cells, y, model


def _save(path, fitted, targets=("test_accuracy@108",)):
    cells, y, model = fitted
    noise = NoiseModel(
        {
            t: estimate_noise(model.predict(make_inputs(model, "adjacency", cells)), y)
            for t in targets
        }
    )
    return save_artifact(
        path,
        models={t: model for t in targets},
        featurizer="adjacency",
        model_name="xgb",
        model_params=TINY_XGB,
        noise=noise,
        targets_info={t: {"data_sha256": data_digest(cells, y)} for t in targets},
    )


def test_artifact_round_trip_identical_predictions(fitted, tmp_path):
    cells, y, model = fitted
    path = _save(tmp_path / "art", fitted)
    art = load_artifact(path, require_targets=["test_accuracy@108"])
    probe = np.arange(0, 400_000, 4001)
    np.testing.assert_array_equal(
        art.predict("test_accuracy@108", probe),
        model.predict(make_inputs(model, "adjacency", probe)),
    )
    meta = json.loads((path / "metadata.json").read_text())
    assert meta["schema_version"] == SCHEMA_VERSION and meta["featurizer"] == "adjacency"
    assert meta["kind"] == "nb101-surrogate artifact"
    assert meta["input_dims"] == {"test_accuracy@108": 36}
    assert set(meta["files"]) == {
        "noise.json",
        "test_accuracy@108/metadata.json",
        "test_accuracy@108/model.ubj.gz",
    }
    assert art.digest == load_artifact(path).digest and len(art.digest) == 64
    assert meta["model"]["name"] == "xgb" and meta["targets"] == ["test_accuracy@108"]
    assert set(meta["libraries"]) == {"numpy", "xgboost", "torch", "torch_geometric", "sklearn"}
    assert meta["target_info"]["test_accuracy@108"]["data_sha256"] == data_digest(cells, y)
    # written atomically: no temporary folder left, an existing artifact is replaced
    _save(path, fitted, targets=("validation_accuracy@12",))
    assert load_artifact(path).targets == ("validation_accuracy@12",)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art"]


def test_artifact_errors(fitted, tmp_path):
    path = _save(tmp_path / "art", fitted)
    with pytest.raises(ArtifactError, match="does not exist") as err:
        load_artifact(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value)
    with pytest.raises(ArtifactError, match=r"lacks the required targets \['training_time@108'\]"):
        load_artifact(path, require_targets=["test_accuracy@108", "training_time@108"])
    with pytest.raises(ArtifactError, match="training_time@108"):
        SurrogateBenchmark(path, require_targets=["training_time@108"])
    loaded = load_artifact(path)
    loaded.require(["test_accuracy@108"])
    with pytest.raises(ArtifactError, match=r"lacks the required targets \['training_time@108'\]"):
        loaded.require(["training_time@108"])
    with pytest.raises(ArtifactError, match=r"lacks the required targets \['training_time@108'\]"):
        SurrogateBenchmark(loaded, require_targets=["training_time@108"])

    stale = tmp_path / "stale"
    shutil.copytree(path, stale)
    meta = json.loads((stale / "metadata.json").read_text())
    meta["schema_version"] = SCHEMA_VERSION + 41
    (stale / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(
        ArtifactError, match=f"got {SCHEMA_VERSION + 41}, expected {SCHEMA_VERSION}"
    ):
        load_artifact(stale)

    corrupt = tmp_path / "corrupt"
    shutil.copytree(path, corrupt)
    (corrupt / "test_accuracy@108" / "model.ubj.gz").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(ArtifactError, match="corrupt|weights"):
        load_artifact(corrupt)

    no_weights = tmp_path / "no_weights"
    shutil.copytree(path, no_weights)
    (no_weights / "test_accuracy@108" / "model.ubj.gz").unlink()
    with pytest.raises(ArtifactError, match="model.ubj.gz"):
        load_artifact(no_weights)

    no_meta = tmp_path / "no_meta"
    shutil.copytree(path, no_meta)
    (no_meta / "metadata.json").unlink()
    with pytest.raises(ArtifactError, match="metadata.json"):
        load_artifact(no_meta)

    no_model = tmp_path / "no_model"
    shutil.copytree(path, no_model)
    shutil.rmtree(no_model / "test_accuracy@108")
    with pytest.raises(ArtifactError, match="test_accuracy@108"):
        load_artifact(no_model)

    bad_json = tmp_path / "bad_json"
    shutil.copytree(path, bad_json)
    (bad_json / "metadata.json").write_text("{not json")
    with pytest.raises(ArtifactError, match="JSON"):
        load_artifact(bad_json)


def _rewrite_metadata(path, **changes):
    meta = json.loads((path / "metadata.json").read_text())
    for key, value in changes.items():
        if value is None:
            meta.pop(key, None)
        else:
            meta[key] = value
    (path / "metadata.json").write_text(json.dumps(meta))
    return meta


def _reseal(path, name):
    """Record the current sha256 of ``name`` in the metadata (a writer that checksummed a
    corrupt file): the corruption is then only seen when the weights are parsed."""
    from surrogate.artifact import file_sha256

    meta = json.loads((path / "metadata.json").read_text())
    meta["files"][name] = file_sha256(path / name)
    (path / "metadata.json").write_text(json.dumps(meta))


def test_artifact_checksums_catch_a_swapped_weights_file(tmp_path, space):
    """Another target's model.ubj copied into the bundled artifact loaded before and
    answered that target's values; every file's sha256 is now checked at load."""
    from surrogate.artifact import DEFAULT_ARTIFACT

    swapped = tmp_path / "swapped"
    shutil.copytree(DEFAULT_ARTIFACT, swapped)
    shutil.copyfile(
        swapped / "validation_accuracy@108" / "model.ubj.gz",
        swapped / "test_accuracy@108" / "model.ubj.gz",
    )
    # SurrogateBenchmark answers from the stored predictions and checks a model's files when
    # it first reads the model
    for load in (
        load_artifact,
        lambda p: SurrogateBenchmark(p, noise=False).artifact.model("test_accuracy@108"),
    ):
        with pytest.raises(ArtifactError, match="corrupt or was replaced") as info:
            load(swapped)
        assert str(swapped / "test_accuracy@108" / "model.ubj.gz") in str(info.value)
        assert "\n" not in str(info.value)
    # a truncated copy too, and a file the metadata does not list
    truncated = tmp_path / "truncated"
    shutil.copytree(DEFAULT_ARTIFACT, truncated)
    weights = truncated / "training_time@108" / "model.ubj.gz"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ArtifactError, match="training_time@108/model.ubj.gz is corrupt"):
        load_artifact(truncated)
    stray = tmp_path / "stray"
    shutil.copytree(DEFAULT_ARTIFACT, stray)
    (stray / "test_accuracy@108" / "weights.pt").write_bytes(b"x")
    with pytest.raises(ArtifactError, match="weights.pt is not part of the surrogate artifact"):
        load_artifact(stray)


def test_corrupt_weights_give_one_line(fitted, tmp_path):
    path = _save(tmp_path / "art", fitted)
    weights = path / "test_accuracy@108" / "model.ubj.gz"
    weights.write_bytes(weights.read_bytes()[: len(weights.read_bytes()) // 2])
    _reseal(path, "test_accuracy@108/model.ubj.gz")
    with pytest.raises(ArtifactError, match="corrupt weights") as info:
        load_artifact(path)
    message = str(info.value)
    assert "\n" not in message and "Stack trace" not in message and str(path) in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    lazy = load_artifact(path, lazy=True)  # every check but the parse
    with pytest.raises(ArtifactError, match="corrupt weights"):
        lazy.predict("test_accuracy@108", np.arange(3))


def test_not_an_artifact_and_old_schema(fitted, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("hello")
    with pytest.raises(ArtifactError, match="is not a surrogate artifact: it has no metadata.json"):
        load_artifact(empty)
    braces = tmp_path / "braces"
    braces.mkdir()
    (braces / "metadata.json").write_text("{}")
    with pytest.raises(ArtifactError, match="is not a surrogate artifact") as info:
        SurrogateBenchmark(braces)
    assert "schema" not in str(info.value).split(":")[0]
    other = tmp_path / "other"
    other.mkdir()
    (other / "metadata.json").write_text('{"kind": "something else", "schema_version": 2}')
    with pytest.raises(ArtifactError, match="is not a surrogate artifact.*'something else'"):
        load_artifact(other)
    old = _save(tmp_path / "old", fitted)
    _rewrite_metadata(old, kind=None, schema_version=1)  # what schema 1 wrote
    with pytest.raises(
        ArtifactError,
        match=r"older schema version: got 1, expected "
        rf"{SCHEMA_VERSION}; retrain it",
    ) as info:
        load_artifact(old)
    assert "train_surrogate.py" in str(info.value)


def test_featurizer_model_mismatch(fitted, tmp_path, monkeypatch):
    path = _save(tmp_path / "art", fitted)
    featurizer = get_featurizer("adjacency")
    monkeypatch.setattr(featurizer, "dim", featurizer.dim + 2, raising=False)  # an edit
    for load in (load_artifact, SurrogateBenchmark):
        with pytest.raises(ArtifactError) as info:
            load(path)
        message = str(info.value)
        assert "featurizer 'adjacency' gives 38 features" in message
        assert "target 'test_accuracy@108' was fitted on 36 (n_features_in_)" in message
    monkeypatch.undo()
    edited = tmp_path / "edited"  # metadata that disagrees with the model it describes
    shutil.copytree(path, edited)
    meta = _rewrite_metadata(edited)
    meta["input_dims"]["test_accuracy@108"] = 40
    (edited / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(
        ArtifactError,
        match="gives 36 features per cell, but the model of "
        "target 'test_accuracy@108' was fitted on 40",
    ):
        load_artifact(edited)
    unknown = tmp_path / "unknown"
    shutil.copytree(path, unknown)
    _rewrite_metadata(unknown, featurizer="no_such_featurizer")
    with pytest.raises(ArtifactError, match="uses the featurizer 'no_such_featurizer'"):
        load_artifact(unknown)


# ---------------------------------------------------------------------------- nb101 query
def _strict_json(text: str) -> dict:
    def no_constant(name):
        raise AssertionError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=no_constant)


def test_cli_query_on_table_and_surrogate(table_path, artifact_path, covered, space, capsys):
    from nb101.cli import main

    index = int(covered[0])
    spec, module_hash = space.spec(index), space.hash(index)
    expected = TabularBenchmark(table_path, seed=5).query(spec, epochs=12, stop_halfway=True)
    assert (
        main(
            [
                "query",
                module_hash,
                "--table",
                str(table_path),
                "--epochs",
                "12",
                "--stop-halfway",
                "--seed",
                "5",
            ]
        )
        == 0
    )
    got = _strict_json(capsys.readouterr().out)
    assert got["module_hash"] == module_hash
    assert got["module_adjacency"] == expected["module_adjacency"].tolist()
    assert {k: got[k] for k in METRICS} == {k: expected[k] for k in METRICS}
    matrix = json.dumps(spec.matrix.tolist())
    for ops in (",".join(spec.ops), ",".join(spec.ops[1:-1])):  # all ops, or the interior
        assert (
            main(["query", "--matrix", matrix, "--ops", ops, "--surrogate", str(artifact_path)])
            == 0
        )
        got = _strict_json(capsys.readouterr().out)
        want = SurrogateBenchmark(artifact_path, seed=0).query(spec)
        assert got["module_hash"] == module_hash
        assert {k: got[k] for k in METRICS} == {k: want[k] for k in METRICS}
    assert main(["query", module_hash, "--surrogate", "--epochs", "4"]) == 0  # the bundled one
    got = _strict_json(capsys.readouterr().out)
    assert got["test_accuracy"] is None and got["validation_accuracy"] is not None
    # a wrong cell or budget: one line on stderr, exit status 2 (tests/nb101/test_cli.py)
    assert main(["query", "0" * 32, "--table", str(table_path)]) == 2
    assert "is not a cell of NAS-Bench-101" in capsys.readouterr().err
    assert main(["query", module_hash, "--table", str(table_path), "--epochs", "5"]) == 2
    assert "invalid number of epochs" in capsys.readouterr().err
    # a cell the table lacks: the command failed, exit status 1
    uncovered = space.hash(int(np.setdiff1d(np.arange(100), covered)[0]))
    assert main(["query", uncovered, "--table", str(table_path)]) == 1
    assert "partial" in capsys.readouterr().err
    assert (
        main(
            [
                "query",
                "--matrix",
                "[[0,1],[0,0]]",
                "--ops",
                "input,maxpool3x3,output",
                "--surrogate",
            ]
        )
        == 2
    )
    assert "length of ops" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["query", module_hash])  # a source is required


def test_surrogate_paths_expand_the_home_folder(
    artifact_path, table_path, fitted, tmp_path, monkeypatch, capsys
):
    import train_surrogate
    from eval.predictors.cli import _parser
    from nb101.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(artifact_path, tmp_path / "art")
    shutil.copyfile(table_path, tmp_path / "t.npz")
    assert load_artifact("~/art").path == tmp_path / "art"
    assert SurrogateBenchmark("~/art", noise=False).artifact.path == tmp_path / "art"
    assert _save("~/saved", fitted) == tmp_path / "saved"
    assert load_artifact(tmp_path / "saved").targets == ("test_accuracy@108",)
    assert main(["rank", "--artifact", "~/art", "--top", "2", "--no-progress"]) == 0
    assert "ranked 423,624 cells" in capsys.readouterr().out
    config = train_surrogate.parse_args(
        [
            "--table",
            "~/t.npz",
            "--out",
            "~/new",
            "--quiet",
            "--targets",
            "test_accuracy@108",
            "--train-size",
            "100",
            "--params",
            json.dumps(TINY_XGB),
        ]
    )
    assert config.table == tmp_path / "t.npz" and config.out == tmp_path / "new"
    assert train(config) == tmp_path / "new"
    assert (
        train(
            TrainConfig(
                table="~/t.npz",
                targets=("test_accuracy@108",),
                train_size=100,
                model_params=TINY_XGB,
                out="~/new2",
            )
        )
        == tmp_path / "new2"
    )
    args = _parser().parse_args(["--table", "~/t.npz", "--out", "~/results"])
    assert args.table == tmp_path / "t.npz" and args.out == tmp_path / "results"
    assert _parser().parse_args(["--table", "real"]).table == "real"


# ----------------------------------------------------------------------- prediction cache
def without_predictions(path, out):
    """A copy of artifact ``path`` without its stored predictions (as ``--no-predictions``
    writes it): its models answer."""
    shutil.copytree(path, out)
    meta = json.loads((out / "metadata.json").read_text())
    (out / meta.pop("predictions")["file"]).unlink()
    del meta["files"]["predictions.npz"]
    (out / "metadata.json").write_text(json.dumps(meta))
    return out


@pytest.fixture(scope="module")
def models_only(artifact_path, tmp_path_factory):
    return without_predictions(artifact_path, tmp_path_factory.mktemp("models") / "art")


def test_prediction_cache_answers_without_models(models_only, tmp_path, space, covered):
    artifact_path = models_only
    from surrogate.predictions import PredictionCache

    cells = np.random.default_rng(0).permutation(len(space))[:500]
    cold = SurrogateBenchmark(artifact_path, seed=0, noise=False, prediction_cache=tmp_path)
    assert cold.artifact._models == {}  # nothing read at construction
    asked = cold.query_batch(cells, epochs=108)  # predicts only these cells
    assert not list(tmp_path.iterdir())  # no whole-space prediction, no file
    cold.precompute(progress=False)
    files = list(tmp_path.iterdir())
    assert [f.name for f in files] == [f"predictions-{cold.artifact.digest}.npz"]
    assert PredictionCache(cold.artifact.digest, tmp_path).targets() == set(cold.targets)
    warm = SurrogateBenchmark(artifact_path, seed=0, noise=False, prediction_cache=tmp_path)
    again = warm.query_batch(cells, epochs=108)
    for name in METRICS:  # the same values, without reading a model
        np.testing.assert_array_equal(again[name], asked[name])
    assert warm.artifact._models == {}
    spec = space.spec(int(covered[0]))
    assert {m: warm.query(spec)[m] for m in METRICS} == {m: cold.query(spec)[m] for m in METRICS}
    noisy = [
        SurrogateBenchmark(artifact_path, seed=3, prediction_cache=folder).query_batch(
            cells, epochs=12
        )
        for folder in (tmp_path, False)
    ]  # simulated runs: the same too
    for name in METRICS:
        np.testing.assert_array_equal(noisy[0][name], noisy[1][name])


def test_prediction_cache_is_keyed_and_checked(models_only, fitted, tmp_path, caplog):
    artifact_path = models_only
    bench = SurrogateBenchmark(
        artifact_path, noise=False, full_cache=True, prediction_cache=tmp_path
    )
    bench.query_batch(np.arange(5), epochs=108)  # full_cache: the whole space, then the file
    file = bench.prediction_cache.path
    assert file.is_file()
    other = SurrogateBenchmark(
        _save(tmp_path / "other", fitted), noise=False, prediction_cache=tmp_path
    )
    assert other.artifact.digest != bench.artifact.digest
    assert other.prediction_cache.targets() == frozenset()  # never another artifact's values
    data = bytearray(file.read_bytes())  # a corrupt array is ignored, then written anew
    with zipfile.ZipFile(file) as archive:
        member = archive.getinfo("test_accuracy@108.npy")
    data[member.header_offset + 1000] ^= 0xFF
    file.write_bytes(bytes(data))
    fresh = SurrogateBenchmark(artifact_path, noise=False, prediction_cache=tmp_path)
    with caplog.at_level("WARNING"):
        values = fresh.predict("test_accuracy@108", np.arange(10))
    assert "ignoring the prediction cache" in caplog.text
    np.testing.assert_array_equal(values, bench.predict("test_accuracy@108", np.arange(10)))
    fresh.precompute(["test_accuracy@108"], progress=False)
    assert SurrogateBenchmark(
        artifact_path, noise=False, prediction_cache=tmp_path
    ).prediction_cache.targets() == {"test_accuracy@108"}
    off = SurrogateBenchmark(artifact_path, noise=False, prediction_cache=False)
    off.precompute(["test_accuracy@108"], progress=False)
    assert off.prediction_cache is None


def test_target_names():
    halfway = parse_target("halfway_test_accuracy@36")
    assert halfway == Target("test_accuracy", 36, True)
    assert tuple(halfway) == ("test_accuracy", 36, True) and halfway[0] == "test_accuracy"
    metric, epochs, is_halfway = parse_target("training_time@108")
    assert (metric, epochs, is_halfway) == ("training_time", 108, False)
    assert halfway.name == str(halfway) == "halfway_test_accuracy@36"
    assert halfway.column == "halfway_test_accuracy" and halfway.column in RUN_FIELDS
    assert parse_target("validation_accuracy@4").column == "final_validation_accuracy"
    assert parse_target(halfway) is halfway
    assert format_target("test_accuracy", 36, True) == "halfway_test_accuracy@36"
    assert {
        parse_target(format_target(m, e, h))
        for m in METRICS
        for e in (4, 12, 36, 108)
        for h in (False, True)
    } == {Target(m, e, h) for m in METRICS for e in (4, 12, 36, 108) for h in (False, True)}
    for bad in ("test_accuracy", "test_accuracy@7", "loss@108", "halfway_@4"):
        with pytest.raises(ValueError, match="unknown target"):
            parse_target(bad)
    with pytest.raises(ValueError, match="metric 'loss'"):
        Target("loss", 108)
    with pytest.raises(ValueError, match="epochs must be one of .* got 7"):
        format_target("test_accuracy", 7)


# -------------------------------------------------------------------------------- noise
def test_noise_false_is_deterministic(artifact_path, space, covered):
    a = SurrogateBenchmark(artifact_path, seed=0, noise=False)
    b = SurrogateBenchmark(artifact_path, seed=123, noise=False)
    spec = space.spec(int(covered[3]))
    for name in METRICS:
        assert a.query(spec)[name] == a.query(spec)[name] == b.query(spec)[name]
    _, computed = a.get_metrics_from_spec(spec)
    assert computed[108][0]["final_test_accuracy"] == a.query(spec)["test_accuracy"]
    np.testing.assert_array_equal(
        a.query_batch(covered)["test_accuracy"], b.query_batch(covered)["test_accuracy"]
    )


def test_simulated_runs_are_fixed_seeded_and_centred(artifact_path, space, covered):
    cells = np.repeat(covered[:5], 400)
    runs = [SurrogateBenchmark(artifact_path, seed=s).query_batch(cells) for s in (7, 7, 8)]
    for name in ("test_accuracy", "validation_accuracy", "training_time"):
        np.testing.assert_array_equal(runs[0][name], runs[1][name])
        assert not np.array_equal(runs[0][name], runs[2][name])  # other repeats drawn
        per_cell = runs[0][name].reshape(5, 400)
        # three simulated runs per cell, as the official table: a query picks one of them
        assert all(len(np.unique(row)) == 3 for row in per_cell)
        assert set(np.unique(per_cell[0])) == set(np.unique(runs[2][name].reshape(5, 400)[0]))
    single = [
        SurrogateBenchmark(artifact_path, seed=3).query(space.spec(int(covered[0])))
        for _ in range(2)
    ]
    assert single[0]["test_accuracy"] == single[1]["test_accuracy"]
    # one run per cell (like the real table): every query of a cell answers the same run
    one = SurrogateBenchmark(artifact_path, seed=1, num_repeats=1).query_batch(cells)
    assert all(len(np.unique(row)) == 1 for row in one["test_accuracy"].reshape(5, 400))
    other = SurrogateBenchmark(artifact_path, seed=1, num_repeats=1, noise_seed=5)
    assert not np.array_equal(other.query_batch(cells)["test_accuracy"], one["test_accuracy"])
    # centred on the prediction, over many simulated runs (noise rules 1-3: rule 4, the
    # labels' marginal, moves the values on purpose; the typical run is the prediction, and
    # these cells' residuals are near symmetric, so the mean is close to it too)
    plain = load_artifact(artifact_path)
    for target_noise in plain.noise.targets.values():
        target_noise.marginal = target_noise.simulated = None
    many = SurrogateBenchmark(plain, seed=0, num_repeats=2000).query_batch(
        np.repeat(covered[:5], 4000)
    )
    mean = SurrogateBenchmark(artifact_path, noise=False).query_batch(covered[:5])
    noisy = many["test_accuracy"].reshape(5, 4000)
    assert noisy.std(axis=1).min() > 0
    np.testing.assert_allclose(noisy.mean(axis=1), mean["test_accuracy"], atol=2e-3)
    # one run, one draw: validation and test accuracy of a run move together
    val = many["validation_accuracy"].reshape(5, 4000)
    assert all(np.corrcoef(val[i], noisy[i])[0, 1] > 0.9 for i in range(5))
    with pytest.raises(ValueError, match="num_repeats"):
        SurrogateBenchmark(artifact_path, num_repeats=0)


def test_simulated_runs_have_the_labels_marginal(artifact_path, space, covered):
    from scipy.stats import spearmanr

    from surrogate.noise import MARGINAL_LEVELS, REFERENCE_ERROR_KEY, REFERENCE_KEY

    art = load_artifact(artifact_path)
    noise = art.noise.targets["test_accuracy@108"]
    assert noise.marginal is not None and noise.info["marginal_labels"] > 0
    cells = np.arange(len(space))
    one = SurrogateBenchmark(art, seed=0, num_repeats=1)
    runs = one.query_batch(cells)["test_accuracy"]
    # the simulated table has the fitted labels' distribution ...
    levels = [0.01, 0.1, 0.5, 0.9, 0.99]
    np.testing.assert_allclose(
        np.quantile(runs, levels), np.interp(levels, MARGINAL_LEVELS, noise.marginal), atol=1e-3
    )
    # ... and the order of the unmapped runs (the map is monotone)
    plain = load_artifact(artifact_path)
    for target_noise in plain.noise.targets.values():
        target_noise.marginal = target_noise.simulated = None
    unmapped = SurrogateBenchmark(plain, seed=0, num_repeats=1).query_batch(cells)
    sample = np.random.default_rng(0).choice(cells, 20000, replace=False)
    assert spearmanr(runs[sample], unmapped["test_accuracy"][sample]).statistic > 0.999
    # the transfer function was fitted at training time on the reference draw of the
    # whole space, so a benchmark that never predicts the whole space applies the same one
    reference = uniform_levels(REFERENCE_KEY, np.zeros(len(cells)), cells)
    errors = None
    if noise.model_error:  # rule 5 is in the reference draw outside the training cells, at
        # independent levels (one field would tilt the transfer)
        errors = uniform_levels(REFERENCE_ERROR_KEY, np.zeros(len(cells)), cells)
        errors[art.in_sample("test_accuracy@108")] = np.nan
    plain_draw = plain.noise.perturb(
        "test_accuracy@108", art.predict("test_accuracy@108", cells), reference, errors
    )
    np.testing.assert_allclose(np.quantile(plain_draw, MARGINAL_LEVELS), noise.simulated, atol=1e-6)
    other = SurrogateBenchmark(art, seed=0, num_repeats=1, noise_seed=0, full_cache=False)
    np.testing.assert_array_equal(
        other.query_batch(covered[:20])["test_accuracy"], runs[covered[:20]]
    )
    # noise=False answers the predicted means, unmapped
    mean = SurrogateBenchmark(art, noise=False).query_batch(covered[:5])["test_accuracy"]
    np.testing.assert_allclose(
        mean,
        art.predict("test_accuracy@108", covered[:5]),
        rtol=0,
        atol=art.predictions.resolution("test_accuracy@108"),
    )


def test_noise_scale_from_repeats():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.85, 0.95, 5000)
    observed = pred + rng.normal(0, 0.01, 5000)  # model error + run noise
    repeats = [0.9 + rng.normal(0, 0.003, 3) for _ in range(200)]
    sigma, dof = pooled_run_std(repeats)
    assert dof == 400 and sigma == pytest.approx(0.003, rel=0.15)
    noise = estimate_noise(pred, observed, repeats)
    assert noise.scale == pytest.approx(0.3, rel=0.2)
    assert noise.info["source"].startswith("residuals scaled")
    upper = estimate_noise(pred, observed)
    assert upper.scale == 1.0 and "upper bound" in upper.info["source"]
    draws = noise.offsets(np.full(20000, 0.9), rng.random(20000))
    assert draws.std() == pytest.approx(0.003, rel=0.2) and abs(np.median(draws)) < 3e-4
    model = NoiseModel({"test_accuracy@108": noise})
    again = NoiseModel.from_dict(json.loads(json.dumps(model.to_dict())))
    u = rng.random(100)
    np.testing.assert_allclose(
        again.perturb("test_accuracy@108", pred[:100], u),
        model.perturb("test_accuracy@108", pred[:100], u),
        atol=1e-6,
    )
    assert np.all(model.perturb("test_accuracy@108", np.ones(100), u) <= 1.0)


def test_noise_bins_are_centred_on_their_median():
    # the regressors fit labels clipped from below, the residuals keep the collapsed runs: a
    # low bin with a few of them keeps its typical run at the prediction, so its runs stay
    # below the next bin's and its upper tail stays as narrow as its residuals' around it
    rng = np.random.default_rng(2)
    pred = np.sort(rng.uniform(0.80, 0.95, 4000))
    observed = pred + rng.normal(0, 0.005, 4000)
    low = np.flatnonzero(pred < pred[len(pred) // 10])
    collapsed = rng.choice(low, size=len(low) // 10, replace=False)
    observed[collapsed] = 0.1
    noise = estimate_noise(pred, observed)
    assert noise.info["centre"] == "median"
    np.testing.assert_allclose(noise.quantiles[:, NUM_QUANTILES // 2], 0.0, atol=1e-12)
    u = np.full(2, 0.5)
    edge = noise.edges[0]
    below, above = noise.offsets(np.array([edge - 1e-6, edge]), u) + [edge - 1e-6, edge]
    assert below < above  # no order inverted at the bin's edge
    # the lowest bin's 99th percentile: the normal residuals' 0.005 * 2.33, not the collapsed
    # runs' pull on the mean (+0.08) on top of it
    assert noise.quantiles[0, -2] == pytest.approx(0.005 * 2.326, abs=0.003)


def test_noise_transfer_onto_the_labels_marginal():
    from surrogate.noise import fit_transfer

    rng = np.random.default_rng(1)
    pred = rng.uniform(0.85, 0.95, 5000)
    labels = 0.9 + 0.02 * rng.standard_normal(20000)
    noise = estimate_noise(pred, pred + rng.normal(0, 0.01, 5000), labels=labels)
    model = NoiseModel({"test_accuracy@108": noise})
    with pytest.raises(ValueError, match="simulated"):  # half of rule 4: an older artifact
        NoiseModel.from_dict(json.loads(json.dumps(model.to_dict())))
    space_pred = rng.uniform(0.8, 0.95, 50000)
    fit_transfer("test_accuracy@108", noise, space_pred)
    assert model.has_marginal("test_accuracy@108")
    again = NoiseModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert again.to_dict()["rule"].endswith("/v2")
    u = rng.random(50000)
    runs = again.perturb("test_accuracy@108", space_pred, u)
    # the runs take the labels' distribution, in the order of the unmapped runs
    assert np.mean(runs) == pytest.approx(np.mean(labels), abs=1e-3)
    assert np.std(runs) == pytest.approx(np.std(labels), rel=0.02)
    again.targets["test_accuracy@108"].simulated = None
    unmapped = again.perturb("test_accuracy@108", space_pred, u)
    assert np.all(np.diff(runs[np.argsort(unmapped)]) >= 0)


def test_noise_model_error_out_of_sample(fitted, tmp_path, space):
    """Rule 5: cells outside the training set get a fixed per-cell offset (shared by their
    runs), cells in it none; the offsets widen the runs by the residuals' remaining spread."""
    from surrogate.noise import fit_transfer

    cells, y, model = fitted
    rng = np.random.default_rng(2)
    pred = rng.uniform(0.85, 0.95, 5000)
    repeats = [0.9 + rng.normal(0, 0.003, 3) for _ in range(200)]
    noise = estimate_noise(pred, pred + rng.normal(0, 0.01, 5000), repeats, model_error=True)
    assert noise.error_scale == pytest.approx(np.sqrt(1 - noise.scale**2))
    u_cell = rng.random(5000)
    u_cell[:100] = np.nan  # in sample
    errors = noise.errors(pred, u_cell)
    assert np.all(errors[:100] == 0)
    total = noise.offsets(pred, rng.random(5000)) + errors
    assert total[100:].std() == pytest.approx(0.01, rel=0.15)
    model_ = NoiseModel({"test_accuracy@108": noise})
    again = NoiseModel.from_dict(json.loads(json.dumps(model_.to_dict())))
    assert again.has_model_error("test_accuracy@108")
    assert again.to_dict()["rule"].endswith("/v3")
    # in a surrogate: the offset is fixed per cell and noise_seed, absent in sample
    labels = rng.uniform(0.85, 0.95, 300)
    target_noise = estimate_noise(
        model.predict(get_featurizer("adjacency").transform(cells[:300])),
        y[:300],
        repeats,
        labels,
        model_error=True,
    )
    in_sample = np.zeros(len(space), dtype=bool)
    in_sample[cells] = True
    space_pred = rng.uniform(0.85, 0.95, len(space))
    fit_transfer("test_accuracy@108", target_noise, space_pred, in_sample)
    # the transfer's reference draw: the model error at independent per-cell levels (one
    # field's regional offset would tilt the transfer), none in sample
    from surrogate.noise import MARGINAL_LEVELS, REFERENCE_ERROR_KEY, REFERENCE_KEY

    everything = np.arange(len(space))
    u_cell = uniform_levels(REFERENCE_ERROR_KEY, np.zeros(len(space)), everything)
    u_cell[in_sample] = np.nan
    unmapped = NoiseModel(
        {"test_accuracy@108": dataclasses.replace(target_noise, marginal=None, simulated=None)}
    )
    reference = unmapped.perturb(
        "test_accuracy@108",
        space_pred,
        uniform_levels(REFERENCE_KEY, np.zeros(len(space)), everything),
        u_cell,
    )
    np.testing.assert_allclose(
        np.quantile(reference, MARGINAL_LEVELS), target_noise.simulated, atol=1e-9
    )
    path = save_artifact(
        tmp_path / "err",
        models={"test_accuracy@108": model},
        featurizer="adjacency",
        model_name="xgb",
        noise=NoiseModel({"test_accuracy@108": target_noise}),
        training_cells={"test_accuracy@108": cells},
    )
    bench = SurrogateBenchmark(path, seed=0, noise_seed=3)
    outside = np.setdiff1d(np.arange(5000), cells)[:50]
    u = bench._error_levels("test_accuracy@108", np.concatenate([cells[:5], outside]))
    assert np.isnan(u[:5]).all() and np.isfinite(u[5:]).all()
    np.testing.assert_array_equal(
        u, bench._error_levels("test_accuracy@108", np.concatenate([cells[:5], outside]))
    )
    other = SurrogateBenchmark(path, seed=0, noise_seed=4)._error_levels(
        "test_accuracy@108", outside
    )
    assert not np.allclose(other, u[5:])


def test_error_levels_are_a_short_ranged_field(space):
    """Rule 5's levels: seeded, about uniform, correlated one edit apart, not at random."""
    from nb101.codec import get_codec
    from surrogate.noise import error_levels

    rng = np.random.default_rng(0)
    graph = get_codec(space).neighbour_graph()
    cells = rng.choice(len(space), 3000, replace=False)
    cells = cells[np.diff(graph.indptr)[cells] > 0]
    near = np.array([rng.choice(graph[c].indices) for c in cells])
    u = error_levels(np.uint64(7), cells)
    assert ((u > 0) & (u < 1)).all()
    np.testing.assert_array_equal(u, error_levels(np.uint64(7), cells))
    deciles = np.histogram(u, bins=10, range=(0, 1))[0] / len(u)
    assert deciles.min() > 0.07 and deciles.max() < 0.13
    assert np.corrcoef(u, error_levels(np.uint64(7), near))[0, 1] > 0.3
    far = rng.permutation(cells)
    assert abs(np.corrcoef(u, error_levels(np.uint64(7), far))[0, 1]) < 0.08
    assert abs(np.corrcoef(u, error_levels(np.uint64(8), cells))[0, 1]) < 0.08


def test_noise_model_error_share():
    """Rule 5 with a given share: the field carries that share of the residual variance,
    the run noise at most the rest; the share survives a round trip and is validated."""
    rng = np.random.default_rng(3)
    pred = rng.uniform(0.85, 0.95, 5000)
    observed = pred + rng.normal(0, 0.01, 5000)
    repeats = [0.9 + rng.normal(0, 0.01, 3) for _ in range(200)]  # scale about 1
    noise = estimate_noise(pred, observed, repeats, model_error=True, error_share=0.3)
    assert noise.error_share == 0.3 and noise.error_scale == pytest.approx(np.sqrt(0.3))
    assert noise.scale == pytest.approx(np.sqrt(0.7))
    total = noise.offsets(pred, rng.random(5000)) + noise.errors(pred, rng.random(5000))
    assert total.std() == pytest.approx(0.01, rel=0.1)
    # a scale below the cap stays: the repeats leave more room for model error
    small = estimate_noise(
        pred,
        observed,
        [0.9 + rng.normal(0, 0.003, 3) for _ in range(200)],
        model_error=True,
        error_share=0.3,
    )
    assert small.scale < 0.5 and small.error_scale == pytest.approx(np.sqrt(0.3))
    model = NoiseModel({"test_accuracy@108": noise})
    data = json.loads(json.dumps(model.to_dict()))
    assert data["rule"].endswith("/v5")
    assert NoiseModel.from_dict(data).targets["test_accuracy@108"].error_share == 0.3
    data["targets"]["test_accuracy@108"]["error_share"] = 1.5
    with pytest.raises(ValueError, match="error_share"):
        NoiseModel.from_dict(data)
    # without model_error the share is not recorded (rule 5 is off)
    assert estimate_noise(pred, observed, error_share=0.3).error_share is None


def test_noise_top_location():
    """Rule 1b: the runs of cells predicted above the top bin's median prediction are centred
    where the labels' median lies (isotonic in the prediction, robust to collapsed runs),
    flat above the last knot; the ranking of the predictions kept; round trip, validation."""
    rng = np.random.default_rng(4)
    pred = rng.normal(0.90, 0.02, 20000)
    knee = np.quantile(pred, 0.9)  # regression to the mean in the best-predicted tenth
    observed = pred - 0.4 * np.maximum(pred - knee, 0.0) + rng.normal(0, 0.002, len(pred))
    top = np.flatnonzero(pred >= knee)
    observed[rng.choice(top, 20, replace=False)] = 0.1  # collapsed runs
    off = estimate_noise(pred, observed)
    assert off.top_location is None and np.all(off.location(pred) == 0)
    noise = estimate_noise(pred, observed, top_location=True)
    knots, offsets = noise.top_location
    centre = np.median(pred[top])
    assert knots[0] == pytest.approx(centre, abs=1e-3) and offsets[0] == 0
    inside = np.linspace(knots[0], knots[-1], 50)
    # within the estimate's noise (medians of 20 runs of sd 0.002, pooled where they fall),
    # against a fall of 0.01 over the bin
    np.testing.assert_allclose(noise.location(inside), -0.4 * (inside - knots[0]), atol=2e-3)
    assert np.all(noise.location(np.array([0.85, knots[0]])) == 0)
    # above the last knot the runs' centre stays put: the data say no more
    far = knots[-1] + np.array([0.0, 0.01, 0.05])
    np.testing.assert_allclose(far + noise.location(far), (far[0] + noise.location(far[:1]))[0])
    # at the median level a run is its centre, and the ranking of the predictions is kept
    high = np.linspace(0.90, 0.99, 200)
    runs = unmapped_run("test_accuracy@108", noise, high, np.full(len(high), 0.5))
    np.testing.assert_allclose(runs, high + noise.location(high), atol=1e-4)
    assert np.all(np.diff(high + noise.location(high)) >= 0)
    # where the top does not fall, nothing moves beyond the estimate's noise
    flat = estimate_noise(pred, pred + rng.normal(0, 0.002, len(pred)), top_location=True)
    assert np.abs(flat.location(inside)).max() < 2e-3
    assert noise.info["top_location"] == "on"
    # a top bin of fewer than 1,000 labels: the fit would be noise, the rule stays off
    few = estimate_noise(pred[:5000], observed[:5000], top_location=True)
    assert few.top_location is None and few.info["top_location"].startswith("off")
    model = NoiseModel({"test_accuracy@108": noise})
    data = json.loads(json.dumps(model.to_dict()))
    assert data["rule"].endswith("/v6")
    again = NoiseModel.from_dict(data).targets["test_accuracy@108"]
    np.testing.assert_array_equal(again.location(high), noise.location(high))
    for bad in (
        {"knots": [0.93, 0.92], "offsets": [0.0, 0.0]},  # not increasing
        {"knots": [0.93, 0.94], "offsets": [0.0, -0.02]},  # would invert the ranking
        {"knots": [0.93], "offsets": [0.0, 0.0]},
        {"knots": "x"},
        [0.93],
    ):
        data["targets"]["test_accuracy@108"]["top_location"] = bad
        with pytest.raises(ValueError, match="top_location"):
            NoiseModel.from_dict(data)


@pytest.mark.parametrize(
    "shares, match",
    [
        ({"validation_accuracy@108": 1.0}, r"\[0, 1\)"),
        ({"validation_accuracy@108": True}, r"\[0, 1\)"),
        ({"nonsense@108": 0.3}, "target"),
        ({"validation_accuracy@36": 0.3}, "not trained"),
    ],
)
def test_train_rejects_bad_error_shares(table_path, tmp_path, shares, match):
    with pytest.raises(ValueError, match=match):
        train(
            TrainConfig(
                table=table_path,
                targets=["validation_accuracy@108"],
                error_share=shares,
                out=tmp_path / "a",
            )
        )


def test_noise_required_unless_disabled(fitted, tmp_path):
    cells, y, model = fitted
    path = save_artifact(
        tmp_path / "quiet",
        models={"test_accuracy@108": model},
        featurizer="adjacency",
        model_name="xgb",
    )
    with pytest.raises(ArtifactError, match="noise"):
        SurrogateBenchmark(path)
    assert SurrogateBenchmark(path, noise=False).valid_epochs == frozenset({108})


# ------------------------------------------------------------------------ training data
def test_target_data_averages_repeats(table_path):
    table = load_table(table_path)
    data = target_data(table, "test_accuracy@108")
    assert len(data.indices) == table.num_cells and len(data.repeats) == table.num_cells
    runs = table.runs
    c = data.indices[0]
    sel = (runs["run_cell"] == c) & (runs["run_epochs"] == 108)
    assert data.labels[0] == pytest.approx(runs["final_test_accuracy"][sel].astype(float).mean())
    assert set(available_targets(table)) == {
        f"{h}{m}@{e}" for h in ("", "halfway_") for m in METRICS for e in EPOCHS
    }


# ---------------------------------------------------------------------- default artifact
def test_default_artifact_is_bundled_small_and_sane(space):
    import surrogate
    from surrogate.artifact import DEFAULT_ARTIFACT
    from surrogate.train import DEFAULT_TARGETS

    size = sum(f.stat().st_size for f in DEFAULT_ARTIFACT.rglob("*") if f.is_file())
    assert size <= 10_000_000
    art = load_artifact(require_targets=DEFAULT_TARGETS)  # its load time: bench_surrogate.py
    for target in DEFAULT_TARGETS:
        metrics = art.metadata["target_info"][target]["metrics"]
        assert metrics["kendall_tau"] > 0.6 and metrics["spearman"] > 0.8
    bench = surrogate.SurrogateBenchmark(seed=0, noise=False, full_cache=False)
    assert bench.valid_epochs == frozenset({4, 12, 36, 108})
    inception = space.spec_from_hash("28cfc7874f6d200472e1a9dcd8650aa0")
    result = bench.query(inception)
    assert result["trainable_parameters"] == 2694282
    assert result["test_accuracy"] == pytest.approx(0.9312, abs=0.02)
    assert result["validation_accuracy"] == pytest.approx(0.9376, abs=0.02)
    assert result["training_time"] == pytest.approx(1155.9, rel=0.25)
    assert bench.query(inception, epochs=4)["test_accuracy"] is None


def test_bundled_surrogate_answers_the_documented_fields(space):
    """The fields the README and the SurrogateBenchmark docstring list, and no others."""
    bench = SurrogateBenchmark(seed=0, noise=False)
    fields = bench.fields()
    assert fields["test_accuracy"] == {4: None, 12: None, 36: None, 108: "test_accuracy@108"}
    assert fields["validation_accuracy"] == {e: f"validation_accuracy@{e}" for e in EPOCHS_ALL}
    assert fields["training_time"] == {
        4: "training_time@108 x 4/108",
        12: "training_time@108 x 12/108",
        36: "training_time@108 x 36/108",
        108: "training_time@108",
    }
    assert fields["halfway_training_time"][108] == "training_time@108 / 2"
    for name in (
        "train_accuracy",
        "halfway_train_accuracy",
        "halfway_validation_accuracy",
        "halfway_test_accuracy",
    ):
        assert set(fields[name].values()) == {None}
    spec = space.spec(1234)
    for epochs in EPOCHS_ALL:
        for halfway in (False, True):
            result = bench.query(spec, epochs=epochs, stop_halfway=halfway)
            key = "halfway_" if halfway else ""
            for metric in METRICS:
                assert (result[metric] is None) == (fields[key + metric][epochs] is None)


def test_generalized_pareto_fit_recovers_the_tail_and_is_less_biased_than_mle():
    """Rule 4's tail fit (Zhang and Stephens' estimator): consistent on a large sample, and on
    the 50 exceedances of a 1 % surrogate's labels its shape is less biased than maximum
    likelihood's, which makes bounded tails too short."""
    from scipy.stats import genpareto

    from surrogate.noise import fit_generalized_pareto

    rng = np.random.default_rng(0)
    for shape in (-0.3, -0.1, 0.0):
        x = genpareto.rvs(shape, scale=0.002, size=20_000, random_state=rng)
        fitted_shape, fitted_scale = fit_generalized_pareto(x)
        assert abs(fitted_shape - shape) < 0.03 and abs(fitted_scale / 0.002 - 1) < 0.05
        small = [genpareto.rvs(shape, scale=0.002, size=50, random_state=rng) for _ in range(200)]
        zhang_stephens = np.mean([fit_generalized_pareto(x)[0] for x in small]) - shape
        mle = np.mean([genpareto.fit(x, floc=0)[0] for x in small]) - shape
        assert abs(zhang_stephens) < 0.7 * abs(mle)
    # ties at the threshold (accuracies come in steps of 1 / 10,000 images)
    tied = np.concatenate([np.zeros(20), np.round(rng.exponential(0.002, 30), 4)])
    shape, scale = fit_generalized_pareto(tied)
    assert np.isfinite(shape) and scale > 0


def test_marginal_upper_tail_extrapolates_beyond_the_sample():
    """Rule 4's marginal: a sample's top is modelled (generalized Pareto over the top 1 %), so
    levels above the sample's own reach beyond its maximum, towards the population's
    quantiles; below the threshold the quantiles are the empirical ones."""
    from scipy.stats import norm

    from surrogate.noise import MARGINAL_LEVELS, label_quantiles

    rng = np.random.default_rng(0)
    errors_tail, errors_empirical = [], []
    for _ in range(20):
        labels = rng.normal(0.9, 0.01, 4000)
        q = label_quantiles(labels, MARGINAL_LEVELS)
        assert np.all(np.isfinite(q)) and np.all(np.diff(q) >= 0)
        low = MARGINAL_LEVELS <= 0.98
        np.testing.assert_allclose(q[low], np.quantile(labels, MARGINAL_LEVELS[low]))
        top = 1 - 1e-5  # far above 1 / 4,000
        truth = norm.ppf(top, 0.9, 0.01)
        assert np.interp(top, MARGINAL_LEVELS, q) > labels.max()
        errors_tail.append(abs(np.interp(top, MARGINAL_LEVELS, q) - truth))
        errors_empirical.append(abs(labels.max() - truth))
    assert np.mean(errors_tail) < 0.8 * np.mean(errors_empirical)
    # any order of the levels: the same quantile at each level
    shuffled = rng.permutation(MARGINAL_LEVELS)
    np.testing.assert_array_equal(
        label_quantiles(labels, shuffled),
        np.interp(shuffled, MARGINAL_LEVELS, label_quantiles(labels, MARGINAL_LEVELS)),
    )
    few = rng.normal(0.9, 0.01, 150)  # too few labels: empirical
    np.testing.assert_allclose(
        label_quantiles(few, MARGINAL_LEVELS), np.quantile(few, MARGINAL_LEVELS)
    )
