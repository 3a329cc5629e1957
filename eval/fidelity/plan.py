"""What a study runs: the (track, cell set, surrogates) units of the protocol, the folds of
the out-of-sample protocol and the surrogates trained for them (cached by their settings).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nb101.paths import user_path

from ..errors import EvalConfigError
from .config import FRACTION_PROTOCOL, FidelityConfig, check_surrogate, track_targets
from .runs import file_digest

__all__ = [
    "StudyPlan",
    "surrogate_recipe",
    "trained_surrogate",
    "split_folds",
    "plan_studies",
    "noise_seeds",
    "draw_label",
    "sample_label",
    "fraction_of",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StudyPlan:
    """One study to run: a track on one cell set, with its surrogates
    ``(label, artifact, protocol)``."""

    track: str
    name: str
    protocol: str
    cells: np.ndarray
    surrogates: tuple[tuple[str, Path, str], ...]  # (label, artifact, protocol)

    @property
    def slug(self) -> str:
        digest = hashlib.sha1(np.ascontiguousarray(self.cells, dtype=np.int64)).hexdigest()
        return f"{self.name.replace(',', '').replace(' ', '_').replace('/', 'of')}-{digest[:8]}"


#: The recipe's settings that map a target to its value.
PER_TARGET = ("error_share", "target_params")


def surrogate_recipe(config: FidelityConfig, table: Path) -> dict:
    """The ``TrainConfig`` fields of the surrogates the study trains on ``table``: the bundled
    default's recipe updated by ``config.surrogate_recipe`` (``target_params`` per target; a
    recipe with another model or featurizer drops the default's, which are parameters of
    its XGBoost on ``adjacency_compute``). A stacking base the table lacks
    (too few ``test_accuracy@108`` labels, say) is dropped with a warning, so that the study
    runs on any table with the track's data."""
    from nb101.table_file import load_table
    from surrogate.train import DEFAULT_RECIPE, available_targets

    given = config.surrogate_recipe or {}
    recipe = {**DEFAULT_RECIPE, **given}
    # per target; the default's are parameters of its model on its features
    same_model = all(recipe[k] == DEFAULT_RECIPE[k] for k in ("model", "features"))
    recipe["target_params"] = {
        **(DEFAULT_RECIPE["target_params"] if same_model else {}),
        **given.get("target_params", {}),
    }
    base = recipe.get("stack_on")
    if base is not None and base not in available_targets(load_table(table)):
        _log.warning(
            "table %s has too few %s labels to stack on: its surrogates are trained "
            "without stacking",
            table,
            base,
        )
        recipe["stack_on"] = None
    return recipe


def trained_surrogate(
    config: FidelityConfig,
    recipe: dict,
    table: Path,
    out: Path,
    label: str,
    targets: list[str],
    train_size: int | float | None = None,
    exclude: np.ndarray | None = None,
    seed: int = 0,
) -> Path:
    """A surrogate of ``recipe`` (:func:`surrogate_recipe`) trained with ``seed``, cached by
    its settings in ``out/surrogates``; the recipe's per-target settings (``error_share``,
    ``target_params``) of targets the track does not train are left out."""
    from surrogate.train import TrainConfig, train

    recipe = {
        **recipe,
        **{
            key: {t: v for t, v in recipe[key].items() if t in targets}
            for key in PER_TARGET
            if recipe.get(key)
        },
    }
    excluded = (
        None
        if exclude is None
        else hashlib.sha1(np.ascontiguousarray(exclude, dtype=np.int64)).hexdigest()
    )
    settings = [targets, train_size, recipe, file_digest(table), excluded]
    if seed:  # seed 0 keeps the tag of the studies that had no seed
        settings.append(int(seed))
    tag = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
    folder = out / "surrogates" / f"{label}-{tag}"
    cached = (folder / "metadata.json").exists()
    stale = _stale_because(folder) if cached else None
    if stale:
        _log.warning("retraining the cached surrogate %s: %s", folder, stale)
    if stale or not cached:
        _log.info("training surrogate %s into %s", label, folder)
        train(
            TrainConfig(
                table=table,
                targets=targets,
                train_size=train_size,
                seed=int(seed),
                out=folder,
                progress=config.progress,
                exclude_cells=exclude,
                **recipe,
            )
        )
    return folder


def _stale_because(folder: Path) -> str | None:
    """Why the cached surrogate in ``folder`` is not what this installation would train
    (another package or numeric library version, or an unreadable artifact), or None. The cache tag
    holds the settings only; the code and libraries that train are checked here, so that a
    study resumed after an upgrade does not mix old surrogates with new runs. Within one
    version (a development checkout) a change to the training code needs a fresh ``--out``."""
    from nb101.errors import ArtifactError
    from surrogate.artifact import library_versions, package_version, read_metadata

    try:
        meta = read_metadata(folder)
    except ArtifactError as err:
        return str(err)
    now = {"package": package_version(), **library_versions()}
    then = {"package": meta.get("package_version"), **meta.get("libraries", {})}
    changed = [f"{k} {then.get(k)} -> {v}" for k, v in now.items() if then.get(k) != v]
    return f"trained with other versions ({', '.join(changed)})" if changed else None


def split_folds(cells: np.ndarray, folds: int, split_seed: int = 0) -> list[np.ndarray]:
    """The out-of-sample protocol's folds: ``cells`` permuted by ``split_seed``, cut into
    ``folds`` parts of (nearly) equal size, each sorted."""
    order = np.random.default_rng(int(split_seed)).permutation(np.asarray(cells, np.int64))
    return [np.sort(f) for f in np.array_split(order, int(folds))]


def plan_studies(
    config: FidelityConfig, tracks: list[str], table: Path, out: Path, cells: dict[str, np.ndarray]
) -> list[StudyPlan]:
    """The (track, cell set, surrogates) units the protocol asks for."""
    protocols = ("out-of-sample", "in-sample") if config.protocol == "both" else (config.protocol,)
    studies = []
    recipe = None if config.surrogates else surrogate_recipe(config, table)
    for t in tracks:
        targets = list(track_targets(t))
        if config.surrogates:
            given = []
            for p in config.surrogates:
                p = user_path(p)
                if not p.exists():
                    raise EvalConfigError(f"surrogate: {p} does not exist")
                check_surrogate(p, [t])
                given.append((p.name, p, "given"))
            studies.append(StudyPlan(t, "all cells", "given", cells[t], tuple(given)))
            continue
        if t == "full":
            chosen = []
            for fraction, size in config.surrogate_fractions.items():
                protocol = FRACTION_PROTOCOL.get(fraction, "out-of-sample")
                if protocol not in protocols:
                    continue
                # the in-sample surrogate (no train_size) fits every cell: one sample only
                for seed in config.sample_seeds if size is not None else (0,):
                    label = sample_label(fraction, seed)
                    path = trained_surrogate(
                        config, recipe, table, out, label, targets, size, seed=seed
                    )
                    chosen.append((label, path, protocol))
            if chosen:
                studies.append(StudyPlan(t, "all cells", "mixed", cells[t], tuple(chosen)))
            continue
        if "out-of-sample" in protocols:
            for seed in config.split_seeds:
                folds = split_folds(cells[t], config.folds, seed)
                split = f", split {seed}" if seed else ""
                for i, fold in enumerate(folds):
                    path = trained_surrogate(
                        config,
                        recipe,
                        table,
                        out,
                        f"fold{i + 1}of{len(folds)}",
                        targets,
                        exclude=fold,
                    )
                    studies.append(
                        StudyPlan(
                            t,
                            f"fold {i + 1}/{len(folds)}{split}",
                            "out-of-sample",
                            fold,
                            (("default", path, "out-of-sample"),),
                        )
                    )
        if "in-sample" in protocols:
            path = trained_surrogate(config, recipe, table, out, "in-sample", targets)
            studies.append(
                StudyPlan(t, "in-sample", "in-sample", cells[t], (("default", path, "in-sample"),))
            )
    return studies


def noise_seeds(config: FidelityConfig) -> range:
    """The ``noise_seed`` of each draw of a surrogate (one draw, seed 0, without noise)."""
    if not config.noise:
        return range(1)
    return range(
        int(config.first_noise_seed), int(config.first_noise_seed) + int(config.realizations)
    )


def sample_label(label: str, sample_seed: int) -> str:
    """The label of a full-track surrogate trained with ``sample_seed`` (seed 0 keeps the
    fraction's label)."""
    return label if sample_seed == 0 else f"{label}-sample{sample_seed}"


def fraction_of(label: str) -> str:
    """The fraction label of a full-track surrogate label (inverse of :func:`sample_label`)."""
    return label.split("-sample", 1)[0]


def draw_label(label: str, noise_seed: int) -> str:
    return label if noise_seed == 0 else f"{label}@noise_seed={noise_seed}"
