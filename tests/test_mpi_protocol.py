"""The farm's messages: one module of frozen dataclasses and IntEnum tags (no mpiexec needed)."""

from __future__ import annotations

import dataclasses
import pickle
import re

import pytest

from alphax.errors import ConfigError
from alphax.searchers.base import Result
from workers.client import SimulatedTime
from workers.protocol import (TAG_OF, Accepted, CannotStart, ClientError, Heartbeat, Job, KeepAlive, Leaving, Ready,
                              Reply, Stop, Stopped, Tag)


def test_tags_are_distinct_valid_mpi_tags():
    assert len({int(t) for t in Tag}) == len(Tag) and all(int(t) >= 0 for t in Tag)
    assert set(TAG_OF.values()) == set(Tag)


def test_messages_are_frozen_and_pickle():
    err = ClientError(rank=2, host="h", type="ValueError", message="bad", traceback="tb")
    msgs = [Ready(rank=1, host="h", evaluator="table", pid=7), Job(id=3, cell={"matrix": [[0, 1], [0, 0]],
            "ops": ["input", "output"]}), Reply(job_id=3, rank=1, host="h", busy=0.5, result=Result(0.9)),
            Reply(job_id=4, rank=2, host="h", busy=0.1, error=err), Stop()]
    for m in msgs:
        assert pickle.loads(pickle.dumps(m)) == m
        with pytest.raises(dataclasses.FrozenInstanceError):
            m.__setattr__(dataclasses.fields(m)[0].name, None)
    assert err.describe() == "ValueError: bad (client rank 2 on h)"


def test_reply_carries_exactly_one_of_result_and_error():
    with pytest.raises(ValueError):
        Reply(job_id=1, rank=1, host="h", busy=0.0)
    with pytest.raises(ValueError):
        Reply(job_id=1, rank=1, host="h", busy=0.0, result=Result(0.5),
              error=ClientError(1, "h", "E", "m", "t"))


def test_simulated_time_sleeps_the_recorded_training_time():
    class Table:
        def evaluate(self, cell):
            return Result(0.9, seconds=1000.0, info={"training_time": 1000.0})

    result = SimulatedTime(Table(), 1e-5).evaluate(None)
    assert result.accuracy == 0.9 and result.seconds == pytest.approx(0.01)
    with pytest.raises(ValueError):
        SimulatedTime(Table(), -1)


def test_a_refused_client_is_told_the_differences_by_the_flags_that_set_them():

    from workers.server import FarmError, _Farm

    farm = object.__new__(_Farm)              # only the check, no MPI
    run = {"space": "nasbench101", "evaluator": "train", "train": {"seed": 0, "epochs": 108}}
    farm.signature = run                      # as loop() takes it from the run before its clock starts
    client = {**run, "train": {"seed": 1, "epochs": 108}}
    with pytest.raises(FarmError, match=r"does not evaluate as the run does: train.seed \(--train-seed\): run 0, client 1\. Give run_client.py the same"):
        farm._check_signature(1, Ready(rank=1, host="h", evaluator="train", pid=7, signature=client))
    farm._check_signature(1, Ready(rank=1, host="h", evaluator="train", pid=7, signature=dict(run)))   # the same


def test_a_table_client_with_another_eval_seed_is_told_that_and_not_that_the_data_differs():
    """The table's values digest follows the eval seed (and the data set, and the cells): the seed is named
    alone; only the same cells, seed and data set with other values are blamed on the data file."""
    from workers.server import FarmError, _Farm

    farm = object.__new__(_Farm)
    run = {"space": "nasbench201", "evaluator": "table", "dataset": "cifar10", "eval_seed": 0, "table": "15625:ab",
           "table_values": "v0"}
    farm.signature = run
    ready = lambda sig: Ready(rank=1, host="h", evaluator="table", pid=7, signature=sig)
    with pytest.raises(FarmError) as exc:
        farm._check_signature(1, ready({**run, "eval_seed": 1, "table_values": "v1"}))
    assert "eval_seed: run 0, client 1. Give" in str(exc.value)
    assert "table's results" not in str(exc.value)
    with pytest.raises(FarmError, match=r"does not evaluate as the run does: table's results: the same cells with "
                                         r"other values \(another file or version of the data\)\. Give"):
        farm._check_signature(1, ready({**run, "table_values": "v1"}))
    farm._check_signature(1, ready(dict(run)))


def test_training_clients_must_train_on_the_same_cifar_images_the_first_one_ready_sets_them():
    """Each training client sends the digest of the images it trains on: with no result logged yet the
    first client's are the run's, and a client with other images (another copy, a partial one) is refused,
    naming where the run's came from; a run with results has its own from them."""
    from workers.server import FarmError, _Farm

    farm = object.__new__(_Farm)
    run = {"space": "nasbench101", "evaluator": "train", "train": {"seed": 0}, "cifar_data": None}
    farm.signature, farm.cifar_from = dict(run), "that of its results"
    ready = lambda sig: Ready(rank=1, host="h", evaluator="train", pid=7, signature=sig)
    farm._check_signature(1, ready({**run, "cifar_data": "200+100+100:aa"}))
    farm._check_signature(2, ready({**run, "cifar_data": "200+100+100:aa"}))
    with pytest.raises(FarmError, match=r"cifar_data: run '200\+100\+100:aa' \(client 1's, the first ready\), "
                                        r"client '9880\+120\+100:bb': other CIFAR-10 images \(give every client a "
                                        r"copy of the same files\)"):
        farm._check_signature(3, ready({**run, "cifar_data": "9880+120+100:bb"}))
    farm.signature, farm.cifar_from = {**run, "cifar_data": "200+100+100:aa"}, "that of its results"
    with pytest.raises(FarmError, match=r"run '200\+100\+100:aa' \(that of its results\)"):
        farm._check_signature(1, ready({**run, "cifar_data": "9880+120+100:bb"}))


def test_a_client_of_another_evaluator_is_told_that_alone():
    """A table client in a training farm: the evaluator is named, not every key the two kinds of
    signature do not share (eval_seed, the train options, a table fingerprint)."""
    from workers.server import FarmError, _Farm

    farm = object.__new__(_Farm)
    farm.signature = {"space": "nasbench101", "evaluator": "train", "train": {"seed": 0}, "cifar_data": None}
    farm.cifar_from = "that of its results"
    table = {"space": "nasbench101", "evaluator": "table", "dataset": None, "eval_seed": 0, "table": "20001:ab",
             "table_values": "v0"}
    with pytest.raises(FarmError, match=r"does not evaluate as the run does: evaluator: run 'train', client "
                                        r"'table'\. Give"):
        farm._check_signature(1, Ready(rank=1, host="h", evaluator="table", pid=7, signature=table))


@pytest.mark.parametrize("args, message", [
    (["--evaluator", "table", "--epochs", "4"], "training options need --evaluator train"),
    (["--evaluator", "table", "--device", "cpu"], "training options need --evaluator train"),
    (["--evaluator", "train", "--cifar", ".", "--dataset", "cifar100"],
     "--dataset is for --evaluator table; a training client trains on --cifar DIR"),
    (["--evaluator", "train", "--cifar", ".", "--eval-seed", "0", "--simulate-time", "2"],
     "--eval-seed, --simulate-time are for --evaluator table; a training client trains on --cifar DIR with the "
     "training options: leave them out"),
])
def test_a_client_refuses_the_options_of_the_other_evaluator(args, message):
    """run_client.py took them and dropped them (a table client with --epochs 4; a training client with
    another --dataset), or applied them where they mean nothing (--simulate-time slept a multiple of a
    real training's time): refused, as alphax search refuses them, before anything is built."""
    import run_client

    with pytest.raises(ConfigError, match=re.escape(message)):
        run_client.make_space_and_evaluator(run_client.build_parser().parse_args(args))


@pytest.mark.parametrize("scale", ["1e308", "1001"])
def test_a_simulate_time_whose_sleep_would_overflow_is_refused(scale, capsys):
    """Found by a bug hunt (2026-12-07): --simulate-time 1e308 was taken, and every job failed with
    "OverflowError: timestamp out of range for platform time_t", each cell a failed result for good."""
    import run_client
    from workers.client import SimulatedTime

    with pytest.raises(SystemExit) as stop:
        run_client.build_parser().parse_args(["--evaluator", "table", "--simulate-time", scale])
    assert stop.value.code == 2
    assert (f"argument --simulate-time: expected a number of at most 1000 (1 sleeps a cell's whole recorded "
            f"training time), got '{scale}'") in capsys.readouterr().err
    parsed = run_client.build_parser().parse_args(["--evaluator", "table", "--simulate-time", "1000"])
    assert parsed.simulate_time == 1000
    with pytest.raises(ValueError, match=r"--simulate-time must be in 0..1000, got 1e\+308"):
        SimulatedTime(None, 1e308)


# -- found missing by a mutation audit of alphax.registry: each fails on one plausible bug --
def test_the_signature_holds_what_a_result_depends_on_and_not_where_the_data_is_or_which_device():
    """What the server compares with each client's: a table's data set and eval seed; every training option
    but --cifar and --device, the validation size included; a client's CIFAR-10 digest."""
    from types import SimpleNamespace

    from alphax.config import SearchConfig
    from alphax.registry import evaluator_signature

    assert evaluator_signature(SearchConfig(dataset="cifar100", eval_seed=3)) == {
        "space": "nasbench201", "evaluator": "table", "dataset": "cifar100", "eval_seed": 3, "table": None,
        "table_values": None}
    train = lambda **opts: evaluator_signature(SearchConfig(space="nasbench101", evaluator="train", train=opts))
    base = train()
    assert base["train"]["validation_size"] == 10_000 and base["train"]["seed"] == 0
    assert train(cifar="/data/c", device="cuda:1") == base
    for key, value in (("seed", 1), ("validation_size", 500), ("epochs", 4)):
        assert train(**{key: value})["train"][key] == value, key
    client = evaluator_signature(SearchConfig(space="nasbench101", evaluator="train"),
                                 SimpleNamespace(data=SimpleNamespace(digest="200+100+100:aa")))
    assert client == {**base, "cifar_data": "200+100+100:aa"}


def test_the_server_checks_training_options_without_cifar_and_searcher_options_without_data():
    """run_server.py: its clients hold CIFAR-10 (check(local=False) needs no --cifar), and a bad --option
    value is a ConfigError before it waits for them, not a traceback."""
    from alphax.config import SearchConfig
    from alphax.registry import build, check_searcher_options

    _, factory = build(SearchConfig(space="nasbench101", evaluator="train", train={"epochs": 2}))
    cifar, train_config, _ = factory.check(local=False)
    assert cifar is None and train_config.epochs == 2
    with pytest.raises(ConfigError, match="--evaluator train needs --cifar DIR"):
        factory.check(local=True)
    with pytest.raises(ConfigError, match="bad option for --algo alphax: option mutate_every must be an integer >= 0"):
        check_searcher_options(SearchConfig(searcher_options={"mutate_every": -1}))
    with pytest.raises(ConfigError, match="bad option for --algo random: unknown option 'bogus'"):
        check_searcher_options(SearchConfig(algo="random", searcher_options={"bogus": 1}))


# -- found missing by a mutation audit of the message layer and run_client.py: each fails on one plausible bug --
def test_no_tag_is_an_alias_of_another():
    """IntEnum makes a repeated value an alias, which iterating over Tag hides: STOPPED = 9 beside
    KEEPALIVE = 9 passed the check above while the server took a client's Stopped for a KeepAlive."""
    values = [int(t) for t in Tag.__members__.values()]
    assert len(set(values)) == len(values) == len(Tag.__members__)
    assert all(TAG_OF[kind] is Tag[name] for kind, name in (
        (Ready, "READY"), (Accepted, "ACCEPTED"), (Job, "JOB"), (Reply, "REPLY"), (Stop, "STOP"), (Stopped, "STOPPED"),
        (Heartbeat, "HEARTBEAT"), (CannotStart, "CANNOT_START"), (Leaving, "LEAVING"), (KeepAlive, "KEEPALIVE")))


def test_every_message_is_frozen():
    for kind in TAG_OF:
        assert kind.__dataclass_params__.frozen, kind.__name__


def test_a_launcher_that_started_as_many_processes_as_mpi_sees_is_no_mismatch(monkeypatch):
    """A launch with no clients (``mpiexec -n 1 python run_server.py``) is told 'no clients', not that its
    mpiexec is another MPI's: PMI_SIZE=1 for a world of 1 agrees."""
    from types import SimpleNamespace

    from workers.protocol import launcher_mismatch

    world = SimpleNamespace(Get_size=lambda: 1)
    monkeypatch.delenv("OMPI_COMM_WORLD_SIZE", raising=False)
    monkeypatch.setenv("PMI_SIZE", "1")
    assert launcher_mismatch(world) is None
    monkeypatch.setenv("PMI_SIZE", "3")
    assert "mpiexec started 3 processes (PMI_SIZE=3) but MPI sees 1" in launcher_mismatch(world)


@pytest.mark.parametrize("args, error", [
    ([], "the following arguments are required: --evaluator"),
    (["--evaluator", "table", "--startup-timeout", "-1"], "argument --startup-timeout: expected a number >= 0, got"),
    (["--evaluator", "table", "--server-timeout", "-5"], "argument --server-timeout: expected a number >= 0, got"),
])
def test_run_client_refuses_a_missing_evaluator_and_negative_timeouts(args, error, capsys):
    import run_client

    with pytest.raises(SystemExit) as exc:
        run_client.build_parser().parse_args(args)
    assert exc.value.code == 2 and error in capsys.readouterr().err


def test_run_client_waits_for_the_server_as_long_as_the_readme_says_by_default():
    """README: --startup-timeout defaults to 600 s and --server-timeout to 120 s (a keep-alive asked every 30 s)."""
    import run_client
    from workers.protocol import KEEPALIVES_PER_TIMEOUT, SERVER_TIMEOUT

    args = run_client.build_parser().parse_args(["--evaluator", "table"])
    assert (args.startup_timeout, args.server_timeout) == (600.0, 120.0) == (600.0, SERVER_TIMEOUT)
    assert SERVER_TIMEOUT / KEEPALIVES_PER_TIMEOUT == 30.0


@pytest.mark.parametrize("args, message", [
    (["--evaluator", "train", "--cifar", ".", "--eval-seed", "0"], "--eval-seed is for --evaluator table"),
    (["--evaluator", "table", "--cifar", "."], "training options need --evaluator train"),
    (["--evaluator", "train", "--space", "nasbench201", "--cifar", "."],
     "--space nasbench201 is a table: --evaluator train is for nasbench101"),
])
def test_a_client_refuses_what_alphax_search_refuses(args, message):
    """A training client with --eval-seed alone, a table client with --cifar (dropped: it would not train),
    a training client on NAS-Bench-201 (it would train NASBench-101 cells): refused, not taken and dropped."""
    import run_client

    with pytest.raises(ConfigError, match=re.escape(message)):
        run_client.make_space_and_evaluator(run_client.build_parser().parse_args(args))


def test_a_table_client_signs_with_its_eval_seed_and_its_tables_fingerprint_and_simulates_time():
    """The signature the server compares: the client's --eval-seed and its table's cells and values (not
    only its options); --simulate-time wraps the table."""
    import run_client
    from workers.client import SimulatedTime

    parse = run_client.build_parser().parse_args
    _, evaluator, sig = run_client.make_space_and_evaluator(parse(["--evaluator", "table", "--eval-seed", "2"]))
    assert sig["eval_seed"] == 2 and sig["table"].startswith("15625:") and sig["table_values"]
    assert not isinstance(evaluator, SimulatedTime)
    _, other, sig0 = run_client.make_space_and_evaluator(parse(["--evaluator", "table", "--simulate-time", "0.5"]))
    assert sig0["eval_seed"] == 0 and sig0["table_values"] != sig["table_values"]
    assert isinstance(other, SimulatedTime) and other.scale == 0.5


@pytest.mark.parametrize("finalize", [True, False])
def test_run_client_exits_without_finalize_when_its_stop_says_so(monkeypatch, finalize):
    """After a run that lost a client, MPI_Finalize would wait for it for ever: the client exits without it."""
    from types import SimpleNamespace

    from mpi4py import MPI

    import run_client
    import workers.client as client

    exits = []
    monkeypatch.setattr(MPI, "COMM_WORLD", SimpleNamespace(Get_rank=lambda: 1))
    monkeypatch.setattr(run_client, "make_space_and_evaluator",
                        lambda args: (None, SimpleNamespace(describe=lambda: "table", device_id=lambda: None), {}))
    monkeypatch.setattr(client, "serve", lambda *a, **kw: client.ClientStats(0, 0, 0.0, 0.0, finalize=finalize))
    monkeypatch.setattr(run_client, "exit_without_finalize", exits.append)
    assert run_client._start_and_serve(run_client.build_parser().parse_args(["--evaluator", "table"])) == 0
    assert exits == ([] if finalize else [0])


# -- found missing by a mutation audit of run_server.py's _parse_args and _end_job (no mpiexec needed) --
class _World:
    """``MPI.COMM_WORLD`` as run_server.py's ending sees it: its size and this process's rank."""

    def __init__(self, size, rank=0):
        self.size, self.rank = size, rank

    def Get_size(self):
        return self.size

    def Get_rank(self):
        return self.rank


@pytest.fixture
def aborts(monkeypatch):
    """run_server with ``abort_job`` and ``stop_clients`` recorded instead of done: ``(run_server, calls)``."""
    import run_server
    import workers.server

    calls = []
    monkeypatch.setattr(run_server, "abort_job", lambda comm, code: calls.append(("abort", code)))
    monkeypatch.setattr(workers.server, "stop_clients", lambda comm, reason, **kw: calls.append(("stop", reason)))
    return run_server, calls


@pytest.mark.parametrize("size, rank, expected", [
    (1, 0, []),                                                                   # no clients: nothing to end
    (3, 0, [("stop", "the server could not start"), ("abort", 2)]),
    (3, 1, [("abort", 2)]),                                     # only rank 0 speaks to the clients
])
def test_a_rejected_server_option_stops_the_clients_and_ends_the_job_under_mpiexec(aborts, monkeypatch, size, rank,
                                                                                    expected, capsys):
    from mpi4py import MPI

    run_server, calls = aborts
    monkeypatch.setattr(MPI, "COMM_WORLD", _World(size, rank))
    with pytest.raises(SystemExit) as exc:
        run_server._parse_args(["--bogus"])
    assert exc.value.code == 2 and calls == expected
    assert "unrecognized arguments: --bogus" in capsys.readouterr().err


def test_the_servers_help_ends_it_normally_without_touching_the_clients(aborts, monkeypatch, capsys):
    """--help exits 0: it is no failure to end the job with (nor is the job a farm's)."""
    from mpi4py import MPI

    run_server, calls = aborts
    monkeypatch.setattr(MPI, "COMM_WORLD", _World(3))
    with pytest.raises(SystemExit) as exc:
        run_server._parse_args(["--help"])
    assert exc.value.code == 0 and calls == []
    assert "usage:" in capsys.readouterr().out


@pytest.mark.parametrize("size, code, stats, aborted, returned", [
    (1, 1, None, [], 1),                              # a lone server: its exit code, no MPI_Abort
    (1, 143, None, [], 143),
    (3, 1, None, [1], None),                          # the job ends with the failure's code (MPI_Abort)
    (3, 130, None, [130], None),
    (2, 1, None, [1], None),                          # one client is a process to end too
    (3, 0, None, [], 0),                              # a success with every client stopped: a normal end
    (3, 0, "none", [], 0),
    (3, 0, "lost", [0], 0),                           # a lost client may still run: end the job, status 0
    (3, 0, "left", [0], 0),
    (3, 0, "abandoned", [0], 0),                      # a client on a copy of an answered job: likewise
])
def test_the_server_ends_the_job_with_its_code_and_only_when_a_process_would_be_left(aborts, size, code, stats,
                                                                                     aborted, returned):
    from workers.server import FarmStats

    run_server, calls = aborts
    farm = None if stats is None else FarmStats(clients=size - 1, lost=[2] if stats in ("lost", "left") else [],
                                                left=[2] if stats == "left" else [],
                                                abandoned=[1] if stats == "abandoned" else [])
    result = run_server._end_job(_World(size), code, farm)
    assert result == returned or returned is None          # past a real MPI_Abort nothing returns
    assert calls == [("abort", c) for c in aborted]
