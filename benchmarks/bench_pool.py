"""What a training search's pool of every NASBench-101 cell costs: start, checkpoint, resume, memory.

    python benchmarks/bench_pool.py [--algo alphax] [--size N] [--results 40]

With ``--evaluator train`` the searchers' pool is the space's cells (``SearchSpace.all_cells``), so that
AlphaX runs the guided tree it runs on a table. This script times, in one process, what the run does
with that pool: listing the cells (from the enumeration cache, made first if missing), making the
searcher, ``--results`` ask/tell rounds with made-up accuracies (no training: a fixed function of the
hash), a checkpoint as a run writes it (the cells by reference) and its loading (which computes the
pool's encodings again). Prints one JSON object; the peak resident memory is the process's.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import sys
import tempfile
import time

import numpy as np

from alphax.checkpoint import load_checkpoint, save_checkpoint
from alphax.cli import ArgumentParser, int_arg, run_script
from alphax.searchers import Result, make_searcher
from alphax.spaces import NASBench101Space


def _accuracy(h: str) -> float:
    return 0.80 + 0.15 * int(hashlib.md5(h.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--algo", default="alphax", choices=("alphax", "random", "evolution"))
    parser.add_argument("--size", type=int_arg(1), default=None, help="a sample of N cells (default: all 423,624)")
    parser.add_argument("--results", type=int_arg(1), default=40, help="ask/tell rounds before the checkpoint")
    args = parser.parse_args()
    space = NASBench101Space()
    times = {}
    t0 = time.perf_counter()
    cells = space.all_cells(args.size, seed=0)
    times["list_cells_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    searcher = make_searcher(args.algo, space, rng=np.random.default_rng(0), candidates=cells,
                             **space.searcher_options(args.algo))
    times["make_searcher_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.results):
        (prop,) = searcher.ask(1)
        searcher.tell(prop.cell, Result(accuracy=_accuracy(space.hash(prop.cell))))
    times["ask_tell_ms_per_result"] = 1e3 * (time.perf_counter() - t0) / args.results
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = save_checkpoint(tmp, {"n": args.results, "searcher": searcher}, shared=cells)
        times["checkpoint_write_s"] = time.perf_counter() - t0
        size = path.stat().st_size
        t0 = time.perf_counter()
        state, _ = load_checkpoint(tmp, shared=cells)
        times["checkpoint_load_s"] = time.perf_counter() - t0
    (a,), (b,) = searcher.ask(1), state["searcher"].ask(1)
    print(json.dumps({
        "algo": args.algo, "cells": len(cells), **{k: round(v, 3) for k, v in times.items()},
        "checkpoint_mb": round(size / 2**20, 2),
        "loaded_searcher_proposes_the_same_cell": space.hash(a.cell) == space.hash(b.cell),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
        "machine": f"{platform.machine()} {os.cpu_count()} cores", "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%d"),
    }))


if __name__ == "__main__":
    sys.exit(run_script(main))
