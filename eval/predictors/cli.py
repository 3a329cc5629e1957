"""``python -m eval.predictors``: the protocol from the command line (see
:mod:`eval.predictors` for the options' meaning and the outputs)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nb101.paths import user_path

from ..errors import EvalConfigError
from .protocol import ProtocolConfig, list_predictors, run_protocol

__all__ = ["main", "config_from_args"]


def _table(text: str) -> str | Path:
    """A table path with ``~`` expanded; the name ``real`` stays a name."""
    return text if text == "real" else user_path(text)


def _int_list(text: str) -> tuple[int, ...]:
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        return tuple(int(x) for x in text.replace(" ", "").split(",") if x)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers or 'none', got {text!r}"
        ) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m eval.predictors",
        description="Performance-predictor protocol of White et al. (2021) on a NAS-Bench-101 "
        "table: every featurizer x regressor pair, GIN and plug-ins.",
    )
    p.add_argument(
        "--table",
        type=_table,
        default=None,
        help="table file (default: the real data's combined table)",
    )
    p.add_argument(
        "--target",
        default="validation_accuracy@108",
        help="'[halfway_]<metric>@<epochs>' (default validation_accuracy@108: the "
        "18,760-cell sample; test_accuracy@108: the exhaustive table)",
    )
    p.add_argument(
        "--sizes",
        type=_int_list,
        default=None,
        help="training sizes of the sample splits, comma-separated or 'none' "
        "(default 10,30,100,300,1000)",
    )
    p.add_argument(
        "--standard-splits",
        choices=("auto", "on", "off"),
        default="auto",
        help="the exhaustive table's standard splits (100,172,424,4236); auto: "
        "when the target covers the whole space",
    )
    p.add_argument("--standard-sizes", type=_int_list, default=None)
    p.add_argument("--trials", type=int, default=None, help="trials per size (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--test-size",
        type=int,
        default=None,
        help="fixed test set of the sample splits (default 10000)",
    )
    p.add_argument(
        "--standard-test-size",
        type=int,
        default=100_000,
        help="test cells of the standard splits; 0: all other cells",
    )
    p.add_argument(
        "--predictors",
        default=None,
        help="built-ins to run, comma-separated names or globs (default: all)",
    )
    p.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="MODULE:CLASS",
        help="a cell predictor class (fit(cells, y), predict(cells)); repeatable",
    )
    p.add_argument(
        "--plugin-featurizer",
        action="append",
        default=[],
        metavar="MODULE:OBJ",
        help="an object with transform(indices), paired with every array regressor; repeatable",
    )
    p.add_argument("--model-defaults", choices=("fast", "library"), default="fast")
    p.add_argument("--out", type=user_path, default="predictor_results", help="output folder")
    p.add_argument(
        "--smoke",
        action="store_true",
        help="seconds-long configuration (2 sizes, 2 trials, 300 test cells)",
    )
    p.add_argument("--list", action="store_true", help="list the predictors and exit")
    p.add_argument("--no-progress", action="store_true")
    return p


def config_from_args(args: argparse.Namespace) -> ProtocolConfig:
    """The :class:`ProtocolConfig` of parsed CLI arguments."""
    values: dict[str, Any] = {
        "table": args.table,
        "target": args.target,
        "seed": args.seed,
        "model_defaults": args.model_defaults,
        "standard_test_size": args.standard_test_size or None,
        "standard_splits": {"auto": None, "on": True, "off": False}[args.standard_splits],
    }
    for name in ("sizes", "standard_sizes", "trials", "test_size"):
        if getattr(args, name) is not None:
            values[name] = getattr(args, name)
    if args.predictors:
        values["predictors"] = tuple(x.strip() for x in args.predictors.split(",") if x.strip())
    if args.smoke:
        if args.standard_splits == "auto":
            values.pop("standard_splits")
        return ProtocolConfig.smoke(**values)
    return ProtocolConfig(**values)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m eval.predictors``; returns the exit status."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        config = config_from_args(args)
        if args.list:
            for spec in list_predictors(
                config, plugins=args.plugin, plugin_featurizers=args.plugin_featurizer
            ):
                print(
                    f"{spec.name}\t{spec.origin}"
                    + (f"\tFAILED: {spec.error}" if spec.error else "")
                )
            return 0
        result = run_protocol(
            config,
            plugins=args.plugin,
            plugin_featurizers=args.plugin_featurizer,
            progress=not args.no_progress,
        )
    except EvalConfigError as exc:
        print(f"python -m eval.predictors: error: {exc}", file=sys.stderr)
        return 2
    paths = result.write(args.out)
    failed = sorted({r["predictor"] for r in result.rows if r["status"] != "ok"})
    print(
        f"{len(result.trials)} trials in {result.meta['wall_s']:.1f} s; "
        f"leaderboard: {paths['markdown']}"
    )
    if failed:
        print(f"failed or partly failed: {', '.join(failed)}")
    return 0
