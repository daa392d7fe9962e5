"""Exhaustive check of Lemma 5 (the threshold family) on flat and nested forks.

Lemma 5 of :mod:`pebble_sched.solvers.dominant` says that, for a flat fork,
some candidate of the threshold family dominates every pre-release ideal.
It is proven now (docs/theory.md); this search, written while it was a
conjecture, remains as a regression check of the implementation. This script enumerates *every* flat fork of a given shape: a node a of size
s(a) whose d branches are chains a -> c -> v2 -> ... of at most L nodes,
each node of size in SIZES and workspace in WORKS (small alphabets, so that
ties between preference keys are common), branches as a multiset (their
order does not matter). For each fork it builds the branches' canonical
chains exactly as the solver does, finds the candidate of the full family
(every pre-release ideal) that dominates all others (Lemma 4 says one
exists: a fork where none does is reported too), and checks that some
candidate of the threshold family dominates it. Any fork where none does
is a counterexample, printed as a graph.

    python scripts/lemma5_search.py --branches 2 --length 5 --sizes 0,1,2 [--works 0] [--release 1,2,3] [--jobs 2]

``--atoms HEADS:REST`` enumerates the branches as atoms directly instead of
nodes: a consumer atom from HEADS (``hill/net`` pairs, net >= 0: the
consumer keeps its output) followed by every canonical chain (preference
keys non-decreasing, so ties of equal keys in every order) of at most
``--length`` atoms from REST, for instance
``--atoms 1/1,2/1,3/2:0/-1,2/-1,1/0,2/1,3/1``. This reaches chains that no
node sizes of a small alphabet produce (any hill above any net, composite
atoms as the solver builds them).

``--nested W1:REST`` checks forks with one *nested* branch instead (one
threshold shared with the nested branch's inner branches: conjectured
when this was written, refuted since by a fork these shapes do not reach,
found by ``scripts/shared_threshold_check.py``): two inner branches drawn from the ``--atoms``
chains, closed by a w1 atom from W1 (which does not read a), then a
canonical rest of up to ``--nested-length`` atoms from REST, beside
``--branches - 1`` flat branches; the full family is every combination of
the solver's options (inner branches in every state, or X0 complete with w1
after the release, or w1 and a prefix of the rest before it), for instance
``--atoms 1/1,3/2:0/-1,2/-1,1/0,3/1 --length 2 --nested
0/-2,1/-2,3/-1,2/0,4/1:0/-1,1/0,2/1``. w1's atom is any atom of W1, not only
one a graph can produce (it frees what X0 leaves behind in a graph): a
superset of the real cases.
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import time
from bisect import bisect_left, bisect_right
from concurrent.futures import ProcessPoolExecutor

from pebble_sched import Graph
from pebble_sched.solvers.dominant import _ALL, _Branch, _coarse_word, _Solver
from pebble_sched.solvers.profiles import (
    Atom,
    canonical,
    dominates,
    join,
    merge,
)


def _chains(length: int, sizes: list[int], works: list[int]):
    nodes = [(s, x) for s in sizes for x in works]
    for k in range(1, length + 1):
        yield from itertools.product(nodes, repeat=k)


def _branch(seq, base: int) -> _Branch:
    """c's atom (it reads a, does not free it) and the canonical rest."""
    s0, x0 = seq[0]
    head = Atom(s0 + x0, s0, base)
    rest, prev = [], s0
    for k, (s, x) in enumerate(seq[1:]):
        rest.append(Atom(s + x, s - prev, base + 1 + k))
        prev = s
    return _Branch([head], canonical(rest))


class _Weakened(_Solver):
    """The refuted forms of the threshold family, to see whether a search
    is large enough to find what refuted them: ``no-ties`` (a branch runs
    its consumer alone or with exactly the atoms below the threshold) and
    ``no-glued`` (ties, but not the glued option (c))."""

    variant = "lemma5"

    def threshold_options(self, t, tau, proven=False):
        if self.variant == "lemma5" or t.subs:
            return super().threshold_options(t, tau, proven)
        lo, hi = bisect_left(t.keys, tau), bisect_right(t.keys, tau)
        # no-ties, the first refuted form: neither ties nor glued atoms;
        # no-glued: ties, but the consumer may stop before its glued atoms
        ks = {0, lo} if self.variant == "no-ties" else {0, *range(lo, hi + 1)}
        return [(k, *self.prefix(t, k)) for k in sorted(ks)]


class _Ordered(_Weakened):
    """Families whose thresholds run through a total order of the flat
    branches' rest atoms (key, then branch, then position; ``flip``
    reverses the branches' order): at each place a branch has taken m
    atoms, and runs ``ordered``: any count below both its glued atoms and
    m + 1, or its glued atoms and m (proven: docs/theory.md); ``ends``:
    none, the most of its glued atoms but one, or the glued atoms and m
    (at most three options: refuted, the options depend on how ties are
    ordered, see ``ends-ties``); ``ends-ties``: thresholds on keys, and
    for each count m between a branch's atoms below the key and those at
    most at it, the three ``ends`` options (the union of ``ends`` over
    every order of the ties: refuted, by forks with an atom of net 0,
    see docs/theory.md); ``small``:
    none, m, or the glued atoms and m (the form searched before the
    proof, its ties ordered; refuted: a branch may have to stop one atom
    short of its glued atoms)."""

    flip = False

    def _counts(self, g: int, m: int, variant: str = "") -> set[int]:
        variant = variant or self.variant
        if variant == "ordered":
            return {*range(min(g, m + 1)), max(g, m)}
        if variant == "ends":
            return (
                {0, min(g - 1, m), g} if g > m else {0, g - 1, m} if g else {m}
            )
        return {0, m, max(g, m)}

    def _threshold_combos(self, trees, cap=math.inf, release=None):
        if any(t.subs for t in trees):
            return super()._threshold_combos(trees, cap, release)
        if self.variant == "ends-ties":
            return self._tied_combos(trees)
        sign = -1 if self.flip else 1
        places = sorted(
            (key, sign * i, j)
            for i, t in enumerate(trees)
            for j, key in enumerate(t.keys)
        )
        taken = [0] * len(trees)
        counts: set[tuple[int, ...]] = set()
        for step in range(len(places) + 1):
            if step:
                taken[sign * places[step - 1][1]] += 1
            counts.update(
                itertools.product(
                    *[
                        sorted(self._counts(t.glued, m))
                        for t, m in zip(trees, taken, strict=True)
                    ]
                )
            )
        return self._built(trees, counts)

    def _tied_combos(self, trees):
        """``ends-ties``: at each key threshold, every branch's ``ends``
        options for each count its ties allow."""
        counts: set[tuple[int, ...]] = set()
        keys = sorted({k for t in trees for k in t.keys})
        for tau in [*keys, None]:
            per = []
            for t in trees:
                lo = len(t.keys) if tau is None else bisect_left(t.keys, tau)
                hi = len(t.keys) if tau is None else bisect_right(t.keys, tau)
                ks = set()
                for m in range(lo, hi + 1):
                    ks |= self._counts(t.glued, m, "ends")
                per.append(sorted(ks))
            counts.update(itertools.product(*per))
        return self._built(trees, counts)

    def _built(self, trees, counts):
        out = []
        for ks in sorted(counts):
            parts = [self.prefix(t, k) for t, k in zip(trees, ks, strict=True)]
            out.append(
                (merge([p for p, _ in parts]), merge([q for _, q in parts]))
            )
        return out


ORDERED = ("ordered", "ends", "ends-ties", "small")


def _solver(variant: str = "lemma5") -> _Solver:
    kind = _Ordered if variant in ORDERED else _Weakened
    solver = kind(Graph(["a"], []), family="threshold")
    solver.variant = variant
    return solver


def check_fork(solver: _Solver, release: int, seqs) -> str | None:
    """None if Lemma 5 holds on this fork, else what went wrong."""
    trees = [_branch(seq, 100 * (i + 1)) for i, seq in enumerate(seqs)]
    return check_trees(solver, trees, Atom(0, -release, -1))


def check_trees(solver: _Solver, trees, r_atom) -> str | None:
    """:func:`check_fork` on branches given as atoms (flat or nested: the
    full family is every combination of :meth:`_Solver.options`); the
    ordered families in both orders of the branches."""
    if not isinstance(solver, _Ordered):
        return _check_trees(solver, trees, r_atom)
    why = _check_trees(solver, trees, r_atom)
    solver.flip = True
    try:
        flipped = _check_trees(solver, trees, r_atom)
    finally:
        solver.flip = False
    return why or (flipped and f"{flipped} (branches reversed)")


def _check_trees(solver: _Solver, trees, r_atom) -> str | None:
    """:func:`check_trees` in one order of the branches."""
    full = []
    for combo in itertools.product(*[solver.options(t) for t in trees]):
        pre = merge([c[0] for c in combo])
        post = merge([c[1] for c in combo])
        full.append(_coarse_word(join(pre, (r_atom,), post)))
    best = None
    for w in full:
        if best is None or dominates(w, best):
            best = w
    if not all(dominates(best, w) for w in full):
        return "no dominant pre-release ideal (Lemma 4 fails)"
    combos = solver._threshold_combos(trees)  # noqa: SLF001
    if combos is None or combos is _ALL:
        return f"threshold family not built ({combos!r})"
    for pre, post in combos:
        if dominates(_coarse_word(join(pre, (r_atom,), post)), best):
            return None
    return "no threshold candidate dominates"


def nested_branch(subs, w: Atom, rest, base: int) -> _Branch:
    """A nested branch as :meth:`_Solver.branch` builds it: inner branches
    (consumer atom, canonical rest) closed by w1's atom ``w`` (which does
    not read a), then ``rest``; items numbered from ``base``."""
    inner = [
        _Branch(
            [Atom(h.hill, h.net, base + 10 * k)],
            [
                Atom(x.hill, x.net, base + 10 * k + 1 + i)
                for i, x in enumerate(r)
            ],
        )
        for k, (h, r) in enumerate(subs, 1)
    ]
    full_pre = merge([join(t.head, (), t.rest) for t in inner])
    w_atom = Atom(w.hill, w.net, base)
    tail = canonical(
        [Atom(x.hill, x.net, base + 90 + i) for i, x in enumerate(rest)]
    )
    head = join(full_pre, (w_atom,), ())
    return _Branch(head, tail, inner, w_atom, False, full_pre)


def _flat(branches) -> list[_Branch]:
    """Flat branches from (consumer atom, rest atoms) pairs, numbered."""
    return [
        _Branch(
            [Atom(h.hill, h.net, 100 * (i + 1))],
            [
                Atom(x.hill, x.net, 100 * (i + 1) + 1 + k)
                for k, x in enumerate(rest)
            ],
        )
        for i, (h, rest) in enumerate(branches)
    ]


def _label(branches) -> list:
    """(consumer, rest) pairs as hill/net text, for reports."""
    return [
        (f"{h.hill}/{h.net}", [f"{x.hill}/{x.net}" for x in rest])
        for h, rest in branches
    ]


def _work(args) -> tuple[int, list[str]]:
    release, block, variant = args
    solver = _solver(variant)
    found = []
    count = 0
    for seqs in block:
        count += 1
        if seqs and seqs[0] == "nested":  # --nested: (subs, w, rest, flats)
            _tag, subs, w, brest, flats = seqs
            trees = [nested_branch(subs, w, brest, 1000), *_flat(flats)]
            why = check_trees(solver, trees, Atom(0, -release, -1))
            label = (
                _label(subs),
                f"w1 {w.hill}/{w.net}",
                [f"{x.hill}/{x.net}" for x in brest],
                _label(flats),
            )
            if why is not None:
                found.append(f"s(a)={release} nested={label}: {why}")
            continue
        if seqs and isinstance(seqs[0][0], Atom):  # --atoms: (head, rest)
            why = check_trees(solver, _flat(seqs), Atom(0, -release, -1))
            label = _label(seqs)
        else:
            why = check_fork(solver, release, seqs)
            label = seqs
        if why is not None:
            found.append(f"s(a)={release} branches={label}: {why}")
    return count, found


def _parse_atoms(text: str) -> list[Atom]:
    out = []
    for item in text.split(","):
        hill, net = (int(x) for x in item.split("/"))
        if hill < max(0, net):
            raise SystemExit(f"atom {item}: hill must be >= max(0, net)")
        out.append(Atom(hill, net, 0))
    return out


def _atom_branches(heads: list[Atom], rest: list[Atom], length: int):
    """(head, canonical rest) pairs: rests with non-decreasing keys."""
    chains: list[tuple[Atom, ...]] = [()]
    frontier: list[tuple[Atom, ...]] = [()]
    for _ in range(length):
        grown = []
        for c in frontier:
            for x in rest:
                if not c or c[-1].key <= x.key:
                    grown.append((*c, x))
        chains += grown
        frontier = grown
    return [(h, c) for h in heads for c in chains]


def known_forks() -> None:
    """The three forks (atoms, from the test suite) that refuted weaker
    families: each variant must fail on its own fork, Lemma 5 on none."""
    c = [Atom(2, 1, 1), Atom(5, 4, 2), Atom(2, 2, 3)]
    rests = [
        [Atom(3, -1, 4), Atom(8, 3, 5)],
        [Atom(1, -1, 6), Atom(3, -1, 7)],
        [],
    ]
    tied = ([_Branch([h], r) for h, r in zip(c, rests, strict=True)], 9)
    c = [Atom(1, 1, 1), Atom(1, 1, 2), Atom(4, 4, 3)]
    rests = [[Atom(4, 0, 4)], [], canonical([Atom(0, -1, 5), Atom(2, -1, 6)])]
    glued = ([_Branch([h], r) for h, r in zip(c, rests, strict=True)], 2)
    # the fork that refuted ``ends`` (with ties ordered branch 3 first)
    c = [Atom(2, 1, 1), Atom(2, 1, 2), Atom(5, 4, 3)]
    rests = [
        [],
        canonical([Atom(1, -1, 4), Atom(1, -1, 5), Atom(3, -1, 6)]),
        canonical([Atom(1, -1, 7), Atom(3, -1, 8), Atom(3, -1, 9)]),
    ]
    order = ([_Branch([h], r) for h, r in zip(c, rests, strict=True)], 2)
    for name, (trees, release) in (
        ("tied", tied),
        ("glued", glued),
        ("tie-order", order),
    ):
        for variant in ("lemma5", "no-ties", "no-glued", *ORDERED):
            fresh = [_Branch(t.head, t.rest) for t in trees]
            why = check_trees(_solver(variant), fresh, Atom(0, -release, -1))
            print(f"{name} fork, family {variant}: {why or 'holds'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--branches", type=int, default=2)
    ap.add_argument("--length", type=int, default=4)
    ap.add_argument("--sizes", default="0,1,2")
    ap.add_argument("--works", default="0")
    ap.add_argument("--release", default="1,2,3")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--variant",
        choices=["lemma5", "no-ties", "no-glued", *ORDERED],
        default="lemma5",
        help="the family checked: Lemma 5's, a weakened one (refuted), or "
        "one whose thresholds run through the atoms in a total order "
        "(ordered: proven; ends: refuted; ends-ties: refuted; small: "
        "refuted)",
    )
    ap.add_argument(
        "--atoms",
        default=None,
        help="HEADS:REST atom alphabets (hill/net pairs), see above",
    )
    ap.add_argument(
        "--nested",
        default=None,
        help="W1:REST alphabets: forks with one nested branch (two inner "
        "branches from the --atoms chains, w1 from W1, a rest of up to "
        "--nested-length atoms from REST) and --branches - 1 flat ones",
    )
    ap.add_argument("--nested-length", type=int, default=1)
    ap.add_argument(
        "--random",
        type=int,
        default=0,
        help="with --atoms: check this many forks drawn at random (rests of "
        "0 to --length atoms, ties in random order) instead of all of them",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--known",
        action="store_true",
        help="only check the three forks that refuted the weaker families",
    )
    args = ap.parse_args()
    if args.known:
        known_forks()
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    works = [int(x) for x in args.works.split(",")]
    if args.atoms:
        heads, rest = (_parse_atoms(x) for x in args.atoms.split(":"))
        if any(h.net < 0 for h in heads):
            raise SystemExit("a consumer's atom keeps its output: net >= 0")
        chains = _atom_branches(heads, rest, args.length)
    else:
        chains = list(_chains(args.length, sizes, works))
    if args.nested:
        if not args.atoms:
            raise SystemExit("--nested needs --atoms for the inner branches")
        w1s, brests = (_parse_atoms(x) for x in args.nested.split(":"))
        tails = [
            c
            for _h, c in _atom_branches(heads[:1], brests, args.nested_length)
        ]
        forks = [
            ("nested", subs, w, tail, flats)
            for subs in itertools.combinations_with_replacement(chains, 2)
            for w in w1s
            for tail in tails
            for flats in itertools.combinations_with_replacement(
                chains, args.branches - 1
            )
        ]
    elif args.random:
        if not args.atoms:
            raise SystemExit("--random needs --atoms")
        rng = random.Random(args.seed)

        def drawn():
            # a random multiset of rest atoms in key order, ties shuffled
            atoms = [
                rng.choice(rest) for _ in range(rng.randint(0, args.length))
            ]
            rng.shuffle(atoms)
            return rng.choice(heads), tuple(sorted(atoms, key=lambda x: x.key))

        forks = [
            tuple(drawn() for _ in range(args.branches))
            for _ in range(args.random)
        ]
    else:
        forks = list(
            itertools.combinations_with_replacement(chains, args.branches)
        )
    releases = [int(x) for x in args.release.split(",")]
    total = len(forks) * len(releases)
    shape = (
        f"atoms {args.atoms}, rests of 0-{args.length} atoms"
        + (f", {args.random} drawn (seed {args.seed})" if args.random else "")
        if args.atoms
        else f"chains of 1-{args.length} nodes, sizes {sizes}, workspaces {works}"
    )
    print(
        f"family {args.variant}: d = {args.branches}, {shape}, s(a) in "
        f"{releases}: {len(chains)} branches, {total} forks",
        flush=True,
    )
    # (small tasks: a line after each, so a long search reports as it goes)
    step = max(1, math.ceil(len(forks) / (64 * args.jobs)))
    tasks = [
        (r, forks[i : i + step], args.variant)
        for r in releases
        for i in range(0, len(forks), step)
    ]
    t0 = time.perf_counter()
    done, bad = 0, []
    with ProcessPoolExecutor(args.jobs) as pool:
        for count, found in pool.map(_work, tasks):
            done += count
            bad += found
            print(
                f"  {done} of {total} forks checked, "
                f"{time.perf_counter() - t0:.0f} s, "
                f"{len(bad)} counterexamples so far",
                flush=True,
            )
    print(
        f"checked {done} forks in {time.perf_counter() - t0:.0f} s: "
        f"{len(bad)} counterexamples"
    )
    for line in bad[:20]:
        print(line)


if __name__ == "__main__":
    main()
