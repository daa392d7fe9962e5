"""A lower bound for series-parallel graphs: the fork relaxation.

Forks with nested branches are where the dominant-schedule solver may rest
on the shared-threshold form of Lemma 5, refuted (docs/theory.md). Dropping reads never
raises memory: a buffer freed by the last of fewer readers is freed no
later, and the precedences stay, so every order of the graph is an order
of the relaxed graph with a peak no higher there. The relaxation drops, at
every parallel composition after a node a, the reads of a's buffers by the
nodes of its *nested* branches (a's readers inside an inner parallel part
whose closing node does not read a): what is left of each fork is flat, so
Lemma 5 is proven on it, and the relaxed graph's optimum, when the solver
proves it, is a lower bound of the graph's. It is exact where the nested
reads do not matter at the peak, so it can prove an SP order optimal that
the other bounds leave a few percent short.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..buffers import Buffer
from ..runtime import TimeUp
from .dominant import _heads, sp_order, sp_supported
from .series_parallel import SPNode, SPResult, decompose, series_items

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..graph import Graph
    from ..runtime import Deadline

__all__ = ["nested_reads", "relaxed_graph", "sp_relaxation_bound"]


def nested_reads(r: SPResult, n: int) -> set[tuple[int, int]]:
    """(a, v) pairs, node indices: v is a successor of a in a nested branch
    of a parallel composition after a whose closing node does not succeed a
    directly (the reads the relaxation drops)."""
    out: set[tuple[int, int]] = set()
    source = r.source if r.source >= 0 else n  # n: the virtual source
    stack: list[tuple[SPNode, int]] = [(r.tree, source)]
    while stack:
        p, a = stack.pop()
        if p.kind == "edge":
            continue
        if p.kind == "series":
            items = series_items(p)
            stack.append((items[0], a))
            stack += [
                (items[k + 1], items[k]) for k in range(1, len(items), 2)
            ]
            continue
        for b in p.children:
            if b.kind == "edge":
                continue
            first = series_items(b)[0]
            if first.kind != "edge" and all(
                c.kind != "edge" for c in first.children
            ):
                out.update((a, v) for v in _heads(b))
            stack.append((b, a))
    return out


def relaxed_graph(graph: Graph, drop: set[tuple[int, int]]) -> Graph:
    """``graph`` without the reads ``drop`` ((producer, reader) node
    indices, producer n for the graph inputs): a producer's node-size
    buffer becomes an explicit buffer read by the successors that keep
    reading it, and its explicit buffers (the inputs, for n) lose those
    readers; edges, edge sizes and workspaces stay."""
    by_producer: dict[int, set[int]] = {}
    for a, v in drop:  # (a = n: the virtual source, for graph inputs)
        by_producer.setdefault(a, set()).add(v)
    ids = graph.ids
    size = np.array(graph.node_size, dtype=np.int64)
    buffers = []
    for b in graph.buffers:
        p = graph.n if b.producer is None else graph.index(b.producer)
        gone = by_producer.get(p, set())
        keep = tuple(c for c in b.consumers if graph.index(c) not in gone)
        buffers.append(Buffer(b.id, b.producer, b.size, keep, b.output))
    taken = {b.id for b in buffers}
    for a, gone in by_producer.items():
        if a == graph.n or size[a] == 0:
            continue
        succ = graph.succ_idx[graph.succ_ptr[a] : graph.succ_ptr[a + 1]]
        keep = tuple(ids[v] for v in succ.tolist() if v not in gone)
        name = f"relaxed:{ids[a]}"
        while name in taken:
            name += "'"
        buffers.append(Buffer(name, ids[a], int(size[a]), keep))
        size[a] = 0
    return graph.replace(size=size, buffers=buffers)


def sp_relaxation_bound(
    graph: Graph,
    deadline: Deadline | None = None,
    decomposition: SPResult | None = None,
    workers: int = 1,
    family: str = "auto",
    progress: Callable[[float], None] | None = None,
) -> int | None:
    """The fork relaxation's optimum (a lower bound of ``graph``'s) by
    :func:`.dominant.sp_order` (``family``, ``workers``, ``progress``), or
    None when the relaxed graph is outside the solver's model, the solver
    does not prove it, or the time is up."""
    try:
        r = decomposition or decompose(graph, deadline)
        if not r.is_sp:
            return None
        drop = nested_reads(r, graph.n)
        if not drop:
            return None
        if deadline is not None:
            deadline.check()
        relaxed = relaxed_graph(graph, drop)
        if deadline is not None:
            deadline.check()
        if not sp_supported(relaxed):
            return None
        got = sp_order(
            relaxed,
            deadline,
            decomposition=r,
            workers=workers,
            family=family,
            dominant=False,
            progress=progress,
        )
    except TimeUp:
        return None
    return int(got.peak) if got.exact else None
