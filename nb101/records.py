"""Former name of :mod:`nb101.run_records` (the runs of the dataset files) and
:mod:`nb101.model_metrics` (their protobuf metrics), kept so that existing imports work."""

from .model_metrics import decode_model_metrics, encode_model_metrics
from .run_records import (RecordError, Run, encode_payload, encode_run, parse_payload,
                          read_records, write_runs)

__all__ = ["Run", "RecordError", "read_records", "write_runs", "parse_payload",
           "decode_model_metrics", "encode_model_metrics", "encode_payload", "encode_run"]
