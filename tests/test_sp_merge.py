"""Tests of the merge solver: SP graphs whose buffers have fixed releases."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pebble_sched import Graph, solve
from pebble_sched.generators import (
    out_tree,
    pumpkin,
    series_parallel,
)
from pebble_sched.graph import Buffer
from pebble_sched.memory import evaluate_indices
from pebble_sched.solvers.brute_force import brute_force
from pebble_sched.solvers.ideals import ideal_search
from pebble_sched.solvers.series_parallel import decompose
from pebble_sched.solvers.sp_merge import (
    fixed_atoms,
    release_steps,
    sp_merge_order,
)

from .helpers import reference_memory
from .test_dominant import sp_shapes


@st.composite
def weighted_sp_graphs(draw, max_nodes: int = 10):
    """SP graphs, trees and pumpkins with edge sizes, some node sizes,
    workspaces, graph inputs and explicit buffers read by random
    descendants (so that some releases are fixed and some are not)."""
    g = draw(sp_shapes(max_nodes))
    m, n = len(g.edge_src), g.n
    sizes = st.integers(0, 9)
    edge = draw(st.lists(sizes, min_size=m, max_size=m))
    node = draw(
        st.one_of(
            st.just([0] * n),
            st.lists(st.integers(0, 5), min_size=n, max_size=n),
        )
    )
    work = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    nxg = g.to_networkx()
    ids = g.ids
    buffers = []
    for k in range(draw(st.integers(0, 3))):
        producer = draw(st.one_of(st.none(), st.sampled_from(ids)))
        pool = (
            list(ids)
            if producer is None
            else sorted(nx.descendants(nxg, producer), key=ids.index)
        )
        consumers = draw(
            st.lists(st.sampled_from(pool), unique=True, max_size=3)
            if pool
            else st.just([])
        )
        buffers.append(
            Buffer(
                f"b{k}",
                producer,
                draw(st.integers(1, 9)),
                tuple(consumers),
                draw(st.booleans()),
            )
        )
    return g.replace(
        size=node,
        edge_size=edge,
        workspace=work,
        buffers=buffers,
        keep_outputs=draw(st.booleans()),
    )


def _has_free_release(graph: Graph) -> bool:
    """Some buffer has consumers none of which all the others reach."""
    nxg = graph.to_networkx()
    ids = graph.ids
    mb = graph.memory_buffers()
    for b in range(len(mb)):
        cons = [
            ids[c] for c in mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]]
        ]
        if len(cons) < 2:
            continue
        if not any(
            all(c == d or nx.has_path(nxg, c, d) for c in cons) for d in cons
        ):
            return True
    return False


@settings(deadline=None)
@given(weighted_sp_graphs())
def test_merge_against_brute_force(g):
    """Tests the merge's peak against brute force and the reference evaluator."""
    atoms = fixed_atoms(g)
    assert (atoms is None) == _has_free_release(g)
    assume(atoms is not None and decompose(g).is_sp)
    r = sp_merge_order(g, atoms)
    order = r.order.tolist()
    assert evaluate_indices(g, order).peak == r.peak  # checks the order
    assert reference_memory(g, [g.ids[v] for v in order])[0] == r.peak
    assert r.peak == brute_force(g)[1]


@settings(deadline=None, max_examples=60)
@given(weighted_sp_graphs(max_nodes=8), st.randoms(use_true_random=False))
def test_fixed_release_is_last_in_every_order(g, rnd):
    """Tests release_steps: the named consumer is last in random orders."""
    release = release_steps(g)
    assume(release is not None)
    mb = g.memory_buffers()
    orders = list(nx.all_topological_sorts(g.to_networkx()))
    idx = {v: i for i, v in enumerate(g.ids)}
    for order in rnd.sample(orders, min(5, len(orders))):
        pos = {idx[v]: k for k, v in enumerate(order)}
        for b in range(len(mb)):
            cons = mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]].tolist()
            if cons:
                assert release[b] == max(cons, key=pos.__getitem__)
            else:
                assert release[b] == -1


@pytest.mark.parametrize("seed", range(8))
def test_larger_edge_weighted_graphs_against_ideal_search(seed):
    """Tests 20-40-node edge-weighted SP graphs against the exact ideal search."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 41))
    g = [
        series_parallel(n, seed=seed),
        out_tree(n, seed=seed),
        pumpkin(3, 3, 12, seed=seed),
        series_parallel(n, p_parallel=0.6, seed=seed),
    ][seed % 4]
    g = g.replace(
        size=[0] * g.n,
        edge_size=rng.integers(1, 100, len(g.edge_src)),
        workspace=rng.integers(0, 20, g.n),
    )
    r = sp_merge_order(g)
    _order, peak, lb, _ = ideal_search(g)
    assert peak == lb == r.peak


def test_solve_reports_optimal_on_edge_weighted_graphs():
    """Tests that sp, tree, pumpkin and auto prove optima by the merge."""
    rng = np.random.default_rng(3)
    sp = series_parallel(400, seed=3, max_out_degree=6)
    sp = sp.replace(
        size=[0] * sp.n, edge_size=rng.integers(1, 1000, len(sp.edge_src))
    )
    ot = out_tree(60, seed=2)
    ot = ot.replace(
        size=[0] * ot.n, edge_size=rng.integers(1, 50, len(ot.edge_src))
    )
    pk = pumpkin(5, 2, 6, seed=1)
    pk = pk.replace(
        size=[0] * pk.n, edge_size=rng.integers(1, 50, len(pk.edge_src))
    )
    for g, method in [(sp, "sp"), (sp, "auto"), (ot, "tree"), (pk, "pumpkin")]:
        s = solve(g, method=method, time_limit=60)
        assert s.status == "optimal", (method, s.status)
        assert s.peak == sp_merge_order(g).peak
        if method == "sp":
            assert s.stats["algorithm"] == "sp-merge"


def test_order_dependent_release_is_refused():
    """Tests that a fork (a buffer read by two parallel nodes) is not fixed."""
    g = Graph(list("abc"), [("a", "b"), ("a", "c")], size=[4, 1, 1])
    assert fixed_atoms(g) is None
    with pytest.raises(ValueError, match="depends on the order"):
        sp_merge_order(g)
    # the same sizes on edges: each edge is freed by its own consumer
    e = Graph(list("abc"), [("a", "b"), ("a", "c")], edge_size=[4, 1])
    assert sp_merge_order(e).peak == 5


def test_a_forward_activation_read_by_its_backward_is_fixed():
    """Tests a buffer whose consumers lie on one path (forward, then backward)."""
    g = Graph(
        ["x", "f", "g", "bg", "bf"],
        [("x", "f"), ("f", "g"), ("g", "bg"), ("bg", "bf"), ("x", "bf")],
        buffers=[Buffer("act", "x", 7, ("f", "bf"))],
    )
    release = release_steps(g)
    assert release is not None and g.ids[int(release[0])] == "bf"
