"""Searchers: AlphaX, random search and regularized evolution, behind ``ask()``/``tell()``."""

from alphax.searchers.base import Proposal, Result, Searcher

__all__ = ["Proposal", "Result", "Searcher"]
