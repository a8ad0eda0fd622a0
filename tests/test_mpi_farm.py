"""The MPI farm under real ``mpiexec`` (1 server + clients), driven by a run double (tests/mpi/farm_double.py):
dispatch to every client, client errors as failed results, a client lost mid-job, a late duplicate,
every client lost. Each job runs with a timeout and is killed whole if it overruns."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "mpi"))
from harness import mpiexec, require_mpi  # noqa: E402

SCRIPT = "tests/mpi/farm_double.py"


@pytest.fixture(autouse=True)
def _mpi(nb101_dir):
    require_mpi()


def farm(out: Path, *, clients: int = 2, server_args=(), client_args=(), timeout: float = 90):
    """The double's clients say Ready together (faults.start_together): what a test expects of rank 2
    does not hang on which client loaded its table first."""
    proc = mpiexec((1, [SCRIPT, out, *server_args]), (clients, [SCRIPT, out, *client_args]), timeout=timeout)
    lines = (out / "results.jsonl").read_text().splitlines() if (out / "results.jsonl").exists() else []
    stats = json.loads((out / "farm.json").read_text()) if (out / "farm.json").exists() else None
    return proc, [json.loads(line) for line in lines], stats


def test_two_clients_100_results(tmp_path):
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 100, "--job-timeout", 30])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert [r["n"] for r in rows] == list(range(1, 101))
    assert len({r["hash"] for r in rows}) == 100
    workers = {r["worker"].split("@")[0] for r in rows}
    assert workers == {"rank1", "rank2"}
    assert stats["results"] == 100 and stats["failures"] == 0 and stats["lost"] == []


def test_a_farm_with_nothing_to_do_ends_although_its_clients_ready_was_never_read(tmp_path):
    """A run resumed already finished stops its clients at once, before reading their Ready: MPICH's
    MPI_Finalize then failed on the server ("2 unmatched message(s)"), which exited 0 while its clients
    waited in theirs for ever (the job hung until killed). Each client now answers Stop with Stopped, and
    the server receives everything up to it."""
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 0, "--open-after-ready"], timeout=60)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "farm done: 0 results" in proc.stdout and rows == [] and stats["lost"] == []
    assert proc.stdout.count("stop (done) after 0 jobs") == 2


def test_client_error_is_a_failed_result_and_not_retried(tmp_path):
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 40, "--job-timeout", 30],
                             client_args=["--fault", "raise", "--fault-rank", 2, "--fault-job", 3])
    assert proc.returncode == 0, proc.stdout[-3000:]
    failed = [r for r in rows if r["error"]]
    assert failed and all(r["accuracy"] is None for r in failed)
    assert all("RuntimeError: injected failure on rank 2" in r["error"] and "client rank 2" in r["error"]
               for r in failed)
    for r in failed:                              # where it happened travels with it
        assert r["info"]["rank"] == 2 and r["info"]["host"] and r["worker"] == f"rank2@{r['info']['host']}"
        assert "Traceback" in r["info"]["traceback"] and "injected failure" in r["info"]["traceback"]
    assert len(rows) == 40 and len({r["hash"] for r in rows}) == 40     # no cell retried
    assert stats["failures"] == len(failed) and stats["requeued"] == 0


def test_client_lost_mid_job_is_requeued_and_run_completes(tmp_path):
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 40, "--job-timeout", 2],
                             client_args=["--fault", "exit", "--fault-rank", 2, "--fault-job", 3,
                                          "--simulate-time", 1e-5])
    out = proc.stdout
    assert "missed the 2 s deadline" in out and "farm done: 40 results" in out, out[-3000:]
    assert proc.returncode == 0                   # the job's status is the server's (the run is complete)
    assert [r["n"] for r in rows] == list(range(1, 41)) and len({r["hash"] for r in rows}) == 40
    assert not any(r["error"] for r in rows)
    assert stats["lost"] == [2] and stats["requeued"] == 1 and stats["timed_out"] == 1
    assert rows[-1]["worker"].startswith("rank1")


def test_client_lost_mid_job_without_a_deadline_is_found_by_its_missing_heartbeats(tmp_path):
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 30, "--heartbeat-timeout", 1.5],
                             client_args=["--fault", "exit", "--fault-rank", 2, "--fault-job", 3,
                                          "--simulate-time", 1e-5])
    out = proc.stdout
    assert "client 2 (" in out and "sent no heartbeat for 1.5 s of job" in out, out[-3000:]
    assert "farm done: 30 results" in out and proc.returncode == 0
    assert [r["n"] for r in rows] == list(range(1, 31)) and len({r["hash"] for r in rows}) == 30
    assert stats["lost"] == [2] and stats["requeued"] == 1


def test_the_job_ends_at_once_when_a_lost_client_is_still_running(tmp_path):
    """Client 2 hangs 120 s on a job with a 1 s deadline: it is lost, the others finish the budget, and
    the job ends with status 0 right after, not when the straggler's job would have ended."""
    t0 = time.perf_counter()
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 20, "--job-timeout", 1], timeout=60,
                             client_args=["--fault", "hang", "--fault-rank", 2, "--fault-job", 2,
                                          "--fault-hang", 120, "--simulate-time", 1e-4])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert time.perf_counter() - t0 < 45
    assert "farm done: 20 results" in proc.stdout and stats["lost"] == [2]
    assert len(rows) == 20 and len({r["hash"] for r in rows}) == 20 and not any(r["error"] for r in rows)


def test_a_lost_client_still_sending_heartbeats_stays_lost(tmp_path):
    """Client 2 hangs on a job past its 1 s deadline while its heartbeat thread goes on (every 0.5 s):
    its heartbeats do not bring it back, so the job still ends right after the budget, not when the
    hung evaluation would end."""
    t0 = time.perf_counter()
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 20, "--job-timeout", 1, "--heartbeat-timeout", 3],
                             timeout=90, client_args=["--fault", "hang", "--fault-rank", 2, "--fault-job", 2,
                                                      "--fault-hang", 60, "--simulate-time", 1e-4])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert time.perf_counter() - t0 < 45
    assert "client 2 is back" not in proc.stdout and stats["lost"] == [2], stats
    assert len(rows) == 20 and len({r["hash"] for r in rows}) == 20


def test_a_slow_client_that_keeps_sending_heartbeats_is_not_lost(tmp_path):
    """A job of 4 s with a heartbeat timeout of 1.5 s: the heartbeats (every 0.25 s) keep the client."""
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 20, "--heartbeat-timeout", 1.5],
                             client_args=["--fault", "hang", "--fault-rank", 2, "--fault-job", 2,
                                          "--fault-hang", 4, "--simulate-time", 1e-5])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert stats["lost"] == [] and stats["timed_out"] == 0 and stats["requeued"] == 0, stats
    assert len(rows) == 20 and not any(r["error"] for r in rows)
    assert stats["busy"]["2"] >= 4.0


def test_late_duplicate_is_ignored(tmp_path):
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 60, "--job-timeout", 1],
                             client_args=["--fault", "hang", "--fault-rank", 2, "--fault-job", 2,
                                          "--fault-hang", 2.5, "--simulate-time", 1e-4])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert stats["requeued"] == 1 and stats["duplicates"] == 1, stats
    assert stats["lost"] == []                    # it answered late: it is back
    assert len(rows) == 60 and len({r["hash"] for r in rows}) == 60
    assert "client 2 is back" in proc.stdout


def test_a_job_lost_max_attempts_times_is_a_failed_result(tmp_path):
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 30, "--job-timeout", 1, "--max-attempts", 1],
                             client_args=["--fault", "hang", "--fault-rank", 2, "--fault-job", 2,
                                          "--fault-hang", 2.5, "--simulate-time", 1e-4])
    assert proc.returncode == 0, proc.stdout[-3000:]
    failed = [r for r in rows if r["error"]]
    assert len(failed) == 1 and failed[0]["accuracy"] is None
    assert "lost 1 times" in failed[0]["error"] and "missed the 1 s deadline" in failed[0]["error"]
    assert stats["requeued"] == 0 and stats["duplicates"] == 1        # its late answer is not counted
    assert len(rows) == 30 and len({r["hash"] for r in rows}) == 30


def test_every_client_lost_is_a_fatal_error(tmp_path):
    proc, rows, stats = farm(tmp_path, clients=1, server_args=["--budget", 10, "--job-timeout", 1],
                             client_args=["--fault", "hang", "--fault-rank", 1, "--fault-job", 1,
                                          "--fault-hang", 3])
    assert proc.returncode == 3, proc.stdout[-3000:]
    assert "every client (1) is lost" in proc.stdout
    assert stats is None and rows == []


def test_train_evaluator_through_the_farm_on_cpu(tmp_path):
    """run_client's train evaluator end to end on a tiny CIFAR-format folder: a measured accuracy."""
    from workers.cifar import write_synthetic

    cifar = write_synthetic(tmp_path / "cifar-10-batches-py", per_batch=64, test=100)
    client = ["--client", "--evaluator", "train", "--cifar", cifar, "--epochs", 1, "--batch-size", 32,
              "--stem-channels", 8, "--stacks", 1, "--modules-per-stack", 1, "--validation-size", 120,
              "--device", "cpu"]
    proc, rows, stats = farm(tmp_path / "run", clients=1, server_args=["--budget", 2, "--job-timeout", 300],
                             client_args=client, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert len(rows) == 2 and stats["failures"] == 0
    for r in rows:
        info = r["info"]
        assert r["accuracy"] == info["validation_accuracy"] and 0.0 <= r["accuracy"] <= 1.0
        assert 0.0 <= info["test_accuracy"] <= 1.0 and info["trainable_parameters"] > 0
        assert info["training_time"] > 0 and info["steps"] == 200 // 32 and info["device"] == "cpu"


def test_alphax_searcher_through_the_farm(tmp_path):
    """A real searcher (AlphaX, which retrains its predictor inside tell) with proposals asked ahead while
    results are recorded in the background: exactly the budget, no cell twice."""
    proc, rows, stats = farm(tmp_path, server_args=["--budget", 50, "--job-timeout", 60, "--algo", "alphax"],
                             client_args=["--simulate-time", 1e-5])
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert [r["n"] for r in rows] == list(range(1, 51)) and len({r["hash"] for r in rows}) == 50
    assert stats["results"] == 50 and stats["record_seconds"] > 0


def test_the_farm_benchmark_runs_each_farm_to_its_budget(run_benchmark):
    """``benchmarks/bench_farm.py`` (BENCHMARKS.md, the MPI farm) with real ``run_server.py`` and
    ``run_client.py`` processes, tiny: one client, two clients, then two clients sleeping the table's
    training time; each run ends with its budget of results."""
    runs = run_benchmark("bench_farm.py", "--harness", "real", "--budget", 20, "--sim-budget", 10)[-1]["runs"]
    assert [(r["clients"], r["budget"], r["results"]) for r in runs] == [(1, 20, 20), (2, 20, 20), (2, 10, 10)]
    assert runs[2]["simulate_time"] > 0 and all(0 < r["busy_fraction"] <= 1 for r in runs)
