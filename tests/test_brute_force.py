"""Tests of the brute-force oracle and of the lower bounds against it."""

import pytest
from hypothesis import given

from pebble_sched import Graph, PebbleSchedError, evaluate
from pebble_sched.bounds import (
    cut_bound,
    local_bound,
    lower_bound,
    reachability_bound,
)
from pebble_sched.solvers.brute_force import brute_force

from .helpers import graphs, reference_memory, topological_orders


@given(graphs(max_nodes=6))
def test_brute_force_is_minimum_over_all_orders(g):
    """Tests that brute force equals the minimum over every topological order."""
    order, peak = brute_force(g)
    best = min(reference_memory(g, o)[0] for o in topological_orders(g))
    assert peak == best
    assert evaluate(g, [g.ids[v] for v in order]).peak == peak


@given(graphs(max_nodes=9))
def test_bounds_never_exceed_optimum(g):
    """Tests that every lower bound is at most the brute-force optimum."""
    _, opt = brute_force(g)
    lb1, lb2, lb3 = local_bound(g), reachability_bound(g), cut_bound(g)
    assert lb1 <= lb2 <= lb3 <= opt
    assert lower_bound(g) <= opt


def test_reachability_bound_beats_local_bound():
    """Tests a case where forced-live buffers make the reachability bound tighter."""
    # x (size 10) is an ancestor of b read by c, a descendant of b: it is
    # live while b runs (10 + 1 + 5 = 16); no single node reads 16.
    g = Graph(
        ["x", "a", "b", "c"],
        [("x", "a"), ("x", "c"), ("a", "b"), ("b", "c")],
        size=[10, 1, 5, 0],
    )
    assert local_bound(g) < reachability_bound(g) == brute_force(g)[1]


def test_refuses_large_graphs():
    """Tests that brute force refuses more than 12 nodes with a clear error."""
    with pytest.raises(PebbleSchedError, match="at most 12 nodes"):
        brute_force(Graph(range(13)))


def test_cut_bound_beats_reachability_bound():
    """Tests a case where choosing the cheapest ideal per node raises the bound."""
    # a -> {b -> c, d} -> e: while c runs (reading b: 4 + 5), either d has
    # run (its 3 bytes wait for e) or not (a's 2 bytes wait for d): 2 more
    g = Graph(
        list("abcde"),
        [("a", "b"), ("a", "d"), ("b", "c"), ("c", "e"), ("d", "e")],
        size=[2, 4, 5, 3, 2],
    )
    assert reachability_bound(g) == 10
    assert cut_bound(g) == brute_force(g)[1] == 11
