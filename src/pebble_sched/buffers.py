"""The expanded buffer model: every buffer of a graph as numpy arrays.

docs/model.md's shorthands mean exactly these buffers: a node size s(v) is a
buffer produced by v read by all successors; a workspace x(v) a buffer of v
with no consumer; an edge size m(u, v) a buffer of u read by v alone;
``keep_outputs`` makes the node-size buffers of sinks outputs. Explicit
buffers are taken as given. Buffers of size zero are dropped (they never
change the memory).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .graph import Graph

__all__ = ["Buffer", "MemoryBuffers", "NodeId", "expand"]

NodeId = str | int


@dataclass(frozen=True, slots=True)
class Buffer:
    """An explicit buffer of the general model (docs/model.md).

    Parameters
    ----------
    id
        The buffer's name, unique among buffers.
    producer
        The node that allocates it, or ``None`` for a graph input.
    size
        Its size in bytes.
    consumers
        The nodes that read it.
    output
        Whether it is a result of the graph, resident to the end.
    """

    id: NodeId
    producer: NodeId | None
    size: int
    consumers: tuple[NodeId, ...] = ()
    output: bool = False


def _freeze(arr: np.ndarray) -> np.ndarray:
    arr.flags.writeable = False
    return arr


def _csr(keys: np.ndarray, values: np.ndarray, n: int):
    """CSR of ``values`` grouped by ``keys`` in 0..n-1 (stable)."""
    order = np.argsort(keys, kind="stable")
    counts = (
        np.bincount(keys, minlength=n)
        if len(keys)
        else np.zeros(n, dtype=np.int64)
    )
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    return _freeze(ptr), _freeze(values[order].astype(np.int64))


@dataclass(frozen=True, eq=False)
class MemoryBuffers:
    """All buffers of a graph with the shorthands expanded (zero sizes dropped).

    Attributes are read-only numpy arrays: ``producer`` (-1 for graph
    inputs), ``size``, consumers in CSR form (``cons_ptr``, ``cons_idx``),
    ``output``, and per node the buffers it produces (``prod_ptr``,
    ``prod_idx``) and reads (``read_ptr``, ``read_idx``). ``total`` is the
    sum of all sizes as a Python int.
    """

    producer: np.ndarray
    size: np.ndarray
    cons_ptr: np.ndarray
    cons_idx: np.ndarray
    output: np.ndarray
    prod_ptr: np.ndarray
    prod_idx: np.ndarray
    read_ptr: np.ndarray
    read_idx: np.ndarray
    total: int

    def __len__(self) -> int:
        return len(self.size)


def expand(graph: Graph) -> MemoryBuffers:
    """Every buffer of ``graph``, shorthands expanded (zero sizes dropped)."""
    n = graph.n
    outdeg = np.diff(graph.succ_ptr)
    prods, sizes, outs, cons_counts = [], [], [], []
    cons_chunks: list[np.ndarray] = []
    # node-size buffers: consumers = successors
    v = np.flatnonzero(graph.node_size > 0)
    prods.append(v)
    sizes.append(graph.node_size[v])
    outs.append((outdeg[v] == 0) & graph.keep_outputs)
    cons_counts.append(outdeg[v])
    if len(v):
        mask = np.repeat(graph.node_size > 0, outdeg)
        cons_chunks.append(graph.succ_idx[mask])
    # workspaces: no consumer
    w = np.flatnonzero(graph.workspace > 0)
    prods.append(w)
    sizes.append(graph.workspace[w])
    outs.append(np.zeros(len(w), dtype=bool))
    cons_counts.append(np.zeros(len(w), dtype=np.int64))
    # edge buffers: one consumer
    e = np.flatnonzero(graph.edge_size > 0)
    prods.append(graph.edge_src[e])
    sizes.append(graph.edge_size[e])
    outs.append(np.zeros(len(e), dtype=bool))
    cons_counts.append(np.ones(len(e), dtype=np.int64))
    cons_chunks.append(graph.edge_dst[e])
    # explicit buffers (kept even at size 0 when they are outputs)
    keepb = graph.buf_size > 0
    b = np.flatnonzero(keepb)
    prods.append(graph.buf_producer[b])
    sizes.append(graph.buf_size[b])
    outs.append(graph.buf_output[b])
    bcount = np.diff(graph.buf_cons_ptr)
    cons_counts.append(bcount[b])
    cons_chunks.append(graph.buf_cons_idx[np.repeat(keepb, bcount)])

    producer = np.concatenate(prods).astype(np.int64)
    size = np.concatenate(sizes).astype(np.int64)
    output = np.concatenate(outs).astype(bool)
    counts = np.concatenate(cons_counts).astype(np.int64)
    cons_idx = (
        np.concatenate(cons_chunks).astype(np.int64)
        if cons_chunks
        else np.zeros(0, np.int64)
    )
    cons_ptr = np.zeros(len(size) + 1, dtype=np.int64)
    np.cumsum(counts, out=cons_ptr[1:])
    if len(size) == 0 or int(size.max()) * len(size) < 2**63:
        total = int(size.sum())
    else:
        total = sum(map(int, size.tolist()))
    nb = len(size)
    has_prod = producer >= 0
    prod_ptr, prod_idx = _csr(producer[has_prod], np.flatnonzero(has_prod), n)
    buf_of_cons = np.repeat(np.arange(nb, dtype=np.int64), counts)
    read_ptr, read_idx = _csr(cons_idx, buf_of_cons, n)
    return MemoryBuffers(
        producer=_freeze(producer),
        size=_freeze(size),
        cons_ptr=_freeze(cons_ptr),
        cons_idx=_freeze(cons_idx),
        output=_freeze(output),
        prod_ptr=prod_ptr,
        prod_idx=prod_idx,
        read_ptr=read_ptr,
        read_idx=read_idx,
        total=total,
    )
