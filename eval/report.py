"""Report of the fidelity study: statistics with intervals, a verdict, Markdown and figures.

:func:`build_report` reads a :class:`eval.fidelity.FidelityResult` (raw curves, nothing
else) and computes, per study (a track on one cell set: a fold, all cells) and per surrogate:

* **gap**: per optimizer, the mean over the log-spaced grid of |seed-mean surrogate curve -
  seed-mean table curve|, and its mean over optimizers (``mean_gap``);
* **Kendall tau** between the optimizers' rankings (seed means) on the two backends at 100,
  316 and 1,000 full trainings (:data:`eval.fidelity.RANK_AT`);
* **agreement**: the share of optimizer pairs significant (Mann-Whitney U, alpha 0.05) on
  either backend whose verdicts agree;
* **bias**: the mean over optimizers of (surrogate - table) at the final budget, and a sign
  test across optimizers (is every optimizer better, or worse, on the surrogate?);
* **true**: the same with the surrogate's incumbents valued by the table;
* **plausible draw**: at every grid budget, per optimizer, is the table's seed mean a
  plausible further draw of the surrogate's realizations (:func:`eval.stats.
  draw_consistency`); the count outside the 95 % prediction interval;
* **landscape**: the six statistics of :mod:`eval.landscape` (the walk autocorrelation as
  the mean over lags 1-5), the table's bootstrap interval, the surrogate's value (mean over
  its draws) and whether it lies inside;
* **final cells**: per optimizer, how many distinct cells its seeds end on and the share of
  seeds on the most common one (table; surrogate: mean over draws). Optimizers that converge
  (REINFORCE, evolution) often end most seeds on one cell, and then their final value is one
  draw of that cell's runs however many seeds there are; the intervals over seeds do not see
  this, so the verdict names the optimizer behind a bias or gap miss (largest final
  difference, largest curve gap) and where its table seeds end.

"Surrogate" means the mean of its realizations (curves averaged over the draws of its
simulated runs, seed by seed); every draw against the table is reported too. Every interval
is a 95 % percentile bootstrap over seeds (each backend's seeds resampled independently).
References: two disjoint halves of the table's seeds (seed noise), pairs of a surrogate's
draws (run noise: the table is one draw), and the *attainable* reference: each draw of a
surrogate in the table's place against the mean of its other draws, i.e. what a surrogate
that is exactly right would score, with the share of these cases that meet the tau, bias
and gap targets (how attainable the targets are at the study's noise). Out-of-sample
studies of several folds get a summary over folds (mean, min, max of each statistic), with
the number of folds on which an exactly right surrogate would meet the tau, bias and gap
targets (the sum of its per-fold rates) and its chance of meeting them on every fold (their
product: the folds hold disjoint cells). The report opens with a verdict against the targets
of :data:`TARGETS`.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .landscape import WALK_LAGS
from .stats import (curve_gap, draw_consistency, kendall_tau_b, nanmean, rank_values,
                    sign_test, verdict_agreement)

__all__ = ["build_report", "write_report", "write_markdown", "TARGETS", "LANDSCAPE_SIX"]

#: The fidelity targets the verdict checks (surrogate = mean over its realizations).
TARGETS = {"tau_min": 0.5, "tau_at": (1, 2), "abs_bias_max": 0.0005, "sign_alpha": 0.05,
           "gap_max": 0.0008, "landscape_min": 4, "landscape_tracks": ("multifidelity",)}
#: The six landscape statistics of the verdict (the walk autocorrelation averaged over lags).
LANDSCAPE_SIX = ("neighbour_corr", "walk_autocorr", "local_optima", "climb_length",
                 "improve_prob", "top1_mean")


# ------------------------------------------------------------------------ statistics
def _seed_means(curves: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """(optimizers, grid) seed means."""
    return np.stack([nanmean(curves[n]) for n in names])


def _resampled_means(curves: dict[str, np.ndarray], names: list[str],
                     idx: np.ndarray) -> np.ndarray:
    """(boot, optimizers, grid) seed means of bootstrap resamples ``idx`` (boot, seeds)."""
    return np.stack([nanmean(curves[n][idx], axis=1) for n in names], axis=1)


def _interval(values: np.ndarray) -> list[float | None]:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return [None, None]
    low, high = np.percentile(v, [2.5, 97.5])
    return [float(low), float(high)]


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray], names: list[str],
            rank_at: list[int], *, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Gap, tau, agreement and bias of curves ``a`` (surrogate) against ``b`` (table), each
    with a bootstrap interval over seeds."""
    rng = np.random.default_rng(seed)
    ma, mb = _seed_means(a, names), _seed_means(b, names)
    gap = {n: curve_gap(a[n], b[n]) for n in names}
    final = ma[:, -1] - mb[:, -1]
    out: dict[str, Any] = {
        "gap": gap, "mean_gap": float(np.nanmean(list(gap.values()))),
        "kendall_tau": [float(kendall_tau_b(rank_values(ma[:, i]), rank_values(mb[:, i])))
                        for i in rank_at],
        "agreement": [], "significant_pairs": [],
        "bias": {n: float(d) for n, d in zip(names, final)},
        "mean_bias": float(np.nanmean(final)), "sign_test": sign_test(final),
    }
    for i in rank_at:
        share, pairs = verdict_agreement(a, b, i)
        out["agreement"].append(share)
        out["significant_pairs"].append(pairs)
    sa, sb = next(iter(a.values())).shape[0], next(iter(b.values())).shape[0]
    ia = rng.integers(0, sa, (n_boot, sa))
    ib = rng.integers(0, sb, (n_boot, sb))
    ba, bb = _resampled_means(a, names, ia), _resampled_means(b, names, ib)
    with np.errstate(invalid="ignore"):
        gaps = nanmean(np.abs(ba - bb), axis=2)                     # (boot, optimizers)
    # |difference| is biased upwards by seed noise, so its resamples sit above the estimate:
    # the basic bootstrap interval (2 x estimate - percentiles) corrects for that
    low, high = _interval(np.nanmean(gaps, axis=1))
    out["mean_gap_ci"] = [None, None] if low is None else [
        max(0.0, 2 * out["mean_gap"] - high), max(0.0, 2 * out["mean_gap"] - low)]
    out["kendall_tau_ci"] = [_interval(kendall_tau_b(rank_values(ba[:, :, i]),
                                                     rank_values(bb[:, :, i])))
                             for i in rank_at]
    out["mean_bias_ci"] = _interval(np.nanmean(ba[:, :, -1] - bb[:, :, -1], axis=1))
    out["agreement_ci"] = [_agreement_interval(a, b, names, i, ia, ib) for i in rank_at]
    return out


def _agreement_interval(a, b, names, at, ia, ib, alpha: float = 0.05) -> list[float | None]:
    """Bootstrap interval of the verdict agreement (vectorised Mann-Whitney tests)."""
    from scipy.stats import mannwhitneyu
    n_boot = len(ia)
    agree = np.zeros(n_boot)
    counted = np.zeros(n_boot)
    for x, y in itertools.combinations(names, 2):
        verdicts = []
        for curves, idx in ((a, ia), (b, ib)):
            u = curves[x][idx, at]
            v = curves[y][idx, at]
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN early budgets
                p = mannwhitneyu(u, v, axis=1, nan_policy="propagate").pvalue
                direction = np.sign(np.nanmedian(u, axis=1) - np.nanmedian(v, axis=1))
            verdicts.append(np.where(np.isfinite(p) & (p < alpha), direction, 0))
        significant = (verdicts[0] != 0) | (verdicts[1] != 0)
        counted += significant
        agree += significant & (verdicts[0] == verdicts[1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return _interval(np.where(counted > 0, agree / counted, np.nan))


def _mean_curves(curves: dict[str, dict[str, np.ndarray]], labels: list[str],
                 names: list[str]) -> dict[str, np.ndarray]:
    """Seed-by-seed mean over the draws ``labels`` of one surrogate."""
    return {n: nanmean(np.stack([curves[label][n] for label in labels]), axis=0)
            for n in names}


def _landscape_summary(stats: dict[str, dict], draws: list[str]) -> dict[str, Any]:
    table = _with_walk_mean(stats["table"])
    per_draw = [_with_walk_mean(stats[d]) for d in draws if d in stats]
    out: dict[str, Any] = {"table": table, "surrogate": {}, "inside": 0,
                           "of": len(LANDSCAPE_SIX)}
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
    out["walk_autocorr"] = {key: float(np.mean([s[key] for s in lags]))
                            for key in ("value", "ci_low", "ci_high")}
    return out


def _study_report(study, config) -> dict[str, Any]:
    names = study.optimizers
    table = study.curves["table"]
    n_boot = int(config.n_boot)
    entry: dict[str, Any] = {
        "name": study.name, "protocol": study.protocol, "cells": study.cells,
        "budget": study.budget, "unit_per_full_training": study.unit,
        "grid": (study.grid / study.unit).tolist(),
        "rank_budgets": [float(study.grid[i] / study.unit) for i in study.rank_at],
        "optimizers": names, "curves": {"table": _curve_summary(table, names)},
        "surrogates": {}}
    half = config.seeds // 2
    if half >= 2:
        ref = compare({n: table[n][:half] for n in names},
                      {n: table[n][half:2 * half] for n in names}, names, study.rank_at,
                      n_boot=n_boot)
        ref["seeds_per_half"] = half
        entry["reference_seed_halves"] = ref
    for label, draws in study.draws.items():
        mean = _mean_curves(study.curves, draws, names)
        true = _mean_curves(study.true_curves, draws, names)
        s: dict[str, Any] = {
            "protocol": study.surrogate_protocol[label],
            "training_share": study.training_share[label],
            "realizations": len(draws),
            "mean_of_draws": compare(mean, table, names, study.rank_at, n_boot=n_boot),
            "true": compare(true, table, names, study.rank_at, n_boot=n_boot),
            "draws": [compare(study.curves[d], table, names, study.rank_at,
                              n_boot=min(n_boot, 200)) for d in draws],
        }
        entry["curves"][label] = _curve_summary(mean, names, true)
        if len(draws) >= 2:
            s["draws_mean"] = {
                key: nanmean(np.array([d[key] for d in s["draws"]], dtype=float)).tolist()
                for key in ("kendall_tau", "agreement", "mean_gap", "mean_bias")}
            consistency = [draw_consistency(table, [study.curves[d] for d in draws], i)
                           for i in range(len(study.grid))]
            s["plausible_draw"] = {
                "budgets": entry["grid"],
                "outside": [sum(1 for c in point.values()
                                if np.isfinite(c["p"]) and c["p"] < 0.05)
                            for point in consistency],
                "final": consistency[-1]}
            pairs = [compare(study.curves[x], study.curves[y], names, study.rank_at,
                             n_boot=min(n_boot, 200))
                     for x, y in itertools.combinations(draws, 2)]
            s["reference_realizations"] = {
                key: nanmean(np.array([p[key] for p in pairs], dtype=float)).tolist()
                for key in ("kendall_tau", "agreement", "mean_gap")}
            attainable = _attainable(study.curves, draws, names, study.rank_at)
            if attainable is not None:
                s["attainable"] = attainable
        if study.landscape:
            s["landscape"] = _landscape_summary(study.landscape, draws)
        s["targets"] = _targets_met(s, study.track)
        entry["surrogates"][label] = s
    entry["final_cells"] = _final_cells(study, names)
    for label, s in entry["surrogates"].items():
        s["largest_contributors"] = _largest_contributors(entry, label)
    return entry


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
            out[label][n] = {"distinct": float(np.mean([c["distinct"] for c in per_draw])),
                             "top_share": float(np.mean(shares)) if shares else None}
    return out


def _largest_contributors(study: dict, label: str) -> dict[str, dict[str, Any]]:
    """The optimizer behind each of a surrogate's bias and gap: the largest |final difference|
    (surrogate - table) and the largest curve gap, each with where its table seeds end."""
    curves = study["curves"]
    finals = {n: curves[label][n]["mean"][-1] - curves["table"][n]["mean"][-1]
              for n in study["optimizers"]}
    gaps = study["surrogates"][label]["mean_of_draws"]["gap"]
    out = {}
    for key, values in (("bias", finals), ("gap", gaps)):
        values = {n: v for n, v in values.items() if v is not None and np.isfinite(v)}
        if values:
            name = max(values, key=lambda n: abs(values[n]))
            out[key] = {"optimizer": name, "value": float(values[name]),
                        "table_final_cells": study.get("final_cells", {}).get("table", {})
                        .get(name)}
    return out


def _curve_summary(curves: dict[str, np.ndarray], names: list[str],
                   true: dict[str, np.ndarray] | None = None) -> dict[str, dict]:
    out = {}
    for n in names:
        c = curves[n]
        count = np.maximum(np.isfinite(c).sum(0), 1)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            sem = np.nanstd(c, axis=0) / np.sqrt(count) if np.isfinite(c).any() else \
                np.full(c.shape[1], np.nan)
        out[n] = {"mean": nanmean(c).tolist(), "sem": sem.tolist()}
        if true is not None:
            out[n]["true_mean"] = nanmean(true[n]).tolist()
    return out


def _curve_targets(m: dict[str, Any]) -> dict[str, bool]:
    """The tau, bias and gap targets of one comparison (:func:`compare`)."""
    taus = [m["kendall_tau"][i] for i in TARGETS["tau_at"]]
    return {
        "tau": bool(all(np.isfinite(t) and t >= TARGETS["tau_min"] for t in taus)),
        "bias": bool(abs(m["mean_bias"]) <= TARGETS["abs_bias_max"]
                     and not m["sign_test"]["p"] < TARGETS["sign_alpha"]),
        "gap": bool(m["mean_gap"] <= TARGETS["gap_max"]),
    }


def _attainable(curves: dict[str, dict[str, np.ndarray]], draws: list[str],
                names: list[str], rank_at: list[int]) -> dict[str, Any] | None:
    """What a surrogate that is exactly right would score: each draw in turn plays the
    table (one draw of runs, as the table is) and the mean of the other draws the
    surrogate. The share of these leave-one-draw-out cases meeting each target says how
    attainable the targets are at this study's noise (seeds, one table draw); the mean of
    K - 1 draws is a little noisier than the real comparison's mean of K."""
    if len(draws) < 3:
        return None
    cases = []
    for held in draws:
        rest = [d for d in draws if d != held]
        cases.append(compare(_mean_curves(curves, rest, names), curves[held], names, rank_at,
                             n_boot=1))
    met = [_curve_targets(c) for c in cases]
    out: dict[str, Any] = {
        key: nanmean(np.array([c[key] for c in cases], dtype=float)).tolist()
        for key in ("kendall_tau", "agreement", "mean_gap")}
    out["mean_abs_bias"] = float(np.mean([abs(c["mean_bias"]) for c in cases]))
    out["gap"] = {n: float(np.nanmean([c["gap"][n] for c in cases])) for n in names}
    out["cases"] = len(cases)
    out["met"] = {key: float(np.mean([m[key] for m in met])) for key in met[0]}
    out["met"]["all"] = float(np.mean([all(m.values()) for m in met]))
    return out


def _targets_met(s: dict[str, Any], track: str) -> dict[str, Any]:
    """Which targets a surrogate meets; the landscape is a target on the tracks of
    ``TARGETS["landscape_tracks"]`` only (elsewhere it is reported, not judged)."""
    out = _curve_targets(s["mean_of_draws"])
    if "landscape" in s and track in TARGETS["landscape_tracks"]:
        out["landscape"] = bool(s["landscape"]["inside"] >= TARGETS["landscape_min"])
    out["all"] = all(out.values())
    return out


def _over_folds(studies: list[dict]) -> dict[str, Any]:
    """Mean, min and max over the folds of each headline statistic, per surrogate, and the
    share of folds meeting each target next to the share of the attainable reference's
    cases that meet it (all folds of all splits: one split certifies little)."""
    folds = [s for s in studies if s["protocol"] == "out-of-sample"]
    if len(folds) < 2:
        return {}
    out = {}
    for label in folds[0]["surrogates"]:
        rows = {"tau@100": [], "tau@316": [], "tau@1000": [], "agreement@1000": [],
                "mean_bias": [], "mean_gap": [], "landscape_inside": [], "targets_met": []}
        for key in ("tau", "bias", "gap", "landscape"):
            rows[f"{key}_met"] = []
        for key in ("all", "tau", "bias", "gap"):
            rows[f"attainable_{key}"] = []   # share of an exactly right surrogate's cases
        for f in folds:
            s = f["surrogates"][label]
            m = s["mean_of_draws"]
            for key, i in (("tau@100", 0), ("tau@316", 1), ("tau@1000", 2)):
                rows[key].append(m["kendall_tau"][i])
            rows["agreement@1000"].append(m["agreement"][-1])
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
            # the folds are disjoint cells, so their cases are independent: how many folds an
            # exactly right surrogate would meet, and how likely it would meet all of them
            summary["attainable_folds"] = {"expected": float(np.sum(rates)),
                                           "every_fold": float(np.prod(rates))}
        summary["gap_by_optimizer"] = {
            n: {"surrogate": _fold_summary(
                    [f["surrogates"][label]["mean_of_draws"]["gap"][n] for f in folds])["mean"],
                "attainable": _fold_summary(
                    [f["surrogates"][label].get("attainable", {}).get("gap", {}).get(n)
                     for f in folds])["mean"]}
            for n in folds[0]["optimizers"]}
        out[label] = summary
    return out


def _fold_summary(values: list) -> dict[str, Any]:
    """The values per fold and their mean, min and max over the folds that have one (None
    where no fold has)."""
    v = np.array([np.nan if x is None else float(x) for x in values])
    has = bool(np.isfinite(v).any())
    return {"per_fold": values,
            "mean": float(np.nanmean(v)) if has else None,
            "min": float(np.nanmin(v)) if has else None,
            "max": float(np.nanmax(v)) if has else None}


def build_report(result) -> dict[str, Any]:
    """Statistics of a :class:`eval.fidelity.FidelityResult` (see the module docstring)."""
    config = result.config
    report: dict[str, Any] = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(config).items()},
        "table": result.table, "surrogates": result.surrogates, "timing": result.timing,
        "targets": TARGETS, "tracks": {}}
    for study in result.studies:
        track = report["tracks"].setdefault(study.track, {"studies": []})
        track["studies"].append(_study_report(study, config))
    for track in report["tracks"].values():
        track["over_folds"] = _over_folds(track["studies"])
    report["verdict"] = _verdict(report)
    return report


# ------------------------------------------------------------------------- verdict
def _f(x, digits=3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else \
        f"{x:.{digits}f}"


def _ci(ci, digits=3) -> str:
    return "" if not ci or ci[0] is None else f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def _on_one(c: dict[str, Any]) -> str:
    """The share of seeds on the commonest final cell, with the first 8 characters of its hash
    where :func:`_concentration` recorded it."""
    return (f"{100 * c['top_share']:.0f} % on one"
            + (f", {c['top_cell'][:8]}" if c.get("top_cell") else ""))


def _percent(p: float) -> str:
    """A probability as a percentage, two significant digits (``0.0002`` -> ``0.02 %``)."""
    return f"{np.format_float_positional(100 * p, precision=2, fractional=False, trim='-')} %"


def _verdict(report: dict) -> str:
    """One paragraph: faithful or not, where, and why."""
    parts = []
    for t, track in report["tracks"].items():
        for study in track["studies"]:
            for label, s in study["surrogates"].items():
                met = s["targets"]
                failed = [k for k, v in met.items() if k != "all" and not v]
                m = s["mean_of_draws"]
                what = (f"{t} track, {study['name']}, surrogate {label} ({s['protocol']}"
                        + (f", {100 * s['training_share']:.0f} % of visited cells in its "
                           f"training set" if s["training_share"] is not None else "") + ")")
                why = (f"tau@316/1000 {_f(m['kendall_tau'][1], 2)}/{_f(m['kendall_tau'][2], 2)}"
                       f", bias {_f(m['mean_bias'], 4)} ({m['sign_test']['positive']} of "
                       f"{m['sign_test']['positive'] + m['sign_test']['negative']} optimizers "
                       f"better on the surrogate, sign test p {_f(m['sign_test']['p'], 2)}), "
                       f"gap {_f(m['mean_gap'], 4)}"
                       + (f", landscape {s['landscape']['inside']}/6 inside"
                          + ("" if "landscape" in met else " (not a target on this track)")
                          if "landscape" in s else ""))
                if "attainable" in s:
                    a = s["attainable"]
                    why += (f"; an exactly right surrogate meets tau, bias and gap in "
                            f"{a['met']['all'] * a['cases']:.0f} of {a['cases']} "
                            f"leave-one-draw-out cases here")
                for key, name in (("bias", "final difference"), ("gap", "curve gap")):
                    big = s.get("largest_contributors", {}).get(key)
                    if key not in failed or not big:
                        continue
                    value = big["value"]
                    why += (f"; largest {name}: {big['optimizer']} "
                            + (f"{value:+.4f}" if key == "bias" else f"{value:.4f}"))
                    c = big["table_final_cells"]
                    if c and c["top_share"] is not None:
                        why += (f" (on the table its seeds end on {c['distinct']} distinct "
                                f"cell{'' if c['distinct'] == 1 else 's'}, {_on_one(c)})")
                verdict = "faithful" if met["all"] else f"not faithful ({', '.join(failed)})"
                parts.append(f"{what}: {verdict}: {why}.")
    summaries = []
    for t, track in report["tracks"].items():
        for label, o in (track.get("over_folds") or {}).items():
            n = len(o["targets_met"]["per_fold"])
            met = {k: sum(bool(x) for x in o[f"{k}_met"]["per_fold"])
                   for k in ("tau", "bias", "gap", "landscape")}
            ref = {k: o[f"attainable_{k}"]["mean"] for k in ("all", "tau", "bias", "gap")}
            folds = o.get("attainable_folds")
            per_target = ", ".join(
                f"{k} {met[k]}" + (f" ({100 * ref[k]:.0f} %)" if ref.get(k) is not None else "")
                for k in ("tau", "bias", "gap", "landscape")
                if k != "landscape" or t in TARGETS["landscape_tracks"])
            reference = []
            if ref["all"] is not None:
                reference.append(f"an exactly right surrogate: {100 * ref['all']:.0f} % of "
                                 f"its leave-one-draw-out cases")
            if folds:
                reference.append(f"{folds['expected']:.1f} of {n} folds expected, every fold "
                                 f"with probability {_percent(folds['every_fold'])}")
            summaries.append(
                f"Over the {n} out-of-sample folds of the {t} track, surrogate {label} meets "
                f"every target on {sum(bool(x) for x in o['targets_met']['per_fold'])}"
                + (f" ({'; '.join(reference)})" if reference else "")
                + f"; folds meeting each target (exactly right surrogate): {per_target}.")
    if not parts:
        return "No surrogate was compared."
    faithful = sum(1 for p in parts if ": faithful:" in p)
    head = (f"Verdict: {faithful} of {len(parts)} comparisons meet every target (tau >= "
            f"{TARGETS['tau_min']} at 316 and 1,000 full trainings, |bias| <= "
            f"{TARGETS['abs_bias_max']} without a significant sign pattern, mean curve gap <= "
            f"{TARGETS['gap_max']}; on the {', '.join(TARGETS['landscape_tracks'])} track "
            f"also at least {TARGETS['landscape_min']} of 6 landscape statistics inside the "
            f"table's interval). ")
    return head + " ".join(parts + summaries)


# ------------------------------------------------------------------------- rendering
def write_report(report: dict, out: Path) -> None:
    """Write ``fidelity.json`` (strict JSON), ``fidelity.md`` and the figures into ``out``."""
    from nb101.io import write_json
    out = Path(out)
    for t, track in report["tracks"].items():
        _plot_curves(track, t, out / f"curves_{t}.png")
        _plot_ranking(track, t, out / f"ranking_{t}.png")
        if any("landscape" in s for st in track["studies"] for s in st["surrogates"].values()):
            _plot_landscape(track, t, out / f"landscape_{t}.png")
    write_json(out / "fidelity.json", report, indent=1)
    write_markdown(report, out / "fidelity.md")


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


def _plot_curves(track: dict, name: str, path: Path) -> None:
    plt = _pyplot()
    panels = [(study, label) for study in track["studies"] for label in study["curves"]]
    cols = min(len(panels), 4)
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), sharey=True,
                             squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    lows = []
    for ax, (study, label) in zip(axes.ravel(), panels):
        grid = np.array(study["grid"])
        for k, n in enumerate(study["optimizers"]):
            c = study["curves"][label][n]
            m, s = np.array(c["mean"], dtype=float), np.array(c["sem"], dtype=float)
            col = colors[k % len(colors)]
            ax.plot(grid, m, label=n, color=col)
            ax.fill_between(grid, m - 1.96 * s, m + 1.96 * s, color=col, alpha=0.2)
            if "true_mean" in c:
                ax.plot(grid, np.array(c["true_mean"], dtype=float), color=col, ls="--", lw=0.8)
            if np.isfinite(m).any():
                lows.append(np.nanpercentile(m, 10))
        ax.set_xscale("log")
        ax.set_title(f"{study['name']}: {label}" + ("" if label == "table" else
                                                   " (dashed: true)"), fontsize=9)
        ax.set_xlabel("budget (full trainings)")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(panels):]:
        ax.set_axis_off()
    axes[0][0].set_ylabel("incumbent " + ("test" if name == "full" else "validation") + " acc.")
    if lows:
        axes[0][0].set_ylim(bottom=min(lows))
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"track {name}: mean incumbent over seeds (band: 95 % interval)")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))  # room for the title
    _save(fig, path)


def _plot_ranking(track: dict, name: str, path: Path) -> None:
    """One row per comparison (a surrogate, or the table's seed halves as the reference),
    one marker per ranking budget with its bootstrap interval: readable for any number of
    folds and splits."""
    plt = _pyplot()
    rows = []
    for study in track["studies"]:
        for label, s in study["surrogates"].items():
            rows.append((f"{study['name']}: {label}", s["mean_of_draws"], False))
        if "reference_seed_halves" in study:
            rows.append((f"{study['name']}: table seed halves",
                         study["reference_seed_halves"], True))
    budgets = [f"{b:.3g}" for b in track["studies"][0]["rank_budgets"]]
    colors = ("tab:blue", "tab:orange", "tab:green")
    fig, axes = plt.subplots(1, 2, figsize=(11, 1.4 + 0.32 * len(rows)), sharey=True)
    for ax, key, title, low in ((axes[0], "kendall_tau", "Kendall tau of rankings", -1),
                                (axes[1], "agreement", "pairwise verdict agreement", 0)):
        empty = True
        for y, (label, s, reference) in enumerate(rows):
            vals = np.array(s[key], dtype=float)
            cis = s.get(f"{key}_ci") or [[None, None]] * len(vals)
            for j, (v, c) in enumerate(zip(vals, cis)):
                if not np.isfinite(v):
                    continue
                empty = False
                err = None if c[0] is None else [[max(v - c[0], 0)], [max(c[1] - v, 0)]]
                ax.errorbar([v], [y + (j - 1) * 0.22], xerr=err, capsize=2,
                            fmt="o" if not reference else "d", ms=4,
                            color="gray" if reference else colors[j % len(colors)],
                            label=(f"budget {budgets[j]}" if not reference else
                                   "table seed halves (reference; budgets in the same order)"))
        if key == "kendall_tau":
            ax.axvline(TARGETS["tau_min"], color="black", lw=0.8, ls="--")
        ax.set_xlim(low, 1)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, axis="x")
        if empty:
            ax.text(0.5, 0.5, "no optimizer pair differs significantly\n(Mann-Whitney, "
                    "alpha 0.05) on either backend:\nno verdict to agree on" if key ==
                    "agreement" else "no ranking (fewer than two optimizers)",
                    ha="center", va="center", transform=ax.transAxes, fontsize=8)
    axes[0].set_yticks(range(len(rows)), [r[0] for r in rows], fontsize=7)
    axes[0].invert_yaxis()
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    fig.legend(unique.values(), unique.keys(), loc="lower center", ncol=4, fontsize=7)
    fig.suptitle(f"track {name}: ranking agreement with the table at each budget (full "
                 f"trainings; bars: 95 % bootstrap over seeds; dashed: the tau target)",
                 fontsize=9)
    fig.tight_layout(rect=(0, 0.45 / (1.4 + 0.32 * len(rows)), 1, 1))
    _save(fig, path)


def _plot_landscape(track: dict, name: str, path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(LANDSCAPE_SIX), figsize=(2.6 * len(LANDSCAPE_SIX), 3.6))
    for ax, stat in zip(axes, LANDSCAPE_SIX):
        labels = []
        for k, study in enumerate(track["studies"]):
            for label, s in study["surrogates"].items():
                if "landscape" not in s:
                    continue
                t = s["landscape"]["table"][stat]
                y = len(labels)
                ax.errorbar([t["value"]], [y], xerr=[[t["value"] - t["ci_low"]],
                                                     [t["ci_high"] - t["value"]]],
                            fmt="s", color="black", capsize=3)
                sur = s["landscape"]["surrogate"][stat]
                ax.plot(sur["draws"], [y + 0.2] * len(sur["draws"]), ".", color="tab:blue",
                        alpha=0.5)
                ax.plot([sur["value"]], [y + 0.2], "o",
                        color="tab:green" if sur["inside"] else "tab:red")
                labels.append(f"{study['name']}: {label}")
        ax.set_yticks(range(len(labels)), labels if ax is axes[0] else [""] * len(labels),
                      fontsize=7)
        ax.set_title(stat.replace("_", " "), fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle(f"track {name}: landscape (black: table, 95 % interval; dots: surrogate "
                 f"draws; green/red: their mean inside/outside)", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def write_markdown(report: dict, path: Path) -> None:
    from nb101.io import atomic_path
    cfg = report["config"]
    lines = ["# Algorithm-ranking fidelity", "", report["verdict"], "",
             f"Table: `{report['table']}`; protocol: {cfg['protocol']}; seeds: {cfg['seeds']}; "
             f"budget: {cfg['budget']} full trainings; realizations: {cfg['realizations']}"
             + (f" (noise_seed from {cfg['first_noise_seed']})" if cfg.get("first_noise_seed")
                else "") + "; "
             f"timing: {report.get('timing', {})}.", ""]
    for t, track in report["tracks"].items():
        lines += [f"## Track `{t}`", "", f"![curves](curves_{t}.png)", "",
                  f"![ranking](ranking_{t}.png)", ""]
        if (Path(path).parent / f"landscape_{t}.png").exists():
            lines += [f"![landscape](landscape_{t}.png)", ""]
        for study in track["studies"]:
            lines += _study_lines(study)
        if track.get("over_folds"):
            lines += ["### Over folds", "", "| surrogate | statistic | mean | min | max | "
                      "per fold |", "|---|---|---|---|---|---|"]
            for label, summary in track["over_folds"].items():
                for key, v in summary.items():
                    if key in ("gap_by_optimizer", "attainable_folds"):
                        continue
                    per = ", ".join(_f(x, 4) if isinstance(x, float) else str(x)
                                    for x in v["per_fold"])
                    lines.append(f"| {label} | {key} | {_f(v['mean'], 4)} | {_f(v['min'], 4)}"
                                 f" | {_f(v['max'], 4)} | {per} |")
            lines.append("")
            for label, summary in track["over_folds"].items():
                folds = summary.get("attainable_folds")
                if folds:
                    n = len(summary["targets_met"]["per_fold"])
                    lines += [f"An exactly right surrogate ({label}'s leave-one-draw-out "
                              f"cases) would meet tau, bias and gap on {folds['expected']:.1f} "
                              f"of {n} folds on average, and on every fold with probability "
                              f"{_percent(folds['every_fold'])}.", ""]
                lines += [f"Curve gap by optimizer over folds ({label}; attainable: an exactly "
                          f"right surrogate, leave one draw out)", "",
                          "| optimizer | surrogate | attainable |", "|---|---|---|"]
                for n, g in summary["gap_by_optimizer"].items():
                    lines.append(f"| {n} | {_f(g['surrogate'], 4)} | {_f(g['attainable'], 4)} |")
                lines.append("")
    lines += ["Surrogate = the mean of its realizations (draws of its simulated runs). "
              "Intervals: 95 % bootstrap over seeds. Gap: mean over the log-spaced grid of "
              "|surrogate - table| seed-mean curves. Agreement: share of optimizer pairs "
              "significant (Mann-Whitney U, alpha 0.05) on either backend whose verdicts agree. "
              "Bias: mean over optimizers of (surrogate - table) at the final budget, with a "
              "sign test across optimizers. True: the surrogate's incumbents valued by the "
              "table. Plausible draw: optimizers whose table result lies outside the 95 % "
              "prediction interval of the surrogate's draws (t test with K - 1 dof).", ""]
    with atomic_path(path, suffix=".md") as tmp:
        tmp.write_text("\n".join(lines))


def _study_lines(study: dict) -> list[str]:
    rb = " / ".join(f"{b:.3g}" for b in study["rank_budgets"])
    lines = [f"### {study['name']} ({study['protocol']}, {study['cells']:,} cells)", ""]
    finals = study.get("final_cells") or {}
    head = ("| optimizer | table final | "
            + " | ".join(f"{label} final (true) | {label} curve gap (attainable)"
                         for label in study["surrogates"])
            + " |" + "".join(f" final cells, {label} |" for label in finals))
    lines += [head, "|" + "---|" * (2 + 2 * len(study["surrogates"]) + len(finals))]
    for n in study["optimizers"]:
        row = [n, _f(study["curves"]["table"][n]["mean"][-1], 4)]
        for label, s in study["surrogates"].items():
            c = study["curves"][label][n]
            row.append(f"{_f(c['mean'][-1], 4)} ({_f(c['true_mean'][-1], 4)})")
            attainable = s.get("attainable", {}).get("gap", {}).get(n)
            row.append(_f(s["mean_of_draws"]["gap"][n], 4)
                       + ("" if attainable is None else f" ({_f(attainable, 4)})"))
        for label in finals:
            c = finals[label][n]
            share = "" if c["top_share"] is None else f" ({_on_one(c)})"
            row.append(f"{c['distinct']:.3g}{share}")
        lines.append("| " + " | ".join(row) + " |")
    if finals:
        lines += ["", "Final cells: the distinct cells the seeds' final incumbents are, and "
                  "the share of seeds on the commonest, with the first 8 characters of its "
                  "hash on the table (surrogates: mean over draws). A final "
                  "value that rests on few cells is one draw of their runs, however many "
                  "seeds."]
    lines += ["", f"| comparison | tau @ {rb} | agreement @ {rb} | mean gap | mean bias "
              f"(sign test) | landscape | plausible-draw outside (final) |",
              "|---|---|---|---|---|---|---|"]
    for label, s in study["surrogates"].items():
        share = ("" if s["training_share"] is None else
                 f", {100 * s['training_share']:.0f} % visited in training set")
        rows = [(f"{label} ({s['protocol']}{share}), mean of {s['realizations']} draws",
                 s["mean_of_draws"], s)]
        rows.append((f"{label}: true values", s["true"], None))
        if "draws_mean" in s:
            rows.append((f"{label}: per draw, mean", s["draws_mean"], None))
        if "reference_realizations" in s:
            rows.append((f"{label}: draw vs draw (reference)", s["reference_realizations"],
                         None))
        if "attainable" in s:
            a = s["attainable"]
            rows.append((f"{label}: attainable (each draw as the table, the mean of the "
                         f"others as the surrogate; tau, bias and gap targets met in "
                         f"{a['met']['all'] * a['cases']:.0f} of {a['cases']}; bias column: "
                         f"mean abs bias)", {**a, "mean_bias": a["mean_abs_bias"]}, None))
        for name, m, full in rows:
            tau = " / ".join(_f(v, 2) + _ci(c, 2) for v, c in
                             zip(m["kendall_tau"], m.get("kendall_tau_ci") or [None] * 3))
            agree = " / ".join(_f(v, 2) for v in m["agreement"])
            bias = "" if "sign_test" not in m else (
                f"{_f(m['mean_bias'], 4)}{_ci(m.get('mean_bias_ci'), 4)} "
                f"({m['sign_test']['positive']}+/{m['sign_test']['negative']}-, "
                f"p {_f(m['sign_test']['p'], 2)})")
            if not bias and "mean_bias" in m:
                bias = _f(m["mean_bias"], 4)
            land = (f"{full['landscape']['inside']}/6" if full is not None
                    and "landscape" in full else "")
            outside = (str(full["plausible_draw"]["outside"][-1]) if full is not None
                       and "plausible_draw" in full else "")
            lines.append(f"| {name} | {tau} | {agree} | {_f(m['mean_gap'], 4)}"
                         f"{_ci(m.get('mean_gap_ci'), 4)} | {bias} | {land} | {outside} |")
    if "reference_seed_halves" in study:
        m = study["reference_seed_halves"]
        tau = " / ".join(_f(v, 2) for v in m["kendall_tau"])
        lines.append(f"| table seed halves (reference) | {tau} | "
                     + " / ".join(_f(v, 2) for v in m["agreement"])
                     + f" | {_f(m['mean_gap'], 4)} | | | |")
    for label, s in study["surrogates"].items():
        if "landscape" in s:
            land = s["landscape"]
            lines += ["", f"Landscape ({label}): statistic: table [95 % interval] vs surrogate "
                      f"(mean of draws)", "", "| statistic | table | surrogate | inside |",
                      "|---|---|---|---|"]
            for stat in LANDSCAPE_SIX:
                t = land["table"][stat]
                v = land["surrogate"][stat]
                lines.append(f"| {stat} | {_f(t['value'])} [{_f(t['ci_low'])}, "
                             f"{_f(t['ci_high'])}] | {_f(v['value'])} | "
                             f"{'yes' if v['inside'] else 'no'} |")
    lines.append("")
    return lines
