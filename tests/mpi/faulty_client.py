"""run_client.py with its evaluator wrapped in :class:`faults.Faulty`, configured by the environment
variable ``ALPHAX_TEST_FAULT`` (a JSON object of ``Faulty``'s keyword arguments but ``my_rank``, and
``together``: a folder for :func:`faults.start_together`), since run_client.py's own options are left as
they are."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_client  # noqa: E402
from faults import Faulty, start_together  # noqa: E402

_make = run_client.make_space_and_evaluator


def _faulty(args):
    from mpi4py import MPI

    space, evaluator, signature = _make(args)
    options = json.loads(os.environ["ALPHAX_TEST_FAULT"])
    together = options.pop("together", None)
    rank = MPI.COMM_WORLD.Get_rank()
    if together:      # a folder: these clients say Ready together (faults.start_together)
        start_together(together, rank, MPI.COMM_WORLD.Get_size() - 1)
    return space, Faulty(evaluator, my_rank=rank, **options), signature


run_client.make_space_and_evaluator = _faulty

if __name__ == "__main__":
    sys.exit(run_client.main())
