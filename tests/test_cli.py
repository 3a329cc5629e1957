"""The nb101 command line reads cleanly: plain-text help for the program and every command."""

from __future__ import annotations

import re

import pytest

from nb101.cli import COMMANDS, build_parser, main, plain_text

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
    assert plain_text("see :func:`nb101.real_data.default_real_table_path`") == \
        "see nb101.real_data.default_real_table_path"
    assert plain_text(":meth:`~nb101.CellSpace.parameters` and :data:`COMMANDS`") == \
        "parameters and COMMANDS"
    assert plain_text("Usage::\n\n    x") == "Usage:\n\n    x"
    assert plain_text("`emph` and :class:`Table <nb101.table.Table>`") == "emph and Table"
    assert plain_text(None) is None
