"""PyTorch Inductor's memory-aware reorderings, re-implemented faithfully.

``torch/_inductor/memory.py`` (PyTorch 2.5 - 2.13) offers three topological
sorts and ``reorder_for_peak_memory``, which keeps the lowest-peak order of
{input order, LPMF, BFS, DFS} (ties go to the input order). These functions
reproduce their choices on our buffer model, which is Inductor's own
(docs/model.md): a node's ``size`` is the total of the buffers it allocates
(including scratch and edge buffers here), its predecessor buffers are the
buffers it reads, and a buffer's out-degree counts its consumers plus one
when it is a graph output. The *index* of a node is its position in the
input order: the graph's ``trace_order`` when it has one, else its node order.

- :func:`lpmf_order`: "least peak memory first" (Kuo et al., DAC 2006, as
  adapted in Inductor). Inductor selects by a linear scan of the ready set;
  we keep its exact selection rule (key ``(size if size > gap else 0,
  size - free, index)``) but find the minimum with segment trees, so the
  order is the same and the time is O((n + m) log n) instead of
  O(n * ready).
- :func:`bfs_order`: FIFO by the sorted positions of a node's predecessors
  (every source first, a quirk kept on purpose).
- :func:`dfs_order`: post-order DFS over predecessors, visiting nodes in
  ascending (size with reads, index). Inductor's version is recursive and
  fails beyond ~1,000 nested calls; this one is iterative.
- :func:`inductor_order`: the best of the four, exactly as
  ``reorder_for_peak_memory``.

None of these is exact; they are the baselines users would otherwise get.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from typing import TYPE_CHECKING

import numpy as np

from ..memory import peak_of

if TYPE_CHECKING:
    from ..graph import Graph
    from ..runtime import Deadline

__all__ = [
    "bfs_order",
    "dfs_order",
    "inductor_order",
    "input_order",
    "lpmf_order",
]

_INF = float("inf")


def input_order(graph: Graph) -> np.ndarray:
    """Inductor's input order: ``trace_order`` if given, else node order.

    A graph without a trace order whose node order is not topological gets
    the deterministic Kahn order instead.
    """
    trace = graph.trace_indices()
    if trace is not None:
        return trace
    ident = np.arange(graph.n, dtype=np.int64)
    if (graph.edge_src < graph.edge_dst).all():
        return ident
    return graph.topological_order()


def _ranks(graph: Graph) -> list[int]:
    """index(v): the position of v in the input order."""
    rank = np.empty(graph.n, dtype=np.int64)
    rank[input_order(graph)] = np.arange(graph.n)
    return rank.tolist()


def _node_sizes(graph: Graph) -> list[int]:
    mb = graph.memory_buffers()
    size = [0] * graph.n
    sizes = mb.size.tolist()
    prod = mb.producer.tolist()
    for b, p in enumerate(prod):
        if p >= 0:
            size[p] += sizes[b]
    return size


class _MinTree:
    """Segment tree of integer keys (``inf`` = absent): point set, range min."""

    __slots__ = ("size", "tree")

    def __init__(self, n: int) -> None:
        size = 1
        while size < max(n, 1):
            size *= 2
        self.size = size
        self.tree: list[float] = [_INF] * (2 * size)

    def set(self, i: int, value: float) -> None:
        tree = self.tree
        i += self.size
        tree[i] = value
        i >>= 1
        while i:
            a, b = tree[2 * i], tree[2 * i + 1]
            tree[i] = a if a < b else b
            i >>= 1

    def min(self, lo: int, hi: int) -> float:
        """Minimum over positions [lo, hi)."""
        tree = self.tree
        res = _INF
        lo += self.size
        hi += self.size
        while lo < hi:
            if lo & 1:
                if tree[lo] < res:
                    res = tree[lo]
                lo += 1
            if hi & 1:
                hi -= 1
                if tree[hi] < res:
                    res = tree[hi]
            lo >>= 1
            hi >>= 1
        return res

    def first(self) -> int:
        """Leftmost position holding a finite key (-1 if none)."""
        tree = self.tree
        if tree[1] == _INF:
            return -1
        i = 1
        while i < self.size:
            i = 2 * i if tree[2 * i] != _INF else 2 * i + 1
        return i - self.size


def lpmf_order(graph: Graph, deadline: Deadline | None = None) -> np.ndarray:
    """Inductor's ``topological_sort_lpmf`` (least peak memory first).

    Among ready nodes, those whose allocation fits under the peak so far
    come first, by net memory change then index; when none fits, the
    smallest allocation wins (then net change, then index).

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> lpmf_order(g).tolist()
    [0, 1, 2]
    """
    n = graph.n
    mb = graph.memory_buffers()
    rank = _ranks(graph)
    node_at = [0] * n
    for v, r in enumerate(rank):
        node_at[r] = v
    size = _node_sizes(graph)
    bsize = mb.size.tolist()
    bprod = mb.producer.tolist()
    bout = mb.output.tolist()
    cp, ci = mb.cons_ptr.tolist(), mb.cons_idx.tolist()
    rp, ri = mb.read_ptr.tolist(), mb.read_idx.tolist()
    pp, pi = mb.prod_ptr.tolist(), mb.prod_idx.tolist()
    sp, si = graph.succ_ptr.tolist(), graph.succ_idx.tolist()
    indeg = np.diff(graph.pred_ptr).tolist()
    outdeg = [
        cp[b + 1] - cp[b] + (1 if bout[b] else 0) for b in range(len(bsize))
    ]

    live = sum(
        bsize[b]
        for b in range(len(bsize))
        if bprod[b] < 0 and not bout[b] and cp[b + 1] > cp[b]
    )
    max_mem = max(live, sum(s for s, o in zip(bsize, bout, strict=True) if o))
    free = [0] * n
    for v in range(n):
        f = 0
        for k in range(rp[v], rp[v + 1]):
            if outdeg[ri[k]] == 1:
                f += bsize[ri[k]]
        for k in range(pp[v], pp[v + 1]):
            if outdeg[pi[k]] == 0:
                f += bsize[pi[k]]
        free[v] = f

    # nodes sorted by (size, index); tree keys encode (size - free, index)
    by_size = sorted(range(n), key=lambda v: (size[v], rank[v]))
    slot = [0] * n
    for k, v in enumerate(by_size):
        slot[v] = k
    sorted_sizes = [size[v] for v in by_size]
    tree = _MinTree(n)
    ready = [False] * n

    def key(v: int) -> int:
        return (size[v] - free[v]) * n + rank[v]

    for v in range(n):
        if indeg[v] == 0:
            ready[v] = True
            tree.set(slot[v], key(v))

    order = []
    for step in range(n):
        if deadline is not None and step & 1023 == 1023:
            deadline.check()
        gap = max_mem - live
        k = bisect_right(sorted_sizes, gap)
        best = tree.min(0, k) if k else _INF
        if best == _INF:
            p = tree.first()
            hi = bisect_right(sorted_sizes, sorted_sizes[p])
            best = tree.min(p, hi)
        v = node_at[int(best) % n]
        ready[v] = False
        tree.set(slot[v], _INF)
        order.append(v)
        live += size[v]
        if live > max_mem:
            max_mem = live
        live -= free[v]
        for k2 in range(sp[v], sp[v + 1]):
            w = si[k2]
            indeg[w] -= 1
            if indeg[w] == 0:
                ready[w] = True
                tree.set(slot[w], key(w))
        for k2 in range(rp[v], rp[v + 1]):
            b = ri[k2]
            outdeg[b] -= 1
            if outdeg[b] == 1:
                for k3 in range(cp[b], cp[b + 1]):
                    c = ci[k3]
                    free[c] += bsize[b]
                    if ready[c]:
                        tree.set(slot[c], key(c))
    return np.array(order, dtype=np.int64)


def bfs_order(graph: Graph, deadline: Deadline | None = None) -> np.ndarray:
    """Inductor's ``topological_sort_bfs``.

    A ready node's priority is the sorted list of the positions at which
    its predecessors ran; the smallest list (then index) goes first, so all
    sources run before anything else.
    """
    n = graph.n
    rank = _ranks(graph)
    pp, pi = graph.pred_ptr.tolist(), graph.pred_idx.tolist()
    sp, si = graph.succ_ptr.tolist(), graph.succ_idx.tolist()
    indeg = np.diff(graph.pred_ptr).tolist()
    pos = [-1] * n
    heap: list[tuple[list[int], int, int]] = [
        ([], rank[v], v) for v in range(n) if indeg[v] == 0
    ]
    heapq.heapify(heap)
    order = []
    while heap:
        if deadline is not None and len(order) & 1023 == 1023:
            deadline.check()
        _, _, v = heapq.heappop(heap)
        pos[v] = len(order)
        order.append(v)
        for k in range(sp[v], sp[v + 1]):
            w = si[k]
            indeg[w] -= 1
            if indeg[w] == 0:
                prio = sorted(pos[pi[j]] for j in range(pp[w], pp[w + 1]))
                heapq.heappush(heap, (prio, rank[w], w))
    return np.array(order, dtype=np.int64)


def dfs_order(graph: Graph, deadline: Deadline | None = None) -> np.ndarray:
    """Inductor's ``topological_sort_dfs``, without recursion.

    Visits nodes by ascending (size with reads, index); each visit first
    visits the node's predecessors in the same order, then emits the node.
    """
    n = graph.n
    mb = graph.memory_buffers()
    rank = _ranks(graph)
    size = _node_sizes(graph)
    bsize = mb.size.tolist()
    rp, ri = mb.read_ptr.tolist(), mb.read_idx.tolist()
    swr = [
        size[v] + sum(bsize[ri[k]] for k in range(rp[v], rp[v + 1]))
        for v in range(n)
    ]
    pp, pi = graph.pred_ptr.tolist(), graph.pred_idx.tolist()
    prio = [(swr[v], rank[v]) for v in range(n)]
    seen = [False] * n
    order: list[int] = []
    for root in sorted(range(n), key=prio.__getitem__):
        if seen[root]:
            continue
        seen[root] = True
        stack = [
            (
                root,
                iter(
                    sorted(pi[pp[root] : pp[root + 1]], key=prio.__getitem__)
                ),
            )
        ]
        while stack:
            v, it = stack[-1]
            for u in it:
                if not seen[u]:
                    seen[u] = True
                    stack.append(
                        (
                            u,
                            iter(
                                sorted(
                                    pi[pp[u] : pp[u + 1]], key=prio.__getitem__
                                )
                            ),
                        )
                    )
                    break
            else:
                stack.pop()
                order.append(v)
                if deadline is not None and len(order) & 1023 == 1023:
                    deadline.check()
    return np.array(order, dtype=np.int64)


INDUCTOR_METHODS = {"lpmf": lpmf_order, "bfs": bfs_order, "dfs": dfs_order}


def inductor_order(
    graph: Graph, deadline: Deadline | None = None
) -> tuple[np.ndarray, int, str]:
    """``reorder_for_peak_memory``: the best of {input, LPMF, BFS, DFS}.

    Returns the order, its peak, and which of ``"input"``, ``"lpmf"``,
    ``"bfs"``, ``"dfs"`` won (ties go to the earlier one, as in Inductor).
    """
    best = input_order(graph)
    best_peak, best_name = peak_of(graph, best), "input"
    for name, fn in INDUCTOR_METHODS.items():
        order = fn(graph, deadline)
        peak = peak_of(graph, order)
        if peak < best_peak:
            best, best_peak, best_name = order, peak, name
    return best, best_peak, best_name
