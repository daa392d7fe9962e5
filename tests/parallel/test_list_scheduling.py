"""Tests of the p-processor schedulers and their simulator (#13)."""

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pebble_sched import Graph, evaluate, solve
from pebble_sched.parallel import (
    brute_force_max_parallel_peak,
    list_schedule,
    memory_aware_schedule,
    restrict,
    simulate,
    state_memory,
)
from pebble_sched.parallel.fictitious_edges import critical_path
from tests.helpers import graphs


@st.composite
def timed_graphs(draw):
    """Random graphs with every memory feature and durations 0..5."""
    g = draw(graphs(max_nodes=7))
    times = draw(st.lists(st.integers(0, 5), min_size=g.n, max_size=g.n))
    return g.replace(time=times)


def _bounds_ok(g, s):
    total = float(g.time.sum())
    cp = critical_path(g.n, g.edge_src, g.edge_dst, g.time.astype(float))[0]
    assert s.makespan >= max(cp, total / s.procs) - 1e-9
    assert s.makespan <= total / s.procs + cp + 1e-9  # Graham


@settings(max_examples=100, deadline=None)
@given(timed_graphs(), st.integers(1, 4))
def test_list_schedule_is_valid_and_measured(g, p):
    """Tests precedences, processors, Graham's bound, and peak <= the parallel maximum."""
    s = list_schedule(g, p)
    assert not s.deadlock and len(s.start) == g.n
    assert simulate(g, s.start) == (s.makespan, s.peak)
    if g.n:
        _bounds_ok(g, s)
    assert s.peak <= brute_force_max_parallel_peak(g).value
    # no processor runs two nodes at once
    for q in range(p):
        spans = sorted(
            (s.start[v], s.start[v] + float(g.time[g.index(v)]))
            for v in g.ids
            if s.processor[v] == q
        )
        assert all(a[1] <= b[0] + 1e-9 for a, b in itertools.pairwise(spans))


@settings(max_examples=100, deadline=None)
@given(graphs(max_nodes=7))
def test_one_processor_reproduces_evaluate(g):
    """Tests that on one processor the simulated peak is exactly the sequential evaluate() peak."""
    s = list_schedule(g, 1)
    order = sorted(g.ids, key=lambda v: (s.start[v], g.index(v)))
    assert s.peak == evaluate(g, order).peak


@settings(max_examples=60, deadline=None)
@given(timed_graphs(), st.integers(1, 4), st.data())
def test_restricted_graph_keeps_the_bound_on_any_processors(g, p, data):
    """Tests that list schedules of a RespectOrder-restricted graph stay within M."""
    if not g.n:
        return
    opt = solve(g, "brute")
    hi = brute_force_max_parallel_peak(g).value
    bound = data.draw(st.integers(opt.peak, max(opt.peak, hi)))
    r = restrict(g, bound, order=list(opt.order))
    s = list_schedule(r.graph, p)
    assert s.peak <= bound


@settings(max_examples=100, deadline=None)
@given(timed_graphs(), st.integers(1, 4), st.integers(0, 60))
def test_memory_aware_never_exceeds_or_hangs(g, p, bound):
    """Tests that the dynamic scheduler stays within M or reports a deadlock."""
    s = memory_aware_schedule(g, p, bound)
    # graph inputs are resident at time 0, before any choice is made
    at_start = state_memory(g, [], [])
    if s.deadlock:
        assert len(s.start) < g.n
    else:
        assert len(s.start) == g.n
        assert s.peak <= max(bound, at_start)


def test_deadlock_is_reported():
    """Tests a fork whose two branches each hold memory: with M = 5 both branches cannot start."""
    g = Graph(
        ["a", "b", "c", "d"],
        [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")],
        size=[1, 3, 3, 1],
    )
    # a (1) then b (1+3): 4; c needs 1+3+3 = 7 > 6, b must finish first but
    # d needs c: with M = 4, c can never start
    s = memory_aware_schedule(g, 2, 4)
    assert s.deadlock and "d" not in s.start
    assert memory_aware_schedule(g, 2, 7).deadlock is False


def test_simulate_rejects_bad_schedules():
    """Tests a start before a predecessor's finish, and a missing node."""
    g = Graph(["a", "b"], [("a", "b")], size=[1, 1], time=[2, 1])
    with pytest.raises(ValueError, match="before its predecessor"):
        simulate(g, {"a": 0, "b": 1})
    with pytest.raises(ValueError, match="no start time"):
        simulate(g, {"a": 0})
