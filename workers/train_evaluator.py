"""Evaluating a cell by training it on CIFAR-10 (NASBench-101's protocol), behind the Evaluator interface.

The same evaluator serves ``alphax search --evaluator train`` (inline, one process) and the MPI clients
(``run_client.py --evaluator train``). CIFAR-10 is loaded once, at construction; a missing or malformed
folder is a :class:`~alphax.errors.DataError` then, not a failed result per cell.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alphax.searchers.base import Result
from alphax.spec import CellSpec
from workers.cifar import VALIDATION_SIZE, load_cifar10
from workers.evaluators import Evaluator
from workers.training import TrainConfig, train_cell

__all__ = ["TrainEvaluator"]

log = logging.getLogger(__name__)


class TrainEvaluator(Evaluator):
    """``evaluate(cell)`` trains ``cell`` from scratch and returns its validation accuracy as the reward,
    with test accuracy, training time and parameter count in ``info`` (see :func:`train_cell`)."""

    name = "train"

    def __init__(self, cifar_dir: str | Path, config: TrainConfig = TrainConfig(), *,
                 validation_size: int = VALIDATION_SIZE):
        self.config = config
        self.data = load_cifar10(cifar_dir, validation_size=validation_size)
        log.info("CIFAR-10 from %s: %d train, %d validation, %d test images", cifar_dir,
                 len(self.data.train), len(self.data.valid), len(self.data.test))

    def evaluate(self, cell: CellSpec) -> Result:
        return train_cell(cell, self.data, self.config)

    def candidates(self) -> None:
        """Training can evaluate any cell of the space: no candidate list."""
        return None
