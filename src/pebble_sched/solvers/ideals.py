"""Exact minimum peak by a budgeted search over the lattice of ideals.

Model: the full buffer model of docs/model.md. After a set S of nodes has run
(S is an *ideal*: closed under predecessors), the resident memory

    res(S) = sum of s(b) over buffers b produced in S (or graph inputs)
             that are outputs or still have a consumer outside S

depends on S alone, and running v next needs ``res(S) + alloc(v)``, where
alloc(v) is everything v produces (inputs it frees are still in res(S)).
A schedule is a path from the empty ideal to V adding one node at a time,
its peak the maximum cost along the path (and the inputs before the first
step). The minimum peak is a bottleneck shortest path in this lattice
(Serenity, Ahn et al., MLSys 2020, search the same lattice).

Search: every path crosses exactly one ideal of each size, so a dynamic
program over *layers* (ideals of size k) is exact. Each layer is a numpy
array of bitsets (``ceil(n / 64)`` words per ideal); successors are generated
node by node with vectorised predecessor tests and deduplicated by sorting,
keeping the cheapest parent. Only transitions of cost <= a *budget* B are
kept: reaching V proves the exact optimum (every cheaper path was kept);
not reaching it proves that the optimum exceeds B. :func:`ideal_search`
starts with B = (best known peak) - 1 and, when a budget's search outgrows
the state cap, bisects between the proven lower bound and B, so a stopped
search still returns its best order and a proven lower bound. After two
capped budgets in a row it tries the lower bound itself: the ideals within
a budget are among those within any larger one (the pruning rules keep
the same successors of a state in both), so if that search is capped too,
every budget left would be, and the search gives up at once instead of
bisecting through them.

Pruning rules, each preserving at least one optimal path (and each checked
against brute force on random graphs in the tests):

1. **Free moves.** If some node v can run from S with ``res(S) + alloc(v)
   <= val(S)`` (no higher than the bottleneck already paid to reach S) and
   ``res(S + v) <= res(S)``, only the successor S + v is kept. Proof: take
   any completion from S and move v to its front. For every step u that v
   jumps over, with T (a superset of S) run before u, the memory during u
   becomes ``res(T + v) + alloc(u)``; and ``res(T + v) - res(T) = last(v) -
   freed(T, v) <= last(v) - freed(S, v) = res(S + v) - res(S) <= 0``,
   because a buffer v frees after S it also frees after T (more of its
   readers have run). v's own step costs at most val(S); later steps see
   the same sets as before. So the completion is no worse.
2. **Twins.** Nodes with the same predecessors, successors, sizes and edge
   sizes (and no explicit buffers) are interchangeable: swapping them maps
   schedules to schedules of equal profile. We only keep schedules that run
   them in index order (an extra precedence between consecutive twins).
3. **Chain atoms.** A *fixed* node is comparable (ancestor or descendant)
   with every other reader of every buffer it reads: what it frees, hence
   its atom (hill ``alloc(v)``, net ``last(v) - freed(v)``), is the same
   in every schedule, and moving it past nodes it is not comparable with
   changes no one else's atom either. On a path of fixed nodes where each
   has the next as its only immediate successor (in the transitive
   reduction: every other successor comes after the next) and the next
   has it as its only immediate predecessor, Lemma 2 of :mod:`pebble_sched.solvers.profiles` (Sidney's
   merge) groups the path into canonical atoms: when A precedes B and B is
   strictly preferred, in any schedule ``A W B`` either W goes before A
   (if W is preferred to A) or B before W (then B is preferred to W), by
   Lemma 1 on the independent blocks, without raising the peak; repeated
   on composites (each move carries whole groups), some optimal schedule
   runs every group contiguously. So a state that has run part of a group
   only continues the group. Free moves are then taken only from states
   with no group open and only for nodes outside groups: moving such a node
   to the front of a completion keeps its groups contiguous, so the two
   rules (and twins, which are never in a group) keep an optimal path
   together.

Exact; O(number of ideals within the budget * n) vectorised work; memory
O(states kept). Throughput is reported by ``scripts/bench_exact.py``.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..bounds import lower_bound as static_lower_bound
from ..constants import INT64_SAFE
from ..memory import evaluate_indices
from ..runtime import Callbacks, Deadline, TimeUp

if TYPE_CHECKING:
    from ..graph import Graph

__all__ = ["IdealResult", "beam_order", "ideal_search", "search_budget"]

#: Whether :func:`ideal_search` applies rule 3 (chain atoms) by default.
CHAIN_ATOMS = True

#: Whether :func:`beam_order` builds its layers compiled when it can.
BEAM_COMPILED = True

#: ... on graphs of at least this many nodes (below, the numpy layers
#: take less than loading numba's programs).
BEAM_COMPILED_MIN_NODES = 200

#: Default cap on the ideals of one layer (and on the rows a layer may
#: generate, ``12 * max_states / (words + 3)``): the memory that matters,
#: each row carrying its bitset.
DEFAULT_MAX_STATES = 6_000_000

#: Layers of at least this many ideals look for free moves (rule 1) before
#: they build their successors; smaller ones build them all and prune after.
FREE_PASS_MIN = 20_000

#: Layers of at least this many ideals are hashed one word at a time
#: (fewer numpy operations per word), smaller ones all words at once.
HASH_ROWWISE_MIN = 256

#: The lattice's construction checks the deadline every this many nodes.
CHECK_EVERY = 1024

#: A search keeps every layer's parent pointers and nodes (12 bytes per
#: ideal) to rebuild its order; it may hold this many times ``max_states``
#: ideals in all (48 million by default, about 576 MB).
HELD_FACTOR = 8


@dataclass
class IdealResult:
    """Outcome of a budgeted search.

    ``status`` is ``"found"`` (``order`` has the exact optimum ``value``),
    ``"infeasible"`` (no schedule has peak <= budget), or ``"capped"`` (the
    state cap or the deadline stopped it: nothing proven).
    """

    status: str
    value: int = 0
    order: np.ndarray | None = None
    states: int = 0
    stats: dict[str, Any] = field(default_factory=dict)


class _Lattice:
    """Per-node and per-buffer data of the search, as numpy arrays."""

    def __init__(
        self,
        graph: Graph,
        twins: bool = True,
        groups: bool = True,
        deadline: Deadline | None = None,
    ) -> None:
        # (its Python loops take about 40 us per node: 0.8 s at 20,000
        # nodes, with the deadline checked every CHECK_EVERY nodes)
        check = (deadline or Deadline()).check
        n = graph.n
        mb = graph.memory_buffers()
        self.n = n
        self.words = max(1, (n + 63) // 64)
        size = mb.size.astype(np.int64)
        has_prod = mb.producer >= 0
        ncons = np.diff(mb.cons_ptr)
        lasting = has_prod & ((ncons > 0) | mb.output)
        self.alloc = np.zeros(n, dtype=np.int64)
        np.add.at(self.alloc, mb.producer[has_prod], size[has_prod])
        self.last = np.zeros(n, dtype=np.int64)
        np.add.at(self.last, mb.producer[lasting], size[lasting])
        # resident memory of the empty ideal: inputs that are read or kept
        inputs = ~has_prod
        self.res0 = int(size[inputs & ((ncons > 0) | mb.output)].sum())
        self.initial = int(size[inputs].sum())
        self.has_inputs = bool(inputs.any())
        # predecessor masks (with twin chains), as (word, bits) pairs
        preds: list[set[int]] = [
            set(
                graph.pred_idx[
                    graph.pred_ptr[v] : graph.pred_ptr[v + 1]
                ].tolist()
            )
            for v in range(n)
        ]
        self.twin_edges = 0
        pairs = _twin_pairs(graph) if twins else []
        for a, b in pairs:
            preds[b].add(a)
            self.twin_edges += 1
        check()
        self.pred_words = [self._words_of(p) for p in preds]
        # the nodes that may become ready once a node has run (its
        # successors, twin chains included), and those ready at the start
        self.succ: list[list[int]] = [[] for _ in range(n)]
        for v, p in enumerate(preds):
            for u in p:
                self.succ[u].append(v)
        self.sources = [v for v in range(n) if not preds[v]]
        # buffers freed when v runs last among their readers: (words, size)
        self.frees: list[list[tuple[list[tuple[int, int]], int]]] = [
            [] for _ in range(n)
        ]
        for b in np.flatnonzero(
            ~mb.output & (ncons > 0) & (size > 0)
        ).tolist():
            cons = mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]].tolist()
            words = self._words_of(cons)
            for c in cons:
                self.frees[c].append((words, int(size[b])))
        # rule 3: the node each node must be followed by (-1: none), with a
        # last slot for the empty path
        self.forced_next = np.full(n + 1, -1, dtype=np.int64)
        self.grouped = np.zeros(n, dtype=bool)
        if groups and n > 1:
            check()
            self._chain_groups(graph, mb, pairs, check)

    def _chain_groups(self, graph, mb, pairs, check) -> None:
        """Rule 3: the canonical groups of paths of fixed nodes."""
        from .profiles import Atom, canonical, flatten

        n = self.n
        succ_ptr, succ_idx = graph.succ_ptr, graph.succ_idx
        twin_nodes = set()
        for a, b in pairs:
            twin_nodes.update((a, b))
        # descendants as Python integers (bit sets), reverse topological
        topo = graph.topological_order().tolist()
        desc = [0] * n
        for k, v in enumerate(reversed(topo)):
            if not k % CHECK_EVERY:
                check()
            d = 0
            for s in succ_idx[succ_ptr[v] : succ_ptr[v + 1]].tolist():
                d |= desc[s] | (1 << s)
            desc[v] = d
        # links of the transitive reduction (added precedences make some of
        # the graph's own edges redundant): s is v's only immediate
        # successor and v the only immediate predecessor of s
        immediate = [0] * n
        for v in range(n):
            if not v % CHECK_EVERY:
                check()
            succ = succ_idx[succ_ptr[v] : succ_ptr[v + 1]].tolist()
            if len(succ) <= 1:
                immediate[v] = 1 << succ[0] if succ else 0
                continue
            below = 0
            for x in succ:
                below |= desc[x]
            for x in succ:
                if not below >> x & 1:
                    immediate[v] |= 1 << x
        into = [0] * n  # immediate predecessors per node
        for v in range(n):
            bits = immediate[v]
            while bits:
                low = bits & -bits
                into[low.bit_length() - 1] += 1
                bits ^= low
        link = np.full(n, -1, dtype=np.int64)
        for v in range(n):
            bits = immediate[v]
            if bits and not bits & (bits - 1):
                x = bits.bit_length() - 1
                if (
                    into[x] == 1
                    and v not in twin_nodes
                    and x not in twin_nodes
                ):
                    link[v] = x
        linked = np.zeros(n, dtype=bool)
        linked[link[link >= 0]] = True
        if not (link >= 0).any():
            return
        candidates = np.flatnonzero((link >= 0) | linked).tolist()
        fixed = np.zeros(n, dtype=bool)
        freed = np.zeros(n, dtype=np.int64)
        size = mb.size
        for k, v in enumerate(candidates):
            if not k % CHECK_EVERY:
                check()
            ok = True
            total = 0
            for b in mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]].tolist():
                others = [
                    c
                    for c in mb.cons_idx[
                        mb.cons_ptr[b] : mb.cons_ptr[b + 1]
                    ].tolist()
                    if c != v
                ]
                if any(
                    not (desc[v] >> c & 1) and not (desc[c] >> v & 1)
                    for c in others
                ):
                    ok = False
                    break
                if not mb.output[b] and all(desc[c] >> v & 1 for c in others):
                    total += int(size[b])  # v is always the last reader
            fixed[v] = ok
            freed[v] = total
        back = np.full(n, -1, dtype=np.int64)
        back[link[link >= 0]] = np.flatnonzero(link >= 0)
        for v in topo:
            if not fixed[v] or (back[v] >= 0 and fixed[back[v]]):
                continue  # not the start of a path of fixed nodes
            path = [v]
            while fixed[path[-1]] and link[path[-1]] >= 0:
                nxt = int(link[path[-1]])
                if not fixed[nxt]:
                    break
                path.append(nxt)
            if len(path) < 2:
                continue
            atoms = [
                Atom(
                    int(self.alloc[x]),
                    int(self.last[x]) - int(freed[x]),
                    x,
                )
                for x in path
            ]
            for atom in canonical(atoms):
                members = flatten(atom.items)
                for a, b in itertools.pairwise(members):
                    self.forced_next[a] = b
                if len(members) > 1:
                    self.grouped[members] = True

    def _words_of(self, nodes: Any) -> list[tuple[int, int]]:
        acc: dict[int, int] = {}
        for u in nodes:
            acc[u // 64] = acc.get(u // 64, 0) | (1 << (u % 64))
        return [(w, bits) for w, bits in sorted(acc.items())]


def _twin_pairs(graph: Graph) -> list[tuple[int, int]]:
    """Consecutive pairs of interchangeable nodes (see rule 2)."""
    in_buffers = set(graph.buf_producer[graph.buf_producer >= 0].tolist())
    in_buffers.update(graph.buf_cons_idx.tolist())
    groups: dict[tuple, list[int]] = {}
    es, ed, ez = graph.edge_src, graph.edge_dst, graph.edge_size
    out_edges: dict[int, list[tuple[int, int]]] = {}
    in_edges: dict[int, list[tuple[int, int]]] = {}
    for a, b, s in zip(es.tolist(), ed.tolist(), ez.tolist(), strict=True):
        out_edges.setdefault(a, []).append((b, s))
        in_edges.setdefault(b, []).append((a, s))
    for v in range(graph.n):
        if v in in_buffers:
            continue
        key = (
            tuple(sorted(in_edges.get(v, ()))),
            tuple(sorted(out_edges.get(v, ()))),
            int(graph.node_size[v]),
            int(graph.workspace[v]),
        )
        groups.setdefault(key, []).append(v)
    pairs = []
    for members in groups.values():
        pairs.extend(itertools.pairwise(members))
    return pairs


def _all_set(
    S: np.ndarray,
    words: list[tuple[int, int]],
    rows: np.ndarray | None = None,
    plus: int = -1,
) -> np.ndarray:
    """Rows of the column-stored bitsets ``S`` that contain every bit of
    ``words``: all rows, or those of ``rows`` with node ``plus`` added (a
    successor's test without building its bitset)."""
    ok = None
    for w, bits in words:
        b = np.uint64(bits)
        col = S[w] if rows is None else S[w][rows]
        if plus >= 0 and w == plus // 64:
            col = col | np.uint64(1 << (plus % 64))
        hit = (col & b) == b
        ok = hit if ok is None else ok & hit
    return ok


def _ready(lat: _Lattice, S: np.ndarray, v: int) -> np.ndarray:
    """Rows of the layer ``S`` from which node v can run: v not yet in the
    ideal, every predecessor of v in it."""
    ok = (S[v // 64] & np.uint64(1 << (v % 64))) == np.uint64(0)
    for pw, pb in lat.pred_words[v]:
        b = np.uint64(pb)
        ok &= (S[pw] & b) == b
    return ok


def _free_nodes(
    lat: _Lattice,
    S: np.ndarray,
    val: np.ndarray,
    res: np.ndarray,
    must: np.ndarray | None,
    deadline: Deadline,
    cand: list[int],
) -> np.ndarray:
    """Per state of a layer, the first node it may run as a free move
    (rule 1), or -1.

    A free move costs no more than the state's value and leaves no more
    resident (``res + alloc(v) <= val``, ``res(S + v) <= res(S)``); with
    chain atoms (``must`` given) only from states with no group open and
    for nodes outside groups. Only the words a test needs are read, so no
    successor bitset is built. ``cand``: the nodes ready in some state
    (in increasing order; the others are never ready).
    """
    first = np.full(len(val), -1, dtype=np.int64)
    open_ = np.ones(len(val), dtype=bool) if must is None else must < 0
    for v in cand:
        if must is not None and lat.grouped[v]:
            continue
        deadline.check()
        idx = np.flatnonzero(open_ & _ready(lat, S, v))
        if len(idx) == 0:
            continue
        ri = res[idx]
        fits = ri + lat.alloc[v] <= val[idx]
        if not fits.any():
            continue
        idx, ri = idx[fits], ri[fits]
        newres = ri + lat.last[v]
        for words, sz in lat.frees[v]:
            newres -= sz * _all_set(S, words, idx, v)
        idx = idx[newres <= ri]
        first[idx] = v
        open_[idx] = False
    return first


def _column_hash(S: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each column of ``S`` (one ideal per column).

    Many columns: the rows are folded in one at a time into a running
    hash (exclusive or, then a product by an odd constant and a shift:
    four operations per row, the product carrying every earlier row's
    bits upwards), then the result goes once through SplitMix64's
    finaliser. Few columns (where numpy's calls, not their work, take the
    time): all rows at once, each word offset by a constant of its row
    and put through the finaliser (every output bit depends on every
    input bit; a plain product would let the high bits of different rows
    cancel), then combined by exclusive or. Either way equal columns get
    equal hashes; `_dedupe` does not rely on unequal ones differing.
    """
    if S.shape[1] >= HASH_ROWWISE_MIN:
        h = np.zeros(S.shape[1], dtype=np.uint64)
        for col in S:
            h ^= col
            h *= np.uint64(0x9E3779B97F4A7C15)
            h ^= h >> np.uint64(29)
        return _mix(h)
    k = np.arange(len(S), dtype=np.uint64)[:, None]
    x = _mix(S + (k + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15))
    return np.bitwise_xor.reduce(x, axis=0)


def _mix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser, elementwise (in place; returns ``x``)."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _dedupe(S: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Indices keeping one row per distinct bitset: a cheapest one.

    ``S`` holds one ideal per column (``S[w]``: the w-th 64-bit word of
    every ideal). Sorts by the bitset only (one quicksort for a single
    word: four times faster than a lexicographic sort that includes the
    cost; several words are hashed into one key first), then picks in each
    group the first row at the group's minimum cost.
    """
    m = S.shape[1]
    if m <= 1:
        return np.arange(m)
    # several words: sort by a 64-bit hash of them, so that equal ideals
    # become adjacent. Two different ideals of equal hash could interleave
    # (A, B, A) and leave a duplicate behind: where equal hashes meet
    # different bitsets, sort by the bitsets themselves
    h = S[0] if len(S) == 1 else _column_hash(S)
    order = np.argsort(h)
    first = np.ones(m, dtype=bool)
    first[1:] = _adjacent_differ(S, order)
    hs = h[order]
    if len(S) > 1 and np.any(first[1:] & (hs[1:] == hs[:-1])):
        order = np.lexsort(S)
        first[1:] = _adjacent_differ(S, order)
    starts = np.flatnonzero(first)
    if len(starts) == m:
        return order
    cs = cost[order]
    group = np.cumsum(first) - 1
    gmin = np.minimum.reduceat(cs, starts)
    pos = np.flatnonzero(cs == gmin[group])
    g = group[pos]
    keep = np.ones(len(pos), dtype=bool)
    keep[1:] = g[1:] != g[:-1]
    return order[pos[keep]]


def _adjacent_differ(S: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Whether each column of ``S`` taken in ``order`` differs from the one
    before it (``m - 1`` booleans)."""
    m = S.shape[1]
    if m >= HASH_ROWWISE_MIN:
        # a row at a time: a sorted copy of all rows would double the
        # layer's memory
        diff = np.zeros(m - 1, dtype=bool)
        for row in S:
            sc = row[order]
            diff |= sc[1:] != sc[:-1]
        return diff
    sc = np.take(S, order, axis=1)
    return (sc[:, 1:] != sc[:, :-1]).any(axis=0)


class MergeRate:
    """Measured seconds per row of a layer's merge (concatenate, prune, sort).

    The merge cannot be interrupted, so the search starts one only when it
    fits in the time left at the rate measured on this machine, now: every
    merge updates the estimate (upwards at once, downwards slowly), so a
    loaded machine is seen within a layer or two (#12). The cost is taken
    as proportional to ``rows * log2(rows)`` (the sort dominates).
    """

    __slots__ = ("per_row_log",)

    #: Safety factor on the estimate, for the noise between two layers.
    MARGIN = 2.0

    def __init__(self, words: int) -> None:
        # a starting guess from an idle machine; replaced after one merge
        self.per_row_log = (100 + 10 * words) * 1e-9 / 20

    def estimate(self, rows: int) -> float:
        """Seconds a merge of ``rows`` rows is expected to take."""
        return self.MARGIN * self.per_row_log * rows * math.log2(rows + 2)

    def record(self, rows: int, seconds: float) -> None:
        """Update the rate with a merge of ``rows`` rows (of >= 1,000 rows)."""
        if rows < 1000:
            return  # too small to time reliably
        measured = seconds / (rows * math.log2(rows + 2))
        self.per_row_log = max(measured, 0.8 * self.per_row_log)


def search_budget(
    lat: _Lattice,
    budget: int,
    deadline: Deadline,
    max_states: int = DEFAULT_MAX_STATES,
    free_moves: bool = True,
    rate: MergeRate | None = None,
    beam: int = 0,
) -> IdealResult:
    """Layered bottleneck DP keeping transitions of cost <= ``budget``.

    ``"capped"`` when a layer would generate more than ``12 * max_states /
    (words + 3)`` rows or keep more than ``max_states`` ideals, or when the
    layers kept so far hold more than ``HELD_FACTOR * max_states``.

    Ideals are stored column-wise in a (words, ideals) array: ``S[w]``,
    the w-th 64-bit word of every ideal in the layer, is a contiguous row
    (so the vectorised tests run at full speed), and a layer's rows are
    taken, merged and sorted for all words at once. ``rate`` (shared across the budgets of one search)
    keeps every uninterruptible merge within the deadline. ``beam`` > 0
    keeps only that many ideals per layer, those of least value, then
    least resident memory (:func:`beam_order`: a heuristic, nothing is
    proven then).
    """
    rate = rate or MergeRate(lat.words)
    n, W = lat.n, lat.words
    start_val = lat.initial if lat.has_inputs else 0
    if start_val > budget:
        return IdealResult("infeasible", states=1)
    if n == 0:
        return IdealResult("found", start_val, np.zeros(0, dtype=np.int64), 1)
    S = np.zeros((W, 1), dtype=np.uint64)
    val = np.array([start_val], dtype=np.int64)
    res = np.array([lat.res0], dtype=np.int64)
    # rule 3: the node each state must run next (-1: any)
    grouping = bool((lat.forced_next >= 0).any())
    must = np.full(1, -1, dtype=np.int64)
    parents: list[np.ndarray] = []
    nodes: list[np.ndarray] = []
    total = 1
    held = 1
    bits = [np.uint64(1 << (v % 64)) for v in range(n)]
    # the nodes that can be ready in some state of the layer: those ready
    # in a state of the layer before, and the successors of the nodes it
    # added (a node ready in S + a is ready in S or a successor of a); the
    # others are never tested (a layer tested every node: O(n) numpy calls
    # per layer, most of a narrow search's time)
    cand = lat.sources
    for _layer in range(n):
        deadline.check()
        # rule 1 first on large layers: a state with a free move gets that
        # successor only, so its other successors are never built (what a
        # layer holds is then what is left after rule 1, on randwire-forward
        # a third of the rows); small layers prune after they are built,
        # which saves the second pass over the nodes
        early = free_moves and len(val) >= FREE_PASS_MIN
        free_node = (
            _free_nodes(
                lat, S, val, res, must if grouping else None, deadline, cand
            )
            if early
            else None
        )
        c_parent, c_node, c_S, c_val, c_res, c_free = [], [], [], [], [], []
        generated = 0
        alive: list[int] = []
        for v in cand:
            deadline.check()
            if generated > 12 * max_states // (W + 3):
                return IdealResult("capped", states=total)
            if generated and rate.estimate(generated) > deadline.remaining():
                raise TimeUp  # this layer's merge could not finish in time
            w = v // 64
            ok = _ready(lat, S, v)
            if not ok.any():
                continue
            alive.append(v)
            if grouping:
                ok &= (must < 0) | (must == v)
            if free_node is not None:
                ok &= (free_node < 0) | (free_node == v)
            idx = np.flatnonzero(ok)
            if len(idx) == 0:
                continue
            vi = val[idx]
            ri = res[idx]
            cost = np.maximum(vi, ri + lat.alloc[v])
            keep = cost <= budget
            if not keep.all():
                idx, cost, vi, ri = idx[keep], cost[keep], vi[keep], ri[keep]
                if len(idx) == 0:
                    continue
            newS = np.take(S, idx, axis=1)
            newS[w] |= bits[v]
            newres = ri + lat.last[v]
            for words, sz in lat.frees[v]:
                newres -= sz * _all_set(newS, words)
            generated += len(idx)
            c_parent.append(idx)
            c_node.append(np.full(len(idx), v, dtype=np.int32))
            c_S.append(newS)
            c_val.append(cost)
            c_res.append(newres)
            if free_moves and not early:
                if grouping:
                    if lat.grouped[v]:
                        c_free.append(np.zeros(len(idx), dtype=bool))
                    else:
                        c_free.append(
                            (cost <= vi) & (newres <= ri) & (must[idx] < 0)
                        )
                else:
                    c_free.append((cost <= vi) & (newres <= ri))
        if not c_parent:
            return IdealResult("infeasible", states=total)
        # stop now rather than overrun: the merge below cannot be interrupted
        if rate.estimate(generated) > deadline.remaining():
            raise TimeUp
        merge_start = time.perf_counter()
        parent = np.concatenate(c_parent)
        node = np.concatenate(c_node)
        newS = c_S[0] if len(c_S) == 1 else np.concatenate(c_S, axis=1)
        cost = np.concatenate(c_val)
        newres = np.concatenate(c_res)
        if c_free:
            free = np.concatenate(c_free)
            if free.any():
                fr = np.flatnonzero(free)
                _, first = np.unique(parent[fr], return_index=True)
                chosen = fr[first]
                has_free = np.zeros(len(val), dtype=bool)
                has_free[parent[chosen]] = True
                keep = ~has_free[parent]
                keep[chosen] = True
                parent, node = parent[keep], node[keep]
                newS = np.compress(keep, newS, axis=1)
                cost, newres = cost[keep], newres[keep]
        sel = _dedupe(newS, cost)
        if beam and len(sel) > beam:
            best = np.lexsort((newres[sel], cost[sel]))[:beam]
            sel = sel[best]
        S = np.take(newS, sel, axis=1)
        val, res = cost[sel], newres[sel]
        if grouping:
            must = lat.forced_next[node[sel]]
        parents.append(parent[sel].astype(np.int64))
        nodes.append(node[sel])
        nxt = set(alive)
        for a in np.unique(node[sel]).tolist():
            nxt.update(lat.succ[a])
        cand = sorted(nxt)
        rate.record(generated, time.perf_counter() - merge_start)
        total += len(sel)
        held += len(sel)
        if len(sel) > max_states or held > HELD_FACTOR * max_states:
            return IdealResult("capped", states=total)
    # the last layer holds only V
    seq = []
    i = 0
    for layer in range(n - 1, -1, -1):
        seq.append(int(nodes[layer][i]))
        i = int(parents[layer][i])
    return IdealResult(
        "found", int(val[0]), np.array(seq[::-1], dtype=np.int64), total
    )


def beam_order(
    graph: Graph,
    width: int,
    deadline: Deadline | None = None,
    compiled: bool | None = None,
) -> np.ndarray:
    """A heuristic order from a beam search over the ideals.

    The layered search of :func:`search_budget` without a budget, keeping
    per layer the ``width`` ideals reached with the least peak so far, then
    the least resident memory (the pruning rules keep a good completion of
    every state kept, as in the exact search). Its orders are often far
    from those of the list schedulers and of the local search, so they
    make good starts for the local search: on a 300-node graph that is
    SP but for 8 edges, widths 300-3,000 gave 806-836 after 10 s of local
    search where the heuristic alone reached 876
    (``results/bench_beam.md``).
    O(width * n) ideals, each tested against the nodes ready in some
    ideal of its layer (a wide fan makes that most nodes); raises
    ``TimeUp`` at the deadline. With numba, on graphs of at least
    ``BEAM_COMPILED_MIN_NODES`` nodes (or ``compiled=True``), each layer
    is built by one compiled call (:mod:`.beam_arrays`), which breaks
    ties between equal ideals in its own order.

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> beam_order(g, 2).tolist()
    [0, 1, 2]
    """
    if width < 1:
        raise ValueError("The beam width must be at least 1.")
    if graph.memory_buffers().total > INT64_SAFE:
        raise ValueError("The beam search needs sizes totalling below 2**63.")
    deadline = deadline or Deadline()
    lat = _Lattice(graph, deadline=deadline)
    if compiled is None:
        compiled = BEAM_COMPILED and graph.n >= BEAM_COMPILED_MIN_NODES
    if compiled:
        from . import move_arrays

        program = move_arrays.load_beam(deadline)
        if program is not None:
            return _beam_on_arrays(lat, width, deadline, program)
    r = search_budget(
        lat,
        INT64_SAFE,
        deadline,
        max_states=INT64_SAFE // 64,
        beam=width,
    )
    return r.order


def _beam_on_arrays(
    lat: _Lattice, width: int, deadline: Deadline, program: Any
) -> np.ndarray:
    """:func:`beam_order`'s layers built by ``program``
    (:func:`.beam_arrays.beam_layer`, compiled or not)."""
    from .move_arrays import call_program

    n, W = lat.n, lat.words
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    pred_ptr = np.zeros(n + 1, dtype=np.int64)
    pred_ptr[1:] = np.cumsum([len(words) for words in lat.pred_words])
    pred_w = np.array(
        [w for words in lat.pred_words for w, _ in words], dtype=np.int64
    ).reshape(-1)
    pred_b = np.array(
        [b for words in lat.pred_words for _, b in words], dtype=np.uint64
    ).reshape(-1)
    frees = [f for per_node in lat.frees for f in per_node]
    free_ptr = np.zeros(n + 1, dtype=np.int64)
    free_ptr[1:] = np.cumsum([len(f) for f in lat.frees])
    free_wptr = np.zeros(len(frees) + 1, dtype=np.int64)
    free_wptr[1:] = np.cumsum([len(words) for words, _ in frees])
    free_w = np.array(
        [w for words, _ in frees for w, _ in words], dtype=np.int64
    ).reshape(-1)
    free_b = np.array(
        [b for words, _ in frees for _, b in words], dtype=np.uint64
    ).reshape(-1)
    free_size = np.array([sz for _, sz in frees], dtype=np.int64).reshape(-1)
    succ_ptr = np.zeros(n + 1, dtype=np.int64)
    succ_ptr[1:] = np.cumsum([len(x) for x in lat.succ])
    succ_idx = np.array(
        [x for xs in lat.succ for x in xs], dtype=np.int64
    ).reshape(-1)
    grouping = bool((lat.forced_next >= 0).any())
    zob = np.random.default_rng(0x5EED).integers(
        0, 2**63, size=n, dtype=np.int64
    ).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    S = np.zeros((1, W), dtype=np.uint64)
    h = np.zeros(1, dtype=np.uint64)
    val = np.array([lat.initial if lat.has_inputs else 0], dtype=np.int64)
    res = np.array([lat.res0], dtype=np.int64)
    must = np.full(1, -1, dtype=np.int64)
    cand = np.array(sorted(lat.sources), dtype=np.int64)
    parents, nodes = [], []
    for _layer in range(n):
        deadline.check()
        S, h, val, res, must, parent, node, ready = call_program(
            program,
            S,
            h,
            val,
            res,
            must,
            cand,
            pred_ptr,
            pred_w,
            pred_b,
            lat.alloc,
            lat.last,
            free_ptr,
            free_wptr,
            free_w,
            free_b,
            free_size,
            lat.grouped,
            lat.forced_next,
            grouping,
            zob,
            width,
        )
        parents.append(parent)
        nodes.append(node)
        added = np.unique(node)
        nxt = [cand[ready]]
        nxt += [
            succ_idx[succ_ptr[a] : succ_ptr[a + 1]] for a in added.tolist()
        ]
        cand = np.unique(np.concatenate(nxt))
    seq = np.empty(n, dtype=np.int64)
    i = 0
    for layer in range(n - 1, -1, -1):
        seq[layer] = nodes[layer][i]
        i = int(parents[layer][i])
    return seq


def ideal_search(
    graph: Graph,
    deadline: Deadline | None = None,
    *,
    upper: tuple[np.ndarray, int] | None = None,
    lower: int | None = None,
    max_states: int = DEFAULT_MAX_STATES,
    callbacks: Callbacks | None = None,
    free_moves: bool = True,
    twins: bool = True,
    groups: bool | None = None,
) -> tuple[np.ndarray, int, int, dict[str, Any]]:
    """Minimum peak by the budgeted ideal search.

    Parameters
    ----------
    graph
        The graph (total of sizes below 2**63).
    deadline
        Stops the search; the best order and proven bound so far are
        returned.
    upper
        A known order (node indices) and its peak; default: the input order.
    lower
        A proven lower bound; default :func:`pebble_sched.bounds.lower_bound`.
    max_states
        Cap on the ideals of one layer of a budgeted search (see
        :func:`search_budget`; all layers together may hold
        ``HELD_FACTOR`` times as many).

    Returns
    -------
    tuple
        ``(order, peak, lower_bound, stats)``; the order is optimal when
        ``peak == lower_bound``.

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> order, peak, lb, stats = ideal_search(g)
    >>> peak, lb
    (5, 5)
    """
    deadline = deadline or Deadline()
    if graph.memory_buffers().total > INT64_SAFE:
        raise ValueError("The ideal search needs sizes totalling below 2**63.")
    if upper is None:
        order0 = graph.topological_order()
        upper = (order0, evaluate_indices(graph, order0, check=False).peak)
    best_order, hi = np.asarray(upper[0], dtype=np.int64), int(upper[1])
    lo = static_lower_bound(graph) if lower is None else int(lower)
    if groups is None:
        groups = CHAIN_ATOMS
    stats: dict[str, Any] = {"searches": [], "states": 0}
    # budgets to try: first "better than the best known", then bisect;
    # after two capped budgets in a row, the lowest: a budget's ideals are
    # among those of every larger budget, so if the lowest is capped too,
    # every budget left would be, and the search stops
    probe_hi = hi - 1
    capped_run = 0
    try:
        # (the lattice of a large graph takes most of a second to build:
        # it stops at the deadline too)
        lat = _Lattice(graph, twins=twins, groups=groups, deadline=deadline)
        stats["twin_edges"] = lat.twin_edges
        stats["grouped_nodes"] = int(lat.grouped.sum())
        rate = MergeRate(lat.words)
        while lo < hi and lo <= probe_hi:
            if not stats["searches"]:
                budget = probe_hi
            elif capped_run >= 2:
                budget = lo
            else:
                budget = (lo + probe_hi) // 2
            r = search_budget(
                lat, budget, deadline, max_states, free_moves, rate
            )
            stats["states"] += r.states
            stats["searches"].append((budget, r.status, r.states))
            if r.status == "found":
                best_order, hi = r.order, r.value
                lo = hi  # the layered DP within the budget is exact
                if callbacks is not None:
                    callbacks.on_improvement(best_order, hi)
            elif r.status == "infeasible":
                lo = budget + 1
                capped_run = 0
                if callbacks is not None:
                    callbacks.on_bound(lo)
            elif budget == lo:
                stats["gave_up"] = budget  # every budget left is capped
                break
            else:
                probe_hi = budget - 1
                capped_run += 1
    except (TimeUp, KeyboardInterrupt) as exc:
        stats["interrupted"] = "time" if isinstance(exc, TimeUp) else "ctrl-c"
    return best_order, hi, min(lo, hi), stats


def supports(graph: Graph) -> bool:
    """The search needs sizes totalling below 2**63."""
    return graph.memory_buffers().total <= INT64_SAFE and math.isfinite(
        graph.n
    )
