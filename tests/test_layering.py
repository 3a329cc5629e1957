"""Imports of the project, read with ``ast``: layers, cycles and declared dependencies.

Layers, lowest first: ``nb101`` < ``features`` < ``surrogate`` < ``hpo`` < ``eval``; a module
may import its own layer and the layers below. ``train_surrogate.py`` sits above ``surrogate``
(it may import ``nb101``, ``features`` and ``surrogate``) and nothing imports it. Every import
counts: at module level, inside functions, under ``TYPE_CHECKING``; relative imports are
resolved.
``from pkg import name`` depends on the submodule ``pkg.name`` when there is one, else on
``pkg`` itself (its ``__init__``). Importing a submodule does not count as importing its
package's ``__init__`` (Python runs it first, but that is no design dependency).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: Package -> rank; a module may import modules of equal or lower rank.
LAYERS = {"nb101": 0, "features": 1, "surrogate": 2, "hpo": 3, "eval": 4}
#: Top-level scripts -> the layers they may import (nothing imports a script).
SCRIPTS = {"train_surrogate": ("nb101", "features", "surrogate")}

#: Two-module cycles in files that other branches own and are fixing; the cycle test is an
#: expected failure while any of them remains, and a real failure for any other violation.

#: Distribution name -> import name where they differ beyond '-' vs '_'.
_IMPORT_NAMES = {"scikit-learn": "sklearn", "xgboost-cpu": "xgboost", "configspace": "ConfigSpace"}
#: Import names installed apart from the extras, with the documented command: syne-tune
#: requires the `xgboost` distribution, which would clobber this project's `xgboost-cpu`, so
#: the `syne` extra lists its other dependencies and syne-tune itself comes without them.
INSTALLED_APART = {"syne_tune": "pip install --no-deps syne-tune==0.16.0"}


# ----------------------------------------------------------------------------- the walker
def project_modules(
    root: Path, packages: Iterable[str] = tuple(LAYERS), scripts: Iterable[str] = tuple(SCRIPTS)
) -> dict[str, Path]:
    """Dotted module name -> file, for every module of ``packages`` and the ``scripts``."""
    out = {}
    for package in packages:
        for file in sorted((root / package).rglob("*.py")):
            parts = file.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = file
    for script in scripts:
        out[script] = root / f"{script}.py"
    return out


def _imported_names(
    module: str, node: ast.Import | ast.ImportFrom, modules: dict[str, Path]
) -> list[str]:
    """Absolute dotted names an import statement of ``module`` asks for."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        package = module.split(".")
        if modules[module].name != "__init__.py":
            package = package[:-1]
        if node.level - 1 > len(package) - 1:
            raise ValueError(
                f"{modules[module]}: relative import beyond the top package (line {node.lineno})"
            )
        package = package[: len(package) - (node.level - 1)]
        base = ".".join(package + ([node.module] if node.module else []))
    else:
        base = node.module or ""
    return [
        f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
        for alias in node.names
    ]


def project_imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its file (itself excluded)."""
    graph = {}
    for module, file in modules.items():
        deps = set()
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for name in _imported_names(module, node, modules):
                parts = name.split(".")
                while parts and ".".join(parts) not in modules:
                    parts.pop()  # an attribute of a module, or a third-party name
                if parts and ".".join(parts) != module:
                    deps.add(".".join(parts))
        graph[module] = deps
    return graph


def _layer(module: str) -> str:
    return module.split(".")[0]


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """``"a imports b"`` for every import of a higher layer (or of a script)."""
    out = []
    for module, deps in sorted(graph.items()):
        for dep in sorted(deps):
            mine, theirs = _layer(module), _layer(dep)
            if mine in SCRIPTS:
                allowed = theirs == mine or theirs in SCRIPTS[mine]
            else:
                allowed = theirs in LAYERS and LAYERS[theirs] <= LAYERS[mine]
            if not allowed:
                out.append(f"{module} imports {dep}")
    return out


def two_module_cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """Pairs of modules that import each other."""
    return {frozenset({a, b}) for a, deps in graph.items() for b in deps if a in graph.get(b, ())}


def third_party_imports(files: Iterable[Path], first_party: Iterable[str]) -> dict[str, str]:
    """Top-level import name -> one file importing it, for every non-stdlib, non-project
    absolute import."""
    first_party = set(first_party)
    out: dict[str, str] = {}
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"), str(file))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in first_party:
                    out.setdefault(top, str(file.relative_to(REPO)))
    return out


def declared_dependencies(pyproject: Path) -> tuple[set[str], set[str], set[str]]:
    """Import names of ``[project] dependencies``, of the optional extras other than ``dev``
    (features a user opts into, e.g. drawing with graphviz), and of the ``dev`` extra."""
    import tomllib

    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]

    def names(requirements: list[str]) -> set[str]:
        dists = [re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", r).group(1) for r in requirements]
        return {_IMPORT_NAMES.get(d.lower(), d.lower().replace("-", "_")) for d in dists}

    extras = project.get("optional-dependencies", {})
    optional = set().union(*(names(reqs) for name, reqs in extras.items() if name != "dev"))
    return names(project["dependencies"]), optional, names(extras.get("dev", []))


# ----------------------------------------------------------------------------- the rules
@pytest.fixture(scope="module")
def graph():
    return project_imports(project_modules(REPO))


def test_walker_sees_every_kind_of_import(tmp_path):
    for name, text in {
        "nb101/__init__.py": "from .protocol import run\nfrom . import sub\n",
        "nb101/protocol.py": "import numpy\ndef f():\n    from nb101.sub import deep\n",
        "nb101/sub/__init__.py": "",
        "nb101/sub/deep.py": "from ..protocol import run\nfrom .. import protocol as a\n",
        "features/__init__.py": "",
        "features/x.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import surrogate.y\n"
        ),
        "surrogate/__init__.py": "",
        "surrogate/y.py": "class C:\n    def m(self):\n        import train_surrogate\n",
        "eval/__init__.py": "",
        "train_surrogate.py": "from eval import thing\n",
    }.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    modules = project_modules(tmp_path)
    found = project_imports(modules)
    assert found == {
        "nb101": {"nb101.protocol", "nb101.sub"},
        "nb101.protocol": {"nb101.sub.deep"},
        "nb101.sub": set(),
        "nb101.sub.deep": {"nb101.protocol"},
        "features": set(),
        "features.x": {"surrogate.y"},
        "surrogate": set(),
        "surrogate.y": {"train_surrogate"},
        "eval": set(),
        "train_surrogate": {"eval"},
    }
    assert upward_imports(found) == [
        "features.x imports surrogate.y",
        "surrogate.y imports train_surrogate",
        "train_surrogate imports eval",
    ]
    assert two_module_cycles(found) == {frozenset({"nb101.protocol", "nb101.sub.deep"})}


def test_no_module_imports_a_higher_layer(graph):
    assert set(graph) >= {
        "nb101",
        "nb101.protocol",
        "features",
        "surrogate",
        "eval",
        "eval.optimizers.base",
        "train_surrogate",
    }
    assert upward_imports(graph) == []


def test_no_two_modules_import_each_other(graph):
    cycles = sorted(" <-> ".join(sorted(pair)) for pair in two_module_cycles(graph))
    assert cycles == []


def test_third_party_imports_are_declared():
    main, optional, dev = declared_dependencies(REPO / "pyproject.toml")
    first_party = {*LAYERS, *SCRIPTS}
    package_files = list(project_modules(REPO).values())
    used = third_party_imports(package_files, first_party)
    declared = main | optional | set(INSTALLED_APART)
    assert {name: file for name, file in used.items() if name not in declared} == {}
    assert main - set(used) == set(), "declared but never imported by the package"
    helpers = {path.stem for path in (REPO / "tests").rglob("*.py")}
    helpers |= {path.stem for path in (REPO / "benchmarks").glob("*.py")}
    others = third_party_imports(
        [*(REPO / "tests").rglob("*.py"), *(REPO / "benchmarks").glob("*.py")],
        first_party | helpers,
    )
    assert {name: file for name, file in others.items() if name not in declared | dev} == {}
