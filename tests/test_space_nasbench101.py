"""NASBench-101 sampling and mutation helpers used by the searchers."""

import numpy as np
import pytest

from alphax.spaces.nasbench101 import NASBench101Space, mutate_spec, pad_spec, random_spec
from alphax.spec import MAX_VERTICES, OPS, CellSpec, is_valid


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


def _matrix(n, edges):
    m = np.zeros((n, n), dtype=np.int64)
    for i, j in edges:
        m[i, j] = 1
    return m


@pytest.mark.parametrize("n, edges, expected", [
    (4, [(0, 1), (1, 2), (2, 3)], [[0, 1, 2, 3]]),                                   # a chain: one order
    (4, [(0, 1), (0, 2), (1, 3), (2, 3)], [[0, 1, 2, 3], [0, 2, 1, 3]]),             # two branches
    (5, [(0, 1), (1, 2), (2, 4), (0, 3), (3, 4)], [[0, 1, 2, 3, 4], [0, 1, 3, 2, 4], [0, 3, 1, 2, 4]]),
    (2, [(0, 1)], [[0, 1]]),
])
def test_topological_orders_by_hand(n, edges, expected):
    from alphax.graph import topological_orders

    assert topological_orders(_matrix(n, edges)) == expected


def test_topological_orders_are_every_order_that_stays_upper_triangular(subset_rows):
    import itertools

    from alphax.graph import topological_orders

    for row in subset_rows[:300]:
        m = CellSpec(row["matrix"], row["ops"]).matrix
        n = len(m)
        brute = [[0, *p, n - 1] for p in itertools.permutations(range(1, n - 1))
                 if not np.tril(m[np.ix_([0, *p, n - 1], [0, *p, n - 1])]).any()]
        assert topological_orders(m) == brute


def _cell_of_features(row):
    """Back from the paper's 36 features to a cell: empty vertices get an op and are pruned away."""
    m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
    m[np.triu_indices(MAX_VERTICES, k=1)] = row[:21]
    onehot = row[21:].reshape(5, 3)
    ops = ["input"] + [OPS[int(np.argmax(o))] if o.any() else OPS[2] for o in onehot] + ["output"]
    return CellSpec(m, ops)


def test_feature_variants_are_the_same_cell_in_every_vertex_order(subset_rows):
    from alphax.graph import topological_orders

    space = NASBench101Space()
    counts = []
    for row in subset_rows[:300]:
        cell = CellSpec(row["matrix"], row["ops"])
        forms = space.feature_variants(cell)
        assert forms.dtype == np.float32 and forms.shape == (len(topological_orders(cell.matrix)), 36)
        assert np.array_equal(forms[0], space.features([cell])[0])          # its own form first
        assert {_cell_of_features(f).hash for f in forms} == {cell.hash}
        counts.append(len(forms))
    assert min(counts) == 1 and max(counts) > 6                 # chains have one form, branchy cells many
    assert len({f.tobytes() for f in space.feature_variants(_branchy())}) == 6


def _mixed_batch(subset_rows, n=3000):
    """Real cells of every size in a shuffled order, and the smallest cell (input -> output)."""
    rng = np.random.default_rng(1)
    cells = [CellSpec(subset_rows[i]["matrix"], subset_rows[i]["ops"])
             for i in rng.choice(len(subset_rows), n, replace=False)]
    return [cells[0], CellSpec([[0, 1], [0, 0]], ["input", "output"]), *cells[1:]]


def test_features_of_a_mixed_batch_in_bulk_decode_to_each_cell(subset_rows):
    """features() encodes a batch a size at a time: every row still decodes to its own cell."""
    cells = _mixed_batch(subset_rows)
    assert {len(c.ops) for c in cells} >= {2, 5, 6, 7}
    x = NASBench101Space().features(cells)
    assert x.shape == (len(cells), 36) and x.dtype == np.float32
    assert [_cell_of_features(f).hash for f in x] == [c.hash for c in cells]
    assert NASBench101Space().features([]).shape == (0, 36)


def test_action_codes_in_bulk_are_the_cell_by_cell_numbering(subset_rows):
    """NASBench-101 numbers the build paths of a pool in bulk; the result is the interface's own cell by
    cell numbering (SearchSpace.action_codes), and each row builds its cell."""
    from alphax.spaces.base import SearchSpace

    space = NASBench101Space()
    cells = _mixed_batch(subset_rows)
    codes, actions = space.action_codes(cells)
    expected_codes, expected_actions = SearchSpace.action_codes(space, cells)
    assert codes.dtype == np.int16 and actions == expected_actions and np.array_equal(codes, expected_codes)
    for row, cell in zip(codes[:300], cells[:300]):
        state = space.root_state()
        for code in row[row >= 0]:
            state = space.step(state, actions[code])
        assert space.cell_of(state).hash == cell.hash
    one, first = space.action_codes(cells[1:2])                 # input -> output: the edge, then the end
    assert one.tolist() == [[0, 1, -1]] and first == [("e", 0, -1), ("end",)]
    assert space.action_codes([])[0].shape == SearchSpace.action_codes(space, [])[0].shape == (0, 1)


def _branchy():
    """Three parallel branches with three different ops: 3! orders, six different encodings."""
    return CellSpec(_matrix(5, [(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 4)]), ["input", *OPS, "output"])


# -- found missing by a second mutation audit (mut-core): each fails on one plausible bug --
def test_the_mcts_view_never_leaves_the_space():
    """Building a cell action by action never passes 5 interior vertices or 9 edges, never adds an edge
    twice, and a finished state's cell is a valid cell or None. A greedy walk (an edge into an interior
    vertex first, then a new vertex, then an output edge) reaches both limits; random walks check the rest."""
    space = NASBench101Space()
    rng = np.random.default_rng(0)
    most_ops = most_edges = 0
    for walk in range(400):
        state = space.root_state()
        while True:
            actions = space.actions(state)
            if not actions:
                break
            for a in actions:
                if a[0] == "v":
                    assert len(state[0]) < MAX_VERTICES - 2
                if a[0] == "e":
                    assert len(state[1]) < 9 and (a[1], a[2]) not in state[1]
            greedy = min(actions, key=lambda a: {"v": 1, "end": 3}.get(a[0], 2 if a[-1] == -1 else 0))
            action = greedy if walk == 0 else actions[int(rng.integers(len(actions)))]
            state = space.step(state, action)
        most_ops, most_edges = max(most_ops, len(state[0])), max(most_edges, len(state[1]))
        cell = space.cell_of(state)
        assert cell is None or is_valid(cell)
    assert (most_ops, most_edges) == (5, 9)


def test_an_op_chosen_for_mutation_becomes_another_op():
    """NASBench-101's mutation changes each interior op with probability 1/5 to one of the *other* two
    ops (drawing among all three would change it only 2/15 of the time). Measured on the children of a
    7-vertex chain whose edges came out unflipped (their vertices are the parent's)."""
    ops = ["input", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv1x1-bn-relu",
           "output"]
    parent = CellSpec(np.eye(7, k=1, dtype=int), ops)
    rng = np.random.default_rng(0)
    kids = [mutate_spec(parent, rng) for _ in range(3000)]
    same = [k for k in kids if k.num_vertices == 7 and np.array_equal(k.matrix, parent.matrix)]
    changed = sum(a != b for k in same for a, b in zip(k.ops[1:-1], ops[1:-1]))
    assert len(same) > 100 and 0.16 < changed / (5 * len(same)) < 0.24        # 1/5 expected


def test_mutation_draws_the_same_children_from_the_same_seed_as_ever(subset_rows):
    """Regularized evolution's figures in BENCHMARKS.md (and a resumed run's replay) rest on the mutation
    turning the same random numbers into the same children: 1,000 mutations of the subset's first 20
    cells from seed 0, each child's hash and unpruned graph, as they were before mutation was made faster
    (2026-12-06; the same digest on commit ee531a5)."""
    import hashlib
    import json

    parents = [CellSpec(r["matrix"], r["ops"]) for r in subset_rows[:20]]
    rng = np.random.default_rng(0)
    digest = hashlib.md5()
    for k in range(1000):
        child = mutate_spec(parents[k % 20], rng)
        digest.update(json.dumps([child.hash, child.original_matrix.tolist(), child.original_ops]).encode())
    assert digest.hexdigest() == "042561bd653ac59b59d8f279477316ac"
