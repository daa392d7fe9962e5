"""Tests of Liu's algorithm and the priority order on arrays (compiled by
numba when installed, plain Python otherwise): the same orders as the
Python functions, on random forests and graphs with many ties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pebble_sched.generators import in_tree, series_parallel
from pebble_sched.runtime import Deadline, TimeUp
from pebble_sched.solvers import heuristics, liu_arrays, trees
from pebble_sched.solvers.heuristics import (
    liu_relaxation_order,
    priority_order,
)
from pebble_sched.solvers.inductor import input_order
from pebble_sched.solvers.trees import liu_order, liu_schedule

from .helpers import order_peak


@st.composite
def forests(draw):
    """``(parent, out, work)`` of a random in-forest, nodes in random
    order, sizes from a small alphabet (ties) or a large one."""
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    # a parent later in a hidden order; some nodes are roots
    hidden = np.full(n, -1)
    for v in range(n - 1):
        if rng.random() < 0.85:
            hidden[v] = rng.integers(v + 1, n)
    perm = rng.permutation(n)
    parent = np.full(n, -1)
    for v in range(n):
        if hidden[v] >= 0:
            parent[perm[v]] = perm[hidden[v]]
    top = draw(st.sampled_from([1, 2, 4, 1000]))
    out = rng.integers(0, top + 1, n)
    work = rng.integers(0, top + 1, n) * (rng.random(n) < 0.5)
    return parent, out, work


@settings(max_examples=300, deadline=None)
@given(forests())
def test_liu_on_arrays_gives_the_python_order(forest):
    """Tests the compiled Liu's algorithm against the Python one (below
    READY_MIN_NODES nodes, trees.liu_schedule runs in Python): the same
    order, ties included."""
    parent, out, work = forest
    want = liu_schedule(parent.tolist(), out.tolist(), work.tolist())
    assert liu_arrays.liu_schedule(parent, out, work).tolist() == want


@settings(max_examples=100, deadline=None)
@given(
    st.integers(2, 150), st.integers(0, 10**6), st.sampled_from([2, 5, 10**6])
)
def test_priority_order_on_arrays_gives_the_python_order(n, seed, top):
    """Tests the compiled priority order against the Python one, with
    tied priorities (broken by node index)."""
    g = series_parallel(n, seed=seed)
    prio = np.random.default_rng(seed).integers(0, top, g.n)
    want = priority_order(g, prio).tolist()
    got = liu_arrays.priority_order(g.succ_ptr, g.succ_idx, g.indegree, prio)
    assert got.tolist() == want


def test_sizes_outside_int64_stay_in_python():
    """Tests that floats, Python integers past int64 and sums that could
    leave it are refused (None), and integers are taken."""
    assert liu_arrays.as_int64([1.5, 2.0]) is None
    assert liu_arrays.as_int64([2**70, 1]) is None
    assert liu_arrays.as_int64(np.full(8, 2**60)) is None
    got = liu_arrays.as_int64([3, 4], np.zeros(0))
    assert got is not None
    assert [a.dtype for a in got] == [np.int64, np.int64]
    assert got[0].tolist() == [3, 4]


def test_compiled_functions_keep_a_deadline():
    """Tests that both functions stop on an expired deadline."""
    g = in_tree(200, seed=0)
    parent = np.full(g.n, -1)
    parent[g.edge_src] = g.edge_dst
    out = np.ones(g.n, dtype=np.int64)
    with pytest.raises(TimeUp):
        liu_arrays.liu_schedule(parent, out, out, Deadline(0))
    with pytest.raises(TimeUp):
        liu_arrays.priority_order(
            g.succ_ptr, g.succ_idx, g.indegree, out, Deadline(0)
        )


@pytest.mark.skipif(not liu_arrays.COMPILED, reason="numba is not installed")
def test_large_inputs_take_the_compiled_path_with_the_same_orders(monkeypatch):
    """Tests that Liu's algorithm on a 60,000-node in-tree and the Liu
    relaxation of a 60,000-node SP graph go to the compiled functions
    (numba installed) and give the orders of the Python path."""
    assert trees.arrays_for(60_000) is liu_arrays
    assert trees.arrays_for(100) is None
    t = in_tree(60_000, seed=2, max_workspace=5)
    g = series_parallel(60_000, seed=3, max_out_degree=6)
    fast = liu_order(t)
    relaxed = liu_relaxation_order(g, input_order(g))
    monkeypatch.setattr(trees, "arrays_for", lambda n, deadline=None: None)
    monkeypatch.setattr(
        heuristics, "arrays_for", lambda n, deadline=None: None
    )
    assert liu_order(t).tolist() == fast.tolist()
    assert liu_relaxation_order(g, input_order(g)).tolist() == relaxed.tolist()
    assert order_peak(t, fast) == order_peak(t, liu_order(t))


def test_a_broken_numba_leaves_the_python_path():
    """Tests that when importing numba fails with something other than
    ImportError (a first import cut short by Ctrl-C leaves numba's
    dependencies half initialised: AttributeError on the next import),
    the compiled modules load without it and the solvers still answer."""
    import subprocess
    import sys

    code = """
import sys

class Broken:
    def find_spec(self, name, path=None, target=None):
        if name == "numba" or name.startswith("numba."):
            raise AttributeError("partially initialized module 'yaml'")
        return None

sys.meta_path.insert(0, Broken())
from pebble_sched import solve
from pebble_sched.generators import series_parallel
from pebble_sched.solvers import candidate_words, liu_arrays
from pebble_sched.solvers.trees import arrays_for
assert not liu_arrays.COMPILED and not candidate_words.COMPILED
assert arrays_for(100_000) is None
s = solve(series_parallel(300, seed=1, max_out_degree=4), method="sp")
assert s.status.value == "optimal", s
print("ok")
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.strip() == "ok", out.stderr
