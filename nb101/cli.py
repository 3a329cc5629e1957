"""The ``nb101`` command line: get the data, build the space, make and inspect tables.

Usage::

    nb101 download [only108|full] [--url URL --sha256 HEX] [--out TABLE]
    nb101 convert --tfrecord nasbench_full.tfrecord --out nb101_full.npz
    nb101 convert --real-data [DIR] [--out OUT]
    nb101 space [--cache PATH]
    nb101 summary TABLE [--json]
    nb101 query HASH | --matrix JSON --ops OPS  (--table PATH | --surrogate [ARTIFACT])
                [--epochs 108] [--stop-halfway] [--seed 0]
    nb101 paths [NAME]
    nb101 rank [--surrogate ARTIFACT] [--top 10] [--metric test_accuracy] [--epochs 108]
    nb101 train ARGS...         (train_surrogate.main: nb101 train --help)
    nb101 fidelity ARGS...      (eval.fidelity.main)
    nb101 predictors ARGS...    (eval.predictors.main)

``convert --real-data`` reads ``DIR`` (default ``$NB101_DATA``, else ``<repo>/../shared/data``)
and writes the combined real table to ``--out``, by default
:func:`nb101.real_data.default_real_table_path` (``real-v1.npz`` in the user cache beside
the space: ``$NB101_CACHE`` or ``~/.cache/nb101-surrogate``), where every tool of the project
finds it. ``--tfrecord`` needs ``--out``. ``download`` is :func:`nb101.download.download`.
``paths`` prints where every file goes (the cache folder follows ``$NB101_CACHE``);
``nb101 paths real`` prints one path alone, for the shell: ``--table "$(nb101 paths real)"``.
A surrogate is ``--surrogate ARTIFACT`` in every command (``--artifact`` is accepted too).

Exit status: 0 on success; 2 when the command line is wrong (as argparse does: an unknown or
missing option, a malformed value, options that conflict, a hash that is not 32 hexadecimal
digits or no cell of the space, a matrix and ops that make no cell, a budget outside
4/12/36/108); 1 when a well-formed command fails (a missing or corrupt file, a failed
download, a missing optional dependency, a cell or budget that a partial table lacks).
Errors print one line, ``nb101 COMMAND: error: ...``, on stderr.

Subcommands of this layer are in :data:`COMMANDS` (name -> function adding a subparser that
sets ``func``; they live in :mod:`nb101.cli_commands`). Higher layers add theirs through the
entry-point group :data:`COMMAND_GROUP` (``nb101 rank`` comes from :mod:`surrogate.cli`;
``train``, ``fidelity`` and ``predictors`` hand their arguments to a module's ``main(argv)``
through :func:`add_forwarded_command`), so this layer never imports them.
Help texts are plain text: every command's help and description go through
:func:`plain_text`, and a command without a description gets its one-line help as one.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Callable, Sequence

from .cli_commands import COMMANDS, UsageError, format_summary, module_hash_arg

__all__ = [
    "main",
    "COMMANDS",
    "build_parser",
    "plain_text",
    "format_summary",
    "UsageError",
    "module_hash_arg",
    "add_forwarded_command",
]

_ROLE = re.compile(r":[a-z]+:`(~?)([^`<]*?)\s*(?:<[^`>]*>)?`")


def plain_text(text: str | None) -> str | None:
    """``text`` without reStructuredText markup, for help texts: ``x`` and `x` become x,
    :func:`a.b` becomes a.b (:func:`~a.b` becomes b), and a closing "::" a ":"."""
    if text is None:
        return None
    text = _ROLE.sub(lambda m: m.group(2).rsplit(".", 1)[-1] if m.group(1) else m.group(2), text)
    text = re.sub(r"``(.+?)``", r"\1", text, flags=re.S)
    text = re.sub(r"`([^`]+)`", r"\1", text)
    return re.sub(r"(\S)::$", r"\1:", text, flags=re.M)


def add_forwarded_command(sub, name: str, target: str, help: str) -> argparse.ArgumentParser:
    """Add ``nb101 NAME ARGS...``, which hands ``ARGS`` untouched to ``target``, a
    ``"module:function"`` taking ``argv`` and returning the exit status (a module's
    ``main``). The module is imported only when the command runs; ``nb101 NAME --help``
    prints its own help."""
    parser = sub.add_parser(  # no option of its own: every argument, -h included, goes on
        name,
        help=help,
        add_help=False,
        prefix_chars="\0",
        description=f"{help[:1].upper()}{help[1:]}: the arguments go to "
        f"{target.replace(':', '.')}; see nb101 {name} --help.",
    )
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)

    def run(args: argparse.Namespace) -> int:
        import importlib

        module, _, function = target.partition(":")
        return getattr(importlib.import_module(module), function)(args.args)

    parser.set_defaults(func=run)
    return parser


#: Entry-point group through which higher layers add commands (``nb101 rank`` comes from
#: the surrogate package), so this layer never imports them.
COMMAND_GROUP = "nb101.commands"


def _plugin_commands() -> dict[str, Callable]:
    from importlib.metadata import entry_points

    return {ep.name: ep.load() for ep in entry_points(group=COMMAND_GROUP)}


class _Commands:
    """The subparsers action as the command functions see it: a command's help and
    description made plain, its one-line help as its description if it has none."""

    def __init__(self, action):
        self._action = action

    def add_parser(self, name: str, **kwargs) -> argparse.ArgumentParser:
        kwargs["help"] = plain_text(kwargs.get("help"))
        description = kwargs.get("description")
        if not description and kwargs["help"]:  # the one-line help as a sentence
            description = kwargs["help"][:1].upper() + kwargs["help"][1:].rstrip(".") + "."
        kwargs["description"] = plain_text(description)
        return self._action.add_parser(name, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._action, name)


#: The program help's closing lines (laid out by hand: commands stay on one line).
_EPILOG = """\
Run 'nb101 COMMAND --help' for the options of a command.
Files go into the cache folder, $NB101_CACHE (default ~/.cache/nb101-surrogate);
'nb101 paths' prints where each file is.
The data: 'nb101 download' fetches an official file and converts it into a
table; on this project's machines 'nb101 convert --real-data' converts the
shared real data ($NB101_DATA). 'nb101 rank' needs no data (the surrogate is
bundled).
Exit status: 2 for a wrong command line, 1 for a command that failed."""


def build_parser() -> argparse.ArgumentParser:
    """The ``nb101`` parser with every command (:data:`COMMANDS` and the plugins)."""
    parser = argparse.ArgumentParser(
        prog="nb101",
        description=plain_text(__doc__.split("\n\n")[0]),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands = _Commands(sub)
    for add in {**COMMANDS, **_plugin_commands()}.values():
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nb101`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from ._optional import MissingDependencyError
    from .download import DownloadError
    from .errors import ArtifactError, OutOfDomainError, PartialTableError, RecordError, TableError

    status: int
    message: Exception
    try:
        return args.func(args)
    except (UsageError, OutOfDomainError) as exc:  # what was typed is wrong: as argparse
        status, message = 2, exc
    except (
        TableError,
        RecordError,
        ArtifactError,
        DownloadError,
        PartialTableError,
        MissingDependencyError,
        OSError,
    ) as exc:  # a well-formed command failed
        status, message = 1, exc
    print(f"nb101 {args.command}: error: {message}", file=sys.stderr)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
