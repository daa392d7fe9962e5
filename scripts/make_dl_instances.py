"""Write the real-model instance families from the in-code model zoo (needs torch).

    python scripts/make_dl_instances.py [--out instances]

- ``dl-trace``: forward and training-step (forward + backward) graphs of the
  regular models (CNNs, ResNets, MobileNet-v2, Inception, U-Net, GPT-2-style,
  BERT-style);
- ``dl-optstep``: training steps with the SGD or Adam update inside the graph;
- ``nas``: RandWire and DARTS-like networks, forward and training step.

Every instance stores the trace order and its provenance in ``meta``.
Files of 2,000 nodes or more are gzipped.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pebble_sched import write_graph
from pebble_sched.importers.torch_fx import from_torch
from pebble_sched.importers.zoo import build

REGULAR = [
    "small_cnn",
    "resnet18",
    "resnet50",
    "mobilenet_v2",
    "inception",
    "unet",
    "gpt2",
    "bert",
]
NAS = ["randwire", "darts"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="instances")
    args = ap.parse_args()
    plan = []
    for name in REGULAR:
        plan += [
            ("dl-trace", name, "forward", None),
            ("dl-trace", name, "train", None),
        ]
    for name in ["small_cnn", "resnet18", "mobilenet_v2", "gpt2"]:
        plan += [
            ("dl-optstep", name, "train", "sgd"),
            ("dl-optstep", name, "train", "adam"),
        ]
    for name in NAS:
        plan += [("nas", name, "forward", None), ("nas", name, "train", None)]
    for family, name, mode, opt in plan:
        folder = Path(args.out) / family
        folder.mkdir(parents=True, exist_ok=True)
        model, inputs = build(name)
        label = f"{name}-{mode}" + (f"-{opt}" if opt else "")
        t0 = time.monotonic()
        g = from_torch(model, inputs, mode=mode, optimizer=opt, name=label)
        meta = dict(g.meta, zoo=name, generator="scripts/make_dl_instances.py")
        meta.pop("trace_seconds", None)  # keep the files reproducible
        g = g.replace(meta=meta)
        suffix = ".json.gz" if g.n >= 2000 else ".json"
        write_graph(folder / f"{label}{suffix}", g)
        print(
            f"{family}/{label}: {g.n} ops, {len(g.buffers)} buffers, "
            f"traced in {time.monotonic() - t0:.2f} s",
            flush=True,
        )


if __name__ == "__main__":
    main()
