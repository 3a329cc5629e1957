"""Tests of eval.fidelity: the study (smoke), its cache, protocols, executors, command line
and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from _eval import make_tiny_surrogate, requires_real_data, strict_json

from eval._testing import real_data_arrays
from eval.errors import EvalConfigError

pytestmark = requires_real_data


@pytest.fixture(scope="module")
def tiny_surrogate(tmp_path_factory):
    return make_tiny_surrogate(tmp_path_factory.mktemp("sur"))


def test_fidelity_smoke_and_cache(tmp_path, tiny_surrogate):
    from eval.fidelity import main
    from eval.fidelity.report import LANDSCAPE_SIX

    out = tmp_path / "fid"
    argv = [
        "--smoke",
        "--surrogate",
        str(tiny_surrogate),
        "--out",
        str(out),
        "--seeds",
        "4",
        "--budget",
        "8",
        "--n-jobs",
        "2",
        "--joblib-backend",
        "threading",
        "--no-progress",
    ]
    assert main(argv) == 0
    report = strict_json(out / "fidelity.json")
    assert report["timing"]["runs_computed"] == report["timing"]["runs_total"] > 0
    verdict = report["verdict"]
    assert verdict.startswith("Verdict:")
    # a smoke run says so, states the budgets it used, and comes in short lines
    assert "Smoke run (--smoke: 4 seeds, a budget of 8 full trainings, 2 realizations" in verdict
    rb = report["tracks"]["full"]["studies"][0]["rank_budgets"]
    assert rb[-1] == pytest.approx(8.0)
    assert f"tau >= 0.5 at {rb[1]:.2g} and 8 full trainings;" in verdict
    assert "1,000" not in verdict and "316" not in verdict
    assert f"  - tau@{rb[1]:.2g}/8: " in verdict
    assert max(len(line) for line in verdict.splitlines()) <= 110
    assert verdict.count("\n- ") >= 2
    for t in ("full", "multifidelity"):
        (study,) = report["tracks"][t]["studies"]
        assert study["protocol"] == "given" and study["name"] == "all cells"
        s = study["surrogates"]["tiny"]
        m = s["mean_of_draws"]
        assert len(m["kendall_tau"]) == len(m["kendall_tau_ci"]) == 3
        for low, high in m["kendall_tau_ci"]:
            assert low is None or -1 <= low <= high <= 1
        assert set(m["bias"]) == set(study["optimizers"])
        assert m["sign_test"]["positive"] + m["sign_test"]["negative"] <= len(study["optimizers"])
        # two realizations (the smoke setting): every draw, their pairs, plausible draws
        assert s["realizations"] == 2 and len(s["draws"]) == 2
        assert len(s["plausible_draw"]["outside"]) == len(study["grid"])
        assert "kendall_tau" in s["reference_realizations"]
        assert s["training_share"] is None and s["protocol"] == "unknown"
        assert set(LANDSCAPE_SIX) <= set(s["landscape"]["surrogate"])
        assert 0 <= s["landscape"]["inside"] <= 6
        assert "kendall_tau" in study["reference_seed_halves"]
        # the top's structure: final cells against the draws' range, the top's landscape
        from eval.top_structure import TOP_STATS

        plausible = s["final_cells_plausible"]
        assert set(plausible["optimizers"]) == set(study["optimizers"])
        assert 0 <= plausible["inside"] <= plausible["of"] == len(study["optimizers"])
        assert set(s["top_structure"]["surrogate"]) == set(TOP_STATS)
        assert len(s["top_structure"]["surrogate"]["climb_success_top01"]["draws"]) == 2
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
        diffs = [
            abs(study["curves"]["tiny"][n]["mean"][-1] - study["curves"]["table"][n]["mean"][-1])
            for n in study["optimizers"]
        ]
        assert abs(big["bias"]["value"]) == pytest.approx(max(diffs))
        assert big["gap"]["value"] == max(m["gap"].values())
        for key in ("bias", "gap"):
            assert (
                big[key]["table_final_cells"]
                == study["final_cells"]["table"][big[key]["optimizer"]]
            )
        for f in (f"curves_{t}.png", f"ranking_{t}.png", f"landscape_{t}.png"):
            assert (out / f).read_bytes()[:4] == b"\x89PNG"
    markdown = (out / "fidelity.md").read_text()
    assert markdown.startswith("# Algorithm-ranking fidelity\n\nVerdict:")
    assert "| tiny (unknown), mean of 2 draws |" in markdown
    assert (
        "| tiny final (true) | tiny curve gap (attainable) | final cells, table | "
        "final cells, tiny |"
    ) in markdown
    assert "Top of the landscape (tiny; best 1 % = top1, 0.1 % = top01)" in markdown
    assert "final cells: the table a plausible draw of the surrogate's for" in verdict
    top = study["final_cells"]["table"][study["optimizers"][0]]["top_cell"]
    assert f"on one, {top[:8]})" in markdown
    # rerun: everything from the cache, the same statistics
    assert main(argv) == 0
    again = strict_json(out / "fidelity.json")
    assert again["timing"]["runs_computed"] == 0
    assert (
        again["tracks"]["full"]["studies"][0]["surrogates"]["tiny"]["mean_of_draws"]
        == report["tracks"]["full"]["studies"][0]["surrogates"]["tiny"]["mean_of_draws"]
    )
    # a replicate with fresh draws: the table's runs come from the cache, the surrogate's are
    # new (noise_seed 2 and 3), and its statistics differ
    assert main(argv + ["--first-noise-seed", "2"]) == 0
    replicate = strict_json(out / "fidelity.json")
    assert 0 < replicate["timing"]["runs_computed"] < replicate["timing"]["runs_total"]
    assert (out / "runs" / "full").is_dir() and any(
        p.name.startswith("tiny@noise_seed=3") for p in (out / "runs" / "full").rglob("*")
    )
    assert (
        replicate["tracks"]["full"]["studies"][0]["surrogates"]["tiny"]["mean_of_draws"]
        != report["tracks"]["full"]["studies"][0]["surrogates"]["tiny"]["mean_of_draws"]
    )


def _small_study(tmp_path, **settings):
    """A study small enough for a test: 2 seeds, a budget of 4, tiny trained surrogates, no
    landscape, one thread; ``settings`` say the rest (``surrogate_recipe``: over the tiny
    one)."""
    from eval.fidelity import FidelityConfig

    recipe = {"model_params": {"n_estimators": 5, "max_depth": 3}}
    recipe.update(settings.pop("surrogate_recipe", {}))
    return FidelityConfig(
        seeds=2,
        budget=4,
        landscape=False,
        n_boot=20,
        n_jobs=1,
        joblib_backend="threading",
        out=tmp_path / "o",
        surrogate_recipe=recipe,
        **settings,
    )


def test_out_of_sample_protocol(tmp_path):
    """Each fold's surrogate never saw the fold's labels; both backends run on the fold."""
    from eval.fidelity import collect, split_folds, track_targets
    from eval.fidelity.report import build_report
    from surrogate.artifact import load_artifact

    cfg = _small_study(
        tmp_path,
        tracks=("multifidelity",),
        protocol="both",
        folds=2,
        split_seeds=(0, 3),
        optimizers=("random", "hyperband"),
        realizations=1,
    )
    result = collect(cfg)
    folds = [s for s in result.studies if s.protocol == "out-of-sample"]
    inside = [s for s in result.studies if s.protocol == "in-sample"]
    assert [s.name for s in folds] == [
        "fold 1/2",
        "fold 2/2",
        "fold 1/2, split 3",
        "fold 2/2, split 3",
    ] and len(inside) == 1
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
    # keyed by the ranking budgets used (full trainings), not the default experiment's
    assert "tau@1000" not in summary and "agreement@4" in summary
    assert len(summary["tau@4"]["per_fold"]) == len(summary["gap_met"]["per_fold"]) == 4
    assert "Smoke run" not in report["verdict"]
    assert "at 1.3 and 4 full trainings" in report["verdict"]
    assert "Over the 4 out-of-sample folds of the multifidelity track" in report["verdict"]
    gaps = summary["gap_by_optimizer"]
    assert set(gaps) == {"random", "hyperband"} and gaps["random"]["attainable"] is None
    assert gaps["random"]["surrogate"] == pytest.approx(
        np.mean(
            [
                s["surrogates"]["default"]["mean_of_draws"]["gap"]["random"]
                for s in report["tracks"]["multifidelity"]["studies"]
                if s["protocol"] == "out-of-sample"
            ]
        )
    )


def test_full_track_over_training_samples(tmp_path):
    """--sample-seeds trains one surrogate per fraction and seed, each on its own sample, and
    the report summarises each fraction over its samples. The recipe's settings of targets
    the track does not train (a validation accuracy's rule-5 share) are left out."""
    from eval.fidelity import collect
    from eval.fidelity.report import build_report
    from surrogate.artifact import load_artifact

    cfg = _small_study(
        tmp_path,
        tracks=("full",),
        surrogate_fractions={"1pct": 0.01},
        sample_seeds=(0, 2),
        optimizers=("random",),
        realizations=2,
        surrogate_recipe={"error_share": {"validation_accuracy@108": 0.4}, "top_location": True},
    )
    result = collect(cfg)
    (study,) = result.studies
    labels = list(study.draws)
    assert labels == ["1pct", "1pct-sample2"]
    artifacts = [load_artifact(result.surrogates[f"full/all cells/{x}"]) for x in labels]
    samples = [a.in_sample("test_accuracy@108") for a in artifacts]
    # noise rule 1b from the recipe
    assert all(a.noise.targets["test_accuracy@108"].top_location is not None for a in artifacts)
    assert [int(s.sum()) for s in samples] == [4236, 4236]
    assert (samples[0] & samples[1]).sum() < 200  # two independent 1 % samples
    report = build_report(result)
    over = report["tracks"]["full"]["over_samples"]
    assert list(over) == ["1pct"] and over["1pct"]["samples"] == labels
    biases = [report["tracks"]["full"]["studies"][0]["surrogates"][x] for x in labels]
    assert over["1pct"]["mean_bias"]["per_fold"] == [
        b["mean_of_draws"]["mean_bias"] for b in biases
    ]
    assert "Over the 2 training samples of the full track, surrogate 1pct" in report["verdict"]
    assert report["tracks"]["full"]["over_folds"] == {}


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
    table = write_table(
        tmp_path / "no_test.npz",
        run_cell=cells,
        run_epochs=np.full(len(cells), 108),
        run_repeat=np.zeros(len(cells), int),
        values=values,
        source={"kind": "test"},
        space=space,
    )
    config = FidelityConfig(surrogate_recipe={"model_params": {"n_estimators": 5}})
    with caplog.at_level("WARNING", logger="eval.fidelity"):
        recipe = surrogate_recipe(config, table)
    assert recipe["stack_on"] is None and recipe["model_params"] == {"n_estimators": 5}
    assert "too few test_accuracy@108 labels to stack on" in caplog.text
    assert surrogate_recipe(config, real_table())["stack_on"] == "test_accuracy@108"


def test_surrogate_recipe_target_params(tmp_path, space):
    """The default recipe's time model is kept beside a given target's parameters, replaced
    for a given time model, and dropped with another model or featurizer."""
    from eval.fidelity import FidelityConfig, surrogate_recipe
    from nb101.real_data import real_table
    from surrogate.train import DEFAULT_RECIPE

    time = DEFAULT_RECIPE["target_params"]["training_time@108"]
    assert time == {"trend": "compute_cost", "clip_quantile": None}

    def params(**recipe):
        return surrogate_recipe(FidelityConfig(surrogate_recipe=recipe), real_table())[
            "target_params"
        ]

    assert params() == {"training_time@108": time}
    given = {"validation_accuracy@108": {"max_depth": 8}}
    assert params(target_params=given) == {"training_time@108": time, **given}
    assert params(target_params={"training_time@108": {}}) == {"training_time@108": {}}
    assert params(model="rf") == params(features="path") == {}
    assert params(model="rf", target_params=given) == given


def test_cached_surrogate_retrained_after_an_upgrade(tmp_path, caplog):
    """A study's cached surrogate is reused while the package and numeric libraries that
    trained it are the installed ones, and retrained (with a warning naming the change) when
    they are not, or when the cached folder is no readable artifact."""
    import json

    from eval.fidelity import FidelityConfig
    from eval.fidelity.plan import trained_surrogate
    from nb101.real_data import real_table
    from surrogate.artifact import library_versions, package_version, read_metadata

    recipe = {"features": "adjacency", "model": "xgb", "model_params": {"n_estimators": 5}}

    def train():
        return trained_surrogate(
            FidelityConfig(progress=False),
            recipe,
            real_table(),
            tmp_path,
            "tiny",
            ["test_accuracy@108"],
            train_size=300,
        )

    folder = train()
    meta = read_metadata(folder)
    assert meta["package_version"] == package_version()
    assert meta["libraries"] == library_versions() and meta["libraries"]["xgboost"]
    made = (folder / "metadata.json").stat().st_mtime_ns
    with caplog.at_level("WARNING", logger="eval.fidelity"):
        assert train() == folder
    assert (folder / "metadata.json").stat().st_mtime_ns == made and not caplog.text

    meta["libraries"]["xgboost"] = "0.1"
    (folder / "metadata.json").write_text(json.dumps(meta))
    with caplog.at_level("WARNING", logger="eval.fidelity"):
        assert train() == folder
    assert f"xgboost 0.1 -> {library_versions()['xgboost']}" in caplog.text
    assert read_metadata(folder)["libraries"] == library_versions()

    caplog.clear()
    (folder / "metadata.json").write_text("{")
    with caplog.at_level("WARNING", logger="eval.fidelity"):
        train()
    assert "retraining the cached surrogate" in caplog.text
    assert read_metadata(folder)["package_version"] == package_version()


def test_dask_scheduler_matches_joblib(tmp_path, tiny_surrogate):
    from dask.distributed import LocalCluster

    from eval.fidelity import FidelityConfig, collect

    base = dict(
        tracks=("multifidelity",),
        surrogates=(tiny_surrogate,),
        optimizers=("random", "evolution"),
        seeds=2,
        budget=5,
        noise=False,
        landscape=False,
        n_boot=20,
    )
    with LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        dask = collect(
            FidelityConfig(**base, out=tmp_path / "dask", scheduler=cluster.scheduler_address)
        )
    joblib = collect(
        FidelityConfig(**base, out=tmp_path / "joblib", n_jobs=2, joblib_backend="threading")
    )
    assert dask.timing["runs_computed"] == joblib.timing["runs_computed"] > 0
    for label, curves in joblib.studies[0].curves.items():
        for name, values in curves.items():
            np.testing.assert_array_equal(dask.studies[0].curves[label][name], values)


def test_threading_backend_matches_loky(tmp_path, tiny_surrogate):
    from eval.fidelity import FidelityConfig, collect

    res = {}
    for backend in ("loky", "threading"):
        cfg = FidelityConfig(
            tracks=("multifidelity",),
            surrogates=(tiny_surrogate,),
            optimizers=("random", "hyperband"),
            seeds=2,
            budget=5,
            out=tmp_path / backend,
            n_jobs=2,
            joblib_backend=backend,
            noise=False,
            landscape=False,
        )
        res[backend] = collect(cfg).studies[0].curves
    for label, curves in res["loky"].items():
        for name, values in curves.items():
            np.testing.assert_array_equal(res["threading"][label][name], values)


@pytest.mark.parametrize(
    "kwargs, match",
    [
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
        ({"sample_seeds": (0, 0)}, "sample_seeds must be distinct non-negative"),
        ({"sample_seeds": (True,)}, "sample_seeds must be distinct non-negative"),
        ({"first_noise_seed": -1}, "first_noise_seed must be a non-negative"),
        ({"first_noise_seed": True}, "first_noise_seed must be a non-negative"),
        ({"tracks": ("full",), "optimizers": ("hyperband",)}, "only run on the multifidelity"),
    ],
)
def test_bad_options(tmp_path, kwargs, match):
    from eval.fidelity import FidelityConfig, run_fidelity

    cfg = FidelityConfig(**{"out": tmp_path / "o", **kwargs})
    with pytest.raises(EvalConfigError, match=match):
        run_fidelity(cfg)
    assert not (tmp_path / "o").exists()


def test_bad_surrogate_targets(tmp_path):
    from eval.fidelity import FidelityConfig, run_fidelity
    from features import get_featurizer
    from surrogate.artifact import save_artifact
    from surrogate.registry import get_regressor

    idx = np.arange(0, 423624, 2000)
    y = real_data_arrays()[("test_accuracy", 108)][idx]
    model = get_regressor("xgb", n_estimators=2).fit(get_featurizer("adjacency").transform(idx), y)
    art = save_artifact(
        tmp_path / "only108",
        models={"test_accuracy@108": model},
        featurizer="adjacency",
        model_name="xgb",
    )
    cfg = FidelityConfig(tracks=("multifidelity",), surrogates=(art,), out=tmp_path / "o")
    with pytest.raises(EvalConfigError, match="validation_accuracy@4"):
        run_fidelity(cfg)
    assert not (tmp_path / "o" / "runs").exists()


def test_cli_rejects_unknown_track(tmp_path):
    from eval.fidelity import config_from_args

    with pytest.raises(EvalConfigError, match="unknown track"):
        config_from_args(["--track", "fast", "--out", str(tmp_path)])


def test_cli_error_share_reaches_the_recipe(tmp_path, capsys):
    from eval.fidelity import config_from_args

    args = ["--error-share", "validation_accuracy@108=0.4", "validation_accuracy@36=0"]
    cfg = config_from_args([*args, "--out", str(tmp_path)])
    assert cfg.surrogate_recipe == {
        "error_share": {"validation_accuracy@108": 0.4, "validation_accuracy@36": 0.0}
    }
    smoke = config_from_args(["--smoke", *args[:2], "--out", str(tmp_path)])
    assert smoke.surrogate_recipe["error_share"] == {"validation_accuracy@108": 0.4}
    assert "model_params" in smoke.surrogate_recipe  # the smoke recipe is kept
    assert config_from_args(["--out", str(tmp_path)]).surrogate_recipe is None
    for bad, says in (
        ("validation_accuracy@108", "TARGET=SHARE"),
        ("=0.3", "TARGET=SHARE"),
        ("validation_accuracy@108=1.5", "validation_accuracy@108 must be a number in"),
        ("validation_accuracy@108=x", "x"),
    ):
        with pytest.raises(SystemExit):
            config_from_args(["--error-share", bad, "--out", str(tmp_path)])
        assert says in capsys.readouterr().err


def test_cli_target_params_reach_the_recipe(tmp_path, capsys):
    from eval.fidelity import config_from_args

    item = 'training_time@108={"trend": "compute_cost", "clip_quantile": null}'
    cfg = config_from_args(
        [
            "--target-params",
            item,
            "--error-share",
            "validation_accuracy@108=0.4",
            "--top-location",
            "--out",
            str(tmp_path),
        ]
    )
    assert cfg.surrogate_recipe == {
        "error_share": {"validation_accuracy@108": 0.4},
        "top_location": True,
        "target_params": {"training_time@108": {"trend": "compute_cost", "clip_quantile": None}},
    }
    for bad, says in (
        ('{"trend": "compute_cost"}', "TARGET=JSON"),
        ("training_time@108=[1]", "the parameters of training_time@108 must be a JSON object"),
        ("training_time@108={trend", "Expecting property name"),
        ("time@108={}", "time"),
    ):
        with pytest.raises(SystemExit):
            config_from_args(["--target-params", bad, "--out", str(tmp_path)])
        assert says in capsys.readouterr().err


def test_cli_options_reach_the_config(tmp_path):
    from eval.fidelity import config_from_args

    cfg = config_from_args(
        [
            "--track",
            "full",
            "--realizations",
            "1",
            "--surrogate-repeats",
            "3",
            "--no-noise",
            "--seeds",
            "5",
            "--out",
            str(tmp_path),
        ]
    )
    assert (cfg.tracks, cfg.realizations, cfg.surrogate_repeats, cfg.noise, cfg.seeds) == (
        ("full",),
        1,
        3,
        False,
        5,
    )
    default = config_from_args(["--out", str(tmp_path)])
    assert (default.realizations, default.protocol, default.folds, default.scheduler) == (
        5,
        "out-of-sample",
        3,
        None,
    )
    cfg = config_from_args(
        [
            "--protocol",
            "both",
            "--scheduler",
            "tcp://127.0.0.1:1",
            "--folds",
            "4",
            "--out",
            str(tmp_path),
        ]
    )
    assert (cfg.protocol, cfg.scheduler, cfg.folds) == ("both", "tcp://127.0.0.1:1", 4)
    assert not cfg.smoke and config_from_args(["--smoke", "--out", str(tmp_path)]).smoke
    assert default.surrogate_fractions == {"all": None, "10pct": 0.1, "1pct": 0.01}
    cfg = config_from_args(["--track", "full", "--fractions", "10pct", "--out", str(tmp_path)])
    assert cfg.surrogate_fractions == {"10pct": 0.1}
    assert default.sample_seeds == (0,)
    cfg = config_from_args(["--sample-seeds", "0", "3", "--out", str(tmp_path)])
    assert cfg.sample_seeds == (0, 3)
    with pytest.raises(SystemExit):
        config_from_args(["--fractions", "5pct", "--out", str(tmp_path)])


def test_over_samples_groups_only_trained_fractions():
    """Given artifacts whose names look like samples are not summarised as samples."""
    from eval.fidelity.report.summary import over_samples

    given = {"protocol": "given", "surrogates": {"a": {}, "a-sample1": {}}}
    assert over_samples([given]) == {}
