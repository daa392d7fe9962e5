"""Exact re-interleaving of a node subset into the order of the rest.

Given an order and a set U of nodes, :func:`interleave` finds, among all
orders that keep the relative order of the nodes outside U (the *fixed
sequence* F), one of least peak, exactly (full buffer model,
docs/model.md). U's own order is free. The local search
(:mod:`pebble_sched.solvers.heuristics`) uses it as a large-neighbourhood
move: a window move reorders consecutive steps, this one moves a few
related nodes anywhere, which is what carrying a whole branch of a fork
from one side of a peak to the other needs.

Method. A state is (p, I): the first p nodes of F and an ideal I of U
have run (the union must be closed under predecessors). The memory
resident in a state depends on the set alone, and running a node costs the
resident memory plus what the node allocates, so the least peak is a
bottleneck shortest path from (0, {}) to (|F|, U) over the states, whose
edges run the next node of F or a node of U. The states form a DAG
(each edge adds a node), processed by p and, within p, by the size of I,
so one pass computes every state's least bottleneck and a parent for the
path. The original order is one such path, so the result is never worse.
Work: O(states x |U|), states at most (|F| + 1) times the ideals of U;
``max_states`` caps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..runtime import Deadline

if TYPE_CHECKING:
    from ..graph import Graph

__all__ = ["MAX_SUBSET", "Interleaving", "interleave"]

MAX_SUBSET = 62
"""Most nodes a subset may have (an ideal of U is a bit mask)."""


@dataclass(frozen=True)
class Interleaving:
    """What :func:`interleave` found.

    ``order``: the new order (node indices), or ``None`` when the subset
    had more than ``max_states`` states (``too_wide``). ``bottleneck``:
    its highest step (the memory before the first step is not counted).
    ``states``: the states built.
    """

    order: np.ndarray | None
    bottleneck: int
    states: int
    too_wide: bool = False


def interleave(
    graph: Graph,
    order: np.ndarray,
    subset,
    max_states: int = 200_000,
    deadline: Deadline | None = None,
) -> Interleaving:
    """The best order that keeps the relative order of the nodes outside ``subset``.

    ``order``: a valid order (node indices). ``subset``: at most
    ``MAX_SUBSET`` node indices. Returns an :class:`Interleaving` whose
    order has the least highest step among all such orders (the start is
    one of them, so it is never higher than the start's), or none when more
    than ``max_states`` states would be needed. ``deadline``: checked
    while the states are built (``TimeUp``).

    Examples
    --------
    >>> g = Graph(["a", "b", "c", "d"], [("a", "b"), ("c", "d")],
    ...           size=[4, 1, 4, 1])
    >>> from pebble_sched.memory import evaluate_indices
    >>> evaluate_indices(g, [0, 2, 1, 3]).peak  # a, c, b, d
    9
    >>> best = interleave(g, [0, 2, 1, 3], [2, 3])  # c and d may move
    >>> best.bottleneck, [g.ids[v] for v in best.order]
    (5, ['c', 'd', 'a', 'b'])
    """
    order = np.asarray(order, dtype=np.int64)
    n = graph.n
    in_u = np.zeros(n, dtype=bool)
    in_u[np.asarray(list(subset), dtype=np.int64)] = True
    if int(in_u.sum()) > MAX_SUBSET:
        raise ValueError(f"interleave: at most {MAX_SUBSET} nodes.")
    us = order[in_u[order]].tolist()
    fs = order[~in_u[order]].tolist()
    u, f = len(us), len(fs)
    # slot[v]: v's bit for nodes of U, its position in F for the others
    slot = np.empty(n, dtype=np.int64)
    slot[us] = np.arange(u)
    slot[fs] = np.arange(f)
    mb = graph.memory_buffers()
    size = mb.size.tolist()
    nb = len(size)
    # per buffer: the last position in F of its readers there (-1: none),
    # and the mask of its readers in U
    owner = np.repeat(np.arange(nb, dtype=np.int64), np.diff(mb.cons_ptr))
    cons = mb.cons_idx
    last_f = np.full(nb, -1, dtype=np.int64)
    in_f = ~in_u[cons]
    np.maximum.at(last_f, owner[in_f], slot[cons[in_f]])
    u_mask = [0] * nb
    for b, c in zip(
        owner[~in_f].tolist(), slot[cons[~in_f]].tolist(), strict=True
    ):
        u_mask[b] |= 1 << c
    last_f_l = last_f.tolist()
    has_readers = (np.diff(mb.cons_ptr) > 0) | mb.output

    def costs(v: int) -> tuple[int, int, list[tuple[int, int, int]]]:
        bufs = mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]]
        alloc = int(mb.size[bufs].sum())
        lasting = int(mb.size[bufs[has_readers[bufs]]].sum())
        reads = mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]]
        frees = [
            (last_f_l[b], u_mask[b], size[b])
            for b in reads[~mb.output[reads]].tolist()
        ]
        return alloc, lasting, frees

    u_cost = [costs(v) for v in us]
    f_cost = [costs(v) for v in fs]
    # U's precedences: the mask of its predecessors in U, and the first
    # p at which it may run (after its predecessors in F)
    u_pred = [0] * u
    u_from = [0] * u
    f_need = [0] * f  # mask of U that must run before F's node
    pp, pi = graph.pred_ptr, graph.pred_idx
    for v in us + fs:
        mine = slot[v]
        for w in pi[pp[v] : pp[v + 1]].tolist():
            if in_u[v]:
                if in_u[w]:
                    u_pred[mine] |= 1 << int(slot[w])
                else:
                    u_from[mine] = max(u_from[mine], int(slot[w]) + 1)
            elif in_u[w]:
                f_need[mine] |= 1 << int(slot[w])
    by_from = sorted(range(u), key=lambda i: u_from[i])
    # resident at the first step: the inputs someone reads or keeps (an
    # input nobody reads is gone by then)
    inputs = (mb.producer < 0) & has_readers
    r0 = int(mb.size[inputs].sum())
    deadline = deadline or Deadline()
    full = (1 << u) - 1
    # layers[p]: mask -> (bottleneck, resident, parent mask, node or -1)
    # (the parent is in the same layer when node >= 0, else in layer p - 1)
    layers: list[dict[int, tuple[int, int, int, int]]] = []
    cur: dict[int, tuple[int, int, int, int]] = {0: (0, r0, 0, -1)}
    states = 0
    ready = 0  # nodes of U (in by_from order) whose F predecessors ran
    for p in range(f + 1):
        while ready < u and u_from[by_from[ready]] <= p:
            ready += 1
        avail = by_from[:ready]
        # within layer p, masks by size: a mask's value is final once the
        # masks one node smaller have been expanded
        buckets: list[list[int]] = [[] for _ in range(u + 1)]
        for mask in cur:
            buckets[mask.bit_count()].append(mask)
        for c in range(u):
            for mask in buckets[c]:
                val, res, _, _ = cur[mask]
                for i in avail:
                    bit = 1 << i
                    if mask & bit or u_pred[i] & ~mask:
                        continue
                    alloc, lasting, frees = u_cost[i]
                    cost = res + alloc
                    if cost < val:
                        cost = val
                    new = mask | bit
                    old = cur.get(new)
                    if old is None:
                        buckets[c + 1].append(new)
                    elif cost >= old[0]:
                        continue
                    freed = 0
                    for lf, um, sz in frees:
                        if lf < p and not um & ~new:
                            freed += sz
                    cur[new] = (cost, res + lasting - freed, mask, i)
            if states + len(cur) > max_states:
                return Interleaving(None, 0, states + len(cur), too_wide=True)
            deadline.check()
        layers.append(cur)
        states += len(cur)
        if p == f:
            break
        alloc, lasting, frees = f_cost[p]
        need = f_need[p]
        nxt: dict[int, tuple[int, int, int, int]] = {}
        for mask, (val, res, _, _) in cur.items():
            if need & ~mask:
                continue
            cost = res + alloc
            if cost < val:
                cost = val
            freed = 0
            for lf, um, sz in frees:
                if lf <= p and not um & ~mask:
                    freed += sz
            nxt[mask] = (cost, res + lasting - freed, mask, -1)
        cur = nxt
    end = layers[f].get(full)
    if end is None:  # (cannot happen for a valid start)
        raise ValueError("interleave: the start is not a valid order.")
    seq: list[int] = []
    p, mask = f, full
    while p > 0 or mask:
        _, _, parent, i = layers[p][mask]
        if i >= 0:
            seq.append(us[i])
        else:
            p -= 1
            seq.append(fs[p])
        mask = parent
    return Interleaving(np.array(seq[::-1], dtype=np.int64), end[0], states)
