"""Strategy search against the grid and a FlexFlow-style search, same budget.

    python scripts/bench_search.py [--model gpt-1.3b|gpt-6.7b|resnet50|randwire] [--nodes N] [--budget 30] [--limits 80,40,24]
    python scripts/bench_search.py --curve 8 [--budget 20] [--plot curve.png]
    python scripts/bench_search.py --throughput 200 [--budget 60]
    python scripts/bench_search.py --layer-tp [--budget 60]  (per-layer degrees too)

A GPT-style model (one tensor-parallel rank traced per degree 1, 2, 4, 8,
micro-batch 2, sequence 2,048) on ``--nodes`` 8-GPU H100 nodes, global
batch 16 per node.
For each per-device memory limit: the best Megatron grid point that fits
(every (tp, pp, dp), nothing else), a FlexFlow-style search (memory judged
by the sum of buffer sizes, no recomputation, offload or ZeRO) and ours
(liveness peaks, all moves), each search with the same budget and 2 chains.
Every reported strategy is simulated again with liveness. The grid's points
are also judged both ways, to count what the sum-of-sizes check wrongly
rejects or accepts.

``--throughput N``: simulations per minute on one core, the issue's unit
(one chain): N distinct strategies met along a seeded random walk of the
search's proposals, each simulated once (a new cache, as a chain meets
them), three walks; then one chain of the search itself for ``--budget``
seconds, counting proposals and the simulations they needed (repeats are
answered from the chain's cache).

``--curve N``: the best step time each method finds as the limit sweeps
over N points from the smallest peak any method reached to the capacity
(a first search with the memory objective finds that smallest peak; one of
our chains then starts from its strategy).
"""

from __future__ import annotations

import argparse
import time

GiB = 2**30


def randwire_imagenet(batch: int = 32, size: int = 224):
    """RandWire at ImageNet scale on the meta device: width 78 (Xie et al.'s
    small regime), three WS(32, 4, 0.75) stages, 1,000 classes."""
    import torch

    from pebble_sched.importers.zoo import RandWire

    torch.manual_seed(0)
    with torch.device("meta"):
        net = RandWire(width=78, nodes=32, stages=3, classes=1000)
        x = torch.empty(batch, 3, size, size)
    return net, (x,)


def make_space(model: str, nodes: int = 1, layer_tp: bool = False, **kw):
    from pebble_sched.distributed.search import Space
    from pebble_sched.importers.gpt import gpt_graph

    if model in ("resnet50", "randwire"):
        from pebble_sched.importers.torch_fx import from_torch
        from pebble_sched.importers.zoo import resnet50_imagenet

        if model == "resnet50":
            net, inputs = resnet50_imagenet(batch=32)
        else:
            net, inputs = randwire_imagenet(batch=32)
        g = from_torch(net, inputs)
        batch = inputs[0].shape[0]
        return Space(g, "h100-sxm", global_batch=batch * 8, **kw)

    cache = {}

    def graph(tp: int):
        if tp not in cache:
            cache[tp] = gpt_graph(model, batch=2, tp=tp)
        return cache[tp]

    if layer_tp:  # per-layer degrees: each new map is a new trace
        kw["layer_graphs"] = lambda tp, m: gpt_graph(
            model, batch=2, tp=tp, layer_tp=m
        )
    space = Space(
        graph,
        f"h100-sxm:{nodes}",
        global_batch=16 * nodes,
        tp_degrees=(1, 2, 4, 8),
        **kw,
    )
    for tp in space.tp_degrees:  # traced before the chains fork
        space.graph(tp)
    return space


def run(
    model: str,
    budget: float,
    limits: list[float],
    nodes: int = 1,
    layer_tp: bool = False,
) -> None:
    from pebble_sched.distributed.search import grid_search, search

    t0 = time.perf_counter()
    ours_space = make_space(model, nodes, layer_tp=layer_tp)
    ff_space = make_space(
        model, nodes, recompute=False, offload=False, zero=False
    )
    print(
        f"{model} on {nodes} x 8 H100 (global batch {ours_space.global_batch}): traced "
        f"in {time.perf_counter() - t0:.0f} s"
    )
    print()
    print(
        "| limit (GiB) | method | strategy | step (ms) | peak (GiB) | proposals |"
    )
    print("|---:|---|---|---:|---:|---:|")
    for gib in limits:
        limit = int(gib * GiB)
        grid, evals = grid_search(ours_space, memory_limit=limit)
        _, sums = grid_search(ours_space, memory_limit=limit, memory="sum")
        wrong_reject = sum(
            1
            for a, b in zip(evals, sums, strict=True)
            if a.fits and not b.fits
        )
        wrong_accept = sum(
            1
            for a, b in zip(evals, sums, strict=True)
            if b.fits and not a.fits
        )
        rows = [("grid", grid, len(evals))]
        ff = search(
            ff_space, memory_limit=limit, budget=budget, chains=2, memory="sum"
        )
        ff_best = None
        if ff.best is not None:  # judged again with liveness
            ff_best = ours_space.evaluate(
                ff.best, lambda r: r.iteration_time, limit
            )
        rows.append(("FlexFlow-style", ff_best, ff.evaluated))
        ours = search(ours_space, memory_limit=limit, budget=budget, chains=2)
        rows.append(("ours", ours.best_evaluation, ours.evaluated))
        smallest = {"ours": ours.smallest_peak}
        for name, e, n in rows:
            if e is None:
                low = smallest.get(name)
                peak = f"{low / GiB:.1f} (smallest)" if low else "-"
                print(f"| {gib:g} | {name} | none found | - | {peak} | {n} |")
                continue
            s = e.strategy
            desc = f"dp{s.dp} tp{s.tp} pp{s.pp} m{s.microbatches}"
            if s.zero:
                desc += f" zero{s.zero}"
            if s.recompute:
                desc += f" recompute {len(s.recompute)}"
            if s.offload:
                desc += f" offload {len(s.offload)}"
            if s.stage_starts:
                desc += f" stages from {','.join(s.stage_starts)}"
            if s.layer_tp:
                desc += " layer tp " + ",".join(
                    f"{u.rsplit('.', 1)[-1]}:{t}" for u, t in s.layer_tp
                )
            if s.offload and s.offload_to != "host":
                desc += f" to {s.offload_to}"
            print(
                f"| {gib:g} | {name} | {desc} | {e.time * 1e3:.1f} | "
                f"{e.peak / GiB:.1f}{'' if e.fits else ' (over)'} | {n} |",
                flush=True,
            )
        print(
            f"| {gib:g} | sum-of-sizes on the grid | wrongly rejects "
            f"{wrong_reject}, wrongly accepts {wrong_accept} of {len(evals)} | | | |",
            flush=True,
        )


def curve(
    model: str, budget: float, points: int, plot: str | None = None
) -> None:
    from pebble_sched.distributed.search import grid_search, search

    rows: list[tuple[float, dict[str, float | None]]] = []

    space = make_space(model)
    ff_space = make_space(model, recompute=False, offload=False, zero=False)
    cap = space.cluster.device.memory
    probe = search(space, budget=budget, chains=2, objective="memory")
    low = probe.best_evaluation.peak if probe.best_evaluation else cap // 4
    print(f"smallest peak found: {low / GiB:.2f} GiB")
    print()
    print("| limit (GiB) | grid (ms) | FlexFlow-style (ms) | ours (ms) |")
    print("|---:|---:|---:|---:|")
    for k in range(points):
        limit = int(low + (cap - low) * k / max(1, points - 1))
        grid, _ = grid_search(space, memory_limit=limit)
        ff = search(
            ff_space, memory_limit=limit, budget=budget, chains=2, memory="sum"
        )
        # one chain starts from the smallest-peak strategy the probe found
        hint = [probe.best] if probe.best is not None else None
        ours = search(
            space, memory_limit=limit, budget=budget, chains=2, starts=hint
        )

        def ms(e):
            return f"{e.time * 1e3:.1f}" if e is not None else "none"

        ff_e = (
            space.evaluate(ff.best, lambda r: r.iteration_time, limit)
            if ff.best is not None
            else None
        )
        print(
            f"| {limit / GiB:.1f} | {ms(grid)} | {ms(ff_e)} | {ms(ours.best_evaluation)} |",
            flush=True,
        )
        found = {
            "grid": grid,
            "FlexFlow-style": ff_e,
            "ours": ours.best_evaluation,
        }
        rows.append(
            (
                limit / GiB,
                {k: e.time * 1e3 if e else None for k, e in found.items()},
            )
        )
    if plot:
        plot_curve(rows, f"{model}, {space.cluster.name}", plot)
        print(f"\nplot: {plot}")


def plot_curve(rows, title: str, path: str) -> None:
    """Best step time per method against the memory limit (matplotlib)."""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit(
            "--plot needs matplotlib: pip install 'pebble-sched[plot]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    styles = {"grid": "s--", "FlexFlow-style": "^:", "ours": "o-"}
    for name, style in styles.items():
        xs = [x for x, r in rows if r[name] is not None]
        ys = [r[name] for _x, r in rows if r[name] is not None]
        ax.plot(xs, ys, style, label=name)
    ax.set_xlabel("memory limit per GPU (GiB)")
    ax.set_ylabel("best step time found (ms)")
    ax.set_title(title + " (no point: nothing found)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def throughput(model: str, count: int, budget: float, nodes: int) -> None:
    import gc
    import os
    import random
    import statistics

    from pebble_sched.distributed.search import OBJECTIVES, search

    t = time.perf_counter()
    space = make_space(model, nodes)
    print(f"{model}: traced in {time.perf_counter() - t:.0f} s\n")
    rates = []
    print(
        "| walk | strategies | with recomputation | with duplication | "
        "ms each | per minute |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for seed in (1, 2, 3):
        rng = random.Random(seed)
        s = space.starts(rng, 1)[0]
        walk, seen = [], set()
        while len(walk) < count:
            s = space.propose(s, rng)
            key = s.key()
            if key not in seen:
                seen.add(key)
                walk.append(s)
        space.clear_cache()  # as a new chain meets them
        gc.collect()
        gc.freeze()
        t = time.perf_counter()
        for s in walk:
            space.evaluate(s, OBJECTIVES["time"], 80 * GiB)
        dt = time.perf_counter() - t
        gc.unfreeze()
        rates.append(count / dt * 60)
        rec = sum(1 for s in walk if s.recompute)
        dup = sum(1 for s in walk if s.duplicate)
        print(
            f"| {seed} | {count} | {rec} | {dup} | {dt / count * 1e3:.1f} | "
            f"{rates[-1]:.0f} |"
        )
    print(
        f"\nmedian {statistics.median(rates):.0f} simulations per minute "
        f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)\n"
    )
    space.clear_cache()
    t = time.perf_counter()
    r = search(
        space, budget=budget, chains=1, processes=1, seed=0, grid_start=False
    )
    dt = time.perf_counter() - t
    runs = r.chains[0]["distinct"]
    print(
        f"one search chain (budget {budget:g} s, stopped after {dt:.0f} s): "
        f"{r.evaluated} proposals, {runs} simulations ({runs / dt * 60:.0f} "
        "per minute; the other proposals were repeats answered from the "
        "chain's cache)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="gpt-1.3b")
    ap.add_argument("--budget", type=float, default=30.0)
    ap.add_argument("--limits", default="80,40,24")
    ap.add_argument("--curve", type=int, default=0)
    ap.add_argument("--plot", default=None, help="with --curve: a PNG of it")
    ap.add_argument("--throughput", type=int, default=0)
    ap.add_argument(
        "--layer-tp",
        action="store_true",
        help="our search also moves per-layer tensor-parallel degrees",
    )
    ap.add_argument(
        "--nodes", type=int, default=1, help="8-GPU H100 nodes (GPT models)"
    )
    args = ap.parse_args()
    if args.throughput:
        throughput(args.model, args.throughput, args.budget, args.nodes)
    elif args.curve:
        curve(args.model, args.budget, args.curve, args.plot)
    else:
        limits = [float(x) for x in args.limits.split(",")]
        run(args.model, args.budget, limits, args.nodes, args.layer_tp)


if __name__ == "__main__":
    main()
