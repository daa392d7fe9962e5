"""Tests of the seeded graph generators."""

import pytest

from pebble_sched import evaluate
from pebble_sched.generators import (
    FAMILIES,
    in_tree,
    near_series_parallel,
    out_tree,
    pumpkin,
    series_parallel,
    training_like,
)
from pebble_sched.info import graph_class


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_families_valid_and_deterministic(family):
    """Tests every family: a valid DAG, same seed same graph, other seed differs."""
    make = FAMILIES[family]
    g = make(60, 5)
    assert g == make(60, 5)
    assert g != make(60, 6)
    assert g.n > 0
    evaluate(g, [g.ids[v] for v in g.topological_order().tolist()])


def test_classes():
    """Tests that trees are recognised as such."""
    assert graph_class(in_tree(30, seed=1)) == "in-tree"
    assert graph_class(out_tree(30, seed=1)) == "out-tree"
    p = pumpkin(4, seed=1)
    assert int(p.outdegree[0]) == 4 and int(p.indegree[p.n - 1]) == 4
    assert series_parallel(50, seed=2).n == 50


def test_training_like_shape():
    """Tests the training-like graph: backward reads forward activations."""
    g = training_like(5, seed=0)
    assert g.n == 16 and g.keep_outputs
    assert "g0" in g.successors("f0") and "w1" in g.successors("f0")


def test_near_series_parallel_adds_cross_edges():
    """Tests that the near-SP graph is the SP graph plus exactly k edges between nodes that were parallel, and not SP once k >= 1."""
    import networkx as nx

    from pebble_sched.solvers.series_parallel import decompose

    base = near_series_parallel(80, 0, seed=4)
    assert decompose(base).is_sp
    g = near_series_parallel(80, 3, seed=4)
    assert g.m == base.m + 3 and not decompose(g).is_sp
    closure = nx.transitive_closure_dag(base.to_networkx())
    old = set(zip(base.edge_src.tolist(), base.edge_dst.tolist(), strict=True))
    new = set(zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True)) - old
    assert len(new) == 3
    for u, v in new:
        assert not closure.has_edge(u, v) and not closure.has_edge(v, u)
