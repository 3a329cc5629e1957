"""The ``nb101`` command line.

Usage::

    nb101 convert --tfrecord nasbench_full.tfrecord --out nb101_full.npz
    nb101 convert --real-data [DIR] [--out OUT]
    nb101 space [--cache PATH]
    nb101 summary TABLE
    nb101 rank [--artifact DIR] [--top 10] [--metric test_accuracy] [--epochs 108]

``convert --real-data`` reads ``DIR`` (default ``$NB101_DATA``, else ``<repo>/../shared/data``)
and writes the combined real table to ``--out``, by default
:func:`nb101.real_data.default_real_table_path` (``real-v1.npz`` in the user cache beside
the space: ``$NB101_CACHE`` or ``~/.cache/nb101-surrogate``), where every tool of the project
finds it. ``--tfrecord`` needs ``--out``.

Subcommands of this layer are in :data:`COMMANDS` (name -> function adding a subparser that
sets ``func``). Higher layers add theirs through the entry-point group
:data:`COMMAND_GROUP` (``nb101 rank`` comes from :mod:`surrogate.cli`), so this layer never
imports them.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["main", "COMMANDS"]


def _convert(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if args.tfrecord is not None:
        if args.out is None:
            raise SystemExit("nb101 convert: --tfrecord needs --out")
        from .convert import convert_tfrecord
        path = convert_tfrecord(args.tfrecord, args.out, progress=args.progress)
    else:
        from .real_data import convert_real_data
        from .cell_space import get_space
        get_space(progress=args.progress)
        path = convert_real_data(args.real_data, args.out)
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


def _add_convert(sub) -> None:
    parser = sub.add_parser("convert", help="convert official or real data into a table file")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--tfrecord", type=Path, metavar="FILE",
                        help="official dataset file (nasbench_full / nasbench_only108)")
    source.add_argument("--real-data", nargs="?", const=None, default=False, metavar="DIR",
                        help="real data folder (default $NB101_DATA or <repo>/../shared/data)")
    parser.add_argument("--out", type=Path, default=None,
                        help="table file to write (real data default: "
                             "<cache>/nb101-surrogate/real-v1.npz)")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bars")
    parser.set_defaults(func=_convert)


def _space(args: argparse.Namespace) -> int:
    from .cell_space import NUM_CELLS, default_cache_path, get_space
    path = args.cache if args.cache is not None else default_cache_path()
    existed = Path(path).exists()
    start = time.perf_counter()
    space = get_space(path, progress=True)
    elapsed = time.perf_counter() - start
    import numpy as np
    values, counts = np.unique(space.num_vertices, return_counts=True)
    print(f"{'loaded' if existed else 'built'} {space.path} in {elapsed:.2f} s: "
          f"{len(space)} cells (expected {NUM_CELLS})")
    for v, c in zip(values.tolist(), counts.tolist()):
        print(f"  {v} vertices: {c}")
    return 0


def _add_space(sub) -> None:
    parser = sub.add_parser("space", help="build or load the enumerated space")
    parser.add_argument("--cache", type=Path, default=None,
                        help="space cache file (default $NB101_CACHE or ~/.cache/nb101-surrogate)")
    parser.set_defaults(func=_space)


def _summary(args: argparse.Namespace) -> int:
    from .table import TabularBenchmark
    print(json.dumps(TabularBenchmark(args.table).summary(), indent=2))
    return 0


def _add_summary(sub) -> None:
    parser = sub.add_parser("summary", help="print what a table file holds")
    parser.add_argument("table", type=Path)
    parser.set_defaults(func=_summary)


#: Subcommands: name -> function that adds its subparser.
COMMANDS: dict[str, Callable] = {"convert": _add_convert, "space": _add_space,
                                 "summary": _add_summary}
#: Entry-point group through which higher layers add commands (``nb101 rank`` comes from
#: the surrogate package), so this layer never imports them.
COMMAND_GROUP = "nb101.commands"


def _plugin_commands() -> dict[str, Callable]:
    from importlib.metadata import entry_points
    return {ep.name: ep.load() for ep in entry_points(group=COMMAND_GROUP)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nb101", description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in {**COMMANDS, **_plugin_commands()}.values():
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nb101`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from .errors import ArtifactError, OutOfDomainError, RecordError, TableError
    try:
        return args.func(args)
    except (TableError, RecordError, OutOfDomainError, ArtifactError, FileNotFoundError) as exc:
        print(f"nb101 {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
