"""Benchmark: our default heuristic against the Inductor baselines.

For each generated family and size, prints the peak of the input order,
LPMF, BFS, DFS, Inductor's choice (best of those four), ours, and the ratio
ours / Inductor, plus the time of each; then the evaluator's throughput on a
1M-node graph. All figures come from this one run.

    python scripts/bench_heuristics.py [--sizes 1000,10000,100000] [--seeds 3]
        [--time-limit S] [--markdown]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from pebble_sched.bounds import lower_bound
from pebble_sched.generators import FAMILIES, layered
from pebble_sched.memory import evaluate, evaluate_indices
from pebble_sched.runtime import Deadline
from pebble_sched.solvers.heuristics import HeuristicParams, heuristic_schedule
from pebble_sched.solvers.inductor import INDUCTOR_METHODS, input_order


def run(family: str, n: int, seed: int, time_limit: float) -> dict:
    g = FAMILIES[family](n, seed)
    row = {"family": family, "n": g.n, "m": g.m, "seed": seed}
    t0 = time.perf_counter()
    row["input"] = evaluate_indices(g, input_order(g), check=False).peak
    for name, fn in INDUCTOR_METHODS.items():
        row[name] = evaluate_indices(g, fn(g), check=False).peak
    row["t_inductor"] = time.perf_counter() - t0
    row["inductor"] = min(row["input"], row["lpmf"], row["bfs"], row["dfs"])
    t0 = time.perf_counter()
    _, peak, _stats = heuristic_schedule(
        g, Deadline(time_limit), seed=seed, params=HeuristicParams()
    )
    row["t_ours"] = time.perf_counter() - t0
    row["ours"] = peak
    row["ratio"] = peak / row["inductor"] if row["inductor"] else 1.0
    row["lb"] = lower_bound(g)
    return row


def evaluator_throughput(
    n: int = 1_000_000,
) -> tuple[int, float, float, float]:
    """Edges, first evaluation (expands buffers), repeat, and by external ids."""
    g = layered(n, window=8, p=0.3, seed=0)
    order = g.topological_order()
    t0 = time.perf_counter()
    evaluate_indices(g, order)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    evaluate_indices(g, order, check=True)
    again = time.perf_counter() - t0
    ids = [g.ids[v] for v in order.tolist()]
    t0 = time.perf_counter()
    evaluate(g, ids)
    by_ids = time.perf_counter() - t0
    return g.m, first, again, by_ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument(
        "--time-limit",
        type=float,
        default=10.0,
        help="time limit of our heuristic per graph (s)",
    )
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--no-evaluator", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cols = [
        "family",
        "n",
        "input",
        "lpmf",
        "bfs",
        "dfs",
        "inductor",
        "ours",
        "ratio",
        "lb",
        "t_inductor",
        "t_ours",
    ]
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    wins = ties = losses = 0
    ratios = []
    for fam in args.families.split(","):
        for n in sizes:
            for seed in range(args.seeds):
                r = run(fam, n, seed, args.time_limit)
                ratios.append(r["ratio"])
                wins += r["ours"] < r["inductor"]
                ties += r["ours"] == r["inductor"]
                losses += r["ours"] > r["inductor"]
                cells = [
                    f"{r[c]:.3f}"
                    if c == "ratio"
                    else f"{r[c]:.2f}"
                    if c.startswith("t_")
                    else str(r[c])
                    for c in cols
                ]
                print("| " + " | ".join(cells) + " |", flush=True)
    print(
        f"\nours < inductor on {wins}, = on {ties}, > on {losses} of "
        f"{wins + ties + losses} graphs; geometric mean ratio "
        f"{float(np.exp(np.mean(np.log(ratios)))):.3f}"
    )
    if not args.no_evaluator:
        m, first, again, by_ids = evaluator_throughput()
        print(
            f"evaluator, 1,000,000 nodes and {m:,} edges, order checked: "
            f"{first:.2f} s first call (expands buffers), {again:.2f} s "
            f"again, {by_ids:.2f} s with external ids (evaluate())"
        )


if __name__ == "__main__":
    main()
