"""The largest peak any parallel schedule of a graph can reach.

Model: the full buffer model, executed in parallel (docs/model.md). A buffer
is allocated when its producer *starts* and freed when the last node of its
*release set* *finishes*; the release set is its consumers, or its producer
alone when it has none (a workspace, a sink's unread output). Outputs are
never freed; graph inputs are live from time 0. A *state* of an execution
is a pair (S, F): the nodes started and the nodes finished. S and F are
ideals, F ⊆ S, and every running node (in S \\ F) has all its predecessors
in F. Its memory is the total size of the buffers allocated in S and not
released by F.

With unbounded processors and a scheduler free to wait, every such state
is reachable (run F, then start all of S \\ F at once), whatever the
durations. Memory falls as F grows, so the maximum over states is the
maximum over ideals S with F = S minus its maximal elements.

**Exact by one minimum cut when each buffer has one release node.** Split
every node v into v+ (start) and v- (finish), with v+ -> v- and u- -> v+
for every edge u -> v: the states are exactly the ideals S' of this split
graph. A buffer b produced by p and released by r is live in S' iff p+ is
in S' and r- is not; r- in S' forces p+ in S' (a path), so
``[p+ in S'][r- not in S'] = [p+ in S'] - [r- in S']``: the memory is a
*modular* function of S' and its maximum is a maximum-weight closure
(Picard, 1976), one max-flow (OR-Tools). This is the maximum topological
cut of Marchal, Nagy, Simon and Vivien (IPDPS 2018) in our buffer model. A
buffer with several consumers of which one descends from all the others
has that one as its single release node.

**Several release nodes: a sound upper bound and an exact model.** A buffer
read by several unordered consumers is live while *any* of them is
unfinished: an OR, which makes the memory submodular rather than modular
in S'. For the bound, such a buffer gets a virtual release node r after
all its consumers' finishes and before the start of every common
descendant of them: r in S' can only mean "all consumers finished", so
the closure counts the buffer at least whenever it is really live (and
also when all consumers finished but no common descendant has started).
The exact maximum comes from a CP-SAT model over started/finished
booleans, for graphs of moderate size, and from enumeration (the test
oracle) for tiny ones. Every witness state is re-evaluated from the
definition above, which also gives a lower bound on the maximum.

Complexity: one max-flow on 2n + B nodes and n + m + (consumers) arcs;
the common descendants need a reachability bit matrix (graphs of up to
``BOUND_MATRIX_MAX_NODES`` nodes; above it shared buffers count as never
freed, still sound).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from ..bounds import _reach_matrix, _unpack
from ..constants import INT64_SAFE
from ..graph import require_graph
from ..runtime import Deadline, run_in_child
from ..solvers.cpsat import solve_without_a_broken_hint

if TYPE_CHECKING:
    from ..graph import Graph, NodeId

__all__ = [
    "ParallelPeak",
    "brute_force_max_parallel_peak",
    "max_parallel_peak",
    "state_memory",
]

#: Above this many nodes, the common descendants of shared buffers' readers
#: are not computed (the bound then treats such buffers as never freed).
BOUND_MATRIX_MAX_NODES = 20_000

#: Graphs up to this many nodes get the exact CP-SAT model under ``auto``
#: when the flow bound is not exact.
AUTO_CPSAT_MAX_NODES = 2_000

#: The brute-force oracle enumerates subsets: up to this many nodes.
BRUTE_MAX_NODES = 16


@dataclass(frozen=True)
class ParallelPeak:
    """The largest parallel peak of a graph and a state that reaches it.

    Attributes
    ----------
    value
        The memory of ``started``/``finished``: a reachable state, so the
        maximum is at least this.
    upper_bound
        A proven upper bound on the maximum (``value`` when exact).
    started, finished
        The witness state, as node ids: the nodes started and, among them,
        those finished (the others are running).
    method
        ``flow`` (exact min cut), ``flow-bound`` (the cut's upper bound),
        ``cpsat`` or ``brute``.
    stats
        Details (cut sizes, CP-SAT status).
    """

    value: int
    upper_bound: int
    started: tuple[NodeId, ...]
    finished: tuple[NodeId, ...]
    method: str
    stats: dict[str, Any]

    @property
    def exact(self) -> bool:
        """Whether ``value`` is proven to be the maximum."""
        return self.value == self.upper_bound

    @property
    def running(self) -> tuple[NodeId, ...]:
        """The nodes running in the witness state."""
        done = set(self.finished)
        return tuple(v for v in self.started if v not in done)


@dataclass(frozen=True, eq=False)
class _Release:
    """Per expanded buffer: producer, size, output flag and release nodes (CSR)."""

    producer: np.ndarray
    size: np.ndarray
    output: np.ndarray
    ptr: np.ndarray
    idx: np.ndarray

    def __len__(self) -> int:
        return len(self.size)

    def nodes(self, b: int) -> np.ndarray:
        return self.idx[self.ptr[b] : self.ptr[b + 1]]

    @cached_property
    def count(self) -> np.ndarray:
        return np.diff(self.ptr)

    @cached_property
    def total(self) -> int:
        """All sizes added up, exactly."""
        return int(sum(self.size.tolist()))

    @cached_property
    def unread_input(self) -> np.ndarray:
        """Graph inputs nobody reads: live at time 0 only."""
        return (self.producer < 0) & (self.count == 0) & ~self.output


def _release_sets(graph: Graph) -> _Release:
    """The expanded buffers with their release nodes: the consumers, or the
    producer alone when there are none (consumers listed once each)."""
    mb = graph.memory_buffers()
    nb = len(mb)
    owner = np.repeat(np.arange(nb), np.diff(mb.cons_ptr))
    pairs = (
        np.unique(np.stack([owner, mb.cons_idx]).T.reshape(-1, 2), axis=0)
        if len(owner)
        else np.zeros((0, 2), dtype=np.int64)
    )
    counts = np.bincount(pairs[:, 0], minlength=nb) if nb else np.zeros(0)
    lonely = np.flatnonzero((counts == 0) & (mb.producer >= 0))
    owners = np.concatenate([pairs[:, 0], lonely])
    nodes = np.concatenate([pairs[:, 1], mb.producer[lonely]])
    order = np.argsort(owners, kind="stable")
    ptr = np.zeros(nb + 1, dtype=np.int64)
    np.cumsum(np.bincount(owners, minlength=nb), out=ptr[1:])
    return _Release(
        mb.producer.astype(np.int64),
        mb.size.astype(np.int64),
        mb.output.astype(bool),
        ptr,
        nodes[order].astype(np.int64),
    )


def state_memory(
    graph: Graph, started: Any, finished: Any, *, check: bool = True
) -> int:
    """Memory of the state where ``started`` nodes have started and ``finished`` have finished.

    Parameters
    ----------
    graph
        The graph.
    started, finished
        Node ids (``finished`` a subset of ``started``).
    check
        Raise ``ValueError`` unless the state is reachable: both sets
        closed under predecessors, and every running node's predecessors
        finished.

    Examples
    --------
    >>> from pebble_sched import Graph
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> state_memory(g, ["a", "b", "c"], ["a"])   # b and c running
    6
    """
    S = np.zeros(graph.n, dtype=bool)
    F = np.zeros(graph.n, dtype=bool)
    S[graph.to_indices(started)] = True
    F[graph.to_indices(finished)] = True
    if check:
        if (F & ~S).any():
            raise ValueError("A finished node has not started.")
        src, dst = graph.edge_src, graph.edge_dst
        bad = np.flatnonzero(S[dst] & ~F[src])
        if len(bad):
            u, v = graph.ids[src[bad[0]]], graph.ids[dst[bad[0]]]
            raise ValueError(f"{v!r} started before {u!r} finished.")
    return _memory(graph, S, F)


def _memory(
    graph: Graph,
    S: np.ndarray,
    F: np.ndarray,
    rel: _Release | None = None,
    unread: bool = True,
) -> int:
    """The memory of state (S, F); ``unread=False`` leaves out the inputs
    nobody reads (live in the empty state only, outside the flow)."""
    rel = rel or _release_sets(graph)
    if not len(rel):
        return 0
    allocated = (rel.producer < 0) | S[np.maximum(rel.producer, 0)]
    # released: every release node finished (a segment's minimum)
    done = F[rel.idx].astype(np.int8)
    nonempty = rel.count > 0
    released = np.zeros(len(rel), dtype=bool)
    if len(done):
        starts = rel.ptr[:-1][nonempty]
        released[nonempty] = np.minimum.reduceat(done, starts) == 1
    live = allocated & (rel.output | ~released)
    live[rel.unread_input] = unread and not S.any()
    return int(sum(rel.size[live].tolist()))  # Python ints: no wrap-around


def brute_force_max_parallel_peak(graph: Graph) -> ParallelPeak:
    """The exact maximum by enumerating every ideal (n <= 16): the test oracle.

    Examples
    --------
    >>> from pebble_sched import Graph
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> brute_force_max_parallel_peak(g).value
    6
    """
    require_graph(graph, "brute_force_max_parallel_peak")
    n = graph.n
    if n > BRUTE_MAX_NODES:
        raise ValueError(f"Brute force takes at most {BRUTE_MAX_NODES} nodes.")
    pred = [0] * n
    for u, v in zip(
        graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True
    ):
        pred[v] |= 1 << u
    succ = [0] * n
    for u, v in zip(
        graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True
    ):
        succ[u] |= 1 << v
    best, witness = -1, (0, 0)
    rel = _release_sets(graph)
    for mask in range(1 << n):
        if any(
            mask >> v & 1 and pred[v] & ~mask for v in range(n)
        ):  # not an ideal
            continue
        maximal = sum(
            1 << v for v in range(n) if mask >> v & 1 and not succ[v] & mask
        )
        finished = mask & ~maximal
        S = np.array([mask >> v & 1 for v in range(n)], dtype=bool)
        F = np.array([finished >> v & 1 for v in range(n)], dtype=bool)
        value = _memory(graph, S, F, rel)
        if value > best:
            best, witness = value, (mask, finished)
    ids = graph.ids
    started = tuple(ids[v] for v in range(n) if witness[0] >> v & 1)
    finished = tuple(ids[v] for v in range(n) if witness[1] >> v & 1)
    return ParallelPeak(best, best, started, finished, "brute", {})


def _flow_bound(graph: Graph) -> tuple[int, np.ndarray, np.ndarray, dict]:
    """Max-weight closure of the split graph: ``(bound, S, F, stats)``."""
    n = graph.n
    rel = _release_sets(graph)
    reach = None
    if n <= BOUND_MATRIX_MAX_NODES and (rel.count > 1).any():
        reach = _unpack(_reach_matrix(graph), n)
        reach[np.arange(n), np.arange(n)] = True  # descendants or equal
    bound, S, F, _live, stats = closure_bound(
        n, rel, graph.edge_src, graph.edge_dst, reach
    )
    return bound, S, F, stats


def shared_release_rule(
    n: int,
    nodes: np.ndarray,
    desc: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
) -> tuple[int, np.ndarray | None]:
    """How a buffer read by ``nodes`` is released: ``(last, minimal)``.

    ``last`` is a consumer that descends from all the others (it alone
    frees the buffer), else -1 and ``minimal`` holds the minimal common
    descendants of the consumers (any of them started: the buffer is
    freed). It depends on the descendants of ``nodes`` only.
    """
    last = np.flatnonzero(desc[nodes][:, nodes].all(axis=0))
    if len(last):
        return int(nodes[last[0]]), None
    common = desc[nodes].all(axis=0)
    # the minimal ones: no predecessor among the common descendants
    inner = np.zeros(n, dtype=bool)
    inner[dst[common[src] & common[dst]]] = True
    return -1, np.flatnonzero(common & ~inner)


def closure_bound(
    n: int,
    rel: _Release,
    src: np.ndarray,
    dst: np.ndarray,
    reach: np.ndarray | None,
    rules: dict[int, tuple[int, np.ndarray | None]] | None = None,
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, dict]:
    """The split graph's max-weight closure: ``(bound, S, F, live, stats)``.

    ``src``/``dst`` are the edges (fictitious ones included), ``reach`` a
    boolean matrix of descendants-or-equal (or ``None``: shared buffers are
    then freed only at the end). ``live`` marks the buffers the bound counts
    in the witness state (S, F). Split nodes: v+ is v, v- is n + v; virtual
    release nodes from 2n on. ``rules`` caches :func:`shared_release_rule`
    per shared buffer across calls (the caller drops the entries that edges
    added since have made stale).
    """
    from ortools.graph.python import max_flow

    count = rel.count
    keep = ~rel.unread_input  # unread inputs: the empty state (see caller)
    # every weight is within +-total, and so is any cut: int64 is exact
    inf = 2 * rel.total + 1
    if inf > INT64_SAFE // 2:
        raise ValueError("Sizes too large for the flow (total above 2**61).")
    weight = np.zeros(2 * n, dtype=np.int64)
    has_prod = keep & (rel.producer >= 0)
    np.add.at(weight, rel.producer[has_prod], rel.size[has_prod])
    constant = int(sum(rel.size[keep & (rel.producer < 0)].tolist()))
    freeable = keep & ~rel.output
    # one release node r: -size on r-
    single = np.flatnonzero(freeable & (count == 1))
    np.add.at(
        weight,
        n + rel.idx[rel.ptr[single]],
        -rel.size[single],
    )
    multi = np.flatnonzero(freeable & (count > 1)).tolist()
    desc = reach
    # per buffer, the split node whose presence frees it (-1: never)
    freed_by = np.full(len(rel), -1, dtype=np.int64)
    freed_by[single] = n + rel.idx[rel.ptr[single]]
    extra_w: list[int] = []
    tails: list[np.ndarray] = []
    heads: list[np.ndarray] = []
    exact = True
    for b in multi:
        size, nodes = int(rel.size[b]), rel.nodes(b)
        last, minimal = -1, None
        if desc is not None:
            rule = rules.get(b) if rules is not None else None
            if rule is None:
                rule = shared_release_rule(n, nodes, desc, src, dst)
                if rules is not None:
                    rules[b] = rule
            last, minimal = rule
        if last >= 0:  # a consumer that descends from all others
            weight[n + last] -= size
            freed_by[b] = n + last
            continue
        exact = False
        r = 2 * n + len(extra_w)
        freed_by[b] = r
        extra_w.append(-size)
        tails.append(np.full(len(nodes), r))  # after every consumer's finish
        heads.append(n + nodes)
        if minimal is not None:
            tails.append(minimal)
            heads.append(np.full(len(minimal), r))  # before their start
    total_nodes = 2 * n + len(extra_w)
    s, t = total_nodes, total_nodes + 1
    w_all = np.concatenate([weight, np.array(extra_w, dtype=np.int64)])
    # closure arcs, x needs y: v- needs v+, v+ needs u- (edges u -> v)
    tails += [n + np.arange(n), dst]
    heads += [np.arange(n), n + src]
    n_inf = sum(len(x) for x in tails)
    pos = np.flatnonzero(w_all > 0)
    neg = np.flatnonzero(w_all < 0)
    # s -> t of capacity 0: OR-Tools answers an empty cut when a terminal
    # is on no arc
    tails += [np.full(len(pos), s), neg, np.array([s])]
    heads += [pos, np.full(len(neg), t), np.array([t])]
    caps = np.concatenate(
        [np.full(n_inf, inf), w_all[pos], -w_all[neg], np.zeros(1)]
    ).astype(np.int64)
    smf = max_flow.SimpleMaxFlow()
    smf.add_arcs_with_capacity(
        np.concatenate(tails).astype(np.int64),
        np.concatenate(heads).astype(np.int64),
        caps,
    )
    if smf.solve(s, t) != smf.OPTIMAL:  # pragma: no cover - cannot happen
        raise RuntimeError("max-flow failed on the split graph")
    closure = np.zeros(total_nodes + 2, dtype=bool)
    closure[np.asarray(smf.get_source_side_min_cut(), dtype=np.int64)] = True
    positive = int(w_all[pos].sum())
    bound = constant + positive - int(smf.optimal_flow())
    stats = {
        "split_nodes": total_nodes,
        "arcs": len(caps),
        "shared_buffers": len(extra_w),
        "flow_exact": exact,
    }
    S, F = closure[:n].copy(), closure[n : 2 * n].copy()
    allocated = (rel.producer < 0) | S[np.maximum(rel.producer, 0)]
    live = (
        keep
        & allocated
        & (rel.output | (freed_by < 0) | ~closure[np.maximum(freed_by, 0)])
    )
    return bound, S, F, live, stats


def _cpsat_exact(
    graph: Graph, deadline: Deadline, upper: int, hint: tuple
) -> tuple[int, int, np.ndarray, np.ndarray, dict]:
    """Exact maximum by CP-SAT: ``(value, bound, S, F, stats)``."""
    from ortools.sat.python import cp_model

    n = graph.n
    rel = _release_sets(graph)
    model = cp_model.CpModel()
    st = [model.new_bool_var(f"s{v}") for v in range(n)]
    fn = [model.new_bool_var(f"f{v}") for v in range(n)]
    for v in range(n):
        model.add_implication(fn[v], st[v])
    for u, v in zip(
        graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True
    ):
        model.add_implication(st[v], fn[u])
    terms, constant = [], 0
    unread = rel.unread_input
    for b in range(len(rel)):
        size, p = int(rel.size[b]), int(rel.producer[b])
        if unread[b]:
            continue  # live in the empty state only: see the caller
        if p < 0 and rel.output[b]:
            constant += size
            continue
        live = model.new_bool_var(f"b{b}")
        if p >= 0:
            model.add_implication(live, st[p])
        if not rel.output[b]:
            model.add_bool_or(
                [~fn[c] for c in rel.nodes(b).tolist()]
            ).only_enforce_if(live)
        terms.append((size, live))
    objective = sum(size * live for size, live in terms)
    model.maximize(objective)
    model.add(objective <= max(0, upper - constant))
    S0, F0 = hint
    for v in range(n):
        model.add_hint(st[v], bool(S0[v]))
        model.add_hint(fn[v], bool(F0[v]))
    remaining = deadline.remaining()

    def new_solver() -> Any:
        solver = cp_model.CpSolver()
        left = deadline.remaining()
        if math.isfinite(left):
            solver.parameters.max_time_in_seconds = max(0.01, left)
        return solver

    def run() -> tuple:
        solver, status, _ = solve_without_a_broken_hint(model, new_solver)
        found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        return (
            solver.status_name(status),
            found,
            [solver.value(x) for x in st] if found else None,
            [solver.value(x) for x in fn] if found else None,
            solver.best_objective_bound,
        )

    hard = remaining + 0.1 if math.isfinite(remaining) else math.inf
    answer, _ = run_in_child(run, hard)
    if answer is None or not answer[1]:
        status = "KILLED" if answer is None else answer[0]
        return -1, upper, S0, F0, {"cpsat_status": status}
    name, _, sv, fv, bound = answer
    S = np.array(sv, dtype=bool)
    F = np.array(fv, dtype=bool)
    value = _memory(graph, S, F, unread=False)
    proven = min(upper, constant + math.floor(bound + 1e-6))
    return value, max(value, proven), S, F, {"cpsat_status": name}


def max_parallel_peak(
    graph: Graph,
    *,
    method: str = "auto",
    time_limit: float = math.inf,
) -> ParallelPeak:
    """The largest memory any parallel schedule of ``graph`` can reach.

    Parameters
    ----------
    graph
        The graph (buffer model; node times do not matter).
    method
        ``"flow"``: the split-graph minimum cut (exact when every buffer has
        one release node, else a sound upper bound); ``"cpsat"``: the exact
        model (moderate sizes); ``"brute"``: enumeration (n <= 16);
        ``"auto"`` (default): the flow, then CP-SAT when the flow is not
        exact and the graph has at most ``AUTO_CPSAT_MAX_NODES`` nodes.
    time_limit
        Seconds for the CP-SAT model. Default ``inf``.

    Returns
    -------
    ParallelPeak
        A witness state with its re-evaluated memory (``value``) and a
        proven ``upper_bound``; ``exact`` when they meet.

    Examples
    --------
    >>> from pebble_sched import Graph
    >>> # a fork: a's buffer is read by b and c; all three can be live
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> r = max_parallel_peak(g)
    >>> r.value, r.exact, sorted(r.running)
    (6, True, ['b', 'c'])

    References
    ----------
    L. Marchal, H. Nagy, B. Simon, F. Vivien, *Parallel scheduling of DAGs
    under memory constraints*, IPDPS 2018. J.-C. Picard, *Maximal closure
    of a graph and applications to combinatorial problems*, Management
    Science 22(11), 1976.
    """
    require_graph(graph, "max_parallel_peak")
    if method not in ("auto", "flow", "cpsat", "brute"):
        raise ValueError(
            f"Unknown method {method!r}; choose auto, flow, cpsat or brute."
        )
    ids = graph.ids

    def result(value, upper, S, F, name, stats):
        started = tuple(ids[v] for v in np.flatnonzero(S).tolist())
        finished = tuple(ids[v] for v in np.flatnonzero(F).tolist())
        return ParallelPeak(value, upper, started, finished, name, stats)

    if method == "brute":
        return brute_force_max_parallel_peak(graph)
    deadline = Deadline(time_limit)
    bound, S, F, stats = _flow_bound(graph)
    value = _memory(graph, S, F, unread=False)
    if stats["flow_exact"] and value != bound:  # pragma: no cover
        raise RuntimeError(
            f"flow cut {bound} differs from its state's memory {value}"
        )
    name = "flow"
    if value < bound and (
        method == "cpsat"
        or (method == "auto" and graph.n <= AUTO_CPSAT_MAX_NODES)
    ):
        cval, cbound, cS, cF, cstats = _cpsat_exact(
            graph, deadline, bound, (S, F)
        )
        stats.update(cstats)
        if cval > value:
            value, S, F = cval, cS, cF
        bound, name = min(bound, cbound), "cpsat"
    if value < bound and name == "flow":
        name = "flow-bound"
    # the empty state: graph inputs that nobody reads are live at time 0
    empty = np.zeros(graph.n, dtype=bool)
    before = _memory(graph, empty, empty)
    if before > value:
        value, S, F = before, empty, empty
    value = _memory(graph, S, F)  # the witness's memory, all inputs counted
    return result(value, max(bound, before), S, F, name, stats)
