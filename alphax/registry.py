"""Spaces, evaluators and searchers by name: what a :class:`~alphax.config.SearchConfig` builds.

One registry, :data:`SPACE_BUILDERS` (``--space`` name -> space and evaluator factory), used by the inline
run (:mod:`alphax.run`), the MPI server and clients, ``alphax compare`` and the reports; and
:func:`evaluator_signature`, what must be the same wherever a run's cells are evaluated.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

import numpy as np

from alphax.config import SearchConfig
from alphax.errors import ConfigError, first_line
from alphax.searchers.base import Searcher
from alphax.spaces.base import SearchSpace

__all__ = ["EvaluatorFactory", "SPACE_BUILDERS", "LOCAL_TRAIN_OPTIONS", "build", "build_space_and_evaluator",
           "check_searcher_options", "checked_searcher_options", "searcher_for", "evaluator_signature", "fingerprint"]

EvaluatorFactory = Callable[[], Any]
"""Makes the run's evaluator when first needed. It may carry ``check(local=...)``, run by
:func:`alphax.runfolder.create_run` before the run folder exists, which raises what making the evaluator
would (``local``: this process evaluates, rather than MPI clients with their own data)."""


_TABLES: dict[tuple, Any] = {}
"""Loaded tables, kept per process (and shared with forked ``alphax compare`` workers)."""


def _nasbench101(config: SearchConfig) -> tuple[SearchSpace, EvaluatorFactory]:
    from alphax.spaces.nasbench101 import NASBench101Space

    def table():
        from workers.evaluators import TableEvaluator

        key = ("nasbench101", config.data, config.eval_seed)
        if key not in _TABLES:        # the table loaded once per process, whatever the eval seed
            loaded = next((ev for k, ev in _TABLES.items() if k[:2] == key[:2]), None)
            _TABLES[key] = loaded.reseeded(config.eval_seed) if loaded is not None else \
                TableEvaluator.from_path(config.data, seed=config.eval_seed)
        return _TABLES[key]

    made: list = []          # the evaluator a local check made (CIFAR-10 loaded), for train() to use

    def train_options(*, local: bool = True):
        """``(cifar, TrainConfig, validation size)``, raising what a bad training option would; ``local``
        (this process trains): also what making the evaluator would (no ``--cifar``, a device this machine
        lacks, CIFAR-10 files that cannot be read, a bad ``--validation-size``), by making it."""
        from workers.cifar import VALIDATION_SIZE
        from workers.training import TrainConfig

        opts = dict(config.train)
        cifar = opts.pop("cifar", None)
        validation_size = opts.pop("validation_size", VALIDATION_SIZE)
        train_config = TrainConfig(**opts)
        if local and not made:
            if not cifar:
                raise ConfigError("--evaluator train needs --cifar DIR (the cifar-10-batches-py folder)")
            from workers.train_evaluator import TrainEvaluator

            made.append(TrainEvaluator(cifar, train_config, validation_size=validation_size))
        return cifar, train_config, validation_size

    def train():
        if not made:
            train_options()
        return made[0]

    train.check = train_options
    return NASBench101Space(), (table if config.evaluator == "table" else train)


def _nasbench201(config: SearchConfig) -> tuple[SearchSpace, EvaluatorFactory]:
    from alphax.spaces.nasbench201 import NASBench201Space

    def table():
        from alphax import nasbench201
        from workers.evaluators import NASBench201TableEvaluator

        key = ("nasbench201", config.dataset, config.data, config.eval_seed)
        if key not in _TABLES:        # the data loaded once per process, whatever the eval seed (and for reports)
            _TABLES[key] = NASBench201TableEvaluator(nasbench201.load(config.dataset, config.data),
                                                     seed=config.eval_seed)
        return _TABLES[key]

    return NASBench201Space(), table


SPACE_BUILDERS: dict[str, Callable[[SearchConfig], tuple[SearchSpace, EvaluatorFactory]]] = {
    "nasbench101": _nasbench101,
    "nasbench201": _nasbench201,
}
"""``--space`` name -> ``builder(config) -> (space, evaluator factory)``. A new space adds one entry."""


def build(config: SearchConfig) -> tuple[SearchSpace, EvaluatorFactory]:
    try:
        builder = SPACE_BUILDERS[config.space]
    except KeyError:
        raise ConfigError(f"unknown --space {config.space!r}; choose one of {', '.join(SPACE_BUILDERS)}") from None
    return builder(config)


def build_space_and_evaluator(config: SearchConfig) -> tuple[SearchSpace, Any]:
    """The space of ``config`` and its evaluator (tables are loaded once per process)."""
    space, factory = build(config)
    return space, factory()


def check_searcher_options(config: SearchConfig) -> None:
    """The ``ConfigError`` a bad ``--option`` gets when the run opens, raised now, without the data or a
    folder (``run_server.py``: before it needs its clients)."""
    space, _ = build(config)
    checked_searcher_options(space, config.algo, config.searcher_options)


def checked_searcher_options(space: SearchSpace, algo: str, options: dict | None = None) -> dict:
    """``space``'s options for searcher ``algo`` with ``options`` over them, checked as ``--option`` is: a
    ``ConfigError`` for an unknown searcher, option or a bad value (``benchmarks/``'s scripts too)."""
    from alphax.searchers import check_options, searcher_class

    try:
        cls = searcher_class(algo)
    except ValueError as exc:
        raise ConfigError(f"--algo {algo}: {first_line(exc)}") from None
    options = space.searcher_options(algo, options)
    try:
        check_options(cls, options)
        cls.check_space(space, options)       # what the space can honour (AlphaX's use_size)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"bad option for --algo {algo}: {first_line(exc)}") from None
    return options


def searcher_for(config: SearchConfig, space: SearchSpace, candidates) -> Searcher:
    from alphax.searchers import make_searcher

    options = space.searcher_options(config.algo, config.searcher_options)
    try:
        return make_searcher(config.algo, space, rng=np.random.default_rng(config.seed), candidates=candidates,
                             **options)
    except (TypeError, ValueError) as exc:       # an unknown searcher option, or a bad value of one
        raise ConfigError(f"bad option for --algo {config.algo}: {first_line(exc)}") from None
    except (MemoryError, RuntimeError) as exc:   # torch's failed allocation is a RuntimeError
        if not isinstance(exc, MemoryError) and "memory" not in str(exc).lower():
            raise
        given = ", ".join(f"{k}={v}" for k, v in config.searcher_options.items()) or "the defaults"
        raise ConfigError(f"--algo {config.algo} with {given} needs more memory than this machine has "
                          f"({type(exc).__name__}); give smaller --option values") from None


LOCAL_TRAIN_OPTIONS = ("cifar", "device")
"""Training options that may differ between MPI clients (where the data is, which device trains)."""


def evaluator_signature(config: SearchConfig, evaluator=None, *, space: SearchSpace | None = None) -> dict:
    """What must be the same wherever a run's cells are evaluated: the space, the evaluator, and the
    table (``dataset``, ``eval_seed``, a fingerprint of its cells and one of the results it gives them,
    ``Evaluator.values_digest``) or the training protocol (every
    training option but :data:`LOCAL_TRAIN_OPTIONS`, defaults filled in) and, given the train evaluator,
    ``cifar_data``: the digest of the images it trains on. The MPI server refuses a
    client whose signature differs from its run's, so ``config.json`` says how every result was made."""
    sig: dict = {"space": config.space, "evaluator": config.evaluator}
    if config.evaluator == "table":
        cells = evaluator.candidates() if evaluator is not None else None
        sig.update(dataset=config.dataset, eval_seed=config.eval_seed,
                   table=fingerprint(space, list(cells)) if cells is not None and space is not None else None,
                   table_values=evaluator.values_digest() if evaluator is not None else None)
    else:
        from dataclasses import asdict

        from workers.cifar import VALIDATION_SIZE
        from workers.training import TrainConfig     # imports torch, as the train evaluator does

        opts = {k: v for k, v in config.train.items() if k not in LOCAL_TRAIN_OPTIONS}
        validation_size = opts.pop("validation_size", VALIDATION_SIZE)
        sig["train"] = {**{k: v for k, v in asdict(TrainConfig(**opts)).items() if k != "device"},
                        "validation_size": validation_size}
        data = getattr(evaluator, "data", None)
        if data is not None:             # a client's: the images it trains on (Cifar10.digest), wherever they are
            sig["cifar_data"] = data.digest
    return sig


def fingerprint(space: SearchSpace, cells: list) -> str:
    """Identifies the candidate list a checkpoint refers to (count and MD5 of the hashes, in order)."""
    digest = hashlib.md5("\n".join(space.hash(c) for c in cells).encode()).hexdigest()
    return f"{len(cells)}:{digest}"
