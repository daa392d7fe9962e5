"""Benchmark: one budgeted ideal search, this version against another.

Each case runs :func:`pebble_sched.solvers.ideals.search_budget` at a fixed
budget (the optimum minus one proves a bound by exhausting the lattice; the
optimum finds an order) in a fresh process importing one version or the
other, alternated, ``--reps`` times each: the least time of each, their
ratio, the states, the peak resident memory, and whether both answers
agree (status, value, states).

    git worktree add /tmp/base REV
    python scripts/bench_ideals_versions.py --baseline /tmp/base/src [--reps 2] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"

CHILD = r"""
import json, resource, sys, time
from pebble_sched.formats import read_graph
from pebble_sched.generators import layered, training_like
from pebble_sched.runtime import Deadline
from pebble_sched.solvers.ideals import _Lattice, search_budget
kind, arg, budget, cap = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if kind == "file":
    g = read_graph(arg)
elif kind == "layered":
    n, w, s = map(int, arg.split(","))
    g = layered(n, w, 0.3, seed=s)
else:
    n, s = map(int, arg.split(","))
    g = training_like(n, seed=s)
if budget < 0:  # (the optimum, for the cases' budgets)
    from pebble_sched.solvers.ideals import ideal_search
    print(json.dumps({"optimum": int(ideal_search(g)[1])}))
    sys.exit()
lat = _Lattice(g)
t = time.perf_counter()
r = search_budget(lat, budget, Deadline(600), max_states=cap)
dt = time.perf_counter() - t
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"status": r.status, "value": r.value, "states": r.states,
                  "time": dt, "rss_mb": rss / 1024}))
"""

ROOT = HERE.parent
CASES = [
    # (label, kind, arg, budget)
    (
        "randwire-forward, budget 884,736 (= bound)",
        "file",
        str(ROOT / "instances/nas/randwire-forward.json"),
        884_736,
    ),
    (
        "randwire-forward, budget 983,039 (optimum - 1)",
        "file",
        str(ROOT / "instances/nas/randwire-forward.json"),
        983_039,
    ),
    (
        "train-L5000-s0 (15,001 nodes), budget 248,369 (optimum - 1)",
        "file",
        str(ROOT / "instances/training/train-L5000-s0.json.gz"),
        248_369,
    ),
]


def run(src: Path, kind: str, arg: str, budget: int, cap: int) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, arg, str(budget), str(cap)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def optimum(kind: str, arg: str) -> int:
    """The optimum of a generated case, by the ideal search of this version."""
    return run(SRC, kind, arg, -1, 0)["optimum"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--baseline", type=Path, required=True)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--max-states", type=int, default=6_000_000)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    cases = list(CASES)
    for kind, arg, label in [
        ("layered", "100,8,0", "layered n=100 w=8 seed 0"),
        ("layered", "100,8,1", "layered n=100 w=8 seed 1"),
        ("layered", "60,20,0", "layered n=60 w=20 seed 0"),
        ("train", "67,1", "training_like L=67 seed 1"),
        ("train", "1000,0", "training_like L=1000 seed 0 (3,001 nodes)"),
        ("train", "6000,0", "training_like L=6000 seed 0 (18,001 nodes)"),
    ]:
        opt = optimum(kind, arg)
        cases.append(
            (f"{label}, budget {opt - 1:,} (optimum - 1)", kind, arg, opt - 1)
        )
        cases.append((f"{label}, budget {opt:,} (optimum)", kind, arg, opt))
    rows = [
        "| case | base | new | ratio new/base | states | answers agree | peak RSS base / new |",
        "|---|---|---|---|---|---|---|",
    ]
    print("\n".join(rows), flush=True)
    for label, kind, arg, budget in cases:
        base, new = [], []
        for _ in range(args.reps):
            base.append(run(args.baseline, kind, arg, budget, args.max_states))
            new.append(run(SRC, kind, arg, budget, args.max_states))
        tb = min(r["time"] for r in base)
        tn = min(r["time"] for r in new)
        b, n = base[0], new[0]
        agree = (b["status"], b["value"], b["states"]) == (
            n["status"],
            n["value"],
            n["states"],
        )
        rows.append(
            f"| {label} | {tb:.2f} s ({b['status']}) | {tn:.2f} s ({n['status']}) | "
            f"{tn / tb:.2f} | {b['states']:,} / {n['states']:,} | {'yes' if agree else 'no'} | "
            f"{max(r['rss_mb'] for r in base):.0f} / {max(r['rss_mb'] for r in new):.0f} MB |"
        )
        print(rows[-1], flush=True)
    if args.out:
        args.out.write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
