"""Time to featurize all 423,624 cells with every registered featurizer.

For each featurizer, three timings of ``transform(None)`` (the whole space, float32):

* cold: nothing cached, disk cache off -- the encoding is computed;
* disk: memory cache cleared, table loaded from the disk cache beside the space cache
  (written first if missing);
* memory: the table already in memory (only the unpacking to float32 remains).

Then the PyG inputs of all cells: one ``Batch`` (``cells_to_batch``) and a ``Data`` list
(``cells_to_data``).

Usage::

    python benchmarks/bench_features.py [--repeat 1] [--no-graphs] [--json PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features import FEATURIZERS, cells_to_batch, cells_to_data, clear_feature_cache  # noqa: E402
from features._cache import DISK_CACHE_ENV  # noqa: E402
from nb101 import get_space  # noqa: E402


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs (default: 1)")
    parser.add_argument("--no-graphs", action="store_true", help="skip the PyG inputs")
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="PATH",
        help="also write the numbers here as strict JSON",
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    space = get_space()
    numbers = {"cells": len(space), "space_load_s": time.perf_counter() - start, "featurizers": []}
    print(f"space: {len(space):,} cells loaded in {numbers['space_load_s']:.2f} s")
    print(f"{'featurizer':<16}{'dim':>5}{'cold s':>9}{'disk s':>9}{'memory s':>10}  shape")
    previous = os.environ.get(DISK_CACHE_ENV)
    for name, featurizer in FEATURIZERS.items():

        def cold():
            clear_feature_cache()
            return featurizer.transform(None, space)

        def disk():
            clear_feature_cache()
            return featurizer.transform(None, space)

        os.environ[DISK_CACHE_ENV] = "0"
        t_cold, X = _best(cold, args.repeat)
        os.environ[DISK_CACHE_ENV] = "1"
        clear_feature_cache()
        featurizer.transform(None, space)  # writes the disk cache if missing
        t_disk, _ = _best(disk, args.repeat)
        t_memory, _ = _best(lambda: featurizer.transform(None, space), args.repeat)
        numbers["featurizers"].append(
            {
                "featurizer": name,
                "dim": featurizer.dim,
                "cold_s": t_cold,
                "disk_s": t_disk,
                "memory_s": t_memory,
            }
        )
        print(
            f"{name:<16}{featurizer.dim:>5}{t_cold:>9.2f}{t_disk:>9.2f}{t_memory:>10.2f}  "
            f"{X.shape} {X.dtype}"
        )
        del X
    if previous is None:
        os.environ.pop(DISK_CACHE_ENV, None)
    else:
        os.environ[DISK_CACHE_ENV] = previous

    if not args.no_graphs:
        t_batch, batch = _best(lambda: cells_to_batch(None, space), args.repeat)
        numbers["cells_to_batch_all_s"] = t_batch
        print(f"cells_to_batch (all cells): {t_batch:.2f} s  {batch}")
        del batch
        t_list, data = _best(lambda: cells_to_data(None, space), args.repeat)
        numbers["cells_to_data_all_s"] = t_list
        print(f"cells_to_data  (all cells): {t_list:.2f} s  {len(data):,} Data")
    if args.json is not None:
        from nb101.io import write_json

        write_json(
            args.json,
            {"script": "benchmarks/bench_features.py", "args": vars(args), **numbers},
            indent=1,
        )


if __name__ == "__main__":
    main()
