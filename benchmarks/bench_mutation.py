"""What NASBench-101's mutation costs, alone and inside regularized evolution on the real subset.

    python benchmarks/bench_mutation.py [--mutations 20000] [--seeds 2] [--budget 3000]

Two measures, one JSON object on stdout:

- ``mutations_per_second``: :func:`mutate_spec` of the subset's first 100 cells in turn, from seed 0, each
  child hashed (as the candidate rule hashes it); ``digest`` (MD5 over the children's hashes and unpruned
  graphs) is the same for two versions of the code exactly when they draw the same children.
- per seed, ``alphax search --algo evolution --budget B`` on the subset, run in this process in a
  temporary folder: its wall time, the searcher's own median and mean ms per proposal (``stats.json``),
  the mutations it tried (most land on cells without data: the subset holds 1 cell in 21) and a digest of
  the cells it proposed.

To compare two versions in one run, point ``PYTHONPATH`` at the other checkout (``alphax_file`` in the
output says which code ran), alternating: ``for i in 1 2; do PYTHONPATH=/tmp/old python
benchmarks/bench_mutation.py; python benchmarks/bench_mutation.py; done``.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import alphax
from alphax.cli import ArgumentParser, int_arg, run_script, main as alphax_main
from alphax.nasbench.paths import resolve_data_path
from alphax.runlog import read_results
from alphax.spaces.nasbench101 import mutate_spec
from alphax.spec import CellSpec


def mutation_rate(path: Path, count: int) -> dict:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        parents = [CellSpec(row["matrix"], row["ops"]) for row in map(json.loads, (next(f) for _ in range(100)))]
    rng = np.random.default_rng(0)
    digest = hashlib.md5()
    start = time.perf_counter()
    for k in range(count):
        child = mutate_spec(parents[k % len(parents)], rng)
        digest.update(json.dumps([child.hash, child.original_matrix.tolist(), child.original_ops]).encode())
    seconds = time.perf_counter() - start
    return {"mutations": count, "seconds": round(seconds, 3), "mutations_per_second": round(count / seconds),
            "digest": digest.hexdigest()}


def evolution_run(path: Path, seed: int, budget: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        start = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):      # its summary: stdout is this script's JSON
            code = alphax_main(["search", "--space", "nasbench101", "--data", str(path), "--algo", "evolution",
                                "--seed", str(seed), "--budget", str(budget), "--out", str(out), "--no-progress"])
        wall = time.perf_counter() - start
        if code:
            raise SystemExit(f"alphax search exited with {code}")
        stats = json.loads((out / "stats.json").read_text(encoding="utf-8"))
        hashes = [row["hash"] for row in read_results(out)]
    metrics = stats["searcher_metrics"]
    return {"seed": seed, "wall_seconds": round(wall, 2),
            "searcher_ms_median": round(1e3 * stats["searcher_seconds_median"], 3),
            "searcher_ms_mean": round(1e3 * stats["searcher_seconds_mean"], 3),
            "mutation_tries": metrics.get("mutation_tries"),
            "digest": hashlib.md5("".join(hashes).encode()).hexdigest()}


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="the subset (default: found as alphax finds it)")
    parser.add_argument("--mutations", type=int_arg(1), default=20000)
    parser.add_argument("--seeds", type=int_arg(0), default=2, help="evolution runs, seeds 0..N-1 (0: none)")
    parser.add_argument("--budget", type=int_arg(1), default=3000)
    args = parser.parse_args()
    path = resolve_data_path(args.data)
    out = {"alphax_file": alphax.__file__, "machine": platform.processor() or platform.machine(),
           "mutation": mutation_rate(path, args.mutations),
           "evolution": [evolution_run(path, seed, args.budget) for seed in range(args.seeds)]}
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(run_script(main))
