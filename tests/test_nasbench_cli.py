"""`alphax nasbench info|query|convert` from the command line, every error path included."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from alphax.nasbench.tfrecord import write_official
from test_nasbench import SPECS, synthetic_cells  # tests/ is on sys.path (pytest prepend mode)

CHAIN = ("--matrix", "[[0,1,0],[0,0,1],[0,0,0]]", "--ops", "input,conv3x3-bn-relu,output")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    path = tmp_path_factory.mktemp("nb") / "synthetic_full.tfrecord"    # not the official name: no "cut short?" warning
    write_official(path, synthetic_cells())
    return path


def _env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "ALPHAX_NASBENCH101"}
    env.update(extra)
    return env


def _one_line_error(r, *needles, code=1):
    assert r.returncode == code, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    for n in needles:
        assert n in lines[0], lines[0]


def test_info(run_cli, data):
    r = run_cli("nasbench", "info", "--data", data)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["cells"] == 4 and info["epochs"] == [4, 12, 36, 108] and info["format"] == "tfrecord"
    assert "test_accuracy" in info["fields"] and "halfway_test_accuracy" in info["fields"]
    # No --data: the environment variable (paths.py) finds it in its folder, under its official name.
    official = data.parent / "official" / "nasbench_full.tfrecord"
    official.parent.mkdir(exist_ok=True)
    official.write_bytes(data.read_bytes())
    r = run_cli("nasbench", "info", env=_env(ALPHAX_NASBENCH101=str(official.parent)))
    assert r.returncode == 0 and json.loads(r.stdout)["path"] == str(official)


def test_query_seeded_and_halfway(run_cli, data):
    out = [run_cli("nasbench", "query", "--data", data, *CHAIN, "--epochs", "36", "--seed", "5") for _ in range(2)]
    assert out[0].returncode == 0 and out[0].stdout == out[1].stdout
    q = json.loads(out[0].stdout)
    assert q["module_adjacency"] == SPECS[1].matrix.tolist() and q["module_operations"] == SPECS[1].ops
    runs = {r["final_test_accuracy"] for r in synthetic_cells()[1][2][36]}
    assert q["test_accuracy"] in runs and q["trainable_parameters"] == 1001
    h = json.loads(run_cli("nasbench", "query", "--data", data, *CHAIN, "--epochs", "36", "--stop-halfway").stdout)
    assert h["training_time"] in {r["halfway_training_time"] for r in synthetic_cells()[1][2][36]}


def test_convert(run_cli, data, tmp_path):
    dst = tmp_path / "out.nb101"
    r = run_cli("nasbench", "convert", data, "-o", dst)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["cells"] == 4 and dst.exists() and r.stderr == ""
    r = run_cli("nasbench", "convert", data, "-o", tmp_path / "out.bin")    # written, with what a folder misses
    assert r.returncode == 0 and "does not end in .nb101: a folder given to --data finds a compact file only by" in r.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert dst.stat().st_mode & 0o777 == 0o666 & ~umask     # as a plain open() makes it, not mkstemp's 0600
    info = json.loads(run_cli("nasbench", "info", "--data", dst).stdout)
    assert info["format"] == "compact" and info["cells"] == 4 and info["epochs"] == [4, 12, 36, 108]
    a = run_cli("nasbench", "query", "--data", dst, *CHAIN, "--seed", "1").stdout
    assert a == run_cli("nasbench", "query", "--data", data, *CHAIN, "--seed", "1").stdout
    before = dst.read_bytes()
    _one_line_error(run_cli("nasbench", "convert", data, "-o", dst), "already exists", "--force")
    damaged = tmp_path / "damaged.tfrecord"            # said before SRC is read (the full file takes minutes)
    damaged.write_bytes(b"not a record")
    _one_line_error(run_cli("nasbench", "convert", damaged, "-o", dst), "already exists", "--force")
    assert dst.read_bytes() == before
    assert run_cli("nasbench", "convert", dst, "-o", dst, "--force").returncode == 0
    copy = tmp_path / "copy" / os.path.basename(data)          # another format is never replaced by its conversion
    copy.parent.mkdir()
    copy.write_bytes(open(data, "rb").read())
    _one_line_error(run_cli("nasbench", "convert", copy, "-o", copy, "--force"), "source itself", "another name")
    assert copy.read_bytes() == open(data, "rb").read()
    _one_line_error(run_cli("nasbench", "convert", "", "-o", tmp_path / "x.nb101"), "an empty path", code=2)
    assert not (tmp_path / "x.nb101").exists()
    _one_line_error(run_cli("nasbench", "convert", data, "-o", tmp_path, "--force"), "is a folder")
    _one_line_error(run_cli("nasbench", "convert", data, "-o", tmp_path), "is a folder")      # with or without --force
    _one_line_error(run_cli("nasbench", "convert", tmp_path / "nope.tfrecord", "-o", tmp_path / "y.nb101"),
                    "(given with convert's SRC) does not exist; give the file or its folder as convert's SRC")


def test_convert_never_replaces_a_fifo_or_a_dangling_link_and_a_trailing_slash_is_a_folder(run_cli, data, tmp_path):
    """Found by a bug hunt (2026-12-08): `-o FIFO --force` renamed a file over the FIFO (and over /dev/null,
    the same way); a link to nothing (a disk not mounted yet) was replaced without --force (exists() follows
    links); `-o newdir/` wrote a file named newdir."""
    fifo = tmp_path / "fifo.nb101"
    os.mkfifo(fifo)
    for force in (["--force"], []):
        _one_line_error(run_cli("nasbench", "convert", data, "-o", fifo, *force), "not a regular file", "another")
    assert fifo.is_fifo()
    link = tmp_path / "out.nb101"
    link.symlink_to(tmp_path / "not-mounted" / "out.nb101")
    _one_line_error(run_cli("nasbench", "convert", data, "-o", link), "already exists (a symbolic link)", "--force")
    assert link.is_symlink() and not link.exists()
    _one_line_error(run_cli("nasbench", "convert", data, "-o", f"{tmp_path / 'newdir'}/"), "ends in '/'", "file's name")
    assert not (tmp_path / "newdir").exists()
    assert run_cli("nasbench", "convert", data, "-o", link, "--force").returncode == 0     # the link is replaced
    assert link.is_file() and not link.is_symlink() and not (tmp_path / "not-mounted").exists()


def test_convert_stopped_by_sigterm_leaves_no_temp_file(data, tmp_path):
    """SIGTERM (a batch system's stop) while convert writes its output: exit 143, no temp file left
    beside the output and no output (its fsync is slowed down here to stop it mid-write)."""
    import signal
    import subprocess
    import sys

    script = ("import os, sys, time\n_fsync = os.fsync\n"
              "os.fsync = lambda fd: (sys.stderr.write('fsync\\n'), sys.stderr.flush(), time.sleep(30), _fsync(fd))\n"
              "from alphax.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    dst = tmp_path / "out" / "x.nb101"
    proc = subprocess.Popen([sys.executable, "-c", script, "nasbench", "convert", str(data), "-o", str(dst)],
                            stderr=subprocess.PIPE, text=True)
    assert proc.stderr.readline().strip() == "fsync"
    proc.send_signal(signal.SIGTERM)
    err = proc.communicate(timeout=60)[1]
    assert proc.returncode == 143 and "interrupted by SIGTERM" in err, err
    assert list(dst.parent.iterdir()) == []


def test_errors(run_cli, data, tmp_path):
    q = ("nasbench", "query", "--data", data)
    _one_line_error(run_cli(*q, "--matrix", "[[0,1],[0,0]", "--ops", "input,output"), "not valid JSON")
    _one_line_error(run_cli(*q, "--matrix", "[[0,1,0],[0,0,1],[0,0,0]]", "--ops", "input,conv5x5,output"),
                    "unknown op 'conv5x5'")
    _one_line_error(run_cli(*q, "--matrix", "[[0,0],[0,0]]", "--ops", "input,output"), "disconnected")
    _one_line_error(run_cli(*q, "--matrix", "[[0,1,0],[0,0,1],[0,0,0]]", "--ops", "input,conv1x1-bn-relu,output"),
                    "no data for cell")
    _one_line_error(run_cli(*q, *CHAIN, "--epochs", "200"), "invalid number of epochs 200", "[4, 12, 36, 108]")
    _one_line_error(run_cli(*q, *CHAIN, "--epochs", "many"), "--epochs", code=2)
    _one_line_error(run_cli(*q, *CHAIN, "--frobnicate"), "unrecognized arguments", code=2)
    _one_line_error(run_cli(*q, *CHAIN, "--seed", "-1"), "seed must be an integer >= 0")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _one_line_error(run_cli("nasbench", "convert", data, "-o", blocker / "x.nb101"), "cannot write",
                    "is a file, not a folder; give another -o")
    _one_line_error(run_cli("nasbench", "query", "--data", data, "--ops", "input,output"), "--matrix", code=2)
    missing = tmp_path / "missing.tfrecord"
    _one_line_error(run_cli("nasbench", "info", "--data", missing), str(missing), "does not exist", "--data")
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(os.urandom(256))
    _one_line_error(run_cli("nasbench", "info", "--data", wrong), "wrong.bin is not a NASBench-101 data file")
    _one_line_error(run_cli("nasbench", "info", "--data", "/dev/null"), "/dev/null (given with --data) is neither "
                    "a file nor a folder")
    empty = tmp_path / "empty.jsonl.gz"
    with gzip.open(empty, "wb"):
        pass
    for cmd in (("info", "--data", empty), ("convert", empty, "-o", tmp_path / "e.nb101")):
        _one_line_error(run_cli("nasbench", *cmd), "empty.jsonl.gz holds no NASBench-101 cells")
    assert not (tmp_path / "e.nb101").exists()
    truncated = tmp_path / "nasbench_only108.tfrecord"
    truncated.write_bytes(data.read_bytes()[:-7])
    _one_line_error(run_cli("nasbench", "info", "--data", truncated), "truncated", "offset")
    _one_line_error(run_cli("nasbench", "convert", missing, "-o", tmp_path / "x.nb101"), "does not exist")
    _one_line_error(run_cli("nasbench", "info", env=_env(ALPHAX_NASBENCH101=str(missing))),
                    "ALPHAX_NASBENCH101", "does not exist")
