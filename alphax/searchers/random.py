"""Random search: the baseline every searcher must beat."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from alphax.candidates import CandidateSet
from alphax.searchers.base import Proposal, Result, Searcher
from alphax.spaces.base import SearchSpace

__all__ = ["RandomSearch"]


class RandomSearch(Searcher):
    """Proposes uniformly drawn cells that were never proposed.

    Candidate rule: with a pool (a table), a uniform draw among the pool cells not yet proposed (so on a
    table of N cells the optimum is expected after (N + 1) / 2 samples); without one,
    ``space.random_cell`` redrawn until new. It cannot stall while an unseen cell remains.
    """

    def __init__(self, space: SearchSpace, *, rng: np.random.Generator,
                 candidates: Sequence[Any] | None = None):
        self.space = space
        self.rng = rng
        self.pool = CandidateSet(space, candidates)

    def _ask(self, n: int) -> list[Proposal]:
        out = []
        for _ in range(n):
            cell = self.pool.random(self.rng)
            if cell is None:
                break
            self.pool.mark(cell)
            out.append(Proposal(cell))
        return out

    def _tell(self, cell: Any, result: Result) -> None:
        self.pool.mark(cell)
