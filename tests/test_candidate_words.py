"""Tests of the fork candidates' peaks and words on arrays
(:mod:`pebble_sched.solvers.candidate_words`), compiled and as plain
Python, against the solver's Python path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pebble_sched.generators import pumpkin, series_parallel
from pebble_sched.memory import evaluate_indices
from pebble_sched.solvers import candidate_words, dominant
from pebble_sched.solvers.dominant import _chain_peak, _coarse_word, sp_order
from pebble_sched.solvers.profiles import (
    _KEY,
    Atom,
    canonical,
    dominates,
    flatten,
    join,
    joined_word,
    key_columns,
    merge,
)

from .helpers import pareto_items, word_pairs

# the rows on bits add 64-bit words that wrap around (their carry is
# passed on by hand): compiled, silently; as plain Python, numpy warns
pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow encountered in scalar add:RuntimeWarning"
)

_FIXED = [HealthCheck.function_scoped_fixture]
"""(the ``kernels`` fixture only chooses the functions: nothing to reset
between examples)"""
_KERNELS = (
    "_push",
    "_walk",
    "_peaks",
    "_words",
    "_dominates",
    "_choose",
    "_hashes",
    "_same",
    "_collect",
    "_before",
    "_joined",
    "pareto_steps",
    "_beats",
    "_no_higher",
    "_step",
    "_side",
    "_side_words",
    "_chain_words",
    "_merge_rows",
    "_merge_side",
    "_join_tails",
    "_join_stack",
    "_next_at",
    "_start",
    "_merge_room",
    "_options_of",
    "_masks",
    "_below",
    "_fill",
    "_fill2",
    "_dominates_on_bits",
    "_table",
)


@pytest.fixture(params=["compiled", "python"])
def kernels(request, monkeypatch):
    """The module as compiled by numba, and as plain Python (each
    function's ``py_func``: what runs without numba)."""
    if request.param == "compiled":
        if not candidate_words.COMPILED:
            pytest.skip("numba is not installed")
    elif candidate_words.COMPILED:
        for name in _KERNELS:
            fn = getattr(candidate_words, name)
            monkeypatch.setattr(candidate_words, name, fn.py_func)
    return candidate_words


@st.composite
def chains(draw, max_atoms: int = 6):
    atoms = []
    for _ in range(draw(st.integers(0, max_atoms))):
        net = draw(st.integers(-6, 6))
        hill = max(0, net) + draw(st.integers(0, 6))
        atoms.append(Atom(hill, net, len(atoms)))
    return canonical(atoms)


@st.composite
def tables(draw):
    """A fork's options: per branch, (pre, post) splits of one canonical
    chain (all of them, or a few); atoms of equal keys are frequent."""
    table = []
    for _ in range(draw(st.integers(1, 4))):
        full = draw(chains())
        cuts = draw(
            st.lists(
                st.integers(0, len(full)), min_size=1, max_size=4, unique=True
            )
        )
        table.append([(full[:c], full[c:]) for c in cuts])
    return table, -draw(st.integers(0, 9))


def _python(table, row, release):
    pre = merge([table[b][i][0] for b, i in enumerate(row)])
    post = merge([table[b][i][1] for b, i in enumerate(row)])
    r_atom = Atom(0, release, -1)
    return _chain_peak(pre, release, post), joined_word(pre, (r_atom,), post)


@settings(deadline=None, max_examples=300, suppress_health_check=_FIXED)
@given(tables())
def test_peaks_and_words_match_the_python_merge(kernels, drawn):
    """Tests every candidate: the same peak as its merged chains, the
    same word when no two atoms share a key, else one that dominates the
    Python word and is dominated by it (atoms of equal keys may come in
    another order), and the chosen word dominating all when one does."""
    table, release = drawn
    keys = {
        id(x): x.key for o in table for pre, post in o for x in (*pre, *post)
    }
    distinct = len(set(keys.values())) == len(keys)
    cols = kernels.prepare(table, release)
    rows = np.indices([len(o) for o in table]).reshape(len(table), -1).T
    peaks = kernels.peaks(cols, rows, release)
    flat, starts, lens = kernels.words(cols, rows, release)
    mine = [
        flat[s : s + n].tolist() for s, n in zip(starts, lens, strict=True)
    ]
    for k, row in enumerate(rows.tolist()):
        peak, word = _python(table, row, release)
        assert peaks[k] == peak
        if distinct:  # the same merges, the same word
            assert mine[k] == word
        assert dominates(mine[k], word) and dominates(word, mine[k])
    best, every = kernels.choose(flat, starts, lens)
    assert every == any(all(dominates(w, x) for x in mine) for w in mine)
    if every:
        assert all(dominates(mine[best], x) for x in mine)


@settings(deadline=None, max_examples=300, suppress_health_check=_FIXED)
@given(tables(), st.data())
def test_side_and_chain_words_are_the_coarse_words(kernels, drawn, data):
    """Tests the words of partial combinations' merged chains (the rows
    giving an option of the first branches only, or of all) and of plain
    chains against ``_coarse_word`` in Python: the same word when no two
    atoms share a key, else words that dominate each other; their
    highest, lowest and last values exact."""
    table, release = drawn
    keys = {
        id(x): x.key for o in table for pre, post in o for x in (*pre, *post)
    }
    distinct = len(set(keys.values())) == len(keys)
    cols = kernels.prepare(table, release)
    d = data.draw(st.integers(1, len(table)))
    rows = np.indices([len(o) for o in table[:d]]).reshape(d, -1).T
    flat, starts, lens, top, low, end = kernels.side_words(cols, rows)
    m = len(rows)
    chains = []
    for k, row in enumerate(rows.tolist()):
        for side in (0, 1):
            chain = merge([table[b][i][side] for b, i in enumerate(row)])
            chains.append(chain)
            want = _coarse_word(chain)
            at = k + side * m
            got = flat[starts[at] : starts[at] + lens[at]].tolist()
            if distinct:
                assert got == want
            assert dominates(got, want) and dominates(want, got)
            assert (top[at], low[at], end[at]) == (
                max(want),
                min(want),
                want[-1],
            )
    hill = np.array([a.hill for c in chains for a in c], dtype=np.int64)
    net = np.array([a.net for c in chains for a in c], dtype=np.int64)
    ptr = np.cumsum([0, *map(len, chains)])
    flat, starts, lens, top, low, end = kernels.chain_words(hill, net, ptr)
    for k, chain in enumerate(chains):
        want = _coarse_word(chain)
        assert flat[starts[k] : starts[k] + lens[k]].tolist() == want
        assert (top[k], low[k], end[k]) == (max(want), min(want), want[-1])


def _covered(mine: list, theirs: list) -> bool:
    """Whether every (pre, post) of ``theirs`` is dominated in both words
    by one of ``mine``."""
    words = [(_coarse_word(a), _coarse_word(b)) for a, b in mine]
    return all(
        any(dominates(w, _coarse_word(a)) and dominates(v, _coarse_word(b))
            for w, v in words)
        for a, b in theirs
    )  # fmt: skip


@settings(deadline=None, max_examples=150, suppress_health_check=_FIXED)
@given(tables(), st.booleans())
def test_pareto_combinations_on_arrays_are_as_good_as_in_python(
    kernels, drawn, cut
):
    """Tests a fork's Pareto-pruned combinations built on arrays against
    the Python path: the kept combinations dominate each other's both
    ways (pruning keeps one of equivalent ones, not always the same);
    with the fork's release, the same least peak, with and without the
    cut at the least peak of all combinations."""
    table, release = drawn
    if len(table) < 2:
        table = [*table, [([], [Atom(3, 1, 99)]), ([Atom(3, 1, 99)], [])]]
    g = series_parallel(20, seed=1)

    def run(on_arrays: bool, **kw):
        solver = dominant._Solver(g)
        solver._kernels = kernels if on_arrays else None
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(dominant, "_COMPILED_MIN", 1)
            mp.setattr(dominant, "_COMPILED_BLOCK", 3)  # several blocks
            got = solver._pareto_combos(table, 10**6, **kw)
        return list(got)

    python, arrays = run(False), run(True)
    assert _covered(arrays, python) and _covered(python, arrays)
    every = []
    for row in np.ndindex(*(len(o) for o in table)):
        pre, post = _merged_row(table, row)
        every.append(_chain_peak(pre, release, post))
    kw = {"release": release, "cut": min(every) if cut else None}
    for got in (run(False, **kw), run(True, **kw)):
        assert min(_chain_peak(pre, release, post) for pre, post in got) == (
            min(every)
        )


@settings(deadline=None, max_examples=150, suppress_health_check=_FIXED)
@given(tables(), st.booleans(), st.integers(1, 6))
def test_a_forks_last_step_in_blocks_is_the_step_at_once(
    kernels, drawn, cut, block
):
    """Tests the last step of a fork's combinations on arrays built a few
    pairs at a time (``_LEAST_BLOCK``: here a row or two of partial
    combinations per block): the same rows of least peak as in one block,
    that peak the least of all combinations, with and without the cut;
    one of those rows alone at the top of the graph."""
    table, release = drawn
    if len(table) < 2:
        table = [*table, [([], [Atom(3, 1, 99)]), ([Atom(3, 1, 99)], [])]]
    every = []
    for row in np.ndindex(*(len(o) for o in table)):
        pre, post = _merged_row(table, row)
        every.append(_chain_peak(pre, release, post))
    g = series_parallel(20, seed=1)

    def run(pairs: int, top: bool = False) -> dominant._Candidates:
        solver = dominant._Solver(g)
        solver._kernels = kernels
        solver.at_top = top
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(dominant, "_COMPILED_MIN", 1)
            mp.setattr(dominant, "_LEAST_BLOCK", pairs)
            got = solver._pareto_combos(
                table, 10**6, cut=min(every) if cut else None, release=release
            )
        assert isinstance(got, dominant._Candidates)
        return got

    once, blocks = run(10**6), run(block * len(table[-1]))
    assert sorted(map(tuple, blocks.rows.tolist())) == sorted(
        map(tuple, once.rows.tolist())
    )
    peaks = [_chain_peak(pre, release, post) for pre, post in blocks]
    assert peaks and set(peaks) == {min(every)}
    # a fork of the outermost series keeps one of them (see fork's top)
    one = run(block * len(table[-1]), top=True)
    assert len(one.rows) == 1 and tuple(one.rows[0]) in set(
        map(tuple, once.rows.tolist())
    )


@settings(deadline=None, max_examples=100, suppress_health_check=_FIXED)
@given(tables(), chains(), st.integers(0, 9), st.integers(-9, 0))
def test_a_forks_last_step_on_arrays_goes_past_the_budget(
    kernels, drawn, first, cut_at, release
):
    """Tests ``LEAST_MAX``: on arrays, the last step of a fork's
    combinations (every branch chosen: peaks only) may hold more pairs
    than the Pareto budget (here 1: the first branch has one option, the
    other several), and gives the pairs of least peak of all; past
    ``LEAST_MAX``, or in Python, the budget holds (None)."""
    table, _release = drawn
    options = [x for o in table for x in o]
    cut = min(cut_at, len(first))
    table = [[(first[:cut], first[cut:])], options]
    if len(options) < 2:
        table[1] = [*options, ([], [Atom(3, 1, 99)]), ([Atom(3, 1, 99)], [])]
    rows = [_merged_row(table, (0, k)) for k in range(len(table[1]))]
    every = [_chain_peak(pre, release, post) for pre, post in rows]
    g = series_parallel(20, seed=1)

    def run(on_arrays: bool, most: int):
        solver = dominant._Solver(g)
        solver._kernels = kernels if on_arrays else None
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(dominant, "_COMPILED_MIN", 1)
            mp.setattr(dominant, "LEAST_MAX", most)
            return solver._pareto_combos(table, 1, release=release)

    got = run(True, len(table[1]))
    assert isinstance(got, dominant._Candidates)
    peaks = [_chain_peak(pre, release, post) for pre, post in got]
    assert len(peaks) == every.count(min(every)) and set(peaks) == {min(every)}
    assert run(True, len(table[1]) - 1) is None
    assert run(False, len(table[1])) is None


@st.composite
def loose_tables(draw):
    """Options whose pre- and post-release chains are drawn apart (so that
    often no candidate dominates the others)."""
    table = [
        [
            (draw(chains(3)), draw(chains(3)))
            for _ in range(draw(st.integers(1, 4)))
        ]
        for _ in range(draw(st.integers(1, 3)))
    ]
    return table, -draw(st.integers(0, 9))


@settings(deadline=None, max_examples=150, suppress_health_check=_FIXED)
@given(st.one_of(tables(), loose_tables()), st.integers(1, 4))
def test_choosing_in_blocks_is_choosing_at_once(kernels, drawn, block):
    """Tests the choice among many tied rows a block of words at a time
    (``_COMPILED_BLOCK`` lowered) against the one pass over all words:
    the same verdict (whether the chosen word dominates every other),
    and then words that dominate each other."""
    table, release = drawn
    combos = dominant._Candidates.product(table)
    combos.kernels = kernels
    ks = list(range(len(combos.rows)))
    r_atom = Atom(0, release, -1)
    once = combos.choose(ks, r_atom, lambda: None)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dominant, "_COMPILED_BLOCK", block)
        blocks = combos.choose(ks, r_atom, lambda: None)
    if once is None:  # (levels past int64: neither on arrays)
        assert blocks is None
        return
    assert once[1] == blocks[1]
    if once[1]:
        pair = [
            list(combos.words([k], r_atom)[0]) for k in (once[0], blocks[0])
        ]
        assert dominates(*pair) and dominates(*pair[::-1])


@settings(deadline=None, max_examples=150, suppress_health_check=_FIXED)
@given(st.one_of(tables(), loose_tables()))
def test_tied_rows_cut_to_one_only_when_it_dominates(kernels, drawn):
    """Tests ``_one_if_dominant`` (a threshold's rows of least peak before
    they are merged): one row left only when its word dominates every
    row's word, else the rows as they were."""
    table, release = drawn
    combos = dominant._Candidates.product(table)
    combos.kernels = kernels
    r_atom = Atom(0, release, -1)
    words = [list(w) for w in combos.words(range(len(combos.rows)), r_atom)]
    before = combos.rows.copy()
    solver = dominant._Solver(series_parallel(20, seed=1))
    got = solver._one_if_dominant(combos, release)
    if len(got.rows) == len(before):
        assert (got.rows == before).all()
        if combos.arrays(release) is not None and len(before) > 1:
            assert not any(all(dominates(w, v) for v in words) for w in words)
        return
    assert len(got.rows) == 1
    k = next(
        i
        for i, row in enumerate(before.tolist())
        if row == got.rows[0].tolist()
    )
    assert all(dominates(words[k], v) for v in words)


@settings(deadline=None, max_examples=150, suppress_health_check=_FIXED)
@given(tables())
def test_pruned_options_on_arrays_are_as_good_as_in_python(kernels, drawn):
    """Tests the pruning of a branch's options on arrays against the
    Python path: options of the list, in its order, and the two sets
    dominating each other's both ways."""
    table, _release = drawn
    options = [x for o in table for x in o]
    solver = dominant._Solver(series_parallel(20, seed=1))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dominant, "PRUNE_FROM", 0)
        mp.setattr(dominant, "_COMPILED_MIN", 1)
        solver._kernels = None
        python = solver._prune(options)
        solver._kernels = kernels
        arrays = solver._prune(options)
    where = [next(k for k, x in enumerate(options) if x is y) for y in arrays]
    assert where == sorted(where)
    assert _covered(arrays, python) and _covered(python, arrays)


def _steps(chain):
    return [(x.hill, x.net, tuple(flatten(x.items))) for x in chain]


@settings(deadline=None, max_examples=300, suppress_health_check=_FIXED)
@given(tables(), chains(), st.integers(-6, 6), st.integers(0, 6))
def test_merged_and_joined_chains_match_the_python_merge(
    kernels, drawn, rest, net, extra
):
    """Tests the candidates' chains merged on arrays (atoms of equal keys
    in column order) and their post-release chains joined to an atom w
    and a chain: every candidate's chains hold its options' atoms in key
    order, the very atoms and order of the Python merge when no two share
    a key, and each joined chain is exactly ``join(post, (w,), rest)``
    of that merged chain (the same steps, items in the same order)."""
    table, _release = drawn
    keys = {id(x): x.key for o in table for p, q in o for x in (*p, *q)}
    distinct = len(set(keys.values())) == len(keys)
    cols = kernels.prepare(table, 0)
    rows = np.indices([len(o) for o in table]).reshape(len(table), -1).T
    merged = dominant._merged_rows(kernels, cols, rows)
    w = Atom(max(0, net) + extra, net, "w")
    rest = [Atom(x.hill, x.net, ("r", x.items)) for x in rest]
    joined = merged.joined(w, rest)
    for k, row in enumerate(rows.tolist()):
        python = _merged_row(table, row)
        for mine, theirs in zip(merged[k], python, strict=True):
            assert sorted(map(id, mine)) == sorted(map(id, theirs))
            assert [x.key for x in mine] == sorted(x.key for x in mine)
            if distinct:
                assert [id(x) for x in mine] == [id(x) for x in theirs]
        post = merged[k][1]
        if not post:
            assert joined[k] is None
            continue
        assert _steps(joined[k]) == _steps(join(post, (w,), rest))


def _merged_row(table, row):
    pre = merge([table[b][i][0] for b, i in enumerate(row)])
    return pre, merge([table[b][i][1] for b, i in enumerate(row)])


@st.composite
def words(draw):
    values = draw(st.lists(st.integers(-5, 9), min_size=1, max_size=9))
    return [0, *values]


@settings(deadline=None, max_examples=500, suppress_health_check=_FIXED)
@given(words(), words())
def test_dominance_on_arrays_is_lemma_3(kernels, a, b):
    """Tests the grid walk on arrays against :func:`.profiles.dominates`,
    with the two words ending at the same level or not."""
    for first, second in ((a, b), (a, [*b[:-1], a[-1]])):
        flat, starts, lens = kernels.pack([first, second])
        width = max(len(first), len(second))
        prev = np.zeros(width, dtype=np.bool_)
        cur = np.zeros(width, dtype=np.bool_)
        got = kernels._dominates(
            flat, 0, len(first), starts[1], lens[1], prev, cur,
            kernels._table(width),
        )  # fmt: skip
        assert bool(got) == dominates(first, second)


@st.composite
def long_pairs(draw):
    """Two words around multiples of 64 values long (the rows on bits
    span one to four 64-bit words): b, and a as b shifted by a little at
    each step, with some steps left out or repeated."""
    n = draw(
        st.sampled_from([20, 63, 64, 65, 100, 127, 128, 129, 150, 192, 250])
    )
    b = [0, *draw(st.lists(st.integers(-4, 8), min_size=n, max_size=n))]
    a = [0]
    for x in b[1:]:
        for _ in range(draw(st.integers(0, 2))):
            a.append(x + draw(st.integers(-2, 1)))
    return a, b


@settings(deadline=None, max_examples=300, suppress_health_check=_FIXED)
@given(long_pairs())
def test_dominance_of_long_words_is_lemma_3(kernels, pair):
    """Tests the rows on bits (one to four words of 64 bits) against
    :func:`.profiles.dominates`, and the masks kept for the same b: a
    second call with another a gives its own answer; as plain Python,
    the grid walked cell by cell too (past ``BITS_MAX``, here 64)."""
    a, b = pair
    flat, starts, lens = kernels.pack([a, b, b[:-1]])
    width = max(map(len, (a, b)))
    rows = [np.zeros(width, dtype=np.bool_) for _ in range(2)]
    limits = [kernels.BITS_MAX]
    if isinstance(kernels._dominates, type(_python)):
        limits.append(64)  # (plain Python: compiled, the limit is frozen)
    for limit in limits:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(kernels, "BITS_MAX", limit)
            tab = kernels._table(width)
            for x in (0, 2):  # a, then b without its last value, against b
                got = kernels._dominates(
                    flat, starts[x], lens[x], starts[1], lens[1], *rows, tab
                )
                assert bool(got) == dominates([a, b, b[:-1]][x], b)


def test_columns_keep_every_chains_order_among_equal_keys(kernels):
    """Tests that an option's columns keep its chain's order: atoms of
    equal keys are ranked in the order first met (here y, in a chain
    without x, before x), yet the merge of the chain x, y, z keeps it
    (one of them may depend on the other)."""
    x, y, z = (Atom(0, 0, k) for k in range(3))  # (all of key (1, 0))
    table = [[([], [y, z]), ([], [x, y, z])], [([], [])]]
    _rank, atoms = key_columns(table, 1)
    assert atoms == [y, z, x]
    cols = kernels.prepare(table, 0)
    rows = np.array([[1, 0]], dtype=np.int64)
    _f0, _s0, flat1, _s1 = kernels.merged_columns(cols, rows)
    assert [cols.atoms[1][c] for c in flat1.tolist()] == [x, y, z]


def test_levels_past_int64_are_left_to_python(kernels):
    big = 1 << 62
    table = [[([Atom(big, big, 0)], [Atom(big, -big, 1)])], [([], [])]]
    assert kernels.prepare(table, -1) is None
    assert kernels.pack([[0, 1 << 63, 0]]) is None
    assert kernels.pack([[0, -(1 << 63), 0]]) is None
    assert kernels.pack([[0, 3, 1]]) is not None


def _counted(monkeypatch) -> dict[str, int]:
    """Calls of the array functions through the solver."""
    calls = {"peaks": 0, "words": 0}
    for name in calls:
        fn = getattr(candidate_words, name)

        def counted(*args, _fn=fn, _name=name):
            calls[_name] += 1
            return _fn(*args)

        monkeypatch.setattr(candidate_words, name, counted)
    return calls


@settings(deadline=None, max_examples=25)
@given(
    st.integers(0, 2**31),
    st.integers(30, 160),
    st.sampled_from([2, 3, 4, 6]),
    st.sampled_from(["auto", "threshold", "full"]),
)
def test_the_solver_on_arrays_gives_the_python_answers(seed, n, d, family):
    """Tests the SP solver with every fork of at least one candidate on
    arrays, against the same solver in Python: the same peak and
    exactness, an order the evaluator agrees with."""
    if not candidate_words.COMPILED:
        pytest.skip("numba is not installed")
    g = _weighted_sp(seed, n, d)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(candidate_words, "COMPILED", False)
        python = sp_order(g, family=family)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dominant, "_COMPILED_MIN", 1)
        mp.setattr(dominant, "COMPILED_MIN_NODES", 0)
        calls = _counted(mp)
        arrays = sp_order(g, family=family)
    assert calls["peaks"] > 0 or python.forks == 0
    _assert_same_answers(g, python, arrays)


@settings(deadline=None, max_examples=25)
@given(
    st.integers(0, 2**31),
    st.integers(30, 160),
    st.sampled_from([2, 3, 4, 6]),
    st.sampled_from(["auto", "threshold"]),
)
# (found in CI: a kept combination merged by columns ran node 80 before its
# predecessor 77, two atoms of equal keys ranked against their chain)
@example(seed=1675, n=99, d=3, family="threshold")
def test_pruned_combinations_on_arrays_give_the_python_answers(
    seed, n, d, family
):
    """Tests the SP solver with small budgets, so that forks prune their
    partial combinations, branches their options and nested branches
    their combinations, on arrays, against the same budgets in Python:
    the same peak where Python's is exact, the same exactness, an order
    the evaluator agrees with; the same with every pruning's groups
    shared with a forked process."""
    if not candidate_words.COMPILED:
        pytest.skip("numba is not installed")
    g = _weighted_sp(seed, n, d)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dominant, "MAX_CANDIDATES", 50)
        mp.setattr(dominant, "PRUNE_FROM", 4)
        with mp.context() as python_mp:
            python_mp.setattr(candidate_words, "COMPILED", False)
            python = sp_order(g, family=family, max_candidates=50)
        mp.setattr(dominant, "_COMPILED_MIN", 1)
        mp.setattr(dominant, "COMPILED_MIN_NODES", 0)
        arrays = sp_order(g, family=family, max_candidates=50)
        # and with the prunings' groups shared with a forked process
        mp.setattr(dominant, "STEPS_SHARED", 2)
        shared = sp_order(g, family=family, max_candidates=50, workers=2)
    _assert_same_answers(g, python, arrays)
    _assert_same_answers(g, python, shared)
    assert shared.peak == arrays.peak


def _weighted_sp(seed: int, n: int, d: int):
    """A random SP graph with random sizes and workspaces."""
    rng = np.random.default_rng(seed)
    g = series_parallel(n, seed=seed, max_out_degree=d)
    return g.replace(
        size=rng.integers(0, 30, g.n), workspace=rng.integers(0, 9, g.n)
    )


def _assert_same_answers(g, python, arrays) -> None:
    """The same exactness, the same peak where Python's is exact, and an
    order of the peak the evaluator finds."""
    assert arrays.exact == python.exact
    assert evaluate_indices(g, arrays.order).peak == arrays.peak
    if python.exact:
        assert arrays.peak == python.peak


def test_small_budgets_take_the_array_paths(monkeypatch):
    """Tests that the budgets of the test above send forks through the
    array paths (partial combinations, option lists, nested branches'
    combinations), so that it compares them."""
    if not candidate_words.COMPILED:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(dominant, "MAX_CANDIDATES", 50)
    monkeypatch.setattr(dominant, "PRUNE_FROM", 4)
    monkeypatch.setattr(dominant, "_COMPILED_MIN", 1)
    monkeypatch.setattr(dominant, "COMPILED_MIN_NODES", 0)
    calls = {"combos": 0, "options": 0, "nested": 0}

    def counted(name, fn):
        def run(*args):
            got = fn(*args)
            calls[name] += got is not None
            return got

        return run

    monkeypatch.setattr(
        dominant._Solver,
        "_combos_on_arrays",
        counted("combos", dominant._Solver._combos_on_arrays),
    )
    monkeypatch.setattr(
        dominant,
        "_prune_on_arrays",
        counted("options", dominant._prune_on_arrays),
    )
    monkeypatch.setattr(
        dominant._Solver,
        "_pruned_rows",
        counted("nested", dominant._Solver._pruned_rows),
    )
    for seed in range(6):
        g = series_parallel(150, seed=seed, max_out_degree=4)
        sp_order(g, family="threshold", max_candidates=50)
    assert all(calls.values()), calls


def test_pruned_forks_keep_their_least_peak_pairs_on_arrays(monkeypatch):
    """Tests the last step of a Pareto-pruned fork on arrays (the pairs
    of least peak kept unmerged) on pumpkins whose forks are pruned,
    against the Python path: the same optimum."""
    if not candidate_words.COMPILED:
        pytest.skip("numba is not installed")
    monkeypatch.setattr(dominant, "_COMPILED_MIN", 1)
    monkeypatch.setattr(dominant, "COMPILED_MIN_NODES", 0)
    monkeypatch.setattr(dominant, "MAX_CANDIDATES", 50)
    least = []
    real = dominant._Solver._combos_on_arrays

    def spy(self, table, order, budget, peak_cut, release, kernels):
        got = real(self, table, order, budget, peak_cut, release, kernels)
        if release is not None:
            least.append(isinstance(got, dominant._Candidates))
        return got

    monkeypatch.setattr(dominant._Solver, "_combos_on_arrays", spy)
    for seed in range(3):
        rng = np.random.default_rng(seed)
        g = pumpkin(5, 3, 6, seed=seed)
        g = g.replace(size=rng.integers(0, 30, g.n))
        arrays = sp_order(g, family="full", max_candidates=50)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(candidate_words, "COMPILED", False)
            python = sp_order(g, family="full", max_candidates=50)
        assert arrays.exact and python.exact
        assert arrays.peak == python.peak
    assert least and all(least)


def test_warming_stops_before_a_compilation_it_has_no_time_for(monkeypatch):
    """Tests the compilation under a deadline: a function not compiled
    yet is not started with less than ``WARM_STEP_S`` left (numba cannot
    be interrupted), and then neither ``ready()`` nor a solver takes the
    compiled functions; once all are compiled, both do."""
    from pebble_sched.runtime import Deadline

    if not candidate_words.COMPILED:
        pytest.skip("numba is not installed")
    assert candidate_words.warm(Deadline(60))
    assert candidate_words.ready()

    class Cold:  # a function numba has not compiled yet
        signatures = ()

        def __call__(self, *args):
            raise AssertionError("compiled without the time for it")

    monkeypatch.setattr(candidate_words, "_chain_words", Cold())
    assert not candidate_words.ready()
    monkeypatch.setattr(candidate_words, "WARM_STEP_S", 100.0)
    assert candidate_words.warm(Deadline(60)) is False
    solver = dominant._Solver(
        series_parallel(30, seed=1), deadline=Deadline(60)
    )
    solver.load_kernels()
    assert solver._kernels is None
    monkeypatch.undo()
    solver.load_kernels()
    assert solver._kernels is candidate_words


def test_the_arrays_are_loaded_for_large_graphs_with_time_left(monkeypatch):
    """Tests when the solver loads the compiled functions: for graphs of
    ``COMPILED_MIN_NODES``, for smaller ones only once their forks have
    compared ``LAZY_LOAD_WORK`` candidates and items in Python (loading
    costs more than it saves on most), and not under a time limit with
    less than ``COMPILE_S`` left (their first compilation has no deadline
    check) unless an earlier solver of the process compiled them."""
    from pebble_sched.runtime import Deadline

    g = series_parallel(200, seed=1, max_out_degree=4)
    loaded = []
    real = dominant._Solver.load_kernels

    def spy(self):
        loaded.append(self)
        real(self)

    monkeypatch.setattr(dominant._Solver, "load_kernels", spy)
    sp_order(g)
    assert not loaded
    monkeypatch.setattr(dominant, "COMPILED_MIN_NODES", 100)
    sp_order(g)
    want = candidate_words if candidate_words.COMPILED else None
    assert len(loaded) == 1 and loaded[0]._kernels is want
    # a small graph whose forks compare many candidates in Python
    monkeypatch.setattr(dominant, "COMPILED_MIN_NODES", 10**9)
    pk = pumpkin(6, 8, 8, seed=1)
    sp_order(pk, family="full")
    assert len(loaded) == 1
    monkeypatch.setattr(dominant, "LAZY_LOAD_WORK", 100)
    sp_order(pk, family="full")
    assert len(loaded) == 2 and loaded[1]._kernels is want
    hurried = dominant._Solver(g, deadline=Deadline(dominant.COMPILE_S - 1))
    monkeypatch.setattr(candidate_words, "ready", lambda: False)
    monkeypatch.setattr(candidate_words, "cached", lambda: False)
    hurried.load_kernels()
    assert hurried._kernels is None
    if candidate_words.COMPILED:
        # or with numba's cache holding them, read in time
        monkeypatch.setattr(candidate_words, "cached", lambda: True)
        hurried.load_kernels()
        assert hurried._kernels is candidate_words
        short = Deadline(dominant.CACHED_LOAD_S - 0.5)
        rushed = dominant._Solver(g, deadline=short)
        rushed.load_kernels()
        assert rushed._kernels is None
        monkeypatch.setattr(candidate_words, "cached", lambda: False)
        # unless an earlier solver of the process compiled them: at once
        monkeypatch.setattr(candidate_words, "ready", lambda: True)
        hurried.load_kernels()
        assert hurried._kernels is candidate_words
    timed = dominant._Solver(g, deadline=Deadline(dominant.COMPILE_S + 30))
    timed.load_kernels()
    assert timed._kernels is want


@settings(deadline=None, max_examples=200, suppress_health_check=_FIXED)
@given(word_pairs(4, 120), st.booleans())
def test_pareto_pruning_on_arrays_keeps_the_python_items(
    kernels, pairs, same_sum
):
    """Tests the compiled Pareto pruning against the Python one (the same
    items kept, in the same order) on (pre, post) words with final levels
    of one sum or not; at least ``_PARETO_COMPILED_MIN`` items take it."""
    items = pareto_items(pairs, same_sum)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dominant, "_PARETO_COMPILED_MIN", 1)
        mp.setattr(dominant, "_PARETO_BLOCK", 7)  # several blocks
        got = dominant._pareto(items, None, kernels)
    assert [x[0] for x in got] == [x[0] for x in dominant._pareto(items)]


def _same_sum_options(fulls: list) -> list:
    """Every (pre, post) split of each chain, each chain ending at level 5:
    the final levels of pre and post sum to 5, as a fork's partial
    combinations do, so that the pruning groups them by final level."""
    options = []
    for k, full in enumerate(fulls):
        x = 5 - sum(a.net for a in full)
        full = [*full, Atom(max(0, x), x, ("end", k))]
        options += [(full[:c], full[c:]) for c in range(len(full) + 1)]
    return options


def _rows_alone_and_shared(kernels, options, both):
    chains = [pre for pre, _ in options] + [post for _, post in options]
    words = dominant._words_of_chains(chains, kernels)
    sel = np.arange(len(options))
    alone = dominant._pareto_rows(words, sel, None, kernels)
    return alone, dominant._pareto_rows(words, sel, None, kernels, both)


@settings(deadline=None, max_examples=150, suppress_health_check=_FIXED)
@given(st.lists(chains(), min_size=1, max_size=12))
def test_pareto_rows_split_by_groups_keep_the_same_rows(kernels, fulls):
    """Tests the Pareto pruning on arrays with its groups of final levels
    split in two halves (odd and even groups, as two processes do): the
    same rows kept, in the same order, as in one pass."""
    calls = []

    def both(theirs, mine, redo):
        calls.append(1)
        return theirs(), mine()

    alone, split = _rows_alone_and_shared(
        kernels, _same_sum_options(fulls), both
    )
    assert split.tolist() == alone.tolist()


@pytest.mark.parametrize("dies", [False, True])
def test_pareto_rows_in_two_processes(monkeypatch, dies):
    """Tests the Pareto pruning's groups shared with a forked process
    (:meth:`_Solver._both`): the same rows as in one process, also when
    that process dies and its half is done here."""
    import os

    from pebble_sched.graph import Graph
    from pebble_sched.runtime import start_in_child

    if not candidate_words.COMPILED:
        pytest.skip("numba is not installed")
    if not hasattr(os, "fork"):
        pytest.skip("no fork here")
    forked = []

    def start(fn):
        forked.append(1)
        return start_in_child((lambda: os._exit(9)) if dies else fn)

    monkeypatch.setattr(dominant, "start_in_child", start)
    rng = np.random.default_rng(7)
    fulls = []
    for _ in range(60):
        atoms = []
        for k in range(int(rng.integers(1, 8))):
            net = int(rng.integers(-6, 7))
            atoms.append(Atom(max(0, net) + int(rng.integers(0, 7)), net, k))
        fulls.append(canonical(atoms))
    options = _same_sum_options(fulls)
    solver = dominant._Solver(Graph([], []), workers=2)
    alone, split = _rows_alone_and_shared(
        candidate_words, options, solver._both
    )
    assert forked == [1]
    assert split.tolist() == alone.tolist()
    assert 0 < len(alone) < len(options)


def _in_a_process(code: str, **env: str) -> str:
    """The output of ``code`` run in a fresh Python (numba's state and
    cache as a new command's)."""
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


_CHECK = (
    "from pebble_sched.solvers import candidate_words as c\n"
    "from pebble_sched.solvers.dominant import kernels_in_time as k\n"
    "print(c.cached(), k(5.0), k(1.0), k(20.0), c.ready())"
)


def test_a_cold_cache_is_not_read_under_a_short_limit(tmp_path):
    """Tests that with nothing in numba's cache (a compilation of 6-11 s
    ahead) the compiled functions are not loaded under a limit below
    ``COMPILE_S``, and are with more time."""
    if not candidate_words.COMPILED:
        pytest.skip("numba is not installed")
    got = _in_a_process(_CHECK, NUMBA_CACHE_DIR=str(tmp_path))
    assert got == ["False", "False", "False", "True", "False"]


def test_a_warm_cache_is_read_under_a_short_limit():
    """Tests that once a process compiled the functions into numba's
    cache, a new process reads them under a short limit (``CACHED_LOAD_S``
    left), not under a shorter one, before any is loaded."""
    if not candidate_words.COMPILED:
        pytest.skip("numba is not installed")
    warm = "from pebble_sched.solvers import candidate_words as c; c.warm()"
    _in_a_process(warm)  # (reads the cache, or compiles into it)
    got = _in_a_process(_CHECK)
    assert got == ["True", "True", "False", "True", "False"]


_BLAS_CHECK = """
import sys
import numpy as np
from pebble_sched.solvers import candidate_words as c
c.warm()
print("scipy.linalg" in sys.modules)
import numba

@numba.njit
def dot(a, b):
    return np.dot(a, b)

@numba.njit
def conv(a, b):
    return np.convolve(a, b)

a = np.arange(1.0, 6.0)
b = np.arange(2.0, 7.0)
print(dot(a, b) == np.dot(a, b))
print(np.array_equal(conv(a, b), np.convolve(a, b)))
"""


def test_loading_skips_scipy_and_leaves_numba_whole():
    """Tests that reading the compiled functions does not import SciPy's
    linear algebra (numba's BLAS probe, 0.35 s) and that linear algebra
    and convolutions compiled afterwards in the same process still give
    numpy's answers (SciPy imported on demand)."""
    if not candidate_words.COMPILED:
        pytest.skip("numba is not installed")
    pytest.importorskip("scipy.linalg")
    got = _in_a_process(_BLAS_CHECK)
    assert got == ["False", "True", "True"]


@st.composite
def shared_tables(draw):
    """Options drawn from one pool of atoms (options share atoms, as a
    nested branch's do), each sorted by key with its ties in a random
    order, so an option can hold two tied atoms in the other order than
    the one first met."""
    pool = []
    for k in range(draw(st.integers(1, 12))):
        net = draw(st.integers(-2, 2))
        pool.append(Atom(max(0, net) + draw(st.integers(0, 2)), net, k))
    table = []
    for _ in range(draw(st.integers(1, 3))):
        options = []
        for _ in range(draw(st.integers(1, 4))):
            sides = []
            for _ in (0, 1):
                picked = draw(
                    st.lists(st.sampled_from(range(len(pool))), unique=True)
                )
                sides.append(sorted((pool[i] for i in picked), key=_KEY))
            options.append((sides[0], sides[1]))
        table.append(options)
    return table


@settings(deadline=None, max_examples=300, suppress_health_check=_FIXED)
@given(st.one_of(tables().map(lambda x: x[0]), shared_tables()))
def test_prepare_numbers_the_atoms_by_key_and_first_meeting(table):
    """Tests :func:`prepare`'s columns against their definition: every
    distinct atom of a side once, sorted by key, ties in the order first
    met (:func:`key_columns`); each option's columns sorted, and in its
    chain's order for the merges that build atoms."""
    cols = candidate_words.prepare(table, 0)
    for side in (0, 1):
        rank, atoms = key_columns(table, side)
        assert [id(x) for x in cols.atoms[side]] == [id(x) for x in atoms]
        assert cols.hill[side].tolist() == [x.hill for x in atoms]
        assert cols.net[side].tolist() == [x.net for x in atoms]
        chain, flat, ptr = [], [], [0]
        for options in table:
            for option in options:
                mine = [rank[id(x)] for x in option[side]]
                chain += mine
                flat += sorted(mine)
                ptr.append(len(flat))
        assert cols.idx[side].tolist() == flat
        assert cols.ptr[side].tolist() == ptr
        assert candidate_words._in_chain_order(cols)[side].tolist() == chain
