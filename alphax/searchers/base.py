"""The searcher interface shared by AlphaX, random search and regularized evolution."""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Collection

__all__ = ["Proposal", "Result", "Searcher", "check_options", "reward_problem"]


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


def reward_problem(accuracy: Any, *, non_finite_ok: bool = False) -> str | None:
    """Why an evaluation's reward is not an accuracy (``None``, a failed evaluation's, is one; with
    ``non_finite_ok``, so is a NaN or infinite number), or None: ``"non-finite reward nan"``,
    ``"reward 5.0 outside [0, 1]"``, ``"reward '0.5' is not a number"``."""
    if accuracy is None:
        return None
    if isinstance(accuracy, bool) or not isinstance(accuracy, numbers.Real):
        return f"reward {accuracy!r} is not a number"
    if not math.isfinite(accuracy):
        return None if non_finite_ok else f"non-finite reward {accuracy!r}"
    if not 0.0 <= accuracy <= 1.0:
        return f"reward {accuracy!r} outside [0, 1]"
    return None


class Searcher:
    """``ask()`` proposes cells, ``tell()`` reports their results.

    Several proposals may be outstanding at once (one per idle client); every proposal is eventually
    told back exactly once, successful or failed. Searchers are picklable: a checkpoint is the pickled
    searcher, random generator included. A searcher implements ``_ask`` and ``_tell``, which ``ask`` and
    ``tell`` call once they have checked their arguments.
    """

    @staticmethod
    def check_space(space, options: dict) -> None:
        """Raise ``ValueError`` for an option (of ``options``, checked by :func:`check_options`) that
        ``space`` cannot honour; every option can be, unless a searcher says otherwise."""

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
        if reward_problem(result.accuracy, non_finite_ok=True):        # a non-finite one: a failure
            raise ValueError(f"tell(cell, result): accuracy must be None, a non-finite number (a failure) or a "
                             f"number in [0, 1], got {result.accuracy!r}")
        h = self.space.hash(cell)
        told = self.__dict__.setdefault("_told", set())      # (a checkpoint from before it: from there on)
        if h in told:
            raise ValueError(f"tell(cell, result): cell {h} was told already; each proposal is told once")
        self._tell(cell, result)
        told.add(h)

    def _ask(self, n: int) -> list[Proposal]:
        """:meth:`ask`, ``n`` checked: what a searcher implements (one that overrides :meth:`ask` itself, as
        searchers written before these checks do, goes without them)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither _ask nor ask")

    def _tell(self, cell: Any, result: Result) -> None:
        """:meth:`tell`, its arguments checked: what a searcher implements (or :meth:`tell` itself)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither _tell nor tell")

    def metrics(self) -> dict:
        """Diagnostics for the run log (e.g. the predictor's ranking quality); empty by default."""
        return {}

    def withdraw_untold(self, told: Collection[str]) -> list[str]:
        """Take back every proposal whose cell's hash is not in ``told``: the jobs a farm still had out
        when it stopped, which no result will ever report. Each may be proposed again. Returns their
        hashes, sorted. The searchers keep their proposals in ``self.pool`` (a ``CandidateSet``); one of your
        own without it takes nothing back (and runs inline, where nothing is out, resume as any other)."""
        pool = getattr(self, "pool", None)
        if pool is None:
            return []
        lost = sorted(pool.proposed - set(told))
        for h in lost:
            self._withdraw(h)
        return lost

    def _withdraw(self, h: str) -> None:
        """Take back the outstanding proposal of hash ``h``; a searcher with state per proposal extends it."""
        self.pool.unmark(h)


_SKIP = ("self", "space", "rng", "candidates")


MAX_INT = 2 ** 31 - 1
"""The largest value of an integer searcher option without a maximum of its own (``check_options``)."""


def _finite(value) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:          # an integer too large for a float
        return False


def check_options(cls: type, options: dict) -> None:
    """Raise ``ValueError`` naming the option and the way out unless every entry of ``options`` is a
    keyword argument of ``cls.__init__`` with a value of its default's type (``True``/``False`` for a
    bool, an integer for an int, a finite number for a float, text for a str), at least
    ``cls.OPTION_MINIMUM[key]``, at most ``cls.OPTION_MAXIMUM[key]`` (an int: :data:`MAX_INT` otherwise) and
    one of ``cls.OPTION_CHOICES[key]`` where given. Run before anything is
    written, so that a bad ``--option`` fails at once instead of part-way through a run (or at every
    resume of it)."""
    params = {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
              if name not in _SKIP and p.kind is p.KEYWORD_ONLY}
    minimum = getattr(cls, "OPTION_MINIMUM", {})
    maximum = getattr(cls, "OPTION_MAXIMUM", {})
    choices = getattr(cls, "OPTION_CHOICES", {})
    for key, value in options.items():
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise ValueError(f"unknown option {key!r} for {cls.__name__}; its options are: {known}")
        default = params[key]
        top = maximum.get(key)
        if isinstance(default, bool):
            ok, want = isinstance(value, bool), "true or false"
        elif isinstance(default, int):
            ok, want = isinstance(value, numbers.Integral) and not isinstance(value, bool), "an integer"
            # (an integer past 2^31 is no setting of a searcher; past 2^63 it overflows a C size somewhere)
            top = maximum.get(key, MAX_INT)
        elif isinstance(default, float):
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and _finite(value)
            want = "a finite number"
        elif isinstance(default, str):
            ok, want = isinstance(value, str), "text"
        else:
            ok, want = True, ""
        if ok and key in minimum and value < minimum[key]:
            ok, want = False, f"{want} >= {minimum[key]}"
        if ok and top is not None and value > top:
            ok, want = False, f"{want} <= {top}"
        if ok and key in choices and value not in choices[key]:
            ok, want = False, "one of " + ", ".join(map(repr, choices[key]))
        if not ok:
            raise ValueError(f"option {key} must be {want}, got {value!r}")
