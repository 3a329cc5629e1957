"""Optimizers on the ask/tell interface (:mod:`eval.optimizers.base`) and their registry.

Add an optimizer: write one file with an :class:`Optimizer` subclass and add it to
:data:`OPTIMIZERS`. ``multi_fidelity = True`` marks those that need several budgets (they run
on the multi-fidelity track only). The optimizers of external libraries (Optuna, Syne Tune)
are in :data:`EXTERNAL_OPTIMIZERS` (:mod:`eval.optimizers.external`); the names ``external``
and ``all`` stand for groups (:func:`expand_optimizers`).
"""

from ..errors import EvalConfigError
from .bananas import Bananas
from .base import Ask, Optimizer, Problem, RunResult, run
from .bohb import BOHB
from .evolution import RegularizedEvolution
from .external import EXTERNAL_OPTIMIZERS, ExternalOptimizer, ExternalOptimizerError
from .hyperband import Hyperband
from .local_search import LocalSearch
from .random_search import RandomSearch
from .reinforce import Reinforce

__all__ = [
    "Ask",
    "Optimizer",
    "Problem",
    "RunResult",
    "run",
    "OPTIMIZERS",
    "EXTERNAL_OPTIMIZERS",
    "ALL_OPTIMIZERS",
    "OPTIMIZER_GROUPS",
    "resolve_optimizer",
    "expand_optimizers",
    "make_optimizer",
    "is_external",
    "ExternalOptimizer",
    "ExternalOptimizerError",
    "RandomSearch",
    "RegularizedEvolution",
    "LocalSearch",
    "Reinforce",
    "Hyperband",
    "BOHB",
    "Bananas",
]

#: name -> class of the project's own optimizers; the CLI, the fidelity study (by default)
#: and the tests iterate over it.
OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls
    for cls in (
        RandomSearch,
        RegularizedEvolution,
        LocalSearch,
        Reinforce,
        Bananas,
        Hyperband,
        BOHB,
    )
}
#: name -> class of every optimizer, the project's and the external ones.
ALL_OPTIMIZERS: dict[str, type[Optimizer]] = {**OPTIMIZERS, **EXTERNAL_OPTIMIZERS}
#: Names that stand for several optimizers.
OPTIMIZER_GROUPS: dict[str, tuple[str, ...]] = {
    "external": tuple(EXTERNAL_OPTIMIZERS),
    "all": tuple(ALL_OPTIMIZERS),
}


def _choices() -> str:
    return f"{sorted(ALL_OPTIMIZERS)} or a group {sorted(OPTIMIZER_GROUPS)}"


def resolve_optimizer(name: str) -> type[Optimizer]:
    """Optimizer class of a registry name; :class:`EvalConfigError` naming the choices."""
    try:
        return ALL_OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise EvalConfigError(f"unknown optimizer {name!r}; choices: {_choices()}") from None


def expand_optimizers(names) -> list[str]:
    """Optimizer names with the groups (``external``, ``all``) expanded, each name once, in
    the order given; :class:`EvalConfigError` for an unknown name."""
    out: list[str] = []
    for name in names:
        group = OPTIMIZER_GROUPS.get(name) if isinstance(name, str) else None
        for n in group or (name,):
            resolve_optimizer(n)
            if n not in out:
                out.append(n)
    return out


def is_external(name: str) -> bool:
    """True for the optimizers of external libraries."""
    return name in EXTERNAL_OPTIMIZERS


def make_optimizer(name: str) -> Optimizer:
    """A fresh optimizer with default hyperparameters."""
    return resolve_optimizer(name)()
