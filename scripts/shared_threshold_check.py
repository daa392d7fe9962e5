"""Check the shared-threshold form of Lemma 5 against the proven one, fork by fork.

On a fork with a nested branch (a's readers inside an inner parallel part
X0 whose closing node w1 does not read a), Lemma 5 is proven with each
nested branch's own thresholds (docs/theory.md); the form with one
threshold shared by all branches, conjectured before, is refuted. This
script solves SP graphs with ``family="threshold"`` and, on every such
fork, computes both families: the shared-threshold family's best candidate
(least peak, dominating the others of that peak) must dominate the proven
family's dominant one, or the shared threshold misses there. It found the
counterexample of ``tests/data/shared_threshold_miss.json`` (the fork of
random graph 2,377 below) and prints every miss with the graph it is on.

    python scripts/shared_threshold_check.py [--count 3000] [--sizes 100000:1,...]

``--count``: random SP graphs of 30 to 1,000 nodes (out-degree 2 to 6,
sizes 0-29, workspaces 0-9; graph k has seed 10,000 + k); ``--sizes``:
graphs ``series_parallel(n, seed, max_out_degree=6)`` as ``n:seed``.
Uses the solver's private methods: a measurement, not an API.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pebble_sched.generators import series_parallel
from pebble_sched.solvers import dominant as D
from pebble_sched.solvers.profiles import Atom, dominates

# (the solver's private parts: this script measures them)
# ruff: noqa: SLF001


def best(combos, release: int, solver) -> tuple[int, tuple]:
    """The least peak of a fork's candidates and the word, among those of
    that peak, that dominates the most (the solver's choice)."""
    if not isinstance(combos, D._Candidates):
        combos = D._Candidates([], np.zeros((0, 0), dtype=np.int64), combos)
    peaks = combos.peaks(release, solver.check)
    low = min(peaks)
    tied = [k for k, p in enumerate(peaks) if p == low]
    words = [tuple(w) for w in combos.words(tied, Atom(0, release, -1))]
    top = words[0]
    for w in words[1:]:
        if dominates(w, top):
            top = w
    return low, top


def checking(counts: dict, where: list[str]):
    """A replacement of ``_Solver._lemma5`` that compares both families on
    forks with nested branches (and decides them with the proven one)."""
    plain = D._Solver._lemma5

    def lemma5(self, trees, cap, release):
        if all(t.proven for t in trees):
            return plain(self, trees, cap, release)
        shared = self._threshold_combos(trees, cap)
        if shared is None or shared is D._ALL:
            return plain(self, trees, cap, release)
        counts["forks"] += 1
        low, word = best(shared, release, self)
        proven = self._mixed_combos(trees, (low, release))
        if proven is None:  # beyond the budgets: not compared
            counts["beyond budgets"] += 1
            return shared, True
        p_low, p_word = best(proven, release, self)
        if p_low != low or not dominates(word, p_word):
            counts["misses"] += 1
            counts["by peak"] += p_low != low
            print(
                f"miss on {where[0]}: shared threshold peak {low}, proven "
                f"{p_low}, branches of {[t.count for t in trees]} options",
                flush=True,
            )
        return proven, False

    return lemma5


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--sizes", default="", help="n:seed,... (optional)")
    args = ap.parse_args()
    counts = dict.fromkeys(("forks", "beyond budgets", "misses", "by peak"), 0)
    where = [""]
    D._Solver._lemma5 = checking(counts, where)
    start = time.perf_counter()
    for k in range(args.count):
        seed = 10_000 + k
        rng = np.random.default_rng(seed)
        n, d = int(rng.integers(30, 1001)), int(rng.integers(2, 7))
        g = series_parallel(n, seed=seed, max_out_degree=d)
        g = g.replace(
            size=rng.integers(0, 30, g.n), workspace=rng.integers(0, 10, g.n)
        )
        where[0] = f"random graph {k} ({g.n} nodes)"
        D.sp_order(g, family="threshold")
    for item in filter(None, args.sizes.split(",")):
        n, seed = map(int, item.split(":"))
        where[0] = f"series_parallel({n}, seed={seed})"
        g = series_parallel(n, seed=seed, max_out_degree=6)
        D.sp_order(g, family="threshold")
    print(
        f"{counts['forks']:,} forks with nested branches compared "
        f"({counts['beyond budgets']} beyond the budgets): "
        f"{counts['misses']} misses, {counts['by peak']} by peak; "
        f"{time.perf_counter() - start:.0f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
