"""The one entry point: ``solve(graph) -> Schedule``, and the method registry.

Each method is a :class:`Method`: a name, whether it is exact, which graphs
it supports, and a function that returns an order (node indices), a proven
lower bound and statistics. :func:`solve` never trusts a method's claim: it
re-evaluates the order with :func:`pebble_sched.memory.evaluate_indices`,
takes the peak from that, and reports ``optimal`` only when the peak equals
the best proven lower bound.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ._version import __version__
from .bounds import CUT_LIMIT, QUAD_TRIPLES, lower_bound, pair_bound
from .constants import INT64_SAFE
from .exceptions import PebbleSchedError
from .graph import Graph, require_graph
from .memory import evaluate_indices
from .runtime import (
    Callbacks,
    ChildDied,
    Deadline,
    TimeUp,
    Tracker,
    import_optional,
    start_in_child,
)
from .schedule import Schedule, Status
from .solvers.brute_force import MAX_NODES, brute_force
from .solvers.cpsat import CpSatModel
from .solvers.dominant import (
    COMPILED_MIN_NODES,
    LARGE,
    SP_FAMILIES,
    kernels_in_time,
    sp_order,
    sp_supported,
)
from .solvers.heuristics import (
    HeuristicParams,
    heuristic_schedule,
    liu_relaxation_order,
    local_search,
)
from .solvers.ideals import beam_order, ideal_search
from .solvers.ideals import supports as ideals_supported
from .solvers.inductor import INDUCTOR_METHODS, inductor_order, input_order
from .solvers.near_sp import near_sp_order
from .solvers.pivots import join_orders, split_blocks
from .solvers.series_parallel import decompose, is_pumpkin
from .solvers.sp_bound import sp_relaxation_bound
from .solvers.sp_merge import FixedAtoms, fixed_atoms, sp_merge_order
from .solvers.sp_regions import fix_sp_regions
from .solvers.spization import node_model_proxy, spize
from .solvers.trees import is_in_tree, is_out_forest, liu_order
from .structure import longest_path_layers

if TYPE_CHECKING:
    from .runtime import Child

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
    #: the graphs ``supports`` accepts, in words (for the error otherwise)
    takes: str = "any graph"
    #: whether ``run`` computes the costly bounds itself, only when its
    #: order is not proven (the dispatcher then starts with the per-node
    #: bound: the cut bound can take a hundred times as long as the method)
    own_bounds: bool = False
    #: the options ``run`` takes (``solve`` rejects others: a misspelt
    #: option must not be dropped in silence)
    options: tuple[str, ...] = ()


def _always(graph: Graph) -> bool:
    return True


def cpsat_supported(graph: Graph) -> bool:
    """CP-SAT needs sizes totalling below 2**61 (int64 sums inside)."""
    return graph.memory_buffers().total <= INT64_SAFE // 4


def _run_heuristic(
    graph, deadline, rng, callbacks, *, target=0, num_workers=None, **options
):
    params = options.pop("params", None) or HeuristicParams(**options)
    order, _, stats = heuristic_schedule(
        graph,
        deadline,
        seed=rng,
        params=params,
        callbacks=callbacks,
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


def _tree_ok(graph: Graph) -> bool:
    if _liu_exact(graph):
        return True
    forest = is_out_forest(graph) or is_in_tree(graph)
    if forest and fixed_atoms(graph) is not None:
        return True  # edge weights: no forks, exact by the merge
    return is_out_forest(graph) and sp_supported(graph)


def _run_tree(graph, deadline, rng, callbacks, **options):
    if _liu_exact(graph):
        try:
            order = liu_order(graph, deadline)
        except (TimeUp, KeyboardInterrupt) as exc:
            # (Liu's algorithm takes 3 s at 10^6 nodes compiled, 12 s in
            # Python: the input order, marked as such)
            why = "time" if isinstance(exc, TimeUp) else "ctrl-c"
            stats = {"algorithm": "liu", "interrupted": why}
            return input_order(graph), 0, {**stats, "fallback": "input"}
        peak = evaluate_indices(graph, order, check=False).peak
        return order, peak, {"algorithm": "liu"}
    return _run_sp(graph, deadline, rng, callbacks, **options)


def _sp_stats(r) -> dict[str, Any]:
    return {
        "exact": r.exact,
        "forks": r.forks,
        "nested_branches": r.nested,
        "candidates": r.candidates,
        "capped_forks": r.capped,
        "undominated_forks": r.undominated,
        "conjectured_forks": r.conjectured,
        "escalated_forks": r.escalated,
        "optimal_if_lemma5": r.exact_if_lemma5,
    }


def _sp_workers(num_workers: int | None) -> int:
    """Processes for the dominant-schedule solver: it splits its work in
    two at most (``None``: two where there are two cores)."""
    if num_workers is None:
        return min(2, os.cpu_count() or 1)
    return max(1, min(2, int(num_workers)))


def sp_candidate(
    graph,
    deadline,
    rng,
    callbacks,
    base=None,
    family="auto",
    workers=1,
    dec=None,
    target=0,
):
    """An order from the dominant-schedule solver: ``(order, exact, stats)``.

    On an SP graph in the node model, :func:`pebble_sched.solvers.dominant.sp_order`
    itself (with the fork candidates of ``family``). On another DAG, the
    SP-ization of ``base`` (by default Inductor's order) is solved instead
    (of its node-model proxy, for graphs with explicit buffers, edge sizes
    or graph inputs), and the better of the two orders is returned.
    ``dec``: the graph's decomposition, when the caller has it.
    ``target``: a lower bound of the caller's; the near-SP orders stop
    once one meets it.
    """
    native = sp_supported(graph)
    if dec is None:
        dec = decompose(graph, deadline)
    is_sp = dec.is_sp
    atoms = fixed_atoms(graph) if is_sp else None
    if atoms is not None:
        # every release fixed (edge weights, no forks): exact, polynomial
        r = sp_merge_order(graph, atoms, deadline, dec)
        stats = {"algorithm": "sp-merge", "exact": True}
        stats["parallel_compositions"] = r.parallel
        return r.order, True, stats
    if native and is_sp:
        r = sp_order(
            graph,
            deadline,
            family=family,
            workers=workers,
            decomposition=dec,
            dominant=False,
            progress=None if callbacks is None else callbacks.on_progress,
            grace=SP_GRACE_S,
            phase=None
            if callbacks is None
            else lambda text: callbacks.on_phase(text or "sp"),
        )
        stats = {"algorithm": "sp", **_sp_stats(r)}
        if r.interrupted:  # (the order finished without the fork's try)
            stats["interrupted"] = "ctrl-c"
        return r.order, r.exact, stats
    if base is None:
        base = inductor_order(graph, deadline)[0]
    # SP-ization keeps node sizes only: other models go through the proxy
    node_model = not graph.buffers and not graph.edge_size.any()
    proxy = graph if node_model else node_model_proxy(graph)
    t_spize = time.perf_counter()
    sg, joins = spize(proxy, base, deadline)
    n = graph.n
    if not node_model and (atoms := fixed_atoms(graph)) is not None:
        # the SP-ization only adds precedences, so every release stays
        # where it was: the merge on its structure uses the exact atoms
        pad = [0] * joins
        extended = FixedAtoms(
            atoms.hill + pad, atoms.net + pad, atoms.start, atoms.initial
        )
        m = sp_merge_order(sg, extended, deadline)
        order = m.order[m.order < n]
        stats = {"algorithm": "spization", "joins": joins, "atoms": "fixed"}
    else:
        r = sp_order(sg, deadline, family=family, workers=workers, escalate=1)
        order = r.order[r.order < n]  # the joins come after the nodes
        stats = {"algorithm": "spization", "joins": joins, **_sp_stats(r)}
        if not node_model:
            stats["proxy"] = "node model"
    stats["exact"] = False
    peak = evaluate_indices(graph, order, check=False).peak
    base_peak = evaluate_indices(graph, base, check=False).peak
    stats["spized_peak"], stats["base_peak"] = peak, base_peak
    if base_peak < peak:
        order, peak = np.asarray(base, dtype=np.int64), base_peak
    if NEAR_SP:
        # a graph SP up to a few cross edges: its SP core with the cross
        # edges synchronised; the orders above are kept if time runs out.
        # Without a time limit it solves SP graphs like the one above, a
        # few dozen times at most: bounded by a multiple of that time.
        budget = deadline
        if deadline is None or not math.isfinite(deadline.limit):
            spent = time.perf_counter() - t_spize
            budget = Deadline(max(NEAR_SP_MIN_S, NEAR_SP_FACTOR * spent))
        try:
            near, near_peak = _near_sp(
                graph, budget, family, target, callbacks, stats, proxy
            )
        except KeyboardInterrupt:  # the order above, marked
            stats["near_sp"] = {"interrupted": "ctrl-c"}
            stats["interrupted"] = "ctrl-c"
        else:
            if near is not None:
                if near_peak < peak:
                    order, peak = near.order, near_peak
                    stats["algorithm"] = "near-sp"
                if near.interrupted == "ctrl-c":
                    stats["interrupted"] = "ctrl-c"
    return order, False, stats


def _near_sp(graph, deadline, family, target, callbacks, stats, proxy=None):
    """The near-SP orders of ``graph`` (through ``proxy``, its node-model
    proxy, computed when not given) and the peak of the best on ``graph``,
    recorded in ``stats["near_sp"]``; ``(None, 0)`` when the graph is not
    SP up to a few edges, or when time ran out before any order.
    ``KeyboardInterrupt`` before any order is left to the caller."""
    if proxy is None:
        node_model = not graph.buffers and not graph.edge_size.any()
        proxy = graph if node_model else node_model_proxy(graph)
    if callbacks is not None:
        callbacks.on_phase("near-sp")
    try:
        near = near_sp_order(
            proxy, deadline, family=family, measure=graph, target=target
        )
    except TimeUp:
        stats["near_sp"] = {"interrupted": "time"}
        return None, 0
    if near is None:
        return None, 0
    peak = evaluate_indices(graph, near.order).peak
    stats["near_sp"] = {
        "cross_edges": len(near.cross),
        "synced": near.synced,
        "unsynced": near.unsynced,
        "candidates": near.candidates,
        "source": near.source,
        "peak": peak,
    }
    if near.interrupted:
        stats["near_sp"]["interrupted"] = near.interrupted
    return near, peak


def _run_sp(
    graph,
    deadline,
    rng,
    callbacks,
    sp_family="auto",
    num_workers=None,
):
    # Under a time limit, time is kept for the Liu relaxation of the input
    # order (O(n log n)), returned if the solver does not finish; when the
    # limit is that short, the relaxation runs first.
    timed = math.isfinite(deadline.remaining())
    reserve = SP_FALLBACK_S + graph.n * SP_FALLBACK_S_PER_NODE
    fallback = None

    def relaxation(within: Deadline = deadline) -> np.ndarray | None:
        if within.remaining() < 0.7 * reserve:  # it would not finish
            return None
        try:
            return liu_relaxation_order(graph, input_order(graph), within)
        except TimeUp:
            return None

    def given_up(why: str):
        """The order to return when the solver did not finish."""
        if fallback is None:
            return (
                input_order(graph),
                0,
                {"interrupted": why, "fallback": "input"},
            )
        return fallback, 0, {"interrupted": why, "fallback": "liu relaxation"}

    sp_deadline = deadline
    if timed and reserve >= 0.5 * deadline.remaining():
        try:
            fallback = relaxation()
        except KeyboardInterrupt:
            return given_up("ctrl-c")
    elif timed:
        sp_deadline = deadline.sub(1 - reserve / deadline.remaining())
    workers = _sp_workers(num_workers)
    # the relaxation below, on large graphs with two cores in a forked
    # process while this one decomposes the graph and loads numba, as auto
    # does (RELAX_IN_CHILD_MIN_NODES); stopped if the graph is not SP
    relax_first = (
        fallback is None
        and sp_family == "auto"
        and LARGE < graph.n <= AUTO_SP_PROOF_MAX_NODES
    )
    child = None
    if relax_first and _relax_in_child(graph, num_workers):
        child = start_in_child(relaxation)
    try:
        dec = decompose(graph, sp_deadline)  # (the relaxation reuses it)
        if dec.is_sp and (timed or child is not None):  # (as auto does)
            _warm_kernels(
                graph, deadline, None if child is None else child.done
            )
        if relax_first and dec.is_sp:
            # what Ctrl-C returns during the threshold pass, which may run
            # first, with no order before it (0.5 s at 10^5 nodes); the
            # answer when it meets the bound (the first pass, which the
            # bound proved, took 3 s there, the threshold pass 8 s)
            try:
                fallback = (
                    relaxation()
                    if child is None
                    else child.result(deadline.check)
                )
            except ChildDied:  # (then here again)
                fallback = relaxation()
            if fallback is not None:
                bound = _bound(graph, deadline)
                peak = evaluate_indices(graph, fallback, check=False).peak
                if peak <= bound:
                    return fallback, peak, {"liu_first": {"peak": peak}}
        got = _threshold_first(
            graph, sp_deadline, sp_family, workers, dec, callbacks
        )
        order, exact, stats = got or sp_candidate(
            graph,
            sp_deadline,
            rng,
            callbacks,
            family=sp_family,
            workers=workers,
            dec=dec,
        )
    except (TimeUp, KeyboardInterrupt) as exc:
        # out of time, or Ctrl-C: the relaxation if there was time for it
        # (Inductor's order would take seconds on 10^5 nodes), else the
        # input order, marked as such
        why = "time" if isinstance(exc, TimeUp) else "ctrl-c"
        if child is not None:
            got = _answer_so_far(child)
            fallback = got if fallback is None else fallback
        if fallback is None and timed and why == "time":
            fallback = relaxation()
        elif fallback is None and why == "ctrl-c":
            # nothing ran before the solver (below LARGE nodes, or with
            # no limit): the relaxation now, within its reserve (0.07 s at
            # 10^4 nodes), unless Ctrl-C comes again
            with contextlib.suppress(KeyboardInterrupt):
                fallback = relaxation(
                    Deadline(min(deadline.remaining(), reserve))
                )
        return given_up(why)
    finally:
        if child is not None:
            child.stop()
    if stats.get("interrupted") == "ctrl-c":  # inside, with an order
        if (
            fallback is not None
            and evaluate_indices(graph, fallback, check=False).peak
            < evaluate_indices(graph, order, check=False).peak
        ):
            stats["fallback"] = "liu relaxation"
            return fallback, 0, stats
        return order, 0, stats
    if exact:
        return order, evaluate_indices(graph, order, check=False).peak, stats
    # not proven (SP-ization, Lemma 5, budgets): say what is known; the
    # exact methods tree and pumpkin get no bound from the dispatcher
    bound = _bound(graph, deadline)
    peak = evaluate_indices(graph, order, check=False).peak
    order, peak, bound, proven = _prove_sp(
        graph,
        stats,
        stats,
        order,
        peak,
        bound,
        deadline,
        num_workers,
        sp_family,
        dec,
        callbacks,
    )
    return order, peak if proven else bound, stats


def _with_relaxation(
    graph, stats, peak, bound, deadline, num_workers, family, dec, callbacks
):
    """``bound``, or the fork relaxation's bound if higher (recorded in
    ``stats``), after an inexact SP order of ``peak`` (the relaxation
    drops the reads that make forks nested: see
    :mod:`pebble_sched.solvers.sp_bound`); at most half the time left."""
    if peak <= bound:
        return bound
    timed = math.isfinite(deadline.remaining())
    if timed and 0.5 * deadline.remaining() < RELAXATION_SETUP_S_PER_NODE * (
        graph.n
    ):  # it could not even build the relaxed graph in time
        return bound
    if callbacks is not None:
        callbacks.on_phase("fork relaxation bound")
    got = sp_relaxation_bound(
        graph,
        deadline.sub(0.5) if timed else None,
        dec,
        workers=_sp_workers(num_workers),
        family=family,
        progress=None if callbacks is None else callbacks.on_progress,
    )
    if got is None:
        return bound
    stats["relaxation_bound"] = got
    return max(bound, got)


def _with_sp_proof(
    graph, deadline, workers, family, dec, callbacks, stats, order, peak, bound
):
    """``(order, peak, proven)`` after :func:`_sp_proof` of an SP order of
    ``peak`` that ``bound`` does not prove (recorded in ``stats``): the
    pass's order where it is proven optimal (exact, or down to ``bound``),
    else the lower of the two orders, unproven."""
    proof = _sp_proof(graph, deadline, workers, family, dec, callbacks)
    if proof is None:
        return order, peak, False
    o2, exact, stats["sp_proof"] = proof
    peak2 = stats["sp_proof"]["peak"]
    if exact or peak2 <= bound:
        return o2, peak2, True
    if peak2 < peak:
        return o2, peak2, False
    return order, peak, False


def _prove_sp(
    graph,
    sp_stats,
    stats,
    order,
    peak,
    bound,
    deadline,
    num_workers,
    family,
    dec,
    callbacks,
    goal=0,
):
    """``(order, peak, bound, proven)`` after an inexact SP order of
    ``peak``: the fork relaxation's bound (:func:`_with_relaxation`) and
    the proof pass (:func:`_with_sp_proof`), until one proves the order
    (its peak at most the bound or ``goal``). The proof pass comes first
    (it runs only above ``LARGE`` nodes): it is the only proof there on
    the random SP graphs measured (the relaxation bound stayed 0.4-0.5%
    below the optimum at 10^5 nodes, seeds 1-3), while the relaxation
    takes 2-4 s. Where the SP order came from the threshold pass already
    (:func:`_threshold_first`), only the relaxation is left. On Ctrl-C,
    ``stats["interrupted"]`` is set and what is known so far returned."""
    if sp_stats.get("algorithm") != "sp":  # SP-ization: nothing to prove
        return order, peak, bound, False

    def relax() -> bool:
        nonlocal bound
        bound = _with_relaxation(
            graph,
            sp_stats,
            peak,
            bound,
            deadline,
            num_workers,
            family,
            dec,
            callbacks,
        )
        return peak <= max(bound, goal)

    def prove() -> bool:
        nonlocal order, peak
        order, peak, proven = _with_sp_proof(
            graph,
            deadline,
            _sp_workers(num_workers),
            family,
            dec,
            callbacks,
            stats,
            order,
            peak,
            max(bound, goal),
        )
        return proven

    # (the proof pass does nothing at LARGE nodes or fewer)
    steps = (prove, relax)
    if sp_stats.get("family") == "threshold":  # the pass ran first
        steps = (relax,)
    try:
        for step in steps:
            if step():
                return order, peak, bound, True
    except KeyboardInterrupt:
        stats["interrupted"] = "ctrl-c"
    return order, peak, bound, False


def _warm_kernels(graph: Graph, deadline: Deadline, stop=None) -> None:
    """Compile the SP solver's array functions (numba, where installed)
    now, for an SP graph large enough to load them at once
    (``COMPILED_MIN_NODES``), when the time left allows it: the passes
    after this get parts of the limit, and under ``COMPILE_S`` a solver
    does not start the compilation itself (with a cold cache, 6-11 s, a
    function at a time, none started with less than
    ``candidate_words.WARM_STEP_S`` left), only the reading of numba's
    cache when it holds them (:func:`.solvers.dominant.kernels_in_time`).
    Without this, `-t 15` at 10^5 nodes ran its first pass in Python, and
    had no time left for the proof.

    ``stop(wait)``: whether the caller has an answer that makes the rest
    useless, waiting up to ``wait`` seconds for it; asked between the steps
    (numba's import, then each function); once True, the rest is left to
    the solver. After the import it may wait ``RELAX_GRACE_S``: reading the
    first function takes half a second, one step that cannot be stopped."""
    if graph.n < COMPILED_MIN_NODES:
        return
    if not kernels_in_time(deadline.remaining()):
        return
    if stop is not None:
        if stop(0.0):
            return
        # (a step of its own: a quarter of a second; an import cut short
        # by Ctrl-C is undone, so that the answer after it can still use
        # numba or do without it)
        if import_optional("numba") is None:
            return
        if stop(RELAX_GRACE_S):
            return
    from .solvers import candidate_words  # (imports numba, if it can)

    if candidate_words.COMPILED and not candidate_words.ready():
        candidate_words.warm(deadline, stop)


def _relax_in_child(graph: Graph, num_workers: int | None) -> bool:
    """Whether the first Liu relaxation of a large graph runs in a forked
    process (``RELAX_IN_CHILD_MIN_NODES``, two cores, POSIX)."""
    return (
        graph.n >= RELAX_IN_CHILD_MIN_NODES
        and _sp_workers(num_workers) > 1
        and hasattr(os, "fork")
    )


def _answer_so_far(child: Child) -> Any:
    """``child``'s answer if it has come whole, else None (also if it
    died); the child is ended either way (Ctrl-C, or the time is up)."""
    got = None
    if child.done():
        with contextlib.suppress(ChildDied):
            got = child.result(lambda: None)
    child.stop()
    return got


def _proof_rate(left: float) -> int:
    """Nodes per second and process expected of the threshold pass with
    ``left`` seconds: compiled where numba is installed and either
    compiled in this process already or given the time the SP solver asks
    before loading it (:func:`.solvers.dominant.kernels_in_time`, and a
    second for its set-up)."""
    from .solvers import candidate_words  # (imports numba, if it can)

    if candidate_words.COMPILED and kernels_in_time(left - 1.0):
        return SP_PROOF_NODES_PER_S_COMPILED
    return SP_PROOF_NODES_PER_S


def _relaxation_rounds(graph, order, rounds, deadline, target, best=None):
    """``(best, why)``: ``rounds`` Liu relaxations, the first of ``order``,
    each later one of the one before, stopping once the peak is at most
    ``target``; ``best``, the best ``(order, peak)`` of these and the one
    given (None if none); ``why`` they stopped early: None, ``"time"`` or
    ``"ctrl-c"``."""
    try:
        for _ in range(rounds):
            deadline.check()
            order = liu_relaxation_order(graph, order, deadline)
            peak = evaluate_indices(graph, order, check=False).peak
            if best is None or peak < best[1]:
                best = (order, peak)
            if peak <= target:
                break
    except TimeUp:
        return best, "time"
    except KeyboardInterrupt:
        return best, "ctrl-c"
    return best, None


def _threshold_first(graph, deadline, family, workers, dec, callbacks):
    """``(order, exact, stats)`` of the SP solver with the threshold family
    run at once on an SP graph of more than ``LARGE`` nodes (and at most
    ``AUTO_SP_PROOF_MAX_NODES``), in place of ``auto``'s first pass and
    the proof pass after it (:func:`_sp_proof`); None where it does not
    apply, or does not finish in time.

    The first pass costs 2.6-3.3 s at 10^5 nodes (two processes), and the
    fork relaxation after it 1.8-2.2 s, and neither proves these graphs.
    Under a time limit the pass runs when the time left, less what
    ``auto`` gives the first pass (``AUTO_SP_SHARE`` of the time left, at
    ``SP_NODES_PER_S_LARGE``), allows the pass's expected rate; it stops
    there, so that the first pass can still give its order if this one
    does not finish. Above ``AUTO_SP_BLOCKS_MAX_NODES`` nodes no time is
    kept for the first pass, and the pass is tried at the higher rate
    ``SP_PROOF_NODES_PER_S_HUGE``.
    """
    if (
        family != "auto"
        or not LARGE < graph.n <= AUTO_SP_PROOF_MAX_NODES
        or dec is None
        or not dec.is_sp
        or not sp_supported(graph)
        or fixed_atoms(graph) is not None  # (the merge solves those)
    ):
        return None
    limit = None
    if math.isfinite(deadline.remaining()):
        # what auto's gate asks of the first pass, and a second for the
        # pass to stop (about 0.2 s at 10^5 nodes); nothing for the first
        # pass above AUTO_SP_BLOCKS_MAX_NODES, where it takes as long as
        # this one (10^6 nodes, seed 1: 56 s against 53 s) and its order
        # is not proven
        reserve = 1.0
        if graph.n <= AUTO_SP_BLOCKS_MAX_NODES:
            reserve += graph.n / (
                workers * SP_NODES_PER_S_LARGE * AUTO_SP_SHARE
            )
        left = deadline.remaining() - reserve
        rate = _proof_rate(left)
        if graph.n > AUTO_SP_BLOCKS_MAX_NODES:
            rate = max(rate, SP_PROOF_NODES_PER_S_HUGE)
        if left < graph.n / (workers * rate):
            return None
        limit = Deadline(left)
    got = _threshold_pass(graph, limit, workers, dec, callbacks, first=True)
    if got is None:  # (the first pass runs after all)
        return None
    r, proof = got
    stats = {"algorithm": "sp", "family": "threshold", **_sp_stats(r)}
    stats["sp_proof"] = proof
    return r.order, r.exact, stats


def _threshold_pass(graph, limit, workers, dec, callbacks, first=False):
    """``(result, stats["sp_proof"])`` of :func:`sp_order` with the
    threshold family and no hurry (a proof, or TimeUp at ``limit``): its
    peak, exactness and time, and whether it ran ``first`` (no pass before
    it); None when the time runs out."""
    if callbacks is not None:
        what = "sp" if first else "sp proof"
        callbacks.on_phase(f"{what} (threshold family)")
    start = time.perf_counter()
    try:
        r = sp_order(
            graph,
            limit,
            family="threshold",
            workers=workers,
            decomposition=dec,
            hurry=False,
            dominant=False,
            progress=None if callbacks is None else callbacks.on_progress,
        )
    except TimeUp:
        return None
    stats = {
        "family": "threshold",
        "peak": int(r.peak),
        "exact": bool(r.exact),
        "time_s": round(time.perf_counter() - start, 3),
        **_sp_stats(r),
    }
    if first:
        stats["first"] = True
    return r, stats


def _sp_proof(graph, deadline, workers, family, dec, callbacks):
    """``(order, exact, stats)`` of the SP solver with the threshold
    family, on an SP graph of more than ``LARGE`` nodes whose ``auto``
    order is not proven, where the time left allows it (see
    ``SP_PROOF_NODES_PER_S``, or ``SP_PROOF_NODES_PER_S_COMPILED`` with
    numba installed); None where it does not, or where the time runs out
    meanwhile."""
    if family != "auto" or graph.n <= LARGE:
        return None
    need = graph.n / (workers * _proof_rate(deadline.remaining()))
    timed = math.isfinite(deadline.remaining())
    if timed and deadline.remaining() < need:
        return None
    if not timed and graph.n > AUTO_SP_PROOF_MAX_NODES:
        return None
    got = _threshold_pass(
        graph, deadline if timed else None, workers, dec, callbacks
    )
    if got is None:
        return None
    r, proof = got
    return r.order, r.exact, proof


def _pumpkin_ok(graph: Graph) -> bool:
    return is_pumpkin(graph) and (
        sp_supported(graph) or fixed_atoms(graph) is not None
    )


def _brute_ok(graph: Graph) -> bool:
    return graph.n <= MAX_NODES


def _quick_upper(graph, deadline, rng, callbacks, share: float = 0.15):
    """A heuristic order for hints and budgets, using a share of the time."""
    sub = deadline.sub(share) if math.isfinite(deadline.limit) else Deadline()
    params = _ls_params(HeuristicParams(work_budget=5e6, use_all_time=False))
    order, peak, _stats = heuristic_schedule(
        graph, sub, seed=rng, params=params, callbacks=callbacks
    )
    return order, peak


def _start_upper(graph, deadline, rng, callbacks):
    """The order an exact method called alone starts from: the better of
    the heuristic's (:func:`_quick_upper`) and, on graphs of up to
    ``AUTO_BEAM_MAX_NODES`` nodes, a beam search's (width
    ``AUTO_BEAM_WIDTHS[0]``, within ``AUTO_BEAM_SHARE`` of the time). A
    beam's order is often far better, and it sets the ideal search's first
    budgets and CP-SAT's hint (randwire-forward: 983,040, the optimum, in
    about a second, against the heuristic's 1,179,648)."""
    upper = _quick_upper(graph, deadline, rng, callbacks)
    if graph.n > AUTO_BEAM_MAX_NODES:
        return upper
    try:
        o = beam_order(
            graph, AUTO_BEAM_WIDTHS[0], deadline.sub(AUTO_BEAM_SHARE)
        )
    except TimeUp:
        return upper
    peak = evaluate_indices(graph, o, check=False).peak
    if peak < upper[1]:
        upper = (o, peak)
        if callbacks is not None:
            callbacks.on_improvement(o, peak)
    return upper


def _run_ideals(
    graph,
    deadline,
    rng,
    callbacks,
    *,
    upper=None,
    lower=None,
    max_states=None,
    **options,
):
    if upper is None:
        upper = _start_upper(graph, deadline, rng, callbacks)
    kwargs = {} if max_states is None else {"max_states": max_states}
    order, _peak, lb, stats = ideal_search(
        graph,
        deadline,
        upper=upper,
        lower=lower,
        callbacks=callbacks,
        **kwargs,
    )
    return order, lb, stats


def _run_cpsat(
    graph,
    deadline,
    rng,
    callbacks,
    *,
    upper=None,
    lower=None,
    num_workers=None,
    plain=False,
    **options,
):
    if plain:
        model = CpSatModel(graph, plain=True)
        order, _, lb, stats = model.solve(deadline, num_workers=num_workers)
        if order is None:
            order = input_order(graph)
        return order, lb, stats
    if upper is None:
        upper = _start_upper(graph, deadline, rng, callbacks)
    if lower is None:
        lower = _bound(graph, deadline)
    model = CpSatModel(graph, lower=lower, upper=upper[1])
    order, peak, lb, stats = model.solve(
        deadline, hint=upper[0], num_workers=num_workers
    )
    if order is None or peak > upper[1]:
        order = upper[0]
    return order, max(lb, lower), stats


#: the options of the SP solver's methods (``sp``, ``pumpkin``, ``tree``)
SP_OPTIONS = ("sp_family", "num_workers")
#: the options ``auto`` takes
AUTO_OPTIONS = SP_OPTIONS

METHODS: dict[str, Method] = {
    m.name: m
    for m in [
        Method(
            "heuristic",
            False,
            _always,
            _run_heuristic,
            "best of the baselines, Liu relaxation and local search",
            options=("params", *(f.name for f in fields(HeuristicParams))),
        ),
        Method(
            "inductor",
            False,
            _always,
            _run_inductor,
            "PyTorch Inductor's choice: best of input, LPMF, BFS, DFS",
        ),
        Method(
            "lpmf",
            False,
            _always,
            _baseline(INDUCTOR_METHODS["lpmf"]),
            "Inductor's least-peak-memory-first sort",
        ),
        Method(
            "bfs",
            False,
            _always,
            _baseline(INDUCTOR_METHODS["bfs"]),
            "Inductor's BFS sort",
        ),
        Method(
            "dfs",
            False,
            _always,
            _baseline(INDUCTOR_METHODS["dfs"]),
            "Inductor's DFS sort",
        ),
        Method(
            "input",
            False,
            _always,
            _run_input,
            "the trace order, or the node order",
        ),
        Method(
            "tree",
            True,
            _tree_ok,
            _run_tree,
            "Liu's algorithm (in-trees), dominant schedules (out-trees)",
            "in-trees without graph inputs, out-trees in the SP solver's "
            "model, and trees whose releases are all fixed",
            own_bounds=True,
            options=SP_OPTIONS,
        ),
        Method(
            "pumpkin",
            True,
            _pumpkin_ok,
            _run_sp,
            "dominant schedules of a pumpkin (source, d chains, sink)",
            "a source, d >= 2 chains and a sink, in the SP solver's model "
            "(node buffers, fixed releases)",
            own_bounds=True,
            options=SP_OPTIONS,
        ),
        Method(
            "sp",
            False,
            _always,
            _run_sp,
            "dominant schedules: exact on series-parallel graphs whose "
            "buffers are read by their producer's successors or have fixed "
            "releases (edge weights), SP-ization of Inductor's order "
            "otherwise",
            own_bounds=True,
            options=SP_OPTIONS,
        ),
        Method(
            "ideals",
            True,
            ideals_supported,
            _run_ideals,
            "budgeted search over the lattice of ideals",
            "graphs whose sizes total below 2^63",
            options=("upper", "lower", "max_states"),
        ),
        Method(
            "cpsat",
            True,
            cpsat_supported,
            _run_cpsat,
            "OR-Tools CP-SAT model (positions, lifetimes, cumulative)",
            "graphs whose sizes total below 2^61",
            options=("upper", "lower", "num_workers", "plain"),
        ),
        Method(
            "brute",
            True,
            _brute_ok,
            _run_brute,
            f"exhaustive DP over subsets (n <= {MAX_NODES})",
            f"graphs of at most {MAX_NODES} nodes",
            own_bounds=True,
        ),
    ]
}

#: On graphs of at least this many nodes, with two cores, ``auto`` runs
#: its first Liu relaxation in a forked process while it decomposes the
#: graph and, on SP graphs, loads the SP solver's compiled functions
#: (about 1 s), stopping that once the relaxation's answer is in
#: (:func:`_warm_kernels`): at 10^5 nodes the relaxation takes 0.5-0.7 s,
#: the decomposition 0.45 s and numba 0.9 s, one after the other before.
#: There, same run, seeds 1 to 3 of the bounds table went from 5.0-7.6 s
#: to 3.9-7.8 s (least ratios 0.78-1.02), seed n, which the relaxation
#: proves, from 0.50-0.65 to 0.60-0.84 s; at 3 * 10^4 nodes, forked,
#: no difference (results/bench_sp_overlap.md).
RELAX_IN_CHILD_MIN_NODES = 50_000
#: How long :func:`_warm_kernels` waits for the forked relaxation's answer
#: after numba's import, before the half second it takes to read the
#: first compiled function, which cannot be stopped.
RELAX_GRACE_S = 0.25
#: Graphs up to this size go to brute force under ``auto``.
AUTO_BRUTE_MAX = 10
#: ``auto`` runs the dominant-schedule solver on SP graphs up to this size
#: (above ``AUTO_SP_PROOF_MAX_NODES`` its order and bound are the answer),
AUTO_SP_MAX_NODES = 1_000_000
#: when its share of the time allows this many nodes per second and process
#: (random SP graphs of out-degree 6 in two processes: 700 to 12,000
#: nodes/s up to 10^4 nodes, where forks get the exhaustive families),
SP_NODES_PER_S = 5_000
#: or this many on graphs of more than ``dominant.LARGE`` nodes (where
#: large forks go to Lemma 5 at once: 18,000 to 26,000 nodes/s in two
#: processes at 3 * 10^4 and 10^5 nodes, the decomposition included).
SP_NODES_PER_S_LARGE = 9_000
#: On SP graphs of more than ``dominant.LARGE`` nodes whose SP order is not
#: proven, ``auto`` solves again with the threshold family (the proven
#: Lemma 5 candidates of nested forks, which the large-graph mode skips)
#: when the time left allows this many nodes per second and process
#: (10^5 nodes: 13 to 25 s in two processes, 20 s expected), without a
#: time limit up to ``AUTO_SP_PROOF_MAX_NODES`` nodes.
SP_PROOF_NODES_PER_S = 2_500
#: The same with numba installed (the fork candidates, their partial
#: combinations and the branches' options on compiled arrays: 10^5 nodes
#: in 4.7 to 7.8 s with two processes on 2026-12-01, 8.3 s expected).
SP_PROOF_NODES_PER_S_COMPILED = 6_000
#: The threshold pass runs up to this size (10^6 nodes, seeds 1 to 3:
#: ``sp_order`` 46-54 s in two processes, every fork proven).
AUTO_SP_PROOF_MAX_NODES = 1_000_000
#: The rate the threshold pass is tried at, under a time limit, above
#: ``AUTO_SP_BLOCKS_MAX_NODES`` nodes: about what it reaches there (10^6
#: nodes: 46-64 s in two processes, 7,800 to 10,900 nodes per second and
#: process), since a pass that runs out of time loses little there (the
#: Liu order is the answer: 5,768 at 10^6 nodes, seed 1, where the pivot
#: blocks give 5,756 and the pass 5,490, proven).
SP_PROOF_NODES_PER_S_HUGE = 9_000
#: Above this size an unproven SP order and its bound are ``auto``'s
#: answer: the pivot blocks after it would solve the main block again.
AUTO_SP_BLOCKS_MAX_NODES = 200_000
#: The fork relaxation's bound needs this much per node before its own
#: deadline checks begin (finding the nested reads, building the relaxed
#: graph and the solver's model: 1.0-1.5 s at 10^5 nodes); with less time
#: left it is skipped rather than overrun the limit.
RELAXATION_SETUP_S_PER_NODE = 2e-5
#: and SP-ization on other DAGs up to this size (it is quadratic).
AUTO_SPIZE_MAX_NODES = 1_000
#: Without a time limit, ``auto`` gives CP-SAT at most this many seconds.
AUTO_CPSAT_SECONDS = 60.0
#: ``auto`` gives the SP solver's first pass this share of the time left.
AUTO_SP_SHARE = 0.7
#: Kept back from a time limit per node and edge, for the steps after the
#: methods' last deadline checks (see ``_wrap_up``).
WRAP_UP_S_PER_ITEM = 2e-6
#: ``auto`` tries CP-SAT on graphs up to this many nodes.
AUTO_CPSAT_MAX_NODES = 1500
#: On SP graphs of more nodes (and on those the SP solver has no time for),
#: ``auto`` first tries the Liu relaxation of the input order (O(n log n)):
#: an order meeting the lower bound is optimal, else it is a candidate.
AUTO_HEURISTIC_FIRST = 20_000
#: Whether ``auto`` runs one Liu relaxation of the input order first on
#: smaller graphs too (returned when it meets the bound, kept for Ctrl-C)
AUTO_RELAX_FIRST = True
#: Time kept back for the Liu relaxation of the input order when ``sp``
#: runs under a time limit: this much (the solver stops up to about 0.2 s
#: late), plus this much per node (the relaxation, measured:
#: 0.15 s at 2*10^4 nodes, 0.74 s at 10^5, with margin).
SP_FALLBACK_S = 0.3
SP_FALLBACK_S_PER_NODE = 1.0e-5
#: Ctrl-C during a fork's try with larger budgets: the SP solver finishes
#: its order with the fork's first answer, in a hurry, within this many
#: seconds (else the fallback order, as for Ctrl-C anywhere else)
SP_GRACE_S = 1.0
#: ``auto`` fixes the closed SP regions of non-SP graphs up to this many nodes.
AUTO_REGIONS_MAX_NODES = 5000
#: non-SP graphs: also try the SP core with its cross edges synchronised
#: (:mod:`pebble_sched.solvers.near_sp`); off only to measure without it
NEAR_SP = True
#: without a time limit, the near-SP orders get this many times the
#: SP-ization's time, and at least NEAR_SP_MIN_S seconds
NEAR_SP_FACTOR = 5.0
NEAR_SP_MIN_S = 2.0
#: auto on DAGs above AUTO_SPIZE_MAX_NODES: the near-SP orders alone, with
#: this share of the time, up to this size
AUTO_NEAR_SP_SHARE = 0.3
AUTO_NEAR_SP_MAX_NODES = 20_000
#: On graphs that are not SP, ``auto`` first runs beam searches over the
#: ideals of these widths, each order improved by the local search (new
#: starts for it), sharing this share of the time (these seconds without
#: a limit); off only to measure without them
AUTO_BEAM = True
AUTO_BEAM_WIDTHS = (300, 1000, 3000)
AUTO_BEAM_SHARE = 0.2
AUTO_BEAM_S = 3.0
#: On narrow graphs, before the beams, an ideal search capped at this many
#: ideals per layer (a tenth of the time at most): it proves many at once
AUTO_SMALL_IDEALS = 100_000
#: ... on graphs of up to this many nodes (a beam of width 300 takes 0.3 s
#: at 300 nodes, 1 s at 687, 5 s on near-SP graphs of 2,000 nodes, but
#: 20-120 s on the 2,000-node workflows, whose fans leave a thousand nodes
#: ready per layer)
AUTO_BEAM_MAX_NODES = 1000
#: On graphs of up to ``bounds.CUT_LIMIT`` nodes whose order is not proven
#: after the heuristic, ``auto`` computes the pair bound
#: (:func:`~pebble_sched.bounds.pair_bound`) with this share of the time
#: left (these seconds without a limit); off only to measure without it
AUTO_PAIR_BOUND = True
AUTO_PAIR_SHARE = 0.1
AUTO_PAIR_S = 5.0
#: ... with the sets of four nodes after the triples (off only to measure)
AUTO_PAIR_QUADS = True
#: ... and, under a time limit, at least this share of the time left, up to
#: AUTO_PAIR_MIN_S seconds (it stops once its bound meets the best peak):
#: at 10 s, randwire-forward's bound needs the triples, about 3 s in all
AUTO_PAIR_LONG = True
AUTO_PAIR_MIN_S = 3.0
AUTO_PAIR_MAX_SHARE = 0.3
#: ``auto`` runs the ideal search first when the width estimate is at most this.
AUTO_NARROW_WIDTH = 24
#: ``auto`` runs the ideal search (uncapped but for its time) on graphs of
#: up to this many nodes;
AUTO_IDEALS_MAX_NODES = 5000
#: above that, up to this many, one capped at ``AUTO_SMALL_IDEALS`` ideals
#: per layer, with this share of the time left (these seconds without a
#: limit): a narrow lattice (a training step's backward pass, one ideal
#: per layer of its forward) is proven in seconds where nothing else
#: proves it (train-L5000, 15,001 nodes: 4.7 s), a wide one caps within
#: a few layers (layered-n20000: 1.4 s, its lattice built)
AUTO_LARGE_IDEALS_MAX_NODES = 30_000
AUTO_LARGE_IDEALS_SHARE = 0.5
AUTO_LARGE_IDEALS_S = 30.0
#: On graphs that are not SP, before CP-SAT, ``auto`` runs the local search
#: from the best order with wide window moves (one may take a quarter of
#: the time left): this share of a time limit, or these seconds without
#: one, but no more than 8 fruitless iterations in a row (two rounds of
#: widths). Its order is CP-SAT's hint.
AUTO_WIDE_LS_SHARE = 0.25
AUTO_WIDE_LS_S = 3.0
#: Under a time limit, CP-SAT as ``auto``'s last exact step takes this
#: share of the time left, and the local search the rest (with the
#: switch off, CP-SAT takes all of it).
AUTO_LS_AFTER_CPSAT = True
AUTO_CPSAT_LAST_SHARE = 0.6
#: Whether ``auto``'s local searches make interleave moves (a subset
#: of nodes re-interleaved exactly, ``HeuristicParams.interleave``); off
#: only to measure what they bring (``scripts/bench_beam.py --switch``).
AUTO_INTERLEAVE = True
#: Under a time limit, on a graph that is not SP, ``auto`` runs the local
#: search on the clock right after the heuristic, with this share of the
#: time left (off only to measure: ``scripts/bench_beam.py --switch``).
AUTO_EARLY_LS = True
AUTO_EARLY_LS_SHARE = 0.1


def _ls_params(params: HeuristicParams | None = None) -> HeuristicParams:
    """``params`` (default: the defaults) as ``auto`` runs them."""
    params = params or HeuristicParams()
    return params if AUTO_INTERLEAVE else replace(params, interleave=0)


AUTO_WIDE_LS_PARAMS = HeuristicParams(
    wide_share=0.25, use_all_time=False, work_budget=math.inf, patience=8
)


class _BlockProgress(Callbacks):
    """The progress of one pivot block told as the whole graph's.

    A block's bound is a bound of the whole; the whole order is the blocks'
    best orders joined, whose peak is the largest of theirs (exact, see
    :mod:`pebble_sched.solvers.pivots`), so a block's improvement is told
    with the joined order when it lowers that largest peak. The phase
    names the block being solved.
    """

    def __init__(self, outer: Callbacks, blocks, orders, peaks) -> None:
        self.outer = outer
        self.blocks = blocks
        self.orders = orders  # (shared with the caller: the best per block)
        self.peaks = peaks
        self.k = 0
        self.label = ""
        self.told = max(peaks)

    def start(self, k: int, label: str) -> None:
        self.k, self.label = k, label

    def on_improvement(self, order: Any, peak: int) -> None:
        if peak >= self.peaks[self.k]:
            return
        self.orders[self.k], self.peaks[self.k] = order, int(peak)
        whole = max(self.peaks)
        if whole < self.told:
            self.told = whole
            self.outer.on_improvement(
                join_orders(self.blocks, self.orders), whole
            )

    def on_bound(self, lower_bound: int) -> None:
        self.outer.on_bound(lower_bound)

    def on_phase(self, phase: str) -> None:
        self.outer.on_phase(f"{self.label}: {phase}")

    def on_progress(self, done: float) -> None:
        self.outer.on_progress(done)


def _beam_starts(
    graph, exact_graph, deadline, rng, callbacks, record, *, target, stats
):
    """Beam searches over the ideals of ``exact_graph`` (widths
    ``AUTO_BEAM_WIDTHS``), each order then improved by the local search on
    ``graph``: orders unlike the heuristics', hence new starts. They share
    ``AUTO_BEAM_SHARE`` of the time left (``AUTO_BEAM_S`` seconds without
    a limit); each result goes to ``record``."""
    timed = math.isfinite(deadline.limit)
    total = deadline.sub(AUTO_BEAM_SHARE) if timed else Deadline(AUTO_BEAM_S)
    widths = AUTO_BEAM_WIDTHS
    found = []
    for k, width in enumerate(widths):
        if total.expired():
            break
        try:
            # (a beam may take the whole share: on the 498-node workflow
            # bwa-n500 one of width 300 takes 21 s; its local search then
            # gets its part of it)
            start = beam_order(exact_graph, width, total)
        except TimeUp:
            break
        d = total.sub(1.0 / (len(widths) - k))
        order, peak = local_search(
            graph,
            start,
            d,
            seed=rng,
            params=_ls_params(),
            callbacks=callbacks,
            target=target,
            stats=stats,
        )
        record("beam", order, 0)
        found.append((width, peak))
        if stats.get("interrupted") == "ctrl-c" or peak <= target:
            break
    stats["beam"] = found


def _solve_blocks(blocks, deadline, rng, callbacks, num_workers, hint=None):
    """Solve each block (pivot split) with the portfolio; join the orders.

    The blocks are solved smallest first, each with the remaining time in
    proportion to its share of the remaining nodes, so the largest (the
    usual hard one) gets whatever the others left; the lower bound is the
    largest block bound (exact, see :mod:`pebble_sched.solvers.pivots`).
    ``hint``: ``(order, winner)``, an order of the whole graph found
    before the split, whose restriction to each block is one of that
    block's candidates (and so a start of its local search) and its order
    if the time runs out before the block's turn. Progress is told as the
    whole graph's (:class:`_BlockProgress`).
    """
    pos = None
    if hint is not None:
        pos = np.empty(len(hint[0]), dtype=np.int64)
        pos[hint[0]] = np.arange(len(hint[0]))
    timed = math.isfinite(deadline.limit)
    k_all = len(blocks)
    # each block's best order so far: the hint's restriction, or the input
    orders: list[Any] = [
        input_order(b.graph)
        if pos is None
        else np.argsort(pos[b.nodes], kind="stable")
        for b in blocks
    ]
    peaks = [
        evaluate_indices(b.graph, o, check=False).peak
        for b, o in zip(blocks, orders, strict=True)
    ]
    lbs = [_bound(b.graph, deadline) for b in blocks]
    winners = ["input" if pos is None else hint[1]] * k_all
    # the whole peak is at least every block's bound: a block whose peak is
    # already below the largest bound cannot matter, so it stops there
    goal = max(lbs)
    if callbacks is not None:
        callbacks.on_bound(goal)
        if pos is not None:  # (the best order found before the split)
            callbacks.on_improvement(join_orders(blocks, orders), max(peaks))
    progress = (
        None
        if callbacks is None
        else _BlockProgress(callbacks, blocks, orders, peaks)
    )
    interrupted = None
    left = sum(b.graph.n for b in blocks)
    turn = sorted(range(k_all), key=lambda k: (blocks[k].graph.n, -lbs[k]))
    for i, k in enumerate(turn):
        blk = blocks[k]
        n_k = blk.graph.n
        d = deadline.sub(n_k / max(left, 1)) if timed else Deadline()
        left -= n_k
        if interrupted or (timed and deadline.expired()):
            break
        if progress is not None:
            progress.start(k, f"block {i + 1}/{k_all} ({n_k} nodes)")
        o, lb, st, name = _portfolio(
            blk.graph,
            d,
            rng,
            progress,
            num_workers=num_workers,
            split=False,
            goal=goal,
            hint=None if pos is None else (orders[k], hint[1]),
        )
        if st.get("interrupted") == "ctrl-c":
            interrupted = "ctrl-c"
        peak = evaluate_indices(blk.graph, o, check=False).peak
        if peak <= peaks[k]:
            orders[k], peaks[k], winners[k] = o, peak, name
        lbs[k] = max(lbs[k], lb)
        goal = max(goal, lbs[k])
    order = join_orders(blocks, orders)
    stats: dict[str, Any] = {
        "blocks": len(blocks),
        "block_sizes": [b.graph.n for b in blocks],
        "block_methods": winners,
    }
    if interrupted:
        stats["interrupted"] = interrupted
    if callbacks is not None:
        callbacks.on_bound(max(lbs))
    return order, max(lbs), stats, "pivots"


def _portfolio(
    graph,
    deadline,
    rng,
    callbacks,
    num_workers=None,
    split=True,
    goal=0,
    sp_family="auto",
    hint=None,
):
    """``auto``: exact where it can, shared bounds, always within the deadline.

    Stops early once the peak is at most ``goal`` (a bound of an enclosing
    problem that this part cannot lower). ``hint``: ``(order, winner)``, a
    candidate found by the caller (the restriction of an enclosing
    graph's order). Returns ``(order, lower_bound, stats, winner)``.
    """
    if graph.n <= AUTO_BRUTE_MAX:
        order, lb, stats = _run_brute(graph, deadline, rng, callbacks)
        return order, lb, stats, "brute"
    if _liu_exact(graph):
        order, lb, stats = _run_tree(graph, deadline, rng, callbacks)
        # (the winner: the input order when Liu's algorithm had no time)
        return order, lb, stats, stats.get("fallback", "tree")
    timed = math.isfinite(deadline.limit)
    stats: dict[str, Any] = {"portfolio": []}
    sp_order_found = None
    # the cheap bounds first: every later exit (time, Ctrl-C) reports them
    if callbacks is not None:
        callbacks.on_phase("bounds")
    lb = _bound(graph, deadline)
    if callbacks is not None:
        callbacks.on_bound(lb)
    early = None

    def settle(best, why):
        """``relax_input``'s answer from the best ``(order, peak)`` of its
        rounds (:func:`_relaxation_rounds`) and why they stopped."""
        nonlocal early
        if why == "ctrl-c":  # the best order so far is kept
            stats["interrupted"] = "ctrl-c"
            if best is not None:
                return best[0], lb, stats, "heuristic"
            return input_order(graph), lb, stats, "input"
        if why == "time":
            stats["liu_first"] = {"interrupted": "time"}
        else:
            stats["liu_first"] = {"peak": best[1]}
            if best[1] <= max(lb, goal):
                return best[0], best[1], stats, "heuristic"
        if (
            best is not None
            and callbacks is not None
            and (early is None or best[1] < early[1])
        ):
            callbacks.on_improvement(best[0], best[1])  # (the live status)
        early = best
        return None

    def relax_input(rounds: int = 2):
        """The Liu relaxation of the input order, ``rounds`` times (O(n log
        n) each; after ``early``'s order when there is one): the answer
        when it meets the lower bound (on random SP graphs the bound is
        often tight), else None, the best order kept in ``early`` as a
        candidate (also when the time runs out after the first round)."""
        if callbacks is not None:
            callbacks.on_phase("liu relaxation")
        start = input_order(graph) if early is None else early[0]
        target = max(lb, goal)
        return settle(
            *_relaxation_rounds(graph, start, rounds, deadline, target, early)
        )

    def relaxed_by(child, rounds: int):
        """``relax_input(rounds)``'s answer from a forked process that
        ran its rounds (:func:`_relaxation_rounds`); here again if that
        process died."""
        try:
            got = child.result(lambda: None)
        except ChildDied:
            return relax_input(rounds)
        except KeyboardInterrupt:
            return stopped(child)
        return settle(*got)

    def stopped(child):
        """What Ctrl-C returns while the relaxation runs in ``child``: its
        best order if its answer is in already, else the input order."""
        got = _answer_so_far(child)
        return settle(None if got is None else got[0], "ctrl-c")

    child = None
    if graph.n > AUTO_HEURISTIC_FIRST:
        # a large graph: the relaxation before the SP decomposition (3.4 s
        # at 10^6 nodes), which a short limit may not leave time for after
        # reading the file; the SP solver takes about n / 15,000 s. Without
        # a limit once only, the second round after the decomposition
        # where the graph is not SP (an SP order beats it: 0.5 s saved
        # at 10^5 nodes; the first round alone meets the bound on seed n).
        # From RELAX_IN_CHILD_MIN_NODES, with two cores: in a forked
        # process while this one decomposes the graph and loads the SP
        # solver's compiled functions (10^6 nodes: 8.7 s before the SP
        # solver starts, about 6 s so; the relaxation's answer comes later,
        # 5.9 s, not 5.1 s)
        rounds = 2 if timed else 1
        if _relax_in_child(graph, num_workers):
            if callbacks is not None:
                callbacks.on_phase("liu relaxation")
            target = max(lb, goal)
            child = start_in_child(
                lambda: _relaxation_rounds(
                    graph, input_order(graph), rounds, deadline, target
                )
            )
        else:
            got = relax_input(rounds)
            if got is not None:
                return got
    elif AUTO_RELAX_FIRST:
        # a smaller graph: one round first too (0.007 s at 3,000 nodes,
        # 0.05 s at 20,000), so that an order meeting the bound is
        # returned at once (train-L1000-s0: optimal in 0.25 s, not 3.1 s
        # after the pivot blocks' bounds) and Ctrl-C in any later phase
        # keeps it rather than the input order (there 51,108 against
        # 102,311)
        got = relax_input(1)
        if got is not None:
            return got

    def kept():
        """What Ctrl-C returns before a later phase has an order: the
        relaxation's, else the input order."""
        stats["interrupted"] = "ctrl-c"
        if early is not None:
            return early[0], lb, stats, "heuristic"
        return input_order(graph), lb, stats, "input"

    try:
        dec = decompose(graph, deadline)
    except TimeUp:  # the time is up: the searches below give what they can
        dec = None
    except KeyboardInterrupt:
        if child is None:
            raise
        return stopped(child)
    is_sp = (
        dec is not None
        and dec.is_sp
        and (sp_supported(graph) or fixed_atoms(graph) is not None)
    )
    if child is not None:
        if is_sp:
            try:
                # (stopped once the relaxation's answer is in: it may be
                # optimal, and then the compiled functions are not needed)
                _warm_kernels(graph, deadline, child.done)
            except KeyboardInterrupt:
                return stopped(child)
        got = relaxed_by(child, rounds)
        if got is not None:
            return got
    if graph.n > AUTO_HEURISTIC_FIRST and not timed and not is_sp:
        got = relax_input(1)
        if got is not None:
            return got
    limit = AUTO_SP_MAX_NODES if is_sp else AUTO_SPIZE_MAX_NODES
    # before the pivot split: the SP solver handles series structure itself,
    # and the blocks carry graph inputs, outside its model
    share = AUTO_SP_SHARE if is_sp else 0.1
    # SP graphs: the SP solver beats the heuristics even when inexact, if it
    # has the time to finish; other DAGs: SP-ization is a weak heuristic, a
    # small share
    workers = _sp_workers(num_workers)
    rate = workers * (
        SP_NODES_PER_S_LARGE if graph.n > LARGE else SP_NODES_PER_S
    )
    enough = not timed or deadline.remaining() * share >= graph.n / rate
    if graph.n <= AUTO_HEURISTIC_FIRST and is_sp and not enough:
        # an SP graph the SP solver has no time for
        got = relax_input()
        if got is not None:
            return got
    # (pivot blocks, split=False, carry graph inputs: the proxy of
    # SP-ization would drop them, and each block is small; not there)
    # (again: the relaxation took some of the time; never more than before)
    enough = not timed or deadline.remaining() * share >= graph.n / rate
    if timed and is_sp and graph.n > AUTO_SP_BLOCKS_MAX_NODES:
        # or time for the threshold pass, tried first there
        # (_threshold_first)
        huge = workers * SP_PROOF_NODES_PER_S_HUGE
        enough = enough or deadline.remaining() - 1.0 >= graph.n / huge
    # the orders found before the split, (order, peak, winner): the SP
    # solver's (inexact) first, the Liu relaxation's
    found: list[tuple[Any, int, str]] = []
    if hint is not None:  # (so that an early exit keeps it too)
        peak = evaluate_indices(graph, hint[0], check=False).peak
        found.append((hint[0], peak, hint[1]))
    if graph.n <= limit and enough and (is_sp or split):
        try:
            if is_sp and timed:
                _warm_kernels(graph, deadline)
            got = _threshold_first(
                graph, deadline, sp_family, workers, dec, callbacks
            )
        except KeyboardInterrupt:
            # (on a 20,000-node SP graph while numba compiles: the
            # relaxation's 2,961, bound 2,917, the input order's 8,612)
            return kept()
        sub = deadline.sub(share) if timed else Deadline()
        if callbacks is not None and got is None:
            callbacks.on_phase("sp" if is_sp else "spization")
        try:
            o, exact, st = got or sp_candidate(
                graph,
                sub,
                rng,
                callbacks,
                family=sp_family,
                workers=workers,
                dec=dec if is_sp else None,
                target=max(lb, goal),
            )
        except TimeUp:
            stats["sp"] = {"interrupted": "time"}
        except KeyboardInterrupt:
            if early is None:
                stats["interrupted"] = "ctrl-c"
                return inductor_order(graph)[0], lb, stats, "inductor"
            return kept()
        else:
            if "sp_proof" in st:  # (the threshold pass ran first)
                stats["sp_proof"] = st.pop("sp_proof")
            stats["sp"] = st
            if st.get("interrupted") == "ctrl-c":  # inside, with an order
                stats["interrupted"] = "ctrl-c"
                return o, lb, stats, "sp"
            peak = evaluate_indices(graph, o, check=False).peak
            if exact or peak <= max(lb, goal):  # optimal, or meets the bound
                return o, peak, stats, "sp"
            if is_sp:
                o, peak, lb, proven = _prove_sp(
                    graph,
                    st,
                    stats,
                    o,
                    peak,
                    lb,
                    deadline,
                    num_workers,
                    sp_family,
                    dec,
                    callbacks,
                    goal,
                )
                if stats.get("interrupted") == "ctrl-c":  # the order so far
                    return o, lb, stats, "sp"
                if proven:
                    return o, peak, stats, "sp"
            sp_order_found = o
            found.append((o, peak, "sp"))
            if is_sp and graph.n > AUTO_SP_BLOCKS_MAX_NODES:
                # past the proof pass's size: the SP order and its bound
                # (the pivot blocks would solve the main block again, and
                # the heuristics beat an SP order on none measured; 10^6
                # nodes, seed 1: 5,490 in 78 s, against 5,679 in 84 s
                # from the blocks without the SP pass, 204 s with it)
                if early is not None:
                    found.append((early[0], early[1], "heuristic"))
                o, _peak, which = min(found, key=lambda x: x[1])
                return o, lb, stats, which
    elif (
        NEAR_SP
        and split
        and dec is not None
        and not is_sp
        and AUTO_SPIZE_MAX_NODES < graph.n <= AUTO_NEAR_SP_MAX_NODES
    ):
        # too large for SP-ization (quadratic), but maybe SP up to a few
        # edges: the near-SP orders alone (each costs SP solves)
        sub = (
            deadline.sub(AUTO_NEAR_SP_SHARE)
            if timed
            else Deadline(NEAR_SP_MIN_S + NEAR_SP_FACTOR * graph.n / rate)
        )
        try:
            near, peak = _near_sp(
                graph, sub, sp_family, max(lb, goal), callbacks, stats
            )
        except KeyboardInterrupt:
            return kept()
        else:
            if near is not None:
                if near.interrupted == "ctrl-c":
                    stats["interrupted"] = "ctrl-c"
                    return near.order, lb, stats, "sp"
                if peak <= max(lb, goal):  # meets the bound: optimal
                    return near.order, peak, stats, "sp"
                sp_order_found = near.order
                found.append((near.order, peak, "sp"))
    if early is not None:
        found.append((early[0], early[1], "heuristic"))

    def so_far():
        """The best order found so far, when the time is up."""
        stats["interrupted"] = "time"
        if not found:
            return input_order(graph), lb, stats, "input"
        o, _peak, which = min(found, key=lambda x: x[1])
        return o, lb, stats, which

    if timed and deadline.expired():
        return so_far()
    if split:
        try:
            blocks, _ = split_blocks(graph, deadline if timed else None)
        except TimeUp:
            return so_far()
        if len(blocks) > 1:
            if callbacks is not None:
                callbacks.on_phase(f"pivot blocks ({len(blocks)})")
            hint = min(found, key=lambda x: x[1]) if found else None
            order, block_lb, bstats, name = _solve_blocks(
                blocks,
                deadline,
                rng,
                callbacks,
                num_workers,
                None if hint is None else (hint[0], hint[2]),
            )
            lb = max(lb, block_lb)
            for key in ("sp", "sp_proof", "near_sp"):
                if key in stats:
                    bstats[key] = stats[key]
            best_peak = evaluate_indices(graph, order, check=False).peak
            for other, mine, which in found:
                if mine < best_peak:
                    order, best_peak, name = other, mine, which
            return order, lb, bstats, name
    if callbacks is not None:
        callbacks.on_phase("heuristic")
    share = 0.15 if graph.n <= AUTO_CPSAT_MAX_NODES else 0.6
    sub = deadline.sub(share) if timed else Deadline()
    order, peak, hstats = heuristic_schedule(
        graph,
        sub,
        seed=rng,
        callbacks=callbacks,
        target=max(lb, goal),
        params=_ls_params(
            HeuristicParams(work_budget=1e7, use_all_time=False)
        ),
    )
    best, ub, winner = order, peak, "heuristic"
    stats["heuristic"] = hstats
    if hstats.get("interrupted") == "ctrl-c":
        stats["interrupted"] = "ctrl-c"
        return best, min(lb, ub), stats, winner
    stats["portfolio"].append(("heuristic", peak, lb))

    def raise_bound(bound):
        """A bound proven, also while a step runs (kept if it is
        interrupted: the pair bound reports each rise)."""
        nonlocal lb
        if bound > lb:
            lb = bound
            if callbacks is not None:
                callbacks.on_bound(lb)

    def record(name, order, bound):
        nonlocal best, ub, winner
        raise_bound(bound)
        if order is not None:
            peak = evaluate_indices(graph, order, check=False).peak
            if peak < ub:
                best, ub, winner = order, peak, name
                if callbacks is not None:
                    callbacks.on_improvement(best, ub)
        stats["portfolio"].append((name, ub, lb))

    def search_on_clock(until: Deadline) -> None:
        """The local search from the best order until ``until``, its
        order recorded (Ctrl-C: ``stats["interrupted"]``)."""
        if callbacks is not None:
            callbacks.on_phase("local search")
        o, _p = local_search(
            graph,
            best,
            until,
            seed=rng,
            params=_ls_params(),
            target=max(lb, goal),
            callbacks=callbacks,
            stats=stats,
        )
        record("heuristic", o, 0)

    if sp_order_found is not None:
        record("sp", sp_order_found, 0)
    if hint is not None:
        record(hint[1], hint[0], 0)
    if early is not None:
        record("heuristic", early[0], 0)

    # a DAG that is not SP, under a time limit: first a short local search
    # on the clock from the heuristic's order (the heuristic above stops
    # on its work budget, which the compiled moves spend in a fraction of
    # a second)
    if (
        AUTO_EARLY_LS
        and timed
        and not is_sp
        and lb < ub
        and ub > goal
        and AUTO_WIDE_LS_PARAMS.max_window < graph.n
    ):
        search_on_clock(deadline.sub(AUTO_EARLY_LS_SHARE))
        if stats.get("interrupted") == "ctrl-c":
            return best, min(lb, ub), stats, winner

    # a DAG that is not SP: its closed SP regions fixed to their dominant
    # orders (the same optimum, far fewer orders) for the exact searches
    exact_graph = graph
    if not is_sp and graph.n <= AUTO_REGIONS_MAX_NODES:
        if callbacks is not None:
            callbacks.on_phase("sp regions")
        t0 = time.perf_counter()
        try:
            regions = fix_sp_regions(
                graph, deadline.sub(0.1) if timed else None
            )
        except TimeUp:
            stats["sp_regions"] = {"interrupted": "time"}
        else:
            stats["sp_regions"] = {
                "regions": len(regions.regions),
                "fixed_nodes": regions.fixed,
                "lower_bound": regions.lower,
                "seconds": round(time.perf_counter() - t0, 3),
            }
            exact_graph = regions.graph
            if regions.lower > lb:
                lb = regions.lower
                if callbacks is not None:
                    callbacks.on_bound(lb)
    width = int(np.bincount(longest_path_layers(exact_graph)).max())
    steps = []
    if ideals_supported(exact_graph) and graph.n <= AUTO_IDEALS_MAX_NODES:
        steps.append("ideals")
    elif (
        ideals_supported(exact_graph)
        and graph.n <= AUTO_LARGE_IDEALS_MAX_NODES
    ):
        steps.append("ideals (large)")
    if cpsat_supported(exact_graph) and graph.n <= AUTO_CPSAT_MAX_NODES:
        steps.insert(0 if width > AUTO_NARROW_WIDTH else len(steps), "cpsat")
    if not is_sp and AUTO_WIDE_LS_PARAMS.max_window < graph.n:
        at = steps.index("cpsat") if "cpsat" in steps else len(steps)
        steps.insert(at, "local search")
    if (
        AUTO_BEAM
        and not is_sp
        and graph.n <= AUTO_BEAM_MAX_NODES
        and ideals_supported(exact_graph)
    ):
        steps.insert(0, "beam")
        if len(steps) > 1 and steps[1] == "ideals":
            # a narrow graph: first a small ideal search, which proves
            # many at once, so that the beams do not delay them
            steps.insert(0, "ideals (small)")
    if AUTO_PAIR_BOUND and exact_graph.n <= CUT_LIMIT:
        # the cut bound branched on the order of two nodes (seconds on a
        # few hundred nodes; the steps after it gain from a higher bound),
        # after the small ideal search, which proves many graphs at once
        steps.insert(1 if steps[:1] == ["ideals (small)"] else 0, "pair bound")
    try:
        for k, step in enumerate(steps):
            if lb >= ub or ub <= goal or deadline.expired():
                break
            last = k == len(steps) - 1
            if callbacks is not None:
                callbacks.on_phase(step)
            if step in ("ideals", "ideals (small)", "ideals (large)"):
                small = step != "ideals"
                d = deadline if last or not timed else deadline.sub(0.5)
                if step == "ideals (small)":
                    d = deadline.sub(0.1) if timed else Deadline()
                elif step == "ideals (large)":
                    d = (
                        deadline.sub(AUTO_LARGE_IDEALS_SHARE)
                        if timed
                        else Deadline(AUTO_LARGE_IDEALS_S)
                    )
                o, _, bound, st = ideal_search(
                    exact_graph,
                    d,
                    upper=(best, ub),
                    lower=lb,
                    callbacks=callbacks,
                    **({"max_states": AUTO_SMALL_IDEALS} if small else {}),
                )
                stats[step] = st
                record("ideals", o, bound)
                if st.get("interrupted") == "ctrl-c":
                    raise KeyboardInterrupt
            elif step == "pair bound":
                t0 = time.perf_counter()
                share = AUTO_PAIR_SHARE
                if timed and AUTO_PAIR_LONG:
                    left = deadline.remaining()
                    share = max(
                        share,
                        min(
                            AUTO_PAIR_MIN_S / max(left, 1e-9),
                            AUTO_PAIR_MAX_SHARE,
                        ),
                    )
                got = pair_bound(
                    exact_graph,
                    deadline.sub(share) if timed else Deadline(AUTO_PAIR_S),
                    start=lb,
                    stop=ub,
                    quads=QUAD_TRIPLES if AUTO_PAIR_QUADS else 0,
                    on_bound=raise_bound,
                )
                stats["pair_bound"] = {
                    "bound": got,
                    "seconds": round(time.perf_counter() - t0, 3),
                }
                record("pair bound", None, got)
            elif step == "beam":
                _beam_starts(
                    graph,
                    exact_graph,
                    deadline,
                    rng,
                    callbacks,
                    record,
                    target=max(lb, goal),
                    stats=stats,
                )
                if stats.get("interrupted") == "ctrl-c":
                    raise KeyboardInterrupt
            elif step == "local search":
                d = (
                    deadline.sub(AUTO_WIDE_LS_SHARE)
                    if timed
                    else Deadline(AUTO_WIDE_LS_S)
                )
                o, _p = local_search(
                    graph,
                    best,
                    d,
                    seed=rng,
                    params=_ls_params(AUTO_WIDE_LS_PARAMS),
                    target=max(lb, goal),
                    callbacks=callbacks,
                    stats=stats,
                )
                record("heuristic", o, 0)
                if stats.get("interrupted") == "ctrl-c":
                    raise KeyboardInterrupt
            else:
                d = deadline if timed else Deadline(AUTO_CPSAT_SECONDS)
                if timed and not last:
                    d = deadline.sub(0.5)
                elif timed and AUTO_LS_AFTER_CPSAT:
                    d = deadline.sub(AUTO_CPSAT_LAST_SHARE)
                model = CpSatModel(exact_graph, lower=lb, upper=ub)
                o, _, bound, st = model.solve(
                    d, hint=best, num_workers=num_workers, callbacks=callbacks
                )
                stats["cpsat"] = st
                record("cpsat", o, bound)
                if st.get("interrupted") == "ctrl-c":
                    raise KeyboardInterrupt
        if lb < ub and ub > goal and timed and not deadline.expired():
            search_on_clock(deadline)
    except (TimeUp, KeyboardInterrupt) as exc:
        stats["interrupted"] = "time" if isinstance(exc, TimeUp) else "ctrl-c"
    return best, min(lb, ub), stats, winner


def _dispatch(graph, method, deadline, rng, callbacks, options):
    """Run ``method``: ``(order, lower_bound, stats, winner)``."""
    if method == "auto":
        order, lb, stats, name = _portfolio(
            graph, deadline, rng, callbacks, **options
        )
        stats["auto"] = True
        return order, lb, stats, name
    spec = METHODS[method]
    # the cheap bounds first, for every method: an exit by time or Ctrl-C,
    # or a method that proves nothing, still reports them
    callbacks.on_phase("bounds")
    if spec.own_bounds:  # (the cut bound: 5 s on a 3,000-node in-tree)
        from .bounds import local_bound

        bound = local_bound(graph)
    else:
        bound = _bound(graph, deadline)
    callbacks.on_bound(bound)
    callbacks.on_phase(method)
    if method == "heuristic":
        options["target"] = bound
    try:
        order, lb, stats = spec.run(graph, deadline, rng, callbacks, **options)
    except (TimeUp, KeyboardInterrupt) as exc:
        if not spec.exact:
            raise
        # an exact method gave nothing: fall back to the input order
        order, lb = input_order(graph), 0
        stats = {
            "interrupted": "time" if isinstance(exc, TimeUp) else "ctrl-c"
        }
    return order, max(lb, bound), stats, method


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
        ``"auto"`` (default) runs a portfolio: brute force on tiny graphs,
        Liu's algorithm on in-trees, otherwise the heuristic for an upper
        bound, then the ideal search and CP-SAT (in the order the graph's
        width suggests) until one proves optimality or time runs out. Any
        name of ``METHODS`` forces one method.
    time_limit
        Wall-clock seconds, measured from this call. Default ``inf``: the
        heuristics stop at a local optimum or their work budget, the ideal
        search at its state cap, and CP-SAT (under ``auto``) after
        ``AUTO_CPSAT_SECONDS``.
    seed
        Seed of every random choice.
    callbacks
        Progress hooks (:class:`pebble_sched.runtime.Callbacks`).
    keep_outputs
        Overrides the graph's ``keep_outputs`` flag when given.
    **options
        Passed to the method (``Method.options``); one it does not take
        raises ``ValueError``. :class:`HeuristicParams` fields for
        ``heuristic``; ``max_states`` for the ideal search; ``sp_family``
        for the SP solver under ``sp``, ``pumpkin``, ``tree`` and ``auto``:
        ``"auto"``, ``"full"`` or ``"threshold"``, see
        :func:`pebble_sched.solvers.dominant.sp_order`; ``num_workers``,
        taken by every method, used by CP-SAT and the SP solver (two
        processes at most, on graphs of 2,000 nodes or more; default: all
        cores).

    Returns
    -------
    Schedule
        Its ``status`` is ``optimal`` only when the peak equals a proven
        lower bound; ``method`` names the method that found the order.

    Raises
    ------
    ValueError
        For an unknown method, one that does not support the graph, or an
        option the method does not take.
    TypeError
        When ``graph`` is not a :class:`~pebble_sched.graph.Graph`.

    Examples
    --------
    >>> from pebble_sched import Graph, solve
    >>> g = Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1])
    >>> s = solve(g)
    >>> s.order, s.peak, s.status.value
    (('a', 'b', 'c'), 5, 'optimal')
    """
    require_graph(graph, "solve")
    t0 = time.monotonic()
    deadline = Deadline(
        None
        if time_limit is None
        else time_limit - _wrap_up(graph, time_limit)
    )
    if keep_outputs is not None and keep_outputs != graph.keep_outputs:
        graph = graph.replace(keep_outputs=keep_outputs)
    if method != "auto" and method not in METHODS:
        valid = ", ".join(["auto", *METHODS])
        raise ValueError(f"Unknown method {method!r}; choose one of {valid}.")
    if method != "auto" and not METHODS[method].supports(graph):
        raise ValueError(
            f"Method {method!r} does not support this graph: it takes "
            f"{METHODS[method].takes}; auto picks what applies."
        )
    accepted = AUTO_OPTIONS if method == "auto" else METHODS[method].options
    # (num_workers: a resource every method may be given, used where it
    # applies, as a loop over the methods passes it)
    unknown = sorted(set(options) - {*accepted, "num_workers"})
    if unknown:
        takes = ", ".join(accepted) if accepted else "none"
        raise ValueError(
            f"Unknown option {unknown[0]!r} for method {method!r} (its "
            f"options: {takes})."
        )
    family = options.get("sp_family", "auto")
    if family not in SP_FAMILIES:
        choices = ", ".join(SP_FAMILIES)
        raise ValueError(
            f"Unknown SP family {family!r}; choose one of {choices}."
        )
    if seed is not None and (
        isinstance(seed, bool)
        or not isinstance(seed, (int, np.integer, np.random.Generator))
    ):
        raise TypeError(
            f"seed must be an int or a numpy Generator, not "
            f"{type(seed).__name__}."
        )
    if isinstance(seed, (int, np.integer)) and seed < 0:
        raise ValueError(f"seed must be non-negative, not {seed}.")
    tracker = Tracker(callbacks)
    rng = np.random.default_rng(seed)  # (None: fresh entropy)
    try:
        tracker.on_start(graph, method)
        order, lb, stats, name = _dispatch(
            graph, method, deadline, rng, tracker, options
        )
    except KeyboardInterrupt:
        # Ctrl-C before the method returned: the best order reported so far
        # (below) or the input order, with the bound of a linear pass
        from .bounds import local_bound

        order, lb, name = input_order(graph), local_bound(graph), "input"
        stats = {"interrupted": "ctrl-c"}
    # wrapping up takes milliseconds; a Ctrl-C meanwhile starts it again
    # (the method's answer is kept) instead of losing the result
    while True:
        try:
            schedule = _finish(graph, order, lb, stats, name, tracker, t0)
            break
        except KeyboardInterrupt:
            stats["interrupted"] = "ctrl-c"
    tracker.on_end(schedule)
    return schedule


def _wrap_up(graph: Graph, time_limit: float | None) -> float:
    """Seconds kept back from a time limit for what follows the methods'
    last deadline checks: the final evaluation, freeing the solvers'
    structures, and the steps between checks of an interrupted method
    (at 10^5 nodes these took 0.1-0.5 s past the limit); at most a tenth
    of the limit."""
    if time_limit is None or not math.isfinite(time_limit):
        return 0.0  # (None: no limit; the deadline rejects the invalid)
    items = graph.n + graph.m
    return min(0.1 * max(time_limit, 0.0), WRAP_UP_S_PER_ITEM * items)


def _finish(graph, order, lb, stats, name, tracker, t0) -> Schedule:
    """The Schedule of ``order``: re-evaluated, with the best bound and order reported."""
    peak = evaluate_indices(graph, order, check=True).peak
    if tracker.best_peak is not None and tracker.best_peak < peak:
        # a better order was reported on the way (the method was cut short)
        better = evaluate_indices(graph, tracker.best_order, check=True).peak
        if better < peak:
            order, peak = tracker.best_order, better
            stats["best_reported"] = name = tracker.phase or name
    # the best bound any part of the run proved, whatever the exit path
    lb = max(lb, tracker.bound)
    if lb > peak:
        raise PebbleSchedError(
            f"Method {name!r} claimed a lower bound {lb} above the peak {peak} "
            "of its own order; please report this bug."
        )
    tracker.on_bound(lb)
    ids = graph.ids
    return Schedule(
        order=tuple(ids[v] for v in np.asarray(order).tolist()),
        peak=peak,
        lower_bound=lb,
        status=Status.OPTIMAL if lb == peak else Status.FEASIBLE,
        method=name,
        time_s=time.monotonic() - t0,
        version=__version__,
        instance=graph.name,
        stats=stats,
    )


def _bound(graph: Graph, deadline: Deadline) -> int:
    """The best lower bound that fits in the remaining time."""
    from .bounds import local_bound

    # the reachability bound costs about 1-2e-9 s per (node, buffer) pair
    # (0.55 s at 20,000 x 20,000, 1.9 s at 40,000 x 40,000) and falls back
    # to the local bound at its deadline; the cut bound stops at its own
    # deadline (a fifth of the time left)
    nb = max(1, len(graph.memory_buffers()))
    if 3e-9 * graph.n * nb > 0.2 * deadline.remaining():
        return local_bound(graph)
    return lower_bound(graph, deadline.sub(0.2))
