"""``nb101.compat.api``: the original NASBench on a table (from an official-style .tfrecord)
and on the bundled surrogate; example.py-style scripts run with one changed import."""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import textwrap
from collections.abc import KeysView, Mapping
from pathlib import Path

import numpy as np
import pytest
from _specs import INCEPTION

import nb101
import nb101.convert
import nb101.table_file
from nb101 import PartialTableError, openers, write_table
from nb101.compat import api
from nb101.model_spec import trainable_parameters
from nb101.protocol import METRICS, RUN_FIELDS
from nb101.run_records import Run, write_runs
from nb101.tabular_benchmark import TabularBenchmark

REPO = Path(__file__).resolve().parents[2]
EPOCHS = (4, 12, 36, 108)
INCEPTION_HASH = "28cfc7874f6d200472e1a9dcd8650aa0"


def _accuracy(rng) -> float:
    return float(np.float32(rng.integers(500, 9984) / 9984))


def _seconds(rng) -> float:
    return float(np.float32(rng.uniform(20.0, 4000.0)))


@pytest.fixture(scope="module")
def records(space):
    """(cell index, epochs, repeat) -> Run: 4 cells x 4 budgets x 3 repeats."""
    rng = np.random.default_rng(7)
    out = {}
    for index in (space.index_of_spec(INCEPTION), 0, 7, len(space) - 1):
        spec = space.spec(index)
        for epochs in EPOCHS:
            for repeat in range(3):
                values = {
                    f"{when}_{m}": _seconds(rng) if m == "training_time" else _accuracy(rng)
                    for when in ("halfway", "final")
                    for m in METRICS
                }
                out[(index, epochs, repeat)] = Run(
                    module_hash=space.hash(index),
                    epochs=epochs,
                    adjacency=spec.matrix,
                    operations=spec.ops,
                    trainable_parameters=trainable_parameters(spec),
                    total_time=1.0,
                    **values,
                )
    return out


@pytest.fixture(scope="module")
def tfrecord(records, tmp_path_factory) -> Path:
    """An official-style dataset file (repeats of a (hash, epochs) in file order)."""
    path = tmp_path_factory.mktemp("official") / "nasbench_mini.tfrecord"
    order = sorted(records, key=lambda key: (key[2], key[1], key[0]))
    write_runs(path, [records[key] for key in order])
    return path


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """The project cache folder of these tests (the space itself stays where it is)."""
    folder = tmp_path_factory.mktemp("cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(openers, "cache_folder", lambda: folder)
        yield folder


@pytest.fixture()
def nasbench(tfrecord, cache):
    return api.NASBench(str(tfrecord), seed=0)


# --------------------------------------------------------------------------- opening
def test_config_is_the_original_one():
    config = api.default_config()
    assert config["available_ops"] == ["conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"]
    assert (config["module_vertices"], config["max_edges"], config["num_repeats"]) == (7, 9, 3)
    assert config["train_epochs"] == 108 and config["train_seconds"] == 14400.0
    assert config["intermediate_evaluations"] == ["0.5"] and config["data_format"] == (
        "channels_last"
    )
    config["available_ops"].append("x")
    assert api.default_config()["available_ops"] == list(nb101.OPS)  # a fresh copy each time


def test_a_tfrecord_is_converted_once_into_the_cache(
    tfrecord, cache, monkeypatch, tmp_path, caplog
):
    first = api.NASBench(str(tfrecord), seed=0)
    converted = sorted(cache.glob("tfrecord-*.npz"))
    assert len(converted) == 1
    size = tfrecord.stat().st_size
    assert converted[0].name == (
        f"tfrecord-v{nb101.table_file.TABLE_FORMAT}-{size}-{openers.file_sha256(tfrecord)}.npz"
    )
    assert isinstance(first.backend, TabularBenchmark)
    assert first.backend.path == converted[0]

    # the same bytes elsewhere: loaded from the cache, never converted again
    copy = tmp_path / "renamed.tfrecord"
    shutil.copyfile(tfrecord, copy)

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again")

    monkeypatch.setattr(nb101.convert, "convert_tfrecord", no_conversion)
    again = api.NASBench(copy, seed=0)
    assert again.backend.path == converted[0]
    assert (
        again.get_metrics_from_hash(INCEPTION_HASH)[1]
        == first.get_metrics_from_hash(INCEPTION_HASH)[1]
    )

    # a cached table that does not load is converted again (with a warning)
    monkeypatch.undo()
    converted[0].write_bytes(b"PK\x03\x04 not a table")
    with caplog.at_level("WARNING", logger="nb101.openers"):
        rebuilt = api.NASBench(str(tfrecord))
    assert "converting again" in caplog.text
    assert len(rebuilt.hash_iterator()) == 4


def test_a_table_file_opens_directly(tfrecord, cache):
    table = api.NASBench(str(tfrecord)).backend.path
    nasbench = api.NASBench(table, seed=1)
    assert isinstance(nasbench.backend, TabularBenchmark)
    assert nasbench.valid_epochs == set(EPOCHS)


def test_an_opened_benchmark_object_is_accepted(tfrecord, cache):
    table = TabularBenchmark(api.NASBench(str(tfrecord)).backend.path, seed=0)
    nasbench = api.NASBench(table)
    assert nasbench.backend is table
    with pytest.raises(ValueError, match="seed must be None"):
        api.NASBench(table, seed=0)


def test_unknown_sources_name_what_is_accepted(tmp_path):
    with pytest.raises(FileNotFoundError, match="tfrecord"):
        api.NASBench(tmp_path / "nope.tfrecord.missing")
    junk = tmp_path / "junk.json"
    junk.write_text("{}")
    with pytest.raises(nb101.TableError, match="table file"):
        api.NASBench(junk)


# --------------------------------------------------------------------------- queries
def test_query_returns_the_stored_runs_drawn_as_the_original(nasbench, records, space):
    """seed s draws randint(0, 2) from random.Random(s), as the original's random.seed(s)
    followed by random.randint(0, num_repeats - 1) per query; the global RNG is untouched."""
    index = space.index_of_spec(INCEPTION)
    state = random.getstate()
    nasbench = api.NASBench(nasbench.backend.path, seed=3)
    mirror = random.Random(3)
    for _ in range(40):
        result = nasbench.query(INCEPTION)
        run = records[(index, 108, mirror.randint(0, 2))]
        assert result["test_accuracy"] == run.final_test_accuracy
        assert result["validation_accuracy"] == run.final_validation_accuracy
        assert result["train_accuracy"] == run.final_train_accuracy
        assert result["training_time"] == run.final_training_time
    assert random.getstate() == state
    assert sorted(result) == [
        "module_adjacency",
        "module_operations",
        "test_accuracy",
        "train_accuracy",
        "trainable_parameters",
        "training_time",
        "validation_accuracy",
    ]
    assert result["module_adjacency"].dtype == np.int8
    assert result["module_adjacency"].tolist() == space.spec(index).matrix.tolist()
    assert result["module_operations"] == space.spec(index).ops
    assert result["trainable_parameters"] == 2694282


def test_query_takes_compat_and_project_specs_and_isomorphic_forms(nasbench):
    compat = api.ModelSpec(INCEPTION.original_matrix.tolist(), list(INCEPTION.original_ops))
    project = nb101.ModelSpec(INCEPTION.original_matrix, INCEPTION.original_ops)
    for spec in (compat, project):
        assert nasbench.query(spec)["trainable_parameters"] == 2694282
    # 8 vertices with a dangling one (whose op is never checked) in a bool matrix: the
    # Inception cell after pruning
    old_to_new = [0, 1, 2, 3, 5, 6, 7]
    padded = np.zeros((8, 8), dtype=bool)
    for src, dst in zip(*np.nonzero(INCEPTION.original_matrix)):
        padded[old_to_new[src], old_to_new[dst]] = True
    padded[0, 4] = True
    ops = list(INCEPTION.original_ops)
    ops.insert(4, "conv5x5")
    spec = api.ModelSpec(padded, ops)
    assert spec.matrix.dtype == bool and len(spec.ops) == 7
    assert nasbench.is_valid(spec)
    assert nasbench._hash_spec(spec) == INCEPTION_HASH
    assert nasbench.query(spec)["trainable_parameters"] == 2694282
    assert (
        nasbench.get_metrics_from_spec(spec)[1] == nasbench.get_metrics_from_hash(INCEPTION_HASH)[1]
    )


def test_stop_halfway_and_the_budget_counters(nasbench, records, space):
    index = space.index_of_spec(INCEPTION)
    assert nasbench.get_budget_counters() == (0.0, 0)
    full = nasbench.query(INCEPTION, epochs=36)
    half = nasbench.query(INCEPTION, epochs=36, stop_halfway=True)
    assert full["training_time"] in {records[(index, 36, r)].final_training_time for r in range(3)}
    assert half["training_time"] in {
        records[(index, 36, r)].halfway_training_time for r in range(3)
    }
    spent = full["training_time"] + half["training_time"]
    assert nasbench.get_budget_counters() == (spent, 36 + 18)
    assert (nasbench.training_time_spent, nasbench.total_epochs_spent) == (spent, 54)
    # the getters never charge the budget
    nasbench.get_metrics_from_spec(INCEPTION)
    nasbench.get_metrics_from_hash(INCEPTION_HASH)
    nasbench.is_valid(INCEPTION)
    list(nasbench.hash_iterator())
    assert nasbench.get_budget_counters() == (spent, 54)
    # counters belong to the instance
    other = api.NASBench(nasbench.backend.path)
    assert other.get_budget_counters() == (0.0, 0)
    nasbench.reset_budget_counters()
    assert nasbench.get_budget_counters() == (0.0, 0)
    nasbench.training_time_spent, nasbench.total_epochs_spent = 5.0, 4
    assert nasbench.get_budget_counters() == (5.0, 4)


def test_epochs_are_checked_before_the_spec(nasbench):
    disconnected = api.ModelSpec([[0, 0], [0, 0]], ["input", "output"])
    with pytest.raises(api.OutOfDomainError, match="invalid number of epochs"):
        nasbench.query(disconnected, epochs=100)
    with pytest.raises(api.OutOfDomainError, match="disconnected"):
        nasbench.query(disconnected)


CONV3X3, CONV1X1, MAXPOOL3X3 = nb101.OPS


@pytest.mark.parametrize(
    "matrix, ops, rule",
    [
        ([[0, 0], [0, 0]], ["input", "output"], "disconnected"),
        (
            np.triu(np.ones((8, 8), int), 1) * np.eye(8, k=1, dtype=int),
            ["input"] + [CONV3X3] * 6 + ["output"],
            "too many vertices",
        ),
        (
            np.triu(np.ones((6, 6), int), 1),
            ["input"] + [CONV3X3] * 4 + ["output"],
            "too many edges",
        ),
        ([[0, 1], [0, 0]], ["output", "output"], "first operation should be 'input'"),
        ([[0, 1], [0, 0]], ["input", "input"], "last operation should be 'output'"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"], "unsupported op"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [0, 1, 0], "first operation should be 'input'"),
        ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", 0, "output"], "unsupported op 0"),
        ([[0, 2, 0], [0, 0, 1], [0, 0, 0]], ["input", CONV1X1, "output"], "only 0 and 1"),
    ],
)
def test_every_rule_raises_out_of_domain_and_is_valid_says_false(nasbench, matrix, ops, rule):
    """More than 7 vertices included: the original raised TypeError there."""
    spec = api.ModelSpec(matrix, ops)
    assert not nasbench.is_valid(spec)
    for call in (nasbench.query, nasbench.get_metrics_from_spec, nasbench._check_spec):
        with pytest.raises(api.OutOfDomainError, match=rule):
            call(spec)


def test_is_valid_of_a_spec_in_the_space(nasbench):
    assert nasbench.is_valid(INCEPTION)
    assert nasbench.is_valid(api.ModelSpec([[0, 1], [0, 0]], ["input", "output"]))
    with pytest.raises(TypeError, match="ModelSpec"):
        nasbench.is_valid("not a spec")


# ------------------------------------------------------------------------ statistics
def test_metrics_have_the_original_layout(nasbench, records, space):
    index = space.index_of_spec(INCEPTION)
    fixed, computed = nasbench.get_metrics_from_spec(INCEPTION)
    assert sorted(fixed) == ["module_adjacency", "module_operations", "trainable_parameters"]
    assert fixed["module_adjacency"].dtype == np.int8
    assert all(isinstance(op, str) for op in fixed["module_operations"])
    assert type(fixed["trainable_parameters"]) is int
    assert list(computed) == list(EPOCHS)
    for epochs in EPOCHS:
        assert len(computed[epochs]) == 3
        for repeat, run in enumerate(computed[epochs]):
            assert sorted(run) == sorted(RUN_FIELDS)
            assert all(
                run[name] == getattr(records[(index, epochs, repeat)], name) for name in RUN_FIELDS
            )
    again = nasbench.get_metrics_from_hash(INCEPTION_HASH)
    assert again[1] == computed
    fixed["module_operations"].append("changed")  # copies: the next call is unchanged
    computed[108].clear()
    assert nasbench.get_metrics_from_hash(INCEPTION_HASH)[1][108]


def test_statistics_are_lazy_read_only_mappings(nasbench, space):
    fixed_stats, computed_stats = nasbench.fixed_statistics, nasbench.computed_statistics
    assert isinstance(fixed_stats, Mapping) and isinstance(computed_stats, Mapping)
    assert len(fixed_stats) == len(computed_stats) == 4
    hashes = nasbench.hash_iterator()
    assert isinstance(hashes, KeysView) and len(hashes) == 4
    assert list(hashes) == sorted(hashes) == list(fixed_stats)
    assert INCEPTION_HASH in hashes and INCEPTION_HASH in fixed_stats
    assert fixed_stats[INCEPTION_HASH]["trainable_parameters"] == 2694282
    assert computed_stats[INCEPTION_HASH][4][0]["final_test_accuracy"] is not None
    other = space.hash(1)  # a cell of the space that the table lacks
    assert other not in fixed_stats and "f" * 32 not in fixed_stats and 3 not in fixed_stats
    assert fixed_stats.get(other) is None
    with pytest.raises(TypeError):
        fixed_stats[INCEPTION_HASH] = {}  # read-only


class _ProtocolOnly:
    """A backend with the Benchmark protocol's methods only (no get_fixed_from_hash)."""

    def __init__(self, inner):
        self.valid_epochs = inner.valid_epochs
        for name in (
            "query",
            "query_batch",
            "is_valid",
            "get_budget_counters",
            "reset_budget_counters",
            "hash_iterator",
            "get_metrics_from_hash",
            "get_metrics_from_spec",
        ):
            setattr(self, name, getattr(inner, name))


def test_fixed_statistics_read_no_run(nasbench, space, monkeypatch):
    backend = nasbench.backend
    fixed = backend.get_fixed_from_hash(INCEPTION_HASH)
    expected = nasbench.get_metrics_from_hash(INCEPTION_HASH)[0]
    assert np.array_equal(fixed["module_adjacency"], expected["module_adjacency"])
    assert fixed["module_operations"] == expected["module_operations"]
    assert fixed["trainable_parameters"] == expected["trainable_parameters"]
    monkeypatch.setattr(backend, "get_metrics_from_hash", None)  # any use would fail
    assert nasbench.fixed_statistics[INCEPTION_HASH]["trainable_parameters"] == 2694282
    assert INCEPTION_HASH in nasbench.computed_statistics
    assert "0" * 32 not in nasbench.fixed_statistics
    monkeypatch.undo()
    with pytest.raises(api.OutOfDomainError):
        backend.get_fixed_from_hash("0" * 32)
    with pytest.raises(PartialTableError):
        backend.get_fixed_from_hash(space.hash(1))
    # a backend without it: the fixed half of get_metrics_from_hash
    foreign = api.NASBench(_ProtocolOnly(backend))
    assert foreign.fixed_statistics[INCEPTION_HASH]["trainable_parameters"] == 2694282
    assert space.hash(1) not in foreign.fixed_statistics
    with pytest.raises(api.UnknownHashError):
        foreign.fixed_statistics["0" * 32]
    assert foreign.query(INCEPTION)["trainable_parameters"] == 2694282


def test_unknown_hashes_raise_key_error_as_the_original(nasbench, space):
    with pytest.raises(KeyError) as info:
        nasbench.get_metrics_from_hash("0" * 32)
    assert isinstance(info.value, api.UnknownHashError)
    assert isinstance(info.value, api.OutOfDomainError)
    assert "not a cell of NAS-Bench-101" in str(info.value)
    with pytest.raises(KeyError):  # PartialTableError: a cell the table does not cover
        nasbench.get_metrics_from_hash(space.hash(1))


def test_a_partial_table_lists_no_runs_for_missing_budgets(space, tmp_path):
    """Budgets without runs of a cell are [] (loops over valid_epochs run unchanged);
    a query there raises PartialTableError."""
    inception = space.index_of_spec(INCEPTION)
    path = write_table(
        tmp_path / "partial.npz",
        run_cell=[inception, 0, 0],
        run_epochs=[108, 4, 108],
        run_repeat=[0, 0, 0],
        values={"final_test_accuracy": [0.5, 0.25, 0.75]},
        source={"kind": "test"},
        space=space,
    )
    nasbench = api.NASBench(path, seed=0)
    assert nasbench.valid_epochs == {4, 108}
    fixed, computed = nasbench.get_metrics_from_spec(INCEPTION)
    assert computed[4] == [] and computed[108][0]["final_test_accuracy"] == 0.5
    assert computed[108][0]["final_validation_accuracy"] is None
    result = nasbench.query(INCEPTION)
    assert result["test_accuracy"] == 0.5 and result["training_time"] is None
    assert nasbench.get_budget_counters() == (0.0, 108)
    with pytest.raises(PartialTableError, match="partial"):
        nasbench.query(INCEPTION, epochs=4)


def test_evaluate_is_out_of_scope(nasbench):
    with pytest.raises(NotImplementedError, match="TensorFlow"):
        nasbench.evaluate(INCEPTION, "/tmp/unused")
    assert nasbench.history == {}


# ---------------------------------------------------------------- example.py, unchanged
EXAMPLE = """
INPUT = 'input'
OUTPUT = 'output'
CONV1X1 = 'conv1x1-bn-relu'
CONV3X3 = 'conv3x3-bn-relu'
MAXPOOL3X3 = 'maxpool3x3'


def main(nasbench):
    model_spec = api.ModelSpec(
        matrix=[[0, 1, 1, 1, 0, 1, 0],
                [0, 0, 0, 0, 0, 0, 1],
                [0, 0, 0, 0, 0, 0, 1],
                [0, 0, 0, 0, 1, 0, 0],
                [0, 0, 0, 0, 0, 0, 1],
                [0, 0, 0, 0, 0, 0, 1],
                [0, 0, 0, 0, 0, 0, 0]],
        ops=[INPUT, CONV1X1, CONV3X3, CONV3X3, CONV3X3, MAXPOOL3X3, OUTPUT])

    print('Querying an Inception-like model.')
    data = nasbench.query(model_spec)
    print(data)
    print(nasbench.get_budget_counters())

    print('\\nGetting all metrics for the same Inception-like model.')
    fixed_metrics, computed_metrics = nasbench.get_metrics_from_spec(model_spec)
    print(fixed_metrics)
    for epochs in nasbench.valid_epochs:
        for repeat_index in range(len(computed_metrics[epochs])):
            data_point = computed_metrics[epochs][repeat_index]
            print('Epochs trained %d, repeat number: %d' % (epochs, repeat_index + 1))
            print(data_point)

    print('\\nIterating over unique models in the dataset.')
    for unique_hash in nasbench.hash_iterator():
        fixed_metrics, computed_metrics = nasbench.get_metrics_from_hash(unique_hash)
        print(fixed_metrics)
        break
    return data
"""


def _run_example(nasbench) -> dict:
    namespace = {"api": api}
    exec(compile(EXAMPLE, "example.py", "exec"), namespace)
    return namespace["main"](nasbench)


def test_example_on_a_table(tfrecord, cache, capsys):
    data = _run_example(api.NASBench(str(tfrecord)))
    out = capsys.readouterr().out
    assert "Querying an Inception-like model." in out
    assert f"({data['training_time']}, 108)" in out
    assert out.count("Epochs trained") == 12  # 4 budgets x 3 repeats
    assert "'trainable_parameters': 2694282" in out


def test_example_on_the_real_table(real_data_dir, space, tmp_path_factory, capsys):
    from nb101.real_data import convert_real_data, default_real_table_path

    path = default_real_table_path()
    if not path.is_file():
        path = convert_real_data(
            real_data_dir, tmp_path_factory.mktemp("real") / "real.npz", space=space
        )
    data = _run_example(api.NASBench(path, seed=0))
    assert data["test_accuracy"] == 0.9311898946762085  # the notebook's printed value
    assert data["trainable_parameters"] == 2694282
    out = capsys.readouterr().out
    assert "Epochs trained 108, repeat number: 1" in out


@pytest.fixture(scope="module")
def surrogate_registered():
    from surrogate.opener import open_artifact

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(openers.OPENERS, "surrogate", open_artifact)
        yield


@pytest.mark.parametrize("source", ["surrogate", str(REPO / "surrogate" / "default")])
def test_example_on_the_bundled_surrogate(source, surrogate_registered, capsys):
    from surrogate import SurrogateBenchmark

    nasbench = api.NASBench(source, seed=0)
    assert isinstance(nasbench.backend, SurrogateBenchmark)
    nasbench.backend.full_cache = False  # keep the test fast: predict only the cells asked
    state = random.getstate()
    data = _run_example(nasbench)
    assert random.getstate() == state
    assert data["trainable_parameters"] == 2694282
    assert 0.8 < data["test_accuracy"] < 1.0 and 0.8 < data["validation_accuracy"] < 1.0
    assert data["train_accuracy"] is None  # no such target in the default artifact
    assert nasbench.valid_epochs == {4, 12, 36, 108}
    fixed, computed = nasbench.get_metrics_from_spec(INCEPTION)
    assert computed[108][0]["halfway_validation_accuracy"] is None
    assert computed[36][0]["final_test_accuracy"] is None  # test accuracy only at 108
    assert len(nasbench.fixed_statistics) == 423_624
    assert INCEPTION_HASH in nasbench.fixed_statistics
    again = api.NASBench(source, seed=0)  # same seed, same simulated run
    again.backend.full_cache = False
    assert again.query(INCEPTION)["test_accuracy"] == data["test_accuracy"]
    out = capsys.readouterr().out
    assert out.count("Epochs trained") == 4  # one run of predicted means per budget


def test_the_original_package_layout(tfrecord, cache, tmp_path):
    """A ``nasbench`` package whose modules re-export nb101.compat: unchanged code that
    imports ``from nasbench import api`` and ``from nasbench.lib import ...`` runs."""
    table = api.NASBench(str(tfrecord)).backend.path
    package = tmp_path / "nasbench"
    (package / "lib").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "api.py").write_text(
        "from nb101.compat.api import *  # noqa\n"
        "from nb101.compat.api import ModelSpec, NASBench, "
        "OutOfDomainError  # noqa\n"
    )
    (package / "lib" / "__init__.py").write_text("")
    (package / "lib" / "graph_util.py").write_text("from nb101.compat.graph_util import *\n")
    (package / "lib" / "model_spec.py").write_text("from nb101.compat.model_spec import *\n")
    script = tmp_path / "example.py"
    script.write_text(
        textwrap.dedent("""
        import sys
        import numpy as np
        from nasbench import api
        from nasbench.lib import graph_util, model_spec
        """)
        + EXAMPLE
        + textwrap.dedent(f"""
        data = main(api.NASBench({str(table)!r}, seed=0))
        spec = model_spec.ModelSpec(np.array([[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0],
                                              [0, 0, 0, 0]]), [1, 2, 3, 4])
        assert spec.ops == [1, 2, 4], spec.ops
        assert graph_util.is_full_dag(spec.matrix)
        assert graph_util.num_edges(spec.matrix) == 2
        try:
            api.NASBench({str(table)!r}).query(spec)
        except api.OutOfDomainError as exc:
            print("rejected:", exc)
        print("surrogate imported:", "surrogate" in sys.modules)
        """)
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**_env(), "PYTHONPATH": f"{tmp_path}:{REPO}"},
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Querying an Inception-like model." in done.stdout
    assert "rejected: first operation should be 'input', got 1" in done.stdout
    assert "surrogate imported: False" in done.stdout  # a table never loads the surrogate


def _env() -> dict:
    import os

    return {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
