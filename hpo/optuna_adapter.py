"""Optuna on NAS-Bench-101: an objective over a table or a surrogate, and a study runner.

::

    from surrogate import SurrogateBenchmark
    from hpo.optuna_adapter import run_study

    bench = SurrogateBenchmark(seed=0)
    study = run_study(bench, n_trials=100, sampler="tpe", seed=0)           # 108 epochs
    study = run_study(bench, n_trials=100, pruner="hyperband", seed=0)      # multi-fidelity
    study.best_trial.user_attrs["cell"], bench.get_budget_counters()

The objective (:func:`make_objective`) asks the trial for a config of an encoding
(:meth:`hpo.encodings.Encoding.suggest`) and evaluates it with
:func:`hpo.encodings.query_config` (an invalid config: the worst value at no cost). It returns
the config's ``metric`` (validation accuracy by default; direction ``maximize``) at
``epochs``.

Multi-fidelity (``multi_fidelity=True``, the default when a pruner is given): the config is
queried at every budget of the backend up to ``epochs`` in turn (4, 12, 36, 108), each query
charging that budget's training time as the original API charges it (every budget is a
separate training in NAS-Bench-101; a backend without a budget's training time, like the
real table below 108 epochs, charges 0 s for it, as :mod:`nb101.protocol` says: pass a track of
:mod:`eval.tracks` as the backend to charge the 108-epoch time scaled instead); the validation
accuracy at each budget is reported with ``trial.report(value, step=epochs)`` and the trial is
pruned (``optuna.TrialPruned``) when the pruner says so. Pruners step in epochs:
``"hyperband"`` and ``"sha"`` use
``min_resource=4``, ``reduction_factor=3``, so their rungs are the budgets themselves.

User attributes of every trial: ``cell`` (the cell index evaluated, None if invalid),
``valid``, ``epochs`` (the last budget queried), ``test_accuracy`` and ``training_time`` at that
budget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nb101._optional import require
from nb101.protocol import EPOCHS

from .encodings import Encoding, get_encoding, query_config

__all__ = ["make_objective", "run_study", "SAMPLERS", "PRUNERS"]

#: Sampler names of :func:`run_study`.
SAMPLERS = ("tpe", "random")
#: Pruner names of :func:`run_study`.
PRUNERS = ("median", "sha", "hyperband")


def make_objective(
    bench,
    *,
    encoding: str | Encoding = "A",
    epochs: int = 108,
    metric: str = "validation_accuracy",
    multi_fidelity: bool = False,
    cell_map: Callable[[int], int] | None = None,
) -> Callable[[Any], float]:
    """An Optuna objective ``f(trial) -> float`` over a backend (see the module docstring).

    Parameters
    ----------
    bench : nb101.protocol.Benchmark
        A table, a surrogate or any backend of the shared protocol; its budget counters are
        charged.
    encoding : str or Encoding, default="A"
    epochs : int, default=108
        The budget of the returned value; one of ``bench.valid_epochs``.
    metric : str, default="validation_accuracy"
        The key of the query result returned (e.g. ``"test_accuracy"``).
    multi_fidelity : bool, default=False
        Query every budget up to ``epochs``, reporting validation accuracies to the pruner.
    cell_map : callable, optional
        Cell index -> the cell queried (e.g. a track's nearest covered cell).

    Raises
    ------
    ValueError
        If ``epochs`` is not a budget of the backend.
    """
    encoding = get_encoding(encoding)
    if epochs not in bench.valid_epochs:
        raise ValueError(
            f"epochs={epochs!r} is not a budget of the backend {sorted(bench.valid_epochs)}"
        )
    budgets = (
        [e for e in EPOCHS if e in bench.valid_epochs and e <= epochs]
        if multi_fidelity
        else [epochs]
    )

    def objective(trial) -> float:
        optuna = require("optuna", "optuna", "the Optuna objective")

        config = encoding.suggest(trial)
        for budget in budgets:
            result = query_config(
                bench, config, encoding=encoding, epochs=budget, cell_map=cell_map
            )
            _record(trial, result, budget)
            if not result["valid"]:  # the worst value at once, at no cost
                break
            if budget != budgets[-1]:
                trial.report(float(result["validation_accuracy"]), step=budget)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        value = result[metric]
        return float("nan") if value is None else float(value)

    return objective


def _record(trial, result: dict, budget: int) -> None:
    trial.set_user_attr("cell", result["cell"])
    trial.set_user_attr("valid", result["valid"])
    trial.set_user_attr("epochs", budget)
    trial.set_user_attr("test_accuracy", result["test_accuracy"])
    trial.set_user_attr("training_time", result["training_time"])


def run_study(
    bench,
    *,
    n_trials: int,
    sampler: str | Any = "tpe",
    pruner: str | Any = None,
    seed: int = 0,
    encoding: str | Encoding = "A",
    epochs: int = 108,
    metric: str = "validation_accuracy",
    multi_fidelity: bool | None = None,
    cell_map: Callable[[int], int] | None = None,
    max_training_time: float | None = None,
    study_name: str = "nb101",
):
    """Run an Optuna study on a backend and return it.

    Parameters
    ----------
    bench : nb101.protocol.Benchmark
        Reseeded with ``seed`` (if it has ``reseed``) and its budget counters reset first.
    n_trials : int
    sampler : str or optuna.samplers.BaseSampler, default="tpe"
        ``"tpe"`` or ``"random"`` (seeded with ``seed``), or a sampler object.
    pruner : str or optuna.pruners.BasePruner, optional
        ``"median"``, ``"sha"``, ``"hyperband"`` or a pruner object; None: no pruning.
    seed : int, default=0
        Seeds the sampler and the backend's draws: same arguments, same study.
    encoding, epochs, metric, cell_map
        As for :func:`make_objective`.
    multi_fidelity : bool, optional
        Default: True when a pruner is given.
    max_training_time : float, optional
        Stop once the backend's ``training_time_spent`` reaches it (the trial that reaches
        it is the last one).
    study_name : str, default="nb101"
        Fixed (not Optuna's random default), since ``HyperbandPruner`` assigns brackets by a
        hash of it.

    Raises
    ------
    ValueError
        For an unknown sampler or pruner name.
    """
    optuna = require("optuna", "optuna", "Optuna studies")

    sampler = _resolve(
        "sampler",
        sampler,
        {
            "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
            "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        },
    )
    pruner = _resolve(
        "pruner",
        pruner,
        {
            "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5),
            "sha": lambda: optuna.pruners.SuccessiveHalvingPruner(
                min_resource=4, reduction_factor=3
            ),
            "hyperband": lambda: optuna.pruners.HyperbandPruner(
                min_resource=4, max_resource=epochs, reduction_factor=3
            ),
        },
    )
    if multi_fidelity is None:
        multi_fidelity = pruner is not None
    if hasattr(bench, "reseed"):
        bench.reseed(seed)
    bench.reset_budget_counters()
    objective = make_objective(
        bench,
        encoding=encoding,
        epochs=epochs,
        metric=metric,
        multi_fidelity=multi_fidelity,
        cell_map=cell_map,
    )
    # a fixed name: HyperbandPruner puts trials into brackets by a hash of the study name
    study = optuna.create_study(
        direction="maximize",
        sampler=sampler,
        study_name=study_name,
        pruner=optuna.pruners.NopPruner() if pruner is None else pruner,
    )
    callbacks = []
    if max_training_time is not None:

        def stop(study, trial) -> None:
            if bench.get_budget_counters()[0] >= max_training_time:
                study.stop()

        callbacks.append(stop)
    study.optimize(objective, n_trials=n_trials, callbacks=callbacks)
    return study


def _resolve(kind: str, value: Any, factories: dict[str, Callable[[], Any]]) -> Any:
    if value is None or not isinstance(value, str):
        return value
    if value not in factories:
        raise ValueError(f"unknown {kind} {value!r}; choices: {sorted(factories)}")
    return factories[value]()
