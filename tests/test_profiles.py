"""Tests of atoms, their preference order, canonical chains and dominance."""

from __future__ import annotations

from itertools import pairwise, permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from pebble_sched.solvers.profiles import (
    Atom,
    canonical,
    dominates,
    flatten,
    merge,
    preference,
    reduce_word,
)


@st.composite
def atoms(draw):
    net = draw(st.integers(-20, 20))
    hill = draw(st.integers(max(0, net), 40))
    return Atom(hill, net, draw(st.integers(0, 10**6)))


def peak(seq) -> int:
    level = best = 0
    for a in seq:
        best = max(best, level + a.hill)
        level += a.net
    return best


@given(atoms(), atoms())
def test_preference_is_never_worse_pairwise(a, b):
    """Tests Lemma 1: the preferred atom first never has a higher peak."""
    first, second = (a, b) if preference(a) <= preference(b) else (b, a)
    assert peak([first, second]) <= peak([second, first])


@given(st.lists(atoms(), max_size=6))
def test_merge_of_independent_atoms_is_optimal(seq):
    """Tests Lemmas 1-2: sorting independent atoms gives the best order."""
    best = min(peak(p) for p in permutations(seq)) if seq else 0
    assert peak(merge([[a] for a in seq])) == best


@given(st.lists(atoms(), max_size=8))
def test_canonical_keeps_the_chain(seq):
    """Tests that merging atoms keeps order, peak and net, and sorts the chain."""
    can = canonical(seq)
    assert [x for a in can for x in flatten(a.items)] == [a.items for a in seq]
    assert peak(can) == peak(seq)
    assert sum(a.net for a in can) == sum(a.net for a in seq)
    keys = [preference(a) for a in can]
    assert keys == sorted(keys)


@given(st.lists(st.integers(0, 30), min_size=1, max_size=12))
def test_reduced_words_are_equivalent(word):
    """Tests that dropping in-between positions keeps dominance both ways."""
    r = reduce_word(word)
    assert dominates(r, word) and dominates(word, r)
    # the reduced form: the ends kept, no repeat, no value strictly between
    # its neighbours, each value one of the word's in order
    assert r[0] == word[0] and r[-1] == word[-1]
    assert all(x != y for x, y in pairwise(r))
    assert not any(
        a < b < c or a > b > c
        for a, b, c in zip(r, r[1:], r[2:], strict=False)
    )
    it = iter(word)
    assert all(x in it for x in r)


@given(
    st.lists(st.integers(0, 30), min_size=2, max_size=10),
    st.lists(st.integers(0, 5), min_size=10, max_size=10),
)
def test_lower_words_dominate(word, drops):
    """Tests that a pointwise lower word dominates, and not conversely when higher."""
    lower = [max(0, x - d) for x, d in zip(word, drops, strict=False)]
    assert dominates(lower, word)
    if max(lower) < max(word):
        assert not dominates(word, lower)


def test_dominance_by_hand():
    """Tests the path condition on hand-made words."""
    assert dominates([0, 5, 1], [0, 3, 6, 1])  # 5 waits for the 6
    assert not dominates([0, 7, 1], [0, 3, 6, 1])  # 7 exceeds every position
    assert not dominates([0, 5, 4], [0, 6, 2])  # ends higher
    assert dominates([0, 6, 2, 6, 2], [0, 6, 2])  # repeats ride on the peak


def _reference_dominates(a, b) -> bool:
    """The grid search of Lemma 3, cell by cell."""
    seen = set()
    stack = [(0, 0)] if a[0] <= b[0] else []
    while stack:
        i, j = stack.pop()
        if (i, j) == (len(a) - 1, len(b) - 1):
            return True
        for di, dj in ((1, 0), (0, 1), (1, 1)):
            p, q = i + di, j + dj
            if (
                p < len(a)
                and q < len(b)
                and a[p] <= b[q]
                and (p, q) not in seen
            ):
                seen.add((p, q))
                stack.append((p, q))
    return False


@given(
    st.lists(st.integers(0, 12), min_size=1, max_size=9),
    st.lists(st.integers(0, 12), min_size=1, max_size=9),
)
def test_dominates_matches_the_grid_search(a, b):
    """Tests the bit-parallel dominance check against a plain search."""
    assert dominates(a, b) == _reference_dominates(a, b)


@settings(deadline=None, max_examples=200)
@given(
    st.lists(st.integers(0, 12), min_size=1, max_size=9),
    st.lists(st.lists(st.integers(0, 12), min_size=1, max_size=9), max_size=8),
)
def test_one_prepared_word_against_many(b, words):
    """Tests that a word prepared once (dominated_by) answers every word tested against it as the plain search does, in any order."""
    from pebble_sched.solvers.profiles import dominated_by

    test = dominated_by(b)
    for a in [*words, b, *words]:
        assert test(a) == _reference_dominates(a, b)


@settings(deadline=None, max_examples=300)
@given(
    st.lists(atoms(), max_size=6),
    st.lists(atoms(), max_size=2),
    st.lists(atoms(), max_size=6),
)
def test_join_is_canonical_of_the_concatenation(head, middle, tail):
    """Tests join() against canonical() on the concatenated chain."""
    from pebble_sched.solvers.profiles import join

    h, t = canonical(head), canonical(tail)
    assert join(h, middle, t) == canonical([*h, *middle, *t])


@settings(deadline=None, max_examples=300)
@given(
    st.lists(atoms(), max_size=6),
    st.lists(atoms(), max_size=2),
    st.lists(atoms(), max_size=6),
)
def test_joined_word_is_the_word_of_join(head, middle, tail):
    """Tests joined_word() (no atoms built) against the reduced word of
    join()'s chain, each atom one step."""
    from pebble_sched.solvers.profiles import join, joined_word

    h, t = canonical(head), canonical(tail)
    level, word = 0, [0]
    for a in join(h, middle, t):
        word += [level + a.hill, level + a.net]
        level += a.net
    assert joined_word(h, middle, t) == reduce_word(word)
