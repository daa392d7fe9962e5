"""Tests of the exact split at pivots against brute force."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pebble_sched import Graph, evaluate
from pebble_sched.graph import Buffer
from pebble_sched.solvers.brute_force import brute_force
from pebble_sched.solvers.pivots import (
    join_orders,
    pivot_positions,
    split_blocks,
)

from .helpers import graphs


@st.composite
def chained(draw):
    """Small random graphs joined in series through single nodes (pivots likely)."""
    parts = draw(st.lists(graphs(max_nodes=4), min_size=1, max_size=3))
    ids, edges, size, work, bufs = [], [], [], [], []
    prev_sinks = []
    for k, g in enumerate(parts):
        names = [f"p{k}_{v}" for v in g.ids]
        ids += names
        size += g.node_size.tolist()
        work += g.workspace.tolist()
        edges += [
            (names[a], names[b])
            for a, b in zip(
                g.edge_src.tolist(), g.edge_dst.tolist(), strict=False
            )
        ]
        for b in g.buffers:
            prod = None if b.producer is None else f"p{k}_{b.producer}"
            bufs.append(
                Buffer(
                    f"{k}{b.id}",
                    prod,
                    b.size,
                    tuple(f"p{k}_{c}" for c in b.consumers),
                    b.output,
                )
            )
        if g.n:
            srcs = [names[v] for v in np.flatnonzero(g.indegree == 0)]
            edges += [(s, t) for s in prev_sinks for t in srcs]
            prev_sinks = [names[v] for v in np.flatnonzero(g.outdegree == 0)]
    keep = draw(st.booleans())
    return Graph(
        ids, edges, size=size, workspace=work, buffers=bufs, keep_outputs=keep
    )


@given(st.one_of(graphs(max_nodes=9), chained()))
def test_blocks_are_exact(g):
    """Tests max of block optima == optimum, and the joined order achieves it."""
    if g.n > 11:
        return
    blocks, _ = split_blocks(g)
    orders, peaks = [], []
    for blk in blocks:
        o, p = brute_force(blk.graph)
        orders.append(np.array(o, dtype=np.int64))
        peaks.append(p)
    whole = join_orders(blocks, orders)
    opt = brute_force(g)[1]
    assert max(peaks) == opt
    assert evaluate(g, [g.ids[v] for v in whole.tolist()]).peak == opt
    # every block step has the same memory as in the whole schedule
    mem = evaluate(g, [g.ids[v] for v in whole.tolist()]).memory.tolist()
    block_mem = []
    for blk, o in zip(blocks, orders, strict=False):
        block_mem += evaluate(
            blk.graph, [blk.graph.ids[v] for v in o.tolist()]
        ).memory.tolist()
    assert block_mem == mem


def test_chain_of_diamonds_splits():
    """Tests that a chain of diamonds splits at every join node."""
    ids, edges = ["s0"], []
    for k in range(5):
        a, b, j = f"a{k}", f"b{k}", f"s{k + 1}"
        ids += [a, b, j]
        edges += [(f"s{k}", a), (f"s{k}", b), (a, j), (b, j)]
    g = Graph(ids, edges, size=[1] * len(ids))
    assert len(pivot_positions(g)) == 6
    blocks, _ = split_blocks(g)
    assert len(blocks) == 6


def test_split_blocks_keeps_a_deadline():
    """Tests that the split stops on an expired deadline."""
    import pytest

    from pebble_sched.runtime import Deadline, TimeUp

    g = Graph(list("abc"), [("a", "b"), ("b", "c")], size=[1, 2, 3])
    assert len(split_blocks(g, Deadline(60))[0]) == 3
    with pytest.raises(TimeUp):
        split_blocks(g, Deadline(0))
