"""The farm (workers.server / workers.client) under mpiexec, driven by a minimal run double.

    mpiexec -n 1 python tests/mpi/farm_double.py OUT --budget N [--job-timeout S] [--simulate-time X]
          : -n K python tests/mpi/farm_double.py OUT [--fault raise|exit|hang ...]

The double stands in for ``alphax.run`` so that the farm's own behaviour (dispatch, deadlines, requeue,
duplicates, client errors, stop) is tested on its own: its searcher proposes the NASBench-101 real-subset
cells in file order, its table returns their recorded 108-epoch validation accuracy, and it appends one
JSON line per result to OUT/results.jsonl. The server writes the farm's statistics to OUT/farm.json.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faults import add_fault_arguments, start_together, wait_for_clients, wrap_from  # noqa: E402

from alphax.searchers.base import Proposal, Result  # noqa: E402
from alphax.spaces import NASBench101Space  # noqa: E402
from alphax.spec import CellSpec  # noqa: E402

SUBSET = Path(__file__).resolve().parents[3] / "shared" / "data" / "nasbench101" / "nb101_real_subset.jsonl.gz"


def rows(limit: int = 3000) -> list[dict]:
    path = Path(os.environ.get("ALPHAX_NASBENCH101", SUBSET))
    if path.is_dir():
        path = path / "nb101_real_subset.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for _, line in zip(range(limit), f)]


class Table:
    def __init__(self):
        self.by_hash = {r["hash"]: r["metrics"]["108"] for r in rows()}

    def evaluate(self, cell):
        m = self.by_hash[cell.hash]
        return Result(accuracy=m["validation_accuracy"], seconds=m["training_time"],
                      info={"training_time": m["training_time"]})

    def candidates(self):
        return None


class InOrder:
    def __init__(self):
        self.cells = [CellSpec(r["matrix"], r["ops"]) for r in rows()]
        self.next = 0
        self.told = 0

    def ask(self, n=1):
        out = [Proposal(c) for c in self.cells[self.next:self.next + n]]
        self.next += len(out)
        return out

    def tell(self, cell, result):
        self.told += 1


class RunDouble:  # noqa: D101 - the farm's view of alphax.run
    def __init__(self, out: Path, budget: int, algo: str | None = None):
        self.space, self.budget, self.n = NASBench101Space(), budget, 0
        if algo:
            import numpy as np

            from alphax.searchers import make_searcher

            cells = [CellSpec(r["matrix"], r["ops"]) for r in rows()]
            self.searcher = make_searcher(algo, self.space, rng=np.random.default_rng(0), candidates=cells)
        else:
            self.searcher = InOrder()
        self.log = open(out / "results.jsonl", "a", encoding="utf-8")

    @property
    def remaining(self) -> int:
        return self.budget - self.n

    def checked(self, proposals):
        """As ``Run.checked`` for a built-in searcher: they keep the candidate rule themselves."""
        return proposals

    def record(self, proposal, result):
        self.n += 1
        row = {"n": self.n, "hash": proposal.cell.hash, "accuracy": result.accuracy, "seconds": result.seconds,
               "worker": result.worker, "error": result.error, "info": result.info}
        self.log.write(json.dumps(row) + "\n")
        self.log.flush()
        os.fsync(self.log.fileno())
        self.searcher.tell(proposal.cell, result)
        return row


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("out", type=Path)
    p.add_argument("--budget", type=int, default=100)
    p.add_argument("--job-timeout", type=float, default=None)
    p.add_argument("--heartbeat-timeout", type=float, default=60.0)
    p.add_argument("--max-attempts", type=int, default=2)
    p.add_argument("--simulate-time", type=float, default=0.0)
    p.add_argument("--algo", help="a real searcher (make_searcher) over the double's cells instead of file order")
    p.add_argument("--open-after-ready", action="store_true",
                   help="the server opens its run (hearing its clients, as run_server.py does) only once the clients "
                        "have said Ready, as a slow start (AlphaX's torch, a large pool) lets them")
    p.add_argument("--client", nargs=argparse.REMAINDER, default=None,
                   help="run_client.py options: the clients build their evaluator with run_client.make_space_and_evaluator")
    add_fault_arguments(p)
    args = p.parse_args()
    from mpi4py import MPI

    from workers.protocol import abort_job, exit_without_finalize

    rank = MPI.COMM_WORLD.Get_rank()
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s rank {rank} %(name)s: %(message)s")
    if rank == 0:
        from workers.server import FarmError, open_hearing_clients, serve

        args.out.mkdir(parents=True, exist_ok=True)

        def opener():
            if args.open_after_ready:
                wait_for_clients(args.out / "clients-ready", MPI.COMM_WORLD.Get_size() - 1)
                time.sleep(1.0)              # their Ready sent, and taken in by the hearing's probes
            return RunDouble(args.out, args.budget, args.algo)

        try:
            stats = serve(open_hearing_clients(MPI.COMM_WORLD, opener), job_timeout=args.job_timeout,
                          heartbeat_timeout=args.heartbeat_timeout, max_attempts=args.max_attempts,
                          startup_timeout=60)
        except FarmError as exc:
            print(f"farm_double: error: {exc}", file=sys.stderr, flush=True)
            abort_job(MPI.COMM_WORLD, 3)   # as run_server.py does on a fatal error (flush, grace, MPI_Abort)
        (args.out / "farm.json").write_text(json.dumps(stats.to_json()))
        if stats.lost or stats.abandoned:
            abort_job(MPI.COMM_WORLD, 0)   # as run_server.py does: such a client may still be running
        return 0
    from workers.client import SimulatedTime, serve

    if args.client is not None:
        import run_client

        _, evaluator, _ = run_client.make_space_and_evaluator(run_client.build_parser().parse_args(args.client))
    else:
        evaluator = Table()
    if args.simulate_time:
        evaluator = SimulatedTime(evaluator, args.simulate_time)
    wrap = wrap_from(args)
    if wrap:
        evaluator = wrap(evaluator, rank)
    start_together(args.out / "clients-ready", rank, MPI.COMM_WORLD.Get_size() - 1)
    stats = serve(evaluator, NASBench101Space(), name="table-double")
    if not stats.finalize:
        exit_without_finalize(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
