"""The peak memory of ``alphax compare`` on a NASBench-101 table, as its number of seeds grows.

    python benchmarks/bench_compare_memory.py [--seeds 20] [--algos random] [--budget 20] [--jobs 2]

Runs ``alphax compare --space nasbench101 --data D --algos A --seeds S --budget B --jobs J`` into a
temporary folder, in a child process (so that nothing this script loads counts), and prints one JSON object:
the command's wall time, the peak resident memory of its main process and the largest peak among its
worker processes (``ru_maxrss`` of the process and of its children; with ``--jobs 1`` the runs are made in
the main process), and a digest of every run's cells (the same for two versions of the code exactly
when they evaluate the same cells).

Each seed of a comparison reads the table with its own eval seed (``noise: per-seed``): the memory a
worker holds per eval seed is what this measures. Random search keeps the searcher's own memory out of
it. To compare two versions in one run, point ``PYTHONPATH`` at the other checkout (``alphax_file`` in
the output says which code ran), alternating: ``for i in 1 2; do PYTHONPATH=/tmp/old python
benchmarks/bench_compare_memory.py; python benchmarks/bench_compare_memory.py; done``.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import alphax
from alphax.cli import ArgumentParser, int_arg, run_script
from alphax.nasbench.paths import resolve_data_path
from alphax.runlog import read_results

_CHILD = """
import contextlib, json, resource, sys
import alphax
from alphax.cli import main
with contextlib.redirect_stdout(sys.stderr):
    code = main(sys.argv[1:])
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"code": code, "alphax_file": alphax.__file__, "main_maxrss_kib": own, "worker_maxrss_kib": workers}))
"""


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="the table (default: found as alphax finds it)")
    parser.add_argument("--seeds", type=int_arg(1), default=20)
    parser.add_argument("--algos", default="random")
    parser.add_argument("--budget", type=int_arg(1), default=20)
    parser.add_argument("--jobs", type=int_arg(1), default=2)
    args = parser.parse_args()
    path = resolve_data_path(args.data)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cmp"
        command = ["compare", "--space", "nasbench101", "--data", str(path), "--algos", args.algos,
                   "--seeds", str(args.seeds), "--budget", str(args.budget), "--jobs", str(args.jobs),
                   "--out", str(out), "--no-progress"]
        start = time.perf_counter()
        # run from the temporary folder: ``python -c`` puts the current folder first on its path, before
        # PYTHONPATH (a checkout's own alphax would be imported instead of the one PYTHONPATH names)
        proc = subprocess.run([sys.executable, "-c", _CHILD, *command], capture_output=True, text=True, cwd=tmp)
        wall = time.perf_counter() - start
        if proc.returncode or not proc.stdout.strip():
            raise SystemExit(f"alphax compare failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        memory = json.loads(proc.stdout.strip().splitlines()[-1])
        if memory["code"]:
            raise SystemExit(f"alphax compare exited with {memory['code']}:\n{proc.stderr[-3000:]}")
        digest = hashlib.md5()
        for run in sorted((out / "runs").iterdir()):
            digest.update(f"{run.name}:{''.join(r['hash'] for r in read_results(run))}\n".encode())
    if memory["alphax_file"] != alphax.__file__:
        raise SystemExit(f"the command ran {memory['alphax_file']}, not {alphax.__file__}")
    print(json.dumps({"alphax_file": alphax.__file__, "machine": platform.processor() or platform.machine(),
                      "command": "alphax " + " ".join(command[:-3]) + " --no-progress",
                      "wall_seconds": round(wall, 2), "main_peak_mib": round(memory["main_maxrss_kib"] / 1024),
                      "worker_peak_mib": round(memory["worker_maxrss_kib"] / 1024),
                      "digest": digest.hexdigest()}))


if __name__ == "__main__":
    sys.exit(run_script(main))
