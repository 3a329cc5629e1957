"""Library optimizers on the project's ask/tell interface: the shared adapter.

An external optimizer searches the flat config space of an encoding of :mod:`hpo.encodings`
(encoding ``"A"`` by default: 21 edge bits and the ops of the 5 interior vertices, HPOBench's
``NASCifar10A``). A config it proposes becomes a cell through
:func:`hpo.encodings.config_cell`, the one invalid-config rule of the project:

* a valid config's cell is projected onto the track's covered cells
  (:meth:`eval.optimizers.Problem.project`, as the moves of the project's own optimizers are)
  and queried through the run loop, which charges the budget;
* an invalid config (more than 9 edges, or input and output disconnected) is answered at
  once with :func:`hpo.encodings.failed_result` (objective 0), as HPOBench answers it: it
  charges nothing and is no query of the run.

A library that raises, proposes a malformed config (a name missing, a value out of range or
NaN), keeps proposing invalid configs or has nothing left to propose stops the run with
:class:`ExternalOptimizerError`, naming the optimizer and the config. A query the backend
answers with NaN is told to the library as a failed trial.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from ...errors import EvalConfigError
from ..base import Ask, Optimizer

__all__ = ["ExternalOptimizer", "ExternalOptimizerError"]


class ExternalOptimizerError(RuntimeError):
    """An external optimizer failed: its library raised, or it proposed a config outside the
    space (or only invalid ones). The message names the optimizer and the config.

    Attributes
    ----------
    optimizer : str
        Registry name of the optimizer.
    config : dict or None
        The config it proposed last (None if it failed before proposing one).
    """

    def __init__(self, message: str, *, optimizer: str = "", config: dict | None = None):
        super().__init__(message)
        self.optimizer = optimizer
        self.config = config

    def __reduce__(self):  # keep the attributes across processes (joblib, Dask)
        return (_rebuild_error, (str(self), self.optimizer, self.config))


def _rebuild_error(message: str, optimizer: str, config: dict | None) -> ExternalOptimizerError:
    return ExternalOptimizerError(message, optimizer=optimizer, config=config)


class ExternalOptimizer(Optimizer):
    """Base of the library adapters: one config per ask, the invalid-config rule, errors.

    Subclasses set :attr:`library` (import name), :attr:`extra` (the pip extra that installs
    it) and implement :meth:`_start`, :meth:`_next`, :meth:`_result` and :meth:`_failed`
    (and :meth:`_invalid` where an invalid config needs more than a result).

    Parameters
    ----------
    encoding : str
        Encoding of :mod:`hpo.encodings` the library searches (default ``"A"``).
    max_invalid : int
        Invalid configs in a row after which the run stops with
        :class:`ExternalOptimizerError` (they cost nothing, so a library that proposes only
        invalid configs would otherwise never spend the budget).
    """

    #: Import name of the library (checked by :meth:`check_available`).
    library: ClassVar[str]
    #: Its distribution name (its version goes into the run cache's file names).
    distribution: ClassVar[str]
    #: The package extra that installs it.
    extra: ClassVar[str]
    #: External optimizers are told apart from the project's own in the report.
    external: ClassVar[bool] = True

    def __init__(self, *, encoding: str = "A", max_invalid: int = 10_000):
        self.encoding = encoding
        self.max_invalid = max_invalid

    @classmethod
    def check_available(cls) -> None:
        """:class:`EvalConfigError` naming the extra to install when the library (or
        :mod:`hpo`) is missing."""
        for module in (cls.library, "hpo"):
            if importlib.util.find_spec(module) is None:
                raise EvalConfigError(
                    f"optimizer {cls.name!r} needs the {module!r} package, which is not "
                    f"installed; install the extra: pip install 'nb101-surrogate[{cls.extra}]'"
                    + (
                        " (then pip install --no-deps syne-tune==0.16.0)"
                        if cls.library == "syne_tune"
                        else ""
                    )
                )

    @classmethod
    def version(cls) -> str:
        """The installed version of the library (``"unknown"`` if it has none)."""
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(cls.distribution)
        except PackageNotFoundError:
            return "unknown"

    # ------------------------------------------------------------- the ask/tell interface
    def setup(self, problem) -> None:
        super().setup(problem)
        self.check_available()
        from hpo.encodings import failed_result, get_encoding

        self._encoding = get_encoding(self.encoding)
        self._invalid_value = float(failed_result()[problem.track.objective])
        self._pending: tuple[Any, dict, int] | None = None
        self.invalid_configs = 0
        # the library's seed comes from the run's generator: same run seed, same run
        self._call(self._start, int(problem.rng.integers(2**31 - 1)))

    def ask(self) -> Ask:
        config: dict | None = None
        for _ in range(self.max_invalid):
            token, config, epochs = self._call(self._next)
            cell = self._cell(config)
            if cell is not None:
                self._pending = (token, config, cell)
                return Ask(np.array([cell], dtype=np.int64), int(epochs))
            self.invalid_configs += 1
            self._call(self._invalid, token, int(epochs), config=config)
        raise ExternalOptimizerError(
            f"external optimizer {self.name!r} proposed {self.max_invalid} invalid configs in "
            f"a row (the last: {config})",
            optimizer=self.name,
            config=config,
        )

    def tell(self, ask: Ask, values: np.ndarray) -> None:
        token, config, _ = self._pending
        value = float(values[0])
        if np.isfinite(value):
            self._call(self._result, token, value, int(ask.epochs), config=config)
        else:
            self._call(self._failed, token, config=config)

    # ---------------------------------------------------------------------- the adapter
    def _start(self, seed: int) -> None:
        """Create the library's optimizer, seeded with ``seed``."""
        raise NotImplementedError

    def _next(self) -> tuple[Any, dict, int]:
        """The library's next proposal: ``(token, config, epochs)``; the token comes back to
        :meth:`_result` / :meth:`_failed`."""
        raise NotImplementedError

    def _result(self, token: Any, value: float, epochs: int) -> None:
        """Tell the library the objective of a proposal at ``epochs``."""
        raise NotImplementedError

    def _failed(self, token: Any) -> None:
        """Tell the library that a proposal has no value (NaN from the backend)."""
        raise NotImplementedError

    def _invalid(self, token: Any, epochs: int) -> None:
        """Tell the library the invalid rule's answer to an invalid config."""
        self._result(token, self._invalid_value, epochs)

    # ------------------------------------------------------------------------ helpers
    def _cell(self, config: dict) -> int | None:
        """The covered cell a config is evaluated on, None if it is invalid."""
        from hpo.encodings import ConfigError, config_cell

        try:
            return config_cell(config, encoding=self._encoding, cell_map=self._project)
        except ConfigError as exc:
            raise ExternalOptimizerError(
                f"external optimizer {self.name!r} proposed a config outside the space of "
                f"encoding {self._encoding.name!r}: {exc} (config: {config})",
                optimizer=self.name,
                config=config,
            ) from exc

    def _project(self, cell: int) -> int:
        return int(self.problem.project(np.array([cell], dtype=np.int64))[0])

    def _call(self, fn: Callable, *args, config: dict | None = None):
        """``fn(*args)``; any exception becomes :class:`ExternalOptimizerError`."""
        try:
            return fn(*args)
        except ExternalOptimizerError:
            raise
        except Exception as exc:
            where = "" if config is None else f" on config {config}"
            raise ExternalOptimizerError(
                f"external optimizer {self.name!r} failed in {fn.__name__.lstrip('_')}"
                f"{where}: {type(exc).__name__}: {exc}",
                optimizer=self.name,
                config=config,
            ) from exc
