"""The nb101 command line: plain-text help for the program and every command, one spelling
per option, clear messages, exit status 2 for a wrong command line and 1 for a failure, and
the upper layers' commands (rank, train, fidelity, predictors)."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import pytest

from nb101.cli import (
    COMMANDS,
    add_forwarded_command,
    build_parser,
    main,
    module_hash_arg,
    plain_text,
)

_MARKUP = re.compile(r"`|:[a-z]+:`|::\s*$", re.M)


def _help(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def _commands() -> list[str]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return list(sub.choices)


def test_every_command_is_listed_including_plugins():
    assert set(COMMANDS) | {"rank"} <= set(_commands())


@pytest.mark.parametrize("command", ["", *COMMANDS, "rank"])
def test_help_is_plain_text(command, capsys):
    text = _help(capsys, *([command] if command else []))
    assert not _MARKUP.search(text), text
    if command:
        usage, description = text.split("\n\n")[:2]
        assert usage.startswith(f"usage: nb101 {command}")
        assert description[0].isupper() and description.rstrip().endswith(".")


def test_program_help_names_the_data_commands(capsys):
    text = _help(capsys)
    assert "nb101 download" in text and "nb101 convert --real-data" in text
    assert "NB101_CACHE" in text


def test_plain_text():
    assert plain_text("The ``nb101`` command line.") == "The nb101 command line."
    assert (
        plain_text("see :func:`nb101.real_data.default_real_table_path`")
        == "see nb101.real_data.default_real_table_path"
    )
    assert (
        plain_text(":meth:`~nb101.CellSpace.parameters` and :data:`COMMANDS`")
        == "parameters and COMMANDS"
    )
    assert plain_text("Usage::\n\n    x") == "Usage:\n\n    x"
    assert (
        plain_text("`emph` and :class:`Table <nb101.tabular_benchmark.Table>`") == "emph and Table"
    )
    assert plain_text(None) is None


# ------------------------------------------------------------- one spelling, one message
def test_surrogate_is_one_option_in_every_command_and_artifact_still_works():
    parser = build_parser()
    for flag in ("--surrogate", "--artifact"):
        assert parser.parse_args(["rank", flag, "art"]).artifact == Path("art")
        assert parser.parse_args(["query", "0" * 32, flag, "art"]).surrogate == Path("art")
    assert parser.parse_args(["rank"]).artifact is None  # the bundled one
    assert parser.parse_args(["query", "0" * 32, "--surrogate"]).surrogate is True


@pytest.mark.parametrize("command", ["rank", "query"])
def test_help_documents_surrogate_not_artifact(command, capsys):
    text = _help(capsys, command)
    assert "--surrogate" in text and "--artifact" not in text


def test_a_hash_is_stripped_and_lower_cased_or_said_to_be_32_hex_digits(capsys):
    good = "28cfc7874f6d200472e1a9dcd8650aa0"
    for typed in (good, good.upper(), f"  {good}\n"):
        assert module_hash_arg(typed) == good
    for typed in ("28cfc7874f6d", good + "0", "g" * 32, ""):
        with pytest.raises(argparse.ArgumentTypeError, match="32 hexadecimal digits"):
            module_hash_arg(typed)
    with pytest.raises(SystemExit) as info:
        main(["query", "28cfc7874f6d", "--surrogate"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "32 hexadecimal digits" in err and "12 characters" in err
    assert "not a cell" not in err


def test_an_upper_case_hash_queries_the_cell(space, capsys):
    module_hash = space.hash(7)
    assert main(["query", f" {module_hash.upper()} ", "--surrogate", "--epochs", "36"]) == 0
    assert json.loads(capsys.readouterr().out)["module_hash"] == module_hash


# -------------------------------------------------------------------------- exit status
@pytest.mark.parametrize(
    "argv, message",
    [
        (["query", "0" * 32, "--matrix", "[[0]]", "--ops", "x", "--surrogate"], "not both"),
        (["query", "--surrogate"], "give a module hash"),
        (
            ["query", "--matrix", "[[0,1]", "--ops", "conv3x3-bn-relu", "--surrogate"],
            "--matrix must be a JSON",
        ),
        (
            [
                "query",
                "--matrix",
                "[[0,1,0],[0,0,1],[1,0,0]]",
                "--ops",
                "conv3x3-bn-relu",
                "--surrogate",
            ],
            "upper triangular",
        ),
        (["query", "f" * 32, "--surrogate"], "is not a cell of NAS-Bench-101"),
        (["convert", "--tfrecord", "x.tfrecord"], "--tfrecord needs --out"),
    ],
)
def test_a_wrong_command_line_exits_2_with_one_line(argv, message, space, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nb101 {argv[0]}: error: ") and message in err
    assert err.count("\n") == 1


def test_a_failing_command_exits_1_and_prints_paths_as_typed(tmp_path, capsys):
    missing = tmp_path / "missing.npz"
    assert main(["query", "0" * 32, "--table", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("nb101 query: error: ") and str(missing) in err
    assert "PosixPath" not in err and "WindowsPath" not in err
    assert main(["summary", str(missing)]) == 1
    assert "PosixPath" not in capsys.readouterr().err


def test_convert_real_data_without_data_does_not_send_to_download(tmp_path, capsys):
    assert (
        main(
            [
                "convert",
                "--real-data",
                str(tmp_path / "absent"),
                "--out",
                str(tmp_path / "t.npz"),
                "--no-progress",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert str(tmp_path / "absent") in err and "NB101_DATA" in err
    assert "fetch it with" not in err and "no command downloads it" in err


def test_the_module_docstring_documents_the_exit_status():
    import nb101.cli

    assert "Exit status: 0 on success; 2 when the command line is wrong" in nb101.cli.__doc__


# -------------------------------------------------------------------------------- paths
def test_paths_follow_the_cache_variable(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NB101_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("NB101_DATA", str(tmp_path / "data"))
    from nb101 import default_real_table_path

    assert main(["paths", "real"]) == 0
    assert capsys.readouterr().out == f"{default_real_table_path()}\n"
    assert default_real_table_path().parent == tmp_path / "cache"
    assert main(["paths", "data"]) == 0
    assert capsys.readouterr().out == f"{tmp_path / 'data'}\n"
    assert main(["paths"]) == 0
    out = capsys.readouterr().out
    for name in ("cache", "space", "real", "only108", "full", "data"):
        assert re.search(rf"^{name} +{re.escape(str(tmp_path))}", out, re.M), name
    assert "from $NB101_CACHE" in out and "nb101 download full" in out


# ---------------------------------------------------------------- forwarded commands
def _pyproject_commands() -> dict[str, str]:
    import tomllib

    text = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    return tomllib.loads(text)["project"]["entry-points"]["nb101.commands"]


@pytest.fixture
def declared_commands(monkeypatch):
    """The commands pyproject.toml declares, whatever the installed metadata says (an
    editable install from another checkout may predate them)."""
    import importlib

    import nb101.cli

    def load(value: str):
        module, _, name = value.partition(":")
        return getattr(importlib.import_module(module), name)

    commands = {name: load(value) for name, value in _pyproject_commands().items()}
    monkeypatch.setattr(nb101.cli, "_plugin_commands", lambda: commands)
    return commands


def test_train_fidelity_and_predictors_are_nb101_commands(declared_commands, capsys):
    assert {"rank", "train", "fidelity", "predictors"} <= set(declared_commands)
    assert {"train", "fidelity", "predictors"} <= set(_commands())
    for command, usage in [
        ("train", "nb101-train"),
        ("fidelity", "python -m eval.fidelity"),
        ("predictors", "python -m eval.predictors"),
    ]:
        assert f"    {command} " in _help(capsys)
        assert _help(capsys, command).startswith(f"usage: {usage}")  # the module's own help


def test_a_forwarded_command_hands_its_arguments_over_untouched(monkeypatch, capsys):
    import types

    seen = []
    module = types.ModuleType("_nb101_forward_target")
    module.main = lambda argv: seen.append(list(argv)) or 3
    monkeypatch.setitem(sys.modules, module.__name__, module)
    parser = argparse.ArgumentParser(prog="nb101")
    add_forwarded_command(
        parser.add_subparsers(dest="command"), "echo", f"{module.__name__}:main", help="echo"
    )
    argv = ["--table", "t.npz", "-h", "--", "x", "--seed=1"]
    args = parser.parse_args(["echo", *argv])
    assert args.func(args) == 3 and seen == [argv]
