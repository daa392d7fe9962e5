"""Fault injection: signals at random moments, early solver returns, bad outputs (#11, #12)."""

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pebble_sched import read_graph, read_schedule, verify, write_graph
from pebble_sched.bounds import lower_bound
from pebble_sched.generators import daggen, layered
from pebble_sched.runtime import Deadline
from pebble_sched.solvers.cpsat import CpSatModel
from tests.helpers import ROOT, sigint_by_default, signal_state


def test_cpsat_stopping_early_is_not_an_interrupt():
    """Tests that CP-SAT returning long before its limit is no Ctrl-C (#12)."""
    g = layered(40, 6, 0.3, seed=1)
    model = CpSatModel(g)
    order, peak, lb, stats = model.solve(
        Deadline(30), parameters={"stop_after_first_solution": True}
    )
    assert order is not None and lb <= peak
    assert stats["wall_time"] < 29  # it stopped early by itself ...
    assert "interrupted" not in stats  # ... and that is not an interrupt


def test_cpsat_rejects_unknown_parameter():
    """Tests that a misspelt CP-SAT parameter is an error, not ignored."""
    model = CpSatModel(layered(10, 3, 0.3, seed=0))
    with pytest.raises(ValueError, match="max_time_in_secs"):
        model.solve(Deadline(1), parameters={"max_time_in_secs": 1})


def _start(graph_path, out, *extra):
    """Starts ``pebble-sched solve`` and waits until it is solving."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pebble_sched",
            "solve",
            str(graph_path),
            "-o",
            str(out),
            "--verbose",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        preexec_fn=sigint_by_default,
    )
    first = proc.stderr.readline()  # "solving NAME: ..." (on_start)
    assert first.startswith("solving"), first
    return proc


def _bounds_logged(err: str) -> list[int]:
    """Every bound of the verbose log (exact when below 1 KiB)."""
    return [int(b) for b in re.findall(r"bound (\d+) B", err)]


@pytest.fixture(scope="module")
def daggen_file(tmp_path_factory):
    """A 150-node DAGGEN-style graph whose sizes keep bounds below 1 KiB."""
    path = tmp_path_factory.mktemp("faults") / "daggen.json"
    g = daggen(
        150, fat=0.8, density=0.8, regularity=0.8, jump=4, seed=3, max_size=4
    )
    write_graph(path, g)
    return path


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    delay=st.floats(min_value=0.0, max_value=3.0),
    sig=st.sampled_from([signal.SIGINT, signal.SIGTERM]),
)
def test_signal_at_any_moment_keeps_the_best(
    daggen_file, tmp_path, delay, sig
):
    """Tests that SIGINT/SIGTERM in any phase of auto writes a valid schedule with the best bound (#12)."""
    out = tmp_path / f"s-{sig}-{delay:.3f}.json"
    proc = _start(daggen_file, out, "-t", "60")
    time.sleep(delay)
    masks = f"{signal_state(proc.pid)}; test: {signal_state(os.getpid())}"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, f"{masks}\n{err}"
    assert "Traceback" not in err
    assert "interrupted: best schedule so far" in err
    graph = read_graph(daggen_file)
    schedule = read_schedule(out)
    verify(graph, schedule)
    assert schedule.status.value == "feasible" or (
        schedule.peak == schedule.lower_bound
    )
    # the bound written is the best any phase proved and logged
    logged = _bounds_logged(err)
    if logged:
        assert schedule.lower_bound >= max(logged)
    assert not list(tmp_path.glob(".*.tmp"))


def test_ctrl_c_keeps_the_cheap_bound(tmp_path):
    """Tests that Ctrl-C during a long SP solve reports the static bound, not 0 (#11)."""
    path = ROOT / "instances" / "series-parallel" / "sp-n10000-s0.json.gz"
    graph = read_graph(path)
    out = tmp_path / "s.json"
    proc = _start(path, out, "-t", "60")
    # once the SP solve has started (the bounds are done: about 1 s idle,
    # more on a loaded machine), not after a fixed delay
    seen = []
    while not seen or not seen[-1].rstrip().endswith("  sp"):
        seen.append(proc.stderr.readline())
        assert seen[-1], "".join(seen)  # (it ended before the SP solve)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(seen) + err
    schedule = read_schedule(out)
    verify(graph, schedule)
    assert schedule.lower_bound >= lower_bound(graph) > 0


def test_no_spurious_interrupt(tmp_path):
    """Tests that a timed auto run without any signal never exits 130 (#12).

    On this graph CP-SAT returned UNKNOWN after presolve, long before its
    share of the time, which the portfolio took for a Ctrl-C.
    """
    path = tmp_path / "g.json"
    write_graph(
        path, daggen(100, fat=0.8, density=0.8, regularity=0.8, jump=4)
    )
    out = tmp_path / "s.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pebble_sched",
            "solve",
            str(path),
            "-t",
            "5",
            "-o",
            str(out),
            "-q",
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["peak"] > 0


def test_unwritable_output_is_one_line(tmp_path):
    """Tests that an output in a folder that cannot exist is exit 2, one line (#12)."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    target = blocker / "s.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pebble_sched",
            "solve",
            str(ROOT / "instances" / "examples" / "fork.json"),
            "-o",
            str(target),
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("Error: ") and "nothing written" in (
        proc.stderr
    )


def test_full_disk_leaves_nothing_half_written(tmp_path, monkeypatch):
    """Tests that ENOSPC while writing keeps the old file and leaves no temporary (#12)."""
    from click.testing import CliRunner

    import pebble_sched.formats as formats
    from pebble_sched.cli import main

    out = tmp_path / "s.json"
    out.write_text("previous contents")

    def no_space(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(formats.os, "fsync", no_space)
    result = CliRunner().invoke(
        main,
        [
            "solve",
            str(ROOT / "instances" / "examples" / "fork.json"),
            "-o",
            str(out),
            "-q",
        ],
    )
    assert result.exit_code == 2
    assert "No space left on device; nothing written." in result.stderr
    assert out.read_text() == "previous contents"
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_ctrl_c_outside_a_solver_is_one_line(monkeypatch):
    """Tests that Ctrl-C while a command reads its input ends with one line and status 130, not click's "Aborted!"."""
    from click.testing import CliRunner

    import pebble_sched.cli as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_read", interrupted)
    for args in (["info", "g.json"], ["search", "g.json"]):
        r = CliRunner().invoke(cli.main, args)
        assert r.exit_code == 130, r.output
        assert "interrupted: nothing written" in r.output
        assert "Aborted" not in r.output and "Traceback" not in r.output


def test_sigint_seen_records_and_restores():
    """Tests that sigint_seen records a SIGINT, still raises KeyboardInterrupt, and puts the default handler back."""
    from pebble_sched.runtime import sigint_seen

    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT has another handler here")
    with pytest.raises(KeyboardInterrupt), sigint_seen() as seen:
        signal.raise_signal(signal.SIGINT)
    assert seen == [signal.SIGINT]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_gc_paused_restores_the_collector():
    """Tests that a pause of the garbage collector (the SP decomposition
    and solvers run with it) leaves it as it found it: after the block,
    a nested block, an exception, and when it was off already."""
    import gc

    from pebble_sched.generators import series_parallel
    from pebble_sched.runtime import gc_paused
    from pebble_sched.solvers.series_parallel import decompose

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert decompose(series_parallel(50, seed=1)).is_sp
    assert gc.isenabled()


def test_gc_paused_hands_what_it_kept_to_the_oldest_generation():
    """Tests that what a pause allocated and kept is not left in the
    youngest generation (whose next pass would walk all of it: up to a
    second past a time limit at 10^5 nodes), and that nothing stays frozen:
    a cycle made in the pause is still collected."""
    import gc
    import weakref

    from pebble_sched.runtime import gc_paused

    class Node:
        pass

    def generations():
        """Ids of the objects in the youngest and oldest generations."""
        gc.disable()  # (no pass meanwhile: as the pause left them)
        try:
            return (
                {id(x) for x in gc.get_objects(generation=0)},
                {id(x) for x in gc.get_objects(generation=2)},
            )
        finally:
            gc.enable()

    gc.collect()  # (an empty youngest generation: no pass below)
    with gc_paused():  # a few: left to the usual passes
        few = [[k] for k in range(100)]
    young, _ = generations()
    assert all(id(x) in young for x in few)
    with gc_paused():
        kept = [[k] for k in range(150_000)]
        loop = Node()
        loop.me = loop
        gone = weakref.ref(loop)
    young, old = generations()
    assert gc.get_freeze_count() == 0
    assert not any(id(x) in young for x in kept)
    assert all(id(x) in old for x in kept)
    del loop
    assert gone() is not None  # a cycle: only the collector frees it
    gc.collect()
    assert gone() is None


def test_a_signal_after_cpsat_does_not_kill_its_child():
    """Tests that SIGINT reaching a forked CP-SAT child after its solve
    leaves it alive to send its answer: OR-Tools' Ctrl-C handler puts the
    default action (terminate) back when the solve ends, while Python still
    believes the child ignores SIGINT; the parent forwards Ctrl-C at any
    moment."""
    import os

    from ortools.sat.python import cp_model

    from pebble_sched.runtime import run_in_child
    from pebble_sched.solvers.cpsat import solve_without_a_broken_hint

    model = cp_model.CpModel()
    x = model.new_int_var(0, 3, "x")
    model.add(x >= 2)

    def run() -> int:
        solver, _, _ = solve_without_a_broken_hint(model, cp_model.CpSolver)
        os.kill(os.getpid(), signal.SIGINT)  # as the parent forwards it
        time.sleep(0.2)
        return solver.value(x)

    assert run_in_child(run, hard_limit=30) == (2, False)


def test_ctrl_c_after_an_in_process_cpsat_solve_is_a_keyboard_interrupt():
    """Tests that after CP-SAT solved in the main thread, SIGINT raises
    KeyboardInterrupt again instead of ending the process (OR-Tools left
    the default action behind; run in a forked child so that a failure
    does not kill the test run)."""
    from ortools.sat.python import cp_model

    from pebble_sched.runtime import run_in_child
    from pebble_sched.solvers.cpsat import solve_without_a_broken_hint

    model = cp_model.CpModel()
    model.new_int_var(0, 3, "x")

    def run() -> str:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        solve_without_a_broken_hint(model, cp_model.CpSolver)
        try:
            signal.raise_signal(signal.SIGINT)
            time.sleep(0.2)
        except KeyboardInterrupt:
            return "raised"
        return "ignored"

    assert run_in_child(run, hard_limit=30) == ("raised", False)


def test_an_import_cut_short_is_undone(tmp_path, monkeypatch):
    """Tests that Ctrl-C during an optional import (numba's, which the SP
    solver starts while it runs) leaves no half-initialised module behind:
    a later import starts afresh. Without it, numba cut short inside its
    import of numpy.polynomial failed later with "module 'numba' has no
    attribute 'core'", a traceback instead of the best order."""
    from pebble_sched.runtime import import_optional

    pkg = tmp_path / "halfpkg"
    pkg.mkdir()
    (pkg / "part.py").write_text("X = 7\n")
    (pkg / "__init__.py").write_text(
        "import os\n"
        "from . import part\n"
        "if os.environ.get('HALFPKG_STOP'):\n"
        "    raise KeyboardInterrupt\n"
        "VALUE = part.X\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("HALFPKG_STOP", "1")
    with pytest.raises(KeyboardInterrupt):
        import_optional("halfpkg")
    assert "halfpkg" not in sys.modules
    assert "halfpkg.part" not in sys.modules  # (Python leaves this one)
    monkeypatch.delenv("HALFPKG_STOP")
    assert import_optional("halfpkg").VALUE == 7
    monkeypatch.delitem(sys.modules, "halfpkg")
    monkeypatch.delitem(sys.modules, "halfpkg.part")


def test_signals_deferred_until_the_block_ends():
    """Tests that SIGINT and SIGTERM inside ``signals_deferred`` (where the
    local search compiles its programs) reach the handler in place once
    the block ends, not inside it, and neither is lost."""
    from pebble_sched.runtime import signals_deferred

    for sig in (signal.SIGINT, signal.SIGTERM):
        steps = []

        def handler(signum, frame, steps=steps):
            steps.append(("handler", signum))
            raise KeyboardInterrupt

        before = signal.signal(sig, handler)
        try:
            with pytest.raises(KeyboardInterrupt), signals_deferred():
                os.kill(os.getpid(), sig)
                time.sleep(0.05)
                steps.append("block ended")
        finally:
            signal.signal(sig, before)
        assert steps == ["block ended", ("handler", sig)]


def _swallowing(fn):
    """``fn`` as numba's compilation runs it: a signal arrives while it
    runs, and what the handler raises is dropped (the ctypes callback)."""

    def call(*args, **kwargs):
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
        except KeyboardInterrupt:
            pass
        return fn(*args, **kwargs)

    return call


def test_ctrl_c_while_the_sp_functions_compile_is_not_lost(monkeypatch):
    """Tests that Ctrl-C while :func:`candidate_words.warm` compiles a
    function (numba drops what the handler raises inside it, and the
    compilation fails: a traceback and no schedule, found on a cold cache)
    is held for the step and raised after it."""
    pytest.importorskip("numba")
    from pebble_sched.solvers import candidate_words

    monkeypatch.setattr(candidate_words, "ready", lambda: False)
    monkeypatch.setattr(
        candidate_words, "words", _swallowing(candidate_words.words)
    )
    reached = []
    monkeypatch.setattr(
        candidate_words,
        "choose",
        lambda *args: reached.append("choose"),
    )
    with pytest.raises(KeyboardInterrupt):
        candidate_words.warm()
    assert reached == []  # (raised as the step that got it ended)


def test_ctrl_c_while_liu_functions_compile_is_not_lost(monkeypatch):
    """Tests the same for Liu's compiled functions (:func:`liu_arrays.warm`,
    called by ``usable`` before the first large tree)."""
    pytest.importorskip("numba")
    from pebble_sched.solvers import liu_arrays

    monkeypatch.setattr(
        liu_arrays, "liu_schedule", _swallowing(liu_arrays.liu_schedule)
    )
    reached = []
    monkeypatch.setattr(
        liu_arrays, "priority_order", lambda *args: reached.append("prio")
    )
    with pytest.raises(KeyboardInterrupt):
        liu_arrays.warm()
    assert reached == []
