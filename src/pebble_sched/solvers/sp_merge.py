"""Exact minimum peak on series-parallel graphs whose buffers have fixed releases.

**When a release is fixed.** A buffer is freed after its last consumer's
step. When one consumer is reached from all the others (a single consumer,
an edge buffer m(u, v), a node size read by successors that lie on one
path, an activation read by a forward op and by its backward op) that
consumer is last in *every* order: the buffer's release does not depend on
the schedule. When every buffer of a graph is like this, each node v
changes memory by a fixed *atom*: during its step memory rises by
``hill(v)`` (every buffer it produces, workspace included) and after it the
level has moved by ``net(v)`` (what it produces and keeps, minus what it
releases). The peak of an order is then the maximum cumulative cost of a
sequence of fixed atoms under precedence constraints.

This is the model of edge-weighted task graphs (scientific workflows, the
model of Marchal et al.'s parallel work), where Kayaaslan, Lambert, Marchal
and Uçar ("Scheduling series-parallel task graphs to minimize peak
memory", Theoretical Computer Science 707, 2018) proved series-parallel
graphs polynomial, extending Liu's algorithm for trees. The node model is
NP-hard on the same graphs because a node read by parallel branches is
released by whichever of them ends last (a *fork*, see
:mod:`pebble_sched.solvers.dominant`); here there is none.

**Algorithm.** On the decomposition tree of
:func:`pebble_sched.solvers.series_parallel.decompose`, bottom up, each
part gets a canonical chain of atoms (:mod:`pebble_sched.solvers.profiles`):

- a series composition ``P0, v1, P1, ..., vm, Pm`` is the concatenation of
  the parts' chains and the nodes' atoms, made canonical (Lemma 2: an atom
  preferred to its predecessor is glued to it);
- a parallel composition's branches share no buffer (no forks), so they
  are independent chains and their stable merge by preference is optimal
  and dominant (Lemmas 1-3: the rule of Abdel-Wahab and Kameda for the
  maximum cumulative cost under series-parallel precedence, Operations
  Research 26(1), 1978).

The final chain's order is optimal: every step is one of the lemmas, so
the result is reported ``optimal`` with no conjecture involved.

**Cost.** A series composition costs its length (amortised stack pushes);
a parallel composition with d branches and k atoms costs O(k log d)
(Timsort merges the d sorted runs). An atom takes part in one merge per
parallel composition around it, and the branch counts along a nesting path
sum to at most n, so the total is O(n^2) in the worst case (deeply nested
parallel compositions) and O(n log n) on shallow ones. Deciding which
buffers have a fixed release is one bounded reverse search per buffer with
two or more consumers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..constants import INT64_SAFE
from ..runtime import gc_paused
from .profiles import Atom, flatten, preference
from .series_parallel import SPNode, SPResult, decompose, series_items

if TYPE_CHECKING:
    from ..graph import Graph
    from ..runtime import Deadline

__all__ = [
    "FixedAtoms",
    "MergeSchedule",
    "NodeBuffers",
    "fixed_atoms",
    "node_buffers",
    "release_steps",
    "sp_merge_order",
]

REACH_BUDGET_PER_NODE = 20
REACH_BUDGET = 1_000_000
"""Visits allowed to :func:`release_steps` (per node, and in total on top)."""


@dataclass(frozen=True)
class FixedAtoms:
    """The atoms of a graph whose buffers all have fixed releases.

    ``hill[v]`` and ``net[v]`` are Python ints (sizes may exceed int64).
    ``start`` is the level before the first step not counting unread graph
    inputs; ``initial`` counts them too (the memory before the first step).
    """

    hill: list[int]
    net: list[int]
    start: int
    initial: int


@dataclass
class MergeSchedule:
    """Result of :func:`sp_merge_order`: an optimal order and its peak.

    ``parallel`` counts the parallel compositions merged and ``atoms`` the
    atoms of the final canonical chain.
    """

    order: np.ndarray
    peak: int
    parallel: int = 0
    atoms: int = 0
    stats: dict = field(default_factory=dict)


class _Unknown(Exception):
    """The reachability budget ran out."""


def _reaches_all(
    pred: tuple[list[int], list[int]],
    target: int,
    sources: list[int],
    pos: list[int],
    budget: list[int],
) -> bool:
    """Whether every node of ``sources`` has a path to ``target``.

    A reverse search from ``target`` that never goes below the earliest
    source in topological position, stopping once all are found; each
    visit spends one unit of ``budget[0]`` (``_Unknown`` when it is gone).
    """
    need = set(sources)
    need.discard(target)
    if not need:
        return True
    low = min(pos[s] for s in need)
    pp, pi = pred
    seen = {target}
    stack = [target]
    while stack:
        v = stack.pop()
        budget[0] -= 1
        if budget[0] < 0:
            raise _Unknown
        for u in pi[pp[v] : pp[v + 1]]:
            if u in seen or pos[u] < low:
                continue
            seen.add(u)
            need.discard(u)
            if not need:
                return True
            stack.append(u)
    return False


def release_steps(graph: Graph) -> np.ndarray | None:
    """The node after whose step each buffer is freed, when it is fixed.

    One entry per buffer of ``graph.memory_buffers()``: the consumer that
    every other consumer reaches, or -1 for a buffer with no consumer.
    ``None`` when some buffer has consumers none of which is reached by
    all the others (its release depends on the order), or when deciding it
    would visit more than ``REACH_BUDGET_PER_NODE * n + REACH_BUDGET``
    nodes (then the graph is treated as having order-dependent releases,
    which is safe: the other solvers handle every graph).
    """
    mb = graph.memory_buffers()
    counts = np.diff(mb.cons_ptr)
    release = np.full(len(mb), -1, dtype=np.int64)
    one = np.flatnonzero(counts == 1)
    release[one] = mb.cons_idx[mb.cons_ptr[one]]
    many = np.flatnonzero(counts >= 2).tolist()
    if many:
        last = _release_of(graph, many)
        if last is None:
            return None
        release[many] = [last[b] for b in many]
    return release


def fixed_atoms(graph: Graph) -> FixedAtoms | None:
    """Every node's atom, or ``None`` when some release depends on the order."""
    release = release_steps(graph)
    if release is None:
        return None
    mb = graph.memory_buffers()
    n = graph.n
    counts = np.diff(mb.cons_ptr)
    kept = (counts > 0) | mb.output
    freed_at = np.where(mb.output, -1, release)
    has_prod = mb.producer >= 0
    if mb.total <= INT64_SAFE:
        size = mb.size
        hill = np.zeros(n, dtype=np.int64)
        np.add.at(hill, mb.producer[has_prod], size[has_prod])
        net = np.zeros(n, dtype=np.int64)
        sel = has_prod & kept
        np.add.at(net, mb.producer[sel], size[sel])
        sel = freed_at >= 0
        np.subtract.at(net, freed_at[sel], size[sel])
        inputs = ~has_prod
        start = int(size[inputs & kept].sum())
        initial = int(size[inputs].sum())
        return FixedAtoms(hill.tolist(), net.tolist(), start, initial)
    hill_l, net_l = [0] * n, [0] * n
    start = initial = 0
    for b, s in enumerate(mb.size.tolist()):
        p = int(mb.producer[b])
        if p >= 0:
            hill_l[p] += s
            if kept[b]:
                net_l[p] += s
        else:
            initial += s
            if kept[b]:
                start += s
        if freed_at[b] >= 0:
            net_l[int(freed_at[b])] -= s
    return FixedAtoms(hill_l, net_l, start, initial)


class _Chain:
    """A canonical chain under construction (Lemma 2 on every push)."""

    __slots__ = ("atoms", "keys")

    def __init__(self) -> None:
        self.atoms: list[Atom] = []
        self.keys: list[tuple[int, int]] = []

    def push(self, atom: Atom) -> bool:
        """Append with merges; True when nothing merged."""
        atoms, keys = self.atoms, self.keys
        key = preference(atom)
        merged = False
        while atoms and key < keys[-1]:
            atom = atoms.pop().then(atom)
            keys.pop()
            key = preference(atom)
            merged = True
        atoms.append(atom)
        keys.append(key)
        return not merged

    def extend(self, chain: list[Atom]) -> None:
        """Append a canonical chain: only its first atoms can merge."""
        for i, atom in enumerate(chain):
            if self.push(atom):
                rest = chain[i + 1 :]
                self.atoms.extend(rest)
                self.keys.extend(preference(a) for a in rest)
                return


@dataclass(frozen=True)
class NodeBuffers:
    """A graph's buffers as the dominant-schedule solver takes them.

    ``size[v]``: the bytes of v's *node buffers* (read by exactly v's
    successors, not outputs: released by the last of them, the node
    model's buffer, forks included); ``hill[v]``: everything v allocates;
    ``fixed[v]``: the change in memory after v from buffers with a fixed
    release (kept ones v produces, minus those whose fixed release is v);
    ``start`` and ``initial`` as in :class:`FixedAtoms`. Python ints.
    ``readers[v]``, for some nodes: v's node buffers are read by these of
    its successors only (in parallel: the release is the last of them);
    other nodes' node buffers are read by all their successors.
    """

    size: list[int]
    hill: list[int]
    fixed: list[int]
    start: int
    initial: int
    readers: dict[int, frozenset[int]] = field(default_factory=dict)
    #: graph inputs read in parallel by sources of a graph with several:
    #: the node buffer of the virtual source (node n), ``readers[n]``
    source_size: int = 0


def node_buffers(graph: Graph) -> NodeBuffers | None:
    """Split the buffers into node buffers and fixed releases, or ``None``.

    A buffer is a node buffer when its consumers are exactly its producer's
    successors (and it is not an output); otherwise its release must be
    fixed (:func:`release_steps`), or be an output (never released) or
    have no consumer (live during its producer's step only), or it is read
    by some of its producer's successors only, among them parallel ones: a
    node buffer with ``readers``. A graph input read in parallel by sources
    of a graph with several is the node buffer of the virtual source that
    precedes them (``source_size``). ``None`` when a node has node buffers
    with different readers (two releases), or a graph input is read in
    parallel by other nodes.
    """
    mb = graph.memory_buffers()
    n = graph.n
    size, hill, fixed = [0] * n, [0] * n, [0] * n
    start = initial = 0
    pending = []
    sizes = mb.size.tolist()
    producers = mb.producer.tolist()
    outputs = mb.output.tolist()
    counts = np.diff(mb.cons_ptr)
    is_node = _read_by_successors(graph, mb, counts).tolist()
    counts = counts.tolist()
    full = [False] * n  # v has a node buffer read by all its successors
    for b in range(len(mb)):
        s = sizes[b]
        p = producers[b]
        if p >= 0:
            hill[p] += s
        else:
            initial += s
        if outputs[b] or not counts[b]:
            if outputs[b]:
                if p >= 0:
                    fixed[p] += s
                else:
                    start += s
            continue
        if is_node[b]:
            size[p] += s
            full[p] = True
            continue
        pending.append(b)
        if p >= 0:
            fixed[p] += s
        else:
            start += s
    readers: dict[int, frozenset[int]] = {}
    source_size = 0
    sources = None
    if pending:
        release = _release_of(graph, pending, every=False)
        assert release is not None
        for b in pending:
            s, p = sizes[b], producers[b]
            if b in release:
                fixed[int(release[b])] -= s
                continue
            # read by some successors, in parallel: a node buffer that
            # the last of them releases (a fork at p over those readers)
            cons = mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]]
            mine = frozenset(cons.tolist())
            if p < 0:
                # an input read by sources: the virtual source's buffer
                # (it is live from the start: counted in ``start``)
                if sources is None:
                    sources = np.flatnonzero(graph.indegree == 0).tolist()
                if len(sources) < 2 or not mine <= set(sources):
                    return None
                p = n
            elif full[p]:
                return None  # a node buffer read by all successors too
            else:
                fixed[p] -= s
                size[p] += s
            if readers.setdefault(p, mine) != mine:
                return None  # two releases at one node
            if p == n:
                source_size += s
    return NodeBuffers(size, hill, fixed, start, initial, readers, source_size)


def _read_by_successors(graph: Graph, mb, counts: np.ndarray) -> np.ndarray:
    """Per buffer: produced, and its consumers are exactly its producer's
    successors (as many, each a successor; a buffer's consumers are
    distinct)."""
    n = graph.n
    p = mb.producer
    out = (p >= 0) & (counts > 0)
    out[out] = counts[out] == graph.outdegree[p[out]]
    if not out.any():
        return out
    # every consumer of such a buffer is one of its producer's successors
    # (looked up in the sorted edges: np.unique and np.isin, hashed in
    # numpy 2.4, took 2.4 s at 10^6 nodes, a sort 0.07 s)
    owner = np.repeat(np.arange(len(p)), counts)
    keys = p[owner] * n + mb.cons_idx
    edges = np.sort(graph.edge_src * n + graph.edge_dst)
    at = np.minimum(np.searchsorted(edges, keys), len(edges) - 1)
    found = edges[at] == keys if len(edges) else np.zeros(len(keys), bool)
    missing = np.bincount(owner[~found], minlength=len(p))
    return out & (missing == 0)


def _release_of(
    graph: Graph, buffers: list[int], every: bool = True
) -> dict | None:
    """Fixed releases of some buffers (see :func:`release_steps`): the
    consumer every other consumer reaches, per buffer, or ``None`` when
    one has none. ``every=False``: those that have one (a buffer left
    undecided by the search budget has none)."""
    mb = graph.memory_buffers()
    order = graph.topological_order()
    pos_arr = np.empty(graph.n, dtype=np.int64)
    pos_arr[order] = np.arange(graph.n, dtype=np.int64)
    pos = pos_arr.tolist()
    pred = (graph.pred_ptr.tolist(), graph.pred_idx.tolist())
    budget = [REACH_BUDGET_PER_NODE * graph.n + REACH_BUDGET]
    out = {}
    try:
        for b in buffers:
            cons = mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]]
            last = int(cons[np.argmax(pos_arr[cons])])
            if _reaches_all(pred, last, cons.tolist(), pos, budget):
                out[b] = last
            elif every:
                return None
    except _Unknown:
        return None if every else out
    return out


def _merge_sorted(chains: list[list[Atom]]) -> list[Atom]:
    live = [c for c in chains if c]
    if len(live) <= 1:
        return live[0] if live else []
    return sorted(itertools.chain.from_iterable(live), key=preference)


@gc_paused()  # millions of atoms, no cycles
def sp_merge_order(
    graph: Graph,
    atoms: FixedAtoms | None = None,
    deadline: Deadline | None = None,
    decomposition: SPResult | None = None,
) -> MergeSchedule:
    """A minimum-peak order of a series-parallel graph with fixed releases.

    Raises ``ValueError`` when the graph is not series-parallel or some
    buffer's release depends on the order (see :func:`fixed_atoms`), and
    :class:`~pebble_sched.runtime.TimeUp` when ``deadline`` expires.
    ``atoms`` and ``decomposition`` may be passed when already computed.

    Examples
    --------
    An edge-weighted diamond: ``s`` writes 4 bytes for ``a`` and 1 for
    ``b``; running ``a`` first frees the large edge early.

    >>> g = Graph(list("sabt"), [("s", "a"), ("s", "b"), ("a", "t"), ("b", "t")],
    ...           edge_size=[4, 1, 1, 3])
    >>> r = sp_merge_order(g)
    >>> [g.ids[v] for v in r.order], r.peak
    (['s', 'a', 'b', 't'], 6)
    """
    if atoms is None:
        atoms = fixed_atoms(graph)
        if atoms is None:
            raise ValueError("a buffer's release depends on the order")
    r = decompose(graph) if decomposition is None else decomposition
    if not r.is_sp:
        raise ValueError("not series-parallel")
    n = graph.n
    if n == 0:
        return MergeSchedule(np.zeros(0, dtype=np.int64), atoms.initial)
    hill, net = atoms.hill, atoms.net

    def atom(v: int) -> Atom:
        return Atom(hill[v], net[v], v)

    chains: dict[int, list[Atom]] = {}
    parallel = 0
    work = 0
    stack: list[tuple[SPNode, list | None]] = [(r.tree, None)]
    while stack:
        node, items = stack.pop()
        if node.kind == "edge":
            continue
        if items is None:  # first visit: children before the node
            items = (
                series_items(node)
                if node.kind == "series"
                else list(node.children)
            )
            stack.append((node, items))
            for x in items:
                if isinstance(x, SPNode) and x.kind != "edge":
                    stack.append((x, None))
            continue
        work += len(items)
        if deadline is not None and work > 4096:
            work = 0
            deadline.check()
        if node.kind == "series":
            chain = _Chain()
            for x in items:
                if isinstance(x, SPNode):
                    if x.kind != "edge":
                        chain.extend(chains.pop(id(x)))
                else:
                    chain.push(atom(x))
            chains[id(node)] = chain.atoms
        else:
            parallel += 1
            chains[id(node)] = _merge_sorted(
                [chains.pop(id(x)) for x in items if x.kind != "edge"]
            )
    top = _Chain()
    S, T = r.source, r.sink
    if S >= 0:
        top.push(atom(S))
    if r.tree.kind != "edge":
        top.extend(chains.pop(id(r.tree)))
    if T >= 0:
        top.push(atom(T))
    final = top.atoms
    order = np.array(flatten(tuple(a.items for a in final)), dtype=np.int64)
    level, peak = atoms.start, atoms.initial
    for a in final:
        peak = max(peak, level + a.hill)
        level += a.net
    return MergeSchedule(order, peak, parallel, len(final))
