"""Run-to-run noise of the surrogate: draw one plausible training run around the predicted mean.

The table answers a query with one of a cell's (noisy) training runs; a surrogate predicts the
mean over runs. With ``SurrogateBenchmark(..., noise=True)`` a query adds a draw of this model
to each predicted mean, so the surrogate behaves like the table; ``noise=False`` returns the
mean (deterministic).

The rule (per target, estimated by :func:`estimate_noise` at training time):

1. **Shape: empirical, heteroscedastic residuals.** Held-out residuals ``y - y_hat`` of the
   fitted model are grouped in ``B`` bins of the predicted value (equal-count bins; ``B`` = 10,
   fewer below 200 residuals per bin). Each bin keeps the quantile function of its residuals
   (101 quantiles), centred on the bin's mean residual so the noisy mean equals the
   deterministic prediction. Low-accuracy cells therefore get wider and more skewed noise than
   good cells, and the rare collapsed runs (~10 % accuracy) stay in the left tail.
2. **Scale: within-cell spread of real repeats.** Residuals hold model error plus run noise,
   so their spread is an upper bound. Where the table holds several runs of one cell for the
   target (the 56 real per-repeat records at 108 epochs, 4 of them at every budget; every cell
   of an official full table), the pooled within-cell standard deviation ``sigma_run`` is
   compared with the residual standard deviation ``sigma_resid`` (both robust,
   1.4826 x MAD) and every residual quantile is multiplied by
   ``scale = min(1, sigma_run / sigma_resid)``. Without repeats the scale is 1 (the upper
   bound) and ``noise.json`` records ``"source": "residuals (upper bound)"``.
3. **One run, one draw.** A simulated run of a cell is one uniform level ``u`` used for
   every accuracy target of that run (validation and test accuracy of one run are strongly
   correlated; halfway and final too); its training time gets its own ``u``. A value is
   ``mean + scale * Q_bin(u)`` with ``Q_bin`` the centred quantile function of the bin of the
   predicted mean, then clipped to [0, 1] for accuracies and to >= 0 for times.
4. **Marginal: the table's distribution.** Where the training data gave one (``labels`` of
   :func:`estimate_noise`: the labels the model was fitted on, a uniform sample of the
   space), simulated runs pass through a monotone map, ``Q_labels(F_sim(value))``, with
   ``F_sim`` the distribution of one reference draw of runs (rules 1-3, levels from
   :data:`REFERENCE_KEY`) over the whole space, fitted once at training time by
   :func:`fit_transfer` and stored with the artifact: the surrogate supplies the order of
   the cells, the table the distribution of the values.
   Why: where the model has partly memorised its training labels (their run noise
   included), added run noise widens the distribution, and the best cells an optimizer finds
   come out too good.
   **Upper tail.** The labels are a sample, the surrogate answers for the whole space: the
   best of 423,624 cells lies above the best of a few thousand labels, and an empirical
   quantile function would cap every simulated run at the sample's maximum. So the
   labels' top 1 % (at least :data:`TAIL_MIN` labels) is modelled by a generalized Pareto
   distribution fitted to the exceedances over its threshold (peaks over threshold; the shape
   capped at 0, a bounded or exponential tail, as accuracies and times are), and the
   marginal's levels above the threshold are that fit's quantiles. Measured on the full
   track: the 1 % surrogate's bias went from -0.0020 to -0.0018 (most of its pessimism has
   another cause), the 10 % one's from -0.0003 to -0.0002.

5. **Model error out of sample.** Held-out residuals are model error plus run noise, and rule
   2 keeps only the run-noise part (``scale``). A real cell's runs share its true mean, which
   differs from the model's prediction by the model error; a surrogate that adds run noise
   only around its predictions is smoother than the table on cells it was not fitted on (the
   cells it ranks best all are as good as predicted), and optimizers climb it too easily. So
   a cell outside the training set of a target gets a fixed offset
   ``sqrt(1 - scale**2) * Q_bin(u_cell)``: the rest of the residual spread, with the same
   binned shape, at a level ``u_cell`` fixed per cell (shared by all its runs and, for
   accuracies, by all its budgets, as a cell's quality is). Model errors are not independent
   across cells: held-out residuals of neighbouring cells (one edit apart) correlate, and
   once their run-noise part is taken out the model errors of neighbours correlate about as
   much as a random linear function of the path encoding does (~0.5). So ``u_cell`` is
   ``Phi(z)`` with ``z`` such a function (:func:`error_levels`: Gaussian weights drawn from
   the key, standardised over a fixed sample of the space): an error field as smooth as the
   real one. Cells the model was fitted on get no offset (their prediction has seen the
   label). The offset enters before rule 4, and rule 4's reference draw includes it, at
   independent per-cell levels rather than one field: a field's value over a region is one
   draw for the whole region (the cells predicted best share most paths; across keys the
   field's mean over the top 1 % ranges from -0.95 to +0.84 standard deviations), so one
   field in the reference tilted the transfer and every realization with it (the reference
   key's +0.47 on the top 1 % made every optimizer pessimistic out of sample: mean bias
   -0.00055 over the nine folds of :mod:`eval.fidelity`, -0.00019 with independent levels).
   **Share.** The offset carries ``1 - scale**2`` of the residual variance (what the repeats
   leave to model error), or a given share ``e`` (``TrainConfig(error_share={target: e})``),
   the run noise then capped at ``sqrt(1 - e)``. At 108 epochs the repeats leave nothing
   (scale 1), yet the table's deviations from the surrogate are shared by neighbouring cells:
   the rank correlation of their PIT over pairs one edit apart is 0.14-0.26 on the nine
   folds, against about 0 for independent run noise (``benchmarks/bench_calibration.py``);
   a share of 0.3 gives a realization 0.12 where the table has 0.17.
   Rule 5 is an option, off by default. Measured on the nine folds with a share of 0.3 on
   the validation accuracies: mean curve gap 0.00075 against 0.00077 without it, every
   target met on 4 folds against 5, bias on 6 against 7, and REINFORCE still the most
   pessimistic optimizer (-0.0010). The field shifts whole regions (a path shared by many
   cells moves them all: its mean over the space's top 1 % is +0.68, +0.57 and -0.10
   standard deviations for three keys, though pairs inside that region do not correlate), so
   realizations differ more than without it (random search's final value over five
   realizations spans up to 0.003, against up to 0.0018). Between pairs its shape is near
   the table's: correlation 0.49-0.61 at one edit, 0.45 at two, 0.00 for random pairs,
   where the table's PIT correlates 0.18, 0.10 and 0.01 (held-out cells of a fold; the full
   track's held-out residuals 0.18 at one edit). Fields hashed from random subsets of the
   path set or of Weisfeiler-Lehman vertex hashes, short-ranged by construction, reach at
   most 0.24 at one edit: too little for any plausible share.
   On the full track (the 10 % surrogate, share ``1 - scale**2`` = 0.28 of the test
   accuracy) it makes the landscape rougher (neighbour correlation 0.48 against the table's
   0.69; 0.61 without it) and every optimizer pessimistic (bias -0.0026): there the offset
   adds variance to deviations that are already rougher than the table's.

6. **Model uncertainty: one ensemble member per realization.** An artifact trained with
   ``TrainConfig(members=M)`` holds, per target, ``M`` models fitted on bootstrap resamples of
   the training cells (:class:`surrogate.EnsembleModel`); its mean is the prediction. A noisy
   surrogate with ``noise_seed=k`` answers around member ``k mod M`` instead of the mean
   (NAS-Bench-301's way of carrying model uncertainty into the runs), and rule 4 maps each
   member through its own reference draw (``simulated`` has one row per member). Where the
   model has not seen a cell, the members disagree, so the realizations disagree about it as
   much as the model is unsure, and a study that averages over realizations averages over
   plausible models, not over one model's errors. Rules 1-2 come from the mean's held-out
   residuals, as for a single model. An option (``TrainConfig(members=M)``), off by
   default: measured out of sample at the default's footprint (:mod:`eval.fidelity`), it
   changed the rankings only within the protocol's noise (better on one fold, worse on
   another and on the full track) and left bias and curve gap where they were.

:class:`surrogate.SurrogateBenchmark` draws the levels of its ``num_repeats`` runs per cell
and budget once from its ``noise_seed`` (its simulated table), and each query picks one of
those runs with the benchmark's seeded generator, as the table picks a stored repeat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TargetNoise", "NoiseModel", "estimate_noise", "fit_transfer", "pooled_run_std",
           "uniform_levels", "error_levels", "label_quantiles", "check_error_share",
           "NUM_QUANTILES", "MARGINAL_LEVELS", "TAIL_MIN", "REFERENCE_KEY", "REFERENCE_ERROR_KEY"]

NUM_QUANTILES = 101
#: Levels of the stored label quantiles: uniform steps of 0.001, plus tails down to 1e-6 on a
#: log scale (optimizers live in the top 0.1 % of the space).
MARGINAL_LEVELS = np.unique(np.concatenate([
    np.linspace(0, 1, 1001), np.geomspace(1e-6, 1e-3, 61), 1 - np.geomspace(1e-6, 1e-3, 61)]))
#: Key of the reference draw of the whole space that fits rule 4's transfer function.
REFERENCE_KEY = np.uint64(0x6E6231303172756C)
#: Key of the reference draw's per-cell model-error levels (rule 5).
REFERENCE_ERROR_KEY = np.uint64(0x6D6F64656C657272)
#: Fewest labels in the modelled upper tail of rule 4's marginal (and 1 % of the labels).
TAIL_MIN = 50
_MAX_BINS = 10
_MIN_PER_BIN = 200
_MAD_TO_STD = 1.4826


def uniform_levels(key: np.uint64, repeat: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Counter-based uniforms in [0, 1): the SplitMix64 finaliser of (key, repeat, cell), so a
    simulated run is a fixed function of its key and nothing has to be stored."""
    x = (np.asarray(cells, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
         + np.asarray(repeat, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03) + key)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


#: Cells that standardise the error field (a fixed, seeded sample of the space).
_FIELD_SAMPLE = 16384
_FIELDS: dict[int, tuple[np.ndarray, float, float]] = {}


def error_levels(key: np.uint64, cells: np.ndarray) -> np.ndarray:
    """Rule 5's per-cell levels in (0, 1): ``Phi(z)``, ``z`` a random linear function of the
    cells' path encoding with standard normal weights drawn from ``key``, standardised over a
    fixed sample of the space (so ``z`` is about standard normal over the space and
    neighbouring cells, which share most of their paths, get correlated levels)."""
    from scipy.special import ndtr
    from features import get_featurizer
    paths = get_featurizer("path")
    field = _FIELDS.get(int(key))
    if field is None:
        weights = np.random.default_rng(int(key)).standard_normal(paths.dim)
        from nb101 import get_space
        sample = np.random.default_rng(0).choice(len(get_space()), _FIELD_SAMPLE,
                                                 replace=False)
        z = paths.transform(np.sort(sample)) @ weights
        field = _FIELDS[int(key)] = (weights, float(z.mean()), float(z.std()))
    weights, mean, std = field
    cells = np.asarray(cells, dtype=np.int64)
    z = np.concatenate([np.zeros(0)] + [  # in chunks: the whole space's features are 0.6 GB
        paths.transform(cells[start:start + 65536]) @ weights
        for start in range(0, len(cells), 65536)])
    return ndtr((z - mean) / std)


def _robust_std(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return float("nan")
    mad = float(np.median(np.abs(x - np.median(x))))
    return _MAD_TO_STD * mad if mad > 0 else float(np.std(x))


def pooled_run_std(runs: list[np.ndarray] | None) -> tuple[float, int]:
    """Robust pooled within-cell standard deviation of cells with several runs.

    Parameters
    ----------
    runs : list of 1-d arrays
        The runs of each cell (cells with fewer than 2 runs are ignored).

    Returns
    -------
    (sigma, dof)
        ``sigma`` is NaN when no cell has two runs; ``dof`` = sum of (runs - 1).
    """
    devs, dof = [], 0
    for r in runs or ():
        r = np.asarray(r, dtype=np.float64)
        r = r[np.isfinite(r)]
        if len(r) < 2:
            continue
        # deviations from the cell mean, rescaled to unit-variance per run
        devs.append((r - r.mean()) * np.sqrt(len(r) / (len(r) - 1)))
        dof += len(r) - 1
    if not devs:
        return float("nan"), 0
    return _robust_std(np.concatenate(devs)), dof


@dataclass
class TargetNoise:
    """Noise of one target: bin edges of the predicted value and centred residual quantiles.

    Attributes
    ----------
    edges : ndarray (B - 1,)
        Inner edges of the predicted-value bins.
    quantiles : ndarray (B, NUM_QUANTILES)
        Centred residual quantiles per bin at levels ``linspace(0, 1, NUM_QUANTILES)``.
    scale : float
        Multiplier of the quantiles (``min(1, sigma_run / sigma_resid)``).
    info : dict
        ``sigma_resid``, ``sigma_run``, ``run_dof``, ``n_residuals``, ``source``.
    marginal : ndarray (len(MARGINAL_LEVELS),) or None
        Quantiles of the target's labels at :data:`MARGINAL_LEVELS` (rule 4); None: no mapping.
    simulated : ndarray (len(MARGINAL_LEVELS),) or (M, len(MARGINAL_LEVELS)) or None
        Quantiles of the reference draw at the same levels (set by :func:`fit_transfer`); rule
        4 maps a run through ``interp(value, simulated, marginal)``. One row per ensemble
        member (rule 6) where the runs come from members.
    model_error : bool
        Rule 5: cells outside the training set get the fixed out-of-sample offset.
    error_share : float or None
        Rule 5's share of the residual variance, given at training time; None: ``1 -
        scale**2``.
    """

    edges: np.ndarray
    quantiles: np.ndarray
    scale: float
    info: dict[str, Any]
    marginal: np.ndarray | None = None
    simulated: np.ndarray | None = None
    model_error: bool = False
    error_share: float | None = None

    @property
    def members(self) -> int:
        """Ensemble members with their own reference draw (rule 6); 1 for a single model."""
        return 1 if self.simulated is None or self.simulated.ndim == 1 else len(self.simulated)

    @property
    def error_scale(self) -> float:
        """Multiplier of the quantiles for the out-of-sample model error (rule 5)."""
        if not self.model_error:
            return 0.0
        share = 1.0 - self.scale ** 2 if self.error_share is None else self.error_share
        return float(np.sqrt(max(0.0, share)))

    def _quantile(self, mean: np.ndarray, u: np.ndarray) -> np.ndarray:
        bins = np.searchsorted(self.edges, mean, side="right")
        pos = np.clip(u, 0.0, 1.0) * (NUM_QUANTILES - 1)
        lo = np.minimum(pos.astype(np.int64), NUM_QUANTILES - 2)
        frac = pos - lo
        q = self.quantiles
        return q[bins, lo] * (1 - frac) + q[bins, lo + 1] * frac

    def offsets(self, mean: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Run noise for predicted means ``mean`` at uniform levels ``u`` (same shape)."""
        return self.scale * self._quantile(mean, u)

    def errors(self, mean: np.ndarray, u_cell: np.ndarray) -> np.ndarray:
        """Rule 5's out-of-sample model error at per-cell levels ``u_cell`` (0 where NaN)."""
        if not self.model_error:
            return np.zeros(np.shape(mean))
        out = self.error_scale * self._quantile(mean, np.nan_to_num(u_cell, nan=0.5))
        return np.where(np.isnan(u_cell), 0.0, out)

    def to_dict(self) -> dict[str, Any]:
        out = {"edges": self.edges.tolist(), "quantiles": np.round(self.quantiles, 7).tolist(),
               "scale": self.scale, "info": self.info}
        if self.marginal is not None:
            out["marginal"] = np.round(self.marginal, 7).tolist()
        if self.simulated is not None:
            out["simulated"] = np.round(self.simulated, 7).tolist()
        if self.model_error:
            out["model_error"] = True
        if self.error_share is not None:
            out["error_share"] = self.error_share
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TargetNoise":
        edges = np.asarray(data["edges"], dtype=np.float64).reshape(-1)
        quantiles = np.asarray(data["quantiles"], dtype=np.float64)
        if quantiles.ndim != 2 or quantiles.shape != (len(edges) + 1, NUM_QUANTILES):
            raise ValueError(f"noise quantiles must have shape ({len(edges) + 1}, "
                             f"{NUM_QUANTILES}), got {quantiles.shape}")
        levels = {}
        for name, ndims in (("marginal", (1,)), ("simulated", (1, 2))):
            values = data.get(name)
            if values is not None:
                values = np.asarray(values, dtype=np.float64)
                # simulated: one row per ensemble member (rule 6)
                if (values.ndim not in ndims or values.shape[-1] != len(MARGINAL_LEVELS)
                        or np.any(np.diff(values, axis=-1) < 0)):
                    raise ValueError(f"noise {name} must be {len(MARGINAL_LEVELS)} "
                                     f"non-decreasing quantiles"
                                     f"{' (a row per member)' if len(ndims) > 1 else ''}, "
                                     f"got shape {values.shape}")
            levels[name] = values
        if (levels["marginal"] is None) != (levels["simulated"] is None):
            raise ValueError("noise rule 4 needs both the labels' quantiles ('marginal') and "
                             "the reference draw's ('simulated'); one is missing (an artifact "
                             "of an older version: retrain it)")
        share = data.get("error_share")
        return cls(edges, quantiles, float(data["scale"]), dict(data.get("info", {})),
                   levels["marginal"], levels["simulated"], bool(data.get("model_error", False)),
                   None if share is None else check_error_share(share, "noise error_share"))


def check_error_share(share: Any, what: str = "error_share") -> float:
    """``share`` as rule 5's model-error share: a number in [0, 1) (not a bool), else a
    ``ValueError`` naming ``what``."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
        raise ValueError(f"{what} must be a number in [0, 1), got {share!r}")
    return float(share)


def estimate_noise(predicted: np.ndarray, observed: np.ndarray,
                   runs: list[np.ndarray] | None = None,
                   labels: np.ndarray | None = None, *,
                   model_error: bool = False, error_share: float | None = None
                   ) -> TargetNoise:
    """Estimate one target's noise (the module docstring gives the rule).

    Parameters
    ----------
    predicted, observed : ndarray (n,)
        Held-out predictions and labels (never the training rows).
    runs : list of ndarray, optional
        Per cell with several runs of this target, its runs.
    labels : ndarray, optional
        Every label of the target the surrogate was given (a uniform sample of the space):
        their quantiles become the marginal of rule 4 (completed by :func:`fit_transfer`).
        None: no marginal mapping.
    model_error : bool
        Enable rule 5 (the out-of-sample model error).
    error_share : float, optional
        Rule 5's share of the residual variance (default ``1 - scale**2``); the run noise's
        scale is capped at ``sqrt(1 - error_share)`` so the two add up to at most the
        residuals' spread.
    """
    predicted = np.asarray(predicted, dtype=np.float64).ravel()
    observed = np.asarray(observed, dtype=np.float64).ravel()
    if predicted.shape != observed.shape or len(predicted) == 0:
        raise ValueError(f"predicted and observed must be non-empty and of one shape, got "
                         f"{predicted.shape} and {observed.shape}")
    resid = observed - predicted
    n_bins = int(np.clip(len(resid) // _MIN_PER_BIN, 1, _MAX_BINS))
    edges = np.quantile(predicted, np.linspace(0, 1, n_bins + 1)[1:-1]) if n_bins > 1 else \
        np.zeros(0)
    edges = np.unique(edges)
    bins = np.searchsorted(edges, predicted, side="right")
    levels = np.linspace(0, 1, NUM_QUANTILES)
    quantiles = np.zeros((len(edges) + 1, NUM_QUANTILES))
    for b in range(len(edges) + 1):
        r = resid[bins == b]
        if len(r) == 0:
            r = resid
        quantiles[b] = np.quantile(r - r.mean(), levels)
    sigma_resid = _robust_std(resid)
    sigma_run, dof = pooled_run_std(runs)
    if dof > 0 and np.isfinite(sigma_run) and sigma_resid > 0:
        scale = float(min(1.0, sigma_run / sigma_resid))
        source = "residuals scaled to within-cell repeats"
    else:
        scale, source = 1.0, "residuals (upper bound)"
    if not model_error:
        error_share = None  # rule 5 is off: no share to record
    elif error_share is not None:
        error_share = check_error_share(error_share)
        scale = min(scale, float(np.sqrt(1.0 - error_share)))
    info = {"sigma_resid": sigma_resid, "sigma_run": None if dof == 0 else sigma_run,
            "run_dof": dof, "n_residuals": int(len(resid)), "source": source}
    marginal = None
    if labels is not None:
        labels = np.asarray(labels, dtype=np.float64).ravel()
        labels = labels[np.isfinite(labels)]
        if len(labels) == 0:
            raise ValueError("labels for the noise marginal are empty or all NaN")
        marginal = label_quantiles(labels, MARGINAL_LEVELS)
        info["marginal_labels"] = int(len(labels))
    return TargetNoise(edges, quantiles, scale, info, marginal, model_error=bool(model_error),
                       error_share=error_share)


def label_quantiles(labels: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Quantiles of ``labels`` at ``levels`` with a modelled upper tail (rule 4): empirical
    below the threshold of the top ``max(TAIL_MIN, 1 %)`` labels, a generalized Pareto fit to
    the exceedances above it (shape <= 0). Fewer than ``4 * TAIL_MIN`` labels: empirical."""
    from scipy.stats import genpareto
    labels = np.sort(np.asarray(labels, dtype=np.float64).ravel())
    levels = np.asarray(levels, dtype=np.float64)
    out = np.quantile(labels, levels)
    n = len(labels)
    m = max(TAIL_MIN, n // 100)
    if n < 4 * TAIL_MIN:
        return out
    threshold = labels[n - m - 1]
    excess = labels[n - m:] - threshold
    if not np.any(excess > 0):
        return out
    shape, _, scale = genpareto.fit(excess, floc=0)
    if shape > 0:  # no heavy tails: refit with the exponential tail
        shape, scale = 0.0, float(excess.mean())
    tail = levels > 1 - m / n
    # level 1 would be the endpoint, infinite for the exponential tail: a finite top instead
    beyond = np.maximum(1 - levels[tail], 1e-7)
    out[tail] = threshold + genpareto.ppf(1 - beyond * n / m, shape, 0, scale)
    return np.maximum.accumulate(out)


class NoiseModel:
    """Noise of every target of an artifact (see the module docstring).

    Parameters
    ----------
    targets : mapping of target name to :class:`TargetNoise`
    """

    def __init__(self, targets: Mapping[str, TargetNoise]):
        self.targets = dict(targets)

    def __contains__(self, target: str) -> bool:
        return target in self.targets

    def has_marginal(self, target: str) -> bool:
        """Whether ``target``'s simulated runs are mapped onto the labels' marginal."""
        return target in self.targets and self.targets[target].simulated is not None

    def perturb(self, target: str, mean: np.ndarray, u: np.ndarray,
                u_cell: np.ndarray | None = None, member: int | None = None) -> np.ndarray:
        """One run of ``target`` around the predicted ``mean`` at uniform levels ``u`` (rules
        1-5; ``u_cell``: the per-cell model-error levels, NaN for cells in the training set);
        ``member``: the ensemble member ``mean`` comes from (rule 6; None: the mean of the
        members). Targets without a noise entry come back unchanged."""
        if target not in self.targets:
            return mean
        noise = self.targets[target]
        value = _unmapped_run(target, noise, mean, u, u_cell)
        if noise.simulated is not None:
            simulated = noise.simulated
            if simulated.ndim == 2:
                if member is None:
                    raise ValueError(f"target {target!r} maps the runs of each of its "
                                     f"{len(simulated)} ensemble members; say which member")
                simulated = simulated[member % len(simulated)]
            value = _clip(target, np.interp(value, simulated, noise.marginal))  # tail fit
        return value

    def has_model_error(self, target: str) -> bool:
        """Whether ``target`` adds the out-of-sample model error (rule 5)."""
        return target in self.targets and self.targets[target].model_error

    def to_dict(self) -> dict[str, Any]:
        # v2: with the labels' marginal (rule 4); v3: with the model error (rule 5); v4: with
        # one transfer per ensemble member (rule 6); v5: with a given model-error share
        version = (5 if any(n.error_share is not None for n in self.targets.values()) else
                   4 if any(n.members > 1 for n in self.targets.values()) else
                   3 if any(n.model_error for n in self.targets.values()) else
                   2 if any(n.marginal is not None for n in self.targets.values()) else 1)
        return {"rule": f"empirical-residual-quantiles-by-prediction-bin/v{version}",
                "targets": {t: n.to_dict() for t, n in self.targets.items()}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NoiseModel":
        return cls({t: TargetNoise.from_dict(d) for t, d in data["targets"].items()})


def _unmapped_run(target: str, noise: TargetNoise, mean: np.ndarray, u: np.ndarray,
                  u_cell: np.ndarray | None = None) -> np.ndarray:
    """Rules 1-3 and 5: the run around ``mean`` at levels ``u`` (model error at ``u_cell``),
    clipped to the metric's range."""
    value = mean + noise.offsets(mean, u)
    if u_cell is not None:
        value = value + noise.errors(mean, u_cell)
    return _clip(target, value)


def _clip(target: str, value: np.ndarray) -> np.ndarray:
    """``value`` in the metric's range: [0, 1] for accuracies, >= 0 for times."""
    from nb101 import parse_target
    if parse_target(target)[0].endswith("accuracy"):
        return np.clip(value, 0.0, 1.0)
    return np.maximum(value, 0.0)


def fit_transfer(target: str, noise: TargetNoise, predicted: np.ndarray,
                 in_sample: np.ndarray | None = None) -> None:
    """Fit rule 4's transfer function of ``target`` into ``noise``: ``predicted`` is the
    model's prediction of every cell of the space (index order; shape (M, cells) for the
    members of an ensemble, rule 6: one transfer per member), ``in_sample`` the mask of
    the cells it was fitted on; one reference draw of runs (rules 1-3 and 5, levels from
    :data:`REFERENCE_KEY` and :data:`REFERENCE_ERROR_KEY`, the same for every ``noise_seed``)
    gives the quantiles that the labels' quantiles are matched to."""
    if noise.marginal is None:
        raise ValueError(f"target {target!r} has no labels' marginal to map onto")
    predicted = np.asarray(predicted, dtype=np.float64)
    rows = predicted.reshape(-1, predicted.shape[-1])  # one row per member, or the model
    cells = np.arange(rows.shape[1])
    u = uniform_levels(REFERENCE_KEY, np.zeros_like(cells), cells)
    u_cell = None
    if noise.model_error:
        # independent levels, not one field: a field's value over a region (the cells
        # predicted best share most paths) is one draw for the whole region, so one field
        # would tilt the transfer, and every realization with it (measured: a reference
        # field 0.47 sd high on the top 1 % made every optimizer pessimistic); per cell the
        # levels are uniform either way, so this is the realizations' expected distribution
        u_cell = uniform_levels(REFERENCE_ERROR_KEY, np.zeros_like(cells), cells)
        if in_sample is not None:
            u_cell[np.asarray(in_sample, dtype=bool)] = np.nan
    simulated = np.stack([np.quantile(_unmapped_run(target, noise, row, u, u_cell),
                                      MARGINAL_LEVELS) for row in rows])
    noise.simulated = simulated if predicted.ndim == 2 else simulated[0]
