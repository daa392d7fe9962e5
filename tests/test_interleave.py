"""Tests of the exact re-interleaving of a node subset (the local search's
large-neighbourhood move) against brute force."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pebble_sched import Graph
from pebble_sched.memory import evaluate_indices, lifetimes
from pebble_sched.runtime import Deadline, TimeUp
from pebble_sched.solvers.interleave import GraphArrays, interleave

from .helpers import graphs, order_peak, topological_orders


def _steps_peak(graph, order) -> int:
    """The highest step of an order (the memory before it not counted)."""
    memory = evaluate_indices(graph, order, check=False).memory
    return int(memory.max()) if len(memory) else 0


@settings(deadline=None)
@given(graphs(max_nodes=7), st.data())
def test_interleave_is_exact_over_the_orders_that_keep_the_rest(g, data):
    """Tests that the move finds the least highest step among all orders
    keeping the relative order of the nodes outside the subset (enumerated
    by brute force), that its order is one of them, and that it says its
    highest step truly."""
    start = np.array(
        data.draw(st.sampled_from(list(topological_orders(g)))), dtype=object
    )
    index = {v: k for k, v in enumerate(g.ids)}
    start = np.array([index[v] for v in start], dtype=np.int64)
    subset = (
        data.draw(st.sets(st.integers(0, max(g.n - 1, 0)))) if g.n else set()
    )
    rest = [v for v in start.tolist() if v not in subset]
    best = min(
        _steps_peak(g, order)
        for order in ([index[v] for v in ids] for ids in topological_orders(g))
        if [v for v in order if v not in subset] == rest
    )
    got = interleave(g, start, subset)
    assert not got.too_wide
    order_peak(g, got.order)  # valid
    assert [v for v in got.order.tolist() if v not in subset] == rest
    assert got.bottleneck == _steps_peak(g, got.order) == best


def test_interleave_carries_a_branch_past_a_peak():
    """Tests that a branch run while a big buffer is live is carried, as
    a whole, to before that buffer's producer."""
    # a -> b (a big, freed by b); c -> d -> e a branch whose c is big too
    g = Graph(
        list("abcde"),
        [("a", "b"), ("c", "d"), ("d", "e")],
        size=[10, 1, 8, 1, 1],
    )
    start = np.array([0, 2, 1, 3, 4])  # a, c, b, d, e: a and c live at once
    assert order_peak(g, start) == 19
    got = interleave(g, start, [2, 3, 4])
    assert got.bottleneck == 11 == order_peak(g, got.order)


def test_interleave_gives_up_past_max_states_and_at_a_deadline():
    """Tests that too many states are refused, flagged, and that the
    deadline is checked while they are built."""
    g = Graph(range(40), size=[1 + k % 5 for k in range(40)])
    start = np.arange(40)
    got = interleave(g, start, range(20), max_states=1_000)
    assert got.too_wide and got.order is None and got.states > 1_000
    with pytest.raises(TimeUp):
        interleave(g, start, range(20), deadline=Deadline(0.0))
    g = Graph(range(70))
    with pytest.raises(ValueError, match="at most 62"):
        interleave(g, np.arange(70), range(63))


@settings(deadline=None)
@given(
    graphs(max_nodes=12),
    st.integers(0, 2**32 - 1),
    st.integers(1, 3000),
    st.booleans(),
)
def test_interleave_program_on_arrays_matches_python(g, seed, cap, many):
    """Tests the move's states on arrays (move_arrays: compiled where
    numba is installed, else the same function as plain Python) against
    the Python program: the same order, highest step, states counted and
    refusal past ``max_states``, on random valid orders and subsets (of
    about half the nodes, or of a few)."""
    from pebble_sched.solvers import move_arrays
    from pebble_sched.solvers.heuristics import _Search

    rng = np.random.default_rng(seed)
    state = _Search(g, g.topological_order())
    if g.n > 1:
        state.perturb(rng, 1 + g.n)
    start = state.order
    size = g.n // 2 if many else min(g.n, 3)
    subset = rng.choice(g.n, size=size, replace=False).tolist() if g.n else []
    programs = move_arrays.load() or move_arrays.PLAIN
    got = [
        interleave(g, start, subset, max_states=cap, programs=p)
        for p in (None, programs)
    ]
    # and with the graph's arrays and the order's evaluation given, as the
    # local search passes them
    extra = {
        "arrays": GraphArrays.of(g),
        "profile": state.profile,
        "ends": lifetimes(g, state.pos)[1],
    }
    got += [
        interleave(g, start, subset, max_states=cap, programs=p, **extra)
        for p in (None, programs)
    ]
    # and with too little room at first, so that the program runs again
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(move_arrays, "INTERLEAVE_FIRST_ROOM", 1 + seed % 3)
        got.append(
            interleave(g, start, subset, max_states=cap, programs=programs)
        )
    a = got[0]
    for b in got[1:]:
        assert (a.too_wide, a.states) == (b.too_wide, b.states)
        if not a.too_wide:
            assert a.bottleneck == b.bottleneck
            assert a.order.tolist() == b.order.tolist()


def test_an_interrupt_while_a_program_returns_is_raised_as_itself():
    """Tests that a Ctrl-C arriving while a compiled move hands back its
    result (CPython: a SystemError caused by the KeyboardInterrupt) is
    raised as a KeyboardInterrupt, which the local search answers with
    its best order; other errors pass unchanged."""
    from pebble_sched.solvers.move_arrays import run_interleave, run_window

    def interrupted(*args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as exc:
            raise SystemError(
                "returned a result with an exception set"
            ) from exc

    def broken(*args):
        raise SystemError("something else")

    def deeper(*args):
        # (the chain numba left when SIGTERM came inside _numba_unpickle
        # while the beam's layer was handed back: four SystemErrors)
        try:
            interrupted()
        except SystemError as exc:
            try:
                raise SystemError(
                    "returned a result with an exception set"
                ) from exc
            except SystemError as exc2:
                raise SystemError(
                    "returned a result with an exception set"
                ) from exc2

    for run in (run_window, run_interleave):
        for program in (interrupted, deeper):
            with pytest.raises(KeyboardInterrupt):
                run(program, np.zeros(1, dtype=np.uint64), 5)
        with pytest.raises(SystemError, match="something else"):
            run(broken, np.zeros(1, dtype=np.uint64), 5)
