"""Evaluation: optimizers on the shared query API, benchmark tracks and the fidelity study.

>>> from surrogate import SurrogateBenchmark      # or a table: TabularBenchmark(path, ...)
>>> from eval import make_track, OPTIMIZERS, run
>>> track = make_track("full", SurrogateBenchmark(seed=0))
>>> result = run(OPTIMIZERS["evolution"](), track, budget=20, seed=0)   # 20 full trainings
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
