"""What each optimizer pays on the surrogate against the table: queries, training time charged
and the incumbent per query, from an ``eval.fidelity`` output folder's run cache.

Usage::

    python -m eval.fidelity --track multifidelity --out fidelity_out
    python benchmarks/bench_charged_time.py fidelity_out [--first K]

On the multi-fidelity track a query costs the backend's training time, so a surrogate that
charges some cells more time than the table lets an optimizer make fewer queries by a given
budget, and its curve (value against budget spent) falls behind for that reason alone. The
run cache pairs every seed's run on the table with the same seed's runs on each draw of each
surrogate (``runs/<track>/<study>/<backend>/<optimizer>/<run>.npz``); an optimizer that has
not yet learned from its values queries the same cells on both. Per optimizer, over the
studies, it prints:

* **queries per run**: the mean on the table and on the draws;
* **time charged on the same cells**: over the first ``K`` queries (default 20), where the
  table's run and a draw's run queried the same cell, the mean time each charged, and the
  cells that carry most of the difference (their number of vertices, the table's time, the
  draws' mean time, their share of the difference);
* **the incumbent per query**: the draws' best value after ``n`` queries at the maximum
  budget minus the table's, for n = 5, 10, 30, 100, 300, 1,000: a curve gap that is not
  there per query comes from the budget charged, not from the values.

Nothing is computed anew and nothing is timed.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PER_QUERY = (5, 10, 30, 100, 300, 1000)
SHOWN_CELLS = 5


def paired_runs(folder: Path, track: str) -> dict[str, list[tuple]]:
    """Optimizer -> ``(table run, draw run)`` pairs of the same study and run file."""
    from eval.fidelity.runs import load_run

    pairs: dict[str, list[tuple]] = defaultdict(list)
    studies = sorted((folder / "runs" / track).glob("*"))
    if not studies:
        sys.exit(f"{folder}: no runs of the {track} track under runs/ (run eval.fidelity first)")
    for study in studies:
        tables = sorted(study.glob("table-*"))
        if not tables:
            continue
        for optimizer in sorted(p.name for p in tables[0].iterdir() if p.is_dir()):
            for run_file in sorted((tables[0] / optimizer).glob("*.npz")):
                table_run = load_run(run_file)
                for backend in sorted(study.iterdir()):
                    draw_file = backend / optimizer / run_file.name
                    if backend != tables[0] and draw_file.exists():
                        pairs[optimizer].append((table_run, load_run(draw_file)))
    return pairs


def _costs(run) -> np.ndarray:
    return np.diff(np.concatenate([[0.0], run.spent]))


def charged(pairs: list[tuple], first: int) -> dict:
    """Queries, time on the same cells among the first ``first`` queries, per-query incumbent."""
    from nb101 import get_space

    num_vertices = get_space().num_vertices
    table_time, draw_time = {}, defaultdict(list)
    for table_run, draw_run in pairs:
        n = min(first, len(table_run.cells), len(draw_run.cells))
        same = table_run.cells[:n] == draw_run.cells[:n]
        for cell, t, d in zip(
            table_run.cells[:n][same], _costs(table_run)[:n][same], _costs(draw_run)[:n][same]
        ):
            table_time[int(cell)] = float(t)  # a table's time is fixed per cell
            draw_time[int(cell)].append(float(d))
    visits = {c: len(v) for c, v in draw_time.items()}
    extra = {c: sum(draw_time[c]) - visits[c] * table_time[c] for c in draw_time}
    total_extra = sum(extra.values())
    diffs: dict[int, list[float]] = {q: [] for q in PER_QUERY}
    for table_run, draw_run in pairs:
        (tv, _), (dv, _) = table_run.incumbents(), draw_run.incumbents()
        tq = np.cumsum(table_run.epochs == table_run.max_epochs)
        dq = np.cumsum(draw_run.epochs == draw_run.max_epochs)
        for q in PER_QUERY:
            i, j = np.searchsorted(tq, q), np.searchsorted(dq, q)
            if i < len(tv) and j < len(dv):
                diffs[q].append(dv[j] - tv[i])
    by_query = {q: float(np.mean(d)) if d else float("nan") for q, d in diffs.items()}
    return {
        "queries": (
            float(np.mean([len(t.cells) for t, _ in pairs])),
            float(np.mean([len(d.cells) for _, d in pairs])),
        ),
        "same_cell_queries": int(sum(visits.values())),
        "time": (
            sum(visits[c] * table_time[c] for c in visits) / max(sum(visits.values()), 1),
            sum(sum(v) for v in draw_time.values()) / max(sum(visits.values()), 1),
        ),
        "cells": [
            {
                "cell": c,
                "vertices": int(num_vertices[c]),
                "visits": visits[c],
                "table": table_time[c],
                "draws": float(np.mean(draw_time[c])),
                "share": extra[c] / total_extra if total_extra else float("nan"),
            }
            for c in sorted(extra, key=lambda c: -extra[c])[:SHOWN_CELLS]
        ],
        "incumbent_by_query": by_query,
    }


def render(results: dict, first: int) -> str:
    lines = []
    for optimizer, r in results.items():
        (tq, dq), (tt, dt) = r["queries"], r["time"]
        lines.append(
            f"{optimizer}: queries per run {tq:.0f} on the table, {dq:.0f} on the draws "
            f"({dq / tq - 1:+.1%})"
        )
        lines.append(
            f"  first {first} queries, {r['same_cell_queries']:,} on the same cell: mean time "
            f"charged {tt:.0f} on the table, {dt:.0f} on the draws ({dt / tt - 1:+.1%})"
            if tt
            else f"  first {first} queries: no query on the same cell"
        )
        for c in r["cells"]:
            lines.append(
                f"    cell {c['cell']} ({c['vertices']} vertices, {c['visits']} queries): "
                f"table {c['table']:.0f}, draws {c['draws']:.0f}, {c['share']:.0%} of the "
                "difference"
            )
        lines.append(
            "  incumbent after n queries, draws - table: "
            + ", ".join(f"{q}: {v:+.4f}" for q, v in r["incumbent_by_query"].items())
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="an eval.fidelity output folder")
    parser.add_argument("--track", default="multifidelity", help="default multifidelity")
    parser.add_argument("--first", type=int, default=20, help="queries compared (default 20)")
    args = parser.parse_args(argv)
    pairs = paired_runs(args.folder, args.track)
    print(render({o: charged(p, args.first) for o, p in pairs.items()}, args.first))


if __name__ == "__main__":
    main()
