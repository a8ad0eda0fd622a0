"""Evaluating a cell by training it on CIFAR-10 (NASBench-101's protocol), behind the Evaluator interface.

The same evaluator serves ``alphax search --evaluator train`` (inline, one process) and the MPI clients
(``run_client.py --evaluator train``). CIFAR-10 is loaded once, at construction; a missing or malformed
folder, a device this machine lacks, a batch larger than the training set or a network too large for the
device's memory is an error then, not a failed result per cell.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from alphax.errors import DataError, OutOfDomainError
from alphax.searchers.base import Result
from alphax.spec import CellSpec
from workers.cifar import VALIDATION_SIZE, load_cifar10
from workers.evaluators import Evaluator
from workers.training import (TrainConfig, check_device, check_network_size, device_name, device_uuid,
                              train_cell)

__all__ = ["TrainEvaluator"]

log = logging.getLogger(__name__)


class TrainEvaluator(Evaluator):
    """``evaluate(cell)`` trains ``cell`` from scratch and returns its validation accuracy as the reward,
    with test accuracy, training time and parameter count in ``info`` (see :func:`train_cell`)."""

    name = "train"

    def __init__(self, cifar_dir: str | Path, config: TrainConfig = TrainConfig(), *,
                 validation_size: int = VALIDATION_SIZE):
        self.config = config
        self.device = device = check_device(config.device)
        check_network_size(config, device)
        if config.device == "auto" and device.type == "cpu":
            log.warning("--device auto: no CUDA device on this machine, so cells train on the CPU (NASBench-101's "
                        "full protocol takes days per cell there); --device cpu says so and silences this")
        self.data = load_cifar10(cifar_dir, validation_size=validation_size)
        if len(self.data.train) < config.batch_size:
            raise DataError(f"the {len(self.data.train)} training images of {cifar_dir} (after the validation set) "
                            f"are fewer than one batch of {config.batch_size}; give a smaller --batch-size, or "
                            f"--cifar a folder with more images (a resumed run keeps its own --batch-size)")
        log.info("CIFAR-10 from %s: %d train, %d validation, %d test images; evaluator: %s", cifar_dir,
                 len(self.data.train), len(self.data.valid), len(self.data.test), self.describe())

    def evaluate(self, cell: CellSpec) -> Result:
        if not isinstance(cell, CellSpec):         # a NAS-Bench-201 cell, a dict: not a network this builds
            raise OutOfDomainError(f"the train evaluator trains NASBench-101 cells (alphax.spec.CellSpec), got "
                                   f"{type(cell).__name__}")
        return train_cell(cell, self.data, self.config)

    def describe(self) -> str:
        """``train on cuda:1 (NVIDIA H100 80GB HBM3)``: the device, and its model where known; on the CPU
        the threads it trains with too (``train on cpu (AMD EPYC, 2 threads)``)."""
        said = [name for name in (device_name(self.device),) if name]
        if self.device.type == "cpu":
            threads = torch.get_num_threads()
            said.append(f"{threads} thread{'s' if threads != 1 else ''}")
        return f"train on {self.device}" + (f" ({', '.join(said)})" if said else "")

    def device_id(self) -> str | None:
        return device_uuid(self.device)

    def candidates(self) -> None:
        """Training can evaluate any cell of the space: no candidate list."""
        return None
