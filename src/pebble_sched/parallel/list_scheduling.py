"""Schedules on p processors, and the memory they really use.

Model: the parallel buffer model of :mod:`.max_peak` with node durations
``time``; identical processors, no communication costs. Three schedulers:

- :func:`list_schedule`: critical-path list scheduling (a ready node of
  largest bottom level goes to the first free processor: HEFT's upward
  rank without communication; Graham's bound makespan <= sum(time) / p +
  critical path). Memory unchecked: the baseline runtimes have.
- the same on a graph restricted by :func:`.restrict`: memory guaranteed
  by construction, whatever the processors.
- :func:`memory_aware_schedule`: a dynamic scheduler that starts a ready
  node only if the memory stays within M once it has allocated its
  outputs; it can *deadlock* (nothing running, nothing fits), which it
  detects and reports instead of waiting forever.

Every schedule is re-simulated by :func:`simulate`: events in time order
(at equal times, finishes first, then starts in the order the schedule
lists them; a node of duration 0 frees what it releases right after its
start), memory measured after every start. Exact arithmetic on Python integers.
Complexity O((n + m + B) log n).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..graph import require_graph
from .fictitious_edges import critical_path
from .max_peak import _release_sets

if TYPE_CHECKING:
    from ..graph import Graph, NodeId

__all__ = [
    "ParallelSchedule",
    "list_schedule",
    "memory_aware_schedule",
    "memory_curve",
    "simulate",
]


@dataclass(frozen=True)
class ParallelSchedule:
    """Start times and processors, with the simulated makespan and peak.

    ``start`` and ``processor`` map node ids to values (nodes left out by a
    deadlock are absent); ``deadlock`` says whether the scheduler got stuck.
    """

    start: dict[NodeId, float]
    processor: dict[NodeId, int]
    makespan: float
    peak: int
    procs: int
    deadlock: bool = False
    stats: dict[str, Any] = field(default_factory=dict)


class _Memory:
    """Live bytes as nodes start and finish (buffers allocated at their
    producer's start, freed when their whole release set has finished)."""

    def __init__(self, graph: Graph) -> None:
        rel = _release_sets(graph)
        n = graph.n
        self.size = rel.size.tolist()
        self.output = rel.output.tolist()
        self.left = rel.count.tolist()  # release nodes still unfinished
        self.alloc = [0] * n
        self.produced: list[list[int]] = [[] for _ in range(n)]
        self.released_by: list[list[int]] = [[] for _ in range(n)]
        self.live = 0
        unread = rel.unread_input.tolist()
        self.unread = 0
        for b, p in enumerate(rel.producer.tolist()):
            if p >= 0:
                self.alloc[p] += self.size[b]
                self.produced[p].append(b)
            elif unread[b]:
                self.unread += self.size[b]  # live at time 0 only
            else:
                self.live += self.size[b]  # graph inputs: from time 0
            for c in rel.nodes(b).tolist():
                self.released_by[c].append(b)
        self.peak = self.live + self.unread

    def start(self, v: int) -> None:
        self.live += self.alloc[v]
        self.peak = max(self.peak, self.live)

    def finish(self, v: int) -> None:
        for b in self.released_by[v]:
            self.left[b] -= 1
            if self.left[b] == 0 and not self.output[b]:
                self.live -= self.size[b]


def simulate(graph: Graph, start: dict[NodeId, float]) -> tuple[float, int]:
    """Makespan and peak memory of a parallel schedule (see :func:`memory_curve`).

    Examples
    --------
    >>> from pebble_sched import Graph
    >>> fork = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> simulate(fork, {"a": 0, "b": 1, "c": 1})   # b and c together
    (2.0, 6)
    >>> simulate(fork, {"a": 0, "b": 1, "c": 2})   # one after the other
    (3.0, 5)
    """
    require_graph(graph, "simulate")
    makespan, _, values = memory_curve(graph, start)
    return makespan, max(values)


def memory_curve(
    graph: Graph, start: dict[NodeId, float]
) -> tuple[float, list[float], list[int]]:
    """Makespan and the memory after every event of a parallel schedule.

    Returns ``(makespan, times, memory)``: the memory is a step function,
    ``memory[k]`` from ``times[k]`` on (the first point is time 0 before
    anything starts, graph inputs counted). Nodes starting at the same instant start in the order ``start`` lists
    them (the order a scheduler started them): it matters only for nodes
    of duration 0, which release their inputs at once.

    Raises ``ValueError`` when a node starts before a predecessor finishes
    (or, at the same instant, is listed before it), or is missing.

    Examples
    --------
    >>> from pebble_sched import Graph
    >>> fork = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> memory_curve(fork, {"a": 0, "b": 1, "c": 1})
    (2.0, [0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0], [0, 4, 4, 5, 6, 5, 0])
    """
    n = graph.n
    if len(start) != n:
        missing = [v for v in graph.ids if v not in start]
        raise ValueError(f"Node {missing[0]!r} has no start time.")
    st = np.array([float(start[v]) for v in graph.ids])
    dur = np.asarray(graph.time, dtype=float)
    fin = st + dur
    bad = np.flatnonzero(st[graph.edge_dst] < fin[graph.edge_src] - 1e-9)
    if len(bad):
        u, v = graph.edge_src[bad[0]], graph.edge_dst[bad[0]]
        raise ValueError(
            f"{graph.ids[v]!r} starts at {st[v]:g}, before its predecessor "
            f"{graph.ids[u]!r} finishes at {fin[u]:g}."
        )
    pos = np.empty(n, dtype=np.int64)
    pos[graph.to_indices(list(start))] = np.arange(n)
    src, dst = graph.edge_src, graph.edge_dst
    tie = np.flatnonzero((st[dst] == st[src]) & (pos[dst] < pos[src]))
    if len(tie):
        u, v = src[tie[0]], dst[tie[0]]
        raise ValueError(
            f"{graph.ids[v]!r} is listed before its predecessor "
            f"{graph.ids[u]!r}, which starts at the same instant."
        )
    mem = _Memory(graph)
    # (time, phase, position, node): finishes (0) before starts (1)
    events = [(fin[v], 0, pos[v], v) for v in range(n) if dur[v] > 0]
    events += [(st[v], 1, pos[v], v) for v in range(n)]
    events.sort()
    times, values = [0.0], [mem.live + mem.unread]
    for when, phase, _r, v in events:
        if phase == 0:
            mem.finish(int(v))
        else:
            mem.start(int(v))
            if dur[v] == 0:  # its peak, then what it releases at once
                times.append(float(when))
                values.append(mem.live)
                mem.finish(int(v))
        times.append(float(when))
        values.append(mem.live)
    return (float(fin.max()) if n else 0.0), times, values


def _schedule(
    graph: Graph, procs: int, memory_bound: float | None
) -> ParallelSchedule:
    n = graph.n
    if procs < 1:
        raise ValueError("The number of processors must be at least 1.")
    dur = np.asarray(graph.time, dtype=float)
    _, _, bottom = critical_path(n, graph.edge_src, graph.edge_dst, dur)
    topo = np.empty(n, dtype=np.int64)
    topo[graph.topological_order()] = np.arange(n)
    indeg = graph.indegree.astype(np.int64).tolist()
    sp, si = graph.succ_ptr, graph.succ_idx
    mem = _Memory(graph)
    ready = [(-bottom[v], topo[v], v) for v in range(n) if indeg[v] == 0]
    heapq.heapify(ready)
    running: list[tuple[float, int, int]] = []  # (finish, processor, node)
    free = list(range(procs))
    heapq.heapify(free)
    start: dict[int, float] = {}
    proc: dict[int, int] = {}
    now = 0.0
    waits = 0
    while len(start) < n:
        # start what fits, by priority, on the free processors
        skipped = []
        while ready and free:
            item = heapq.heappop(ready)
            v = item[2]
            if (
                memory_bound is not None
                and mem.live + mem.alloc[v] > memory_bound
            ):
                skipped.append(item)
                continue
            p = heapq.heappop(free)
            start[v], proc[v] = now, p
            mem.start(v)
            if dur[v] == 0:
                heapq.heappush(running, (now, -1, v))
                heapq.heappush(free, p)
            else:
                heapq.heappush(running, (now + dur[v], p, v))
        for item in skipped:
            heapq.heappush(ready, item)
        if skipped:
            waits += 1
        if not running:
            if len(start) < n:  # nothing runs and nothing fits: stuck
                return _result(graph, start, proc, procs, mem, True, waits)
            break
        # advance to the next finish; finish everything ending then
        now = running[0][0]
        while running and running[0][0] <= now:
            _, p, v = heapq.heappop(running)
            mem.finish(v)
            if p >= 0:
                heapq.heappush(free, p)
            for w in si[sp[v] : sp[v + 1]].tolist():
                indeg[w] -= 1
                if indeg[w] == 0:
                    heapq.heappush(ready, (-bottom[w], topo[w], w))
    return _result(graph, start, proc, procs, mem, False, waits)


def _result(graph, start, proc, procs, mem, deadlock, waits):
    ids = graph.ids
    st = {ids[v]: float(t) for v, t in start.items()}
    pr = {ids[v]: int(p) for v, p in proc.items()}
    if deadlock:
        dur = np.asarray(graph.time, dtype=float)
        makespan = max((t + dur[v] for v, t in start.items()), default=0.0)
        return ParallelSchedule(
            st,
            pr,
            float(makespan),
            int(mem.peak),
            procs,
            True,
            {"waits": waits, "unscheduled": graph.n - len(start)},
        )
    makespan, peak = simulate(graph, st)  # the referee, independent of mem
    return ParallelSchedule(
        st, pr, makespan, peak, procs, False, {"waits": waits}
    )


def list_schedule(graph: Graph, procs: int) -> ParallelSchedule:
    """Critical-path list scheduling on ``procs`` processors (memory unchecked).

    Examples
    --------
    >>> from pebble_sched import Graph
    >>> fork = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> s = list_schedule(fork, 2)
    >>> s.makespan, s.peak, s.start
    (2.0, 6, {'a': 0.0, 'b': 1.0, 'c': 1.0})
    """
    require_graph(graph, "list_schedule")
    return _schedule(graph, procs, None)


def memory_aware_schedule(
    graph: Graph, procs: int, memory_bound: int
) -> ParallelSchedule:
    """List scheduling that starts a node only if the memory stays within the bound.

    Never exceeds ``memory_bound`` (it checks every start); may deadlock,
    in which case ``deadlock`` is true and the nodes never started are
    absent from ``start``.

    Examples
    --------
    >>> from pebble_sched import Graph
    >>> fork = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> s = memory_aware_schedule(fork, 2, 5)
    >>> s.makespan, s.peak, s.deadlock
    (3.0, 5, False)
    """
    require_graph(graph, "memory_aware_schedule")
    if not math.isfinite(memory_bound):
        return _schedule(graph, procs, None)
    return _schedule(graph, procs, memory_bound)
