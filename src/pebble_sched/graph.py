"""The computation graph: an immutable DAG of operations and the buffers they use.

A :class:`Graph` follows docs/model.md to the letter. Memory is a set of
buffers; each has a producer (a node, or none for a graph input), a size in
bytes, the nodes that read it (its consumers) and an ``output`` flag. The
shorthands of the file format are expanded into buffers by
:meth:`Graph.memory_buffers`:

- node ``size`` s(v): a buffer produced by v, read by every successor of v;
- node ``workspace`` x(v): a buffer produced by v with no consumer;
- edge ``size`` m(u, v): a buffer produced by u, read by v alone;
- ``keep_outputs``: the node-size buffers of sinks are outputs.

Every consumer c of a buffer produced by p implies the edge p -> c, so the
successors of a node are its explicit edges plus those implied edges.

Inside, nodes are the integers ``0..n-1`` (their position in ``ids``) and
adjacency is stored as numpy CSR arrays; external ids (strings or integers)
appear only at the boundary.
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np

from .buffers import Buffer, MemoryBuffers, NodeId, _csr, _freeze
from .constants import MAX_SIZE
from .convert import (
    dict_arguments,
    graph_to_dict,
    graph_to_networkx,
    networkx_arguments,
)
from .exceptions import InstanceError
from .validation import check_id, check_size, check_type

if TYPE_CHECKING:
    import networkx as nx

__all__ = ["Buffer", "Graph", "MemoryBuffers", "NodeId", "require_graph"]


class _Names:
    """Names for error messages, each built when one is needed (``fn(k)``):
    a list of them all costs seconds at 10^6 edges."""

    __slots__ = ("fn",)

    def __init__(self, fn: Callable[[int], str]) -> None:
        self.fn = fn

    def __getitem__(self, k: int) -> str:
        return self.fn(int(k))


def _sizes(values: Any, n: int, what: str, names: Any) -> np.ndarray:
    """Validated int64 array of ``n`` sizes (``None`` means all zero)."""
    if values is None:
        return np.zeros(n, dtype=np.int64)
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        if len(values) != n:
            raise InstanceError(
                f"Expected {n} {what} values, got {len(values)}."
            )
        arr = values.astype(np.int64)
        bad = np.flatnonzero((arr < 0) | (values > MAX_SIZE))
        if len(bad):
            check_size(int(values[bad[0]]), f"{names[bad[0]]!r}")
        return arr
    values = list(values)
    if len(values) != n:
        raise InstanceError(f"Expected {n} {what} values, got {len(values)}.")
    if set(map(type, values)) <= {int}:  # plain ints: checked at once
        try:
            arr = np.array(values, dtype=np.int64)
        except OverflowError:  # beyond int64: named below
            pass
        else:
            if not ((arr < 0) | (arr > MAX_SIZE)).any():
                return arr
    return np.array(
        [
            check_size(v, f"{what} of {names[i]!r}")
            for i, v in enumerate(values)
        ],
        dtype=np.int64,
    )


#: The phases of a training step a node can belong to.
PHASES = ("forward", "backward", "recompute", "update")


def _labels(
    values: Any,
    n: int,
    what: str,
    ids: Sequence[NodeId],
    allowed: tuple[str, ...] | None = None,
) -> tuple[str | None, ...] | None:
    """Optional per-node strings (``None``: the attribute is absent)."""
    if values is None:
        return None
    values = tuple(values)
    if len(values) != n:
        raise InstanceError(f"Expected {n} {what} values, got {len(values)}.")
    for i, v in enumerate(values):
        if v is None:
            continue
        if not isinstance(v, str):
            raise InstanceError(
                f"Node {ids[i]!r}: {what} {v!r} is not a string."
            )
        if allowed is not None and v not in allowed:
            raise InstanceError(
                f"Node {ids[i]!r}: {what} {v!r} is not one of "
                f"{', '.join(allowed)}."
            )
    return values if any(v is not None for v in values) else None


_ATOMS = (str, int, float, bool, type(None))


def _copy_meta(value: Any) -> Any:
    """A deep copy of JSON-like metadata (dicts, lists, tuples, scalars),
    several times faster than ``copy.deepcopy`` on traced graphs' large
    per-node tables; anything else is deep-copied."""
    if isinstance(value, _ATOMS):
        return value
    if type(value) is dict:
        return {k: _copy_meta(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy_meta(v) for v in value]
    if type(value) is tuple:
        return tuple(_copy_meta(v) for v in value)
    return copy.deepcopy(value)


def _plain_pairs(
    edges: list, index: dict, numbered: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    """Source and destination indices of ``edges`` when every edge is a
    pair (tuple or list) of known node ids and none is a self loop, read
    at C speed (``numbered``: the ids are 0..n-1 in order, so an integer
    id in range is its index, without a lookup); None otherwise (the
    checked loop then names the bad edge)."""
    if not (
        set(map(type, edges)) <= {tuple, list} and set(map(len, edges)) <= {2}
    ):
        return None
    ends = [list(map(operator.itemgetter(k), edges)) for k in (0, 1)]
    n = len(index)
    if numbered and all(set(map(type, e)) <= {int} for e in ends):
        src, dst = (np.array(e, dtype=np.int64) for e in ends)
        if len(src) and not (
            min(src.min(), dst.min()) >= 0 and max(src.max(), dst.max()) < n
        ):
            return None
    else:
        try:
            src, dst = (
                np.fromiter(
                    map(index.__getitem__, e), dtype=np.int64, count=len(e)
                )
                for e in ends
            )
        except (KeyError, TypeError):  # (an unknown or unhashable id)
            return None
    if (src == dst).any():
        return None
    return src, dst


class Graph:
    """An immutable DAG of operations with the memory they use.

    Parameters
    ----------
    ids
        The node ids (strings or integers), unique.
    edges
        Pairs ``(src, dst)`` of node ids.
    size
        Node sizes s(v), aligned with ``ids``. Default all zero.
    workspace
        Node workspaces x(v). Default all zero.
    time
        Node running times, used by the parallel part. Default all one.
    edge_size
        Edge sizes m(u, v), aligned with ``edges``. Default all zero.
    op, flops, op_bytes, layer, phase
        Optional per-node cost attributes (an importer's; the sequential
        solvers ignore them): the operation's name (an ATen op), its
        floating-point operations, the bytes it reads and writes, its layer
        (a module path) and its phase (one of :data:`PHASES`). Default:
        absent (``None`` for the labels, zeros for the counts).
    fictitious
        Flags aligned with ``edges``: a fictitious edge is a pure
        precedence (added to bound parallel memory, see
        :func:`pebble_sched.parallel.restrict`); it carries no data, so its
        size and its source's node size must be 0. Default all false.
    buffers
        Explicit :class:`Buffer` objects of the general model.
    keep_outputs
        Whether the node-size buffers of sinks are outputs.
    trace_order
        The program's own order of the node ids, when known.
    name
        The instance name.
    meta
        Free-form provenance (JSON-serialisable).

    Raises
    ------
    InstanceError
        When the graph is malformed; the message names the offending item.

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("b", "c")], size=[1, 2, 3])
    >>> g.n, g.m
    (3, 2)
    >>> g.successors("a")
    ['b']
    """

    __slots__ = (
        "_buf_ids",
        "_buffers",
        "_index",
        "_membuf",
        "_topo",
        "buf_cons_idx",
        "buf_cons_ptr",
        "buf_output",
        "buf_producer",
        "buf_size",
        "edge_dst",
        "edge_fictitious",
        "edge_size",
        "edge_src",
        "flops",
        "ids",
        "keep_outputs",
        "layer",
        "meta",
        "name",
        "node_size",
        "op",
        "op_bytes",
        "phase",
        "pred_idx",
        "pred_ptr",
        "succ_idx",
        "succ_ptr",
        "time",
        "trace_order",
        "workspace",
    )

    def __init__(
        self,
        ids: Iterable[NodeId],
        edges: Iterable[Sequence[NodeId]] = (),
        *,
        size: Any = None,
        workspace: Any = None,
        time: Any = None,
        edge_size: Any = None,
        fictitious: Any = None,
        buffers: Iterable[Buffer] = (),
        keep_outputs: bool = False,
        trace_order: Iterable[NodeId] | None = None,
        name: str | None = None,
        meta: Mapping[str, Any] | None = None,
        op: Sequence[str | None] | None = None,
        flops: Any = None,
        op_bytes: Any = None,
        layer: Sequence[str | None] | None = None,
        phase: Sequence[str | None] | None = None,
    ) -> None:
        ids = tuple(ids)
        n = len(ids)
        try:  # (strings and integers, none twice: at C speed)
            index: dict[NodeId, int] = dict(zip(ids, range(n), strict=True))
            plain = len(index) == n and set(map(type, ids)) <= {int, str}
        except TypeError:  # (an unhashable id)
            plain = False
        numbered = plain and ids == tuple(range(n))
        if not plain:  # the checked loop names the bad or repeated id
            index = {}
            for i, v in enumerate(ids):
                check_id(v, "Node id")
                if v in index:
                    raise InstanceError(f"Node id {v!r} appears twice.")
                index[v] = i
        self.ids = ids
        self._index = index
        self.node_size = _freeze(_sizes(size, n, "size", ids))
        self.workspace = _freeze(_sizes(workspace, n, "workspace", ids))
        self.time = _freeze(self._times(time, n, ids))
        self.flops = _freeze(_sizes(flops, n, "flops", ids))
        self.op_bytes = _freeze(_sizes(op_bytes, n, "bytes", ids))
        self.op = _labels(op, n, "op", ids)
        self.layer = _labels(layer, n, "layer", ids)
        self.phase = _labels(phase, n, "phase", ids, PHASES)
        if not isinstance(keep_outputs, bool):
            raise InstanceError(
                f"keep_outputs must be true or false, not {keep_outputs!r}."
            )
        self.keep_outputs = keep_outputs
        if name is not None and not isinstance(name, str):
            raise InstanceError(f"Name {name!r} is not a string.")
        self.name = name
        if meta is not None and not isinstance(meta, Mapping):
            raise InstanceError("meta must be an object.")
        self.meta = _copy_meta(dict(meta)) if meta else {}

        # Explicit edges.
        edges = list(edges)
        index = self._index
        s_list: list[int] = []
        d_list: list[int] = []
        pairs = _plain_pairs(edges, index, numbered)
        for e in () if pairs is not None else edges:
            if isinstance(e, (str, bytes)) or len(e) != 2:
                raise InstanceError(f"Edge {e!r} is not a pair of node ids.")
            a, b = e
            try:
                i, j = index[a], index[b]
            except (KeyError, TypeError):  # (the message names which)
                i = self._lookup(a, f"Edge ({a!r}, {b!r})")
                j = self._lookup(b, f"Edge ({a!r}, {b!r})")
            if i == j:
                raise InstanceError(f"Edge ({a!r}, {b!r}) is a self loop.")
            s_list.append(i)
            d_list.append(j)
        if pairs is not None:
            src, dst = pairs
        else:
            src = np.array(s_list, dtype=np.int64)
            dst = np.array(d_list, dtype=np.int64)
        esize = _sizes(
            edge_size,
            len(edges),
            "edge size",
            _Names(lambda k: f"({ids[src[k]]!r}, {ids[dst[k]]!r})"),
        )
        fict = (
            np.zeros(len(edges), dtype=bool)
            if fictitious is None
            else np.array([bool(x) for x in fictitious], dtype=bool)
        )
        if len(fict) != len(edges):
            raise InstanceError(
                f"Expected {len(edges)} fictitious flags, got {len(fict)}."
            )
        for k in np.flatnonzero(fict).tolist():
            what = f"Edge ({ids[src[k]]!r}, {ids[dst[k]]!r})"
            if esize[k]:
                raise InstanceError(
                    f"{what} is fictitious: it carries no data, so its size "
                    "must be 0."
                )
            if self.node_size[src[k]]:
                raise InstanceError(
                    f"{what} is fictitious but {ids[src[k]]!r} has a size, "
                    "which every successor reads; give that buffer as an "
                    "explicit buffer instead."
                )
        if len(edges):
            key = src * n + dst
            by_key = np.argsort(key, kind="stable")
            twice = np.flatnonzero(key[by_key[1:]] == key[by_key[:-1]])
            if len(twice):
                k = int(by_key[twice[0] + 1])  # (the later of the two)
                raise InstanceError(
                    f"Edge ({ids[src[k]]!r}, {ids[dst[k]]!r}) appears twice."
                )

        # Explicit buffers.
        self._buffers = tuple(buffers)
        nb = len(self._buffers)
        buf_ids: dict[NodeId, int] = {}
        bprod = np.full(nb, -1, dtype=np.int64)
        bsize = np.zeros(nb, dtype=np.int64)
        bout = np.zeros(nb, dtype=bool)
        ccount = np.zeros(nb, dtype=np.int64)
        cons: list[int] = []
        for j, b in enumerate(self._buffers):
            if not isinstance(b, Buffer):
                raise InstanceError(f"Buffer {b!r} is not a Buffer.")
            check_id(b.id, "Buffer id")
            if b.id in buf_ids:
                raise InstanceError(f"Buffer id {b.id!r} appears twice.")
            buf_ids[b.id] = j
            what = f"Buffer {b.id!r}"
            if b.producer is not None:
                bprod[j] = self._lookup(b.producer, what)
            bsize[j] = check_size(b.size, what)
            if not isinstance(b.output, bool):
                raise InstanceError(f"{what}: output must be true or false.")
            bout[j] = b.output
            seen: set[int] = set()
            for c in b.consumers:
                ci = self._lookup(c, what)
                if ci in seen:
                    raise InstanceError(
                        f"{what}: consumer {c!r} appears twice."
                    )
                if ci == bprod[j]:
                    raise InstanceError(
                        f"{what}: node {c!r} cannot consume its own buffer."
                    )
                seen.add(ci)
                cons.append(ci)
            ccount[j] = len(seen)
        self._buf_ids = tuple(buf_ids)
        ptr = np.zeros(nb + 1, dtype=np.int64)
        np.cumsum(ccount, out=ptr[1:])
        self._link(
            src,
            dst,
            esize,
            fict,
            (bprod, bsize, bout, ptr, np.array(cons, dtype=np.int64)),
            trace_order,
        )

    @classmethod
    def _from_parts(
        cls,
        ids: Sequence[NodeId],
        src: np.ndarray,
        dst: np.ndarray,
        buffers: tuple[
            Sequence[NodeId],
            np.ndarray,
            np.ndarray,
            np.ndarray,
            np.ndarray,
            np.ndarray,
        ],
        *,
        time: np.ndarray,
        flops: np.ndarray,
        op_bytes: np.ndarray,
        op: Sequence[str | None] | None,
        layer: Sequence[str | None] | None,
        phase: Sequence[str | None] | None,
        trace_order: Iterable[NodeId] | None,
        name: str | None,
        meta: dict[str, Any],
    ) -> Graph:
        """A graph a transformation of a valid graph built as index arrays
        (distinct node ids, distinct edges, buffers ``(ids, producers,
        sizes, outputs, consumer pointers, consumers)`` whose consumers are
        distinct and not their producers, valid sizes, labels of the
        allowed kinds): the per-item checks are skipped; a cycle or a
        ``trace_order`` that is not topological still raises. ``meta`` is
        kept as given (not copied)."""
        self = object.__new__(cls)
        self.ids = tuple(ids)
        n = len(self.ids)
        self._index = {v: i for i, v in enumerate(self.ids)}
        self.node_size = _freeze(np.zeros(n, dtype=np.int64))
        self.workspace = _freeze(np.zeros(n, dtype=np.int64))
        self.time = _freeze(np.array(time, dtype=np.float64))
        self.flops = _freeze(np.array(flops, dtype=np.int64))
        self.op_bytes = _freeze(np.array(op_bytes, dtype=np.int64))

        def labels(values):
            values = tuple(values) if values is not None else ()
            return values if any(v is not None for v in values) else None

        self.op, self.layer, self.phase = (
            labels(op),
            labels(layer),
            labels(phase),
        )
        self.keep_outputs = False
        self.name = name
        self.meta = meta
        self._buffers = None
        buf_ids, bprod, bsize, bout, ptr, cons = buffers
        self._buf_ids = tuple(buf_ids)
        m = len(src)
        self._link(
            np.asarray(src, dtype=np.int64),
            np.asarray(dst, dtype=np.int64),
            np.zeros(m, dtype=np.int64),
            np.zeros(m, dtype=bool),
            (bprod, bsize, bout, ptr, cons),
            trace_order,
        )
        return self

    def _link(self, src, dst, esize, fict, buffers, trace_order) -> None:
        """Buffer arrays, all edges (explicit ones and those buffers imply),
        adjacency, a topological order and the trace order."""
        bprod, bsize, bout, ptr, cons = buffers
        n = self.n
        self.buf_producer = _freeze(np.asarray(bprod, dtype=np.int64))
        self.buf_size = _freeze(np.asarray(bsize, dtype=np.int64))
        self.buf_output = _freeze(np.asarray(bout, dtype=bool))
        self.buf_cons_ptr = _freeze(np.asarray(ptr, dtype=np.int64))
        self.buf_cons_idx = _freeze(np.asarray(cons, dtype=np.int64))

        # All edges: explicit ones plus those implied by buffers.
        made = np.repeat(self.buf_producer, np.diff(self.buf_cons_ptr))
        implied = made >= 0
        if implied.any():
            isrc, idst = made[implied], self.buf_cons_idx[implied]
            src = np.concatenate([src, isrc])
            dst = np.concatenate([dst, idst])
            esize = np.concatenate([esize, np.zeros(len(isrc), np.int64)])
            fict = np.concatenate([fict, np.zeros(len(isrc), dtype=bool)])
        key = src * n + dst
        order = np.lexsort((-esize, key))  # keep an explicit size first
        key = key[order]
        keep = np.ones(len(key), dtype=bool)
        keep[1:] = key[1:] != key[:-1]
        # an edge a buffer implies carries data: not fictitious
        fict_kept = (
            np.minimum.reduceat(fict[order], np.flatnonzero(keep))
            if len(key)
            else fict
        )
        order = order[keep]
        self.edge_src = _freeze(src[order])
        self.edge_dst = _freeze(dst[order])
        self.edge_size = _freeze(esize[order])
        self.edge_fictitious = _freeze(fict_kept.astype(bool))
        self.succ_ptr, self.succ_idx = _csr(self.edge_src, self.edge_dst, n)
        self.pred_ptr, self.pred_idx = _csr(self.edge_dst, self.edge_src, n)
        self._membuf: MemoryBuffers | None = None
        self._topo: np.ndarray | None = None
        self._topo = self._kahn()

        self.trace_order: tuple[NodeId, ...] | None = None
        if trace_order is not None:
            self.trace_order = self._check_trace_order(trace_order)

    # -- validation helpers -------------------------------------------------

    def _lookup(self, v: Any, what: str) -> int:
        try:
            return self._index[v]
        except (KeyError, TypeError):
            raise InstanceError(f"{what}: unknown node {v!r}.") from None

    @staticmethod
    def _times(time: Any, n: int, ids: Sequence[NodeId]) -> np.ndarray:
        if time is None:
            return np.ones(n, dtype=np.float64)
        if isinstance(time, np.ndarray):
            arr = time.astype(np.float64)
        else:
            time = list(time)
            plain = set(map(type, time)) <= {float, int}  # (no bool)
            for i, t in enumerate(() if plain else time):
                if isinstance(t, bool) or not isinstance(t, Real):
                    raise InstanceError(
                        f"Node {ids[i]!r}: time {t!r} is not a number."
                    )
            arr = np.array(time, dtype=np.float64)
        if len(arr) != n:
            raise InstanceError(f"Expected {n} time values, got {len(arr)}.")
        bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
        if len(bad):
            raise InstanceError(
                f"Node {ids[bad[0]]!r}: time {arr[bad[0]]} is not a "
                "non-negative finite number."
            )
        return arr

    def _kahn(self) -> np.ndarray:
        """A topological order (FIFO Kahn), or InstanceError naming a cycle."""
        n = self.n
        indeg = np.diff(self.pred_ptr).tolist()
        sp, si = self.succ_ptr.tolist(), self.succ_idx.tolist()
        queue = [v for v in range(n) if indeg[v] == 0]
        head = 0
        while head < len(queue):
            v = queue[head]
            head += 1
            for k in range(sp[v], sp[v + 1]):
                w = si[k]
                indeg[w] -= 1
                if indeg[w] == 0:
                    queue.append(w)
        if len(queue) < n:
            self._raise_cycle(indeg)
        return _freeze(np.array(queue, dtype=np.int64))

    def _raise_cycle(self, indeg: list[int]) -> None:
        # Every node left with indeg > 0 has a predecessor also left; walk
        # backwards until a node repeats.
        pp, pi = self.pred_ptr.tolist(), self.pred_idx.tolist()
        v = next(i for i, d in enumerate(indeg) if d > 0)
        seen: dict[int, int] = {}
        path: list[int] = []
        while v not in seen:
            seen[v] = len(path)
            path.append(v)
            v = next(
                pi[k] for k in range(pp[v], pp[v + 1]) if indeg[pi[k]] > 0
            )
        cycle = path[seen[v] :][::-1]
        cycle.append(cycle[0])
        names = " -> ".join(str(self.ids[u]) for u in cycle)
        raise InstanceError(f"Cycle: {names}.")

    def _check_trace_order(self, order: Iterable[NodeId]) -> tuple:
        order = tuple(order)
        pos = np.full(self.n, -1, dtype=np.int64)
        for k, v in enumerate(order):
            i = self._lookup(v, "trace_order")
            if pos[i] >= 0:
                raise InstanceError(f"trace_order: node {v!r} appears twice.")
            pos[i] = k
        if len(order) != self.n:
            missing = self.ids[int(np.flatnonzero(pos < 0)[0])]
            raise InstanceError(f"trace_order: node {missing!r} is missing.")
        bad = np.flatnonzero(pos[self.edge_src] > pos[self.edge_dst])
        if len(bad):
            k = bad[0]
            a, b = self.ids[self.edge_src[k]], self.ids[self.edge_dst[k]]
            raise InstanceError(
                f"trace_order is not a topological order: {b!r} comes "
                f"before its predecessor {a!r}."
            )
        return order

    # -- basic queries ------------------------------------------------------

    @property
    def n(self) -> int:
        """Number of nodes."""
        return len(self.ids)

    @property
    def m(self) -> int:
        """Number of edges (explicit and implied by buffers)."""
        return len(self.edge_src)

    @property
    def buffers(self) -> tuple[Buffer, ...]:
        """The explicit buffers, as given."""
        if self._buffers is None:  # a graph made from arrays
            ids, ptr = self.ids, self.buf_cons_ptr.tolist()
            cons = self.buf_cons_idx.tolist()
            self._buffers = tuple(
                Buffer(
                    b,
                    ids[p] if p >= 0 else None,
                    size,
                    tuple(ids[c] for c in cons[ptr[j] : ptr[j + 1]]),
                    out,
                )
                for j, (b, p, size, out) in enumerate(
                    zip(
                        self._buf_ids,
                        self.buf_producer.tolist(),
                        self.buf_size.tolist(),
                        self.buf_output.tolist(),
                        strict=True,
                    )
                )
            )
        return self._buffers

    def index(self, v: NodeId) -> int:
        """The internal index of node id ``v``."""
        return self._lookup(v, "Node")

    def successors(self, v: NodeId) -> list[NodeId]:
        """The ids of the successors of node ``v``."""
        i = self.index(v)
        return [
            self.ids[w]
            for w in self.succ_idx[self.succ_ptr[i] : self.succ_ptr[i + 1]]
        ]

    def predecessors(self, v: NodeId) -> list[NodeId]:
        """The ids of the predecessors of node ``v``."""
        i = self.index(v)
        return [
            self.ids[w]
            for w in self.pred_idx[self.pred_ptr[i] : self.pred_ptr[i + 1]]
        ]

    def topological_order(self) -> np.ndarray:
        """A topological order of the node indices (read-only array)."""
        assert self._topo is not None
        return self._topo

    @property
    def indegree(self) -> np.ndarray:
        return np.diff(self.pred_ptr)

    @property
    def outdegree(self) -> np.ndarray:
        return np.diff(self.succ_ptr)

    def trace_indices(self) -> np.ndarray | None:
        """The trace order as node indices, or ``None``."""
        if self.trace_order is None:
            return None
        return np.array(
            [self._index[v] for v in self.trace_order], dtype=np.int64
        )

    def to_indices(self, order: Iterable[NodeId]) -> list[int]:
        """Map node ids to indices; unknown ids raise ``ScheduleError``."""
        from .exceptions import ScheduleError

        index = self._index
        out = []
        for v in order:
            try:
                out.append(index[v])
            except (KeyError, TypeError):
                raise ScheduleError(
                    f"Unknown node {v!r} in the order."
                ) from None
        return out

    # -- the expanded buffer model -----------------------------------------

    def memory_buffers(self) -> MemoryBuffers:
        """Every buffer of the model, shorthands expanded (zero sizes dropped)."""
        if self._membuf is None:
            from .buffers import expand

            self._membuf = expand(self)
        return self._membuf

    # -- variants, equality -------------------------------------------------

    def replace(self, **changes: Any) -> Graph:
        """A copy with some constructor arguments changed.

        Examples
        --------
        >>> g = Graph(["a"], size=[3])
        >>> g.replace(keep_outputs=True).keep_outputs
        True
        """
        args = self._init_args()
        unknown = set(changes) - set(args)
        if unknown:
            raise TypeError(f"Unknown fields: {sorted(unknown)}.")
        args.update(changes)
        return Graph(**args)

    def _init_args(self) -> dict[str, Any]:
        ids = self.ids
        return {
            "ids": ids,
            "edges": [
                (ids[a], ids[b])
                for a, b in zip(
                    self.edge_src.tolist(), self.edge_dst.tolist(), strict=True
                )
            ],
            "size": self.node_size,
            "workspace": self.workspace,
            "time": self.time,
            "edge_size": self.edge_size,
            "fictitious": self.edge_fictitious,
            "buffers": self.buffers,
            "keep_outputs": self.keep_outputs,
            "trace_order": self.trace_order,
            "name": self.name,
            "meta": self.meta,
            "op": self.op,
            "flops": self.flops,
            "op_bytes": self.op_bytes,
            "layer": self.layer,
            "phase": self.phase,
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Graph):
            return NotImplemented
        return (
            self.ids == other.ids
            and np.array_equal(self.node_size, other.node_size)
            and np.array_equal(self.workspace, other.workspace)
            and np.array_equal(self.time, other.time)
            and np.array_equal(self.edge_src, other.edge_src)
            and np.array_equal(self.edge_dst, other.edge_dst)
            and np.array_equal(self.edge_size, other.edge_size)
            and np.array_equal(self.edge_fictitious, other.edge_fictitious)
            and self.buffers == other.buffers
            and self.keep_outputs == other.keep_outputs
            and self.trace_order == other.trace_order
            and self.name == other.name
            and self.meta == other.meta
            and self.op == other.op
            and np.array_equal(self.flops, other.flops)
            and np.array_equal(self.op_bytes, other.op_bytes)
            and self.layer == other.layer
            and self.phase == other.phase
        )

    def __hash__(self) -> int:
        return hash((self.ids, self.m, int(self.node_size.sum()), self.name))

    def __repr__(self) -> str:
        name = f"{self.name!r}, " if self.name else ""
        return f"Graph({name}n={self.n}, m={self.m}, buffers={len(self._buf_ids)})"

    # -- dict / JSON and networkx (see convert.py) -----------------------

    @classmethod
    def from_dict(cls, data: Any) -> Graph:
        """Read the instance schema of docs/formats.md from a parsed JSON value.

        Examples
        --------
        >>> g = Graph.from_dict({"nodes": [{"id": "a", "size": 4}, {"id": "b"}],
        ...                      "edges": [["a", "b"]]})
        >>> g.n, g.m
        (2, 1)
        """
        ids, edges, kwargs = dict_arguments(data)
        return cls(ids, edges, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The instance schema of docs/formats.md (plain Python values)."""
        return graph_to_dict(self)

    @classmethod
    def from_networkx(cls, G: nx.DiGraph, **kwargs: Any) -> Graph:
        """Read a networkx ``DiGraph`` (see :func:`convert.networkx_arguments`)."""
        ids, edges, args = networkx_arguments(G, **kwargs)
        return cls(ids, edges, **args)

    def to_networkx(self) -> nx.DiGraph:
        """This graph as a networkx ``DiGraph`` (attributes as in ``from_networkx``)."""
        return graph_to_networkx(self)


def require_graph(graph: object, caller: str) -> None:
    """Raise ``TypeError`` unless ``graph`` is a :class:`Graph`, naming
    ``caller`` and, for a path, ``read_graph``."""
    check_type(graph, Graph, caller, "read_graph")
