"""``hpo.optuna_adapter`` and ``hpo.syne_tune_adapter`` on a table and on the bundled
surrogate: values, budget charges, the invalid rule, pruning, Syne Tune schedulers in
simulated time, and identical results from identical seeds."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from _markers import requires_syne_tune

import hpo.syne_tune_adapter as syne_adapter
from hpo import get_encoding
from hpo._testing import nearest_covered, synthetic_table
from hpo.optuna_adapter import make_objective, run_study
from hpo.syne_tune_adapter import OBJECTIVES, simulate
from nb101 import PartialTableError
from nb101.tabular_benchmark import TabularBenchmark
from surrogate import SurrogateBenchmark

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def table(space, tmp_path_factory):
    path = synthetic_table(tmp_path_factory.mktemp("hpo") / "t.npz", num_cells=500, space=space)
    return TabularBenchmark(path, seed=0, space=space)


@pytest.fixture(scope="module")
def cell_map(table):
    return nearest_covered(table.covered_indices())


@pytest.fixture(scope="module")
def surrogate(space):
    return SurrogateBenchmark(seed=0, space=space)


@pytest.fixture(params=["table", "surrogate"])
def backend(request, table, cell_map, surrogate):
    """(bench, cell_map) of each backend."""
    return (table, cell_map) if request.param == "table" else (surrogate, None)


# --------------------------------------------------------------------------------- Optuna
def test_objective_returns_the_query_and_charges_it(table, cell_map):
    cell = int(table.covered_indices()[4])
    config = get_encoding("A").from_index(cell, table.space)
    objective = make_objective(table, epochs=12, cell_map=cell_map)
    table.reset_budget_counters()
    value = objective(optuna.trial.FixedTrial(config))
    spent, epochs = table.get_budget_counters()
    runs = table.get_metrics_from_hash(table.space.hash(cell))[1][12]
    assert value in {r["final_validation_accuracy"] for r in runs} and epochs == 12
    assert spent in {r["final_training_time"] for r in runs}
    with pytest.raises(ValueError, match="epochs=5"):
        make_objective(table, epochs=5)


def test_multi_fidelity_objective_reports_every_budget_and_prunes(table, cell_map):
    config = get_encoding("A").from_index(int(table.covered_indices()[9]), table.space)
    study = optuna.create_study(direction="maximize")
    objective = make_objective(table, multi_fidelity=True, cell_map=cell_map)
    table.reset_budget_counters()
    study.enqueue_trial(config)
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert sorted(trial.intermediate_values) == [4, 12, 36]
    assert table.get_budget_counters()[1] == 4 + 12 + 36 + 108  # each budget is one training
    assert trial.user_attrs["epochs"] == 108 and trial.user_attrs["valid"]

    class AlwaysPrune(optuna.pruners.BasePruner):
        def prune(self, study, trial):
            return True

    pruned = optuna.create_study(direction="maximize", pruner=AlwaysPrune())
    pruned.enqueue_trial(config)
    table.reset_budget_counters()
    pruned.optimize(objective, n_trials=1)
    assert pruned.trials[0].state == optuna.trial.TrialState.PRUNED
    assert table.get_budget_counters()[1] == 4


def test_an_invalid_config_is_the_worst_value_at_no_cost(table):
    config = get_encoding("A").from_index(0, table.space)
    config.update({f"edge_{i}": 1 for i in range(21)})
    table.reset_budget_counters()
    assert make_objective(table, multi_fidelity=True)(optuna.trial.FixedTrial(config)) == 0.0
    assert table.get_budget_counters() == (0.0, 0)


@pytest.mark.parametrize("pruner", [None, "hyperband"])
def test_run_study_is_reproducible_on_both_backends(backend, pruner):
    bench, cell_map = backend
    runs = [
        run_study(bench, n_trials=12, pruner=pruner, seed=3, cell_map=cell_map, encoding="C")
        for _ in range(2)
    ]
    assert [t.params for t in runs[0].trials] == [t.params for t in runs[1].trials]
    assert [t.value for t in runs[0].trials] == [t.value for t in runs[1].trials]
    assert runs[0].best_value > 0.5 and runs[0].best_trial.user_attrs["valid"]
    other = run_study(bench, n_trials=12, pruner=pruner, seed=4, cell_map=cell_map, encoding="C")
    assert [t.params for t in other.trials] != [t.params for t in runs[0].trials]


def test_run_study_stops_at_the_training_time_budget(surrogate):
    study = run_study(surrogate, n_trials=50, sampler="random", seed=0, max_training_time=5000.0)
    assert len(study.trials) < 50 and surrogate.get_budget_counters()[0] >= 5000.0
    with pytest.raises(ValueError, match="unknown pruner 'asha'"):
        run_study(surrogate, n_trials=1, pruner="asha")


# ------------------------------------------------------------------------------ Syne Tune
@requires_syne_tune
def test_table_blackbox_seeds_are_the_stored_repeats(table, cell_map):
    blackbox = syne_adapter.TableBlackbox(table, cell_map=cell_map)
    assert list(blackbox.fidelity_values) == [4, 12, 36, 108]
    assert blackbox.objectives_names == list(OBJECTIVES) and blackbox.num_seeds == 3
    cell = int(table.covered_indices()[2])
    config = get_encoding("A").from_index(cell, table.space)
    runs = table.get_metrics_from_hash(table.space.hash(cell))[1]
    for seed in range(3):
        rows = blackbox.objective_function(config, seed=seed)
        assert rows.shape == (4, len(OBJECTIVES))
        one = blackbox.objective_function(config, fidelity={"epochs": 36}, seed=seed)
        assert one["validation_accuracy"] == runs[36][seed]["final_validation_accuracy"]
        assert one["elapsed_time"] == runs[36][seed]["final_training_time"]
        assert one["test_error"] == pytest.approx(1 - runs[36][seed]["final_test_accuracy"])
        assert rows[2].tolist() == [one[k] for k in OBJECTIVES]
    invalid = dict(config, **{f"edge_{i}": 0 for i in range(21)})
    assert blackbox.objective_function(invalid, fidelity=4) == dict(
        zip(OBJECTIVES, (0.0, 1.0, 0.0, 1.0, 0.0))
    )
    uncovered = next(c for c in range(len(table.space)) if cell_map(c) != c)
    with pytest.raises(PartialTableError, match="partial"):
        syne_adapter.TableBlackbox(table).objective_function(
            get_encoding("A").from_index(uncovered, table.space), fidelity=4
        )


@requires_syne_tune
def test_surrogate_blackbox_seeds_are_noise_realizations(surrogate, space):
    blackbox = syne_adapter.SurrogateBlackbox(surrogate.artifact, space=space, encoding="C")
    config = get_encoding("C").from_index(1234, space)
    a, b = (blackbox.objective_function(config, seed=s) for s in (0, 1))
    assert np.array_equal(a, blackbox.objective_function(config, seed=0), equal_nan=True)
    assert not np.array_equal(a, b, equal_nan=True)
    direct = SurrogateBenchmark(
        surrogate.artifact, seed=0, noise_seed=1, num_repeats=1, space=space
    ).query(space.spec(1234), epochs=108)
    assert b[3, 0] == pytest.approx(direct["validation_accuracy"])
    assert np.isnan(a[0, 2]) and not np.isnan(a[3, 2])  # the bundled artifact: test at 108


def _asha(blackbox):
    from syne_tune.optimizer.baselines import ASHA

    return ASHA(
        blackbox.configuration_space,
        metric="validation_error",
        do_minimize=True,
        time_attr="epochs",
        max_t=108,
        grace_period=4,
        reduction_factor=3,
        random_seed=0,
    )


@requires_syne_tune
@pytest.mark.parametrize("kind", ["table", "surrogate"])
def test_asha_runs_in_simulated_time_and_reruns_identically(
    kind, table, cell_map, surrogate, tmp_path
):
    blackbox = (
        syne_adapter.TableBlackbox(table, cell_map=cell_map)
        if kind == "table"
        else syne_adapter.SurrogateBlackbox(surrogate.artifact, space=surrogate.space)
    )
    frames = [
        simulate(
            blackbox, _asha(blackbox), max_wallclock_time=2000.0, seed=1, folder=tmp_path / str(i)
        )
        for i in range(2)
    ]
    columns = ["trial_id", "epochs", "validation_error", "elapsed_time", "st_tuner_time"]
    assert frames[0][columns].equals(frames[1][columns])
    assert set(frames[0]["epochs"]) == {4, 12, 36, 108} and frames[0]["trial_id"].nunique() > 8
    # simulated seconds: the clock stops at 2,000 s, where a running job may still end
    frame = frames[0].sort_values(["trial_id", "epochs"])
    step = frame.groupby("trial_id")["elapsed_time"].diff().fillna(frame["elapsed_time"])
    assert 1000 < frame["st_tuner_time"].max() and (frame["st_tuner_time"] - step).max() < 2000
    assert (frames[0]["validation_error"] < 1).any()


@requires_syne_tune
def test_other_schedulers_run_on_a_blackbox(table, cell_map, tmp_path):
    from syne_tune.optimizer.baselines import REA, RandomSearch

    blackbox = syne_adapter.TableBlackbox(table, cell_map=cell_map)
    for scheduler in (
        RandomSearch(blackbox.configuration_space, metrics=["validation_error"], random_seed=0),
        REA(
            blackbox.configuration_space,
            metric="validation_error",
            random_seed=0,
            population_size=4,
            sample_size=2,
        ),
    ):
        frame = simulate(blackbox, scheduler, max_num_trials_started=6, folder=tmp_path)
        assert set(frame["epochs"]) == {4, 12, 36, 108}
    with pytest.raises(ValueError, match="max_num_trials_started"):
        simulate(blackbox, scheduler)


@requires_syne_tune
def test_table_blackbox_derives_a_missing_budgets_time_from_108_epochs(space, tmp_path):
    from nb101 import write_table

    path = write_table(
        tmp_path / "t.npz",
        run_cell=[7, 7],
        run_epochs=[4, 108],
        run_repeat=[0, 0],
        source={"kind": "test"},
        space=space,
        values={
            "final_validation_accuracy": [0.5, 0.9],
            "final_training_time": [float("nan"), 540.0],
        },
    )
    blackbox = syne_adapter.TableBlackbox(TabularBenchmark(path, space=space))
    rows = blackbox.objective_function(get_encoding("A").from_index(7, space), seed=2)
    assert rows[:, 4].tolist() == [20.0, 540.0] and rows[:, 0].tolist() == [0.5, 0.9]
    assert np.isnan(rows[:, 2]).all()  # no test accuracy stored


@requires_syne_tune
def test_syne_tune_and_xgboost_cpu_install_side_by_side():
    """syne-tune comes without its `xgboost` requirement (see examples/README.md), so only
    one distribution provides `import xgboost`."""
    from importlib.metadata import PackageNotFoundError, distribution

    import syne_tune

    def installed(name: str) -> bool:
        try:
            distribution(name)
        except PackageNotFoundError:
            return False
        return True

    assert syne_tune.__version__
    assert not (installed("xgboost") and installed("xgboost-cpu"))
