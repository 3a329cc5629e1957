"""The fidelity targets (:data:`TARGETS`) and which of them a comparison meets."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["TARGETS", "LANDSCAPE_SIX", "curve_targets", "targets_met"]

#: The fidelity targets the verdict checks (surrogate = mean over its realizations).
TARGETS = {
    "tau_min": 0.5,
    "tau_at": (1, 2),
    "abs_bias_max": 0.0005,
    "sign_alpha": 0.05,
    "gap_max": 0.0008,
    "landscape_min": 4,
    "landscape_tracks": ("multifidelity",),
}
#: The six landscape statistics of the verdict (the walk autocorrelation averaged over lags).
LANDSCAPE_SIX = (
    "neighbour_corr",
    "walk_autocorr",
    "local_optima",
    "climb_length",
    "improve_prob",
    "top1_mean",
)


def curve_targets(m: dict[str, Any]) -> dict[str, bool]:
    """The tau, bias and gap targets of one comparison
    (:func:`eval.fidelity.report.compare.compare`)."""
    taus = [m["kendall_tau"][i] for i in TARGETS["tau_at"]]
    return {
        "tau": bool(all(np.isfinite(t) and t >= TARGETS["tau_min"] for t in taus)),
        "bias": bool(
            abs(m["mean_bias"]) <= TARGETS["abs_bias_max"]
            and not m["sign_test"]["p"] < TARGETS["sign_alpha"]
        ),
        "gap": bool(m["mean_gap"] <= TARGETS["gap_max"]),
    }


def targets_met(s: dict[str, Any], track: str) -> dict[str, Any]:
    """Which targets a surrogate meets; the landscape is a target on the tracks of
    ``TARGETS["landscape_tracks"]`` only (elsewhere it is reported, not judged)."""
    out = curve_targets(s["mean_of_draws"])
    if "landscape" in s and track in TARGETS["landscape_tracks"]:
        out["landscape"] = bool(s["landscape"]["inside"] >= TARGETS["landscape_min"])
    out["all"] = all(out.values())
    return out
