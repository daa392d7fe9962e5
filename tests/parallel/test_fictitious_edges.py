"""Tests of fictitious-edge insertion: every result re-checked by enumeration (#13)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pebble_sched import Graph, evaluate, solve
from pebble_sched.parallel import (
    brute_force_max_parallel_peak,
    max_parallel_peak,
    restrict,
)
from pebble_sched.parallel.fictitious_edges import HEURISTICS, critical_path
from tests.helpers import graphs


def _check(g, r, bound):
    """The restricted graph keeps every edge, is acyclic, and (when successful) stays within the bound."""
    old = set(zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True))
    ids = r.graph.ids
    new = {
        (r.graph.index(ids[a]), r.graph.index(ids[b]))
        for a, b in zip(
            r.graph.edge_src.tolist(), r.graph.edge_dst.tolist(), strict=True
        )
    }
    assert old <= new
    # exactly the added edges are flagged, and they carry no data
    flagged = {
        (ids[a], ids[b])
        for a, b, f in zip(
            r.graph.edge_src.tolist(),
            r.graph.edge_dst.tolist(),
            r.graph.edge_fictitious.tolist(),
            strict=True,
        )
        if f
    }
    assert flagged == set(r.added)
    assert r.graph.topological_order() is not None  # acyclic
    truth = brute_force_max_parallel_peak(r.graph).value
    assert truth <= r.max_peak_after  # the reported bound is sound
    if r.success:
        assert truth <= bound
    assert r.critical_path_after >= r.critical_path_before


@settings(max_examples=80, deadline=None)
@given(graphs(max_nodes=7), st.data())
def test_respect_order_always_succeeds(g, data):
    """Tests that RespectOrder reaches any bound between the sequential optimum and the maximum, with either choice of edges."""
    opt = solve(g, "brute") if g.n else None
    lo = opt.peak if opt else 0
    hi = brute_force_max_parallel_peak(g).value
    bound = data.draw(st.integers(lo, max(lo, hi)))
    order = list(opt.order) if opt else []
    paths = {}
    for choice in ("order", "levels", "both"):
        r = restrict(
            g,
            bound,
            order=order,
            choice=choice,
            prune=False,
            more_orders=False,
            sweep=False,
        )
        assert r.success
        _check(g, r, bound)
        paths[choice] = r.critical_path_after
        # the order is still a schedule of the restricted graph
        if opt:
            assert evaluate(r.graph, order).peak == opt.peak
    assert paths["both"] == min(paths["order"], paths["levels"])
    # pruning keeps a subset of the edges, the bound, and a path no longer
    p = restrict(g, bound, order=order, more_orders=False, sweep=False)
    assert p.success
    _check(g, p, bound)
    assert set(p.added) <= set(r.added)
    assert p.critical_path_after <= r.critical_path_after
    assert p.stats.get("pruned", 0) == len(r.added) - len(p.added)
    # more orders: still within the bound, a path no longer than sigma's
    q = restrict(g, bound, order=order, sweep=False)
    assert q.success
    _check(g, q, bound)
    assert q.critical_path_after <= p.critical_path_after
    # the sweep competes: within the bound, no longer than either
    w = restrict(g, bound, order=order)
    assert w.success
    _check(g, w, bound)
    assert w.critical_path_after <= q.critical_path_after
    if "critical_path_sweep" in w.stats:
        assert w.critical_path_after <= w.stats["critical_path_sweep"]


@settings(max_examples=150, deadline=None)
@given(graphs(max_nodes=8), st.data())
def test_sweep_keeps_every_parallel_schedule_within_the_bound(g, data):
    """Tests the one-pass sweep on any topological order and any bound from
    that order's peak up: its edges follow the order, and the largest
    parallel peak of the result, by enumeration, is within the bound."""
    import numpy as np

    from pebble_sched.memory import evaluate_indices
    from pebble_sched.parallel.fictitious_edges import with_fictitious_edges
    from pebble_sched.parallel.max_peak import _release_sets
    from pebble_sched.parallel.order_sweep import sweep_edges

    topo = g.topological_order()
    # a random topological order: repeatedly take a random ready node
    indeg = np.bincount(g.edge_dst, minlength=g.n).tolist()
    ready = [v for v in range(g.n) if indeg[v] == 0]
    sigma = []
    while ready:
        v = ready.pop(data.draw(st.integers(0, len(ready) - 1)))
        sigma.append(v)
        for w in g.succ_idx[g.succ_ptr[v] : g.succ_ptr[v + 1]].tolist():
            indeg[w] -= 1
            if indeg[w] == 0:
                ready.append(w)
    assert len(sigma) == len(topo)
    sigma = np.asarray(sigma, dtype=np.int64)
    prof = evaluate_indices(g, sigma)
    hi = brute_force_max_parallel_peak(g).value
    bound = data.draw(st.integers(prof.peak, max(prof.peak, hi)))
    added, chained = sweep_edges(
        g.n,
        g.edge_src,
        g.edge_dst,
        _release_sets(g),
        sigma,
        prof.memory,
        bound,
        np.asarray(g.time, dtype=float),
        None,
        _After(data.draw(st.integers(0, g.n + 1))),
        data.draw(st.sampled_from([0, 1 << 14])),  # bound-only or tested
    )
    rank = np.empty(g.n, dtype=np.int64)
    rank[sigma] = np.arange(g.n)
    assert all(rank[a] < rank[b] for a, b in added)
    assert len(set(added)) == len(added)
    ids = g.ids
    h = with_fictitious_edges(g, [(ids[a], ids[b]) for a, b in added])
    assert brute_force_max_parallel_peak(h).value <= max(bound, prof.initial)
    if chained < g.n:  # from there on the nodes run one at a time
        reach = {v: {v} for v in range(h.n)}
        for v in h.topological_order().tolist():
            for w in h.succ_idx[h.succ_ptr[v] : h.succ_ptr[v + 1]].tolist():
                reach[w] |= reach[v]
        for v in sigma[chained:].tolist():
            earlier = {h.index(ids[u]) for u in sigma[: rank[v]].tolist()}
            assert earlier <= reach[h.index(ids[v])]


class _After:
    """A budget that expires after ``k`` checks (the sweep checks it once
    per node): the chaining then starts at node k."""

    def __init__(self, k: int) -> None:
        self.k = k

    def expired(self) -> bool:
        self.k -= 1
        return self.k < 0


@settings(max_examples=60, deadline=None)
@given(graphs(max_nodes=7), st.sampled_from(HEURISTICS[1:]), st.data())
def test_other_heuristics_are_safe(g, method, data):
    """Tests that MinLevels, MaxSize and MaxMinSize never claim a bound they do not keep."""
    lo = solve(g, "brute").peak if g.n else 0
    hi = brute_force_max_parallel_peak(g).value
    bound = data.draw(st.integers(lo, max(lo, hi)))
    r = restrict(g, bound, method)
    _check(g, r, bound)


def test_default_order_reaches_the_sequential_optimum():
    """Tests that without an order, RespectOrder uses solve()'s and reaches the optimum as the bound."""
    from pebble_sched.generators import daggen

    g = daggen(40, fat=0.6, density=0.5, regularity=0.5, jump=2, seed=3)
    opt = solve(g, time_limit=5)
    assert max_parallel_peak(g).value > opt.peak
    r = restrict(g, opt.peak)
    assert r.success and r.max_peak_after <= opt.peak
    assert r.critical_path_after >= r.critical_path_before


def test_errors():
    """Tests a bound below the given order's peak, an unknown method."""
    fork = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    with pytest.raises(ValueError, match="exceeds the bound"):
        restrict(fork, 4, order=["a", "b", "c"])
    with pytest.raises(ValueError, match="Unknown method"):
        restrict(fork, 5, "best-guess")


def test_critical_path():
    """Tests the longest path with node times on a diamond."""
    g = Graph(
        ["a", "b", "c", "d"],
        [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")],
        time=[1, 5, 2, 1],
    )
    length, top, bottom = critical_path(
        g.n, g.edge_src, g.edge_dst, g.time.astype(float)
    )
    assert length == 7 and top.tolist() == [1, 6, 3, 7]
    assert bottom.tolist() == [7, 6, 3, 1]


def test_trace_order_breaking_an_added_edge_is_dropped():
    """Tests that a trace order contradicting a fictitious edge is dropped, not an error (Inception forward failed so)."""
    fork = Graph(
        ["a", "b", "c"],
        [("a", "b"), ("a", "c")],
        size=[4, 1, 1],
        trace_order=["a", "c", "b"],
    )
    r = restrict(fork, 5, order=["a", "b", "c"])
    assert r.added == (("b", "c"),)
    assert r.graph.trace_order is None
    assert "trace_order_dropped" in r.graph.meta
    kept = restrict(fork, 5, order=["a", "c", "b"])
    assert kept.graph.trace_order == ("a", "c", "b")


def test_sweep_answers_within_a_short_time_limit():
    """Tests that on a 1,000-node workflow at its sequential optimum, where
    the iterative method needs hundreds of max-flows, a 3 s limit still
    gives an answer within the bound (the sweep's), checked by the cut."""
    import numpy as np

    from pebble_sched.generators import workflow

    g = workflow("ligo", 230, seed=0)
    g = g.replace(time=np.random.default_rng(0).integers(1, 10, g.n).tolist())
    opt = solve(g, time_limit=5)
    r = restrict(g, opt.peak, order=list(opt.order), time_limit=3)
    assert r.success and r.max_peak_after <= opt.peak
    assert "critical_path_sweep" in r.stats
    assert r.critical_path_after <= r.stats["critical_path_sweep"]
    assert max_parallel_peak(r.graph).upper_bound <= opt.peak


def test_interrupt_during_refinement_keeps_the_sweeps_answer(monkeypatch):
    """Tests that Ctrl-C (KeyboardInterrupt) while the iterative method
    refines returns the sweep's answer, within the bound, marked so; and
    that one before any answer propagates."""
    import pebble_sched.parallel.fictitious_edges as fe
    from pebble_sched.generators import workflow

    g = workflow("ligo", 20, seed=0)
    opt = solve(g, time_limit=5)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(fe, "_insert", interrupted)
    r = restrict(g, opt.peak, order=list(opt.order))
    assert r.success and r.stats["interrupted"] == "signal"
    assert max_parallel_peak(r.graph).upper_bound <= opt.peak
    with pytest.raises(KeyboardInterrupt):
        restrict(g, opt.peak, order=list(opt.order), sweep=False)
