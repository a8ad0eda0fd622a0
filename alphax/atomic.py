"""Write a file atomically: a temp file beside it (with the permissions a plain ``open`` would give),
fsynced, then renamed over it, so that a reader sees the old file or the whole new one, never a part."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

__all__ = ["write_atomic", "existing_ancestor", "naming", "open_in_place"]


def _umask() -> int:
    """The process's umask: read from /proc on Linux (setting it to read it, the only portable way, would
    briefly change it for every thread)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(f)`` on a binary temp file beside ``path``, fsync it, give it mode 0666 less the umask
    (``mkstemp`` makes it 0600), and rename it to ``path``. The temp file is removed if anything fails;
    ``OSError`` from creating it propagates."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with naming(path), os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def existing_ancestor(path: str | os.PathLike) -> Path:
    """The nearest folder above ``path`` that exists, or a file standing where a folder of it should be
    (what decides whether ``path`` can be written: its permissions, or that it is a file)."""
    return next((p for p in Path(path).parents if p.exists()), Path("."))


@contextlib.contextmanager
def naming(path: str | os.PathLike) -> Iterator[None]:
    """An ``OSError`` raised inside without a file name (a write, flush or fsync on a file already open: a
    full disk, a quota, a file made read-only) is raised again naming ``path``, so that the error line
    says which file failed."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise type(exc)(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) from exc
        raise


_APPEND, _NEW = os.O_WRONLY | os.O_APPEND | os.O_CREAT, os.O_WRONLY | os.O_CREAT | os.O_EXCL
_IN_PLACE = {"a": _APPEND, "ab": _APPEND, "r+b": os.O_RDWR, "w": _NEW, "wb": _NEW}


def open_in_place(path: str | os.PathLike, mode: str, *, encoding: str | None = None):
    """``open(path, mode)`` for a file of a run folder written in place (``a``/``ab``: appended, ``r+b``:
    cut, ``w``/``wb``: a new file, in place of one that stands there, such as a temp file a kill left),
    which never writes through a symbolic link: a link there (a run folder copied or unpacked with its
    links) is an ``OSError`` (ELOOP), or with ``w``/``wb`` removed, instead of a write to the file it names,
    which may be anyone's. Permissions as ``open`` gives them."""
    if mode in ("w", "wb"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)            # a file, or a link (removed, not followed); a folder: its error
    fd = os.open(path, _IN_PLACE[mode] | getattr(os, "O_NOFOLLOW", 0), 0o666)
    try:
        return os.fdopen(fd, mode, encoding=encoding)
    except BaseException:
        os.close(fd)
        raise
