"""Fictitious edges that keep every parallel schedule under a memory bound.

Model: the parallel buffer model of :mod:`.max_peak`. Given a bound M, add
*fictitious* edges (pure precedences, no data) until the largest peak of
any parallel schedule is at most M, lengthening the critical path as
little as possible (Marchal, Nagy, Simon and Vivien, IPDPS 2018; the
problem is NP-complete). Every schedule of the new graph, on any number of
processors and under any list or dynamic scheduler, then stays within M.

The iterative framework: compute the worst state (the split-graph cut of
:func:`.max_peak.closure_bound`, a sound upper bound, exact with one release
node per buffer); while it exceeds M, add an edge u -> v from a *head* u
(a release node of a counted buffer, unfinished in the worst state) to a
*tail* v (the producer of a counted buffer, started), with no path v -> u:
then v cannot start before u finishes and that state is gone. The choice
of the edge is the heuristic:

- ``respect-order`` needs an order sigma with peak(sigma) <= M (default:
  :func:`pebble_sched.solve`'s order, so the sequential optimum itself is
  a reachable bound). Let v be the tail of largest rank in sigma. Some
  counted buffer has all its release nodes before v in sigma (otherwise
  sigma's memory during v's step would be at least the cut, above M); add
  edges from all of them to v. Every added edge follows sigma, so sigma
  stays a schedule of the new graph, and the method never fails. (With a
  buffer read by several consumers all of them must precede v; Marchal
  et al.'s one-consumer data needs one edge.)
- ``min-levels``: the head of smallest top level and the tail of smallest
  bottom level (longest paths with node times) that form a valid edge;
- ``max-size``: the head releasing the most counted bytes and the tail
  producing the most;
- ``max-min-size``: the valid pair maximizing the smaller of the two.

The last three may fail (no valid pair left); they then report failure.
Reachability is a boolean matrix updated incrementally (graphs up to
``MAX_NODES`` nodes); each step costs one max-flow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..bounds import _reach_matrix, _unpack
from ..memory import evaluate_indices
from ..runtime import Deadline, TimeUp
from .max_peak import _memory, _release_sets, closure_bound

if TYPE_CHECKING:
    from ..graph import Graph, NodeId

__all__ = [
    "HEURISTICS",
    "RestrictedGraph",
    "critical_path",
    "restrict",
    "with_fictitious_edges",
]

HEURISTICS = ("respect-order", "min-levels", "max-size", "max-min-size")

#: The reachability matrix takes n**2 bytes: graphs up to this many nodes.
MAX_NODES = 20_000


@dataclass(frozen=True)
class RestrictedGraph:
    """The result of :func:`restrict`.

    Attributes
    ----------
    graph
        The graph with the fictitious edges added (as plain edges).
    added
        The fictitious edges, as ``(u, v)`` pairs of node ids.
    success
        Whether the largest parallel peak is now at most the bound.
    max_peak_before, max_peak_after
        The proven upper bounds on the largest parallel peak (before: of
        the original graph; after: of ``graph``).
    critical_path_before, critical_path_after
        Longest paths with node ``time``s.
    method
        The heuristic.
    stats
        Steps, time, and the order used by ``respect-order``.
    """

    graph: Graph
    added: tuple[tuple[NodeId, NodeId], ...]
    success: bool
    memory_bound: int
    max_peak_before: int
    max_peak_after: int
    critical_path_before: float
    critical_path_after: float
    method: str
    stats: dict[str, Any] = field(default_factory=dict)


def critical_path(
    n: int, src: np.ndarray, dst: np.ndarray, time: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Longest path with node times: ``(length, top levels, bottom levels)``.

    The top level of v includes v's own time (the earliest finish with
    unbounded processors); its bottom level too (v's time plus the
    longest path after it).
    """
    order = _topological(n, src, dst)
    succ_ptr, succ_idx = _csr(src, dst, n)
    pred_ptr, pred_idx = _csr(dst, src, n)
    top = np.asarray(time, dtype=float).copy()
    for v in order.tolist():
        preds = pred_idx[pred_ptr[v] : pred_ptr[v + 1]]
        if len(preds):
            top[v] = time[v] + top[preds].max()
    bottom = np.asarray(time, dtype=float).copy()
    for v in order[::-1].tolist():
        succ = succ_idx[succ_ptr[v] : succ_ptr[v + 1]]
        if len(succ):
            bottom[v] = time[v] + bottom[succ].max()
    return (float(top.max()) if n else 0.0), top, bottom


def _csr(keys: np.ndarray, values: np.ndarray, n: int):
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, values[order]


def _topological(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    indeg = np.bincount(dst, minlength=n)
    ptr, idx = _csr(src, dst, n)
    stack = np.flatnonzero(indeg == 0).tolist()
    out = []
    indeg = indeg.tolist()
    while stack:
        v = stack.pop()
        out.append(v)
        for w in idx[ptr[v] : ptr[v + 1]].tolist():
            indeg[w] -= 1
            if indeg[w] == 0:
                stack.append(w)
    return np.asarray(out, dtype=np.int64)


class _State:
    """Edges and the reachability matrix of the graph being restricted."""

    def __init__(self, graph: Graph) -> None:
        n = graph.n
        self.n = n
        self.m = graph.m
        self.src = np.zeros(max(16, 2 * graph.m), dtype=np.int64)
        self.dst = np.zeros(max(16, 2 * graph.m), dtype=np.int64)
        self.src[: graph.m] = graph.edge_src
        self.dst[: graph.m] = graph.edge_dst
        self.reach = _unpack(_reach_matrix(graph), n)
        self.reach[np.arange(n), np.arange(n)] = True

    def path(self, a: int, b: int) -> bool:
        """Whether b is a descendant of a, or a itself."""
        return bool(self.reach[a, b])

    def add(self, a: int, b: int) -> None:
        """Add a -> b and update the reachability (a must not descend from b)."""
        if self.m == len(self.src):  # grow by doubling
            self.src = np.concatenate([self.src, np.zeros_like(self.src)])
            self.dst = np.concatenate([self.dst, np.zeros_like(self.dst)])
        self.src[self.m], self.dst[self.m] = a, b
        self.m += 1
        ancestors = self.reach[:, a]
        self.reach[ancestors] |= self.reach[b]

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.src[: self.m], self.dst[: self.m]


def restrict(
    graph: Graph,
    memory_bound: int,
    method: str = "respect-order",
    *,
    order: Any = None,
    time_limit: float = math.inf,
) -> RestrictedGraph:
    """Add fictitious edges so that no parallel schedule exceeds ``memory_bound``.

    Parameters
    ----------
    graph
        The graph (buffer model; node ``time``s for the critical path).
    memory_bound
        The bound M in bytes.
    method
        ``respect-order`` (default), ``min-levels``, ``max-size`` or
        ``max-min-size``.
    order
        For ``respect-order``: a schedule (node ids) whose sequential peak is
        at most M. Default: ``solve(graph)``'s order (with a share of the
        time limit); a bound below that order's peak is refused.
    time_limit
        Seconds; on expiry the result so far is returned with
        ``success=False``. Default ``inf``.

    Returns
    -------
    RestrictedGraph

    Raises
    ------
    ValueError
        For an unknown method, a graph above ``MAX_NODES`` nodes, or an
        order whose peak exceeds M.

    Examples
    --------
    >>> from pebble_sched import Graph
    >>> fork = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> r = restrict(fork, 5)
    >>> r.success, r.added, r.max_peak_before, r.max_peak_after
    (True, (('b', 'c'),), 6, 5)

    References
    ----------
    L. Marchal, H. Nagy, B. Simon, F. Vivien, *Parallel scheduling of DAGs
    under memory constraints*, IPDPS 2018.
    """
    if method not in HEURISTICS:
        raise ValueError(
            f"Unknown method {method!r}; choose one of {', '.join(HEURISTICS)}."
        )
    if graph.n > MAX_NODES:
        raise ValueError(
            f"restrict takes graphs of at most {MAX_NODES} nodes."
        )
    deadline = Deadline(time_limit)
    n = graph.n
    if n == 0:
        return RestrictedGraph(
            graph, (), True, int(memory_bound), 0, 0, 0.0, 0.0, method
        )
    rank = None
    stats: dict[str, Any] = {}
    if method == "respect-order":
        if order is None:
            from ..solve import solve

            share = (
                deadline.remaining() * 0.3
                if deadline.limit < math.inf
                else math.inf
            )
            sched = solve(graph, time_limit=share)
            order = list(sched.order)
            stats["order_from"] = sched.method
        idx = np.asarray(graph.to_indices(order), dtype=np.int64)
        peak = evaluate_indices(graph, idx, check=True).peak
        stats["order_peak"] = peak
        if peak > memory_bound:
            raise ValueError(
                f"The order's peak {peak} exceeds the bound {memory_bound}; "
                "respect-order needs an order within the bound."
            )
        rank = np.empty(n, dtype=np.int64)
        rank[idx] = np.arange(n)
    rel = _release_sets(graph)
    latest = _latest_release(rel, rank) if rank is not None else None
    state = _State(graph)
    # graph inputs nobody reads are live at time 0 whatever the edges
    nothing = np.zeros(n, dtype=bool)
    at_start = _memory(graph, nothing, nothing)
    time_ = np.asarray(graph.time, dtype=float)
    cp0 = critical_path(n, graph.edge_src, graph.edge_dst, time_)[0]
    added: list[tuple[int, int]] = []
    first = None
    success = False
    steps = 0
    try:
        while True:
            deadline.check()
            src, dst = state.arrays()
            bound, S, F, live, _ = closure_bound(n, rel, src, dst, state.reach)
            bound = max(bound, at_start)
            if first is None:
                first = bound
            if at_start > memory_bound:
                break  # no edge helps: the inputs alone exceed the bound
            if bound <= memory_bound:
                success = True
                break
            steps += 1
            # one edge per max-flow early on; later several per step, so
            # that thousands of edges cost hundreds of cuts, not thousands
            edges = _choose(
                method,
                state,
                rel,
                S,
                F,
                live,
                rank,
                latest,
                src,
                dst,
                time_,
                batch=1 + steps // 100,
            )
            if not edges:
                break  # the heuristic found no valid edge
            for a, b in edges:
                if not state.path(a, b):
                    state.add(a, b)
                    added.append((a, b))
    except TimeUp:
        stats["interrupted"] = "time"
    src, dst = state.arrays()
    final = max(closure_bound(n, rel, src, dst, state.reach)[0], at_start)
    ids = graph.ids
    new = with_fictitious_edges(graph, [(ids[a], ids[b]) for a, b in added])
    stats.update(steps=steps, time_s=deadline.elapsed())
    return RestrictedGraph(
        graph=new,
        added=tuple((ids[a], ids[b]) for a, b in added),
        success=success,
        memory_bound=int(memory_bound),
        max_peak_before=int(first if first is not None else final),
        max_peak_after=int(final),
        critical_path_before=cp0,
        critical_path_after=critical_path(n, src, dst, time_)[0],
        method=method,
        stats=stats,
    )


def with_fictitious_edges(graph: Graph, added: list) -> Graph:
    """``graph`` with precedences ``added`` that carry no data.

    A node's ``size`` is read by all its successors, so a new edge would
    make its head read that buffer: node sizes become explicit buffers
    with the original successors as consumers (``keep_outputs`` too), and
    the new edges are plain edges of size 0. Every schedule of the result
    has the memory profile it has in ``graph``. The added edges are listed
    in ``meta["fictitious_edges"]``.
    """
    if not added:
        return graph
    from ..graph import Buffer

    ids = graph.ids
    taken = {b.id for b in graph.buffers}
    buffers = list(graph.buffers)
    for v in range(graph.n):
        size = int(graph.node_size[v])
        if not size:
            continue
        name, k = f"size:{ids[v]}", 0
        while name in taken:
            k += 1
            name = f"size:{ids[v]}:{k}"
        taken.add(name)
        succ = tuple(graph.successors(ids[v]))
        keep = graph.keep_outputs and not succ
        buffers.append(Buffer(name, ids[v], size, succ, keep))
    meta = dict(graph.meta or {})
    meta["fictitious_edges"] = [[u, v] for u, v in added]
    trace = graph.trace_order
    if trace is not None:  # the program's order may break a new edge
        pos = {v: k for k, v in enumerate(trace)}
        if any(pos[u] > pos[v] for u, v in added):
            trace = None
            meta["trace_order_dropped"] = "it breaks a fictitious edge"
    old = [
        (ids[a], ids[b])
        for a, b in zip(
            graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True
        )
    ]
    return graph.replace(
        edges=old + [tuple(e) for e in added],
        size=np.zeros(graph.n, dtype=np.int64),
        edge_size=np.concatenate(
            [graph.edge_size, np.zeros(len(added), dtype=np.int64)]
        ),
        buffers=buffers,
        keep_outputs=False,
        trace_order=trace,
        meta=meta,
    )


def _heads_tails(rel, S, F, live):
    """Counted buffers' unfinished release nodes (heads) and started producers (tails)."""
    heads: dict[int, int] = {}
    tails: dict[int, int] = {}
    for b in np.flatnonzero(live).tolist():
        size = int(rel.size[b])
        p = int(rel.producer[b])
        if p >= 0:
            tails[p] = tails.get(p, 0) + size
        if rel.output[b]:
            continue
        for c in rel.nodes(b).tolist():
            if not F[c]:
                heads[c] = heads.get(c, 0) + size
    return heads, tails


def _latest_release(rel, rank) -> np.ndarray:
    """Per buffer, the largest order rank among its release nodes (-1: none)."""
    latest = np.full(len(rel), -1, dtype=np.int64)
    has = rel.count > 0
    if has.any():
        latest[has] = np.maximum.reduceat(rank[rel.idx], rel.ptr[:-1][has])
    return latest


def _choose(
    method, state, rel, S, F, live, rank, latest, src, dst, time_, batch=1
):
    """The edges to add this step (empty: none found).

    ``respect-order`` handles up to ``batch`` tails per step, latest in the
    order first (the first one is the one the guarantee is about): each
    gets the counted buffer released earliest before it, not yet released
    before it in the graph.
    """
    if method == "respect-order":
        producers = rel.producer[live]
        tails = np.unique(producers[producers >= 0])
        tails = tails[np.argsort(-rank[tails], kind="stable")].tolist()
        freeable = np.flatnonzero(live & ~rel.output & (rel.count > 0))
        by_release = freeable[np.argsort(latest[freeable], kind="stable")]
        by_release = by_release.tolist()
        edges: list[tuple[int, int]] = []
        used: set[int] = set()
        for v in tails[:batch]:
            for b in by_release:
                if latest[b] >= rank[v]:
                    break  # the others are released later still
                nodes = rel.nodes(b).tolist()
                if b in used or all(state.path(c, v) for c in nodes):
                    continue
                used.add(b)
                edges += [(c, v) for c in nodes]
                break
        return edges
    heads, tails = _heads_tails(rel, S, F, live)

    def valid(u: int, v: int) -> bool:
        return u != v and not state.path(v, u)

    if method == "min-levels":
        _, top, bottom = critical_path(state.n, src, dst, time_)
        for u in sorted(heads, key=lambda x: top[x]):
            for v in sorted(tails, key=lambda x: bottom[x]):
                if valid(u, v):
                    return [(u, v)]
        return []
    if method == "max-size":
        for u in sorted(heads, key=lambda x: -heads[x]):
            for v in sorted(tails, key=lambda x: -tails[x]):
                if valid(u, v):
                    return [(u, v)]
        return []
    best = None  # max-min-size
    for u, hu in heads.items():
        for v, tv in tails.items():
            if valid(u, v) and (best is None or min(hu, tv) > best[0]):
                best = (min(hu, tv), u, v)
    return [] if best is None else [(best[1], best[2])]
