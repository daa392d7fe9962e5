"""Write the shipped instances, deterministically (seeded generators).

    python scripts/make_instances.py [--out instances]

``instances/examples/`` holds small hand-checkable graphs and one graph of
each generated family.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pebble_sched import Graph, write_graph
from pebble_sched.graph import Buffer
from pebble_sched.generators import (in_tree, layered, out_tree, pumpkin,
                                     series_parallel, training_like)


def examples() -> dict[str, Graph]:
    return {
        "chain": Graph(["a", "b", "c"], [("a", "b"), ("b", "c")], size=[1, 2, 3],
                       name="chain"),
        "fork": Graph(["a", "b", "c"], [("a", "b"), ("a", "c")], size=[4, 1, 1],
                      name="fork"),
        "graph-input": Graph(["a", "b"], size=[1, 1], name="graph-input",
                             buffers=[Buffer("input0", None, 10, ("a", "b"))]),
        "layered-n100": layered(100, window=8, p=0.3, seed=1).replace(name="layered-n100"),
        "intree-n500": in_tree(500, seed=1, max_workspace=20).replace(name="intree-n500"),
        "outtree-n60": out_tree(60, seed=1).replace(name="outtree-n60"),
        "pumpkin-d8": pumpkin(8, 1, 4, seed=1).replace(name="pumpkin-d8"),
        "sp-n80": series_parallel(80, seed=1).replace(name="sp-n80"),
        "train-L30": training_like(30, seed=1).replace(name="train-L30"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="instances")
    args = ap.parse_args()
    out = Path(args.out) / "examples"
    out.mkdir(parents=True, exist_ok=True)
    for name, g in examples().items():
        write_graph(out / f"{name}.json", g)
        print(f"{out / name}.json: {g.n} nodes, {g.m} edges")


if __name__ == "__main__":
    main()
