"""Tests of the series-parallel dynamic program against exhaustive search (#15)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pebble_sched.distributed.sp_mapping import (
    Config,
    Layer,
    Parallel,
    Series,
    best_under,
    exhaustive,
    pareto,
)


@st.composite
def trees(draw, depth=3):
    counter = draw(st.shared(st.just([0]), key="names"))

    def layer():
        counter[0] += 1
        n = draw(st.integers(1, 3))
        configs = []
        for k in range(n):
            resident = draw(st.integers(0, 20))
            configs.append(
                Config(
                    f"c{k}",
                    float(draw(st.integers(1, 9))),
                    resident,
                    resident + draw(st.integers(0, 20)),
                )
            )
        return Layer(f"l{counter[0]}", tuple(configs))

    def build(d):
        if d == 0 or draw(st.booleans()):
            return layer()
        kind = draw(st.sampled_from([Series, Parallel]))
        return kind(build(d - 1), build(d - 1))

    return build(depth)


@settings(max_examples=150, deadline=None)
@given(trees(), st.integers(0, 120))
def test_dp_equals_exhaustive(tree, limit):
    """Tests that the Pareto DP's fastest choice under a limit is exhaustive search's."""
    a, b = best_under(tree, limit), exhaustive(tree, limit)
    assert (a is None) == (b is None)
    if a is not None:
        assert (a.time, a.peak) == (b.time, b.peak)


@settings(max_examples=60, deadline=None)
@given(trees())
def test_frontier_is_minimal_and_complete(tree):
    """Tests that no frontier point dominates another, and that every limit's optimum is on it."""
    front = pareto(tree)
    for p in front:
        for q in front:
            if p is not q:
                assert not (
                    q.time <= p.time
                    and q.peak <= p.peak
                    and q.resident <= p.resident
                )
    for p in front:
        assert best_under(tree, p.peak).time <= p.time


def test_parallel_branches_run_in_the_better_order():
    """Tests that a parallel composition runs the branch with the high transient first."""
    big = Layer("big", (Config("x", 1.0, 1, 50),))
    small = Layer("small", (Config("y", 1.0, 30, 31),))
    # big first: max(50, 1 + 31) = 50; small first: max(31, 30 + 50) = 80
    assert pareto(Parallel(big, small))[0].peak == 50
    assert pareto(Series(small, big))[0].peak == 80
