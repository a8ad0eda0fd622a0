"""Evaluating a cell by training it on CIFAR-10 (NASBench-101's protocol), behind the Evaluator interface.

The same evaluator serves ``alphax search --evaluator train`` (inline, one process) and the MPI clients
(``run_client.py --evaluator train``). CIFAR-10 is loaded once, at construction; a missing or malformed
folder is a :class:`~alphax.errors.DataError` then, not a failed result per cell.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from alphax.searchers.base import Result
from alphax.spec import CellSpec
from workers.cifar import load_cifar10
from workers.evaluators import Evaluator
from workers.training import TrainConfig, train_cell

__all__ = ["TrainEvaluator", "add_train_arguments", "train_options_from_args"]

log = logging.getLogger(__name__)


class TrainEvaluator(Evaluator):
    """``evaluate(cell)`` trains ``cell`` from scratch and returns its validation accuracy as the reward,
    with test accuracy, training time and parameter count in ``info`` (see :func:`train_cell`)."""

    name = "train"

    def __init__(self, cifar_dir: str | Path, config: TrainConfig = TrainConfig(), *,
                 validation_size: int = 10_000):
        self.config = config
        self.data = load_cifar10(cifar_dir, validation_size=validation_size)
        log.info("CIFAR-10 from %s: %d train, %d validation, %d test images", cifar_dir,
                 len(self.data.train), len(self.data.valid), len(self.data.test))

    def evaluate(self, cell: CellSpec) -> Result:
        return train_cell(cell, self.data, self.config)

    def candidates(self) -> None:
        """Training can evaluate any cell of the space: no candidate list."""
        return None


def add_train_arguments(parser) -> None:
    """The training options shared by ``alphax search --evaluator train`` and ``run_client.py``."""
    d = TrainConfig()
    g = parser.add_argument_group("training (--evaluator train; defaults are NASBench-101's protocol)")
    g.add_argument("--cifar", metavar="DIR", help="the extracted 'cifar-10-batches-py' folder")
    g.add_argument("--epochs", type=int, default=d.epochs, help="training epochs (default %(default)s)")
    g.add_argument("--batch-size", type=int, default=d.batch_size, help="batch size (default %(default)s)")
    g.add_argument("--learning-rate", type=float, default=d.learning_rate,
                   help="peak learning rate, cosine-decayed by step (default %(default)s)")
    g.add_argument("--weight-decay", type=float, default=d.weight_decay, help="L2 weight (default %(default)s)")
    g.add_argument("--stem-channels", type=int, default=d.stem_channels, help="default %(default)s")
    g.add_argument("--stacks", type=int, default=d.num_stacks, help="default %(default)s")
    g.add_argument("--modules-per-stack", type=int, default=d.modules_per_stack, help="default %(default)s")
    g.add_argument("--validation-size", type=int, default=10_000,
                   help="the last N training images are the validation set (default %(default)s)")
    g.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                   help="auto: the GPU of this MPI local rank when CUDA is available, else the CPU")
    g.add_argument("--train-seed", type=int, default=0, help="seed of weights, shuffling, augmentation")


def train_options_from_args(args) -> dict:
    """The ``train`` options of a :class:`~alphax.config.SearchConfig` (``cifar``, ``validation_size``
    and :class:`TrainConfig` fields) from :func:`add_train_arguments`' options."""
    return {"cifar": os.path.abspath(args.cifar) if args.cifar else None, "validation_size": args.validation_size,
            "epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate,
            "weight_decay": args.weight_decay, "stem_channels": args.stem_channels, "num_stacks": args.stacks,
            "modules_per_stack": args.modules_per_stack, "device": args.device, "seed": args.train_seed}
