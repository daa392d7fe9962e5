"""Dominant schedules of series-parallel graphs (minimum peak).

Model: node sizes, workspaces and ``keep_outputs`` (no edge sizes, no
explicit buffers, no graph inputs): each node v produces s(v) bytes read by
all its successors, freed after the last of them, and x(v) bytes of scratch.
The graph is decomposed by :func:`pebble_sched.solvers.series_parallel.decompose`
(virtual terminals for several sources or sinks).

**Parts.** A *closed part* is what lies between a node a and the next node
every path from a crosses: it holds all of a's out-edges, and nothing
outside it reads a buffer it produces except that next node. Its schedule
is therefore an independent word (Lemma 3 of :mod:`pebble_sched.solvers.profiles`),
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
  schedule exists is the theorem this rests on). A dominant candidate has
  the least peak, so words are built and compared only among the
  candidates of least peak (read off their unjoined chains): one of them
  that dominates the others dominates the dominant one, hence all, since
  dominance is transitive.

**Lemma 5 (threshold family; proven for flat forks).** Take a fork whose
branches are each a head (the consumer's atom; for a nested branch whose
w1 reads a, X0's merged chain and w1) followed by a canonical rest, and let
``glued`` be the number of rest atoms Lemma 2 merges into the head's atom.
For a threshold tau on preference keys, every branch runs before the
release its head and either (p) fewer than ``glued`` atoms of its rest, all
with keys at most tau, or (f) the glued atoms, then every atom of its rest
preferred to tau and any number of those whose key equals tau. Some member
of this family dominates every pre-release ideal. The proof (docs/theory.md)
is an exchange argument: for single atoms x, y with key(x) <= key(y) and
any block W independent of both, ``x y W`` (if x does not raise memory and
peaks no higher than y) or else ``W x y`` dominates ``y W x``, checked on
paths in the grid of Lemma 3; a candidate outside the family has such a
y before the release and such an x after it, and the exchange strictly
lowers the number of key inversions between them. Without glued atoms or
ties that is one candidate per threshold: O(n) for the fork; a branch
with g glued atoms adds up to g options. Two weaker versions (without the
ties, without the glued atoms) were refuted by 3-branch forks (tests).
With nested branches whose w1 does not read a, the argument proves the
threshold family of the other branches combined with, for each nested
branch, its own threshold family over its sub-branches (a threshold of
its own), X0 complete, and w1 with every prefix of its rest
(:meth:`_Solver._mixed_combos`, :meth:`_Solver.nested_options`). Their
combinations are many, so they are cut by a peak: a few cheap candidates
(:meth:`_Solver._plain_cut`) and, with two nested branches or more, the
conjectured family below are evaluated first, and since a dominant
candidate has the least peak, combinations whose every completion must
exceed the best peak found are dropped as they are built (:class:`_PeakCut`:
the levels the chosen branches reach in their canonical merges, plus the
least levels the other branches' options can hold meanwhile), inside the
nested branches' own combinations too (:func:`_low`). One
threshold shared by the nested branches and the others, the form
conjectured before, is refuted (a 13-node SP graph where it gives 28
against the optimum 27: docs/theory.md; their remaining X0 atoms can
merge into w1's atom after the release, which breaks the exchange with
an atom of another branch). It is still the fallback, for speed: where
the proven combination is beyond the budgets even so, and on graphs of
more than ``LARGE`` nodes, forks with one take that family
(:meth:`_Solver.threshold_options`: a flat branch runs its consumer alone,
or with the atoms below tau and any ties, or that and at least the glued
atoms; nested branches combine their inner branches' options at the same
tau); such forks are counted in ``conjectured`` and never reported
exact, and their choice can be above the optimum.

**Cost and limits.** With two processes (``workers=2``) the independent
parts below the top of the tree are solved half in a forked child, and so
are half the words of a fork's least-peak candidates and half of each
large Pareto pruning (the same peak and exactness; 10^5 nodes in 0.62 of
the time, pumpkins of 200 nodes with d = 12 to 16 in 0.7). With
``family="auto"`` (the default) a fork with up
to ``MAX_CANDIDATES`` pre-release ideals is enumerated; beyond, partial
combinations are built branch by branch (each branch's own dominated
options dropped first) keeping those not dominated in both their
pre-release and post-release words (exact); beyond ``PARETO_MAX`` of
those the threshold family of Lemma 5 decides (``conjectured`` where it
is not proven) if it has at most ``PARETO_MAX`` candidates (on forks with
nested branches, up to ``LEMMA5_BEFORE_DESCENT``), and where Lemma 5 came
first and gave up, every pre-release ideal; only beyond all of these a
coordinate descent on the peak (inexact, ``capped``). A fork left inexact
(capped, or on the refuted shared threshold) is tried again with the
proven families and budgets ``ESCALATE`` times larger, and once more
``ESCALATE`` times larger again where the memory allows it
(``ESCALATE_TRIES``), cut at the least peak found (``escalated``), when
time allows. Graphs of more than ``LARGE`` nodes, and every fork
in the last quarter of a time limit, take Lemma 5 as soon as a fork has
more than ``LARGE_CANDIDATES`` (``HURRY_CANDIDATES``) candidates.
``family="threshold"`` uses Lemma 5 on every fork (exact on flat forks;
slow only at a high out-degree with many glued atoms, where each
threshold's combinations are Pareto-pruned). ``family="auto"`` uses it
first on flat forks whose family is small enough. Restricting P to
whole canonical atoms of the rest (never cutting inside one) loses
nothing: a theorem of docs/theory.md (induction over Lemma 2's merges,
with the exchange lemma for a dependent pair), tested on forks of
single steps.
"""

from __future__ import annotations

import itertools
import math
import os
import sys
import threading
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from ..constants import INT64_SAFE
from ..runtime import (
    ChildDied,
    Deadline,
    TimeUp,
    gc_paused,
    run_cancellable,
    start_in_child,
)
from .profiles import (
    Atom,
    canonical,
    dominated_by,
    dominates,
    flatten,
    join,
    joined_word,
    key_columns,
    merge,
    preference,
)
from .series_parallel import SPNode, SPResult, decompose, series_items
from .sp_merge import node_buffers

T = TypeVar("T")
U = TypeVar("U")

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from types import ModuleType

    from ..graph import Graph

__all__ = ["SP_FAMILIES", "SPSchedule", "sp_order", "sp_supported"]

SP_FAMILIES = ("auto", "full", "threshold")
"""Candidate families of a fork, see :func:`sp_order`."""

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
"""Larger forks build at most this many partial combinations per branch;
the time limit bounds the work too."""
MIXED_MAX = 200_000
"""The same budget for the proven candidates of forks with nested
branches (:meth:`_Solver._mixed_combos`: a few branches, each a small
family, so a few prunings per fork; at 10^4 nodes one fork of two nested
branches with 49 and 2,099 options needs 102,851, about 7 s. Not for
the full family: a pumpkin of 60 branches took 184 s instead of 13 s.)
Only while more than ``MIXED_MIN_S`` seconds are left, if there is a
time limit, unless the caller does not hurry (a proof or nothing)."""
LEAST_MAX = 4_000_000
"""The last step of a fork's combinations on arrays (every branch
chosen: peaks only, compiled, no pruning, so linear in the pairs, a
block at a time) may take up to this many pairs, beyond ``pareto_max``
and ``MIXED_MAX``: at 10^6 nodes two forks with two nested branches each
reached 400,000 to 1,000,000 there (0.4 s each) and were left to the
refuted shared threshold before; a 10^4-node SP graph (unbounded
out-degree, seed 2) needs 13.6 million at its top fork (2.7 s), within
the escalated budget (``ESCALATE``)."""
MIXED_MIN_S = 10.0
"""Under a shorter time limit the larger budget could take the whole of
it (``solve -t 3`` on a 10^4-node SP graph: its SP order lost, 2,676
instead of 2,654); not for a fork's second try, which keeps its first
answer when its share of the time runs out."""
ESCALATE = 5
"""A fork that the budgets above (``PARETO_MAX``, ``MIXED_MAX``,
``LEAST_MAX``, the caller's ``pareto_max``) leave inexact (capped, or on
the refuted shared threshold) is tried once more with budgets this many
times larger, when time allows (:meth:`_Solver._may_escalate`). A shipped
10^4-node SP graph with a fork of three branches, two of them nested
(about 1.3 million options in one), needs 565,000 items in a pruning of
that branch and 3.2 million pairs in the fork's last step: 2,117
(feasible) became 2,069 (optimal), 5 s more and twice the memory
(1.05 GB at most)."""
ESCALATE_SHARE = 0.5
"""Under a time limit, the share of the time left before the hurry (the
last quarter) that the second try may take."""
ESCALATE_TRIES = 2
"""A fork still inexact after the second try is tried again with budgets
``ESCALATE`` times larger again, up to this many tries in all (budgets
5 and 25 times the first), each with ``ESCALATE_SHARE`` of what is left,
and the tries after the first only where the memory allows them
(``ESCALATE_BYTES``). Unbounded out-degree, 2 * 10^4 nodes: seeds 0
and 2 need the third try (``sp_order`` alone: 29.2 s and 2.3 GB at
most, against 12.3 s unproven; 266.5 s and 3.5 GB, against 43.2 s
unproven)."""
ESCALATE_BYTES = 800
"""Memory a try may take per item of its budget (``MIXED_MAX`` times its
factor): the third tries at 2 * 10^4 nodes above took up to 3.5-4.0 GB
for 5 million items. A try after the first is made only while the memory
available is at least twice that."""
LARGE = 20_000
"""On graphs of more nodes, ``family="auto"`` enumerates forks of at most
``LARGE_CANDIDATES`` candidates and decides the others by Lemma 5 (their
forks are many: certifying them all costs more than a minute at 10^5)."""
LEMMA5_BEFORE_DESCENT = 1_000_000
"""``family="auto"`` tries Lemma 5 before coordinate descent on forks with
nested branches whose threshold family is estimated at most this large
(coordinate descent took a 10^5-node SP graph to 3,481 where Lemma 5
finds 3,397, proven by ``threshold``); flat forks only where the family
is affordable (``PARETO_MAX``: high-degree forks would take minutes)."""
LARGE_CANDIDATES = 200
PARETO_MAX_LARGE = 2_000
"""Pareto budget there, for forks whose Lemma 5 family is too large."""
PARALLEL_MIN = 2_000
"""Graphs of at least this many nodes are solved by two processes when
``workers`` allows (see :meth:`_Solver._share`)."""
COMBOS_SHARED = 2_000
"""Pareto prunings of at least this many items (a fork's combinations, a
branch's options) are shared by two processes when ``workers`` allows."""
WORDS_SHARED = 1_000
"""Forks with at least this many candidates of least peak build their
words in two processes when ``workers`` allows."""
STEPS_SHARED = 4_096
"""Pareto prunings on arrays of at least this many items, in at least two
groups of final levels, prune half of the groups in a second thread when
``workers`` allows (:func:`_pareto_rows`; the compiled steps release the
GIL)."""


@dataclass
class SPSchedule:
    """Result of :func:`sp_order`.

    ``exact`` is True when the order is optimal by Lemmas 1-4: every fork
    was decided over all its pre-release ideals (enumerated or
    Pareto-pruned) and found a candidate dominating the others. ``forks``,
    ``nested`` and ``candidates`` count the forks solved, the nested
    branches and the candidates compared; ``conjectured`` the forks with a
    nested branch decided by the conjectured form of Lemma 5 (one
    threshold shared by all branches: refuted, it can miss the optimum;
    see :attr:`exact_if_lemma5`; flat forks decided by Lemma 5 are exact),
    ``capped`` those decided by coordinate
    descent, ``undominated`` those where no candidate dominated the others,
    ``escalated`` those decided exactly only by a later try with larger
    budgets (``ESCALATE``, ``ESCALATE_TRIES``). ``interrupted``: Ctrl-C
    came, and the order was finished in a hurry (see :func:`sp_order`'s
    ``grace``).
    ``peak`` is the peak predicted by the atoms: the evaluator's when
    ``exact``; otherwise it can be higher, never lower (a candidate's
    release is modelled at its place in the chain, which can come after
    the last reader; the evaluator frees the buffer there).
    """

    order: np.ndarray
    peak: int
    exact: bool
    forks: int = 0
    nested: int = 0
    candidates: int = 0
    undominated: int = 0
    capped: int = 0
    conjectured: int = 0
    escalated: int = 0
    interrupted: bool = False

    @property
    def exact_if_lemma5(self) -> bool:
        """Optimal if the conjectured form of Lemma 5 found a dominant
        candidate on each fork it decided (``conjectured``): nothing else
        kept the order from being proven. That form is refuted in general
        (docs/theory.md), so this is a hint, not a proof."""
        return self.capped == 0 and self.undominated == 0


@dataclass(slots=True)
class _Branch:
    """A fork branch (see :meth:`_Solver.branch`): before the release it
    runs ``head`` and a prefix of ``rest`` (flat), or a combination of its
    ``subs`` (nested)."""

    head: list[Atom]
    rest: list[Atom]
    subs: list[_Branch] = field(default_factory=list)
    w_atom: Atom | None = None
    forced: bool = False
    full_pre: list[Atom] = field(default_factory=list)
    keys: list = field(default_factory=list)
    count: int = 0
    glued: int = 0
    cache: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keys = [preference(x) for x in self.rest]
        # how many atoms of the rest Lemma 2 merges into the head's atoms
        full = join(self.head, (), self.rest)
        kept = 0
        while kept < min(len(full), len(self.rest)) and (
            full[-1 - kept] is self.rest[-1 - kept]
        ):
            kept += 1
        self.glued = len(self.rest) - kept
        self.count = len(self.rest) + 1
        if self.subs and not self.forced:
            self.count += 1 + math.prod(s.count for s in self.subs)

    def options_at(self, tau: tuple, proven: bool = False) -> int:
        """How many options :meth:`_Solver.threshold_options` gives at
        ``tau`` (at most)."""
        lo, hi = bisect_left(self.keys, tau), bisect_right(self.keys, tau)
        if proven:  # 0..min(glued - 1, hi), and max(glued, lo..hi)
            g = self.glued
            k = min(g, hi + 1) + (hi - max(lo, g) + 1 if hi >= g else 1)
        else:
            k = hi - lo + (2 if lo else 1) + (self.glued > lo)
        if self.subs and not self.forced:
            k += 1 + math.prod(s.options_at(tau) for s in self.subs)
        return k

    @property
    def proven(self) -> bool:
        """Whether the threshold family is proven for this fork branch
        (Lemma 5 holds for flat branches and for nested ones whose closing
        node reads the fork's buffer: their consumers run as one head)."""
        return not self.subs or self.forced


_TOP = (3, 0)
"""A threshold above every preference key."""
_ITEMS = attrgetter("items")
_ALL = "all"
"""Returned by :meth:`_Solver._threshold_combos`: use the full family."""
_NO_ARRAYS = "no arrays"
"""Returned by :meth:`_Solver._combos_on_arrays`: levels past int64."""


def _threshold_size(trees: list[_Branch]) -> int:
    """An upper bound on the size of a fork's threshold family."""
    taus = {k for t in trees for k in _all_keys(t)}
    proven = all(t.proven for t in trees)
    return sum(
        math.prod(t.options_at(tau, proven) for t in trees)
        for tau in [*taus, _TOP]
    )


def _all_keys(t: _Branch) -> list:
    return [*t.keys, *(k for s in t.subs for k in _all_keys(s))]


OUTSIDE = (
    "a node whose buffers are read by different sets of parallel "
    "successors, or a graph input read in parallel by nodes that are "
    "not sources"
)


def sp_supported(graph: Graph) -> bool:
    """The memory model this solver handles: node sizes, workspaces, kept
    outputs, and any buffer whose release is fixed or whose readers are
    successors of its producer, the same ones for all such buffers of a
    node (:func:`.sp_merge.node_buffers`)."""
    if not graph.buffers and not graph.edge_size.any():
        return True
    return node_buffers(graph) is not None


class _Solver:
    def __init__(
        self,
        graph: Graph,
        max_candidates: int = MAX_CANDIDATES,
        deadline: Deadline | None = None,
        pareto_max: int = PARETO_MAX,
        family: str = "auto",
        workers: int = 1,
        hurry: bool = True,
        dominant: bool = True,
        progress: Callable[[float], None] | None = None,
        escalate: int = ESCALATE_TRIES,
        grace: float = 0.0,
        phase: Callable[[str | None], None] | None = None,
    ) -> None:
        self.deadline = deadline
        self.phase = phase  # (told of the tries: see sp_order)
        # seconds to finish in, in a hurry, after Ctrl-C
        self.grace = grace
        self.interrupted = False  # (and finishing: see _wind_down)
        # tries with larger budgets for a fork the budgets leave inexact
        self.tries = escalate
        self.dominant = dominant  # (False: see sp_order)
        # the share of the graph's nodes placed so far, reported from this
        # process (see _placed) in steps of a hundredth
        self.progress = progress
        self.n = graph.n
        self.placed = 0
        self.next_report = 0
        self.reported = 0.0
        self.family = family
        self.large = family == "auto" and graph.n > LARGE
        self.cancel = threading.Event()  # set on Ctrl-C (run_cancellable)
        self.pareto_max = pareto_max
        # with a deadline, Pareto pruning stops after three quarters of the
        # time (the fork at hand and the later ones use coordinate descent)
        self.soft = None
        if deadline is not None and hurry:
            self.soft = deadline.sub(0.75)
        self.hurry = hurry
        self.guard = _Guard(self)
        model = node_buffers(graph)
        if model is None:
            raise ValueError(OUTSIDE)
        self.model = model
        # node buffers: released by the last successor (forks); the rest of
        # each node's effect is fixed (``fixed``), whatever the order
        self.size = [*model.size, model.source_size, 0]
        self.out = self.size
        self.hill0 = [*model.hill, 0, 0]
        self.fixed = [*model.fixed, 0, 0]
        # nodes with a fixed effect: the node-buffer net of a part is its
        # net minus their effects (see _node_net)
        self.fixed_nodes = {v for v, f in enumerate(model.fixed) if f}
        # nodes whose node buffers only some successors read
        self.readers = model.readers
        self.forks = self.nested = self.candidates = self.undominated = 0
        self.capped = self.conjectured = self.escalated = 0
        # budgets are multiplied by this (ESCALATE while a fork they left
        # inexact is tried again)
        self.scale = 1
        # the parallel parts of the graph's outermost series, by id (see
        # fork's ``top``), and whether the fork at hand is one
        self.top: set[int] = set()
        self.at_top = False
        self.max_candidates = max_candidates
        self.workers = workers
        # chains of parts computed ahead (by id of the part): see _share
        self.done: dict[int, list[Atom]] = {}
        # the compiled functions: False until load_kernels() decides,
        # then the module or None
        self._kernels: Any = False
        self._python_work = 0  # candidates and items compared in Python

    def load_kernels(self) -> None:
        """Load :mod:`.candidate_words` when numba is installed, and call
        its functions once (:func:`.candidate_words.warm`): numba takes a
        quarter of a second to import and its functions 0.3-0.5 s to read
        from its cache, or 6-11 s to compile on their first call after an
        install (one at a time, none started with less than
        :data:`.candidate_words.WARM_STEP_S` left: a compilation cannot be
        interrupted; the Python path then), so this is done only once a
        graph is large enough to repay it (``COMPILED_MIN_NODES``) or its
        forks have compared ``LAZY_LOAD_WORK`` candidates and items in
        Python, and, under a time limit, while ``COMPILE_S`` seconds are
        left (or whatever is left, once an earlier solver of this process
        compiled them, or while ``CACHED_LOAD_S`` are left when numba's
        cache holds them: :func:`kernels_in_time`)."""
        self._kernels = None
        left = math.inf if self.deadline is None else self.deadline.remaining()
        if not kernels_in_time(left):
            return
        from . import candidate_words  # (numba imported there, if it can be)

        if candidate_words.COMPILED and candidate_words.warm(self.deadline):
            self._kernels = candidate_words

    def kernels(self, size: int, count: bool = True) -> ModuleType | None:
        """:mod:`.candidate_words` for ``size`` candidates or items when
        they are at least ``_COMPILED_MIN`` and :meth:`load_kernels` loaded
        it (loaded here once the work in Python reaches
        ``LAZY_LOAD_WORK``; without ``count``, work that is counted where
        it is done in Python: only when already loaded)."""
        if size < _COMPILED_MIN:
            return None
        if self._kernels is False:
            if not count:
                return None
            self._python_work += size
            if self._python_work < LAZY_LOAD_WORK:
                return None
            self.load_kernels()
        return self._kernels

    def check(self) -> None:
        """Raise TimeUp past the deadline, KeyboardInterrupt once cancelled
        (unless the solver may finish after it: :meth:`_wind_down`)."""
        if self.cancel.is_set() and not self.interrupted:
            if self.grace <= 0 or not self.hurry:
                raise KeyboardInterrupt
            self._wind_down()
        if self.deadline is not None:
            self.deadline.check()

    # atoms ------------------------------------------------------------
    def atom(self, v: int, freed: int) -> Atom:
        """v's atom: its node buffer kept, ``freed`` bytes of node buffers
        released (the solver's accounting), and its fixed effect. (Each
        node's atom is made once: they count the nodes placed.)"""
        if self.progress is not None:
            self._placed(1)
        return Atom(self.hill0[v], self.out[v] + self.fixed[v] - freed, v)

    def _placed(self, count: int) -> None:
        """``count`` more nodes placed (an atom made, or parts the other
        process took): ``progress`` told the share of the graph's nodes,
        at most 0.99 (the forks above the last nodes still run), whenever
        it passed another hundredth."""
        self.placed += count
        if self.placed >= self.next_report and self.progress is not None:
            self.next_report = self.placed + max(1, self.n // 100)
            done = min(0.99, self.placed / max(1, self.n))
            if done > self.reported:
                self.reported = done
                self.progress(done)

    def _node_net(self, chain: list[Atom]) -> int:
        """What a chain leaves behind in node buffers: its net less the
        fixed effects of its nodes (those are not freed by the next node)."""
        net = sum(x.net for x in chain)
        if self.fixed_nodes:
            inner = self.fixed_nodes
            items = flatten(tuple(x.items for x in chain))
            net -= sum(self.fixed[v] for v in items if v >= 0 and v in inner)
        return net

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
        if self.done and not shared:
            got = self.done.pop(id(p), None)
            if got is not None:  # computed by the other process
                return got
        self.check()
        if p.kind == "series":
            return self.series(series_items(p), a, shared)
        return self.parallel(p, a, shared)

    def series(self, items: list, a: int, shared: bool) -> list[Atom]:
        """``P0, v1, P1, ..., vm, Pm`` after a: its only order, made canonical.

        The node after a part frees everything the part left behind and,
        unless it is shared, the buffer of the part's source: that is the
        part's net plus the source's size (a release inside the part is
        already in the net).
        """
        chain = self.part(items[0], a, shared)
        freed = self._node_net(chain) + (0 if shared else self.out[a])
        for k in range(1, len(items), 2):
            v = items[k]
            chain.append(self.atom(v, freed))
            sub = self.part(items[k + 1], v, False)
            chain += sub
            freed = self._node_net(sub) + self.out[v]
        return canonical(chain)

    def parallel(self, p: SPNode, a: int, shared: bool) -> list[Atom]:
        """A parallel composition after ``a``: independent chains merged,
        or a fork when a's node buffer is released inside it (by the last
        of its readers, in two branches or more).

        When only some of a's successors read its buffer, the branches
        without a reader do not wait for the release: they are merged
        with the fork's chain as independent parts; with the readers in
        one branch, the release is inside that branch.
        """
        branches = [b for b in p.children if b.kind != "edge"]
        direct = len(branches) < len(p.children)
        if shared or self.out[a] == 0:
            return merge([self.part(b, a, True) for b in branches])
        readers = self.readers.get(a)
        top = id(p) in self.top
        if readers is None:
            if direct:  # the node after p reads a: the release is fixed
                return merge([self.part(b, a, True) for b in branches])
            return self.fork(branches, a, top)
        mine = [b for b in branches if any(x in readers for x in _heads(b))]
        if direct and sum(x in readers for b in mine for x in _heads(b)) < len(
            readers
        ):  # the node after p reads a too: the release is fixed there
            return merge([self.part(b, a, True) for b in branches])
        taken = {id(b) for b in mine}  # (SPNodes compare by value: deep)
        others = [
            self.part(b, a, True) for b in branches if id(b) not in taken
        ]
        if len(mine) == 1:  # the release is inside that branch
            return merge([self.part(mine[0], a, False), *others])
        if not others:
            return self.fork(mine, a, top)
        return merge([self.fork(mine, a), *others])

    def fork(
        self, branches: list[SPNode], a: int, top: bool = False
    ) -> list[Atom]:
        """Lemma 4: the dominant chain of a fork at ``a``.

        Every candidate is a *pre-release ideal*: per branch a choice from
        :meth:`options`; pre-release chains are merged, then R, then the
        post-release chains are merged (Lemmas 1-2 on each side). The
        candidates are all such ideals (enumerated, or Pareto-pruned, both
        exact) or, with ``family="threshold"`` or beyond the budgets, the
        families of Lemma 5 (:meth:`_lemma5`). Under ``auto`` whichever
        comes first (Lemma 5 where it is affordable and proven, in a hurry
        or on large graphs) is followed by the other where it gives up,
        and only then by coordinate descent (inexact).

        ``top``: the fork is a part of the graph's outermost series (its
        chain merged with nothing: :func:`_top_parts`). The graph's peak is
        then the highest of its parts' peaks, each above a level fixed by
        the nets before it, so any candidate of least peak is optimal (every
        schedule of the fork is dominated by a candidate, and every
        candidate pruned by a kept one): no tie is broken by words, and one
        row of least peak is kept (:meth:`_least_on_arrays`).
        """
        self.forks += 1
        r_atom = self.release(a)
        trees = [self.branch(b, a) for b in branches]
        self.at_top = top
        try:
            return self._fork(trees, r_atom, top)
        finally:
            self.at_top = False

    def _fork(
        self, trees: list[_Branch], r_atom: Atom, top: bool
    ) -> list[Atom]:
        """:meth:`fork` once its branches are built."""
        before = self.capped
        combos, conjectured = self._decide(trees, r_atom.net)
        if combos is None:
            self.capped += 1
            opts = [self._prune(self.options(t)) for t in trees]
            combos = self._greedy_combos(opts, r_atom)
        # A dominant candidate has the least peak (merging atoms keeps the
        # peak, so it is read off the unjoined chains). Among those of least
        # peak, one that dominates the others dominates the dominant one, so
        # all (Lemma 4, and dominance is transitive): only their words are
        # built, without building atoms; the chosen one is joined.
        combos, peaks = self._with_peaks(combos, trees, r_atom)
        if (conjectured or self.capped > before) and self._may_escalate():
            # inexact: again with larger budgets, cut at the least peak
            # found (a dominant candidate's peak is no higher)
            cut = int(min(peaks))
            for k in range(1, self.tries + 1):
                scale = ESCALATE**k
                if k > 1 and not (
                    self._may_escalate() and _memory_allows(MIXED_MAX * scale)
                ):
                    break
                if self.phase is not None:
                    self.phase(
                        f"sp: a fork of {len(trees)} branches, try {k + 1} "
                        f"of {self.tries + 1} (budgets x{scale})"
                    )
                got, timed_out = self._escalated(trees, r_atom.net, cut, scale)
                if got is not None:
                    self.capped, conjectured = before, False
                    self.escalated += 1
                    combos, peaks = self._with_peaks(got, trees, r_atom)
                    break
                if timed_out:
                    break
            if self.phase is not None:
                self.phase(None)  # (the caller's phase again)
                if self.progress is not None and self.reported:
                    self.progress(self.reported)
        self.conjectured += conjectured
        if isinstance(peaks, np.ndarray):  # (every row's, compiled)
            tied = np.flatnonzero(peaks == peaks.min()).tolist()
        else:
            low = min(peaks)
            tied = [k for k, p in enumerate(peaks) if p == low]
        self.candidates += len(combos)
        if top:  # (optimal whatever the words)
            got = (tied[0], True)
        else:
            got = combos.choose(tied, r_atom, self.check)
        if got is None:
            got = self._choose(combos, tied, r_atom)
        best, every = got
        if not every:
            self.undominated += 1  # the least peak still
        pre, post = combos.chains(best)
        return join(pre, (r_atom,), post)

    def _decide(
        self, trees: list[_Branch], release: int
    ) -> tuple[_Candidates | list | str | None, bool]:
        """``(combos, conjectured)``: the candidates of a fork whose
        branches are ``trees`` and whose release has net ``release``, as
        :meth:`fork` describes (None beyond the budgets: coordinate descent
        then), and whether they rest on the refuted shared threshold;
        ``capped`` counts an inexact combination of a branch's options."""
        combos = None
        conjectured = False
        full = math.prod(t.count for t in trees)
        cap = full if full <= MAX_CANDIDATES else math.inf
        # Lemma 5 is proven on flat forks, and with nested branches for
        # the others (every option of the nested ones kept): where that
        # family is affordable, it comes first
        if all(t.proven for t in trees):
            proven = affordable = _threshold_size(trees) <= PARETO_MAX
        else:
            flat = [t for t in trees if t.proven]
            proven = not self.large and _threshold_size(flat) <= PARETO_MAX
            affordable = proven or _threshold_size(trees) <= PARETO_MAX
        if self.family == "threshold":
            combos, conjectured = self._lemma5(trees, cap, release)
        else:
            hurry = self.soft is not None and self.soft.expired()
            small = full <= (
                HURRY_CANDIDATES if hurry else self.max_candidates
            )
            # Lemma 5 where its family is affordable (not at a high degree):
            # first where it is proven, else in a hurry or on large graphs
            cheap = self.family == "auto" and affordable
            lemma5_first = not small and (
                cheap and (hurry or self.large or proven)
            )
            lost = None
            if not lemma5_first:
                combos, lost = self._all_ideals(trees, release)
            # (before coordinate descent, Lemma 5 on forks with nested
            # branches whose family, if large, is still within reach)
            tried = (
                cheap
                or lost is not None
                or (
                    not all(t.proven for t in trees)
                    and _threshold_size(trees) <= LEMMA5_BEFORE_DESCENT
                )
            )
            if combos is None and tried:
                combos, conjectured = self._lemma5(trees, cap, release)
            if combos is None and lemma5_first:  # all ideals after all
                combos, lost = self._all_ideals(trees, release)
            if combos is None and lost is not None:
                combos = self._combinations(lost)
                self.capped += combos is not None  # (else below)
        return combos, conjectured

    def _with_peaks(
        self, combos, trees: list[_Branch], r_atom: Atom
    ) -> tuple[_Candidates, list[int] | np.ndarray]:
        """A fork's candidates as :class:`_Candidates` (every pre-release
        ideal for ``_ALL``) and the peak of each."""
        if combos is _ALL:  # no larger than the threshold family, and exact
            combos = _Candidates.product([self.options(t) for t in trees])
        if not isinstance(combos, _Candidates):
            combos = _Candidates([], np.zeros((0, 0), dtype=np.int64), combos)
        if combos.kernels is None:  # (else given by _least)
            combos.kernels = self.kernels(len(combos.rows))
        return combos, combos.peaks(r_atom.net, self.check)

    def _may_escalate(self) -> bool:
        """Whether a fork left inexact by the budgets is tried again with
        budgets ``ESCALATE`` times larger: not on graphs above ``LARGE``
        nodes under ``auto`` (their forks go to Lemma 5 by design; the
        proof pass, in the ``threshold`` family, may escalate), and not in
        the last quarter of a time limit. However short the limit (even
        under ``MIXED_MIN_S``): the try stops at its share of the time and
        the fork keeps its first answer then (:meth:`_escalated`), so it
        gets the larger ``MIXED_MAX`` too."""
        if self.scale != 1 or self.large or ESCALATE <= 1:
            return False
        return self.soft is None or not self.soft.expired()

    def _escalated(
        self, trees: list[_Branch], release: int, cut: int, scale: int
    ) -> tuple[_Candidates | list | str | None, bool]:
        """``(candidates, timed_out)``: a fork's proven candidates with
        budgets ``scale`` times larger (the options nested branches lost to
        the budgets forgotten), or None: Lemma 5's family where every
        branch is flat (and it is within the larger budget), else
        :meth:`_mixed_combos` with ``cut``, a peak some candidate reaches
        (so is the dominant one's; the shared-threshold family, which the
        first try may have built for its cut, is not built again). Under a
        time limit this try gets ``ESCALATE_SHARE`` of what is left before
        the hurry; ``timed_out`` says it used it up."""
        soft = self.soft
        if soft is not None:
            self.soft = soft.sub(ESCALATE_SHARE)
        self.scale = scale
        capped = self.capped
        _forget_lost(trees)
        got = None
        timed_out = False
        try:
            if not all(t.proven for t in trees):
                got = self._mixed_combos(trees, cut, release)
            elif _threshold_size(trees) <= PARETO_MAX * self.scale:
                got = self._threshold_combos(trees, math.inf, release)
        except TimeUp:
            if self.deadline is not None and self.deadline.expired():
                raise
            timed_out = True
        finally:
            # (past its share the prunings give up without TimeUp: the
            # combinations come back None, see _combinations)
            if soft is not None:  # (self.soft is this try's share)
                timed_out = timed_out or self.soft.expired()
            self.scale = 1
            if not self.interrupted:  # (else the hurry stays)
                self.soft = soft
        if self.capped != capped:  # (an option list lost options)
            self.capped, got = capped, None
        return got, timed_out

    def _wind_down(self) -> None:
        """After Ctrl-C (:meth:`check`): the rest is done as in the last
        quarter of a time limit (no more tries: a fork being tried again
        keeps its first answer; prunings give up, and forks beyond
        ``HURRY_CANDIDATES`` go to Lemma 5 or coordinate descent), within
        ``grace`` seconds (then TimeUp, which :func:`sp_order` turns back
        into the interrupt); Ctrl-C no longer stops it."""
        self.interrupted = True
        left = self.grace
        if self.deadline is not None:
            left = min(left, self.deadline.remaining())
        self.deadline = Deadline(left)
        self.soft = Deadline(0.0)  # (expired: the hurry)

    def _choose(
        self, combos: _Candidates, tied: list[int], r_atom: Atom
    ) -> tuple[int, bool]:
        """``(k, all)``: among the candidates ``tied``, one whose word
        dominates the others if one does, and whether it does (in Python;
        :meth:`_Candidates.choose` does it on arrays)."""
        # equal words are compared once (the last candidate of each kept,
        # as a pass over all of them would end with)
        words: dict[tuple[int, ...], int] = {}
        for k, w in zip(tied, self._words(combos, tied, r_atom), strict=True):
            words[tuple(w)] = k
        distinct = list(words)
        best_word = distinct[0]
        for w in distinct[1:]:
            if dominates(w, best_word):
                best_word = w
        every = all(dominates(best_word, w) for w in distinct)
        return words[best_word], every

    def _all_ideals(
        self, trees: list[_Branch], release: int
    ) -> tuple[_Candidates | list | None, list | None]:
        """``(combos, lost)``: every pre-release ideal of the fork
        (:meth:`_combinations` of every branch's :meth:`options`; when
        pruned, those of least peak, ``release`` the net of the fork's
        release), None beyond the budgets; or ``(None, options)`` when a
        nested branch beyond the budgets lost options (combining those is
        inexact, and can be far off: 3,481 against 3,397 at 10^5 nodes,
        where Lemma 5 finds the optimum)."""
        before = self.capped
        opts = [self._prune(self.options(t)) for t in trees]
        if self.capped == before:
            return self._combinations(opts, release=release), None
        self.capped = before
        return None, opts

    def _lemma5(
        self, trees: list[_Branch], cap: float, release: int
    ) -> tuple[_Candidates | list | str | None, bool]:
        """Lemma 5's candidates for a fork, and whether they rest on the
        conjecture: the threshold family on a flat fork; with nested
        branches, the proven candidates (:meth:`_mixed_combos`: each
        nested branch's own family combined with the threshold family of
        the others) where they fit the budgets, else the family that
        takes thresholds inside the nested branches too (conjectured,
        refuted in general), whose least peak then bounds the proven
        candidates worth keeping, tried again with that cut. With two
        nested branches or more the conjectured family comes first, its
        cut in the first try. It stops at ``cap`` candidates (``_ALL``:
        all the pre-release ideals are then fewer, and enumerated). On
        graphs above ``LARGE`` nodes (``auto``) only the conjectured
        family. ``release``: the net of the fork's release."""
        if all(t.proven for t in trees):
            return self._threshold_combos(trees, cap, release), False
        if not self.large and sum(not t.proven for t in trees) == 1:
            # with one nested branch, the proven candidates without the
            # conjectured family's cut first: building that family and its
            # peaks took longer than the cut saved (threshold, 10^5 nodes,
            # seeds 1-3: 0.72-0.97 of the time in one process). With two
            # nested branches or more the cut pays (their options'
            # product); so it does on a few forks of auto at 3,000 nodes
            proven = self._mixed_combos(trees, release=release)
            if proven is not None:
                return proven, False
        combos = self._threshold_combos(trees, cap, release)
        if self.large:
            # (the proven family is not tried on large graphs: there it
            # takes twice the time of the whole solve at 10^5 nodes and
            # leaves a hundred forks to the conjecture)
            return combos, combos is not None and combos is not _ALL
        if combos is _ALL:
            return combos, False
        if combos is None:  # (no peak to cut with)
            return self._mixed_combos(trees, release=release), False
        if not isinstance(combos, _Candidates):
            combos = _Candidates([], np.zeros((0, 0), dtype=np.int64), combos)
        if combos.kernels is None:
            combos.kernels = self.kernels(len(combos.rows), count=False)
        least = int(min(combos.peaks(release, self.check)))
        proven = self._mixed_combos(trees, least, release)
        if proven is not None:
            return proven, False
        return combos, True

    def _mixed_combos(
        self,
        trees: list[_Branch],
        cut: int | None = None,
        release: int | None = None,
        cut_release: int | None = None,
    ) -> list | _Candidates | None:
        """The proven candidates of a fork with nested branches: each
        nested branch's options of :meth:`nested_options` (dominated ones
        dropped) with every member of the threshold family of the others,
        combined as in :meth:`_combinations` (Pareto pruning beyond
        ``max_candidates``, with the ``cut`` and ``release`` of
        :meth:`_pareto_combos` when the trees are a fork's branches); None
        beyond the budgets.

        Lemma 5 holds there: its exchange argument moves an atom y of a flat
        branch after the release or an atom x of one before it, and
        whatever is chosen of a nested branch stays where it is, its atoms
        independent of x and y and merged by key on each side like the
        others; run inside a nested branch, it moves atoms of its inner
        part only (docs/theory.md). So for each choice in the nested
        branches some member of the flat branches' threshold family
        dominates, and for each choice elsewhere some member of a nested
        branch's own family does.
        """
        flat = [t for t in trees if t.proven]
        if _threshold_size(flat) > PARETO_MAX * self.scale:
            return None
        family: list = []
        if flat:
            got = self._threshold_combos(flat)
            if got is None:
                return None
            family = self._prune(list(got))
        nested = [t for t in trees if not t.proven]
        if release is not None and (
            math.prod(t.count for t in nested) * max(len(family), 1)
            > self.max_candidates
        ):
            least = self._plain_cut(nested, family, release)
            if least is not None and (cut is None or least < cut):
                cut = least
        # (the nested branches' options cut too, the others at their least
        # levels: the release's net for it)
        inside = release if release is not None else cut_release
        others = sum(map(_low, trees)) if cut is not None else 0
        opts = []
        for t in nested:
            own = None if cut is None else cut - others + _low(t)
            got = self.nested_options(t, own, inside)
            if got is None:  # beyond the budgets
                return None
            opts.append(got)
        if flat:
            opts.append(family)
        budget = self.pareto_max * self.scale
        if (
            self.deadline is None
            or not self.hurry
            or self.scale > 1  # (a second try: its own share of the time)
            or self.deadline.remaining() > MIXED_MIN_S
        ):
            budget = max(budget, MIXED_MAX * self.scale)
        return self._combinations(opts, budget, cut, release, cut_release)

    def _plain_cut(
        self, nested: list[_Branch], family: list, release: int
    ) -> int | None:
        """The least peak of a few of a fork's proven candidates, cheap to
        find, to cut the others with (:class:`_PeakCut`): each nested
        branch (``nested``) with X0 complete before the release (w1 after
        it) or w1 and a prefix of its rest before it, combined with the
        threshold family of the flat branches (``family``, pruned), or
        None when those are more than ``MAX_CANDIDATES`` (whatever the
        solver's budgets: they are only evaluated). On the forks with nested branches
        of a 10^5-node SP graph it was the fork's least peak on 23 of the
        30 slowest and within 10% of it on the others."""
        opts = [
            [self.x0_complete(t)]
            + [self.prefix(t, k) for k in range(len(t.rest) + 1)]
            for t in nested
        ]
        if family:
            opts.append(family)
        if math.prod(map(len, opts)) > MAX_CANDIDATES:
            return None
        combos = _Candidates.product(opts)
        combos.kernels = self.kernels(len(combos.rows), count=False)
        return int(min(combos.peaks(release, self.check)))

    def nested_options(
        self, t: _Branch, cut: int | None = None, release: int | None = None
    ) -> list[tuple[list, list]] | None:
        """The options of a nested branch (w1 not reading a) that Lemma 5
        needs: while X0 is incomplete, its own threshold family, over the
        keys of its sub-branches alone (:meth:`_mixed_combos` on them:
        their nested ones recursively); X0 complete with w1 after the
        release; w1 and every prefix of its rest; dominated ones dropped
        (:meth:`_prune`). None beyond the budgets.

        With every other branch's choice fixed, the exchange argument of
        Lemma 5 run over the atoms of X0 alone moves only those, whose
        chains keep their order inside the branch's post-release chain
        (w1 after all of them), so some member of this family dominates
        every option with X0 incomplete (docs/theory.md). It is far
        smaller than every option (the product of the sub-branches'
        lengths).

        ``cut`` (with ``release``, the fork's release's net): a peak some
        candidate of the fork reaches, minus the least levels the fork's
        other branches can hold (:func:`_low`). The combinations of the
        sub-branches that cannot be part of a candidate of a peak so low
        are dropped as they are built (:class:`_PeakCut`). A list found
        with a cut serves any cut as low.
        """
        got = t.cache.get("nested")
        if got is not None:
            used = t.cache.get("nested cut")
            if not got or used is None or (cut is not None and cut <= used):
                return got or None
        t.cache["nested cut"] = cut
        combos = self._mixed_combos(t.subs, cut, None, release)
        # pruned before w1 and the rest are joined to them where they can
        # be (a post-release chain that dominates another and ends at the
        # same level still does with the same atoms after it): then the
        # few options added below are not worth wording them all again
        pruned = not isinstance(combos, _Candidates)  # (else Pareto-pruned)
        if isinstance(combos, _Candidates):
            got = self._pruned_rows(combos, cut, release)
            if got is not None:
                combos, pruned = got, True
        out: list[tuple[list, list]] = []
        if combos is not None:
            # X0 not complete: w1 and the rest after it
            posts = None
            if isinstance(combos, _MergedRows):
                posts = combos.joined(t.w_atom, t.rest)
            if posts is None:
                posts = [
                    join(post, (t.w_atom,), t.rest) if post else None
                    for _pre, post in combos
                ]
            for (pre, _post), post in zip(combos, posts, strict=True):
                if post is not None:
                    out.append((pre, post))
            # X0 complete, w1 after the release
            out.append(self.x0_complete(t))
            out += [self.prefix(t, k) for k in range(len(t.rest) + 1)]
            if not pruned:
                out = self._prune(out)
        t.cache["nested"] = out
        return out or None

    def _shared(self, size: int, least: int) -> bool:
        """Whether work of this size goes half to a forked process."""
        return self.workers > 1 and size >= least and hasattr(os, "fork")

    def _both(
        self,
        theirs: Callable[[], T],
        mine: Callable[[], U],
        redo: Callable[[], T],
    ) -> tuple[T, U]:
        """``theirs()`` in a forked child while ``mine()`` runs here; a
        child that dies (out of memory, say) is replaced by ``redo()``."""
        child = start_in_child(theirs)
        try:
            got = mine()
            return child.result(self.check), got
        except ChildDied:
            return redo(), got
        finally:
            child.stop()

    def _steps_shared(self, sel: np.ndarray) -> Callable | None:
        """:func:`_in_threads` for :func:`_pareto_rows` of ``sel`` when
        its pruning is shared (``STEPS_SHARED``), else None."""
        return _in_threads if self._shared(len(sel), STEPS_SHARED) else None

    def _words(
        self, combos: _Candidates, ks: list[int], r_atom: Atom
    ) -> list[list[int]]:
        """``combos.words(ks, r_atom)``, half in a forked process when two
        are allowed and the words are many (the top forks of large graphs
        can tie thousands of candidates on the least peak)."""
        check = self.check
        if not self._shared(len(ks), WORDS_SHARED):
            return combos.words(ks, r_atom, check)
        half = len(ks) // 2
        first = lambda: combos.words(ks[:half], r_atom, check)  # noqa: E731
        theirs, mine = self._both(
            first, lambda: combos.words(ks[half:], r_atom, check), first
        )
        return theirs + mine

    def branch(self, branch: SPNode, a: int) -> _Branch:
        """The structure of a fork branch, for :meth:`options` and Lemma 5.

        A *flat* branch ``a -> c, P1, v2, ...``: its head is c, its rest the
        canonical chain after c. A *nested* branch ``X0, w1, P1, ...`` (X0 a
        parallel composition at a, closed by w1): its sub-branches, and,
        once they are complete, its head (their merged chains and w1) and
        the canonical rest after w1.
        """
        items = series_items(branch)
        first = items[0]
        if first.kind == "edge":
            c = self.atom(items[1], 0)  # reads a, does not free it
            rest = self.series(items[2:], items[1], False)
            return _Branch([c], rest)
        self.nested += 1
        subs = []
        forced = False
        w1 = items[1]
        readers = self.readers.get(a)
        for b in first.children:
            if b.kind == "edge":
                # w1 itself reads a (unless only some successors read it)
                forced = forced or readers is None or w1 in readers
            elif readers is None or any(x in readers for x in _heads(b)):
                subs.append(self.branch(b, a))
            else:  # no reader of a: nothing of it has to run before R
                subs.append(_Branch([], self.part(b, a, True)))
        full_pre = merge([join(s.head, (), s.rest) for s in subs])
        level = self._node_net(full_pre)
        w_atom = self.atom(w1, level)  # frees X0's outputs, not a
        rest = self.series(items[2:], w1, False)
        head = join(full_pre, (w_atom,), ())
        return _Branch(head, rest, subs, w_atom, forced, full_pre)

    def x0_complete(self, t: _Branch) -> tuple[list[Atom], list[Atom]]:
        """A nested branch's option with X0 complete before the release,
        and w1 and the rest after it (built once)."""
        got = t.cache.get("w")
        if got is None:
            got = t.cache["w"] = (t.full_pre, join((), (t.w_atom,), t.rest))
        return got

    def prefix(self, t: _Branch, k: int) -> tuple[list[Atom], list[Atom]]:
        """Head and the first k atoms of the rest before the release."""
        got = t.cache.get(k)
        if got is None:
            got = t.cache[k] = (join(t.head, (), t.rest[:k]), t.rest[k:])
        return got

    def options(self, t: _Branch) -> list[tuple[list, list]]:
        """(pre, post) canonical chains for every pre-release ideal of a branch.

        A flat branch offers c and the first k atoms of its rest before the
        release (k = 0..L). A nested branch offers every combination of its
        sub-branches' options, and, when all of them are complete, w1 and a
        prefix of the rest.
        """
        out: list[tuple[list, list]] = []
        if t.subs and not t.forced:
            combos = self._combinations([self.options(s) for s in t.subs])
            if combos is None:
                self.capped += 1
                combos = []
            for pre, post in combos:
                if post:  # X0 not complete: w1 and the rest after it
                    out.append((pre, join(post, (t.w_atom,), t.rest)))
            # X0 complete, w1 after the release
            out.append(self.x0_complete(t))
        out += [self.prefix(t, k) for k in range(len(t.rest) + 1)]
        return out

    def threshold_options(
        self, t: _Branch, tau: tuple, proven: bool = False
    ) -> list:
        """Lemma 5 options of a branch at threshold ``tau``: (key, pre, post).

        In a fork whose branches all have their consumers in their heads
        (``proven``: flat, or nested with w1 reading a) a branch runs
        before the release its head and either fewer than the atoms of its
        rest that Lemma 2 merges into the head's atom (``glued``), all with
        keys at most ``tau``, or all of them and then every atom of its
        rest preferred to ``tau`` and any number of those tied with it
        (Lemma 5, proven). In other forks (the conjectured form, refuted
        in general) a flat branch runs
        c alone, or c and every atom of its rest whose preference is below
        ``tau`` (and any number of those tied with ``tau``), or that and at
        least the glued atoms. A nested branch combines its sub-branches'
        options at ``tau`` (X0 incomplete), or completes X0 and runs w1
        after the release, or w1 and a prefix of its rest chosen as for a
        flat branch.

        A flat branch's options depend on tau only through where it falls
        among its keys: they are kept (in ``cache``) by that place, and the
        same list is returned for every tau there.
        """
        out: list = []
        lo, hi = bisect_left(t.keys, tau), bisect_right(t.keys, tau)
        flat = not t.subs or t.forced
        if flat:
            got = t.cache.get(("tau", lo, hi, proven))
            if got is not None:
                return got
        else:
            subs = [self.threshold_options(s, tau) for s in t.subs]
            for combo in itertools.product(*subs):
                key = tuple(c[0] for c in combo)
                got = t.cache.get(key)  # the same combination at other taus
                if got is None:
                    post = merge([c[2] for c in combo])
                    got = t.cache[key] = (
                        (
                            merge([c[1] for c in combo]),
                            join(post, (t.w_atom,), t.rest),
                        )
                        if post
                        else ()
                    )
                if got:
                    out.append((key, *got))
            out.append(("w", *self.x0_complete(t)))
        if proven:
            g = t.glued
            ks = {
                *range(min(g, hi + 1)),
                *(max(g, k) for k in range(lo, hi + 1)),
            }
        else:
            ks = {0, *range(lo, hi + 1), *(max(t.glued, k) for k in (lo, hi))}
        out += [(k, *self.prefix(t, k)) for k in sorted(ks)]
        if flat:
            t.cache["tau", lo, hi, proven] = out
        return out

    def _threshold_combos(
        self,
        trees: list[_Branch],
        cap: float = math.inf,
        release: int | None = None,
    ):
        """Lemma 5: the fork's threshold family of candidates.

        For every threshold ``tau`` (each key, and one above all), the
        combinations of :meth:`threshold_options` of the branches; it holds
        a dominant candidate when every branch is flat (proven: see the
        module docstring) and is conjectured to otherwise. Without glued
        atoms or ties a flat fork has one candidate per threshold, against
        the product of the branch lengths of the full family. A threshold with
        more than ``max_candidates`` combinations is Pareto-pruned as in
        :meth:`_pareto_combos`; None when even that is beyond the budgets,
        ``_ALL`` as soon as the family reaches ``cap`` candidates (the size
        of the full family: then enumerating that is cheaper, and exact).
        ``release``: the net of the fork's release, when the family is the
        fork's candidates (not options of an enclosing fork): then a pruned
        threshold keeps only its combinations of least peak (a dominant
        candidate of the fork, of the least peak of all, is dominated by one
        of them, as in :meth:`_pareto_combos`).
        """
        taus = sorted({k for t in trees for k in _all_keys(t)})
        taus.append(_TOP)
        proven = all(t.proven for t in trees)
        seen: set = set()
        pruned: dict = {}
        # the options of every pruned threshold, by key: another threshold
        # with the same options has the same candidates, kept already
        done: set = set()
        # every option of a branch once, by its key, over all thresholds
        index: list[dict] = [{} for _ in trees]
        table: list[list] = [[] for _ in trees]
        # a flat branch's row of indices by its option list, which it
        # keeps and gives again at many thresholds (by identity: a nested
        # branch's lists are new each time, and an id can be reused)
        rows: list[dict | None] = [
            {} if not t.subs or t.forced else None for t in trees
        ]
        for tau in taus:
            self.check()
            opts = [self.threshold_options(t, tau, proven) for t in trees]
            if math.prod(len(o) for o in opts) <= MAX_CANDIDATES:
                ids = []
                for b, o in enumerate(opts):
                    known = rows[b]
                    row = None if known is None else known.get(id(o))
                    if row is None:
                        row = []
                        if known is not None:
                            known[id(o)] = row
                        for key, pre, post in o:
                            i = index[b].get(key)
                            if i is None:
                                i = index[b][key] = len(table[b])
                                table[b].append((pre, post))
                            row.append(i)
                    ids.append(row)
                seen.update(itertools.product(*ids))
                if len(seen) + len(pruned) >= cap:
                    return _ALL
                continue
            keys = tuple(tuple(x[0] for x in o) for o in opts)
            if keys in done:
                continue
            done.add(keys)
            more = self._pareto_combos(
                [[o[1:] for o in x] for x in opts],
                PARETO_MAX * self.scale,
                release=release,
            )
            if more is None:
                return None
            if isinstance(more, _Candidates):
                more = self._one_if_dominant(more, release)
            for pre, post in more:  # the same atoms at other thresholds
                pruned.setdefault(
                    (*map(id, pre), None, *map(id, post)), (pre, post)
                )
        rows = np.array(sorted(seen), dtype=np.int64).reshape(-1, len(trees))
        return _Candidates(table, rows, list(pruned.values()))

    def _one_if_dominant(
        self, combos: _Candidates, release: int
    ) -> _Candidates:
        """The candidates of least peak ``combos`` (on arrays, of a fork
        whose release has net ``release``) cut down to one that dominates
        the others, if one does (the fork picks among all its candidates of
        least peak one dominating the others: this one dominates whatever
        those dominate), before they are merged one by one in Python. A
        threshold's least-peak rows can number millions (at 2 * 10^4 nodes,
        unbounded out-degree, seed 1)."""
        if len(combos.rows) <= 1 or combos.extra:
            return combos
        got = combos.choose(
            list(range(len(combos.rows))), Atom(0, release, -1), self.check
        )
        if got is not None and got[1]:
            combos.rows = combos.rows[got[0] : got[0] + 1]
        return combos

    def _combinations(
        self,
        opts,
        budget: int | None = None,
        cut: int | None = None,
        release: int | None = None,
        cut_release: int | None = None,
    ) -> list[tuple[list, list]] | _Candidates | None:
        """Merged (pre, post) chains of every combination of the options, or
        of those that survive :meth:`_pareto_combos` (with ``cut``,
        ``release`` and ``cut_release``) when there are more than
        ``max_candidates`` (a few hundred once three quarters of a time
        limit are spent); None when even that is beyond the budgets."""
        hurry = self.soft is not None and self.soft.expired()
        if math.prod(len(o) for o in opts) <= (
            HURRY_CANDIDATES if hurry else self.max_candidates
        ):
            return _Candidates.product(opts)
        if hurry:
            return None
        return self._pareto_combos(opts, budget, cut, release, cut_release)

    def _pruned_rows(
        self,
        combos: _Candidates,
        cut: int | None = None,
        release: int | None = None,
    ) -> list | None:
        """The merged (pre, post) chains of the candidates (rows, none
        merged yet) not dominated in both words, on arrays (their words
        compiled, :func:`_pareto_rows`); None when few, not all rows, or
        not on arrays (no compiled functions, levels past int64, or past
        three quarters of a time limit). ``cut`` and ``release``: as in
        :meth:`nested_options`, rows whose pre-release chain, or
        post-release chain after it and the release, rises above ``cut``
        dropped first."""
        if combos.extra or len(combos.rows) <= PRUNE_FROM:
            return None
        kernels = self.kernels(len(combos.rows), count=False)
        if kernels is None:
            return None
        cols = kernels.prepare(combos.table, 0)
        if cols is None:
            return None
        try:
            words = _side_words(kernels, cols, combos.rows, self.guard)
            sel = np.arange(len(combos.rows))
            if cut is not None:
                assert release is not None
                m = len(sel)
                _f, _s, _l, top, _low, end = words
                fits = (top[:m] <= cut) & (end[:m] + release + top[m:] <= cut)
                sel = sel[fits]
                if not len(sel):
                    return []
            kept = _pareto_rows(
                words, sel, self.guard, kernels, self._steps_shared(sel)
            )
        except TimeUp:
            return None
        return _merged_rows(kernels, cols, combos.rows[np.sort(kept)])

    def _prune(self, options: list[tuple[list, list]]) -> list:
        """A branch's options minus those dominated in both words (as in
        :meth:`_pareto_combos`); small lists are kept as they are."""
        if len(options) <= PRUNE_FROM:
            return options
        kernels = self.kernels(len(options), count=False)
        if kernels is not None:
            try:
                got = _prune_on_arrays(options, self.guard, kernels)
            except TimeUp:
                return options
            if got is not None:
                return got
        items = []
        for k, (pre, post) in enumerate(options):
            if k % 256 == 0:  # (half a second at 10^5 nodes without)
                self.check()
            items.append((pre, post, _coarse_word(pre), _coarse_word(post)))
        try:
            kept = self._pareto_items(items)
        except TimeUp:
            return options
        return [(pre, post) for pre, post, _w, _v in kept]

    def _pareto_items(self, items: list) -> list:
        """``_pareto(items)``, in two processes when allowed and the items
        are many: each prunes half, the child sends back what it kept
        (indices), and the union is pruned once more (dominance is
        transitive: whatever a half dropped is dominated in the end)."""
        kernels = self.kernels(len(items))
        if not self._shared(len(items), COMBOS_SHARED):
            return _pareto(items, self.guard, kernels)
        half = len(items) // 2

        # the child names what it kept by the identity of its pre chain
        where = {id(x[0]): k for k, x in enumerate(items[:half])}
        if len(where) < half:  # shared chains: no way to tell them apart
            return _pareto(items, self.guard, kernels)

        def prune_theirs() -> list[int]:
            kept = _pareto(items[:half], self.guard, kernels)
            return [where[id(x[0])] for x in kept]

        picked, kept = self._both(
            prune_theirs,
            lambda: _pareto(items[half:], self.guard, kernels),
            lambda: list(range(half)),  # all of them, pruned below
        )
        self.check()
        return _pareto([items[k] for k in picked] + kept, self.guard, kernels)

    def _pareto_combos(
        self,
        opts,
        budget: int | None = None,
        cut: int | None = None,
        release: int | None = None,
        cut_release: int | None = None,
    ) -> list[tuple[list, list]] | _Candidates | None:
        """Merged (pre, post) chains of every combination, minus dominated ones.

        Branches are added one at a time. A partial combination whose
        pre-release word and post-release word both dominate another's
        (Lemma 3) is at least as good once merged with the same remaining
        branches (merging is interleaving with independent work, and the
        canonical merge dominates every interleaving, Lemma 2), so the
        other is dropped. Returns None beyond ``budget`` (by default
        ``pareto_max``) partial combinations.

        ``release``: the options are all of a fork's branches, and its
        release has this net. Then only the complete combinations of the
        least peak are returned, merged but neither worded nor pruned: the
        fork picks among them by their words, and whatever pruning dropped
        before is dominated by a kept combination of no higher peak, so one
        of them is dominant. ``cut`` (with ``release``): a peak some
        candidate of the fork reaches. A dominant candidate has the least
        peak, so a partial combination all of whose completions exceed it
        is dropped too (:class:`_PeakCut`). ``cut_release`` instead of
        ``release``: the options are those of a nested branch's sub-branches,
        cut for a fork whose release has this net (``cut`` net of the least
        levels of its other branches); every kept combination is returned,
        none when the cut drops them all.
        """
        if budget is None:
            budget = self.pareto_max * self.scale
        partial: list[tuple[list, list, list[int], list[int]]] = [
            ([], [], [0], [0])
        ]
        peak_cut = None
        if cut is not None:
            inner = release is None
            assert not inner or cut_release is not None
            kernels = self.kernels(sum(map(len, opts)), count=False)
            peak_cut = _PeakCut(
                opts, cut, cut_release if inner else release, kernels
            )
            opts = peak_cut.opts
            if not all(opts):  # (none of a fork's reaches it: not a fork)
                return [] if inner else None
        order = sorted(range(len(opts)), key=lambda k: len(opts[k]))
        if len(opts) >= 2:
            kernels = self.kernels(
                len(opts[order[0]]) * len(opts[order[1]]), count=False
            )
            if kernels is not None:
                got = self._combos_on_arrays(
                    [opts[j] for j in order],
                    order,
                    budget,
                    peak_cut,
                    release,
                    kernels,
                )
                if got is not _NO_ARRAYS:
                    return got
        for k, o in enumerate(opts[j] for j in order):
            last = release is not None and k == len(opts) - 1
            if peak_cut is not None and k:
                # only the pairs whose merge can stay within the peak
                try:
                    pairs = peak_cut.pairs(partial, order[k], order[: k + 1])
                    if len(pairs) > budget:
                        return None
                    if last:  # complete: the least peak
                        return self._least(partial, o, pairs, release)
                    grown = _grow(partial, o, self.guard, pairs)
                    grown = peak_cut.keep(grown, order[: k + 1])
                    partial = self._pareto_items(grown)
                except TimeUp:
                    return None
                continue
            if len(partial) * len(o) > budget:
                return None
            try:
                if last:  # complete: the least peak
                    every = itertools.product(
                        range(len(partial)), range(len(o))
                    )
                    return self._least(partial, o, list(every), release)
                if self._shared(len(partial) * len(o), COMBOS_SHARED):
                    partial = self._grow_shared(partial, o)
                else:
                    grown = _grow(partial, o, self.guard)
                    if peak_cut is not None:
                        grown = peak_cut.keep(grown, order[: k + 1])
                    self.check()
                    partial = _pareto(
                        grown, self.guard, self.kernels(len(grown))
                    )
            except TimeUp:
                return None
            if peak_cut is not None:
                partial = peak_cut.keep(partial, order[: k + 1])
        return [(pre, post) for pre, post, _w, _v in partial]

    def _combos_on_arrays(
        self,
        table: list[list],
        order: list[int],
        budget: int,
        peak_cut: _PeakCut | None,
        release: int | None,
        kernels: ModuleType,
    ) -> list[tuple[list, list]] | _Candidates | None:
        """:meth:`_pareto_combos` on arrays (:mod:`.candidate_words`), the
        branches' options ``table`` in the order they are added
        (``order``: their places in the ``peak_cut``'s lists).

        A partial combination is a row of option indices; its words are
        built from the rows (:func:`.candidate_words.side_words`), pruned
        by :func:`_pareto_rows`, and the last step's peaks read off the
        rows, so no chain is merged until the end, and then only the kept
        combinations, compiled (:func:`_merged_rows`; none with
        ``release``: the rows of least peak are the candidates). Atoms of equal keys may be merged in another
        order than in Python, which changes no peak and gives words that
        dominate each other, so the pruning keeps combinations as good.
        ``_NO_ARRAYS`` where a level could leave int64.
        """
        cols = kernels.prepare(table, 0 if release is None else release)
        if cols is None:
            return _NO_ARRAYS
        rows = np.zeros((1, 0), dtype=np.int64)
        zero = np.zeros(1, dtype=np.int64)
        # highest, lowest and final pre-release levels, highest and lowest
        # post-release ones
        levels = (zero, zero, zero, zero, zero)
        try:
            for k, o in enumerate(table):
                mine = order[: k + 1]
                if release is not None and k == len(table) - 1:
                    # (two branches at least: the last is never the first)
                    return self._least_on_arrays(
                        table,
                        rows,
                        levels,
                        mine,
                        peak_cut,
                        release,
                        (kernels, cols),
                        budget,
                    )
                if peak_cut is not None and k:
                    i, j = peak_cut.pair_arrays(*levels, order[k], mine)
                elif 0 < len(rows) * len(o) <= budget:
                    i = np.repeat(np.arange(len(rows)), len(o))
                    j = np.tile(np.arange(len(o)), len(rows))
                else:
                    return None
                if not len(i) and peak_cut is not None and release is None:
                    return []  # (the cut inside a nested branch: none)
                if len(i) > budget or not len(i):
                    return None
                grown = np.empty((len(i), k + 1), dtype=np.int64)
                grown[:, :k] = rows[i]
                grown[:, k] = j
                words = _side_words(kernels, cols, grown, self.guard)
                _flat, _starts, _lens, top, low, end = words
                m = len(grown)
                sel = np.arange(m)
                if peak_cut is not None:
                    sel = sel[peak_cut.fits(top[:m], end[:m], top[m:], mine)]
                    if not len(sel):
                        return [] if release is None else None
                kept = _pareto_rows(
                    words, sel, self.guard, kernels, self._steps_shared(sel)
                )
                rows = grown[kept]
                levels = (
                    top[kept],
                    low[kept],
                    end[kept],
                    top[m + kept],
                    low[m + kept],
                )
        except TimeUp:
            return None
        return _merged_rows(kernels, cols, rows)

    def _least_on_arrays(
        self,
        table: list[list],
        rows: np.ndarray,
        levels: tuple,
        mine: list[int],
        peak_cut: _PeakCut | None,
        release: int,
        compiled: tuple[ModuleType, Any],
        budget: int,
    ) -> _Candidates | None:
        """The last step of :meth:`_combos_on_arrays`: the partial
        combinations ``rows`` (of the branches before the last, their
        ``levels``) with each option of the last branch (``mine``: the
        branches' places in the ``peak_cut``), as the candidates of least
        peak (``compiled``: the functions and the table's arrays); None
        past ``budget`` pairs or ``LEAST_MAX`` (times ``scale``), whichever
        is larger. Peaks only, compiled, no pruning, so linear in the
        pairs, and built a block of rows at a time (about ``_LEAST_BLOCK`` pairs): memory holds one
        block and the rows of the least peak so far, not every pair."""
        kernels, cols = compiled
        width = len(table[-1])
        most = max(budget, LEAST_MAX * self.scale)
        step = max(1, _LEAST_BLOCK // max(width, 1))
        low = math.inf
        kept: list[np.ndarray] = []
        pairs = 0
        for start in range(0, len(rows), step):
            self.guard.check()
            part = slice(start, start + step)
            if peak_cut is not None:
                i, j = peak_cut.pair_arrays(
                    *(x[part] for x in levels), mine[-1], mine
                )
            else:
                m = len(rows[part])
                i = np.repeat(np.arange(m), width)
                j = np.tile(np.arange(width), m)
            pairs += len(i)
            if pairs > most:
                return None
            if not len(i):
                continue
            grown = np.empty((len(i), len(mine)), dtype=np.int64)
            grown[:, :-1] = rows[part][i]
            grown[:, -1] = j
            block = _Candidates.on_arrays(table, grown, kernels, cols)
            peaks = block.compiled_peaks(release, self.guard.check)
            least = int(peaks.min())
            if least < low:
                low, kept = least, []
            if least == low and not (kept and self.at_top):
                # (at the top, one row of least peak is enough: see fork)
                at = peaks == least
                kept.append(grown[at][:1] if self.at_top else grown[at])
        if not kept:
            return None
        out = _Candidates.on_arrays(table, np.concatenate(kept), kernels, cols)
        out.least = (release, low)
        return out

    def _least(
        self,
        partial: list,
        o: list,
        pairs: list[tuple[int, int]],
        release: int,
    ) -> list[tuple[list, list]] | _Candidates:
        """The merged chains of :func:`_least` on ``pairs``, half of them
        in a forked process when allowed and they are many (the child
        sends back its least peak and the pairs that reach it); compiled
        (:mod:`.candidate_words`), the pairs of least peak as candidates,
        unmerged."""
        kernels = self.kernels(len(pairs))
        if kernels is not None:
            table = [[(x[0], x[1]) for x in partial], o]
            least = _Candidates(table, np.array(pairs, dtype=np.int64), [])
            least.kernels = kernels
            peaks = least.compiled_peaks(release, self.guard.check)
            if peaks is not None:
                low = int(peaks.min())
                least.least = (release, low)
                least.rows = least.rows[peaks == low]
                return least
        if not self._shared(len(pairs), COMBOS_SHARED):
            return _least(partial, o, pairs, release, self.guard)[2]
        half = len(pairs) // 2

        def theirs() -> tuple[float, list[tuple[int, int]]]:
            low, best, _chains = _least(
                partial, o, pairs[:half], release, self.guard
            )
            return low, best

        (low, best), (mine, _pairs, chains) = self._both(
            theirs,
            lambda: _least(partial, o, pairs[half:], release, self.guard),
            lambda: (-math.inf, pairs[:half]),  # all of them, merged below
        )
        self.check()
        if low > mine:
            return chains
        # (merged here; all of the first half if the child died)
        got, _pairs, theirs_chains = _least(
            partial, o, best, release, self.guard
        )
        if got > mine:
            return chains
        return theirs_chains + chains if got == mine else theirs_chains

    def _grow_shared(self, partial: list, o: list) -> list:
        """``_pareto(_grow(partial, o))`` in two processes: each prunes the
        combinations of half the partial ones, the child sends back which
        it kept (indices), and the union is pruned once more. Dominance is
        transitive, so whatever either half dropped is dominated by
        something in the final set."""
        half = len(partial) // 2
        mine, theirs = partial[half:], partial[:half]
        kernels = self.kernels(len(partial) * len(o))

        def prune_theirs() -> list[tuple[int, int]]:
            grown = _grow(theirs, o, self.guard)  # new pre chains (merge)
            where = {
                id(x[0]): (k // len(o), k % len(o))
                for k, x in enumerate(grown)
            }
            assert len(where) == len(grown)
            kept = _pareto(grown, self.guard, kernels)
            return [where[id(x[0])] for x in kept]

        picked, kept = self._both(
            prune_theirs,
            lambda: _pareto(_grow(mine, o, self.guard), self.guard, kernels),
            # all of them, pruned below
            lambda: [(i, j) for i in range(half) for j in range(len(o))],
        )
        back = [_combine(theirs[i], o[j]) for i, j in picked]
        self.check()
        return _pareto(back + kept, self.guard, kernels)

    def _greedy_combos(self, opts, r_atom):
        """Too many ideals: coordinate descent on the peak from full pre-release."""
        choice = [len(o) - 1 for o in opts]

        def peak(ch):
            pre, post = _merged([opts[i][t] for i, t in enumerate(ch)])
            return max(_coarse_word(join(pre, (r_atom,), post)))

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

    def solve(self, graph: Graph, r: SPResult | None = None) -> list[Atom]:
        if r is None:
            r = decompose(graph, self.deadline)
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
        if n >= COMPILED_MIN_NODES:  # (before a child is forked: it has them)
            self.load_kernels()
        if self._shared(n, PARALLEL_MIN):
            self._share(r.tree, n)
        if not self.dominant:
            self.top = {id(p) for p in _top_parts(r.tree)}
        sub = self.part(r.tree, S, False)
        chain += sub
        if T >= 0:
            chain.append(self.atom(T, self._node_net(sub) + self.out[S]))
        return canonical(chain)

    _COUNTERS = (
        "forks",
        "nested",
        "candidates",
        "undominated",
        "capped",
        "conjectured",
        "escalated",
    )

    def _share(self, tree: SPNode, n: int) -> None:
        """Compute the parts below the top of the tree in two processes.

        Every part that follows a graph node v in a series is computed as
        ``part(P, v, False)``, whatever surrounds it: independent of the
        rest. Such parts, as large as possible but none above a quarter of
        the graph (:func:`_pieces`), are handed out largest first to this
        process and a forked child, each claiming the next one when it is
        free (indices read from a shared pipe: a read of 4 bytes is
        atomic); :meth:`part` takes them from ``done`` when the recursion
        reaches them, and the counters add up.
        """
        order = sorted(_pieces(tree, n), key=lambda x: -x[0])[:_PIECES_MAX]
        if len(order) < 2:
            return
        read_fd, write_fd = os.pipe()
        try:
            os.write(
                write_fd, b"".join(k.to_bytes(4) for k in range(len(order)))
            )
        finally:
            os.close(write_fd)

        def claim() -> int | None:
            got = os.read(read_fd, 4)
            return int.from_bytes(got) if got else None

        # pieces are claimed in order: those before this process's latest
        # claim that it did not take went to the child (counted as placed)
        passed = 0

        def theirs_before(k: int) -> None:
            nonlocal passed
            if self.progress is not None and k > passed:
                self._placed(sum(order[j][0] for j in range(passed, k)))
            passed = max(passed, k + 1)

        before = [getattr(self, c) for c in self._COUNTERS]

        def theirs() -> tuple[list, list[int]]:
            self.workers = 1  # both cores are busy
            self.progress = None  # (reported by the parent only)
            chains = []
            while (k := claim()) is not None:
                _size, p, v = order[k]
                atoms = self.part(p, v, False)
                flat = [
                    (x.hill, x.net, tuple(flatten(x.items))) for x in atoms
                ]
                chains.append((k, flat))
            counts = [getattr(self, c) for c in self._COUNTERS]
            return chains, [c - b for c, b in zip(counts, before, strict=True)]

        def mine() -> None:
            while (k := claim()) is not None:
                theirs_before(k)
                _size, p, v = order[k]
                self.done[id(p)] = self.part(p, v, False)

        workers, self.workers = self.workers, 1
        try:
            # a child that died: the parts it took are computed when the
            # recursion meets them
            (chains, counts), _ = self._both(
                theirs, mine, lambda: ([], [0] * len(self._COUNTERS))
            )
        finally:
            self.workers = workers
            os.close(read_fd)
        theirs_before(len(order))  # (the child's last pieces)
        for k, chain in chains:
            self.done[id(order[k][1])] = [Atom(*x) for x in chain]
        for c, d in zip(self._COUNTERS, counts, strict=True):
            setattr(self, c, getattr(self, c) + d)


def kernels_in_time(left: float) -> bool:
    """Whether the compiled functions (:mod:`.candidate_words`) can be
    ready within ``left`` seconds: compiled in this process already, or
    ``COMPILE_S`` left (a compilation takes 6-11 s and cannot be
    interrupted), or ``CACHED_LOAD_S`` left and numba's cache holding them
    (numba is imported to tell, a quarter of a second)."""
    if left >= COMPILE_S:
        return True
    done = sys.modules.get(f"{__package__}.candidate_words")
    if done is not None and done.ready():
        return True
    if left < CACHED_LOAD_S:
        return False
    from . import candidate_words  # (numba imported there, if it can be)

    return candidate_words.cached()


def _top_parts(tree: SPNode) -> list[SPNode]:
    """The parts of the graph's outermost series (the tree itself when it
    is not a series): their chains are concatenated, never merged."""
    if tree.kind != "series":
        return [tree]
    return series_items(tree)[::2]


def _memory_allows(items: int) -> bool:
    """Whether the memory available is at least twice what a try with a
    budget of ``items`` may take (``ESCALATE_BYTES`` each); False where
    the system does not say."""
    free = _available_memory()
    return free is not None and free >= 2 * items * ESCALATE_BYTES


def _available_memory(meminfo: str = "/proc/meminfo") -> int | None:
    """Bytes of memory available to a new allocation: Linux's
    ``MemAvailable`` (free memory plus the caches it can reclaim), else
    the free physical pages as ``os.sysconf`` reports them, else None."""
    try:
        with open(meminfo, encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024  # (kB)
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _forget_lost(trees: list[_Branch]) -> None:
    """Forget the nested branches' option lists that the budgets emptied
    (cached as empty lists by :meth:`_Solver.nested_options`), in these
    trees and below, so that larger budgets try them again."""
    stack = list(trees)
    while stack:
        t = stack.pop()
        if t.cache.get("nested") == []:
            del t.cache["nested"]
        stack.extend(t.subs)


def _low(t: _Branch) -> int:
    """The least level a fork branch can hold (from 0, at the ends of its
    atoms) in any of its options, before the release or after it: its
    chain's least level if flat, else the sum of its sub-branches' while
    X0 runs, and the levels of w1 and its rest after X0's net. (0 in the
    graphs: a branch holds the buffers it made; atoms of the tests can go
    below.)"""
    got = t.cache.get("low")
    if got is not None:
        return got
    if t.subs and not t.forced:
        low = sum(_low(s) for s in t.subs)
        level = sum(x.net for x in t.full_pre)
        chain: Iterable[Atom] = itertools.chain((t.w_atom,), t.rest)
        low = min(low, level)
    else:
        low = level = 0
        chain = itertools.chain(t.head, t.rest)
    for x in chain:
        level += x.net
        low = min(low, level)
    t.cache["low"] = low
    return low


def _heads(branch: SPNode) -> list[int]:
    """The graph nodes of a branch after ``a`` that ``a`` precedes
    directly (its first node, or those of its nested branches and their
    closing node)."""
    items = series_items(branch)
    first = items[0]
    if first.kind == "edge":
        return [items[1]]
    out: list[int] = []
    for c in first.children:
        if c.kind == "edge":
            out.append(items[1])
        else:
            out += _heads(c)
    return out


_PIECES_MAX = 1000
"""Parts handed out by :meth:`_Solver._share`: their indices, 4 bytes
each, are written to a pipe before anyone reads it, so they must fit in
the smallest pipe buffer (4,096 bytes); smaller parts are left to the
recursion."""


def _pieces(tree: SPNode, n: int) -> list[tuple[int, SPNode, int]]:
    """Independent parts (size, part, v) of ``tree`` (see
    :meth:`_Solver._share`), each at most a quarter of the ``n`` nodes
    (sizes as :func:`.series_parallel.decompose` counted them)."""
    out: list[tuple[int, SPNode, int]] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if node.kind == "edge":
            continue
        items = series_items(node) if node.kind == "series" else [node]
        if items[0].kind == "parallel":
            for c in items[0].children:  # P0: not independent, look inside
                todo.append(c)
        for k in range(2, len(items), 2):
            piece, v = items[k], items[k - 1]
            if piece.kind == "edge":
                continue
            size = piece.size
            if 4 * size <= n:
                out.append((size, piece, v))
            else:
                todo.extend(piece.children)
    return out


class _PeakCut:
    """Which partial combinations of a fork's branches can still reach a
    candidate of peak at most ``peak`` (``release``: the release's net).

    A candidate runs the merged pre-release chains, the release, then the
    merged post-release chains. Restricted to some of the branches, that
    is an interleaving of their chains, whose levels reach at least those
    of their canonical merge (Lemma 2), while each other branch holds at
    least the least level any of its options reaches before the release
    (``low_pre``) or after it (``low_post``: its pre-release net plus the
    lowest level of its post-release chain). So a partial combination
    whose pre-release peak plus the others' ``low_pre``, or whose
    post-release peak (above its pre-release net and the release) plus
    the others' ``low_post``, exceeds ``peak`` is completed only by
    candidates of higher peak.
    """

    __slots__ = ("levels", "low_post", "low_pre", "opts", "peak", "release")

    def __init__(
        self,
        opts: list,
        peak: int,
        release: int,
        kernels: ModuleType | None = None,
    ) -> None:
        self.peak = peak
        self.release = release
        levels = [_option_levels(o, kernels) for o in opts]
        self._lows(levels)
        # each branch's options (``opts``) without those that exceed
        # ``peak`` whatever the others choose, and their ``levels``: the
        # highest, lowest and final level before the release, the highest
        # and lowest after it (from 0)
        self.opts: list[list] = []
        self.levels: list[tuple] = []
        for k, (o, lv) in enumerate(zip(opts, levels, strict=True)):
            pre_top, post_top = self._tops([k])
            ok = (lv[0] <= pre_top) & (lv[2] + lv[3] <= post_top)
            self.opts.append([o[i] for i in np.flatnonzero(ok).tolist()])
            self.levels.append(tuple(x[ok] for x in lv))
        if all(self.opts):
            self._lows(self.levels)  # (the least levels rose)

    def _lows(self, levels: list[tuple]) -> None:
        """Each branch's least levels before and after the release."""
        self.low_pre = [lv[1].min() for lv in levels]
        self.low_post = [(lv[2] + lv[4]).min() for lv in levels]

    def _tops(self, mine: list[int]) -> tuple[int, int]:
        """The highest pre-release peak, and post-release peak above the
        pre-release net, of a combination of the branches ``mine``."""
        others = [k for k in range(len(self.low_pre)) if k not in mine]
        pre = self.peak - sum(self.low_pre[k] for k in others)
        post = self.peak - sum(self.low_post[k] for k in others)
        return pre, post - self.release

    def pairs(
        self, partial: list, branch: int, mine: list[int]
    ) -> list[tuple[int, int]]:
        """(i, j): the partial combinations (pre, post, pre word, post
        word) and options ``self.opts[branch]`` whose merge, with the
        branches ``mine`` then chosen, can still reach ``peak``
        (:meth:`pair_arrays` on their words)."""
        if not partial:
            return []
        a, la, na = _word_columns([x[2] for x in partial])
        b, lb, _ = _word_columns([x[3] for x in partial])
        i, j = self.pair_arrays(a, la, na, b, lb, branch, mine)
        return list(zip(i.tolist(), j.tolist(), strict=True))

    def pair_arrays(
        self,
        a: np.ndarray,
        la: np.ndarray,
        na: np.ndarray,
        b: np.ndarray,
        lb: np.ndarray,
        branch: int,
        mine: list[int],
    ) -> tuple[np.ndarray, np.ndarray]:
        """The pairs of :meth:`pairs` as two index arrays, read off the
        partial combinations' highest, lowest and final pre-release levels
        (``a``, ``la``, ``na``) and highest and lowest post-release ones
        (``b``, ``lb``) alone (numpy), before any merge. A merge's peak is
        at least either chain's peak plus the other's lowest level, and its
        pre-release chain ends at the sum of their nets."""
        if not len(a) or not self.opts[branch]:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        pre_top, post_top = self._tops(mine)
        c, lc, nc, d, ld = self.levels[branch]
        col = (slice(None), None)
        net = na[col] + nc[None, :]
        pre = np.maximum(
            np.maximum(a[col] + lc[None, :], c[None, :] + la[col]), net
        )
        post = np.maximum(b[col] + ld[None, :], d[None, :] + lb[col])
        ok = (pre <= pre_top) & (net + post <= post_top)
        return np.nonzero(ok)

    def keep(self, items: list, mine: list[int]) -> list:
        """The items (pre, post, pre word, post word) combining the
        branches ``mine`` that can still reach ``peak``."""
        pre_top, post_top = self._tops(mine)
        return [
            x
            for x in items
            if max(x[2]) <= pre_top and x[2][-1] + max(x[3]) <= post_top
        ]

    def fits(
        self,
        pre_top: np.ndarray,
        pre_end: np.ndarray,
        post_top: np.ndarray,
        mine: list[int],
    ) -> np.ndarray:
        """:meth:`keep` on arrays: which partial combinations of the
        branches ``mine``, of these highest and final pre-release levels
        and highest post-release ones, can still reach ``peak``."""
        pre, post = self._tops(mine)
        return (pre_top <= pre) & (pre_end + post_top <= post)


def _option_levels(
    options: list[tuple[list, list]], kernels: ModuleType | None
) -> tuple[np.ndarray, ...]:
    """The highest, lowest and final levels of the options' pre-release
    chains, and the highest and lowest of their post-release ones, each
    from 0 (their words' values: compiled with ``kernels``)."""
    if kernels is not None:
        words = _words_of_chains(
            [pre for pre, _post in options] + [post for _pre, post in options],
            kernels,
        )
        if words is not None:
            _flat, _starts, _lens, top, low, end = words
            m = len(options)
            return top[:m], low[:m], end[:m], top[m:], low[m:]
    pre = _word_columns([_coarse_word(pre) for pre, _post in options])
    post = _word_columns([_coarse_word(post) for _pre, post in options])
    return (*pre, *post[:2])


def _word_columns(words: list) -> tuple[np.ndarray, ...]:
    """The highest, lowest and last value of each word (Python integers
    past int64)."""
    big = any(abs(v) >= INT64_SAFE for w in words for v in w)
    kind = object if big else np.int64
    return tuple(
        np.array([f(w) for w in words], dtype=kind)
        for f in (max, min, lambda w: w[-1])
    )


def _combine(partial: tuple, option: tuple) -> tuple:
    """A partial combination (pre, post, words) grown by a branch option."""
    pre = merge([partial[0], option[0]])
    post = merge([partial[1], option[1]])
    return (pre, post, _coarse_word(pre), _coarse_word(post))


def _grow(
    partial: list,
    o: list,
    guard: _Guard | None = None,
    pairs: list[tuple[int, int]] | None = None,
) -> list:
    """Every partial combination grown by every option of ``o``, or only
    the ``pairs`` (i, j) of them (checking ``guard`` as it goes: tens of
    thousands take a second)."""
    if pairs is None:
        pairs = [(i, j) for i in range(len(partial)) for j in range(len(o))]
    out = []
    for t, (i, j) in enumerate(pairs):
        if guard is not None and t % 256 == 0:
            guard.check()
        out.append(_combine(partial[i], o[j]))
    return out


def _least(
    partial: list,
    o: list,
    pairs: Iterable[tuple[int, int]],
    release: int,
    guard: _Guard | None = None,
) -> tuple[float, list[tuple[int, int]], list[tuple[list, list]]]:
    """``(peak, pairs, chains)``: the least peak (with a release of net
    ``release`` between the chains) among the ``pairs`` (i, j) of partial
    combinations and options ``o``, the pairs that reach it and their
    merged (pre, post) chains; merged without their words."""
    best: list[tuple[int, int]] = []
    chains: list[tuple[list, list]] = []
    low: float = math.inf
    for t, (i, j) in enumerate(pairs):
        if guard is not None and t % 256 == 0:
            guard.check()
        pre = merge([partial[i][0], o[j][0]])
        post = merge([partial[i][1], o[j][1]])
        peak = _chain_peak(pre, release, post)
        if peak < low:
            low, best, chains = peak, [], []
        if peak == low:
            best.append((i, j))
            chains.append((pre, post))
    return low, best, chains


class _Guard:
    """What Pareto pruning checks as it goes: Ctrl-C and the deadline
    (:meth:`_Solver.check`), then the soft deadline after three quarters of
    the time, past which pruning gives up (TimeUp)."""

    __slots__ = ("solver",)

    def __init__(self, solver: _Solver) -> None:
        self.solver = solver

    def check(self) -> None:
        self.solver.check()
        if self.solver.soft is not None:
            self.solver.soft.check()


def _pareto(
    items: list,
    deadline: Deadline | _Guard | None = None,
    kernels: ModuleType | None = None,
) -> list:
    """Items ``(pre, post, pre_word, post_word)`` not dominated in both words.

    Items are taken by increasing (pre peak, post peak); a kept item can beat
    a later one only if its post peak, both final levels and both lowest
    levels are no higher (every value of a word is paired with one of the
    dominating word no higher). The items of one call are the combinations
    of the same branches, so their two final levels have the same sum and a
    kept item can beat only those that end at the same levels: kept items
    are grouped by their final levels (one group when the sums differ), the
    filter runs on the group's rows (numpy), and the items it leaves get
    the exact check of Lemma 3. With ``kernels``
    (:mod:`.candidate_words`) and many items, the same steps compiled.
    """
    items = sorted(
        ((*x, max(x[2]), max(x[3])) for x in items), key=lambda x: (x[4], x[5])
    )
    m = len(items)
    keys = [(x[5], x[2][-1], x[3][-1], min(x[2]), min(x[3])) for x in items]
    big = any(abs(v) >= INT64_SAFE for k in keys for v in k)
    arr = np.array(keys, dtype=object if big else np.int64).reshape(m, 5)
    same_sum = len({k[1] + k[2] for k in keys}) <= 1
    if kernels is not None and m >= _PARETO_COMPILED_MIN and not big:
        got = _compiled_pareto(items, keys, same_sum, deadline, kernels)
        if got is not None:
            return got
    alive = np.zeros(m, dtype=bool)  # kept so far
    # kept items by final levels: their indices and their rows (a dropped
    # one stays there, masked by ``alive``)
    groups: dict = {}
    for i, item in enumerate(items):
        if deadline is not None and i % 32 == 0:
            deadline.check()
        group = groups.get(keys[i][1:3] if same_sum else None)
        if group is None:
            group = [[], np.empty((4, 5), dtype=arr.dtype)]
            groups[keys[i][1:3] if same_sum else None] = group
        kept, rows = group
        nk = len(kept)
        if nk:
            hit = np.flatnonzero((rows[:nk] <= arr[i]).all(axis=1)).tolist()
            hit = [kept[j] for j in hit if alive[kept[j]]]
            if hit:
                # the item's words against many kept ones: prepared once
                pre_t, post_t = dominated_by(item[2]), dominated_by(item[3])
                if any(
                    pre_t(items[k][2]) and post_t(items[k][3]) for k in hit
                ):
                    continue
        # sorted by peaks: a later item beats a kept one only on equal
        # peaks, and those were kept last
        for k in reversed(kept):
            if (items[k][4], items[k][5]) != (item[4], item[5]):
                break
            if (
                alive[k]
                and (arr[i, 1:] <= arr[k, 1:]).all()
                and dominates(item[2], items[k][2])
                and dominates(item[3], items[k][3])
            ):
                alive[k] = False
        alive[i] = True
        if nk == len(rows):
            group[1] = rows = np.concatenate([rows, np.empty_like(rows)])
        rows[nk] = arr[i]
        kept.append(i)
    return [items[k][:4] for k in range(m) if alive[k]]


def _compiled_pareto(items, keys, same_sum, deadline, kernels) -> list | None:
    """:func:`_pareto`'s steps by :func:`.candidate_words.pareto_steps`
    on the sorted ``items`` and their ``keys`` (``deadline`` checked
    between blocks of items); None past int64."""
    m = len(items)
    packed = kernels.pack([x[k] for x in items for k in (2, 3)])
    if packed is None:
        return None
    flat, starts, lens = packed
    groups: dict = {}
    group = np.array(
        [
            groups.setdefault(k[1:3] if same_sum else None, len(groups))
            for k in keys
        ],
        dtype=np.int64,
    )
    table = np.empty((m, 6), dtype=np.int64)
    table[:, :5] = keys
    table[:, 5] = [x[4] for x in items]
    pre = np.arange(0, 2 * m, 2, dtype=np.int64)
    alive = _pareto_steps(
        kernels, deadline, group, table, pre, pre + 1, (flat, starts, lens)
    )
    return [items[k][:4] for k in np.flatnonzero(alive).tolist()]


def _in_threads(
    theirs: Callable[[], T], mine: Callable[[], U], redo: Callable[[], T]
) -> tuple[T, U]:
    """``theirs()`` in a second thread while ``mine()`` runs in this one
    (the signature of :meth:`_Solver._both`; ``redo`` is not needed): for
    work that runs in compiled functions releasing the GIL (numba's
    ``nogil``), on arrays both threads read without copying them, with
    no process to fork. Both check the same guard, so a deadline or
    Ctrl-C stops both; an exception of either is raised here once both
    have returned."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["got"] = theirs()
        except BaseException as exc:  # (raised in the caller's thread)
            box["exc"] = exc

    helper = threading.Thread(target=run, name="pebble-sched-prune")
    helper.start()
    try:
        got = mine()
    finally:
        helper.join()
    if "exc" in box:
        raise box["exc"]
    return box["got"], got


def _pareto_steps(
    kernels: ModuleType,
    deadline: Deadline | _Guard | None,
    group: np.ndarray,
    keys: np.ndarray,
    pre: np.ndarray,
    post: np.ndarray,
    words: tuple[np.ndarray, ...],
) -> np.ndarray:
    """Which items survive :func:`.candidate_words.pareto_steps` (sorted
    by their peaks; ``keys`` as it takes them, groups numbered from 0,
    words ``pre[i]`` and ``post[i]`` of ``words``: flat, starts, lens),
    run on blocks of items, ``deadline`` checked between them."""
    m = len(pre)
    alive = np.zeros(m, dtype=np.bool_)
    last = np.full(int(group.max(initial=0)) + 1, -1, dtype=np.int64)
    prev = np.full(m, -1, dtype=np.int64)
    for lo in range(0, m, _PARETO_BLOCK):
        if deadline is not None:
            deadline.check()
        kernels.pareto_steps(
            lo,
            min(m, lo + _PARETO_BLOCK),
            group,
            keys,
            pre,
            post,
            *words,
            alive,
            last,
            prev,
        )
    return alive


def _side_words(
    kernels: ModuleType, cols: Any, rows: np.ndarray, guard: _Guard
) -> tuple[np.ndarray, ...]:
    """:func:`.candidate_words.side_words` of ``rows``, ``guard`` checked
    between blocks of ``_COMPILED_BLOCK`` rows."""
    if len(rows) <= _COMPILED_BLOCK:
        guard.check()
        return kernels.side_words(cols, rows)
    parts = []
    for start in range(0, len(rows), _COMPILED_BLOCK):
        guard.check()
        parts.append(
            kernels.side_words(cols, rows[start : start + _COMPILED_BLOCK])
        )
    offsets = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
    halves = [len(p[2]) // 2 for p in parts]
    out = [np.concatenate([p[0] for p in parts])]
    for f in range(1, 6):
        # the pre words' entries of every block, then their post words'
        got = [
            p[f][side * h : (side + 1) * h] + (o if f == 1 else 0)
            for side in (0, 1)
            for p, h, o in zip(parts, halves, offsets, strict=True)
        ]
        out.append(np.concatenate(got))
    return tuple(out)


def _prune_on_arrays(
    options: list[tuple[list, list]], guard: _Guard, kernels: ModuleType
) -> list[tuple[list, list]] | None:
    """:meth:`_Solver._prune` of many options on arrays: their atoms'
    hills and nets read once, their words built and pruned compiled
    (:func:`.candidate_words.chain_words`, :func:`_pareto_rows`); the
    options kept, in their order. None where a level could leave int64."""
    chains = [pre for pre, _post in options] + [post for _pre, post in options]
    words = _words_of_chains(chains, kernels)
    if words is None:
        return None
    guard.check()
    kept = _pareto_rows(words, np.arange(len(options)), guard, kernels)
    return [options[k] for k in np.sort(kept).tolist()]


def _words_of_chains(
    chains: list[list[Atom]], kernels: ModuleType
) -> tuple[np.ndarray, ...] | None:
    """:func:`.candidate_words.chain_words` of the chains, their atoms'
    hills and nets read once; None where a level could leave int64."""
    lens = np.fromiter(map(len, chains), dtype=np.int64, count=len(chains))
    total = int(lens.sum())
    try:
        hill = np.fromiter(
            (a.hill for c in chains for a in c), dtype=np.int64, count=total
        )
        net = np.fromiter(
            (a.net for c in chains for a in c), dtype=np.int64, count=total
        )
    except OverflowError:
        return None
    if total:
        widest = max(int(hill.max()), -int(hill.min())) + max(
            int(net.max()), -int(net.min())
        )
        if widest * (int(lens.max()) + 1) >= INT64_SAFE:
            return None
    ptr = np.zeros(len(chains) + 1, dtype=np.int64)
    np.cumsum(lens, out=ptr[1:])
    return kernels.chain_words(hill, net, ptr)


def _pareto_rows(
    words: tuple[np.ndarray, ...],
    sel: np.ndarray,
    guard: _Guard,
    kernels: ModuleType,
    both: Callable | None = None,
) -> np.ndarray:
    """:func:`_pareto` on arrays: of the rows ``sel`` (their pre word ``k``
    and post word ``m + k`` in ``words``, as :func:`_side_words` gives
    them for ``m`` rows), those not dominated in both words, by
    :func:`.candidate_words.pareto_steps` (``guard`` checked between
    blocks of items).

    Items of different groups (final levels) are never compared, so with
    ``both`` (:func:`_in_threads`) the groups of odd number are pruned in
    a second thread while this one prunes the others: at the top of a
    10^6-node graph, 189,160 items in 4,217 groups of at most 121.
    """
    flat, starts, lens, top, low, end = words
    m = len(lens) // 2
    perm = np.lexsort((top[m + sel], top[sel]))  # by pre peak, post peak
    pre = np.ascontiguousarray(sel[perm])
    post = pre + m
    keys = np.stack(
        [top[post], end[pre], end[post], low[pre], low[post], top[pre]],
        axis=1,
    )
    sums = end[pre] + end[post]
    if not len(sums) or sums.min() == sums.max():
        # grouped by final levels (the pre-release one says both)
        _u, group = np.unique(end[pre], return_inverse=True)
        group = np.ascontiguousarray(group.ravel(), dtype=np.int64)
    else:
        group = np.zeros(len(pre), dtype=np.int64)
    step = (flat, starts, lens)
    if both is None or group.max(initial=0) == 0:
        return pre[_pareto_steps(kernels, guard, group, keys, pre, post, step)]
    odd = (group & 1).astype(np.bool_)
    halves = (np.flatnonzero(odd), np.flatnonzero(~odd))

    def half(h: int) -> Callable[[], np.ndarray]:
        ix = halves[h]  # (in the sorted order still)
        return lambda: _pareto_steps(
            kernels, guard, group[ix], keys[ix], pre[ix], post[ix], step
        )

    theirs, mine = both(half(0), half(1), half(0))
    alive = np.zeros(len(pre), dtype=np.bool_)
    alive[halves[0]] = theirs
    alive[halves[1]] = mine
    return pre[alive]


class _Candidates:
    """A fork's candidates: one option index per branch (``rows`` into
    ``table``, merged only when needed) and already merged ``extra`` ones.

    Iterating yields the merged (pre, post) chains of every candidate.
    """

    __slots__ = (
        "_arrays",
        "_cache",
        "_columns",
        "extra",
        "kernels",
        "least",
        "rows",
        "table",
    )

    def __init__(self, table: list, rows: np.ndarray, extra: list) -> None:
        self.table, self.rows, self.extra = table, rows, extra
        # (release, peak): the peak of every row with that release, when
        # they were kept for reaching it
        self.least: tuple[int, int] | None = None
        self._columns: list | None = None
        # the compiled functions (.candidate_words) when the solver gives
        # them, and the options as their arrays
        self.kernels: Any = None
        self._arrays: Any = False
        self._cache: dict[int, tuple[list[Atom], list[Atom]]] = {}

    @classmethod
    def on_arrays(
        cls, table: list, rows: np.ndarray, kernels: ModuleType, cols: Any
    ) -> _Candidates:
        """Candidates whose options are already the compiled functions'
        arrays ``cols`` (:func:`.candidate_words.prepare` of ``table``)."""
        out = cls(table, rows, [])
        out.kernels, out._arrays = kernels, cols
        return out

    @classmethod
    def product(cls, opts: list[list]) -> _Candidates:
        """Every combination of the branches' options."""
        grid = np.indices([len(o) for o in opts], dtype=np.int64)
        return cls(opts, grid.reshape(len(opts), -1).T.copy(), [])

    def __len__(self) -> int:
        return len(self.rows) + len(self.extra)

    def chains(self, k: int) -> tuple[list[Atom], list[Atom]]:
        """The merged (pre, post) chains of candidate ``k``."""
        if k >= len(self.rows):
            return self.extra[k - len(self.rows)]
        got = self._cache.get(k)
        if got is None:
            row = self.rows[k].tolist()
            got = _merged([self.table[b][i] for b, i in enumerate(row)])
        return got

    def __iter__(self):
        for k in range(len(self)):
            yield self.chains(k)

    def columns(self, release: int) -> list | None:
        """Every atom of every option as a column, in key order, per side:
        (membership matrix per branch, hills, nets); None past int64.

        A merge sorts by preference, and swapping two adjacent atoms of
        equal preference keeps the peak (Lemma 1), so for peaks a candidate
        is a 0/1 row over the columns: levels are cumulative sums along it.
        """
        if self._columns is None:
            sides = []
            bound = abs(release)
            for side in (0, 1):
                rank, atoms = key_columns(self.table, side)
                hill = [x.hill for x in atoms]
                net = [x.net for x in atoms]
                bound += sum(map(abs, net)) + max(hill, default=0)
                if bound >= INT64_SAFE:  # levels need Python integers
                    self._columns = []
                    return None
                member = []
                for options in self.table:
                    m = np.zeros((len(options), len(atoms)), dtype=bool)
                    for j, option in enumerate(options):
                        m[j, [rank[id(x)] for x in option[side]]] = True
                    member.append(m)
                sides.append(
                    (
                        member,
                        np.asarray(hill, dtype=np.int64),
                        np.asarray(net, dtype=np.int64),
                    )
                )
            self._columns = sides
        return self._columns or None

    def arrays(self, release: int) -> Any:
        """The options as :class:`~.candidate_words.Columns` for the
        compiled functions, when the solver gave them (``kernels``); None
        otherwise, or past int64."""
        if self.kernels is None:
            return None
        if self._arrays is False:
            self._arrays = self.kernels.prepare(self.table, release)
        return self._arrays

    def compiled_peaks(self, release: int, check) -> np.ndarray | None:
        """The peaks of the ``rows`` by :func:`.candidate_words.peaks`
        (``check()`` between blocks), or None (see :meth:`arrays`)."""
        cols = self.arrays(release)
        if cols is None:
            return None
        out = []
        for start in range(0, len(self.rows), _COMPILED_BLOCK):
            check()
            block = self.rows[start : start + _COMPILED_BLOCK]
            out.append(self.kernels.peaks(cols, block, release))
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def choose(
        self, ks: list[int], r_atom: Atom, check
    ) -> tuple[int, bool] | None:
        """``(k, all)`` as :meth:`_Solver._choose`, on arrays
        (:mod:`.candidate_words`): the words of the rows among ``ks``
        (ascending) compiled, those of the other candidates in Python;
        None where the rows are not on arrays."""
        release = r_atom.net
        if self.arrays(release) is None:
            return None
        m = len(self.rows)
        if not ks or ks[0] >= m:  # (ks ascend: rows first)
            return None
        split = bisect_left(ks, m)
        mine, others = ks[:split], ks[split:]
        if not others and len(mine) > _COMPILED_BLOCK:
            return self._choose_in_blocks(mine, release, check)
        parts = []
        for start in range(0, len(mine), _COMPILED_BLOCK):
            check()
            block = self.rows[mine[start : start + _COMPILED_BLOCK]]
            parts.append(self.kernels.words(self._arrays, block, release))
        if others:
            packed = self.kernels.pack(self.words(others, r_atom, check))
            if packed is None:
                return None
            parts.append(packed)
        if len(parts) == 1:  # (no copy: the words take some room)
            flat, starts, lens = parts[0]
        else:
            flat = np.concatenate([p[0] for p in parts])
            sizes = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
            starts = np.concatenate(
                [p[1] + s for p, s in zip(parts, sizes, strict=True)]
            )
            lens = np.concatenate([p[2] for p in parts])
        check()
        k, every = self.kernels.choose(flat, starts, lens)
        return ks[k], every

    def _choose_in_blocks(
        self, ks: list[int], release: int, check
    ) -> tuple[int, bool]:
        """:meth:`choose` of many rows ``ks``, a block of words at a time:
        the pass carries the best word so far from block to block (put
        first in the next), then a second pass checks that it dominates
        the words of the blocks where the best of the time did not
        dominate them all. Only a block's words are held at once (a fork
        of 415,000 candidates tied on the least peak at 10^6 nodes took
        1.3 GB at once).

        Each best dominates the one before it (it replaced it so), so the
        last dominates every block that a best dominated whole in the
        first pass: only the others are built again. If a word dominates
        all, it is the last best (it replaced the best of its time, and
        only a word dominating it replaced it later); so a word of those
        blocks that the last best does not dominate means that none
        dominates all. In the second pass no word replaces the best
        unless the two dominate each other, so the answer is the best's.
        """
        best = -1
        word = np.zeros(0, dtype=np.int64)
        unsure: list[int] = []  # (blocks to check again)
        for verify in (False, True):
            for start in (
                unsure if verify else range(0, len(ks), _COMPILED_BLOCK)
            ):
                check()
                block = ks[start : start + _COMPILED_BLOCK]
                flat, starts, lens = self.kernels.words(
                    self._arrays, self.rows[block], release
                )
                if best >= 0:  # (the best so far first)
                    flat = np.concatenate([word, flat])
                    starts = np.concatenate([[0], starts + len(word)])
                    lens = np.concatenate([[len(word)], lens])
                k, every = self.kernels.choose(flat, starts, lens)
                if verify:
                    if not every:
                        return ks[best], False
                    continue
                if not every:
                    unsure.append(start)
                if best < 0 or k > 0:
                    best = start + k - (best >= 0)
                    word = flat[starts[k] : starts[k] + lens[k]].copy()
        return ks[best], True

    def peaks(self, release: int, check) -> list[int] | np.ndarray:
        """The peak of every candidate (pre, a step of net ``release``,
        post), the ``rows`` on numpy arrays without merging any chain (an
        array when all are rows and compiled; read off ``least`` when the
        rows were kept for their peak with this release)."""
        if self.least is not None and not self.extra:
            kept_for, peak = self.least
            if kept_for == release:
                return np.full(len(self.rows), peak, dtype=np.int64)
        compiled = self.compiled_peaks(release, check)
        if compiled is None:
            peaks = self._row_peaks(release, check)
        elif not self.extra:
            return compiled
        else:
            peaks = compiled.tolist()
        for k, (pre, post) in enumerate(self.extra):
            if k % 64 == 0:
                check()
            peaks.append(_chain_peak(pre, release, post))
        assert len(peaks) == len(self)
        return peaks

    def _row_peaks(self, release: int, check) -> list[int]:
        """The peaks of the ``rows`` for :meth:`peaks`, on numpy arrays or
        merged one by one."""
        peaks: list[int] = []
        # (numpy's set-up costs more than merging a few candidates)
        fast = (
            len(self.rows) >= _ROWS_MIN and self.columns(release) is not None
        )
        size = _ROWS_BLOCK if fast else 64
        for start in range(0, len(self.rows), size):
            check()
            block = self.rows[start : start + size]
            if not fast:  # merged once, kept for the words
                for k in range(start, start + len(block)):
                    pre, post = self._cache[k] = self.chains(k)
                    peaks.append(_chain_peak(pre, release, post))
                continue
            level = np.zeros(len(block), dtype=np.int64)
            peak = np.zeros(len(block), dtype=np.int64)
            for side, (member, hill, net) in enumerate(self._columns):
                if side:
                    level = level + release
                if not len(hill):
                    continue
                on = member[0][block[:, 0]]
                for b in range(1, len(member)):
                    on = on | member[b][block[:, b]]
                step = on * net
                after = level[:, None] + np.cumsum(step, axis=1)
                # an inactive column adds a level already reached
                top = np.where(on, after - step + hill, level[:, None])
                peak = np.maximum(peak, top.max(axis=1))
                level = after[:, -1]
            peaks += peak.tolist()
        return peaks

    def words(
        self,
        ks: list[int],
        r_atom: Atom,
        check: Callable[[], None] | None = None,
    ) -> list[list[int]]:
        """Reduced words of the joined chains of the candidates ``ks``
        (``check()`` called every 256: a top fork of 10^5 nodes words
        86,000 candidates, about a second).

        (Words read off the columns, with Lemma 2's merges left out, would
        dominate these both ways, but they are longer: slower to reduce
        and to compare; measured, 13.7 s against 10.0 s at 10^5 nodes.)
        """
        out = []
        for t, k in enumerate(ks):
            if check is not None and t % 256 == 0:
                check()
            pre, post = self.chains(k)
            out.append(joined_word(pre, (r_atom,), post))
        return out


_ROWS_BLOCK = 2048
"""Candidates evaluated together by :meth:`_Candidates.peaks`."""
_COMPILED_MIN = 64
"""Fewer candidates (rows) are evaluated in Python even when numba is
installed (preparing the arrays costs more)."""
_PARETO_COMPILED_MIN = 64
"""Fewer items are pruned in Python even with the compiled functions."""
_PARETO_BLOCK = 1024
"""Items pruned by one compiled call (the deadline is checked between)."""
COMPILE_S = 10.0
"""See :meth:`_Solver.load_kernels`."""
CACHED_LOAD_S = 2.0
"""Time to leave for reading the compiled functions from numba's cache
(:func:`.candidate_words.cached`) under a limit shorter than
``COMPILE_S``: 0.4-0.6 s measured, and a quarter of a second for numba's
import."""
COMPILED_MIN_NODES = 10_000
"""Graphs of this many nodes load the compiled functions first thing
(before a child is forked: it has them). Smaller ones only once their
forks have compared ``LAZY_LOAD_WORK`` candidates and items in Python:
numba's half a second of loading costs more than it saves on most of
them (3,000 nodes: 0.80 s against 0.34 s), not on pumpkins of 200 nodes
and degree 12 (4.1 s in Python, 1.6 s compiled)."""
LAZY_LOAD_WORK = 50_000
_COMPILED_BLOCK = 65_536
_LEAST_BLOCK = 1 << 20
"""Pairs per block of a fork's last step on arrays
(:meth:`_Solver._least_on_arrays`)."""
"""Rows given to a compiled function at once (the deadline is checked
between blocks)."""
_ROWS_MIN = 256
"""Fewer candidates are merged and evaluated one by one."""


def _merged(combo) -> tuple[list[Atom], list[Atom]]:
    """One option per branch: the merged pre-release and post-release chains."""
    return merge([c[0] for c in combo]), merge([c[1] for c in combo])


class _MergedRows(list):
    """Merged (pre, post) chains of candidates, built from the compiled
    functions' columns (:func:`_merged_rows`), which it keeps so that the
    post-release chains can be joined to more atoms on arrays too
    (:meth:`joined`)."""

    def __init__(self, chains, kernels, cols, flat1, starts1) -> None:
        super().__init__(chains)
        self.kernels, self.cols = kernels, cols
        self.flat1, self.starts1 = flat1, starts1

    def joined(self, w: Atom, rest: list[Atom]) -> list | None:
        """``join(post, (w,), rest)`` for every post-release chain (None
        for empty ones), Lemma 2's merges compiled; None where a level
        could leave int64 (then joined in Python)."""
        hill, net = self.cols.hill[1], self.cols.net[1]
        bound = int(np.abs(net).sum()) + int(hill.max(initial=0))
        bound += sum(abs(x.net) for x in rest) + abs(w.net)
        bound += max((x.hill for x in rest), default=0) + w.hill
        if bound >= INT64_SAFE:
            return None
        rh = np.array([x.hill for x in rest], dtype=np.int64)
        rn = np.array([x.net for x in rest], dtype=np.int64)
        got = self.kernels.join_tails(
            self.cols, self.flat1, self.starts1, (w.hill, w.net), (rh, rn)
        )
        cuts, rests, es, lo, hi, eh, en = (a.tolist() for a in got)
        spans: dict[tuple[int, int], tuple] = {}  # items of rest[i:j]
        out: list = []
        for k, (_pre, post) in enumerate(self):
            if not post:
                out.append(None)
                continue
            m = len(post)
            chain = post[: cuts[k]]
            for e in range(es[k], es[k + 1]):
                a, b = lo[e], hi[e]
                if b - a == 1:  # merged with nothing
                    chain.append(
                        post[a] if a < m else w if a == m else rest[a - m - 1]
                    )
                    continue
                # the items as a rope: the rest's spans built once
                items = tuple(map(_ITEMS, post[a:m]))
                if a <= m < b:
                    items += (w.items,)
                i, j = max(a - m - 1, 0), b - m - 1
                if i < j:
                    span = spans.get((i, j))
                    if span is None:
                        span = spans[i, j] = tuple(map(_ITEMS, rest[i:j]))
                    items += (span,)
                chain.append(Atom(eh[e], en[e], items))
            chain += rest[rests[k] :]
            out.append(chain)
        return out


def _merged_rows(
    kernels: ModuleType, cols: Any, rows: np.ndarray
) -> _MergedRows:
    """The merged (pre, post) chains of the candidates ``rows`` (an option
    index per branch of the table ``cols`` was prepared from), merged
    compiled (:func:`.candidate_words.merged_columns`; atoms of equal keys
    in column order, see :mod:`.candidate_words`)."""
    flat0, s0, flat1, s1 = kernels.merged_columns(cols, rows)
    a0, a1 = cols.atoms
    # every row's atoms in one list per side, then a slice per row
    f0 = list(map(a0.__getitem__, flat0.tolist()))
    f1 = list(map(a1.__getitem__, flat1.tolist()))
    p0, p1 = s0.tolist(), s1.tolist()
    chains = [
        (f0[p0[k] : p0[k + 1]], f1[p1[k] : p1[k + 1]])
        for k in range(len(rows))
    ]
    return _MergedRows(chains, kernels, cols, flat1, s1)


def _chain_peak(pre: list[Atom], release: int, post: list[Atom]) -> int:
    """The peak of ``pre``, a step of net ``release`` and hill 0, ``post``."""
    level = peak = 0
    for a in pre:
        if level + a.hill > peak:
            peak = level + a.hill
        level += a.net
    level += release
    for a in post:
        if level + a.hill > peak:
            peak = level + a.hill
        level += a.net
    return peak


def _coarse_word(chain: list[Atom]) -> list[int]:
    """The word of a chain of atoms, each atom one step, reduced: as
    ``reduce_word`` of the levels 0, then each atom's top and end, built in
    one pass (half a million calls in a threshold pass at 10^5 nodes)."""
    out = [0]
    append = out.append
    level = before = last = 0  # out[-2] (once there) and out[-1]
    for atom in chain:
        x = level + atom.hill
        if x != last:
            if len(out) >= 2 and (before < last < x or before > last > x):
                out[-1] = last = x
            else:
                append(x)
                before, last = last, x
        level += atom.net
        if level != last:
            if len(out) >= 2 and (
                before < last < level or before > last > level
            ):
                out[-1] = last = level
            else:
                append(level)
                before, last = last, level
    return out


def sp_order(
    graph: Graph,
    deadline: Deadline | None = None,
    *,
    family: str = "auto",
    max_candidates: int | None = None,
    pareto_max: int | None = None,
    workers: int = 1,
    decomposition: SPResult | None = None,
    hurry: bool = True,
    dominant: bool = True,
    progress: Callable[[float], None] | None = None,
    escalate: int | None = None,
    grace: float = 0.0,
    phase: Callable[[str | None], None] | None = None,
) -> SPSchedule:
    """A minimum-peak order of a series-parallel graph by dominant schedules.

    Raises ``ValueError`` for a graph that is not SP or outside the model
    (see :func:`sp_supported`), :class:`~pebble_sched.runtime.TimeUp` when
    ``deadline`` expires.

    ``family`` chooses the candidates of each fork. ``"full"``: every
    pre-release ideal; a fork with more than ``max_candidates`` (default
    ``MAX_CANDIDATES``) is reduced by Pareto pruning (exact) as long as
    ``pareto_max`` (default ``PARETO_MAX``) partial combinations suffice,
    else decided by coordinate descent (inexact). ``"threshold"``: the
    threshold family of Lemma 5 on every fork (exact on flat forks; on
    forks with nested branches, exact where the nested branches' own
    families fit the budgets, else the conjectured form, refuted in
    general). ``"auto"``: as ``"full"``,
    with the threshold family first on flat forks where it is affordable
    (at most ``PARETO_MAX`` candidates) and instead of the coordinate
    descent elsewhere where it is affordable (on forks with nested
    branches, up to ``LEMMA5_BEFORE_DESCENT``); on graphs of more than
    ``LARGE`` nodes, or in the last quarter
    of a time limit, forks of more than ``LARGE_CANDIDATES`` (or
    ``HURRY_CANDIDATES``) candidates go straight to it, and the Pareto
    budget is ``PARETO_MAX_LARGE``.

    ``workers=2`` (POSIX) shares the work with a forked process: on graphs
    of at least ``PARALLEL_MIN`` nodes the parts below the top of the
    decomposition tree (:meth:`_Solver._share`); forks that tie at least
    ``WORDS_SHARED`` candidates on the least peak build their words in two
    halves; Pareto prunings of at least ``COMBOS_SHARED`` combinations
    prune two halves apart, then their union. The peak and exactness are
    the same (the order may differ among equivalent ones); a child that
    dies has its share done here.

    ``decomposition``: the graph's
    :func:`~pebble_sched.solvers.series_parallel.decompose`, when the
    caller has it already.

    ``dominant=False``: the caller needs an order of least peak, not a
    dominant one (whose memory profile is also the lowest wherever the
    order runs beside other work; :mod:`.sp_regions` fixes a region's
    order inside a larger graph, so it needs that; the SP-ization and
    the near-SP orders, whose orders are then evaluated or repaired on
    another graph, keep it too): the forks of the
    graph's outermost series then take any candidate of least peak,
    without breaking ties by words and keeping one such row (``exact``
    still means optimal; at 10^4 nodes a top fork with 12 million such
    candidates took minutes to choose one).

    ``hurry=False``: no hurrying in the last quarter of the time limit, nor
    smaller budgets in its last ``MIXED_MIN_S`` seconds (a
    caller that wants a proof or nothing: it gets TimeUp at the limit
    rather than an inexact order sooner).

    ``escalate``: how many times a fork that the budgets leave inexact
    is tried again, each time with budgets ``ESCALATE`` times larger
    (default ``ESCALATE_TRIES``; the tries after the first only where the
    memory allows them); 0: never. Callers that use the order as a
    heuristic (the SP-ization, the near-SP orders) ask for one.

    ``grace``: seconds the solver may take after Ctrl-C (with ``hurry``,
    on graphs of more than 2,000 nodes, where it runs in a thread that
    Ctrl-C stops at its next check) to finish the order in a hurry, as in
    the last quarter of a time limit: a fork being tried again keeps its
    first answer, prunings give up, large forks go to Lemma 5 or to
    coordinate descent. The result then says ``interrupted`` (and is
    ``exact`` only if every fork still was). 0 (the default), or when it
    does not finish in time: ``KeyboardInterrupt``.

    ``phase(text)``: called from the solver's thread before each of those
    tries with a line that says so, and with None after a fork's last
    (the caller's own phase again).

    ``progress(done)``: called from the calling process (the solver's
    thread) with the share of the graph's nodes placed so far, each time it
    passes another hundredth, up to 0.99 (the forks above the last nodes
    are decided after them); with ``workers=2`` the parts the other
    process took count once it took them.

    Python's cyclic garbage collector is paused meanwhile (the solver
    builds millions of small objects and no cycles; see
    :func:`~pebble_sched.runtime.gc_paused`): other threads of the process
    run without it until the call returns.

    Examples
    --------
    >>> g = Graph(list("sabct"), [("s", "a"), ("s", "b"), ("a", "c"), ("c", "t"), ("b", "t")],
    ...           size=[4, 1, 5, 1, 1])
    >>> r = sp_order(g)
    >>> [g.ids[v] for v in r.order], r.peak, r.exact
    (['s', 'a', 'c', 'b', 't'], 10, True)
    """
    if family not in SP_FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    if not sp_supported(graph):
        raise ValueError(OUTSIDE)
    large = family == "auto" and graph.n > LARGE
    if max_candidates is None:
        max_candidates = LARGE_CANDIDATES if large else MAX_CANDIDATES
    if pareto_max is None:
        pareto_max = PARETO_MAX_LARGE if large else PARETO_MAX
    solver = _Solver(
        graph,
        max_candidates,
        deadline,
        pareto_max,
        family,
        workers,
        hurry,
        dominant,
        progress,
        ESCALATE_TRIES if escalate is None else escalate,
        grace,
        phase,
    )
    timed_out = False
    with gc_paused():  # millions of atoms, no cycles
        try:
            if graph.n > 2000:
                chain, interrupted = run_cancellable(
                    lambda: solver.solve(graph, decomposition),
                    solver.cancel.set,
                    deep=True,
                )
                if interrupted and not solver.interrupted:
                    # (finished as Ctrl-C came: an interrupt)
                    raise KeyboardInterrupt
            else:
                chain = solver.solve(graph, decomposition)
        except TimeUp:
            # (the traceback holds the solver's frames, millions of atoms:
            # dropped here, while the collector is paused, they are freed
            # at once; alive when it resumes, its first pass would walk
            # them all, up to a second past the limit at 10^5 nodes)
            timed_out = True
    if timed_out:
        if solver.interrupted:  # (Ctrl-C, and the grace ran out)
            raise KeyboardInterrupt
        raise TimeUp
    order = [x for x in flatten(tuple(a.items for a in chain)) if x >= 0]
    model = solver.model
    return SPSchedule(
        np.array(order, dtype=np.int64),
        max(model.initial, model.start + int(max(_coarse_word(chain)))),
        solver.capped == solver.undominated == solver.conjectured == 0,
        solver.forks,
        solver.nested,
        solver.candidates,
        solver.undominated,
        solver.capped,
        solver.conjectured,
        solver.escalated,
        solver.interrupted,
    )
