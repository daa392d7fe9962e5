"""Peaks and words of a fork's candidates on arrays, compiled by numba.

The SP solver (:mod:`pebble_sched.solvers.dominant`) decides a fork by
comparing candidates: one option per branch, each option a pre-release and
a post-release chain of atoms. A candidate's schedule is the merge of its
options' chains by preference key on each side, with the release between
them; its peak decides which candidates are compared, and their words
(Lemma 3) which one is kept. At 10^5 nodes that is 660,000 words and
900,000 peaks, two thirds of the solver's time when every atom is a Python
object.

Here every atom of every option is a *column*, numbered in key order on
its side (:func:`prepare`), and an option is the sorted list of its
columns. A candidate's merged chain is then the merge of a few sorted
integer lists, walked once for its peak (:func:`peaks`) or, joined with
the release by Lemma 2's merges as :func:`~.profiles.joined_word` does,
for its reduced word (:func:`words`); :func:`choose` finds the word that
dominates the others, comparing equal words once. The candidates a fork
keeps are merged here too (:func:`merged_columns`: their chains as
columns, turned into atoms by the solver), and a nested branch's
post-release chains joined to w1 and its rest (:func:`join_tails`).

Lemma 3's test walks a grid of a word a against a word b (cell (i, k)
allowed when ``a[i] <= b[k]``). Up to ``BITS_MAX`` values of b a row of
the grid is a mask of 64-bit words: b's values are sorted once, the
allowed cells of a value are then a mask looked up by binary search, and
a row's reachable cells come from the row above by a few operations on
the masks (the fill to the right along allowed cells is one addition,
its carry passed from each word to the next). The masks of b are kept
while b stays the same (the Pareto pruning tests the kept items against
one new item at a time).

Atoms of equal keys are ordered by column number, which may differ from
the Python merge (stable, by branch), and then so may the word. Swapping
two adjacent atoms of equal preference keeps the peak and gives a word
that dominates the other both ways (the exchange lemma of docs/theory.md
in both directions), and Lemma 2's merges keep that. So the chosen
candidate dominates the same candidates as the one the Python path
chooses; the two can differ only among equivalent ones. The chains that
are built from columns (:func:`merged_columns`) keep each option's own
order among atoms of equal keys, since one of them may depend on another.

Compiled with numba when it is installed (the ``fast`` extra); the same
functions run as plain Python without it, far too slowly for the solver,
which then keeps its own Python path (:data:`COMPILED`). Tests run both.
"""

from __future__ import annotations

import contextlib
import itertools
import sys

import numpy as np

from ..constants import INT64_SAFE
from ..runtime import import_optional, signals_deferred
from .profiles import _KEY

# an optional accelerator: None when it is not installed or is broken (an
# import cut short by Ctrl-C is undone by import_optional, and raises)
numba = import_optional("numba")

__all__ = [
    "COMPILED",
    "Columns",
    "cached",
    "chain_words",
    "choose",
    "join_tails",
    "merged_columns",
    "pack",
    "pareto_steps",
    "peaks",
    "prepare",
    "ready",
    "side_words",
    "skip_blas_probe",
    "warm",
    "words",
]

COMPILED = numba is not None
"""Whether the functions below are compiled (numba is installed)."""


def _jit(fn):
    if numba is None:  # pragma: no cover - depends on the environment
        return fn
    return numba.njit(cache=True, nogil=True)(fn)


class Columns:
    """A fork's options as sorted column lists, per side (0: before the
    release, 1: after it): ``hill[s]``, ``net[s]`` per column in key order,
    ``idx[s][ptr[s][o]:ptr[s][o + 1]]`` the columns of option ``o`` (all
    branches' options numbered together, branch b's from ``base[b]``)."""

    __slots__ = (
        "at",
        "atoms",
        "base",
        "chain",
        "hill",
        "idx",
        "net",
        "ptr",
        "sizes",
        "table",
    )

    def __init__(self, base, hill, net, idx, ptr, atoms=None) -> None:
        self.base, self.hill, self.net, self.idx, self.ptr = (
            base,
            hill,
            net,
            idx,
            ptr,
        )
        # the atoms of the columns, per side (to build merged chains)
        self.atoms: list[list] = atoms or [[], []]
        # hills and nets by position in idx (pre, then post), once needed
        self.at: tuple | None = None
        # atoms per option, both sides
        self.sizes = np.diff(ptr[0]) + np.diff(ptr[1])
        # the options and each side's column of each atom (by id), and
        # their columns in chain order once needed (_in_chain_order)
        self.table: list = []
        self.chain: tuple | None = None

    def arrays(self) -> tuple[np.ndarray, ...]:
        """What the compiled functions take: ``base``, then ``ptr``,
        ``idx``, ``hill`` and ``net`` of each side."""
        return (
            self.base,
            *(
                a[s]
                for s in (0, 1)
                for a in (self.ptr, self.idx, self.hill, self.net)
            ),
        )


def prepare(table: list[list], release: int) -> Columns | None:
    """The :class:`Columns` of ``table`` (per branch, its options as
    ``(pre, post)`` chains of atoms); None where a level could leave int64
    (the caller keeps Python integers).

    The columns of a side are its distinct atoms (by identity; options
    share them) sorted by :func:`~.profiles.preference`, ties in the order
    first met, as :func:`~.profiles.key_columns` gives them. Only the
    distinct atoms are read in Python; every reference to one becomes its
    column on arrays."""
    sizes = [len(options) for options in table]
    count = sum(sizes)
    base = np.zeros(len(table), dtype=np.int64)
    if len(table) > 1:
        base[1:] = np.cumsum(sizes)[:-1]
    hills, nets, idxs, ptrs, atoms, chains = [], [], [], [], [], []
    bound = abs(release)
    for side in (0, 1):
        got = _side_columns(table, side, count)
        if got is None:
            return None
        ordered, hill, net, flat, chain, ptr = got
        if len(net):
            bound += _abs_sum(net) + max(int(hill.max()), 0)
        if bound >= INT64_SAFE:
            return None
        atoms.append(ordered)
        hills.append(hill)
        nets.append(net)
        idxs.append(flat)
        ptrs.append(ptr)
        chains.append(chain)
    cols = Columns(base, hills, nets, idxs, ptrs, atoms)
    cols.table = table
    cols.chain = (chains[0], chains[1])
    return cols


def _abs_sum(values: np.ndarray) -> int:
    """The sum of the absolute values, exact (no int64 wrap-around)."""
    top = int(np.abs(values).max())
    if top * len(values) < INT64_SAFE:
        return int(np.abs(values).sum())
    return sum(abs(v) for v in values.tolist())


def _side_columns(table: list[list], side: int, count: int) -> tuple | None:
    """One side of :func:`prepare`: ``(atoms, hill, net, idx, chain,
    ptr)``, the columns' atoms, hills and nets, each option's columns
    sorted (``idx``) and in its chain's order (``chain``), and where each
    option starts in both; None past int64."""
    refs = list(
        itertools.chain.from_iterable(
            option[side] for options in table for option in options
        )
    )
    ptr = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(
        np.fromiter(
            (len(option[side]) for options in table for option in options),
            dtype=np.int64,
            count=count,
        ),
        out=ptr[1:],
    )
    ids = np.fromiter(map(id, refs), dtype=np.int64, count=len(refs))
    _ids, first, inverse = np.unique(
        ids, return_index=True, return_inverse=True
    )
    met = np.argsort(first)  # the distinct atoms in the order first met
    distinct = [refs[k] for k in first[met].tolist()]
    ordered = sorted(distinct, key=_KEY)  # (stable: ties as first met)
    m = len(ordered)
    try:
        hill = np.fromiter((x.hill for x in ordered), dtype=np.int64, count=m)
        net = np.fromiter((x.net for x in ordered), dtype=np.int64, count=m)
    except OverflowError:
        return None
    at = {id(x): k for k, x in enumerate(ordered)}
    of_distinct = np.empty(m, dtype=np.int64)  # the column of np.unique's k-th
    of_distinct[met] = np.fromiter(
        (at[id(x)] for x in distinct), dtype=np.int64, count=m
    )
    chain = of_distinct[inverse.ravel()]
    flat = chain
    # chains are sorted by key, so only atoms of equal keys can be out of
    # column order inside an option: sort those options' columns
    down = np.flatnonzero(chain[1:] < chain[:-1])
    if len(down):
        inside = np.searchsorted(ptr, down, side="right") == np.searchsorted(
            ptr, down + 1, side="right"
        )
        if inside.any():
            option = np.repeat(np.arange(count), np.diff(ptr))
            flat = chain[np.lexsort((chain, option))]
    return ordered, hill, net, flat, chain, ptr


def _in_chain_order(c: Columns) -> tuple[np.ndarray, np.ndarray]:
    """Each option's columns in its chain's order, per side (``idx`` in
    :class:`Columns` is sorted by column, the order of the merges for
    peaks and words). Atoms of equal keys get their columns in the order
    first met, maybe in another chain, and one may depend on the other: a
    merged chain built by columns ran node 80 before its predecessor 77.
    The chains are sorted by key (canonical), so merging these lists by
    column still goes in key order. (Kept by :func:`prepare`.)"""
    assert c.chain is not None
    return c.chain


@_jit
def _push(word, n, x):
    """Append ``x`` to ``word[:n]`` as :func:`~.profiles.reduce_word`
    would; the new length."""
    if n:
        last = word[n - 1]
        if x == last:
            return n
        if n >= 2:
            before = word[n - 2]
            if (before < last and last < x) or (before > last and last > x):
                word[n - 1] = x
                return n
    word[n] = x
    return n + 1


@_jit
def _merge_room(d):
    """``(g, heads, ends)`` for merging the options of ``d`` branches."""
    return (
        np.empty(d, dtype=np.int64),
        np.empty(d, dtype=np.int64),
        np.empty(d, dtype=np.int64),
    )


@_jit
def _options_of(g, base, rows, r):
    """Row ``r``'s options, numbered together (``base``), into ``g``."""
    for b in range(len(g)):
        g[b] = base[b] + rows[r, b]


@_jit
def _start(g, ptr, heads, ends):
    """Start the merge of the options ``g`` (one per branch) on a side."""
    for b in range(len(g)):
        heads[b] = ptr[g[b]]
        ends[b] = ptr[g[b] + 1]


@_jit
def _next_at(idx, heads, ends):
    """The position in ``idx`` of the merge's next column (the least at
    the head of a list), or -1."""
    best = -1
    col = 0
    for b in range(len(heads)):
        if heads[b] < ends[b]:
            c = idx[heads[b]]
            if best < 0 or c < col:
                best = b
                col = c
    if best < 0:
        return -1
    heads[best] += 1
    return heads[best] - 1


@_jit
def _walk(g, ptr, idx, hill, net, level, peak, heads, ends):
    """Walk the merge of the options ``g`` (one per branch) on one side
    from ``level``: ``(level, peak)`` after it. ``hill`` and ``net`` are
    by position in ``idx`` (read in order, not gathered by column)."""
    if len(g) == 2:  # (most forks: two lists merged without the heads)
        i, i_end = ptr[g[0]], ptr[g[0] + 1]
        j, j_end = ptr[g[1]], ptr[g[1] + 1]
        while i < i_end or j < j_end:
            if j == j_end or (i < i_end and idx[i] < idx[j]):
                at = i
                i += 1
            else:
                at = j
                j += 1
            top = level + hill[at]
            if top > peak:
                peak = top
            level += net[at]
        return level, peak
    _start(g, ptr, heads, ends)
    while True:
        at = _next_at(idx, heads, ends)
        if at < 0:
            return level, peak
        top = level + hill[at]
        if top > peak:
            peak = top
        level += net[at]


@_jit
def _peaks(rows, base, p0, i0, h0, n0, p1, i1, h1, n1, release):
    m, d = rows.shape
    out = np.empty(m, dtype=np.int64)
    g, heads, ends = _merge_room(d)
    for r in range(m):
        _options_of(g, base, rows, r)
        level, peak = _walk(g, p0, i0, h0, n0, 0, 0, heads, ends)
        level += release
        level, peak = _walk(g, p1, i1, h1, n1, level, peak, heads, ends)
        out[r] = peak
    return out


def peaks(c: Columns, rows: np.ndarray, release: int) -> np.ndarray:
    """The peak of each candidate ``rows[k]`` (an option index per
    branch): its pre-release merge, a step of net ``release``, its
    post-release merge."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    if c.at is None:  # hills and nets by position, for _walk
        c.at = tuple(a[s][c.idx[s]] for s in (0, 1) for a in (c.hill, c.net))
    h0, n0, h1, n1 = c.at
    p0, i0, p1, i1 = c.ptr[0], c.idx[0], c.ptr[1], c.idx[1]
    return _peaks(rows, c.base, p0, i0, h0, n0, p1, i1, h1, n1, release)


@_jit
def _collect(g, ptr, idx, hill, net, out_h, out_n, heads, ends):
    """The merged chain of the options ``g`` on one side, into ``out_h``
    and ``out_n``; its length."""
    _start(g, ptr, heads, ends)
    n = 0
    while True:
        at = _next_at(idx, heads, ends)
        if at < 0:
            return n
        col = idx[at]
        out_h[n] = hill[col]
        out_n[n] = net[col]
        n += 1


@_jit
def _before(h0, n0, h1, n1):
    """Whether atom 0's preference key is below atom 1's (Lemma 1: the
    key of :func:`~.profiles.preference`)."""
    c0 = 0 if n0 < 0 else 1 if n0 == 0 else 2
    c1 = 0 if n1 < 0 else 1 if n1 == 0 else 2
    if c0 != c1:
        return c0 < c1
    if c0 == 0:
        return h0 < h1
    return c0 == 2 and n0 - h0 < n1 - h1


@_jit
def _join_stack(ph, pn, npre, mh, mn, qh, qn, nq, sh, sn, slo):
    """Lemma 2's merges of :func:`~.profiles.join` (head, (m,), tail) on
    hills and nets: head ``ph``, ``pn`` (``npre`` atoms), the atom m of
    ``mh``, ``mn``, tail ``qh``, ``qn`` (``nq`` atoms). Returns ``(cut,
    sp, rest)``: the joined chain is the head's first ``cut`` atoms, the
    ``sp`` atoms of the stack ``sh``, ``sn`` (atom e the merge of the
    atoms ``slo[e]`` to ``slo[e + 1]`` of head, m, tail, the last one up
    to ``npre + 1 + rest``), then the tail from ``rest``."""
    cut = npre
    sp = 0
    rest = nq
    for t in range(nq + 1):
        if t == 0:
            h, nt = mh, mn
        else:
            h, nt = qh[t - 1], qn[t - 1]
        lo = npre + t
        merged = False
        while True:
            if sp:
                h0, n0, l0 = sh[sp - 1], sn[sp - 1], slo[sp - 1]
            elif cut:
                h0, n0, l0 = ph[cut - 1], pn[cut - 1], cut - 1
            else:
                break
            if not _before(h, nt, h0, n0):
                break
            if sp:
                sp -= 1
            else:
                cut -= 1
            h, nt, lo = max(h0, n0 + h), n0 + nt, l0
            merged = True
        sh[sp] = h
        sn[sp] = nt
        slo[sp] = lo
        sp += 1
        if t and not merged:
            rest = t
            break
    return cut, sp, rest


@_jit
def _joined(ph, pn, npre, release, qh, qn, npost, sh, sn, slo, word):
    """The reduced word of the pre-release chain, the release and the
    post-release chain joined with Lemma 2's merges, as
    :func:`~.profiles.joined_word` (:func:`_join_stack`, the release an
    atom of hill 0); its length."""
    cut, sp, rest = _join_stack(
        ph, pn, npre, 0, release, qh, qn, npost, sh, sn, slo
    )
    word[0] = 0
    n = 1
    level = 0
    for i in range(cut):
        n = _push(word, n, level + ph[i])
        level += pn[i]
        n = _push(word, n, level)
    for i in range(sp):
        n = _push(word, n, level + sh[i])
        level += sn[i]
        n = _push(word, n, level)
    for i in range(rest, npost):
        n = _push(word, n, level + qh[i])
        level += qn[i]
        n = _push(word, n, level)
    return n


@_jit
def _words(rows, starts, base, p0, i0, h0, n0, p1, i1, h1, n1, release):
    m, d = rows.shape
    flat = np.empty(starts[m], dtype=np.int64)
    lens = np.empty(m, dtype=np.int64)
    g, heads, ends = _merge_room(d)
    width = 1
    for r in range(m):
        width = max(width, starts[r + 1] - starts[r])
    ph = np.empty(width, dtype=np.int64)
    pn = np.empty(width, dtype=np.int64)
    qh = np.empty(width, dtype=np.int64)
    qn = np.empty(width, dtype=np.int64)
    sh = np.empty(width, dtype=np.int64)
    sn = np.empty(width, dtype=np.int64)
    slo = np.empty(width, dtype=np.int64)
    for r in range(m):
        _options_of(g, base, rows, r)
        npre = _collect(g, p0, i0, h0, n0, ph, pn, heads, ends)
        npost = _collect(g, p1, i1, h1, n1, qh, qn, heads, ends)
        word = flat[starts[r] : starts[r + 1]]
        lens[r] = _joined(
            ph, pn, npre, release, qh, qn, npost, sh, sn, slo, word
        )
    return flat, lens


def words(
    c: Columns, rows: np.ndarray, release: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(flat, starts, lens)``: the reduced word of each candidate
    ``rows[k]`` is ``flat[starts[k]:starts[k] + lens[k]]``."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    atoms = c.sizes[c.base[None, :] + rows].sum(axis=1)
    starts = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(2 * atoms + 3, out=starts[1:])
    flat, lens = _words(rows, starts, *c.arrays(), release)
    return flat, starts[:-1], lens


@_jit
def _merge_rows(rows, base, p0, i0, p1, i1, s0, s1, out0, out1):
    m, d = rows.shape
    g, heads, ends = _merge_room(d)
    for r in range(m):
        _options_of(g, base, rows, r)
        _merge_side(g, p0, i0, out0, s0[r], heads, ends)
        _merge_side(g, p1, i1, out1, s1[r], heads, ends)


@_jit
def _merge_side(g, ptr, idx, out, n, heads, ends):
    """The columns of the merge of the options ``g`` on a side, into
    ``out`` from ``n``."""
    _start(g, ptr, heads, ends)
    while True:
        at = _next_at(idx, heads, ends)
        if at < 0:
            return
        col = idx[at]
        out[n] = col
        n += 1


def merged_columns(c: Columns, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """The merged chains of the candidates ``rows[k]`` (an option index
    per branch) as their columns in key order, each option's chain order
    kept among equal keys (:func:`_in_chain_order`): ``(flat0, starts0,
    flat1, starts1)``, candidate ``k``'s pre-release chain the columns
    ``flat0[starts0[k]:starts0[k + 1]]`` of side 0, its post-release one
    likewise on side 1."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    m, d = rows.shape
    g = c.base[None, :d] + rows
    starts = []
    for s in (0, 1):
        st = np.zeros(m + 1, dtype=np.int64)
        np.cumsum(np.diff(c.ptr[s])[g].sum(axis=1), out=st[1:])
        starts.append(st)
    flat0 = np.empty(starts[0][m], dtype=np.int64)
    flat1 = np.empty(starts[1][m], dtype=np.int64)
    chain0, chain1 = _in_chain_order(c)
    _merge_rows(
        rows,
        c.base,
        c.ptr[0],
        chain0,
        c.ptr[1],
        chain1,
        *starts,
        flat0,
        flat1,
    )
    return flat0, starts[0], flat1, starts[1]


@_jit
def _join_tails(flat, starts, hill, net, wh, wn, rh, rn, room):
    m = len(starts) - 1
    nrest = len(rh)
    width = 1
    for r in range(m):
        width = max(width, starts[r + 1] - starts[r])
    ph = np.empty(width, dtype=np.int64)
    pn = np.empty(width, dtype=np.int64)
    sh = np.empty(width + nrest + 1, dtype=np.int64)
    sn = np.empty(width + nrest + 1, dtype=np.int64)
    slo = np.empty(width + nrest + 1, dtype=np.int64)
    cuts = np.empty(m, dtype=np.int64)
    rests = np.empty(m, dtype=np.int64)
    es = np.empty(m + 1, dtype=np.int64)
    lo = np.empty(room, dtype=np.int64)
    hi = np.empty(room, dtype=np.int64)
    eh = np.empty(room, dtype=np.int64)
    en = np.empty(room, dtype=np.int64)
    es[0] = 0
    for r in range(m):
        npost = starts[r + 1] - starts[r]
        for i in range(npost):
            col = flat[starts[r] + i]
            ph[i] = hill[col]
            pn[i] = net[col]
        cut, sp, rest = _join_stack(
            ph, pn, npost, wh, wn, rh, rn, nrest, sh, sn, slo
        )
        e0 = es[r]
        for e in range(sp):
            lo[e0 + e] = slo[e]
            hi[e0 + e] = slo[e + 1] if e + 1 < sp else npost + 1 + rest
            eh[e0 + e] = sh[e]
            en[e0 + e] = sn[e]
        cuts[r] = cut
        rests[r] = rest
        es[r + 1] = e0 + sp
    k = es[m]
    return cuts, rests, es, lo[:k], hi[:k], eh[:k], en[:k]


def join_tails(
    c: Columns,
    flat: np.ndarray,
    starts: np.ndarray,
    middle: tuple[int, int],
    rest: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, ...]:
    """Lemma 2's merges of :func:`~.profiles.join` (post, (w,), rest) for
    the post-release chains of :func:`merged_columns` (``flat``,
    ``starts``), ``w`` of (hill, net) ``middle``, ``rest`` as its atoms'
    hills and nets. Chain ``k`` joined is its first ``cuts[k]`` atoms,
    then the atoms ``es[k]`` to ``es[k + 1]`` of ``(lo, hi, hill, net)``,
    each the atoms ``lo`` to ``hi`` of (post, w, rest) merged, then the
    rest from ``rests[k]``: ``(cuts, rests, es, lo, hi, hill, net)``. The
    caller keeps the levels within int64."""
    room = int(starts[-1] - starts[0]) + (len(starts) - 1) * (1 + len(rest[0]))
    return _join_tails(flat, starts, c.hill[1], c.net[1], *middle, *rest, room)


@_jit
def _step(word, n, level, top, low, hill, net):
    """An atom of ``hill`` and ``net`` at ``level`` pushed onto the word
    ``word[:n]`` of highest value ``top`` and lowest ``low``: the new
    ``(n, level, top, low)``."""
    x = level + hill
    n = _push(word, n, x)
    level += net
    n = _push(word, n, level)
    return n, level, max(top, x, level), min(low, x, level)


@_jit
def _side(g, ptr, idx, hill, net, word, heads, ends):
    """The reduced word, from level 0, of the merge of the options ``g``
    on one side, into ``word``: ``(length, highest, lowest)``."""
    _start(g, ptr, heads, ends)
    word[0] = 0
    n = 1
    level = top = low = 0
    while True:
        at = _next_at(idx, heads, ends)
        if at < 0:
            return n, top, low
        col = idx[at]
        n, level, top, low = _step(
            word, n, level, top, low, hill[col], net[col]
        )


@_jit
def _side_words(rows, s0, s1, base, p0, i0, h0, n0, p1, i1, h1, n1):
    m, d = rows.shape
    flat = np.empty(s1[m], dtype=np.int64)  # (s1 starts past s0's end)
    out = np.empty((m, 6), dtype=np.int64)
    g, heads, ends = _merge_room(d)
    for r in range(m):
        _options_of(g, base, rows, r)
        n, top, low = _side(
            g, p0, i0, h0, n0, flat[s0[r] : s0[r + 1]], heads, ends
        )
        out[r, 0], out[r, 1], out[r, 2] = n, top, low
        n, top, low = _side(
            g, p1, i1, h1, n1, flat[s1[r] : s1[r + 1]], heads, ends
        )
        out[r, 3], out[r, 4], out[r, 5] = n, top, low
    return flat, out


def side_words(c: Columns, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """The words of each row's merged pre-release and post-release chains
    apart, each from level 0 (as ``_coarse_word`` of the SP solver on the
    merged chains: one step per atom, no merges), the rows giving an option
    of the first ``rows.shape[1]`` branches.

    Returns ``(flat, starts, lens, top, low, end)``, each for the pre words
    then the post words (``2 * len(rows)`` entries, word ``k`` is
    ``flat[starts[k]:starts[k] + lens[k]]``, its highest value ``top[k]``,
    its lowest ``low[k]``, its last ``end[k]``)."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    m, d = rows.shape
    g = c.base[None, :d] + rows
    sizes = np.concatenate(
        [2 * np.diff(c.ptr[s])[g].sum(axis=1) + 1 for s in (0, 1)]
    )
    starts = np.zeros(2 * m + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    flat, out = _side_words(rows, starts[: m + 1], starts[m:], *c.arrays())
    first = starts[:-1]
    lens = np.concatenate([out[:, 0], out[:, 3]])
    end = flat[first + lens - 1]
    top = np.concatenate([out[:, 1], out[:, 4]])
    low = np.concatenate([out[:, 2], out[:, 5]])
    return flat, first, lens, top, low, end


@_jit
def _chain_words(hill, net, ptr, starts):
    m = len(ptr) - 1
    flat = np.empty(starts[m], dtype=np.int64)
    out = np.empty((m, 3), dtype=np.int64)
    for c in range(m):
        word = flat[starts[c] : starts[c + 1]]
        word[0] = 0
        n = 1
        level = top = low = 0
        for i in range(ptr[c], ptr[c + 1]):
            n, level, top, low = _step(
                word, n, level, top, low, hill[i], net[i]
            )
        out[c, 0], out[c, 1], out[c, 2] = n, top, low
    return flat, out


def chain_words(
    hill: np.ndarray, net: np.ndarray, ptr: np.ndarray
) -> tuple[np.ndarray, ...]:
    """The words, each from level 0, of chains given as their atoms'
    ``hill`` and ``net`` (chain ``c``: atoms ``ptr[c]`` to ``ptr[c + 1]``),
    as ``_coarse_word`` of the SP solver builds them: ``(flat, starts,
    lens, top, low, end)`` as :func:`side_words` returns. The caller
    keeps the levels within int64."""
    starts = np.zeros(len(ptr), dtype=np.int64)
    np.cumsum(2 * np.diff(ptr) + 1, out=starts[1:])
    flat, out = _chain_words(hill, net, ptr, starts)
    first = starts[:-1]
    lens = out[:, 0]
    return flat, first, lens, out[:, 1], out[:, 2], flat[first + lens - 1]


@_jit
def _masks(flat, sb, lb, vals, masks):
    """For ``b = flat[sb:sb + lb]``: its values sorted into ``vals[:lb]``,
    and as masks of 64-bit words (``masks[t]``, bit ``k % 64`` of word
    ``k // 64``) the positions of its values from the t-th smallest up,
    so the positions ``k`` with ``b[k] >= x`` are those of t = the number
    of values below x."""
    pos = np.empty(lb, dtype=np.int64)
    for k in range(lb):  # insertion sort: short words, mostly runs
        x = flat[sb + k]
        t = k
        while t > 0 and vals[t - 1] > x:
            vals[t] = vals[t - 1]
            pos[t] = pos[t - 1]
            t -= 1
        vals[t] = x
        pos[t] = k
    nw = max(2, (lb + 63) // 64)
    one = np.uint64(1)
    for w in range(nw):
        masks[lb, w] = np.uint64(0)
    for t in range(lb - 1, -1, -1):
        for w in range(nw):
            masks[t, w] = masks[t + 1, w]
        k = pos[t]
        masks[t, k // 64] |= one << np.uint64(k % 64)


@_jit
def _below(vals, n, x):
    """How many of the sorted ``vals[:n]`` are below ``x``."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) // 2
        if vals[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@_jit
def _fill2(c0, c1, s0, s1):
    """:func:`_fill` on two words, as scalars."""
    t0 = c0 + s0
    carry = np.uint64(1) if t0 < c0 else np.uint64(0)
    t1 = c1 + s1 + carry
    return (c0 & ~t0) | s0, (c1 & ~t1) | s1


@_jit
def _fill(c, seeds, row, nw):
    """Cells reachable along a row: from each seed to the right through
    its run of allowed cells ``c``, as ``(c & ~(c + seeds)) | seeds`` on
    numbers of ``nw`` 64-bit words (the carry passed from each word to
    the next), into ``row``."""
    carry = np.uint64(0)
    for w in range(nw):
        t = c[w] + seeds[w]
        over = t < c[w]
        t2 = t + carry
        carry = np.uint64(1) if (over or t2 < t) else np.uint64(0)
        row[w] = (c[w] & ~t2) | seeds[w]


BITS_MAX = 4096
"""Lemma 3's test runs on bits (:func:`_dominates_on_bits`) for words b
of up to this many values (its masks then take at most 2 MB); the grid
is walked cell by cell beyond."""


@_jit
def _table(width):
    """Room for one word's masks (:func:`_masks`) in :func:`_dominates`:
    ``(vals, masks, key, work)``, ``key[0]`` the start of the word they
    are of (-1: none yet), ``work`` two rows of bits."""
    width = min(width, BITS_MAX)
    nw = max(2, (width + 63) // 64)
    return (
        np.empty(width + 1, dtype=np.int64),
        np.empty((width + 1, nw), dtype=np.uint64),
        np.full(1, -1, dtype=np.int64),
        np.empty((2, nw), dtype=np.uint64),
    )


@_jit
def _dominates_on_bits(flat, sa, la, sb, lb, vals, masks, key, work):
    """The grid of :func:`_dominates` (``b`` at most ``BITS_MAX`` long) a
    row at a time on bits, as :func:`~.profiles.dominated_by` does: bit
    ``k`` of a row says (i, k) is reachable; a row's seeds are the
    allowed cells below a reachable one or right of it diagonally, and
    the fill runs from them to the right through allowed cells. b's masks
    are built into the table (``vals``, ``masks``) unless ``key[0]`` says
    they are there already (a word is known by its start ``sb``)."""
    one = np.uint64(1)
    top = np.uint64(63)
    if key[0] != sb:
        _masks(flat, sb, lb, vals, masks)
        key[0] = sb
    if lb <= 128:  # (two words as scalars: a quarter faster)
        t = _below(vals, lb, flat[sa])
        r0, r1 = _fill2(masks[t, 0], masks[t, 1], one, np.uint64(0))
        for i in range(1, la):
            t = _below(vals, lb, flat[sa + i])
            c0, c1 = masks[t, 0], masks[t, 1]
            s0 = c0 & (r0 | (r0 << one))
            s1 = c1 & (r1 | (r1 << one) | (r0 >> top))
            if s0 == 0 and s1 == 0:
                return False
            r0, r1 = _fill2(c0, c1, s0, s1)
        if lb <= 64:
            return (r0 >> np.uint64(lb - 1)) & one == one
        return (r1 >> np.uint64(lb - 65)) & one == one
    nw = (lb + 63) // 64
    row = work[0]
    seeds = work[1]
    for w in range(nw):
        seeds[w] = np.uint64(0)
    seeds[0] = one
    _fill(masks[_below(vals, lb, flat[sa])], seeds, row, nw)
    for i in range(1, la):
        c = masks[_below(vals, lb, flat[sa + i])]
        below = np.uint64(0)  # the bit carried out of the word below
        any_ = False
        for w in range(nw):
            r = row[w]
            seeds[w] = c[w] & (r | (r << one) | below)
            below = r >> top
            any_ = any_ or seeds[w] != 0
        if not any_:
            return False
        _fill(c, seeds, row, nw)
    last = lb - 1
    return (row[last // 64] >> np.uint64(last % 64)) & one == one


@_jit
def _dominates(flat, sa, la, sb, lb, prev, cur, tab):
    """Lemma 3 on ``a = flat[sa:sa + la]`` and ``b = flat[sb:sb + lb]``,
    as :func:`~.profiles.dominates` (``prev`` and ``cur``: rows of the
    grid, at least ``lb`` long; ``tab``: a :func:`_table` as long, which
    keeps b's masks for the next call with the same b)."""
    if la == 0 or lb == 0:
        return la == 0 and lb == 0
    if flat[sa] > flat[sb] or flat[sa + la - 1] > flat[sb + lb - 1]:
        return False
    top = flat[sb]
    j = 0
    for k in range(1, lb):
        if flat[sb + k] > top:
            top = flat[sb + k]
            j = k
    for k in range(la):
        if flat[sa + k] > top:
            return False
    if la == lb:
        same = True
        for k in range(la):
            if flat[sa + k] != flat[sb + k]:
                same = False
                break
        if same:
            return True
    # sufficient: a waits at its start while b climbs to its peak, runs
    # there, then waits at its end
    low = flat[sb]
    for k in range(j + 1):
        low = min(low, flat[sb + k])
    if low >= flat[sa]:
        low = flat[sb + j]
        for k in range(j, lb):
            low = min(low, flat[sb + k])
        if low >= flat[sa + la - 1]:
            return True
    if lb <= BITS_MAX:
        return _dominates_on_bits(flat, sa, la, sb, lb, *tab)
    # the grid, row by row: (i, k) reachable from (i-1, k), (i-1, k-1) or
    # (i, k-1), through cells with a[i] <= b[k]
    x = flat[sa]
    ok = x <= flat[sb]
    prev[0] = ok
    for k in range(1, lb):
        ok = ok and x <= flat[sb + k]
        prev[k] = ok
    for i in range(1, la):
        x = flat[sa + i]
        any_ = False
        for k in range(lb):
            if x > flat[sb + k]:
                cur[k] = False
                continue
            r = prev[k] or (k > 0 and (prev[k - 1] or cur[k - 1]))
            cur[k] = r
            any_ = any_ or r
        if not any_:
            return False
        for k in range(lb):
            prev[k] = cur[k]
    return prev[lb - 1]


@_jit
def _choose(flat, starts, lens):
    m = len(starts)
    width = 1
    for k in range(m):
        width = max(width, lens[k])
    prev = np.zeros(width, dtype=np.bool_)
    cur = np.zeros(width, dtype=np.bool_)
    tab = _table(width)
    best = 0
    for k in range(1, m):
        if _dominates(
            flat, starts[k], lens[k], starts[best], lens[best], prev, cur, tab
        ):
            best = k
    for k in range(m):
        if k != best and not _dominates(
            flat, starts[best], lens[best], starts[k], lens[k], prev, cur, tab
        ):
            return best, False
    return best, True


@_jit
def _hashes(flat, starts, lens):
    # two polynomial hashes modulo primes below 2**31 (no overflow in
    # int64, compiled or not), as one number
    p, q = 2147483647, 2147483629
    out = np.empty(len(starts), dtype=np.int64)
    for k in range(len(starts)):
        h = g = lens[k]
        for i in range(starts[k], starts[k] + lens[k]):
            h = (h * 1000003 + flat[i] % p) % p
            g = (g * 999983 + flat[i] % q) % q
        out[k] = h * 2147483648 + g
    return out


@_jit
def _same(flat, starts, lens, rep):
    """Whether each word equals the word ``rep[k]``."""
    out = np.empty(len(starts), dtype=np.bool_)
    for k in range(len(starts)):
        j = rep[k]
        same = lens[k] == lens[j]
        i = 0
        while same and i < lens[k]:
            same = flat[starts[k] + i] == flat[starts[j] + i]
            i += 1
        out[k] = same
    return out


def choose(
    flat: np.ndarray, starts: np.ndarray, lens: np.ndarray
) -> tuple[int, bool]:
    """``(k, all)``: the index of a word that dominates all the others
    when one does (one pass: each word that dominates the best so far
    replaces it, as in the solver's Python path), and whether it does.
    Equal words are compared once (found by a hash, then checked value
    by value: a word whose hash collides with another's is kept)."""
    if not len(starts):
        raise ValueError("no words")
    # each word's first word of equal hash (sorted, not np.unique: hashed
    # in numpy 2.4, it was 5 times slower)
    hashes = _hashes(flat, starts, lens)
    by_hash = np.argsort(hashes, kind="stable")
    ordered = hashes[by_hash]
    new = np.ones(len(ordered), dtype=np.bool_)
    new[1:] = ordered[1:] != ordered[:-1]
    rep = np.empty(len(hashes), dtype=np.int64)
    rep[by_hash] = by_hash[new][np.cumsum(new) - 1]
    keep = np.flatnonzero(
        (rep == np.arange(len(rep))) | ~_same(flat, starts, lens, rep)
    )
    k, every = _choose(flat, starts[keep], lens[keep])
    return int(keep[k]), bool(every)


@_jit
def _beats(words, x, y, rows, tables):
    """Whether item ``x``'s pre and post words dominate item ``y``'s
    (``words``: flat, starts, lens, pre, post; ``rows``: two grid rows;
    ``tables``: those of :func:`_dominates` for y's pre and post words)."""
    flat, starts, lens, pre, post = words
    row_a, row_b = rows
    t_pre, t_post = tables
    return _dominates(
        flat, starts[pre[x]], lens[pre[x]], starts[pre[y]], lens[pre[y]],
        row_a, row_b, t_pre,
    ) and _dominates(
        flat, starts[post[x]], lens[post[x]], starts[post[y]],
        lens[post[y]], row_a, row_b, t_post,
    )  # fmt: skip


@_jit
def _no_higher(keys, x, y, first, stop):
    """Whether item ``x``'s ``keys[first:stop]`` are at most item ``y``'s."""
    for c in range(first, stop):  # noqa: SIM110 (numba: no generators)
        if keys[x, c] > keys[y, c]:
            return False
    return True


@_jit
def pareto_steps(
    lo, hi, group, keys, pre, post, flat, starts, lens, alive, last, prev
):
    """Items ``lo`` to ``hi`` of the SP solver's Pareto pruning (sorted by
    their peaks; ``keys``: post peak, final levels, lowest levels, pre
    peak; words ``pre[i]`` and ``post[i]`` in ``flat``), each against the
    items kept before it in its group (``last[g]``, then back along
    ``prev``: newest first); updates ``alive``, ``last`` and ``prev``."""
    width = 1
    for k in range(len(lens)):
        width = max(width, lens[k])
    words = (flat, starts, lens, pre, post)
    rows = (np.zeros(width, dtype=np.bool_), np.zeros(width, dtype=np.bool_))
    # b's masks, kept while b stays: item i's words, then the kept ones'
    mine = (_table(width), _table(width))
    kept = (_table(width), _table(width))
    nk = keys.shape[1]
    for i in range(lo, hi):
        g = group[i]
        dropped = False
        j = last[g]
        while j >= 0:  # a kept item no higher on every key that beats it
            if (
                alive[j]
                and _no_higher(keys, j, i, 0, nk)
                and _beats(words, j, i, rows, mine)
            ):
                dropped = True
                break
            j = prev[j]
        if dropped:
            continue
        # kept items of the same peaks that it beats (the last ones kept)
        k = last[g]
        while k >= 0 and keys[k, 0] == keys[i, 0] and keys[k, 5] == keys[i, 5]:
            if (
                alive[k]
                and _no_higher(keys, i, k, 1, nk - 1)
                and _beats(words, i, k, rows, kept)
            ):
                alive[k] = False
            k = prev[k]
        alive[i] = True
        prev[i] = last[g]
        last[g] = i


def _functions() -> tuple:
    """The compiled functions that :func:`warm` calls."""
    return (
        _peaks,
        _words,
        _choose,
        _side_words,
        pareto_steps,
        _merge_rows,
        _join_tails,
        _chain_words,
    )


def ready() -> bool:
    """Whether the functions are compiled in this process already (by
    :func:`warm` or a solver's use): using them then costs nothing more."""
    return COMPILED and all(f.signatures for f in _functions())


def cached(functions: tuple | None = None) -> bool:
    """Whether numba's cache on disk holds every function compiled from
    this code for this machine: :func:`warm` then reads them in about half
    a second (``CACHED_LOAD_S`` at most, with numba's set-up) instead of
    compiling them for 6-11 s. Read from numba's cache index (a few
    milliseconds), through numba's internals: False where they differ.
    (Functions compiled in this process already count as cached.)
    ``functions``: other compiled functions to ask about (by default
    those :func:`warm` calls)."""
    if not COMPILED:
        return False
    try:
        for f in functions or _functions():
            if f.signatures:
                continue
            # numba's own test of a cached entry: the key of each
            # signature indexed (code hash, machine) as numba would make it
            cache = f._cache  # noqa: SLF001
            codegen = f.targetctx.codegen()
            index = cache._cache_file._load_index()  # noqa: SLF001
            key = cache._index_key  # noqa: SLF001
            if not any(key(k[0], codegen) == k for k in index):
                return False
    except Exception:  # (another numba: no cache, or other internals)
        return False
    return True


CACHED_STEP_S = 0.5
"""Time a step of :func:`warm` may take when it reads the function from
numba's cache."""


WARM_STEP_S = 5.0
"""Time a step of :func:`warm` may take when it compiles (the slowest,
the tie-break with Lemma 3's test, took 3.5 s on the slowest machine
measured, and 3.3-4.0 s since its masks span any number of 64-bit words,
2.6 s before in the same run; read from numba's cache, well under a
second)."""


def skip_blas_probe() -> None:
    """Keep numba from importing SciPy's linear algebra on its first
    call in this process (0.35-0.4 s of the half second it takes to read
    the functions from its cache, on the solver's critical path).

    When numba sets up its CPU target it imports ``numba.np.arraymath``,
    whose import probes for a BLAS by importing ``scipy.linalg``: its
    answer (``_HAVE_BLAS``) only chooses how ``np.correlate`` and
    ``np.convolve`` compute an inner product in compiled code (a plain
    loop without it, the same result). None of the functions here use
    linear algebra. So, when SciPy is installed but not imported yet, the
    probe is answered "no" for that one import, and numba's own
    ``ensure_blas`` is put back at once: linear algebra compiled later in
    this process still imports SciPy when it needs it. Nothing is done if
    numba has set up already or its internals differ. The swap holds
    numba's compiler lock, so no compilation in another thread (the only
    caller of ``ensure_blas``) sees it."""
    if numba is None or "numba.np.arraymath" in sys.modules:
        return
    if "scipy.linalg.cython_blas" in sys.modules:  # (the probe is free)
        return
    try:
        from numba.core.compiler_lock import global_compiler_lock
        from numba.np import linalg
    except ImportError:  # pragma: no cover - numba's internals differ
        return
    real = getattr(linalg, "ensure_blas", None)
    if real is None:  # pragma: no cover - numba's internals differ
        return

    def no_blas() -> None:
        raise ImportError("BLAS probe skipped by pebble_sched")

    with global_compiler_lock:
        linalg.ensure_blas = no_blas
        try:
            from numba.np import arraymath
        except ImportError:  # pragma: no cover - numba's internals differ
            return
        finally:
            linalg.ensure_blas = real
        if getattr(arraymath, "ensure_blas", None) is no_blas:
            arraymath.ensure_blas = real


def warm(deadline=None, stop=None) -> bool:
    """Call every function once on a tiny fork, so that later calls cost
    no compilation (numba compiles them on their first call after an
    install, 6-11 s in all, and reads them from its cache later, 0.5 s).

    With a ``deadline`` (a :class:`~pebble_sched.runtime.Deadline`), a
    function not compiled yet is not started with less than
    ``WARM_STEP_S`` left (numba's compilation cannot be interrupted), or
    ``CACHED_STEP_S`` when numba's cache holds them all (:func:`cached`):
    returns False then, and :func:`ready` stays False; True once all
    are compiled. ``stop``: called before each function; once it returns
    True, so does this (False): the caller has better to do."""
    from .profiles import Atom

    skip_blas_probe()
    step = CACHED_STEP_S if deadline is not None and cached() else WARM_STEP_S

    def time_for(fn) -> bool:  # (compiled already, or time to compile it)
        if stop is not None and stop():
            return False
        return (
            deadline is None
            or bool(getattr(fn, "signatures", True))
            or deadline.remaining() >= step
        )

    def held() -> contextlib.AbstractContextManager:
        # (numba drops what a signal handler raises while it compiles, and
        # the compilation then fails: Ctrl-C is held until the step ends)
        return contextlib.nullcontext() if ready() else signals_deferred()

    if stop is not None and stop():
        return False
    table = [[([Atom(2, 1, 0)], []), ([], [Atom(2, 1, 0)])], [([], [])]]
    cols = prepare(table, -1)
    assert cols is not None
    rows = np.array([[0, 0], [1, 0]], dtype=np.int64)
    if not time_for(_peaks):
        return False
    with held():
        peaks(cols, rows, -1)
    if not time_for(_words):
        return False
    with held():
        got = words(cols, rows, -1)
    if not time_for(_choose):
        return False
    with held():
        choose(*got)
    if not time_for(_side_words):
        return False
    with held():
        flat, first, lens, _top, _low, _end = side_words(cols, rows)
    if not time_for(pareto_steps):
        return False
    with held():
        pareto_steps(
            0,
            2,
            np.zeros(2, dtype=np.int64),
            np.zeros((2, 6), dtype=np.int64),
            np.arange(2, dtype=np.int64),
            np.arange(2, 4, dtype=np.int64),
            flat,
            first,
            lens,
            np.zeros(2, dtype=np.bool_),
            np.full(1, -1, dtype=np.int64),
            np.full(2, -1, dtype=np.int64),
        )
    if not time_for(_merge_rows):
        return False
    with held():
        _f0, _s0, f1, s1 = merged_columns(cols, rows)
    if not time_for(_join_tails):
        return False
    with held():
        one = np.ones(1, dtype=np.int64)
        join_tails(cols, f1, s1, (1, -1), (one, one))
    if not time_for(_chain_words):
        return False
    with held():
        chain_words(*(np.zeros(k, dtype=np.int64) for k in (1, 1, 2)))
    return True


def pack(words_: list[list[int]]) -> tuple[np.ndarray, ...] | None:
    """Python words as ``(flat, starts, lens)``; None past int64."""
    lens = np.array([len(w) for w in words_], dtype=np.int64)
    starts = np.zeros(len(words_), dtype=np.int64)
    if len(words_) > 1:
        np.cumsum(lens[:-1], out=starts[1:])
    try:
        flat = np.fromiter(
            itertools.chain.from_iterable(words_),
            dtype=np.int64,
            count=int(lens.sum()),
        )
    except OverflowError:  # (beyond int64)
        return None
    if ((flat >= INT64_SAFE) | (flat <= -INT64_SAFE)).any():
        return None
    return flat, starts, lens
