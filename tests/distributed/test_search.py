"""Tests of the strategy search against exhaustive enumeration (#15)."""

from dataclasses import replace

import pytest

from pebble_sched import evaluate
from pebble_sched.distributed import simulate
from pebble_sched.distributed.recompute import with_recomputation
from pebble_sched.distributed.search import (
    Space,
    exhaustive,
    grid_search,
    search,
)
from tests.distributed.test_simulator import chain


def tiny(**kw):
    g = chain(4, flops=1e9, act=10**8, grad=10**6, params=10**6)
    g = g.replace(meta=dict(g.meta, input_shapes=[[1]]))
    return Space(
        g,
        "cpu-test:1",
        global_batch=2,
        offload=False,
        zero=False,
        duplicate=False,
        **kw,
    )


@pytest.mark.parametrize("limit", [None, 4 * 10**8])
def test_mcmc_finds_the_exhaustive_optimum(limit):
    """Tests that on a tiny space (4 units x recompute x 2 devices x stage boundaries) the chain finds the optimum in at least 19 of 20 seeded runs."""
    space = tiny()
    best, count = exhaustive(space, memory_limit=limit)
    # 3 points x 2 schedules x 16 recomputed subsets, pp = 2 with 3 splits
    assert best is not None and count == 160
    hits = 0
    for seed in range(20):
        r = search(
            space,
            memory_limit=limit,
            iterations=150,
            budget=60,
            chains=1,
            seed=seed,
        )
        hits += (
            r.best_evaluation is not None
            and r.best_evaluation.cost == pytest.approx(best.cost)
        )
        # the returned strategy fits when simulated again
        again = simulate(
            space.graph(r.best.tp), space.cluster, r.best, order="fifo"
        )
        assert again.peak <= (limit or space.cluster.device.memory)
    assert hits >= 19


def test_recomputation_makes_tight_limits_feasible():
    """Tests that under a limit no grid point meets, the search finds a recomputing strategy that does."""
    space = tiny()
    limit = 4 * 10**8
    grid, evals = grid_search(space, memory_limit=limit)
    assert grid is None and evals
    r = search(space, memory_limit=limit, iterations=200, chains=2, seed=3)
    assert r.best is not None and r.best.recompute
    assert r.best_evaluation.peak <= limit < min(e.peak for e in evals)


def test_impossible_limit_reports_the_smallest_peak():
    """Tests that when nothing fits, the search says so and how close it came."""
    space = tiny()
    r = search(space, memory_limit=10**6, iterations=100, chains=2, seed=0)
    assert r.best is None and r.feasible == 0
    assert r.smallest_peak > 10**6
    best, _ = exhaustive(space, memory_limit=10**6)
    assert best is None


def test_seeded_and_reproducible():
    """Tests that the same seed gives the same search."""
    space = tiny()
    a = search(space, iterations=60, chains=2, seed=7)
    b = search(space, iterations=60, chains=2, seed=7)
    assert a.best == b.best and a.evaluated == b.evaluated


def test_sum_of_sizes_rejects_what_fits():
    """Tests that FlexFlow's sum-of-sizes check refuses a strategy whose liveness peak fits."""
    space = tiny()
    best, _ = grid_search(space)
    limit = best.peak  # exactly what liveness needs
    live, _ = grid_search(space, memory_limit=limit)
    summed, evals = grid_search(space, memory_limit=limit, memory="sum")
    assert live is not None
    assert summed is None or summed.cost > live.cost
    assert all(
        e.peak >= f.peak
        for e, f in zip(evals, grid_search(space)[1], strict=True)
    )


def test_adjacent_recomputed_units():
    """Tests that neighbouring recomputed units keep each other's inputs as checkpoints (no cycle) and lower the peak."""
    g = chain(4, flops=1e9, act=10**8, grad=10**6)
    r = with_recomputation(g, ["u.*"])
    order = list(r.topological_order())
    order = [r.ids[v] for v in order]
    assert (
        evaluate(r, order).peak
        <= evaluate(g, [g.ids[v] for v in g.topological_order()]).peak
    )


def test_cli_search(tmp_path):
    """Tests pebble-sched search: the table, a strategy file simulate reads back, and an impossible limit (exit 2)."""
    import json

    from click.testing import CliRunner

    from pebble_sched.cli import main
    from tests.helpers import ROOT

    gpt2 = str(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    out = tmp_path / "strategy.json"
    r = CliRunner().invoke(
        main,
        [
            "search",
            gpt2,
            "-c",
            "cpu-test",
            "--budget",
            "3",
            "--memory-limit",
            "5MiB",
            "--seed",
            "1",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "found" in r.stdout and "best grid point" in r.stdout
    strategy = json.loads(out.read_text())
    r = CliRunner().invoke(
        main, ["simulate", gpt2, "-c", "cpu-test", "-s", str(out)]
    )
    assert r.exit_code == 0 and "fits" in r.stdout
    assert strategy["dp"] * strategy["tp"] * strategy["pp"] <= 4
    r = CliRunner().invoke(
        main,
        [
            "search",
            gpt2,
            "-c",
            "cpu-test",
            "--budget",
            "1",
            "--memory-limit",
            "1MiB",
        ],
    )
    assert r.exit_code == 2 and "No strategy fits 1.0 MiB" in r.output
    r = CliRunner().invoke(main, ["search", gpt2, "--memory-limit", "lots"])
    assert r.exit_code == 2 and "Cannot read 'lots' as a size" in r.output


def test_never_slower_than_the_grid():
    """Tests that the search's best is at least as fast as the best grid point that fits."""
    space = tiny()
    for limit in (None, 8 * 10**8):
        grid, _ = grid_search(space, memory_limit=limit)
        r = search(space, memory_limit=limit, iterations=5, chains=1, seed=0)
        assert grid is None or r.best_evaluation.cost <= grid.cost


def _search_process(out=None, budget=60):
    """``pebble-sched search`` on gpt2-train for up to ``budget`` s per
    chain, in a session of its own, once its chains report progress."""
    import os
    import subprocess
    import sys
    import time

    from tests.helpers import ROOT, sigint_by_default

    env = dict(os.environ)
    env["PATH"] = (
        os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    )

    def child_setup() -> None:
        sigint_by_default()
        os.setsid()

    proc = subprocess.Popen(
        [
            "pebble-sched",
            "search",
            str(ROOT / "instances" / "dl-trace" / "gpt2-train.json"),
            "-c",
            "cpu-test",
            "--budget",
            str(budget),
            *([] if out is None else ["-o", str(out)]),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=child_setup,
    )
    # the chains are running once progress is reported (every 2 s on a pipe)
    deadline = time.monotonic() + 120
    first = ""
    while "evaluated" not in first and time.monotonic() < deadline:
        first = proc.stderr.readline()
    return proc


def _end_group(proc) -> None:
    """Kill what is left of ``proc``'s session (its chains, should a test
    fail), so that nothing outlives the test."""
    import contextlib
    import os
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGTERM to the group"])
def test_sigterm_keeps_the_best_and_ends_the_chains(signame, tmp_path):
    """Tests that SIGTERM during pebble-sched search (to the command, or to
    its process group as a supervisor sends it) reports and writes the best
    strategy, exits 143, and leaves no chain running: before, it killed
    the command at once, nothing reported, and its chains' processes ran on
    holding its output open (``communicate`` waited for them)."""
    import json
    import os
    import signal

    out = tmp_path / "strategy.json"
    proc = _search_process(out)
    try:
        if signame == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        _end_group(proc)
    assert proc.returncode == 143, stderr
    assert "interrupted" in stdout and "Traceback" not in stderr
    assert json.loads(out.read_text())["dp"] >= 1


def test_a_chain_stopped_alone_shortens_the_search(tmp_path):
    """Tests that SIGTERM to one chain's process (the pool's terminate(),
    or a stray signal) ends that chain with its best and the search goes
    on and reports, exit 0: before today it broke the pool; then the
    command claimed Ctrl-C (exit 130) though it received no signal."""
    import os
    import signal
    from pathlib import Path

    proc = _search_process(tmp_path / "strategy.json", budget=6)
    try:
        kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
        if not kids.exists():  # pragma: no cover - not Linux
            pytest.skip("no /proc children list here")
        chains = [int(p) for p in kids.read_text().split()]
        assert chains
        os.kill(chains[0], signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        _end_group(proc)
    assert proc.returncode == 0, stderr
    assert "found" in stdout and "Traceback" not in stderr


def test_chains_end_when_the_command_is_killed():
    """Tests that the chains' processes end soon after the command is
    killed outright (SIGKILL: no handler runs), instead of running on and
    then waiting forever for work, holding its output open."""
    proc = _search_process()
    try:
        proc.kill()
        # (returns once no process holds the pipes)
        proc.communicate(timeout=30)
    finally:
        _end_group(proc)
    assert proc.returncode == -9


def test_ctrl_c_keeps_the_best(tmp_path):
    """Tests that SIGINT during pebble-sched search writes the best strategy and exits 130."""
    import json
    import os
    import signal

    from tests.helpers import signal_state

    out = tmp_path / "strategy.json"
    proc = _search_process(out)
    # (their masks, to tell a lost signal from one never let in)
    masks = f"{signal_state(proc.pid)}; test: {signal_state(os.getpid())}"
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, f"{masks}\n{stderr}"
    assert "interrupted" in stdout and "Traceback" not in stderr
    assert json.loads(out.read_text())["dp"] >= 1


def test_ctrl_c_in_a_fork_hook_is_not_lost():
    """Tests that a SIGINT arriving while the chains fork stops the search.

    Python drops an exception raised inside a fork hook (``logging`` has
    one): the KeyboardInterrupt of a Ctrl-C landing there was lost and the
    search ran its whole budget (found by the CLI test under load).
    """
    import os
    import signal

    if not hasattr(os, "register_at_fork"):
        pytest.skip("no fork")
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT has another handler here")
    armed = [True]

    def hook() -> None:
        if armed:
            armed.clear()
            signal.raise_signal(signal.SIGINT)

    os.register_at_fork(after_in_parent=hook)  # inert once fired
    r = search(tiny(), budget=60, chains=2, processes=2, grid_start=False)
    assert not armed  # the hook ran, in a fork of this search
    assert r.interrupted and r.best is not None


def test_dask_executor():
    """Tests that chains run as Dask tasks give the same search as local processes."""
    distributed = pytest.importorskip("distributed")
    space = tiny()
    local = search(space, iterations=80, chains=2, seed=4)
    with distributed.LocalCluster(
        n_workers=2, processes=False, dashboard_address=None
    ) as cluster:
        remote = search(
            space,
            iterations=80,
            chains=2,
            seed=4,
            executor="dask",
            scheduler=cluster.scheduler_address,
        )
    assert remote.best == local.best and remote.evaluated == local.evaluated
    with pytest.raises(ValueError, match="executor must be"):
        search(space, executor="ray")


def test_shifting_a_stage_boundary_beats_the_balanced_split():
    """Tests that when the forward-balanced split is not the fastest (a heavy backward pass), the search finds the better boundary, as exhaustive search does."""
    g = chain(4, flops=1e9, act=10**6, grad=10**6, params=10**6)
    flops = [int(8e9) if v == "b0" else int(1e9) for v in g.ids]
    g = g.replace(flops=flops, meta=dict(g.meta, input_shapes=[[1]]))
    space = Space(
        g,
        "cpu-test:1",
        global_batch=3,
        recompute=False,
        offload=False,
        zero=False,
    )
    grid, _ = grid_search(space)
    assert grid.strategy.pp == 2 and not grid.strategy.stage_starts
    best, _ = exhaustive(space)
    assert best.strategy.stage_starts == ("u.1",)
    assert best.cost < grid.cost
    for seed in range(5):
        r = search(space, iterations=100, chains=1, seed=seed)
        assert r.best_evaluation.cost == pytest.approx(best.cost)
    # without the move the search cannot leave the balanced split
    fixed = Space(
        g,
        "cpu-test:1",
        global_batch=3,
        recompute=False,
        offload=False,
        zero=False,
        boundaries=False,
    )
    r = search(fixed, iterations=100, chains=1, seed=0)
    assert r.best_evaluation.cost == pytest.approx(grid.cost)


def test_boundary_moves_give_valid_canonical_splits():
    """Tests that shifted boundaries simulate, keep every stage non-empty, and write the default split as none."""
    import random

    g = chain(6, flops=1e9, act=10**6, grad=10**6, params=10**6)
    g = g.replace(meta=dict(g.meta, input_shapes=[[1]]))
    space = Space(g, "cpu-test:2", global_batch=4)
    rng = random.Random(0)
    s = space.strategy(1, 1, 3)
    seen = set()
    for _ in range(40):
        s = space._shift_boundary(s, rng)
        cuts = space.cuts(s)
        assert list(cuts) == sorted(set(cuts)) and cuts[0] > 0
        assert cuts[-1] < len(space.units)
        assert bool(s.stage_starts) == (cuts != space.default_cuts(1, 3))
        r = simulate(g, space.cluster, s)
        assert r.stats["units_per_stage"] == [
            b - a
            for a, b in zip((0, *cuts), (*cuts, len(space.units)), strict=True)
        ]
        seen.add(cuts)
    assert len(seen) > 3


def test_offload_target_move_reaches_peer_offload():
    """Tests that with a pipeline and offloaded units the search may send the activations to a peer stage, and such strategies simulate."""
    import random

    g = chain(4, flops=1e9, act=10**8, grad=10**6, params=10**6)
    g = g.replace(meta=dict(g.meta, input_shapes=[[1]]))
    space = Space(g, "cpu-test:2", global_batch=4)
    rng = random.Random(1)
    s = replace(space.strategy(1, 1, 2), offload=("u.0",))
    targets = set()
    for _ in range(200):
        t = space.propose(s, rng)
        targets.add(t.offload_to)
        if t.offload_to == "peer":
            assert simulate(g, space.cluster, t).devices[1].peak > 0
    assert targets == {"host", "peer"}


def test_a_failing_move_is_reported_not_fatal(monkeypatch):
    """Tests that a proposal raising StrategyError is skipped and reported in errors, the search still returning its best."""
    from pebble_sched.distributed.strategy import StrategyError

    space = tiny()
    propose = Space.propose
    calls = {"n": 0}

    def flaky(self, s, rng):
        calls["n"] += 1
        if calls["n"] % 5 == 0:
            raise StrategyError("a broken move")
        return propose(self, s, rng)

    monkeypatch.setattr(Space, "propose", flaky)
    r = search(space, iterations=50, chains=1, seed=0, grid_start=False)
    assert r.best is not None
    assert any("a broken move" in m for m in r.errors)


def test_search_finds_duplication_where_transfers_are_exposed():
    """Tests that when only a pipeline fits and receiving activations costs more than computing them (a cheap mask and cheap layers, a slow link), exhaustive search duplicates, the chain finds that optimum in 9 of 10 seeds, and the same strategy without duplication is slower."""
    from tests.distributed.test_duplicate import masked

    g = masked(mask=10**8, act=10**7)
    g = g.replace(meta=dict(g.meta, input_shapes=[[1]]))
    space = Space(
        g,
        "cpu-test:1",
        global_batch=1,
        recompute=False,
        offload=False,
        zero=False,
        boundaries=False,
    )
    limit = 14 * 10**7  # one device holds too much: a pipeline only
    best, _ = exhaustive(space, memory_limit=limit)
    assert best.strategy.pp == 2 and "mask" in best.strategy.duplicate
    plain = space.evaluate(
        replace(best.strategy, duplicate=()), lambda r: r.iteration_time, limit
    )
    assert best.cost < plain.cost
    hits = 0
    for seed in range(10):
        r = search(
            space, memory_limit=limit, iterations=300, chains=1, seed=seed
        )
        hits += r.best_evaluation.cost == pytest.approx(best.cost)
        assert r.best_evaluation.peak <= limit
    assert hits >= 9
