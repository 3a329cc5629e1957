"""``hpo.encodings``: config <-> spec <-> cell round trips on every cell class, the one
invalid-config rule, malformed configs, and the spaces for ConfigSpace, Optuna, Syne Tune."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _markers import requires_syne_tune
from _specs import INCEPTION, INCEPTION_STORED

from hpo import (
    EDGES,
    ENCODINGS,
    OP_CHOICES,
    ConfigError,
    InvalidConfigError,
    config_cell,
    failed_result,
    get_encoding,
    query_config,
)
from hpo._testing import synthetic_table
from nb101 import MAX_EDGES, ModelSpec, OutOfDomainError
from nb101.tabular_benchmark import TabularBenchmark

ENCS = sorted(ENCODINGS)


def _cells_by_size(space, per_size=4, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for v in range(2, 8):
        members = np.flatnonzero(space.num_vertices == v)
        picks = {int(members[0]), int(members[-1])}
        picks |= set(rng.choice(members, size=min(per_size, len(members))).tolist())
        out += sorted(picks)
    return out


def _a_config(edges, ops=("conv3x3-bn-relu",) * 5):
    """An encoding-A config with an edge at each (row, column) of ``edges``."""
    config = {f"edge_{i}": int(pair in edges) for i, pair in enumerate(EDGES)}
    config.update({f"op_node_{i}": op for i, op in enumerate(ops)})
    return config


# -------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", ENCS)
def test_round_trip_on_every_cell_class(space, name):
    enc = get_encoding(name)
    cells = _cells_by_size(space)
    assert {int(space.num_vertices[c]) for c in cells} == {2, 3, 4, 5, 6, 7}
    for cell in cells:
        config = enc.from_index(cell, space)
        assert set(config) == set(enc.names)
        enc.check(config)
        spec = enc.to_spec(config)
        assert spec.hash_spec() == space.hash(cell)
        assert enc.to_index(config, space) == cell
        assert config_cell(config, encoding=enc, space=space) == cell
        assert enc.from_spec(space.spec(cell), space) == config


@pytest.mark.parametrize("name", ENCS)
def test_isomorphic_specs_share_one_canonical_config(space, name):
    enc = get_encoding(name)
    assert enc.from_spec(INCEPTION, space) == enc.from_spec(INCEPTION_STORED, space)
    assert enc.to_spec(enc.from_spec(INCEPTION, space)).hash_spec() == INCEPTION.hash_spec()


def test_canonical_configs_pad_small_cells_with_isolated_vertices(space):
    cell = int(np.flatnonzero(space.num_vertices == 2)[0])  # input -> output
    config = get_encoding("A").from_index(cell, space)
    assert [p for i, p in enumerate(EDGES) if config[f"edge_{i}"]] == [(0, 6)]
    continuous = get_encoding("continuous").from_index(cell, space)
    assert continuous["num_edges"] == 1 and continuous["edge_5"] == 1.0


def test_a_decodes_row_major_upper_triangle_like_hpobench():
    config = _a_config({(0, 1), (1, 6)})
    matrix = get_encoding("A").matrix(config)
    assert matrix[0, 1] == 1 and matrix[1, 6] == 1 and matrix.sum() == 2
    assert EDGES[:7] == ((0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (0, 6), (1, 2))


def test_c_takes_the_num_edges_highest_values_ties_to_the_lower_position():
    enc = get_encoding("C")
    config = {
        "num_edges": 2,
        **{f"edge_{i}": 0.1 for i in range(21)},
        **{f"op_node_{i}": OP_CHOICES[0] for i in range(5)},
    }
    config["edge_20"] = 0.9  # (5, 6)
    matrix = enc.matrix(config)
    assert matrix[5, 6] == 1 and matrix[0, 1] == 1 and matrix.sum() == 2  # tie: edge_0


def test_dangling_vertices_are_pruned_not_invalid(space):
    config = _a_config({(0, 6), (2, 3)})  # 2 -> 3 is on no input-output path
    spec = get_encoding("A").to_spec(config)
    assert spec.matrix.shape == (2, 2)
    assert config_cell(config, space=space) == space.index_of_spec(
        ModelSpec([[0, 1], [0, 0]], ["input", "output"])
    )


# ------------------------------------------------------------------- the invalid rule
def _invalid_configs():
    ten = {EDGES[i] for i in range(10)}  # 10 edges, connected
    pruned_ten = {
        (0, 6),
        *[(1, j) for j in range(2, 6)],
        *[(2, j) for j in range(3, 6)],
        (3, 4),
        (3, 5),
    }  # 10 edges, 9 dangling
    assert len(ten) == len(pruned_ten) == 10
    c_zero = {
        "num_edges": 0,
        **{f"edge_{i}": 0.5 for i in range(21)},
        **{f"op_node_{i}": OP_CHOICES[1] for i in range(5)},
    }
    c_cut = dict(c_zero, num_edges=3, edge_6=0.9, edge_7=0.8, edge_8=0.7)  # 1->2,1->3,1->4
    return {
        "too many edges": ("A", _a_config(ten)),
        "too many edges before pruning": ("A", _a_config(pruned_ten)),
        "no edges": ("A", _a_config(set())),
        "disconnected": ("A", _a_config({(0, 1), (2, 6)})),
        "C with num_edges 0": ("C", c_zero),
        "C disconnected": ("C", c_cut),
    }


@pytest.mark.parametrize("case", sorted(_invalid_configs()))
def test_invalid_configs_follow_the_one_rule(space, tmp_path_factory, case):
    name, config = _invalid_configs()[case]
    enc = get_encoding(name)
    with pytest.raises(InvalidConfigError) as info:
        enc.to_spec(config)
    assert isinstance(info.value, OutOfDomainError) and "invalid config" in str(info.value)
    assert config_cell(config, encoding=enc, space=space) is None
    bench = _bench(space, tmp_path_factory)
    bench.reset_budget_counters()
    assert query_config(bench, config, encoding=enc, epochs=12) == failed_result()
    assert bench.get_budget_counters() == (0.0, 0)
    with pytest.raises(OutOfDomainError, match="epochs"):  # the budget is checked first
        query_config(bench, config, encoding=enc, epochs=5)


_TABLE = {}


def _bench(space, tmp_path_factory):
    if "path" not in _TABLE:
        _TABLE["path"] = synthetic_table(
            tmp_path_factory.mktemp("hpo") / "t.npz", num_cells=300, space=space
        )
    return TabularBenchmark(_TABLE["path"], seed=0, space=space)


def test_a_valid_config_is_one_query_charged_as_the_original(space, tmp_path_factory):
    bench = _bench(space, tmp_path_factory)
    cell = int(bench.covered_indices()[7])
    config = get_encoding("A").from_index(cell, space)
    result = query_config(bench, config, epochs=36)
    assert result["valid"] and result["cell"] == cell
    assert bench.get_budget_counters() == (result["training_time"], 36)
    mapped = query_config(
        bench, get_encoding("A").from_index(cell + 1, space), epochs=4, cell_map=lambda c: cell
    )
    assert mapped["cell"] == cell
    assert max(EDGES) == (5, 6) and MAX_EDGES == 9


# ------------------------------------------------------------------------ malformed
@pytest.mark.parametrize(
    "change, match",
    [
        ({"edge_0": 2}, "edge_0=2"),
        ({"edge_3": 0.5}, "edge_3=0.5"),
        ({"edge_3": True}, "edge_3"),
        ({"op_node_2": "conv5x5"}, "op_node_2='conv5x5'"),
        ({"extra": 1}, "unknown \\['extra'\\]"),
    ],
)
def test_malformed_configs_raise_config_error(space, change, match):
    config = dict(get_encoding("A").from_index(3, space), **change)
    with pytest.raises(ConfigError, match=match):
        config_cell(config, space=space)
    missing = get_encoding("A").from_index(3, space)
    del missing["op_node_4"]
    with pytest.raises(ConfigError, match="missing \\['op_node_4'\\]"):
        get_encoding("A").to_spec(missing)
    with pytest.raises(ConfigError, match="mapping"):
        get_encoding("A").to_spec([1, 2])


@pytest.mark.parametrize(
    "change", [{"num_edges": 10}, {"num_edges": -1}, {"edge_0": 1.5}, {"edge_1": float("nan")}]
)
def test_malformed_continuous_configs(space, change):
    config = dict(get_encoding("C").from_index(3, space), **change)
    with pytest.raises(ConfigError, match=next(iter(change))):
        get_encoding("C").to_spec(config)


def test_unknown_encoding_and_cell_index(space):
    with pytest.raises(ValueError, match="unknown encoding 'B'"):
        get_encoding("B")
    with pytest.raises(OutOfDomainError, match="cell index"):
        get_encoding("A").from_index(len(space), space)
    assert get_encoding("discrete") is ENCODINGS["A"] and get_encoding(ENCODINGS["C"]).continuous


# --------------------------------------------------------------- the spaces per library
@pytest.mark.parametrize("name", ENCS)
def test_sampling_is_seeded_and_hits_valid_and_invalid_configs(space, name):
    enc = get_encoding(name)
    configs = [enc.sample(np.random.default_rng(5)) for _ in range(2)]
    assert configs[0] == configs[1]
    rng = np.random.default_rng(0)
    cells = [config_cell(enc.sample(rng), encoding=enc, space=space) for _ in range(200)]
    assert 0 < sum(c is None for c in cells) < 200


@pytest.mark.parametrize("name", ENCS)
def test_configspace_space(space, name):
    enc = get_encoding(name)
    cs = enc.configspace(seed=3)
    assert sorted(cs.keys()) == sorted(enc.names)
    samples = [dict(c) for c in cs.sample_configuration(20)]
    again = [dict(c) for c in enc.configspace(seed=3).sample_configuration(20)]
    assert samples == again
    for config in samples:
        enc.check(config)
        config_cell(config, encoding=enc, space=space)  # a cell or None, never an error


@pytest.mark.parametrize("name", ENCS)
def test_optuna_space(space, name):
    import optuna

    enc = get_encoding(name)
    dists = enc.optuna_distributions()
    assert list(dists) == list(enc.names)
    config = enc.from_index(11, space)
    assert enc.suggest(optuna.trial.FixedTrial(config)) == config
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask(dists)
    enc.check(trial.params)


@requires_syne_tune
@pytest.mark.parametrize("name", ENCS)
def test_syne_tune_space(space, name):
    from syne_tune.config_space import Domain

    enc = get_encoding(name)
    st = enc.syne_tune_space()
    assert list(st) == list(enc.names) and all(isinstance(d, Domain) for d in st.values())
    rs = np.random.RandomState(0)
    for _ in range(10):
        config = {k: d.sample(random_state=rs) for k, d in st.items()}
        enc.check(config)


def test_the_libraries_load_only_when_needed():
    code = (
        "import sys, hpo, hpo.optuna_adapter, hpo.syne_tune_adapter; "
        "print(sorted({'optuna', 'syne_tune', 'ConfigSpace'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.stdout.strip() == "[]"
