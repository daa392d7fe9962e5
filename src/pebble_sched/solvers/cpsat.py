"""Minimum peak with OR-Tools CP-SAT: positions, buffer lifetimes, a cumulative.

Model (full buffer model of docs/model.md): an integer ``pos[v]`` in 0..n-1
per node, all different, with ``pos[u] < pos[v]`` for every edge. Each
buffer b is an interval over steps, from its producer's position (step 0
for a graph input) to one past its last consumer's position (to n for an
output; one step for a buffer without consumer); a cumulative constraint
over these intervals with the sizes as demands has the peak variable as its
capacity, and the objective minimises the peak. The memory before the first
step (graph inputs) is a constant lower bound on the peak.

On top of this *plain* model (what Moccasin, ICML 2023, reduces to with one
copy per node), the default model adds what makes CP-SAT prove faster:

- the peak's domain is [lower bound, best known peak], with our bounds of
  :mod:`pebble_sched.bounds` (and any bound proven by another method);
- redundant position domains: a node runs after all its ancestors and
  before all its descendants (counted with reachability bit matrices);
- the heuristic order as a solution hint (cleared on every solve);
- symmetry breaking: interchangeable nodes (twins, see
  :mod:`pebble_sched.solvers.ideals`) run in index order;
- sizes divided by their greatest common divisor (exact; smaller numbers
  help the cumulative's propagation).

Exact when CP-SAT proves its bound; our status comes from
``best_objective_bound`` (never from the status name: CP-SAT reports
OPTIMAL when a gap limit is reached, and gap limits are left at their
defaults here).
"""

from __future__ import annotations

import logging
import math
import os
from functools import reduce
from typing import TYPE_CHECKING, Any

import numpy as np

from ..constants import INT64_SAFE
from ..runtime import Callbacks, Deadline, run_in_child, sigint_restored
from .ideals import _twin_pairs

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ..graph import Graph

__all__ = ["CpSatModel", "solve_without_a_broken_hint"]

logger = logging.getLogger(__name__)


#: Position domains from ancestor / descendant counts up to this many nodes.
POSITION_BOUNDS_MAX_NODES = 5000


def solve_without_a_broken_hint(
    model: Any, new_solver: Callable[[], Any], callback: Any = None
) -> tuple[Any, int, str | None]:
    """``(solver, status, dropped)``: ``new_solver().solve(model, callback)``, or,
    where OR-Tools fails inside its presolve while it maps the model's
    solution hint (version 9.15 raises IndexError "absl::btree_map::at"
    there, google/or-tools#5288; seen here on a 7-node graph), the same
    without the hint, on a new solver; ``dropped`` is then the error.

    OR-Tools catches SIGINT during a solve (``catch_sigint_signal``, on by
    default) and sets its action to the default (terminate) when the solve
    ends, whatever it was before; the action Python had set is put back
    (:func:`~pebble_sched.runtime.sigint_restored`), so that a forked
    child ignoring SIGINT still ignores it while it sends its answer."""
    with sigint_restored():
        solver = new_solver()
        try:
            return solver, solver.solve(model, callback), None
        except (IndexError, RuntimeError) as e:
            if not model.proto.solution_hint.vars:
                raise
            model.clear_hints()
            solver = new_solver()
            return (
                solver,
                solver.solve(model, callback),
                f"{type(e).__name__}: {e}",
            )


def _watcher(pos: list[Any], send: Callable[[Any], None]) -> Any:
    """A solution callback that sends each order CP-SAT finds (its
    positions) to the parent process."""
    from ortools.sat.python import cp_model

    class Watch(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            send(("order", [self.value(p) for p in pos]))

    return Watch()


def _reach_counts(graph: Graph) -> tuple[list[int], list[int]]:
    """Number of ancestors and of descendants of every node."""
    from ..bounds import _reach_matrix

    desc = _reach_matrix(graph)
    bits = np.unpackbits(desc.view(np.uint8), axis=1, bitorder="little")
    bits = bits[:, : graph.n]
    return bits.sum(axis=0).tolist(), bits.sum(axis=1).tolist()


class CpSatModel:
    """A CP-SAT model of the minimum-peak problem for ``graph``.

    Parameters
    ----------
    graph
        The graph.
    plain
        Build only positions + all-different + precedences + cumulative,
        with no bounds, symmetry breaking or hints (the benchmark baseline).
    lower, upper
        A proven lower bound and a known achievable peak, used to narrow
        the peak's domain (ignored when ``plain``).

    Attributes
    ----------
    model
        The ``ortools.sat.python.cp_model.CpModel``.
    variables
        ``{"pos": [...], "peak": var, "intervals": [...]}``.

    Examples
    --------
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> order, peak, lb, stats = CpSatModel(g).solve(Deadline(10))
    >>> peak, lb
    (5, 5)
    """

    def __init__(
        self,
        graph: Graph,
        *,
        plain: bool = False,
        lower: int | None = None,
        upper: int | None = None,
    ) -> None:
        from ortools.sat.python import cp_model

        self.graph = graph
        self.plain = plain
        mb = graph.memory_buffers()
        if mb.total > INT64_SAFE // 4:
            raise ValueError("CP-SAT needs sizes totalling below 2**61.")
        n = graph.n
        sizes = [int(s) for s in mb.size.tolist()]
        self.scale = reduce(math.gcd, sizes, 0) or 1
        if plain:
            self.scale = 1
        model = cp_model.CpModel()
        self.model = model
        horizon = max(n, 1)
        lo_pos, hi_pos = [0] * n, [horizon - 1] * n
        if not plain and 0 < n <= POSITION_BOUNDS_MAX_NODES:
            # redundant: v runs after all its ancestors, before its descendants
            anc, desc = _reach_counts(graph)
            lo_pos = anc
            hi_pos = [n - 1 - d for d in desc]
        pos = [
            model.new_int_var(lo_pos[v], hi_pos[v], f"pos_{v}")
            for v in range(n)
        ]
        if n > 1:
            model.add_all_different(pos)
        for a, b in zip(
            graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True
        ):
            model.add(pos[a] + 1 <= pos[b])
        initial = sum(
            s
            for s, p in zip(sizes, mb.producer.tolist(), strict=True)
            if p < 0
        )
        total = sum(sizes)
        lo = -(-initial // self.scale)
        hi = -(-total // self.scale)
        if not plain:
            if lower is not None:
                lo = max(lo, -(-int(lower) // self.scale))
            if upper is not None:
                hi = min(hi, int(upper) // self.scale)
            hi = max(hi, lo)
        peak = model.new_int_var(lo, hi, "peak")
        intervals, demands = [], []
        counts = np.diff(mb.cons_ptr).tolist()
        for b, (p, s) in enumerate(
            zip(mb.producer.tolist(), sizes, strict=True)
        ):
            cons = mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]].tolist()
            out = bool(mb.output[b])
            if p < 0 and not cons and not out:
                continue  # lives only before the first step
            start: Any = 0 if p < 0 else pos[p]
            if out:
                end: Any = n
            elif counts[b] == 0:
                end = pos[p] + 1
            elif counts[b] == 1:
                end = pos[cons[0]] + 1
            else:
                last = model.new_int_var(0, horizon - 1, f"last_{b}")
                model.add_max_equality(last, [pos[c] for c in cons])
                end = last + 1
            if p < 0 and out:
                length: Any = n
            else:
                length = model.new_int_var(1, horizon + 1, f"len_{b}")
            intervals.append(
                model.new_interval_var(start, length, end, f"buf_{b}")
            )
            demands.append(s // self.scale)
        if intervals:
            model.add_cumulative(intervals, demands, peak)
        if not plain:
            for a, b in _twin_pairs(graph):
                model.add(pos[a] < pos[b])
        model.minimize(peak)
        self.variables = {"pos": pos, "peak": peak, "intervals": intervals}

    def _listener(self, callbacks: Callbacks) -> Callable[[Any], None]:
        """What the parent does with the child's messages: an order is
        evaluated and reported with its peak, a bound reported in bytes."""
        from ..memory import evaluate_indices

        top = int(self.variables["peak"].proto.domain[-1])

        def heard(message: tuple[str, Any]) -> None:
            kind, value = message
            if kind == "order":
                order = np.argsort(
                    np.array(value, dtype=np.int64), kind="stable"
                )
                peak = evaluate_indices(self.graph, order, check=False).peak
                callbacks.on_improvement(order.astype(np.int64), peak)
            elif kind == "bound" and math.isfinite(value):
                # (within the peak's domain: its upper end is achievable)
                bound = min(math.ceil(value - 1e-6), top)
                callbacks.on_bound(bound * self.scale)

        return heard

    def solve(
        self,
        deadline: Deadline | None = None,
        *,
        hint: np.ndarray | None = None,
        num_workers: int | None = None,
        parameters: Mapping[str, Any] | None = None,
        callbacks: Callbacks | None = None,
    ) -> tuple[np.ndarray | None, int | None, int, dict[str, Any]]:
        """Solve within the deadline.

        Returns ``(order, peak, lower_bound, stats)``: the best order found
        (node indices, or ``None``), its peak as CP-SAT computed it, and
        CP-SAT's proven bound (in bytes). ``hint`` (node indices) replaces
        any earlier hint. ``parameters`` sets further ``SatParameters``
        fields by name (for experiments; the time limit, the worker count
        and the status logic stay ours); an unknown name is a ValueError.
        ``callbacks`` hears of every order CP-SAT finds (with its peak
        evaluated here) and of its bounds while it searches.
        """
        from ortools.sat.python import cp_model

        deadline = deadline or Deadline()
        model = self.model
        pos = self.variables["pos"]
        model.clear_hints()
        if hint is not None and not self.plain:
            for k, v in enumerate(np.asarray(hint).tolist()):
                model.add_hint(pos[v], k)
        remaining = deadline.remaining()
        for name in parameters or {}:
            if not hasattr(cp_model.CpSolver().parameters, name):
                raise ValueError(f"Unknown CP-SAT parameter {name!r}.")

        def new_solver() -> Any:
            solver = cp_model.CpSolver()
            left = deadline.remaining()
            if math.isfinite(left):
                solver.parameters.max_time_in_seconds = max(0.01, left)
            solver.parameters.num_workers = num_workers or (
                os.cpu_count() or 1
            )
            for name, value in (parameters or {}).items():
                setattr(solver.parameters, name, value)
            if logger.isEnabledFor(logging.DEBUG):
                solver.parameters.log_search_progress = True
                solver.log_callback = logger.debug
            # CP-SAT can overrun its limit by seconds while its workers
            # load a large cumulative (its LP relaxation), deaf to
            # stop_search meanwhile; it runs in a forked child that is
            # killed past the deadline (plus a grace), so the time limit
            # holds (#12). Ctrl-C reaches it as SIGINT: it returns its
            # best so far.
            solver.parameters.catch_sigint_signal = True
            return solver

        def run(send: Callable[[Any], None] | None = None) -> tuple:
            make = new_solver
            if send is not None:

                def make() -> Any:
                    solver = new_solver()
                    solver.best_bound_callback = lambda b: send(("bound", b))
                    return solver

            watch = None if send is None else _watcher(pos, send)
            solver, status, dropped = solve_without_a_broken_hint(
                model, make, watch
            )
            found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
            return (
                status,
                solver.status_name(status),
                solver.wall_time,
                solver.num_branches,
                [solver.value(p) for p in pos] if found else None,
                solver.objective_value if found else None,
                solver.best_objective_bound,
                dropped,
            )

        hard = remaining + 0.1 if math.isfinite(remaining) else math.inf
        heard = None if callbacks is None else self._listener(callbacks)
        answer, interrupted = run_in_child(run, hard, on_message=heard)
        if answer is None:  # killed at the deadline: nothing learnt
            stats = {"cpsat_status": "KILLED", "wall_time": hard}
            if interrupted:
                stats["interrupted"] = "ctrl-c"
            return None, None, 0, stats
        *head, dropped = answer
        status, name, wall, branches, values, objective, best_bound = head
        stats: dict[str, Any] = {
            "cpsat_status": name,
            "wall_time": wall,
            "branches": branches,
        }
        if dropped is not None:
            stats["hint_dropped"] = dropped
        if interrupted:
            stats["interrupted"] = "ctrl-c"
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            order = np.argsort(np.array(values, dtype=np.int64), kind="stable")
            peak = int(objective) * self.scale
            bound = math.ceil(best_bound - 1e-6) * self.scale
            return order.astype(np.int64), peak, min(bound, peak), stats
        if status == cp_model.INFEASIBLE:
            # the peak's domain excluded every schedule: the upper end is optimal
            stats["infeasible_domain"] = True
            hi = self.variables["peak"].proto.domain[-1]
            return None, None, int(hi + 1) * self.scale, stats
        bound = math.ceil(best_bound - 1e-6) * self.scale
        return None, None, max(0, bound), stats
