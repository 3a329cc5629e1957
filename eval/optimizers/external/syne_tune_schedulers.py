"""Syne Tune schedulers as optimizers, driven trial by trial in the run's simulated time.

The adapter plays Syne Tune's tuner loop with one worker: ``scheduler.suggest()`` starts a
trial (``on_trial_add``), its results go back through ``on_trial_result`` /
``on_trial_complete``, a NaN answer through ``on_trial_error``. Single-fidelity schedulers
(random search, regularized evolution, TPE, BORE) get one result per trial at the maximum
budget. The multi-fidelity ones (ASHA, BOHB: asynchronous successive halving, reduction
factor 3) train a trial at the track's budgets in turn (4, 12, 36, 108 epochs on the
multi-fidelity track), one query each (the track charges each budget's training, as the
original does), for as long as the scheduler answers CONTINUE. The metric is the track's
objective, maximised; an invalid config is reported with the invalid rule's value (0) at the
lowest budget and ends its trial.

Syne Tune 0.16 draws many of its random numbers from NumPy's global generator (random configs,
ASHA's brackets, BORE's evolution), whatever ``random_seed`` says. So that a run seed gives
one run, every call into Syne Tune runs with the global generator set to the adapter's own
state (seeded from the run) and restored afterwards, under a lock shared by the threads of a
process.
"""

from __future__ import annotations

import datetime
import importlib
import logging
import threading
from contextlib import contextmanager
from typing import ClassVar

import numpy as np

from .base import ExternalOptimizer, ExternalOptimizerError

__all__ = ["SyneRandomSearch", "SyneREA", "SyneTPE", "SyneBORE", "SyneASHA", "SyneBOHB"]

_METRIC = "objective"
_RESOURCE = "epoch"
#: Held while a thread has NumPy's global generator set to its optimizer's state.
_GLOBAL_RNG = threading.Lock()


class _QuietSyneTune(logging.Filter):
    """Drops what Syne Tune logs straight through the root logger (BORE warns there once per
    suggestion while every observed value is equal)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "syne_tune" not in record.pathname


class _SyneTuneScheduler(ExternalOptimizer):
    library = "syne_tune"
    distribution = "syne-tune"
    extra = "syne"

    def _scheduler(self, space: dict, seed: int):
        raise NotImplementedError

    def _start(self, seed: int) -> None:
        logging.getLogger("syne_tune").setLevel(logging.ERROR)  # "Evaluation failed!" per NaN
        root = logging.getLogger()
        if not any(isinstance(f, _QuietSyneTune) for f in root.filters):
            root.addFilter(_QuietSyneTune())
        self._global_state = np.random.RandomState(seed).get_state()
        with self._seeded():
            self._scheduler_ = self._scheduler(self._encoding.syne_tune_space(), seed)
        self._trials = 0

    @contextmanager
    def _seeded(self):
        """NumPy's global generator set to this optimizer's state for the duration."""
        with _GLOBAL_RNG:
            saved = np.random.get_state()
            np.random.set_state(self._global_state)
            try:
                yield
            finally:
                self._global_state = np.random.get_state()
                np.random.set_state(saved)

    def _new_trial(self):
        from syne_tune.backend.trial_status import Trial

        with self._seeded():
            suggestion = self._scheduler_.suggest()
        if suggestion is None or suggestion.config is None:
            raise ExternalOptimizerError(
                f"external optimizer {self.name!r} suggested no config", optimizer=self.name
            )
        trial = Trial(
            trial_id=self._trials,
            config=dict(suggestion.config),
            creation_time=datetime.datetime.now(),
        )
        self._trials += 1
        with self._seeded():
            self._scheduler_.on_trial_add(trial)
        return trial

    def _next(self):
        trial = self._new_trial()
        return trial, trial.config, self.problem.max_epochs

    def _result(self, trial, value: float, epochs: int) -> None:
        with self._seeded():
            self._scheduler_.on_trial_complete(trial, {_METRIC: value, _RESOURCE: epochs})

    def _failed(self, trial) -> None:
        with self._seeded():
            self._scheduler_.on_trial_error(trial)


class SyneRandomSearch(_SyneTuneScheduler):
    """Syne Tune's ``RandomSearch`` (parameters: see
    :class:`~eval.optimizers.external.base.ExternalOptimizer`)."""

    name = "syne-rs"

    def _scheduler(self, space, seed):
        from syne_tune.optimizer.baselines import RandomSearch

        return RandomSearch(space, metrics=[_METRIC], do_minimize=False, random_seed=seed)


class SyneREA(_SyneTuneScheduler):
    """Syne Tune's ``REA`` (regularized evolution; its defaults: population 100, sample 10)."""

    name = "syne-rea"

    def _scheduler(self, space, seed):
        from syne_tune.optimizer.baselines import REA

        return REA(space, metric=_METRIC, do_minimize=False, random_seed=seed)


class SyneTPE(_SyneTuneScheduler):
    """Syne Tune's ``TPE`` (kernel density estimators, its defaults)."""

    name = "syne-tpe"

    def _scheduler(self, space, seed):
        from syne_tune.optimizer.baselines import TPE

        return TPE(space, metric=_METRIC, do_minimize=False, random_seed=seed)


class SyneBORE(_SyneTuneScheduler):
    """Syne Tune's ``BORE`` (density-ratio estimation with its default XGBoost classifier)."""

    name = "syne-bore"

    def _scheduler(self, space, seed):
        from syne_tune.optimizer.baselines import BORE

        return BORE(space, metric=_METRIC, do_minimize=False, random_seed=seed)


class _SyneMultiFidelity(_SyneTuneScheduler):
    """A trial runs through the track's budgets while the scheduler answers CONTINUE."""

    multi_fidelity = True

    def _start(self, seed: int) -> None:
        super()._start(seed)
        self._running = None  # (trial, index of its next budget)

    def _scheduler(self, space, seed):
        budgets = self.problem.fidelities
        return self._successive_halving(space, seed, min_t=budgets[0], max_t=budgets[-1])

    #: The ``syne_tune.optimizer.baselines`` class: successive halving with its proposals.
    baseline: ClassVar[str]

    def _successive_halving(self, space, seed, *, min_t: int, max_t: int):
        baselines = importlib.import_module("syne_tune.optimizer.baselines")
        return getattr(baselines, self.baseline)(
            space,
            metric=_METRIC,
            time_attr=_RESOURCE,
            max_t=max_t,
            grace_period=min_t,
            reduction_factor=3,
            do_minimize=False,
            random_seed=seed,
        )

    def _next(self):
        budgets = self.problem.fidelities
        if self._running is None:
            self._running = (self._new_trial(), 0)
        trial, k = self._running
        return trial, trial.config, budgets[k]

    def _result(self, trial, value: float, epochs: int) -> None:
        from syne_tune.optimizer.scheduler import SchedulerDecision

        budgets = self.problem.fidelities
        result = {_METRIC: value, _RESOURCE: epochs}
        if epochs >= budgets[-1]:
            super()._result(trial, value, epochs)
            self._running = None
            return
        with self._seeded():
            decision = self._scheduler_.on_trial_result(trial, result)
        _, k = self._running
        self._running = (trial, k + 1) if decision == SchedulerDecision.CONTINUE else None

    def _invalid(self, trial, epochs: int) -> None:
        # the invalid rule answers every budget: the trial ends at its first
        super()._result(trial, self._invalid_value, epochs)
        self._running = None

    def _failed(self, trial) -> None:
        super()._failed(trial)
        self._running = None


class SyneASHA(_SyneMultiFidelity):
    """Syne Tune's ``ASHA`` (asynchronous successive halving, random configs) over the
    track's budgets."""

    name = "syne-asha"
    baseline = "ASHA"


class SyneBOHB(_SyneMultiFidelity):
    """Syne Tune's ``BOHB`` (ASHA with kernel-density-estimator proposals) over the track's
    budgets."""

    name = "syne-bohb"
    baseline = "BOHB"
