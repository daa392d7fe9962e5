"""Tests of the solve() entry point, Schedule and verify()."""

import math
import time

import numpy as np
import pytest
from hypothesis import given

from pebble_sched import Graph, Schedule, ScheduleError, Status, solve, verify
from pebble_sched.generators import in_tree, layered
from pebble_sched.solve import METHODS
from pebble_sched.solvers.brute_force import brute_force

from .helpers import assert_valid_schedule, graphs


def test_facts(chain, fork, graph_input):
    """Tests solve() on docs/model.md's examples: optimal, with the right peak."""
    for g, peak in ((chain, 5), (fork, 5), (graph_input, 11)):
        s = solve(g)
        assert s.peak == peak and s.status is Status.OPTIMAL
        assert_valid_schedule(g, s)
    assert solve(fork, keep_outputs=True).peak == 6


@pytest.mark.parametrize("method", sorted(METHODS))
@given(g=graphs(max_nodes=9))
def test_every_method_valid(method, g):
    """Tests that every method gives a valid schedule whose claims hold."""
    spec = METHODS[method]
    if not spec.supports(g):
        return
    s = solve(g, method)
    assert_valid_schedule(g, s)
    opt = brute_force(g)[1]
    assert s.lower_bound <= opt <= s.peak
    if spec.exact:
        assert s.peak == opt and s.status is Status.OPTIMAL
    assert (s.status is Status.OPTIMAL) == (s.peak == s.lower_bound)


def test_unknown_method(chain):
    """Tests that an unknown method lists the valid names."""
    with pytest.raises(ValueError, match=r"Unknown method 'magic'.*heuristic"):
        solve(chain, "magic")


def test_unsupported_method():
    """Tests that a method refuses graphs it does not support, saying what
    it takes."""
    with pytest.raises(ValueError, match="takes graphs of at most 12 nodes"):
        solve(Graph(range(13)), "brute")
    with pytest.raises(ValueError, match="a source, d >= 2 chains and a sink"):
        solve(Graph(range(3)), "pumpkin")


def test_auto_uses_tree_on_in_trees():
    """Tests that auto picks Liu's exact algorithm on in-trees."""
    g = in_tree(200, seed=1)
    s = solve(g)
    assert s.method == "tree" and s.status is Status.OPTIMAL


def test_tree_keeps_a_time_limit():
    """Tests that Liu's algorithm stops on an expired limit (it took 12 s
    at 10^6 nodes past any limit): the input order, marked as such, where
    the same tree without a limit is solved exactly."""
    g = in_tree(10_000, seed=2)
    s = solve(g, method="tree", time_limit=0)
    assert s.status is Status.FEASIBLE
    assert s.stats["interrupted"] == "time"
    assert s.stats["fallback"] == "input"
    assert solve(g, method="tree").status is Status.OPTIMAL


def test_time_limit_honoured():
    """Tests that a short time limit returns promptly with a valid schedule."""
    g = layered(20000, seed=3)
    t0 = time.monotonic()
    s = solve(g, time_limit=1.0)
    elapsed = time.monotonic() - t0
    assert elapsed < 4.0  # 1 s of search + evaluation and bounds
    assert s.peak >= s.lower_bound


def test_a_limit_keeps_time_back_for_wrapping_up():
    """Tests the seconds kept back from a time limit for the steps after
    the methods' last deadline checks: none without a limit, in
    proportion to the nodes and edges, at most a tenth of the limit; and
    the DAG order of the Liu relaxation stopping at the deadline."""
    from pebble_sched.runtime import Deadline, TimeUp
    from pebble_sched.solve import WRAP_UP_S_PER_ITEM, _wrap_up
    from pebble_sched.solvers.heuristics import priority_order

    g = layered(20000, seed=3)
    assert _wrap_up(g, math.inf) == _wrap_up(g, None) == 0.0
    assert _wrap_up(g, 600.0) == WRAP_UP_S_PER_ITEM * (g.n + g.m)
    assert _wrap_up(g, 0.01) == pytest.approx(0.001)
    assert _wrap_up(g, -1.0) == 0.0
    with pytest.raises(TimeUp):
        priority_order(g, np.arange(g.n), Deadline(0.0))
    assert len(priority_order(g, np.arange(g.n), Deadline(60.0))) == g.n


def test_schedule_rejects_false_claims():
    """Tests Schedule's own consistency checks."""
    with pytest.raises(ScheduleError, match="exceeds the peak"):
        Schedule(
            order=("a",), peak=1, lower_bound=2, status="feasible", method="x"
        )
    with pytest.raises(ScheduleError, match="optimal"):
        Schedule(
            order=("a",), peak=2, lower_bound=1, status="optimal", method="x"
        )


def test_schedule_round_trip_and_gap(chain):
    """Tests Schedule.to_dict / from_dict and the gap."""
    s = solve(chain)
    assert Schedule.from_dict(s.to_dict()) == s
    t = Schedule(
        order=("a",), peak=4, lower_bound=3, status="feasible", method="x"
    )
    assert math.isclose(t.gap, 0.25)
    assert "gap" in t.summary()


def test_verify_catches_wrong_peak(chain):
    """Tests that verify rejects a schedule whose claimed peak is wrong."""
    s = solve(chain)
    bad = Schedule(
        order=s.order, peak=4, lower_bound=4, status="optimal", method="x"
    )
    with pytest.raises(ScheduleError, match="peak is 5"):
        verify(chain, bad)
    assert verify(chain, s) == 5


@given(graphs(max_nodes=12).filter(lambda g: g.n >= 11))
def test_auto_portfolio_exact_beyond_brute_range(g):
    """Tests the auto portfolio (heuristic, ideals, CP-SAT) on 11-12 nodes against brute force."""
    s = solve(g, time_limit=30)
    assert s.peak == brute_force(g)[1]
    assert s.status is Status.OPTIMAL
    assert_valid_schedule(g, s)


def test_auto_time_limit_on_wide_graph():
    """Tests that auto honours a short limit on a graph too wide to prove quickly."""
    g = layered(400, window=40, p=0.05, seed=1)
    t0 = time.monotonic()
    s = solve(g, time_limit=2.0)
    assert time.monotonic() - t0 < 5.0
    assert s.lower_bound <= s.peak
    assert_valid_schedule(g, s)


def test_forced_exact_methods_report_method():
    """Tests --method ideals / cpsat on a mid-size graph: same optimum, honest status."""
    g = layered(40, window=6, p=0.3, seed=9)
    a = solve(g, "ideals", time_limit=30)
    b = solve(g, "cpsat", time_limit=30)
    assert a.method == "ideals" and b.method == "cpsat"
    assert a.status is Status.OPTIMAL
    assert a.peak <= b.peak
    if b.status is Status.OPTIMAL:
        assert a.peak == b.peak


def test_auto_splits_at_pivots(monkeypatch):
    """Tests that auto solves a chain of blocks block by block, exactly
    (SP-ization and the first Liu relaxation, which may meet the bound at
    once on such a graph, turned off)."""
    import importlib

    import networkx as nx

    solve_module = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(solve_module, "AUTO_SPIZE_MAX_NODES", 0)
    monkeypatch.setattr(solve_module, "AUTO_RELAX_FIRST", False)

    from pebble_sched.generators import series_parallel
    from pebble_sched.solvers.series_parallel import decompose

    parts = [series_parallel(9, seed=s) for s in range(4)]
    ids, edges, size = [], [], []
    for k, g in enumerate(parts):
        names = [f"{k}_{v}" for v in g.ids]
        ids += names
        size += g.node_size.tolist()
        pairs = list(
            zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True)
        )
        # a bridge between two parallel nodes: the part (and the graph)
        # is no longer SP, so the SP solver cannot take it at once
        closure = nx.transitive_closure_dag(nx.DiGraph(pairs))
        u, v = next(
            (u, v)
            for u in range(g.n)
            for v in range(u + 1, g.n)
            if not closure.has_edge(u, v)
            and not decompose(Graph(range(g.n), [*pairs, (u, v)])).is_sp
        )
        pairs.append((u, v))
        edges += [(names[a], names[b]) for a, b in pairs]
        if k:
            edges.append((f"{k - 1}_{parts[k - 1].ids[-1]}", names[0]))
    g = Graph(ids, edges, size=size, edge_size=[1] * len(edges))
    assert not decompose(g).is_sp
    s = solve(g, time_limit=30)
    assert s.method == "pivots" and s.stats["blocks"] >= 4
    assert s.status is Status.OPTIMAL
    assert_valid_schedule(g, s)
    from pebble_sched.solvers.ideals import ideal_search

    assert s.peak == ideal_search(g)[1]


def test_huge_sizes_beyond_int64():
    """Tests that sizes summing past 2**63 are solved exactly (ideals and CP-SAT step aside)."""
    g = layered(30, seed=1)
    big = g.replace(size=[2**62 - i for i in range(30)])
    for method in ("auto", "heuristic", "inductor"):
        s = solve(big, method, time_limit=1)
        assert s.peak > 2**63 and isinstance(s.peak, int)
        assert_valid_schedule(big, s)


def test_large_sp_graphs_try_the_liu_relaxation_first(monkeypatch):
    """Tests the path auto takes on SP graphs above AUTO_HEURISTIC_FIRST nodes (lowered here): the Liu relaxation of the input order, returned as optimal when it meets the lower bound, else kept as a candidate while the SP solver runs."""
    import importlib

    from pebble_sched.generators import series_parallel

    module = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(module, "AUTO_HEURISTIC_FIRST", 100)
    tight = series_parallel(300, seed=5, max_out_degree=6)
    s = solve(tight, time_limit=30)
    assert s.method == "heuristic" and s.status is Status.OPTIMAL
    assert s.stats["liu_first"]["peak"] == s.peak == s.lower_bound
    assert_valid_schedule(tight, s)
    loose = series_parallel(300, seed=3, max_out_degree=6)
    s = solve(loose, time_limit=30)
    assert s.stats["liu_first"]["peak"] >= s.peak
    assert s.method == "sp" and s.status is Status.OPTIMAL


def test_very_large_graphs_relax_in_a_forked_process(monkeypatch):
    """Tests the Liu relaxation run in a forked process while auto
    decomposes the graph (above RELAX_IN_CHILD_MIN_NODES, lowered here,
    with two processes): the same answers as in turn, the relaxation's
    order returned when it meets the bound; done here again when that
    process dies; in turn with one process."""
    import importlib
    import os

    from pebble_sched.generators import series_parallel
    from pebble_sched.runtime import start_in_child

    module = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(module, "AUTO_HEURISTIC_FIRST", 100)
    monkeypatch.setattr(module, "RELAX_IN_CHILD_MIN_NODES", 100)
    started: list[bool] = []

    def spy(fn, die=False):
        started.append(die)
        return start_in_child((lambda: os._exit(1)) if die else fn)

    tight = series_parallel(300, seed=5, max_out_degree=6)
    loose = series_parallel(300, seed=3, max_out_degree=6)
    for die in (False, True):
        monkeypatch.setattr(
            module, "start_in_child", lambda f, d=die: spy(f, d)
        )
        for limit in (None, 30):
            s = solve(tight, time_limit=limit, num_workers=2)
            assert s.method == "heuristic" and s.status is Status.OPTIMAL
            assert s.stats["liu_first"]["peak"] == s.peak == s.lower_bound
            s = solve(loose, time_limit=limit, num_workers=2)
            assert s.method == "sp" and s.status is Status.OPTIMAL
            assert s.stats["liu_first"]["peak"] >= s.peak
            assert_valid_schedule(loose, s)
    assert started.count(False) >= 4 and started.count(True) >= 4
    started.clear()
    s = solve(tight, time_limit=None, num_workers=1)
    assert s.status is Status.OPTIMAL and not started
    # numba loaded meanwhile, stopped once the answer is in: the same
    monkeypatch.setattr(module, "COMPILED_MIN_NODES", 100)
    monkeypatch.setattr(module, "start_in_child", spy)
    for g, method in ((tight, "heuristic"), (loose, "sp")):
        s = solve(g, time_limit=None, num_workers=2)
        assert s.method == method and s.status is Status.OPTIMAL
        assert_valid_schedule(g, s)
    assert started == [False, False]


def _log_calls(monkeypatch, module, labels: dict[str, str]) -> list[str]:
    """Wrap the functions ``labels`` names in ``module`` so that each call
    appends its label to the list returned (then calls the function)."""
    calls: list[str] = []
    for name, label in labels.items():
        fn = getattr(module, name)

        def logged(*args, _fn=fn, _label=label, **kwargs):
            calls.append(_label)
            return _fn(*args, **kwargs)

        monkeypatch.setattr(module, name, logged)
    return calls


def test_on_large_graphs_the_liu_relaxation_comes_before_decomposing(
    monkeypatch,
):
    """Tests that above AUTO_HEURISTIC_FIRST nodes (lowered here) auto runs
    the Liu relaxation before the SP decomposition (3.4 s at 10^6 nodes,
    which a short limit may not leave time for), and skips the
    decomposition when the relaxation meets the bound; without a limit
    once only, then again on a graph that turns out not to be SP."""
    import importlib

    from pebble_sched.generators import series_parallel
    from pebble_sched.solvers.series_parallel import decompose

    module = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(module, "AUTO_HEURISTIC_FIRST", 100)
    calls = _log_calls(
        monkeypatch,
        module,
        {"liu_relaxation_order": "relaxation", "decompose": "decomposition"},
    )
    tight = series_parallel(300, seed=5, max_out_degree=6)
    s = solve(tight, time_limit=30)
    assert s.status is Status.OPTIMAL and s.method == "heuristic"
    assert calls == ["relaxation"]
    calls.clear()
    loose = series_parallel(300, seed=3, max_out_degree=6)
    s = solve(loose, time_limit=30)
    assert calls[:3] == ["relaxation", "relaxation", "decomposition"]
    assert s.status is Status.OPTIMAL and s.method == "sp"
    # without a limit one round first, and the second one only on a graph
    # that is not SP (an SP order makes it useless), from the first's order
    calls.clear()
    s = solve(loose)
    assert calls[:2] == ["relaxation", "decomposition"]
    assert "relaxation" not in calls[2:]
    assert s.status is Status.OPTIMAL and s.stats["liu_first"]["peak"] > 0
    calls.clear()
    cross = layered(300, window=6, p=0.3, seed=1)
    assert not decompose(cross).is_sp
    s = solve(cross, time_limit=None)
    assert calls[:3] == ["relaxation", "decomposition", "relaxation"]
    assert_valid_schedule(cross, s)


@pytest.mark.parametrize("method", ["sp", "auto"])
def test_large_sp_graphs_get_a_proof_pass(monkeypatch, method):
    """Tests the threshold-family pass after an unproven SP order on graphs
    above LARGE nodes (lowered here, where auto leaves nested forks to the
    conjectured family at once): it proves the order optimal where the
    bounds do not, and it is skipped when the time left is too short for
    it."""
    import importlib

    from pebble_sched.generators import series_parallel
    from pebble_sched.solvers import dominant

    module = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(dominant, "LARGE", 50)
    monkeypatch.setattr(module, "LARGE", 50)
    g = series_parallel(150, seed=41, max_out_degree=6)
    s = solve(g, method)
    assert s.status is Status.OPTIMAL and s.peak == s.lower_bound == 472
    assert s.stats["sp_proof"]["exact"]
    assert s.stats["sp_proof"]["conjectured_forks"] == 0
    assert_valid_schedule(g, s)
    # the rate expected with numba installed, or without it
    from pebble_sched.solvers import candidate_words

    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S", 1)  # 75 s needed
    if candidate_words.COMPILED:
        s = solve(g, method, time_limit=20)
        assert s.stats["sp_proof"]["exact"]  # (at the compiled rate)
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S_COMPILED", 1)
    s = solve(g, method, time_limit=20)
    assert "sp_proof" not in s.stats
    if method == "sp":  # (auto's other searches may prove it)
        assert s.status is Status.FEASIBLE and s.lower_bound == 460
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S_COMPILED", 4000)
    # the compiled rate with the time the solver needs to load numba, or
    # once this process compiled it
    if candidate_words.COMPILED:
        monkeypatch.setattr(candidate_words, "ready", lambda: False)
        monkeypatch.setattr(candidate_words, "cached", lambda: False)
        assert module._proof_rate(dominant.COMPILE_S + 1) == 4000
        assert module._proof_rate(dominant.COMPILE_S + 0.5) == 1
        # or the time to read them from numba's cache, when it has them
        monkeypatch.setattr(candidate_words, "cached", lambda: True)
        assert module._proof_rate(dominant.CACHED_LOAD_S + 1) == 4000
        assert module._proof_rate(dominant.CACHED_LOAD_S + 0.5) == 1
        monkeypatch.setattr(candidate_words, "ready", lambda: True)
        assert module._proof_rate(1.0) == 4000
    monkeypatch.setattr(candidate_words, "COMPILED", False)
    assert module._proof_rate(100.0) == 1
    s = solve(g, method, time_limit=20)
    assert "sp_proof" not in s.stats


def test_auto_compiles_the_sp_arrays_against_the_whole_limit(monkeypatch):
    """Tests that ``auto`` and ``sp`` compile the SP solver's array
    functions before their passes on a large SP graph under a limit (each pass gets a part of
    the limit, under which a solver would not start compiling), only
    with ``COMPILE_S`` left and not twice; the answer unchanged."""
    import importlib

    from pebble_sched.generators import series_parallel
    from pebble_sched.runtime import Deadline
    from pebble_sched.solvers import candidate_words, dominant

    module = importlib.import_module("pebble_sched.solve")
    warmed = []
    monkeypatch.setattr(
        candidate_words,
        "warm",
        lambda deadline=None, stop=None: warmed.append(1),
    )
    monkeypatch.setattr(candidate_words, "ready", lambda: False)
    monkeypatch.setattr(candidate_words, "cached", lambda: False)
    monkeypatch.setattr(module, "COMPILED_MIN_NODES", 100)
    g = series_parallel(150, seed=41, max_out_degree=6)
    module._warm_kernels(g, Deadline(dominant.COMPILE_S - 1))
    assert warmed == []
    module._warm_kernels(g, Deadline(dominant.COMPILE_S + 1))
    assert warmed == ([1] if candidate_words.COMPILED else [])
    # under COMPILE_S, when numba's cache holds them (read, not compiled)
    monkeypatch.setattr(candidate_words, "cached", lambda: True)
    module._warm_kernels(g, Deadline(dominant.COMPILE_S - 1))
    assert warmed == ([1, 1] if candidate_words.COMPILED else [])
    warmed.clear()
    monkeypatch.setattr(candidate_words, "ready", lambda: True)
    module._warm_kernels(g, Deadline(60))
    assert warmed == []  # (compiled in this process: not twice)
    monkeypatch.setattr(candidate_words, "ready", lambda: False)
    for method in ("auto", "sp"):
        warmed.clear()
        s = solve(g, method, time_limit=30)
        assert warmed == ([1] if candidate_words.COMPILED else [])
        assert s.status is Status.OPTIMAL and s.peak == 472
    small = series_parallel(60, seed=41, max_out_degree=6)
    warmed.clear()
    module._warm_kernels(small, Deadline(60))
    assert warmed == []
    # stopped when the caller's answer comes: before numba's import, after
    # it (waiting up to RELAX_GRACE_S), or by warm itself between functions
    grace = module.RELAX_GRACE_S
    for answers, calls, waits in (
        ([True], [], [0.0]),
        ([False, True], [], [0.0, grace]),
        ([False, False], [1], [0.0, grace]),
    ):
        asked: list[float] = []

        def stop(wait=0.0, answers=answers, asked=asked):
            asked.append(wait)
            return answers[len(asked) - 1]

        warmed.clear()
        module._warm_kernels(g, Deadline(60), stop)
        if candidate_words.COMPILED:
            assert warmed == calls and asked == waits
        else:
            assert warmed == []


@pytest.mark.parametrize("method", ["sp", "auto"])
def test_the_threshold_pass_first_or_after_a_first_pass(monkeypatch, method):
    """Tests the ways to prove an SP order above LARGE nodes (lowered
    here): without a time limit, or with time for twice the pass, the
    threshold family runs first and alone; under a shorter limit a first
    pass, then the proof pass, then the fork relaxation's bound if the
    pass did not prove the order."""
    import importlib

    from pebble_sched.generators import series_parallel
    from pebble_sched.runtime import Deadline
    from pebble_sched.solvers import dominant
    from pebble_sched.solvers.series_parallel import decompose

    module = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(dominant, "LARGE", 50)
    monkeypatch.setattr(module, "LARGE", 50)
    calls = _log_calls(
        monkeypatch,
        module,
        {"_with_relaxation": "relaxation", "_with_sp_proof": "proof"},
    )
    g = series_parallel(150, seed=41, max_out_degree=6)
    dec = decompose(g)
    for limit in (None, 20):
        calls.clear()
        s = solve(g, method, time_limit=limit)
        assert calls == []
        assert s.stats["sp_proof"]["first"] and s.stats["sp_proof"]["exact"]
        assert s.status is Status.OPTIMAL and s.peak == s.lower_bound == 472
    # a limit that leaves too little for the pass and a first pass after
    # it: the first pass, then the proof (needs 150 / (2 * 1) = 75 s
    # first, when the first pass gets 150 / (2 * 9,000))
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S", 1)
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S_COMPILED", 1)
    assert (
        module._threshold_first(g, Deadline(20), "auto", 2, dec, None) is None
    )
    assert module._threshold_first(g, Deadline(80), "auto", 2, dec, None)
    assert (
        module._threshold_first(g, Deadline(80), "threshold", 2, dec, None)
        is None
    )
    # above AUTO_SP_BLOCKS_MAX_NODES (lowered): no time kept for a first
    # pass, and the pass tried at SP_PROOF_NODES_PER_S_HUGE (150 / (2 *
    # 10) = 7.5 s)
    monkeypatch.setattr(module, "AUTO_SP_BLOCKS_MAX_NODES", 100)
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S_HUGE", 10)
    assert module._threshold_first(g, Deadline(20), "auto", 2, dec, None)
    assert (
        module._threshold_first(g, Deadline(5), "auto", 2, dec, None) is None
    )
    monkeypatch.setattr(module, "AUTO_SP_BLOCKS_MAX_NODES", 200_000)
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S", 4000)
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S_COMPILED", 4000)
    monkeypatch.setattr(module, "_threshold_first", lambda *a: None)
    calls.clear()
    s = solve(g, method, time_limit=20)
    assert calls == ["proof"]
    assert "first" not in s.stats["sp_proof"]
    assert s.status is Status.OPTIMAL and s.peak == s.lower_bound == 472
    # a pass that cannot prove (no time for it): the relaxation after it
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S", 1)
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S_COMPILED", 1)
    calls.clear()
    s = solve(g, method, time_limit=20)
    assert calls[:2] == ["proof", "relaxation"]
    if method == "sp":  # (auto's other searches may prove it)
        assert s.status is Status.FEASIBLE and s.lower_bound == 460
    # too little time left even to build the relaxed graph: not started
    # (it would overrun the limit: 2.2 s past 30 s at 10^5 nodes)
    monkeypatch.setattr(module, "RELAXATION_SETUP_S_PER_NODE", 1.0)
    built = []
    bound = module.sp_relaxation_bound
    monkeypatch.setattr(
        module,
        "sp_relaxation_bound",
        lambda *a, **k: built.append(1) or bound(*a, **k),
    )
    s = solve(g, method, time_limit=20)
    assert not built and "relaxation_bound" not in s.stats.get("sp", s.stats)
    # without a limit it runs (here with no threshold pass at all)
    monkeypatch.setattr(module, "_sp_proof", lambda *a: None)
    s = solve(g, method)
    assert built


def test_auto_keeps_a_limit_the_sp_solver_runs_into(monkeypatch):
    """Tests that auto returns at once when the SP solver ran out the time
    on a large SP graph (the pivot split and the blocks used to run on past
    the limit: 0.9 s at 10^5 nodes), with the best order found before."""
    import sys

    from pebble_sched.generators import series_parallel
    from pebble_sched.runtime import TimeUp

    solve_module = sys.modules["pebble_sched.solve"]
    g = series_parallel(30_000, seed=2, max_out_degree=6)
    limit = 1.5

    def slow_sp(*args, **kwargs):
        # an SP solver that is still running when the whole limit is up
        while time.monotonic() < t0 + limit:
            time.sleep(0.01)
        raise TimeUp

    monkeypatch.setattr(solve_module, "SP_NODES_PER_S_LARGE", 10**9)
    monkeypatch.setattr(solve_module, "sp_candidate", slow_sp)
    t0 = time.monotonic()
    s = solve(g, time_limit=limit)
    late = time.monotonic() - t0 - limit
    assert late < 0.3  # was 0.5-0.7 s at this size
    assert s.stats["sp"] == {"interrupted": "time"}
    assert s.stats["liu_first"]["peak"] == s.peak  # the order found before
    assert_valid_schedule(g, s)


@pytest.mark.parametrize("interrupt", ["time", "ctrl-c"])
def test_sp_out_of_time_falls_back_to_the_liu_relaxation(
    monkeypatch, interrupt
):
    """Tests that ``sp`` under a time limit that it runs out keeps time for
    the Liu relaxation of the input order and returns it (far below the
    input order on SP graphs), and that Ctrl-C returns it as well (0.07 s
    on 10^4 nodes); the solver gets less than the whole limit."""
    import sys

    import numpy as np

    from pebble_sched.generators import series_parallel
    from pebble_sched.memory import evaluate_indices
    from pebble_sched.runtime import TimeUp
    from pebble_sched.solvers.heuristics import liu_relaxation_order
    from pebble_sched.solvers.inductor import input_order

    solve_module = sys.modules["pebble_sched.solve"]
    g = series_parallel(3_000, seed=2, max_out_degree=6)
    limits: list[float] = []

    def no_time(graph, deadline, *args, **kwargs):
        limits.append(deadline.remaining())
        raise TimeUp if interrupt == "time" else KeyboardInterrupt

    monkeypatch.setattr(solve_module, "sp_candidate", no_time)
    s = solve(g, method="sp", time_limit=20)
    assert_valid_schedule(g, s)
    assert limits and limits[0] < 20 - solve_module.SP_FALLBACK_S
    base = input_order(g)
    assert s.stats["fallback"] == "liu relaxation"
    assert s.stats["interrupted"] == interrupt
    relaxed = liu_relaxation_order(g, np.asarray(base))
    assert s.peak == evaluate_indices(g, relaxed).peak
    assert s.peak < evaluate_indices(g, base).peak


def test_sp_ctrl_c_twice_returns_the_input_order(monkeypatch):
    """Tests that a second Ctrl-C during the relaxation that a first one
    started (``sp`` with no limit, below LARGE nodes) returns the input
    order at once, marked as such."""
    import sys

    from pebble_sched.generators import series_parallel
    from pebble_sched.memory import evaluate_indices
    from pebble_sched.solvers.inductor import input_order

    solve_module = sys.modules["pebble_sched.solve"]
    g = series_parallel(2_000, seed=1, max_out_degree=6)
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args)
        raise KeyboardInterrupt

    monkeypatch.setattr(solve_module, "sp_candidate", interrupted)
    monkeypatch.setattr(solve_module, "liu_relaxation_order", interrupted)
    s = solve(g, method="sp")
    assert_valid_schedule(g, s)
    assert len(calls) == 2  # the solver, then the relaxation
    assert s.stats["fallback"] == "input"
    assert s.stats["interrupted"] == "ctrl-c"
    assert s.peak == evaluate_indices(g, input_order(g)).peak


def test_auto_without_time_for_the_sp_solver_keeps_the_liu_relaxation(
    monkeypatch,
):
    """Tests that ``auto`` on an SP graph whose SP solve does not fit the
    time limit starts from the Liu relaxation of the input order (O(n log
    n)), so that running out of time later returns that, not the input
    order (a 10,000-node SP graph at 0.2 s: 5,005 before, 1,583 now,
    optimum 1,514)."""
    import sys

    import numpy as np

    from pebble_sched.generators import series_parallel
    from pebble_sched.memory import evaluate_indices
    from pebble_sched.runtime import TimeUp
    from pebble_sched.solvers.heuristics import liu_relaxation_order
    from pebble_sched.solvers.inductor import input_order

    solve_module = sys.modules["pebble_sched.solve"]
    g = series_parallel(3_000, seed=2, max_out_degree=6)
    # no time for the SP solver, and the time runs out at the pivot split
    monkeypatch.setattr(solve_module, "SP_NODES_PER_S", 1e-3)
    monkeypatch.setattr(solve_module, "SP_NODES_PER_S_LARGE", 1e-3)

    def out_of_time(*args, **kwargs):
        raise TimeUp

    monkeypatch.setattr(solve_module, "split_blocks", out_of_time)
    s = solve(g, time_limit=20)
    assert_valid_schedule(g, s)
    base = np.asarray(input_order(g))
    relaxed = evaluate_indices(g, liu_relaxation_order(g, base)).peak
    assert s.peak <= relaxed < evaluate_indices(g, base).peak
    assert "sp" not in s.stats  # the SP solver was not run


def test_huge_sp_graphs_try_the_threshold_pass_under_a_limit(monkeypatch):
    """Tests auto above AUTO_SP_BLOCKS_MAX_NODES (and LARGE; both lowered
    here) under a time limit too short for its first pass: the threshold
    pass runs when the limit allows it at SP_PROOF_NODES_PER_S_HUGE, and
    proves the order; not when it does not."""
    import importlib

    from pebble_sched.generators import series_parallel
    from pebble_sched.solvers import dominant

    module = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(dominant, "LARGE", 50)
    monkeypatch.setattr(module, "LARGE", 50)
    monkeypatch.setattr(module, "AUTO_HEURISTIC_FIRST", 10_000)
    monkeypatch.setattr(module, "AUTO_SP_BLOCKS_MAX_NODES", 100)
    monkeypatch.setattr(module, "SP_NODES_PER_S_LARGE", 1)  # (no time)
    g = series_parallel(150, seed=41, max_out_degree=6)
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S_HUGE", 20)
    s = solve(g, time_limit=20, num_workers=2)
    assert s.stats["sp_proof"]["first"] and s.stats["sp_proof"]["exact"]
    assert s.status is Status.OPTIMAL and s.peak == 472
    monkeypatch.setattr(module, "SP_PROOF_NODES_PER_S_HUGE", 2)
    s = solve(g, time_limit=20, num_workers=2)
    assert "sp_proof" not in s.stats and "sp" not in s.stats


def test_sp_returns_the_liu_relaxation_when_it_meets_the_bound(monkeypatch):
    """Tests that ``sp`` above LARGE nodes (lowered here), where the
    threshold pass may run first, answers with the Liu relaxation of the
    input order when that meets the lower bound (no SP pass at all), and
    runs the pass when it does not."""
    import importlib

    from pebble_sched.generators import series_parallel
    from pebble_sched.solvers import dominant

    module = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(dominant, "LARGE", 50)
    monkeypatch.setattr(module, "LARGE", 50)
    calls = _log_calls(monkeypatch, module, {"_threshold_first": "pass"})
    tight = series_parallel(300, seed=5, max_out_degree=6)
    s = solve(tight, "sp")
    assert s.status is Status.OPTIMAL and calls == []
    assert s.stats["liu_first"]["peak"] == s.peak == s.lower_bound
    assert_valid_schedule(tight, s)
    loose = series_parallel(300, seed=3, max_out_degree=6)
    s = solve(loose, "sp")
    assert s.status is Status.OPTIMAL and calls == ["pass"]
    assert s.stats["sp_proof"]["first"]


@pytest.mark.parametrize("method", ["auto", "sp"])
def test_ctrl_c_after_the_forked_relaxation_answered_keeps_its_order(
    monkeypatch, method
):
    """Tests Ctrl-C while numba loads and the relaxation, in a forked
    process, has answered already: its order is returned (before, the
    input order was), marked interrupted."""
    import importlib

    from pebble_sched.generators import series_parallel
    from pebble_sched.memory import evaluate_indices
    from pebble_sched.solve import input_order
    from pebble_sched.solvers import dominant
    from pebble_sched.solvers.heuristics import liu_relaxation_order

    module = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(dominant, "LARGE", 50)
    monkeypatch.setattr(module, "LARGE", 50)
    monkeypatch.setattr(module, "AUTO_HEURISTIC_FIRST", 100)
    monkeypatch.setattr(module, "RELAX_IN_CHILD_MIN_NODES", 100)

    def interrupted(graph, deadline, stop=None):
        assert stop is not None and stop(30.0)  # (the answer is in)
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "_warm_kernels", interrupted)
    g = series_parallel(300, seed=3, max_out_degree=6)
    relaxed = evaluate_indices(g, liu_relaxation_order(g, input_order(g)))
    assert relaxed.peak < evaluate_indices(g, input_order(g)).peak
    s = solve(g, method, num_workers=2)
    assert s.stats["interrupted"] == "ctrl-c"
    assert s.peak == relaxed.peak
    assert_valid_schedule(g, s)


@pytest.mark.parametrize("die", [False, True])
def test_sp_relaxes_in_a_forked_process(monkeypatch, die):
    """Tests ``sp`` above RELAX_IN_CHILD_MIN_NODES (lowered here) with two
    processes: the Liu relaxation runs in a forked process while the
    graph is decomposed, the same answers as in turn (the relaxation's
    when it meets the bound, the pass's otherwise), done here again when
    that process dies; no process on a graph that is not SP."""
    import importlib
    import os

    from pebble_sched.generators import layered, series_parallel
    from pebble_sched.runtime import start_in_child
    from pebble_sched.solvers import dominant

    module = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(dominant, "LARGE", 50)
    monkeypatch.setattr(module, "LARGE", 50)
    monkeypatch.setattr(module, "RELAX_IN_CHILD_MIN_NODES", 100)
    monkeypatch.setattr(module, "COMPILED_MIN_NODES", 100)
    started = []

    def spy(fn):
        started.append(1)
        return start_in_child((lambda: os._exit(1)) if die else fn)

    monkeypatch.setattr(module, "start_in_child", spy)
    calls = _log_calls(monkeypatch, module, {"_threshold_first": "pass"})
    tight = series_parallel(300, seed=5, max_out_degree=6)
    loose = series_parallel(300, seed=3, max_out_degree=6)
    for limit in (None, 30):
        calls.clear()
        s = solve(tight, "sp", time_limit=limit, num_workers=2)
        assert s.status is Status.OPTIMAL and calls == []
        assert s.stats["liu_first"]["peak"] == s.peak == s.lower_bound
        assert_valid_schedule(tight, s)
        s = solve(loose, "sp", time_limit=limit, num_workers=2)
        assert s.status is Status.OPTIMAL and calls == ["pass"]
        assert_valid_schedule(loose, s)
    assert len(started) == 4
    started.clear()
    s = solve(tight, "sp", num_workers=1)
    assert s.status is Status.OPTIMAL and not started
    # not SP: the relaxation's process started, then stopped and reaped
    other = layered(300, seed=1)
    s = solve(other, "sp", time_limit=30, num_workers=2)
    assert_valid_schedule(other, s)
    assert started == [1] and s.method == "sp"
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


@pytest.mark.parametrize("limit", [0.0, 0.2])
def test_blocks_start_from_the_order_found_before_the_split(limit):
    """Tests that each pivot block keeps the restriction of the order found
    for the whole graph as a candidate: even out of time, the joined
    order is valid and no worse than that order."""
    import importlib

    from pebble_sched.generators import near_series_parallel
    from pebble_sched.memory import evaluate_indices
    from pebble_sched.runtime import Deadline
    from pebble_sched.solvers.pivots import split_blocks

    auto = importlib.import_module("pebble_sched.solve")
    g = near_series_parallel(300, 4, seed=1, max_out_degree=None)
    blocks, _ = split_blocks(g)
    assert len(blocks) > 1
    hint = solve(g, method="sp").order
    hint = np.array([g.index(v) for v in hint])
    order, _lb, _stats, _name = auto._solve_blocks(
        blocks,
        Deadline(limit),
        np.random.default_rng(0),
        None,
        1,
        (hint, "sp"),
    )
    mine = evaluate_indices(g, order).peak  # (checks the order)
    assert mine <= evaluate_indices(g, hint).peak


@pytest.mark.parametrize("seed", [1, 2])
def test_pivot_blocks_report_progress_of_the_whole_graph(seed):
    """Tests that while auto solves pivot blocks, the phases name the
    block and every improvement is an order of the whole graph whose peak
    is the one reported (a block's own order or peak would be wrong
    there), each lower than the last."""
    from pebble_sched.generators import near_series_parallel
    from pebble_sched.memory import evaluate_indices
    from pebble_sched.runtime import Callbacks

    g = near_series_parallel(120, 4, seed=seed, max_out_degree=None)
    seen, phases = [], []
    s = solve(
        g,
        time_limit=20,
        callbacks=Callbacks(
            on_improvement=lambda o, p: seen.append((np.array(o), p)),
            on_phase=phases.append,
        ),
    )
    assert s.method == "pivots"
    assert any(p.startswith("block ") for p in phases)
    assert seen and [p for _, p in seen] == sorted({p for _, p in seen})[::-1]
    for order, peak in seen:
        assert len(order) == g.n
        assert evaluate_indices(g, order).peak == peak
    assert s.peak == seen[-1][1]


def test_auto_runs_beam_starts_after_a_small_ideal_search(monkeypatch):
    """Tests that on a narrow graph that is not SP, auto tries a small ideal
    search, then the beam starts (here with the small search capped at 10
    ideals, so that it proves nothing), and still answers with a valid
    order and a true bound."""
    import importlib

    from pebble_sched.generators import layered
    from pebble_sched.runtime import Callbacks

    auto = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(auto, "AUTO_SMALL_IDEALS", 10)
    # (the pair bound would prove this graph before the beams)
    monkeypatch.setattr(auto, "AUTO_PAIR_BOUND", False)
    g = layered(60, seed=0)
    phases = []
    s = solve(g, time_limit=5, callbacks=Callbacks(on_phase=phases.append))
    names = [p.split(": ")[-1] for p in phases]
    assert "ideals (small)" in names and "beam" in names
    assert names.index("ideals (small)") < names.index("beam")
    assert_valid_schedule(g, s)
    exact = solve(g, method="ideals")
    assert s.lower_bound <= exact.peak <= s.peak


@pytest.mark.parametrize("method", ["cpsat", "ideals"])
def test_exact_methods_alone_start_from_a_better_beam_order(
    monkeypatch, method
):
    """Tests that ``-m cpsat`` and ``-m ideals`` start from a beam's order
    when it beats the heuristic's: with the heuristic made to return the
    worst topological order, the first order reported (and CP-SAT's hint)
    is the beam's, and the answer is still the optimum."""
    import importlib

    from pebble_sched.memory import evaluate_indices
    from pebble_sched.runtime import Callbacks
    from pebble_sched.solvers.cpsat import CpSatModel
    from pebble_sched.solvers.ideals import beam_order

    auto = importlib.import_module("pebble_sched.solve")
    g = layered(40, seed=3)
    bad = g.topological_order()
    worst = evaluate_indices(g, bad).peak

    def weak_upper(graph, deadline, rng, callbacks, share=0.15):
        return bad, worst

    monkeypatch.setattr(auto, "_quick_upper", weak_upper)
    beam = beam_order(g, auto.AUTO_BEAM_WIDTHS[0])
    beam_peak = evaluate_indices(g, beam).peak
    assert beam_peak < worst  # (the test needs a graph where it is better)
    hints = []
    real_solve = CpSatModel.solve

    def spy(self, deadline=None, *, hint=None, **kw):
        hints.append(None if hint is None else np.asarray(hint).tolist())
        return real_solve(self, deadline, hint=hint, **kw)

    monkeypatch.setattr(CpSatModel, "solve", spy)
    seen = []
    s = solve(
        g,
        method=method,
        callbacks=Callbacks(on_improvement=lambda o, p: seen.append(p)),
    )
    assert seen and seen[0] == beam_peak
    if method == "cpsat":
        assert hints == [beam.tolist()]
    assert s.status is Status.OPTIMAL
    assert s.peak == solve(g, method="ideals").peak


def test_auto_raises_its_bound_with_the_pair_bound(monkeypatch):
    """Tests that auto runs the pair bound where the heuristic's order is
    not proven, reports its phase, and answers with a bound at least the
    pair bound's and never above the peak (wide-n100: cut bound 642, pair
    bound 671; here the pair bound may take all the time it needs, so that
    a loaded machine does not cut it short)."""
    import importlib

    from pebble_sched.bounds import cut_bound
    from pebble_sched.formats import read_graph
    from pebble_sched.runtime import Callbacks

    from .helpers import ROOT

    auto = importlib.import_module("pebble_sched.solve")
    monkeypatch.setattr(auto, "AUTO_PAIR_SHARE", 1.0)
    g = read_graph(ROOT / "instances/wide/wide-n100-w30-p0.07-s0.json")
    phases = []
    s = solve(g, time_limit=3, callbacks=Callbacks(on_phase=phases.append))
    assert "pair bound" in phases
    got = s.stats["pair_bound"]["bound"]
    assert cut_bound(g) < got <= s.lower_bound <= s.peak


def test_ctrl_c_in_the_pair_bound_keeps_what_it_proved(monkeypatch):
    """Tests that a bound the pair bound proved before Ctrl-C is the
    answer's (it reports each rise as it happens), with the best order."""
    import importlib

    from pebble_sched.bounds import pair_bound
    from pebble_sched.formats import read_graph

    from .helpers import ROOT

    auto = importlib.import_module("pebble_sched.solve")
    g = read_graph(ROOT / "instances/wide/wide-n100-w30-p0.07-s0.json")
    proved = pair_bound(g, triples=0, quads=0)  # (pairs only: 671)

    def interrupted(graph, *args, on_bound=None, **kwargs):
        pair_bound(graph, triples=0, quads=0, on_bound=on_bound)
        raise KeyboardInterrupt

    monkeypatch.setattr(auto, "pair_bound", interrupted)
    s = solve(g, time_limit=30)
    assert s.stats.get("interrupted") == "ctrl-c"
    assert s.lower_bound == proved < s.peak
    assert verify(g, s) == s.peak


def _stats_under(stats, key: str) -> list:
    """Every value stored under ``key`` in nested stats (blocks included)."""
    found = []
    if isinstance(stats, dict):
        for k, v in stats.items():
            found += [v] if k == key else _stats_under(v, key)
    elif isinstance(stats, (list, tuple)):
        for v in stats:
            found += _stats_under(v, key)
    return found


def test_auto_runs_a_capped_ideal_search_on_larger_graphs(monkeypatch):
    """Tests the capped ideal search auto runs above AUTO_IDEALS_MAX_NODES
    (lowered here, with CP-SAT, the pair bound and the beams off, so that
    nothing else can prove these layered graphs): it proves most of them
    optimal, the peak the full ideal search finds, with and without a
    time limit; raised above AUTO_LARGE_IDEALS_MAX_NODES (lowered too),
    it does not run and they stay unproven."""
    import importlib

    from pebble_sched.solvers.ideals import ideal_search

    module = importlib.import_module("pebble_sched.solve")
    for name, value in (
        ("AUTO_IDEALS_MAX_NODES", 10),
        ("AUTO_CPSAT_MAX_NODES", 10),
        ("AUTO_PAIR_BOUND", False),
        ("AUTO_BEAM", False),
    ):
        monkeypatch.setattr(module, name, value)
    graphs_ = [layered(40, 6, 0.3, seed=seed) for seed in range(8)]
    optima = [ideal_search(g)[1] for g in graphs_]
    proven_by_it = 0
    for g, opt in zip(graphs_, optima, strict=True):
        for limit in (None, 30):
            s = solve(g, time_limit=limit)
            assert_valid_schedule(g, s)
            assert s.lower_bound <= opt <= s.peak
            runs = _stats_under(s.stats, "ideals (large)")
            if runs and runs[0]["searches"][-1][1] == "infeasible":
                assert s.status is Status.OPTIMAL and s.peak == opt
                proven_by_it += 1
    assert proven_by_it >= 8  # five graphs of eight, twice each, in a trial
    monkeypatch.setattr(module, "AUTO_LARGE_IDEALS_MAX_NODES", 20)
    unproven = 0
    for g in graphs_:
        s = solve(g)
        assert not _stats_under(s.stats, "ideals (large)")
        unproven += s.status is not Status.OPTIMAL
    assert unproven >= 3  # five in a trial


def test_auto_runs_an_early_local_search_on_the_clock(monkeypatch):
    """Tests that under a time limit, on a graph that is not SP and whose
    heuristic order is not proven, auto runs a local search right after
    the heuristic, before the SP regions and the exact steps (and not
    without a limit, nor with the switch off); on the near-SP graph
    where this was added (k = 8, seed 0) it finds the optimum, 823, which
    the steps after it had missed in 30 s."""
    import importlib

    from pebble_sched.generators import near_series_parallel

    module = importlib.import_module("pebble_sched.solve")
    calls = _log_calls(
        monkeypatch,
        module,
        {"local_search": "local search", "fix_sp_regions": "regions"},
    )
    g = near_series_parallel(300, 8, seed=0, max_out_degree=None)
    s = solve(g, time_limit=30)
    assert calls[:2] == ["local search", "regions"]
    assert s.peak == 823 and s.status is Status.OPTIMAL
    assert_valid_schedule(g, s)
    monkeypatch.setattr(module, "AUTO_EARLY_LS", False)
    calls.clear()
    solve(g, time_limit=3.0)
    assert calls[:1] == ["regions"]
    monkeypatch.setattr(module, "AUTO_EARLY_LS", True)
    small = layered(40, 6, 0.3, seed=1)  # (reaches the SP regions)
    calls.clear()
    solve(small)  # no limit: no early local search
    assert calls[:1] == ["regions"]


def test_auto_ctrl_c_while_the_sp_functions_load_keeps_a_cheap_order(
    monkeypatch,
):
    """Tests that Ctrl-C while ``auto`` loads (or compiles: seconds on a
    cold cache) the SP solver's compiled functions on an SP graph up to
    20,000 nodes returns the order of the Liu relaxation that ``auto``
    runs first (0.05 s at 20,000 nodes), not the input order (there 2,961
    against 8,612)."""
    import sys

    from pebble_sched.generators import series_parallel
    from pebble_sched.memory import evaluate_indices
    from pebble_sched.solvers.heuristics import liu_relaxation_order

    solve_module = sys.modules["pebble_sched.solve"]
    g = series_parallel(2_000, seed=1, max_out_degree=6)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(solve_module, "_warm_kernels", interrupted)
    s = solve(g, method="auto", time_limit=60)
    assert_valid_schedule(g, s)
    assert s.stats["interrupted"] == "ctrl-c"
    relaxed = liu_relaxation_order(g, np.arange(g.n))
    assert s.peak == evaluate_indices(g, relaxed).peak
    assert s.peak < evaluate_indices(g, np.arange(g.n)).peak


def test_auto_names_the_input_order_when_a_tree_has_no_time():
    """Tests that ``auto`` on an in-tree with no time left for Liu's
    algorithm names the input order it returns (it said ``tree``)."""
    from pebble_sched.generators import in_tree

    g = in_tree(60_000, seed=1)  # (Liu's algorithm looks at the clock)
    s = solve(g, time_limit=0)
    assert_valid_schedule(g, s)
    assert s.method == "input" and s.stats["fallback"] == "input"
    assert s.status is not Status.OPTIMAL or s.peak == s.lower_bound
    assert solve(g, time_limit=10).method == "tree"


@pytest.mark.parametrize(
    ("method", "option"),
    [
        ("ideals", "frobnicate"),
        ("ideals", "sp_family"),
        ("inductor", "max_states"),
        ("input", "upper"),
        ("cpsat", "max_window"),
        ("auto", "max_states"),
        ("sp", "plain"),
        ("tree", "max_states"),
        ("heuristic", "sp_family"),
    ],
)
def test_an_option_the_method_does_not_take_is_an_error(method, option):
    """Tests that ``solve`` rejects an option its method does not take,
    naming it and the method's options (before, ``ideals``, ``cpsat``,
    the baselines and Liu's path of ``tree`` dropped it in silence: a
    misspelt ``max_state=`` ran with the default cap)."""
    g = in_tree(30, seed=1) if method == "tree" else layered(20, seed=1)
    with pytest.raises(ValueError, match=f"Unknown option '{option}'"):
        solve(g, method, time_limit=5, **{option: 1})


@pytest.mark.parametrize("method", ["auto", *METHODS])
def test_every_method_takes_num_workers(method):
    """Tests that ``num_workers`` is taken by every method (a loop over
    the methods passes it), used where it applies."""
    g = in_tree(9, seed=1)
    if method == "pumpkin":  # (a tree is not a pumpkin)
        g = Graph(
            range(4), [(0, 1), (0, 2), (1, 3), (2, 3)], size=[3, 1, 2, 1]
        )
    s = solve(g, method, time_limit=5, num_workers=1)
    assert_valid_schedule(g, s)


def test_solve_names_what_it_takes():
    """Tests that ``solve`` given a file name or a dict says it takes a
    Graph (and how to read one), instead of an AttributeError."""
    with pytest.raises(TypeError, match="read_graph"):
        solve("graph.json")
    with pytest.raises(TypeError, match="not dict"):
        solve({"nodes": [], "edges": []})


def test_a_bad_seed_is_named():
    """Tests that a seed that is not an int or a Generator, or negative, is
    a clear error (numpy's said "SeedSequence expects int or sequence of
    ints for entropy not x")."""
    g = layered(20, seed=1)
    with pytest.raises(TypeError, match="seed must be an int"):
        solve(g, seed="x", time_limit=1)
    with pytest.raises(TypeError, match="not float"):
        solve(g, seed=1.5, time_limit=1)
    with pytest.raises(ValueError, match="non-negative"):
        solve(g, seed=-1, time_limit=1)
    for seed in (None, 3, np.int64(4), np.random.default_rng(1)):
        assert_valid_schedule(g, solve(g, seed=seed, time_limit=1))
