"""Tests of the exact fictitious-edge model against the heuristics and enumeration (#13)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pebble_sched import Graph, solve
from pebble_sched.parallel import (
    brute_force_max_parallel_peak,
    exact_restrict,
    restrict,
)
from pebble_sched.parallel.fictitious_edges import HEURISTICS
from tests.helpers import graphs


@st.composite
def single_reader_graphs(draw):
    """Random DAGs whose memory is edge data and workspaces, with durations."""
    g = draw(graphs(max_nodes=6))
    times = draw(st.lists(st.integers(1, 4), min_size=g.n, max_size=g.n))
    return g.replace(
        size=np.zeros(g.n, dtype=np.int64), buffers=[], time=times
    )


@settings(max_examples=40, deadline=None)
@given(single_reader_graphs(), st.data())
def test_exact_beats_every_heuristic(g, data):
    """Tests that the proven critical path is at most each heuristic's, and the bound holds."""
    if g.n < 2:
        return
    lo = solve(g, "brute").peak
    hi = brute_force_max_parallel_peak(g).value
    bound = data.draw(st.integers(lo, max(lo, hi)))
    r = exact_restrict(g, bound, time_limit=20)
    assert r.success and r.stats["optimal"]
    assert brute_force_max_parallel_peak(r.graph).value <= bound
    for method in HEURISTICS:
        h = restrict(g, bound, method)
        if h.success:
            assert r.critical_path_after <= h.critical_path_after + 1e-9


def test_infeasible_bound_is_reported():
    """Tests a bound below the sequential optimum: no solution, proven infeasible."""
    g = Graph(["a", "b", "c"], [("a", "c"), ("b", "c")], edge_size=[5, 5])
    r = exact_restrict(g, 9, time_limit=10)
    assert not r.success and r.stats["infeasible"]


def test_shared_buffers_are_refused():
    """Tests that the exact model declines buffers with several readers."""
    fork = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    with pytest.raises(ValueError, match="shares buffers"):
        exact_restrict(fork, 5)
