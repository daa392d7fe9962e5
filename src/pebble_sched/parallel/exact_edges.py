"""The fictitious edges of least critical path, by CP-SAT (small graphs).

Model: the parallel buffer model of :mod:`.max_peak`, restricted to graphs
whose buffers have at most one release node (one reader, or none): edge-
weighted workflows, chains of node sizes. Then the largest parallel peak is
the maximum-weight closure of the split graph (exact), and "at most M" has
a certificate: by max-flow/min-cut duality, a flow of value at least
``sum of positive weights - (M - constant)`` in the closure network.

Variables: ``e[i][j]`` for every ordered pair (i precedes j in the new
graph, a transitive relation containing the original one), a flow on the
closure network whose precedence arcs exist only where ``e`` says so, and
start times; the objective is the critical path (the makespan with
unbounded processors). Node times are scaled to integers (1,000 units per
time unit, rounded). O(n^2) booleans and O(n^3) transitivity constraints:
up to ``MAX_NODES`` nodes. Exact: ``stats["optimal"]`` is true only when
CP-SAT proved the critical path (its bound met the objective). This
reconstructs the ILP of Marchal, Nagy, Simon and Vivien (IPDPS 2018) in
spirit: pairwise order variables, a flow certificate, start times.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..bounds import _reach_matrix, _unpack
from ..graph import require_graph
from ..runtime import Deadline, run_in_child
from ..solvers.cpsat import solve_without_a_broken_hint
from .fictitious_edges import (
    RestrictedGraph,
    critical_path,
    restrict,
    with_fictitious_edges,
)
from .max_peak import _memory, _release_sets, closure_bound

if TYPE_CHECKING:
    from ..graph import Graph

__all__ = ["MAX_NODES", "exact_restrict"]

#: The model has n**2 order variables and n**3 transitivity constraints.
MAX_NODES = 40

#: Node times are multiplied by this and rounded for CP-SAT.
TIME_SCALE = 1000


def exact_restrict(
    graph: Graph,
    memory_bound: int,
    *,
    time_limit: float = 60.0,
    num_workers: int | None = None,
) -> RestrictedGraph:
    """Fictitious edges keeping every parallel schedule within the bound, with the least critical path.

    Parameters
    ----------
    graph
        At most ``MAX_NODES`` nodes; every buffer read by at most one node.
    memory_bound
        The bound M in bytes.
    time_limit
        Seconds for CP-SAT. Default 60.
    num_workers
        CP-SAT workers. Default: all cores.

    Returns
    -------
    RestrictedGraph
        ``method`` is ``cpsat``; ``stats["optimal"]`` says whether the
        critical path is proven minimal; ``success`` is false when no
        solution was found in time (or none exists: ``stats["infeasible"]``).

    Examples
    --------
    >>> from pebble_sched import Graph
    >>> # two independent chains, each with 5 bytes in flight
    >>> g = Graph(["a1", "a2", "b1", "b2"], [("a1", "a2"), ("b1", "b2")],
    ...           edge_size=[5, 5])
    >>> r = exact_restrict(g, 5, time_limit=10)
    >>> r.success, r.max_peak_before, r.max_peak_after, r.stats["optimal"]
    (True, 10, 5, True)
    >>> r.critical_path_before, r.critical_path_after
    (2.0, 4.0)
    """
    require_graph(graph, "exact_restrict")
    from ortools.sat.python import cp_model

    n = graph.n
    if n > MAX_NODES:
        raise ValueError(f"The exact model takes at most {MAX_NODES} nodes.")
    rel = _release_sets(graph)
    if (rel.count > 1).any():
        raise ValueError(
            "The exact model needs every buffer read by at most one node "
            "(edge sizes, workspaces); this graph shares buffers."
        )
    empty = np.zeros(n, dtype=bool)
    at_start = _memory(graph, empty, empty)
    # weights of the closure network (as in max_peak.closure_bound)
    keep = ~rel.unread_input
    weight = [0] * (2 * n)
    constant = 0
    for b in np.flatnonzero(keep).tolist():
        size, p = int(rel.size[b]), int(rel.producer[b])
        if p >= 0:
            weight[p] += size
        else:
            constant += size
        if not rel.output[b] and rel.count[b] == 1:
            weight[n + int(rel.nodes(b)[0])] -= size
    positive = sum(w for w in weight if w > 0)
    need = positive - (memory_bound - constant)  # flow to certify
    # the order's smallest possible peak: a chain can do no better
    if memory_bound < max(at_start, constant):
        raise ValueError(
            f"No schedule keeps {max(at_start, constant)} bytes of inputs "
            f"below {memory_bound}."
        )
    reach = _unpack(_reach_matrix(graph), n) if n else np.zeros((0, 0), bool)
    time_ = np.rint(np.asarray(graph.time, dtype=float) * TIME_SCALE).astype(
        np.int64
    )
    horizon = int(time_.sum()) + 1
    big = sum(abs(w) for w in weight) + 1

    model = cp_model.CpModel()
    e = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i != j:
                e[i][j] = model.new_bool_var(f"e{i}_{j}")
                if reach[i, j]:
                    model.add(e[i][j] == 1)
    for i in range(n):
        for j in range(i + 1, n):
            model.add_bool_or([~e[i][j], ~e[j][i]])
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            for k in range(n):
                if k not in (i, j):
                    model.add_implication(e[i][j], e[i][k]).only_enforce_if(
                        e[j][k]
                    )
    # flow certificate on the split network: s = 2n, t = 2n + 1
    s, t = 2 * n, 2 * n + 1
    arcs: list[tuple[int, int, Any]] = []
    for x, w in enumerate(weight):
        if w > 0:
            arcs.append((s, x, model.new_int_var(0, w, f"fs{x}")))
        elif w < 0:
            arcs.append((x, t, model.new_int_var(0, -w, f"ft{x}")))
    for v in range(n):  # v- needs v+
        arcs.append((n + v, v, model.new_int_var(0, big, f"fv{v}")))
    for u in range(n):
        for v in range(n):
            if u != v:  # v+ needs u- when u precedes v
                f = model.new_int_var(0, big, f"f{u}_{v}")
                model.add(f == 0).only_enforce_if(~e[u][v])
                arcs.append((v, n + u, f))
    inflow: list[list[Any]] = [[] for _ in range(2 * n + 2)]
    outflow: list[list[Any]] = [[] for _ in range(2 * n + 2)]
    for a, b, f in arcs:
        outflow[a].append(f)
        inflow[b].append(f)
    for x in range(2 * n):
        model.add(sum(inflow[x]) == sum(outflow[x]))
    if need > 0:
        model.add(sum(outflow[s]) >= need)
    # start times and the critical path
    st = [model.new_int_var(0, horizon, f"st{v}") for v in range(n)]
    cp = model.new_int_var(0, horizon, "cp")
    for i in range(n):
        model.add(cp >= st[i] + int(time_[i]))
        for j in range(n):
            if i != j:
                model.add(st[j] >= st[i] + int(time_[i])).only_enforce_if(
                    e[i][j]
                )
    model.minimize(cp)
    # hint: the best heuristic result
    start_hint = None
    try:
        h = restrict(graph, memory_bound)
        if h.success:
            start_hint = h
    except ValueError:
        pass
    if start_hint is not None:
        g2 = start_hint.graph
        r2 = _unpack(_reach_matrix(g2), n)
        _, top, _ = critical_path(
            n, g2.edge_src, g2.edge_dst, np.asarray(g2.time, dtype=float)
        )
        for i in range(n):
            model.add_hint(st[i], round(top[i] * TIME_SCALE) - int(time_[i]))
            for j in range(n):
                if i != j:
                    model.add_hint(e[i][j], bool(r2[i, j]))
    deadline = Deadline(time_limit)

    def new_solver() -> Any:
        solver = cp_model.CpSolver()
        left = deadline.remaining()
        solver.parameters.max_time_in_seconds = max(0.01, left)
        if num_workers:
            solver.parameters.num_workers = num_workers
        return solver

    def run() -> tuple:
        solver, status, _ = solve_without_a_broken_hint(model, new_solver)
        found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        order = (
            [
                [solver.value(e[i][j]) if i != j else 0 for j in range(n)]
                for i in range(n)
            ]
            if found
            else None
        )
        return (
            solver.status_name(status),
            found,
            order,
            solver.objective_value if found else None,
            solver.best_objective_bound,
        )

    answer, _ = run_in_child(run, deadline.remaining() + 0.1)
    status = "KILLED" if answer is None else answer[0]
    stats: dict[str, Any] = {"cpsat_status": status}
    cp0 = critical_path(
        n, graph.edge_src, graph.edge_dst, np.asarray(graph.time, float)
    )[0]
    if answer is None or not answer[1]:
        stats["infeasible"] = status == "INFEASIBLE"
        return RestrictedGraph(
            graph, (), False, int(memory_bound), 0, 0, cp0, cp0, "cpsat", stats
        )
    _, _, order, objective, bound = answer
    stats["optimal"] = math.ceil(bound - 1e-6) >= round(objective)
    # the new precedences, reduced: no pair implied by others
    import networkx as nx  # (here: its import costs 0.2 s at start-up)

    closure = nx.DiGraph()
    closure.add_nodes_from(range(n))
    closure.add_edges_from(
        (i, j) for i in range(n) for j in range(n) if i != j and order[i][j]
    )
    reduced = nx.transitive_reduction(closure)
    ids = graph.ids
    added = [(i, j) for i, j in reduced.edges if not reach[i, j]]
    new = with_fictitious_edges(graph, [(ids[i], ids[j]) for i, j in added])
    src = np.concatenate([graph.edge_src, [a for a, _ in added]]).astype(
        np.int64
    )
    dst = np.concatenate([graph.edge_dst, [b for _, b in added]]).astype(
        np.int64
    )
    r2 = _unpack(_reach_matrix(new), n)
    r2[np.arange(n), np.arange(n)] = True
    after = max(closure_bound(n, rel, src, dst, r2)[0], at_start)
    before = max(
        closure_bound(n, rel, graph.edge_src, graph.edge_dst, None)[0],
        at_start,
    )
    if after > memory_bound:  # pragma: no cover - the certificate forbids it
        raise RuntimeError(f"exact model left a peak {after} > {memory_bound}")
    return RestrictedGraph(
        graph=new,
        added=tuple((ids[a], ids[b]) for a, b in added),
        success=True,
        memory_bound=int(memory_bound),
        max_peak_before=int(before),
        max_peak_after=int(after),
        critical_path_before=cp0,
        critical_path_after=critical_path(
            n, src, dst, np.asarray(graph.time, dtype=float)
        )[0],
        method="cpsat",
        stats=stats,
    )
