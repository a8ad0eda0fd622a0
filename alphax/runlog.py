"""The append-only results log of a run: ``results.jsonl``, one JSON object per unique evaluated cell.

Each line is written, flushed and fsynced before the searcher hears of the result, so a run killed at any
moment keeps every result it wrote. A process killed in the middle of a write leaves a *torn* last line
(not valid JSON, or not the next complete row): reading tolerates it (it is dropped, with a warning), and
the first append cuts it off, so the next result starts on a fresh line (a resume that fails before writing
leaves it). A last line that is the next complete row but lacks its newline (an editor dropped it) is a
result: it is kept, and the next append ends it first. A bad line anywhere else is corruption and a
:class:`~alphax.errors.DataError`.

Fields: ``n`` (1, 2, ...), ``hash``, ``matrix``, ``ops``, ``accuracy`` (the observed reward, null when the
evaluation failed), ``predicted`` (the meta-DNN's estimate when proposed, or null), ``seconds``,
``worker``; plus ``error`` (null or the failure), ``info`` (the evaluator's extra fields), ``dispatch``
(``inline`` or ``mpi``: how the run produced it) and ``time`` (Unix seconds when it was recorded; absent in
logs written before it existed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from alphax.atomic import naming, open_in_place
from alphax.errors import AlphaXError, DataError

__all__ = ["RESULTS", "PREDICTOR", "FIELDS", "read_results", "read_predictor", "open_predictor", "check_cells",
           "row_values", "rows_digest", "best_so_far", "running_best", "finite_number", "RunLog"]

log = logging.getLogger(__name__)

RESULTS = "results.jsonl"
PREDICTOR = "predictor.jsonl"
"""The meta-DNN's ranking quality over the run, one JSON object per refit (``index``, ``n``, ``tau``, ...)."""
FIELDS = ("n", "hash", "matrix", "ops", "accuracy", "predicted", "seconds", "worker")


_CORRUPT = "; the log is corrupt: restore it from a copy, or keep the folder aside and start a new run"


def finite_number(value) -> bool:
    """``value`` is a number a log may hold: an int or a float (not a bool), neither NaN nor infinite, nor an
    int past a float's range (JSON writes NaN, Infinity and any int, which readers then cannot use)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= sys.float_info.max


def _row_problem(row: dict) -> str | None:
    """What is wrong with a complete row's types (``hash`` text, ``accuracy`` present; it and ``predicted`` finite
    numbers or null, an accuracy in [0, 1]), or None: what the code reading a log relies on, checked
    once here."""
    if not isinstance(row.get("hash"), str):
        return f"has hash={row.get('hash')!r}, not text"
    if "accuracy" not in row:
        return "has no accuracy (null where the evaluation failed)"
    for key in ("accuracy", "predicted", "time"):
        value = row.get(key)
        if value is not None and not finite_number(value):
            return f"has {key}={value!r}, not a number or null"
    acc = row.get("accuracy")
    if acc is not None and not 0 <= acc <= 1:
        return f"has accuracy={acc!r}, outside [0, 1]"
    return None


def _scan(path: Path) -> tuple[list[dict], int, int]:
    """``(rows, size of the intact prefix in bytes, bytes of torn tail)``."""
    data = path.read_bytes()
    rows: list[dict] = []
    offset = 0
    lines = data.split(b"\n")
    for i, raw in enumerate(lines):
        last = i == len(lines) - 1
        if last and raw == b"":
            break
        try:
            row = json.loads(raw)
            if not isinstance(row, dict):
                raise ValueError("not an object")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:     # RecursionError: nested too deep
            if last:               # the last line without its newline: a torn write
                return rows, offset, len(raw)
            raise DataError(f"{path}: line {i + 1} is not a JSON object ({exc}){_CORRUPT}") from None
        expected = len(rows) + 1
        if last:                   # valid JSON without its newline: the whole row if it is the next one
            if row.get("n") != expected or _row_problem(row):
                return rows, offset, len(raw)                       # else a torn write, dropped
            rows.append(row)       # a complete result (an editor dropped the newline, or a write split there)
            return rows, offset + len(raw), 0
        if row.get("n") != expected:
            raise DataError(f"{path}: line {i + 1} has n={row.get('n')!r}, expected {expected}{_CORRUPT}")
        problem = _row_problem(row)
        if problem:
            raise DataError(f"{path}: line {i + 1} {problem}{_CORRUPT}")
        rows.append(row)
        offset += len(raw) + 1
    return rows, offset, 0


def _digest_line(row: dict) -> bytes:
    """What :meth:`RunLog.digest` covers of a row: its number, cell and observed accuracy."""
    return f"{row['n']}\t{row['hash']}\t{json.dumps(row.get('accuracy'))}\n".encode()


def rows_digest(rows: list[dict]) -> str:
    """MD5 of what defines ``rows`` as results (``n``, ``hash``, ``accuracy``): a checkpoint notes it of the
    rows it was written after, so that a resume finds one edited since (the checkpoint's own state was
    made from the rows as they were)."""
    digest = hashlib.md5()
    for row in rows:
        digest.update(_digest_line(row))
    return digest.hexdigest()


def check_cells(space, rows: list[dict], path: str | os.PathLike) -> None:
    """Every row's cell (``matrix``, ``ops``) is a cell of ``space`` (an :class:`alphax.spaces.SearchSpace`),
    written as a run writes it, and is the cell of the row's ``hash``: a checkpoint's digest of the log
    covers each row's hash and accuracy, not its cell, which a replay tells the searcher and a report
    draws. A :class:`DataError` naming the line of ``path`` (the log) otherwise; the rows' own types are
    checked when the log is read."""
    for row in rows:
        where = f"{path}: line {row['n']}"
        try:
            cell = space.from_json(row)
        except (AlphaXError, ValueError, TypeError, KeyError, IndexError) as exc:
            # the space's message ends with advice for a cell typed on the command line: left out here
            problem = str(exc).split("; ")[0] if isinstance(exc, AlphaXError) else f"{type(exc).__name__}: {exc}"
            raise DataError(f"{where} holds no valid cell ({problem}){_ALTERED}") from None
        if space.hash(cell) != row["hash"]:
            raise DataError(f"{where}: its matrix and ops are not the cell of its hash {row['hash']} (they are "
                            f"{space.hash(cell)}){_ALTERED}")
        differ = [k for k, v in space.to_json(cell).items() if row.get(k) != v]
        if differ:          # the same cell, written otherwise: a run writes one form, and its log was edited
            raise DataError(f"{where}: its {' and '.join(differ)} {'are' if len(differ) > 1 else 'is'} not "
                            f"written as the run writes its cell {row['hash']}{_ALTERED}")


_ALTERED = "; the results log has been altered: restore it from a copy, or keep the folder aside and start a new run"


def row_values(rows: list[dict], value: Callable[[dict], float | None] | None = None) -> np.ndarray:
    """Per row, the value a search is judged by: ``value(row)`` for a successful row (default: its
    observed ``accuracy``; e.g. the cell's mean over training seeds, where the optimum is defined by
    means), NaN for a failed one. Shape ``(len(rows),)``."""
    return np.array([np.nan if r.get("accuracy") is None else (r["accuracy"] if value is None else value(r))
                     for r in rows], dtype=float)


def best_so_far(rows: list[dict], budget: int | None = None, *,
                value: Callable[[dict], float | None] | None = None) -> np.ndarray:
    """Best reward after each of the first ``budget`` rows (all of them by default): failed ones count
    as samples; NaN before the first success; the last value carried on when the rows end before
    ``budget``; the values are :func:`row_values`'s. Shape ``(budget,)``."""
    budget = len(rows) if budget is None else budget
    return running_best(row_values(rows[:budget], value), budget)


def running_best(values: np.ndarray, budget: int | None = None) -> np.ndarray:
    """:func:`best_so_far` of values already computed (:func:`row_values`, NaN for a failure)."""
    budget = len(values) if budget is None else budget
    acc = np.asarray(values, dtype=float)[:budget]
    out = np.full(budget, np.nan)
    if len(acc):
        filled = np.where(np.isnan(acc), -np.inf, acc)
        curve = np.maximum.accumulate(filled)
        curve[np.isinf(curve)] = np.nan
        out[:len(curve)] = curve
        out[len(curve):] = curve[-1]
    return out


def read_results(path: str | os.PathLike) -> list[dict]:
    """The complete rows of a results log (a torn last line is dropped with a warning); [] if absent."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS
    if not path.exists():
        return []
    rows, _, torn = _scan(path)
    if torn:
        log.warning("%s: ignoring a torn last line (%d bytes) left by an interrupted write", path, torn)
    return rows


def read_predictor(folder: str | os.PathLike) -> tuple[list[dict], int]:
    """The entries (JSON objects) of ``folder``'s ``predictor.jsonl``, and how many lines could not be read
    and were skipped (a torn last line after a kill, a damaged one; read as bytes, so a line that is not
    UTF-8 is one of them). ``([], 0)`` without the file."""
    path = Path(folder) / PREDICTOR
    if not path.is_file():
        return [], 0
    rows, skipped = [], 0
    for line in path.read_bytes().splitlines():
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):          # JSONDecodeError, UnicodeDecodeError
            row = None
        if isinstance(row, dict):
            rows.append(row)
        elif line.strip():
            skipped += 1
    return rows, skipped


def open_predictor(folder: str | os.PathLike):
    """``folder``'s ``predictor.jsonl``, opened to append entries (text). A last line without its newline
    is ended first if it is a whole entry (a JSON object, as :func:`read_predictor` counts it), else cut
    off (torn by a kill, it is no entry: the run writes that entry again), so that the next entry starts a
    line of its own instead of joining it, and both being lost."""
    path = Path(folder) / PREDICTOR
    data = path.read_bytes() if path.is_file() else b""
    if data and not data.endswith(b"\n"):
        start = data.rfind(b"\n") + 1
        try:
            whole = isinstance(json.loads(data[start:]), dict)
        except (ValueError, RecursionError):          # JSONDecodeError, UnicodeDecodeError
            whole = False
        with naming(path), open_in_place(path, "r+b") as f:
            if whole:
                f.seek(0, os.SEEK_END)
                f.write(b"\n")
            else:
                f.truncate(start)
                log.warning("%s: cut off a torn last line (%d bytes)", path, len(data) - start)
    return open_in_place(path, "a", encoding="utf-8")


class RunLog:
    """Appends rows to ``results.jsonl``; each :meth:`append` is flushed and fsynced."""

    def __init__(self, path: str | os.PathLike, *, create: bool = True):
        """``create``: make the file now if it is missing (a new run); otherwise at the first append (a
        resume, which leaves the folder as it was if it fails)."""
        self.path = Path(path)
        self.rows: list[dict] = []
        self._cut: tuple[int, int] | None = None   # (intact size, torn bytes): cut off at the first append
        self._unended = False                       # the last row lacks its newline: written before the next
        if self.path.exists():
            self.rows, good, torn = _scan(self.path)
            if not torn and good > 0:
                with open(self.path, "rb") as f:
                    f.seek(good - 1)
                    self._unended = f.read(1) != b"\n"
            if torn:
                log.warning("%s: ignoring a torn last line (%d bytes) left by an interrupted write; it is cut "
                            "off when the next result is written", self.path, torn)
                self._cut = (good, torn)
        elif create:
            self.path.touch()
        self._file = None
        self._digest = hashlib.md5()
        for row in self.rows:
            self._digest.update(_digest_line(row))

    def digest(self) -> str:
        """:func:`rows_digest` of every row (kept up to date as rows are appended)."""
        return self._digest.hexdigest()

    def _open(self):
        """The file, opened for appending at the first :meth:`append`: only a run that goes on writes to
        the log, so a resume that fails (a bad option, a corrupt checkpoint) leaves it as it was."""
        if self._cut is not None:
            good, torn = self._cut
            with open_in_place(self.path, "r+b") as f:
                f.truncate(good)
                f.flush()
                os.fsync(f.fileno())
            log.warning("%s: cut off the torn last line (%d bytes)", self.path, torn)
            self._cut = None
        self._file = open_in_place(self.path, "a", encoding="utf-8")
        return self._file

    def __len__(self) -> int:
        return len(self.rows)

    def append(self, row: dict) -> None:
        """Write ``row`` (its ``n`` must be the next number) as one durable line."""
        if row.get("n") != len(self.rows) + 1:
            raise ValueError(f"row n={row.get('n')!r}, expected {len(self.rows) + 1}")
        f = self._file or self._open()
        with naming(self.path):
            f.write(("\n" if self._unended else "") + json.dumps(row, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self._unended = False
        self.rows.append(row)
        self._digest.update(_digest_line(row))

    def close(self) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()

    def __enter__(self) -> "RunLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
