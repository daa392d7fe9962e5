"""Benchmark: Liu's algorithm and the priority order, Python against compiled.

The two steps of the Liu relaxation (:func:`pebble_sched.solvers.heuristics.
liu_relaxation_order`) and the exact solver of in-trees, on random in-trees
(``in_tree(n, max_workspace=5)``) and on the spanning in-forest of random
SP graphs (``series_parallel(n, max_out_degree=6)``, each node's parent its
successor that runs last in the input order), in one process with numba
loaded: each step in Python (:mod:`pebble_sched.solvers.trees`,
:mod:`pebble_sched.solvers.heuristics`) and compiled
(:mod:`pebble_sched.solvers.liu_arrays`), alternated ``--reps`` times, the
least time of each and their ratio, and whether the orders are the same.

    python scripts/bench_liu.py --sizes 100000,1000000 --reps 3 --out F.md
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from pebble_sched.generators import in_tree, series_parallel
from pebble_sched.solvers import heuristics, liu_arrays, trees
from pebble_sched.solvers.inductor import input_order


def in_python(fn):
    """``fn`` with the compiled path switched off (as without numba)."""

    def run():
        saved = trees.arrays_for, heuristics.arrays_for
        trees.arrays_for = heuristics.arrays_for = lambda n, deadline=None: (
            None
        )
        try:
            return fn()
        finally:
            trees.arrays_for, heuristics.arrays_for = saved

    return run


def least(fn, reps: int, other) -> tuple[float, float, object, object]:
    """Least times of ``fn`` and ``other`` called alternately ``reps``
    times, and their last answers."""
    mine, theirs = [], []
    a = b = None
    for _ in range(reps):
        t = time.perf_counter()
        a = fn()
        mine.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = other()
        theirs.append(time.perf_counter() - t)
    return min(mine), min(theirs), a, b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if not liu_arrays.COMPILED:
        raise SystemExit("numba is not installed: nothing to compare")
    liu_arrays.warm()
    rows = [
        "| graph | step | Python | compiled | ratio | same order |",
        "|---|---|---|---|---|---|",
    ]
    for n in (int(x) for x in args.sizes.split(",")):
        for name, g in (
            (f"in-tree, {n:,} nodes", in_tree(n, seed=0, max_workspace=5)),
            (
                f"SP, {n:,} nodes",
                series_parallel(n, seed=1, max_out_degree=6),
            ),
        ):
            parent = heuristics.relaxation_forest(g, input_order(g))
            out, work = trees.tree_weights(g)
            lists = (parent.tolist(), out.tolist(), work.tolist())
            py_t, c_t, py_o, c_o = least(
                in_python(lambda lists=lists: trees.liu_schedule(*lists)),
                args.reps,
                lambda p=parent, o=out, w=work: liu_arrays.liu_schedule(
                    p, o, w
                ),
            )
            same = py_o == c_o.tolist()
            rows.append(
                f"| {name} | Liu's algorithm | {py_t:.3f} s | {c_t:.3f} s "
                f"| {c_t / py_t:.3f} | {same} |"
            )
            print(rows[-1], flush=True)
            rank = np.empty(g.n, dtype=np.int64)
            rank[c_o] = np.arange(g.n)
            py_t, c_t, py_o, c_o = least(
                in_python(
                    lambda g=g, rank=rank: heuristics.priority_order(g, rank)
                ),
                args.reps,
                lambda g=g, rank=rank: liu_arrays.priority_order(
                    g.succ_ptr, g.succ_idx, g.indegree, rank
                ),
            )
            same = py_o.tolist() == c_o.tolist()
            rows.append(
                f"| {name} | priority order | {py_t:.3f} s | {c_t:.3f} s "
                f"| {c_t / py_t:.3f} | {same} |"
            )
            print(rows[-1], flush=True)
    text = "\n".join(rows) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
