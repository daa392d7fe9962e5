"""Exact divide and conquer at pivots: nodes comparable to every other node.

A *pivot* is a node v such that every other node is an ancestor or a
descendant of v. In every schedule, v then runs exactly after its ancestors
and before its descendants, so the graph splits into *blocks* (the nodes
between consecutive pivots, each block ending with its pivot) that run one
after the other in every schedule. A block's steps see the same memory in
any schedule as in a small instance of their own, in the full buffer model
of docs/model.md:

- a buffer produced before the block and still needed (read in or after
  the block, or an output) becomes a graph input of the block;
- a buffer read after the block, or an output, is an output of the block
  (kept to its end);
- buffers not live during the block are dropped.

So the minimum peak is the maximum of the blocks' minimum peaks, any
concatenation of optimal block orders is optimal, and the largest block
lower bound is a lower bound of the whole (Serenity, Ahn et al., MLSys
2020, split at such cut vertices). Exact; O(n + m + B) to find the blocks.

Pivots are found on one topological order: position p holds a pivot iff no
edge jumps over p, no node before p is a sink, and no node after p is a
source (then every earlier node reaches it and it reaches every later one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..graph import Buffer, Graph

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..runtime import Deadline

__all__ = ["Block", "pivot_positions", "split_blocks"]


@dataclass(frozen=True)
class Block:
    """A block: its instance and, per block node, the original node index."""

    graph: Graph
    nodes: np.ndarray


def pivot_positions(
    graph: Graph, order: np.ndarray | None = None
) -> list[int]:
    """Positions (in ``order``, default a topological order) holding pivots.

    Examples
    --------
    >>> g = Graph(list("abcd"), [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")])
    >>> pivot_positions(g)
    [0, 3]
    """
    n = graph.n
    if n == 0:
        return []
    order = graph.topological_order() if order is None else order
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n)
    ps, pd = pos[graph.edge_src], pos[graph.edge_dst]
    # edges strictly jumping over position p: ps < p < pd
    jump = np.zeros(n + 1, dtype=np.int64)
    np.add.at(jump, ps + 1, 1)
    np.add.at(jump, pd, -1)
    over = np.cumsum(jump)[:n]
    sinks = (graph.outdegree == 0)[order]
    sources = (graph.indegree == 0)[order]
    sinks_before = np.concatenate(([0], np.cumsum(sinks)[:-1]))
    sources_after = np.concatenate((np.cumsum(sources[::-1])[::-1][1:], [0]))
    ok = (over == 0) & (sinks_before == 0) & (sources_after == 0)
    return np.flatnonzero(ok).tolist()


def split_blocks(
    graph: Graph, deadline: Deadline | None = None
) -> tuple[list[Block], np.ndarray]:
    """The blocks of ``graph`` in execution order, and the topological order used.

    A graph without inner pivots is one block (itself, with identity nodes).
    ``deadline``: checked every few thousand buffers and at every block
    (``TimeUp``).
    """
    n = graph.n
    order = graph.topological_order()
    cuts = [p for p in pivot_positions(graph, order) if p < n - 1]
    if not cuts:
        return [Block(graph, np.arange(n, dtype=np.int64))], order
    bounds = [-1, *cuts, n - 1]
    block_of = np.empty(n, dtype=np.int64)
    for k in range(len(bounds) - 1):
        block_of[order[bounds[k] + 1 : bounds[k + 1] + 1]] = k
    mb = graph.memory_buffers()
    nblocks = len(bounds) - 1
    per_block: list[list[Buffer]] = [[] for _ in range(nblocks)]
    ids = graph.ids
    for b in range(len(mb)):
        if deadline is not None and not b & 4095:
            deadline.check()
        p = int(mb.producer[b])
        cons = mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]]
        cblocks = block_of[cons]
        first = int(block_of[p]) if p >= 0 else 0
        if mb.output[b]:
            last = nblocks - 1
        elif len(cons):
            last = int(cblocks.max())
        else:
            last = first if p >= 0 else -1
        if p < 0 and last < 0:
            # an unread input: only before the first step
            per_block[0].append(Buffer(f"b{b}", None, int(mb.size[b])))
            continue
        for k in range(first, last + 1):
            in_k = tuple(ids[c] for c in cons[cblocks == k])
            per_block[k].append(
                Buffer(
                    f"b{b}",
                    ids[p] if (p >= 0 and k == first) else None,
                    int(mb.size[b]),
                    in_k,
                    bool(k < last or mb.output[b]),
                )
            )
    blocks = []
    for k in range(nblocks):
        if deadline is not None:
            deadline.check()
        nodes = order[bounds[k] + 1 : bounds[k + 1] + 1]
        inside = np.zeros(n, dtype=bool)
        inside[nodes] = True
        keep = inside[graph.edge_src] & inside[graph.edge_dst]
        edges = [
            (ids[a], ids[c])
            for a, c in zip(
                graph.edge_src[keep].tolist(),
                graph.edge_dst[keep].tolist(),
                strict=True,
            )
        ]
        sub = Graph(
            [ids[v] for v in nodes.tolist()],
            edges,
            buffers=per_block[k],
            name=f"{graph.name or 'graph'}[block {k}]",
        )
        blocks.append(Block(sub, nodes))
    return blocks, order


def join_orders(
    blocks: Sequence[Block], orders: Sequence[np.ndarray]
) -> np.ndarray:
    """The whole order from each block's order (block-local indices)."""
    return np.concatenate(
        [
            blk.nodes[np.asarray(o, dtype=np.int64)]
            for blk, o in zip(blocks, orders, strict=True)
        ]
    ).astype(np.int64)
