"""Where the NASBench-101 data is: the one place that looks for it.

Order: an explicit path (``--data``), else ``$ALPHAX_NASBENCH101``, else ``../shared/data/nasbench101``
relative to the current directory, then relative to the repository root. A directory resolves to the best
file inside it: the project's compact file, else the official ``nasbench_only108.tfrecord`` /
``nasbench_full.tfrecord``, else the real subset ``nb101_real_subset.jsonl.gz``.
"""

from __future__ import annotations

import os
from pathlib import Path

import alphax
from alphax.errors import DataError

__all__ = ["ENV_VAR", "COMPACT_SUFFIX", "COMPACT_NAME", "DIR_CANDIDATES", "default_dirs", "default_data_path",
           "resolve_data_path"]

ENV_VAR = "ALPHAX_NASBENCH101"
COMPACT_SUFFIX = ".nb101"
"""Suffix of the project's compact file (``alphax nasbench convert``)."""
COMPACT_NAME = "nasbench101" + COMPACT_SUFFIX
"""The compact file's preferred name inside a data directory."""
DIR_CANDIDATES = (COMPACT_NAME, "nasbench_only108.tfrecord", "nasbench_full.tfrecord", "nb101_real_subset.jsonl.gz")
"""File names tried inside a data directory, best first (any other ``*.nb101`` without a note ranks after
COMPACT_NAME; several such files, and no COMPACT_NAME, are refused as ambiguous)."""
_HOW_TO_FIX = f"give the file or its folder with --data PATH or set {ENV_VAR}"
OFFICIAL_URL = "https://storage.googleapis.com/nasbench/"
"""Where google-research/nasbench publishes its data files (its README)."""


def default_dirs() -> list[Path]:
    """The default data folders, in the order they are tried (they need not exist)."""
    rel = Path("..") / "shared" / "data" / "nasbench101"
    repo_root = Path(alphax.__file__).resolve().parents[1]
    dirs = [Path(os.path.normpath(Path.cwd() / rel)), repo_root.parent / "shared" / "data" / "nasbench101"]
    return list(dict.fromkeys(dirs))              # one entry when run from the repository root


def _labelled(path: Path) -> bool:
    """A compact file written with a note (``benchmarks/bench_nasbench.py``'s speed fixture, whose metrics
    are generated): never picked from a folder; given by name, it loads with a warning."""
    from alphax.nasbench.compact import read_note

    return read_note(path) is not None


def _best_in_dir(directory: Path) -> Path | None:
    """The best data file inside ``directory``, or None."""
    first = directory / DIR_CANDIDATES[0]
    if first.is_file() and not _labelled(first):
        return first
    compact = sorted(p for p in directory.glob("*" + COMPACT_SUFFIX) if p.is_file() and not _labelled(p))
    if len(compact) > 1:             # which is meant (the full data set, a small test file) is not for us to guess
        raise DataError(f"NASBench-101 data folder {directory} holds several {COMPACT_SUFFIX} files "
                        f"({', '.join(p.name for p in compact)}) and no {COMPACT_NAME}: give the one to read with "
                        f"--data FILE (or name it {COMPACT_NAME})")
    if compact:
        return compact[0]
    for name in DIR_CANDIDATES[1:]:
        if (directory / name).is_file():
            return directory / name
    return None


def _resolve_one(path: Path, origin: str, how_to_fix: str | None = None) -> Path:
    """``path`` (a file, or a folder holding one) given by ``origin``; DataError when there is nothing."""
    how_to_fix = how_to_fix or _HOW_TO_FIX
    if path.is_file():
        return path
    if path.is_dir():
        try:
            best = _best_in_dir(path)
        except PermissionError:           # a folder that may not be listed or searched: name it, not a file in it
            raise DataError(f"NASBench-101 data folder {path} ({origin}) cannot be read (permission denied); "
                            f"make it readable, or give the data file itself") from None
        if best is None:
            raise DataError(f"no NASBench-101 data file in {path} ({origin}): looked for "
                            f"{', '.join(DIR_CANDIDATES)} or any *{COMPACT_SUFFIX}")
        return best
    if path.exists():
        raise DataError(f"NASBench-101 data {path} ({origin}) is neither a file nor a folder; {how_to_fix}")
    raise DataError(f"NASBench-101 data {path} ({origin}) does not exist; {how_to_fix}")


def resolve_data_path(path: str | os.PathLike | None = None, *, option: str = "--data") -> Path:
    """The data file to read: ``path`` if given (with ``option``, which an error names), else
    ``$ALPHAX_NASBENCH101``, else the default folders.

    Raises :class:`~alphax.errors.DataError` naming what was looked for and how to fix it.
    """
    if path is not None and str(path) != "":
        return _resolve_one(Path(path), f"given with {option}",
                            None if option == "--data" else f"give the file or its folder as {option}")
    env = os.environ.get(ENV_VAR)
    if env:
        return _resolve_one(Path(env), f"from ${ENV_VAR}")
    tried = []
    for directory in default_dirs():
        tried.append(str(directory))
        if directory.is_dir():
            best = _best_in_dir(directory)
            if best is not None:
                return best
    raise DataError(f"NASBench-101 data not found: no --data, no ${ENV_VAR}, and none of "
                    f"{', '.join(DIR_CANDIDATES)} in {' or '.join(tried)}; {_HOW_TO_FIX} (the official files: "
                    f"{OFFICIAL_URL}nasbench_only108.tfrecord, 499 MB, or nasbench_full.tfrecord, 2 GB; NAS-Bench-201 "
                    f"needs no download: --space nasbench201)")


def default_data_path() -> Path:
    """The data file used when no path is given (``$ALPHAX_NASBENCH101`` or the default folders)."""
    return resolve_data_path(None)
