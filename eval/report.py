"""Report of the fidelity study: statistics (JSON), Markdown and PNG figures."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from .stats import curve_gap, draw_consistency, ranking_tau, verdict_agreement

__all__ = ["build_report", "write_markdown"]


def _grid(budget: float, unit: float) -> np.ndarray:
    """Log-spaced budgets from ``max(unit, budget / 100)`` to ``budget``."""
    from .fidelity import GRID_POINTS
    lo = min(max(unit, budget / 100), budget)
    return np.geomspace(lo, budget, GRID_POINTS)


def build_report(config, tracks, names, backends, budgets, files, table, out: Path) -> dict:
    from .fidelity import RANK_AT, _backend, _load_run
    from .optimizers import OPTIMIZERS
    report = {"config": {k: (str(v) if isinstance(v, Path) else v)
                         for k, v in vars(config).items()},
              "table": str(table),
              "backends": {label: str(p) for _, label, p, _ in backends},
              "tracks": {}}
    for t in tracks:
        opt = [n for n in names if not OPTIMIZERS[n].multi_fidelity or t == "multifidelity"]
        unit = budgets[t] / float(config.budget)  # one full training in track units
        grid = _grid(budgets[t], unit)
        truth = _truth(_backend("table", str(table), t, True, 1), t)
        curves: dict[str, dict[str, np.ndarray]] = {}
        true_curves: dict[str, dict[str, np.ndarray]] = {}
        for _, label, _, _ in backends:
            curves[label], true_curves[label] = {}, {}
            for n in opt:
                vals, trues = [], []
                for seed in range(config.seeds):
                    r = _load_run(files[(t, label, n, seed)])
                    v, c = r.curve(grid)
                    vals.append(v)
                    tv = np.where(c >= 0, truth[np.maximum(c, 0)], np.nan)
                    trues.append(tv)
                curves[label][n] = np.array(vals)
                true_curves[label][n] = np.array(trues)
        at_idx = [int(np.argmin(np.abs(grid - f * budgets[t]))) for f in RANK_AT]
        table_c = curves["table"]
        half = config.seeds // 2
        entry = {"budget": budgets[t], "unit_per_full_training": unit,
                 "grid": grid.tolist(), "rank_budgets": [grid[i] for i in at_idx],
                 "optimizers": opt, "curves": {}, "surrogates": {}}
        main = [label for _, label, _, noise_seed in backends if noise_seed == 0]
        for label in main:
            entry["curves"][label] = {
                n: {"mean": _nanmean(curves[label][n]).tolist(),
                    "sem": _sem(curves[label][n]).tolist(),
                    **({"true_mean": _nanmean(true_curves[label][n]).tolist()}
                       if label != "table" else {})}
                for n in opt}
        for label in main[1:]:
            s = _compare(curves[label], table_c, at_idx)
            true = _compare(true_curves[label], table_c, at_idx)
            s.update(gap_true=true["gap"], kendall_tau_true=true["kendall_tau"],
                     agreement_true=true["agreement"])
            entry["surrogates"][label] = s
        if half >= 2:
            ref = _compare({n: table_c[n][:half] for n in opt},
                           {n: table_c[n][half:2 * half] for n in opt}, at_idx)
            ref["seeds_per_half"] = half
        else:
            ref = {"note": "needs at least 4 seeds"}
        entry["reference_seed_halves"] = ref
        # the first surrogate holding other draws of its simulated runs: mean over pairs
        draws = {0: main[1]} | {k: label for _, label, _, k in backends if k}
        if len(draws) > 1:
            pairs = [_compare(curves[draws[i]], curves[draws[j]], at_idx)
                     for i, j in itertools.combinations(sorted(draws), 2)]
            ref = _mean_of(pairs, opt)
            ref.update(surrogate=main[1], noise_seeds=sorted(draws), pairs=pairs)
            entry["reference_realizations"] = ref
            # one draw against the table is one sample of a wide distribution: its mean over
            # the draws estimates the surrogate's fidelity without the luck of its draw
            each = [_compare(curves[draws[k]], table_c, at_idx) for k in sorted(draws)]
            over = _mean_of(each, opt)
            over.update(surrogate=main[1], noise_seeds=sorted(draws), draws=each)
            over["consistency"] = [draw_consistency(
                table_c, [curves[draws[k]] for k in sorted(draws)], i) for i in at_idx]
            entry["draws_vs_table"] = over
        report["tracks"][t] = entry
        _plot_curves(entry, t, out / f"curves_{t}.png")
        _plot_ranking(entry, t, out / f"ranking_{t}.png")
    return report


def _compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray], at_idx: list[int]) -> dict:
    """Curve gaps, Kendall tau, verdict agreement and significant pairs of two backends (or
    of a reference's two sides) at the grid indices ``at_idx``."""
    verdict = [verdict_agreement(a, b, i) for i in at_idx]
    out = {"gap": {n: curve_gap(a[n], b[n]) for n in a},
           "kendall_tau": [ranking_tau(a, b, i) for i in at_idx],
           "agreement": [share for share, _ in verdict],
           "significant_pairs": [pairs for _, pairs in verdict]}
    out["mean_gap"] = float(np.nanmean(list(out["gap"].values())))
    return out


def _mean_of(comparisons: list[dict], opt: list[str]) -> dict:
    """Mean of several :func:`_compare` results (tau, agreement, gaps)."""
    out = {key: _nanmean(np.array([c[key] for c in comparisons], dtype=float)).tolist()
           for key in ("kendall_tau", "agreement")}
    out["gap"] = {n: float(_nanmean(np.array([c["gap"][n] for c in comparisons])))
                  for n in opt}
    out["mean_gap"] = float(_nanmean(np.array([c["mean_gap"] for c in comparisons])))
    return out


def _surrogate_rows(entry: dict) -> dict[str, dict]:
    """Display name -> statistics of every surrogate-against-table comparison."""
    out = dict(entry["surrogates"])
    if "draws_vs_table" in entry:
        d = entry["draws_vs_table"]
        seeds = "/".join(str(k) for k in d["noise_seeds"])
        out[f"{d['surrogate']}, draws {seeds} (mean)"] = d
    return out


def _references(entry: dict) -> dict[str, dict]:
    """Display name -> statistics of the references present in a track entry."""
    out = {}
    if "kendall_tau" in entry["reference_seed_halves"]:
        out["table seed halves"] = entry["reference_seed_halves"]
    if "reference_realizations" in entry:
        out[f"{entry['reference_realizations']['surrogate']} run-noise realizations"] = \
            entry["reference_realizations"]
    return out


def _truth(table, track: str) -> np.ndarray:
    """The table's objective at 108 epochs for every cell (NaN where it has none)."""
    from .tracks import resolve_track
    metric = resolve_track(track).objective
    cells = table.covered_indices(epochs=108, require=(metric,))
    out = np.full(len(table.space), np.nan)
    out[cells] = table.query_batch(cells, 108)[metric]
    table.reset_budget_counters()
    return out


def _nanmean(x):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(x, axis=0)


def _sem(x):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        n = np.maximum(np.isfinite(x).sum(0), 1)
        return np.nanstd(x, axis=0) / np.sqrt(n)


def _plot_curves(entry: dict, track: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nb101._io import atomic_path

    labels = list(entry["curves"])
    grid = np.array(entry["grid"]) / entry["unit_per_full_training"]
    fig, axes = plt.subplots(1, len(labels), figsize=(4.2 * len(labels), 3.6), sharey=True,
                             squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    lows = []
    for ax, label in zip(axes[0], labels):
        for k, n in enumerate(entry["optimizers"]):
            c = entry["curves"][label][n]
            m, s = np.array(c["mean"], dtype=float), np.array(c["sem"], dtype=float)
            col = colors[k % len(colors)]
            ax.plot(grid, m, label=n, color=col)
            ax.fill_between(grid, m - s, m + s, color=col, alpha=0.2)
            if "true_mean" in c:
                ax.plot(grid, np.array(c["true_mean"], dtype=float), color=col, ls="--",
                        lw=0.8)
            if np.isfinite(m).any():
                lows.append(np.nanpercentile(m, 10))
        ax.set_xscale("log")
        ax.set_title(label if label == "table" else f"surrogate {label} (dashed: true)")
        ax.set_xlabel("budget (full trainings)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"incumbent {'test' if track == 'full' else 'validation'} acc.")
    if lows:
        axes[0][0].set_ylim(bottom=min(lows))
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"track {track}")
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def _plot_ranking(entry: dict, track: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nb101._io import atomic_path

    rows = {f"surrogate {k}": v for k, v in _surrogate_rows(entry).items()}
    rows.update(_references(entry))
    fig, axes = plt.subplots(1, 2, figsize=(9, 4.2))
    budgets = [f"{b / entry['unit_per_full_training']:.3g}" for b in entry["rank_budgets"]]
    width = 0.8 / max(1, len(rows))
    x = np.arange(len(budgets))
    for ax, key, title in ((axes[0], "kendall_tau", "Kendall tau of rankings"),
                           (axes[1], "agreement", "pairwise verdict agreement")):
        for k, (name, s) in enumerate(rows.items()):
            vals = np.array(s[key], dtype=float)
            ax.bar(x + k * width, np.nan_to_num(vals, nan=0.0), width, label=name)
        ax.set_xticks(x + width * (len(rows) - 1) / 2, budgets)
        ax.set_xlabel("budget (full trainings)")
        ax.set_ylim(-1 if key == "kendall_tau" else 0, 1)
        ax.set_title(title)
        ax.grid(alpha=0.3, axis="y")
    # below the axes: with the references there are too many bars for an inset legend
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7)
    fig.suptitle(f"track {track}: ranking agreement with the table")
    fig.tight_layout(rect=(0, 0.06 * ((len(rows) + 2) // 3) + 0.02, 1, 1))
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def _f(x, digits=3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else \
        f"{x:.{digits}f}"


def _consistency_lines(entry: dict) -> list[str]:
    """Markdown: is the table's final result a plausible further draw of the surrogate?"""
    if "draws_vs_table" not in entry:
        return []
    over = entry["draws_vs_table"]
    final = over["consistency"][-1]
    k = len(over["noise_seeds"])
    lines = ["", f"Is the table a plausible further draw of `{over['surrogate']}`? Final budget; "
             f"t = (table - mean of the {k} draws) / (sd x sqrt(1 + 1/{k})), Student t with "
             f"{k - 1} dof, two-sided p.", "",
             "| optimizer | table | draws mean | draws sd | t | p |", "|---|---|---|---|---|---|"]
    for n, c in final.items():
        lines.append(f"| {n} | {_f(c['table'], 4)} | {_f(c['draws_mean'], 4)} | "
                     f"{_f(c['draws_sd'], 4)} | {_f(c['t'], 2)} | {_f(c['p'], 3)} |")
    outside = sum(1 for c in final.values() if np.isfinite(c["p"]) and c["p"] < 0.05)
    lines += ["", f"Outside the 95 % prediction interval: {outside} of {len(final)} optimizers."]
    return lines


def write_markdown(report: dict, path: Path) -> None:
    from nb101._io import atomic_path
    lines = ["# Algorithm-ranking fidelity", ""]
    cfg = report["config"]
    lines += [f"Table: `{report['table']}`; seeds: {cfg['seeds']}; budget: {cfg['budget']} "
              f"full trainings; timing: {report.get('timing', {})}.", ""]
    for t, e in report["tracks"].items():
        unit = e["unit_per_full_training"]
        lines += [f"## Track `{t}`", "",
                  f"Budget {e['budget']:.6g} (track unit), rankings compared at "
                  + ", ".join(f"{b / unit:.3g}" for b in e["rank_budgets"])
                  + " full trainings.", "",
                  f"![curves](curves_{t}.png)", "", f"![ranking](ranking_{t}.png)", ""]
        header = "| optimizer | table final | " + " | ".join(
            f"{s} final (true) | {s} gap (true)" for s in e["surrogates"]) + " |"
        lines += [header, "|" + "---|" * (2 + 2 * len(e["surrogates"]))]
        for n in e["optimizers"]:
            row = [n, _f(e["curves"]["table"][n]["mean"][-1], 4)]
            for s, st in e["surrogates"].items():
                c = e["curves"][s][n]
                row.append(f"{_f(c['mean'][-1], 4)} ({_f(c['true_mean'][-1], 4)})")
                row.append(f"{_f(st['gap'][n], 4)} ({_f(st['gap_true'][n], 4)})")
            lines.append("| " + " | ".join(row) + " |")
        lines += ["", "| comparison | " + " | ".join(
            f"tau@{b / unit:.3g}" for b in e["rank_budgets"]) + " | " + " | ".join(
            f"agree@{b / unit:.3g}" for b in e["rank_budgets"]) + " | mean gap |",
            "|" + "---|" * (2 + 2 * len(e["rank_budgets"]))]
        rows = _surrogate_rows(e)
        rows.update({f"{k} (reference)": v for k, v in _references(e).items()})
        for name, s in rows.items():
            lines.append(f"| {name} | " + " | ".join(_f(v) for v in s["kendall_tau"]) + " | "
                         + " | ".join(_f(v) for v in s["agreement"])
                         + f" | {_f(s['mean_gap'], 4)} |")
        lines += _consistency_lines(e)
        lines.append("")
    lines += ["Gap: mean over the log-spaced grid of |seed-mean surrogate curve - seed-mean "
              "table curve|; (true): the surrogate incumbents' table values. Agreement: share "
              "of optimizer pairs significant (Mann-Whitney U, alpha 0.05) on either backend "
              "whose verdicts agree. References: the same between two disjoint halves of the "
              "table seeds (seed noise), and between draws of the first surrogate's simulated "
              "runs (noise_seed 0, 1, ...), over the same seeds, averaged over pairs of draws "
              "(run-noise realizations; the table holds one realization). \"draws ... "
              "(mean)\": every draw of the first surrogate against the table, averaged over "
              "the draws.", ""]
    with atomic_path(path, suffix=".md") as tmp:
        tmp.write_text("\n".join(lines))
