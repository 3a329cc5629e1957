"""Aggregation and outputs of the predictor protocol: leaderboard Markdown/CSV, learning-curve
PNGs and the JSON of every trial.

Each (predictor, split kind, size) row holds, per metric, the mean over the trials that ran
and a two-sided 95 % Student-t interval ``mean +- t(0.975, n - 1) * sd / sqrt(n)`` (NaN with
one trial), clipped to the values the metric can take (:data:`METRIC_RANGES`: a rank
correlation stays in [-1, 1], a precision in [0, 1], an error or a time >= 0), so few noisy
trials never report or draw a Kendall tau of 1.5. The leaderboard writes an interval as
``mean ± half-width``, or as ``mean [low, high]`` where clipping made it asymmetric. Metrics
that are NaN in a trial (Kendall tau of constant predictions) are left out of that metric's
mean.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from nb101._optional import require
from nb101.io import atomic_path, write_json
from nb101.paths import user_path
from surrogate.metrics import METRIC_RANGES as _SCORE_RANGES

__all__ = [
    "METRICS",
    "TIMES",
    "METRIC_RANGES",
    "INTERVAL",
    "summarize",
    "write_outputs",
    "leaderboard_markdown",
]

#: Metrics of every trial, in leaderboard order.
METRICS = (
    "kendall_tau",
    "spearman",
    "sparse_kendall_tau",
    "r2",
    "mae",
    "precision_top1",
    "precision_top5",
)
#: Timing of every trial: fit seconds and query microseconds per cell.
TIMES = ("fit_s", "query_us_per_cell")
#: ``(low, high)`` of every metric and time; intervals are clipped to it.
METRIC_RANGES: dict[str, tuple[float, float]] = {
    **{key: _SCORE_RANGES[key] for key in METRICS},
    **{key: (0.0, math.inf) for key in TIMES},
}
#: How the rows' intervals are made (recorded in the outputs).
INTERVAL = (
    "95 % Student-t interval over trials, mean +- t(0.975, n-1) sd/sqrt(n), clipped to "
    "the metric's range"
)
_HEADERS = {
    "kendall_tau": "Kendall τ",
    "spearman": "Spearman",
    "sparse_kendall_tau": "sparse τ",
    "r2": "R²",
    "mae": "MAE",
    "precision_top1": "prec@1%",
    "precision_top5": "prec@5%",
    "fit_s": "fit s",
    "query_us_per_cell": "query µs/cell",
}


def _interval(
    values: list[float], bounds: tuple[float, float] = (-math.inf, math.inf)
) -> tuple[float, float, float, int]:
    """Mean, 95 % Student-t interval clipped to ``bounds``, and the number of values."""
    v = np.array([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    n = len(v)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = float(v.mean())
    if n == 1:
        return mean, math.nan, math.nan, 1
    half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n))
    low, high = bounds
    return mean, max(mean - half, low), min(mean + half, high), n


def summarize(trials: list[dict], predictor_order: list[str]) -> list[dict]:
    """One row per (split kind, size, predictor) with mean/ci of every metric and time."""
    groups: dict[tuple, list[dict]] = {}
    for t in trials:
        groups.setdefault((t["split"], t["size"], t["predictor"]), []).append(t)
    rank = {p: i for i, p in enumerate(predictor_order)}
    rows = []
    for (kind, size, name), group in sorted(
        groups.items(),
        key=lambda kv: (kv[0][0] != "sample", kv[0][1], rank.get(kv[0][2], len(rank))),
    ):
        ok = [t for t in group if t["status"] == "ok"]
        errors = [t["error"] for t in group if t["status"] != "ok"]
        row: dict[str, Any] = {
            "split": kind,
            "size": size,
            "predictor": name,
            "origin": group[0].get("origin", "builtin"),
            "trials": len(group),
            "trials_ok": len(ok),
            "test_size": group[0].get("test_size"),
        }
        if not ok:
            row["status"] = "failed"
        elif errors:
            row["status"] = f"{len(errors)}/{len(group)} trials failed"
        else:
            row["status"] = "ok"
        row["error"] = errors[0] if errors else ""
        for key in (*METRICS, *TIMES):
            source = [t["metrics"].get(key) if key in METRICS else t.get(key) for t in ok]
            mean, lo, hi, n = _interval(source, METRIC_RANGES[key])
            row[key] = mean
            row[f"{key}_ci_low"] = lo
            row[f"{key}_ci_high"] = hi
        rows.append(row)
    return rows


def _fmt(x: float, digits: int = 3) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def _cell(row: dict, key: str, digits: int = 3) -> str:
    mean, lo, hi = row[key], row[f"{key}_ci_low"], row[f"{key}_ci_high"]
    if not np.isfinite(mean):
        return "–"
    if not np.isfinite(lo):
        return _fmt(mean, digits)
    if not math.isclose(hi - mean, mean - lo, rel_tol=1e-9, abs_tol=1e-12):  # clipped
        return f"{mean:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"
    return f"{mean:.{digits}f} ± {(hi - lo) / 2:.{digits}f}"


def _sorted_rows(rows: list[dict]) -> list[dict]:
    return sorted(
        rows,
        key=lambda r: (
            r["status"] == "failed",
            -(r["kendall_tau"] if np.isfinite(r["kendall_tau"]) else -np.inf),
        ),
    )


def leaderboard_markdown(rows: list[dict], meta: dict) -> str:
    """The leaderboard as Markdown: a header (data, protocol, noise ceiling) and one table per
    (split kind, size), best Kendall tau first."""
    cfg = meta["config"]
    lines = [f"# Predictor leaderboard: {meta['target']} on {meta['table']}", ""]
    lines.append(
        f'Protocol of White et al. (2021), "How Powerful are Performance Predictors '
        f'in Neural Architecture Search?": {cfg["trials"]} trials per size (seed '
        f"{cfg['seed']}), {meta['n_cells']} labelled cells."
    )
    if meta.get("sample_test_size"):
        lines.append(
            f"Sample splits: a fixed seeded test set of {meta['sample_test_size']} "
            f"cells; each trial's training sets are nested prefixes of one seeded "
            f"permutation of the other cells."
        )
    if meta.get("standard_test_size"):
        lines.append(
            f"Standard splits of the exhaustive table: training cells drawn from the "
            f"whole space, tested on {meta['standard_test_size']} other cells."
        )
    lines += [
        "",
        "Each entry: mean ± half-width of a 95 % Student-t interval over trials, "
        "clipped to the metric's range (shown as mean [low, high] where clipped). "
        "Fit time includes featurization; query time is per test cell.",
        "",
    ]
    ceiling = meta.get("noise_ceiling") or {}
    lines.append("## Noise ceiling")
    lines.append("")
    if ceiling.get("kendall_tau") is not None:
        lines.append(
            f"Kendall τ ceiling ≈ **{ceiling['kendall_tau']:.3f}** "
            f"[{ceiling['ci_low']:.3f}, {ceiling['ci_high']:.3f}] "
            f"(method: {ceiling['method']}). {ceiling.get('note', '')}"
        )
    else:
        lines.append(ceiling.get("note", "not computed"))
    by_split: dict[tuple, list[dict]] = {}
    for row in rows:
        by_split.setdefault((row["split"], row["size"]), []).append(row)
    keys = (
        "kendall_tau",
        "spearman",
        "sparse_kendall_tau",
        "r2",
        "mae",
        "precision_top1",
        "precision_top5",
    )
    for (kind, size), group in by_split.items():
        test_size = group[0].get("test_size")
        title = "standard split" if kind == "standard" else "sample split"
        lines += ["", f"## {title}: {size} training cells (test: {test_size} cells)", ""]
        header = [
            "#",
            "predictor",
            *(_HEADERS[k] for k in keys),
            "fit s",
            "query µs/cell",
            "trials",
            "status",
        ]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        for i, row in enumerate(_sorted_rows(group), 1):
            status = (
                row["status"]
                if not row["error"]
                else (f"{row['status']}: {row['error']}".replace("|", "/").replace("\n", " "))
            )
            cells = [
                str(i),
                f"`{row['predictor']}`",
                *(_cell(row, k) for k in keys),
                _cell(row, "fit_s", 2),
                _cell(row, "query_us_per_cell", 1),
                f"{row['trials_ok']}/{row['trials']}",
                status[:300],
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _plot(rows: list[dict], kind: str, path: Path, meta: dict, metric: str = "kendall_tau") -> bool:
    matplotlib = require("matplotlib", "eval", "the predictor protocol's figures")
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    sel = [r for r in rows if r["split"] == kind and np.isfinite(r[metric])]
    if not sel:
        return False
    names = list(dict.fromkeys(r["predictor"] for r in sel))
    fig, ax = plt.subplots(figsize=(9, 6))
    cmap = plt.get_cmap("tab20")
    for i, name in enumerate(names):
        pts = sorted((r for r in sel if r["predictor"] == name), key=lambda r: r["size"])
        x = np.array([r["size"] for r in pts], dtype=float)
        y = np.array([r[metric] for r in pts])
        lo = np.array([r[f"{metric}_ci_low"] for r in pts])
        hi = np.array([r[f"{metric}_ci_high"] for r in pts])
        color = cmap(i % 20)
        style = "-" if i < 10 else "--"
        ax.plot(x, y, style, marker="o", ms=3, color=color, label=name, lw=1.2)
        ok = np.isfinite(lo) & np.isfinite(hi)
        if ok.any():
            ax.fill_between(x[ok], lo[ok], hi[ok], color=color, alpha=0.12, lw=0)
    ceiling = meta.get("noise_ceiling") or {}
    if ceiling.get("kendall_tau") is not None and metric == "kendall_tau":
        ax.axhline(
            ceiling["kendall_tau"],
            color="k",
            ls=":",
            lw=1,
            label=f"noise ceiling ({ceiling['method']})",
        )
        if ceiling.get("ci_low") is not None:
            ax.axhspan(ceiling["ci_low"], ceiling["ci_high"], color="k", alpha=0.06, lw=0)
    ax.set_xscale("log")
    ax.set_xlabel("training cells")
    ax.set_ylabel(_HEADERS[metric])
    what = "standard splits" if kind == "standard" else "sample splits"
    ax.set_title(f"{meta['target']} ({what}, mean and 95 % interval over trials)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, format="png")
    plt.close(fig)
    return True


def write_outputs(
    rows: list[dict], trials: list[dict], meta: dict, out: str | Path
) -> dict[str, Path]:
    """Write ``leaderboard.md``, ``leaderboard.csv``, ``trials.json`` and the learning-curve
    PNGs (``learning_curve_kendall_tau.png``, ``learning_curve_standard_kendall_tau.png``)
    into folder ``out``; returns the paths written."""
    out = user_path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": out / "leaderboard.md",
        "csv": out / "leaderboard.csv",
        "json": out / "trials.json",
    }
    with atomic_path(paths["markdown"], suffix=".md") as tmp:
        tmp.write_text(leaderboard_markdown(rows, meta), encoding="utf-8")
    fields = ["split", "size", "predictor", "origin", "status", "trials", "trials_ok", "test_size"]
    for key in (*METRICS, *TIMES):
        fields += [key, f"{key}_ci_low", f"{key}_ci_high"]
    fields.append("error")
    with (
        atomic_path(paths["csv"], suffix=".csv") as tmp,
        open(tmp, "w", newline="", encoding="utf-8") as fh,
    ):
        writer = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: ("" if isinstance(v, float) and not np.isfinite(v) else v)
                    for k, v in row.items()
                }
            )
    write_json(paths["json"], {**meta, "trials": trials}, indent=1)
    for kind, name in (
        ("sample", "learning_curve_kendall_tau.png"),
        ("standard", "learning_curve_standard_kendall_tau.png"),
    ):
        if _plot(rows, kind, out / name, meta):
            paths[f"plot_{kind}"] = out / name
    return paths
