"""Searchers: AlphaX, random search and regularized evolution, behind ``ask()``/``tell()``; and one of
your own, by where its class is (:mod:`alphax.searchers.external`).

Build them with :func:`make_searcher`; the AlphaX searcher imports torch (through ``meta_dnn``) only
when it is constructed, so ``import alphax`` stays torch-free.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from alphax.searchers import external
from alphax.searchers.base import Proposal, Result, Searcher, check_options
from alphax.searchers.evolution import RegularizedEvolution
from alphax.searchers.external import is_external
from alphax.searchers.random import RandomSearch

__all__ = ["Proposal", "Result", "Searcher", "RandomSearch", "RegularizedEvolution", "make_searcher", "searcher_class",
           "SEARCHERS"]

SEARCHERS = ("random", "evolution", "alphax")


def make_searcher(name: str, space, *, rng: np.random.Generator, candidates: Sequence[Any] | None = None,
                  **options) -> Searcher:
    """The searcher called ``name`` ('random', 'evolution' or 'alphax') on ``space``.

    ``candidates``: the cells the evaluator can evaluate (a table's cells with data), or None for any
    valid cell. ``options`` are the searcher's keyword arguments (see each class), checked first
    (:func:`~alphax.searchers.base.check_options`: names, types, minimums).
    """
    cls = searcher_class(name)
    check_options(cls, options)
    return cls(space, rng=rng, candidates=candidates, **options)


def searcher_class(name: str) -> type:
    """The class of the searcher called ``name``, or of an external one (``FILE.py:CLASS``,
    ``MODULE:CLASS``: :mod:`alphax.searchers.external`, imported here); a ValueError naming the choices for
    another name."""
    if is_external(name):
        return external.load(name)
    if name == "random":
        return RandomSearch
    if name == "evolution":
        return RegularizedEvolution
    if name == "alphax":
        from alphax.searchers.alphax import AlphaXSearch   # imports torch
        return AlphaXSearch
    raise ValueError(f"unknown searcher {name!r}; choose one of {', '.join(SEARCHERS)}, or FILE.py:CLASS")
