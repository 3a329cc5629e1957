"""What a newcomer runs first: the README's query snippet verbatim (with the default cache
folder and with ``$NB101_CACHE``), its length, its cache paths, and paths with ``~``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _scripts import load_script
from _specs import INCEPTION

from nb101 import convert_real_data, default_real_table_path
from nb101.cli import main
from nb101.run_records import write_runs

REPO = Path(__file__).resolve().parents[1]


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)


@pytest.mark.parametrize("cache_var", [False, True], ids=["default-cache", "NB101_CACHE"])
def test_first_query_snippet_runs_verbatim(real_data_dir, space, tmp_path, monkeypatch, cache_var):
    """After ``nb101 convert --real-data``, on a machine with the default cache folder
    (~/.cache/nb101-surrogate, here under a temporary home folder) and on one with
    ``$NB101_CACHE`` set: the snippet names no cache path, so it runs verbatim on both."""
    monkeypatch.setenv("HOME", str(tmp_path))
    if cache_var:
        monkeypatch.setenv("NB101_CACHE", str(tmp_path / "elsewhere"))
        cache = tmp_path / "elsewhere"
    else:
        monkeypatch.delenv("NB101_CACHE", raising=False)
        cache = tmp_path / ".cache" / "nb101-surrogate"
    assert default_real_table_path() == cache / "real-v1.npz"
    space.save(cache / space.path.name)
    convert_real_data(real_data_dir, default_real_table_path(), space=space)
    scope: dict = {}
    exec(compile(_python_blocks()[0], "README.md", "exec"), scope)
    bench = scope["bench"]
    assert bench.get_budget_counters()[1] == 108 * 1001  # one query, one batch of 1000
    assert bench.query(INCEPTION)["test_accuracy"] == pytest.approx(0.93118, abs=1e-5)


def test_readme_is_short_and_its_paths_follow_the_cache_variable():
    """The README stays an entry page (the rest is in docs/), its two commands are the ones
    CI runs (the main job without torch: tests/test_optional.py runs it with torch blocked),
    and no command hard-codes the default cache folder: a shell path goes through
    ``nb101 paths`` or ``${NB101_CACHE:-...}``."""
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    assert "\npip install -e . && nb101 rank --top 10\n" in text
    assert 'pip install torch==2.13.0 && pip install -e ".[dev]" && python -m pytest -q' in text
    for block in re.findall(r"```(?:bash|python)\n(.*?)```", text, flags=re.S):
        assert "~/.cache/nb101-surrogate" not in block
        assert ".cache/nb101-surrogate" not in block or "${NB101_CACHE:-" in block


def test_cli_paths_expand_the_home_folder(space, tmp_path, monkeypatch, capsys):
    from nb101 import trainable_parameters
    from nb101.run_records import Run

    monkeypatch.setenv("HOME", str(tmp_path))
    spec = space.spec(0)
    write_runs(
        tmp_path / "one.tfrecord",
        [
            Run(
                module_hash=space.hash(0),
                epochs=108,
                adjacency=spec.matrix,
                operations=spec.ops,
                trainable_parameters=trainable_parameters(spec),
                final_test_accuracy=0.5,
            )
        ],
    )
    assert (
        main(["convert", "--tfrecord", "~/one.tfrecord", "--out", "~/one.npz", "--no-progress"])
        == 0
    )
    assert (tmp_path / "one.npz").exists()
    assert main(["summary", "~/one.npz"]) == 0
    assert "cells: 1 of the space's" in capsys.readouterr().out


def test_bundled_surrogate_metrics_table_matches_its_metadata():
    """The README's held-out metrics are the bundled artifact's (regenerate them with
    ``python benchmarks/surrogate_card.py --update README.md`` after retraining)."""
    card = load_script("benchmarks/surrogate_card.py")
    readme = (REPO / "README.md").read_text()
    block = readme.split(card.BEGIN)[1].split(card.END)[0].strip()
    assert block == card.metrics_table()


def test_python_paths_expand_the_home_folder(space, real_data_dir, tmp_path, monkeypatch):
    """Every function that takes a user's path reads ``~`` as the home folder."""
    from nb101 import (
        TabularBenchmark,
        convert_tfrecord,
        load_table,
        trainable_parameters,
        write_table,
    )
    from nb101.real_data import resolve_data_dir
    from nb101.run_records import Run, read_records
    from nb101.tfrecord import iter_records, write_records

    monkeypatch.setenv("HOME", str(tmp_path))
    spec = space.spec(0)
    run = Run(
        module_hash=space.hash(0),
        epochs=108,
        adjacency=spec.matrix,
        operations=spec.ops,
        trainable_parameters=trainable_parameters(spec),
        final_test_accuracy=0.5,
    )
    assert write_runs("~/a.tfrecord", [run]) == 1
    assert [r.module_hash for r in read_records("~/a.tfrecord")] == [space.hash(0)]
    payloads = list(iter_records("~/a.tfrecord"))
    assert write_records("~/b.tfrecord", payloads) == 1 and (tmp_path / "b.tfrecord").is_file()
    convert_tfrecord("~/a.tfrecord", "~/a.npz", progress=False, space=space)
    assert load_table("~/a.npz", space).num_runs == 1
    assert TabularBenchmark("~/a.npz", space=space).query(spec)["test_accuracy"] == 0.5
    write_table(
        "~/w.npz",
        run_cell=[3],
        run_epochs=[108],
        run_repeat=[0],
        values={"final_test_accuracy": [0.25]},
        source={},
        space=space,
    )
    assert (tmp_path / "w.npz").is_file()
    (tmp_path / "data").symlink_to(real_data_dir)
    assert resolve_data_dir("~/data") == tmp_path / "data"
    monkeypatch.setenv("NB101_DATA", "~/data")
    assert resolve_data_dir() == tmp_path / "data"
