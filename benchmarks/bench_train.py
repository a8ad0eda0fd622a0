"""Images/s of our training function against nasbench-pytorch's own ``trainer.train()``, same cell, same data.

    python benchmarks/bench_train.py [--device cpu] [--stem-channels 32] [--batch-size 64] [--steps 8]
                                     [--repeats 2] [--cifar DIR]

Both train the NASBench-101 global optimum cell (hash 02e5a0247bbdcf2860b7e96f74961594) for ``--steps``
batches from a fresh network; the figure is images per second of the training loop (evaluation
excluded), best of ``--repeats`` runs, taken alternately in the same process. nasbench-pytorch gets a
``DataLoader`` over already-normalized tensors (no augmentation: less work than ours, which augments
on the device). Without ``--cifar`` a synthetic folder in the CIFAR-10 batch format is written. Prints
one JSON object; ``ratio`` is ours / nasbench-pytorch's.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import sys
import tempfile
import time

import torch

from alphax.cli import ArgumentParser, int_arg, run_script
from alphax.spec import CellSpec
from workers import cifar
from workers.training import TrainConfig, resolve_device, train_cell

OPTIMUM = CellSpec(
    [[0, 1, 1, 0, 0, 1, 1], [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0],
     [0, 0, 0, 0, 0, 1, 0], [0, 0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0]],
    ["input", "conv1x1-bn-relu", "conv3x3-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"])


def ours(data, args) -> float:
    cfg = TrainConfig(epochs=1, max_steps=args.steps, batch_size=args.batch_size,
                      stem_channels=args.stem_channels, num_stacks=args.stacks,
                      modules_per_stack=args.modules_per_stack, device=args.device, eval_batch_size=256)
    result = train_cell(OPTIMUM, data, cfg)
    if result.failed:
        raise RuntimeError(result.error)
    return result.info["images_per_second"]


def theirs(data, args, device: torch.device) -> float:
    from nasbench_pytorch import trainer
    from nasbench_pytorch.model import Network

    n = args.steps * args.batch_size
    x = cifar.normalize(torch.from_numpy(data.train.images[:n]))
    y = torch.from_numpy(data.train.labels[:n])
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=args.batch_size,
                                         shuffle=True, drop_last=True)
    torch.manual_seed(0)
    net = Network((OPTIMUM.matrix, list(OPTIMUM.ops)), stem_out_channels=args.stem_channels,
                  num_stacks=args.stacks, num_modules_per_stack=args.modules_per_stack)
    with contextlib.redirect_stdout(io.StringIO()):
        t0 = time.perf_counter()
        trainer.train(net, loader, num_epochs=1, device=device, optimizer="rmsprop", print_frequency=10**9)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        seconds = time.perf_counter() - t0
    return n / seconds


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--stem-channels", type=int_arg(1), default=32)
    parser.add_argument("--stacks", type=int_arg(1), default=3)
    parser.add_argument("--modules-per-stack", type=int_arg(1), default=3)
    parser.add_argument("--batch-size", type=int_arg(1), default=64)
    parser.add_argument("--steps", type=int_arg(1), default=8)
    parser.add_argument("--repeats", type=int_arg(1), default=2)
    parser.add_argument("--cifar", help="a cifar-10-batches-py folder (default: a synthetic one)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.cifar or cifar.write_synthetic(
            os.path.join(tmp, "cifar-10-batches-py"), per_batch=max(64, (args.steps * args.batch_size) // 4 + 64),
            test=256)
        validation = 10_000 if args.cifar else 256
        data = cifar.load_cifar10(folder, validation_size=validation)
        runs_ours, runs_theirs = [], []
        for _ in range(args.repeats):
            runs_ours.append(ours(data, args))
            runs_theirs.append(theirs(data, args, device))
    best_ours, best_theirs = max(runs_ours), max(runs_theirs)
    print(json.dumps({
        "benchmark": "train_images_per_second", "device": str(device),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu": platform.processor() or platform.machine(),
        "cell": OPTIMUM.hash, "stem_channels": args.stem_channels, "stacks": args.stacks,
        "modules_per_stack": args.modules_per_stack, "batch_size": args.batch_size, "steps": args.steps,
        "ours_images_per_second": round(best_ours, 1), "nasbench_pytorch_images_per_second": round(best_theirs, 1),
        "ratio": round(best_ours / best_theirs, 3),
        "runs": {"ours": [round(v, 1) for v in runs_ours], "nasbench_pytorch": [round(v, 1) for v in runs_theirs]},
    }))


if __name__ == "__main__":
    sys.exit(run_script(main))
