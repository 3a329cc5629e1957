"""Report of the fidelity study: statistics with intervals, a verdict, Markdown and figures.

:func:`build_report` reads a :class:`eval.fidelity.FidelityResult` (raw curves, nothing
else) and computes, per study (a track on one cell set: a fold, all cells) and per surrogate:

* **gap**: per optimizer, the mean over the log-spaced grid of |seed-mean surrogate curve -
  seed-mean table curve|, and its mean over optimizers (``mean_gap``);
* **Kendall tau** between the optimizers' rankings (seed means) on the two backends at 100,
  316 and 1,000 full trainings (:data:`eval.fidelity.config.RANK_AT`);
* **agreement**: the share of optimizer pairs significant (Mann-Whitney U, alpha 0.05) on
  either backend whose verdicts agree;
* **bias**: the mean over optimizers of (surrogate - table) at the final budget, and a sign
  test across optimizers (is every optimizer better, or worse, on the surrogate?);
* **true**: the same with the surrogate's incumbents valued by the table;
* **plausible draw**: at every grid budget, per optimizer, is the table's seed mean a
  plausible further draw of the surrogate's realizations (:func:`eval.stats.
  draw_consistency`); the count outside the 95 % prediction interval;
* **landscape**: the six statistics of :mod:`eval.landscape` (the walk autocorrelation as
  the mean over lags 1-5), the table's bootstrap interval, the surrogate's value (mean over
  its draws) and whether it lies inside;
* **final cells**: per optimizer, how many distinct cells its seeds end on and the share of
  seeds on the most common one (table; surrogate: mean over draws). Optimizers that converge
  (REINFORCE, evolution) often end most seeds on one cell, and then their final value is one
  draw of that cell's runs however many seeds there are; the intervals over seeds do not see
  this, so the verdict names the optimizer behind a bias or gap miss (largest final
  difference, largest curve gap) and where its table seeds end.

"Surrogate" means the mean of its realizations (curves averaged over the draws of its
simulated runs, seed by seed); every draw against the table is reported too. Every interval
is a 95 % percentile bootstrap over seeds (each backend's seeds resampled independently).
References: two disjoint halves of the table's seeds (seed noise), pairs of a surrogate's
draws (run noise: the table is one draw), and the *attainable* reference: each draw of a
surrogate in the table's place against the mean of its other draws, i.e. what a surrogate
that is exactly right would score, with the share of these cases that meet the tau, bias
and gap targets (how attainable the targets are at the study's noise). Out-of-sample
studies of several folds get a summary over folds (mean, min, max of each statistic), with
the number of folds on which an exactly right surrogate would meet the tau, bias and gap
targets (the sum of its per-fold rates) and its chance of meeting them on every fold (their
product: the folds hold disjoint cells). The full track's fractions trained on several
samples (``--sample-seeds``) get the same summary over their samples (``over_samples``).
The report opens with a verdict against the targets of :data:`TARGETS`.
"""

from __future__ import annotations

from pathlib import Path

from .compare import compare
from .markdown import write_markdown
from .plots import plot_curves, plot_landscape, plot_ranking
from .summary import build_report
from .targets import LANDSCAPE_SIX, TARGETS

__all__ = ["build_report", "write_report", "write_markdown", "compare", "TARGETS", "LANDSCAPE_SIX"]


def write_report(report: dict, out: Path) -> None:
    """Write ``fidelity.json`` (strict JSON), ``fidelity.md`` and the figures into ``out``."""
    from nb101.io import write_json

    out = Path(out)
    for t, track in report["tracks"].items():
        plot_curves(track, t, out / f"curves_{t}.png")
        plot_ranking(track, t, out / f"ranking_{t}.png")
        if any("landscape" in s for st in track["studies"] for s in st["surrogates"].values()):
            plot_landscape(track, t, out / f"landscape_{t}.png")
    write_json(out / "fidelity.json", report, indent=1)
    write_markdown(report, out / "fidelity.md")
