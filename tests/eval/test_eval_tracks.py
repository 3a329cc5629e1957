"""Tests of eval.tracks: the budget rules of both tracks, the nearest-covered-cell rule and
tables that lack a track's data."""

from __future__ import annotations

import numpy as np
import pytest
from _eval import requires_real_data

from eval._testing import ArrayBenchmark, real_data_arrays
from eval.errors import EvalConfigError
from nb101.codec import get_codec
from nb101.errors import OutOfDomainError, PartialTableError

pytestmark = requires_real_data


@pytest.fixture(scope="module")
def codec(space):
    return get_codec(space)


def test_full_track_budget_rule(full):
    full.reset_budget_counters()
    out = full.query_batch(np.array([0, 1, 2]))
    assert np.allclose(out["test_accuracy"], real_data_arrays()[("test_accuracy", 108)][:3])
    assert full.spent() == 3.0
    with pytest.raises(OutOfDomainError):
        full.query_batch(np.array([0]), epochs=4)
    assert full.project(np.array([5, 7])).tolist() == [5, 7]


def test_multifidelity_budget_rule(mf):
    mf.reset_budget_counters()
    cell = int(mf.covered[0])
    t108 = real_data_arrays()[("training_time", 108)][cell]
    for e in (4, 12, 36, 108):
        before = mf.spent()
        out = mf.query_batch(np.array([cell]), epochs=e)
        assert out["training_time"][0] == pytest.approx(t108 * e / 108)
        assert mf.spent() - before == pytest.approx(t108 * e / 108)
        assert out["validation_accuracy"][0] == real_data_arrays()[("validation_accuracy", e)][cell]
    assert mf.get_budget_counters()[1] == 4 + 12 + 36 + 108
    uncovered = int(np.setdiff1d(np.arange(100), mf.covered)[0])
    with pytest.raises(PartialTableError):
        mf.query_batch(np.array([uncovered]))


def test_nearest_covered_cell_rule(mf, codec):
    rng = np.random.default_rng(4)
    cells = np.setdiff1d(rng.choice(423624, 40, replace=False), mf.covered)
    got = mf.project(cells)
    assert np.isin(got, mf.covered).all()
    for c, g in zip(cells, got):
        d = codec.distances(int(c), mf.covered)
        best = mf.covered[d == d.min()]
        assert g == best.min()  # nearest by padded edit distance, ties: lowest index
    covered = mf.covered[:5]
    assert np.array_equal(mf.project(covered), covered)
    nb = mf.neighbours(int(mf.covered[0]))
    assert np.isin(nb, mf.covered).all() and int(mf.covered[0]) not in nb


def test_table_lacking_track_data(tmp_path):
    from eval.tracks import covered_cells

    arrays = dict(real_data_arrays())
    sample_only = {k: v for k, v in arrays.items() if k[0] != "test_accuracy"}
    sample_only[("test_accuracy", 108)] = np.where(
        np.isnan(arrays[("validation_accuracy", 108)]), np.nan, 0.9
    )
    with pytest.raises(EvalConfigError, match="track 'full' needs"):
        covered_cells("full", ArrayBenchmark(sample_only))
    no_mf = {("test_accuracy", 108): arrays[("test_accuracy", 108)]}
    with pytest.raises(EvalConfigError, match="multifidelity"):
        covered_cells("multifidelity", ArrayBenchmark(no_mf))
