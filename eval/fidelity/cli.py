"""``python -m eval.fidelity``: the command line of the fidelity study."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import Any

from nb101.paths import user_path

from ..errors import EvalConfigError
from ..optimizers import EXTERNAL_OPTIMIZERS, OPTIMIZERS
from ..tracks import resolve_track
from .collect import run_fidelity
from .config import PROTOCOLS, SMOKE, SURROGATE_FRACTIONS, FidelityConfig

__all__ = ["main", "config_from_args"]


def _error_share(item: str) -> tuple[str, float]:
    """``TARGET=SHARE`` of ``--error-share`` (noise rule 5's share, a number in [0, 1))."""
    from surrogate.noise import check_error_share

    target, sep, share = item.partition("=")
    try:
        if not sep or not target:
            raise ValueError(f"expected TARGET=SHARE, got {item!r}")
        return target, check_error_share(float(share), f"the share of {target}")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    from surrogate.train import target_params_argument

    p = argparse.ArgumentParser(
        prog="python -m eval.fidelity",
        description="Algorithm-ranking fidelity: optimizers on the table and on surrogates, "
        "on cells the surrogates never saw (see the eval.fidelity docstring).",
    )
    p.add_argument("--track", default="both", help="full, multifidelity or both (default: both)")
    p.add_argument(
        "--protocol",
        default="out-of-sample",
        choices=PROTOCOLS,
        help="out-of-sample (default), in-sample, or both side by side",
    )
    p.add_argument(
        "--folds",
        type=int,
        default=3,
        help="folds of the out-of-sample multi-fidelity study (default 3)",
    )
    p.add_argument(
        "--split-seeds",
        type=int,
        nargs="+",
        default=[0],
        metavar="SEED",
        help="seeds of the splits into folds (default 0); several seeds repeat "
        "the out-of-sample study on several splits, summarised together",
    )
    p.add_argument(
        "--sample-seeds",
        type=int,
        nargs="+",
        default=[0],
        metavar="SEED",
        help="seeds of the full track's training samples (default 0); several seeds train "
        "one surrogate per fraction and seed, summarised together per fraction",
    )
    p.add_argument("--table", default=None, help="table file (default: the real-data table)")
    p.add_argument(
        "--surrogate",
        nargs="+",
        default=(),
        metavar="ARTIFACT",
        help="surrogate artifact folder(s) to evaluate instead of trained ones",
    )
    p.add_argument(
        "--fractions",
        nargs="+",
        default=None,
        choices=sorted(SURROGATE_FRACTIONS),
        metavar="LABEL",
        help="the full track's surrogates, by the share of the table they are trained on: "
        f"{', '.join(SURROGATE_FRACTIONS)} (default: those of the protocol)",
    )
    p.add_argument(
        "--optimizers",
        nargs="+",
        default=None,
        help=f"optimizers: the project's {sorted(OPTIMIZERS)} (the default), "
        f"external ones {sorted(EXTERNAL_OPTIMIZERS)} (extras 'optuna', "
        f"'syne'), 'external' (all external) or 'all'",
    )
    p.add_argument("--seeds", type=int, default=None, help="seeds per optimizer (default 20)")
    p.add_argument(
        "--budget", type=float, default=None, help="budget in full trainings (default 1000)"
    )
    p.add_argument("--out", default="fidelity_out", help="output folder")
    p.add_argument("--n-jobs", type=int, default=-1, help="joblib n_jobs (default -1)")
    p.add_argument(
        "--joblib-backend",
        default="loky",
        help="joblib backend: loky (processes, default) or threading",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="Dask scheduler address: submit the runs to that cluster",
    )
    p.add_argument("--no-noise", action="store_true", help="surrogates return means")
    p.add_argument(
        "--error-share",
        nargs="+",
        type=_error_share,
        default=(),
        metavar="TARGET=SHARE",
        help="noise rule 5 on the trained surrogates: this share of a target's residual "
        "variance is a model error shared by neighbouring cells, e.g. "
        "validation_accuracy@108=0.4 (default: off, as in the bundled default)",
    )
    p.add_argument(
        "--top-location",
        action="store_true",
        help="noise rule 1b on the trained surrogates' accuracy targets: the runs of the "
        "best-predicted cells centred lower by the top's regression to the mean "
        "(default: off, as in the bundled default)",
    )
    p.add_argument(
        "--target-params",
        nargs="+",
        type=target_params_argument,
        default=(),
        metavar="TARGET=JSON",
        help="constructor parameters of one target's model in the trained surrogates, "
        "replacing the default recipe's for that target (training_time@108's: "
        '{"trend": "compute_cost", "clip_quantile": null}), e.g. '
        "training_time@108='{}' for a plain time model",
    )
    p.add_argument(
        "--surrogate-repeats",
        type=int,
        default=1,
        help="simulated runs per cell of the surrogates (1 = like the real table)",
    )
    p.add_argument(
        "--realizations",
        type=int,
        default=None,
        help="draws of every surrogate's simulated runs (default 5)",
    )
    p.add_argument(
        "--first-noise-seed",
        type=int,
        default=0,
        metavar="SEED",
        help="noise_seed of the first draw (default 0); another value replicates "
        "the study with fresh draws",
    )
    p.add_argument("--no-landscape", action="store_true", help="skip the landscape statistics")
    p.add_argument("--smoke", action="store_true", help="a small, quick configuration")
    p.add_argument("--no-progress", action="store_true")
    return p


def config_from_args(argv: Sequence[str] | None = None) -> FidelityConfig:
    """Parse command-line arguments into a :class:`FidelityConfig`."""
    args = _parser().parse_args(argv)
    if args.track == "both":
        tracks = ("full", "multifidelity")
    else:
        resolve_track(args.track)
        tracks = (args.track,)
    kw: dict[str, Any] = dict(SMOKE) if args.smoke else {}
    for name in ("seeds", "budget", "realizations"):
        if getattr(args, name) is not None:
            kw[name] = getattr(args, name)
    if not args.smoke or args.folds != 3:
        kw["folds"] = args.folds
    if args.fractions:
        kw["surrogate_fractions"] = {f: SURROGATE_FRACTIONS[f] for f in args.fractions}
    # the recipe settings given on the command line, over the smoke recipe's
    given = {
        "error_share": dict(args.error_share),
        "top_location": args.top_location,
        "target_params": dict(args.target_params),
    }
    if any(given.values()):
        kw["surrogate_recipe"] = {
            **kw.get("surrogate_recipe", {}),
            **{key: value for key, value in given.items() if value},
        }
    return FidelityConfig(
        tracks=tracks,
        protocol=args.protocol,
        table=args.table,
        split_seeds=tuple(args.split_seeds),
        sample_seeds=tuple(args.sample_seeds),
        surrogates=tuple(args.surrogate),
        optimizers=tuple(args.optimizers) if args.optimizers else None,
        out=args.out,
        n_jobs=args.n_jobs,
        joblib_backend=args.joblib_backend,
        scheduler=args.scheduler,
        noise=not args.no_noise,
        surrogate_repeats=args.surrogate_repeats,
        first_noise_seed=args.first_noise_seed,
        landscape=not args.no_landscape,
        progress=not args.no_progress,
        **kw,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the study of the command line ``argv``; 0 on success, 2 on a bad option."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        config = config_from_args(argv)
        report = run_fidelity(config)
    except EvalConfigError as exc:
        print(f"python -m eval.fidelity: error: {exc}", file=sys.stderr)
        return 2
    out = user_path(config.out)
    print(
        f"wrote {out / 'fidelity.md'} and {out / 'fidelity.json'} "
        f"in {report['timing']['total_seconds']:.1f} s"
    )
    print(report["verdict"])
    return 0
