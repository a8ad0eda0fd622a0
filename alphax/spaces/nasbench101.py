"""The NASBench-101 cell space behind the :class:`~alphax.spaces.base.SearchSpace` interface."""

from __future__ import annotations

from typing import Hashable, Sequence

import numpy as np

from alphax.errors import OutOfDomainError
from alphax.spaces.base import SearchSpace
from alphax.spec import INPUT, MAX_VERTICES, OPS, OUTPUT, CellSpec, check_in_space, is_valid

__all__ = ["NASBench101Space", "random_spec", "mutate_spec", "pad_spec"]


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
    keep = list(range(v - 1)) + [MAX_VERTICES - 1]
    matrix[np.ix_(keep, keep)] = spec.matrix
    ops = list(spec.ops[:-1]) + [OPS[i] for i in rng.integers(0, len(OPS), size=extra)] + [OUTPUT]
    return matrix, ops


def mutate_spec(spec: CellSpec, rng: np.random.Generator, *, mutation_rate: float = 1.0) -> CellSpec:
    """NASBench-101's example mutation: on the cell padded to 7 vertices, flip each possible edge with
    probability ``mutation_rate / 7`` and change each interior op with probability ``mutation_rate / 5``;
    repeat until the result is a valid cell."""
    while True:
        matrix, ops = pad_spec(spec, rng)
        n = MAX_VERTICES
        flips = np.triu(rng.random((n, n)) < mutation_rate / n, k=1)
        matrix = np.where(flips, 1 - matrix, matrix)
        for i in range(1, n - 1):
            if rng.random() < mutation_rate / (n - 2):
                choices = [op for op in OPS if op != ops[i]]
                ops[i] = choices[rng.integers(len(choices))]
        child = CellSpec(matrix, ops)
        if is_valid(child):
            return child


class NASBench101Space(SearchSpace):
    """NASBench-101: DAGs of at most 7 vertices and 9 edges, three interior operations."""

    name = "nasbench101"

    def hash(self, cell: CellSpec) -> str:
        return cell.hash

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
        encoding of the AlphaX paper's meta-DNN. Shape ``(N, 36)``."""
        out = np.zeros((len(cells), 21 + 15), dtype=np.float32)
        iu = np.triu_indices(MAX_VERTICES, k=1)
        for row, cell in enumerate(cells):
            v = cell.num_vertices
            keep = list(range(v - 1)) + [MAX_VERTICES - 1]
            m = np.zeros((MAX_VERTICES, MAX_VERTICES), dtype=np.float32)
            m[np.ix_(keep, keep)] = cell.matrix
            out[row, :21] = m[iu]
            for i, op in enumerate(cell.ops[1:-1]):
                out[row, 21 + 3 * i + OPS.index(op)] = 1.0
        return out

    # MCTS view: see the search implementation (alphax.searchers.alphax) for the action set.
    def root_state(self) -> Hashable:
        raise NotImplementedError

    def actions(self, state: Hashable) -> list[Hashable]:
        raise NotImplementedError

    def step(self, state: Hashable, action: Hashable) -> Hashable:
        raise NotImplementedError

    def cell_of(self, state: Hashable):
        raise NotImplementedError
