"""Run a measuring command and keep its JSON, stamped, as a docs results data file.

The command writes strict JSON somewhere (a benchmark script's ``--json PATH``, an entry
point's output folder); this script gives it a fresh temporary place, reads the JSON back,
adds a ``_stamp`` (git commit, whether the tree had uncommitted changes, the bundled
artifact's digest and its noise model's, the command, the date and the machine) and writes
it atomically to ``docs/results/data/NAME.json``, from which ``docs/generate_results.py``
renders the page.

In the command, ``{json}`` stands for a temporary JSON path and ``{out}`` for a temporary
folder; ``--take`` says which file to keep (default ``{json}``). Run it from the repository
root, with the environment the measurement needs (e.g. ``NB101_CACHE``)::

    python docs/measure.py surrogate_card -- python benchmarks/surrogate_card.py --json {json}
    python docs/measure.py fidelity_smoke --take {out}/fidelity.json -- \\
        python -m eval.fidelity --smoke --out {out}

A long run made without this script (e.g. the default fidelity experiment, run once into its
own folder) is stamped afterwards with ``--existing FILE``: nothing is run, and the command
after ``--`` is recorded as the one that made FILE (run it on the commit being stamped)::

    python docs/measure.py fidelity --existing results/fidelity/fidelity.json -- \\
        python -m eval.fidelity --out results/fidelity
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def stamp(command: list[str], load_average: float | None = None) -> dict:
    """Where and on what a measurement ran (``load_average``: the machine's at the start;
    timings on a shared machine are comparable only at similar load)."""
    # the generator's reader: the pages compare these with the checkout's the same way
    from generate_results import DATA, current_digests

    digest, noise_digest = current_digests()
    outputs = f":(exclude){DATA.relative_to(REPO).as_posix()}"
    return {
        "commit": _git("rev-parse", "HEAD"),
        # the measured data files are outputs, not code: a run of several measurements in a
        # row must not mark the later ones dirty
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", outputs)),
        "artifact_digest": digest,
        "noise_digest": noise_digest,
        "command": shlex.join(command),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"Python {platform.python_version()}",
        "load_average": load_average,
    }


def _run(command: list[str], take: str) -> tuple[Path, dict | None]:
    """Run the command with its placeholders filled; the JSON it wrote (None if it failed)."""
    with tempfile.TemporaryDirectory(prefix="nb101-measure-") as tmp:
        places = {"json": str(Path(tmp) / "out.json"), "out": str(Path(tmp) / "out")}
        run = [part.format(**places) for part in command]
        print("$", shlex.join(run), flush=True)
        code = subprocess.call(run, cwd=REPO)
        taken = Path(take.format(**places))
        if code != 0:
            print(f"measure.py: the command exited with {code}; nothing written", file=sys.stderr)
            return taken, None
        return taken, json.loads(taken.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], usage="%(prog)s NAME [--take PATH] -- COMMAND ..."
    )
    parser.add_argument("name", help="data file name: docs/results/data/NAME.json")
    parser.add_argument(
        "--take", default="{json}", help="the JSON file the command writes (default {json})"
    )
    parser.add_argument(
        "--existing",
        type=Path,
        default=None,
        metavar="FILE",
        help="stamp this output of the command instead of running it",
    )
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv:
        parser.error("give the command after --")
    split = argv.index("--")
    args, command = parser.parse_args(argv[:split]), argv[split + 1 :]
    if not command:
        parser.error("give the command after --")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if args.existing is not None:
        taken = args.existing
        data = json.loads(taken.read_text())
    else:
        taken, data = _run(command, args.take)
        if data is None:
            return 1
    if not isinstance(data, dict):
        print(
            f"measure.py: {taken.name} holds {type(data).__name__}, not a JSON object",
            file=sys.stderr,
        )
        return 2
    data["_stamp"] = stamp(command, None if args.existing is not None else load)
    if args.existing is not None:
        data["_stamp"]["stamped_existing_output"] = True
    from generate_results import DATA

    target = DATA / f"{args.name}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp_target = target.with_suffix(".json.tmp")
    tmp_target.write_text(json.dumps(data, indent=1, allow_nan=False) + "\n")
    os.replace(tmp_target, target)
    print(f"wrote {target.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
