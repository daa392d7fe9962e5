"""Lower bounds on the minimum peak memory of a graph (full buffer model).

Every bound here is a *proof*: no schedule of the graph has a smaller peak.
Each one rests on the same observation: when node v runs, the executed set
contains every ancestor of v and no descendant of v, so some buffers are
live during v's step in *every* schedule.

- :func:`local_bound` (O(n + m)): during v, its inputs and everything it
  produces (outputs, workspace, edge buffers) are live; so are graph inputs
  and graph outputs that no schedule can have freed or not yet produced;
  before the first step, all graph inputs; at the last step, all outputs.
- :func:`reachability_bound` (O(n * (m + B) / 64) with bit matrices): a
  buffer b is live during v in every schedule when its producer is v, an
  ancestor of v or absent, and it is an output, or v or a descendant of v
  reads it. This dominates :func:`local_bound`.

:func:`lower_bound` returns the best bound that fits the graph's size.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .constants import INT64_SAFE

if TYPE_CHECKING:
    from .graph import Graph

__all__ = ["local_bound", "lower_bound", "reachability_bound"]

#: The reachability bound is computed when n * (number of buffers) is at most
#: this (about a second of work).
REACHABILITY_LIMIT = 40_000_000


def _start_end_bounds(graph: Graph) -> int:
    """Memory before the first step (inputs) and at the last step (outputs)."""
    mb = graph.memory_buffers()
    inputs = sum(int(s) for s in mb.size[mb.producer < 0])
    outputs = sum(int(s) for s in mb.size[mb.output])
    return max(inputs, outputs if graph.n else 0)


def local_bound(graph: Graph) -> int:
    """A lower bound from each node's own inputs and outputs.

    During the step of v, every buffer v reads or produces is live; graph
    inputs that are outputs are live throughout. Also the memory before the
    first step (all graph inputs) and at the last step (all outputs).

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("b", "c")], size=[1, 2, 3])
    >>> local_bound(g)
    5
    """
    mb = graph.memory_buffers()
    n = graph.n
    best = _start_end_bounds(graph)
    if n == 0:
        return best
    always = sum(int(s) for s in mb.size[(mb.producer < 0) & mb.output])
    if mb.total > INT64_SAFE:
        sizes = [int(s) for s in mb.size]
        per = [0] * n
        for v in range(n):
            bufs = set(
                mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]].tolist()
            )
            bufs |= set(
                mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]].tolist()
            )
            per[v] = sum(
                sizes[b]
                for b in bufs
                if not (mb.producer[b] < 0 and mb.output[b])
            )
        return max(best, max(per) + always)
    read_owner = np.repeat(np.arange(n), np.diff(mb.read_ptr))
    per = np.zeros(n, dtype=np.int64)
    np.add.at(
        per,
        read_owner,
        mb.size[mb.read_idx]
        * ~((mb.producer[mb.read_idx] < 0) & mb.output[mb.read_idx]),
    )
    prod_owner = np.repeat(np.arange(n), np.diff(mb.prod_ptr))
    np.add.at(per, prod_owner, mb.size[mb.prod_idx])
    return max(best, int(per.max()) + always)


def _reach_matrix(graph: Graph) -> np.ndarray:
    """Packed bit matrix D with D[v] = descendants of v (v excluded)."""
    n = graph.n
    words = (n + 63) // 64
    desc = np.zeros((n, words), dtype=np.uint64)
    unit = np.zeros((n, words), dtype=np.uint64)
    unit[np.arange(n), np.arange(n) // 64] = np.left_shift(
        np.uint64(1), (np.arange(n) % 64).astype(np.uint64)
    )
    sp, si = graph.succ_ptr, graph.succ_idx
    for v in graph.topological_order()[::-1].tolist():
        succ = si[sp[v] : sp[v + 1]]
        if len(succ):
            desc[v] = np.bitwise_or.reduce(desc[succ] | unit[succ], axis=0)
    return desc


def _unpack(rows: np.ndarray, n: int) -> np.ndarray:
    """Boolean matrix from packed uint64 rows (little-endian bit order)."""
    as_bytes = rows.view(np.uint8).reshape(rows.shape[0], -1)
    bits = np.unpackbits(as_bytes, axis=1, bitorder="little")
    return bits[:, :n].astype(bool)


def reachability_bound(graph: Graph) -> int:
    """A lower bound from the buffers forced live during each node's step.

    Buffer b is live during v in every schedule when (1) its producer is v,
    an ancestor of v, or absent (a graph input), and (2) b is an output, v
    reads it, or a descendant of v reads it, or v produced it. The bound is
    the maximum over v of the total size of those buffers, and the memory
    before the first and at the last step.

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> reachability_bound(g)
    5
    """
    n = graph.n
    mb = graph.memory_buffers()
    best = _start_end_bounds(graph)
    if n == 0 or len(mb) == 0:
        return max(best, local_bound(graph))
    desc = _reach_matrix(graph)
    anc_bits = _unpack(desc, n).T  # anc_bits[v, u]: u is an ancestor of v
    desc_bits = _unpack(desc, n)  # desc_bits[u, v]: v is a descendant of u
    nb = len(mb)
    # D[b, v]: b is produced by v, an ancestor of v, or by no one
    D = np.ones((nb, n), dtype=bool)
    has = mb.producer >= 0
    pb = mb.producer[has]
    D[has] = desc_bits[pb]
    D[np.flatnonzero(has), pb] = True
    # A[b, v]: b is an output, or v or a descendant of v reads it, or v made it
    A = np.zeros((nb, n), dtype=bool)
    A[mb.output] = True
    owner = np.repeat(np.arange(nb), np.diff(mb.cons_ptr))
    for b, c in zip(owner.tolist(), mb.cons_idx.tolist(), strict=True):
        A[b] |= anc_bits[c]
        A[b, c] = True
    A[np.flatnonzero(has), pb] = True
    forced = D & A
    if mb.total <= INT64_SAFE:
        per = mb.size @ forced.astype(np.int64)
        top = int(per.max())
    else:
        sizes = [int(s) for s in mb.size]
        top = max(
            sum(sizes[b] for b in np.flatnonzero(forced[:, v]).tolist())
            for v in range(n)
        )
    return max(best, top, local_bound(graph))


def lower_bound(graph: Graph) -> int:
    """The best lower bound affordable at this graph's size.

    Uses :func:`reachability_bound` when n times the number of buffers is
    at most ``REACHABILITY_LIMIT``, else :func:`local_bound`.
    """
    if graph.n * max(1, len(graph.memory_buffers())) <= REACHABILITY_LIMIT:
        return reachability_bound(graph)
    return local_bound(graph)
