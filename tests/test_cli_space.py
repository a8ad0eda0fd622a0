"""`alphax space ...` from the command line, error paths included."""


def test_space_hash(run_cli):
    r = run_cli("space", "hash", "--matrix", "[[0,1],[0,0]]", "--ops", "input,output")
    assert r.returncode == 0 and r.stdout.strip() == "043721b9c7fe8c5fad811d47d83132ec"


def test_space_hash_of_the_optimum(run_cli, full_records):
    rec = next(r for r in full_records if r["global_optimum"])
    import json
    r = run_cli("space", "hash", "--matrix", json.dumps(rec["matrix"]), "--ops", ",".join(rec["ops"]))
    assert r.returncode == 0 and r.stdout.strip() == rec["hash"]


def _one_line_error(r, *needles):
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0]


def test_space_hash_errors(run_cli):
    _one_line_error(run_cli("space", "hash", "--matrix", "[[0,1],[0,0]", "--ops", "input,output"), "not valid JSON")
    _one_line_error(run_cli("space", "hash", "--matrix", "{}", "--ops", "input,output"), "list of lists")
    _one_line_error(run_cli("space", "hash", "--matrix", "[[0,true],[0,0]]", "--ops", "input,output"),
                    "integers 0 or 1")
    _one_line_error(run_cli("space", "hash", "--matrix", "[[0,0],[0,0]]", "--ops", "input,output"), "disconnected")
    for deep in ("[" * 5_000 + "]" * 5_000, "[" * 50_000 + "]" * 50_000, "[[[0,1]],[[0,0]]]"):
        # json gives up thousands deep on Python 3.11 but parses 5,000 on 3.13: one message either way
        _one_line_error(run_cli("space", "hash", "--matrix", deep, "--ops", "input,output"), "nested too deep")
    _one_line_error(run_cli("space", "hash", "--matrix", "[[0,1,0],[0,0,1],[0,0,0]]", "--ops",
                            "input,conv5x5,output"), "unknown op")
    r = run_cli("space", "hash", "--ops", "input,output")
    _one_line_error(r, "--matrix")
    assert r.returncode == 2
    _one_line_error(run_cli("space", "frobnicate"), "invalid choice")


def test_space_count(run_cli, enumeration_cache):
    _, cache = enumeration_cache
    r = run_cli("space", "count", "--cache", cache)
    assert r.returncode == 0 and r.stdout.strip() == "423624"


def test_space_params_is_nasbench_trainable_parameters(run_cli, full_records):
    """The command on the global optimum; the other full records through the function it prints (each
    command pays torch's import and a build, about 7 s: four of them made this the fourth slowest CI test)."""
    import json

    from alphax.spec import CellSpec
    from workers.network import trainable_parameters

    rec = next(r for r in full_records if r["global_optimum"])
    r = run_cli("space", "params", "--matrix", json.dumps(rec["matrix"]), "--ops", ",".join(rec["ops"]))
    assert r.returncode == 0, r.stderr
    assert int(r.stdout) == rec["trainable_parameters"]
    assert len(full_records) == 4
    assert [trainable_parameters(CellSpec(r["matrix"], r["ops"])) for r in full_records] == \
        [r["trainable_parameters"] for r in full_records]
    small = run_cli("space", "params", "--matrix", json.dumps(rec["matrix"]), "--ops", ",".join(rec["ops"]),
                    "--stem-channels", "16", "--stacks", "1", "--modules-per-stack", "1")
    assert small.returncode == 0 and 0 < int(small.stdout) < rec["trainable_parameters"] // 50
    _one_line_error(run_cli("space", "params", "--matrix", "[[0,0],[0,0]]", "--ops", "input,output"), "disconnected")
    _one_line_error(run_cli("space", "params", "--matrix", "[[0,1],[0,0]]", "--ops", "input,output",
                            "--stacks", "0"), "--stacks must be a positive integer")
    _one_line_error(run_cli("space", "params", "--matrix", "[[0,1,0],[0,0,1],[0,0,0]]",
                            "--ops", "input,conv3x3-bn-relu,output", "--stacks", "100"), "too large for torch to build")
    _one_line_error(run_cli("space", "params", "--matrix", "[[0,1,1,0],[0,0,0,1],[0,0,0,1],[0,0,0,0]]",
                            "--ops", "input,conv3x3-bn-relu,conv1x1-bn-relu,output", "--stem-channels", "1"),
                    "--stem-channels 1 is too few for this cell: its output concatenates 2 vertices")
    # found by a bug hunt (2026-12-07): a traceback, or a hang building 2^(10^19) or 10^19 of something
    chain = ("--matrix", "[[0,1,0],[0,0,1],[0,0,0]]", "--ops", "input,conv3x3-bn-relu,output")
    big = "10000000000000000000"
    _one_line_error(run_cli("space", "params", *chain, "--stacks", 20000, timeout=60), "give at most 62 stacks")
    _one_line_error(run_cli("space", "params", *chain, "--stacks", big, timeout=60), "give at most 62 stacks")
    _one_line_error(run_cli("space", "params", *chain, "--modules-per-stack", big, timeout=60),
                    "this command builds at most 1,000")
    _one_line_error(run_cli("space", "params", *chain, "--num-labels", big, "--stem-channels", big, timeout=120),
                    "too large for torch to build", "give fewer stacks, stem channels or labels")


def test_a_reader_that_goes_away_is_not_an_error():
    """`alphax ... | head`: the closed pipe ends the command quietly (128 + SIGPIPE, as a shell reports a
    process the pipe stopped), not with "error: Broken pipe; check the path and its permissions"."""
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "alphax.cli", "space", "hash", "--matrix", "[[0,1],[0,0]]",
                             "--ops", "input,output"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()                  # the reader is gone before the command writes
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 128 + signal.SIGPIPE and err == "", err


def test_the_command_keeps_its_exit_status_against_a_signal_in_its_shutdown(tmp_path):
    """Once ``alphax`` has decided its exit status and flushed its output, SIGINT or SIGTERM during the
    interpreter's shutdown (where Python resets its handlers to the default action) no longer kills it
    silently (exit -2 after a printed summary); a signal while the command loads gives 130 / 143."""
    import subprocess
    import sys

    script = tmp_path / "late_signal.py"
    script.write_text(
        "import os, signal, sys\n"
        "from alphax.cli import console_main\n"
        "code = console_main(sys.argv[1:])\n"
        "os.kill(os.getpid(), signal.SIGINT)\n"          # as if they came during the shutdown that follows
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "print('status', code)\n"
        "sys.exit(code)\n")
    run = lambda *args: subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                                       timeout=120)
    proc = run("space", "hash", "--matrix", "[[0,1],[0,0]]", "--ops", "input,output")
    assert proc.returncode == 0 and proc.stdout.split() == ["043721b9c7fe8c5fad811d47d83132ec", "status", "0"]
    proc = run("space", "hash", "--matrix", "[[0,1],[0,0]]", "--ops", "input,magic")
    assert proc.returncode == 1 and proc.stdout.split() == ["status", "1"], proc.stderr
    early = tmp_path / "early_signal.py"                 # a signal while the parser and its modules load
    early.write_text(
        "import os, signal, sys\n"
        "import alphax.cli\n"
        "def build():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n"
        "alphax.cli.build_parser = build\n"
        "sys.exit(alphax.cli.console_main(['space', 'count']))\n")
    proc = subprocess.run([sys.executable, str(early)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 143 and proc.stderr.strip() == "alphax: interrupted by SIGTERM", proc.stderr
