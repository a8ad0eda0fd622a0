"""Tune / check the searchers on the real NASBench-101 subset with a simple inline loop.

Holds part of the file out: ``--half tune`` keeps cells whose hash's last hex digit is even,
``--half holdout`` the odd ones (the subset is one contiguous hash range, so the first digit is constant),
``--half all`` everything; each half has its own optimum.
``--split D:B:V`` keeps instead the cells whose hash has bit ``B`` of its ``D``-th hex digit from the end
equal to ``V`` (``--half tune`` is ``--split 1:0:0``): other halves, other optima, to see how much one
optimum decides a figure. Several conditions, comma-separated, must all hold: ``--split 1:0:0,1:1:1`` is a
quarter of the file inside the tuning half (its own optimum, and no held-out cell).
``--options`` go over the space's per-searcher defaults (``default_searcher_options``), as on ``alphax
search``; figures recorded before NASBench-101 had any (2026-12-02) used ``c=1, prior_visits=1``.

    python benchmarks/tune_search.py --algo alphax --seeds 20 --budget 600 --half tune
    python benchmarks/tune_search.py --algo alphax --seeds 20 --budget 1500 --split 1:2:1
    python benchmarks/tune_search.py --algo alphax --seeds 20 --budget 800 --split 1:0:0,2:0:1

Measures as ``alphax compare``'s samples to the optimum (the first proposal of the optimum cell) and
regret; a run stops once it has found it, so its searcher times (``ms_median``: the median over seeds of
each run's median ms per proposal, ``ms_mean`` likewise) cover the proposals up to the optimum, not a
whole budget as ``alphax compare``'s do. ``mean`` and ``median`` are over the seeds that found the optimum;
``mean_all_seeds`` and ``median_all_seeds`` over every seed, as ``alphax compare``'s, a miss counted at its
budget (so the mean is a lower bound then) and ranked after every find (a median above the budget: None).
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from alphax.cli import ArgumentParser, int_arg, json_object_arg, run_script
from alphax.compare import samples_stats
from alphax.nasbench.paths import resolve_data_path
from alphax.registry import checked_searcher_options
from alphax.searchers import Result, make_searcher
from alphax.spaces import NASBench101Space

log = logging.getLogger("tune_search")


Split = tuple[tuple[int, int, int], ...]
HALVES: dict[str, Split] = {"tune": ((1, 0, 0),), "holdout": ((1, 0, 1),), "all": ()}


def parse_split(text: str) -> Split:
    """``"D:B:V[,D:B:V...]"`` -> conditions (digit from the end, 1-based; bit; wanted value), all to hold."""
    conditions = []
    for part in text.split(","):
        try:
            digit, bit, value = (int(x) for x in part.split(":"))
            if not (1 <= digit <= 32 and 0 <= bit <= 3 and value in (0, 1)):
                raise ValueError
        except ValueError:
            raise argparse.ArgumentTypeError(f"--split wants DIGIT:BIT:VALUE (DIGIT 1-32 from the end, BIT 0-3, "
                                             f"VALUE 0 or 1), comma-separated, got {text!r}") from None
        conditions.append((digit, bit, value))
    return tuple(conditions)


def keeps(cell_hash: str, split: Split) -> bool:
    return all((int(cell_hash[-digit], 16) >> bit) & 1 == value for digit, bit, value in split)


def load(path: Path, split: Split):
    space = NASBench101Space()
    cells, acc = [], {}
    with gzip.open(path, "rt") as f:
        for line in f:
            row = json.loads(line)
            if not keeps(row["hash"], split):
                continue
            cells.append(space.from_json(row))
            acc[row["hash"]] = row["metrics"]["108"]["validation_accuracy"]
    return space, cells, acc


def add_split_arguments(p: argparse.ArgumentParser) -> None:
    """``--half``, ``--split`` and ``--data``: which part of the real subset a script works on."""
    p.add_argument("--half", choices=tuple(HALVES), default="tune")
    p.add_argument("--split", type=parse_split, default=None, metavar="D:B:V[,D:B:V...]",
                   help="keep the cells whose hash has bit B of its D-th hex digit from the end equal to V, "
                        "for every condition given (overrides --half; --half tune is 1:0:0)")
    p.add_argument("--data", type=Path, default=None,
                   help="the real subset (nb101_real_subset.jsonl.gz) or its folder (default: alphax.nasbench.paths)")


def load_split(p: argparse.ArgumentParser, args: argparse.Namespace):
    """``(label, space, cells, {hash: accuracy})`` of the part chosen by :func:`add_split_arguments`'s
    options; a clear ``p.error`` for a file that is not the subset or a split that keeps no cell."""
    data = resolve_data_path(args.data)
    if not data.name.endswith(".jsonl.gz"):
        p.error(f"{data} is not the real subset (nb101_real_subset.jsonl.gz): pass it with --data")
    split = args.split if args.split is not None else HALVES[args.half]
    if args.split is None:
        flag, value = "--half", args.half
    else:
        flag, value = "--split", ",".join("%d:%d:%d" % c for c in split)
    space, cells, acc = load(data, split)
    if not cells:
        p.error(f"{flag} {value} keeps no cell of {data} (its hashes share their first digits): pick another {flag}")
    return (value if args.split is None else f"split {value}"), space, cells, acc


def run_one(algo: str, seed: int, space, cells, acc, budget: int, options: dict) -> dict:
    optimum = max(acc.values())
    opt_hash = max(acc, key=acc.get)          # found = this cell proposed, as alphax compare counts it
    searcher_options = space.searcher_options(algo, {k: v for k, v in options.items() if not k.startswith("_")})
    searcher = make_searcher(algo, space, rng=np.random.default_rng(seed), candidates=cells, **searcher_options)
    best, curve, times, hit = 0.0, [], [], None
    while len(curve) < budget:
        t0 = time.perf_counter()
        proposals = searcher.ask(1)
        t_ask = time.perf_counter() - t0
        if not proposals:
            break
        cell = proposals[0].cell
        a = acc[cell.hash]
        t0 = time.perf_counter()
        searcher.tell(cell, Result(a))
        times.append(t_ask + time.perf_counter() - t0)
        best = max(best, a)
        curve.append(best)
        if hit is None and cell.hash == opt_hash:
            hit = len(curve)
            if options.get("_stop_at_optimum", True):
                break
    # past the budget only where the run stopped at the optimum before it (regret 0 from there on)
    regret = {b: optimum - (curve[b - 1] if len(curve) >= b else curve[-1]) for b in (50, 100, 150, 300)
              if b <= budget or hit is not None}
    return {"seed": seed, "hit": hit, "made": len(curve), "regret": regret, "ms_median": 1e3 * statistics.median(times),
            "ms_mean": 1e3 * statistics.fmean(times), "metrics": searcher.metrics()}


def main() -> int:
    p = ArgumentParser()
    p.add_argument("--algo", default="alphax")
    p.add_argument("--seeds", type=int_arg(1), default=20)
    p.add_argument("--seed0", type=int_arg(0), default=0)
    p.add_argument("--budget", type=int_arg(1), default=1000)
    add_split_arguments(p)
    p.add_argument("--options", default={}, type=json_object_arg,
                   help="JSON keyword options for the searcher (those starting with _ are this script's)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    half, space, cells, acc = load_split(p, args)
    options = args.options
    checked_searcher_options(space, args.algo, {k: v for k, v in options.items() if not k.startswith("_")})
    runs = []
    t0 = time.time()
    for seed in range(args.seed0, args.seed0 + args.seeds):
        r = run_one(args.algo, seed, space, cells, acc, args.budget, options)
        runs.append(r)
        at150 = r["regret"].get(150)
        log.info("seed %d hit %s regret@150 %s ms/prop median %.1f mean %.1f", seed, r["hit"],
                 "-" if at150 is None else f"{at150:.4f}", r["ms_median"], r["ms_mean"])
    found, mean, median, _, every, middle = samples_stats([r["hit"] for r in runs], [r["made"] for r in runs])
    summary = {"algo": args.algo, "half": half, "cells": len(cells), "optimum": max(acc.values()),
               "options": options, "space_defaults": space.searcher_options(args.algo),
               "found": f"{found}/{len(runs)}", "mean": mean, "median": median,
               "mean_all_seeds": every, "median_all_seeds": middle,       # as the docstring says
               "regret@150": statistics.fmean(r["regret"][150] for r in runs)      # None: some run stopped before
               if all(150 in r["regret"] for r in runs) else None,
               "ms_median": statistics.median(r["ms_median"] for r in runs),
               "ms_mean": statistics.fmean(r["ms_mean"] for r in runs), "wall_s": time.time() - t0,
               "per_seed": [r["hit"] for r in runs]}
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
