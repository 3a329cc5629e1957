"""Settings of a fidelity study (:class:`FidelityConfig`), its constants and their checks.

The checks run before any run starts, so that a bad option costs nothing: they raise
:class:`eval.errors.EvalConfigError` naming the option, the value and what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nb101 import format_target
from nb101.paths import user_path

from ..errors import EvalConfigError
from ..optimizers import OPTIMIZERS, expand_optimizers, is_external, resolve_optimizer
from ..tracks import TRACKS, resolve_track

__all__ = [
    "FidelityConfig",
    "SMOKE",
    "PROTOCOLS",
    "SURROGATE_FRACTIONS",
    "FRACTION_PROTOCOL",
    "TABLE_REQUIRE",
    "RUN_FORMAT",
    "GRID_POINTS",
    "RANK_AT",
    "IN_SAMPLE_SHARE",
    "track_targets",
    "validate",
    "resolve_table",
    "check_surrogate",
]

#: Label -> ``TrainConfig.train_size`` of the full track's surrogates, and the protocol each
#: belongs to (a surrogate fitted on nearly all cells is in sample).
SURROGATE_FRACTIONS = {"all": None, "10pct": 0.1, "1pct": 0.01}
FRACTION_PROTOCOL = {"all": "in-sample", "10pct": "out-of-sample", "1pct": "out-of-sample"}
PROTOCOLS = ("out-of-sample", "in-sample", "both")
#: Table ``require`` (visible runs) per track.
TABLE_REQUIRE = {"full": ("test_accuracy",), "multifidelity": ("validation_accuracy",)}
RUN_FORMAT = 1
GRID_POINTS = 25
#: Fractions of the budget at which rankings are compared (100, 316 and 1,000 of 1,000).
RANK_AT = (0.1, 0.316, 1.0)
#: A surrogate whose training set holds at least this share of the visited cells is
#: labelled in-sample.
IN_SAMPLE_SHARE = 0.5


def track_targets(track: str) -> tuple[str, ...]:
    """The surrogate targets a track needs: its ``requires`` as target names."""
    return tuple(format_target(metric, epochs) for metric, epochs in resolve_track(track).requires)


@dataclass(frozen=True)
class FidelityConfig:
    """Settings of one fidelity study (see :mod:`eval.fidelity`).

    Parameters
    ----------
    tracks : tuple of str
    protocol : {"out-of-sample", "in-sample", "both"}
    folds : int
        Folds of the multi-fidelity track's out-of-sample protocol.
    split_seeds : tuple of int
        Seeds of the permutations that split the covered cells into folds, one split each
        (studies of a seed other than 0 are named ``"fold i/k, split s"``).
    sample_seeds : tuple of int
        Seeds of the full track's surrogates (``TrainConfig.seed``: the training sample and
        the model), one surrogate per fraction and seed, summarised together per fraction: a
        surrogate fitted on a few labels is mostly its sample's luck at the top, which one
        sample cannot tell from a systematic error. Seeds other than 0 are labelled
        ``"1pct-sample1"``; the in-sample surrogate (``"all"``) is trained once.
    table : path-like, optional
        Table file (default: the real-data table, converted on first use).
    surrogates : tuple of path-like
        Artifacts; empty = train the protocol's surrogates into ``out/surrogates``.
    optimizers : tuple of str, optional
        Names of :data:`eval.optimizers.ALL_OPTIMIZERS` or groups (``external``, ``all``);
        default: the project's own (:data:`eval.optimizers.OPTIMIZERS`). Multi-fidelity ones
        run on the multi-fidelity track only.
    seeds : int
    budget : float
        In full trainings (see :mod:`eval.fidelity`).
    out : path-like
    n_jobs : int
        joblib ``n_jobs`` (-1 = all cores).
    joblib_backend : str
        joblib backend name (``loky`` or ``threading``).
    scheduler : str, optional
        Address of a Dask scheduler; the runs are submitted to it instead of joblib.
    surrogate_recipe : dict, optional
        ``TrainConfig`` fields of trained surrogates (default
        :data:`surrogate.train.DEFAULT_RECIPE`).
    surrogate_fractions : dict
        Label -> ``train_size`` of the full track's surrogates.
    noise : bool
        Surrogate queries answer with simulated runs (True) or the predicted mean.
    surrogate_repeats : int
        Simulated runs per cell (``SurrogateBenchmark(num_repeats=...)``); 1 mirrors the real
        table, which holds one run per cell and budget.
    realizations : int
        Draws of every surrogate's simulated runs (``noise_seed`` ``first_noise_seed`` to
        ``first_noise_seed + realizations - 1``).
    first_noise_seed : int
        ``noise_seed`` of the first draw; another value than 0 replicates a study with fresh
        draws (the table's runs and the trained surrogates are reused from the cache).
    landscape : bool
        Compare the landscapes (:mod:`eval.landscape`).
    n_boot : int
        Bootstrap resamples of every interval.
    progress : bool
    smoke : bool
        A smoke run (:data:`SMOKE` sets it): the report says so, since its numbers are no
        evidence of fidelity.
    """

    tracks: tuple[str, ...] = ("full", "multifidelity")
    protocol: str = "out-of-sample"
    folds: int = 3
    split_seeds: tuple[int, ...] = (0,)
    sample_seeds: tuple[int, ...] = (0,)
    table: str | os.PathLike | None = None
    surrogates: tuple[str | os.PathLike, ...] = ()
    optimizers: tuple[str, ...] | None = None
    seeds: int = 20
    budget: float = 1000.0
    out: str | os.PathLike = "fidelity_out"
    n_jobs: int = -1
    joblib_backend: str = "loky"
    scheduler: str | None = None
    surrogate_recipe: dict | None = None
    surrogate_fractions: dict = field(default_factory=lambda: dict(SURROGATE_FRACTIONS))
    noise: bool = True
    surrogate_repeats: int = 1
    realizations: int = 5
    first_noise_seed: int = 0
    landscape: bool = True
    n_boot: int = 1000
    progress: bool = False
    smoke: bool = False


#: The ``--smoke`` settings: small surrogates, few seeds, a short budget.
SMOKE = dict(
    smoke=True,
    seeds=3,
    budget=15.0,
    folds=2,
    realizations=2,
    n_boot=100,
    surrogate_fractions={"1pct": 0.01},
    surrogate_recipe={"model_params": {"n_estimators": 20, "max_depth": 4}},
)


def validate(config: FidelityConfig) -> tuple[list[str], list[str]]:
    """The study's tracks and optimizer names (duplicates dropped), after checking every
    option; :class:`EvalConfigError` on the first bad one."""
    tracks = list(dict.fromkeys(config.tracks))
    if not tracks:
        raise EvalConfigError(f"tracks: got none; choices: {sorted(TRACKS)}")
    for t in tracks:
        resolve_track(t)
    names = expand_optimizers(config.optimizers) if config.optimizers else list(OPTIMIZERS)
    if not names:
        raise EvalConfigError(f"optimizers: got none; choices: {sorted(OPTIMIZERS)}")
    for n in names:
        if is_external(n):
            resolve_optimizer(n).check_available()  # names the extra to install
    for name in ("seeds", "realizations", "folds", "n_boot"):
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise EvalConfigError(f"{name} must be a positive integer, got {value!r}")
    first = config.first_noise_seed
    if isinstance(first, bool) or not isinstance(first, (int, np.integer)) or first < 0:
        raise EvalConfigError(f"first_noise_seed must be a non-negative integer, got {first!r}")
    for name in ("split_seeds", "sample_seeds"):
        value = getattr(config, name)
        seeds = tuple(value) if isinstance(value, (tuple, list)) else ()
        if (
            not seeds
            or len(set(seeds)) != len(seeds)
            or any(
                isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0 for x in seeds
            )
        ):
            raise EvalConfigError(f"{name} must be distinct non-negative integers, got {value!r}")
    if config.folds < 2 and config.protocol != "in-sample" and not config.surrogates:
        raise EvalConfigError(
            f"folds must be at least 2 for the out-of-sample protocol, got {config.folds}"
        )
    if config.protocol not in PROTOCOLS:
        raise EvalConfigError(f"unknown protocol {config.protocol!r}; choices: {list(PROTOCOLS)}")
    try:
        budget = float(config.budget)
    except (TypeError, ValueError):
        raise EvalConfigError(f"budget must be a positive number, got {config.budget!r}") from None
    if not budget > 0 or not np.isfinite(budget):
        raise EvalConfigError(
            f"budget must be a positive number of full trainings, got {config.budget!r}"
        )
    if config.n_jobs == 0:
        raise EvalConfigError("n_jobs must be a non-zero integer (-1 = all cores), got 0")
    if int(config.surrogate_repeats) < 1:
        raise EvalConfigError(
            f"surrogate_repeats must be a positive integer, got {config.surrogate_repeats!r}"
        )
    if not any(not resolve_optimizer(n).multi_fidelity or "multifidelity" in tracks for n in names):
        raise EvalConfigError(
            f"optimizers {names} only run on the multifidelity track, "
            f"which is not among tracks {tracks}"
        )
    return tracks, names


def resolve_table(config: FidelityConfig) -> Path:
    """The table file of the study: ``config.table``, else the real-data table."""
    if config.table is not None:
        path = user_path(config.table)
        if not path.exists():
            raise EvalConfigError(f"table: {path} does not exist")
        return path
    from nb101 import real_table

    try:
        return real_table()
    except FileNotFoundError as exc:
        raise EvalConfigError(f"table: no --table given, and {exc}") from exc


def check_surrogate(path: Path, tracks: Sequence[str]) -> None:
    """:class:`EvalConfigError` unless ``path`` is an artifact with every target of
    ``tracks``."""
    from surrogate.artifact import read_metadata

    try:
        meta = read_metadata(path)
    except (OSError, ValueError) as exc:
        raise EvalConfigError(f"surrogate: {path} is not a surrogate artifact ({exc})") from exc
    targets = set(meta.get("targets") or [])
    for t in tracks:
        missing = [x for x in track_targets(t) if x not in targets]
        if missing:
            raise EvalConfigError(
                f"surrogate: artifact {path} was trained for {sorted(targets)}; track {t!r} "
                f"needs {list(track_targets(t))} (missing {missing})"
            )
