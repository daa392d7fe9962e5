"""Orders for nearly series-parallel DAGs: an SP core with its cross edges
put back in series-parallel form.

A DAG that is series-parallel but for a few *cross* edges u -> v (u and v
in parallel branches of the rest) has an SP core: the graph without them.
Its optimal order is usually far from valid for the DAG, and repairing it
(moving u's ancestors before v, or v's descendants after u) gives poor
orders, because the best schedule of the DAG interleaves the two branches
differently. This module keeps the core's structure and adds each cross
edge as a *synchronisation* that keeps the graph SP: in the smallest
parallel composition holding u and v, u's branch A (a series of parts
``A1, a1, A2, ...``) is cut at a series node at or after u, v's branch B at
one before v, and both prefixes are made to run before both suffixes
through a virtual join node J (``(A' || B') ; J ; (A'' || B'')``). Every
order of the result runs u before v and respects every edge of the DAG
(the core's edges keep their reachability through J). Among the cuts, the
one whose SP graph's order (without the joins, made valid for the DAG
where a cross edge had to be left out) has the lowest peak on the DAG is
kept, cross edge after cross edge; every SP graph solved on the way gives
a candidate order.

The core is found greedily: while the graph is not SP, the edge of the
irreducible core (:func:`~pebble_sched.solvers.series_parallel.decompose`)
whose removal leaves the smallest core is removed, up to ``max_cross``
edges. Like :mod:`~pebble_sched.solvers.spization`, the SP graphs are
node-model proxies (a join's size is the total of the buffers read across
it, which are freed at the join instead of by their readers; the cross
edges' reads are not in them), so the method is a heuristic: the order's
peak is the DAG's, its optimality is proven, if at all, by a lower bound.
The cross edges are synchronised in the order found and in reverse, and
the core's own order (solved first) is also made valid by list scheduling
(from the sources and from the sinks); the candidate with the lowest peak
on the DAG is returned. A cross edge that no cut can synchronise without forcing
a later one backwards (two cross edges in opposite directions inside the
same parts) is left out and the order repaired at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..graph import Graph
from ..memory import evaluate_indices
from ..runtime import Deadline, TimeUp
from .dominant import sp_order
from .heuristics import priority_order
from .series_parallel import SPNode, decompose, series_items

__all__ = ["NearSPResult", "near_sp_order", "sp_core"]

#: candidate edges tried per removal when looking for the SP core
CORE_TRIES = 60
#: nodes of the irreducible core allowed per cross edge still to remove
CORE_PER_CROSS = 10
#: decompositions allowed per cross edge allowed, to find the core
CORE_TRIES_PER_CROSS = 25
#: share of the time left that one SP solve may take; the core's own
#: solve, first and often the best candidate on large graphs, more
SOLVE_SHARE = 0.25
CORE_SOLVE_SHARE = 0.7
#: ... and at most 1 s plus this per node (about 4x an SP solve's pace)
CORE_SOLVE_S_PER_NODE = 8e-4


@dataclass
class NearSPResult:
    """``order``: node indices of the DAG (valid for it). ``cross``: the
    edges removed to reach the SP core; ``synced``: those that needed a
    synchronisation (the others were implied by earlier ones);
    ``unsynced``: those that no cut could synchronise without forcing a
    later one backwards (the order is then repaired to respect them);
    ``candidates``: SP graphs solved; ``proxy_peak``: the final SP
    graph's peak (its model, not the DAG's; 0 for a repaired core order);
    ``source``: which order won (``synchronised``, ``synchronised,
    reversed``: the cross edges taken in reverse; ``core, repaired``: the
    core's own order made valid); ``interrupted``: ``"time"`` or
    ``"ctrl-c"`` when the deadline or Ctrl-C came first."""

    order: np.ndarray
    cross: list[tuple[int, int]] = field(default_factory=list)
    synced: int = 0
    unsynced: int = 0
    candidates: int = 0
    proxy_peak: int = 0
    source: str = ""
    interrupted: str = ""


class _Reached(Exception):
    """An order met the target: the search stops."""


def _share(
    deadline: Deadline | None, share: float = 0.0, cap: float = math.inf
) -> Deadline | None:
    """The deadline of one SP solve: ``share`` (by default SOLVE_SHARE) of
    the time left, at most ``cap`` seconds (the SP solver hurries its large
    forks after three quarters of its own deadline, so one solve would
    otherwise take most of the time, and more the longer the limit)."""
    if deadline is None or not math.isfinite(deadline.limit):
        return deadline
    return Deadline(min(cap, (share or SOLVE_SHARE) * deadline.remaining()))


def _node_graph(n: int, edges, size, work) -> Graph:
    return Graph(range(n), sorted(edges), size=size, workspace=work)


def sp_core(
    graph: Graph, max_cross: int = 16, deadline: Deadline | None = None
) -> tuple[set[tuple[int, int]], list[tuple[int, int]]] | None:
    """The edges of an SP subgraph of ``graph`` (same nodes) and the edges
    removed to reach it, at most ``max_cross`` (``None`` if more are
    needed, if the irreducible core has more than ``CORE_PER_CROSS`` nodes
    per edge still allowed, if it shrinks too slowly to vanish within the
    edges left (1.5 times the mean drop so far, plus ``CORE_PER_CROSS``),
    or after ``CORE_TRIES_PER_CROSS`` decompositions per edge allowed: the
    search gives up early on graphs far from SP). Greedy: each removal is
    the core edge that leaves the smallest irreducible core, or the first
    that shrinks it by half ``CORE_PER_CROSS`` nodes."""
    n = graph.n
    edges = set(
        zip(graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True)
    )
    removed: list[tuple[int, int]] = []
    budget = CORE_TRIES_PER_CROSS * max_cross
    dec = decompose(graph, deadline)
    first = len(dec.core)
    while not dec.is_sp:
        # a cross edge leaves about 6-10 nodes in the irreducible core (on
        # random near-SP graphs); a larger core is too far from SP, and so
        # is one that shrinks too slowly to vanish within the edges left
        # (graphs far from SP lose 1-3 nodes per edge removed)
        left = max_cross - len(removed)
        if len(dec.core) > CORE_PER_CROSS * left:
            return None
        drop = (first - len(dec.core)) / max(1, len(removed))
        if removed and len(dec.core) > 1.5 * left * drop + CORE_PER_CROSS:
            return None
        core = set(dec.core)
        tries = sorted(e for e in edges if e[0] in core and e[1] in core)
        if not tries:
            tries = sorted(e for e in edges if e[0] in core or e[1] in core)
        best = None
        for e in tries[:CORE_TRIES]:
            if deadline is not None:
                deadline.check()
            budget -= 1
            if budget < 0:
                return None
            edges.discard(e)
            d = decompose(Graph(range(n), sorted(edges)))
            edges.add(e)
            score = 0 if d.is_sp else len(d.core)
            if best is None or score < best[0]:
                best = (score, e, d)
            if score <= len(core) - CORE_PER_CROSS // 2:
                break  # a large drop: taken without trying the others
        if best is None:
            return None
        edges.discard(best[1])
        removed.append(best[1])
        dec = best[2]
    return edges, removed


def _branches(tree: SPNode, u: int, v: int) -> tuple[SPNode, SPNode] | None:
    """The branches holding u and v of the smallest parallel composition
    holding both (``None`` if one precedes the other)."""
    node = tree
    while True:
        if node.kind == "series":
            items = series_items(node)
            where = []
            for x in (u, v):
                for i, it in enumerate(items):
                    if (it == x) if isinstance(it, int) else x in it.nodes():
                        where.append(i)
                        break
            if where[0] != where[1] or isinstance(items[where[0]], int):
                return None
            node = items[where[0]]
        elif node.kind == "parallel":
            a = b = None
            for c in node.children:
                inside = set(c.nodes())
                if u in inside:
                    a = c
                if v in inside:
                    b = c
            if a is None or b is None:
                return None
            if a is not b:
                return a, b
            node = a
        else:
            return None


def _prefixes(branch: SPNode) -> list[set[int]]:
    """The node sets of the branch's prefixes that end at a series node or
    at its end (the branch's own series decomposition)."""
    items = series_items(branch)
    out: list[set[int]] = []
    seen: set[int] = set()
    for it in items:
        if isinstance(it, int):
            seen.add(it)
            out.append(set(seen))
        else:
            seen.update(it.nodes())
    out.append(seen)
    return out


def _sync(edges, size, x_set, y_set, j: int):
    """The edges with every edge leaving X or entering Y routed through
    the join j, and j's size (the sizes of the nodes routed into it)."""
    new = set()
    into: set[int] = set()
    has_out: set[int] = set()
    has_in: set[int] = set()
    for a, b in edges:
        has_out.add(a)
        has_in.add(b)
        if (a in x_set and b not in x_set) or (b in y_set and a not in y_set):
            new.add((a, j))
            new.add((j, b))
            into.add(a)
        else:
            new.add((a, b))
    # sinks of X and sources of Y (joined to the virtual terminals of the
    # decomposition, not by edges) are ordered through j too
    new.update((a, j) for a in x_set - has_out)
    new.update((j, b) for b in y_set - has_in)
    return new, int(sum(size[a] for a in into))


def _spread(k: int, cap: int) -> list[int]:
    if k <= cap:
        return list(range(k))
    return sorted({round(i * (k - 1) / (cap - 1)) for i in range(cap)})


def _reaches(succ: dict[int, list[int]], a: int, b: int) -> bool:
    seen, todo = {a}, [a]
    while todo:
        x = todo.pop()
        if x == b:
            return True
        for y in succ.get(x, ()):
            if y not in seen:
                seen.add(y)
                todo.append(y)
    return False


def _succ(edges) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for a, b in edges:
        out.setdefault(a, []).append(b)
    return out


def _repair(graph: Graph, order: np.ndarray, backwards: bool = False):
    """The topological order of ``graph`` that follows ``order`` as closely
    as its edges allow: list scheduling by position in ``order``, from the
    sources (late nodes wait for their predecessors) or, ``backwards``,
    from the sinks (early nodes are pulled before their successors)."""
    n = graph.n
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    if not backwards:
        return np.asarray(priority_order(graph, pos), dtype=np.int64)
    reverse = Graph(
        range(n),
        list(
            zip(graph.edge_dst.tolist(), graph.edge_src.tolist(), strict=True)
        ),
    )
    return np.asarray(
        priority_order(reverse, n - 1 - pos)[::-1], dtype=np.int64
    )


def near_sp_order(
    graph: Graph,
    deadline: Deadline | None = None,
    *,
    max_cross: int = 16,
    max_cuts: int = 6,
    family: str = "auto",
    target: int = 0,
    measure: Graph | None = None,
) -> NearSPResult | None:
    """An order of ``graph`` (node model; pass others through
    :func:`~pebble_sched.solvers.spization.node_model_proxy`) from its SP
    core (module docstring): the core's own order made valid, then the
    cross edges synchronised in the order found and in reverse; the order
    with the lowest peak on ``graph`` is returned. ``None`` when the graph
    needs more than ``max_cross`` edges removed to be SP. ``max_cuts``: cut
    positions tried per branch (spread along it). On the deadline or
    Ctrl-C, the best order found so far is returned (``interrupted``);
    ``TimeUp`` or ``KeyboardInterrupt`` is raised only if there is none
    yet. ``target``: stop as soon as an order's peak is at most this (a
    lower bound: nothing better exists). ``measure``: the graph whose
    peaks choose the orders (default ``graph``; a graph that ``graph`` is
    a node-model proxy of: same nodes, same edges)."""
    measure = graph if measure is None else measure
    found = sp_core(graph, max_cross, deadline)
    if found is None:
        return None
    edges, cross = found
    n = graph.n
    best = NearSPResult(np.zeros(0, dtype=np.int64), cross=list(cross))
    best_peak = -1

    def keep(order: np.ndarray, peak: int, proxy: int, source: str) -> None:
        nonlocal best_peak
        best.candidates += 1
        if best_peak < 0 or peak < best_peak:
            best_peak = peak
            best.order, best.proxy_peak, best.source = order, proxy, source
        if peak <= target:
            raise _Reached

    try:
        # the core's own optimum, made valid (cheap; it wins when the
        # cross edges barely matter)
        size, work = graph.node_size.tolist(), graph.workspace.tolist()
        core = sp_order(
            _node_graph(n, edges, size, work),
            _share(
                deadline, CORE_SOLVE_SHARE, CORE_SOLVE_S_PER_NODE * n + 1.0
            ),
            family=family,
            escalate=1,
        )
        order, peak = _valid(graph, core.order, measure)
        keep(order, peak, int(core.peak), "core, repaired")
        for k, seq in enumerate((cross, cross[::-1])):
            if k and len(cross) == 1:
                break
            name = "synchronised" if k == 0 else "synchronised, reversed"
            synced, unsynced = _synchronised(
                graph,
                measure,
                edges,
                seq,
                deadline,
                max_cuts,
                family,
                lambda o, p, q, name=name: keep(o, p, q, name),
            )
            if k == 0 or best.source == name:
                best.synced, best.unsynced = synced, unsynced
    except _Reached:
        pass
    except (TimeUp, KeyboardInterrupt) as exc:
        if best_peak < 0:
            raise
        best.interrupted = "time" if isinstance(exc, TimeUp) else "ctrl-c"
    return best


def _valid(
    graph: Graph, order: np.ndarray, measure: Graph
) -> tuple[np.ndarray, int]:
    """``order`` (an order of an SP graph built here, joins included) as an
    order of ``graph`` (made valid by both repairs where it is not; the
    better kept) and its peak on ``measure`` (``graph``, or the graph it
    stands for, with the same nodes and edges)."""
    n = graph.n
    order = order[order < n]
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    if np.all(pos[graph.edge_src] < pos[graph.edge_dst]):
        options = [order]
    else:
        options = [_repair(graph, order), _repair(graph, order, True)]
    peaks = [evaluate_indices(measure, o, check=False).peak for o in options]
    k = int(np.argmin(peaks))
    return options[k], int(peaks[k])


def _synchronised(
    graph, measure, edges, cross, deadline, max_cuts, family, keep
):
    """:func:`near_sp_order` for one sequence of cross edges: each cut is
    chosen by the peak on ``graph`` of its SP graph's order made valid,
    then by the SP graph's own peak. Every SP graph's order, made valid, is
    passed to ``keep(order, peak, proxy peak)``. Returns the numbers of
    cross edges synchronised and left out."""
    size = graph.node_size.tolist()
    work = graph.workspace.tolist()
    synced = unsynced = 0
    for t, (u, v) in enumerate(cross):
        succ = _succ(edges)
        if _reaches(succ, u, v):
            continue
        dec = decompose(_node_graph(len(size), edges, size, work), deadline)
        pair = _branches(dec.tree, u, v) if dec.is_sp else None
        if pair is None:  # not expected: u and v are in parallel
            unsynced += 1
            continue
        pre_a = [p for p in _prefixes(pair[0]) if u in p]
        pre_b = [set()] + [p for p in _prefixes(pair[1]) if v not in p]
        all_a = pre_a[-1]
        all_b = set(pair[1].nodes())
        rest = cross[t + 1 :]
        best = None
        j = len(size)
        for ia in _spread(len(pre_a), max_cuts):
            for ib in _spread(len(pre_b), max_cuts):
                x_set = pre_a[ia] | pre_b[ib]
                y_set = (all_a - pre_a[ia]) | (all_b - pre_b[ib])
                new, jsize = _sync(edges, size, x_set, y_set, j)
                # a later cross edge must stay possible: no v' forced
                # before its u'
                s2 = _succ(new)
                if any(_reaches(s2, b, a) for a, b in rest):
                    continue
                h = _node_graph(j + 1, new, [*size, jsize], [*work, 0])
                r = sp_order(h, _share(deadline), family=family, escalate=1)
                order, peak = _valid(graph, r.order, measure)
                keep(order, peak, int(r.peak))
                key = (peak, int(r.peak))
                if best is None or key < best[0]:
                    best = (key, new, jsize)
        if best is None:  # every cut forces another cross edge backwards
            unsynced += 1
            continue
        edges = best[1]
        size.append(best[2])
        work.append(0)
        synced += 1
    return synced, unsynced
