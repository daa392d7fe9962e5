"""One layer of the beam search over ideals, on arrays, compiled by numba.

:func:`pebble_sched.solvers.ideals.beam_order` runs the ideal search's
layers keeping only the ``width`` ideals of least peak so far, then least
resident memory. In numpy a layer costs a handful of calls per node that
may be ready, whatever the width: on a 1,000-node near-SP graph about
80 nodes a layer, 1,000 layers, 4.6 s for width 300 and 5.9 s for width
1,000, nearly all of it call overhead. Here one call builds a whole
layer, state by state:

- a state runs each node whose predecessors (twin chains included) have
  run, unless rule 3 of :mod:`.ideals` makes it continue an open chain
  group; a successor costs ``max(val, res + alloc)`` and leaves ``res +
  last - freed`` resident, where a buffer is freed once every reader has
  run (the same quantities as the numpy layer);
- rule 1 (free moves): a successor that costs no more than the state's
  value and leaves no more resident, for a node outside chain groups from
  a state with none open, is the state's only successor (the first such
  node in index order, as in numpy);
- equal ideals are merged, keeping the least cost, the first found among
  equals (ideals are hashed by Zobrist keys, one random 64-bit word per
  node, so a successor's hash is its parent's with one word added; a
  table on the hashes finds them, and equal hashes are compared bit by
  bit); then the ``width`` of least (cost, resident memory) are kept, ties
  in the order found, the layer in the order found.

Ties may be broken otherwise than in numpy (which keeps ideals in the
order of a hash sort), so the orders can differ; with a width of at least
every layer's size both are the exact search (tested against brute
force). Compiled by :func:`.move_arrays.load` with the local search's
programs; without numba, the numpy layers run.
"""

from __future__ import annotations

import numpy as np

__all__ = ["beam_layer"]


def beam_layer(
    S: np.ndarray,
    h: np.ndarray,
    val: np.ndarray,
    res: np.ndarray,
    must: np.ndarray,
    cand: np.ndarray,
    pred_ptr: np.ndarray,
    pred_w: np.ndarray,
    pred_b: np.ndarray,
    alloc: np.ndarray,
    last: np.ndarray,
    free_ptr: np.ndarray,
    free_wptr: np.ndarray,
    free_w: np.ndarray,
    free_b: np.ndarray,
    free_size: np.ndarray,
    grouped: np.ndarray,
    forced_next: np.ndarray,
    grouping: bool,
    zob: np.ndarray,
    width: int,
) -> tuple[
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
]:
    """The next layer of a beam search.

    ``S`` (states x words): the layer's ideals as bit sets; ``h`` their
    Zobrist hashes, ``val`` the peak so far, ``res`` the resident memory,
    ``must`` the node each must run next (-1: any; rule 3). ``cand``: the
    nodes that may be ready in some state, in increasing order. Per node
    v: its predecessors, the words ``pred_w[i]`` with bits ``pred_b[i]``
    for i from ``pred_ptr[v]`` to ``pred_ptr[v + 1]``; ``alloc`` and
    ``last``, what it allocates and keeps; the buffers it may free, f
    from ``free_ptr[v]`` to ``free_ptr[v + 1]``, of size ``free_size[f]``
    and readers given as words ``free_w`` and bits ``free_b`` from
    ``free_wptr[f]`` to ``free_wptr[f + 1]``; ``grouped`` and
    ``forced_next`` (rule 3, used when
    ``grouping``). ``zob``: a random word per node. Returns the next
    layer's ``(S, h, val, res, must, parent, node, ready)``: at most
    ``width`` ideals, each with its parent's row and the node it added,
    and per node of ``cand`` whether it was ready in some state.
    """
    m, words = S.shape
    nc = len(cand)
    ready = np.zeros(nc, dtype=np.bool_)
    cap = max(16, 4 * m)
    e_parent = np.empty(cap, dtype=np.int64)
    e_node = np.empty(cap, dtype=np.int64)
    e_cost = np.empty(cap, dtype=np.int64)
    e_res = np.empty(cap, dtype=np.int64)
    e_hash = np.empty(cap, dtype=np.uint64)
    ne = 0
    one = np.uint64(1)
    zero = np.uint64(0)
    for s in range(m):
        first = ne  # this state's successors are entries first..ne-1
        v0 = val[s]
        r0 = res[s]
        ms = must[s]
        taken = False  # a free move was found: only readiness is noted
        for ci in range(nc):
            v = cand[ci]
            w = v >> 6
            bit = one << np.uint64(v & 63)
            if S[s, w] & bit != zero:
                continue
            ok = True
            for i in range(pred_ptr[v], pred_ptr[v + 1]):
                if pred_b[i] & ~S[s, pred_w[i]] != zero:
                    ok = False
                    break
            if not ok:
                continue
            ready[ci] = True
            if taken or (grouping and ms >= 0 and ms != v):
                continue
            cost = max(v0, r0 + alloc[v])
            nr = r0 + last[v]
            for f in range(free_ptr[v], free_ptr[v + 1]):
                done = True
                for i in range(free_wptr[f], free_wptr[f + 1]):
                    k = free_w[i]
                    sk = S[s, k] | bit if k == w else S[s, k]
                    if free_b[i] & ~sk != zero:
                        done = False
                        break
                if done:
                    nr -= free_size[f]
            free = cost <= v0 and nr <= r0
            if grouping and (grouped[v] or ms >= 0):
                free = False
            if free:
                ne = first  # the state's only successor
                taken = True
            if ne == cap:
                cap *= 2
                g1 = np.empty(cap, dtype=np.int64)
                g1[:ne] = e_parent[:ne]
                e_parent = g1
                g2 = np.empty(cap, dtype=np.int64)
                g2[:ne] = e_node[:ne]
                e_node = g2
                g3 = np.empty(cap, dtype=np.int64)
                g3[:ne] = e_cost[:ne]
                e_cost = g3
                g4 = np.empty(cap, dtype=np.int64)
                g4[:ne] = e_res[:ne]
                e_res = g4
                g5 = np.empty(cap, dtype=np.uint64)
                g5[:ne] = e_hash[:ne]
                e_hash = g5
            e_parent[ne] = s
            e_node[ne] = v
            e_cost[ne] = cost
            e_res[ne] = nr
            e_hash[ne] = h[s] ^ zob[v]
            ne += 1
    # merge equal ideals (an open-addressing table on the hashes; equal
    # hashes are compared bit by bit), the least cost kept, the first
    # found among equals
    size = 2
    while size < 2 * ne:
        size *= 2
    table = np.full(size, -1, dtype=np.int64)
    wrap = np.uint64(size - 1)
    for e in range(ne):
        he = e_hash[e]
        pos = he & wrap
        pe, ve = e_parent[e], e_node[e]
        while True:
            j = table[pos]
            if j < 0:
                table[pos] = e
                break
            if e_hash[j] == he:
                pj, vj = e_parent[j], e_node[j]
                same = True
                for k in range(words):
                    xa = S[pe, k]
                    xb = S[pj, k]
                    if k == ve >> 6:
                        xa |= one << np.uint64(ve & 63)
                    if k == vj >> 6:
                        xb |= one << np.uint64(vj & 63)
                    if xa != xb:
                        same = False
                        break
                if same:
                    if e_cost[e] < e_cost[j]:
                        table[pos] = e
                    break
            pos = (pos + one) & wrap
    keep = table[table >= 0]
    nk = len(keep)
    keep = np.sort(keep)  # in the order found
    if nk > width:
        # the width least by (cost, resident memory, order found), by
        # selection: all below the width-th cost, then of those at it all
        # below the resident memory needed, then the first found
        costs = e_cost[keep]
        cth = np.partition(costs, width - 1)[width - 1]
        chosen = np.zeros(nk, dtype=np.bool_)
        at = np.flatnonzero(costs == cth)
        need = width - np.sum(costs < cth)
        chosen[costs < cth] = True
        rs = e_res[keep[at]]
        rth = np.partition(rs, need - 1)[need - 1]
        need -= np.sum(rs < rth)
        for t in range(len(at)):
            if rs[t] < rth:
                chosen[at[t]] = True
            elif rs[t] == rth and need > 0:
                chosen[at[t]] = True
                need -= 1
        keep = keep[chosen]
        nk = width
    newS = np.empty((nk, words), dtype=np.uint64)
    nh = np.empty(nk, dtype=np.uint64)
    nval = np.empty(nk, dtype=np.int64)
    nres = np.empty(nk, dtype=np.int64)
    nmust = np.full(nk, -1, dtype=np.int64)
    parent = np.empty(nk, dtype=np.int64)
    node = np.empty(nk, dtype=np.int64)
    for t in range(nk):
        e = keep[t]
        p = e_parent[e]
        v = e_node[e]
        for k in range(words):
            newS[t, k] = S[p, k]
        newS[t, v >> 6] |= one << np.uint64(v & 63)
        nh[t] = e_hash[e]
        nval[t] = e_cost[e]
        nres[t] = e_res[e]
        if grouping:
            nmust[t] = forced_next[v]
        parent[t] = p
        node[t] = v
    return newS, nh, nval, nres, nmust, parent, node, ready
