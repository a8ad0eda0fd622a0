"""The evaluator interface, and the table look-up evaluators (NASBench-101, NAS-Bench-201).

An evaluator turns a cell into a :class:`~alphax.searchers.base.Result`. The same object serves the inline
run loop (``alphax search``) and the MPI clients (``run_client.py``). Table randomness is *stateless*: the
recorded training repeat returned for a cell is drawn from ``np.random.default_rng([seed, cell_key(hash)])``,
so a cell has the same reward whatever the order in which cells are evaluated, on whichever client, and
nothing about an evaluator needs saving in a checkpoint.

No torch or mpi4py here: the training evaluator lives in ``workers.train_evaluator``.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from alphax.errors import DataError
from alphax.searchers.base import Result

__all__ = ["Evaluator", "TableEvaluator", "NASBench201TableEvaluator", "cell_key"]

log = logging.getLogger(__name__)


def cell_key(cell_hash: str) -> int:
    """A non-negative 60-bit integer derived from a cell's hash (seeds its table draw)."""
    return int(hashlib.md5(cell_hash.encode()).hexdigest()[:15], 16)


class Evaluator(ABC):
    """``evaluate(cell) -> Result``; ``candidates()`` lists the cells it can evaluate (None: any)."""

    name: str = "evaluator"

    @abstractmethod
    def evaluate(self, cell: Any) -> Result:
        """Evaluate one cell. An error may be raised: the caller records it as a failed result."""

    def candidates(self) -> list | None:
        """The cells with data (a table), or None when any cell of the space can be evaluated."""
        return None

    def optimum(self) -> tuple[str, float] | None:
        """``(hash, reward)`` of the best cell this evaluator can return, when it is known (a table)."""
        return None

    def values_digest(self) -> str | None:
        """A digest of what :meth:`evaluate` gives every candidate cell (reward and seconds, in candidate
        order; computed once): two tables with the same cells and other results differ here, and the MPI
        server refuses a client whose table is not the run's. None without candidates."""
        if getattr(self, "_values_digest", None) is None:
            cells = self.candidates()
            if cells is None:
                return None
            digest = hashlib.md5()
            for cell in cells:
                result = self.evaluate(cell)
                digest.update(struct.pack("<dd", np.nan if result.accuracy is None else result.accuracy,
                                          result.seconds))
            self._values_digest = digest.hexdigest()
        return self._values_digest

    reference_name: str | None = None
    """What :meth:`reference_value` is, in words (``"mean over training seeds"``), where it is not None."""

    def reference_value(self, cell_hash: str) -> float | None:
        """The value in which the optimum and regret are measured for the cell ``cell_hash``, where it is
        not the observed reward (NAS-Bench-201: the cell's mean over its training seeds, while each
        evaluation observes one seed). None: the observed reward is that value."""
        return None

    def describe(self) -> str:
        """What evaluates, in a few words, for the logs (the MPI server's line for each client): its
        :attr:`name`; the training evaluator adds the device it trains on."""
        return self.name

    def device_id(self) -> str | None:
        """Which GPU it evaluates on (:func:`workers.training.device_uuid`), sent with an MPI client's
        ``Ready`` so that the server warns of two clients sharing one; None (the default) for a table
        or the CPU."""
        return None

    def close(self) -> None:
        """Release resources (nothing by default)."""


class TableEvaluator(Evaluator):
    """NASBench-101 look-up: the reward is the 108-epoch ``validation_accuracy`` of one recorded training
    repeat, drawn from ``default_rng([seed, cell_key(hash)])``; ``seconds`` is the recorded training time.

    ``table`` is an :class:`alphax.nasbench.api.NASBench101` (``query``, ``cells_with``, ``best_mean``,
    ``mean_metric``).
    """

    name = "table"
    reference_name = "mean over training repeats"

    def __init__(self, table, *, seed: int = 0, epochs: int = 108):
        self.table, self.seed, self.epochs = table, int(seed), int(epochs)
        self._cells: list | None = None
        self._optimum: tuple[str, float] | None = None
        self._repeated: bool | None = None

    def reseeded(self, seed: int) -> "TableEvaluator":
        """This evaluator with another eval seed (another repeat drawn per cell), sharing the loaded table,
        its list of cells and its optimum (neither depends on the seed): a comparison's runs, each with
        its own seed, hold the table once per process, not once per seed."""
        other = type(self)(self.table, seed=seed, epochs=self.epochs)
        other._cells, other._optimum, other._repeated = self.candidates(), self._optimum, self._repeated
        return other

    @classmethod
    def from_path(cls, path: str | None = None, *, seed: int = 0, epochs: int = 108) -> "TableEvaluator":
        """Load the table at ``path`` (or the one :func:`alphax.nasbench.paths.resolve_data_path` finds)."""
        from alphax.nasbench.api import NASBench101
        from alphax.nasbench.paths import resolve_data_path

        return cls(NASBench101(resolve_data_path(path), seed=seed), seed=seed, epochs=epochs)

    def _rng(self, cell_hash: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, cell_key(cell_hash)])

    def query(self, cell) -> dict:
        """The table's record for ``cell`` (the repeat this evaluator always returns for it)."""
        return self.table.query(cell, epochs=self.epochs, rng=self._rng(cell.hash))

    def evaluate(self, cell) -> Result:
        rec = self.query(cell)
        acc = rec.get("validation_accuracy")
        if acc is None:
            raise DataError(f"cell {cell.hash} has no {self.epochs}-epoch validation accuracy in the table")
        seconds = float(rec.get("training_time") or 0.0)
        info = {k: rec[k] for k in ("training_time", "trainable_parameters", "test_accuracy")
                if rec.get(k) is not None}
        return Result(accuracy=float(acc), seconds=seconds, worker="table", info=info)

    def candidates(self) -> list:
        """The stored cell of every hash with a validation accuracy at the evaluator's budget, in file order."""
        if self._cells is None:
            self._cells = self.table.cells_with(self.epochs)
        return self._cells

    @property
    def repeated(self) -> bool:
        """Whether some cell has several training repeats at the budget (the official files: 3), of which
        each evaluation observes one (computed once: it reads every cell's count)."""
        if self._repeated is None:
            self._repeated = self.table.max_repeats(self.epochs) > 1
        return self._repeated

    def reference_value(self, cell_hash: str) -> float | None:
        """On a table with several training repeats per cell, the cell's mean validation accuracy over
        them: the value the optimum is defined by (as NASBench-101's paper measures regret), where each
        evaluation observes one repeat (the seeds of ``alphax compare`` each another one). None with one
        repeat per cell (the subset): the observed reward is that value."""
        return self.table.mean_metric(cell_hash, self.epochs) if self.repeated else None

    def optimum(self) -> tuple[str, float]:
        """The best reward among the cells with data (each cell's reward as :meth:`evaluate` returns it),
        or with several repeats per cell the best mean over them (:meth:`reference_value`)."""
        if self._optimum is None:
            # with one repeat per cell, the mean over a cell's repeats is the value evaluate() observes
            best = self.table.best_mean(self.epochs)
            if best is None:
                raise DataError("the table has no cell with a validation accuracy")
            self._optimum = best
        return self._optimum


class NASBench201TableEvaluator(Evaluator):
    """NAS-Bench-201 look-up: the reward is one training seed's 200-epoch validation accuracy, drawn from
    ``default_rng([seed, cell_key(arch)])``. The optimum is the data set's: the best *mean* over seeds.

    ``data`` is an :class:`alphax.nasbench201.NASBench201`.
    """

    name = "table"
    reference_name = "mean over training seeds"

    def __init__(self, data, *, seed: int = 0):
        self.data, self.seed = data, int(seed)

    def evaluate(self, cell) -> Result:
        rec = self.data.query(cell, rng=np.random.default_rng([self.seed, cell_key(cell.arch)]))
        return Result(accuracy=rec["validation_accuracy"], seconds=rec["training_time"], worker="table",
                      info={"training_time": rec["training_time"], "trial": rec["trial"],
                            "model_size": rec["model_size"], "latency": rec["latency"]})

    def candidates(self) -> list:
        return list(self.data.cells)

    def optimum(self) -> tuple[str, float]:
        """The cell with the best *mean* validation accuracy, and that mean."""
        cell, acc = self.data.optimum
        return cell.arch, float(acc)

    def reference_value(self, cell_hash: str) -> float:
        """The cell's mean validation accuracy over its training seeds (``cell_hash``: its architecture
        string), the value the optimum is defined by."""
        from alphax.spaces.nasbench201 import parse_arch_string

        return self.data.mean(parse_arch_string(cell_hash))
