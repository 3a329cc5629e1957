"""Run-to-run noise of the surrogate: draw one plausible training run around the predicted mean.

The table answers a query with one of a cell's (noisy) training runs; a surrogate predicts the
mean over runs. With ``SurrogateBenchmark(..., noise=True)`` a query adds a draw of this model
to each predicted mean, so the surrogate behaves like the table; ``noise=False`` returns the
mean (deterministic).

The rule, per target, estimated by :func:`estimate_noise` at training time (each module's
docstring gives its rule in full; measured effects are in the docs' noise-model notes):

1. **Shape** (:mod:`.estimate`): the held-out residuals' quantile function per bin of the
   predicted value, centred on its median, so the noise is heteroscedastic and skewed where
   the data are and a cell's typical run is its prediction.
1b. **Location at the top** (:mod:`.estimate`): an option (``TrainConfig(top_location=True)``,
   ``--top-location``). The cells a model predicts best are partly its own error; above the
   top bin's median prediction a run is centred where that bin's held-out labels lie (an
   isotonic fit of their median on the prediction), and no higher above the last of them.
2. **Scale** (:mod:`.estimate`): the quantiles scaled to the within-cell spread of real
   repeats (``scale = min(1, sigma_run / sigma_resid)``; 1 without repeats, an upper bound).
3. **One run, one draw** (:mod:`.levels`, :mod:`.target`): a simulated run of a cell is one
   uniform level ``u`` used for every accuracy target of that run (validation and test
   accuracy of one run are strongly correlated; halfway and final too); its training time gets
   its own ``u``. A value is ``mean + scale * Q_bin(u)``, clipped to [0, 1] for accuracies and
   to >= 0 for times.
4. **Marginal** (:mod:`.marginal`): simulated runs mapped monotonically onto the distribution
   of the training labels, with a generalized Pareto upper tail; the surrogate supplies the
   order of the cells, the table the distribution of the values.
5. **Model error out of sample** (:mod:`.error_field`, :mod:`.target`): an option. Held-out
   residuals are model error plus run noise, and rule 2 keeps only the run-noise part. A
   surrogate that adds run noise only around its predictions is smoother than the table on
   cells it was not fitted on, and optimizers climb it too easily. So a cell outside the
   training set of a target gets a fixed offset ``sqrt(1 - scale**2) * Q_bin(u_cell)`` (or
   ``sqrt(e) * Q_bin(u_cell)`` for a given share ``e``, ``TrainConfig(error_share={target:
   e})``, the run noise then capped at ``sqrt(1 - e)``): the rest of the residual spread, with
   the same binned shape, at a level ``u_cell`` fixed per cell (shared by all its runs and, for
   accuracies, by all its budgets, as a cell's quality is) and drawn from a short-ranged field
   over the edit graph (:func:`error_levels`), as model errors of neighbouring cells correlate.
   Cells the model was fitted on get no offset (their prediction has seen the label). The
   offset enters before rule 4, and rule 4's reference draw includes it at independent
   per-cell levels.
6. **Members** (:mod:`.model`): an option; realization ``noise_seed=k`` of an ensemble
   artifact answers around member ``k mod M``, through that member's own rule-4 transfer.

:class:`surrogate.SurrogateBenchmark` draws the levels of its ``num_repeats`` runs per cell
and budget once from its ``noise_seed`` (its simulated table), and each query picks one of
those runs with the benchmark's seeded generator, as the table picks a stored repeat.
"""

from .error_field import error_levels
from .estimate import estimate_noise, pooled_run_std
from .levels import (
    MARGINAL_LEVELS,
    NUM_QUANTILES,
    REFERENCE_ERROR_KEY,
    REFERENCE_KEY,
    uniform_levels,
)
from .marginal import TAIL_MIN, fit_generalized_pareto, fit_transfer, label_quantiles
from .model import NoiseModel
from .target import TargetNoise, check_error_share

__all__ = [
    "TargetNoise",
    "NoiseModel",
    "estimate_noise",
    "fit_transfer",
    "pooled_run_std",
    "uniform_levels",
    "error_levels",
    "label_quantiles",
    "fit_generalized_pareto",
    "check_error_share",
    "NUM_QUANTILES",
    "MARGINAL_LEVELS",
    "TAIL_MIN",
    "REFERENCE_KEY",
    "REFERENCE_ERROR_KEY",
]
