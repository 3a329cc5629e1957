"""Optuna samplers as optimizers: ``study.ask()`` / ``study.tell()`` on a maximising study.

Each ask is one trial over the encoding's distributions
(:meth:`hpo.encodings.Encoding.optuna_distributions`); an invalid config is told with the
invalid rule's value (0), a NaN answer as a failed trial. Optuna's per-trial log lines are
silenced (its verbosity is set to WARNING).
"""

from __future__ import annotations

from .base import ExternalOptimizer

__all__ = ["OptunaTPE", "OptunaRandom"]


class _OptunaSampler(ExternalOptimizer):
    library = "optuna"
    distribution = "optuna"
    extra = "optuna"

    def _sampler(self, seed: int):
        raise NotImplementedError

    def _start(self, seed: int) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self._study = optuna.create_study(direction="maximize", sampler=self._sampler(seed))
        self._distributions = self._encoding.optuna_distributions()

    def _next(self):
        trial = self._study.ask(self._distributions)
        return trial, dict(trial.params), self.problem.max_epochs

    def _result(self, trial, value: float, epochs: int) -> None:
        self._study.tell(trial, value)

    def _failed(self, trial) -> None:
        from optuna.trial import TrialState

        self._study.tell(trial, state=TrialState.FAIL)


class OptunaTPE(_OptunaSampler):
    """Optuna's ``TPESampler`` (its defaults, seeded from the run).

    Parameters
    ----------
    encoding, max_invalid
        See :class:`~eval.optimizers.external.base.ExternalOptimizer`.
    """

    name = "optuna-tpe"

    def _sampler(self, seed: int):
        from optuna.samplers import TPESampler

        return TPESampler(seed=seed)


class OptunaRandom(_OptunaSampler):
    """Optuna's ``RandomSampler`` (seeded from the run).

    Parameters
    ----------
    encoding, max_invalid
        See :class:`~eval.optimizers.external.base.ExternalOptimizer`.
    """

    name = "optuna-random"

    def _sampler(self, seed: int):
        from optuna.samplers import RandomSampler

        return RandomSampler(seed=seed)
