"""Tests of the command line: outputs, exit codes, one-line errors."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from pebble_sched.cli import main

from .helpers import DATA_DIR, sigint_by_default


@pytest.fixture
def runner():
    return CliRunner()


def test_solve_and_verify(runner, tmp_path):
    """Tests solve --output then verify on a data file."""
    out = tmp_path / "s.json"
    graph = str(DATA_DIR / "fork.json")
    r = runner.invoke(main, ["solve", graph, "--output", str(out)])
    assert r.exit_code == 0, r.output
    assert "optimal" in r.stderr
    data = json.loads(out.read_text())
    assert data["peak"] == 5 and data["status"] == "optimal"
    assert data["instance"] == "fork" and data["version"]
    r = runner.invoke(main, ["verify", graph, str(out)])
    assert r.exit_code == 0 and "valid: peak 5" in r.stdout


def test_solve_json_stdout(runner):
    """Tests that --json prints only the schedule on stdout."""
    r = runner.invoke(
        main, ["solve", str(DATA_DIR / "chain.json"), "--json", "-q"]
    )
    assert r.exit_code == 0
    assert json.loads(r.stdout)["order"] == ["a", "b", "c"]


def test_keep_outputs_flag(runner):
    """Tests --keep-outputs changes the peak of the fork to 6."""
    r = runner.invoke(
        main,
        [
            "solve",
            str(DATA_DIR / "fork.json"),
            "--json",
            "-q",
            "--keep-outputs",
        ],
    )
    assert json.loads(r.stdout)["peak"] == 6


@pytest.mark.parametrize(
    "name",
    [
        "cycle.json",
        "not_json.json",
        "negative_size.json",
        "duplicate_edge.json",
        "missing.json",
    ],
)
def test_bad_input_exit_2_one_line(runner, name):
    """Tests that bad files exit 2 with exactly one 'Error:' line and no traceback."""
    r = runner.invoke(main, ["solve", str(DATA_DIR / "bad" / name)])
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ")
    assert "Traceback" not in r.output


def test_verify_invalid_exit_1(runner, tmp_path):
    """Tests that verify exits 1 with the reason for a wrong order or peak."""
    graph = str(DATA_DIR / "chain.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"order": ["b", "a", "c"], "peak": 5}))
    r = runner.invoke(main, ["verify", graph, str(bad)])
    assert r.exit_code == 1 and "runs before its predecessor" in r.stderr
    bad.write_text(json.dumps({"order": ["a", "b", "c"], "peak": 4}))
    r = runner.invoke(main, ["verify", graph, str(bad)])
    assert r.exit_code == 1 and "claims 4" in r.stderr
    bad.write_text("{oops")
    r = runner.invoke(main, ["verify", graph, str(bad)])
    assert r.exit_code == 2


def test_schedule_and_instance_mixed_up(runner, tmp_path):
    """Tests that a schedule given as the graph, or the two files of
    verify swapped, say which file is which (exit 2, one line)."""
    graph = str(DATA_DIR / "chain.json")
    schedule = tmp_path / "s.json"
    assert (
        runner.invoke(main, ["solve", graph, "-o", str(schedule)]).exit_code
        == 0
    )
    for args, says in (
        (["solve", str(schedule)], "This is a schedule"),
        (["info", str(schedule)], "This is a schedule"),
        (["verify", str(schedule), graph], "This is a schedule"),
        (["verify", graph, graph], "This is an instance"),
    ):
        r = runner.invoke(main, args)
        lines = r.stderr.strip().splitlines()
        assert r.exit_code == 2 and len(lines) == 1 and says in lines[0], args


def test_info(runner):
    """Tests info, in text and JSON."""
    r = runner.invoke(main, ["info", str(DATA_DIR / "fork.json"), "--json"])
    info = json.loads(r.stdout)
    assert (
        info["class"] == "out-tree"
        and info["nodes"] == 3
        and info["sinks"] == 2
    )
    assert info["lower_bound_bytes"] == 5
    r = runner.invoke(main, ["info", str(DATA_DIR / "chain.json")])
    assert "chain" in r.stdout


def test_bad_method_and_time_limit(runner):
    """Tests usage errors: unknown method, negative time limit."""
    g = str(DATA_DIR / "chain.json")
    assert runner.invoke(main, ["solve", g, "--method", "nope"]).exit_code == 2
    r = runner.invoke(main, ["solve", g, "--time-limit", "-1"])
    assert r.exit_code == 2 and "--time-limit" in r.stderr


def test_the_program_exits_with_its_status_and_all_its_output(tmp_path):
    """Tests the program as run (``python -m pebble_sched``, which skips
    the interpreter's teardown): the schedule printed whole on stdout and
    written to a file, and the exit statuses of success, a usage error and
    a bad file."""
    g = str(DATA_DIR / "chain.json")
    out = tmp_path / "s.json"

    def program(*args):
        return subprocess.run(
            [sys.executable, "-m", "pebble_sched", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )

    r = program("solve", g, "--json", "-o", str(out))
    assert r.returncode == 0
    assert (
        json.loads(r.stdout)["order"] == json.loads(out.read_text())["order"]
    )
    assert "peak" in r.stderr
    assert program("solve", g, "-m", "nope").returncode == 2
    r = program("solve", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "no such file" in r.stderr
    assert program("--version").returncode == 0


def test_a_limit_spent_before_solving_is_said(runner):
    """Tests that a limit used up by start-up and reading (here 0 s) is
    named in one line, and that the answer is still a valid schedule."""
    g = str(DATA_DIR / "chain.json")
    r = runner.invoke(main, ["solve", g, "-t", "0"])
    assert r.exit_code == 0
    assert "no time is left to solve" in r.stderr
    assert "status" in r.stderr
    r = runner.invoke(main, ["solve", g, "-t", "60"])
    assert r.exit_code == 0 and "no time is left" not in r.stderr


def test_method_refusing_graph(runner):
    """Tests that forcing an unsupported method is a one-line error."""
    r = runner.invoke(
        main, ["solve", str(DATA_DIR / "chain.json"), "-m", "tree"]
    )
    assert r.exit_code == 0  # a chain is an in-tree
    r = runner.invoke(
        main, ["solve", str(DATA_DIR / "fork.json"), "-m", "tree"]
    )
    assert r.exit_code == 0  # an out-tree
    r = runner.invoke(
        main, ["solve", str(DATA_DIR / "fork.json"), "-m", "pumpkin"]
    )
    assert r.exit_code == 2 and "does not support" in r.stderr


def test_sp_family_option(runner, tmp_path):
    """Tests --sp-family: its use with the SP methods, a one-line refusal otherwise."""
    from pebble_sched.formats import write_graph
    from pebble_sched.generators import series_parallel

    g = tmp_path / "sp.json"
    write_graph(g, series_parallel(80, seed=1, max_out_degree=4))
    r = runner.invoke(
        main,
        ["solve", str(g), "-m", "sp", "--sp-family", "threshold", "--json"],
    )
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["method"] == "sp"
    r = runner.invoke(
        main, ["solve", str(g), "-m", "heuristic", "--sp-family", "full"]
    )
    assert r.exit_code == 2 and "--sp-family" in r.stderr
    r = runner.invoke(main, ["solve", str(g), "--sp-family", "nope"])
    assert r.exit_code == 2


def test_import_torch_without_torch_is_a_clear_error(tmp_path):
    """Tests the message when torch is missing (simulated in a subprocess)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['torch'] = None; from pebble_sched.cli import main; "
        f"main(['import', 'torch', 'zoo:resnet18', '-o', r'{tmp_path / 'x.json'}'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert out.returncode == 2
    assert 'pip install "pebble-sched[torch]"' in out.stderr
    assert "Traceback" not in out.stderr


def test_ctrl_c_writes_best_so_far(tmp_path):
    """Tests that SIGINT during solve writes the best schedule and exits 130."""
    import signal
    import subprocess
    import sys
    import time

    from pebble_sched import read_graph, read_schedule, verify, write_graph
    from pebble_sched.generators import out_tree

    graph = tmp_path / "g.json"
    # out-trees stay far from our lower bound: the search runs to the limit
    write_graph(graph, out_tree(30000, seed=2))
    out = tmp_path / "s.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pebble_sched",
            "solve",
            str(graph),
            "-m",
            "heuristic",
            "-t",
            "120",
            "-o",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_by_default,
    )
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    schedule = read_schedule(out)
    assert schedule.status.value == "feasible"
    verify(read_graph(graph), schedule)


def test_a_later_signal_interrupts_again_after_a_while():
    """Tests the CLI's signal handler: the first signal raises, one soon
    after it is ignored (a double press must not cut short the return of
    the best so far), one AGAIN_S later raises again (the first raise may
    have been lost); the exit status keeps the first signal."""
    import signal

    from pebble_sched.cli import _Signals

    now = [100.0]
    signals = _Signals(clock=lambda: now[0])
    with pytest.raises(KeyboardInterrupt):
        signals._handler(signal.SIGTERM, None)
    now[0] += signals.AGAIN_S / 2
    signals._handler(signal.SIGINT, None)  # ignored
    now[0] += signals.AGAIN_S
    with pytest.raises(KeyboardInterrupt):
        signals._handler(signal.SIGINT, None)
    now[0] += signals.AGAIN_S / 2  # (counted from the last raise)
    signals._handler(signal.SIGINT, None)
    assert signals.received == signal.SIGTERM


def test_a_signal_ignored_at_start_stays_ignored():
    """Tests that the CLI's handler leaves a signal that the process was
    started ignoring ignored (a background job of a shell without job
    control ignores SIGINT), and still handles the other one."""
    import signal

    from pebble_sched.cli import _Signals

    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with _Signals() as signals:
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) == signals._handler
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, before)


def test_solve_says_when_only_lemma5_is_missing(runner, tmp_path, monkeypatch):
    """Tests that solve names the conjectured forks when they alone keep an SP order from being reported optimal."""
    from pebble_sched import write_graph
    from pebble_sched.generators import series_parallel
    from pebble_sched.solvers.dominant import _Solver

    # the proven family of nested forks out of reach (as beyond its budgets)
    monkeypatch.setattr(
        _Solver,
        "_mixed_combos",
        lambda self, trees, cut=None, release=None: None,
    )

    path = tmp_path / "sp.json"
    # one fork with a nested branch, and the bound stays below the peak
    write_graph(path, series_parallel(20, seed=52, max_out_degree=3))
    r = runner.invoke(
        main, ["solve", str(path), "-m", "sp", "--sp-family", "threshold"]
    )
    assert r.exit_code == 0, r.output
    assert "status      : feasible" in r.output
    assert "1 of " in r.output and "conjectured form of Lemma 5" in r.output
    r = runner.invoke(
        main, ["solve", str(path), "-m", "sp", "--sp-family", "full"]
    )
    assert "status      : optimal" in r.output
    assert "Lemma 5" not in r.output
