"""Fixtures of the eval tests: the real-data benchmark and its two tracks (one per module)."""

from __future__ import annotations

import pytest

from eval._testing import real_data_benchmark
from eval.tracks import make_track


@pytest.fixture(scope="module")
def bench():
    return real_data_benchmark(seed=0)


@pytest.fixture(scope="module")
def full(bench):
    return make_track("full", bench)


@pytest.fixture(scope="module")
def mf(bench):
    return make_track("multifidelity", bench)
