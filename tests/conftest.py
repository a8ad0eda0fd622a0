"""Shared fixtures: the real NASBench-101 files from ../shared (missing data fails under CI=true)."""

from __future__ import annotations

import gzip
import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SUBSET = "nb101_real_subset.jsonl.gz"
FULL_RECORDS = "nb101_full_records.json"


def in_ci() -> bool:
    """True under CI (``CI=true``, as CI services set it): missing data is then an error, not a skip."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def shared_file(name: str = SUBSET) -> Path:
    """A file of the NASBench-101 data folder, found the way the program finds it
    (:func:`alphax.nasbench.paths.resolve_data_path`: ``$ALPHAX_NASBENCH101``, then ``../shared``).
    A test failure under CI, a skip elsewhere, when it is missing."""
    from alphax.errors import DataError
    from alphax.nasbench.paths import resolve_data_path

    try:
        found = resolve_data_path()
        candidate = found if found.name == name else found.parent / name
        if not candidate.is_file():
            raise DataError(f"{name} is not beside {found}")
        return candidate
    except DataError as exc:
        msg = f"NASBench-101 data missing: {exc}"
        if in_ci():
            pytest.fail(msg)
        pytest.skip(msg)


def require_data(what: str) -> Path:
    """The NASBench-101 data folder holding the real subset (see :func:`shared_file`)."""
    return shared_file(SUBSET).parent


@pytest.fixture(scope="session")
def nb101_dir() -> Path:
    return require_data("nb101_dir")


@pytest.fixture(scope="session")
def subset_rows(nb101_dir) -> list[dict]:
    with gzip.open(nb101_dir / SUBSET, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="session")
def full_records(nb101_dir) -> list[dict]:
    with open(shared_file(FULL_RECORDS), encoding="utf-8") as f:
        return json.load(f)["records"]


@pytest.fixture
def run_cli():
    """Run ``python -m alphax.cli ARGS`` in a subprocess; returns the CompletedProcess."""
    import subprocess

    def run(*args, timeout=300, **kw):
        return subprocess.run([sys.executable, "-m", "alphax.cli", *map(str, args)], capture_output=True,
                              text=True, timeout=timeout, **kw)

    return run


@pytest.fixture
def run_benchmark():
    """Run ``benchmarks/NAME ARGS`` in a subprocess, which must succeed; returns the JSON lines it printed
    (each benchmark ends with one; ``open_mode.py`` prints one per mode)."""
    import subprocess

    def run(name, *args, timeout=300) -> list[dict]:
        script = Path(__file__).resolve().parents[1] / "benchmarks" / name
        proc = subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True,
                              timeout=timeout)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]

    return run


@pytest.fixture(scope="session", autouse=True)
def _fresh_enumeration_cache(tmp_path_factory):
    """Every process of the session (the tests' subprocesses and MPI jobs too) enumerates NASBench-101
    into one fresh cache, once: a training search's pool is the whole space (``SearchSpace.all_cells``).
    The tests never use, or write, the user's own cache. Under pytest-xdist (``-n``, as ``.ci/run`` runs the
    suite) the workers share one, in the run's common temporary folder: ``load_enumeration`` lets one
    process at a time enumerate, so the first test to need the space computes it and any other waits for
    its file."""
    shared = os.environ.get("PYTEST_XDIST_WORKER") and tmp_path_factory.getbasetemp().parent   # pytest-N
    os.environ["ALPHAX_CACHE_DIR"] = str(shared / "alphax-cache" if shared else tmp_path_factory.mktemp("alphax-cache"))


@pytest.fixture(scope="session")
def enumeration_cache():
    """The whole space, enumerated once per test session into the session's fresh cache: ``(Enumeration, path)``."""
    from alphax.enumerate import default_cache_path, load_enumeration

    return load_enumeration(), default_cache_path()
