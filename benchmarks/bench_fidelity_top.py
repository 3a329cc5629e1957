"""The top of an ``eval.fidelity`` study: lucky best labels, where the seeds end, tail
calibration and the top's landscape, per study (fold) of an output folder.

Usage::

    python -m eval.fidelity --track multifidelity --out fidelity_out
    python benchmarks/bench_fidelity_top.py fidelity_out [--track multifidelity] [--json PATH]

It reads the folder's ``fidelity.json`` (the study's settings), collects the cached runs
(:func:`eval.fidelity.collect`; runs missing from the cache are computed, as a rerun of the
study would) and queries the table and the folder's surrogates. Per study and surrogate:

* **lucky best labels** (out-of-sample folds): the held-out fold's best table labels against
  the training folds' labels at matched ranks (rank ``r`` of the fold against rank
  ``r * n_train / n_fold`` of the other folds), mean over the best 10 and 30, and against
  the fold model's mean prediction for those cells (its predicted rank among the fold's
  cells), next to the fold's mean bias. A fold whose best runs are luckier than the training
  folds' is one that no surrogate fitted on them can reproduce (noise rule 4 transfers the
  training labels' distribution).
* **where the seeds end**: per optimizer, the distinct final cells of its seeds, the share
  on the commonest and its hash, on the table and on each draw, and whether the table lies
  inside the range over the draws (:func:`eval.top_structure.final_cells_plausibility`), with
  the optimizer's final difference (surrogate mean of draws - table). That difference is
  split in two, on the table and on each draw: the model's mean prediction at the seeds'
  final cells (where the optimizer ends) and the mean excess of the backend's run there over
  that prediction (how lucky its end cells are); over the studies, per optimizer, the mean
  of each part and the correlation of the excess's difference (draws - table) with the final
  difference. An optimizer whose final difference follows the excess ends on cells as good
  as the table's but finds luck more (or less) easily there.
* **tail calibration**: the ten best runs of the table and of each draw on the study's cells:
  their mean excess over the model's mean prediction and the mean predicted rank of their
  cells. A draw's best runs sit where the model predicts best; the table's sit wherever
  luck and what the model cannot see put them.
* **top landscape**: :func:`eval.top_structure.top_structure_stats` for the table (with its
  95 % interval) and each draw, and whether the mean of the draws lies inside.
* **the model's top, calibrated**: among the cells the model predicts best (its best 0.5 %,
  1 % and 5 % of the study's cells), the mean, spread and best of the table's runs against
  those of the draws, and the model's mean prediction there. Equal means and spreads say
  the simulated runs are right where optimizers look, on average; the table's best lying
  elsewhere is then luck or structure. A table mean below the mean prediction is the
  model's over-prediction of its own best cells (out of sample, the cells predicted best
  are partly those whose error is upward).
* **roughness, model or noise**: neighbour rank correlation and share of local optima
  (:func:`eval.landscape.landscape_stats`, the study's start cells) of the model's noise-free
  mean next to the table's and the draws' runs: a draw rougher than the table around a
  smoother mean has too much noise.
* **the marginal's top**: rule 4's marginal (the labels' quantiles with their fitted upper
  tail, as the artifact stores them) at the study's ranks 1, 10, 30, 100 and 300, minus the
  table's runs at those ranks: where a draw's best runs come out too good or too poor before
  any optimizer runs (on the full track, the luck of the surrogate's training sample).
* **over-prediction of the model's best cells, over the folds**: the out-of-sample folds'
  cells that each fold's model predicts best (its best 0.1 % to 5 % of the fold), pooled over
  the folds: the mean of the table's run minus the prediction, with its standard error.
* **random search's expectation** (where every query costs one full training, as on the
  full track): the exact expected best of its ``budget`` uniform cells on the table and on
  each draw, next to its seeds' mean: the seeds' luck, which every surrogate compared with
  the same table runs shares, apart from the marginal's error.
* **the curve gap against the exactly right surrogate**: each study's gap (mean over
  optimizers) next to the exactly right surrogate's (a draw playing the table against the
  other draws, as the report's ``attainable``), and over the studies per optimizer: which
  optimizers' gaps exceed what a surrogate whose runs were the table's own kind would show.
  How far the exactly right surrogate's mean over the studies spreads (one of its cases per
  study, drawn at random) says whether the surrogate's mean is one it could have scored.
* **rule 4's slope**: how much the transfer onto the labels' marginal
  (:mod:`surrogate.noise.marginal`) stretches (> 1) or compresses (< 1) the simulated runs,
  noise included, between quantile levels: in the bulk and in the top 1 %, 0.1 % and 0.01 %.

Seeded; nothing is timed.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TAIL = 10
MATCHED = (10, 30)
#: Shares of a study's cells that the model predicts best (the model's top, calibrated).
MODEL_TOP = (0.005, 0.01, 0.05)
#: Level bands of rule 4's slope: the bulk, then the top 10 %, 1 %, 0.1 % and 0.01 %.
SLOPE_BANDS = ((0.25, 0.75), (0.9, 0.99), (0.99, 0.999), (0.999, 0.9999))
ROUGHNESS = ("neighbour_corr", "local_optima")
#: Shares of a fold that its model predicts best, pooled over the out-of-sample folds.
POOLED_TOP = (0.001, 0.0025, 0.005, 0.01, 0.05)
#: Ranks (1 = best) of the study's cells at which the marginal's top is compared.
MARGINAL_RANKS = (1, 10, 30, 100, 300)


def load_config(folder: Path, track: str):
    """The :class:`eval.fidelity.FidelityConfig` of ``folder``'s study, restricted to
    ``track``, with the landscape off (the top's statistics are computed here)."""
    from dataclasses import fields

    from eval.fidelity import FidelityConfig

    report = json.loads((folder / "fidelity.json").read_text())
    raw = report["config"]
    kwargs = {}
    for f in fields(FidelityConfig):
        if f.name not in raw:
            continue
        value = raw[f.name]
        kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    kwargs.update(tracks=(track,), out=str(folder), landscape=False, progress=False)
    return FidelityConfig(**kwargs), report


def lucky_labels(
    truth: np.ndarray, fold: np.ndarray, training: np.ndarray, prediction: np.ndarray
) -> dict:
    """The fold's best labels against the training folds' at matched ranks and against the
    model's mean prediction (``prediction`` indexed by cell)."""
    held = np.sort(truth[fold])[::-1]
    train = np.sort(truth[training])[::-1]
    ratio = len(train) / len(held)
    out = {"best": held[:3].tolist()}
    for k in MATCHED:
        ranks = np.minimum(
            (np.arange(k) * ratio + (ratio - 1) / 2).round().astype(int), len(train) - 1
        )
        out[f"vs_training_top{k}"] = float(np.mean(held[:k] - train[ranks]))
    best = fold[np.argsort(-truth[fold], kind="stable")[:TAIL]]
    out.update(_tail(best, truth, prediction, fold))
    return out


def _tail(best: np.ndarray, values: np.ndarray, prediction: np.ndarray, cells: np.ndarray) -> dict:
    """Mean excess of ``values`` over ``prediction`` on ``best`` and the mean predicted rank
    (1 = best among ``cells``) of those cells."""
    from scipy.stats import rankdata

    rank = np.zeros(len(prediction))
    rank[cells] = rankdata(-prediction[cells], method="average")
    return {
        "excess": float(np.mean(values[best] - prediction[best])),
        "predicted_rank": float(np.mean(rank[best])),
    }


def tail_calibration(values: np.ndarray, prediction: np.ndarray, cells: np.ndarray) -> dict:
    """:func:`_tail` of the :data:`TAIL` best ``values`` of ``cells``."""
    best = cells[np.argsort(-values[cells], kind="stable")[:TAIL]]
    return _tail(best, values, prediction, cells)


def model_top(values: np.ndarray, prediction: np.ndarray, cells: np.ndarray) -> dict:
    """Mean, standard deviation and maximum of ``values`` on the cells of ``cells`` that the
    model predicts best, per share of :data:`MODEL_TOP`."""
    order = cells[np.argsort(-prediction[cells], kind="stable")]
    out = {}
    for share in MODEL_TOP:
        v = values[order[: max(2, int(round(share * len(cells))))]]
        v = v[np.isfinite(v)]
        out[f"{share:g}"] = {"mean": float(v.mean()), "sd": float(v.std()), "max": float(v.max())}
    return out


def target_noise(path, target: str):
    """The artifact's noise model of ``target`` (:class:`surrogate.noise.TargetNoise`), or
    None where it has no rule-4 marginal."""
    from surrogate.artifact import load_artifact

    noise = load_artifact(path).noise
    t = None if noise is None else noise.targets.get(target)
    return None if t is None or t.marginal is None else t


def transfer_slopes(noise) -> dict | None:
    """Rule 4's slope per level band of :data:`SLOPE_BANDS` of a target's ``noise``: the
    labels' quantile range over the reference draw's (None without a transfer)."""
    from surrogate.noise import MARGINAL_LEVELS

    if noise is None or noise.simulated is None:
        return None
    simulated = np.atleast_2d(noise.simulated).mean(axis=0)  # members: their mean transfer
    marginal = np.asarray(noise.marginal)
    out = {}
    for low, high in SLOPE_BANDS:
        q = [np.interp([low, high], MARGINAL_LEVELS, x) for x in (marginal, simulated)]
        out[f"{low:g}-{high:g}"] = float((q[0][1] - q[0][0]) / (q[1][1] - q[1][0]))
    return out


def marginal_top(noise, truth: np.ndarray, cells: np.ndarray) -> dict | None:
    """Rule 4's marginal of a target's ``noise`` at the ranks :data:`MARGINAL_RANKS` of
    ``cells`` (level ``1 - (r - 0.5) / n``) minus ``truth``'s ``r``-th best value there (None
    without a marginal)."""
    from surrogate.noise import MARGINAL_LEVELS

    if noise is None:
        return None
    best = np.sort(truth[cells][np.isfinite(truth[cells])])[::-1]
    out = {}
    for r in MARGINAL_RANKS:
        if r <= len(best):
            level = 1 - (r - 0.5) / len(best)
            out[str(r)] = float(np.interp(level, MARGINAL_LEVELS, noise.marginal) - best[r - 1])
    return out


def expected_best(values: np.ndarray, cells: np.ndarray, draws: int) -> float:
    """The exact expected best of ``draws`` distinct cells drawn uniformly from ``cells``
    (their ``values``): the ``k``-th best is the best with probability ``C(n - k, q - 1) /
    C(n, q)``."""
    from scipy.special import gammaln

    v = np.sort(values[cells][np.isfinite(values[cells])])[::-1]
    n, q = len(v), min(int(draws), len(v))
    k = np.arange(1, n - q + 2)
    log_p = (
        gammaln(n - k + 1)
        - gammaln(q)
        - gammaln(n - k - q + 2)
        - (gammaln(n + 1) - gammaln(q + 1) - gammaln(n - q + 1))
    )
    return float(np.sum(np.exp(log_p) * v[: len(k)]))


def where_seeds_end(
    values: np.ndarray, prediction: np.ndarray, finals: dict[str, np.ndarray]
) -> dict:
    """Per optimizer (``finals``: its seeds' final cells, -1 for none): the mean model
    prediction at the final cells and the mean excess of ``values`` (the backend's runs) over
    it."""
    out = {}
    for name, cells in finals.items():
        cells = np.asarray(cells)
        cells = cells[cells >= 0]
        if len(cells) == 0:
            out[name] = {"prediction": None, "excess": None}
            continue
        out[name] = {
            "prediction": float(np.mean(prediction[cells])),
            "excess": float(np.mean(values[cells] - prediction[cells])),
        }
    return out


def ends_over_studies(studies: list[dict]) -> dict:
    """Per optimizer, over the studies and surrogates of :func:`analyse`: the mean of the
    table's and of the draws' prediction and excess at the final cells, and the correlation
    of (draws' excess - table's) with the final difference."""
    rows: dict[str, list] = {}
    for study in studies:
        for s in study["surrogates"].values():
            ends, finals = s["ends"], s["final_cells"]["optimizers"]
            draws = [d for d in ends if d != "table"]
            for name, table in ends["table"].items():
                own = [ends[d][name] for d in draws if ends[d][name]["excess"] is not None]
                if table["excess"] is None or not own:
                    continue
                rows.setdefault(name, []).append(
                    (
                        table["prediction"],
                        float(np.mean([e["prediction"] for e in own])),
                        table["excess"],
                        float(np.mean([e["excess"] for e in own])),
                        finals[name]["final_difference"],
                    )
                )
    out = {}
    for name, r in rows.items():
        a = np.array(r, dtype=float)
        diff, final = a[:, 3] - a[:, 2], a[:, 4]
        corr = (
            float(np.corrcoef(diff, final)[0, 1])
            if len(a) >= 3 and diff.std() > 0 and final.std() > 0
            else None
        )
        out[name] = {
            "studies": len(a),
            "table_prediction": float(a[:, 0].mean()),
            "draws_prediction": float(a[:, 1].mean()),
            "table_excess": float(a[:, 2].mean()),
            "draws_excess": float(a[:, 3].mean()),
            "final_difference": float(final.mean()),
            "corr_excess_difference_final": corr,
        }
    return out


def gap_against_reference(
    reported: dict, attainable: dict | None, case_gaps: list[float] | None = None
) -> dict | None:
    """A study's curve gap (mean over optimizers, and each optimizer's) next to the exactly
    right surrogate's (a draw playing the table against the others, leave one draw out), and
    that reference's mean gap in each of its cases."""
    if not attainable or attainable.get("mean_gap") is None:
        return None
    return {
        "surrogate": reported["mean_gap"],
        "reference": attainable["mean_gap"],
        "reference_cases": list(case_gaps or []),
        "by_optimizer": {
            n: {"surrogate": g, "reference": attainable["gap"].get(n)}
            for n, g in reported["gap"].items()
        },
    }


#: Combinations of one leave-one-draw-out case per study drawn for the reference's mean.
REFERENCE_COMBINATIONS = 100_000


def gaps_over_studies(studies: list[dict]) -> dict:
    """Per surrogate, :func:`gap_against_reference` averaged over the studies that have it,
    and the spread of an exactly right surrogate's mean over them: one of its cases per
    study, drawn at random (seeded), its 5 % and 95 % quantiles and how often it reaches
    the surrogate's mean gap."""
    out: dict[str, list] = {}
    for entry in studies:
        for label, s in entry["surrogates"].items():
            g = s.get("gap_against_reference")
            if g:
                out.setdefault(label, []).append(g)
    summary = {}
    for label, gaps in out.items():
        names = gaps[0]["by_optimizer"]
        mean = float(np.mean([g["surrogate"] for g in gaps]))
        entry = {
            "studies": len(gaps),
            "surrogate": mean,
            "reference": float(np.mean([g["reference"] for g in gaps])),
            "by_optimizer": {
                n: {
                    part: float(np.mean([g["by_optimizer"][n][part] for g in gaps]))
                    for part in ("surrogate", "reference")
                }
                for n in names
            },
        }
        if all(g["reference_cases"] for g in gaps):
            rng = np.random.default_rng(0)
            means = np.mean(
                [
                    rng.choice(np.asarray(g["reference_cases"]), REFERENCE_COMBINATIONS)
                    for g in gaps
                ],
                axis=0,
            )
            low, high = np.quantile(means, [0.05, 0.95])
            entry["reference_q05"], entry["reference_q95"] = float(low), float(high)
            entry["reference_reaches"] = float(np.mean(means >= mean))
        summary[label] = entry
    return summary


def over_prediction(folds: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Per share of :data:`POOLED_TOP`: the mean and standard error of ``truth -
    prediction`` over each fold's cells predicted best (``folds``: ``(prediction, truth)``
    on each fold's cells), and the number of cells pooled."""
    out = {}
    for share in POOLED_TOP:
        diffs = []
        for prediction, truth in folds:
            best = np.argsort(-prediction, kind="stable")[: max(1, int(share * len(prediction)))]
            diffs.append(truth[best] - prediction[best])
        d = np.concatenate(diffs)
        d = d[np.isfinite(d)]
        out[f"{share:g}"] = {
            "mean": float(d.mean()),
            "se": float(d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan"),
            "cells": int(len(d)),
        }
    return out


def roughness(sample, values: np.ndarray, neighbours) -> dict:
    """:data:`ROUGHNESS` of :func:`eval.landscape.landscape_stats` (values only: no
    bootstrap, whose intervals would be discarded)."""
    from eval.landscape import landscape_stats

    stats = landscape_stats(sample, values, neighbours, n_boot=0)
    return {name: stats[name]["value"] for name in ROUGHNESS}


def study_cells(name: str, covered: np.ndarray, config) -> np.ndarray:
    """The cells of the study named ``name`` ("fold i/k[, split s]": that fold of
    :func:`eval.fidelity.split_folds`; any other study: every covered cell)."""
    from eval.fidelity import split_folds

    match = re.fullmatch(r"fold (\d+)/(\d+)(?:, split (\d+))?", name)
    if match is None:
        return covered
    i, k, seed = int(match[1]), int(match[2]), int(match[3] or 0)
    return split_folds(covered, k, seed)[i - 1]


def analyse(folder: Path, track_name: str, n_boot: int | None = None) -> dict:
    """Every analysis of the module docstring, per study and surrogate."""
    from eval.fidelity import collect, track_targets
    from eval.fidelity.config import TABLE_REQUIRE
    from eval.fidelity.report.compare import leave_one_draw_out
    from eval.landscape import landscape_sample
    from eval.top_structure import (
        final_cells_plausibility,
        top_structure_stats,
        top_structure_summary,
    )
    from eval.tracks import covered_cells, make_track, resolve_track
    from nb101 import TabularBenchmark, format_target, get_space
    from surrogate import SurrogateBenchmark

    config, report = load_config(folder, track_name)
    n_boot = int(n_boot or config.n_boot)
    result = collect(config)
    space = get_space()
    table = TabularBenchmark(result.table, seed=0, require=TABLE_REQUIRE[track_name])
    objective = resolve_track(track_name).objective
    target = format_target(objective, 108)  # the objective at the maximum budget
    covered = covered_cells(track_name, table)
    studies_json = {s["name"]: s for s in report["tracks"][track_name]["studies"]}
    first = int(config.first_noise_seed)
    labels = np.full(len(space), np.nan)  # the table's runs, one per covered cell
    labels[covered] = table.query_batch(covered, 108)[objective]
    out = []
    pooled: dict[str, list] = {}  # label -> (prediction, truth) on each out-of-sample fold
    for study in result.studies:
        if study.track != track_name:
            continue
        cells = study_cells(study.name, covered, config)
        truth = np.where(np.isin(np.arange(len(space)), cells), labels, np.nan)
        track = make_track(track_name, table, cells=cells)
        sample = landscape_sample(cells, track.neighbours, seed=0)
        entry = {"study": study.name, "cells": int(len(cells)), "surrogates": {}}
        top = {"table": top_structure_stats(sample, truth, track.neighbours, n_boot=n_boot)}
        for label, draws in study.draws.items():
            path = result.surrogates[f"{track_name}/{study.name}/{label}"]
            kwargs = dict(
                seed=0,
                num_repeats=int(config.surrogate_repeats),
                require_targets=track_targets(track_name),
            )
            prediction = np.full(len(space), np.nan)
            prediction[cells] = SurrogateBenchmark(path, noise=False, **kwargs).query_batch(
                cells, 108
            )[objective]
            noise = target_noise(path, target)
            # random search queries `budget` distinct cells where each costs one training
            queries = study.budget / study.unit if study.unit == 1.0 else None
            s = {
                "tail": {"table": tail_calibration(truth, prediction, cells)},
                "model_top": {
                    "table": model_top(truth, prediction, cells),
                    "prediction": model_top(prediction, prediction, cells),
                },
                "roughness": {
                    "table": roughness(sample, truth, track.neighbours),
                    "mean": roughness(sample, prediction, track.neighbours),
                },
                "transfer_slopes": transfer_slopes(noise),
                "marginal_top": marginal_top(noise, truth, cells),
                "random_expected": {},
            }
            if queries and "random" in study.optimizers:
                s["random_expected"]["table"] = {
                    "expected": expected_best(truth, cells, queries),
                    "seeds": float(np.nanmean(study.curves["table"]["random"][:, -1])),
                }
            s["ends"] = {"table": where_seeds_end(truth, prediction, study.final_cells["table"])}
            for k, draw in enumerate(draws):
                values = np.full(len(space), np.nan)
                values[cells] = SurrogateBenchmark(
                    path, noise=config.noise, noise_seed=first + k, **kwargs
                ).query_batch(cells, 108)[objective]
                s["tail"][draw] = tail_calibration(values, prediction, cells)
                s["model_top"][draw] = model_top(values, prediction, cells)
                s["roughness"][draw] = roughness(sample, values, track.neighbours)
                s["ends"][draw] = where_seeds_end(values, prediction, study.final_cells[draw])
                if s["random_expected"]:
                    s["random_expected"][draw] = {
                        "expected": expected_best(values, cells, queries),
                        "seeds": float(np.nanmean(study.curves[draw]["random"][:, -1])),
                    }
                top[draw] = top_structure_stats(sample, values, track.neighbours, n_boot=n_boot)
            if study.protocol == "out-of-sample":
                training = np.setdiff1d(covered, cells)
                s["lucky"] = lucky_labels(labels, cells, training, prediction)
                pooled.setdefault(label, []).append((prediction[cells], truth[cells]))
            finals = final_cells_plausibility(
                study.final_cells, draws, study.optimizers, hash_of=lambda i: space.hash(i)[:8]
            )
            table_final = {
                n: float(np.nanmean(study.curves["table"][n][:, -1])) for n in study.optimizers
            }
            for n in study.optimizers:
                mean = np.nanmean([np.nanmean(study.curves[d][n][:, -1]) for d in draws])
                finals["optimizers"][n]["final_difference"] = float(mean - table_final[n])
            s["final_cells"] = finals
            s["top_structure"] = top_structure_summary(top, draws)
            reported = studies_json.get(study.name, {}).get("surrogates", {}).get(label, {})
            m = reported.get("mean_of_draws", {})
            s["mean_bias"] = m.get("mean_bias")
            s["mean_gap"] = m.get("mean_gap")
            s["kendall_tau"] = m.get("kendall_tau")
            s["gap_against_reference"] = gap_against_reference(
                m,
                reported.get("attainable"),
                [
                    float(c["mean_gap"])
                    for c in leave_one_draw_out(
                        study.curves, draws, study.optimizers, study.rank_at
                    )
                ]
                if len(draws) >= 3
                else None,
            )
            entry["surrogates"][label] = s
        out.append(entry)
    return {
        "folder": str(folder),
        "track": track_name,
        "studies": out,
        "ends": ends_over_studies(out),
        "gap_against_reference": gaps_over_studies(out),
        "over_prediction": {
            label: over_prediction(folds) for label, folds in pooled.items() if len(folds) >= 2
        },
    }


def render(res: dict) -> str:
    lines = [f"{res['folder']} ({res['track']} track)"]
    lucky = []
    for study in res["studies"]:
        for label, s in study["surrogates"].items():
            lines.append(
                f"\n== {study['study']} ({study['cells']:,} cells), surrogate "
                f"{label}: bias {_f(s['mean_bias'], '+.4f')}, gap "
                f"{_f(s['mean_gap'], '.4f')}, tau "
                f"{' / '.join(_f(t, '.2f') for t in s['kendall_tau'] or [])}"
                + (
                    f" (exactly right surrogate's gap {g['reference']:.4f})"
                    if (g := s.get("gap_against_reference"))
                    else ""
                )
            )
            if "lucky" in s:
                u = s["lucky"]
                lucky.append((u["vs_training_top30"], s["mean_bias"]))
                lines.append(
                    f"  lucky best labels: best {', '.join(f'{x:.4f}' for x in u['best'])}; "
                    f"fold - training folds at matched ranks: top 10 "
                    f"{u['vs_training_top10']:+.4f}, top 30 {u['vs_training_top30']:+.4f}; "
                    f"top {TAIL} labels - fold model {u['excess']:+.4f} at predicted rank "
                    f"{u['predicted_rank']:.0f}"
                )
            t = s["tail"]
            draws = [k for k in t if k != "table"]
            lines.append(
                f"  tail ({TAIL} best runs - prediction, predicted rank): table "
                f"{t['table']['excess']:+.4f} at {t['table']['predicted_rank']:.0f}; draws "
                + ", ".join(f"{t[d]['excess']:+.4f} at {t[d]['predicted_rank']:.0f}" for d in draws)
            )
            lines += _model_top_lines(s["model_top"])
            lines += _roughness_lines(s["roughness"], s["transfer_slopes"])
            r = s["random_expected"]
            if r:
                lines.append(
                    "  random search, expected best / its seeds' mean: table "
                    f"{r['table']['expected']:.4f} / {r['table']['seeds']:.4f}; draws "
                    + ", ".join(
                        f"{v['expected']:.4f} / {v['seeds']:.4f}"
                        for k, v in r.items()
                        if k != "table"
                    )
                )
            if s["marginal_top"]:
                lines.append(
                    "  the marginal's top minus the table's runs at rank "
                    + ", ".join(f"{r}: {v:+.4f}" for r, v in s["marginal_top"].items())
                )
            f = s["final_cells"]
            lines.append(
                f"  final cells (distinct / % on one, hash): table inside the range "
                f"of the draws for {f['inside']} of {f['of']} optimizers"
            )
            for n, e in f["optimizers"].items():
                draws_txt = ", ".join(_conc(c) for c in e["draws"])
                lines.append(
                    f"    {n:<11} {e['final_difference']:+.4f}  table {_conc(e['table'])}"
                    f"{'' if e['inside'] else '  OUTSIDE'}; draws {draws_txt}"
                )
            ends = s["ends"]
            lines.append(
                "  where the seeds end (mean prediction at the final cells; the runs' excess "
                "over it): table; draws"
            )
            for n, e in ends["table"].items():
                draws_txt = ", ".join(
                    f"{_f(ends[d][n]['prediction'], '.4f')} {_f(ends[d][n]['excess'], '+.4f')}"
                    for d in ends
                    if d != "table"
                )
                lines.append(
                    f"    {n:<11} {_f(e['prediction'], '.4f')} {_f(e['excess'], '+.4f')}; "
                    f"{draws_txt}"
                )
            ts = s["top_structure"]
            lines.append(
                f"  top landscape: surrogate inside the table's interval for "
                f"{ts['inside']} of {ts['of']}"
            )
            for name, v in ts["surrogate"].items():
                tab = ts["table"][name]
                lines.append(
                    f"    {name:<26} table {_f(tab['value'])} [{_f(tab['ci_low'])}, "
                    f"{_f(tab['ci_high'])}]  surrogate {_f(v['value'])}"
                    f"{'' if v['inside'] else ' OUTSIDE'}  draws "
                    + " ".join(_f(x) for x in v["draws"])
                )
    if len(lucky) >= 3:
        a, b = np.array(lucky, dtype=float).T
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() >= 3:
            lines.append(
                f"\ncorrelation over folds of (fold - training top 30) and the mean "
                f"bias: {np.corrcoef(a[ok], b[ok])[0, 1]:+.2f}"
            )
    if res.get("ends"):
        lines.append(
            "\nwhere the seeds end, mean over the studies: prediction at the final cells "
            "(table / draws), the runs' excess over it (table / draws), the final difference, "
            "and the correlation over studies of the excess's difference with it"
        )
        for n, e in res["ends"].items():
            lines.append(
                f"  {n:<11} {e['table_prediction']:.4f} / {e['draws_prediction']:.4f}   "
                f"{e['table_excess']:+.4f} / {e['draws_excess']:+.4f}   "
                f"{e['final_difference']:+.4f}   "
                f"{_f(e['corr_excess_difference_final'], '+.2f')} ({e['studies']} studies)"
            )
    for label, g in res.get("gap_against_reference", {}).items():
        spread = (
            f" (one of its cases per study: within {g['reference_q05']:.5f}-"
            f"{g['reference_q95']:.5f} in 90 % of combinations, at least the surrogate's in "
            f"{100 * g['reference_reaches']:.1f} %)"
            if "reference_reaches" in g
            else ""
        )
        lines.append(
            f"\nsurrogate {label}, curve gap against the exactly right surrogate's, mean over "
            f"{g['studies']} studies: {g['surrogate']:.5f} against {g['reference']:.5f}"
            f"{spread}; per optimizer (surrogate / exactly right, excess):"
        )
        for n, v in g["by_optimizer"].items():
            lines.append(
                f"  {n:<11} {v['surrogate']:.5f} / {v['reference']:.5f}  "
                f"{v['surrogate'] - v['reference']:+.5f}"
            )
    for label, shares in res.get("over_prediction", {}).items():
        lines.append(
            f"\nsurrogate {label}, over the folds: the table's runs minus the prediction on "
            "the cells each fold's model predicts best"
        )
        for share, v in shares.items():
            lines.append(
                f"  best {float(share) * 100:g} % ({v['cells']} cells): {v['mean']:+.4f} "
                f"(standard error {v['se']:.4f})"
            )
    return "\n".join(lines)


def _model_top_lines(top: dict) -> list[str]:
    """The model's top: the table's runs against the draws' (their mean over draws)."""
    draws = [k for k in top if k not in ("table", "prediction")]
    lines = ["  the model's top (mean / sd / max of the runs on the cells it predicts best):"]
    for share, t in top["table"].items():
        d = {key: np.mean([top[x][share][key] for x in draws]) for key in ("mean", "sd", "max")}
        lines.append(
            f"    best {float(share) * 100:g} %: table {t['mean']:.4f} / {t['sd']:.4f} / "
            f"{t['max']:.4f}; draws {d['mean']:.4f} / {d['sd']:.4f} / {d['max']:.4f}; "
            f"mean prediction {top['prediction'][share]['mean']:.4f}"
        )
    return lines


def _roughness_lines(rough: dict, slopes: dict | None) -> list[str]:
    draws = [k for k in rough if k not in ("table", "mean")]
    lines = []
    for name in ROUGHNESS:
        lines.append(
            f"  {name}: table {_f(rough['table'][name])}, model mean {_f(rough['mean'][name])}, "
            f"draws " + " ".join(_f(rough[d][name]) for d in draws)
        )
    if slopes:
        lines.append(
            "  rule 4's slope (labels' range / reference draw's) by level band: "
            + ", ".join(f"{band} {v:.2f}" for band, v in slopes.items())
        )
    return lines


def _conc(c: dict) -> str:
    if c["top_share"] is None:
        return "none"
    return f"{c['distinct']}/{c['top_share'] * 100:.0f}%" + (
        f" {c['top_cell']}" if c.get("top_cell") else ""
    )


def _f(x, fmt: str = ".3f") -> str:
    return "n/a" if x is None or not np.isfinite(x) else format(x, fmt)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "folder",
        nargs="?",
        default="fidelity_out",
        help="an eval.fidelity output folder (default fidelity_out)",
    )
    parser.add_argument("--track", default="multifidelity")
    parser.add_argument(
        "--n-boot", type=int, default=None, help="bootstrap resamples (default: the study's)"
    )
    parser.add_argument(
        "--json", default=None, metavar="PATH", help="also write the numbers to PATH (strict JSON)"
    )
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    if not (folder / "fidelity.json").exists():
        sys.exit(f"{folder}: no fidelity.json (run python -m eval.fidelity --out {folder} first)")
    res = analyse(folder, args.track, args.n_boot)
    print(render(res), flush=True)
    if args.json:
        from nb101.io import write_json

        write_json(args.json, {"script": "bench_fidelity_top", "args": vars(args), **res}, indent=1)


if __name__ == "__main__":
    main()
