"""Pure graph functions on (adjacency matrix, labels), following NASBench-101's ``graph_util``.

Matrices are ``V x V`` upper-triangular 0/1 arrays (row = source, column = target); labels are one
integer per vertex: -1 input, -2 output, 0/1/2 for the three operations. Only numpy and the standard
library are used.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Sequence

import numpy as np

__all__ = [
    "edge_bit",
    "matrix_from_bits",
    "is_upper_triangular",
    "is_full_dag",
    "num_edges",
    "prune",
    "hash_module",
    "permute_graph",
    "topological_orders",
    "stored_order",
]


def edge_bit(src: int, dst: int) -> int:
    """Bit index of edge ``src -> dst`` (``src < dst``) in NASBench-101's graph generator."""
    return src + dst * (dst - 1) // 2


def matrix_from_bits(bits: int, num_vertices: int) -> np.ndarray:
    """The ``V x V`` upper-triangular matrix encoded by ``bits`` (NASBench-101's ``gen_is_edge_fn``)."""
    matrix = np.zeros((num_vertices, num_vertices), dtype=np.int8)
    for dst in range(1, num_vertices):
        for src in range(dst):
            matrix[src, dst] = (bits >> edge_bit(src, dst)) & 1
    return matrix


def is_upper_triangular(matrix: np.ndarray) -> bool:
    """True if every entry on or below the diagonal is zero (``matrix`` square)."""
    return not matrix[_lower(len(matrix))].any()


@lru_cache(maxsize=None)
def _lower(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the diagonal and below of an ``n x n`` matrix (``np.tril``'s, which makes its mask
    anew each call: a mutation-driven search checks hundreds of thousands of cells)."""
    return np.tril_indices(n)


def is_full_dag(matrix: np.ndarray) -> bool:
    """True if every vertex lies on a path from vertex 0 to vertex V-1 (upper-triangular input)."""
    rows_bad = np.any(np.all(matrix[:-1, :] == 0, axis=1))
    cols_bad = np.any(np.all(matrix[:, 1:] == 0, axis=0))
    return not rows_bad and not cols_bad


def num_edges(matrix: np.ndarray) -> int:
    """Number of edges (ones) in the matrix."""
    return int(matrix.sum())


def prune(matrix: np.ndarray, labels: Sequence) -> tuple[np.ndarray, list] | None:
    """Drop every vertex not on a path from input (0) to output (V-1), keeping vertex order
    (upper-triangular ``matrix``).

    Returns the pruned ``(matrix, labels)``, or ``None`` when input and output are disconnected
    (NASBench-101's ``ModelSpec._prune`` then flags the spec invalid).
    """
    n = matrix.shape[0]
    rows = matrix.tolist()
    from_input = _reached(rows, 0, forward=True)
    to_output = _reached(rows, n - 1, forward=False)
    keep = [v for v in range(n) if from_input[v] and to_output[v]]
    if len(keep) < 2 or keep[0] != 0 or keep[-1] != n - 1:
        return None
    pruned = matrix.take(keep, axis=0).take(keep, axis=1)       # matrix[np.ix_(keep, keep)], 4x faster
    return pruned, [labels[i] for i in keep]


def _reached(rows: list[list[int]], start: int, *, forward: bool) -> list[bool]:
    """Which vertices are reachable from ``start`` along (``forward``) or against the edges of ``rows``, the
    upper-triangular adjacency matrix as nested lists: one pass in vertex order (every edge goes from a
    lower to a higher index), in plain Python (a mutation-driven search prunes hundreds of thousands)."""
    n = len(rows)
    seen = [False] * n
    seen[start] = True
    if forward:
        for v in range(start, n):
            if seen[v]:
                row = rows[v]
                for w in range(v + 1, n):
                    if row[w]:
                        seen[w] = True
    else:
        for v in range(start, 0, -1):
            if seen[v]:
                for u in range(v):
                    if rows[u][v]:
                        seen[u] = True
    return seen


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def hash_module(matrix: np.ndarray, labels: Sequence[int]) -> str:
    """NASBench-101's module hash: Weisfeiler-Lehman style MD5 over (out-degree, in-degree, label).

    Degrees and labels are turned into Python ints first: the hash is defined on their ``str()``,
    which differs for numpy integers and floats.
    """
    n = len(labels)
    rows = np.asarray(matrix).tolist()
    ins = [[w for w in range(n) if rows[w][v]] for v in range(n)]
    outs = [[w for w in range(n) if rows[v][w]] for v in range(n)]
    hashes = [_md5(str((len(outs[v]), len(ins[v]), int(labels[v])))) for v in range(n)]
    md5 = hashlib.md5              # _md5, inlined: the loop below is most of a hash's time
    for _ in range(n):
        hashes = [md5(("".join(sorted([hashes[w] for w in into])) + "|" + "".join(sorted([hashes[w] for w in out]))
                       + "|" + own).encode("utf-8")).hexdigest()
                  for into, out, own in zip(ins, outs, hashes)]
    return _md5(str(sorted(hashes)))


def permute_graph(matrix: np.ndarray, labels: Sequence, permutation: Sequence[int]) -> tuple[np.ndarray, list]:
    """Relabel vertex ``i`` as ``permutation[i]`` (the result need not be upper-triangular)."""
    n = len(labels)
    perm = np.asarray(permutation)
    new = np.zeros_like(matrix)
    new[np.ix_(perm, perm)] = matrix
    new_labels = [None] * n
    for i in range(n):
        new_labels[perm[i]] = labels[i]
    return new, new_labels


def topological_orders(matrix: np.ndarray) -> list[list[int]]:
    """Every order of the vertices of the DAG ``matrix`` (upper-triangular) that keeps the input (vertex
    0) first, the output (the last vertex) last and every edge pointing forward, in lexicographic order
    (the identity first). ``order[k]`` is the vertex written at position ``k``: ``matrix[np.ix_(order,
    order)]`` is upper-triangular again and describes the same graph."""
    m = np.asarray(matrix)
    n = len(m)
    if n <= 2:
        return [list(range(n))]
    preds = [set(np.flatnonzero(m[:, j]).tolist()) for j in range(n)]
    orders: list[list[int]] = []

    def extend(order: list[int], placed: set[int]) -> None:
        if len(order) == n - 1:
            orders.append(order + [n - 1])
            return
        for v in range(1, n - 1):
            if v not in placed and preds[v] <= placed:
                placed.add(v)
                extend(order + [v], placed)
                placed.remove(v)

    extend([0], {0})
    return orders


def stored_order(matrix: np.ndarray, labels: Sequence[int]) -> list[int]:
    """The order of the vertices in which NASBench-101 stores this labelled DAG: of its
    :func:`topological_orders`, the one its graph generator meets first (the smallest adjacency bit
    pattern, then the smallest interior labels in ``itertools.product`` order), the representative of
    the cell's module hash. The network built from a cell depends on the order (``compute_vertex_channels``
    gives the remainder channels to the lowest-numbered vertices), so a cell is built in this one."""
    m = np.asarray(matrix)
    n = len(m)
    src, dst = np.nonzero(np.triu(m, 1))

    def key(order: list[int]) -> tuple:
        position = np.empty(n, dtype=np.int64)
        position[order] = np.arange(n)
        bits = sum(1 << edge_bit(int(a), int(b)) for a, b in zip(position[src], position[dst]))
        return bits, tuple(int(labels[v]) for v in order[1:-1])

    return min(topological_orders(m), key=key)
