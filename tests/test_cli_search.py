"""`alphax search` end to end in subprocesses: SIGKILL mid-run then --resume gives the uninterrupted run's
sequence; bad options and bad run folders give one clear line and a non-zero exit."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alphax.errors import ConfigError
from alphax.checkpoint import LATEST, PREVIOUS, checkpoint_info, save_checkpoint
from alphax.runlog import read_results
from alphax.spec import CellSpec

NB201 = ["--space", "nasbench201", "--dataset", "cifar10", "--no-progress"]


def hashes(folder) -> list[str]:
    return [r["hash"] for r in read_results(folder)]


def lines(folder) -> int:
    path = folder / "results.jsonl"
    return path.read_text().count("\n") if path.exists() else 0


def test_sigkill_then_resume_evaluates_the_same_sequence_as_an_uninterrupted_run(tmp_path, run_cli):
    """AlphaX (MCTS + a torch predictor, pickled in the checkpoint) killed with SIGKILL mid-run."""
    args = [*NB201, "--algo", "alphax", "--budget", 45, "--seed", 1, "--checkpoint-every", 10]
    ref = tmp_path / "ref"
    proc = run_cli("search", *args, "--out", ref, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    reference = hashes(ref)
    assert len(reference) == len(set(reference)) == 45

    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "alphax.cli", "search", *map(str, args), "--out", str(run)]
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while lines(run) < 25 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    before = (run / "results.jsonl").read_text().splitlines()
    assert 25 <= len(before) < 45, "the run should have been killed mid-way"
    assert checkpoint_info(run / LATEST)["n"] >= 20           # the checkpoint holds a trained predictor

    proc = run_cli("search", "--resume", run, "--no-progress", timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    after = (run / "results.jsonl").read_text().splitlines()
    complete = [line for line in before if line.endswith("}")]
    assert after[:len(complete)] == complete                  # nothing written is lost or rewritten
    assert hashes(run) == reference                           # the same cells, in the same order
    rows = read_results(run)
    assert [r["n"] for r in rows] == list(range(1, 46))
    assert (run / "predictor.jsonl").exists()
    # the rows logged after the last checkpoint were replayed: their searcher time is timed again, so the
    # statistics cover every result
    assert len(json.loads((run / "stats.json").read_text())["searcher_seconds"]) == 45


def test_sigterm_checkpoints_and_resume_finishes_the_budget(tmp_path, run_cli):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "alphax.cli", "search", *NB201, "--algo", "evolution", "--budget", "3000",
           "--checkpoint-every", "1000", "--out", str(run)]
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while lines(run) < 30 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 143 and "interrupted by SIGTERM" in err, err[-2000:]     # 128 + SIGTERM
    n = len(read_results(run))
    assert 30 <= n < 3000 and checkpoint_info(run / LATEST)["n"] == n     # checkpointed where it stopped
    proc = run_cli("search", "--resume", run, "--budget", n + 20, "--no-progress", timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(set(hashes(run))) == n + 20
    assert json.loads((run / "config.json").read_text())["budget"] == n + 20
    text = (run / "log.txt").read_text()                   # the run's story, appended across the resume
    assert text.index("INFO alphax.runfolder: new run") < text.index(f"stopped at n={n}, checkpoint written") \
        < text.index(f"checkpoint checkpoint.pkl at n={n}; replaying 0 logged results")


@pytest.mark.parametrize("args, code, message", [
    (["--algo", "nope"], 2, "invalid choice"),
    (["--budget", "0"], 1, "--budget must be a positive integer"),
    (["--budget", "ten"], 2, "invalid int value"),
    (["--space", "nasbench101", "--dataset", "cifar10"], 1, "--dataset is for --space nasbench201"),
    (["--option", "nokey"], 2, "expected KEY=VALUE"),
    (["--algo", "random", "--option", "bogus=1", "--budget", "2"], 1, "bad option for --algo random"),
    (["--option", "mutate_every=-1", "--budget", "2"], 1,
     "bad option for --algo alphax: option mutate_every must be an integer >= 0"),
    (["--option", "selection=bogus", "--budget", "2"], 1,
     "bad option for --algo alphax: option selection must be one of 'guided', 'uct', got 'bogus'"),
    (["--option", "leaf_value=bogus", "--budget", "2"], 1,
     "bad option for --algo alphax: option leaf_value must be one of 'mean', 'max', got 'bogus'"),
    (["--option", "use_size=true", "--budget", "2"], 1,
     "bad option for --algo alphax: option use_size needs cells with a parameter count (--space nasbench101); "
     "NASBench201Space has none"),
    (["--option", "playouts=abc", "--budget", "40"], 1,
     "bad option for --algo alphax: option playouts must be an integer"),
    (["--option", "kappa=NaN", "--budget", "40"], 1, "option kappa must be a finite number"),
    # accepted, then an OverflowError at the second result, and at every resume (found by a bug hunt)
    (["--option", "retrain_fraction=1e308", "--budget", "40"], 1,
     "option retrain_fraction must be a finite number <= 1.0, got 1e+308"),
    (["--algo", "evolution", "--option", "tournament_size=0", "--budget", "40"], 1,
     "option tournament_size must be an integer >= 1"),
    (["--algo", "evolution", "--option", "population=3", "--budget", "2"], 1,
     "unknown option 'population' for RegularizedEvolution; its options are: duplicates, mutation_retries, "
     "population_size"),
    (["--epochs", "3"], 1, "training options need --evaluator train"),
    (["--option", "playouts=3", "--option", "playouts=4"], 1, "--option playouts is given more than once"),
])
def test_bad_options_are_one_clear_line(tmp_path, run_cli, args, code, message):
    proc = run_cli("search", *NB201, "--out", tmp_path / "run", *args, timeout=120)
    assert proc.returncode == code, proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) <= 2
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "run").exists()           # refused before anything is written


@pytest.mark.parametrize("args, message", [
    (["--cifar", "MISSING"], "MISSING does not exist"),
    ([], "--evaluator train needs --cifar DIR"),
    (["--cifar", ".", "--epochs", "-1"], "--epochs must be an integer >= 1, got -1"),
    (["--cifar", ".", "--stacks", "0"], "--stacks must be an integer in 1..6 (CIFAR-10's 32x32 images are halved"),
    (["--cifar", ".", "--stacks", "7"], "the sixth sees 1x1), got 7"),
    (["--cifar", ".", "--learning-rate", "nan"], "--learning-rate must be a positive number, got nan"),
    (["--cifar", ".", "--eval-seed", "3"], "--eval-seed picks a table's recorded training repeat; --evaluator "
                                           "train trains each cell itself: leave it out"),
])
def test_bad_training_options_are_refused_before_the_run_folder_exists(tmp_path, run_cli, args, message):
    """Otherwise the folder would exist and every resume of it fail the same way, with no way to fix it."""
    proc = run_cli("search", "--space", "nasbench101", "--evaluator", "train", *args, "--budget", 2, "--no-progress",
                   "--out", tmp_path / "run", timeout=120, cwd=tmp_path)
    assert proc.returncode == 1 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert not (tmp_path / "run").exists()


def test_an_out_path_that_cannot_be_made_is_one_clear_line(tmp_path, run_cli):
    (tmp_path / "afile").write_text("mine\n")
    proc = run_cli("search", *NB201, "--algo", "random", "--budget", 5, "--out", tmp_path / "afile" / "run",
                   timeout=120)
    assert proc.returncode == 1 and "afile/run: Not a directory" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert (tmp_path / "afile").read_text() == "mine\n"


def test_a_data_file_without_cells_is_refused_before_the_run_folder_exists(tmp_path, run_cli):
    import gzip

    empty = tmp_path / "empty.jsonl.gz"
    with gzip.open(empty, "wb"):
        pass
    # cells, but only 4-epoch results: nothing a 108-epoch search can be scored on
    chain = CellSpec([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
    early = tmp_path / "early.jsonl.gz"
    with gzip.open(early, "wt") as f:
        f.write(json.dumps({"hash": chain.hash, "matrix": chain.matrix.tolist(), "ops": chain.ops,
                            "trainable_parameters": 5, "metrics": {"4": {"validation_accuracy": 0.5}}}) + "\n")
    for data, needle in ((empty, "holds no NASBench-101 cells"),
                         (early, "has no cell with a validation accuracy to search; check --data")):
        for algo in ("alphax", "random"):
            out = tmp_path / f"{data.name}-{algo}"
            proc = run_cli("search", "--space", "nasbench101", "--data", data, "--algo", algo, "--budget", 3,
                           "--no-progress", "--out", out, timeout=120)
            assert proc.returncode == 1 and needle in proc.stderr, proc.stderr
            assert "bad option" not in proc.stderr and not out.exists()


def test_an_empty_out_is_refused_not_read_as_the_current_folder(tmp_path, run_cli):
    for cmd in (("search", "--out", ""), ("compare", "--out", ""), ("report", str(tmp_path), "--out", "")):
        proc = run_cli(*cmd, timeout=60)
        assert proc.returncode == 2 and "argument --out: an empty path" in proc.stderr, proc.stderr
    assert list(tmp_path.iterdir()) == []
    # in a run folder, an empty --resume (an unset $RUN) would continue that run; an empty report folder, report it
    run = tmp_path / "run"
    assert run_cli("search", *NB201, "--algo", "random", "--budget", 3, "--out", run, timeout=120).returncode == 0
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    for cmd, what in ((("search", "--resume", "", "--budget", 5), "argument --resume"), (("report", ""), "argument DIR")):
        proc = run_cli(*cmd, timeout=60, cwd=run)
        assert proc.returncode == 2 and f"{what}: an empty path" in proc.stderr, proc.stderr
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_checkpoint_that_cannot_be_written_is_one_line_and_in_log_txt(tmp_path, run_cli):
    run = tmp_path / "run"
    assert run_cli("search", *NB201, "--algo", "random", "--budget", 5, "--out", run, timeout=120).returncode == 0
    (run / "checkpoint.pkl.tmp").mkdir()                    # in the way of the atomic write
    before = (run / "results.jsonl").read_bytes()
    proc = run_cli("search", "--resume", run, "--budget", 8, timeout=120)
    assert proc.returncode == 1 and "checkpoint.pkl.tmp: Is a directory" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    log = (run / "log.txt").read_text().splitlines()
    assert any("ERROR alphax.cli: alphax: error:" in line and "checkpoint.pkl.tmp: Is a directory" in line
               for line in log), log[-3:]
    assert "could not be closed cleanly either" in log[-1]       # its close tried the checkpoint again
    assert (run / "results.jsonl").read_bytes().startswith(before)    # what was recorded stays
    (run / "checkpoint.pkl.tmp").rmdir()
    assert run_cli("search", "--resume", run, "--budget", 8, timeout=120).returncode == 0
    assert len(hashes(run)) == 8 == len(set(hashes(run)))


def test_bad_run_folders(tmp_path, run_cli):
    run = tmp_path / "run"
    proc = run_cli("search", *NB201, "--algo", "random", "--budget", 5, "--out", run, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "optimum of the data set" in proc.stdout and "best:" in proc.stdout
    before = (run / "results.jsonl").read_bytes()

    proc = run_cli("search", *NB201, "--budget", 5, "--out", run, timeout=120)      # never overwritten
    assert proc.returncode == 1 and "--resume" in proc.stderr
    proc = run_cli("search", "--resume", run, "--seed", 1, timeout=120)      # options come from config.json
    assert proc.returncode == 1
    assert ("only --budget, --data (where the table is now), --algo (a searcher of your own, named again) and, "
            "for a training run, --cifar and --device may be given") in proc.stderr
    proc = run_cli("search", "--resume", run, "--algo", "alphax", timeout=120)
    assert proc.returncode == 1 and "searches with random (its config.json); --algo with --resume may only name " \
                                    "that searcher again" in proc.stderr
    proc = run_cli("search", "--resume", tmp_path / "nothing", timeout=120)
    assert proc.returncode == 1 and "not a run folder" in proc.stderr
    proc = run_cli("search", "--resume", run, "--cifar", tmp_path, timeout=120)
    assert proc.returncode == 1 and "--cifar and --device are for a run that trains" in proc.stderr

    for name in (LATEST, PREVIOUS):                                                 # one corrupt checkpoint only
        (run / name).unlink(missing_ok=True)
    save_checkpoint(run, {"n": 5})
    (run / LATEST).write_bytes((run / LATEST).read_bytes()[:-4])
    corrupt = (run / LATEST).read_bytes()
    config = (run / "config.json").read_bytes()
    proc = run_cli("search", "--resume", run, "--budget", 8, "--no-progress", timeout=120)
    assert proc.returncode == 1 and "no intact checkpoint" in proc.stderr and "mv " in proc.stderr
    assert (run / LATEST).read_bytes() == corrupt and (run / "results.jsonl").read_bytes() == before
    assert (run / "config.json").read_bytes() == config      # a resume that fails changes nothing (the budget)
    (run / "bad").mkdir()                                   # the way out the message gives works
    (run / LATEST).rename(run / "bad" / LATEST)
    proc = run_cli("search", "--resume", run, "--budget", 8, "--no-progress", timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (run / "results.jsonl").read_bytes().startswith(before) and len(hashes(run)) == 8


def test_train_evaluator_inline_without_mpi(tmp_path, run_cli):
    """``alphax search --evaluator train``: the same training as the MPI clients, in one process. A pool of
    300 cells: each of this test's six processes would otherwise list and index all 423,624 (the default,
    run by test_mpi_run's training test)."""
    from workers.cifar import write_synthetic

    cifar = write_synthetic(tmp_path / "cifar-10-batches-py", per_batch=64, test=100)
    out = tmp_path / "run"
    proc = run_cli("search", "--space", "nasbench101", "--evaluator", "train", "--cifar", cifar, "--algo", "random",
                   "--pool-size", 300, "--budget", 2, "--epochs", 1, "--batch-size", 32, "--stem-channels", 8,
                   "--stacks", 1, "--modules-per-stack", 1, "--validation-size", 120, "--device", "cpu",
                   "--no-progress", "--out", out, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = read_results(out)
    assert len(rows) == 2 and all(r["dispatch"] == "inline" and r["error"] is None for r in rows)
    for r in rows:
        assert r["accuracy"] == r["info"]["validation_accuracy"] and 0.0 <= r["accuracy"] <= 1.0
        assert r["info"]["steps"] == int(200 / 32) and r["info"]["trainable_parameters"] > 0
    assert "best:" in proc.stdout

    # a resume whose --cifar cannot be read fails before config.json changes, and log.txt says why
    config_before = (out / "config.json").read_bytes()
    proc = run_cli("search", "--resume", out, "--budget", 3, "--cifar", _unreadable_cifar(tmp_path / "bad"),
                   "--no-progress", timeout=120)
    assert proc.returncode == 1 and "is not a CIFAR-10 python batch file" in proc.stderr, proc.stderr[-2000:]
    assert (out / "config.json").read_bytes() == config_before and len(read_results(out)) == 2
    assert "resume of" in (out / "log.txt").read_text() and "is not a CIFAR-10 python batch file" in \
        (out / "log.txt").read_text().splitlines()[-1]

    # the data moved (another machine): --resume takes this machine's --cifar and --device, nothing else
    moved = cifar.rename(tmp_path / "elsewhere")
    proc = run_cli("search", "--resume", out, "--budget", 3, "--no-progress", timeout=300)
    assert proc.returncode == 1 and "does not exist" in proc.stderr, proc.stderr[-2000:]
    proc = run_cli("search", "--resume", out, "--budget", 3, "--cifar", moved, "--epochs", 2, timeout=60)
    assert proc.returncode == 1 and "for a training run, --cifar and --device may be given" in proc.stderr
    assert "(got --epochs)" in proc.stderr
    proc = run_cli("search", "--resume", out, "--budget", 3, "--cifar", moved.name, "--device", "cpu", "--no-progress",
                   timeout=300, cwd=tmp_path)        # a relative --cifar is recorded as an absolute path
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [r["hash"] for r in read_results(out)][:2] == [r["hash"] for r in rows] and len(read_results(out)) == 3
    assert json.loads((out / "config.json").read_text())["train"]["cifar"] == str(moved)

    # other images (another data set, a partial copy) would mix results of two data sets: refused, by the
    # digest every training result logs of the images it was trained on
    digests = {r["info"]["cifar_data"] for r in read_results(out)}
    assert len(digests) == 1 and next(iter(digests)).startswith("200+120+100:")
    other = write_synthetic(tmp_path / "other", per_batch=64, test=100, seed=1)
    config_before = (out / "config.json").read_bytes()
    proc = run_cli("search", "--resume", out, "--budget", 4, "--cifar", other, "--no-progress", timeout=300)
    assert proc.returncode == 1 and f"--cifar {other}: its images (digest 200+120+100:" in proc.stderr \
        and "are not those the run's results were trained on" in proc.stderr, proc.stderr[-2000:]
    assert (out / "config.json").read_bytes() == config_before and len(read_results(out)) == 3


TINY_TRAINING = ("--epochs", 1, "--batch-size", 32, "--stem-channels", 8, "--stacks", 1, "--modules-per-stack", 1,
                 "--validation-size", 120, "--device", "cpu", "--no-progress")


def test_a_training_search_proposes_among_the_space_s_cells_as_on_a_table(tmp_path, run_cli):
    """With --evaluator train the searchers' pool is the space's cells (all of them by default; a seeded
    sample with --pool-size N): AlphaX then runs its guided tree over them, as on a table. --pool-size 0
    is the open mode (any valid cell); a config.json written before the option resumes in it."""
    from alphax.checkpoint import read_checkpoint
    from alphax.config import SearchConfig
    from alphax.spaces import NASBench101Space
    from workers.cifar import write_synthetic

    cifar = write_synthetic(tmp_path / "cifar-10-batches-py", per_batch=64, test=100)
    out = tmp_path / "pool"
    proc = run_cli("search", "--space", "nasbench101", "--evaluator", "train", "--cifar", cifar, "--algo", "alphax",
                   "--pool-size", 300, "--seed", 5, "--budget", 24, *TINY_TRAINING, "--out", out, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    pool = {c.hash for c in NASBench101Space().all_cells(300, seed=5)}
    rows = read_results(out)
    assert len(rows) == 24 and {r["hash"] for r in rows} <= pool
    assert all(r["predicted"] is not None for r in rows[20:])          # past the warm-up: the meta-DNN's picks
    searcher = read_checkpoint(out / LATEST, shared=NASBench101Space().all_cells(300, seed=5))["searcher"]
    assert searcher.pool.is_pool and searcher.trie and len(searcher.pool.cells) == 300
    assert json.loads((out / "config.json").read_text())["pool_size"] == 300
    assert "seed 5, pool of 300 cells" in (out / "log.txt").read_text()
    proc = run_cli("search", "--resume", out, "--pool-size", 10, "--no-progress", timeout=60)
    assert proc.returncode == 1 and "(got --pool-size)" in proc.stderr

    out = tmp_path / "open"
    proc = run_cli("search", "--space", "nasbench101", "--evaluator", "train", "--cifar", cifar, "--algo", "alphax",
                   "--pool-size", 0, "--budget", 2, *TINY_TRAINING, "--out", out, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not read_checkpoint(out / LATEST)["searcher"].pool.is_pool
    assert "seed 0, any valid cell (no pool)" in (out / "log.txt").read_text()
    config = json.loads((out / "config.json").read_text())
    del config["pool_size"]                                          # as written before the option existed
    (out / "config.json").write_text(json.dumps(config))
    assert SearchConfig.load(out / "config.json").pool_size == 0
    proc = run_cli("search", "--resume", out, "--budget", 3, "--no-progress", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(read_results(out)) == 3
    proc = run_cli("search", "--space", "nasbench101", "--pool-size", 5, "--no-progress", "--out", tmp_path / "t",
                   timeout=60)
    assert proc.returncode == 1 and "--pool-size is for --evaluator train" in proc.stderr


def _unreadable_cifar(folder):
    folder.mkdir()
    for name in ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"):
        (folder / name).write_bytes(b"not a pickle")
    return folder


def test_unreadable_cifar_files_are_refused_before_the_run_folder_exists(tmp_path, run_cli):
    """CIFAR-10 is loaded before the run folder is made: a folder left behind would refuse the same command
    once the data is fixed ("already exists")."""
    out = tmp_path / "run"
    proc = run_cli("search", "--space", "nasbench101", "--evaluator", "train", "--cifar", _unreadable_cifar(tmp_path / "c"),
                   "--algo", "random", "--budget", 2, "--no-progress", "--out", out, timeout=120)
    assert proc.returncode == 1, proc.stderr[-2000:]
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("alphax: error: ") and "is not a CIFAR-10 python batch file" in line
    assert "Traceback" not in proc.stderr and not out.exists()
    import torch

    if not torch.cuda.is_available():       # a device this machine lacks: refused at the start, no folder either
        from workers.cifar import write_synthetic

        proc = run_cli("search", "--space", "nasbench101", "--evaluator", "train", "--algo", "random",
                       "--cifar", write_synthetic(tmp_path / "ok", per_batch=64, test=100), "--device", "cuda",
                       "--budget", 2, "--no-progress", "--out", out, timeout=120)
        assert proc.returncode == 1 and "CUDA is not available" in proc.stderr and not out.exists(), proc.stderr


def test_verbose_goes_before_or_after_the_command():
    from alphax.cli import build_parser

    parser = build_parser()
    for argv in (["-v", "search"], ["search", "-v"], ["nasbench", "info", "-v"], ["report", "DIR", "--verbose"]):
        assert parser.parse_args(argv).verbose is True, argv
    assert parser.parse_args(["search"]).verbose is False


def test_found_data_is_recorded_and_a_moved_table_is_given_on_resume(tmp_path, run_cli, nb101_dir):
    """Data found through $ALPHAX_NASBENCH101 is recorded in config.json (a resume elsewhere reads the same
    file); once the table moves, --resume DIR --data NEW continues, and another table is refused."""
    import gzip
    import shutil

    here = tmp_path / "data"
    here.mkdir()
    shutil.copy(nb101_dir / "nb101_real_subset.jsonl.gz", here)
    run = tmp_path / "run"
    args = ["--space", "nasbench101", "--algo", "random", "--seed", 3, "--no-progress"]
    proc = run_cli("search", *args, "--budget", 10, "--out", run, env={**os.environ, "ALPHAX_NASBENCH101": str(here)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    config = json.loads((run / "config.json").read_text())
    assert config["data"] == str((here / "nb101_real_subset.jsonl.gz").resolve())

    moved = tmp_path / "moved"
    here.rename(moved)
    proc = run_cli("search", "--resume", run, "--budget", 15)
    assert proc.returncode == 1 and f"config.json records, {config['data']}, does not exist (moved?): continue " \
        f"with --resume {run} --data WHERE_IT_IS_NOW" in proc.stderr
    other = tmp_path / "other.jsonl.gz"                        # the same cells, other accuracies
    with gzip.open(moved / "nb101_real_subset.jsonl.gz", "rt") as f, gzip.open(other, "wt") as g:
        for line in f:
            row = json.loads(line)
            row["metrics"]["108"]["validation_accuracy"] *= 0.99
            g.write(json.dumps(row) + "\n")
    proc = run_cli("search", "--resume", run, "--budget", 15, "--data", other)
    assert proc.returncode == 1 and "another table; give the table the run started with" in proc.stderr
    assert json.loads((run / "config.json").read_text()) == config and len(read_results(run)) == 10
    proc = run_cli("search", "--resume", run, "--budget", 15, "--data", moved, "--no-progress")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((run / "config.json").read_text())["data"] == str(moved)     # as given, like --data on a new run
    assert len(read_results(run)) == 15
    edited = json.loads((run / "config.json").read_text())     # config.json pointed at another table by hand:
    (run / "config.json").write_text(json.dumps({**edited, "data": str(other)}))       # the checkpoint's path differs
    proc = run_cli("search", "--resume", run, "--budget", 20)
    assert proc.returncode == 1 and "another table; give the table the run started with" in proc.stderr
    assert len(read_results(run)) == 15


# -- found missing by a mutation audit (2026-12-05): each fails on one plausible bug --
def test_resume_refuses_a_new_seed(tmp_path, run_cli):
    """--seed with --resume is refused, not silently ignored."""
    nb201 = ("--space", "nasbench201", "--dataset", "cifar10")
    run = tmp_path / "run"
    proc = run_cli("search", *nb201, "--algo", "random", "--budget", 3, "--out", run, "--no-progress", timeout=120)
    assert proc.returncode == 0, proc.stderr
    for flag, value in (("--seed", 5), ("--eval-seed", 5), ("--checkpoint-every", 5)):
        proc = run_cli("search", "--resume", run, flag, value, "--no-progress", timeout=120)
        assert proc.returncode == 1 and f"(got {flag})" in proc.stderr, (flag, proc.stderr)


def test_json_nested_too_deep_anywhere_is_one_line_naming_the_file(tmp_path, nb101_dir, capsys):
    """A JSON document nested thousands deep (json's RecursionError) in a searcher option, a data file, a
    run folder's results.jsonl or config.json, or a compare folder's summary.json: one line on stderr
    naming where it is, exit 1, not a traceback; nothing written is changed."""
    import gzip
    import shutil

    from alphax.cli import main

    deep = "[" * 50000 + "]" * 50000

    def error(argv) -> str:
        capsys.readouterr()
        assert main([str(a) for a in argv]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        return err

    assert "option playouts" in error(["search", *NB201, "--budget", 5, "--option", f"playouts={deep}",
                                       "--out", tmp_path / "opt"])
    assert not (tmp_path / "opt").exists()
    data = tmp_path / "deep.jsonl.gz"
    with gzip.open(data, "wt") as f:
        f.write(deep + "\n")
    assert f"{data}: line 1 is not a NASBench-101 cell row" in error(["nasbench", "info", "--data", data])

    run = tmp_path / "run"
    assert main([*map(str, ["search", *NB201, "--algo", "random", "--budget", 6, "--out", run])]) == 0
    for name, where in (("results.jsonl", r"results\.jsonl: line 3 is not a JSON object"),
                        ("config.json", r"config\.json:? (is )?not valid JSON")):
        bad = tmp_path / f"bad-{name}"
        shutil.copytree(run, bad)
        path = bad / name
        text = path.read_text().splitlines(keepends=True)
        if name == "results.jsonl":
            text[2] = deep + "\n"
        else:
            text = [deep]
        path.write_text("".join(text))
        before = path.read_bytes()
        assert re.search(where, error(["search", "--resume", bad, "--budget", 8, "--no-progress"]))
        assert re.search(where, error(["report", bad]))
        assert path.read_bytes() == before

    cmp = tmp_path / "cmp"
    assert main(["compare", "--space", "nasbench201", "--algos", "random", "--seeds", "1", "--budget", "5",
                 "--jobs", "1", "--out", str(cmp), "--no-progress"]) == 0
    (cmp / "summary.json").write_text(deep)
    assert "summary.json: not valid JSON" in error(["report", cmp])


def test_searcher_options_too_large_for_memory_are_one_line_before_any_folder(tmp_path, capsys):
    """Options that pass the check (integers from their minimum to 2^31 - 1) but ask the meta-DNN for TBs:
    torch's failed allocation becomes one line naming the options and the way out, and no run folder."""
    from alphax.cli import main

    for option in ("hidden=2000000000", "members=2000000000"):
        out = tmp_path / option.split("=")[0]
        assert main(["search", *NB201, "--budget", "5", "--option", option, "--out", str(out)]) == 1
        err = capsys.readouterr().err
        assert f"--algo alphax with {option} needs more memory than this machine has" in err
        assert "give smaller --option values" in err and not out.exists()


class _FullDisk:
    """A file open on a full disk: its write fails with ENOSPC and no file name, as the kernel's does."""

    def __init__(self, f):
        self.f = f

    def write(self, text):
        import errno

        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self):
        pass

    def fileno(self):
        return self.f.fileno()

    @property
    def closed(self):
        return self.f.closed

    def close(self):
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def test_a_full_disk_is_one_line_naming_the_file_and_the_way_on(tmp_path, capsys, monkeypatch):
    """A write on an open file fails without a file name (a full disk, a quota): the line names the file
    and says to free space and resume, not to check permissions; the run's close failing after it (the
    same disk) is logged, not shown in its place; nothing logged is lost, and the resume then goes on."""
    import errno

    import alphax.run
    from alphax.cli import main
    from alphax.runlog import RunLog

    run = tmp_path / "run"
    assert main([*map(str, ["search", *NB201, "--algo", "random", "--budget", 6, "--out", run])]) == 0
    before = (run / "results.jsonl").read_bytes()

    real_open = RunLog._open
    monkeypatch.setattr(RunLog, "_open", lambda self: _FullDisk(real_open(self)))

    def stats_fail(folder, stats):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(folder / "stats.json.x1.tmp"))

    monkeypatch.setattr(alphax.run, "_write_stats", stats_fail)
    capsys.readouterr()
    assert main([*map(str, ["search", "--resume", run, "--budget", 10, "--no-progress"])]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"alphax: error: {run / 'results.jsonl'}: No space left on device; free space there, "
                       f"then go on with alphax search --resume DIR (every result written is kept)"), err
    assert not any("Traceback" in line or "stats.json" in line and "error:" in line for line in err), err
    log = (run / "log.txt").read_text()
    assert "could not be closed cleanly either" in log and "stats.json.x1.tmp" in log
    assert (run / "results.jsonl").read_bytes() == before
    monkeypatch.undo()
    assert main([*map(str, ["search", "--resume", run, "--budget", 10, "--no-progress"])]) == 0
    assert len(hashes(run)) == 10 == len(set(hashes(run)))


def test_a_log_txt_that_cannot_be_written_is_one_warning_not_a_traceback_per_record(tmp_path, capsys):
    """logging's FileHandler prints '--- Logging error ---' and a traceback for every record it cannot
    write (a full disk); a run's log.txt says so once, in one line, and the run goes on."""
    import logging

    from alphax import logfile

    (tmp_path / logfile.LOG).mkdir()                  # cannot be opened for writing: as a full disk, each record fails
    handler = logfile.attach(tmp_path)
    try:
        for i in range(3):
            logging.getLogger("alphax.test").warning("record %d", i)
    finally:
        logfile.detach(handler)
    err = capsys.readouterr().err
    assert "Logging error" not in err and "Traceback" not in err, err
    assert err.count(f"alphax: warning: cannot write {tmp_path / logfile.LOG}") == 1, err


def test_a_run_lock_that_is_a_symbolic_link_is_refused_and_its_target_kept(tmp_path, run_cli):
    """run.lock replaced by a link: the lock would write its pid into the file the link names."""
    run = tmp_path / "run"
    assert run_cli("search", *NB201, "--algo", "random", "--budget", 4, "--out", run, timeout=120).returncode == 0
    target = tmp_path / "precious.txt"
    target.write_text("precious\n")
    (run / "run.lock").unlink()
    (run / "run.lock").symlink_to(target)
    proc = run_cli("search", "--resume", run, "--budget", 6, timeout=120)
    assert proc.returncode == 1 and f"{run / 'run.lock'} is a symbolic link" in proc.stderr, proc.stderr
    assert target.read_text() == "precious\n" and len(hashes(run)) == 4
    new = tmp_path / "new"                          # the same in a new run's --out: said as such
    new.mkdir()
    (new / "run.lock").symlink_to(target)
    proc = run_cli("search", *NB201, "--algo", "random", "--budget", 4, "--out", new, timeout=120)
    assert proc.returncode == 1 and f"{new / 'run.lock'} is a symbolic link" in proc.stderr, proc.stderr
    assert target.read_text() == "precious\n" and sorted(p.name for p in new.iterdir()) == ["run.lock"]


def test_a_folder_the_user_cannot_write_says_the_way_on_for_each_command(tmp_path, monkeypatch, capsys):
    """Someone else's run or compare folder (shared storage): not a bare "run.lock: Permission denied" but
    the way on, which differs: a new run or comparison chooses another --out, a resume copies the folder
    and resumes the copy (which works: the copy is a run folder like any other); a new run given another
    user's run folder still hears that it exists. Nothing is written. (Tests run as root, whom permissions
    do not stop: creating a file in a forbidden folder fails as the kernel fails it for another user.)"""
    import errno
    import shutil

    from alphax.cli import main

    run, empty, theirs = tmp_path / "run", tmp_path / "empty", tmp_path / "theirs"
    assert main([*map(str, ["search", *NB201, "--algo", "random", "--budget", 6, "--out", run])]) == 0
    assert main(["compare", "--space", "nasbench201", "--algos", "random", "--seeds", "1", "--budget", "4",
                 "--no-progress", "--out", str(theirs)]) == 0
    empty.mkdir()
    forbidden = (run, empty, theirs)
    real = os.open

    def kernel(path, flags, *args, **kw):
        if flags & os.O_CREAT and Path(path).parent in forbidden:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", kernel)
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: (not (mode & os.W_OK and Path(path) in forbidden)
                                                                and access(path, mode, **kw)))
    before = {f: sorted((p.name, p.stat().st_size) for p in f.rglob("*")) for f in forbidden}
    capsys.readouterr()

    def refused(*argv) -> str:
        assert main([*map(str, argv)]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and "Permission denied;" not in err, err
        return err

    err = refused("search", "--resume", run, "--budget", 8)
    assert (f"{run} is a folder you cannot write (permission denied): copy it to a folder of yours (cp -r {run} "
            f"COPY && chmod -R u+w COPY) and resume the copy ('alphax search --resume COPY') (nothing was "
            f"written)") in err, err
    err = refused("search", *NB201, "--algo", "random", "--budget", 6, "--out", empty)
    assert f"{empty} is a folder you cannot write (permission denied): choose another --out" in err, err
    err = refused("search", *NB201, "--algo", "random", "--budget", 6, "--out", run)
    assert f"{run} already exists: resume it" in err, err
    err = refused("compare", "--space", "nasbench201", "--algos", "random", "--seeds", "2", "--budget", "4",
                  "--no-progress", "--out", theirs)
    assert (f"{theirs} is a folder you cannot write (permission denied): choose another --out (to continue a "
            f"comparison there, copy the folder to one of yours, cp -r {theirs} COPY && chmod -R u+w COPY, and "
            f"give the copy as --out)") in err, err
    assert {f: sorted((p.name, p.stat().st_size) for p in f.rglob("*")) for f in forbidden} == before
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    assert main([*map(str, ["search", "--resume", copy, "--budget", 8])]) == 0
    assert len(hashes(copy)) == 8 and hashes(copy)[:6] == hashes(run)


@pytest.mark.parametrize("name", ["results.jsonl", "predictor.jsonl", "run.lock"])
def test_a_resume_whose_log_cannot_be_written_is_refused_before_config_json_changes(tmp_path, monkeypatch, capsys,
                                                                                      name):
    """Found by a bug hunt (2026-12-07): a folder whose results.jsonl was read-only (chmod, or copied from
    one made read-only: cp -r keeps the modes) resumed with a new --budget: config.json took the new budget
    (and lost its mode) before the first append failed. Refused now before anything is written, naming the
    file; a read-only run.lock in a folder that can be written is named as the file, not as the folder; the
    way on copies the folder and makes the copy writable. (Root is not stopped by modes: the kernel's
    refusal is played by os.open.)"""
    import errno

    from alphax.cli import main

    run = tmp_path / "run"
    assert main([*map(str, ["search", *NB201, "--algo", "alphax", "--budget", 30, "--out", run])]) == 0
    assert (run / "predictor.jsonl").exists()
    real = os.open

    def kernel(path, flags, *args, **kw):
        if Path(path) == run / name and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path, flags, *args, **kw)

    monkeypatch.setattr(os, "open", kernel)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.name != "log.txt"}
    capsys.readouterr()
    assert main([*map(str, ["search", "--resume", run, "--budget", 35])]) == 1
    err = capsys.readouterr().err
    assert (f"{run / name} is a file you cannot write (permission denied)" in err and f"(cp -r {run} COPY && chmod "
            f"-R u+w COPY) and resume the copy ('alphax search --resume COPY') (nothing was written)" in err), err
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != "log.txt"} == before


def test_a_file_system_without_flock_runs_unlocked_with_one_warning(tmp_path, monkeypatch, capsys, caplog):
    """Lustre mounted without ``-o flock`` (and some NFS set-ups) answer every flock with ENOSYS: not "in
    use by another alphax process (pid unknown)", which no waiting would end, but a run that goes on
    unlocked, warned of once per process; and the enumeration's cache lock likewise goes on alone."""
    import errno
    import fcntl

    import alphax.runlock as runlock
    from alphax.cli import main
    from alphax.enumerate import _one_at_a_time

    def no_flock(fd, op):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    monkeypatch.setattr(runlock, "_WARNED", False)
    run, cmp = tmp_path / "run", tmp_path / "cmp"
    assert main([*map(str, ["search", *NB201, "--algo", "random", "--budget", 6, "--out", run])]) == 0
    assert main([*map(str, ["search", "--resume", run, "--budget", 8])]) == 0
    assert main(["compare", "--space", "nasbench201", "--algos", "random", "--seeds", "2", "--budget", "4",
                 "--no-progress", "--jobs", "1", "--out", str(cmp)]) == 0
    err = capsys.readouterr().err
    assert len(hashes(run)) == 8 and "in use" not in err + caplog.text, err + caplog.text
    warned = [r.getMessage() for r in caplog.records if "does not support flock" in r.getMessage()]
    assert len(warned) == 1 and all(r.levelname == "WARNING" for r in caplog.records if "flock" in r.getMessage())
    assert (f"cannot lock {run / 'run.lock'} (Function not implemented: its file system does not support flock, "
            f"as Lustre mounted without -o flock): the folder is not locked, so let no other alphax process "
            f"open it while this one runs") == warned[0]
    with _one_at_a_time(tmp_path / "cache" / "cells.npz"):
        pass


def test_a_full_disk_says_each_command_s_way_on_and_config_json_is_named(tmp_path, monkeypatch):
    """The way on after a full disk is the command's own (a compare has no --resume: its command again);
    config.json's write, on an open file, names it too."""
    import errno

    import alphax.config as config_module
    from alphax.cli import error_line

    exc = OSError(errno.ENOSPC, "No space left on device", "/x/compare.json")
    assert error_line(exc, command="compare") == ("alphax: error: /x/compare.json: No space left on device; free "
                                                  "space there, then run the same alphax compare command again (it "
                                                  "continues the comparison)")
    assert error_line(exc, command="report").endswith("; free space there, then run the command again")
    assert error_line(exc, prog="run_server.py") == (
        "run_server.py: error: /x/compare.json: No space left on device; free space there, then resume with "
        "run_server.py --resume DIR (every result written is kept)")

    opened = config_module.open_in_place
    monkeypatch.setattr(config_module, "open_in_place", lambda *a, **kw: _FullDisk(opened(*a, **kw)))
    with pytest.raises(OSError) as raised:
        config_module.SearchConfig(space="nasbench201", dataset="cifar10").save(tmp_path / "config.json")
    assert raised.value.filename == str(tmp_path / "config.json") and raised.value.errno == errno.ENOSPC
    assert list(tmp_path.iterdir()) == []


def test_evaluator_train_searches_nasbench101_unless_told_otherwise():
    """The space that trains: `alphax search --evaluator train` (and run_server.py's, which reads the same
    options) took NAS-Bench-201, alphax search's default, and refused it as a table, while a training
    client with no --space took nasbench101."""
    from alphax.cli import build_parser
    from alphax.cli.search import config_from_args

    config = config_from_args(build_parser().parse_args(["search", "--evaluator", "train", "--cifar", "."]))
    assert (config.space, config.evaluator, config.dataset) == ("nasbench101", "train", None)
    assert config_from_args(build_parser().parse_args(["search"])).space == "nasbench201"
    with pytest.raises(ConfigError, match="--space nasbench201 is a table"):
        config_from_args(build_parser().parse_args(["search", "--space", "nasbench201", "--evaluator", "train",
                                                    "--cifar", "."]))


# -- found missing by a mutation audit of the configuration and command-line layer (each fails on one bug) --
def test_no_option_is_the_documented_default_and_every_option_reaches_the_config(tmp_path, monkeypatch):
    from alphax.cli import build_parser
    from alphax.cli.search import config_from_args
    from alphax.config import SearchConfig

    parse = build_parser().parse_args
    default = config_from_args(parse(["search"]))          # `alphax search`: AlphaX, NAS-Bench-201 CIFAR-10, 300 cells
    assert default == SearchConfig(space="nasbench201", dataset="cifar10", evaluator="table", algo="alphax",
                                   budget=300, seed=0, eval_seed=0, checkpoint_every=100) and default.budget == 300
    monkeypatch.chdir(tmp_path)
    config = config_from_args(parse(["search", "--evaluator", "train", "--cifar", "c", "--pool-size", "7", "--seed",
                                     "4", "--checkpoint-every", "9", "--budget", "11", "--algo", "random", "--option",
                                     "mutate-every=2", "--train-seed", "3", "--device", "cpu"]))
    assert (config.pool_size, config.seed, config.checkpoint_every, config.budget, config.algo) == (7, 4, 9, 11, "random")
    assert config.searcher_options == {"mutate_every": 2}
    assert config.train == {"cifar": str(tmp_path / "c"), "seed": 3, "device": "cpu"}
    table = config_from_args(parse(["search", "--space", "nasbench101", "--data", "t.nb101", "--eval-seed", "5"]))
    assert table.data == str(tmp_path / "t.nb101") and table.eval_seed == 5      # absolute: a resume elsewhere


def test_a_usage_error_names_the_option_and_where_help_is(capsys):
    from alphax.cli import build_parser

    for argv, needle in ((["--option", "=5"], "expected KEY=VALUE, got '=5'"), (["--algo", "nope"], "invalid choice")):
        with pytest.raises(SystemExit) as exited:
            build_parser().parse_args(["search", *argv])
        err = capsys.readouterr().err
        assert exited.value.code == 2 and needle in err and err.rstrip().endswith("(see 'alphax search --help')"), err


@pytest.mark.parametrize("argv, line", [
    (["search", "--budjet", "10"], "alphax search: error: unrecognized arguments: --budjet 10; did you mean --budget? "
                                   "(see 'alphax search --help')"),
    (["compare", "--algos=random", "--seedz=3"], "alphax compare: error: unrecognized arguments: --seedz=3; did you "
                                                 "mean --seeds? (see 'alphax compare --help')"),
    (["nasbench", "info", "--xyzzy"], "alphax nasbench info: error: unrecognized arguments: --xyzzy "
                                      "(see 'alphax nasbench info --help')"),
    # no abbreviations: argparse's default took compare's --seed 3 as --seeds 3 (seeds 0, 1, 2, not seed 3)
    (["compare", "--seed", "3"], "alphax compare: error: unrecognized arguments: --seed 3; did you mean --seeds? "
                                 "(see 'alphax compare --help')"),
    (["search", "--bud", "10"], "alphax search: error: unrecognized arguments: --bud 10; did you mean --budget? "
                                "(see 'alphax search --help')"),
])
def test_an_unknown_option_is_refused_by_its_command_with_the_nearest_one(capsys, argv, line):
    """Not by ``alphax`` (whose --help does not list the command's options), and with a typo's likely fix."""
    from alphax.cli import build_parser

    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2 and capsys.readouterr().err == line + "\n"
    assert build_parser().parse_args(["search", "--budget", "3"]).budget == 3     # and no stray attribute:
    assert "_alphax_extras_owner" not in vars(build_parser().parse_args(["search"]))


@pytest.mark.parametrize("script", ["bench_compare_memory.py", "bench_mutation.py", "bench_nasbench201.py",
                                    "open_mode.py", "predictor_quality.py", "tune_search.py"])
def test_the_benchmark_scripts_take_options_only_in_full_too(script):
    """Each has --seeds (how many), where argparse's abbreviations took --seed 3 as three seeds (and ran
    them: the timeout bounds that)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / script
    proc = subprocess.run([sys.executable, str(path), "--seed", "3"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == (f"{script}: error: unrecognized arguments: --seed 3; did you mean --seeds? "
                           f"(see '{script} --help')\n")


@pytest.mark.parametrize("script, args, code, line", [
    ("tune_search.py", ["--options", "notjson"], 2,
     "tune_search.py: error: argument --options: expected a JSON object such as '{\"kappa\": 3}', got 'notjson' "
     "(see 'tune_search.py --help')"),
    ("bench_pool.py", ["--size", "100", "--results", "0"], 2, "bench_pool.py: error: argument --results: expected an "
                                                             "integer >= 1, got '0' (see 'bench_pool.py --help')"),
    ("open_mode.py", ["--algo", "foo"], 1, "open_mode.py: error: --algo foo: unknown searcher 'foo'; choose one of "
                                           "random, evolution, alphax, or FILE.py:CLASS"),
    ("bench_nasbench201.py", ["--datasets", "foo", "--out", "{tmp}/out"], 1,
     "bench_nasbench201.py: error: unknown NAS-Bench-201 data set 'foo'; choose one of cifar10, cifar100, "
     "imagenet16-120"),
    ("bench_official.py", ["--out", "{tmp}/afile"], 1,
     "bench_official.py: error: {tmp}/afile: File exists; check the path and its permissions"),
    ("bench_mutation.py", ["--data", "{tmp}/none"], 1, "bench_mutation.py: error: NASBench-101 data {tmp}/none (given "
                                                       "with --data) does not exist; give the file or its folder"),
])
def test_the_benchmark_scripts_give_one_line_for_a_bad_option_value_or_a_missing_file(tmp_path, script, args, code,
                                                                                       line):
    """Found by a bug hunt (2026-12-07): bad values (--results 0, --options notjson, --algo foo, --datasets
    foo, an --out that is a file, a missing --data) were tracebacks (ZeroDivisionError, JSONDecodeError,
    ValueError, ConfigError, FileExistsError, DataError); one line now, as alphax gives, and nothing made
    (--datasets foo made its --out before)."""
    (tmp_path / "afile").write_text("")
    path = Path(__file__).resolve().parents[1] / "benchmarks" / script
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = subprocess.run([sys.executable, str(path), *argv], capture_output=True, text=True, timeout=120)
    assert proc.returncode == code and proc.stdout == "", proc.stderr
    assert proc.stderr.startswith(line.replace("{tmp}", str(tmp_path))) and proc.stderr.count("\n") == 1, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_an_out_that_is_a_dangling_link_is_named_as_one(tmp_path, capsys):
    """Found by a bug hunt (2026-12-07): --out a symbolic link whose target does not exist said only
    "dang: File exists"; search, compare and report say what it is now, and write nothing."""
    from alphax.cli import main

    (tmp_path / "dang").symlink_to(tmp_path / "nowhere" / "x")
    run = tmp_path / "run"
    assert main([*map(str, ["search", *NB201, "--algo", "random", "--budget", 3, "--out", run])]) == 0
    capsys.readouterr()
    line = (f"alphax: error: {tmp_path / 'dang'} is a symbolic link to {tmp_path / 'nowhere' / 'x'}, which does not "
            f"exist; remove the link, or give another path\n")
    for argv in (["search", *NB201, "--algo", "random", "--budget", 3], ["compare", "--space", "nasbench201",
                 "--algos", "random", "--seeds", 1, "--budget", 3, "--no-progress"], ["report", run]):
        assert main([*map(str, argv), "--out", str(tmp_path / "dang")]) == 1, argv
        assert capsys.readouterr().err == line, argv
    assert not (tmp_path / "nowhere").exists()


def test_resume_takes_only_where_the_data_is_and_refuses_every_other_run_option(tmp_path, monkeypatch):
    from alphax.cli import build_parser
    from alphax.cli.search import check_resume_args

    monkeypatch.chdir(tmp_path)
    parse = lambda *argv: build_parser().parse_args(["search", "--resume", "run", *argv])
    assert check_resume_args(parse("--budget", "9", "--data", "t.nb101")) == {}
    assert check_resume_args(parse("--cifar", "c", "--device", "cpu")) == {"cifar": str(tmp_path / "c"), "device": "cpu"}
    for given in (["--option", "playouts=3"], ["--out", "elsewhere"], ["--train-seed", "1"], ["--pool-size", "3"]):
        with pytest.raises(ConfigError, match=f"got {given[0]}"):
            check_resume_args(parse(*given))


def test_argument_types_refuse_a_blank_path_and_a_number_out_of_range_and_a_quota_is_a_full_disk():
    import argparse
    import errno

    from alphax.cli import error_line, number_arg, path_arg

    for blank in ("", "  "):
        with pytest.raises(argparse.ArgumentTypeError, match="an empty path"):
            path_arg(blank)
    assert number_arg()("0") == 0.0 and number_arg()("2.5") == 2.5
    for text in ("inf", "-1", "nan", "x"):
        with pytest.raises(argparse.ArgumentTypeError, match=">= 0"):
            number_arg()(text)
    with pytest.raises(argparse.ArgumentTypeError, match="> 0, got '0'"):
        number_arg(zero=False)("0")
    quota = OSError(errno.EDQUOT, "Disk quota exceeded", "/runs/r/results.jsonl")
    assert error_line(quota, command="search") == ("alphax: error: /runs/r/results.jsonl: Disk quota exceeded; free "
                                                   "space there, then go on with alphax search --resume DIR (every "
                                                   "result written is kept)")


def test_verbose_logs_debug_and_keeps_an_alphax_error_to_one_line(tmp_path, run_cli, capsys):
    from alphax.cli import main

    assert main(["-v", "search", "--budget", "0", "--out", str(tmp_path / "bad")]) == 1
    err = capsys.readouterr().err
    assert "alphax: error: --budget must be a positive integer" in err and "Traceback" not in err, err
    args = [*NB201, "--algo", "random", "--budget", 1]
    proc = run_cli("search", "-v", *args, "--out", tmp_path / "v", timeout=120)
    assert proc.returncode == 0 and "DEBUG alphax.nasbench201: loaded NAS-Bench-201 cifar10" in proc.stderr, proc.stderr
    proc = run_cli("search", *args, "--out", tmp_path / "quiet", timeout=120)
    assert proc.returncode == 0 and "DEBUG" not in proc.stderr, proc.stderr


def test_compare_passes_each_option_to_its_config(tmp_path, monkeypatch):
    import alphax.compare
    from alphax.cli import main

    seen = []

    def capture(config, out, **kw):
        seen.append(config)
        raise ConfigError("captured")

    monkeypatch.setattr(alphax.compare, "run_compare", capture)
    assert main(["compare", "--algos", "random,evolution", "--seeds", "2", "--budget", "7", "--eval-seed", "3",
                 "--checkpoint-every", "4", "--jobs", "1", "--out", str(tmp_path / "cmp")]) == 1
    c = seen[0]
    assert (c.algos, c.seeds, c.budget, c.eval_seed, c.checkpoint_every) == (("random", "evolution"), 2, 7, 3, 4)
