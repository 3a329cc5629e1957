"""Optimizers of external libraries (Optuna, Syne Tune) on the project's ask/tell interface.

Each is an :class:`~eval.optimizers.Optimizer` over the configs of an encoding of
:mod:`hpo.encodings` (see :mod:`eval.optimizers.external.base` for the invalid-config rule
and the errors). The classes import without their libraries; a missing library is an
:class:`~eval.errors.EvalConfigError` naming the extra to install
(:meth:`ExternalOptimizer.check_available`), raised before any run starts.

========================  ============================================  ==================
name                      optimizer                                     extra
========================  ============================================  ==================
``optuna-tpe``            Optuna ``TPESampler``                         ``optuna``
``optuna-random``         Optuna ``RandomSampler``                      ``optuna``
``syne-rs``               Syne Tune ``RandomSearch``                    ``syne``
``syne-rea``              Syne Tune ``REA`` (regularized evolution)     ``syne``
``syne-tpe``              Syne Tune ``TPE``                             ``syne``
``syne-bore``             Syne Tune ``BORE``                            ``syne``
``syne-asha``             Syne Tune ``ASHA`` (multi-fidelity)           ``syne``
``syne-bohb``             Syne Tune ``BOHB`` (multi-fidelity)           ``syne``
========================  ============================================  ==================
"""

from .base import ExternalOptimizer, ExternalOptimizerError
from .optuna_samplers import OptunaRandom, OptunaTPE
from .syne_tune_schedulers import SyneASHA, SyneBOHB, SyneBORE, SyneRandomSearch, SyneREA, SyneTPE

__all__ = [
    "ExternalOptimizer",
    "ExternalOptimizerError",
    "EXTERNAL_OPTIMIZERS",
    "OptunaTPE",
    "OptunaRandom",
    "SyneRandomSearch",
    "SyneREA",
    "SyneTPE",
    "SyneBORE",
    "SyneASHA",
    "SyneBOHB",
]

#: name -> class of every external optimizer.
EXTERNAL_OPTIMIZERS: dict[str, type[ExternalOptimizer]] = {
    cls.name: cls
    for cls in (
        OptunaTPE,
        OptunaRandom,
        SyneRandomSearch,
        SyneREA,
        SyneTPE,
        SyneBORE,
        SyneASHA,
        SyneBOHB,
    )
}
