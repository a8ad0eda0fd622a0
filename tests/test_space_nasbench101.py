"""NASBench-101 sampling and mutation helpers used by the searchers."""

import numpy as np
import pytest

from alphax.spaces.nasbench101 import NASBench101Space, mutate_spec, pad_spec, random_spec
from alphax.spec import MAX_VERTICES, CellSpec, is_valid


def test_random_cells_are_valid_and_varied():
    rng = np.random.default_rng(0)
    cells = [random_spec(rng) for _ in range(300)]
    assert all(is_valid(c) for c in cells)
    assert len({c.hash for c in cells}) > 150  # NASBench-101 sampling favours small pruned cells
    assert max(c.num_vertices for c in cells) >= 6 and min(c.num_vertices for c in cells) <= 4


def test_random_is_seeded():
    a = [random_spec(np.random.default_rng(5)).hash for _ in range(3)]
    assert len(set(a)) == 1
    assert len({random_spec(np.random.default_rng(seed)).hash for seed in range(10)}) > 5


def test_pad_keeps_the_cell():
    rng = np.random.default_rng(1)
    spec = CellSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"])
    matrix, ops = pad_spec(spec, rng)
    assert matrix.shape == (MAX_VERTICES, MAX_VERTICES) and len(ops) == MAX_VERTICES
    assert CellSpec(matrix, ops).hash == spec.hash


def test_mutation_is_local_valid_and_can_grow(subset_rows):
    rng = np.random.default_rng(2)
    small = CellSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "maxpool3x3", "output"])
    children = [mutate_spec(small, rng) for _ in range(200)]
    assert all(is_valid(c) for c in children)
    assert max(c.num_vertices for c in children) > 3
    parent = CellSpec(subset_rows[0]["matrix"], subset_rows[0]["ops"])
    kids = [mutate_spec(parent, rng) for _ in range(200)]
    changed = [k for k in kids if k.hash != parent.hash]
    assert len(changed) > 100 and len({k.hash for k in kids}) > 50


def test_space_json_roundtrip_and_features(subset_rows):
    space = NASBench101Space()
    cells = [CellSpec(r["matrix"], r["ops"]) for r in subset_rows[:20]]
    for c in cells:
        assert space.hash(space.from_json(space.to_json(c))) == c.hash
    x = space.features(cells)
    assert x.shape == (20, 36) and x.dtype == np.float32
    assert np.all(x[:, 21:].reshape(20, 5, 3).sum(axis=2) <= 1)
    assert np.allclose(x[:, :21].sum(axis=1), [c.num_edges for c in cells])


def test_an_unknown_mcts_action_is_rejected():
    with pytest.raises(ValueError, match="unknown action"):
        NASBench101Space().step(NASBench101Space().root_state(), ("x",))
