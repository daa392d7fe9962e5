"""Exact minimum peak by dynamic programming over all subsets: the test oracle.

Deliberately simple and independent of :mod:`pebble_sched.memory`: the
memory of a step is computed from the definitions of docs/model.md with
Python sets. After executing a set S of nodes (an ideal), the live buffers
are those produced in S (or graph inputs) that are outputs or still have a
consumer outside S; running v next costs those (with v's own inputs) plus
everything v produces. The minimum peak is the bottleneck shortest path from
the empty set to the full set over the lattice of ideals; the search visits
all 2**n subsets, so it refuses graphs with more than ``MAX_NODES`` nodes.

Exact; full buffer model; O(2**n * n * B).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..exceptions import PebbleSchedError

if TYPE_CHECKING:
    from ..graph import Graph

__all__ = ["MAX_NODES", "brute_force"]

MAX_NODES = 12
"""The largest graph :func:`brute_force` accepts."""


def brute_force(graph: Graph) -> tuple[list[int], int]:
    """An optimal order (node indices) and its peak, by exhaustive DP.

    Raises
    ------
    PebbleSchedError
        When the graph has more than ``MAX_NODES`` nodes.

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> brute_force(g)
    ([0, 1, 2], 5)
    """
    n = graph.n
    if n > MAX_NODES:
        raise PebbleSchedError(
            f"Brute force handles at most {MAX_NODES} nodes; this graph has {n}."
        )
    mb = graph.memory_buffers()
    bufs = []
    for b in range(len(mb)):
        p = int(mb.producer[b])
        cons = frozenset(
            mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]].tolist()
        )
        bufs.append((p, int(mb.size[b]), cons, bool(mb.output[b])))
    preds = [
        frozenset(
            graph.pred_idx[graph.pred_ptr[v] : graph.pred_ptr[v + 1]].tolist()
        )
        for v in range(n)
    ]
    initial = sum(s for p, s, _, _ in bufs if p < 0)
    has_inputs = any(p < 0 for p, _, _, _ in bufs)

    def during(done: set[int], v: int) -> int:
        total = 0
        for p, s, cons, out in bufs:
            if p == v or ((p < 0 or p in done) and (out or not cons <= done)):
                total += s
        return total

    full = (1 << n) - 1
    best: dict[int, tuple[int, int]] = {0: (initial if has_inputs else 0, -1)}
    # subsets in order of size: every ideal is reached from smaller ideals
    for mask in sorted(range(full + 1), key=lambda x: bin(x).count("1")):
        if mask not in best:
            continue
        peak = best[mask][0]
        done = {v for v in range(n) if mask >> v & 1}
        for v in range(n):
            if mask >> v & 1 or not preds[v] <= done:
                continue
            cost = max(peak, during(done, v))
            nxt = mask | 1 << v
            if nxt not in best or cost < best[nxt][0]:
                best[nxt] = (cost, v)
    order = []
    mask = full
    while mask:
        v = best[mask][1]
        order.append(v)
        mask &= ~(1 << v)
    return order[::-1], best[full][0]
