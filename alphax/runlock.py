"""One process at a time per run folder: an advisory lock on ``run.lock`` (POSIX ``flock``).

Two processes appending to one ``results.jsonl`` (two ``alphax search --resume DIR`` started at once, or a
resume beside a live MPI server) would interleave their rows and leave a log no resume can read. A run
takes the lock before it writes anything and holds it until it is closed; the kernel drops it when the
process dies, however it dies, so a killed run never leaves a stale lock behind. The file stays (it
holds the pid of the last holder, for the error message); removing it is harmless when no run is open.
A file system that answers no flock at all (Lustre mounted without ``-o flock``) leaves the folder
unlocked, with a warning: no waiting would end an "in use" error there.
"""

from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

from alphax.errors import CheckpointError

try:
    import fcntl
except ImportError:          # not POSIX (no fcntl): the run folder is not locked (README, run.lock)
    fcntl = None

__all__ = ["LOCK", "COMPARE_LOCK", "RunLock", "LockHeld", "Unwritable", "holder"]

log = logging.getLogger(__name__)
_WARNED = False
"""This process has warned of a file system without flock (once is enough: a comparison locks each run)."""


class LockHeld(CheckpointError):
    """The folder's lock is held by another process (not a lock that cannot be taken at all)."""


class Unwritable(CheckpointError):
    """The folder is not this user's to write (a colleague's run on shared storage): no lock file there."""


LOCK = "run.lock"
COMPARE_LOCK = "compare.lock"
"""The lock file of a run folder, and of a compare folder (held by the one ``alphax compare`` that has it)."""


class RunLock:
    """``RunLock(folder)`` takes the folder's lock (the file ``name``) or raises :class:`CheckpointError`
    naming the process that holds it and the way on (``then``), or :class:`Unwritable` where this user
    may not write the folder, with the way on there (``unwritable``); ``release()`` (idempotent) gives it
    back."""

    def __init__(self, folder: str | os.PathLike, *, name: str = LOCK, then: str = "resume",
                 unwritable: str = "choose another --out"):
        self.path = Path(folder) / name
        if self.path.is_symlink():       # its pid would be written into whatever file the link names
            raise CheckpointError(f"{self.path} is a symbolic link, not the lock file a run writes: remove it "
                                  f"(nothing was written), then {then}")
        try:
            self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except PermissionError:
            what = (f"{self.path} is a file you cannot write" if os.access(self.path.parent, os.W_OK | os.X_OK)
                    else f"{self.path.parent} is a folder you cannot write")       # a lock file made read-only
            raise Unwritable(f"{what} (permission denied): {unwritable} (nothing was written)") from None
        if fcntl is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):     # no flock there at all: go on unlocked
                self._unlocked(exc)
                return
            holder = os.pread(self._fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(self._fd)
            self._fd = None
            raise LockHeld(f"{self.path.parent} is in use by another alphax process (pid {holder}); "
                           f"wait for it to end or stop it, then {then}") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def _unlocked(self, exc: OSError) -> None:
        global _WARNED
        if not _WARNED:
            _WARNED = True
            log.warning("cannot lock %s (%s: its file system does not support flock, as Lustre mounted without "
                        "-o flock): the folder is not locked, so let no other alphax process open it while this "
                        "one runs", self.path, exc.strerror or exc)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)           # closing the descriptor drops the flock
            self._fd = None


def holder(folder: str | os.PathLike, *, name: str = LOCK) -> int | None:
    """The pid of the process that has ``folder`` open now (holds its lock file ``name``), from the
    kernel's table of locks (``/proc/locks``); None when none does, or where that cannot be told (no such
    table: not Linux; a file system that names the file otherwise there, as overlayfs may). It only reads:
    taking the lock to test it could make a run that starts at that moment find its folder in use."""
    try:
        st = os.stat(Path(folder) / name, follow_symlinks=False)
        with open("/proc/locks") as f:
            table = f.read()
    except OSError:
        return None
    where = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in table.splitlines():
        fields = line.split()         # "1: FLOCK  ADVISORY  WRITE 8174 fe:00:2146333 0 EOF" ("->": a waiter)
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == where:
            try:
                return int(fields[4])
            except ValueError:
                return None
    return None
