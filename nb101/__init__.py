"""The exact NAS-Bench-101 layer without TensorFlow: space, hash, official files, table, API."""

from .errors import (ArtifactError, OutOfDomainError, PartialTableError, RecordError,
                     TableError)
from .hashing import hash_module
from .model_spec import (CONV1X1, CONV3X3, INPUT, MAX_EDGES, MAXPOOL3X3, NUM_VERTICES, OPS,
                           OUTPUT, ModelSpec, check_spec, is_valid_spec, trainable_parameters)
from .cell_space import CellSpace, build_space, get_space
from .api import Target, format_target, parse_target
from .table import TabularBenchmark, convert_tfrecord, load_table, write_table
from .real_data import convert_real_data, default_real_table_path

__all__ = [
    "ArtifactError", "OutOfDomainError", "PartialTableError", "RecordError", "TableError",
    "hash_module", "CONV1X1", "CONV3X3", "INPUT", "MAX_EDGES", "MAXPOOL3X3", "NUM_VERTICES",
    "OPS", "OUTPUT", "ModelSpec", "check_spec", "is_valid_spec", "trainable_parameters",
    "CellSpace", "build_space", "get_space", "hash_of", "spec_from_hash",
    "TabularBenchmark", "convert_tfrecord", "load_table", "write_table", "convert_real_data",
    "default_real_table_path", "Target", "parse_target", "format_target",
]


def hash_of(spec: ModelSpec) -> str:
    """Official module hash of a valid spec (validated first)."""
    check_spec(spec)
    return spec.hash_spec()


def spec_from_hash(module_hash: str) -> ModelSpec:
    """Canonical representative of a module hash (as stored in the official files)."""
    return get_space().spec_from_hash(module_hash)
