"""alphax.progress: the bar and the log lines, with the best result so far."""

from __future__ import annotations

import io
import logging

import pytest

from alphax.progress import Progress


def rows(*accs):
    return [{"n": i + 1, "accuracy": a} for i, a in enumerate(accs)]


def test_log_lines_carry_the_count_the_best_and_an_eta(caplog):
    caplog.set_level(logging.INFO, logger="alphax.progress")
    with Progress(total=10, initial=2, best={"n": 1, "accuracy": 0.5}, mode="log", every=0.0, desc="farm",
                  stream=io.StringIO()) as p:
        for row in rows(0.4, 0.9, None):
            p.update(row, busy="2/2 clients")
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert lines[0].startswith("farm: 3/10 cells (30%), best 0.500000 at n=1, busy 2/2 clients, ")
    assert lines[1].startswith("farm: 4/10 cells (40%), best 0.900000 at n=2, ")       # a failure never is best
    assert lines[2].startswith("farm: 5/10 cells (50%), best 0.900000 at n=2, ") and "ETA " in lines[2]
    assert p.best == {"n": 2, "accuracy": 0.9} and p.n == 5


def test_log_lines_are_spaced_out(caplog):
    caplog.set_level(logging.INFO, logger="alphax.progress")
    with Progress(total=100, mode="log", every=3600.0, stream=io.StringIO()) as p:
        for row in rows(*[0.5] * 50):
            p.update(row)
    assert caplog.records == []


def test_the_bar_shows_the_best_so_far_and_auto_picks_log_lines_off_a_terminal(caplog):
    stream = io.StringIO()
    with Progress(total=3, mode="bar", stream=stream) as p:
        for row in rows(0.7, 0.8):
            p.update(row, busy="1/2 clients")
    text = stream.getvalue()
    assert "2/3" in text and "best=0.800000" in text and "busy=1/2 clients" in text
    assert Progress(total=3, stream=io.StringIO()).mode == "log"             # StringIO is not a terminal
    with pytest.raises(ValueError, match="progress mode must be one of auto, bar, log, off"):
        Progress(total=3, mode="loud")


def test_log_lines_keep_coming_while_no_result_does_and_stop_with_the_progress(caplog):
    """A cell that trains for minutes: a batch job's log still shows the run alive, with the status of
    the moment (a farm's busy clients), and nothing more once the progress is closed."""
    import time

    caplog.set_level(logging.INFO, logger="alphax.progress")
    busy = iter(range(1, 1000))
    with Progress(total=10, mode="log", every=0.1, desc="farm", stream=io.StringIO(),
                  status=lambda: {"busy": f"{next(busy)}/4 clients"}) as p:
        time.sleep(0.55)
        p.update({"n": 1, "accuracy": 0.8})
        time.sleep(0.25)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) >= 3, lines
    assert lines[0] == "farm: 0/10 cells (0%), no result yet, busy 1/4 clients"
    assert lines[1].startswith("farm: 0/10 cells (0%), no result yet, busy 2/4 clients")
    assert any(line.startswith("farm: 1/10 cells (10%), best 0.800000 at n=1, ") for line in lines)
    time.sleep(0.3)
    assert len(caplog.records) == len(lines)            # the thread ended with the progress
    assert p._thread is None


def test_lines_between_results_go_to_the_run_whose_progress_it_is(tmp_path):
    """The thread writes in the context it was started in: with two runs open in one process, run A's
    lines go to A's log.txt only (alphax.logfile's scope)."""
    import time

    from alphax import logfile

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    ha, hb = logfile.attach(a), logfile.attach(b)
    logging.getLogger("alphax.progress").setLevel(logging.INFO)
    try:
        with logfile.scope(ha), Progress(total=5, mode="log", every=0.05, desc="run A", stream=io.StringIO()):
            time.sleep(0.3)
    finally:
        logfile.detach(ha), logfile.detach(hb)
        logging.getLogger("alphax.progress").setLevel(logging.NOTSET)
    assert "run A: 0/5 cells" in (a / "log.txt").read_text()
    assert not (b / "log.txt").exists() or "run A" not in (b / "log.txt").read_text()


def test_a_result_is_counted_at_one_moment_for_the_lines_the_thread_writes():
    """update() changes the count, the best and the status under the lock the thread writes its lines
    under: a line between results never shows the new count with the old best (``5/10 cells, best ... at
    n=4`` while result 5 is the best)."""
    import threading

    p = Progress(total=10, initial=4, best={"n": 4, "accuracy": 0.5}, mode="log", every=3600.0,
                 stream=io.StringIO())
    with p:
        with p._lock:                                  # the thread writing a line at this moment
            t = threading.Thread(target=p.update, args=({"n": 5, "accuracy": 0.9},), kwargs={"busy": "1/2"})
            t.start()
            t.join(0.2)
            assert (p.n, p.best["n"], p._extra) == (4, 4, {})          # the line sees the moment before
        t.join()
    assert (p.n, p.best["n"], p._extra) == (5, 5, {"busy": "1/2"})


def test_where_a_mean_judges_the_search_the_best_shown_is_called_observed(tmp_path, caplog, nb101_dir):
    """On NAS-Bench-201 (and a NASBench-101 table with repeats) a search is judged by a cell's mean over
    training seeds, and a lucky draw can pass the optimum: progress shows the best draw as "best
    observed", not as the best the run ends with. On the one-repeat subset it is the best itself."""
    from alphax.config import SearchConfig
    from alphax.runfolder import create_run

    nb201 = create_run(SearchConfig(space="nasbench201", dataset="cifar10", algo="random", budget=3), tmp_path / "a")
    nb101 = create_run(SearchConfig(space="nasbench101", data=str(nb101_dir / "nb101_real_subset.jsonl.gz"),
                                    algo="random", budget=3), tmp_path / "b")
    try:
        assert (nb201.progress_label(), nb101.progress_label()) == ("best observed", "best")
    finally:
        nb201.close()
        nb101.close()
    stream = io.StringIO()
    with Progress(total=3, mode="bar", stream=stream, label="best observed") as p:
        p.update(rows(0.92)[0])
    assert "best observed=0.920000" in stream.getvalue()
    caplog.set_level(logging.INFO)
    with Progress(total=3, mode="log", every=0.0, label="best observed") as p:
        p.update(rows(0.92)[0])
    assert any(r.getMessage().startswith("1/3 cells (33%), best observed 0.920000 at n=1") for r in caplog.records)


def test_the_eta_of_a_resumed_run_counts_only_the_cells_left(monkeypatch):
    """A run resumed at 90 of 100 that makes one result a minute has 9 minutes left once it has made one
    more: not 10 (the results made before the resume are done, not to do)."""
    import alphax.progress as progress

    now = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    with Progress(total=100, initial=90, mode="log", every=0.0, stream=io.StringIO()) as p:
        now[0] += 60.0
        p.update({"n": 91, "accuracy": 0.5})
        assert p.line().endswith("1.0 cells/min, ETA 9:00")


def test_a_tie_keeps_the_first_result_that_reached_the_best(caplog):
    """The best shown is the first result with the best accuracy (as the run's summary names it), not a
    later one that only equals it."""
    caplog.set_level(logging.INFO, logger="alphax.progress")
    with Progress(total=10, mode="log", every=0.0, stream=io.StringIO()) as p:
        for row in rows(0.7, 0.9, 0.9):
            p.update(row)
    assert p.best["n"] == 2 and "best 0.900000 at n=2" in caplog.records[-1].getMessage()


def test_a_resumed_bar_starts_at_the_results_already_logged_and_shows_their_best():
    stream = io.StringIO()
    with Progress(total=10, initial=4, best={"n": 3, "accuracy": 0.9}, mode="bar", stream=stream):
        pass                                   # stopped again before its next result
    text = stream.getvalue()
    assert "4/10" in text and "0/10" not in text and "best=0.900000" in text


def test_an_eta_of_hours_reads_hours_minutes_seconds():
    from alphax.progress import _duration

    assert _duration(3 * 3600 + 2 * 60 + 5) == "3:02:05"
    assert _duration(3599.6) == "1:00:00" and _duration(59.4) == "0:59" and _duration(125) == "2:05"
