"""Shared fixtures: the enumerated space and the real-data folder.

Tests write nothing into the home folder: without ``$NB101_CACHE`` the space and feature
caches go into ``<repo>/.nb101-test-cache`` (ignored by git), set here before any project
import, so the space is built once per checkout rather than once per session; matplotlib's
font cache goes into its ``matplotlib`` subfolder unless ``$MPLCONFIGDIR`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if not os.environ.get("NB101_CACHE"):
    os.environ["NB101_CACHE"] = str(REPO / ".nb101-test-cache")
if not os.environ.get("MPLCONFIGDIR"):
    os.environ["MPLCONFIGDIR"] = str(Path(os.environ["NB101_CACHE"]) / "matplotlib")

import pytest  # noqa: E402

from nb101 import get_space  # noqa: E402


@pytest.fixture(scope="session")
def space():
    """The full cell space (built once into ``$NB101_CACHE``, then loaded)."""
    return get_space()


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """``$NB101_DATA`` or ``<repo>/../shared/data``; skips only if the folder is absent."""
    path = Path(os.environ.get("NB101_DATA") or REPO.parent / "shared" / "data")
    if not path.is_dir():
        pytest.skip(f"real NAS-Bench-101 data folder {path} is absent")
    return path
