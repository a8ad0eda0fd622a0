"""Reports for a run folder or a compare folder: PNG plots and a short text summary.

* **Run folder** (``results.jsonl`` + ``config.json``): ``best_so_far.png`` (best accuracy so far against
  samples, drawn as steps: observed, or where the optimum is a mean (over training seeds on NAS-Bench-201,
  over training repeats on a NASBench-101 table with several) the cell's mean; the optimum marked when
  known), ``ranking.png`` (the meta-DNN's ranking quality over the run: Kendall tau between the
  prediction each proposal carried and its real result, over the run's own ``tau_window``; only when the
  run logged predictions), ``best_cell.png`` (the best cell as a graph with its
  ops) and ``report.txt``.
* **Compare folder** (``summary.json`` + one run folder per algorithm and seed, anywhere below it):
  ``best_so_far.png`` (mean and 10-90 % band per algorithm), ``ranking.png`` (mean tau per algorithm that
  logged predictions), ``best_cell.png`` (the best cell over all runs), ``found.png`` (the share of seeds
  that had found the optimum by each sample, per algorithm) and ``report.txt``.

The pictures themselves are drawn by :mod:`alphax.plots`; matplotlib (Agg) and networkx are imported when
a report is written, not with :mod:`alphax`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import os
from dataclasses import dataclass

import numpy as np

from alphax.atomic import write_atomic
from alphax.compare import all_seeds_text, misses_last
from alphax.errors import DataError
from alphax.plots import (algo_colors, cell_problem, mean_ylabel, plot_best_so_far, plot_cell, plot_found,
                          plot_ranking)
from alphax.ranking import kendall_tau
from alphax.runlock import COMPARE_LOCK, LOCK, holder
from alphax.runlog import PREDICTOR, check_cells, finite_number, read_predictor, read_results, row_values, running_best
from alphax.searchers.alphax import TAU_WINDOW

__all__ = ["RunRecord", "read_run", "find_runs", "write_report", "kendall_tau", "rolling_tau", "holm"]

log = logging.getLogger(__name__)


@dataclass
class RunRecord:
    """One run folder: its config and the per-sample arrays read from ``results.jsonl``.

    ``accuracy`` float64 ``(N,)`` (NaN for a failed evaluation), ``predicted`` float64 ``(N,)`` (NaN when
    no prediction was logged), ``records`` the raw lines in order, ``predictor`` the rows of
    ``predictor.jsonl`` (the searcher's own metrics, e.g. AlphaX's Kendall tau, when it logged any).
    """

    path: str
    config: dict
    records: list[dict]
    accuracy: np.ndarray
    predicted: np.ndarray
    predictor: list[dict]
    label: str | None = None
    """What a comparison calls the run's searcher (``alphax compare --algos NAME=ALGO``: a variant's NAME),
    where that is not :attr:`algo`."""

    @property
    def algo(self) -> str:
        return str(self.config.get("algo") or self.config.get("searcher") or "?")

    @property
    def name(self) -> str:
        """The run's searcher as plots and tables name it: :attr:`label`, or else :attr:`algo`."""
        return self.label or self.algo

    @property
    def space(self) -> str:
        return str(self.config.get("space") or "nasbench101")

    @functools.cached_property
    def mean_kind(self) -> str | None:
        """What the values are where results are measured, as the optimum is, by the cell's mean rather than
        by the observed accuracy: over training seeds on NAS-Bench-201 (a result observes one), over
        training repeats on a NASBench-101 table with several (its optimum, noted in the run's stats.json or
        its comparison's summary.json, says so). None otherwise."""
        return measure_of(self.space, _optimum(self.config, folder=self.path))

    @property
    def tau_window(self) -> int:
        """The predictions a Kendall tau covers: the run's own ``--option tau_window`` (AlphaX's), so that
        the report's values and the ones the searcher logged are over the same window."""
        window = (self.config.get("searcher_options") or {}).get("tau_window", TAU_WINDOW)
        return window if isinstance(window, int) and not isinstance(window, bool) and window >= 1 else TAU_WINDOW

    @property
    def measured_by_mean(self) -> bool:
        return self.mean_kind is not None

    @functools.cached_property
    def values(self) -> np.ndarray:
        """Each sample's value in the optimum's measure (see :attr:`measured_by_mean`), NaN if it failed
        (computed once: on NAS-Bench-201 it looks up every cell's mean)."""
        return row_values(self.records, _reference(self.config) if self.measured_by_mean else None)

    def best_so_far(self) -> np.ndarray:
        return running_best(self.values)

    def best_index(self) -> int | None:
        values = self.values
        if not len(values) or np.all(np.isnan(values)):
            return None
        return int(np.nanargmax(values))


def _read_json(path: str) -> dict:
    """The JSON object in ``path``; a ``DataError`` if it is not valid JSON or not an object."""
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); the file has been altered: restore it from a copy "
                        f"(a compare folder's summary.json is rewritten by running its alphax compare command "
                        f"again)") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: not a JSON object (a {type(obj).__name__}); the file has been altered "
                        f"(a compare folder's summary.json is rewritten by running its alphax compare command again)")
    return obj


def read_run(path: str, data: str | None = None) -> RunRecord:
    """Reads a run folder; raises ``DataError`` if it is not one. ``data`` replaces config.json's table path
    (the table moved)."""
    results, config = os.path.join(path, "results.jsonl"), os.path.join(path, "config.json")
    if not (os.path.isfile(results) and os.path.isfile(config)):
        raise DataError(f"{path} is not a run folder (needs results.jsonl and config.json)")
    records = read_results(results)
    acc = np.array([np.nan if r.get("accuracy") is None else float(r["accuracy"]) for r in records])
    pred = np.array([np.nan if r.get("predicted") is None else float(r["predicted"]) for r in records])
    config = _read_json(config)
    if data is not None:
        config = {**config, "data": os.path.abspath(data)}
    return RunRecord(path, config, records, acc, pred, _read_predictor(path))


def _read_predictor(folder: str) -> list[dict]:
    """Entries of ``predictor.jsonl`` that carry ``n`` and ``tau`` (a torn or foreign line is skipped, as is
    one whose ``n`` is no integer or whose ``tau`` no number)."""
    rows, skipped = read_predictor(folder)
    rows = [row for row in rows if row.get("tau") is not None and row.get("n") is not None]
    kept = [row for row in rows if isinstance(row["tau"], (int, float)) and not isinstance(row["tau"], bool)
            and isinstance(row["n"], int) and not isinstance(row["n"], bool) and 0 < row["n"] < 2**63]
    # (a tau is NaN where the predictions all tie: null since 2026-12-08, NaN in older files)
    skipped += len(rows) - len(kept)
    if skipped:
        log.warning("%s: skipping %d unreadable line%s", os.path.join(folder, PREDICTOR), skipped,
                    "s" if skipped > 1 else "")
    return kept


def find_runs(root: str, data: str | None = None) -> list[RunRecord]:
    """Every run folder below ``root`` (sorted by path); ``data`` as for :func:`read_run`."""
    runs = []
    for dirpath, _, files in sorted(os.walk(root)):
        if "results.jsonl" in files and "config.json" in files:
            runs.append(read_run(dirpath, data))
    return runs


# -- ranking quality ----------------------------------------------------------------------------
def rolling_tau(run: RunRecord, *, window: int | None = None, min_pairs: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Kendall tau of (predicted, real) over the last ``window`` (default: the run's
    :attr:`~RunRecord.tau_window`) predicted samples, after each predicted sample once ``min_pairs``
    exist. Returns ``(sample numbers, taus)``, both ``(M,)``."""
    window = window or run.tau_window
    ok = np.flatnonzero(~np.isnan(run.predicted) & ~np.isnan(run.accuracy))
    xs, taus = [], []
    for k in range(min_pairs, len(ok) + 1):
        idx = ok[max(0, k - window):k]
        xs.append(int(ok[k - 1]) + 1)
        taus.append(kendall_tau(run.predicted[idx], run.accuracy[idx]))
    return np.asarray(xs, dtype=np.int64), np.asarray(taus)


# -- optimum and cells --------------------------------------------------------------------------
def _comparison_of(run_folder: str) -> str | None:
    """The folder of the comparison a run is one of (``alphax compare`` writes its runs to
    ``OUT/runs/ALGO-seedS``, and ``OUT/compare.json``); None for a run of its own."""
    out = os.path.join(run_folder, "..", "..")
    return out if os.path.isfile(os.path.join(out, "compare.json")) else None


def _optimum(config: dict, summary: dict | None = None, folder: str | None = None) -> dict | None:
    """``{"hash", "accuracy"}`` of the data set's optimum when it is known: from a comparison's summary,
    the run's ``stats.json`` (``alphax search`` notes it there as it ends), the summary of the comparison
    the run belongs to, or the data: NAS-Bench-201's, a NASBench-101 run's table (with ``measure`` where
    the table holds several training repeats)."""
    if summary and summary.get("optimum"):
        return summary["optimum"]
    if config.get("optimum"):
        return config["optimum"]
    places = [os.path.join(folder, "stats.json")] if folder else []
    compare = _comparison_of(folder) if folder else None
    if compare:
        places.append(os.path.join(compare, "summary.json"))         # only the comparison this run is one of
    for path in places:
        try:
            with open(path) as f:
                found = json.load(f).get("optimum")
        except (OSError, ValueError, AttributeError, RecursionError):
            continue
        if isinstance(found, dict) and isinstance(found.get("hash"), str) and finite_number(found.get("accuracy")):
            return found
    if config.get("space") == "nasbench201":
        cell, acc = _nb201_data(config).optimum
        return {"hash": cell.arch, "accuracy": acc}
    if config.get("evaluator", "table") == "table":
        # a run not ended (stopped, killed, a comparison's still going): its table says, as it would have
        try:
            evaluator = _nb101_evaluator(config.get("data"))
        except DataError as exc:
            log.warning("%s; its accuracies are reported as observed", exc)
            return None
        found = evaluator.optimum()
        if found is not None:
            return {"hash": found[0], "accuracy": float(found[1]),
                    **({"measure": evaluator.reference_name} if evaluator.repeated else {})}
    return None


def _nb201_data(config: dict):
    """The NAS-Bench-201 data set a run searched: its ``--dataset``, from its ``--data`` copy if it had one."""
    from alphax import nasbench201

    try:
        return nasbench201.load(config.get("dataset") or "cifar10", config.get("data"))
    except DataError as exc:
        if not config.get("data"):
            raise
        # the advice of a search's --data (leave it out) would read other data than the run searched
        raise DataError(f"{str(exc).split('; ')[0]}; the run searched that copy of the data, which its report "
                        f"reads: give alphax report --data PATH where it is now") from None


def measure_of(space: str, optimum: dict | None) -> str | None:
    """What results and the optimum are measured in where it is a cell's mean: the optimum's ``measure``
    (summary.json, stats.json), else on NAS-Bench-201 the mean over training seeds (which older folders
    did not note). None: the observed accuracy."""
    measure = optimum.get("measure") if isinstance(optimum, dict) else None
    if isinstance(measure, str):
        return measure
    return "mean over training seeds" if space == "nasbench201" else None


def _optimum_value(kind: str | None, optimum: dict) -> str:
    """The optimum's accuracy, saying what it is where it is a mean (``kind``: :func:`measure_of`)."""
    return f"{optimum['accuracy']:.5f}{', ' + kind if kind else ''}"


def _reference(config: dict):
    """Row -> the cell's mean accuracy (the optimum's measure): over training seeds on NAS-Bench-201, over
    the table's training repeats on NASBench-101."""
    if config.get("space") == "nasbench201":
        data = _nb201_data(config)
        return lambda row: data.mean(data.space.from_json(row))
    evaluator = _nb101_evaluator(config.get("data"))
    return lambda row: evaluator.reference_value(row["hash"])


@functools.lru_cache(maxsize=2)
def _nb101_evaluator(data: str | None):
    """The NASBench-101 table a run searched (loaded once for all the runs of a comparison)."""
    from workers.evaluators import TableEvaluator

    try:
        return TableEvaluator.from_path(data)
    except DataError as exc:
        raise DataError(f"{exc}. The run's results are measured by each cell's mean over the table's training "
                        f"repeats, so its report reads the table: give alphax report --data PATH where it is "
                        f"now") from None


def _nb201_mean(config: dict, record: dict) -> tuple[float, int] | None:
    if config.get("space") != "nasbench201":
        return None
    data = _nb201_data(config)
    cell = data.space.from_json(record)
    return data.mean(cell), data.rank(cell)


def _plot_cell(path: str, run: RunRecord, record: dict, title: str) -> None:
    """``record``'s cell drawn, once it is known to be the cell of its hash (:func:`check_cells`)."""
    problem = cell_problem(record.get("matrix"), record.get("ops"))
    if problem:
        raise DataError(f"the best row (n={record.get('n')}) of the results cannot be drawn: {problem}; "
                        f"the results log has been altered (restore it from a copy)")
    from alphax.config import SearchConfig
    from alphax.registry import build

    space, _ = build(SearchConfig(space=run.space))          # the space only: its evaluator is never made
    check_cells(space, [record], os.path.join(run.path, "results.jsonl"))
    plot_cell(path, record["matrix"], record["ops"], title)


# -- the reports --------------------------------------------------------------------------------
def write_report(folder: str, *, out: str | None = None, data: str | None = None) -> list[str]:
    """Writes the report of a run or compare folder into ``out`` (default: ``folder``) and returns the
    paths written. Raises ``DataError`` for a folder that is neither. ``data``: where the NASBench-101
    table is now, for runs measured by the mean over its training repeats (in place of config.json's)."""
    if not os.path.isdir(folder):
        raise DataError(f"{folder}: no such folder" if not os.path.exists(folder) else
                        f"{folder} is a file; give a run folder or a compare folder")
    out = out or folder
    _check_out(folder, out)
    made = not os.path.exists(out)
    os.makedirs(out, exist_ok=True)
    try:
        with _Staged(out) as staged:
            if os.path.isfile(os.path.join(folder, "summary.json")):
                return _compare_report(folder, staged, data)
            if os.path.isfile(os.path.join(folder, "results.jsonl")) and \
                    os.path.isfile(os.path.join(folder, "config.json")):
                return _run_report(folder, staged, data)
    except BaseException:
        if made and not os.listdir(out):      # the --out folder this failed report made: gone again
            os.rmdir(out)
        raise
    if os.path.isfile(os.path.join(folder, "compare.json")):
        runs = sorted(r.path for r in find_runs(os.path.join(folder, "runs")))
        one = f"; or report one of its runs as it stands, e.g. alphax report {runs[0]}" if runs else ""
        pid = holder(folder, name=COMPARE_LOCK)
        if pid is not None:
            raise DataError(f"{folder} is a comparison still running ({_process(pid)}; no summary.json yet): "
                            f"report it when it has finished{one}")
        raise DataError(f"{folder} is a comparison that has not finished (no summary.json yet): run the same "
                        f"alphax compare command again, which continues its runs and writes the summary{one}")
    raise DataError(f"{folder} is neither a run folder (results.jsonl + config.json) nor a compare folder "
                    f"(summary.json)")


REPORT_FILES = ("best_so_far.png", "ranking.png", "best_cell.png", "found.png", "report.txt")
"""What a report writes (into its folder, or ``--out``)."""


class _Staged:
    """A report's files, written under temporary names (``.NAME.new``) and moved into place together once
    the whole report is made (:meth:`commit`): a report that fails part-way (a best row that cannot be
    drawn, a full disk) leaves an earlier report as it was. Used as a context manager, it removes what it
    did not move."""

    def __init__(self, out: str):
        self.out, self.files = out, []

    def path(self, name: str) -> str:
        tmp = os.path.join(self.out, f".{name}.new")
        self.files.append((tmp, os.path.join(self.out, name)))
        return tmp

    def commit(self) -> list[str]:
        """Move the staged files into place, the last staged (``report.txt``, which marks a folder's report as
        a report of its run) last, in one replace. The earlier report's other files are first set aside
        (``.NAME.old``) and put back if any move fails, so that a failure (a file made read-only) leaves
        the earlier report whole, not part old and part new. A kill while they move can leave new plots
        beside the earlier ``report.txt``, never a folder without one: the next report is made as usual
        and removes any ``.NAME.old`` left."""
        *others, (marker_tmp, marker) = self.files
        olds = [os.path.join(os.path.dirname(final), f".{os.path.basename(final)}.old") for _, final in others]
        aside, placed = [], []
        try:
            for (_, final), old in zip(others, olds):
                if os.path.lexists(final):
                    os.replace(final, old)
                    aside.append((old, final))
            for tmp, final in others:
                os.replace(tmp, final)
                placed.append(final)
            os.replace(marker_tmp, marker)
        except BaseException:
            for final in placed:
                with contextlib.suppress(OSError):
                    os.remove(final)
            for old, final in aside:
                with contextlib.suppress(OSError):
                    os.replace(old, final)
            raise
        for old in olds:
            with contextlib.suppress(OSError):
                os.remove(old)
        moved, self.files = [final for _, final in self.files], []
        return moved

    def __enter__(self) -> "_Staged":
        return self

    def __exit__(self, *exc) -> None:
        for tmp, _ in self.files:
            if os.path.exists(tmp):
                os.remove(tmp)


def _first_line(path: str) -> str | None:
    """The first line of ``path`` (``""`` when it cannot be read as text), or None when there is no file."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.readline()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError):
        return ""


def _check_out(folder: str, out: str) -> None:
    """A report never overwrites what it did not write: ``--out`` may hold this folder's earlier report
    (its report.txt names the folder on its first line), not another run's folder or other files of
    the same names."""
    if not os.path.exists(out):
        return
    if os.path.isdir(out) and not os.access(out, os.W_OK | os.X_OK):
        # (a colleague's results on shared storage, say): the way on is another folder
        raise DataError(f"{out} is a folder you cannot write (permission denied), so the report cannot go there: "
                        f"give --out DIR, a folder of yours (nothing was written)")
    if os.path.realpath(out) == os.path.realpath(folder):
        # its own folder: the plots' names are the report's; a report.txt of the user's is kept (an earlier
        # report's starts with "run: " or "compare: " and the folder, maybe since moved)
        first = _first_line(os.path.join(out, "report.txt"))
        if first is not None and not first.startswith(("run: ", "compare: ")):
            raise DataError(f"{os.path.join(out, 'report.txt')} is not from a report, and the report would "
                            f"overwrite it: move it aside, or give --out DIR (nothing was written)")
        return
    if not os.path.isdir(out):
        raise DataError(f"--out {out} is a file; give a folder")
    # a comparison still running or stopped has compare.json and its lock, not yet summary.json
    if any(os.path.exists(os.path.join(out, name))
           for name in ("results.jsonl", "config.json", "summary.json", "compare.json", COMPARE_LOCK, LOCK)):
        raise DataError(f"--out {out} is another run or compare folder; its own report would be overwritten: "
                        f"choose a new folder")
    taken = [name for name in REPORT_FILES if os.path.exists(os.path.join(out, name))]
    if taken:
        first = _first_line(os.path.join(out, "report.txt")) or ""
        named = first.split(": ", 1)[-1].rstrip("\n") if first.startswith(("run: ", "compare: ")) else ""
        if not named or os.path.realpath(named) != os.path.realpath(folder):     # the folder by any name
            raise DataError(f"--out {out} already holds {', '.join(taken)}, not from a report of {folder}; "
                            f"choose a new folder (nothing was written)")


def _measure(run: RunRecord) -> str:
    return "mean accuracy" if run.measured_by_mean else "accuracy"


def _ylabel(run: RunRecord) -> str:
    kind = run.mean_kind
    return mean_ylabel(kind) if kind else "best accuracy so far"


def _cell_line(run: RunRecord, rec: dict) -> str:
    text = f"{rec.get('hash', '?')}  accuracy {rec.get('accuracy')}  (sample {rec.get('n', '?')})"
    mean = _nb201_mean(run.config, rec)
    if mean is not None:
        text += f"; mean over training seeds {mean[0]:.5f}, rank {mean[1]} of 15625"
    elif run.mean_kind and rec.get("accuracy") is not None:      # a NASBench-101 table with several repeats
        text += f"; {run.mean_kind} {_reference(run.config)(rec):.5f}"
    return text + f"\n  ops: {', '.join(rec.get('ops', []))}"


def _logged_tau(run: RunRecord) -> tuple[np.ndarray, np.ndarray] | None:
    if not run.predictor:
        return None
    xs = np.array([int(r["n"]) for r in run.predictor])
    return xs, np.array([float(r["tau"]) for r in run.predictor])


def _windows(windows: set[int]) -> str:
    return " or ".join(str(w) for w in sorted(windows))


def _tau_ylabel(windows: set[int]) -> str:
    return f"Kendall tau (last {_windows(windows)} predictions vs results)"


def _ranking_text(runs: list[RunRecord]) -> str:
    logged = [r for r in runs if np.any(~np.isnan(r.predicted))]
    if not logged:
        why = ("AlphaX logs them once its meta-DNN has had its first fit, after its first random samples"
               if any(r.algo == "alphax" for r in runs) else "only AlphaX runs do")
        return f"meta-DNN ranking quality: not available (no run logged predictions in results.jsonl; {why})"
    lines = [f"meta-DNN ranking quality (Kendall tau, last {_windows({r.tau_window for r in logged})} "
             f"predictions vs real results):"]
    by_algo: dict[str, list[float]] = {}
    for r in logged:
        _, taus = rolling_tau(r)
        if len(taus):
            by_algo.setdefault(r.name, []).append(float(taus[-1]))
    for algo, v in by_algo.items():
        lines.append(f"  {algo}: final tau {np.nanmean(v):.3f} (mean over {len(v)} run(s))")
    if not by_algo:
        lines.append("  fewer than 10 predictions logged")
    own: dict[str, list[float]] = {}     # per algorithm or variant, as the final tau (were one mean of all)
    for r in runs:
        if r.predictor:
            own.setdefault(r.name, []).append(float(r.predictor[-1]["tau"]))
    for algo, v in own.items():
        lines.append(f"  {algo + ': ' if len(own) > 1 else ''}tau logged by the searcher (predictor.jsonl), last "
                     f"value: {np.mean(v):.3f} (mean over {len(v)} run(s)); logged at its last refit, so without "
                     f"the predictions made after it that the final tau counts")
    return "\n".join(lines)


def _failures(runs: list[RunRecord]) -> str | None:
    """A line on the failed evaluations of ``runs`` (how many, and the first error), or None when none
    failed: where every evaluation failed, the plots have nothing to draw, and this line says why."""
    failed = [(r, k) for r in runs for k in np.flatnonzero(np.isnan(r.accuracy))]
    if not failed:
        return None
    total = sum(len(r.records) for r in runs)
    first_run, k = failed[0]
    first = first_run.records[k]
    every = "every evaluation failed" if len(failed) == total else "failed evaluations"
    return (f"{every}: {len(failed)} of {total} (the first, n={first.get('n', k + 1)}"
            f"{'' if len(runs) == 1 else ' of ' + os.path.basename(first_run.path)}: "
            f"{first.get('error') or 'no error recorded'})")


def _hardware(run: RunRecord) -> str | None:
    """The line naming what a training run's results were trained on: each device model
    (``info.device_name``; the device, as ``cuda:0``, for a result from before models were noted), the
    results trained there and their median training time. None where no result names a device (a table)."""
    times: dict[str, list[float]] = {}
    for r in run.records:
        info = r.get("info")
        name = (info.get("device_name") or info.get("device")) if isinstance(info, dict) else None
        if isinstance(name, str):
            t = info.get("training_time")
            times.setdefault(name, []).append(float(t) if finite_number(t) else math.nan)
    if not times:
        return None
    parts = []
    for name, ts in sorted(times.items(), key=lambda item: -len(item[1])):
        known = [t for t in ts if not math.isnan(t)]
        median = float(np.median(known)) if known else None
        took = ("" if median is None else
                f", median training time {median / 60:.1f} min" if median >= 120 else
                f", median training time {median:.1f} s")
        parts.append(f"{name} ({len(ts)} result{'' if len(ts) == 1 else 's'}{took})")
    return "trained on: " + "; ".join(parts)


def _table_size(config: dict) -> int | None:
    """The number of cells a table run could evaluate, its pool (``Evaluator.candidates``: the cells with
    a result; None: it trains, or the table cannot be read)."""
    if config.get("evaluator", "table") != "table":
        return None
    try:
        if config.get("space") == "nasbench201":
            return len(_nb201_data(config).cells)
        return len(_nb101_evaluator(config.get("data")).candidates())
    except (DataError, OSError, TypeError):
        return None


def _process(pid: int) -> str:
    """A lock holder as a report names it (:func:`~alphax.runlock.holder`; 0: a process the kernel does
    not show this one, in another pid namespace)."""
    return f"process {pid}" if pid > 0 else "another process"


def _stopped_early(run: RunRecord) -> str | None:
    """The report's line for a run with fewer results than its budget: still running (a process has it
    open), or stopped, and then how to continue it; nothing for one that evaluated every cell of its
    table (nothing is left to continue). A run of a comparison is continued by its ``alphax compare``
    command (README), which also updates summary.json."""
    budget, n = run.config.get("budget"), len(run.records)
    if not isinstance(budget, int) or isinstance(budget, bool) or n >= budget:
        return None
    size = _table_size(run.config)
    if size is not None and n >= size:
        return None
    pid = holder(run.path)
    if pid is not None:
        return f"still running: {_process(pid)} has the run open; this report shows its first {n} results"
    compare = _comparison_of(run.path)
    if compare:
        return (f"stopped before its budget: the alphax compare command that made {os.path.abspath(compare)} "
                f"(run again with the same --out) continues it")
    mpi = any(r.get("dispatch") == "mpi" for r in run.records)
    return (f"stopped before its budget: {'run_server.py' if mpi else 'alphax search'} --resume "
            f"{os.path.abspath(run.path)} continues it")


def _run_report(folder: str, staged: _Staged, data: str | None = None) -> list[str]:
    run = read_run(folder, data)
    if not run.records:
        raise DataError(f"{folder}/results.jsonl holds no results yet: continue the run (alphax search --resume "
                        f"{folder}, or run_server.py --resume {folder} for an MPI run), then report it")
    optimum = _optimum(run.config, folder=folder)
    cfg = run.config
    label = f"{run.algo} on {run.space}" + (f" / {cfg['dataset']}" if cfg.get("dataset") else "")
    plot_best_so_far(staged.path("best_so_far.png"), {run.algo: [run.best_so_far()]}, optimum,
                     f"best so far: {label}", ylabel=_ylabel(run))
    xs, taus = rolling_tau(run)
    logged = _logged_tau(run)
    if len(xs) or logged:
        plot_ranking(staged.path("ranking.png"), {run.algo: [(xs, taus)]} if len(xs) else {},
                     f"meta-DNN ranking quality: {label}", ylabel=_tau_ylabel({run.tau_window}),
                     logged={run.algo: [logged]} if logged else None)
    best = run.best_index()
    lines = [f"run: {os.path.abspath(folder)}", f"search: {label}, seed {cfg.get('seed', '?')}, "
             f"{len(run.records)} samples (budget {cfg.get('budget', '?')})"]
    options = cfg.get("searcher_options")
    if isinstance(options, dict) and options:
        lines.append(f"searcher options: {_options_text(options)} (the others: the searcher's defaults)")
    stopped = _stopped_early(run)
    if stopped:
        lines.append(stopped)
    failures = _failures([run])
    if failures:
        lines.append(failures)
    hardware = _hardware(run)
    if hardware:
        lines.append(hardware)
    if best is not None:
        rec = run.records[best]
        _plot_cell(staged.path("best_cell.png"), run, rec,
                   f"best cell ({_measure(run)} {run.values[best]:.4f}, sample {rec.get('n', best + 1)})")
        lines.append("best cell: " + _cell_line(run, rec))
    if optimum:
        hit = next((r.get("n", k + 1) for k, r in enumerate(run.records)
                    if r.get("hash") == optimum["hash"] and r.get("accuracy") is not None), None)
        regret = optimum["accuracy"] - float(np.nanmax(run.values)) if best is not None else None
        lines.append(f"optimum: {optimum['hash']} ({_optimum_value(run.mean_kind, optimum)}); "
                     + (f"found at sample {hit}" if hit else "not found" + (
                         f" (regret {regret:.6f}: the optimum less the best {_measure(run)})"
                         if regret is not None else "")))
    lines.append(_ranking_text([run]))
    return _write_text(staged, lines)


def _write_text(staged: _Staged, lines: list[str]) -> list[str]:
    """``report.txt`` (the summary lines and the files written), then every staged file moved into place;
    returns them."""
    lines.append("files: " + ", ".join(os.path.basename(final) for _, final in staged.files) + ", report.txt")
    text = ("\n".join(lines) + "\n").encode("utf-8")
    write_atomic(staged.path("report.txt"), lambda f: f.write(text))   # never half a report.txt: it marks ours
    return staged.commit()


def _summary_problem(summary: dict) -> str | None:
    """What is wrong with the parts of a compare's ``summary.json`` the report reads, or None."""
    def number(x) -> bool:
        return x is None or finite_number(x)

    missing = {"space", "budget", "seeds", "algorithms"} - set(summary)
    if missing:
        return f"lacks {', '.join(sorted(missing))}"
    if not isinstance(summary["seeds"], list) or not number(summary["budget"]):
        return "has seeds that are not a list or a budget that is not a number"
    optimum = summary.get("optimum")
    if optimum is not None and not (isinstance(optimum, dict) and isinstance(optimum.get("hash"), str)
                                    and number(optimum.get("accuracy"))):
        return f"has optimum={optimum!r}, not {{hash, accuracy}}"
    if not isinstance(summary["algorithms"], dict):
        return "has algorithms that are not an object"
    for algo, a in summary["algorithms"].items():
        hits = a.get("samples_to_optimum", []) if isinstance(a, dict) else None
        regret = a.get("regret_at", {}) if isinstance(a, dict) else None
        if not (isinstance(hits, list) and all(number(x) for x in hits) and isinstance(regret, dict)
                and all(number(x) for x in regret.values()) and number(a.get("mean_samples_to_optimum"))
                and number(a.get("median_samples_to_optimum")) and number(a.get("sem_samples_to_optimum"))
                and number(a.get("mean_samples_to_optimum_all_seeds"))
                and number(a.get("median_samples_to_optimum_all_seeds"))):
            return f"has an entry for {algo!r} that is not a compare's summary"
    return None


def _extension_pending(folder: str, summary: dict) -> str | None:
    """A warning when ``compare.json`` asks for more than ``summary.json`` covers (a larger budget, more
    seeds or algorithms: an extension stopped before its summary was written), else None."""
    try:
        asked = _read_json(os.path.join(folder, "compare.json"))
    except (OSError, DataError):        # none, or damaged: the compare command itself says so
        return None
    algos = asked.get("algos")
    if not (isinstance(algos, list) and all(isinstance(a, str) for a in algos)):
        return None                     # edited by hand: the compare command itself says so
    have = (summary.get("budget"), len(summary.get("seeds", [])), sorted(summary.get("algorithms", {})))
    want = (asked.get("budget"), asked.get("seeds"), sorted(algos))
    if have == want:
        return None
    pid = holder(folder, name=COMPARE_LOCK)
    if pid is not None:
        return (f"note: the comparison is running ({_process(pid)}): compare.json asks for budget {want[0]}, "
                f"{want[1]} seeds, {','.join(want[2])}; this report shows summary.json as it stands, for budget "
                f"{have[0]}, {have[1]} seeds, {','.join(have[2])}")
    return (f"warning: compare.json asks for budget {want[0]}, {want[1]} seeds, {','.join(want[2])}, but summary.json "
            f"covers budget {have[0]}, {have[1]} seeds, {','.join(have[2])}: an extension of the comparison has not "
            f"finished (this report shows summary.json as it stands); run the same alphax compare command again")


def _cut(run: RunRecord, budget) -> RunRecord:
    """``run`` as of its first ``budget`` results (all of them when it has no more)."""
    if not isinstance(budget, int) or len(run.records) <= budget:
        return run
    return RunRecord(run.path, run.config, run.records[:budget], run.accuracy[:budget], run.predicted[:budget],
                     [p for p in run.predictor if int(p["n"]) <= budget], run.label)


def _variant_lines(algorithms: dict) -> list[str]:
    """What each variant of a comparison ran (``alphax compare --algos NAME=ALGO --option NAME.KEY=VALUE``):
    its algorithm and options, from summary.json."""
    lines = []
    for name, a in algorithms.items():
        algo = a.get("algo", name) if isinstance(a, dict) else name
        options = a.get("options") if isinstance(a, dict) and isinstance(a.get("options"), dict) else {}
        if algo != name or options:
            lines.append(f"{name}: {algo} with {_options_text(options) or 'its defaults'}")
    return ["variants:", *(f"  {line}" for line in lines)] if lines else []


def _paired_lines(algorithms: dict) -> list[str]:
    """Each variant against its own algorithm where the comparison has that too (``size`` against ``alphax``),
    paired seed by seed (a seed starts both alike: common random numbers): the mean difference in samples
    to the optimum over the seeds where both found it, its standard error, and how often each needed fewer;
    on how many seeds only one of them found it (a count that the means over the finds leave out); and a
    sign test over every seed where the two differ, a find counting as fewer samples than a miss (with more than
    one such test, each p also Holm-adjusted for their number: :func:`_p_texts`)."""
    from scipy.stats import binomtest

    lines: list = []           # text, or a sign test's (fewer, more, p), written once every p is known
    for name, a in algorithms.items():
        base = a.get("algo", name) if isinstance(a, dict) else name
        if base == name or base not in algorithms:
            continue
        mine, theirs = a.get("samples_to_optimum", []), algorithms[base].get("samples_to_optimum", [])
        pairs = [(x, y) for x, y in zip(mine, theirs) if x is not None and y is not None]
        alone = {name: sum(x is not None and y is None for x, y in zip(mine, theirs)),
                 base: sum(x is None and y is not None for x, y in zip(mine, theirs))}
        only = "; ".join(f"only {k} found it on {n} seed{'s' if n > 1 else ''}" for k, n in alone.items() if n)
        if len(pairs) >= 2:
            d = np.array([x - y for x, y in pairs], dtype=float)
            lines.append(f"  {name} - {base}: {d.mean():+.1f} samples to the optimum (s.e. "
                         f"{d.std(ddof=1) / np.sqrt(len(d)):.1f}; fewer on {int((d < 0).sum())} seeds, more on "
                         f"{int((d > 0).sum())}, over the {len(d)} both found it{f'; {only}' if only else ''})")
        elif only:              # too few finds in common for a difference, but not nothing to say
            lines.append(f"  {name} - {base}: both found it on {len(pairs)} seed{'' if len(pairs) == 1 else 's'}, "
                         f"too few to pair; {only}")
        else:
            continue
        n = min(len(mine), len(theirs))
        x, y = misses_last(mine[:n]), misses_last(theirs[:n])     # both missed: equal, neither side
        fewer, more = int((x < y).sum()), int((x > y).sum())
        if fewer + more:
            lines.append((fewer, more, binomtest(fewer, fewer + more).pvalue))
    tests = [i for i, line in enumerate(lines) if isinstance(line, tuple)]
    texts, note = _p_texts([lines[i][2] for i in tests])
    for i, text in zip(tests, texts):
        fewer, more, _ = lines[i]
        lines[i] = (f"    over the seeds where they differ, a find counting as fewer samples than a miss: fewer on "
                    f"{fewer}, more on {more}, sign test p = {text}")
    return [f"paired by seed{f' ({note})' if note else ''}:", *lines] if lines else []


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of p-values for testing them together (Holm 1979): the k-th smallest of m
    is multiplied by m - k + 1, then made no smaller than the one before it, and capped at 1. It holds the
    chance of any false rejection at the level, as Bonferroni's does, for any dependence between the tests."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order]))
    out = np.empty_like(p)
    out[order] = stepped
    return out


def _p_texts(pvalues: list[float]) -> tuple[list[str], str]:
    """The p-values of one family of tests as the report prints them, and a note for the family's heading:
    with more than one test, each p with its Holm adjustment (:func:`holm`) beside it, which is the one to
    compare with a level when the tests are read together."""
    if len(pvalues) < 2:
        return [f"{p:.2g}" for p in pvalues], ""
    return ([f"{p:.2g}, adjusted {a:.2g}" for p, a in zip(pvalues, holm(pvalues))],
            f"p adjusted for the {len(pvalues)} tests by Holm's method")


def _rank_lines(algorithms: dict) -> list[str]:
    """Each entry against the comparison's first, by the ranks of their seeds' samples to the optimum, a miss
    ranked after every find (so that misses count, as the means over the finds cannot): the share of seed
    pairs in which the first needed fewer (ties count half) and the two-sided Mann-Whitney p-value. Seeds
    of two algorithms are not paired; a variant and its algorithm are (:func:`_paired_lines`), so that pair is
    left out here. With more than one entry ranked, each p is also Holm-adjusted for their number
    (:func:`_p_texts`)."""
    from scipy.stats import mannwhitneyu

    names = list(algorithms)
    if len(names) < 2:
        return []
    first = names[0]
    ours = misses_last(algorithms[first].get("samples_to_optimum", []))
    rows = []                           # (name, share of seed pairs where the first needed fewer, p, seeds)
    for name in names[1:]:
        a = algorithms[name]
        if a.get("algo", name) == first or algorithms[first].get("algo", first) == name:
            continue                    # a variant and its algorithm
        theirs = misses_last(a.get("samples_to_optimum", []))
        if not len(ours) or not len(theirs) or np.isinf(ours).all() and np.isinf(theirs).all():
            continue                    # nothing to rank: no seeds, or neither found it
        before = (ours[:, None] < theirs[None, :]).mean() + 0.5 * (ours[:, None] == theirs[None, :]).mean()
        rows.append((name, before, mannwhitneyu(ours, theirs, alternative="two-sided").pvalue, len(theirs)))
    if not rows:
        return []
    texts, note = _p_texts([p for _, _, p, _ in rows])
    return [f"against {first}, by rank (a miss ranked after every find; ties count half; Mann-Whitney, "
            f"two-sided{f'; {note}' if note else ''}):",
            *(f"  {name}: {first} needed fewer in {100 * before:.3g}% of seed pairs (p = {text}; {len(ours)} and {n} "
              f"seeds)" for (name, before, _, n), text in zip(rows, texts))]


def _options_text(options: dict) -> str:
    """Searcher options as a report gives them: ``kappa=1, use_size=true``."""
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in options.items())


def _labelled(run: RunRecord, algorithms: dict) -> RunRecord | None:
    """``run``, a run below a comparison whose summary has ``algorithms``, labelled with the entry it is a run
    of: NAME for its folder ``runs/NAME-seedK``; for a folder under another name (moved aside, copied in),
    the one entry that runs its searcher with its options (a variant's run is not its algorithm's). None
    when no entry does."""
    seed = run.config.get("seed")
    folder = os.path.basename(os.path.normpath(run.path))
    suffix = f"-seed{seed}"
    if isinstance(seed, int) and folder.endswith(suffix) and folder[:-len(suffix)] in algorithms:
        run.label = folder[:-len(suffix)]
        return run
    options = run.config.get("searcher_options") or {}
    same = [name for name, a in algorithms.items() if isinstance(a, dict) and a.get("algo", name) == run.algo
            and (a.get("options") or {}) == options]      # a summary made before variants: algorithms only
    if len(same) == 1 or run.algo in same:
        run.label = same[0] if len(same) == 1 else run.algo
        return run
    return None


def _compare_report(folder: str, staged: _Staged, data: str | None = None) -> list[str]:
    summary = _read_json(os.path.join(folder, "summary.json"))
    problem = _summary_problem(summary)
    if problem:
        raise DataError(f"{os.path.join(folder, 'summary.json')} {problem}: the file has been altered; run its "
                        f"alphax compare command again to rewrite it")
    budget, seeds = summary["budget"], set(summary["seeds"])
    # the runs as the summary covers them: an extension stopped part-way (a larger budget, more seeds or
    # algorithms) has runs beyond it, which the plots would show and the table not
    runs = [_cut(r, budget) for r in (_labelled(run, summary["algorithms"]) for run in find_runs(folder, data))
            if r is not None and r.name in summary["algorithms"] and r.config.get("seed") in seeds]
    if not runs:
        raise DataError(f"{folder}: summary.json but no run folders of its algorithms and seeds below it")
    optimum = _optimum(runs[0].config, summary)
    kind = measure_of(runs[0].space, optimum)
    for r in runs:
        r.mean_kind = kind          # the summary's measure for every run (not what one resumed run noted)
    label = summary.get("space", runs[0].space) + (f" / {summary['dataset']}" if summary.get("dataset") else
                                                    (f" / {runs[0].config['dataset']}"
                                                     if runs[0].config.get("dataset") else ""))
    curves: dict[str, list[np.ndarray]] = {}
    taus: dict[str, list] = {}
    for r in runs:
        curves.setdefault(r.name, []).append(r.best_so_far())
        xs, ts = rolling_tau(r)
        if len(xs):
            taus.setdefault(r.name, []).append((xs, ts))
    colors = algo_colors([*curves, *summary["algorithms"]])     # the same in every plot
    plot_best_so_far(staged.path("best_so_far.png"), curves, optimum,
                     f"best so far: {label}, {len(seeds)} seed{'s' if len(seeds) > 1 else ''}", ylabel=_ylabel(runs[0]),
                     colors=colors)
    if taus:
        plot_ranking(staged.path("ranking.png"), taus, f"meta-DNN ranking quality: {label}",
                     ylabel=_tau_ylabel({r.tau_window for r in runs if r.name in taus}), colors=colors)
    if isinstance(budget, int) and budget > 0:     # from the summary, as the table: misses included
        plot_found(staged.path("found.png"), {name: a.get("samples_to_optimum", [])
                                              for name, a in summary["algorithms"].items()},
                   budget, f"seeds that found the optimum: {label}", colors=colors)
    best_run = max((r for r in runs if r.best_index() is not None), key=lambda r: r.values[r.best_index()],
                   default=None)
    lines = [f"compare: {os.path.abspath(folder)}", f"space: {label}, budget {summary.get('budget')}, "
             f"seeds {len(summary.get('seeds', []))}, {len(runs)} run folders"]
    stale = _extension_pending(folder, summary)
    if stale:
        log.warning("%s", stale)
        lines.append(stale)
    found = {algo: len(c) for algo, c in curves.items()}
    for algo, a in summary["algorithms"].items():
        if found.get(algo, 0) != len(a.get("samples_to_optimum", [])):
            missing = (f"warning: summary.json counts {len(a.get('samples_to_optimum', []))} runs of {algo}, but "
                       f"{found.get(algo, 0)} run folders of it are below {folder}: the plots show the folders, the "
                       f"table the summary (run the alphax compare command again to redo what is missing)")
            log.warning("%s", missing)
            lines.append(missing)
    for algo in summary["algorithms"]:
        failures = _failures([r for r in runs if r.name == algo])
        if failures:
            lines.append(f"{algo}: {failures}")
    if optimum:
        lines.append(f"optimum: {optimum['hash']} ({_optimum_value(kind, optimum)})")
    lines.append("")
    width = max([12, *map(len, summary["algorithms"])])       # a variant's name may be longer
    lines.append(f"{'algorithm':<{width}} {'found':>7} {'mean samples':>13} {'median':>8} {'s.e.':>7} "
                 f"{'all seeds':>10} {'all median':>11}  regret at")
    for algo, a in summary.get("algorithms", {}).items():
        hits = a.get("samples_to_optimum", [])
        mean = a.get("mean_samples_to_optimum")
        med = a.get("median_samples_to_optimum")
        sem = a.get("sem_samples_to_optimum")          # None below two finds, or in a summary made before it
        every, middle = all_seeds_text(a, budget)
        regret = ", ".join(f"{k}: {v:.4f}" for k, v in a.get("regret_at", {}).items() if v is not None)
        lines.append(f"{algo:<{width}} {a.get('found', '?'):>3}/{len(hits):<3} "
                     f"{'-' if mean is None else f'{mean:.1f}':>13} {'-' if med is None else f'{med:g}':>8} "
                     f"{'-' if sem is None else f'{sem:.1f}':>7} {every:>10} {middle:>11}  {regret}")
    lines.append("(mean and median samples to the optimum: over the seeds that found it; s.e.: the standard "
                 "error of that mean; all seeds: the mean over every seed, one that missed counted at its last "
                 "sample, so that '>' marks a lower bound; all median: the median over every seed, one that "
                 "missed ranked after every find, so that it is exact unless the middle seed missed: then "
                 "'>' the budget)")
    lines.extend(_variant_lines(summary["algorithms"]))
    lines.extend(_rank_lines(summary["algorithms"]))
    lines.extend(_paired_lines(summary["algorithms"]))
    lines.append("")
    if best_run is not None:
        rec = best_run.records[best_run.best_index()]
        _plot_cell(staged.path("best_cell.png"), best_run, rec,
                   f"best cell over all runs ({best_run.name}, {_measure(best_run)} "
                   f"{best_run.values[best_run.best_index()]:.4f})")
        lines.append(f"best cell ({best_run.name}, {os.path.relpath(best_run.path, folder)}): "
                     + _cell_line(best_run, rec))
    lines.append(_ranking_text(runs))
    return _write_text(staged, lines)
