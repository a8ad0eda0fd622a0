"""An MPI client (rank >= 1): evaluates the server's jobs until it is told to stop.

The client survives its evaluator's errors: an exception becomes a :class:`~workers.protocol.Reply`
with a :class:`~workers.protocol.ClientError` (type, message, traceback, rank, host) and the client
takes the next job. While a job runs, a second thread sends the server a heartbeat every
``job.heartbeat`` seconds (when the MPI library is thread-safe, ``MPI_THREAD_MULTIPLE``, as mpi4py asks
for by default), so the server can tell a long training from a dead client.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass, replace

from alphax import environment
from alphax.errors import AlphaXError, first_line
from alphax.searchers.base import Result
from workers.protocol import (KEEPALIVES_PER_TIMEOUT, SERVER, SERVER_TIMEOUT, CannotStart, ClientError, Heartbeat,
                              Job, Leaving, Ready, Reply, Stopped, Tag)

__all__ = ["ClientStats", "Leave", "MAX_SIMULATE_TIME", "SimulatedTime", "cannot_start", "leave_on_signal",
           "send_leaving", "serve"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClientStats:
    jobs: int
    errors: int
    busy: float
    """Seconds spent on jobs (receipt to reply)."""
    wall: float
    """Seconds from the first job's receipt to the stop."""
    finalize: bool = True
    """False when the server's ``Stop`` says so (a client was lost) or when this client left on a signal:
    exit without ``MPI_Finalize``."""
    left: int | None = None
    """The signal (SIGTERM, SIGINT) on which this client left the farm, or None."""


class ServerSilent(AlphaXError):
    """No word from the server: within ``--startup-timeout`` of this client's ``Ready``, or later for
    ``--server-timeout`` seconds while it waits for work."""


class Leave(BaseException):
    """Raised by the SIGTERM/SIGINT handler of :func:`leave_on_signal` wherever the client is (starting,
    waiting, evaluating)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def leave_on_signal():
    """SIGTERM/SIGINT raise :class:`Leave` (main thread only; the old handlers come back after).
    ``run_client.py`` holds it from before it loads its data (seconds for a table, longer for CIFAR-10), so
    that a client stopped while starting leaves with a status too: MPICH's Hydra ends the whole job when a
    process dies by a signal."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum, frame):
        raise Leave(signum)

    old = {sig: signal.signal(sig, leave) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


MAX_SIMULATE_TIME = 1000.0
"""The largest ``--simulate-time``: a NASBench-101 cell's recorded training time (up to about 1.5 hours)
x 1000 is 2 months; far enough past that, the sleep overflows the platform's time, and every cell would
be a failed result."""


class SimulatedTime:
    """Wraps an evaluator and sleeps ``scale`` x the recorded training time of each result (the
    table's ``training_time``), so that a table look-up occupies the client like real training."""

    def __init__(self, evaluator, scale: float):
        if not 0 <= scale <= MAX_SIMULATE_TIME:
            raise ValueError(f"--simulate-time must be in 0..{MAX_SIMULATE_TIME:g}, got {scale!r}")
        self.evaluator, self.scale = evaluator, scale

    def evaluate(self, cell) -> Result:
        result = self.evaluator.evaluate(cell)
        seconds = float(result.info.get("training_time") or result.seconds or 0.0) * self.scale
        time.sleep(seconds)
        return replace(result, seconds=seconds)

    def candidates(self):
        return self.evaluator.candidates()

    def describe(self) -> str:
        return f"{self.evaluator.describe()}, sleeping {self.scale:g} x its training time"

    def device_id(self) -> str | None:
        return self.evaluator.device_id()


def serve(evaluator, space, *, name: str, device: str | None = None, comm=None, poll: float = 0.0005,
          signature: dict | None = None, startup_timeout: float | None = 600.0,
          server_timeout: float | None = SERVER_TIMEOUT) -> ClientStats:
    """Answer jobs from the server until a ``Stop``. ``evaluator.evaluate(cell) -> Result``;
    ``space.from_json`` turns a job's cell into the evaluator's cell; ``name`` (sent with ``Ready``) says
    what evaluates, for the server's log (``evaluator.describe()``), ``device`` the GPU it evaluates on
    (``evaluator.device_id()``: the server warns of two clients on one), and ``signature`` how, for the
    server to check against its run. SIGTERM or SIGINT, while it waits or evaluates, makes it send ``Leaving``
    and return (``left`` set; exit without finalizing).
    Raises :class:`ServerSilent` when no message comes from the server within ``startup_timeout``
    seconds (None: no limit) of the ``Ready`` (a server that died at start), or, once it has answered,
    none for ``server_timeout`` seconds while this client waits for work (None: no limit; the server
    sends a ``KeepAlive`` every ``KEEPALIVES_PER_TIMEOUT``-th of it). Only the time spent waiting counts, and a
    pause of this process (SIGSTOP, a suspended batch job) counts as at most a second."""
    from mpi4py import MPI

    comm = comm if comm is not None else MPI.COMM_WORLD
    rank, host = comm.Get_rank(), MPI.Get_processor_name()
    worker = f"rank{rank}@{host}"
    can_beat = MPI.Query_thread() == MPI.THREAD_MULTIPLE
    status = MPI.Status()
    jobs = errors = 0
    busy = 0.0
    first = None
    try:
        with leave_on_signal():
            comm.send(Ready(rank=rank, host=host, evaluator=name, device=device, pid=os.getpid(),
                            heartbeat=can_beat, signature=signature, software=environment.software(),
                            keepalive=server_timeout / KEEPALIVES_PER_TIMEOUT if server_timeout else None),
                      dest=SERVER, tag=Tag.READY)
            heard = False
            deadline = time.monotonic() + startup_timeout if startup_timeout else float("inf")
            while True:
                _wait(comm, status, poll=poll, deadline=None if heard else deadline, startup_timeout=startup_timeout,
                      server_timeout=server_timeout if heard else None)
                heard = True
                tag = status.Get_tag()
                msg = comm.recv(source=SERVER, tag=tag)
                received = time.perf_counter()
                if tag in (Tag.ACCEPTED, Tag.KEEPALIVE):
                    continue
                if tag == Tag.STOP:
                    wall = received - first if first is not None else 0.0
                    log.info("%s: stop (%s) after %d jobs, %d errors, busy %.1f%%", worker, msg.reason, jobs,
                             errors, 100.0 * busy / wall if wall > 0 else 0.0)
                    if msg.finalize:        # the last message: the server finalizes once it has every one before
                        comm.send(Stopped(rank=rank), dest=SERVER, tag=Tag.STOPPED)
                    return ClientStats(jobs=jobs, errors=errors, busy=busy, wall=wall, finalize=msg.finalize)
                if tag != Tag.JOB or not isinstance(msg, Job):
                    log.warning("%s: ignoring unexpected message %r with tag %s", worker, type(msg).__name__, tag)
                    continue
                first = received if first is None else first
                beating = _heartbeats(comm, rank, msg) if can_beat and msg.heartbeat else contextlib.nullcontext()
                with beating:
                    reply = _evaluate(evaluator, space, msg, rank=rank, host=host, worker=worker, received=received)
                errors += reply.error is not None
                jobs += 1
                busy += reply.busy
                comm.send(reply, dest=SERVER, tag=Tag.REPLY)
    except Leave as leave:
        log.warning("%s: %s: leaving the farm after %d jobs (the server requeues the job in hand)", worker,
                    signal.Signals(leave.signum).name, jobs)
        send_leaving(leave.signum, comm=comm)
        wall = time.perf_counter() - first if first is not None else 0.0
        return ClientStats(jobs=jobs, errors=errors, busy=busy, wall=wall, finalize=False, left=leave.signum)


def _wait(comm, status, *, poll: float, deadline: float | None, startup_timeout: float | None,
          server_timeout: float | None) -> None:
    """Wait until a message from the server is there to receive (``status`` says its tag). Raises
    :class:`ServerSilent` past ``deadline`` (the server's first word, ``time.monotonic()``; None: none
    due), or when ``server_timeout`` seconds go by without a word (None: no limit). Only the time spent
    waiting counts: a pause of this process (SIGSTOP) counts as at most a second."""
    from mpi4py import MPI

    silent, last = 0.0, time.monotonic()       # seconds waited without a word from the server
    while not comm.iprobe(source=SERVER, tag=MPI.ANY_TAG, status=status):
        now = time.monotonic()
        silent, last = silent + min(now - last, 1.0), now
        if deadline is not None and now > deadline:
            raise ServerSilent(
                f"no word from the server (rank {SERVER}) in the {startup_timeout:g} s since this "
                f"client was ready (--startup-timeout): it died or hangs at start; see its output "
                f"(and its run folder's log.txt), then start the job again (run_server.py --resume "
                f"DIR if it made its run folder)")
        if server_timeout and silent > server_timeout:
            raise ServerSilent(
                f"no word from the server (rank {SERVER}) in the {server_timeout:g} s this client "
                f"has waited for work (--server-timeout; it was asked for a keep-alive every "
                f"{server_timeout / KEEPALIVES_PER_TIMEOUT:g} s): it died (SIGKILL, the OOM killer) "
                f"or hangs; see its output and its run folder's log.txt, then continue with "
                f"run_server.py --resume DIR")
        time.sleep(poll)


def send_leaving(signum: int, *, comm=None) -> None:
    """Tell the server that this client leaves the farm on ``signum`` (before or after its ``Ready``)."""
    from mpi4py import MPI

    comm = comm if comm is not None else MPI.COMM_WORLD
    comm.send(Leaving(rank=comm.Get_rank(), host=MPI.Get_processor_name(), reason=signal.Signals(signum).name),
              dest=SERVER, tag=Tag.LEAVING)


def cannot_start(message: str, *, comm=None, wait: float = 600.0, poll: float = 0.01) -> bool:
    """Tell the server that this client cannot start (instead of ``Ready``) and wait up to ``wait``
    seconds for its ``Stop``. True if it came: the client may then exit normally (an ``MPI_Abort`` can
    end the job before mpiexec has passed on the client's last output); False if the server never
    answered (abort the job)."""
    from mpi4py import MPI

    comm = comm if comm is not None else MPI.COMM_WORLD
    comm.send(CannotStart(rank=comm.Get_rank(), host=MPI.Get_processor_name(), message=message),
              dest=SERVER, tag=Tag.CANNOT_START)
    end = time.perf_counter() + wait
    while time.perf_counter() < end:
        if comm.iprobe(source=SERVER, tag=Tag.STOP):
            comm.recv(source=SERVER, tag=Tag.STOP)
            return True
        time.sleep(poll)
    return False


@contextlib.contextmanager
def _heartbeats(comm, rank: int, job: Job):
    """Send ``Heartbeat(rank, job.id)`` every ``job.heartbeat`` seconds from a thread while the body runs
    (at most ``threading.TIMEOUT_MAX``, about 292 years: a longer wait is an OverflowError in the thread)."""
    done = threading.Event()
    every = min(job.heartbeat, threading.TIMEOUT_MAX)

    def beat() -> None:
        while not done.wait(every):
            comm.send(Heartbeat(rank=rank, job_id=job.id), dest=SERVER, tag=Tag.HEARTBEAT)

    thread = threading.Thread(target=beat, name=f"alphax-heartbeat-{job.id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def _evaluate(evaluator, space, job: Job, *, rank: int, host: str, worker: str, received: float) -> Reply:
    try:
        result = evaluator.evaluate(space.from_json(job.cell))
        result = replace(result, worker=worker)
        return Reply(job_id=job.id, rank=rank, host=host, busy=time.perf_counter() - received, result=result)
    except Exception as exc:  # noqa: BLE001 - any evaluation error travels back; the client keeps serving
        log.warning("%s: job %d (attempt %d%s) raised %s: %s", worker, job.id, job.attempt,
                    f", the server waits {job.timeout:g} s" if job.timeout else "", type(exc).__name__, first_line(exc))
        err = ClientError(rank=rank, host=host, type=type(exc).__name__, message=first_line(exc),
                          traceback=traceback.format_exc())
        return Reply(job_id=job.id, rank=rank, host=host, busy=time.perf_counter() - received, error=err)
