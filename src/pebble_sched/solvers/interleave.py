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
Only the layers from the first p at which a node of U may run (after its
predecessors in F) to the last (before its successors in F) are
searched: before and after them the start's own steps are kept, since
every state there is one of its prefixes. Buffers that no node of U
reads are freed, as in the start, by their last reader in F. Work:
O(states x |U|), states at most the layers searched times the ideals of
U; ``max_states`` caps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..memory import evaluate_indices, lifetimes
from ..runtime import Deadline
from .move_arrays import run_interleave

if TYPE_CHECKING:
    from ..graph import Graph
    from ..memory import Profile
    from .move_arrays import Programs

__all__ = ["MAX_SUBSET", "GraphArrays", "Interleaving", "interleave"]

MAX_SUBSET = 62
"""Most nodes a subset may have (its ideals are bit masks; far fewer
nodes already give more states than a move can afford)."""


@dataclass(frozen=True)
class GraphArrays:
    """What every move on one graph needs and no order changes: per node
    what it allocates and what of it outlives its step, per buffer its
    readers' count and owner per read. A local search builds it once
    (``GraphArrays.of(graph)``) instead of once per move."""

    alloc: np.ndarray
    lasting: np.ndarray
    readers: np.ndarray
    owner: np.ndarray
    has_readers: np.ndarray

    @classmethod
    def of(cls, graph: Graph) -> GraphArrays:
        mb = graph.memory_buffers()
        n = graph.n
        readers = np.diff(mb.cons_ptr)
        has_readers = (readers > 0) | mb.output
        has_prod = mb.producer >= 0
        alloc = np.zeros(n, dtype=np.int64)
        np.add.at(alloc, mb.producer[has_prod], mb.size[has_prod])
        lasting = np.zeros(n, dtype=np.int64)
        keep = has_prod & has_readers
        np.add.at(lasting, mb.producer[keep], mb.size[keep])
        owner = np.repeat(np.arange(len(mb), dtype=np.int64), readers)
        return cls(alloc, lasting, readers, owner, has_readers)


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
    programs: Programs | None = None,
    *,
    arrays: GraphArrays | None = None,
    profile: Profile | None = None,
    ends: np.ndarray | None = None,
) -> Interleaving:
    """The best order that keeps the relative order of the nodes outside ``subset``.

    ``order``: a valid order (node indices). ``subset``: at most
    ``MAX_SUBSET`` node indices. Returns an :class:`Interleaving` whose
    order has the least highest step among all such orders (the start is
    one of them, so it is never higher than the start's), or none when more
    than ``max_states`` states would be needed. ``deadline``: checked
    while the states are built (``TimeUp``), or only before, with
    ``programs`` (:func:`.move_arrays.load`): the same program on
    arrays, compiled, which gives the same answer. ``arrays``
    (:class:`GraphArrays`), ``profile`` (the order's, from
    :func:`~pebble_sched.memory.evaluate_indices`) and ``ends`` (its
    buffers' last steps, from :func:`~pebble_sched.memory.lifetimes`) save
    a caller that has them their computation (O(n) each, most of a move's
    preparation at 1,000 nodes); they must be those of ``graph`` and
    ``order``.

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
    deadline = deadline or Deadline()
    mb = graph.memory_buffers()
    if profile is None:
        profile = evaluate_indices(graph, order, check=False)
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    end = lifetimes(graph, pos)[1] if ends is None else ends
    arrays = arrays or GraphArrays.of(graph)
    us = order[in_u[order]].tolist()
    fs_arr = order[~in_u[order]]
    fs = fs_arr.tolist()
    u, f = len(us), len(fs)
    # slot[v]: v's bit for nodes of U, its index in F for the others
    slot = np.empty(n, dtype=np.int64)
    slot[us] = np.arange(u)
    slot[fs_arr] = np.arange(f)
    # what each node allocates, and what of it outlives its step
    alloc, lasting = arrays.alloc, arrays.lasting
    readers, has_readers = arrays.readers, arrays.has_readers
    # the buffers some node of U reads are freed where the state says; any
    # other buffer by its last reader in the order, which stays the last
    # (F keeps its relative order)
    owner = arrays.owner
    read_by_u = np.zeros(len(mb), dtype=bool)
    read_by_u[owner[in_u[mb.cons_idx]]] = True
    freeable = (readers > 0) & ~mb.output
    plain = freeable & ~read_by_u
    freed_static = np.zeros(n, dtype=np.int64)
    np.add.at(freed_static, order[end[plain]], mb.size[plain])
    last_f: dict[int, int] = {}  # the last reader in F (-1: none)
    u_mask: dict[int, int] = {}  # the readers in U
    for b in np.flatnonzero(freeable & read_by_u).tolist():
        cons = mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]]
        mine = in_u[cons]
        last_f[b] = int(slot[cons[~mine]].max()) if (~mine).any() else -1
        m = 0
        for i in slot[cons[mine]].tolist():
            m |= 1 << i
        u_mask[b] = m
    size = mb.size.tolist()
    u_cost = []  # (alloc, lasting, [(last F reader, U readers, size)])
    for v in us:
        reads = mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]].tolist()
        u_cost.append(
            (
                int(alloc[v]),
                int(lasting[v]),
                [
                    (last_f[b], u_mask[b], size[b])
                    for b in reads
                    if b in u_mask
                ],
            )
        )
    f_wait: dict[int, list[tuple[int, int]]] = {}  # F index: (U readers, size)
    for b, q in last_f.items():
        if q >= 0:
            f_wait.setdefault(q, []).append((u_mask[b], size[b]))
    # U's precedences: the mask of its predecessors in U, and the range
    # of layers (F nodes run) it may run in
    u_pred = [0] * u
    u_from = [0] * u
    u_to = [f] * u
    f_need: dict[int, int] = {}  # F index: mask of U that must run first
    pp, pi = graph.pred_ptr, graph.pred_idx
    sp, si = graph.succ_ptr, graph.succ_idx
    for i, v in enumerate(us):
        for w in pi[pp[v] : pp[v + 1]].tolist():
            if in_u[w]:
                u_pred[i] |= 1 << int(slot[w])
            else:
                u_from[i] = max(u_from[i], int(slot[w]) + 1)
        for w in si[sp[v] : sp[v + 1]].tolist():
            if not in_u[w]:
                q = int(slot[w])
                u_to[i] = min(u_to[i], q)
                f_need[q] = f_need.get(q, 0) | 1 << i
    # below layer lo no node of U may run, above hi all have run: there
    # the states are the start's own prefixes, kept as they are (every
    # node of U runs after its predecessors in F, before its successors)
    lo = min(u_from, default=0)
    hi = max(u_to, default=0)
    first = int(pos[fs[lo - 1]]) + 1 if lo else 0  # F[:lo], in place
    if first:
        head = int(profile.memory[:first].max())
        r0 = int(profile.resident[first - 1])
    else:  # the inputs someone reads or keeps (an unread one is gone)
        head = 0
        r0 = int(mb.size[(mb.producer < 0) & has_readers].sum())
    tail_from = int(pos[fs[hi]]) if hi < f else n  # F[hi:], in place
    tail = int(profile.memory[tail_from:].max()) if tail_from < n else 0
    if programs is not None:
        if deadline is not None:
            deadline.check()
        # the same states on arrays (move_arrays.interleave_dp), compiled
        frees = [c[2] for c in u_cost]
        uf_ptr = np.zeros(u + 1, dtype=np.int64)
        uf_ptr[1:] = np.cumsum([len(x) for x in frees])
        avail = np.zeros(hi - lo + 1, dtype=np.uint64)
        for i in range(u):  # (u_from[i] >= lo for every i)
            avail[u_from[i] - lo :] |= np.uint64(1 << i)
        f_need_arr = np.zeros(f, dtype=np.uint64)
        for q, m in f_need.items():
            f_need_arr[q] = m
        # (F's waits are few: built from the dict, not by a loop over F)
        wait_at = sorted(f_wait)
        waits = [f_wait[q] for q in wait_at]
        fw_ptr = np.zeros(f + 1, dtype=np.int64)
        if wait_at:
            fw_ptr[1:] = np.cumsum(
                np.bincount(
                    np.asarray(wait_at, dtype=np.int64),
                    weights=[len(w) for w in waits],
                    minlength=f,
                ).astype(np.int64)
            )
        status, bottleneck, steps, states = run_interleave(
            programs.interleave,
            np.array(u_pred, dtype=np.uint64),
            np.array([c[0] for c in u_cost], dtype=np.int64),
            np.array([c[1] for c in u_cost], dtype=np.int64),
            np.array([x[0] for fr in frees for x in fr], dtype=np.int64),
            np.array([x[1] for fr in frees for x in fr], dtype=np.uint64),
            np.array([x[2] for fr in frees for x in fr], dtype=np.int64),
            uf_ptr,
            avail,
            alloc[fs_arr],
            lasting[fs_arr] - freed_static[fs_arr],
            f_need_arr,
            np.array([x[0] for w in waits for x in w], dtype=np.uint64),
            np.array([x[1] for w in waits for x in w], dtype=np.int64),
            fw_ptr,
            lo,
            hi,
            head,
            r0,
            max_states,
        )
        if status == 1:
            return Interleaving(None, 0, int(states), too_wide=True)
        if status == 2:  # (cannot happen for a valid start)
            raise ValueError("interleave: the start is not a valid order.")
        nodes = np.where(
            steps >= 0,
            np.asarray(us, dtype=np.int64)[np.maximum(steps, 0)],
            fs_arr[np.maximum(-1 - steps, 0)] if f else 0,
        )
        new_order = np.concatenate(
            (order[:first], nodes[::-1], order[tail_from:])
        ).astype(np.int64)
        return Interleaving(new_order, max(int(bottleneck), tail), int(states))
    by_from = sorted(range(u), key=lambda i: u_from[i])
    full = (1 << u) - 1
    # layers[p - lo]: mask -> (bottleneck, resident, parent mask, node or
    # -1) (the parent is in the same layer when node >= 0, else in the
    # layer before)
    layers: list[dict[int, tuple[int, int, int, int]]] = []
    cur: dict[int, tuple[int, int, int, int]] = {0: (head, r0, 0, -1)}
    states = 0
    ready = 0  # nodes of U (in by_from order) whose F predecessors ran
    avail = 0  # their mask
    for p in range(lo, hi + 1):
        while ready < u and u_from[by_from[ready]] <= p:
            avail |= 1 << by_from[ready]
            ready += 1
        # within layer p, masks by size: a mask's value is final once the
        # masks one node smaller have been expanded
        buckets: dict[int, list[int]] = {}
        for mask in cur:
            buckets.setdefault(mask.bit_count(), []).append(mask)
        c, top = min(buckets), max(buckets)
        while c <= top:
            for mask in buckets.get(c, ()):
                val, res, _, _ = cur[mask]
                todo = avail & ~mask
                while todo:
                    bit = todo & -todo
                    todo ^= bit
                    i = bit.bit_length() - 1
                    if u_pred[i] & ~mask:
                        continue
                    alloc_i, lasting_i, frees = u_cost[i]
                    cost = res + alloc_i
                    if cost < val:
                        cost = val
                    new = mask | bit
                    old = cur.get(new)
                    if old is None:
                        buckets.setdefault(c + 1, []).append(new)
                        top = max(top, c + 1)
                    elif cost >= old[0]:
                        continue
                    freed = 0
                    for lf, um, sz in frees:
                        if lf < p and not um & ~new:
                            freed += sz
                    cur[new] = (cost, res + lasting_i - freed, mask, i)
            c += 1
            if len(cur) > 64:  # (a big layer: checked by sizes too)
                if states + len(cur) > max_states:
                    return Interleaving(
                        None, 0, states + len(cur), too_wide=True
                    )
                deadline.check()
        if states + len(cur) > max_states:
            return Interleaving(None, 0, states + len(cur), too_wide=True)
        if not p & 63 or len(cur) > 64:
            deadline.check()
        layers.append(cur)
        states += len(cur)
        if p == hi:
            break
        v = fs[p]
        alloc_v = int(alloc[v])
        kept = int(lasting[v]) - int(freed_static[v])
        need = f_need.get(p, 0)
        wait = f_wait.get(p, ())
        nxt: dict[int, tuple[int, int, int, int]] = {}
        for mask, (val, res, _, _) in cur.items():
            if need & ~mask:
                continue
            cost = res + alloc_v
            if cost < val:
                cost = val
            freed = 0
            for um, sz in wait:
                if not um & ~mask:
                    freed += sz
            nxt[mask] = (cost, res + kept - freed, mask, -1)
        cur = nxt
    got = layers[-1].get(full)
    if got is None:  # (cannot happen for a valid start)
        raise ValueError("interleave: the start is not a valid order.")
    seq: list[int] = []
    p, mask = hi, full
    while p > lo or mask:
        _, _, parent, i = layers[p - lo][mask]
        if i >= 0:
            seq.append(us[i])
        else:
            p -= 1
            seq.append(fs[p])
        mask = parent
    new_order = np.concatenate(
        (order[:first], np.array(seq[::-1], dtype=np.int64), order[tail_from:])
    )
    return Interleaving(new_order, max(got[0], tail), states)
