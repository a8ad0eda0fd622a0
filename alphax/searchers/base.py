"""The searcher interface shared by AlphaX, random search and regularized evolution."""

from __future__ import annotations

import inspect
import math
import numbers
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Collection

__all__ = ["Proposal", "Result", "Searcher", "check_options"]


@dataclass(frozen=True)
class Proposal:
    """A cell the searcher wants evaluated, with the meta-DNN's estimate when it proposed it."""

    cell: Any
    predicted: float | None = None


@dataclass(frozen=True)
class Result:
    """The outcome of one evaluation. ``accuracy`` is the observed reward (None when it failed; a NaN or
    infinite one is a failure too)."""

    accuracy: float | None
    seconds: float = 0.0
    worker: str = "inline"
    error: str | None = None
    info: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.accuracy is None or not math.isfinite(self.accuracy)


class Searcher(ABC):
    """``ask()`` proposes cells, ``tell()`` reports their results.

    Several proposals may be outstanding at once (one per idle client); every proposal is eventually
    told back exactly once, successful or failed. Searchers are picklable: a checkpoint is the pickled
    searcher, random generator included.
    """

    def ask(self, n: int = 1) -> list[Proposal]:
        """Up to ``n`` new proposals (fewer only when no unevaluated cell is left; none for ``n=0``)."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"ask(n): n must be an integer >= 0, got {n!r}")
        return self._ask(int(n))

    def tell(self, cell: Any, result: Result) -> None:
        """Report the result of a proposed cell (or of one evaluated elsewhere: a farm's logged result),
        once: a cell told again raises ``ValueError``, as does a result that is not one (its accuracy
        ``None``, a non-finite number for a failure, or a number in [0, 1])."""
        if not isinstance(result, Result):
            raise ValueError(f"tell(cell, result): result must be a Result, got {type(result).__name__}")
        acc = result.accuracy
        if acc is not None and (isinstance(acc, bool) or not isinstance(acc, numbers.Real)
                                or (math.isfinite(acc) and not 0.0 <= acc <= 1.0)):
            raise ValueError(f"tell(cell, result): accuracy must be None, a non-finite number (a failure) or a "
                             f"number in [0, 1], got {acc!r}")
        h = self.space.hash(cell)
        told = self.__dict__.setdefault("_told", set())      # (a checkpoint from before it: from there on)
        if h in told:
            raise ValueError(f"tell(cell, result): cell {h} was told already; each proposal is told once")
        self._tell(cell, result)
        told.add(h)

    @abstractmethod
    def _ask(self, n: int) -> list[Proposal]:
        """:meth:`ask`, ``n`` checked."""

    @abstractmethod
    def _tell(self, cell: Any, result: Result) -> None:
        """:meth:`tell`, its arguments checked."""

    def metrics(self) -> dict:
        """Diagnostics for the run log (e.g. the predictor's ranking quality); empty by default."""
        return {}

    def withdraw_untold(self, told: Collection[str]) -> list[str]:
        """Take back every proposal whose cell's hash is not in ``told``: the jobs a farm still had out
        when it stopped, which no result will ever report. Each may be proposed again. Returns their
        hashes, sorted. The searchers keep their proposals in ``self.pool`` (a ``CandidateSet``)."""
        lost = sorted(self.pool.proposed - set(told))
        for h in lost:
            self._withdraw(h)
        return lost

    def _withdraw(self, h: str) -> None:
        """Take back the outstanding proposal of hash ``h``; a searcher with state per proposal extends it."""
        self.pool.unmark(h)


_SKIP = ("self", "space", "rng", "candidates")


def check_options(cls: type, options: dict) -> None:
    """Raise ``ValueError`` naming the option and the way out unless every entry of ``options`` is a
    keyword argument of ``cls.__init__`` with a value of its default's type (``True``/``False`` for a
    bool, an integer for an int, a finite number for a float, text for a str) and at least
    ``cls.OPTION_MINIMUM[key]`` where given. Run before anything is written, so that a bad ``--option``
    fails at once instead of part-way through a run (or at every resume of it)."""
    params = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
              if name not in _SKIP and p.kind is p.KEYWORD_ONLY}
    minimum = getattr(cls, "OPTION_MINIMUM", {})
    for key, value in options.items():
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise ValueError(f"unknown option {key!r} for {cls.__name__}; its options are: {known}")
        default = params[key]
        if isinstance(default, bool):
            ok, want = isinstance(value, bool), "true or false"
        elif isinstance(default, int):
            ok, want = isinstance(value, numbers.Integral) and not isinstance(value, bool), "an integer"
        elif isinstance(default, float):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            want = "a finite number"
        elif isinstance(default, str):
            ok, want = isinstance(value, str), "text"
        else:
            ok, want = True, ""
        if ok and key in minimum and value < minimum[key]:
            ok, want = False, f"{want} >= {minimum[key]}"
        if not ok:
            raise ValueError(f"option {key} must be {want}, got {value!r}")
