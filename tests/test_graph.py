"""Tests of the graph model, its validation and its conversions."""

import json
import re

import networkx as nx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pebble_sched import Graph, InstanceError, convert, read_graph
from pebble_sched import graph as graph_module
from pebble_sched.graph import Buffer

from .helpers import DATA_DIR, graphs

BAD = {
    "not_json.json": "invalid JSON at line",
    "not_object.json": "must be a JSON object",
    "missing_nodes.json": "no 'nodes' list",
    "nodes_not_list.json": "'nodes' must be a list",
    "duplicate_id.json": "Node id 'a' appears twice",
    "unknown_node.json": r"Edge \('a', 'zz'\): unknown node 'zz'",
    "unknown_edge_node.json": "unknown node 'b'",
    "self_loop.json": r"Edge \('a', 'a'\) is a self loop",
    "duplicate_edge.json": r"Edge \('a', 'b'\) appears twice",
    "cycle.json": "Cycle: [abc] -> [abc] -> [abc] -> [abc]",
    "negative_size.json": "Node 'a': size -3 is negative",
    "negative_workspace.json": "workspace: size -1 is negative",
    "negative_edge_size.json": r"Edge \('a', 'b'\): size -1 is negative",
    "fractional_size.json": "size 2.5 is not an integer",
    "string_size.json": "size '12' is not a number",
    "bool_size.json": "size True is not a number",
    "size_too_large.json": "exceeds the maximum of 2\\*\\*62",
    "bad_trace_order.json": "trace_order is not a topological order",
    "buffer_unknown_producer.json": "Buffer 'x': unknown node 'q'",
    "fictitious_with_size.json": r"Edge \('a', 'b'\) is fictitious: it carries no data",
    "fictitious_node_size.json": "is fictitious but 'a' has a size",
    "fictitious_not_bool.json": "fictitious must be true or false",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_files_raise_instance_error(name):
    """Tests that each malformed file raises one InstanceError naming the culprit."""
    with pytest.raises(InstanceError, match=BAD[name]) as info:
        read_graph(DATA_DIR / "bad" / name)
    assert name in str(info.value)
    assert "\n" not in str(info.value)


def test_every_bad_file_is_covered():
    """Tests that every file in data/bad has an expected message."""
    assert {p.name for p in (DATA_DIR / "bad").glob("*.json")} == set(BAD)


def test_missing_file():
    """Tests that a missing file gives a clear InstanceError."""
    with pytest.raises(InstanceError, match="no such file"):
        read_graph(DATA_DIR / "nope.json")


def test_implied_edges_and_csr(diamond):
    """Tests the CSR adjacency of a diamond."""
    assert diamond.successors("a") == ["b", "c"]
    assert diamond.predecessors("d") == ["b", "c"]
    assert diamond.m == 4


def test_buffer_consumers_imply_edges():
    """Tests that a buffer's consumers become successors of its producer."""
    g = Graph(["a", "b"], buffers=[Buffer("x", "a", 3, ("b",))])
    assert g.successors("a") == ["b"]
    with pytest.raises(InstanceError, match="Cycle"):
        Graph(["a", "b"], [("b", "a")], buffers=[Buffer("x", "a", 3, ("b",))])


def test_explicit_and_implied_edge_merge():
    """Tests that an explicit edge equal to an implied one is not a duplicate."""
    g = Graph(
        ["a", "b"],
        [("a", "b")],
        edge_size=[5],
        buffers=[Buffer("x", "a", 3, ("b",))],
    )
    assert g.m == 1 and int(g.edge_size[0]) == 5


def test_immutable(chain):
    """Tests that the arrays of a graph are read-only."""
    with pytest.raises(ValueError):
        chain.node_size[0] = 5
    with pytest.raises(AttributeError):
        chain.foo = 1


def test_equality_and_hash(chain):
    """Tests hand-written equality (numpy arrays) and hashing."""
    other = Graph(["a", "b", "c"], [("a", "b"), ("b", "c")], size=[1, 2, 3])
    assert chain == other and hash(chain) == hash(other)
    assert chain != chain.replace(size=[1, 2, 4])


@given(graphs())
def test_json_round_trip(g):
    """Tests that to_dict -> JSON -> from_dict gives an equal graph."""
    data = json.loads(json.dumps(g.to_dict()))
    assert Graph.from_dict(data) == g


@given(
    graphs(features=False), st.sampled_from(["str", "numbered", "shuffled"])
)
def test_plain_instances_read_fast_as_checked(g, ids):
    """Tests that the C-speed reading of plain nodes and [src, dst] edges
    (string ids, integer ids 0..n-1 in order, or shuffled) builds the graph
    the checked loops build."""
    data = json.loads(json.dumps(g.to_dict()))
    data.pop("buffers", None)
    if ids != "str":
        order = list(range(g.n))
        if ids == "shuffled":
            order.reverse()
        new = {v: order[k] for k, v in enumerate(g.ids)}
        for node in data["nodes"]:
            node["id"] = new[node["id"]]
        data["edges"] = [
            [new[e[0]], new[e[1]]] if isinstance(e, list) else e
            for e in data["edges"]
        ]
    fast = Graph.from_dict(data)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(graph_module, "_plain_pairs", lambda *a: None)
        mp.setattr(convert, "_plain_nodes", lambda nodes: None)
        checked = Graph.from_dict(data)
    assert fast == checked


@pytest.mark.parametrize(
    ("nodes", "edges", "message"),
    [
        (
            [{"id": 0, "size": True}, {"id": 1}],
            [],
            "size True is not a number",
        ),
        ([{"id": 0, "size": 1.5}, {"id": 1}], [], "is not an integer"),
        ([{"id": 0, "size": -1}, {"id": 1}], [], "is negative"),
        ([{"id": 0, "size": 2**63}, {"id": 1}], [], "exceeds the maximum"),
        ([{"id": True}, {"id": 1}], [], "is not a string or an integer"),
        ([{"id": 0}, {"id": 0}], [], "appears twice"),
        ([{"id": 0}, {"id": 1}], [[0, 2]], "unknown node 2"),
        ([{"id": 0}, {"id": 1}], [[0, -1]], "unknown node -1"),
        ([{"id": 0}, {"id": 1}], [[1, 1]], "self loop"),
        ([{"id": 0}, {"id": 1}], [[0, 1, 2]], "is not \\[src, dst\\]"),
        ([{"id": "a"}, {"id": "b"}], [["a", "c"]], "unknown node 'c'"),
        ([{"id": 0}, {"size": 1}], [], "is not an object with an 'id'"),
        ([{"id": 0, "sise": 1}], [], "unknown key 'sise'"),
    ],
)
def test_bad_plain_instances_are_named(nodes, edges, message):
    """Tests that instances the fast reading declines still get the checked
    loops' one-line messages."""
    with pytest.raises(InstanceError, match=message):
        Graph.from_dict({"nodes": nodes, "edges": edges})


def test_fictitious_edges_round_trip():
    """Tests that fictitious flags survive the file format, and that an edge a buffer implies is never fictitious."""
    g = Graph(
        ["a", "b", "c"],
        [("a", "b"), ("b", "c"), ("a", "c")],
        fictitious=[False, True, True],
        buffers=[Buffer("x", "a", 5, ("c",))],
    )
    # a -> c carries x: the flag is dropped
    assert g.edge_fictitious.tolist() == [False, False, True]
    data = json.loads(json.dumps(g.to_dict()))
    assert {"src": "b", "dst": "c", "fictitious": True} in data["edges"]
    back = Graph.from_dict(data)
    assert back == g and back.edge_fictitious.tolist() == [False, False, True]
    assert g != g.replace(fictitious=None)
    assert Graph.from_networkx(g.to_networkx()) == g


@given(graphs(features=False))
def test_networkx_round_trip(g):
    """Tests that to_networkx -> from_networkx gives an equal graph."""
    assert Graph.from_networkx(g.to_networkx()) == g


def test_from_networkx_reads_attributes():
    """Tests that node and edge attributes of networkx are read."""
    G = nx.DiGraph()
    G.add_node("x", size=3, workspace=1)
    G.add_node("y", size=2)
    G.add_edge("x", "y", size=4)
    g = Graph.from_networkx(G)
    assert g.node_size.tolist() == [3, 2]
    assert g.workspace.tolist() == [1, 0]
    assert g.edge_size.tolist() == [4]
    with pytest.raises(InstanceError, match="directed"):
        Graph.from_networkx(nx.Graph())


def test_numpy_sizes_validated():
    """Tests that numpy size arrays are validated too."""
    with pytest.raises(InstanceError, match="negative"):
        Graph([0, 1], size=np.array([1, -1]))


def test_list_arguments_validated():
    """Tests the constructor's lists (checked at once when they hold plain
    ints, one by one otherwise): each bad value is named as before."""
    g = Graph(["a", "b"], [("a", "b")], size=[1, 2], edge_size=[3])
    assert g.node_size.tolist() == [1, 2] and g.edge_size.tolist() == [3]
    assert Graph(["a"], size=[2.0]).node_size.tolist() == [2]
    for size, message in [
        ([1, -2], "size of 'b': size -2 is negative"),
        ([1, 2**64], "size of 'b': size 18446744073709551616 exceeds"),
        ([1, 2**62 + 1], "size of 'b': size 4611686018427387905 exceeds"),
        ([1, True], "size of 'b': size True is not a number"),
    ]:
        with pytest.raises(InstanceError, match=re.escape(message)):
            Graph(["a", "b"], size=size)
    with pytest.raises(InstanceError, match=re.escape("('a', 'b')\": size")):
        Graph(["a", "b"], [("a", "b")], edge_size=[-3])
    with pytest.raises(InstanceError, match="Node 'b': time True is not"):
        Graph(["a", "b"], time=[1, True])
    assert Graph(["a", "b"], time=[1, 2.5]).time.tolist() == [1.0, 2.5]


def test_integer_ids_and_integral_floats():
    """Tests integer ids, and that 3.0 is accepted as the integer 3."""
    g = Graph.from_dict(
        {"nodes": [{"id": 1, "size": 3.0}, {"id": 2}], "edges": [[1, 2]]}
    )
    assert g.node_size.tolist() == [3, 0]
    with pytest.raises(InstanceError, match="not a string or an integer"):
        Graph.from_dict({"nodes": [{"id": 1.5}]})
    with pytest.raises(InstanceError, match="not a string or an integer"):
        Graph.from_dict({"nodes": [{"id": True}]})


def test_unknown_keys_rejected():
    """Tests that misspelt keys are errors, not silently ignored."""
    with pytest.raises(InstanceError, match="unknown key 'sise'"):
        Graph.from_dict({"nodes": [{"id": "a", "sise": 3}]})
    with pytest.raises(InstanceError, match="Unknown top-level key 'edge'"):
        Graph.from_dict({"nodes": [], "edge": []})


def test_trace_order_errors():
    """Tests that trace_order must be a permutation."""
    base = {"nodes": [{"id": "a"}, {"id": "b"}]}
    with pytest.raises(InstanceError, match="'b' is missing"):
        Graph.from_dict({**base, "trace_order": ["a"]})
    with pytest.raises(InstanceError, match="appears twice"):
        Graph.from_dict({**base, "trace_order": ["a", "a"]})


def test_empty_graph():
    """Tests that an empty graph is valid."""
    g = Graph.from_dict({"nodes": []})
    assert g.n == 0 and g.m == 0
