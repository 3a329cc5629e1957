"""The verdict: which comparisons meet the fidelity targets, where and why.

Markdown in short lines: a count, a smoke-run warning where it applies, the targets at the
ranking budgets the study used, then one bullet per comparison (a sub-bullet per statistic)
and one per summary over the out-of-sample folds.
"""

from __future__ import annotations

import textwrap
from typing import Any

from .targets import TARGETS
from .text import budget, fmt, on_one, percent

__all__ = ["verdict_text"]

WIDTH = 100


def verdict_text(report: dict) -> str:
    """The verdict of a report (:func:`eval.fidelity.report.build_report`)."""
    comparisons = [
        _comparison(t, study, label, s)
        for t, track in report["tracks"].items()
        for study in track["studies"]
        for label, s in study["surrogates"].items()
    ]
    if not comparisons:
        return "No surrogate was compared."
    summaries = [
        _summary_bullet(t, label, o, kind)
        for t, track in report["tracks"].items()
        for key, kind in (
            ("over_folds", "out-of-sample folds"),
            ("over_samples", "training samples"),
        )
        for label, o in (track.get(key) or {}).items()
    ]
    faithful = sum(met for met, _ in comparisons)
    paragraphs = [f"Verdict: {faithful} of {len(comparisons)} comparisons meet every target."]
    smoke = _smoke(report.get("config") or {})
    if smoke:
        paragraphs.append(smoke)
    paragraphs.append(_targets(report))
    blocks = [textwrap.fill(p, WIDTH) for p in paragraphs]
    failed = report.get("failed_runs") or []
    if failed:
        blocks.append(_failed(failed))
    bullets = [lines for _, lines in comparisons] + summaries
    return "\n\n".join(blocks + ["\n".join(bullets)])


def _smoke(config: dict[str, Any]) -> str:
    if not config.get("smoke"):
        return ""
    return (
        f"Smoke run (--smoke: {config['seeds']} seeds, a budget of "
        f"{budget(float(config['budget']))} full trainings, {config['realizations']} "
        f"realizations per surrogate): it checks that the study runs end to end; its "
        f"numbers are no evidence of fidelity."
    )


def _tau_budgets(report: dict) -> str:
    """The ranking budgets of the tau target, in full trainings, as the studies used them."""
    for track in report["tracks"].values():
        for study in track["studies"]:
            if study.get("rank_budgets"):
                b = [budget(study["rank_budgets"][i]) for i in TARGETS["tau_at"]]
                return " and ".join(b) + " full trainings"
    return "the ranking budgets " + " and ".join(str(i + 1) for i in TARGETS["tau_at"])


def _targets(report: dict) -> str:
    return (
        f"Targets: tau >= {TARGETS['tau_min']} at {_tau_budgets(report)}; |bias| <= "
        f"{TARGETS['abs_bias_max']} without a significant sign pattern; mean curve gap <= "
        f"{TARGETS['gap_max']}; on the {', '.join(TARGETS['landscape_tracks'])} track also "
        f"at least {TARGETS['landscape_min']} of 6 landscape statistics inside the table's "
        f"interval."
    )


def _failed(failed: list[dict]) -> str:
    """A paragraph and one bullet per failed run (the errors are in ``failed_runs``)."""
    n = len(failed)
    head = textwrap.fill(
        f"{n} run{'' if n == 1 else 's'} failed and {'is' if n == 1 else 'are'} left out, with "
        f"{'its' if n == 1 else 'their'} optimizer in the study where it failed (the errors: "
        f"failed_runs in fidelity.json):",
        WIDTH,
    )
    runs = [
        f"- {f['optimizer']} on {f['backend']}, {f['track']} track, {f['study']}, seed {f['seed']}"
        for f in sorted(
            failed, key=lambda f: (f["track"], f["study"], f["optimizer"], f["backend"], f["seed"])
        )
    ]
    return "\n".join([head, ""] + runs)


def _comparison(t: str, study: dict, label: str, s: dict) -> tuple[bool, str]:
    """``(meets every target, bullet lines)`` of one surrogate in one study."""
    met = s["targets"]
    failed = [k for k, v in met.items() if k != "all" and not v]
    m = s["mean_of_draws"]
    share = s["training_share"]
    verdict = "faithful" if met["all"] else f"not faithful ({', '.join(failed)})"
    at = (
        "/".join(budget(study["rank_budgets"][i]) for i in TARGETS["tau_at"])
        if study.get("rank_budgets")
        else "/".join(str(i + 1) for i in TARGETS["tau_at"])
    )
    sign = m["sign_test"]
    lines = [
        f"- {t} track, {study['name']}, surrogate {label}: {verdict}",
        f"  - {s['protocol']}"
        + (
            f", {100 * share:.0f} % of the visited cells in its training set"
            if share is not None
            else ""
        ),
        f"  - tau@{at}: " + "/".join(fmt(m["kendall_tau"][i], 2) for i in TARGETS["tau_at"]),
        f"  - bias {fmt(m['mean_bias'], 4)} ({sign['positive']} of "
        f"{sign['positive'] + sign['negative']} optimizers better on the surrogate, sign "
        f"test p {fmt(sign['p'], 2)})",
        f"  - gap {fmt(m['mean_gap'], 4)}",
    ]
    if "landscape" in s:
        lines.append(
            f"  - landscape {s['landscape']['inside']}/6 inside"
            + ("" if "landscape" in met else " (not a target on this track)")
        )
    lines += _top_lines(s)
    if "attainable" in s:
        a = s["attainable"]
        lines.append(
            f"  - an exactly right surrogate meets tau, bias and gap in "
            f"{a['met']['all'] * a['cases']:.0f} of {a['cases']} leave-one-draw-out "
            f"cases here"
        )
    for key, name in (("bias", "final difference"), ("gap", "curve gap")):
        big = s.get("largest_contributors", {}).get(key)
        if key not in failed or not big:
            continue
        value = big["value"]
        line = f"  - largest {name}: {big['optimizer']} " + (
            f"{value:+.4f}" if key == "bias" else f"{value:.4f}"
        )
        c = big["table_final_cells"]
        if c and c["top_share"] is not None:
            line += (
                f" (its table seeds end on {c['distinct']} "
                f"cell{'' if c['distinct'] == 1 else 's'}, {on_one(c)})"
            )
        lines.append(line)
    return bool(met["all"]), "\n".join(lines)


def _summary_bullet(t: str, label: str, o: dict, kind: str) -> str:
    """The bullet of one surrogate's summary over the out-of-sample folds of a track, or
    over the training samples of one of its fractions (``kind``)."""
    n, noun = len(o["targets_met"]["per_fold"]), kind.split()[-1]
    met = {
        k: sum(bool(x) for x in o[f"{k}_met"]["per_fold"])
        for k in ("tau", "bias", "gap", "landscape")
    }
    ref = {k: o[f"attainable_{k}"]["mean"] for k in ("all", "tau", "bias", "gap")}
    folds = o.get("attainable_folds")
    per_target = ", ".join(
        f"{k} {met[k]}" + (f" ({100 * ref[k]:.0f} %)" if ref.get(k) is not None else "")
        for k in ("tau", "bias", "gap", "landscape")
        if k != "landscape" or t in TARGETS["landscape_tracks"]
    )
    reference = []
    if ref["all"] is not None:
        reference.append(
            f"an exactly right surrogate: {100 * ref['all']:.0f} % of its leave-one-draw-out cases"
        )
    if folds:
        reference.append(
            f"{folds['expected']:.1f} of {n} {noun} expected, every {noun[:-1]} with "
            f"probability {percent(folds['every_fold'])}"
        )
    lines = [
        f"- Over the {n} {kind} of the {t} track, surrogate {label} meets "
        f"every target on {sum(bool(x) for x in o['targets_met']['per_fold'])}"
    ]
    if reference:
        lines.append(f"  - {'; '.join(reference)}")
    lines.append(
        f"  - mean bias {fmt(o['mean_bias']['mean'], 4)}, mean gap {fmt(o['mean_gap']['mean'], 4)}"
    )
    lines.append(f"  - {noun} meeting each target (exactly right surrogate): {per_target}")
    top = o.get("top_structure") or {}
    parts = []
    if top.get("final_cells"):
        outside = [
            f"{n} {c['inside']}/{c['of']}"
            for n, c in top["final_cells"].items()
            if c["inside"] < c["of"]
        ]
        parts.append(
            f"the table's final cells a plausible draw in {top['final_cells_inside']} "
            f"of {top['final_cells_of']} optimizer-folds"
            + (f" (folds inside: {', '.join(outside)})" if outside else "")
        )
    if top.get("top_structure"):
        parts.append(
            f"top landscape {top['top_structure_inside']} of "
            f"{top['top_structure_of']} statistic-folds inside"
        )
    lines += [_bullet(f"top's structure (reported, not a target): {p}") for p in parts]
    return "\n".join(lines)


def _bullet(text: str) -> str:
    return textwrap.fill(text, WIDTH, initial_indent="  - ", subsequent_indent="    ")


def _top_lines(s: dict) -> list[str]:
    """Where the seeds end and the top's landscape (:mod:`eval.top_structure`), reported
    (not yet targets), one sub-bullet each."""
    lines = []
    plausible = s.get("final_cells_plausible")
    if plausible and plausible["of"]:
        outside = [n for n, e in plausible["optimizers"].items() if e["inside"] is False]
        lines.append(
            _bullet(
                f"final cells: the table a plausible draw of the surrogate's for "
                f"{plausible['inside']} of {plausible['of']} optimizers"
                + (f" (not: {', '.join(outside)})" if outside else "")
                + " (reported, not a target)"
            )
        )
    top = s.get("top_structure")
    if top:
        outside = [n for n, v in top["surrogate"].items() if not v["inside"]]
        lines.append(
            _bullet(
                f"top of the landscape {top['inside']}/{top['of']} inside"
                + (f" (outside: {', '.join(outside)})" if outside else "")
                + " (reported, not a target)"
            )
        )
    return lines
