"""The whole-space predictions an artifact carries (:mod:`surrogate.quantized`): quantized
within the stated resolution, answered by lookup with the models' answers (noise included)
within it, without importing XGBoost or torch; artifacts without them fall back to models."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from test_surrogate_benchmark import TINY_XGB, without_predictions, write_tiny_table

from nb101.protocol import METRICS
from surrogate.artifact import file_sha256, load_artifact
from surrogate.quantized import LEVELS, dequantize, member_name, quantize
from surrogate.surrogate_benchmark import SurrogateBenchmark
from surrogate.train import TrainConfig, train


def test_quantize_within_one_step_and_keeps_the_noise_bins():
    rng = np.random.default_rng(0)
    values = np.r_[rng.uniform(0.1, 0.95, 100_000), 0.1, 0.95]
    edges = np.sort(rng.uniform(0.2, 0.9, 9))
    values = np.r_[values, edges, np.nextafter(edges, 0), np.nextafter(edges, 1)]
    codes, low, step = quantize(values, edges)
    assert codes.dtype == np.uint16 and step == pytest.approx(0.85 / LEVELS)
    stored = dequantize(codes, low, step)
    assert np.abs(stored - values).max() <= step
    np.testing.assert_array_equal(
        np.searchsorted(edges, stored, side="right"), np.searchsorted(edges, values, side="right")
    )
    plain, _, _ = quantize(values)  # nearest code: within half a step
    assert np.abs(dequantize(plain, low, step) - values).max() <= step / 2 * (1 + 1e-9)
    constant, low, step = quantize(np.full(5, 0.3))
    assert step == 0 and (dequantize(constant, low, step) == 0.3).all()
    with pytest.raises(ValueError, match="finite"):
        quantize(np.array([0.1, np.nan]))


@pytest.fixture(scope="module")
def table_path(space, tmp_path_factory):
    return write_tiny_table(tmp_path_factory.mktemp("table") / "tiny.npz", space, epochs=(12, 108))


def _train(table_path, out, **kwargs):
    return train(
        TrainConfig(
            table=table_path,
            features="adjacency",
            model="xgb",
            model_params=TINY_XGB,
            train_size=250,
            seed=0,
            out=out,
            **kwargs,
        )
    )


def _transfer_slope(noise) -> float:
    """Steepest slope of noise rule 4's map of a target (1 without one)."""
    if noise is None or noise.simulated is None:
        return 1.0
    rows = noise.simulated.reshape(-1, noise.simulated.shape[-1])
    slopes = [np.diff(noise.marginal)[np.diff(r) > 0] / np.diff(r)[np.diff(r) > 0] for r in rows]
    return float(max(s.max() for s in slopes))


def _bound(art, bench, metric, epochs):
    """How far a stored-prediction answer may be from the models' (None: no answer): the
    stored resolution, times noise rule 4's steepest slope with noise on, times the factor
    of a derived training time."""
    source, factor = bench._sources[(metric, epochs, False)]
    if source is None:
        return None
    name = member_name(*bench._run_source(source)) if bench.noise else source
    bound = art.predictions.resolution(name) * (1 + 1e-9) * factor
    if bench.noise:
        bound *= _transfer_slope(art.noise.targets.get(source))
    return bound + 1e-12


def _assert_same_answers(stored_path, models_path, space, noise_seeds=(0,)):
    """Every field of every cell, noise off and on, within the resolution of its source."""
    art = load_artifact(stored_path)
    cells = np.arange(len(space))
    for epochs in sorted({int(t.split("@")[1]) for t in art.targets}):
        for noise_seed in noise_seeds:
            for noise in (False, True):
                kwargs = dict(seed=4, noise=noise, noise_seed=noise_seed)
                table = SurrogateBenchmark(stored_path, **kwargs)
                model = SurrogateBenchmark(models_path, prediction_cache=False, **kwargs)
                a, b = table.query_batch(cells, epochs), model.query_batch(cells, epochs)
                for metric in METRICS:
                    bound = _bound(art, table, metric, epochs)
                    if bound is None:
                        assert np.isnan(a[metric]).all() and np.isnan(b[metric]).all()
                        continue
                    assert np.abs(a[metric] - b[metric]).max() <= bound, (metric, epochs, noise)
                assert table.artifact._models == {}  # answered without a model


def test_artifact_answers_as_its_models_within_the_resolution(table_path, tmp_path, space):
    path = _train(table_path, tmp_path / "art")
    meta = json.loads((path / "metadata.json").read_text())
    section = meta["predictions"]
    assert section["file"] == "predictions.npz" and section["levels"] == LEVELS
    assert set(section["arrays"]) == set(meta["targets"])
    assert "predictions.npz" in meta["files"]
    art = load_artifact(path)
    for target in art.targets:  # the stored values are the models' within one step
        stored = art.predictions.load(target)
        exact = art.predict(target, np.arange(len(space)))
        assert np.abs(stored - exact).max() <= art.predictions.resolution(target) * (1 + 1e-9)
    models = without_predictions(path, tmp_path / "models")
    _assert_same_answers(path, models, space)
    # single queries and the fixed metrics too
    for index in (0, 1234, 423_623):
        spec = space.spec(index)
        one = SurrogateBenchmark(path, seed=2).query(spec)
        other = SurrogateBenchmark(models, seed=2, prediction_cache=False).query(spec)
        bench = SurrogateBenchmark(path, seed=2)
        for metric in METRICS:
            if one[metric] is not None:
                assert abs(one[metric] - other[metric]) <= _bound(art, bench, metric, 108)
    # retraining writes the same bytes (fixed zip time stamps, gzip without time stamp)
    again = _train(table_path, tmp_path / "again")
    assert json.loads((again / "metadata.json").read_text())["files"] == meta["files"]


@pytest.fixture(scope="module")
def ensemble_path(table_path, tmp_path_factory):
    return _train(
        table_path, tmp_path_factory.mktemp("ens") / "art", members=2, stack_on="test_accuracy@108"
    )


def test_ensemble_and_stacked_artifacts_store_every_source(ensemble_path, tmp_path, space):
    """Noise rule 6 draws runs around a member: each member is stored too; a stacked target
    is stored as its model predicts it (on the base's prediction)."""
    path = ensemble_path
    art = load_artifact(path)
    names = set(art.metadata["predictions"]["arrays"])
    assert names == {member_name(t, m) for t in art.targets for m in (None, 0, 1)}
    assert art.stacked_on and art.members("validation_accuracy@12") == 2
    models = without_predictions(path, tmp_path / "models")
    _assert_same_answers(path, models, space, noise_seeds=(0, 1))


def test_no_predictions_and_older_artifacts_fall_back_to_the_models(table_path, tmp_path, space):
    path = _train(table_path, tmp_path / "plain", predictions=False)
    meta = json.loads((path / "metadata.json").read_text())
    assert "predictions" not in meta and not (path / "predictions.npz").exists()
    bench = SurrogateBenchmark(path, seed=0, prediction_cache=tmp_path / "cache")
    assert bench.artifact.predictions is None and bench.prediction_cache is not None
    first = bench.query_batch(np.arange(50), 108)
    assert bench.artifact._models  # the models answered
    # schema 3: uncompressed weights, no predictions: loads, and its models answer the same
    old = tmp_path / "schema3"
    shutil.copytree(path, old)
    for file in sorted(old.rglob("*.gz")):
        file.with_name(file.name[:-3]).write_bytes(gzip.decompress(file.read_bytes()))
        file.unlink()
    meta["schema_version"] = 3
    meta["files"] = {
        f.relative_to(old).as_posix(): file_sha256(f)
        for f in sorted(old.rglob("*"))
        if f.is_file() and f.relative_to(old).as_posix() != "metadata.json"
    }
    (old / "metadata.json").write_text(json.dumps(meta))
    again = SurrogateBenchmark(old, seed=0, prediction_cache=False).query_batch(np.arange(50), 108)
    for metric in METRICS:
        np.testing.assert_array_equal(again[metric], first[metric])


def test_queries_import_neither_xgboost_nor_torch(space):
    """The bundled default answers from its stored predictions: a process that queries it
    (single and batch, noise on and off) never imports XGBoost or torch."""
    code = (
        "import sys\n"
        "from nb101 import ModelSpec\n"
        "from surrogate import SurrogateBenchmark\n"
        "import numpy as np\n"
        "spec = ModelSpec([[0, 1, 1], [0, 0, 1], [0, 0, 0]],"
        " ['input', 'conv3x3-bn-relu', 'output'])\n"
        "for noise in (True, False):\n"
        "    bench = SurrogateBenchmark(seed=0, noise=noise)\n"
        "    bench.query(spec)\n"
        "    bench.query_batch(np.arange(1000), epochs=12)\n"
        "    bench.get_metrics_from_spec(spec)\n"
        "bad = [m for m in ('xgboost', 'torch') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_single_query_path_gives_the_array_paths_values(ensemble_path, space):
    """``query`` of one cell runs on Python floats (:mod:`surrogate.single`); it answers the
    same floats, bit for bit, as the array path (``BaseBenchmark._run``) with the same seed,
    for every budget, final and halfway, noise on and off, mean and ensemble members."""
    from nb101.protocol import BaseBenchmark

    cells = np.random.default_rng(1).choice(len(space), 300, replace=False)
    for noise, noise_seed in ((True, 0), (True, 1), (False, 0)):
        fast = SurrogateBenchmark(ensemble_path, seed=7, noise=noise, noise_seed=noise_seed)
        slow = SurrogateBenchmark(ensemble_path, seed=7, noise=noise, noise_seed=noise_seed)
        for epochs in (4, 12, 36, 108):
            for halfway in (False, True):
                for cell in cells:
                    args = (int(cell), epochs, halfway)
                    assert fast._run(*args) == BaseBenchmark._run(slow, *args)
        assert fast._single and fast.artifact._models == {}


def test_stored_predictions_are_checked_before_they_are_read(tmp_path):
    """A lazily loaded artifact (as SurrogateBenchmark loads it) checks the predictions'
    sha256 when it first reads them; a full load checks it at once."""
    from nb101 import ArtifactError
    from surrogate.artifact import DEFAULT_ARTIFACT

    copy = tmp_path / "art"
    shutil.copytree(DEFAULT_ARTIFACT, copy)
    data = bytearray((copy / "predictions.npz").read_bytes())
    data[len(data) // 2] ^= 1
    (copy / "predictions.npz").write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="predictions.npz is corrupt"):
        load_artifact(copy)
    bench = SurrogateBenchmark(copy, noise=False)
    with pytest.raises(ArtifactError, match="predictions.npz is corrupt"):
        bench.query_batch(np.arange(3))
