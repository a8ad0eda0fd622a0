"""Throughput of the MPI farm with the table evaluator: results/s (1 and 2 clients), the server's time
per result, and the clients' busy fraction with ``--simulate-time``.

    python benchmarks/bench_farm.py [--space nasbench201|nasbench101] [--data PATH] [--algo random]
                                    [--budget 300] [--sim-budget 200] [--simulate-time 3e-5]
                                    [--harness real|double]

``real`` runs ``mpiexec -n 1 python run_server.py ... : -n K python run_client.py --evaluator table``
(the searcher named by ``--algo`` on the table of ``--space``/``--data``, the real run folder); ``double`` runs tests/mpi/farm_double.py (the
same server and clients around a run double: the searcher ``--algo`` over the first 3,000 subset cells,
or ``--algo file-order`` for the farm's own cost without a searcher's). Figures come from the server's ``--stats`` file (``FarmStats``):
``results_per_second`` over the farm's wall time (first dispatch to last result), ``server_seconds``
per result (the dispatch loop's own work: receiving, asking, dispatching; waiting excluded), the searcher's
``ask`` and ``run.record`` (log + tell, in the recorder thread) per result, and ``busy_fraction`` (sum of
the clients' job seconds / (clients x wall)). Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from alphax.cli import ArgumentParser, int_arg, number_arg, run_script

REPO = Path(__file__).resolve().parents[1]
MPIEXEC = Path(sys.executable).with_name("mpiexec")


def launch(args, out: Path, clients: int, budget: int, simulate: float) -> dict:
    stats = out / "farm.json"
    if args.harness == "real":
        table = ["--space", args.space] + (["--data", args.data] if args.data else [])
        server = [sys.executable, "run_server.py", *table, "--algo", args.algo, "--budget", str(budget),
                  "--seed", "0", "--out", str(out / "run"), "--job-timeout", "600", "--stats", str(stats)]
        client = [sys.executable, "run_client.py", "--evaluator", "table", *table, "--simulate-time", str(simulate)]
    else:
        script = "tests/mpi/farm_double.py"
        server = [sys.executable, script, str(out), "--budget", str(budget), "--job-timeout", "600",
                  *(["--algo", args.algo] if args.algo != "file-order" else [])]
        client = [sys.executable, script, str(out), "--simulate-time", str(simulate)]
    cmd = [str(MPIEXEC), "-n", "1", *server, ":", "-n", str(clients), *client]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=args.timeout,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired:
        raise SystemExit(f"bench_farm.py: error: the farm of {clients} client(s) and {budget} results did not end "
                         f"within --timeout {args.timeout:g} s; give a longer one") from None
    total = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"mpiexec failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    s = json.loads(stats.read_text())
    return {"clients": clients, "budget": budget, "simulate_time": simulate, "results": s["results"],
            "results_per_second": round(s["results_per_second"], 1),
            "server_ms_per_result": round(1000 * s["server_seconds_per_result"], 3),
            "ask_ms_per_result": round(1000 * s["ask_seconds"] / max(s["results"], 1), 3),
            "record_ms_per_result": round(1000 * s["record_seconds"] / max(s["results"], 1), 3),
            "busy_fraction": round(s["busy_fraction"], 4), "farm_wall_s": round(s["wall"], 2),
            "mpiexec_wall_s": round(total, 2)}


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--space", default="nasbench201", choices=("nasbench201", "nasbench101"))
    parser.add_argument("--data", help="the table for --harness real (default: found automatically)")
    parser.add_argument("--algo", default="random")
    parser.add_argument("--budget", type=int_arg(1), default=300, help="results per throughput run")
    parser.add_argument("--sim-budget", type=int_arg(1), default=200, help="results in the --simulate-time run")
    parser.add_argument("--simulate-time", type=number_arg(), default=3e-5,
                        help="scale of the recorded training time slept per cell (3e-5: ~50 ms a cell)")
    parser.add_argument("--harness", choices=("real", "double"), default="real")
    parser.add_argument("--timeout", type=number_arg(zero=False), default=600)
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (clients, budget, sim) in enumerate([(1, args.budget, 0.0), (2, args.budget, 0.0),
                                                    (2, args.sim_budget, args.simulate_time)]):
            out = Path(tmp) / f"run{i}"
            out.mkdir()
            runs.append(launch(args, out, clients, budget, sim))
    print(json.dumps({"benchmark": "mpi_farm_table", "harness": args.harness, "algo": args.algo,
                      "space": args.space if args.harness == "real" else "nasbench101-subset",
                      "cpus": os.cpu_count(), "runs": runs}))


if __name__ == "__main__":
    sys.exit(run_script(main))
