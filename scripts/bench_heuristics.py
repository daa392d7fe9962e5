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

from pebble_sched.generators import FAMILIES, layered
from pebble_sched.heuristics import HeuristicParams, heuristic_schedule
from pebble_sched.inductor import INDUCTOR_METHODS, input_order
from pebble_sched.memory import evaluate_indices
from pebble_sched.runtime import Deadline


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
    _, peak, stats = heuristic_schedule(
        g, Deadline(time_limit), seed=seed, params=HeuristicParams()
    )
    row["t_ours"] = time.perf_counter() - t0
    row["ours"] = peak
    row["ratio"] = peak / row["inductor"] if row["inductor"] else 1.0
    return row


def evaluator_throughput(n: int = 1_000_000) -> tuple[float, float]:
    g = layered(n, window=8, p=0.3, seed=0)
    order = g.topological_order()
    evaluate_indices(g, order)  # warm the buffer expansion
    t0 = time.perf_counter()
    evaluate_indices(g, order, check=True)
    return g.m, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--time-limit", type=float, default=10.0,
                    help="time limit of our heuristic per graph (s)")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--no-evaluator", action="store_true")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    cols = ["family", "n", "input", "lpmf", "bfs", "dfs", "inductor", "ours",
            "ratio", "t_inductor", "t_ours"]
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
                    f"{r[c]:.3f}" if c == "ratio" else
                    f"{r[c]:.2f}" if c.startswith("t_") else str(r[c])
                    for c in cols
                ]
                print("| " + " | ".join(cells) + " |", flush=True)
    print(f"\nours < inductor on {wins}, = on {ties}, > on {losses} of "
          f"{wins + ties + losses} graphs; geometric mean ratio "
          f"{float(np.exp(np.mean(np.log(ratios)))):.3f}")
    if not args.no_evaluator:
        m, secs = evaluator_throughput()
        print(f"evaluator: 1,000,000 nodes, {int(m):,} edges: {secs:.2f} s "
              f"(checked order)")


if __name__ == "__main__":
    main()
