"""AlphaX: MCTS over partial cells, valued by real results and meta-DNN predictions of random playouts
(Wang et al., "AlphaX: eXploring Neural Architectures with Deep Neural Networks and Monte Carlo Tree
Search", AAAI 2020, https://arxiv.org/abs/1903.11059).

Imports torch (through ``meta_dnn``); :func:`alphax.searchers.make_searcher` imports this module lazily.
"""

from __future__ import annotations

import logging
from typing import Any, Hashable, Sequence

import numpy as np

from alphax import mcts
from alphax.candidates import CandidateSet
from alphax.searchers.base import Proposal, Result, Searcher, check_options
from alphax.spaces.base import SearchSpace

TAU_WINDOW = 50
"""Default ``tau_window``: the Kendall tau logged over the run is that of the last 50 predictions."""

__all__ = ["AlphaXSearch", "GUIDED_C"]

GUIDED_C = 1.0
"""Default exploration constant ``c`` of the tree policy, guided or UCT (the open mode's too), on
standardized values. The paper's UCT constant, 0.5 on raw accuracies (``mcts.UCT_C``, the keyword default
of :mod:`alphax.mcts`), is given as ``selection='uct', c=0.5, value_scale='raw'``."""

log = logging.getLogger(__name__)


class AlphaXSearch(Searcher):
    """MCTS whose states are partial cells (the space's ``root_state/actions/step/cell_of``).

    One proposal = one simulation: **select** a path from the root, **expand** one untried action,
    **roll out** ``playouts`` random completions of the new node and score them with the meta-DNN
    ensemble, and propose one cell below the node. The node's value combines its real result and the
    playouts' predictions (``leaf_value='max'``: the larger of the two; ``'mean'``: their average, the
    paper's); it is **backed up** at once with the proposal's *predicted* value in place of the real
    result (preemptive backup: ``ask(n)`` with n outstanding proposals spreads them over the tree) and
    **corrected** when ``tell`` brings the real result (visits are not counted twice). Backed-up values
    keep the predictions of the meta-DNN that made them (raw accuracies, standardized only when the
    policy reads them); they are not re-scored after a refit, as in the paper. The guided policy's
    model value of an action (below) always comes from the latest fit.

    Tree policy. ``selection='uct'`` is the paper's rule: UCT (eq. 1) among the children once every action
    of a node has been tried once, with the ``c`` and ``value_scale`` options (the paper's constants:
    ``c=0.5, value_scale='raw'``; left out, ``c=GUIDED_C`` or the space's default on z values).
    ``selection='guided'`` (the default on a table) scores every legal action, tried or not, by its
    backed-up mean blended with the meta-DNN's value of the action (the best acquisition ``mean + kappa *
    spread`` among the unseen cells below it) counted as ``prior_visits`` visits, plus ``c * sqrt(2 ln N /
    (n + 1))`` (:func:`mcts.select_guided`; AlphaZero's use of a value network), on the meta-DNN's
    standardized scale (``value_scale='z'``). NASBench-101's tree has up to 12 actions per node (3 ops, up
    to 4 edges into the newest vertex, up to 5 into the output): trying each once, as plain UCT must, spends
    most of a small budget on known-bad branches.

    Deviations from the paper, each measured on the tuning half of the real NASBench-101 subset
    (``benchmarks/tune_search.py``, samples to that half's optimum; the figures, and those of every
    variant tried, are in BENCHMARKS.md, "Tuning and held-out checks"): the paper-like policy (uct, raw,
    c=0.5) needs more samples and misses some seeds; the guided policy finds the optimum in every seed;
    progressive widening of plain UCT did worse. The proposal is the best-acquisition unseen cell below the new node
    (``propose_best_below``) rather than the best of the k playouts; the random playouts still value
    the node. ``leaf_value='max'`` beat ``'mean'``. The meta-DNN learns ``-log(1 - accuracy)`` (the best
    cells' differences are larger on that scale) and is refit every ``max(retrain_every,
    retrain_fraction * results)`` results. The first ``init_random`` proposals are uniform draws that
    train the first meta-DNN and stay out of the tree (otherwise the tree's values stay anchored on
    cells no model chose).

    Proposal cycle (``exploit_every``, ``mutate_every``; off by default, on by default on NAS-Bench-201).
    After the warm-up, of every 6 proposals with ``exploit_every=2, mutate_every=3`` two come from the
    tree as above, two are **exploitation** (the meta-DNN's best unseen pool cell by predicted mean) and
    two are **local** (a ``space.mutate`` of one of the ``mutate_top`` best results, drawn uniformly,
    retried until it may be proposed); these last four are made outside the tree (no backup; their
    results train the meta-DNN, which the tree reads). Why: on NAS-Bench-201 CIFAR-10 the tree alone
    went on exploring for 50-100 samples after the meta-DNN already ranked the optimum first or second
    (seeds 11 and 17); exploitation alone trapped 4 of 20 seeds for 300-700 samples in a region the
    meta-DNN was confidently wrong about (its members share the error, so their spread does not show
    it); the local moves, which the meta-DNN does not choose, bring the evidence that corrects it.
    It takes fewer samples to the optimum on all three NAS-Bench-201 data sets; on NASBench-101 it helped
    on the tuning and held-out halves but not on the whole file, and with today's tree policy
    (``prior_visits=100``) it is worse on all ten tuning landscapes, so it stays off there (``--option
    exploit_every=2 --option mutate_every=3`` turns it on). The figures are in BENCHMARKS.md ("The
    proposal cycle and the identity-aware path encoding", and the NASBench-101 tuning passes).

    Candidate rule. With a pool (a table) and a space that offers ``action_path(cell)``: the tree only
    takes actions that lead to at least one pool cell never proposed (each node keeps the pool cells
    whose build path passes through it), and playouts are uniform draws among those cells; a node with
    none left is dead. So every playout and every proposal is a cell with data, and the search cannot
    stall while an unseen pool cell remains. Without ``action_path``, playouts are random action
    sequences and each completion is snapped to the nearest unseen pool cell (:meth:`CandidateSet.snap`).
    Without a pool (the open mode, ``--pool-size 0``; training's pool is otherwise every cell of the
    space, ``SearchSpace.all_cells``), the tree policy is plain UCT (the guided values need the
    pool), playouts are random action sequences ending in valid, never-proposed cells.

    Per-space defaults (``SearchSpace.default_searcher_options``) override these keyword defaults. On
    NASBench-101, ``c=0.25, prior_visits=100``: the meta-DNN's value of an action outweighs the tree's
    backed-up mean until the node has about 100 visits. The keyword defaults above were chosen on one
    optimum (the tuning half's); on four optima inside the tuning half (its own and three quarters' of
    it), 20 seeds each, these took the mean samples to the optimum from 158.1, 260.8 (one miss), 110.7
    and 88.5 to 142.2, 118.6, 73.8 and 73.9, and the held-out half from 171.3 to 121.3. On
    NAS-Bench-201, the proposal cycle above and ``kappa=2`` (chosen on CIFAR-100, 20 seeds, budget
    1,000: mean samples to the optimum 141.3 with kappa=1, 112.6 with 2, 161.0 with 3; checked on
    CIFAR-10, 217.7 (18/20 found) -> 122.2 (20/20), and ImageNet16-120, 203.1 -> 216.4, both 20/20).

    ``augment=True`` trains the meta-DNN on every way of writing a cell (``SearchSpace.feature_variants``:
    on NASBench-101 its adjacency in each topological order of its vertices, one drawn at random each time
    the cell is in a minibatch), so that it sees one cell where the paper's encoding sees several. It is
    the better predictor (``benchmarks/predictor_quality.py``, tuning half, 6 training sets per size:
    Kendall tau on the unseen cells 0.522 -> 0.545 with 50 cells, 0.692 -> 0.699 with 400) but not the
    better search there: mean samples to the tuning half's optimum, seeds 0-59, budget 800, 129.5 ->
    163.0. On three quarters of the tuning half 118.6, 73.8, 73.9 -> 102.5, 68.1, 80.8; held-out half
    121.3 -> 96.8; whole file 193.35 -> 143.4. The tuning half says no, and ten landscapes inside it
    together (those four and six more halves of it) say 4% better (geometric mean ratio 0.96, lower on 7
    of 10), under the 10% set before they were run, so it is off (BENCHMARKS.md, ninth and tenth passes).

    ``use_size=True`` adds the log of the cell's parameter count (``alphax.parameters``) to the meta-DNN's
    input. Measured with 20 seeds: tuning half 149 -> 237 (worse), held-out half 171 -> 120, whole file
    238 -> 194 (better); a default changes only where no check gets clearly worse, so it is off.

    The meta-DNN (``meta_dnn.Predictor``: an ensemble of ``members`` MLPs on the space's features plus
    the path encoding) learns only from this run's results: it is fit after ``init_random`` results
    (``first_fit_steps``), then refit as above, warm-started, ``fit_steps`` steps. ``metrics()`` reports
    the Kendall tau of its predictions (made at proposal time) against the real results that followed.
    Failed evaluations are never trained on; in the tree they count as the worst result so far.

    The proposal is often also one of its node's random playouts (always when the node has at most
    ``playouts`` unseen cells); its prediction is then left out of the playouts' values that stay with
    the node, which its real result replaces (it used to stay: with ``leaf_value='max'`` a poor result
    was ignored). The measurements above predate that fix of 2026-12-04 (BENCHMARKS.md).
    """

    OPTION_MINIMUM = {"c": 0, "playouts": 1, "kappa": 0, "init_random": 1, "retrain_every": 1,
                      "retrain_fraction": 0, "first_fit_steps": 1, "fit_steps": 1, "members": 1, "hidden": 1,
                      "tau_window": 10, "prior_visits": 0, "exploit_every": 0, "mutate_every": 0, "mutate_top": 1}
    """Smallest allowed value of each numeric option (``searchers.check_options``)."""
    OPTION_MAXIMUM = {"retrain_fraction": 1.0}
    """Largest allowed value of a numeric option (a refit waits at most as many results as there are)."""
    OPTION_CHOICES = {"leaf_value": ("mean", "max"), "value_scale": ("raw", "percent", "z"),
                      "selection": ("guided", "uct")}
    """The allowed values of each text option (``searchers.check_options``)."""

    def __init__(self, space: SearchSpace, *, rng: np.random.Generator, candidates: Sequence[Any] | None = None,
                 c: float = GUIDED_C, playouts: int = 10, kappa: float = 1.0, init_random: int = 20,
                 retrain_every: int = 3, retrain_fraction: float = 0.02, first_fit_steps: int = 300,
                 fit_steps: int = 30,
                 members: int = 5, hidden: int = 64, use_paths: bool = True, use_size: bool = False,
                 augment: bool = False,
                 tau_window: int = TAU_WINDOW,
                 expand_prior: bool = True, propose_best_below: bool = True, leaf_value: str = "max",
                 value_scale: str = "z", selection: str = "guided", prior_visits: float = 1.0,
                 exploit_every: int = 0, mutate_every: int = 0, mutate_top: int = 5):
        from meta_dnn import CellEncoder, Predictor    # torch only from here

        self.space = space
        self.rng = rng
        self.pool = CandidateSet(space, candidates)
        self.c, self.playouts, self.kappa = c, playouts, kappa
        self.init_random, self.retrain_every = init_random, retrain_every
        self.retrain_fraction = retrain_fraction
        self.first_fit_steps, self.fit_steps = first_fit_steps, fit_steps
        self.tau_window = tau_window
        self.encoder = CellEncoder(space, use_paths=use_paths, use_size=use_size)
        self.augment = augment
        self.pool_x = self._encode_pool()
        self.predictor = Predictor(self.encoder, seed=int(rng.integers(2**31)), members=members, hidden=hidden)
        self.trained = False
        self.pool_mu: np.ndarray | None = None
        self.pool_sd: np.ndarray | None = None
        self._acq: np.ndarray | None = None
        self.expand_prior, self.propose_best_below = expand_prior, propose_best_below
        # the text options, and the proposal cycle's counts (used as divisors): checked here too, for direct
        # construction (``make_searcher`` checks every option already)
        check_options(type(self), {"leaf_value": leaf_value, "value_scale": value_scale, "selection": selection,
                                   "exploit_every": exploit_every, "mutate_every": mutate_every,
                                   "mutate_top": mutate_top})
        self.check_space(space, {"use_size": use_size})
        self.leaf_value, self.value_scale = leaf_value, value_scale
        self.selection, self.prior_visits = selection, prior_visits
        self.exploit_every = exploit_every
        self.mutate_every, self.mutate_top = mutate_every, mutate_top
        self.num_guided = 0
        self.tree = mcts.Tree.new(space.root_state())
        self.node_cands: list[np.ndarray | None] = [None]
        self.trie = self.pool.is_pool and hasattr(space, "action_path")
        if self.trie:
            self._build_paths()
            self._reset_cands()
        self.cells: list[Any] = []            # successful results, for training
        self.accs: list[float] = []
        self._train_rows: list = []           # their encodings (meta_dnn.Encoded, one row each)
        self.pending: dict[str, tuple] = {}   # hash -> (node or None, playouts' aggregate, k, provisional, predicted)
        self.predicted_log: list[tuple[float, float]] = []          # (prediction at proposal, real) in tell order
        self.tau_log: list[tuple[int, float, int, int]] = []   # per refit: see metrics()
        self.num_told = 0
        self._since_fit = 0

    @staticmethod
    def check_space(space: SearchSpace, options: dict) -> None:
        """Raise ``ValueError`` for an option ``space`` cannot honour: ``use_size`` where its cells have no
        parameter count (``size_features``: NASBench-101's; it would silently change nothing)."""
        if options.get("use_size") and not hasattr(space, "size_features"):
            raise ValueError(f"option use_size needs cells with a parameter count (--space nasbench101); "
                             f"{type(space).__name__} has none")

    _DERIVED = ("pool_x", "action_codes", "actions_by_code", "code_of")
    """Functions of the pool (its encodings, its build paths): left out of a pickle (a checkpoint) and
    computed again when it is loaded (:meth:`__setstate__`), as :class:`CandidateSet` does with its own.
    For a pool of every NASBench-101 cell they are about 100 MB; computing them takes about 8 s on 2 cores
    (in bulk: ``SearchSpace.action_codes``, ``CellEncoder.encode``)."""

    def __getstate__(self) -> dict:
        """Pickled without what the pool gives again (:attr:`_DERIVED`) and the per-node candidate caches
        (recomputed lazily, identically, from the root)."""
        state = {k: v for k, v in self.__dict__.items() if k not in self._DERIVED}
        if self.trie:
            state["node_cands"] = [None] * len(self.node_cands)
        state["_acq"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        # the encoder's path vocabulary was filled from the pool first, so the pool encodes as it did
        self.pool_x = self._encode_pool()
        if self.trie:
            self._build_paths()
            self._reset_cands()

    def _encode_pool(self):
        """The meta-DNN's encoding of the pool (None without one), from the features the pool holds."""
        return self.encoder.encode(self.pool.cells, features=self.pool.features) if self.pool.is_pool else None

    def _reset_cands(self) -> None:
        """The per-node caches of unseen pool cells, from scratch: every pool cell at the root, the other
        nodes' recomputed lazily (:meth:`_alive`)."""
        self.node_cands = [np.arange(len(self.pool.cells))] + [None] * (len(self.tree.nodes) - 1)

    # -- the pool as a trie of build paths -------------------------------------------------------
    def _build_paths(self) -> None:
        self.action_codes, self.actions_by_code = self.space.action_codes(self.pool.cells)
        self.code_of = {a: code for code, a in enumerate(self.actions_by_code)}

    def _alive(self, node_id: int) -> np.ndarray:
        """Unseen pool cells whose build path passes through ``node_id``, int64 ``(M,)``."""
        cands = self.node_cands[node_id]
        if cands is None:
            node = self.tree.nodes[node_id]
            parent = self._alive(node.parent)
            code = self.code_of.get(node.action, -2)
            cands = parent[self.action_codes[parent, node.depth - 1] == code]
        cands = cands[~self.pool.seen[cands]]
        self.node_cands[node_id] = cands
        return cands

    def _legal(self, node_id: int) -> list[Hashable]:
        node = self.tree.nodes[node_id]
        if not self.trie:
            return [] if node.dead else list(self.space.actions(node.state))
        cands = self._alive(node_id)
        codes = self.action_codes[cands, node.depth]
        return [self.actions_by_code[int(a)] for a in np.unique(codes[codes >= 0])]

    # -- ask / tell -----------------------------------------------------------------------------
    def _ask(self, n: int) -> list[Proposal]:
        out = []
        for _ in range(n):
            if self.pool.exhausted():
                break
            prop = self._simulate()
            if prop.cell is None:                      # open mode: a small space proposed to its end
                break
            self.pool.mark(prop.cell)
            out.append(prop)
        return out

    def _simulate(self) -> Proposal:
        if not self.trained:
            # warm-up: uniform draws train the first meta-DNN; they stay out of the tree, whose values
            # would otherwise be anchored on cells no model chose
            return Proposal(self.pool.random(self.rng), None)
        self.num_guided += 1
        if self._local_turn():
            prop = self._local()
            if prop is not None:
                return prop
        if self._exploit_turn():
            return self._exploit()
        for _ in range(100):
            if self.selection == "guided" and self.trie:
                found = mcts.select_guided(self.tree, self._legal, action_values=self._action_values, rng=self.rng,
                                           c=self.c, prior_visits=self.prior_visits, normalize=self._normalize)
                if found is None:
                    break
                leaf, action = found
                node_id = leaf if action is None else self.tree.add_child(
                    leaf, action, self.space.step(self.tree.nodes[leaf].state, action))
            else:
                leaf = mcts.select(self.tree, self._legal, rng=self.rng, c=self.c, normalize=self._normalize)
                if leaf is None:
                    break
                actions = self._legal(leaf)
                node_id = mcts.expand(self.tree, leaf, actions=actions, step=self.space.step, rng=self.rng,
                                      prior=self._prior(leaf, actions))
            self._grow_cands()
            cells, idx = self._playouts(node_id)
            if not cells:
                self.tree.nodes[node_id].dead = True
                continue
            return self._choose(node_id, cells, idx)
        cell = self.pool.random(self.rng)        # the whole tree is dead: fall back, never stall
        return Proposal(cell, None)

    def _local_turn(self) -> bool:
        """The proposal cycle's turn ``num_guided`` is a local mutation (:meth:`_local`)."""
        return bool(self.mutate_every) and self.num_guided % self.mutate_every == 0

    def _exploit_turn(self) -> bool:
        """The proposal cycle's turn ``num_guided`` is the meta-DNN's best cell (:meth:`_exploit`)."""
        return bool(self.exploit_every) and self.pool_mu is not None and self.num_guided % self.exploit_every == 0

    def _grow_cands(self) -> None:
        """One (lazily filled) candidate entry per tree node, for the nodes added since the last call."""
        while len(self.node_cands) < len(self.tree.nodes):
            self.node_cands.append(None)

    def _exploit(self) -> Proposal:
        """The meta-DNN's best unseen pool cell (highest predicted mean), outside the tree."""
        unseen = self.pool.unseen_indices()
        best = int(unseen[np.argmax(self.pool_mu[unseen])])
        return self._outside_tree(self.pool.cells[best], float(self.pool_mu[best]))

    def _local(self) -> Proposal | None:
        """A mutation (``space.mutate``) of one of the ``mutate_top`` best results, drawn uniformly, that
        may be proposed (up to 100 tries; None if none may), outside the tree."""
        top = np.argsort(self.accs, kind="stable")[::-1][:self.mutate_top]
        if len(top) == 0:
            return None
        for _ in range(100):
            child = self.space.mutate(self.cells[int(top[self.rng.integers(len(top))])], self.rng)
            if self.pool.is_new(child):
                i = self.pool.index_of(child)
                mu, _ = self._predict([child], None if i is None else np.array([i]))
                return self._outside_tree(child, float(mu[0]))
        return None

    def _outside_tree(self, cell: Any, predicted: float) -> Proposal:
        """A proposal the tree did not choose: no backup; its result trains the meta-DNN and its
        prediction counts in the ranking-quality log."""
        self.pending[self.space.hash(cell)] = (None, 0.0, 0, 0.0, predicted)
        return Proposal(cell, predicted)

    def _acquisition(self) -> np.ndarray | None:
        if self.pool_mu is None:
            return None
        if self._acq is None:
            self._acq = self.pool_mu + self.kappa * self.pool_sd
        return self._acq

    def _best_below(self, node_id: int, actions: list[Hashable]) -> np.ndarray:
        """Per action, the best acquisition among the unseen pool cells below it (trie mode, trained)."""
        node = self.tree.nodes[node_id]
        cands = self._alive(node_id)
        codes = self.action_codes[cands, node.depth].astype(np.int64)
        best = np.full(len(self.actions_by_code), -np.inf)
        np.maximum.at(best, codes, self._acquisition()[cands])
        return best[[self.code_of[a] for a in actions]]

    def _prior(self, node_id: int, actions: list[Hashable]) -> list[float] | None:
        """The expansion order of plain UCT: :meth:`_best_below` (trie mode, after the first fit, with
        ``expand_prior``); None otherwise (uniform expansion)."""
        if not (self.trie and self.expand_prior and self._acquisition() is not None and actions):
            return None
        return self._best_below(node_id, actions).tolist()

    def _action_values(self, node_id: int, actions: list[Hashable]) -> list[float]:
        """The guided policy's model value of each action: :meth:`_best_below`, on the tree's scale."""
        return np.asarray(self._normalize(self._best_below(node_id, actions))).tolist()

    def _playouts(self, node_id: int) -> tuple[list[Any], np.ndarray | None]:
        """Up to ``playouts`` random completions of the node (at least 1), as cells that may be proposed."""
        k = max(self.playouts, 1)
        if self.trie:
            cands = self._alive(node_id)
            if len(cands) == 0:
                return [], None
            idx = cands if len(cands) <= k else self.rng.choice(cands, size=k, replace=False)
            return [self.pool.cells[int(i)] for i in idx], idx
        node = self.tree.nodes[node_id]
        cells: list[Any] = []
        hashes: set[str] = set()
        for _ in range(20 * k):
            if len(cells) >= k:
                break
            cell = self.space.cell_of(mcts.rollout(node.state, actions=self.space.actions, step=self.space.step,
                                                     rng=self.rng))
            if cell is None:
                continue
            if self.pool.is_pool:
                cell = self.pool.snap(cell, self.rng)
            elif not self.pool.is_new(cell):
                continue        # open mode: a proposed completion is dropped, not replaced by a random cell
            if cell is not None and self.space.hash(cell) not in hashes:
                hashes.add(self.space.hash(cell))
                cells.append(cell)
        return cells, None

    def _choose(self, node_id: int, cells: list[Any], idx: np.ndarray | None) -> Proposal:
        """Propose the best-acquisition unseen pool cell below the node (trie mode with
        ``propose_best_below``), else the playout with the best acquisition (the searcher is trained:
        before that, :meth:`_simulate` draws at random); back up the node with its provisional value."""
        mu, sd = self._predict(cells, idx)
        acq = self._acquisition()
        if self.trie and self.propose_best_below and acq is not None:
            # the meta-DNN's best unseen cell below the node; the random playouts only value the node
            cands = self._alive(node_id)
            best = int(cands[np.argmax(acq[cands])])
            cell, predicted = self.pool.cells[best], float(self.pool_mu[best])
            # the proposal itself may be among the random playouts: leave its prediction out, or the
            # node keeps it after ``tell`` brings the real result (max: never below it; mean: counted twice)
            keep = idx != best
            others, k = self._aggregate(mu[keep]), int(keep.sum())
        else:
            j = int(np.argmax(mu + self.kappa * sd))
            cell, predicted = cells[j], float(mu[j])
            others, k = self._aggregate(np.delete(mu, j)), len(cells) - 1
        self._register(node_id, cell, predicted, others, k)
        return Proposal(cell, predicted)

    def _aggregate(self, preds: np.ndarray) -> float:
        """Sum (``leaf_value='mean'``) or max (``'max'``) of the playouts' predictions."""
        if len(preds) == 0:
            return 0.0 if self.leaf_value == "mean" else -np.inf
        return float(preds.sum()) if self.leaf_value == "mean" else float(preds.max())

    def _leaf_value(self, real: float, others: float, k: int) -> float:
        """The node's value from its real (or provisional) result and its playouts' predictions."""
        if self.leaf_value == "mean":
            return (real + others) / (k + 1)
        return max(real, others)

    def _register(self, node_id: int, cell: Any, predicted: float, others: float, k: int) -> None:
        provisional = self._leaf_value(predicted, others, k)
        mcts.backup(self.tree, node_id, provisional)
        self.pending[self.space.hash(cell)] = (node_id, others, k, provisional, predicted)

    def _predict(self, cells: list[Any], idx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if idx is not None and self.pool_mu is not None:
            return self.pool_mu[idx], self.pool_sd[idx]
        return self.predictor.predict(self.encoder.encode(cells))

    def _normalize(self, q):
        """The value the tree policy compares (a float, or an array of them): raw accuracy
        (``value_scale='raw'``, as in the paper), accuracy in percent (``'percent'``), or in the meta-DNN's
        standardized units (``'z'``: its target transform, then the robust centre and scale of its last
        fit; 0 before the first fit)."""
        if self.value_scale == "raw":
            return q
        if self.value_scale == "percent":
            return 100.0 * q
        return self.predictor.standardize(q) if self.trained else 0.0 * np.asarray(q)

    def _tell(self, cell: Any, result: Result) -> None:
        unasked = self.pool.mark(cell)
        self.num_told += 1
        entry = self.pending.pop(self.space.hash(cell), None)
        if result.failed:
            real = min(self.accs) if self.accs else 0.0
        else:
            real = float(result.accuracy)
            self.cells.append(cell)
            self.accs.append(real)
            self._train_rows.append(self.encoder.encode([cell], variants=self.augment))
            self._since_fit += 1
        if entry is not None:
            node_id, others, k, provisional, predicted = entry
            if node_id is not None:
                mcts.correct(self.tree, node_id, provisional, self._leaf_value(real, others, k))
            if self.trained and not result.failed:
                self.predicted_log.append((predicted, real))
        elif unasked:
            self._told_unasked(cell, real)
        due = max(self.retrain_every, int(self.retrain_fraction * len(self.accs)))
        if len(self.accs) >= self.init_random and (not self.trained or self._since_fit >= due):
            self._fit()

    def _told_unasked(self, cell: Any, real: float) -> None:
        """A result this searcher never proposed: a farm's, logged after the checkpoint it was restored from
        (a farm's proposals and results interleave in an order no replay repeats, so its logged rows are only
        told). Counted in the proposal cycle, and, where the cycle would have taken it from the tree, grown
        into the tree as a simulation would have: one new node on the cell's build path below the deepest
        node already there, backed up with the real result (its playouts' predictions are not known). So a
        resumed farm's tree holds every result, not only those up to its checkpoint. Warm-up draws (before
        the first fit) stay out of the tree, as they did."""
        if not self.trained:
            return
        self.num_guided += 1
        if self._local_turn() or self._exploit_turn():
            return                          # the cycle's local or exploiting proposal: outside the tree
        node_id = 0
        path = self.space.action_path(cell) if hasattr(self.space, "action_path") else []
        for action in path:
            child = self.tree.nodes[node_id].children.get(action)
            if child is None:               # expand: the next action of its path
                node_id = self.tree.add_child(node_id, action, self.space.step(self.tree.nodes[node_id].state,
                                                                               action))
                self._grow_cands()
                break
            node_id = child
        mcts.backup(self.tree, node_id, real)

    def _withdraw(self, h: str) -> None:
        """Take back an outstanding proposal: undo its provisional backup (a visit and its value) and its
        count in the proposal cycle, and let its cell be proposed again (the per-node caches of unseen cells
        are rebuilt, and the nodes on its build path live again)."""
        entry = self.pending.pop(h, None)
        if entry is not None:
            self.num_guided -= 1
        if entry is not None and entry[0] is not None:
            mcts.backup(self.tree, entry[0], entry[3], visits=-1)
        self.pool.unmark(h)
        i = self.pool.index.get(h) if self.pool.is_pool else None
        if self.trie and i is not None:
            self._reset_cands()
            node = self.tree.nodes[0]
            node.dead = False
            for action in self.space.action_path(self.pool.cells[i]):
                child = node.children.get(action)
                if child is None:
                    break
                node = self.tree.nodes[child]
                node.dead = False

    def _fit(self) -> None:
        from meta_dnn import Encoded, kendall_tau

        steps = self.fit_steps if self.trained else self.first_fit_steps
        x = Encoded.concat(self._train_rows, pad=self.encoder.num_paths)
        self.predictor.fit(x, np.asarray(self.accs), steps=steps)
        self.trained = True
        self._since_fit = 0
        if self.pool_x is not None:
            self.pool_mu, self.pool_sd = self.predictor.predict(self.pool_x)
            self._acq = None
        window = self.predicted_log[-self.tau_window:]
        if len(window) >= self.OPTION_MINIMUM["tau_window"]:      # a tau of fewer predictions says little
            pred, real = np.array(window).T
            # with the results told and the tree's size then: the run logs an entry made during a replay
            # (a resume) as the uninterrupted run did, not at the row it is written after
            self.tau_log.append((len(self.accs), kendall_tau(pred, real), self.num_told, len(self.tree.nodes)))
            log.debug("meta-DNN refit on %d results (%d steps); tau over the last %d predictions %.3f",
                      len(self.accs), steps, len(window), self.tau_log[-1][1])

    def metrics(self) -> dict:
        """``tau``: list of ``(successful results so far, Kendall tau of the last predictions vs real results,
        results told so far, tree nodes)`` at each refit (a checkpoint from before it holds the first two)."""
        return {"tau": list(self.tau_log), "results": len(self.accs), "tree_nodes": len(self.tree.nodes)}
