"""Training on a CUDA GPU, checked: run it where a GPU is, after ``bench_train.py --device cuda``.

    python benchmarks/cuda_check.py [--epochs 4] [--cifar DIR]

Prints one JSON object:

* ``repeat``: the NASBench-101 optimum cell (full size: stem 128, 3 stacks x 3 modules, batch 256, bf16
  autocast) trained twice with the same seed over a whole ``--epochs`` schedule: accuracies, images/s
  (also after the first steps), and whether the two runs agree (cuDNN's autotuned kernels,
  ``cudnn.benchmark``, need not be deterministic);
* ``evaluator``: ``TrainEvaluator`` end to end on the GPU (device, the model its result names and whether
  that is this GPU's, what it describes itself as in the MPI server's log, the UUID by which that server
  tells two clients on one GPU (``device_id``: None where this torch does not say), dtype, accuracy, parameters,
  which must be NASBench-101's 32,426,634 for this cell);
* ``bad_device``: the error a ``cuda:N`` beyond this machine's GPUs gives at the start;
* ``protocol_estimate_minutes``: 108 epochs of 40,000 images at the best steady images/s, the time one
  cell takes under NASBench-101's protocol on this GPU.

Without ``--cifar`` a synthetic folder in the CIFAR-10 batch format is written (accuracies then mean
nothing; the speed and the mechanics are what is checked).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import torch

from alphax.cli import ArgumentParser, int_arg, run_script
from alphax.errors import ConfigError
from workers import cifar
from workers.train_evaluator import TrainEvaluator
from workers.training import TrainConfig, check_device, train_cell

OPTIMUM_HASH = "02e5a0247bbdcf2860b7e96f74961594"
OPTIMUM_PARAMETERS = 32_426_634


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int_arg(1), default=4,
                        help="the schedule's length (default 4, NASBench-101's shortest)")
    parser.add_argument("--cifar", help="a cifar-10-batches-py folder (default: a synthetic one)")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("cuda_check.py: no CUDA GPU here")
    from bench_train import OPTIMUM

    assert OPTIMUM.hash == OPTIMUM_HASH
    out: dict = {"gpu": torch.cuda.get_device_name(0), "torch": torch.__version__, "epochs": args.epochs}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.cifar or cifar.write_synthetic(os.path.join(tmp, "cifar-10-batches-py"), per_batch=8192,
                                                     test=1024)
        validation = 10_000 if args.cifar else 2048
        data = cifar.load_cifar10(folder, validation_size=validation)
        config = TrainConfig(epochs=args.epochs, device="cuda")      # the whole schedule, as NASBench-101's 4 epochs
        runs = [train_cell(OPTIMUM, data, config) for _ in range(2)]
        for r in runs:
            if r.failed:
                raise SystemExit(f"cuda_check.py: training failed: {r.error}")
        keys = ("validation_accuracy", "train_accuracy", "images_per_second", "steady_images_per_second")
        out["repeat"] = {k: [round(r.info[k], 6) for r in runs] for k in keys}
        out["repeat"].update(steps=runs[0].info["steps"], dtype=runs[0].info["dtype"], device=runs[0].info["device"],
                             equal=all(runs[0].info[k] == runs[1].info[k] for k in keys[:2]))
        ips = max(r.info["steady_images_per_second"] for r in runs)
        out["protocol_estimate_minutes"] = round(108 * 40_000 / ips / 60, 1)
        evaluator = TrainEvaluator(folder, TrainConfig(epochs=1, max_steps=20, device="auto"),
                                   validation_size=validation)
        result = evaluator.evaluate(OPTIMUM)
        out["evaluator"] = {"failed": result.failed, "accuracy": result.accuracy, "device": result.info.get("device"),
                            "device_name": result.info.get("device_name"),
                            "names_this_gpu": result.info.get("device_name") == torch.cuda.get_device_name(
                                evaluator.device),
                            "describe": evaluator.describe(), "device_id": evaluator.device_id(),
                            "dtype": result.info.get("dtype"),
                            "trainable_parameters": result.info.get("trainable_parameters"),
                            "parameters_match_nasbench": result.info.get("trainable_parameters") == OPTIMUM_PARAMETERS}
    try:
        check_device(f"cuda:{torch.cuda.device_count()}")
        out["bad_device"] = None
    except ConfigError as exc:
        out["bad_device"] = str(exc)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(run_script(main))
