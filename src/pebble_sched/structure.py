"""Structural facts about a DAG: its class (chain, tree, forest, DAG) and layers.

Kept apart from :mod:`pebble_sched.info` (the report) so that solvers can
use them without importing the report, which imports solvers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .graph import Graph

__all__ = ["components", "graph_class", "longest_path_layers"]


def longest_path_layers(graph: Graph) -> np.ndarray:
    """Layer of every node: the number of nodes on the longest path ending at it, minus one."""
    layer = np.zeros(graph.n, dtype=np.int64)
    pp, pi = graph.pred_ptr, graph.pred_idx
    for v in graph.topological_order().tolist():
        preds = pi[pp[v] : pp[v + 1]]
        if len(preds):
            layer[v] = layer[preds].max() + 1
    return layer


def components(graph: Graph) -> int:
    """Number of weakly connected components."""
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
    comps = components(graph)
    if comps == 1 and (indeg <= 1).all() and (outdeg <= 1).all():
        return "chain"
    if (outdeg <= 1).all():
        return "in-tree" if comps == 1 else "in-forest"
    if (indeg <= 1).all():
        return "out-tree" if comps == 1 else "out-forest"
    return "dag"
