"""The fast paths of the surrogate's noise give the values of the plain NumPy formulas, bit for
bit: rule 4's map (:class:`surrogate.noise.transfer.Transfer` against ``np.interp``), the
binned quantiles (against ``searchsorted`` and 2-d indexing), the stored predictions read as
codes, and a batch answered in chunks."""

from __future__ import annotations

import numpy as np
import pytest

from surrogate.noise import NUM_QUANTILES, TargetNoise, uniform_levels
from surrogate.noise.transfer import Transfer
from surrogate.quantized import QuantizedColumn, dequantize


def _knots(rng: np.random.Generator, n: int, dups: bool) -> tuple[np.ndarray, np.ndarray]:
    xp = np.sort(np.concatenate([rng.normal(0.9, 0.02, n - 40), rng.uniform(0.1, 0.8, 40)]))
    if dups:  # runs of equal knots, as a clipped reference draw has at 0
        xp[:25] = 0.0
        xp[500:504] = xp[500]
    fp = np.sort(rng.normal(0.9, 0.03, n))
    fp[100:110] = fp[100]  # flat stretches of the labels' quantiles
    return xp, fp


@pytest.mark.parametrize("dups", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_transfer_is_np_interp_bit_for_bit(seed, dups):
    rng = np.random.default_rng(seed)
    xp, fp = _knots(rng, 1121, dups)
    transfer = Transfer(xp, fp)
    x = np.concatenate(
        [
            rng.normal(0.88, 0.1, 50_000),
            xp,
            np.nextafter(xp, 2),
            np.nextafter(xp, -2),
            [-1.0, 0.0, 2.0, xp[0], xp[-1]],
        ]
    )
    np.testing.assert_array_equal(transfer(x), np.interp(x, xp, fp))
    assert transfer._grid is not None and transfer._steps <= 25


def test_transfer_falls_back_to_np_interp():
    xp, fp = np.array([0.0, 0.5, 1.0]), np.array([0.1, 0.4, 0.9])
    x = np.array([np.nan, np.inf, -np.inf, 0.25, 2.0])
    np.testing.assert_array_equal(Transfer(xp, fp)(x), np.interp(x, xp, fp))
    for knots in (np.array([0.5, 0.5, 0.5]), np.array([0.0, np.nan, 1.0])):  # no grid
        transfer = Transfer(knots, fp)
        assert transfer._grid is None
        np.testing.assert_array_equal(transfer(x[3:]), np.interp(x[3:], knots, fp))
    np.testing.assert_array_equal(
        Transfer(xp, fp)(np.array([[0.2, 0.7]])), np.interp([[0.2, 0.7]], xp, fp)
    )
    assert Transfer(xp, fp)(0.25) == np.interp(0.25, xp, fp)


def test_binned_quantiles_are_the_plain_formula():
    rng = np.random.default_rng(3)
    edges = np.sort(rng.uniform(0.85, 0.95, 8))
    quantiles = np.sort(rng.normal(0, 0.01, (9, NUM_QUANTILES)), axis=1)
    noise = TargetNoise(edges, quantiles, 0.7, {})
    mean = np.concatenate([rng.uniform(0.8, 1.0, 20_000), edges, [0.0, 1.0]])
    few = slice(0, 40)  # searchsorted answers below 512 values
    u = rng.random(len(mean))
    u[:4] = [0.0, 1.0, 0.5, 1 - 2**-53]
    bins = np.searchsorted(edges, mean, side="right")
    pos = np.clip(u, 0.0, 1.0) * (NUM_QUANTILES - 1)
    lo = np.minimum(pos.astype(np.int64), NUM_QUANTILES - 2)
    frac = pos - lo
    expected = quantiles[bins, lo] * (1 - frac) + quantiles[bins, lo + 1] * frac
    np.testing.assert_array_equal(noise._quantile(mean, u), expected)
    np.testing.assert_array_equal(noise.offsets(mean, u), 0.7 * expected)
    np.testing.assert_array_equal(noise._quantile(mean[few], u[few]), expected[few])
    np.testing.assert_array_equal(noise._quantile(mean[-40:], u[-40:]), expected[-40:])
    # broadcasting, as before: one mean at many levels, and 0-d inputs
    np.testing.assert_array_equal(
        noise._quantile(np.float64(0.9), u)[:5], noise._quantile(np.full(5, 0.9), u[:5])
    )
    assert noise._quantile(0.9, 0.25).shape == ()


def test_quantized_column_reads_as_its_float_array():
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 65536, 1000).astype(np.uint16)
    column = QuantizedColumn(codes, 0.81, 2.1e-6)
    values = dequantize(codes, 0.81, 2.1e-6)
    np.testing.assert_array_equal(values, 0.81 + codes.astype(np.float64) * 2.1e-6)
    np.testing.assert_array_equal(np.asarray(column), values)
    idx = rng.integers(0, 1000, 300)
    np.testing.assert_array_equal(column.take(idx), values[idx])
    np.testing.assert_array_equal(column[idx], values[idx])
    assert all(column[int(i)] == values[i] and type(column[int(i)]) is float for i in idx)
    assert len(column) == 1000 and np.isnan(column).sum() == 0


def test_batch_in_chunks_is_one_pass(monkeypatch):
    import surrogate.surrogate_benchmark as module
    from surrogate import SurrogateBenchmark

    cells = np.random.default_rng(5).permutation(423_624)[:5000]
    whole = SurrogateBenchmark(seed=3).query_batch(cells, epochs=36)
    monkeypatch.setattr(module, "_CHUNK", 777)
    chunked = SurrogateBenchmark(seed=3).query_batch(cells, epochs=36)
    assert whole.keys() == chunked.keys()
    for name in whole:
        np.testing.assert_array_equal(whole[name], chunked[name])


def test_uniform_levels_are_the_splitmix_formula():
    cells = np.random.default_rng(6).permutation(423_624)[:10_000]
    repeat = np.arange(len(cells)) % 3
    key = np.uint64(0x6E6231303172756C)
    x = (
        cells.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        + repeat.astype(np.uint64) * np.uint64(0xD1B54A32D192ED03)
        + key
    )
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    expected = (x >> np.uint64(11)).astype(np.float64) * 2.0**-53
    np.testing.assert_array_equal(uniform_levels(key, repeat, cells), expected)
    np.testing.assert_array_equal(
        uniform_levels(key, 0, cells), uniform_levels(key, np.zeros_like(cells), cells)
    )
