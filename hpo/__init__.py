"""Bring your own optimizer: NAS-Bench-101 for Optuna, Syne Tune and ConfigSpace users.

* :mod:`hpo.encodings` -- the paper's flat encodings (``"A"`` discrete, ``"C"`` continuous):
  config <-> ``ModelSpec`` <-> cell index, the space for ConfigSpace / Optuna / Syne Tune,
  and :func:`config_cell`, the one invalid-config rule of every adapter.
* :mod:`hpo.optuna_adapter` -- an Optuna objective (any budget, multi-fidelity through
  pruners) and a study runner (needs the ``optuna`` extra).
* :mod:`hpo.syne_tune_adapter` -- Syne Tune ``Blackbox`` classes for a table and a surrogate,
  to simulate any Syne Tune scheduler (needs the ``syne`` extra; see the README).

Layer: ``nb101 < features < surrogate < hpo < eval``. The libraries are imported only inside
the functions that need them.
"""

from .encodings import (
    EDGES,
    ENCODINGS,
    OP_CHOICES,
    PAD_OP,
    ConfigError,
    Encoding,
    InvalidConfigError,
    config_cell,
    failed_result,
    get_encoding,
    query_config,
)

__all__ = [
    "ENCODINGS",
    "EDGES",
    "OP_CHOICES",
    "PAD_OP",
    "ConfigError",
    "Encoding",
    "InvalidConfigError",
    "config_cell",
    "failed_result",
    "get_encoding",
    "query_config",
]
