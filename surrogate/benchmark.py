"""``SurrogateBenchmark``: the NAS-Bench-101 query API answered by a trained surrogate.

A drop-in replacement of :class:`nb101.table.TabularBenchmark`; switching is one line::

    bench = TabularBenchmark("nb101.npz", seed=0)
    bench = SurrogateBenchmark(seed=0)                   # the bundled default artifact
    bench = SurrogateBenchmark("my_artifact", seed=0, noise=False)

    result = bench.query(spec, epochs=108)               # one (simulated) training run
    batch = bench.query_batch(np.arange(1000), epochs=12)
    fixed, computed = bench.get_metrics_from_spec(spec)

What comes back (see :mod:`nb101.api`):

- ``query`` returns ``module_adjacency``, ``module_operations`` (the canonical cell),
  ``trainable_parameters`` (exact, computed from the cell) and the predicted
  ``training_time``, ``train_accuracy``, ``validation_accuracy``, ``test_accuracy``. A metric
  without a model for the budget is ``None`` (``train_accuracy`` always, with the real data;
  ``test_accuracy`` at 4/12/36 epochs).
- ``training_time``: the ``training_time@<epochs>`` model if the artifact has one, else the
  108-epoch prediction scaled by ``epochs / 108`` (training time is close to proportional to
  the number of epochs: same network, same steps per epoch). ``stop_halfway=True`` uses a
  ``halfway_training_time@<epochs>`` model if present, else half the final time.
- Halfway accuracies come from ``halfway_*`` targets (only tables converted from official
  full records have them); without one they are ``None``.
- With ``noise=True`` (default) the surrogate holds ``num_repeats`` simulated training runs
  per cell and budget (3, as the official table), drawn once around the predicted mean by the
  artifact's noise model (:mod:`surrogate.noise`) from ``noise_seed``, and a query returns one
  of them picked by the benchmark's own generator (seeded by ``seed``) exactly as the table
  picks a repeat; re-querying a cell never draws fresh noise. Where the noise model holds the
  labels' marginal (rule 4), the runs pass through the monotone map onto it that training
  fitted on a reference draw of the whole space.
  With ``noise=False`` the predicted means come back and queries are deterministic.
- Budget counters charge the returned (predicted) training time and the epochs, as the table.
- ``get_metrics_from_hash/spec`` return ``(fixed, computed)`` with ``computed = {epochs:
  [run]}``: ONE run of predicted means (never noisy) with the official ``halfway_*`` and
  ``final_*`` keys. They never charge the budget.
- ``hash_iterator`` yields all 423,624 hashes in ascending order; ``valid_epochs`` are the
  budgets the artifact's targets cover.

Predictions are cached per target for the whole space: with ``full_cache=True`` (default) the
first query that needs a target predicts all 423,624 cells at once (a few seconds for a
tree model on 2 cores, once per process), after which every query is a lookup (single query
~0.1 ms, batches of millions of cells per second). With ``full_cache=False`` only the cells
asked for are predicted (one model call per batch of new cells) and cached.
:meth:`SurrogateBenchmark.precompute` fills the cache explicitly.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterable, Iterator

import numpy as np

from nb101 import ArtifactError, CellSpace, format_target, parse_target
from nb101.api import EPOCHS, METRICS, BaseBenchmark

from .artifact import PREDICT_CHUNK, Artifact, load_artifact
from .noise import error_levels, uniform_levels

__all__ = ["SurrogateBenchmark"]

_ACCURACIES = ("train_accuracy", "validation_accuracy", "test_accuracy")


class SurrogateBenchmark(BaseBenchmark):
    """NAS-Bench-101 queries answered by a surrogate artifact.

    Parameters
    ----------
    path : path-like or Artifact, optional
        Artifact folder (see :mod:`surrogate.artifact`); ``None`` loads the bundled default.
    seed : int, optional
        Seeds the repeat drawn by each query (the benchmark's own generator, never a global
        one), as the table's seed does.
    noise : bool, default=True
        Answer with simulated training runs (True) or with the predicted mean (False).
    num_repeats : int, default=3
        Simulated runs per cell and budget (the official table has 3); a query draws one of
        them uniformly, exactly as the table draws a repeat. Use 1 to mirror a table with one
        run per cell (the real exhaustive data).
    noise_seed : int, default=0
        Seeds the simulated runs themselves: they are a fixed property of the surrogate, like
        a table's stored runs, so re-querying a cell never draws fresh noise.
    require_targets : iterable of str, optional
        Targets the caller needs; a missing one raises :class:`ArtifactError` at load.
    full_cache : bool, default=True
        Predict the whole space for a target the first time it is needed (else only the
        cells asked for).
    space : CellSpace, optional

    Raises
    ------
    ArtifactError
        If the artifact is missing, stale, corrupt, lacks a required target, or ``noise=True``
        and it has no noise model.

    Examples
    --------
    >>> bench = SurrogateBenchmark(seed=0, noise=False)
    >>> bench.query(spec, epochs=108)["test_accuracy"]
    """

    def __init__(self, path: str | os.PathLike | Artifact | None = None,
                 seed: int | None = None, *, noise: bool = True, num_repeats: int = 3,
                 noise_seed: int = 0, require_targets: Iterable[str] | None = None, full_cache: bool = True,
                 space: CellSpace | None = None):
        super().__init__(seed=seed, space=space)
        if isinstance(path, Artifact):
            self.artifact = path
            path.require(require_targets)
        else:
            self.artifact = load_artifact(path, require_targets=require_targets)
        self.noise = bool(noise)
        if int(num_repeats) < 1:
            raise ValueError(f"num_repeats must be >= 1, got {num_repeats!r}")
        self.num_repeats = int(num_repeats)
        self.noise_seed = int(noise_seed)
        self._noise_keys: dict[tuple[str, int], np.uint64] = {}
        self.full_cache = bool(full_cache)
        if self.noise and self.artifact.noise is None:
            raise ArtifactError(f"surrogate artifact {self.artifact.path} has no noise model; "
                                f"use noise=False")
        self._targets = frozenset(self.artifact.models)
        self._epochs = frozenset(parse_target(t).epochs for t in self._targets)
        self._sources = {(metric, epochs, halfway): self._source(metric, epochs, halfway)
                         for metric in METRICS for epochs in EPOCHS for halfway in (False, True)}
        self._cache: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        return (f"{type(self).__name__}({str(self.artifact.path)!r}, seed={self.seed!r}, "
                f"noise={self.noise}, num_repeats={self.num_repeats})")

    @property
    def targets(self) -> tuple[str, ...]:
        """The targets the artifact predicts."""
        return self.artifact.targets

    @property
    def valid_epochs(self) -> frozenset[int]:
        return self._epochs

    # ------------------------------------------------------------------- predictions
    def predict(self, target: str, indices: np.ndarray) -> np.ndarray:
        """Predicted mean of ``target`` for cell indices (cached; never charges the budget).

        Raises
        ------
        KeyError
            If the artifact has no model for ``target``.
        """
        indices = np.asarray(indices, dtype=np.int64)
        cache = self._target_cache(target)
        values = cache[indices]
        missing = np.isnan(values)
        if missing.any():
            if self.full_cache:
                self.precompute([target])
            else:
                new = np.unique(indices[missing])
                cache[new] = self.artifact.predict(target, new)
            values = cache[indices]
        return values

    def _target_cache(self, target: str) -> np.ndarray:
        cache = self._cache.get(target)
        if cache is None:
            if target not in self._targets:
                raise KeyError(f"no model for target {target!r}; targets: {self.targets}")
            cache = self._cache[target] = np.full(len(self.space), np.nan)
        return cache

    def precompute(self, targets: Iterable[str] | None = None, *,
                   progress: bool = False) -> None:
        """Predict every cell of the space for ``targets`` (default all) into the cache,
        with a tqdm bar over the cells when ``progress``."""
        from tqdm.auto import tqdm

        targets = list(targets if targets is not None else self.targets)
        cells = np.arange(len(self.space))
        with tqdm(total=len(targets) * len(cells), unit=" cells", unit_scale=True,
                  desc="predicting the space", disable=not progress) as bar:
            for target in targets:
                cache = self._target_cache(target)
                for start in range(0, len(cells), PREDICT_CHUNK):
                    chunk = cells[start:start + PREDICT_CHUNK]
                    todo = chunk[np.isnan(cache[chunk])]
                    if len(todo):
                        cache[todo] = self.artifact.predict(target, todo)
                    bar.update(len(chunk))

    def _source(self, metric: str, epochs: int, halfway: bool) -> tuple[str | None, float]:
        """The target whose prediction answers a metric at a budget, and the factor that
        scales it after the noise (derived training times); ``(None, 1.0)`` if none does."""
        target = format_target(metric, epochs, halfway)
        if target in self._targets:
            return target, 1.0
        if metric != "training_time":
            return None, 1.0
        factor = 0.5 if halfway else 1.0
        final = format_target(metric, epochs)
        if final in self._targets:
            return final, factor
        base = format_target(metric, 108)
        if base in self._targets:
            return base, factor * epochs / 108
        return None, 1.0

    def _mean(self, metric: str, epochs: int, halfway: bool, indices: np.ndarray
              ) -> tuple[np.ndarray | None, str | None, float]:
        """Predicted mean of a metric, the target whose noise applies, and a factor that
        scales the value after the noise (resolved once, at construction)."""
        target, factor = self._sources[(metric, epochs, halfway)]
        if target is None:
            return None, None, 1.0
        return self.predict(target, indices), target, factor

    def _runs(self, indices: np.ndarray, epochs: int, stop_halfway: bool
              ) -> dict[str, np.ndarray]:
        indices = np.asarray(indices, dtype=np.int64)
        if self.noise:
            repeat = self._draw(np.full(len(indices), self.num_repeats))
            u_acc = self._noise_levels("accuracy", epochs, repeat, indices)
            u_time = self._noise_levels("training_time", epochs, repeat, indices)
        out = {}
        for metric in METRICS:
            mean, target, factor = self._mean(metric, epochs, stop_halfway, indices)
            if mean is None:
                out[metric] = np.full(len(indices), np.nan)
                continue
            if self.noise:
                u = u_time if metric == "training_time" else u_acc
                mean = self.artifact.noise.perturb(target, mean, u,
                                                   self._error_levels(target, indices))
            out[metric] = mean * factor if factor != 1.0 else mean
        return out

    def _error_levels(self, target: str, indices: np.ndarray) -> np.ndarray | None:
        """Per-cell model-error levels of noise rule 5 (:func:`surrogate.noise.error_levels`):
        one level per cell and ``noise_seed`` (shared by the cell's runs, and by every
        accuracy budget), NaN for the cells the target's model was fitted on."""
        if not self.artifact.noise.has_model_error(target):
            return None
        stream = "training_time" if target.startswith(("training_time", "halfway_training")) \
            else "accuracy"
        key = self._noise_keys.get((stream, 0))
        if key is None:  # budget 0: the cell's own level, not one training's
            key = np.random.SeedSequence([self.noise_seed, 0 if stream == "accuracy" else 1,
                                          0]).generate_state(1, np.uint64)[0]
            self._noise_keys[(stream, 0)] = key
        u = error_levels(key, indices)
        mask = self.artifact.in_sample(target)
        if mask is not None:
            u[mask[indices]] = np.nan
        return u

    def _noise_levels(self, stream: str, epochs: int, repeat: np.ndarray,
                      indices: np.ndarray) -> np.ndarray:
        """Uniform level of simulated run ``repeat`` of each cell at one budget: a fixed
        function of (``noise_seed``, stream, epochs, repeat, cell), so nothing is stored and
        a run never changes. One level per run for its accuracies (validation and test of
        one run move together) and one for its training time; separate budgets are separate
        trainings, so each gets its own levels."""
        key = self._noise_keys.get((stream, epochs))
        if key is None:  # derived once per stream and budget, not on every query
            stream_id = 0 if stream == "accuracy" else 1
            key = np.random.SeedSequence([self.noise_seed, stream_id, epochs]).generate_state(
                1, np.uint64)[0]
            self._noise_keys[(stream, epochs)] = key
        return uniform_levels(key, repeat, indices)

    # --------------------------------------------------------------------- analysis
    def hash_iterator(self) -> Iterator[str]:
        """All 423,624 module hashes in ascending order."""
        return (h.decode() for h in self.space.hashes)

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict, dict]:
        """``(fixed, computed)``: the canonical cell with its exact parameter count, and per
        valid budget ONE run of predicted means (``halfway_*``/``final_*``; None where no
        model). Never charges the budget.

        Raises
        ------
        OutOfDomainError
            If no cell of the space has this hash.
        """
        index = self.space.index_of_hash(module_hash)  # UnknownHashError: OutOfDomainError
        fixed = self._fixed(index)
        computed = {}
        idx = np.array([index])
        for epochs in sorted(self.valid_epochs):
            run = {}
            for when in ("halfway", "final"):
                for metric in METRICS:
                    mean, _, factor = self._mean(metric, epochs, when == "halfway", idx)
                    run[f"{when}_{metric}"] = None if mean is None else float(mean[0] * factor)
            computed[epochs] = [run]
        return copy.deepcopy(fixed), computed

