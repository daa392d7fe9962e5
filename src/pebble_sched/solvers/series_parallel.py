"""Series-parallel recognition and decomposition (Valdes, Tarjan, Lawler style).

Convention: a DAG is *series-parallel* (SP) here when the two-terminal
multigraph made of its edges, plus a virtual source joined to every source
and a virtual sink joined from every sink (only when there are several), is
two-terminal series-parallel: it reduces to a single edge by

- *series reductions*: a non-terminal vertex v with one in-edge u -> v and
  one out-edge v -> w becomes an edge u -> w, labelled "series(left, v,
  right)";
- *parallel reductions*: two edges u -> w become one, labelled
  "parallel(a, b)".

Chains, in-trees, out-trees (with the virtual terminals), forests and
pumpkins (a source and a sink joined by internally disjoint chains) are SP.
The labels form the decomposition tree: leaves are plain edges, series
nodes carry the graph node between their two parts.

J. Valdes, R. E. Tarjan, E. L. Lawler, "The recognition of series parallel
digraphs", SIAM J. Comput. 11(2), 1982. Reductions are applied from a work
list, each in O(1) amortised time: O(n + m) overall. When the graph is not
SP, :func:`decompose` names an edge u -> v of the irreducible core where u
forks and v joins (the bridge of the forbidden Wheatstone pattern).

Model-independent (structure only); exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..runtime import gc_paused
from ..structure import graph_class

if TYPE_CHECKING:
    from ..graph import Graph
    from ..runtime import Deadline

__all__ = [
    "SPNode",
    "SPResult",
    "decompose",
    "graph_shape",
    "is_pumpkin",
    "series_items",
]


@dataclass(frozen=True)
class SPNode:
    """A node of the decomposition tree.

    ``kind`` is ``"edge"`` (a leaf: a plain precedence), ``"series"`` (two
    parts joined at graph node ``node``: ``children == (left, right)``) or
    ``"parallel"`` (``children`` are the branches). ``size``: the number
    of graph nodes inside the part, set by :func:`decompose` (``len(nodes())``
    without the walk).
    """

    kind: str
    children: tuple[SPNode, ...] = ()
    node: int = -1
    size: int = field(default=0, compare=False, repr=False)

    def nodes(self) -> list[int]:
        """Graph nodes inside this part (between its terminals), in a valid order."""
        out: list[int] = []
        stack: list[SPNode | int] = [self]
        while stack:
            item = stack.pop()
            if isinstance(item, int):
                out.append(item)
            elif item.kind == "series":
                stack += [item.children[1], item.node, item.children[0]]
            else:
                stack.extend(reversed(item.children))
        return out


def series_items(node: SPNode) -> list:
    """``[P0, v1, P1, ..., vm, Pm]`` for a (nested) series node: its parts
    (SPNodes that are not series) and graph nodes, in order."""
    out: list = []
    stack: list = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, SPNode) and item.kind == "series":
            left, right = item.children
            stack += [right, item.node, left]
        else:
            out.append(item)
    return out


@dataclass
class SPResult:
    """Outcome of :func:`decompose`.

    ``tree`` is the decomposition between ``source`` and ``sink`` (graph
    nodes, or -1 for a virtual terminal), or ``None`` when the graph is not
    SP; then ``witness`` is an edge (u, v) of the irreducible core where u
    forks and v joins, and ``core`` the core's graph nodes.
    """

    is_sp: bool
    tree: SPNode | None = None
    source: int = -1
    sink: int = -1
    witness: tuple[int, int] | None = None
    core: list[int] = field(default_factory=list)


@gc_paused()  # millions of tree nodes, no cycles
def decompose(graph: Graph, deadline: Deadline | None = None) -> SPResult:
    """Recognise a series-parallel DAG and build its decomposition tree.

    ``deadline``: checked every few thousand reductions (``TimeUp``).

    Examples
    --------
    >>> g = Graph(list("sabt"), [("s", "a"), ("s", "b"), ("a", "t"), ("b", "t")])
    >>> r = decompose(g)
    >>> r.is_sp, r.tree.kind
    (True, 'parallel')
    """
    n = graph.n
    if n == 0:
        return SPResult(True, SPNode("edge"))
    src = np.flatnonzero(graph.indegree == 0).tolist()
    snk = np.flatnonzero(graph.outdegree == 0).tolist()
    S = src[0] if len(src) == 1 else n
    T = snk[0] if len(snk) == 1 else n + 1
    if S == T:  # a single node
        return SPResult(True, SPNode("edge"), S, -1)
    # the multigraph as one label per vertex pair: out_e[u][w] and
    # in_e[w][u] hold the label of u -> w (parallel edges are merged as
    # soon as they appear); a label is an SPNode, or a list of branches for
    # a parallel composition still growing (made an SPNode when used, so
    # that merging d edges at one pair costs O(d), not O(d^2))
    N = n + 2
    out_e: list[dict[int, object]] = [{} for _ in range(N)]
    in_e: list[dict[int, object]] = [{} for _ in range(N)]
    leaf = SPNode("edge")

    def node_of(label) -> SPNode:
        if type(label) is not list:
            return label
        return SPNode("parallel", tuple(label), -1, sum(b.size for b in label))

    def add(u: int, w: int, label) -> None:
        old = out_e[u].get(w)
        if old is None:
            out_e[u][w] = in_e[w][u] = label
            return
        if type(old) is list:
            branches = old
        else:
            branches = list(old.children) if old.kind == "parallel" else [old]
            out_e[u][w] = in_e[w][u] = branches
        if type(label) is list:
            branches.extend(label)
        elif label.kind == "parallel":
            branches.extend(label.children)
        else:
            branches.append(label)

    if deadline is not None:  # (the set-up takes 0.15 s at 10^5 nodes)
        deadline.check()
    for a, b in zip(
        graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True
    ):
        d = out_e[a]
        if b in d:  # (a parallel edge)
            add(a, b, leaf)
        else:
            d[b] = in_e[b][a] = leaf
    if deadline is not None:
        deadline.check()
    if n == S:
        for v in src:
            add(S, v, leaf)
    if n + 1 == T:
        for v in snk:
            add(v, T, leaf)
    verts = [v for v in range(n) if v not in (S, T)]
    pop, push = verts.pop, verts.append
    steps = 0
    while verts:
        steps += 1
        if deadline is not None and steps % 8192 == 0:
            deadline.check()
        v = pop()
        ins = in_e[v]
        if len(ins) != 1:
            continue
        outs = out_e[v]
        if len(outs) != 1:
            continue
        ((u, left),) = ins.items()
        ((w, right),) = outs.items()
        ins.clear()
        outs.clear()
        into = out_e[u]
        del into[v], in_e[w][v]
        if type(left) is list:
            left = node_of(left)
        if type(right) is list:
            right = node_of(right)
        label = SPNode("series", (left, right), v, left.size + right.size + 1)
        if w in into:  # (a parallel edge)
            add(u, w, label)
        else:
            into[w] = in_e[w][u] = label
        if u != S and u != T:
            push(u)
        if w != S and w != T:
            push(w)
    edges = [(u, w, lab) for u in range(N) for w, lab in out_e[u].items()]
    if len(edges) == 1:
        ((u, w, label),) = edges
        if (u, w) == (S, T):
            return SPResult(
                True, node_of(label), S if n > S else -1, T if n > T else -1
            )
    core = sorted({x for u, w, _ in edges for x in (u, w) if x < n})
    witness = None
    candidates = [
        (u, w)
        for u, w, _ in edges
        if len(out_e[u]) > 1 and len(in_e[w]) > 1 and u < n and w < n
    ]
    inner = [(u, w) for u, w in candidates if u != S and w != T]
    if inner or candidates:
        witness = (inner or candidates)[0]
    return SPResult(False, witness=witness, core=core)


def is_pumpkin(graph: Graph) -> bool:
    """A source and a sink joined by internally disjoint chains (d >= 2 of them)."""
    if graph.n < 3:
        return False
    indeg, outdeg = graph.indegree, graph.outdegree
    src = np.flatnonzero(indeg == 0)
    snk = np.flatnonzero(outdeg == 0)
    if len(src) != 1 or len(snk) != 1 or outdeg[src[0]] < 2:
        return False
    inner = np.ones(graph.n, dtype=bool)
    inner[[src[0], snk[0]]] = False
    return bool((indeg[inner] == 1).all() and (outdeg[inner] == 1).all())


def graph_shape(graph: Graph) -> dict[str, object]:
    """Class, SP status, maximum out-degree and, for a non-SP graph, why not."""
    cls = graph_class(graph)
    if cls == "dag" and is_pumpkin(graph):
        cls = "pumpkin"
    r = decompose(graph)
    shape: dict[str, object] = {
        "class": cls,
        "series_parallel": r.is_sp,
        "max_out_degree": int(graph.outdegree.max()) if graph.n else 0,
    }
    if not r.is_sp:
        ids = graph.ids
        if r.witness is not None:
            u, v = r.witness
            shape["not_sp_because"] = (
                f"edge {ids[u]!r} -> {ids[v]!r} joins two parallel paths "
                f"({ids[u]!r} forks, {ids[v]!r} joins): a bridge, the forbidden "
                f"pattern; irreducible core of {len(r.core)} nodes"
            )
        else:
            shape["not_sp_because"] = (
                f"irreducible core of {len(r.core)} nodes"
            )
    return shape
