"""Tests of nb101.io: atomic file and folder writes, file modes, strict JSON."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from nb101.io import atomic_folder, atomic_path, atomic_savez, to_jsonable, write_json


@pytest.fixture()
def no_umask_calls(monkeypatch):
    """Fail if the code under test touches the process umask (it is process-wide state)."""

    def forbidden(*args):
        raise AssertionError("os.umask called: it changes the umask of every thread")

    monkeypatch.setattr(os, "umask", forbidden)


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_atomic_path_gives_the_mode_of_a_plain_open(tmp_path, no_umask_calls):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    target = tmp_path / "sub" / "atomic.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp.exists() and tmp.name.startswith(".")
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert _mode(target) == _mode(plain)
    assert sorted(p.name for p in target.parent.iterdir()) == ["atomic.txt"]


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(target, suffix=".txt") as tmp:
            assert tmp.suffix == ".txt"
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_concurrent_writers_keep_the_umask_and_their_files(tmp_path):
    umask = os.umask(0o022)  # a known umask for this test only
    try:

        def write(i: int) -> None:
            for j in range(20):
                with atomic_path(tmp_path / f"f{i}.txt") as tmp:
                    tmp.write_text(f"{i}-{j}")

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(umask)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"f{i}.txt" for i in range(8))
    for i in range(8):
        assert (tmp_path / f"f{i}.txt").read_text() == f"{i}-19"
        assert _mode(tmp_path / f"f{i}.txt") == 0o644


def test_atomic_savez_round_trip(tmp_path, no_umask_calls):
    path = tmp_path / "a.npz"
    atomic_savez(path, x=np.arange(5), y=np.array("text"))
    with np.load(path, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["x"], np.arange(5))
        assert str(data["y"]) == "text"
    assert os.listdir(tmp_path) == ["a.npz"]


def test_atomic_folder_new_and_replaced(tmp_path, no_umask_calls):
    plain = tmp_path / "plain"
    plain.mkdir()
    target = tmp_path / "art"
    with atomic_folder(target) as tmp:
        assert tmp.is_dir() and tmp.parent == tmp_path and not target.exists()
        (tmp / "a.txt").write_text("1")
    assert (target / "a.txt").read_text() == "1"
    assert _mode(target) == _mode(plain)
    with atomic_folder(target) as tmp:
        (tmp / "b.txt").write_text("2")
        assert (target / "a.txt").exists()  # the old folder stays until the end
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["art", "plain"]


def test_atomic_folder_keeps_old_folder_on_error(tmp_path):
    target = tmp_path / "art"
    target.mkdir()
    (target / "a.txt").write_text("old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_folder(target) as tmp:
            (tmp / "a.txt").write_text("new")
            raise RuntimeError("boom")
    assert (target / "a.txt").read_text() == "old"
    assert os.listdir(tmp_path) == ["art"]


def test_atomic_folder_replaces_a_file(tmp_path):
    target = tmp_path / "art"
    target.write_text("a file")
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (target / "a.txt").read_text() == "1"
    assert os.listdir(tmp_path) == ["art"]


def test_write_json_is_strict_and_atomic(tmp_path, no_umask_calls):
    path = tmp_path / "x.json"
    obj = {
        "nan": float("nan"),
        "inf": np.float32("inf"),
        "a": np.arange(3),
        1: np.int64(4),
        "p": Path("/a/b"),
        "t": (np.bool_(True), 0.5),
    }
    assert write_json(path, obj, indent=1) == path
    text = path.read_text()
    assert text.endswith("\n") and "NaN" not in text and "Infinity" not in text
    assert json.loads(text) == {
        "nan": None,
        "inf": None,
        "a": [0, 1, 2],
        "1": 4,
        "p": "/a/b",
        "t": [True, 0.5],
    }
    with pytest.raises(TypeError):
        write_json(path, {"bad": object()})
    assert json.loads(path.read_text())["a"] == [0, 1, 2]  # the old file is kept
    assert os.listdir(tmp_path) == ["x.json"]


def test_to_jsonable_paths():
    assert to_jsonable({"p": PurePosixPath("a/b")}) == {"p": "a/b"}
