"""The raw results of a fidelity study, before any statistic: :class:`FidelityResult` holds
one :class:`StudyResult` per (track, cell set); :func:`eval.fidelity.report.build_report`
turns it into statistics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import FidelityConfig

__all__ = ["StudyResult", "FidelityResult"]


@dataclass
class StudyResult:
    """The raw results of one study: one track on one cell set, the table and surrogates.

    Attributes
    ----------
    track, name, protocol : str
        ``name`` is e.g. ``"fold 1/3"`` or ``"all cells"``; ``protocol`` is
        ``"out-of-sample"``, ``"in-sample"`` or ``"given"`` (explicit artifacts).
    cells : int
        Number of cells the optimizers run on.
    budget, unit : float
        The budget in track units and one full training in track units.
    grid : ndarray
        Log-spaced budgets (track units) of the curves.
    rank_at : list of int
        Grid indices where rankings are compared (:data:`eval.fidelity.config.RANK_AT`).
    optimizers : list of str
    curves : dict
        backend label -> optimizer -> incumbent values, array (seeds, grid). The table is
        ``"table"``; surrogate draws are ``draws[surrogate][k]``.
    true_curves : dict
        surrogate draw label -> optimizer -> the table's value of the incumbent cells.
    draws : dict
        surrogate label -> labels of its realizations (draw 0 first).
    surrogate_protocol : dict
        surrogate label -> ``"in-sample"``, ``"out-of-sample"`` or ``"unknown"``.
    training_share : dict
        surrogate label -> share of the cells visited by its runs that were in its training
        set (None when the artifact does not record it).
    landscape : dict
        ``{"table": stats, "<draw label>": stats}`` (:func:`eval.landscape.landscape_stats`).
    final_cells : dict
        backend label -> optimizer -> the incumbent cell of each seed at the final budget
        (-1 if none): where the seeds end shows how many cells a final value rests on.
    top_structure : dict
        ``{"table": stats, "<draw label>": stats}``: the landscape restricted to the best
        cells (:func:`eval.top_structure.top_structure_stats`).
    """

    track: str
    name: str
    protocol: str
    cells: int
    budget: float
    unit: float
    grid: np.ndarray
    rank_at: list[int]
    optimizers: list[str]
    curves: dict[str, dict[str, np.ndarray]]
    true_curves: dict[str, dict[str, np.ndarray]]
    draws: dict[str, list[str]]
    surrogate_protocol: dict[str, str]
    training_share: dict[str, float | None]
    landscape: dict[str, dict] = field(default_factory=dict)
    final_cells: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    top_structure: dict[str, dict] = field(default_factory=dict)


@dataclass
class FidelityResult:
    """Everything a study collected: the config, the table and one :class:`StudyResult` per
    (track, study); :func:`eval.fidelity.report.build_report` turns it into statistics."""

    config: FidelityConfig
    table: str
    studies: list[StudyResult]
    surrogates: dict[str, str]
    timing: dict[str, Any] = field(default_factory=dict)
    failed_runs: list[dict[str, Any]] = field(default_factory=list)
