"""run_client.py whose evaluator says it evaluates on the GPU that ``ALPHAX_TEST_GPU`` (a JSON object: rank
-> a made-up UUID) names for its rank, as a training client on that GPU would: the server's warning of two
clients on one GPU is tested without a GPU. It still evaluates with the evaluator its options give."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run_client  # noqa: E402
from faults import Wrapper  # noqa: E402

_make = run_client.make_space_and_evaluator


class OnGpu(Wrapper):
    def __init__(self, evaluator, gpu: str | None):
        super().__init__(evaluator)
        self.gpu = gpu

    def describe(self):
        return f"{self.evaluator.describe()}, as if on GPU {self.gpu}"

    def device_id(self):
        return self.gpu


def _on_gpu(args):
    from mpi4py import MPI

    space, evaluator, signature = _make(args)
    gpu = json.loads(os.environ["ALPHAX_TEST_GPU"]).get(str(MPI.COMM_WORLD.Get_rank()))
    return space, OnGpu(evaluator, gpu), signature


run_client.make_space_and_evaluator = _on_gpu

if __name__ == "__main__":
    sys.exit(run_client.main())
