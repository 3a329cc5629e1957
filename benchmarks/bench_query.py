"""Query speed of the table the way external code meets it, against the original's own path.

External code (nasbench scripts, an Optuna trial, a Syne Tune config) writes a cell as a
matrix of nested Python lists and a list of op names, builds ``ModelSpec(matrix, ops)`` and
queries it once; the next query is another cell. So every measurement runs in a fresh process
(a child of this script) on a fresh benchmark instance, with no warm-up query, on cells drawn
at random, each queried once, written as an isomorphic relabelling of the cell (a random
topological order of its vertices), so neither the spec nor its pruning is prepared:

* ``ours``: ``TabularBenchmark.query(nb101.ModelSpec(matrix, ops))``;
* ``compat``: ``NASBench.query(api.ModelSpec(matrix, ops))`` of :mod:`nb101.compat`;
* ``original``: the steps of the original ``nasbench.api.NASBench.query``: its
  ``ModelSpec`` constructor (array, checks, four deep copies, DFS pruning, ``np.delete``;
  :class:`_OriginalSpec`), ``_check_spec``, ``hash_spec`` (the md5 fingerprint, here
  :func:`nb101.hash_module`, faster than the original's), a dict lookup of the hash in dicts
  hash -> statistics built for the measured cells, a repeat pick and the result dict. The
  original's ``query`` also deep-copies both statistics dicts of the cell
  (``get_metrics_from_hash``), and its ``hash_module`` reads the matrix one numpy element at
  a time; these variants are measured apart, and the ratios use the cheapest path.

The paths are timed in turn on the same specs (blocks of :data:`BLOCK` cells each), so they
see the same machine load; all queries of the fresh instances count, the first ones
included. Then ``query_batch`` of
hashes and of cell indices: the first call of a fresh benchmark, and repeated calls.

The table is the real-data table (``nb101.real_data.convert_real_data`` into the cache, made
if absent) when the real data folder exists, else the synthetic full table of
``bench_table.py`` (built if absent), else ``--table``.

Usage::

    python benchmarks/bench_query.py [--table PATH] [--queries 3000] [--epochs 108]
                                     [--json PATH]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
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

from nb101 import (  # noqa: E402
    MAX_EDGES,
    NUM_VERTICES,
    OPS,
    ModelSpec,
    OutOfDomainError,
    TabularBenchmark,
    get_space,
    hash_module,
)
from nb101._io import write_json  # noqa: E402
from nb101.compat import api  # noqa: E402

SEED = 0
BLOCK = 50  # cells per turn of each path (see _child_single)


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


def _as_written(matrix: np.ndarray, ops: list[str], rng: random.Random
                ) -> tuple[list[list[int]], list[str]]:
    """The cell as external code writes it: nested lists of ints and a list of names, its
    vertices in a random topological order (an isomorphic relabelling)."""
    n = len(ops)
    rows = matrix.tolist()
    order, placed = [0], {0}
    while len(order) < n - 1:
        ready = [v for v in range(1, n - 1) if v not in placed
                 and all(rows[u][v] == 0 or u in placed for u in range(n))]
        v = rng.choice(ready)
        order.append(v)
        placed.add(v)
    order.append(n - 1)
    return ([[rows[a][b] for b in order] for a in order], [ops[v] for v in order])


class _OriginalSpec:
    """The steps of the original ``nasbench.lib.model_spec.ModelSpec`` constructor."""

    def __init__(self, matrix, ops):
        if not isinstance(matrix, np.ndarray):
            matrix = np.array(matrix)
        shape = np.shape(matrix)
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValueError("matrix must be square")
        if shape[0] != len(ops):
            raise ValueError("length of ops must match matrix dimensions")
        for src in range(shape[0]):  # is_upper_triangular, element by element
            for dst in range(src + 1):
                if matrix[src, dst] != 0:
                    raise ValueError("matrix must be upper triangular")
        self.original_matrix = copy.deepcopy(matrix)
        self.original_ops = copy.deepcopy(ops)
        self.matrix = copy.deepcopy(matrix)
        self.ops = copy.deepcopy(ops)
        self.valid_spec = True
        n = shape[0]
        forward, stack = {0}, [0]
        while stack:
            v = stack.pop()
            for w in range(v + 1, n):
                if self.original_matrix[v, w] and w not in forward:
                    forward.add(w)
                    stack.append(w)
        backward, stack = {n - 1}, [n - 1]
        while stack:
            v = stack.pop()
            for w in range(v):
                if self.original_matrix[w, v] and w not in backward:
                    backward.add(w)
                    stack.append(w)
        extraneous = set(range(n)) - (forward & backward)
        if len(extraneous) > n - 2:
            self.matrix = self.ops = None
            self.valid_spec = False
            return
        self.matrix = np.delete(self.matrix, list(extraneous), axis=0)
        self.matrix = np.delete(self.matrix, list(extraneous), axis=1)
        for v in sorted(extraneous, reverse=True):
            del self.ops[v]

    def hash_spec(self, canonical_ops, numpy_steps: bool = False) -> str:
        labeling = [-1] + [canonical_ops.index(op) for op in self.ops[1:-1]] + [-2]
        if numpy_steps:
            return _numpy_hash(self.matrix, labeling)
        return hash_module(self.matrix, labeling)


def _numpy_hash(matrix: np.ndarray, labeling: list[int]) -> str:
    """The module hash computed with the original ``hash_module``'s steps: degrees by
    ``np.sum``, neighbours by reading the matrix one numpy element at a time."""
    n = np.shape(matrix)[0]
    in_degree, out_degree = np.sum(matrix, axis=0).tolist(), np.sum(matrix, axis=1).tolist()
    md5 = hashlib.md5
    hashes = [md5(str(t).encode("utf-8")).hexdigest()
              for t in zip(out_degree, in_degree, labeling)]
    for _ in range(n):
        hashes = [md5(("".join(sorted(hashes[w] for w in range(n) if matrix[w, v])) + "|"
                       + "".join(sorted(hashes[w] for w in range(n) if matrix[v, w])) + "|"
                       + hashes[v]).encode("utf-8")).hexdigest() for v in range(n)]
    return md5(str(sorted(hashes)).encode("utf-8")).hexdigest()


class _OriginalPath:
    """The steps of ``nasbench.api.NASBench.query`` on dicts hash -> statistics."""

    def __init__(self, bench: TabularBenchmark, hashes: list[str]):
        self.valid_epochs = set(bench.valid_epochs)
        self.fixed_statistics, self.computed_statistics = {}, {}
        for module_hash in hashes:
            fixed, computed = bench.get_metrics_from_hash(module_hash)
            self.fixed_statistics[module_hash] = fixed
            self.computed_statistics[module_hash] = computed
        self.available_ops = list(OPS)
        self.rng = random.Random(SEED)
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    def _check_spec(self, spec: _OriginalSpec) -> None:
        if not spec.valid_spec:
            raise OutOfDomainError("invalid spec, provided graph is disconnected.")
        if len(spec.ops) > NUM_VERTICES:
            raise OutOfDomainError("too many vertices")
        if np.sum(spec.matrix) > MAX_EDGES:
            raise OutOfDomainError("too many edges")
        if spec.ops[0] != "input" or spec.ops[-1] != "output":
            raise OutOfDomainError("first/last operation")
        for op in spec.ops[1:-1]:
            if op not in self.available_ops:
                raise OutOfDomainError("unsupported op")

    def query(self, model_spec: _OriginalSpec, epochs: int = 108,
              deep_copies: bool = False, numpy_hash: bool = False) -> dict:
        if epochs not in self.valid_epochs:
            raise OutOfDomainError(f"invalid number of epochs, must be one of {self.valid_epochs}")
        self._check_spec(model_spec)
        module_hash = model_spec.hash_spec(self.available_ops, numpy_hash)
        fixed_stat = self.fixed_statistics[module_hash]
        computed_stat = self.computed_statistics[module_hash]
        if deep_copies:  # as get_metrics_from_hash does
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
    ours = TabularBenchmark(path, seed=SEED, space=space)
    compat = api.NASBench(TabularBenchmark(path, seed=SEED, space=space))
    cells = _random_cells(TabularBenchmark(path, space=space), epochs, queries)
    rng = random.Random(SEED)
    written = [_as_written(*space.graph(int(i)), rng) for i in cells]  # not timed
    # the original's dicts come from another instance, so that ours stay fresh
    original = _OriginalPath(TabularBenchmark(path, space=space),
                             [space.hash(int(i)) for i in cells])
    clock = time.perf_counter_ns
    times: dict[str, list[int]] = {"ours": [], "compat": [], "original": [],
                                   "original_copies": [], "original_faithful": []}
    paths = {
        "ours": lambda m, o: ours.query(ModelSpec(m, o), epochs),
        "compat": lambda m, o: compat.query(api.ModelSpec(m, o), epochs),
        "original": lambda m, o: original.query(_OriginalSpec(m, o), epochs),
        "original_copies": lambda m, o: original.query(_OriginalSpec(m, o), epochs,
                                                       deep_copies=True),
        "original_faithful": lambda m, o: original.query(_OriginalSpec(m, o), epochs,
                                                         deep_copies=True, numpy_hash=True),
    }
    answers: dict[str, list] = {"ours": [], "original": []}
    # alternate in blocks of BLOCK cells, each path in turn on the same cells: all see the
    # same machine load, and none pays for the caches another path's query left cold
    for first in range(0, len(written), BLOCK):
        block = written[first:first + BLOCK]
        for name, query in paths.items():
            for matrix, ops in block:
                t = clock()
                answer = query(matrix, ops)
                times[name].append(clock() - t)
                if name in answers:
                    answers[name].append(answer["module_operations"])
    if answers["ours"] != answers["original"]:
        raise RuntimeError("the paths answer different cells")
    for matrix, ops in written[:50]:  # the two hash computations of the original agree
        spec = _OriginalSpec(matrix, ops)
        if spec.hash_spec(list(OPS), True) != spec.hash_spec(list(OPS)):
            raise RuntimeError("the original's hash steps disagree with nb101.hash_module")
    return {"queries": len(written), **times, "runs": ours.table.num_runs,
            "cells": len(ours.covered_indices(epochs))}


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


def _stats(times_ns: list[int]) -> dict[str, float]:
    us = np.asarray(times_ns) / 1e3
    return {"median_us": float(np.median(us)), "mean_us": float(us.mean()),
            "p90_us": float(np.percentile(us, 90)), "max_us": float(us.max()),
            "total_s": float(us.sum() / 1e6)}


def _line(stats: dict[str, float]) -> str:
    return (f"median {stats['median_us']:6.1f} µs, mean {stats['mean_us']:6.1f} µs, "
            f"p90 {stats['p90_us']:6.1f} µs, slowest {stats['max_us'] / 1e3:6.1f} ms")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--table", type=Path, default=None)
    parser.add_argument("--queries", type=int, default=3000,
                        help="fresh cells of the single-query measurement")
    parser.add_argument("--epochs", type=int, default=108)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        what, path = args.child[0], Path(args.child[1])
        result = (_child_single(path, args.epochs, args.queries) if what == "single"
                  else _child_batch(path, args.epochs, what))
        print(json.dumps(result))
        return result

    path, kind = _table_path(args.table)
    get_space()  # build or upgrade the space cache once, outside the children
    single = _run_child("single", str(path), "--epochs", str(args.epochs),
                        "--queries", str(args.queries))
    print(f"table: {path} ({kind}; {single['runs']:,} runs, {single['cells']:,} cells at "
          f"{args.epochs} epochs)")
    print(f"single query of ModelSpec(matrix, ops) built per query, {single['queries']:,} "
          f"cells in random order, each once, fresh process and instances, no warm-up:")
    stats = {name: _stats(single[name])
             for name in ("ours", "compat", "original", "original_copies",
                          "original_faithful")}
    print(f"  ours      TabularBenchmark.query(ModelSpec(m, ops))  {_line(stats['ours'])}")
    print(f"  compat    NASBench.query(api.ModelSpec(m, ops))       {_line(stats['compat'])}")
    print(f"  original  its ModelSpec + check + md5 hash + dict     {_line(stats['original'])}")
    print(f"  original  ... + the deep copies of its query          "
          f"{_line(stats['original_copies'])}")
    print(f"  original  ... + its hash's numpy element reads        "
          f"{_line(stats['original_faithful'])}")
    ratios = {}
    for name in ("ours", "compat"):
        for how in ("median_us", "mean_us"):
            ratios[f"{name}_{how[:-3]}"] = stats["original"][how] / stats[name][how]
        ratios[f"{name}_median_vs_faithful"] = (stats["original_faithful"]["median_us"]
                                                / stats[name]["median_us"])
        print(f"  {name:7s} {ratios[f'{name}_median']:.1f}x faster than the original by "
              f"median, {ratios[f'{name}_mean']:.1f}x by mean (all {single['queries']:,} "
              f"queries: {stats[name]['total_s']:.3f} s against "
              f"{stats['original']['total_s']:.3f} s) [goal >= 5x, ~20 µs]; "
              f"{stats['original_faithful']['median_us'] / stats[name]['median_us']:.1f}x "
              f"the original with its copies and hash steps")
    batches = {}
    for what in ("hashes", "indices"):
        batch = batches[what] = _run_child(what, str(path), "--epochs", str(args.epochs))
        print(f"query_batch of {batch['cells']:,} {what} in random order: first call of a "
              f"fresh benchmark {batch['first'] / 1e6:5.2f} M cells/s [goal >= 1 M cells/s]; "
              f"repeated calls {batch['repeated'] / 1e6:5.2f} M cells/s")
    result = {"script": "bench_query.py",
              "args": {"table": str(path), "table_kind": kind, "queries": args.queries,
                       "epochs": args.epochs},
              "table_runs": single["runs"], "table_cells": single["cells"],
              "single": stats, "ratios": ratios,
              "query_batch": {what: {"cells": b["cells"], "first_cells_per_s": b["first"],
                                     "repeated_cells_per_s": b["repeated"]}
                              for what, b in batches.items()}}
    if args.json is not None:
        write_json(args.json, result, indent=2)
        print(f"wrote {args.json}")
    return result


if __name__ == "__main__":
    main()
