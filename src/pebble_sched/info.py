"""Structural facts about a graph, for ``pebble-sched info`` and ``auto``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .bounds import lower_bound

if TYPE_CHECKING:
    from .graph import Graph

__all__ = ["graph_class", "graph_info", "longest_path_layers"]


def longest_path_layers(graph: Graph) -> np.ndarray:
    """Layer of every node: the number of nodes on the longest path ending at it, minus one."""
    layer = np.zeros(graph.n, dtype=np.int64)
    pp, pi = graph.pred_ptr, graph.pred_idx
    for v in graph.topological_order().tolist():
        preds = pi[pp[v] : pp[v + 1]]
        if len(preds):
            layer[v] = layer[preds].max() + 1
    return layer


def _components(graph: Graph) -> int:
    parent = list(range(graph.n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(
        graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True
    ):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[ra] = rb
    return len({find(v) for v in range(graph.n)})


def graph_class(graph: Graph) -> str:
    """``empty``, ``chain``, ``in-tree``, ``out-tree``, ``in-forest``, ``out-forest`` or ``dag``.

    Examples
    --------
    >>> graph_class(Graph(["a", "b", "r"], [("a", "r"), ("b", "r")]))
    'in-tree'
    """
    if graph.n == 0:
        return "empty"
    indeg, outdeg = graph.indegree, graph.outdegree
    comps = _components(graph)
    if comps == 1 and (indeg <= 1).all() and (outdeg <= 1).all():
        return "chain"
    if (outdeg <= 1).all():
        return "in-tree" if comps == 1 else "in-forest"
    if (indeg <= 1).all():
        return "out-tree" if comps == 1 else "out-forest"
    return "dag"


def graph_info(graph: Graph) -> dict[str, Any]:
    """A summary of the graph as plain values (see ``pebble-sched info``)."""
    from .solvers.pivots import split_blocks
    from .solvers.series_parallel import graph_shape

    mb = graph.memory_buffers()
    layers = longest_path_layers(graph)
    width = int(np.bincount(layers).max()) if graph.n else 0
    info: dict[str, Any] = {
        "name": graph.name,
        "nodes": graph.n,
        "edges": graph.m,
        "sources": int((graph.indegree == 0).sum()),
        "sinks": int((graph.outdegree == 0).sum()),
        "components": _components(graph) if graph.n else 0,
        "class": graph_class(graph),
        "max_out_degree": int(graph.outdegree.max()) if graph.n else 0,
        "max_in_degree": int(graph.indegree.max()) if graph.n else 0,
        "buffers": len(mb),
        "graph_inputs": int((mb.producer < 0).sum()),
        "outputs": int(mb.output.sum()),
        "total_bytes": mb.total,
        "longest_path_nodes": int(layers.max()) + 1 if graph.n else 0,
        "width_at_least": width,
        "keep_outputs": graph.keep_outputs,
        "trace_order": graph.trace_order is not None,
        "lower_bound_bytes": lower_bound(graph),
    }
    info["pivot_blocks"] = len(split_blocks(graph)[0]) if graph.n else 0
    shape = graph_shape(graph)
    info["class"] = shape["class"]
    info["series_parallel"] = shape["series_parallel"]
    if "not_sp_because" in shape:
        info["not_sp_because"] = shape["not_sp_because"]
    return info
