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


def cell_paths(cell: Any, identity: Collection[str] = ()) -> list[tuple]:
    """Every input->output path of ``cell`` as the tuple of its interior ops (empty tuple: a direct
    input->output edge), leaving out the ops in ``identity`` (ops that compute the identity, such as
    NAS-Bench-201's ``skip_connect``: a path through one computes what the path without it does).
    Returns [] for cells without ``matrix``/``ops``."""
    matrix, ops = getattr(cell, "matrix", None), getattr(cell, "ops", None)
    if matrix is None or ops is None:
        return []
    m = np.asarray(matrix)
    n = m.shape[0]
    paths: list[list[tuple]] = [[] for _ in range(n)]
    paths[0] = [()]
    for j in range(1, n):
        for i in np.flatnonzero(m[:j, j]):
            label = () if j == n - 1 or ops[j] in identity else (ops[j],)
            paths[j].extend(p + label for p in paths[int(i)])
    return paths[n - 1]


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
        cells' ``SearchSpace.features`` when the caller has them already (a pool's, 4 s for every
        NASBench-101 cell)."""
        cells = list(cells)
        dense = self._dense(cells, features)
        rows = [self._path_ids(c) for c in cells] if self.use_paths else [[] for _ in cells]
        width = max([1] + [len(r) for r in rows])
        paths = np.full((len(cells), width), self.capacity, dtype=np.int64)
        for i, r in enumerate(rows):
            paths[i, :len(r)] = r
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

    def _path_ids(self, cell: Any) -> list[int]:
        ids = []
        for p in sorted(set(cell_paths(cell, getattr(self.space, "identity_ops", ())))):
            i = self.vocab.get(p)
            if i is None:
                i = min(len(self.vocab), self.capacity - 1)
                self.vocab[p] = i
            ids.append(i)
        return sorted(set(ids))      # past capacity, several new paths share one index: one indicator
