"""The candidate rule shared by every searcher: what may be proposed, and what replaces a cell that may not.

Two modes, chosen by whether the evaluator can only evaluate a known set of cells:

* **pool** (``cells`` given: the cells of a table that have data, or the space's own for training): a
  proposal must be a cell of the pool that was never proposed before. When a searcher's generator (a
  random draw, a mutation, a playout) yields a cell outside the pool or already proposed,
  :meth:`CandidateSet.snap` replaces it by the *unseen pool cell nearest to it* in the space's feature encoding (Hamming / L1 distance on
  :meth:`SearchSpace.features`, ties broken by the searcher's generator). On a partial table most
  generated cells have no data; snapping keeps every searcher moving to the nearest cell that has data
  instead of retrying forever, and it never stalls while an unseen pool cell remains.
* **open** (``cells`` is None: training with ``--pool-size 0``; training's pool is otherwise every cell of
  the space, ``SearchSpace.all_cells``): any valid cell may be proposed once; a cell already
  proposed is redrawn from the generator (then from ``random_cell``) until it is new.

The set is plain data (numpy arrays and the pool's cells), so it pickles with its searcher (without what
the cells give again: their hashes, index and features).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Sequence

import numpy as np

from alphax.spaces.base import SearchSpace

__all__ = ["CandidateSet"]

log = logging.getLogger(__name__)


class CandidateSet:
    """Bookkeeping of proposed cells plus the pool rule (see the module docstring).

    Attributes (pool mode): ``cells`` (N cells), ``hashes`` (N str), ``features`` float32 ``(N, D)``,
    ``seen`` bool ``(N,)``.
    """

    def __init__(self, space: SearchSpace, cells: Sequence[Any] | None = None):
        self.space = space
        self.proposed: set[str] = set()
        self.cells: list[Any] | None = None
        if cells is not None:
            self.cells = list(cells)
            self._index_pool()
            if len(self.index) != len(self.cells):
                raise ValueError("candidate cells must be unique architectures")
            self.seen = np.zeros(len(self.cells), dtype=bool)
            self._unseen_count = len(self.cells)

    _DERIVED = ("hashes", "index", "features")
    """What :meth:`_index_pool` computes from the cells: left out of a pickle (a checkpoint) and computed
    again when it is loaded. The cells themselves are the checkpoint's shared objects, so a pool of every
    NASBench-101 cell costs a checkpoint nothing (it would cost about 100 MB)."""

    def _index_pool(self) -> None:
        self.hashes = [self.space.hash(c) for c in self.cells]
        self.index = {h: i for i, h in enumerate(self.hashes)}
        self.features = self.space.features(self.cells).astype(np.float32)

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._DERIVED}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        if self.cells is not None:
            self._index_pool()

    # -- queries -------------------------------------------------------------------------------
    @property
    def is_pool(self) -> bool:
        return self.cells is not None

    def __len__(self) -> int:
        """Number of cells still available (pool mode), or a large number (open mode)."""
        return self._unseen_count if self.is_pool else 2**62

    def exhausted(self) -> bool:
        return self.is_pool and self._unseen_count == 0

    def index_of(self, cell: Any) -> int | None:
        """Pool index of ``cell`` (None if not in the pool or in open mode)."""
        return self.index.get(self.space.hash(cell)) if self.is_pool else None

    def is_new(self, cell: Any) -> bool:
        """True if ``cell`` may be proposed now (in the pool, when there is one, and never proposed)."""
        h = self.space.hash(cell)
        if h in self.proposed:
            return False
        return (h in self.index) if self.is_pool else True

    def unseen_indices(self) -> np.ndarray:
        """Pool indices never proposed, int64 ``(M,)``."""
        return np.flatnonzero(~self.seen)

    # -- updates -------------------------------------------------------------------------------
    def mark(self, cell: Any) -> bool:
        """Record that ``cell`` was proposed (or evaluated elsewhere); it will never be proposed again.
        True when it had not been proposed before (marked by a tell: a result the searcher never asked for)."""
        h = self.space.hash(cell)
        if h in self.proposed:
            return False
        self.proposed.add(h)
        if self.is_pool:
            i = self.index.get(h)
            if i is not None and not self.seen[i]:
                self.seen[i] = True
                self._unseen_count -= 1
        return True

    def unmark(self, h: str) -> None:
        """Forget that the cell of hash ``h`` was proposed (a proposal withdrawn, never evaluated): it may
        be proposed again."""
        if h not in self.proposed:
            return
        self.proposed.discard(h)
        if self.is_pool:
            i = self.index.get(h)
            if i is not None and self.seen[i]:
                self.seen[i] = False
                self._unseen_count += 1

    # -- the rule ------------------------------------------------------------------------------
    def random(self, rng: np.random.Generator) -> Any | None:
        """A uniformly drawn unseen cell: uniform over unseen pool cells, or ``space.random_cell``
        redrawn until new. None when the pool is exhausted."""
        if not self.is_pool:
            return self._open_redraw(lambda: self.space.random_cell(rng))
        if self._unseen_count == 0:
            return None
        n = len(self.cells)
        if self._unseen_count * 4 >= n:               # rejection sampling is cheap while most are unseen
            while True:
                i = int(rng.integers(n))
                if not self.seen[i]:
                    return self.cells[i]
        unseen = self.unseen_indices()
        return self.cells[int(unseen[rng.integers(len(unseen))])]

    def snap(self, cell: Any, rng: np.random.Generator, *,
             regenerate: Callable[[], Any] | None = None) -> Any | None:
        """``cell`` itself if it may be proposed; otherwise its replacement by the shared rule: the
        nearest unseen pool cell (pool mode), or a redraw from ``regenerate`` / ``random_cell``
        (open mode). None only when nothing is left."""
        if self.is_new(cell):
            return cell
        if not self.is_pool:
            return self._open_redraw(regenerate or (lambda: self.space.random_cell(rng)))
        i = self.nearest_unseen(self.space.features([cell])[0], rng)
        return None if i is None else self.cells[i]

    def nearest_unseen(self, feature: np.ndarray, rng: np.random.Generator) -> int | None:
        """Index of the unseen pool cell nearest to ``feature`` (shape ``(D,)``) in L1 distance, ties
        broken uniformly with ``rng``."""
        unseen = self.unseen_indices()
        if len(unseen) == 0:
            return None
        dist = np.abs(self.features[unseen] - feature[None, :]).sum(axis=1)
        best = np.flatnonzero(dist == dist.min())
        return int(unseen[best[rng.integers(len(best))]])

    OPEN_FALLBACK_TRIES = 100_000
    """Open mode: uniform draws tried, after the generator's, before the space's own list is searched."""

    def _open_redraw(self, draw: Callable[[], Any], *, tries: int = 100) -> Any | None:
        """A never-proposed cell from ``draw``, else from ``random_cell``; at the end of a space whose
        cells these draws no longer find, a uniform pick among those it lists (``all_cells``) that were
        never proposed. None when nothing is left (or the space cannot list its cells)."""
        for _ in range(tries):
            cell = draw()
            if self.space.hash(cell) not in self.proposed:
                return cell
        rng = np.random.default_rng(len(self.proposed))   # deterministic given the history
        for _ in range(self.OPEN_FALLBACK_TRIES):
            cell = self.space.random_cell(rng)
            if self.space.hash(cell) not in self.proposed:
                return cell
        left = [c for c in self.space.all_cells() or () if self.space.hash(c) not in self.proposed]
        if not left:
            log.info("open mode: no cell left that was never proposed (%d proposed)", len(self.proposed))
            return None
        return left[int(rng.integers(len(left)))]
