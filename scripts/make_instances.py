"""Write the shipped instance sets, deterministically (seeded generators).

    python scripts/make_instances.py [--out instances]

``instances/examples/`` holds small hand-checkable graphs and one graph of
each family; ``instances/<family>/`` the benchmark sets, from tiny
(brute-forceable) to large (10^4 nodes and more, heuristics only). Each
family's ``index.csv`` / ``index.json`` (best known values) is written by
``pebble-sched bench ... --update-best`` and kept when instances are
regenerated.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pebble_sched import Graph, write_graph
from pebble_sched.generators import (
    in_tree,
    layered,
    out_tree,
    pumpkin,
    series_parallel,
    training_like,
    workflow,
)
from pebble_sched.graph import Buffer


def examples() -> dict[str, Graph]:
    return {
        "chain": Graph(
            ["a", "b", "c"],
            [("a", "b"), ("b", "c")],
            size=[1, 2, 3],
            name="chain",
        ),
        "fork": Graph(
            ["a", "b", "c"],
            [("a", "b"), ("a", "c")],
            size=[4, 1, 1],
            name="fork",
        ),
        "graph-input": Graph(
            ["a", "b"],
            size=[1, 1],
            name="graph-input",
            buffers=[Buffer("input0", None, 10, ("a", "b"))],
        ),
        "layered-n100": layered(100, window=8, p=0.3, seed=1),
        "intree-n500": in_tree(500, seed=1, max_workspace=20),
        "outtree-n60": out_tree(60, seed=1),
        "pumpkin-d8": pumpkin(8, 1, 4, seed=1),
        "sp-n80": series_parallel(80, seed=1),
        "train-L30": training_like(30, seed=1),
    }


def families() -> dict[str, dict[str, Graph]]:
    sets: dict[str, dict[str, Graph]] = {}

    def put(family: str, name: str, g: Graph) -> None:
        sets.setdefault(family, {})[name] = g.replace(name=name)

    for n, seeds in ((10, 3), (100, 2), (1000, 2), (10000, 1)):
        for s in range(seeds):
            put(
                "trees-in",
                f"intree-n{n}-s{s}",
                in_tree(n, seed=s, max_workspace=10),
            )
    for n, seeds in ((10, 3), (50, 2), (100, 2), (1000, 1), (10000, 1)):
        for s in range(seeds):
            put("trees-out", f"outtree-n{n}-s{s}", out_tree(n, seed=s))
    for d, lo, hi, seeds in (
        (3, 1, 2, 3),
        (6, 2, 8, 2),
        (10, 4, 12, 2),
        (16, 10, 40, 1),
        (60, 50, 250, 1),
    ):
        for s in range(seeds):
            put(
                "pumpkins",
                f"pumpkin-d{d}-l{lo}-{hi}-s{s}",
                pumpkin(d, lo, hi, seed=s),
            )
    for n, seeds in (
        (10, 3),
        (50, 2),
        (100, 2),
        (500, 1),
        (2000, 1),
        (10000, 1),
    ):
        for s in range(seeds):
            put("series-parallel", f"sp-n{n}-s{s}", series_parallel(n, seed=s))
    for n, seeds in (
        (10, 3),
        (100, 2),
        (150, 2),
        (1000, 1),
        (10000, 1),
        (20000, 1),
    ):
        for s in range(seeds):
            put(
                "layered",
                f"layered-n{n}-w8-p0.3-s{s}",
                layered(n, 8, 0.3, seed=s),
            )
    for n, w, p, seeds in (
        (10, 5, 0.3, 3),
        (40, 20, 0.1, 2),
        (60, 20, 0.1, 2),
        (100, 30, 0.07, 1),
        (400, 40, 0.05, 1),
    ):
        for s in range(seeds):
            put("wide", f"wide-n{n}-w{w}-p{p}-s{s}", layered(n, w, p, seed=s))
    for L, seeds in ((3, 3), (34, 2), (67, 1), (100, 2), (1000, 1), (5000, 1)):
        for s in range(seeds):
            put("training", f"train-L{L}-s{s}", training_like(L, seed=s))
            if L in (34, 100):
                put(
                    "training",
                    f"train-L{L}-s{s}-nokeep",
                    training_like(L, seed=s, keep_outputs=False),
                )
    for kind in ("genome", "ligo", "montage"):
        big = 200 if kind == "genome" else 2500
        for width, seeds in ((2, 2), (12, 2), (40, 1), (big, 1)):
            for s in range(seeds):
                put(
                    "workflows",
                    f"{kind}-w{width}-s{s}",
                    workflow(kind, width, seed=s),
                )
    return sets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="instances")
    args = ap.parse_args()
    root = Path(args.out)
    ex = root / "examples"
    ex.mkdir(parents=True, exist_ok=True)
    for name, g in examples().items():
        write_graph(ex / f"{name}.json", g.replace(name=name))
    for family, graphs in families().items():
        folder = root / family
        folder.mkdir(parents=True, exist_ok=True)
        for name, g in graphs.items():
            # large instances are gzipped (read transparently)
            suffix = ".json.gz" if g.n >= 5000 else ".json"
            write_graph(folder / f"{name}{suffix}", g)
        print(
            f"{folder}: {len(graphs)} instances, "
            f"{min(g.n for g in graphs.values())}..{max(g.n for g in graphs.values())} nodes"
        )


if __name__ == "__main__":
    main()
