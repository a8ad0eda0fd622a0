"""The NASBench-101 cell space behind the :class:`~alphax.spaces.base.SearchSpace` interface."""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

from alphax.errors import OutOfDomainError
from alphax.graph import topological_orders
from alphax.parameters import trainable_parameters
from alphax.spaces.base import SearchSpace
from alphax.spec import INPUT, MAX_EDGES, MAX_VERTICES, OPS, OUTPUT, CellSpec, check_in_space, is_valid

__all__ = ["NASBench101Space", "random_spec", "mutate_spec", "pad_spec"]


_ABOVE_DIAGONAL = np.triu(np.ones((MAX_VERTICES, MAX_VERTICES), dtype=bool), k=1)
"""The edges a 7-vertex cell may have (``np.triu``'s mask, made once)."""


def random_spec(rng: np.random.Generator) -> CellSpec:
    """A random valid cell, drawn like NASBench-101's example: a random 7x7 upper-triangular 0/1
    matrix and random interior ops, redrawn until the pruned cell is in the space."""
    while True:
        matrix = np.triu(rng.integers(0, 2, size=(MAX_VERTICES, MAX_VERTICES)), k=1)
        ops = [INPUT] + [OPS[i] for i in rng.integers(0, len(OPS), size=MAX_VERTICES - 2)] + [OUTPUT]
        spec = CellSpec(matrix, ops)
        if is_valid(spec):
            return spec


def pad_spec(spec: CellSpec, rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """The pruned cell grown back to 7 vertices: unconnected vertices with random ops are inserted
    just before the output, so a mutation can connect them."""
    v = spec.num_vertices
    extra = MAX_VERTICES - v
    matrix = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.int64)
    matrix[:v - 1, :v - 1] = spec.matrix[:-1, :-1]         # the output's row is empty: only its column moves
    matrix[:v - 1, -1] = spec.matrix[:-1, -1]
    ops = list(spec.ops[:-1]) + [OPS[i] for i in rng.integers(0, len(OPS), size=extra)] + [OUTPUT]
    return matrix, ops


def mutate_spec(spec: CellSpec, rng: np.random.Generator, *, mutation_rate: float = 1.0) -> CellSpec:
    """NASBench-101's example mutation: on the cell padded to 7 vertices, flip each possible edge with
    probability ``mutation_rate / 7`` and change each interior op with probability ``mutation_rate / 5``;
    repeat until the result is a valid cell."""
    while True:
        matrix, ops = pad_spec(spec, rng)
        n = MAX_VERTICES
        flips = (rng.random((n, n)) < mutation_rate / n) & _ABOVE_DIAGONAL
        matrix = np.where(flips, 1 - matrix, matrix)
        for i in range(1, n - 1):
            if rng.random() < mutation_rate / (n - 2):
                choices = [op for op in OPS if op != ops[i]]
                ops[i] = choices[rng.integers(len(choices))]
        child = CellSpec.unchecked(matrix, ops)     # int64 0/1, upper-triangular, the space's ops: by construction
        if is_valid(child):
            return child


_TRIU = np.triu_indices(MAX_VERTICES, k=1)
_NUM_FEATURES = len(_TRIU[0]) + (MAX_VERTICES - 2) * len(OPS)


_OP_INDEX = {op: i for i, op in enumerate(OPS)}


def _by_size(cells: Sequence[CellSpec]) -> list[tuple[list[int], np.ndarray, np.ndarray]]:
    """``cells`` grouped by their number of vertices V, for work in bulk: per size, the cells' rows in
    ``cells``, their matrices ``(K, V, V)`` and their interior ops' indices in :data:`OPS` ``(K, V - 2)``."""
    sizes: dict[int, list[int]] = {}
    for row, cell in enumerate(cells):
        if cell.ops is None:                # pruned to nothing: NASBench-101 has no such cell to encode
            raise OutOfDomainError(f"invalid cell (number {row} of {len(cells)}): input and output are "
                                   f"disconnected")
        sizes.setdefault(len(cell.ops), []).append(row)
    return [(rows, np.stack([cells[r].matrix for r in rows]).reshape(len(rows), v, v),
             np.array([[_OP_INDEX[op] for op in cells[r].ops[1:-1]] for r in rows],
                      dtype=np.int64).reshape(len(rows), v - 2))
            for v, rows in sizes.items()]


def _feature_rows(matrices: np.ndarray, ops: np.ndarray) -> np.ndarray:
    """The paper's encoding of K pruned cells of one size V: ``matrices`` ``(K, V, V)``, ``ops`` ``(K, V - 2)``
    the interior ops' indices in :data:`OPS`. The adjacency padded to 7 vertices (the output last), upper
    triangle, then one-hot interior ops; float32 ``(K, 36)``."""
    k, v = len(matrices), matrices.shape[-1]
    keep = np.array([*range(v - 1), MAX_VERTICES - 1])
    padded = np.zeros((k, MAX_VERTICES, MAX_VERTICES), dtype=np.float32)
    padded[:, keep[:, None], keep] = matrices
    out = np.zeros((k, _NUM_FEATURES), dtype=np.float32)
    out[:, :len(_TRIU[0])] = padded[:, _TRIU[0], _TRIU[1]]
    rows = np.arange(k)
    for i in range(v - 2):
        out[rows, len(_TRIU[0]) + len(OPS) * i + ops[:, i]] = 1.0
    return out


class NASBench101Space(SearchSpace):
    """NASBench-101: DAGs of at most 7 vertices and 9 edges, three interior operations."""

    name = "nasbench101"
    default_searcher_options = {"alphax": {"c": 0.25, "prior_visits": 100.0}}
    """Per-searcher defaults on this space: AlphaX's guided tree policy leans on the meta-DNN (its value
    of an action counts as 100 visits, exploration bonus ``0.25 * sqrt(2 ln N / (n + 1))``). Chosen on four
    optima inside the tuning half of the real subset (its own and those of three quarters of it; mean
    samples to the optimum, seeds 0-19: 158.1 -> 142.2, 260.8 with a miss -> 118.6, 110.7 -> 73.8, 88.5 ->
    73.9, where ``c=1, prior_visits=1`` were the earlier defaults), checked on the held-out half (171.3 ->
    121.3) and the whole file; see BENCHMARKS.md. Training's pool is every cell of the space
    (:meth:`all_cells`), so the same guided tree runs there; in the open mode (``--pool-size 0``) the tree is
    plain UCT and ``c`` is its exploration constant too. That is not measured on NASBench-101 (a search's
    quality needs a complete table). On NAS-Bench-201's complete table without a pool, 0.25 was the best of 0.1-2
    (CIFAR-10 mean samples to the optimum 149.3, against 193.3 with ``c=1``)."""

    def hash(self, cell: CellSpec) -> str:
        return cell.hash

    def all_cells(self, size: int | None = None, *, seed: int = 0) -> list[CellSpec]:
        """The 423,624 cells of :mod:`alphax.enumerate` (enumerated once, about 30-50 s, then cached), in
        NASBench-101's generation order, or a uniform sample of ``size`` of them in that order."""
        from alphax.enumerate import load_enumeration

        cells = load_enumeration()
        if size is None or size >= len(cells):
            return cells.cells()
        return cells.cells(np.sort(np.random.default_rng(seed).choice(len(cells), size, replace=False)))

    def to_json(self, cell: CellSpec) -> dict:
        return cell.to_json()

    def from_json(self, obj: dict) -> CellSpec:
        spec = CellSpec(obj["matrix"], obj["ops"])
        check_in_space(spec)
        return spec

    def random_cell(self, rng: np.random.Generator) -> CellSpec:
        return random_spec(rng)

    def mutate(self, cell: CellSpec, rng: np.random.Generator) -> CellSpec:
        return mutate_spec(cell, rng)

    def features(self, cells: Sequence[CellSpec]) -> np.ndarray:
        """Padded adjacency (upper triangle, 21 values) and one-hot interior ops (5 x 3), the
        encoding of the AlphaX paper's meta-DNN, in the cell's stored vertex order. Shape ``(N, 36)``."""
        out = np.zeros((len(cells), _NUM_FEATURES), dtype=np.float32)
        for rows, matrices, ops in _by_size(cells):     # in bulk: every cell of the space in about 2 s
            out[rows] = _feature_rows(matrices, ops)
        return out

    def feature_variants(self, cell: CellSpec) -> np.ndarray:
        """:meth:`features` of ``cell`` written in each topological order of its vertices
        (``graph.topological_orders``; the stored order first), float32 ``(K, 36)``: the same cell,
        which the adjacency encoding alone would see as K different ones (1 where the interior vertices form
        a chain; 3.2 on average and 60 at most over the real subset)."""
        orders = np.array(topological_orders(cell.matrix), dtype=np.int64)
        ops = np.array([_OP_INDEX.get(op, -1) for op in cell.ops], dtype=np.int64)
        return _feature_rows(cell.matrix[orders[:, :, None], orders[:, None, :]], ops[orders[:, 1:-1]])

    def size_features(self, cells: Sequence[CellSpec]) -> np.ndarray:
        """The natural log of each cell's NASBench-101 trainable parameters (``alphax.parameters``,
        computed from the cell), centred near the space's middle: ``(ln p - 15) / 1.5``, shape ``(N, 1)``."""
        p = np.array([trainable_parameters(c) for c in cells], dtype=np.float64)
        return ((np.log(p) - 15.0) / 1.5).astype(np.float32).reshape(len(cells), 1)

    # -- MCTS view ------------------------------------------------------------------------------
    # A state is ``(ops, edges, phase, cursor)``: the interior ops added so far (vertices 1..k), the
    # edges as sorted ``(src, dst)`` pairs (``dst == -1`` is the output vertex), the phase (0: adding
    # vertices and their incoming edges, 1: adding edges into the output, 2: ended) and the last source
    # used for the current destination. Actions: ``("v", op)`` adds vertex k+1 with ``op``;
    # ``("e", src, dst)`` adds an edge into the newest vertex or into the output (sources in increasing
    # order, so each edge set is built one way only); ``("end",)`` ends the cell. The first output edge
    # closes the vertex list. At most 5 interior vertices and 9 edges.

    def root_state(self) -> Hashable:
        return ((), (), 0, -1)

    def actions(self, state: Hashable) -> list[Hashable]:
        ops, edges, phase, cursor = state
        k = len(ops)
        if phase == 2:
            return []
        room = len(edges) < MAX_EDGES
        if phase == 1:
            out: list[Hashable] = [("end",)]
            if room:
                out += [("e", s, -1) for s in range(cursor + 1, k + 1)]
            return out
        out = [("v", op) for op in OPS] if k < MAX_VERTICES - 2 else []
        if room:
            if k >= 1:
                out += [("e", s, k) for s in range(cursor + 1, k)]
            out += [("e", s, -1) for s in range(0, k + 1)]
        return out

    def step(self, state: Hashable, action: Hashable) -> Hashable:
        ops, edges, phase, cursor = state
        if action[0] == "v":
            return (ops + (action[1],), edges, 0, -1)
        if action[0] == "e":
            _, src, dst = action
            new_edges = tuple(sorted(edges + ((src, dst),)))
            if dst == -1:
                return (ops, new_edges, 1, src)
            return (ops, new_edges, 0, src)
        if action[0] == "end":
            return (ops, edges, 2, cursor)
        raise ValueError(f"unknown action {action!r}")

    def cell_of(self, state: Hashable) -> CellSpec | None:
        ops, edges, phase, _ = state
        if phase != 2:
            return None
        v = len(ops) + 2
        matrix = np.zeros((v, v), dtype=np.int64)
        for src, dst in edges:
            matrix[src, v - 1 if dst == -1 else dst] = 1
        spec = CellSpec(matrix, [INPUT, *ops, OUTPUT])
        return spec if is_valid(spec) else None

    def action_codes(self, cells: Sequence[CellSpec]) -> tuple[np.ndarray, list[Hashable]]:
        """:meth:`SearchSpace.action_codes`, equal to it, in bulk (every cell of the space in about 3 s
        instead of 7 s): each size's paths are laid out as slots in :meth:`action_path`'s order (a vertex,
        then each edge that may enter it, ...; then each edge that may enter the output; then the end),
        the slots of absent edges dropped."""
        universe: list[Hashable] = [("v", op) for op in OPS] + [("end",)]
        universe += [("e", i, j) for j in range(1, MAX_VERTICES - 1) for i in range(j)]
        universe += [("e", i, -1) for i in range(MAX_VERTICES - 1)]
        uid = {a: i for i, a in enumerate(universe)}
        groups = _by_size(cells)
        most = max((m.shape[-1] for _, m, _ in groups), default=2)    # slots: vertices, edges, output edges, end
        slots = np.full((len(cells), (most - 2) * (most + 1) // 2 + most + 1), -1, dtype=np.int64)
        for rows, m, ops in groups:
            v, m = m.shape[-1], m != 0
            cols = []
            for j in range(1, v - 1):
                cols.append(ops[:, j - 1])                       # ("v", OPS[op]) has uid op
                cols += [np.where(m[:, i, j], uid[("e", i, j)], -1) for i in range(j)]
            cols += [np.where(m[:, i, v - 1], uid[("e", i, -1)], -1) for i in range(v - 1)]
            cols.append(np.full(len(rows), uid[("end",)]))
            group = np.stack(cols, axis=1)
            group = np.take_along_axis(group, np.argsort(group < 0, axis=1, kind="stable"), axis=1)
            slots[rows, :group.shape[1]] = group
        width = int((slots >= 0).sum(axis=1).max(initial=0))
        slots = slots[:, :width + 1]
        present = slots[slots >= 0]                              # row-major: cell after cell, along paths
        seen, first = np.unique(present, return_index=True)
        order = seen[np.argsort(first)]
        code = np.full(len(universe), -1, dtype=np.int64)
        code[order] = np.arange(len(order))
        return np.where(slots >= 0, code[slots], -1).astype(np.int16), [universe[u] for u in order.tolist()]

    def action_path(self, cell: CellSpec) -> list[Hashable]:
        """The actions that build ``cell`` (its pruned, stored vertex order) from :meth:`root_state`."""
        m, v = cell.matrix, cell.num_vertices
        path: list[Hashable] = []
        for j in range(1, v - 1):
            path.append(("v", cell.ops[j]))
            path += [("e", i, j) for i in range(j) if m[i, j]]
        path += [("e", i, -1) for i in range(v - 1) if m[i, v - 1]]
        path.append(("end",))
        return path
