"""A run's ``log.txt``: what its process logged while the run was open, and why it ended.

:func:`attach` copies the process's log records (at whatever level logging is configured for: INFO under
``alphax search`` and ``run_server.py``, DEBUG with ``-v``, WARNING in ``alphax compare``'s workers) into
the run folder's ``log.txt``, appended across resumes, created when the first record comes;
:func:`detach` stops. :func:`append` adds one line (the message that ends a run or a failed resume, written by the entry point
straight to the file), flushed and fsynced. Under MPI that matters: an ``MPI_Abort`` can end
the job before ``mpiexec`` has passed on a process's last console lines (see
``workers.protocol.ABORT_GRACE``); the reason is in the run folder whatever the console kept.

Several runs open in one process (library use; the CLI opens one) keep their logs apart with
:func:`scope`: a record made inside ``with scope(handler)`` (``alphax.run.Run`` enters it in each of its
methods and ``run_search`` around its loop) goes to that run's ``log.txt`` only; a record made outside any
run's scope goes to every open run's. The scope is a context variable, so it follows the code that runs,
not the logger that writes.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import sys
from pathlib import Path
from typing import Iterator

from alphax.atomic import open_in_place

__all__ = ["LOG", "attach", "detach", "append", "scope", "is_run_log"]

LOG = "log.txt"
_FORMATTER = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
_SCOPE: contextvars.ContextVar[logging.Handler | None] = contextvars.ContextVar("alphax_log_scope", default=None)


class _RunLogHandler(logging.FileHandler):
    """A ``FileHandler`` whose file failing (a full disk) is said once on stderr, in one line, instead of
    logging's traceback for every record: ``log.txt`` is a copy of what the console shows, and the run
    goes on, or stops on the error that hit it, reported as usual."""

    _failed = False

    def _open(self):                   # never through a link (atomic.open_in_place)
        return open_in_place(self.baseFilename, "a", encoding=self.encoding)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            super().emit(record)
        except Exception:  # noqa: BLE001 - opening the file (delay=True) is outside logging's own guard
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:   # noqa: N802 - logging's name
        exc = sys.exc_info()[1]
        if not isinstance(exc, OSError):       # not the file: a record that cannot be formatted, say
            super().handleError(record)
            return
        if self._failed or not logging.raiseExceptions:
            return
        self._failed = True
        reason = exc.strerror or exc
        sys.stderr.write(f"alphax: warning: cannot write {self.baseFilename} ({reason}); records may be "
                         f"missing from it (said once)\n")


def is_run_log(handler: logging.Handler) -> bool:
    """Whether ``handler`` copies records to a run's ``log.txt`` (one from :func:`attach`)."""
    return isinstance(handler, _RunLogHandler)


def attach(folder: str | Path) -> logging.Handler:
    """Start copying this process's log records to ``folder/log.txt`` (appended); returns the handler."""
    handler = _RunLogHandler(Path(folder) / LOG, mode="a", encoding="utf-8", delay=True)   # created when used
    handler.setFormatter(_FORMATTER)
    handler.addFilter(lambda record: _SCOPE.get() in (None, handler))
    logging.getLogger().addHandler(handler)
    return handler


@contextlib.contextmanager
def scope(handler: logging.Handler | None) -> Iterator[None]:
    """Inside, records go only to ``handler``'s log (a handler from :func:`attach`), not to the other open
    runs'; ``None`` leaves the current scope as it is. Nests; restored on exit."""
    if handler is None:
        yield
        return
    token = _SCOPE.set(handler)
    try:
        yield
    finally:
        _SCOPE.reset(token)


def detach(handler: logging.Handler | None) -> None:
    """Stop copying log records to the handler's file and close it (``None``: nothing to do)."""
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()


def append(folder: str | Path, message: str, *, level: int = logging.ERROR, name: str = "alphax") -> None:
    """Append ``message`` to ``folder/log.txt`` as one log record (a multi-line message stays whole), then
    flush and fsync it, so that it is on disk before the process goes on to end the job. A log that cannot
    be written (a full disk) is warned about, not raised: the caller is reporting another error."""
    record = logging.LogRecord(name, level, __file__, 0, message, None, None)
    try:
        with open_in_place(Path(folder) / LOG, "a", encoding="utf-8") as f:
            f.write(_FORMATTER.format(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:   # the line is for the record; the error it records is what the caller reports
        logging.getLogger(__name__).warning("could not append to %s: %s", Path(folder) / LOG, exc)
