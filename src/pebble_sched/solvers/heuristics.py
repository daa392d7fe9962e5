"""Fast orders for large graphs, and an anytime local search (not exact).

Full buffer model (docs/model.md). Three parts, combined by
:func:`heuristic_schedule`, the default for graphs the exact methods cannot
handle:

1. The baselines users already have: the input (trace) order and
   Inductor's LPMF, BFS and DFS (:mod:`pebble_sched.solvers.inductor`).
2. **Liu relaxation** (:func:`liu_relaxation_order`): a reference order
   decides, for each node u, which successor frees u's outputs (the last
   one to run); those choices form a spanning in-forest, whose optimal order
   Liu's hill-valley algorithm computes exactly (:mod:`pebble_sched.solvers.trees`).
   A Kahn pass that always runs the ready node earliest in that order turns
   it into a topological order of the DAG. Iterated from the best order, it
   is a fixed-point improvement step; O(n log n + m) per round on DNN-like
   graphs.
3. **Out-tree policy** (:func:`pebble_sched.solvers.trees.out_tree_order`), on
   out-forests only: per node, children first or depth first, bottom-up.
4. **Local search** (:func:`local_search`): moves that attack the peak
   step t (delay a producer of a buffer live across t past t, or pull the
   last reader of such a buffer before t, or move the node at t within its
   window), accepted when they lower (peak, number of steps at the peak);
   random perturbations when stuck (iterated local search), an exact
   reordering of a window of steps around the peak whose width grows
   while the search is stuck, and an exact re-interleaving of a few
   connected nodes around the peak into the order of all the others
   (:mod:`pebble_sched.solvers.interleave`), which can carry a branch far
   from where it ran. Each move is evaluated exactly in O(n + m).
   It runs until the deadline or a work budget, and never returns
   anything worse than its start.

Because every baseline is among the candidates, the result is never worse
than Inductor's choice on the same graph.
"""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from ..constants import INT64_SAFE
from ..memory import evaluate_indices, lifetimes
from ..runtime import Callbacks, Deadline, TimeUp
from .inductor import INDUCTOR_METHODS, input_order
from .interleave import MAX_SUBSET, GraphArrays, interleave
from .move_arrays import MAX_WINDOW, call_program, run_window
from .move_arrays import load as load_programs
from .move_arrays import ready as programs_ready
from .trees import (
    arrays_for,
    is_out_forest,
    liu_schedule,
    out_tree_order,
    tree_weights,
)

if TYPE_CHECKING:
    from ..graph import Graph

__all__ = [
    "HeuristicParams",
    "heuristic_schedule",
    "liu_relaxation_order",
    "local_search",
    "priority_order",
    "relaxation_forest",
]


@dataclass(frozen=True)
class HeuristicParams:
    """Parameters of :func:`heuristic_schedule`.

    Attributes
    ----------
    liu_rounds
        Rounds of the Liu relaxation from each start. Default 3.
    local_search
        Whether to run the local search. Default ``True``.
    work_budget
        Without a time limit, the local search stops after this many
        evaluated elements (about ``evaluations * (n + m)``). Default 3e7.
    candidates
        Moves tried per local-search iteration. Default 48.
    window
        Steps reordered exactly by a window move. Default 12.
    max_window
        While the search is stuck, each fruitless iteration widens the
        window by ``window`` steps, up to this width (and to the widest
        whose ideals fit ``max_states``); an improvement narrows it again.
        Default 48; ``window`` or less: no widening.
    max_states
        Ideals a window move may hold. Default 200,000.
    wide_share
        Under a deadline, the share of the time left that one widened
        window move may take. Default 0.1.
    interleave
        The largest node subset an interleave move re-interleaves exactly
        into the order of the other nodes (:mod:`~pebble_sched.solvers.interleave`):
        a random connected set of ``interleave // 2`` to ``interleave``
        nodes around one that holds memory at a peak step. Tried once the
        single-node moves and the window moves at every width have failed.
        Default 16; 0: no such moves.
    interleave_states
        States an interleave move may build. Default 100,000.
    sideways
        Interleave moves that change the order but not (peak, steps at
        the peak) the search may take in a row before it restarts from
        its best order. Default 50.
    patience
        Without a time limit, fruitless restarts before stopping. Default 100.
    use_all_time
        With a finite deadline, search until it (default); when ``False``,
        stop as without a deadline (work budget, patience) or at the
        deadline, whichever comes first.
    """

    liu_rounds: int = 3
    local_search: bool = True
    work_budget: float = 3e7
    candidates: int = 48
    window: int = 12
    max_window: int = 48
    max_states: int = 200_000
    wide_share: float = 0.1
    interleave: int = 16
    interleave_states: int = 100_000
    sideways: int = 50
    patience: int = 100
    use_all_time: bool = True

    def __post_init__(self) -> None:
        if self.liu_rounds < 0:
            raise ValueError("liu_rounds must be non-negative.")
        if self.work_budget <= 0:
            raise ValueError("work_budget must be positive.")
        if self.candidates <= 0:
            raise ValueError("candidates must be positive.")
        if not 0 <= self.interleave <= MAX_SUBSET:
            raise ValueError(f"interleave must be in 0..{MAX_SUBSET}.")


def priority_order(
    graph: Graph, priority: np.ndarray, deadline: Deadline | None = None
) -> np.ndarray:
    """The topological order that always runs the ready node of least priority.

    Ties are broken by node index. O((n + m) log n). ``deadline``: checked
    every few thousand nodes (``TimeUp``). Integer priorities of large
    graphs go to :func:`.liu_arrays.priority_order` (the same order,
    compiled) when numba is installed (:func:`.trees.arrays_for`).
    """
    n = graph.n
    compiled = arrays_for(n, deadline)
    if compiled is not None and priority.dtype.kind == "i":
        return compiled.priority_order(
            graph.succ_ptr,
            graph.succ_idx,
            graph.indegree,
            priority,
            deadline,
        )
    prio = priority.tolist()
    sp, si = graph.succ_ptr.tolist(), graph.succ_idx.tolist()
    indeg = np.diff(graph.pred_ptr).tolist()
    heap = [(prio[v], v) for v in range(n) if indeg[v] == 0]
    heapq.heapify(heap)
    order = []
    while heap:
        if deadline is not None and len(order) % 8192 == 0:
            deadline.check()
        _, v = heapq.heappop(heap)
        order.append(v)
        for k in range(sp[v], sp[v + 1]):
            w = si[k]
            indeg[w] -= 1
            if indeg[w] == 0:
                heapq.heappush(heap, (prio[w], w))
    return np.array(order, dtype=np.int64)


def relaxation_forest(graph: Graph, reference: np.ndarray) -> np.ndarray:
    """The Liu relaxation's in-forest: each node's parent is its successor
    that runs last in ``reference`` (node indices), -1 for sinks."""
    n = graph.n
    pos = np.empty(n, dtype=np.int64)
    pos[reference] = np.arange(n)
    parent = np.full(n, -1, dtype=np.int64)
    if graph.m:
        # for each source node, the successor with the largest position
        key = graph.edge_src * (n + 1) + pos[graph.edge_dst]
        last = np.argsort(key, kind="stable")
        src_sorted = graph.edge_src[last]
        is_last = np.ones(len(last), dtype=bool)
        is_last[:-1] = src_sorted[1:] != src_sorted[:-1]
        parent[src_sorted[is_last]] = graph.edge_dst[last[is_last]]
    return parent


def liu_relaxation_order(
    graph: Graph, reference: np.ndarray, deadline: Deadline | None = None
) -> np.ndarray:
    """One round of the Liu relaxation from ``reference`` (node indices).

    Each node's parent is its successor that runs last in ``reference``;
    Liu's algorithm orders the resulting in-forest optimally; the DAG order
    follows that forest order as closely as the edges allow. ``deadline``:
    checked during Liu's algorithm and the DAG order (``TimeUp``).
    """
    n = graph.n
    out, work = tree_weights(graph)
    tree_order = liu_schedule(
        relaxation_forest(graph, reference), out, work, deadline
    )
    rank = np.empty(n, dtype=np.int64)
    rank[np.array(tree_order, dtype=np.int64)] = np.arange(n)
    return priority_order(graph, rank, deadline)


class _Window(NamedTuple):
    """A window move's steps as its programs take them: the window's
    nodes, per step its predecessors in the window (a bit mask), what it
    allocates and keeps, the buffers it may free (readers in the window as
    a mask, size), and the memory resident before the window."""

    win: list[int]
    pred_mask: list[int]
    prod_all: list[int]
    lasting: list[int]
    frees: list[list[tuple[int, int]]]
    r0: int


class _Search:
    """State of the local search: the current order and its evaluation."""

    def __init__(self, graph: Graph, order: np.ndarray) -> None:
        self.graph = graph
        self.mb = graph.memory_buffers()
        self.states = 0  # (window_move's)
        self.too_wide = False
        # the exact moves' compiled programs (move_arrays), asked for once
        # the Python ones have taken COMPILED_AFTER_S
        self.programs: Any = None
        self.programs_asked = False
        self.python_dp_s = 0.0
        self._buffer_arrays: tuple | None = None
        self._csr: tuple | None = None
        self._arrays: GraphArrays | None = None  # (the interleave moves')
        self.set(np.array(order, dtype=np.int64))

    def set(self, order: np.ndarray) -> None:
        self.order = order
        self.pos = np.empty(len(order), dtype=np.int64)
        self.pos[order] = np.arange(len(order))
        self.profile = evaluate_indices(self.graph, order, check=False)
        self.obj = self.objective(self.profile)

    @staticmethod
    def objective(profile: Any) -> tuple[int, int]:
        mem = profile.memory
        if len(mem) == 0:
            return (profile.peak, 0)
        return (profile.peak, int((mem == profile.peak).sum()))

    def window(self, v: int) -> tuple[int, int]:
        """Positions v may move to: after its last predecessor, before its first successor."""
        g = self.graph
        preds = g.pred_idx[g.pred_ptr[v] : g.pred_ptr[v + 1]]
        succs = g.succ_idx[g.succ_ptr[v] : g.succ_ptr[v + 1]]
        lo = int(self.pos[preds].max()) + 1 if len(preds) else 0
        hi = (
            int(self.pos[succs].min()) - 1
            if len(succs)
            else len(self.order) - 1
        )
        return lo, hi

    def moved(self, v: int, target: int) -> np.ndarray:
        """The order with v moved to position ``target`` (final position)."""
        i = int(self.pos[v])
        order = self.order
        if target > i:
            return np.concatenate(
                (
                    order[:i],
                    order[i + 1 : target + 1],
                    [v],
                    order[target + 1 :],
                )
            )
        return np.concatenate(
            (order[:target], [v], order[target:i], order[i + 1 :])
        )

    def candidates(
        self, rng: np.random.Generator, limit: int
    ) -> list[tuple[int, int]]:
        """Moves (node, target position) that may lower the memory at a peak step."""
        peak_steps = np.flatnonzero(self.profile.memory == self.profile.peak)
        if len(peak_steps) == 0:
            return []
        t = int(peak_steps[rng.integers(len(peak_steps))])
        start, end = lifetimes(self.graph, self.pos)
        live = np.flatnonzero((start < t) & (end > t) & (start >= 0))
        moves: list[tuple[int, int]] = []
        mb = self.mb
        order = self.order
        v_t = int(order[t])
        lo, hi = self.window(v_t)
        moves += [(v_t, lo), (v_t, hi)]
        for b in live.tolist():
            p = int(mb.producer[b])
            lo, hi = self.window(p)
            if hi >= t:  # p can run after step t
                moves += [(p, t), (p, hi)]
            cons = mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]]
            late = cons[self.pos[cons] > t]
            if len(late) == 1 and not mb.output[b]:
                c = int(late[0])
                lo, hi = self.window(c)
                if lo <= t:  # c can run before step t, freeing b
                    moves += [(c, t), (c, lo)]
        moves = [(v, j) for v, j in set(moves) if j != self.pos[v]]
        rng.shuffle(moves)
        return moves[:limit]

    def window_move(
        self, a: int, b: int, max_states: int, deadline: Deadline | None = None
    ) -> np.ndarray | None:
        """Reorder steps [a, b) optimally (exact DP over the window's ideals).

        The prefix before ``a`` and the suffix from ``b`` keep their places,
        so the memory outside the window is unchanged; inside it, the
        bottleneck over the window's steps is minimised. Returns the new
        order when it lowers that bottleneck, else ``None`` (also when the
        window has more than ``max_states`` ideals: then ``too_wide`` is
        set). ``states``: the ideals it built. ``deadline``: checked
        while it builds them (``TimeUp``).
        """
        order = self.order
        self.too_wide = False
        programs = self._programs(deadline) if b - a <= MAX_WINDOW else None
        if programs is not None and self.buffer_arrays():
            # the window's inputs and its program, both compiled (it
            # cannot look at the deadline while it runs: max_states bounds
            # it, 200,000 ideals in about a tenth of a second)
            if deadline is not None:
                deadline.check()
            inputs = call_program(
                programs.window_inputs,
                order,
                a,
                b,
                *self._graph_arrays(),
                *self.buffer_arrays(),
            )
            return self._window_compiled(
                programs.window, a, b, inputs, max_states
            )
        # in Python: before the programs are loaded, past 63 steps, or
        # with sizes beyond 64 bits (Python's integers)
        w = self._window_inputs(a, b)
        started = time.perf_counter()
        try:
            return self._window_python(a, b, w, max_states, deadline)
        finally:
            self.python_dp_s += time.perf_counter() - started

    def _window_inputs(self, a: int, b: int) -> _Window:
        """The window's steps as :meth:`_window_python` takes them."""
        g, mb = self.graph, self.mb
        order, pos = self.order, self.pos
        win = order[a:b].tolist()
        k = len(win)
        local = {v: i for i, v in enumerate(win)}
        start, end = lifetimes(g, pos)
        size = mb.size
        r0 = int(size[(start < a) & (end >= a)].sum())
        prod_all = [0] * k
        lasting = [0] * k
        pred_mask = [0] * k
        for i, v in enumerate(win):
            bufs = mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]]
            prod_all[i] = int(size[bufs].sum())
            keep = (np.diff(mb.cons_ptr)[bufs] > 0) | mb.output[bufs]
            lasting[i] = int(size[bufs[keep]].sum())
            for u in g.pred_idx[g.pred_ptr[v] : g.pred_ptr[v + 1]].tolist():
                if u in local:
                    pred_mask[i] |= 1 << local[u]
        # buffers freed inside the window: not outputs, last reader in it
        frees: list[list[tuple[int, int]]] = [[] for _ in range(k)]
        read_bufs = set()
        for v in win:
            read_bufs.update(
                mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]].tolist()
            )
        for buf in read_bufs:
            if mb.output[buf] or end[buf] >= b:
                continue
            need = 0
            for c in mb.cons_idx[
                mb.cons_ptr[buf] : mb.cons_ptr[buf + 1]
            ].tolist():
                if c in local:
                    need |= 1 << local[c]
            for i in range(k):
                if need >> i & 1:
                    frees[i].append((need, int(size[buf])))
        return _Window(win, pred_mask, prod_all, lasting, frees, r0)

    def buffer_arrays(self) -> tuple | None:
        """The buffers' arrays :func:`.move_arrays.first_better` reads
        (producer, size, consumers, kept), or None where sizes overflow
        64 bits (the evaluation then uses Python integers)."""
        if self._buffer_arrays is None:
            mb = self.mb
            if mb.total > INT64_SAFE:
                self._buffer_arrays = ()
            else:
                # (copies: the graph's arrays are read-only, which numba
                # types apart, and would compile the programs again)
                self._buffer_arrays = tuple(
                    np.array(a, dtype=t)
                    for a, t in (
                        (mb.producer, np.int64),
                        (mb.size, np.int64),
                        (mb.cons_ptr, np.int64),
                        (mb.cons_idx, np.int64),
                        (mb.output, np.bool_),
                    )
                )
        return self._buffer_arrays or None

    def first_better(
        self,
        moves: list[tuple[int, int]],
        allowed: int,
        deadline: Deadline | None = None,
    ) -> tuple[int, int]:
        """The first of the first ``allowed`` single-node moves that lowers
        the objective (-1 if none) and how many were evaluated, by the
        compiled program: in batches of about ``FIRST_BETTER_ELEMENTS``
        elements' work, ``deadline`` checked before each (``TimeUp``)."""
        allowed = min(allowed, len(moves))
        if allowed <= 0:
            return -1, 0
        vs = np.fromiter(
            (v for v, _ in moves), dtype=np.int64, count=len(moves)
        )
        js = np.fromiter(
            (j for _, j in moves), dtype=np.int64, count=len(moves)
        )
        arrays = self.buffer_arrays()
        work = self.graph.n + len(arrays[1]) + len(arrays[3])
        batch = max(1, FIRST_BETTER_ELEMENTS // work)
        for lo in range(0, allowed, batch):
            if deadline is not None:
                deadline.check()
            hi = min(allowed, lo + batch)
            k, tried = call_program(
                self.programs.first_better,
                self.order,
                vs[lo:hi],
                js[lo:hi],
                hi - lo,
                self.obj[0],
                self.obj[1],
                *arrays,
            )
            if k >= 0:
                return lo + int(k), lo + int(tried)
        return -1, allowed

    def _programs(self, deadline: Deadline | None) -> Any:
        """The compiled programs of the exact moves, once the Python ones
        have taken ``COMPILED_AFTER_S`` here (or where they are loaded in
        this process already), or None."""
        if (
            COMPILED_MOVES
            and self.programs is None
            and not self.programs_asked
            and (programs_ready() or self.python_dp_s >= COMPILED_AFTER_S)
        ):
            self.programs_asked = True
            self.programs = load_programs(deadline)
        return self.programs

    def _window_compiled(
        self, kernel, a: int, b: int, inputs: tuple, max_states: int
    ) -> np.ndarray | None:
        """:meth:`window_move`'s program compiled (the same orders) on
        its ``inputs`` (:func:`.move_arrays.window_inputs`)."""
        status, value, seq, self.states = run_window(
            kernel, *inputs, max_states
        )
        if status:
            self.too_wide = True
            return None
        if value >= int(np.max(self.profile.memory[a:b])):
            return None
        order = self.order
        return np.concatenate((order[:a], order[a:b][seq], order[b:]))

    def _graph_arrays(self) -> tuple:
        """Predecessors, produced and read buffers in CSR form, as
        :func:`.move_arrays.window_inputs` reads them."""
        if self._csr is None:
            g, mb = self.graph, self.mb
            self._csr = tuple(
                np.array(x, dtype=np.int64)  # (writable copies, as above)
                for x in (
                    g.pred_ptr,
                    g.pred_idx,
                    mb.prod_ptr,
                    mb.prod_idx,
                    mb.read_ptr,
                    mb.read_idx,
                )
            )
        return self._csr

    def _window_python(
        self,
        a: int,
        b: int,
        w: _Window,
        max_states: int,
        deadline: Deadline | None,
    ) -> np.ndarray | None:
        """:meth:`window_move`'s program in Python."""
        win, pred_mask, prod_all, lasting, frees, r0 = w
        k = len(win)
        order = self.order
        full = (1 << k) - 1
        best = {0: (0, r0, -1)}  # mask -> (bottleneck, resident, last node)
        layer = [0]
        for _ in range(k):
            nxt: dict[int, tuple[int, int, int]] = {}
            for count, mask in enumerate(layer):
                if len(best) + len(nxt) > max_states:  # (within a layer too)
                    self.states = len(best) + len(nxt)
                    self.too_wide = True
                    return None
                if deadline is not None and not count & 4095:
                    deadline.check()
                val, res, _ = best[mask]
                for i in range(k):
                    if mask >> i & 1 or pred_mask[i] & ~mask:
                        continue
                    cost = max(val, res + prod_all[i])
                    new = mask | 1 << i
                    old = nxt.get(new)
                    if old is None or cost < old[0]:
                        freed = sum(
                            sz for need, sz in frees[i] if need & ~new == 0
                        )
                        nxt[new] = (cost, res + lasting[i] - freed, i)
            best.update(nxt)
            layer = list(nxt)
            self.states = len(best)
            if len(best) > max_states:
                self.too_wide = True
                return None
        current = int(np.max(self.profile.memory[a:b]))
        if best[full][0] >= current:
            return None
        seq = []
        mask = full
        while mask:
            i = best[mask][2]
            seq.append(win[i])
            mask &= ~(1 << i)
        return np.concatenate((order[:a], seq[::-1], order[b:])).astype(
            np.int64
        )

    def interleave_move(
        self,
        rng: np.random.Generator,
        size: int,
        max_states: int,
        deadline: Deadline | None = None,
    ) -> np.ndarray | None:
        """Re-interleave a random connected set of ``size`` nodes exactly.

        The set grows by random steps along edges (either way) from a node
        that holds memory at a peak step: the node run there, or the
        producer of a buffer live across it. Returns the new order (no
        higher than the current one, maybe equal), or ``None`` when the
        move needs more than ``max_states`` states (``too_wide`` set).
        ``states``: the states it built.
        """
        g, mb = self.graph, self.mb
        peaks = np.flatnonzero(self.profile.memory == self.profile.peak)
        self.too_wide = False
        if len(peaks) == 0:
            return None
        t = int(peaks[rng.integers(len(peaks))])
        start, end = lifetimes(g, self.pos)
        live = (start <= t) & (end >= t) & (mb.producer >= 0)
        seeds = np.unique(np.append(mb.producer[live], self.order[t]))
        first = int(seeds[rng.integers(len(seeds))])
        chosen = {first}
        frontier = [first]
        while len(chosen) < size and frontier:
            v = frontier.pop(int(rng.integers(len(frontier))))
            near = np.concatenate(
                (
                    g.pred_idx[g.pred_ptr[v] : g.pred_ptr[v + 1]],
                    g.succ_idx[g.succ_ptr[v] : g.succ_ptr[v + 1]],
                )
            )
            for w in rng.permutation(near).tolist():
                if len(chosen) < size and w not in chosen:
                    chosen.add(w)
                    frontier.append(w)
        programs = self._programs(deadline)
        started = time.perf_counter()
        if self._arrays is None:
            self._arrays = GraphArrays.of(g)
        got = interleave(
            g,
            self.order,
            chosen,
            max_states,
            deadline,
            programs=programs,
            arrays=self._arrays,
            profile=self.profile,
            ends=end,
        )
        if programs is None:
            self.python_dp_s += time.perf_counter() - started
        self.states = got.states
        self.too_wide = got.too_wide
        return got.order

    def perturb(self, rng: np.random.Generator, k: int) -> None:
        """Apply k random valid moves (for diversification)."""
        order = self.order
        for _ in range(k):
            v = int(order[rng.integers(len(order))])
            lo, hi = self.window(v)
            if hi > lo:
                order = self.moved(v, int(rng.integers(lo, hi + 1)))
                self.order = order
                self.pos[order] = np.arange(len(order))
        self.set(order)


FIRST_BETTER_ELEMENTS = 2_000_000
"""Work (nodes plus buffers plus reads, per move) of one call of the
single-node moves' compiled program, 3-4 ms at the 1.4-2.2 ns per
element measured: the local search checks its deadline between calls."""

#: Whether the local search may use the compiled programs of its exact
#: moves at all (off only to measure what they bring:
#: ``scripts/bench_sp.py --near-toggle compiled``).
COMPILED_MOVES = True

COMPILED_AFTER_S = 0.5
"""Seconds of exact moves (window and interleave) in Python after which
a local search loads their compiled programs (:mod:`.move_arrays`, where
numba is installed): importing numba and reading its cache take about
half a second, too much for the short searches (on a 300-node graph the
compiled window moves are about 50 times as fast)."""

WIDE_MIN_STATES = 4096
"""A widened window move is made only when the work it may spend pays for
this many ideals (see :func:`local_search`); else the move keeps the
base width."""

DP_TRY_S = 2.13e-7
"""Seconds per try of a window move's dynamic program (an ideal and a
step; measured on a 300-node graph, where an evaluation took 29 ns per
node, edge and buffer)."""

DP_TRY_ELEMENTS = 7
"""What a try costs in the work budget's units: the elements of an
evaluation it takes as long as (213 against 29 ns, as above)."""


def local_search(
    graph: Graph,
    order: np.ndarray,
    deadline: Deadline | None = None,
    *,
    seed: int | np.random.Generator = 0,
    params: HeuristicParams | None = None,
    callbacks: Callbacks | None = None,
    target: int = 0,
    stats: dict[str, Any] | None = None,
) -> tuple[np.ndarray, int]:
    """Improve a valid order until the deadline, the work budget or ``target``.

    On Ctrl-C it returns the best order so far and, when ``stats`` is given,
    sets ``stats["interrupted"] = "ctrl-c"``.

    Each iteration tries single-node moves around a peak step (first
    improvement), then an exact reordering of a window of steps around it
    (:meth:`_Search.window_move`), wider on each fruitless iteration up
    to ``params.max_window``; after a fruitless window of that width, an
    exact re-interleaving of a few nodes around the peak
    (:meth:`_Search.interleave_move`), whose equal orders it may go on
    from (``params.sideways``); when nothing helps, it restarts from the
    best order with a random perturbation. With a finite deadline it runs
    until the deadline; without one it stops after ``params.work_budget``
    or ``params.patience`` fruitless restarts. Stops at once when the peak
    reaches ``target`` (a proven lower bound).

    Returns the best order found (node indices) and its peak; never worse
    than ``order``. Deterministic for a given seed and budget.
    """
    params = params or HeuristicParams()
    deadline = deadline or Deadline()
    rng = np.random.default_rng(seed)
    # the interleave moves draw from a stream of their own, so that the
    # other moves' draws are the same with and without them
    irng = np.random.Generator(rng.bit_generator.jumped())
    if graph.n < 2:
        order = np.asarray(order, dtype=np.int64)
        return order, evaluate_indices(graph, order, check=False).peak
    state = _Search(graph, order)
    best_order, best_obj = state.order, state.obj
    cost = graph.n + graph.m + len(state.mb) + 1
    timed = math.isfinite(deadline.limit) and params.use_all_time
    max_evals = math.inf if timed else params.work_budget / cost
    evals = 0
    stuck = 0
    base = width = params.window
    # the window widens by `base` on each fruitless iteration, up to
    # `widest` (lowered to the last width whose ideals fit max_states),
    # and starts again from `base`; a new best narrows it
    top = widest = max(base, params.max_window) if base > 1 else base
    wide = 0  # evals spent on widened moves
    sideways = 0  # interleave moves in a row that kept the objective
    try:
        while evals < max_evals and best_obj[0] > target:
            deadline.check()
            if state.profile.peak_step < 0:
                break  # the peak is the inputs before the first step: optimal
            improved = False
            moves = state.candidates(rng, params.candidates)
            if state.programs is not None and state.buffer_arrays():
                # the same moves in the same order, evaluated compiled
                allowed = len(moves)
                if math.isfinite(max_evals):
                    allowed = min(
                        allowed, max(0, math.ceil(max_evals - evals))
                    )
                k, tried = state.first_better(moves, allowed, deadline)
                evals += tried
                if k >= 0:
                    state.set(state.moved(*moves[k]))
                    improved = True
                moves = []
            for v, j in moves:
                if evals >= max_evals:
                    break
                deadline.check()
                cand = state.moved(v, j)
                prof = evaluate_indices(graph, cand, check=False)
                evals += 1
                if _Search.objective(prof) < state.obj:
                    state.set(cand)
                    improved = True
                    break
            if not improved and width > 1:
                peaks = np.flatnonzero(
                    state.profile.memory == state.profile.peak
                )
                t = int(peaks[rng.integers(len(peaks))])
                # a widened move is charged for the ideals it built, each
                # tried with every step of the window (DP_TRY_ELEMENTS each).
                # Under a deadline it may take params.wide_share of the time
                # left, else no more than the rest of the search has spent;
                # never more than the work budget left
                use, cap = width, params.max_states
                if width != base:
                    per_ideal = DP_TRY_ELEMENTS * width / cost  # (evals)
                    if math.isfinite(deadline.limit):
                        left_s = params.wide_share * deadline.remaining()
                        cap = min(cap, int(left_s / (DP_TRY_S * width)))
                    else:
                        cap = min(cap, int((evals - wide) / per_ideal))
                    if math.isfinite(max_evals):
                        cap = min(cap, int((max_evals - evals) / per_ideal))
                    if cap < WIDE_MIN_STATES:
                        use, cap = base, params.max_states
                a = max(0, min(t - int(rng.integers(use)), graph.n - use))
                cand = state.window_move(
                    a, min(graph.n, a + use), cap, deadline
                )
                if use == base:
                    evals += 1 + (1 << min(use, 16)) // max(cost, 1)
                else:
                    spent = 1 + DP_TRY_ELEMENTS * state.states * use // max(
                        cost, 1
                    )
                    evals += spent
                    wide += spent
                    if state.too_wide:
                        widest = max(base, width - base)
                if cand is not None:
                    prof = evaluate_indices(graph, cand, check=False)
                    if _Search.objective(prof) < state.obj:
                        state.set(cand)
                        improved = True
            drifted = False
            # the interleave move, dearer, once the window moves have failed
            # at every width (or where there are none, and while drifting)
            if (
                not improved
                and params.interleave > 1
                and (width <= 1 or width >= widest or sideways)
            ):
                lo = max(2, params.interleave // 2)
                cand = state.interleave_move(
                    irng,
                    int(irng.integers(lo, params.interleave + 1)),
                    params.interleave_states,
                    deadline,
                )
                evals += 1 + DP_TRY_ELEMENTS * state.states * (
                    params.interleave
                ) // max(cost, 1)
                if cand is not None:
                    prof = evaluate_indices(graph, cand, check=False)
                    obj = _Search.objective(prof)
                    if obj < state.obj:
                        state.set(cand)
                        improved = True
                    elif (
                        obj == state.obj
                        and sideways < params.sideways
                        and not np.array_equal(cand, state.order)
                    ):
                        # an equal order elsewhere: go on from it (moves
                        # that lower the peak are often found from there;
                        # the move keeps the peak, not the steps at it)
                        state.set(cand)
                        sideways += 1
                        drifted = True
            if improved:
                sideways = 0
            if state.obj < best_obj:
                if callbacks is not None and state.obj[0] < best_obj[0]:
                    callbacks.on_improvement(state.order, state.obj[0])
                best_order, best_obj = state.order, state.obj
                stuck = 0
                width, widest = base, top
            if not improved:
                width = base if width >= widest else min(width + base, widest)
            if not improved and not drifted:
                stuck += 1
                sideways = 0
                if stuck > params.patience and not timed:
                    break
                state.set(best_order)
                state.perturb(
                    rng, 1 + int(rng.integers(max(2, min(graph.n // 10, 20))))
                )
                evals += 1
    except TimeUp:
        pass
    except KeyboardInterrupt:
        if stats is not None:
            stats["interrupted"] = "ctrl-c"
    return best_order, best_obj[0]


def heuristic_schedule(
    graph: Graph,
    deadline: Deadline | None = None,
    *,
    seed: int | np.random.Generator = 0,
    params: HeuristicParams | None = None,
    callbacks: Callbacks | None = None,
    target: int = 0,
) -> tuple[np.ndarray, int, dict[str, Any]]:
    """Our default heuristic: the best of all baselines, Liu rounds, local search.

    The local search stops as soon as the peak reaches ``target`` (pass a
    proven lower bound: nothing can beat it).

    Returns the order (node indices), its peak, and statistics: the peak of
    every candidate (``peaks``) and which one the local search started from.
    On deadline or Ctrl-C it returns the best order found so far (at least
    the input order, which costs O(n + m)).

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> order, peak, stats = heuristic_schedule(g)
    >>> peak
    5
    """
    params = params or HeuristicParams()
    deadline = deadline or Deadline()
    rng = np.random.default_rng(seed)
    peaks: dict[str, int] = {}
    best = input_order(graph)
    best_peak = evaluate_indices(graph, best, check=False).peak
    best_name = "input"
    peaks["input"] = best_peak
    stats: dict[str, Any] = {"peaks": peaks, "interrupted": False}

    def offer(name: str, order: np.ndarray) -> None:
        nonlocal best, best_peak, best_name
        peak = evaluate_indices(graph, order, check=False).peak
        peaks[name] = peak
        if peak < best_peak:
            best, best_peak, best_name = order, peak, name
            if callbacks is not None:
                callbacks.on_improvement(order, peak)

    try:
        for name, fn in INDUCTOR_METHODS.items():
            offer(name, fn(graph, deadline))
        stats["inductor"] = min(peaks.values())
        if is_out_forest(graph):
            offer("out_tree", out_tree_order(graph))
        for r in range(params.liu_rounds):
            deadline.check()
            offer(f"liu{r + 1}", liu_relaxation_order(graph, best))
        if params.local_search and best_peak > target:
            start_name = best_name
            order, peak = local_search(
                graph,
                best,
                deadline,
                seed=rng,
                params=params,
                callbacks=callbacks,
                target=target,
                stats=stats,
            )
            peaks["local_search"] = peak
            if peak < best_peak:
                best, best_peak, best_name = order, peak, f"{start_name}+ls"
    except TimeUp:
        stats["interrupted"] = "time"
    except KeyboardInterrupt:
        stats["interrupted"] = "ctrl-c"
    stats["winner"] = best_name
    return best, best_peak, stats
