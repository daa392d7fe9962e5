"""Liu's hill-valley algorithm for in-trees (minimum peak, exact).

Model: an *in-tree* (in-forest) is a DAG in which every node has at most one
successor, its parent; edges point towards the root. Each node v produces
``out[v]`` bytes read by its parent (resident from v's step to the parent's
step) and ``work[v]`` bytes of scratch live only during its own step. Running
v therefore needs the outputs of all its children, plus ``work[v] +
out[v]``. With node sizes, workspaces and edge sizes (each node has one
successor, so its node size and its edge size are read by the same parent),
this is exactly DESIGN.md §1 on an in-tree.

Algorithm (J. W. H. Liu, "An application of generalized tree pebbling to
sparse matrix factorization", SIAM J. Algebraic Discrete Methods 8(3),
1987): the profile of a subtree's schedule is cut into hill-valley segments
(h1 >= h2 >= ..., v1 <= v2 <= ...). A node's schedule runs the segments of
all its children's optimal schedules in non-increasing order of
``hill - valley`` (each segment's nodes contiguously), then the node itself;
the resulting profile is cut into segments again. Exact for in-trees.
This implementation merges by sorting, O(n * depth) in the worst case and
O(n log n) on balanced trees.

:func:`liu_schedule` is also used on the spanning in-trees of general DAGs
as a relaxation by :mod:`pebble_sched.heuristics`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .graph import Graph

__all__ = ["is_in_tree", "liu_order", "liu_schedule"]

# A segment: (hill, valley, rope); a rope is a nested list of node lists.
_Segment = tuple[int, int, list]


def _flatten(rope: list) -> list[int]:
    out: list[int] = []
    stack = [rope]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


def _resegment(
    hills: list[int], valleys: list[int], ropes: list[list]
) -> list[_Segment]:
    """Cut a profile (peak during and resident after each piece) into segments."""
    k = len(hills)
    sufmax = [0] * k  # position of the last maximum hill in [i, k)
    sufmin = [0] * k  # position of the last minimum valley in [i, k)
    sufmax[k - 1] = sufmin[k - 1] = k - 1
    for i in range(k - 2, -1, -1):
        j = sufmax[i + 1]
        sufmax[i] = i if hills[i] > hills[j] else j
        j = sufmin[i + 1]
        sufmin[i] = i if valleys[i] < valleys[j] else j
    segments: list[_Segment] = []
    i = 0
    while i < k:
        p = sufmax[i]
        q = sufmin[p]
        segments.append((hills[p], valleys[q], ropes[i : q + 1]))
        i = q + 1
    return segments


def liu_schedule(
    parent: Sequence[int], out: Sequence[int], work: Sequence[int]
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

    Returns
    -------
    list[int]
        The nodes in an order of minimum peak.

    Examples
    --------
    >>> liu_schedule([2, 2, -1], [5, 1, 1], [0, 0, 0])
    [0, 1, 2]
    """
    n = len(parent)
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
    segs: list[list[_Segment] | None] = [None] * n
    for v in post:
        hills: list[int] = []
        valleys: list[int] = []
        ropes: list[list] = []
        total = 0
        if children[v]:
            merged = []
            for c in children[v]:
                for s in segs[c]:  # type: ignore[union-attr]
                    merged.append((s[1] - s[0], c, s))
                segs[c] = None
            merged.sort(key=lambda t: t[0])  # stable: -(h - v) ascending
            cur: dict[int, int] = {}
            for _, c, (h, val, rope) in merged:
                base = total - cur.get(c, 0)
                hills.append(base + h)
                valleys.append(base + val)
                total = base + val
                cur[c] = val
                ropes.append(rope)
        hills.append(total + work[v] + out[v])
        valleys.append(out[v])
        ropes.append([v])
        segs[v] = _resegment(hills, valleys, ropes)
    # the forest: merge the roots' segments the same way
    merged = []
    for r in roots:
        for s in segs[r]:  # type: ignore[union-attr]
            merged.append((s[1] - s[0], s))
    merged.sort(key=lambda t: t[0])
    return _flatten([s[2] for _, s in merged])


def is_in_tree(graph: Graph) -> bool:
    """Whether every node has at most one successor (an in-forest)."""
    return bool((np.diff(graph.succ_ptr) <= 1).all())


def _tree_weights(
    graph: Graph, parent: Sequence[int]
) -> tuple[list[int], list[int], int]:
    """out/work per node, and the bytes of graph inputs, for an in-forest."""
    mb = graph.memory_buffers()
    n = graph.n
    out = [0] * n
    work = [0] * n
    counts = np.diff(mb.cons_ptr).tolist()
    for b, (p, s) in enumerate(
        zip(mb.producer.tolist(), mb.size.tolist(), strict=True)
    ):
        if p < 0:
            continue
        if counts[b] or mb.output[b]:
            out[p] += s
        else:
            work[p] += s
    return out, work, 0


def liu_order(graph: Graph) -> np.ndarray:
    """An optimal order (node indices) of an in-tree graph, by Liu's algorithm.

    Exact when the graph is an in-forest without graph inputs or kept
    outputs; raises ``ValueError`` when some node has two successors.

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
    parent = [-1] * graph.n
    for a, b in zip(
        graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True
    ):
        parent[a] = b
    out, work, _ = _tree_weights(graph, parent)
    return np.array(liu_schedule(parent, out, work), dtype=np.int64)


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
    out, work, _ = _tree_weights(graph, [])
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
