"""Orders of nearly series-parallel DAGs (solvers/near_sp)."""

from __future__ import annotations

import sys
from unittest import mock

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pebble_sched import Graph, solve
from pebble_sched.generators import near_series_parallel, series_parallel
from pebble_sched.memory import evaluate_indices
from pebble_sched.runtime import TimeUp
from pebble_sched.solvers.near_sp import (
    _branches,
    _prefixes,
    _reaches,
    _succ,
    _sync,
    near_sp_order,
    sp_core,
)
from pebble_sched.solvers.series_parallel import decompose

# (nodes, cross edges, seed, out-degree bound) of a near-SP graph
near_cases = (
    st.integers(8, 40),
    st.integers(1, 4),
    st.integers(0, 10**6),
    st.sampled_from([None, 2, 3]),
)


def _near(n: int, k: int, seed: int, out: int | None) -> Graph | None:
    try:
        return near_series_parallel(n, k, seed=seed, max_out_degree=out)
    except ValueError:  # no room for k cross edges
        return None


@settings(max_examples=150, deadline=None)
@given(*near_cases)
@example(40, 4, 312, None)  # (the greedy core search needs 18 edges)
def test_orders_are_valid_and_evaluated_on_the_graph(n, k, seed, out):
    g = _near(n, k, seed, out)
    if g is None:
        return
    r = near_sp_order(g)
    if r is None:  # only where the SP core is not found within 16 edges
        assert sp_core(g) is None
        return
    assert sorted(r.order.tolist()) == list(range(g.n))
    # evaluate_indices checks every edge of g; near_sp_order itself checks
    # the order before any repair when every cross edge was synchronised
    evaluate_indices(g, r.order)
    assert r.synced + r.unsynced <= len(r.cross) <= 16
    assert decompose(g).is_sp == (not r.cross)


@settings(max_examples=150, deadline=None)
@given(*near_cases)
def test_every_synchronisation_keeps_the_graph_sp_and_its_edges(
    n, k, seed, out
):
    """Each cut of the first cross edge u -> v: the new graph is SP, every
    edge of the core is still a path, u reaches v (through the join)."""
    g = _near(n, k, seed, out)
    if g is None:
        return
    edges, cross = sp_core(g)
    assert decompose(Graph(range(g.n), sorted(edges))).is_sp
    assert set(cross) | edges == set(
        zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True)
    )
    if not cross:
        return
    u, v = cross[0]
    if _reaches(_succ(edges), u, v):
        return
    size = g.node_size.tolist()
    dec = decompose(Graph(range(g.n), sorted(edges)))
    a, b = _branches(dec.tree, u, v)
    pre_a = [p for p in _prefixes(a) if u in p]
    pre_b = [set()] + [p for p in _prefixes(b) if v not in p]
    assert pre_a and u in pre_a[-1] and v in set(b.nodes())
    for x in pre_a:
        for y in pre_b:
            xs = x | y
            ys = (pre_a[-1] - x) | (set(b.nodes()) - y)
            new, jsize = _sync(edges, size, xs, ys, g.n)
            assert jsize >= 0
            h = Graph(range(g.n + 1), sorted(new))
            assert decompose(h).is_sp
            succ = _succ(new)
            assert _reaches(succ, u, v)
            for e0, e1 in edges:
                assert _reaches(succ, e0, e1)


def test_sinks_and_sources_of_the_core_are_synchronised_too():
    """Removing cross edges can leave a node without successors (or
    predecessors) in the core: it hangs on the decomposition's virtual
    sink (source), not on an edge, and the join must still be ordered
    after (before) it. Found by the test above: without that, the order
    of this graph ran node 1 before node 0."""
    g = Graph(
        range(6),
        [
            (0, 1),
            (1, 2),
            (1, 3),
            (1, 4),
            (2, 3),
            (2, 5),
            (3, 4),
            (3, 5),
            (4, 5),
        ],
        size=[8, 5, 6, 9, 7, 6],
    )
    assert not decompose(g).is_sp
    r = near_sp_order(g)
    assert r is not None and r.synced
    evaluate_indices(g, r.order)


def test_sp_graphs_have_an_empty_core_difference_and_limits_hold():
    g = series_parallel(60, seed=3)
    edges, cross = sp_core(g)
    assert cross == [] and len(edges) == g.m
    h = near_series_parallel(80, 6, seed=1, max_out_degree=None)
    assert sp_core(h, max_cross=0) is None
    assert near_sp_order(h, max_cross=0) is None


def test_auto_proves_a_near_sp_graph_with_the_synchronised_order():
    """300 nodes, one cross edge: the SP core's own optimum (630) is not an
    order of the graph, its repair costs 726, SP-ization 958; the
    synchronised core gives 649, the cut bound, so auto stops there
    (before this, the same graph took a CP-SAT run of about 100 s)."""
    g = near_series_parallel(300, 1, seed=0, max_out_degree=None)
    s = solve(g)
    assert s.status.value == "optimal"
    assert s.peak == s.lower_bound == 649
    assert s.stats["sp"]["algorithm"] == "near-sp"
    assert s.stats["sp"]["near_sp"]["peak"] == 649
    # it stopped at the bound: fewer SP graphs than the whole search's
    assert s.stats["sp"]["near_sp"]["candidates"] < near_sp_order(g).candidates


def test_near_sp_running_out_of_time_keeps_the_spization_order():
    solve_module = sys.modules["pebble_sched.solve"]
    g = near_series_parallel(120, 2, seed=4, max_out_degree=None)

    def late(*_a, **_k):
        raise TimeUp

    with mock.patch.object(solve_module, "near_sp_order", late):
        order, exact, stats = solve_module.sp_candidate(
            g, solve_module.Deadline(), np.random.default_rng(0), None
        )
    assert not exact
    assert stats["near_sp"] == {"interrupted": "time"}
    assert evaluate_indices(g, order).peak == min(
        stats["spized_peak"], stats["base_peak"]
    )


def _first_call_only(real, error: type[BaseException]):
    """A stand-in for ``real`` that answers its first call and raises
    ``error`` on every later one."""
    calls = 0

    def fake(*a, **k):
        nonlocal calls
        calls += 1
        if calls > 1:
            raise error
        return real(*a, **k)

    return fake


def test_the_deadline_returns_the_best_order_found_so_far():
    """Out of time after the core's own order: that order, marked; out of
    time before it: TimeUp (nothing to return)."""
    near_module = sys.modules["pebble_sched.solvers.near_sp"]
    g = near_series_parallel(120, 3, seed=2, max_out_degree=None)
    second_fails = _first_call_only(near_module.sp_order, TimeUp)
    with mock.patch.object(near_module, "sp_order", second_fails):
        r = near_sp_order(g)
    assert r.interrupted and r.source == "core, repaired"
    evaluate_indices(g, r.order)

    def always_fails(*a, **k):
        raise TimeUp

    with (
        mock.patch.object(near_module, "sp_order", always_fails),
        pytest.raises(TimeUp),
    ):
        near_sp_order(g)


def test_auto_above_the_spization_size_runs_the_near_sp_orders_alone():
    """Above AUTO_SPIZE_MAX_NODES (lowered here to 100 nodes) SP-ization is
    skipped and the near-SP orders run on their own: the same graph is
    proven by them."""
    solve_module = sys.modules["pebble_sched.solve"]
    g = near_series_parallel(300, 1, seed=0, max_out_degree=None)
    with mock.patch.object(solve_module, "AUTO_SPIZE_MAX_NODES", 100):
        s = solve(g, time_limit=60)
    assert "sp" not in s.stats  # no SP-ization
    assert s.stats["near_sp"]["peak"] == s.peak == s.lower_bound == 649
    assert s.status.value == "optimal"
    with (
        mock.patch.object(solve_module, "AUTO_SPIZE_MAX_NODES", 100),
        mock.patch.object(solve_module, "NEAR_SP", False),
    ):
        s = solve(g, time_limit=2)
    assert "near_sp" not in s.stats


def test_ctrl_c_keeps_the_best_near_sp_order():
    """Ctrl-C after the core's own order: near_sp_order returns it marked;
    auto (above the SP-ization size) returns it at once, marked; sp keeps
    it too."""
    near_module = sys.modules["pebble_sched.solvers.near_sp"]
    solve_module = sys.modules["pebble_sched.solve"]
    g = near_series_parallel(300, 1, seed=0, max_out_degree=None)
    real = near_module.sp_order

    with mock.patch.object(
        near_module, "sp_order", _first_call_only(real, KeyboardInterrupt)
    ):
        r = near_sp_order(g)
    assert r.interrupted == "ctrl-c" and r.source == "core, repaired"
    core_peak = evaluate_indices(g, r.order).peak
    with (
        mock.patch.object(
            near_module, "sp_order", _first_call_only(real, KeyboardInterrupt)
        ),
        mock.patch.object(solve_module, "AUTO_SPIZE_MAX_NODES", 100),
    ):
        s = solve(g, time_limit=60)
    assert s.stats["interrupted"] == "ctrl-c"
    assert s.peak == core_peak and s.status.value == "feasible"
    with mock.patch.object(
        near_module, "sp_order", _first_call_only(real, KeyboardInterrupt)
    ):
        s = solve(g, method="sp")
    assert s.stats["interrupted"] == "ctrl-c"
    assert s.peak <= core_peak


def test_target_stops_the_search_and_measure_chooses_the_orders():
    """``target`` at or above the first order's peak: one candidate.
    ``measure`` (same nodes and edges, other sizes): the order returned has
    the least peak there among all the candidates."""
    near_module = sys.modules["pebble_sched.solvers.near_sp"]
    g = near_series_parallel(120, 3, seed=5, max_out_degree=None)
    r = near_sp_order(g, target=10**9)
    assert r.candidates == 1 and r.source == "core, repaired"
    rng = np.random.default_rng(1)
    real = near_module._valid
    for _ in range(3):
        other = g.replace(size=rng.integers(1, 100, g.n))
        peaks = []

        def recorder(*a, peaks=peaks):
            out = real(*a)
            peaks.append(out[1])
            return out

        with mock.patch.object(near_module, "_valid", recorder):
            r = near_sp_order(g, measure=other)
        assert len(peaks) == r.candidates > 1
        assert evaluate_indices(other, r.order).peak == min(peaks)
