"""Tests of series-parallel recognition and decomposition."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pebble_sched import Graph, evaluate
from pebble_sched.generators import in_tree, out_tree, pumpkin, series_parallel
from pebble_sched.info import graph_info
from pebble_sched.solvers.series_parallel import (
    decompose,
    graph_shape,
    is_pumpkin,
)

from .helpers import two_releases


def _check_tree(g: Graph):
    r = decompose(g)
    assert r.is_sp
    inner = r.tree.nodes()
    ends = [v for v in (r.source, r.sink) if v >= 0]
    assert sorted(inner + ends) == list(range(g.n))
    order = (
        ([r.source] if r.source >= 0 else [])
        + inner
        + ([r.sink] if r.sink >= 0 else [])
    )
    evaluate(g, [g.ids[v] for v in order])  # a topological order
    # every part's size is its number of graph nodes
    stack = [r.tree]
    while stack:
        part = stack.pop()
        assert part.size == len(part.nodes())
        stack.extend(part.children)


@given(st.integers(2, 60), st.integers(0, 2**31))
def test_generated_sp_graphs(n, seed):
    """Tests that generated SP graphs are recognised, with a valid decomposition."""
    _check_tree(series_parallel(n, seed=seed))


@given(st.integers(1, 40), st.integers(0, 2**31))
def test_trees_and_pumpkins_are_sp(n, seed):
    """Tests in-trees, out-trees (virtual terminals) and pumpkins."""
    _check_tree(in_tree(n, seed=seed))
    _check_tree(out_tree(n, seed=seed))
    p = pumpkin(1 + n % 6, seed=seed)
    _check_tree(p)
    assert is_pumpkin(p) == (p.outdegree[0] >= 2)


def test_bridge_is_not_sp():
    """Tests the Wheatstone bridge: not SP, and the witness is the bridge edge."""
    g = Graph(
        list("sabt"),
        [("s", "a"), ("s", "b"), ("a", "b"), ("a", "t"), ("b", "t")],
    )
    r = decompose(g)
    assert not r.is_sp and r.witness == (1, 2)
    shape = graph_shape(g)
    assert "'a' -> 'b'" in shape["not_sp_because"]
    info = graph_info(g)
    assert (
        info["series_parallel"] is False and "bridge" in info["not_sp_because"]
    )
    assert "sp_model" not in info


def test_info_names_the_sp_model():
    """Tests how info says the SP solvers take an SP graph's memory."""

    diamond = [("s", "a"), ("s", "b"), ("a", "t"), ("b", "t")]
    edges = Graph(list("sabt"), diamond, edge_size=[1, 2, 3, 4])
    assert graph_info(edges)["sp_model"].startswith("fixed releases")
    nodes = Graph(list("sabt"), diamond, size=[5, 1, 1, 1])
    assert graph_info(nodes)["sp_model"].startswith("node buffers")
    assert graph_info(two_releases())["sp_model"].startswith(
        "outside (a node whose"
    )


def test_info_reports_pumpkin_and_degree():
    """Tests that info names pumpkins and the maximum out-degree."""
    info = graph_info(pumpkin(5, 2, 3, seed=1))
    assert info["class"] == "pumpkin" and info["max_out_degree"] == 5
    assert info["series_parallel"] is True


def test_large_sp_is_linear_time():
    """Tests a 100,000-node SP graph decomposes (linear time: well under a minute)."""
    g = series_parallel(100_000, seed=1)
    assert decompose(g).is_sp
    assert np.asarray(g.outdegree).max() >= 2
