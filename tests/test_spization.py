"""Tests of SP-ization: only added precedences, an SP result, valid orders."""

from __future__ import annotations

import networkx as nx
from hypothesis import given, settings

from pebble_sched.dominant import sp_order
from pebble_sched.generators import layered
from pebble_sched.inductor import inductor_order
from pebble_sched.memory import evaluate_indices
from pebble_sched.series_parallel import decompose
from pebble_sched.solve import sp_candidate
from pebble_sched.spization import spize

from .helpers import graphs


@settings(deadline=None)
@given(graphs(max_nodes=12, features=False))
def test_spized_graph_is_sp_and_only_adds_precedences(g):
    """Tests the SP-ization of random DAGs."""
    order = g.topological_order()
    sg, _joins = spize(g, order)
    assert decompose(sg).is_sp
    closure = nx.transitive_closure_dag(sg.to_networkx())
    for a, b in zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True):
        assert closure.has_edge(g.ids[a], g.ids[b])
    r = sp_order(sg)
    mine = [v for v in r.order.tolist() if v < g.n]
    evaluate_indices(g, mine)  # raises unless a topological order


def test_sp_candidate_never_worse_than_inductor():
    """Tests the heuristic path on layered graphs."""
    for seed in range(3):
        g = layered(200, seed=seed)
        order, exact, stats = sp_candidate(g, None, None, None)
        assert not exact and stats["algorithm"] == "spization"
        peak = evaluate_indices(g, order).peak
        assert peak <= evaluate_indices(g, inductor_order(g)[0]).peak
