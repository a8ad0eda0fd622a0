"""A search run: its folder, its state, and the inline run loop (``alphax search``).

Run folder (README.md, "Run folders, resume and results files"): ``config.json`` (the resolved :class:`~alphax.config.SearchConfig`),
``results.jsonl`` (:mod:`alphax.runlog`), ``checkpoint.pkl`` / ``checkpoint.prev.pkl``
(:mod:`alphax.checkpoint`: the pickled searcher with its random generator, ``n`` and timings),
``predictor.jsonl`` (the searcher's metrics, e.g. AlphaX's Kendall tau, when it exposes any) and
``stats.json`` (wall time, searcher time per result and the searcher's scalar metrics, written when the
run stops) and ``log.txt`` (:mod:`alphax.logfile`: what the process logged while the run was open, and
why it ended).

Resuming (:func:`resume_run`): restore the newest intact checkpoint (or a fresh searcher from the seed
when there is none), then *replay* the results logged after it without evaluating them again. Rows the
inline loop wrote are replayed strictly: ``ask()`` must propose the logged cell, which is then told its
logged result, so a resumed inline run evaluates the same sequence of cells as an uninterrupted one
(table rewards are a function of the cell, see :mod:`workers.evaluators`). Rows an MPI server wrote
arrived out of proposal order; they are told to the searcher as they are (a searcher counts a result it never
proposed as its own: evolution in its random start, AlphaX in its proposal cycle and its tree).

The MPI server (``workers.server``) drives the same :class:`Run` through :func:`open_run`,
``run.remaining`` and ``run.record``.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from alphax import logfile
from alphax.atomic import naming, write_atomic
from alphax.checkpoint import LATEST, PREVIOUS, checkpoint_info, load_checkpoint, save_checkpoint
from alphax.config import SearchConfig
from alphax.errors import AlphaXError, CheckpointError, ConfigError, DataError, Interrupted
from alphax.registry import (LOCAL_TRAIN_OPTIONS, EvaluatorFactory, build, evaluator_signature, fingerprint,
                             searcher_for)
from alphax.runlock import LOCK, LockHeld, RunLock
from alphax.runlog import RESULTS, RunLog, check_cells, row_values, rows_digest
from alphax.searchers.base import Proposal, Result, Searcher, reward_problem
from alphax.spaces.base import SearchSpace

__all__ = ["Run", "RunSummary", "create_run", "resume_run", "open_run", "run_search", "default_out", "StopOnSignal"]

log = logging.getLogger(__name__)

CONFIG = "config.json"
PREDICTOR = "predictor.jsonl"
STATS = "stats.json"


# -- the run ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSummary:
    """How a run ended: results, the best one, and whether the budget was reached."""

    folder: Path
    n: int
    budget: int
    best: dict | None
    complete: bool
    wall_seconds: float


def _jsonable(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, (set, tuple)):
        return list(obj)
    return str(obj)


def _in_log_scope(method):
    """Run ``method`` inside the run's :meth:`Run.log_scope`: what it logs goes to this run's ``log.txt``,
    not to another run open in the same process."""
    @functools.wraps(method)
    def scoped(self, *args, **kwargs):
        with self.log_scope():
            return method(self, *args, **kwargs)
    return scoped


class Run:
    """A run folder opened for appending: the searcher, the results log and the checkpoints.

    ``record(proposal, result)`` appends the result (fsynced), tells the searcher and checkpoints when
    due; ``remaining`` is how many results are left to reach the budget.
    """

    def __init__(self, folder: Path, config: SearchConfig, space: SearchSpace, searcher: Searcher, runlog: RunLog,
                 *, evaluator_factory: EvaluatorFactory, evaluator=None, candidates=None, dispatch: str = "inline",
                 state: dict | None = None, log_handler=None, lock: RunLock | None = None,
                 saved_config: SearchConfig | None = None):
        self.folder, self.config, self.space, self.searcher = folder, config, space, searcher
        # what config.json holds while this resume's changes (a new --budget, --cifar, --device) wait for confirm()
        self._saved_config = saved_config if saved_config is not None and saved_config != config else None
        self._lock = lock
        self._log_handler = log_handler if log_handler is not None else logfile.attach(folder)
        self.candidates = list(candidates) if candidates is not None else []
        self.candidates_id = fingerprint(space, self.candidates)
        self.log, self.dispatch = runlog, dispatch
        self._factory, self._evaluator = evaluator_factory, evaluator
        state = state or {}
        self.searcher_seconds: list[float] = list(state.get("searcher_seconds", []))
        self.wall_before = float(state.get("wall_seconds", 0.0)) + _unsaved_wall(state, runlog)
        self.started = time.perf_counter()
        self.last_checkpoint = int(state.get("n", 0))
        # a run that reached its budget, or evaluated every cell of its pool (a searcher with nothing left)
        self._finished_at_open = self.n if self.n >= config.budget or 0 < len(self.candidates) <= self.n else None
        self._recording = False       # True between ask() and the end of record(): no checkpoint then
        self._tau_written = self._read_tau_count()
        self._predictor_file = None

    # -- state ---------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.log)

    @property
    def remaining(self) -> int:
        return self.config.budget - self.n

    @property
    def evaluator(self):
        if self._evaluator is None:
            self._evaluator = self._factory()
        return self._evaluator

    @property
    def signature(self) -> dict:
        """:func:`evaluator_signature` of this run (what its MPI clients must match)."""
        sig = evaluator_signature(self.config)
        if self.config.evaluator == "table":
            sig["table"] = self.candidates_id
            sig["table_values"] = self.evaluator.values_digest()
        else:       # None until a result says: the first client's is taken
            sig["cifar_data"] = logged_cifar_data(self.log.rows)
        return sig

    @property
    def best(self) -> dict | None:
        ok = [r for r in self.log.rows if r.get("accuracy") is not None]
        return max(ok, key=lambda r: r["accuracy"]) if ok else None

    def wall_seconds(self) -> float:
        """Seconds the run has worked, over all its sessions; for a finished run opened again with
        nothing to do, the time its stats.json keeps (the reopening is not the run's work)."""
        if self._finished_at_open is not None and self._finished_at_open == self.n:
            kept = _read_stats(self.folder).get("wall_seconds")
            return float(kept) if isinstance(kept, (int, float)) else self.wall_before
        return self.wall_before + time.perf_counter() - self.started

    def log_scope(self):
        """A context in which what the process logs goes to this run's ``log.txt`` only (the run's own
        methods enter it themselves): for code that drives the run, such as ``workers.server.serve``."""
        return logfile.scope(self._log_handler)

    # -- recording -----------------------------------------------------------------------------
    @_in_log_scope
    def ask(self) -> tuple[Proposal | None, float]:
        """One proposal from the searcher (None when it has nothing left) and the seconds it took."""
        self._recording = True
        t0 = time.perf_counter()
        proposals = self.searcher.ask(1)
        seconds = time.perf_counter() - t0
        if not proposals:
            self._recording = False
            return None, seconds
        return proposals[0], seconds

    def warn_budget(self) -> None:
        """Warn when the budget exceeds the cells the table can evaluate (the run will end short of it)."""
        if self.candidates and self.config.budget > len(self.candidates):
            log.warning("--budget %d is more than the %d cells %s: the run ends when every one is evaluated",
                        self.config.budget, len(self.candidates),
                        "the table holds" if self.config.evaluator == "table" else "of --pool-size")

    @_in_log_scope
    def confirm(self) -> None:
        """The run goes on: write ``config.json`` if this resume changed it (a new ``--budget``). Called
        before the inline loop, when the MPI server's first client is accepted, and at the first result; a
        resume that fails before (a client that evaluates unlike the run) leaves ``config.json`` as it was."""
        saved, self._saved_config = self._saved_config, None
        if saved is not None:         # the first confirm of a resumed run
            self._write_metrics()     # a refit replayed on resume (the kill came during it): logged as it was
            self.config.save(self.folder / CONFIG)
            changed = [f"budget {saved.budget} -> {self.config.budget}"] if saved.budget != self.config.budget else []
            changed += [f"data {saved.data} -> {self.config.data}"] if saved.data != self.config.data else []
            changed += [f"train.{k} {saved.train.get(k)!r} -> {v!r}" for k, v in sorted(self.config.train.items())
                        if saved.train.get(k) != v]
            log.info("%s updated: %s", CONFIG, ", ".join(changed))

    def best_judged(self) -> tuple[dict, str] | None:
        """The best successful result as the search is judged, and its value as text: where a table defines
        its optimum by a cell's mean over training seeds (NAS-Bench-201) or repeats, the row whose cell has
        the best mean, with that mean and the accuracy observed (reports and summary.json judge so; the
        luckiest draw is not the best cell); otherwise the best observed accuracy. None: no success."""
        from alphax.compare import reference_values

        best = self.best
        if best is None:
            return None
        table = self._evaluator if self.config.evaluator == "table" else None
        value = reference_values(table) if table is not None else None
        if value is None:
            return best, f"{best['accuracy']:.6f}"
        ok = [r for r in self.log.rows if r.get("accuracy") is not None]
        means = row_values(ok, value)
        i = int(np.argmax(means))
        return ok[i], f"{means[i]:.6f} ({table.reference_name}; this run observed {ok[i]['accuracy']:.6f})"

    def progress_label(self) -> str:
        """What progress calls the best result it shows (the best observed accuracy, counted as results
        come): ``"best"``, or ``"best observed"`` where the search is judged by a cell's mean over training
        seeds or repeats (:meth:`best_judged`), so that a lucky draw above the optimum is not read as it.
        Read off the table's kind (a mean over what, and whether its cells have several), not its optimum,
        which a table of every NASBench-101 cell takes seconds to find."""
        if self.config.evaluator != "table":
            return "best"
        evaluator = self.evaluator
        judged = getattr(evaluator, "reference_name", None) is not None and getattr(evaluator, "repeated", True)
        return "best observed" if judged else "best"

    @_in_log_scope
    def log_ended(self, complete: bool) -> None:
        """The run's log says how it ended (at its budget, or with nothing left to propose) and its best
        result (:meth:`best_judged`, as ``alphax search`` prints it), as it does when a signal or an error
        ends it."""
        judged = self.best_judged()
        log.info("ended: %d of %d results%s, best %s", self.n, self.config.budget,
                 "" if complete else " (the searcher had nothing left to propose)",
                 "none (every evaluation failed)" if judged is None else
                 f"{judged[1]} at n={judged[0].get('n')} ({judged[0].get('hash')})")

    @_in_log_scope
    def record(self, proposal: Proposal, result: Result, *, ask_seconds: float = 0.0) -> dict:
        """Log ``result`` durably, tell the searcher, checkpoint when due; returns the row."""
        self.confirm()
        self._recording = True
        problem = reward_problem(result.accuracy)   # an evaluator's NaN, or a reward that is no accuracy:
        if problem:                                 # a failed evaluation, logged and told as one
            result = replace(result, accuracy=None, error=result.error or problem)
        cell = proposal.cell
        row = {"n": self.n + 1, "hash": self.space.hash(cell), **self.space.to_json(cell),
               "accuracy": result.accuracy, "predicted": proposal.predicted, "seconds": result.seconds,
               "worker": result.worker, "error": result.error, "info": result.info, "dispatch": self.dispatch,
               "time": round(time.time(), 3)}
        row = json.loads(json.dumps(row, default=_jsonable))
        self.log.append(row)
        t0 = time.perf_counter()
        self.searcher.tell(cell, result)
        self.searcher_seconds.append(ask_seconds + time.perf_counter() - t0)
        self._write_metrics()
        self._recording = False
        if self.n - self.last_checkpoint >= self.config.checkpoint_every:
            self.checkpoint()
        return row

    @_in_log_scope
    def checkpoint(self) -> None:
        """Write a checkpoint of the current state (between results only)."""
        if self._recording:
            raise RuntimeError("checkpoint while a result is being recorded")
        state = {"n": self.n, "searcher": self.searcher, "config": self.config.to_json(),
                 "dispatch": self.dispatch, "searcher_seconds": self.searcher_seconds,
                 "wall_seconds": self.wall_seconds(), "time": time.time(), "candidates": self.candidates_id,
                 "rows": self.log.digest()}          # of the n rows the state was made from
        t0 = time.perf_counter()
        save_checkpoint(self.folder, state, shared=self.candidates)
        self.last_checkpoint = self.n
        log.debug("checkpoint at n=%d in %.3f s", self.n, time.perf_counter() - t0)

    def _read_tau_count(self) -> int:
        path = self.folder / PREDICTOR
        if not path.exists():
            return 0
        count = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                count = max(count, int(json.loads(line)["index"]) + 1)
            except (ValueError, KeyError, TypeError, RecursionError):
                continue
        return count

    def _write_metrics(self) -> None:
        """Append the searcher's ranking-quality entries not yet in ``predictor.jsonl``, each with the row
        it was made at (the last row, for an entry that does not say: one from a checkpoint before entries
        did) and its own counts, not the searcher's now (a refit replayed on resume is written then, as the
        uninterrupted run wrote it)."""
        metrics = self.searcher.metrics()
        taus = metrics.get("tau") if isinstance(metrics, dict) else None
        if not taus or len(taus) <= self._tau_written:
            return
        if self._predictor_file is None:
            self._predictor_file = open(self.folder / PREDICTOR, "a", encoding="utf-8")
        # the searcher's counts now, but for "results": each entry carries its own
        extra = {k: v for k, v in metrics.items() if k not in ("tau", "results") and isinstance(v, (int, float, str))}
        with naming(self.folder / PREDICTOR):
            for i in range(self._tau_written, len(taus)):
                results, tau, *made_at = taus[i]
                entry = {"index": i, "n": made_at[0] if made_at else self.n,
                         "results": results, "tau": tau, **extra}
                if len(made_at) > 1:
                    entry["tree_nodes"] = made_at[1]
                self._predictor_file.write(json.dumps(entry, default=_jsonable) + "\n")
            self._predictor_file.flush()
        self._tau_written = len(taus)

    @_in_log_scope
    def write_stats(self) -> dict:
        """``stats.json``: wall time, the searcher's own seconds per result (ask + tell) and its scalar
        metrics (e.g. regularized evolution's mutation counts, AlphaX's tree size)."""
        secs = np.asarray(self.searcher_seconds, dtype=float)
        metrics = self.searcher.metrics()
        stats = {"n": self.n, "budget": (self._saved_config or self.config).budget, "wall_seconds": self.wall_seconds(),
                 "searcher_seconds": [float(s) for s in secs],
                 "searcher_seconds_median": float(np.median(secs)) if len(secs) else None,
                 "searcher_seconds_mean": float(np.mean(secs)) if len(secs) else None,
                 "searcher_metrics": {k: v for k, v in metrics.items() if isinstance(v, (int, float, str))}}
        optimum = _read_stats(self.folder).get("optimum")   # noted by alphax search as a run ends: keep it
        if optimum is not None:
            stats["optimum"] = optimum
        _write_stats(self.folder, stats)
        return stats

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        """:meth:`close`; when an error is already on its way out, a failure to close (the disk that
        failed the run, say) is logged instead of raised, so that the error reported is the first one."""
        if exc is None:
            self.close()
            return
        try:
            self.close()
        except (AlphaXError, OSError) as error:
            message = (f"{self.folder}: the run could not be closed cleanly either ({type(error).__name__}: "
                       f"{error}); every result logged is kept")
            log.warning("%s", message)             # on the console; log.txt's handler is closed by now
            logfile.append(self.folder, message, level=logging.WARNING, name=__name__)

    @_in_log_scope
    def close(self) -> None:
        """Checkpoint (if anything was recorded since the last one and the state is consistent), write
        ``stats.json``, close the files. ``with run:`` closes it too."""
        try:
            if not self._recording:
                self._write_metrics()     # a refit replayed by a resume with nothing left to do
            if not self._recording and self.n > self.last_checkpoint:
                self.checkpoint()
            kept = _read_stats(self.folder)
            if not (self._finished_at_open == self.n and kept.get("n") == self.n
                    and kept.get("budget") == self.config.budget):
                self.write_stats()     # not for a finished run opened again: its wall time stays the run's own
        finally:
            self.log.close()
            if self._predictor_file is not None:
                self._predictor_file.close()
            if self._evaluator is not None:
                self._evaluator.close()
            logfile.detach(self._log_handler)
            self._log_handler = None
            if self._lock is not None:
                self._lock.release()


def logged_cifar_data(rows: list[dict]) -> str | None:
    """The digest of the CIFAR-10 images a training run's results were made on (``info.cifar_data`` of
    its last logged result that has one: ``workers.cifar.Cifar10.digest``), or None (no training result
    yet, or a run from before results said)."""
    for row in reversed(rows):
        info = row.get("info")
        if isinstance(info, dict) and isinstance(info.get("cifar_data"), str):
            return info["cifar_data"]
    return None


def _check_cifar_data(evaluator, rows: list[dict], config: SearchConfig) -> None:
    """A resumed training run trains on the images its results were made on (a copy elsewhere will do)."""
    data, logged = getattr(getattr(evaluator, "data", None), "digest", None), logged_cifar_data(rows)
    if data is not None and logged is not None and data != logged:
        raise ConfigError(f"--cifar {config.train.get('cifar')}: its images (digest {data}) are not those the "
                          f"run's results were trained on ({logged}); give --cifar a copy of the same files")


def _unsaved_wall(state: dict, runlog: RunLog) -> float:
    """Seconds the run worked after its checkpoint (``state``) until its last logged result: the time a
    kill would otherwise drop from ``wall_seconds`` (0 without rows after it, or without times)."""
    rows = runlog.rows[int(state.get("n", 0)):]
    if not rows or rows[-1].get("time") is None:
        return 0.0
    saved = state.get("time")
    if saved is None and "wall_seconds" not in state:
        saved = rows[0].get("time")      # no checkpoint (killed as it started): from the first result on
    return max(0.0, float(rows[-1]["time"]) - float(saved)) if saved is not None else 0.0


def _write_stats(folder: Path, stats: dict) -> None:
    text = json.dumps(stats).encode("utf-8")
    write_atomic(folder / STATS, lambda f: f.write(text))


def _read_stats(folder: Path) -> dict:
    """The run's ``stats.json``, or ``{}`` when there is none (or it cannot be read: it is rewritten)."""
    try:
        stats = json.loads((folder / STATS).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return stats if isinstance(stats, dict) else {}


def note_optimum(folder: str | Path, optimum: tuple[str, float], measure: str | None = None) -> None:
    """Add the data set's optimum ``(hash, accuracy)`` to the run's ``stats.json`` (``alphax report`` marks
    it without loading the table again; later closes keep it), with ``measure`` where its accuracy is a
    mean (``"mean over training repeats"``). A write that fails is warned about: the run itself is
    complete."""
    folder = Path(folder)
    stats = _read_stats(folder)
    if not stats:
        return                    # no stats.json (the run never closed): nothing to add it to
    stats["optimum"] = {"hash": optimum[0], "accuracy": float(optimum[1]), **({"measure": measure} if measure else {})}
    try:
        _write_stats(folder, stats)
    except OSError as exc:
        log.warning("could not note the optimum in %s: %s", folder / STATS, exc)


# -- opening a run ---------------------------------------------------------------------------------
def default_out(config: SearchConfig, root: str | Path = "runs") -> Path:
    """``runs/<timestamp>-<algo>-<space>``: the name of a new run's folder (``create_run`` adds ``-2``,
    ``-3``, ... when it is taken)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{stamp}-{config.algo}-{config.space}"


def _candidates(config: SearchConfig, factory: EvaluatorFactory, space: SearchSpace):
    """``(evaluator, pool)``: a table's evaluator and its cells; for training, no evaluator yet (a client's
    or the first evaluation's) and the space's cells (``config.pool_size``), or None (no pool)."""
    if config.evaluator != "table":
        if config.pool_size == 0:
            return None, None
        start = time.perf_counter()
        cells = space.all_cells(config.pool_size, seed=config.seed)
        if cells is not None:
            log.info("pool: %d cells of %s%s (%.1f s)", len(cells), config.space,
                     "" if config.pool_size is None else f", a sample drawn with seed {config.seed}",
                     time.perf_counter() - start)
        return None, cells
    evaluator = factory()
    candidates = evaluator.candidates()
    if candidates is not None and not candidates:
        raise DataError(f"the {config.space} data{f' at {config.data}' if config.data else ''} has no cell with "
                        f"a validation accuracy to search; check --data")
    return evaluator, candidates


def _no_result(folder: Path) -> bool:
    """``folder``'s results log holds nothing, not even a torn line: no result was ever recorded there."""
    results = folder / RESULTS
    return not results.exists() or results.stat().st_size == 0


def _refuse_taken(folder: Path, dispatch: str, *, locked: bool = False, config: SearchConfig | None = None) -> None:
    """Raise the 'already exists' error if ``folder`` is a file or holds anything but the run lock and a
    ``config.json.tmp`` without its ``config.json`` (a run killed while it wrote its config: nothing of
    it was written) (the 'in use' error while another process holds it; ``locked``: this one does).
    ``config``: the new run's, to name what differs from a run there that has no result yet."""
    left_by_a_start = {LOCK} if (folder / CONFIG).exists() else {LOCK, CONFIG + ".tmp"}
    if folder.exists() and (not folder.is_dir() or any(p.name not in left_by_a_start for p in folder.iterdir())):
        resume = "run_server.py" if dispatch == "mpi" else "alphax search"
        if (folder / CONFIG).exists():
            if not locked and (folder / LOCK).exists():
                RunLock(folder).release()      # a live run there: "in use by another alphax process (pid N)"
            state = _another_unstarted(folder, config) if _no_result(folder) else ": resume it"
            raise CheckpointError(f"{folder} already exists{state} with '{resume} --resume {folder}', or "
                                  f"choose another --out")
        what = "a file" if not folder.is_dir() else f"not empty, and not a run folder: it has no {CONFIG}"
        raise CheckpointError(f"{folder} already exists ({what}); choose another --out")


def _another_unstarted(folder: Path, config: SearchConfig | None) -> str:
    """What :func:`_refuse_taken` says of a run folder with no result yet, whose options are not
    ``config``'s (named when given); a damaged ``config.json`` there is its own error."""
    try:
        saved = SearchConfig.load(folder / CONFIG).to_json()
    except ConfigError as exc:
        raise CheckpointError(f"{folder} already exists, with no result yet and a config.json that cannot be "
                              f"used ({exc}); remove the folder to start this run there, or choose another "
                              f"--out") from None
    new = config.to_json() if config is not None else saved
    differ = ", ".join(f"{k} {a!r} there, {b!r} now" for k, a, b in _differences(saved, new))
    return (f" and holds another run's options{f' ({differ})' if differ else ''}, with no result yet: remove it "
            f"to start this run there, resume it as it is")


def _differences(saved: dict, new: dict) -> list[tuple[str, object, object]]:
    """``(name, saved value, new value)`` of each option (a ``train`` or ``options`` entry by itself, as
    ``train.epochs``) that differs between two ``config.json`` dicts, leaving out those the same command
    may change on a run with no result (:func:`_continue_unstarted`: budget, data, --cifar, --device)."""
    out = []
    for k in sorted(set(saved) | set(new)):
        a, b = saved.get(k), new.get(k)
        if k in ("budget", "data") or a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            out += [(f"{k}.{j}", a.get(j), b.get(j)) for j in sorted(set(a) | set(b)) if a.get(j) != b.get(j)
                    and not (k == "train" and j in LOCAL_TRAIN_OPTIONS)]
        else:
            out.append((k, a, b))
    return out


def _new_folder(path: Path) -> Path:
    """Create ``path``, or ``path-2``, ``path-3``, ... : the first that this process creates itself (two
    runs started in the same second never share the default name)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    i = 1
    while True:
        out = path if i == 1 else path.with_name(f"{path.name}-{i}")
        try:
            out.mkdir()
            return out
        except FileExistsError:
            i += 1


def create_run(config: SearchConfig, folder: str | Path | None, *, dispatch: str = "inline") -> Run:
    """Start a new run in ``folder``, which must not hold anything yet (never overwritten); None: a new
    folder :func:`default_out` names. Checked again once the run's lock is held: of two runs started at
    once in one folder, the second is refused. The one exception: a folder that holds this same run
    with no result yet is continued (:func:`_continue_unstarted`)."""
    folder = Path(folder) if folder is not None else None
    if folder is not None:
        run = _continue_unstarted(folder, config, dispatch)
        if run is not None:
            return run
        _refuse_taken(folder, dispatch, config=config)
    space, factory = build(config)
    if hasattr(factory, "check"):       # what an evaluator made later would refuse, refused before the folder exists
        factory.check(local=dispatch == "inline")
    evaluator, candidates = _candidates(config, factory, space)
    searcher = searcher_for(config, space, candidates)
    if folder is None:
        folder = _new_folder(default_out(config))
    else:
        folder.mkdir(parents=True, exist_ok=True)
    try:
        lock = RunLock(folder)
    except LockHeld:
        raise CheckpointError(f"another run is being started in {folder}; choose another --out") from None
    try:
        _refuse_taken(folder, dispatch, locked=True)     # another process may have started a run here meanwhile
        config.save(folder / CONFIG)
        run = Run(folder, config, space, searcher, RunLog(folder / RESULTS), evaluator_factory=factory,
                  evaluator=evaluator, candidates=candidates, dispatch=dispatch, lock=lock)
    except BaseException:
        lock.release()
        raise
    with run.log_scope():
        log.info("new run %s: %s on %s, budget %d, seed %d, %s", folder, config.algo, config.space, config.budget,
                 config.seed, "any valid cell (no pool)" if candidates is None else f"pool of {len(candidates)} cells")
        run.warn_budget()
    # a checkpoint at n=0 (50 ms): a resume always has the table's fingerprint to check, even after a kill
    # before the first periodic checkpoint
    run.checkpoint()
    return run


def _continue_unstarted(folder: Path, config: SearchConfig, dispatch: str) -> Run | None:
    """The run in ``folder`` when the same command is run again before it recorded any result (an MPI
    farm whose clients could not start, a run stopped during its first evaluation): a run folder with
    no result whose ``config.json`` holds ``config``'s options, up to those a resume may change
    (``--budget``, ``--data``, ``--cifar``, ``--device``). It is continued as ``--resume`` would, from its
    checkpoint at n=0, so it proposes what a new run with the same seed would. None otherwise (the
    caller refuses a taken folder)."""
    if not (folder / CONFIG).is_file() or not _no_result(folder):
        return None
    try:
        saved = SearchConfig.load(folder / CONFIG)
    except ConfigError:
        return None
    if _differences(saved.to_json(), config.to_json()):      # beyond what the same command may change
        return None
    local = {k: config.train[k] for k in LOCAL_TRAIN_OPTIONS
             if k in config.train and config.train[k] != saved.train.get(k)}     # as --resume; left out: kept
    data = config.data if config.data != saved.data else None
    run = resume_run(folder, budget=config.budget, dispatch=dispatch, local_train=local or None, data=data,
                     unstarted=True)
    with run.log_scope():
        log.info("%s holds this run and no result yet (it never got to evaluate a cell): continuing it", folder)
    return run


def resume_run(folder: str | Path, *, budget: int | None = None, dispatch: str = "inline",
               local_train: dict | None = None, data: str | None = None, unstarted: bool = False) -> Run:
    """Reopen the run in ``folder``: restore its newest intact checkpoint and replay the results logged
    after it (see the module docstring). ``budget`` replaces the budget (longer or shorter, not below the results logged); ``local_train``
    (:data:`LOCAL_TRAIN_OPTIONS` only: where this machine keeps CIFAR-10, which device trains) replaces
    those options of a training run, e.g. when it continues on another machine; ``data`` is where the
    table is now (moved, or on another machine): it must hold the same cells (the checkpoint's
    fingerprint of them, or every logged cell, says so). ``unstarted``: only a run without a result (a new
    run's command run again, :func:`_continue_unstarted`), checked again once the lock is held."""
    folder = Path(folder)
    if not (folder / CONFIG).exists():
        raise CheckpointError(f"{folder} is not a run folder {_not_a_run_folder(folder)}")
    try:
        saved = config = SearchConfig.load(folder / CONFIG)
    except ConfigError as exc:
        logfile.append(folder, f"resume of {folder} failed: {exc}", name=__name__)
        raise
    if data is not None:
        if config.evaluator != "table":
            raise ConfigError(f"--data is for a run that evaluates a table; {folder} trains")
        config = replace(config, data=os.path.abspath(data))
    if local_train:
        if set(local_train) - set(LOCAL_TRAIN_OPTIONS):
            raise ConfigError(f"only {', '.join(LOCAL_TRAIN_OPTIONS)} may change when a run resumes, got "
                              f"{', '.join(sorted(local_train))}")
        if config.evaluator != "train":
            raise ConfigError(f"--cifar and --device are for a run that trains; {folder} evaluates a table")
        config = replace(config, train={**config.train, **local_train})
    try:
        _check_config_against_checkpoint(folder, config)     # before config.json's space and data are used
    except CheckpointError as exc:
        logfile.append(folder, f"resume of {folder} failed: {exc}", name=__name__)
        raise
    space, factory = build(config)
    lock = RunLock(folder)                # before anything is written (the first append cuts a torn line)
    if unstarted and not _no_result(folder):      # another process recorded results meanwhile: taken
        lock.release()
        _refuse_taken(folder, dispatch)
    runlog = None
    handler = logfile.attach(folder)      # from here on: why a resume fails (a corrupt log, checkpoint) goes there too
    try:
        with logfile.scope(handler):
            try:
                runlog = RunLog(folder / RESULTS, create=False)
                if budget is not None and budget != config.budget:
                    config = config.with_budget(budget)          # a bad --budget is named as such first
                if budget is not None and budget < len(runlog):
                    raise ConfigError(f"--budget {budget} is below the {len(runlog)} results {folder} already "
                                      f"holds; give --budget {len(runlog)} or more"
                                      + (f" (or leave it out to keep the budget of {saved.budget})"
                                         if saved.budget >= len(runlog) else ""))
                if budget is None and config.budget < len(runlog):
                    raise ConfigError(f"{folder / CONFIG} gives a budget of {config.budget}, below the {len(runlog)} "
                                      f"results {folder} already holds: config.json has been altered; restore it "
                                      f"from a copy, or resume with --budget {len(runlog)} or more")
                check_cells(space, runlog.rows, folder / RESULTS)
                if hasattr(factory, "check"):     # a bad --cifar or --device: refused before config.json changes
                    factory.check(local=dispatch == "inline")
                    if dispatch == "inline":
                        _check_cifar_data(factory(), runlog.rows, config)
                try:
                    evaluator, candidates = _candidates(config, factory, space)
                except DataError:
                    if data is None and config.data and not Path(config.data).exists():
                        raise DataError(f"the table {folder / CONFIG} records, {config.data}, does not exist "
                                        f"(moved?): continue with --resume {folder} --data WHERE_IT_IS_NOW") from None
                    raise
                searcher, state = _restore(folder, config, space, candidates, runlog,
                                           evaluator=evaluator, recorded_data=saved.data)
            except (AlphaXError, OSError) as exc:      # log.txt says why (the console gets it from the caller)
                logfile.append(folder, f"resume of {folder} failed: {exc}", name=__name__)
                raise
    except BaseException:
        if runlog is not None:
            runlog.close()
        logfile.detach(handler)
        lock.release()
        raise
    # config.json takes the new budget once the run goes on (Run.confirm): not when, say, the MPI server's
    # first client is refused
    run = Run(folder, config, space, searcher, runlog, evaluator_factory=factory, evaluator=evaluator,
              candidates=candidates, dispatch=dispatch, state=state, log_handler=handler, lock=lock,
              saved_config=saved)
    if len(runlog) > state.get("n", 0):
        run.checkpoint()            # the replay is done once
    if budget is not None:
        with run.log_scope():
            run.warn_budget()
    return run


def _not_a_run_folder(folder: Path) -> str:
    """Why ``folder`` cannot be resumed, and the way on (the end of an error message)."""
    if not folder.exists():
        return f"(it does not exist); start a run there with --out {folder}"
    if not folder.is_dir():
        return "(a file); give the run's folder"
    if (folder / "compare.json").exists():
        runs = sorted(p.name for p in (folder / "runs").glob("*") if (p / CONFIG).exists())
        return ("but a compare folder: the same alphax compare command continues it"
                + (f", or resume one of its runs, e.g. --resume {folder / 'runs' / runs[0]}" if runs else ""))
    if any(folder.iterdir()):
        return f"(no {CONFIG}); give the run's folder, the one that holds {CONFIG}"
    return f"(empty); start a run there with --out {folder}"


def _check_same_table(folder: Path, path, space: SearchSpace, evaluator, candidates, runlog: RunLog) -> None:
    """A table at another path than the run recorded (``--data`` on resume, or ``config.json`` edited)
    must give every logged cell the result it was logged with (the checkpoint's fingerprint checks the
    whole set of cells)."""
    known = {space.hash(c) for c in candidates}
    hint = "give the table the run started with (a copy of it, wherever it is now) with --resume DIR --data PATH"
    missing = [r["hash"] for r in runlog.rows if r["hash"] not in known]
    if missing:
        raise DataError(f"the table at {path} holds no cell {missing[0]} ({len(missing)} of the {len(runlog)} "
                        f"cells {folder} logged are missing): {hint}")
    for row in runlog.rows:
        if row.get("accuracy") is None:
            continue
        now = evaluator.evaluate(space.from_json(row)).accuracy
        if now is None or abs(now - row["accuracy"]) > 1e-9:
            raise DataError(f"the table at {path} says {now} for cell {row['hash']}, logged by {folder} as "
                            f"{row['accuracy']} (n={row['n']}): another table; {hint}")


def _altered_config(path: Path, folder: Path) -> CheckpointError:
    return CheckpointError(f"{path} was written with another config than {folder / CONFIG}; the run folder has "
                           f"been altered: restore config.json from a copy, or keep the folder aside and start a "
                           f"new run")


def _check_config_against_checkpoint(folder: Path, config: SearchConfig) -> None:
    """The config in the newest intact checkpoint's header against ``config`` (config.json, with the
    options a resume may change), before either is used: a config.json edited to another space or table
    is named as such, not as that space's or table's error. The table's path is checked later, with the
    table (:func:`_check_same_table`); checkpoints older than the header's config are checked once
    unpickled (:func:`_restore`)."""
    for path in (folder / LATEST, folder / PREVIOUS):
        try:
            header = checkpoint_info(path)
        except CheckpointError:           # missing or corrupt: load_checkpoint says so, or uses the other
            continue
        if isinstance(header.get("config"), dict):
            try:
                saved = replace(SearchConfig.from_json(header["config"]), data=config.data)
            except (ConfigError, TypeError, ValueError):
                return                    # _restore reads the state's own copy and says what is wrong
            if _defining(saved) != _defining(config):
                raise _altered_config(path, folder)
        return


def _defining(config: SearchConfig) -> SearchConfig:
    """``config`` without what may change when a run resumes (the budget, local training options; the
    table's path only after :func:`_check_same_table`)."""
    return replace(config, budget=1, train={k: v for k, v in config.train.items() if k not in LOCAL_TRAIN_OPTIONS})


_OTHER_CELLS = ("{path} refers to another set of candidate cells than the table now gives (was the data file "
                "changed?); resume with the data the run started with")


def _restore(folder: Path, config: SearchConfig, space: SearchSpace, candidates, runlog: RunLog, *,
             evaluator=None, recorded_data: str | None = None) -> tuple[Searcher, dict]:
    """The searcher restored from the newest intact checkpoint, with the rows after it replayed. A table
    at another path than the run recorded (``--data``, or a checkpoint's) must give every logged cell its
    logged result."""
    cands = list(candidates) if candidates is not None else []
    checked = config.data != recorded_data and candidates is not None
    if checked:          # a table given anew (--data): first, whether it gives the logged cells their results
        _check_same_table(folder, config.data, space, evaluator, candidates, runlog)
    cells_id = fingerprint(space, cands)

    def same_cells(path: Path, header: dict) -> None:
        # refused from the header, before unpickling would fail on other cells ("cannot be unpickled", taken
        # for a damaged file); checkpoints written before the header held it are checked once unpickled
        if header.get("candidates", cells_id) != cells_id:
            raise CheckpointError(_OTHER_CELLS.format(path=path))
        n = header.get("n")
        if "rows" in header and isinstance(n, int) and n <= len(runlog) and \
                rows_digest(runlog.rows[:n]) != header["rows"]:        # (a shorter log: its own error below)
            raise CheckpointError(f"{folder / RESULTS}: its first {n} results are not those {path.name} was written "
                                  f"after (a row's cell or accuracy was edited); restore results.jsonl from a copy, "
                                  f"or keep the folder aside and start a new run")

    found = load_checkpoint(folder, shared=cands, check=same_cells)
    if found is None:
        searcher, state = searcher_for(config, space, candidates), {"n": 0, "dispatch": "inline"}
        log.info("%s: no checkpoint; replaying all %d logged results", folder, len(runlog))
    else:
        state, path = found
        saved = SearchConfig.from_json(state["config"])
        if saved.data != config.data and candidates is not None:   # moved (--data), or config.json edited
            if not checked:
                _check_same_table(folder, config.data, space, evaluator, candidates, runlog)
            saved = replace(saved, data=config.data)
        if _defining(saved) != _defining(config):
            raise _altered_config(path, folder)
        if state["n"] > len(runlog):
            raise CheckpointError(f"{path} is at n={state['n']} but {folder / RESULTS} holds only "
                                  f"{len(runlog)} results; the results log has been cut: restore it from a copy, "
                                  f"or keep the folder aside and start a new run")
        if state.get("candidates") != cells_id:
            raise CheckpointError(_OTHER_CELLS.format(path=path))
        searcher = state["searcher"]
        log.info("%s: checkpoint %s at n=%d; replaying %d logged results", folder, path.name, state["n"],
                 len(runlog) - state["n"])
    rows = runlog.rows[state["n"]:]
    strict = state.get("dispatch") == "inline" and all(r.get("dispatch", "inline") == "inline" for r in rows)
    seconds = list(state.get("searcher_seconds", []))
    for row in rows:
        t0 = time.perf_counter()
        _replay(searcher, space, row, strict=strict)
        seconds.append(time.perf_counter() - t0)     # the replayed rows' searcher time, as it is redone
    # a farm's checkpoint holds the jobs it had out (asked ahead, being evaluated); those never logged are
    # taken back, so that they are proposed again (inline, nothing is out between results)
    lost = searcher.withdraw_untold({r["hash"] for r in runlog.rows})
    if lost:
        log.info("%s: %d proposal%s out for evaluation when the run stopped never came back; taken back, to be "
                 "proposed again", folder, len(lost), "" if len(lost) == 1 else "s")
    return searcher, {**state, "searcher_seconds": seconds}


def _replay(searcher: Searcher, space: SearchSpace, row: dict, *, strict: bool) -> None:
    result = Result(accuracy=row.get("accuracy"), seconds=float(row.get("seconds") or 0.0),
                    worker=row.get("worker", "inline"), error=row.get("error"), info=row.get("info") or {})
    if not strict:
        searcher.tell(space.from_json(row), result)
        return
    proposals = searcher.ask(1)
    got = space.hash(proposals[0].cell) if proposals else None
    if got != row["hash"]:
        raise CheckpointError(
            f"replay diverged at n={row['n']}: the restored searcher proposes {got} but results.jsonl "
            f"recorded {row['hash']}: the log does not follow from the checkpoint, config.json and data it was "
            f"written with (one of them, or the code, changed since). Start a new run; if only the checkpoints "
            f"are wrong, move them away to replay the log from the start")
    searcher.tell(proposals[0].cell, result)


def open_run(args) -> Run:
    """The run described by parsed ``alphax search`` options (``--resume DIR`` or a new ``--out``), for
    the MPI server: its results are recorded with ``dispatch: mpi``."""
    from alphax.cli.search import check_resume_args, config_from_args, out_from_args

    if getattr(args, "resume", None):
        local = check_resume_args(args)
        return resume_run(args.resume, budget=args.budget, dispatch="mpi", local_train=local, data=args.data)
    config = config_from_args(args)
    return create_run(config, out_from_args(args), dispatch="mpi")


# -- the inline loop -------------------------------------------------------------------------------
class StopOnSignal:
    """SIGINT/SIGTERM: the first asks the loop to stop at its next safe point, ``when`` (with a
    checkpoint); a second one interrupts at once (the log and the last checkpoint are enough to resume).
    ``signum`` is the first signal's number, or None."""

    def __init__(self, when: str = "after the current evaluation", signals=(signal.SIGINT, signal.SIGTERM),
                 same_within: float = 0.0):
        self.signum: int | None = None
        self.when, self.signals, self.same_within = when, tuple(signals), same_within
        self._at = 0.0
        self._old: dict[int, Any] = {}

    def __call__(self, signum, frame) -> None:
        if self.signum is not None:
            if signum == self.signum and time.monotonic() - self._at < self.same_within:
                return            # the same request by two routes (a process group's signal, then a parent's)
            raise Interrupted(signum)
        self.signum, self._at = signum, time.monotonic()
        log.warning("%s: stopping %s (send it again to stop at once)", signal.Signals(signum).name, self.when)

    def __enter__(self) -> "StopOnSignal":
        if threading.current_thread() is threading.main_thread():
            for sig in self.signals:
                self._old[sig] = signal.signal(sig, self)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)


def _evaluate(evaluator, cell) -> Result:
    """``evaluator.evaluate(cell)``; an error becomes a failed result (failure is data)."""
    t0 = time.perf_counter()
    try:
        result = evaluator.evaluate(cell)
    except Exception as exc:  # noqa: BLE001 - recorded in results.jsonl, the run goes on
        log.warning("evaluation failed: %s: %s", type(exc).__name__, exc)
        return Result(accuracy=None, seconds=time.perf_counter() - t0, worker="inline",
                      error=f"{type(exc).__name__}: {exc}", info={"traceback": traceback.format_exc()})
    return replace(result, worker="inline")


def run_search(run: Run, *, progress: bool | str | None = None, signals=(signal.SIGINT, signal.SIGTERM),
               same_within: float = 0.0, continue_with: str | None = None) -> RunSummary:
    """Evaluate proposals inline until the budget is reached (or the searcher has nothing left).

    Shows the progress with the best so far (:class:`alphax.progress.Progress`): ``progress`` is one of
    its modes, or None (``auto``: a tqdm bar when stderr is a terminal, a log line every 30 s otherwise),
    True (a bar) or False (nothing). On one of ``signals`` (a worker of ``alphax compare`` leaves SIGINT
    to its parent), checkpoints and raises ``KeyboardInterrupt``, logging ``continue_with`` (default:
    ``alphax search --resume DIR``) as the way on; a second signal stops at once, unless it is the same
    signal within ``same_within`` seconds (the same request by two routes).
    """
    from alphax.progress import Progress

    mode = {None: "auto", True: "bar", False: "off"}.get(progress, progress)
    cfg = run.config
    complete = True
    with run.log_scope(), StopOnSignal(signals=signals, same_within=same_within) as stop, \
            Progress(total=cfg.budget, initial=run.n, best=run.best, mode=mode, desc=f"{cfg.algo} seed {cfg.seed}",
                     label=run.progress_label() if mode != "off" else "best") as bar:   # (in the run's log scope)
        run.confirm()
        while run.remaining > 0 and stop.signum is None:
            proposal, ask_seconds = run.ask()
            if proposal is None:
                log.info("the searcher has no cell left to propose after %d results", run.n)
                complete = False
                break
            bar.update(run.record(proposal, _evaluate(run.evaluator, proposal.cell), ask_seconds=ask_seconds))
        if run.n > run.last_checkpoint:   # a resume with nothing to do keeps both checkpoints as they are
            run.checkpoint()
        if stop.signum is not None and run.remaining > 0:     # one during the last evaluation: complete
            log.warning("stopped at n=%d, checkpoint written; continue with: %s", run.n,
                        continue_with or f"alphax search --resume {run.folder}")
            raise Interrupted(stop.signum)
        best = bar.best
        run.log_ended(complete)
    if stop.signum is not None:     # after the loop's last look: its "stopping" warning meets a finished run
        log.warning("%s came as the run ended: it is complete", signal.Signals(stop.signum).name)
    return RunSummary(folder=run.folder, n=run.n, budget=cfg.budget, best=best, complete=complete,
                      wall_seconds=run.wall_seconds())
