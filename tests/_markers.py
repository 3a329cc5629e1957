"""Skip markers for optional packages that ``pip install -e ".[dev]"`` does not bring."""

from __future__ import annotations

import importlib.util

import pytest

#: syne-tune is installed apart (``pip install --no-deps syne-tune==0.16.0``: its `xgboost`
#: requirement would clobber `xgboost-cpu`); CI installs it, so these tests run there.
requires_syne_tune = pytest.mark.skipif(
    importlib.util.find_spec("syne_tune") is None,
    reason="syne-tune is installed apart: pip install --no-deps syne-tune==0.16.0",
)
