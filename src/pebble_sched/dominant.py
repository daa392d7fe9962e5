"""Dominant schedules of series-parallel graphs (minimum peak).

Model: node sizes, workspaces and ``keep_outputs`` (no edge sizes, no
explicit buffers, no graph inputs): each node v produces s(v) bytes read by
all its successors, freed after the last of them, and x(v) bytes of scratch.
The graph is decomposed by :func:`pebble_sched.series_parallel.decompose`
(virtual terminals for several sources or sinks).

**Parts.** A *closed part* is what lies between a node a and the next node
every path from a crosses: it holds all of a's out-edges, and nothing
outside it reads a buffer it produces except that next node. Its schedule
is therefore an independent word (Lemma 3 of :mod:`pebble_sched.profiles`),
and it can be replaced by a *dominant* one: a schedule whose word dominates
the word of every other schedule of the part. The solver computes one for
every closed part, bottom up, as a canonical chain of atoms:

- a series composition ``P0, v1, P1, ..., vm, Pm`` is the concatenation of
  the parts' dominant chains and the nodes' atoms (its only schedules),
  made canonical (Lemma 2);
- a parallel composition at a where b (the next node) reads a directly, or
  where s(a) = 0: a's release does not depend on the order, the branches
  are independent chains and their canonical merge is dominant (Lemma 2);
- **a fork** (Lemma 4): a parallel composition at a with s(a) > 0 whose
  buffer is released by the last of its consumers inside the part. The
  release is a virtual atom R = (0, -s(a)) that must follow every
  consumer. Fix the set P of atoms run before R in some schedule: P is an
  ideal holding every consumer (a *pre-release ideal*), and the schedule
  runs P, then R, then the rest. Both sides are series-parallel sets of
  atoms, so by Lemmas 1-2 their canonical merges are best on each side;
  only P is to be chosen. For a branch ``a -> c, P1, v2, ...`` the
  choices are c plus the first t atoms of the canonical rest (t = 0..L);
  for a *nested* branch (a's consumers inside a parallel composition
  ``X0`` closed by w1), every combination of its sub-branches' choices,
  and, once they are complete, w1 and a prefix of the rest
  (:meth:`_Solver.options`). The candidates are all combinations over the
  branches; the solver returns the one whose word dominates all others
  and reports ``exact=False`` if none does (never seen: that a dominant
  schedule exists is the theorem this rests on).

**Cost and limits.** The number of candidates is the product over the
branches of their choice counts: exponential in the out-degree d, with the
length of the canonical chains as base (not the 2^d of the pumpkin bound
in the literature, whose algorithm we do not have). Up to
``MAX_CANDIDATES`` they are enumerated; beyond, partial combinations are
built branch by branch (each branch's own dominated options dropped
first) keeping those not dominated in both their pre-release and
post-release words (exact); beyond ``PARETO_MAX`` of those, or in the last
quarter of a time limit, a coordinate descent on the peak picks one
(inexact, counted in ``capped``). Restricting P to whole canonical atoms of the rest (never
cutting inside one) is not proven here; it is checked, with everything
else, against brute force on thousands of random graphs.
"""

from __future__ import annotations

import itertools
import math
import sys
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .constants import INT64_SAFE
from .profiles import (
    Atom,
    canonical,
    dominates,
    flatten,
    merge,
    reduce_word,
)
from .runtime import TimeUp
from .series_parallel import SPNode, decompose

if TYPE_CHECKING:
    from .graph import Graph
    from .runtime import Deadline

__all__ = ["SPSchedule", "sp_order", "sp_supported"]

MAX_CANDIDATES = 20_000
"""Forks with at most this many pre-release ideals are enumerated."""
HURRY_CANDIDATES = 256
"""Past three quarters of a time limit, forks with more candidates than
this use the coordinate descent."""
PRUNE_FROM = 32
"""A branch with more options than this has its dominated options dropped."""
GREEDY_EVALUATIONS = 500
"""Peak evaluations of the coordinate descent used beyond that."""
PARETO_MAX = 50_000
PARETO_MAX_LARGE = 2_000
"""The same on graphs of more than ``LARGE`` nodes, whose forks are many."""
LARGE = 20_000
"""Larger forks build at most this many partial combinations per branch
(else inexact); the time limit bounds the work too."""


@dataclass
class SPSchedule:
    """Result of :func:`sp_order`.

    ``exact`` is True when the order is optimal by Lemmas 1-4: every fork
    was solved within its budgets and found a candidate dominating the
    others; ``peak`` is the peak predicted by the atoms (equal to the
    evaluator's). ``forks``, ``nested`` and ``candidates`` count the forks
    solved, the nested branches, and the candidates compared.
    """

    order: np.ndarray
    peak: int
    exact: bool
    forks: int = 0
    nested: int = 0
    candidates: int = 0
    undominated: int = 0
    capped: int = 0


def sp_supported(graph: Graph) -> bool:
    """The memory model this solver handles: node sizes, workspaces, kept outputs."""
    return not graph.buffers and not graph.edge_size.any()


def _flatten_series(node: SPNode) -> list:
    """``[P0, v1, P1, ..., vm, Pm]`` for a (nested) series node."""
    out: list = []
    stack: list = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, SPNode) and item.kind == "series":
            left, right = item.children
            stack += [right, item.node, left]
        else:
            out.append(item)
    return out


class _Solver:
    def __init__(
        self,
        graph: Graph,
        max_candidates: int = MAX_CANDIDATES,
        deadline: Deadline | None = None,
        pareto_max: int = PARETO_MAX,
    ) -> None:
        self.deadline = deadline
        self.cancel = threading.Event()  # set by _run_deep on Ctrl-C
        self.pareto_max = pareto_max
        # with a deadline, Pareto pruning stops after three quarters of the
        # time (the fork at hand and the later ones use coordinate descent)
        self.soft = deadline.sub(0.75) if deadline is not None else None
        n = graph.n
        self.size = [*graph.node_size.astype(object).tolist(), 0, 0]
        work = graph.workspace.astype(object).tolist()
        has_succ = (graph.outdegree > 0).tolist()
        keep = graph.keep_outputs
        # the buffer a node leaves behind (0 for a sink that is not kept)
        self.out = [
            self.size[v] if has_succ[v] or keep else 0 for v in range(n)
        ] + [0, 0]
        self.hill0 = [self.size[v] + work[v] for v in range(n)]
        self.exact = True
        self.forks = self.nested = self.candidates = self.undominated = 0
        self.capped = 0
        self.max_candidates = max_candidates

    def check(self) -> None:
        """Raise TimeUp past the deadline, KeyboardInterrupt once cancelled."""
        if self.cancel.is_set():
            raise KeyboardInterrupt
        if self.deadline is not None:
            self.deadline.check()

    # atoms ------------------------------------------------------------
    def atom(self, v: int, freed: int) -> Atom:
        return Atom(self.hill0[v], self.out[v] - freed, v)

    def release(self, a: int) -> Atom:
        # a virtual item: negative, dropped from the order
        return Atom(0, -self.size[a], -1 - a)

    # parts ------------------------------------------------------------
    def part(self, p: SPNode, a: int, shared: bool) -> list[Atom]:
        """Chain of the part ``p`` after node ``a``.

        Levels are relative to the memory right after a ran. ``shared``: a's
        buffer is released outside ``p`` (by the release of an enclosing
        fork), so nothing in ``p`` frees it; otherwise ``p`` holds all of
        a's consumers and a's buffer is gone once the node after ``p`` ran.
        """
        if p.kind == "edge":
            return []
        self.check()
        if p.kind == "series":
            return self.series(_flatten_series(p), a, shared)
        return self.parallel(p, a, shared)

    def series(self, items: list, a: int, shared: bool) -> list[Atom]:
        """``P0, v1, P1, ..., vm, Pm`` after a: its only order, made canonical.

        The node after a part frees everything the part left behind and,
        unless it is shared, the buffer of the part's source: that is the
        part's net plus the source's size (a release inside the part is
        already in the net).
        """
        chain = self.part(items[0], a, shared)
        freed = sum(x.net for x in chain) + (0 if shared else self.out[a])
        for k in range(1, len(items), 2):
            v = items[k]
            chain.append(self.atom(v, freed))
            sub = self.part(items[k + 1], v, False)
            chain += sub
            freed = sum(x.net for x in sub) + self.out[v]
        return canonical(chain)

    def parallel(self, p: SPNode, a: int, shared: bool) -> list[Atom]:
        branches = [b for b in p.children if b.kind != "edge"]
        direct = len(branches) < len(p.children)
        if shared or direct or self.out[a] == 0:
            # a's release does not depend on the order: independent chains
            return merge([self.part(b, a, True) for b in branches])
        return self.fork(branches, a)

    def fork(self, branches: list[SPNode], a: int) -> list[Atom]:
        """Lemma 4: the dominant chain of a fork at ``a``.

        Every candidate is a *pre-release ideal*: per branch a choice from
        :meth:`options`; pre-release chains are merged, then R, then the
        post-release chains are merged (Lemmas 1-2 on each side).
        """
        self.forks += 1
        opts = [self._prune(self.options(b, a)) for b in branches]
        r_atom = self.release(a)
        combos = self._combinations(opts)
        if combos is None:
            self.exact = False
            self.capped += 1
            combos = self._greedy_combos(opts, r_atom)
        best = best_word = None
        words: list[list[int]] = []
        chains: list[list[Atom]] = []
        for k, (pre, post) in enumerate(combos):
            if k % 64 == 0:
                self.check()
            chain = canonical([*pre, r_atom, *post])
            word = _coarse_word(chain)
            words.append(word)
            chains.append(chain)
            if best_word is None or dominates(word, best_word):
                best, best_word = chain, word
        self.candidates += len(words)
        assert best is not None and best_word is not None
        if not all(dominates(best_word, w) for w in words):
            self.undominated += 1
            self.exact = False
            peaks = [max(w) for w in words]
            best = chains[peaks.index(min(peaks))]
        return best

    def options(self, branch: SPNode, a: int) -> list[tuple[list, list]]:
        """(pre, post) canonical chains for every pre-release ideal of a branch.

        A *flat* branch ``a -> c, P1, v2, ...`` offers ``t = 0..L``: c and
        the first t atoms of the canonical rest before the release, the
        rest after. A *nested* branch ``X0, w1, P1, ...`` (X0 a parallel
        composition at a) offers every combination of its sub-branches'
        options, and, when all of them are complete, w1 and a prefix of
        the canonical rest.
        """
        items = _flatten_series(branch)
        first = items[0]
        if first.kind == "edge":
            c = self.atom(items[1], 0)  # reads a, does not free it
            rest = self.series(items[2:], items[1], False)
            return [
                (canonical([c, *rest[:t]]), rest[t:])
                for t in range(len(rest) + 1)
            ]
        # nested: X0 is a parallel composition at a, closed by w1
        self.nested += 1
        subs = []
        forced_full = False
        for b in first.children:
            if b.kind == "edge":
                forced_full = True  # w1 itself reads a
            else:
                subs.append(self.options(b, a))
        w1 = items[1]
        full = [o[-1] for o in subs]
        if not all(not post for _pre, post in full):
            raise AssertionError("the last option of a branch is complete")
        full_pre = merge([o[0] for o in full])
        level = sum(x.net for x in full_pre)
        w_atom = self.atom(w1, level)  # frees X0's outputs, not a
        rest = self.series(items[2:], w1, False)
        out: list[tuple[list, list]] = []
        if not forced_full:
            combos = self._combinations(subs)  # pruned as in fork()
            if combos is None:
                self.exact = False
                self.capped += 1
                combos = []
            for pre, post in combos:
                if post:  # X0 not complete: w1 and the rest after it
                    out.append((pre, canonical([*post, w_atom, *rest])))
            # X0 complete, w1 after the release
            out.append((full_pre, canonical([w_atom, *rest])))
        head = canonical([*full_pre, w_atom])
        for t in range(len(rest) + 1):
            out.append((canonical([*head, *rest[:t]]), rest[t:]))
        return out

    def _combinations(self, opts) -> list[tuple[list, list]] | None:
        """Merged (pre, post) chains of every combination of the options, or
        of those that survive :meth:`_pareto_combos` when there are more than
        ``max_candidates`` (a few hundred once three quarters of a time limit
        are spent); None when even that is beyond the budgets."""
        hurry = self.soft is not None and self.soft.expired()
        if math.prod(len(o) for o in opts) <= (
            HURRY_CANDIDATES if hurry else self.max_candidates
        ):
            return [_merged(combo) for combo in itertools.product(*opts)]
        return None if hurry else self._pareto_combos(opts)

    def _prune(self, options: list[tuple[list, list]]) -> list:
        """A branch's options minus those dominated in both words (as in
        :meth:`_pareto_combos`); small lists are kept as they are."""
        if len(options) <= PRUNE_FROM:
            return options
        items = [
            (pre, post, _coarse_word(pre), _coarse_word(post))
            for pre, post in options
        ]
        try:
            kept = _pareto(items, self.soft)
        except TimeUp:
            return options
        return [(pre, post) for pre, post, _w, _v in kept]

    def _pareto_combos(self, opts) -> list[tuple[list, list]] | None:
        """Merged (pre, post) chains of every combination, minus dominated ones.

        Branches are added one at a time. A partial combination whose
        pre-release word and post-release word both dominate another's
        (Lemma 3) is at least as good once merged with the same remaining
        branches (merging is interleaving with independent work, and the
        canonical merge dominates every interleaving, Lemma 2), so the
        other is dropped. Returns None beyond ``pareto_max`` partial combinations.
        """
        partial: list[tuple[list, list, list[int], list[int]]] = [
            ([], [], [0], [0])
        ]
        for o in sorted(opts, key=len):
            if len(partial) * len(o) > self.pareto_max:
                return None
            grown = []
            for pre0, post0, _w, _v in partial:
                for pre1, post1 in o:
                    pre = merge([pre0, pre1])
                    post = merge([post0, post1])
                    grown.append(
                        (pre, post, _coarse_word(pre), _coarse_word(post))
                    )
            self.check()
            try:
                partial = _pareto(grown, self.soft)
            except TimeUp:
                return None
        return [(pre, post) for pre, post, _w, _v in partial]

    def _greedy_combos(self, opts, r_atom):
        """Too many ideals: coordinate descent on the peak from full pre-release."""
        choice = [len(o) - 1 for o in opts]

        def peak(ch):
            pre, post = _merged([opts[i][t] for i, t in enumerate(ch)])
            return max(_coarse_word(canonical([*pre, r_atom, *post])))

        best = peak(choice)
        budget = GREEDY_EVALUATIONS
        improved = True
        while improved and budget > 0:
            improved = False
            for i, o in enumerate(opts):
                for t in range(len(o)):
                    if t == choice[i] or budget <= 0:
                        continue
                    budget -= 1
                    if budget % 64 == 0:
                        self.check()
                    trial = [*choice]
                    trial[i] = t
                    p = peak(trial)
                    if p < best:
                        best, choice, improved = p, trial, True
        return [_merged([opts[i][t] for i, t in enumerate(choice)])]

    def solve(self, graph: Graph) -> list[Atom]:
        r = decompose(graph)
        if not r.is_sp:
            raise ValueError("not series-parallel")
        n = graph.n
        if n == 0:
            return []
        S = r.source if r.source >= 0 else n  # n: the virtual source
        T = r.sink
        chain: list[Atom] = []
        if n > S:
            chain.append(self.atom(S, 0))
        if r.sink < 0 and r.source >= 0 and n == 1:
            return chain
        sub = self.part(r.tree, S, False)
        chain += sub
        if T >= 0:
            chain.append(self.atom(T, sum(x.net for x in sub) + self.out[S]))
        return canonical(chain)


def _pareto(items: list, deadline: Deadline | None = None) -> list:
    """Items ``(pre, post, pre_word, post_word)`` not dominated in both words.

    Items are taken by increasing (pre peak, post peak); a kept item can beat
    a later one only if its post peak and both final levels are no higher, a
    filter done on numpy arrays before the exact check of Lemma 3.
    """
    items = sorted(
        ((*x, max(x[2]), max(x[3])) for x in items), key=lambda x: (x[4], x[5])
    )
    m = len(items)
    keys = [(x[5], x[2][-1], x[3][-1]) for x in items]
    if any(abs(v) >= INT64_SAFE for k in keys for v in k):
        arr = np.array(keys, dtype=object).reshape(m, 3)
    else:
        arr = np.array(keys, dtype=np.int64).reshape(m, 3)
    alive = np.zeros(m, dtype=bool)  # kept so far
    for i, item in enumerate(items):
        if deadline is not None and i % 32 == 0:
            deadline.check()
        cand = np.flatnonzero(alive[:i] & (arr[:i] <= arr[i]).all(axis=1))
        if any(
            dominates(items[k][2], item[2]) and dominates(items[k][3], item[3])
            for k in cand.tolist()
        ):
            continue
        # sorted by peaks: a later item beats a kept one only on equal peaks
        for k in np.flatnonzero(alive[:i]).tolist()[::-1]:
            if (items[k][4], items[k][5]) != (item[4], item[5]):
                break
            if (
                arr[i, 1] <= arr[k, 1]
                and arr[i, 2] <= arr[k, 2]
                and dominates(item[2], items[k][2])
                and dominates(item[3], items[k][3])
            ):
                alive[k] = False
        alive[i] = True
    return [items[k][:4] for k in np.flatnonzero(alive).tolist()]


def _merged(combo) -> tuple[list[Atom], list[Atom]]:
    """One option per branch: the merged pre-release and post-release chains."""
    return merge([c[0] for c in combo]), merge([c[1] for c in combo])


def _coarse_word(chain: list[Atom]) -> list[int]:
    """The word of a chain of atoms, each atom one step (reduced)."""
    level, word = 0, [0]
    for atom in chain:
        word.append(level + atom.hill)
        level += atom.net
        word.append(level)
    return reduce_word(word)


def _run_deep(fn, cancel: threading.Event):
    """Run ``fn`` with a deep recursion limit in a thread with a large stack.

    Ctrl-C in the caller sets ``cancel`` (which ``fn`` polls), waits for the
    thread to stop and is raised again.
    """
    result: list = []
    error: list = []

    def target() -> None:
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 1_000_000))
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller
            error.append(exc)
        finally:
            sys.setrecursionlimit(old)

    previous = threading.stack_size()
    threading.stack_size(512 * 1024 * 1024)
    try:
        thread = threading.Thread(target=target)
        thread.start()
    finally:
        threading.stack_size(previous)
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        cancel.set()
        thread.join()
        raise
    if error:
        raise error[0]
    return result[0]


def sp_order(
    graph: Graph,
    deadline: Deadline | None = None,
    *,
    max_candidates: int = MAX_CANDIDATES,
    pareto_max: int | None = None,
) -> SPSchedule:
    """A minimum-peak order of a series-parallel graph by dominant schedules.

    Raises ``ValueError`` for a graph that is not SP or outside the model
    (see :func:`sp_supported`), :class:`~pebble_sched.runtime.TimeUp` when
    ``deadline`` expires. A fork with more than ``max_candidates``
    pre-release ideals is reduced by Pareto pruning (exact) as long as
    ``pareto_max`` partial combinations suffice (default: ``PARETO_MAX``, or
    ``PARETO_MAX_LARGE`` above ``LARGE`` nodes), else by coordinate descent
    (inexact).

    Examples
    --------
    >>> g = Graph(list("sabct"), [("s", "a"), ("s", "b"), ("a", "c"), ("c", "t"), ("b", "t")],
    ...           size=[4, 1, 5, 1, 1])
    >>> r = sp_order(g)
    >>> [g.ids[v] for v in r.order], r.peak, r.exact
    (['s', 'a', 'c', 'b', 't'], 10, True)
    """
    if not sp_supported(graph):
        raise ValueError("edge sizes or explicit buffers")
    if pareto_max is None:
        pareto_max = PARETO_MAX if graph.n <= LARGE else PARETO_MAX_LARGE
    solver = _Solver(graph, max_candidates, deadline, pareto_max)
    chain = (
        _run_deep(lambda: solver.solve(graph), solver.cancel)
        if graph.n > 2000
        else solver.solve(graph)
    )
    order = [x for x in flatten(tuple(a.items for a in chain)) if x >= 0]
    return SPSchedule(
        np.array(order, dtype=np.int64),
        int(max(_coarse_word(chain))),
        solver.exact,
        solver.forks,
        solver.nested,
        solver.candidates,
        solver.undominated,
        solver.capped,
    )
