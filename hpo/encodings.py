"""The NAS-Bench-101 search space as a flat config space for external optimizers.

An optimizer from a library (Optuna, Syne Tune, SMAC, DEHB, ...) searches a flat dict of
named values, a *config*. An :class:`Encoding` maps such a config to a
:class:`nb101.ModelSpec` and back, and describes its space for each library. Two of the
encodings of the NAS-Bench-101 paper (Ying et al. 2019), with the names, ranges and decoding
of HPOBench's ``nasbench_101`` benchmarks (``NASCifar10A`` / ``NASCifar10C``, from
``automl/nas_benchmarks``), so that a config of one of them is a config here:

``"A"`` (discrete)
    ``edge_0`` .. ``edge_20`` in {0, 1}: the 21 entries of the 7x7 upper triangle in row-major
    order (``numpy.triu_indices(7, k=1)``: (0,1), (0,2), ..., (0,6), (1,2), ...), and
    ``op_node_0`` .. ``op_node_4``: the op of interior vertex 1..5, one of
    :data:`OP_CHOICES`.
``"C"`` (continuous)
    ``num_edges`` in 0..9, ``edge_0`` .. ``edge_20`` in [0, 1] (the same 21 positions) and
    the five ``op_node_*``: the cell has an edge at the ``num_edges`` positions of highest
    value (ties: the lower position first).

The invalid-config rule
-----------------------
A well-formed config whose graph is no cell of the space (more than :data:`nb101.MAX_EDGES`
edges counted before pruning, as HPOBench counts them; or no input-to-output path, e.g.
``num_edges=0``) is *invalid*: :meth:`Encoding.to_spec` raises :class:`InvalidConfigError`,
and :func:`config_cell`, the one function through which every adapter of this package
(and :func:`query_config`) maps a config to a cell, returns None: the adapters answer it with
:func:`failed_result`, as HPOBench's ``objective_function`` answers it: every accuracy 0
(validation error 1), training time 0, nothing charged to the backend's budget counters,
``valid=False``. Vertices that are not on an input-to-output path are pruned, as
``ModelSpec`` prunes them; such a config is valid. A *malformed* config (a name missing or
unknown, a value outside its range) is an optimizer's mistake, not a point of the space: it
raises :class:`ConfigError` everywhere.

Every cell has one *canonical config* (:meth:`Encoding.from_spec`,
:meth:`Encoding.from_index`): its canonical representative (:meth:`nb101.CellSpace.graph`)
with the output moved to vertex 6, the missing interior vertices (if it has fewer than 7)
left without edges and labelled :data:`PAD_OP`; for ``"C"`` its edges valued 1.0, the others
0.0, and ``num_edges`` their count.

Example
-------
>>> enc = get_encoding("A")
>>> config = enc.from_index(0)
>>> enc.to_index(config)
0
>>> space = enc.configspace(seed=0)                       # doctest: +SKIP
>>> result = query_config(bench, config, encoding=enc, epochs=12)   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nb101 import (
    CONV1X1,
    CONV3X3,
    MAX_EDGES,
    MAXPOOL3X3,
    NUM_VERTICES,
    CellSpace,
    ModelSpec,
    OutOfDomainError,
    get_space,
)
from nb101._optional import require
from nb101.model_spec import INPUT, OUTPUT

__all__ = [
    "Encoding",
    "ENCODINGS",
    "get_encoding",
    "InvalidConfigError",
    "ConfigError",
    "query_config",
    "config_cell",
    "failed_result",
    "OP_CHOICES",
    "PAD_OP",
    "EDGES",
]

#: Op choices of every ``op_node_*``, in HPOBench's order.
OP_CHOICES = (CONV1X1, CONV3X3, MAXPOOL3X3)
#: Op of the padding vertices of a canonical config (pruned away, so any op would do).
PAD_OP = CONV3X3
#: The 21 upper-triangle positions ``(row, column)`` of ``edge_0`` .. ``edge_20``.
EDGES = tuple(zip(*(a.tolist() for a in np.triu_indices(NUM_VERTICES, k=1))))
_NUM_OPS = NUM_VERTICES - 2
_EDGE_NAMES = tuple(f"edge_{i}" for i in range(len(EDGES)))
_OP_NAMES = tuple(f"op_node_{i}" for i in range(_NUM_OPS))
_ROWS = np.array([r for r, _ in EDGES])
_COLS = np.array([c for _, c in EDGES])


class ConfigError(ValueError):
    """A config that is not a point of the encoding's space: a name missing or unknown, or a
    value outside its range (an optimizer's mistake; never answered by the invalid rule)."""


class InvalidConfigError(OutOfDomainError):
    """A well-formed config whose graph is no NAS-Bench-101 cell (too many edges, or input
    and output disconnected); :func:`query_config` answers it with :func:`failed_result`."""


class Encoding:
    """One flat encoding of the cell space (use :func:`get_encoding`).

    Attributes
    ----------
    name : str
        ``"A"`` or ``"C"`` (HPOBench's ``NASCifar10A`` / ``NASCifar10C``).
    names : tuple of str
        Every config key, in a fixed order.
    """

    def __init__(self, name: str):
        if name not in ("A", "C"):
            raise ValueError(f"unknown encoding {name!r}; choices: ['A', 'C']")
        self.name = name
        self.continuous = name == "C"
        head = ("num_edges",) if self.continuous else ()
        self.names = head + _EDGE_NAMES + _OP_NAMES

    def __repr__(self) -> str:
        return f"get_encoding({self.name!r})"

    # ------------------------------------------------------------------ config <-> graph
    def check(self, config: Mapping[str, Any]) -> None:
        """Raise :class:`ConfigError` unless ``config`` is a point of this encoding's space.

        Raises
        ------
        ConfigError
            Naming the key and the value got (and what is allowed).
        """
        if not isinstance(config, Mapping):
            raise ConfigError(
                f"a config must be a mapping of names to values, got {type(config).__name__}"
            )
        missing = [n for n in self.names if n not in config]
        unknown = sorted(set(config) - set(self.names))
        if missing or unknown:
            raise ConfigError(
                f"config of encoding {self.name!r} must have exactly the keys "
                f"edge_*, op_node_*{', num_edges' if self.continuous else ''}; "
                f"missing {missing}, unknown {unknown}"
            )
        for name in _OP_NAMES:
            if not (isinstance(config[name], str) and config[name] in OP_CHOICES):
                raise ConfigError(
                    f"config value {name}={config[name]!r} is not one of {list(OP_CHOICES)}"
                )
        for name in _EDGE_NAMES:
            value = config[name]
            ok = (
                _is_number(value) and 0.0 <= float(value) <= 1.0
                if self.continuous
                else _is_int(value) and int(value) in (0, 1)
            )
            if not ok:
                raise ConfigError(
                    f"config value {name}={value!r} is not "
                    f"{'a number in [0, 1]' if self.continuous else '0 or 1'}"
                )
        if self.continuous:
            value = config["num_edges"]
            if not (_is_int(value) and 0 <= int(value) <= MAX_EDGES):
                raise ConfigError(
                    f"config value num_edges={value!r} is not an integer in [0, {MAX_EDGES}]"
                )

    def matrix(self, config: Mapping[str, Any]) -> np.ndarray:
        """The unpruned 7x7 int8 adjacency matrix of a config (checked)."""
        self.check(config)
        chosen = np.zeros(len(EDGES), dtype=np.int8)
        if self.continuous:
            values = np.array([float(config[n]) for n in _EDGE_NAMES])
            order = np.argsort(-values, kind="stable")  # highest first, ties: lower position
            chosen[order[: int(config["num_edges"])]] = 1
        else:
            chosen[:] = [int(config[n]) for n in _EDGE_NAMES]
        matrix = np.zeros((NUM_VERTICES, NUM_VERTICES), dtype=np.int8)
        matrix[_ROWS, _COLS] = chosen
        return matrix

    def to_spec(self, config: Mapping[str, Any]) -> ModelSpec:
        """The cell of a config: a valid (pruned) ``ModelSpec``.

        Raises
        ------
        ConfigError
            If the config is malformed (see :meth:`check`).
        InvalidConfigError
            If it has more than ``MAX_EDGES`` edges before pruning, or its input and output
            are disconnected (the invalid-config rule of the module docstring).
        """
        matrix = self.matrix(config)
        edges = int(matrix.sum())
        if edges > MAX_EDGES:
            raise InvalidConfigError(
                f"invalid config: too many edges, got {edges} (max edges "
                f"= {MAX_EDGES}) in {_show(config)}"
            )
        spec = ModelSpec(matrix, [INPUT, *(config[n] for n in _OP_NAMES), OUTPUT])
        if not spec.valid_spec:
            raise InvalidConfigError(
                f"invalid config: input and output are disconnected in {_show(config)}"
            )
        return spec

    def to_index(self, config: Mapping[str, Any], space: CellSpace | None = None) -> int:
        """Cell index (in ``space``, default :func:`nb101.get_space`) of a config.

        Raises
        ------
        ConfigError, InvalidConfigError
            As :meth:`to_spec`.
        """
        space = get_space() if space is None else space
        return space.index_of_spec(self.to_spec(config))

    def from_index(self, index: int, space: CellSpace | None = None) -> dict[str, Any]:
        """The canonical config of cell ``index`` (see the module docstring).

        Raises
        ------
        OutOfDomainError
            If ``index`` is not a cell index of the space.
        """
        space = get_space() if space is None else space
        if isinstance(index, bool) or not _is_int(index) or not 0 <= int(index) < len(space):
            raise OutOfDomainError(
                f"cell index must be an integer in [0, {len(space)}), got {index!r}"
            )
        small, ops = space.graph(int(index))
        n = len(ops)
        where = list(range(n - 1)) + [NUM_VERTICES - 1]  # the output moves to vertex 6
        matrix = np.zeros((NUM_VERTICES, NUM_VERTICES), dtype=np.int8)
        matrix[np.ix_(where, where)] = small
        labels = list(ops[1:-1]) + [PAD_OP] * (NUM_VERTICES - n)
        bits = matrix[_ROWS, _COLS]
        config: dict[str, Any] = {}
        if self.continuous:
            config["num_edges"] = int(bits.sum())
            config.update({name: float(b) for name, b in zip(_EDGE_NAMES, bits.tolist())})
        else:
            config.update({name: int(b) for name, b in zip(_EDGE_NAMES, bits.tolist())})
        config.update(zip(_OP_NAMES, labels))
        return config

    def from_spec(self, spec: ModelSpec, space: CellSpace | None = None) -> dict[str, Any]:
        """The canonical config of a spec's cell (every spec of a cell gives the same one).

        Raises
        ------
        OutOfDomainError
            If the spec is not a valid cell.
        """
        space = get_space() if space is None else space
        return self.from_index(space.index_of_spec(spec), space)

    def sample(self, rng: np.random.Generator | int | None = None) -> dict[str, Any]:
        """One uniformly drawn config of the encoding's space (valid or not; seeded)."""
        rng = np.random.default_rng(rng)
        config: dict[str, Any] = {}
        if self.continuous:
            config["num_edges"] = int(rng.integers(0, MAX_EDGES + 1))
            config.update({n: float(v) for n, v in zip(_EDGE_NAMES, rng.random(len(EDGES)))})
        else:
            config.update({n: int(v) for n, v in zip(_EDGE_NAMES, rng.integers(0, 2, len(EDGES)))})
        config.update(
            {n: OP_CHOICES[int(i)] for n, i in zip(_OP_NAMES, rng.integers(0, 3, _NUM_OPS))}
        )
        return config

    # ------------------------------------------------------------ the space, per library
    def configspace(self, seed: int | None = None):
        """The space as a ``ConfigSpace.ConfigurationSpace`` (SMAC, DEHB, HPOBench), with
        HPOBench's hyperparameters (categorical edges for ``"A"``)."""
        CS = require("ConfigSpace", "configspace", "the ConfigSpace search space")

        space = CS.ConfigurationSpace(seed=seed)
        hps = []
        if self.continuous:
            hps.append(CS.UniformIntegerHyperparameter("num_edges", 0, MAX_EDGES))
            hps += [CS.UniformFloatHyperparameter(n, 0.0, 1.0) for n in _EDGE_NAMES]
        else:
            hps += [CS.CategoricalHyperparameter(n, [0, 1]) for n in _EDGE_NAMES]
        hps += [CS.CategoricalHyperparameter(n, list(OP_CHOICES)) for n in _OP_NAMES]
        space.add(hps)
        return space

    def optuna_distributions(self) -> dict[str, Any]:
        """The space as ``{name: optuna.distributions.BaseDistribution}`` (for ``ask``)."""
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        out: dict[str, Any] = {}
        if self.continuous:
            out["num_edges"] = IntDistribution(0, MAX_EDGES)
            out.update({n: FloatDistribution(0.0, 1.0) for n in _EDGE_NAMES})
        else:
            out.update({n: CategoricalDistribution((0, 1)) for n in _EDGE_NAMES})
        out.update({n: CategoricalDistribution(OP_CHOICES) for n in _OP_NAMES})
        return out

    def suggest(self, trial) -> dict[str, Any]:
        """Ask an ``optuna.Trial`` for one config (``trial.suggest_*`` on every name, in
        :attr:`names` order); returns it as plain Python values."""
        config: dict[str, Any] = {}
        if self.continuous:
            config["num_edges"] = trial.suggest_int("num_edges", 0, MAX_EDGES)
            config.update({n: trial.suggest_float(n, 0.0, 1.0) for n in _EDGE_NAMES})
        else:
            config.update({n: trial.suggest_categorical(n, (0, 1)) for n in _EDGE_NAMES})
        config.update({n: trial.suggest_categorical(n, OP_CHOICES) for n in _OP_NAMES})
        return config

    def syne_tune_space(self) -> dict[str, Any]:
        """The space as a Syne Tune config space (``{name: syne_tune.config_space domain}``)."""
        domains = require("syne_tune.config_space", "syne", "the Syne Tune search space")
        choice, randint, uniform = domains.choice, domains.randint, domains.uniform

        out: dict[str, Any] = {}
        if self.continuous:
            out["num_edges"] = randint(0, MAX_EDGES)
            out.update({n: uniform(0.0, 1.0) for n in _EDGE_NAMES})
        else:
            out.update({n: choice([0, 1]) for n in _EDGE_NAMES})
        out.update({n: choice(list(OP_CHOICES)) for n in _OP_NAMES})
        return out


#: The encodings by name.
ENCODINGS = {name: Encoding(name) for name in ("A", "C")}
_ALIASES = {"discrete": "A", "continuous": "C"}


def get_encoding(encoding: str | Encoding = "A") -> Encoding:
    """An encoding by name: ``"A"`` (alias ``"discrete"``) or ``"C"`` (``"continuous"``);
    an :class:`Encoding` is returned as is.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    if isinstance(encoding, Encoding):
        return encoding
    key = _ALIASES.get(encoding, encoding)
    if key not in ENCODINGS:
        raise ValueError(
            f"unknown encoding {encoding!r}; choices: {sorted(ENCODINGS) + sorted(_ALIASES)}"
        )
    return ENCODINGS[key]


# ------------------------------------------------------------------- the invalid rule
def failed_result() -> dict[str, Any]:
    """What an invalid config gets (HPOBench's ``failure``): accuracies 0, training time 0
    (no cost), no cell (``cell`` and the graph fields None), ``valid=False``."""
    return {
        "valid": False,
        "cell": None,
        "module_adjacency": None,
        "module_operations": None,
        "trainable_parameters": 0,
        "training_time": 0.0,
        "train_accuracy": 0.0,
        "validation_accuracy": 0.0,
        "test_accuracy": 0.0,
    }


def config_cell(
    config: Mapping[str, Any],
    *,
    encoding: str | Encoding = "A",
    space: CellSpace | None = None,
    cell_map: Callable[[int], int] | None = None,
) -> int | None:
    """THE invalid-config rule: the cell index a config is evaluated on, or None for an
    invalid config (which then gets :func:`failed_result`). Every adapter calls it.

    Parameters
    ----------
    config : mapping
        A config of ``encoding``.
    encoding : str or Encoding, default="A"
    space : CellSpace, optional
        Default :func:`nb101.get_space`.
    cell_map : callable, optional
        Maps the config's cell index to the cell evaluated (e.g. a track's nearest covered
        cell for a partial table); default: the cell itself.

    Raises
    ------
    ConfigError
        If the config is malformed (never answered by the rule).
    """
    try:
        spec = get_encoding(encoding).to_spec(config)
    except InvalidConfigError:
        return None
    space = get_space() if space is None else space
    cell = space.index_of_spec(spec)
    return cell if cell_map is None else int(cell_map(cell))


def query_config(
    bench,
    config: Mapping[str, Any],
    *,
    encoding: str | Encoding = "A",
    epochs: int = 108,
    stop_halfway: bool = False,
    cell_map: Callable[[int], int] | None = None,
) -> dict[str, Any]:
    """Evaluate a config on a backend under the invalid-config rule (:func:`config_cell`).

    A valid config is one ``bench.query`` of its cell (which charges the backend's budget
    counters as the original API does: that budget's training time and epochs); an invalid
    one gets :func:`failed_result` and charges nothing.

    Parameters
    ----------
    bench : nb101.protocol.Benchmark
        A table, a surrogate, or any backend of the shared protocol.
    config : mapping
        A config of ``encoding``.
    encoding : str or Encoding, default="A"
    epochs : int, default=108
        The budget; one of ``bench.valid_epochs``.
    stop_halfway : bool, default=False
    cell_map : callable, optional
        As for :func:`config_cell`.

    Returns
    -------
    dict
        ``bench.query``'s fields plus ``valid`` (True) and ``cell`` (the cell index
        queried), or :func:`failed_result`.

    Raises
    ------
    ConfigError
        If the config is malformed.
    OutOfDomainError
        If ``epochs`` is not a budget of the backend (also for an invalid config).
    PartialTableError
        If the backend lacks the cell at this budget.
    """
    if epochs not in bench.valid_epochs:  # the same answer for valid and invalid configs
        raise OutOfDomainError(
            f"invalid number of epochs, got {epochs!r} "
            f"(valid epochs = {sorted(bench.valid_epochs)})"
        )
    space = getattr(bench, "space", None)
    space = get_space() if space is None else space
    cell = config_cell(config, encoding=encoding, space=space, cell_map=cell_map)
    if cell is None:
        return failed_result()
    result = dict(bench.query(space.spec(cell), epochs=epochs, stop_halfway=stop_halfway))
    result.update(valid=True, cell=cell)
    return result


# ------------------------------------------------------------------------- helpers
def _is_int(value: Any) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return True
    return isinstance(value, (float, np.floating)) and float(value).is_integer()


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, (bool, np.bool_))
        and np.isfinite(value)
    )


def _show(config: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in config.items()) + "}"
