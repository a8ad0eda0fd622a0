"""Progress of a long search, with the best result so far: a tqdm bar on a terminal, log lines elsewhere.

``alphax search`` runs in a terminal, where a bar is the natural display. ``run_server.py`` runs under
``mpiexec``, which hands its ranks pipes, not a terminal, and is often a batch job whose output goes to a
file: there a bar would be a single line rewritten for hours, so the default there is a log line every
:data:`LOG_EVERY` seconds (also in the run's ``log.txt``), and ``--progress bar`` asks for the bar
(mpiexec passes its carriage returns on as they come). The log lines keep coming while no result does (a
cell that trains for minutes): a background thread writes one when ``LOG_EVERY`` seconds have passed
since the last.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import threading
import time
from collections.abc import Callable

__all__ = ["LOG_EVERY", "MODES", "Progress"]

log = logging.getLogger(__name__)

MODES = ("auto", "bar", "log", "off")
"""``auto``: a bar when stderr is a terminal, log lines otherwise."""
LOG_EVERY = 30.0
"""Seconds between two progress lines in ``log`` mode."""


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress(contextlib.AbstractContextManager):
    """Counts results towards ``total`` and keeps the best row (``accuracy``, ``n``) so far.

    ``update(row, **extra)`` after each recorded result; ``extra`` (e.g. ``in_flight=3``) is shown beside
    the best. Use it as a context manager: the bar exists inside, where logging goes around it. In
    ``log`` mode (with ``every > 0``) a thread also writes a line when ``every`` seconds pass without one,
    with the fields ``status()`` returns then (default: the last ``extra``)."""

    def __init__(self, *, total: int, initial: int = 0, best: dict | None = None, mode: str = "auto",
                 desc: str = "", unit: str = "cell", every: float = LOG_EVERY, stream=None,
                 status: Callable[[], dict] | None = None, label: str = "best"):
        if mode not in MODES:
            raise ValueError(f"progress mode must be one of {', '.join(MODES)}, got {mode!r}")
        stream = stream if stream is not None else sys.stderr
        if mode == "auto":
            mode = "bar" if stream.isatty() else "log"
        self.mode, self.total, self.n, self.best, self.every, self.desc = mode, total, initial, best, every, desc
        self.label = label                   # what the best is called ("best observed" where a mean judges)
        self._first_n, self._start = initial, time.monotonic()
        self._last_line = self._start
        self._stream, self._unit = stream, unit
        self._stack = contextlib.ExitStack()
        self.bar = None
        self.status = status                 # fields of a line written between results
        self._extra: dict = {}
        self._lock = threading.Lock()        # one line at a time, from update() or the thread
        self._quiet = threading.Event()      # set: the thread stops
        self._thread: threading.Thread | None = None

    def __enter__(self) -> "Progress":
        self._start = self._last_line = time.monotonic()        # rates from here (a farm waits for clients first)
        if self.mode == "bar":
            from tqdm import tqdm
            from tqdm.contrib.logging import logging_redirect_tqdm

            self._stack.enter_context(logging_redirect_tqdm())
            self.bar = self._stack.enter_context(tqdm(total=self.total, initial=self.n, unit=self._unit,
                                                      desc=self.desc, dynamic_ncols=True, file=self._stream))
            if self.best is not None:
                self.bar.set_postfix({self.label: f"{self.best['accuracy']:.6f}"})
        elif self.mode == "log" and self.every > 0:
            self._quiet.clear()
            # in this context, so that its lines go where this thread's do (alphax.logfile: the run's log.txt)
            self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._between_results,),
                                            name="alphax-progress", daemon=True)
            self._thread.start()
        return self

    def update(self, row: dict, **extra) -> None:
        with self._lock:                     # a line the thread writes meanwhile has the count and best of one moment
            self.n += 1
            accuracy = row.get("accuracy")
            if accuracy is not None and (self.best is None or accuracy > self.best["accuracy"]):
                self.best = row
            self._extra = extra
        if self.bar is not None:
            shown = {self.label: f"{self.best['accuracy']:.6f}"} if self.best is not None else {}
            self.bar.set_postfix(**shown, **extra, refresh=False)
            self.bar.update(1)
        elif self.mode == "log":
            self._log_line(extra, due=True)

    def line(self, extra: dict | None = None) -> str:
        """``n/total cells (p%), best ACC at n=K, ..., R cells/min, ETA H:MM:SS``."""
        done = self.n - self._first_n
        elapsed = time.monotonic() - self._start
        parts = [f"{self.desc + ': ' if self.desc else ''}{self.n}/{self.total} cells "
                 f"({100.0 * self.n / self.total if self.total else 100.0:.0f}%)"]
        best = self.best
        parts.append(f"{self.label} {best['accuracy']:.6f} at n={best['n']}" if best is not None else "no result yet")
        parts += [f"{k.replace('_', ' ')} {v}" for k, v in (extra or {}).items()]
        if done > 0 and elapsed > 0:
            rate = done / elapsed
            parts.append(f"{60.0 * rate:.1f} cells/min, ETA {_duration(max(self.total - self.n, 0) / rate)}")
        return ", ".join(parts)

    def _log_line(self, extra: dict | None, *, due: bool = False) -> None:
        """Log the line now, or with ``due`` only once ``every`` seconds have passed since the last."""
        with self._lock:
            if due and time.monotonic() - self._last_line < self.every:
                return
            self._last_line = time.monotonic()
            log.info("%s", self.line(extra))

    def _between_results(self) -> None:
        """The thread: a line whenever ``every`` seconds pass without one (no result came)."""
        while not self._quiet.wait(max(0.05, self._last_line + self.every - time.monotonic())):
            if time.monotonic() - self._last_line >= self.every:
                self._log_line(self.status() if self.status is not None else self._extra, due=True)

    def __exit__(self, *exc) -> None:
        if self._thread is not None:
            self._quiet.set()
            self._thread.join()
            self._thread = None
        self._stack.close()
        self.bar = None
