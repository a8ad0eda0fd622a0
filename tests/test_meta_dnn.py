"""The meta-DNN: encodings, Kendall tau, pickling, and that it learns from real results."""

from __future__ import annotations

import gzip
import itertools
import json
import pickle

import numpy as np
import pytest
from scipy.stats import kendalltau

from alphax.parameters import trainable_parameters
from alphax.searchers import Result, make_searcher
from alphax.spaces import NASBench101Space
from alphax.spaces.nasbench201 import NASBench201Space, NB201Cell
from alphax.spec import CellSpec
from meta_dnn import CellEncoder, Encoded, Predictor, cell_paths, kendall_tau

from conftest import require_data

SPACE = NASBench101Space()


def test_cell_paths_of_a_hand_made_cell():
    m = [[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]]
    cell = CellSpec(m, ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    assert sorted(cell_paths(cell)) == [("conv3x3-bn-relu",), ("maxpool3x3",)]
    direct = CellSpec([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv1x1-bn-relu", "output"])
    assert sorted(cell_paths(direct)) == [(), ("conv1x1-bn-relu",)]


def test_cell_paths_leave_out_the_spaces_identity_ops():
    """NAS-Bench-201: skip_connect is the identity, so a skip on input->output and skips on
    input->1->output are the same path, and conv3x3 then skip is conv3x3."""
    space = NASBench201Space()
    a = NB201Cell(("skip_connect", "none", "none", "nor_conv_1x1", "skip_connect", "none"))
    b = NB201Cell(("nor_conv_3x3", "none", "none", "skip_connect", "skip_connect", "none"))
    assert sorted(cell_paths(a)) == [("nor_conv_1x1",), ("skip_connect", "skip_connect")]
    assert sorted(cell_paths(a, space.identity_ops)) == [(), ("nor_conv_1x1",)]
    assert sorted(cell_paths(b, space.identity_ops)) == [(), ("nor_conv_3x3",)]
    enc = CellEncoder(space).encode([a, NB201Cell(("none",) * 3 + ("skip_connect", "none", "none"))])
    assert enc.paths[0][0] == enc.paths[1][0]                 # the identity path: one indicator
    assert NASBench101Space.identity_ops == ()


def test_encoder_shapes_and_shared_vocabulary():
    rng = np.random.default_rng(0)
    cells = [SPACE.random_cell(rng) for _ in range(50)]
    enc = CellEncoder(SPACE)
    x = enc.encode(cells)
    assert x.dense.shape == (50, 36) and x.dense.dtype == np.float32     # 21 edges + 15 ops
    sized = CellEncoder(SPACE, use_size=True).encode(cells).dense          # + the log parameter count
    assert sized.shape == (50, 37) and np.array_equal(sized[:, :36], x.dense)
    assert np.allclose(sized[:, 36], (np.log([trainable_parameters(c) for c in cells]) - 15) / 1.5)
    assert x.paths.shape[0] == 50 and x.paths.max() <= enc.num_paths
    again = enc.encode(cells)
    assert np.array_equal(again.paths, x.paths)


def test_paths_past_the_vocabulary_capacity_share_one_index_listed_once():
    rng = np.random.default_rng(0)
    cells = [SPACE.random_cell(rng) for _ in range(100)]
    enc = CellEncoder(SPACE, capacity=8)
    x = enc.encode(cells)
    rows = [r[r < enc.num_paths].tolist() for r in x.paths]
    assert all(len(r) == len(set(r)) for r in rows) and max(max(r) for r in rows if r) == 7
    assert sum(7 in r for r in rows) > 10            # the shared index is in use


def _paths_by_networkx(cell, identity) -> set[tuple]:
    """Every input->output path's interior ops, identity ops left out: networkx's simple paths."""
    import networkx as nx

    graph = nx.from_numpy_array(np.asarray(cell.matrix), create_using=nx.DiGraph)
    return {tuple(cell.ops[v] for v in path[1:-1] if cell.ops[v] not in identity)
            for path in nx.all_simple_paths(graph, 0, len(cell.ops) - 1)}


@pytest.mark.parametrize("space_name,capacity", [("nasbench101", 512), ("nasbench101", 16),
                                                 ("nasbench201", 512), ("nasbench201", 8)])
def test_the_path_encoding_in_bulk_is_the_cell_by_cell_rule(space_name, capacity, subset_rows):
    """The encoder finds a batch's paths for all its cells at once; the indices are those of the rule
    written cell by cell: each cell's distinct paths (networkx here), sorted, a new path getting the next
    index up to ``capacity - 1``, which every later new path shares; batch after batch, one vocabulary."""
    rng = np.random.default_rng(3)
    if space_name == "nasbench101":
        space = SPACE
        rows = [subset_rows[i] for i in rng.choice(len(subset_rows), 3000, replace=False)]
        cells = [CellSpec(r["matrix"], r["ops"]) for r in rows]
        cells.append(CellSpec([[0, 1], [0, 0]], ["input", "output"]))      # 2 vertices: the empty path
    else:
        space = NASBench201Space()
        everything = space.all_cells()
        cells = [everything[i] for i in rng.choice(len(everything), 3000, replace=False)]
    assert len({len(c.ops) for c in cells}) >= (5 if space_name == "nasbench101" else 1)
    batches = [cells[:1], cells[1:1000], cells[1000:]]
    encoder, vocab = CellEncoder(space, capacity=capacity), {}
    for batch in batches:
        expected = []
        for cell in batch:
            ids = set()
            for path in sorted(_paths_by_networkx(cell, space.identity_ops)):
                if path not in vocab:
                    vocab[path] = min(len(vocab), capacity - 1)
                ids.add(vocab[path])
            expected.append(sorted(ids))
        paths = encoder.encode(batch).paths
        assert paths.shape == (len(batch), max(1, *map(len, expected)))
        assert [r[r < capacity].tolist() for r in paths] == expected
        assert list(encoder.vocab.items()) == list(vocab.items())
    assert len(vocab) > (capacity if capacity < 100 else 30)     # a small capacity is overrun: shared index
    assert all(cell_paths(c, space.identity_ops) == sorted(_paths_by_networkx(c, space.identity_ops))
               for c in cells[:300])


def test_encoded_variants_concat_and_take():
    """Each row keeps its own forms (SearchSpace.feature_variants) through concat and take."""
    rng = np.random.default_rng(4)
    cells = [SPACE.random_cell(rng) for _ in range(30)]
    enc = CellEncoder(SPACE, use_size=True)
    x = enc.encode(cells, variants=True)
    start, count = x.variant_spans()
    assert count.tolist() == [len(SPACE.feature_variants(c)) for c in cells] and count.max() > 1
    for i, c in enumerate(cells):
        forms = x.variants[start[i]:start[i] + count[i]]
        assert np.array_equal(forms[:, :36], SPACE.feature_variants(c))
        assert np.all(forms[:, 36] == x.dense[i, 36])                    # the size is the same in every form
        assert np.array_equal(forms[0], x.dense[i])
    parts = Encoded.concat([enc.encode(cells[:10], variants=True), enc.encode(cells[10:]),
                            enc.encode(cells[10:], variants=True)], pad=enc.num_paths)
    s2, c2 = parts.variant_spans()
    assert c2[10:30].tolist() == [1] * 20 and c2[30:].tolist() == count[10:].tolist()
    assert np.array_equal(parts.variants[s2[35]:s2[35] + c2[35]], x.variants[start[15]:start[15] + count[15]])
    sub = x.take(np.array([15, 3]))
    s3, c3 = sub.variant_spans()
    assert c3.tolist() == [count[15], count[3]]
    assert np.array_equal(sub.variants[s3[1]:], x.variants[start[3]:start[3] + count[3]])
    assert np.array_equal(x.take(np.arange(30)).variants, x.variants)
    assert CellEncoder(NASBench201Space()).encode([NB201Cell(("none",) * 6)], variants=True).variants is None


def test_training_on_every_vertex_order_makes_the_meta_dnn_see_one_cell():
    """Augmentation: trained on random vertex orders of 300 real cells, the meta-DNN's predictions
    for two orders of the same held-out cell differ much less than when trained on the stored orders."""
    d = require_data("augmentation test")
    with gzip.open(d / "nb101_real_subset.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in itertools.islice(f, 1500)]
    cells = [SPACE.from_json(r) for r in rows]
    acc = np.array([r["metrics"]["108"]["validation_accuracy"] for r in rows])
    branchy = [c for c in cells[300:] if len(SPACE.feature_variants(c)) > 1]
    gap, tau = {}, {}
    for augment in (False, True):
        enc = CellEncoder(SPACE)
        p = Predictor(enc, seed=0)
        p.fit(enc.encode(cells[:300], variants=augment), acc[:300], steps=300)
        xt = enc.encode(branchy, variants=True)
        start, count = xt.variant_spans()
        first = p.predict(Encoded(xt.variants[start], xt.paths))[0]
        last = p.predict(Encoded(xt.variants[start + count - 1], xt.paths))[0]
        gap[augment] = np.mean(np.abs(first - last))
        tau[augment] = kendall_tau(p.predict(enc.encode(cells[300:]))[0], acc[300:])
    assert len(branchy) > 500
    assert gap[True] < 0.7 * gap[False], gap
    assert min(tau.values()) > 0.5, tau


def test_kendall_tau_matches_scipy():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=40), rng.normal(size=40)
    b[:5] = b[5]                                      # ties
    assert kendall_tau(a, b) == pytest.approx(kendalltau(a, b).statistic)
    assert np.isnan(kendall_tau([1.0], [2.0]))


def test_predictor_pickles_and_predicts_identically():
    rng = np.random.default_rng(2)
    cells = [SPACE.random_cell(rng) for _ in range(64)]
    y = rng.uniform(0.8, 0.95, size=64)
    enc = CellEncoder(SPACE)
    x = enc.encode(cells)
    p = Predictor(enc, seed=3, members=3, hidden=16)
    p.fit(x, y, steps=20)
    q = pickle.loads(pickle.dumps(p))
    assert np.allclose(p.predict(x)[0], q.predict(x)[0])
    p.fit(x, y, steps=5)
    q.fit(x, y, steps=5)
    assert np.allclose(p.predict(x)[0], q.predict(x)[0])


def test_the_predictor_leaves_the_process_torch_threads_as_they_were():
    """The meta-DNN fits and predicts on one thread, and gives the setting back: an AlphaX search that
    trains its cells on the CPU in the same process (``--evaluator train --device cpu``) used to train
    on one thread after the first meta-DNN was built."""
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    torch.set_num_threads(3)
    try:
        rng = np.random.default_rng(4)
        cells = [SPACE.random_cell(rng) for _ in range(16)]
        enc = CellEncoder(SPACE)
        x = enc.encode(cells)
        p = Predictor(enc, seed=1, members=2, hidden=8)
        assert torch.get_num_threads() == 3
        seen = []
        forward = p.model.forward
        p.model.forward = lambda *a: seen.append(torch.get_num_threads()) or forward(*a)
        p.fit(x, rng.uniform(0.8, 0.95, size=16), steps=2)
        p.predict(x)
        assert seen and set(seen) == {1}
        assert torch.get_num_threads() == 3
        pickle.loads(pickle.dumps(p))
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_the_predictor_learns_from_the_runs_own_results():
    """After 500 results of an AlphaX run on real cells, its tau on held-out real cells beats 0.3."""
    d = require_data("predictor learning test")
    with gzip.open(d / "nb101_real_subset.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in itertools.islice(f, 3000)]
    cells = [SPACE.from_json(r) for r in rows]
    acc = {r["hash"]: r["metrics"]["108"]["validation_accuracy"] for r in rows}
    pool, held_out = cells[:2500], cells[2500:]
    searcher = make_searcher("alphax", SPACE, rng=np.random.default_rng(0), candidates=pool,
                             retrain_every=50, fit_steps=60)
    for _ in range(500):
        (p,) = searcher.ask(1)
        searcher.tell(p.cell, Result(acc[p.cell.hash]))
    mu, _ = searcher.predictor.predict(searcher.encoder.encode(held_out))
    tau = kendall_tau(mu, np.array([acc[c.hash] for c in held_out]))
    assert tau > 0.3, tau
    assert searcher.metrics()["tau"], "the run logs its ranking quality"


def test_predictor_quality_script_scores_a_fresh_fit_and_rejects_unknown_options():
    """``benchmarks/predictor_quality.py`` on a quarter of the real subset: a fresh fit on 50 cells ranks
    the rest with a tau above 0.3; an unknown option is a clear error."""
    import subprocess
    import sys
    from pathlib import Path

    d = require_data("predictor_quality script")
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "predictor_quality.py"
    run = [sys.executable, str(script), "--data", str(d), "--split", "1:0:0,1:1:1", "--sizes", "50", "--seeds", "1"]
    ok = subprocess.run(run + ["--compare", "{}", '{"augment": true}'], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    rows = json.loads(ok.stdout.strip().splitlines()[-1])["rows"]
    assert [r["setting"] for r in rows] == [{}, {"augment": True}]
    assert all(r["tau"] > 0.3 and 0 <= r["top10_share_of_best100"] <= 1 for r in rows), rows
    bad = subprocess.run(run + ["--compare", '{"hiden": 8}'], capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "unknown option(s) ['hiden']" in bad.stderr


def test_the_predictor_refuses_targets_it_cannot_learn_and_predictions_before_a_fit():
    """One NaN target made every weight NaN, and every later fit too (it goes on from them); a y shorter
    than x trained on part of x, a longer one failed deep inside; an unfitted model's outputs looked like
    accuracies. Each is a ValueError (RuntimeError) naming it, and the predictor is left as it was."""
    rng = np.random.default_rng(5)
    cells = [SPACE.random_cell(rng) for _ in range(32)]
    enc = CellEncoder(SPACE)
    x = enc.encode(cells)
    p = Predictor(enc, seed=1, members=2, hidden=8)
    with pytest.raises(RuntimeError, match="has not been fitted"):
        p.predict(x)
    y = rng.uniform(0.8, 0.95, size=32)
    for bad, message in ((np.where(np.arange(32) == 3, np.nan, y), "1 non-finite"),
                         (y[:30], r"one accuracy per row of x \(32\)"), (np.append(y, 0.9), "shape"),
                         (y.reshape(4, 8), "1-D")):
        with pytest.raises(ValueError, match=message):
            p.fit(x, bad, steps=3)
    p.fit(x, y, steps=5)
    assert np.isfinite(p.predict(x)[0]).all()


def test_a_refused_fit_leaves_a_fitted_predictor_as_it_was():
    """Found by a bug hunt (2026-12-08): a fit refused for its steps or its x re-centred the targets first
    (predictions 0.94 -> 0.31), another encoder's x was torch's shape error after that, steps=-3 left an
    unfitted model predicting, steps=0 re-centred without training, and percentages were learnt as 1."""
    rng = np.random.default_rng(5)
    cells = [SPACE.random_cell(rng) for _ in range(32)]
    enc = CellEncoder(SPACE)
    x = enc.encode(cells)
    y = rng.uniform(0.8, 0.95, size=32)
    p = Predictor(enc, seed=1, members=2, hidden=8)
    with pytest.raises(ValueError, match="steps must be a whole number >= 1"):
        p.fit(x, y, steps=-3)
    with pytest.raises(RuntimeError, match="has not been fitted"):
        p.predict(x)
    p.fit(x, y, steps=5)
    before, state = p.predict(x), pickle.dumps(p)
    sized = CellEncoder(SPACE, use_size=True).encode(cells)
    for bad_x, bad_y, steps, message in ((x, y / 2, 0, "steps"), (x, y / 2, 2.5, "steps"), (x, y / 2, True, "steps"),
                                         (x, 100 * y, 3, "outside \\[0, 1\\].*not percentages"),
                                         (x, y - 1, 3, "outside"), (sized, y / 2, 3, "not encoded by this predictor")):
        with pytest.raises(ValueError, match=message):
            p.fit(bad_x, bad_y, steps=steps)
        np.testing.assert_array_equal(p.predict(x), before)
    again = pickle.loads(state)                               # its random draws were not taken either
    p.fit(x, y, steps=3)
    again.fit(x, y, steps=3)
    np.testing.assert_array_equal(p.predict(x), again.predict(x))


def test_kendall_tau_refuses_arrays_it_cannot_pair():
    with pytest.raises(ValueError, match="equal length"):
        kendall_tau(np.arange(5.0), np.arange(4.0))
    with pytest.raises(ValueError, match="1-D"):
        kendall_tau(np.ones((3, 2)), np.ones((3, 2)))


def test_kendall_tau_of_a_large_pool_takes_memory_linear_in_its_size():
    """Found by a bug hunt (2026-12-08): every pair was materialized, 8 GB for the subset's 20,001 cells
    (benchmarks/predictor_quality.py scores a whole half of it); the same value, in O(n) memory."""
    import tracemalloc

    x = np.random.default_rng(0).random(5000)
    y = x + np.random.default_rng(1).normal(0, 0.3, 5000)
    kendall_tau(x[:10], y[:10])                                  # scipy imported outside the measure
    tracemalloc.start()
    try:
        tau = kendall_tau(x, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert tau == pytest.approx(kendalltau(x, y).statistic, abs=1e-12)
    assert peak < 5_000_000, peak              # all 12.5 M pairs took ~600 MB


def test_encoding_a_disconnected_cell_names_it():
    from alphax.errors import OutOfDomainError

    cell = CellSpec([[0, 0, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
    with pytest.raises(OutOfDomainError, match="input and output are disconnected"):
        CellEncoder(SPACE).encode([SPACE.random_cell(np.random.default_rng(0)), cell])


# -- found missing by a second mutation audit (mut-core): each fails on one plausible bug --
def test_kendall_tau_b_by_hand():
    """tau-b divides by sqrt(untied pairs of x * untied pairs of y), not by all pairs (tau-a); a constant
    array has no untied pair, so no tau."""
    assert kendall_tau([1, 2, 3, 4], [1, 1, 2, 3]) == pytest.approx(5 / np.sqrt(6 * 5))     # tau-a: 5/6
    assert kendall_tau([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert np.isnan(kendall_tau([0.5, 0.5, 0.5], [1.0, 2.0, 3.0]))


def test_standardize_keeps_the_order_of_accuracies_and_the_ensemble_has_a_spread():
    """The tree compares accuracies in the meta-DNN's standardized units: a better accuracy is a larger
    value there (the median result of the last fit is 0). The members disagree, so the spread is > 0."""
    rng = np.random.default_rng(2)
    cells = [SPACE.random_cell(rng) for _ in range(63)]          # odd: the median is one of them
    y = rng.uniform(0.8, 0.95, size=63)
    enc = CellEncoder(SPACE)
    p = Predictor(enc, seed=3, members=3, hidden=16)
    p.fit(enc.encode(cells), y, steps=20)
    z = p.standardize(np.array([0.5, 0.85, np.median(y), 0.9, 0.95]))
    assert np.all(np.diff(z[[0, 1, 3, 4]]) > 0) and z[2] == pytest.approx(0.0, abs=1e-9)
    mu, sd = p.predict(enc.encode(cells))
    assert np.all(sd > 0) and np.all((0 < mu) & (mu < 1))


def test_a_failed_training_is_learnt_only_down_to_the_clip():
    """Targets are clipped below at -clip standardized units, so one failed training (accuracy 0.1 among
    0.90-0.95) is learnt as that floor, about 0.83 here, not as 0.1 (which would dominate the loss)."""
    rng = np.random.default_rng(2)
    cells = [SPACE.random_cell(rng) for _ in range(64)]
    y = rng.uniform(0.9, 0.95, size=64)
    y[0] = 0.1
    enc = CellEncoder(SPACE)
    p = Predictor(enc, seed=3, members=3, hidden=16)
    p.fit(enc.encode(cells), y, steps=300)
    floor = 1 - np.exp(-(p.center - 4.0 * p.scale))              # z = -4 in accuracy units
    mu, _ = p.predict(enc.encode(cells[:1]))
    assert 0.8 < floor < 0.86 and mu[0] == pytest.approx(floor, abs=0.03)


def test_a_cell_without_paths_and_an_empty_batch_encode_to_one_padding_column():
    """NAS-Bench-201's all-'none' cell has no input->output path: its row is one padding index, an empty
    bag for the model, never a row of width 0; an empty batch has that width too."""
    space = NASBench201Space()
    enc = CellEncoder(space)
    x = enc.encode([NB201Cell(("none",) * 6)])
    assert x.paths.shape == (1, 1) and x.paths[0, 0] == enc.num_paths
    empty = CellEncoder(SPACE).encode([])
    assert empty.dense.shape == (0, 36) and empty.paths.shape == (0, 1)


# -- found missing by a mutation audit of the data layer (mut-data) --
def test_padding_paths_stay_an_empty_bag_through_training():
    """Rows are padded with the index num_paths to the batch's widest row: that index must stay an all-zero
    row through training, so a cell's prediction does not depend on how many padding entries its row has."""
    import torch

    from meta_dnn.model import EnsembleMLP

    torch.manual_seed(0)
    model = EnsembleMLP(4, 10, members=2, hidden=8)
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    dense = torch.randn(6, 4)
    paths = torch.tensor([[0, 1, 10], [2, 10, 10], [3, 4, 5], [6, 10, 10], [7, 8, 10], [9, 10, 10]])
    for _ in range(5):
        opt.zero_grad()
        model(dense, paths).pow(2).mean().backward()
        opt.step()
    assert torch.count_nonzero(model.paths.weight[10]) == 0
    with torch.no_grad():
        narrow = model(dense[:1], torch.tensor([[0, 1]]))
        wide = model(dense[:1], torch.tensor([[0, 1, 10, 10, 10]]))
    assert torch.equal(narrow, wide)
