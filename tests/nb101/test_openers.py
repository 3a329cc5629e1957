"""``nb101.openers``: openers by path or name, entry-point discovery, the surrogate's opener,
and the layering rule (the exact layer never imports the layers above it)."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from importlib.metadata import EntryPoint
from pathlib import Path

import numpy as np
import pytest

import nb101
from nb101 import ArtifactError, TableError, openers, write_table
from nb101.tabular_benchmark import TabularBenchmark

REPO = Path(__file__).resolve().parents[2]
#: package -> the packages above it, which it must never import
LAYERS = {
    "nb101": ("features", "surrogate", "eval", "train_surrogate"),
    "features": ("surrogate", "eval", "train_surrogate"),
    "surrogate": ("eval", "train_surrogate"),
}


@pytest.fixture()
def registry(monkeypatch):
    """A fresh opener registry (built-ins only; entry points not loaded yet)."""
    monkeypatch.setattr(
        openers, "OPENERS", {"table": openers.open_table, "tfrecord": openers.open_tfrecord}
    )
    monkeypatch.setattr(openers, "_plugins_loaded", False)
    return openers.OPENERS


@pytest.fixture(scope="module")
def table_file(space, tmp_path_factory) -> Path:
    return write_table(
        tmp_path_factory.mktemp("table") / "t.npz",
        run_cell=[0, 5],
        run_epochs=[108, 108],
        run_repeat=[0, 0],
        values={"final_test_accuracy": [0.5, 0.75]},
        source={"kind": "test"},
        space=space,
    )


def _entry_points(*entries):
    def fake(group=None):
        return [e for e in entries if e.group == group]

    return fake


# ----------------------------------------------------------------------------- openers
def test_a_table_file_opens_as_a_tabular_benchmark(registry, table_file):
    bench = openers.open_benchmark(table_file, seed=0)
    assert isinstance(bench, TabularBenchmark) and bench.path == table_file
    assert openers.open_table(str(table_file)).valid_epochs == {108}


def test_files_that_are_no_source_raise_typed_errors(registry, tmp_path):
    not_a_table = tmp_path / "other.zip"
    with open(not_a_table, "wb") as fh:
        np.savez(fh, x=np.zeros(3))
    with pytest.raises(TableError, match="not a valid table file"):
        openers.open_benchmark(not_a_table)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(TableError, match="cannot open"):
        openers.open_benchmark(text)
    with pytest.raises(TableError, match="cannot open"):
        openers.open_benchmark(tmp_path)  # a folder no opener claims
    with pytest.raises(FileNotFoundError, match="no such file"):
        openers.open_benchmark(tmp_path / "missing.npz")
    with pytest.raises(FileNotFoundError, match="registered openers"):
        openers.open_benchmark("no-such-name")


def test_a_broken_tfrecord_raises_record_error(registry, tmp_path, monkeypatch):
    monkeypatch.setattr(openers, "cache_folder", lambda: tmp_path / "cache")
    broken = tmp_path / "broken.tfrecord"
    broken.write_bytes(b"\x05" * 20)
    with pytest.raises(nb101.RecordError):
        openers.open_benchmark(broken)


def test_a_tfrecord_is_recognised_by_its_framing(registry, tmp_path, monkeypatch, space):
    from nb101.run_records import Run, write_runs

    monkeypatch.setattr(openers, "cache_folder", lambda: tmp_path / "cache")
    spec = space.spec(3)
    path = tmp_path / "no_suffix.bin"
    write_runs(
        path,
        [
            Run(
                module_hash=space.hash(3),
                epochs=108,
                adjacency=spec.matrix,
                operations=spec.ops,
                final_test_accuracy=0.5,
            )
        ],
    )
    bench = openers.open_benchmark(path, seed=0)
    assert bench.get_metrics_from_hash(space.hash(3))[1][108][0]["final_test_accuracy"] == 0.5
    assert bench.path.parent == tmp_path / "cache"


def test_registered_openers_come_after_the_built_in_ones(registry, table_file):
    seen = []

    def opener(source, seed):
        seen.append(source)
        return "opened" if source == "mine" else None

    openers.register_opener("mine", opener)
    assert openers.open_benchmark("mine", seed=1) == "opened"
    assert isinstance(openers.open_benchmark(table_file), TabularBenchmark)
    assert seen == ["mine"]  # the table never reached it
    with pytest.raises(TypeError, match="callable"):
        openers.register_opener("bad", "not callable")


def test_entry_points_are_loaded_on_first_need(registry, table_file, monkeypatch):
    entry = EntryPoint(
        name="surrogate", value="surrogate.opener:open_artifact", group=openers.OPENER_GROUP
    )
    other = EntryPoint(name="x", value="nowhere:nothing", group="another.group")
    monkeypatch.setattr("importlib.metadata.entry_points", _entry_points(entry, other))
    openers.open_benchmark(table_file)
    assert "surrogate" not in openers.OPENERS  # a table needs no plugin
    from surrogate.opener import open_artifact

    assert openers.openers() == {
        "table": openers.open_table,
        "tfrecord": openers.open_tfrecord,
        "surrogate": open_artifact,
    }


def test_pyproject_registers_the_surrogate_opener():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    group = project["project"]["entry-points"][openers.OPENER_GROUP]
    from surrogate.opener import open_artifact

    assert (
        EntryPoint(name="surrogate", value=group["surrogate"], group=openers.OPENER_GROUP).load()
        is open_artifact
    )


# ------------------------------------------------------------------- surrogate opener
def test_the_surrogate_opener(tmp_path, table_file):
    from surrogate import DEFAULT_ARTIFACT, SurrogateBenchmark
    from surrogate.opener import open_artifact

    for source in (
        "surrogate",
        "surrogate:default",
        DEFAULT_ARTIFACT,
        f"surrogate:{DEFAULT_ARTIFACT}",
    ):
        bench = open_artifact(source, seed=2)
        assert isinstance(bench, SurrogateBenchmark) and bench.seed == 2
        assert bench.artifact.path == DEFAULT_ARTIFACT
        assert bench.noise and bench.num_repeats == 3
    for source in (tmp_path, table_file, "surrogates", 12, None, b"surrogate"):
        assert open_artifact(source) is None
    with pytest.raises(ArtifactError, match="does not exist"):
        open_artifact(f"surrogate:{tmp_path / 'missing'}")
    (tmp_path / "metadata.json").write_text('{"schema_version": 0}')
    with pytest.raises(ArtifactError, match="schema"):
        open_artifact(tmp_path)  # looks like an artifact, is a broken one


# --------------------------------------------------------------------------- layering
def _imported_modules(path: Path) -> set[str]:
    """Every module an import statement anywhere in the file names (functions included),
    and every string literal passed to importlib.import_module / __import__."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                or (
                    isinstance(node.func, ast.Name)
                    and node.func.id in ("import_module", "__import__")
                )
            )
        ):
            found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_no_layer_imports_a_layer_above_it(package):
    forbidden = LAYERS[package]
    offenders = []
    for path in sorted((REPO / package).rglob("*.py")):
        for module in _imported_modules(path):
            if module.split(".")[0] in forbidden:
                offenders.append(f"{path.relative_to(REPO)} imports {module}")
    assert not offenders, offenders


def test_the_layering_check_sees_function_level_imports(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "def f():\n    from surrogate.surrogate_benchmark import SurrogateBenchmark\n"
        "    import importlib\n    importlib.import_module('eval.fidelity')\n"
    )
    assert {"surrogate.surrogate_benchmark", "eval.fidelity"} <= _imported_modules(source)


def test_opening_a_table_loads_no_upper_layer(table_file):
    code = (
        "import sys\nfrom nb101 import open_benchmark\n"
        f"bench = open_benchmark({str(table_file)!r}, seed=0)\n"
        "bench.get_metrics_from_hash(next(iter(bench.hash_iterator())))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('surrogate', 'features', 'eval', 'torch', 'xgboost')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
