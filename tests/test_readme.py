"""What a newcomer runs first: the README's query snippet verbatim, and paths with ``~``."""

from __future__ import annotations

import re

import pytest

from nb101 import convert_real_data, default_real_table_path
from nb101.cli import main
from nb101.records import write_runs

from conftest import REPO
from _specs import INCEPTION


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


def test_first_query_snippet_runs_verbatim(real_data_dir, space, tmp_path, monkeypatch):
    monkeypatch.setenv("NB101_CACHE", str(tmp_path))
    space.save(tmp_path / space.path.name)
    convert_real_data(real_data_dir, default_real_table_path(), space=space)
    scope: dict = {}
    exec(compile(_python_blocks()[0], "README.md", "exec"), scope)
    bench = scope["bench"]
    assert bench.get_budget_counters()[1] == 108 * 1001  # one query, one batch of 1000
    assert bench.query(INCEPTION)["test_accuracy"] == pytest.approx(0.93118, abs=1e-5)


def test_cli_paths_expand_the_home_folder(space, tmp_path, monkeypatch, capsys):
    from nb101 import trainable_parameters
    from nb101.records import Run
    monkeypatch.setenv("HOME", str(tmp_path))
    spec = space.spec(0)
    write_runs(tmp_path / "one.tfrecord", [Run(
        module_hash=space.hash(0), epochs=108, adjacency=spec.matrix, operations=spec.ops,
        trainable_parameters=trainable_parameters(spec), final_test_accuracy=0.5)])
    assert main(["convert", "--tfrecord", "~/one.tfrecord", "--out", "~/one.npz",
                 "--no-progress"]) == 0
    assert (tmp_path / "one.npz").exists()
    assert main(["summary", "~/one.npz"]) == 0
    assert "cells: 1 of the space's" in capsys.readouterr().out


def test_bundled_surrogate_metrics_table_matches_its_metadata():
    """The README's held-out metrics are the bundled artifact's (regenerate them with
    ``python benchmarks/surrogate_card.py --update README.md`` after retraining)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("surrogate_card",
                                                  REPO / "benchmarks" / "surrogate_card.py")
    card = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(card)
    readme = (REPO / "README.md").read_text()
    block = readme.split(card.BEGIN)[1].split(card.END)[0].strip()
    assert block == card.metrics_table()
