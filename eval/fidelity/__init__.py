"""Algorithm-ranking fidelity: do optimizers behave and rank the same on a surrogate as on the
table, on cells whose labels the surrogate never saw?

A surrogate is used where it has no labels, so that is where it must be faithful. The study
runs every optimizer for N seeds on the table and on surrogates, on each track
(:mod:`eval.tracks`), collects the raw results into a :class:`FidelityResult` and hands it to
:mod:`eval.fidelity.report`, which computes every statistic with intervals and renders the
report.

Protocols (``--protocol``)
--------------------------
``out-of-sample`` (default)
    *Multi-fidelity track*: the covered cells are split into ``folds`` folds (a permutation
    seeded by ``--split-seeds``, 0 by default; several seeds repeat the protocol on several
    splits in one report, since one split certifies little); for each
    fold a surrogate is trained with the default recipe (:data:`surrogate.train.
    DEFAULT_RECIPE`) on the other folds only (``TrainConfig.exclude_cells``: every label of
    a held-out cell is hidden, its exhaustive test accuracy too, since for many cells that is
    the run of its validation label: ``benchmarks/bench_same_run.py``), and the table and
    the surrogate both run on the held-out fold. Every statistic is reported per fold and
    over folds. *Full track*: surrogates trained on 10 % and 1 % of the exhaustive table
    (one sample each, or one per ``--sample-seeds`` seed, summarised over the samples);
    the report gives, per surrogate, the share of the cells the optimizers visited that were
    in its training set.
``in-sample``
    The multi-fidelity surrogate is trained on all covered cells and runs on them; the full
    track's surrogate is trained on all cells (the trainer's 90 % split).
``both``
    Both, side by side in one report.

Explicit ``--surrogate`` artifacts replace the trained ones: they run on every covered cell
of ``--table`` (any table, any artifact) and their training share is reported when the
artifact records its training cells.

Each surrogate runs as ``realizations`` draws of its simulated runs (``noise_seed`` 0, 1,
...; ``--first-noise-seed`` replicates a study with fresh draws): the table holds one draw of
the training noise, so a surrogate is judged by the mean of its draws (and by whether the
table is a plausible further draw). The statistics, their bootstrap intervals over seeds and
the landscape comparison are described in :mod:`eval.fidelity.report`.

Optimizers (``--optimizers``): the project's own by default (:data:`eval.optimizers.
OPTIMIZERS`); also the external ones of Optuna and Syne Tune (:mod:`eval.optimizers.external`,
e.g. ``optuna-tpe``, ``syne-asha``), ``external`` for all of those and ``all`` for both. They
run on the same cells, seeds, budgets and backends and are ranked together. A run whose
external optimizer fails is left out (with its optimizer, in its study) and listed in the
report; the other runs are kept.

Budgets: ``--budget`` is in full trainings. Full track: that many 108-epoch queries.
Multi-fidelity track: that many times the mean 108-epoch training time of the track's cells on
the table (seconds), the same for the table and the surrogate runs.

Execution: every (study, backend, optimizer, seed) run is one job, cached as
``OUT/runs/<track>/<study>/<backend>-<digest>/<optimizer>/...npz`` (atomic writes), so a
rerun computes only what is missing. Jobs run on joblib (``--n-jobs``, ``--joblib-backend`` loky or
threading) or, given ``--scheduler ADDRESS``, on a Dask cluster (``dask.distributed``).

Usage::

    python -m eval.fidelity --out fidelity_out                 # default experiment
    python -m eval.fidelity --smoke --out /tmp/fid             # a small configuration
    python -m eval.fidelity --protocol both --track multifidelity --out out
    python -m eval.fidelity --table other.npz --surrogate my_artifact --out out
    python -m eval.fidelity --error-share validation_accuracy@108=0.4 --out out  # noise rule 5
    python -m eval.fidelity --scheduler tcp://10.0.0.1:8786 --out out
    python -m eval.fidelity --smoke --optimizers all --out /tmp/fid   # + Optuna, Syne Tune

Outputs in ``OUT``: ``fidelity.json`` (strict JSON), ``fidelity.md``, ``curves_<track>.png``,
``ranking_<track>.png``, ``landscape_<track>.png``.

Modules: :mod:`~eval.fidelity.config` (settings and their checks), :mod:`~eval.fidelity.plan`
(studies, folds, trained surrogates), :mod:`~eval.fidelity.runs` (the run cache, the worker's
job), :mod:`~eval.fidelity.execute` (joblib or Dask), :mod:`~eval.fidelity.collect` (runs to
curves), :mod:`~eval.fidelity.results` (the raw results), :mod:`~eval.fidelity.report`
(statistics, verdict, figures, Markdown), :mod:`~eval.fidelity.cli` (the command line).
"""

from .cli import config_from_args, main
from .collect import collect, run_fidelity
from .config import PROTOCOLS, SMOKE, SURROGATE_FRACTIONS, FidelityConfig, track_targets
from .plan import split_folds, surrogate_recipe
from .results import FidelityResult, StudyResult

__all__ = [
    "FidelityConfig",
    "FidelityResult",
    "StudyResult",
    "run_fidelity",
    "collect",
    "main",
    "config_from_args",
    "SURROGATE_FRACTIONS",
    "SMOKE",
    "PROTOCOLS",
    "track_targets",
    "split_folds",
    "surrogate_recipe",
]
