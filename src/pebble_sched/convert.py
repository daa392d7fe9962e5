"""Conversions of :class:`~pebble_sched.graph.Graph`: the JSON schema and networkx.

``dict_arguments`` reads the instance schema of docs/formats.md (validating
types and keys, naming the culprit), ``graph_to_dict`` writes it; the
networkx pair reads and writes node attributes ``size``, ``workspace``,
``time`` and the edge attribute ``size``. ``Graph.from_dict`` and friends
delegate here; this module does not import the ``Graph`` class.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Mapping
from numbers import Real
from typing import TYPE_CHECKING, Any

from .buffers import Buffer
from .constants import MAX_SIZE
from .exceptions import InstanceError
from .validation import check_id, check_size

if TYPE_CHECKING:
    import networkx as nx

    from .graph import Graph

__all__ = [
    "dict_arguments",
    "graph_to_dict",
    "graph_to_networkx",
    "networkx_arguments",
]

#: What the readers return: node ids, edges and the other arguments of
#: :class:`~pebble_sched.graph.Graph`, so that this module never needs the
#: class itself (``Graph.from_dict`` builds it).
GraphArguments = tuple[list[Any], list[Any], dict[str, Any]]


#: Optional per-node cost attributes of the instance format.
COST_KEYS = ("op", "flops", "bytes", "layer", "phase")
NODE_KEYS = {"id", "size", "workspace", "time", *COST_KEYS}


def dict_arguments(data: Any) -> GraphArguments:
    """Validate the instance schema of docs/formats.md and return Graph's arguments.

    ``Graph.from_dict(data)`` is ``Graph(ids, edges, **kwargs)`` with these.

    Examples
    --------
    >>> g = Graph.from_dict({"nodes": [{"id": "a", "size": 4}, {"id": "b"}],
    ...                      "edges": [["a", "b"]]})
    >>> g.n, g.m
    (2, 1)
    """
    if not isinstance(data, Mapping):
        raise InstanceError("The instance must be a JSON object.")
    if "nodes" not in data:
        if "order" in data and "peak" in data:
            raise InstanceError(
                "This is a schedule (it has 'order' and 'peak'), not an "
                "instance: give the graph it schedules (a .best.json sits "
                "beside its instance, <name>.json)."
            )
        raise InstanceError("The instance has no 'nodes' list.")
    known = {
        "name",
        "nodes",
        "edges",
        "buffers",
        "keep_outputs",
        "trace_order",
        "meta",
    }
    extra = sorted(set(data) - known)
    if extra:
        raise InstanceError(f"Unknown top-level key {extra[0]!r}.")
    nodes = data["nodes"]
    if not isinstance(nodes, list):
        raise InstanceError("'nodes' must be a list.")
    ids, size, work, time = [], [], [], []
    costs: dict[str, list[Any]] = {key: [] for key in COST_KEYS}
    plain = _plain_nodes(nodes)
    if plain is not None:  # (else the checks below name what is wrong)
        ids, size, work, time = plain
        costs = {key: [None] * len(nodes) for key in COST_KEYS}
        nodes = []
    for k, node in enumerate(nodes):
        # (type(x) is dict first: an isinstance test against the abstract
        # Mapping costs more than the rest of a node's checks)
        if (
            not (type(node) is dict or isinstance(node, Mapping))
            or "id" not in node
        ):
            raise InstanceError(f"Node #{k} is not an object with an 'id'.")
        if not NODE_KEYS.issuperset(node):
            bad = sorted(set(node) - NODE_KEYS)
            raise InstanceError(
                f"Node {node['id']!r}: unknown key {bad[0]!r}."
            )
        nid = check_id(node["id"], "Node id")
        ids.append(nid)
        size.append(check_size(node.get("size", 0), f"Node {nid!r}"))
        work.append(
            check_size(node.get("workspace", 0), f"Node {nid!r} workspace")
        )
        t = node.get("time", 1.0)
        if type(t) is not float and (
            isinstance(t, bool) or not isinstance(t, Real)
        ):
            raise InstanceError(f"Node {nid!r}: time {t!r} is not a number.")
        time.append(t)
        for key in COST_KEYS:
            costs[key].append(node.get(key))
    edges, esize, fict = [], [], []
    raw_edges = data.get("edges", [])
    if not isinstance(raw_edges, list):
        raise InstanceError("'edges' must be a list.")
    if set(map(type, raw_edges)) <= {list} and set(map(len, raw_edges)) <= {2}:
        # every edge a [src, dst] pair: the common case, at C speed (Graph
        # reads the pairs as they are)
        edges = raw_edges
        esize = [0] * len(edges)
        fict = [False] * len(edges)
        raw_edges = []
    for e in raw_edges:
        if type(e) is list and len(e) == 2:  # the common case
            edges.append((e[0], e[1]))
            esize.append(0)
            fict.append(False)
            continue
        if isinstance(e, Mapping):
            if "src" not in e or "dst" not in e:
                raise InstanceError(f"Edge {dict(e)!r} needs 'src' and 'dst'.")
            bad = sorted(set(e) - {"src", "dst", "size", "fictitious"})
            if bad:
                raise InstanceError(
                    f"Edge {dict(e)!r}: unknown key {bad[0]!r}."
                )
            pair = (e["src"], e["dst"])
            esize.append(
                check_size(
                    e.get("size", 0), f"Edge ({pair[0]!r}, {pair[1]!r})"
                )
            )
            flag = e.get("fictitious", False)
            if not isinstance(flag, bool):
                raise InstanceError(
                    f"Edge ({pair[0]!r}, {pair[1]!r}): fictitious must be "
                    "true or false."
                )
            fict.append(flag)
        elif isinstance(e, list) and len(e) == 2:
            pair = (e[0], e[1])
            esize.append(0)
            fict.append(False)
        else:
            raise InstanceError(f"Edge {e!r} is not [src, dst] or an object.")
        edges.append(pair)
    buffers = []
    raw_buffers = data.get("buffers", [])
    if not isinstance(raw_buffers, list):
        raise InstanceError("'buffers' must be a list.")
    for k, b in enumerate(raw_buffers):
        if not isinstance(b, Mapping) or "id" not in b:
            raise InstanceError(f"Buffer #{k} is not an object with an 'id'.")
        bid = check_id(b["id"], "Buffer id")
        bad = sorted(
            set(b) - {"id", "producer", "size", "consumers", "output"}
        )
        if bad:
            raise InstanceError(f"Buffer {bid!r}: unknown key {bad[0]!r}.")
        consumers = b.get("consumers", [])
        if not isinstance(consumers, list):
            raise InstanceError(f"Buffer {bid!r}: 'consumers' must be a list.")
        output = b.get("output", False)
        if not isinstance(output, bool):
            raise InstanceError(
                f"Buffer {bid!r}: output must be true or false."
            )
        buffers.append(
            Buffer(
                id=bid,
                producer=b.get("producer"),
                size=check_size(b.get("size", 0), f"Buffer {bid!r}"),
                consumers=tuple(consumers),
                output=output,
            )
        )
    trace = data.get("trace_order")
    if trace is not None and not isinstance(trace, list):
        raise InstanceError("'trace_order' must be a list.")
    return (
        ids,
        edges,
        dict(
            size=size,
            workspace=work,
            time=time,
            edge_size=esize,
            fictitious=fict if any(fict) else None,
            buffers=buffers,
            keep_outputs=data.get("keep_outputs", False),
            trace_order=trace,
            name=data.get("name"),
            meta=data.get("meta"),
            **_cost_arguments(costs),
        ),
    )


_PLAIN_NODE_KEYS = frozenset({"id", "size", "workspace", "time"})


def _plain_nodes(nodes: list) -> tuple[list, list, list, list] | None:
    """``(ids, size, workspace, time)`` of nodes that are all objects with
    an id (a string or an integer), sizes and workspaces that are integers
    within ``MAX_SIZE`` and times that are numbers, and no other key, read
    with C-speed passes (a third of the time of the checked loop at 10^6
    nodes); None otherwise, and the checked loop then names what is
    wrong."""
    if not (
        set(map(type, nodes)) <= {dict}
        and all(map(_PLAIN_NODE_KEYS.issuperset, nodes))
    ):
        return None
    try:
        ids = list(map(operator.itemgetter("id"), nodes))
    except KeyError:
        return None
    size = [node.get("size", 0) for node in nodes]
    work = [node.get("workspace", 0) for node in nodes]
    time = [node.get("time", 1.0) for node in nodes]
    if not (
        set(map(type, ids)) <= {int, str}
        and set(map(type, size)) <= {int}
        and set(map(type, work)) <= {int}
        and set(map(type, time)) <= {float, int}
    ):
        return None  # (bools, other types, floats as sizes)
    for values in (size, work):
        if values and not (min(values) >= 0 and max(values) <= MAX_SIZE):
            return None
    return ids, size, work, time


def _cost_arguments(costs: dict[str, list[Any]]) -> dict[str, Any]:
    """Graph's keyword arguments for the optional per-node cost attributes."""
    out: dict[str, Any] = {}
    for key, arg in (("flops", "flops"), ("bytes", "op_bytes")):
        values = costs[key]
        if any(v is not None for v in values):
            out[arg] = [0 if v is None else v for v in values]
    for key in ("op", "layer", "phase"):
        if any(v is not None for v in costs[key]):
            out[key] = costs[key]
    return out


def graph_to_dict(graph: Graph) -> dict[str, Any]:
    """The instance schema of docs/formats.md (plain Python values).

    Edges implied by buffers are written out as explicit edges, which
    reads back as the same graph.
    """
    nodes = []
    for i, v in enumerate(graph.ids):
        node: dict[str, Any] = {"id": v, "size": int(graph.node_size[i])}
        if graph.workspace[i]:
            node["workspace"] = int(graph.workspace[i])
        if graph.time[i] != 1.0:
            node["time"] = float(graph.time[i])
        for key, labels in (
            ("op", graph.op),
            ("layer", graph.layer),
            ("phase", graph.phase),
        ):
            if labels is not None and labels[i] is not None:
                node[key] = labels[i]
        if graph.flops[i]:
            node["flops"] = int(graph.flops[i])
        if graph.op_bytes[i]:
            node["bytes"] = int(graph.op_bytes[i])
        nodes.append(node)
    ids = graph.ids
    edges: list[Any] = []
    for a, b, s, f in zip(
        graph.edge_src.tolist(),
        graph.edge_dst.tolist(),
        graph.edge_size.tolist(),
        graph.edge_fictitious.tolist(),
        strict=True,
    ):
        if f:
            edges.append({"src": ids[a], "dst": ids[b], "fictitious": True})
        elif s:
            edges.append({"src": ids[a], "dst": ids[b], "size": s})
        else:
            edges.append([ids[a], ids[b]])
    out: dict[str, Any] = {}
    if graph.name is not None:
        out["name"] = graph.name
    out["nodes"] = nodes
    out["edges"] = edges
    if graph.buffers:
        out["buffers"] = [
            {
                "id": b.id,
                "producer": b.producer,
                "size": int(b.size),
                "consumers": list(b.consumers),
                "output": b.output,
            }
            for b in graph.buffers
        ]
    if graph.keep_outputs:
        out["keep_outputs"] = True
    if graph.trace_order is not None:
        out["trace_order"] = list(graph.trace_order)
    if graph.meta:
        out["meta"] = copy.deepcopy(graph.meta)
    return out


def networkx_arguments(G: nx.DiGraph, **kwargs: Any) -> GraphArguments:
    """Read a networkx ``DiGraph`` into Graph's arguments.

    Node attributes ``size``, ``workspace`` and ``time`` and the edge
    attributes ``size`` and ``fictitious`` are read; graph attributes ``keep_outputs``,
    ``name``, ``trace_order``, ``buffers`` (dicts of the file schema) and
    ``meta`` too. Keyword arguments override them.
    """
    if not G.is_directed():
        raise InstanceError("The networkx graph must be directed.")
    if G.is_multigraph():
        raise InstanceError("Multigraphs are not supported.")
    ids = list(G.nodes)
    data = G.nodes
    args: dict[str, Any] = {
        "size": [data[v].get("size", 0) for v in ids],
        "workspace": [data[v].get("workspace", 0) for v in ids],
        "time": [data[v].get("time", 1.0) for v in ids],
        **_cost_arguments(
            {key: [data[v].get(key) for v in ids] for key in COST_KEYS}
        ),
        "edge_size": [d.get("size", 0) for _, _, d in G.edges(data=True)],
        "fictitious": [
            d.get("fictitious", False) for _, _, d in G.edges(data=True)
        ],
        "keep_outputs": G.graph.get("keep_outputs", False),
        "trace_order": G.graph.get("trace_order"),
        "name": G.graph.get("name"),
        "meta": G.graph.get("meta"),
        "buffers": [
            b
            if isinstance(b, Buffer)
            else Buffer(
                b["id"],
                b.get("producer"),
                b.get("size", 0),
                tuple(b.get("consumers", ())),
                b.get("output", False),
            )
            for b in G.graph.get("buffers", ())
        ],
    }
    args.update(kwargs)
    return ids, list(G.edges), args


def graph_to_networkx(graph: Graph) -> nx.DiGraph:
    """This graph as a networkx ``DiGraph`` (attributes as in ``from_networkx``)."""
    import networkx as nx

    G = nx.DiGraph()
    for i, v in enumerate(graph.ids):
        G.add_node(
            v,
            size=int(graph.node_size[i]),
            workspace=int(graph.workspace[i]),
            time=float(graph.time[i]),
        )
        for key, labels in (
            ("op", graph.op),
            ("layer", graph.layer),
            ("phase", graph.phase),
        ):
            if labels is not None and labels[i] is not None:
                G.nodes[v][key] = labels[i]
        if graph.flops[i]:
            G.nodes[v]["flops"] = int(graph.flops[i])
        if graph.op_bytes[i]:
            G.nodes[v]["bytes"] = int(graph.op_bytes[i])
    ids = graph.ids
    for a, b, s, f in zip(
        graph.edge_src.tolist(),
        graph.edge_dst.tolist(),
        graph.edge_size.tolist(),
        graph.edge_fictitious.tolist(),
        strict=True,
    ):
        if f:
            G.add_edge(ids[a], ids[b], size=s, fictitious=True)
        else:
            G.add_edge(ids[a], ids[b], size=s)
    G.graph["keep_outputs"] = graph.keep_outputs
    if graph.name is not None:
        G.graph["name"] = graph.name
    if graph.trace_order is not None:
        G.graph["trace_order"] = list(graph.trace_order)
    if graph.buffers:
        G.graph["buffers"] = list(graph.buffers)
    if graph.meta:
        G.graph["meta"] = copy.deepcopy(graph.meta)
    return G
