"""Liu's hill-valley algorithm for in-trees (minimum peak, exact).

Model: an *in-tree* (in-forest) is a DAG in which every node has at most one
successor, its parent; edges point towards the root. Each node v produces
``out[v]`` bytes read by its parent (resident from v's step to the parent's
step) and ``work[v]`` bytes of scratch live only during its own step. Running
v therefore needs the outputs of all its children, plus ``work[v] +
out[v]``. With node sizes, workspaces and edge sizes (each node has one
successor, so its node size and its edge size are read by the same parent),
this is exactly docs/model.md on an in-tree.

Algorithm (J. W. H. Liu, "An application of generalized tree pebbling to
sparse matrix factorization", SIAM J. Algebraic Discrete Methods 8(3),
1987): the profile of a subtree's schedule is cut into hill-valley segments
(h1 >= h2 >= ..., v1 <= v2 <= ...). A node's schedule runs the segments of
all its children's optimal schedules in non-increasing order of
``hill - valley`` (each segment's nodes contiguously), then the node itself;
the resulting profile is cut into segments again. Exact for in-trees.
Segments are the canonical atoms of :mod:`pebble_sched.solvers.profiles`, kept in
mergeable heaps: O(n log^2 n) in the worst case (a caterpillar too).

:func:`liu_schedule` is also used on the spanning in-trees of general DAGs
as a relaxation by :mod:`pebble_sched.solvers.heuristics`.
"""

from __future__ import annotations

import heapq
import sys
from typing import TYPE_CHECKING

import numpy as np

from ..constants import INT64_SAFE
from ..runtime import gc_paused
from .profiles import Atom, flatten, preference

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

    from ..graph import Graph
    from ..runtime import Deadline

__all__ = [
    "arrays_for",
    "is_in_tree",
    "liu_order",
    "liu_schedule",
    "tree_weights",
]


@gc_paused()  # millions of atoms, no cycles
def liu_schedule(
    parent: Sequence[int] | np.ndarray,
    out: Sequence[int] | np.ndarray,
    work: Sequence[int] | np.ndarray,
    deadline: Deadline | None = None,
) -> list[int]:
    """An optimal order of an in-forest given by ``parent`` (-1 for roots).

    Parameters
    ----------
    parent
        ``parent[v]`` is v's unique successor, or -1.
    out
        Bytes v produces for its parent.
    work
        Bytes of scratch live only during v's step.
    deadline
        Checked every few thousand nodes (``TimeUp``).

    Returns
    -------
    list[int]
        The nodes in an order of minimum peak.

    Each subtree's schedule is kept as a heap of its segments (atoms of
    :mod:`pebble_sched.solvers.profiles`), least preferred on top. A node merges
    its children's heaps, smaller into larger, then merges its own atom
    with the least preferred segments while they are less preferred than
    it (Lemma 2): the segments of Liu's algorithm. Every segment moves
    O(log n) times between heaps, each move O(log n): O(n log^2 n).

    Examples
    --------
    >>> liu_schedule([2, 2, -1], [5, 1, 1], [0, 0, 0])
    [0, 1, 2]

    Large forests go to :func:`.liu_arrays.liu_schedule` (the same order,
    compiled) when numba is installed (:func:`arrays_for`).
    """
    n = len(parent)
    compiled = arrays_for(n, deadline)
    sizes = None if compiled is None else compiled.as_int64(out, work)
    if compiled is not None and sizes is not None:
        got = compiled.liu_schedule(np.asarray(parent), *sizes, deadline)
        return got.tolist()
    parent, out, work = (
        x.tolist() if isinstance(x, np.ndarray) else x
        for x in (parent, out, work)
    )
    children: list[list[int]] = [[] for _ in range(n)]
    roots = []
    for v, p in enumerate(parent):
        if p < 0:
            roots.append(v)
        else:
            children[p].append(v)
    # post-order: children before parents
    post: list[int] = []
    stack = list(reversed(roots))
    while stack:
        v = stack.pop()
        post.append(v)
        stack.extend(children[v])
    post.reverse()
    heaps: list[list | None] = [None] * n

    def union(parts: list[list]) -> list:
        parts.sort(key=len)
        big = parts.pop()
        for h in parts:
            for item in h:
                heapq.heappush(big, item)
        return big

    # tick, an insertion counter: ties pop the latest first (any order is optimal)
    for tick, v in enumerate(post, 1):
        if deadline is not None and not tick & 4095:
            deadline.check()
        kids = [heaps[c] for c in children[v]]
        for c in children[v]:
            heaps[c] = None
        heap = union(kids) if kids else []  # type: ignore[arg-type]
        freed = sum(out[c] for c in children[v])
        atom = Atom(work[v] + out[v], out[v] - freed, v)
        key = preference(atom)
        while heap and _neg(heap[0][0]) > key:
            _k, _t, top = heapq.heappop(heap)
            atom = top.then(atom)
            key = preference(atom)
        heapq.heappush(heap, (_neg(key), -tick, atom))
        heaps[v] = heap
    merged = union([heaps[r] for r in roots]) if roots else []  # type: ignore[misc]
    merged.sort(key=lambda item: (_neg(item[0]), -item[1]))
    return flatten(tuple(item[2].items for item in merged))


ARRAYS_MIN_NODES = 50_000
"""From this many nodes :func:`arrays_for` imports :mod:`.liu_arrays` (and
numba with it): numba's import and cache read take 0.3-0.6 s in a process
that has not loaded it, Liu's algorithm in Python 0.6 s at 50,000 nodes."""


def arrays_for(n: int, deadline: Deadline | None = None) -> ModuleType | None:
    """:mod:`.liu_arrays` when it should order an input of ``n`` nodes
    (:func:`.liu_arrays.usable`), else None. Imported only from
    :data:`ARRAYS_MIN_NODES` nodes, or once an earlier call imported it."""
    if n < ARRAYS_MIN_NODES and f"{__package__}.liu_arrays" not in sys.modules:
        return None
    from . import liu_arrays

    return liu_arrays if liu_arrays.usable(n, deadline) else None


def _neg(key: tuple[int, int]) -> tuple[int, int]:
    return (-key[0], -key[1])


def is_in_tree(graph: Graph) -> bool:
    """Whether every node has at most one successor (an in-forest)."""
    return bool((np.diff(graph.succ_ptr) <= 1).all())


def tree_weights(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """``(out, work)`` per node of a graph seen as a forest: the bytes of
    its buffers that some node reads or that are kept (held until read),
    and of those nobody reads (its own step only); graph inputs are not
    counted. int64 arrays where the sizes are (and their sum fits), else
    arrays of Python integers."""
    mb = graph.memory_buffers()
    n = graph.n
    has_prod = mb.producer >= 0
    lasting = has_prod & ((np.diff(mb.cons_ptr) > 0) | mb.output)
    scratch = has_prod & ~lasting
    exact = mb.size.dtype == np.int64 and 4 * mb.total < INT64_SAFE
    kind = np.int64 if exact else object
    out = np.zeros(n, dtype=kind)
    work = np.zeros(n, dtype=kind)
    if exact:
        np.add.at(out, mb.producer[lasting], mb.size[lasting])
        np.add.at(work, mb.producer[scratch], mb.size[scratch])
        return out, work
    for into, which in ((out, lasting), (work, scratch)):
        for p, size in zip(
            mb.producer[which].tolist(), mb.size[which].tolist(), strict=True
        ):
            into[p] += size
    return out, work


def liu_order(graph: Graph, deadline: Deadline | None = None) -> np.ndarray:
    """An optimal order (node indices) of an in-tree graph, by Liu's algorithm.

    Exact when the graph is an in-forest without graph inputs or kept
    outputs; raises ``ValueError`` when some node has two successors.
    ``deadline``: checked every few thousand nodes (``TimeUp``).

    Examples
    --------
    >>> g = Graph(["a", "b", "r"], [("a", "r"), ("b", "r")], size=[5, 1, 1])
    >>> liu_order(g).tolist()
    [0, 1, 2]
    """
    if not is_in_tree(graph):
        raise ValueError(
            "liu_order needs an in-tree: a node has two successors."
        )
    parent = np.full(graph.n, -1, dtype=np.int64)
    parent[graph.edge_src] = graph.edge_dst
    out, work = tree_weights(graph)
    order = liu_schedule(parent, out, work, deadline)
    return np.array(order, dtype=np.int64)


def is_out_forest(graph: Graph) -> bool:
    """Whether every node has at most one predecessor (an out-forest)."""
    return bool((np.diff(graph.pred_ptr) <= 1).all())


def out_tree_order(graph: Graph) -> np.ndarray:
    """A good (not always optimal) order of an out-forest, bottom-up.

    Minimum peak is strongly NP-hard on out-trees, so this is a heuristic.
    Once a node v has run, its buffer stays until all its children have run.
    For each node it keeps the better of two policies, computed bottom-up
    with ``P(c)``, the peak of a child's subtree started with the child's
    output resident:

    - *children first*: run every child at once (freeing v), then each
      child's subtree, in ascending ``P(c) - s(c)`` (an exchange argument
      shows this order minimises ``max_j P(c_j) + sum of later s(c)``);
    - *depth first*: run each child and its whole subtree in turn, keeping
      v until the last child starts; the child with the largest ``P`` goes
      last.

    O(n log n). Node sizes and workspaces (the out-forest's buffers); other
    buffers are ignored by the policy choice but counted by the evaluator.
    """
    if not is_out_forest(graph):
        raise ValueError(
            "out_tree_order needs an out-forest: a node has two predecessors."
        )
    n = graph.n
    out, work = (w.tolist() for w in tree_weights(graph))
    sp, si = graph.succ_ptr.tolist(), graph.succ_idx.tolist()
    peak = [0] * n  # P(v): v's output resident at the start
    plan: list[tuple[str, list[int]]] = [("", [])] * n
    for v in graph.topological_order()[::-1].tolist():
        kids = si[sp[v] : sp[v + 1]]
        if not kids:
            peak[v] = out[v]
            plan[v] = ("leaf", [])
            continue
        # children first: run children by descending workspace, then subtrees
        run = sorted(kids, key=lambda c: -work[c])
        acc, top = out[v], out[v]
        for c in run:
            top = max(top, acc + out[c] + work[c])
            acc += out[c]
        sub = sorted(kids, key=lambda c: peak[c] - out[c])
        rest = sum(out[c] for c in sub)
        for c in sub:
            rest -= out[c]
            top = max(top, peak[c] + rest)
        a_peak = top
        # depth first: the largest subtree last
        dfs = sorted(kids, key=lambda c: peak[c])
        top = out[v]
        for c in dfs[:-1]:
            top = max(top, out[v] + work[c] + out[c], out[v] + peak[c])
        last = dfs[-1]
        top = max(top, out[v] + out[last] + work[last], peak[last])
        if a_peak <= top:
            peak[v], plan[v] = a_peak, ("first", run + sub)
        else:
            peak[v], plan[v] = top, ("dfs", dfs)
    roots = np.flatnonzero(np.diff(graph.pred_ptr) == 0).tolist()
    order: list[int] = []
    # roots one after the other, smallest peak first
    stack: list[tuple[int, bool]] = [
        (r, False) for r in sorted(roots, key=lambda r: -peak[r])
    ]
    while stack:
        v, expanded = stack.pop()
        if not expanded:
            order.append(v)
        kind, seq = plan[v]
        if kind == "first":
            k = len(seq) // 2
            order.extend(seq[:k])
            stack.extend((c, True) for c in reversed(seq[k:]))
        elif kind == "dfs":
            stack.extend((c, False) for c in reversed(seq))
    return np.array(order, dtype=np.int64)
