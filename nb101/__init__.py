"""The exact NAS-Bench-101 layer without TensorFlow: space, hash, official files, table, API.

What a user types comes from here::

    from nb101 import ModelSpec, TabularBenchmark, real_table, METRICS
    bench = TabularBenchmark(real_table(), seed=0)

The modules: :mod:`~nb101.model_spec` (``ModelSpec``, validity, parameters),
:mod:`~nb101.hashing`, :mod:`~nb101.cell_space` (the enumerated space, from
:mod:`~nb101.space_enumeration`, cached by :mod:`~nb101.space_file`), :mod:`~nb101.tfrecord`
(framing of the official files), :mod:`~nb101.run_records` (their runs) and
:mod:`~nb101.model_metrics` (a run's protobuf metrics), :mod:`~nb101.io` (atomic writes, strict
JSON), :mod:`~nb101.table_file` (the table file), :mod:`~nb101.convert` (official file ->
table), :mod:`~nb101.real_data` (the real data and its table), :mod:`~nb101.protocol` (the
``Benchmark`` protocol) and :mod:`~nb101.tabular_benchmark` (``TabularBenchmark``).
"""

from ._optional import MissingDependencyError
from .cell_space import CellSpace, build_space, get_space
from .convert import convert_tfrecord
from .errors import (
    ArtifactError,
    OutOfDomainError,
    PartialTableError,
    RecordError,
    TableError,
    UnknownHashError,
)
from .hashing import hash_module
from .model_spec import (
    CONV1X1,
    CONV3X3,
    INPUT,
    MAX_EDGES,
    MAXPOOL3X3,
    NUM_VERTICES,
    OPS,
    OUTPUT,
    ModelSpec,
    check_spec,
    is_valid_spec,
    trainable_parameters,
)
from .openers import open_benchmark
from .protocol import (
    EPOCHS,
    METRICS,
    RUN_FIELDS,
    BaseBenchmark,
    Benchmark,
    Target,
    format_target,
    parse_target,
)
from .real_data import convert_real_data, default_real_table_path, real_table
from .table_file import load_table, write_table
from .tabular_benchmark import TabularBenchmark

#: The package version (pyproject.toml reads it from here).
__version__ = "0.1.0"

__all__ = [
    "ArtifactError",
    "OutOfDomainError",
    "PartialTableError",
    "RecordError",
    "TableError",
    "UnknownHashError",
    "MissingDependencyError",
    "hash_module",
    "CONV1X1",
    "CONV3X3",
    "INPUT",
    "MAX_EDGES",
    "MAXPOOL3X3",
    "NUM_VERTICES",
    "OPS",
    "OUTPUT",
    "ModelSpec",
    "check_spec",
    "is_valid_spec",
    "trainable_parameters",
    "CellSpace",
    "build_space",
    "get_space",
    "hash_of",
    "spec_from_hash",
    "Benchmark",
    "BaseBenchmark",
    "METRICS",
    "EPOCHS",
    "RUN_FIELDS",
    "TabularBenchmark",
    "convert_tfrecord",
    "load_table",
    "write_table",
    "convert_real_data",
    "default_real_table_path",
    "real_table",
    "open_benchmark",
    "Target",
    "parse_target",
    "format_target",
]


def hash_of(spec: ModelSpec) -> str:
    """Official module hash of a valid spec (validated first)."""
    check_spec(spec)
    return spec.hash_spec()


def spec_from_hash(module_hash: str) -> ModelSpec:
    """Canonical representative of a module hash (as stored in the official files)."""
    return get_space().spec_from_hash(module_hash)
