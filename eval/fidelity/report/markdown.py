"""The report as Markdown (``fidelity.md``)."""

from __future__ import annotations

from pathlib import Path

from .targets import LANDSCAPE_SIX
from .text import fmt, fmt_ci, on_one, percent

__all__ = ["write_markdown"]


def write_markdown(report: dict, path: Path) -> None:
    """Write the verdict, the settings and every study's tables to ``path`` (atomically)."""
    from nb101.io import atomic_path

    cfg = report["config"]
    lines = [
        "# Algorithm-ranking fidelity",
        "",
        report["verdict"],
        "",
        f"Table: `{report['table']}`; protocol: {cfg['protocol']}; seeds: {cfg['seeds']}; "
        f"budget: {cfg['budget']} full trainings; realizations: {cfg['realizations']}"
        + (f" (noise_seed from {cfg['first_noise_seed']})" if cfg.get("first_noise_seed") else "")
        + "; "
        f"timing: {report.get('timing', {})}.",
        "",
    ]
    for t, track in report["tracks"].items():
        lines += [
            f"## Track `{t}`",
            "",
            f"![curves](curves_{t}.png)",
            "",
            f"![ranking](ranking_{t}.png)",
            "",
        ]
        if (Path(path).parent / f"landscape_{t}.png").exists():
            lines += [f"![landscape](landscape_{t}.png)", ""]
        for study in track["studies"]:
            lines += _study_lines(study)
        if track.get("over_samples"):
            lines += ["### Over training samples", ""]
            lines += _over_cases_table(track["over_samples"], "sample")
            for label, summary in track["over_samples"].items():
                lines += [f"{label}: samples {', '.join(summary['samples'])}.", ""]
        if track.get("over_folds"):
            lines += ["### Over folds", ""]
            lines += _over_cases_table(track["over_folds"], "fold")
            for label, summary in track["over_folds"].items():
                folds = summary.get("attainable_folds")
                if folds:
                    n = len(summary["targets_met"]["per_fold"])
                    lines += [
                        f"An exactly right surrogate ({label}'s leave-one-draw-out "
                        f"cases) would meet tau, bias and gap on {folds['expected']:.1f} "
                        f"of {n} folds on average, and on every fold with probability "
                        f"{percent(folds['every_fold'])}.",
                        "",
                    ]
                lines += [
                    f"Curve gap by optimizer over folds ({label}; attainable: an exactly "
                    f"right surrogate, leave one draw out)",
                    "",
                    "| optimizer | surrogate | attainable |",
                    "|---|---|---|",
                ]
                for n, g in summary["gap_by_optimizer"].items():
                    lines.append(f"| {n} | {fmt(g['surrogate'], 4)} | {fmt(g['attainable'], 4)} |")
                lines.append("")
                lines += _top_over_folds_lines(label, summary.get("top_structure") or {})
    lines += [
        "Surrogate = the mean of its realizations (draws of its simulated runs). "
        "Intervals: 95 % bootstrap over seeds. Gap: mean over the log-spaced grid of "
        "|surrogate - table| seed-mean curves. Agreement: share of optimizer pairs "
        "significant (Mann-Whitney U, alpha 0.05) on either backend whose verdicts agree. "
        "Bias: mean over optimizers of (surrogate - table) at the final budget, with a "
        "sign test across optimizers. True: the surrogate's incumbents valued by the "
        "table. Plausible draw: optimizers whose table result lies outside the 95 % "
        "prediction interval of the surrogate's draws (t test with K - 1 dof).",
        "",
    ]
    with atomic_path(path, suffix=".md") as tmp:
        tmp.write_text("\n".join(lines))


def _over_cases_table(over: dict, noun: str) -> list[str]:
    """Mean, min, max and the values per case (fold or sample) of every statistic."""
    lines = [
        f"| surrogate | statistic | mean | min | max | per {noun} |",
        "|---|---|---|---|---|---|",
    ]
    for label, summary in over.items():
        for key, v in summary.items():
            if not isinstance(v, dict) or "per_fold" not in v:
                continue
            per = ", ".join(fmt(x, 4) if isinstance(x, float) else str(x) for x in v["per_fold"])
            lines.append(
                f"| {label} | {key} | {fmt(v['mean'], 4)} | {fmt(v['min'], 4)}"
                f" | {fmt(v['max'], 4)} | {per} |"
            )
    return lines + [""]


def _study_lines(study: dict) -> list[str]:
    rb = " / ".join(f"{b:.3g}" for b in study["rank_budgets"])
    lines = [f"### {study['name']} ({study['protocol']}, {study['cells']:,} cells)", ""]
    finals = study.get("final_cells") or {}
    head = (
        "| optimizer | table final | "
        + " | ".join(
            f"{label} final (true) | {label} curve gap (attainable)"
            for label in study["surrogates"]
        )
        + " |"
        + "".join(f" final cells, {label} |" for label in finals)
    )
    lines += [head, "|" + "---|" * (2 + 2 * len(study["surrogates"]) + len(finals))]
    external = set(study.get("external", ()))

    def name(n: str) -> str:
        return f"{n} (external)" if n in external else n

    for n in study["optimizers"]:
        row = [name(n), fmt(study["curves"]["table"][n]["mean"][-1], 4)]
        for label, s in study["surrogates"].items():
            c = study["curves"][label][n]
            row.append(f"{fmt(c['mean'][-1], 4)} ({fmt(c['true_mean'][-1], 4)})")
            attainable = s.get("attainable", {}).get("gap", {}).get(n)
            row.append(
                fmt(s["mean_of_draws"]["gap"][n], 4)
                + ("" if attainable is None else f" ({fmt(attainable, 4)})")
            )
        for label in finals:
            c = finals[label][n]
            share = "" if c["top_share"] is None else f" ({on_one(c)})"
            row.append(f"{c['distinct']:.3g}{share}")
        lines.append("| " + " | ".join(row) + " |")
    if finals:
        lines += [
            "",
            "Final cells: the distinct cells the seeds' final incumbents are, and "
            "the share of seeds on the commonest, with the first 8 characters of its "
            "hash on the table (surrogates: mean over draws). A final "
            "value that rests on few cells is one draw of their runs, however many "
            "seeds.",
        ]
    ranks = study.get("ranks")
    if ranks:
        lines += [
            "",
            "Ranks at the final budget (1 = best; the project's and external "
            "optimizers together; surrogates: mean of draws)",
            "",
            "| optimizer | " + " | ".join(ranks) + " |",
            "|---|" + "---|" * len(ranks),
        ]
        for n in sorted(study["optimizers"], key=lambda n: (ranks["table"][n], n)):
            lines.append(f"| {name(n)} | " + " | ".join(str(r[n]) for r in ranks.values()) + " |")
    lines += [
        "",
        f"| comparison | tau @ {rb} | agreement @ {rb} | mean gap | mean bias "
        f"(sign test) | landscape | plausible-draw outside (final) |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, s in study["surrogates"].items():
        share = (
            ""
            if s["training_share"] is None
            else f", {100 * s['training_share']:.0f} % visited in training set"
        )
        rows = [
            (
                f"{label} ({s['protocol']}{share}), mean of {s['realizations']} draws",
                s["mean_of_draws"],
                s,
            )
        ]
        rows.append((f"{label}: true values", s["true"], None))
        if "draws_mean" in s:
            rows.append((f"{label}: per draw, mean", s["draws_mean"], None))
        if "reference_realizations" in s:
            rows.append((f"{label}: draw vs draw (reference)", s["reference_realizations"], None))
        if "attainable" in s:
            a = s["attainable"]
            rows.append(
                (
                    f"{label}: attainable (each draw as the table, the mean of the "
                    f"others as the surrogate; tau, bias and gap targets met in "
                    f"{a['met']['all'] * a['cases']:.0f} of {a['cases']}; bias column: "
                    f"mean abs bias)",
                    {**a, "mean_bias": a["mean_abs_bias"]},
                    None,
                )
            )
        for name, m, full in rows:
            tau = " / ".join(
                fmt(v, 2) + fmt_ci(c, 2)
                for v, c in zip(m["kendall_tau"], m.get("kendall_tau_ci") or [None] * 3)
            )
            agree = " / ".join(fmt(v, 2) for v in m["agreement"])
            bias = (
                ""
                if "sign_test" not in m
                else (
                    f"{fmt(m['mean_bias'], 4)}{fmt_ci(m.get('mean_bias_ci'), 4)} "
                    f"({m['sign_test']['positive']}+/{m['sign_test']['negative']}-, "
                    f"p {fmt(m['sign_test']['p'], 2)})"
                )
            )
            if not bias and "mean_bias" in m:
                bias = fmt(m["mean_bias"], 4)
            land = (
                f"{full['landscape']['inside']}/6"
                if full is not None and "landscape" in full
                else ""
            )
            outside = (
                str(full["plausible_draw"]["outside"][-1])
                if full is not None and "plausible_draw" in full
                else ""
            )
            lines.append(
                f"| {name} | {tau} | {agree} | {fmt(m['mean_gap'], 4)}"
                f"{fmt_ci(m.get('mean_gap_ci'), 4)} | {bias} | {land} | {outside} |"
            )
    if "reference_seed_halves" in study:
        m = study["reference_seed_halves"]
        tau = " / ".join(fmt(v, 2) for v in m["kendall_tau"])
        lines.append(
            f"| table seed halves (reference) | {tau} | "
            + " / ".join(fmt(v, 2) for v in m["agreement"])
            + f" | {fmt(m['mean_gap'], 4)} | | | |"
        )
    for label, s in study["surrogates"].items():
        if "landscape" in s:
            land = s["landscape"]
            lines += [
                "",
                f"Landscape ({label}): statistic: table [95 % interval] vs surrogate "
                f"(mean of draws)",
                "",
                "| statistic | table | surrogate | inside |",
                "|---|---|---|---|",
            ]
            for stat in LANDSCAPE_SIX:
                t = land["table"][stat]
                v = land["surrogate"][stat]
                lines.append(
                    f"| {stat} | {fmt(t['value'])} [{fmt(t['ci_low'])}, "
                    f"{fmt(t['ci_high'])}] | {fmt(v['value'])} | "
                    f"{'yes' if v['inside'] else 'no'} |"
                )
        lines += _top_lines(label, s)
    lines.append("")
    return lines


def _conc(c: dict) -> str:
    return "none" if c["top_share"] is None else f"{c['distinct']} ({on_one(c)})"


def _top_lines(label: str, s: dict) -> list[str]:
    """The top's structure of one surrogate (:mod:`eval.top_structure`)."""
    lines = []
    plausible = s.get("final_cells_plausible")
    if plausible:
        lines += [
            "",
            f"Final cells ({label}): distinct cells (share on the commonest) of the "
            f"table against the range over the draws; inside: the table is a plausible "
            f"draw ({plausible['inside']} of {plausible['of']})",
            "",
            "| optimizer | table | draws | inside |",
            "|---|---|---|---|",
        ]
        for n, e in plausible["optimizers"].items():
            draws = ", ".join(_conc(c) for c in e["draws"])
            inside = "" if e["inside"] is None else ("yes" if e["inside"] else "no")
            lines.append(f"| {n} | {_conc(e['table'])} | {draws} | {inside} |")
    top = s.get("top_structure")
    if top:
        lines += [
            "",
            f"Top of the landscape ({label}; best 1 % = top1, 0.1 % = top01): "
            f"table [95 % interval] vs surrogate (mean of draws; each draw)",
            "",
            "| statistic | table | surrogate | draws | inside |",
            "|---|---|---|---|---|",
        ]
        for stat, v in top["surrogate"].items():
            t = top["table"][stat]
            lines.append(
                f"| {stat} | {fmt(t['value'])} [{fmt(t['ci_low'])}, "
                f"{fmt(t['ci_high'])}] | {fmt(v['value'])} | "
                f"{', '.join(fmt(x) for x in v['draws'])} | "
                f"{'yes' if v['inside'] else 'no'} |"
            )
    return lines


def _top_over_folds_lines(label: str, top: dict) -> list[str]:
    """Over the folds: per optimizer, the folds where the table's final cells are a plausible
    draw; per top statistic, the folds inside the table's interval and the mean values."""
    lines = []
    if top.get("final_cells"):
        lines += [
            f"Final cells over folds ({label}): folds on which the table is a plausible "
            f"draw of the surrogate's ({top['final_cells_inside']} of "
            f"{top['final_cells_of']} optimizer-folds)",
            "",
            "| optimizer | folds inside |",
            "|---|---|",
        ]
        lines += [f"| {n} | {c['inside']} of {c['of']} |" for n, c in top["final_cells"].items()]
        lines.append("")
    if top.get("top_structure"):
        lines += [
            f"Top of the landscape over folds ({label}; "
            f"{top['top_structure_inside']} of {top['top_structure_of']} inside)",
            "",
            "| statistic | folds inside | table (mean) | surrogate (mean) |",
            "|---|---|---|---|",
        ]
        lines += [
            f"| {n} | {v['inside']} of {v['of']} | {fmt(v['table_mean'])} | "
            f"{fmt(v['surrogate_mean'])} |"
            for n, v in top["top_structure"].items()
        ]
        lines.append("")
    return lines
