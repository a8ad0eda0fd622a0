"""The resolved configuration of one search run, saved as ``config.json`` in its run folder.

``alphax search`` turns its options into a :class:`SearchConfig`; ``alphax search --resume DIR`` reads it
back from ``DIR/config.json``, so a resumed run continues with exactly the options it started with.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from alphax.atomic import naming, open_in_place
from alphax.errors import ConfigError
from alphax.searchers.external import canonical, is_external

__all__ = ["SearchConfig", "TrainFlag", "TRAIN_FLAGS", "TRAIN_FLAG_OF", "TRAIN_OPTIONS", "DEVICES", "ALGOS", "SPACES", "EVALUATORS", "NB201_DATASETS", "DEFAULT_BUDGET"]

ALGOS = ("alphax", "random", "evolution")
SPACES = ("nasbench101", "nasbench201")
EVALUATORS = ("table", "train")
NB201_DATASETS = ("cifar10", "cifar100", "imagenet16-120")
DEFAULT_BUDGET = 300
"""Default number of unique cells: AlphaX on NAS-Bench-201 CIFAR-10 in about 30 s on 2 cores, enough to
reach the optimum in each of the 40 benchmark seeds (at most 148 samples; BENCHMARKS.md)."""


@dataclass(frozen=True)
class TrainFlag:
    """One training option: its command-line flag, its key in ``SearchConfig.train`` and its type."""

    flag: str
    key: str
    type: type
    help: str

    @property
    def dest(self) -> str:
        """The attribute argparse stores the flag under (``--batch-size`` -> ``batch_size``)."""
        return self.flag[2:].replace("-", "_")


TRAIN_FLAGS = (
    TrainFlag("--epochs", "epochs", int, "training epochs (108)"),
    TrainFlag("--batch-size", "batch_size", int, "batch size (256)"),
    TrainFlag("--learning-rate", "learning_rate", float, "peak learning rate, cosine-decayed by step (0.2)"),
    TrainFlag("--momentum", "momentum", float, "RMSProp momentum (0.9)"),
    TrainFlag("--rmsprop-decay", "rmsprop_decay", float, "RMSProp decay of the mean square (0.9)"),
    TrainFlag("--rmsprop-epsilon", "rmsprop_epsilon", float, "RMSProp epsilon, inside the square root (1.0)"),
    TrainFlag("--weight-decay", "weight_decay", float, "L2 weight on every trainable variable (1e-4)"),
    TrainFlag("--grad-clip", "grad_clip", float,
              "clip the global norm of the gradient, weight decay included (as TF would), to this "
              "(no clipping)"),
    TrainFlag("--stem-channels", "stem_channels", int,
              "output channels of the stem convolution, at least 5 so that every cell can be built (128)"),
    TrainFlag("--stacks", "num_stacks", int, "stacks of cells, channels doubled and images halved between "
              "stacks, 1..6 (3)"),
    TrainFlag("--modules-per-stack", "modules_per_stack", int, "cells per stack (3)"),
    TrainFlag("--eval-batch-size", "eval_batch_size", int, "batch size of validation and test (1000)"),
    TrainFlag("--validation-size", "validation_size", int,
              "the last N training images are the validation set (10000)"),
    TrainFlag("--train-seed", "seed", int, "seed of the weights, the shuffling and the augmentation (0)"),
    TrainFlag("--train-attempts", "attempts", int,
              "trainings of a cell whose loss turns non-finite or that runs out of memory, each from a fresh "
              "initialisation (seed + attempt - 1), before it is a failed result (5)"),
)
"""The training options of ``--evaluator train``, shared by ``alphax search``, ``run_server.py`` and
``run_client.py`` (defaults, in brackets, are NASBench-101's protocol: ``workers.training.TrainConfig``);
``--cifar DIR`` and ``--device`` complete them."""
TRAIN_FLAG_OF = {f.key: f.flag for f in TRAIN_FLAGS}
"""``SearchConfig.train`` key -> its command-line flag (``num_stacks`` -> ``--stacks``), for messages."""
TRAIN_OPTIONS = tuple(f.key for f in TRAIN_FLAGS if f.key != "validation_size") + ("device",)
"""Keys of ``SearchConfig.train`` that go to ``workers.training.TrainConfig``."""
DEVICES = ("auto", "cpu", "cuda")

_VERSION = 1


@dataclass(frozen=True)
class SearchConfig:
    """Everything that defines one search run.

    ``seed`` seeds the searcher; ``eval_seed`` seeds the table's choice of a recorded training repeat,
    which is a function of ``(eval_seed, cell hash)`` only, so a cell has the same reward whatever the
    order of evaluation (and in every run of a comparison). ``checkpoint_every``: results between
    checkpoints. ``searcher_options``: keyword arguments of the searcher. ``train``: training options
    of the ``train`` evaluator (``cifar`` folder, ``validation_size`` and :data:`TRAIN_OPTIONS`).
    ``pool_size`` (``train`` evaluator only; a table's pool is its cells): the cells the searchers may
    propose, ``None`` every cell of the space (``SearchSpace.all_cells``: they search as on a table),
    ``N`` a uniform sample of N of them drawn with ``seed``, ``0`` no pool (any valid cell, drawn by the
    searcher's own generators; AlphaX's tree is then plain UCT: the mode of run folders written before
    this option, whose config.json lacks it).
    """

    space: str = "nasbench201"
    dataset: str | None = None
    data: str | None = None
    evaluator: str = "table"
    algo: str = "alphax"
    budget: int = DEFAULT_BUDGET
    seed: int = 0
    eval_seed: int = 0
    checkpoint_every: int = 100
    searcher_options: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)
    pool_size: int | None = None

    def __post_init__(self):
        if self.space == "nasbench201" and self.dataset is None:
            object.__setattr__(self, "dataset", "cifar10")
        # a searcher file by its absolute path: a resume from another folder finds it
        object.__setattr__(self, "algo", canonical(self.algo))
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for an invalid option or combination."""
        if self.space not in SPACES:
            raise ConfigError(f"unknown --space {self.space!r}; choose one of {', '.join(SPACES)}")
        if self.algo not in ALGOS and not is_external(self.algo):
            raise ConfigError(f"unknown --algo {self.algo!r}; choose one of {', '.join(ALGOS)}, or a searcher of "
                              f"your own: FILE.py:CLASS or MODULE:CLASS")
        if self.evaluator not in EVALUATORS:
            raise ConfigError(f"unknown --evaluator {self.evaluator!r}; choose one of {', '.join(EVALUATORS)}")
        for name in ("budget", "checkpoint_every"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be a positive integer, got {value!r}")
        for name in ("seed", "eval_seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be an integer >= 0, got {value!r}")
        if self.space == "nasbench201":
            if self.dataset not in NB201_DATASETS:
                raise ConfigError(f"--space nasbench201 needs --dataset {'|'.join(NB201_DATASETS)}, "
                                  f"got {self.dataset!r}")
            if self.evaluator != "table":
                raise ConfigError("--space nasbench201 is a table: --evaluator train is for nasbench101")
        elif self.dataset is not None:
            raise ConfigError(f"--dataset is for --space nasbench201 (got --space {self.space})")
        if self.data is not None and not isinstance(self.data, str):
            raise ConfigError(f"data must be the path of the table (text) or null, got {self.data!r}")
        if self.evaluator == "train" and self.data is not None:
            raise ConfigError("--data is the table of --evaluator table; --evaluator train reads --cifar DIR")
        if not isinstance(self.train, dict):
            raise ConfigError(f"train must be a JSON object of training options, got {self.train!r}")
        unknown = set(self.train) - set(TRAIN_OPTIONS) - {"cifar", "validation_size"}
        if unknown:
            raise ConfigError(f"unknown training options: {', '.join(sorted(unknown))}")
        cifar, size = self.train.get("cifar"), self.train.get("validation_size")
        if cifar is not None and not isinstance(cifar, str):
            raise ConfigError(f"--cifar must be the CIFAR-10 folder (text), got {cifar!r}")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
            raise ConfigError(f"--validation-size must be a positive integer, got {size!r}")
        device = self.train.get("device", "auto")
        if device not in DEVICES and not re.fullmatch(r"cuda:\d+", str(device)):
            raise ConfigError(f"--device must be auto, cpu, cuda or cuda:N, got {device!r}")
        if self.pool_size is not None:
            if not isinstance(self.pool_size, int) or isinstance(self.pool_size, bool) or self.pool_size < 0:
                raise ConfigError(f"--pool-size must be an integer >= 0, got {self.pool_size!r}")
            if self.evaluator != "train":
                raise ConfigError("--pool-size is for --evaluator train (a table's cells are its pool)")
        if not isinstance(self.searcher_options, dict):
            raise ConfigError("searcher_options must be a JSON object")

    def with_budget(self, budget: int) -> "SearchConfig":
        """The same config with another budget (``--resume DIR --budget N``)."""
        return replace(self, budget=budget)

    # -- JSON ----------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"version": _VERSION, **asdict(self)}

    @classmethod
    def from_json(cls, obj: dict) -> "SearchConfig":
        """Inverse of :meth:`to_json`; unknown keys or a wrong version are a :class:`ConfigError`."""
        if not isinstance(obj, dict):
            raise ConfigError("a search config is a JSON object")
        obj = _legacy(dict(obj))
        version = obj.pop("version", _VERSION)
        if version != _VERSION or isinstance(version, bool):
            raise ConfigError(f"config version {version!r} is not supported (this AlphaX writes {_VERSION})")
        known = {f.name for f in fields(cls)}
        unknown = set(obj) - known
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**obj)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``path`` atomically (temp file, fsync, rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        try:
            with open_in_place(tmp, "w", encoding="utf-8") as f, naming(path):     # a full disk names the file
                json.dump(self.to_json(), f, indent=1, sort_keys=True)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:             # a signal, a full disk: no half-written temp file left behind
            tmp.unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SearchConfig":
        try:
            with open(path, encoding="utf-8") as f:
                obj: Any = json.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{path} not found: not a run folder") from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise ConfigError(f"{path} is not valid JSON ({exc}): the file has been altered; restore it "
                              f"from a copy") from None
        # a run's config.json holds every key (save writes them all): one missing was edited away, and a
        # default filled in for it could silently change the run
        obj = _legacy(obj) if isinstance(obj, dict) else obj
        missing = ({"version"} | {f.name for f in fields(cls)}) - set(obj) if isinstance(obj, dict) else set()
        if missing:
            raise ConfigError(f"{path} lacks {', '.join(sorted(missing))}: it was edited; restore it from a "
                              f"copy (the checkpoint holds the run's config too)")
        try:
            return cls.from_json(obj)
        except ConfigError as exc:   # the file's fault, not an option given: name it, and the way out
            what = re.sub(r"^(unknown )?--", r"\1", str(exc))     # an option's name, not a flag nobody gave
            raise ConfigError(f"{path} holds a bad value: {what}; it was edited: restore it from a copy (the "
                              f"checkpoint holds the run's config too)") from None


def _legacy(obj: dict) -> dict:
    """A config written before ``pool_size`` existed: a training run then had no pool (``0``)."""
    if "pool_size" not in obj:
        obj = {**obj, "pool_size": 0 if obj.get("evaluator") == "train" else None}
    return obj
