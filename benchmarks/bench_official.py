"""What the official NASBench-101 files cost at their full size: reading, converting, starting a search.

    python benchmarks/bench_official.py [--files only108,full] [--out DIR]

Users hold ``nasbench_only108.tfrecord`` (1,270,872 records) or ``nasbench_full.tfrecord`` (5,083,488),
which cannot be downloaded here. This script writes files of the same format and size, SPEED FIXTURES:
the real enumeration of the space (423,624 cells) with GENERATED metrics (``bench_nasbench.py``'s), in
the official record layout (``write_official``), never used as data. For each it measures, each in a
fresh process: reading it (``NASBench101(path)``: wall time and peak memory), ``alphax nasbench convert``
to the compact file, and ``alphax search --algo random --budget 20`` from the official file and from the
compact one (wall time of the whole command, start-up included). Then, in this process, the table
evaluator's two passes over every cell, both ways in the same run: its cells (one ``CellSpec`` per
stored cell, pruned and hashed, as before 2026-12-06; in bulk, ``NASBench101.cells_with``) and its
optimum (a loop over ``mean_metric``; ``NASBench101.best_mean``). Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_nasbench import speed_fixture_table  # noqa: E402

from alphax.cli import ArgumentParser, run_script  # noqa: E402
from alphax.enumerate import load_enumeration  # noqa: E402
from alphax.nasbench.api import NASBench101  # noqa: E402
from alphax.nasbench.tfrecord import write_official  # noqa: E402
from alphax.spec import CellSpec  # noqa: E402

_LOAD = ("import resource, sys, time; t = time.perf_counter(); from alphax.nasbench.api import NASBench101; "
         "nb = NASBench101(sys.argv[1]); print(time.perf_counter() - t, len(nb), "
         "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")


def _timed(command: list[str]) -> tuple[float, str]:
    """(wall seconds, stdout) of a command that must succeed."""
    t = time.perf_counter()
    out = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if out.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{out.stderr[-2000:]}")
    return time.perf_counter() - t, out.stdout


def _clock(fn):
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def measure(path: Path, folder: Path) -> dict:
    """Read, convert and start a search on one official file."""
    wall, out = _timed([sys.executable, "-c", _LOAD, str(path)])
    seconds, cells, maxrss_kib = out.split()
    compact = folder / (path.stem + ".nb101")
    convert, _ = _timed([sys.executable, "-m", "alphax.cli", "nasbench", "convert", str(path), "-o", str(compact),
                         "--force"])
    searches = {}
    for name, data in (("official", path), ("compact", compact)):
        run = folder / f"run-{path.stem}-{name}"
        searches[name], _ = _timed([sys.executable, "-m", "alphax.cli", "search", "--space", "nasbench101",
                                    "--data", str(data), "--algo", "random", "--budget", "20", "--out", str(run),
                                    "--no-progress"])
    return {"file_bytes": path.stat().st_size, "cells": int(cells), "read_s": round(float(seconds), 2),
            "read_process_s": round(wall, 2), "read_peak_mib": round(int(maxrss_kib) / 1024),
            "convert_s": round(convert, 2), "compact_bytes": compact.stat().st_size,
            "search_20_from_official_s": round(searches["official"], 2),
            "search_20_from_compact_s": round(searches["compact"], 2)}


def evaluator_passes(nb: NASBench101) -> dict:
    """The table evaluator's cells and optimum over every cell, the per-cell way and in bulk."""
    hashes = nb.hashes_with(108)

    def per_cell():                     # what spec_of did for each cell before 2026-12-06
        return [CellSpec(f["module_adjacency"], f["module_operations"])
                for f in (nb._fixed(nb._hash_index(h)) for h in hashes)]

    def loop_optimum():
        best = None
        for h in hashes:
            value = nb.mean_metric(h)
            if value is not None and (best is None or value > best[1]):
                best = (h, value)
        return best

    t_old, old = _clock(per_cell)
    t_new, new = _clock(lambda: nb.cells_with(108))
    same = [c.hash for c in old] == [c.hash for c in new] and all(
        a.ops == b.ops and (a.matrix == b.matrix).all() for a, b in zip(old, new))
    t_loop, best_loop = _clock(loop_optimum)
    t_bulk, best_bulk = _clock(lambda: nb.best_mean(108))
    return {"cells": len(hashes), "cells_per_cell_s": round(t_old, 2), "cells_in_bulk_s": round(t_new, 2),
            "cells_same": bool(same), "optimum_loop_s": round(t_loop, 2), "optimum_bulk_s": round(t_bulk, 3),
            "optimum_same": best_loop == best_bulk}


def main() -> int:
    p = ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", default="only108,full", help="which official files to imitate (only108, full)")
    p.add_argument("--out", help="folder for the fixtures (default: a temporary folder, removed; about 2.5 GB)")
    args = p.parse_args()
    files = [f for f in args.files.split(",") if f]
    if not set(files) <= {"only108", "full"}:
        p.error("--files takes only108 and/or full")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.out or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        nb = NASBench101.from_table(speed_fixture_table(load_enumeration()))
        results = {}
        for name in files:
            path = folder / f"SPEED_FIXTURE_nasbench_{name}.tfrecord"

            def cells(only108=name == "only108"):
                for h in nb.hashes:
                    fixed, computed = nb.get_metrics_from_hash(h)
                    yield h, fixed, ({108: computed[108]} if only108 else computed)

            write_s, records = _clock(lambda: write_official(path, cells(), overwrite=True))
            results[name] = {"records": records, "fixture_write_s": round(write_s, 1), **measure(path, folder)}
            print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
        summary = {"fixture": "SPEED FIXTURE: real enumeration, GENERATED metrics; never use as data",
                   "files": results, "evaluator": evaluator_passes(nb), "python": platform.python_version(),
                   "cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()]}
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
