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
  a reachable bound). A pair (counted buffer b, tail v) is allowed when
  all of b's release nodes come before v in sigma; its edges (every
  release node -> v) follow sigma, so sigma stays a schedule of the new
  graph, and they remove the worst state. The tail of largest rank always
  has an allowed buffer (otherwise sigma's memory during v's step would be
  at least the cut, above M), so the method never fails. Which allowed
  pair comes first is the ``choice``: the latest tail with the buffer
  released earliest (``order``), or the pair lengthening the longest path
  least (``levels``); by default both run and the shorter critical path
  wins. (With a buffer read by several consumers all of them must precede
  v; Marchal et al.'s one-consumer data needs one edge.)
- ``min-levels``: the head of smallest top level and the tail of smallest
  bottom level (longest paths with node times) that form a valid edge;
- ``max-size``: the head releasing the most counted bytes and the tail
  producing the most;
- ``max-min-size``: the valid pair maximizing the smaller of the two.

The last three may fail (no valid pair left); they then report failure.
Reachability is a boolean matrix updated incrementally (graphs up to
``MAX_NODES`` nodes), once per group of edges with the same head; each
step costs one max-flow, and how each shared buffer is released (its last
consumer or its minimal common descendants) is cached between steps and
recomputed only for buffers whose consumers gained descendants.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..bounds import _reach_matrix, _unpack
from ..graph import require_graph
from ..memory import evaluate_indices
from ..runtime import Deadline, TimeUp
from .max_peak import _memory, _release_sets, closure_bound
from .order_sweep import sweep_edges

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
#: Without a time limit, respect-order's refinements after the sweep stop
#: this many seconds after the start.
REFINE_SECONDS = 50.0
#: The share of that (or of the time limit) after which the sweep chains
#: the nodes it has not visited (see :func:`.order_sweep.sweep_edges`).
SWEEP_SHARE = 0.9


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


def _reduction(
    src: np.ndarray, dst: np.ndarray, reach: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The edges of the transitive reduction (``reach``: descendants-or-equal).

    u -> v is implied when another successor w of u reaches v; the
    longest paths and every closure stay the same without it.
    """
    if not len(src):
        return src, dst
    pairs = np.unique(np.stack([src, dst], axis=1), axis=0)
    src, dst = pairs[:, 0], pairs[:, 1]
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    keep = np.ones(len(src), dtype=bool)
    for u in np.flatnonzero(np.diff(ptr) > 1).tolist():
        lo, hi = ptr[u], ptr[u + 1]
        succ = dst[lo:hi]
        # column v: how many successors reach v (itself included)
        keep[lo:hi] = reach[np.ix_(succ, succ)].sum(axis=0) == 1
    return src[keep], dst[keep]


class _State:
    """Edges and the reachability matrix of the graph being restricted.

    ``dirty`` marks the nodes whose descendants changed since the last
    :meth:`take_dirty` (the ancestors of every added edge's head).
    """

    def __init__(self, graph: Graph) -> None:
        n = graph.n
        self.n = n
        self.reach = _unpack(_reach_matrix(graph), n)
        self.reach[np.arange(n), np.arange(n)] = True
        # the flow only needs the transitive reduction: same closures
        src, dst = _reduction(graph.edge_src, graph.edge_dst, self.reach, n)
        self.m = len(src)
        self.src = np.zeros(max(16, 2 * self.m), dtype=np.int64)
        self.dst = np.zeros(max(16, 2 * self.m), dtype=np.int64)
        self.src[: self.m] = src
        self.dst[: self.m] = dst
        self.dirty = np.zeros(n, dtype=bool)

    def path(self, a: int, b: int) -> bool:
        """Whether b is a descendant of a, or a itself."""
        return bool(self.reach[a, b])

    def add(self, sources: list[int], b: int) -> list[int]:
        """Add a -> b for each a of ``sources`` not yet an ancestor of b.

        None may descend from b. Returns the sources whose edge was added;
        the reachability is updated once for all of them.
        """
        new = [a for a in sources if not self.reach[a, b]]
        if not new:
            return new
        while self.m + len(new) > len(self.src):  # grow by doubling
            self.src = np.concatenate([self.src, np.zeros_like(self.src)])
            self.dst = np.concatenate([self.dst, np.zeros_like(self.dst)])
        self.src[self.m : self.m + len(new)] = new
        self.dst[self.m : self.m + len(new)] = b
        self.m += len(new)
        ancestors = self.reach[:, new].any(axis=1)
        self.reach[ancestors] |= self.reach[b]
        self.dirty |= ancestors
        return new

    def take_dirty(self) -> np.ndarray:
        out, self.dirty = self.dirty, np.zeros(self.n, dtype=bool)
        return out

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return self.src[: self.m], self.dst[: self.m]


def restrict(
    graph: Graph,
    memory_bound: int,
    method: str = "respect-order",
    *,
    order: Any = None,
    choice: str = "both",
    time_limit: float | None = None,
    prune: bool = True,
    more_orders: bool = True,
    sweep: bool = True,
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
        at most M. Default: ``solve(graph)``'s order (with 30% of the time
        limit, or of ``REFINE_SECONDS`` without one); a bound below that
        order's peak is refused.
    choice
        For ``respect-order``, which allowed edge comes first: ``order``
        (the latest tail in the order gets the buffer released earliest in
        it), ``levels`` (the pair that lengthens the longest path least),
        or ``both`` (default: run both, keep the shorter critical path;
        the second run only in the time the first left).
    time_limit
        Seconds; on expiry the best result so far is returned (with
        ``success=False`` if none is within the bound). Default ``None``:
        no limit, except that ``respect-order``'s refinements after the
        sweep (the iterative runs, the other orders, pruning) stop
        ``REFINE_SECONDS`` (50 s) after the start; the sweep's answer is
        kept if they have not found a shorter critical path by then.
    more_orders
        For ``respect-order``, also run it (after ``order``) on the mixes
        of a depth-first and a breadth-first order that fit the bound
        (memDAG's family of orders, alpha = 0, 0.05, ..., 1; distinct
        orders only), keeping the shortest critical path: a looser order
        can leave more parallelism at generous bounds. They get at most
        four times the time ``order`` took (at least 0.8 s), and the time
        limit. ``False``: ``order`` only.
    sweep
        For ``respect-order``, first run the one-pass sweep
        (:mod:`.order_sweep`): an answer within the bound in O(n^2 / 64)
        word operations, without a max-flow per edge (10^4 nodes in
        seconds, where the iterative method can take minutes at bounds
        near the sequential optimum); the iterative runs then compete with
        it on the critical path. ``False``: the iterative method only.
    prune
        After success, drop every added edge the bound does not need,
        those on the longest paths first (each removal re-checked by the
        cut bound; stops at the time limit). Marchal et al.'s heuristics
        do not prune: ``prune=False`` reproduces them as published.

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
    require_graph(graph, "restrict")
    if method not in HEURISTICS:
        raise ValueError(
            f"Unknown method {method!r}; choose one of {', '.join(HEURISTICS)}."
        )
    if graph.n > MAX_NODES:
        raise ValueError(
            f"restrict takes graphs of at most {MAX_NODES} nodes."
        )
    deadline = Deadline(time_limit)
    # respect-order's refinements after the sweep: 50 s by default
    refine = (
        Deadline(REFINE_SECONDS)
        if time_limit is None and method == "respect-order" and sweep
        else deadline
    )
    n = graph.n
    if n == 0:
        return RestrictedGraph(
            graph, (), True, int(memory_bound), 0, 0, 0.0, 0.0, method
        )
    stats: dict[str, Any] = {}
    if method == "respect-order":
        if order is None:
            from ..solve import solve

            share = (
                deadline.remaining() * 0.3
                if deadline.limit < math.inf
                else 0.3 * REFINE_SECONDS
                if refine is not deadline
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
    rel = _release_sets(graph)
    # graph inputs nobody reads are live at time 0 whatever the edges
    nothing = np.zeros(n, dtype=bool)
    at_start = _memory(graph, nothing, nothing)
    time_ = np.asarray(graph.time, dtype=float)
    cp0 = critical_path(n, graph.edge_src, graph.edge_dst, time_)[0]
    rules = ("order", "levels") if method == "respect-order" else ("",)
    if method == "respect-order" and choice != "both":
        if choice not in rules:
            raise ValueError(
                f"Unknown choice {choice!r}; choose order, levels or both."
            )
        rules = (choice,)
    # RespectOrder: sigma first, then (time permitting) the DFS/BFS mixes
    # within the bound, whose looser orders may leave more parallelism
    sigmas = [idx] if method == "respect-order" else [None]
    best = None
    # the best insertion run within M, pruned too when the sweep's answer
    # is the best before pruning: pruning may shorten one more than the
    # other (a 6-node graph: both 5 before, the sweep's 5 after, 4 for
    # the run's), and the sweep should never lose to the runs alone
    best_run = None
    if method == "respect-order" and sweep:
        # the one-pass sweep: an answer within M before any refinement
        # past 90% of the refinement time it chains the nodes left
        best = _sweep_run(
            graph,
            memory_bound,
            rel,
            idx,
            at_start,
            time_,
            deadline,
            refine.sub(SWEEP_SHARE) if refine.limit < math.inf else None,
            stats,
        )
        stats["critical_path_sweep"] = best[-1]
        stats["sweep_s"] = round(deadline.elapsed(), 3)
        if best[1] and not best[0]:
            sigmas = []  # the graph is within M as it is: nothing to refine
    if sigmas and method == "respect-order" and more_orders:
        sigmas += _mixed_orders(graph, memory_bound, idx)
    interrupted_by_signal = False
    try:
        first_run = None  # seconds the given order took: the others get 4x
        slow = False
        for k, sigma in enumerate(sigmas):
            if slow or (k and refine.expired()):
                break
            if k == 1:
                first_run = deadline.elapsed()
            if k and deadline.elapsed() > 5 * max(first_run, 0.2):
                stats["orders_skipped"] = len(sigmas) - k
                break
            rank = latest = None
            if sigma is not None:
                rank = np.empty(n, dtype=np.int64)
                rank[sigma] = np.arange(n)
                latest = _latest_release(rel, rank)
            if k and sweep and sigma is not None:
                try:
                    run = _sweep_run(
                        graph,
                        memory_bound,
                        rel,
                        sigma,
                        at_start,
                        time_,
                        refine,
                    )
                except TimeUp:
                    break
                if run[1] and run[-1] < best[-1]:
                    best = run
                    stats["order_used"] = f"DFS/BFS mix {k}"
            for rule in rules:
                if best is not None and refine.expired():
                    break  # no time for another run: keep the best so far
                run = _insert(
                    graph,
                    memory_bound,
                    method,
                    rule,
                    rel,
                    rank,
                    latest,
                    at_start,
                    time_,
                    # with the sweep's answer in hand, a run may take 80% of
                    # what is left: pruning gets the rest
                    refine.sub(0.8)
                    if best is not None and best[1]
                    else refine,
                    # the sweep's edges where the cut could not certify them
                    best[0]
                    if k == 0 and best is not None and not best[1]
                    else None,
                )
                if best is not None and run[5]:
                    slow = True  # out of time: too slow here, keep the best
                    break
                if k == 0:
                    key = f"critical_path_{rule}" if rule else "critical_path"
                    stats[key] = run[-1]
                if run[1] and (best_run is None or run[-1] < best_run[-1]):
                    best_run = run
                if best is None or (
                    run[1] and (not best[1] or run[-1] < best[-1])
                ):
                    best = run
                    stats["order_used"] = f"DFS/BFS mix {k}" if k else "given"
                if not run[1]:
                    break
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM once an answer within M is in hand: keep it
        if best is None or not best[1]:
            raise
        interrupted_by_signal = True
    stats["orders_tried"] = len(sigmas)
    rivals = [best]
    if best[-2] == "sweep" and best_run is not None and best_run[0]:
        rivals.append(best_run)
    chosen = None
    for rival in rivals:
        added, success, first, final, steps, interrupted, rule, cp = rival
        dropped = None
        if (
            success
            and prune
            and added
            and not refine.expired()
            and not interrupted_by_signal
        ):
            try:
                added, dropped = _prune(
                    graph, added, memory_bound, rel, at_start, time_, refine
                )
            except KeyboardInterrupt:  # keep the unpruned answer
                interrupted_by_signal = True
                dropped = 0
            if dropped:
                final = _bound_with(graph, rel, added, at_start)
                cp = critical_path(n, *_with_edges(graph, added), time_)[0]
        got = (added, success, first, final, steps, interrupted, rule, cp)
        if chosen is None or cp < chosen[0][-1]:
            chosen = (got, dropped)
    (added, success, first, final, steps, interrupted, rule, cp) = chosen[0]
    if chosen[1] is not None:
        stats["pruned"] = chosen[1]
    if interrupted:
        stats["interrupted"] = "time"
    if interrupted_by_signal:
        stats["interrupted"] = "signal"
    ids = graph.ids
    new = with_fictitious_edges(graph, [(ids[a], ids[b]) for a, b in added])
    stats.update(steps=steps, time_s=deadline.elapsed())
    if rule:
        stats["choice"] = rule
    return RestrictedGraph(
        graph=new,
        added=tuple((ids[a], ids[b]) for a, b in added),
        success=success,
        memory_bound=int(memory_bound),
        max_peak_before=int(first if first is not None else final),
        max_peak_after=int(final),
        critical_path_before=cp0,
        critical_path_after=cp,
        method=method,
        stats=stats,
    )


def _insert(
    graph,
    memory_bound,
    method,
    rule,
    rel,
    rank,
    latest,
    at_start,
    time_,
    deadline,
    initial=None,
):
    """One run of the iterative framework.

    ``initial``: edges (following the order) to start from. Returns
    ``(added, success, first bound, final bound, steps, interrupted, rule,
    critical path)``.
    """
    n = graph.n
    state = _State(graph)
    added: list[tuple[int, int]] = []
    for b, group in _by_head(initial or []):
        added += [(a, b) for a in state.add(group, b)]
    first = None
    success = interrupted = False
    steps = 0
    rules: dict = {}  # per shared buffer, cached across steps
    levels = None
    # the batch grows by one every `pace` steps: slowly on small graphs
    # (one edge per cut keeps the paths short), faster where a cut costs
    # a second (10^4 nodes)
    pace = min(100, max(10, 100_000 // max(n, 1)))
    try:
        while True:
            src, dst = state.arrays()
            stale = state.take_dirty()
            if rules and stale.any():
                hit = np.zeros(len(rel), dtype=bool)
                has = rel.count > 0
                hit[has] = np.logical_or.reduceat(
                    stale[rel.idx], rel.ptr[:-1][has]
                )
                for b in np.flatnonzero(hit).tolist():
                    rules.pop(b, None)
            bound, S, F, live, _ = closure_bound(
                n, rel, src, dst, state.reach, rules
            )
            bound = max(bound, at_start)
            if first is None:
                first = bound
            if at_start > memory_bound:
                break  # no edge helps: the inputs alone exceed the bound
            if bound <= memory_bound:
                success = True
                break
            deadline.check()  # after the first bound: always one answer
            steps += 1
            # one edge per max-flow early on; later several per step, so
            # that thousands of edges cost hundreds of cuts, not thousands;
            # the levels are refreshed as often
            batch = 1 + steps // pace
            if method == "min-levels" or (
                rule == "levels" and (levels is None or steps % batch == 0)
            ):
                _, top, bottom = critical_path(n, src, dst, time_)
                levels = (top, bottom)
            groups = _choose(
                method,
                rule,
                state,
                rel,
                S,
                F,
                live,
                rank,
                latest,
                levels,
                batch,
            )
            if not groups:
                break  # the heuristic found no valid edge
            for sources, b in groups:
                added += [(a, b) for a in state.add(sources, b)]
    except TimeUp:
        interrupted = True
    src, dst = state.arrays()
    final = (
        bound
        if success
        else max(closure_bound(n, rel, src, dst, state.reach)[0], at_start)
    )
    cp = critical_path(n, src, dst, time_)[0]
    return added, success, first, final, steps, interrupted, rule, cp


def _by_head(edges) -> list[tuple[int, list[int]]]:
    heads: dict[int, list[int]] = {}
    for a, b in edges:
        heads.setdefault(b, []).append(a)
    return list(heads.items())


def _sweep_run(
    graph,
    memory_bound,
    rel,
    sigma,
    at_start,
    time_,
    deadline,
    budget=None,
    stats=None,
):
    """RespectOrder by the one-pass sweep on ``sigma`` (:mod:`.order_sweep`),
    checked by the cut bound; the same tuple as :func:`_insert`."""
    n = graph.n
    src0, dst0 = graph.edge_src, graph.edge_dst
    first = _bound_with(graph, rel, [], at_start)
    if first <= memory_bound or at_start > memory_bound:
        ok = first <= memory_bound
        cp = critical_path(n, src0, dst0, time_)[0]
        return [], ok, first, first, 0, False, "sweep", cp
    during = evaluate_indices(graph, sigma, check=False).memory
    added, chained = sweep_edges(
        n,
        src0,
        dst0,
        rel,
        sigma,
        during,
        memory_bound,
        time_,
        deadline,
        budget,
    )
    if stats is not None and chained < n:
        stats["sweep_chained_from"] = chained
    # sound by construction; the cut bound certifies it (it can exceed the
    # true maximum only for a buffer read by consumers none of which
    # follows all others: the iterative method then goes on from here)
    final = _bound_with(graph, rel, added, at_start)
    cp = critical_path(n, *_with_edges(graph, added), time_)[0]
    return added, final <= memory_bound, first, final, 1, False, "sweep", cp


def _with_edges(graph, added) -> tuple[np.ndarray, np.ndarray]:
    """The graph's edge arrays with the ``added`` (index) pairs appended."""
    if not len(added):
        return graph.edge_src, graph.edge_dst
    a = np.asarray(added, dtype=np.int64).reshape(-1, 2)
    return (
        np.concatenate([graph.edge_src, a[:, 0]]),
        np.concatenate([graph.edge_dst, a[:, 1]]),
    )


def _bound_with(graph, rel, added, at_start) -> int:
    """The cut bound of the graph with ``added`` edges (reachability only
    where a buffer has several release nodes: nothing else uses it)."""
    n = graph.n
    src, dst = _with_edges(graph, added)
    reach = _reach_of(n, src, dst) if (rel.count > 1).any() else None
    return max(closure_bound(n, rel, src, dst, reach)[0], at_start)


def _mixed_orders(graph, memory_bound, first) -> list[np.ndarray]:
    """Mixes of the DFS and BFS orders within the bound, distinct from
    ``first`` and from each other (memDAG's family and grid of weights)."""
    from ..solvers.heuristics import priority_order
    from ..solvers.inductor import bfs_order, dfs_order

    n = graph.n
    pos_d = np.empty(n)
    pos_d[dfs_order(graph)] = np.arange(n)
    pos_b = np.empty(n)
    pos_b[bfs_order(graph)] = np.arange(n)
    out: list[np.ndarray] = []
    seen = {tuple(first.tolist())}
    for k in range(21):  # memDAG's grid of weights, 0, 0.05, ..., 1
        alpha = k / 20
        order = priority_order(graph, alpha * pos_d + (1 - alpha) * pos_b)
        key = tuple(order.tolist())
        if key in seen:
            continue
        seen.add(key)
        if evaluate_indices(graph, order, check=False).peak <= memory_bound:
            out.append(np.asarray(order, dtype=np.int64))
    return out


def _reach_of(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Descendants-or-equal as a boolean matrix, from an edge list."""
    words = (n + 63) // 64
    desc = np.zeros((n, words), dtype=np.uint64)
    bit = np.left_shift(np.uint64(1), (np.arange(n) % 64).astype(np.uint64))
    desc[np.arange(n), np.arange(n) // 64] = bit
    ptr, idx = _csr(src, dst, n)
    for v in _topological(n, src, dst)[::-1].tolist():
        succ = idx[ptr[v] : ptr[v + 1]]
        if len(succ):
            desc[v] |= np.bitwise_or.reduce(desc[succ], axis=0)
    return _unpack(desc, n)


def _prune(
    graph, added, memory_bound, rel, at_start, time_, deadline
) -> tuple[list[tuple[int, int]], int]:
    """Drop the added edges the bound does not need, longest paths first.

    Each added edge, taken in decreasing order of the longest path through
    it, is removed when the graph without it still has a maximum parallel
    peak (the cut bound) of at most ``memory_bound``; the result is
    re-checked edge by edge, so it stays sound. Stops at the deadline with
    what is left. Returns the kept edges and the number dropped.
    """
    kept = list(added)
    if not kept:
        return kept, 0
    _, top, bottom = critical_path(graph.n, *_with_edges(graph, kept), time_)
    order = sorted(kept, key=lambda e: -(top[e[0]] + bottom[e[1]]))

    def fits(edges) -> bool:
        return _bound_with(graph, rel, edges, at_start) <= memory_bound

    # the same greedy, edge by edge in that order, tested in blocks: a
    # block that can go as a whole would have gone edge by edge too (each
    # intermediate graph has more edges, so no larger a peak); a block
    # that cannot is halved. Blocks double after a success.
    gone: set[tuple[int, int]] = set()
    i, block = 0, 1
    while i < len(order) and not deadline.expired():
        chunk = order[i : i + block]
        out = gone.union(chunk)
        trial = [e for e in kept if e not in out]
        if fits(trial):
            gone.update(chunk)
            i += len(chunk)
            block *= 2
        elif block > 1:
            block //= 2
        else:
            i += 1
    kept = [e for e in kept if e not in gone]
    return kept, len(gone)


def with_fictitious_edges(graph: Graph, added: list) -> Graph:
    """``graph`` with precedences ``added`` that carry no data.

    A node's ``size`` is read by all its successors, so a new edge would
    make its head read that buffer: node sizes become explicit buffers
    with the original successors as consumers (``keep_outputs`` too), and
    the new edges are edges of size 0 flagged ``fictitious``
    (``Graph.edge_fictitious``; ``"fictitious": true`` in the file). Every
    schedule of the result has the memory profile it has in ``graph``.
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
        fictitious=np.concatenate(
            [graph.edge_fictitious, np.ones(len(added), dtype=bool)]
        ),
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
    method, rule, state, rel, S, F, live, rank, latest, levels, batch=1
):
    """The edges to add this step, as ``(sources, head)`` groups (empty: none).

    ``respect-order``: a pair (counted buffer b, started producer v) is
    allowed when all of b's release nodes come before v in the order; its
    edges (every release node -> v) follow the order, and the tail of
    largest rank always has an allowed buffer (see the module's docstring).
    Among the allowed pairs, those whose edges lengthen the longest path
    least (top level of b's latest-finishing release node + bottom level
    of v) come first, up to ``batch`` of them with distinct buffers.
    """
    if method == "respect-order":
        producers = rel.producer[live]
        tails = np.unique(producers[producers >= 0])
        freeable = np.flatnonzero(live & ~rel.output & (rel.count > 0))
        if not len(tails) or not len(freeable):
            return []
        fb = freeable[np.argsort(latest[freeable], kind="stable")]
        # for each tail, the allowed buffers are a prefix of fb
        k = np.searchsorted(latest[fb], rank[tails], side="left")
        if rule == "order":
            seq = np.argsort(-rank[tails], kind="stable")
        else:
            top, bottom = levels
            # per buffer: the latest top level among its release nodes
            ftop = np.maximum.reduceat(top[rel.idx], rel.ptr[:-1][fb])
            run = np.minimum.accumulate(ftop)
            cost = np.where(k > 0, run[np.maximum(k - 1, 0)], np.inf)
            seq = np.argsort(cost + bottom[tails], kind="stable")
        groups: list[tuple[list[int], int]] = []
        used: set[int] = set()
        for j in seq.tolist():
            v, kj = int(tails[j]), int(k[j])
            if not kj:
                continue
            cand = (
                range(kj)
                if rule == "order"
                else np.argsort(ftop[:kj], kind="stable").tolist()
            )
            for i in cand:
                b = int(fb[i])
                if b in used:
                    continue
                nodes = rel.nodes(b).tolist()
                if all(state.path(c, v) for c in nodes):
                    continue
                used.add(b)
                groups.append((nodes, v))
                break
            if len(groups) >= batch:
                break
        return groups
    heads, tails = _heads_tails(rel, S, F, live)

    def valid(u: int, v: int) -> bool:
        return u != v and not state.path(v, u)

    if method == "min-levels":
        top, bottom = levels
        for u in sorted(heads, key=lambda x: top[x]):
            for v in sorted(tails, key=lambda x: bottom[x]):
                if valid(u, v):
                    return [([u], v)]
        return []
    if method == "max-size":
        for u in sorted(heads, key=lambda x: -heads[x]):
            for v in sorted(tails, key=lambda x: -tails[x]):
                if valid(u, v):
                    return [([u], v)]
        return []
    best = None  # max-min-size
    for u, hu in heads.items():
        for v, tv in tails.items():
            if valid(u, v) and (best is None or min(hu, tv) > best[0]):
                best = (min(hu, tv), u, v)
    return [] if best is None else [([best[1]], best[2])]
