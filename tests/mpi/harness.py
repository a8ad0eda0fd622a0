"""Run ``mpiexec`` in a subprocess with a timeout; on timeout every process of the job is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MPIEXEC = Path(sys.executable).with_name("mpiexec")


def require_mpi() -> None:
    """mpich (which brings ``mpiexec``) and mpi4py are dependencies of the project: missing is a failure."""
    if not MPIEXEC.exists():
        pytest.fail(f"no mpiexec next to {sys.executable}: install the project with pip (it brings mpich)")
    import mpi4py  # noqa: F401


def mpiexec(*parts: tuple[int, list], timeout: float = 120, keep_alive: bool = True,
            env: dict | None = None) -> subprocess.CompletedProcess:
    """``mpiexec [-disable-auto-cleanup] -n N1 python ARGS1 : -n N2 python ARGS2 ...`` from the repo root."""
    proc = start(*parts, keep_alive=keep_alive, env=env)
    out = wait(proc, timeout, "mpiexec did not end")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "")


def start(*parts: tuple[int, list], keep_alive: bool = True, env: dict | None = None) -> subprocess.Popen:
    """Start ``mpiexec`` in its own process group (stop it with :func:`kill`)."""
    cmd = [str(MPIEXEC)] + (["-disable-auto-cleanup"] if keep_alive else [])
    for i, (n, args) in enumerate(parts):
        cmd += ([":"] if i else []) + ["-n", str(n), sys.executable, *map(str, args)]
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=full_env, start_new_session=True)


def kill(proc: subprocess.Popen) -> str:
    """SIGKILL every process of the job (mpiexec, proxies, ranks); returns its output."""
    _kill_job(proc)
    out, _ = proc.communicate(timeout=30)
    return out


def wait(proc: subprocess.Popen, timeout: float, what: str = "the job did not end") -> str:
    """The output of the job started by :func:`start` once it ends; a test failure saying ``what`` (and
    the job killed) if it is still running after ``timeout`` seconds."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        out = kill(proc)
        pytest.fail(f"{what} within {timeout:g} s:\n{out[-3000:]}")
    return out


def _kill_job(proc: subprocess.Popen) -> None:
    """SIGKILL mpiexec and its descendants, and delete the hwloc topology files they hold open
    (``/tmp/hydra_hwloc_xmlfile_*``: hydra deletes them when it exits normally, not when killed). Hydra
    starts its proxies and the ranks in sessions of their own, out of mpiexec's process group."""
    job = [proc.pid, *_descendants(proc)]
    held = topology_files(proc, job)
    for pid in job:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for path in held:
        Path(path).unlink(missing_ok=True)


def topology_files(proc: subprocess.Popen, job: list[int] | None = None) -> set[str]:
    """The hwloc topology files that the job's processes (mpiexec's Hydra proxy) hold open."""
    from workers.protocol import hydra_topology_files

    return {path for pid in (job or [proc.pid, *_descendants(proc)]) for path in hydra_topology_files(pid)}


def _descendants(proc: subprocess.Popen) -> dict[int, list[str]]:
    """``{pid: command line}`` of the processes descended from the job's mpiexec."""
    parent, cmd = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        pid = int(entry.name)
        parent[pid] = int(stat[stat.rindex(")") + 2:].split()[1])    # fields after "(comm)": state ppid ...
        cmd[pid] = [a.decode(errors="replace") for a in args if a]
    def descends(pid: int) -> bool:
        while pid > 1:
            pid = parent.get(pid, 0)
            if pid == proc.pid:
                return True
        return False
    return {p: args for p, args in cmd.items() if descends(p)}


def pids(proc: subprocess.Popen, needle: str) -> list[int]:
    """The Python processes of the job started by :func:`start` (descendants of its mpiexec) whose
    command line holds ``needle``."""
    return sorted(p for p, args in _descendants(proc).items() if args and Path(args[0]).name.startswith("python")
                  and any(needle in a for a in args))


def catches(pid: int, signum: int) -> bool:
    """Whether process ``pid`` has a handler installed for ``signum`` (``SigCgt`` in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    mask = next(int(line.split()[1], 16) for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(mask >> (signum - 1) & 1)
