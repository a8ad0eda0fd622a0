"""The searcher interface shared by AlphaX, random search and regularized evolution."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Proposal", "Result", "Searcher"]


@dataclass(frozen=True)
class Proposal:
    """A cell the searcher wants evaluated, with the meta-DNN's estimate when it proposed it."""

    cell: Any
    predicted: float | None = None


@dataclass(frozen=True)
class Result:
    """The outcome of one evaluation. ``accuracy`` is the observed reward (None when it failed)."""

    accuracy: float | None
    seconds: float = 0.0
    worker: str = "inline"
    error: str | None = None
    info: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.accuracy is None


class Searcher(ABC):
    """``ask()`` proposes cells, ``tell()`` reports their results.

    Several proposals may be outstanding at once (one per idle client); every proposal is eventually
    told back exactly once, successful or failed. Searchers are picklable: a checkpoint is the pickled
    searcher, random generator included.
    """

    @abstractmethod
    def ask(self, n: int = 1) -> list[Proposal]:
        """Up to ``n`` new proposals (fewer only when no unevaluated cell is left)."""

    @abstractmethod
    def tell(self, cell: Any, result: Result) -> None:
        """Report the result of a proposed cell."""

    def metrics(self) -> dict:
        """Diagnostics for the run log (e.g. the predictor's ranking quality); empty by default."""
        return {}
