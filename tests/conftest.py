"""Shared fixtures: the enumerated space and the real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nb101 import get_space

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def space():
    """The full cell space (built once into the user cache, then loaded)."""
    return get_space()


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``$NB101_DATA`` or ``<repo>/../shared/data``; skips only if the folder is absent."""
    path = Path(os.environ.get("NB101_DATA") or REPO.parent / "shared" / "data")
    if not path.is_dir():
        pytest.skip(f"real NAS-Bench-101 data folder {path} is absent")
    return path
