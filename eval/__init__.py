"""Evaluation: optimizers on the shared query API, benchmark tracks and the fidelity study.

>>> from nb101.table import TabularBenchmark
>>> from eval import make_track, OPTIMIZERS, run
>>> track = make_track("full", TabularBenchmark(path, seed=0, require=("test_accuracy",)))
>>> result = run(OPTIMIZERS["evolution"](), track, budget=100, seed=0)   # 100 full trainings
>>> value, cell = result.incumbents()

``python -m eval.fidelity --help`` runs the algorithm-ranking fidelity study
(:mod:`eval.fidelity`).
"""

from .errors import EvalConfigError
from .optimizers import (
    OPTIMIZERS,
    Ask,
    Optimizer,
    Problem,
    RunResult,
    make_optimizer,
    resolve_optimizer,
    run,
)
from .tracks import (
    TRACKS,
    FullTrack,
    MultiFidelityTrack,
    Track,
    covered_cells,
    make_track,
    resolve_track,
)

__all__ = [
    "EvalConfigError",
    "OPTIMIZERS",
    "Ask",
    "Optimizer",
    "Problem",
    "RunResult",
    "make_optimizer",
    "resolve_optimizer",
    "run",
    "TRACKS",
    "FullTrack",
    "MultiFidelityTrack",
    "Track",
    "covered_cells",
    "make_track",
    "resolve_track",
]
