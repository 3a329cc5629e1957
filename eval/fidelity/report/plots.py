"""The report's figures: incumbent curves, ranking agreement and landscape per track."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .targets import LANDSCAPE_SIX, TARGETS

__all__ = ["plot_curves", "plot_ranking", "plot_landscape"]


def _save(fig, path: Path) -> None:
    import matplotlib.pyplot as plt

    from nb101.io import atomic_path

    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_curves(track: dict, name: str, path: Path) -> None:
    plt = _pyplot()
    panels = [(study, label) for study in track["studies"] for label in study["curves"]]
    cols = min(len(panels), 4)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(4.2 * cols, 3.4 * rows), sharey=True, squeeze=False
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    if max(len(study["optimizers"]) for study in track["studies"]) > len(colors):
        colors = [plt.get_cmap("tab20")(i) for i in range(20)]  # project + external ones
    lows = []
    for ax, (study, label) in zip(axes.ravel(), panels):
        grid = np.array(study["grid"])
        for k, n in enumerate(study["optimizers"]):
            c = study["curves"][label][n]
            m, s = np.array(c["mean"], dtype=float), np.array(c["sem"], dtype=float)
            col = colors[k % len(colors)]
            ax.plot(
                grid, m, label=n + (" (ext.)" if n in study.get("external", ()) else ""), color=col
            )
            ax.fill_between(grid, m - 1.96 * s, m + 1.96 * s, color=col, alpha=0.2)
            if "true_mean" in c:
                ax.plot(grid, np.array(c["true_mean"], dtype=float), color=col, ls="--", lw=0.8)
            if np.isfinite(m).any():
                lows.append(np.nanpercentile(m, 10))
        ax.set_xscale("log")
        ax.set_title(
            f"{study['name']}: {label}" + ("" if label == "table" else " (dashed: true)"),
            fontsize=9,
        )
        ax.set_xlabel("budget (full trainings)")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_axis_off()
    axes[0][0].set_ylabel("incumbent " + ("test" if name == "full" else "validation") + " acc.")
    if lows:
        axes[0][0].set_ylim(bottom=min(lows))
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"track {name}: mean incumbent over seeds (band: 95 % interval)")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))  # room for the title
    _save(fig, path)


def plot_ranking(track: dict, name: str, path: Path) -> None:
    """One row per comparison (a surrogate, or the table's seed halves as the reference),
    one marker per ranking budget with its bootstrap interval: readable for any number of
    folds and splits."""
    plt = _pyplot()
    rows = []
    for study in track["studies"]:
        for label, s in study["surrogates"].items():
            rows.append((f"{study['name']}: {label}", s["mean_of_draws"], False))
        if "reference_seed_halves" in study:
            rows.append(
                (f"{study['name']}: table seed halves", study["reference_seed_halves"], True)
            )
    budgets = [f"{b:.3g}" for b in track["studies"][0]["rank_budgets"]]
    colors = ("tab:blue", "tab:orange", "tab:green")
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.4 + 0.32 * len(rows)), sharey=True)
    for ax, key, title, low in (
        (axes[0], "kendall_tau", "Kendall tau of rankings", -1),
        (axes[1], "agreement", "pairwise verdict agreement", 0),
    ):
        empty = True
        for y, (_, s, reference) in enumerate(rows):
            vals = np.array(s[key], dtype=float)
            cis = s.get(f"{key}_ci") or [[None, None]] * len(vals)
            for j, (v, c) in enumerate(zip(vals, cis)):
                if not np.isfinite(v):
                    continue
                empty = False
                err = None if c[0] is None else [[max(v - c[0], 0)], [max(c[1] - v, 0)]]
                ax.errorbar(
                    [v],
                    [y + (j - 1) * 0.22],
                    xerr=err,
                    capsize=2,
                    fmt="o" if not reference else "d",
                    ms=4,
                    color="gray" if reference else colors[j % len(colors)],
                    label=(
                        f"budget {budgets[j]}"
                        if not reference
                        else "table seed halves (reference; budgets in the same order)"
                    ),
                )
        if key == "kendall_tau":
            ax.axvline(TARGETS["tau_min"], color="black", lw=0.8, ls="--")
        ax.set_xlim(low, 1)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, axis="x")
        if empty:
            ax.text(
                0.5,
                0.5,
                "no optimizer pair differs significantly\n(Mann-Whitney, "
                "alpha 0.05) on either backend:\nno verdict to agree on"
                if key == "agreement"
                else "no ranking (fewer than two optimizers)",
                ha="center",
                va="center",
                transform=ax.transAxes,
                fontsize=8,
            )
    axes[0].set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=7)
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=4, fontsize=7)
    fig.suptitle(
        f"track {name}: ranking agreement with the table at each budget (full "
        f"trainings; bars: 95 % bootstrap over seeds; dashed: the tau target)",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.45 / (1.4 + 0.32 * len(rows)), 1, 1))
    _save(fig, path)


def plot_landscape(track: dict, name: str, path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(LANDSCAPE_SIX), figsize=(2.6 * len(LANDSCAPE_SIX), 3.6))
    for ax, stat in zip(axes, LANDSCAPE_SIX):
        labels = []
        for study in track["studies"]:
            for label, s in study["surrogates"].items():
                if "landscape" not in s:
                    continue
                t = s["landscape"]["table"][stat]
                y = len(labels)
                ax.errorbar(
                    [t["value"]],
                    [y],
                    xerr=[[t["value"] - t["ci_low"]], [t["ci_high"] - t["value"]]],
                    fmt="s",
                    color="black",
                    capsize=3,
                )
                sur = s["landscape"]["surrogate"][stat]
                ax.plot(
                    sur["draws"], [y + 0.2] * len(sur["draws"]), ".", color="tab:blue", alpha=0.5
                )
                ax.plot(
                    [sur["value"]],
                    [y + 0.2],
                    "o",
                    color="tab:green" if sur["inside"] else "tab:red",
                )
                labels.append(f"{study['name']}: {label}")
        ax.set_yticks(
            range(len(labels)), labels if ax is axes[0] else [""] * len(labels), fontsize=7
        )
        ax.set_title(stat.replace("_", " "), fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle(
        f"track {name}: landscape (black: table, 95 % interval; dots: surrogate "
        f"draws; green/red: their mean inside/outside)",
        fontsize=9,
    )
    fig.tight_layout()
    _save(fig, path)
