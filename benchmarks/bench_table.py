"""Load time and peak memory of a synthetic full official table.

Builds a table shaped like ``nasbench_full``: every cell x 4 budgets x 3 repeats
(5,083,488 runs, all eight fields, parameter counts), then, in fresh subprocesses, times
``TabularBenchmark(path)`` (median of 3; the space is loaded first and timed apart) and
reports the peak RSS (``VmHWM`` of ``/proc/self/status``; ``ru_maxrss`` of a child
keeps the parent's peak across exec) and the peak Python/numpy allocations of the
load (``tracemalloc``). The load is timed twice: as users meet it (every array's zip CRC-32
verified as it is read, see :mod:`nb101.table_file`) and with the CRC computation switched
off in the child (``zipfile`` patched), which gives the cost of the verification.

Usage::

    python benchmarks/bench_table.py [--out /tmp/nb101_synthetic_full.npz] [--keep] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nb101 import get_space  # noqa: E402
from nb101.protocol import RUN_FIELDS  # noqa: E402
from nb101.table_file import write_table  # noqa: E402

_CHILD = r"""
import json, sys, time, tracemalloc
def hwm():  # peak RSS of this process image (ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
sys.path.insert(0, {repo!r})
if {no_crc!r}:  # measure the load without the CRC-32 verification of the zip members
    import zipfile
    zipfile.ZipExtFile._update_crc = lambda self, newdata: None
from nb101 import get_space
from nb101.tabular_benchmark import TabularBenchmark
t0 = time.perf_counter(); space = get_space(); t1 = time.perf_counter()
rss_before = hwm()
tracemalloc.start()
t2 = time.perf_counter(); bench = TabularBenchmark({path!r}, space=space); t3 = time.perf_counter()
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({{"space_s": t1 - t0, "load_s": t3 - t2, "runs": bench.table.num_runs,
                  "rss_before_mib": rss_before,
                  "peak_rss_mib": hwm(),
                  "tracemalloc_peak_mib": peak / 2**20}}))
"""


def build(path: Path) -> None:
    space = get_space()
    n = len(space)
    rng = np.random.default_rng(0)
    epochs = np.array([4, 12, 36, 108])
    cell = np.repeat(np.arange(n), 12)
    run_epochs = np.tile(np.repeat(epochs, 3), n)
    repeat = np.tile(np.arange(3), 4 * n)
    values = {}
    for name in RUN_FIELDS:
        if name.endswith("training_time"):
            values[name] = rng.uniform(10, 5000, len(cell)).astype(np.float32).astype(np.float64)
        else:
            values[name] = np.float32(rng.integers(900, 9984, len(cell)) / 9984).astype(np.float64)
    write_table(
        path,
        run_cell=cell,
        run_epochs=run_epochs,
        run_repeat=repeat,
        values=values,
        source={"kind": "synthetic full"},
        parameters=(np.arange(n), space.parameters()),
        space=space,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the table file")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the numbers here as strict JSON",
    )
    args = parser.parse_args()
    path = args.out or Path(tempfile.gettempdir()) / "nb101_synthetic_full.npz"
    start = time.perf_counter()
    build(path)
    print(
        f"built {path} ({path.stat().st_size / 2**20:.0f} MiB) in "
        f"{time.perf_counter() - start:.1f} s"
    )
    repo = str(Path(__file__).resolve().parents[1])
    results, unverified = [], []
    for _ in range(3):  # alternate, so that both see the same machine load
        for no_crc, into in ((False, results), (True, unverified)):
            out = subprocess.run(
                [sys.executable, "-c", _CHILD.format(repo=repo, path=str(path), no_crc=no_crc)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            into.append(json.loads(out.strip().splitlines()[-1]))
    print(f"runs: {results[0]['runs']:,}")
    print(f"space load: median {statistics.median(r['space_s'] for r in results):.3f} s")
    print(
        f"table load: median {statistics.median(r['load_s'] for r in results):.3f} s "
        f"(all: {', '.join(format(r['load_s'], '.3f') for r in results)}) [target <= 2 s]"
    )
    with_crc = statistics.median(r["load_s"] for r in results)
    without = statistics.median(r["load_s"] for r in unverified)
    print(
        f"table load without the CRC-32 verification: median {without:.3f} s; the "
        f"verification costs {with_crc - without:+.3f} s ({path.stat().st_size / 2**20:.0f} MiB "
        f"checked)"
    )
    print(
        f"peak RSS of the process: {max(r['peak_rss_mib'] for r in results):.0f} MiB "
        f"(before the table: {max(r['rss_before_mib'] for r in results):.0f} MiB) "
        f"[target <= 1536 MiB]"
    )
    print(
        f"tracemalloc peak during load: {max(r['tracemalloc_peak_mib'] for r in results):.0f} MiB"
    )
    if args.json is not None:
        from nb101.io import write_json

        write_json(
            args.json,
            {
                "script": "benchmarks/bench_table.py",
                "args": vars(args),
                "runs": results[0]["runs"],
                "file_mib": path.stat().st_size / 2**20,
                "space_load_median_s": statistics.median(r["space_s"] for r in results),
                "table_load_median_s": with_crc,
                "table_load_unverified_median_s": without,
                "table_load_s": [r["load_s"] for r in results],
                "peak_rss_mib": max(r["peak_rss_mib"] for r in results),
                "rss_before_table_mib": max(r["rss_before_mib"] for r in results),
                "tracemalloc_peak_mib": max(r["tracemalloc_peak_mib"] for r in results),
            },
            indent=1,
        )
    if not args.keep:
        os.unlink(path)


if __name__ == "__main__":
    main()
