"""Monte Carlo tree search as plain data plus four functions: select, expand, rollout, backup.

The tree is a list of :class:`Node` records (visit counts, value sums, parent, children); policy lives in
the functions, which receive everything model-specific (legal actions, the predictor) as arguments
(keyword-only past the second) and take randomness from an explicit ``np.random.Generator``. UCT follows
the AlphaX paper (Wang et al., AAAI 2020, https://arxiv.org/abs/1903.11059, eq. 1):
``Q/N + 2 c sqrt(2 ln N_parent / N)``.

Preemptive backup: a proposal still being evaluated is backed up at once with a provisional value
(``backup(..., value=predicted)``) and later corrected by :func:`correct`, which swaps the provisional
value for the real one along the same path without counting the visit twice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Hashable, Sequence

import numpy as np

__all__ = ["Node", "Tree", "uct_score", "select_child", "select", "select_guided", "expand", "rollout", "backup",
           "correct", "path_to_root", "UCT_C"]

UCT_C = 0.5
"""Exploration constant c of the AlphaX paper's UCT (https://arxiv.org/abs/1903.11059, eq. 1)."""


@dataclass
class Node:
    """One tree node: its state, parent link, children by action, and statistics."""

    state: Hashable
    parent: int | None = None
    action: Hashable | None = None
    depth: int = 0
    children: dict = field(default_factory=dict)
    visits: int = 0
    value_sum: float = 0.0
    dead: bool = False            # no proposal can be made below this node any more

    @property
    def q(self) -> float:
        return self.value_sum / self.visits if self.visits else 0.0


@dataclass
class Tree:
    """The search tree: ``nodes[0]`` is the root."""

    nodes: list[Node]

    @classmethod
    def new(cls, root_state: Hashable) -> "Tree":
        return cls([Node(root_state)])

    def add_child(self, parent: int, action: Hashable, state: Hashable) -> int:
        node = Node(state, parent=parent, action=action, depth=self.nodes[parent].depth + 1)
        self.nodes.append(node)
        child = len(self.nodes) - 1
        self.nodes[parent].children[action] = child
        return child


def uct_score(q: float, visits: int, parent_visits: int, *, c: float = UCT_C) -> float:
    """``q + 2 c sqrt(2 ln(parent_visits) / visits)``; +inf for an unvisited child."""
    if visits == 0:
        return math.inf
    return q + 2.0 * c * math.sqrt(2.0 * math.log(max(parent_visits, 1)) / visits)


def select_child(tree: Tree, node_id: int, *, rng: np.random.Generator, c: float = UCT_C,
                 normalize: Callable[[float], float] = lambda q: q) -> int | None:
    """The live child with the best UCT score (ties broken with ``rng``); None when all are dead.
    ``normalize`` maps a mean value to the scale the constant ``c`` is meant for."""
    node = tree.nodes[node_id]
    best, best_ids = -math.inf, []
    for child_id in node.children.values():
        child = tree.nodes[child_id]
        if child.dead:
            continue
        s = uct_score(normalize(child.q) if child.visits else 0.0, child.visits, node.visits, c=c)
        if s > best:
            best, best_ids = s, [child_id]
        elif s == best:
            best_ids.append(child_id)
    if not best_ids:
        return None
    return best_ids[int(rng.integers(len(best_ids)))]


def select(tree: Tree, legal_actions: Callable[[int], Sequence[Hashable]], *, rng: np.random.Generator,
           c: float = UCT_C, normalize: Callable[[float], float] = lambda q: q) -> int | None:
    """Descend from the root by UCT while the node is fully expanded; return the node to expand (or a
    terminal node). A node found without live actions is marked dead and the descent starts again from
    the root; None when the root itself is dead."""
    node_id = 0
    while True:
        node = tree.nodes[node_id]
        actions = legal_actions(node_id)
        if not actions:                      # terminal or nothing left below
            return node_id
        if any(a not in node.children for a in actions):
            return node_id
        child = select_child(tree, node_id, rng=rng, c=c, normalize=normalize)
        if child is None:
            node.dead = True
            if node.parent is None:
                return None
            node_id = 0
            continue
        node_id = child


def select_guided(tree: Tree, legal_actions: Callable[[int], Sequence[Hashable]], *,
                  action_values: Callable[[int, Sequence[Hashable]], Sequence[float]], rng: np.random.Generator,
                  c: float, prior_visits: float, normalize: Callable[[float], float] = lambda q: q
                  ) -> tuple[int, Hashable | None] | None:
    """Descend from the root by UCT over *every* legal action, tried or not, and return
    ``(node_id, action)``: the first untried action chosen (to expand), or ``(node_id, None)`` at a node
    without actions.

    A child's value blends its backed-up mean ``q`` (``n`` visits) with a model's estimate ``v`` of the
    action (``action_values``, e.g. a value network's), counted as ``prior_visits`` visits:
    ``(n * q + prior_visits * v) / (n + prior_visits)`` (``v`` alone while ``n + prior_visits`` is 0: with
    ``prior_visits=0`` the model values untried actions only), plus ``c * sqrt(2 ln N / (n + 1))``. So an untried
    action is valued by the model instead of having to be tried once first (AlphaZero's use of a value
    network; Silver et al. 2017), and a tree with many actions per node goes where the values are good.
    None when the root has no action left."""
    node_id = 0
    while True:
        node = tree.nodes[node_id]
        actions = list(legal_actions(node_id))
        if not actions:
            return None if node_id == 0 else (node_id, None)
        values = action_values(node_id, actions)
        explore = 2.0 * math.log(max(node.visits, 1))
        best, picks = -math.inf, []
        for i, (a, v) in enumerate(zip(actions, values)):
            child = node.children.get(a)
            n = tree.nodes[child].visits if child is not None else 0
            q = normalize(tree.nodes[child].q) if n else 0.0
            blend = v if n + prior_visits == 0 else (n * q + prior_visits * v) / (n + prior_visits)
            score = blend + c * math.sqrt(explore / (n + 1))
            if score > best:
                best, picks = score, [i]
            elif score == best:
                picks.append(i)
        action = actions[picks[int(rng.integers(len(picks)))]]
        if action not in node.children:
            return node_id, action
        node_id = node.children[action]


def expand(tree: Tree, node_id: int, *, actions: Sequence[Hashable], step: Callable[[Hashable, Hashable], Hashable],
           rng: np.random.Generator, prior: Sequence[float] | None = None) -> int:
    """Add one untried action's child to ``node_id`` and return it; ``node_id`` itself when every action
    is tried (or there is none). The action is drawn uniformly, or, given ``prior`` (one score per
    action, e.g. the meta-DNN's best estimate below it), the untried one with the highest score (ties
    broken with ``rng``)."""
    node = tree.nodes[node_id]
    untried = [i for i, a in enumerate(actions) if a not in node.children]
    if not untried:
        return node_id
    if prior is None:
        pick = untried[int(rng.integers(len(untried)))]
    else:
        scores = np.asarray([prior[i] for i in untried], dtype=float)
        best = np.flatnonzero(scores == scores.max())
        pick = untried[int(best[rng.integers(len(best))])]
    action = actions[pick]
    return tree.add_child(node_id, action, step(node.state, action))


def rollout(state: Hashable, *, actions: Callable[[Hashable], Sequence[Hashable]],
            step: Callable[[Hashable, Hashable], Hashable], rng: np.random.Generator,
            max_steps: int = 1000) -> Hashable:
    """A uniformly random playout from ``state`` to a terminal state."""
    for _ in range(max_steps):
        legal = actions(state)
        if not legal:
            return state
        state = step(state, legal[int(rng.integers(len(legal)))])
    raise RuntimeError("rollout did not reach a terminal state")


def path_to_root(tree: Tree, node_id: int) -> list[int]:
    """Node ids from ``node_id`` up to the root, inclusive."""
    path = []
    while node_id is not None:
        path.append(node_id)
        node_id = tree.nodes[node_id].parent
    return path


def backup(tree: Tree, node_id: int, value: float, *, visits: int = 1) -> None:
    """Add ``visits`` visits and ``value * visits`` to every node from ``node_id`` to the root."""
    for i in path_to_root(tree, node_id):
        tree.nodes[i].visits += visits
        tree.nodes[i].value_sum += value * visits


def correct(tree: Tree, node_id: int, old: float, new: float) -> None:
    """Replace a provisional value ``old`` backed up earlier from ``node_id`` by ``new`` (visits unchanged)."""
    for i in path_to_root(tree, node_id):
        tree.nodes[i].value_sum += new - old
