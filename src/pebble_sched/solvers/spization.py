"""SP-ization: a series-parallel graph whose orders are all valid for a DAG.

Used by ``auto`` and the ``sp`` method as a heuristic on DAGs that are not
series-parallel (DNN graphs are often nearly SP): solve the SP graph
exactly with :func:`pebble_sched.solvers.dominant.sp_order`, drop the virtual
nodes, and evaluate the order on the original graph.

Construction (recursive, from a good order ``pi`` of the DAG):

- the nodes of a part that form several weakly connected components (by
  the DAG's edges inside the part) become a *parallel* composition of the
  components;
- a connected part is cut into a prefix and a suffix of ``pi`` at the
  position where the buffers crossing the cut are lightest (ties: nearest
  the middle), a *series* composition.

Every edge of the DAG goes from an earlier to a later part of some series
composition, so each order of the SP graph respects it (the SP graph only
*adds* precedences). A series composition joins the sinks of its first
part to the sources of its second through a virtual join node whose size
is the weight of the cut (the buffers of the first part read beyond it), so
that the SP graph's memory follows the DAG's (the join's buffer lives until
the second part has started, shorter than the buffers it stands for).
The SP graph is a proxy: its peak guides the choice, and the order's
real peak is evaluated on the DAG. Heuristic; O(n^2) in the worst case.

Graphs outside the node model (explicit buffers, edge sizes, graph inputs:
every traced DNN graph) are first replaced by :func:`node_model_proxy`,
which keeps the nodes and edges and approximates the buffers by node
sizes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..graph import Graph

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..runtime import Deadline

__all__ = ["node_model_proxy", "spize"]

JOIN = "__sp_join_{}"


def _components(nodes: list[int], succ: list[list[int]], inside: set[int]):
    parent = {v: v for v in nodes}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for v in nodes:
        for w in succ[v]:
            if w in inside:
                ra, rb = find(v), find(w)
                if ra != rb:
                    parent[ra] = rb
    groups: dict[int, list[int]] = {}
    for v in nodes:  # keeps the order of ``nodes`` inside each group
        groups.setdefault(find(v), []).append(v)
    return list(groups.values())


def node_model_proxy(graph: Graph) -> Graph:
    """The same DAG in the node model, for SP-ization of any graph.

    Node v's size is the total of the buffers it produces that have
    consumers (each now read by all of v's successors, so it may live
    longer than in the graph), its workspace the total of those without;
    graph inputs and outputs are left out (the first only fall over time,
    the second only grow). An approximation: the orders it suggests are
    evaluated on the graph itself.

    Examples
    --------
    >>> g = Graph.from_dict({"nodes": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
    ...     "buffers": [{"id": "x", "producer": "a", "size": 8, "consumers": ["b"]},
    ...                 {"id": "y", "producer": "a", "size": 2, "consumers": ["c"]}]})
    >>> p = node_model_proxy(g)
    >>> p.node_size.tolist(), sorted(p.successors("a"))
    ([10, 0, 0], ['b', 'c'])
    """
    mb = graph.memory_buffers()
    n = graph.n
    produced = mb.producer >= 0
    keep = produced & ~mb.output
    read = np.diff(mb.cons_ptr) > 0
    # np.add.at keeps the sizes' integer dtype (bincount would sum floats)
    size = np.zeros(n, dtype=mb.size.dtype)
    work = np.zeros(n, dtype=mb.size.dtype)
    np.add.at(size, mb.producer[keep & read], mb.size[keep & read])
    np.add.at(work, mb.producer[keep & ~read], mb.size[keep & ~read])
    ids = graph.ids
    src = np.repeat(np.arange(n), np.diff(graph.succ_ptr)).tolist()
    dst = graph.succ_idx.tolist()
    edges = [(ids[u], ids[w]) for u, w in zip(src, dst, strict=True)]
    return Graph(
        graph.ids,
        edges,
        size=size,
        workspace=work,
        name=graph.name,
    )


def spize(
    graph: Graph, order: Sequence[int], deadline: Deadline | None = None
) -> tuple[Graph, int]:
    """The SP graph built from ``order`` (node indices) and its number of joins.

    Node ids of the result: the graph's ids plus ``"__sp_join_k"`` for
    the virtual joins (size = weight of the cut, no workspace). Raises
    :class:`~pebble_sched.runtime.TimeUp` when ``deadline`` expires (the
    construction is quadratic when the lightest cuts fall near the ends).
    """
    n = graph.n
    sp, si = graph.succ_ptr.tolist(), graph.succ_idx.tolist()
    succ = [si[sp[v] : sp[v + 1]] for v in range(n)]
    size = graph.node_size.tolist()
    edges: list[tuple[object, object]] = []
    joins: list[int] = []  # cut weights
    ids = list(graph.ids)

    # iterative construction: a work stack of parts; each part returns
    # (sources, sinks) to its parent, so build bottom-up with explicit frames
    def build(nodes: list[int]) -> tuple[list[object], list[object]]:
        stack: list = [("part", nodes, None)]
        results: list[tuple[list[object], list[object]]] = []
        steps = 0
        while stack:
            kind, payload, _extra = stack.pop()
            steps += 1
            if deadline is not None and steps % 64 == 0:
                deadline.check()
            if kind == "part":
                nodes = payload
                if len(nodes) == 1:
                    v = ids[nodes[0]]
                    results.append(([v], [v]))
                    continue
                inside = set(nodes)
                comps = _components(nodes, succ, inside)
                if len(comps) > 1:
                    stack.append(("parallel", len(comps), None))
                    stack.extend(("part", c, None) for c in reversed(comps))
                    continue
                k = _cut(nodes, succ, size, inside)
                stack.append(("series", nodes[:k], nodes[k:]))
                stack.append(("part", nodes[k:], None))
                stack.append(("part", nodes[:k], None))
            elif kind == "parallel":
                parts = results[-payload:]
                del results[-payload:]
                results.append(
                    (
                        [x for s, _ in parts for x in s],
                        [x for _, t in parts for x in t],
                    )
                )
            else:  # series: results hold (first, second)
                (s1, t1), (s2, t2) = results[-2:]
                del results[-2:]
                inside = set(payload)
                weight = sum(
                    size[v]
                    for v in payload
                    if any(w not in inside for w in succ[v])
                )
                if weight > 0 or (len(t1) > 1 and len(s2) > 1):
                    j = JOIN.format(len(joins))
                    joins.append(weight)
                    edges.extend((u, j) for u in t1)
                    edges.extend((j, w) for w in s2)
                else:
                    edges.extend((u, w) for u in t1 for w in s2)
                results.append((s1, t2))
        return results[0]

    if n:
        build(list(order))
    names = ids + [JOIN.format(k) for k in range(len(joins))]
    sizes = size + joins
    work = graph.workspace.tolist() + [0] * len(joins)
    g = Graph(
        names,
        edges,
        size=sizes,
        workspace=work,
        keep_outputs=graph.keep_outputs,
        name=graph.name,
    )
    return g, len(joins)


def _cut(nodes: list[int], succ, size, inside: set[int]) -> int:
    """Position k (1..len-1) of the lightest cut of ``nodes`` (in order)."""
    pos = {v: i for i, v in enumerate(nodes)}
    m = len(nodes)
    # a buffer of v crosses cuts k in (pos[v], last consumer position]
    delta = [0] * (m + 1)  # Python ints: sizes may exceed int64 in sums
    for v in nodes:
        last = max((pos[w] for w in succ[v] if w in inside), default=-1)
        if last > pos[v]:
            delta[pos[v] + 1] += size[v]
            delta[last + 1] -= size[v]
    best_k, best_w, acc = 1, None, 0
    for k in range(1, m):
        acc += delta[k]
        key = (acc, abs(k - m / 2))
        if best_w is None or key < best_w:
            best_k, best_w = k, key
    return best_k
