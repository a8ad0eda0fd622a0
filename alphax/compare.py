"""`alphax compare`: every algorithm on seeds 0..K-1, in parallel processes, on the same evaluator.

An algorithm may also be a variant, one of the three under a name of its own with searcher options
(``--algos alphax,size=alphax --option size.use_size=true``; :class:`CompareConfig`), for ablations.
The compare folder holds ``compare.json`` (its config), one run folder per ``(algorithm, seed)`` under
``runs/<algo>-seed<k>`` (``<algo>``: a variant's name for a variant; ordinary run folders: inspect them,
or resume one with ``alphax search --resume``),
``summary.json`` (:func:`summarize`; its fields are in README.md, plus wall and searcher times) and ``compare.png`` (best so far
against samples: mean and 10-90 % band per algorithm, the optimum dashed; the plot of ``alphax report``).
Running the same command again on the same folder continues unfinished runs and rewrites the summary.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from alphax import environment
from alphax.atomic import write_atomic
from alphax.checkpoint import LATEST, PREVIOUS, checkpoint_info
from alphax.config import ALGOS, SearchConfig
from alphax.errors import AlphaXError, CheckpointError, ConfigError, Interrupted
from alphax.plots import mean_ylabel, plot_best_so_far
from alphax.runlock import COMPARE_LOCK, RunLock
from alphax.runlog import best_so_far, read_results, row_values, running_best
from alphax.searchers.external import canonical, is_external

__all__ = ["CompareConfig", "REGRET_AT", "all_seeds_text", "default_out", "parse_algos", "reference_values",
           "run_compare", "samples_stats", "summarize"]

log = logging.getLogger(__name__)

REGRET_AT = (50, 100, 150, 300, 1000)
NOISE = ("per-seed", "shared")
STOP_GRACE_SECONDS = 10.0
WITHIN = 0.001
MAX_SEEDS = 100_000
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,63}")
"""A variant's name in ``--algos NAME=ALGO``: it names the variant's run folders (``runs/NAME-seedK``: at
most 64 characters, so that they stay far below a file name's 255 bytes), its entry in summary.json and
its curve; no ``.`` (``--option NAME.KEY=VALUE`` ends the name there)."""


@dataclass(frozen=True)
class CompareConfig:
    """One comparison: ``algos`` on seeds ``0..seeds-1``, each run with ``budget`` unique cells.

    ``algos`` names what is compared: an algorithm of :data:`~alphax.config.ALGOS` with its defaults, or a
    *variant*, a name of ``variants``: ``{"algo": ALGO, "options": {KEY: VALUE}}``, that algorithm with
    those searcher options (``--option``), as an ablation compares AlphaX with and without one of them.
    An algorithm's own name with options is a variant too (``--option alphax.kappa=1``)."""

    space: str = SearchConfig.space          # as alphax search: NAS-Bench-201, no data to download
    dataset: str | None = None
    data: str | None = None
    algos: tuple = ALGOS
    seeds: int = 5
    budget: int = 300
    eval_seed: int = 0
    checkpoint_every: int = 100
    noise: str = "per-seed"
    """How the runs read a table that returns one recorded repeat (training seed) at random: ``per-seed``,
    run ``s`` of each algorithm with eval seed ``eval_seed + s`` (independent draws per seed, as
    ``benchmarks/bench_nasbench201.py``); ``shared``, every run with ``eval_seed`` (comparisons made
    before this option, which continue so)."""
    variants: dict = field(default_factory=dict)

    def __post_init__(self):
        from alphax.registry import check_searcher_options

        object.__setattr__(self, "algos", tuple(self.algos))
        if not self.algos or "" in self.algos or len(set(self.algos)) != len(self.algos):
            raise ConfigError(f"--algos must name distinct algorithms, separated by single commas, got "
                              f"{','.join(self.algos)!r}")
        if not isinstance(self.variants, dict):
            raise ConfigError(f"variants must be a JSON object (name -> algo and options), got {self.variants!r}")
        unknown = [a for a in self.algos if a not in ALGOS and a not in self.variants]
        if unknown and is_external(unknown[0]):
            raise ConfigError(f"{unknown[0]} in --algos: name your searcher, NAME={unknown[0]} (NAME names its "
                              f"run folders, plots and summary entry)")
        if unknown:
            raise ConfigError(f"unknown algorithm {unknown[0]!r} in --algos; choose from {', '.join(ALGOS)}, "
                              f"separated by commas (or name a variant: NAME=ALGO)")
        for name, variant in self.variants.items():
            _check_variant(name, variant, self.algos)
        folded = [a.casefold() for a in self.algos]
        twins = [a for a, f in zip(self.algos, folded) if folded.count(f) > 1]
        if twins:
            raise ConfigError(f"{' and '.join(twins)} in --algos differ only in case: their run folders would be one "
                              f"on a file system that ignores case; give them names that differ otherwise")
        # an algorithm under its own name without options is the algorithm (alphax=alphax is alphax)
        object.__setattr__(self, "variants", {name: {"algo": canonical(v["algo"]), "options": dict(v["options"])}
                                              for name, v in self.variants.items() if v["algo"] != name or v["options"]})
        if self.noise not in NOISE:
            raise ConfigError(f"noise must be one of {', '.join(NOISE)}, got {self.noise!r}")
        if not isinstance(self.seeds, int) or self.seeds < 1:
            raise ConfigError(f"--seeds must be a positive integer, got {self.seeds!r}")
        if self.seeds > MAX_SEEDS:      # 10^11 was a MemoryError after compare.json had been written with it
            raise ConfigError(f"--seeds is at most {MAX_SEEDS} (a run folder per seed and algorithm), got "
                              f"{self.seeds}")
        for name in self.algos:
            config = self.run_config(name, 0)       # validates every other option
            if name in self.variants:               # and a variant's options, before anything runs
                try:
                    check_searcher_options(config)
                except ConfigError as exc:
                    entry = name if self.algo(name) == name else f"{name}={self.algo(name)}"
                    raise ConfigError(f"{entry} in --algos: {exc}") from None

    def algo(self, name: str) -> str:
        """The algorithm that ``name`` (an entry of ``algos``) runs."""
        return self.variants[name]["algo"] if name in self.variants else name

    def options(self, name: str) -> dict:
        """The searcher options that ``name`` (an entry of ``algos``) runs with: a variant's, or none."""
        return dict(self.variants.get(name, {}).get("options", {}))

    def run_config(self, name: str, seed: int) -> SearchConfig:
        return SearchConfig(space=self.space, dataset=self.dataset, data=self.data, evaluator="table",
                            algo=self.algo(name), budget=self.budget, seed=seed,
                            eval_seed=self.eval_seed + seed if self.noise == "per-seed" else self.eval_seed,
                            checkpoint_every=self.checkpoint_every,
                            searcher_options=self.options(name))

    @property
    def filled_dataset(self) -> str | None:
        """``dataset`` with the space's default filled in (NAS-Bench-201's cifar10), as the runs get it."""
        return self.run_config(self.algos[0], 0).dataset

    def to_json(self) -> dict:
        out = asdict(self)
        out["algos"] = list(self.algos)
        out["dataset"] = self.filled_dataset
        return out


def _check_variant(name, variant, algos: tuple) -> None:
    """A :class:`ConfigError` naming what is wrong with the variant ``name`` of a comparison of ``algos``."""
    if name not in algos:
        raise ConfigError(f"--option for {name!r}, which is not in --algos ({','.join(algos)}): give --option "
                          f"NAME.KEY=VALUE with NAME one of them")
    if not NAME.fullmatch(name):
        raise ConfigError(f"{name!r} in --algos cannot name a variant: use at most 64 letters, digits, '-', '_' "
                          f"and '+', starting with a letter or digit (it names the variant's run folders)")
    if not (isinstance(variant, dict) and set(variant) == {"algo", "options"} and isinstance(variant["options"], dict)):
        raise ConfigError(f"variant {name!r} must be {{\"algo\": ALGO, \"options\": {{...}}}}, got {variant!r}")
    if variant["algo"] not in ALGOS and not is_external(variant["algo"]):
        raise ConfigError(f"unknown algorithm {variant['algo']!r} for {name!r} in --algos; choose from "
                          f"{', '.join(ALGOS)}, or a searcher of your own: {name}=FILE.py:CLASS")
    if name in ALGOS and variant["algo"] != name:
        raise ConfigError(f"{name}={variant['algo']} in --algos: {name!r} is an algorithm's name; give the "
                          f"variant another name")


def parse_algos(entries: list[str], options: list[tuple[str, str, object]] = ()) -> tuple[tuple, dict]:
    """``CompareConfig``'s ``algos`` and ``variants`` from ``--algos`` entries (``ALGO`` or ``NAME=ALGO``) and
    ``--option NAME.KEY=VALUE`` triples ``(NAME, KEY, VALUE)``; a :class:`ConfigError` for a malformed one
    (the config checks the rest)."""
    names, variants = [], {}
    if "" in entries:
        raise ConfigError(f"--algos must name distinct algorithms, separated by single commas, got "
                          f"{','.join(entries)!r}")
    for entry in entries:
        name, sep, algo = (part.strip() for part in entry.partition("="))
        if sep and not (name and algo):
            raise ConfigError(f"{entry!r} in --algos: give ALGO, or NAME=ALGO for a variant of ALGO with "
                              f"--option NAME.KEY=VALUE")
        if name in names:
            raise ConfigError(f"{name!r} is named twice in --algos: name each algorithm or variant once")
        names.append(name)
        if sep:
            variants[name] = {"algo": algo, "options": {}}
    for name, key, value in options:
        if name in names and name not in variants and name not in ALGOS:
            raise ConfigError(f"--option for {name!r}, which is no algorithm: name it a variant in --algos, "
                              f"{name}=ALGO (ALGO one of {', '.join(ALGOS)})")
        variant = variants.get(name) or variants.setdefault(name, {"algo": name, "options": {}})
        if key in variant["options"]:
            raise ConfigError(f"--option {name}.{key} is given more than once: give each option once")
        variant["options"][key] = value
    return tuple(names), variants


def default_out(config: CompareConfig, root: str | Path = "runs") -> Path:
    """``runs/compare-SPACE``, and ``-DATASET`` for NAS-Bench-201: the folder of a comparison given no
    ``--out`` (one per space and data set, so that the same command continues it and a comparison on
    another data set does not meet it)."""
    dataset = config.filled_dataset
    return Path(root) / "-".join(["compare", config.space, *([dataset] if dataset else [])])


@contextlib.contextmanager
def _software_changes_kept() -> Iterator[list]:
    """Inside, a run's warning that its checkpoint was written under other software (``software_changed``)
    goes only to that run's ``log.txt``, not to the console (every run of a comparison continued after an
    upgrade would say the same); the list it yields gathers what each such warning named."""
    from alphax.logfile import is_run_log

    seen: list[list[str]] = []

    def keep(record: logging.LogRecord) -> bool:
        changed = getattr(record, "software_changed", None)
        if changed is not None:
            seen.append(changed)
        return changed is None

    handlers = [h for h in logging.getLogger().handlers if not is_run_log(h)]
    for handler in handlers:
        handler.addFilter(keep)
    try:
        yield seen
    finally:
        for handler in handlers:
            handler.removeFilter(keep)


def _run_one(config_json: dict, folder: str, worker: bool = False) -> dict:
    """Create or continue one run to its budget (in a worker process when ``worker``); returns its timings,
    and the software a continued run's checkpoint was written under where it differs (``software_changed``)."""
    from alphax.run import run_search
    from alphax.runfolder import create_run, resume_run

    global _STOPPING
    if worker and _STOPPING:
        # queued (the pool hands each worker its next call ahead) before a stop this worker took part in:
        # not started, as the parent cancelled the calls it still held
        raise Interrupted(signal.SIGTERM)
    logging.getLogger().setLevel(logging.WARNING)
    config = SearchConfig.from_json(config_json)
    path = Path(folder)
    # config.data: where the comparison's table is now (checked by the resume where it moved)
    with _software_changes_kept() as software_changed:
        run = resume_run(path, budget=config.budget, data=config.data, algo=config.algo) \
            if (path / "config.json").exists() else create_run(config, path)
    # a worker leaves Ctrl-C (SIGINT, which the terminal sends the whole process group) to the parent, which
    # stops it with one SIGTERM: taking both, the run would have stopped at once without its checkpoint. A
    # SIGTERM to the whole group (scancel, kill -TERM -PGID) reaches it twice, directly and from the parent:
    # one request
    signals = (signal.SIGTERM,) if worker else (signal.SIGINT, signal.SIGTERM)
    stopped: Interrupted | None = None
    if worker:
        # what run_search's handler gives back when it ends: the parent's SIGTERM (a stop's second route)
        # arriving after that must not kill the worker while it closes the run (stats.json, its logs)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with run:
            summary = run_search(run, progress=False, signals=signals,
                                 same_within=STOP_GRACE_SECONDS if worker else 0.0,
                                 continue_with="the same alphax compare command (it continues unfinished runs)")
    except Interrupted as exc:
        stopped = exc
        _STOPPING = worker
        raise
    finally:
        if worker:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)     # between runs, as _worker_signals set it
        if stopped is not None and worker and _PARENT is not None and os.getppid() != _PARENT:
            # the parent died (the parent-death signal): nobody will read the result or send more work, and
            # the pool's pipe never closes while this process holds its other end: the run is saved, leave
            from workers.protocol import flush_logs

            flush_logs()
            os._exit(128 + stopped.signum)
    stats = json.loads((path / "stats.json").read_text())
    best = summary.best["accuracy"] if summary.best else None
    return {"n": summary.n, "best": best, "wall_seconds": stats["wall_seconds"],
            "searcher_seconds": stats["searcher_seconds"],
            "software_changed": software_changed[0] if software_changed else None}


# -- statistics ------------------------------------------------------------------------------------
def _first(mask: np.ndarray) -> int | None:
    hits = np.flatnonzero(mask)
    return int(hits[0]) + 1 if len(hits) else None


def misses_last(values: list[int | None]) -> np.ndarray:
    """Samples to the optimum per seed with a miss as infinity: a seed that missed ranks after every seed
    that found it, and ties with every other miss (each run of a comparison makes the whole budget). The
    order the all-seeds median and the report's rank and sign tests go by."""
    return np.array([np.inf if v is None else v for v in values], dtype=float)


def all_seeds_text(entry: dict, budget) -> tuple[str, str]:
    """A ``summary.json`` entry's mean and median over all seeds as the compare printout and the report give
    them: ``>`` before the mean where a seed missed (a lower bound) and ``>BUDGET`` for the median where the
    middle seed missed; ``-`` for a field a summary written before it lacks."""
    every = entry.get("mean_samples_to_optimum_all_seeds")
    every = "-" if every is None else f"{'>' if None in entry.get('samples_to_optimum', []) else ''}{every:.1f}"
    if "median_samples_to_optimum_all_seeds" not in entry:
        return every, "-"
    middle = entry["median_samples_to_optimum_all_seeds"]
    if middle is None:                  # the middle seed missed
        return every, f">{budget:g}" if isinstance(budget, (int, float)) else ">budget"
    return every, f"{middle:g}"


def samples_stats(values: list[int | None], made: list[int]) -> tuple[int, float | None, float | None,
                                                                        float | None, float | None, float | None]:
    """Seeds that found the optimum, and the mean, median and standard error of the mean (None below two
    seeds) of their samples to it; then over every seed: the mean, a miss counted at the samples its run
    made (``made``, per seed; it would need more), a lower bound while any seed missed; and the median, a
    miss ranked after every find, None where the middle seed (either of the middle two) missed."""
    every = float(np.mean([n if v is None else v for v, n in zip(values, made)])) if values else None
    middle = float(np.median(misses_last(values))) if values else np.inf
    middle = None if np.isinf(middle) else middle
    found = [v for v in values if v is not None]
    if not found:
        return 0, None, None, None, every, middle
    sem = float(np.std(found, ddof=1) / np.sqrt(len(found))) if len(found) > 1 else None
    return len(found), float(np.mean(found)), float(np.median(found)), sem, every, middle


def _horizon(budget: int, runs: list[list[dict]]) -> int:
    """Where best-so-far curves of ``runs`` end: at the longest run, or the budget (a budget past a table's
    cells asked numpy for 745 GiB of NaN); after its last row, a run's best is its last."""
    return min(budget, max((len(rows) for rows in runs), default=0))


def summarize(runs: dict[str, list[list[dict]]], *, optimum: tuple[str, float], budget: int, space: str,
              seeds: list[int], value: Callable[[dict], float | None] | None = None,
              measure: str | None = None) -> dict:
    """``summary.json`` (fields in README.md) from each algorithm's per-seed results rows. ``value`` maps a
    successful row to the value the optimum is measured in (default: its observed accuracy; for
    NAS-Bench-201, the cell's mean over training seeds), for regret and samples to within 0.001;
    ``measure`` says what that value is (``"mean over training seeds"``), noted with the optimum."""
    opt_hash, opt_acc = optimum
    out = {"space": space, "budget": budget, "seeds": list(seeds),
           "optimum": {"hash": opt_hash, "accuracy": opt_acc, **({"measure": measure} if measure else {})},
           "algorithms": {}}
    for algo, per_seed in runs.items():
        to_opt, within, curves, made = [], [], [], []
        horizon = _horizon(budget, per_seed)
        for rows in per_seed:
            rows = rows[:budget]
            made.append(len(rows))
            hashes = np.array([r["hash"] for r in rows], dtype=object)
            acc = row_values(rows, value)            # NaN (a failure) is never within reach
            ok = np.array([r.get("accuracy") is not None for r in rows], dtype=bool)
            to_opt.append(_first((hashes == opt_hash) & ok))     # a failed evaluation of it is not a find
            within.append(_first(acc >= opt_acc - WITHIN - 1e-12))
            curves.append(running_best(acc, horizon))
        found, mean, median, sem, every, middle = samples_stats(to_opt, made)
        curves = np.array(curves)
        regret = {}
        for b in sorted({*REGRET_AT, budget}):    # and at the budget: a short run's final regret
            if b <= budget:
                # a seed without a successful result by b has no regret: the mean then would hide it
                at = curves[:, min(b, horizon) - 1] if horizon else np.full(len(curves), np.nan)
                regret[str(b)] = float(np.mean(opt_acc - at)) if np.isfinite(at).all() else None
        out["algorithms"][algo] = {
            "samples_to_optimum": to_opt, "found": found, "mean_samples_to_optimum": mean,
            "median_samples_to_optimum": median, "sem_samples_to_optimum": sem,
            "mean_samples_to_optimum_all_seeds": every, "median_samples_to_optimum_all_seeds": middle,
            "samples_to_within_0.001": within, "regret_at": regret}
    return out


def reference_values(evaluator) -> Callable[[dict], float | None] | None:
    """The row -> value map for :func:`summarize` when the evaluator measures the optimum in other
    values than the observed rewards (:meth:`workers.evaluators.Evaluator.reference_value`); None also for
    an evaluator without them (one that only evaluates, such as a wrapper of a table)."""
    if not (hasattr(evaluator, "optimum") and hasattr(evaluator, "reference_value")):
        return None
    optimum = evaluator.optimum()
    if optimum is None or evaluator.reference_value(optimum[0]) is None:
        return None
    return lambda row: evaluator.reference_value(row["hash"])


# -- the comparison --------------------------------------------------------------------------------
def _check_folder(config: CompareConfig, out: Path) -> tuple[dict | None, CompareConfig]:
    """The options ``out`` holds of this comparison already (its ``compare.json``: continue it), or None
    (``out`` may start it), and the config to run it with: the folder's ``noise`` (no option sets it; a
    comparison made before it existed continues with its shared eval seed), and its algorithms in their
    order, any new ones after them. A :class:`CheckpointError` with the way out otherwise. Writes nothing."""
    path = out / "compare.json"
    if path.exists():
        try:
            have = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            raise CheckpointError(f"{path} cannot be read ({exc}); restore it or use another --out") from None
        if not isinstance(have, dict):
            raise CheckpointError(f"{path} is not a comparison's options (a {type(have).__name__}); "
                                  f"restore it or use another --out")
        have = {**have, "noise": have.get("noise", "shared"), "variants": have.get("variants", {})}
        if have["noise"] in NOISE:
            config = replace(config, noise=have["noise"])
        old = have.get("algos")
        if isinstance(old, list) and all(isinstance(a, str) for a in old) and len(set(old)) == len(old) \
                and set(old) <= set(config.algos):
            config = replace(config, algos=(*old, *(a for a in config.algos if a not in old)))
        if have.get("data") != config.data and _same_table(config, have.get("data"), config.data):
            config = replace(config, data=have.get("data"))     # the same file named another way: kept as it was
        want = config.to_json()
        diff = sorted(k for k in set(have) | set(want) if have.get(k) != want.get(k))
        rest = [k for k in diff if k != "data"]          # a table given at another path: checked once loaded
        ran = _ran(out)
        if rest and not _extends(have, want, rest, ran):
            rest = [k if k != "variants" else _variants_changed(have, want, ran) for k in rest]
            raise CheckpointError(f"{out} holds a comparison with other options ({', '.join(rest)}); use "
                                  f"another --out (a comparison can be extended: a larger --budget, more "
                                  f"--seeds, more --algos; its other options stay)")
        if "data" in diff and config.data is None:     # left out: the table found then, or the comparison's?
            raise CheckpointError(f"{out} holds a comparison of the table at {have.get('data')}, not of the one "
                                  f"found without --data: give --data {have.get('data')} (or where that table is now)")
        return have, config
    if out.exists() and (not out.is_dir() or any(p.name != COMPARE_LOCK for p in out.iterdir())):
        raise CheckpointError(f"{out} exists and is not a comparison folder; use another --out")
    return None, config


def _ran(out: Path) -> set[str]:
    """The algorithms (entries of ``algos``) of the comparison in ``out`` that have a run folder
    (``runs/NAME-seedK`` with its ``config.json``): a variant's options are fixed from then on."""
    runs = out / "runs"
    names = set()
    for folder in runs.iterdir() if runs.is_dir() else ():
        match = re.fullmatch(r"(.+)-seed\d+", folder.name)
        if match and (folder / "config.json").exists():
            names.add(match.group(1))
    return names


def _variants_changed(have: dict, want: dict, ran: set[str]) -> str:
    """``variants`` among the options that differ, as a message names them: the algorithms of ``have``
    with runs (``ran``) whose options ``want`` changes, with the options they were run with."""
    was = have["variants"] if isinstance(have["variants"], dict) else {}
    changed = [a for a in have.get("algos") or [] if isinstance(a, str) and a in ran
               and was.get(a) != want["variants"].get(a)]
    if not changed:
        return "variants"
    return "; ".join(f"{a}: it was run as {_variant_text(a, was.get(a))}" for a in changed)


def _variant_text(name: str, variant) -> str:
    """How ``--algos``/``--option`` gave ``name`` (``variant``: its entry in ``variants``, or None)."""
    if not isinstance(variant, dict):
        return f"{name} with its defaults"
    options = variant.get("options") if isinstance(variant.get("options"), dict) else {}
    entry = name if variant.get("algo") == name else f"{name}={variant.get('algo')}"
    return " ".join([entry, *(f"--option {name}.{k}={json.dumps(v)}" for k, v in options.items())])


def _same_table(config: CompareConfig, a: str | None, b: str | None) -> bool:
    """``--data`` ``a`` and ``b`` (None: found without it) name the same file of ``config``'s space (through
    a link, a relative path, its folder, or the place it is found by default)."""
    from alphax import nasbench201
    from alphax.nasbench.paths import resolve_data_path

    dataset = config.filled_dataset
    where = (lambda p: nasbench201.resolve_path(dataset, p)) if config.space == "nasbench201" else resolve_data_path
    try:
        return os.path.samefile(where(a), where(b))
    except (AlphaXError, OSError):
        return False


def _check_moved(out: Path, have: dict, config: CompareConfig, space, evaluator) -> None:
    """A table at another path than ``out``'s comparison recorded (``have``), given with ``--data``, or
    a NASBench-101 table found anew without it (``$ALPHAX_NASBENCH101`` may name another now): a copy of
    the same table (moved, on another machine, a compact conversion) continues the comparison; another
    table is refused before anything is written: its cells are checked against the runs' checkpoints, the
    results each run logged against its values (each run's resume checks them again)."""
    from alphax.registry import build_space_and_evaluator, fingerprint
    from alphax.runfolder import check_same_table, table_named

    cells = list(evaluator.candidates())
    cells_id = fingerprint(space, cells)
    was = have.get("data") or "the one found without --data then"
    hint = (f"give --data the table the comparison in {out} was run on ({was}; a copy of it, "
            f"wherever it is now), or use another --out")
    for (algo, seed), folder in _run_folders(out, config).items():
        for name in (LATEST, PREVIOUS):    # the newest readable one (both were written with the same cells)
            try:
                recorded = checkpoint_info(folder / name).get("candidates", cells_id)
            except CheckpointError:        # none yet, or damaged: the run's own resume says so
                continue
            if recorded != cells_id:
                raise CheckpointError(f"{table_named(config.data)} holds other cells than the one {folder} was "
                                      f"run on ({folder / name} says so): {hint}")
            break
        try:
            rows = read_results(folder)
        except (AlphaXError, OSError) as exc:
            if config.data is None:        # the table found as before: compare.json is unchanged, and the
                continue                   # run's own resume says what is wrong with its log
            # not checked, not taken: compare.json would name a table no run's log was checked against
            raise CheckpointError(f"{table_named(config.data)} cannot be checked against the results {folder} "
                                  f"logged ({exc}); fix that run (or move {folder} aside, to run that seed "
                                  f"afresh), then give --data again") from None
        _, values = build_space_and_evaluator(config.run_config(algo, seed))    # its eval seed's
        check_same_table(folder, config.data, space, values, cells, rows, hint=hint)


def _run_folders(out: Path, config: CompareConfig) -> dict[tuple[str, int], Path]:
    """The folder of each ``(algo, seed)`` run of the comparison in ``out`` (``algo``: an entry of
    ``algos``, an algorithm or a variant's name)."""
    return {(a, s): out / "runs" / f"{a}-seed{s}" for a in config.algos for s in range(config.seeds)}


_GROWS = ("budget", "seeds", "algos")
"""What the same ``alphax compare`` command may grow on a comparison it continues: every run already
made stays one of it (a run resumed with a larger budget evaluates what it would have evaluated). New
algorithms may be variants (``variants`` grows with them); the ones already there keep their options once
they have a run folder (before, say after an option the searcher refused as its first run started, they
may change)."""


def _extends(have: dict, want: dict, diff: list[str], ran: set[str] = frozenset()) -> bool:
    """The options ``want`` grow the comparison ``have`` (``diff``: the keys that differ) by :data:`_GROWS`
    only: a budget and seeds not smaller, every algorithm still there, with the same options where it has
    run folders (``ran``)."""
    if set(diff) - {*_GROWS, "variants"}:
        return False
    try:
        return (int(want["budget"]) >= int(have["budget"]) and int(want["seeds"]) >= int(have["seeds"])
                and set(have["algos"]) <= set(want["algos"])
                and all(have["variants"].get(a) == want["variants"].get(a) for a in have["algos"] if a in ran)
                and set(have["variants"]) <= set(have["algos"]))
    except (KeyError, TypeError, ValueError, AttributeError):      # a compare.json edited by hand: not extended
        return False


def _prepare(config: CompareConfig, out: Path, have: dict | None) -> None:
    """Write ``compare.json`` for a new comparison (``have`` None), or again for one extended by
    :data:`_GROWS` or whose table moved (``have``: its options until now; each run then resumes with the
    new budget, and the table where it is now)."""
    want = config.to_json()
    if have is not None:
        grown = [f"{k} {have[k]} -> {want[k]}" if k != "algos" else f"algos {','.join(have[k])} -> {','.join(want[k])}"
                 for k in _GROWS if have.get(k) != want[k]]
        grown += [f"{a} (no run yet) -> {_variant_text(a, want['variants'].get(a))}" for a in have["algos"]
                  if have["variants"].get(a) != want["variants"].get(a)]
        moved = [f"the table {have.get('data') or '(found without --data)'} -> {want['data']}"] \
            if have.get("data") != want["data"] else []
        if not grown + moved:
            log.info("continuing the comparison in %s", out)
            return
        log.info("%s the comparison in %s: %s", "extending" if grown else "continuing", out, "; ".join(grown + moved))
    (out / "runs").mkdir(parents=True, exist_ok=True)
    text = json.dumps(want, indent=1).encode("utf-8")
    write_atomic(out / "compare.json", lambda f: f.write(text))


class _StopWorkers:
    """Stopping ``alphax compare`` (SIGTERM or Ctrl-C) stops its worker processes too: SIGTERM becomes
    ``KeyboardInterrupt`` in this process, runs not started are cancelled, and each worker gets SIGTERM
    (its run checkpoints and stops; the results it logged are kept); a worker still alive
    ``STOP_GRACE_SECONDS`` later is killed (a run killed at any moment resumes without loss). Without
    this a SIGTERM left the workers running on as orphans. A run that fails stops the others the same way
    (rather than running every queued run before its error is shown). The same command continues the
    comparison."""

    def __init__(self, pool: ProcessPoolExecutor):
        self.pool = pool
        self._old: dict = {}
        self._stopping = False

    def _interrupt(self, signum, frame) -> None:
        """The first SIGTERM or SIGINT stops the comparison; a second (the group's SIGTERM just after the
        parent's, as ``timeout`` sends them, or another Ctrl-C) changes nothing: the stop runs to its end,
        bounded by ``STOP_GRACE_SECONDS``. Cut short, it left a worker alive that the pool's manager thread
        then waited for at exit, for ever."""
        if not self._stopping:
            self._stopping = True
            raise Interrupted(signum)

    def __enter__(self) -> "_StopWorkers":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._old[sig] = signal.signal(sig, self._interrupt)
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stopping = True               # from here on, a signal does not cut the stop short
        try:
            self._stop(exc_type)
        finally:
            for sig, handler in self._old.items():
                signal.signal(sig, handler)

    def _stop(self, exc_type) -> None:
        if exc_type is not None:    # interrupted, or a run failed: stop the others, keeping their results
            log.warning("%s: stopping the worker processes (the same command continues)",
                        "interrupted" if issubclass(exc_type, KeyboardInterrupt) else "a run failed")
            workers = list((self.pool._processes or {}).values())   # noqa: SLF001 - no public accessor
            # shutdown(wait=False) forgets the pool's manager thread, so the pool's own exit no longer joins
            # it; left running, it closes its wake-up pipe while the interpreter's exit hook writes to it
            # (Python 3.11: "OSError: [Errno 9] Bad file descriptor" traceback after our error line)
            manager = self.pool._executor_manager_thread                  # noqa: SLF001 - as above
            self.pool.shutdown(wait=False, cancel_futures=True)
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
            deadline = time.monotonic() + STOP_GRACE_SECONDS
            for worker in workers:
                worker.join(timeout=max(0.0, deadline - time.monotonic()))
                if worker.is_alive():      # e.g. it had taken the next queued run: safe to kill (resumable)
                    worker.kill()
                    worker.join()
            if manager is not None:        # the workers are gone: it only has to wind up
                manager.join(timeout=STOP_GRACE_SECONDS)


def _stop_tqdm_monitor() -> None:
    """Stop tqdm's monitor thread, which the first bar of a process starts (a disabled one too) and none
    stops, before the comparison forks its workers: a fork copies the locks another thread holds at that
    moment, held for ever in the child. The next bar starts another."""
    from tqdm import tqdm

    monitor = getattr(tqdm, "monitor", None)
    if monitor is not None:
        monitor.exit()
        tqdm.monitor = None


_PARENT: int | None = None
"""In a worker process: the pid of the ``alphax compare`` process that started it."""
_STOPPING = False
"""In a worker process: a run of it was stopped by a signal, so the comparison is stopping."""


def _worker_signals(parent: int | None = None) -> None:
    """In a worker process, between runs: SIGTERM ends it quietly (not the parent's handler, inherited by
    fork, which printed a KeyboardInterrupt traceback) and SIGINT is left to the parent, which stops the
    workers itself (:class:`_StopWorkers`). During a run, its own handlers checkpoint and stop it. A
    parent that dies without stopping them (SIGKILL, the OOM killer) sends SIGTERM all the same (Linux's
    parent-death signal), so no worker runs on as an orphan holding its run's lock."""
    global _PARENT
    _PARENT = parent
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):      # no prctl: the parent's own stop (_StopWorkers) still works
            return
        if parent is not None and os.getppid() != parent:     # it died before the signal was asked for
            os.kill(os.getpid(), signal.SIGTERM)


@contextlib.contextmanager
def _naming_the_run(key: tuple[str, int], folder: Path):
    """A run's error (a damaged run folder, bad data) names the run and the way on; the comparison stops
    (:class:`_StopWorkers`) and keeps every other run."""
    try:
        yield
    except AlphaXError as exc:
        if isinstance(exc, ConfigError) and key[0] not in _ran(folder.parent.parent):
            # options its searcher refused as its first run began: they may still change (_extends)
            way = (f"the alphax compare command with other --option values for {key[0]} continues (it has no run "
                   f"folder yet)")
        else:
            way = (f"once this one is fixed (or {folder} is moved aside, to run that seed afresh), the same alphax "
                   f"compare command continues")
        raise type(exc)(f"run {key[0]}-seed{key[1]} of the comparison: {exc}. The other runs are kept; {way}") from exc


def run_compare(config: CompareConfig, out: str | Path, *, jobs: int = 1, progress: bool | None = None) -> dict:
    """Run (or continue) every ``(algo, seed)`` in up to ``jobs`` processes; write ``summary.json`` and
    ``compare.png`` in ``out``; return the summary."""
    from alphax.registry import build_space_and_evaluator

    out = Path(out)
    _, config = _check_folder(config, out)
    t0 = time.perf_counter()
    # loaded once, shared by fork; and before anything is written, so bad data leaves no folder behind
    space, evaluator = build_space_and_evaluator(config.run_config(config.algos[0], 0))
    out.mkdir(parents=True, exist_ok=True)
    # one alphax compare per folder: two at once would each rewrite compare.json (an extension), and
    # their runs' locks would stop one of them half-way. Forked workers inherit the lock
    lock = RunLock(out, name=COMPARE_LOCK, then="run the same command again",
                   unwritable=f"choose another --out (to continue a comparison there, copy the folder to one of "
                              f"yours, cp -r {out} COPY && chmod -R u+w COPY, and give the copy as --out)")
    try:
        have, config = _check_folder(config, out)      # again, now that no other one can change it
        if have is not None and (have.get("data") != config.data
                                 or (config.data is None and config.space == "nasbench101")):
            # a table given anew, or found anew ($ALPHAX_NASBENCH101, ../shared: maybe another one now)
            _check_moved(out, have, config, space, evaluator)
        _prepare(config, out, have)
        return _compare(config, out, evaluator, t0, jobs=jobs, progress=progress)
    finally:
        lock.release()


def _compare(config: CompareConfig, out: Path, evaluator, t0: float, *, jobs: int, progress: bool | None) -> dict:
    """:func:`run_compare` once the folder is locked and ``compare.json`` written."""
    from tqdm import tqdm

    optimum = evaluator.optimum()
    log.info("optimum: %s (%.6f), found in %.1f s", optimum[0], optimum[1], time.perf_counter() - t0)
    seeds = list(range(config.seeds))
    tasks = _run_folders(out, config)
    timings: dict[tuple[str, int], dict] = {}
    if progress is None:
        progress = sys.stderr.isatty()
    best = -np.inf
    jobs = min(jobs, len(tasks))          # a process per run at most (the pool starts them all at once)

    said_software = False

    def progress_bar():
        return tqdm(total=len(tasks), disable=not progress, unit="run", desc="compare")

    def finished(key: tuple[str, int], bar) -> None:
        """A run's timings are in: the bar's best so far, and once per comparison, other software."""
        nonlocal best, said_software
        best = max(best, timings[key]["best"] or -np.inf)
        bar.set_postfix(best=f"{best:.6f}")
        bar.update(1)
        changed = timings[key].get("software_changed")
        if changed and not said_software:
            said_software = True
            log.warning("runs of this comparison continue from checkpoints written under other software or another "
                        "CPU: %s (the first: %s; each run's log.txt says its own). They go on, but may not propose "
                        "the cells uninterrupted runs would have (a seed's search is the same only on the same "
                        "software and CPU)", "; ".join(changed), tasks[key])

    if jobs <= 1:
        with progress_bar() as bar:
            for key, folder in tasks.items():
                with _naming_the_run(key, folder):
                    timings[key] = _run_one(config.run_config(*key).to_json(), str(folder))
                finished(key, bar)
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        _stop_tqdm_monitor()
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_signals,
                                 initargs=(os.getpid(),)) as pool, \
                _StopWorkers(pool):
            # the first submit forks every worker (a fork pool starts them all at once), before the bar's
            # monitor thread starts: no thread of ours is copied mid-way (what Python 3.12 warns of)
            futures = {pool.submit(_run_one, config.run_config(*key).to_json(), str(folder), True): key
                       for key, folder in tasks.items()}
            with progress_bar() as bar:
                for future in as_completed(futures):
                    key = futures[future]
                    try:
                        with _naming_the_run(key, tasks[key]):
                            timings[key] = future.result()
                    except BrokenProcessPool:         # which run's worker it was, the pool does not say
                        raise AlphaXError("a worker process of the comparison died without a word (killed by a "
                                          "signal: the kernel's OOM killer, say; dmesg tells); every run keeps what "
                                          "it logged: the same alphax compare command continues them") from None
                    finished(key, bar)
    runs = {a: [read_results(tasks[(a, s)]) for s in seeds] for a in config.algos}
    value = reference_values(evaluator)
    summary = summarize(runs, optimum=optimum, budget=config.budget, space=config.space, seeds=seeds, value=value,
                        measure=evaluator.reference_name if value is not None else None)
    dataset = config.filled_dataset
    if dataset:
        summary["dataset"] = dataset
    for algo in config.algos:
        per = [timings[(algo, s)] for s in seeds]
        secs = np.concatenate([np.asarray(t["searcher_seconds"], dtype=float) for t in per])
        summary["algorithms"][algo].update({
            "algo": config.algo(algo),                # what ran: the algorithm, and a variant's options
            "options": config.options(algo),
            "wall_seconds": [t["wall_seconds"] for t in per],
            "searcher_ms_per_proposal_median": float(np.median(secs) * 1e3) if len(secs) else None,
            "searcher_ms_per_proposal_mean": float(np.mean(secs) * 1e3) if len(secs) else None,
            # the last tenth of each run: the per-proposal cost where the run is largest, predictor
            # refits amortised over it
            "searcher_ms_per_proposal_mean_last_tenth": float(np.mean(np.concatenate(
                [np.asarray(t["searcher_seconds"][-max(1, len(t["searcher_seconds"]) // 10):], dtype=float)
                 for t in per])) * 1e3) if len(secs) else None,
            "searcher_ms_per_proposal_median_per_seed": [
                float(np.median(t["searcher_seconds"]) * 1e3) if t["searcher_seconds"] else None for t in per],
            "samples": [len(r) for r in runs[algo]]})
    summary["software"] = environment.software()        # this process's: runs continued here ran under it too
    text = json.dumps(summary, indent=1).encode("utf-8")
    write_atomic(out / "summary.json", lambda f: f.write(text))
    horizon = _horizon(config.budget, [rows for per_seed in runs.values() for rows in per_seed])
    plot_best_so_far(str(out / "compare.png"),
                     {a: [best_so_far(rows, horizon, value=value) for rows in per_seed]
                      for a, per_seed in runs.items()},
                     {"accuracy": optimum[1]},
                     f"{config.space}{' ' + dataset if dataset else ''}: best so far, "
                     f"{config.seeds} seed{'s' if config.seeds > 1 else ''}",
                     **({"ylabel": mean_ylabel(evaluator.reference_name)} if value is not None else {}))
    return summary
