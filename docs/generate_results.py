"""Render the documentation's results pages from measured JSON files.

Every measured number in the docs comes from a JSON file in ``docs/results/data/``, written
by a benchmark script or an entry point and stamped with the git commit and the bundled
artifact's digest by ``docs/measure.py``. This module turns each file into one Markdown page
under ``docs/results/generated/`` (ignored by git: the Sphinx build regenerates it, see
``docs/conf.py``). A file that is not there yet renders as "not measured yet on this commit"
with the command that measures it, so the build never fails for want of a measurement.

Usage::

    python docs/generate_results.py            # write docs/results/generated/*.md
    python docs/generate_results.py --list     # the pages, their data files and commands
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import subprocess
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
DATA = DOCS / "results" / "data"
GENERATED = DOCS / "results" / "generated"
# Keys every data file may carry besides its numbers: how it was measured.
META_KEYS = ("script", "args", "argv", "_stamp")


def importable(name: str) -> bool:
    """Whether ``import name`` would find a module (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def head_commit() -> str | None:
    """The checkout's commit, or None outside a git checkout."""
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


# ------------------------------------------------------------------------ formatting
def fmt(value: Any) -> str:
    """One table cell: ints with thousands separators, floats with 4 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "–"
        return f"{value:.4g}" if abs(value) < 1e3 else f"{value:,.0f}"
    if isinstance(value, (list, tuple)) and all(isinstance(v, (int, float)) for v in value):
        return ", ".join(fmt(v) for v in value)
    return str(value).replace("|", "\\|").replace("\n", " ")


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """A Markdown table (cells through :func:`fmt`)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(fmt(c) for c in row) + " |" for row in rows]
    return lines + [""]


def render_generic(data: dict) -> list[str]:
    """Any benchmark's numbers: scalars as one quantity/value table, a list of records or a
    mapping of records as a table each, nested mappings of scalars under their key."""
    lines: list[str] = []
    scalars = [
        [k, v] for k, v in data.items() if k not in META_KEYS and not isinstance(v, (dict, list))
    ]
    if scalars:
        lines += table(["quantity", "value"], scalars)
    for key, value in data.items():
        if key in META_KEYS or not isinstance(value, (dict, list)):
            continue
        records = value if isinstance(value, list) else None
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            records = [{"": k, **v} for k, v in value.items()]
        if records and all(isinstance(r, dict) for r in records):
            columns = list(
                dict.fromkeys(
                    c
                    for r in records
                    for c in r
                    if not isinstance(r[c], (dict, list))
                    or isinstance(r[c], list)
                    and len(r[c]) <= 4
                )
            )
            lines += [f"**{key}**", ""]
            lines += table(
                [c or key for c in columns], [[r.get(c) for c in columns] for r in records]
            )
        elif isinstance(value, dict):
            flat = [[k, v] for k, v in value.items() if not isinstance(v, (dict, list))]
            if flat:
                lines += [f"**{key}**", ""] + table(["quantity", "value"], flat)
        elif value:
            lines += [f"**{key}**: {fmt(value)}", ""]
    return lines


def render_card(data: dict) -> list[str]:
    """The surrogate card: the same table as ``benchmarks/surrogate_card.py`` prints."""
    card = _load_script("surrogate_card")
    return [card.render_table(data), ""]


def render_predictors(data: dict) -> list[str]:
    """The predictor leaderboard: mean Kendall tau (and its spread) per size."""
    trials = data.get("trials") or []
    sizes = sorted({t["train_size"] for t in trials if "train_size" in t})
    names = list(dict.fromkeys(t["predictor"] for t in trials if "predictor" in t))
    lines = []
    config = data.get("config") or {}
    if config:
        lines += [
            f"Target `{config.get('target')}`, {config.get('trials')} trial(s) per size, "
            f"seed {config.get('seed')}.",
            "",
        ]
    rows = []
    for name in names:
        row = [f"`{name}`"]
        for size in sizes:
            taus = [
                t.get("metrics", {}).get("kendall_tau")
                for t in trials
                if t.get("predictor") == name and t.get("train_size") == size
            ]
            taus = [x for x in taus if isinstance(x, (int, float)) and math.isfinite(x)]
            row.append(sum(taus) / len(taus) if taus else None)
        rows.append(row)
    rows.sort(key=lambda r: -(r[-1] if isinstance(r[-1], float) else -1.0))
    lines += ["Mean Kendall tau on the test set, by training-set size:", ""]
    lines += table(["predictor"] + [f"n={s}" for s in sizes], rows)
    return lines


def render_fidelity(data: dict) -> list[str]:
    """The fidelity study: configuration, then one row per (track, cells, surrogate)."""
    cfg = data.get("config") or {}
    lines = [
        f"Seeds {cfg.get('seeds')}, budget {cfg.get('budget')} full trainings, "
        f"{cfg.get('realizations')} realizations per surrogate, protocol "
        f"`{cfg.get('protocol')}`{' (smoke configuration)' if cfg.get('smoke') else ''}.",
        "",
    ]
    if absorbed_walks(data):
        lines += [
            "*Measured before the landscape's random walks went on from a fresh cell at a "
            "cell without neighbours (commit `0acf3e9`): most walks stayed on one, so the "
            "walk autocorrelation, and with it the count of landscape statistics inside, "
            "describes where those few cells' values rank.*",
            "",
        ]
    rows = []
    for track_name, track in (data.get("tracks") or {}).items():
        for study in track.get("studies", []):
            budgets = " / ".join(f"{b:.3g}" for b in study.get("rank_budgets", []))
            for label, s in (study.get("surrogates") or {}).items():
                m = s.get("mean_of_draws") or {}
                taus = " / ".join(
                    f"{x:.2f}" if isinstance(x, float) else fmt(x) for x in m.get("kendall_tau", [])
                )
                land = s.get("landscape", {}).get("inside")
                met = s.get("targets") or {}
                missed = [k for k, ok in met.items() if k != "all" and not ok]
                rows.append(
                    [
                        track_name,
                        f"{study.get('name')} ({fmt(study.get('cells'))})",
                        f"{label} ({s.get('protocol')})",
                        f"{taus} @ {budgets}",
                        m.get("mean_bias"),
                        m.get("mean_gap"),
                        land,
                        ", ".join(missed) or "none",
                    ]
                )
    lines += table(
        [
            "track",
            "cells",
            "surrogate",
            "Kendall tau @ full trainings",
            "bias",
            "curve gap",
            "landscape statistics inside (of 6)",
            "targets missed",
        ],
        rows,
    )
    lines += _over_samples_lines(data)
    if data.get("verdict"):
        text = "\n".join(textwrap.fill(part, 100) for part in str(data["verdict"]).split("\n"))
        lines += ["**Verdict** (as the report writes it):", "", "```text", text, "```", ""]
    return lines


def absorbed_walks(data: dict) -> bool:
    """Whether a fidelity file's landscape statistics come from walks that a cell without
    neighbours absorbed (written before commit `0acf3e9`, whose walk autocorrelations say
    how many ``"pairs"`` they pool)."""
    for track in (data.get("tracks") or {}).values():
        for study in track.get("studies", []):
            for s in (study.get("surrogates") or {}).values():
                walk = ((s.get("landscape") or {}).get("table") or {}).get("walk_autocorr_1")
                if walk is not None and "pairs" not in walk:
                    return True
    return False


def _over_samples_lines(data: dict) -> list[str]:
    """Per fraction of the full track trained on several samples (``--sample-seeds``): the
    mean and range over its samples, and the share of samples meeting each target next to
    an exactly right surrogate's."""
    rows = []
    for track_name, track in (data.get("tracks") or {}).items():
        for fraction, o in (track.get("over_samples") or {}).items():
            met = []
            for key in ("tau", "bias", "gap"):
                per = (o.get(f"{key}_met") or {}).get("per_fold") or []
                ref = (o.get(f"attainable_{key}") or {}).get("mean")
                met.append(
                    f"{key} {sum(bool(x) for x in per)}/{len(per)}"
                    + (f" ({100 * ref:.0f} %)" if ref is not None else "")
                )
            taus = [k for k in o if k.startswith("tau@")]
            rows.append(
                [
                    track_name,
                    fraction,
                    len(o.get("samples") or []),
                    " / ".join(f"{o[k]['mean']:.2f}" for k in taus if o[k].get("mean") is not None),
                    _spread(o.get("mean_bias")),
                    _spread(o.get("mean_gap"), sign=""),
                    ", ".join(met),
                ]
            )
    if not rows:
        return []
    return [
        "Over the training samples of each fraction (`--sample-seeds`): mean (min to max).",
        "",
        *table(
            [
                "track",
                "fraction",
                "samples",
                "mean Kendall tau @ ranking budgets",
                "bias",
                "curve gap",
                "samples meeting each target (exactly right surrogate)",
            ],
            rows,
        ),
    ]


def _spread(v: dict | None, sign: str = "+") -> str:
    """``mean (min to max)`` of a summary over folds or samples (``sign`` "+" for signed
    statistics, "" for others)."""
    if not v or v.get("mean") is None:
        return "n/a"
    f = f"{sign}.4f"
    return f"{v['mean']:{f}} ({v['min']:{f}} to {v['max']:{f}})"


def _tau_at(stats: dict, budgets: list, at: float) -> Any:
    """The Kendall tau of ``stats`` at the ranking budget closest to ``at``."""
    taus = stats.get("kendall_tau") or []
    if not budgets or not taus:
        return None
    i = min(range(len(budgets)), key=lambda k: abs(math.log(budgets[k] / at)))
    return taus[i] if i < len(taus) else None


def render_fidelity_external(data: dict) -> list[str]:
    """The fidelity study with external optimizers: per fold, tau over every optimizer at
    316 and 1,000 full trainings against the exactly right surrogate's, then the bias and
    curve gap of each external optimizer (with the exactly right surrogate's gap)."""
    cfg = data.get("config") or {}
    optimizers = cfg.get("optimizers") or []
    external = [n for n in optimizers if n.startswith(("optuna-", "syne-"))]
    lines = [
        f"Optimizers {', '.join(f'`{n}`' for n in optimizers)}; seeds "
        f"{cfg.get('seeds')}, budget {cfg.get('budget')} full trainings, "
        f"{cfg.get('realizations')} realizations per surrogate, protocol "
        f"`{cfg.get('protocol')}`, {cfg.get('folds')} folds.",
        "",
        "Reference: an exactly right surrogate (each realization in turn plays the "
        "table, the mean of the others the surrogate); *met* is the share of its cases "
        "meeting each target.",
        "",
    ]
    rows, ext_rows = [], []
    for track_name, track in (data.get("tracks") or {}).items():
        for study in track.get("studies", []):
            budgets = study.get("rank_budgets") or []
            for label, s in (study.get("surrogates") or {}).items():
                m, ref = s.get("mean_of_draws") or {}, s.get("attainable") or {}
                met = ref.get("met") or {}
                where = f"{track_name}, {study.get('name')} ({fmt(study.get('cells'))}), {label}"
                rows.append(
                    [
                        where,
                        _tau_at(m, budgets, 316),
                        _tau_at(m, budgets, 1000),
                        _tau_at(ref, budgets, 316),
                        _tau_at(ref, budgets, 1000),
                        met.get("tau"),
                        met.get("bias"),
                        met.get("gap"),
                    ]
                )
                for n in external:
                    if n in (m.get("bias") or {}):
                        ext_rows.append(
                            [
                                where,
                                f"`{n}`",
                                m["bias"][n],
                                m["gap"].get(n),
                                (ref.get("gap") or {}).get(n),
                            ]
                        )
    lines += table(
        [
            "fold / surrogate",
            "tau @ 316",
            "tau @ 1,000",
            "reference tau @ 316",
            "reference tau @ 1,000",
            "reference met tau",
            "reference met bias",
            "reference met gap",
        ],
        rows,
    )
    if ext_rows:
        lines += [
            "External optimizers (bias: surrogate's final value minus the table's; gap: "
            "mean absolute difference of the curves):",
            "",
        ]
        lines += table(
            ["fold / surrogate", "optimizer", "bias", "curve gap", "reference curve gap"], ext_rows
        )
    failed = data.get("failed_runs") or []
    if failed:
        lines += [f"**{len(failed)} failed run(s)**; the first: {fmt(failed[0])}", ""]
    return lines


def render_marginal_tail(data: dict) -> list[str]:
    """``bench_marginal_tail``: bias, median, share below the truth and RMSE of rule 4's tail
    per fraction and rank."""
    ranks = [f"rank {k:,}" for k in data["ranks"]]
    rows = [["true value", "", *[f"{v:.4f}" for v in data["truth"]]]]
    for row in data["fractions"]:
        name = f"{row['fraction']:.0%} ({row['labels']:,} labels)"
        rows.append([name, "bias", *[f"{v:+.4f}" for v in row["bias"]]])
        if "median" in row:
            rows.append([name, "median", *[f"{v:+.4f}" for v in row["median"]]])
            rows.append([name, "share below", *[f"{v:.2f}" for v in row["share_low"]]])
        rows.append([name, "RMSE", *[f"{v:.4f}" for v in row["rmse"]]])
    lines = [
        f"{data['subsamples']} uniform samples of the {data['cells']:,} cells per fraction "
        f"(seed {data['seed']}); errors in test accuracy.",
        "",
    ]
    return lines + table(["labels", "", *ranks], rows)


def render_time_model(data: dict) -> list[str]:
    """``bench_time_model``: out-of-sample errors of each variant of the training-time model,
    overall, in the tails, by number of vertices and on the smallest cells."""
    names = list(data["variants"])
    variants = [data["variants"][n] for n in names]
    tail = f"{data['tail']:.0%}"
    rows = [
        ["RMSE of log(predicted / true)", *[f"{v['rmse_log']:.4f}" for v in variants]],
        [f"mean log ratio, cheapest {tail}", *[f"{v['bias_log_cheapest']:+.4f}" for v in variants]],
        [
            f"mean log ratio, costliest {tail}",
            *[f"{v['bias_log_costliest']:+.4f}" for v in variants],
        ],
    ]
    for size, count in data["cells_by_vertices"].items():
        rows.append(
            [
                f"mean ratio, {size} vertices ({count:,} cell{'s' * (count != 1)})",
                *[f"{v['ratio_by_vertices'][size]:.3f}" for v in variants],
            ]
        )
    for i, cell in enumerate(variants[0]["small_cells"]):
        rows.append(
            [
                f"cell {cell['cell']} ({cell['vertices']} vertices), true {cell['true']:.0f} s",
                *[f"{v['small_cells'][i]['predicted']:.0f} s" for v in variants],
            ]
        )
    lines = [
        f"`{data['target']}` on its {data['cells']:,} labelled cells, {data['folds']} folds "
        f"per split seed ({', '.join(str(s) for s in data['split_seeds'])}): every cell is "
        "predicted "
        "by a model not fitted on it, once per split (the smallest cells: the mean over "
        "splits). Model parameters of every variant: "
        f"`{json.dumps(data['model_params'], sort_keys=True)}` plus the variant's.",
        "",
    ]
    return lines + table(["", *names], rows)


def _load_script(name: str):
    path = REPO / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_docs_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------------ the pages
@dataclass(frozen=True)
class Page:
    name: str  # data file docs/results/data/<name>.json, page generated/<name>.md
    title: str
    about: str
    command: str  # what measures it (docs/measure.py stamps the JSON)
    render: Callable[[dict], list[str]] = render_generic


_M = "python docs/measure.py"
PAGES = (
    Page(
        "surrogate_card",
        "The bundled surrogate's card",
        "Held-out metrics of each of the bundled surrogate's models, on a test split of its "
        "labelled cells never used in fitting (MAE in the target's units).",
        f"{_M} surrogate_card -- python benchmarks/surrogate_card.py --json {{json}}",
        render_card,
    ),
    Page(
        "fidelity",
        "Algorithm-ranking fidelity: the default experiment",
        "The default experiment of `python -m eval.fidelity` (both tracks).",
        f"{_M} fidelity --take {{out}}/fidelity.json -- python -m eval.fidelity --out {{out}}",
        render_fidelity,
    ),
    Page(
        "fidelity_nine_folds",
        "Algorithm-ranking fidelity: nine out-of-sample folds",
        "The multi-fidelity track's out-of-sample protocol on three splits into three folds "
        "(`--split-seeds 0 1 2`), the targets judged over the nine folds against the exactly "
        "right surrogate's rates.",
        f"{_M} fidelity_nine_folds --take {{out}}/fidelity.json -- python -m eval.fidelity "
        "--track multifidelity --split-seeds 0 1 2 --out {out}",
        render_fidelity,
    ),
    Page(
        "fidelity_full_samples",
        "Algorithm-ranking fidelity: the full track over training samples",
        "The full track's 1 % and 10 % surrogates, each trained on five independent samples "
        "of the cells (`--sample-seeds 0 1 2 3 4`): a surrogate fitted on few labels carries "
        "its sample's luck at the top, so its bias is judged over samples.",
        f"{_M} fidelity_full_samples --take {{out}}/fidelity.json -- python -m eval.fidelity "
        "--track full --fractions 1pct 10pct --sample-seeds 0 1 2 3 4 --out {out}",
        render_fidelity,
    ),
    Page(
        "fidelity_full_1pct_samples",
        "Algorithm-ranking fidelity: the 1 % surrogate over twenty training samples",
        "The full track's 1 % surrogate trained on twenty independent samples "
        "(`--sample-seeds 0 ... 19`), so that its mean bias over samples is pinned down "
        "to about +-0.0002 (the landscape statistics, no target on this track, are left out).",
        f"{_M} fidelity_full_1pct_samples --take {{out}}/fidelity.json -- python -m "
        "eval.fidelity --track full --fractions 1pct --sample-seeds "
        + " ".join(str(k) for k in range(20))
        + " --no-landscape --out {out}",
        render_fidelity,
    ),
    Page(
        "fidelity_smoke",
        "Algorithm-ranking fidelity: the smoke configuration",
        "`python -m eval.fidelity --smoke`: a small configuration that checks the pipeline. "
        "Its numbers say nothing about the surrogate's fidelity (few seeds, a tiny budget).",
        f"{_M} fidelity_smoke --take {{out}}/fidelity.json -- "
        "python -m eval.fidelity --smoke --out {out}",
        render_fidelity,
    ),
    Page(
        "fidelity_external",
        "Algorithm-ranking fidelity with external optimizers",
        "The default experiment's out-of-sample folds (multi-fidelity track, split 0) with "
        "Optuna and Syne Tune optimizers ranked together with the project's; the seeds and "
        "optimizers measured are stated below (fewer seeds than the default where the "
        "machine's time did not allow more).",
        f"{_M} fidelity_external --take {{out}}/fidelity.json -- python -m eval.fidelity "
        "--track multifidelity --optimizers random evolution local reinforce hyperband "
        "bananas bohb optuna-tpe syne-rea optuna-random syne-rs --seeds 3 --out {out}",
        render_fidelity_external,
    ),
    Page(
        "bench_marginal_tail",
        "The upper tail of a surrogate's marginal",
        "`benchmarks/bench_marginal_tail.py`: rule 4's marginal, fitted on a uniform sample "
        "of the cells, against the whole space's 108-epoch test accuracy at the ranks where "
        "optimizers end (a negative bias makes every optimizer pessimistic).",
        f"{_M} bench_marginal_tail -- python benchmarks/bench_marginal_tail.py --json {{json}}",
        render_marginal_tail,
    ),
    Page(
        "bench_time_model",
        "The training-time model on cells it was not fitted on",
        "`benchmarks/bench_time_model.py`: the multi-fidelity track charges each query the "
        "backend's training time, and its projection sends many genotypes to the few "
        "smallest cells, so a time model that is too high on the cheapest cells makes every "
        "optimizer pay more on the surrogate than on the table.",
        f"{_M} bench_time_model -- python benchmarks/bench_time_model.py --json {{json}}",
        render_time_model,
    ),
    Page(
        "fidelity_external_full",
        "Algorithm-ranking fidelity with external optimizers: the full track",
        "The full track's 10 % surrogate (out of sample for 90 % of the cells) with the "
        "single-fidelity Optuna and Syne Tune optimizers ranked together with the project's; "
        "fewer seeds than the default, as the machine's time allowed.",
        f"{_M} fidelity_external_full --take {{out}}/fidelity.json -- python -m eval.fidelity "
        "--track full --fractions 10pct --optimizers random evolution local reinforce bananas "
        "optuna-tpe optuna-random syne-rs syne-rea syne-tpe --seeds 3 --out {out}",
        render_fidelity_external,
    ),
    Page(
        "predictors",
        "Predictor leaderboard",
        "The performance-predictor protocol of White et al. (2021), `python -m eval.predictors`.",
        f"{_M} predictors --take {{out}}/trials.json -- python -m eval.predictors --out {{out}}",
        render_predictors,
    ),
    Page(
        "predictors_smoke",
        "Predictor leaderboard: the smoke configuration",
        "`python -m eval.predictors --smoke`: a small configuration that checks the pipeline.",
        f"{_M} predictors_smoke --take {{out}}/trials.json -- "
        "python -m eval.predictors --smoke --out {out}",
        render_predictors,
    ),
    Page(
        "bench_query",
        "Query speed",
        "`benchmarks/bench_query.py`: single queries and "
        "`query_batch`, table and original query path.",
        f"{_M} bench_query -- python benchmarks/bench_query.py --json {{json}}",
    ),
    Page(
        "bench_surrogate",
        "Surrogate speed",
        "`benchmarks/bench_surrogate.py`: load, first "
        "query, single queries and batches, with and without the prediction cache.",
        f"{_M} bench_surrogate -- python benchmarks/bench_surrogate.py --json {{json}}",
    ),
    Page(
        "bench_table",
        "Table load time and memory",
        "`benchmarks/bench_table.py`: a 5-million-run table (the size of the official full file).",
        f"{_M} bench_table -- python benchmarks/bench_table.py --json {{json}}",
    ),
    Page(
        "bench_tfrecord",
        "TFRecord reader throughput",
        "`benchmarks/bench_tfrecord.py`.",
        f"{_M} bench_tfrecord -- python benchmarks/bench_tfrecord.py --json {{json}}",
    ),
    Page(
        "bench_features",
        "Featurizer speed",
        "`benchmarks/bench_features.py`: every "
        "featurizer over all cells, cold, from disk and from memory (without the PyG inputs, "
        "which `--no-graphs` leaves out).",
        f"{_M} bench_features -- python benchmarks/bench_features.py --no-graphs --json {{json}}",
    ),
    Page(
        "bench_predictors",
        "Predictor protocol cost",
        "`benchmarks/bench_predictors.py`: fit and query time per predictor.",
        f"{_M} bench_predictors -- python benchmarks/bench_predictors.py --quick --json {{json}}",
    ),
    Page(
        "bench_eval",
        "Optimizer cost",
        "`benchmarks/bench_eval.py`: codec, mutation and one run of every optimizer on each track.",
        f"{_M} bench_eval -- python benchmarks/bench_eval.py --json {{json}}",
    ),
    Page(
        "bench_surrogate_quality",
        "Surrogate quality by featurizer and model",
        "`benchmarks/bench_surrogate_quality.py`: Kendall tau of featurizer x model.",
        f"{_M} bench_surrogate_quality -- python benchmarks/bench_surrogate_quality.py "
        "--quick --json {json}",
    ),
)


def current_digests() -> tuple[str | None, str | None]:
    """The bundled surrogate's digest (its models) and its noise model's, in this checkout
    (None where they cannot be read)."""
    import sys

    sys.path.insert(0, str(REPO))
    try:
        from surrogate.artifact import DEFAULT_ARTIFACT, load_artifact

        artifact = load_artifact(DEFAULT_ARTIFACT)
        return artifact.digest, artifact.noise_digest
    except Exception:  # noqa: BLE001 - the pages still build, without this check
        return None, None


def stamp_lines(
    data: dict, head: str | None, digest: str | None = None, noise_digest: str | None = None
) -> list[str]:
    """Where and on what a file's numbers were measured; says so when the checkout has moved
    on (another commit, or another bundled artifact or noise model than the one measured;
    a stamp from before noise digests were recorded says it cannot tell)."""
    stamp = data.get("_stamp") or {}
    commit = stamp.get("commit")
    if not commit:
        return ["*Not stamped: the commit this was measured on is unknown.*", ""]
    dirty = " (with uncommitted changes)" if stamp.get("dirty") else ""
    lines = [
        f"Measured on commit `{commit[:12]}`{dirty}, bundled artifact digest "
        f"`{str(stamp.get('artifact_digest'))[:16]}`"
        + (f" (noise `{stamp['noise_digest'][:16]}`)" if stamp.get("noise_digest") else "")
        + f", {stamp.get('date', 'date unknown')}, "
        f"{stamp.get('machine', 'machine unknown')}"
        + (
            f", load average {stamp['load_average']:.1f} at the start"
            if isinstance(stamp.get("load_average"), (int, float))
            else ""
        )
        + ".",
        "",
        f"Command: `{stamp.get('command', '?')}`"
        + (" (its output, stamped afterwards)" if stamp.get("stamped_existing_output") else ""),
        "",
    ]
    for what, now, then, numbers in (
        ("bundled artifact", digest, stamp.get("artifact_digest"), "numbers that depend on it"),
        (
            "bundled artifact's noise model",
            noise_digest,
            stamp.get("noise_digest"),
            "numbers from simulated runs",
        ),
    ):
        if now and then and now != then:
            lines += [
                f"**The {what} has changed since** (now `{now[:16]}`): {numbers} describe "
                f"the earlier one.",
                "",
            ]
    if noise_digest and not stamp.get("noise_digest"):
        lines += [
            "*Stamped before noise digests were recorded: numbers from simulated runs "
            "(fidelity studies) may describe an earlier noise model.*",
            "",
        ]
    if head and not head.startswith(commit):
        lines.append(
            f"*The docs were built at commit `{head[:12]}`: these numbers are from an "
            f"earlier commit.*"
        )
        lines.append("")
    return lines


def render_page(
    page: Page,
    data_dir: Path = DATA,
    head: str | None = None,
    digest: str | None = None,
    noise_digest: str | None = None,
) -> str:
    """The Markdown of one results page."""
    lines = [f"# {page.title}", "", page.about, ""]
    path = data_dir / f"{page.name}.json"
    if not path.is_file():
        lines += [
            "**Not measured yet on this commit.** Measure it with:",
            "",
            "```bash",
            page.command,
            "```",
            "",
        ]
        return "\n".join(lines)
    data = json.loads(path.read_text())
    lines += stamp_lines(data, head, digest, noise_digest)
    try:
        lines += page.render(data)
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        lines += [
            f"*This file's layout is not one this page can render ({error!r}); the "
            f"numbers are in `docs/results/data/{page.name}.json`.*",
            "",
        ]
    lines += ["Regenerate with:", "", "```bash", page.command, "```", ""]
    return "\n".join(lines)


def write_pages(docs: Path = DOCS) -> list[Path]:
    """Write every page into ``docs/results/generated/`` (a file is rewritten only when its
    text changes, so incremental builds stay incremental)."""
    out = docs / "results" / "generated"
    out.mkdir(parents=True, exist_ok=True)
    head, (digest, noise_digest) = head_commit(), current_digests()
    written = []
    for page in PAGES:
        path = out / f"{page.name}.md"
        text = render_page(page, docs / "results" / "data", head, digest, noise_digest)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the pages and stop")
    args = parser.parse_args(argv)
    if args.list:
        for page in PAGES:
            state = "measured" if (DATA / f"{page.name}.json").is_file() else "not measured"
            print(f"{page.name:<24} {state:<13} {page.command}")
        return 0
    for path in write_pages():
        print(path.relative_to(REPO))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
