"""Train a surrogate artifact (console entry ``nb101-train``).

Parses the arguments into a :class:`surrogate.train.TrainConfig` and calls
:func:`surrogate.train.train`; prints the held-out metrics of every target.

Examples
--------
Default table (the real data of ``../shared/data``, converted once into the user cache)::

    nb101-train --model xgb --features adjacency_compute --out my_artifact

A small run on a table file::

    python train_surrogate.py --table nb101.npz --train-size 200 --tune-trials 2 --out art
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from nb101.paths import user_path

__all__ = ["parse_args", "main", "add_train_command"]


def _train_size(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--train-size must be a cell count or a fraction in (0, 1], got {text!r}"
        ) from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"--train-size as a fraction must be in (0, 1], got {text!r}"
        )
    return value


def _params(text: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"must be a JSON object, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from surrogate.train import target_params_argument

    p = argparse.ArgumentParser(
        prog="nb101-train", description="Train a NAS-Bench-101 surrogate artifact."
    )
    p.add_argument(
        "--table",
        type=user_path,
        default=None,
        help="table file (.npz); default: the real data in ../shared/data, "
        "converted on the fly into the user cache and reused",
    )
    p.add_argument(
        "--data-dir",
        type=user_path,
        default=None,
        help="real-data folder used without --table (default $NB101_DATA or ../shared/data)",
    )
    p.add_argument(
        "--features",
        default="adjacency_compute",
        help="featurizer name (ignored by graph models); default adjacency_compute",
    )
    p.add_argument("--model", default="xgb", help="regressor name; default xgb")
    p.add_argument(
        "--params",
        type=_params,
        default={},
        help="JSON constructor parameters of every model, e.g. '{\"n_estimators\": 300}'",
    )
    p.add_argument(
        "--targets",
        default=None,
        help="comma-separated targets, e.g. test_accuracy@108,validation_accuracy@12 "
        "(default: every target with enough labelled cells)",
    )
    p.add_argument(
        "--train-size",
        type=_train_size,
        default=None,
        help="training cells per target: a count or a fraction of the labelled "
        "cells (default: all but the test split)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--tune-trials",
        type=int,
        default=0,
        help="Optuna trials per target on a validation split (default 0)",
    )
    p.add_argument("--tune-metric", default="kendall_tau")
    p.add_argument(
        "--members",
        type=int,
        default=1,
        help="fit each target as this many bootstrap members; a noisy surrogate's "
        "realization noise_seed runs around member noise_seed mod members "
        "(noise rule 6; default 1: one model)",
    )
    p.add_argument(
        "--top-location",
        action="store_true",
        help="noise rule 1b on the accuracy targets: centre the runs of the best-predicted "
        "cells where the held-out labels of the top bin lie (the top's regression to the "
        "mean; default: off)",
    )
    p.add_argument(
        "--stack-on",
        default=None,
        metavar="TARGET",
        help="stacking: every other accuracy target's model also takes this target's "
        "prediction as input, e.g. test_accuracy@108 (labelled on every cell "
        "of the exhaustive table); default: none",
    )
    p.add_argument(
        "--stack-params",
        type=_params,
        default={},
        help="JSON constructor parameters of the --stack-on target's model, over "
        "--params, e.g. '{\"max_depth\": 8}'",
    )
    p.add_argument(
        "--target-params",
        nargs="+",
        type=target_params_argument,
        default=(),
        metavar="TARGET=JSON",
        help="JSON constructor parameters of one target's model, over --params, e.g. "
        'training_time@108=\'{"trend": "compute_cost", "clip_quantile": null}\' '
        "(the bundled default's time model)",
    )
    p.add_argument(
        "--no-predictions",
        dest="predictions",
        action="store_false",
        help="do not store the models' predictions of the whole space in the "
        "artifact (its models then answer every query)",
    )
    p.add_argument("--out", type=user_path, required=True, help="artifact folder to write")
    p.add_argument("--quiet", action="store_true", help="no progress bars or metric table")
    return p


def parse_args(argv: Sequence[str] | None = None):
    """The :class:`surrogate.train.TrainConfig` of a command line."""
    from surrogate.train import TrainConfig

    args = build_parser().parse_args(argv)
    targets = (
        tuple(t.strip() for t in args.targets.split(",") if t.strip()) if args.targets else None
    )
    return TrainConfig(
        table=args.table,
        features=args.features,
        model=args.model,
        targets=targets,
        train_size=args.train_size,
        seed=args.seed,
        tune_trials=args.tune_trials,
        tune_metric=args.tune_metric,
        model_params=args.params,
        out=args.out,
        progress=not args.quiet,
        data_dir=args.data_dir,
        members=args.members,
        top_location=args.top_location,
        stack_on=args.stack_on,
        stack_params=args.stack_params,
        predictions=args.predictions,
        target_params=dict(args.target_params),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry: train, print the held-out metrics, return 0 (2 on a bad argument)."""
    config = parse_args(argv)
    from nb101.errors import TableError
    from surrogate.train import train

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        path = train(config)
    except (ValueError, TableError, FileNotFoundError) as exc:
        print(f"nb101-train: error: {exc}", file=sys.stderr)
        return 2
    if not config.progress:
        return 0
    meta = json.loads((path / "metadata.json").read_text())
    names = (
        "r2",
        "mae",
        "kendall_tau",
        "spearman",
        "sparse_kendall_tau",
        "precision_top1",
        "precision_top5",
    )
    print(f"artifact: {path}")
    print(f"{'target':28s} {'train':>7s} {'test':>7s} " + " ".join(f"{n[:12]:>12s}" for n in names))
    for target, info in meta["target_info"].items():
        m = info.get("metrics") or {}
        row = " ".join(f"{m[n]:12.4f}" if m.get(n) is not None else f"{'-':>12s}" for n in names)
        print(f"{target:28s} {info['train_cells']:7d} {info['test_cells']:7d} {row}")
    return 0


def add_train_command(sub) -> None:
    """Add ``nb101 train`` (this :func:`main`) to the ``nb101`` subparsers (entry point)."""
    from nb101.cli import add_forwarded_command

    add_forwarded_command(sub, "train", "train_surrogate:main", help="train a surrogate artifact")


if __name__ == "__main__":
    sys.exit(main())
