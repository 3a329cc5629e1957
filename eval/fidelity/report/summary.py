"""The report's statistics: per study and surrogate (:func:`study_report`), over the folds
of the out-of-sample protocol (:func:`over_folds`) and over the full track's training
samples (:func:`over_samples`), and the whole report (:func:`build_report`)."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ...landscape import WALK_LAGS
from ...optimizers import is_external
from ...stats import draw_consistency, nanmean
from ...top_structure import final_cells_plausibility, top_over_folds, top_structure_summary
from ..plan import fraction_of
from .compare import attainable_reference, compare, mean_curves
from .targets import LANDSCAPE_SIX, TARGETS, targets_met
from .text import budget_key
from .verdict import verdict_text

__all__ = ["build_report", "study_report", "over_folds", "over_samples"]


def _landscape_summary(stats: dict[str, dict], draws: list[str]) -> dict[str, Any]:
    table = _with_walk_mean(stats["table"])
    per_draw = [_with_walk_mean(stats[d]) for d in draws if d in stats]
    out: dict[str, Any] = {"table": table, "surrogate": {}, "inside": 0, "of": len(LANDSCAPE_SIX)}
    for name in (*LANDSCAPE_SIX, *(f"walk_autocorr_{k}" for k in WALK_LAGS)):
        values = [d[name]["value"] for d in per_draw]
        value = float(np.nanmean(values)) if values else float("nan")
        low, high = table[name]["ci_low"], table[name]["ci_high"]
        inside = bool(np.isfinite(value) and low <= value <= high)
        out["surrogate"][name] = {"value": value, "draws": values, "inside": inside}
        if name in LANDSCAPE_SIX:
            out["inside"] += inside
    return out


def _with_walk_mean(stats: dict[str, dict]) -> dict[str, dict]:
    """The walk autocorrelation as one statistic: the mean over lags (its interval from the
    lags' intervals, conservatively the mean of their bounds)."""
    lags = [stats[f"walk_autocorr_{k}"] for k in WALK_LAGS]
    out = dict(stats)
    out["walk_autocorr"] = {
        key: float(np.mean([s[key] for s in lags])) for key in ("value", "ci_low", "ci_high")
    }
    return out


def study_report(study, config) -> dict[str, Any]:
    names = study.optimizers
    table = study.curves["table"]
    n_boot = int(config.n_boot)
    entry: dict[str, Any] = {
        "name": study.name,
        "protocol": study.protocol,
        "cells": study.cells,
        "budget": study.budget,
        "unit_per_full_training": study.unit,
        "grid": (study.grid / study.unit).tolist(),
        "rank_budgets": [float(study.grid[i] / study.unit) for i in study.rank_at],
        "optimizers": names,
        "external": [n for n in names if is_external(n)],
        "curves": {"table": _curve_summary(table, names)},
        "surrogates": {},
    }
    half = config.seeds // 2
    if half >= 2:
        ref = compare(
            {n: table[n][:half] for n in names},
            {n: table[n][half : 2 * half] for n in names},
            names,
            study.rank_at,
            n_boot=n_boot,
        )
        ref["seeds_per_half"] = half
        entry["reference_seed_halves"] = ref
    for label, draws in study.draws.items():
        mean = mean_curves(study.curves, draws, names)
        true = mean_curves(study.true_curves, draws, names)
        s: dict[str, Any] = {
            "protocol": study.surrogate_protocol[label],
            "training_share": study.training_share[label],
            "realizations": len(draws),
            "mean_of_draws": compare(mean, table, names, study.rank_at, n_boot=n_boot),
            "true": compare(true, table, names, study.rank_at, n_boot=n_boot),
            "draws": [
                compare(study.curves[d], table, names, study.rank_at, n_boot=min(n_boot, 200))
                for d in draws
            ],
        }
        entry["curves"][label] = _curve_summary(mean, names, true)
        if len(draws) >= 2:
            s["draws_mean"] = {
                key: nanmean(np.array([d[key] for d in s["draws"]], dtype=float)).tolist()
                for key in ("kendall_tau", "agreement", "mean_gap", "mean_bias")
            }
            consistency = [
                draw_consistency(table, [study.curves[d] for d in draws], i)
                for i in range(len(study.grid))
            ]
            s["plausible_draw"] = {
                "budgets": entry["grid"],
                "outside": [
                    sum(1 for c in point.values() if np.isfinite(c["p"]) and c["p"] < 0.05)
                    for point in consistency
                ],
                "final": consistency[-1],
            }
            pairs = [
                compare(
                    study.curves[x], study.curves[y], names, study.rank_at, n_boot=min(n_boot, 200)
                )
                for x, y in itertools.combinations(draws, 2)
            ]
            s["reference_realizations"] = {
                key: nanmean(np.array([p[key] for p in pairs], dtype=float)).tolist()
                for key in ("kendall_tau", "agreement", "mean_gap")
            }
            attainable = attainable_reference(study.curves, draws, names, study.rank_at)
            if attainable is not None:
                s["attainable"] = attainable
        if study.landscape:
            s["landscape"] = _landscape_summary(study.landscape, draws)
        # the top's structure: is the table a plausible draw in where its seeds end, and do
        # the best cells' neighbourhoods look alike (reported, not yet a target)
        if study.final_cells:
            s["final_cells_plausible"] = final_cells_plausibility(study.final_cells, draws, names)
        if study.top_structure:
            s["top_structure"] = top_structure_summary(study.top_structure, draws)
        s["targets"] = targets_met(s, study.track)
        entry["surrogates"][label] = s
    entry["final_cells"] = _final_cells(study, names)
    for label, s in entry["surrogates"].items():
        s["largest_contributors"] = _largest_contributors(entry, label)
    entry["ranks"] = {
        label: _ranks({n: c[n]["mean"][-1] for n in names}) for label, c in entry["curves"].items()
    }
    return entry


def _ranks(finals: dict[str, float]) -> dict[str, int]:
    """Rank of each optimizer by its final value (1 = best; ties share the better rank; no
    value ranks last), the project's and the external ones together."""
    values = {
        n: -np.inf if v is None or not np.isfinite(v) else float(v) for n, v in finals.items()
    }
    return {n: 1 + sum(w > v for w in values.values()) for n, v in values.items()}


def _concentration(cells: np.ndarray, space=None) -> dict[str, Any]:
    """Distinct final incumbent cells of the seeds and the share of seeds on the commonest;
    with ``space``, also the commonest cell's hash (folds that share it share its runs)."""
    cells = np.asarray(cells)
    found = cells[cells >= 0]
    if not len(found):
        return {"distinct": 0, "top_share": None}
    values, counts = np.unique(found, return_counts=True)
    out = {"distinct": int(len(counts)), "top_share": float(counts.max() / len(cells))}
    if space is not None:
        out["top_cell"] = space.hash(int(values[np.argmax(counts)]))
    return out


def _final_cells(study, names: list[str]) -> dict[str, dict[str, dict]]:
    """:func:`_concentration` per optimizer: the table's (with its commonest cell), and each
    surrogate's mean over its draws (empty when the study did not record final cells)."""
    if not study.final_cells:
        return {}
    from nb101 import get_space

    space = get_space()
    out = {"table": {n: _concentration(study.final_cells["table"][n], space) for n in names}}
    for label, draws in study.draws.items():
        out[label] = {}
        for n in names:
            per_draw = [_concentration(study.final_cells[d][n]) for d in draws]
            shares = [c["top_share"] for c in per_draw if c["top_share"] is not None]
            out[label][n] = {
                "distinct": float(np.mean([c["distinct"] for c in per_draw])),
                "top_share": float(np.mean(shares)) if shares else None,
            }
    return out


def _largest_contributors(study: dict, label: str) -> dict[str, dict[str, Any]]:
    """The optimizer behind each of a surrogate's bias and gap: the largest |final difference|
    (surrogate - table) and the largest curve gap, each with where its table seeds end."""
    curves = study["curves"]
    finals = {
        n: curves[label][n]["mean"][-1] - curves["table"][n]["mean"][-1]
        for n in study["optimizers"]
    }
    gaps = study["surrogates"][label]["mean_of_draws"]["gap"]
    out = {}
    for key, values in (("bias", finals), ("gap", gaps)):
        values = {n: v for n, v in values.items() if v is not None and np.isfinite(v)}
        if values:
            name = max(values, key=lambda n: abs(values[n]))
            out[key] = {
                "optimizer": name,
                "value": float(values[name]),
                "table_final_cells": study.get("final_cells", {}).get("table", {}).get(name),
            }
    return out


def _curve_summary(
    curves: dict[str, np.ndarray], names: list[str], true: dict[str, np.ndarray] | None = None
) -> dict[str, dict]:
    out = {}
    for n in names:
        c = curves[n]
        count = np.maximum(np.isfinite(c).sum(0), 1)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sem = (
                np.nanstd(c, axis=0) / np.sqrt(count)
                if np.isfinite(c).any()
                else np.full(c.shape[1], np.nan)
            )
        out[n] = {"mean": nanmean(c).tolist(), "sem": sem.tolist()}
        if true is not None:
            out[n]["true_mean"] = nanmean(true[n]).tolist()
    return out


def over_folds(studies: list[dict]) -> dict[str, Any]:
    """Mean, min and max over the folds of each headline statistic, per surrogate, and the
    share of folds meeting each target next to the share of the attainable reference's
    cases that meet it (all folds of all splits: one split certifies little)."""
    folds = [s for s in studies if s["protocol"] == "out-of-sample"]
    if len(folds) < 2:
        return {}
    out = {}
    for label in folds[0]["surrogates"]:
        summary = _over_cases([(f, label) for f in folds])
        summary["gap_by_optimizer"] = {
            n: {
                "surrogate": _fold_summary(
                    [f["surrogates"][label]["mean_of_draws"]["gap"][n] for f in folds]
                )["mean"],
                "attainable": _fold_summary(
                    [
                        f["surrogates"][label].get("attainable", {}).get("gap", {}).get(n)
                        for f in folds
                    ]
                )["mean"],
            }
            for n in folds[0]["optimizers"]
        }
        summary["top_structure"] = top_over_folds(folds, label)
        out[label] = summary
    return out


def over_samples(studies: list[dict]) -> dict[str, Any]:
    """:func:`over_folds`' statistics over the training samples of each fraction of the full
    track (``--sample-seeds``): one surrogate per sample, on the same cells, keyed by the
    fraction's label; only fractions with at least two samples."""
    out = {}
    for study in studies:
        if study["protocol"] != "mixed":  # only the full track's trained fractions
            continue
        fractions: dict[str, list[str]] = {}
        for label in study["surrogates"]:
            fractions.setdefault(fraction_of(label), []).append(label)
        for fraction, labels in fractions.items():
            if len(labels) >= 2:
                out[fraction] = _over_cases([(study, label) for label in labels])
                out[fraction]["samples"] = labels
    return out


def _over_cases(cases: list[tuple[dict, str]]) -> dict[str, Any]:
    """The headline statistics of ``(study, surrogate label)`` cases (folds, or training
    samples), each as :func:`_fold_summary`, with how many cases an exactly right surrogate
    would meet."""
    # keyed by the ranking budgets in full trainings (tau@100, tau@316, tau@1000 by default)
    at = [budget_key(b) for b in cases[0][0].get("rank_budgets", (100, 316, 1000))]
    taus = [f"tau@{b}" for b in at]
    rows: dict[str, list] = {
        **{key: [] for key in taus},
        f"agreement@{at[-1]}": [],
        "mean_bias": [],
        "mean_gap": [],
        "landscape_inside": [],
        "targets_met": [],
    }
    for key in ("tau", "bias", "gap", "landscape"):
        rows[f"{key}_met"] = []
    for key in ("all", "tau", "bias", "gap"):
        rows[f"attainable_{key}"] = []  # share of an exactly right surrogate's cases
    for study, label in cases:
        s = study["surrogates"][label]
        m = s["mean_of_draws"]
        for key, tau in zip(taus, m["kendall_tau"]):
            rows[key].append(tau)
        rows[f"agreement@{at[-1]}"].append(m["agreement"][-1])
        rows["mean_bias"].append(m["mean_bias"])
        rows["mean_gap"].append(m["mean_gap"])
        rows["landscape_inside"].append(s.get("landscape", {}).get("inside"))
        rows["targets_met"].append(s["targets"]["all"])
        for key in ("tau", "bias", "gap", "landscape"):
            rows[f"{key}_met"].append(s["targets"].get(key))
        for key in ("all", "tau", "bias", "gap"):
            rows[f"attainable_{key}"].append(s.get("attainable", {}).get("met", {}).get(key))
    summary = {key: _fold_summary(values) for key, values in rows.items()}
    rates = rows["attainable_all"]
    if all(r is not None for r in rates):
        # independent cases (disjoint folds, or independent samples): how many an exactly
        # right surrogate would meet, and how likely it would meet all of them
        summary["attainable_folds"] = {
            "expected": float(np.sum(rates)),
            "every_fold": float(np.prod(rates)),
        }
    return summary


def _fold_summary(values: list) -> dict[str, Any]:
    """The values per fold and their mean, min and max over the folds that have one (None
    where no fold has)."""
    v = np.array([np.nan if x is None else float(x) for x in values])
    has = bool(np.isfinite(v).any())
    return {
        "per_fold": values,
        "mean": float(np.nanmean(v)) if has else None,
        "min": float(np.nanmin(v)) if has else None,
        "max": float(np.nanmax(v)) if has else None,
    }


def build_report(result) -> dict[str, Any]:
    """Statistics of a :class:`eval.fidelity.FidelityResult` (see :mod:`eval.fidelity.report`)."""
    config = result.config
    report: dict[str, Any] = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(config).items()},
        "table": result.table,
        "surrogates": result.surrogates,
        "timing": result.timing,
        "failed_runs": list(getattr(result, "failed_runs", [])),
        "targets": TARGETS,
        "tracks": {},
    }
    for study in result.studies:
        track = report["tracks"].setdefault(study.track, {"studies": []})
        track["studies"].append(study_report(study, config))
    for track in report["tracks"].values():
        track["over_folds"] = over_folds(track["studies"])
        track["over_samples"] = over_samples(track["studies"])
    report["verdict"] = verdict_text(report)
    return report
