"""The distributed simulator against published figures, and FIFO against optimal orders.

    python scripts/bench_simulator.py --part oracles
    python scripts/bench_simulator.py --part orders [--time-limit 10]
    python scripts/bench_simulator.py --part speed

``oracles``: activation memory per GPU of the four models of Korthikanti et
al. (MLSys'23), Figure 1 (tensor parallelism only, and with sequence
parallelism and selective recomputation) and Figure 7 (s = 2048, t = 8; 22B: b = 4, p = 1; 175B: b = 1,
p = 8, 3 interleaved chunks; 530B: b = 1, p = 35, v = 3; 1T: b = 1, p = 64),
and parameters + optimizer state per GPU. One or two layers of one
tensor-parallel rank are traced at full size (fake tensors); the stored
activation of a layer is the liveness simulation's memory at the
forward/backward boundary, two layers minus one (embedding and head cancel);
the first stage holds L layers' worth of micro-batches in 1F1B, times Megatron's
interleaving factor 1 + (p - 1)/(p v) (interleaving is not simulated: the factor
is applied). Model state: the parameters of the first stage's layers in the
traced model definition at 18 bytes each (Megatron without its distributed
optimizer); Figure 1 counts the layers' weights only (12 h^2 / t per layer), so
the first stage's embedding (which it also holds) is reported apart.

``orders``: per-device peak under FIFO and under the optimal order, same
strategy, on traced models (GPT-style 1.3B, ResNet-50, RandWire, Inception).

``speed``: simulation time of a GPT-style 1.3B training step on 16 GPUs.
"""

from __future__ import annotations

import argparse
import time

GiB = 2**30

# (name, layers, hidden, heads, micro-batch, pipeline p, interleave v)
KORTHIKANTI = [
    ("22B", 48, 6144, 64, 4, 1, 1),
    ("175B", 96, 12288, 96, 1, 8, 3),
    ("530B", 105, 20480, 128, 1, 35, 3),
    ("1T", 128, 25600, 160, 1, 64, 1),
]
# Figure 1 (GiB): TP only; TP + SP + selective; params + optimizer
PUBLISHED = {
    "22B": (59.25, 9.5625, 45.56),
    "175B": (66.84375, 12.3515625, 45.56),
    "530B": (114.0234375, 23.076171875, 31.64),
    "1T": (131.25, 26.5625, 32.96),
}


def stored_per_layer(shape, batch, tp, recompute=(), sp=False):
    """Bytes a layer keeps for its backward pass: liveness at the boundary."""
    from pebble_sched.distributed import simulate
    from pebble_sched.importers.gpt import gpt_graph

    live = {}
    for k in (1, 2):
        g = gpt_graph(shape, batch=batch, tp=tp, layers=k, sp=sp)
        r = simulate(
            g, "h100-sxm", {"recompute": list(recompute)}, order="trace"
        )
        live[k] = r.devices[0].stored_activations
    return live[2] - live[1]


# Figure 7: activation memory as % of the tensor-parallel-only baseline
FIGURE7 = {
    "sequence parallelism": ((66.84, 62.04, 58.31, 58.31), True, ()),
    "selective recomputation": (
        (49.42, 56.53, 62.04, 62.04),
        False,
        ("layers.*.attn.core",),
    ),
    "both": ((16.18, 18.49, 20.27, 20.27), True, ("layers.*.attn.core",)),
    "full recomputation": ((7.64, 8.71, 9.42, 9.42), False, ("layers.*",)),
}


def oracles() -> None:
    from pebble_sched.importers.gpt import gpt_model

    print(
        "| model | TP only: ours (GiB) | published | error | "
        "TP + SP + selective: ours | published | error | "
        "params + optimizer (layers): ours | published | error | "
        "with the embedding |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    errors = []
    variants = {}
    for name, layers, h, a, b, p, v in KORTHIKANTI:
        per = stored_per_layer((layers, h, a), b, 8)
        factor = 1 + (p - 1) / (p * v) if v > 1 else 1.0
        act = per * layers * factor / GiB
        for label, (_, sp, rec) in FIGURE7.items():
            variants[(name, label)] = (
                stored_per_layer((layers, h, a), b, 8, rec, sp) / per
            )
        both = variants[(name, "both")] * act
        model = gpt_model((layers, h, a), tp=8)
        per_stage = layers // p
        in_layers = embed = 0
        for pname, prm in model.named_parameters():
            parts = pname.split(".")
            if parts[0] == "layers" and int(parts[1]) < per_stage:
                in_layers += prm.numel()
            elif parts[0] == "embed" or (parts[0] == "head" and p == 1):
                embed += prm.numel()
        state = 18 * in_layers / GiB
        state_all = 18 * (in_layers + embed) / GiB
        pub_act, pub_both, pub_state = PUBLISHED[name]
        e1, e2, e3 = (
            act / pub_act - 1,
            both / pub_both - 1,
            state / pub_state - 1,
        )
        errors.append((e1, e2, e3))
        print(
            f"| {name} | {act:.2f} | {pub_act:.2f} | {e1:+.2%} | "
            f"{both:.2f} | {pub_both:.2f} | {e2:+.2%} | {state:.2f} | "
            f"{pub_state:.2f} | {e3:+.2%} | {state_all:.2f} |",
            flush=True,
        )
        del model
    k = len(errors)
    print()
    print(
        "mean |error|: TP only "
        f"{sum(abs(x[0]) for x in errors) / k:.3%}, TP + SP + selective "
        f"{sum(abs(x[1]) for x in errors) / k:.3%}, params + optimizer "
        f"{sum(abs(x[2]) for x in errors) / k:.3%}"
    )
    print()
    print(
        "Figure 7, activation memory as % of the TP-only baseline, ours (published):"
    )
    print()
    print("| technique | " + " | ".join(m[0] for m in KORTHIKANTI) + " |")
    print("|---|" + "---:|" * len(KORTHIKANTI))
    for label, (published, _, _) in FIGURE7.items():
        cells = [
            f"{100 * variants[(m[0], label)]:.2f} ({pub:.2f})"
            for m, pub in zip(KORTHIKANTI, published, strict=True)
        ]
        print(f"| {label} | " + " | ".join(cells) + " |")


# Table 5 of Korthikanti et al.: (name, layers, hidden, heads, GPUs, pipeline
# stages, global batch; micro-batch 1 except 22B's 4) and the published
# step times (s), full recomputation -> sequence parallel + selective
TABLE5 = [
    ("22B", 48, 6144, 64, 8, 1, 4, 4, (1.42, 1.10)),
    ("175B", 96, 12288, 96, 64, 8, 64, 1, (18.13, 13.75)),
    ("530B", 105, 20480, 128, 280, 35, 280, 1, (49.05, 37.83)),
    ("1T", 128, 25600, 160, 512, 64, 512, 1, (94.42, 71.49)),
]


def layer_chain(shape, batch, tp, sp, recompute, layers, fuse=False):
    """A one-node-per-layer-and-phase model of the step, timed by the traced
    layers' simulated op times (2 layers traced at full size)."""
    from collections import defaultdict

    from pebble_sched import Graph
    from pebble_sched.distributed.recompute import unit_of
    from pebble_sched.distributed.simulator import unit_times
    from pebble_sched.graph import Buffer
    from pebble_sched.importers.gpt import gpt_graph

    g = gpt_graph(shape, batch=batch, tp=tp, layers=2, sp=sp)
    strategy = {"tp": tp, "recompute": list(recompute)}
    times = unit_times(g, "a100-80g", strategy, fuse=fuse)
    flops = defaultdict(float)
    for v in range(g.n):
        flops[(unit_of(g.layer[v]), g.phase[v])] += float(g.flops[v])

    def cost(unit, fwd):
        phases = ("forward",) if fwd else ("backward", "recompute")
        src = "layers.1" if unit.startswith("layers.") else unit
        t = sum(times.get((src, p), 0.0) for p in phases)
        f = sum(flops.get((src, p), 0.0) for p in phases if p != "recompute")
        return t, f

    units = ["embed"] + [f"layers.{i}" for i in range(layers)] + ["head"]
    hidden, s = shape[1], g.meta["gpt"]["seq"]
    act = batch * s * hidden * 2 // (tp if sp else 1)
    ids, phase, layer, op_times, fl, buffers = [], [], [], {}, [], []
    for u in units:
        ids.append(f"{u}.f"), phase.append("forward"), layer.append(u)
    for u in reversed(units):
        ids.append(f"{u}.b"), phase.append("backward"), layer.append(u)
    for v, u, ph in zip(ids, layer, phase, strict=True):
        op_times[v], f = cost(u, ph == "forward")
        fl.append(int(f))
    for k, u in enumerate(units):
        readers = [f"{u}.b"] + (
            [f"{units[k + 1]}.f"] if k + 1 < len(units) else []
        )
        buffers.append(Buffer(f"a{k}", f"{u}.f", act, tuple(readers)))
        if k:
            buffers.append(
                Buffer(f"g{k}", f"{u}.b", act, (f"{units[k - 1]}.b",))
            )
    coarse = Graph(
        ids,
        [(f"{units[-1]}.f", f"{units[-1]}.b")],
        buffers=buffers,
        flops=fl,
        phase=phase,
        layer=layer,
        meta={"tensor_parallel": tp, "input_shapes": [[batch, s]]},
    )
    return coarse, op_times


def times(fuse: bool = False) -> None:
    from pebble_sched.distributed import simulate

    print(
        "| model | GPUs | full recomputation: ours (s) | published | error | "
        "SP + selective: ours (s) | published | error | model TFLOP/s per GPU (SP + selective) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    errors = []
    for name, layers, h, a, gpus, p, batch, mb, published in TABLE5:
        m = batch // mb
        cells = []
        for (sp, rec), pub in zip(
            ((False, ("layers.*",)), (True, ("layers.*.attn.core",))),
            published,
            strict=True,
        ):
            t0 = time.perf_counter()
            coarse, op_times = layer_chain(
                (layers, h, a), mb, 8, sp, rec, layers, fuse
            )
            r = simulate(
                coarse,
                f"a100-80g:{max(1, gpus // 8)}",
                {"tp": 8, "pp": p, "microbatches": m},
                order="trace",
                op_times=op_times,
            )
            err = r.iteration_time / pub - 1
            errors.append(err)
            cells.append((r.iteration_time, pub, err, r.tflops_per_device))
            _ = t0
        (t1, p1, e1, _), (t2, p2, e2, tf) = cells
        print(
            f"| {name} | {gpus} | {t1:.2f} | {p1:.2f} | {e1:+.1%} | {t2:.2f} | "
            f"{p2:.2f} | {e2:+.1%} | {tf:.0f} |",
            flush=True,
        )
    print()
    print(
        f"mean |error| {sum(abs(e) for e in errors) / len(errors):.1%}, "
        f"max {max(abs(e) for e in errors):.1%}"
    )


# Narayanan et al. (SC'21), Table 1: (params, hidden, layers, heads, t, p,
# GPUs, global batch, published TFLOP/s per GPU); sequence 2048, V 51200
MEGATRON_TABLE1 = [
    ("1.7B", 2304, 24, 24, 1, 1, 32, 512, 137),
    ("3.6B", 3072, 30, 32, 2, 1, 64, 512, 138),
    ("7.5B", 4096, 36, 32, 4, 1, 128, 512, 142),
    ("18.4B", 6144, 40, 48, 8, 1, 256, 1024, 135),
    ("39.1B", 8192, 48, 64, 8, 2, 512, 1536, 138),
    ("76.1B", 10240, 60, 80, 8, 4, 1024, 1792, 140),
    ("145.6B", 12288, 80, 96, 8, 8, 1536, 2304, 148),
    ("310.1B", 16384, 96, 128, 8, 16, 1920, 2160, 155),
    ("529.6B", 20480, 105, 128, 8, 35, 2520, 2520, 163),
    ("1008.0B", 25600, 128, 160, 8, 64, 3072, 3072, 163),
]


def megatron(micro: int, fuse: bool = False) -> None:
    """Model TFLOP/s per GPU as Narayanan et al. count it (their eq. 3, full
    recomputation included) for their Table 1 configurations."""
    from pebble_sched.distributed import simulate

    print(
        f"micro-batch {micro}, full recomputation, no sequence parallelism, "
        "1F1B (not interleaved), fp32 gradient all-reduce per layer"
        + (", elementwise chains fused" if fuse else ", unfused kernels")
    )
    print()
    print(
        "| model | t | p | GPUs | step (s) | ours TFLOP/s | published | error |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    errors = []
    for name, h, layers, a, t, p, gpus, batch, published in MEGATRON_TABLE1:
        dp = gpus // (t * p)
        m = batch // (dp * micro)
        coarse, op_times = layer_chain(
            (layers, h, a), micro, t, False, ("layers.*",), layers, fuse
        )
        per_layer = 12 * h * h // t
        meta = dict(
            coarse.meta,
            parameters=per_layer * layers,
            parameters_by_layer={
                f"layers.{i}": per_layer for i in range(layers)
            },
        )
        coarse = coarse.replace(meta=meta)
        r = simulate(
            coarse,
            {"preset": "a100-80g", "nodes": max(1, gpus // 8)},
            {
                "tp": t,
                "pp": p,
                "dp": dp,
                "microbatches": m,
                "optimizer": "megatron-mixed",
            },
            order="trace",
            op_times=op_times,
        )
        s, v = 2048, 51200
        flops = (
            96
            * batch
            * s
            * layers
            * h
            * h
            * (1 + s / (6 * h) + v / (16 * layers * h))
        )
        ours = flops / (gpus * r.iteration_time) / 1e12
        err = ours / published - 1
        errors.append(err)
        print(
            f"| {name} | {t} | {p} | {gpus} | {r.iteration_time:.2f} | "
            f"{ours:.0f} | {published} | {err:+.1%} |",
            flush=True,
        )
    print()
    print(
        f"mean |error| {sum(abs(e) for e in errors) / len(errors):.1%}, "
        f"max {max(abs(e) for e in errors):.1%}"
    )


def orders(limit: float) -> None:
    from pebble_sched.distributed import simulate
    from pebble_sched.importers.gpt import gpt_graph
    from pebble_sched.importers.torch_fx import from_torch
    from pebble_sched.importers.zoo import build

    models = {}
    models["gpt-1.3b (2 layers, b=1)"] = gpt_graph("gpt-1.3b", layers=2)
    for name in ("resnet50", "randwire", "inception"):
        m, x = build(name)
        models[name] = from_torch(m, x)
    plans = [
        ("single", "a100-80g"),
        ("data-parallel", "a100-80g"),
        ("pipeline(2,4)", "a100-80g"),
        ("megatron(1,2,4,4)", "a100-80g"),
    ]
    print(
        "| model | strategy | stage | FIFO peak | optimal peak | gain | "
        "FIFO step (ms) | optimal step (ms) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for label, g in models.items():
        for strat, cl in plans:
            try:
                fifo = simulate(g, cl, strat, order="fifo")
                best = simulate(
                    g, cl, strat, order="optimal", time_limit=limit
                )
            except ValueError as exc:
                print(f"| {label} | {strat} | - | {exc} |")
                continue
            for a, b in zip(fifo.devices, best.devices, strict=True):
                gain = 1 - b.activation_peak / a.activation_peak
                print(
                    f"| {label} | {strat} | {a.stage} | "
                    f"{a.activation_peak / 2**20:.1f} MiB | "
                    f"{b.activation_peak / 2**20:.1f} MiB | {gain:.1%} | "
                    f"{fifo.iteration_time * 1e3:.2f} | "
                    f"{best.iteration_time * 1e3:.2f} |",
                    flush=True,
                )


def speed() -> None:
    from pebble_sched.distributed import simulate
    from pebble_sched.importers.gpt import gpt_graph

    t0 = time.perf_counter()
    g = gpt_graph("gpt-1.3b", batch=1, tp=2)
    trace_s = time.perf_counter() - t0
    for strat in ("megatron(2,2,4,8)", "megatron(2,4,2,16)"):
        for order in ("fifo", "optimal"):
            t0 = time.perf_counter()
            r = simulate(g, "a100-80g:2", strat, order=order, time_limit=20)
            dt = time.perf_counter() - t0
            print(
                f"gpt-1.3b tp2 ({g.n} nodes, traced in {trace_s:.1f} s), "
                f"{strat}, {order}: {r.stats['tasks']} tasks, simulated in "
                f"{dt:.2f} s ({r.stats['tasks'] / dt:,.0f} tasks/s); step "
                f"{r.iteration_time * 1e3:.1f} ms, peak "
                f"{r.peak / GiB:.2f} GiB",
                flush=True,
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--part",
        choices=["oracles", "times", "megatron", "orders", "speed"],
        default="oracles",
    )
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--micro-batch", type=int, default=1)
    ap.add_argument(
        "--fuse",
        action="store_true",
        help="time elementwise chains as fused kernels (simulate(fuse=True))",
    )
    args = ap.parse_args()
    if args.part == "oracles":
        oracles()
    elif args.part == "times":
        times(args.fuse)
    elif args.part == "megatron":
        megatron(args.micro_batch, args.fuse)
    elif args.part == "orders":
        orders(args.time_limit)
    else:
        speed()


if __name__ == "__main__":
    main()
