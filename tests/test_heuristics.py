"""Tests of our heuristics: validity, never worse than Inductor, determinism."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pebble_sched import Graph
from pebble_sched.generators import (
    in_tree,
    layered,
    near_series_parallel,
    training_like,
)
from pebble_sched.runtime import Deadline, TimeUp
from pebble_sched.solvers.brute_force import brute_force
from pebble_sched.solvers.heuristics import (
    HeuristicParams,
    _Search,
    heuristic_schedule,
    liu_relaxation_order,
    local_search,
)
from pebble_sched.solvers.inductor import inductor_order
from pebble_sched.solvers.trees import liu_order

from .helpers import graphs, order_peak


@given(graphs(max_nodes=10))
def test_heuristic_valid_and_not_worse_than_inductor(g):
    """Tests validity, the reported peak, and peak <= Inductor's choice."""
    order, peak, _stats = heuristic_schedule(g)
    assert order_peak(g, order) == peak
    assert peak <= inductor_order(g)[1]
    assert peak >= brute_force(g)[1]


@given(graphs(max_nodes=10))
def test_liu_relaxation_valid(g):
    """Tests that the Liu relaxation returns a topological order."""
    order_peak(g, liu_relaxation_order(g, g.topological_order()))


@given(graphs(max_nodes=10))
def test_local_search_never_worse(g):
    """Tests that local search returns a valid order no worse than its start."""
    start = g.topological_order()
    order, peak = local_search(g, start, seed=1)
    assert order_peak(g, order) == peak <= order_peak(g, start)


@settings(deadline=None)
@given(graphs(max_nodes=9))
def test_window_move_is_exact_on_its_window(g):
    """Tests the window move over the whole order against brute force: it
    finds an optimal order, or says the start is one (None)."""
    assume(g.n >= 2)
    start = g.topological_order()
    state = _Search(g, start)
    got = state.window_move(0, g.n, 10**6)
    assert not state.too_wide
    best = brute_force(g)[1]
    if got is None:
        assert order_peak(g, start) == best
    else:  # (it lowers the steps' peak, which the inputs can exceed)
        assert order_peak(g, got) == best <= order_peak(g, start)


def _with_program(state: _Search, compiled: bool) -> _Search:
    """``state`` running its window moves in Python, or through the array
    program: compiled where numba is installed, else the same function as
    plain Python (its logic is tested either way)."""
    from pebble_sched.solvers import move_arrays

    state.programs_asked = True
    state.programs = None
    if compiled:
        state.programs = move_arrays.load() or move_arrays.PLAIN
    return state


@settings(deadline=None)
@given(
    graphs(max_nodes=12),
    st.integers(0, 2**32 - 1),
    st.integers(1, 4000),
)
def test_window_program_on_arrays_matches_python(g, seed, max_states):
    """Tests the window move's array program (move_arrays) against the
    Python one on random orders and windows: the same order (or none),
    the same ideals counted, the same refusal past ``max_states``."""
    import numpy as np

    assume(g.n >= 2)
    rng = np.random.default_rng(seed)
    order = g.topological_order()
    for _ in range(3):  # a random valid order: random moves of the start
        state = _Search(g, order)
        state.perturb(rng, 1 + g.n)
        order = state.order
    a = int(rng.integers(0, g.n - 1))
    b = int(rng.integers(a + 2, g.n + 1))
    got = []
    for compiled in (False, True):
        state = _with_program(_Search(g, order), compiled)
        new = state.window_move(a, b, max_states)
        got.append(
            (
                None if new is None else new.tolist(),
                state.states,
                state.too_wide,
            )
        )
    assert got[0] == got[1]


@settings(deadline=None)
@given(
    graphs(max_nodes=12),
    st.integers(0, 2**32 - 1),
    st.integers(0, 12),
    st.integers(-2, 2),
    st.sampled_from([1, 40, 2_000_000]),
)
def test_first_better_move_matches_python(g, seed, limit, shift, elements):
    """Tests the single-node moves' program (move_arrays.first_better)
    against whole evaluations in Python: random orders, random moves
    (a node to any position), thresholds at, above and below the order's
    objective, a limit on the moves tried, and batches of one move, a
    few, or all (``FIRST_BETTER_ELEMENTS``)."""
    import numpy as np

    from pebble_sched.memory import evaluate_indices
    from pebble_sched.solvers import heuristics, move_arrays

    assume(g.n >= 2)
    rng = np.random.default_rng(seed)
    state = _Search(g, g.topological_order())
    state.perturb(rng, 1 + g.n)
    moves = [
        (int(rng.integers(g.n)), int(rng.integers(g.n)))
        for _ in range(int(rng.integers(1, 10)))
    ]
    peak, count = state.obj[0] + (shift // 2), max(0, state.obj[1] + shift)
    want, tried = -1, 0
    for k, (v, j) in enumerate(moves[:limit]):
        tried += 1
        prof = evaluate_indices(g, state.moved(v, j), check=False)
        if _Search.objective(prof) < (peak, count):
            want = k
            break
    state.programs = move_arrays.load() or move_arrays.PLAIN
    state.obj = (peak, count)
    saved = heuristics.FIRST_BETTER_ELEMENTS
    heuristics.FIRST_BETTER_ELEMENTS = elements
    try:
        assert state.first_better(moves, limit, Deadline()) == (want, tried)
    finally:
        heuristics.FIRST_BETTER_ELEMENTS = saved


@settings(deadline=None)
@given(graphs(max_nodes=14), st.integers(0, 2**32 - 1))
def test_window_inputs_on_arrays_match_python(g, seed):
    """Tests the window move's inputs built by move_arrays.window_inputs
    against the Python ones: the same predecessor masks, allocations,
    lasting sizes and resident memory, and per step the same buffers
    freed (as a multiset: the program only adds them up)."""
    import numpy as np

    from pebble_sched.solvers import move_arrays

    assume(g.n >= 2)
    rng = np.random.default_rng(seed)
    state = _Search(g, g.topological_order())
    state.perturb(rng, 1 + g.n)
    a = int(rng.integers(0, g.n - 1))
    b = int(rng.integers(a + 1, g.n + 1))
    want = state._window_inputs(a, b)
    programs = move_arrays.load() or move_arrays.PLAIN
    mask, alloc, lasting, need, freed, ptr, r0 = programs.window_inputs(
        state.order, a, b, *state._graph_arrays(), *state.buffer_arrays()
    )
    assert mask.tolist() == want.pred_mask
    assert alloc.tolist() == want.prod_all
    assert lasting.tolist() == want.lasting
    assert r0 == want.r0
    got = [
        sorted(
            zip(
                need[ptr[i] : ptr[i + 1]].tolist(),
                freed[ptr[i] : ptr[i + 1]].tolist(),
                strict=True,
            )
        )
        for i in range(b - a)
    ]
    assert got == [sorted(f) for f in want.frees]


def test_compiled_programs_keep_the_warmed_signature(monkeypatch):
    """Tests that a local search calls the compiled programs with the
    argument types :func:`move_arrays.load` compiled them for (read-only
    arrays are another type to numba: a second compile in mid-search, not
    in the cache that ``load`` checks)."""
    from pebble_sched.solvers import heuristics, move_arrays

    programs = move_arrays.load()
    if programs is None:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(heuristics, "COMPILED_AFTER_S", 0.0)
    g = near_series_parallel(120, 4, seed=1, max_out_degree=None)
    local_search(
        g,
        inductor_order(g)[0],
        seed=3,
        params=HeuristicParams(work_budget=2e5),
    )
    assert [len(f.signatures) for f in programs.all()] == [1, 1, 1, 1]


def test_local_search_with_programs_keeps_huge_sizes_in_python(monkeypatch):
    """Tests that sizes summing past 2**63 stay in Python's integers with
    the compiled programs loaded (the single-node and window moves fall
    back): the same order as without them, and the exact peak."""
    from pebble_sched.memory import evaluate_indices
    from pebble_sched.solvers import heuristics

    g = near_series_parallel(40, 2, seed=1, max_out_degree=None)
    g = g.replace(size=[2**62 - 7 * i for i in range(g.n)])
    start = g.topological_order()
    got = []
    for after in (0.0, 1e9):
        monkeypatch.setattr(heuristics, "COMPILED_AFTER_S", after)
        monkeypatch.setattr(heuristics, "programs_ready", lambda: False)
        order, peak = local_search(
            g, start, seed=2, params=HeuristicParams(work_budget=2e5)
        )
        assert peak == evaluate_indices(g, order).peak > 2**63
        got.append((order.tolist(), peak))
    assert got[0] == got[1]


def test_local_search_same_with_compiled_moves(monkeypatch):
    """Tests that a local search with the window and interleave programs
    on arrays from its first move (``COMPILED_AFTER_S`` 0) returns the same order as in
    Python (no time limit: a work budget, deterministic), and that it
    does use it."""
    from pebble_sched.solvers import heuristics, move_arrays

    g = near_series_parallel(120, 4, seed=1, max_out_degree=None)
    start = inductor_order(g)[0]
    params = HeuristicParams(work_budget=2e6)
    calls = []

    def load(deadline=None):
        calls.append(1)
        return move_arrays.load(deadline) or move_arrays.PLAIN

    monkeypatch.setattr(heuristics, "load_programs", load)
    got = []
    for compiled in (False, True):
        monkeypatch.setattr(heuristics, "programs_ready", lambda: False)
        monkeypatch.setattr(
            heuristics, "COMPILED_AFTER_S", 0.0 if compiled else 1e9
        )
        order, peak = local_search(g, start, seed=3, params=params)
        got.append((order.tolist(), peak))
        assert len(calls) == compiled
    assert got[0] == got[1]


def test_window_move_gives_up_past_max_states_and_at_a_deadline():
    """Tests that a window with more ideals than allowed is refused (and
    flagged, so the search stops widening), and that the deadline is
    checked while the ideals are built."""
    g = Graph(range(40), size=[1 + k % 5 for k in range(40)])  # 2^40 ideals
    state = _Search(g, g.topological_order())
    assert state.window_move(0, 40, 1_000) is None
    assert state.too_wide and state.states > 1_000
    state.window_move(0, 10, 10**6)
    assert not state.too_wide and state.states == 2**10
    with pytest.raises(TimeUp):
        state.window_move(0, 40, 10**6, Deadline(0.0))


def test_window_widens_while_stuck():
    """Tests that a stuck search widens its window moves by ``window``
    steps up to ``max_window``, and not at all when they are equal."""
    g = layered(300, window=8, p=0.3, seed=4)
    start, _ = local_search(g, g.topological_order(), seed=1)
    for top, seen in ((48, {12, 24, 36, 48}), (12, {12})):
        widths = []
        move = _Search.window_move

        def spy(self, a, b, *args, widths=widths, move=move):
            widths.append(b - a)
            return move(self, a, b, *args)

        _Search.window_move = spy
        try:
            local_search(
                g,
                start,
                seed=1,
                params=HeuristicParams(
                    window=12, max_window=top, work_budget=2e7, patience=10**6
                ),
            )
        finally:
            _Search.window_move = move
        assert set(widths) == seen


def test_interleave_moves_when_stuck_and_only_when_asked():
    """Tests that a stuck search makes interleave moves of ``interleave
    // 2`` to ``interleave`` nodes, each no worse than its start, and none
    with ``interleave=0``."""
    g = near_series_parallel(120, 6, seed=3, max_out_degree=None)
    start, _ = local_search(g, g.topological_order(), seed=1)
    for top in (16, 0):
        sizes, worse = [], []
        move = _Search.interleave_move

        def spy(self, rng, size, *args, sizes=sizes, worse=worse, move=move):
            sizes.append(size)
            got = move(self, rng, size, *args)
            if got is not None and order_peak(g, got) > self.obj[0]:
                worse.append(size)
            return got

        _Search.interleave_move = spy
        try:
            local_search(
                g,
                start,
                seed=1,
                params=HeuristicParams(interleave=top, work_budget=3e6),
            )
        finally:
            _Search.interleave_move = move
        if top:
            assert sizes and set(sizes) <= set(range(8, 17)) and not worse
        else:
            assert not sizes


def test_same_seed_same_result():
    """Tests that the same seed gives the same order and trajectory."""
    g = layered(300, window=8, p=0.3, seed=4)

    class Rec:
        def __init__(self):
            self.peaks = []

        def on_improvement(self, order, peak):
            self.peaks.append(peak)

    runs = []
    for _ in range(2):
        rec = Rec()
        order, peak, _ = heuristic_schedule(
            g, seed=7, callbacks=rec, params=HeuristicParams(work_budget=2e6)
        )
        runs.append((order.tolist(), peak, rec.peaks))
    assert runs[0] == runs[1]


def test_beats_inductor_on_training_graph():
    """Tests that the default improves on Inductor on a training-like graph."""
    g = training_like(40, seed=2)
    _, peak, stats = heuristic_schedule(
        g, params=HeuristicParams(work_budget=1e7)
    )
    assert peak <= stats["inductor"]


def test_deadline_returns_quickly():
    """Tests that an expired deadline still returns a valid order."""
    g = layered(2000, seed=1)
    d = Deadline(0.0)
    order, peak, stats = heuristic_schedule(g, d)
    assert stats["interrupted"] == "time"
    assert order_peak(g, order) == peak


@given(graphs(max_nodes=9, features=False))
def test_liu_exact_on_in_trees(g):
    """Tests Liu's algorithm against brute force on random in-forests."""
    # keep, for each node, only the edge to its first successor
    seen = {}
    for a, b in zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=False):
        seen.setdefault(a, b)
    t = Graph(
        g.ids,
        [(g.ids[a], g.ids[b]) for a, b in seen.items()],
        size=g.node_size,
        workspace=g.workspace,
    )
    assert order_peak(t, liu_order(t)) == brute_force(t)[1]


def test_liu_exact_on_generated_in_trees():
    """Tests Liu's algorithm on generated in-trees with workspaces."""
    for seed in range(30):
        t = in_tree(10, seed=seed, max_workspace=20)
        assert order_peak(t, liu_order(t)) == brute_force(t)[1]


@given(graphs(max_nodes=10))
def test_out_tree_order_valid(g):
    """Tests the out-tree policy order on random out-forests: valid, never below optimal."""
    from pebble_sched.solvers.trees import out_tree_order

    keep = {}
    for a, b in zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True):
        keep.setdefault(b, a)  # one predecessor per node
    t = Graph(
        g.ids,
        [(g.ids[a], g.ids[b]) for b, a in keep.items()],
        size=g.node_size,
        workspace=g.workspace,
        keep_outputs=g.keep_outputs,
    )
    assert order_peak(t, out_tree_order(t)) >= brute_force(t)[1]


def test_out_tree_order_beats_inductor_at_scale():
    """Tests the out-tree policy on a 10,000-node out-tree (5x below Inductor here)."""
    from pebble_sched.generators import out_tree
    from pebble_sched.solvers.trees import out_tree_order

    g = out_tree(10_000, seed=0)
    assert 5 * order_peak(g, out_tree_order(g)) < inductor_order(g)[1]


def test_liu_relaxation_keeps_a_deadline():
    """Tests that a round of the Liu relaxation stops on an expired deadline."""
    import pytest

    from pebble_sched.runtime import TimeUp

    g = in_tree(5000, seed=1)
    order = inductor_order(g)[0]
    assert len(liu_relaxation_order(g, order, Deadline(60))) == g.n
    with pytest.raises(TimeUp):
        liu_relaxation_order(g, order, Deadline(0))
