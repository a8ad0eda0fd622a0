"""Out of the box: `alphax search` with no space options runs AlphaX on NAS-Bench-201 CIFAR-10 into runs/,
and `alphax compare` / `alphax report` work on NAS-Bench-201."""

import json
import os

import pytest

from alphax.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def _png(path):
    with open(path, "rb") as f:
        assert f.read(8) == PNG, path
    assert os.path.getsize(path) > 5000, path


@pytest.mark.parametrize("budget, found", [(25, True), (12, False)])     # seed 0 samples the optimum 22nd
def test_default_search_then_report(tmp_path, monkeypatch, capsys, budget, found):
    monkeypatch.chdir(tmp_path)
    assert main(["search", "--budget", str(budget), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "best:" in out and "optimum of the data set: 0.916067 (mean over training seeds; cell |nor_conv_3x3~0|+" in out
    (folder,) = (tmp_path / "runs").iterdir()
    config = json.loads((folder / "config.json").read_text())
    assert (config["space"], config["dataset"], config["algo"], config["budget"]) == \
        ("nasbench201", "cifar10", "alphax", budget)
    rows = [json.loads(line) for line in (folder / "results.jsonl").read_text().splitlines()]
    assert len(rows) == budget and len({r["hash"] for r in rows}) == budget
    # the regret printed is in means over training seeds (the optimum's measure), never negative
    from alphax.nasbench201 import load
    from alphax.spaces.nasbench201 import parse_arch_string

    data = load("cifar10")
    best_mean = max(data.mean(parse_arch_string(r["hash"])) for r in rows)
    hits = [r["n"] for r in rows if r["hash"] == data.optimum[0].arch]
    assert bool(hits) == found
    # the best cell printed is the one with the best mean, the optimum's measure, not the luckiest draw
    assert f"best: {best_mean:.6f} (mean over training seeds; this run observed " in out
    if found:
        assert f"found at n={hits[0]}" in out and "not sampled" not in out
    else:
        assert f"not sampled; best cell found {best_mean:.6f} (mean over training seeds), " \
               f"regret {data.optimum[1] - best_mean:.6f}" in out and data.optimum[1] - best_mean > 0
    assert all(len(r["ops"]) == 6 and len(r["matrix"]) == 4 for r in rows)
    assert main(["report", str(folder)]) == 0
    for name in ("best_so_far.png", "best_cell.png"):
        _png(folder / name)
    assert "best cell:" in (folder / "report.txt").read_text()


def test_compare_on_nasbench201_then_report(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--space", "nasbench201", "--dataset", "cifar100", "--algos", "random,evolution",
                 "--seeds", "2", "--budget", "15", "--jobs", "1", "--out", str(out), "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["space"] == "nasbench201" and summary["optimum"]["accuracy"] > 0.73
    assert main(["report", str(out)]) == 0
    _png(out / "best_so_far.png")
    _png(out / "best_cell.png")
    text = (out / "report.txt").read_text()
    assert "4 run folders" in text and "not available" in text
    printed = capsys.readouterr().out
    assert "random" in printed
    assert f"optimum: {summary['optimum']['accuracy']:.6f} (mean over training seeds; cell |" in printed


def test_compare_without_out_has_a_folder_per_data_set(tmp_path, monkeypatch, capsys):
    """No --out: runs/compare-nasbench201-DATASET, so a comparison on CIFAR-100 after one on CIFAR-10 is
    not refused as the same folder with other options, and the same command continues its own."""
    monkeypatch.chdir(tmp_path)
    args = ["compare", "--space", "nasbench201", "--algos", "random", "--seeds", "1", "--budget", "5", "--jobs", "1",
            "--no-progress"]
    for dataset in ("cifar10", "cifar100", "cifar10"):
        assert main([*args, "--dataset", dataset]) == 0, capsys.readouterr().err
        printed = capsys.readouterr().out
        assert f"compare folder: runs/compare-nasbench201-{dataset} " in printed
        assert printed.endswith(f"\nplots and tests: alphax report runs/compare-nasbench201-{dataset}\n")
    for dataset in ("cifar10", "cifar100"):
        options = json.loads((tmp_path / "runs" / f"compare-nasbench201-{dataset}" / "compare.json").read_text())
        assert options["dataset"] == dataset
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["compare-nasbench201-cifar10",
                                                                     "compare-nasbench201-cifar100"]


def test_nasbench101_data_given_without_its_space_is_named_as_such(tmp_path, monkeypatch, capsys, nb101_dir):
    """NAS-Bench-201 is the default space: a NASBench-101 table (the file, or its folder) given to it says
    so and how to search it, before anything is written; a file of neither space gets no such hint."""
    monkeypatch.chdir(tmp_path)
    for data, where in ((nb101_dir / "nb101_real_subset.jsonl.gz", "the file is"), (nb101_dir, "that folder holds")):
        for command in ("search", "compare"):
            assert main([command, "--data", str(data), "--budget", "5", "--no-progress"]) == 1
            err = capsys.readouterr().err.strip()
            assert err.startswith("alphax: error: ") and len(err.splitlines()) == 1, err
            assert err.endswith(f"; {where} NASBench-101 data (jsonl): to search that space, add --space nasbench101")
    (tmp_path / "notes.txt").write_text("not a table\n")
    assert main(["search", "--data", "notes.txt", "--budget", "5", "--no-progress"]) == 1
    assert "--space nasbench101" not in capsys.readouterr().err
    assert main(["search", "--data", "missing.pkl", "--budget", "5", "--no-progress"]) == 1
    assert "--space nasbench101" not in capsys.readouterr().err     # tmp_path holds no table; not the default's
    assert os.listdir(tmp_path) == ["notes.txt"]
