"""Fault injection for the MPI tests: an evaluator wrapper that misbehaves on one rank at its k-th job."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


class Wrapper:
    """An evaluator that does what ``evaluator`` does; subclasses change a part."""

    def __init__(self, evaluator):
        self.evaluator = evaluator

    def evaluate(self, cell):
        return self.evaluator.evaluate(cell)

    def candidates(self):
        return self.evaluator.candidates()

    def describe(self):
        return self.evaluator.describe()

    def device_id(self):
        return self.evaluator.device_id()


class Faulty(Wrapper):
    """On rank ``rank``, at its ``job``-th evaluation: ``raise`` an error, ``exit`` abruptly mid-job
    (the process vanishes without replying, as a crash does), ``hang`` for ``hang`` seconds (then
    answer late: a duplicate once the job was requeued; its heartbeats go on), or ``freeze``: the whole
    process stopped (SIGSTOP) for ``hang`` seconds, heartbeats too, as on a node's hiccup, then answer.
    With ``mark`` (a file) the frozen job's cell is written there, and any other rank given that cell (the
    requeued copy) takes ``copy`` seconds over it."""

    def __init__(self, evaluator, *, my_rank: int, mode: str, rank: int, job: int, hang: float = 5.0,
                 mark: str | None = None, copy: float = 0.0):
        super().__init__(evaluator)
        self.my_rank, self.mode, self.rank, self.job, self.hang = my_rank, mode, rank, job, hang
        self.mark, self.copy = mark, copy
        self.count = 0

    def evaluate(self, cell):
        self.count += 1
        if self.my_rank == self.rank and (self.count == self.job or (self.mode == "raise" and self.count > self.job)):
            if self.mode == "raise":
                raise RuntimeError(f"injected failure on rank {self.my_rank}")
            if self.mode == "exit":
                os._exit(17)
            if self.mode == "hang":
                time.sleep(self.hang)
            if self.mode == "freeze":
                if self.mark:
                    with open(self.mark, "w") as f:
                        f.write(_name(cell))
                subprocess.Popen(["sh", "-c", f"sleep {self.hang}; kill -CONT {os.getpid()}"])
                os.kill(os.getpid(), signal.SIGSTOP)
        elif self.mark and self.my_rank != self.rank and os.path.exists(self.mark):
            with open(self.mark) as f:
                if f.read() == _name(cell):
                    time.sleep(self.copy)
        return self.evaluator.evaluate(cell)

    def describe(self):
        return f"{self.evaluator.describe()}, with a {self.mode} fault on rank {self.rank}"


def _name(cell) -> str:
    """The cell's hash in the results log: NASBench-101's graph hash, NAS-Bench-201's architecture string."""
    return cell.hash if hasattr(cell, "hash") else cell.arch


def start_together(folder, rank: int, clients: int, timeout: float = 60.0) -> None:
    """Wait, up to ``timeout`` seconds, until each of ranks 1..``clients`` has called this with the same
    ``folder``: the clients then say Ready together. The server hands out work to the first client ready,
    and a table's look-ups are so quick that, one client a second late (loading its table on a busy
    machine), the other can answer a whole run: a test of what happens on one rank would then prove
    nothing. Files, not MPI: the server (run_server.py) has no part in it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"ready.{rank}").touch()
    wait_for_clients(folder, clients, timeout)


def wait_for_clients(folder, clients: int, timeout: float = 60.0) -> bool:
    """Wait, up to ``timeout`` seconds, until ``clients`` clients have called :func:`start_together` with
    ``folder``; whether they all did."""
    folder = Path(folder)
    deadline = time.monotonic() + timeout
    while len(list(folder.glob("ready.*"))) < clients:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def add_fault_arguments(parser) -> None:
    parser.add_argument("--fault", choices=("raise", "exit", "hang", "freeze"))
    parser.add_argument("--fault-rank", type=int, default=2)
    parser.add_argument("--fault-job", type=int, default=3)
    parser.add_argument("--fault-hang", type=float, default=5.0)
    parser.add_argument("--fault-mark", help="file naming the frozen job's cell, for --fault-copy")
    parser.add_argument("--fault-copy", type=float, default=0.0,
                        help="seconds another rank takes over the frozen job's cell (its requeued copy)")


def wrap_from(args):
    if not args.fault:
        return None
    return lambda evaluator, rank: Faulty(evaluator, my_rank=rank, mode=args.fault, rank=args.fault_rank,
                                          job=args.fault_job, hang=args.fault_hang, mark=args.fault_mark,
                                          copy=args.fault_copy)
