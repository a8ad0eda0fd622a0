"""Fault injection for the MPI tests: an evaluator wrapper that misbehaves on one rank at its k-th job."""

from __future__ import annotations

import os
import time


class Faulty:
    """On rank ``rank``, at its ``job``-th evaluation: ``raise`` an error, ``exit`` abruptly mid-job
    (the process vanishes without replying, as a crash does), or ``hang`` for ``hang`` seconds (then
    answer late: a duplicate once the job was requeued)."""

    def __init__(self, evaluator, *, my_rank: int, mode: str, rank: int, job: int, hang: float = 5.0):
        self.evaluator, self.my_rank, self.mode, self.rank, self.job, self.hang = (
            evaluator, my_rank, mode, rank, job, hang)
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
        return self.evaluator.evaluate(cell)

    def candidates(self):
        return self.evaluator.candidates()


def add_fault_arguments(parser) -> None:
    parser.add_argument("--fault", choices=("raise", "exit", "hang"))
    parser.add_argument("--fault-rank", type=int, default=2)
    parser.add_argument("--fault-job", type=int, default=3)
    parser.add_argument("--fault-hang", type=float, default=5.0)


def wrap_from(args):
    if not args.fault:
        return None
    return lambda evaluator, rank: Faulty(evaluator, my_rank=rank, mode=args.fault, rank=args.fault_rank,
                                          job=args.fault_job, hang=args.fault_hang)
