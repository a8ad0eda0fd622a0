"""Error types. Every error a user can cause derives from :class:`AlphaXError`.

The command line turns an :class:`AlphaXError`, or an ``OSError`` (a path that cannot be read or written),
into one line on stderr and exit code 1 (``-v`` shows where it happened); anything else is a bug and keeps
its traceback.
"""

__all__ = ["AlphaXError", "OutOfDomainError", "DataError", "CheckpointError", "ConfigError", "SearcherError",
           "Interrupted", "first_line"]


class AlphaXError(Exception):
    """Base class of every error caused by bad input (a cell, a file, an option)."""


class OutOfDomainError(AlphaXError, ValueError):
    """A cell is not in the search space (NASBench-101's ``OutOfDomainError``)."""


class DataError(AlphaXError):
    """A data file is missing, of the wrong format, truncated or corrupt."""


class CheckpointError(AlphaXError):
    """A run folder or checkpoint cannot be used to resume."""


class ConfigError(AlphaXError):
    """An option or a combination of options is invalid."""


class SearcherError(AlphaXError):
    """A searcher of your own (``--algo FILE.py:CLASS``) proposed what no searcher may: a cell evaluated
    already, or one outside the cells the evaluator can evaluate."""


class Interrupted(KeyboardInterrupt):
    """Stopped by the signal ``signum`` (SIGINT, SIGTERM) once what had to be saved was saved; the command
    line exits with 128 + ``signum`` (130, 143), as a process killed by it would."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def first_line(exc: BaseException) -> str:
    """An exception's message up to its first line break: torch's errors add a C++ backtrace, which a
    one-line error leaves out."""
    lines = str(exc).splitlines()
    return lines[0] if lines else ""
