"""The table evaluators: stateless repeat choice, candidates, optimum; the space registry."""

from __future__ import annotations

import numpy as np
import pytest

from alphax.config import SearchConfig
from alphax.errors import ConfigError
from alphax.registry import SPACE_BUILDERS, build_space_and_evaluator
from alphax.searchers.base import Result
from alphax.spaces.nasbench101 import random_spec
from workers.evaluators import Evaluator, TableEvaluator, cell_key


class FakeNB101:
    """The NASBench101 API surface TableEvaluator uses: 3 recorded repeats per cell."""

    def __init__(self, n: int = 40):
        rng = np.random.default_rng(0)
        cells = {}
        while len(cells) < n:
            c = random_spec(rng)
            cells[c.hash] = c
        self.cells = cells
        self.hashes = list(cells)
        self.repeats = {h: rng.uniform(0.8, 0.95, size=3) for h in self.hashes}
        self.queries = 0

    def spec_of(self, h):
        return self.cells[h]

    def cells_with(self, epochs=108, metric="validation_accuracy"):
        return [self.cells[h] for h in self.hashes]

    def best_mean(self, epochs=108, metric="validation_accuracy"):
        return max(((h, self.mean_metric(h)) for h in self.hashes), key=lambda pair: pair[1])

    def max_repeats(self, epochs=108):
        return 3

    def mean_metric(self, module_hash, epochs=108, metric="validation_accuracy"):
        return float(self.repeats[module_hash].mean())

    def query(self, spec, epochs=108, stop_halfway=False, *, rng=None):
        self.queries += 1
        r = int((rng or np.random.default_rng()).integers(3))
        return {"validation_accuracy": float(self.repeats[spec.hash][r]), "training_time": 100.0 + r,
                "trainable_parameters": 1000, "test_accuracy": None}


def test_the_repeat_depends_on_the_cell_and_seed_only():
    table = FakeNB101()
    ev = TableEvaluator(table, seed=7)
    cells = [table.spec_of(h) for h in table.hashes]
    first = [ev.evaluate(c).accuracy for c in cells]
    again = [ev.evaluate(c).accuracy for c in reversed(cells)][::-1]
    assert first == again                                   # order does not matter
    other = [TableEvaluator(table, seed=8).evaluate(c).accuracy for c in cells]
    assert first != other                                   # the seed does
    r = ev.evaluate(cells[0])
    assert isinstance(r, Result) and r.seconds >= 100 and r.info["trainable_parameters"] == 1000
    assert "test_accuracy" not in r.info                    # a field the data lacks is left out
    assert isinstance(ev, Evaluator) and ev.candidates() == cells
    h, acc = ev.optimum()                                   # with 3 repeats: the best mean over them
    means = [float(table.repeats[c.hash].mean()) for c in cells]
    assert acc == max(means) and h == cells[int(np.argmax(means))].hash and ev.reference_value(h) == acc
    assert cell_key("abc") == cell_key("abc") != cell_key("abd") and cell_key("abc") >= 0


def test_registry_builds_every_space_and_refuses_unknown_ones():
    assert {"nasbench101", "nasbench201"} <= set(SPACE_BUILDERS)
    space, ev = build_space_and_evaluator(SearchConfig(space="nasbench201", dataset="cifar100"))
    assert space.name == "nasbench201" and len(ev.candidates()) == 15625
    cell = ev.candidates()[123]
    assert ev.evaluate(cell) == ev.evaluate(cell)
    with pytest.raises(ConfigError):
        SearchConfig(space="nasbench301")


def test_nasbench201_reward_is_one_seed_s_validation_accuracy_and_its_training_time():
    """The reward and seconds of a NAS-Bench-201 evaluation are the drawn seed's validation accuracy and
    training time (not its test accuracy or latency), the same draw for the same cell and seed."""
    from workers.evaluators import NASBench201TableEvaluator

    class Fake:
        def query(self, cell, *, rng):
            t = int(rng.integers(3))
            return {"validation_accuracy": 0.5 + t / 10, "test_accuracy": 0.1, "training_time": 1000.0 + t,
                    "trial": t, "model_size": 1.5, "latency": 0.02}

    class Cell:
        arch = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"

    result = NASBench201TableEvaluator(Fake(), seed=4).evaluate(Cell())
    trial = result.info["trial"]
    assert trial == int(np.random.default_rng([4, cell_key(Cell.arch)]).integers(3))
    assert (result.accuracy, result.seconds) == (0.5 + trial / 10, 1000.0 + trial)
    assert result.info == {"training_time": 1000.0 + trial, "trial": trial, "model_size": 1.5, "latency": 0.02}


def test_tables_are_loaded_once_per_data_set_and_eval_seed(nb101_dir):
    """Found missing by a mutation audit: a process's table cache keyed without the data set or the eval
    seed hands a second run (alphax compare's workers, library use) another run's table."""
    one = lambda **kw: build_space_and_evaluator(SearchConfig(**kw))[1]
    a, b, c = one(dataset="cifar10"), one(dataset="cifar100"), one(dataset="cifar10", eval_seed=1)
    assert one(dataset="cifar10") is a and len({id(a), id(b), id(c)}) == 3
    assert a.optimum() != b.optimum()
    data = str(nb101_dir / "nb101_real_subset.jsonl.gz")
    d, e = one(space="nasbench101", data=data), one(space="nasbench101", data=data, eval_seed=1)
    assert one(space="nasbench101", data=data) is d and d is not e and e.seed == 1
    # the table and its cells held once per process, not once per eval seed (a 20-seed comparison on the
    # full NASBench-101 file held twenty copies in each worker)
    assert e.table is d.table and e.candidates() is d.candidates() and e.optimum() == d.optimum()


def test_a_reseeded_table_evaluator_draws_as_one_made_with_that_seed():
    table = FakeNB101()
    cells = [table.spec_of(h) for h in table.hashes]
    ev = TableEvaluator(table, seed=7)
    other = ev.reseeded(8)
    assert other.seed == 8 and other.table is table and other.candidates() is ev.candidates()
    assert [other.evaluate(c).accuracy for c in cells] == [TableEvaluator(table, seed=8).evaluate(c).accuracy
                                                            for c in cells]
    assert other.values_digest() == TableEvaluator(table, seed=8).values_digest() != ev.values_digest()
    assert other.optimum() == ev.optimum()
    assert TableEvaluator(table, seed=7, epochs=12).reseeded(8).epochs == 12     # its budget's table


def test_an_evaluation_error_is_recorded_as_its_first_line_with_the_whole_traceback_in_info():
    """torch's errors carry a C++ backtrace after their first line (40 frames for a size it cannot
    unpack): a failed result's ``error``, inline and from an MPI client, is the first line, the rest stays
    in ``info``'s traceback (found by a bug hunt, 2026-12-07: the frames went into results.jsonl's error)."""
    from alphax.run import _evaluate as inline
    from workers.client import _evaluate as on_client
    from workers.protocol import Job

    class Raising:
        def evaluate(self, cell):
            raise RuntimeError("Storage size calculation overflowed\nException raised from foo at bar.cpp:1\n"
                               "frame #0: c10::Error::Error")

    result = inline(Raising(), "cell")
    assert result.failed and result.error == "RuntimeError: Storage size calculation overflowed"
    assert "frame #0: c10::Error::Error" in result.info["traceback"]
    space = type("Space", (), {"from_json": staticmethod(lambda cell: cell)})
    reply = on_client(Raising(), space, Job(id=1, cell={}), rank=1, host="h", worker="rank1@h", received=0.0)
    assert reply.error.message == "Storage size calculation overflowed" and reply.error.type == "RuntimeError"
    assert "frame #0: c10::Error::Error" in reply.error.traceback
