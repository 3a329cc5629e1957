"""The table file, the TFRecord conversion and TabularBenchmark on a small official-style file."""

from __future__ import annotations

import copy
import json
import zipfile

import numpy as np
import pytest
from _specs import INCEPTION

from nb101 import ModelSpec, OutOfDomainError, PartialTableError, TableError
from nb101.api import METRICS, RUN_FIELDS, Benchmark
from nb101.cli import main
from nb101.convert import convert_tfrecord
from nb101.model_spec import trainable_parameters
from nb101.run_records import Run, write_runs
from nb101.table import TabularBenchmark
from nb101.table_file import TABLE_FORMAT, load_table, write_table

EPOCHS = (4, 12, 36, 108)


def _value(rng) -> float:
    return float(np.float32(rng.integers(1000, 9984) / 9984))


def _time(rng) -> float:
    return float(np.float32(rng.uniform(10, 3000)))


@pytest.fixture(scope="module")
def records(space):
    """(cell index, epochs, repeat) -> Run for 5 cells x 4 budgets x 3 repeats."""
    rng = np.random.default_rng(0)
    cells = [space.index_of_spec(INCEPTION), 0, 1, 1000, len(space) - 1]
    out = {}
    for index in cells:
        spec = space.spec(index)
        for epochs in EPOCHS:
            for repeat in range(3):
                fields = {f"{w}_{m}": (_time(rng) if m == "training_time" else _value(rng))
                          for w in ("halfway", "final") for m in METRICS}
                if index == 1 and epochs == 108 and repeat == 2:
                    fields["final_validation_accuracy"] = None  # a missing field
                out[(index, epochs, repeat)] = Run(
                    module_hash=space.hash(index), epochs=epochs, adjacency=spec.matrix,
                    operations=spec.ops, trainable_parameters=trainable_parameters(spec),
                    total_time=1.0, **fields)
    return out


@pytest.fixture(scope="module")
def table_path(records, tmp_path_factory):
    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(1)
    keys = list(records)
    # interleave the cells but keep the repeat order within each (hash, epochs)
    order = sorted(range(len(keys)), key=lambda i: (keys[i][2], rng.random()))
    write_runs(folder / "mini.tfrecord", [records[keys[i]] for i in order])
    return convert_tfrecord(folder / "mini.tfrecord", folder / "mini.npz", progress=False)


@pytest.fixture()
def bench(table_path):
    return TabularBenchmark(table_path, seed=0)


def test_protocol_and_epochs(bench):
    assert isinstance(bench, Benchmark)
    assert bench.valid_epochs == frozenset(EPOCHS)
    assert load_table(bench.path).num_runs == 60


def test_query_returns_exact_values(bench, records, space):
    index = space.index_of_spec(INCEPTION)
    repeats = [records[(index, 108, r)] for r in range(3)]
    seen = set()
    for _ in range(60):
        result = bench.query(INCEPTION)
        match = [r for r in range(3) if repeats[r].final_test_accuracy == result["test_accuracy"]]
        assert len(match) == 1
        run = repeats[match[0]]
        for m in METRICS:
            assert result[m] == getattr(run, f"final_{m}")
            assert type(result[m]) is float
        seen.add(match[0])
    assert seen == {0, 1, 2}
    assert result["trainable_parameters"] == 2694282
    assert result["module_operations"] == space.spec(index).ops
    assert result["module_adjacency"].dtype == np.int8


def test_seeded_reproducible(table_path):
    a, b = TabularBenchmark(table_path, seed=3), TabularBenchmark(table_path, seed=3)
    seq_a = [a.query(INCEPTION, 36)["test_accuracy"] for _ in range(20)]
    seq_b = [b.query(INCEPTION, 36)["test_accuracy"] for _ in range(20)]
    assert seq_a == seq_b
    batch_a = a.query_batch(np.array([0, 1, 1000] * 10))["test_accuracy"]
    batch_b = b.query_batch(np.array([0, 1, 1000] * 10))["test_accuracy"]
    np.testing.assert_array_equal(batch_a, batch_b)


def test_stop_halfway_and_budget(bench, records, space):
    index = space.index_of_spec(INCEPTION)
    result = bench.query(INCEPTION, epochs=12, stop_halfway=True)
    halfway = [records[(index, 12, r)] for r in range(3)]
    run = next(r for r in halfway if r.halfway_test_accuracy == result["test_accuracy"])
    for m in METRICS:
        assert result[m] == getattr(run, f"halfway_{m}")
    assert bench.get_budget_counters() == (run.halfway_training_time, 6)
    second = bench.query(INCEPTION, epochs=4)
    assert bench.get_budget_counters() == (run.halfway_training_time + second["training_time"],
                                           10)
    bench.reset_budget_counters()
    assert bench.get_budget_counters() == (0.0, 0)


def test_isomorphic_spec_same_cell(bench, space):
    perm = [0, 2, 1, 3, 4, 5, 6]  # swap two parallel branches (different ops)
    matrix = INCEPTION.matrix
    inverse = np.argsort(perm)
    permuted = matrix[np.ix_(inverse, inverse)]
    ops = [INCEPTION.ops[i] for i in inverse]
    spec = ModelSpec(permuted, ops)
    assert spec.ops != INCEPTION.ops
    assert space.index_of_spec(spec) == space.index_of_spec(INCEPTION)
    a = TabularBenchmark(bench.path, seed=5).query(spec)
    b = TabularBenchmark(bench.path, seed=5).query(INCEPTION)
    assert a["test_accuracy"] == b["test_accuracy"]


def test_out_of_domain_epochs_before_spec(bench):
    bad_spec = ModelSpec([[0, 0], [0, 0]], ["input", "output"])  # disconnected
    with pytest.raises(OutOfDomainError, match="epochs"):
        bench.query(bad_spec, epochs=50)
    with pytest.raises(OutOfDomainError, match="disconnected"):
        bench.query(bad_spec)
    with pytest.raises(OutOfDomainError):
        bench.query_batch(np.array([0]), epochs=7)


def test_partial_table(bench, space):
    missing = space.spec(2)
    with pytest.raises(PartialTableError, match="partial") as info:
        bench.query(missing, epochs=36)
    message = str(info.value)
    assert space.hash(2) in message and "36 epochs" in message and "5 of 423624" in message
    with pytest.raises(PartialTableError, match="partial"):
        bench.query_batch(np.array([0, 2]))
    with pytest.raises(PartialTableError):
        bench.get_metrics_from_hash(space.hash(2))
    assert bench.get_budget_counters() == (0.0, 0)


def test_getters_deep_copies_no_budget(bench, records, space):
    h = space.hash(1000)
    fixed, computed = bench.get_metrics_from_hash(h)
    assert sorted(computed) == list(EPOCHS)
    for e in EPOCHS:
        assert len(computed[e]) == 3
        for r, run in enumerate(computed[e]):
            assert run == {name: getattr(records[(1000, e, r)], name) for name in RUN_FIELDS}
    assert fixed["trainable_parameters"] == trainable_parameters(space.spec(1000))
    assert fixed["module_adjacency"].dtype == np.int8
    np.testing.assert_array_equal(fixed["module_adjacency"], space.spec(1000).matrix)
    original = copy.deepcopy((fixed, computed))
    fixed["module_adjacency"][0, 1] = 7
    fixed["module_operations"].append("x")
    computed[4][0]["final_test_accuracy"] = -1.0
    again = bench.get_metrics_from_hash(h)
    np.testing.assert_array_equal(again[0]["module_adjacency"], original[0]["module_adjacency"])
    assert again[0]["module_operations"] == original[0]["module_operations"]
    assert again[1] == original[1]
    spec_fixed, spec_computed = bench.get_metrics_from_spec(space.spec(1000))
    assert spec_computed == original[1]
    assert bench.get_budget_counters() == (0.0, 0)
    with pytest.raises(OutOfDomainError):
        bench.get_metrics_from_hash("0" * 32)


def test_query_result_is_a_copy(bench):
    first = bench.query(INCEPTION)
    first["module_adjacency"][0, 1] = 5
    first["module_operations"][1] = "x"
    second = bench.query(INCEPTION)
    assert second["module_adjacency"][0, 1] == 1
    assert second["module_operations"][1] != "x"


def test_query_batch_fills_a_field_the_drawn_run_lacks(bench, records, space):
    cells = np.array([1] * 200 + [0, 1000])
    out = bench.query_batch(cells)
    values = out["validation_accuracy"][:200]
    having = [records[(1, 108, r)].final_validation_accuracy for r in range(2)]  # not repeat 2
    assert not np.isnan(values).any() and set(values.tolist()) == set(having)
    tests = out["test_accuracy"][:200]
    for r in range(3):  # repeat r drawn: its own value, else the (r mod 2)-th of those having it
        drawn = tests == records[(1, 108, r)].final_test_accuracy
        assert drawn.any()
        np.testing.assert_array_equal(values[drawn], having[r] if r < 2 else having[r % 2])
    np.testing.assert_array_equal(out["index"], cells)
    np.testing.assert_array_equal(out["trainable_parameters"],
                                  space.parameters(cells).astype(float))
    spent = sum(out["training_time"])
    assert bench.get_budget_counters() == (pytest.approx(spent), 108 * 202)
    by_hash = bench.query_batch([space.hash(0)], epochs=4, stop_halfway=True)
    assert by_hash["test_accuracy"][0] in {records[(0, 4, r)].halfway_test_accuracy
                                           for r in range(3)}
    # a single query does the same
    spec = space.spec(1)
    for _ in range(60):
        result = bench.query(spec)
        r = next(r for r in range(3)
                 if records[(1, 108, r)].final_test_accuracy == result["test_accuracy"])
        assert result["validation_accuracy"] == having[r % 2]
        assert result["training_time"] == records[(1, 108, r)].final_training_time
    # the getters list the stored runs as they are
    assert bench.get_metrics_from_hash(space.hash(1))[1][108][2][
        "final_validation_accuracy"] is None


def test_complete_table_answers_from_the_drawn_run(table_path, records, space):
    """Every field of a result comes from the one run drawn by randint(0, n - 1)."""
    import random
    bench = TabularBenchmark(table_path, seed=7)
    rng = random.Random(7)
    for index in (space.index_of_spec(INCEPTION), 0, 1000):
        for epochs in EPOCHS:
            for halfway in (False, True):
                result = bench.query(space.spec(index), epochs, stop_halfway=halfway)
                run = records[(index, epochs, rng.randint(0, 2))]
                when = "halfway" if halfway else "final"
                assert {m: result[m] for m in METRICS} == {
                    m: getattr(run, f"{when}_{m}") for m in METRICS}
    batch = bench.query_batch(np.array([0, 1000] * 50), epochs=36)
    runs = {index: [tuple(getattr(records[(index, 36, r)], f"final_{m}") for m in METRICS)
                    for r in range(3)] for index in (0, 1000)}
    for i, index in enumerate(batch["index"].tolist()):
        assert tuple(batch[m][i] for m in METRICS) in runs[index]


def test_require_hides_runs(table_path, records):
    bench = TabularBenchmark(table_path, seed=0, require=("validation_accuracy",))
    values = bench.query_batch(np.array([1] * 200))["validation_accuracy"]
    assert not np.isnan(values).any()
    _, computed = bench.get_metrics_from_hash(bench.space.hash(1))
    assert len(computed[108]) == 3  # the run has a halfway validation accuracy
    strict = TabularBenchmark(table_path, seed=0, require=("final_validation_accuracy",))
    assert len(strict.get_metrics_from_hash(bench.space.hash(1))[1][108]) == 2
    with pytest.raises(ValueError, match="unknown metric"):
        TabularBenchmark(table_path, require=("accuracy",))


def test_coverage_and_summary(bench, space):
    expected = sorted([0, 1, 1000, len(space) - 1, space.index_of_spec(INCEPTION)])
    assert bench.covered_indices().tolist() == expected
    assert bench.covered_indices(epochs=4).tolist() == expected
    assert list(bench.hash_iterator()) == [space.hash(i) for i in expected]
    summary = bench.summary()
    assert summary["cells"] == 5 and summary["partial"]
    at108 = summary["epochs"][108]
    assert at108["runs"] == 15 and at108["cells"] == 5 and at108["runs_per_cell"] == {3: 5}
    assert at108["repeats"] == {0: 5, 1: 5, 2: 5}
    assert at108["fields"]["final_validation_accuracy"] == 14
    assert at108["cells_with_field"]["final_validation_accuracy"] == 5  # no field is partial
    assert at108["partial_fields"] == []
    assert summary["source"]["records"] == 60
    assert "r mod k" in summary["query_rule"]
    json.dumps(summary)  # JSON-ready


def test_summary_shows_what_is_partial(tmp_path, space, capsys):
    path = write_table(tmp_path / "p.npz", run_cell=[5, 5, 6, 7], run_epochs=[108] * 4,
                       run_repeat=[0, -1, 0, 0],
                       values={"final_test_accuracy": [0.5, None, 0.25, 0.75],
                               "final_validation_accuracy": [None, 0.5, None, None]},
                       source={"kind": "test"})
    summary = TabularBenchmark(path).summary()
    at108 = summary["epochs"][108]
    assert at108["runs_per_cell"] == {1: 2, 2: 1}
    assert at108["cells_with_field"] == {"final_validation_accuracy": 1, "final_test_accuracy": 3}
    assert at108["partial_fields"] == ["final_validation_accuracy"]
    assert main(["summary", str(path)]) == 0
    text = capsys.readouterr().out
    assert "PARTIAL" in text and "partial: 1 of the 3 cells" in text
    assert "1 run: 2 cells, 2 runs: 1 cell" in text and "query rule:" in text
    assert main(["summary", "--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["epochs"]["108"]["partial_fields"] == [
        "final_validation_accuracy"]
    result = TabularBenchmark(path, seed=0).query(space.spec(5))
    assert (result["test_accuracy"], result["validation_accuracy"]) == (0.5, 0.5)


def test_write_table_rules(tmp_path, space):
    path = tmp_path / "t.npz"
    write_table(path, run_cell=[5, 5, 3], run_epochs=[108, 108, 4], run_repeat=[-1, -1, 0],
                values={"final_test_accuracy": [0.5, 0.25, None]}, source={"kind": "test"})
    bench = TabularBenchmark(path, seed=0)
    assert bench.valid_epochs == {4, 108}
    assert bench.covered_indices(108).tolist() == [5]
    with pytest.raises(PartialTableError, match="partial"):
        bench.query(space.spec(3), epochs=108)
    write_table(path, run_cell=[5, 6], run_epochs=[108, 108], run_repeat=[0, 0],
                values={"final_test_accuracy": [0.1, 0.5],
                        "final_validation_accuracy": [0.5, 0.25]},
                source={})
    runs = load_table(path).runs
    assert runs["final_test_accuracy"].dtype == np.float64  # 0.1 is no float32
    assert runs["final_test_accuracy"].tolist() == [0.1, 0.5]
    assert runs["final_validation_accuracy"].dtype == np.float32  # exact in float32
    with pytest.raises(TableError, match="share repeat"):
        write_table(path, run_cell=[5, 5], run_epochs=[108, 108], run_repeat=[1, 1],
                    values={}, source={})


def _rewrite(src, dst, **changes):
    with np.load(src, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    np.savez(dst, **arrays)


def test_corrupt_and_foreign_files(table_path, tmp_path):
    cases = {}
    cases["missing"] = tmp_path / "nope.npz"
    cases["directory"] = tmp_path
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"\x00\x01not a zip at all" * 100)
    cases["garbage"] = garbage
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(table_path.read_bytes()[:5000])
    cases["truncated"] = truncated
    npy = tmp_path / "plain.npy"
    np.save(npy, np.arange(3))
    cases["npy"] = npy
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, a=np.arange(3))
    cases["foreign"] = foreign
    version = tmp_path / "version.npz"
    _rewrite(table_path, version, format=np.array(TABLE_FORMAT + 1))
    cases["version"] = version
    missing_array = tmp_path / "missing_array.npz"
    _rewrite(table_path, missing_array, run_start=None)
    cases["missing_array"] = missing_array
    bad_offsets = tmp_path / "bad_offsets.npz"
    with np.load(table_path) as data:
        starts = data["run_start"].copy()
    starts[3] += 1
    _rewrite(table_path, bad_offsets, run_start=starts)
    cases["bad_offsets"] = bad_offsets
    compressed = tmp_path / "compressed.npz"
    with np.load(table_path) as data:
        np.savez_compressed(compressed, **{k: data[k] for k in data.files})
    cases["compressed"] = compressed
    flipped = tmp_path / "flipped.npz"  # one byte of array data changed: the zip CRC says so
    data = bytearray(table_path.read_bytes())
    with zipfile.ZipFile(table_path) as archive:
        member = archive.getinfo("run_cell.npy")
    data[member.header_offset + 30 + len(member.filename) + 200] ^= 0xFF
    flipped.write_bytes(bytes(data))
    cases["flipped"] = flipped
    for name, path in cases.items():
        with pytest.raises(TableError) as info:
            TabularBenchmark(path)
        assert str(path) in str(info.value), name
    with pytest.raises(TableError, match="array 'run_cell' fails its CRC-32 checksum"):
        TabularBenchmark(flipped)
    assert zipfile.is_zipfile(table_path)


def _data_offset(path, name: str) -> int:
    """Offset in the file of the first data byte of array ``name`` (after the zip local
    header and the .npy header)."""
    with zipfile.ZipFile(path) as archive:
        member = archive.getinfo(f"{name}.npy")
        with archive.open(member) as fh:
            version = np.lib.format.read_magic(fh)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            read_header(fh)
            npy_header = fh.tell()
    with open(path, "rb") as fh:
        fh.seek(member.header_offset)
        local = fh.read(30)
    name_len = int.from_bytes(local[26:28], "little")
    extra_len = int.from_bytes(local[28:30], "little")
    return member.header_offset + 30 + name_len + extra_len + npy_header


def test_checksum_names_the_corrupt_array(table_path, tmp_path):
    """4 bytes overwritten inside final_test_accuracy (its CRC-32 left stale) are caught."""
    corrupt = tmp_path / "corrupt.npz"
    data = bytearray(table_path.read_bytes())
    offset = _data_offset(table_path, "final_test_accuracy") + 8  # inside the third value
    original = bytes(data[offset:offset + 4])
    data[offset:offset + 4] = np.float32(0.5).tobytes() if original != np.float32(
        0.5).tobytes() else np.float32(0.25).tobytes()  # a plausible accuracy, not garbage
    corrupt.write_bytes(bytes(data))
    with pytest.raises(TableError, match="array 'final_test_accuracy' fails its CRC-32") as info:
        load_table(corrupt)
    assert str(corrupt) in str(info.value)
    load_table(table_path)  # the original is intact


@pytest.mark.parametrize("name, value", [("final_test_accuracy", 1.5),
                                         ("halfway_validation_accuracy", -0.25),
                                         ("final_training_time", -3.0),
                                         ("final_training_time", np.inf)])
def test_value_ranges_at_write_and_load(table_path, tmp_path, name, value):
    path = tmp_path / "bad.npz"
    with pytest.raises(TableError) as info:  # write: the destination, the field, the value
        write_table(path, run_cell=[5, 6], run_epochs=[108, 108], run_repeat=[0, 0],
                    values={name: [0.5, value]}, source={})
    assert str(path) in str(info.value) and repr(name) in str(info.value)
    assert repr(float(value)) in str(info.value) and "run 1" in str(info.value)
    assert not path.exists()
    with np.load(table_path) as data:  # load: a file written by another writer
        column = data[name].copy()
    column[2] = value
    _rewrite(table_path, path, **{name: column})
    with pytest.raises(TableError, match=rf"{path}: array '{name}' holds {value!r} \(run 2\)"):
        load_table(path)


def test_missing_values_are_allowed(tmp_path, space):
    path = write_table(tmp_path / "t.npz", run_cell=[5, 6], run_epochs=[108, 108],
                       run_repeat=[0, 0], values={"final_test_accuracy": [np.nan, 1.0],
                                                  "final_training_time": [0.0, None]},
                       source={})
    assert np.isnan(load_table(path).runs["final_test_accuracy"][0])


def test_convert_keeps_doubles_that_are_no_float32(tmp_path, space):
    """Writers other than the official one store doubles such as 0.1: kept exactly."""
    runs = []
    for index, (test, time) in enumerate([(0.1, 1234.5678901234), (0.5, 10.0)]):
        spec = space.spec(index)
        runs.append(Run(module_hash=space.hash(index), epochs=108, adjacency=spec.matrix,
                        operations=spec.ops, final_test_accuracy=test,
                        final_validation_accuracy=0.75, final_training_time=time))
    write_runs(tmp_path / "doubles.tfrecord", runs)
    path = convert_tfrecord(tmp_path / "doubles.tfrecord", tmp_path / "doubles.npz",
                            progress=False)
    table = load_table(path)
    assert table.runs["final_test_accuracy"].dtype == np.float64
    assert table.runs["final_training_time"].dtype == np.float64
    assert table.runs["final_validation_accuracy"].dtype == np.float32
    bench = TabularBenchmark(path, seed=0)
    result = bench.query(space.spec(0))
    assert result["test_accuracy"] == 0.1 and result["training_time"] == 1234.5678901234
    batch = bench.query_batch(np.array([0, 1]))
    assert batch["test_accuracy"].tolist() == [0.1, 0.5]
    assert bench.get_metrics_from_hash(space.hash(0))[1][108][0]["final_test_accuracy"] == 0.1


def test_fixed_statistics_are_the_stored_graph(table_path, tmp_path, space):
    """query and the getters return the table's stored graph (looked up in the space's
    tables, or decoded from its bits when it is no pruned cell) and parameter count."""
    from nb101.model_spec import matrix_from_bits
    bench = TabularBenchmark(table_path)
    for index in bench.covered_indices().tolist():
        fixed = bench.get_fixed_from_hash(space.hash(index))
        matrix, ops = space.graph(index)
        np.testing.assert_array_equal(fixed["module_adjacency"], matrix)
        assert fixed["module_adjacency"].dtype == matrix.dtype
        assert fixed["module_operations"] == ops
        assert fixed["trainable_parameters"] == int(space.parameters()[index])
    # a stored graph outside the space's tables: vertex 1 of 0->2 is cut off (not pruned)
    path = write_table(tmp_path / "odd.npz", run_cell=[7], run_epochs=[108], run_repeat=[0],
                       values={"final_test_accuracy": [0.5]}, source={},
                       graphs=([7], [3], [1 << 1], [2]), space=space)
    fixed = TabularBenchmark(path).get_fixed_from_hash(space.hash(7))
    np.testing.assert_array_equal(fixed["module_adjacency"], matrix_from_bits(2, 3))
    assert fixed["module_operations"] == ["input", "maxpool3x3", "output"]


def test_convert_rejects_unknown_hash(tmp_path, space):
    spec = space.spec(0)
    run = Run(module_hash="f" * 32, epochs=108, adjacency=spec.matrix, operations=spec.ops,
              final_test_accuracy=0.5)
    write_runs(tmp_path / "bad.tfrecord", [run])
    with pytest.raises(Exception, match="not a cell of NAS-Bench-101"):
        convert_tfrecord(tmp_path / "bad.tfrecord", tmp_path / "bad.npz", progress=False)
    assert not (tmp_path / "bad.npz").exists()


def test_cli_convert_and_summary(records, tmp_path, capsys):
    write_runs(tmp_path / "cli.tfrecord", list(records.values())[:12])
    assert main(["convert", "--tfrecord", str(tmp_path / "cli.tfrecord"),
                 "--out", str(tmp_path / "cli.npz"), "--no-progress"]) == 0
    assert main(["summary", str(tmp_path / "cli.npz")]) == 0
    out = capsys.readouterr().out
    assert "cells: 1 of the space's 423,624 (partial" in out


def test_convert_keeps_stored_graph_and_checks_it(tmp_path, space):
    index = space.index_of_spec(INCEPTION)
    run = Run(module_hash=space.hash(index), epochs=108, adjacency=INCEPTION.matrix,
              operations=INCEPTION.ops, final_test_accuracy=0.5)  # isomorphic, not canonical
    write_runs(tmp_path / "iso.tfrecord", [run])
    path = convert_tfrecord(tmp_path / "iso.tfrecord", tmp_path / "iso.npz", progress=False)
    fixed, computed = TabularBenchmark(path).get_metrics_from_hash(space.hash(index))
    assert fixed["module_operations"] == INCEPTION.ops
    assert fixed["trainable_parameters"] == 2694282  # absent from the record: exact formula
    assert computed == {108: [dict.fromkeys(RUN_FIELDS) | {"final_test_accuracy": 0.5}]}
    other = space.spec(0)
    wrong = Run(module_hash=space.hash(index), epochs=108, adjacency=other.matrix,
                operations=other.ops)
    write_runs(tmp_path / "wrong.tfrecord", [wrong])
    with pytest.raises(Exception, match="not a pruned graph of the cell"):
        convert_tfrecord(tmp_path / "wrong.tfrecord", tmp_path / "wrong.npz", progress=False)


# ------------------------------------------- the query rule on partial groups (fast path)
@pytest.fixture(scope="module")
def ragged_table(space, tmp_path_factory):
    """Cells with 1-4 runs per budget (known and unknown repeats) and fields missing at
    random, some in every run of a group."""
    rng = np.random.default_rng(11)
    cells, epochs, repeats = [], [], []
    for cell in rng.choice(len(space), 60, replace=False).tolist():
        for budget in (12, 108):
            k = int(rng.integers(1, 5))
            known = rng.permutation(3)[:min(k, int(rng.integers(0, 4)))].tolist()
            for repeat in known + [-1] * (k - len(known)):
                cells.append(cell)
                epochs.append(budget)
                repeats.append(repeat)
    values = {}
    for name in RUN_FIELDS:
        column = np.array([_time(rng) if "time" in name else _value(rng) for _ in cells])
        column[rng.random(len(cells)) < 0.4] = np.nan
        values[name] = column
    path = tmp_path_factory.mktemp("ragged") / "ragged.npz"
    return write_table(path, run_cell=cells, run_epochs=epochs, run_repeat=repeats,
                       values=values, source={"kind": "test"}, space=space)


def _by_rule(runs: list[dict], r: int, when: str) -> dict:
    """The module docstring's rule: run r's fields, else the (r mod k)-th run having one."""
    out = {}
    for m in METRICS:
        have = [run[f"{when}_{m}"] for run in runs if run[f"{when}_{m}"] is not None]
        own = runs[r][f"{when}_{m}"]
        out[m] = own if own is not None else (have[r % len(have)] if have else None)
    return out


@pytest.mark.parametrize("require", [None, ("validation_accuracy",), ("final_training_time",)])
def test_single_and_batch_queries_follow_the_rule(ragged_table, space, require):
    import random
    bench = TabularBenchmark(ragged_table, seed=3, require=require)
    draws = random.Random(3)
    reference = TabularBenchmark(ragged_table, require=require)  # the getters' run lists
    checked = 0
    for halfway in (False, True):
        when = "halfway" if halfway else "final"
        cells = bench.covered_indices(108, stop_halfway=halfway).tolist()
        for index in cells:
            runs = [run for run in reference.get_metrics_from_hash(space.hash(index))[1][108]
                    if not require or all(run[name if name in RUN_FIELDS else f"{when}_{name}"]
                                          is not None for name in require)]
            expected = _by_rule(runs, draws.randint(0, len(runs) - 1), when)
            got = bench.query(space.spec(index), 108, stop_halfway=halfway)
            assert {m: got[m] for m in METRICS} == expected
            checked += 1
        # the batch path: the same rule on draws from a generator seeded by the benchmark's
        batch = bench.query_batch(np.array(cells), 108, stop_halfway=halfway)
        generator = np.random.default_rng(draws.getrandbits(64))
        counts = []
        for index in cells:
            runs = reference.get_metrics_from_hash(space.hash(index))[1][108]
            counts.append(len([run for run in runs if not require or all(
                run[name if name in RUN_FIELDS else f"{when}_{name}"] is not None
                for name in require)]))
        drawn = (generator.random(len(cells)) * np.array(counts)).astype(np.int64)
        for i, index in enumerate(cells):
            runs = [run for run in reference.get_metrics_from_hash(space.hash(index))[1][108]
                    if not require or all(run[name if name in RUN_FIELDS else f"{when}_{name}"]
                                          is not None for name in require)]
            expected = _by_rule(runs, int(drawn[i]), when)
            for m in METRICS:
                value = batch[m][i]
                assert (None if np.isnan(value) else value) == expected[m]
    assert checked > 50


def test_single_queries_of_a_fresh_instance_build_no_table_wide_arrays(table_path, space):
    cells = TabularBenchmark(table_path).covered_indices().tolist()
    bench = TabularBenchmark(table_path, seed=0)
    for index in cells:
        for halfway in (False, True):
            bench.query(space.spec(index), 108, stop_halfway=halfway)
    assert bench._views == {} and bench._masks == {}


def test_a_missing_training_time_charges_zero_seconds(space, tmp_path):
    """The original adds the returned training time to the budget; a run without one (the
    real data's exhaustive test accuracies) charges 0 s, and the epochs as usual."""
    path = write_table(tmp_path / "t.npz", run_cell=[0, 1], run_epochs=[108, 108],
                       run_repeat=[0, 0], values={"final_test_accuracy": [0.5, 0.6],
                                                  "final_training_time": [np.nan, 100.0]},
                       source={"kind": "test"}, space=space)
    bench = TabularBenchmark(path, seed=0)
    assert bench.query(space.spec(0))["training_time"] is None
    assert bench.get_budget_counters() == (0.0, 108)
    assert bench.query(space.spec(1), stop_halfway=True)["training_time"] is None
    assert bench.get_budget_counters() == (0.0, 162)
    bench.query(space.spec(1))
    assert bench.get_budget_counters() == (100.0, 270)
    out = bench.query_batch(np.array([0, 1]))
    assert np.isnan(out["training_time"][0])
    assert bench.get_budget_counters() == (200.0, 486)
