"""Benchmark: the maximum parallel peak, ours (OR-Tools max-flow) vs networkx.

For each graph, computes the largest peak any parallel schedule can reach
with :func:`pebble_sched.parallel.max_parallel_peak` (``method="flow"``)
and, as the baseline a user would write, the same maximum-weight closure of
the split graph solved by ``networkx.minimum_cut`` (preflow-push), in the
same run. Prints both values (they must agree: the closure is the same
problem), both times and the ratio ours / networkx. The networkx baseline
is skipped above ``--nx-max`` nodes.

    python scripts/bench_parallel.py [--sizes 1000,10000,100000] [--nx-max 20000]
"""

from __future__ import annotations

import argparse
import time

import networkx as nx

from pebble_sched.generators import daggen, layered, workflow
from pebble_sched.parallel import max_parallel_peak
from pebble_sched.parallel.max_peak import _release_sets


def networkx_closure(graph) -> int:
    """The single-release closure bound, built and solved with networkx."""
    n = graph.n
    rel = _release_sets(graph)
    w = [0] * (2 * n)
    constant = 0
    for b in range(len(rel)):
        size, p, nodes = int(rel.size[b]), int(rel.producer[b]), rel.nodes(b)
        if rel.unread_input[b]:
            continue
        if p >= 0:
            w[p] += size
        else:
            constant += size
        if rel.output[b]:
            continue
        if len(nodes) != 1:
            raise ValueError("the baseline handles single-release buffers")
        w[n + int(nodes[0])] -= size
    H = nx.DiGraph()
    H.add_nodes_from(["s", "t"])
    for v in range(n):
        H.add_edge(n + v, v)  # v- needs v+
    for u, v in zip(
        graph.edge_src.tolist(), graph.edge_dst.tolist(), strict=True
    ):
        H.add_edge(v, n + u)  # v+ needs u-
    for x, wx in enumerate(w):
        if wx > 0:
            H.add_edge("s", x, capacity=wx)
        elif wx < 0:
            H.add_edge(x, "t", capacity=-wx)
    cut, _ = nx.minimum_cut(H, "s", "t")
    return constant + sum(x for x in w if x > 0) - cut


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--nx-max", type=int, default=20000)
    args = ap.parse_args()
    print(
        "| graph | n | m | max parallel peak | ours (s) | networkx (s) | ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for n in [int(x) for x in args.sizes.split(",")]:
        graphs = [
            (
                "daggen (edge data)",
                daggen(
                    n, fat=0.5, density=0.05, regularity=0.5, jump=2, seed=1
                ),
            ),
            ("montage workflow", workflow("montage", max(2, n // 4), seed=0)),
            ("layered, node sizes", layered(n, 8, 0.3, seed=0)),
        ]
        for name, g in graphs:
            t0 = time.perf_counter()
            r = max_parallel_peak(g, method="flow")
            ours = time.perf_counter() - t0
            base, ratio = "-", "-"
            if g.n <= args.nx_max and r.stats["flow_exact"]:
                t0 = time.perf_counter()
                value = networkx_closure(g)
                theirs = time.perf_counter() - t0
                assert value == r.upper_bound, (value, r.upper_bound)
                base, ratio = f"{theirs:.2f}", f"{ours / theirs:.3f}"
            kind = "" if r.exact else f" (bound {r.upper_bound}, witness)"
            print(
                f"| {name} | {g.n} | {g.m} | {r.value}{kind} | {ours:.2f} | {base} | {ratio} |"
            )


if __name__ == "__main__":
    main()
