"""UCT, expansion and backup on small hand-checked trees (alphax.mcts)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphax import mcts


def _tree():
    """root -> a (2 visits, sum 1.6), b (1 visit, sum 0.9), c (unvisited)."""
    tree = mcts.Tree.new("root")
    a = tree.add_child(0, "a", "A")
    b = tree.add_child(0, "b", "B")
    c = tree.add_child(0, "c", "C")
    mcts.backup(tree, a, 0.8)
    mcts.backup(tree, a, 0.8)
    mcts.backup(tree, b, 0.9)
    return tree, a, b, c


def test_uct_score_matches_formula():
    assert mcts.uct_score(0.8, 2, 3, c=0.5) == pytest.approx(0.8 + 2 * 0.5 * math.sqrt(2 * math.log(3) / 2))
    assert mcts.uct_score(0.1, 0, 3) == math.inf


def test_select_child_prefers_unvisited_then_uct():
    tree, a, b, c = _tree()
    rng = np.random.default_rng(0)
    assert mcts.select_child(tree, 0, rng=rng) == c
    tree.nodes[c].dead = True
    # a: 0.8 + sqrt(2 ln 3 / 2) = 1.848; b: 0.9 + sqrt(2 ln 3) = 2.382
    assert mcts.select_child(tree, 0, rng=rng) == b
    assert mcts.select_child(tree, 0, rng=rng, c=0.0) == b
    tree.nodes[b].value_sum = 0.0        # q(b) = 0 -> 1.482 < 1.848
    assert mcts.select_child(tree, 0, rng=rng) == a


def test_backup_and_correct_update_the_whole_path():
    tree, a, b, c = _tree()
    root = tree.nodes[0]
    assert (root.visits, root.value_sum) == (3, pytest.approx(2.5))
    d = tree.add_child(a, "d", "D")
    mcts.backup(tree, d, 0.5)                     # preemptive: provisional value
    assert tree.nodes[a].visits == 3 and tree.nodes[a].value_sum == pytest.approx(2.1)
    mcts.correct(tree, d, 0.5, 0.95)              # the real result arrives
    assert tree.nodes[d].visits == 1 and tree.nodes[d].q == pytest.approx(0.95)
    assert tree.nodes[a].value_sum == pytest.approx(2.55) and tree.nodes[a].visits == 3
    assert root.visits == 4 and root.value_sum == pytest.approx(3.45)
    assert tree.nodes[b].visits == 1 and tree.nodes[c].visits == 0


def test_select_stops_at_a_node_with_untried_actions_and_expand_uses_prior():
    tree, a, b, c = _tree()
    rng = np.random.default_rng(0)
    legal = {0: ["a", "b", "c"], a: ["x", "y"], b: [], c: []}
    mcts.backup(tree, c, 0.1)
    leaf = mcts.select(tree, lambda i: legal.get(i, []), rng=rng, c=0.0)
    assert leaf == b                                   # best q, terminal
    tree.nodes[b].dead = True
    leaf = mcts.select(tree, lambda i: legal.get(i, []), rng=rng, c=0.0)
    assert leaf == a                                   # untried actions below a
    child = mcts.expand(tree, a, actions=legal[a], step=lambda s, act: s + act, rng=rng, prior=[0.1, 0.7])
    assert tree.nodes[child].action == "y" and tree.nodes[child].state == "Ay"
    assert tree.nodes[child].depth == 2
    other = mcts.expand(tree, a, actions=legal[a], step=lambda s, act: s + act, rng=rng)
    assert tree.nodes[other].action == "x"
    assert mcts.expand(tree, a, actions=legal[a], step=lambda s, act: s + act, rng=rng) == a   # nothing untried


def test_select_returns_none_when_everything_is_dead():
    tree, a, b, c = _tree()
    for i in (a, b, c):
        tree.nodes[i].dead = True
    assert mcts.select(tree, lambda i: ["a", "b", "c"] if i == 0 else [], rng=np.random.default_rng(0)) is None


def test_rollout_reaches_a_terminal_state():
    from alphax.spaces import NASBench101Space

    space = NASBench101Space()
    rng = np.random.default_rng(1)
    for _ in range(50):
        state = mcts.rollout(space.root_state(), actions=space.actions, step=space.step, rng=rng)
        assert space.actions(state) == []


def test_nasbench101_action_paths_rebuild_every_cell():
    from alphax.spaces import NASBench101Space

    space = NASBench101Space()
    rng = np.random.default_rng(2)
    for _ in range(200):
        cell = space.random_cell(rng)
        state = space.root_state()
        for action in space.action_path(cell):
            assert action in space.actions(state)
            state = space.step(state, action)
        assert space.actions(state) == [] and space.cell_of(state).hash == cell.hash
    assert space.cell_of(space.root_state()) is None


def test_select_guided_blends_model_values_with_backed_up_means():
    """root (3 visits) -> a (n=2, q=0.8), b (n=1, q=0.9), c (a node, n=0), d (untried)."""
    tree, a, b, c = _tree()
    rng = np.random.default_rng(0)
    legal = {0: ["a", "b", "c", "d"], a: ["x"], b: [], c: []}
    values = {0: {"a": 0.0, "b": 0.0, "c": 0.5, "d": 1.0}, a: {"x": 0.2}}

    def select(c_, prior_visits=1.0):
        return mcts.select_guided(tree, legal.__getitem__, action_values=lambda n, acts: [values[n][x] for x in acts],
                                  rng=rng, c=c_, prior_visits=prior_visits)

    # without exploration: a (2*0.8 + 0)/3 = 0.533, b 0.9/2 = 0.45, c 0.5, d 1.0 -> the untried d
    assert select(0.0) == (0, "d")
    values[0]["d"] = 0.3                                  # now a is best: descend, expand a's untried x
    assert select(0.0) == (a, "x")
    # the prior's weight: counted as 3 visits, a = (1.6 + 0)/5 = 0.32 < c's 0.5 (c, not yet visited,
    # is a node without actions: the descent stops there)
    assert select(0.0, prior_visits=3.0) == (c, None)
    # exploration: c * sqrt(2 ln N / (n + 1)) favours the unvisited: d = 0.6 + 10 * sqrt(2 ln 3) = 15.42 >
    # c = 0.5 + 14.82 = 15.32 > a = 0.533 + 10 * sqrt(2 ln 3 / 3) = 9.09
    values[0]["d"] = 0.6
    assert select(10.0) == (0, "d")
    values[0]["d"] = -20.0
    assert select(10.0) == (c, None)                      # c: 0.5 + 14.8 beats a's 9.09 and d's -5.2
    # prior_visits=0: a tried action by its mean alone, an untried one (0 + 0 weights) by the model's value
    values[0]["d"] = 0.85
    assert select(0.0, prior_visits=0.0) == (b, None)     # b 0.9 > d 0.85 > a 0.8 > c 0.5
    values[0]["d"] = 0.95
    assert select(0.0, prior_visits=0.0) == (0, "d")


def test_select_guided_stops_at_a_terminal_node_and_none_when_the_root_has_no_action():
    tree, a, b, c = _tree()
    rng = np.random.default_rng(0)
    legal = {0: ["b"], b: []}
    assert mcts.select_guided(tree, legal.__getitem__, action_values=lambda n, acts: [0.0] * len(acts), rng=rng,
                              c=0.5, prior_visits=1.0) == (b, None)
    assert mcts.select_guided(tree, {0: []}.__getitem__, action_values=lambda n, acts: [], rng=rng,
                              c=0.5, prior_visits=1.0) is None


# -- found missing by a mutation audit (2026-12-05): each fails on one plausible bug --
def test_select_child_scores_the_normalized_mean():
    """With value_scale='percent' the tree compares 100 q, so exploration barely matters."""
    tree, a, b, c = _tree()
    tree.nodes[c].dead = True
    tree.nodes[b].value_sum = 0.75
    rng = np.random.default_rng(0)
    # raw: a 0.8 + 1.048 = 1.848 < b 0.75 + 1.482 = 2.232; percent: a 81.05 > b 76.48
    assert mcts.select_child(tree, 0, rng=rng, c=0.5) == b
    assert mcts.select_child(tree, 0, rng=rng, c=0.5, normalize=lambda q: 100.0 * q) == a


def test_select_guided_explores_by_visits_plus_one():
    """A visited child's bonus is c sqrt(2 ln N / (n + 1)), not / n."""
    tree, a, b, c = _tree()
    tree.nodes[b].value_sum = 0.5
    legal = {0: ["a", "b", "c", "d"], a: ["x"], b: [], c: []}
    values = {0: {"a": 0.0, "b": 0.0, "c": -5.0, "d": -5.0}, a: {"x": 0.0}}
    # n + 1: a 0.8 + sqrt(2 ln 3 / 3) = 1.656 > b 0.5 + sqrt(2 ln 3 / 2) = 1.548; (with / n: 1.848 < 1.982)
    got = mcts.select_guided(tree, legal.__getitem__, action_values=lambda n, acts: [values[n][x] for x in acts],
                             rng=np.random.default_rng(0), c=1.0, prior_visits=0.0)
    assert got == (a, "x")


# -- found missing by a second mutation audit (mut-core): each fails on one plausible bug --
def test_select_restarts_from_the_root_past_a_node_whose_children_are_all_dead():
    """A fully expanded node whose every child is dead is marked dead and the descent starts again from
    the root (here it then goes down b to the terminal y), rather than giving up or looping on it."""
    tree, a, b, c = _tree()
    tree.nodes[c].dead = True
    x = tree.add_child(a, "x", "Ax")
    y = tree.add_child(b, "y", "By")
    tree.nodes[x].dead = True
    mcts.backup(tree, x, 0.8)
    mcts.backup(tree, y, 0.1)                          # c=0: a's q 0.8 beats b's 0.5, so a is tried first
    legal = {0: ["a", "b", "c"], a: ["x"], b: ["y"], y: []}
    calls = []

    def legal_actions(i):
        calls.append(i)
        assert len(calls) < 50, "select loops on a dead subtree"
        return legal.get(i, [])

    assert mcts.select(tree, legal_actions, rng=np.random.default_rng(0), c=0.0) == y
    assert tree.nodes[a].dead and not tree.nodes[0].dead and not tree.nodes[b].dead
    assert calls == [0, a, 0, b, y]


def test_ties_are_broken_at_random():
    """Equal scores (e.g. every unvisited child, +inf) are broken with the generator: each is chosen."""
    tree = mcts.Tree.new("root")
    kids = [tree.add_child(0, k, k) for k in "abc"]
    rng = np.random.default_rng(0)
    assert {mcts.select_child(tree, 0, rng=rng) for _ in range(60)} == set(kids)
    legal = {0: ["a", "b", "c", "d"]}
    picks = {mcts.select_guided(tree, lambda i: legal.get(i, []), action_values=lambda n, acts: [0.5] * len(acts),
                                rng=rng, c=1.0, prior_visits=1.0) for _ in range(80)}
    # the untried d is expanded at the root; the tried a, b, c are descended into (nodes without actions)
    assert picks == {(0, "d"), *((k, None) for k in kids)}


def test_select_guided_explores_by_ln_of_the_parents_visits():
    """The bonus is c sqrt(2 ln N / (n + 1)): with N = 1 it is 0, so the higher blended value wins."""
    tree = mcts.Tree.new("root")
    a = tree.add_child(0, "a", "A")
    mcts.backup(tree, a, 0.5)                          # N = 1, a: n = 1, q = 0.5
    legal = {0: ["a", "d"], a: []}
    got = mcts.select_guided(tree, legal.__getitem__,
                             action_values=lambda n, acts: [{"a": 0.0, "d": 0.4}[x] for x in acts],
                             rng=np.random.default_rng(0), c=1.0, prior_visits=0.0)
    # ln 1 = 0: a 0.5 > d 0.4 (with ln(N + 1): a 0.5 + 0.83 = 1.33 < d 0.4 + 1.18 = 1.58)
    assert got == (a, None)


def test_rollout_draws_each_action_uniformly():
    """A playout takes a uniformly drawn legal action at every step: on NAS-Bench-201 each of the 5 ops
    is the first edge's op about a fifth of the time, and 400 playouts give hundreds of distinct cells."""
    from alphax.spaces.nasbench201 import OPS, NASBench201Space

    space = NASBench201Space()
    rng = np.random.default_rng(3)
    ends = [mcts.rollout(space.root_state(), actions=space.actions, step=space.step, rng=rng) for _ in range(400)]
    first = [e[0] for e in ends]
    assert all(40 <= first.count(op) <= 120 for op in OPS)           # expected 80 each
    assert len(set(ends)) > 350


def test_uct_defaults_to_the_papers_constant():
    """AlphaX eq. 1 with c = 0.5: Q/N + 2 * 0.5 * sqrt(2 ln N / n)."""
    assert mcts.UCT_C == 0.5
    assert mcts.uct_score(0.8, 2, 3) == pytest.approx(0.8 + math.sqrt(2 * math.log(3) / 2))
    assert mcts.uct_score(0.8, 2, 1) == pytest.approx(0.8)                   # ln 1 = 0: no bonus


def test_select_stops_at_a_partly_expanded_node():
    """A node with one untried action left is expanded, not descended through (UCT needs every action
    tried once first)."""
    tree, a, b, c = _tree()
    x = tree.add_child(a, "x", "Ax")
    mcts.backup(tree, x, 0.99)
    legal = {0: ["a", "b", "c"], a: ["x", "y"], x: []}
    tree.nodes[b].dead = tree.nodes[c].dead = True
    assert mcts.select(tree, lambda i: legal.get(i, []), rng=np.random.default_rng(0), c=0.0) == a
