"""Cell encodings for the meta-DNN (numpy only).

Three parts, returned side by side in an :class:`Encoded` by :class:`CellEncoder` (the model reads the
dense part and the paths through separate first layers):

* dense: the space's own features (``SearchSpace.features``; for NASBench-101 the AlphaX paper's padded
  adjacency + one-hot ops), float32 ``(N, D)``, followed, where the space offers ``size_features``
  (NASBench-101: the log of the network's trainable parameters, computed from the cell) and
  ``use_size`` is set, by those columns: a zero-cost property of a cell, known before any training;
* variants (on request): the other forms of the dense part that the space offers for the same cell
  (``SearchSpace.feature_variants``: NASBench-101's adjacency in every topological order of the
  vertices), for the meta-DNN to train on;
* paths: the path encoding of White et al. (BANANAS, https://arxiv.org/abs/1910.11858): one indicator per
  distinct sequence of operations along an input->output path, leaving out the space's identity ops
  (``SearchSpace.identity_ops``), so that paths computing the same function share one indicator. Stored
  sparsely, as the indices of the active paths, int64 ``(N, P)`` padded with ``num_paths`` (an all-zero
  row of the embedding). It applies to any cell exposing ``matrix`` (upper-triangular adjacency) and
  ``ops`` (labels, first input, last output); paths get an index the first time they are seen
  (deterministic in the order cells are encoded), up to ``capacity``, after which new paths share the
  last index (listed once per cell; NASBench-101 has 364 distinct paths, NAS-Bench-201 40).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Collection, Sequence

import numpy as np

__all__ = ["CellEncoder", "cell_paths", "Encoded"]


def _distinct(a: np.ndarray) -> np.ndarray:
    """The distinct values of the int array ``a``, sorted (``np.unique``, which hashes and took 1.4 s
    for the 1.5 M paths of every NASBench-101 cell; sorting takes 0.1 s)."""
    a = np.sort(a)
    return a[np.concatenate([[True], a[1:] != a[:-1]])] if len(a) else a


def _grouped(cells: Sequence[Any]) -> dict[int, list[int]]:
    """Rows of the cells exposing ``matrix`` and ``ops``, by their number of vertices."""
    groups: dict[int, list[int]] = {}
    for row, cell in enumerate(cells):
        ops = getattr(cell, "ops", None)
        if ops is not None and getattr(cell, "matrix", None) is not None:
            groups.setdefault(len(ops), []).append(row)
    return groups


def _path_labels(cells: Sequence[Any], identity: Collection[str]) -> tuple[np.ndarray, np.ndarray, dict[int, tuple]]:
    """Every cell's distinct input->output paths, as ``(rows, codes, labels)``: for each (cell, distinct
    op sequence) pair the cell's row and the sequence's integer code, sorted by row, then code;
    ``labels[code]`` is the op tuple.

    Computed for all cells at once (a pool of every NASBench-101 cell in about 3 s): in an
    upper-triangular DAG of ``n`` vertices a path is an increasing vertex sequence, so each of the
    ``2 ** (n - 2)`` sets of interior vertices is one candidate path, present in a cell when all its edges
    are. A sequence's code is its ops written as digits ``1..K`` in base ``K + 1`` (identity ops written
    as nothing), one code per sequence."""
    groups = _grouped(cells)
    names = sorted({op for rows in groups.values() for row in rows for op in cells[row].ops})
    op_id = {op: i for i, op in enumerate(names)}
    base = len(names) + 1
    digit_of = np.array([0 if op in identity else i + 1 for i, op in enumerate(names)], dtype=np.int64)
    found_rows, found_codes = [], []
    for n, rows in groups.items():
        if base ** max(n - 2, 0) >= 2 ** 62:
            raise ValueError(f"cells of {n} vertices and {len(names)} op names: a path's code would overflow")
        rows_arr = np.asarray(rows, dtype=np.int64)
        m = np.stack([np.asarray(cells[r].matrix) for r in rows]) != 0
        digits = digit_of[np.array([[op_id[op] for op in cells[r].ops] for r in rows], dtype=np.int64)]
        for subset in range(2 ** max(n - 2, 0)):
            inner = [k + 1 for k in range(n - 2) if subset >> k & 1]
            verts = [0, *inner, n - 1]
            present = np.ones(len(rows), dtype=bool)
            for a, b in zip(verts, verts[1:]):
                present &= m[:, a, b]
            code = np.zeros(len(rows), dtype=np.int64)
            for j in inner:
                code = np.where(digits[:, j] > 0, code * base + digits[:, j], code)
            found_rows.append(rows_arr[present])
            found_codes.append(code[present])
    if not found_rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), {}
    found, inverse = np.unique(np.concatenate(found_codes), return_inverse=True)
    rows_out, which = np.divmod(_distinct(np.concatenate(found_rows) * len(found) + inverse), len(found))
    labels = {}
    for code in found.tolist():
        digits, rest = [], code
        while rest:
            rest, d = divmod(rest, base)
            digits.append(names[d - 1])
        labels[code] = tuple(reversed(digits))
    return rows_out, found[which], labels


def cell_paths(cell: Any, identity: Collection[str] = ()) -> list[tuple]:
    """Every distinct input->output path of ``cell`` as the tuple of its interior ops (empty tuple: a direct
    input->output edge), sorted, leaving out the ops in ``identity`` (ops that compute the identity, such as
    NAS-Bench-201's ``skip_connect``: a path through one computes what the path without it does).
    Returns [] for cells without ``matrix``/``ops``."""
    _, codes, labels = _path_labels([cell], identity)
    return sorted(labels[c] for c in codes.tolist())


@dataclass
class Encoded:
    """A batch of encoded cells: ``dense`` float32 ``(N, D)``, ``paths`` int64 ``(N, P)``; optionally
    ``variants`` float32 ``(R, D)``, other dense rows of the same cells (``SearchSpace.feature_variants``),
    with ``owner`` int64 ``(R,)``, the row of ``dense`` each belongs to (non-decreasing; every row owns at
    least one, its own form)."""

    dense: np.ndarray
    paths: np.ndarray
    variants: np.ndarray | None = None
    owner: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.dense)

    def variant_spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Per row, the index of its first variant and how many it has, int64 ``(N,)`` each (each row
        its own single variant when there are none)."""
        if self.variants is None:
            return np.arange(len(self)), np.ones(len(self), dtype=np.int64)
        return np.searchsorted(self.owner, np.arange(len(self))), np.bincount(self.owner, minlength=len(self))

    def take(self, idx: np.ndarray) -> "Encoded":
        idx = np.asarray(idx, dtype=np.int64)
        if self.variants is None:
            return Encoded(self.dense[idx], self.paths[idx])
        start, count = self.variant_spans()
        rows = np.concatenate([np.arange(start[i], start[i] + count[i]) for i in idx]) if len(idx) else \
            np.zeros(0, dtype=np.int64)
        owner = np.repeat(np.arange(len(idx)), count[idx])
        return Encoded(self.dense[idx], self.paths[idx], self.variants[rows], owner)

    @staticmethod
    def concat(parts: Sequence["Encoded"], *, pad: int) -> "Encoded":
        """Rows of ``parts`` stacked; path lists right-padded with ``pad``; variants kept if any part has
        them (a part without stands for itself)."""
        width = max(p.paths.shape[1] for p in parts)
        paths = np.full((sum(len(p) for p in parts), width), pad, dtype=np.int64)
        row = 0
        for p in parts:
            paths[row:row + len(p), :p.paths.shape[1]] = p.paths
            row += len(p)
        dense = np.concatenate([p.dense for p in parts])
        if all(p.variants is None for p in parts):
            return Encoded(dense, paths)
        variants, owners, row = [], [], 0
        for p in parts:
            variants.append(p.dense if p.variants is None else p.variants)
            owners.append(row + (np.arange(len(p)) if p.owner is None else p.owner))
            row += len(p)
        return Encoded(dense, paths, np.concatenate(variants), np.concatenate(owners))


@dataclass
class CellEncoder:
    """Encodes cells of ``space`` as :class:`Encoded` (dense features + sparse path indices)."""

    space: Any
    use_paths: bool = True
    capacity: int = 512
    vocab: dict = field(default_factory=dict)
    use_size: bool = False

    @property
    def dense_dim(self) -> int:
        return self._dense([]).shape[1]

    def _dense(self, cells: list, features: np.ndarray | None = None) -> np.ndarray:
        parts = [np.asarray(self.space.features(cells) if features is None else features, dtype=np.float32)]
        if self.use_size and hasattr(self.space, "size_features"):
            parts.append(np.asarray(self.space.size_features(cells), dtype=np.float32))
        return np.concatenate([p.reshape(len(cells), p.shape[-1]) for p in parts], axis=1)

    @property
    def num_paths(self) -> int:
        """Size of the path vocabulary (the padding index)."""
        return self.capacity

    def encode(self, cells: Sequence[Any], *, variants: bool = False, features: np.ndarray | None = None) -> Encoded:
        """``cells`` encoded; with ``variants``, also every other form of their dense features that
        the space offers (``SearchSpace.feature_variants``; none where it offers none). ``features``: the
        cells' ``SearchSpace.features`` when the caller has them already (a pool's, 2 s for every
        NASBench-101 cell)."""
        cells = list(cells)
        dense = self._dense(cells, features)
        paths = self._path_ids(cells) if self.use_paths else np.full((len(cells), 1), self.capacity, np.int64)
        if not variants:
            return Encoded(dense, paths)
        forms = [self.space.feature_variants(c) for c in cells]
        if all(f is None for f in forms):
            return Encoded(dense, paths)
        parts = []
        for i, f in enumerate(forms):
            if f is None:
                parts.append(dense[i:i + 1])
            else:
                f = np.asarray(f, dtype=np.float32)
                extra = dense[i, f.shape[1]:]               # the size columns, the same in every form
                parts.append(np.concatenate([f, np.broadcast_to(extra, (len(f), len(extra)))], axis=1))
        owner = np.repeat(np.arange(len(cells)), [len(p) for p in parts])
        return Encoded(dense, paths, np.concatenate(parts), owner)

    def _path_ids(self, cells: list) -> np.ndarray:
        """Each cell's active path indices, sorted, int64 ``(N, P)`` padded with :attr:`num_paths`. A path
        not in :attr:`vocab` gets the next index, in the order of the first cell that has it, then of the
        paths' op tuples (the order one cell after another would give them), up to ``capacity - 1``,
        which every later new path shares."""
        rows, codes, labels = _path_labels(cells, getattr(self.space, "identity_ops", ()))
        found, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        first_row = rows[first]                                   # rows come sorted
        new = sorted((k for k, code in enumerate(found.tolist()) if labels[code] not in self.vocab),
                     key=lambda k: (first_row[k], labels[int(found[k])]))
        for k in new:
            self.vocab[labels[int(found[k])]] = min(len(self.vocab), self.capacity - 1)
        ids = np.array([self.vocab[labels[code]] for code in found.tolist()], dtype=np.int64)[inverse]
        key = _distinct(rows * (self.capacity + 1) + ids)         # past capacity, paths share one index
        rows, ids = np.divmod(key, self.capacity + 1)
        counts = np.bincount(rows, minlength=len(cells))
        paths = np.full((len(cells), max([1, *counts.tolist()])), self.capacity, dtype=np.int64)
        paths[rows, np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)] = ids
        return paths
