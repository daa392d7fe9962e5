"""Series-parallel regions of any DAG, each fixed to its dominant order.

A *closed region* of a DAG is an entry node a, an exit node b and the nodes
strictly between them (the interior R) such that nothing enters R but from
a or R, nothing leaves R but to R or b, every buffer R reads is made by a
or in R, every buffer made in R is read only in R or by b, and every buffer
of a that R reads is read only in R or by b. The steps of R then form an
independent word in every schedule of the graph: the memory they allocate
and free depends on their own order only (a's buffers read by R are
released in R or by b, after R). By Lemma 3 of
:mod:`pebble_sched.solvers.profiles` a schedule of R whose word dominates
every other (a *dominant* one) can replace R's steps in any schedule
without raising its peak. So when the region with its entry and exit is
series-parallel and :func:`~pebble_sched.solvers.dominant.sp_order` solves
it exactly, some optimal schedule of the whole graph runs R in that order,
and adding the precedences of that order loses nothing: the optimum of the
graph with those precedences is the optimum of the graph.

Graphs that are series-parallel up to a few extra edges keep most of their
nodes in such regions (the extra edges spoil only the regions around
them), so the general exact solvers (the ideal search, CP-SAT) run on a
graph whose regions are chains: far fewer ideals, far fewer orders.

Regions are found from the immediate post-dominator b of every node a with
several successors (the smallest exit every path from a crosses; a closed
region with entry a can only end there), keeping the largest ones that
are closed, series-parallel, inside the dominant solver's model and solved
exactly, disjoint from the ones already kept (nested regions of a region
that fails are tried in turn). The graph is returned in the explicit
buffer model (its memory unchanged for every order) with the regions'
orders as extra zero-size edges.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..graph import Buffer, Graph
from .dominant import sp_order, sp_supported
from .series_parallel import decompose

if TYPE_CHECKING:
    from ..runtime import Deadline

__all__ = ["RegionResult", "fix_sp_regions", "post_dominators"]


@dataclass
class RegionResult:
    """The graph with its regions fixed, and what was fixed: ``regions``
    as (entry, exit, interior size), ``fixed`` the interior nodes ordered,
    ``tried`` the candidate regions examined. ``lower`` is a lower bound
    on the graph's peak: the largest optimal peak of a fixed region with
    its entry and exit (every schedule runs each region with at least the
    memory the region itself needs: its steps see its own buffers, a's
    buffers it reads, and anything else resident, which is never
    negative)."""

    graph: Graph
    regions: list[tuple[int, int, int]] = field(default_factory=list)
    fixed: int = 0
    tried: int = 0
    lower: int = 0


def post_dominators(graph: Graph) -> np.ndarray:
    """The immediate post-dominator of every node (``n``: a virtual sink
    after every sink; a node whose paths share no node before the end has
    the virtual sink). Cooper, Harvey and Kennedy's iteration on the
    reverse graph, one pass in reverse topological order (a DAG needs no
    more)."""
    n = graph.n
    topo = graph.topological_order().tolist()
    rank = np.empty(n + 1, dtype=np.int64)
    # positions in reverse topological order: the virtual sink first
    rank[n] = 0
    for k, v in enumerate(reversed(topo)):
        rank[v] = k + 1
    ipdom = np.full(n + 1, -1, dtype=np.int64)
    ipdom[n] = n
    succ_ptr, succ_idx = graph.succ_ptr, graph.succ_idx
    for v in reversed(topo):
        succ = succ_idx[succ_ptr[v] : succ_ptr[v + 1]].tolist() or [n]
        d = succ[0]
        for s in succ[1:]:
            a, b = d, s
            while a != b:
                while rank[a] > rank[b]:
                    a = ipdom[a]
                while rank[b] > rank[a]:
                    b = ipdom[b]
            d = a
        ipdom[v] = d
    return ipdom[:n]


def fix_sp_regions(
    graph: Graph, deadline: Deadline | None = None, max_interior: int = 20_000
) -> RegionResult:
    """``graph`` with every maximal closed series-parallel region that the
    dominant solver solves exactly fixed to its dominant order (see the
    module docstring). Regions of more than ``max_interior`` nodes are not
    tried."""
    n = graph.n
    if n < 4:
        return RegionResult(graph)
    mb = graph.memory_buffers()
    ipdom = post_dominators(graph)
    topo = graph.topological_order()
    pos = np.empty(n, dtype=np.int64)
    pos[topo] = np.arange(n)
    succ_ptr, succ_idx = graph.succ_ptr, graph.succ_idx
    pred_ptr, pred_idx = graph.pred_ptr, graph.pred_idx
    outdeg = np.diff(succ_ptr)
    candidates = []
    for k, a in enumerate(np.flatnonzero(outdeg >= 2).tolist()):
        if deadline is not None and k % 64 == 0:
            deadline.check()
        b = int(ipdom[a])
        if b >= n:
            continue
        inner = _between(graph, a, b, pos)
        if 2 <= len(inner) <= max_interior:
            candidates.append((len(inner), a, b, inner))
    candidates.sort(key=lambda c: (-c[0], pos[c[1]]))
    taken = np.zeros(n, dtype=bool)
    extra: list[tuple[int, int]] = []
    result = RegionResult(graph)
    for _size, a, b, inner in candidates:
        if deadline is not None:
            deadline.check()
        idx = np.array(sorted(inner), dtype=np.int64)
        if taken[idx].any():
            continue  # inside (or across) a region already fixed
        result.tried += 1
        if not _closed(
            graph, mb, a, b, inner, pred_ptr, pred_idx, succ_ptr, succ_idx
        ):
            continue
        sub, local = _region_graph(graph, mb, a, b, idx)
        if not decompose(sub).is_sp or not sp_supported(sub):
            continue
        r = sp_order(sub, deadline, family="full")
        if not r.exact:
            continue
        order = [local[v] for v in r.order.tolist() if local[v] in inner]
        extra += list(itertools.pairwise(order))
        taken[idx] = True
        result.lower = max(result.lower, int(r.peak))
        result.regions.append((a, b, len(inner)))
        result.fixed += len(inner)
    if not extra:
        return result
    result.graph = _with_precedences(graph, mb, extra)
    return result


def _between(graph: Graph, a: int, b: int, pos: np.ndarray) -> set[int]:
    """The nodes a reaches that reach b, a and b excluded (b post-dominates
    a, so every node a reaches before b is one)."""
    succ_ptr, succ_idx = graph.succ_ptr, graph.succ_idx
    seen = {a}
    todo = [a]
    limit = pos[b]
    while todo:
        x = todo.pop()
        for y in succ_idx[succ_ptr[x] : succ_ptr[x + 1]].tolist():
            if y != b and y not in seen and pos[y] < limit:
                seen.add(y)
                todo.append(y)
    seen.discard(a)
    return seen


def _closed(
    graph, mb, a, b, inner, pred_ptr, pred_idx, succ_ptr, succ_idx
) -> bool:
    """The conditions of a closed region (module docstring)."""
    inside = inner | {a}
    out_ok = inner | {b}
    for v in inner:
        if any(
            p not in inside
            for p in pred_idx[pred_ptr[v] : pred_ptr[v + 1]].tolist()
        ):
            return False
        if any(
            s not in out_ok
            for s in succ_idx[succ_ptr[v] : succ_ptr[v + 1]].tolist()
        ):
            return False
        for x in mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]].tolist():
            p = int(mb.producer[x])
            if p not in inside:
                return False  # a graph input or a buffer made outside
            if p == a and not _readers_within(mb, x, out_ok):
                return False  # a's buffer, also read outside
        for x in mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]].tolist():
            if not _readers_within(mb, x, out_ok):
                return False
    return True


def _readers_within(mb, x: int, allowed: set[int]) -> bool:
    return all(
        c in allowed
        for c in mb.cons_idx[mb.cons_ptr[x] : mb.cons_ptr[x + 1]].tolist()
    )


def _region_graph(graph, mb, a, b, idx) -> tuple[Graph, list[int]]:
    """The region with its entry and exit as a graph of explicit buffers:
    the buffers made in it or by a and read in it (what the region's order
    decides); ``local`` maps the subgraph's indices back."""
    nodes = [a, *idx.tolist(), b]
    where = {v: k for k, v in enumerate(nodes)}
    inner = set(idx.tolist())
    buffers = []
    for v in nodes[:-1]:
        for x in mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]].tolist():
            cons = mb.cons_idx[mb.cons_ptr[x] : mb.cons_ptr[x + 1]].tolist()
            if v == a and not any(c in inner for c in cons):
                continue  # a's buffers the region does not read
            buffers.append(
                Buffer(
                    f"b{x}",
                    where[v],
                    int(mb.size[x]),
                    tuple(where[c] for c in cons),
                    bool(mb.output[x]),
                )
            )
    edges = []
    for v in nodes[:-1]:
        for s in graph.succ_idx[
            graph.succ_ptr[v] : graph.succ_ptr[v + 1]
        ].tolist():
            if s in where and (v != a or s in inner or s == b):
                edges.append((where[v], where[s]))
    sub = Graph(range(len(nodes)), sorted(set(edges)), buffers=buffers)
    return sub, nodes


def _with_precedences(graph: Graph, mb, extra: list[tuple[int, int]]) -> Graph:
    """``graph`` in the explicit buffer model (the same memory for every
    order) with the zero-size edges ``extra`` added."""
    ids = graph.ids
    buffers = [
        Buffer(
            f"b{x}",
            None if mb.producer[x] < 0 else ids[int(mb.producer[x])],
            int(mb.size[x]),
            tuple(
                ids[c]
                for c in mb.cons_idx[
                    mb.cons_ptr[x] : mb.cons_ptr[x + 1]
                ].tolist()
            ),
            bool(mb.output[x]),
        )
        for x in range(len(mb))
    ]
    edges = set(
        zip(graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True)
    )
    edges.update(extra)
    return Graph(
        list(ids),
        [(ids[u], ids[v]) for u, v in sorted(edges)],
        buffers=buffers,
        name=graph.name,
        meta=dict(graph.meta),
    )
