"""Opening a run folder: a new run (:func:`create_run`, never over anything already there), the same
command run again before any result (continued), and a resume (:func:`resume_run`); for the MPI server,
:func:`open_run` from its command line. Each returns an :class:`alphax.run.Run` holding the folder's lock.

Resuming (:func:`resume_run`): restore the newest intact checkpoint (or a fresh searcher from the seed
when there is none), then *replay* the results logged after it without evaluating them again. Rows the
inline loop wrote are replayed strictly: ``ask()`` must propose the logged cell, which is then told its
logged result, so a resumed inline run evaluates the same sequence of cells as an uninterrupted one
(table rewards are a function of the cell, see :mod:`workers.evaluators`). Rows an MPI server wrote
arrived out of proposal order; they are told to the searcher as they are (a searcher counts a result it never
proposed as its own: evolution in its random start, AlphaX in its proposal cycle and its tree).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from alphax import environment, logfile
from alphax.checkpoint import LATEST, PREVIOUS, checkpoint_info, load_checkpoint
from alphax.config import SearchConfig
from alphax.errors import AlphaXError, CheckpointError, ConfigError, DataError
from alphax.registry import LOCAL_TRAIN_OPTIONS, EvaluatorFactory, build, fingerprint, searcher_for
from alphax.run import CONFIG, Run, logged_cifar_data
from alphax.runlock import LOCK, LockHeld, RunLock, Unwritable
from alphax.runlog import PREDICTOR, RESULTS, RunLog, check_cells, rows_digest
from alphax.searchers import searcher_class
from alphax.searchers.base import Result, Searcher
from alphax.searchers.external import canonical, class_name, is_external
from alphax.spaces.base import SearchSpace

__all__ = ["create_run", "resume_run", "open_run", "default_out", "check_same_table", "table_named"]

log = logging.getLogger(__name__)


# -- a new run -------------------------------------------------------------------------------------
def default_out(config: SearchConfig, root: str | Path = "runs") -> Path:
    """``runs/<timestamp>-<algo>-<space>``: the name of a new run's folder (``create_run`` adds ``-2``,
    ``-3``, ... when it is taken)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path(root) / f"{stamp}-{class_name(config.algo)}-{config.space}"


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


def _command(dispatch: str) -> str:
    """The command that runs (and resumes) a run of ``dispatch``."""
    return "run_server.py" if dispatch == "mpi" else "alphax search"


def _refuse_taken(folder: Path, dispatch: str, *, locked: bool = False, config: SearchConfig | None = None) -> None:
    """Raise the 'already exists' error if ``folder`` is a file or holds anything but the run lock and a
    ``config.json.tmp`` without its ``config.json`` (a run killed while it wrote its config: nothing of
    it was written) (the 'in use' error while another process holds it; ``locked``: this one does).
    ``config``: the new run's, to name what differs from a run there that has no result yet."""
    left_by_a_start = {LOCK} if (folder / CONFIG).exists() else {LOCK, CONFIG + ".tmp"}
    if folder.exists() and (not folder.is_dir() or any(p.name not in left_by_a_start for p in folder.iterdir())):
        resume = _command(dispatch)
        if (folder / CONFIG).exists():
            if not locked and (folder / LOCK).exists():
                try:
                    RunLock(folder).release()      # a live run there: "in use by another alphax process (pid N)"
                except Unwritable:
                    pass                           # another user's run: it exists all the same
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
    with _closed_on_error(run):
        with run.log_scope():
            log.info("new run %s: %s on %s, budget %d, seed %d, %s", folder, config.algo, config.space,
                     config.budget, config.seed,
                     "any valid cell (no pool)" if candidates is None else f"pool of {len(candidates)} cells")
            log.info("software: %s", environment.describe(environment.software()))
            run.warn_budget()
        # a checkpoint at n=0 (50 ms): a resume always has the table's fingerprint to check, even after a kill
        # before the first periodic checkpoint
        run.checkpoint()
    return run


@contextlib.contextmanager
def _closed_on_error(run: Run):
    """The run just opened, closed (its lock, log handler and files given back) if what follows fails (its
    first checkpoint on a full disk): the caller gets the error, not a run, so nothing else would close it."""
    try:
        yield
    except BaseException:
        run.__exit__(*sys.exc_info())
        raise


def _check_algo(folder: Path, config: SearchConfig, algo: str | None) -> None:
    """The :class:`ConfigError` of a resume whose ``--algo`` is not the run's, or that does not name the
    run's own searcher (an external one, whose code a resume would import: never from a run folder alone).
    The run's searcher, imported where it is external (a missing file or class said now)."""
    given = canonical(algo)
    if given is not None and given != config.algo:
        raise ConfigError(f"{folder} searches with {config.algo} (its config.json); --algo with --resume may only "
                          f"name that searcher again (its options come from config.json)")
    if given is None and is_external(config.algo):
        raise ConfigError(f"{folder} searches with a searcher of your own, {config.algo}: resuming it imports and "
                          f"runs that code, so name it: --algo {config.algo} with --resume")
    if is_external(config.algo):
        searcher_class(config.algo)     # before its checkpoint is unpickled: the unpickler trusts its module


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
                     unstarted=True, algo=config.algo)
    with run.log_scope():
        log.info("%s holds this run and no result yet (it never got to evaluate a cell): continuing it", folder)
    return run


# -- a resume --------------------------------------------------------------------------------------
def resume_run(folder: str | Path, *, budget: int | None = None, dispatch: str = "inline",
               local_train: dict | None = None, data: str | None = None, unstarted: bool = False,
               algo: str | None = None) -> Run:
    """Reopen the run in ``folder``: restore its newest intact checkpoint and replay the results logged
    after it (see the module docstring). ``budget`` replaces the budget (longer or shorter, not below the results logged); ``local_train``
    (:data:`LOCAL_TRAIN_OPTIONS` only: where this machine keeps CIFAR-10, which device trains) replaces
    those options of a training run, e.g. when it continues on another machine; ``data`` is where the
    table is now (moved, or on another machine): it must hold the same cells (the checkpoint's
    fingerprint of them, or every logged cell, says so). ``unstarted``: only a run without a result (a new
    run's command run again, :func:`_continue_unstarted`), checked again once the lock is held. ``algo``:
    the searcher the command line names (``--algo``), which must be the run's; a run of a searcher of
    your own (:mod:`alphax.searchers.external`) resumes only when it is named, as resuming runs its code."""
    folder = Path(folder)
    if not (folder / CONFIG).exists():
        raise CheckpointError(f"{folder} is not a run folder {_not_a_run_folder(folder)}")
    _refuse_links(folder)
    try:
        saved = config = SearchConfig.load(folder / CONFIG)
        _check_algo(folder, config, algo)
    except ConfigError as exc:
        logfile.append(folder, f"resume of {folder} failed: {exc}", name=__name__)
        raise
    config = _moved(config, folder, data=data, local_train=local_train)
    try:
        _check_config_against_checkpoint(folder, config)     # before config.json's space and data are used
    except CheckpointError as exc:
        logfile.append(folder, f"resume of {folder} failed: {exc}", name=__name__)
        raise
    space, factory = build(config)
    # before anything is written (the first append cuts a torn line)
    # cp -r keeps read-only modes: a copy of a folder made read-only would be refused in turn
    copy_it = (f"copy it to a folder of yours (cp -r {folder} COPY && chmod -R u+w COPY) and resume the copy "
               f"('{_command(dispatch)} --resume COPY')")
    lock = RunLock(folder, unwritable=copy_it)
    if unstarted and not _no_result(folder):      # another process recorded results meanwhile: taken
        lock.release()
        _refuse_taken(folder, dispatch)
    runlog = None
    handler = logfile.attach(folder)      # from here on: why a resume fails (a corrupt log, checkpoint) goes there too
    try:
        with logfile.scope(handler):
            log.info("software: %s", environment.describe(environment.software()))
            try:
                _check_appendable(folder, copy_it)
                runlog = RunLog(folder / RESULTS, create=False)
                config = _with_budget(config, folder, budget, len(runlog))
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
        # config.json takes the new budget once the run goes on (Run.confirm): not when, say, the MPI server's
        # first client is refused
        run = Run(folder, config, space, searcher, runlog, evaluator_factory=factory, evaluator=evaluator,
                  candidates=candidates, dispatch=dispatch, state=state, log_handler=handler, lock=lock,
                  saved_config=saved)
    except BaseException:
        if runlog is not None:
            runlog.close()
        logfile.detach(handler)
        lock.release()
        raise
    with _closed_on_error(run):
        if len(runlog) > state.get("n", 0):
            run.checkpoint()            # the replay is done once
        if budget is not None:
            with run.log_scope():
                run.warn_budget()
    return run


def _check_appendable(folder: Path, way_on: str) -> None:
    """The logs a resume appends to in place can be written: one that cannot (a folder's files made
    read-only) is refused before ``config.json`` takes a new budget, not at the first result."""
    for name in (RESULTS, PREDICTOR):
        try:
            os.close(os.open(folder / name, os.O_WRONLY | os.O_APPEND))
        except FileNotFoundError:
            pass                              # results.jsonl: refused by RunLog; predictor.jsonl: made when needed
        except PermissionError:
            raise Unwritable(f"{folder / name} is a file you cannot write (permission denied), and a resume appends "
                             f"to it: {way_on} (nothing was written)") from None


def _refuse_links(folder: Path) -> None:
    """A run appends to its logs in place: one that is a symbolic link (a run folder copied or unpacked
    with its links) is refused before anything is written, rather than written through to the file it
    names. (Files replaced whole, ``config.json``, checkpoints, replace the link itself; ``run.lock``:
    :class:`~alphax.runlock.RunLock`.)"""
    links = [str(folder / name) for name in (RESULTS, PREDICTOR, logfile.LOG) if (folder / name).is_symlink()]
    if links:
        one = len(links) == 1
        link = links[0] if one else "LINK"
        raise CheckpointError(f"{', '.join(links)} {'is a symbolic link' if one else 'are symbolic links'}: a run "
                              f"appends to its own files, never through a link to another file; replace "
                              f"{'it' if one else 'each'} with the file it names (cp --remove-destination "
                              f"\"$(readlink -f {link})\" {link}), then continue the run")


def _moved(config: SearchConfig, folder: Path, *, data: str | None, local_train: dict | None) -> SearchConfig:
    """``config`` with what may change where a run resumes: the table's path (``data``), and for a training
    run where this machine keeps CIFAR-10 and which device trains (``local_train``)."""
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
    return config


def _with_budget(config: SearchConfig, folder: Path, budget: int | None, logged: int) -> SearchConfig:
    """``config`` with the resumed run's ``budget`` (None: its own), never below the ``logged`` results."""
    saved = config.budget
    if budget is not None and budget != config.budget:
        config = config.with_budget(budget)          # a bad --budget is named as such first
    if budget is not None and budget < logged:
        raise ConfigError(f"--budget {budget} is below the {logged} results {folder} already "
                          f"holds; give --budget {logged} or more"
                          + (f" (or leave it out to keep the budget of {saved})" if saved >= logged else ""))
    if budget is None and config.budget < logged:
        raise ConfigError(f"{folder / CONFIG} gives a budget of {config.budget}, below the {logged} "
                          f"results {folder} already holds: config.json has been altered; restore it "
                          f"from a copy, or resume with --budget {logged} or more")
    return config


def _check_cifar_data(evaluator, rows: list[dict], config: SearchConfig) -> None:
    """A resumed training run trains on the images its results were made on (a copy elsewhere will do)."""
    data, logged = getattr(getattr(evaluator, "data", None), "digest", None), logged_cifar_data(rows)
    if data is not None and logged is not None and data != logged:
        raise ConfigError(f"--cifar {config.train.get('cifar')}: its images (digest {data}) are not those the "
                          f"run's results were trained on ({logged}); give --cifar a copy of the same files")


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


def table_named(path) -> str:
    """How an error names the table at ``path`` (None: the one found without ``--data``)."""
    return f"the table at {path}" if path is not None else "the table found without --data"


def check_same_table(folder: Path, path, space: SearchSpace, evaluator, candidates, rows: list[dict], *,
                     hint: str = "give the table the run started with (a copy of it, wherever it is now) with "
                                 "--resume DIR --data PATH") -> None:
    """A table at another path than the run recorded (``--data`` on resume, or ``config.json`` edited)
    must give every cell the run logged (``rows``) the result it was logged with (the checkpoint's
    fingerprint checks the whole set of cells). ``hint``: the way on, the end of the error; ``path`` None:
    the table found without ``--data``."""
    table = table_named(path)
    known = {space.hash(c) for c in candidates}
    missing = [r["hash"] for r in rows if r["hash"] not in known]
    if missing:
        raise DataError(f"{table} holds no cell {missing[0]} ({len(missing)} of the {len(rows)} "
                        f"cells {folder} logged are missing): {hint}")
    for row in rows:
        if row.get("accuracy") is None:
            continue
        now = evaluator.evaluate(space.from_json(row)).accuracy
        if now is None or abs(now - row["accuracy"]) > 1e-9:
            raise DataError(f"{table} says {now} for cell {row['hash']}, logged by {folder} as "
                            f"{row['accuracy']} (n={row['n']}): another table; {hint}")


def _altered_config(path: Path, folder: Path) -> CheckpointError:
    return CheckpointError(f"{path} was written with another config than {folder / CONFIG}; the run folder has "
                           f"been altered: restore config.json from a copy, or keep the folder aside and start a "
                           f"new run")


def _check_config_against_checkpoint(folder: Path, config: SearchConfig) -> None:
    """The config in the newest intact checkpoint's header against ``config`` (config.json, with the
    options a resume may change), before either is used: a config.json edited to another space or table
    is named as such, not as that space's or table's error. The table's path is checked later, with the
    table (:func:`check_same_table`); checkpoints older than the header's config are checked once
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
    table's path only after :func:`check_same_table`)."""
    return replace(config, budget=1, train={k: v for k, v in config.train.items() if k not in LOCAL_TRAIN_OPTIONS})


_OTHER_CELLS = ("{path} refers to another set of candidate cells than the table now gives (was the data file "
                "changed?); resume with the data the run started with")


def _restore(folder: Path, config: SearchConfig, space: SearchSpace, candidates, runlog: RunLog, *,
             evaluator=None, recorded_data: str | None = None) -> tuple[Searcher, dict]:
    """The searcher restored from the newest intact checkpoint, with the rows after it replayed. A table
    at another path than the run recorded (``--data``, or a checkpoint's), or a NASBench-101 table found
    anew (a run that recorded none: a comparison's, found through ``$ALPHAX_NASBENCH101`` or ``../shared``,
    which may now be another), must give every logged cell its logged result."""
    cands = list(candidates) if candidates is not None else []
    checked = config.data != recorded_data and candidates is not None
    if checked:          # a table given anew (--data): first, whether it gives the logged cells their results
        check_same_table(folder, config.data, space, evaluator, candidates, runlog.rows)
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
                check_same_table(folder, config.data, space, evaluator, candidates, runlog.rows)
                checked = True
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
        changed = environment.differences(state.get("software") or {}, environment.software())
        # (a checkpoint from before they were noted has none: nothing to compare; a run at its budget
        # proposes nothing, the same on any software)
        if changed and len(runlog) < config.budget:
            log.warning("%s was written under other software or another CPU: %s. The run goes on, but it may not "
                        "propose the cells an uninterrupted run would have (a seed's search is the same only on "
                        "the same software and CPU)", path, "; ".join(changed),
                        extra={"software_changed": changed})     # (a comparison says it once for its runs)
    rows = runlog.rows[state["n"]:]
    strict = state.get("dispatch") == "inline" and all(r.get("dispatch", "inline") == "inline" for r in rows)
    seconds = list(state.get("searcher_seconds", []))
    for row in rows:
        t0 = time.perf_counter()
        _replay(searcher, space, row, strict=strict)
        seconds.append(time.perf_counter() - t0)     # the replayed rows' searcher time, as it is redone
    if not checked and config.data is None and config.space == "nasbench101" and config.evaluator == "table":
        # a table found anew ($ALPHAX_NASBENCH101, ../shared: a comparison's runs record none), which may be
        # another now; checked once the log itself is (its digest, the replay), whose errors say more
        check_same_table(folder, None, space, evaluator, candidates, runlog.rows)
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


# -- the MPI server's command line -----------------------------------------------------------------
def open_run(args) -> Run:
    """The run described by parsed ``alphax search`` options (``--resume DIR`` or a new ``--out``), for
    the MPI server: its results are recorded with ``dispatch: mpi``."""
    from alphax.cli.search import check_resume_args, config_from_args, out_from_args

    if getattr(args, "resume", None):
        local = check_resume_args(args)
        return resume_run(args.resume, budget=args.budget, dispatch="mpi", local_train=local, data=args.data,
                          algo=args.algo)
    config = config_from_args(args)
    return create_run(config, out_from_args(args), dispatch="mpi")
