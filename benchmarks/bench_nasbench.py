"""Benchmark: compact NASBench-101 file load time and query rate at the full size (423,624 cells).

The file measured is a SPEED FIXTURE: the real enumeration of the space (hashes, matrices, ops) with
GENERATED metrics (3 repeats x 4 budgets, halfway and final, random numbers). It has the size and layout
of a converted ``nasbench_full.tfrecord`` and is never used as data.

    python benchmarks/bench_nasbench.py [--loads 7] [--queries 300000] [--out DIR]

Prints a JSON summary and a markdown table.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from alphax.cli import ArgumentParser, int_arg, run_script
from alphax.enumerate import load_enumeration
from alphax.nasbench.api import NASBench101
from alphax.nasbench.compact import write_compact
from alphax.nasbench.table import Table
from alphax.spec import CellSpec

FIXTURE_NOTE = "SPEED FIXTURE: real enumeration, GENERATED metrics; never use as data"
_LOAD_ONE = ("import sys, time; t = time.perf_counter(); from alphax.nasbench.api import NASBench101; "
             "t1, c1 = time.perf_counter(), time.process_time(); nb = NASBench101(sys.argv[1]); "
             "t2, c2 = time.perf_counter(), time.process_time(); print(t2 - t1, t2 - t, c2 - c1, len(nb))")


def speed_fixture_table(enum, *, seed: int = 0) -> Table:
    """The enumeration with generated metrics (SPEED FIXTURE, not data): (N, 4, 3, 2, 4) float64."""
    rng = np.random.default_rng(seed)
    n = len(enum)
    epochs = np.array([4, 12, 36, 108])
    metrics = rng.random((n, len(epochs), 3, 2, 4))
    metrics[..., 0] *= 3000.0  # training time, seconds
    return Table(hashes=np.asarray(enum.hashes, dtype="S32"), num_vertices=np.asarray(enum.num_vertices, np.int8),
                 matrices=enum.matrices.astype(np.int8), labels=np.asarray(enum.labels, np.int8),
                 params=rng.integers(200_000, 50_000_000, n), epochs=epochs,
                 repeats=np.full((n, len(epochs)), 3, np.int8), metrics=metrics)


def measure_loads(path: Path, loads: int) -> dict:
    """Median load time of the file: in fresh processes (import excluded and included) and fresh objects."""
    fresh, with_import, cpu = [], [], []
    for _ in range(loads):
        out = subprocess.run([sys.executable, "-c", _LOAD_ONE, str(path)], capture_output=True, text=True,
                             check=True, timeout=300).stdout.split()
        fresh.append(float(out[0]))
        with_import.append(float(out[1]))
        cpu.append(float(out[2]))
    objects = []
    for _ in range(loads):
        t = time.perf_counter()
        NASBench101(path)
        objects.append(time.perf_counter() - t)
    return {"process_median_s": statistics.median(fresh), "process_min_s": min(fresh),
            "process_with_import_median_s": statistics.median(with_import),
            "process_cpu_median_s": statistics.median(cpu),
            "object_median_s": statistics.median(objects), "loads": loads}


def _rate(fn, count: int) -> tuple[float, float]:
    """(calls/s by wall clock, calls/s by this process's CPU time) of ``fn()``, which makes ``count`` calls."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return count / (time.perf_counter() - t), count / max(time.process_time() - c, 1e-9)


def measure_queries(path: Path, enum, *, queries: int, seed: int = 0) -> dict:
    """Queries/s over random cells: CellSpec hash precomputed (first query of each cell, then repeated
    queries), through the hashing path (a fresh CellSpec per query), and with the caller's rng."""
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(enum), 20_000, replace=False)
    specs = [enum.spec(int(i)) for i in idx]
    for s in specs:
        s.hash  # noqa: B018 - precompute (cached on the spec)
    nb = NASBench101(path, seed=0)
    n = len(specs)
    first = _rate(lambda: [nb.query(s) for s in specs], n)

    def repeated():
        for k in range(queries):
            nb.query(specs[k % n])

    warm = _rate(repeated, queries)
    cells = [(s.original_matrix, s.original_ops) for s in specs[:5000]]
    hashing = _rate(lambda: [nb.query(CellSpec(m, ops)) for m, ops in cells], len(cells))
    given = _rate(lambda: [nb.query(s, epochs=36, stop_halfway=True, rng=rng) for s in specs], n)
    names = ("first_query_per_cell", "repeated", "with_spec_and_hash", "given_rng_halfway")
    out = {"queries_repeated": queries, "distinct_cells": n}
    for name, (wall, cpu) in zip(names, (first, warm, hashing, given)):
        out[name] = {"per_s_wall": wall, "per_s_cpu": cpu}
    return out


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--loads", type=int_arg(1), default=7)
    p.add_argument("--queries", type=int_arg(1), default=300_000)
    p.add_argument("--out", help="folder for the speed fixture (default: a temporary folder, removed)")
    p.add_argument("--cache", help="enumeration cache (default: alphax.enumerate's)")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "SPEED_FIXTURE_generated_metrics.nb101"
        t = time.perf_counter()
        enum = load_enumeration(args.cache)
        t_enum = time.perf_counter() - t
        t = time.perf_counter()
        write_compact(path, speed_fixture_table(enum), overwrite=True, note=FIXTURE_NOTE)
        t_write = time.perf_counter() - t
        loads = measure_loads(path, args.loads)
        rates = measure_queries(path, enum, queries=args.queries)
        summary = {"fixture": FIXTURE_NOTE, "cells": len(enum), "file_bytes": path.stat().st_size,
                   "enumeration_load_s": t_enum, "fixture_write_s": t_write, "load": loads, "query": rates,
                   "python": sys.version.split()[0], "cpus": os.cpu_count(), "load_average": os.getloadavg()}
    print(json.dumps(summary, indent=2))
    print()
    print("| measure (SPEED FIXTURE, 423,624 cells, generated metrics) | value |")
    print("|---|---|")
    print(f"| compact file size | {summary['file_bytes'] / 2**20:.0f} MiB |")
    print(f"| load, fresh process, median of {loads['loads']} (import excluded) | {loads['process_median_s']:.3f} s |")
    print(f"| load, fresh process, CPU time, median | {loads['process_cpu_median_s']:.3f} s |")
    print(f"| load, fresh process incl. import | {loads['process_with_import_median_s']:.3f} s |")
    print(f"| load, fresh object in one process, median | {loads['object_median_s']:.3f} s |")
    for name, label in (("first_query_per_cell", "first query of each cell, hash precomputed"),
                        ("repeated", "repeated queries, hash precomputed"),
                        ("with_spec_and_hash", "building a CellSpec and hashing each"),
                        ("given_rng_halfway", "hash precomputed, caller's rng, stop_halfway")):
        r = rates[name]
        print(f"| queries/s, {label} (wall / CPU time) | {r['per_s_wall']:,.0f} / {r['per_s_cpu']:,.0f} |")
    print(f"| load average during the run ({summary['cpus']} CPUs) | "
          f"{' '.join(f'{x:.1f}' for x in summary['load_average'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
