"""NAS-Bench-201 benchmark (issue 5, item 4): samples to the optimum and regret for AlphaX, random search
and regularized evolution (population 20, tournament 5, one-edge mutation).

Target = the cell with the best *mean* validation accuracy; each query observes one training seed drawn at
random. Each (algorithm, seed) runs until it has sampled the optimum or spent its budget. Regret at ``k``
is the optimum's mean accuracy minus the best mean accuracy among the first ``k`` sampled cells (so it is
0 exactly when the optimum has been sampled), averaged over seeds, in accuracy points (x100).

    nice -n 10 python benchmarks/bench_nasbench201.py --datasets cifar10 --seeds 20 --out bench_nb201
    python benchmarks/bench_nasbench201.py --datasets cifar10,cifar100,imagenet16-120 --seeds 20 --budget 1000
    python benchmarks/bench_nasbench201.py --datasets cifar100 --algos alphax --seeds 20 --seed0 20 --budget 1000
    python benchmarks/bench_nasbench201.py --datasets cifar100 --algos alphax --budget 1000 --options '{"kappa": 3}'

Writes ``OUT/<dataset>.json`` (the ``alphax compare`` summary layout) and prints a Markdown table: samples to
the optimum over the seeds that found it, then over all seeds as ``alphax compare`` gives them (a miss counted
at the budget, the mean then a lower bound marked ``>``; ranked after every find for the median).
Random search gets budget 15,625 (it always finds the optimum; expected (N + 1) / 2 = 7,813 samples).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from alphax.cli import ArgumentParser, int_arg, json_object_arg, run_script
from alphax.compare import all_seeds_text, samples_stats
from alphax.nasbench201 import load
from alphax.registry import checked_searcher_options
from workers.evaluators import NASBench201TableEvaluator
from alphax.searchers import make_searcher

REGRET_AT = (50, 100, 150, 300)


def run_one(dataset: str, algo: str, seed: int, budget: int, options: dict, *, pool: bool = True) -> dict:
    """One search; returns the sampled cells' mean accuracies (in order) and the optimum's index. ``pool``:
    the table's cells are the searcher's candidates (False: the open mode, as training with --pool-size 0)."""
    data = load(dataset)
    opt_cell, opt_acc = data.optimum
    rng = np.random.default_rng(seed)
    searcher = make_searcher(algo, data.space, rng=rng, candidates=data.cells if pool else None, **options)
    evaluator = NASBench201TableEvaluator(data, seed=seed)
    means, found, start = [], None, time.perf_counter()
    while len(means) < budget and found is None:
        proposals = searcher.ask(1)
        if not proposals:
            break
        cell = proposals[0].cell
        searcher.tell(cell, evaluator.evaluate(cell))
        means.append(data.mean(cell))
        if cell == opt_cell:
            found = len(means)
    return {"algo": algo, "seed": seed, "found": found, "means": means, "seconds": time.perf_counter() - start,
            "metrics": searcher.metrics() if hasattr(searcher, "metrics") else {}}


def summarize(dataset: str, runs: list[dict], budgets: dict) -> dict:
    data = load(dataset)
    opt_cell, opt_acc = data.optimum
    out = {"space": "nasbench201", "dataset": dataset, "budget": budgets, "seeds": sorted({r["seed"] for r in runs}),
           "optimum": {"hash": opt_cell.arch, "accuracy": opt_acc}, "algorithms": {}}
    for algo in budgets:
        rs = sorted((r for r in runs if r["algo"] == algo), key=lambda r: r["seed"])
        hits = [r["found"] for r in rs]
        found, mean, median, sem, every, middle = samples_stats(hits, [len(r["means"]) for r in rs])
        regret = {}
        for k in (k for k in REGRET_AT if k <= budgets[algo]):     # as alphax compare: within the budget
            vals = []
            for r in rs:
                m = r["means"][:k]
                # a run that stopped at the optimum before k has regret 0 from then on
                vals.append(opt_acc - max(m) if m else opt_acc)
            regret[str(k)] = float(np.mean(vals))
        out["algorithms"][algo] = {
            "samples_to_optimum": hits, "found": found, "mean_samples_to_optimum": mean,
            "median_samples_to_optimum": median, "sem_samples_to_optimum": sem,
            "mean_samples_to_optimum_all_seeds": every, "median_samples_to_optimum_all_seeds": middle,
            "regret_at": regret, "seconds": float(np.sum([r["seconds"] for r in rs]))}
    return out


def table(summary: dict) -> str:
    lines = [f"**{summary['dataset']}** (optimum {summary['optimum']['accuracy'] * 100:.3f}%, "
             f"{len(summary['seeds'])} seeds)", "",
             "| algorithm | found | mean samples to optimum | median | all seeds: mean | median | regret@50 | @100 "
             "| @150 | @300 |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for algo, a in summary["algorithms"].items():
        mean = "-" if a["mean_samples_to_optimum"] is None else f"{a['mean_samples_to_optimum']:.1f}"
        med = "-" if a["median_samples_to_optimum"] is None else f"{a['median_samples_to_optimum']:g}"
        every, middle = all_seeds_text(a, summary["budget"][algo])
        reg = " | ".join(f"{a['regret_at'][str(k)] * 100:.3f}" if str(k) in a["regret_at"] else "-" for k in REGRET_AT)
        lines.append(f"| {algo} | {a['found']}/{len(summary['seeds'])} (budget {summary['budget'][algo]}) "
                     f"| {mean} | {med} | {every} | {middle} | {reg} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", default="cifar10")
    p.add_argument("--algos", default="alphax,random,evolution")
    p.add_argument("--seeds", type=int_arg(1), default=20)
    p.add_argument("--seed0", type=int_arg(0), default=0, help="first seed: runs seeds seed0 .. seed0 + seeds - 1")
    p.add_argument("--budget", type=int_arg(1), default=500, help="budget of AlphaX and evolution")
    p.add_argument("--workers", type=int_arg(1), default=1)
    p.add_argument("--out", default="bench_nb201")
    p.add_argument("--options", default={}, type=json_object_arg,
                   help="JSON searcher options over the space's defaults, for every algorithm of --algos "
                        "(e.g. --algos alphax --options '{\"kappa\": 3}')")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    algos = args.algos.split(",")
    options = {}
    for dataset in args.datasets.split(","):       # every data set and algorithm checked before anything runs
        space = load(dataset).space
        options[dataset] = {a: checked_searcher_options(space, a, args.options) for a in algos}
    os.makedirs(args.out, exist_ok=True)
    for dataset in args.datasets.split(","):
        budgets = {a: (15625 if a == "random" else args.budget) for a in algos}
        jobs = [(dataset, a, s, budgets[a], options[dataset][a])
                for a in algos for s in range(args.seed0, args.seed0 + args.seeds)]
        start = time.perf_counter()
        if args.workers > 1:
            with ProcessPoolExecutor(args.workers) as pool:
                runs = list(pool.map(run_one, *zip(*jobs)))
        else:
            runs = []
            for j in jobs:
                runs.append(run_one(*j))
                r = runs[-1]
                print(f"{dataset} {r['algo']} seed {r['seed']}: optimum at {r['found']} "
                      f"({len(r['means'])} samples, {r['seconds']:.0f} s)", file=sys.stderr, flush=True)
                with open(os.path.join(args.out, f"{dataset}_partial.json"), "w") as f:   # for long runs
                    json.dump(summarize(dataset, runs, budgets), f, indent=1)
        summary = summarize(dataset, runs, budgets)
        summary["wall_seconds"] = time.perf_counter() - start
        with open(os.path.join(args.out, f"{dataset}.json"), "w") as f:
            json.dump(summary, f, indent=1)
        with open(os.path.join(args.out, f"{dataset}_runs.json"), "w") as f:
            json.dump([{k: r[k] for k in ("algo", "seed", "found", "seconds", "metrics")} for r in runs], f)
        print(f"{table(summary)}\n\n(wall {summary['wall_seconds']:.0f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
