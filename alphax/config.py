"""The resolved configuration of one search run, saved as ``config.json`` in its run folder.

``alphax search`` turns its options into a :class:`SearchConfig`; ``alphax search --resume DIR`` reads it
back from ``DIR/config.json``, so a resumed run continues with exactly the options it started with.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from alphax.errors import ConfigError

__all__ = ["SearchConfig", "ALGOS", "SPACES", "EVALUATORS", "NB201_DATASETS", "DEFAULT_BUDGET"]

ALGOS = ("alphax", "random", "evolution")
SPACES = ("nasbench101", "nasbench201")
EVALUATORS = ("table", "train")
NB201_DATASETS = ("cifar10", "cifar100", "imagenet16-120")
DEFAULT_BUDGET = 150
"""Default number of unique cells: AlphaX on NAS-Bench-201 CIFAR-10 in about a minute on 2 cores."""
TRAIN_OPTIONS = ("epochs", "batch_size", "learning_rate", "weight_decay", "stem_channels", "num_stacks",
                 "modules_per_stack", "device", "seed")
"""Keys of ``SearchConfig.train`` that go to ``workers.training.TrainConfig``."""

_VERSION = 1


@dataclass(frozen=True)
class SearchConfig:
    """Everything that defines one search run.

    ``seed`` seeds the searcher; ``eval_seed`` seeds the table's choice of a recorded training repeat,
    which is a function of ``(eval_seed, cell hash)`` only, so a cell has the same reward whatever the
    order of evaluation (and in every run of a comparison). ``checkpoint_every``: results between
    checkpoints. ``searcher_options``: keyword arguments of the searcher. ``train``: training options
    of the ``train`` evaluator (``cifar`` folder, ``validation_size`` and :data:`TRAIN_OPTIONS`).
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

    def __post_init__(self):
        if self.space == "nasbench201" and self.dataset is None:
            object.__setattr__(self, "dataset", "cifar10")
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for an invalid option or combination."""
        if self.space not in SPACES:
            raise ConfigError(f"unknown --space {self.space!r}; choose one of {', '.join(SPACES)}")
        if self.algo not in ALGOS:
            raise ConfigError(f"unknown --algo {self.algo!r}; choose one of {', '.join(ALGOS)}")
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
        if self.evaluator == "train" and self.data is not None:
            raise ConfigError("--data is the table of --evaluator table; --evaluator train reads --cifar DIR")
        unknown = set(self.train) - set(TRAIN_OPTIONS) - {"cifar", "validation_size"}
        if unknown:
            raise ConfigError(f"unknown training options: {', '.join(sorted(unknown))}")
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
        obj = dict(obj)
        version = obj.pop("version", _VERSION)
        if version != _VERSION:
            raise ConfigError(f"config version {version} is not supported (this AlphaX writes {_VERSION})")
        known = {f.name for f in fields(cls)}
        unknown = set(obj) - known
        if unknown:
            raise ConfigError(f"unknown config keys: {', '.join(sorted(unknown))}")
        return cls(**obj)

    def save(self, path: str | os.PathLike) -> None:
        """Write ``path`` atomically (temp file, fsync, rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=1, sort_keys=True)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SearchConfig":
        try:
            with open(path, encoding="utf-8") as f:
                obj: Any = json.load(f)
        except FileNotFoundError:
            raise ConfigError(f"{path} not found: not a run folder") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid JSON ({exc})") from None
        return cls.from_json(obj)
