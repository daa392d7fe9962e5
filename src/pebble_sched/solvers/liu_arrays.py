"""Liu's algorithm and the priority order on arrays, compiled by numba.

The Liu relaxation (:func:`~pebble_sched.solvers.heuristics.liu_relaxation_order`)
runs :func:`~pebble_sched.solvers.trees.liu_schedule` on a spanning in-forest
of the graph and then :func:`~pebble_sched.solvers.heuristics.priority_order`;
the exact solver of in-trees runs the first alone. In Python both keep heaps
of tuples: 1.4 s for the two at 10^5 nodes (a random SP graph), 11.5-12.5 s
at 10^6 nodes, where ``solve`` waited for them before its SP solver
started; compiled, 0.05 s and 0.8 s.

Here the same two algorithms run on arrays:

- :func:`liu_schedule`: every segment (atom) is a row of arrays (hill,
  net, preference key, insertion tick, its nodes as a linked list), and each
  subtree's segments form a *leftist heap* (Crane; Knuth, TAOCP vol. 3,
  5.2.3), so a node merges its children's heaps in O(log n) each instead of
  moving the smaller heaps' entries one by one: O(n log n) in all.
- :func:`priority_order`: a binary heap of node indices keyed by
  ``(priority, index)``.

Both give exactly the Python functions' answers: every heap entry has a
distinct key there too (a segment's tick is the post-order position of the
node that made it; a node's index breaks priority ties), so any correct
priority queue pops the same sequence. The tests compare the two on random
forests and graphs with many ties. Work is done in blocks of nodes, the
deadline checked between them.

Used when numba is installed and the input is large enough to repay
loading it (:func:`usable`; sizes must fit in int64, Python's integers do
not have to). numba compiles the functions once per install (about 5 s)
and caches them on disk; until then only inputs that take longer than that
in Python compile them, when no deadline is shorter than :data:`COMPILE_S`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..constants import INT64_SAFE
from ..runtime import import_optional, signals_deferred

if TYPE_CHECKING:
    from ..runtime import Deadline

# an optional accelerator: None when it is not installed or is broken (an
# import cut short by Ctrl-C is undone by import_optional, and raises)
numba = import_optional("numba")

__all__ = ["COMPILED", "as_int64", "liu_schedule", "priority_order", "usable"]

COMPILED = numba is not None
"""Whether the functions below are compiled (numba is installed)."""

READY_MIN_NODES = 2_000
"""Inputs from this many nodes use the compiled functions once they are
loaded in this process (:func:`usable`; the callers import this module,
and numba with it, only from ``trees.ARRAYS_MIN_NODES``)."""

COMPILE_S = 8.0
"""Time a deadline must leave to compile the functions (4.9-5.3 s, once per
install: numba caches them on disk; its compilation cannot be
interrupted)."""

COMPILE_MIN_NODES = 500_000
"""Inputs from this many nodes compile the functions when numba's cache
does not hold them (Liu's algorithm in Python takes about 6.5 s there, and
the relaxation with its priority order 8 s); smaller ones then stay in
Python, and read them from the cache once it holds them."""

BLOCK = 65_536
"""Nodes per compiled call: the deadline is checked between calls."""


def _jit(fn):
    if numba is None:  # pragma: no cover - depends on the environment
        return fn
    return numba.njit(cache=True, nogil=True)(fn)


# Liu's algorithm ------------------------------------------------------------


@_jit
def _setup(parent):  # pragma: no cover - compiled
    """Children (CSR, each list in increasing index order) and the
    post-order of the Python function: roots pushed in reverse, each
    popped node's children pushed in order, the visit order reversed."""
    n = len(parent)
    kptr = np.zeros(n + 1, dtype=np.int64)
    for v in range(n):
        if parent[v] >= 0:
            kptr[parent[v] + 1] += 1
    for v in range(n):
        kptr[v + 1] += kptr[v]
    kids = np.empty(kptr[n], dtype=np.int64)
    fill = kptr[:n].copy()
    for v in range(n):
        p = parent[v]
        if p >= 0:
            kids[fill[p]] = v
            fill[p] += 1
    stack = np.empty(n, dtype=np.int64)
    top = 0
    for v in range(n - 1, -1, -1):
        if parent[v] < 0:
            stack[top] = v
            top += 1
    visit = np.empty(n, dtype=np.int64)
    m = 0
    while top:
        top -= 1
        v = stack[top]
        visit[m] = v
        m += 1
        for k in range(kptr[v], kptr[v + 1]):
            stack[top] = kids[k]
            top += 1
    return visit[::-1].copy(), kptr, kids


# a segment's fields, one row of int64 each (those a merge of heaps reads
# first, so that a segment is one or two cache lines)
_KC, _KV, _TK, _LEFT, _RIGHT, _DIST, _HILL, _NET, _HEAD, _TAIL = range(10)
_FIELDS = 10


@_jit
def _set_key(seg, a):  # pragma: no cover - compiled
    """profiles.Atom's key of segment a: (0, hill), (1, 0) or
    (2, net - hill)."""
    net = seg[a, _NET]
    if net < 0:
        seg[a, _KC] = 0
        seg[a, _KV] = seg[a, _HILL]
    elif net == 0:
        seg[a, _KC] = 1
        seg[a, _KV] = 0
    else:
        seg[a, _KC] = 2
        seg[a, _KV] = net - seg[a, _HILL]


@_jit
def _above(seg, a, b):  # pragma: no cover - compiled
    """Whether segment a pops before b: a larger key (less preferred),
    then a larger tick (the later one), as the Python heap pops."""
    if seg[a, _KC] != seg[b, _KC]:
        return seg[a, _KC] > seg[b, _KC]
    if seg[a, _KV] != seg[b, _KV]:
        return seg[a, _KV] > seg[b, _KV]
    return seg[a, _TK] > seg[b, _TK]


@_jit
def _dist(seg, x):  # pragma: no cover - compiled
    return seg[x, _DIST] if x >= 0 else 0


@_jit
def _meld(seg, a, b, path):  # pragma: no cover - compiled
    """The union of the leftist heaps rooted at a and b (-1: empty): their
    right spines merged top-down, then each node on the merged spine
    given the child of larger distance on its left, bottom-up."""
    if a < 0:
        return b
    if b < 0:
        return a
    sp = 0
    while a >= 0 and b >= 0:
        if _above(seg, b, a):
            a, b = b, a
        path[sp] = a
        sp += 1
        a = seg[a, _RIGHT]
    rest = a if a >= 0 else b
    for i in range(sp - 1, -1, -1):
        x = path[i]
        seg[x, _RIGHT] = rest if i == sp - 1 else path[i + 1]
        dl = _dist(seg, seg[x, _LEFT])
        dr = _dist(seg, seg[x, _RIGHT])
        if dl < dr:
            seg[x, _LEFT], seg[x, _RIGHT] = seg[x, _RIGHT], seg[x, _LEFT]
            dr = dl
        seg[x, _DIST] = dr + 1
    return path[0]


@_jit
def _liu_steps(
    lo, hi, post, kptr, kids, out, work, root, state, seg, nxt, path
):  # pragma: no cover - compiled
    """Nodes ``post[lo:hi]`` (ticks lo + 1 .. hi): each merges its
    children's heaps, makes its own segment, merges into it the least
    preferred segments while they are less preferred (Lemma 2), and pushes
    it. ``state[0]``: segments made so far."""
    for t in range(lo, hi):
        v = post[t]
        h = -1
        freed = 0
        for k in range(kptr[v], kptr[v + 1]):
            c = kids[k]
            h = _meld(seg, h, root[c], path)
            root[c] = -1
            freed += out[c]
        a = state[0]
        state[0] += 1
        seg[a, _HILL] = work[v] + out[v]
        seg[a, _NET] = out[v] - freed
        _set_key(seg, a)
        seg[a, _HEAD] = v
        seg[a, _TAIL] = v
        while h >= 0 and (
            seg[h, _KC] > seg[a, _KC]
            or (seg[h, _KC] == seg[a, _KC] and seg[h, _KV] > seg[a, _KV])
        ):
            top = h
            h = _meld(seg, seg[top, _LEFT], seg[top, _RIGHT], path)
            c = state[0]
            state[0] += 1
            seg[c, _HILL] = max(
                seg[top, _HILL], seg[top, _NET] + seg[a, _HILL]
            )
            seg[c, _NET] = seg[top, _NET] + seg[a, _NET]
            _set_key(seg, c)
            nxt[seg[top, _TAIL]] = seg[a, _HEAD]
            seg[c, _HEAD] = seg[top, _HEAD]
            seg[c, _TAIL] = seg[a, _TAIL]
            a = c
        seg[a, _TK] = t + 1
        seg[a, _LEFT] = -1
        seg[a, _RIGHT] = -1
        seg[a, _DIST] = 1
        root[v] = _meld(seg, h, a, path)


@_jit
def _liu_segments(parent, root, seg, path):  # pragma: no cover - compiled
    """The segments of the roots' heaps, united (in no particular order)."""
    n = len(parent)
    h = -1
    for v in range(n):
        if parent[v] < 0:
            h = _meld(seg, h, root[v], path)
    segs = np.empty(n, dtype=np.int64)
    m = 0
    stack = np.empty(n, dtype=np.int64)
    top = 0
    if h >= 0:
        stack[0] = h
        top = 1
    while top:
        top -= 1
        x = stack[top]
        segs[m] = x
        m += 1
        for y in (seg[x, _LEFT], seg[x, _RIGHT]):
            if y >= 0:
                stack[top] = y
                top += 1
    return segs[:m]


@_jit
def _liu_nodes(segs, seg, nxt):  # pragma: no cover - compiled
    """The nodes of the segments ``segs``, in that order, each segment's
    in its own order."""
    out = np.empty(len(nxt), dtype=np.int64)
    k = 0
    for s in segs:
        v = seg[s, _HEAD]
        while True:
            out[k] = v
            k += 1
            if v == seg[s, _TAIL]:
                break
            v = nxt[v]
    return out


def liu_schedule(
    parent: np.ndarray,
    out: np.ndarray,
    work: np.ndarray,
    deadline: Deadline | None = None,
) -> np.ndarray:
    """:func:`~pebble_sched.solvers.trees.liu_schedule` on int64 arrays (the
    same order), ``deadline`` checked every :data:`BLOCK` nodes."""
    parent = np.ascontiguousarray(parent, dtype=np.int64)
    out = np.ascontiguousarray(out, dtype=np.int64)
    work = np.ascontiguousarray(work, dtype=np.int64)
    n = len(parent)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    post, kptr, kids = _setup(parent)
    seg = np.empty((2 * n, _FIELDS), dtype=np.int64)  # (n + merges <= 2n)
    root = np.full(n, -1, dtype=np.int64)
    nxt = np.full(n, -1, dtype=np.int64)
    state = np.zeros(1, dtype=np.int64)
    path = np.empty(256, dtype=np.int64)  # (spines of O(log n) nodes)
    for lo in range(0, n, BLOCK):
        if deadline is not None:
            deadline.check()
        hi = min(n, lo + BLOCK)
        _liu_steps(
            lo, hi, post, kptr, kids, out, work, root, state, seg, nxt, path
        )
    # in preference order, the earlier tick first among equal keys
    segs = _liu_segments(parent, root, seg, path)
    segs = segs[np.lexsort((seg[segs, _TK], seg[segs, _KV], seg[segs, _KC]))]
    return _liu_nodes(segs, seg, nxt)


# the priority order ---------------------------------------------------------


@_jit
def _less(a, b, prio):  # pragma: no cover - compiled
    return prio[a] < prio[b] or (prio[a] == prio[b] and a < b)


@_jit
def _push(heap, size, v, prio):  # pragma: no cover - compiled
    i = size
    heap[i] = v
    while i:
        p = (i - 1) >> 1
        if not _less(heap[i], heap[p], prio):
            break
        heap[i], heap[p] = heap[p], heap[i]
        i = p


@_jit
def _pop(heap, size, prio):  # pragma: no cover - compiled
    """The least of ``heap[:size]``, removed (the heap is then one
    shorter)."""
    v = heap[0]
    size -= 1
    heap[0] = heap[size]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= size:
            break
        if c + 1 < size and _less(heap[c + 1], heap[c], prio):
            c += 1
        if not _less(heap[c], heap[i], prio):
            break
        heap[i], heap[c] = heap[c], heap[i]
        i = c
    return v


@_jit
def _priority_steps(
    stop, succ_ptr, succ_idx, indeg, prio, heap, state, order
):  # pragma: no cover - compiled
    """Pop ready nodes until ``stop`` are ordered or none is ready:
    ``state`` holds the heap's size and the count ordered."""
    size = state[0]
    k = state[1]
    while size and k < stop:
        v = _pop(heap, size, prio)
        size -= 1
        order[k] = v
        k += 1
        for e in range(succ_ptr[v], succ_ptr[v + 1]):
            w = succ_idx[e]
            indeg[w] -= 1
            if indeg[w] == 0:
                _push(heap, size, w, prio)
                size += 1
    state[0] = size
    state[1] = k


def priority_order(
    succ_ptr: np.ndarray,
    succ_idx: np.ndarray,
    indeg: np.ndarray,
    priority: np.ndarray,
    deadline: Deadline | None = None,
) -> np.ndarray:
    """:func:`~pebble_sched.solvers.heuristics.priority_order` of the graph
    given by its successor lists and in-degrees, for int64 priorities
    (the same order), ``deadline`` checked every :data:`BLOCK` nodes."""
    n = len(indeg)
    prio = np.ascontiguousarray(priority, dtype=np.int64)
    indeg = np.array(indeg, dtype=np.int64)
    heap = np.empty(max(n, 1), dtype=np.int64)
    ready = np.flatnonzero(indeg == 0)
    # the ready nodes in (priority, index) order form a heap already
    ready = ready[np.lexsort((ready, prio[ready]))]
    heap[: len(ready)] = ready
    state = np.array([len(ready), 0], dtype=np.int64)
    order = np.empty(n, dtype=np.int64)
    while state[0] and state[1] < n:
        if deadline is not None:
            deadline.check()
        _priority_steps(
            min(n, state[1] + BLOCK),
            succ_ptr,
            succ_idx,
            indeg,
            prio,
            heap,
            state,
            order,
        )
    return order[: state[1]]


# when to use them -----------------------------------------------------------


def _functions() -> tuple:
    return (_setup, _liu_steps, _liu_segments, _liu_nodes, _priority_steps)


def _ready() -> bool:
    return COMPILED and all(f.signatures for f in _functions())


def as_int64(*values: Any) -> tuple[np.ndarray, ...] | None:
    """These sequences of sizes as int64 arrays, or None when one is not
    integer or their sums could leave int64 (the segments' levels are
    sums of them: bounded here by the largest value times the length)."""
    arrays = []
    total = 0
    for v in values:
        try:
            a = np.asarray(v)
        except OverflowError:  # (Python integers beyond int64)
            return None
        if not len(a):
            a = a.astype(np.int64)
        elif a.dtype.kind != "i":
            return None  # (floats, objects, or unsigned)
        else:
            total += max(int(a.max()), -int(a.min())) * len(a)
        arrays.append(a.astype(np.int64, copy=False))
    return tuple(arrays) if 4 * total < INT64_SAFE else None


def usable(n: int, deadline: Deadline | None = None) -> bool:
    """Whether an input of ``n`` nodes should use the compiled functions:
    numba installed, and they are loaded in this process already (from
    :data:`READY_MIN_NODES` nodes), or numba's cache holds them (0.4 s to
    read), or the input has :data:`COMPILE_MIN_NODES` and the deadline, if
    any, leaves :data:`COMPILE_S` to compile them. The callers ask only
    from ``trees.ARRAYS_MIN_NODES`` nodes unless this module is loaded."""
    if not COMPILED or n < READY_MIN_NODES:
        return False
    if _ready():
        return True
    from .candidate_words import cached, skip_blas_probe

    if not cached(_functions()) and (
        n < COMPILE_MIN_NODES
        or (deadline is not None and deadline.remaining() < COMPILE_S)
    ):
        return False
    skip_blas_probe()  # (numba's first set-up here: 0.35 s less)
    warm()  # (compiled or read here, where a signal is held, not dropped)
    return True


def warm() -> None:
    """Compile (or read from numba's cache) every function, on a tiny input."""
    from .candidate_words import skip_blas_probe

    skip_blas_probe()
    # (numba drops what a signal handler raises while it compiles, and the
    # compilation then fails: Ctrl-C is held until each part is compiled)
    with signals_deferred():
        liu_schedule(
            np.array([2, 2, -1]), np.array([5, 1, 1]), np.array([0, 0, 0])
        )
    with signals_deferred():
        priority_order(
            np.array([0, 1, 1]),
            np.array([0]),
            np.array([0, 1]),
            np.array([1, 0]),
        )
