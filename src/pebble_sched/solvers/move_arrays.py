"""The local search's exact moves on arrays, compiled by numba.

The local search (:mod:`pebble_sched.solvers.heuristics`) makes two exact
moves whose dynamic programs, in Python, took most of its time on graphs
of a few hundred nodes (each state a dict entry, each try a handful of
interpreted operations, about 0.2 us per try):

- the *window move* (:meth:`.heuristics._Search.window_move`) reorders the
  steps of a window optimally, a bottleneck shortest path over the
  window's ideals, one layer per step: :func:`window_dp`;
- the *interleave move* (:func:`.interleave.interleave`) re-interleaves a
  node subset U into the fixed order of the others, a bottleneck path over
  states (nodes of the others run, ideal of U): :func:`interleave_dp`.

It also evaluates the search's single-node moves, which then took most
of what was left (each a whole evaluation through numpy, about 40 us on
300 nodes): :func:`first_better` evaluates a batch of them in a loop
over the buffers and stops at the first that lowers the objective; and
:func:`window_inputs` builds the window move's inputs (0.4 ms of Python
per move before).

Here the states of all layers are a few arrays (mask, bottleneck,
resident, node, parent), and each layer finds its masks through an open-
addressing table of its own. Both visit the states in the same order as
the Python programs and keep the same one of equal bottlenecks (the
first found), so their orders, state counts and refusals are exactly
those of Python (tested on random inputs, and on whole searches).

It also compiles the beam searches' layer (:mod:`.beam_arrays`), apart,
when a beam asks for it (:func:`load_beam`).

Compiled with numba when it is installed (the ``fast`` extra) and loaded
only by :func:`load`, which the local search calls once its Python moves
have taken a while (importing numba and reading the functions from its
cache take about half a second; compiling them, on the first use after an
install, several seconds). Without numba :func:`load` returns None and
the Python programs run. The compiled programs cannot look at a deadline
while they run; their callers check it before, and ``max_states`` bounds
them (a tenth of a second at the local search's caps).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..runtime import Deadline, import_optional, signals_deferred
from .beam_arrays import beam_layer

__all__ = [
    "CACHED_S",
    "COMPILE_S",
    "MAX_WINDOW",
    "PLAIN",
    "Programs",
    "call_program",
    "first_better",
    "interleave_dp",
    "load",
    "load_beam",
    "ready",
    "run_interleave",
    "run_window",
    "window_dp",
    "window_inputs",
]

MAX_WINDOW = 63
"""The widest window the arrays hold (an ideal is a 64-bit mask)."""

COMPILE_S = 8.0
"""Time :func:`load` needs left to compile the function (numba's cache
does not hold it yet); compiling cannot be interrupted."""

CACHED_S = 1.5
"""Time :func:`load` needs left to import numba and read the function
from numba's cache."""

_MIX = 0x9E3779B97F4A7C15


def window_dp(
    pred_mask: np.ndarray,
    prod_all: np.ndarray,
    lasting: np.ndarray,
    free_need: np.ndarray,
    free_size: np.ndarray,
    free_ptr: np.ndarray,
    r0: int,
    max_states: int,
    cap: int,
) -> tuple[int, int, np.ndarray, int]:
    """The window's least bottleneck and an order reaching it.

    Window step i (0 to k - 1) has the predecessors ``pred_mask[i]`` in
    the window (a bit mask), allocates ``prod_all[i]`` while it runs and
    keeps ``lasting[i]``; running it frees ``free_size[f]`` for every f in
    ``free_ptr[i]:free_ptr[i + 1]`` whose readers ``free_need[f]`` have
    all run. ``r0``: resident memory before the window. Returns
    ``(status, bottleneck, sequence, states)``: status 1 when more than
    ``max_states`` ideals were needed, 3 when more than ``cap`` (room for
    that many is allocated: call again with more), else 0 with the
    sequence of window steps; ``states``: the ideals built.
    """
    k = len(pred_mask)
    masks = np.empty(cap, dtype=np.uint64)
    val = np.empty(cap, dtype=np.int64)
    res = np.empty(cap, dtype=np.int64)
    node = np.empty(cap, dtype=np.int64)
    parent = np.empty(cap, dtype=np.int64)
    masks[0] = 0
    val[0] = 0
    res[0] = r0
    node[0] = -1
    parent[0] = -1
    one = np.uint64(1)
    mix = np.uint64(_MIX)
    lo, hi = 0, 1  # the layer being expanded: ideals lo to hi - 1
    for _layer in range(k):
        # a table of the next layer's ideals (-1: empty), at most half full
        want = 2 * min((hi - lo) * k, max_states + 1)
        size = 2
        while size < want:
            size *= 2
        table = np.full(size, -1, dtype=np.int64)
        wrap = np.uint64(size - 1)
        nxt = hi
        for s in range(lo, hi):
            if nxt > max_states:
                return 1, 0, np.zeros(0, dtype=np.int64), nxt
            m = masks[s]
            v = val[s]
            r = res[s]
            for i in range(k):
                bit = one << np.uint64(i)
                if (m & bit) != 0 or (pred_mask[i] & ~m) != 0:
                    continue
                cost = max(v, r + prod_all[i])
                new = m | bit
                h = ((new * mix) >> np.uint64(20)) & wrap
                while True:
                    j = table[h]
                    if j < 0 or masks[j] == new:
                        break
                    h = (h + one) & wrap
                if j < 0:
                    if nxt == cap:
                        return 3, 0, np.zeros(0, dtype=np.int64), nxt
                    j = nxt
                    nxt += 1
                    table[h] = j
                    masks[j] = new
                elif cost >= val[j]:
                    continue
                freed = 0
                for f in range(free_ptr[i], free_ptr[i + 1]):
                    if (free_need[f] & ~new) == 0:
                        freed += free_size[f]
                val[j] = cost
                res[j] = r + lasting[i] - freed
                node[j] = i
                parent[j] = s
        lo, hi = hi, nxt
        if hi > max_states:
            return 1, 0, np.zeros(0, dtype=np.int64), hi
    seq = np.zeros(k, dtype=np.int64)
    j = lo
    for t in range(k - 1, -1, -1):
        seq[t] = node[j]
        j = parent[j]
    return 0, val[lo], seq, hi


def interleave_dp(
    u_pred: np.ndarray,
    u_alloc: np.ndarray,
    u_lasting: np.ndarray,
    uf_last: np.ndarray,
    uf_need: np.ndarray,
    uf_size: np.ndarray,
    uf_ptr: np.ndarray,
    avail: np.ndarray,
    f_alloc: np.ndarray,
    f_kept: np.ndarray,
    f_need: np.ndarray,
    fw_need: np.ndarray,
    fw_size: np.ndarray,
    fw_ptr: np.ndarray,
    lo: int,
    hi: int,
    head: int,
    r0: int,
    max_states: int,
    cap: int,
) -> tuple[int, int, np.ndarray, int]:
    """The interleave move's least bottleneck and a path reaching it.

    Node i of U (0 to u - 1) has the predecessors ``u_pred[i]`` in U,
    allocates ``u_alloc[i]`` while it runs and keeps ``u_lasting[i]``; it
    frees ``uf_size[x]`` for every x in ``uf_ptr[i]:uf_ptr[i + 1]`` whose
    readers in U ``uf_need[x]`` have all run and whose last reader in F,
    ``uf_last[x]``, ran before the layer. In layer p (``lo`` to ``hi``: p
    nodes of F have run), the nodes of U in ``avail[p - lo]`` may run;
    F's node p then allocates ``f_alloc[p]``, keeps ``f_kept[p]`` and
    frees ``fw_size[x]`` for every x in ``fw_ptr[p]:fw_ptr[p + 1]`` whose
    readers in U ``fw_need[x]`` have run, and needs ``f_need[p]`` of U
    first. Returns ``(status, bottleneck, steps, states)``: status 1 past
    ``max_states`` states, 2 when the last layer misses U (not a valid
    start), 3 past ``cap`` states stored (the room allocated: call again
    with more), else 0 with the steps, last first: i >= 0 for node i of U,
    -1 - p for F's node p.
    """
    u = len(u_pred)
    one = np.uint64(1)
    mix = np.uint64(_MIX)
    full = (one << np.uint64(u)) - one if u < 64 else ~np.uint64(0)
    masks = np.empty(cap, dtype=np.uint64)
    val = np.empty(cap, dtype=np.int64)
    res = np.empty(cap, dtype=np.int64)
    node = np.empty(cap, dtype=np.int64)
    parent = np.empty(cap, dtype=np.int64)
    nextb = np.empty(cap, dtype=np.int64)  # the next state of its bucket
    masks[0] = 0
    val[0] = head
    res[0] = r0
    node[0] = -1
    parent[0] = -1
    n = 1  # states stored
    start = 0  # the layer's first state
    states = 0
    bhead = np.zeros(u + 2, dtype=np.int64)
    btail = np.zeros(u + 2, dtype=np.int64)
    for p in range(lo, hi + 1):
        # the layer's table (index + 1; 0: empty), at most half full
        size = 16
        while size < 2 * (n - start):
            size *= 2
        table = np.zeros(size, dtype=np.int64)
        wrap = np.uint64(size - 1)
        bhead[:] = -1
        btail[:] = -1
        top = -1
        c = u + 1
        for j in range(start, n):
            h = ((masks[j] * mix) >> np.uint64(17)) & wrap
            while table[h] != 0:
                h = (h + one) & wrap
            table[h] = j + 1
            b = 0
            x = masks[j]
            while x:
                x &= x - one
                b += 1
            nextb[j] = -1
            if bhead[b] < 0:
                bhead[b] = j
            else:
                nextb[btail[b]] = j
            btail[b] = j
            c = min(c, b)
            top = max(top, b)
        av = avail[p - lo]
        while c <= top:
            s = bhead[c]
            while s >= 0:
                m = masks[s]
                v = val[s]
                r = res[s]
                todo = av & ~m
                while todo:
                    bit = todo & (~todo + one)
                    todo ^= bit
                    i = 0
                    y = bit
                    while y > one:
                        y >>= one
                        i += 1
                    if u_pred[i] & ~m:
                        continue
                    cost = r + u_alloc[i]
                    if cost < v:
                        cost = v
                    new = m | bit
                    h = ((new * mix) >> np.uint64(17)) & wrap
                    while True:
                        j = table[h] - 1
                        if j < 0 or masks[j] == new:
                            break
                        h = (h + one) & wrap
                    if j < 0:
                        if n == cap:
                            return 3, 0, np.zeros(0, dtype=np.int64), n
                        j = n
                        n += 1
                        masks[j] = new
                        table[h] = j + 1
                        nextb[j] = -1
                        if bhead[c + 1] < 0:
                            bhead[c + 1] = j
                        else:
                            nextb[btail[c + 1]] = j
                        btail[c + 1] = j
                        top = max(top, c + 1)
                        if 2 * (n - start) > size:  # a larger table
                            size *= 2
                            table = np.zeros(size, dtype=np.int64)
                            wrap = np.uint64(size - 1)
                            for q in range(start, n):
                                h = ((masks[q] * mix) >> np.uint64(17)) & wrap
                                while table[h] != 0:
                                    h = (h + one) & wrap
                                table[h] = q + 1
                    elif cost >= val[j]:
                        continue
                    freed = 0
                    for x in range(uf_ptr[i], uf_ptr[i + 1]):
                        if uf_last[x] < p and (uf_need[x] & ~new) == 0:
                            freed += uf_size[x]
                    val[j] = cost
                    res[j] = r + u_lasting[i] - freed
                    node[j] = i
                    parent[j] = s
                s = nextb[s]
            c += 1
            if n - start > 64 and states + n - start > max_states:
                return 1, 0, np.zeros(0, dtype=np.int64), states + n - start
        if states + n - start > max_states:
            return 1, 0, np.zeros(0, dtype=np.int64), states + n - start
        states += n - start
        if p == hi:
            break
        # F's node p, from every state of the layer that has run what it needs
        need = f_need[p]
        first = n
        for s in range(start, first):
            m = masks[s]
            if need & ~m:
                continue
            cost = res[s] + f_alloc[p]
            if cost < val[s]:
                cost = val[s]
            freed = 0
            for x in range(fw_ptr[p], fw_ptr[p + 1]):
                if (fw_need[x] & ~m) == 0:
                    freed += fw_size[x]
            if n == cap:
                return 3, 0, np.zeros(0, dtype=np.int64), n
            masks[n] = m
            val[n] = cost
            res[n] = res[s] + f_kept[p] - freed
            node[n] = -1
            parent[n] = s
            n += 1
        start = first
    last = -1
    for j in range(start, n):
        if masks[j] == full:
            last = j
    if last < 0:
        return 2, 0, np.zeros(0, dtype=np.int64), states
    steps = np.zeros(n, dtype=np.int64)
    k = 0
    p = hi
    j = last
    while parent[j] >= 0:
        if node[j] >= 0:
            steps[k] = node[j]
        else:
            p -= 1
            steps[k] = -1 - p
        k += 1
        j = parent[j]
    return 0, val[last], steps[:k], states


def window_inputs(
    order: np.ndarray,
    a: int,
    b: int,
    pred_ptr: np.ndarray,
    pred_idx: np.ndarray,
    prod_ptr: np.ndarray,
    prod_idx: np.ndarray,
    read_ptr: np.ndarray,
    read_idx: np.ndarray,
    producer: np.ndarray,
    size: np.ndarray,
    cons_ptr: np.ndarray,
    cons_idx: np.ndarray,
    output: np.ndarray,
) -> tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int
]:
    """:func:`window_dp`'s inputs for steps ``[a, b)`` of ``order``, as
    :meth:`.heuristics._Search._window_inputs` builds them in Python (the
    graph's predecessors in CSR form and the arrays of its
    ``memory_buffers()``): ``(pred_mask, prod_all, lasting, free_need,
    free_size, free_ptr, r0)``. A step's freed buffers may come in another
    order than Python's; :func:`window_dp` only adds them up.
    """
    n = len(order)
    k = b - a
    nb = len(size)
    pos = np.empty(n, dtype=np.int64)
    for t in range(n):
        pos[order[t]] = t
    # each buffer's first and last step (inputs from -1; outputs to the end)
    start = np.empty(nb, dtype=np.int64)
    end = np.empty(nb, dtype=np.int64)
    r0 = 0
    for f in range(nb):
        s = pos[producer[f]] if producer[f] >= 0 else -1
        e = s
        for c in range(cons_ptr[f], cons_ptr[f + 1]):
            if pos[cons_idx[c]] > e:
                e = pos[cons_idx[c]]
        if output[f] and n > 0:
            e = n - 1
        start[f] = s
        end[f] = e
        if s < a and e >= a:
            r0 += size[f]
    pred_mask = np.zeros(k, dtype=np.uint64)
    prod_all = np.zeros(k, dtype=np.int64)
    lasting = np.zeros(k, dtype=np.int64)
    for i in range(k):
        v = order[a + i]
        for x in range(prod_ptr[v], prod_ptr[v + 1]):
            f = prod_idx[x]
            prod_all[i] += size[f]
            if cons_ptr[f + 1] > cons_ptr[f] or output[f]:
                lasting[i] += size[f]
        for x in range(pred_ptr[v], pred_ptr[v + 1]):
            q = pos[pred_idx[x]]
            if a <= q < b:
                pred_mask[i] |= np.uint64(1) << np.uint64(q - a)
    # buffers read in the window whose last reader is in it (not outputs):
    # per buffer the mask of its readers in the window, listed at each
    need = np.zeros(nb, dtype=np.uint64)
    seen = np.zeros(nb, dtype=np.bool_)
    listed = np.empty(nb, dtype=np.int64)
    nl = 0
    count = np.zeros(k + 1, dtype=np.int64)
    for i in range(k):
        v = order[a + i]
        for x in range(read_ptr[v], read_ptr[v + 1]):
            f = read_idx[x]
            if seen[f]:
                continue
            seen[f] = True
            if output[f] or end[f] >= b:
                continue
            m = np.uint64(0)
            for c in range(cons_ptr[f], cons_ptr[f + 1]):
                q = pos[cons_idx[c]]
                if a <= q < b:
                    m |= np.uint64(1) << np.uint64(q - a)
            need[f] = m
            listed[nl] = f
            nl += 1
    listed = listed[:nl]
    for f in listed:
        for i in range(k):
            if need[f] >> np.uint64(i) & np.uint64(1):
                count[i + 1] += 1
    free_ptr = np.cumsum(count)
    free_need = np.empty(free_ptr[k], dtype=np.uint64)
    free_size = np.empty(free_ptr[k], dtype=np.int64)
    fill = free_ptr[:k].copy()
    for f in listed:
        for i in range(k):
            if need[f] >> np.uint64(i) & np.uint64(1):
                free_need[fill[i]] = need[f]
                free_size[fill[i]] = size[f]
                fill[i] += 1
    return pred_mask, prod_all, lasting, free_need, free_size, free_ptr, r0


def first_better(
    order: np.ndarray,
    moves_v: np.ndarray,
    moves_j: np.ndarray,
    limit: int,
    peak: int,
    count: int,
    producer: np.ndarray,
    size: np.ndarray,
    cons_ptr: np.ndarray,
    cons_idx: np.ndarray,
    output: np.ndarray,
) -> tuple[int, int]:
    """The first of the local search's single-node moves that lowers its
    objective, each evaluated whole.

    Move k puts node ``moves_v[k]`` at position ``moves_j[k]`` of
    ``order`` (the others keep their relative order; the caller checks
    precedence). Its objective is the schedule's peak, then the number of
    steps at the peak, as :func:`pebble_sched.memory.evaluate_indices`
    gives them (the buffers' arrays of ``memory_buffers()``: producer -1
    for an input, consumers in CSR form, kept outputs), compared with
    ``(peak, count)``. Tries the first ``limit`` moves in order and
    returns ``(k, tried)``: the first one that is lower (k = -1 if none)
    and how many were evaluated.
    """
    n = len(order)
    nb = len(size)
    base = np.empty(n, dtype=np.int64)
    for t in range(n):
        base[order[t]] = t
    pos = np.empty(n, dtype=np.int64)
    delta = np.empty(n + 2, dtype=np.int64)
    ends = np.empty(n + 2, dtype=np.int64)
    tries = min(limit, len(moves_v))
    for k in range(tries):
        v = moves_v[k]
        j = moves_j[k]
        pos[:] = base
        i = base[v]
        if j > i:
            for t in range(i + 1, j + 1):
                pos[order[t]] = t - 1
        else:
            for t in range(j, i):
                pos[order[t]] = t + 1
        pos[v] = j
        delta[:] = 0
        ends[:] = 0
        for b in range(nb):
            p = producer[b]
            s = pos[p] if p >= 0 else -1
            e = s
            for c in range(cons_ptr[b], cons_ptr[b + 1]):
                q = pos[cons_idx[c]]
                if q > e:
                    e = q
            if output[b]:
                e = n - 1
            delta[s + 1] += size[b]
            ends[e + 1] += size[b]
        # slot t + 1 is step t's memory; slot 0 is before the first step
        mem = delta[0]
        initial = mem
        top = -1
        at_top = 0
        first = True
        for t in range(1, n + 1):
            mem += delta[t] - ends[t - 1]
            if first or mem > top:
                top = mem
                at_top = 1
                first = False
            elif mem == top:
                at_top += 1
        if initial > top:
            top = initial
            at_top = 0
        if top < peak or (top == peak and at_top < count):
            return k, k + 1
    return -1, tries


class Programs:
    """The compiled programs: ``window`` (:func:`window_dp`),
    ``interleave`` (:func:`interleave_dp`), ``first_better``
    (:func:`first_better`), ``window_inputs`` (:func:`window_inputs`)
    and ``beam`` (:func:`.beam_arrays.beam_layer`, compiled only by
    :func:`load_beam`), or the plain functions (to test their logic
    without numba)."""

    __slots__ = (
        "beam",
        "first_better",
        "interleave",
        "window",
        "window_inputs",
    )

    def __init__(
        self, window: Any, interleave: Any, first: Any, inputs: Any, beam: Any
    ) -> None:
        self.window = window
        self.interleave = interleave
        self.first_better = first
        self.window_inputs = inputs
        self.beam = beam

    def all(self) -> tuple:
        """The local search's four programs (the beam's is loaded apart,
        by :func:`load_beam`)."""
        return (
            self.window,
            self.interleave,
            self.first_better,
            self.window_inputs,
        )


PLAIN = Programs(
    window_dp, interleave_dp, first_better, window_inputs, beam_layer
)
"""The programs as plain Python (slow: for tests)."""


def _compiled() -> Programs | None:
    """The compiled dispatchers (numba imported), or None without numba."""
    numba = import_optional("numba")
    if numba is None:
        return None
    from .candidate_words import skip_blas_probe

    skip_blas_probe()
    jit = numba.njit(cache=True, nogil=True)
    return Programs(
        jit(window_dp),
        jit(interleave_dp),
        jit(first_better),
        jit(window_inputs),
        jit(beam_layer),
    )


_loaded: dict[str, Any] = {}


def ready() -> bool:
    """Whether the compiled programs are loaded and compiled in this
    process: using them then costs nothing more."""
    progs = _loaded.get("programs")
    return progs is not None and all(bool(f.signatures) for f in progs.all())


def _warm(progs: Programs) -> None:
    """Call the programs once on tiny inputs (compiles or reads them)."""
    u64, i64 = np.zeros(1, dtype=np.uint64), np.zeros(1, dtype=np.int64)
    e64, eu = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    progs.window(u64, i64, i64, eu, e64, np.zeros(2, dtype=np.int64), 0, 4, 8)
    progs.interleave(
        u64,
        i64,
        i64,
        e64,
        eu,
        e64,
        np.zeros(2, dtype=np.int64),
        np.ones(1, dtype=np.uint64),
        i64,
        i64,
        u64,
        eu,
        e64,
        np.zeros(2, dtype=np.int64),
        0,
        0,
        0,
        0,
        4,
        8,
    )
    one = np.zeros(2, dtype=np.int64)
    progs.window_inputs(
        np.zeros(1, dtype=np.int64),
        0,
        1,
        one,
        e64,
        np.array([0, 1]),
        i64,
        one,
        e64,
        i64,
        i64,
        one,
        e64,
        np.zeros(1, dtype=np.bool_),
    )
    progs.first_better(
        np.zeros(1, dtype=np.int64),
        i64,
        i64,
        1,
        0,
        0,
        i64,
        i64,
        np.zeros(2, dtype=np.int64),
        e64,
        np.zeros(1, dtype=np.bool_),
    )


def _warm_beam(beam: Any) -> None:
    """Call the beam's program once on tiny inputs (compiles or reads it)."""
    i64, e64 = np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    eu = np.zeros(0, dtype=np.uint64)
    beam(
        np.zeros((1, 1), dtype=np.uint64),
        np.zeros(1, dtype=np.uint64),
        i64,
        i64,
        np.full(1, -1, dtype=np.int64),
        i64,
        np.zeros(2, dtype=np.int64),
        e64,
        eu,
        i64,
        i64,
        np.zeros(2, dtype=np.int64),
        np.zeros(1, dtype=np.int64),
        e64,
        eu,
        e64,
        np.zeros(1, dtype=np.bool_),
        np.full(2, -1, dtype=np.int64),
        False,
        np.ones(1, dtype=np.uint64),
        2,
    )


FIRST_ROOM = 4096
"""States the programs first allocate room for; a move that needs more
is run again with room for all it may need (allocating that much for
every move cost more than the small moves' work)."""


def call_program(program: Any, *args: Any) -> tuple:
    """``program(*args)``; a Ctrl-C (or SIGTERM made one) that arrives
    while numba hands back the result is raised as itself (CPython then
    reports "returned a result with an exception set", a SystemError
    whose cause is the interrupt, or whose cause's cause is, when it came
    in a helper numba calls while it builds the result, such as
    ``_numba_unpickle``: the chain is followed), so the callers keep
    their best order."""
    try:
        return program(*args)
    except SystemError as exc:
        cause = exc.__cause__
        while isinstance(cause, SystemError):
            cause = cause.__cause__
        if isinstance(cause, KeyboardInterrupt):
            raise cause from None
        raise


def run_window(program: Any, *args: Any) -> tuple[int, int, np.ndarray, int]:
    """:func:`window_dp` (``program``, compiled or not) with room enough:
    ``args`` are its arguments but the last."""
    max_states, k = args[-1], len(args[0])
    status, *rest = call_program(
        program, *args, min(FIRST_ROOM, max_states + k + 1)
    )
    if status == 3:
        status, *rest = call_program(program, *args, max_states + k + 1)
    return (status, *rest)


INTERLEAVE_FIRST_ROOM = 65536
"""The same for the interleave moves, which store every layer's states:
at 4,096, about 45% of the moves of a local search on a 1,000-node
near-SP graph ran twice or more; the room is allocated, not filled, so
more costs the small moves little (per move, 300 and 1,000 nodes: 15-25%
less time than at 4,096)."""


def run_interleave(
    program: Any, *args: Any
) -> tuple[int, int, np.ndarray, int]:
    """:func:`interleave_dp` (``program``, compiled or not) with room
    enough: ``args`` are its arguments but the last. A layer may store
    more than ``max_states`` states before it is checked, so the room
    grows until they fit."""
    room = INTERLEAVE_FIRST_ROOM
    while True:
        status, *rest = call_program(program, *args, room)
        if status != 3:
            return (status, *rest)
        room *= 4


BEAM_COMPILE_S = 5.0
"""Time :func:`load_beam` needs left to compile the beam's program (about
3 s once numba is loaded)."""


def load_beam(deadline: Deadline | None = None) -> Any:
    """The beam's compiled program (:func:`.beam_arrays.beam_layer`), or
    None: the other programs not loaded (:func:`load`), or too little
    time left to read it from numba's cache or to compile it. Apart from
    them, so that a first local search does not wait for its compilation
    too."""
    progs = load(deadline)
    if progs is None:
        return None
    if progs.beam.signatures:
        return progs.beam
    from .candidate_words import cached

    left = float("inf") if deadline is None else deadline.remaining()
    if left < (CACHED_S if cached((progs.beam,)) else BEAM_COMPILE_S):
        return None
    try:
        with signals_deferred():
            _warm_beam(progs.beam)
    except Exception:  # (a numba that cannot compile it: numpy then)
        return None
    return progs.beam


def load(deadline: Deadline | None = None) -> Programs | None:
    """The compiled programs, or None: numba missing or broken, or too
    little time left to read them from numba's cache (``CACHED_S``) or to
    compile them (``COMPILE_S``). Tried once per process where numba is
    missing, again on a later call where time was short."""
    if ready():
        return _loaded["programs"]
    if _loaded.get("missing"):
        return None
    left = float("inf") if deadline is None else deadline.remaining()
    if left < CACHED_S:
        return None
    progs = _loaded.get("programs")
    if progs is None:
        progs = _compiled()
        if progs is None:
            _loaded["missing"] = True
            return None
        _loaded["programs"] = progs
    from .candidate_words import cached

    left = float("inf") if deadline is None else deadline.remaining()
    if left < (CACHED_S if cached(progs.all()) else COMPILE_S):
        return None
    try:
        # (compiling drops what a signal handler raises: Ctrl-C then waits
        # for the end of it instead of being lost)
        with signals_deferred():
            _warm(progs)
    except Exception:  # (a numba that cannot compile them: Python then)
        _loaded["missing"] = True
        return None
    return progs
