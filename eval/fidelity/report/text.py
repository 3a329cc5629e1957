"""Number formatting shared by the verdict and the Markdown."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["fmt", "fmt_ci", "on_one", "percent", "budget", "budget_key"]


def fmt(x, digits=3) -> str:
    """``x`` with ``digits`` decimals, ``n/a`` for None or a non-finite float."""
    return (
        "n/a" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:.{digits}f}"
    )


def fmt_ci(ci, digits=3) -> str:
    """`` [low, high]`` of an interval, empty where it has none."""
    return "" if not ci or ci[0] is None else f" [{ci[0]:.{digits}f}, {ci[1]:.{digits}f}]"


def on_one(c: dict[str, Any]) -> str:
    """The share of seeds on the commonest final cell, with the first 8 characters of its hash
    where the report recorded it."""
    return f"{100 * c['top_share']:.0f} % on one" + (
        f", {c['top_cell'][:8]}" if c.get("top_cell") else ""
    )


def percent(p: float) -> str:
    """A probability as a percentage, two significant digits (``0.0002`` -> ``0.02 %``)."""
    return f"{np.format_float_positional(100 * p, precision=2, fractional=False, trim='-')} %"


def budget(b: float) -> str:
    """A budget in full trainings: ``1,000``, ``316``, ``15``, ``4.7``."""
    return f"{b:,.0f}" if b >= 10 else f"{b:.2g}"


def budget_key(b: float) -> str:
    """A budget in full trainings as a key: ``1000``, ``316``, ``15``, ``4.7``."""
    return f"{b:.0f}" if b >= 10 else f"{b:.2g}"
