"""The window move's dynamic program on arrays, compiled by numba.

The local search's window move (:meth:`.heuristics._Search.window_move`)
reorders the steps of a window optimally: a bottleneck shortest path over
the window's ideals, one layer per step. In Python each ideal is a dict
entry and each try a handful of interpreted operations, about 0.2 us per
ideal and window step; on a 300-node graph the local search spent half
its time there. :func:`window_dp` is the same program on arrays: the
ideals of all layers in one set of arrays (mask, bottleneck, resident,
last node, parent), each layer's new masks found through an open-
addressing table of its own. It visits the ideals in the same order and
keeps the same one of equal bottlenecks (the first found), so its orders
are exactly those of the Python program (tested on random windows).

Compiled with numba when it is installed (the ``fast`` extra) and loaded
only by :func:`load`, which the local search calls once its own Python
program has taken a while (importing numba and reading the function from
its cache take about half a second; compiling it, on the first use after
an install, a few seconds). Without numba :func:`load` returns None and
the Python program runs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..runtime import Deadline, import_optional

__all__ = ["CACHED_S", "COMPILE_S", "MAX_WINDOW", "load", "ready", "window_dp"]

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
) -> tuple[int, int, np.ndarray, int]:
    """The window's least bottleneck and an order reaching it.

    Window step i (0 to k - 1) has the predecessors ``pred_mask[i]`` in
    the window (a bit mask), allocates ``prod_all[i]`` while it runs and
    keeps ``lasting[i]``; running it frees ``free_size[f]`` for every f in
    ``free_ptr[i]:free_ptr[i + 1]`` whose readers ``free_need[f]`` have
    all run. ``r0``: resident memory before the window. Returns
    ``(status, bottleneck, sequence, states)``: status 1 when more than
    ``max_states`` ideals were needed (nothing else is meaningful then),
    else 0 with the sequence of window steps; ``states``: the ideals
    built.
    """
    k = len(pred_mask)
    cap = max_states + k + 1
    masks = np.zeros(cap, dtype=np.uint64)
    val = np.zeros(cap, dtype=np.int64)
    res = np.zeros(cap, dtype=np.int64)
    node = np.zeros(cap, dtype=np.int64)
    parent = np.zeros(cap, dtype=np.int64)
    res[0] = r0
    node[0] = -1
    parent[0] = -1
    one = np.uint64(1)
    mix = np.uint64(_MIX)
    lo, hi = 0, 1  # the layer being expanded: ideals lo to hi - 1
    for _layer in range(k):
        # a table for the next layer's masks (index + 1, 0: empty), at
        # most half full
        want = 2 * min((hi - lo) * k, max_states + 1)
        size = 2
        while size < want:
            size *= 2
        table = np.zeros(size, dtype=np.int64)
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
                h = ((new * mix) >> np.uint64(17)) & wrap
                while True:
                    j = table[h] - 1
                    if j < 0 or masks[j] == new:
                        break
                    h = (h + one) & wrap
                if j < 0:
                    j = nxt
                    nxt += 1
                    table[h] = j + 1
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


def _compiled() -> Any:
    """The compiled dispatcher (numba imported), or None without numba."""
    numba = import_optional("numba")
    if numba is None:
        return None
    from .candidate_words import skip_blas_probe

    skip_blas_probe()
    return numba.njit(cache=True, nogil=True)(window_dp)


_loaded: dict[str, Any] = {}


def ready() -> bool:
    """Whether the compiled function is loaded and compiled in this
    process: using it then costs nothing more."""
    fn = _loaded.get("fn")
    return fn is not None and bool(fn.signatures)


def load(deadline: Deadline | None = None) -> Any:
    """The compiled :func:`window_dp`, or None (numba missing or broken,
    or too little time left to read it from numba's cache, ``CACHED_S``,
    or to compile it, ``COMPILE_S``; tried once per process while it
    fails for lack of numba, again later when time was short)."""
    if ready():
        return _loaded["fn"]
    if _loaded.get("missing"):
        return None
    left = float("inf") if deadline is None else deadline.remaining()
    if left < CACHED_S:
        return None
    fn = _loaded.get("fn")
    if fn is None:
        fn = _compiled()
        if fn is None:
            _loaded["missing"] = True
            return None
        _loaded["fn"] = fn
    from .candidate_words import cached

    left = float("inf") if deadline is None else deadline.remaining()
    if left < (CACHED_S if cached((fn,)) else COMPILE_S):
        return None
    try:
        z64 = np.zeros(1, dtype=np.int64)
        fn(
            np.zeros(1, dtype=np.uint64),
            z64,
            z64,
            np.zeros(0, dtype=np.uint64),
            np.zeros(0, dtype=np.int64),
            np.zeros(2, dtype=np.int64),
            0,
            4,
        )
    except Exception:  # (a numba that cannot compile it: Python then)
        _loaded["missing"] = True
        return None
    return fn
