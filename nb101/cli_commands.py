"""The commands of the exact layer in the ``nb101`` command line: ``download``, ``convert``,
``space``, ``summary``, ``query`` and ``paths`` (:data:`COMMANDS`; usage and exit status in
:mod:`nb101.cli`, which builds the parser and runs them).

Each ``_add_<name>(sub)`` adds its subparser and sets ``func``, which returns the exit status
or raises :class:`UsageError` for a command line argparse accepts but that is still wrong.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from .paths import user_path

__all__ = ["COMMANDS", "UsageError", "module_hash_arg", "format_summary"]


class UsageError(Exception):
    """A command line that argparse accepts but that is still wrong (exit status 2)."""


_HASH = re.compile(r"[0-9a-f]{32}")


def module_hash_arg(text: str) -> str:
    """A module hash from the command line: blanks around it dropped, lower-cased, and checked
    to be 32 hexadecimal digits (an argparse ``type``)."""
    value = text.strip().lower()
    if not _HASH.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"a module hash is 32 hexadecimal digits (0-9, a-f), got {text!r} "
            f"({len(value)} characters)"
        )
    return value


def _convert(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    if args.tfrecord is not None:
        if args.out is None:
            raise UsageError("--tfrecord needs --out")
        from .convert import convert_tfrecord

        path = convert_tfrecord(args.tfrecord, args.out, progress=args.progress)
    else:
        from .cell_space import get_space
        from .real_data import convert_real_data

        get_space(progress=args.progress)
        path = convert_real_data(args.real_data, args.out)
    print(f"wrote {path} in {time.perf_counter() - start:.1f} s")
    return 0


def _add_convert(sub) -> None:
    parser = sub.add_parser(
        "convert",
        help="convert official or real data into a table file",
        description="Convert an official dataset file (--tfrecord, with --out) or this "
        "project's real data folder (--real-data) into a table file, the input "
        "of TabularBenchmark. The real-data table goes by default where every "
        "tool of the project finds it: <cache>/real-v1.npz, <cache> being "
        "$NB101_CACHE or ~/.cache/nb101-surrogate.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--tfrecord",
        type=user_path,
        metavar="FILE",
        help="official dataset file (nasbench_full / nasbench_only108)",
    )
    source.add_argument(
        "--real-data",
        nargs="?",
        const=None,
        default=False,
        metavar="DIR",
        type=user_path,
        help="real data folder (default $NB101_DATA or <repo>/../shared/data)",
    )
    parser.add_argument(
        "--out",
        type=user_path,
        default=None,
        metavar="TABLE",
        help="table file to write (real data default: <cache>/real-v1.npz)",
    )
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bars"
    )
    parser.set_defaults(func=_convert)


def _download(args: argparse.Namespace) -> int:
    from .download import OFFICIAL_FILES, download

    official = OFFICIAL_FILES[args.which]
    print(
        f"downloading {official.name} ({official.size}) from {args.url or official.url}",
        file=sys.stderr,
    )
    tfrecord, table = download(
        args.which,
        url=args.url,
        sha256=args.sha256,
        download_dir=args.download_dir,
        out=args.out,
        convert=args.convert,
        progress=args.progress and sys.stderr.isatty(),
    )
    print(f"dataset file: {tfrecord} (SHA256 checked)")
    if table is not None:
        print(f"table: {table}")
        print(f"query it: TabularBenchmark({str(table)!r}, seed=0)")
    return 0


def _add_download(sub) -> None:
    from .download import OFFICIAL_FILES
    from .tabular_benchmark import TABLE_FORMAT

    files = " or ".join(f"{k} ({f.name}, {f.size})" for k, f in OFFICIAL_FILES.items())
    parser = sub.add_parser(
        "download",
        help="download an official dataset file and convert it into a table",
        description=f"Download an official NAS-Bench-101 file: {files}. An interrupted "
        f"download resumes when run again; the size and the SHA256 are checked; "
        f"then the file is converted into a table in the cache folder "
        f"($NB101_CACHE, else ~/.cache/nb101-surrogate), whose path is printed.",
    )
    parser.add_argument(
        "which",
        nargs="?",
        default="only108",
        choices=sorted(OFFICIAL_FILES),
        help="which file (default: only108)",
    )
    parser.add_argument(
        "--url",
        default=None,
        metavar="URL",
        help="download from this address instead (a mirror; file:// works)",
    )
    parser.add_argument(
        "--sha256",
        default=None,
        metavar="HEX",
        help="expected SHA256 of the file at --url (default: the official one)",
    )
    parser.add_argument(
        "--out",
        type=user_path,
        default=None,
        metavar="TABLE",
        help=f"table file to write (default: <cache>/nasbench_WHICH-v{TABLE_FORMAT}.npz)",
    )
    parser.add_argument(
        "--download-dir",
        type=user_path,
        default=None,
        metavar="DIR",
        help="folder of the downloaded .tfrecord (default: the cache folder)",
    )
    parser.add_argument(
        "--no-convert",
        dest="convert",
        action="store_false",
        help="only download and check the file",
    )
    parser.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="no progress bars (there are none when stderr is not a terminal)",
    )
    parser.set_defaults(func=_download)


def _space(args: argparse.Namespace) -> int:
    from .cell_space import NUM_CELLS, default_cache_path, get_space

    path = args.cache if args.cache is not None else default_cache_path()
    existed = Path(path).exists()
    start = time.perf_counter()
    space = get_space(path, progress=True)
    elapsed = time.perf_counter() - start
    import numpy as np

    vertices: np.ndarray = space.num_vertices  # type: ignore[attr-defined]  # set by name
    values, counts = np.unique(vertices, return_counts=True)
    print(
        f"{'loaded' if existed else 'wrote'} {space.path} in {elapsed:.2f} s: "
        f"{len(space)} cells (expected {NUM_CELLS})"
    )
    for v, c in zip(values.tolist(), counts.tolist()):
        print(f"  {v} vertices: {c}")
    return 0


def _add_space(sub) -> None:
    from .cell_space import SPACE_FORMAT

    parser = sub.add_parser(
        "space",
        help="build or load the enumerated space",
        description="Build the enumerated space of 423,624 cells into its cache file (once, "
        "about 30 s on 2 cores), or load it, and print its counts per vertex count.",
    )
    parser.add_argument(
        "--cache",
        type=user_path,
        default=None,
        metavar="FILE",
        help=f"space cache file (default: <cache>/space-v{SPACE_FORMAT}.npz, "
        f"<cache> being $NB101_CACHE or ~/.cache/nb101-surrogate)",
    )
    parser.set_defaults(func=_space)


def format_summary(summary: dict) -> str:
    """:meth:`nb101.TabularBenchmark.summary` as text: coverage per budget and field, runs
    per cell, and how a query combines a cell's runs."""

    def n(value: int) -> str:
        return f"{value:,}"

    def plural(count: int, word: str) -> str:
        return f"{n(count)} {word}{'' if count == 1 else 's'}"

    cells, space = summary["cells"], summary["space_cells"]
    source = summary["source"]
    lines = [f"table {summary['path']} (format {summary['format']})", "source:"]
    lines += [
        f"  {key}: {value if isinstance(value, str) else json.dumps(value)}"
        for key, value in (
            source.items() if isinstance(source, dict) else [("description", source)]
        )
    ]
    lines += [
        f"cells: {n(cells)} of the space's {n(space)}"
        + ("" if cells == space else f" (partial: {n(space - cells)} cells have no run)")
        + f"; runs: {n(summary['runs'])}; stored parameter counts: "
        f"{n(summary['trainable_parameters'])} cells (the others: the exact formula)"
    ]
    if summary["partial"]:
        lines.append(
            "PARTIAL: not every cell has every field at every budget (below); a "
            "query of a missing cell or budget raises PartialTableError, a missing "
            "field is None"
        )
    else:
        lines.append("complete: every cell has every field at every budget")
    for epochs, info in summary["epochs"].items():
        per_cell = ", ".join(
            f"{plural(k, 'run')}: {plural(c, 'cell')}" for k, c in info["runs_per_cell"].items()
        )
        repeats = ", ".join(
            f"{'unknown' if r == -1 else r}: {n(c)}" for r, c in info["repeats"].items()
        )
        lines += [
            "",
            f"{epochs} epochs: {plural(info['cells'], 'cell')}, "
            f"{plural(info['runs'], 'run')}; runs per cell: {per_cell}; runs per "
            f"repeat: {repeats}",
            f"  {'field':28s} {'cells':>9s} {'runs':>9s}",
        ]
        for name in summary["fields"]:
            got = info["cells_with_field"].get(name, 0)
            note = (
                ""
                if got == info["cells"]
                else f"  partial: {n(got)} of the {n(info['cells'])} cells"
            )
            lines.append(f"  {name:28s} {n(got):>9s} {n(info['fields'].get(name, 0)):>9s}{note}")
    lines += ["", "query rule: " + summary["query_rule"] + "."]
    return "\n".join(
        textwrap.fill(line, 100, subsequent_indent="      ") if len(line) > 100 else line
        for line in lines
    )


def _summary(args: argparse.Namespace) -> int:
    from .tabular_benchmark import TabularBenchmark

    summary = TabularBenchmark(args.table).summary()
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def _add_summary(sub) -> None:
    parser = sub.add_parser(
        "summary",
        help="print what a table file holds",
        description="Print what a table file holds: cells covered and runs per cell at each "
        "budget, the cells and runs that have each field (what is partial), the "
        "source, and the rule by which a query combines a cell's runs.",
    )
    parser.add_argument("table", type=user_path, help="a table file (.npz)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(func=_summary)


def _spec_of(args: argparse.Namespace):
    """The cell asked on the command line: a hash, or ``--matrix`` with ``--ops``."""
    from .cell_space import get_space
    from .model_spec import INPUT, OUTPUT, ModelSpec

    if args.hash is not None:
        if args.matrix is not None or args.ops is not None:
            raise UsageError("give a module hash or --matrix with --ops, not both")
        return get_space().spec_from_hash(args.hash)
    if args.matrix is None or args.ops is None:
        raise UsageError("give a module hash, or --matrix and --ops")
    try:
        matrix = json.loads(args.matrix)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"--matrix must be a JSON list of lists of 0/1, e.g. '[[0, 1], [0, 0]]' ({exc})"
        ) from None
    ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    if isinstance(matrix, list) and len(ops) == len(matrix) - 2:  # the interior ops alone
        ops = [INPUT, *ops, OUTPUT]
    try:
        return ModelSpec(matrix, ops)
    except ValueError as exc:  # the original's rules for a matrix and its ops
        raise UsageError(f"--matrix and --ops do not make a cell: {exc}") from None


def _query(args: argparse.Namespace) -> int:
    from .io import to_jsonable
    from .openers import open_benchmark

    if args.table is not None:
        bench = open_benchmark(str(args.table), seed=args.seed)  # messages show the path
    else:
        source = "surrogate" if args.surrogate is True else f"surrogate:{args.surrogate}"
        bench = open_benchmark(source, seed=args.seed)
    spec = _spec_of(args)
    result = bench.query(spec, epochs=args.epochs, stop_halfway=args.stop_halfway)
    module_hash = spec.hash_spec()  # the cell's hash, whatever matrix and ops gave it
    fields = to_jsonable({"module_hash": module_hash, **result})
    print(
        "{\n"
        + ",\n".join(
            f"  {json.dumps(key)}: {json.dumps(value, allow_nan=False)}"
            for key, value in fields.items()
        )
        + "\n}"
    )  # a field a line
    return 0


def _add_query(sub) -> None:
    parser = sub.add_parser(
        "query",
        help="print one query's result as JSON (table or surrogate)",
        description="Query one cell, given by its module hash or by --matrix and --ops, on a "
        "table (--table) or a surrogate (--surrogate: the bundled one, or an "
        "artifact folder), as TabularBenchmark.query / SurrogateBenchmark.query "
        "do, and print the result as JSON (missing values are null).",
        epilog="example: nb101 query --surrogate --matrix '[[0,1,1],[0,0,1],[0,0,0]]' "
        "--ops conv3x3-bn-relu --epochs 36",
    )
    parser.add_argument(
        "hash",
        nargs="?",
        default=None,
        type=module_hash_arg,
        help="module hash of the cell (32 hexadecimal digits)",
    )
    parser.add_argument(
        "--matrix",
        default=None,
        metavar="JSON",
        help="adjacency matrix as JSON, e.g. '[[0,1,1],[0,0,1],[0,0,0]]'",
    )
    parser.add_argument(
        "--ops",
        default=None,
        metavar="OPS",
        help="comma-separated ops, all of them (input,...,output) or the "
        "interior ones (conv3x3-bn-relu, conv1x1-bn-relu, maxpool3x3)",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--table",
        type=user_path,
        default=None,
        metavar="PATH",
        help="a table file or an official .tfrecord",
    )
    source.add_argument(
        "--surrogate",
        nargs="?",
        const=True,
        default=None,
        type=lambda text: user_path(text),
        metavar="ARTIFACT",
        help="a surrogate: the bundled one, or the artifact folder given",
    )
    source.add_argument(
        "--artifact", dest="surrogate", type=user_path, help=argparse.SUPPRESS
    )  # nb101 rank's former spelling
    parser.add_argument(
        "--epochs", type=int, default=108, help="training budget: 4, 12, 36 or 108 (default 108)"
    )
    parser.add_argument("--stop-halfway", action="store_true", help="the values at half the budget")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds which run (or simulated run) is drawn (default 0)",
    )
    parser.set_defaults(func=_query)


def _known_paths() -> dict[str, tuple[Path, str]]:
    """Name -> (path, how it was chosen and what writes or reads it) for ``nb101 paths``."""
    from .cell_space import default_cache_path
    from .download import OFFICIAL_FILES, default_table_path
    from .real_data import _data_dir_choice, default_real_table_path

    space = default_cache_path()
    how = "from $NB101_CACHE" if os.environ.get("NB101_CACHE") else "default; set NB101_CACHE"
    out = {
        "cache": (space.parent, f"the cache folder, {how}"),
        "space": (space, "the enumerated space: nb101 space, or built on first use"),
        "real": (default_real_table_path(), "the real-data table: nb101 convert --real-data"),
    }
    for which in OFFICIAL_FILES:
        out[which] = (default_table_path(which), f"an official table: nb101 download {which}")
    folder, chosen = _data_dir_choice(None)
    out["data"] = (folder, f"the real-data folder ({chosen}), read by nb101 convert --real-data")
    return out


def _paths(args: argparse.Namespace) -> int:
    known = _known_paths()
    if args.name is not None:
        print(known[args.name][0])
        return 0
    width = max(map(len, known))
    for name, (path, what) in known.items():
        state = "present" if path.exists() else "absent"
        print(f"{name:{width}}  {path}\n{'':{width}}  {state}; {what}")
    return 0


def _add_paths(sub) -> None:
    parser = sub.add_parser(
        "paths",
        help="print where the cache, the space, the tables and the data are",
        description="Print the cache folder ($NB101_CACHE, else ~/.cache/nb101-surrogate), the "
        "files the commands write there and the real-data folder, each with "
        "whether it exists. With NAME, print that path alone, for the shell: "
        'nb101 query HASH --table "$(nb101 paths real)".',
    )
    parser.add_argument(
        "name",
        nargs="?",
        default=None,
        choices=["cache", "space", "real", "only108", "full", "data"],
        help="print only this path",
    )
    parser.set_defaults(func=_paths)


#: Subcommands: name -> function that adds its subparser.
COMMANDS: dict[str, Callable] = {
    "download": _add_download,
    "convert": _add_convert,
    "space": _add_space,
    "summary": _add_summary,
    "query": _add_query,
    "paths": _add_paths,
}
