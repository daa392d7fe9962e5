"""Lower bounds on the minimum peak memory of a graph (full buffer model).

Every bound here is a *proof*: no schedule of the graph has a smaller peak.
Each one rests on the same observation: when node v runs, the executed set
contains every ancestor of v and no descendant of v, so some buffers are
live during v's step in *every* schedule.

- :func:`local_bound` (O(n + m)): during v, its inputs and everything it
  produces (outputs, workspace, edge buffers) are live; so are graph inputs
  and graph outputs that no schedule can have freed or not yet produced;
  before the first step, all graph inputs; at the last step, all outputs.
- :func:`reachability_bound` (O(n * (m + B) / 64) with packed bit
  matrices, and a sum over n * B cells in blocks): a
  buffer b is live during v in every schedule when its producer is v, an
  ancestor of v or absent, and it is an output, or v or a descendant of v
  reads it. This dominates :func:`local_bound`.

- :func:`cut_bound` (one max-flow per node): the cheapest executed set
  when v runs, over all ideals with v's ancestors and without its
  descendants. This dominates :func:`reachability_bound`.

:func:`lower_bound` returns the best bound that fits the graph's size.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np

from .constants import INT64_SAFE
from .runtime import TimeUp

if TYPE_CHECKING:
    from collections.abc import Callable

    from .graph import Graph

__all__ = [
    "cut_bound",
    "forced_live",
    "local_bound",
    "lower_bound",
    "pair_bound",
    "reachability_bound",
]

#: The reachability bound is computed up to this many nodes (its two packed
#: bit matrices take n**2 / 4 bytes: 400 MB at 40,000 nodes, where it took
#: 1.9 s on a layered graph) ...
REACHABILITY_MAX_NODES = 40_000
#: ... when n * (number of buffers) is at most this (its matrix product).
REACHABILITY_LIMIT = 4_000_000_000
#: The reachability bound sums its sizes over blocks of buffers of about
#: this many (buffer, node) cells (32 MB as float64).
REACH_BLOCK_CELLS = 4_000_000

#: The cut bound (one max-flow per node) is computed up to this many nodes;
#: above, for the CUT_WORK // n nodes with the most forced-live memory (a
#: max-flow costs about n: 60 ms at 40,000 nodes). The first 50 nodes of
#: train-L5000 (15,001 nodes) lifted its bound from 248,342 to 248,360, as
#: all of them do (37 s); 50 of layered-n20000 from 589 to 598 (0.5 s), as
#: 600 do; 20 of a 40,000-node layered graph from 650 to 701 (1.4 s).
CUT_LIMIT = 3000
CUT_WORK = 1_000_000

#: :func:`pair_bound` branches on the pairs of this many nodes (half of
#: highest cut value, half with the most forced-live memory): at most 11,175
#: pairs; then on the triples of one of the TRIPLE_PAIRS best pairs and one
#: more of those nodes
PAIR_TOP = 150
TRIPLE_PAIRS = 30
#: ... and then on the sets of four made of one of the QUAD_TRIPLES best
#: triples and one more node (wide-n100: 695 -> 708)
QUAD_TRIPLES = 30


def _start_end_bounds(graph: Graph) -> int:
    """Memory before the first step (inputs) and at the last step (outputs)."""
    mb = graph.memory_buffers()
    inputs = sum(int(s) for s in mb.size[mb.producer < 0])
    outputs = sum(int(s) for s in mb.size[mb.output])
    return max(inputs, outputs if graph.n else 0)


def local_bound(graph: Graph) -> int:
    """A lower bound from each node's own inputs and outputs.

    During the step of v, every buffer v reads or produces is live; graph
    inputs that are outputs are live throughout. Also the memory before the
    first step (all graph inputs) and at the last step (all outputs).

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("b", "c")], size=[1, 2, 3])
    >>> local_bound(g)
    5
    """
    mb = graph.memory_buffers()
    n = graph.n
    best = _start_end_bounds(graph)
    if n == 0:
        return best
    always = sum(int(s) for s in mb.size[(mb.producer < 0) & mb.output])
    if mb.total > INT64_SAFE:
        sizes = [int(s) for s in mb.size]
        per = [0] * n
        for v in range(n):
            bufs = set(
                mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]].tolist()
            )
            bufs |= set(
                mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]].tolist()
            )
            per[v] = sum(
                sizes[b]
                for b in bufs
                if not (mb.producer[b] < 0 and mb.output[b])
            )
        return max(best, max(per) + always)
    read_owner = np.repeat(np.arange(n), np.diff(mb.read_ptr))
    per = np.zeros(n, dtype=np.int64)
    np.add.at(
        per,
        read_owner,
        mb.size[mb.read_idx]
        * ~((mb.producer[mb.read_idx] < 0) & mb.output[mb.read_idx]),
    )
    prod_owner = np.repeat(np.arange(n), np.diff(mb.prod_ptr))
    np.add.at(per, prod_owner, mb.size[mb.prod_idx])
    return max(best, int(per.max()) + always)


def _reach_matrix(graph: Graph) -> np.ndarray:
    """Packed bit matrix D with D[v] = descendants of v (v excluded)."""
    star = _closure_rows(
        graph.n, graph.succ_ptr, graph.succ_idx, graph.topological_order()
    )
    idx = np.arange(graph.n)
    star[idx, idx // 64] ^= _bit(idx)
    return star


def _bit(idx: np.ndarray) -> np.ndarray:
    return np.left_shift(np.uint64(1), (idx % 64).astype(np.uint64))


def _closure_rows(
    n: int, ptr: np.ndarray, idx: np.ndarray, order: np.ndarray, deadline=None
) -> np.ndarray:
    """Packed rows R[v] = v and every node reachable from v through
    ``ptr``/``idx`` adjacency (successors: descendants; predecessors:
    ancestors); ``order`` lists every node after those it reaches."""
    words = (n + 63) // 64
    rows = np.zeros((n, words), dtype=np.uint64)
    all_ = np.arange(n)
    rows[all_, all_ // 64] = _bit(all_)
    for k, v in enumerate(order[::-1].tolist()):
        nxt = idx[ptr[v] : ptr[v + 1]]
        if len(nxt) == 1:
            rows[v] |= rows[nxt[0]]
        elif len(nxt):
            rows[v] |= np.bitwise_or.reduce(rows[nxt], axis=0)
        if deadline is not None and k % 1024 == 0:
            deadline.check()
    return rows


def _unpack(rows: np.ndarray, n: int) -> np.ndarray:
    """Boolean matrix from packed uint64 rows (little-endian bit order)."""
    as_bytes = rows.view(np.uint8).reshape(rows.shape[0], -1)
    bits = np.unpackbits(as_bytes, axis=1, bitorder="little")
    return bits[:, :n].astype(bool)


def reachability_bound(
    graph: Graph, deadline: Any = None, closures: tuple | None = None
) -> int:
    """A lower bound from the buffers forced live during each node's step.

    Buffer b is live during v in every schedule when (1) its producer is v,
    an ancestor of v, or absent (a graph input), and (2) b is an output, v
    reads it, or a descendant of v reads it, or v produced it. The bound is
    the maximum over v of the total size of those buffers, and the memory
    before the first and at the last step.

    Per buffer, the nodes where it is forced live are (descendants of its
    producer, itself included) and (ancestors of its readers, themselves
    included, and its producer), as packed bit rows; the sizes are summed
    per node over blocks of buffers (a matrix product, in floating point
    while the sizes total below 2**53, where it is exact). Memory: two
    packed n x n bit matrices (about ``n**2 / 4`` bytes). ``deadline``: its
    ``check`` is called between blocks (``TimeUp``). ``closures``:
    :func:`_closures` of the graph, if known.

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> reachability_bound(g)
    5
    """
    n = graph.n
    best = max(_start_end_bounds(graph), local_bound(graph))
    if n == 0 or len(graph.memory_buffers()) == 0:
        return best
    return max(best, int(forced_live(graph, deadline, closures).max()))


def _closures(graph: Graph, deadline: Any = None) -> tuple:
    """Packed rows of (descendants, ancestors) of every node, itself
    included."""
    n, topo = graph.n, graph.topological_order()
    desc = _closure_rows(n, graph.succ_ptr, graph.succ_idx, topo, deadline)
    anc = _closure_rows(
        n, graph.pred_ptr, graph.pred_idx, topo[::-1].copy(), deadline
    )
    return desc, anc


def forced_live(
    graph: Graph, deadline: Any = None, closures: tuple | None = None
) -> np.ndarray:
    """Per node v, the total size of the buffers live during v's step in
    every schedule (:func:`reachability_bound`'s terms; int64, or Python
    integers in an object array when the sizes total 2**63 or more).
    ``closures``: :func:`_closures` of the graph, if known."""
    n = graph.n
    mb = graph.memory_buffers()
    desc, anc = closures or _closures(graph, deadline)
    words = desc.shape[1]
    nb = len(mb)
    ncons = np.diff(mb.cons_ptr)
    exact_float = mb.total < 2**53
    if exact_float:
        sizes, per = mb.size.astype(np.float64), np.zeros(n, dtype=np.float64)
    elif mb.total <= INT64_SAFE:
        sizes, per = mb.size.astype(np.int64), np.zeros(n, dtype=np.int64)
    else:
        sizes = np.array([int(x) for x in mb.size], dtype=object)
        per = np.zeros(n, dtype=object)
    ones = np.full(words, np.uint64(2**64 - 1), dtype=np.uint64)
    step = max(1, REACH_BLOCK_CELLS // max(n, 1))  # buffers per block
    for lo in range(0, nb, step):
        if deadline is not None:
            deadline.check()
        hi = min(nb, lo + step)
        prod = mb.producer[lo:hi]
        has = prod >= 0
        # (1) made by v, an ancestor of v, or no one
        mask = np.broadcast_to(ones, (hi - lo, words)).copy()
        mask[has] = desc[prod[has]]
        # (2) an output, read by v or a descendant of v, or made by v
        reach = np.zeros((hi - lo, words), dtype=np.uint64)
        read = np.flatnonzero(ncons[lo:hi] > 0)
        if len(read):
            c0, c1 = mb.cons_ptr[lo], mb.cons_ptr[hi]
            starts = mb.cons_ptr[lo:hi][read] - c0
            reach[read] = np.bitwise_or.reduceat(
                anc[mb.cons_idx[c0:c1]], starts, axis=0
            )
        p = np.flatnonzero(has)
        reach[p, prod[p] // 64] |= _bit(prod[p])
        reach[mb.output[lo:hi]] = ones
        bits = _unpack(mask & reach, n)
        if exact_float:
            per += sizes[lo:hi] @ bits.astype(np.float64)
        else:
            per += sizes[lo:hi] @ bits.astype(per.dtype)
    return per.astype(np.int64) if exact_float else per


def lower_bound(graph: Graph, deadline: Any = None) -> int:
    """The best lower bound affordable at this graph's size.

    :func:`cut_bound` up to ``CUT_LIMIT`` nodes (it stops at ``deadline``
    with the best bound so far), else, up to ``REACHABILITY_MAX_NODES``
    nodes when n times the number of buffers is at most
    ``REACHABILITY_LIMIT``, :func:`reachability_bound` raised by the cut
    bound of the ``CUT_WORK // n`` nodes with the most forced-live memory
    (:func:`local_bound` if ``deadline`` comes first), else
    :func:`local_bound`.
    """
    nb = max(1, len(graph.memory_buffers()))
    cuts = graph.memory_buffers().total <= INT64_SAFE // 4
    if graph.n <= CUT_LIMIT and cuts:
        closures = _closures(graph)
        return max(
            cut_bound(graph, deadline, closures=closures),
            reachability_bound(graph, closures=closures),
        )
    if (
        graph.n <= REACHABILITY_MAX_NODES
        and graph.n * nb <= REACHABILITY_LIMIT
    ):
        best = max(_start_end_bounds(graph), local_bound(graph))
        try:
            closures = _closures(graph, deadline)
            per = forced_live(graph, deadline, closures)
        except TimeUp:
            return best
        best = max(best, int(per.max()))
        if cuts:
            top = np.argsort(-per, kind="stable")[
                : max(1, CUT_WORK // graph.n)
            ]
            best = max(best, cut_bound(graph, deadline, top, closures))
        return best
    return local_bound(graph)


class _CutNetwork:
    """The minimum-weight closure network of :func:`cut_bound`, built once:
    :meth:`least` gives the least resident memory of an ideal holding some
    nodes and none of others, :meth:`at` the least memory during a node's
    step. ``closures``: :func:`_closures` of the graph."""

    def __init__(self, graph: Graph, closures: tuple) -> None:
        from ortools.graph.python import max_flow

        n = graph.n
        self.n = n
        self.desc, self.ancs = closures
        mb = graph.memory_buffers()
        self.inf = inf = mb.total + 1
        sizes = mb.size.astype(np.int64)
        ncons = np.diff(mb.cons_ptr)
        has_prod = mb.producer >= 0
        lasting = (ncons > 0) | mb.output
        cost = np.zeros(n, dtype=np.int64)
        np.add.at(
            cost, mb.producer[has_prod & lasting], sizes[has_prod & lasting]
        )
        self.alloc = np.zeros(n, dtype=np.int64)
        np.add.at(self.alloc, mb.producer[has_prod], sizes[has_prod])
        ys = np.flatnonzero((ncons > 0) & ~mb.output)  # buffers freeable
        self.c0 = int(sizes[~has_prod & lasting].sum())
        S, T = 0, 1
        x = 2 + np.arange(n)
        y = 2 + n + np.arange(len(ys))
        tails, heads, caps = [], [], []
        # closure: choosing w needs its predecessors u
        tails.append(x[graph.edge_dst])
        heads.append(x[graph.edge_src])
        caps.append(np.full(graph.m, inf))
        # a freed buffer needs all its readers
        owner = np.repeat(np.arange(len(ys)), ncons[ys])
        readers = (
            np.concatenate(
                [mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]] for b in ys]
            )
            if len(ys)
            else np.zeros(0, dtype=np.int64)
        )
        tails.append(y[owner])
        heads.append(x[readers])
        caps.append(np.full(len(owner), inf))
        tails.append(x)
        heads.append(np.full(n, T))
        caps.append(cost)
        tails.append(np.full(len(ys), S))
        heads.append(y)
        caps.append(sizes[ys])
        # per-node fixing arcs, capacity 0 until used
        tails.append(np.full(n, S))
        heads.append(x)
        caps.append(np.zeros(n, dtype=np.int64))
        tails.append(x)
        heads.append(np.full(n, T))
        caps.append(np.zeros(n, dtype=np.int64))
        self.smf = smf = max_flow.SimpleMaxFlow()
        arcs = smf.add_arcs_with_capacity(
            np.concatenate(tails).astype(np.int64),
            np.concatenate(heads).astype(np.int64),
            np.concatenate(caps).astype(np.int64),
        )
        self.fix_in = arcs[-2 * n : -n]
        self.fix_out = arcs[-n:]
        self.benefit = int(sizes[ys].sum())

    def least(self, inside: np.ndarray, outside: np.ndarray) -> int | None:
        """The least resident memory of an ideal that holds the nodes
        ``inside`` (with their ancestors) and none of ``outside`` (nor
        their descendants); None if the solver fails."""
        smf, inf = self.smf, self.inf
        smf.set_arcs_capacity(self.fix_in[inside], np.full(len(inside), inf))
        smf.set_arcs_capacity(
            self.fix_out[outside], np.full(len(outside), inf)
        )
        ok = smf.solve(0, 1) == smf.OPTIMAL
        got = self.c0 + int(smf.optimal_flow()) - self.benefit if ok else None
        zero = np.zeros(max(len(inside), len(outside)), dtype=np.int64)
        smf.set_arcs_capacity(self.fix_in[inside], zero[: len(inside)])
        smf.set_arcs_capacity(self.fix_out[outside], zero[: len(outside)])
        return got

    def at(self, x: int, before: tuple = (), after: tuple = ()) -> int | None:
        """The least memory during x's step when the nodes ``before`` have
        run (with their ancestors) and those ``after`` have not (nor their
        descendants); None if the solver fails."""
        res = self.least(
            _members(self.ancs[[x, *before]], self.n, drop=x),
            _members(self.desc[[x, *after]], self.n),
        )
        return None if res is None else res + int(self.alloc[x])


def _members(rows: np.ndarray, n: int, drop: int = -1) -> np.ndarray:
    """Node indices of the OR of packed ``rows`` (2-d), without ``drop``."""
    got = np.flatnonzero(
        _unpack(np.bitwise_or.reduce(rows, axis=0)[None], n)[0]
    )
    return got[got != drop] if drop >= 0 else got


def cut_bound(
    graph: Graph,
    deadline: Any = None,
    nodes: Any = None,
    closures: tuple | None = None,
) -> int:
    """The per-node bound made tight: a minimum cut for every node.

    When v runs, the executed set S is an ideal containing v's ancestors
    and none of its descendants, and the memory is ``res(S) + alloc(v)``.
    Minimising ``res(S)`` over those ideals is a minimum-weight closure
    problem (choosing a producer costs its lasting buffers; a buffer whose
    readers are all chosen gives its size back; an ideal is closed under
    predecessors), solved as a maximum flow (OR-Tools ``SimpleMaxFlow``).
    The bound is the largest ``min res(S) + alloc(v)`` over v; it
    dominates :func:`reachability_bound`. O(n) max-flows on a network of
    n + B nodes; stops early (returning the best bound so far) when
    ``deadline`` expires. ``nodes``: the nodes to try, in that order
    (any subset gives a bound; default: every node, by decreasing
    :func:`forced_live` memory, the likeliest to bind first).
    ``closures``: :func:`_closures` of the graph, if known.

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> cut_bound(g)
    5
    """
    n = graph.n
    mb = graph.memory_buffers()
    best = max(_start_end_bounds(graph), local_bound(graph))
    if n == 0 or mb.total > INT64_SAFE // 4:
        return best
    closures = closures or _closures(graph)
    net = _CutNetwork(graph, closures)
    if nodes is None:
        nodes = np.argsort(
            -forced_live(graph, closures=closures), kind="stable"
        )
    for v in np.asarray(nodes, dtype=np.int64).tolist():
        if deadline is not None and deadline.expired():
            break
        got = net.at(v)
        if got is not None:
            best = max(best, got)
    return best


def pair_bound(
    graph: Graph,
    deadline: Any = None,
    top: int = PAIR_TOP,
    start: int = 0,
    triples: int = TRIPLE_PAIRS,
    quads: int = QUAD_TRIPLES,
    stop: int | None = None,
    on_bound: Callable[[int], None] | None = None,
) -> int:
    """The cut bound branched on the order of two nodes, then of three and
    four.

    Nodes that no path orders run in some order in every schedule. For a
    set X of them and one order of X, when a node x of X runs the executed
    set holds the nodes of X before x and their ancestors, and none of
    those after x nor their descendants: x's least memory is again a
    minimum cut, under more constraints. Every schedule pays, for the
    order it gives X, the largest of these over X; so the smallest of that
    over X's orders is a bound, for every X. This bound is the largest
    over the pairs of ``top`` nodes (half of highest cut value, half with
    the most :func:`forced_live` memory), then over the triples made of
    one of the ``triples`` best pairs and one more of those nodes, then
    over the sets of four made of one of the ``quads`` best triples and
    one more, with ``start`` and the cut bound. ``stop``: a known peak
    (an order's); the bound returns once it reaches it (nothing higher
    can be proven). ``on_bound`` hears of every rise of the bound as it
    happens (so that an interrupted run keeps what was proven). A
    max-flow per node of X and order (an order stops once it cannot lower
    X's smallest so far, X once that is no more than the best bound so
    far; each cut is computed once); stops at ``deadline`` with the best
    so far. On wide-n400 the
    pairs raised the cut bound from 1,072 to 1,097 (its best order:
    1,098); on randwire-forward the pairs from 884,736 to 917,504 and the
    triples to 983,040, its optimum; on wide-n100 642 -> 671 -> 695, and
    the sets of four to 708.
    Tested against brute force; on random graphs of up to 8 nodes the
    sets of up to four nodes gave the optimum in 1,488 of 1,500.

    Examples
    --------
    A diamond: whichever of b and c runs second, a's buffer and the
    other's are still live (3 + 2 + 2); the cut bound sees only one at a
    time.

    >>> g = Graph(
    ...     list("abcd"),
    ...     [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")],
    ...     size=[3, 2, 2, 2],
    ... )
    >>> cut_bound(g), pair_bound(g)
    (6, 7)
    """
    n = graph.n
    mb = graph.memory_buffers()
    best = max(start, _start_end_bounds(graph), local_bound(graph))
    if n < 2 or mb.total > INT64_SAFE // 4:
        return best
    closures = _closures(graph)
    desc = closures[0]
    net = _CutNetwork(graph, closures)
    memo: dict[tuple, int] = {}

    def rise(got: int) -> None:
        nonlocal best
        if got > best:
            best = got
            if on_bound is not None:
                on_bound(best)

    def done() -> bool:
        """The deadline, or the bound at the known peak."""
        return (stop is not None and best >= stop) or (
            deadline is not None and deadline.expired()
        )

    def step(x: int, before: tuple, after: tuple) -> int:
        """x's least memory with ``before`` run and ``after`` not."""
        key = (x, before, after)
        got = memo.get(key)
        if got is None:
            got = net.at(x, before, after)
            # (a failed solve proves nothing: the node's own memory)
            memo[key] = got = int(net.alloc[x]) if got is None else got
        return got

    def below(a: int, b: int) -> bool:
        """Whether b is a descendant of a."""
        return bool((desc[a, b // 64] >> np.uint64(b % 64)) & np.uint64(1))

    def value(nodes: tuple, floor: int) -> int:
        """The smallest over the orders of ``nodes`` of their largest
        step; once an order is at most ``floor``, that order's value."""
        low = None
        for perm in itertools.permutations(nodes):
            if any(
                below(perm[j], perm[i])
                for i in range(len(perm))
                for j in range(i + 1, len(perm))
            ):
                continue  # against a path of the graph
            v = 0
            for i, x in enumerate(perm):
                before = tuple(sorted(perm[:i]))
                v = max(v, step(x, before, tuple(sorted(perm[i + 1 :]))))
                if low is not None and v >= low:
                    break  # (this order cannot lower the smallest)
            low = v if low is None else min(low, v)
            if low <= floor:
                break  # (it cannot beat the best so far)
        return floor if low is None else low

    live = forced_live(graph, closures=closures)
    by_live = np.argsort(-live, kind="stable")
    single = np.full(n, -1, dtype=np.int64)
    for v in by_live.tolist():
        if done():
            return best
        single[v] = step(v, (), ())
        rise(int(single[v]))
    # the nodes of highest cut value and those of most forced-live memory
    # (a node that sees little on its own can force much on another: on
    # wide-n400 the best pair joins nodes ranked 1st and 152nd by cut
    # value, 2nd and 3rd by forced-live memory)
    half = max(1, top // 2)
    cand = list(
        dict.fromkeys(
            np.argsort(-single, kind="stable")[:half].tolist()
            + by_live[:half].tolist()
        )
    )
    pairs = []
    for i, a in enumerate(cand):
        for b in cand[i + 1 :]:
            if done():
                return best
            if below(a, b) or below(b, a):
                continue  # comparable: one order only
            got = value((a, b), -1)  # (exact, to rank the pairs)
            pairs.append((got, a, b))
            rise(got)
    pairs.sort(key=lambda p: -p[0])
    found: dict[tuple, int] = {}
    for _got, a, b in pairs[:triples]:
        for c in cand:
            if done():
                return best
            key = tuple(sorted((a, b, c)))
            if c != a and c != b and key not in found:
                # (exact where sets of four follow, to rank the triples:
                # on wide-n100 708 instead of 700, in 1.6 s instead of 1.3)
                found[key] = got = value(key, -1 if quads else best)
                rise(got)
    ranked = sorted(found.items(), key=lambda t: -t[1])[:quads]
    seen: set[tuple] = set()
    for three, _got in ranked:
        for d in cand:
            if done():
                return best
            key = tuple(sorted((*three, d)))
            if d not in three and key not in seen:
                seen.add(key)
                rise(value(key, best))
    return best
