"""Evaluate a schedule: the memory during every step and its peak.

The semantics are those of docs/model.md for the full buffer model: a buffer
is live from its producer's step (from before the first step when it has no
producer) through its last consumer's step; a buffer with no consumer lives
only during its producer's step; an output lives to the end. The memory
during a step is the total size of the buffers live at that step, and the
peak is the maximum over the steps and, when there are graph inputs, the
moment before the first step.

:func:`evaluate` is O(n + m + total consumers) with numpy; it also checks
that the order is a permutation of the nodes that respects every edge.
Totals of 2**63 bytes or more are computed with Python integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .constants import INT64_SAFE
from .exceptions import ScheduleError
from .graph import require_graph

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from .graph import Graph, NodeId

__all__ = ["Profile", "evaluate", "evaluate_indices", "lifetimes", "peak_of"]


@dataclass(frozen=True, eq=False)
class Profile:
    """The memory profile of a schedule.

    Attributes
    ----------
    memory
        Memory during each step (a read-only array of length n).
    resident
        Memory resident right after each step (buffers freed by the step
        removed), length n.
    initial
        Memory before the first step: the total size of graph inputs.
    peak
        The peak: the maximum of ``memory`` and ``initial``.
    peak_step
        The first step at which the peak is reached, or -1 when it is the
        memory before the first step (or the graph is empty).
    """

    memory: np.ndarray
    resident: np.ndarray
    initial: int
    peak: int
    peak_step: int

    def __len__(self) -> int:
        return len(self.memory)


def _positions(graph: Graph, order: Sequence[int]) -> np.ndarray:
    """Position of every node in ``order`` (indices), after checking it."""
    n = graph.n
    idx = np.asarray(order, dtype=np.int64)
    if idx.ndim != 1:
        raise ScheduleError("The order must be a flat list of nodes.")
    if len(idx) and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)][0]
        raise ScheduleError(f"Unknown node index {int(bad)} in the order.")
    pos = np.full(n, -1, dtype=np.int64)
    pos[idx] = np.arange(len(idx), dtype=np.int64)
    if len(idx) != n or (pos < 0).any():
        # find the first repeated node, else the first missing one
        seen = np.zeros(n, dtype=bool)
        for v in idx.tolist():
            if seen[v]:
                raise ScheduleError(
                    f"Node {graph.ids[v]!r} appears twice in the order."
                )
            seen[v] = True
        missing = graph.ids[int(np.flatnonzero(~seen)[0])]
        raise ScheduleError(f"Node {missing!r} is missing from the order.")
    bad = np.flatnonzero(pos[graph.edge_src] > pos[graph.edge_dst])
    if len(bad):
        k = bad[np.argmin(pos[graph.edge_dst[bad]])]
        a, b = int(graph.edge_src[k]), int(graph.edge_dst[k])
        raise ScheduleError(
            f"Node {graph.ids[b]!r} (step {int(pos[b])}) runs before its "
            f"predecessor {graph.ids[a]!r} (step {int(pos[a])})."
        )
    return pos


def lifetimes(graph: Graph, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last step (inclusive) of every buffer of ``memory_buffers()``.

    ``pos[v]`` is the step of node v. Graph inputs start at -1 (before the
    first step); a buffer with no consumer ends at its producer's step (at
    -1 for an unread input); outputs end at the last step.
    """
    n = graph.n
    mb = graph.memory_buffers()
    prod = mb.producer
    has_prod = prod >= 0
    start = np.full(len(mb), -1, dtype=np.int64)
    start[has_prod] = pos[prod[has_prod]]
    end = start.copy()
    if len(mb.cons_idx):
        owner = np.repeat(
            np.arange(len(mb), dtype=np.int64), np.diff(mb.cons_ptr)
        )
        np.maximum.at(end, owner, pos[mb.cons_idx])
    if n:
        end[mb.output] = n - 1
    return start, end


def evaluate_indices(
    graph: Graph, order: Sequence[int] | np.ndarray, *, check: bool = True
) -> Profile:
    """Evaluate an order given as node indices (see :func:`evaluate`)."""
    n = graph.n
    if check:
        pos = _positions(graph, order)
    else:
        pos = np.empty(n, dtype=np.int64)
        pos[np.asarray(order, dtype=np.int64)] = np.arange(n, dtype=np.int64)
    mb = graph.memory_buffers()
    dtype: type = np.int64 if mb.total <= INT64_SAFE else object
    size = mb.size if dtype is np.int64 else mb.size.astype(object)
    start, end = lifetimes(graph, pos)
    # slot t + 1 holds step t; slot 0 is "before the first step"
    delta = np.zeros(n + 2, dtype=dtype)
    np.add.at(delta, start + 1, size)
    ends = np.zeros(n + 2, dtype=dtype)
    np.add.at(ends, end + 1, size)
    mem = np.cumsum(
        delta[: n + 1] - np.concatenate(([0], ends[:n])).astype(dtype)
    )
    initial = int(mem[0])
    during = mem[1:]
    resident = during - ends[1 : n + 1]
    if n:
        step = int(np.argmax(during))
        top = int(during[step])
    else:
        step, top = -1, 0
    if initial > top:
        step, top = -1, initial
    during = np.asarray(during)
    during.flags.writeable = False
    resident = np.asarray(resident)
    resident.flags.writeable = False
    return Profile(
        memory=during,
        resident=resident,
        initial=initial,
        peak=top,
        peak_step=step,
    )


def evaluate(graph: Graph, order: Iterable[NodeId]) -> Profile:
    """The memory profile of a schedule, after checking that it is valid.

    Parameters
    ----------
    graph
        The graph.
    order
        All node ids, each once, in a topological order.

    Returns
    -------
    Profile
        Memory during and after every step, and the peak.

    Raises
    ------
    ScheduleError
        When ``order`` is not a permutation of the nodes (names a repeated,
        missing or unknown node) or violates an edge (names the first step
        that runs before one of its predecessors).

    Examples
    --------
    >>> from pebble_sched import Graph
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("b", "c")], size=[1, 2, 3])
    >>> p = evaluate(g, ["a", "b", "c"])
    >>> p.memory.tolist(), p.peak
    ([1, 3, 5], 5)

    Notes
    -----
    O(n + m) time, vectorised with numpy: a million-node graph is
    evaluated in well under two seconds.
    """
    require_graph(graph, "evaluate")
    return evaluate_indices(graph, graph.to_indices(order))


def peak_of(graph: Graph, order: Sequence[int] | np.ndarray) -> int:
    """The peak of a valid order of node indices (no checks)."""
    return evaluate_indices(graph, order, check=False).peak
