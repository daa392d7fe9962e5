"""Tests of the evaluator: docs/model.md's facts, a reference, invalid orders."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pebble_sched import Graph, ScheduleError, evaluate
from pebble_sched.graph import Buffer
from pebble_sched.solvers.heuristics import priority_order

from .helpers import graphs, read, reference_memory


def test_chain(chain):
    """Tests chain 1, 2, 3: memory 1, 3, 5; peak 5 (docs/model.md)."""
    p = evaluate(chain, ["a", "b", "c"])
    assert p.memory.tolist() == [1, 3, 5]
    assert p.peak == 5 and p.peak_step == 2
    assert p.resident.tolist() == [1, 2, 0]


def test_fork(fork):
    """Tests fork 4, 1, 1: memory 4, 5, 5; 6 with keep_outputs (docs/model.md)."""
    p = evaluate(fork, ["a", "b", "c"])
    assert p.memory.tolist() == [4, 5, 5] and p.peak == 5
    assert evaluate(fork.replace(keep_outputs=True), ["a", "b", "c"]).peak == 6


def test_edge_sized_chain():
    """Tests an edge-sized chain a -> b with m = 7: peak 7 (docs/model.md)."""
    g = read("edge_chain.json")
    assert evaluate(g, ["a", "b"]).peak == 7


def test_graph_input(graph_input):
    """Tests an input of 10 read by a and b: memory 11, 11 (docs/model.md)."""
    p = evaluate(graph_input, ["a", "b"])
    assert p.memory.tolist() == [11, 11] and p.initial == 10 and p.peak == 11
    assert evaluate(read("graph_input.json"), ["a", "b"]).peak == 11


def test_data_files_match_fixtures(chain, fork):
    """Tests the shipped data files give the same peaks."""
    assert evaluate(read("chain.json"), ["a", "b", "c"]).peak == 5
    assert evaluate(read("fork.json"), ["a", "c", "b"]).peak == 5


def test_workspace_only_during_step():
    """Tests that a workspace lives only during its node's step."""
    g = Graph(["a", "b"], [("a", "b")], size=[1, 1], workspace=[10, 0])
    assert evaluate(g, ["a", "b"]).memory.tolist() == [11, 2]


def test_unread_input_and_output_input():
    """Tests an unread input (only before the first step) and an output input."""
    g = Graph(
        ["a"],
        size=[1],
        buffers=[Buffer("x", None, 5), Buffer("y", None, 2, (), True)],
    )
    p = evaluate(g, ["a"])
    assert p.initial == 7 and p.memory.tolist() == [3] and p.peak == 7
    assert p.peak_step == -1


def test_empty():
    """Tests the empty graph: peak 0, or the inputs' total."""
    assert evaluate(Graph([]), []).peak == 0
    g = Graph([], buffers=[Buffer("x", None, 4)])
    assert evaluate(g, []).peak == 4


def test_invalid_orders(diamond):
    """Tests that invalid orders name the culprit."""
    with pytest.raises(ScheduleError, match="'a' appears twice"):
        evaluate(diamond, ["a", "a", "b", "c"])
    with pytest.raises(ScheduleError, match="'d' is missing"):
        evaluate(diamond, ["a", "b", "c"])
    with pytest.raises(ScheduleError, match="Unknown node 'z'"):
        evaluate(diamond, ["a", "b", "c", "z"])
    with pytest.raises(
        ScheduleError, match=r"'b' \(step 0\) runs before its predecessor 'a'"
    ):
        evaluate(diamond, ["b", "a", "c", "d"])


def test_huge_sizes_do_not_wrap():
    """Tests that three 2**62-byte buffers add up exactly (no int64 wrap)."""
    g = Graph(
        ["a", "b", "c", "d"],
        [("a", "d"), ("b", "d"), ("c", "d")],
        size=[2**62] * 3 + [0],
    )
    p = evaluate(g, ["a", "b", "c", "d"])
    assert p.peak == 3 * 2**62
    assert isinstance(p.peak, int)


@given(graphs(), st.randoms(use_true_random=False))
def test_matches_reference(g, rnd):
    """Tests the evaluator against the set-based reference on random graphs and orders."""
    import numpy as np

    order = priority_order(g, np.array([rnd.random() for _ in range(g.n)]))
    ids = [g.ids[v] for v in order.tolist()]
    peak, mem = reference_memory(g, ids)
    p = evaluate(g, ids)
    assert p.memory.tolist() == mem
    assert p.peak == peak
    assert isinstance(p.peak, int)
