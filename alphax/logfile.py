"""A run's ``log.txt``: what its process logged while the run was open, and why it ended.

:func:`attach` copies the process's log records (at whatever level logging is configured for: INFO under
``alphax search`` and ``run_server.py``, DEBUG with ``-v``, WARNING in ``alphax compare``'s workers) into
the run folder's ``log.txt``, appended across resumes, created when the first record comes;
:func:`detach` stops. :func:`append` adds one line (the message that ends a run, written by the entry
point after the run has closed), flushed and fsynced. Under MPI that matters: an ``MPI_Abort`` can end
the job before ``mpiexec`` has passed on a process's last console lines (see
``workers.protocol.ABORT_GRACE``); the reason is in the run folder whatever the console kept.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

__all__ = ["LOG", "attach", "detach", "append"]

LOG = "log.txt"
_FORMATTER = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def attach(folder: str | Path) -> logging.Handler:
    """Start copying this process's log records to ``folder/log.txt`` (appended); returns the handler."""
    handler = logging.FileHandler(Path(folder) / LOG, mode="a", encoding="utf-8", delay=True)   # created when used
    handler.setFormatter(_FORMATTER)
    logging.getLogger().addHandler(handler)
    return handler


def detach(handler: logging.Handler | None) -> None:
    """Stop copying log records to the handler's file and close it (``None``: nothing to do)."""
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()


def append(folder: str | Path, message: str, *, level: int = logging.ERROR, name: str = "alphax") -> None:
    """Append ``message`` to ``folder/log.txt`` as one log record (a multi-line message stays whole), then
    flush and fsync it, so that it is on disk before the process goes on to end the job."""
    record = logging.LogRecord(name, level, __file__, 0, message, None, None)
    with open(Path(folder) / LOG, "a", encoding="utf-8") as f:
        f.write(_FORMATTER.format(record) + "\n")
        f.flush()
        os.fsync(f.fileno())
