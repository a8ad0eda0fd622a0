"""NASBench-101 offline, with the official ``nasbench.api.NASBench`` semantics and no TensorFlow.

``query(cell)`` returns one recorded training repeat, drawn at random, under the official field names;
it checks the budget first, then the cell (``OutOfDomainError`` outside the space or without data), and
adds the returned training time and the epochs to the budget counters (half the epochs with
``stop_halfway``, like the official API). A value the data does not hold is ``None``, never invented; a
missing training time adds nothing to the time counter.

Differences from the official API, all deliberate: the repeat is drawn from an ``np.random.Generator``
(the data set's own, seeded by ``seed``, or the ``rng`` passed to ``query``) among the repeats actually
recorded (one in the real subset), not ``random.randint(0, 2)``; a cell without data raises
``OutOfDomainError`` rather than ``KeyError``; an unknown op is refused wherever it is (the official
``ModelSpec`` checks ops only after pruning, so it accepts one on a vertex that pruning removes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Set
from pathlib import Path
from typing import Iterator

import numpy as np

from alphax.errors import ConfigError, DataError, OutOfDomainError
from alphax.nasbench.formats import load_table
from alphax.nasbench.paths import resolve_data_path
from alphax.nasbench.table import METRICS, OP_OF, POINTS, Table, cell_problem
from alphax.spec import CellSpec, check_in_space

__all__ = ["NASBench101", "HashSet", "QUERY_FIELDS"]

log = logging.getLogger(__name__)

QUERY_FIELDS = ("module_adjacency", "module_operations", "trainable_parameters") + METRICS
"""Keys of a query result, as in the official API."""
_HALF, _FINAL = POINTS.index("halfway"), POINTS.index("final")


class HashSet(Set):
    """The read-only set of module hashes (``str``) with data; iterates in the data file's order."""

    def __init__(self, index: dict[bytes, int], hashes: np.ndarray):
        self._index, self._hashes = index, hashes

    def __contains__(self, h: object) -> bool:
        return isinstance(h, str) and h.encode("ascii", "replace") in self._index

    def __iter__(self) -> Iterator[str]:
        return (h.decode("ascii") for h in self._hashes.tolist())

    def __len__(self) -> int:
        return len(self._hashes)


def _none_if_nan(x: float) -> float | None:
    return None if x != x else x


def _as_spec(spec) -> CellSpec:
    """``spec`` as a :class:`CellSpec` (objects with ``matrix`` and ``ops``, like nasbench's ModelSpec, too)."""
    if isinstance(spec, CellSpec):
        return spec
    if hasattr(spec, "matrix") and hasattr(spec, "ops"):
        return CellSpec(getattr(spec, "original_matrix", spec.matrix), getattr(spec, "original_ops", spec.ops))
    raise TypeError(f"expected a CellSpec (or an object with .matrix and .ops), got {type(spec).__name__}")


class NASBench101:
    """The NASBench-101 data set read from any supported file, queried like the official API.

    ``dataset_file``: an official ``.tfrecord``, the real-subset ``.jsonl.gz`` or a compact ``.nb101``
    file, or a folder holding one (``None``: found by :func:`~alphax.nasbench.paths.resolve_data_path`).
    ``seed`` seeds the generator that picks the repeat in :meth:`query`.
    """

    def __init__(self, dataset_file: str | os.PathLike | None = None, seed: int | None = None):
        self.path: Path = resolve_data_path(dataset_file)
        table, self.format = load_table(self.path)
        self._init_table(table, seed=seed)
        log.debug("NASBench-101: %d cells, budgets %s, from %s", len(self), sorted(self.valid_epochs), self.path)

    @classmethod
    def from_table(cls, table: Table, *, seed: int | None = None, path: str | os.PathLike = "<memory>",
                   format: str = "table") -> "NASBench101":
        """A data set over an in-memory :class:`Table` (tests, conversions), checked as a file's is: pruned
        cells of the space with plausible metrics (:class:`~alphax.errors.DataError` otherwise)."""
        problem = cell_problem(table)
        if problem:
            raise DataError(f"{path}: {problem}")
        self = cls.__new__(cls)
        self.path, self.format = Path(path), format
        self._init_table(table, seed=seed)
        return self

    def _init_table(self, table: Table, *, seed: int | None) -> None:
        self.table = table
        self._index: dict[bytes, int] = dict(zip(table.hashes.tolist(), range(len(table))))
        self._epoch_index: dict[int, int] = {int(e): k for k, e in enumerate(table.epochs.tolist())}
        self._num_vertices = table.num_vertices
        self._matrices, self._labels, self._metrics = table.matrices, table.labels, table.metrics
        self._repeats = table.repeats
        self._params = table.params
        self._num_epochs, self._num_repeats = table.metrics.shape[1], table.metrics.shape[2]
        self._rows = table.metrics.reshape(-1, len(METRICS))  # (N * E * R * 2, 4), a view
        self._fixed_cache: dict[int, tuple[np.ndarray, tuple[str, ...], int | None]] = {}
        self._ops_of_labels: dict[bytes, tuple[str, ...]] = {}  # padded label row -> ops (a few hundred)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ConfigError(f"the query seed must be an integer >= 0 (or None for a random one), got {seed!r}")
        self.rng = np.random.default_rng(seed)
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    # -- the official API ------------------------------------------------------------------------

    @property
    def valid_epochs(self) -> frozenset[int]:
        """The epoch budgets present ({4, 12, 36, 108} in the full data set, {108} in only108)."""
        return frozenset(self._epoch_index)

    @property
    def hashes(self) -> HashSet:
        """The set of module hashes with data."""
        return HashSet(self._index, self.table.hashes)

    def __len__(self) -> int:
        return len(self._index)

    def hash_iterator(self) -> Iterator[str]:
        """Iterator over every module hash with data (file order)."""
        return iter(self.hashes)

    def is_valid(self, spec) -> bool:
        """True if ``spec`` is in the NASBench-101 space (does not touch the budget counters)."""
        try:
            check_in_space(_as_spec(spec))
        except OutOfDomainError:
            return False
        return True

    def query(self, spec, epochs: int = 108, stop_halfway: bool = False, *,
              rng: np.random.Generator | None = None) -> dict:
        """One recorded training repeat of ``spec`` at ``epochs``, chosen at random; updates the counters.

        Returns the official keys :data:`QUERY_FIELDS` (``module_adjacency`` an int8 array of the stored
        cell, ``module_operations`` its ops). Raises :class:`OutOfDomainError` for a budget not in the data,
        a cell outside the space, or a cell without data.
        """
        e = self._epoch_index.get(epochs)
        if e is None:
            raise OutOfDomainError(f"invalid number of epochs {epochs!r}, must be one of "
                                   f"{sorted(self._epoch_index)}")
        if not isinstance(spec, CellSpec):
            spec = _as_spec(spec)
        i = self._index.get(spec.hash.encode("ascii")) if spec.valid_spec else None
        if i is None:
            i = self._lookup(spec)  # raises the precise OutOfDomainError
        n = self._repeats.item(i, e)
        if n == 0:
            raise OutOfDomainError(f"cell {self._hash(i)} has no data at {epochs} epochs")
        # One draw of the generator per query of a cell with several repeats (floor of U[0,1) * n).
        r = int((rng or self.rng).random() * n) if n > 1 else 0
        row = ((i * self._num_epochs + e) * self._num_repeats + r) * 2 + (_HALF if stop_halfway else _FINAL)
        time_, train, valid, test = self._rows[row].tolist()
        fixed = self._fixed_cache.get(i) or self._cache_fixed(i)
        data = {
            "module_adjacency": fixed[0].copy(),
            "module_operations": list(fixed[1]),
            "trainable_parameters": fixed[2],
            "training_time": None if time_ != time_ else time_,
            "train_accuracy": None if train != train else train,
            "validation_accuracy": None if valid != valid else valid,
            "test_accuracy": None if test != test else test,
        }
        if time_ == time_:
            self.training_time_spent += time_
        self.total_epochs_spent += epochs // 2 if stop_halfway else epochs
        return data

    def get_budget_counters(self) -> tuple[float, int]:
        """``(training time spent, epochs spent)`` by :meth:`query` since the last reset."""
        return self.training_time_spent, self.total_epochs_spent

    def reset_budget_counters(self) -> None:
        """Set both budget counters to zero."""
        self.training_time_spent = 0.0
        self.total_epochs_spent = 0

    def get_metrics_from_hash(self, module_hash: str) -> tuple[dict, dict]:
        """``(fixed, computed)`` for a hash, like the official API (no budget counted).

        ``fixed``: ``module_adjacency``, ``module_operations``, ``trainable_parameters``. ``computed``:
        epochs -> one dict per recorded repeat with ``halfway_*`` and ``final_*`` metrics (None: not recorded).
        """
        i = self._hash_index(module_hash)
        return self._fixed(i), self._computed(i)

    def get_metrics_from_spec(self, spec) -> tuple[dict, dict]:
        """:meth:`get_metrics_from_hash` of a cell (raises OutOfDomainError outside the space or without data)."""
        i = self._lookup(spec)
        return self._fixed(i), self._computed(i)

    # -- beyond the official API -----------------------------------------------------------------

    def spec_of(self, module_hash: str) -> CellSpec:
        """The stored cell of a hash as a :class:`CellSpec` (with that hash, as :meth:`cells_with` gives it)."""
        return self._specs(np.array([self._hash_index(module_hash)]))[0]

    def _specs(self, rows: np.ndarray) -> list[CellSpec]:
        """The stored cells of ``rows``, built in bulk with their stored hashes (:meth:`CellSpec.trusted`: a
        table's cells are pruned cells of the space, checked when it was read or given to
        :meth:`from_table`; all 423,624 in about 3 s instead of 10, ``benchmarks/bench_official.py``)."""
        matrices = self._matrices[rows].astype(np.int64)
        hashes, labels = self.table.hashes[rows].tolist(), self._labels[rows]
        return [CellSpec.trusted(matrices[r, :v, :v].copy(), list(self._ops(labels[r], v)), hashes[r].decode("ascii"))
                for r, v in enumerate(self._num_vertices[rows].tolist())]

    def _ops(self, label_row: np.ndarray, v: int) -> tuple[str, ...]:
        """The op names of a cell's padded label row (``v`` vertices), kept for the next cell with that row."""
        key = label_row.tobytes()
        ops = self._ops_of_labels.get(key)
        if ops is None:
            ops = self._ops_of_labels[key] = tuple(OP_OF[x] for x in label_row[:v].tolist())
        return ops

    def _rows_with(self, epochs: int, metric: str) -> np.ndarray:
        """The rows (file order) whose every recorded repeat at ``epochs`` holds the final ``metric``."""
        e = self._epoch_index.get(epochs)
        if e is None:
            return np.zeros(0, np.int64)
        n = self._repeats[:, e].astype(np.int64)
        values = self._metrics[:, e, :, _FINAL, METRICS.index(metric)]  # (N, R)
        missing = np.isnan(values) & (np.arange(self._num_repeats) < n[:, None])
        return np.flatnonzero((n > 0) & ~missing.any(axis=1))

    def hashes_with(self, epochs: int = 108, metric: str = "validation_accuracy") -> list[str]:
        """The hashes (file order) whose every recorded repeat at ``epochs`` holds the final ``metric``: the
        cells a :meth:`query` at that budget always answers with it. Empty for a budget not in the data."""
        return [h.decode("ascii") for h in self.table.hashes[self._rows_with(epochs, metric)].tolist()]

    def cells_with(self, epochs: int = 108, metric: str = "validation_accuracy") -> list[CellSpec]:
        """:meth:`spec_of` of each of :meth:`hashes_with`, in the same order, built in bulk."""
        return self._specs(self._rows_with(epochs, metric))

    def mean_metric(self, module_hash: str, epochs: int = 108, metric: str = "validation_accuracy") -> float | None:
        """The final ``metric`` of ``module_hash`` at ``epochs``, averaged over its recorded training repeats
        (None where a repeat lacks it, or for a budget or cell without data): what NASBench-101's paper
        measures regret in, while a :meth:`query` returns one repeat."""
        e = self._epoch_index.get(epochs)
        i = self._hash_index(module_hash)
        n = int(self._repeats[i, e]) if e is not None else 0
        if n == 0:
            return None
        mean = float(self._metrics[i, e, :n, _FINAL, METRICS.index(metric)].mean())
        return None if mean != mean else mean

    def best_mean(self, epochs: int = 108, metric: str = "validation_accuracy") -> tuple[str, float] | None:
        """``(hash, value)`` of the cell with the highest :meth:`mean_metric` (the first in file order on a
        tie), or None where no cell has one; over the whole table at once."""
        e = self._epoch_index.get(epochs)
        if e is None or not len(self):
            return None
        n = self._repeats[:, e].astype(np.int64)
        means = np.full(len(self), np.nan)
        for k in np.unique(n[n > 0]).tolist():          # each count of repeats as mean_metric averages it
            rows = np.flatnonzero(n == k)
            means[rows] = self._metrics[rows, e, :k, _FINAL, METRICS.index(metric)].mean(axis=1)
        if np.isnan(means).all():
            return None
        best = self._hash(int(np.nanargmax(means)))
        return best, self.mean_metric(best, epochs, metric)

    def max_repeats(self, epochs: int = 108) -> int:
        """The most training repeats any cell has at ``epochs`` (NASBench-101's files: 3; the subset: 1)."""
        e = self._epoch_index.get(epochs)
        return int(self._repeats[:, e].max()) if e is not None and len(self) else 0

    def info(self) -> dict:
        """Summary: path, format, cells, epochs, fields (with data at any budget), fields by budget, repeats."""
        by_epochs = self.table.fields()
        fields = [f for f in (*QUERY_FIELDS, *("halfway_" + m for m in METRICS))
                  if any(f in names for names in by_epochs.values())]
        max_rep = {str(e): int(self._repeats[:, k].max()) if len(self) else 0
                   for k, e in enumerate(self.table.epochs.tolist())}
        return {"path": str(self.path), "format": self.format, "cells": len(self),
                "epochs": sorted(self._epoch_index), "fields": fields,
                "fields_by_epochs": {str(e): names for e, names in by_epochs.items()}, "repeats": max_rep}

    def _hash_index(self, module_hash: str) -> int:
        i = self._index.get(module_hash.encode("ascii", "replace")) if isinstance(module_hash, str) else None
        if i is None:
            raise OutOfDomainError(f"no data for module hash {module_hash!r}")
        return i

    def _hash(self, i: int) -> str:
        return self.table.hashes[i].decode("ascii")

    def _lookup(self, spec) -> int:
        """Index of ``spec``'s data; OutOfDomainError outside the space or without data."""
        spec = _as_spec(spec)
        if not spec.valid_spec:
            raise OutOfDomainError("invalid cell: input and output are disconnected")
        i = self._index.get(spec.hash.encode("ascii"))
        if i is None:
            check_in_space(spec)  # the precise reason when it is outside the space
            raise OutOfDomainError(f"no data for cell {spec.hash} in {self.path} (it is a valid cell; the file "
                                   f"holds {len(self)} of the 423,624)")
        return i

    def _cache_fixed(self, i: int) -> tuple[np.ndarray, tuple[str, ...], int | None]:
        """(stored matrix, ops, parameters) of cell ``i``, kept for later queries of the same cell."""
        v = self._num_vertices.item(i)
        ops = self._ops(self._labels[i], v)
        params = self._params.item(i)
        entry = (self._matrices[i, :v, :v], ops, params if params >= 0 else None)  # a view; query copies it
        self._fixed_cache[i] = entry
        return entry

    def _fixed(self, i: int) -> dict:
        v = int(self._num_vertices[i])
        params = int(self._params[i])
        return {"module_adjacency": self._matrices[i, :v, :v].copy(),
                "module_operations": list(self._ops(self._labels[i], v)),
                "trainable_parameters": params if params >= 0 else None}

    def _computed(self, i: int) -> dict[int, list[dict]]:
        out = {}
        for e, epochs in enumerate(self.table.epochs.tolist()):
            runs = []
            for r in range(int(self._repeats[i, e])):
                half, final = self._metrics[i, e, r].tolist()
                run = {"halfway_" + m: _none_if_nan(x) for m, x in zip(METRICS, half)}
                run.update({"final_" + m: _none_if_nan(x) for m, x in zip(METRICS, final)})
                runs.append(run)
            if runs:
                out[int(epochs)] = runs
        return out

    def __repr__(self) -> str:
        return f"NASBench101({str(self.path)!r}, cells={len(self)}, epochs={sorted(self._epoch_index)})"
