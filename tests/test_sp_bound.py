"""The fork relaxation bound of series-parallel graphs (solvers/sp_bound)."""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pebble_sched import solve
from pebble_sched.bounds import lower_bound
from pebble_sched.generators import pumpkin, series_parallel
from pebble_sched.memory import evaluate_indices
from pebble_sched.solvers.brute_force import brute_force
from pebble_sched.solvers.dominant import _Solver
from pebble_sched.solvers.series_parallel import decompose
from pebble_sched.solvers.sp_bound import (
    nested_reads,
    relaxed_graph,
    sp_relaxation_bound,
)

from .test_dominant import partial_reader_sp_graphs, sp_graphs


def _random_orders(g, k: int, seed: int):
    """k random topological orders of g (node indices)."""
    rng = np.random.default_rng(seed)
    nxg = g.to_networkx()
    index = {v: i for i, v in enumerate(g.ids)}
    for _ in range(k):
        indeg = {v: nxg.in_degree(v) for v in nxg}
        ready = [v for v, d in indeg.items() if d == 0]
        order = []
        while ready:
            v = ready.pop(int(rng.integers(len(ready))))
            order.append(index[v])
            for w in nxg.successors(v):
                indeg[w] -= 1
                if indeg[w] == 0:
                    ready.append(w)
        yield order


@settings(deadline=None, max_examples=150)
@given(st.one_of(sp_graphs(), partial_reader_sp_graphs()), st.integers(0, 99))
def test_relaxation_is_a_lower_bound(g, seed):
    """Tests the relaxation against its definition: every order's peak on
    the relaxed graph is at most its peak on the graph, and the bound (when
    proven) is at most the optimum (brute force)."""
    r = decompose(g)
    assume(r.is_sp)
    drop = nested_reads(r, g.n)
    relaxed = relaxed_graph(g, drop)
    for order in _random_orders(g, 3, seed):
        assert (
            evaluate_indices(relaxed, order).peak
            <= evaluate_indices(g, order).peak
        )
    bound = sp_relaxation_bound(g)
    assert bound is None or bound <= brute_force(g)[1]
    if not drop:
        assert bound is None


def test_relaxation_drops_only_nested_reads():
    """Tests that a pumpkin (one flat fork) has nothing to relax, and that
    on a graph with a nested fork the relaxed graph keeps every edge."""
    assert sp_relaxation_bound(pumpkin(4, 3, 3, seed=1)) is None
    g = series_parallel(20, seed=28, max_out_degree=3)
    drop = nested_reads(decompose(g), g.n)
    assert drop
    relaxed = relaxed_graph(g, drop)
    assert relaxed.m == g.m and relaxed.n == g.n  # the precedences stay
    reads = {
        (g.index(b.producer), g.index(c))
        for b in relaxed.buffers
        for c in b.consumers
    }
    explicit = {g.index(b.producer) for b in relaxed.buffers}
    for a, v in zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True):
        if a in explicit:  # a's buffer is explicit now, without the drops
            assert ((a, v) in reads) == ((a, v) not in drop)
        else:  # untouched: a node size read by every successor
            assert all(x != a for x, _ in drop)


def test_relaxation_proves_an_order_the_other_bounds_leave_short():
    """Tests solve on a graph whose one nested fork is left to the
    conjectured family (the proven one made unavailable): the usual bound
    is below the peak, the relaxation meets it, so the order is optimal."""
    g = series_parallel(20, seed=28, max_out_degree=3)
    with mock.patch.object(
        _Solver,
        "_mixed_combos",
        lambda self, trees, cut=None, release=None: None,
    ):
        s = solve(g, method="sp", sp_family="threshold")
    assert s.stats["conjectured_forks"] == 1
    assert lower_bound(g) < s.peak
    assert s.stats["relaxation_bound"] == s.peak == s.lower_bound
    assert s.status.value == "optimal"
    assert s.peak == solve(g, method="ideals").peak  # (exact, independent)


def test_relaxation_of_a_graph_input_read_in_a_nested_branch():
    """Tests the fork at the virtual source: a graph input read by the
    sources, two of them in a nested branch; the relaxation keeps only the
    other source's read, and its bound is the relaxed graph's optimum."""
    from pebble_sched import Graph
    from pebble_sched.buffers import Buffer

    g = Graph(
        ["s1", "s2", "s3", "w", "t"],
        [("s1", "w"), ("s2", "w"), ("w", "t"), ("s3", "t")],
        size=[3, 4, 2, 1, 1],
        buffers=[Buffer("in", None, 5, ("s1", "s2", "s3"))],
    )
    drop = nested_reads(decompose(g), g.n)
    assert drop == {(g.n, g.index("s1")), (g.n, g.index("s2"))}
    relaxed = relaxed_graph(g, drop)
    assert relaxed.buffers == (Buffer("in", None, 5, ("s3",)),)
    bound = sp_relaxation_bound(g)
    assert bound == brute_force(relaxed)[1] <= brute_force(g)[1]


def test_ctrl_c_during_the_relaxation_keeps_the_sp_order(monkeypatch):
    """Tests that Ctrl-C while the relaxation bound is computed returns the
    SP order already found (with the bound so far), under sp and auto; it
    used to fall back to the input order."""
    import sys

    solve_module = sys.modules["pebble_sched.solve"]
    g = series_parallel(20, seed=52, max_out_degree=3)
    monkeypatch.setattr(
        _Solver,
        "_mixed_combos",
        lambda self, trees, cut=None, release=None: None,
    )
    plain = solve(g, method="sp", sp_family="threshold")
    assert "relaxation_bound" in plain.stats  # it runs on this graph

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(solve_module, "sp_relaxation_bound", interrupted)
    for method in ("sp", "auto"):
        s = solve(g, method=method, sp_family="threshold", time_limit=5)
        assert s.peak == plain.peak, method
        assert s.stats.get("interrupted") == "ctrl-c", (method, s.stats)


def test_an_expired_deadline_stops_before_the_relaxed_graph_is_built():
    """Tests that the relaxation gives up (None) on an expired deadline
    before it builds the relaxed graph, which it cannot interrupt."""
    from pebble_sched.runtime import Deadline
    from pebble_sched.solvers import sp_bound

    g = series_parallel(20, seed=28, max_out_degree=3)
    r = decompose(g)
    assert sp_relaxation_bound(g, Deadline(60), r) is not None
    with mock.patch.object(sp_bound, "relaxed_graph") as built:
        assert sp_relaxation_bound(g, Deadline(0), r) is None
    built.assert_not_called()


def test_relaxation_reports_its_progress():
    """Tests that the relaxation's solve reports the share of nodes placed, up to 0.99, and gives the bound it gives without a listener."""
    g = series_parallel(3_000, seed=4, max_out_degree=6)
    done: list[float] = []
    got = sp_relaxation_bound(g, progress=done.append)
    assert got is not None and got == sp_relaxation_bound(g)
    assert len(done) >= 50 and done[-1] == 0.99
    assert all(a < b for a, b in itertools.pairwise(done))
