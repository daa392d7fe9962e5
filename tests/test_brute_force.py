"""Tests of the brute-force oracle and of the lower bounds against it."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def _forced_live_reference(g: Graph) -> int:
    """The reachability bound from its definition, node by node, with
    networkx's ancestors and descendants (the reference for the packed
    implementation)."""
    import networkx as nx

    d = nx.DiGraph()
    d.add_nodes_from(range(g.n))
    d.add_edges_from(
        zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True)
    )
    mb = g.memory_buffers()
    best = local_bound(g)
    for v in range(g.n):
        anc = nx.ancestors(d, v) | {v}
        desc = nx.descendants(d, v) | {v}
        total = 0
        for b in range(len(mb)):
            p = int(mb.producer[b])
            cons = set(
                mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]].tolist()
            )
            made = p < 0 or p in anc
            needed = bool(mb.output[b]) or p == v or bool(cons & desc)
            if made and needed:
                total += int(mb.size[b])
        best = max(best, total)
    return best


@given(graphs(max_nodes=40, max_size=10**6), st.sampled_from([1, 50, 10**6]))
def test_reachability_bound_matches_its_definition(g, cells):
    """Tests the packed reachability bound against the definition evaluated
    node by node (graphs of up to 40 nodes, every memory feature, so with
    several 64-bit words), summed over blocks of one buffer, of a few, or
    all at once."""
    import pebble_sched.bounds as bounds

    old = bounds.REACH_BLOCK_CELLS
    bounds.REACH_BLOCK_CELLS = cells
    try:
        assert reachability_bound(g) == _forced_live_reference(g)
    finally:
        bounds.REACH_BLOCK_CELLS = old


def test_reachability_bound_with_sizes_beyond_floats_and_int64():
    """Tests that sizes totalling 2**53 or more (summed in int64) and 2**63
    or more (in Python integers) give the exact bound."""
    from pebble_sched.generators import layered

    base = layered(30, seed=1)
    for scale in (2**48, 2**55):
        g = base.replace(size=base.node_size.astype(object) * scale)
        assert reachability_bound(g) == _forced_live_reference(g)
        assert reachability_bound(g) == reachability_bound(base) * scale


@given(graphs(max_nodes=9), st.sampled_from([1, 3, 10**6]))
def test_lower_bound_above_the_cut_limit(g, work):
    """Tests the bound of graphs above ``CUT_LIMIT`` nodes (here 0): the
    reachability bound raised by the cut bound of the nodes with the most
    forced-live memory, never above the optimum, never below the
    reachability bound, and the full cut bound once every node is tried."""
    import pebble_sched.bounds as bounds

    old = bounds.CUT_LIMIT, bounds.CUT_WORK
    bounds.CUT_LIMIT, bounds.CUT_WORK = 0, work
    try:
        got = lower_bound(g)
    finally:
        bounds.CUT_LIMIT, bounds.CUT_WORK = old
    assert reachability_bound(g) <= got <= brute_force(g)[1]
    if work // max(1, g.n) >= g.n:  # (CUT_WORK // n nodes are tried)
        assert got == max(cut_bound(g), reachability_bound(g))


def test_cut_bound_on_a_subset_of_nodes():
    """Tests that the cut bound of one node is at most the full one, and
    that the full one is the largest of the single nodes' (here the
    optimum)."""
    g = Graph(
        list("abcde"),
        [("a", "b"), ("a", "d"), ("b", "c"), ("c", "e"), ("d", "e")],
        size=[2, 4, 5, 3, 1],
    )
    full = cut_bound(g)
    assert full == brute_force(g)[1]
    assert all(cut_bound(g, nodes=[v]) <= full for v in range(g.n))
    assert max(cut_bound(g, nodes=[v]) for v in range(g.n)) == full


@given(
    graphs(max_nodes=9),
    st.integers(2, 9),
    st.sampled_from([0, 1, 30]),
    st.sampled_from([0, 1, 30]),
)
def test_pair_bound_never_exceeds_optimum(g, top, triples, quads):
    """Tests that the pair bound (pairs, then triples from the best pairs,
    then sets of four from the best triples) is at least the cut bound
    and never above the brute-force optimum (every memory feature, any
    number of nodes branched on)."""
    from pebble_sched.bounds import pair_bound

    got = pair_bound(g, top=top, triples=triples, quads=quads)
    opt = brute_force(g)[1]
    assert max(cut_bound(g), reachability_bound(g)) <= got <= opt
    # told the optimum, it stops there, or computes the same bound; and
    # it reports each rise of its bound as it goes
    rises: list[int] = []
    again = pair_bound(
        g,
        top=top,
        triples=triples,
        quads=quads,
        stop=opt,
        on_bound=rises.append,
    )
    assert again == got
    assert rises == sorted(set(rises)) and all(r <= got for r in rises)


def test_pair_bound_beats_the_cut_bound_on_a_diamond():
    """Tests the case the pair bound is for: whichever of b and c runs
    second sees a's buffer and the other's (3 + 2 + 2 = 7, the optimum);
    each node alone can run with only one of them (6)."""
    from pebble_sched.bounds import pair_bound

    g = Graph(
        list("abcd"),
        [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")],
        size=[3, 2, 2, 2],
    )
    assert cut_bound(g) == 6 < pair_bound(g) == 7 == brute_force(g)[1]


def test_triples_raise_the_pair_bound():
    """Tests a graph (found by a random search) where ordering three nodes
    proves more than any pair: 14, the optimum, where pairs give 13."""
    from pebble_sched.bounds import pair_bound

    g = Graph(
        range(6),
        [(0, 4), (0, 5), (1, 2), (1, 3), (2, 5), (3, 4)],
        size=[4, 6, 2, 6, 3, 1],
    )
    assert pair_bound(g, triples=0) == 13 < pair_bound(g) == 14
    assert brute_force(g)[1] == 14


def test_sets_of_four_raise_the_pair_bound():
    """Tests a graph (found by a random search) where ordering four nodes
    proves more than any three."""
    from pebble_sched.bounds import pair_bound

    g = Graph(
        range(8),
        [(0, 1), (0, 3), (1, 5), (2, 5), (2, 6), (3, 7), (4, 7)],
        size=[5, 6, 3, 2, 1, 1, 5, 6],
    )
    assert pair_bound(g, quads=0) == 12 < pair_bound(g) == 13
    assert brute_force(g)[1] == 13
