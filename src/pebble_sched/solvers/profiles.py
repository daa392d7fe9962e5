"""Memory profiles of partial schedules: atoms, their order, and dominance.

The objects the series-parallel solver (:mod:`pebble_sched.solvers.dominant`) and
the tree algorithms compose. Everything here is model-free: numbers only.

**Atom.** A piece of a schedule run contiguously, summarised by ``hill``
(the highest memory during it, above the level before it) and ``net`` (the
level after it minus the level before it); ``hill >= max(0, net)``. A
*composite* atom is a sequence run contiguously: ``A`` then ``B`` is
``(max(hA, nA + hB), nA + nB)``.

**Order of independent atoms (Lemma 1).** For two atoms with no precedence
between them, ``A`` before ``B`` has peak ``max(hA, nA + hB)`` above the
level before them, and ``B`` before ``A`` has ``max(hB, nB + hA)``. The
relation "A first is no worse" is the total preorder given by
:func:`preference`: atoms that lower the memory (net < 0) first, by
increasing hill; then atoms with net 0; then atoms that raise it, by
decreasing ``hill - net``. This is Johnson's two-machine rule in the form
Abdel-Wahab and Kameda gave for the maximum cumulative cost
("Scheduling to minimize maximum cumulative cost subject to series-parallel
precedence constraints", Operations Research 26(1), 1978). Atoms of equal
preference are interchangeable: both orders have the same peak.

**Chains (Lemma 2, Sidney's merge).** When ``A`` must precede ``B`` and
``B`` is strictly preferred to ``A``, some optimal schedule runs ``B``
right after ``A``: they become one composite atom. Merging every such
adjacent pair of a chain (:func:`canonical`) leaves a *canonical* chain,
whose atoms are in preference order; canonical chains with no precedence
between them are merged optimally by a stable merge on the preference
(:func:`merge`). On in-trees this is Liu's hill-valley algorithm: the
atoms of a canonical chain are his segments.

**Dominance (Lemma 3).** A schedule's *word* is the sequence ``0, p1, r1,
p2, r2, ..., pm, rm`` of memory during each step (``p``) and after it
(``r``), above the level at its start. Word ``a`` *dominates* word ``b``
(:func:`dominates`) when a monotone path through the grid of their
positions, from the first pair to the last pair, visits only pairs with
``a[i] <= b[j]``. Then in any schedule where the steps of ``b`` are
interleaved with independent work, replacing them by those of ``a`` does
not raise the peak: walk the path, run ``a``'s step ``i`` when ``b`` is at
position ``j``; the external memory at that moment is at most the one that
``b``'s position ``j`` was charged with. Swapping two adjacent independent
atoms into preference order never raises the local peak, so the result of
the swap dominates the original (the path maps the new middle positions to
the old local maximum); the canonical merge of Lemma 2 therefore yields a
word that dominates every interleaving of the same canonical chains.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from operator import attrgetter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

__all__ = [
    "Atom",
    "canonical",
    "dominated_by",
    "dominates",
    "flatten",
    "join",
    "joined_word",
    "key_columns",
    "merge",
    "preference",
    "reduce_word",
]


class Atom:
    """A contiguous piece of a schedule: ``hill`` and ``net`` above its start.

    ``items`` is a rope: an item (a node index, or any marker) or a tuple
    of ropes, flattened by :func:`flatten`. ``key`` is its preference
    (:func:`preference`), computed once. Atoms are never changed after
    they are made (not enforced: the solvers make millions, and a frozen
    dataclass took 3.5 times as long to create one).

    Examples
    --------
    >>> Atom(5, -2, "a") == Atom(5, -2, "a"), Atom(5, -2, "a").key
    (True, (0, 5))
    """

    __slots__ = ("hill", "items", "key", "net")

    def __init__(self, hill: int, net: int, items: object) -> None:
        self.hill = hill
        self.net = net
        self.items = items
        # the preference key: sorting and merging use it
        self.key = (
            (0, hill) if net < 0 else (1, 0) if net == 0 else (2, net - hill)
        )

    def __repr__(self) -> str:
        return (
            f"Atom(hill={self.hill!r}, net={self.net!r}, items={self.items!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Atom):
            return NotImplemented
        return (self.hill, self.net, self.items) == (
            other.hill,
            other.net,
            other.items,
        )

    def __hash__(self) -> int:
        return hash((self.hill, self.net, self.items))

    def then(self, other: Atom) -> Atom:
        """The composite atom: ``self`` then ``other``, contiguously."""
        return Atom(
            max(self.hill, self.net + other.hill),
            self.net + other.net,
            (self.items, other.items),
        )


def preference(atom: Atom) -> tuple[int, int]:
    """Sort key of Lemma 1: a smaller key goes first (ties are equivalent).

    Atoms that lower memory (net < 0) come first, by increasing hill
    (key (0, hill)); then those with net 0 (key (1, 0)); then those that
    raise it, by decreasing hill - net (key (2, net - hill)). Computed once
    per atom (``Atom.key``).

    Examples
    --------
    >>> preference(Atom(5, -2, 0)) < preference(Atom(1, 0, 1)) < preference(Atom(9, 1, 2))
    True
    """
    return atom.key


def canonical(chain: Iterable[Atom]) -> list[Atom]:
    """Lemma 2: merge the atoms of a chain until they are in preference order.

    Examples
    --------
    >>> [(a.hill, a.net) for a in canonical([Atom(3, 3, 0), Atom(4, -3, 1), Atom(2, 1, 2)])]
    [(7, 0), (2, 1)]
    """
    stack: list[Atom] = []
    keys: list[tuple[int, int]] = []
    for atom in chain:
        key = preference(atom)
        while stack and key < keys[-1]:
            atom = stack.pop().then(atom)
            keys.pop()
            key = preference(atom)
        stack.append(atom)
        keys.append(key)
    return stack


def join(
    head: Sequence[Atom], middle: Sequence[Atom], tail: Sequence[Atom]
) -> list[Atom]:
    """``canonical([*head, *middle, *tail])`` for canonical head and tail.

    Only the atoms around ``middle`` can merge: head is read from its end
    as far as needed, and tail is appended as it is from its first atom
    that does not merge (its keys only grow after it). Merges are done on
    numbers, and each merged atom is built once, at the end (with the
    items rope :meth:`Atom.then` would give).

    Examples
    --------
    >>> h, t = [Atom(5, 1, 0), Atom(3, 3, 1)], [Atom(1, 0, 2), Atom(9, 2, 3)]
    >>> join(h, [Atom(0, -4, 9)], t) == canonical([*h, Atom(0, -4, 9), *t])
    True
    """
    cut = len(head)  # head[:cut] is untouched
    # after it: (hill, net, items, key, atom), atom the unmerged one or
    # None (merged atoms are built once, at the end)
    stack: list[tuple] = []
    rest = len(tail)  # tail[rest:] is appended as it is
    middle_len = len(middle)
    for t, atom in enumerate(itertools.chain(middle, tail)):
        key = atom.key
        hill = net = items = None  # (the atom's, once merged)
        while True:
            if stack:
                h0, n0, i0, k0, _a = stack[-1]
            elif cut:
                top = head[cut - 1]
                h0, n0, i0, k0 = top.hill, top.net, top.items, top.key
            else:
                break
            if key >= k0:
                break
            if stack:
                stack.pop()
            else:
                cut -= 1
            if hill is None:
                hill, net, items = atom.hill, atom.net, atom.items
            # Atom.then, inlined
            hill, net, items = max(h0, n0 + hill), n0 + net, (i0, items)
            key = (
                (0, hill)
                if net < 0
                else (1, 0)
                if net == 0
                else (2, net - hill)
            )
        if hill is None:
            stack.append((atom.hill, atom.net, atom.items, key, atom))
            if t >= middle_len:  # a tail atom that merged with nothing
                rest = t + 1 - middle_len
                break
        else:
            stack.append((hill, net, items, key, None))
    out = list(head[:cut])
    out += [x[4] if x[4] is not None else Atom(*x[:3]) for x in stack]
    out += tail[rest:]
    return out


def joined_word(
    head: Sequence[Atom], middle: Sequence[Atom], tail: Sequence[Atom]
) -> list[int]:
    """The reduced word of ``join(head, middle, tail)``, each atom one step.

    The same merges as :func:`join`, on (hill, net) pairs: no atom is
    built, for comparing many candidates of which one is kept.

    Examples
    --------
    >>> h, t = [Atom(5, 1, 0), Atom(3, 3, 1)], [Atom(1, 0, 2), Atom(9, 2, 3)]
    >>> joined_word(h, [Atom(0, -4, 9)], t)   # atoms (5, 0), (1, 0), (9, 2)
    [0, 5, 0, 1, 0, 9, 2]
    """
    cut = len(head)  # head[:cut] is untouched
    st: list[tuple[int, int, tuple[int, int]]] = []

    def push(hill: int, net: int) -> bool:
        nonlocal cut
        # Lemma 1's key (as Atom.key), inlined: the SP solver's hottest loop
        key = (0, hill) if net < 0 else (1, 0) if net == 0 else (2, net - hill)
        merged = False
        while True:
            if st:
                h0, n0, k0 = st[-1]
            elif cut:
                a = head[cut - 1]
                h0, n0, k0 = a.hill, a.net, a.key
            else:
                break
            if key >= k0:
                break
            if st:
                st.pop()
            else:
                cut -= 1
            hill, net = max(h0, n0 + hill), n0 + net
            key = (
                (0, hill)
                if net < 0
                else (1, 0)
                if net == 0
                else (2, net - hill)
            )
            merged = True
        st.append((hill, net, key))
        return not merged

    for atom in middle:
        push(atom.hill, atom.net)
    rest = 0
    for i, atom in enumerate(tail):
        if push(atom.hill, atom.net):
            rest = i + 1
            break
    else:
        rest = len(tail)
    level, word = 0, [0]
    for a in head[:cut]:
        word.append(level + a.hill)
        level += a.net
        word.append(level)
    for hill, net, _k in st:
        word.append(level + hill)
        level += net
        word.append(level)
    for a in tail[rest:]:
        word.append(level + a.hill)
        level += a.net
        word.append(level)
    return reduce_word(word)


_KEY = attrgetter("key")


def merge(chains: Sequence[Sequence[Atom]]) -> list[Atom]:
    """Lemma 1 and 2: stable merge of canonical chains by preference."""
    live = [c for c in chains if c]
    if len(live) <= 1:
        return list(live[0]) if live else []
    # Timsort finds the sorted runs; stable, so ties keep the chains' order
    return sorted(itertools.chain.from_iterable(live), key=_KEY)


def flatten(items: object) -> list:
    """The items of a rope, in order."""
    out: list = []
    stack = [items]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            stack.extend(reversed(item))
        else:
            out.append(item)
    return out


def key_columns(table: Sequence, side: int) -> tuple[dict[int, int], list]:
    """``(rank, atoms)``: every atom of ``table`` (per branch, its options
    as ``(pre, post)`` chains) on ``side`` (0 or 1) once, sorted by
    :func:`preference` (ties in the order first met), and each one's
    position there by its ``id``."""
    # (an atom met again keeps its first place: a dict keeps the order
    # of first insertion)
    seen: dict[int, Atom] = {
        id(x): x
        for options in table
        for option in options
        for x in option[side]
    }
    atoms = sorted(seen.values(), key=_KEY)
    return {id(x): k for k, x in enumerate(atoms)}, atoms


def reduce_word(word: Sequence[int]) -> list[int]:
    """Drop positions strictly between their neighbours' values and repeats.

    The reduced word and the original dominate each other (Lemma 3), so
    comparisons can use the shorter one.

    Examples
    --------
    >>> reduce_word([0, 3, 2, 5, 5, 1, 1, 4])
    [0, 3, 2, 5, 1, 4]
    """
    out: list[int] = []
    append = out.append
    n = 0
    before = last = 0  # out[-2] and out[-1] once there are that many
    for x in word:
        if n:
            if x == last:
                continue
            if n >= 2 and (before < last < x or before > last > x):
                out[-1] = last = x
                continue
        append(x)
        before, last = last, x
        n += 1
    return out


def dominates(a: Sequence[int], b: Sequence[int]) -> bool:
    """Lemma 3: does word ``a`` dominate word ``b``?

    Both words start at the same level and must end at the same place:
    a path from (0, 0) to (len(a)-1, len(b)-1) moving forward in one or
    both words, through pairs with ``a[i] <= b[j]``.

    Examples
    --------
    >>> dominates([0, 5, 1], [0, 3, 6, 1])
    True
    >>> dominates([0, 7, 1], [0, 3, 6, 1])
    False
    """
    return dominated_by(b)(a)


def dominated_by(b: Sequence[int]) -> Callable[[Sequence[int]], bool]:
    """``lambda a: dominates(a, b)``, with what depends on ``b`` alone
    prepared once (for testing many words against one)."""
    if not b:
        return lambda a: not a
    b = list(b)
    top = max(b)
    j = b.index(top)
    low_before, low_after = min(b[: j + 1]), min(b[j:])
    m = len(b)
    masks: list[int] = []  # built on the first word that needs the grid
    desc: list[int] = []

    def test(a: Sequence[int]) -> bool:
        if not a:
            return False
        if a[0] > b[0] or a[-1] > b[-1] or max(a) > top:
            return False  # necessary conditions, cheap
        if a == b:
            return True
        # sufficient, cheap: a waits at its start while b climbs to its
        # peak, runs entirely there, then waits at its end while b finishes
        if low_before >= a[0] and low_after >= a[-1]:
            return True
        # Rows of the grid as bit masks over b's positions: bit j of
        # ``reach`` says (i, j) is reachable. Row i's allowed cells are the
        # positions of b with b[j] >= a[i]; a cell is reachable when allowed
        # and entered from above, from the upper left, or from a reachable
        # cell on its left (the fill to the right inside runs of allowed
        # cells is one addition).
        if not masks:
            by_value = sorted(range(m), key=b.__getitem__, reverse=True)
            desc.extend(-b[k] for k in by_value)  # ascending, for bisect
            masks.append(0)  # masks[k]: positions of the k largest values
            for k in by_value:
                masks.append(masks[-1] | (1 << k))

        # (inlined, the hot loop of the Pareto pruning: allowed cells of a
        # value x are masks[bisect_right(desc, -x)]; the fill of ``cells``
        # from ``seeds`` is (cells & ~(cells + seeds)) | seeds)
        cells = masks[bisect_right(desc, -a[0])]
        reach = (cells & ~(cells + 1)) | 1
        for x in a[1:]:
            cells = masks[bisect_right(desc, -x)]
            seeds = cells & (reach | (reach << 1))
            if not seeds:
                return False
            reach = (cells & ~(cells + seeds)) | seeds
        return bool(reach >> (m - 1) & 1)

    return test
