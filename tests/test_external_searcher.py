"""A searcher of your own (``--algo FILE.py:CLASS``, ``MODULE:CLASS``): run, resumed, compared, refused.

The searcher is ``docs/examples/local_search.py``, the example README points to, so the example is tested.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from alphax.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "docs" / "examples" / "local_search.py"
LOCAL = f"{EXAMPLE}:LocalSearch"
NB201 = ["--space", "nasbench201", "--dataset", "cifar10", "--no-progress"]


def hashes(folder: Path) -> list[str]:
    return [json.loads(line)["hash"] for line in (folder / "results.jsonl").read_text().splitlines()]


def test_a_searcher_of_your_own_runs_resumes_as_if_uninterrupted_and_only_when_named(tmp_path, run_cli):
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    proc = run_cli("search", *NB201, "--algo", LOCAL, "--budget", 60, "--seed", 3, "--out", whole)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "optimum of the data set" in proc.stdout
    # named by a relative path: recorded absolute, so that a resume from elsewhere finds it
    proc = run_cli("search", *NB201, "--algo", "examples/local_search.py:LocalSearch", "--option", "warmup=10",
                   "--budget", 25, "--seed", 3, "--checkpoint-every", 7, "--out", parts, cwd=REPO / "docs")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((parts / "config.json").read_text())["algo"] == LOCAL

    before = (parts / "results.jsonl").read_bytes()
    proc = run_cli("search", "--resume", parts, "--budget", 60)            # its code runs: it must be named
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"searches with a searcher of your own, {LOCAL}: resuming it imports and runs that code, so name it: " \
           f"--algo {LOCAL} with --resume" in proc.stderr
    proc = run_cli("search", "--resume", parts, "--budget", 60, "--algo", "random")
    assert proc.returncode == 1 and "--algo with --resume may only name that searcher again" in proc.stderr
    assert (parts / "results.jsonl").read_bytes() == before
    assert "resume of" in (parts / "log.txt").read_text()

    # restored from its checkpoint at n=21 (its module's classes unpickled), the last 4 results replayed
    proc = run_cli("search", "--resume", parts, "--budget", 60, "--algo", LOCAL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert hashes(parts) == hashes(whole) and len(set(hashes(whole))) == 60


def test_a_searcher_of_your_own_is_compared_under_its_name(tmp_path, run_cli):
    out = tmp_path / "cmp"
    proc = run_cli("compare", *NB201, "--algos", f"random,local={LOCAL}", "--option", "local.warmup=5",
                   "--seeds", 2, "--budget", 40, "--out", out, "--jobs", 2)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["algorithms"]) == {"random", "local"}
    assert sorted(p.name for p in (out / "runs").iterdir()) == ["local-seed0", "local-seed1", "random-seed0",
                                                                 "random-seed1"]
    assert len(set(hashes(out / "runs" / "local-seed1"))) == 40
    # extended: its runs resume (the command names the searcher again)
    proc = run_cli("compare", *NB201, "--algos", f"random,local={LOCAL}", "--option", "local.warmup=5",
                   "--seeds", 2, "--budget", 50, "--out", out, "--jobs", 1)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(hashes(out / "runs" / "local-seed0")) == 50
    proc = run_cli("compare", *NB201, "--algos", f"random,{LOCAL}", "--seeds", 2, "--budget", 50, "--out", out)
    assert proc.returncode == 1 and f"name your searcher, NAME={LOCAL}" in proc.stderr


BROKEN = {
    "no_class.py": ("from alphax.searchers import RandomSearch as Mine\n", "Other",
                    "has no Other; its searchers: Mine"),
    "not_a_searcher.py": ("class Other:\n    pass\n", "Other", "Other is not a searcher; subclass "
                                                               "alphax.searchers.base.Searcher"),
    "raises.py": ("x = 1\ny = x / 0\n", "Other", "raises.py failed (ZeroDivisionError: division by zero at "),
    "bad_syntax.py": ("def (:\n", "Other", "bad_syntax.py failed (SyntaxError: invalid syntax at "),
    "exits.py": ("import sys\nsys.exit('usage: exits.py ARGS')\n", "Other",
                 "exits.py failed (SystemExit: usage: exits.py ARGS at "),
}


def test_a_searcher_that_cannot_be_had_is_one_clear_line_and_writes_nothing(tmp_path, run_cli):
    from alphax.config import SearchConfig
    from alphax.searchers import searcher_class

    for name, (text, cls, message) in BROKEN.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(ConfigError, match="^--algo .*" + message.replace("(", r"\(")):
            searcher_class(SearchConfig(algo=f"{tmp_path / name}:{cls}").algo)
    for algo, message in ((f"{tmp_path}/missing.py:C", f"there is no file {tmp_path}/missing.py"),
                          ("no_such_module_here:C", "there is no module no_such_module_here"),
                          ("x.py:1C", "'1C' is not a class name"), ("a b:C", "neither a .py file nor a module")):
        with pytest.raises(ConfigError, match=message):
            searcher_class(SearchConfig(algo=algo).algo)

    out = tmp_path / "run"
    proc = run_cli("search", *NB201, "--algo", f"{tmp_path / 'raises.py'}:Other", "--out", out)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "division by zero" in proc.stderr
    assert not out.exists()
    proc = run_cli("search", *NB201, "--algo", "nope")
    assert proc.returncode == 2 and "invalid choice: 'nope' (choose from alphax, random, evolution, or a searcher " \
                                    "of your own: FILE.py:CLASS or MODULE:CLASS)" in proc.stderr


def test_a_module_on_the_path_names_a_searcher_and_two_files_of_one_name_are_told_apart(tmp_path, monkeypatch):
    from alphax.searchers import external, searcher_class

    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "search.py").write_text(EXAMPLE.read_text())
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = searcher_class("mypkg.search:LocalSearch")
    assert cls.__module__ == "mypkg.search" and external.trusted("mypkg.search", "LocalSearch")
    # only the classes the module defines: not what it imported (a checkpoint naming them is refused)
    assert not external.trusted("mypkg.search", "CandidateSet") and not external.trusted("mypkg.search", "np")
    assert not external.trusted("mypkg.search", "np.random") and not external.trusted("mypkg", "LocalSearch")
    with pytest.raises(ConfigError, match=r"importing mypkg.missing failed \(ModuleNotFoundError"):
        (pkg / "missing.py").write_text("import surely_not_installed_anywhere\n")
        searcher_class("mypkg.missing:C")

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same_name_searcher.py").write_text(EXAMPLE.read_text())
    searcher_class(f"{tmp_path / 'a' / 'same_name_searcher.py'}:LocalSearch")
    with pytest.raises(ConfigError, match="a searcher file named same_name_searcher.py .* is imported already"):
        searcher_class(f"{tmp_path / 'b' / 'same_name_searcher.py'}:LocalSearch")
    monkeypatch.delitem(sys.modules, "alphax_user_same_name_searcher")


BREAKS_THE_RULE = '''
from alphax.searchers.base import Proposal
import sys
sys.path.insert(0, {folder!r})
from local_search import LocalSearch


class Twice(LocalSearch):
    """Proposes its first cell again at the third proposal."""

    def _ask(self, n):
        self.asked = getattr(self, "asked", [])
        out = [Proposal(self.asked[0])] if len(self.asked) == 2 else super()._ask(n)
        self.asked += [p.cell for p in out]
        return out


class Anywhere(LocalSearch):
    """Proposes random cells of the space, with or without data."""

    def _ask(self, n):
        return [Proposal(self.space.random_cell(self.rng)) for _ in range(n)]
'''


def test_a_searcher_that_proposes_a_cell_twice_or_off_the_table_is_stopped_before_it_is_evaluated(tmp_path, run_cli):
    from conftest import require_data

    path = tmp_path / "rule_breakers.py"
    path.write_text(BREAKS_THE_RULE.format(folder=str(EXAMPLE.parent)))
    out = tmp_path / "twice"
    proc = run_cli("search", *NB201, "--algo", f"{path}:Twice", "--budget", 10, "--out", out)
    last = proc.stderr.splitlines()[-1]          # after the run's INFO lines: the error, in one line
    assert proc.returncode == 1 and last.startswith("alphax: error: "), proc.stderr
    assert f"{path}:Twice proposed cell " in last and "which this run has evaluated or proposed already" in last
    assert len(hashes(out)) == 2
    data = require_data("a searcher off the table") / "nb101_real_subset.jsonl.gz"
    proc = run_cli("search", "--space", "nasbench101", "--data", data, "--algo", f"{path}:Anywhere", "--budget", 50,
                   "--out", tmp_path / "anywhere", "--no-progress")
    assert proc.returncode == 1 and "which is not one of the 20001 cells the evaluator can evaluate" in proc.stderr
    assert len(hashes(tmp_path / "anywhere")) < 50


def test_a_checkpoint_rebuilds_a_searcher_s_own_classes_only_once_the_command_line_named_it(tmp_path, run_cli):
    """A run folder from elsewhere names its searcher file: loading its checkpoint in a process that was not
    told to run that searcher refuses the pickle, as any other program's objects."""
    from alphax.checkpoint import read_checkpoint
    from alphax.config import SearchConfig
    from alphax.registry import build
    from alphax.searchers import searcher_class

    path = tmp_path / "only_here.py"
    path.write_text(EXAMPLE.read_text())
    out = tmp_path / "run"
    proc = run_cli("search", *NB201, "--algo", f"{path}:LocalSearch", "--budget", 5, "--out", out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cells = build(SearchConfig(space="nasbench201"))[1]().candidates()       # the checkpoint's shared objects
    with pytest.raises(Exception, match="it refers to alphax_user_only_here.LocalSearch, which no run's state holds"):
        read_checkpoint(out / "checkpoint.pkl", shared=cells)
    searcher_class(f"{path}:LocalSearch")
    try:
        assert type(read_checkpoint(out / "checkpoint.pkl", shared=cells)["searcher"]).__name__ == "LocalSearch"
    finally:
        del sys.modules["alphax_user_only_here"]
    assert os.path.isabs(json.loads((out / "config.json").read_text())["algo"])


ODD_SEARCHERS = '''
from alphax.candidates import CandidateSet
from alphax.searchers.base import Proposal, Searcher


class NanPredicted(Searcher):
    """Random search whose predictions are NaN, then infinite (a model without an estimate yet)."""

    def __init__(self, space, *, rng, candidates=None):
        self.space, self.rng, self.pool = space, rng, CandidateSet(space, candidates)

    def _ask(self, n):
        out = []
        for _ in range(n):
            cell = self.pool.random(self.rng)
            self.pool.mark(cell)
            out.append(Proposal(cell, float("nan") if len(self.pool.proposed) % 2 else float("inf")))
        return out

    def _tell(self, cell, result):
        self.pool.mark(cell)


class NoPool(Searcher):
    """The candidates in a shuffled order, with its own bookkeeping instead of a CandidateSet."""

    def __init__(self, space, *, rng, candidates=None):
        self.space, self.cells = space, list(candidates)
        self.order = rng.permutation(len(self.cells)).tolist()

    def _ask(self, n):
        return [Proposal(self.cells[self.order.pop()]) for _ in range(min(n, len(self.order)))]

    def _tell(self, cell, result):
        pass


class PlainCells(NoPool):
    """Returns cells, not Proposals."""

    def _ask(self, n):
        return [p.cell for p in super()._ask(n)]


class Single(NoPool):
    """Returns a Proposal, not a list of them."""

    def _ask(self, n):
        return super()._ask(n)[0]


class Generator(NoPool):
    """Returns a generator of Proposals."""

    def _ask(self, n):
        return (p for p in super()._ask(n))


class Unpicklable(NoPool):
    """Keeps a lambda: its state cannot be pickled for a checkpoint."""

    def _ask(self, n):
        self.f = lambda: 1
        return super()._ask(n)


class NotACell(NoPool):
    """Proposes text."""

    def _ask(self, n):
        return [Proposal("a cell, surely")]
'''


def test_odd_searchers_of_your_own_log_runs_that_resume_and_report_or_stop_in_one_line(tmp_path, run_cli):
    """Found by a bug hunt (2026-12-07): a searcher's NaN prediction was written to results.jsonl, which the
    run then called corrupt (it could not be resumed or reported); a searcher without self.pool ran, and its
    every resume was an AttributeError traceback; one whose _ask returned bare cells, one Proposal, a
    generator, or text for a cell, a traceback: one line now, before anything is evaluated; a searcher
    whose state does not pickle, a chained double traceback: one line, the results kept."""
    path = tmp_path / "odd.py"
    path.write_text(ODD_SEARCHERS)
    for name in ("NanPredicted", "NoPool"):
        out = tmp_path / name
        proc = run_cli("search", *NB201, "--algo", f"{path}:{name}", "--budget", 5, "--out", out)
        assert proc.returncode == 0, proc.stderr
        proc = run_cli("search", "--resume", out, "--algo", f"{path}:{name}", "--budget", 8, "--no-progress")
        assert proc.returncode == 0, proc.stderr
        rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        assert len({r["hash"] for r in rows}) == 8 and all(r["predicted"] is None for r in rows)
        assert run_cli("report", out).returncode == 0
    log_txt = (tmp_path / "NanPredicted" / "log.txt").read_text()
    assert "the searcher's prediction for cell " in log_txt and "is nan, not a finite number: logged as null" in log_txt
    assert "is inf, not a finite number: logged as null" in log_txt
    proc = run_cli("search", *NB201, "--algo", f"{path}:PlainCells", "--budget", 5, "--out", tmp_path / "plain")
    last = proc.stderr.splitlines()[-1]
    assert proc.returncode == 1 and last == (f"alphax: error: {path}:PlainCells's _ask returned a NB201Cell, not a "
                                             f"Proposal: return a list of alphax.searchers.base.Proposal(cell, "
                                             f"predicted)"), proc.stderr
    assert (tmp_path / "plain" / "results.jsonl").read_text() == ""
    way = "return a list of alphax.searchers.base.Proposal(cell, predicted)"
    for name, said in (("Single", f"{path}:Single's _ask returned a Proposal, not a list: {way}"),
                       ("Generator", f"{path}:Generator's _ask returned a generator, not a list: {way}"),
                       ("NotACell", f"{path}:NotACell proposed str 'a cell, surely', which is not a cell of the "
                                    f"nasbench201 space (")):
        proc = run_cli("search", *NB201, "--algo", f"{path}:{name}", "--budget", 5, "--out", tmp_path / name)
        last = proc.stderr.splitlines()[-1]
        assert proc.returncode == 1 and last.startswith(f"alphax: error: {said}"), proc.stderr
        assert (tmp_path / name / "results.jsonl").read_text() == ""
    proc = run_cli("search", *NB201, "--algo", f"{path}:Unpicklable", "--budget", 5, "--out", tmp_path / "unpicklable")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.splitlines()[-1].startswith("alphax: error: the run's state cannot be pickled for its "
                                                   "checkpoint (AttributeError: Can't pickle local object")
    assert len(hashes(tmp_path / "unpicklable")) == 5
