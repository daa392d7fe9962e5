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
force). Compiled by :func:`.move_arrays.load_beam` (about 3 s once, then
read from numba's cache), when the time left allows it; otherwise, and
without numba, the numpy layers run.
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
    # room for every successor (at most one per state and node; only
    # what is written is ever touched)
    cap = max(1, m * nc)
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
    kept = np.zeros(ne, dtype=np.bool_)
    nk = 0
    for pos in range(size):
        if table[pos] >= 0:
            kept[table[pos]] = True
            nk += 1
    keep = np.empty(nk, dtype=np.int64)  # in the order found
    t = 0
    for e in range(ne):
        if kept[e]:
            keep[t] = e
            t += 1
    if nk > width:
        # the width least by key (cost, resident memory, order found): a
        # max-heap of positions in keep, the greatest key at its root
        heap = np.empty(width, dtype=np.int64)
        for t in range(nk):
            e = keep[t]
            key = (e_cost[e], e_res[e], t)
            if t < width:
                i = t  # push t, then sift it up
                while i > 0:
                    p = (i - 1) // 2
                    q = heap[p]
                    if key > (e_cost[keep[q]], e_res[keep[q]], q):
                        heap[i] = q
                        i = p
                    else:
                        break
                heap[i] = t
                continue
            r = heap[0]
            if key > (e_cost[keep[r]], e_res[keep[r]], r):
                continue
            i = 0  # t replaces the root, sifted down
            while True:
                c = 2 * i + 1
                if c >= width:
                    break
                kc = (e_cost[keep[heap[c]]], e_res[keep[heap[c]]], heap[c])
                if c + 1 < width:
                    d = heap[c + 1]
                    kd = (e_cost[keep[d]], e_res[keep[d]], d)
                    if kd > kc:
                        c += 1
                        kc = kd
                if kc > key:
                    heap[i] = heap[c]
                    i = c
                else:
                    break
            heap[i] = t
        chosen = np.zeros(nk, dtype=np.bool_)
        for i in range(width):
            chosen[heap[i]] = True
        out = np.empty(width, dtype=np.int64)
        t2 = 0
        for t in range(nk):
            if chosen[t]:
                out[t2] = keep[t]
                t2 += 1
        keep = out
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
