"""The MPI server (rank 0): keeps every client busy with the searcher's proposals.

The server owns no run-folder logic: it drives a *run* (``alphax.run``), the same object that
``alphax search`` drives inline, so the run folder (``config.json``, ``results.jsonl``, checkpoints) and
``--resume DIR`` are identical. The run needs:

- ``run.searcher`` (``ask(n)`` / ``tell``), ``run.space`` (``to_json``),
- ``run.remaining``: how many results are still to be recorded before the budget is reached,
- ``run.record(proposal, result)``: append the result to ``results.jsonl`` (fsynced), tell the
  searcher, checkpoint when due,
- with a progress display: ``run.config.budget``, ``run.n``, ``run.best`` and ``run.progress_label()``.

The loop, with non-blocking probes only (so that a dead client is found by its missing heartbeats or
its job's deadline, never waited for):

1. drain every waiting message: ``Ready`` makes a client idle (``CannotStart`` ends the job with the
   client's message; ``Leaving``, from a client told to stop, marks it lost and requeues its job at
   once); a ``Reply`` is accepted if its job is
   still open (the first answer wins; a late duplicate from a timed-out client is counted and dropped);
   a client's error becomes a failed result carrying rank, host and traceback (never retried);
2. expire jobs whose client is gone: past the job's deadline (``job_timeout``, none by default), or
   silent for ``heartbeat_timeout`` seconds (a client sends a heartbeat every sixth of it while it
   evaluates, so a long training is not mistaken for a dead client). The client is marked lost and the
   job requeued, up to ``max_attempts`` dispatches, after which it is recorded as failed;
3. dispatch: requeued jobs first, then proposals asked ahead, then ``ask(n)`` for the remaining idle
   clients (AlphaX backs each in-flight proposal up with its predicted value);
4. record the accepted results in a background thread (``run.record``: log, tell, checkpoint), so the
   loop keeps receiving and dispatching while the searcher retrains its predictor inside ``tell``. The
   searcher is used by one thread at a time: while a batch records, the loop dispatches only proposals
   asked ahead before it (a few per client, sized by how long recording recently took).

``Stop`` goes to every client in a ``finally:``, after the results received have been recorded; after a
finished run, each client answers with ``Stopped`` and the server receives everything up to it, so that
``MPI_Finalize`` finds no message unreceived (MPICH fails it then, and the clients wait in theirs for ever).
The ``stop`` callable (SIGTERM/SIGINT in ``run_server.py``) ends the loop at the top of a turn.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Callable

from alphax import environment
from alphax.atomic import write_atomic
from alphax.errors import AlphaXError
from alphax.searchers.base import Proposal, Result
from workers.protocol import (Accepted, CannotStart, Heartbeat, Job, KeepAlive, Leaving, Ready,
                              Reply, Stop, Tag)

__all__ = ["FarmError", "FarmStats", "open_hearing_clients", "serve", "stop_clients"]

log = logging.getLogger(__name__)

MAX_AHEAD = 4
"""At most this many proposals per client are asked ahead of the results being recorded."""
HEARTBEAT_TIMEOUT = 60.0
"""Default seconds of silence after which a busy client is taken for dead (``--heartbeat-timeout``)."""
BEATS_PER_TIMEOUT = 6
"""Heartbeats a client sends per ``heartbeat_timeout`` while it evaluates."""
CLIENT_SOFTWARE = tuple(key for key in environment.COMPARED if key != "cpu")
"""What a client's software is compared on with the server's: what a resume compares
(``alphax.environment.COMPARED``) but the CPU, in which a farm's nodes may differ, and on which training
on a GPU does not depend."""
STOPPED_WAIT = 10.0
"""Seconds a finished farm waits for a client that had said ``Ready`` to answer ``Stop`` (one that had not
may still be starting: it gets what is left of ``--startup-timeout``)."""


class FarmError(AlphaXError):
    """The farm cannot go on (no clients, every client lost)."""


@dataclass
class FarmStats:
    """What the farm did. ``busy`` maps a client rank to its seconds on jobs; ``server_seconds`` is the
    dispatch loop's own work (receiving, asking, dispatching), without waiting; ``ask_seconds`` is the
    part in the searcher's ``ask``; ``record_seconds`` is the recorder thread's time in ``run.record``
    (log, tell, checkpoint), which overlaps the loop. ``failures``: results logged as failed;
    ``timed_out``: jobs whose client was taken for lost (past ``--job-timeout`` or silent past
    ``--heartbeat-timeout``); ``lost``: the clients still lost at the end, and ``left`` those of them that
    said they left (SIGTERM, SIGINT); ``abandoned``: the clients
    still evaluating at the end of a finished run, a copy of a job another client answered (one requeued
    from a client taken for lost, whose answer came after all)."""

    clients: int = 0
    results: int = 0
    failures: int = 0
    duplicates: int = 0
    requeued: int = 0
    timed_out: int = 0
    lost: list = field(default_factory=list)
    left: list = field(default_factory=list)
    abandoned: list = field(default_factory=list)
    wall: float = 0.0
    server_seconds: float = 0.0
    ask_seconds: float = 0.0
    record_seconds: float = 0.0
    busy: dict = field(default_factory=dict)

    @property
    def busy_fraction(self) -> float:
        """Mean over clients of busy time / wall time of the farm."""
        if not self.clients or self.wall <= 0:
            return 0.0
        return sum(self.busy.values()) / (self.clients * self.wall)

    @property
    def silent(self) -> list:
        """The lost clients that did not say they left: taken for lost, and perhaps still running."""
        return [r for r in self.lost if r not in self.left]

    def to_json(self) -> dict:
        out = asdict(self)
        out["busy"] = {str(k): v for k, v in self.busy.items()}
        out["busy_fraction"] = self.busy_fraction
        out["results_per_second"] = self.results / self.wall if self.wall > 0 else 0.0
        out["server_seconds_per_result"] = self.server_seconds / self.results if self.results else 0.0
        return out


@dataclass
class _Open:
    proposal: Proposal
    cell: dict
    attempts: int = 0


TURN_AT_MOST = 1.0
"""Seconds that one stretch of the server's loop counts at most on the clock its clients' heartbeats and
job deadlines are timed by (:meth:`_Farm._clock`). The loop turns every millisecond or so; a longer stretch
is the server stopped (SIGSTOP, a suspended batch job, a frozen VM) or busy (an ask that refits the
meta-DNN), and its clients' heartbeats and answers are waiting in its queue, unread: that time is not
theirs to answer for (as a client's own timers do not count a pause of the job against the server)."""


@dataclass
class _Assignment:
    job_id: int
    deadline: float
    request: object
    heard: float
    """When the client last showed it was alive on this job (dispatch, heartbeat), on the farm's clock."""


class _Farm:
    def __init__(self, run, comm, *, job_timeout: float | None, heartbeat_timeout: float | None, max_attempts: int,
                 startup_timeout: float, stop: Callable[[], bool] | None = None, progress=None):
        from mpi4py import MPI

        self.MPI, self.run, self.comm, self.stop = MPI, run, comm, stop
        self.progress = progress                  # alphax.progress.Progress, or None
        self.job_timeout, self.max_attempts, self.startup_timeout = job_timeout, max_attempts, startup_timeout
        self.heartbeat_timeout = heartbeat_timeout
        self.beating: set[int] = set()            # clients that send heartbeats
        self.clients = list(range(1, comm.Get_size()))
        self.ready: set[int] = set()
        self.host: dict[int, str] = {}
        self.gpu: dict[int, str] = {}             # per client, the GPU its Ready named (CUDA's UUID)
        self.idle: deque[int] = deque()
        self.lost: set[int] = set()
        self.left: set[int] = set()               # lost clients that said they left
        self.assigned: dict[int, _Assignment] = {}
        self.open: dict[int, _Open] = {}
        self.requeue: deque[int] = deque()
        self.accepted: list[tuple[Proposal, Result]] = []
        self.exhausted = False
        self.refused = False                      # a client could not start, or evaluates unlike the run
        self.next_id = 0
        self.first_dispatch: float | None = None
        self.ahead: deque[int] = deque()          # open jobs asked ahead, not dispatched yet
        self.recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alphax-record")
        self.recording: Future | None = None      # run.record of a batch, in the recorder thread
        self.recording_count = 0                  # of its results, those not recorded yet
        self.record_times: deque[float] = deque(maxlen=50)   # seconds the last batches took to record
        self.job_mean = 0.0                       # moving average of the clients' seconds per job
        self.keepalive_every: dict[int, float] = {}   # per client, as its Ready asked
        self.last_keepalive: dict[int, float] = {}
        self.keepalives: list = []                # KeepAlive sends not yet complete
        self.stats = FarmStats(clients=len(self.clients), busy={r: 0.0 for r in self.clients})
        self.awake, self._last_tick = 0.0, time.perf_counter()    # the clock of :meth:`_clock`

    def _clock(self) -> float:
        """Seconds the server has been awake to hear its clients: real time, but each stretch between two
        readings counts at most :data:`TURN_AT_MOST`. Heartbeats and job deadlines are timed on it."""
        now = time.perf_counter()
        self.awake += min(now - self._last_tick, TURN_AT_MOST)
        self._last_tick = now
        return self.awake

    # -- the loop ------------------------------------------------------------------------------
    def loop(self) -> None:
        if not self.clients:
            raise FarmError("no clients: launch with 'mpiexec -n 1 python run_server.py ... : "
                            "-n K python run_client.py ...' (K >= 1)")
        # what every client's Ready must match, computed once before the clock starts (a table's includes a
        # digest of every cell's value), so that server_seconds is the loop's own work
        self.signature = getattr(self.run, "signature", None)
        self.cifar_from = "that of its results"       # or, with none yet, the first client's (_check_signature)
        start = time.perf_counter()
        try:
            self._turns(self._clock())
        finally:
            self.stats.wall = time.perf_counter() - (self.first_dispatch or start)

    def _turns(self, start: float) -> None:
        wait = 0.0
        while not self._done():
            # a stop as the last results are recorded: the run is complete once they are (they are; so it ends)
            if self.stop is not None and self.stop() and not self._complete_once_recorded():
                log.warning("stopping: %d results recorded, %d open jobs dropped (%d being evaluated, the others "
                            "asked ahead or requeued; they are proposed again on --resume)",
                            self._received(), len(self.open),
                            len(self.assigned))
                raise KeyboardInterrupt
            t0 = time.perf_counter()
            progressed = self._drain()
            now = self._clock()
            progressed |= self._expire(now)
            self._check_alive(now - start)
            progressed |= self._dispatch()
            progressed |= self._record()
            self._keep_alive(t0)
            if progressed:
                self.stats.server_seconds += time.perf_counter() - t0
                wait = 0.0
            else:
                wait = min(0.001, wait + 0.0001)
                time.sleep(wait)

    def _keep_alive(self, now: float) -> None:
        """:class:`KeepAlive` to each client that waits for work, as often as its ``Ready`` asked."""
        self.keepalives = [q for q in self.keepalives if not q.Test()]
        for r in self.idle:
            every = self.keepalive_every.get(r)
            if every and r not in self.lost and now - self.last_keepalive.get(r, 0.0) >= every:
                self.last_keepalive[r] = now
                self.keepalives.append(self.comm.isend(KeepAlive(), dest=r, tag=Tag.KEEPALIVE))

    def _complete_once_recorded(self) -> bool:
        """The results received complete the run: the budget, or every cell of the searcher's."""
        return self.run.remaining - self.recording_count - len(self.accepted) <= 0 or (self.exhausted and not self.open)

    def _done(self) -> bool:
        return self.recording is None and not self.accepted and self._complete_once_recorded()

    def _drain(self) -> bool:
        status = self.MPI.Status()
        got = False
        while self.comm.iprobe(source=self.MPI.ANY_SOURCE, tag=self.MPI.ANY_TAG, status=status):
            source, tag = status.Get_source(), status.Get_tag()
            msg = self.comm.recv(source=source, tag=tag)
            got = True
            if source in self.lost and tag == Tag.REPLY:
                # only an answer brings a lost client back: one past its deadline still sends heartbeats
                # from its second thread while its evaluation hangs
                log.warning("client %d is back (it was lost)", source)
                self.lost.discard(source)
            if tag == Tag.READY and isinstance(msg, Ready):
                self._check_signature(source, msg)        # a client that evaluates unlike the run is refused
                self.comm.send(Accepted(), dest=source, tag=Tag.ACCEPTED)
                log.info("client %d ready on %s (pid %d): %s", msg.rank, msg.host, msg.pid, msg.evaluator)
                other = environment.differences(msg.software or {}, environment.software(),
                                                keys=CLIENT_SOFTWARE, now_is="server:")
                if other:       # its results are trained (or looked up) by that software
                    log.warning("client %d on %s runs other software than the server: %s", msg.rank, msg.host,
                                "; ".join(other))
                self._same_gpu(source, msg)
                self.confirm_run()
                self.ready.add(source)
                self.host[source] = msg.host
                self.idle.append(source)
                if msg.heartbeat:
                    self.beating.add(source)
                if msg.keepalive:
                    self.keepalive_every[source] = msg.keepalive
                    self.last_keepalive[source] = time.perf_counter()
            elif tag == Tag.REPLY and isinstance(msg, Reply):
                self._reply(source, msg)
            elif tag == Tag.LEAVING and isinstance(msg, Leaving):
                self._leaving(source, msg)
            elif tag == Tag.CANNOT_START and isinstance(msg, CannotStart):
                self.refused = True
                raise _could_not_start(msg)
            elif tag == Tag.HEARTBEAT and isinstance(msg, Heartbeat):
                a = self.assigned.get(source)
                if a is not None and a.job_id == msg.job_id:
                    a.heard = self._clock()
            else:
                log.warning("ignoring message %r with tag %s from rank %d", type(msg).__name__, tag, source)
        return got

    def _same_gpu(self, source: int, msg: Ready) -> None:
        """Warn of a client on the GPU of another client still in the farm: each then trains slower (and
        its results' training times say so). A client's GPU is its ``local rank % GPUs``, so more client
        tasks on a node than GPUs share them; so do tasks to which ``CUDA_VISIBLE_DEVICES`` shows the same
        single GPU (each its ``cuda:0``), which only the GPU's UUID tells apart from one GPU per task."""
        if not msg.device:
            return
        others = sorted(rank for rank, gpu in self.gpu.items() if gpu == msg.device and rank not in self.left)
        self.gpu[source] = msg.device
        if others:
            log.warning("client %d on %s trains on the same GPU as client%s %s (%s): they share it, so each "
                        "trains slower; give a node no more client tasks than it has GPUs, or each client its "
                        "own GPU (--device cuda:N, CUDA_VISIBLE_DEVICES)", msg.rank, msg.host,
                        "s" if len(others) > 1 else "", ", ".join(map(str, others)), msg.device)

    def confirm_run(self) -> None:
        """The run goes on (a client was accepted, or the budget is reached): a resumed run's config.json
        takes its new budget (``Run.confirm``; a run without it, such as a test double, has nothing to save)."""
        confirm = getattr(self.run, "confirm", None)
        if confirm is not None:
            confirm()

    def _leaving(self, source: int, msg: Leaving) -> None:
        """A client told to stop (SIGTERM, SIGINT) has left: it is lost, and its job goes back to the
        queue at once (the job is not to blame, so this dispatch does not count towards --max-attempts)."""
        started = source in self.ready
        self.lost.add(source)
        self.left.add(source)
        self.ready.add(source)
        if source in self.idle:
            self.idle.remove(source)
        a = self.assigned.pop(source, None)
        job = self.open.get(a.job_id) if a is not None else None
        if job is not None and a.job_id not in self.requeue:
            job.attempts -= 1
            self.requeue.append(a.job_id)
            self.stats.requeued += 1
        log.warning("client %d (%s) left on %s%s%s", source, self.host.get(source, msg.host), msg.reason,
                    "" if started else " before it was ready", f"; job {a.job_id} requeued" if job is not None else "")

    def _check_signature(self, source: int, ready: Ready) -> None:
        """A client must evaluate as the run says (its config.json): same space, table or training."""
        expected = self.signature
        got = ready.signature
        if expected is None or got is None or got == expected:
            return
        if expected.get("cifar_data", "") is None and got.get("cifar_data") is not None:
            # no training result logged yet says which images: the first client ready brings the run's
            expected["cifar_data"] = got["cifar_data"]
            self.cifar_from = f"client {source}'s, the first ready"
            log.info("training on CIFAR-10 images %s (client %d's; every client must have the same)",
                     got["cifar_data"], source)
            if got == expected:
                return
        from alphax.config import TRAIN_FLAG_OF as flags

        diff = [f"{key}: run {expected.get(key)!r}, client {got.get(key)!r}" for key in ("space", "evaluator")
                if expected.get(key) != got.get(key)]       # then the rest would differ as a matter of course
        for key in sorted(set(expected) | set(got)) if not diff else ():
            a, b = expected.get(key), got.get(key)
            if isinstance(a, dict) and isinstance(b, dict):
                diff += [f"{key}.{k}{f' ({flags[k]})' if key == 'train' and k in flags else ''}: run {a.get(k)!r}, "
                         f"client {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
            elif key == "cifar_data":
                if a != b:
                    diff.append(f"cifar_data: run {a!r} ({self.cifar_from}), client {b!r}: other CIFAR-10 images "
                                f"(give every client a copy of the same files)")
            elif key == "table_values":
                # only when nothing else differs: another eval_seed, data set or cell list changes it too
                if a != b and all(expected.get(k) == got.get(k) for k in set(expected) | set(got) if k != key):
                    diff.append("table's results: the same cells with other values (another file or version of "
                                "the data)")
            elif a != b:
                diff.append(f"{key}: run {a!r}, client {b!r}")
        self.refused = True
        raise FarmError(f"client {source} on {ready.host} does not evaluate as the run does: {'; '.join(diff)}. "
                        f"Give run_client.py the same space, table and training options as run_server.py")

    def _reply(self, source: int, reply: Reply) -> None:
        a = self.assigned.pop(source, None)
        if a is not None and a.job_id != reply.job_id:
            log.warning("client %d answered job %d while assigned job %d", source, reply.job_id, a.job_id)
        self.stats.busy[source] = self.stats.busy.get(source, 0.0) + reply.busy
        self.job_mean = reply.busy if self.job_mean <= 0 else 0.9 * self.job_mean + 0.1 * reply.busy
        if source not in self.idle:
            self.idle.append(source)
        job = self.open.pop(reply.job_id, None)
        if job is None:
            self.stats.duplicates += 1
            log.info("ignoring a late duplicate result of job %d from client %d", reply.job_id, source)
            return
        if reply.job_id in self.requeue:
            self.requeue.remove(reply.job_id)
        if reply.error is not None:
            err = reply.error
            log.warning("job %d failed on client %d: %s", reply.job_id, source, err.describe())
            result = Result(accuracy=None, seconds=reply.busy, worker=f"rank{err.rank}@{err.host}",
                            error=err.describe(),
                            info={"rank": err.rank, "host": err.host, "traceback": err.traceback})
        else:
            result = reply.result
        self.accepted.append((job.proposal, result))

    def _silent(self, rank: int, a: _Assignment, now: float) -> bool:
        return bool(self.heartbeat_timeout) and rank in self.beating and now - a.heard > self.heartbeat_timeout

    def _expire(self, now: float) -> bool:
        expired = {r: ("missed the %g s deadline" % self.job_timeout if a.deadline < now else
                       "sent no heartbeat for %g s" % self.heartbeat_timeout)
                   for r, a in self.assigned.items() if a.deadline < now or self._silent(r, a, now)}
        for rank, why in expired.items():
            a = self.assigned.pop(rank)
            self.lost.add(rank)
            self.stats.timed_out += 1
            job = self.open.get(a.job_id)
            host = self.host.get(rank, "?")
            log.warning("client %d (%s) %s of job %d: marked lost", rank, host, why, a.job_id)
            if job is None or a.job_id in self.requeue or self._running(a.job_id):
                continue
            if job.attempts >= self.max_attempts:
                del self.open[a.job_id]
                self.accepted.append((job.proposal, Result(
                    accuracy=None, seconds=now - a.heard, worker=f"rank{rank}@{host}",
                    error=f"lost {job.attempts} times, the last time because client {rank} {why} "
                          f"(--job-timeout {self.job_timeout}, --heartbeat-timeout {self.heartbeat_timeout}, "
                          f"--max-attempts {self.max_attempts})",
                    info={"rank": rank, "host": host})))
            else:
                self.requeue.append(a.job_id)
                self.stats.requeued += 1
        return bool(expired)

    def _running(self, job_id: int) -> bool:
        return any(a.job_id == job_id for a in self.assigned.values())

    def _check_alive(self, elapsed: float) -> None:
        if not self.ready and elapsed > self.startup_timeout:
            raise FarmError(f"no client said it was ready within {self.startup_timeout:.0f} s")
        # (once what is received completes the run, no client is needed: scancel's clients leave as it ends)
        if self.ready and self.lost >= set(self.clients) and not self.assigned and not self._complete_once_recorded():
            deadline = f"--job-timeout {self.job_timeout:g}" if self.job_timeout else "--job-timeout, none here"
            folder = getattr(self.run, "folder", None)
            raise FarmError(f"every client ({len(self.clients)}) is lost: each left (SIGTERM, SIGINT), missed its "
                            f"job's deadline ({deadline}) or its heartbeats stopped (--heartbeat-timeout "
                            f"{self.heartbeat_timeout or 0:g}); check the clients, then resume with "
                            f"run_server.py --resume {folder or 'DIR'}")

    def _dispatch(self) -> bool:
        idle = [r for r in self.idle if r not in self.lost]
        self.idle.clear()
        if not idle:
            return False
        jobs: list[int] = []
        for queue in (self.requeue, self.ahead):
            while queue and len(jobs) < len(idle):
                jobs.append(queue.popleft())
        if len(jobs) < len(idle) and self.recording is None:   # the searcher is ours while nothing records
            jobs += self._ask(len(idle) - len(jobs))
        for rank, job_id in zip(idle, jobs):
            self._send_job(rank, job_id)
        self.idle.extend(idle[len(jobs):])
        return bool(jobs)

    def _ask(self, n: int) -> list[int]:
        """Up to ``n`` new open jobs from the searcher, within the budget."""
        n = min(n, self.run.remaining - self.recording_count - len(self.accepted) - len(self.open))
        if n <= 0 or self.exhausted:
            return []
        t0 = time.perf_counter()
        proposals = self.run.checked(self.run.searcher.ask(n))
        self.stats.ask_seconds += time.perf_counter() - t0
        if len(proposals) < n:
            log.info("the searcher has no more cells to propose")
            self.exhausted = True
        ids = []
        for p in proposals:
            self.open[self.next_id] = _Open(proposal=p, cell=self.run.space.to_json(p.cell))
            ids.append(self.next_id)
            self.next_id += 1
        return ids

    def _send_job(self, rank: int, job_id: int) -> None:
        job = self.open[job_id]
        job.attempts += 1
        beat = self.heartbeat_timeout / BEATS_PER_TIMEOUT if self.heartbeat_timeout else None
        msg = Job(id=job_id, cell=job.cell, attempt=job.attempts, timeout=self.job_timeout, heartbeat=beat)
        request = self.comm.isend(msg, dest=rank, tag=Tag.JOB)
        if self.first_dispatch is None:
            self.first_dispatch = time.perf_counter()
        now = self._clock()
        deadline = now + self.job_timeout if self.job_timeout else float("inf")
        self.assigned[rank] = _Assignment(job_id=job_id, deadline=deadline, request=request, heard=now)

    def _record(self) -> bool:
        """Hand the accepted results to the recorder thread (``run.record``: log, tell, checkpoint), so
        that the loop keeps receiving and dispatching while the searcher retrains its predictor. The
        searcher is only touched by one thread at a time: before a batch goes, proposals are asked
        ahead (:meth:`_depth` per client) for the clients that finish while it records."""
        if self.recording is not None:
            if not self.recording.done():
                return False
            future, self.recording, self.recording_count = self.recording, None, 0
            future.result()                       # an error in run.record is fatal: re-raise it here
        if not self.accepted:
            return False
        want = len(self.clients) * self._depth() - len(self.ahead) - len(self.requeue)
        if want > 0:
            self.ahead.extend(self._ask(want))
        batch, self.accepted = self.accepted, []
        self.recording_count = len(batch)
        self.recording = self.recorder.submit(self._record_batch, batch)
        return True

    def _depth(self) -> int:
        """Proposals asked ahead per client: enough to cover the slowest of the last 50 recordings (a
        predictor fit) at the recent job time (a moving average of the clients' seconds per job), between
        1 and ``MAX_AHEAD`` (more would be proposed with staler information)."""
        peak = max(self.record_times, default=0.0)
        if peak <= 0 or self.job_mean <= 0:
            return 1
        return max(1, min(MAX_AHEAD, math.ceil(peak / self.job_mean)))

    def _received(self) -> int:
        """Results received: recorded, being recorded, or waiting to be."""
        return self.stats.results + self.recording_count + len(self.accepted)

    def _record_batch(self, batch: list[tuple[Proposal, Result]]) -> None:
        """``run.record`` each result of ``batch`` (whose size the caller put in ``recording_count``)."""
        start = time.perf_counter()
        for proposal, result in batch:
            t0 = time.perf_counter()
            row = self.run.record(proposal, result)
            self.stats.record_seconds += time.perf_counter() - t0
            self.stats.results += 1
            self.recording_count -= 1
            self.stats.failures += row["accuracy"] is None     # as logged: a non-finite accuracy fails too
            if self.progress is not None:
                self.progress.update(row, **self._progress_extra())
        self.record_times.append(time.perf_counter() - start)

    def _progress_extra(self) -> dict:
        """Beside the best so far: the clients busy, lost, left, and the failed results (read from the loop's
        thread: a snapshot, good enough for a progress line)."""
        extra = {"busy": f"{len(self.assigned)}/{len(self.clients)} clients"}
        if self.lost - self.left:
            extra["lost"] = len(self.lost - self.left)
        if self.lost & self.left:         # said they left (SIGTERM, SIGINT): not taken for lost
            extra["left"] = len(self.lost & self.left)
        if self.stats.failures:
            extra["failed"] = self.stats.failures
        return extra

    def finish_recording(self) -> None:
        """Wait for the batch being recorded, then record the results received since (an evaluated result
        is never dropped on the way out, whatever ended the loop)."""
        try:
            if self.recording is not None:
                future, self.recording = self.recording, None
                try:
                    future.result()
                finally:
                    self.recording_count = 0
            if self.accepted:
                batch, self.accepted = self.accepted, []
                self.recording_count = len(batch)
                self._record_batch(batch)
        finally:
            self.recorder.shutdown(wait=True)

    # -- stopping ------------------------------------------------------------------------------
    def stop_all(self, reason: str) -> None:
        """``Stop`` to every client (lost ones included: they may be alive, only slow). After a finished
        run with a client lost, or one still busy (:attr:`FarmStats.abandoned`: it reads its ``Stop`` only
        when its evaluation ends, and its heartbeats to a server gone would block it for good), the others
        must exit without ``MPI_Finalize`` (it would wait for that one), and ``run_server.py`` ends the job;
        after an error they finalize and the server aborts the job: a client that exits unfinalized makes
        MPICH kill the server before it can report its exit status."""
        busy = set(self.assigned) if reason == "done" else set()
        finalize = reason != "done" or not (self.lost or busy)
        wait = None
        if reason == "done" and finalize:      # MPI_Finalize follows: every client's messages must be received
            unready = set(self.clients) - self.ready
            wait = max(STOPPED_WAIT, self.startup_timeout - self._clock()) if unready else STOPPED_WAIT
        silent = stop_clients(self.comm, reason, finalize=finalize, lost=self.lost | busy, stopped=wait,
                              heard=self._heard_after_stop)
        if silent:
            log.warning("client%s %s did not answer Stop in %.0f s: taken for lost", "s" if len(silent) > 1 else "",
                        ", ".join(map(str, sorted(silent))), wait)
            self.lost |= silent
        self.stats.lost = sorted(self.lost)
        self.stats.left = sorted(self.lost & self.left)
        self.stats.abandoned = sorted(busy)

    def _heard_after_stop(self, source: int, msg) -> None:
        """A client that could not start, or left, after the run had ended: said, and one that left is
        counted as such (it exits without ``MPI_Finalize``, so ``run_server.py`` ends the job)."""
        if isinstance(msg, CannotStart):
            log.warning("after the run had ended: %s", _could_not_start(msg))
        elif isinstance(msg, Leaving):
            self._leaving(source, msg)


def _could_not_start(msg: CannotStart) -> FarmError:
    return FarmError(f"client {msg.rank} on {msg.host} could not start: {msg.message}")


def open_hearing_clients(comm, opener: Callable[[], object], *, poll: float = 0.05):
    """``opener()`` (the run: its data, its pool, its searcher: about 15 s for a pool of every NASBench-101
    cell) in a second thread, while this one listens for a client that could not start (a bad ``--cifar``,
    a table it cannot read): its :class:`CannotStart` is raised as a :class:`FarmError` at once, not once
    the run has opened. The opener may then still be running; the caller ends the job (``MPI_Abort``),
    which a run folder survives at any moment. Returns what ``opener`` returns, or raises what it raised."""
    from mpi4py import MPI

    outcome: dict = {}

    def target() -> None:
        try:
            outcome["value"] = opener()
        except BaseException as exc:        # noqa: BLE001 - raised again in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="alphax-open", daemon=True)
    thread.start()
    status = MPI.Status()
    while thread.is_alive():
        if comm.iprobe(source=MPI.ANY_SOURCE, tag=Tag.CANNOT_START, status=status):
            raise _could_not_start(comm.recv(source=status.Get_source(), tag=Tag.CANNOT_START))
        thread.join(poll)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def stop_clients(comm, reason: str, *, finalize: bool = True, lost=(), wait: float = 10.0,
                 stopped: float | None = None, heard: Callable[[int, object], None] | None = None) -> set[int]:
    """Send ``Stop`` to every client; wait up to ``wait`` seconds for the sends to the live ones.
    ``finalize=False`` tells them to exit without ``MPI_Finalize`` (a process was lost). ``stopped``
    (seconds; with ``finalize``): then receive every live client's messages up to its :class:`Stopped`
    (what came before it is dropped: a ``Ready`` not read yet), so that none is left unreceived when this
    process finalizes, or up to its :class:`CannotStart` or :class:`Leaving` (it sends no ``Stopped``
    then), which go to ``heard(rank, message)``; returns the live clients that did not answer in time
    (empty without ``stopped``)."""
    from mpi4py import MPI

    stop = Stop(reason=reason, finalize=finalize)
    clients = range(1, comm.Get_size())
    requests = [comm.isend(stop, dest=r, tag=Tag.STOP) for r in clients]
    live = [q for r, q in zip(clients, requests) if r not in lost]
    end = time.perf_counter() + wait
    while live and time.perf_counter() < end:
        live = [q for q in live if not q.Test()]
        time.sleep(0.001)
    waiting = {r for r in clients if r not in lost} if stopped is not None and finalize else set()
    end = time.perf_counter() + (stopped or 0.0)
    status = MPI.Status()
    while waiting and time.perf_counter() < end:
        if not comm.iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status):
            time.sleep(0.001)
            continue
        source, tag = status.Get_source(), status.Get_tag()
        msg = comm.recv(source=source, tag=tag)
        if tag == Tag.STOPPED:
            waiting.discard(source)
        elif tag in (Tag.CANNOT_START, Tag.LEAVING):     # a client that never started, or has left
            waiting.discard(source)
            if heard is not None:
                heard(source, msg)
        else:
            log.debug("after Stop: dropped a message with tag %d from client %d", tag, source)
    return waiting


def serve(run, *, comm=None, job_timeout: float | None = None, heartbeat_timeout: float | None = HEARTBEAT_TIMEOUT,
          max_attempts: int = 2, startup_timeout: float = 600.0, stop: Callable[[], bool] | None = None,
          progress: str | None = None, stats_file: str | os.PathLike | None = None) -> FarmStats:
    """Run the farm until ``run.remaining`` reaches 0 (or the searcher has nothing left to propose).

    ``job_timeout``: seconds a job may take (None: no limit); ``heartbeat_timeout``: seconds of silence
    after which a busy client is taken for dead (None or 0: never); ``stop``: polled once per turn of
    the loop, True ends it with ``KeyboardInterrupt`` (SIGTERM/SIGINT in ``run_server.py``);
    ``progress``: a mode of :class:`alphax.progress.Progress` (the run's results, best so far and busy
    clients; None: nothing, for runs that are not ``alphax.run`` runs). Raises
    :class:`FarmError` when it cannot go on; ``Stop`` reaches every client either way, and every
    result received is recorded first. ``stats_file``: the farm's statistics (JSON) are written there
    however it ends (done, interrupted, an error), atomically, once a client was taken in (not after a
    refused start, which the same command continues).
    """
    from mpi4py import MPI

    comm = comm if comm is not None else MPI.COMM_WORLD
    if job_timeout is not None and job_timeout <= 0:
        raise FarmError(f"--job-timeout must be > 0 seconds, got {job_timeout}")
    if heartbeat_timeout is not None and heartbeat_timeout < 0:
        raise FarmError(f"--heartbeat-timeout must be >= 0 seconds (0: no heartbeats), got {heartbeat_timeout}")
    if max_attempts < 1:
        raise FarmError(f"--max-attempts must be >= 1, got {max_attempts}")
    bar = None
    if progress not in (None, "off"):
        from alphax.progress import Progress

        bar = Progress(total=run.config.budget, initial=run.n, best=run.best, mode=progress, desc="farm",
                       label=run.progress_label())
    farm = _Farm(run, comm, job_timeout=job_timeout, heartbeat_timeout=heartbeat_timeout, max_attempts=max_attempts,
                 startup_timeout=startup_timeout, stop=stop, progress=bar)
    if bar is not None:
        bar.status = farm._progress_extra           # a line between results shows the clients busy then
    reason = "error"
    with bar if bar is not None else contextlib.nullcontext():      # closed once the last results are recorded
        try:
            farm.loop()
            reason = "done"
            farm.confirm_run()     # a resume whose --budget was already reached saves it too (no client needed)
        except KeyboardInterrupt:
            reason = "interrupted"
            raise
        finally:
            try:
                farm.finish_recording()
            finally:
                farm.stop_all(reason)
            s = farm.stats
            log.info("farm %s: %d results (%d failed) from %d client%s in %.1f s; %d requeued, %d duplicates "
                     "ignored, lost clients %s%s%s, busy %.1f%%", reason, s.results, s.failures, s.clients,
                     "" if s.clients == 1 else "s", s.wall, s.requeued, s.duplicates, s.silent or "none",
                     f", clients that left {s.left}" if s.left else "",
                     f", clients busy with a copy of an answered job {s.abandoned}" if s.abandoned else "",
                     100 * s.busy_fraction)
            if stats_file is not None and not s.results and (farm.refused or not farm.host):
                # a start refused (a client unlike the run, or that could not start, even after another was
                # taken in): nothing to report, and the same command, which continues the run, may name the
                # same file
                log.info("no client was taken in: the farm's statistics are not written to %s", stats_file)
            elif stats_file is not None:
                text = json.dumps(s.to_json(), indent=1).encode()
                try:
                    write_atomic(stats_file, lambda f: f.write(text))
                except OSError as exc:     # never in place of the farm's own ending
                    log.error("could not write the farm's statistics to %s: %s", stats_file, exc)
    return farm.stats
