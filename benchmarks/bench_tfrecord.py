"""Throughput of the TFRecord reader on a synthetic dataset file.

Writes ``--records`` realistic records (~400-byte payloads, the official text style) with
:func:`nb101.tfrecord.write_records` into a temporary folder, then times one pass of
framing only (:func:`nb101.tfrecord.iter_records`, with and without CRC checks) and one pass
of full decoding (:func:`nb101.run_records.read_records`).

Usage::

    python benchmarks/bench_tfrecord.py [--records 1000000] [--seed 0] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import google_crc32c  # noqa: E402

from nb101 import model_metrics, run_records, tfrecord  # noqa: E402

_CELLS = [
    (
        [
            [0, 1, 1, 1, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 1, 0, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        [
            "input",
            "conv1x1-bn-relu",
            "conv3x3-bn-relu",
            "conv3x3-bn-relu",
            "conv3x3-bn-relu",
            "maxpool3x3",
            "output",
        ],
    ),
    (
        [
            [0, 1, 0, 0, 1, 1, 0],
            [0, 0, 1, 0, 0, 0, 0],
            [0, 0, 0, 1, 0, 0, 1],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        [
            "input",
            "conv3x3-bn-relu",
            "maxpool3x3",
            "conv3x3-bn-relu",
            "conv3x3-bn-relu",
            "conv1x1-bn-relu",
            "output",
        ],
    ),
    (
        [[0, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
        ["input", "conv3x3-bn-relu", "maxpool3x3", "conv1x1-bn-relu", "output"],
    ),
]
_HASH_SLOT = "f" * 32


def _templates(rng: np.random.Generator) -> list[tuple[bytes, bytes]]:
    """(prefix, suffix) around the hash for each cell x epoch budget."""
    out = []
    for matrix, ops in _CELLS:
        for epochs in (4, 12, 36, 108):
            acc = np.float32(rng.integers(900, 9984, size=15) / 9984).astype(float)
            times = np.float32(np.sort(rng.uniform(10, 5000, size=2))).astype(float)
            data = [
                {
                    "current_epoch": 0.0,
                    "training_time": 0.0,
                    "train_accuracy": acc[0],
                    "validation_accuracy": acc[1],
                    "test_accuracy": acc[2],
                },
                {
                    "current_epoch": epochs / 2,
                    "training_time": times[0],
                    "train_accuracy": acc[3],
                    "validation_accuracy": acc[4],
                    "test_accuracy": acc[5],
                },
                {
                    "current_epoch": float(epochs),
                    "training_time": times[1],
                    "train_accuracy": acc[6],
                    "validation_accuracy": acc[7],
                    "test_accuracy": acc[8],
                },
            ]
            metrics = model_metrics.encode_model_metrics(
                data,
                trainable_parameters=int(rng.integers(227_274, 49_979_274)),
                total_time=float(times[1] * 1.3),
            )
            payload = run_records.encode_payload(_HASH_SLOT, epochs, matrix, ops, metrics)
            prefix, suffix = payload.split(_HASH_SLOT.encode())
            out.append((prefix, suffix))
    return out


def _payloads(n: int, templates: list[tuple[bytes, bytes]]):
    k = len(templates)
    for i in range(n):
        prefix, suffix = templates[i % k]
        yield prefix + b"%032x" % (i * 0x9E3779B97F4A7C15 % (1 << 128)) + suffix


def _timed(label: str, n_expected: int, fn) -> float:
    start = time.perf_counter()
    n = fn()
    elapsed = time.perf_counter() - start
    assert n == n_expected, (label, n, n_expected)
    print(f"{label:<42} {n:>9,d} records  {elapsed:7.2f} s  {n / elapsed:>11,.0f} records/s")
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the numbers here as strict JSON",
    )
    args = parser.parse_args()
    templates = _templates(np.random.default_rng(args.seed))

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "synthetic.tfrecord")
        start = time.perf_counter()
        tfrecord.write_records(path, _payloads(args.records, templates))
        size = os.path.getsize(path)
        print(
            f"wrote {args.records:,d} records, {size / 2**20:.1f} MiB "
            f"(mean payload {size / args.records - 16:.0f} B) in "
            f"{time.perf_counter() - start:.1f} s; google_crc32c {google_crc32c.implementation}"
        )
        n = args.records

        def count(it) -> int:
            c = 0
            for _ in it:
                c += 1
            return c

        rate = {
            "framing_verified": _timed(
                "framing only, verify=True", n, lambda: count(tfrecord.iter_records(path))
            ),
            "framing_unverified": _timed(
                "framing only, verify=False",
                n,
                lambda: count(tfrecord.iter_records(path, verify=False)),
            ),
            "decode_verified": _timed(
                "full decode (read_records), verify=True",
                n,
                lambda: count(run_records.read_records(path)),
            ),
            "decode_unverified": _timed(
                "full decode (read_records), verify=False",
                n,
                lambda: count(run_records.read_records(path, verify=False)),
            ),
        }
    if args.json is not None:
        from nb101.io import write_json

        write_json(
            args.json,
            {
                "script": "benchmarks/bench_tfrecord.py",
                "args": vars(args),
                "records": n,
                "file_mib": size / 2**20,
                "crc32c_implementation": google_crc32c.implementation,
                "records_per_s": rate,
            },
            indent=1,
        )


if __name__ == "__main__":
    main()
