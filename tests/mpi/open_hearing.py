"""Rank 0 opens a "run" that takes 60 s while rank 1 says it could not start: the error must come at once
(``workers.server.open_hearing_clients``); then an opener's value and an opener's error pass through."""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mpi4py import MPI  # noqa: E402

from workers.protocol import CannotStart, Tag  # noqa: E402
from workers.server import FarmError, open_hearing_clients  # noqa: E402

comm = MPI.COMM_WORLD
if comm.Get_rank() == 1:
    comm.send(CannotStart(rank=1, host="h", message="CIFAR-10 folder /nowhere does not exist"), dest=0,
              tag=Tag.CANNOT_START)
else:
    t0 = time.monotonic()
    try:
        open_hearing_clients(comm, lambda: time.sleep(60))
    except FarmError as exc:
        print(f"refused after {time.monotonic() - t0:.1f} s: {exc}", flush=True)
    assert open_hearing_clients(comm, lambda: "the run") == "the run"

    def broken():
        raise ValueError("no such table")
    try:
        open_hearing_clients(comm, broken)
    except ValueError as exc:
        print(f"raised: {exc}", flush=True)
comm.Barrier()
