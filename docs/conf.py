"""Sphinx configuration of the nb101-surrogate documentation.

About the docs: Sphinx with MyST markdown pages, autodoc and napoleon, because the code base
already writes numpy-style docstrings (napoleon reads them as they are) and Sphinx builds
strictly: ``python -m sphinx -W --keep-going -b html docs docs/_build/html`` turns every
warning into an error. The results pages are generated at build time from committed JSON
files (``docs/results/data/*.json``) by :mod:`generate_results`, so no measured number is
typed into a page by hand.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(DOCS))
# Importing the API never builds anything, but keep any cache a docs build makes out of $HOME.
os.environ.setdefault("NB101_CACHE", str(REPO / ".nb101-test-cache"))

import generate_results  # noqa: E402

project = "nb101-surrogate"
author = "nb101-surrogate contributors"
copyright = "the nb101-surrogate contributors, Apache-2.0"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "results/data", "README.md"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

napoleon_numpy_docstring = True
napoleon_google_docstring = False
# "Attributes" sections as fields: a property that is also listed there is described once.
napoleon_use_ivar = True
autodoc_member_order = "bysource"
# The project's ModelSpec and the original's (nb101.compat) share a name by design, so an
# unqualified "ModelSpec" in a signature matches both: that ambiguity is not an error.
suppress_warnings = ["ref.python"]
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
# Optional extras: the API pages build without them installed (h6's extras split the install).
autodoc_mock_imports = [
    name
    for name in (
        "torch",
        "torch_geometric",
        "optuna",
        "dask",
        "distributed",
        "matplotlib",
        "syne_tune",
        "ConfigSpace",
        "graphviz",
    )
    if not generate_results.importable(name)
]

html_theme = "alabaster"
html_title = "nb101-surrogate"


def setup(app):
    """Render the generated results pages before Sphinx reads the sources."""
    app.connect("builder-inited", lambda app: generate_results.write_pages(DOCS))
