"""The top's structure (:mod:`eval.top_structure`): top cells, top landscape statistics and
the plausibility of the table's final cells among a surrogate's draws."""

import numpy as np
import pytest
from _scripts import load_script

from eval.landscape import landscape_sample
from eval.top_structure import (
    TOP_STATS,
    concentration,
    final_cells_plausibility,
    top_cells,
    top_structure_stats,
    top_structure_summary,
)


def _line(n):
    cells = np.arange(n)

    def neighbours(c):
        return np.array([x for x in (c - 1, c + 1) if 0 <= x < n])

    return cells, neighbours


def test_top_cells_best_first_ignoring_nan_and_ties_by_index():
    values = np.array([0.5, np.nan, 0.9, 0.9, 0.1, 0.7])
    assert top_cells(np.arange(6), values, 0.5).tolist() == [2, 3, 5]
    assert top_cells(np.arange(6), values, 0.01).tolist() == [2]  # at least one cell
    assert top_cells(np.array([4, 0]), values, 1.0).tolist() == [0, 4]
    with pytest.raises(ValueError, match="fraction"):
        top_cells(np.arange(6), values, 0.0)


def test_top_statistics_on_a_line():
    """Increasing values on a path: the one local optimum is the best cell, every climb
    reaches it, and the top's neighbours lie just below it."""
    n = 500
    cells, neighbours = _line(n)
    sample = landscape_sample(cells, neighbours, num_starts=50, num_walks=2, walk_length=3)
    values = np.arange(n, dtype=float)
    stats = top_structure_stats(sample, values, neighbours, n_boot=50)
    assert set(stats) == set(TOP_STATS)
    # top 0.1 % = the best cell (at least one); top 1 % = the last 5 cells
    assert stats["local_optima_top01"]["value"] == 1.0
    assert stats["local_optima_top1"]["value"] == pytest.approx(1 / 5)
    assert stats["climb_success_top01"]["value"] == 1.0
    assert stats["climb_success_top1"]["value"] == 1.0
    assert stats["neighbour_corr_top1"]["value"] > 0.5
    assert stats["neighbour_quantile_top1"]["value"] > 0.98
    assert np.isnan(stats["neighbour_corr_top01"]["value"])  # one cell: too few pairs
    for s in stats.values():
        if np.isnan(s["value"]):
            continue
        assert s["ci_low"] <= s["value"] + 1e-12 and s["value"] <= s["ci_high"] + 1e-12


def test_top_statistics_of_an_isolated_peak():
    """A rugged top (the best cells scattered among poor neighbours): every top cell is a
    local optimum, few climbs reach the top and its neighbours lie low."""
    n = 500
    cells, neighbours = _line(n)
    values = np.random.default_rng(0).permutation(np.arange(n, dtype=float))
    sample = landscape_sample(cells, neighbours, num_starts=200, num_walks=2, walk_length=3)
    stats = top_structure_stats(sample, values, neighbours, n_boot=20)
    assert stats["local_optima_top01"]["value"] == 1.0
    assert stats["local_optima_top1"]["value"] == 1.0
    assert stats["climb_success_top01"]["value"] < 0.1
    assert stats["neighbour_quantile_top1"]["value"] < 0.8
    smooth = top_structure_stats(sample, np.arange(n, dtype=float), neighbours, n_boot=20)
    assert smooth["climb_success_top01"]["value"] > stats["climb_success_top01"]["value"]


def test_top_structure_summary_judges_the_mean_of_draws():
    table = {
        "climb_success_top01": {"value": 0.1, "ci_low": 0.05, "ci_high": 0.15},
        "local_optima_top01": {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0},
    }
    draw = [
        {"climb_success_top01": {"value": x}, "local_optima_top01": {"value": 0.5}}
        for x in (0.1, 0.3)
    ]
    out = top_structure_summary({"table": table, "a": draw[0], "b": draw[1]}, ["a", "b"])
    assert out["of"] == 2 and out["inside"] == 0
    assert out["surrogate"]["climb_success_top01"]["value"] == pytest.approx(0.2)
    assert out["surrogate"]["climb_success_top01"]["draws"] == [0.1, 0.3]
    out = top_structure_summary({"table": table, "a": draw[0]}, ["a"])
    assert out["surrogate"]["climb_success_top01"]["inside"]
    assert out["inside"] == 1


def test_concentration_counts_all_seeds():
    c = concentration(np.array([3, 3, 5, -1]), hash_of=lambda i: f"h{i}")
    assert c == {"distinct": 2, "top_share": 0.5, "top_cell": "h3"}
    assert concentration(np.array([-1, -1])) == {"distinct": 0, "top_share": None}


def test_final_cells_plausibility_against_the_range_of_draws():
    seeds = 20
    spread = np.arange(seeds) % 12  # 12 cells, commonest 2 of 20
    converged = np.where(np.arange(seeds) < 15, 7, np.arange(seeds))  # 6 cells, 75 % on one
    finals = {
        "table": {"evo": spread, "rs": converged},
        "d0": {"evo": converged, "rs": converged},
        "d1": {"evo": np.where(np.arange(seeds) < 16, 1, 2), "rs": spread},
    }
    out = final_cells_plausibility(finals, ["d0", "d1"], ["evo", "rs"])
    evo, rs = out["optimizers"]["evo"], out["optimizers"]["rs"]
    assert evo["table"] == {"distinct": 12, "top_share": 0.1}
    assert evo["distinct_range"] == [2, 6] and evo["share_range"] == [0.75, 0.8]
    assert evo["inside"] is False
    assert rs["distinct_range"] == [6, 12] and rs["share_range"] == [0.1, 0.75]
    assert rs["inside"] is True
    assert (out["inside"], out["of"]) == (1, 2)


def test_top_over_folds_counts_folds_and_skips_unmeasured():
    from eval.top_structure import top_over_folds

    seeds = np.arange(20)
    finals = {"table": {"evo": seeds % 12}, "d0": {"evo": seeds % 2}, "d1": {"evo": seeds % 3}}
    plausible = final_cells_plausibility(finals, ["d0", "d1"], ["evo"])
    table = {"climb_success_top01": {"value": 0.1, "ci_low": 0.05, "ci_high": 0.15}}
    top = top_structure_summary(
        {"table": table, "d0": {"climb_success_top01": {"value": 0.1}}}, ["d0"]
    )
    studies = [
        {"surrogates": {"s": {"final_cells_plausible": plausible, "top_structure": top}}},
        {"surrogates": {"s": {"final_cells_plausible": plausible}}},
        {"surrogates": {"other": {}}},
    ]
    out = top_over_folds(studies, "s")
    assert out["final_cells"]["evo"] == {"inside": 0, "of": 2}
    assert (out["final_cells_inside"], out["final_cells_of"]) == (0, 2)
    assert out["top_structure"]["climb_success_top01"]["inside"] == 1
    assert out["top_structure"]["climb_success_top01"]["table_mean"] == pytest.approx(0.1)
    assert top_over_folds([], "s") == {"final_cells": {}, "top_structure": {}}


def test_neighbour_pairs_are_the_units_concatenated_in_resample_order():
    """The bootstrap's fast pairs are the arrays of concatenating the units one by one (so the
    correlations, and the reports, are unchanged), repeats and empty neighbourhoods included."""
    from eval.landscape import _neighbour_pairs

    rng = np.random.default_rng(0)
    own = rng.random(40)
    nbrs = [rng.random(int(k)) for k in rng.integers(0, 6, 40)]
    pairs = _neighbour_pairs(own, nbrs)
    for idx in (rng.integers(0, 40, 40), np.array([3, 3, 0]), np.array([], dtype=np.int64)):
        a, b = pairs(idx)
        np.testing.assert_array_equal(
            a, np.concatenate([np.full(len(nbrs[i]), own[i]) for i in idx] or [[]])
        )
        np.testing.assert_array_equal(b, np.concatenate([nbrs[i] for i in idx] or [[]]))


def test_where_the_seeds_end_splits_the_final_difference():
    """The final value at an optimizer's end cells = the model's prediction there + the run's
    excess over it; over studies, the excess's difference is correlated with the final
    difference where it makes it."""
    bench = load_script("benchmarks/bench_fidelity_top.py")
    prediction = np.array([0.90, 0.92, 0.94, 0.93])
    table = prediction + np.array([0.0, 0.004, 0.002, 0.0])
    ends = bench.where_seeds_end(table, prediction, {"a": np.array([1, 1, 2, -1]), "b": []})
    assert ends["a"]["prediction"] == pytest.approx((0.92 + 0.92 + 0.94) / 3)
    assert ends["a"]["excess"] == pytest.approx((0.004 + 0.004 + 0.002) / 3)
    assert ends["b"] == {"prediction": None, "excess": None}

    def study(table_excess, draw_excess, final_difference):
        ends = {
            "table": {"a": {"prediction": 0.94, "excess": table_excess}},
            "s0": {"a": {"prediction": 0.94, "excess": draw_excess}},
        }
        finals = {"optimizers": {"a": {"final_difference": final_difference}}}
        return {"surrogates": {"default": {"ends": ends, "final_cells": finals}}}

    studies = [study(0.003, 0.003 + d, d) for d in (-0.002, 0.0, 0.001)]
    over = bench.ends_over_studies(studies)["a"]
    assert over["studies"] == 3 and over["table_excess"] == pytest.approx(0.003)
    assert over["draws_excess"] == pytest.approx(0.003 - 0.001 / 3)
    assert over["corr_excess_difference_final"] == pytest.approx(1.0)


def test_gap_against_the_exactly_right_surrogate():
    """Each study's curve gap beside the exactly right surrogate's, and their means over the
    studies per optimizer, with the spread of the reference's mean over one of its cases per
    study; a study without the reference (in-sample, one draw) is left out."""
    bench = load_script("benchmarks/bench_fidelity_top.py")
    reported = {"mean_gap": 0.0009, "gap": {"a": 0.0012, "b": 0.0006}}
    attainable = {"mean_gap": 0.0006, "gap": {"a": 0.0007, "b": 0.0005}}
    g = bench.gap_against_reference(reported, attainable, [0.0005, 0.0007])
    assert g["surrogate"] == 0.0009 and g["reference"] == 0.0006
    assert g["by_optimizer"]["a"] == {"surrogate": 0.0012, "reference": 0.0007}
    assert bench.gap_against_reference(reported, None) is None
    other = bench.gap_against_reference(
        {"mean_gap": 0.0005, "gap": {"a": 0.0004, "b": 0.0006}},
        {"mean_gap": 0.0007, "gap": {"a": 0.0009, "b": 0.0005}},
        [0.0006, 0.0008],
    )
    studies = [{"surrogates": {"default": {"gap_against_reference": x}}} for x in (g, other, None)]
    over = bench.gaps_over_studies(studies)["default"]
    assert over["studies"] == 2
    assert over["surrogate"] == pytest.approx(0.0007) and over["reference"] == pytest.approx(
        0.00065
    )
    assert over["by_optimizer"]["a"] == pytest.approx({"surrogate": 0.0008, "reference": 0.0008})
    # the reference's mean over one case per study: 0.00055, 0.00065 (twice) or 0.00075
    assert over["reference_q05"] == pytest.approx(0.00055)
    assert over["reference_q95"] == pytest.approx(0.00075)
    assert over["reference_reaches"] == pytest.approx(0.25, abs=0.01)
    text = bench.render(
        {"folder": "OUT", "track": "t", "studies": [], "gap_against_reference": {"default": over}}
    )
    assert "0.00070 against 0.00065 (one of its cases per study: within 0.00055-0.00075" in text
    assert "a           0.00080 / 0.00080  +0.00000" in text


def test_charged_time_pairs_runs_and_splits_the_budget(tmp_path, space):
    """bench_charged_time: same-cell queries, the time charged and the per-query incumbent."""
    from eval.fidelity.runs import save_run
    from eval.optimizers import RunResult

    bench = load_script("benchmarks/bench_charged_time.py")

    def result(cells, times, values):
        cells = np.array(cells)
        return RunResult(cells, np.full(len(cells), 108), np.array(values), np.cumsum(times), 1e6)

    study = tmp_path / "runs" / "multifidelity" / "fold_1of3-x"
    runs = {
        "table-a": result([5, 6, 7], [100.0, 200.0, 300.0], [0.90, 0.91, 0.93]),
        "default-b": result([5, 6, 8, 9], [150.0, 200.0, 100.0, 50.0], [0.90, 0.92, 0.90, 0.95]),
    }
    for backend, run in runs.items():
        (study / backend / "reinforce").mkdir(parents=True)
        save_run(study / backend / "reinforce" / "v1-s0.npz", run, {})
    pairs = bench.paired_runs(tmp_path, "multifidelity")
    assert list(pairs) == ["reinforce"] and len(pairs["reinforce"]) == 1
    r = bench.charged(pairs["reinforce"], first=3)
    assert r["queries"] == (3.0, 4.0) and r["same_cell_queries"] == 2
    assert r["time"] == (150.0, 175.0)  # cells 5 and 6: (100 + 200) / 2 and (150 + 200) / 2
    assert r["cells"][0]["cell"] == 5 and r["cells"][0]["share"] == 1.0
    # 5 queries at 108 epochs: neither run has them
    assert np.isnan(r["incumbent_by_query"][5])
    assert "queries per run 3 on the table, 4 on the draws" in bench.render({"reinforce": r}, 3)
