"""Benchmark: ``auto`` with and without its beam starts (or another of its
switches, ``--switch``), in one run.

``auto`` runs beam searches over the ideals on graphs that are not SP
(``AUTO_BEAM`` in :mod:`pebble_sched.solve`), each order then improved by
the local search. This script solves each graph twice, alternating the two
modes (beam starts off, then on), with the same time limit and seed, and
prints peak, bound, status and time of each with the peak ratio
with/without. Graphs: random SP graphs of ``--near-n`` nodes plus k cross
edges (``near_series_parallel``, unbounded out-degree), and the shipped
instances whose index says ``best`` (not proven) or ``--also`` names,
up to ``AUTO_BEAM_MAX_NODES`` nodes.

    python scripts/bench_beam.py [--time-limit 30] [--near-n 300]
        [--near-k 4,8] [--near-seeds 3] [--instances] [--also nas]
        [--switch AUTO_PAIR_BOUND]
"""

from __future__ import annotations

import argparse
import csv
import importlib
from pathlib import Path

from pebble_sched import solve
from pebble_sched.formats import read_graph
from pebble_sched.generators import near_series_parallel

ROOT = Path(__file__).resolve().parent.parent


def shipped(also: list[str], limit: int) -> list[tuple[str, object]]:
    """The shipped instances not proven optimal (and every instance of the
    sets in ``also``) of at most ``limit`` nodes."""
    out = []
    for index in sorted((ROOT / "instances").glob("*/index.csv")):
        folder = index.parent
        with index.open() as f:
            for row in csv.DictReader(f):
                if int(row["n"]) > limit:
                    continue
                if row["status"] == "opt" and folder.name not in also:
                    continue
                name = row["instance"]
                path = next(
                    (
                        p
                        for p in (
                            folder / f"{name}.json",
                            folder / f"{name}.json.gz",
                        )
                        if p.exists()
                    ),
                    None,
                )
                if path is not None:
                    out.append((f"{folder.name}/{name}", read_graph(path)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--near-n", type=int, default=300)
    ap.add_argument("--near-k", default="4,8")
    ap.add_argument("--near-seeds", type=int, default=3)
    ap.add_argument(
        "--instances",
        action="store_true",
        help="also the shipped instances not proven optimal",
    )
    ap.add_argument(
        "--seeds",
        default="0",
        help="solve seeds (comma-separated): each graph is solved once per "
        "seed in each mode",
    )
    ap.add_argument(
        "--only",
        default="",
        help="keep only the graphs whose name contains one of these "
        "(comma-separated)",
    )
    ap.add_argument(
        "--also",
        default="",
        help="instance sets (folders) solved whole, proven or not",
    )
    ap.add_argument(
        "--switch",
        default="AUTO_BEAM",
        help="the flag of pebble_sched.solve turned off and on "
        "(AUTO_BEAM, AUTO_PAIR_BOUND)",
    )
    args = ap.parse_args()
    auto = importlib.import_module("pebble_sched.solve")
    if not isinstance(getattr(auto, args.switch, None), bool):
        ap.error(f"{args.switch} is not a switch of pebble_sched.solve")
    graphs = []
    for k in [int(x) for x in args.near_k.split(",") if x]:
        for seed in range(args.near_seeds):
            g = near_series_parallel(
                args.near_n, k, seed=seed, max_out_degree=None
            )
            graphs.append((f"near-SP n={args.near_n} k={k} seed {seed}", g))
    if args.instances or args.also:
        also = [x for x in args.also.split(",") if x]
        graphs += shipped(also, auto.AUTO_BEAM_MAX_NODES)
    only = [x for x in args.only.split(",") if x]
    if only:
        graphs = [(n, g) for n, g in graphs if any(o in n for o in only)]
    seeds = [int(x) for x in args.seeds.split(",")]
    print(
        "| graph | n | seed | without: peak / bound | status | time "
        "| with: peak / bound | status | time | peak with/without |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    better = worse = 0
    ratios = []
    proven = {False: 0, True: 0}
    total = {False: 0.0, True: 0.0}
    for name, g in graphs:
        for seed in seeds:
            cells = {}
            for on in (False, True):
                setattr(auto, args.switch, on)
                cells[on] = solve(g, time_limit=args.time_limit, seed=seed)
            setattr(auto, args.switch, True)
            a, b = cells[False], cells[True]
            for on, r in cells.items():
                proven[on] += r.status.value == "optimal"
                total[on] += r.time_s
            better += b.peak < a.peak
            worse += b.peak > a.peak
            ratios.append(b.peak / a.peak)
            print(
                f"| {name} | {g.n} | {seed} | {a.peak} / {a.lower_bound} | "
                f"{a.status.value} | {a.time_s:.1f} s | {b.peak} / "
                f"{b.lower_bound} | {b.status.value} | {b.time_s:.1f} s | "
                f"{b.peak / a.peak:.3f} |",
                flush=True,
            )
    print()
    mean = sum(ratios) / max(len(ratios), 1)
    print(
        f"With {args.switch} on: lower peak in {better} runs, higher in "
        f"{worse}, of {len(ratios)}; mean peak ratio {mean:.4f}; proven "
        f"{proven[True]} with, {proven[False]} without; {total[True]:.1f} s "
        f"with, {total[False]:.1f} s without."
    )


if __name__ == "__main__":
    main()
