"""The NASBench-101 cell: a spec that validates and prunes at construction (like ``ModelSpec``).

A :class:`CellSpec` keeps the original graph and the pruned one. A spec whose input and output are
disconnected is *flagged* (``valid_spec = False``), not raised; a graph that cannot be a NASBench-101
cell at all (not square, not upper-triangular, not 0/1, unknown op, wrong end labels) raises
:class:`~alphax.errors.OutOfDomainError`. :func:`check_in_space` applies the data set's limits (at most
7 vertices and 9 edges after pruning), and :func:`is_valid` wraps it.
"""

from __future__ import annotations

import json
from functools import cached_property, lru_cache
from typing import Sequence

import numpy as np

from alphax import graph
from alphax.errors import OutOfDomainError

__all__ = [
    "INPUT", "OUTPUT", "CONV3X3", "CONV1X1", "MAXPOOL3X3", "OPS", "MAX_VERTICES", "MAX_EDGES",
    "CellSpec", "check_in_space", "is_valid", "parse_matrix", "parse_ops",
]

INPUT = "input"
OUTPUT = "output"
CONV3X3 = "conv3x3-bn-relu"
CONV1X1 = "conv1x1-bn-relu"
MAXPOOL3X3 = "maxpool3x3"
OPS = (CONV3X3, CONV1X1, MAXPOOL3X3)
"""Interior operations, in the order of their hash labels 0, 1, 2."""
MAX_VERTICES = 7
MAX_EDGES = 9
_LABEL = {INPUT: -1, OUTPUT: -2, CONV3X3: 0, CONV1X1: 1, MAXPOOL3X3: 2}


class CellSpec:
    """A cell: adjacency ``matrix`` (V x V, upper-triangular 0/1) and ``ops`` (V labels).

    ``original_matrix``/``original_ops`` are as given; ``matrix``/``ops`` are pruned (``None`` when the
    spec is disconnected, with ``valid_spec`` False).
    """

    __slots__ = ("original_matrix", "original_ops", "matrix", "ops", "valid_spec", "__dict__")

    def __init__(self, matrix, ops: Sequence[str]):
        m = _as_matrix(matrix)
        ops = list(ops)
        _check_structure(m, ops)
        self._set_graph(m, ops)

    def _set_graph(self, matrix: np.ndarray, ops: list[str]) -> None:
        self.original_matrix = matrix
        self.original_ops = ops
        pruned = graph.prune(matrix, ops)
        self.valid_spec = pruned is not None
        self.matrix, self.ops = pruned if pruned is not None else (None, None)

    @classmethod
    def unchecked(cls, matrix: np.ndarray, ops: list[str]) -> "CellSpec":
        """``CellSpec(matrix, ops)`` without its checks, for a graph well-formed by construction (an
        upper-triangular 0/1 int64 ``matrix``, ``ops`` from input through :data:`OPS` to output), as a
        mutation makes hundreds of thousands of them: pruned and flagged all the same."""
        spec = cls.__new__(cls)
        spec._set_graph(matrix, ops)
        return spec

    @classmethod
    def trusted(cls, matrix: np.ndarray, ops: list[str], module_hash: str) -> "CellSpec":
        """A cell already known to be a pruned cell of the space, with its module hash (the enumeration's
        423,624 cells): built without the checks, the pruning and the hashing (about 8 us instead of 50)."""
        spec = cls.__new__(cls)
        spec.original_matrix = spec.matrix = matrix
        spec.original_ops = spec.ops = ops
        spec.valid_spec = True
        spec.__dict__["hash"] = module_hash
        return spec

    @property
    def num_vertices(self) -> int:
        return len(self.ops) if self.valid_spec else 0

    @property
    def num_edges(self) -> int:
        return graph.num_edges(self.matrix) if self.valid_spec else 0

    @property
    def labels(self) -> list[int]:
        """Hash labels of the pruned ops (-1 input, -2 output, 0/1/2 operations)."""
        self._require_valid("has no pruned ops")
        return [_LABEL[op] for op in self.ops]

    def _require_valid(self, what: str) -> None:
        if not self.valid_spec:
            raise OutOfDomainError(f"invalid cell: input and output are disconnected, so it {what}")

    @cached_property
    def hash(self) -> str:
        """NASBench-101's module hash of the pruned graph (a working replacement for ``hash_spec``)."""
        self._require_valid("has no hash")
        m = np.ascontiguousarray(self.matrix, dtype=np.int64)
        return _module_hash(len(m), m.tobytes(), tuple(self.labels))

    def stored_form(self) -> "CellSpec":
        """The pruned cell with its vertices in the order NASBench-101 stores it (:func:`graph.stored_order`;
        the same hash): the network of a cell, and so its ``trainable_parameters``, depend on the order its
        vertices are written in (1 in 3 reorderings of the real subset's cells counted otherwise), and
        NASBench-101's values for a hash are those of this one."""
        self._require_valid("has no stored form")
        order = graph.stored_order(self.matrix, self.labels)
        if order == list(range(len(order))):
            return self
        return CellSpec.trusted(np.ascontiguousarray(self.matrix[np.ix_(order, order)]),
                                [self.ops[v] for v in order], self.hash)

    def to_json(self) -> dict:
        """``{"matrix": [[int]], "ops": [str]}`` of the pruned cell."""
        self._require_valid("has no pruned form")
        return {"matrix": self.matrix.tolist(), "ops": list(self.ops)}

    def __eq__(self, other) -> bool:
        return isinstance(other, CellSpec) and self.valid_spec and other.valid_spec and self.hash == other.hash

    def __hash__(self) -> int:
        return hash(self.hash)

    def __repr__(self) -> str:
        if not self.valid_spec:
            return f"CellSpec(<disconnected>, ops={self.original_ops})"
        return f"CellSpec(matrix={self.matrix.tolist()}, ops={self.ops})"


@lru_cache(maxsize=1 << 16)
def _module_hash(n: int, matrix_bytes: bytes, labels: tuple) -> str:
    """:func:`graph.hash_module`, memoized on the pruned graph: a search that mutates the same parents
    over and over (regularized evolution on a partial table) meets the same pruned cells many times."""
    return graph.hash_module(np.frombuffer(matrix_bytes, dtype=np.int64).reshape(n, n), labels)


def _as_matrix(matrix) -> np.ndarray:
    want = "a V x V matrix of 0/1, one row per op, like [[0,1],[0,0]] for input,output"
    try:
        m = np.asarray(matrix)
    except (TypeError, ValueError):
        lengths = [len(r) if isinstance(r, (list, tuple, np.ndarray)) else "not a row" for r in matrix] \
            if isinstance(matrix, (list, tuple)) else []
        raise OutOfDomainError(f"invalid cell: the adjacency matrix's rows are of unequal lengths {lengths}; "
                               f"give {want}") from None
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise OutOfDomainError(f"invalid cell: adjacency matrix must be square, got shape {m.shape}; give {want}")
    if m.shape[0] < 2:
        raise OutOfDomainError("invalid cell: a cell needs at least an input and an output vertex")
    # numbers only: numpy < 2 compares a string array with 0 as one False (and a warning), not elementwise
    if m.dtype.kind not in "biuf" or not ((m == 0) | (m == 1)).all():
        raise OutOfDomainError("invalid cell: adjacency matrix entries must be 0 or 1")
    m = m.astype(np.int64)
    if not graph.is_upper_triangular(m):
        raise OutOfDomainError("invalid cell: adjacency matrix must be upper-triangular (edges go from a "
                               "lower to a higher vertex index)")
    return m


def _check_structure(m: np.ndarray, ops: list) -> None:
    if len(ops) != m.shape[0]:
        raise OutOfDomainError(f"invalid cell: {len(ops)} ops for a {m.shape[0]}-vertex matrix")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise OutOfDomainError(f"invalid cell: the first op must be '{INPUT}' and the last '{OUTPUT}', "
                               f"got {ops[0]!r} and {ops[-1]!r}")
    for op in ops[1:-1]:
        if op not in OPS:
            raise OutOfDomainError(f"invalid cell: unknown op {op!r}; interior ops must be one of {', '.join(OPS)}")


def check_in_space(spec: CellSpec) -> None:
    """Raise :class:`OutOfDomainError` unless ``spec`` is a cell of NASBench-101 (after pruning)."""
    if not spec.valid_spec:
        raise OutOfDomainError("invalid cell: input and output are disconnected")
    if spec.num_vertices > MAX_VERTICES:
        raise OutOfDomainError(f"invalid cell: {spec.num_vertices} vertices after pruning, at most "
                               f"{MAX_VERTICES} allowed")
    if spec.num_edges > MAX_EDGES:
        raise OutOfDomainError(f"invalid cell: {spec.num_edges} edges after pruning, at most {MAX_EDGES} allowed")


def is_valid(spec: CellSpec) -> bool:
    """True if ``spec`` is a cell of NASBench-101 (:func:`check_in_space` does not raise)."""
    try:
        check_in_space(spec)
    except OutOfDomainError:
        return False
    return True


_TOO_DEEP = ("invalid cell: --matrix is nested too deep (a matrix is a list of rows of 0s and 1s); "
             "give it like '[[0,1],[0,0]]'")


def parse_matrix(text: str) -> list:
    """Parse a JSON adjacency matrix given on the command line."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutOfDomainError(f"invalid cell: --matrix is not valid JSON ({exc.msg}); "
                               "give it like '[[0,1],[0,0]]'") from None
    except RecursionError:          # thousands deep: json gives up (how deep depends on the Python version)
        raise OutOfDomainError(_TOO_DEEP) from None
    if not isinstance(value, list) or not all(isinstance(r, list) for r in value):
        raise OutOfDomainError("invalid cell: --matrix must be a JSON list of lists, like '[[0,1],[0,0]]'")
    if any(isinstance(x, list) for r in value for x in r):   # parsed, but deeper than rows of 0s and 1s
        raise OutOfDomainError(_TOO_DEEP)
    if any(type(x) is not int for r in value for x in r):     # JSON true/false, 1.0, "1" are not edges
        raise OutOfDomainError("invalid cell: --matrix entries must be the integers 0 or 1")
    return value


def parse_ops(text: str) -> list[str]:
    """Parse comma-separated ops given on the command line (``input,conv3x3-bn-relu,output``)."""
    return [op.strip() for op in text.split(",")]
