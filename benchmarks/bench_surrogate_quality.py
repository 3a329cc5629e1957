"""Quality targets of the surrogate models (issue "Featurizers, regressors and train_surrogate").

Prints Kendall tau (and fit time) per featurizer x model against the targets:

* 108-epoch test accuracy of the exhaustive table: train on a seeded random 100 / 424 / 4,236
  / 42,362 cells, test on a seeded 100,000 of the others (targets 0.45 / 0.68 / 0.74 / 0.77);
* 108-epoch validation accuracy of the 18,760-cell sample, a seeded 10 % held out: train on
  100 / 1,000 / the other 90 % (targets 0.58 / 0.75 / 0.82);
* 4-epoch validation accuracy (target 0.68) and 108-epoch training time (target 0.97) on 90 %.

Baselines: plain XGBoost (800 trees, depth 6, no target clipping) on the adjacency and on the
adjacency + path encodings. Uses the protocol of :mod:`eval.predictors` (one trial per size
unless ``--trials``). Takes ~15-30 min on 2 cores, mostly the GIN at 42,362 cells.

Usage: python benchmarks/bench_surrogate_quality.py [--trials 1] [--out DIR] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the checkout, uninstalled

from eval.predictors import FeaturizedPredictor, ProtocolConfig, run_protocol  # noqa: E402
from features import get_featurizer  # noqa: E402
from surrogate.xgb import XGBRegressorModel  # noqa: E402

EXHAUSTIVE_TARGETS = {100: 0.45, 424: 0.68, 4236: 0.74, 42362: 0.77}
SAMPLE_TARGETS = {100: 0.58, 1000: 0.75}
NINETY_PERCENT = 16_884  # 90 % of the 18,760 sample cells; 1,876 held out
#: Our candidates: the GIN (best on 4-epoch accuracy), XGBoost on the adjacency, adjacency +
#: path and adjacency + compute-cost encodings (the last best on training time).
OURS = ("gin", "adjacency+xgb", "adjacency_path+xgb", "adjacency_compute+xgb")


def _baselines() -> dict[str, object]:
    def plain(featurizer: str):
        def make(seed: int) -> FeaturizedPredictor:
            model = XGBRegressorModel(
                n_estimators=800,
                max_depth=6,
                learning_rate=0.05,
                subsample=1.0,
                colsample_bytree=1.0,
                clip_quantile=None,
                random_state=seed,
            )
            return FeaturizedPredictor(
                featurizer=get_featurizer(featurizer),
                regressor=model,
                name=f"baseline {featurizer}",
            )

        return make

    return {
        "baseline:adjacency+plain_xgb": plain("adjacency"),
        "baseline:adjacency_path+plain_xgb": plain("adjacency_path"),
    }


def _report(title: str, result, sizes, targets: dict[int, float]) -> list[dict]:
    print(f"\n## {title}\n")
    print("| predictor | " + " | ".join(f"n={s}" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    rows = []
    predictors = sorted({r["predictor"] for r in result.rows})
    for name in predictors:
        cells = []
        for size in sizes:
            try:
                row = result.row(name, size)
            except KeyError:
                cells.append("-")
                continue
            rows.append({"table": title, **row})
            mark = ""
            if size in targets and not name.startswith("baseline"):
                mark = " ✓" if row["kendall_tau"] >= targets[size] else " ✗"
            cells.append(f"{row['kendall_tau']:.3f}{mark} ({row['fit_s']:.0f} s)")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if targets:
        print("\ntargets: " + ", ".join(f"n={k}: {v}" for k, v in targets.items()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("results/surrogate_quality"))
    parser.add_argument(
        "--quick", action="store_true", help="skip the 42,362-cell split (the slowest)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the rows here as strict JSON",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    common = dict(trials=args.trials, model_defaults="library")
    plugins = _baselines()
    all_rows = []

    standard = (100, 424, 4236) if args.quick else (100, 424, 4236, 42362)
    exhaustive = run_protocol(
        ProtocolConfig(
            target="test_accuracy@108",
            sizes=(),
            standard_splits=True,
            standard_sizes=standard,
            standard_test_size=100_000,
            predictors=OURS,
            **common,
        ),
        plugins=plugins,
        progress=True,
    )
    exhaustive.write(args.out / "test_accuracy@108")
    all_rows += _report(
        "test_accuracy@108 (exhaustive, standard splits)", exhaustive, standard, EXHAUSTIVE_TARGETS
    )

    sample_sizes = (100, 1000, NINETY_PERCENT)
    for target, sizes, targets in (
        ("validation_accuracy@108", sample_sizes, {**SAMPLE_TARGETS, NINETY_PERCENT: 0.82}),
        ("validation_accuracy@4", (NINETY_PERCENT,), {NINETY_PERCENT: 0.68}),
        ("training_time@108", (NINETY_PERCENT,), {NINETY_PERCENT: 0.97}),
    ):
        result = run_protocol(
            ProtocolConfig(
                target=target,
                sizes=sizes,
                standard_splits=False,
                test_size=1876,
                predictors=OURS,
                **common,
            ),
            plugins=plugins,
            progress=True,
        )
        result.write(args.out / target)
        all_rows += _report(f"{target} (sample, 10 % held out)", result, sizes, targets)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(json.dumps(all_rows, indent=1, default=float))
    wall = time.perf_counter() - start
    print(f"\nwall time {wall:.0f} s; details in {args.out}")
    if args.json is not None:
        from nb101.io import write_json

        columns = ("table", "predictor", "size", "kendall_tau", "spearman", "r2", "fit_s")
        write_json(
            args.json,
            {
                "script": "benchmarks/bench_surrogate_quality.py",
                "args": vars(args),
                "wall_s": wall,
                "rows": [{k: r.get(k) for k in columns} for r in all_rows],
            },
            indent=1,
        )


if __name__ == "__main__":
    main()
