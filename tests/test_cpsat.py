"""Tests of the CP-SAT model against brute force."""

from hypothesis import given, settings

from pebble_sched.generators import layered
from pebble_sched.runtime import Deadline
from pebble_sched.solvers.brute_force import brute_force
from pebble_sched.solvers.cpsat import CpSatModel

from .helpers import graphs, order_peak


@settings(max_examples=60)
@given(graphs(max_nodes=8))
def test_matches_brute_force(g):
    """Tests that the default and the plain model both prove the optimum."""
    opt = brute_force(g)[1]
    for plain in (False, True):
        order, peak, lb, stats = CpSatModel(g, plain=plain).solve(
            Deadline(20), num_workers=1
        )
        assert peak == lb == opt, stats
        assert order_peak(g, order) == opt


def test_resolve_clears_old_hints():
    """Tests that a second solve replaces the first hint rather than adding to it."""
    g = layered(15, seed=1)
    m = CpSatModel(g)
    topo = g.topological_order()
    m.solve(Deadline(5), hint=topo, num_workers=1)
    n_hints = len(m.model.proto.solution_hint.vars)
    m.solve(Deadline(5), hint=topo[::1], num_workers=1)
    assert len(m.model.proto.solution_hint.vars) == n_hints == g.n


def test_bounds_narrow_domain():
    """Tests that lower/upper bounds shape the peak variable's domain."""
    g = layered(12, seed=2)
    opt = brute_force(g)[1]
    m = CpSatModel(g, lower=opt, upper=opt)
    _order, peak, lb, _ = m.solve(Deadline(10), num_workers=1)
    assert peak == lb == opt
