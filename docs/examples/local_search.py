"""A searcher of your own, benchmarked against AlphaX: greedy local search.

    alphax search --algo docs/examples/local_search.py:LocalSearch --budget 100
    alphax compare --algos alphax,evolution,local=docs/examples/local_search.py:LocalSearch --seeds 5
    alphax search --algo docs/examples/local_search.py:LocalSearch --option warmup=20 --budget 100

Random cells first (``warmup`` of them), then a mutation of the best cell found so far. What every
searcher keeps (README, "The searchers"): it subclasses ``Searcher`` and takes ``(space, *, rng,
candidates=None, **options)`` (its keyword options are ``--option KEY=VALUE``, checked against their
defaults' types); it keeps its proposals in ``self.pool``, a ``CandidateSet``, whose ``snap`` replaces
a cell that may not be proposed (evaluated already, or without data in the table) by the nearest one that
may; it draws every random number from ``self.rng``, so that the same seed gives the same run and a
resumed run the same cells as an uninterrupted one; and it pickles (the checkpoint is the searcher).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from alphax.candidates import CandidateSet
from alphax.searchers.base import Proposal, Result, Searcher
from alphax.spaces.base import SearchSpace


class LocalSearch(Searcher):
    """Mutate the best cell found so far; random cells until ``warmup`` results have come."""

    OPTION_MINIMUM = {"warmup": 1}

    def __init__(self, space: SearchSpace, *, rng: np.random.Generator, candidates: Sequence[Any] | None = None,
                 warmup: int = 10):
        self.space = space
        self.rng = rng
        self.pool = CandidateSet(space, candidates)
        self.warmup = warmup
        self.results = 0
        self.best: tuple[float, Any] | None = None

    def _ask(self, n: int) -> list[Proposal]:
        out = []
        for _ in range(n):
            if self.best is None or self.results < self.warmup:
                cell = self.pool.random(self.rng)
            else:
                cell = self.pool.snap(self.space.mutate(self.best[1], self.rng), self.rng)
            if cell is None:            # every cell of the pool proposed
                break
            self.pool.mark(cell)
            out.append(Proposal(cell))
        return out

    def _tell(self, cell: Any, result: Result) -> None:
        self.pool.mark(cell)            # a result this searcher did not ask for (a resumed farm's) counts too
        if result.accuracy is None:     # a failed evaluation
            return
        self.results += 1
        if self.best is None or result.accuracy > self.best[0]:
            self.best = (result.accuracy, cell)
