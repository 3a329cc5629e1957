"""What the examples share: the table (real when the data is there, else synthetic), the
bundled surrogate, and the command-line flags ``--smoke`` and ``--seed``.

The real table (:func:`nb101.real_table`, from ``$NB101_DATA`` or ``../shared/data``) has
validation accuracies at 4/12/36/108 epochs for its 18,760-cell sample only: an optimizer's
cell outside the sample is evaluated on the nearest sample cell (the multi-fidelity track's
rule, :meth:`eval.tracks.Track.project`). Without the data, a synthetic table of 2,000 cells
(:func:`hpo._testing.synthetic_table`) stands in, with the same kind of projection.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from nb101.tabular_benchmark import TabularBenchmark  # noqa: E402


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--smoke",
        action="store_true",
        help="a small configuration that runs in seconds (CI runs it)",
    )
    p.add_argument("--seed", type=int, default=0)
    return p


def table(seed: int = 0):
    """``(bench, cell_map, name)``: the real table or a synthetic one, with the map of any
    cell onto the cells it covers at every budget."""
    from nb101 import real_table

    data = Path(
        os.environ.get("NB101_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    try:
        path, name = real_table(data if data.is_dir() else None), "real table"
    except FileNotFoundError:
        path, name = None, "synthetic table"
    if path is None:
        from hpo._testing import nearest_covered, synthetic_table

        folder = Path(tempfile.mkdtemp(prefix="nb101-example-"))
        bench = TabularBenchmark(synthetic_table(folder / "table.npz", seed=seed), seed=seed)
        return bench, nearest_covered(bench.covered_indices()), name
    from eval import make_track

    bench = TabularBenchmark(path, seed=seed)
    track = make_track("multifidelity", bench)
    return bench, lambda cell: int(track.project(np.array([cell]))[0]), name


def surrogate(seed: int = 0):
    """The bundled surrogate (simulated runs: noise on)."""
    from surrogate import SurrogateBenchmark

    return SurrogateBenchmark(seed=seed)


def table_test_accuracy(bench, cell: int) -> float:
    """The table's mean 108-epoch test accuracy of a cell (NaN if it has none)."""
    from nb101 import PartialTableError

    try:
        _, computed = bench.get_metrics_from_hash(bench.space.hash(cell))
    except PartialTableError:
        return float("nan")
    values = [
        r["final_test_accuracy"]
        for r in computed.get(108, [])
        if r["final_test_accuracy"] is not None
    ]
    return float(np.mean(values)) if values else float("nan")
