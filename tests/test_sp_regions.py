"""Tests of fixing a DAG's closed series-parallel regions to their dominant orders (#16, near-SP graphs)."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pebble_sched import Graph, solve
from pebble_sched.generators import near_series_parallel
from pebble_sched.memory import evaluate_indices
from pebble_sched.solvers.brute_force import brute_force
from pebble_sched.solvers.series_parallel import decompose
from pebble_sched.solvers.sp_regions import fix_sp_regions, post_dominators

from .helpers import graphs


@settings(max_examples=150, deadline=None)
@given(graphs(max_nodes=12, features=False))
def test_post_dominators_match_networkx(g):
    """Tests the immediate post-dominators against networkx's dominators of the reversed graph with a virtual sink."""
    n = g.n
    if n == 0:
        return
    h = nx.DiGraph()
    h.add_nodes_from(range(n + 1))
    for a, b in zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True):
        h.add_edge(b, a)
    for v in np.flatnonzero(np.diff(g.succ_ptr) == 0).tolist():
        h.add_edge(n, v)
    idom = nx.immediate_dominators(h, n)
    mine = post_dominators(g)
    assert [int(x) for x in mine] == [idom[v] for v in range(n)]


def _same_optimum(g: Graph) -> None:
    r = fix_sp_regions(g)
    fixed = r.graph
    # the same memory for every order of the fixed graph
    topo = fixed.topological_order()
    assert evaluate_indices(fixed, topo).peak == evaluate_indices(g, topo).peak
    # and the same optimum: nothing optimal was cut off
    best = brute_force(g)[1]
    assert brute_force(fixed)[1] == best
    assert r.lower <= best
    assert r.fixed == sum(size for _a, _b, size in r.regions)


@settings(max_examples=200, deadline=None)
@given(graphs(max_nodes=9))
def test_fixed_regions_keep_the_optimum_on_random_graphs(g):
    """Tests on random DAGs with every memory feature (node sizes, workspaces, edge sizes, explicit buffers, inputs, outputs) that fixing the regions keeps every order's peak and the optimum."""
    _same_optimum(g)


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 3), st.integers(9, 12))
def test_fixed_regions_keep_the_optimum_on_near_sp_graphs(seed, k, n):
    """Tests against brute force on series-parallel graphs with k cross edges, where regions are many."""
    try:
        g = near_series_parallel(n, k, seed=seed, max_size=20)
    except ValueError:  # too few parallel pairs for k cross edges
        assume(False)
    _same_optimum(g)


def test_regions_of_a_near_sp_graph():
    """Tests that a cross edge spoils only the regions around it: on an SP graph every fork's region is fixed, with one cross edge most nodes stay fixed, and the fixed graph is never SP-ized away (its orders are the original's)."""
    sp = near_series_parallel(150, 0, seed=1)
    assert decompose(sp).is_sp
    whole = fix_sp_regions(sp)
    assert whole.fixed >= 140
    one = fix_sp_regions(near_series_parallel(150, 1, seed=1))
    assert 0 < one.fixed < whole.fixed
    # the fixed precedences are an order of each region's interior
    edges = set(
        zip(
            one.graph.edge_src.tolist(),
            one.graph.edge_dst.tolist(),
            strict=True,
        )
    )
    assert len(edges) > one.graph.n


@pytest.mark.parametrize("k", [1, 3, 5])
def test_auto_proves_near_sp_optima(k):
    """Tests that auto reports the region-fixed search's result with the status it proves, and that the peak is that of the returned order on the original graph."""
    g = near_series_parallel(60, k, seed=k, max_out_degree=None)
    s = solve(g, time_limit=20)
    assert s.peak == evaluate_indices(g, g.to_indices(s.order)).peak
    assert s.status.value == "optimal"
    assert s.peak == brute_force_small(g)


def brute_force_small(g):
    """The ideal search without regions (exact, small graphs)."""
    return solve(g, method="ideals", time_limit=60).peak


def test_no_region_on_tiny_or_chain_graphs():
    """Tests the trivial cases: nothing to fix returns the graph itself."""
    chain = Graph(list(range(5)), list(itertools.pairwise(range(5))))
    r = fix_sp_regions(chain)
    assert r.graph is chain and r.fixed == 0


@pytest.mark.parametrize("seed", range(20))
def test_fixed_regions_keep_the_optimum_beyond_brute_force(seed):
    """Tests on near-SP graphs of 30 to 45 nodes, with the ideal search (exact) on both graphs, that fixing the regions keeps the proven optimum."""
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(30, 46)), int(rng.integers(1, 5))
    g = near_series_parallel(n, k, seed=seed, max_out_degree=None)
    r = fix_sp_regions(g)
    a = solve(g, method="ideals", time_limit=60)
    b = solve(r.graph, method="ideals", time_limit=60)
    assert a.status.value == b.status.value == "optimal"
    assert a.peak == b.peak
