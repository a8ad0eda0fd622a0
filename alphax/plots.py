"""The pictures of a report: best so far against samples, the meta-DNN's ranking quality over a run, a
cell drawn as a graph with its ops, and for a comparison the seeds that found the optimum by each sample
(:mod:`alphax.report` decides what goes into them; ``alphax compare`` draws its ``compare.png`` with
:func:`plot_best_so_far`).

Each plot is written as a PNG, atomically. matplotlib (Agg) and networkx are imported when a plot is
drawn, not with :mod:`alphax`.
"""

from __future__ import annotations

import re
import warnings

import numpy as np

from alphax.atomic import write_atomic
from alphax.config import ALGOS

__all__ = ["NODE_SIZE", "draw_cell", "cell_problem", "plot_cell", "algo_colors", "best_so_far_ylim",
           "plot_best_so_far", "plot_found", "mean_ylabel", "YLABEL_MEAN", "plot_ranking"]


def _figure():
    """pyplot on the Agg backend (files only: no display is needed, none is opened)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str) -> None:
    """``fig`` as a PNG at ``path``, atomically (a reader never sees half a picture), and closed."""
    try:
        write_atomic(path, lambda f: fig.savefig(f, dpi=110, format="png"))
    finally:
        _figure().close(fig)


# -- a cell as a graph --------------------------------------------------------------------------
NODE_SIZE = 2400
"""A drawn cell's node (matplotlib marker area, points^2: about 49 points across)."""


def _vertex_label(i: int, op: str) -> str:
    """``"1: conv3x3\nbn-relu"``, ``"2: maxpool\n3x3"``: NASBench-101's op names on one line are wider than
    a node, and the edges into it then run across the text."""
    head, sep, tail = op.partition("-")
    if not sep:
        kernel = re.search(r"\d+x\d+$", op)
        head, tail = (op[:kernel.start()], kernel.group()) if kernel and kernel.start() else (op, "")
    return f"{i}: {head}" + (f"\n{tail}" if tail else "")


def draw_cell(ax, matrix: list, ops: list[str], *, title: str = "") -> None:
    """Draws a cell on ``ax``: operations on vertices (NASBench-101: ``len(ops) == len(matrix)``) or
    operations on edges (NAS-Bench-201: 4 nodes, 6 edge ops; ``none`` edges are left out)."""
    import networkx as nx

    m = np.asarray(matrix, dtype=int)
    g = nx.DiGraph()
    edge_labels = {}
    if len(ops) == len(m):
        names = [_vertex_label(i, op) for i, op in enumerate(ops)]
        g.add_nodes_from(names)
        for i, j in zip(*np.nonzero(m)):
            g.add_edge(names[i], names[j])
    else:
        from alphax.spaces.nasbench201 import EDGES, NONE
        names = ["input"] + [f"node {k}" for k in range(1, len(m) - 1)] + ["output"]
        g.add_nodes_from(names)
        for (i, j), op in zip(EDGES, ops):
            if op != NONE:
                g.add_edge(names[i], names[j])
                edge_labels[(names[i], names[j])] = op
    for node in g.nodes:
        g.nodes[node]["layer"] = 0
    for node in nx.topological_sort(g):
        for succ in g.successors(node):
            g.nodes[succ]["layer"] = max(g.nodes[succ]["layer"], g.nodes[node]["layer"] + 1)
    pos = _zigzag_layout(g)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color="#cfe3f7", node_size=NODE_SIZE)
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=7)
    nx.draw_networkx_edges(g, pos, ax=ax, arrows=True, arrowsize=14, edge_color="#555555", node_size=NODE_SIZE)
    if edge_labels:
        nx.draw_networkx_edge_labels(g, pos, edge_labels=edge_labels, ax=ax, font_size=7, label_pos=0.38,
                                     bbox={"boxstyle": "round", "fc": "white", "ec": "none", "alpha": 0.85})
    ax.set_title(title, fontsize=9)
    ax.axis("off")


def _zigzag_layout(g) -> dict:
    """Positions by longest-path layer (x); the nodes of a layer spread vertically, and single-node
    interior layers alternate above/below the axis so that long edges do not run through nodes."""
    layers: dict[int, list] = {}
    for node in g.nodes:
        layers.setdefault(g.nodes[node]["layer"], []).append(node)
    last = max(layers) if layers else 0
    pos = {}
    for x, nodes in layers.items():
        if len(nodes) == 1 and 0 < x < last:
            pos[nodes[0]] = (float(x), 0.6 if x % 2 else -0.6)
            continue
        for k, node in enumerate(nodes):
            pos[node] = (float(x), (k - (len(nodes) - 1) / 2) * 1.2)
    return pos


def cell_problem(matrix, ops) -> str | None:
    """Why ``matrix``/``ops`` (as a results row holds them) cannot be drawn by :func:`draw_cell`, or None:
    the matrix must be a square, upper-triangular 0/1 list of rows, with one op per vertex (NASBench-101)
    or one per edge of NAS-Bench-201's 4-node cell."""
    from alphax.spaces.nasbench201 import EDGES

    if not isinstance(ops, list) or not all(isinstance(o, str) for o in ops):
        return f"ops={ops!r} is not a list of op names"
    n = len(matrix) if isinstance(matrix, list) else -1
    if n < 1 or not all(isinstance(r, list) and len(r) == n and all(v in (0, 1) and not isinstance(v, bool) for v in r)
                        for r in matrix):
        return "its matrix is not a square 0/1 matrix"
    if any(matrix[i][j] for i in range(n) for j in range(i + 1)):
        return "its matrix is not upper-triangular (edges must go from earlier to later vertices)"
    if len(ops) != n and not (n == 4 and len(ops) == len(EDGES)):
        return f"{len(ops)} ops do not fit its {n} x {n} matrix"
    return None


def plot_cell(path: str, matrix: list, ops: list[str], title: str) -> None:
    """The cell drawn by :func:`draw_cell`, alone in a PNG at ``path``."""
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    draw_cell(ax, matrix, ops, title=title)
    fig.tight_layout()
    _save(fig, path)


# -- plots --------------------------------------------------------------------------------------
def best_so_far_ylim(curves: dict[str, list[np.ndarray]], optimum: dict | None) -> tuple[float, float] | None:
    """The y range of :func:`plot_best_so_far` (None: matplotlib's): from the 20th percentile of the curves'
    climbs (the first samples would squash the rest; the climb, the values below each run's final best,
    because a run that finds the optimum early is flat at it for most of its samples, and a percentile of
    every value would cut its whole climb off) to above both the optimum and the best observed, which can
    exceed it on NAS-Bench-201 (a query observes one training seed; the optimum is a mean over seeds)."""
    values, climbs = [], []
    for runs in curves.values():
        finite = [r[np.isfinite(r)] for r in runs]
        finite = [r for r in finite if len(r)]
        if finite:
            values.append(np.concatenate(finite))
            climb = np.concatenate([r[r < r[-1]] for r in finite])
            climbs.append(climb if len(climb) else values[-1])
    if not values or not optimum:
        return None
    top = max(optimum["accuracy"], max(float(v.max()) for v in values))
    bottom = min(min(float(np.percentile(c, 20)) for c in climbs), optimum["accuracy"])
    span = max(top - bottom, 1e-3)
    return bottom - 0.02 * span, top + 0.25 * span


_OTHER_COLORS = ("C3", "C4", "C5", "C6", "C8", "C9", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d",
                 "#9edae5", "#aec7e8", "#ffbb78", "#98df8a")
"""Colours of names that are not algorithms (a comparison's variants), after the algorithms' C0-C2 (the
light shades of those three last); not grey (C7), which the searchers' own logged values use. Past 15
names they repeat."""


def algo_colors(names) -> dict[str, str]:
    """A colour per name, the same in every plot whatever the order of ``--algos`` or of the run folders:
    an algorithm's own (:data:`~alphax.config.ALGOS`' order), a comparison's variants the others in the
    order of their names (so that the plots of one comparison agree when each gets all its names)."""
    others = sorted(n for n in set(names) if n not in ALGOS)
    colors = {n: _OTHER_COLORS[k % len(_OTHER_COLORS)] for k, n in enumerate(others)}
    return {n: f"C{ALGOS.index(n)}" if n in ALGOS else colors[n] for n in names}


def _line_style(name: str) -> str:
    """Solid for an algorithm, dashed for a comparison's variant, whose curve often runs on its algorithm's
    (a seed starts both alike) and would hide it drawn solid over it."""
    return "-" if name in ALGOS else "--"


def _samples_axis(ax, longest: int) -> None:
    """The x axis of samples 1..``longest``: logarithmic past 1,000, else whole samples from the first."""
    from matplotlib.ticker import MaxNLocator

    if longest > 1000:
        ax.set_xscale("log")
    else:                                  # whole samples, from the first (failed ones leave no point)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))   # 1 sample: one tick, 1
        ax.set_xlim(0.5, longest + 0.5)
    ax.set_xlabel("samples")


def plot_best_so_far(path: str, curves: dict[str, list[np.ndarray]], optimum: dict | None, title: str, *,
                     ylabel: str = "best accuracy so far", colors: dict[str, str] | None = None) -> None:
    """Best so far against samples, drawn as steps (no value exists between two samples): the mean and,
    over several runs, the 10-90 % band per algorithm (``curves``: algorithm -> one
    :func:`~alphax.runlog.best_so_far` array per run; the title then says so); the optimum
    (``{"accuracy": ...}``) dashed; ``colors``: each algorithm's (:func:`algo_colors` of ``curves``'
    names by default)."""
    colors = colors or algo_colors(curves)

    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    longest = 1
    if any(len([r for r in runs if len(r)]) > 1 for runs in curves.values()):
        title += " (mean, 10-90 % band)"
    for algo, runs in curves.items():
        runs = [r for r in runs if len(r)]
        if not runs:
            continue
        n = max(len(r) for r in runs)
        longest = max(longest, n)
        # a run that stopped early keeps its last best
        grid = np.array([np.concatenate([r, np.full(n - len(r), r[-1])]) for r in runs])
        grid[~np.isfinite(grid)] = np.nan
        if np.isnan(grid).all():          # every result failed: nothing to draw
            continue
        x = np.arange(1, n + 1)
        with warnings.catch_warnings():   # steps before any run's first success are NaN in every run
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(grid, axis=0)
            lo, hi = np.nanpercentile(grid, 10, axis=0), np.nanpercentile(grid, 90, axis=0)
        line, = ax.plot(x, mean, marker="o" if n == 1 else None,     # one sample: a point, not an empty line
                        drawstyle="steps-post", color=colors[algo], ls=_line_style(algo),
                        label=f"{algo} ({len(runs)} run{'s' if len(runs) > 1 else ''})")
        if len(runs) > 1:
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, step="post")
    if not ax.lines:
        ax.text(0.5, 0.5, "no successful evaluation to draw", transform=ax.transAxes, ha="center", va="center")
    if optimum:
        ax.axhline(optimum["accuracy"], color="black", ls="--", lw=1,
                   label=f"optimum {optimum['accuracy']:.4f}")
    _samples_axis(ax, longest)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8)
    limits = best_so_far_ylim(curves, optimum)
    if limits is not None:
        ax.set_ylim(*limits)
    fig.tight_layout()
    _save(fig, path)


def plot_ranking(path: str, taus: dict[str, list[tuple[np.ndarray, np.ndarray]]], title: str, *, ylabel: str,
                 logged: dict[str, list[tuple[np.ndarray, np.ndarray]]] | None = None,
                 colors: dict[str, str] | None = None) -> None:
    """Kendall tau against samples (``taus``: algorithm -> ``(samples, tau)`` per run): the mean and, over
    several runs, the 10-90 % band per algorithm, each run's latest tau carried forward; ``logged``: the
    searcher's own taus (``predictor.jsonl``), drawn as grey points; ``colors`` as :func:`plot_best_so_far`'s."""
    colors = colors or algo_colors(taus)
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4))
    for algo, series in (logged or {}).items():
        for k, (xs, ts) in enumerate(series):
            ax.plot(xs, ts, "o--", ms=3, lw=0.8, color="gray", alpha=0.7,
                    label=f"{algo}: tau logged by the searcher (predictor.jsonl)" if k == 0 else None)
    for algo, series in taus.items():
        series = [s for s in series if len(s[0])]
        if not series:
            continue
        n = max(int(s[0].max()) for s in series)
        grid = np.full((len(series), n), np.nan)
        for k, (xs, ts) in enumerate(series):
            grid[k, xs - 1] = ts
        # carry each run's latest tau forward so that runs can be averaged sample by sample
        for k in range(len(series)):
            row = grid[k]
            idx = np.where(~np.isnan(row), np.arange(n), 0)
            np.maximum.accumulate(idx, out=idx)
            grid[k] = np.where(np.arange(n) >= series[k][0].min() - 1, row[idx], np.nan)
        x = np.arange(1, n + 1)
        valid = ~np.all(np.isnan(grid), axis=0)
        runs = f"{len(series)} run{'s' if len(series) > 1 else ''}"
        line, = ax.plot(x[valid], np.nanmean(grid[:, valid], axis=0), color=colors[algo], ls=_line_style(algo),
                        label=f"{algo}: predicted vs real in results.jsonl ({runs})")
        if len(series) > 1:
            ax.fill_between(x[valid], np.nanpercentile(grid[:, valid], 10, axis=0),
                            np.nanpercentile(grid[:, valid], 90, axis=0), color=line.get_color(), alpha=0.2)
    ax.axhline(0, color="gray", lw=0.8)
    ax.set_ylim(-1, 1)
    ax.set_xlabel("samples")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def plot_found(path: str, hits: dict[str, list[int | None]], budget: int, title: str, *,
               colors: dict[str, str] | None = None) -> None:
    """The share of seeds that had found the optimum by each sample, per algorithm (``hits``: algorithm ->
    samples to the optimum per seed, None where a seed missed it within ``budget``), drawn as steps: the
    distribution of the samples to the optimum, misses included (they keep a curve below 100 %), which a
    mean over the seeds that found it leaves out; ``colors`` as :func:`plot_best_so_far`'s."""
    colors = colors or algo_colors(hits)
    plt = _figure()
    fig, ax = plt.subplots(figsize=(7, 4))
    for algo, per_seed in hits.items():
        if not per_seed:
            continue
        found = np.sort([h for h in per_seed if h is not None])
        x = np.unique([1, *found[found <= budget], budget])      # where the share changes: steps between
        share = 100.0 * np.searchsorted(found, x, side="right") / len(per_seed)
        ax.plot(x, share, drawstyle="steps-post", color=colors[algo], ls=_line_style(algo),
                label=f"{algo} ({len(found)}/{len(per_seed)} seeds)")
    _samples_axis(ax, budget)
    ax.set_ylim(-2, 102)
    ax.set_ylabel("seeds that found the optimum (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    _save(fig, path)


def mean_ylabel(kind: str) -> str:
    """The best-so-far axis where results are measured by a cell's mean, not as observed: ``kind`` is the
    table's ``reference_name`` (``"mean over training seeds"`` on NAS-Bench-201, ``"mean over training
    repeats"`` on a NASBench-101 table with several)."""
    return f"best so far (the cell's {kind.replace('mean', 'mean accuracy', 1)})"


YLABEL_MEAN = mean_ylabel("mean over training seeds")
"""NAS-Bench-201's best-so-far axis (:func:`mean_ylabel`)."""
