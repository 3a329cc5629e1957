"""The real data in ../shared/data and the combined table of the whole space."""

from __future__ import annotations

import numpy as np
import pytest
from _specs import INCEPTION

from nb101 import ModelSpec, PartialTableError, real_data
from nb101.model_spec import trainable_parameters
from nb101.protocol import RUN_FIELDS
from nb101.real_data import (
    convert_real_data,
    load_exhaustive,
    load_repeats,
    load_sample,
    real_table,
    resolve_data_dir,
)
from nb101.tabular_benchmark import TabularBenchmark


@pytest.fixture(scope="module")
def real_table_path(real_data_dir, space, tmp_path_factory):
    return convert_real_data(
        real_data_dir, tmp_path_factory.mktemp("real") / "real.npz", space=space
    )


@pytest.fixture(scope="module")
def sample(real_data_dir):
    return load_sample(real_data_dir)


@pytest.fixture(scope="module")
def repeats(real_data_dir):
    return load_repeats(real_data_dir)


def test_missing_folder_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        resolve_data_dir(tmp_path / "nope")


def test_real_table_reuses_the_cached_table(real_table_path, monkeypatch):
    def no_conversion(*args, **kwargs):
        raise AssertionError("converted although the table is cached")

    monkeypatch.setattr(real_data, "default_real_table_path", lambda: real_table_path)
    monkeypatch.setattr(real_data, "convert_real_data", no_conversion)
    assert real_table() == real_table_path
    assert real_table("/no/such/folder") == real_table_path  # the cache wins


def test_real_table_converts_on_first_use(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    for name in (real_data.EXHAUSTIVE_FILE, real_data.SAMPLE_FILE, real_data.REPEATS_FILE):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).touch()
    calls = []

    def convert(data_dir, out_path):
        calls.append((data_dir, out_path))
        return out_path

    monkeypatch.setattr(real_data, "default_real_table_path", lambda: tmp_path / "real.npz")
    monkeypatch.setattr(real_data, "convert_real_data", convert)
    assert real_table(folder) == tmp_path / "real.npz"
    assert calls == [(folder, tmp_path / "real.npz")]


@pytest.mark.parametrize("empty", [False, True])
@pytest.mark.parametrize("via_env", [False, True])
def test_real_table_without_data_says_how_to_provide_it(tmp_path, monkeypatch, via_env, empty):
    folder = tmp_path / "absent"
    if empty:  # a folder without the files says the same, naming what it lacks
        folder.mkdir()
    monkeypatch.setattr(real_data, "default_real_table_path", lambda: tmp_path / "real.npz")
    if via_env:
        monkeypatch.setenv("NB101_DATA", str(folder))
    with pytest.raises(FileNotFoundError) as info:
        real_table(None if via_env else folder)
    message = str(info.value)
    assert "\n" not in message
    assert str(folder) in message and str(tmp_path / "real.npz") in message
    assert "$NB101_DATA" in message if via_env else "(given)" in message
    for way in ("--table", "NB101_DATA", "nb101 download"):
        assert way in message
    assert not (tmp_path / "real.npz").exists()


def test_whole_space(real_table_path, real_data_dir, space):
    bench = TabularBenchmark(real_table_path, seed=0)
    assert bench.table.num_cells == len(space) == 423_624
    assert bench.valid_epochs == {4, 12, 36, 108}
    exhaustive = load_exhaustive(real_data_dir)
    repeat0 = bench.table.runs["final_test_accuracy"][
        bench.table.run_start[:-1].reshape(-1, 4)[:, 3]
    ]  # first run at 108 = repeat 0
    np.testing.assert_array_equal(repeat0.astype(np.float64), exhaustive)


def test_inception_cell(real_table_path, space):
    bench = TabularBenchmark(real_table_path, seed=0, require=("test_accuracy",))
    result = bench.query(INCEPTION)
    assert result["test_accuracy"] == 0.9311898946762085
    assert result["trainable_parameters"] == 2694282
    assert result["validation_accuracy"] is None  # not in the sample or the records
    fixed, computed = bench.get_metrics_from_hash("28cfc7874f6d200472e1a9dcd8650aa0")
    assert computed[108][0]["final_test_accuracy"] == 0.9311898946762085
    assert fixed["module_operations"][1] == "conv3x3-bn-relu"
    with pytest.raises(PartialTableError, match="partial"):
        bench.query(INCEPTION, epochs=36)


def test_repeats_come_back_exactly(real_table_path, repeats):
    bench = TabularBenchmark(real_table_path, seed=0)
    for h, (fixed, computed) in repeats.items():
        got_fixed, got = bench.get_metrics_from_hash(h)
        assert got_fixed["trainable_parameters"] == fixed["trainable_parameters"]
        assert got_fixed["module_operations"] == fixed["module_operations"]
        np.testing.assert_array_equal(got_fixed["module_adjacency"], fixed["module_adjacency"])
        for epochs, runs in computed.items():
            assert got[epochs][:3] == runs, (h, epochs)
            assert all(r["final_test_accuracy"] is None for r in got[epochs][3:])
    # a halfway query of a full-budget record cell draws one of its repeats
    strict = TabularBenchmark(real_table_path, seed=1, require=("halfway_test_accuracy",))
    h = next(h for h, (_, c) in repeats.items() if 4 in c)
    result = strict.query(strict.space.spec_from_hash(h), epochs=4, stop_halfway=True)
    assert result["test_accuracy"] in [r["halfway_test_accuracy"] for r in repeats[h][1][4]]


def test_sample_values_exact(real_table_path, sample, space):
    bench = TabularBenchmark(real_table_path, seed=0, require=("validation_accuracy",))
    cells = space.indices_of_hashes(sample.hashes)
    for epochs in (4, 12, 36, 108):
        assert set(bench.covered_indices(epochs).tolist()) >= set(cells.tolist())
    only_sample = bench.covered_indices(4)
    assert len(only_sample) == len(cells) + 3  # 3 full-budget record cells not in the sample
    # where the cell has a single usable run, the batch returns the sample's values exactly
    for epochs in (4, 12, 36, 108):
        _, count, _ = bench._view(bench.require, False)
        slot_count = count.reshape(-1, 4)[cells, [4, 12, 36, 108].index(epochs)]
        single = cells[slot_count == 1]
        out = bench.query_batch(single, epochs=epochs)
        expected = sample.validation_accuracy[epochs][slot_count == 1]
        assert len(single) > 18_000
        np.testing.assert_array_equal(out["validation_accuracy"], expected)
        if epochs == 108:
            np.testing.assert_array_equal(
                out["training_time"], sample.final_training_time[slot_count == 1]
            )
            assert np.isnan(out["test_accuracy"]).all()  # sample runs: repeat unknown


def test_sample_cells_answer_every_field_they_have(real_table_path, real_data_dir, sample, space):
    """A sample cell's two partial 108-epoch runs (test accuracy in repeat 0, validation
    accuracy and time in a run of unknown repeat): every query returns all three."""
    bench = TabularBenchmark(real_table_path, seed=0)
    cells = space.indices_of_hashes(sample.hashes)
    exhaustive = load_exhaustive(real_data_dir)
    _, count, _ = bench._view((), False)
    two = count.reshape(-1, 4)[cells, 3] == 2  # the sample's unmatched runs, not the records
    assert two.sum() > 18_000
    out = bench.query_batch(cells[two])
    np.testing.assert_array_equal(out["test_accuracy"], exhaustive[cells[two]])
    np.testing.assert_array_equal(out["validation_accuracy"], sample.validation_accuracy[108][two])
    np.testing.assert_array_equal(out["training_time"], sample.final_training_time[two])
    assert np.isnan(out["train_accuracy"]).all()  # no run of these cells has it
    for i in np.flatnonzero(two)[:100]:
        result = bench.query(space.spec(int(cells[i])))
        assert result["test_accuracy"] == exhaustive[cells[i]]
        assert result["validation_accuracy"] == sample.validation_accuracy[108][i]
        assert result["training_time"] == sample.final_training_time[i]
    summary = bench.summary()
    assert summary["partial"] and summary["epochs"][108]["runs_per_cell"][2] == int(two.sum())


def test_parameters(real_table_path, sample, repeats, space):
    cells = space.indices_of_hashes(sample.hashes)
    np.testing.assert_array_equal(space.parameters(cells), sample.trainable_parameters)
    for i in range(0, len(cells), 500):  # the scalar formula too, on a subset
        assert trainable_parameters(space.spec(int(cells[i]))) == sample.trainable_parameters[i]
    for fixed, _ in repeats.values():
        spec = ModelSpec(fixed["module_adjacency"], fixed["module_operations"])
        assert trainable_parameters(spec) == fixed["trainable_parameters"]
    bench = TabularBenchmark(real_table_path)
    np.testing.assert_array_equal(bench.parameters(cells), sample.trainable_parameters)
    stored = bench.table.cells["trainable_parameters"]
    assert (stored >= 0).sum() == len(set(sample.hashes.tolist()) | set(repeats))
    assert RUN_FIELDS[0] == "halfway_training_time"
