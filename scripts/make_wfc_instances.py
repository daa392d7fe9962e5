"""Write the ``workflows-wfc`` instance family from WfCommons recipes.

WfCommons' recipes (``wfcommons.wfchef.recipes``) are fitted to real
executions of scientific workflows; each generates a synthetic workflow of a
requested size with task runtimes and file sizes drawn from the fitted
distributions. We generate one workflow per (recipe, size, seed), convert it
with :func:`pebble_sched.importers.from_wfformat` (files as buffers,
runtimes as node times) and write ``instances/workflows-wfc/<recipe>-n<size>
-s<seed>.json`` with the provenance in ``meta``. Needs ``pip install
wfcommons`` (not a dependency of pebble-sched).

    python scripts/make_wfc_instances.py [--sizes 50,500,2000] [--seeds 1]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
from pathlib import Path

import numpy as np

from pebble_sched import write_graph
from pebble_sched.importers import from_wfformat

RECIPES = [
    "Montage",
    "Epigenomics",
    "Genome",
    "Blast",
    "Bwa",
    "Cycles",
    "Seismology",
    "Soykb",
    "Srasearch",
]


def main() -> None:
    import wfcommons
    from wfcommons.wfchef import recipes

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="50,500,2000")
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--out", default="instances/workflows-wfc")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in RECIPES:
        recipe = getattr(recipes, f"{name}Recipe")
        for n in [int(x) for x in args.sizes.split(",")]:
            for seed in range(args.seeds):
                random.seed(seed)
                np.random.seed(seed)  # noqa: NPY002 - wfcommons draws from the global RNG
                try:
                    wf = wfcommons.WorkflowGenerator(
                        recipe.from_num_tasks(n)
                    ).build_workflow()
                except ValueError as exc:  # below the recipe's minimum size
                    print(f"skip {name} n={n}: {exc}")
                    continue
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "wf.json"
                    wf.write_json(path)
                    data = json.loads(path.read_text())
                label = f"{name.lower()}-n{n}-s{seed}"
                g = from_wfformat(data, name=label)
                meta = dict(g.meta or {})
                meta.update(
                    generator="wfcommons",
                    wfcommons_version=wfcommons.__version__,
                    recipe=f"{name}Recipe",
                    num_tasks=n,
                    seed=seed,
                )
                g = g.replace(meta=meta)
                suffix = ".json.gz" if g.n > 100 else ".json"
                write_graph(out / f"{label}{suffix}", g)
                print(
                    f"{label}: {g.n} tasks, {g.m} edges, {len(g.buffers)} files"
                )


if __name__ == "__main__":
    main()
