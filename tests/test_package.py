"""The public surface of the nb101 package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nb101
from nb101 import protocol


def test_every_exported_name_resolves():
    assert len(set(nb101.__all__)) == len(nb101.__all__)
    for name in nb101.__all__:
        assert getattr(nb101, name) is not None, name


def test_what_users_type_is_at_the_top_level():
    for name in (
        "Benchmark",
        "BaseBenchmark",
        "METRICS",
        "EPOCHS",
        "RUN_FIELDS",
        "TabularBenchmark",
        "ModelSpec",
        "convert_tfrecord",
        "convert_real_data",
        "load_table",
        "write_table",
        "real_table",
        "default_real_table_path",
        "OutOfDomainError",
        "get_space",
        "hash_of",
        "spec_from_hash",
    ):
        assert name in nb101.__all__, name
    assert nb101.Benchmark is protocol.Benchmark and nb101.BaseBenchmark is protocol.BaseBenchmark
    assert (nb101.METRICS, nb101.EPOCHS, nb101.RUN_FIELDS) == (
        protocol.METRICS,
        protocol.EPOCHS,
        protocol.RUN_FIELDS,
    )


def test_importing_nb101_loads_no_higher_layer_or_heavy_library():
    code = (
        "import sys, nb101; print(' '.join(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('features', 'surrogate', 'eval', 'torch', 'xgboost', "
        "'sklearn', 'optuna', 'torch_geometric'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    ).stdout
    assert out.strip() == ""


def test_the_version_has_one_source():
    import re
    import tomllib
    from importlib.metadata import version

    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    pyproject = tomllib.loads(text)
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "nb101.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+|(a|b|rc)\d+)?", nb101.__version__)
    assert version("nb101-surrogate") == nb101.__version__  # the installed metadata agrees


def test_license_and_changelog_ship_with_the_sources():
    root = Path(__file__).resolve().parents[1]
    assert "Apache License" in (root / "LICENSE").read_text()
    changelog = (root / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and "keepachangelog.com" in changelog
