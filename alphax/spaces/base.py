"""The search-space interface that every searcher works through.

A space knows its cells (hashing, JSON form, random sampling, mutation, a feature vector for the
meta-DNN) and the MCTS view of them (partial-cell states and the actions that grow them). Searchers never
ask which space they run on: everything space-specific is a method here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Hashable, Mapping, Sequence

import numpy as np

__all__ = ["SearchSpace"]


class SearchSpace(ABC):
    """Abstract search space. ``Cell`` is whatever the space uses for a complete architecture."""

    name: str = ""
    identity_ops: tuple[str, ...] = ()
    """Ops that compute the identity (NAS-Bench-201's ``skip_connect``); the meta-DNN's path encoding
    leaves them out of a path's ops (``meta_dnn.cell_paths``)."""
    default_searcher_options: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    """Per searcher name, the keyword options it gets on this space unless the user gives others."""

    def searcher_options(self, algo: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The options ``algo`` runs with here: :attr:`default_searcher_options`, then ``options`` over them."""
        return {**self.default_searcher_options.get(algo, {}), **(options or {})}

    # -- cells ---------------------------------------------------------------------------------
    @abstractmethod
    def hash(self, cell: Any) -> str:
        """A string that is equal for two cells exactly when they are the same architecture."""

    @abstractmethod
    def to_json(self, cell: Any) -> dict:
        """``{"matrix": ..., "ops": [...]}``, the form written to ``results.jsonl``."""

    @abstractmethod
    def from_json(self, obj: dict) -> Any:
        """Inverse of :meth:`to_json`; raises ``OutOfDomainError`` for a cell outside the space."""

    @abstractmethod
    def random_cell(self, rng: np.random.Generator) -> Any:
        """A uniformly drawn valid cell (uniform over the generator's draws, as in NASBench-101)."""

    @abstractmethod
    def mutate(self, cell: Any, rng: np.random.Generator) -> Any:
        """A valid cell one mutation away from ``cell`` (it may equal ``cell``)."""

    @abstractmethod
    def features(self, cells: Sequence[Any]) -> np.ndarray:
        """Encoding for the meta-DNN: float32 array of shape ``(len(cells), D)``."""

    def feature_variants(self, cell: Any) -> np.ndarray | None:
        """Every way of writing ``cell``'s :meth:`features` that describes the same architecture, float32
        ``(K, D)``, its own form first; ``None`` (the default) where a cell has only one. The meta-DNN
        trains on one of them at random each time it sees the cell (``AlphaXSearch(augment=True)``)."""
        return None

    def all_cells(self, size: int | None = None, *, seed: int = 0) -> list[Any] | None:
        """Every cell of the space (``size`` None), or a uniform sample of ``size`` of them drawn with
        ``seed``, in a fixed order: the searchers' pool when the evaluator can evaluate any cell (training),
        so that they search as they do on a table. None (the default): the space cannot list its cells."""
        return None

    # -- MCTS view -----------------------------------------------------------------------------
    def action_codes(self, cells: Sequence[Any]) -> tuple[np.ndarray, list[Hashable]]:
        """The build paths of ``cells`` (``action_path(cell)``, for a space that offers it: the actions
        that build the cell from :meth:`root_state`) as small integers, for a tree searching a pool:
        ``(codes, actions)``, ``codes`` int16 ``(N, W + 1)`` with ``W`` the longest path, -1 after each
        path's end, and ``actions[code]`` the action. Actions are numbered in the order they first appear,
        cell after cell, along each path. One cell at a time here; a space may compute it in bulk."""
        vocab: dict[Hashable, int] = {}
        paths = [[vocab.setdefault(a, len(vocab)) for a in self.action_path(c)] for c in cells]
        codes = np.full((len(paths), max((len(p) for p in paths), default=0) + 1), -1, dtype=np.int16)
        for i, p in enumerate(paths):
            codes[i, :len(p)] = p
        return codes, list(vocab)

    @abstractmethod
    def root_state(self) -> Hashable:
        """The empty partial cell where every MCTS search starts."""

    @abstractmethod
    def actions(self, state: Hashable) -> list[Hashable]:
        """Legal actions from ``state`` (empty for a terminal state)."""

    @abstractmethod
    def step(self, state: Hashable, action: Hashable) -> Hashable:
        """The state reached by taking ``action`` in ``state``."""

    @abstractmethod
    def cell_of(self, state: Hashable) -> Any | None:
        """The complete cell of a terminal ``state``; ``None`` if not terminal or not a valid cell."""
