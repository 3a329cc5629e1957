"""The noise of every target of an artifact (:class:`NoiseModel`), and rule 6's members.

**Rule 6: one ensemble member per realization.** An artifact trained with
``TrainConfig(members=M)`` holds, per target, ``M`` models fitted on bootstrap resamples of the
training cells (:class:`surrogate.EnsembleModel`); its mean is the prediction. A noisy
surrogate with ``noise_seed=k`` answers around member ``k mod M`` instead of the mean
(NAS-Bench-301's way of carrying model uncertainty into the runs), and rule 4 maps each
member through its own reference draw (``simulated`` has one row per member). Where the model
has not seen a cell, the members disagree, so the realizations disagree about it as much as
the model is unsure, and a study that averages over realizations averages over plausible
models, not over one model's errors. Rules 1-2 come from the mean's held-out residuals, as for
a single model. An option, off by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .target import TargetNoise, clip_to_range, unmapped_run
from .transfer import Transfer

__all__ = ["NoiseModel"]


class NoiseModel:
    """Noise of every target of an artifact (see :mod:`surrogate.noise`).

    Parameters
    ----------
    targets : mapping of target name to :class:`TargetNoise`
    """

    def __init__(self, targets: Mapping[str, TargetNoise]):
        self.targets = dict(targets)
        # (target, member) -> (the knots it was built from, rule 4's map): built on first use
        self._transfers: dict[tuple[str, int], tuple[np.ndarray, Transfer]] = {}

    def __contains__(self, target: str) -> bool:
        return target in self.targets

    def has_marginal(self, target: str) -> bool:
        """Whether ``target``'s simulated runs are mapped onto the labels' marginal."""
        return target in self.targets and self.targets[target].simulated is not None

    def perturb(
        self,
        target: str,
        mean: np.ndarray,
        u: np.ndarray,
        u_cell: np.ndarray | None = None,
        member: int | None = None,
    ) -> np.ndarray:
        """One run of ``target`` around the predicted ``mean`` at uniform levels ``u`` (rules
        1-5; ``u_cell``: the per-cell model-error levels, NaN for cells in the training set);
        ``member``: the ensemble member ``mean`` comes from (rule 6; None: the mean of the
        members). Targets without a noise entry come back unchanged."""
        if target not in self.targets:
            return mean
        noise = self.targets[target]
        value = unmapped_run(target, noise, mean, u, u_cell)
        if noise.simulated is not None:
            # the map can reach beyond the run's range through the tail fit
            mapped = self._transfer(target, noise, member)(value)  # a new array
            value = clip_to_range(target, mapped, out=mapped)
        return value

    def _transfer(self, target: str, noise: TargetNoise, member: int | None) -> Transfer:
        """Rule 4's map of ``target`` (of ``member``'s runs, rule 6), built once."""
        simulated = noise.simulated
        row = 0
        if simulated.ndim == 2:
            if member is None:
                raise ValueError(
                    f"target {target!r} maps the runs of each of its "
                    f"{len(simulated)} ensemble members; say which member"
                )
            row = member % len(simulated)
        cached = self._transfers.get((target, row))
        if cached is None or cached[0] is not simulated:  # rebuilt where the knots changed
            knots = simulated[row] if simulated.ndim == 2 else simulated
            cached = self._transfers[(target, row)] = (simulated, Transfer(knots, noise.marginal))
        return cached[1]

    def has_model_error(self, target: str) -> bool:
        """Whether ``target`` adds the out-of-sample model error (rule 5)."""
        return target in self.targets and self.targets[target].model_error

    def to_dict(self) -> dict[str, Any]:
        # the version of the newest rule any target uses
        targets = self.targets.values()
        used = {
            2: any(n.marginal is not None for n in targets),  # rule 4: the labels' marginal
            3: any(n.model_error for n in targets),  # rule 5: the model error
            4: any(n.members > 1 for n in targets),  # rule 6: one transfer per member
            5: any(n.error_share is not None for n in targets),  # rule 5 with a given share
            6: any(n.top_location is not None for n in targets),  # rule 1b
        }
        version = max((v for v, on in used.items() if on), default=1)
        return {
            "rule": f"empirical-residual-quantiles-by-prediction-bin/v{version}",
            "targets": {t: n.to_dict() for t, n in self.targets.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NoiseModel:
        return cls({t: TargetNoise.from_dict(d) for t, d in data["targets"].items()})
