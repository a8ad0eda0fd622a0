"""AlphaX MPI server (rank 0): runs the search of ``alphax search`` with its evaluations farmed out to
the clients (ranks >= 1), writing the same run folder.

    mpiexec -disable-auto-cleanup \\
        -n 1 python run_server.py --space nasbench101 --data PATH --algo alphax --budget N --seed S \\
                                  --out DIR [--job-timeout SECONDS] [--heartbeat-timeout 60] \\
                                  [--max-attempts 2] [--stats FILE] [--progress auto|bar|log|off] \\
      : -n K python run_client.py --evaluator table|train ...

    mpiexec ... -n 1 python run_server.py --resume DIR [--budget N] ... : -n K python run_client.py ...

Exit code 0 when the budget is reached (if a client was lost on the way, or is still evaluating a copy of
a job another client answered, the server then ends the job with ``MPI_Abort(0)``: that client may still
be running a job nobody waits for); 2 with the usage line for an option the parser
rejects; 1 with one line on stderr for another fatal error (options that do not go together, bad data, a
client that cannot start or evaluates unlike the run, every client lost, ...); 143 / 130 after SIGTERM / SIGINT (the results received are recorded and
a checkpoint written first); ``Stop`` reaches every client either way. Once the run folder is open,
that line is also appended to ``DIR/log.txt`` (fsynced, before the job is aborted), beside what the
server logged during the run.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import traceback
from pathlib import Path

from alphax import logfile
from alphax.cli import error_line
from alphax.errors import AlphaXError
from alphax.progress import LOG_EVERY, MODES
from workers.protocol import abort_job, launcher_mismatch
from workers.server import HEARTBEAT_TIMEOUT

__all__ = ["build_parser", "main"]

log = logging.getLogger("run_server")

SAME_REQUEST = 2.0
"""Seconds within which the same signal again is the same stop request (see ``main``)."""

_SECONDS = "a number of seconds"


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    from alphax.cli import ArgumentParser, number_arg
    from alphax.cli.search import add_search_arguments

    p = ArgumentParser(prog="run_server.py", description=" ".join(__doc__.split("\n\n")[0].split()))
    add_search_arguments(p)
    g = p.add_argument_group("farm")
    g.add_argument("--job-timeout", type=number_arg(_SECONDS, zero=False), default=None, metavar="SECONDS",
                   help="deadline of each job; a client that misses it is marked lost and the job requeued "
                        "(default: no deadline)")
    g.add_argument("--heartbeat-timeout", type=number_arg(_SECONDS, zero=True), default=HEARTBEAT_TIMEOUT,
                   metavar="SECONDS",
                   help="a busy client silent this long is taken for dead and its job requeued; clients send "
                        "a heartbeat every sixth of it while they evaluate (default %(default)s; 0: never)")
    g.add_argument("--max-attempts", type=_positive_int, default=2,
                   help="dispatches of a job before it is recorded as failed (default %(default)s)")
    g.add_argument("--startup-timeout", type=number_arg(_SECONDS, zero=False), default=600.0, metavar="SECONDS",
                   help="give up when no client is ready after this long (default %(default)s)")
    g.add_argument("--stats", type=_stats_file, metavar="FILE",
                   help="write the farm's statistics (JSON) here when it ends, however it ends once a client was "
                        "taken in (not after a refused start, which the same command can continue)")
    g.add_argument("--progress", choices=MODES, default="auto",
                   help="results, best so far and busy clients: a tqdm bar, a log line every "
                        f"{LOG_EVERY:.0f} s (also in the run's log.txt), or nothing; auto (default): a bar when "
                        "stderr is a terminal, which under mpiexec it is not, so log lines")
    p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    return p


def _stats_file(text: str) -> Path:
    """``--stats FILE``: checked at the start, so that a typo does not surface only when the farm ends."""
    path = Path(text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder: give a file name in it")
    if path.exists():
        raise argparse.ArgumentTypeError(f"{text} exists: give a new file name (nothing written is overwritten)")
    if not path.absolute().parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text}: no folder {path.absolute().parent}: create it first")
    return path


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s server %(levelname)s %(name)s: %(message)s")
    from mpi4py import MPI

    from alphax.cli.search import check_resume_args, config_from_args
    from alphax.registry import check_searcher_options
    from alphax.run import StopOnSignal
    from alphax.runfolder import open_run
    from workers.server import FarmError, open_hearing_clients, serve, stop_clients

    comm = MPI.COMM_WORLD
    if comm.Get_rank() != 0:
        print("run_server.py: error: the server must be rank 0, and only it: "
              "mpiexec -n 1 python run_server.py ... : -n K python run_client.py ...", file=sys.stderr)
        abort_job(comm, 2)      # rank 0, a server too, would wait for clients until its --startup-timeout
        return 2
    run = stats = None
    code, ending = 0, ""
    # SIGTERM (a batch scheduler's notice) or Ctrl-C: record what the clients sent, checkpoint, stop
    # the clients, end the job; a second signal stops at once
    # SAME_REQUEST: the same signal again that soon is one request by two routes (scancel signals every process,
    # and mpiexec passes its copy on), not a second one
    stop = StopOnSignal("once the results received are recorded (jobs in flight are proposed again on --resume)",
                        same_within=SAME_REQUEST)
    try:
        with stop:                       # from before the run opens: a signal while it replays is kept for the loop
            try:
                if comm.Get_size() < 2:      # before the run folder exists: nothing to leave behind
                    if getattr(args, "resume", None):        # a bad option is said first: launched without it
                        check_resume_args(args)
                    else:
                        check_searcher_options(config_from_args(args))
                    raise FarmError(launcher_mismatch(comm)
                                    or "no clients: launch with 'mpiexec -n 1 python run_server.py ... : "
                                       "-n K python run_client.py ...' (K >= 1)")
                run = open_hearing_clients(comm, lambda: open_run(args))   # a client's failure said at once
            except BaseException:
                stop_clients(comm, "the server could not start")
                raise
            with run, run.log_scope():
                stats = serve(run, comm=comm, job_timeout=args.job_timeout,
                              heartbeat_timeout=args.heartbeat_timeout, max_attempts=args.max_attempts,
                              startup_timeout=args.startup_timeout, stop=lambda: stop.signum is not None,
                              progress=args.progress, stats_file=args.stats)
                run.log_ended(run.remaining <= 0)
                if stop.signum is not None:          # as the last results were recorded: the run is complete
                    log.warning("%s came as the run ended: it is complete", signal.Signals(stop.signum).name)
                optimum = run.evaluator.optimum() if run.config.evaluator == "table" else None
    except (AlphaXError, OSError) as exc:         # OSError: a full disk, a file made read-only
        code, ending = 1, error_line(exc, prog="run_server.py")
        if isinstance(exc, OSError):
            log.debug("where it happened:", exc_info=exc)      # -v, as error_line says
        print(ending, file=sys.stderr)
    except KeyboardInterrupt:
        signum = stop.signum or signal.SIGINT
        code = 128 + signum
        ending = (f"run_server.py: interrupted by {signal.Signals(signum).name} "
                  f"(resume with --resume {run.folder if run is not None else 'DIR'})")
        print(ending, file=sys.stderr)
    except Exception:  # noqa: BLE001 - a bug: keep its traceback, but never hang in MPI_Finalize
        log.exception("run_server.py: internal error")
        code, ending = 1, "run_server.py: internal error\n" + traceback.format_exc().rstrip()
    if code and run is not None:
        # on disk before the abort, whatever mpiexec passes on of the console's last lines
        logfile.append(run.folder, ending, level=logging.WARNING if code > 128 else logging.ERROR,
                       name="run_server")
    if not code:
        code = _print_summary(run, optimum)
    return _end_job(comm, code, stats)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The options; on a rejected one (exit 2, the usage line) under ``mpiexec``, the clients, which would
    wait for this server until their ``--startup-timeout``, are stopped and the job ended."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:
        if exc.code:
            from mpi4py import MPI

            from workers.server import stop_clients

            comm = MPI.COMM_WORLD
            if comm.Get_size() > 1:
                if comm.Get_rank() == 0:
                    stop_clients(comm, "the server could not start")
                abort_job(comm, 2)
        raise


def _print_summary(run, optimum) -> int:
    """The summary ``alphax search`` prints at its end; its exit code (1 if it cannot be printed)."""
    from alphax.cli.search import print_summary
    from alphax.run import RunSummary

    try:
        return print_summary(run, RunSummary(folder=run.folder, n=run.n, budget=run.config.budget, best=run.best,
                                             complete=run.remaining <= 0, wall_seconds=run.wall_seconds()),
                             optimum)
    except Exception:  # noqa: BLE001 - every result is recorded; never hang in MPI_Finalize over a summary
        log.exception("run_server.py: could not print the run's summary (every result is recorded)")
        return 1


def _end_job(comm, code: int, stats) -> int:
    """End the MPI job with ``code``, every recorded result being on disk: ``MPI_Abort`` for a failure, and
    for a success that left a client behind (lost, or evaluating a job already answered)."""
    if code and comm.Get_size() == 1:
        return code                      # no other process to end (no clients): no MPI_Abort and its console line
    if code:
        # MPI_Abort ends every process of the job at once (a client may be mid-way through a long
        # training) and makes mpiexec exit with this code; every recorded result is already on disk
        abort_job(comm, code)
    if stats is not None and (stats.lost or stats.abandoned):
        # a lost client may have left (a signal) or may still be alive, mid-way through a job nobody waits
        # for (a training past its deadline, a stopped or hung process), as may a client evaluating a copy
        # of a job another client answered: mpiexec would wait for it. Every result is recorded and the
        # others were told to exit without MPI_Finalize: end the job now, with status 0
        why = [f"client{'s' if len(ranks) > 1 else ''} {', '.join(map(str, ranks))} {what}"
               for ranks, what in ((stats.left, "left"), (stats.silent, "lost (may still be running)"),
                                   (stats.abandoned, "still evaluating a copy of a job already answered")) if ranks]
        log.info("ending the job: %s; every result is recorded", "; ".join(why))
        abort_job(comm, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
