"""Time the enumeration of the NASBench-101 space: the first run (no cache) and later loads.

    python benchmarks/bench_enumeration.py [--workers N] [--loads 5]

Prints one JSON object. The first run walks the space and hashes every unique cell; later loads read
the cache file. Targets (issue 2): first run well under 2 minutes on 2 cores, later loads under 1 s.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from alphax.cli import ArgumentParser, int_arg, run_script
from alphax.enumerate import NUM_CELLS, load_enumeration


def main() -> None:
    parser = ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int_arg(1), default=None, help="hashing processes (default: all cores)")
    parser.add_argument("--loads", type=int_arg(1), default=5, help="cache loads to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cells.npz"
        t0 = time.perf_counter()
        e = load_enumeration(cache, workers=args.workers)
        first = time.perf_counter() - t0
        assert len(e) == NUM_CELLS
        loads = []
        for _ in range(args.loads):
            t0 = time.perf_counter()
            load_enumeration(cache)
            loads.append(time.perf_counter() - t0)
        size = cache.stat().st_size
    print(json.dumps({
        "cells": len(e), "first_run_s": round(first, 2), "cache_load_median_s": round(statistics.median(loads), 4),
        "cache_bytes": size, "workers": args.workers or os.cpu_count(), "cpus": os.cpu_count(),
        "machine": platform.platform(), "date": time.strftime("%Y-%m-%d"),
    }, indent=2))


if __name__ == "__main__":
    sys.exit(run_script(main))
