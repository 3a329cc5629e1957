"""The structure of the top: where optimizers end, and what the best cells' neighbourhoods
look like, on the table and on each draw of a surrogate.

Adaptive optimizers spend their budget near the best cells, so a surrogate can match the
global landscape (:mod:`eval.landscape`) and still make its best cells easier to reach than
the table's. Two measurements say whether it does:

**Final cells** (:func:`final_cells_plausibility`). Per optimizer, the number of distinct
cells its seeds end on and the share of seeds on the commonest. The table is one draw of
runs, so its values are judged against the *range* over the surrogate's draws: the table is
a plausible draw when both lie inside (the minimum to the maximum over the draws).

**Top landscape** (:func:`top_structure_stats`). Restricted to the best ``q`` of the cells
by each backend's own values (``q`` = 1 % and 0.1 %; the ``top1`` and ``top01`` suffixes):

``neighbour_corr_<top>``
    Rank (Spearman) correlation of the value of a top cell and of each of its neighbours:
    do better top cells sit among better neighbours?
``local_optima_<top>``
    Share of the top cells no neighbour of which is better.
``neighbour_quantile_<top>``
    Mean quantile (0 worst, 1 best, over the track's cells) of the neighbours of a top cell:
    how high the ground around the top lies.
``climb_success_<top>``
    Share of best-improvement hill climbs, from the uniformly drawn start cells of the
    :class:`eval.landscape.LandscapeSample`, that end in the top.

Intervals are percentile bootstraps over the units (top cells, climbs), as in
:mod:`eval.landscape`; a surrogate matches a statistic when the mean over its draws lies in
the table's interval (:func:`top_structure_summary`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .landscape import LandscapeSample, _bootstrap, _corr, _neighbour_pairs

__all__ = [
    "TOP_FRACTIONS",
    "TOP_STATS",
    "top_cells",
    "top_structure_stats",
    "top_over_folds",
    "top_structure_summary",
    "concentration",
    "final_cells_plausibility",
]

#: Fraction of the cells -> the suffix of its statistics.
TOP_FRACTIONS = {0.01: "top1", 0.001: "top01"}
TOP_STATS = tuple(
    f"{stat}_{suffix}"
    for suffix in TOP_FRACTIONS.values()
    for stat in ("neighbour_corr", "local_optima", "neighbour_quantile", "climb_success")
)


def top_cells(cells: np.ndarray, values: np.ndarray, fraction: float) -> np.ndarray:
    """The ``ceil(fraction * len(cells))`` cells of ``cells`` with the highest ``values``
    (indexed by cell; NaN never counts as top), best first."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction!r}")
    cells = np.asarray(cells, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)[cells]
    ok = np.isfinite(v)
    cells, v = cells[ok], v[ok]
    k = max(1, int(np.ceil(fraction * len(cells)))) if len(cells) else 0
    order = np.lexsort((cells, -v))  # ties: the lower cell index first, deterministically
    return cells[order[:k]]


def top_structure_stats(
    sample: LandscapeSample,
    values: np.ndarray,
    neighbours: Callable[[int], np.ndarray],
    *,
    fractions: Mapping[float, str] | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """The statistics of the module docstring with percentile-bootstrap 95 % intervals.

    Parameters
    ----------
    sample : LandscapeSample
        Its ``cells`` define the track and its top; its ``starts`` are the climbs' starts.
    values : ndarray
        One value per cell of the space (indexed by cell; only the track's cells are read).
    neighbours : callable
        The track's neighbourhood (cell -> covered neighbour cells).
    fractions : mapping, optional
        Fraction -> suffix (default :data:`TOP_FRACTIONS`).

    Returns
    -------
    dict
        statistic -> ``{"value", "ci_low", "ci_high"}``.
    """
    fractions = dict(TOP_FRACTIONS if fractions is None else fractions)
    rng = np.random.default_rng(seed)
    v = np.asarray(values, dtype=np.float64)
    cells = np.asarray(sample.cells, dtype=np.int64)
    track_values = np.sort(v[cells][np.isfinite(v[cells])])

    def quantile(x: np.ndarray) -> np.ndarray:
        # share of the track's cells at or below x (ties count half), in [0, 1]
        lo = np.searchsorted(track_values, x, side="left")
        hi = np.searchsorted(track_values, x, side="right")
        return (lo + hi) / (2.0 * max(len(track_values), 1))

    ends = np.array([_climb_end(int(c), v, neighbours) for c in sample.starts], dtype=np.int64)
    out: dict[str, dict[str, float]] = {}
    for fraction, suffix in fractions.items():
        top = top_cells(cells, v, fraction)
        nbrs = [np.asarray(neighbours(int(c)), dtype=np.int64) for c in top]
        own = v[top]
        optimum = np.array(
            [float(not len(nb) or np.nanmax(v[nb]) <= v[c]) for c, nb in zip(top, nbrs)]
        )
        nbr_q = np.array([float(np.nanmean(quantile(v[nb]))) if len(nb) else np.nan for nb in nbrs])
        success = np.isin(ends, top).astype(np.float64)

        pairs = _neighbour_pairs(own, [v[nb] for nb in nbrs])

        def corr(idx: np.ndarray) -> float:
            return _corr(*pairs(idx))

        units = np.arange(len(top))
        out[f"neighbour_corr_{suffix}"] = _bootstrap(corr, units, rng, n_boot)
        out[f"local_optima_{suffix}"] = _bootstrap(
            lambda idx: float(optimum[idx].mean()), units, rng, n_boot
        )
        out[f"neighbour_quantile_{suffix}"] = _bootstrap(
            lambda idx: (
                float(np.nanmean(nbr_q[idx])) if np.isfinite(nbr_q[idx]).any() else float("nan")
            ),
            units,
            rng,
            n_boot,
        )
        out[f"climb_success_{suffix}"] = _bootstrap(
            lambda idx: float(success[idx].mean()), np.arange(len(ends)), rng, n_boot
        )
    return out


def _climb_end(
    start: int, v: np.ndarray, neighbours: Callable[[int], np.ndarray], max_steps: int = 1000
) -> int:
    """The local optimum best-improvement hill climbing reaches from ``start``."""
    c = start
    for _ in range(max_steps):
        nb = np.asarray(neighbours(c))
        if not len(nb):
            break
        best = int(nb[np.nanargmax(v[nb])]) if np.isfinite(v[nb]).any() else c
        if not v[best] > v[c]:
            break
        c = best
    return c


def top_structure_summary(stats: Mapping[str, Mapping], draws: Sequence[str]) -> dict[str, Any]:
    """Per statistic: the table's value and interval, the surrogate's value (mean over its
    ``draws``) and each draw's, and whether the mean lies inside the table's interval; with
    the count inside (``"inside"`` of ``"of"``). ``stats`` maps ``"table"`` and each draw
    label to :func:`top_structure_stats`."""
    table = stats["table"]
    names = [n for n in TOP_STATS if n in table] or list(table)
    out: dict[str, Any] = {
        "table": {n: dict(table[n]) for n in names},
        "surrogate": {},
        "inside": 0,
        "of": len(names),
    }
    for name in names:
        values = [float(stats[d][name]["value"]) for d in draws if d in stats]
        finite = [x for x in values if np.isfinite(x)]
        value = float(np.mean(finite)) if finite else float("nan")
        low, high = table[name]["ci_low"], table[name]["ci_high"]
        inside = bool(np.isfinite(value) and low <= value <= high)
        out["surrogate"][name] = {"value": value, "draws": values, "inside": inside}
        out["inside"] += inside
    return out


# ------------------------------------------------------------------------ final cells
def concentration(cells: np.ndarray, hash_of: Callable[[int], str] | None = None) -> dict[str, Any]:
    """Distinct final incumbent cells of the seeds (-1 = none found) and the share of all
    seeds on the commonest; with ``hash_of``, also the commonest cell's hash."""
    cells = np.asarray(cells, dtype=np.int64)
    found = cells[cells >= 0]
    if not len(found):
        return {"distinct": 0, "top_share": None}
    values, counts = np.unique(found, return_counts=True)
    out: dict[str, Any] = {
        "distinct": int(len(counts)),
        "top_share": float(counts.max() / len(cells)),
    }
    if hash_of is not None:
        out["top_cell"] = hash_of(int(values[np.argmax(counts)]))
    return out


def final_cells_plausibility(
    final_cells: Mapping[str, Mapping[str, np.ndarray]],
    draws: Sequence[str],
    optimizers: Sequence[str],
    hash_of: Callable[[int], str] | None = None,
) -> dict[str, Any]:
    """Is the table's concentration of final cells a plausible draw of the surrogate's?

    Parameters
    ----------
    final_cells : mapping
        backend label (``"table"`` and each draw) -> optimizer -> final cell of each seed
        (:attr:`eval.fidelity.StudyResult.final_cells`).
    draws : sequence of str
        The surrogate's draw labels.

    Returns
    -------
    dict
        ``{"optimizers": {name: {"table", "draws", "distinct_range", "share_range",
        "inside"}}, "inside": count, "of": count}``; ``inside`` is True when the table's
        distinct count and its share on the commonest both lie within the range over the
        draws (inclusive).
    """
    out: dict[str, Any] = {"optimizers": {}, "inside": 0, "of": 0}
    for name in optimizers:
        table = concentration(final_cells["table"][name], hash_of)
        per_draw = [concentration(final_cells[d][name], hash_of) for d in draws]
        distinct = [c["distinct"] for c in per_draw]
        shares = [c["top_share"] for c in per_draw if c["top_share"] is not None]
        entry: dict[str, Any] = {
            "table": table,
            "draws": per_draw,
            "distinct_range": [min(distinct), max(distinct)] if distinct else None,
            "share_range": [min(shares), max(shares)] if shares else None,
        }
        inside = None
        if distinct and shares and table["top_share"] is not None:
            inside = bool(
                min(distinct) <= table["distinct"] <= max(distinct)
                and min(shares) <= table["top_share"] <= max(shares)
            )
            out["of"] += 1
            out["inside"] += inside
        entry["inside"] = inside
        out["optimizers"][name] = entry
    return out


# ------------------------------------------------------------------- over studies (folds)
def top_over_folds(studies: Sequence[Mapping[str, Any]], label: str) -> dict[str, Any]:
    """Counts over the studies (folds) of a report: per optimizer, on how many folds the
    table's final cells lie inside the range of the surrogate ``label``'s draws; per top
    statistic, on how many folds the mean of the draws lies inside the table's interval,
    and the means over folds of both values. Each study entry holds the surrogate's
    ``"final_cells_plausible"`` (:func:`final_cells_plausibility`) and ``"top_structure"``
    (:func:`top_structure_summary`) where measured; studies without them are skipped."""
    entries = [s["surrogates"][label] for s in studies if label in s.get("surrogates", {})]
    finals = [e["final_cells_plausible"] for e in entries if e.get("final_cells_plausible")]
    tops = [e["top_structure"] for e in entries if e.get("top_structure")]
    out: dict[str, Any] = {"final_cells": {}, "top_structure": {}}
    if finals:
        names = list(finals[0]["optimizers"])
        for n in names:
            inside = [f["optimizers"][n]["inside"] for f in finals]
            out["final_cells"][n] = {
                "inside": sum(bool(x) for x in inside),
                "of": sum(x is not None for x in inside),
            }
        out["final_cells_inside"] = sum(f["inside"] for f in finals)
        out["final_cells_of"] = sum(f["of"] for f in finals)
    if tops:
        for name in tops[0]["surrogate"]:
            table = [t["table"][name]["value"] for t in tops]
            surrogate = [t["surrogate"][name]["value"] for t in tops]
            out["top_structure"][name] = {
                "inside": sum(bool(t["surrogate"][name]["inside"]) for t in tops),
                "of": len(tops),
                "table_mean": _nanmean(table),
                "surrogate_mean": _nanmean(surrogate),
            }
        out["top_structure_inside"] = sum(t["inside"] for t in tops)
        out["top_structure_of"] = sum(t["of"] for t in tops)
    return out


def _nanmean(values: Sequence[float | None]) -> float | None:
    v = np.array([np.nan if x is None else float(x) for x in values])
    return float(np.nanmean(v)) if np.isfinite(v).any() else None
