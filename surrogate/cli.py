"""The surrogate's commands of the ``nb101`` command line, registered through the
``nb101.commands`` entry-point group (the exact layer never imports this package).

``nb101 rank [--surrogate ARTIFACT] [--top 10] [--metric test_accuracy] [--epochs 108]``
ranks all 423,624 cells by a surrogate's predicted mean.
"""

from __future__ import annotations

import argparse
import time

from nb101.paths import user_path

__all__ = ["add_rank_command"]

_SHORT_OPS = {
    "conv3x3-bn-relu": "conv3x3",
    "conv1x1-bn-relu": "conv1x1",
    "maxpool3x3": "maxpool",
    "input": "in",
    "output": "out",
}


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _rank(args: argparse.Namespace) -> int:
    import numpy as np

    from nb101 import get_space

    from .surrogate_benchmark import SurrogateBenchmark

    start = time.perf_counter()
    space = get_space(progress=args.progress)
    bench = SurrogateBenchmark(args.artifact, noise=False, space=space)
    if args.epochs not in bench.valid_epochs:
        raise SystemExit(
            f"nb101 rank: --epochs {args.epochs} not predicted by the artifact "
            f"(valid: {sorted(bench.valid_epochs)})"
        )
    cells = np.arange(len(bench.space))
    # a no-op where the artifact carries its predictions; else the models predict the whole
    # space once (kept in the prediction cache), with a bar even when the output is piped
    bench.precompute(progress=args.progress)
    scores = bench.query_batch(cells, epochs=args.epochs)
    if np.isnan(scores[args.metric]).all():
        raise SystemExit(
            f"nb101 rank: the artifact predicts no {args.metric} at {args.epochs} epochs"
        )
    order = np.argsort(-np.nan_to_num(scores[args.metric], nan=-np.inf), kind="stable")
    print(
        f"ranked {len(cells):,} cells by predicted {args.metric} at {args.epochs} epochs "
        f"in {time.perf_counter() - start:.1f} s\n"
    )
    print(
        f"{'rank':>4}  {'module hash':32}  {'test':>6}  {'valid':>6}  {'time s':>7}  "
        f"{'params':>10}  cell (ops; edges)"
    )

    def fmt(value: float, spec: str) -> str:
        return "   n/a" if np.isnan(value) else format(value, spec)

    for rank, i in enumerate(order[: args.top], 1):
        spec = bench.space.spec(int(i))
        ops = ",".join(_SHORT_OPS[op] for op in spec.ops)
        edges = " ".join(f"{x}>{y}" for x, y in zip(*np.nonzero(spec.matrix)))
        print(
            f"{rank:>4}  {bench.space.hash(int(i))}  "
            f"{fmt(100 * scores['test_accuracy'][i], '6.2f')}  "
            f"{fmt(100 * scores['validation_accuracy'][i], '6.2f')}  "
            f"{fmt(scores['training_time'][i], '7.0f')}  "
            f"{int(scores['trainable_parameters'][i]):>10,}  {ops}; {edges}"
        )
    return 0


def add_rank_command(sub) -> None:
    """Add ``nb101 rank`` to the ``nb101`` subparsers."""
    parser = sub.add_parser(
        "rank",
        help="rank all cells with a surrogate (default: bundled)",
        description="Rank all 423,624 cells by a surrogate's predicted mean (default: the "
        "bundled surrogate; no data needed). An artifact carries its predictions "
        "of the whole space, so ranking is a lookup; for one trained with "
        "--no-predictions (or an older one) the first run on a machine predicts "
        "the whole space with its models (a progress bar) and keeps the "
        "predictions in the cache folder ($NB101_CACHE, else "
        "~/.cache/nb101-surrogate) for later runs.",
    )
    parser.add_argument(
        "--surrogate",
        dest="artifact",
        nargs="?",
        default=None,
        type=user_path,
        metavar="ARTIFACT",
        help="surrogate artifact folder (default: the bundled one)",
    )
    parser.add_argument("--artifact", type=user_path, help=argparse.SUPPRESS)  # former name
    parser.add_argument(
        "--top", type=_positive, default=10, help="how many cells to print (a positive integer)"
    )
    parser.add_argument(
        "--metric",
        default="test_accuracy",
        choices=["test_accuracy", "validation_accuracy", "training_time"],
    )
    parser.add_argument("--epochs", type=int, default=108, choices=[4, 12, 36, 108])
    parser.add_argument(
        "--no-progress", dest="progress", action="store_false", help="no progress bars"
    )
    parser.set_defaults(func=_rank)
