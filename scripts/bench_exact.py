"""Benchmark: time to a proven optimum, ours (``auto``) vs plain CP-SAT.

The baseline is the plain CP-SAT model (positions + all-different +
precedences + cumulative over buffer lifetimes; no hint, no bounds, no
symmetry breaking), run with the same time limit and all cores. For each
instance, prints both methods' peak, proven lower bound, gap and time, and
the time ratio; then the ideal search's throughput where it must enumerate.

    python scripts/bench_exact.py [--time-limit 60] [--seeds 2] [--quick]
"""

from __future__ import annotations

import argparse
import time

from pebble_sched import solve
from pebble_sched.generators import layered, training_like
from pebble_sched.runtime import Deadline
from pebble_sched.solvers.heuristics import heuristic_schedule
from pebble_sched.solvers.ideals import _Lattice, search_budget


def instances(seeds: int, quick: bool):
    for s in range(seeds):
        yield f"layered-n100-w8-p0.3-s{s}", layered(100, 8, 0.3, seed=s)
        if not quick:
            yield f"layered-n150-w8-p0.3-s{s}", layered(150, 8, 0.3, seed=s)
            yield f"wide-n60-w20-p0.1-s{s}", layered(60, 20, 0.1, seed=s)
            yield (
                f"train-L{34 + 33 * s}-s{s}",
                training_like(34 + 33 * s, seed=s),
            )
            yield (
                f"train-L{100}-s{s}-nokeep",
                training_like(100, seed=s, keep_outputs=False),
            )


def fmt(s) -> tuple[str, str, str, str]:
    gap = f"{100 * s.gap:.1f}%"
    return str(s.peak), str(s.lower_bound), gap, f"{s.time_s:.2f}"


def throughput() -> str:
    """States per second of budgeted searches that must enumerate (infeasible budgets)."""
    rows = []
    for seed in range(3):
        g = layered(60, 20, 0.1, seed=seed)
        _order, ub, _ = heuristic_schedule(g)
        lat = _Lattice(g)
        t0 = time.perf_counter()
        r = search_budget(lat, ub - 1, Deadline(120), free_moves=False)
        secs = time.perf_counter() - t0
        rows.append((r.states, secs))
    states = sum(r[0] for r in rows)
    secs = sum(r[1] for r in rows)
    return (
        f"ideal search without free moves, wide n=60 graphs: {states:,} ideals "
        f"in {secs:.2f} s = {states / secs:,.0f} ideals/s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument(
        "--quick", action="store_true", help="one family, for a smoke test"
    )
    args = ap.parse_args()
    print(
        "| instance | n | ours peak | ours lb | ours gap | ours s | method "
        "| plain peak | plain lb | plain gap | plain s | time ratio |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, g in instances(args.seeds, args.quick):
        ours = solve(g, "auto", time_limit=args.time_limit)
        plain = solve(g, "cpsat", time_limit=args.time_limit, plain=True)
        ratio = ours.time_s / plain.time_s if plain.time_s else float("nan")
        print(
            f"| {name} | {g.n} | "
            + " | ".join(fmt(ours))
            + f" | {ours.method} | "
            + " | ".join(fmt(plain))
            + f" | {ratio:.3f} |",
            flush=True,
        )
    print()
    print(throughput())


if __name__ == "__main__":
    main()
