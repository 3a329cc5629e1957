"""Tests of eval/: cell codec, tracks, optimizers, the fidelity study (smoke) and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nb101 import ModelSpec, OPS, get_space
from nb101.errors import OutOfDomainError, PartialTableError
from eval._testing import ArrayBenchmark, real_data_arrays, real_data_benchmark
from eval.cells import ABSENT, get_codec
from eval.errors import EvalConfigError
from eval.optimizers import OPTIMIZERS, Optimizer, resolve_optimizer, run
from eval.tracks import make_track

def _have_real_data() -> bool:
    from nb101.real_data import resolve_data_dir
    try:
        resolve_data_dir()
    except FileNotFoundError:
        return False
    return True


# The tracks and optimizers are exercised on the real data ($NB101_DATA or ../shared/data).
pytestmark = pytest.mark.skipif(not _have_real_data(),
                                reason="real NAS-Bench-101 data folder is absent")

BUDGET_FULL = 30
BUDGET_MF = 12  # in full trainings


@pytest.fixture(scope="module")
def space():
    return get_space()


@pytest.fixture(scope="module")
def codec(space):
    return get_codec(space)


@pytest.fixture(scope="module")
def bench():
    return real_data_benchmark(seed=0)


@pytest.fixture(scope="module")
def full(bench):
    return make_track("full", bench)


@pytest.fixture(scope="module")
def mf(bench):
    return make_track("multifidelity", bench)


# ---------------------------------------------------------------------------- codec
def _spec_of(edges: int, labels) -> ModelSpec:
    m = np.zeros((7, 7), dtype=int)
    pairs = [(x, y) for y in range(1, 7) for x in range(y)]
    for b, (x, y) in enumerate(pairs):
        m[x, y] = (edges >> b) & 1
    return ModelSpec(m, ["input", *(OPS[int(j)] for j in labels), "output"])


def test_codec_roundtrip_and_decode_matches_modelspec(space, codec):
    idx = np.arange(0, len(space), 997)
    e, lab = codec.encode(idx, np.random.default_rng(0))
    assert np.array_equal(codec.decode(e, lab), idx)
    rng = np.random.default_rng(1)
    E, L = codec.random_genotypes(400, rng)
    got = codec.decode(E, L)
    for k in range(len(E)):
        try:
            want = space.index_of_spec(_spec_of(int(E[k]), L[k]))
        except OutOfDomainError:
            want = -1
        assert got[k] == want
        assert codec.decode_one(int(E[k]), L[k]) == want


def test_neighbours_match_space(space, codec):
    for i in np.random.default_rng(2).choice(len(space), 25, replace=False):
        assert np.array_equal(codec.neighbours(int(i)), space.neighbours(int(i)))


def test_mutation_is_valid_and_seeded(codec):
    e, lab = codec.encode(np.arange(50), np.random.default_rng(0))
    a = codec.mutate(e, lab, np.random.default_rng(3))
    b = codec.mutate(e, lab, np.random.default_rng(3))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert (a[2] >= 0).all()
    assert np.array_equal(codec.decode(a[0], a[1]), a[2])


def test_codec_labels_of_a_full_cell(codec, space):
    # the notebook's Inception-like cell has 7 vertices: no padding label
    i = space.index_of_hash("28cfc7874f6d200472e1a9dcd8650aa0")
    assert (codec.labels[i] != ABSENT).sum() == 5


# ---------------------------------------------------------------------------- tracks
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
        assert out["validation_accuracy"][0] == real_data_arrays()[
            ("validation_accuracy", e)][cell]
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


# ------------------------------------------------------------------------ optimizers
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


# ---------------------------------------------------------------------- fidelity study
@pytest.fixture(scope="module")
def tiny_surrogate(tmp_path_factory):
    """A minimal artifact: 5-tree XGBoost per target on 300 cells, noise from 300 others."""
    from features import get_featurizer
    from surrogate.artifact import save_artifact
    from surrogate.noise import NoiseModel, estimate_noise
    from surrogate.registry import get_regressor
    from eval.fidelity import track_targets
    arrays = real_data_arrays()
    feat = get_featurizer("adjacency")
    models, noise = {}, {}
    rng = np.random.default_rng(0)
    for target in track_targets("full") + track_targets("multifidelity"):
        metric, epochs = target.split("@")
        y = arrays[(metric, int(epochs))]
        idx = rng.choice(np.flatnonzero(~np.isnan(y)), 600, replace=False)
        fit, held = np.sort(idx[:300]), idx[300:]
        models[target] = get_regressor("xgb", n_estimators=5, max_depth=3,
                                       random_state=0).fit(feat.transform(fit), y[fit])
        noise[target] = estimate_noise(models[target].predict(feat.transform(held)), y[held])
    return save_artifact(tmp_path_factory.mktemp("sur") / "tiny", models=models,
                         featurizer="adjacency", model_name="xgb", noise=NoiseModel(noise))


def test_ranking_statistics():
    from eval.stats import ranking_tau, verdict_agreement
    rng = np.random.default_rng(0)
    # three clearly separated optimizers, 12 seeds, one grid point
    a = {n: (mu + 0.001 * rng.standard_normal(12))[:, None]
         for n, mu in (("x", 0.90), ("y", 0.92), ("z", 0.94))}
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
        return {n: (0.94 + shift + 0.0005 * rng.standard_normal()
                    + 0.001 * rng.standard_normal(seeds))[:, None] for n in ("a", "b")}

    draws = [realization() for _ in range(8)]
    same = draw_consistency(realization(), draws, 0)
    far = draw_consistency(realization(shift=0.01), draws, 0)
    for n in ("a", "b"):
        assert same[n]["draws"] == 8 and 0 <= same[n]["p"] <= 1
        assert far[n]["t"] > 10 and far[n]["p"] < 1e-4
        sd = np.std([d[n].mean() for d in draws], ddof=1)
        assert far[n]["t"] == pytest.approx(
            (far[n]["table"] - far[n]["draws_mean"]) / (sd * np.sqrt(1 + 1 / 8)))
    one = draw_consistency(realization(), draws[:1], 0)
    assert np.isnan(one["a"]["t"]) and np.isnan(one["a"]["p"])


def _strict_json(path):
    def reject(token):
        raise ValueError(f"{path} holds the non-standard JSON token {token}")
    return json.loads(path.read_text(), parse_constant=reject)


def test_fidelity_smoke_and_cache(tmp_path, tiny_surrogate):
    from eval.fidelity import main
    from eval.report import LANDSCAPE_SIX
    out = tmp_path / "fid"
    argv = ["--smoke", "--surrogate", str(tiny_surrogate), "--out", str(out),
            "--seeds", "4", "--budget", "8", "--n-jobs", "2", "--backend", "threading",
            "--no-progress"]
    assert main(argv) == 0
    report = _strict_json(out / "fidelity.json")
    assert report["timing"]["runs_computed"] == report["timing"]["runs_total"] > 0
    assert report["verdict"].startswith("Verdict:")
    for t in ("full", "multifidelity"):
        (study,) = report["tracks"][t]["studies"]
        assert study["protocol"] == "given" and study["name"] == "all cells"
        s = study["surrogates"]["tiny"]
        m = s["mean_of_draws"]
        assert len(m["kendall_tau"]) == len(m["kendall_tau_ci"]) == 3
        for value, (low, high) in zip(m["kendall_tau"], m["kendall_tau_ci"]):
            assert low is None or -1 <= low <= high <= 1
        assert set(m["bias"]) == set(study["optimizers"])
        assert m["sign_test"]["positive"] + m["sign_test"]["negative"] <= len(
            study["optimizers"])
        # two realizations (the smoke setting): every draw, their pairs, plausible draws
        assert s["realizations"] == 2 and len(s["draws"]) == 2
        assert len(s["plausible_draw"]["outside"]) == len(study["grid"])
        assert "kendall_tau" in s["reference_realizations"]
        assert s["training_share"] is None and s["protocol"] == "unknown"
        assert set(LANDSCAPE_SIX) <= set(s["landscape"]["surrogate"])
        assert 0 <= s["landscape"]["inside"] <= 6
        assert "kendall_tau" in study["reference_seed_halves"]
        # where the seeds end: at most one distinct cell per seed, shares in (0, 1]
        for label in ("table", "tiny"):
            for n in study["optimizers"]:
                c = study["final_cells"][label][n]
                assert 1 <= c["distinct"] <= 4 and 0.25 <= c["top_share"] <= 1
                # the table's commonest final cell is named by its hash
                assert ("top_cell" in c) == (label == "table")
                if label == "table":
                    assert len(c["top_cell"]) == 32 and int(c["top_cell"], 16) >= 0
        big = s["largest_contributors"]
        diffs = [abs(study["curves"]["tiny"][n]["mean"][-1]
                     - study["curves"]["table"][n]["mean"][-1]) for n in study["optimizers"]]
        assert abs(big["bias"]["value"]) == pytest.approx(max(diffs))
        assert big["gap"]["value"] == max(m["gap"].values())
        for key in ("bias", "gap"):
            assert big[key]["table_final_cells"] == \
                study["final_cells"]["table"][big[key]["optimizer"]]
        for f in (f"curves_{t}.png", f"ranking_{t}.png", f"landscape_{t}.png"):
            assert (out / f).read_bytes()[:4] == b"\x89PNG"
    markdown = (out / "fidelity.md").read_text()
    assert markdown.startswith("# Algorithm-ranking fidelity\n\nVerdict:")
    assert "| tiny (unknown), mean of 2 draws |" in markdown
    assert ("| tiny final (true) | tiny curve gap (attainable) | final cells, table | "
            "final cells, tiny |") in markdown
    top = study["final_cells"]["table"][study["optimizers"][0]]["top_cell"]
    assert f"on one, {top[:8]})" in markdown
    # rerun: everything from the cache, the same statistics
    assert main(argv) == 0
    again = _strict_json(out / "fidelity.json")
    assert again["timing"]["runs_computed"] == 0
    assert again["tracks"]["full"]["studies"][0]["surrogates"]["tiny"]["mean_of_draws"] == \
        report["tracks"]["full"]["studies"][0]["surrogates"]["tiny"]["mean_of_draws"]
    # a replicate with fresh draws: the table's runs come from the cache, the surrogate's are
    # new (noise_seed 2 and 3), and its statistics differ
    assert main(argv + ["--first-noise-seed", "2"]) == 0
    replicate = _strict_json(out / "fidelity.json")
    assert 0 < replicate["timing"]["runs_computed"] < replicate["timing"]["runs_total"]
    assert (out / "runs" / "full").is_dir() and any(
        p.name.startswith("tiny@noise_seed=3") for p in (out / "runs" / "full").rglob("*"))
    assert replicate["tracks"]["full"]["studies"][0]["surrogates"]["tiny"]["mean_of_draws"] != \
        report["tracks"]["full"]["studies"][0]["surrogates"]["tiny"]["mean_of_draws"]


def test_out_of_sample_protocol(tmp_path):
    """Each fold's surrogate never saw the fold's labels; both backends run on the fold."""
    from eval.fidelity import FidelityConfig, collect, split_folds, track_targets
    from eval.report import build_report
    from surrogate.artifact import load_artifact
    cfg = FidelityConfig(tracks=("multifidelity",), protocol="both", folds=2,
                         split_seeds=(0, 3),
                         optimizers=("random", "hyperband"), seeds=2, budget=4,
                         realizations=1, landscape=False, n_boot=20, n_jobs=1,
                         backend="threading", out=tmp_path / "o",
                         surrogate_recipe={"model_params": {"n_estimators": 5,
                                                            "max_depth": 3}})
    result = collect(cfg)
    folds = [s for s in result.studies if s.protocol == "out-of-sample"]
    inside = [s for s in result.studies if s.protocol == "in-sample"]
    assert [s.name for s in folds] == ["fold 1/2", "fold 2/2", "fold 1/2, split 3",
                                       "fold 2/2, split 3"] and len(inside) == 1
    assert sum(s.cells for s in folds[:2]) == sum(s.cells for s in folds[2:]) == inside[0].cells
    for study in folds:
        assert study.training_share["default"] == 0.0
        assert study.surrogate_protocol["default"] == "out-of-sample"
    assert inside[0].training_share["default"] > 0.5
    from eval.tracks import covered_cells
    from nb101 import TabularBenchmark
    from nb101.real_data import real_table
    covered = covered_cells("multifidelity", TabularBenchmark(real_table()))
    held_out = [f for seed in (0, 3) for f in split_folds(covered, 2, seed)]
    for label, path in result.surrogates.items():
        if "fold" in label:
            art = load_artifact(path)
            assert all(art.in_sample(t) is not None for t in track_targets("multifidelity"))
            # the default recipe's stack: its base never saw the held-out fold's labels either
            assert art.stacked_on["validation_accuracy@108"] == "test_accuracy@108"
            base_cells = art.in_sample("test_accuracy@108")
            assert sum(not base_cells[fold].any() for fold in held_out) == 1
            assert base_cells.sum() > 300_000
    report = build_report(result)
    summary = report["tracks"]["multifidelity"]["over_folds"]["default"]
    assert len(summary["tau@1000"]["per_fold"]) == len(summary["gap_met"]["per_fold"]) == 4
    assert "Over the 4 out-of-sample folds of the multifidelity track" in report["verdict"]
    gaps = summary["gap_by_optimizer"]
    assert set(gaps) == {"random", "hyperband"} and gaps["random"]["attainable"] is None
    assert gaps["random"]["surrogate"] == pytest.approx(np.mean(
        [s["surrogates"]["default"]["mean_of_draws"]["gap"]["random"]
         for s in report["tracks"]["multifidelity"]["studies"]
         if s["protocol"] == "out-of-sample"]))


def test_surrogate_recipe_drops_a_stacking_base_the_table_lacks(tmp_path, space, caplog):
    """A table without 108-epoch test accuracies still gets its study: the recipe's stack is
    dropped, with a warning; a table with them keeps it."""
    from eval.fidelity import FidelityConfig, surrogate_recipe
    from nb101 import write_table
    from nb101.protocol import RUN_FIELDS
    from nb101.real_data import real_table
    cells = np.arange(0, len(space), 211)
    values = {name: np.full(len(cells), np.nan) for name in RUN_FIELDS}
    values["final_validation_accuracy"] = np.linspace(0.8, 0.9, len(cells))
    table = write_table(tmp_path / "no_test.npz", run_cell=cells,
                        run_epochs=np.full(len(cells), 108), run_repeat=np.zeros(len(cells), int),
                        values=values, source={"kind": "test"}, space=space)
    config = FidelityConfig(surrogate_recipe={"model_params": {"n_estimators": 5}})
    with caplog.at_level("WARNING", logger="eval.fidelity"):
        recipe = surrogate_recipe(config, table)
    assert recipe["stack_on"] is None and recipe["model_params"] == {"n_estimators": 5}
    assert "too few test_accuracy@108 labels to stack on" in caplog.text
    assert surrogate_recipe(config, real_table())["stack_on"] == "test_accuracy@108"


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


def test_dask_scheduler_matches_joblib(tmp_path, tiny_surrogate):
    from dask.distributed import LocalCluster
    from eval.fidelity import FidelityConfig, collect
    base = dict(tracks=("multifidelity",), surrogates=(tiny_surrogate,),
                optimizers=("random", "evolution"), seeds=2, budget=5, noise=False,
                landscape=False, n_boot=20)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster:
        dask = collect(FidelityConfig(**base, out=tmp_path / "dask",
                                      scheduler=cluster.scheduler_address))
    joblib = collect(FidelityConfig(**base, out=tmp_path / "joblib", n_jobs=2,
                                    backend="threading"))
    assert dask.timing["runs_computed"] == joblib.timing["runs_computed"] > 0
    for label, curves in joblib.studies[0].curves.items():
        for name, values in curves.items():
            np.testing.assert_array_equal(dask.studies[0].curves[label][name], values)


def test_threading_backend_matches_loky(tmp_path, tiny_surrogate):
    from eval.fidelity import FidelityConfig, collect
    res = {}
    for backend in ("loky", "threading"):
        cfg = FidelityConfig(tracks=("multifidelity",), surrogates=(tiny_surrogate,),
                             optimizers=("random", "hyperband"), seeds=2, budget=5,
                             out=tmp_path / backend, n_jobs=2, backend=backend, noise=False,
                             landscape=False)
        res[backend] = collect(cfg).studies[0].curves
    for label, curves in res["loky"].items():
        for name, values in curves.items():
            np.testing.assert_array_equal(res["threading"][label][name], values)


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, match", [
    ({"optimizers": ("nope",)}, "unknown optimizer 'nope'"),
    ({"tracks": ("fast",)}, "unknown track 'fast'"),
    ({"budget": 0}, "budget must be a positive"),
    ({"budget": -3}, "budget must be a positive"),
    ({"seeds": 0}, "seeds must be a positive"),
    ({"realizations": 0}, "realizations must be a positive"),
    ({"protocol": "sideways"}, "unknown protocol 'sideways'"),
    ({"folds": 1}, "folds must be at least 2"),
    ({"split_seeds": (-1,)}, "split_seeds must be distinct non-negative"),
    ({"split_seeds": (1, 1)}, "split_seeds must be distinct non-negative"),
    ({"split_seeds": ()}, "split_seeds must be distinct non-negative"),
    ({"split_seeds": 2}, "split_seeds must be distinct non-negative"),
    ({"first_noise_seed": -1}, "first_noise_seed must be a non-negative"),
    ({"first_noise_seed": True}, "first_noise_seed must be a non-negative"),
    ({"tracks": ("full",), "optimizers": ("hyperband",)}, "only run on the multifidelity"),
])
def test_bad_options(tmp_path, kwargs, match):
    from eval.fidelity import FidelityConfig, run_fidelity
    cfg = FidelityConfig(**{"out": tmp_path / "o", **kwargs})
    with pytest.raises(EvalConfigError, match=match):
        run_fidelity(cfg)
    assert not (tmp_path / "o").exists()


def test_bad_surrogate_targets(tmp_path):
    from features import get_featurizer
    from surrogate.artifact import save_artifact
    from surrogate.registry import get_regressor
    from eval.fidelity import FidelityConfig, run_fidelity
    idx = np.arange(0, 423624, 2000)
    y = real_data_arrays()[("test_accuracy", 108)][idx]
    model = get_regressor("xgb", n_estimators=2).fit(get_featurizer("adjacency").transform(idx), y)
    art = save_artifact(tmp_path / "only108", models={"test_accuracy@108": model},
                        featurizer="adjacency", model_name="xgb")
    cfg = FidelityConfig(tracks=("multifidelity",), surrogates=(art,), out=tmp_path / "o")
    with pytest.raises(EvalConfigError, match="validation_accuracy@4"):
        run_fidelity(cfg)
    assert not (tmp_path / "o" / "runs").exists()


def test_table_lacking_track_data(tmp_path):
    from eval.tracks import covered_cells
    arrays = dict(real_data_arrays())
    sample_only = {k: v for k, v in arrays.items() if k[0] != "test_accuracy"}
    sample_only[("test_accuracy", 108)] = np.where(
        np.isnan(arrays[("validation_accuracy", 108)]), np.nan, 0.9)
    with pytest.raises(EvalConfigError, match="track 'full' needs"):
        covered_cells("full", ArrayBenchmark(sample_only))
    no_mf = {("test_accuracy", 108): arrays[("test_accuracy", 108)]}
    with pytest.raises(EvalConfigError, match="multifidelity"):
        covered_cells("multifidelity", ArrayBenchmark(no_mf))


def test_cli_rejects_unknown_track(tmp_path):
    from eval.fidelity import config_from_args
    with pytest.raises(EvalConfigError, match="unknown track"):
        config_from_args(["--track", "fast", "--out", str(tmp_path)])


def test_cli_options_reach_the_config(tmp_path):
    from eval.fidelity import config_from_args
    cfg = config_from_args(["--track", "full", "--realizations", "1", "--surrogate-repeats",
                            "3", "--no-noise", "--seeds", "5", "--out", str(tmp_path)])
    assert (cfg.tracks, cfg.realizations, cfg.surrogate_repeats, cfg.noise, cfg.seeds) == \
        (("full",), 1, 3, False, 5)
    default = config_from_args(["--out", str(tmp_path)])
    assert (default.realizations, default.protocol, default.folds, default.scheduler) == \
        (5, "out-of-sample", 3, None)
    cfg = config_from_args(["--protocol", "both", "--scheduler", "tcp://127.0.0.1:1",
                            "--folds", "4", "--out", str(tmp_path)])
    assert (cfg.protocol, cfg.scheduler, cfg.folds) == ("both", "tcp://127.0.0.1:1", 4)


# ------------------------------------------------------------- statistics, landscape
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
    np.testing.assert_allclose(kendall_tau_b(batch, batch[::-1]),
                               [kendalltau(a, b).statistic for a, b in zip(batch, batch[::-1])])


def test_sign_test_and_compare_intervals():
    from eval.report import compare
    from eval.stats import sign_test
    assert sign_test(np.array([0.1] * 7))["p"] == pytest.approx(2 / 2 ** 7)
    assert sign_test(np.array([1, -1, 1, -1, np.nan, 0]))["p"] == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    names = ["a", "b", "c"]
    table = {n: (0.9 + 0.01 * k + 0.002 * rng.standard_normal((20, 4)))
             for k, n in enumerate(names)}
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

    sample = landscape_sample(cells, neighbours, num_starts=n, num_walks=20, walk_length=30,
                              seed=0)
    values = np.arange(n, dtype=float)
    stats = landscape_stats(sample, values, neighbours, n_boot=50)
    assert stats["local_optima"]["value"] == pytest.approx(1 / n)
    assert stats["climb_length"]["value"] == pytest.approx(np.mean(n - 1 - sample.starts))
    assert stats["walk_autocorr_1"]["value"] > 0.5
    assert stats["top1_mean"]["value"] == 9.0
    for s in stats.values():
        assert s["ci_low"] <= s["value"] + 1e-12 and s["value"] <= s["ci_high"] + 1e-12
    shuffled = np.random.default_rng(0).permutation(values)
    assert landscape_stats(sample, shuffled, neighbours)["neighbour_corr"]["value"] < \
        stats["neighbour_corr"]["value"]


def test_attainable_reference_leaves_one_draw_out():
    """Each draw plays the table against the mean of the others: identical draws meet every
    curve target in every case; too few draws give no reference."""
    from eval.report import _attainable
    rng = np.random.default_rng(0)
    names = ["a", "b", "c", "d"]
    grid = 8
    base = {n: np.tile(np.linspace(0.9, 0.94 + 0.001 * i, grid), (5, 1))
            for i, n in enumerate(names)}
    curves = {f"s{k}": base for k in range(4)}
    same = _attainable(curves, list(curves), names, [3, 5, 7])
    assert same["cases"] == 4 and same["met"]["all"] == 1.0
    assert same["mean_gap"] < 1e-12 and same["mean_abs_bias"] < 1e-12
    assert same["kendall_tau"] == [1.0, 1.0, 1.0]
    noisy = {f"s{k}": {n: c + rng.normal(0, 0.01, c.shape) for n, c in base.items()}
             for k in range(4)}
    far = _attainable(noisy, list(noisy), names, [3, 5, 7])
    assert far["met"]["gap"] == 0.0 and far["mean_gap"] > 0.001
    # per optimizer: the mean over cases, whose mean over optimizers is the mean gap
    assert set(far["gap"]) == set(names) and all(same["gap"][n] < 1e-12 for n in names)
    assert np.mean(list(far["gap"].values())) == pytest.approx(far["mean_gap"])
    assert _attainable(curves, ["s0", "s1"], names, [3, 5, 7]) is None


def test_over_folds_gives_the_attainable_reference_per_fold_count():
    """The verdict reads a per-fold count against what an exactly right surrogate would
    reach: the sum of its per-fold rates (folds expected) and their product (every fold)."""
    from eval.report import _over_folds, _verdict

    def fold(k: int, rate: float, met: bool) -> dict:
        stats = {"kendall_tau": [0.6, 0.6, 0.6], "agreement": [0.5, 0.5, 0.5],
                 "mean_bias": 0.0, "mean_gap": 0.0005, "gap": {"a": 0.0005, "b": 0.0005},
                 "sign_test": {"positive": 1, "negative": 1, "p": 1.0}}
        surrogate = {"protocol": "out-of-sample", "training_share": 0.0,
                     "mean_of_draws": stats, "landscape": {"inside": 5},
                     "targets": {"tau": met, "bias": True, "gap": True, "landscape": True,
                                 "all": met},
                     "attainable": {"cases": 5, "met": {"all": rate, "tau": rate, "bias": 1.0,
                                                        "gap": 1.0},
                                    "gap": {"a": 0.0004, "b": 0.0004}}}
        return {"name": f"fold {k}/3", "protocol": "out-of-sample", "optimizers": ["a", "b"],
                "surrogates": {"default": surrogate}}

    studies = [fold(1, 0.2, True), fold(2, 0.4, False), fold(3, 0.6, True)]
    summary = _over_folds(studies)["default"]
    assert summary["attainable_folds"]["expected"] == pytest.approx(1.2)
    assert summary["attainable_folds"]["every_fold"] == pytest.approx(0.048)
    report = {"tracks": {"multifidelity": {"studies": studies,
                                           "over_folds": {"default": summary}}}}
    verdict = _verdict(report)
    assert ("meets every target on 2 (an exactly right surrogate: 40 % of its "
            "leave-one-draw-out cases; 1.2 of 3 folds expected, every fold with probability "
            "4.8 %)") in verdict
    # a fold without a reference (one realization): no expectation is claimed
    studies[1]["surrogates"]["default"].pop("attainable")
    assert "attainable_folds" not in _over_folds(studies)["default"]
