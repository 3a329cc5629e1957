"""Every JSON file the project writes parses with a strict parser (no NaN or Infinity
tokens, which jq and browsers reject): artifacts, saved models, predictor and fidelity
reports (the fidelity and predictor reports are parsed strictly in tests/eval/ and
tests/eval/test_predictors.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from features import get_featurizer
from nb101 import get_space
from nb101.io import write_json
from surrogate.artifact import save_artifact
from surrogate.noise import NoiseModel, estimate_noise
from surrogate.registry import get_regressor


def strict_load(path: Path):
    def reject(token: str):
        raise ValueError(f"{path} holds the non-standard JSON token {token}")

    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject)


def test_write_json_turns_non_finite_numbers_into_null(tmp_path):
    path = write_json(
        tmp_path / "x.json",
        {
            "a": float("nan"),
            "b": [np.inf, -np.inf, 1.5],
            "c": np.float32("nan"),
            "d": np.array([np.nan]),
        },
    )
    assert strict_load(path) == {"a": None, "b": [None, None, 1.5], "c": None, "d": [None]}


def test_artifact_files_are_strict_json(tmp_path):
    space = get_space()
    cells = np.arange(0, len(space), 1000)
    rng = np.random.default_rng(0)
    y = rng.uniform(0.8, 0.95, len(cells))
    X = get_featurizer("adjacency").transform(cells)
    models = {
        "test_accuracy@108": get_regressor("xgb", n_estimators=3).fit(X, y),
        "validation_accuracy@108": get_regressor(
            "ensemble", base=get_regressor("xgb", n_estimators=2), n_members=2
        ).fit(X, y),
    }
    noise = NoiseModel({t: estimate_noise(m.predict(X), y) for t, m in models.items()})
    path = save_artifact(
        tmp_path / "art",
        models=models,
        featurizer="adjacency",
        model_name="xgb",
        noise=noise,
        targets_info={t: {"metrics": {"r2": float("nan")}} for t in models},
    )
    files = sorted(path.rglob("*.json"))
    assert len(files) >= 5  # artifact + noise + one per model + the ensemble's members
    for file in files:
        strict_load(file)
    assert (
        strict_load(path / "metadata.json")["target_info"]["test_accuracy@108"]["metrics"]["r2"]
        is None
    )
