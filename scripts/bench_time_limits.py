"""Benchmark: is the time limit a promise? Wall-clock overruns of ``solve``.

Runs ``pebble-sched solve GRAPH --time-limit T --output OUT`` as a separate
process (the way a user runs it) over every shipped instance family plus a
DAGGEN-style random family, ``--jobs`` at a time on the machine's cores (the
default, 2 jobs on 2 cores, is a loaded machine: each run competes with
another). Records per run the wall time of the whole process (start-up,
reading, solving, writing), its exit status and the schedule's status, and
reports per size class the distribution of the overrun (wall - T), the runs
above T + 0.5 s, and the runs that exited 130 ("interrupted") although no
signal was sent.

``--pythonpath DIR`` runs another checkout's ``src`` (the baseline: the
same machine, the same run, another version), so before and after are
measured side by side.

    python scripts/bench_time_limits.py [--time-limit 2] [--jobs 2]
        [--repeat 1] [--daggen 20] [--pythonpath OLD/src] [--out FILE.csv]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from pebble_sched.bench.instances import find_instances, instance_name
from pebble_sched.formats import read_graph, write_graph
from pebble_sched.generators import daggen

ROOT = Path(__file__).resolve().parent.parent
CLASSES = (
    (0, 100, "n < 100"),
    (100, 1000, "100 <= n < 1,000"),
    (1000, 10**4, "1,000 <= n < 10,000"),
    (10**4, 10**9, "n >= 10,000"),
)


def size_class(n: int) -> str:
    return next(name for lo, hi, name in CLASSES if lo <= n < hi)


def daggen_family(count: int, folder: Path) -> list[Path]:
    """DAGGEN-style graphs of 100 to 300 nodes, the shapes of issue #12."""
    paths = []
    for k in range(count):
        n = (100, 150, 200, 300)[k % 4]
        fat, density = (0.8, 0.8) if k % 2 == 0 else (0.5, 0.5)
        g = daggen(n, fat=fat, density=density, regularity=0.8, jump=4, seed=k)
        path = folder / f"daggen-{k}.json"
        write_graph(path, g)
        paths.append(path)
    return paths


def run_one(path: Path, limit: float, pythonpath: str | None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "s.json"
        t0 = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pebble_sched",
                "solve",
                str(path),
                "--time-limit",
                str(limit),
                "--output",
                str(out),
            ],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        wall = time.monotonic() - t0
        status = ""
        if out.exists():
            status = json.loads(out.read_text()).get("status", "")
    return {
        "wall": wall,
        "exit": proc.returncode,
        "status": status,
        "stderr": proc.stderr.strip().splitlines()[-1:],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=2.0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--daggen", type=int, default=20)
    ap.add_argument("--pythonpath", default=None)
    ap.add_argument("--sets", nargs="*", default=[str(ROOT / "instances")])
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        paths = [f for s in find_instances(args.sets) for f in s.files]
        paths += daggen_family(args.daggen, Path(tmp))
        sizes = {p: read_graph(p).n for p in paths}
        work = [p for _ in range(args.repeat) for p in paths]
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(
                pool.map(
                    lambda p: run_one(p, args.time_limit, args.pythonpath),
                    work,
                )
            )
    rows = []
    for p, r in zip(work, results, strict=True):
        fam = "daggen" if p.name.startswith("daggen-") else p.parent.name
        rows.append(
            {
                "instance": f"{fam}/{instance_name(p)}",
                "n": sizes[p],
                "class": size_class(sizes[p]),
                "wall_s": round(r["wall"], 3),
                "overrun_s": round(r["wall"] - args.time_limit, 3),
                "exit": r["exit"],
                "status": r["status"],
                "last_line": " ".join(r["stderr"]),
            }
        )
    if args.out:
        with open(args.out, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    limit = args.time_limit
    print(
        f"time limit {limit:g} s, {args.jobs} jobs on {os.cpu_count()} "
        f"cores, {len(rows)} runs ({args.pythonpath or 'this checkout'})"
    )
    print(
        "| size class | runs | median overrun | p90 | max | > T+0.5 s "
        "| exit 130 | other failures |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for _, _, name in CLASSES:
        sel = [r for r in rows if r["class"] == name]
        if not sel:
            continue
        over = np.array([r["overrun_s"] for r in sel])
        late = int((over > 0.5).sum())
        spurious = sum(r["exit"] == 130 for r in sel)
        other = sum(r["exit"] not in (0, 130) for r in sel)
        print(
            f"| {name} | {len(sel)} | {np.median(over):+.2f} s | "
            f"{np.percentile(over, 90):+.2f} s | {over.max():+.2f} s | "
            f"{late} | {spurious} | {other} |"
        )
    worst = sorted(rows, key=lambda r: -r["overrun_s"])[:5]
    print(
        "worst:",
        ", ".join(f"{r['instance']} {r['wall_s']:.2f} s" for r in worst),
    )


if __name__ == "__main__":
    main()
