"""The one entry point: ``solve(graph) -> Schedule``, and the method registry.

Each method is a :class:`Method`: a name, whether it is exact, which graphs
it supports, and a function that returns an order (node indices), a proven
lower bound and statistics. :func:`solve` never trusts a method's claim: it
re-evaluates the order with :func:`pebble_sched.memory.evaluate_indices`,
takes the peak from that, and reports ``optimal`` only when the peak equals
the best proven lower bound.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._version import __version__
from .bounds import lower_bound
from .brute_force import MAX_NODES, brute_force
from .exceptions import PebbleSchedError
from .graph import Graph
from .heuristics import HeuristicParams, heuristic_schedule
from .inductor import INDUCTOR_METHODS, inductor_order, input_order
from .memory import evaluate_indices
from .runtime import Callbacks, Deadline, TimeUp
from .schedule import Schedule, Status
from .trees import is_in_tree, liu_order

__all__ = ["METHODS", "Method", "solve"]

Runner = Callable[..., tuple[np.ndarray, int, dict[str, Any]]]


@dataclass(frozen=True)
class Method:
    """A solver back end.

    ``run(graph, deadline, rng, callbacks, **options)`` returns ``(order,
    lower_bound, stats)`` with the order as node indices; an exact method
    returns its optimum as the lower bound.
    """

    name: str
    exact: bool
    supports: Callable[[Graph], bool]
    run: Runner
    description: str = ""


def _always(graph: Graph) -> bool:
    return True


def _run_heuristic(graph, deadline, rng, callbacks, *, target=0, **options):
    params = options.pop("params", None) or HeuristicParams(**options)
    order, _, stats = heuristic_schedule(
        graph, deadline, seed=rng, params=params, callbacks=callbacks,
        target=target,
    )
    return order, target, stats


def _run_inductor(graph, deadline, rng, callbacks, **options):
    order, _, name = inductor_order(graph, deadline)
    return order, 0, {"winner": name}


def _baseline(fn):
    def run(graph, deadline, rng, callbacks, **options):
        return fn(graph, deadline), 0, {}

    return run


def _run_input(graph, deadline, rng, callbacks, **options):
    return input_order(graph), 0, {}


def _run_brute(graph, deadline, rng, callbacks, **options):
    order, peak = brute_force(graph)
    return np.array(order, dtype=np.int64), peak, {}


def _liu_exact(graph: Graph) -> bool:
    """Liu's algorithm is exact on in-trees without graph inputs whose only
    kept outputs are produced by roots."""
    if not is_in_tree(graph):
        return False
    mb = graph.memory_buffers()
    if (mb.producer < 0).any():
        return False
    outdeg = np.diff(graph.succ_ptr)
    return not (outdeg[mb.producer[mb.output]] > 0).any()


def _run_tree(graph, deadline, rng, callbacks, **options):
    order = liu_order(graph)
    peak = evaluate_indices(graph, order, check=False).peak
    return order, peak, {}


def _brute_ok(graph: Graph) -> bool:
    return graph.n <= MAX_NODES


METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method("heuristic", False, _always, _run_heuristic,
               "best of the baselines, Liu relaxation and local search"),
        Method("inductor", False, _always, _run_inductor,
               "PyTorch Inductor's choice: best of input, LPMF, BFS, DFS"),
        Method("lpmf", False, _always, _baseline(INDUCTOR_METHODS["lpmf"]),
               "Inductor's least-peak-memory-first sort"),
        Method("bfs", False, _always, _baseline(INDUCTOR_METHODS["bfs"]),
               "Inductor's BFS sort"),
        Method("dfs", False, _always, _baseline(INDUCTOR_METHODS["dfs"]),
               "Inductor's DFS sort"),
        Method("input", False, _always, _run_input,
               "the trace order, or the node order"),
        Method("tree", True, _liu_exact, _run_tree,
               "Liu's algorithm (in-trees)"),
        Method("brute", True, _brute_ok, _run_brute,
               f"exhaustive DP over subsets (n <= {MAX_NODES})"),
    ]
}

#: Graphs up to this size go to brute force under ``auto``.
AUTO_BRUTE_MAX = 10


def _auto_choice(graph: Graph) -> str:
    if graph.n <= AUTO_BRUTE_MAX:
        return "brute"
    if _liu_exact(graph):
        return "tree"
    return "heuristic"


def solve(
    graph: Graph,
    method: str = "auto",
    *,
    time_limit: float = math.inf,
    seed: int | np.random.Generator = 0,
    callbacks: Callbacks | None = None,
    keep_outputs: bool | None = None,
    **options: Any,
) -> Schedule:
    """A schedule of ``graph`` with the lowest peak the method can find.

    Parameters
    ----------
    graph
        The graph to schedule.
    method
        ``"auto"`` (default) picks an exact method when one applies (brute
        force on tiny graphs, Liu's algorithm on in-trees) and the
        heuristic portfolio otherwise; any name of ``METHODS`` forces one.
    time_limit
        Wall-clock seconds, measured from this call. Default ``inf``: the
        heuristics stop at a local optimum or their work budget.
    seed
        Seed of every random choice.
    callbacks
        Progress hooks (:class:`pebble_sched.runtime.Callbacks`).
    keep_outputs
        Overrides the graph's ``keep_outputs`` flag when given.
    **options
        Passed to the method (e.g. :class:`HeuristicParams` fields).

    Returns
    -------
    Schedule
        Its ``status`` is ``optimal`` only when the peak equals a proven
        lower bound.

    Raises
    ------
    ValueError
        For an unknown method, or one that does not support the graph.

    Examples
    --------
    >>> from pebble_sched import Graph, solve
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> s = solve(g)
    >>> s.order, s.peak, s.status.value
    (('a', 'b', 'c'), 5, 'optimal')
    """
    t0 = time.monotonic()
    deadline = Deadline(time_limit)
    if keep_outputs is not None and keep_outputs != graph.keep_outputs:
        graph = graph.replace(keep_outputs=keep_outputs)
    name = _auto_choice(graph) if method == "auto" else method
    if name not in METHODS:
        valid = ", ".join(["auto", *METHODS])
        raise ValueError(f"Unknown method {method!r}; choose one of {valid}.")
    spec = METHODS[name]
    if not spec.supports(graph):
        raise ValueError(f"Method {name!r} does not support this graph.")
    if callbacks is not None:
        callbacks.on_start(graph, name)
    rng = np.random.default_rng(seed)
    bound = 0
    if not spec.exact:
        bound = _bound(graph, deadline)
        if callbacks is not None:
            callbacks.on_bound(bound)
        if name == "heuristic":
            options["target"] = bound
    try:
        order, lb, stats = spec.run(graph, deadline, rng, callbacks, **options)
    except (TimeUp, KeyboardInterrupt) as exc:
        if spec.exact:
            # an exact method gave nothing: fall back to the input order
            order, lb = input_order(graph), 0
            stats = {"interrupted": "time" if isinstance(exc, TimeUp) else "ctrl-c"}
        else:
            raise
    profile = evaluate_indices(graph, order, check=True)
    peak = profile.peak
    if spec.exact and not stats.get("interrupted"):
        if lb != peak:
            raise PebbleSchedError(
                f"Method {name!r} claimed {lb} but its order has peak {peak}."
            )
    else:
        lb = max(lb, bound)
    lb = min(lb, peak)
    ids = graph.ids
    schedule = Schedule(
        order=tuple(ids[v] for v in order.tolist()),
        peak=peak,
        lower_bound=lb,
        status=Status.OPTIMAL if lb == peak else Status.FEASIBLE,
        method=name,
        time_s=time.monotonic() - t0,
        version=__version__,
        instance=graph.name,
        stats=stats,
    )
    if callbacks is not None:
        callbacks.on_end(schedule)
    return schedule


def _bound(graph: Graph, deadline: Deadline) -> int:
    """The best lower bound that fits in the remaining time."""
    from .bounds import local_bound

    if deadline.remaining() < 10.0:
        return local_bound(graph)
    return lower_bound(graph)
