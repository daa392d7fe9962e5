"""Duplication as a graph transformation: a stage computes what it would
otherwise receive.

In a pipeline, a buffer one stage produces and another stage reads is sent
between them. A *duplicated* layer unit is computed again, forward pass
only, on every other stage that reads anything it produces: the copies read
the unit's own inputs (sent instead, when another stage makes them) and
their buffers replace the received ones for that stage's readers. This
trades compute for communication: it pays for a cheap unit whose output is
larger than its inputs (a mask or position table built from the token ids
and read by every layer), and costs on a transformer block (the same bytes
to receive, plus the block's forward pass).

The originals stay where they were: their stage's readers and the unit's
backward pass (which reads the originals' inputs there) are unchanged, and
gradients reaching the copies' readers flow back to the original's
backward pass as before (a duplicated node's gradient is the sum over its
readers wherever they run). The result is an ordinary graph; its copies
have phase ``forward``, the same op, FLOPs, bytes and time as their
originals, no layer unit of their own, and the stage that runs them in
``meta["duplicate_stage"]`` (node id to stage index), which the simulator
applies after its own stage assignment (which leaves copies out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..graph import Graph
from .recompute import matching_unit, require_labels

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["with_duplication"]


def with_duplication(
    graph: Graph, stage: Sequence[int], units: Sequence[str]
) -> Graph:
    """``graph`` with the forward nodes of the matched units duplicated on
    the stages that read them (see above).

    Parameters
    ----------
    graph
        A training step with ``layer`` and ``phase`` on its nodes.
    stage
        The stage of every node (the simulator's assignment for the
        strategy that duplicates).
    units
        ``fnmatch`` patterns over layer paths (``["mask"]``), as for
        recomputation.

    Raises
    ------
    InstanceError
        When the graph has no ``phase`` or ``layer`` labels.
    """
    require_labels(graph, "Duplication")
    n = graph.n
    select = matching_unit(list(units))
    phase = graph.phase
    chosen = [
        phase[v] == "forward" and select(graph.layer[v]) is not None
        for v in range(n)
    ]
    if not any(chosen):
        return graph
    stage = [int(x) for x in stage]
    mb = graph.memory_buffers()
    prod = mb.producer
    cons_ptr, cons_idx = mb.cons_ptr, mb.cons_idx

    def cons(b: int) -> list[int]:
        return cons_idx[cons_ptr[b] : cons_ptr[b + 1]].tolist()

    def made(v: int) -> list[int]:
        return mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]].tolist()

    def reads(v: int) -> list[int]:
        return mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]].tolist()

    # need[v]: the other stages that compute v, latest nodes first so that
    # a copy's chosen producers are copied to its stage too
    need: dict[int, set[int]] = {}
    for v in reversed(graph.topological_order().tolist()):
        if not chosen[v]:
            continue
        here = set()
        for b in made(v):
            for c in cons(b):
                here.add(stage[c])
                here.update(need.get(c, ()))
        here.discard(stage[v])
        if here:
            need[v] = here
    if not need:
        return graph
    topo_pos = np.empty(n, dtype=np.int64)
    topo_pos[graph.topological_order()] = np.arange(n)
    copy: dict[tuple[int, int], int] = {}
    ids = list(graph.ids)
    taken = set(ids)
    forced: dict[str, int] = {}
    for v in sorted(need, key=lambda x: topo_pos[x]):
        for st in sorted(need[v]):
            name, k = f"{ids[v]}@stage{st}", 0
            while name in taken:
                k += 1
                name = f"{ids[v]}@stage{st}:{k}"
            taken.add(name)
            copy[(v, st)] = len(ids)
            ids.append(name)
            forced[name] = st
    total = len(ids)

    def source(p: int, st: int) -> int:
        """What a copy on stage ``st`` reads of ``p``: its copy there, if
        any, else ``p`` itself (sent when on another stage)."""
        return copy.get((p, st), p)

    # buffers: only those a copied node makes or reads change (readers on
    # a copy's stage moved to the copy's buffer; copies added as readers),
    # then the copies' buffers
    touched = sorted({b for v in need for b in (*made(v), *reads(v))})
    rows: dict[int, list[int]] = {}
    extra_buffers: list[tuple[int, int, list[int]]] = []
    moved: list[int] = []  # (producer, reader) edges dropped, as keys
    for b in touched:
        p = int(prod[b])
        copied = p >= 0 and p in need
        row = []
        per_stage: dict[int, list[int]] = {}
        for c in cons(b):
            if copied and stage[c] in need[p]:
                per_stage.setdefault(stage[c], []).append(c)
                moved.append(p * total + c)
            else:
                row.append(c)
            for st in sorted(need.get(c, ())):
                if copied and st in need[p]:
                    per_stage.setdefault(st, []).append(copy[(c, st)])
                else:
                    row.append(copy[(c, st)])
        rows[b] = row
        if copied:
            # (a copy whose buffer nobody reads still makes it: a workspace)
            for st in sorted(need[p]):
                extra_buffers.append(
                    (copy[(p, st)], int(mb.size[b]), per_stage.get(st, []))
                )
    nb, nx = len(mb), len(extra_buffers)
    counts = np.concatenate(
        [np.diff(cons_ptr), [len(r) for _p, _s, r in extra_buffers]]
    ).astype(np.int64)
    counts[touched] = [len(rows[b]) for b in touched]
    ptr = np.zeros(nb + nx + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    flat = np.empty(int(ptr[-1]), dtype=np.int64)
    same = np.ones(nb + nx, dtype=bool)
    same[touched] = False
    same[nb:] = False
    flat[np.repeat(same, counts)] = cons_idx[
        np.repeat(same[:nb], np.diff(cons_ptr))
    ]
    for b in touched:
        flat[ptr[b] : ptr[b + 1]] = rows[b]
    for k, (_p, _s, r) in enumerate(extra_buffers):
        flat[ptr[nb + k] : ptr[nb + k + 1]] = r
    buffers = (
        [f"b{b}" for b in range(nb)] + [f"d{k}" for k in range(nx)],
        np.concatenate(
            [
                mb.producer,
                np.array([x[0] for x in extra_buffers], dtype=np.int64),
            ]
        ),
        np.concatenate(
            [mb.size, np.array([x[1] for x in extra_buffers], dtype=np.int64)]
        ),
        np.concatenate([mb.output, np.zeros(nx, dtype=bool)]),
        ptr,
        flat,
    )
    # edges: the originals but those to readers now served by a copy, and
    # each copy after what its original follows (on its stage)
    old = graph.edge_src * total + graph.edge_dst
    old = old[~np.isin(old, np.array(moved, dtype=np.int64))]
    pairs = []
    pred_ptr, pred_idx = graph.pred_ptr, graph.pred_idx
    for (v, st), r in copy.items():
        for a in pred_idx[pred_ptr[v] : pred_ptr[v + 1]].tolist():
            pairs.append(source(a, st) * total + r)
    key = np.unique(np.concatenate([old, np.array(pairs, dtype=np.int64)]))
    original = np.array(
        [v for (v, _st), _r in sorted(copy.items(), key=lambda x: x[1])],
        dtype=np.int64,
    )

    def pick(values):
        if values is None:
            return None
        return list(values) + [values[v] for v in original.tolist()]

    trace = None
    if graph.trace_order is not None:
        after: dict[int, list[int]] = {}
        for (v, _st), r in sorted(copy.items(), key=lambda x: x[1]):
            after.setdefault(v, []).append(r)
        trace = []
        for x in graph.trace_order:
            v = graph.index(x)
            trace.append(ids[v])
            trace += [ids[r] for r in after.get(v, [])]
    meta = dict(graph.meta)
    meta["duplicate_stage"] = forced
    return Graph._from_parts(  # noqa: SLF001 (the package's own)
        ids,
        key // total,
        key % total,
        buffers,
        time=np.concatenate([graph.time, graph.time[original]]),
        op=pick(graph.op),
        flops=np.concatenate([graph.flops, graph.flops[original]]),
        op_bytes=np.concatenate([graph.op_bytes, graph.op_bytes[original]]),
        layer=pick(graph.layer),
        phase=pick(graph.phase),
        trace_order=trace,
        name=graph.name,
        meta=meta,
    )
