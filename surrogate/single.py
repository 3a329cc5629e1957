"""One cell's simulated run in plain Python floats: the single-query path of
:class:`surrogate.SurrogateBenchmark`.

A query of one cell through the array path (:meth:`SurrogateBenchmark._runs`) spends most of
its time in NumPy's per-call overhead on one-element arrays. Here the same operations run on
Python numbers, in the same order, so they give the same float64 values bit for bit (Python
floats are IEEE doubles; the integer hash wraps at 64 bits as NumPy's ``uint64`` does; the
rule-4 map takes ``np.interp``'s steps: the last knot at or below the value, then its
slope). ``tests/surrogate/test_stored_predictions.py`` checks the two paths against each
other. Noise rule 5 (model error out of sample) is not done here: a benchmark with it answers single
queries through the array path.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable
from typing import Any

from nb101 import parse_target
from nb101.protocol import METRICS

from .noise import NUM_QUANTILES, TargetNoise
from .quantized import QuantizedColumn

__all__ = ["uniform_level", "run_function", "run_functions", "SingleQueries"]

_MASK = (1 << 64) - 1
_SCALE53 = 2.0**-53


def uniform_level(key: int, repeat: int, cell: int) -> float:
    """:func:`surrogate.noise.uniform_levels` of one (repeat, cell), as a Python float."""
    x = (cell * 0x9E3779B97F4A7C15 + repeat * 0xD1B54A32D192ED03 + key) & _MASK
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return (x >> 11) * _SCALE53


def run_function(
    target: str, noise: TargetNoise | None, member: int | None
) -> Callable[[float, float], float]:
    """``f(mean, u)``: :meth:`surrogate.noise.NoiseModel.perturb` of one value without
    model error (rules 1-4, rule 6's member), on Python floats."""
    if noise is None:
        return lambda mean, u: mean
    if noise.model_error:
        raise ValueError("the single-value path has no rule 5 (model error)")
    accuracy = parse_target(target).metric.endswith("accuracy")
    edges = noise.edges.tolist()
    quantiles = noise.quantiles.tolist()
    scale = float(noise.scale)
    top = NUM_QUANTILES - 1
    simulated = noise.simulated
    if simulated is not None and simulated.ndim == 2:
        if member is None:
            raise ValueError(
                f"target {target!r} maps the runs of each of its ensemble members; say which member"
            )
        simulated = simulated[member % len(simulated)]
    xs = None if simulated is None else simulated.tolist()
    ys = None if simulated is None else noise.marginal.tolist()
    last = None if xs is None else len(xs) - 1

    def run(mean: float, u: float) -> float:
        row = quantiles[bisect_right(edges, mean)]
        pos = (0.0 if u < 0.0 else 1.0 if u > 1.0 else u) * top
        lo = min(int(pos), top - 1)
        frac = pos - lo
        value = mean + scale * (row[lo] * (1 - frac) + row[lo + 1] * frac)
        value = min(max(value, 0.0), 1.0) if accuracy else max(value, 0.0)
        if xs is not None:  # np.interp(value, xs, ys), its steps on one value
            j = bisect_right(xs, value) - 1
            if j < 0:
                value = ys[0]
            elif j >= last or xs[j] == value:
                value = ys[min(j, last)]
            else:
                slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j])
                value = slope * (value - xs[j]) + ys[j]
            value = min(max(value, 0.0), 1.0) if accuracy else max(value, 0.0)
        return value

    return run


def run_functions(
    noise: Any, targets: Iterable[str], run_source: Callable[[str], tuple]
) -> dict | bool:
    """Per run source (``run_source(target)``: the target and its ensemble member or None),
    its :func:`run_function`; ``{None: None}`` without noise (a noise-free benchmark needs
    none); False where a target has noise rule 5 (not done on one value)."""
    if noise is None:
        return {None: None}
    if any(t.model_error for t in noise.targets.values()):
        return False
    return {run_source(t): run_function(t, noise.targets.get(t), run_source(t)[1]) for t in targets}


class SingleQueries:
    """The single-query path of :class:`surrogate.SurrogateBenchmark` (a mixin before
    :class:`nb101.protocol.BaseBenchmark`, whose array path answers where this one cannot)."""

    def _run(self, index: int, epochs: int, stop_halfway: bool) -> dict[str, float | None]:
        """One run of one cell on Python floats (:mod:`surrogate.single`), the values of
        :meth:`_runs` (which answers where predictions are missing or rule 5 applies)."""
        plan = self._plans.get((epochs, stop_halfway))
        if plan is None:
            if self._single is None:  # decided once: the noise model must allow it
                self._single = run_functions(
                    self.artifact.noise if self.noise else None, self.targets, self._run_source
                )
            needed = self._needed[(epochs, stop_halfway)]
            if not self._single or any(self._run_source(t) not in self._complete for t in needed):
                return super()._run(index, epochs, stop_halfway)  # loads the predictions
            plan = self._plans[(epochs, stop_halfway)] = self._plan(epochs, stop_halfway)
        if self.noise:
            repeat = self._rng.randint(0, self.num_repeats - 1)  # as _draw does for one cell
            u_acc = uniform_level(plan[0][0], repeat, index)
            u_time = uniform_level(plan[0][1], repeat, index)
        out: dict[str, float | None] = {}
        for metric, read, run, time, factor in plan[1]:
            if read is None:
                out[metric] = None
                continue
            value = read(index)
            if run is not None:
                value = run(value, u_time if time else u_acc)
            out[metric] = value * factor if factor != 1.0 else value
        return out

    def _plan(self, epochs: int, halfway: bool) -> tuple:
        """:meth:`_run`'s streams' keys, and per metric: the prediction of a cell as a Python
        float (``read(index)``), noise, stream, factor."""
        keys = (
            (
                int(self._noise_key("accuracy", epochs)),
                int(self._noise_key("training_time", epochs)),
            )
            if self.noise
            else None
        )
        rows = []
        for metric in METRICS:
            target, factor = self._sources[(metric, epochs, halfway)]
            source = None if target is None else self._run_source(target)
            read = None
            if source is not None:
                values = self._cache[source]
                read = values.value if isinstance(values, QuantizedColumn) else values.item
            rows.append(
                (
                    metric,
                    read,
                    self._single.get(source) if self.noise else None,
                    metric == "training_time",
                    factor,
                )
            )
        return keys, rows
