"""Activation recomputation as a graph transformation.

A layer unit that recomputes keeps, of everything its forward pass
produces, only what its forward consumers and other units need: the
buffers its own backward pass reads are produced again by *recompute* copies of the forward nodes
that made them (and of the unit's forward nodes those need, recursively),
run in the backward pass. The copies read the unit's inputs from outside
it (the layer input and anything else the unit reads), which therefore
stay live until the recomputation: the checkpoint. The copies start once
the gradient flowing into the unit exists (edges from the backward nodes
outside the unit whose buffers the unit's backward reads), as
``torch.utils.checkpoint`` and Megatron's full recomputation do.

The result is an ordinary graph (explicit buffers), so every order, solver
and the simulator apply unchanged; its recompute nodes have phase
``recompute`` and the same op, FLOPs, bytes and time as their originals.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from ..exceptions import InstanceError
from ..graph import Graph

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["matching_unit", "require_labels", "unit_of", "with_recomputation"]


def unit_of(layer: str | None, depth: int = 0) -> str | None:
    """The unit a layer path belongs to.

    By default (``depth`` 0) a top-level module, or one element of a
    top-level list of modules; else the path's first ``depth`` components.

    >>> unit_of("blocks.3.att.qkv"), unit_of("embed.word"), unit_of(None)
    ('blocks.3', 'embed', None)
    >>> unit_of("blocks.3.att.qkv", 3)
    'blocks.3.att'
    """
    if layer is None:
        return None
    parts = layer.split(".")
    if depth:
        return ".".join(parts[:depth])
    if len(parts) > 1 and parts[1].isdigit():
        return ".".join(parts[:2])
    return parts[0]


def matching_unit(patterns: list[str] | tuple[str, ...]) -> Callable:
    """A map from a layer path to its shortest prefix matching one of the
    ``fnmatch`` ``patterns`` (the recomputed unit), or ``None``.

    >>> f = matching_unit(["blocks.*", "layers.*.attn.core"])
    >>> f("blocks.3.att.qkv"), f("layers.1.attn.core"), f("layers.1.mlp")
    ('blocks.3', 'layers.1.attn.core', None)
    """
    import fnmatch

    seen: dict[str, str | None] = {}  # many nodes share a layer path
    if not any(ch in p for p in patterns for ch in "*?["):
        names = set(patterns)  # plain names: a set lookup per prefix
        matches = names.__contains__
    else:

        def matches(prefix: str) -> bool:
            return any(fnmatch.fnmatchcase(prefix, p) for p in patterns)

    def unit(layer: str | None) -> str | None:
        if layer is None:
            return None
        if layer in seen:
            return seen[layer]
        parts = layer.split(".")
        found = None
        for k in range(1, len(parts) + 1):
            prefix = ".".join(parts[:k])
            if matches(prefix):
                found = prefix
                break
        seen[layer] = found
        return found

    return unit


def with_recomputation(graph: Graph, units: Callable | list[str]) -> Graph:
    """``graph`` with the selected units recomputing (see above).

    Parameters
    ----------
    graph
        A training step with ``layer`` and ``phase`` on its nodes.
    units
        ``fnmatch`` patterns over layer paths (``["blocks.*"]``: every
        block; ``["layers.*.attn.core"]``: the attention cores), or a
        function from a layer path to its recomputed unit (``None``: kept).

    Raises
    ------
    InstanceError
        When the graph has no ``phase`` or ``layer`` labels.
    """
    require_labels(graph, "Recomputation")
    n = graph.n
    phase = graph.phase
    select = units if callable(units) else matching_unit(list(units))
    unit = [select(x) for x in graph.layer]
    chosen = {u for u in unit if u is not None}
    if not chosen:
        return graph
    mb = graph.memory_buffers()
    prod = mb.producer.tolist()
    cons = [
        mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]].tolist()
        for b in range(len(mb))
    ]
    reads: dict[int, list[int]] = defaultdict(list)
    for b, cs in enumerate(cons):
        for c in cs:
            reads[c].append(b)
    forward = [phase[v] == "forward" for v in range(n)]
    backward = [phase[v] == "backward" for v in range(n)]
    # per unit: the forward nodes whose buffers its backward (or anyone's) reads
    copies: dict[int, int] = {}  # original node -> recompute copy index
    fwd_of: dict[str, set[int]] = defaultdict(set)
    bwd_of: dict[str, list[int]] = defaultdict(list)
    for v in range(n):
        if unit[v] is not None:
            if forward[v]:
                fwd_of[unit[v]].add(v)
            elif backward[v]:
                bwd_of[unit[v]].append(v)
    for u in sorted(chosen):
        members = fwd_of[u]
        needed = [
            v
            for v in members
            if any(
                backward[c] and unit[c] == u
                for b in _produced(mb, v)
                for c in cons[b]
            )
        ]
        todo = list(needed)
        while todo:
            v = todo.pop()
            if v in copies:
                continue
            copies[v] = n + len(copies)
            for b in reads[v]:
                p = prod[b]
                if p >= 0 and p in members and p not in copies:
                    todo.append(p)
    if not copies:
        return graph
    total = n + len(copies)
    ids = list(graph.ids)
    taken = set(ids)
    original = dict.fromkeys(range(total), -1)
    for v, r in sorted(copies.items(), key=lambda x: x[1]):
        name, k = f"recompute:{ids[v]}", 0
        while name in taken:
            k += 1
            name = f"recompute:{ids[v]}:{k}"
        taken.add(name)
        ids.append(name)
        original[r] = v
    new_cons: list[list[int]] = list(cons)  # rows replaced, never changed
    new_buffers: list[
        tuple[int, int, list[int], bool]
    ] = []  # prod, size, cons, out
    # only buffers a copy makes or reads change
    touched = set()
    for v in copies:
        touched.update(_produced(mb, v))
        touched.update(reads[v])
    for b in sorted(touched):
        p = prod[b]
        size = int(mb.size[b])
        copied = p >= 0 and p in copies
        # copies of the same unit read the recomputed buffer; copies of
        # other units read the original (for them it is a checkpoint)
        same = [
            copies[c]
            for c in cons[b]
            if c in copies and copied and unit[c] == unit[p]
        ]
        other = [
            copies[c]
            for c in cons[b]
            if c in copies and not (copied and unit[c] == unit[p])
        ]
        row = cons[b]
        if copied:
            mine = [c for c in cons[b] if backward[c] and unit[c] == unit[p]]
            if mine or same:
                row = [c for c in cons[b] if c not in mine]
                new_buffers.append((copies[p], size, mine + same, False))
        new_cons[b] = row + other
    # buffers as arrays: the originals (consumers rewritten), then the
    # recomputed ones
    rows = new_cons + [cs for _p, _s, cs, _o in new_buffers]
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    flat = [c for r in rows for c in r]
    buffers = (
        [f"b{b}" for b in range(len(mb))]
        + [f"r{k}" for k in range(len(new_buffers))],
        np.concatenate(
            [
                mb.producer,
                np.array([x[0] for x in new_buffers], dtype=np.int64),
            ]
        ),
        np.concatenate(
            [mb.size, np.array([x[1] for x in new_buffers], dtype=np.int64)]
        ),
        np.concatenate(
            [mb.output, np.array([x[3] for x in new_buffers], dtype=bool)]
        ),
        ptr,
        np.array(flat, dtype=np.int64),
    )
    extra: list[tuple[int, int]] = []  # edges the copies add
    # triggers: the gradient entering each unit's backward
    by_unit: dict[str, list[int]] = defaultdict(list)
    for v, r in copies.items():
        by_unit[unit[v]].append(r)
    triggers: dict[str, set[int]] = {}
    for u, rs in by_unit.items():
        triggers[u] = trig = {
            p
            for w in bwd_of[u]
            for b in reads[w]
            if (p := prod[b]) >= 0 and backward[p] and unit[p] != u
        }
        extra += [(p, r) for p in trig for r in rs]
    # recompute copies need what their originals' predecessors gave them
    pred_ptr, pred_idx = graph.pred_ptr, graph.pred_idx
    for v, r in copies.items():
        for ai in pred_idx[pred_ptr[v] : pred_ptr[v + 1]].tolist():
            same = ai in copies and unit[ai] == unit[v]
            extra.append((copies[ai] if same else ai, r))
    pairs = np.array(extra, dtype=np.int64).reshape(-1, 2)
    key = np.unique(
        np.concatenate(
            [
                graph.edge_src * total + graph.edge_dst,
                pairs[:, 0] * total + pairs[:, 1],
            ]
        )
    )
    src, dst = key // total, key % total

    def pick(values, default=None):
        if values is None:
            return None
        return list(values) + [
            values[original[r]] if default is None else default
            for r in range(n, total)
        ]

    original_of = np.array(
        [original[r] for r in range(n, total)], dtype=np.int64
    )
    flops = np.concatenate([graph.flops, graph.flops[original_of]])
    moved = np.concatenate([graph.op_bytes, graph.op_bytes[original_of]])
    time = np.concatenate([graph.time, graph.time[original_of]])
    trace = _trace(graph, ids, copies, triggers, unit)
    meta = dict(graph.meta)
    meta["recompute"] = sorted(chosen)
    args = dict(
        time=time,
        op=pick(graph.op),
        flops=flops,
        op_bytes=moved,
        layer=pick(graph.layer),
        phase=pick(graph.phase, "recompute"),
        name=graph.name,
        # the source's metadata (its own copy, read only like the graph)
        # is shared rather than copied again: traced graphs carry large
        # tables
        meta=meta,
    )
    # valid by construction from a valid graph: built from arrays
    try:
        return Graph._from_parts(  # noqa: SLF001 (the package's own)
            ids, src, dst, buffers, trace_order=trace, **args
        )
    except InstanceError:  # the program order breaks a trigger edge
        return Graph._from_parts(  # noqa: SLF001
            ids, src, dst, buffers, trace_order=None, **args
        )


def require_labels(graph: Graph, what: str) -> None:
    """Raise InstanceError unless the nodes have ``layer`` and ``phase``
    (what a graph transformation over layer units needs)."""
    if graph.phase is None or graph.layer is None:
        raise InstanceError(
            f"{what} needs the nodes' layer and phase (import the model "
            "with pebble-sched import torch)."
        )


def _produced(mb, v: int) -> list[int]:
    return mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]].tolist()


def _trace(graph, ids, copies, triggers, unit):
    """The program order with each unit's copies right after the last
    node that triggers them (``None`` when that breaks an edge)."""
    if graph.trace_order is None:
        return None
    order = [graph.index(v) for v in graph.trace_order]
    pos = {v: k for k, v in enumerate(order)}
    before: dict[int, list[int]] = defaultdict(list)
    for v, r in sorted(copies.items(), key=lambda x: pos[x[0]]):
        at = max((pos[t] + 1 for t in triggers.get(unit[v], ())), default=0)
        before[at].append(r)
    out: list[str] = []
    for k, v in enumerate(order):
        out += [ids[r] for r in before.get(k, [])]
        out.append(ids[v])
    out += [ids[r] for r in before.get(len(order), [])]
    return out
