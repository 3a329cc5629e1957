"""Query speed of ``TabularBenchmark`` the way an optimizer meets it, against the original path.

An optimizer queries cells it has not seen before, once each, in no particular order. So
every measurement runs in a fresh process (a child of this script) on cells drawn at random,
each queried once:

* single ``query(spec)``: ours and the original ``nasbench.api.NASBench.query`` path, timed
  alternately on the same specs. The original path is its steps: ``_check_spec``, then
  ``hash_spec`` (the md5 fingerprint, here :func:`nb101.hash_module`, which is faster than the
  original's), then a dict lookup of the hash in a dict hash -> runs built for the measured
  cells, then a random repeat pick and the result dict. Its ``get_metrics_from_spec`` also
  deep-copies both statistics dicts of the cell; that variant is printed apart, and the ratio
  uses the cheaper one.
* ``query_batch`` of hashes and of cell indices: the first call of a fresh benchmark, then
  repeated calls (labelled apart: per-cell and per-table caches are warm by then).

The table is the real-data table (``nb101.real_data.convert_real_data`` into the cache, made
if absent) when the real data folder exists, else the synthetic full table of
``bench_table.py`` (built if absent), else ``--table``.

Usage::

    python benchmarks/bench_query.py [--table PATH] [--queries 5000] [--epochs 108]
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from nb101 import OPS, OutOfDomainError, TabularBenchmark, check_spec, get_space  # noqa: E402

SEED = 0


def _table_path(given: Path | None) -> tuple[Path, str]:
    """The table to measure and what it is."""
    if given is not None:
        return given, "given"
    from nb101 import convert_real_data, default_real_table_path
    from nb101.real_data import resolve_data_dir
    try:
        resolve_data_dir()
    except FileNotFoundError:
        path = Path(tempfile.gettempdir()) / "nb101_synthetic_full.npz"
        if not path.exists():
            from bench_table import build
            print(f"building the synthetic full table {path} ...", flush=True)
            build(path)
        return path, "synthetic full table (bench_table.py)"
    path = default_real_table_path()
    if not path.exists():
        print(f"converting the real data into {path} ...", flush=True)
        convert_real_data()
    return path, "real data"


def _random_cells(bench: TabularBenchmark, epochs: int, size: int | None) -> np.ndarray:
    """Covered cells in random order, each once (all of them if ``size`` is None)."""
    covered = bench.covered_indices(epochs)
    rng = np.random.default_rng(SEED)
    return rng.permutation(covered)[:size]


class _OriginalPath:
    """The steps of ``nasbench.api.NASBench.query`` on dicts hash -> statistics."""

    def __init__(self, bench: TabularBenchmark, hashes: list[str]):
        self.valid_epochs = set(bench.valid_epochs)
        self.fixed_statistics, self.computed_statistics = {}, {}
        for module_hash in hashes:
            fixed, computed = bench.get_metrics_from_hash(module_hash)
            self.fixed_statistics[module_hash] = fixed
            self.computed_statistics[module_hash] = computed
        self.rng = random.Random(SEED)
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    def query(self, model_spec, epochs: int = 108, deep_copies: bool = False) -> dict:
        if epochs not in self.valid_epochs:
            raise OutOfDomainError(f"invalid number of epochs, must be one of {self.valid_epochs}")
        check_spec(model_spec)                       # _check_spec
        module_hash = model_spec.hash_spec(OPS)      # hash_spec(available_ops)
        fixed_stat = self.fixed_statistics[module_hash]
        computed_stat = self.computed_statistics[module_hash]
        if deep_copies:                              # as get_metrics_from_hash does
            fixed_stat, computed_stat = copy.deepcopy(fixed_stat), copy.deepcopy(computed_stat)
        runs = computed_stat[epochs]
        run = runs[self.rng.randint(0, len(runs) - 1)]
        data = {"module_adjacency": fixed_stat["module_adjacency"],
                "module_operations": fixed_stat["module_operations"],
                "trainable_parameters": fixed_stat["trainable_parameters"],
                "training_time": run["final_training_time"],
                "train_accuracy": run["final_train_accuracy"],
                "validation_accuracy": run["final_validation_accuracy"],
                "test_accuracy": run["final_test_accuracy"]}
        self.training_time_spent += data["training_time"] or 0.0
        self.total_epochs_spent += epochs
        return data


def _child_single(path: Path, epochs: int, queries: int) -> dict:
    space = get_space()
    bench = TabularBenchmark(path, seed=SEED, space=space)
    cells = _random_cells(bench, epochs, queries)
    specs = [space.spec(int(i)) for i in cells]  # the optimizer's own work, not timed
    # the original's dicts come from another benchmark, so that ours stays cold
    original = _OriginalPath(TabularBenchmark(path, space=space),
                             [space.hash(int(i)) for i in cells])
    clock = time.perf_counter_ns
    ours, orig = [], []
    for spec in specs:  # alternate, so that both paths see the same machine load
        t = clock()
        bench.query(spec, epochs)
        ours.append(clock() - t)
        t = clock()
        original.query(spec, epochs)
        orig.append(clock() - t)
    orig_copies, repeated = [], []
    for spec in specs:
        t = clock()
        original.query(spec, epochs, deep_copies=True)
        orig_copies.append(clock() - t)
        t = clock()
        bench.query(spec, epochs)
        repeated.append(clock() - t)
    return {"queries": len(specs), "ours": ours, "original": orig,
            "original_copies": orig_copies, "repeated": repeated,
            "runs": bench.table.num_runs, "cells": len(bench.covered_indices(epochs))}


def _child_batch(path: Path, epochs: int, kind: str) -> dict:
    space = get_space()
    bench = TabularBenchmark(path, seed=SEED, space=space)
    cells = _random_cells(bench, epochs, None)
    batch = [space.hash(int(i)) for i in cells] if kind == "hashes" else cells
    rates = []
    for _ in range(4):  # the first call, then three repeated ones
        start = time.perf_counter()
        bench.query_batch(batch, epochs)
        rates.append(len(cells) / (time.perf_counter() - start))
    return {"cells": len(cells), "first": rates[0], "repeated": statistics.median(rates[1:])}


def _run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _us(times_ns: list[int]) -> str:
    return (f"median {statistics.median(times_ns) / 1e3:6.1f} µs, "
            f"p90 {np.percentile(times_ns, 90) / 1e3:6.1f} µs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=5000,
                        help="fresh cells of the single-query measurement")
    parser.add_argument("--epochs", type=int, default=108)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        what, path = args.child[0], Path(args.child[1])
        result = (_child_single(path, args.epochs, args.queries) if what == "single"
                  else _child_batch(path, args.epochs, what))
        print(json.dumps(result))
        return

    path, kind = _table_path(args.table)
    get_space()  # build or upgrade the space cache once, outside the children
    single = _run_child("single", str(path), "--epochs", str(args.epochs),
                        "--queries", str(args.queries))
    print(f"table: {path} ({kind}; {single['runs']:,} runs, {single['cells']:,} cells at "
          f"{args.epochs} epochs)")
    print(f"single query, {single['queries']:,} cells in random order, each queried once, "
          f"fresh process:")
    ours, orig = statistics.median(single["ours"]), statistics.median(single["original"])
    print(f"  ours     TabularBenchmark.query(spec)             {_us(single['ours'])}")
    print(f"  original check + md5 hash + dict lookup + pick   {_us(single['original'])}")
    print(f"  ratio    {orig / ours:.1f}x faster than the original [goal >= 7x]")
    copies = statistics.median(single["original_copies"])
    print(f"  (the original with the deep copies of get_metrics_from_spec: "
          f"{_us(single['original_copies'])}, {copies / ours:.1f}x)")
    print(f"single query repeated (the same cells again, per-cell caches warm): "
          f"{_us(single['repeated'])}")
    for what in ("hashes", "indices"):
        batch = _run_child(what, str(path), "--epochs", str(args.epochs))
        print(f"query_batch of {batch['cells']:,} {what} in random order: first call of a "
              f"fresh benchmark {batch['first'] / 1e6:5.2f} M cells/s [goal >= 1 M cells/s]; "
              f"repeated calls {batch['repeated'] / 1e6:5.2f} M cells/s")


if __name__ == "__main__":
    main()
