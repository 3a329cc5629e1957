"""Tests of the fidelity statistics (eval.stats, eval.landscape, eval.fidelity.report) on
synthetic curves; no data needed."""

from __future__ import annotations

import numpy as np
import pytest


def test_ranking_statistics():
    from eval.stats import ranking_tau, verdict_agreement

    rng = np.random.default_rng(0)
    # three clearly separated optimizers, 12 seeds, one grid point
    a = {
        n: (mu + 0.001 * rng.standard_normal(12))[:, None]
        for n, mu in (("x", 0.90), ("y", 0.92), ("z", 0.94))
    }
    b = {n: v + 0.0001 for n, v in a.items()}
    flipped = {"x": a["z"], "y": a["y"], "z": a["x"]}
    assert ranking_tau(a, b, 0) == pytest.approx(1.0)
    assert ranking_tau(a, flipped, 0) == pytest.approx(-1.0)
    assert verdict_agreement(a, b, 0) == (1.0, 3)
    assert verdict_agreement(a, flipped, 0) == (0.0, 3)  # every verdict reversed


def test_draw_consistency():
    from eval.stats import draw_consistency

    rng = np.random.default_rng(1)
    seeds = 20

    def realization(shift=0.0):
        # one draw of a benchmark: a realization offset per optimizer plus seed noise
        return {
            n: (0.94 + shift + 0.0005 * rng.standard_normal() + 0.001 * rng.standard_normal(seeds))[
                :, None
            ]
            for n in ("a", "b")
        }

    draws = [realization() for _ in range(8)]
    same = draw_consistency(realization(), draws, 0)
    far = draw_consistency(realization(shift=0.01), draws, 0)
    for n in ("a", "b"):
        assert same[n]["draws"] == 8 and 0 <= same[n]["p"] <= 1
        assert far[n]["t"] > 10 and far[n]["p"] < 1e-4
        sd = np.std([d[n].mean() for d in draws], ddof=1)
        assert far[n]["t"] == pytest.approx(
            (far[n]["table"] - far[n]["draws_mean"]) / (sd * np.sqrt(1 + 1 / 8))
        )
    one = draw_consistency(realization(), draws[:1], 0)
    assert np.isnan(one["a"]["t"]) and np.isnan(one["a"]["p"])


def test_kendall_tau_b_matches_scipy():
    from scipy.stats import kendalltau

    from eval.stats import kendall_tau_b

    rng = np.random.default_rng(0)
    for _ in range(100):
        x, y = rng.integers(0, 4, 7).astype(float), rng.integers(0, 5, 7).astype(float)
        want = kendalltau(x, y).statistic
        got = kendall_tau_b(x, y)
        assert (np.isnan(want) and np.isnan(got)) or got == pytest.approx(want)
    batch = rng.normal(size=(50, 6))
    np.testing.assert_allclose(
        kendall_tau_b(batch, batch[::-1]),
        [kendalltau(a, b).statistic for a, b in zip(batch, batch[::-1])],
    )


def test_sign_test_and_compare_intervals():
    from eval.fidelity.report import compare
    from eval.stats import sign_test

    assert sign_test(np.array([0.1] * 7))["p"] == pytest.approx(2 / 2**7)
    assert sign_test(np.array([1, -1, 1, -1, np.nan, 0]))["p"] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    names = ["a", "b", "c"]
    table = {
        n: (0.9 + 0.01 * k + 0.002 * rng.standard_normal((20, 4))) for k, n in enumerate(names)
    }
    shifted = {n: v + 0.001 for n, v in table.items()}
    out = compare(shifted, table, names, [1, 3], n_boot=200)
    assert out["kendall_tau"] == [1.0, 1.0]
    assert out["mean_bias"] == pytest.approx(0.001)
    assert out["sign_test"]["positive"] == 3
    low, high = out["mean_bias_ci"]
    assert low < 0.001 < high or low == pytest.approx(0.001)
    assert out["mean_gap"] == pytest.approx(0.001)


def test_landscape_statistics_on_a_line():
    """A path graph 0-1-...-9 with increasing values: one local optimum (the end), climbs
    walk to it, and a neighbour improves half the time."""
    from eval.landscape import landscape_sample, landscape_stats

    n = 10
    cells = np.arange(n)

    def neighbours(c):
        return np.array([x for x in (c - 1, c + 1) if 0 <= x < n])

    sample = landscape_sample(cells, neighbours, num_starts=n, num_walks=20, walk_length=30, seed=0)
    values = np.arange(n, dtype=float)
    stats = landscape_stats(sample, values, neighbours, n_boot=50)
    assert stats["local_optima"]["value"] == pytest.approx(1 / n)
    assert stats["climb_length"]["value"] == pytest.approx(np.mean(n - 1 - sample.starts))
    assert stats["walk_autocorr_1"]["value"] > 0.5
    assert stats["top1_mean"]["value"] == 9.0
    for s in stats.values():
        assert s["ci_low"] <= s["value"] + 1e-12 and s["value"] <= s["ci_high"] + 1e-12
    shuffled = np.random.default_rng(0).permutation(values)
    assert (
        landscape_stats(sample, shuffled, neighbours)["neighbour_corr"]["value"]
        < stats["neighbour_corr"]["value"]
    )


def test_walks_restart_at_a_dead_end():
    """A cell without neighbours (the space's two-vertex cell) must not absorb the walks:
    they go on from a fresh cell, and no autocorrelation pair spans the restart. Here every
    cell leads to the dead end 0, so absorbed walks would pair 0 with itself at every lag."""
    from scipy.stats import rankdata

    from eval.landscape import landscape_sample, landscape_stats

    n = 12
    cells = np.arange(n)

    def neighbours(c):
        if c == 0:
            return np.array([], dtype=np.int64)
        return np.array([x for x in (0, c - 1, c + 1) if 1 <= x < n or x == 0])

    sample = landscape_sample(cells, neighbours, num_starts=n, num_walks=30, walk_length=40)
    w = sample.walks
    stayed = w[:, 1:] == w[:, :-1]
    assert not (stayed & ~sample.restarts[:, 1:]).any()  # no step stays on its cell
    assert sample.restarts.any() and not sample.restarts[:, 0].any()
    # every restart follows the dead end, and every visit of the dead end before the last
    # step is followed by a restart
    assert np.all(w[:, :-1][sample.restarts[:, 1:]] == 0)
    assert np.all(sample.restarts[:, 1:][w[:, :-1] == 0])
    # the statistic pools exactly the pairs inside one walk segment
    values = np.random.default_rng(1).permutation(n).astype(float)
    stats = landscape_stats(sample, values, neighbours, n_boot=20)
    for lag in (1, 3):
        a, b = [], []
        for walk, restarts in zip(w, sample.restarts):
            for t in range(w.shape[1] - lag):
                if not restarts[t + 1 : t + lag + 1].any():
                    a.append(values[walk[t]])
                    b.append(values[walk[t + lag]])
        expected = np.corrcoef(rankdata(a), rankdata(b))[0, 1]
        assert stats[f"walk_autocorr_{lag}"]["value"] == pytest.approx(expected)
        assert stats[f"walk_autocorr_{lag}"]["pairs"] == len(a)


def test_attainable_reference_leaves_one_draw_out():
    """Each draw plays the table against the mean of the others: identical draws meet every
    curve target in every case; too few draws give no reference."""
    from eval.fidelity.report.compare import attainable_reference

    rng = np.random.default_rng(0)
    names = ["a", "b", "c", "d"]
    grid = 8
    base = {
        n: np.tile(np.linspace(0.9, 0.94 + 0.001 * i, grid), (5, 1)) for i, n in enumerate(names)
    }
    curves = {f"s{k}": base for k in range(4)}
    same = attainable_reference(curves, list(curves), names, [3, 5, 7])
    assert same["cases"] == 4 and same["met"]["all"] == 1.0
    assert same["mean_gap"] < 1e-12 and same["mean_abs_bias"] < 1e-12
    assert same["kendall_tau"] == [1.0, 1.0, 1.0]
    noisy = {
        f"s{k}": {n: c + rng.normal(0, 0.01, c.shape) for n, c in base.items()} for k in range(4)
    }
    far = attainable_reference(noisy, list(noisy), names, [3, 5, 7])
    assert far["met"]["gap"] == 0.0 and far["mean_gap"] > 0.001
    # per optimizer: the mean over cases, whose mean over optimizers is the mean gap
    assert set(far["gap"]) == set(names) and all(same["gap"][n] < 1e-12 for n in names)
    assert np.mean(list(far["gap"].values())) == pytest.approx(far["mean_gap"])
    assert attainable_reference(curves, ["s0", "s1"], names, [3, 5, 7]) is None


def test_over_folds_gives_the_attainable_reference_per_fold_count():
    """The verdict reads a per-fold count against what an exactly right surrogate would
    reach: the sum of its per-fold rates (folds expected) and their product (every fold)."""
    from eval.fidelity.report.summary import over_folds
    from eval.fidelity.report.verdict import verdict_text

    def fold(k: int, rate: float, met: bool) -> dict:
        stats = {
            "kendall_tau": [0.6, 0.6, 0.6],
            "agreement": [0.5, 0.5, 0.5],
            "mean_bias": 0.0,
            "mean_gap": 0.0005,
            "gap": {"a": 0.0005, "b": 0.0005},
            "sign_test": {"positive": 1, "negative": 1, "p": 1.0},
        }
        surrogate = {
            "protocol": "out-of-sample",
            "training_share": 0.0,
            "mean_of_draws": stats,
            "landscape": {"inside": 5},
            "targets": {"tau": met, "bias": True, "gap": True, "landscape": True, "all": met},
            "attainable": {
                "cases": 5,
                "met": {"all": rate, "tau": rate, "bias": 1.0, "gap": 1.0},
                "gap": {"a": 0.0004, "b": 0.0004},
            },
        }
        return {
            "name": f"fold {k}/3",
            "protocol": "out-of-sample",
            "optimizers": ["a", "b"],
            "surrogates": {"default": surrogate},
        }

    studies = [fold(1, 0.2, True), fold(2, 0.4, False), fold(3, 0.6, True)]
    summary = over_folds(studies)["default"]
    assert summary["attainable_folds"]["expected"] == pytest.approx(1.2)
    assert summary["attainable_folds"]["every_fold"] == pytest.approx(0.048)
    report = {"tracks": {"multifidelity": {"studies": studies, "over_folds": {"default": summary}}}}
    verdict = verdict_text(report)
    assert (
        "surrogate default meets every target on 2\n  - an exactly right surrogate: 40 % "
        "of its leave-one-draw-out cases; 1.2 of 3 folds expected, every fold with "
        "probability 4.8 %\n"
    ) in verdict
    assert "  - folds meeting each target (exactly right surrogate): tau 2 (40 %)" in verdict
    # a fold without a reference (one realization): no expectation is claimed
    studies[1]["surrogates"]["default"].pop("attainable")
    assert "attainable_folds" not in over_folds(studies)["default"]


def test_split_folds_partition_the_cells_by_seed():
    from eval.fidelity import config_from_args, split_folds

    cells = np.arange(100, 200)
    for seed in (0, 1):
        folds = split_folds(cells, 3, seed)
        assert [len(f) for f in folds] == [34, 33, 33]
        np.testing.assert_array_equal(np.sort(np.concatenate(folds)), cells)
        assert all(np.all(np.diff(f) > 0) for f in folds)
    assert not np.array_equal(split_folds(cells, 3, 0)[0], split_folds(cells, 3, 1)[0])
    assert config_from_args(["--split-seeds", "0", "2"]).split_seeds == (0, 2)


def test_budgets_are_written_as_used():
    from eval.fidelity.report.text import budget, budget_key

    assert [budget(b) for b in (1000.0, 316.23, 100.0, 15.0, 4.74, 1.0)] == [
        "1,000",
        "316",
        "100",
        "15",
        "4.7",
        "1",
    ]
    assert [budget_key(b) for b in (1000.0, 316.23, 4.74)] == ["1000", "316", "4.7"]
