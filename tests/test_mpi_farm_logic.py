"""The farm's bookkeeping driven in-process, with a fake communicator and a controlled clock (no mpiexec):
requeue of a lost client's job, max attempts, heartbeat timeouts, late duplicates, Leaving, the server's
stop, Stop to every client, and a client's error as data."""

from __future__ import annotations

from collections import deque
from types import SimpleNamespace

import pytest

from alphax.searchers.base import Proposal, Result
from workers.protocol import (ClientError, Heartbeat, Job, Leaving, Ready, Reply, Stop, Stopped, Tag)

ANY = -1


class _Status:
    def __init__(self):
        self.source = self.tag = None

    def Get_source(self):
        return self.source

    def Get_tag(self):
        return self.tag


class _Request:
    def Test(self):
        return True


class FakeComm:
    """Messages to the server are queued with :meth:`put`; what the server sends is kept in ``sent``."""

    def __init__(self, size: int):
        self.size = size
        self.inbox: deque = deque()
        self.sent: list = []

    def Get_size(self):
        return self.size

    def put(self, source, tag, msg):
        self.inbox.append((source, int(tag), msg))

    def iprobe(self, source=ANY, tag=ANY, status=None):
        for s, t, _ in self.inbox:
            if (source < 0 or source == s) and (tag < 0 or tag == t):
                if status is not None:
                    status.source, status.tag = s, t
                return True
        return False

    def recv(self, source=ANY, tag=ANY):
        for i, (s, t, m) in enumerate(self.inbox):
            if (source < 0 or source == s) and (tag < 0 or tag == t):
                del self.inbox[i]
                return m
        raise AssertionError("recv without a message")

    def send(self, msg, dest, tag):
        self.sent.append((dest, int(tag), msg))

    def isend(self, msg, dest, tag):
        self.send(msg, dest, tag)
        return _Request()

    def jobs(self):
        return [(d, m) for d, t, m in self.sent if t == Tag.JOB]


class Searcher:
    def __init__(self):
        self.next = 0

    def ask(self, n=1):
        out = [Proposal(f"cell{self.next + i}") for i in range(n)]
        self.next += n
        return out


class RunDouble:
    def __init__(self, budget):
        self.budget, self.n, self.searcher = budget, 0, Searcher()
        self.space = SimpleNamespace(to_json=lambda cell: {"cell": cell})
        self.rows = []

    @property
    def remaining(self):
        return self.budget - self.n

    def checked(self, proposals):
        return proposals             # as Run.checked for a searcher that is not a user's (--algo FILE.py:CLASS)

    def record(self, proposal, result):
        self.n += 1
        row = {"cell": proposal.cell, "accuracy": result.accuracy, "error": result.error}
        self.rows.append(row)
        return row


def make_farm(clients=2, budget=10, **kw):
    import workers.server as server

    comm = FakeComm(clients + 1)
    opts = dict(job_timeout=None, heartbeat_timeout=None, max_attempts=2, startup_timeout=60.0)
    opts.update(kw)
    farm = server._Farm(RunDouble(budget), comm, **opts)
    farm.MPI = SimpleNamespace(Status=_Status, ANY_SOURCE=ANY, ANY_TAG=ANY)
    farm.signature = None
    farm.cifar_from = "that of its results"
    clock = [0.0]
    farm._clock = lambda: clock[0]
    return farm, comm, clock


def ready(farm, comm, *ranks, heartbeat=False):
    for r in ranks:
        comm.put(r, Tag.READY, Ready(rank=r, host="h", evaluator="table", pid=r, heartbeat=heartbeat))
    farm._drain()


def reply(comm, rank, job_id, acc=0.5):
    comm.put(rank, Tag.REPLY, Reply(job_id=job_id, rank=rank, host="h", busy=0.1, result=Result(acc)))


def assigned_job(farm, rank):
    return farm.assigned[rank].job_id


def first_job(**kw):
    """A farm whose client 1 is ready and has been given the first job: the farm, comm, clock and job id."""
    farm, comm, clock = make_farm(**kw)
    ready(farm, comm, 1)
    farm._dispatch()
    return farm, comm, clock, assigned_job(farm, 1)


def test_a_client_that_runs_other_software_than_the_server_is_warned_about(caplog):
    """Its results are trained (or looked up) by that software: the server names what differs (not the CPU,
    in which a farm's nodes may differ), and is quiet about a client like itself or one that says nothing."""
    import logging

    from alphax import environment

    mine = environment.software()
    farm, comm, _ = make_farm(clients=3)
    other = {**mine, "torch": "2.5.0", "cpu": "another CPU"}
    with caplog.at_level(logging.WARNING, logger="workers.server"):
        for rank, software in ((1, mine), (2, None), (3, other)):
            comm.put(rank, Tag.READY, Ready(rank=rank, host=f"node{rank}", evaluator="train", pid=rank,
                                            software=software))
        farm._drain()
    assert farm.ready == {1, 2, 3}
    assert [r.getMessage() for r in caplog.records] == [
        f"client 3 on node3 runs other software than the server: torch 2.5.0 (server: {mine['torch']})"]


def test_clients_on_one_gpu_are_warned_about(caplog):
    """Two clients whose GPU has the same UUID (more client tasks on a node than GPUs, or every task's
    CUDA_VISIBLE_DEVICES alike) each train at about half speed: the server names them and the way out.
    Quiet for clients on other GPUs, for those that name none (a table, the CPU), and once the first has
    left the farm."""
    import logging

    farm, comm, _ = make_farm(clients=5)
    with caplog.at_level(logging.WARNING, logger="workers.server"):
        for rank, gpu in ((1, "GPU-aaaa"), (2, "GPU-bbbb"), (3, None), (4, None), (5, "GPU-aaaa")):
            comm.put(rank, Tag.READY, Ready(rank=rank, host="node1", evaluator="train", pid=rank, device=gpu))
        farm._drain()
    assert farm.ready == {1, 2, 3, 4, 5}
    assert [r.getMessage() for r in caplog.records] == [
        "client 5 on node1 trains on the same GPU as client 1 (GPU-aaaa): they share it, so each trains slower; "
        "give a node no more client tasks than it has GPUs, or each client its own GPU (--device cuda:N, "
        "CUDA_VISIBLE_DEVICES)"]
    caplog.clear()
    farm, comm, _ = make_farm(clients=3)
    with caplog.at_level(logging.WARNING, logger="workers.server"):
        comm.put(1, Tag.READY, Ready(rank=1, host="node1", evaluator="train", pid=1, device="GPU-aaaa"))
        comm.put(2, Tag.READY, Ready(rank=2, host="node1", evaluator="train", pid=2, device="GPU-aaaa"))
        comm.put(3, Tag.READY, Ready(rank=3, host="node1", evaluator="train", pid=3, device="GPU-aaaa"))
        farm._drain()
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == [
        "client 2 on node1 trains on the same GPU as client 1",
        "client 3 on node1 trains on the same GPU as clients 1, 2"]
    caplog.clear()
    farm, comm, _ = make_farm(clients=2)
    with caplog.at_level(logging.WARNING, logger="workers.server"):
        comm.put(1, Tag.READY, Ready(rank=1, host="node1", evaluator="train", pid=1, device="GPU-aaaa"))
        comm.put(1, Tag.LEAVING, Leaving(rank=1, host="node1", reason="SIGTERM"))
        comm.put(2, Tag.READY, Ready(rank=2, host="node1", evaluator="train", pid=2, device="GPU-aaaa"))
        farm._drain()
    assert [r.getMessage() for r in caplog.records] == ["client 1 (node1) left on SIGTERM"]


def test_a_lost_clients_job_is_requeued_and_its_late_reply_is_not_counted_twice():
    farm, comm, clock, job = first_job(clients=2, job_timeout=5.0)
    clock[0] = 4.9
    assert not farm._expire(clock[0]) and 1 not in farm.lost       # not yet
    clock[0] = 5.1
    assert farm._expire(clock[0])
    assert 1 in farm.lost and list(farm.requeue) == [job] and farm.stats.requeued == 1
    ready(farm, comm, 2)
    farm._dispatch()
    assert assigned_job(farm, 2) == job and not farm.requeue        # the requeued job goes first
    assert [m.attempt for d, m in comm.jobs()] == [1, 2]
    reply(comm, 2, job, 0.7)
    reply(comm, 1, job, 0.1)                                        # the late answer of the lost client
    farm._drain()
    assert [r.accuracy for _, r in farm.accepted] == [0.7]
    assert farm.stats.duplicates == 1 and 1 not in farm.lost        # it is back
    assert job not in farm.open


def test_a_late_reply_to_a_requeued_job_not_yet_redispatched_is_accepted_once():
    farm, comm, clock, job = first_job(clients=1, job_timeout=1.0)
    clock[0] = 2.0
    farm._expire(clock[0])
    assert list(farm.requeue) == [job]
    reply(comm, 1, job, 0.3)
    farm._drain()
    assert [r.accuracy for _, r in farm.accepted] == [0.3] and not farm.requeue and job not in farm.open
    assert farm.stats.duplicates == 0


@pytest.mark.parametrize("max_attempts", [1, 2, 3])
def test_a_job_is_dispatched_exactly_max_attempts_times_then_failed(max_attempts):
    farm, comm, clock, job = first_job(clients=max_attempts, job_timeout=1.0, max_attempts=max_attempts)
    for attempt in range(1, max_attempts + 1):
        clock[0] += 2.0
        farm._expire(clock[0])
        if attempt < max_attempts:
            assert list(farm.requeue) == [job] and not farm.accepted
            ready(farm, comm, attempt + 1)
            farm._dispatch()
            assert assigned_job(farm, attempt + 1) == job
    assert [m.attempt for _, m in comm.jobs()] == list(range(1, max_attempts + 1))
    assert not farm.requeue and job not in farm.open
    [(proposal, result)] = farm.accepted
    assert result.accuracy is None and f"lost {max_attempts} times" in result.error
    assert farm.stats.requeued == max_attempts - 1


def test_a_busy_client_silent_past_the_heartbeat_timeout_is_lost_and_heartbeats_keep_it():
    farm, comm, clock = make_farm(clients=1, heartbeat_timeout=6.0)
    ready(farm, comm, 1, heartbeat=True)
    farm._dispatch()
    job = assigned_job(farm, 1)
    assert comm.jobs()[0][1].heartbeat == pytest.approx(1.0)         # a sixth of the timeout
    clock[0] = 5.0
    comm.put(1, Tag.HEARTBEAT, Heartbeat(rank=1, job_id=job))
    farm._drain()
    clock[0] = 10.0                                                  # 5 s after the heartbeat
    assert not farm._expire(clock[0]) and 1 in farm.assigned
    comm.put(1, Tag.HEARTBEAT, Heartbeat(rank=1, job_id=job + 99))   # a heartbeat of another job: no news
    farm._drain()
    clock[0] = 11.5
    assert farm._expire(clock[0]) and 1 in farm.lost and list(farm.requeue) == [job]


def test_a_client_without_heartbeats_is_not_timed_by_them():
    farm, comm, clock = make_farm(clients=1, heartbeat_timeout=6.0)
    ready(farm, comm, 1, heartbeat=False)
    farm._dispatch()
    clock[0] = 100.0
    assert not farm._expire(clock[0]) and 1 not in farm.lost


def test_a_leaving_clients_job_is_requeued_without_counting_an_attempt():
    farm, comm, clock, job = first_job(clients=2, max_attempts=1)
    comm.put(1, Tag.LEAVING, Leaving(rank=1, host="h", reason="SIGTERM"))
    farm._drain()
    assert 1 in farm.lost and 1 in farm.left and list(farm.requeue) == [job]
    assert farm.open[job].attempts == 0
    assert farm._progress_extra() == {"busy": "0/2 clients", "left": 1}      # the bar: left, not lost
    farm.lost.add(2)                                                         # (one taken for lost beside it)
    assert farm._progress_extra() == {"busy": "0/2 clients", "lost": 1, "left": 1}
    farm.lost.discard(2)
    ready(farm, comm, 2)
    farm._dispatch()
    assert assigned_job(farm, 2) == job


def test_a_clients_error_is_a_failed_result_with_where_it_happened():
    farm, comm, clock, job = first_job(clients=1)
    err = ClientError(rank=1, host="h", type="ValueError", message="bad", traceback="tb")
    comm.put(1, Tag.REPLY, Reply(job_id=job, rank=1, host="h", busy=0.2, error=err))
    farm._drain()
    [(_, result)] = farm.accepted
    assert result.accuracy is None and "ValueError: bad" in result.error and result.info["traceback"] == "tb"
    assert not farm.requeue and 1 in farm.idle


def test_stop_ends_the_loop_and_every_result_received_is_recorded():
    farm, comm, clock = make_farm(clients=1, budget=5)
    ready(farm, comm, 1)
    farm._dispatch()
    reply(comm, 1, assigned_job(farm, 1))
    farm._drain()
    farm.stop = lambda: True
    with pytest.raises(KeyboardInterrupt):
        farm._turns(0.0)
    farm.finish_recording()
    assert farm.run.n == 1


def _budget_received():
    """A farm of one client whose budget's 2 results are received, not yet recorded."""
    farm, comm, clock = make_farm(clients=1, budget=2)
    ready(farm, comm, 1)
    for _ in range(2):
        farm._dispatch()
        reply(comm, 1, assigned_job(farm, 1))
        farm._drain()
    return farm, comm


def test_a_stop_as_the_last_results_are_received_ends_the_run_complete_not_interrupted():
    """Found by a bug hunt (2026-12-08): a SIGTERM while the budget's last result waited to be recorded
    (in the recorder thread: the searcher told, a checkpoint) ended a complete run as interrupted, exit 143
    and no summary; the inline loop says the signal came as the run ended and ends it complete."""
    farm, comm = _budget_received()
    assert len(farm.accepted) == 2 and farm.run.n == 0
    farm.stop = lambda: True
    try:
        farm._turns(0.0)                             # it records them and ends
    except KeyboardInterrupt:
        pytest.fail("a run complete once its results received are recorded was stopped as interrupted")
    assert farm.run.n == 2 and farm._done()


def test_every_client_leaving_as_the_last_results_are_recorded_is_no_lost_farm():
    """scancel: the clients leave on their SIGTERM while the budget's last results wait to be recorded;
    the run is complete once they are, not a farm whose every client is lost (exit 1)."""
    farm, comm = _budget_received()
    comm.put(1, Tag.LEAVING, Leaving(rank=1, host="h", reason="SIGTERM"))
    farm._turns(0.0)
    assert farm.run.n == 2 and 1 in farm.lost


def test_stop_reaches_every_client_lost_ones_included():
    from workers.server import stop_clients

    comm = FakeComm(4)
    for r in (1, 2):
        comm.put(r, Tag.STOPPED, Stopped(rank=r))
    silent = stop_clients(comm, "done", finalize=True, lost={3}, wait=0.1, stopped=0.2)
    stops = [(d, m) for d, t, m in comm.sent if t == Tag.STOP]
    assert sorted(d for d, _ in stops) == [1, 2, 3]
    assert all(isinstance(m, Stop) and m.finalize and m.reason == "done" for _, m in stops)
    assert silent == set() and not comm.inbox
    comm = FakeComm(3)
    comm.put(1, Tag.STOPPED, Stopped(rank=1))
    assert stop_clients(comm, "done", finalize=True, wait=0.1, stopped=0.2) == {2}


def test_a_client_that_cannot_start_or_leaves_after_the_run_ended_is_not_waited_for(caplog):
    """Found by a bug hunt (2026-12-07): the budget reached before a slow client was ready, which then
    could not start (CannotStart) or left on SIGTERM (Leaving): neither sends Stopped, and the server
    waited out its whole --startup-timeout (600 s by default), then called the one "lost (may still be
    running)" and never said the other's reason. Each ends the wait now: the reason is logged, and the
    client that left is counted as left."""
    import logging
    import time

    from workers.protocol import CannotStart

    farm, comm, clock = make_farm(clients=3, budget=0, startup_timeout=60.0)
    ready(farm, comm, 1)
    comm.put(2, Tag.CANNOT_START, CannotStart(rank=2, host="h2", message="error: the table is damaged"))
    comm.put(3, Tag.LEAVING, Leaving(rank=3, host="h3", reason="SIGTERM"))
    comm.put(1, Tag.STOPPED, Stopped(rank=1))
    t0 = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="workers.server"):
        farm.stop_all("done")
    assert time.perf_counter() - t0 < 5.0
    assert "after the run had ended: client 2 on h2 could not start: error: the table is damaged" in caplog.text
    assert "client 3 (h3) left on SIGTERM before it was ready" in caplog.text
    assert farm.stats.lost == [3] and farm.stats.left == [3] and farm.stats.silent == [] and not comm.inbox


@pytest.mark.parametrize("refused_first", [False, True])
def test_a_client_refused_after_another_was_taken_in_writes_no_stats_file(tmp_path, refused_first):
    """Found by a bug hunt (2026-12-07): whether --stats was written after a refused start depended on
    which client's Ready the server read first; with the accepted one first, the file was written, and
    the same command, which would continue the run, was refused for it."""
    import workers.server as server

    comm = FakeComm(3)
    run = RunDouble(5)
    run.signature = {"space": "a"}
    readies = [(1, {"space": "a"}), (2, {"space": "b"})]
    for r, signature in readies[::-1] if refused_first else readies:
        comm.put(r, Tag.READY, Ready(rank=r, host="h", evaluator="table", pid=r, heartbeat=False, signature=signature))
    with pytest.raises(server.FarmError, match="client 2 on h does not evaluate as the run does: space: run 'a', "
                                               "client 'b'"):
        server.serve(run, comm=comm, stats_file=tmp_path / "farm.json", startup_timeout=5.0)
    assert not (tmp_path / "farm.json").exists()


def test_a_finished_farm_with_a_lost_client_tells_the_others_not_to_finalize():
    farm, comm, clock = make_farm(clients=2)
    ready(farm, comm, 1, 2)
    farm.lost.add(2)
    farm.stop_all("done")
    stops = {d: m for d, t, m in comm.sent if t == Tag.STOP}
    assert set(stops) == {1, 2} and not any(m.finalize for m in stops.values())
    assert farm.stats.lost == [2]
    farm, comm, clock = make_farm(clients=2)
    ready(farm, comm, 1, 2)
    farm.lost.add(2)
    farm.stop_all("error")
    assert all(m.finalize and m.reason == "error" for d, t, m in comm.sent if t == Tag.STOP)


def test_a_client_whose_evaluation_raises_replies_with_the_error():
    from workers.client import _evaluate

    class Boom:
        def evaluate(self, cell):
            raise KeyError("nope")

    space = SimpleNamespace(from_json=lambda c: c)
    r = _evaluate(Boom(), space, Job(id=4, cell={}), rank=3, host="h", worker="w", received=0.0)
    assert r.job_id == 4 and r.result is None and r.error.type == "KeyError" and r.error.rank == 3
    assert "KeyError" in r.error.traceback


def test_the_signature_check_compares_every_key():
    from workers.server import FarmError, _Farm

    farm = object.__new__(_Farm)
    run = {"space": "nasbench201", "evaluator": "table", "dataset": "cifar10", "eval_seed": 0, "table": "15625:ab",
           "table_values": "v0", "zz_last": 1}
    farm.signature, farm.cifar_from = run, "that of its results"
    for key, value in [("dataset", "cifar100"), ("table", "15625:cd"), ("zz_last", 2), ("extra", 1)]:
        with pytest.raises(FarmError, match=key if key != "table" else "table: run"):
            farm._check_signature(1, Ready(rank=1, host="h", evaluator="table", pid=7, signature={**run, key: value}))


def test_a_requeued_job_is_dispatched_before_the_proposals_asked_ahead():
    farm, comm, clock = make_farm(clients=2, job_timeout=5.0)
    ready(farm, comm, 1, 2)
    farm._dispatch()
    lost_job, answered = assigned_job(farm, 1), assigned_job(farm, 2)
    reply(comm, 2, answered)
    farm._drain()
    clock[0] = 5.1
    assert farm._expire(clock[0]) and list(farm.requeue) == [lost_job]
    farm._record()                                                  # asks ahead while the batch records
    assert farm.ahead
    farm._dispatch()
    assert assigned_job(farm, 2) == lost_job and not farm.requeue
    farm.finish_recording()


def test_a_failure_recording_the_last_results_of_a_searcher_run_dry_ends_the_loop_with_it():
    """The loop ends only once every result received is recorded, a searcher run dry included: a failure
    to record them is the farm's error (Stop 'error', 'farm error'), not one after a run taken for done."""
    farm, comm, clock, job = first_job(clients=1)
    reply(comm, 1, job)
    farm._drain()
    farm.exhausted = True                                           # nothing more to propose, nothing open

    def record(proposal, result):
        raise OSError("disk full")

    farm.run.record = record
    with pytest.raises(OSError, match="disk full"):
        farm._turns(0.0)
    farm.finish_recording()


def test_a_farm_whose_clients_said_ready_goes_on_past_the_startup_timeout():
    from workers.server import FarmError

    farm, comm, clock, job = first_job(clients=2, startup_timeout=60.0)
    farm._check_alive(600.0)                                        # a long run: a client is ready
    farm, comm, clock = make_farm(clients=2, startup_timeout=60.0)
    with pytest.raises(FarmError, match="no client said it was ready within 60 s"):
        farm._check_alive(61.0)
