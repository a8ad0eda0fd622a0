"""How AlphaX searches without a pool (the open mode: ``--evaluator train --pool-size 0``, where any valid
cell may be proposed and the guided tree policy, which needs the pool, is off) against with one (a table,
or training's default pool of every cell of the space), on NAS-Bench-201, whose complete table can value
every cell either way.

    python benchmarks/open_mode.py [--algo alphax] [--dataset cifar10] [--seeds 10] [--budget 500]

Prints, per mode, the samples to the data set's optimum (the best mean validation accuracy) per seed and
their mean; seed s uses eval seed s, as ``alphax compare``. Both modes use the space's searcher defaults.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from alphax.cli import ArgumentParser, int_arg, run_script
from alphax.nasbench201 import load
from alphax.registry import checked_searcher_options
from bench_nasbench201 import run_one


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algo", default="alphax")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--seeds", type=int_arg(1), default=10)
    parser.add_argument("--budget", type=int_arg(1), default=500)
    args = parser.parse_args()
    data = load(args.dataset)
    options = checked_searcher_options(data.space, args.algo)
    for mode in ("table", "open"):
        t0 = time.perf_counter()
        hits = [run_one(args.dataset, args.algo, s, args.budget, options, pool=mode == "table")["found"]
                for s in range(args.seeds)]
        found = [h for h in hits if h is not None]
        print(json.dumps({"algo": args.algo, "dataset": args.dataset, "mode": mode, "found": f"{len(found)}/{len(hits)}",
                          "mean": float(np.mean(found)) if found else None, "per_seed": hits,
                          "wall_s": round(time.perf_counter() - t0, 1)}), flush=True)


if __name__ == "__main__":
    sys.exit(run_script(main))
