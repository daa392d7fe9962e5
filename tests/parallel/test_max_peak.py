"""Tests of the maximum parallel peak against enumeration of every execution state (#13)."""

from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pebble_sched import Graph, evaluate
from pebble_sched.graph import Buffer
from pebble_sched.parallel import (
    brute_force_max_parallel_peak,
    max_parallel_peak,
    state_memory,
)
from tests.helpers import graphs, topological_orders


def reference_buffers(graph):
    """``(producer, size, release set, output)`` straight from the file's shorthands."""
    out = []
    for v in graph.ids:
        i = graph.index(v)
        succ = tuple(graph.successors(v))
        s = int(graph.node_size[i])
        if s:
            sink = not succ
            out.append((v, s, succ or (v,), sink and graph.keep_outputs))
        w = int(graph.workspace[i])
        if w:
            out.append((v, w, (v,), False))
    for k in range(graph.m):
        s = int(graph.edge_size[k])
        if s:
            u, v = graph.ids[graph.edge_src[k]], graph.ids[graph.edge_dst[k]]
            out.append((u, s, (v,), False))
    for b in graph.buffers:
        if b.size:
            release = b.consumers or ((b.producer,) if b.producer else ())
            out.append((b.producer, b.size, tuple(release), b.output))
    return out


def reference_max(graph):
    """Largest memory over every reachable (started, finished) pair."""
    ids = graph.ids
    preds = {v: set(graph.predecessors(v)) for v in ids}
    bufs = reference_buffers(graph)
    best = 0
    for marks in product((0, 1, 2), repeat=len(ids)):  # 0 idle 1 run 2 done
        state = dict(zip(ids, marks, strict=True))
        if any(state[v] and any(state[u] != 2 for u in preds[v]) for v in ids):
            continue
        anything = any(marks)
        mem = 0
        for prod, size, release, output in bufs:
            if prod is not None and not state[prod]:
                continue
            if prod is None and not release and not output:
                live = not anything
            else:
                live = output or any(state[c] != 2 for c in release)
            mem += size if live else 0
        best = max(best, mem)
    return best


def _witness_ok(graph, r):
    assert state_memory(graph, r.started, r.finished) == r.value
    assert r.value <= r.upper_bound


def test_hand_checked():
    """Tests a chain, a fork and an edge-weighted fork-join by hand."""
    chain = Graph(["a", "b", "c"], [("a", "b"), ("b", "c")], size=[1, 2, 3])
    # b running: a's and b's buffers; c running: b's and c's
    assert max_parallel_peak(chain).value == 5
    fork = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    r = max_parallel_peak(fork)  # b and c running together
    assert (r.value, r.exact, set(r.running)) == (6, True, {"b", "c"})
    # fork-join with 3 branches of data 5 each on edges: all in flight
    ids = ["s", "x", "y", "z", "t"]
    edges = [("s", v) for v in "xyz"] + [(v, "t") for v in "xyz"]
    fj = Graph(ids, edges, edge_size=[5, 5, 5, 0, 0, 0])
    assert max_parallel_peak(fj).value == 15


@settings(max_examples=150, deadline=None)
@given(graphs(max_nodes=6))
def test_brute_force_equals_reference(g):
    """Tests the oracle (ideals, maximal elements running) against every (started, finished) pair."""
    r = brute_force_max_parallel_peak(g)
    assert r.value == reference_max(g)
    _witness_ok(g, r)


@settings(max_examples=150, deadline=None)
@given(graphs(max_nodes=8))
def test_flow_is_exact_or_a_sound_bound(g):
    """Tests that the min cut is exact with one release node per buffer and an upper bound otherwise."""
    truth = brute_force_max_parallel_peak(g).value
    r = max_parallel_peak(g, method="flow")
    _witness_ok(g, r)
    assert r.value <= truth <= r.upper_bound
    if r.stats["flow_exact"]:
        assert r.exact and r.value == truth


@settings(max_examples=100, deadline=None)
@given(graphs(max_nodes=8))
def test_auto_is_exact(g):
    """Tests that auto (flow, then CP-SAT where needed) finds the exact maximum."""
    truth = brute_force_max_parallel_peak(g).value
    r = max_parallel_peak(g)
    _witness_ok(g, r)
    assert r.exact and r.value == truth


@settings(max_examples=60, deadline=None)
@given(graphs(max_nodes=7), st.data())
def test_every_sequential_peak_is_below(g, data):
    """Tests that no sequential order's peak exceeds the parallel maximum (p = 1 is a schedule)."""
    orders = list(topological_orders(g))
    order = data.draw(st.sampled_from(orders)) if orders else []
    assert evaluate(g, order).peak <= max_parallel_peak(g).value


def test_shared_buffer_needs_the_exact_model():
    """Tests a buffer read by two unordered consumers: the cut alone over-counts, CP-SAT does not."""
    # x is read by b and c; d follows b only, so x may be freed while d runs
    g = Graph(
        ["a", "b", "c", "d"],
        [("a", "b"), ("a", "c"), ("b", "d")],
        size=[0, 0, 0, 0],
        workspace=[0, 0, 0, 7],
        buffers=[Buffer("x", "a", 10, ("b", "c"))],
    )
    truth = brute_force_max_parallel_peak(g).value
    flow = max_parallel_peak(g, method="flow")
    exact = max_parallel_peak(g, method="cpsat")
    assert flow.upper_bound >= truth == exact.value and exact.exact
    _witness_ok(g, exact)


def test_bad_method_and_bad_state():
    """Tests the errors: an unknown method, an unreachable state."""
    g = Graph(["a", "b"], [("a", "b")], size=[1, 1])
    with pytest.raises(ValueError, match="Unknown method"):
        max_parallel_peak(g, method="magic")
    with pytest.raises(ValueError, match="started before"):
        state_memory(g, ["a", "b"], [])
