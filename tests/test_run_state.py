"""The run folder's state: the append-only results log, atomic checkpoints, resume by replay."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import signal
import time
from dataclasses import replace
from pathlib import Path

import pytest

from alphax.checkpoint import LATEST, PREVIOUS, checkpoint_info, load_checkpoint, read_checkpoint, save_checkpoint
from alphax.config import SearchConfig
from alphax.errors import CheckpointError, ConfigError, DataError
from alphax.run import run_search
from alphax.runfolder import create_run, resume_run
from alphax.runlog import RunLog, read_predictor, read_results
from conftest import shared_file


def row(n: int, **kw) -> dict:
    return {"n": n, "hash": f"h{n}", "accuracy": 0.5 + n / 100, **kw}


# -- results log -----------------------------------------------------------------------------------
def test_torn_last_line_is_dropped_on_read_and_cut_before_appending(tmp_path, caplog):
    path = tmp_path / "results.jsonl"
    with RunLog(path) as log:
        for n in (1, 2, 3):
            log.append(row(n))
    with open(path, "a") as f:
        f.write('{"n": 4, "hash": "h4", "accur')          # a write cut by SIGKILL
    with caplog.at_level(logging.WARNING):
        assert [r["n"] for r in read_results(path)] == [1, 2, 3]
    assert "torn" in caplog.text
    with RunLog(path) as log:
        assert len(log) == 3
        log.append(row(4))
    lines = path.read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [1, 2, 3, 4]


def test_the_next_complete_row_without_its_newline_is_kept_and_ended_before_the_next(tmp_path):
    """A row can only be valid JSON when it is whole (its closing brace is its last byte): the newline
    alone is missing (an editor dropped it). It is a result, kept; the next append ends its line first.
    Valid JSON that is not the next complete row is still a torn line, dropped."""
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(row(1)) + "\n" + json.dumps(row(2)))
    assert [r["n"] for r in read_results(path)] == [1, 2]
    with RunLog(path, create=False) as log:
        assert len(log) == 2
        log.append(row(3))
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [1, 2, 3]
    with RunLog(path, create=False) as log:                  # ended: nothing added before the next
        log.append(row(4))
    assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [1, 2, 3, 4]
    for last in (row(3), {**row(2), "accuracy": 7.0}, [1, 2]):
        path.write_text(json.dumps(row(1)) + "\n" + json.dumps(last))
        assert [r["n"] for r in read_results(path)] == [1]
        with RunLog(path, create=False) as log:
            log.append(row(2))
        assert [json.loads(line)["n"] for line in path.read_text().splitlines()] == [1, 2]


def test_a_bad_line_in_the_middle_is_corruption(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(row(1)) + "\nnot json\n" + json.dumps(row(3)) + "\n")
    with pytest.raises(DataError, match="line 2"):
        read_results(path)
    path.write_text(json.dumps(row(1)) + "\n" + json.dumps(row(3)) + "\n")
    with pytest.raises(DataError, match="expected 2"):
        read_results(path)
    for bad, message in (({"accuracy": "high"}, "accuracy='high', not a number"),
                         ({"accuracy": float("nan")}, "accuracy=nan"), ({"hash": None}, "hash=None, not text"),
                         ({"predicted": "x"}, "predicted='x', not a number"),
                         ({"accuracy": 5.0}, "accuracy=5.0, outside [0, 1]")):
        path.write_text(json.dumps(row(1)) + "\n" + json.dumps({**row(2), **bad}) + "\n")
        with pytest.raises(DataError, match=f"line 2 has {re.escape(message)}.*restore it from a copy"):
            read_results(path)
    no_accuracy = {k: v for k, v in row(2).items() if k != "accuracy"}      # a failed result's is null, not absent
    path.write_text(json.dumps(row(1)) + "\n" + json.dumps(no_accuracy) + "\n")
    with pytest.raises(DataError, match=r"line 2 has no accuracy \(null where the evaluation failed\).*restore it"):
        read_results(path)


def test_append_refuses_a_wrong_number(tmp_path):
    with RunLog(tmp_path / "r.jsonl") as log:
        with pytest.raises(ValueError):
            log.append(row(2))


# -- checkpoints -----------------------------------------------------------------------------------
def test_corrupt_latest_checkpoint_falls_back_to_the_previous(tmp_path, caplog):
    save_checkpoint(tmp_path, {"n": 10, "x": "old"})
    save_checkpoint(tmp_path, {"n": 20, "x": "new"})
    assert read_checkpoint(tmp_path / PREVIOUS)["n"] == 10
    state, path = load_checkpoint(tmp_path)
    assert state["n"] == 20 and path.name == LATEST
    data = (tmp_path / LATEST).read_bytes()
    (tmp_path / LATEST).write_bytes(data[:-7])             # truncated
    with caplog.at_level(logging.WARNING):
        state, path = load_checkpoint(tmp_path)
    assert state == {"n": 10, "x": "old"} and path.name == PREVIOUS
    assert "corrupt" in caplog.text and "previous checkpoint" in caplog.text


def test_a_checkpoint_write_that_fails_leaves_no_part_written_file(tmp_path, monkeypatch):
    """A full disk (ENOSPC at the fsync of the temp file): the error goes up, the checkpoints already there
    are untouched, and the part written is removed, giving its space back."""
    import errno

    import alphax.checkpoint as checkpoint

    save_checkpoint(tmp_path, {"n": 10})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(tmp_path, {"n": 20, "x": "y" * 10**6})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_a_save_after_a_corrupt_latest_keeps_the_intact_previous_checkpoint(tmp_path, caplog):
    """The save after a resume that fell back to ``.prev`` must not rotate the corrupt latest onto it."""
    save_checkpoint(tmp_path, {"n": 10})
    save_checkpoint(tmp_path, {"n": 20})
    previous = (tmp_path / PREVIOUS).read_bytes()
    corrupt = (tmp_path / LATEST).read_bytes()[:-7]
    (tmp_path / LATEST).write_bytes(corrupt)
    with caplog.at_level(logging.WARNING):
        save_checkpoint(tmp_path, {"n": 15})
    assert (tmp_path / PREVIOUS).read_bytes() == previous            # n=10, intact
    assert (tmp_path / (LATEST + ".corrupt")).read_bytes() == corrupt  # kept aside, not deleted
    assert read_checkpoint(tmp_path / LATEST)["n"] == 15 and "kept as checkpoint.pkl.corrupt" in caplog.text
    save_checkpoint(tmp_path, {"n": 25})                               # an intact latest rotates as before
    assert read_checkpoint(tmp_path / PREVIOUS)["n"] == 15


def test_a_lone_corrupt_checkpoint_is_a_clear_error_and_nothing_is_deleted(tmp_path):
    save_checkpoint(tmp_path, {"n": 5})
    blob = bytearray((tmp_path / LATEST).read_bytes())
    blob[-3] ^= 0xFF                                       # one flipped byte
    (tmp_path / LATEST).write_bytes(bytes(blob))
    with pytest.raises(CheckpointError, match="no intact checkpoint.*mv"):
        load_checkpoint(tmp_path)
    assert (tmp_path / LATEST).read_bytes() == bytes(blob)
    (tmp_path / LATEST).write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="bad header"):
        read_checkpoint(tmp_path / LATEST)


def test_shared_objects_are_stored_as_references(tmp_path):
    shared = [object.__new__(type("Cell", (), {})) for _ in range(3)]
    save_checkpoint(tmp_path, {"n": 1, "cells": [shared[2], shared[0]], "other": [1, 2]}, shared=shared)
    state = read_checkpoint(tmp_path / LATEST, shared=shared)
    assert state["cells"][0] is shared[2] and state["cells"][1] is shared[0] and state["other"] == [1, 2]
    assert checkpoint_info(tmp_path / LATEST)["n"] == 1
    with pytest.raises(CheckpointError, match="cannot be unpickled"):
        read_checkpoint(tmp_path / LATEST, shared=shared[:1])


def test_no_checkpoint_is_none(tmp_path):
    assert load_checkpoint(tmp_path) is None


class _RunsACommand:
    """What a checkpoint made to run code holds: unpickling it would call ``os.system``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


class _InATensorStorage:
    """The same hidden in a tensor's storage, which torch unpickles with ``torch.load(weights_only=False)``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        import io

        import torch
        from torch.storage import _load_from_bytes

        buf = io.BytesIO()
        torch.save(_RunsACommand(self.marker), buf)
        return _load_from_bytes, (buf.getvalue(),)


@pytest.mark.parametrize("payload", [_RunsACommand, _InATensorStorage])
def test_a_checkpoint_that_would_run_code_is_refused_before_it_runs(tmp_path, caplog, payload):
    """A checkpoint is a pickle with a checksum anyone can compute: loading one may build only the
    objects a run's state holds, so a run folder from elsewhere cannot run a command on resume. A refused
    latest checkpoint falls back to the previous one, like a damaged one; a lone one is an error with the
    way out, and nothing is deleted."""
    marker = tmp_path / "ran"
    save_checkpoint(tmp_path, {"n": 10, "x": "intact"})
    save_checkpoint(tmp_path, {"n": 20, "x": payload(marker)})
    with caplog.at_level(logging.WARNING):
        state, path = load_checkpoint(tmp_path)
    assert state == {"n": 10, "x": "intact"} and path.name == PREVIOUS and not marker.exists()
    assert "cannot be unpickled" in caplog.text and "previous checkpoint" in caplog.text
    assert "posix.system" in caplog.text
    refused, previous = (tmp_path / LATEST).read_bytes(), (tmp_path / PREVIOUS).read_bytes()
    # the resume's next save moves the refused file aside, as it does a corrupt one, instead of rotating it
    # onto the intact previous one (found by a bug hunt, 2026-12-07)
    save_checkpoint(tmp_path, {"n": 11})
    assert (tmp_path / PREVIOUS).read_bytes() == previous
    assert (tmp_path / (LATEST + ".corrupt")).read_bytes() == refused
    assert "kept as checkpoint.pkl.corrupt" in caplog.text
    save_checkpoint(tmp_path, {"n": 12})                               # an intact latest rotates as before
    assert read_checkpoint(tmp_path / PREVIOUS)["n"] == 11
    os.replace(tmp_path / (LATEST + ".corrupt"), tmp_path / LATEST)
    os.remove(tmp_path / PREVIOUS)
    with pytest.raises(CheckpointError, match="cannot be unpickled.*no intact checkpoint is left.*mv") as info:
        load_checkpoint(tmp_path)
    assert len(str(info.value).splitlines()) == 1 and not marker.exists() and (tmp_path / LATEST).exists()


# -- runs ------------------------------------------------------------------------------------------
def cfg(**kw) -> SearchConfig:
    base = dict(space="nasbench201", dataset="cifar10", algo="evolution", budget=40, seed=3, checkpoint_every=10,
                searcher_options={"population_size": 10, "tournament_size": 3})
    base.update(kw)
    return SearchConfig(**base)


def search(config: SearchConfig, folder) -> list[str]:
    run = create_run(config, folder)
    try:
        run_search(run, progress=False)
    finally:
        run.close()
    return [r["hash"] for r in read_results(folder)]


def resume(folder, **kw) -> list[str]:
    run = resume_run(folder, **kw)
    try:
        run_search(run, progress=False)
    finally:
        run.close()
    return [r["hash"] for r in read_results(folder)]


@pytest.mark.parametrize("space", ["nasbench201", "nasbench101"])
@pytest.mark.parametrize("algo", ["alphax", "random", "evolution"])
def test_every_searchers_checkpoint_loads_with_only_the_classes_a_checkpoint_may_build(tmp_path, monkeypatch,
                                                                                       caplog, space, algo):
    """Loading a checkpoint builds only :data:`~alphax.checkpoint.STATE_CLASSES`: a run's state that comes
    to hold another class (a new searcher's, a new module's) must be added there, or its runs could not
    resume from their checkpoints (they would fail here, naming the class). AlphaX's holds its meta-DNN."""
    from alphax import checkpoint

    found = set()
    restricted = checkpoint._Unpickler.find_class

    def find_class(self, module, name):
        found.add((module, name))
        return restricted(self, module, name)

    data = str(shared_file()) if space == "nasbench101" else None
    options = {"population_size": 10, "tournament_size": 3} if algo == "evolution" else {}
    config = cfg(space=space, dataset="cifar10" if space == "nasbench201" else None, data=data, algo=algo,
                 budget=30, checkpoint_every=30, searcher_options=options)
    search(config, tmp_path / "run")
    monkeypatch.setattr(checkpoint._Unpickler, "find_class", find_class)
    with caplog.at_level(logging.WARNING):
        assert len(resume(tmp_path / "run", budget=31)) == 31
    assert found and "cannot be unpickled" not in caplog.text
    if algo == "alphax":
        assert {("meta_dnn.train", "Predictor"), ("torch._utils", "_rebuild_tensor_v2")} <= found


def test_config_round_trip_and_validation(tmp_path):
    c = cfg()
    c.save(tmp_path / "c.json")
    assert SearchConfig.load(tmp_path / "c.json") == c
    assert SearchConfig().dataset == "cifar10" and SearchConfig().space == "nasbench201"
    for bad in ({"budget": 0}, {"algo": "nope"}, {"space": "nasbench101", "dataset": "cifar10"},
                {"seed": -1}, {"space": "nasbench201", "evaluator": "train"}):
        with pytest.raises(ConfigError):
            cfg(**bad)
    with pytest.raises(ConfigError, match="unknown config keys"):
        SearchConfig.from_json({**c.to_json(), "extra": 1})
    with pytest.raises(ConfigError, match="train must be a JSON object"):     # a hand-edited config.json
        SearchConfig.from_json({**c.to_json(), "train": 5})
    trained = {"space": "nasbench101", "dataset": None, "evaluator": "train", "data": None}
    for bad, needle in (({"data": 5}, "data must be the path"), ({"data": [1]}, "data must be the path"),
                        ({"version": "1"}, "config version '1' is not supported"),
                        ({**trained, "train": {"cifar": 5}}, r"--cifar must be the CIFAR-10 folder \(text\), got 5"),
                        ({**trained, "train": {"cifar": "c", "validation_size": "8"}},
                         "--validation-size must be a positive integer, got '8'"),
                        ({**trained, "train": {"validation_size": 3.5}}, "--validation-size must be a positive integer")):
        with pytest.raises(ConfigError, match=needle):
            SearchConfig.from_json({**c.to_json(), **bad})
    edited = c.to_json()
    del edited["budget"], edited["seed"]
    (tmp_path / "c.json").write_text(json.dumps(edited))
    with pytest.raises(ConfigError, match="c.json lacks budget, seed: it was edited"):
        SearchConfig.load(tmp_path / "c.json")      # not filled in with defaults
    (tmp_path / "c.json").write_text(json.dumps({**c.to_json(), "budget": "x"}))
    with pytest.raises(ConfigError, match=r"c.json holds a bad value: budget must be a positive integer, got 'x'; "
                                          r"it was edited: restore it from a copy"):
        SearchConfig.load(tmp_path / "c.json")      # names the file, not an option nobody gave


def test_same_seed_same_run_and_another_seed_another(tmp_path):
    a = search(cfg(), tmp_path / "a")
    b = search(cfg(), tmp_path / "b")
    c = search(cfg(seed=4), tmp_path / "c")
    assert len(a) == 40 and len(set(a)) == 40
    assert a == b and a != c
    rows = read_results(tmp_path / "a")
    assert {"n", "hash", "matrix", "ops", "accuracy", "predicted", "seconds", "worker"} <= set(rows[0])
    assert [r["n"] for r in rows] == list(range(1, 41))


def test_resume_after_a_crash_replays_the_log_and_continues_the_same_sequence(tmp_path):
    reference = search(cfg(), tmp_path / "ref")
    folder = tmp_path / "run"
    search(cfg(budget=20), folder)                          # checkpoints at 10 and 20
    saved = {name: (folder / name).read_bytes() for name in (LATEST, PREVIOUS)}
    assert resume(folder, budget=27) == reference[:27]
    # a crash after 27 results, while writing the 28th, with the checkpoint still at n=20:
    for name, blob in saved.items():
        (folder / name).write_bytes(blob)
    assert checkpoint_info(folder / LATEST)["n"] == 20
    with open(folder / "results.jsonl", "a") as f:
        f.write('{"n": 28, "hash": "|nor_co')
    assert resume(folder, budget=40) == reference


@pytest.mark.parametrize("algo", ["alphax", "evolution"])
def test_a_farms_jobs_out_when_it_stopped_are_proposed_again_on_resume(tmp_path, caplog, algo):
    """The MPI server asks ahead and records results as they come: its checkpoint at a stop holds
    proposals whose results never came. On resume they are taken back (AlphaX: their provisional
    backups too), so that they may be proposed again."""
    options = {"alphax": {"init_random": 5, "first_fit_steps": 20, "fit_steps": 5, "members": 2, "hidden": 8,
                          "exploit_every": 0, "mutate_every": 0},
               "evolution": {"population_size": 10, "tournament_size": 3}}[algo]
    run = create_run(cfg(algo=algo, searcher_options=options, checkpoint_every=1000), tmp_path / "run",
                     dispatch="mpi")
    for p in run.searcher.ask(5):
        run.record(p, run.evaluator.evaluate(p.cell))
    out = run.searcher.ask(3)                    # three jobs dispatched, one comes back
    run.record(out[0], run.evaluator.evaluate(out[0].cell))
    run.close()                                  # the stop's checkpoint, with two jobs out
    with caplog.at_level(logging.INFO):
        run = resume_run(tmp_path / "run", dispatch="mpi")
    try:
        searcher = run.searcher
        assert all(searcher.pool.is_new(p.cell) for p in out[1:])
        assert "2 proposals out for evaluation when the run stopped never came back; taken back" in caplog.text
        if algo == "alphax":
            assert searcher.pending == {} and searcher.tree.nodes[0].visits == 1    # the one tree result
    finally:
        run.close()


def test_resume_from_the_previous_checkpoint_when_the_latest_is_corrupt(tmp_path, caplog):
    reference = search(cfg(), tmp_path / "ref")
    folder = tmp_path / "run"
    search(cfg(budget=30), folder)
    (folder / LATEST).write_bytes(b"ALPHAX-CHECKPOINT 1\n00\n")
    with caplog.at_level(logging.WARNING):
        assert resume(folder, budget=40) == reference
    assert "previous checkpoint" in caplog.text


def test_resume_without_any_checkpoint_replays_from_the_start(tmp_path):
    reference = search(cfg(), tmp_path / "ref")
    folder = tmp_path / "run"
    search(cfg(budget=25), folder)
    os.remove(folder / LATEST)
    os.remove(folder / PREVIOUS)
    assert resume(folder, budget=40) == reference


def test_a_log_that_does_not_match_the_checkpoint_is_refused(tmp_path):
    folder = tmp_path / "run"
    search(cfg(budget=25), folder)                          # checkpoint at n=25 (end), previous at 20
    os.remove(folder / LATEST)                              # resume from n=20: rows 21..25 are replayed
    lines = (folder / "results.jsonl").read_text().splitlines()
    from alphax.spaces.nasbench201 import NB201Cell

    other = NB201Cell(("none",) * 6)                        # another cell, written whole (hash and cell agree)
    r = {**json.loads(lines[21]), "hash": other.arch, "matrix": other.node_matrix.tolist(), "ops": list(other.edges)}
    assert r["hash"] == "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    lines[21] = json.dumps(r)
    (folder / "results.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(CheckpointError, match="replay diverged at n=22"):
        resume_run(folder)


def test_resuming_a_finished_run_rewrites_no_checkpoint(tmp_path):
    folder = tmp_path / "run"
    search(cfg(budget=15), folder)                          # checkpoints at n=10 and 15
    saved = {name: (folder / name).read_bytes() for name in (LATEST, PREVIOUS, "stats.json")}
    run = resume_run(folder)
    time.sleep(0.3)                                         # the reopening's time is not the run's
    try:
        summary = run_search(run, progress=False)
    finally:
        run.close()
    assert summary.wall_seconds == json.loads(saved["stats.json"])["wall_seconds"]
    assert [r["hash"] for r in read_results(folder)] == search(cfg(budget=15), tmp_path / "again")
    # stats.json too: the time spent opening a finished run again is not the run's (alphax compare run again)
    assert {name: (folder / name).read_bytes() for name in (LATEST, PREVIOUS, "stats.json")} == saved


def test_a_run_that_evaluated_its_whole_table_keeps_its_stats_when_opened_again(tmp_path):
    """Finished short of its budget (the table ran out, 30 of 40): opened again, nothing to do, so its
    stats.json (its wall time) stays as the run left it, as for a run that reached its budget."""
    import gzip

    small = tmp_path / "small.jsonl.gz"
    with gzip.open(shared_file(), "rb") as f:
        small.write_bytes(gzip.compress(b"".join(f.readline() for _ in range(30))))
    folder = tmp_path / "run"
    config = SearchConfig(space="nasbench101", data=str(small), algo="random", budget=40, seed=1)
    assert len(search(config, folder)) == 30
    saved = (folder / "stats.json").read_bytes()
    assert len(resume(folder)) == 30
    assert (folder / "stats.json").read_bytes() == saved


def test_a_resume_refused_for_a_missing_results_log_creates_none(tmp_path):
    folder = tmp_path / "run"
    search(cfg(budget=12), folder)                          # a checkpoint at n=10
    os.remove(folder / "results.jsonl")
    with pytest.raises(CheckpointError, match="the results log has been cut"):
        resume_run(folder, budget=20)
    assert not (folder / "results.jsonl").exists()          # the folder as it was


def test_an_existing_folder_is_never_overwritten(tmp_path, caplog):
    folder = tmp_path / "run"
    search(cfg(budget=5), folder)
    before = (folder / "results.jsonl").read_bytes()
    with pytest.raises(CheckpointError, match="'alphax search --resume"):
        create_run(cfg(budget=5), folder)
    with pytest.raises(CheckpointError, match="'run_server.py --resume"):
        create_run(cfg(budget=5), folder, dispatch="mpi")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CheckpointError, match=r"afile already exists \(a file\)"):
        create_run(cfg(budget=5), tmp_path / "afile")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(CheckpointError, match=r"other already exists \(not empty, and not a run folder: it has no "
                                              r"config.json\); choose another --out"):
        create_run(cfg(budget=5), tmp_path / "other")
    assert (folder / "results.jsonl").read_bytes() == before
    with open(folder / "results.jsonl", "a") as f:
        f.write('{"n": 6, "hash": "|nor')                  # a torn line, then a resume that fails:
    before = (folder / "results.jsonl").read_bytes()
    config_before = (folder / "config.json").read_bytes()
    with pytest.raises(ConfigError, match=r"below the 5 results .*; give --budget 5 or more \(or leave it out to "
                                          r"keep the budget of 5\)"):
        resume_run(folder, budget=3)
    assert "ERROR alphax.runfolder: resume of" in (folder / "log.txt").read_text().splitlines()[-1]  # log.txt says why
    assert "give --budget 5 or more" not in caplog.text          # the console gets it once, from the caller
    with pytest.raises(ConfigError, match="--budget must be a positive integer, got -5"):
        resume_run(folder, budget=-5)
    assert (folder / "results.jsonl").read_bytes() == before  # nothing written, not even the cut
    run = resume_run(folder, budget=6)
    run.close()                                            # resumed, but nothing appended yet
    assert (folder / "results.jsonl").read_bytes() == before
    assert (folder / "config.json").read_bytes() == config_before     # the new budget once the run goes on
    run = resume_run(folder, budget=6)
    caplog.set_level(logging.INFO)
    try:
        run_search(run, progress=False)                     # the first append cuts the torn line
    finally:
        run.close()
    assert json.loads((folder / "config.json").read_text())["budget"] == 6
    assert "config.json updated: budget 5 -> 6" in caplog.text
    after = (folder / "results.jsonl").read_bytes()
    assert after.startswith(before[:before.rindex(b"\n") + 1]) and b'"hash": "|nor' not in after
    assert [r["n"] for r in read_results(folder)] == list(range(1, 7))
    with pytest.raises(CheckpointError, match=r"not a run folder \(it does not exist\); start a run there with --out"):
        resume_run(tmp_path / "nothing")
    with pytest.raises(CheckpointError, match=r"not a run folder \(a file\); give the run's folder"):
        resume_run(folder / "results.jsonl")
    compare = tmp_path / "cmp"
    (compare / "runs" / "random-seed0").mkdir(parents=True)
    (compare / "compare.json").write_text("{}")
    (compare / "runs" / "random-seed0" / "config.json").write_text("{}")
    with pytest.raises(CheckpointError, match=r"but a compare folder: the same alphax compare command continues it, "
                                              r"or resume one of its runs, e.g. --resume .*random-seed0"):
        resume_run(compare)


def test_a_run_folder_is_open_in_one_process_at_a_time(tmp_path):
    """Two processes appending to one results log would corrupt it: the second is refused, and the
    kernel drops the lock with the process (a killed run leaves no stale lock)."""
    import subprocess
    import sys

    folder = tmp_path / "run"
    search(cfg(budget=10), folder)
    run = resume_run(folder, budget=15)
    before = (folder / "results.jsonl").read_bytes()
    try:
        proc = subprocess.run([sys.executable, "-m", "alphax.cli", "search", "--resume", str(folder), "--budget", "20",
                               "--no-progress"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert f"in use by another alphax process (pid {os.getpid()})" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert (folder / "results.jsonl").read_bytes() == before
        with pytest.raises(CheckpointError, match="in use"):
            resume_run(folder)                            # in this process too
        run_search(run, progress=False)
    finally:
        run.close()
    assert resume(folder, budget=20) == search(cfg(budget=20), tmp_path / "ref")


def test_a_first_checkpoint_that_fails_gives_the_folder_back(tmp_path, monkeypatch):
    """A new run's checkpoint at n=0, or a resume's after its replay, that fails (a full disk) ends
    create_run or resume_run with the error and no run: the folder's lock, its log.txt handler and its
    results log are given back then, not when the process ends (a comparison or a notebook goes on)."""
    import errno

    import alphax.run

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    handlers = list(logging.getLogger().handlers)
    folder = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(alphax.run, "save_checkpoint", full)
        with pytest.raises(OSError, match="No space left"):
            create_run(cfg(budget=10), folder)
    assert logging.getLogger().handlers == handlers
    assert resume(folder) == search(cfg(budget=10), tmp_path / "ref")       # the lock is free: continued
    for name in (LATEST, PREVIOUS):                # without a checkpoint a resume replays the log, then checkpoints
        (folder / name).unlink(missing_ok=True)
    with monkeypatch.context() as m:
        m.setattr(alphax.run, "save_checkpoint", full)
        with pytest.raises(OSError, match="No space left"):
            resume_run(folder, budget=15)
    assert logging.getLogger().handlers == handlers
    assert resume(folder, budget=15) == search(cfg(budget=15), tmp_path / "ref15")


def test_a_resume_whose_run_cannot_be_made_gives_the_folder_back(tmp_path, monkeypatch):
    """Making the Run itself failing in resume_run (inside the try that gives the folder back): its lock,
    log.txt handler and results log are given back then, so the next resume in this process goes on."""
    import alphax.runfolder

    folder = tmp_path / "run"
    search(cfg(budget=10), folder)
    handlers = list(logging.getLogger().handlers)

    def broken(*args, **kw):
        raise MemoryError("no memory for the run")

    with monkeypatch.context() as m:
        m.setattr(alphax.runfolder, "Run", broken)
        with pytest.raises(MemoryError):
            resume_run(folder, budget=15)
    assert logging.getLogger().handlers == handlers
    assert resume(folder, budget=15) == search(cfg(budget=15), tmp_path / "ref")


def test_a_failed_evaluation_is_recorded_as_data(tmp_path):
    class Flaky:
        def __init__(self, inner):
            self.inner, self.calls = inner, 0

        def evaluate(self, cell):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("GPU fell off the bus")
            return self.inner.evaluate(cell)

        def close(self):
            pass

    run = create_run(cfg(budget=6), tmp_path / "run")
    run._evaluator = Flaky(run.evaluator)
    try:
        summary = run_search(run, progress=False)
    finally:
        run.close()
    rows = read_results(tmp_path / "run")
    assert len(rows) == 6 and summary.complete
    assert rows[2]["accuracy"] is None and "GPU fell off the bus" in rows[2]["error"]
    assert "traceback" in rows[2]["info"]
    assert all(r["accuracy"] is not None for i, r in enumerate(rows) if i != 2)
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert len(stats["searcher_seconds"]) == 6 and stats["wall_seconds"] > 0


def test_two_runs_open_in_one_process_keep_their_logs_apart(tmp_path, caplog):
    """Library use: what one run's code logs goes to its log.txt only; a record made outside both runs
    goes to both."""
    caplog.set_level(logging.INFO)

    class Broken:
        def evaluate(self, cell):
            raise RuntimeError("GPU fell off the bus")

        def close(self):
            pass

    a = create_run(cfg(budget=4, seed=1), tmp_path / "a")
    b = create_run(cfg(budget=4, seed=2), tmp_path / "b")
    try:
        b._evaluator = Broken()
        run_search(b, progress=False)      # logs "evaluation failed" four times, inside b's scope
        run_search(a, progress=False)
        logging.getLogger("elsewhere").warning("said outside both runs")
    finally:
        a.close()
        b.close()
    logging.getLogger("elsewhere").warning("said after both closed")
    log_a, log_b = ((tmp_path / name / "log.txt").read_text() for name in "ab")
    assert f"new run {tmp_path / 'a'}" in log_a and f"new run {tmp_path / 'b'}" not in log_a
    assert f"new run {tmp_path / 'b'}" in log_b and f"new run {tmp_path / 'a'}" not in log_b
    assert log_b.count("GPU fell off the bus") == 4 and "GPU fell off the bus" not in log_a
    ended = next(line for line in log_a.splitlines() if "ended: " in line)        # NAS-Bench-201: judged by means
    assert "ended: 4 of 4 results, best 0." in ended and "(mean over training seeds; this run observed 0." in ended
    assert "ended: 4 of 4 results, best none (every evaluation failed)" in log_b
    assert "said outside both runs" in log_a and "said outside both runs" in log_b
    assert "said after both closed" not in log_a + log_b


def test_a_config_json_edited_to_another_space_is_named_as_edited_before_that_space_is_loaded(tmp_path):
    """The checkpoint's header holds the run's config: a config.json edited to another space (or data set)
    is refused as altered, not with the error that space's data would give (a pickle that is not a
    NASBench-101 file, "another set of candidate cells"), and nothing is written."""
    folder = tmp_path / "run"
    search(cfg(budget=12), folder)
    config = json.loads((folder / "config.json").read_text())
    for edit in ({"space": "nasbench101", "dataset": None}, {"dataset": "cifar100"}):
        (folder / "config.json").write_text(json.dumps({**config, **edit}))
        before = (folder / "results.jsonl").read_bytes()
        with pytest.raises(CheckpointError, match=r"checkpoint.pkl was written with another config than .*config.json; "
                                                  r"the run folder has been altered: restore config.json"):
            resume_run(folder, budget=14)
        assert (folder / "results.jsonl").read_bytes() == before
    assert "resume of" in (folder / "log.txt").read_text()


def test_results_edited_before_the_checkpoint_are_refused(tmp_path):
    """A row the checkpoint's state was made from, edited since (its accuracy, or its cell), no longer
    passes silently (a negative regret; a cell taken back "as a lost proposal" and evaluated again): the
    checkpoint's header holds a digest of those rows."""
    folder = tmp_path / "run"
    search(cfg(budget=12, checkpoint_every=5), folder)
    path = folder / "results.jsonl"
    original = path.read_text()
    resume_run(folder, budget=13).close()                           # intact: it resumes
    digest = (CheckpointError, r"results.jsonl: its first 12 results are not those checkpoint.pkl was written after "
                               r"\(a row's cell or accuracy was edited\); restore results.jsonl")
    cell = (DataError, r"results.jsonl: line 3: its matrix and ops are not the cell of its hash f+ ")   # read first
    for field, value, (error, message) in (("accuracy", 0.99, digest), ("hash", "f" * 32, cell)):
        lines = original.splitlines(keepends=True)
        row = json.loads(lines[2])
        row[field] = value
        lines[2] = json.dumps(row) + "\n"
        path.write_text("".join(lines))
        with pytest.raises(error, match=message):
            resume_run(folder, budget=13)
    path.write_text(original)


@pytest.mark.parametrize("line", [3, 12])             # before the checkpoint at n=10 (digested), after it (replayed)
def test_a_logged_cell_edited_anywhere_is_refused_naming_its_line(tmp_path, line):
    """The checkpoint's digest of the log covers each row's hash, not its matrix and ops, which a replay
    tells the searcher and a report draws: a row whose cell is not that of its hash (another cell, no
    valid cell, another matrix for the same ops, which is said as such) is refused before any work, naming
    the file and line, and nothing is written."""
    folder = tmp_path / "run"
    search(cfg(budget=14, checkpoint_every=10), folder)
    path = folder / "results.jsonl"
    resume_run(folder, budget=15).close()                           # intact: it resumes
    original = path.read_text()
    ops = json.loads(original.splitlines()[line - 1])["ops"]
    other = [("skip_connect" if ops[0] != "skip_connect" else "none"), *ops[1:]]
    for edit, message in (({"ops": other}, r"its matrix and ops are not the cell of its hash \|.*\| \(they are \|"),
                          ({"ops": ["foo", *ops[1:]]}, r"holds no valid cell \(a NAS-Bench-201 cell is 6 ops from"),
                          ({"matrix": [[0, 1], [0, 0]]}, r"its matrix is not written as the run writes its cell "
                                                         r"\|.*\|; ")):
        lines = original.splitlines(keepends=True)
        lines[line - 1] = json.dumps({**json.loads(lines[line - 1]), **edit}) + "\n"
        path.write_text("".join(lines))
        with pytest.raises(DataError, match=f"results.jsonl: line {line}:? {message}.*the results log has been "
                                            f"altered: restore it from a copy"):
            resume_run(folder, budget=16)
        assert path.read_text() == "".join(lines)
        assert sorted(p.name for p in folder.glob("checkpoint*")) == ["checkpoint.pkl", "checkpoint.prev.pkl"]
    path.write_text(original)
    resume_run(folder, budget=16).close()


def test_a_config_json_budget_edited_below_the_results_is_refused(tmp_path):
    """A budget below the results logged is refused from config.json as from --budget (the run would end
    at once, "15 of 10 results"); --budget can set it right."""
    folder = tmp_path / "run"
    search(cfg(budget=15), folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "budget": 10}))
    with pytest.raises(ConfigError, match=r"config.json gives a budget of 10, below the 15 results .* already holds: "
                                          r"config.json has been altered; restore it from a copy, or resume with "
                                          r"--budget 15 or more"):
        resume_run(folder)
    with pytest.raises(ConfigError, match=r"--budget 10 is below the 15 results .* give --budget 15 or more$"):
        resume_run(folder, budget=10)
    assert json.loads((folder / "config.json").read_text())["budget"] == 10
    run = resume_run(folder, budget=15)
    run.close()


def test_a_checkpoint_of_another_config_or_table_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    search(cfg(budget=12), folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "seed": 99}))
    with pytest.raises(CheckpointError, match="another config"):
        resume_run(folder)
    (folder / "config.json").write_text(json.dumps(config))
    from workers.evaluators import NASBench201TableEvaluator

    original = NASBench201TableEvaluator.candidates
    monkeypatch.setattr(NASBench201TableEvaluator, "candidates", lambda self: original(self)[::-1])
    with pytest.raises(CheckpointError, match="another set of candidate cells"):
        resume_run(folder)


def test_another_table_is_named_as_such_not_as_a_checkpoint_that_cannot_be_unpickled(tmp_path):
    """--data of another table for a run without a result: the checkpoint's header says which cells it
    refers to, so the refusal names the table (its unpickling failed first, reported as a damaged file)."""
    import gzip

    with gzip.open(shared_file(), "rb") as f:
        lines = [f.readline() for _ in range(30)]
    (tmp_path / "a.jsonl").write_bytes(b"".join(lines))
    (tmp_path / "b.jsonl").write_bytes(b"".join(lines[:20]))
    config = SearchConfig(space="nasbench101", data=str(tmp_path / "a.jsonl"), algo="random", budget=5)
    folder = tmp_path / "run"
    create_run(config, folder).close()
    with pytest.raises(CheckpointError, match=r"checkpoint.pkl refers to another set of candidate cells than the "
                                              r"table now gives \(was the data file changed\?\)"):
        create_run(replace(config, data=str(tmp_path / "b.jsonl")), folder)
    with pytest.raises(CheckpointError, match="another set of candidate cells"):
        resume_run(folder, data=str(tmp_path / "b.jsonl"))


@pytest.mark.parametrize("space, override", [("nasbench201", {"kappa": 1.0}), ("nasbench101", {"c": 2.0})])
def test_the_spaces_searcher_defaults_apply_under_the_users_options(tmp_path, space, override):
    """A run's AlphaX starts from its space's per-searcher defaults (NAS-Bench-201: kappa, the proposal
    cycle, the warm-up; NASBench-101: c, prior_visits); an option given by the user wins over one of them
    and leaves the others."""
    from alphax.registry import build_space_and_evaluator

    data = str(shared_file()) if space == "nasbench101" else None
    config = cfg(space=space, dataset="cifar10" if space == "nasbench201" else None, data=data, algo="alphax",
                 budget=5, searcher_options=override)
    defaults = build_space_and_evaluator(config)[0].default_searcher_options["alphax"]
    assert set(override) <= set(defaults) and len(defaults) > len(override)
    run = create_run(config, tmp_path / "run")
    try:
        for key, value in {**defaults, **override}.items():
            assert getattr(run.searcher, key) == value, key
    finally:
        run.close()


def test_a_budget_above_the_table_is_warned_about(tmp_path, caplog):
    with caplog.at_level(logging.WARNING):
        create_run(cfg(budget=15625), tmp_path / "all").close()          # every cell: no warning
        assert "more than the" not in caplog.text
        create_run(cfg(budget=20000), tmp_path / "more").close()
    assert "--budget 20000 is more than the 15625 cells the table holds" in caplog.text
    assert "--budget 20000 is more than" in (tmp_path / "more" / "log.txt").read_text()


def test_the_time_worked_after_the_last_checkpoint_is_not_lost_to_a_kill():
    """wall_seconds on resume: the checkpoint's, plus its time to the last result logged after it (each row
    carries the Unix time it was recorded); with no checkpoint, from the first result on."""
    from types import SimpleNamespace

    from alphax.run import _unsaved_wall

    rows = [{"n": k, "time": 1000.0 + 10 * k, "seconds": 2.0} for k in range(1, 8)]
    log = SimpleNamespace(rows=rows)
    assert _unsaved_wall({"n": 4, "wall_seconds": 50.0, "time": 1041.0}, log) == pytest.approx(29.0)  # to row 7
    assert _unsaved_wall({"n": 7, "wall_seconds": 80.0, "time": 1071.0}, log) == 0.0   # nothing after it
    assert _unsaved_wall({"n": 0, "dispatch": "inline"}, log) == pytest.approx(1070.0 - 1010.0)   # not `seconds`:
    # a table's recorded training time, not time this run spent
    old = SimpleNamespace(rows=[{k: v for k, v in r.items() if k != "time"} for r in rows])   # logs without times
    assert _unsaved_wall({"n": 4, "wall_seconds": 50.0, "time": 1041.0}, old) == 0.0


def test_rows_carry_the_time_they_were_recorded(tmp_path):
    before = time.time()
    search(cfg(budget=5), tmp_path / "run")
    times = [r["time"] for r in read_results(tmp_path / "run")]
    assert before - 1 <= times[0] <= times[-1] <= time.time() + 1 and times == sorted(times)


def test_a_run_killed_while_it_wrote_its_config_is_started_again_by_the_same_command(tmp_path, monkeypatch):
    """SIGKILL between the temp config and its rename leaves the lock and config.json.tmp, and nothing of
    the run: the same command starts it (it was refused as a folder "not empty, and not a run folder").
    A signal raised there (SIGTERM's Interrupted) leaves no temp file at all."""
    import alphax.config as config_module

    expected = search(cfg(budget=6), tmp_path / "fresh")
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "run.lock").write_text("999999999 somewhere\n")          # its process is gone
    (folder / "config.json.tmp").write_text('{"algo": "evol')
    assert search(cfg(budget=6), folder) == expected
    assert not (folder / "config.json.tmp").exists()

    def killed(*a):
        raise KeyboardInterrupt
    monkeypatch.setattr(config_module.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        cfg().save(tmp_path / "config.json")
    assert list(tmp_path.glob("config.json*")) == []


def test_the_same_command_again_continues_a_run_that_recorded_nothing(tmp_path, caplog):
    """An MPI farm whose clients could not start, or a run stopped during its first evaluation, leaves a
    run folder with no result: the same command (or one with another --budget) continues it, and it
    proposes what a new run would; other options, or a folder holding any result, are still refused."""
    expected = search(cfg(budget=8), tmp_path / "fresh")
    folder = tmp_path / "run"
    create_run(cfg(budget=8), folder).close()               # config.json and the checkpoint at n=0
    caplog.set_level(logging.INFO)
    with pytest.raises(CheckpointError, match=r"run already exists and holds another run's options \(seed 3 there, "
                                              r"4 now\), with no result yet: remove it to start this run there, "
                                              r"resume it as it is with 'alphax search --resume .*run', or choose "
                                              r"another --out"):
        create_run(cfg(budget=8, seed=4), folder)
    with pytest.raises(CheckpointError, match=r"options \(seed 3 there, 4 now\), with no"):   # the budget may differ
        create_run(cfg(budget=9, seed=4), folder)
    assert search(cfg(budget=8), folder) == expected
    assert "holds this run and no result yet (it never got to evaluate a cell): continuing it" in caplog.text
    bare = tmp_path / "bare"                                 # stopped before its first checkpoint, another budget
    create_run(cfg(budget=8), bare).close()
    for name in (LATEST, "log.txt", "stats.json"):
        (bare / name).unlink(missing_ok=True)
    assert search(cfg(budget=12), bare)[:8] == expected
    assert json.loads((bare / "config.json").read_text())["budget"] == 12
    torn = tmp_path / "torn"                                 # a line being written: not "nothing recorded"
    create_run(cfg(budget=8), torn).close()
    (torn / "results.jsonl").write_text('{"n": 1, "hash": "|nor')
    with pytest.raises(CheckpointError, match="torn already exists: resume it with 'alphax search --resume"):
        create_run(cfg(budget=8), torn)
    # results recorded by another process between the check and the lock: refused once the lock is held
    with pytest.raises(CheckpointError, match="run already exists: resume it with 'alphax search --resume"):
        resume_run(folder, unstarted=True)
    from alphax.runlock import RunLock

    busy = tmp_path / "busy"
    create_run(cfg(budget=8), busy).close()
    held = RunLock(busy)                                     # a live process has it open: not "remove it"
    with pytest.raises(CheckpointError, match=f"busy is in use by another alphax process \\(pid {os.getpid()}\\)"):
        create_run(cfg(budget=8, seed=4), busy)
    held.release()
    (busy / "config.json").write_text("{")
    with pytest.raises(CheckpointError, match=r"busy already exists, with no result yet and a config.json that "
                                              r"cannot be used \(.*not valid JSON.*\); remove the folder"):
        create_run(cfg(budget=8), busy)


def test_the_same_training_command_continues_with_its_device_and_cifar_left_out(tmp_path):
    """As --resume: --cifar and --device may be given anew or left out (the run's own stay)."""
    from workers.cifar import write_synthetic

    cifar = str(write_synthetic(tmp_path / "c", per_batch=64, test=100))
    train = dict(space="nasbench101", evaluator="train", algo="random", budget=2, pool_size=10)
    folder = tmp_path / "run"
    create_run(SearchConfig(**train, train={"cifar": cifar, "device": "cpu", "epochs": 1}), folder,
               dispatch="mpi").close()
    for given in ({"epochs": 1}, {"cifar": cifar, "epochs": 1}, {"device": "cpu", "epochs": 1}):
        run = create_run(SearchConfig(**train, train=given), folder, dispatch="mpi")
        run.close()
        assert run.config.train == {"cifar": cifar, "device": "cpu", "epochs": 1}
    with pytest.raises(CheckpointError, match=r"holds another run's options \(train.epochs 1 there, 2 now\), with"):
        create_run(SearchConfig(**train, train={"cifar": "elsewhere", "epochs": 2}), folder, dispatch="mpi")


def test_a_resume_changes_only_what_may_differ_where_it_runs(tmp_path):
    """--data only for a table's run; of the training options only the machine's own (where CIFAR-10 is,
    which device); each refusal before anything in the folder changes."""
    folder = tmp_path / "run"
    folder.mkdir()
    SearchConfig(space="nasbench101", evaluator="train", pool_size=0).save(folder / "config.json")
    before = sorted(p.name for p in folder.iterdir())
    with pytest.raises(ConfigError, match=r"--data is for a run that evaluates a table; .*run trains$"):
        resume_run(folder, data=str(tmp_path / "table.jsonl"))
    with pytest.raises(ConfigError, match=r"may change when a run resumes, got epochs$"):
        resume_run(folder, local_train={"epochs": 2})
    assert sorted(p.name for p in folder.iterdir()) == before


def test_what_a_resume_may_change_replaces_the_runs_own(tmp_path, monkeypatch):
    """Where a run resumes, its --cifar and --device replace those config.json holds (its other training
    options stay), --data is made absolute (config.json is read from other folders later), and no
    training option at all changes nothing, on either kind of run."""
    from alphax.runfolder import _moved

    trained = SearchConfig(space="nasbench101", evaluator="train", pool_size=0,
                           train={"device": "cuda", "cifar": "/there", "epochs": 4})
    moved = _moved(trained, tmp_path, data=None, local_train={"device": "cpu", "cifar": "/here"})
    assert moved.train == {"device": "cpu", "cifar": "/here", "epochs": 4}
    table = SearchConfig(space="nasbench101", data="/old/table.jsonl.gz")
    monkeypatch.chdir(tmp_path)
    assert _moved(table, tmp_path, data="table.jsonl.gz", local_train=None).data == str(tmp_path / "table.jsonl.gz")
    assert _moved(table, tmp_path, data=None, local_train={}) == table
    assert _moved(trained, tmp_path, data=None, local_train={}) == trained


def test_two_runs_started_at_once_never_share_a_folder(tmp_path, monkeypatch):
    """B passes the empty-folder check, then, while it builds its searcher, A starts, runs and ends in the
    same folder: B is refused once it holds the lock, and A's run is left as it was. Without --out, two
    runs started in the same second get two folders."""
    import alphax.runfolder as run_mod

    folder = tmp_path / "race"
    make = run_mod.searcher_for

    def meanwhile(*args, **kwargs):
        monkeypatch.setattr(run_mod, "searcher_for", make)
        search(cfg(budget=5, seed=1), folder)                  # A, complete
        return make(*args, **kwargs)

    monkeypatch.setattr(run_mod, "searcher_for", meanwhile)
    with pytest.raises(CheckpointError, match="race already exists: resume it with"):
        create_run(cfg(budget=5, seed=2), folder)
    assert json.loads((folder / "config.json").read_text())["seed"] == 1 and len(read_results(folder)) == 5

    from alphax.runlock import RunLock

    busy = tmp_path / "busy"
    busy.mkdir()
    held = RunLock(busy)                                        # a run being started there right now
    with pytest.raises(CheckpointError, match="another run is being started in .*busy; choose another --out"):
        create_run(cfg(budget=5), busy)
    held.release()
    assert not (busy / "config.json").exists()

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(run_mod, "default_out", lambda config: Path("runs") / "same-second")
    a, b, c = create_run(cfg(budget=5), None), create_run(cfg(budget=5), None), create_run(cfg(budget=5), None)
    a.close(), b.close(), c.close()
    assert (a.folder.name, b.folder.name, c.folder.name) == ("same-second", "same-second-2", "same-second-3")
    assert checkpoint_info(a.folder / LATEST)["n"] == 0          # a checkpoint from the start: the table's fingerprint


# -- found missing by a mutation audit (2026-12-05): each fails on one plausible bug --
def _fd_path(fd):
    return os.readlink(f"/proc/self/fd/{fd}")


def test_a_checkpoint_is_fsynced_before_it_is_renamed_into_place_and_the_folder_after(tmp_path, monkeypatch):
    """The temp file's fsync and the folder's fsync are the atomicity promise of a save."""
    from alphax.checkpoint import LATEST, save_checkpoint

    events, fsync, replace = [], os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", _fd_path(fd))), fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(a), str(b))), replace(a, b))[1])
    save_checkpoint(tmp_path, {"n": 1})
    tmp, latest = str(tmp_path / (LATEST + ".tmp")), str(tmp_path / LATEST)
    assert events == [("fsync", tmp), ("replace", tmp, latest), ("fsync", str(tmp_path))]


def test_each_results_row_is_fsynced_before_append_returns(tmp_path, monkeypatch):
    """'each line is written, flushed and fsynced before the searcher hears of the result'."""
    from alphax.runlog import RunLog

    path = tmp_path / "results.jsonl"
    synced, fsync = [], os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append((_fd_path(fd), os.fstat(fd).st_size)), fsync(fd))[1])
    with RunLog(path) as log:
        for n in (1, 2):
            log.append({"n": n, "hash": f"h{n}", "accuracy": 0.5})
            assert synced[-1] == (str(path), path.stat().st_size) and len(synced) == n


def test_a_resume_cannot_cut_the_budget_below_the_results_logged(tmp_path):
    from alphax.config import SearchConfig
    from alphax.errors import ConfigError
    from alphax.run import run_search
    from alphax.runfolder import create_run, resume_run

    config = SearchConfig(space="nasbench201", dataset="cifar10", algo="random", budget=6, seed=0)
    run = create_run(config, tmp_path / "run")
    try:
        run_search(run, progress=False)
    finally:
        run.close()
    with pytest.raises(ConfigError, match="--budget 5 is below the 6 results"):
        resume_run(tmp_path / "run", budget=5)
    resume_run(tmp_path / "run", budget=6).close()


def test_a_negative_eval_seed_is_refused():
    """A negative eval seed would make every table evaluation fail (and be logged as failed)."""
    from alphax.config import SearchConfig
    from alphax.errors import ConfigError

    with pytest.raises(ConfigError, match="--eval-seed must be an integer >= 0"):
        SearchConfig(eval_seed=-1)


def test_a_boolean_accuracy_in_the_log_is_corruption(tmp_path):
    """JSON true is not a reward."""
    from alphax.errors import DataError
    from alphax.runlog import read_results

    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({"n": 1, "hash": "h1", "accuracy": 0.5}) + "\n"
                    + json.dumps({"n": 2, "hash": "h2", "accuracy": True}) + "\n")
    with pytest.raises(DataError, match="line 2 has accuracy=True, not a number"):
        read_results(path)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_last_evaluation_ends_a_complete_run_as_complete(tmp_path, monkeypatch, caplog, signum):
    """SIGINT or SIGTERM while the budget's last cell is evaluated: the run records it and is complete, so
    it ends as complete (no "continue with --resume", no interrupted exit status), saying the signal came
    as it ended; one during an earlier evaluation still stops the run to be resumed."""
    import alphax.run as run_module

    evaluate = run_module._evaluate
    calls = []

    def signalled_at(k):
        def _evaluate(evaluator, cell):
            calls.append(1)
            if len(calls) == k:
                os.kill(os.getpid(), signum)      # the handler only notes it: the evaluation goes on
            return evaluate(evaluator, cell)
        return _evaluate

    monkeypatch.setattr(run_module, "_evaluate", signalled_at(6))
    caplog.set_level(logging.INFO)
    run = create_run(cfg(budget=6), tmp_path / "last")
    try:
        summary = run_search(run, progress=False)
    finally:
        run.close()
    assert summary.complete and summary.n == 6 and len(read_results(tmp_path / "last")) == 6
    assert f"{signal.Signals(signum).name} came as the run ended: it is complete" in caplog.text
    assert "continue with" not in caplog.text

    calls.clear()
    monkeypatch.setattr(run_module, "_evaluate", signalled_at(3))
    run = create_run(cfg(budget=6), tmp_path / "early")
    try:
        with pytest.raises(KeyboardInterrupt):
            run_search(run, progress=False)
    finally:
        run.close()
    assert len(read_results(tmp_path / "early")) == 3 and "continue with: alphax search --resume" in caplog.text


def test_a_nasbench201_run_ends_naming_its_best_cell_by_mean_as_it_prints_it(tmp_path, capsys, caplog):
    """NAS-Bench-201 judges a cell by its mean over training seeds: the log's last line names the cell
    ``alphax search`` prints and the report draws, not the luckiest draw (here they are different cells)."""
    from alphax.cli.search import print_summary
    from alphax.runlog import read_results

    caplog.set_level(logging.INFO)
    config = SearchConfig(space="nasbench201", dataset="cifar10", algo="random", budget=30, seed=0)
    run = create_run(config, tmp_path / "run")
    try:
        summary = run_search(run, progress=False)
        rows = [r for r in read_results(tmp_path / "run") if r.get("accuracy") is not None]
        lucky = max(rows, key=lambda r: r["accuracy"])
        by_mean = max(rows, key=lambda r: run.evaluator.reference_value(r["hash"]))
        assert lucky["n"] != by_mean["n"]
        print_summary(run, summary, run.evaluator.optimum())
    finally:
        run.close()
    mean = run.evaluator.reference_value(by_mean["hash"])
    judged = (f"best {mean:.6f} (mean over training seeds; this run observed {by_mean['accuracy']:.6f}) "
              f"at n={by_mean['n']}")
    assert f"ended: 30 of 30 results, {judged} ({by_mean['hash']})" in (tmp_path / "run" / "log.txt").read_text()
    assert f"\n{judged.replace('best', 'best:', 1)}  " in capsys.readouterr().out


def test_an_evaluator_s_reward_that_is_no_accuracy_is_logged_as_a_failure_not_a_crash(tmp_path):
    """A reward outside [0, 1] (a percentage, say) or not a number, from a library user's evaluator: as a
    NaN always was, the result is logged and told as a failed evaluation naming it; the run goes on, and
    its log resumes (the searcher's own check would have stopped the run after the row was written,
    leaving a log no resume reads)."""
    from alphax.searchers import Result

    folder = tmp_path / "run"
    run = create_run(cfg(budget=6), folder)
    table = run.evaluator
    rewards = iter([91.6, "0.9", float("nan")])

    class Percent:
        def evaluate(self, cell):
            got = table.evaluate(cell)
            return Result(next(rewards, got.accuracy), seconds=got.seconds, worker=got.worker)

        def close(self):
            pass

    run._evaluator = Percent()
    try:
        run_search(run, progress=False)
    finally:
        run.close()
    rows = read_results(folder)
    assert [r["error"] for r in rows[:3]] == ["reward 91.6 outside [0, 1]", "reward '0.9' is not a number",
                                             "non-finite reward nan"]
    assert [r["accuracy"] for r in rows[:3]] == [None, None, None] and len(rows) == 6
    resume_run(folder, budget=8).close()


@pytest.mark.parametrize("finish", [False, True])
def test_a_refit_killed_before_its_ranking_entry_was_written_is_logged_as_the_uninterrupted_run_did(tmp_path, finish):
    """SIGKILL after a row's result was logged, during the refit it started (most of AlphaX's time per
    result): the resume's replay refits again and its predictor.jsonl entry is written with the row and
    counts of the refit, as the uninterrupted run wrote it, not with those of the next result, nor lost
    when the budget was already reached (``finish``)."""
    import shutil

    config = SearchConfig(space="nasbench201", dataset="cifar10", algo="alphax", budget=80, seed=0,
                          checkpoint_every=20)
    whole = tmp_path / "whole"
    search(config, whole)
    entries = [json.loads(line) for line in (whole / "predictor.jsonl").read_text().splitlines()]
    k = max(e["n"] for e in entries if 60 < e["n"] < 80)         # a refit after the checkpoint at 60
    killed = tmp_path / "killed"
    shutil.copytree(whole, killed)
    rows = (killed / "results.jsonl").read_text().splitlines(keepends=True)[:k]
    (killed / "results.jsonl").write_text("".join(rows))                   # killed during the refit at row k
    (killed / "predictor.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries if e["n"] < k))
    (killed / "checkpoint.pkl").unlink()
    (killed / "checkpoint.prev.pkl").rename(killed / "checkpoint.pkl")   # the one at n=60
    (killed / "stats.json").unlink()
    with resume_run(killed, budget=k if finish else 80) as run:
        if not finish:
            run_search(run, progress=False)
    got = [json.loads(line) for line in (killed / "predictor.jsonl").read_text().splitlines()]
    assert got == [e for e in entries if e["n"] <= (k if finish else 80)]


# -- found missing by a second mutation audit (2026-12-05): each fails on one plausible bug --
def test_a_row_edited_after_the_previous_checkpoint_is_refused_not_resumed_from_that_one(tmp_path):
    """A results row between the previous checkpoint (n=10) and the latest (n=12) edited: the latest's
    header digest refuses it. Taking that refusal for a damaged latest and falling back to the previous
    checkpoint would replay the edited row as if it were a result, and the edit would pass silently."""
    folder = tmp_path / "run"
    search(cfg(budget=12, checkpoint_every=5), folder)          # checkpoints at n=10 (previous) and 12 (latest)
    assert (checkpoint_info(folder / PREVIOUS)["n"], checkpoint_info(folder / LATEST)["n"]) == (10, 12)
    path = folder / "results.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    row11 = json.loads(lines[10])
    lines[10] = json.dumps({**row11, "accuracy": 0.999}) + "\n"          # the same cell, another accuracy
    path.write_text("".join(lines))
    edited = path.read_bytes()
    with pytest.raises(CheckpointError, match=r"its first 12 results are not those checkpoint.pkl was written after"):
        resume_run(folder, budget=13)
    assert path.read_bytes() == edited and checkpoint_info(folder / LATEST)["n"] == 12    # nothing rewritten


def test_every_corrupt_latest_checkpoint_found_at_a_save_is_kept_aside(tmp_path, caplog):
    """'Nothing is ever deleted': a second corrupt latest found at a later save goes beside the first one
    kept aside (checkpoint.pkl.corrupt.2), not over it."""
    save_checkpoint(tmp_path, {"n": 10})
    first = (tmp_path / LATEST).read_bytes()[:-7]
    (tmp_path / LATEST).write_bytes(first)
    with caplog.at_level(logging.WARNING):
        save_checkpoint(tmp_path, {"n": 15})
    second = (tmp_path / LATEST).read_bytes()[:-3]
    (tmp_path / LATEST).write_bytes(second)
    with caplog.at_level(logging.WARNING):
        save_checkpoint(tmp_path, {"n": 20})
    assert (tmp_path / (LATEST + ".corrupt")).read_bytes() == first
    assert (tmp_path / (LATEST + ".corrupt.2")).read_bytes() == second
    assert read_checkpoint(tmp_path / LATEST)["n"] == 20


def test_accuracies_of_exactly_0_and_1_are_results_not_corruption(tmp_path):
    """A reward in [0, 1] is a result, its bounds included (a cell that fits a small data set exactly):
    the log that holds one stays readable and the run resumable."""
    path = tmp_path / "results.jsonl"
    path.write_text("".join(json.dumps({"n": n, "hash": f"h{n}", "accuracy": a}) + "\n"
                            for n, a in ((1, 0.0), (2, 1.0), (3, 1))))
    assert [r["accuracy"] for r in read_results(path)] == [0.0, 1.0, 1]
    with RunLog(path, create=False) as log:
        assert len(log) == 3


@pytest.mark.parametrize("time_", ["noon", float("inf"), True])
def test_a_row_time_that_is_not_a_number_is_corruption(tmp_path, time_):
    """A row's ``time`` (Unix seconds) is read as a number when a resume adds the time worked after the
    checkpoint: one that is not (an edited log) is named as corruption when the log is read, not a
    traceback later."""
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps(row(1, time=1.5)) + "\n" + json.dumps(row(2, time=time_)) + "\n")
    with pytest.raises(DataError, match=r"line 2 has time=.*, not a number or null.*restore it from a copy"):
        read_results(path)


def test_a_results_log_one_row_shorter_than_the_checkpoint_is_refused(tmp_path):
    """The checkpoint's searcher was told n results; a log that lost its last one (restored from a copy a
    result old) cannot be continued from it: that result would never be logged, nor evaluated again."""
    folder = tmp_path / "run"
    search(cfg(budget=12, checkpoint_every=5), folder)             # latest checkpoint at n=12
    path = folder / "results.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-1]))
    with pytest.raises(CheckpointError, match=r"checkpoint.pkl is at n=12 but .*results.jsonl holds only 11 results; "
                                              r"the results log has been cut"):
        resume_run(folder, budget=14)
    assert path.read_text() == "".join(lines[:-1])


def test_the_run_lock_names_its_holder_s_pid_alone(tmp_path):
    """run.lock holds the pid of the process that holds it, which the 'in use' error names: a longer pid
    left by an earlier holder must not run on after it."""
    from alphax.runlock import LockHeld, RunLock

    (tmp_path / "run.lock").write_text("4294967290123\n")
    lock = RunLock(tmp_path)
    try:
        assert (tmp_path / "run.lock").read_text() == f"{os.getpid()}\n"
        with pytest.raises(LockHeld, match=rf"in use by another alphax process \(pid {os.getpid()}\); wait"):
            RunLock(tmp_path)
    finally:
        lock.release()


def test_the_holder_of_a_folder_s_lock_is_read_from_the_kernel_without_taking_it(tmp_path):
    """``holder`` names the process that has a folder open (a report of a live run says it is running,
    not stopped) from /proc/locks, so that it never makes a run starting at that moment find it in use;
    another lock file in the folder, or the pid a dead holder left in run.lock, is no holder."""
    import subprocess
    import sys

    from alphax.runlock import COMPARE_LOCK, RunLock, holder

    assert holder(tmp_path) is None                                    # no run.lock at all
    child = subprocess.Popen([sys.executable, "-c", "import sys, time; from alphax.runlock import RunLock; "
                              f"RunLock({str(tmp_path)!r}); print('held', flush=True); time.sleep(60)"],
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "held\n"
        assert holder(tmp_path) == child.pid and holder(tmp_path, name=COMPARE_LOCK) is None
        other = RunLock(tmp_path, name=COMPARE_LOCK)
        assert holder(tmp_path, name=COMPARE_LOCK) == os.getpid() and holder(tmp_path) == child.pid
        other.release()
    finally:
        child.kill()
        child.wait()
    assert (tmp_path / "run.lock").read_text() == f"{child.pid}\n" and holder(tmp_path) is None
    lock = RunLock(tmp_path)                              # and taking it again works as before
    lock.release()


@pytest.mark.parametrize("name", ["results.jsonl", "predictor.jsonl", "log.txt", "checkpoint.pkl.tmp",
                                  "config.json.tmp"])
def test_a_run_never_writes_through_a_symbolic_link_in_its_folder(tmp_path, name):
    """A run folder copied or unpacked with its links: the file a link names may be anyone's (a run's
    checkpoint was written over it, its log lines appended to it). The logs a run appends to are refused
    as links before anything is written; a temp file left as a link is removed, not written through."""
    folder = tmp_path / "run"
    reference = search(cfg(algo="alphax", budget=14, searcher_options={}), tmp_path / "ref")
    search(cfg(algo="alphax", budget=12, searcher_options={}), folder)
    target = tmp_path / "precious"
    if (folder / name).exists():
        os.replace(folder / name, target)            # the strongest case: the link names the run's own file
    else:
        target.write_bytes(b"precious\n")
    before = target.read_bytes()
    (folder / name).symlink_to(target)
    if name.endswith(".tmp"):                        # (the resume writes both: a new budget, its checkpoints)
        assert resume(folder, budget=14) == reference
        assert not (folder / name).exists() and not (folder / name).is_symlink()
    else:
        with pytest.raises(CheckpointError, match=re.escape(f"{folder / name} is a symbolic link: a run appends to "
                                                            f"its own files, never through a link")):
            resume(folder, budget=14)
        assert (folder / name).is_symlink()
    assert target.read_bytes() == before


def test_a_link_that_appears_in_a_run_folder_is_not_written_through(tmp_path, caplog):
    """What opens a run's files in place refuses a link (O_NOFOLLOW), so one made while a run is open is
    not written through either; log.txt's line is then warned about, not written."""
    import errno

    from alphax import logfile
    from alphax.atomic import open_in_place

    target = tmp_path / "precious"
    target.write_text("precious\n")
    (tmp_path / "log.txt").symlink_to(target)
    for mode in ("a", "ab", "r+b"):
        with pytest.raises(OSError) as info:
            open_in_place(tmp_path / "log.txt", mode)
        assert info.value.errno == errno.ELOOP
    with caplog.at_level(logging.WARNING):
        logfile.append(tmp_path, "the line that ends a run")
    assert "could not append to" in caplog.text and target.read_text() == "precious\n"
    with open_in_place(tmp_path / "new.jsonl", "a") as f:            # a plain file: as open() would
        f.write("x\n")
    assert (tmp_path / "new.jsonl").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_a_ranking_entry_is_in_predictor_jsonl_when_its_result_has_been_recorded(tmp_path, monkeypatch):
    """predictor.jsonl is read while the run goes on (alphax report of a live run) and must not lose what
    a kill leaves half in a buffer: each entry is in the file once the result that made it is recorded."""
    from alphax.searchers.evolution import RegularizedEvolution

    folder = tmp_path / "run"
    run = create_run(cfg(budget=5), folder)
    try:
        monkeypatch.setattr(RegularizedEvolution, "metrics",
                            lambda self: {"tau": [(k, 0.25 * k, k) for k in range(1, self.num_asked + 1)]})
        for n in (1, 2):
            proposal, _ = run.ask()
            run.record(proposal, run.evaluator.evaluate(proposal.cell))
            entries = [json.loads(line) for line in (folder / "predictor.jsonl").read_text().splitlines()]
            assert [e["n"] for e in entries] == list(range(1, n + 1))
    finally:
        run.close()


def test_a_nan_tau_or_metric_is_written_as_null_so_the_files_stay_json(tmp_path, monkeypatch):
    """A tau is NaN where the predictions all tie; predictor.jsonl held ``"tau": NaN`` and stats.json a NaN
    or infinite metric, which JSON has no word for (jq, a browser, Python's strict reading refuse them)."""
    from alphax.cli import main
    from alphax.searchers.evolution import RegularizedEvolution

    def strict(text):
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in {text!r}"))

    folder = tmp_path / "run"
    monkeypatch.setattr(RegularizedEvolution, "metrics",
                        lambda self: {"tau": [(1, float("nan"), 1), (2, 0.5, 2)], "spread": float("inf"),
                                      "kind": "x", "flag": True, "steps": 3})
    search(cfg(budget=4), folder)
    entries = [strict(line) for line in (folder / "predictor.jsonl").read_text().splitlines()]
    assert [e["tau"] for e in entries] == [None, 0.5] and all(e["spread"] is None for e in entries)
    stats = strict((folder / "stats.json").read_text())
    assert stats["searcher_metrics"] == {"spread": None, "kind": "x", "flag": True, "steps": 3}
    assert main(["report", str(folder)]) == 0


def test_a_finished_run_opened_again_does_not_take_an_earlier_session_s_wall_time(tmp_path):
    """Found by a bug hunt (2026-12-08): stopped at n=15 (stats.json written), resumed to its budget and
    killed before its close wrote stats.json, then opened again: the n=15 session's wall time was kept as
    the whole run's. It is the checkpoint's and the log's now, as for any resume after a kill."""
    folder = tmp_path / "run"
    search(cfg(budget=5), folder)
    early = (folder / "stats.json").read_text()
    resume(folder, budget=10)
    whole = json.loads((folder / "stats.json").read_text())["wall_seconds"]
    (folder / "stats.json").write_text(early.replace('"wall_seconds": ', '"wall_seconds": 1e-9, "was": '))
    resume(folder, budget=10)
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["n"] == 10 and 1e-6 < stats["wall_seconds"] <= whole    # the checkpoint's, not the 1e-9 kept


def test_a_checkpoint_from_before_its_header_held_the_config_is_still_checked_against_config_json(tmp_path):
    """Checkpoints written before 2026-12-05 hold the run's config only in their pickled state: a
    config.json edited since (another eval seed: other rewards for the same cells) is refused once the
    state is unpickled, as the header refuses it for newer ones."""
    import hashlib

    folder = tmp_path / "run"
    search(cfg(budget=12), folder)
    magic = b"ALPHAX-CHECKPOINT 1\n"
    for name in (LATEST, PREVIOUS):                 # as the older code wrote them: no config in the header
        _, _, body = (folder / name).read_bytes()[len(magic):].partition(b"\n")
        meta, _, payload = body.partition(b"\n")
        body = json.dumps({k: v for k, v in json.loads(meta).items() if k != "config"}).encode() + b"\n" + payload
        (folder / name).write_bytes(magic + hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
        assert "config" not in checkpoint_info(folder / name)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "eval_seed": 7}))
    with pytest.raises(CheckpointError, match=r"checkpoint.pkl was written with another config than .*config.json"):
        resume_run(folder, budget=14)


@pytest.mark.parametrize("writer", ["write_atomic", "config.save"])
def test_a_file_written_atomically_is_fsynced_before_it_is_renamed_into_place(tmp_path, monkeypatch, writer):
    """write_atomic (stats.json, summary.json, compare.json, converted tables) and config.json's save: the
    rename publishes the new file, so its data must be on disk first, or a crash just after can leave an
    empty file in its place."""
    from alphax.atomic import write_atomic

    events, fsync, replace_ = [], os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", _fd_path(fd), os.fstat(fd).st_size)),
                                                 fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(a), str(b))), replace_(a, b))[1])
    path = tmp_path / "stats.json"
    if writer == "write_atomic":
        write_atomic(path, lambda f: f.write(b'{"n": 1}'))
    else:
        cfg().save(path)
    assert [e[0] for e in events] == ["fsync", "replace"]
    (_, synced, size), (_, moved, target) = events
    assert synced == moved != str(path) and target == str(path) and size == path.stat().st_size > 0


def test_the_line_that_ends_a_run_is_fsynced_into_log_txt(tmp_path, monkeypatch):
    """logfile.append writes the reason a run ended (an MPI_Abort may end the job right after): the line
    is on disk before it returns."""
    from alphax import logfile

    synced, fsync = [], os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append((_fd_path(fd), os.fstat(fd).st_size)), fsync(fd))[1])
    logfile.append(tmp_path, "resume failed: the disk is full")
    path = tmp_path / "log.txt"
    assert "resume failed: the disk is full" in path.read_text()
    assert synced == [(str(path), path.stat().st_size)]


def test_a_resume_with_a_new_budget_that_never_went_on_leaves_stats_json_with_the_run_s_budget(tmp_path):
    """--budget N is the run's once the run goes on (config.json at the first confirm): a resume closed
    before (the MPI server's first client refused, say) writes stats.json with the budget config.json
    still holds, not the one it never took."""
    folder = tmp_path / "run"
    search(cfg(budget=12), folder)
    resume_run(folder, budget=20).close()
    assert json.loads((folder / "config.json").read_text())["budget"] == 12
    assert json.loads((folder / "stats.json").read_text())["budget"] == 12


def test_a_second_stop_signal_interrupts_at_once_unless_it_is_the_same_request(tmp_path):
    """StopOnSignal: the first signal asks for a stop at the next safe point; a second one stops at once
    (an evaluation that would take hours); the same signal again within ``same_within`` seconds is the
    same request by another route, not a second one."""
    from alphax.errors import Interrupted
    from alphax.run import StopOnSignal

    with StopOnSignal(signals=(signal.SIGUSR1, signal.SIGUSR2)) as stop:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert stop.signum == signal.SIGUSR1
        with pytest.raises(Interrupted):
            os.kill(os.getpid(), signal.SIGUSR2)
    with StopOnSignal(signals=(signal.SIGUSR1,), same_within=60.0) as stop:
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR1)             # the same request again: no interruption
        assert stop.signum == signal.SIGUSR1


# -- found missing by a mutation audit of the configuration layer: each fails on one plausible bug --
def test_each_bad_option_or_combination_of_a_config_is_refused_by_name():
    """SearchConfig refuses what it says it refuses (library use, a hand-edited config.json), each with the
    message naming it; the values at the edges of each range are accepted."""
    trained = dict(space="nasbench101", evaluator="train")
    for bad, needle in (({"budget": True}, "--budget must be a positive integer, got True"),
                        ({"checkpoint_every": True}, "--checkpoint-every must be a positive integer, got True"),
                        ({**trained, "data": "table.nb101"}, "--data is the table of --evaluator table"),
                        ({**trained, "train": {"epoch": 3}}, "unknown training options: epoch"),
                        ({**trained, "train": {"device": "tpu"}}, "--device must be auto, cpu, cuda or cuda:N"),
                        ({**trained, "train": {"device": "cuda:0x"}}, "--device must be auto, cpu, cuda or cuda:N"),
                        ({**trained, "pool_size": -1}, "--pool-size must be an integer >= 0, got -1"),
                        ({"pool_size": 5}, "--pool-size is for --evaluator train"),
                        ({"searcher_options": [["playouts", 3]]}, "searcher_options must be a JSON object")):
        with pytest.raises(ConfigError, match=re.escape(needle)):
            SearchConfig(**bad)
    SearchConfig(**trained, pool_size=0, train={"device": "cuda:1"})        # no pool; a numbered GPU
    SearchConfig(budget=1, checkpoint_every=1, seed=0, eval_seed=0)


def test_config_json_version_budget_and_the_pool_of_runs_written_before_it(tmp_path):
    c = cfg()
    with pytest.raises(ConfigError, match="config version True is not supported"):
        SearchConfig.from_json({**c.to_json(), "version": True})
    edited = c.to_json()
    del edited["version"]
    (tmp_path / "c.json").write_text(json.dumps(edited))
    with pytest.raises(ConfigError, match="c.json lacks version: it was edited"):
        SearchConfig.load(tmp_path / "c.json")
    trained = SearchConfig(space="nasbench101", evaluator="train", pool_size=7).to_json()
    table = c.to_json()
    del trained["pool_size"], table["pool_size"]
    assert SearchConfig.from_json(trained).pool_size == 0          # a training run then had no pool
    assert SearchConfig.from_json(table).pool_size is None
    assert c.with_budget(7) == replace(c, budget=7) != c
    (tmp_path / "c.json").write_text("{")                              # cut short
    with pytest.raises(ConfigError, match=r"c.json is not valid JSON \(.*\): the file has been altered; restore it "
                                          r"from a copy"):
        SearchConfig.load(tmp_path / "c.json")


def test_log_txt_is_appended_to_across_resumes_never_rewritten(tmp_path):
    from alphax import logfile

    logfile.append(tmp_path, "first")                              # a failed resume, say
    for message in ("second", "third"):                            # the run opened, then resumed
        handler = logfile.attach(tmp_path)
        try:
            logging.getLogger("alphax.audit").warning(message)
        finally:
            logfile.detach(handler)
    logfile.append(tmp_path, "fourth", level=logging.WARNING)
    lines = (tmp_path / "log.txt").read_text().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == ["first", "second", "third", "fourth"]
    assert " ERROR alphax: first" in lines[0] and " WARNING alphax.audit: second" in lines[1]


def test_a_predictor_jsonl_line_that_is_not_utf8_does_not_stop_a_resume(tmp_path):
    """Found by byte-level fuzzing (2026-12-06): one byte of predictor.jsonl flipped to one that is not
    UTF-8 made ``--resume`` end with a UnicodeDecodeError traceback (counting the entries written); the
    line is skipped as any unreadable one is, kept as it was, and the entries go on after it."""
    folder = tmp_path / "run"
    search(SearchConfig(space="nasbench201", dataset="cifar10", algo="alphax", budget=30, seed=0), folder)
    path = folder / "predictor.jsonl"
    before = path.read_bytes()
    assert before.count(b"\n") >= 2
    damaged = before[:5] + b"\xff" + before[6:]                   # in the first line's first key
    path.write_bytes(damaged)
    assert len(resume(folder, budget=40)) == 40
    after = path.read_bytes()
    assert after.startswith(damaged)
    indices = [json.loads(line)["index"] for line in after.splitlines()[1:]]
    assert indices == list(range(1, len(indices) + 1)) and len(indices) > before.count(b"\n") - 1


@pytest.mark.parametrize("tail", ["newline lost", "torn"])
def test_a_resume_after_a_predictor_jsonl_tail_without_its_newline_loses_no_entry(tmp_path, tail):
    """Found by a bug hunt (2026-12-07): the resume appended its first entry to a last line without its
    newline, and the joined line was unreadable: both entries lost for good (a whole last entry was still
    counted, so it was not written again). A whole last entry is ended now, a torn one cut off and written
    again: the entries are the uninterrupted run's."""
    config = SearchConfig(space="nasbench201", dataset="cifar10", algo="alphax", budget=40, seed=0,
                          checkpoint_every=10)
    search(config, tmp_path / "whole")
    whole = read_predictor(tmp_path / "whole")
    folder = tmp_path / "run"
    search(dataclasses.replace(config, budget=30), folder)
    path = folder / "predictor.jsonl"
    data = path.read_bytes()
    path.write_bytes(data[:-1] if tail == "newline lost" else data[:-30])
    assert len(resume(folder, budget=40)) == 40
    assert read_predictor(folder) == whole and whole[1] == 0 and len(whole[0]) > len(data.splitlines())
    assert path.read_bytes().startswith(data[:-1] if tail == "newline lost" else data[:data.rfind(b"\n", 0, -1) + 1])


def test_a_run_records_its_software_and_a_resume_under_other_software_warns(tmp_path, monkeypatch, caplog):
    """log.txt names the software each time the run opens, a checkpoint notes it, and a resume under another
    torch (or numpy, Python, CPU, AlphaX) says that the same seed may now propose other cells; one from a
    checkpoint that notes none (written before they did) compares nothing."""
    from alphax import environment

    now = environment.software()
    assert now["python"] and now["numpy"] and now["torch"] and now["alphax"]
    folder = tmp_path / "run"
    older = {**now, "torch": "2.5.0", "numpy": "1.24.4"}
    monkeypatch.setattr(environment, "software", lambda: older)
    with caplog.at_level(logging.INFO):         # log.txt takes the records logging lets through
        search(cfg(budget=20), folder)
    assert "software: alphax-nas" in (folder / "log.txt").read_text() and "torch 2.5.0" in (folder / "log.txt").read_text()
    monkeypatch.undo()

    with caplog.at_level(logging.WARNING):     # complete: it proposes nothing (a bug hunt, 2026-12-08: said)
        resume(folder, budget=20)
    assert not [r for r in caplog.records if "other software" in r.getMessage()]
    with caplog.at_level(logging.INFO):
        resume(folder, budget=30)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1, warned
    assert f"torch 2.5.0 (now {now['torch']})" in warned[0] and f"numpy 1.24.4 (now {now['numpy']})" in warned[0]
    assert "may not propose the cells an uninterrupted run would have" in warned[0]
    log_txt = (folder / "log.txt").read_text()
    assert f"torch {now['torch']}" in log_txt and "written under other software" in log_txt

    caplog.clear()                      # its checkpoint at n=30 notes this software: nothing to say
    with caplog.at_level(logging.WARNING):
        resume(folder, budget=35)
    assert not [r for r in caplog.records if "other software" in r.getMessage()]

    folder = tmp_path / "old"            # a checkpoint from before they were noted
    monkeypatch.setattr(environment, "software", dict)
    search(cfg(budget=20), folder)
    monkeypatch.undo()
    with caplog.at_level(logging.WARNING):
        assert resume(folder, budget=40) == search(cfg(), tmp_path / "ref")
    assert not [r for r in caplog.records if "other software" in r.getMessage()]
