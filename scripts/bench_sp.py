"""Benchmark: the dominant-schedule solver on series-parallel graphs.

Three tables, every ratio against a baseline measured in the same run:

1. *vs the general exact solvers*: on small SP graphs, pumpkins and
   out-trees, the time of :func:`pebble_sched.solvers.dominant.sp_order` against the
   ideal search and CP-SAT (each with ``--time-limit``), with the peaks
   and what each proved;
2. *scaling with n* at a fixed maximum out-degree d (random SP graphs with
   ``max_out_degree=d``): time, whether the result is proven optimal, the
   forks decided by the threshold family (Lemma 5) or by coordinate
   descent, and the peak against Inductor's;
3. *scaling with d*: pumpkins of about ``--pumpkin-n`` nodes with d chains;
4. *edge-weighted SP graphs* (every release fixed) of 10^3 to 10^5 nodes:
   the merge of :mod:`pebble_sched.solvers.sp_merge` against the ideal
   search, CP-SAT (up to 10^4 nodes) and Inductor, all through ``solve``;
5. *one process or two* (``workers``): ``sp_order`` with ``workers=1``
   and ``workers=2`` alternated on the graphs of table 2 (and 10^6 nodes
   with ``--million``) and pumpkins with d = 8, 12, 16, the least time of
   each and their ratio;
6. *near-SP graphs* (``near``): SP graphs of ``--near-n`` nodes with k
   cross edges, ``solve`` (auto, ``--time-limit``) with the closed SP
   regions fixed to their dominant orders and the ideal search's chain
   atoms, against the same portfolio without either, alternated in one
   run: time, status, peak, bound (``--near-toggle near-sp``, ``beam``,
   ``pair``, ``interleave``, ``compiled`` or ``beam-arrays``: with and
   without the near-SP orders of :mod:`pebble_sched.solvers.near_sp`, the
   beam starts, the pair bound, the local search's interleave moves, their
   and the window moves' compiled programs or the beam searches' compiled
   layers instead; ``cpsat``: auto against CP-SAT alone);
7. *two versions* (``versions``, with ``--baseline SRC``, the ``src``
   folder of another checkout, e.g. ``git worktree add /tmp/base REV``):
   ``sp_order(g, workers=2)`` on the graphs of table 5, each run in a
   fresh process importing one version or the other, alternated, the
   least time of each, their ratio, and both answers and peak memory;
8. *bounds* (``bounds``): ``solve(g, method="sp")`` on SP graphs of each
   size (seed n, then 1 to ``--seeds``, 3 by default), each in a fresh
   process: whether the solver proved its order, the bound reported and
   the fork relaxation's, the status.
9. *time limits* (``limits``, with ``--baseline SRC``): ``solve(g,
   time_limit=T)`` for each T of ``--limits`` on SP graphs of each size,
   seeds 1 to ``--seeds`` (3 by default), both versions in fresh
   processes, alternated: time, status, peak, bound, proof pass.

Tables 2 and 3 run both fork families: ``auto`` (all pre-release ideals,
enumerated or Pareto-pruned, the threshold family beyond the budgets) and
``threshold`` (Lemma 5 on every fork: exact on flat forks such as
pumpkins, conjectured on forks with nested branches), with the time ratio
threshold/auto.

    python scripts/bench_sp.py [--time-limit 30] [--quick] [--tables exact,n,workers,d,edges,near,versions,nested,bounds,limits]
        [--reps 3] [--million] [--baseline SRC] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from pebble_sched import Graph, solve
from pebble_sched.generators import pumpkin, series_parallel
from pebble_sched.memory import evaluate_indices
from pebble_sched.solvers.dominant import sp_order
from pebble_sched.solvers.inductor import inductor_order
from pebble_sched.solvers.sp_merge import sp_merge_order


def bounded_out_tree(n: int, d: int, seed: int, max_size: int = 100) -> Graph:
    """A random out-tree whose nodes have at most d children."""
    rng = np.random.default_rng(seed)
    children = [0] * n
    open_nodes = [0]
    edges = []
    for v in range(1, n):
        k = int(rng.integers(len(open_nodes)))
        p = open_nodes[k]
        edges.append((p, v))
        children[p] += 1
        if children[p] == d:
            open_nodes[k] = open_nodes[-1]
            open_nodes.pop()
        open_nodes.append(v)
    sizes = rng.integers(1, max_size + 1, n)
    return Graph(range(n), edges, size=sizes, name=f"outtree-n{n}-d{d}")


def timed_sp(g: Graph, family: str = "auto"):
    t0 = time.perf_counter()
    r = sp_order(g, family=family)
    return r, time.perf_counter() - t0


FAMILY_COLUMNS = (
    "time auto | proven | threshold forks | capped | peak auto | "
    "time threshold | peak threshold | time ratio thr/auto"
)


def family_cells(g: Graph) -> tuple[str, int]:
    """Both families on g: the table cells, and the lower of the two peaks."""
    r, t = timed_sp(g, "auto")
    q, u = timed_sp(g, "threshold")
    cells = (
        f"{t:.2f} s | {'yes' if r.exact else 'no'} | {r.conjectured} | "
        f"{r.capped} | {r.peak} | {u:.2f} s | {q.peak} | {u / t:.3f}"
    )
    return cells, min(r.peak, q.peak)


def table_exact(limit: float, quick: bool) -> list[str]:
    cases = [
        ("sp n=40 d<=4", series_parallel(40, seed=1, max_out_degree=4)),
        ("sp n=60 d<=4", series_parallel(60, seed=2, max_out_degree=4)),
        ("pumpkin d=3 len 8-12", pumpkin(3, 8, 12, seed=3)),
        ("out-tree n=40 d<=3", bounded_out_tree(40, 3, seed=4)),
    ]
    if not quick:
        cases += [
            ("sp n=100 d<=4", series_parallel(100, seed=5, max_out_degree=4)),
            ("sp n=150 d<=6", series_parallel(150, seed=6, max_out_degree=6)),
            ("pumpkin d=4 len 10-20", pumpkin(4, 10, 20, seed=7)),
            ("out-tree n=80 d<=3", bounded_out_tree(80, 3, seed=8)),
            ("out-tree n=150 d<=4", bounded_out_tree(150, 4, seed=9)),
        ]
    rows = [
        "| instance | n | SP peak | SP proven | SP time | ideals peak / bound | ideals time | CP-SAT peak / bound | CP-SAT time | time ratio SP/ideals | SP/CP-SAT |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, g in cases:
        r, t_sp = timed_sp(g)
        res = {}
        for method in ("ideals", "cpsat"):
            s = solve(g, method=method, time_limit=limit)
            res[method] = s
        i, c = res["ideals"], res["cpsat"]
        rows.append(
            f"| {name} | {g.n} | {r.peak} | {'yes' if r.exact else 'no'} | "
            f"{t_sp:.3f} s | {i.peak} / {i.lower_bound} | {i.time_s:.2f} s | "
            f"{c.peak} / {c.lower_bound} | {c.time_s:.2f} s | "
            f"{t_sp / i.time_s:.4f} | {t_sp / c.time_s:.4f} |"
        )
        print(rows[-1], flush=True)
    return rows


def table_scaling_n(d: int, sizes: list[int]) -> list[str]:
    rows = [
        f"| n (d <= {d}) | forks | {FAMILY_COLUMNS} | Inductor peak | best/Inductor | Inductor time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sizes:
        g = series_parallel(n, seed=n, max_out_degree=d)
        cells, best = family_cells(g)
        t0 = time.perf_counter()
        base = inductor_order(g)[0]
        t_ind = time.perf_counter() - t0
        ind = evaluate_indices(g, base, check=False).peak
        forks = sp_order(g, family="threshold").forks
        rows.append(
            f"| {n:,} | {forks} | {cells} | {ind} | {best / ind:.3f} | {t_ind:.2f} s |"
        )
        print(rows[-1], flush=True)
    return rows


def table_workers(
    d: int, sizes: list[int], degrees: list[int], pumpkin_n: int, reps: int
) -> list[str]:
    """``sp_order`` in one process and in two (``workers=2``), alternated
    ``reps`` times on the same graph: the least time of each, the ratio,
    and the answer (it must be the same). Random SP graphs of the given
    sizes, then pumpkins of about ``pumpkin_n`` nodes with those degrees."""
    rows = [
        "| graph | n | 1 process | 2 processes | ratio 2/1 | same peak | "
        "peak | proven | Lemma 5 forks | capped |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    cases = [
        (f"sp d <= {d}", series_parallel(n, seed=n, max_out_degree=d))
        for n in sizes
    ]
    for k in degrees:
        length = max(1, (pumpkin_n - 2) // k)
        cases.append((f"pumpkin d = {k}", pumpkin(k, length, length, seed=k)))
    for name, g in cases:
        times: dict[int, list[float]] = {1: [], 2: []}
        peaks = set()
        for _ in range(reps):
            for w in (1, 2):
                t0 = time.perf_counter()
                r = sp_order(g, workers=w)
                times[w].append(time.perf_counter() - t0)
                peaks.add(r.peak)
        one, two = min(times[1]), min(times[2])
        rows.append(
            f"| {name} | {g.n:,} | {one:.2f} s | {two:.2f} s | {two / one:.2f} | "
            f"{'yes' if len(peaks) == 1 else 'NO'} | {r.peak} | "
            f"{'yes' if r.exact else 'no'} | {r.conjectured} | {r.capped} |"
        )
        print(rows[-1], flush=True)
    return rows


_FRESH = """
import json, resource, sys, threading, time
sys.setrecursionlimit(10**6)
threading.stack_size(512 * 1024 * 1024)
"""
"""What every script run in a fresh process starts with (large SP graphs
are solved in a thread with a deep stack)."""


def _fresh_run(script: str, src: Path, *args) -> dict:
    """``script`` (after ``_FRESH``) in a fresh Python importing the
    package from ``src``, with ``args``: the JSON it prints."""
    run = subprocess.run(
        [sys.executable, "-c", _FRESH + script, *map(str, args)],
        env=dict(os.environ, PYTHONPATH=str(src)),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


_ONE_RUN = """
import pebble_sched
from pebble_sched.generators import pumpkin, series_parallel
from pebble_sched.solvers.dominant import sp_order
kind, n, length = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
g = (series_parallel(n, seed=length or n, max_out_degree=6) if kind == "sp"
     else pumpkin(n, length, length, seed=n))
out = {}
def run():
    t = time.perf_counter()
    r = sp_order(g, workers=2, family=sys.argv[4])
    out.update(s=time.perf_counter() - t, peak=int(r.peak), exact=r.exact,
               conjectured=r.conjectured, capped=r.capped)
th = threading.Thread(target=run)
th.start()
th.join()
use = resource.getrusage
out["mb"] = use(resource.RUSAGE_SELF).ru_maxrss // 1024
out["child_mb"] = use(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
out["src"] = pebble_sched.__file__
print(json.dumps(out))
"""


def table_versions(
    baseline: Path,
    sizes: list[int],
    degrees: list[int],
    pumpkin_n: int,
    reps: int,
    seeds: int = 0,
    family: str = "auto",
) -> list[str]:
    """``sp_order(g, workers=2, family=family)`` of the version in ``baseline`` (a ``src``
    folder) against this one, each run in a fresh process, alternated:
    the least time of each, their ratio, the answers and peak memory. SP
    graphs of each size: seed n, then seeds 1 to ``seeds`` below 10^6."""
    here = Path(__file__).resolve().parent.parent / "src"
    rows = [
        "| graph | n | baseline | this | ratio | same answer | peak | proven "
        "| Lemma 5 forks | capped | memory MB (solver + child), baseline -> this |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    cases = [("sp", n, 0, f"sp d <= 6, {n:,} nodes") for n in sizes]
    cases += [
        ("sp", n, seed, f"sp d <= 6, {n:,} nodes, seed {seed}")
        for n in sizes
        if n < 1_000_000
        for seed in range(1, seeds + 1)
    ]
    for d in degrees:
        length = max(1, (pumpkin_n - 2) // d)
        cases.append(("pumpkin", d, length, f"pumpkin d = {d}"))
    for kind, n, length, name in cases:
        got: dict[str, list[dict]] = {"base": [], "this": []}
        for _ in range(reps if n < 1_000_000 else 1):
            for which, src in (("base", baseline), ("this", here)):
                r = _fresh_run(_ONE_RUN, src, kind, n, length, family)
                assert r["src"].startswith(str(src)), r["src"]
                got[which].append(r)
        best = {k: min(v, key=lambda r: r["s"]) for k, v in got.items()}
        a, b = best["base"], best["this"]
        answers = {(r["peak"], r["exact"]) for v in got.values() for r in v}
        rows.append(
            f"| {name} | {n if kind == 'sp' else n * length + 2:,} | "
            f"{a['s']:.2f} s | {b['s']:.2f} s | {b['s'] / a['s']:.2f} | "
            f"{'yes' if len(answers) == 1 else 'NO'} | {b['peak']} | "
            f"{'yes' if b['exact'] else 'no'} | {b['conjectured']} | "
            f"{b['capped']} | {a['mb']} + {a['child_mb']} -> "
            f"{b['mb']} + {b['child_mb']} |"
        )
        print(rows[-1], flush=True)
    return rows


_MANY_RUN = """
import numpy as np
import pebble_sched
from pebble_sched.generators import series_parallel
from pebble_sched.solvers.dominant import sp_order
count, family = int(sys.argv[1]), sys.argv[2]
out = dict(s=0.0, forks=0, conjectured=0, proven=0, graphs=0, peaks=[])
for seed in range(count):
    rng = np.random.default_rng(seed)
    n, d = int(rng.integers(30, 1001)), int(rng.integers(2, 7))
    g = series_parallel(n, seed=seed, max_out_degree=d)
    g = g.replace(size=rng.integers(0, 30, g.n),
                  workspace=rng.integers(0, 10, g.n))
    t = time.perf_counter()
    r = sp_order(g, family=family)
    out["s"] += time.perf_counter() - t
    out["forks"] += r.forks
    out["conjectured"] += r.conjectured
    out["graphs"] += r.conjectured > 0
    out["proven"] += r.exact
    out["peaks"].append(int(r.peak))
out["src"] = pebble_sched.__file__
print(json.dumps(out))
"""


def table_nested(baseline: Path, count: int, reps: int) -> list[str]:
    """Random SP graphs of 30 to 1,000 nodes (out-degree 2 to 6, random
    sizes and workspaces), every one solved by the version in
    ``baseline`` and by this one with each family, in fresh processes,
    alternated: total time (least of ``reps``), forks left to the
    conjectured part of Lemma 5, graphs proven optimal."""
    here = Path(__file__).resolve().parent.parent / "src"
    rows = [
        "| family | graphs | forks | baseline | this | ratio | same peaks "
        "| conjectured forks (graphs), baseline -> this | proven, "
        "baseline -> this |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for family in ("threshold", "auto"):
        got: dict[str, list[dict]] = {"base": [], "this": []}
        for _ in range(reps):
            for which, src in (("base", baseline), ("this", here)):
                r = _fresh_run(_MANY_RUN, src, count, family)
                assert r["src"].startswith(str(src)), r["src"]
                got[which].append(r)
        a, b = (min(got[k], key=lambda r: r["s"]) for k in ("base", "this"))
        rows.append(
            f"| {family} | {count} | {b['forks']:,} | {a['s']:.2f} s | "
            f"{b['s']:.2f} s | {b['s'] / a['s']:.2f} | "
            f"{'yes' if a['peaks'] == b['peaks'] else 'NO'} | "
            f"{a['conjectured']:,} ({a['graphs']}) -> "
            f"{b['conjectured']:,} ({b['graphs']}) | "
            f"{a['proven']} -> {b['proven']} |"
        )
        print(rows[-1], flush=True)
    return rows


_BOUND_RUN = """
from pebble_sched import solve
from pebble_sched.generators import series_parallel
n, seed = int(sys.argv[1]), int(sys.argv[2])
g = series_parallel(n, seed=seed, max_out_degree=6)
out = {}
def run():
    t = time.perf_counter()
    r = solve(g, method="sp")
    out.update(s=time.perf_counter() - t, peak=int(r.peak),
               bound=int(r.lower_bound), status=r.status.value,
               relaxed=r.stats.get("relaxation_bound"),
               conjectured=r.stats.get("conjectured_forks", 0),
               exact=bool(r.stats.get("exact")),
               proof=r.stats.get("sp_proof"))
th = threading.Thread(target=run)
th.start()
th.join()
print(json.dumps(out))
"""


def table_bounds(sizes: list[int], seeds: int) -> list[str]:
    """``solve(g, method="sp")`` without a time limit on SP graphs of each
    size (seed n, then 1 to ``seeds``), each in a fresh process: peak, the
    bound solve reports, the fork relaxation's bound (after an SP order the
    solver did not prove), the second pass with the threshold family on
    graphs above ``LARGE`` nodes (forks it left to the conjecture, its
    time), status and time."""
    rows = [
        "| n | seed | peak | proven by the solver | Lemma 5 forks | "
        "bound | relaxation bound | threshold pass: Lemma 5 forks (time) "
        "| status | time |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    here = Path(__file__).resolve().parent.parent / "src"
    proven = total = 0
    for n in sizes:
        for seed in [n, *range(1, seeds + 1)]:
            r = _fresh_run(_BOUND_RUN, here, n, seed)
            total += 1
            proven += r["status"] == "optimal"
            relaxed = "-" if r["relaxed"] is None else r["relaxed"]
            proof = r.get("proof")
            second = (
                "-"
                if proof is None
                else f"{proof['conjectured_forks']} ({proof['time_s']:.1f} s"
                + (", first)" if proof.get("first") else ")")
            )
            rows.append(
                f"| {n:,} | {seed} | {r['peak']} | "
                f"{'yes' if r['exact'] else 'no'} | {r['conjectured']} | "
                f"{r['bound']} | {relaxed} | {second} | {r['status']} | "
                f"{r['s']:.2f} s |"
            )
            print(rows[-1], flush=True)
    rows += ["", f"Proven optimal: {proven} of {total}."]
    return rows


_LIMIT_RUN = """
import pebble_sched
from pebble_sched import solve
from pebble_sched.generators import series_parallel
n, seed, limit = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
g = series_parallel(n, seed=seed, max_out_degree=6)
t = time.perf_counter()
s = solve(g, time_limit=limit)
proof = s.stats.get("sp_proof")
print(json.dumps(dict(
    s=time.perf_counter() - t, status=s.status.value, peak=int(s.peak),
    bound=int(s.lower_bound), proof=None if proof is None else proof["time_s"],
    src=pebble_sched.__file__)))
"""


def table_limits(
    baseline: Path, sizes: list[int], seeds: int, limits: list[float]
) -> list[str]:
    """``solve(g, time_limit=T)`` (``auto``) on SP graphs of each size,
    seeds 1 to ``seeds``, for each limit T: the version in ``baseline``
    (a ``src`` folder) and this one, each in a fresh process, alternated:
    time to the answer, status, peak / bound, and the proof pass's time
    where it ran to the end."""
    here = Path(__file__).resolve().parent.parent / "src"
    rows = [
        "| n | seed | limit | baseline: time | status | peak / bound | proof "
        "pass | this: time | status | peak / bound | proof pass |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    proven = {"base": 0, "this": 0}
    for n in sizes:
        for seed in range(1, seeds + 1):
            for limit in limits:
                cells = []
                for which, src in (("base", baseline), ("this", here)):
                    r = _fresh_run(_LIMIT_RUN, src, n, seed, limit)
                    assert r["src"].startswith(str(src)), r["src"]
                    proven[which] += r["status"] == "optimal"
                    proof = (
                        "-" if r["proof"] is None else f"{r['proof']:.1f} s"
                    )
                    cells.append(
                        f"{r['s']:.2f} s | {r['status']} | "
                        f"{r['peak']} / {r['bound']} | {proof}"
                    )
                rows.append(
                    f"| {n:,} | {seed} | {limit:g} s | {cells[0]} | {cells[1]} |"
                )
                print(rows[-1], flush=True)
    total = len(sizes) * seeds * len(limits)
    rows += [
        "",
        f"Proven optimal: {proven['base']} of {total} by the baseline, "
        f"{proven['this']} of {total} by this version.",
    ]
    return rows


def table_scaling_d(n: int, degrees: list[int]) -> list[str]:
    rows = [
        f"| d | n | {FAMILY_COLUMNS} | Inductor peak | best/Inductor |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for d in degrees:
        length = max(1, (n - 2) // d)
        g = pumpkin(d, length, length, seed=d)
        cells, best = family_cells(g)
        ind = evaluate_indices(g, inductor_order(g)[0], check=False).peak
        rows.append(f"| {d} | {g.n} | {cells} | {ind} | {best / ind:.3f} |")
        print(rows[-1], flush=True)
    return rows


#: What the near table's "without" runs switch off, by ``--near-toggle``
#: (``cpsat`` switches nothing off: its "with" runs are CP-SAT alone).
NEAR_TOGGLES = {
    "regions": "the SP regions fixed and the ideal search's chain atoms",
    "near-sp": "the near-SP orders (SP core, cross edges synchronised)",
    "beam": "the beam starts",
    "pair": "the pair bound",
    "interleave": "the local search's interleave moves",
    "compiled": "the local search's compiled moves (window and interleave)",
    "beam-arrays": "the beam searches' compiled layers",
}


def table_near(
    n: int, ks: list[int], seeds: int, limit: float, toggle: str = "regions"
) -> list[str]:
    import importlib

    # the module (the package exports its function under the same name)
    solve_module = importlib.import_module("pebble_sched.solve")
    ideals_module = importlib.import_module("pebble_sched.solvers.ideals")
    heuristics_module = importlib.import_module(
        "pebble_sched.solvers.heuristics"
    )
    from pebble_sched.generators import near_series_parallel
    from pebble_sched.solvers.sp_regions import fix_sp_regions

    rows = [
        "| k | seed | regions (fixed nodes) | without: time | status | peak / bound "
        "| with: time | status | peak / bound | time ratio with/without |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    default = solve_module.AUTO_REGIONS_MAX_NODES
    solved = {"without": 0, "with": 0}

    def switch(on: bool) -> None:
        """``regions``: the SP regions and chain atoms on or off (the
        near-SP orders on); ``near-sp``: the near-SP orders on or off
        (the regions on); ``beam``: the beam starts on or off; ``pair``:
        the pair bound on or off; ``interleave``: the local search's
        interleave moves on or off; ``compiled``: their and the window
        moves' compiled programs on or off; ``beam-arrays``: the beam
        searches' compiled layers on or off;
        ``cpsat``: nothing (the "with" runs are CP-SAT alone on the graph
        as it is)."""
        if toggle == "regions":
            solve_module.AUTO_REGIONS_MAX_NODES = default if on else 0
            ideals_module.CHAIN_ATOMS = on
        elif toggle == "near-sp":
            solve_module.NEAR_SP = on
        elif toggle == "beam":
            solve_module.AUTO_BEAM = on
        elif toggle == "pair":
            solve_module.AUTO_PAIR_BOUND = on
        elif toggle == "interleave":
            solve_module.AUTO_INTERLEAVE = on
        elif toggle == "compiled":
            heuristics_module.COMPILED_MOVES = on
        elif toggle == "beam-arrays":
            ideals_module.BEAM_COMPILED = on

    for k in ks:
        for seed in range(seeds):
            g = near_series_parallel(n, k, seed=seed, max_out_degree=None)
            r = fix_sp_regions(g)
            cells = {}
            for mode in ("without", "with"):
                switch(mode == "with")
                method = (
                    "cpsat" if toggle == "cpsat" and mode == "with" else "auto"
                )
                s = solve(g, time_limit=limit, method=method, seed=0)
                solved[mode] += s.status.value == "optimal"
                cells[mode] = (s.time_s, s.status.value, s.peak, s.lower_bound)
            solve_module.AUTO_REGIONS_MAX_NODES = default
            ideals_module.CHAIN_ATOMS = True
            solve_module.NEAR_SP = True
            solve_module.AUTO_BEAM = True
            solve_module.AUTO_PAIR_BOUND = True
            solve_module.AUTO_INTERLEAVE = True
            heuristics_module.COMPILED_MOVES = True
            ideals_module.BEAM_COMPILED = True
            a, b = cells["without"], cells["with"]
            rows.append(
                f"| {k} | {seed} | {len(r.regions)} ({r.fixed}) | "
                f"{a[0]:.2f} s | {a[1]} | {a[2]} / {a[3]} | "
                f"{b[0]:.2f} s | {b[1]} | {b[2]} / {b[3]} | "
                f"{b[0] / a[0]:.3f} |"
            )
            print(rows[-1], flush=True)
    total = len(ks) * seeds
    if toggle == "cpsat":
        last = (
            f"Proven optimal: {solved['without']} of {total} by auto, "
            f"{solved['with']} of {total} by CP-SAT alone."
        )
    else:
        what = NEAR_TOGGLES[toggle]
        last = (
            f"Proven optimal: {solved['without']} of {total} without "
            f"{what}, {solved['with']} of {total} with it."
        )
    rows += ["", last]
    return rows


def edge_weighted(n: int, seed: int, d: int = 6) -> Graph:
    """A random SP graph with edge sizes up to 2^20 and small workspaces
    (no node sizes: every release fixed)."""
    g = series_parallel(n, seed=seed, max_out_degree=d)
    rng = np.random.default_rng(seed)
    return g.replace(
        size=[0] * g.n,
        edge_size=rng.integers(1, 2**20, len(g.edge_src)),
        workspace=rng.integers(0, 2**10, g.n),
        name=f"sp-edges-n{n}",
    )


def table_edges(limit: float, sizes: list[int]) -> list[str]:
    """The merge (sp_merge) on edge-weighted SP graphs against the ideal
    search, CP-SAT and Inductor, all through ``solve`` in the same run."""
    rows = [
        "| n (d <= 6) | merge peak | status | merge time | solve time | ideals peak / bound | ideals time | CP-SAT peak / bound | CP-SAT time | Inductor peak | merge/Inductor peak | Inductor time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    solve(edge_weighted(50, seed=0), method="sp")  # warm up lazy imports
    for n in sizes:
        g = edge_weighted(n, seed=n)
        t0 = time.perf_counter()
        alone = sp_merge_order(g)  # the algorithm: atoms, decomposition, merge
        t_merge = time.perf_counter() - t0
        m = solve(g, method="sp")  # plus the lower bounds solve reports
        assert m.stats.get("algorithm") == "sp-merge", m.stats
        assert m.peak == alone.peak
        cells = []
        for method in ("ideals", "cpsat"):
            if n > 10_000:
                cells.append("not run (n > 10^4) | -")
                continue
            s = solve(g, method=method, time_limit=limit)
            cells.append(f"{s.peak} / {s.lower_bound} | {s.time_s:.2f} s")
        ind = solve(g, method="inductor")
        rows.append(
            f"| {n:,} | {m.peak} | {m.status} | {t_merge:.2f} s | "
            f"{m.time_s:.2f} s | {cells[0]} | {cells[1]} | {ind.peak} | "
            f"{m.peak / ind.peak:.3f} | {ind.time_s:.2f} s |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--time-limit", type=float, default=30.0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--pumpkin-n", type=int, default=200)
    ap.add_argument("--near-n", type=int, default=150)
    ap.add_argument("--near-k", default="0,1,2,3,4,6,8")
    ap.add_argument("--near-seeds", type=int, default=3)
    ap.add_argument(
        "--near-toggle",
        choices=[*NEAR_TOGGLES, "cpsat"],
        default="regions",
        help="what the near table switches off in its 'without' runs: the "
        "SP regions and chain atoms, the near-SP orders, the beam starts, "
        "the pair bound, the interleave moves, the compiled moves or the "
        "beams' compiled layers; or "
        "'cpsat': its 'with' "
        "runs are CP-SAT alone, "
        "its 'without' runs auto",
    )
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument(
        "--sizes",
        default=None,
        help="SP graph sizes of the n, workers and versions tables "
        "(comma-separated; default 1000,10000,100000)",
    )
    ap.add_argument(
        "--seeds",
        type=int,
        default=0,
        help="the versions table: SP graphs of seeds 1 to SEEDS too",
    )
    ap.add_argument(
        "--million",
        action="store_true",
        help="the workers table on 10^6 nodes too (about 3 minutes a run)",
    )
    ap.add_argument(
        "--tables",
        default="exact,n,workers,d,edges",
        help="which tables: exact, n, workers, d, edges, near, versions, "
        "nested, bounds, limits (comma-separated)",
    )
    ap.add_argument(
        "--limits",
        default="30,60",
        help="the limits table: time limits in seconds (comma-separated)",
    )
    ap.add_argument(
        "--family",
        default="auto",
        choices=["auto", "threshold", "full"],
        help="the versions table: the SP solver's fork family",
    )
    ap.add_argument(
        "--count",
        type=int,
        default=300,
        help="the nested table: how many random SP graphs",
    )
    ap.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="the src folder of the version the versions table compares with",
    )
    args = ap.parse_args()
    tables = set(args.tables.split(","))
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    if args.sizes:
        sizes = [int(x) for x in args.sizes.split(",")]
    degrees = [2, 4, 6, 8] if args.quick else list(range(2, 21, 2))
    out = ["# Series-parallel solvers (scripts/bench_sp.py)", ""]
    if "exact" in tables:
        out += ["## vs the ideal search and CP-SAT", ""]
        out += table_exact(args.time_limit, args.quick)
    if "n" in tables:
        out += ["", "## Scaling with n at fixed d", ""]
        out += table_scaling_n(6, sizes)
    if "workers" in tables:
        big = sizes + ([1_000_000] if args.million else [])
        out += [
            "",
            "## One process or two (`workers=2`), alternated",
            "",
            f"Least of {args.reps} runs each; the graphs of the scaling "
            "tables (`series_parallel(n, seed=n, max_out_degree=6)`, "
            "`pumpkin(d, L, L, seed=d)`).",
            "",
        ]
        out += table_workers(6, big, [8, 12, 16], args.pumpkin_n, args.reps)
    if "nested" in tables:
        if args.baseline is None:
            ap.error("the nested table needs --baseline SRC")
        out += [
            "",
            f"## Lemma 5 with nested branches: this version against "
            f"{args.baseline}",
            "",
            f"`sp_order(g, family=...)` on {args.count} random SP graphs, "
            f"every one in one fresh process per version, alternated, least "
            f"of {args.reps}.",
            "",
        ]
        out += table_nested(args.baseline.resolve(), args.count, args.reps)
    if "versions" in tables:
        if args.baseline is None:
            ap.error("the versions table needs --baseline SRC")
        big = sizes + ([1_000_000] if args.million else [])
        out += [
            "",
            f"## This version against {args.baseline}",
            "",
            f'`sp_order(g, workers=2, family="{args.family}")`, least '
            f"of {args.reps} runs each (one "
            "at 10^6 nodes), each in a fresh process, alternated; the graphs "
            "of the workers table.",
            "",
        ]
        out += table_versions(
            args.baseline.resolve(),
            big,
            [8, 12, 16],
            args.pumpkin_n,
            args.reps,
            args.seeds,
            args.family,
        )
    if "limits" in tables:
        if args.baseline is None:
            ap.error("the limits table needs --baseline SRC")
        limits = [float(x) for x in args.limits.split(",")]
        out += [
            "",
            f"## Time limits: this version against {args.baseline}",
            "",
            "`solve(g, time_limit=T)` (auto) on "
            "`series_parallel(n, seed, max_out_degree=6)`, seeds 1 to "
            f"{args.seeds or 3}, each run in a fresh process, the two "
            "versions alternated; the proof pass's time where it finished.",
            "",
        ]
        out += table_limits(
            args.baseline.resolve(), sizes, args.seeds or 3, limits
        )
    if "d" in tables:
        out += [
            "",
            f"## Scaling with d: pumpkins of about {args.pumpkin_n} nodes",
            "",
        ]
        out += table_scaling_d(args.pumpkin_n, degrees)
    if "bounds" in tables:
        big = sizes + ([1_000_000] if args.million else [])
        out += [
            "",
            "## Bounds: what `solve -m sp` proves",
            "",
            "`solve(g, method='sp')` without a time limit, each graph in a "
            "fresh process (`series_parallel(n, seed, max_out_degree=6)`, "
            f"seeds n and 1 to {args.seeds or 3}). *Proven by the solver*: "
            "every fork decided exactly; otherwise the order is optimal "
            "when a bound meets it: the usual bounds, or the fork "
            "relaxation's (the graph without the reads of fork buffers by "
            "nested branches, whose forks are all flat). Above 20,000 "
            "nodes (up to 10^6) the solver runs with the threshold "
            "family at once; its Lemma 5 forks and time are in the "
            "threshold pass column, marked *first*.",
            "",
        ]
        out += table_bounds(big, args.seeds or 3)
    if "edges" in tables:
        out += [
            "",
            "## Edge-weighted SP graphs: the merge (every release fixed)",
            "",
            f"Ideal search and CP-SAT with {args.time_limit:g} s each; "
            "status as `solve` reports it.",
            "",
        ]
        out += table_edges(args.time_limit, sizes)
    if "near" in tables:
        ks = [int(k) for k in args.near_k.split(",")]
        out += [
            "",
            f"## Near-SP graphs: {args.near_n} nodes, k cross edges",
            "",
            (
                f"auto ('without') against CP-SAT alone ('with'), "
                f"{args.time_limit:g} s each"
                if args.near_toggle == "cpsat"
                else f"auto with {args.time_limit:g} s, with and without "
                + NEAR_TOGGLES[args.near_toggle]
            )
            + " (alternated); time to the answer, status, peak and proven "
            "bound.",
            "",
        ]
        out += table_near(
            args.near_n, ks, args.near_seeds, args.time_limit, args.near_toggle
        )
    text = "\n".join(out) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
