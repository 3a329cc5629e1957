"""``SurrogateBenchmark``: the NAS-Bench-101 query API answered by a trained surrogate.

A drop-in replacement of :class:`nb101.tabular_benchmark.TabularBenchmark`; switching is one line::

    bench = TabularBenchmark("nb101.npz", seed=0)
    bench = SurrogateBenchmark(seed=0)                   # the bundled default artifact
    bench = SurrogateBenchmark("my_artifact", seed=0, noise=False)

    result = bench.query(spec, epochs=108)               # one (simulated) training run
    batch = bench.query_batch(np.arange(1000), epochs=12)
    fixed, computed = bench.get_metrics_from_spec(spec)

What comes back (see :mod:`nb101.protocol`): every cell of the space, but only the fields the
artifact has models for. ``query`` returns ``module_adjacency``, ``module_operations`` (the
canonical cell), ``trainable_parameters`` (exact, from the cell) and, per metric:

- an accuracy (``train_/validation_/test_accuracy``) at a budget: the prediction of the
  ``<metric>@<epochs>`` target (``halfway_<metric>@<epochs>`` when ``stop_halfway``), else
  ``None`` (NaN from ``query_batch``);
- ``training_time``: the ``training_time@<epochs>`` target if the artifact has one, else the
  108-epoch prediction scaled by ``epochs / 108`` (training time is close to proportional to
  the number of epochs: same network, same steps per epoch); ``stop_halfway=True`` uses a
  ``halfway_training_time@<epochs>`` target if present, else half the final time.

The bundled default (trained on the real data, whose sample has no train accuracy, no
halfway values and test accuracy only at 108 epochs) answers:

===========================  =======================  ===========================
field                        ``stop_halfway=False``   ``stop_halfway=True``
===========================  =======================  ===========================
``test_accuracy``            108 epochs only          ``None``
``validation_accuracy``      4, 12, 36, 108 epochs    ``None``
``training_time``            108 epochs; 4/12/36      half the final time
                             scaled from 108
``train_accuracy``           ``None``                 ``None``
===========================  =======================  ===========================

:meth:`SurrogateBenchmark.fields` lists where each field comes from for any artifact.

- With ``noise=True`` (default) the surrogate holds ``num_repeats`` simulated training runs
  per cell and budget (3, as the official table), drawn once around the predicted mean by the
  artifact's noise model (:mod:`surrogate.noise`) from ``noise_seed``, and a query returns one
  of them picked by the benchmark's own generator (seeded by ``seed``) exactly as the table
  picks a repeat; re-querying a cell never draws fresh noise. Where the noise model holds the
  labels' marginal (rule 4), the runs pass through the monotone map onto it that training
  fitted on a reference draw of the whole space. An artifact trained with ``members=M``
  (rule 6) draws the runs of realization ``noise_seed`` around its ensemble member
  ``noise_seed mod M`` instead of the members' mean, so realizations differ by model
  uncertainty as well as by run noise; :meth:`SurrogateBenchmark.predict` stays the mean.
  With ``noise=False`` the predicted means come back and queries are deterministic.
- Budget counters charge the returned (predicted) training time and the epochs, as the table.
- ``get_metrics_from_hash/spec`` return ``(fixed, computed)`` with ``computed = {epochs:
  [run]}``: ONE run of predicted means (never noisy) with the official ``halfway_*`` and
  ``final_*`` keys. They never charge the budget.
- ``hash_iterator`` yields all 423,624 hashes in ascending order; ``valid_epochs`` are the
  budgets the artifact's targets cover.

Speed. An artifact storing its whole-space predictions (schema 4; :mod:`surrogate.quantized`)
is a table: queries look them up, never load a model nor import XGBoost or torch, and answer
the models' values within the stored resolution. Without them (schema 2 and 3, or
``--no-predictions``) the models answer, and whole-space predictions (``precompute``, ``nb101
rank``, ``full_cache=True``) go to the prediction cache (:mod:`surrogate.predictions`).
``benchmarks/bench_surrogate.py`` measures both.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
from collections.abc import Iterable, Iterator

import numpy as np

from nb101 import ArtifactError, CellSpace, format_target, parse_target
from nb101.paths import user_path
from nb101.protocol import EPOCHS, METRICS, BaseBenchmark

from .artifact import PREDICT_CHUNK, Artifact, load_artifact
from .predictions import PredictionCache
from .quantized import QuantizedColumn, member_name
from .run_levels import NoiseLevels
from .single import SingleQueries

_log = logging.getLogger(__name__)

__all__ = ["SurrogateBenchmark"]

_ACCURACIES = ("train_accuracy", "validation_accuracy", "test_accuracy")
#: Cells per pass of a batch's noise: a pass's arrays stay in the CPU's cache and in the
#: memory allocator's free lists (on a whole large batch at once, getting fresh memory from
#: the system costs more than the arithmetic); every step is per cell, so chunks change
#: nothing in the values.
_CHUNK = 32768


class SurrogateBenchmark(SingleQueries, NoiseLevels, BaseBenchmark):
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
    full_cache : bool, default=False
        For an artifact without stored predictions: predict the whole space for a target the
        first time it is needed (and write it to the prediction cache), rather than only the
        cells asked for: for a caller that will query most of the space anyway.
    prediction_cache : bool or path-like, default=True
        For an artifact without stored predictions: read its whole-space predictions from
        the per-machine prediction cache (:mod:`surrogate.predictions`) and write them there
        after a whole-space prediction; a path is the folder to use instead of the project
        cache folder; False: neither. Unused for an artifact that stores its predictions.
    space : CellSpace, optional

    Raises
    ------
    ArtifactError
        If the artifact is missing, stale, corrupt, lacks a required target, or ``noise=True``
        and it has no noise model.

    Examples
    --------
    >>> from nb101 import get_space
    >>> bench = SurrogateBenchmark(seed=0, noise=False)
    >>> 0 < bench.query(get_space().spec(0), epochs=108)["test_accuracy"] < 1
    True
    """

    def __init__(
        self,
        path: str | os.PathLike | Artifact | None = None,
        seed: int | None = None,
        *,
        noise: bool = True,
        num_repeats: int = 3,
        noise_seed: int = 0,
        require_targets: Iterable[str] | None = None,
        full_cache: bool = False,
        prediction_cache: bool | str | os.PathLike = True,
        space: CellSpace | None = None,
    ):
        super().__init__(seed=seed, space=space)
        if isinstance(path, Artifact):
            self.artifact = path
            path.require(require_targets)
        else:
            self.artifact = load_artifact(path, require_targets=require_targets, lazy=True)
        self.noise = bool(noise)
        if int(num_repeats) < 1:
            raise ValueError(f"num_repeats must be >= 1, got {num_repeats!r}")
        self.num_repeats = int(num_repeats)
        self.noise_seed = int(noise_seed)
        self._noise_keys: dict[tuple[str, int], np.uint64] = {}
        self.full_cache = bool(full_cache)
        if self.noise and self.artifact.noise is None:
            raise ArtifactError(
                f"surrogate artifact {self.artifact.path} has no noise model; use noise=False"
            )
        self._targets = frozenset(self.artifact.targets)
        # whole-space predictions come from the artifact; for one without them (older, or
        # trained with --no-predictions), from the per-machine cache of earlier predictions
        self.prediction_cache = None
        if self.artifact.predictions is None and prediction_cache is not False:
            folder = None if prediction_cache is True else user_path(prediction_cache)
            self.prediction_cache = PredictionCache(self.artifact.digest, folder)
        self._epochs = frozenset(parse_target(t).epochs for t in self._targets)
        self._sources = {
            (metric, epochs, halfway): self._source(metric, epochs, halfway)
            for metric in METRICS
            for epochs in EPOCHS
            for halfway in (False, True)
        }
        self._needed = {
            (epochs, halfway): tuple(
                dict.fromkeys(
                    self._sources[(m, epochs, halfway)][0]
                    for m in METRICS
                    if self._sources[(m, epochs, halfway)][0] is not None
                )
            )
            for epochs in EPOCHS
            for halfway in (False, True)
        }
        # the ensemble member the runs of a target come from (noise rule 6; absent: the mean)
        self._members = {
            t: self.noise_seed % m
            for t in self._targets
            if self.noise and (m := self.artifact.members(t)) > 1
        }
        # (target, ensemble member or None for the mean) -> predictions of every cell (NaN:
        # not predicted yet); _complete: the sources whose every cell is there
        self._cache: dict[tuple[str, int | None], np.ndarray] = {}
        self._complete: set[tuple[str, int | None]] = set()
        self._single: dict | bool | None = None  # see SingleQueries._run
        self._plans: dict[tuple[int, bool], tuple] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({str(self.artifact.path)!r}, seed={self.seed!r}, "
            f"noise={self.noise}, num_repeats={self.num_repeats})"
        )

    @property
    def targets(self) -> tuple[str, ...]:
        """The targets the artifact predicts."""
        return self.artifact.targets

    @property
    def valid_epochs(self) -> frozenset[int]:
        return self._epochs

    def fields(self) -> dict[str, dict[int, str | None]]:
        """Where each answered field comes from: ``"[halfway_]<metric>"`` -> budget -> the
        target predicting it (``"training_time@108 x 12/108"``, ``"training_time@108 / 2"``
        where derived), or None where the answer is ``None``. Never predicts anything."""
        out: dict[str, dict[int, str | None]] = {}
        for halfway in (False, True):
            for metric in METRICS:
                row = {}
                for epochs in EPOCHS:
                    target, factor = self._sources[(metric, epochs, halfway)]
                    if target is None or factor == 1.0:
                        row[epochs] = target
                        continue
                    scaled = parse_target(target).epochs != epochs
                    row[epochs] = (
                        target
                        + (f" x {epochs}/108" if scaled else "")
                        + (" / 2" if halfway else "")
                    )
                out[f"{'halfway_' if halfway else ''}{metric}"] = row
        return out

    # ------------------------------------------------------------------- predictions
    def predict(self, target: str, indices: np.ndarray) -> np.ndarray:
        """Predicted mean of ``target`` for cell indices (cached; never charges the budget).

        Raises
        ------
        KeyError
            If the artifact has no model for ``target``.
        """
        indices = np.asarray(indices, dtype=np.int64)
        source = (target, None)
        self._fill((source,), indices)
        return self._cache[source][indices]

    def prefetch(self, indices: np.ndarray, targets: Iterable[str] | None = None) -> None:
        """Predict now what queries of cells ``indices`` will need for ``targets`` (default
        all): what their runs are drawn around (the mean, or the realization's ensemble
        member), in one model call per target."""
        targets = list(targets if targets is not None else self.targets)
        self._fill([self._run_source(t) for t in targets], np.asarray(indices, dtype=np.int64))

    def _run_source(self, target: str) -> tuple[str, int | None]:
        """What a simulated run of ``target`` is drawn around: the mean, or with noise the
        member ``noise_seed mod M`` of an ensemble of M > 1 members (noise rule 6)."""
        return target, self._members.get(target)

    def _predict_sources(
        self, sources: Iterable[tuple[str, int | None]], cells: np.ndarray
    ) -> Iterator[tuple[tuple[str, int | None], np.ndarray]]:
        """``(source, predictions of cells)`` for each source: one featurization per member
        (or the mean) for all the targets that need it."""
        sources = list(sources)
        for member in dict.fromkeys(m for _, m in sources):
            targets = [t for t, m in sources if m == member]
            for target, values in self.artifact.predict_targets(targets, cells, member).items():
                yield (target, member), values

    def _fill(self, sources: Iterable[tuple[str, int | None]], indices: np.ndarray) -> None:
        """Predict the cells of ``indices`` that ``sources`` ((target, member or None for
        the mean)) lack in the cache: those cells only, the features made once for all of
        them (or the whole space with ``full_cache``)."""
        lacking = {}
        for source in sources:
            cache = self._source_cache(source)  # the stored predictions, where there are
            if source in self._complete:
                continue
            missing = np.isnan(cache[indices])
            if missing.any():
                lacking[source] = missing
        if not lacking:
            return
        if self.full_cache:
            self._precompute(list(lacking))
            return
        cells = np.unique(indices[np.logical_or.reduce(list(lacking.values()))])
        for source, values in self._predict_sources(lacking, cells):
            cache = self._cache[source]
            new = np.isnan(cache[cells])
            cache[cells[new]] = values[new]

    def _source_cache(self, source: tuple[str, int | None]) -> np.ndarray | QuantizedColumn:
        """The predictions of every cell for ``source``: the whole-space ones of the artifact
        (a :class:`~surrogate.quantized.QuantizedColumn`, read like a float array) or of the
        prediction cache on first need, else NaN until predicted."""
        cache = self._cache.get(source)
        if cache is None:
            target = source[0]
            if target not in self._targets:
                raise KeyError(f"no model for target {target!r}; targets: {self.targets}")
            name, stored = member_name(*source), None
            if self.artifact.predictions is not None:  # as codes, dequantized where read
                stored = self.artifact.predictions.column(name)
            elif self.prediction_cache is not None:
                stored = self.prediction_cache.load(name)
            if stored is not None:
                self._complete.add(source)
            cache = self._cache[source] = (
                stored if stored is not None else np.full(len(self.space), np.nan)
            )
        return cache

    def precompute(
        self, targets: Iterable[str] | None = None, *, progress: bool | None = None
    ) -> None:
        """Predict every cell of the space for ``targets`` (default all) into the cache and
        write the new ones to the prediction cache (see the module docstring).

        Parameters
        ----------
        targets : iterable of str, optional
        progress : bool, optional
            A tqdm bar over the cells; default: on a terminal.
        """
        targets = list(targets if targets is not None else self.targets)
        sources = [(t, None) for t in targets] + [
            self._run_source(t) for t in targets if t in self._members
        ]
        self._precompute(sources, progress)

    def _precompute(
        self, sources: list[tuple[str, int | None]], progress: bool | None = None
    ) -> None:
        todo = [
            s
            for s in sources  # _source_cache: the stored predictions, where there are
            if np.isnan(self._source_cache(s)).any()
        ]
        if not todo:
            return
        from tqdm.auto import tqdm

        if progress is None:
            progress = sys.stderr.isatty()
        cells = np.arange(len(self.space))
        with tqdm(
            total=len(cells),
            unit=" cells",
            unit_scale=True,
            desc=f"predicting the space ({len(todo)} targets)",
            disable=not progress,
        ) as bar:
            for start in range(0, len(cells), PREDICT_CHUNK):
                chunk = cells[start : start + PREDICT_CHUNK]
                for source, values in self._predict_sources(todo, chunk):
                    cache = self._cache[source]  # values already given out stay as they are
                    cache[chunk] = np.where(np.isnan(cache[chunk]), values, cache[chunk])
                bar.update(len(chunk))
        self._complete.update(todo)
        if self.prediction_cache is not None:
            try:
                self.prediction_cache.save({member_name(*s): self._cache[s] for s in todo})
            except OSError as exc:  # a read-only cache folder costs speed, not correctness
                _log.warning(
                    "could not write the prediction cache %s: %s", self.prediction_cache.path, exc
                )

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

    def _mean(
        self, metric: str, epochs: int, halfway: bool, indices: np.ndarray, runs: bool = False
    ) -> tuple[np.ndarray | None, str | None, float]:
        """Predicted mean of a metric (``runs``: what its runs are drawn around), the target
        whose noise applies, and a factor that scales the value after the noise (resolved
        once, at construction). The cache must hold the cells."""
        target, factor = self._sources[(metric, epochs, halfway)]
        if target is None:
            return None, None, 1.0
        source = self._run_source(target) if runs else (target, None)
        return self._cache[source].take(indices), target, factor

    def _runs(self, indices: np.ndarray, epochs: int, stop_halfway: bool) -> dict[str, np.ndarray]:
        indices = np.asarray(indices, dtype=np.int64)
        self._fill(
            [self._run_source(t) for t in self._needed[(epochs, stop_halfway)]], indices
        )  # one featurization
        repeat = self._draw(np.full(len(indices), self.num_repeats)) if self.noise else None
        out = {}
        for metric in METRICS:  # the chunks fill every cell of a metric with a source
            answered = self._sources[(metric, epochs, stop_halfway)][0] is not None
            out[metric] = np.empty(len(indices)) if answered else np.full(len(indices), np.nan)
        for start in range(0, len(indices), _CHUNK):
            part = slice(start, start + _CHUNK)
            runs = self._chunk_runs(
                indices[part], None if repeat is None else repeat[part], epochs, stop_halfway
            )
            for metric, values in runs.items():
                out[metric][part] = values
        return out

    def _chunk_runs(
        self, indices: np.ndarray, repeat: np.ndarray | None, epochs: int, stop_halfway: bool
    ) -> dict[str, np.ndarray]:
        """:meth:`_runs` of a chunk of cells whose predictions are in the cache, and their
        drawn repeats (None without noise); a metric without a source is left out."""
        if self.noise:
            u_acc = self._noise_levels("accuracy", epochs, repeat, indices)
            u_time = self._noise_levels("training_time", epochs, repeat, indices)
        out = {}
        cell_levels: dict[str, np.ndarray] = {}  # rule-5 levels, shared by a stream's targets
        for metric in METRICS:
            mean, target, factor = self._mean(metric, epochs, stop_halfway, indices, runs=True)
            if mean is None:
                continue
            if self.noise:
                u = u_time if metric == "training_time" else u_acc
                mean = self.artifact.noise.perturb(
                    target,
                    mean,
                    u,
                    self._error_levels(target, indices, cell_levels),
                    self._members.get(target),
                )
            out[metric] = mean * factor if factor != 1.0 else mean
        return out

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
        self._fill([(t, None) for t in self.targets], idx)  # one featurization for all
        for epochs in sorted(self.valid_epochs):
            run = {}
            for when in ("halfway", "final"):
                for metric in METRICS:
                    mean, _, factor = self._mean(metric, epochs, when == "halfway", idx)
                    run[f"{when}_{metric}"] = None if mean is None else float(mean[0] * factor)
            computed[epochs] = [run]
        return copy.deepcopy(fixed), computed
