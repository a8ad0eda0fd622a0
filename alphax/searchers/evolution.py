"""Regularized evolution (Real et al., 2019, "Regularized Evolution for Image Classifier Architecture
Search", https://arxiv.org/abs/1802.01548), as in NASBench-101's example code."""

from __future__ import annotations

from collections import deque
from operator import itemgetter
from typing import Any, Sequence

import numpy as np

from alphax.candidates import CandidateSet
from alphax.searchers.base import Proposal, Result, Searcher, check_options
from alphax.spaces.base import SearchSpace

__all__ = ["RegularizedEvolution"]

_accuracy = itemgetter(1)
"""A population member's accuracy (members are ``(cell, accuracy)``)."""


class RegularizedEvolution(Searcher):
    """Aging evolution: a population of the latest ``population_size`` results; each new cell is a
    mutation (``space.mutate``, NASBench-101's by default) of the best of ``tournament_size`` members
    drawn at random; the oldest member dies when a child joins.

    Candidate rule: the first ``population_size`` proposals are uniform unseen cells. After that, a
    step (tournament, then mutation of its winner) whose child may not be proposed (no data, or already
    proposed) is dropped and the step is redone, as if that child had never been made, up to
    ``mutation_retries`` times per proposal; each redo draws a new tournament, so a parent whose
    neighbourhood is used up does not hold the search. Only if every redo fails is the last child
    snapped to the nearest unseen pool cell (or redrawn, without a pool) by :meth:`CandidateSet.snap`,
    so it never stalls on a partial table, where most mutations have no data. (Retrying only the
    mutation of one parent stalls: on the NASBench-101 subset a top cell's mutations reach only a few
    dozen cells with data.)
    ``duplicates="rejoin"``: a child the run has evaluated already joins the population again with its
    recorded accuracy before the step is redone, as in Real et al.'s algorithm, where every child joins,
    with the result looked up instead of trained again (it costs no sample; the oldest member dies as for
    any child). ``"redo"`` (the default) drops it like a child without data.
    Failed evaluations never join the population. While the population is still filling (several
    proposals outstanding at once), proposals are random. ``num_asked`` counts the proposals made and not
    taken back (``withdraw_untold``), and the results told that were never asked (a farm's, replayed on
    resume), so a resumed farm does not draw its random start again.
    """

    OPTION_MINIMUM = {"population_size": 1, "tournament_size": 1, "mutation_retries": 1}
    """Smallest allowed value of each option (``searchers.check_options``)."""
    OPTION_CHOICES = {"duplicates": ("redo", "rejoin")}
    """The allowed values of each text option (``searchers.check_options``)."""

    duplicates = "redo"         # for a checkpoint written before the option: its searcher redid them
    num_rejoined = 0

    def __init__(self, space: SearchSpace, *, rng: np.random.Generator,
                 candidates: Sequence[Any] | None = None, population_size: int = 100,
                 tournament_size: int = 10, mutation_retries: int = 1000, duplicates: str = "redo"):
        self.space = space
        self.rng = rng
        self.pool = CandidateSet(space, candidates)
        self.population_size = population_size
        self.tournament_size = tournament_size
        self.mutation_retries = mutation_retries
        # checked here too, for direct construction (``make_searcher`` checks every option already): another
        # text would otherwise run as "redo"
        check_options(type(self), {"duplicates": duplicates})
        self.duplicates = duplicates
        self.recorded: dict[str, float] = {}     # with "rejoin": each evaluated cell's accuracy, by hash
        self.population: deque[tuple[Any, float]] = deque(maxlen=population_size)
        self.num_asked = 0
        self.num_mutated = 0        # proposals made by mutation (after the random start)
        self.num_tries = 0          # mutations made for them, kept or dropped
        self.num_snapped = 0        # of them, proposals the candidate rule had to snap
        self.num_rejoined = 0       # children evaluated already that joined the population again ("rejoin")

    def _ask(self, n: int) -> list[Proposal]:
        out = []
        for _ in range(n):
            cell = self._next_cell()
            if cell is None:
                break
            self.pool.mark(cell)
            self.num_asked += 1
            out.append(Proposal(cell))
        return out

    def _tell(self, cell: Any, result: Result) -> None:
        if self.pool.mark(cell):
            self.num_asked += 1     # told, never asked here: a farm's result logged after the restored checkpoint
        if not result.failed:
            self.population.append((cell, float(result.accuracy)))
            if self.duplicates == "rejoin":
                self.recorded[self.space.hash(cell)] = float(result.accuracy)

    def _withdraw(self, h: str) -> None:
        super()._withdraw(h)
        self.num_asked -= 1         # never evaluated: not one of the random initial population

    def _next_cell(self) -> Any | None:
        if self.pool.exhausted():
            return None
        if self.num_asked < self.population_size or len(self.population) == 0:
            return self.pool.random(self.rng)
        self.num_mutated += 1
        child = parent = None
        for _ in range(max(self.mutation_retries, 1)):
            parent = self._tournament()
            child = self.space.mutate(parent, self.rng)
            self.num_tries += 1
            if self.pool.is_new(child):
                return child
            if self.duplicates == "rejoin":
                accuracy = self.recorded.get(self.space.hash(child))
                if accuracy is not None:
                    self.population.append((child, accuracy))
                    self.num_rejoined += 1
        self.num_snapped += 1
        return self.pool.snap(child, self.rng, regenerate=lambda: self.space.mutate(parent, self.rng))

    def metrics(self) -> dict:
        """How the candidate rule went: proposals made by mutation, mutations tried for them (kept or
        dropped), proposals that had to be snapped after ``mutation_retries`` failed tries and, with
        ``duplicates="rejoin"``, children that joined the population again."""
        out = {"mutated": self.num_mutated, "mutation_tries": self.num_tries, "snapped": self.num_snapped}
        if self.duplicates == "rejoin":
            out["rejoined"] = self.num_rejoined
        return out

    def _tournament(self) -> Any:
        """The best of ``tournament_size`` members drawn at random without replacement."""
        members = self.rng.choice(len(self.population), size=min(self.tournament_size, len(self.population)),
                                  replace=False)
        return max([self.population[i] for i in members.tolist()], key=_accuracy)[0]     # the first best drawn
