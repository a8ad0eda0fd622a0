"""The in-memory NASBench-101 table shared by every file format: plain numpy arrays.

A :class:`Table` holds ``N`` cells (as the data files store them: the pruned representative), the epoch
budgets present, and for each cell, budget and training repeat the metrics at the halfway point and at the
end of training. A value the data does not hold is NaN (metrics) or -1 (trainable parameters), and the
API turns it into ``None``. :class:`TableBuilder` collects records one by one (any reader) and lays
them out at the end.
"""

from __future__ import annotations

import math
import os
import re
import stat
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from alphax.atomic import write_atomic
from alphax.errors import DataError
from alphax.spec import INPUT, MAX_EDGES, MAX_VERTICES, OPS, OUTPUT

__all__ = ["METRICS", "POINTS", "PAD_LABEL", "LABEL_OF", "OP_OF", "Table", "TableBuilder", "cell_problem",
           "atomic_write", "check_metric", "check_output"]

METRICS = ("training_time", "train_accuracy", "validation_accuracy", "test_accuracy")
"""Last axis of :attr:`Table.metrics` (the official query's metric fields)."""
POINTS = ("halfway", "final")
"""Second-to-last axis of :attr:`Table.metrics` (``evaluation_data[1]`` and ``[2]`` in the official file)."""
PAD_LABEL = -3
LABEL_OF = {INPUT: -1, OUTPUT: -2, **{op: i for i, op in enumerate(OPS)}}
"""Op name -> hash label (-1 input, -2 output, 0/1/2 interior ops)."""
OP_OF = {v: k for k, v in LABEL_OF.items()}
_DIGITS = bytes.maketrans(b"01", b"\0\1")
_HEX32 = re.compile("[0-9a-f]{32}")
_PAD_BYTE = bytes([PAD_LABEL & 0xFF])
_NAN = float("nan")


def check_metric(key: str, value, *, unset: str) -> None:
    """ValueError unless ``value`` (a file's ``key``) is a finite number or None: a file's NaN or infinity is
    refused, not read as a metric not recorded (the table's NaN). ``unset``: how the format leaves one out."""
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{key} is {value!r}: a metric is a finite number, or {unset} when not recorded")


@dataclass(frozen=True)
class Table:
    """NASBench-101 data as arrays.

    ``hashes`` (N,) ``S32``; ``num_vertices`` (N,) int8; ``matrices`` (N, 7, 7) int8, zero beyond
    ``num_vertices``; ``labels`` (N, 7) int8 hash labels, -3 beyond ``num_vertices``; ``params`` (N,) int64,
    -1 when unknown; ``epochs`` (E,) int64, increasing; ``repeats`` (N, E) int8, the number of recorded
    training repeats; ``metrics`` (N, E, R, 2, 4) float64 over (cell, budget, repeat, POINTS, METRICS),
    NaN when not recorded.
    """

    hashes: np.ndarray
    num_vertices: np.ndarray
    matrices: np.ndarray
    labels: np.ndarray
    params: np.ndarray
    epochs: np.ndarray
    repeats: np.ndarray
    metrics: np.ndarray

    def __len__(self) -> int:
        return len(self.hashes)

    def fields(self) -> dict[int, list[str]]:
        """Budget -> the query fields with at least one recorded value (``halfway_*`` for the halfway point)."""
        out: dict[int, list[str]] = {}
        for e, epochs in enumerate(self.epochs.tolist()):
            names = ["module_adjacency", "module_operations"]
            if len(self) and (self.params >= 0).any():
                names.append("trainable_parameters")
            present = ~np.isnan(self.metrics[:, e]).all(axis=(0, 1)) if len(self) else np.zeros((2, 4), bool)
            names += [m for k, m in enumerate(METRICS) if present[1, k]]
            names += ["halfway_" + m for k, m in enumerate(METRICS) if present[0, k]]
            out[int(epochs)] = names
        return out


class TableBuilder:
    """Collects records (one training repeat of one cell at one budget) and builds a :class:`Table`.

    The first record of a hash fixes its matrix, ops and parameter count (like the official API); later
    records of the same hash and budget are further repeats, in file order (of the same cell: checked).
    """

    def __init__(self) -> None:
        self._index: dict[str, int] = {}
        self._hashes: list[str] = []
        self._nv = array("b")
        self._keys = array("q")                           # per cell: hash() of its flat matrix and labels
        self._matrices = bytearray()
        self._labels = bytearray()
        self._params = array("q")
        self._cell = array("i")
        self._epochs = array("q")
        self._values = array("d")

    def __len__(self) -> int:
        return len(self._hashes)

    def add_cell(self, module_hash: str, matrix: Sequence[Sequence[int]] | str, ops: Sequence[str],
                 params: int | None) -> int:
        """Register a cell and return its index; a known hash returns its index, once its cell is checked
        to be the one its first record gave.

        ``matrix`` is V x V 0/1 or the official row-major string of V*V ``0``/``1`` characters. Raises
        ValueError for a malformed cell, or a record of a known hash with another cell (an edited or
        merged file: its results would be taken as repeats of the other cell's); the readers turn it into
        a DataError naming the file and the line.
        """
        v = len(ops)
        if isinstance(matrix, str):
            flat = matrix.encode("ascii").translate(_DIGITS)
        else:
            if any(len(row) != v for row in matrix):       # ragged rows whose total happens to be V * V
                raise ValueError(f"cell {module_hash}: adjacency rows of lengths {[len(r) for r in matrix]} for "
                                 f"{v} ops; a V x V 0/1 matrix has V rows of V entries")
            flat = bytes([x for row in matrix for x in row])
        if not 2 <= v <= MAX_VERTICES or len(flat) != v * v or flat.strip(b"\0\1"):
            raise ValueError(f"cell {module_hash}: adjacency of {len(flat)} entries for {v} ops is not a "
                             f"V x V 0/1 matrix with 2 <= V <= {MAX_VERTICES}")
        try:
            labels = bytes([LABEL_OF[op] & 0xFF for op in ops])
        except KeyError as exc:
            raise ValueError(f"cell {module_hash}: unknown op {exc.args[0]!r}") from None
        key = hash(flat + labels)                         # the cell's bytes, as a number (this process only)
        idx = self._index.get(module_hash)
        if idx is not None:
            if self._keys[idx] != key:
                raise ValueError(f"cell {module_hash}: this record's matrix and ops are not those of the "
                                 f"hash's first record (two cells under one hash: an edited or merged file)")
            return idx
        if not isinstance(module_hash, str) or not _HEX32.fullmatch(module_hash):
            raise ValueError(f"cell {module_hash!r}: a module hash is a string of 32 hex characters")
        if params is not None and (isinstance(params, bool) or not isinstance(params, (int, float, np.integer))
                                   or not float(params).is_integer()):
            raise ValueError(f"cell {module_hash}: trainable_parameters {params!r} is not a whole number")
        if params is not None and not -2 ** 63 <= params < 2 ** 63:     # (0 and below -1: refused by cell_problem)
            raise ValueError(f"cell {module_hash}: trainable_parameters {params!r} is out of range")
        idx = len(self._hashes)
        self._index[module_hash] = idx
        self._keys.append(key)
        self._hashes.append(module_hash)
        self._nv.append(v)
        pad = MAX_VERTICES - v
        for r in range(v):
            self._matrices += flat[r * v:(r + 1) * v]
            self._matrices += bytes(pad)
        self._matrices += bytes(pad * MAX_VERTICES)
        self._labels += labels
        self._labels += _PAD_BYTE * pad
        self._params.append(-1 if params is None else int(params))
        return idx

    def add_run(self, idx: int, epochs: int, halfway: Sequence[float | None],
                final: Sequence[float | None]) -> None:
        """Add one training repeat of cell ``idx`` at ``epochs``: ``halfway``/``final`` follow METRICS."""
        values = [_NAN if x is None else x for x in (*halfway, *final)]
        if len(values) != 2 * len(METRICS):
            raise ValueError(f"a run has {len(METRICS)} halfway and {len(METRICS)} final values, got {len(values)}")
        self._values.extend(values)
        self._cell.append(idx)
        self._epochs.append(int(epochs))

    def build(self) -> Table:
        """Lay the records out as a :class:`Table` (ValueError: more repeats of a cell than a table holds)."""
        n = len(self._hashes)
        cell = np.frombuffer(self._cell, np.int32) if len(self._cell) else np.zeros(0, np.int32)
        rec_epochs = np.frombuffer(self._epochs, np.int64) if len(self._epochs) else np.zeros(0, np.int64)
        values = np.frombuffer(self._values, np.float64).reshape(-1, 2, len(METRICS)) if len(self._values) \
            else np.zeros((0, 2, len(METRICS)))
        epochs, e_idx = np.unique(rec_epochs, return_inverse=True)
        # Repeat index: rank of each record among the records of the same (cell, budget), in file order.
        group = cell.astype(np.int64) * max(len(epochs), 1) + e_idx
        order = np.argsort(group, kind="stable")
        sorted_group = group[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_group)) + 1] if len(order) else np.zeros(0, np.int64)
        run_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
        rep = np.empty(len(order), np.int64)
        rep[order] = np.arange(len(order)) - run_start
        num_rep = int(rep.max()) + 1 if len(rep) else 1
        if num_rep > np.iinfo(np.int8).max:         # the repeat counts are int8 (NASBench-101 has 3 repeats)
            i = int(order[np.argmax(rep[order])])
            raise ValueError(f"cell {self._hashes[int(cell[i])]} has {num_rep} records at "
                            f"{int(rec_epochs[i])} epochs (NASBench-101 has 3 training repeats per budget; at most "
                            f"{np.iinfo(np.int8).max} are read): the file repeats its records; remove the copies")
        metrics = np.full((n, len(epochs), num_rep, 2, len(METRICS)), np.nan)
        metrics[cell, e_idx, rep] = values
        repeats = np.zeros((n, len(epochs)), np.int8)
        np.add.at(repeats, (cell, e_idx), 1)
        return Table(
            hashes=np.array(self._hashes, dtype="S32"),
            num_vertices=np.frombuffer(self._nv, np.int8).copy() if n else np.zeros(0, np.int8),
            matrices=np.frombuffer(bytes(self._matrices), np.int8).reshape(n, MAX_VERTICES, MAX_VERTICES).copy(),
            labels=np.frombuffer(bytes(self._labels), np.int8).reshape(n, MAX_VERTICES).copy(),
            params=np.frombuffer(self._params, np.int64).copy() if n else np.zeros(0, np.int64),
            epochs=epochs.astype(np.int64),
            repeats=repeats,
            metrics=metrics,
        )


def cell_problem(table: Table) -> str | None:
    """The first cell of ``table`` that is not a pruned NASBench-101 cell with plausible metrics, as
    ``"cell HASH: what"``, or None. Vectorized (the full data set in well under a second): input first and
    output last, interior ops known, a strictly upper-triangular matrix of at most 9 edges, every vertex
    on a path from input to output; accuracies in [0, 1], training times >= 0, parameter counts > 0 and
    budgets of at least one epoch where recorded."""
    n = len(table)
    if not n:
        return None
    nv = table.num_vertices.astype(np.int64)
    idx = np.arange(MAX_VERTICES)
    inside = idx[None, :] < nv[:, None]
    a = (table.matrices != 0) & inside[:, :, None] & inside[:, None, :]
    last = np.zeros((n, MAX_VERTICES), bool)
    last[np.arange(n), np.clip(nv - 1, 0, MAX_VERTICES - 1)] = True
    reach_in, reach_out = idx[None, :] == 0, last.copy()
    for _ in range(MAX_VERTICES - 1):       # vertices reachable from the input / that reach the output
        reach_in = reach_in | np.einsum("ni,nij->nj", reach_in, a)
        reach_out = reach_out | np.einsum("nij,nj->ni", a, reach_out)
    labels = table.labels
    interior = inside & (idx[None, :] > 0) & ~last
    values = table.metrics[..., [METRICS.index(m) for m in METRICS if m.endswith("accuracy")]]
    times = table.metrics[..., METRICS.index("training_time")]
    checks = (
        (~((nv >= 2) & (nv <= MAX_VERTICES)), "not 2 to 7 vertices"),
        (labels[:, 0] != LABEL_OF[INPUT], "its first vertex is not the input"),
        (labels[np.arange(n), np.clip(nv - 1, 0, MAX_VERTICES - 1)] != LABEL_OF[OUTPUT],
         "its last vertex is not the output"),
        ((interior & ~np.isin(labels, [LABEL_OF[op] for op in OPS])).any(axis=1),
         "an interior op is not a NASBench-101 op"),
        (np.tril(table.matrices != 0).any(axis=(1, 2)), "its matrix is not strictly upper-triangular"),
        (a.sum(axis=(1, 2)) > MAX_EDGES, f"more than {MAX_EDGES} edges"),
        ((inside & ~(reach_in & reach_out)).any(axis=1), "not every vertex lies on a path from input to output "
                                                          "(disconnected, or not pruned)"),
        (((values < 0) | (values > 1)).reshape(n, -1).any(axis=1), "an accuracy outside [0, 1]"),
        ((times < 0).reshape(n, -1).any(axis=1), "a negative training time"),
        (np.isinf(table.metrics).reshape(n, -1).any(axis=1), "an infinite metric"),
        ((table.params == 0) | (table.params < -1), "a trainable parameter count that is not positive"),
        ((table.repeats > 0)[:, table.epochs <= 0].any(axis=1), "a training budget of 0 or fewer epochs"),
    )
    for bad, what in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            return f"cell {table.hashes[i].decode('ascii', 'replace')}: {what}"
    return _hash_problem(table)


HASH_SAMPLE = 64
"""Cells whose stored hash :func:`cell_problem` checks against their own module hash, spread evenly over
the file (all of them would take about 20 s on the full data set)."""


def _hash_problem(table: Table) -> str | None:
    """A sampled cell whose stored hash is not its cell's module hash (another space's data, a tool that
    wrote other hashes, an edited row), as ``"cell HASH: what"``, or None."""
    from alphax.spec import CellSpec

    for i in np.unique(np.linspace(0, len(table) - 1, min(HASH_SAMPLE, len(table))).astype(np.int64)):
        v = int(table.num_vertices[i])
        ops = [OP_OF[int(x)] for x in table.labels[i, :v]]
        stored = table.hashes[i].decode("ascii", "replace")
        actual = CellSpec(table.matrices[i, :v, :v].astype(np.int64), ops).hash
        if actual != stored:
            return f"cell {stored}: its stored hash is not its cell's module hash ({actual})"
    return None


def check_output(path: Path, *, overwrite: bool) -> None:
    """Raise :class:`DataError` unless a data file may be written at ``path``: nothing there (not even a
    link to nothing), or with ``overwrite`` a file or a link (the link itself is replaced, never what it
    names); never a folder, a FIFO, a device or a socket (renamed over, ``/dev/null`` became a file)."""
    if path.is_dir():
        raise DataError(f"{path} is a folder; give the data file's name, e.g. {path / 'nasbench101.nb101'}")
    if not os.path.lexists(path):
        return
    link = " (a symbolic link)" if path.is_symlink() else ""
    if not link and not stat.S_ISREG(os.lstat(path).st_mode):
        raise DataError(f"{path} is not a regular file (a FIFO, a device or a socket), which is never replaced, "
                        f"even with --force; give another output file")
    if not overwrite:
        raise DataError(f"{path} already exists{link} (use --force to overwrite it)")


def atomic_write(path: Path, chunks: Iterable[bytes], *, overwrite: bool) -> None:
    """Write ``chunks`` to a temp file beside ``path``, fsync, then rename it over ``path``.

    Raises :class:`DataError` where :func:`check_output` does.
    """
    check_output(path, overwrite=overwrite)
    def write(f) -> None:
        for chunk in chunks:
            f.write(chunk)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, write)
    except OSError as exc:
        raise DataError(f"cannot write {path}: {exc.strerror or exc}; choose a writable location") from None
