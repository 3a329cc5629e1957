"""Tests of eval.optimizers.external: Optuna and Syne Tune on the ask/tell interface, the
invalid-config rule, failures, and a fidelity study with external optimizers."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from _eval import make_tiny_surrogate, requires_real_data, strict_json

from eval.errors import EvalConfigError
from eval.optimizers import (
    ALL_OPTIMIZERS,
    EXTERNAL_OPTIMIZERS,
    OPTIMIZERS,
    ExternalOptimizer,
    ExternalOptimizerError,
    expand_optimizers,
    resolve_optimizer,
    run,
)

pytestmark = requires_real_data

NAMES = (
    "optuna-tpe",
    "optuna-random",
    "syne-rs",
    "syne-rea",
    "syne-tpe",
    "syne-bore",
    "syne-asha",
    "syne-bohb",
)
BUDGET_FULL = 12
BUDGET_MF = 6  # in full trainings


def _installed(name: str) -> bool:
    return importlib.util.find_spec(EXTERNAL_OPTIMIZERS[name].library) is not None


@pytest.fixture(scope="module")
def tiny_surrogate(tmp_path_factory):
    return make_tiny_surrogate(tmp_path_factory.mktemp("sur"))


# ------------------------------------------------------------------------- registry
def test_names_and_groups():
    assert tuple(EXTERNAL_OPTIMIZERS) == NAMES
    assert expand_optimizers(["external"]) == list(NAMES)
    assert expand_optimizers(["all"]) == list(OPTIMIZERS) + list(NAMES)
    assert expand_optimizers(["random", "external", "random"]) == ["random", *NAMES]
    assert set(ALL_OPTIMIZERS) == set(OPTIMIZERS) | set(NAMES)
    for name in NAMES:
        cls = resolve_optimizer(name)
        assert issubclass(cls, ExternalOptimizer) and cls.name == name
        assert cls.multi_fidelity == (name in ("syne-asha", "syne-bohb"))
    with pytest.raises(EvalConfigError, match=r"unknown optimizer 'syne'.*'external'"):
        expand_optimizers(["syne"])


def test_a_missing_library_names_its_extra(monkeypatch, tmp_path):
    from eval.fidelity import FidelityConfig, run_fidelity

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "syne_tune" else real(name, *a),
    )
    with pytest.raises(
        EvalConfigError,
        match=r"'syne-rs' needs the 'syne_tune' package.*"
        r"pip install 'nb101-surrogate\[syne\]'",
    ):
        EXTERNAL_OPTIMIZERS["syne-rs"].check_available()
    cfg = FidelityConfig(optimizers=("random", "external"), out=tmp_path / "o")
    with pytest.raises(EvalConfigError, match="nb101-surrogate\\[syne\\]"):
        run_fidelity(cfg)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------ each adapter
@pytest.mark.parametrize("name", NAMES)
def test_external_optimizer_runs_seeded(name, full, mf):
    if not _installed(name):
        pytest.skip(f"{EXTERNAL_OPTIMIZERS[name].library} is not installed")
    cls = EXTERNAL_OPTIMIZERS[name]
    track, budget = (
        (mf, BUDGET_MF * mf.mean_time108)
        if cls.multi_fidelity
        else (full, BUDGET_FULL if name != "syne-bore" else 8)
    )  # BORE: ~1 s per proposal
    a = run(cls(), track, budget, seed=3)
    b = run(cls(), track, budget, seed=3)
    c = run(cls(), track, budget, seed=4)
    assert np.array_equal(a.cells, b.cells) and np.array_equal(a.values, b.values)
    assert not np.array_equal(a.cells, c.cells)
    assert np.isin(a.cells, track.covered).all() and track.spent() >= budget
    assert np.isfinite(a.values).all()
    if cls.multi_fidelity:
        assert set(a.epochs.tolist()) <= set(mf.fidelities) and len(set(a.epochs)) > 1
    else:
        assert (a.epochs == 108).all()
    if name in ("optuna-tpe", "syne-rs"):  # single-fidelity ones run on both tracks
        m = run(cls(), mf, BUDGET_MF * mf.mean_time108, seed=3)
        assert np.isin(m.cells, mf.covered).all()


# --------------------------------------------------- invalid configs and failures
class _Scripted(ExternalOptimizer):
    """Proposes the configs of ``script`` in turn (an exception is raised instead)."""

    name = "scripted"
    library = "numpy"
    distribution = "numpy"
    extra = "none"
    script: list = []

    def _start(self, seed):
        self.told = []
        self._k = 0

    def _next(self):
        item = self.script[self._k % len(self.script)]
        self._k += 1
        if isinstance(item, Exception):
            raise item
        return self._k, dict(item), self.problem.max_epochs

    def _result(self, token, value, epochs):
        self.told.append((token, value))

    def _failed(self, token):
        self.told.append((token, None))


def _config(cell: int | None = None, **change):
    from hpo.encodings import get_encoding

    enc = get_encoding("A")
    config = enc.from_index(cell) if cell is not None else enc.from_index(0)
    config.update(change)
    return config


def test_invalid_configs_are_answered_without_a_query(full):
    too_many_edges = _config(**{f"edge_{i}": 1 for i in range(21)})
    opt = type("S", (_Scripted,), {"script": [too_many_edges, _config(7)]})()
    result = run(opt, full, 3, seed=0)
    assert (result.cells == 7).all() and len(result.cells) == 3
    assert opt.invalid_configs == 3
    # the invalid configs are told the invalid rule's value (0), the valid ones theirs
    assert [v for _, v in opt.told[:2]] == [0.0, result.values[0]]


def test_invalid_configs_map_through_the_nearest_covered_cell(mf):
    uncovered = int(np.setdiff1d(np.arange(1000), mf.covered)[0])
    opt = type("S", (_Scripted,), {"script": [_config(uncovered)]})()
    result = run(opt, mf, 2 * mf.mean_time108, seed=0)
    assert (result.cells == mf.project(np.array([uncovered]))[0]).all()


@pytest.mark.parametrize(
    "script, match",
    [
        ([RuntimeError("library bug")], r"'scripted' failed in next: RuntimeError: library bug"),
        (
            [{"edge_0": float("nan")}],
            r"'scripted' proposed a config outside the space of encoding "
            r"'A'.*config: \{'edge_0': nan",
        ),
        ([None], r"'scripted' proposed a config outside the space"),
    ],
)
def test_failures_name_the_optimizer_and_the_config(full, script, match):
    if script == [None]:
        script = [_config(0, op_node_0="conv7x7")]
    opt = type("S", (_Scripted,), {"script": script})()
    with pytest.raises(ExternalOptimizerError, match=match) as info:
        run(opt, full, 3, seed=0)
    assert info.value.optimizer == "scripted"


def test_only_invalid_configs_stop_the_run(full):
    never = _config(**{f"edge_{i}": 0 for i in range(21)})  # input and output disconnected
    opt = type("S", (_Scripted,), {"script": [never]})(max_invalid=5)
    with pytest.raises(ExternalOptimizerError, match="proposed 5 invalid configs in a row"):
        run(opt, full, 3, seed=0)


def test_the_error_survives_pickling():
    import pickle

    err = pickle.loads(pickle.dumps(ExternalOptimizerError("boom", optimizer="x", config={"a": 1})))
    assert (str(err), err.optimizer, err.config) == ("boom", "x", {"a": 1})


# ------------------------------------------------------------------------ the study
def test_study_with_two_external_optimizers(tmp_path, tiny_surrogate):
    """Project and external optimizers on the same cells, seeds, budget and backends, cached,
    ranked together; reruns are identical."""
    for name in ("optuna-tpe", "syne-asha"):
        if not _installed(name):
            pytest.skip(f"{EXTERNAL_OPTIMIZERS[name].library} is not installed")
    from eval.fidelity import main

    out = tmp_path / "fid"
    argv = [
        "--smoke",
        "--track",
        "multifidelity",
        "--surrogate",
        str(tiny_surrogate),
        "--optimizers",
        "random",
        "hyperband",
        "optuna-tpe",
        "syne-asha",
        "--seeds",
        "3",
        "--budget",
        "6",
        "--n-jobs",
        "1",
        "--joblib-backend",
        "threading",
        "--no-landscape",
        "--out",
        str(out),
        "--no-progress",
    ]
    assert main(argv) == 0
    report = strict_json(out / "fidelity.json")
    (study,) = report["tracks"]["multifidelity"]["studies"]
    assert study["optimizers"] == ["random", "hyperband", "optuna-tpe", "syne-asha"]
    assert study["external"] == ["optuna-tpe", "syne-asha"]
    m = study["surrogates"]["tiny"]["mean_of_draws"]
    assert set(m["gap"]) == set(m["bias"]) == set(study["optimizers"])
    ranks = study["ranks"]
    assert sorted(ranks["table"].values()) == [1, 2, 3, 4] and set(ranks) == {"table", "tiny"}
    markdown = (out / "fidelity.md").read_text()
    assert "| optuna-tpe (external) |" in markdown and "| syne-asha (external) |" in markdown
    assert not report.get("failed_runs")
    # rerun: every run from the cache, the same curves
    assert main(argv) == 0
    again = strict_json(out / "fidelity.json")
    assert again["timing"]["runs_computed"] == 0
    assert again["tracks"] == report["tracks"]


def test_a_failed_run_is_reported_and_the_others_kept(tmp_path, tiny_surrogate, monkeypatch):
    """One external optimizer fails: its runs are listed in the report and left out; every
    other run is computed, cached and compared."""
    from eval.fidelity import FidelityConfig, run_fidelity

    failing = type("Failing", (_Scripted,), {"name": "failing", "script": [RuntimeError("boom")]})
    monkeypatch.setitem(ALL_OPTIMIZERS, "failing", failing)
    monkeypatch.setitem(EXTERNAL_OPTIMIZERS, "failing", failing)
    cfg = FidelityConfig(
        tracks=("multifidelity",),
        surrogates=(tiny_surrogate,),
        optimizers=("random", "evolution", "failing"),
        seeds=2,
        budget=4,
        noise=False,
        landscape=False,
        n_boot=20,
        n_jobs=1,
        joblib_backend="threading",
        out=tmp_path / "o",
    )
    report = run_fidelity(cfg)
    failed = report["failed_runs"]
    assert len(failed) == 4 and {f["optimizer"] for f in failed} == {"failing"}
    assert {(f["backend"], f["seed"]) for f in failed} == {
        (b, s) for b in ("table", "tiny") for s in (0, 1)
    }
    assert all("'failing' failed in next: RuntimeError: boom" in f["error"] for f in failed)
    (study,) = report["tracks"]["multifidelity"]["studies"]
    assert study["optimizers"] == ["random", "evolution"]
    assert report["timing"]["runs_computed"] == 8 and report["timing"]["runs_failed"] == 4
    assert "4 runs failed and are left out" in report["verdict"]
    assert "failing on table, multifidelity track, all cells, seed 0" in report["verdict"]
    assert "4 runs failed" in (tmp_path / "o" / "fidelity.md").read_text()
    # the failed runs are not cached: a rerun tries them again, the others come from the cache
    again = run_fidelity(cfg)
    assert again["timing"]["runs_computed"] == 0 and len(again["failed_runs"]) == 4
    assert again["tracks"]["multifidelity"]["studies"][0]["optimizers"] == ["random", "evolution"]
