"""A client (workers.client.serve) driven in-process, with a scripted server and a controlled clock (no
mpiexec): its Ready, its replies (results and errors as data), heartbeats, keep-alives and its two
timeouts, the Stop (and Stopped), leaving on a signal, and CannotStart. Found missing by a mutation audit
of the client side: each test fails on a plausible bug that no in-process test caught."""

from __future__ import annotations

import logging
import os
import signal
import time
from types import SimpleNamespace

import pytest

from alphax import environment
from alphax.searchers.base import Result
from workers import client
from workers.protocol import (SERVER, Accepted, CannotStart, Heartbeat, Job, KeepAlive, Leaving, Ready, Reply, Stop,
                              Stopped, Tag)

SPACE = SimpleNamespace(from_json=lambda cell: ("cell", cell["n"]))


class Clock:
    """``workers.client.time`` for a test: ``sleep`` advances the clock (no real wait)."""

    def __init__(self):
        self.now = 0.0
        self.jumps = {}          # at this time, the next sleep jumps by that much (the process was paused)

    def monotonic(self):
        return self.now

    perf_counter = monotonic

    def sleep(self, seconds):
        self.now += seconds
        for at in [t for t in self.jumps if self.now >= t]:
            self.now += self.jumps.pop(at)
        if self.now > 10_000:
            raise AssertionError("the client waited for ever")


class ScriptedServer:
    """The client's communicator: the server's messages arrive at scripted times (``(at, tag, msg)``);
    what the client sends is kept in ``sent`` as ``(dest, tag, msg)``."""

    def __init__(self, clock, script, rank=1):
        self.clock, self.script, self.rank = clock, list(script), rank
        self.sent = []

    def Get_rank(self):
        return self.rank

    def _first(self, tag):
        for i, (at, t, m) in enumerate(self.script):
            if at <= self.clock.now and (tag < 0 or tag == t):
                return i
        return None

    def iprobe(self, source=SERVER, tag=-1, status=None):
        assert source == SERVER
        i = self._first(tag)
        if i is not None and status is not None:
            status.Set_tag(int(self.script[i][1]))
        return i is not None

    def recv(self, source=SERVER, tag=-1):
        i = self._first(tag)
        assert i is not None, "recv without a message"
        return self.script.pop(i)[2]

    def send(self, msg, dest, tag):
        self.sent.append((dest, int(tag), msg))

    def of(self, kind):
        return [(t, m) for _, t, m in self.sent if isinstance(m, kind)]


class Table:
    """Evaluates ``("cell", n)``: accuracy n / 10, taking ``took`` seconds of the test's clock; n < 0 raises."""

    def __init__(self, clock, took=2.0):
        self.clock, self.took, self.seen = clock, took, []

    def evaluate(self, cell):
        self.seen.append(cell)
        self.clock.now += self.took
        if cell[1] < 0:
            raise RuntimeError(f"cell {cell[1]} failed")
        return Result(cell[1] / 10)


def serve(clock, script, monkeypatch, evaluator=None, **kw):
    monkeypatch.setattr(client, "time", clock)
    comm = ScriptedServer(clock, script)
    opts = dict(name="table", poll=0.01, signature={"space": "s", "eval_seed": 3}, startup_timeout=10.0,
                server_timeout=4.0)
    opts.update(kw)
    stats = client.serve(evaluator or Table(clock), SPACE, comm=comm, **opts)
    return comm, stats


def test_a_client_says_ready_then_answers_each_job_with_one_reply_until_stop(monkeypatch, caplog):
    """Ready (tag READY) with its evaluator, pid, heartbeat ability, signature and keep-alive interval;
    a reply (tag REPLY) per job, of the job's id, with the worker stamped on the result and the time
    taken; an evaluation error (any exception) is a reply with the error as data, and the client goes on;
    KeepAlive and Accepted are taken silently; Stop ends it with its statistics and a Stopped last."""
    from mpi4py import MPI

    clock = Clock()
    script = [(0.5, Tag.ACCEPTED, Accepted()), (1.0, Tag.JOB, Job(id=7, cell={"n": 5})),
              (1.0, Tag.KEEPALIVE, KeepAlive()), (1.0, Tag.JOB, Job(id=8, cell={"n": -1}, attempt=2, timeout=9.0)),
              (1.0, Tag.JOB, Job(id=9, cell={"n": 3})), (1.0, Tag.STOP, Stop())]
    with caplog.at_level(logging.INFO, logger="workers.client"):
        comm, stats = serve(clock, script, monkeypatch)
    host = MPI.Get_processor_name()
    (dest, tag, ready), *rest = comm.sent
    assert dest == SERVER and tag == Tag.READY and ready == Ready(
        rank=1, host=host, evaluator="table", pid=os.getpid(), heartbeat=MPI.Query_thread() == MPI.THREAD_MULTIPLE,
        signature={"space": "s", "eval_seed": 3}, keepalive=1.0, software=environment.software())
    assert ready.heartbeat             # mpi4py asks for MPI_THREAD_MULTIPLE, which MPICH gives
    replies = comm.of(Reply)
    assert [t for t, _ in replies] == [Tag.REPLY] * 3 and [r.job_id for _, r in replies] == [7, 8, 9]
    ok, failed, last = (r for _, r in replies)
    assert ok.result.accuracy == 0.5 and ok.result.worker == f"rank1@{host}" and ok.busy == pytest.approx(2.0)
    assert failed.result is None and failed.error.type == "RuntimeError" and failed.error.message == "cell -1 failed"
    assert failed.error.rank == 1 and failed.error.host == host and "cell -1 failed" in failed.error.traceback
    assert last.result.accuracy == 0.3
    assert comm.sent[-1] == (SERVER, Tag.STOPPED, Stopped(rank=1))
    assert (stats.jobs, stats.errors, stats.finalize, stats.left) == (3, 1, True, None)
    assert stats.busy == pytest.approx(6.0)
    assert "ignoring unexpected message" not in caplog.text
    assert "job 8 (attempt 2, the server waits 9 s) raised RuntimeError: cell -1 failed" in caplog.text


def test_a_client_told_not_to_finalize_sends_no_stopped_and_says_so(monkeypatch):
    """After a run that lost a client, the server's Stop says not to finalize: the client sends nothing more
    (the server no longer receives) and its statistics tell run_client.py to exit without MPI_Finalize."""
    clock = Clock()
    comm, stats = serve(clock, [(0.0, Tag.ACCEPTED, Accepted()), (0.0, Tag.JOB, Job(id=1, cell={"n": 1})),
                                (0.0, Tag.STOP, Stop(reason="done", finalize=False))], monkeypatch)
    assert [type(m) for _, _, m in comm.sent] == [Ready, Reply]
    assert stats.finalize is False and stats.jobs == 1


def test_a_job_that_asks_for_heartbeats_gets_them_at_its_interval_for_that_job(monkeypatch):
    """The heartbeat thread runs on real time (a threading.Event): 0.3 s of evaluation at a 0.02 s
    interval gives about 15 heartbeats, each with the job's id and the HEARTBEAT tag. The bounds allow for a
    loaded machine: at least 5, and at most one per interval of the evaluation's measured time (plus 0.1 s
    for the thread's start and stop)."""
    clock = Clock()
    took = []

    class Slow(Table):
        def evaluate(self, cell):
            start = time.perf_counter()
            time.sleep(0.3)
            took.append(time.perf_counter() - start)
            return super().evaluate(cell)

    comm, _ = serve(clock, [(0.0, Tag.ACCEPTED, Accepted()), (0.0, Tag.JOB, Job(id=4, cell={"n": 1}, heartbeat=0.02)),
                            (0.0, Tag.JOB, Job(id=5, cell={"n": 1})), (0.0, Tag.STOP, Stop())],
                    monkeypatch, evaluator=Slow(clock))
    beats = comm.of(Heartbeat)
    assert 5 <= len(beats) <= (took[0] + 0.1) / 0.02 + 1, (len(beats), took)
    assert all(t == Tag.HEARTBEAT and b == Heartbeat(rank=1, job_id=4) for t, b in beats)
    first_reply = next(i for i, (_, _, m) in enumerate(comm.sent) if isinstance(m, Reply))
    assert all(not isinstance(m, Heartbeat) for _, _, m in comm.sent[first_reply:])   # none once it has replied


def test_a_heartbeat_interval_past_what_a_thread_can_wait_beats_never_without_an_error(monkeypatch):
    """Found by a bug hunt (2026-12-07): run_server.py --heartbeat-timeout 1e11 (a sixth of it past
    threading.TIMEOUT_MAX) made each job's heartbeat thread die with an OverflowError traceback."""
    import threading

    clock = Clock()
    failures = []
    monkeypatch.setattr(threading, "excepthook", lambda args: failures.append(args.exc_value))
    comm, stats = serve(clock, [(0.0, Tag.ACCEPTED, Accepted()),
                                (0.0, Tag.JOB, Job(id=4, cell={"n": 1}, heartbeat=1e11 / 6)),
                                (0.0, Tag.STOP, Stop())], monkeypatch)
    assert failures == [] and stats.jobs == 1 and comm.of(Heartbeat) == []


def test_a_client_accepted_waits_past_its_startup_timeout_while_keep_alives_come(monkeypatch):
    """--startup-timeout (10 s) bounds the wait for the server's first word only; after it, keep-alives
    every 3 s (under --server-timeout, 4 s) keep the client for 40 s."""
    clock = Clock()
    script = [(5.0, Tag.ACCEPTED, Accepted())] + [(5.0 + 3 * i, Tag.KEEPALIVE, KeepAlive()) for i in range(1, 12)]
    _, stats = serve(clock, script + [(40.0, Tag.STOP, Stop())], monkeypatch)
    assert stats.jobs == 0 and clock.now >= 40.0


def test_a_client_without_a_word_from_the_server_ends_at_its_startup_timeout_not_its_server_timeout(monkeypatch):
    clock = Clock()
    with pytest.raises(client.ServerSilent, match=r"in the 10 s since this client was ready \(--startup-timeout\)"):
        serve(clock, [], monkeypatch)
    assert 10.0 < clock.now < 10.1


def test_a_client_waiting_for_work_ends_when_the_server_is_silent_for_its_server_timeout(monkeypatch):
    clock = Clock()
    with pytest.raises(client.ServerSilent, match=r"in the 4 s this client has waited for work \(--server-timeout; "
                                                   r"it was asked for a keep-alive every 1 s\)"):
        serve(clock, [(1.0, Tag.ACCEPTED, Accepted()), (2.0, Tag.JOB, Job(id=1, cell={"n": 1}))], monkeypatch)
    assert 8.0 < clock.now < 8.1         # 2 s of evaluation (from 2.0 to 4.0) then 4 s of silence


def test_a_pause_of_the_client_counts_as_at_most_a_second_of_silence(monkeypatch):
    """A suspended batch job (SIGSTOP) wakes to find the clock 1000 s on: the server's keep-alive that comes
    just after is heard, not a silent server."""
    clock = Clock()
    clock.jumps[2.0] = 1000.0
    _, stats = serve(clock, [(1.0, Tag.ACCEPTED, Accepted()), (1003.5, Tag.KEEPALIVE, KeepAlive()),
                             (1004.0, Tag.STOP, Stop())], monkeypatch)
    assert stats.jobs == 0


def test_a_client_told_to_stop_by_a_signal_leaves_the_farm_and_does_not_finalize(monkeypatch):
    clock = Clock()

    class Interrupted(Table):
        def evaluate(self, cell):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)                      # the handler raises first
            raise AssertionError("SIGTERM did not interrupt the evaluation")

    comm, stats = serve(clock, [(0.0, Tag.ACCEPTED, Accepted()), (0.0, Tag.JOB, Job(id=3, cell={"n": 1}))],
                        monkeypatch, evaluator=Interrupted(clock))
    assert stats.left == signal.SIGTERM and stats.finalize is False and stats.jobs == 0
    assert comm.of(Leaving) == [(Tag.LEAVING, Leaving(rank=1, host=comm.of(Ready)[0][1].host, reason="SIGTERM"))]
    assert comm.of(Reply) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_raise_leave_while_held_and_the_old_handlers_come_back(sig):
    """Either signal, unhandled, would kill the client by a signal (MPICH's Hydra then ends the whole job)."""
    class NotTaken(Exception):
        pass

    def before(signum, frame):
        raise NotTaken(f"{signal.Signals(signum).name} not taken by leave_on_signal")

    outer = signal.signal(sig, before)
    try:
        with pytest.raises(client.Leave) as left:
            with client.leave_on_signal():
                os.kill(os.getpid(), sig)
                time.sleep(5)
        assert left.value.signum == sig
        assert signal.getsignal(sig) is before
    finally:
        signal.signal(sig, outer)


def test_a_client_that_cannot_start_says_so_and_exits_normally_once_the_server_stops_it():
    clock = Clock()
    comm = ScriptedServer(clock, [(0.0, Tag.KEEPALIVE, KeepAlive()), (0.0, Tag.STOP, Stop(reason="error"))])
    assert client.cannot_start("no data", comm=comm, wait=1.0, poll=0.001) is True
    (dest, tag, msg), = comm.sent
    assert dest == SERVER and tag == Tag.CANNOT_START and isinstance(msg, CannotStart) and msg.message == "no data"
    assert client.cannot_start("no data", comm=ScriptedServer(clock, []), wait=0.05, poll=0.001) is False


def test_simulated_time_sleeps_the_tables_training_time_not_the_results_seconds(monkeypatch):
    """A table's result may carry seconds of its own (NAS-Bench-201's per-epoch time); the sleep follows
    the recorded training time when the table gives one."""
    slept = []
    monkeypatch.setattr(client, "time", SimpleNamespace(sleep=slept.append))

    class Table201:
        def evaluate(self, cell):
            return Result(0.9, seconds=3.0, info={"training_time": 1000.0})

    assert client.SimulatedTime(Table201(), 0.5).evaluate(None).seconds == 500.0 and slept == [500.0]


# -- found missing by a mutation audit of the client's wait (_wait) --
@pytest.mark.parametrize("server_timeout", [None, 0, 0.0])
def test_a_server_timeout_of_none_or_zero_is_no_limit_on_a_waiting_client(monkeypatch, server_timeout):
    """--server-timeout 0 (like None) means no limit: a client accepted, then 100 s without a word (no
    keep-alive asked for), still waits for its Stop."""
    clock = Clock()
    comm, stats = serve(clock, [(1.0, Tag.ACCEPTED, Accepted()), (100.0, Tag.STOP, Stop())], monkeypatch,
                        server_timeout=server_timeout)
    assert stats.jobs == 0 and clock.now >= 100.0
    assert comm.of(Ready)[0][1].keepalive is None
