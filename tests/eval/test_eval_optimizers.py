"""Tests of eval.optimizers: every registered optimizer runs seeded on both tracks and the
run loop charges the budget as the tracks count it."""

from __future__ import annotations

import numpy as np
import pytest
from _eval import requires_real_data

from eval.optimizers import OPTIMIZERS, Optimizer, resolve_optimizer, run

pytestmark = requires_real_data

BUDGET_FULL = 30
BUDGET_MF = 12  # in full trainings


def _track_for(cls, full, mf):
    return (mf, BUDGET_MF * mf.mean_time108) if cls.multi_fidelity else (full, BUDGET_FULL)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_runs_seeded_and_charges_budget(name, full, mf):
    cls = OPTIMIZERS[name]
    assert issubclass(cls, Optimizer) and resolve_optimizer(name) is cls
    tracks = [_track_for(cls, full, mf)]
    if not cls.multi_fidelity:
        tracks.append((mf, BUDGET_MF * mf.mean_time108))
    for track, budget in tracks:
        a = run(cls(), track, budget, seed=7)
        b = run(cls(), track, budget, seed=7)
        assert np.array_equal(a.cells, b.cells) and np.array_equal(a.values, b.values)
        assert np.isin(a.cells, track.covered).all()
        spent = track.spent()
        assert spent == pytest.approx(a.spent[-1])
        assert spent >= budget
        last = track.cost(a.cells[-1:], int(a.epochs[-1]))[0]
        assert spent - last < budget  # overshoot by at most the last query
        assert np.all(np.diff(a.spent) > 0)
        v, c = a.incumbents()
        assert np.nanmax(v) == np.nanmax(a.values[a.epochs == 108])
        if cls.multi_fidelity:
            assert len(set(a.epochs.tolist())) > 1


def test_run_rejects_bad_budget(full):
    with pytest.raises(ValueError):
        run(OPTIMIZERS["random"](), full, 0, seed=0)
    with pytest.raises(ValueError):
        run(OPTIMIZERS["hyperband"](), full, 10, seed=0)
