"""The NASBench-101 cell space: pruning, limits, errors and the module hash."""

import numpy as np
import pytest

from alphax import graph
from alphax.errors import OutOfDomainError
from alphax.spec import CONV1X1, CONV3X3, MAXPOOL3X3, CellSpec, check_in_space, is_valid

I, O, C3, C1, MP = "input", "output", CONV3X3, CONV1X1, MAXPOOL3X3


def test_hash_matches_every_subset_cell(subset_rows):
    assert len(subset_rows) == 20_001
    bad = [r["hash"] for r in subset_rows if CellSpec(r["matrix"], r["ops"]).hash != r["hash"]]
    assert bad == []


def test_hash_matches_full_records(full_records):
    assert len(full_records) == 4
    for rec in full_records:
        assert CellSpec(rec["matrix"], rec["ops"]).hash == rec["hash"]
    optimum = [r for r in full_records if r["global_optimum"]]
    assert [r["hash"] for r in optimum] == ["02e5a0247bbdcf2860b7e96f74961594"]


def test_hash_uses_python_ints_whatever_the_input_dtype(subset_rows):
    row = subset_rows[123]
    as_float = CellSpec(np.array(row["matrix"], dtype=np.float64), row["ops"])
    as_int8 = CellSpec(np.array(row["matrix"], dtype=np.int8), row["ops"])
    assert as_float.hash == as_int8.hash == row["hash"]


def test_numpy_labels_would_change_the_hash_but_ours_do_not():
    m = np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]])
    ours = graph.hash_module(m, [-1, 0, -2])
    assert graph.hash_module(m, np.array([-1, 0, -2], dtype=np.int64)) == ours


def test_1000_random_vertex_permutations_hash_equal(subset_rows):
    rng = np.random.default_rng(0)
    rows = [r for r in subset_rows if len(r["ops"]) == 7][:50]
    for k in range(1000):
        row = rows[k % len(rows)]
        spec = CellSpec(row["matrix"], row["ops"])
        perm = rng.permutation(7)
        m, labels = graph.permute_graph(spec.matrix, spec.labels, perm)
        assert graph.hash_module(m, labels) == row["hash"]


def test_different_ops_give_different_hashes():
    m = [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    hashes = {CellSpec(m, [I, op, O]).hash for op in (C3, C1, MP)}
    assert len(hashes) == 3


def test_pruning_drops_vertices_off_the_input_output_paths():
    # vertex 1 has no way to the output, vertex 2 is not reachable from the input
    m = [[0, 1, 0, 1, 0],
         [0, 0, 0, 0, 0],
         [0, 0, 0, 1, 0],
         [0, 0, 0, 0, 1],
         [0, 0, 0, 0, 0]]
    spec = CellSpec(m, [I, C3, C1, MP, O])
    assert spec.valid_spec
    assert spec.matrix.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert spec.ops == [I, MP, O]
    assert spec.original_matrix.shape == (5, 5) and spec.original_ops == [I, C3, C1, MP, O]
    assert spec.hash == CellSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [I, MP, O]).hash


def test_pruning_agrees_with_networkx_on_every_small_graph_and_random_large_ones():
    """:func:`graph.prune` walks an upper-triangular matrix in vertex order; networkx's ancestors and
    descendants, another implementation, give the same kept vertices for each of the 1,024 five-vertex
    graphs and 3,000 random ones of 7 to 9 vertices (dense and sparse)."""
    import itertools

    import networkx as nx

    def reference(m):
        g = nx.DiGraph(m)
        n = len(m)
        keep = sorted(({0} | nx.descendants(g, 0)) & ({n - 1} | nx.ancestors(g, n - 1)))
        return keep if 0 in keep and n - 1 in keep else None

    rng = np.random.default_rng(0)
    graphs = []
    for bits in itertools.product((0, 1), repeat=10):
        m = np.zeros((5, 5), dtype=np.int64)
        m[np.triu_indices(5, k=1)] = bits
        graphs.append(m)
    graphs += [np.triu(rng.random((n, n)) < p, k=1).astype(np.int64)
               for n, p in zip(rng.integers(7, 10, size=3000), rng.choice([0.15, 0.3, 0.6], size=3000))]
    for m in graphs:
        labels = list(range(len(m)))
        got = graph.prune(m, labels)
        want = reference(m)
        if want is None:
            assert got is None, m
        else:
            assert got[1] == want and np.array_equal(got[0], m[np.ix_(want, want)]), m
    assert graph.is_upper_triangular(graphs[-1])
    for n in (2, 5, 7):
        for i, j in zip(*np.tril_indices(n)):
            m = np.zeros((n, n), dtype=np.int64)
            m[i, j] = 1
            assert not graph.is_upper_triangular(m)


def test_an_unchecked_cell_is_the_checked_one():
    """``CellSpec.unchecked`` (a mutation's children) skips the checks, not the pruning: on 2,000 random
    7-vertex graphs, valid, disconnected or over the limits, the same flags, pruned graph and hash."""
    rng = np.random.default_rng(1)
    kinds = set()
    for _ in range(2000):
        m = np.triu(rng.random((7, 7)) < rng.choice([0.2, 0.4, 0.7]), k=1).astype(np.int64)
        ops = [I] + [(C3, C1, MP)[k] for k in rng.integers(0, 3, size=5)] + [O]
        checked, unchecked = CellSpec(m, ops), CellSpec.unchecked(m, ops)
        assert unchecked.valid_spec == checked.valid_spec and is_valid(unchecked) == is_valid(checked)
        assert unchecked.original_ops == checked.original_ops
        if checked.valid_spec:
            assert np.array_equal(unchecked.matrix, checked.matrix) and unchecked.ops == checked.ops
            assert unchecked.hash == checked.hash and unchecked == checked
        kinds.add("valid" if is_valid(checked) else "flagged" if not checked.valid_spec else "over the limits")
    assert kinds == {"valid", "flagged", "over the limits"}


def test_pruning_keeps_a_direct_input_output_edge():
    spec = CellSpec([[0, 0, 1], [0, 0, 0], [0, 0, 0]], [I, C3, O])
    assert spec.matrix.tolist() == [[0, 1], [0, 0]] and spec.ops == [I, O]


def test_disconnected_cell_is_flagged_not_raised():
    spec = CellSpec([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [I, C3, O])
    assert not spec.valid_spec and spec.matrix is None
    assert not is_valid(spec)
    with pytest.raises(OutOfDomainError, match="disconnected"):
        check_in_space(spec)
    with pytest.raises(OutOfDomainError, match="disconnected"):
        spec.hash
    for what in (spec.to_json, lambda: spec.labels, lambda: hash(spec)):    # the same error, not AttributeError
        with pytest.raises(OutOfDomainError, match="disconnected"):
            what()
    assert "disconnected" in repr(spec)


def test_limits_after_pruning():
    # 8 vertices in a chain: too many
    n = 8
    chain = np.eye(n, k=1, dtype=int)
    spec = CellSpec(chain, [I] + [C3] * (n - 2) + [O])
    with pytest.raises(OutOfDomainError, match="8 vertices"):
        check_in_space(spec)
    # 8 vertices, one of which prunes away: in the space
    m = np.zeros((8, 8), dtype=int)
    m[:7, :7] = np.eye(7, k=1, dtype=int)[:7, :7]
    m[5, 7] = 1
    m[6, 7] = 0
    assert is_valid(CellSpec(m, [I] + [C3] * 6 + [O]))
    # 7 vertices, 10 edges: too many edges
    m = np.triu(np.ones((7, 7), dtype=int), 1)
    m[0, 2:6] = 0
    m[1, 3:5] = 0
    spec = CellSpec(m, [I] + [C3] * 5 + [O])
    assert spec.num_edges > 9
    with pytest.raises(OutOfDomainError, match="edges"):
        check_in_space(spec)


@pytest.mark.parametrize("matrix, ops, message", [
    ([[0, 1], [0, 0], [0, 0]], [I, O], "square"),
    ([0, 1], [I, O], "square"),
    ([[0]], [I], "at least an input and an output"),
    ([[0, 2], [0, 0]], [I, O], "0 or 1"),
    ([[0, "a"], [0, 0]], [I, O], "0 or 1"),
    ([[0, 1], [1, 0]], [I, O], "upper-triangular"),
    ([[0, 1], [0, 0]], [I, C3, O], "2-vertex"),
    ([[0, 1], [0, 0]], [C3, O], "first op"),
    ([[0, 1], [0, 0]], [I, C3], "first op"),
    ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], [I, "conv5x5", O], "unknown op"),
    ([[0, 1], [0]], [I, O], r"rows are of unequal lengths \[2, 1\]; give a V x V matrix of 0/1, one row per op"),
    ([], [I, O], r"must be square, got shape \(0,\); give a V x V matrix"),
])
def test_every_structural_error(matrix, ops, message):
    with pytest.raises(OutOfDomainError, match=message):
        CellSpec(matrix, ops)


def test_out_of_domain_error_is_a_value_error():
    with pytest.raises(ValueError):
        CellSpec([[0, 1], [1, 0]], [I, O])


def test_equality_is_isomorphism():
    a = CellSpec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [I, C3, C1, O])
    b = CellSpec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [I, C1, C3, O])
    c = CellSpec([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], [I, C1, C1, O])
    assert a == b and hash(a) == hash(b) and a != c
    assert a.to_json() == {"matrix": a.matrix.tolist(), "ops": [I, C3, C1, O]}


def test_nine_edges_are_allowed_and_ten_are_not():
    """The data set's edge limit is exactly 9 (after pruning): a 7-vertex chain with 3 shortcuts is a cell,
    one more shortcut is not."""
    m = np.eye(7, k=1, dtype=int)
    m[0, 2] = m[0, 3] = m[0, 4] = 1
    spec = CellSpec(m, [I] + [C3] * 5 + [O])
    assert spec.num_edges == 9 and is_valid(spec)
    m[0, 5] = 1
    spec = CellSpec(m, [I] + [C3] * 5 + [O])
    assert spec.num_edges == 10 and not is_valid(spec)
    with pytest.raises(OutOfDomainError, match="10 edges after pruning, at most 9"):
        check_in_space(spec)


def test_a_disconnected_cell_equals_no_cell_and_comparing_it_does_not_raise():
    spec = CellSpec([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [I, C3, O])
    same = CellSpec([[0, 1, 0], [0, 0, 0], [0, 0, 0]], [I, C3, O])
    cell = CellSpec([[0, 1], [0, 0]], [I, O])
    assert spec != same and spec != cell and cell != spec and spec != spec
    assert (cell == cell) is True


def test_ops_given_on_the_command_line_may_have_spaces_around_the_commas():
    from alphax.spec import parse_ops

    assert parse_ops(f"{I}, {C3} ,{O}") == [I, C3, O]
    assert CellSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], parse_ops(f" {I} , {MP}, {O} ")).ops == [I, MP, O]
