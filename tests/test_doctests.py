"""The docstring examples of the public API run, as ``doctest`` runs them.

Each module's examples run in a fresh temporary working folder (examples that write a file
write it there) with the test cache of ``conftest.py``; the featurizer registry, which an
example adds to, is restored afterwards. An example that needs what a test
machine may lack (the network, an official file) says ``# doctest: +SKIP``; a module whose
optional dependency is not installed (at import, or lazily in its examples: see
:data:`NEEDS`) is skipped as a whole.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

PACKAGES = ("nb101", "features", "surrogate", "eval")
#: Optional packages that a module imports lazily, inside the functions its examples call.
NEEDS = {
    "surrogate.gin": ("torch", "torch_geometric"),
    "surrogate.mlp": ("torch",),
    "surrogate.tuning": ("optuna",),
    "features.embedding": ("torch", "torch_geometric"),
    "features.graph": ("torch_geometric",),
}


def _modules_with_examples() -> list[str]:
    """Dotted names of the packages' modules whose source holds a ``>>>`` example (read as
    text, so collecting the tests imports nothing)."""
    names = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            if ">>>" not in path.read_text(encoding="utf-8"):
                continue
            parts = path.relative_to(REPO).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


@pytest.mark.parametrize("name", _modules_with_examples())
def test_docstring_examples_run(name, space, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for package in NEEDS.get(name, ()):
        pytest.importorskip(package, reason=f"{name}'s examples need {package}")
    try:
        module = importlib.import_module(name)
    except ImportError as error:  # an optional extra that is not installed
        pytest.skip(f"{name} needs {error.name}")
    from features import FEATURIZERS

    registered = dict(FEATURIZERS)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    failed = 0
    try:
        for test in doctest.DocTestFinder().find(module, name):
            failed += runner.run(test, out=report.append).failed
    finally:
        FEATURIZERS.clear()
        FEATURIZERS.update(registered)
    assert failed == 0, "".join(report)
