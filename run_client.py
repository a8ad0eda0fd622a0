"""AlphaX MPI client (ranks >= 1): evaluates the server's proposals until it is told to stop.

    mpiexec -n 1 python run_server.py <alphax search options> \\
          : -n K python run_client.py --evaluator table [--space nasbench101 --data PATH] [--simulate-time SCALE]
          : ...   python run_client.py --evaluator train --space nasbench101 --cifar DIR [--epochs 108 --device auto ...]

``--evaluator table`` looks each cell up in the space's table (NAS-Bench-201, ``--dataset``, by default;
NASBench-101 with ``--space nasbench101 --data PATH``), one recorded training repeat per cell as the
official APIs return it; ``--simulate-time SCALE`` then sleeps the recorded training time x SCALE, so that the
farm runs as it would with real training. ``--evaluator train`` trains the cell on CIFAR-10 with
NASBench-101's protocol, on the GPU of this process's local rank when CUDA is available.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys

from alphax.errors import AlphaXError, ConfigError
from workers.client import MAX_SIMULATE_TIME
from workers.protocol import KEEPALIVES_PER_TIMEOUT, SERVER_TIMEOUT, abort_job, exit_without_finalize, launcher_mismatch

__all__ = ["build_parser", "make_space_and_evaluator", "main"]

log = logging.getLogger("run_client")


def build_parser() -> argparse.ArgumentParser:
    from alphax.cli import ArgumentParser, number_arg, path_arg
    from alphax.cli.search import add_train_arguments
    from alphax.config import NB201_DATASETS, SPACES

    p = ArgumentParser(prog="run_client.py", description=" ".join(__doc__.split("\n\n")[0].split()))
    p.add_argument("--evaluator", choices=("table", "train"), required=True,
                   help="look each cell up in a table, or train it on CIFAR-10: as the server's --evaluator")
    p.add_argument("--space", choices=SPACES, help="search space, as the server's --space (default: "
                                                    "alphax search's; --evaluator train: nasbench101)")
    g = p.add_argument_group("table (--evaluator table)")
    g.add_argument("--dataset", choices=NB201_DATASETS, help="NAS-Bench-201 data set, as the server's")
    g.add_argument("--data", type=path_arg, metavar="PATH", help="the table, as the server's --data (default: found automatically)")
    g.add_argument("--eval-seed", type=int,
                   help="seed of the recorded training repeat returned per cell: give the server's "
                        "--eval-seed (default 0, as alphax search)")
    g.add_argument("--simulate-time", default=0.0, metavar="SCALE",
                   type=number_arg(most=MAX_SIMULATE_TIME, why=" (1 sleeps a cell's whole recorded training time)"),
                   help="sleep the recorded training time x SCALE per cell (default 0: no sleep; at most "
                        f"{MAX_SIMULATE_TIME:g})")
    add_train_arguments(p)
    p.add_argument("--startup-timeout", type=number_arg(), default=600.0, metavar="SECONDS",
                   help="end the job when the server has not answered this client's ready message within "
                        "SECONDS (a server that died at start; default %(default)g, 0: no limit)")
    p.add_argument("--server-timeout", type=number_arg(), default=SERVER_TIMEOUT, metavar="SECONDS",
                   help="end the job when the server is silent for SECONDS while this client waits for work "
                        f"(it died or hangs; it is asked for a keep-alive every {KEEPALIVES_PER_TIMEOUT}th of "
                        "them; default %(default)g, 0: no limit)")
    p.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    return p


def make_space_and_evaluator(args: argparse.Namespace):
    """The space, the evaluator named by the options and its signature (``alphax.registry.evaluator_signature``),
    built by ``alphax.registry`` (as ``alphax search`` builds them), the evaluator wrapped in
    ``SimulatedTime`` when asked."""
    from alphax.config import SearchConfig
    from alphax.registry import build_space_and_evaluator, evaluator_signature
    from workers.client import SimulatedTime
    from alphax.cli.search import train_options

    train = train_options(args)
    if args.evaluator == "train":
        table_only = [flag for flag, given in (("--dataset", args.dataset is not None), ("--data", args.data is not None),
                                               ("--eval-seed", args.eval_seed is not None),
                                               ("--simulate-time", bool(args.simulate_time))) if given]
        if table_only:      # dropped, they would say the client does what it does not
            raise ConfigError(f"{', '.join(table_only)} {'is' if len(table_only) == 1 else 'are'} for --evaluator "
                              f"table; a training client trains on --cifar DIR with the training options: "
                              f"leave {'it' if len(table_only) == 1 else 'them'} out")
        if not args.cifar:
            raise ConfigError("--evaluator train needs --cifar DIR (the cifar-10-batches-py folder)")
        config = SearchConfig(space=args.space or "nasbench101", evaluator="train", train=train)
    else:
        if train:
            raise ConfigError("training options need --evaluator train")
        given = {"space": args.space, "dataset": args.dataset, "eval_seed": args.eval_seed,
                 "data": os.path.abspath(args.data) if args.data else None}
        config = SearchConfig(evaluator="table", **{k: v for k, v in given.items() if v is not None})
    space, evaluator = build_space_and_evaluator(config)
    signature = evaluator_signature(config, evaluator, space=space)
    if args.simulate_time:
        evaluator = SimulatedTime(evaluator, args.simulate_time)
    return space, evaluator, signature


def main(argv: list[str] | None = None) -> int:
    """Serve jobs until the server says stop. A client that cannot start (bad options, missing data)
    prints why, and the server ends the whole job with the same message (``CannotStart``); the client
    then exits (2 for a bad option, 1 otherwise) unless the server's ``MPI_Abort`` ends it first. The run folder is intact and can be resumed."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code:   # under mpiexec the server would wait for this client (up to its --startup-timeout): tell it, or abort
            from mpi4py import MPI

            from workers.client import cannot_start

            comm = MPI.COMM_WORLD
            message = f"bad option: {parser.error_message}"
            if comm.Get_size() > 1 and (comm.Get_rank() == 0 or not cannot_start(message)):
                abort_job(comm, 2)
        raise
    from workers.client import Leave, leave_on_signal

    try:
        with leave_on_signal():      # from here on, SIGTERM/SIGINT make the client leave with a status
            return _start_and_serve(args)
    except Leave as leave:           # while it started: serve() handles the signal after its Ready
        from mpi4py import MPI

        from workers.client import send_leaving

        rank = MPI.COMM_WORLD.Get_rank()
        log.warning("client %d: %s while starting: leaving the farm", rank, signal.Signals(leave.signum).name)
        if rank == 0:                # not a client: end the job, as _start_and_serve was doing
            abort_job(MPI.COMM_WORLD, 2)
            return 2
        send_leaving(leave.signum)
        _left(rank, leave.signum)
        return 0


def _left(rank: int, signum: int) -> None:
    # an exit, not death by the signal: MPICH's Hydra ends the whole job when a process dies by a
    # signal, even with -disable-auto-cleanup. Status 0: leaving when asked is not a failure, and
    # mpiexec passes on the largest status, so the job's status stays the server's (0 for a run that
    # finished without this client, 143/130 for one stopped as a whole)
    print(f"run_client.py (rank {rank}): left the farm on {signal.Signals(signum).name}", file=sys.stderr)
    exit_without_finalize(0)


def _share_the_cpus() -> None:
    """A training client trains with its share of its node's CPUs (``workers.training.cpu_share``), not a
    thread per core as every other process of the job on that node would too; ``OMP_NUM_THREADS`` decides
    instead where it is set."""
    import torch

    from workers.training import cpu_share

    threads = cpu_share()
    if threads is not None:
        torch.set_num_threads(threads)


def _start_and_serve(args: argparse.Namespace) -> int:
    from mpi4py import MPI

    from workers.client import ServerSilent, cannot_start, serve

    rank = MPI.COMM_WORLD.Get_rank()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format=f"%(asctime)s client {rank} %(levelname)s %(name)s: %(message)s")
    if rank == 0:
        print("run_client.py: error: " + (launcher_mismatch(MPI.COMM_WORLD)
                                          or "rank 0 is the server; start run_server.py first: "
                                             "mpiexec -n 1 python run_server.py ... : -n K python run_client.py ..."),
              file=sys.stderr)
        abort_job(MPI.COMM_WORLD, 2)   # the other clients would wait for a server until their --startup-timeout
        return 2
    log.debug("client %d: loading the space and the evaluator", rank)
    try:
        if args.evaluator == "train":
            _share_the_cpus()
        space, evaluator, signature = make_space_and_evaluator(args)
    except Exception as exc:       # noqa: BLE001 - whatever stops this client, the server must hear why
        reason = str(exc) if isinstance(exc, AlphaXError) else f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, AlphaXError):       # not bad input: a fault of this machine or of the code
            log.exception("client %d could not start", rank)
        print(f"run_client.py (rank {rank}): error: {reason}", file=sys.stderr, flush=True)
        if not cannot_start(reason):       # the server ends the job with the message
            abort_job(MPI.COMM_WORLD, 1)
        return 1
    try:
        stats = serve(evaluator, space, name=evaluator.describe(), device=evaluator.device_id(),
                      signature=signature, startup_timeout=args.startup_timeout, server_timeout=args.server_timeout)
    except ServerSilent as exc:
        print(f"run_client.py (rank {rank}): error: {exc}", file=sys.stderr, flush=True)
        abort_job(MPI.COMM_WORLD, 1)
        return 1
    if stats.left is not None:
        _left(rank, stats.left)
    if not stats.finalize:
        exit_without_finalize(0)   # a process of the job was lost
    return 0


if __name__ == "__main__":
    sys.exit(main())
