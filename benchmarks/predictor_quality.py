"""The meta-DNN alone, offline, on part of the real NASBench-101 subset: how well it ranks unseen cells.

For each training size and seed: draw that many cells of the split at random, fit a fresh
``meta_dnn.Predictor`` on their 108-epoch validation accuracies (``300 + 3 * size`` steps: a fixed budget,
about half to two thirds of what a search's first fit and refits add up to at 50-400 results), and score every other cell of the split. Reported, averaged over the
seeds, for each setting in ``--compare``: Kendall tau against the real accuracies (all unseen cells, and
the unseen cells of the split's top 10%), and the share of the top-10% among its 100 best-predicted cells.
No search: a cleaner (less noisy) measure of an encoding or training option than samples to an optimum.

    python benchmarks/predictor_quality.py --half tune --seeds 6 --compare '{}' '{"augment": true}'
"""

from __future__ import annotations

import json
import logging
import sys

import numpy as np

from alphax.cli import ArgumentParser, int_arg, run_script
from alphax.errors import first_line
from meta_dnn import CellEncoder, Predictor, kendall_tau

from tune_search import add_split_arguments, load_split

log = logging.getLogger("predictor_quality")

ENCODER_OPTIONS = ("use_paths", "use_size")
PREDICTOR_OPTIONS = ("members", "hidden", "lr", "weight_decay", "batch_size", "clip", "target")


def measure(space, cells: list, acc: np.ndarray, size: int, seed: int, setting: dict, *,
            steps: int | None = None) -> tuple[float, float, float]:
    """(tau on the unseen cells, tau on the unseen top-10% cells, top-10% share of the 100 best predicted);
    ``steps`` of training (default ``300 + 3 * size``)."""
    rng = np.random.default_rng(seed)
    train = rng.choice(len(cells), size=size, replace=False)
    test = np.setdiff1d(np.arange(len(cells)), train)
    encoder = CellEncoder(space, **{k: v for k, v in setting.items() if k in ENCODER_OPTIONS})
    predictor = Predictor(encoder, seed=seed, **{k: v for k, v in setting.items() if k in PREDICTOR_OPTIONS})
    x = encoder.encode([cells[i] for i in train], variants=bool(setting.get("augment", False)))
    predictor.fit(x, acc[train], steps=steps or 300 + 3 * size)
    mu = predictor.predict(encoder.encode([cells[i] for i in test]))[0]
    top = acc[test] >= np.quantile(acc, 0.9)
    best100 = np.argsort(-mu)[:100]
    return kendall_tau(mu, acc[test]), kendall_tau(mu[top], acc[test][top]), float(np.mean(top[best100]))


def main() -> int:
    p = ArgumentParser(description=__doc__.split("\n\n")[0])
    add_split_arguments(p)
    p.add_argument("--sizes", default="50,100,200,400", help="training-set sizes, comma-separated")
    p.add_argument("--seeds", type=int_arg(1), default=6)
    p.add_argument("--compare", nargs="+", default=["{}", '{"augment": true}'],
                   help="settings to compare, each a JSON object of options (augment, use_size, hidden, ...)")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        sizes = [int(s) for s in args.sizes.split(",")]
        settings = [json.loads(s) for s in args.compare]
    except ValueError as e:
        p.error(f"--sizes wants integers and --compare JSON objects: {e}")
    if min(sizes) < 1:
        p.error(f"--sizes wants positive integers, got {args.sizes!r}")
    for setting in settings:
        if not isinstance(setting, dict):
            p.error(f"each --compare setting is a JSON object such as '{{\"augment\": true}}', got {setting!r}")
        unknown = set(setting) - set(ENCODER_OPTIONS) - set(PREDICTOR_OPTIONS) - {"augment"}
        if unknown:
            p.error(f"unknown option(s) {sorted(unknown)} in --compare; known: augment, "
                    f"{', '.join(ENCODER_OPTIONS + PREDICTOR_OPTIONS)}")
    _, space, cells, acc_by_hash = load_split(p, args)
    acc = np.array([acc_by_hash[c.hash] for c in cells])
    for setting in settings:       # a bad value ("hidden": "x") is one line now, not torch's error mid-way
        try:
            measure(space, cells[:12], acc[:12], 2, 0, setting, steps=1)
        except (TypeError, ValueError, RuntimeError) as exc:
            p.error(f"--compare {json.dumps(setting)}: {first_line(exc)}")
    if max(sizes) >= len(cells):
        p.error(f"the split has {len(cells)} cells: every training size must be smaller")
    rows = []
    for size in sizes:
        for setting in settings:
            scores = np.array([measure(space, cells, acc, size, seed, setting) for seed in range(args.seeds)])
            tau, tau_top, share = scores.mean(axis=0)
            log.info("size %4d %-28s tau %.4f  tau top-10%% %.4f  top-10%% share of best 100 %.3f",
                     size, json.dumps(setting), tau, tau_top, share)
            rows.append({"size": size, "setting": setting, "tau": tau, "tau_top10": tau_top,
                         "top10_share_of_best100": share, "seeds": args.seeds})
    print(json.dumps({"cells": len(cells), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main))
