"""A search run: its state and the inline run loop (``alphax search``); :mod:`alphax.runfolder` opens one
(new, or resumed).

Run folder (README.md, "Run folders, resume and results files"): ``config.json`` (the resolved :class:`~alphax.config.SearchConfig`),
``results.jsonl`` (:mod:`alphax.runlog`), ``checkpoint.pkl`` / ``checkpoint.prev.pkl``
(:mod:`alphax.checkpoint`: the pickled searcher with its random generator, ``n`` and timings),
``predictor.jsonl`` (the searcher's metrics, e.g. AlphaX's Kendall tau, when it exposes any) and
``stats.json`` (wall time, searcher time per result and the searcher's scalar metrics, written when the
run stops) and ``log.txt`` (:mod:`alphax.logfile`: what the process logged while the run was open, and
why it ended).

The MPI server (``workers.server``) drives the same :class:`Run` through
:func:`alphax.runfolder.open_run`, ``run.remaining`` and ``run.record``.
"""

from __future__ import annotations

import functools
import json
import logging
import signal
import threading
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from alphax import environment, logfile
from alphax.atomic import naming, write_atomic
from alphax.checkpoint import save_checkpoint
from alphax.config import SearchConfig
from alphax.errors import AlphaXError, Interrupted, SearcherError, first_line
from alphax.registry import EvaluatorFactory, evaluator_signature, fingerprint
from alphax.runlock import RunLock
from alphax.runlog import PREDICTOR, RunLog, finite_number, open_predictor, read_predictor, row_values
from alphax.searchers.base import Proposal, Result, Searcher, reward_problem
from alphax.searchers.external import class_name, is_external
from alphax.spaces.base import SearchSpace

__all__ = ["Run", "RunSummary", "run_search", "StopOnSignal", "note_optimum", "logged_cifar_data"]

log = logging.getLogger(__name__)

CONFIG = "config.json"
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


def _scalars(metrics: dict) -> dict:
    """A searcher's scalar metrics as its logs hold them: text, flags and numbers, a NaN or infinite one as
    null (JSON has no NaN: ``"tau": NaN``, a tau where the predictions all tie, is no JSON to jq or a
    browser)."""
    return {k: v if isinstance(v, (str, bool)) or finite_number(v) else None
            for k, v in metrics.items() if isinstance(v, (int, float, str))}


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
        self._pool_hashes: set[str] | None = None       # checked: the candidates' hashes, and those logged or
        self._asked: set[str] = set()                    # proposed since (made when first needed)
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
            stats = _read_stats(self.folder)      # kept for these results: a kill after the last of them leaves
            kept = stats.get("wall_seconds")      # an earlier session's, which the checkpoint and log go past
            return float(kept) if stats.get("n") == self.n and finite_number(kept) else self.wall_before
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
        proposals = self.checked(self.searcher.ask(1))
        seconds = time.perf_counter() - t0
        if not proposals:
            self._recording = False
            return None, seconds
        return proposals[0], seconds

    def checked(self, proposals: list[Proposal]) -> list[Proposal]:
        """``proposals``, where they come from a searcher of your own (``--algo FILE.py:CLASS``), held to what
        the built-in ones keep by construction (:mod:`alphax.candidates`, tested): each a cell this run never
        evaluated nor proposed (a farm's jobs still out included), and one of the pool's where there is one (a
        table's cells, training's pool); and what ``_ask`` returns a list of :class:`Proposal` of cells of
        the space. A :class:`SearcherError` naming the cell (or what came) otherwise, before anything is
        evaluated or logged."""
        if not is_external(self.config.algo):
            return proposals
        algo, what = self.config.algo, "return a list of alphax.searchers.base.Proposal(cell, predicted)"
        if proposals is None:
            return []
        if not isinstance(proposals, (list, tuple)):
            raise SearcherError(f"{algo}'s _ask returned a {type(proposals).__name__}, not a list: {what}")
        if self._pool_hashes is None:
            self._pool_hashes = {self.space.hash(c) for c in self.candidates}
            self._asked = {row["hash"] for row in self.log.rows}
        for proposal in proposals:
            if not isinstance(proposal, Proposal):
                raise SearcherError(f"{algo}'s _ask returned a {type(proposal).__name__}, not a Proposal: {what}")
            try:
                h = self.space.hash(proposal.cell)
            except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
                raise SearcherError(f"{algo} proposed {type(proposal.cell).__name__} {str(proposal.cell)[:80]!r}, "
                                    f"which is not a cell of the {self.config.space} space ({type(exc).__name__}: "
                                    f"{first_line(exc)}): propose cells from the candidates given to your "
                                    f"searcher") from None
            if h in self._asked:
                raise SearcherError(f"{algo} proposed cell {h}, which this run has evaluated or "
                                    f"proposed already: a searcher proposes each cell once (alphax.candidates."
                                    f"CandidateSet keeps the rule: mark what you propose)")
            if self.candidates and h not in self._pool_hashes:
                raise SearcherError(f"{algo} proposed cell {h}, which is not one of the "
                                    f"{len(self.candidates)} cells the evaluator can evaluate: propose from the "
                                    f"candidates given to your searcher (CandidateSet.snap replaces any other cell "
                                    f"by the nearest one)")
            self._asked.add(h)
        return proposals

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
        if row["predicted"] is not None and not finite_number(row["predicted"]):
            # no estimate (a diverged predictor's NaN, a searcher of your own): a log holds null or a number
            log.warning("the searcher's prediction for cell %s is %r, not a finite number: logged as null",
                        row["hash"], row["predicted"])
            row["predicted"] = None
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
                 "rows": self.log.digest(),          # of the n rows the state was made from
                 "software": environment.software()}
        t0 = time.perf_counter()
        save_checkpoint(self.folder, state, shared=self.candidates)
        self.last_checkpoint = self.n
        log.debug("checkpoint at n=%d in %.3f s", self.n, time.perf_counter() - t0)

    def _read_tau_count(self) -> int:
        """How many ranking-quality entries ``predictor.jsonl`` holds already (the highest index + 1)."""
        count = 0
        for row in read_predictor(self.folder)[0]:
            try:
                count = max(count, int(row["index"]) + 1)
            except (ValueError, KeyError, TypeError):
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
            self._predictor_file = open_predictor(self.folder)
        # the searcher's counts now, but for "results": each entry carries its own
        extra = {k: v for k, v in _scalars(metrics).items() if k not in ("tau", "results")}
        with naming(self.folder / PREDICTOR):
            for i in range(self._tau_written, len(taus)):
                results, tau, *made_at = taus[i]
                entry = {"index": i, "n": made_at[0] if made_at else self.n,
                         "results": results, "tau": tau if finite_number(tau) else None, **extra}
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
                 "searcher_metrics": _scalars(metrics)}
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
    """``evaluator.evaluate(cell)``; an error becomes a failed result (failure is data): its error the
    message's first line (torch adds a C++ backtrace), the whole traceback in its ``info``."""
    t0 = time.perf_counter()
    try:
        result = evaluator.evaluate(cell)
    except Exception as exc:  # noqa: BLE001 - recorded in results.jsonl, the run goes on
        log.warning("evaluation failed: %s: %s", type(exc).__name__, first_line(exc))
        return Result(accuracy=None, seconds=time.perf_counter() - t0, worker="inline",
                      error=f"{type(exc).__name__}: {first_line(exc)}", info={"traceback": traceback.format_exc()})
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
            Progress(total=cfg.budget, initial=run.n, best=run.best, mode=mode,
                     desc=f"{class_name(cfg.algo)} seed {cfg.seed}",
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
