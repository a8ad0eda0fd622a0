"""Training clients on the CPU under ``mpiexec``: each with a thread per core (as every process starts
without ``OMP_NUM_THREADS``, what the clients did before they shared the node) against each with its share
of the node's CPUs (``workers.training.cpu_share``, what a client does now when ``OMP_NUM_THREADS`` is
unset), same cells, same data.

    python benchmarks/bench_cpu_clients.py [--clients 2] [--budget 6] [--repeats 2] [--stem-channels 16]

One job is ``mpiexec -n 1 python run_server.py --evaluator train --algo random --seed 0 ... : -n K python
run_client.py --evaluator train --device cpu ...`` with a small NASBench-101 network (1 stack of 1 module,
1 epoch) on a synthetic folder in the CIFAR-10 batch format. The two settings alternate, ``--repeats``
times each; the figures are the best job's: wall time of the whole job (its start-up, about 15 s on 2
cores, included), and the mean training seconds of a result (``seconds``). ``per_core`` sets
``OMP_NUM_THREADS`` to the CPUs a process may run on; ``share`` leaves it unset. Prints one JSON object;
``ratio`` is per_core's wall time / share's, ``result_ratio`` the same of a result's seconds;
``client_threads``: each client's torch threads, as the server's log names them.
"""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alphax import environment
from alphax.cli import ArgumentParser, int_arg, run_script
from workers import cifar

REPO = Path(__file__).resolve().parents[1]
MPIEXEC = Path(sys.executable).with_name("mpiexec")


def job(args, data: str, out: Path, threads: str) -> dict:
    train = ["--epochs", "1", "--batch-size", "64", "--stem-channels", str(args.stem_channels), "--stacks", "1",
             "--modules-per-stack", "1", "--validation-size", "256"]
    cmd = [str(MPIEXEC), "-disable-auto-cleanup",
           "-n", "1", sys.executable, "run_server.py", "--space", "nasbench101", "--evaluator", "train",
           "--algo", "random", "--budget", str(args.budget), "--seed", "0", "--out", str(out), *train,
           ":", "-n", str(args.clients), sys.executable, "run_client.py", "--evaluator", "train", "--cifar", data,
           "--device", "cpu", *train]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    if threads:
        env["OMP_NUM_THREADS"] = threads
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise RuntimeError(f"the job failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    threads = re.findall(r"ready on .*: train on cpu \(.*?(\d+) threads?\)$", (out / "log.txt").read_text(), re.M)
    return {"wall_seconds": round(wall, 1), "result_seconds": round(sum(r["seconds"] for r in rows) / len(rows), 2),
            "client_threads": sorted(map(int, threads))}


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int_arg(1), default=2)
    parser.add_argument("--budget", type=int_arg(1), default=6)
    parser.add_argument("--repeats", type=int_arg(1), default=2)
    parser.add_argument("--stem-channels", type=int_arg(1), default=16)
    args = parser.parse_args()
    cpus = len(os.sched_getaffinity(0))
    runs: dict[str, list[dict]] = {"per_core": [], "share": []}
    with tempfile.TemporaryDirectory() as tmp:
        data = cifar.write_synthetic(os.path.join(tmp, "cifar-10-batches-py"), per_batch=512, test=256)
        for i in range(args.repeats):
            for name, threads in (("per_core", str(cpus)), ("share", "")):
                runs[name].append(job(args, str(data), Path(tmp) / f"{name}{i}", threads))
    best = {name: min(r, key=lambda x: x["wall_seconds"]) for name, r in runs.items()}
    print(json.dumps({"clients": args.clients, "budget": args.budget, "cpus": cpus, **best, "runs": runs,
                      "ratio": round(best["per_core"]["wall_seconds"] / best["share"]["wall_seconds"], 2),
                      "result_ratio": round(best["per_core"]["result_seconds"] / best["share"]["result_seconds"], 2),
                      "machine": environment.software()["cpu"] or platform.machine()}))


if __name__ == "__main__":
    sys.exit(run_script(main))
