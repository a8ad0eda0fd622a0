"""`alphax compare`: the summary's statistics on hand-checked rows, and a small real comparison."""

from __future__ import annotations

import json
import math
import os
import platform
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from alphax.compare import CompareConfig, run_compare, summarize
from alphax.errors import CheckpointError, ConfigError, DataError
from alphax.nasbench201 import load
from alphax.runlog import best_so_far, read_results
from alphax.spaces.nasbench201 import parse_arch_string


def rows(accs, hashes=None):
    hashes = hashes or [f"h{i}" for i in range(len(accs))]
    return [{"n": i + 1, "hash": h, "accuracy": a} for i, (h, a) in enumerate(zip(hashes, accs))]


def test_summary_statistics_by_hand():
    budget = 150
    opt = ("OPT", 0.95)
    # seed 0 finds the optimum at sample 60, is within 0.001 at sample 2; seed 1 never finds it
    s0 = rows([0.90, 0.9495] + [0.80] * 57 + [0.95] + [0.5] * 90, ["a", "b"] + [f"x{i}" for i in range(57)]
              + ["OPT"] + [f"y{i}" for i in range(90)])
    s1 = rows([None, 0.93] + [0.91] * 148)
    summary = summarize({"alg": [s0, s1]}, optimum=opt, budget=budget, space="toy", seeds=[0, 1])
    assert summary["optimum"] == {"hash": "OPT", "accuracy": 0.95}
    assert summary["budget"] == 150 and summary["seeds"] == [0, 1] and summary["space"] == "toy"
    a = summary["algorithms"]["alg"]
    assert a["samples_to_optimum"] == [60, None] and a["found"] == 1
    assert a["mean_samples_to_optimum"] == 60 and a["median_samples_to_optimum"] == 60
    assert a["samples_to_within_0.001"] == [2, None]
    assert a["mean_samples_to_optimum_all_seeds"] == (60 + 150) / 2     # the miss counted at the budget
    assert a["median_samples_to_optimum_all_seeds"] is None     # the middle two are 60 and a miss: more than 150
    assert set(a["regret_at"]) == {"50", "100", "150"}            # only budgets <= N
    short = summarize({"alg": [s0, s1]}, optimum=opt, budget=40, space="toy", seeds=[0, 1])["algorithms"]["alg"]
    assert set(short["regret_at"]) == {"40"}                       # the final regret of a short run
    assert short["found"] == 0 and short["mean_samples_to_optimum_all_seeds"] == 40
    assert math.isclose(short["regret_at"]["40"], ((0.95 - 0.9495) + (0.95 - 0.93)) / 2)
    assert math.isclose(a["regret_at"]["50"], ((0.95 - 0.9495) + (0.95 - 0.93)) / 2)
    assert math.isclose(a["regret_at"]["100"], (0.0 + 0.02) / 2)
    nobody = summarize({"alg": [s1]}, optimum=opt, budget=budget, space="toy", seeds=[0])["algorithms"]["alg"]
    assert nobody["found"] == 0 and nobody["mean_samples_to_optimum"] is None
    # an evaluation of the optimum that failed is not a find; a seed with no success yet has no regret, and
    # the mean over seeds is then undefined (not the mean of the others)
    failed_opt = rows([0.90, None, 0.91], ["a", "OPT", "b"])
    f = summarize({"alg": [failed_opt]}, optimum=opt, budget=3, space="toy", seeds=[0])["algorithms"]["alg"]
    assert f["samples_to_optimum"] == [None] and f["found"] == 0
    empty_then_found = [rows([None] * 3), rows([0.95], ["OPT"])]
    e = summarize({"alg": empty_then_found}, optimum=opt, budget=3, space="toy", seeds=[0, 1])["algorithms"]["alg"]
    assert e["regret_at"] == {"3": None} and e["found"] == 1


def test_a_budget_past_the_rows_made_is_summarized_from_the_rows_and_huge_seeds_are_refused(tmp_path):
    """Found by a bug hunt (2026-12-08): --budget 99999999999 on NAS-Bench-201 ran every cell, then the
    summary asked numpy for 745 GiB of curve (a traceback, no summary.json, and the folder could not be
    finished); --seeds 99999999999 was a MemoryError after compare.json had been written with it."""
    from alphax.cli import main

    opt = ("OPT", 0.95)
    runs = [rows([0.9, 0.95], ["a", "OPT"]), rows([None, 0.93, 0.94])]
    huge = summarize({"alg": runs}, optimum=opt, budget=10**11, space="toy", seeds=[0, 1])["algorithms"]["alg"]
    assert huge["samples_to_optimum"] == [2, None]
    assert huge["mean_samples_to_optimum_all_seeds"] == (2 + 3) / 2          # a miss: the samples it made
    assert set(huge["regret_at"]) == {"50", "100", "150", "300", "1000", str(10**11)}
    assert all(math.isclose(r, 0.01 / 2) for r in huge["regret_at"].values())
    assert huge == summarize({"alg": runs}, optimum=opt, budget=10**11, space="toy", seeds=[0, 1],
                             value=lambda row: row["accuracy"])["algorithms"]["alg"]
    out = tmp_path / "cmp"
    assert main(["compare", "--space", "nasbench201", "--algos", "random", "--seeds", str(10**11), "--budget", "5",
                 "--out", str(out), "--no-progress"]) == 1
    assert not out.exists()


def test_best_so_far_carries_the_last_value_and_skips_failures():
    curve = best_so_far(rows([None, 0.5, 0.4, 0.7]), 6)
    assert math.isnan(curve[0]) and list(curve[1:]) == [0.5, 0.5, 0.7, 0.7, 0.7]


def test_best_so_far_covers_every_row_up_to_the_budget_the_last_included():
    """The curve's last point is the best of all the rows (alphax compare's plot of a finished run): a
    best found by the budget's last sample must show there."""
    assert list(best_so_far(rows([0.1, 0.3, 0.2, 0.9]))) == [0.1, 0.3, 0.3, 0.9]
    assert list(best_so_far(rows([0.1, 0.3, 0.2, 0.9]), 4)) == [0.1, 0.3, 0.3, 0.9]
    assert list(best_so_far(rows([0.1, 0.3, 0.2, 0.9, 0.95]), 4)) == [0.1, 0.3, 0.3, 0.9]      # and not beyond


def test_bad_compare_options():
    with pytest.raises(ConfigError):
        CompareConfig(algos=("random", "random"))
    with pytest.raises(ConfigError, match=r"unknown algorithm 'magic' in --algos; choose from alphax, "):
        CompareConfig(algos=("random", "magic"))     # named as compare's option, not search's --algo
    with pytest.raises(ConfigError, match="separated by single commas, got 'random,'"):
        CompareConfig(algos=("random", ""))          # --algos random, (a name left out, or a stray comma)
    with pytest.raises(ConfigError):
        CompareConfig(seeds=0)


def test_a_small_comparison_writes_summary_plot_and_run_folders_and_continues(tmp_path):
    config = CompareConfig(space="nasbench201", dataset="cifar10", algos=("random", "evolution"), seeds=2, budget=60,
                           checkpoint_every=20)
    out = tmp_path / "cmp"
    summary = run_compare(config, out, jobs=2, progress=False)
    data = load("cifar10")
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == summary
    assert summary["optimum"]["hash"] == "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|" \
                                         "nor_conv_3x3~1|nor_conv_1x1~2|"
    assert set(summary["algorithms"]) == {"random", "evolution"} and summary["seeds"] == [0, 1]
    assert summary["software"]["python"] == platform.python_version() and summary["software"]["numpy"]
    png = (out / "compare.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    for algo in ("random", "evolution"):
        a = summary["algorithms"][algo]
        assert set(a["regret_at"]) == {"50", "60"} and a["regret_at"]["50"] >= a["regret_at"]["60"] >= 0
        assert len(a["wall_seconds"]) == 2 and a["searcher_ms_per_proposal_median"] > 0
        assert a["searcher_ms_per_proposal_mean_last_tenth"] > 0
        for seed in (0, 1):
            got = read_results(out / "runs" / f"{algo}-seed{seed}")
            assert len({r["hash"] for r in got}) == 60
            best = max(r["accuracy"] for r in got[:50])
            assert best <= summary["optimum"]["accuracy"] + 0.02
        # regret in means over training seeds (the optimum's measure), not in the one seed observed
        means = [max(data.mean(parse_arch_string(r["hash"]))
                     for r in read_results(out / "runs" / f"{algo}-seed{seed}")[:50]) for seed in (0, 1)]
        assert math.isclose(a["regret_at"]["50"], summary["optimum"]["accuracy"] - np.mean(means))
    # the same command continues (here: nothing to do, same result); other options are refused
    again = run_compare(config, out, jobs=1, progress=False)
    assert {k: v["samples_to_within_0.001"] for k, v in again["algorithms"].items()} == \
           {k: v["samples_to_within_0.001"] for k, v in summary["algorithms"].items()}
    with pytest.raises(CheckpointError, match=r"other options \(algos\); use another --out \(a comparison can be "
                                              r"extended: a larger --budget, more --seeds, more --algos"):
        run_compare(replace(config, algos=("random",)), out, progress=False)
    with pytest.raises(CheckpointError, match=r"other options \(budget\)"):       # a budget only grows
        run_compare(replace(config, budget=50), out, progress=False)
    assert json.loads((out / "compare.json").read_text()) == config.to_json()


def test_a_comparison_forks_its_worker_processes_before_it_starts_a_thread(tmp_path):
    """A fork copies the locks that other threads hold at that moment, held for ever in the child (Python
    3.12 warns: "This process is multi-threaded, use of fork() may lead to deadlocks in the child"). The
    comparison's workers are forked before any thread of its own starts (its progress bar's monitor
    thread, which tqdm starts for a disabled bar too and no bar's end stops, so that an earlier comparison
    of the same process left it running): at each fork, no thread but those there before."""
    import threading

    before = {t.ident for t in threading.enumerate()}      # (pytest-xdist's own threads, say)
    seen: list | None = []

    def at_fork():
        if seen is not None:
            seen.append(sorted(t.name for t in threading.enumerate() if t.ident not in before))

    os.register_at_fork(before=at_fork)        # (it cannot be unregistered: it records only in this test)
    try:
        for progress in (True, False, True):
            run_compare(CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=2, budget=5),
                        tmp_path / f"cmp-{progress}", jobs=2, progress=progress)
        forks, seen = seen, None
    finally:
        seen = None
    assert forks == [[]] * 6


def test_the_same_command_extends_a_comparison_to_a_larger_budget_and_more_seeds(tmp_path):
    """A larger --budget resumes every run to it (each evaluates what a run made with that budget would
    have), more --seeds and --algos add runs; summary.json and compare.json say the new options."""
    small = CompareConfig(space="nasbench201", dataset="cifar10", algos=("evolution",), seeds=1, budget=30,
                          checkpoint_every=10)
    out = tmp_path / "cmp"
    run_compare(small, out, jobs=1, progress=False)
    big = replace(small, algos=("evolution", "random"), seeds=2, budget=45)
    summary = run_compare(big, out, jobs=1, progress=False)
    assert json.loads((out / "compare.json").read_text()) == big.to_json()
    assert summary["seeds"] == [0, 1] and set(summary["algorithms"]) == {"evolution", "random"}
    fresh = tmp_path / "fresh"
    run_compare(big, fresh, jobs=1, progress=False)
    for run in ("evolution-seed0", "evolution-seed1", "random-seed0", "random-seed1"):
        assert [r["hash"] for r in read_results(out / "runs" / run)] == \
               [r["hash"] for r in read_results(fresh / "runs" / run)], run
        assert json.loads((out / "runs" / run / "config.json").read_text())["budget"] == 45
    timed = lambda a: {k: v for k, v in a.items() if k != "wall_seconds" and not k.startswith("searcher_ms")}
    made = json.loads((fresh / "summary.json").read_text())["algorithms"]
    assert {a: timed(v) for a, v in summary["algorithms"].items()} == {a: timed(v) for a, v in made.items()}


def test_one_compare_at_a_time_per_folder_and_its_algorithms_keep_their_order(tmp_path, monkeypatch):
    """A second alphax compare on a folder in use is refused before it writes anything (two at once left
    compare.json out of step with the runs); the same algorithms in another order are not an extension."""
    import alphax.compare as compare_module
    from alphax.runlock import RunLock

    config = CompareConfig(space="nasbench201", dataset="cifar10", algos=("random", "evolution"), seeds=1, budget=10)
    out = tmp_path / "cmp"
    run_compare(config, out, progress=False)
    before = (out / "compare.json").read_bytes()
    held = RunLock(out, name=compare_module.COMPARE_LOCK)         # another alphax compare, running
    with pytest.raises(CheckpointError, match=r"cmp is in use by another alphax process \(pid \d+\); wait for it "
                                              r"to end or stop it, then run the same command again"):
        run_compare(replace(config, budget=20), out, progress=False)
    held.release()
    assert (out / "compare.json").read_bytes() == before
    run_compare(replace(config, algos=("evolution", "random")), out, progress=False)
    assert (out / "compare.json").read_bytes() == before
    summary = run_compare(replace(config, algos=("evolution", "alphax", "random")), out, progress=False)
    assert json.loads((out / "compare.json").read_text())["algos"] == ["random", "evolution", "alphax"]
    assert list(summary["algorithms"]) == ["random", "evolution", "alphax"]


def test_a_nasbench201_comparison_names_its_data_set_and_plots_cell_means_as_such(tmp_path, monkeypatch):
    """Without --dataset the summary and the plot still say cifar10, and compare.png's axis says it shows
    the cells' means over training seeds (the optimum's measure), as alphax report's plots do."""
    import alphax.compare as compare_module
    from alphax.plots import YLABEL_MEAN

    drawn = []
    monkeypatch.setattr(compare_module, "plot_best_so_far", lambda *a, **kw: drawn.append((a, kw)))
    summary = run_compare(CompareConfig(space="nasbench201", algos=("random",), seeds=1, budget=20),
                          tmp_path / "cmp", jobs=1, progress=False)
    assert summary["dataset"] == "cifar10"
    (args, kwargs), = drawn
    assert args[3].startswith("nasbench201 cifar10: best so far") and kwargs["ylabel"] == YLABEL_MEAN


def test_each_seed_reads_the_table_with_its_own_eval_seed_and_older_comparisons_keep_theirs(tmp_path):
    """A table that returns one training seed at random: run s reads it with eval seed EVAL_SEED + s, so
    that the seeds of a comparison see independent draws (as benchmarks/bench_nasbench201.py does), not one
    shared draw per cell. A comparison made before (its compare.json has no ``noise``) continues with its
    shared eval seed, also for the runs it has not started yet."""
    from alphax.config import SearchConfig

    config = CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=3, budget=5, eval_seed=7)
    out = tmp_path / "new"
    run_compare(config, out, progress=False)
    assert [SearchConfig.load(out / "runs" / f"random-seed{s}" / "config.json").eval_seed for s in range(3)] == \
        [7, 8, 9]
    assert json.loads((out / "compare.json").read_text())["noise"] == "per-seed"

    old = tmp_path / "old"
    run_compare(CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=1, budget=5,
                              noise="shared"), old, progress=False)
    legacy = json.loads((old / "compare.json").read_text())
    del legacy["noise"]
    legacy["seeds"] = 3                               # seeds 1 and 2 not started yet
    (old / "compare.json").write_text(json.dumps(legacy))
    run_compare(CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=3, budget=5), old,
                progress=False)
    assert [SearchConfig.load(old / "runs" / f"random-seed{s}" / "config.json").eval_seed for s in range(3)] == \
        [0, 0, 0]
    # extended (compare.json rewritten, now with noise "shared"), then continued and extended again: no
    # option sets noise, so the folder's stays the comparison's
    for budget in (8, 8, 10):
        run_compare(CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=3, budget=budget),
                    old, progress=False)
    assert json.loads((old / "compare.json").read_text())["noise"] == "shared"
    assert [len(read_results(old / "runs" / f"random-seed{s}")) for s in range(3)] == [10, 10, 10]
    with pytest.raises(ConfigError, match="noise must be one of per-seed, shared"):
        CompareConfig(noise="fixed")


def test_bad_data_or_a_corrupt_compare_json_is_one_clear_line_and_writes_nothing(tmp_path, nb101_dir, run_cli):
    """A wrong --data used to leave compare.json behind, after which the right --data was refused."""
    import gzip

    bad = tmp_path / "trunc.jsonl.gz"
    bad.write_bytes(gzip.compress(b'{"hash": "abc", "modu')[:25])
    with gzip.open(nb101_dir / "nb101_real_subset.jsonl.gz", "rb") as f:
        bad.with_name("few.jsonl").write_bytes(b"".join(f.readline() for _ in range(30)))
    out = tmp_path / "cmp"
    args = ["compare", "--space", "nasbench101", "--algos", "random", "--seeds", 1, "--budget", 5, "--out", out,
            "--no-progress"]
    proc = run_cli(*args, "--data", bad, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and str(bad) in proc.stderr, proc.stderr
    assert not out.exists()
    proc = run_cli(*args, "--data", nb101_dir / "nb101_real_subset.jsonl.gz", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the same table named another way continues it (a link, its folder, found without --data): it was refused
    # as "other options (data)", the way out offered a new --out
    link = tmp_path / "link.jsonl.gz"
    link.symlink_to(nb101_dir / "nb101_real_subset.jsonl.gz")
    saved = (out / "compare.json").read_bytes()
    for data, env in ((link, None), (nb101_dir, None), (None, {**os.environ, "ALPHAX_NASBENCH101": str(nb101_dir)})):
        proc = run_cli(*args, *(["--data", data] if data else []), timeout=300, env=env)
        assert proc.returncode == 0 and "continuing the comparison" in proc.stderr, proc.stderr[-3000:]
    assert (out / "compare.json").read_bytes() == saved
    proc = run_cli(*args, "--data", bad.with_name("few.jsonl"), timeout=120)    # another table: refused
    assert proc.returncode == 1 and "holds other cells than the one" in proc.stderr, proc.stderr[-3000:]
    assert (out / "compare.json").read_bytes() == saved
    (out / "compare.json").write_text('{"space": "nasbe')                  # cut short
    proc = run_cli(*args, "--data", nb101_dir / "nb101_real_subset.jsonl.gz", timeout=300)
    assert proc.returncode == 1 and "compare.json cannot be read" in proc.stderr and "another --out" in proc.stderr
    assert "Traceback" not in proc.stderr


def _compare_then_move(tmp_path, nb101_dir, algos: tuple) -> tuple[CompareConfig, Path, Path, Path]:
    """A comparison of ``algos`` (seeds 2, budget 8) on a copy of the subset, whose folder is then moved:
    ``(config, compare folder, the table's first path, where it is now)``."""
    import shutil

    first = tmp_path / "a" / "table.jsonl.gz"
    first.parent.mkdir()
    shutil.copy(nb101_dir / "nb101_real_subset.jsonl.gz", first)
    config = CompareConfig(space="nasbench101", data=str(first), algos=algos, seeds=2, budget=8)
    out = tmp_path / "cmp"
    run_compare(config, out, progress=False)
    moved = tmp_path / "b" / "table.jsonl.gz"
    first.parent.rename(moved.parent)
    return config, out, first, moved


def _table_with(table: Path, copy: Path, cell_hash: str, accuracy: float) -> Path:
    """A copy of the gzipped JSONL ``table`` in which cell ``cell_hash`` has another 108-epoch accuracy."""
    import gzip

    with gzip.open(table, "rt") as f, gzip.open(copy, "wt") as g:
        for line in f:
            row = json.loads(line)
            if row["hash"] == cell_hash:
                row["metrics"]["108"]["validation_accuracy"] = accuracy
            g.write(json.dumps(row) + "\n")
    return copy


def test_a_moved_table_continues_the_comparison_and_another_is_refused_before_anything_is_written(tmp_path, nb101_dir):
    """The table moved (another machine, another folder): --data where it is now continues the comparison
    and records the new path, as alphax search --resume --data continues a run. A table with other cells,
    or the same cells with another result for a logged one, is refused with nothing written; left out,
    --data is asked for rather than guessed."""
    import gzip

    config, out, first, moved = _compare_then_move(tmp_path, nb101_dir, ("random", "evolution"))
    reference = run_compare(replace(config, data=str(moved), budget=12), tmp_path / "ref", progress=False)
    logged = read_results(out / "runs" / "random-seed1")[-1]["hash"]     # the first run checked that logged it
    assert logged not in {r["hash"] for r in read_results(out / "runs" / "random-seed0")}
    other_value = _table_with(moved, tmp_path / "other-value.jsonl.gz", logged, 0.5)
    fewer = tmp_path / "fewer.jsonl"
    with gzip.open(moved, "rb") as f:
        fewer.write_bytes(b"".join(f.readline() for _ in range(40)))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "compare.lock"}
    for table, error in ((other_value, f"says 0.5 for cell {logged}, logged by {out / 'runs' / 'random-seed1'}"),
                         (fewer, "holds other cells than the one"), (None, f"give --data {first}")):
        with pytest.raises((CheckpointError, DataError), match=re.escape(error)) as raised:
            run_compare(replace(config, data=str(table) if table else None, budget=12), out, progress=False)
        if table is not None:
            assert f"give --data the table the comparison in {out} was run on ({first}" in str(raised.value)
    with pytest.raises(CheckpointError, match=r"other options \(eval_seed\); use another --out"):   # data may change
        run_compare(replace(config, data=str(moved), eval_seed=1), out, progress=False)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "compare.lock"} == before

    summary = run_compare(replace(config, data=str(moved), budget=12), out, progress=False)
    for algo in config.algos:           # what a comparison run on it from the start gives
        assert summary["algorithms"][algo]["regret_at"] == reference["algorithms"][algo]["regret_at"]
    for key in ("random-seed0", "random-seed1", "evolution-seed0", "evolution-seed1"):
        assert [r["hash"] for r in read_results(out / "runs" / key)] == \
            [r["hash"] for r in read_results(tmp_path / "ref" / "runs" / key)]
        assert json.loads((out / "runs" / key / "config.json").read_text())["data"] == str(moved)
    assert json.loads((out / "compare.json").read_text())["data"] == str(moved)


def test_a_moved_table_is_not_taken_while_a_run_s_log_cannot_be_checked_against_it(tmp_path, nb101_dir):
    """--data of another table (one logged cell's result changed) while the run that logged that cell has a
    damaged results.jsonl: it cannot be checked, so it is refused naming that run, and nothing is written
    (compare.json kept its table: once the log is restored, the same wrong --data is still refused before
    anything is written, and the right one continues)."""
    config, out, first, moved = _compare_then_move(tmp_path, nb101_dir, ("random",))
    damaged = out / "runs" / "random-seed1"
    logged = read_results(damaged)[-1]["hash"]
    assert logged not in {r["hash"] for r in read_results(out / "runs" / "random-seed0")}
    other_value = _table_with(moved, tmp_path / "other-value.jsonl.gz", logged, 0.5)
    log_bytes = (damaged / "results.jsonl").read_bytes()
    lines = log_bytes.splitlines(keepends=True)
    (damaged / "results.jsonl").write_bytes(b"".join([*lines[:2], b'{"n": 3, "hash": garbage\n', *lines[3:]]))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "compare.lock"}
    with pytest.raises(CheckpointError, match=re.escape(f"{damaged}")) as raised:
        run_compare(replace(config, data=str(other_value), budget=12), out, progress=False)
    assert "line 3" in str(raised.value)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != "compare.lock"} == before
    (damaged / "results.jsonl").write_bytes(log_bytes)          # restored: the wrong table is named as such
    with pytest.raises(DataError, match=re.escape(f"says 0.5 for cell {logged}, logged by {damaged}")):
        run_compare(replace(config, data=str(other_value), budget=12), out, progress=False)
    run_compare(replace(config, data=str(moved), budget=12), out, progress=False)
    assert json.loads((out / "compare.json").read_text())["data"] == str(moved)


def test_a_comparison_of_the_table_found_without_data_names_it_so_when_another_is_refused(tmp_path, nb101_dir,
                                                                                          monkeypatch):
    """The way on after another table is refused names the comparison's table as found without --data,
    not as None."""
    import gzip

    monkeypatch.setenv("ALPHAX_NASBENCH101", str(nb101_dir / "nb101_real_subset.jsonl.gz"))
    config = CompareConfig(space="nasbench101", algos=("random",), seeds=1, budget=5)
    out = tmp_path / "cmp"
    run_compare(config, out, progress=False)
    fewer = tmp_path / "fewer.jsonl"
    with gzip.open(nb101_dir / "nb101_real_subset.jsonl.gz", "rb") as f:
        fewer.write_bytes(b"".join(f.readline() for _ in range(40)))
    with pytest.raises(CheckpointError, match="holds other cells than the one") as raised:
        run_compare(replace(config, data=str(fewer)), out, progress=False)
    assert "None" not in str(raised.value) and "found without --data" in str(raised.value)


def test_another_table_found_without_data_is_refused_by_an_extension_and_a_resume(tmp_path, nb101_dir, run_cli):
    """Found by a bug hunt (2026-12-07): a comparison records no table when it finds one without --data
    ($ALPHAX_NASBENCH101, ../shared), nor do its runs; extended while $ALPHAX_NASBENCH101 named another table
    (the same cells, other accuracies), it went on, its runs mixing the two tables' results (a negative
    regret), and so did a resume of one of its runs. Both check the table found against what was logged now,
    and refuse another one before anything is written."""
    import gzip

    table_a, table_b = tmp_path / "a" / "nb101_real_subset.jsonl.gz", tmp_path / "b" / "nb101_real_subset.jsonl.gz"
    table_a.parent.mkdir()
    table_b.parent.mkdir()
    original = (nb101_dir / "nb101_real_subset.jsonl.gz").read_bytes()
    table_a.write_bytes(original)
    rows = [json.loads(line) for line in gzip.decompress(original).splitlines()]
    for r in rows:
        r["metrics"]["108"]["validation_accuracy"] *= 0.9
    table_b.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode(), compresslevel=1))
    out = tmp_path / "cmp"
    compare = ["compare", "--space", "nasbench101", "--algos", "random", "--seeds", 1, "--jobs", 1, "--no-progress",
               "--out", out]
    env = lambda table: {**os.environ, "ALPHAX_NASBENCH101": str(table)}
    assert run_cli(*compare, "--budget", 3, env=env(table_a)).returncode == 0
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*")
              if p.is_file() and p.suffix not in (".txt", ".lock")}
    proc = run_cli(*compare, "--budget", 5, env=env(table_b))
    assert proc.returncode == 1 and re.search(
        r"alphax: error: the table found without --data says [\d.]+ for cell \w+, logged by \S+ as [\d.]+ \(n=1\): "
        r"another table; give --data the table the comparison in ", proc.stderr), proc.stderr
    run = out / "runs" / "random-seed0"
    proc = run_cli("search", "--resume", run, "--budget", 5, "--no-progress", env=env(table_b))
    assert proc.returncode == 1 and "the table found without --data says" in proc.stderr, proc.stderr
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*")
              if p.is_file() and p.suffix not in (".txt", ".lock")}
    assert after == before
    assert run_cli(*compare, "--budget", 5, env=env(table_a)).returncode == 0     # the table it was run on
    assert len(read_results(run)) == 5


def test_nasbench201s_installed_table_named_with_data_is_the_one_found_without_it(tmp_path):
    """NAS-Bench-201's pickle given with --data (or its folder) where the comparison found it without:
    the same table, continued as it was (compare.json unchanged), as NASBench-101's."""
    from alphax.nasbench201 import data_path

    config = CompareConfig(algos=("random",), seeds=1, budget=5)
    out = tmp_path / "cmp"
    run_compare(config, out, progress=False)
    saved = (out / "compare.json").read_bytes()
    for data in (data_path("cifar10"), os.path.dirname(data_path("cifar10"))):
        run_compare(replace(config, data=data), out, progress=False)
        assert (out / "compare.json").read_bytes() == saved


def test_a_moved_nasbench201_table_continues_each_seed_with_its_own_draws_and_is_recorded(tmp_path):
    """NAS-Bench-201's pickle moved: each run's logged results are checked with that run's eval seed (a
    cell's training seed is drawn per eval seed, so seed 0's draws would refuse the same table), the new
    path is recorded in compare.json even with nothing else changed, and an extension with it (a new seed,
    which has no checkpoint yet; a run whose latest checkpoint is damaged) evaluates what a comparison run
    on it from the start does."""
    import shutil

    from alphax.nasbench201 import data_path

    first = tmp_path / "a" / "cifar10.pkl"
    first.parent.mkdir()
    shutil.copy(data_path("cifar10"), first)
    config = CompareConfig(space="nasbench201", data=str(first), algos=("random", "evolution"), seeds=2, budget=8)
    out = tmp_path / "cmp"
    run_compare(config, out, progress=False)
    moved = tmp_path / "b" / "cifar10.pkl"
    first.parent.rename(moved.parent)
    run_compare(replace(config, data=str(moved)), out, progress=False)          # moved, nothing else
    assert json.loads((out / "compare.json").read_text())["data"] == str(moved)
    assert all(json.loads((out / "runs" / f"{a}-seed{s}" / "config.json").read_text())["data"] == str(moved)
               for a in config.algos for s in range(2))
    again = tmp_path / "c" / "cifar10.pkl"
    moved.parent.rename(again.parent)
    latest = out / "runs" / "evolution-seed1" / "checkpoint.pkl"
    latest.write_bytes(latest.read_bytes()[:-100])
    summary = run_compare(replace(config, data=str(again), seeds=3, budget=12), out, progress=False)
    reference = run_compare(replace(config, data=str(again), seeds=3, budget=12), tmp_path / "ref", progress=False)
    for algo in config.algos:
        assert summary["algorithms"][algo]["regret_at"] == reference["algorithms"][algo]["regret_at"]
        for seed in range(3):
            key = f"{algo}-seed{seed}"
            assert [(r["hash"], r["accuracy"]) for r in read_results(out / "runs" / key)] == \
                [(r["hash"], r["accuracy"]) for r in read_results(tmp_path / "ref" / "runs" / key)]
    assert json.loads((out / "compare.json").read_text())["data"] == str(again)


def test_jobs_must_be_positive(tmp_path, run_cli):
    proc = run_cli("compare", "--space", "nasbench201", "--algos", "random", "--seeds", 1, "--budget", 5, "--jobs", 0,
                   "--out", tmp_path / "cmp", "--no-progress", timeout=120)
    assert proc.returncode == 1 and "--jobs must be a positive number" in proc.stderr, proc.stderr
    assert not (tmp_path / "cmp").exists()


def test_a_summary_that_cannot_be_put_in_place_leaves_no_temp_file(tmp_path, run_cli):
    """summary.json is written as every other file of the project (a temp file beside it, fsynced, then
    renamed): a write that fails (a full disk; here a folder in its place) leaves nothing behind."""
    cmp = tmp_path / "cmp"
    args = ("compare", "--space", "nasbench201", "--algos", "random", "--seeds", 1, "--budget", 5, "--jobs", 1,
            "--out", cmp, "--no-progress")
    assert run_cli(*args, timeout=120).returncode == 0
    (cmp / "summary.json").unlink()
    (cmp / "summary.json" / "x").mkdir(parents=True)
    proc = run_cli(*args, timeout=120)
    assert proc.returncode == 1 and "summary.json: Is a directory" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not [p.name for p in cmp.iterdir() if p.name.endswith(".tmp")]


def test_more_jobs_than_runs_start_a_process_per_run_at_most(tmp_path, monkeypatch):
    """jobs=100000 for two runs: a pool of two worker processes. The pool forks all its processes at once, so
    asking it for 100,000 would be a fork bomb; the test looks at the pool's size before any process starts,
    so that a regression fails here without starting them."""
    import alphax.compare as compare_module

    real, asked = compare_module.ProcessPoolExecutor, []

    def watched(*args, **kwargs):
        asked.append(kwargs.get("max_workers", args[0] if args else None))
        assert asked[-1] is not None and asked[-1] <= 2, f"a pool of {asked[-1]} processes for 2 runs"
        return real(*args, **kwargs)

    monkeypatch.setattr(compare_module, "ProcessPoolExecutor", watched)
    summary = run_compare(CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=2, budget=5),
                          tmp_path / "cmp", jobs=100000, progress=False)
    assert asked == [2] and len(summary["algorithms"]["random"]["wall_seconds"]) == 2


def test_compare_on_nasbench101(tmp_path, nb101_dir, run_cli):
    out = tmp_path / "cmp"
    proc = run_cli("compare", "--space", "nasbench101", "--data", nb101_dir / "nb101_real_subset.jsonl.gz",
                   "--algos", "random,evolution", "--seeds", 2, "--budget", 50, "--jobs", 2, "--out", out,
                   "--no-progress", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["optimum"]["hash"] == "096f593e0f12d65f6220bf8565b764a9"
    assert math.isclose(summary["optimum"]["accuracy"], 0.949119, abs_tol=1e-6)
    assert set(summary["algorithms"]["random"]["regret_at"]) == {"50"}
    assert (out / "compare.png").exists()


def _processes_mentioning(text: str) -> list[int]:
    """PIDs of live processes whose command line contains ``text`` (Linux /proc)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next(line for line in (proc / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if text in cmdline and "Z" not in state.split()[1]:
            pids.append(int(proc.name))
    return pids


def test_sigterm_stops_the_worker_processes_and_the_same_command_continues(tmp_path, run_cli):
    """SIGTERM to `alphax compare --jobs 2` while its runs go: it exits 143 and leaves no worker running
    (they used to run on as orphans); every result logged so far is kept, and the same command finishes
    the comparison with exactly the budget's unique cells per run."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "cmp-stop"
    args = ["compare", "--space", "nasbench201", "--algos", "random", "--seeds", 4, "--budget", 2000,
            "--jobs", 2, "--out", out, "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "alphax.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        counts = [len(p.read_bytes().splitlines()) for p in out.glob("runs/*/results.jsonl")]
        if len(counts) == 2 and min(counts) >= 10 and sum(counts) >= 50:   # both workers' first runs under way
            break                                                             # (under load the second is late)
        time.sleep(0.05)
    assert proc.poll() is None, "the comparison ended before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr[-3000:]
    assert "interrupted" in stderr
    time.sleep(0.5)
    assert _processes_mentioning(str(out)) == []
    # the runs under way stopped with their checkpoints; the next ones, queued in the pool, never started
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["random-seed0", "random-seed1"]
    for folder in (out / "runs").iterdir():
        assert "stopped at n=" in (folder / "log.txt").read_text()
    kept = {p.parent.name: [r["hash"] for r in read_results(p.parent)] for p in out.glob("runs/*/results.jsonl")}
    assert sum(map(len, kept.values())) >= 50
    assert not (out / "summary.json").exists()

    again = run_cli(*args, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    for seed in range(4):
        hashes = [r["hash"] for r in read_results(out / "runs" / f"random-seed{seed}")]
        assert len(hashes) == len(set(hashes)) == 2000
        before = kept.get(f"random-seed{seed}", [])
        assert hashes[:len(before)] == before            # nothing logged before the stop was lost
    assert json.loads((out / "summary.json").read_text())["seeds"] == [0, 1, 2, 3]


def _ctrl_c_as_in_a_terminal() -> None:
    """In the child: SIGINT at its default, as a command typed in a terminal has it. Tests run from a
    non-interactive shell's background job inherit SIGINT ignored, and Python then never turns it into
    KeyboardInterrupt."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _two_runs_under_way(out):
    """`alphax compare --jobs 2` (two long random-search runs, no periodic checkpoint) in its own process
    group, once both runs have logged 20 results."""
    import subprocess
    import sys
    import time

    args = ["compare", "--space", "nasbench201", "--algos", "random", "--seeds", 2, "--budget", 5000,
            "--checkpoint-every", 100000, "--jobs", 2, "--out", out, "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "alphax.cli", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        logs = list(out.glob("runs/*/results.jsonl"))
        if len(logs) == 2 and all(len(p.read_bytes().splitlines()) >= 20 for p in logs):
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the comparison ended before it could be stopped"
    return proc


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_a_signal_to_the_process_group_stops_each_worker_once_with_its_checkpoint(tmp_path, signame):
    """Ctrl-C (SIGINT) or a batch system's SIGTERM reaches the whole process group. A worker leaves SIGINT
    to the parent, whose one SIGTERM stops each running run after its current evaluation with a
    checkpoint at its last result; a group SIGTERM reaches a worker twice (directly and from the parent),
    one request. (Each second signal used to mean "stop at once": no checkpoint.)"""
    import os
    import signal

    out = tmp_path / "cmp-int"
    proc = _two_runs_under_way(out)
    os.killpg(proc.pid, getattr(signal, signame))       # SIGINT: what Ctrl-C in a terminal does
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + getattr(signal, signame), stderr[-3000:]
    for seed in range(2):
        folder = out / "runs" / f"random-seed{seed}"
        n = len(read_results(folder))
        log = (folder / "log.txt").read_text()
        assert f"stopped at n={n}, checkpoint written; continue with: the same alphax compare command" in log, log
        assert "alphax search --resume" not in log
        assert json.loads((folder / "stats.json").read_text())["n"] == n


def test_a_worker_closing_its_stopped_run_outlives_the_stop_s_second_sigterm(tmp_path):
    """A group SIGTERM reaches a worker directly and, a moment later, from the parent. When the second
    came after the run's own handler had ended, it killed the worker while it closed the run: no
    stats.json (seen once in CI). Here the second SIGTERM arrives inside the close, every time."""
    import subprocess
    import sys

    code = f"""
import os, signal, sys
from alphax import compare, run as run_module
from alphax.config import SearchConfig
close = run_module.Run.close
def close_after_a_second_sigterm(self):
    os.kill(os.getpid(), signal.SIGTERM)
    close(self)
run_module.Run.close = close_after_a_second_sigterm
ask = run_module.Run.ask
def ask_then_stop(self):
    if self.n == 5:
        os.kill(os.getpid(), signal.SIGTERM)
    return ask(self)
run_module.Run.ask = ask_then_stop
compare._worker_signals(None)
config = SearchConfig(space="nasbench201", algo="random", budget=50, seed=0).to_json()
try:
    compare._run_one(config, {str(tmp_path / "run")!r}, worker=True)
except compare.Interrupted:
    sys.exit(3)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr[-3000:]
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert stats["n"] == len(read_results(tmp_path / "run")) == 6


def test_a_second_signal_while_the_workers_are_stopped_does_not_cut_the_stop_short():
    """Found by a bug hunt (2026-12-07): `timeout -s TERM` signals alphax compare, then its group 0.1 s
    later. The second SIGTERM reached the parent while it stopped its workers, after the stop had put the
    CLI's handler back: it raised out of the stop, a worker stayed alive, and the pool's manager thread
    waited for it at exit, for ever (the folder then refused every rerun as in use). A second SIGTERM or
    SIGINT during the stop now changes nothing: every worker is stopped, and the first signal is said."""
    import subprocess
    import sys

    code = """
import multiprocessing, os, signal, sys, time
from concurrent.futures import ProcessPoolExecutor
from alphax import compare
from alphax.errors import Interrupted

def cli_handler(signum, frame):                     # as alphax.cli's: a signal raises
    raise Interrupted(signum)

signal.signal(signal.SIGTERM, cli_handler)
terminate = multiprocessing.process.BaseProcess.terminate

def terminate_after_a_second_signal(self):          # the group's SIGTERM, and a Ctrl-C, mid-way through the stop
    os.kill(os.getpid(), signal.SIGTERM)
    os.kill(os.getpid(), signal.SIGINT)
    terminate(self)

ctx = multiprocessing.get_context("fork")
pool = ProcessPoolExecutor(2, mp_context=ctx, initializer=compare._worker_signals, initargs=(os.getpid(),))
try:
    with pool, compare._StopWorkers(pool):
        pool.submit(time.sleep, 60)
        while len(pool._processes) < 2:
            time.sleep(0.01)
        workers = list(pool._processes.values())
        multiprocessing.process.BaseProcess.terminate = terminate_after_a_second_signal
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)
except Interrupted as exc:
    alive = [w.pid for w in workers if w.is_alive()]
    print(signal.Signals(exc.signum).name, alive)
    sys.exit(0 if not alive else 1)
sys.exit(2)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == "SIGTERM []\n", (proc.stdout, proc.stderr[-3000:])


def test_workers_stop_with_their_checkpoints_when_the_parent_is_killed(tmp_path):
    """SIGKILL to the `alphax compare` process itself: its workers get SIGTERM (the parent-death signal),
    checkpoint and end, instead of running on as orphans that hold their runs' locks."""
    import signal
    import time

    out = tmp_path / "cmp-kill"
    proc = _two_runs_under_way(out)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _processes_mentioning(str(out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_mentioning(str(out)) == []
    for seed in range(2):
        folder = out / "runs" / f"random-seed{seed}"
        assert f"stopped at n={len(read_results(folder))}, checkpoint written" in (folder / "log.txt").read_text()


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_damaged_run_folder_names_its_run_and_keeps_the_others(tmp_path, run_cli, jobs):
    """One run folder of a comparison damaged (a stray line at the end of its log): the error names the run
    and the way on, without a traceback from the worker processes; no other run's results change; with the
    folder moved aside the same command runs that seed afresh and finishes."""
    out = tmp_path / "cmp"
    args = ["compare", "--space", "nasbench201", "--dataset", "cifar10", "--algos", "random,evolution", "--seeds", 2,
            "--budget", 20, "--jobs", jobs, "--out", out, "--no-progress"]
    assert run_cli(*args, timeout=120).returncode == 0
    bad = out / "runs" / "evolution-seed1"
    with open(bad / "results.jsonl", "a") as f:
        f.write("xx\n")
    before = {p: p.read_bytes() for p in sorted((out / "runs").glob("*/results.jsonl")) if p.parent != bad}
    assert len(before) == 3
    proc = run_cli(*args, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("alphax: error: run evolution-seed1 of the comparison: ") and "line 21" in error
    assert f"{bad} is moved aside" in error and "the same alphax compare command continues" in error
    assert {p: p.read_bytes() for p in before} == before
    bad.rename(tmp_path / "aside")
    proc = run_cli(*args, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["algorithms"]["evolution"]["samples"] == [20, 20]


def test_a_table_with_three_repeats_measures_the_optimum_and_regret_by_their_mean(full_records, tmp_path, run_cli):
    """The official files hold 3 training repeats per cell; an evaluation observes one, and each seed of a
    comparison reads others. The optimum is the best mean over the repeats and every run is measured in
    those means (as NASBench-101's paper measures regret): a run that sampled every cell found the optimum
    and has no regret, where it used to be 'found' with a regret of 0.002 (the optimum was eval seed 0's
    draw). Real records of 4 cells, the global optimum among them, in an official-format file."""
    from alphax.nasbench.tfrecord import write_official
    from workers.evaluators import TableEvaluator

    path = tmp_path / "nasbench_full.tfrecord"
    write_official(path, [(r["hash"], {"module_adjacency": r["matrix"], "module_operations": r["ops"],
                                       "trainable_parameters": r["trainable_parameters"]},
                           {int(e): runs for e, runs in r["metrics"].items()}) for r in full_records])
    means = {r["hash"]: float(np.mean([run["final_validation_accuracy"] for run in r["metrics"]["108"]]))
             for r in full_records}
    best = max(means, key=means.get)
    evaluator = TableEvaluator.from_path(str(path))
    assert evaluator.repeated and evaluator.optimum() == (best, pytest.approx(means[best], abs=1e-12))
    assert all(evaluator.reference_value(h) == pytest.approx(m, abs=1e-12) for h, m in means.items())
    draws = {TableEvaluator.from_path(str(path), seed=s).evaluate(evaluator.table.spec_of(best)).accuracy
             for s in range(20)}
    assert len(draws) > 1                         # the seeds observe different repeats of the optimum

    out = tmp_path / "cmp"
    proc = run_cli("compare", "--space", "nasbench101", "--data", path, "--algos", "random", "--seeds", "6",
                   "--budget", "4", "--jobs", "1", "--out", out, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"optimum: {means[best]:.6f} (mean over training repeats; hash {best})" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["optimum"] == {"hash": best, "accuracy": pytest.approx(means[best], abs=1e-12),
                                  "measure": "mean over training repeats"}
    random = summary["algorithms"]["random"]
    assert random["found"] == 6 and random["regret_at"]["4"] == 0
    assert all(w is not None and w <= s for w, s in zip(random["samples_to_within_0.001"], random["samples_to_optimum"]))
    proc = run_cli("report", out, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"{means[best]:.5f}, mean over training repeats" in (out / "report.txt").read_text()

    proc = run_cli("search", "--space", "nasbench101", "--data", path, "--algo", "random", "--budget", "4",
                   "--seed", "1", "--eval-seed", "1", "--out", tmp_path / "run", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"best: {means[best]:.6f} (mean over training repeats; this run observed" in proc.stdout
    assert f"optimum of the data set: {means[best]:.6f} (mean over training repeats; hash {best}): found at n=" \
        in proc.stdout
    stats = json.loads((tmp_path / "run" / "stats.json").read_text())
    assert stats["optimum"]["measure"] == "mean over training repeats"
    proc = run_cli("report", tmp_path / "run", timeout=300)
    assert proc.returncode == 0 and "mean over training repeats" in (tmp_path / "run" / "report.txt").read_text()

    # a run not ended (killed before it noted the optimum) is measured the same way: the optimum from its table
    (tmp_path / "run" / "stats.json").rename(tmp_path / "stats.json")
    proc = run_cli("report", tmp_path / "run", timeout=300)
    text = (tmp_path / "run" / "report.txt").read_text()
    assert proc.returncode == 0 and "mean over training repeats" in text.split("best cell")[1], text
    assert f"optimum: {best} ({means[best]:.5f}, mean over training repeats)" in text
    (tmp_path / "stats.json").rename(tmp_path / "run" / "stats.json")

    # the table moved: the report needs it (the means), and says how to give it
    moved = tmp_path / "moved.tfrecord"
    path.rename(moved)
    proc = run_cli("report", tmp_path / "run", timeout=300)
    assert proc.returncode == 1 and "so its report reads the table: give alphax report --data PATH" in proc.stderr
    proc = run_cli("report", tmp_path / "run", "--data", moved, timeout=300)
    assert proc.returncode == 0 and "mean over training repeats" in (tmp_path / "run" / "report.txt").read_text()
    # a comparison is reported in its summary's measure, whatever one of its runs noted (an older
    # comparison, without "measure", one of whose runs was resumed since)
    for stats in (out / "runs").glob("random-seed*/stats.json"):
        stats.write_text(json.dumps({**json.loads(stats.read_text()), "optimum": summary["optimum"]}))
    assert "mean over training repeats" in (out / "report.txt").read_text().split("best cell")[1]
    summary["optimum"].pop("measure")
    (out / "summary.json").write_text(json.dumps(summary))
    proc = run_cli("report", out, "--data", moved, timeout=300)
    assert proc.returncode == 0 and "mean over training repeats" not in (out / "report.txt").read_text()


# -- found missing by a mutation audit (2026-12-05): each fails on one plausible bug --
def test_the_summary_gives_the_standard_error_of_the_mean_samples_to_the_optimum():
    opt = ("OPT", 0.95)
    found = lambda k: rows([0.5] * (k - 1) + [0.95], [f"x{i}" for i in range(k - 1)] + ["OPT"])
    a = summarize({"alg": [found(10), found(20), rows([0.5] * 70), found(60)]}, optimum=opt, budget=70, space="toy",
                  seeds=[0, 1, 2, 3])["algorithms"]["alg"]
    assert a["mean_samples_to_optimum"] == 30 and math.isclose(a["sem_samples_to_optimum"], math.sqrt(700 / 3))
    one = summarize({"alg": [found(10), rows([0.5] * 70)]}, optimum=opt, budget=70, space="toy", seeds=[0, 1])
    assert one["algorithms"]["alg"]["sem_samples_to_optimum"] is None       # one find: no spread to measure
    # over every seed, a miss counted at its last sample: the budget, or fewer where its run stopped short
    assert a["mean_samples_to_optimum_all_seeds"] == (10 + 20 + 70 + 60) / 4
    stopped = summarize({"alg": [found(10), rows([0.5] * 30)]}, optimum=opt, budget=70, space="toy", seeds=[0, 1])
    assert stopped["algorithms"]["alg"]["mean_samples_to_optimum_all_seeds"] == (10 + 30) / 2
    every = summarize({"alg": [found(10), found(20)]}, optimum=opt, budget=70, space="toy", seeds=[0, 1])
    assert every["algorithms"]["alg"]["mean_samples_to_optimum_all_seeds"] == 15   # all found: the mean
    # the median over every seed, a miss ranked after every find: exact while the middle seeds found it
    assert a["median_samples_to_optimum_all_seeds"] == 40 and a["median_samples_to_optimum"] == 20    # 10 20 60 -
    assert every["algorithms"]["alg"]["median_samples_to_optimum_all_seeds"] == 15
    odd = summarize({"alg": [found(10), rows([0.5] * 70), found(60)]}, optimum=opt, budget=70, space="toy",
                    seeds=[0, 1, 2])["algorithms"]["alg"]
    assert odd["median_samples_to_optimum_all_seeds"] == 60 and odd["median_samples_to_optimum"] == 35
    late = summarize({"alg": [found(10), rows([0.5] * 70), rows([0.5] * 70)]}, optimum=opt, budget=70,
                     space="toy", seeds=[0, 1, 2])["algorithms"]["alg"]
    assert late["median_samples_to_optimum_all_seeds"] is None and late["median_samples_to_optimum"] == 10


def test_median_samples_to_optimum_is_a_median():
    """Three seeds find the optimum at 10, 20 and 90 samples: mean 40, median 20."""
    from alphax.compare import summarize

    def rows(at):
        return [{"n": i + 1, "hash": "OPT" if i + 1 == at else f"x{i}", "accuracy": 0.9} for i in range(100)]

    a = summarize({"alg": [rows(10), rows(20), rows(90)]}, optimum=("OPT", 0.9), budget=100, space="toy",
                  seeds=[0, 1, 2])["algorithms"]["alg"]
    assert a["samples_to_optimum"] == [10, 20, 90]
    assert a["mean_samples_to_optimum"] == 40 and a["median_samples_to_optimum"] == 20


def test_within_0001_counts_a_result_exactly_0001_below_the_optimum():
    """'samples to within 0.001' includes the boundary (opt - 0.001, up to rounding)."""
    from alphax.compare import summarize

    rows = [{"n": 1, "hash": "a", "accuracy": 0.90}, {"n": 2, "hash": "b", "accuracy": 0.949}]
    a = summarize({"alg": [rows]}, optimum=("OPT", 0.95), budget=2, space="toy", seeds=[0])["algorithms"]["alg"]
    assert a["samples_to_within_0.001"] == [2]



def test_regret_at_n_is_the_best_of_exactly_the_first_n_samples():
    """Regret at 50 is the optimum less the best of samples 1..50: sample 50 counts, sample 51 does not
    (the best changes at 50, 51, 100 and 101 here)."""
    accs = [0.5] * 49 + [0.6, 0.7] + [0.5] * 48 + [0.8, 0.9] + [0.5] * 49
    assert len(accs) == 150 and accs[49] == 0.6 and accs[50] == 0.7 and accs[99] == 0.8 and accs[100] == 0.9
    a = summarize({"alg": [rows(accs)]}, optimum=("OPT", 0.95), budget=150, space="toy",
                  seeds=[0])["algorithms"]["alg"]
    assert a["regret_at"] == pytest.approx({"50": 0.35, "100": 0.15, "150": 0.05})


def test_the_summary_counts_no_sample_beyond_the_budget():
    """A run folder holding more results than the comparison's budget (one resumed by hand with a larger
    --budget) is summarised as of its first ``budget`` samples: an optimum found after them is not found."""
    accs, hashes = [0.5, 0.6, 0.7, 0.95], ["a", "b", "c", "OPT"]
    a = summarize({"alg": [rows(accs, hashes)]}, optimum=("OPT", 0.95), budget=3, space="toy",
                  seeds=[0])["algorithms"]["alg"]
    assert a["samples_to_optimum"] == [None] and a["found"] == 0 and a["samples_to_within_0.001"] == [None]
    assert a["regret_at"] == pytest.approx({"3": 0.25})


def test_fewer_seeds_or_a_smaller_budget_is_no_extension_of_a_comparison(tmp_path):
    """The same command may grow a comparison (budget, seeds, algorithms), never shrink it: fewer seeds
    would drop runs made from its summary, a smaller budget their last samples. Refused, nothing written."""
    config = CompareConfig(algos=("random",), seeds=3, budget=20)
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "compare.json").write_text(json.dumps(config.to_json(), indent=1))
    before = (out / "compare.json").read_bytes()
    for smaller, what in ((replace(config, seeds=2), "seeds"), (replace(config, budget=10), "budget")):
        with pytest.raises(CheckpointError, match=rf"holds a comparison with other options \({what}\)"):
            run_compare(smaller, out)
    assert (out / "compare.json").read_bytes() == before and sorted(p.name for p in out.iterdir()) == ["compare.json"]

def test_a_worker_killed_by_a_signal_is_one_line_and_the_same_command_continues(tmp_path, run_cli):
    """A worker process SIGKILLed (the kernel's OOM killer) breaks the process pool: one AlphaXError line
    that says what happened and the way on, not concurrent.futures' BrokenProcessPool traceback; the same
    command then finishes every run.

    The pool's manager thread, slowed here as a loaded machine slows it, has ended by the time the error
    is raised: left running, it closed its wake-up pipe while Python 3.11's exit hook wrote to it, and an
    "OSError: [Errno 9] Bad file descriptor" traceback followed the error line (seen on a loaded 2-core
    CI machine)."""
    import subprocess
    import sys

    out = tmp_path / "cmp"
    code = f"""
import os, signal, sys, threading, time
from concurrent.futures import process
from alphax import compare
from alphax.cli import main
run_one = compare._run_one
def killed_on_seed_1(config_json, folder, worker=False):
    if config_json["seed"] == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_one(config_json, folder, worker)
compare._run_one = killed_on_seed_1
wind_up = process._ExecutorManagerThread.join_executor_internals
def slow_wind_up(self):
    time.sleep(1.0)
    wind_up(self)
process._ExecutorManagerThread.join_executor_internals = slow_wind_up
rc = main(["compare", "--space", "nasbench201", "--algos", "random", "--seeds", "2", "--budget", "20",
           "--jobs", "2", "--out", {str(out)!r}, "--no-progress"])
left = [t for t in threading.enumerate() if isinstance(t, process._ExecutorManagerThread)]
print("pool manager threads left:", len(left), file=sys.stderr)
sys.exit(rc)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "pool manager threads left: 0" in proc.stderr, proc.stderr[-3000:]
    assert "alphax: error: a worker process of the comparison died without a word (killed by a signal" in proc.stderr
    assert "the same alphax compare command continues them" in proc.stderr
    proc = run_cli("compare", "--space", "nasbench201", "--algos", "random", "--seeds", 2, "--budget", 20,
                   "--jobs", 2, "--out", out, "--no-progress", timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert [len(read_results(out / "runs" / f"random-seed{s}")) for s in range(2)] == [20, 20]


def test_regret_at_n_is_the_mean_over_seeds_not_their_median():
    """Three seeds whose best by sample 2 is 0.9, 0.8 and 0.5: regret at 2 is their mean regret (0.2), not
    the median seed's (0.1)."""
    per_seed = [rows([0.5, 0.9]), rows([0.8, 0.7]), rows([0.5, 0.4])]
    a = summarize({"alg": per_seed}, optimum=("OPT", 1.0), budget=2, space="toy", seeds=[0, 1, 2])["algorithms"]["alg"]
    assert a["regret_at"] == pytest.approx({"2": ((1 - 0.9) + (1 - 0.8) + (1 - 0.5)) / 3})


def test_runs_in_worker_processes_are_each_seed_s_own_as_in_one_process(tmp_path):
    """--jobs 2 runs what --jobs 1 runs: run s with search seed s and eval seed s (not every worker seed
    0's run), the same cells in the same order, the same summary (its times aside)."""
    from alphax.config import SearchConfig

    config = CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=2, budget=10)
    par = run_compare(config, tmp_path / "par", jobs=2, progress=False)
    one = run_compare(config, tmp_path / "one", jobs=1, progress=False)
    for seed in (0, 1):
        run = tmp_path / "par" / "runs" / f"random-seed{seed}"
        saved = SearchConfig.load(run / "config.json")
        assert (saved.seed, saved.eval_seed) == (seed, seed)
        assert [r["hash"] for r in read_results(run)] == \
               [r["hash"] for r in read_results(tmp_path / "one" / "runs" / f"random-seed{seed}")]
    assert [r["hash"] for r in read_results(tmp_path / "par" / "runs" / "random-seed0")] != \
           [r["hash"] for r in read_results(tmp_path / "par" / "runs" / "random-seed1")]
    untimed = lambda s: {a: {k: v for k, v in x.items() if k != "wall_seconds" and not k.startswith("searcher_ms")}
                         for a, x in s["algorithms"].items()}
    assert untimed(par) == untimed(one)


def test_the_summary_s_times_and_sample_counts_are_those_its_runs_logged(tmp_path):
    """searcher_ms_per_proposal_median/_mean over every proposal of every seed, _mean_last_tenth over the
    last tenth of each run, the per-seed medians, wall_seconds and samples: each as the runs' stats.json
    and results.jsonl hold them."""
    config = CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=2, budget=20)
    a = run_compare(config, tmp_path / "cmp", jobs=1, progress=False)["algorithms"]["random"]
    stats = [json.loads((tmp_path / "cmp" / "runs" / f"random-seed{s}" / "stats.json").read_text()) for s in (0, 1)]
    secs = [np.asarray(st["searcher_seconds"], dtype=float) for st in stats]
    assert [len(s) for s in secs] == [20, 20] and len(set(np.concatenate(secs))) > 2
    every = np.concatenate(secs)
    assert a["searcher_ms_per_proposal_median"] == pytest.approx(np.median(every) * 1e3)
    assert a["searcher_ms_per_proposal_mean"] == pytest.approx(np.mean(every) * 1e3)
    assert a["searcher_ms_per_proposal_mean_last_tenth"] == pytest.approx(np.mean([*secs[0][-2:], *secs[1][-2:]]) * 1e3)
    assert a["searcher_ms_per_proposal_median_per_seed"] == pytest.approx([np.median(s) * 1e3 for s in secs])
    assert a["wall_seconds"] == [st["wall_seconds"] for st in stats]
    assert a["samples"] == [20, 20]


def test_regret_is_given_at_50_100_150_300_and_1000_samples_and_at_the_budget():
    """README's checkpoints: each one within the budget, and the budget itself (here 1000, then 200)."""
    accs = list(np.linspace(0.5, 0.9, 1000))
    for budget, keys in ((1000, ["50", "100", "150", "300", "1000"]), (200, ["50", "100", "150", "200"])):
        a = summarize({"alg": [rows(accs)]}, optimum=("OPT", 1.0), budget=budget, space="toy",
                      seeds=[0])["algorithms"]["alg"]
        assert list(a["regret_at"]) == keys
        assert a["regret_at"] == pytest.approx({k: 1.0 - accs[int(k) - 1] for k in keys})


def test_more_seeds_at_the_same_budget_extend_a_comparison_and_its_plot_shows_cell_means(tmp_path, monkeypatch):
    """--seeds grown alone (the budget unchanged) is an extension; compare.png draws each run's best so far
    in the optimum's measure (the cell's mean over training seeds on NAS-Bench-201), not as observed."""
    import alphax.compare as compare_module

    drawn = []
    monkeypatch.setattr(compare_module, "plot_best_so_far", lambda *a, **kw: drawn.append(a))
    config = CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=1, budget=15)
    run_compare(config, tmp_path / "cmp", progress=False)
    summary = run_compare(replace(config, seeds=2), tmp_path / "cmp", progress=False)
    assert summary["seeds"] == [0, 1] and json.loads((tmp_path / "cmp" / "compare.json").read_text())["seeds"] == 2
    data = load("cifar10")
    mean = lambda row: data.mean(parse_arch_string(row["hash"]))
    curves = drawn[-1][1]["random"]
    for seed, curve in enumerate(curves):
        got = read_results(tmp_path / "cmp" / "runs" / f"random-seed{seed}")
        assert np.array_equal(curve, best_so_far(got, 15, value=mean))
        assert not np.array_equal(curve, best_so_far(got, 15))


def test_jobs_1_runs_every_seed_in_this_process_and_its_bar_shows_the_best_of_all_runs(tmp_path, monkeypatch,
                                                                                        capsys):
    """--jobs 1 starts no worker process (a Ctrl-C, a debugger or a profiler reaches the run itself), and
    the bar's best is the best of every run finished so far, not the last run's."""
    import alphax.compare as compare_module

    pids = []
    real = compare_module._run_one
    monkeypatch.setattr(compare_module, "_run_one", lambda *a: (pids.append(os.getpid()), real(*a))[1])
    config = CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=2, budget=10)
    summary = run_compare(config, tmp_path / "cmp", jobs=1, progress=True)
    assert pids == [os.getpid()] * 2
    bests = [max(r["accuracy"] for r in read_results(tmp_path / "cmp" / "runs" / f"random-seed{s}")) for s in (0, 1)]
    assert bests[0] > bests[1] and summary["algorithms"]["random"]["samples"] == [10, 10]
    bar = capsys.readouterr().err.replace("\r", "\n").strip().splitlines()
    assert f"best={bests[0]:.6f}" in [line for line in bar if "2/2" in line][-1]


def test_the_compare_memory_benchmark_measures_the_cells_a_comparison_always_evaluated(run_benchmark, nb101_dir):
    """``benchmarks/bench_compare_memory.py`` (BENCHMARKS.md, "A comparison's memory"): the digest of its
    runs' cells is the one the code gave before a process shared one table among eval seeds (commit
    a0e419e), so its memory figure compares the same work; with --jobs 1 no worker process is made."""
    got = run_benchmark("bench_compare_memory.py", "--data", nb101_dir / "nb101_real_subset.jsonl.gz", "--seeds", 3,
                        "--budget", 5, "--jobs", 1, "--algos", "random,evolution")[-1]
    assert got["digest"] == "5d6a0fbc7bc4d05d7143f47e6b7f8f68"
    assert got["main_peak_mib"] > 0 and got["worker_peak_mib"] == 0 and "--seeds 3" in got["command"]


def test_a_variant_is_its_algorithm_run_with_its_options_under_its_own_name(tmp_path, run_cli):
    """``--algos random,fast=alphax --option fast.playouts=2 ...``: the variant's runs are AlphaX's with those
    options (the cells of ``alphax search`` with the same options and seed), under its own name in the run
    folders, summary.json and the report, which says what it ran."""
    out = tmp_path / "cmp"
    common = ["--space", "nasbench201", "--seeds", 1, "--budget", 25, "--jobs", 1, "--no-progress"]
    proc = run_cli("compare", "--algos", "random,fast=alphax", "--option", "fast.playouts=2",
                   "--option", "fast.members=2", "--out", out, *common)
    assert proc.returncode == 0, proc.stderr
    assert re.search(r"^ +fast: found \d/1, mean samples to optimum", proc.stdout, re.M), proc.stdout
    # 25 of 15,625 cells: random search misses, and would need more than its 25 samples
    assert re.search(r"^ +random: found 0/1, mean samples to optimum - \(over all seeds: mean >25\.0, median "
                     r">25\), regret",
                     proc.stdout, re.M), proc.stdout
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["fast-seed0", "random-seed0"]
    config = json.loads((out / "runs" / "fast-seed0" / "config.json").read_text())
    assert config["algo"] == "alphax" and config["searcher_options"] == {"playouts": 2, "members": 2}
    proc = run_cli("search", "--space", "nasbench201", "--algo", "alphax", "--option", "playouts=2", "--option",
                   "members=2", "--seed", 0, "--budget", 25, "--out", tmp_path / "alone", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert [r["hash"] for r in read_results(out / "runs" / "fast-seed0")] == \
           [r["hash"] for r in read_results(tmp_path / "alone")]
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["algorithms"]) == ["random", "fast"]
    assert {k: (a["algo"], a["options"]) for k, a in summary["algorithms"].items()} == \
           {"random": ("random", {}), "fast": ("alphax", {"playouts": 2, "members": 2})}
    proc = run_cli("report", out)
    assert proc.returncode == 0, proc.stderr
    text = (out / "report.txt").read_text()
    assert re.search(r"^fast +[01]/1 ", text, re.M) and re.search(r"^random +[01]/1 ", text, re.M), text
    assert "variants:\n  fast: alphax with playouts=2, members=2\n" in text
    assert re.search(r"^  fast: final tau -?\d", text, re.M), text        # the ranking grouped by the variant
    proc = run_cli("report", out / "runs" / "fast-seed0")                 # one of its runs says what ran
    assert proc.returncode == 0, proc.stderr
    assert "\nsearcher options: members=2, playouts=2 (the others: the searcher's defaults)\n" in \
        (out / "runs" / "fast-seed0" / "report.txt").read_text()

    # a malformed --option is refused by the parser; a bad one of a variant, before any folder is made
    proc = run_cli("compare", "--algos", "fast=alphax", "--option", "playouts=2", "--out", tmp_path / "bad", *common)
    assert proc.returncode == 2 and "expected NAME.KEY=VALUE, NAME one of --algos" in proc.stderr
    proc = run_cli("compare", "--algos", "fast=alphax", "--option", "fast.playout=2", "--out", tmp_path / "bad",
                   *common)
    assert proc.returncode == 1 and not (tmp_path / "bad").exists()
    assert proc.stderr.strip().splitlines()[-1].startswith(
        "alphax: error: fast=alphax in --algos: bad option for --algo alphax: unknown option 'playout'"), proc.stderr


def test_variants_and_their_options_are_checked_by_name():
    from alphax.compare import parse_algos

    assert parse_algos([" k = alphax"]) == (("k",), {"k": {"algo": "alphax", "options": {}}})
    assert CompareConfig(algos=(n := "a" * 64,), variants={n: {"algo": "alphax", "options": {}}}).algos == (n,)
    assert parse_algos(["alphax", "k1=alphax", "small=evolution"],
                       [("k1", "kappa", 1), ("alphax", "playouts", 5)]) == \
        (("alphax", "k1", "small"), {"k1": {"algo": "alphax", "options": {"kappa": 1}},
                                     "small": {"algo": "evolution", "options": {}},
                                     "alphax": {"algo": "alphax", "options": {"playouts": 5}}})
    for entries, options, message in [
            (["x="], [], r"'x=' in --algos: give ALGO, or NAME=ALGO for a variant of ALGO"),
            (["=alphax"], [], r"'=alphax' in --algos: give ALGO, or NAME=ALGO"),
            (["x=alphax", "x=random"], [], r"'x' is named twice in --algos"),
            (["alphax", "alphax"], [], r"'alphax' is named twice in --algos"),
            (["alphax"], [("alphax", "kappa", 1), ("alphax", "kappa", 2)], r"--option alphax.kappa is given more "
                                                                           r"than once"),
            (["a=alphax", "", "random"], [], r"separated by single commas, got 'a=alphax,,random'"),
            (["alphax", "size"], [("size", "use_size", True)], r"--option for 'size', which is no algorithm: name it "
                                                               r"a variant in --algos, size=ALGO \(ALGO one of alphax, ")]:
        with pytest.raises(ConfigError, match=message):
            parse_algos(entries, options)
    for entries, options, message in [
            (["a.b=alphax"], [], r"'a.b' in --algos cannot name a variant: use at most 64 letters, digits"),
            (["a/b=alphax"], [], r"'a/b' in --algos cannot name a variant"),
            ([f"{'a' * 65}=alphax"], [], r"cannot name a variant: use at most 64 letters"),
            (["A=random", "a=random"], [], r"A and a in --algos differ only in case"),
            (["random=alphax"], [], r"random=alphax in --algos: 'random' is an algorithm's name; give the variant "
                                    r"another name"),
            (["x=magic"], [], r"unknown algorithm 'magic' for 'x' in --algos; choose from alphax, random, evolution"),
            (["alphax"], [("x", "kappa", 1)], r"--option for 'x', which is not in --algos \(alphax\)"),
            (["alphax"], [("random", "kappa", 1)], r"--option for 'random', which is not in --algos"),
            (["x=evolution"], [("x", "population_size", 0)], r"x=evolution in --algos: bad option for --algo "
                                                             r"evolution: "),
            (["random"], [("random", "kappa", 1)], r"^random in --algos: bad option for --algo random: unknown "
                                                   r"option 'kappa'")]:
        with pytest.raises(ConfigError, match=message):
            CompareConfig(algos=parse_algos(entries, options)[0], variants=parse_algos(entries, options)[1])
    assert CompareConfig(algos=("alphax",), variants={"alphax": {"algo": "alphax", "options": {}}}) == \
        CompareConfig(algos=("alphax",))          # alphax=alphax, with no options, is alphax
    with pytest.raises(ConfigError, match="variants must be a JSON object"):
        CompareConfig(algos=("alphax",), variants=["alphax"])
    with pytest.raises(ConfigError, match=r"variant 'x' must be \{\"algo\": ALGO, \"options\": \{...\}\}"):
        CompareConfig(algos=("x",), variants={"x": {"algo": "alphax"}})


def test_a_variant_whose_searcher_refused_its_options_may_take_others_until_it_has_run(tmp_path, run_cli):
    """Options that pass every check but that the searcher refuses as its first run begins (more memory
    than there is): the error says that other options continue the comparison, and they do, since the
    variant has no run folder yet; once it has one, its options are fixed. Options a check can refuse
    (an allowed value, an option the space cannot honour) are refused before anything is written."""
    out = tmp_path / "cmp"
    common = ["--algos", "random,big=alphax", "--seeds", 1, "--budget", 15, "--jobs", 1, "--no-progress", "--out", out]
    proc = run_cli("compare", *common, "--option", "big.members=2000000000")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith(
        "give smaller --option values. The other runs are kept; the alphax compare command with other --option "
        "values for big continues (it has no run folder yet)"), proc.stderr
    assert not (out / "runs" / "big-seed0").exists()
    proc = run_cli("compare", *common, "--option", "big.members=2")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((out / "compare.json").read_text())["variants"] == \
        {"big": {"algo": "alphax", "options": {"members": 2}}}
    proc = run_cli("compare", *common, "--option", "big.members=3")
    assert proc.returncode == 1
    assert "holds a comparison with other options (big: it was run as big=alphax --option big.members=2)" in proc.stderr
    for option, message in [("big.leaf_value=bogus", "big=alphax in --algos: bad option for --algo alphax: option "
                                                     "leaf_value must be one of 'mean', 'max', got 'bogus'"),
                            ("big.use_size=true", "big=alphax in --algos: bad option for --algo alphax: option "
                                                  "use_size needs cells with a parameter count")]:
        proc = run_cli("compare", *common[:-1], tmp_path / "other", "--option", option)
        assert proc.returncode == 1 and message in proc.stderr, proc.stderr
        assert not (tmp_path / "other").exists()


def test_a_comparison_s_variants_keep_their_options_and_new_ones_extend_it(tmp_path):
    """The same command continues a comparison with variants; one more variant extends it; another option
    for a variant (or options for an algorithm run with its defaults) is refused, naming how it was run,
    and writes nothing. A comparison made before variants existed (its compare.json has none) continues."""
    small = {"algo": "evolution", "options": {"population_size": 8, "tournament_size": 3}}
    config = CompareConfig(space="nasbench201", dataset="cifar10", algos=("evolution", "small"), seeds=1,
                           budget=20, variants={"small": small})
    out = tmp_path / "cmp"
    run_compare(config, out, progress=False)
    before = (out / "compare.json").read_bytes()
    assert json.loads(before)["variants"] == {"small": small}
    run_compare(config, out, progress=False)                         # continued as it is
    assert (out / "compare.json").read_bytes() == before
    for other, message in [
            (replace(config, variants={"small": {**small, "options": {"population_size": 9, "tournament_size": 3}}}),
             r"other options \(small: it was run as small=evolution --option small.population_size=8 --option "
             r"small.tournament_size=3\)"),
            (replace(config, variants={"small": small, "evolution": {"algo": "evolution",
                                                                      "options": {"tournament_size": 2}}}),
             r"other options \(evolution: it was run as evolution with its defaults\)")]:
        with pytest.raises(CheckpointError, match=message):
            run_compare(other, out, progress=False)
        assert (out / "compare.json").read_bytes() == before
    tiny = {"algo": "evolution", "options": {"population_size": 4, "tournament_size": 2}}
    summary = run_compare(replace(config, algos=("evolution", "small", "tiny"), variants={"small": small, "tiny": tiny}),
                          out, progress=False)
    assert list(summary["algorithms"]) == ["evolution", "small", "tiny"]
    assert json.loads((out / "compare.json").read_text())["variants"] == {"small": small, "tiny": tiny}
    for name, variant in (("small", small), ("tiny", tiny)):
        assert json.loads((out / "runs" / f"{name}-seed0" / "config.json").read_text())["searcher_options"] == \
            variant["options"]

    old = tmp_path / "old"
    plain = CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=1, budget=10)
    run_compare(plain, old, progress=False)
    legacy = json.loads((old / "compare.json").read_text())
    assert legacy.pop("variants") == {}
    (old / "compare.json").write_text(json.dumps(legacy))
    run_compare(plain, old, progress=False)                          # continued, not refused
    assert json.loads((old / "compare.json").read_text()) == legacy   # and left as it was


def test_each_algorithm_and_variant_has_its_own_colour_in_every_plot():
    from alphax.plots import algo_colors

    colors = algo_colors(["tiny", "random", "alphax", "k1", "evolution"])
    assert (colors["alphax"], colors["random"], colors["evolution"]) == ("C0", "C1", "C2")
    assert len(set(colors.values())) == 5 and "C7" not in colors.values()        # grey: the searchers' own taus
    assert algo_colors(["k1", "tiny"]) == {"k1": colors["k1"], "tiny": colors["tiny"]}    # whatever the others
    assert len(set(algo_colors([f"v{k}" for k in range(15)]).values())) == 15


def test_a_variant_s_run_under_another_folder_name_is_counted_as_the_variant_in_the_report(tmp_path):
    """A run moved aside (as the errors suggest) or copied in keeps its identity in the report: the entry
    that runs its searcher with its options (a variant's run is not its algorithm's), none if no entry does."""
    import shutil

    from alphax.report import write_report

    small = {"algo": "evolution", "options": {"population_size": 8}}
    config = CompareConfig(space="nasbench201", dataset="cifar10", algos=("evolution", "small"), seeds=2, budget=15,
                           variants={"small": small})
    out = tmp_path / "cmp"
    run_compare(config, out, progress=False)
    (out / "runs" / "small-seed1").rename(out / "runs" / "small-seed1.old")
    shutil.copytree(out / "runs" / "small-seed0", out / "runs" / "stray")
    stray = json.loads((out / "runs" / "stray" / "config.json").read_text())
    stray["searcher_options"] = {"population_size": 5}          # no entry ran evolution so
    (out / "runs" / "stray" / "config.json").write_text(json.dumps(stray))
    run_compare(config, out, progress=False)                      # small-seed1 again
    write_report(str(out))
    text = (out / "report.txt").read_text()
    assert "summary.json counts 2 runs of small, but 3 run folders of it are below" in text, text
    assert "runs of evolution" not in text                        # neither the moved run nor the stray one


def test_a_compare_json_edited_into_other_shapes_is_one_clear_error(tmp_path):
    from alphax.report import write_report

    config = CompareConfig(space="nasbench201", dataset="cifar10", algos=("random",), seeds=1, budget=10)
    out = tmp_path / "cmp"
    run_compare(config, out, progress=False)
    for algos in ([["random"]], ["random", "random"], [1]):
        edited = {**json.loads((out / "compare.json").read_text()), "algos": algos}
        (out / "compare.json").write_text(json.dumps(edited))
        if algos != ["random", "random"]:
            with pytest.raises(CheckpointError, match=r"holds a comparison with other options \(algos\)"):
                run_compare(config, out, progress=False)
        else:                                # the same algorithm twice: the comparison of it, written again
            run_compare(config, out, progress=False)
            assert json.loads((out / "compare.json").read_text())["algos"] == ["random"]
        write_report(str(out))               # the report reads the summary; compare.json does not stop it


def test_the_report_pairs_each_variant_with_its_algorithm_seed_by_seed():
    from alphax.report import _paired_lines

    lines = _paired_lines({"alphax": {"samples_to_optimum": [100, 200, 300, None, 50]},
                           "size": {"algo": "alphax", "options": {"use_size": True},
                                    "samples_to_optimum": [80, 150, 320, 90, None]},
                           "random": {"algo": "random", "options": {}, "samples_to_optimum": [1, 2, 3, 4, 5]},
                           "tiny": {"algo": "evolution", "options": {}, "samples_to_optimum": [1, 2, 3, 4, 5]}})
    d = np.array([-20, -50, 20])
    assert lines == ["paired by seed:", f"  size - alphax: -16.7 samples to the optimum (s.e. "
                                        f"{d.std(ddof=1) / np.sqrt(3):.1f}; fewer on 2 seeds, more on 1, over the 3 "
                                        f"both found it; only size found it on 1 seed; only alphax found it on "
                                        f"1 seed)",
                     # fewer: -20, -50 and seed 3 (a find against a miss); more: +20 and seed 4; p = 1 (3 of 5)
                     "    over the seeds where they differ, a find counting as fewer samples than a miss: fewer on 3, "
                     "more on 2, sign test p = 1"]
    assert _paired_lines({"alphax": {"samples_to_optimum": [1, None]},
                          "k": {"algo": "alphax", "samples_to_optimum": [2, None]}}) == []  # one pair: no spread
    # too few common finds to pair, but one of them found it where the other did not: 3 of 3 fewer, p = 2 / 8
    assert _paired_lines({"alphax": {"samples_to_optimum": [3, None, None, None]},
                          "k": {"algo": "alphax", "samples_to_optimum": [2, 3, 9, None]}}) == [
        "paired by seed:", "  k - alphax: both found it on 1 seed, too few to pair; only k found it on 2 seeds",
        "    over the seeds where they differ, a find counting as fewer samples than a miss: fewer on 3, more on 0, "
        "sign test p = 0.25"]
    # two variants, two sign tests read together: each p beside its Holm adjustment (p = 1 and 2 / 32; the
    # smaller doubled, 0.125, the larger capped at 1)
    lines = _paired_lines({"alphax": {"samples_to_optimum": [100, 200, 300, None, 50]},
                           "size": {"algo": "alphax", "samples_to_optimum": [80, 150, 320, 90, None]},
                           "k": {"algo": "alphax", "samples_to_optimum": [1, 2, 3, 4, 5]}})
    assert lines[0] == "paired by seed (p adjusted for the 2 tests by Holm's method):" and len(lines) == 5
    assert lines[2].endswith("fewer on 3, more on 2, sign test p = 1, adjusted 1")
    assert lines[4].endswith("fewer on 5, more on 0, sign test p = 0.062, adjusted 0.12")


def test_holm_adjusts_p_values_read_together_step_down():
    """Holm's method, checked by hand: the k-th smallest of m p-values times m - k + 1, never below the one
    before it, capped at 1, each in its own place."""
    from alphax.report import holm

    assert holm([0.01, 0.04, 0.03, 0.2]) == pytest.approx([0.04, 0.09, 0.09, 0.2])    # 0.04 * 2 < 0.03 * 3
    assert holm([0.6, 0.6]) == pytest.approx([1.0, 1.0])
    assert holm([0.05]) == pytest.approx([0.05]) and len(holm([])) == 0


def test_the_report_ranks_each_algorithm_against_the_first_counting_misses():
    """Seeds of two algorithms are not paired, and a mean over the finds hides the misses: each entry is
    ranked against the comparison's first, a miss after every find, with the share of seed pairs in which
    the first needed fewer and the Mann-Whitney p-value (both checked by hand here)."""
    from alphax.report import _rank_lines

    # alphax before random in all 4 pairs (a miss is later than 3); no ties: exact p = 2 * P(U = 0) = 2 / 6
    assert _rank_lines({"alphax": {"samples_to_optimum": [1, 2]},
                        "random": {"algo": "random", "samples_to_optimum": [3, None]}}) == [
        "against alphax, by rank (a miss ranked after every find; ties count half; Mann-Whitney, two-sided):",
        "  random: alphax needed fewer in 100% of seed pairs (p = 0.33; 2 and 2 seeds)"]
    # two misses tie (half a pair), a find beats a miss, 1 < 2: (0.5 + 0 + 1 + 1) / 4
    lines = _rank_lines({"evolution": {"samples_to_optimum": [None, 1]},
                         "random": {"samples_to_optimum": [None, 2]},
                         "size": {"algo": "evolution", "samples_to_optimum": [1, 1]},      # paired instead
                         "none": {"algo": "alphax", "samples_to_optimum": [None, None]}})
    # two tests read together, so each p has its Holm adjustment beside it (scipy's exact p: 1 and 0.617;
    # the smaller doubled, then capped at 1, and the larger no smaller than it)
    assert lines == [
        "against evolution, by rank (a miss ranked after every find; ties count half; Mann-Whitney, two-sided; p "
        "adjusted for the 2 tests by Holm's method):",
        "  random: evolution needed fewer in 62.5% of seed pairs (p = 1, adjusted 1; 2 and 2 seeds)",
        "  none: evolution needed fewer in 75% of seed pairs (p = 0.62, adjusted 1; 2 and 2 seeds)"]
    # nothing to rank: one entry, or none of its seeds found it on either side, or only a variant of the first
    assert _rank_lines({"alphax": {"samples_to_optimum": [1]}}) == []
    assert _rank_lines({"alphax": {"samples_to_optimum": [None]}, "random": {"samples_to_optimum": [None]}}) == []
    assert _rank_lines({"size": {"algo": "alphax", "samples_to_optimum": [1]},
                        "alphax": {"algo": "alphax", "samples_to_optimum": [2]}}) == []


def test_a_comparison_continued_under_other_software_says_so_once_not_once_per_run(tmp_path):
    """After an upgrade, every run of a continued comparison restores a checkpoint written under the old
    software: the console says so once (the command's own warning), not once per run; each run's log.txt
    keeps its own line. Under other software here means a torch that says it is 2.99.0."""
    import subprocess
    import sys

    upgraded = tmp_path / "upgraded.py"
    upgraded.write_text("import sys\nfrom alphax import environment\nreal = environment.software\n"
                        "environment.software = lambda: {**real(), 'torch': '2.99.0'}\n"
                        "from alphax.cli import console_main\nsys.exit(console_main(sys.argv[1:]))\n")
    out = tmp_path / "cmp"
    args = ["compare", "--space", "nasbench201", "--algos", "alphax,random", "--seeds", "2", "--no-progress",
            "--out", str(out)]

    def compare(*extra, script=None):
        cmd = [sys.executable, *([str(script)] if script else ["-m", "alphax.cli"]), *args, *extra]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stderr

    compare("--budget", "6")
    for jobs in ("2", "1"):                      # runs in worker processes, and in the command's own
        budget = "8" if jobs == "2" else "12"
        err = compare("--budget", budget, "--jobs", jobs, script=upgraded)
        warned = [line for line in err.splitlines() if "other software" in line]
        assert len(warned) == 1 and "runs of this comparison continue from checkpoints written under other " \
            "software or another CPU: torch " in warned[0] and "(now 2.99.0)" in warned[0], err
        if jobs == "2":
            err = compare("--budget", "10")      # back on this software: said once again
            assert sum("other software" in line for line in err.splitlines()) == 1, err
    for run in sorted((out / "runs").iterdir()):
        assert (run / "log.txt").read_text().count("was written under other software") == 3, run
