"""Syne Tune blackboxes of NAS-Bench-101: every Syne Tune scheduler in simulated time.

Syne Tune's blackbox repository simulates a tuning run on a :class:`Blackbox` (HPOBench's
interface: ``objective_function(configuration, fidelity, seed)``) with
``UserBlackboxBackend``; this module provides the blackboxes, for a table and for a
surrogate, over a config space of :mod:`hpo.encodings`::

    require("syne_tune", "syne", "simulating Syne Tune schedulers")
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.tuner_logger import TunerLogger
    from syne_tune.optimizer.baselines import ASHA

    blackbox = SurrogateBlackbox(encoding="A")                # or TableBlackbox(table)
    backend = UserBlackboxBackend(blackbox, elapsed_time_attr="elapsed_time", seed=0,
                                  support_checkpointing=False)
    scheduler = ASHA(blackbox.configuration_space, metric="validation_error",
                     do_minimize=True, time_attr="epochs", max_t=108, grace_period=4,
                     reduction_factor=3, random_seed=0)
    Tuner(backend, scheduler, StoppingCriterion(max_num_trials_started=50), n_workers=4,
          sleep_time=0, callbacks=[SimulatorCallback()]).run()

(:func:`simulate` does these lines and returns the results as a data frame.)

What a blackbox answers
-----------------------
Fidelity ``epochs`` in 4, 12, 36, 108 (those of the backend); objectives
``validation_accuracy``, ``validation_error`` (1 - accuracy), ``test_accuracy``,
``test_error`` (NaN where the backend lacks them, e.g. the bundled surrogate's test accuracy
below 108 epochs) and ``elapsed_time``: the training time of the run at that budget. In
NAS-Bench-101 every budget is a separate training, and the original API charges a query at a
budget with that budget's training time (a table lacking it at a budget, like the real
data below 108 epochs: the 108-epoch time scaled by ``epochs / 108``, as the surrogate and the
multi-fidelity track derive it); ``support_checkpointing=False`` makes the simulation
charge exactly that (a trial resumed from 4 to 12 epochs costs both trainings), the default
``True`` charges only the difference, as if training continued.

Seeds: a table's seed ``s`` is the cell's ``s``-th stored run (``s mod`` the number of runs;
a field that run lacks comes from the ``(s mod k)``-th of the ``k`` runs that have it, as the
table's ``query`` fills it); a surrogate's seed ``s`` is its noise realization ``noise_seed=s``
(one simulated run per cell and budget). ``seed=None`` (Syne Tune's default for user
blackboxes unless the backend gets ``seed``) means seed 0. Same seed, same numbers.

An invalid config (:func:`hpo.encodings.config_cell`) gets accuracies 0, errors 1 and
elapsed time 0 at every budget (Syne Tune then bumps the time to 0.01 s).

Installing: ``pip install -e ".[syne]"`` then ``pip install --no-deps syne-tune==0.16.0``
(syne-tune requires the ``xgboost`` distribution, which would clobber ``xgboost-cpu``).
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from nb101 import CellSpace, PartialTableError, get_space
from nb101._optional import require
from nb101.protocol import EPOCHS

from .encodings import Encoding, config_cell, get_encoding

# TableBlackbox and SurrogateBlackbox are built on first access (module __getattr__), so that
# importing this module does not import Syne Tune.
__all__ = ["OBJECTIVES", "TableBlackbox", "SurrogateBlackbox", "simulate"]  # noqa: F822

#: The objectives of every blackbox, in this order.
OBJECTIVES = (
    "validation_accuracy",
    "validation_error",
    "test_accuracy",
    "test_error",
    "elapsed_time",
)
_FAILED = (0.0, 1.0, 0.0, 1.0, 0.0)


def _blackbox_base():
    blackbox = require("syne_tune.blackbox_repository.blackbox", "syne", "Syne Tune blackboxes")
    return blackbox.Blackbox


class _NB101Blackbox:
    """Shared logic; the public classes subclass Syne Tune's ``Blackbox`` as well."""

    def _setup(self, epochs, encoding, space, cell_map) -> None:
        from syne_tune.config_space import ordinal

        self.encoding: Encoding = get_encoding(encoding)
        self.space: CellSpace = get_space() if space is None else space
        self.cell_map = cell_map
        self._epochs = tuple(int(e) for e in sorted(epochs))
        _blackbox_base().__init__(
            self,
            configuration_space=self.encoding.syne_tune_space(),
            fidelity_space={"epochs": ordinal(list(self._epochs))},
            objectives_names=list(OBJECTIVES),
        )

    @property
    def fidelity_values(self) -> np.ndarray:
        """The budgets in epochs, ascending."""
        return np.array(self._epochs)

    def cell(self, configuration: Mapping[str, Any]) -> int | None:
        """The cell a configuration is evaluated on (None: invalid, see the module doc)."""
        return config_cell(
            configuration, encoding=self.encoding, space=self.space, cell_map=self.cell_map
        )

    def _objective_function(self, configuration, fidelity=None, seed=None):
        seed = 0 if seed is None else int(seed)
        cell = self.cell(configuration)
        rows = np.array(
            [_FAILED] * len(self._epochs) if cell is None else self._rows(cell, seed),
            dtype=np.float64,
        )
        if fidelity is None:
            return rows
        epochs = int(fidelity["epochs"])
        if epochs not in self._epochs:
            raise ValueError(f"fidelity epochs={epochs!r} is not one of {list(self._epochs)}")
        return dict(zip(OBJECTIVES, rows[self._epochs.index(epochs)].tolist()))

    def _rows(self, cell: int, seed: int) -> list[tuple[float, ...]]:
        """One row of :data:`OBJECTIVES` per budget for a valid cell."""
        raise NotImplementedError


def _row(validation, test, time) -> tuple[float, ...]:
    validation = np.nan if validation is None else float(validation)
    test = np.nan if test is None else float(test)
    time = np.nan if time is None else float(time)
    return validation, 1.0 - validation, test, 1.0 - test, time


def _pick(runs: list[dict], seed: int, field: str) -> float | None:
    """The field of run ``seed mod n``, else of the ``(seed mod n) mod k``-th of the ``k``
    runs that have it (the table's rule for a field the drawn run lacks)."""
    drawn = seed % len(runs)
    value = runs[drawn].get(field)
    if value is None:
        having = [r[field] for r in runs if r.get(field) is not None]
        value = having[drawn % len(having)] if having else None
    return value


def _table_class():
    Blackbox = _blackbox_base()

    class TableBlackbox(_NB101Blackbox, Blackbox):
        __doc__ = _TABLE_DOC

        def __init__(
            self,
            table,
            *,
            encoding: str | Encoding = "A",
            cell_map: Callable[[int], int] | None = None,
        ):
            self.table = table
            self._setup(
                [e for e in EPOCHS if e in table.valid_epochs], encoding, table.space, cell_map
            )

        @property
        def num_seeds(self) -> int:
            return 3

        def _rows(self, cell: int, seed: int) -> list[tuple[float, ...]]:
            module_hash = self.space.hash(cell)
            _, computed = self.table.get_metrics_from_hash(module_hash)
            full = computed.get(108)
            time_108 = _pick(full, seed, "final_training_time") if full else None
            rows = []
            for epochs in self._epochs:
                runs = computed.get(epochs)
                validation = _pick(runs, seed, "final_validation_accuracy") if runs else None
                time = _pick(runs, seed, "final_training_time") if runs else None
                if time is None and time_108 is not None:  # the surrogate's and tracks' rule
                    time = time_108 * epochs / 108
                if validation is None or time is None:
                    raise PartialTableError(
                        f"the table {getattr(self.table, 'path', '')} has no "
                        f"{'validation accuracy' if validation is None else 'training time'} "
                        f"of cell {module_hash} (index {cell}) at {epochs} epochs; give the "
                        f"blackbox a cell_map onto the cells it covers"
                    )
                rows.append(_row(validation, _pick(runs, seed, "final_test_accuracy"), time))
            return rows

    return TableBlackbox


def _surrogate_class():
    Blackbox = _blackbox_base()

    class SurrogateBlackbox(_NB101Blackbox, Blackbox):
        __doc__ = _SURROGATE_DOC

        def __init__(
            self,
            artifact=None,
            *,
            encoding: str | Encoding = "A",
            num_seeds: int = 3,
            cell_map: Callable[[int], int] | None = None,
            space: CellSpace | None = None,
        ):
            from surrogate import SurrogateBenchmark
            from surrogate.artifact import Artifact, load_artifact

            self.artifact = (
                artifact if isinstance(artifact, Artifact) else load_artifact(artifact, lazy=True)
            )
            self._num_seeds = int(num_seeds)
            self._benches: dict[int, Any] = {}
            self._make = lambda s: SurrogateBenchmark(
                self.artifact, seed=0, noise=True, num_repeats=1, noise_seed=s, space=self.space
            )
            self.space = get_space() if space is None else space
            self._setup(self._bench(0).valid_epochs, encoding, self.space, cell_map)

        @property
        def num_seeds(self) -> int:
            return self._num_seeds

        def _bench(self, seed: int):
            if seed not in self._benches:
                self._benches[seed] = self._make(seed)
            return self._benches[seed]

        def _rows(self, cell: int, seed: int) -> list[tuple[float, ...]]:
            bench = self._bench(seed)
            index = np.array([cell], dtype=np.int64)
            rows = []
            for epochs in self._epochs:
                run = bench.query_batch(index, epochs=epochs)
                values = [
                    float(run[m][0])
                    for m in ("validation_accuracy", "test_accuracy", "training_time")
                ]
                rows.append(_row(*(None if math.isnan(v) else v for v in values)))
            return rows

    return SurrogateBlackbox


_TABLE_DOC = """A Syne Tune ``Blackbox`` over a table
    (:class:`nb101.tabular_benchmark.TabularBenchmark`).

    Parameters
    ----------
    table : TabularBenchmark
        Its ``get_metrics_from_hash`` runs are read (nothing is charged).
    encoding : str or Encoding, default="A"
    cell_map : callable, optional
        Cell index -> the cell evaluated, for a partial table (e.g. a track's nearest covered
        cell); a cell the table lacks raises :class:`nb101.PartialTableError`.

    Attributes
    ----------
    num_seeds : int
        3 (the official repeats; a table with one run per cell gives it for every seed).
    """

_SURROGATE_DOC = """A Syne Tune ``Blackbox`` over a surrogate artifact.

    Parameters
    ----------
    artifact : path-like or Artifact, optional
        Default: the bundled artifact.
    encoding : str or Encoding, default="A"
    num_seeds : int, default=3
        Seed ``s`` is the noise realization ``noise_seed=s`` of
        :class:`surrogate.SurrogateBenchmark` (one simulated run per cell and budget).
    cell_map : callable, optional
        Cell index -> the cell evaluated.
    space : CellSpace, optional
    """


def __getattr__(name: str):  # the classes need Syne Tune: build them on first use
    if name in ("TableBlackbox", "SurrogateBlackbox"):
        cls = (_table_class if name == "TableBlackbox" else _surrogate_class)()
        cls.__module__, cls.__qualname__ = __name__, name  # picklable, readable repr
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def simulate(
    blackbox,
    scheduler,
    *,
    n_workers: int = 4,
    max_num_trials_started: int | None = None,
    max_wallclock_time: float | None = None,
    seed: int = 0,
    support_checkpointing: bool = False,
    folder: str | os.PathLike | None = None,
    verbose: bool = False,
    count_scheduler_time: bool = False,
):
    """Run a Syne Tune scheduler on a blackbox in simulated time; the results as a data frame.

    Parameters
    ----------
    blackbox : TableBlackbox or SurrogateBlackbox
    scheduler : syne_tune scheduler
        Built on ``blackbox.configuration_space`` with ``time_attr="epochs"`` where it has one.
    n_workers : int, default=4
    max_num_trials_started, max_wallclock_time : optional
        The stopping criterion (simulated seconds for the time); at least one is needed.
    seed : int, default=0
        The blackbox seed of every trial (see the module docstring), and the seed of NumPy's
        global generator during the run (Syne Tune 0.16 draws from it; the caller's state is
        restored afterwards). With the scheduler's ``random_seed``, a rerun gives identical
        results.
    support_checkpointing : bool, default=False
        False charges every budget's full training, as the original API.
    folder : path-like, optional
        Where Syne Tune writes its files (default: a temporary folder, removed afterwards).
    verbose : bool, default=False
        Let Syne Tune print its progress (errors are printed either way).
    count_scheduler_time : bool, default=False
        Syne Tune adds the real seconds its tuner and scheduler spend to the simulated time;
        by default they are left out, so that simulated time is training time alone (as
        the original API's budget counters count it) and a rerun gives identical results.

    Returns
    -------
    pandas.DataFrame
        One row per reported result (``trial_id``, ``epochs``, the objectives, the config and
        ``st_tuner_time``, the simulated time).
    """
    require("syne_tune", "syne", "simulating Syne Tune schedulers")
    from syne_tune import StoppingCriterion, Tuner
    from syne_tune.backend.simulator_backend.simulator_callback import SimulatorCallback
    from syne_tune.blackbox_repository import UserBlackboxBackend
    from syne_tune.tuner_logger import TunerLogger

    if max_num_trials_started is None and max_wallclock_time is None:
        raise ValueError("simulate needs max_num_trials_started or max_wallclock_time")
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="nb101-syne-") as scratch:
            return simulate(
                blackbox,
                scheduler,
                n_workers=n_workers,
                max_num_trials_started=max_num_trials_started,
                max_wallclock_time=max_wallclock_time,
                seed=seed,
                support_checkpointing=support_checkpointing,
                folder=scratch,
                verbose=verbose,
                count_scheduler_time=count_scheduler_time,
            )
    folder = Path(folder)
    backend_class = (
        UserBlackboxBackend if count_scheduler_time else _training_time_only(UserBlackboxBackend)
    )
    backend = backend_class(
        blackbox=blackbox,
        elapsed_time_attr="elapsed_time",
        seed=seed,
        support_checkpointing=support_checkpointing,
    )
    callback = SimulatorCallback()
    tuner = Tuner(
        trial_backend=backend,
        scheduler=scheduler,
        stop_criterion=StoppingCriterion(
            max_num_trials_started=max_num_trials_started, max_wallclock_time=max_wallclock_time
        ),
        n_workers=n_workers,
        sleep_time=0,
        callbacks=[callback],
        results_update_interval=3600,
        print_update_interval=3600,
        save_tuner=False,
        trial_backend_path=str(folder),
        output_logger=TunerLogger() if verbose else _quiet_logger(TunerLogger)(),
    )
    tuner.tuner_path = Path(folder)  # instead of ~/syne-tune/<name>
    # Syne Tune 0.16 draws some samples from NumPy's global generator whatever the
    # scheduler's random_seed: seed it for the run, then give the caller's state back.
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        if verbose:
            tuner.run()
        else:
            with contextlib.redirect_stdout(io.StringIO()):  # it prints a summary regardless
                tuner.run()
    finally:
        np.random.set_state(state)
    return callback.dataframe()


def _quiet_logger(base: type) -> type:
    """A ``TunerLogger`` that prints nothing but errors."""
    silent = {
        name: (lambda *args, **kwargs: None)
        for name in dir(base)
        if name.startswith("print_") and name != "print_error"
    }
    return type("QuietTunerLogger", (base,), silent)


def _training_time_only(base: type) -> type:
    """The simulator backend without the real time spent outside it (scheduler decisions),
    which would make simulated times, and so the runs, differ from rerun to rerun."""

    class TrainingTimeOnlyBackend(base):
        def _advance_by_outside_time(self):  # Syne Tune 0.16's one place that adds it
            pass

    return TrainingTimeOnlyBackend
