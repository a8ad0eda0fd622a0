"""Error types. Every error a user can cause derives from :class:`AlphaXError`.

The command line turns an :class:`AlphaXError` into one line on stderr and a non-zero exit code; anything
else is a bug and keeps its traceback.
"""

__all__ = ["AlphaXError", "OutOfDomainError", "DataError", "CheckpointError", "ConfigError"]


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
