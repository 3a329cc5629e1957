"""The light core: the table, the bundled surrogate and ``nb101 rank`` run without the extras,
and a feature that needs one says which (``nb101._optional``)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest

from nb101 import MissingDependencyError, write_table
from nb101._optional import require

REPO = Path(__file__).resolve().parents[1]
#: Import names of the extras' dependencies (gnn, train, eval, viz).
EXTRA_MODULES = (
    "torch",
    "torch_geometric",
    "optuna",
    "dask",
    "distributed",
    "matplotlib",
    "graphviz",
)

#: Run first in a subprocess: importing any of EXTRA_MODULES fails as if it were absent.
_ABSENT = textwrap.dedent(f"""
    import importlib.abc, sys
    class _Absent(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in {EXTRA_MODULES!r}:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None
    sys.meta_path.insert(0, _Absent())
""")


def _run_without_extras(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _ABSENT + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=os.environ.copy(),
        timeout=600,
    )


def test_table_surrogate_and_rank_run_without_the_extras(space, tmp_path):
    table = write_table(
        tmp_path / "t.npz",
        run_cell=[5, 6],
        run_epochs=[108, 108],
        run_repeat=[0, 0],
        values={"final_test_accuracy": [0.5, 0.75]},
        source={"kind": "test"},
    )
    done = _run_without_extras(f"""
        import sys
        import numpy as np
        from nb101 import TabularBenchmark, get_space
        from nb101.cli import main
        from surrogate import SurrogateBenchmark
        spec = get_space().spec(6)
        print(TabularBenchmark({str(table)!r}, seed=0).query(spec)["test_accuracy"])
        print(SurrogateBenchmark(seed=0).query_batch(np.array([5, 6]))["test_accuracy"].shape)
        assert main(["rank", "--top", "3", "--no-progress"]) == 0
        assert main(["query", get_space().hash(6), "--surrogate"]) == 0
        print(sorted(m for m in sys.modules if m.partition(".")[0] in {EXTRA_MODULES!r}))
    """)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:2] == ["0.75", "(2,)"]
    assert "ranked 423,624 cells" in done.stdout and '"module_hash"' in done.stdout
    assert lines[-1] == "[]"


@pytest.mark.parametrize(
    "code, extra",
    [
        ("from surrogate.registry import REGRESSORS; REGRESSORS['gin']", "gnn"),
        (
            "from surrogate.registry import get_regressor; import numpy as np;"
            "get_regressor('mlp').fit(np.zeros((8, 2)), np.arange(8.0))",
            "gnn",
        ),
        ("from features import cells_to_batch", "gnn"),
        ("from features import GNNEmbedding", "gnn"),
        ("from eval.predictors.report import _plot; _plot([], 'x', None, {})", "eval"),
    ],
)
def test_a_feature_without_its_extra_names_the_extra(code, extra):
    done = _run_without_extras(code)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("nb101._optional.MissingDependencyError: ")
    assert re.search(rf"is needed for .+: pip install 'nb101-surrogate\[{extra}\]'$", last)


def test_require():
    assert require("json", "eval", "x").dumps([1]) == "[1]"
    with pytest.raises(
        MissingDependencyError,
        match=r"^not_a_module_nb101 is needed for the "
        r"moon: pip install 'nb101-surrogate\[eval\]'$",
    ) as info:
        require("not_a_module_nb101.sub", "eval", "the moon")
    assert isinstance(info.value, ImportError) and info.value.extra == "eval"
    with pytest.raises(MissingDependencyError, match="^torch-geometric is needed"):
        raise MissingDependencyError("torch_geometric.nn", "gnn", "the GIN regressor")


def test_the_core_install_leaves_the_extras_out():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]

    def names(requirements):
        return {re.match(r"[A-Za-z0-9_.-]+", r).group(0).lower() for r in requirements}

    core, extras = names(project["dependencies"]), project["optional-dependencies"]
    assert core.isdisjoint({"torch", "torch-geometric", "optuna", "dask", "matplotlib"})
    assert {"numpy", "xgboost-cpu", "tqdm", "google-crc32c"} <= core
    assert {"torch", "torch-geometric"} <= names(extras["gnn"])
    assert "optuna" in names(extras["train"])
    assert {"dask", "matplotlib"} <= names(extras["eval"])
    assert "sphinx" in names(extras["docs"])
    assert (
        "nb101-surrogate[gnn,train,eval,docs,optuna,configspace,syne]" in extras["dev"]
    )  # CI: all
    assert any("platform_system" in r for r in project["dependencies"])  # xgboost-cpu's markers
