"""The README's table of a surrogate's held-out metrics, read from its ``metadata.json``.

Prints, as Markdown, one row per target: labelled, training and test cells, then R², MAE,
Kendall tau, Spearman, sparse Kendall tau and the top-1 %/5 % precision on the target's test
split (what ``train_surrogate.py`` stored). With ``--update README.md`` the block between the
README's ``<!-- surrogate-metrics -->`` markers is replaced by it (run it after retraining the
bundled default; ``tests/test_readme.py`` checks that the two agree).

Usage::

    python benchmarks/surrogate_card.py [ARTIFACT] [--update README.md] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

BEGIN, END = "<!-- surrogate-metrics:begin -->", "<!-- surrogate-metrics:end -->"
_COLUMNS = (
    ("r2", "R²"),
    ("mae", "MAE"),
    ("kendall_tau", "Kendall τ"),
    ("spearman", "Spearman"),
    ("sparse_kendall_tau", "sparse τ"),
    ("precision_top1", "top-1 %"),
    ("precision_top5", "top-5 %"),
)


def card_data(artifact: str | Path | None = None) -> dict:
    """The artifact's held-out metrics per target, as stored in its ``metadata.json``
    (default: the bundled one), with the artifact's digest."""
    from surrogate.artifact import DEFAULT_ARTIFACT, load_artifact

    path = Path(artifact) if artifact is not None else DEFAULT_ARTIFACT
    meta = json.loads((path / "metadata.json").read_text())
    targets = {}
    for target in meta["targets"]:
        info = meta["target_info"][target]
        targets[target] = {
            "labelled_cells": info["labelled_cells"],
            "train_cells": info["train_cells"],
            "test_cells": info["test_cells"],
            "metrics": {k: (info.get("metrics") or {}).get(k) for k, _ in _COLUMNS},
        }
    return {
        "script": "benchmarks/surrogate_card.py",
        "artifact": "bundled" if artifact is None else str(artifact),
        "artifact_digest": load_artifact(path).digest,
        "targets": targets,
    }


def render_table(data: dict) -> str:
    """The Markdown table of :func:`card_data`'s output (also from its JSON)."""
    lines = [
        "| target | labelled cells | train | test | "
        + " | ".join(title for _, title in _COLUMNS)
        + " |",
        "|---|---:|---:|---:|" + "---:|" * len(_COLUMNS),
    ]
    for target, info in data["targets"].items():
        metrics = info["metrics"]

        def cell(key: str) -> str:
            value = metrics.get(key)
            if value is None:
                return "–"
            return f"{value:.1f}" if key == "mae" and abs(value) >= 10 else f"{value:.3f}"

        lines.append(
            f"| `{target}` | {info['labelled_cells']:,} | {info['train_cells']:,} | "
            f"{info['test_cells']:,} | " + " | ".join(cell(k) for k, _ in _COLUMNS) + " |"
        )
    return "\n".join(lines)


def metrics_table(artifact: str | Path | None = None) -> str:
    """The Markdown table of the artifact's held-out metrics (default: the bundled one)."""
    return render_table(card_data(artifact))


def update(readme: Path, table: str) -> None:
    """Replace the block between the markers of ``readme`` by ``table``."""
    text = readme.read_text()
    pattern = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END), flags=re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no {BEGIN} ... {END} block")
    readme.write_text(pattern.sub(lambda _: f"{BEGIN}\n{table}\n{END}", text))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("artifact", nargs="?", default=None)
    parser.add_argument(
        "--update",
        type=Path,
        default=None,
        metavar="README",
        help="replace the metrics block of this Markdown file",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the metrics as strict JSON here",
    )
    args = parser.parse_args()
    data = card_data(args.artifact)
    if args.json is not None:
        from nb101.io import write_json

        write_json(args.json, {**data, "args": {"artifact": args.artifact}}, indent=1)
    table = render_table(data)
    if args.update is not None:
        update(args.update, table)
        print(f"updated {args.update}")
    else:
        print(table)


if __name__ == "__main__":
    main()
