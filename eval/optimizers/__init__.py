"""Optimizers on the ask/tell interface (:mod:`eval.optimizers.base`) and their registry.

Add an optimizer: write one file with an :class:`Optimizer` subclass and add it to
:data:`OPTIMIZERS`. ``multi_fidelity = True`` marks those that need several budgets (they run
on the multi-fidelity track only).
"""

from .bananas import Bananas
from .base import Ask, Optimizer, Problem, RunResult, run
from .bohb import BOHB
from .evolution import RegularizedEvolution
from .hyperband import Hyperband
from .local_search import LocalSearch
from .random_search import RandomSearch
from .reinforce import Reinforce
from ..errors import EvalConfigError

__all__ = ["Ask", "Optimizer", "Problem", "RunResult", "run", "OPTIMIZERS",
           "resolve_optimizer", "make_optimizer", "RandomSearch", "RegularizedEvolution",
           "LocalSearch", "Reinforce", "Hyperband", "BOHB", "Bananas"]

#: name -> class; the CLI, the fidelity study and the tests iterate over it.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (RandomSearch, RegularizedEvolution, LocalSearch, Reinforce,
                              Bananas, Hyperband, BOHB)
}


def resolve_optimizer(name: str) -> type[Optimizer]:
    """Optimizer class of a registry name; :class:`EvalConfigError` naming the choices."""
    try:
        return OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise EvalConfigError(
            f"unknown optimizer {name!r}; choices: {sorted(OPTIMIZERS)}") from None


def make_optimizer(name: str) -> Optimizer:
    """A fresh optimizer with default hyperparameters."""
    return resolve_optimizer(name)()
