"""alphax.environment: what a run records of the software and machine it ran on."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

from alphax import environment

ROOT = Path(__file__).resolve().parent.parent


def test_software_names_this_python_and_the_installed_versions():
    info = environment.software()
    assert info["python"] == platform.python_version()
    import numpy
    import torch

    assert info["numpy"] == numpy.__version__ and info["torch"] == torch.__version__
    assert info["alphax"]                # installed (.ci/run and the README install it) as alphax-nas
    line = environment.describe(info)
    assert line.startswith(f"alphax-nas {info['alphax']}") and f"Python {info['python']}" in line
    assert f"torch {info['torch']}" in line and f"on {info['platform']}" in line


def test_torch_s_version_names_its_build_where_its_metadata_does_not(tmp_path, monkeypatch):
    """PyPI's torch wheels for Linux say 2.13.0 in their metadata and 2.13.0+cu130 in ``torch.__version__``
    (torch/version.py, read without importing torch): the record names the CUDA build. A version file of
    another release (left over, say) is not believed; without one, the metadata's version stands."""
    class Dist:
        version = "2.13.0"

        def locate_file(self, path):
            return tmp_path / path

    monkeypatch.setattr(environment.metadata, "distribution", lambda name: Dist())
    (tmp_path / "torch").mkdir()
    version_file = tmp_path / "torch" / "version.py"
    version_file.write_text("from typing import Optional\n\n__version__ = '2.13.0+cu130'\n"
                            "cuda: Optional[str] = '13.0'\n")
    assert environment._version("torch") == "2.13.0+cu130"
    assert environment._version("numpy") == "2.13.0"          # other packages: their metadata's
    version_file.write_text("__version__ = '2.1.0+cu118'\n")
    assert environment._version("torch") == "2.13.0"
    version_file.unlink()
    assert environment._version("torch") == "2.13.0"


def _git(repo: Path, *args: str) -> str:
    # (safe.directory: git refuses a checkout another user owns, as the tests' may be; our reading does not)
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t", "-c", "safe.directory=*",
                           *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def test_the_commit_is_the_checkout_s_and_none_outside_one(tmp_path):
    assert environment._commit(tmp_path) is None            # no .git: an install from a wheel
    if (ROOT / ".git").exists():                             # (not when the tests run from an unpacked sdist)
        assert environment._commit(ROOT) == _git(ROOT, "rev-parse", "HEAD")[:12]


def test_the_commit_is_read_from_a_branch_a_packed_ref_a_detached_head_and_a_worktree(tmp_path):
    """Read from git's files, as ``git rev-parse HEAD`` gives it, in each way a checkout may hold it."""
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for i in range(2):
        (repo / "a.py").write_text(f"x = {i}\n")
        _git(repo, "add", "a.py")
        _git(repo, "commit", "-qm", f"c{i}")
    head = lambda where: _git(where, "rev-parse", "HEAD")[:12]      # noqa: E731
    assert environment._commit(repo) == head(repo)                  # a branch, as a loose ref
    _git(repo, "pack-refs", "--all")
    assert not any((repo / ".git" / "refs" / "heads").iterdir())
    assert environment._commit(repo) == head(repo)                  # the branch in packed-refs
    tip = head(repo)
    _git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert environment._commit(repo) == head(repo) != tip           # a detached HEAD: the commit itself
    _git(repo, "worktree", "add", "-q", "-b", "other", str(tmp_path / "tree"))
    assert environment._commit(tmp_path / "tree") == head(tmp_path / "tree")       # .git is a file
    (repo / ".git" / "HEAD").write_text("garbage\n")
    assert environment._commit(repo) is None


def test_differences_compare_only_what_both_sides_know():
    before = {"alphax": "0.1.0", "python": "3.10.13", "torch": "2.5.0", "numpy": None, "cpu": "A"}
    now = {"alphax": "0.1.0", "python": "3.11.7", "torch": "2.13.0", "numpy": "2.4.6", "cpu": "B"}
    assert environment.differences(before, now) == ["python 3.10.13 (now 3.11.7)", "torch 2.5.0 (now 2.13.0)",
                                                    "cpu A (now B)"]
    assert environment.differences(before, now, keys=("torch",), now_is="server:") == ["torch 2.5.0 (server: 2.13.0)"]
    assert environment.differences({}, now) == [] and environment.differences(now, dict(now)) == []
    # a torch recorded from its metadata alone (PyPI's CUDA wheels, before torch/version.py was read) names no
    # build: the same version of any build is not a difference; two builds named are
    assert environment.differences({"torch": "2.13.0"}, {"torch": "2.13.0+cu130"}) == []
    assert environment.differences({"torch": "2.13.0+cu130"}, {"torch": "2.13.0"}, keys=("torch",)) == []
    assert environment.differences({"torch": "2.13.0+cpu"}, {"torch": "2.13.0+cu130"}) == [
        "torch 2.13.0+cpu (now 2.13.0+cu130)"]
    assert environment.differences({"torch": "2.12.0"}, {"torch": "2.13.0+cu130"}) == ["torch 2.12.0 (now 2.13.0+cu130)"]
    assert environment.differences({"python": "3.12.1"}, {"python": "3.12.1+"}) == ["python 3.12.1 (now 3.12.1+)"]


def test_finding_it_out_starts_no_process():
    """A child process would count in what ``alphax compare``'s memory benchmark measures of its workers
    (``platform.platform()`` runs ``uname -p``; git is read from its files)."""
    code = ("import resource; from alphax import environment; environment.software(); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out.strip() == "0"


def test_alphax_version_prints_the_software_line_and_exits_0(run_cli):
    proc = run_cli("--version", timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout == environment.describe(environment.software()) + "\n"
    assert proc.stdout.startswith("alphax-nas ") and f"Python {platform.python_version()}," in proc.stdout


def test_each_call_gives_its_own_dict():
    first = environment.software()
    first["torch"] = "edited by a caller"
    assert environment.software()["torch"] != "edited by a caller"
