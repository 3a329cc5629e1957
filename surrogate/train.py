"""Train a surrogate artifact from a table: one regressor per target, held-out metrics, noise.

>>> from surrogate.train import TrainConfig, train
>>> path = train(TrainConfig(model="xgb", features="adjacency_compute", out="my_artifact",
...                          seed=0))                                # doctest: +SKIP
>>> bench = SurrogateBenchmark(path, seed=0)                         # doctest: +SKIP

Data
----
``table`` is a table file of :mod:`nb101.table_file`; ``None`` means the real data of
``../shared/data`` combined into the user cache (:func:`nb101.real_data.real_table`:
converted on first use and reused after).

A target ``[halfway_]<metric>@<epochs>`` (see :func:`nb101.parse_target`) is
learned from the cells having at least one run with that field at that budget. **Repeats of a
cell are averaged**: one row per cell, labelled with the mean over its runs (the surrogate
predicts the mean run; run-to-run spread goes to the noise model). With the real data that
matters only for the 56 cells with three official repeats.

By default the targets are those with enough labelled cells: at least
``min(1000, half of the cells the table covers at that budget)``. With the real data these are
``test_accuracy@108`` (all 423,624 cells), ``validation_accuracy@4/@12/@36/@108`` and
``training_time@108`` (the 18,760-cell sample).

Splits (per target, by ``seed``)
--------------------------------
The labelled cells are shuffled. ``train_size`` (a count, or a fraction of the labelled
cells; default: all but the test split) cells are the fitting pool; the **test** split is the
rest, capped at 10 % of the labelled cells (at least 1 cell) when ``train_size`` is not given
and at 100,000 cells either way. With ``tune_trials > 0`` a **validation** split (10 % of the
pool, at least 2 cells) is held out of the pool for Optuna (never the test split); the final
model is then refit on the whole pool with the best parameters.

Every target is fitted with the regressor's own parameters plus ``model_params`` (plus
``target_params`` for the targets it names); the regressors clip their training labels from
below at a quantile of them (``clip_quantile``, see :func:`surrogate.base.clip_targets`),
which the bundled default's recipe turns off for training time. Held-out metrics
(:func:`surrogate.metrics.regression_metrics`) and the noise residuals
(:mod:`surrogate.noise`) come from the test split only; the noise model's marginal (its rule
4) is the distribution of the fitted labels, matched to a reference draw of runs over the
whole space (one prediction of all 423,624 cells per target). The same whole-space
predictions are stored in the artifact (quantized, :mod:`surrogate.quantized`) unless
``predictions=False``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nb101 import parse_target
from nb101.cell_space import NUM_CELLS
from nb101.io import to_jsonable
from nb101.paths import user_path
from nb101.real_data import real_table
from nb101.table_file import load_table

from .artifact_save import data_digest, save_artifact
from .inputs import make_inputs, predict_cells
from .quantized import member_name
from .train_data import MAX_TEST, TargetData, available_targets, split_indices, target_data

__all__ = [
    "DEFAULT_RECIPE",
    "TrainConfig",
    "TargetData",
    "train",
    "target_data",
    "available_targets",
    "split_indices",
    "MAX_TEST",
    "DEFAULT_TARGETS",
    "target_params_argument",
]

_log = logging.getLogger(__name__)

#: The recipe of the bundled default artifact (``TrainConfig`` fields), also used by the
#: fidelity study to train the surrogates it evaluates.
DEFAULT_RECIPE = {
    "model": "xgb",
    "features": "adjacency_compute",
    "model_params": {"n_estimators": 300, "learning_rate": 0.1},
    "model_error": False,
    "stack_on": "test_accuracy@108",
    # training time follows the cell's compute (surrogate.trend) and, without an outlier
    # tail to tame, keeps its cheapest cells unclipped (benchmarks/bench_time_model.py)
    "target_params": {"training_time@108": {"trend": "compute_cost", "clip_quantile": None}},
}


def target_params_argument(item: str) -> tuple[str, dict[str, Any]]:
    """The argparse type of a command line's ``--target-params TARGET=JSON``: the target and
    its model's constructor parameters (a JSON object); an ``ArgumentTypeError`` saying what
    is wrong."""
    import argparse
    import json

    target, sep, params = item.partition("=")
    try:
        if not sep or not target:
            raise ValueError(f"expected TARGET=JSON, got {item!r}")
        try:
            value = json.loads(params)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the parameters of {target} must be a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError(f"the parameters of {target} must be a JSON object, got {params!r}")
        parse_target(target)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return target, value


#: The six targets of the real data.
DEFAULT_TARGETS = (
    "test_accuracy@108",
    "validation_accuracy@4",
    "validation_accuracy@12",
    "validation_accuracy@36",
    "validation_accuracy@108",
    "training_time@108",
)


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run (see the module docstring).

    Parameters
    ----------
    table : path-like, optional
        Table file; None converts/reuses the real-data table.
    features : str
        Featurizer name (:func:`features.get_featurizer`); unused by graph models.
    model : str
        Regressor name (:func:`surrogate.registry.get_regressor`).
    targets : sequence of str, optional
        Default: every target with enough labelled cells.
    train_size : int or float, optional
        Cells (int) or fraction of the labelled cells (float in (0, 1]) to fit on.
    seed : int
        Seeds the splits, the tuner and the models.
    tune_trials : int
        Optuna trials per target (0: no tuning).
    tune_metric : str
        Metric maximised on the validation split.
    model_params : mapping
        Constructor parameters of every model (fixed during tuning too).
    out : path-like
        Artifact folder to write.
    progress : bool
        Show tqdm bars.
    data_dir : path-like, optional
        Real-data folder used when ``table`` is None.
    model_error : bool
        Noise rule 5: cells outside a target's training set get a fixed out-of-sample
        model-error offset (:mod:`surrogate.noise`). Off by default: measured out of sample
        it did not make the rankings more faithful (the numbers are in that module).
    error_share : mapping of target to float, optional
        Noise rule 5 for the targets listed, whatever ``model_error`` says: the share of a
        target's held-out residual variance that is model error, in [0, 1), instead of
        ``1 - scale**2`` (the run noise keeps at most the rest). Where the within-cell repeats
        leave no room for model error (``validation_accuracy@108``: scale 1), this is the
        way to give the field a share, e.g. the one that makes neighbouring cells' deviations
        correlate as the table's do (``benchmarks/bench_calibration.py``).
    top_location : bool
        Noise rule 1b (:mod:`surrogate.noise.estimate`) on the accuracy targets: the runs of
        the cells predicted above the top bin's median prediction are centred where that
        bin's held-out labels lie (an isotonic fit of their median on the prediction): the
        top's regression to the mean. Only where the top bin holds 1,000 held-out labels or
        more (a test split of 10,000). Off by default.
    members : int
        Noise rule 6 (:mod:`surrogate.noise`): fit each target as an ensemble of ``members``
        models of ``model`` on bootstrap resamples of the training cells
        (:class:`surrogate.EnsembleModel`); the prediction is their mean, and a noisy
        surrogate's realization ``noise_seed`` answers around member ``noise_seed mod
        members``. 1: one model.
    exclude_cells : sequence of int, optional
        Cell indices whose labels the surrogate must never see (not fitted on, not used for
        its noise model): the evaluation cells of an out-of-sample study.
    stack_on : str, optional
        Stacking: every other accuracy target's model takes this target's prediction as one
        more input (:mod:`surrogate.artifact`). The target is added to the artifact if
        missing and fitted first, on its own. Meant for a target labelled on far more cells
        than the others: ``test_accuracy@108`` covers every cell of the exhaustive table, the
        validation accuracies only a sample. Training time keeps its own inputs (stacked,
        its held-out error grew by 12 %). Array models only.
    predictions : bool
        Store the models' predictions of every cell in the artifact (quantized, see
        :mod:`surrogate.quantized`), so that queries answer by lookup without loading a model;
        False: the models answer (``--no-predictions``).
    stack_params : mapping
        Constructor parameters of the ``stack_on`` target's model, over ``model_params``: a
        base fitted on 20 times more cells than the targets stacked on it can use deeper
        trees (e.g. ``{"max_depth": 8}``).
    target_params : mapping of target to mapping
        Constructor parameters of one target's model, over ``model_params`` (and
        ``stack_params``), e.g. ``{"training_time@108": {"trend": "compute_cost"}}``
        (:mod:`surrogate.trend`: the time then follows the cell's compute below the smallest
        cells the model was fitted on).
    """

    table: str | os.PathLike | None = None
    features: str = "adjacency_compute"
    model: str = "xgb"
    targets: Sequence[str] | None = None
    train_size: int | float | None = None
    seed: int = 0
    tune_trials: int = 0
    tune_metric: str = "kendall_tau"
    model_params: Mapping[str, Any] = field(default_factory=dict)
    out: str | os.PathLike = "surrogate_artifact"
    progress: bool = False
    data_dir: str | os.PathLike | None = None
    exclude_cells: Sequence[int] | None = None
    model_error: bool = False
    error_share: Mapping[str, float] | None = None
    top_location: bool = False
    members: int = 1
    stack_on: str | None = None
    stack_params: Mapping[str, Any] = field(default_factory=dict)
    predictions: bool = True
    target_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def train(config: TrainConfig) -> Path:
    """Fit one model per target, evaluate it on the test split and write the artifact.

    Returns
    -------
    Path
        The artifact folder (``config.out``).

    Raises
    ------
    ValueError
        Unknown target, model, featurizer or a target without enough labelled cells.
    """
    from features import get_featurizer

    from .metrics import regression_metrics
    from .noise import NoiseModel, check_error_share, estimate_noise, fit_transfer
    from .registry import REGRESSORS, get_regressor

    started = time.perf_counter()
    if config.model not in REGRESSORS:
        raise ValueError(f"unknown regressor {config.model!r}; choices: {sorted(REGRESSORS)}")
    if (
        isinstance(config.members, bool)
        or not isinstance(config.members, int)
        or config.members < 1
    ):
        raise ValueError(f"members must be an integer >= 1, got {config.members!r}")
    if config.members > 1 and config.model == "ensemble":
        raise ValueError(
            "members > 1 makes an ensemble of the model already; use a single "
            "model (e.g. model='xgb'), not model='ensemble'"
        )
    shares = dict(config.error_share or {})
    for target, share in shares.items():
        parse_target(target)
        shares[target] = check_error_share(share, f"error_share of {target!r}")
    input_kind = getattr(REGRESSORS[config.model](), "input_kind", "array")
    if input_kind == "array":
        get_featurizer(config.features)  # fail early on an unknown name
    table_path = (
        user_path(config.table) if config.table is not None else real_table(config.data_dir)
    )
    table = load_table(table_path)
    available = available_targets(table)
    targets = list(config.targets) if config.targets else available
    for target in targets:
        parse_target(target)
    if not targets:
        raise ValueError(f"table {table_path} has no target with enough labelled cells")
    stacked_on = {}
    if config.stack_params and config.stack_on is None:
        raise ValueError("stack_params needs stack_on (the target whose model they set)")
    if config.stack_on is not None:
        parse_target(config.stack_on)
        if input_kind != "array":
            raise ValueError(f"stack_on needs an array model; {config.model!r} takes graphs")
        if config.stack_on not in available:
            raise ValueError(
                f"stack_on: target {config.stack_on!r} has too few labelled "
                f"cells in {table_path}; available: {available}"
            )
        # the base first, so that every stacked model finds it fitted
        targets = [config.stack_on] + [t for t in targets if t != config.stack_on]
        stacked_on = {
            t: config.stack_on for t in targets[1:] if parse_target(t).metric.endswith("accuracy")
        }

    for option, named in (("error_share", shares), ("target_params", config.target_params)):
        unknown = sorted(set(named) - set(targets))
        if unknown:
            raise ValueError(
                f"{option} names targets that are not trained: {unknown}; targets: {targets}"
            )

    models, info, noise, fitted = {}, {}, {}, {}
    space: dict[str, np.ndarray] = {}  # whole-space predictions, stored in the artifact
    # quiet: no per-epoch bars either (models with a progress parameter, e.g. the GIN)
    quiet = (
        {"progress": False}
        if not config.progress and "progress" in REGRESSORS[config.model]().get_params()
        else {}
    )
    bar = None
    if config.progress:
        from tqdm import tqdm

        bar = tqdm(targets, desc="training targets", unit="target")
    for target in targets:
        if bar is not None:
            bar.set_postfix_str(target)
        data = target_data(table, target)
        if config.exclude_cells is not None:
            data = data.without(np.asarray(config.exclude_cells, dtype=np.int64))
        if len(data.indices) < 3:
            raise ValueError(
                f"target {target!r} has {len(data.indices)} labelled cells in "
                f"{table_path}, need at least 3; available: {available}"
            )
        t0 = time.perf_counter()
        tr, va, te = split_indices(
            len(data.indices), config.train_size, config.seed, validation=config.tune_trials > 0
        )
        params = dict(config.model_params)
        if target == config.stack_on:
            params.update(config.stack_params)
        params.update(config.target_params.get(target, {}))
        study_info = None
        base = models[stacked_on[target]] if target in stacked_on else None
        if config.tune_trials > 0:
            from .tuning import tune

            X_tr = make_inputs(
                REGRESSORS[config.model](), config.features, data.indices[tr], base=base
            )
            X_va = make_inputs(
                REGRESSORS[config.model](), config.features, data.indices[va], base=base
            )
            params, study = tune(
                config.model,
                X_tr,
                data.labels[tr],
                X_va,
                data.labels[va],
                n_trials=config.tune_trials,
                seed=config.seed,
                metric=config.tune_metric,
                fixed_params={**params, **quiet},
            )
            study_info = {
                "trials": len(study.trials),
                "metric": config.tune_metric,
                "best_value": float(study.best_value),
                "best_params": dict(study.best_params),
            }
            tr = np.concatenate([tr, va])  # refit on the whole pool
        tr = np.sort(tr)
        model = get_regressor(config.model, **{"random_state": config.seed, **params, **quiet})
        if config.members > 1:
            from .ensemble import EnsembleModel

            model = EnsembleModel(
                base=model, n_members=config.members, bootstrap=True, random_state=config.seed
            )
        X = make_inputs(model, config.features, data.indices[tr], base=base)
        model.fit(X, data.labels[tr])
        metrics = None
        if len(te) >= 2:
            pred = model.predict(make_inputs(model, config.features, data.indices[te], base=base))
            metrics = regression_metrics(data.labels[te], pred)
            # the marginal of noise rule 4: the labels the model was fitted on
            noise[target] = estimate_noise(
                pred,
                data.labels[te],
                data.repeats,
                data.labels[tr],
                model_error=config.model_error or target in shares,
                error_share=shares.get(target),
                top_location=config.top_location
                and parse_target(target).metric.endswith("accuracy"),
            )
            in_sample = np.zeros(NUM_CELLS, dtype=bool)
            in_sample[data.indices[tr]] = True
            whole = predict_cells(
                model, config.features, np.arange(NUM_CELLS), members=config.members > 1, base=base
            )
            fit_transfer(target, noise[target], whole, in_sample)
            if config.members == 1:
                space[target] = whole
            else:
                space.update({member_name(target, k): row for k, row in enumerate(whole)})
        if config.predictions and target not in space:  # the mean, where not predicted yet
            space[target] = predict_cells(model, config.features, np.arange(NUM_CELLS), base=base)
        models[target] = model
        fitted[target] = data.indices[tr]
        info[target] = {
            "params": to_jsonable(params),
            "tuning": study_info,
            "labelled_cells": int(len(data.indices)),
            "train_cells": int(len(tr)),
            "validation_cells": int(len(va)),
            "test_cells": int(len(te)),
            "cells_with_repeats": len(data.repeats),
            "data_sha256": data_digest(data.indices[tr], data.labels[tr]),
            "all_data_sha256": data_digest(data.indices, data.labels),
            "metrics": metrics,
            "fit_seconds": round(time.perf_counter() - t0, 2),
        }
        _log.info("%s: %d train / %d test cells, %s", target, len(tr), len(te), _fmt(metrics))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    missing_noise = [t for t in targets if t not in noise]
    noise_model = NoiseModel(noise) if not missing_noise else None
    if noise_model is None:  # without a noise model no run comes from an ensemble member
        space = {t: v for t, v in space.items() if t in models}
    config_dict = to_jsonable(
        {k: v for k, v in asdict(config).items() if k not in ("progress", "exclude_cells")}
    )
    config_dict["table"] = str(table_path)
    if config.exclude_cells is not None:  # the cells themselves would bloat the metadata
        excluded = np.unique(np.asarray(config.exclude_cells, dtype=np.int64))
        config_dict["exclude_cells"] = {
            "count": int(len(excluded)),
            "sha256": data_digest(excluded, np.zeros(0)),
        }
    out = save_artifact(
        config.out,
        models=models,
        featurizer=config.features,
        model_name=config.model,
        model_params=to_jsonable(dict(config.model_params)),
        noise=noise_model,
        targets_info=info,
        training_cells=fitted,
        stacked_on=stacked_on,
        predictions=space if config.predictions else None,
        extra={
            "data_sha256": _combined_digest(info),
            "training": {
                "config": config_dict,
                "table_source": table.source,
                "seconds": round(time.perf_counter() - started, 1),
            },
        },
    )
    _log.info("wrote the artifact %s in %.1f s", out, time.perf_counter() - started)
    return out


def _combined_digest(info: Mapping[str, Mapping[str, Any]]) -> str:
    """sha256 over ``target:data_sha256`` lines (the training data of every target)."""
    import hashlib

    lines = "".join(f"{t}:{i['data_sha256']}\n" for t, i in sorted(info.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def _fmt(metrics: Mapping[str, float] | None) -> str:
    if not metrics:
        return "no test split"
    return ", ".join(f"{k} {v:.4f}" for k, v in metrics.items())
