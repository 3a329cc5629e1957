"""Helpers shared by the ``test_eval_*`` files: the real-data skip, a tiny surrogate artifact
and a strict JSON reader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest


def have_real_data() -> bool:
    from nb101.real_data import resolve_data_dir

    try:
        resolve_data_dir()
    except FileNotFoundError:
        return False
    return True


#: The tracks, optimizers and studies run on the real data ($NB101_DATA or ../shared/data).
requires_real_data = pytest.mark.skipif(
    not have_real_data(), reason="real NAS-Bench-101 data folder is absent"
)


def make_tiny_surrogate(folder: Path) -> Path:
    """A minimal artifact in ``folder / "tiny"``: a 5-tree XGBoost per target of both tracks
    on 300 cells, noise from 300 others."""
    from eval._testing import real_data_arrays
    from eval.fidelity import track_targets
    from features import get_featurizer
    from surrogate.artifact import save_artifact
    from surrogate.noise import NoiseModel, estimate_noise
    from surrogate.registry import get_regressor

    arrays = real_data_arrays()
    feat = get_featurizer("adjacency")
    models, noise = {}, {}
    rng = np.random.default_rng(0)
    for target in track_targets("full") + track_targets("multifidelity"):
        metric, epochs = target.split("@")
        y = arrays[(metric, int(epochs))]
        idx = rng.choice(np.flatnonzero(~np.isnan(y)), 600, replace=False)
        fit, held = np.sort(idx[:300]), idx[300:]
        models[target] = get_regressor("xgb", n_estimators=5, max_depth=3, random_state=0).fit(
            feat.transform(fit), y[fit]
        )
        noise[target] = estimate_noise(models[target].predict(feat.transform(held)), y[held])
    return save_artifact(
        Path(folder) / "tiny",
        models=models,
        featurizer="adjacency",
        model_name="xgb",
        noise=NoiseModel(noise),
    )


def strict_json(path: Path):
    """``json.loads`` of ``path`` that rejects NaN and Infinity."""

    def reject(token):
        raise ValueError(f"{path} holds the non-standard JSON token {token}")

    return json.loads(Path(path).read_text(), parse_constant=reject)
