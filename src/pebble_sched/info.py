"""A summary of a graph as plain values: what ``pebble-sched info`` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .bounds import lower_bound
from .solvers.dominant import OUTSIDE, sp_supported
from .solvers.pivots import split_blocks
from .solvers.series_parallel import graph_shape
from .solvers.sp_merge import fixed_atoms
from .structure import components, graph_class, longest_path_layers

if TYPE_CHECKING:
    from .graph import Graph

__all__ = ["graph_class", "graph_info", "longest_path_layers", "sp_model"]


def graph_info(graph: Graph) -> dict[str, Any]:
    """A summary of the graph as plain values (see ``pebble-sched info``)."""
    mb = graph.memory_buffers()
    layers = longest_path_layers(graph)
    width = int(np.bincount(layers).max()) if graph.n else 0
    info: dict[str, Any] = {
        "name": graph.name,
        "nodes": graph.n,
        "edges": graph.m,
        "sources": int((graph.indegree == 0).sum()),
        "sinks": int((graph.outdegree == 0).sum()),
        "components": components(graph) if graph.n else 0,
        "class": graph_class(graph),
        "max_out_degree": int(graph.outdegree.max()) if graph.n else 0,
        "max_in_degree": int(graph.indegree.max()) if graph.n else 0,
        # the buffers that occupy memory (the shorthands expanded); explicit
        # buffers of size 0 are counted apart: they never change the memory
        "buffers": len(mb),
        "zero_size_buffers": sum(b.size == 0 for b in graph.buffers),
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
    else:
        info["sp_model"] = sp_model(graph)
    return info


def sp_model(graph: Graph) -> str:
    """How the SP solvers take a series-parallel graph's memory: every
    release fixed (the merge, polynomial), node buffers (dominant
    schedules, forks), or outside both (a heuristic through a proxy)."""
    if fixed_atoms(graph) is not None:
        return "fixed releases (the merge: exact, polynomial)"
    if sp_supported(graph):
        return "node buffers (dominant schedules: forks)"
    return f"outside ({OUTSIDE}): a node-model proxy, heuristic"
