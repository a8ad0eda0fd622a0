"""run_server.py + run_client.py under real ``mpiexec``: the same run folder as ``alphax search``, resume
after the server is killed, and the train evaluator end to end on CPU. Every job has a timeout and is
killed whole if it overruns."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alphax import environment

sys.path.insert(0, str(Path(__file__).resolve().parent / "mpi"))
from harness import catches, kill, mpiexec, pids, require_mpi, start, topology_files, wait  # noqa: E402

FIELDS = {"n", "hash", "matrix", "ops", "accuracy", "predicted", "seconds", "worker", "error", "info", "dispatch"}


@pytest.fixture(autouse=True)
def _mpi():
    require_mpi()


@pytest.fixture(params=["nasbench201", "nasbench101"])
def table(request) -> list:
    """The table options shared by server and clients: NAS-Bench-201 CIFAR-10, NASBench-101's subset."""
    if request.param == "nasbench201":
        return ["--space", "nasbench201", "--dataset", "cifar10"]
    from conftest import require_data

    return ["--space", "nasbench101", "--data", require_data("mpi run") / "nb101_real_subset.jsonl.gz"]


def server(table, out, *extra):
    return ["run_server.py", *table, "--algo", "random", "--seed", 0, "--out", out, *extra]


def rows_of(out: Path) -> list[dict]:
    """The rows of ``out``'s results log; a line still being written (no newline yet: the server appends
    while a test polls) is not one yet. Every complete line must parse."""
    path = out / "results.jsonl"
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text[:text.rfind("\n") + 1].splitlines()]


def test_table_farm_writes_the_common_run_folder(tmp_path, table):
    out = tmp_path / "run"
    # each look-up takes 1e-4 of its recorded training time (about 0.15 s): instant ones could all be
    # answered by the client ready first, before the other has loaded its table (seen in CI)
    proc = mpiexec((1, server(table, out, "--budget", 100, "--job-timeout", 60, "--stats", tmp_path / "farm.json",
                              "--progress", "bar")),
                   (2, ["run_client.py", "--evaluator", "table", *table, "--simulate-time", 1e-4]), timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:]
    best = "best observed=0." if "nasbench201" in table else "best=0."      # a mean over seeds judges NB201
    assert "farm: 100%" in proc.stdout and "100/100" in proc.stdout and best in proc.stdout   # the bar
    assert f"run folder: {out} (100 of 100 cells, " in proc.stdout and "optimum of the data set: " in proc.stdout
    rows = rows_of(out)
    assert len(rows) == 100 and [r["n"] for r in rows] == list(range(1, 101))
    assert all(FIELDS <= set(r) and r["dispatch"] == "mpi" and r["error"] is None for r in rows)
    assert len({r["hash"] for r in rows}) == 100
    assert all(0 < r["accuracy"] < 1 for r in rows)
    assert {r["worker"].split("@")[0] for r in rows} == {"rank1", "rank2"}
    assert (out / "config.json").exists() and (out / "checkpoint.pkl").exists()
    stats = json.loads((tmp_path / "farm.json").read_text())
    assert stats["results"] == 100 and stats["lost"] == []
    # log.txt says how it ended, as an inline run's: the best cell as the console's last lines judge it (on
    # NAS-Bench-201 by its mean over training seeds)
    printed = next(line for line in proc.stdout.splitlines() if line.startswith("best: "))
    judged = printed[len("best: "):].split("  ")[0]
    assert f"ended: 100 of 100 results, best {judged} (" in (out / "log.txt").read_text()


@pytest.mark.parametrize("table", ["nasbench201"], indirect=True)
def test_server_killed_then_resumed_loses_nothing(tmp_path, table):
    out = tmp_path / "run"
    clients = ["run_client.py", "--evaluator", "table", *table, "--simulate-time", 5e-5]
    proc = start((1, server(table, out, "--budget", 60, "--job-timeout", 60, "--checkpoint-every", 10)),
                 (2, clients))
    deadline = time.monotonic() + 120
    while len(rows_of(out)) < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    kill(proc)
    before = (out / "results.jsonl").read_text().splitlines()
    assert 20 <= len(before) < 60, "the run should have been killed mid-way"
    proc = mpiexec((1, ["run_server.py", "--resume", out, "--job-timeout", 60]), (2, clients), timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:]
    after = (out / "results.jsonl").read_text().splitlines()
    complete = [line for line in before if line.endswith("}")]
    assert after[:len(complete)] == complete                  # nothing recorded is lost or rewritten
    rows = [json.loads(line) for line in after]
    assert len(rows) == 60 and [r["n"] for r in rows] == list(range(1, 61))
    assert len({r["hash"] for r in rows}) == 60               # nothing evaluated twice
    assert "replaying" in proc.stdout                          # resumed from a checkpoint and the log


@pytest.mark.parametrize("table", ["nasbench201"], indirect=True)
def test_a_searcher_of_your_own_is_farmed_out_and_resumed_when_named(tmp_path, table):
    """``run_server.py --algo FILE.py:CLASS``: the farm asks it as any searcher, and its resume names it again."""
    algo = f"{Path(__file__).resolve().parents[1] / 'docs' / 'examples' / 'local_search.py'}:LocalSearch"
    out = tmp_path / "run"
    clients = ["run_client.py", "--evaluator", "table", *table, "--simulate-time", 1e-5]
    proc = mpiexec((1, ["run_server.py", *table, "--algo", algo, "--budget", 20, "--checkpoint-every", 7,
                        "--out", out]), (2, clients), timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:]
    proc = mpiexec((1, ["run_server.py", "--resume", out, "--budget", 30, "--algo", algo]), (1, clients), timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:]
    rows = rows_of(out)
    assert len({r["hash"] for r in rows}) == 30 and {r["dispatch"] for r in rows} == {"mpi"}
    assert "checkpoint checkpoint.pkl at n=" in (out / "log.txt").read_text()


@pytest.mark.parametrize("table", ["nasbench201"], indirect=True)
def test_sigterm_to_the_server_records_checkpoints_and_ends_the_job(tmp_path, table):
    """A batch scheduler's SIGTERM: the server records every result it received, writes a checkpoint,
    stops the clients and ends the job with 143; the run resumes from that checkpoint."""
    import os
    import signal

    from alphax.checkpoint import LATEST, checkpoint_info

    out = tmp_path / "run"
    clients = ["run_client.py", "--evaluator", "table", *table, "--simulate-time", 5e-5]
    proc = start((1, server(table, out, "--budget", 200, "--checkpoint-every", 1000,
                            "--stats", tmp_path / "farm.json")),
                 (2, clients))
    deadline = time.monotonic() + 120
    while len(rows_of(out)) < 20 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    pid = int((out / "run.lock").read_text().split()[0])
    os.kill(pid, signal.SIGTERM)
    time.sleep(0.01)          # scancel's: to every process, and mpiexec passes its copy on: one request, not two
    with contextlib.suppress(ProcessLookupError):        # (2026-12-08: the second cut the stop short)
        os.kill(pid, signal.SIGTERM)
    output = wait(proc, 60, "the job did not end after SIGTERM")
    assert proc.returncode == 143, output[-3000:]
    assert f"interrupted by SIGTERM (resume with --resume {out})" in output
    rows = rows_of(out)
    assert 20 <= len(rows) < 200 and checkpoint_info(out / LATEST)["n"] == len(rows)  # none between saves
    assert "interrupted by SIGTERM" in (out / "log.txt").read_text()
    stats = json.loads((tmp_path / "farm.json").read_text())     # --stats however the farm ends
    assert stats["results"] == len(rows) and stats["clients"] == 2
    proc = mpiexec((1, ["run_server.py", "--resume", out]), (2, clients), timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:]
    after = rows_of(out)
    assert after[:len(rows)] == rows and len(after) == 200 and len({r["hash"] for r in after}) == 200


@pytest.mark.parametrize("table", ["nasbench201"], indirect=True)
def test_a_client_stopped_with_sigterm_leaves_and_the_run_goes_on(tmp_path, table):
    """A client that gets SIGTERM (a scheduler reclaiming its node) tells the server and exits with a
    status, so the job survives it (MPICH ends the whole job when a process dies by a signal); the
    server requeues its job at once and finishes the run with the other client."""
    import os
    import signal

    out = tmp_path / "run"
    clients = ["run_client.py", "--evaluator", "table", *table, "--simulate-time", 5e-5]
    proc = start((1, server(table, out, "--budget", 120, "--stats", tmp_path / "farm.json")), (2, clients))
    deadline = time.monotonic() + 120
    while len(rows_of(out)) < 15 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    victims = pids(proc, "run_client.py")
    assert len(victims) == 2, victims
    os.kill(victims[-1], signal.SIGTERM)
    output = wait(proc, 120, "the job did not finish")
    assert "left on SIGTERM" in output and "left the farm on SIGTERM" in output, output[-3000:]
    assert proc.returncode == 0, output[-3000:]                # the run finished: the job's status is 0
    rows = rows_of(out)
    assert [r["n"] for r in rows] == list(range(1, 121)) and len({r["hash"] for r in rows}) == 120
    assert not any(r["error"] for r in rows)
    stats = json.loads((tmp_path / "farm.json").read_text())
    assert stats["results"] == 120 and len(stats["lost"]) == 1 and stats["left"] == stats["lost"]
    assert f"lost clients none, clients that left {stats['left']}" in output, output[-3000:]
    assert f"ending the job: client {stats['left'][0]} left; every result is recorded" in output, output[-3000:]



@pytest.mark.parametrize("table", ["nasbench101"], indirect=True)
def test_a_client_stopped_while_it_loads_its_table_leaves_too(tmp_path, table):
    """SIGTERM to a client still loading its data (seconds for the NASBench-101 subset): it leaves with a
    status before its Ready instead of dying by the signal (which would end the whole job); the server
    marks it lost and runs on the other client."""
    import os
    import signal

    out = tmp_path / "run"
    proc = start((1, server(table, out, "--budget", 30)), (2, ["run_client.py", "--evaluator", "table", *table]))
    deadline, victim = time.monotonic() + 60, None
    while victim is None and time.monotonic() < deadline and proc.poll() is None:
        victim = next((p for p in pids(proc, "run_client.py") if catches(p, signal.SIGTERM)), None)
        time.sleep(0.005)
    assert victim is not None, "no client installed its SIGTERM handler"
    os.kill(victim, signal.SIGTERM)
    output = wait(proc, 120, "the job did not finish")
    assert "left on SIGTERM before it was ready" in output, output[-3000:]
    assert "left the farm on SIGTERM" in output and "Traceback" not in output, output[-3000:]
    assert proc.returncode == 0, output[-3000:]
    rows = rows_of(out)
    assert [r["n"] for r in rows] == list(range(1, 31))
    assert len({r["worker"] for r in rows}) == 1                # the other client did every job

TINY_TRAINING = ["--epochs", 1, "--batch-size", 32, "--stem-channels", 8, "--stacks", 1, "--modules-per-stack", 1,
                 "--validation-size", 120]


def test_train_evaluator_end_to_end_on_cpu(tmp_path):
    from workers.cifar import write_synthetic

    cifar = write_synthetic(tmp_path / "cifar-10-batches-py", per_batch=64, test=100)
    out = tmp_path / "run"
    proc = mpiexec(
        (1, ["run_server.py", "--space", "nasbench101", "--evaluator", "train", "--algo", "random",
             "--budget", 2, "--seed", 0, "--out", out, "--job-timeout", 300, *TINY_TRAINING]),
        (1, ["run_client.py", "--evaluator", "train", "--cifar", cifar, *TINY_TRAINING, "--device", "cpu"]),
        timeout=300, env={"OMP_NUM_THREADS": ""})      # unset: the client takes its share of the CPUs
    assert proc.returncode == 0, proc.stdout[-3000:]
    rows = rows_of(out)
    assert len(rows) == 2
    for r in rows:
        assert r["accuracy"] is not None and 0.0 <= r["accuracy"] <= 1.0   # a measured validation accuracy
        assert r["accuracy"] == r["info"]["validation_accuracy"] and 0.0 <= r["info"]["test_accuracy"] <= 1.0
        assert r["seconds"] > 0 and r["worker"].startswith("rank1")
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["epochs"] == 1 and config["train"]["stem_channels"] == 8   # how the results were made
    # each client's device and its model, in the server's log (the GPU a client's local rank gave it), and
    # in every result; on the CPU its threads: its share of the node's CPUs with the server's process
    model = environment.software()["cpu"]
    alone = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"], text=True,
                           env={k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"},
                           capture_output=True, check=True).stdout      # torch's threads alone on this machine
    threads = max(1, min(len(os.sched_getaffinity(0)) // 2, int(alone)))
    said = ", ".join([*([model] if model else []), f"{threads} thread{'s' if threads != 1 else ''}"])
    assert re.search(r"INFO workers\.server: client 1 ready on \S+ \(pid \d+\): train on cpu " +
                     re.escape(f"({said})") + "$", (out / "log.txt").read_text(), re.M)
    assert {r["info"]["device_name"] for r in rows} == {model}

    # a client with other images (here a smaller copy) is refused: the run's are those its results were
    # trained on, which each logs
    other = write_synthetic(tmp_path / "other", per_batch=40, test=100, seed=1)
    proc = mpiexec((1, ["run_server.py", "--resume", out, "--budget", 4, "--job-timeout", 300]),
                   (1, ["run_client.py", "--evaluator", "train", "--cifar", other, *TINY_TRAINING, "--device", "cpu"]),
                   timeout=300)
    assert proc.returncode != 0 and "cifar_data: run '200+120+100:" in proc.stdout and \
        "(that of its results), client '80+120+100:" in proc.stdout and "other CIFAR-10 images" in proc.stdout, \
        proc.stdout[-3000:]
    assert len(rows_of(out)) == 2


def test_a_client_that_evaluates_unlike_the_run_is_refused(tmp_path, table):
    out = tmp_path / "run"
    proc = mpiexec((1, server(table, out, "--budget", 20)),
                   (1, ["run_client.py", "--evaluator", "table", *table, "--eval-seed", 1]),
                   keep_alive=False, timeout=120)
    assert proc.returncode != 0
    assert "run_server.py: error: client 1 on" in proc.stdout and "eval_seed: run 0, client 1" in proc.stdout
    assert rows_of(out) == [] and (out / "config.json").exists()
    before = (out / "config.json").read_bytes()
    proc = mpiexec((1, ["run_server.py", "--resume", out, "--budget", 30]),      # a resume refused the same way
                   (1, ["run_client.py", "--evaluator", "table", *table, "--eval-seed", 1]),
                   keep_alive=False, timeout=120)
    assert proc.returncode != 0 and "eval_seed: run 0, client 1" in proc.stdout
    assert (out / "config.json").read_bytes() == before       # its budget (20) is not the refused resume's


def test_a_client_whose_table_has_the_same_cells_with_other_results_is_refused(tmp_path):
    """Same cells, one accuracy changed (another version of the data): the client's results would be
    logged under a config.json that names the server's table. Refused, naming what differs."""
    import gzip

    from conftest import require_data

    subset = require_data("mpi run") / "nb101_real_subset.jsonl.gz"
    with gzip.open(subset, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    rows[7]["metrics"]["108"]["validation_accuracy"] -= 0.01
    altered = tmp_path / "altered.jsonl.gz"
    with gzip.open(altered, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    table = ["--space", "nasbench101", "--data", subset]
    out, stats = tmp_path / "run", tmp_path / "farm.json"
    proc = mpiexec((1, server(table, out, "--budget", 20, "--stats", stats)),
                   (1, ["run_client.py", "--evaluator", "table", "--space", "nasbench101", "--data", altered]),
                   keep_alive=False, timeout=120)
    assert proc.returncode != 0 and rows_of(out) == []
    assert "does not evaluate as the run does: table's results: the same cells with other values (another " \
        "file or version of the data). Give run_client.py the same" in proc.stdout
    assert not stats.exists()                  # a refused start has no statistics, and would block the rerun
    # the client fixed, the same command again: the run that never started is continued, not refused
    proc = mpiexec((1, server(table, out, "--budget", 20, "--stats", stats)),
                   (1, ["run_client.py", "--evaluator", "table", "--space", "nasbench101", "--data", subset]),
                   timeout=120)
    assert proc.returncode == 0 and f"run folder: {out} (20 of 20 cells" in proc.stdout, proc.stdout[-3000:]
    assert json.loads(stats.read_text())["results"] == 20
    assert [r["n"] for r in rows_of(out)] == list(range(1, 21))
    assert "no result yet (it never got to evaluate a cell): continuing it" in (out / "log.txt").read_text()


def test_the_server_warns_of_two_clients_on_one_gpu(tmp_path):
    """Clients 1 and 3 say they evaluate on the same GPU (its UUID, as a training client sends it), client 2
    on another: the server's log (console and log.txt) names the two sharing one, once; the run goes on."""
    table = ["--space", "nasbench201", "--dataset", "cifar10"]
    out = tmp_path / "run"
    gpus = {"1": "GPU-1111", "2": "GPU-2222", "3": "GPU-1111"}
    # jobs of 1-3 s (the table's training times x 1e-3): a client that starts a second or two after the
    # others still joins before the budget is done (with instant jobs two clients could finish it first)
    proc = mpiexec((1, server(table, out, "--budget", 6)),
                   (3, ["tests/mpi/gpu_client.py", "--evaluator", "table", *table, "--simulate-time", 1e-3]),
                   env={"ALPHAX_TEST_GPU": json.dumps(gpus)}, timeout=120)
    assert proc.returncode == 0 and f"run folder: {out} (6 of 6 cells" in proc.stdout, proc.stdout[-3000:]
    log = (out / "log.txt").read_text()
    assert re.search(r"INFO workers\.server: client 2 ready on \S+ \(pid \d+\): table, sleeping 0\.001 x its "
                     r"training time, as if on GPU GPU-2222$",
                     log, re.M)
    warned = re.findall(r"WARNING workers\.server: client (\d) on \S+ trains on the same GPU as client (\d) "
                        r"\(GPU-1111\): they share it", log)
    assert sorted(map(sorted, warned)) == [["1", "3"]], log
    assert len(re.findall("trains on the same GPU", proc.stdout)) == 1


def test_every_client_lost_ends_the_server_with_its_message(tmp_path):
    """One client whose job outlasts --job-timeout (a simulated training of hours): the server says so
    and exits 1; the run folder stays, ready to resume."""
    table = ["--space", "nasbench201", "--dataset", "cifar10"]
    out = tmp_path / "run"
    proc = mpiexec((1, server(table, out, "--budget", 10, "--job-timeout", 1, "--stats", tmp_path / "farm.json")),
                   (1, ["run_client.py", "--evaluator", "table", *table, "--simulate-time", 1000]),
                   keep_alive=False, timeout=120)
    assert proc.returncode != 0
    assert "run_server.py: error: every client (1) is lost" in proc.stdout, proc.stdout[-3000:]
    assert "(--job-timeout 1)" in proc.stdout and f"then resume with run_server.py --resume {out}" in proc.stdout
    assert (out / "config.json").exists() and rows_of(out) == []
    log = (out / "log.txt").read_text()     # the reason is on disk before the abort, whatever the console kept
    assert re.search(r"INFO workers\.server: client 1 ready on \S+ \(pid \d+\): table, sleeping 1000 x its "
                     r"training time$", log, re.M)
    assert "ERROR run_server: run_server.py: error: every client (1) is lost" in log.splitlines()[-1]
    stats = json.loads((tmp_path / "farm.json").read_text())
    assert stats["results"] == 0 and stats["lost"] == [1] and stats["timed_out"] == 1


@pytest.mark.parametrize("keep_alive", [False, True], ids=["auto-cleanup", "disable-auto-cleanup"])
def test_client_that_cannot_start_ends_the_job_with_its_message(tmp_path, keep_alive):
    """The client prints why and tells the server (CannotStart), which stops the job with the same message;
    the client then exits normally, so mpiexec passes on its output before the job ends."""
    proc = mpiexec(
        (1, ["run_server.py", "--space", "nasbench101", "--evaluator", "train", "--algo", "random",
             "--budget", 2, "--out", tmp_path / "run"]),
        (1, ["run_client.py", "--evaluator", "train", "--cifar", tmp_path / "missing", "--device", "cpu"]),
        keep_alive=keep_alive, timeout=120)
    assert proc.returncode != 0
    assert "run_client.py (rank 1): error: CIFAR-10 folder" in proc.stdout and "does not exist" in proc.stdout
    if keep_alive:   # the server outlives the client's exit and reports it (while it may still be opening
        # its run: whether log.txt gets the line too depends on which came first; the ending line in log.txt is
        # test_every_client_lost_ends_the_server_with_its_message's)
        assert "run_server.py: error: client 1 on" in proc.stdout and "could not start: CIFAR-10 folder" in proc.stdout
    assert rows_of(tmp_path / "run") == []


def test_a_client_failing_unexpectedly_at_start_still_tells_the_server(tmp_path):
    """Not bad input but a fault of the machine (a GPU that fails to initialise raises RuntimeError): the
    client still sends CannotStart, so the job ends at once with the reason, instead of the server waiting
    out its startup timeout."""
    from workers.cifar import write_synthetic

    cifar = write_synthetic(tmp_path / "cifar", per_batch=64, test=100)
    t0 = time.monotonic()
    proc = mpiexec(
        (1, ["run_server.py", "--space", "nasbench101", "--evaluator", "train", "--algo", "random",
             "--budget", 2, "--out", tmp_path / "run"]),
        (1, ["tests/mpi/broken_device_client.py", "--evaluator", "train", "--cifar", cifar, "--device", "cpu"]),
        timeout=120)
    assert proc.returncode != 0 and time.monotonic() - t0 < 90, proc.stdout[-3000:]
    assert "run_client.py (rank 1): error: RuntimeError: CUDA error: initialization error (injected)" in proc.stdout
    assert "could not start: RuntimeError: CUDA error" in proc.stdout, proc.stdout[-3000:]
    assert rows_of(tmp_path / "run") == []


@pytest.mark.parametrize("table", ["nasbench201"], indirect=True)
def test_a_bad_option_on_either_side_ends_the_whole_job(tmp_path, table):
    """argparse's error on one side of the job used to leave the other side waiting for it forever."""
    clients = ["run_client.py", "--evaluator", "table", *table]
    proc = mpiexec((1, server(table, tmp_path / "a", "--budget", 5, "--max-attempts", 0)), (1, clients), timeout=60)
    assert proc.returncode == 2 and "argument --max-attempts: expected a positive integer" in proc.stdout
    assert not (tmp_path / "a").exists()
    proc = mpiexec((1, server(table, tmp_path / "b", "--budget", 5)), (1, [*clients, "--simulate-time", -1]),
                   timeout=60)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert ("run_server.py: error: client 1 on" in proc.stdout
            and "could not start: bad option: argument --simulate-time: expected a number >= 0" in proc.stdout)
    assert rows_of(tmp_path / "b") == []


def test_a_server_without_clients_refuses_before_making_the_run_folder(tmp_path):
    import subprocess

    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "run_server.py", "--budget", "3", "--out", str(out)],
                          cwd=Path(__file__).parents[1], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "run_server.py: error: no clients: launch with 'mpiexec" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()
    assert len(proc.stderr.splitlines()) == 1, proc.stderr          # no MPI_Abort's own line after it
    # a bad --option is said first, not after the user has launched a whole farm to find it
    proc = subprocess.run([sys.executable, "run_server.py", "--budget", "3", "--option", "foo=1", "--out", str(out)],
                          cwd=Path(__file__).parents[1], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "no clients" not in proc.stderr, proc.stderr
    assert "run_server.py: error: bad option for --algo alphax: unknown option 'foo'" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists() and len(proc.stderr.splitlines()) == 1, proc.stderr
    # and so is an option --resume does not take (2026-12-08: "no clients" came first)
    proc = subprocess.run([sys.executable, "run_server.py", "--resume", str(out), "--seed", "3"],
                          cwd=Path(__file__).parents[1], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "no clients" not in proc.stderr, proc.stderr
    assert "--resume continues with the options in" in proc.stderr and "(got --seed)" in proc.stderr, proc.stderr


def test_two_servers_and_no_client_end_the_job_at_once(tmp_path):
    """`mpiexec -n 2 python run_server.py ...` (the `: -n K python run_client.py` forgotten): rank 1 says
    so and ends the job, rather than rank 0 waiting for a client until its --startup-timeout (600 s)."""
    t0 = time.monotonic()
    proc = mpiexec((2, server(["--space", "nasbench201"], tmp_path / "run", "--budget", 5)), timeout=60)
    assert proc.returncode == 2, proc.stdout[-3000:]
    assert "run_server.py: error: the server must be rank 0, and only it: mpiexec -n 1 python run_server.py" \
           in proc.stdout
    assert time.monotonic() - t0 < 45


def test_clients_end_the_job_when_the_server_never_answers_their_ready(tmp_path):
    """A server that died at start can be left unreaped by MPICH's Hydra, which then never ends the job;
    here rank 0 only sleeps. The clients give up after --startup-timeout and end the job with the reason."""
    t0 = time.monotonic()
    silent = ["-c", "import time; from mpi4py import MPI; time.sleep(300)"]
    proc = mpiexec((1, silent), (2, ["run_client.py", "--evaluator", "table", "--space", "nasbench201",
                                     "--startup-timeout", 3]), timeout=120)
    assert proc.returncode != 0 and time.monotonic() - t0 < 100, proc.stdout[-3000:]
    assert "error: no word from the server (rank 0) in the 3 s since this client was ready (--startup-timeout)" \
        in proc.stdout, proc.stdout[-3000:]


def _stop_the_server_at(proc, out: Path, rows: int) -> int:
    """SIGSTOP the job's server once ``out`` holds ``rows`` results (or after 120 s); returns its pid."""
    deadline = time.monotonic() + 120
    while len(rows_of(out)) < rows and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    server_pid, = pids(proc, "run_server.py")
    os.kill(server_pid, signal.SIGSTOP)
    return server_pid


def test_clients_end_the_job_when_the_server_goes_silent_mid_run(tmp_path):
    """A server that dies mid-run (SIGKILL, the OOM killer) can be left unreaped by MPICH's Hydra, and a
    hung one never answers: here it is stopped (SIGSTOP). Its clients, waiting for work, hear no keep-alive
    for their --server-timeout and end the job with the reason instead of holding it for ever."""
    table = ["--space", "nasbench201", "--dataset", "cifar10"]
    out = tmp_path / "run"
    proc = start((1, server(table, out, "--budget", 3000)),
                 (2, ["run_client.py", "--evaluator", "table", *table, "--server-timeout", 3]))
    try:
        _stop_the_server_at(proc, out, 20)
        t0 = time.monotonic()
        output, _ = proc.communicate(timeout=90)
    finally:
        kill(proc) if proc.poll() is None else None
    assert proc.returncode != 0 and time.monotonic() - t0 < 60, output[-3000:]
    assert ("error: no word from the server (rank 0) in the 3 s this client has waited for work (--server-timeout"
            in output), output[-3000:]


def test_a_live_server_keeps_its_waiting_clients_with_keep_alives(tmp_path):
    """A client with nothing to do while another one trains hears the server's keep-alives, so a short
    --server-timeout does not end a healthy job: budget 2, both jobs sent at once, and the client with
    the shorter one waits for the other (the recorded training times, scaled) longer than that timeout."""
    from conftest import require_data

    table = ["--space", "nasbench101", "--data", require_data("mpi run") / "nb101_real_subset.jsonl.gz"]
    out = tmp_path / "run"
    proc = mpiexec((1, server(table, out, "--budget", 2)),
                   (2, ["run_client.py", "--evaluator", "table", *table, "--simulate-time", 0.004,
                        "--server-timeout", 1.5]), timeout=180)
    assert proc.returncode == 0 and "no word from the server" not in proc.stdout, proc.stdout[-3000:]
    rows = rows_of(out)
    assert len(rows) == 2 and len({r["worker"] for r in rows}) == 2
    waited = abs(rows[0]["seconds"] - rows[1]["seconds"])
    assert waited > 3, f"the shorter job's client waited {waited:.2f} s, not past --server-timeout: proves nothing"


def test_a_stats_file_that_could_not_be_written_is_refused_at_the_start(tmp_path):
    import subprocess

    (tmp_path / "kept.json").write_text("precious")
    for stats, message in ((tmp_path / "no" / "farm.json", "no folder"), (tmp_path, "is a folder"),
                           (tmp_path / "kept.json", "exists: give a new file name")):
        proc = subprocess.run([sys.executable, "run_server.py", "--budget", "3", "--out", str(tmp_path / "run"),
                               "--stats", str(stats)], cwd=Path(__file__).parents[1], capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 2 and "run_server.py: error: argument --stats: " in proc.stderr, proc.stderr
        assert message in proc.stderr and not (tmp_path / "run").exists()
    assert (tmp_path / "kept.json").read_text() == "precious"


@pytest.mark.parametrize("script", ["run_server.py", "run_client.py"])
def test_an_mpiexec_of_another_mpi_is_named_as_the_cause(tmp_path, script):
    """An mpiexec of another MPI than mpi4py's starts every process alone (a world of 1, each rank 0),
    with its own launcher's size in the environment (here Open MPI's, beside our MPICH): the error says
    so and names the mpiexec to use, instead of 'no clients'."""
    import subprocess

    out = tmp_path / "run"
    args = ["--budget", "3", "--out", str(out)] if script == "run_server.py" else ["--evaluator", "table"]
    proc = subprocess.run([sys.executable, script, *args], cwd=Path(__file__).parents[1], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "OMPI_COMM_WORLD_SIZE": "3"})
    assert proc.returncode in (1, 2), proc.stderr
    assert (f"{script}: error: mpiexec started 3 processes (OMPI_COMM_WORLD_SIZE=3) but MPI sees 1: the mpiexec "
            "on PATH" in proc.stderr and "does not belong to the MPI that mpi4py uses (MPICH" in proc.stderr
            and "launch with " in proc.stderr), proc.stderr
    assert "no clients" not in proc.stderr and "Traceback" not in proc.stderr and not out.exists()


def _farm_run_with(out: Path, results: int, config) -> Path:
    """A farm's run folder (``dispatch="mpi"``) holding ``results`` results of ``config``, made in this process."""
    from alphax.runfolder import create_run

    with create_run(config, out, dispatch="mpi") as run:
        for _ in range(results):
            proposal, seconds = run.ask()
            run.record(proposal, run.evaluator.evaluate(proposal.cell), ask_seconds=seconds)
    return out


def test_a_resume_whose_budget_is_already_reached_saves_it(tmp_path):
    """--resume DIR --budget N with N results logged (a budget lowered to wrap a run up): the farm has
    nothing to do, and config.json takes N all the same (a later --resume must not go on to the old one)."""
    from alphax.config import SearchConfig
    table = ["--space", "nasbench201", "--dataset", "cifar10"]
    out = _farm_run_with(tmp_path / "run", 10, SearchConfig(space="nasbench201", dataset="cifar10", algo="random",
                                                            budget=30))
    proc = mpiexec((1, ["run_server.py", "--resume", out, "--budget", 10]),
                   (1, ["run_client.py", "--evaluator", "table", *table]), timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f"run folder: {out} (10 of 10 cells" in proc.stdout
    assert json.loads((out / "config.json").read_text())["budget"] == 10 and len(rows_of(out)) == 10


def test_a_file_error_mid_run_is_one_line_naming_it_not_an_internal_error(tmp_path):
    """An OSError while the farm runs (here the checkpoint's rotation onto a folder standing where the
    previous checkpoint goes; a full disk is the same kind): one line naming both files, as alphax search
    says it, not run_server.py's internal-error traceback; every result received stays logged."""
    from alphax.config import SearchConfig

    table = ["--space", "nasbench201", "--dataset", "cifar10"]
    out = _farm_run_with(tmp_path / "run", 5, SearchConfig(space="nasbench201", dataset="cifar10", algo="random",
                                                           budget=30, checkpoint_every=5))
    (out / "checkpoint.prev.pkl").unlink(missing_ok=True)
    (out / "checkpoint.prev.pkl" / "x").mkdir(parents=True)
    proc = mpiexec((1, ["run_server.py", "--resume", out]),
                   (1, ["run_client.py", "--evaluator", "table", *table]), timeout=120)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert (f"run_server.py: error: {out / 'checkpoint.pkl'} -> {out / 'checkpoint.prev.pkl'}: Is a directory; "
            "check the path" in proc.stdout), proc.stdout[-3000:]
    assert "internal error" not in proc.stdout and "Traceback" not in proc.stdout, proc.stdout[-3000:]
    assert len(rows_of(out)) >= 10 and not (out / "checkpoint.pkl.tmp").exists()


def test_the_gpu_farm_check_script_runs_its_stop_and_resume_on_a_cpu(tmp_path):
    """``benchmarks/gpu_farm_check.sh`` (run on GPUs, BENCHMARKS.md) in its CPU form: a real farm of two
    training clients stopped by SIGTERM and resumed ends with its 8 unique cells; a used folder is refused."""
    import subprocess

    env = {**os.environ, "DEVICE": "cpu", "TINY": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    script = Path(__file__).parents[1] / "benchmarks" / "gpu_farm_check.sh"
    proc = subprocess.run(["bash", str(script), "2", str(tmp_path)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["rows"] == summary["unique"] == 8 and summary["failed"] == 0 and summary["devices"] == ["cpu"]
    assert summary["models"] == [str(environment.software()["cpu"])]
    assert "SIGTERM to mpiexec with" in proc.stdout and "resumed job: exit 0" in proc.stdout
    # the server's log names each client's device, in the first job and in the resumed one
    assert proc.stdout.count("server log: ") == 4 and proc.stdout.count(": train on cpu") == 4, proc.stdout[-3000:]
    again = subprocess.run(["bash", str(script), "2", str(tmp_path)], capture_output=True, text=True, env=env,
                           timeout=60)
    assert again.returncode == 2 and "exists: give a new WORKDIR" in again.stderr


def test_the_farms_failure_count_follows_the_logged_rows(tmp_path):
    """A result whose accuracy is not finite is logged as failed by the run; the farm's count (its
    --stats, closing and progress lines) says so too; while a batch is recorded, the count of results
    received (the stopping line's) counts each once. Run in a process of its own (MPI initialised alone)."""
    import subprocess

    code = f"""
import collections, json
from pathlib import Path
from alphax.config import SearchConfig
from alphax.runfolder import create_run
from alphax.searchers.base import Result
from mpi4py import MPI
from workers.server import _Farm

run = create_run(SearchConfig(space="nasbench201", dataset="cifar10", algo="random", budget=3),
                 Path({str(tmp_path / "run")!r}), dispatch="mpi")
farm = _Farm(run, MPI.COMM_WORLD, job_timeout=None, heartbeat_timeout=None, max_attempts=2, startup_timeout=1)
a, b = run.searcher.ask(2)
received, record = [], run.record
run.record = lambda *args: (received.append(farm._received()), record(*args))[1]
farm.recording_count = 2                  # as _record sets it for the recorder thread
farm._record_batch([(a, Result(accuracy=float("nan"), worker="rank1@x")), (b, Result(accuracy=0.9, worker="rank1@x"))])
run.close()
print(json.dumps({{"failures": farm.stats.failures, "results": farm.stats.results, "received": received,
                  "after": farm._received()}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[1], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the results received (the stopping line's count) stay 2 while the batch is recorded, not 2 + those done
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"failures": 1, "results": 2, "received": [2, 2],
                                                                  "after": 2}
    rows = rows_of(tmp_path / "run")
    assert [r["error"] is not None for r in rows] == [True, False] and "non-finite" in rows[0]["error"]


def test_a_client_still_on_a_copy_of_an_answered_job_does_not_keep_the_job_alive(tmp_path):
    """Client 2 freezes (SIGSTOP, heartbeats too) for 4 s on its second job: it is taken for lost and the
    job goes to client 1, which takes 300 s over that copy; client 2 wakes, answers first (recorded, it is
    back) and does the rest. Once the budget is reached the job ends at once, with status 0, rather than
    wait for a copy nobody wants (or for good: a busy client's heartbeats to a server gone block it)."""
    out, table = tmp_path / "run", ["--space", "nasbench201", "--dataset", "cifar10"]
    fault = dict(mode="freeze", rank=2, job=2, hang=4, mark=str(tmp_path / "frozen"), copy=300,
                 together=str(tmp_path / "clients-ready"))
    t0 = time.perf_counter()
    proc = start((1, server(table, out, "--budget", 12, "--heartbeat-timeout", 1.5, "--stats", tmp_path / "farm.json")),
                 (2, ["tests/mpi/faulty_client.py", "--evaluator", "table", *table]),
                 env={"ALPHAX_TEST_FAULT": json.dumps(fault)})
    held = set()
    while not held and proc.poll() is None and time.perf_counter() - t0 < 30:
        held = topology_files(proc)
        time.sleep(0.02)
    output = wait(proc, 120, "the job did not end")
    assert proc.returncode == 0, output[-3000:]
    assert time.perf_counter() - t0 < 60
    assert "client 2 is back" in output
    assert "ending the job: client 1 still evaluating a copy of a job already answered; every result is " \
           "recorded" in output, output[-3000:]
    # the job ends by MPI_Abort(0), after which Hydra would leave its hwloc topology file in /tmp
    assert held and not any(os.path.exists(f) for f in held), held
    stats = json.loads((tmp_path / "farm.json").read_text())
    assert stats["lost"] == [] and stats["abandoned"] == [1] and stats["requeued"] == 1, stats
    rows = rows_of(out)
    assert [r["n"] for r in rows] == list(range(1, 13)) and len({r["hash"] for r in rows}) == 12
    frozen = (tmp_path / "frozen").read_text()
    assert [r["worker"].split("@")[0] for r in rows if r["hash"] == frozen] == ["rank2"]


def test_a_server_stopped_past_the_heartbeat_timeout_keeps_its_busy_clients(tmp_path):
    """A server stopped (SIGSTOP; a suspended batch job, a frozen VM) for longer than --heartbeat-timeout
    while its clients train: their heartbeats and answers wait in its queue, unread, and the stop is not
    theirs to answer for. Once continued, the farm goes on with every client (it once marked them all lost
    on its first turn and aborted the job, throwing away their work)."""
    table = ["--space", "nasbench201", "--dataset", "cifar10"]
    out = tmp_path / "run"
    proc = start((1, server(table, out, "--budget", 8, "--heartbeat-timeout", 2)),
                 (2, ["run_client.py", "--evaluator", "table", *table, "--simulate-time", 0.002]))
    try:
        server_pid = _stop_the_server_at(proc, out, 2)
        time.sleep(6)
        os.kill(server_pid, signal.SIGCONT)
        output, _ = proc.communicate(timeout=120)
    finally:
        kill(proc) if proc.poll() is None else None
    assert proc.returncode == 0 and "marked lost" not in output, output[-3000:]
    rows = rows_of(out)
    assert len(rows) == 8 and len({r["hash"] for r in rows}) == 8
    assert all(r["accuracy"] is not None for r in rows)


def test_a_client_that_cannot_start_is_heard_while_the_server_opens_its_run():
    """A server opening its run (a pool of every NASBench-101 cell takes about 15 s) hears a client that
    could not start at once, and ends the job with its reason, instead of once the run has opened."""
    proc = mpiexec((2, ["tests/mpi/open_hearing.py"]), timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:]
    refused = next(line for line in proc.stdout.splitlines() if line.startswith("refused after"))
    assert float(refused.split()[2]) < 10, refused
    assert refused.endswith("client 1 on h could not start: CIFAR-10 folder /nowhere does not exist")
    assert "raised: no such table" in proc.stdout
