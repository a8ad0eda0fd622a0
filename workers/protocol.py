"""The messages between the MPI server (rank 0) and its clients (ranks >= 1), and their tags.

Every message is a frozen dataclass sent pickled with ``comm.send(msg, dest=..., tag=Tag.X)``; the tag
says which dataclass it is. A client says :class:`Ready` once, then answers each :class:`Job` with one
:class:`Reply` (a result, or the error that its evaluation raised) until it receives :class:`Stop`.
While it evaluates a job that asks for them, it sends a :class:`Heartbeat` every ``job.heartbeat``
seconds from a second thread, so that the server tells a long training from a dead client.

::

    client                    server
      |  ---- Ready -------->   |
      |  <--- Accepted ------   |   (its Ready checked; a client without it in --startup-timeout ends the job)
      |  <--- Job(id) -------   |
      |  ---- Heartbeat(id) ->  |   (every job.heartbeat seconds while it evaluates)
      |  ---- Reply(id) ---->   |   (result or error, never both)
      |        ...              |
      |  <--- KeepAlive -----   |   (every Ready.keepalive seconds while the client waits for work)
      |  <--- Stop ----------   |   (sent to every client in a ``finally:``)
      |  ---- Stopped ------>   |   (when the Stop says to finalize: the client's last message)

A client that cannot start (bad options, missing data) sends :class:`CannotStart` instead of ``Ready``:
the server ends the job with its message, and the client exits after the server's ``Stop``. A run that
ends well ends with ``MPI_Finalize`` everywhere, which MPICH refuses while a message sent to a process is
unreceived ("Communicator ... being freed has N unmatched message(s)"; the others then wait for that
process in theirs for ever): so each client answers its ``Stop`` with :class:`Stopped`, after which it
sends nothing, and the server receives every client's messages up to it (a ``Ready`` it had not read yet:
a run resumed already finished stops its clients before it hears them) before it finalizes. A client
told to stop (SIGTERM, SIGINT) sends :class:`Leaving` and exits (status 0), not by the signal (MPICH's
Hydra ends the whole job when a process dies by a signal): the server requeues its job and goes on.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from enum import IntEnum

from alphax.searchers.base import Result

__all__ = ["SERVER", "Tag", "Ready", "Accepted", "CannotStart", "Leaving", "Job", "Heartbeat", "ClientError",
           "Reply", "Stop", "Stopped", "KeepAlive", "KEEPALIVES_PER_TIMEOUT", "SERVER_TIMEOUT", "TAG_OF",
           "flush_logs", "exit_without_finalize", "abort_job", "ABORT_GRACE", "launcher_mismatch"]

SERVER = 0
"""The server's rank in ``MPI.COMM_WORLD``."""


class Tag(IntEnum):
    """MPI tags (small non-negative ints, valid on every MPI)."""

    READY = 1
    JOB = 2
    REPLY = 3
    STOP = 4
    HEARTBEAT = 5
    CANNOT_START = 6
    LEAVING = 7
    ACCEPTED = 8
    KEEPALIVE = 9
    STOPPED = 10


@dataclass(frozen=True)
class Ready:
    """A client has started and can take jobs."""

    rank: int
    host: str
    evaluator: str
    """What evaluates, in words (``Evaluator.describe``: ``train on cuda:1 (NVIDIA H100 80GB HBM3)``), for the
    server's log."""
    pid: int
    device: str | None = None
    """The GPU it evaluates on, as CUDA's UUID of it (``Evaluator.device_id``; None: a table, the CPU):
    the server warns of two clients on one GPU."""
    heartbeat: bool = False
    """Whether this client can send heartbeats (its MPI library runs with ``MPI_THREAD_MULTIPLE``)."""
    signature: dict | None = None
    """How it evaluates (``alphax.registry.evaluator_signature``); the server refuses one unlike its run's."""
    keepalive: float | None = None
    """Seconds between the :class:`KeepAlive` messages it asks for while it waits for work (None: none)."""
    software: dict | None = None
    """What it runs on (``alphax.environment.software``); the server warns of other software than its own."""


SERVER_TIMEOUT = 120.0
"""Default seconds a client waits for work without a word from the server (``--server-timeout``); it
asks for a :class:`KeepAlive` every :data:`KEEPALIVES_PER_TIMEOUT`-th of it."""
KEEPALIVES_PER_TIMEOUT = 4


@dataclass(frozen=True)
class KeepAlive:
    """The server is alive, with no work for this client yet. A client that waits for work and hears
    nothing from the server for its ``--server-timeout`` (it died by SIGKILL or the OOM killer, or
    hangs: MPICH's Hydra may leave it unreaped) ends the job instead of holding its nodes for ever."""


@dataclass(frozen=True)
class Accepted:
    """The server has taken the client in (its :class:`Ready` checked against the run). Until then the
    client waits at most its ``--startup-timeout``: a server that died at start (which MPICH's Hydra may
    not notice) would otherwise keep the job alive for ever. After it, the client waits for jobs as long
    as the run lasts (another client's training may take hours before this one gets work or a Stop),
    provided the server's :class:`KeepAlive` messages keep coming."""


@dataclass(frozen=True)
class CannotStart:
    """A client could not start (``message`` says why and what to do): the server stops the job with it."""

    rank: int
    host: str
    message: str


@dataclass(frozen=True)
class Leaving:
    """Client ``rank`` was told to stop (SIGTERM, SIGINT) and exits: the server requeues its job at once."""

    rank: int
    host: str
    reason: str


@dataclass(frozen=True)
class Job:
    """Evaluate ``cell`` (the space's JSON form). ``heartbeat`` is the interval at which the server wants a
    :class:`Heartbeat` while the job runs (None: none). ``attempt`` (dispatches of the same job id, > 1
    after a requeue) and ``timeout`` (the server's deadline for the reply, in seconds; the server enforces
    it) are for the client's log of an evaluation that fails."""

    id: int
    cell: dict
    attempt: int = 1
    timeout: float | None = None
    heartbeat: float | None = None


@dataclass(frozen=True)
class Heartbeat:
    """Client ``rank`` is alive and still evaluating job ``job_id``."""

    rank: int
    job_id: int


@dataclass(frozen=True)
class ClientError:
    """An exception raised by a client's evaluation, with where it happened."""

    rank: int
    host: str
    type: str
    message: str
    traceback: str

    def describe(self) -> str:
        return f"{self.type}: {self.message} (client rank {self.rank} on {self.host})"


@dataclass(frozen=True)
class Reply:
    """The answer to job ``job_id``: exactly one of ``result`` and ``error`` is set. ``busy`` is the
    client's wall time on the job, from receiving it to sending this reply."""

    job_id: int
    rank: int
    host: str
    busy: float
    result: Result | None = None
    error: ClientError | None = None

    def __post_init__(self):
        if (self.result is None) == (self.error is None):
            raise ValueError("a Reply carries exactly one of result and error")


@dataclass(frozen=True)
class Stop:
    """No more jobs: the client returns. ``finalize`` is False after a finished run in which a
    client was lost: ``MPI_Finalize`` would then wait for it forever, so every survivor exits without it
    (after an error or an interruption the server aborts the job instead, and ``finalize`` stays True)."""

    reason: str = "done"
    finalize: bool = True


@dataclass(frozen=True)
class Stopped:
    """A client's answer to a :class:`Stop` that says to finalize, and its last message: the server has
    received everything the client sent once it has received this."""

    rank: int


TAG_OF = {Ready: Tag.READY, Accepted: Tag.ACCEPTED, Job: Tag.JOB, Reply: Tag.REPLY, Stop: Tag.STOP,
          Stopped: Tag.STOPPED, Heartbeat: Tag.HEARTBEAT, CannotStart: Tag.CANNOT_START, Leaving: Tag.LEAVING,
          KeepAlive: Tag.KEEPALIVE}
"""The tag each message type is sent with (every send names its tag itself; the tests check that these are
distinct, valid MPI tags)."""


def flush_logs() -> None:
    """Flush logging and the standard streams before the process is ended from outside Python's exit."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()


def exit_without_finalize(code: int) -> None:
    """Exit now, skipping ``MPI_Finalize``: it would wait forever for a process of the job that was lost."""
    flush_logs()
    os._exit(code)


ABORT_GRACE = 1.0
"""Seconds between flushing a process's last lines and ``MPI_Abort``. mpiexec (MPICH's hydra) passes on
a process's output as it reads it, and an abort can end the job before it has read the last lines. In
the MPI tests under CPU load, 2 of about 75 jobs ended by an abort lost the error that explained it
without this pause; none of 60 with it."""


def abort_job(comm, code: int) -> None:
    """End every process of the job with ``code`` (``MPI_Abort``), after flushing this process's output
    and giving mpiexec :data:`ABORT_GRACE` seconds to pass it on."""
    flush_logs()
    if threading.current_thread() is threading.main_thread():
        # the job ends in a second: a signal now (a stop's second copy) would end this process instead,
        # with its own exit status (15, or 2 and a KeyboardInterrupt traceback), not ``code``
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
    time.sleep(ABORT_GRACE)
    for path in hydra_topology_files(os.getppid()):
        # MPICH's Hydra deletes it when the job ends, but not after MPI_Abort: one file in /tmp per job
        try:
            os.unlink(path)
        except OSError:
            pass
    comm.Abort(code)


def hydra_topology_files(pid: int) -> list[str]:
    """The hwloc topology files (``/tmp/hydra_hwloc_xmlfile_*``) that process ``pid`` holds open: this
    process's parent, when it is MPICH's Hydra proxy. Nothing where ``/proc`` does not tell."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return []
    found = []
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:                  # closed meanwhile
            continue
        if os.path.basename(target).startswith("hydra_hwloc_xmlfile_"):
            found.append(target)
    return found


LAUNCHER_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
"""Where MPICH's Hydra (and other PMI launchers) and Open MPI's mpiexec tell a process how many they started."""


def launcher_mismatch(comm) -> str | None:
    """Why the job looks like a world of one process, when the launcher started more: ``mpiexec`` on PATH
    belongs to another MPI than the one mpi4py uses, so every process starts alone (rank 0 of 1). None
    when the sizes agree or no launcher says.
    """
    size = comm.Get_size()
    for var in LAUNCHER_SIZE_VARS:
        started = os.environ.get(var, "")
        if started.isdigit() and int(started) > size:
            from mpi4py import MPI

            library = MPI.Get_library_version().strip().splitlines()[0].strip()
            own = os.path.join(sys.prefix, "bin", "mpiexec")
            which = own if os.access(own, os.X_OK) else "the mpiexec of that MPI"
            return (f"mpiexec started {started} processes ({var}={started}) but MPI sees {size}: the mpiexec "
                    f"on PATH ({shutil.which('mpiexec') or 'none'}) does not belong to the MPI that mpi4py uses "
                    f"({' '.join(library.split())}); launch with {which}")
    return None
