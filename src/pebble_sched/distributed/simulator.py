"""A memory-aware simulator of one training step on a cluster.

Input: a training step traced at the *micro-batch* size (``pebble-sched
import torch``: nodes with ``op``, ``flops``, ``bytes``, ``layer`` and
``phase``, exact buffers), a :class:`~.cluster.Cluster` and a
:class:`~.strategy.Strategy`. The step is split into pipeline stages (whole
layer units, balanced by forward time); every device of a stage does the
same work on its own data, so one representative device per stage is
simulated (data-parallel and tensor-parallel peers are identical) and the
collectives between peers are tasks of known duration.

Tasks, as in FlexFlow's simulator (Jia et al., SysML 2019): per stage, one
compute task per node and micro-batch (update nodes once per step), run in
a fixed order on the stage's device; communication tasks run on link
resources, first ready first served: activations and gradients crossing a
stage boundary (point to point), the data-parallel gradient all-reduce (or
reduce-scatter under ZeRO-2/3, issued per layer unit as soon as its last
backward task ends, overlapping the rest of the backward pass), ZeRO-3's
parameter all-gathers before each use, and ZeRO's all-gather of updated
parameters. Compute times follow the roofline of :mod:`.costs`. A
strategy's recomputed units are copies the graph gains
(:mod:`.recompute`), its duplicated units copies on the stages that read
them (:mod:`.duplicate`).

The device order within a micro-batch's forward (or backward) is

- ``fifo``: first ready, first run (FlexFlow's assumption): Kahn's
  algorithm with a first-in first-out queue over the program order;
- ``optimal``: the order :func:`pebble_sched.solve` finds on the stage's
  one-micro-batch graph (the smallest peak it can prove or find in the time
  given), the link between the two halves of this project;
- ``trace``: the program's own order; or a list of node ids.

Micro-batches follow the pipeline schedule (1F1B: ``pp - s - 1`` warm-up
forwards on stage s, then one forward, one backward; or GPipe). With one
stage and one micro-batch the device runs the whole graph in the order
given, and its activation memory is exactly :func:`pebble_sched.evaluate`'s
profile of that order.

Memory per device over time: model state resident (see
:mod:`.strategy`: what the trace held, or 16 bytes per parameter for mixed
precision Adam, divided by ZeRO), plus every buffer from its producer's
start to its last consumer's end on that device (graph inputs from the
start of their micro-batch, outputs to the end, received activations from
the start of their transfer, sent ones until the transfer ends, workspaces
during their node, ZeRO-3's gathered parameters during their unit's use).
"""

from __future__ import annotations

import heapq
import math
import time as _time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..graph import require_graph
from .cluster import Cluster
from .cluster import cluster as make_cluster
from .costs import (
    all_gather_time,
    all_reduce_time,
    op_time,
    p2p_time,
    reduce_scatter_time,
)
from .costs import (
    op_times as roofline_times,
)
from .duplicate import with_duplication
from .recompute import matching_unit, unit_of, with_recomputation
from .strategy import OPTIMIZERS, Strategy, StrategyError
from .strategy import strategy as make_strategy

if TYPE_CHECKING:
    from ..graph import Graph
    from ..schedule import Schedule

__all__ = [
    "ORDERS",
    "DeviceReport",
    "SimulationResult",
    "simulate",
    "unit_times",
]

ORDERS = ("fifo", "optimal", "trace")

_DTYPES = {
    "float32": "fp32",
    "float16": "fp16",
    "bfloat16": "bf16",
    "float64": "fp64",
    "float8_e4m3fn": "fp8",
}


@dataclass(frozen=True)
class DeviceReport:
    """One pipeline stage's device (its data- and tensor-parallel peers are alike).

    ``peak`` = ``model_state`` + ``activation_peak``; ``stored_activations``
    is the activation memory when the device starts its first backward
    task (what the forward passes keep for the backward: Korthikanti et
    al.'s "activation memory").
    """

    stage: int
    device: int
    peak: int
    activation_peak: int
    model_state: int
    capacity: int
    busy: float
    peak_time: float
    stored_activations: int = 0

    @property
    def fits(self) -> bool:
        return self.peak <= self.capacity


@dataclass
class SimulationResult:
    """What :func:`simulate` measured.

    Attributes
    ----------
    iteration_time
        Seconds per training step (the last task's end).
    samples_per_second
        Global batch over the step time (``None`` without a known batch).
    model_flops
        FLOPs of one step over all devices, recomputation excluded.
    devices
        One :class:`DeviceReport` per stage.
    orders
        Per stage, the node ids in the order its device runs them (the
        first micro-batch's forward and backward, then the update).
    memory
        Per stage, the memory curve ``(times, bytes)`` (model state
        included).
    communication
        Bytes sent per link class (``intra``, ``inter``), per device.
    breakdown
        The slowest stage's step: ``compute``, ``exposed_communication``
        (waiting for a transfer) and ``bubble`` (waiting for another
        stage) seconds.
    """

    iteration_time: float
    samples_per_second: float | None
    model_flops: float
    devices: list[DeviceReport]
    communication: dict[str, float]
    breakdown: dict[str, float]
    order: str
    strategy: Strategy
    cluster: Cluster
    stats: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, Any] = field(default_factory=dict, repr=False)
    memory: list[tuple[np.ndarray, np.ndarray]] = field(
        default_factory=list, repr=False
    )
    orders: list[list[Any]] = field(default_factory=list, repr=False)

    @property
    def peak(self) -> int:
        """The largest per-device peak."""
        return max(d.peak for d in self.devices)

    @property
    def fits(self) -> bool:
        return all(d.fits for d in self.devices)

    @property
    def tflops_per_device(self) -> float:
        """Model TFLOP/s per device."""
        if self.iteration_time <= 0:
            return 0.0
        return (
            self.model_flops
            / self.iteration_time
            / max(1, self.strategy.devices)
            / 1e12
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "iteration_time_s": self.iteration_time,
            "samples_per_second": self.samples_per_second,
            "model_tflops_per_device": self.tflops_per_device,
            "model_flops": self.model_flops,
            "peak_bytes": self.peak,
            "fits": self.fits,
            "devices": [
                {
                    "stage": d.stage,
                    "device": d.device,
                    "peak_bytes": d.peak,
                    "activation_peak_bytes": d.activation_peak,
                    "model_state_bytes": d.model_state,
                    "capacity_bytes": d.capacity,
                    "fits": d.fits,
                    "busy_s": d.busy,
                    "peak_time_s": d.peak_time,
                    "stored_activations_bytes": d.stored_activations,
                }
                for d in self.devices
            ],
            "communication_bytes": self.communication,
            "breakdown_s": self.breakdown,
            "order": self.order,
            "strategy": self.strategy.to_dict(),
            "cluster": self.cluster.name,
            "nodes": self.cluster.nodes,
            "stats": self.stats,
        }

    def chrome_trace(self) -> dict[str, Any]:
        """The timeline as Chrome trace events (Perfetto, chrome://tracing)."""
        t = self.tasks
        events: list[dict[str, Any]] = []
        names = {}
        for pid, stage in enumerate(range(len(self.devices))):
            names[pid] = f"stage {stage} (device {self.devices[stage].device})"
        for pid, name in names.items():
            events.append(
                {
                    "ph": "M",
                    "name": "process_name",
                    "pid": pid,
                    "args": {"name": name},
                }
            )
        for k in range(len(t["start"])):
            dur = float(t["end"][k] - t["start"][k])
            stage = int(t["stage"][k])
            events.append(
                {
                    "name": t["name"][k],
                    "cat": t["kind"][k],
                    "ph": "X",
                    "ts": float(t["start"][k]) * 1e6,
                    "dur": dur * 1e6,
                    "pid": stage,
                    "tid": t["resource"][k],
                    "args": {"microbatch": int(t["microbatch"][k])},
                }
            )
        for stage, (times, values) in enumerate(self.memory):
            for x, y in zip(times.tolist(), values.tolist(), strict=True):
                events.append(
                    {
                        "name": "memory",
                        "ph": "C",
                        "ts": x * 1e6,
                        "pid": stage,
                        "args": {"bytes": y},
                    }
                )
        return {"traceEvents": events, "displayTimeUnit": "ms"}


# ---------------------------------------------------------------------------


def simulate(
    graph: Graph,
    cluster: Any = "cpu-test",
    strategy: Any = "single",
    *,
    order: Any = "fifo",
    dtype: str | None = None,
    batch: int | None = None,
    time_limit: float = 10.0,
    op_times: dict[Any, float] | None = None,
    cache: dict | None = None,
    fuse: bool = False,
) -> SimulationResult:
    """Simulate one training step of ``graph`` (see the module docstring).

    Parameters
    ----------
    graph
        The step at the per-device micro-batch size.
    cluster, strategy
        Objects, presets or files (see :func:`.cluster.cluster`,
        :func:`.strategy.strategy`).
    order
        ``fifo``, ``optimal``, ``trace``, or a list of all node ids.
    dtype
        The compute dtype for the roofline (default the graph's parameter
        dtype, else fp32).
    batch
        Samples per micro-batch (default the first input's first dimension
        when the graph records it).
    time_limit
        Seconds for the optimal orders (all stages together).
    op_times
        Seconds per node id, replacing the roofline for those nodes (measured
        kernel times, or a layer's total as :func:`unit_times` gives it).
    cache
        A dict kept between calls on the same graph (a search's): the
        recomputing graphs, op times and FIFO orders are reused.
    fuse
        Time chains of elementwise operators as single fused kernels
        (:func:`fused_times`: what Megatron-LM's fused kernels, XLA or
        Inductor do); memory is unchanged.

    Raises
    ------
    StrategyError
        A strategy the graph or cluster cannot run.
    """
    require_graph(graph, "simulate")
    t0 = _time.perf_counter()
    c = make_cluster(cluster)
    s = make_strategy(strategy, c)
    if s.tp > 1 and int((graph.meta or {}).get("tensor_parallel", 1)) != s.tp:
        raise StrategyError(
            f"Strategy {s.name}: tensor parallelism needs a graph traced as "
            f"one tensor-parallel shard of degree {s.tp}; this graph is not."
        )
    _check_layer_degrees(graph, s)
    if isinstance(order, str) and order not in ORDERS:
        raise ValueError(
            f"order must be one of {', '.join(ORDERS)} or a list."
        )
    if s.recompute:
        key = ("recompute", id(graph), s.recompute)
        hit = cache.get(key) if cache is not None else None
        if hit is not None and hit[0] is graph:
            cache[key] = cache.pop(key)  # the most recently used last
            graph = hit[1]
        else:
            changed = with_recomputation(graph, list(s.recompute))
            if cache is not None:
                cache[key] = (graph, changed)
                _evict(cache)
            graph = changed
    meta = graph.meta or {}
    dtype = dtype or _DTYPES.get(str(meta.get("dtype")), "fp32")
    if s.duplicate:
        key = (
            "duplicate",
            id(graph),
            s.duplicate,
            s.pp,
            s.stage_starts,
            s.unit_depth,
            c.name,
            dtype,
            fuse,
        )
        hit = cache.get(key) if cache is not None else None
        if hit is not None and hit[0] is graph:
            cache[key] = cache.pop(key)
            graph = hit[1]
        else:
            # the copies' stages: the assignment of the graph without them
            # (which the copies, having no unit, leave as it is)
            probe = _Builder(graph, c, s, dtype, op_times, cache, fuse)
            probe.assign_stages()
            changed = with_duplication(graph, probe.stage, s.duplicate)
            if cache is not None:
                cache[key] = (graph, changed)
                _evict(cache)
            graph = changed
    if batch is None:
        shapes = meta.get("input_shapes") or []
        batch = int(shapes[0][0]) if shapes and shapes[0] else None

    def run(spec: Any) -> tuple[_Builder, SimulationResult]:
        sim = _Builder(graph, c, s, dtype, op_times, cache, fuse)
        sim.assign_stages()
        if isinstance(spec, tuple):  # ("stages", node indices by stage)
            sim.base = spec[1]
        else:
            sim.device_orders(spec, time_limit)
        sim.build_tasks()
        sim.run()
        label = order if isinstance(order, str) else "given"
        return sim, sim.report(label, batch)

    result = run(order)[1] if order != "optimal" else _optimal_checked(run)
    result.stats["simulation_s"] = _time.perf_counter() - t0
    return result


#: recomputing graphs a search's cache keeps (a few MB each on a GPT
#: layer stack), least recently used first out
CACHED_GRAPHS = 32


def _evict(cache: dict) -> None:
    """Drop the least recently used recomputing (or duplicating) graphs
    beyond :data:`CACHED_GRAPHS`, with everything cached about them."""
    kept = [k for k in cache if k[0] in _DERIVED]
    for key in kept[: max(0, len(kept) - CACHED_GRAPHS)]:
        if key in cache:
            _drop(cache, key)


_DERIVED = ("recompute", "duplicate")


def _drop(cache: dict, key: tuple) -> None:
    gone = id(cache.pop(key)[1])
    for k in [k for k in cache if len(k) > 1 and k[1] == gone]:
        if k in cache:
            if k[0] in _DERIVED:
                _drop(cache, k)
            else:
                del cache[k]


#: ATen operators a fusing compiler merges into one kernel when one feeds
#: the next (elementwise maps, dropout, masking, softmax and copies)
FUSABLE = frozenset(
    {
        "add",
        "sub",
        "mul",
        "div",
        "neg",
        "exp",
        "tanh",
        "rsqrt",
        "pow",
        "gelu",
        "gelu_backward",
        "silu",
        "silu_backward",
        "native_dropout",
        "native_dropout_backward",
        "masked_fill",
        "where",
        "_softmax",
        "_softmax_backward_data",
        "_to_copy",
        "clone",
        "copy",
    }
)


def _aten_name(op: str | None) -> str:
    """``aten.mul.Tensor`` -> ``mul``."""
    if not op:
        return ""
    parts = op.split(".")
    return parts[1] if parts[0] == "aten" and len(parts) > 1 else ""


def fused_times(
    graph: Graph, mb: Any, dur: np.ndarray, device: Any, dtype: str
) -> np.ndarray:
    """Roofline times with chains of elementwise operators fused.

    An elementwise operator (:data:`FUSABLE`) whose output buffer is read
    by exactly one other operator that takes time, itself elementwise and
    in the same phase, is fused into it: the buffer never reaches memory
    (it is neither written nor read back), and the group pays one launch.
    Buffers also read elsewhere (saved for the backward pass, like
    dropout's mask or softmax's output) are written as usual, which is how
    Megatron-LM's fused bias-dropout-add and scale-mask-softmax kernels
    behave. A group's time, ``op_time`` of its summed FLOPs and of its bytes
    less twice each eliminated buffer, is spread over its operators in
    proportion to their unfused times. Memory is not changed.
    """
    n = graph.n
    ops = graph.op or [None] * n
    phase = graph.phase or ["forward"] * n
    fusable = [_aten_name(o) in FUSABLE for o in ops]
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    saved = np.zeros(n)  # bytes a group no longer moves, per root later
    for b in range(len(mb)):
        p = int(mb.producer[b])
        if p < 0 or not fusable[p] or mb.output[b]:
            continue
        cons = [
            int(x)
            for x in mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]]
            if dur[x] > 0
        ]
        if len(cons) != 1:
            continue
        w = cons[0]
        if not fusable[w] or phase[w] != phase[p]:
            continue
        parent[find(p)] = find(w)
        saved[p] += 2 * float(mb.size[b])
    groups: dict[int, list[int]] = defaultdict(list)
    for v in range(n):
        if fusable[v]:
            groups[find(v)].append(v)
    out = dur.copy()
    for members in groups.values():
        if len(members) < 2:
            continue
        flops = float(sum(float(graph.flops[v]) for v in members))
        moved = float(sum(float(graph.op_bytes[v]) for v in members))
        moved = max(0.0, moved - float(sum(saved[v] for v in members)))
        total = op_time(flops, moved, device, dtype)
        before = float(sum(dur[v] for v in members))
        if before <= 0:
            continue
        for v in members:
            out[v] = total * dur[v] / before
    return out


def _check_layer_degrees(graph: Graph, s: Strategy) -> None:
    """The strategy's per-unit degrees are those the graph was traced with."""
    meta = graph.meta or {}
    traced = meta.get("tensor_parallel_by_unit") or {}
    uniform = set(traced.values()) <= {meta.get("tensor_parallel", 1)}
    if uniform and not s.layer_tp:
        return  # one degree everywhere: the global check applies
    for unit, t in traced.items():
        if s.tp_of(unit) != int(t):
            raise StrategyError(
                f"Strategy {s.name}: unit {unit!r} has tensor-parallel "
                f"degree {s.tp_of(unit)} but the graph was traced with "
                f"{t}; trace it with the same layer_tp (pebble-sched import "
                "gpt --layer-tp)."
            )
    if s.layer_tp and not traced:
        raise StrategyError(
            f"Strategy {s.name}: layer_tp needs a graph traced with per-layer "
            "degrees (pebble-sched import gpt --layer-tp); this graph has "
            "none."
        )


def unit_times(
    graph: Graph,
    cluster: Any = "cpu-test",
    strategy: Any = "single",
    *,
    dtype: str | None = None,
    fuse: bool = False,
) -> dict[tuple[str | None, str], float]:
    """Seconds of compute per (layer unit, phase) on one device, tensor-parallel
    collectives included: what a coarser model of the same step (one node
    per layer and phase, :func:`simulate` with ``op_times``) needs."""
    c = make_cluster(cluster)
    s = make_strategy(strategy, c)
    if s.recompute:
        graph = with_recomputation(graph, list(s.recompute))
    meta = graph.meta or {}
    dtype = dtype or _DTYPES.get(str(meta.get("dtype")), "fp32")
    b = _Builder(graph, c, s, dtype, fuse=fuse)
    out: dict[tuple[str | None, str], float] = defaultdict(float)
    for v in range(graph.n):
        out[(b.unit[v], b.phase[v])] += float(b.dur[v])
    return dict(out)


def _optimal_checked(run) -> SimulationResult:
    """Each stage's solver order where the simulation confirms it does not
    raise that device's peak above FIFO's, FIFO's elsewhere.

    The solver minimizes the peak of one micro-batch of a stage alone; with
    several micro-batches in flight, or transfers arriving at other times,
    a device's peak can differ, so every stage is checked by simulation.
    """
    fifo_sim, fifo = run("fifo")
    opt_sim, opt = run("optimal")
    ceiling = [d.activation_peak for d in fifo.devices]
    stages = len(ceiling)
    use = [
        opt.devices[st].activation_peak <= ceiling[st] for st in range(stages)
    ]
    stats = opt.stats.get("optimal_orders", {})
    for _ in range(3):
        base = [
            v
            for st in range(stages)
            for v in (opt_sim.base if use[st] else fifo_sim.base)
            if opt_sim.stage[v] == st
        ]
        result = run(("stages", base))[1]
        worse = [
            st
            for st in range(stages)
            if use[st] and result.devices[st].activation_peak > ceiling[st]
        ]
        if not worse:
            break
        for st in worse:
            use[st] = False
    else:
        result = fifo
        use = [False] * stages
    result.order = "optimal"
    result.stats["optimal_orders"] = stats
    result.stats["solver_order_kept"] = use
    return result


class _Builder:
    def __init__(
        self,
        graph: Graph,
        c: Cluster,
        s: Strategy,
        dtype: str,
        op_times: dict[Any, float] | None = None,
        cache: dict | None = None,
        fuse: bool = False,
    ):
        self.g, self.c, self.s, self.dtype = graph, c, s, dtype
        self.cache = cache if not op_times else None
        n = graph.n
        self.n = n
        self.phase = list(graph.phase) if graph.phase else ["forward"] * n
        layers = graph.layer or [None] * n
        key = ("units", id(graph), s.unit_depth)
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None and hit[0] is graph:
            self.unit, self.phase_code = hit[1], hit[2]
        else:
            units = {x: unit_of(x, s.unit_depth) for x in set(layers)}
            self.unit = [units[x] for x in layers]
            # duplicates run on their given stage, outside any unit
            for name in (graph.meta or {}).get("duplicate_stage") or ():
                self.unit[graph.index(name)] = None
            # forward 0, backward 1, recompute 2, update 3, none -1
            codes = {"forward": 0, "backward": 1, "recompute": 2, "update": 3}
            self.phase_code = np.array(
                [codes.get(x, -1) for x in self.phase], dtype=np.int64
            )
            if self.cache is not None:
                self.cache[key] = (graph, self.unit, self.phase_code)
        key = (
            "builder",
            id(graph),
            c.name,
            c.nodes,
            dtype,
            s.tp,
            s.layer_tp,
            fuse,
        )
        hit = self.cache.get(key) if self.cache is not None else None
        self.mb = graph.memory_buffers()
        if hit is not None and hit[0] is graph:
            _, dur, self.tp_bytes, self.topo, self.pred = hit
            self.dur = dur.copy()
        else:
            dev = c.device
            self.dur = roofline_times(graph.flops, graph.op_bytes, dev, dtype)
            if fuse:
                self.dur = fused_times(graph, self.mb, self.dur, dev, dtype)
            self.topo = graph.topological_order().tolist()
            self.tp_bytes: dict[str, float] = {}
            if s.tp > 1 or s.layer_tp:
                self._tensor_parallel_collectives(layers)
            idx, ptr = graph.pred_idx.tolist(), graph.pred_ptr.tolist()
            self.pred = [idx[ptr[v] : ptr[v + 1]] for v in range(n)]
            if self.cache is not None:
                self.cache[key] = (
                    graph,
                    self.dur.copy(),
                    self.tp_bytes,
                    self.topo,
                    self.pred,
                )
        for v, seconds in (op_times or {}).items():
            if not (seconds >= 0 and math.isfinite(seconds)):
                raise ValueError(
                    f"op_times[{v!r}] = {seconds} is not a duration."
                )
            self.dur[graph.index(v)] = float(seconds)

    def _tensor_parallel_collectives(self, layers) -> None:
        """Megatron's collectives inside the layers, blocking the compute.

        A ``tp_exit`` marker all-reduces its input across the tensor-parallel
        group in the forward pass (and again when recomputed), a
        ``tp_enter`` marker the gradient in the backward pass; with sequence
        parallelism the ``pebble.all_gather``, ``pebble.reduce_scatter`` and
        ``pebble.gather_linear`` operators of the trace are the collectives.
        The node waits for them (NCCL on the compute stream).
        """
        s, c, mb = self.s, self.c, self.mb
        links = {}

        def link_of(t: int):
            if t not in links:
                links[t] = (c.link(range(t)), c.link_class(range(t)))
            return links[t]

        def count(klass: str, size: float) -> None:
            self.tp_bytes[klass] = self.tp_bytes.get(klass, 0.0) + size

        groups = (self.g.meta or {}).get("reshard_groups") or {}
        ops = self.g.op or [None] * self.n
        for v in range(self.n):
            path = layers[v] or ""
            op = ops[v] or ""
            ph = self.phase[v]
            if not (
                op.startswith("pebble.")
                or (
                    path.endswith("tp_exit") and ph in ("forward", "recompute")
                )
                or (path.endswith("tp_enter") and ph == "backward")
            ):
                continue  # not a collective (the common case: cheap test)
            t = s.tp_of(path) if path else s.tp
            if t <= 1 and not op.startswith("pebble.reshard"):
                continue
            reads = mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]]
            read = float(mb.size[reads].sum()) if len(reads) else 0.0
            made = mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]]
            out = float(mb.size[made].sum()) if len(made) else 0.0
            link, klass = link_of(t)
            if op.startswith("pebble.reshard"):
                # the batch grows: gather the slices of k devices spread
                # over the wider tensor-parallel group
                if out > read > 0:
                    k = round(out / read)
                    span = int(groups.get(path, k))
                    link, klass = link_of(span)
                    self.dur[v] += all_gather_time(out, k, link)
                    count(klass, (k - 1) / k * out)
            elif op.startswith(
                ("pebble.all_gather", "pebble.gather_channels")
            ):
                self.dur[v] += all_gather_time(out, t, link)
                count(klass, (t - 1) / t * out)
            elif op.startswith("pebble.grad_all_reduce"):
                self.dur[v] += all_reduce_time(read, t, link)
                count(klass, 2 * (t - 1) / t * read)
            elif op.startswith("pebble.reduce_scatter"):
                self.dur[v] += reduce_scatter_time(read, t, link)
                count(klass, (t - 1) / t * read)
            elif op.startswith("pebble.gather_linear"):
                self.dur[v] += all_gather_time(read * t, t, link)
                count(klass, (t - 1) * read)
            elif op.startswith("pebble."):
                continue
            elif (
                path.endswith("tp_exit") and ph in ("forward", "recompute")
            ) or (path.endswith("tp_enter") and ph == "backward"):
                self.dur[v] += all_reduce_time(read, t, link)
                count(klass, 2 * (t - 1) / t * read)

    # -- stages --------------------------------------------------------------

    def _stage_prep(self) -> tuple[list[str], np.ndarray, list, list[int]]:
        """What stage assignment needs of the graph alone (cached): the
        layer units in program order (first forward node), each node's unit
        index (-1: none), the unit pairs a forward edge joins, and the nodes
        outside any unit in topological order."""
        key = ("stage-prep", id(self.g), self.s.unit_depth)
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None and hit[0] is self.g:
            return hit[1]
        g, unit = self.g, self.unit
        first: dict[str, int] = {}
        index = g._index  # noqa: SLF001 (the package's own)
        program = (
            [index[v] for v in g.trace_order]
            if g.trace_order is not None
            else self.topo
        )
        fwd = self.phase_code == 0
        for k, v in enumerate(program):
            u = unit[v]
            if u is not None and u not in first and fwd[v]:
                first[u] = k
        units = sorted(first, key=first.get)
        number = {u: i for i, u in enumerate(units)}
        code = np.array([number.get(u, -1) for u in unit], dtype=np.int64)
        src, dst = g.edge_src, g.edge_dst
        a, b = code[src], code[dst]
        keep = fwd[src] & fwd[dst] & (a >= 0) & (b >= 0) & (a != b)
        pairs = sorted(
            set(zip(a[keep].tolist(), b[keep].tolist(), strict=True))
        )
        free = [v for v in self.topo if code[v] < 0]
        out = (units, code, pairs, free)
        if self.cache is not None:
            self.cache[key] = (self.g, out)
        return out

    def assign_stages(self) -> None:
        s = self.s
        units, code, pairs, free = self._stage_prep()
        self.units = units
        if s.pp > max(1, len(units)):
            raise StrategyError(
                f"Strategy {s.name}: {s.pp} pipeline stages but the graph has "
                f"{len(units)} layer units (unit_depth {s.unit_depth})."
            )
        if s.stage_starts:
            missing = [u for u in s.stage_starts if u not in units]
            if missing:
                raise StrategyError(
                    f"Strategy {s.name}: stage_starts names {missing[0]!r}, "
                    f"not a layer unit (units: {', '.join(units[:8])}"
                    + (", ..." if len(units) > 8 else "")
                    + ")."
                )
            cut = np.array(sorted(units.index(u) for u in s.stage_starts))
            if len(set(cut.tolist())) != s.pp - 1 or (cut == 0).any():
                raise StrategyError(
                    f"Strategy {s.name}: stage_starts must name {s.pp - 1} "
                    "distinct units after the first, one per stage after "
                    "the first."
                )
        else:
            counted = (self.phase_code == 0) & (code >= 0)
            weight = np.bincount(
                code[counted],
                weights=np.asarray(self.dur)[counted],
                minlength=len(units),
            )
            cut = _partition(weight.tolist(), s.pp)
        of_unit = np.searchsorted(cut, np.arange(len(units)), side="right")
        of_unit = of_unit.astype(np.int64).tolist()
        # a unit feeding an earlier stage's unit moves back to that stage
        changed = True
        while changed:
            changed = False
            for a, b in pairs:
                if of_unit[a] > of_unit[b]:
                    of_unit[a] = of_unit[b]
                    changed = True
        self.stage_of_unit = dict(zip(units, of_unit, strict=True))
        stage_arr = np.asarray([*of_unit, -1], dtype=np.int64)[code]
        stage = stage_arr.tolist()
        last = s.pp - 1
        forced = {
            self.g.index(k): st
            for k, st in (
                (self.g.meta or {}).get("duplicate_stage") or {}
            ).items()
        }
        for v in free:
            if v in forced:
                stage[v] = forced[v]
                continue
            preds = [stage[p] for p in self.pred[v]]
            default = 0 if self.phase[v] == "forward" else last
            stage[v] = max(preds) if preds else default
        self.stage = stage

    # -- orders ----------------------------------------------------------------

    def device_orders(self, order: Any, time_limit: float) -> None:
        g = self.g
        if isinstance(order, str):
            if order == "trace":
                base = (
                    [g.index(v) for v in g.trace_order]
                    if g.trace_order is not None
                    else self.topo
                )
            elif order == "fifo":
                key = ("fifo", id(g))
                hit = self.cache.get(key) if self.cache is not None else None
                if hit is not None and hit[0] is g:
                    base = hit[1]
                else:
                    base = _fifo(g, self.pred)
                    if self.cache is not None:
                        self.cache[key] = (g, base)
            else:
                base = self._optimal(time_limit)
        else:
            from ..memory import evaluate

            evaluate(g, order)  # checks it (ScheduleError names the culprit)
            base = [g.index(v) for v in order]
        self.base = base

    def _optimal(self, time_limit: float) -> list[int]:
        from ..solve import solve

        def solved(g: Graph, limit: float) -> Schedule:
            # solve() answers Ctrl-C with its best so far; here that would
            # be cached as the order of this strategy: pass it on instead
            sched = solve(g, time_limit=limit)
            if sched.stats.get("interrupted") == "ctrl-c":
                raise KeyboardInterrupt
            return sched

        pp = self.s.pp
        if pp == 1:
            sched = solved(self.g, time_limit)
            self.stats_solve = {0: (sched.peak, sched.status.value)}
            return [self.g.index(v) for v in sched.order]
        out: list[int] = []
        self.stats_solve = {}
        rank = {}
        for st in range(pp):
            nodes = [v for v in self.topo if self.stage[v] == st]
            sub = _induced(self.g, nodes)
            sched = solved(sub, time_limit / pp)
            self.stats_solve[st] = (sched.peak, sched.status.value)
            for k, v in enumerate(sched.order):
                rank[self.g.index(v)] = k
        # stages are independent sequences; concatenate by stage
        for st in range(pp):
            nodes = [v for v in range(self.n) if self.stage[v] == st]
            out += sorted(nodes, key=rank.get)
        return out

    # -- tasks -----------------------------------------------------------------

    def build_tasks(self) -> None:
        g, s, c = self.g, self.s, self.c
        n, m, pp = self.n, self.s.microbatches, self.s.pp
        stage = self.stage
        T = _Tasks()
        self.T = T
        is_update = self.phase_code == 3
        self.stage_arr = np.asarray(stage, dtype=np.int64)
        # compute tasks: one per (node, micro-batch), update nodes once;
        # tasks_of[v][j] is v's task in micro-batch j
        tasks_arr = np.full((n, m), -1, dtype=np.int64)
        key = ("names", id(g))
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None and hit[0] is g:
            T.node_names = hit[1]
        else:
            T.node_names = [str(x) for x in g.ids]
            if self.cache is not None:
                self.cache[key] = (g, T.node_names)
        for st in range(pp):
            res = T.resource("compute", st, compute=True)
            groups = self._groups(st)
            # a stage's tasks appended in bulk (the hot path), in the order
            # the device runs them
            at = np.concatenate(
                [np.asarray(nodes, dtype=np.int64) for nodes, _ in groups]
                or [np.zeros(0, dtype=np.int64)]
            )
            job = np.concatenate(
                [np.full(len(nodes), j, dtype=np.int64) for nodes, j in groups]
                or [np.zeros(0, dtype=np.int64)]
            )
            upd = is_update[at]
            job[upd] = -1
            first, count = len(T.dur_list), len(at)
            ks = np.arange(first, first + count, dtype=np.int64)
            T.dur_list.extend(self.dur[at].tolist())
            T.res.extend([res] * count)
            T.stage.extend([st] * count)
            T.job.extend(job.tolist())
            T.kinds.extend(["compute"] * count)
            T.node.extend(at.tolist())
            T.ndeps_list.extend([0] * count)
            tasks_arr[at[~upd], job[~upd]] = ks[~upd]
            tasks_arr[at[upd], :] = ks[upd, None]
            T.sequence[res].extend(range(first, first + count))
        self.tasks_arr = tasks_arr
        tasks_of: list[list[int]] = tasks_arr.tolist()
        self.tasks_of = tasks_of

        def inst(v: int, j: int) -> int:
            return tasks_of[v][j]

        self.inst = inst
        jobs = range(m)
        # dependencies and transfers
        mb = self.mb
        data: dict[tuple[int, int], list[int]] = defaultdict(list)
        cb = np.repeat(np.arange(len(mb)), np.diff(mb.cons_ptr))
        cp = mb.producer[cb]
        cx = mb.cons_idx
        far = (cp >= 0) & (
            self.stage_arr[np.maximum(cp, 0)] != self.stage_arr[cx]
        )
        for b, p, x in zip(
            cb[far].tolist(), cp[far].tolist(), cx[far].tolist(), strict=True
        ):
            data[(p, x)].append(b)
        # transfers between stages: (buffer, destination stage, micro-batch)
        self.sends: dict[tuple[int, int, int], int] = {}
        self.comm_bytes = defaultdict(float)
        for klass, size in self.tp_bytes.items():
            self.comm_bytes[klass] += size * m
        # an edge inside a stage joins two tasks of the same compute
        # resource, which runs its sequence in order: when the producer's
        # task comes first in the sequence (task indices follow it) the edge
        # is implied and left out; one that does not (an order contradicting
        # the graph) is kept, and the simulation reports the deadlock
        src, dst = g.edge_src, g.edge_dst
        stage_arr = np.asarray(stage, dtype=np.int64)
        inside = stage_arr[src] == stage_arr[dst]
        a_ = tasks_arr[src[inside]].ravel()
        b_ = tasks_arr[dst[inside]].ravel()
        late = a_ > b_
        for a, b in zip(a_[late].tolist(), b_[late].tolist(), strict=True):
            T.dep(a, b)
        across = ~inside & (is_update[src] | is_update[dst])
        a_ = tasks_arr[src[across]].ravel()
        b_ = tasks_arr[dst[across]].ravel()
        for a, b in zip(a_.tolist(), b_.tolist(), strict=True):
            T.dep(a, b)
        cross = ~inside & ~across
        for u, v in zip(src[cross].tolist(), dst[cross].tolist(), strict=True):
            for j in jobs:
                a, b_ = inst(u, j), inst(v, j)
                bufs = data.get((u, v), [])
                if not bufs:
                    T.dep(a, b_)
                    continue
                for b in bufs:
                    key = (b, stage[v], j)
                    if key not in self.sends:
                        size = float(mb.size[b])
                        devs = [s.device_of(stage[u]), s.device_of(stage[v])]
                        link = c.link(devs)
                        klass = c.link_class(devs)
                        res = T.resource(
                            f"p2p {stage[u]}->{stage[v]}", stage[u]
                        )
                        k = T.add(
                            f"send b{b}",
                            p2p_time(size, link),
                            res,
                            stage[u],
                            j,
                            "p2p",
                            -1,
                        )
                        T.dep(a, k)
                        self.sends[key] = k
                        self.comm_bytes[klass] += size
                    T.dep(self.sends[key], b_)
        self._collectives()
        self._offload()
        T.freeze()

    def _offload(self) -> None:
        """Activation offload to host memory over PCIe (or to the peer
        stage's device over its link), per matching unit.

        A buffer a unit's forward node produces and a backward node reads is
        copied to the host once its forward readers are done (freed on the
        device when the copy ends) and copied back (reallocated) as the
        device starts the task early enough in its order that the compute
        tasks before the buffer's first backward reader cover the copy's
        time; the readers wait for it.
        """
        self.offloaded: dict[
            tuple[int, int], tuple[int, int, list[int], int]
        ] = {}
        s, c, T, mb = self.s, self.c, self.T, self.mb
        if not s.offload:
            return
        peer = s.offload_to == "peer"
        key = ("offload", id(self.g), s.offload)
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None and hit[0] is self.g:
            unit = hit[1]
        else:
            select = matching_unit(list(s.offload))
            unit = [select(x) for x in self.g.layer or [None] * self.n]
            if self.cache is not None:
                self.cache[key] = (self.g, unit)
        phase, stage = self.phase, self.stage
        backward = [p in ("backward", "recompute") for p in phase]
        # device sequences: the copy back is started early enough to hide
        # its transfer behind the compute tasks before its first reader
        # (a stage's compute tasks are consecutive, in sequence order)
        order = {}
        for st in range(s.pp):
            seq = T.sequence[T.res_index[("compute", st)]]
            base = seq[0] if seq else 0
            order[st] = (seq, base, T.dur_list[base : base + len(seq)])
        # activations of the selected units' forward nodes
        made = mb.producer >= 0
        prod = np.maximum(mb.producer, 0)
        chosen = np.array([u is not None for u in unit], dtype=bool)
        picked = (
            made
            & (mb.size > 0)
            & ~mb.output
            & chosen[prod]
            & (self.phase_code[prod] == 0)
        )
        for b in np.flatnonzero(picked).tolist():
            p = int(mb.producer[b])
            size = float(mb.size[b])
            cons = mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]].tolist()
            late = [x for x in cons if backward[x]]
            if not late or any(stage[x] != stage[p] for x in cons):
                continue
            st = stage[p]
            target = s.peer_stage(st) if peer else -1
            if peer and target == st:
                continue  # a stage of the second half: a peer itself
            if peer:
                devs = [s.device_of(st), s.device_of(target)]
                link, klass = c.link(devs), c.link_class(devs)
            else:
                link, klass = c.host, "host"
            d2h = T.resource(f"offload {st}", st)
            h2d = T.resource(f"prefetch {st}", st)
            seq, base, busy = order[st]
            tasks_of = self.tasks_of
            for j in range(s.microbatches):
                first = min(tasks_of[x][j] for x in late) - base
                if any(
                    tasks_of[x][j] - base > first
                    for x in cons
                    if not backward[x]
                ):
                    continue  # read backward before its forward use ends
                off = T.add(
                    f"offload b{b}",
                    p2p_time(size, link),
                    d2h,
                    st,
                    j,
                    "offload",
                    -1,
                )
                T.dep(self.inst(p, j), off)
                for x in cons:
                    if not backward[x]:
                        T.dep(self.inst(x, j), off)
                pre = T.add(
                    f"prefetch b{b}",
                    p2p_time(size, link),
                    h2d,
                    st,
                    j,
                    "offload",
                    -1,
                )
                T.dep(off, pre)
                i, hidden, need = first - 1, 0.0, T.dur_list[pre]
                while i > 0 and hidden < need:
                    hidden += busy[i]
                    i -= 1
                if i >= 0:
                    T.dep(seq[i], pre)
                for x in late:
                    T.dep(pre, self.inst(x, j))
                self.offloaded[(b, j)] = (
                    off,
                    pre,
                    [self.inst(x, j) for x in late],
                    target,
                )
                self.comm_bytes[klass] += 2 * size

    def _groups(self, st: int) -> list[tuple[np.ndarray, int]]:
        """Stage ``st``'s groups of nodes (one micro-batch's forward or
        backward pass, or the update), in the order the device runs them."""
        s = self.s
        m, pp = s.microbatches, s.pp
        base = np.asarray(self.base, dtype=np.int64)
        mine = base[self.stage_arr[base] == st]
        code = self.phase_code[mine]
        upd = mine[code == 3]
        rest = mine[code != 3]
        if m == 1 and pp == 1:
            return [(mine, 0)]  # exactly the order given
        fwd = rest[self.phase_code[rest] == 0]
        bwd = rest[self.phase_code[rest] != 0]
        out: list[tuple[np.ndarray, int]] = []
        if s.schedule == "gpipe":
            out += [(fwd, j) for j in range(m)]
            out += [(bwd, j) for j in range(m)]
        else:
            warm = min(pp - st - 1, m)
            out += [(fwd, j) for j in range(warm)]
            for i in range(m - warm):
                out.append((fwd, warm + i))
                out.append((bwd, i))
            out += [(bwd, j) for j in range(m - warm, m)]
        out.append((upd, -1))
        return out

    def _collectives(self) -> None:
        """Data-parallel gradient synchronisation and ZeRO's gathers."""
        s, c, T = self.s, self.c, self.T
        self.gathers: list[
            tuple[int, int, int, float]
        ] = []  # task, stage, last use, bytes
        params = self._unit_parameters()
        if all(s.dp_of(u) <= 1 for u in [*params, None]):
            self.sync_done = []
            return
        w, gbytes, _k = self._per_parameter()
        m = s.microbatches
        update = [p == "update" for p in self.phase]
        # each unit's nodes, once (not a scan of the graph per unit)
        members: dict[str | None, list[int]] = defaultdict(list)
        for v, u in enumerate(self.unit):
            members[u].append(v)
        self.members = members
        sync_done = []
        for st in range(s.pp):
            res = T.resource(f"dp {st}", st)
            units = [u for u in params if self._stage_of_unit(u) == st]
            for u in units:
                count = params[u]
                d = s.dp_of(u)
                if not count or d <= 1:
                    continue
                group = s.unit_group(st, u)
                link = c.link(group)
                klass = c.link_class(group)
                grad = count * gbytes
                bw_tasks = [
                    self.tasks_of[v][m - 1]
                    for v in members.get(u, ())
                    if self.phase[v] in ("backward", "recompute")
                ]
                if s.zero >= 2:
                    dur = reduce_scatter_time(grad, d, link)
                else:
                    dur = all_reduce_time(grad, d, link)
                self.comm_bytes[klass] += grad * (
                    (d - 1) / d * (1 if s.zero >= 2 else 2)
                )
                k = T.add(f"grad sync {u}", dur, res, st, -1, "collective", -1)
                for a in bw_tasks:
                    T.dep(a, k)
                ups = [
                    self.tasks_of[v][0]
                    for v in members.get(u, ())
                    if update[v]
                ]
                for b in ups:
                    T.dep(k, b)
                sync_done.append(k)
                if s.zero >= 1:
                    # the updated (sharded) parameters gathered back
                    size = count * w
                    g2 = T.add(
                        f"param gather {u}",
                        all_gather_time(size, d, link),
                        res,
                        st,
                        -1,
                        "collective",
                        -1,
                    )
                    self.comm_bytes[klass] += size * (d - 1) / d
                    T.dep(k, g2)
                    for b in ups:
                        T.dep(b, g2)
                if s.zero >= 3:
                    self._zero3_gathers(u, st, count * w, link, klass, res)
        self.sync_done = sync_done

    def _zero3_gathers(self, u, st, size, link, klass, res) -> None:
        """Parameters gathered before each forward and backward use of a unit."""
        s, T = self.s, self.T
        d = s.dp_of(u)
        for j in range(s.microbatches):
            for phases in (("forward",), ("backward", "recompute")):
                users = [
                    self.tasks_of[v][j]
                    for v in self.members.get(u, ())
                    if self.phase[v] in phases
                ]
                if not users:
                    continue
                k = T.add(
                    f"zero3 gather {u}",
                    all_gather_time(size, d, link),
                    res,
                    st,
                    j,
                    "collective",
                    -1,
                )
                self.comm_bytes[klass] += size * (d - 1) / d
                for a in users:
                    T.dep(k, a)
                self.gathers.append((k, st, max(users), size * (d - 1) / d))

    def _unit_parameters(self) -> dict[str, int]:
        meta = self.g.meta or {}
        by_layer = meta.get("parameters_by_layer") or {}
        out: dict[str, int] = defaultdict(int)
        for layer, count in by_layer.items():
            out[unit_of(layer, self.s.unit_depth) or ""] += int(count)
        if not out and meta.get("parameters"):
            out[self.units[0] if self.units else ""] = int(meta["parameters"])
        return out

    def _stage_of_unit(self, u: str) -> int:
        if u in self.stage_of_unit:
            return self.stage_of_unit[u]
        # parameters of a layer with no forward node of its own (the root's)
        return 0

    def _per_parameter(self) -> tuple[float, float, float]:
        spec = OPTIMIZERS[self.s.optimizer]
        if spec is not None:
            return spec
        meta = self.g.meta or {}
        count = meta.get("parameters") or 0
        per = meta.get("parameter_bytes", 4 * count) / count if count else 4.0
        return per, per, 0.0

    # -- run -------------------------------------------------------------------

    def run(self) -> None:
        T = self.T
        nt = len(T.dur)
        # Python lists in the event loop: element access on numpy arrays
        # costs several times more
        nan = math.nan
        start = [nan] * nt
        end = [nan] * nt
        remaining = list(T.ndeps_list)
        ready = [0.0] * nt
        succ = T.succ
        busy = [False] * len(T.res_names)
        ptr = [0] * len(T.res_names)
        waiting: list[list[tuple[float, int]]] = [[] for _ in T.res_names]
        events: list[tuple[float, int, bool]] = []  # same order as ends
        last_dep = [-1] * nt  # who made it ready
        is_compute = T.res_compute
        task_res = T.res
        dur = T.dur_list
        seqs = T.sequence

        def dispatch(r: int, now: float) -> None:
            if busy[r]:
                return
            if is_compute[r]:
                seq = seqs[r]
                i, size = ptr[r], len(seq)
                if i >= size or remaining[seq[i]]:
                    return
                # the device runs its sequence in order: a task whose
                # successor in the sequence is already ready is followed by
                # it at its end, with no event unless it has successors
                k = seq[i]
                t = now
                while True:
                    i += 1
                    start[k] = t
                    t += dur[k]
                    end[k] = t
                    if i >= size or remaining[seq[i]]:
                        break
                    if k in succ:
                        heapq.heappush(events, (t, k, True))  # successors only
                    k = seq[i]
                ptr[r] = i
            else:
                if not waiting[r]:
                    return
                _, k = heapq.heappop(waiting[r])
                start[k] = now
                end[k] = now + dur[k]
            busy[r] = True
            heapq.heappush(events, (end[k], k, False))

        for k in [k for k in range(nt) if remaining[k] == 0]:
            if not is_compute[task_res[k]]:
                heapq.heappush(waiting[task_res[k]], (0.0, k))
        for r in range(len(T.res_names)):
            dispatch(r, 0.0)
        while events:
            now, k, chained = heapq.heappop(events)
            if chained:  # a task the device followed at once: successors
                touched = set()
            else:
                r = task_res[k]
                busy[r] = False
                touched = {r}
            for x in succ.get(k, ()):
                remaining[x] -= 1
                if now >= ready[x]:
                    ready[x] = now
                    last_dep[x] = k
                if remaining[x] == 0:
                    rx = task_res[x]
                    if not is_compute[rx]:
                        heapq.heappush(waiting[rx], (ready[x], x))
                    touched.add(rx)
            for rr in sorted(touched):
                dispatch(rr, now)
        self.start = np.array(start)
        if np.isnan(self.start).any():
            names = T.names
            stuck = [names[k] for k in np.flatnonzero(np.isnan(self.start))]
            raise RuntimeError(
                "The simulation deadlocked (a device order contradicts the "
                f"dependencies); tasks never started: {', '.join(stuck[:3])}."
            )
        self.end = np.array(end)
        self.last_dep = np.array(last_dep, dtype=np.int64)

    # -- report ----------------------------------------------------------------

    def report(self, order: str, batch: int | None) -> SimulationResult:
        s, c, T = self.s, self.c, self.T
        makespan = float(np.max(self.end)) if len(self.end) else 0.0
        devices, curves = [], []
        state = self._model_state()
        for st in range(s.pp):
            times, values, stored = self._memory_curve(st)
            act = int(values.max()) if len(values) else 0
            at = float(times[int(values.argmax())]) if len(values) else 0.0
            seq = T.sequence[T.res_index[("compute", st)]]
            busy = float(T.dur[np.asarray(seq, dtype=np.int64)].sum())
            devices.append(
                DeviceReport(
                    st,
                    s.device_of(st),
                    state[st] + act,
                    act,
                    state[st],
                    c.device.memory,
                    busy,
                    at,
                    stored,
                )
            )
            curves.append((times, values + state[st]))
        trained = (self.phase_code == 0) | (self.phase_code == 1)
        flops = float(int(self.g.flops[trained].sum()))
        model_flops = flops * s.microbatches * s.dp
        if s.tp > 1:
            model_flops *= s.tp
        samples = (
            batch * s.microbatches * s.dp / makespan
            if batch and makespan > 0
            else None
        )
        T_dict = _TaskTable(T, self.start, self.end)
        stats = {
            "tasks": len(T.dur),
            "nodes": self.n,
            "stages": s.pp,
            "units_per_stage": [
                sum(1 for u in self.units if self.stage_of_unit[u] == st)
                for st in range(s.pp)
            ],
            "dtype": self.dtype,
            "buffer_bytes_per_stage": self._buffer_bytes_per_stage(),
        }
        if hasattr(self, "stats_solve"):
            stats["optimal_orders"] = {
                str(k): {"peak": v[0], "status": v[1]}
                for k, v in self.stats_solve.items()
            }
        return SimulationResult(
            iteration_time=makespan,
            samples_per_second=samples,
            model_flops=model_flops,
            devices=devices,
            communication=dict(self.comm_bytes),
            breakdown=self._breakdown(makespan),
            order=order,
            strategy=s,
            cluster=c,
            stats=stats,
            tasks=T_dict,
            memory=curves,
            orders=self._orders(),
        )

    def _orders(self) -> list[list[Any]]:
        """Each stage's order of the graph's nodes (micro-batch 0)."""
        T, ids = self.T, self.g.ids
        node, job = T.node_arr, T.job_arr
        out = []
        for st in range(self.s.pp):
            seq = np.asarray(
                T.sequence[T.res_index[("compute", st)]], dtype=np.int64
            )
            mine = seq[job[seq] <= 0]
            out.append([ids[v] for v in node[mine].tolist()])
        return out

    def _buffer_bytes_per_stage(self) -> list[int]:
        mb, pp = self.mb, self.s.pp
        made = mb.producer >= 0
        stage = np.asarray(self.stage, dtype=np.int64)[mb.producer[made]]
        sizes = mb.size[made].tolist()
        out = [0] * pp
        for st, size in zip(stage.tolist(), sizes, strict=True):
            out[st] += size
        return out

    def _model_state(self) -> list[int]:
        s = self.s
        meta = self.g.meta or {}
        params = self._unit_parameters()
        total = sum(params.values())
        per_stage = [0] * s.pp
        # per stage: parameters sharded over each unit's data-parallel group
        sharded = [0.0] * s.pp
        for u, count in params.items():
            per_stage[self._stage_of_unit(u)] += count
            sharded[self._stage_of_unit(u)] += count / s.dp_of(u)
        spec = OPTIMIZERS[s.optimizer]
        out = []
        for st in range(s.pp):
            if spec is None:
                const = int(meta.get("constant_bytes", 0))
                share = (
                    per_stage[st] / total
                    if total
                    else (1.0 if st == 0 else 0.0)
                )
                out.append(round(const * share) if s.pp > 1 else const)
                continue
            w, g, k = spec
            p, q = per_stage[st], sharded[st]
            out.append(
                int(
                    w * (q if s.zero >= 3 else p)
                    + g * (q if s.zero >= 2 else p)
                    + k * (q if s.zero >= 1 else p)
                )
            )
        return out

    def _memory_curve(self, st: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Activation memory of stage ``st`` over time (step function), and
        what is live as its first backward task starts.

        Each buffer is allocated as the task producing it starts and freed
        as its last reader on this device (or the transfer sending it
        elsewhere) ends; events sort by time, then frees before
        allocations, then by the position of their task in the device's
        sequence (the order the device runs them in), then in the order of
        the buffers. The bulk (every activation in every micro-batch) is
        computed with arrays; the rare cases (outputs, offloaded copies,
        update-phase producers, transfers received) one by one.
        """
        mb, T, s = self.mb, self.T, self.s
        start, end = self.start, self.end
        m = s.microbatches
        drop_outputs = OPTIMIZERS[s.optimizer] is not None
        seq = T.sequence[T.res_index[("compute", st)]]
        if not seq:
            return np.zeros(1), np.zeros(1, dtype=np.int64), 0
        # a stage's compute tasks are consecutive and in sequence order
        base, count = seq[0], len(seq)
        stage = self.stage_arr
        tasks = self.tasks_arr
        tasks_of = self.tasks_of
        nb = len(mb)

        def pos(k):
            k = np.asarray(k, dtype=np.int64)
            return np.where((k >= base) & (k < base + count), k - base, -1)

        def pos1(k: int) -> int:
            return k - base if base <= k < base + count else -1

        def order(section, b, j, sub):
            return ((section * (nb + 1) + b) * (m + 1) + (j + 1)) * 4 + sub

        parts: list[tuple] = []  # (time, class, rank, delta, order) arrays
        few: list[tuple] = []  # the same, one event at a time

        def add(t0, t1, size, k0, k1, key):
            # alloc at the start of task k0 (rank), free at the end of k1
            p0, p1 = pos1(k0), pos1(k1)
            few.append((t0, 1, 2 * p0, size, key))
            zero = t1 == start[k1] if k1 >= 0 else False
            few.append((t1, 1 if zero else 0, 2 * p1 + 1, -size, key + 1))

        def latest(ks):
            return max(ks, key=lambda k: (end[k], pos1(k)))

        job_seq = T.job_arr[base : base + count]
        jobs_here, firsts = np.unique(job_seq, return_index=True)
        first_task = {
            int(j): base + int(i)
            for j, i in zip(jobs_here.tolist(), firsts.tolist(), strict=True)
        }
        size = mb.size
        prod = mb.producer
        out = mb.output
        valid = (size > 0) & ~(out & drop_outputs)
        made = prod >= 0
        pstage = np.where(made, stage[np.maximum(prod, 0)], -1)
        # readers on this stage, as (buffer, node) pairs
        cb = np.repeat(np.arange(nb), np.diff(mb.cons_ptr))
        cx = mb.cons_idx
        mine = stage[cx] == st
        rb, rx = cb[mine], cx[mine]
        nreaders = np.bincount(rb, minlength=nb)
        update = self.phase_code == 3
        ups = made & update[np.maximum(prod, 0)]

        # offloaded activations made here (the offloaded buffers are
        # activations whose readers are all on the producer's stage)
        off_here = [
            (b, j, off, pre, readers)
            for (b, j), (off, pre, readers, _peer) in self.offloaded.items()
            if pstage[b] == st
        ]
        # -- activations made here: alloc at the producer's start, free at
        # the last reader here or the last transfer out (array path)
        bulk = valid & made & (pstage == st) & ~out & ~ups
        ib = np.full(nb, -1, dtype=np.int64)
        sel = np.flatnonzero(bulk)
        ib[sel] = np.arange(len(sel))
        if len(sel):
            jj = np.arange(m)
            kp = tasks[prod[sel]]  # (buffers, m)
            groups = len(sel) * m
            # candidates for the freeing task: readers here, transfers out
            keep = ib[rb] >= 0
            g_r = (ib[rb[keep]][:, None] * m + jj).ravel()
            k_r = tasks[rx[keep]].ravel()
            send_g, send_k = [], []
            for (b, _dst, j), k in self.sends.items():
                if ib[b] >= 0:
                    send_g.append(ib[b] * m + j)
                    send_k.append(k)
            g_all = np.concatenate([g_r, np.asarray(send_g, dtype=np.int64)])
            k_all = np.concatenate([k_r, np.asarray(send_k, dtype=np.int64)])
            p_all = pos(k_all)
            p_all[len(k_r) :] = -1
            k_tie = k_all.copy()
            k_tie[len(k_r) :] = -1
            e_all = end[k_all] if len(k_all) else np.zeros(0)
            t1 = end[kp.ravel()].copy()
            k1 = kp.ravel().copy()
            if len(g_all):
                o = np.lexsort((k_tie, p_all, e_all, g_all))
                gs = g_all[o]
                last = np.flatnonzero(np.r_[gs[1:] != gs[:-1], True])
                g_last = gs[last]
                t1[g_last] = e_all[o][last]
                k1[g_last] = k_tie[o][last]
            k0 = kp.ravel()
            t0 = start[k0]
            zero = (k1 >= 0) & (t1 == start[np.maximum(k1, 0)])
            bb = np.repeat(sel, m)
            j_ = np.tile(jj, len(sel))
            moved = np.zeros(groups, dtype=bool)
            for b, j, *_ in off_here:
                moved[ib[b] * m + j] = True
            live = ~moved
            sz = size[bb][live]
            key = order(0, bb[live], j_[live], 0)
            parts.append(
                (
                    t0[live],
                    np.ones(len(sz), np.int64),
                    2 * pos(k0[live]),
                    sz,
                    key,
                )
            )
            parts.append(
                (
                    t1[live],
                    zero[live].astype(np.int64),
                    2 * pos(k1[live]) + 1,
                    -sz,
                    key + 1,
                )
            )
        # offloaded copies: resident until copied out, again from the copy
        # back until the last backward reader ends
        for b, j, off, pre, readers in off_here:
            sz, key = int(size[b]), order(0, b, j, 0)
            kp = tasks_of[int(prod[b])][j]
            add(start[kp], end[off], sz, kp, off, key)
            few.append((start[pre], 1, -1, sz, key + 2))
            last = latest(readers)
            few.append((end[last], 0, 2 * pos1(last) + 1, -sz, key + 3))
        # outputs made here, and buffers an update node makes
        for b in np.flatnonzero(valid & made & (pstage == st) & (out | ups)):
            b = int(b)
            p, sz = int(prod[b]), int(size[b])
            if out[b]:
                kp = tasks_of[p][0]
                j = -1 if update[p] else 0
                few.append((start[kp], 1, 2 * pos1(kp), sz, order(0, b, j, 0)))
                continue
            here = rx[rb == b].tolist()
            cons = cx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]].tolist()
            kp = tasks_of[p][-1]
            ends = [
                (end[k], pos1(k), k) for k in (tasks_of[x][-1] for x in here)
            ]
            for x in cons:
                if stage[x] != st and (b, int(stage[x]), -1) in self.sends:
                    ends.append(
                        (end[self.sends[(b, int(stage[x]), -1)]], -1, -1)
                    )
            t1_, _, k1_ = max(ends) if ends else (end[kp], 0, kp)
            add(start[kp], t1_, sz, kp, k1_, order(0, b, -1, 0))

        # -- graph inputs
        inputs = valid & ~made
        if st == 0 and 0 in first_task:
            k0 = first_task[0]
            p0 = 2 * (k0 - base)
            for b in np.flatnonzero(
                inputs & (out | (np.diff(mb.cons_ptr) == 0))
            ):
                b, sz = int(b), int(size[b])
                # kept to the end: resident throughout; read by nobody:
                # resident before the first task only
                few.append((start[k0], 1, p0 - 2, sz, order(0, b, 0, 0)))
                if not out[b]:
                    few.append((start[k0], 1, p0 - 1, -sz, order(0, b, 0, 1)))
        read = np.flatnonzero(inputs & ~out & (nreaders > 0))
        if len(read):
            ib2 = np.full(nb, -1, dtype=np.int64)
            ib2[read] = np.arange(len(read))
            keep = ib2[rb] >= 0
            jj = np.array(
                [j for j in range(m) if j in first_task], dtype=np.int64
            )
            if len(jj):
                g_r = (ib2[rb[keep]][:, None] * m + jj).ravel()
                k_r = tasks[rx[keep]][:, jj].ravel()
                p_r = pos(k_r)
                o = np.lexsort((p_r, end[k_r], g_r))
                gs = g_r[o]
                last = np.flatnonzero(np.r_[gs[1:] != gs[:-1], True])
                k1 = k_r[o][last]
                g = gs[last]
                bb = read[g // m]
                j_ = g % m
                k0 = np.array(
                    [first_task[j] for j in j_.tolist()], dtype=np.int64
                )
                sz = size[bb]
                key = order(0, bb, j_, 0)
                zero = end[k1] == start[k1]
                parts.append(
                    (
                        start[k0],
                        np.ones(len(bb), np.int64),
                        2 * pos(k0) - 2,
                        sz,
                        key,
                    )
                )
                parts.append(
                    (
                        end[k1],
                        zero.astype(np.int64),
                        2 * pos(k1) + 1,
                        -sz,
                        key + 1,
                    )
                )
        # -- received from another stage: from the transfer's start to the
        # last reader here
        for (b, dst, j), k2 in self.sends.items():
            if dst != st or not nreaders[b] or not valid[b] or pstage[b] == st:
                continue
            sz, key = int(size[b]), order(0, b, j, 0)
            k1 = latest([tasks_of[x][j] for x in rx[rb == b].tolist()])
            few.append((start[k2], 1, -1, sz, key))
            few.append((end[k1], 0, 2 * pos1(k1) + 1, -sz, key + 1))
        # activations another stage offloaded to this device: held from
        # the start of the copy out to the end of the copy back
        for i, ((b, _j), (off, pre, _r, target)) in enumerate(
            self.offloaded.items()
        ):
            if target == st:
                sz = int(size[b])
                few.append((start[off], 1, -1, sz, order(1, i, -1, 0)))
                few.append((end[pre], 0, -1, -sz, order(1, i, -1, 1)))
        for i, (k, gst, last, gsize) in enumerate(
            getattr(self, "gathers", [])
        ):
            if gst == st:
                rank = 2 * pos1(last) + 1
                few.append((start[k], 1, -1, int(gsize), order(2, i, -1, 0)))
                few.append(
                    (end[last], 0, rank, -int(gsize), order(2, i, -1, 1))
                )
        if few:
            cols = list(zip(*few, strict=True))
            parts.append(tuple(np.asarray(c) for c in cols))
        if not parts or not sum(len(x[0]) for x in parts):
            return np.zeros(1), np.zeros(1, dtype=np.int64), 0
        t = np.concatenate([x[0] for x in parts]).astype(float)
        cls = np.concatenate([x[1] for x in parts]).astype(np.int64)
        rank = np.concatenate([x[2] for x in parts]).astype(np.int64)
        delta = np.concatenate([x[3] for x in parts]).astype(np.int64)
        key = np.concatenate([x[4] for x in parts]).astype(np.int64)
        o = np.lexsort((key, rank, cls, t))
        t, cls, rank = t[o], cls[o], rank[o]
        values = np.cumsum(delta[o])
        # what is live as the first backward task starts (the first after
        # micro-batch 0's last forward task: a backward node needing no
        # forward result may run earlier)
        nodes = T.node_arr[base : base + count]
        kind = self.phase_code[nodes]
        fwd0 = np.flatnonzero((kind == 0) & (job_seq == 0))
        after = fwd0[-1] + 1 if len(fwd0) else 0
        backs = after + np.flatnonzero(
            (kind[after:] == 1) | (kind[after:] == 2)
        )
        stored = 0
        if len(backs):
            kb = base + int(backs[0])
            c0, c2 = start[kb], 2 * int(backs[0])
            before = (t < c0) | (
                (t == c0) & ((cls < 1) | ((cls == 1) & (rank < c2)))
            )
            i = int(before.sum())
            stored = int(values[i - 1]) if i else 0
        return t, values, stored

    def _breakdown(self, makespan: float) -> dict[str, float]:
        """Compute, exposed communication and bubble on the slowest stage."""
        T = self.T
        task_stage = np.asarray(T.stage, dtype=np.int64)
        best = None
        for st in range(self.s.pp):
            seq = T.sequence[T.res_index[("compute", st)]]
            mine = self.end[task_stage == st]
            last = float(mine.max()) if len(mine) else 0.0
            if best is None or last > best[0]:
                best = (last, st, seq)
        _, st, seq = best
        seq = np.asarray(seq, dtype=np.int64)
        exposed = bubble = 0.0
        # sums in sequence order, as a loop would add them
        compute = float(np.cumsum(T.dur[seq])[-1]) if len(seq) else 0.0
        ends = self.end[seq]
        gaps = self.start[seq] - np.r_[0.0, ends[:-1]]
        for i in np.flatnonzero(gaps > 1e-15).tolist():
            gap = float(gaps[i])
            d = self.last_dep[seq[i]]
            if d >= 0 and T.kinds[d] != "compute":
                # the transfer's own time is exposed; waiting before
                # it started is waiting for another stage
                part = min(gap, float(T.dur[d]))
                exposed += part
                bubble += gap - part
            else:
                bubble += gap
        prev = float(ends[-1]) if len(seq) else 0.0
        tail = makespan - prev
        if tail > 1e-15:
            exposed += tail
        return {
            "stage": st,
            "compute": compute,
            "exposed_communication": exposed,
            "bubble": bubble,
        }


class _TaskTable(Mapping):
    """The simulated tasks as columns (``name``, ``start``, ``end``,
    ``stage``, ``microbatch``, ``kind``, ``resource``); the name and
    resource columns are built when first read."""

    _KEYS = ("name", "start", "end", "stage", "microbatch", "kind", "resource")

    def __init__(self, T: _Tasks, start: np.ndarray, end: np.ndarray) -> None:
        self._cols: dict[str, Any] = {
            "start": start,
            "end": end,
            "stage": np.array(T.stage),
            "microbatch": T.job_arr,
            "kind": T.kinds,
        }
        self._T = T

    def __getitem__(self, key: str) -> Any:
        if key not in self._cols:
            T = self._T
            if key == "name":
                self._cols[key] = T.names
            elif key == "resource":
                self._cols[key] = [T.res_names[r] for r in T.res]
            else:
                raise KeyError(key)
        return self._cols[key]

    def __iter__(self):
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)


class _Tasks:
    """Task arrays: duration, resource, stage, micro-batch, edges."""

    def __init__(self) -> None:
        self.node_names: list[str] = []  # a compute task's name: its node's
        self.other_names: dict[int, str] = {}  # the other tasks'
        self.dur_list: list[float] = []
        self.res: list[int] = []
        self.stage: list[int] = []
        self.job: list[int] = []
        self.kinds: list[str] = []
        self.node: list[int] = []
        #: successors of the tasks that have any (most compute tasks have
        #: none: edges inside a stage are implied by its sequence)
        self.succ: dict[int, list[int]] = defaultdict(list)
        self.ndeps_list: list[int] = []
        self.res_names: list[str] = []
        self.res_compute: list[bool] = []
        self.res_index: dict[tuple[str, int], int] = {}
        self.sequence: dict[int, list[int]] = {}

    def resource(self, name: str, stage: int, compute: bool = False) -> int:
        key = (name, stage)
        if key not in self.res_index:
            self.res_index[key] = len(self.res_names)
            label = f"{name} {stage}" if compute else name
            self.res_names.append(label)
            self.res_compute.append(compute)
            self.sequence[self.res_index[key]] = []
        return self.res_index[key]

    def add(self, name, dur, res, stage, job, kind, node) -> int:
        return self.add_fast(name, float(dur), res, stage, job, kind, node)

    def add_fast(self, name, dur, res, stage, job, kind, node) -> int:
        """:meth:`add` for a ``dur`` that is already a Python float."""
        k = len(self.dur_list)
        self.other_names[k] = name
        self.dur_list.append(dur)
        self.res.append(res)
        self.stage.append(stage)
        self.job.append(job)
        self.kinds.append(kind)
        self.node.append(node)
        self.ndeps_list.append(0)
        return k

    @property
    def names(self) -> list[str]:
        """Every task's name."""
        other, nodes = self.other_names, self.node_names
        return [
            other[k] if k in other else nodes[v]
            for k, v in enumerate(self.node)
        ]

    def dep(self, a: int, b: int) -> None:
        self.succ[a].append(b)
        self.ndeps_list[b] += 1

    def freeze(self) -> None:
        self.dur = np.array(self.dur_list)
        self.job_arr = np.array(self.job, dtype=np.int64)
        self.node_arr = np.array(self.node, dtype=np.int64)
        self.ndeps = np.array(self.ndeps_list, dtype=np.int64)


def _partition(weights: list[float], parts: int) -> np.ndarray:
    """Boundaries (first index of stages 1..parts-1) of a contiguous split
    minimizing the heaviest part (dynamic program)."""
    k = len(weights)
    if parts <= 1 or k == 0:
        return np.zeros(0, dtype=np.int64)
    prefix = np.concatenate([[0.0], np.cumsum(weights)])
    INF = math.inf
    best = np.full((parts + 1, k + 1), INF)
    arg = np.zeros((parts + 1, k + 1), dtype=np.int64)
    best[0, 0] = 0.0
    for p in range(1, parts + 1):
        for i in range(p, k + 1):
            # last part = units j..i-1, j >= p-1
            js = np.arange(p - 1, i)
            costs = np.maximum(best[p - 1, js], prefix[i] - prefix[js])
            a = int(np.argmin(costs))
            best[p, i], arg[p, i] = costs[a], js[a]
    cuts = []
    i = k
    for p in range(parts, 0, -1):
        i = int(arg[p, i])
        cuts.append(i)
    return np.array(sorted(cuts)[1:], dtype=np.int64)


def _fifo(g: Graph, pred: list[list[int]]) -> list[int]:
    """Kahn's algorithm, first-in first-out, seeded in program order."""
    from collections import deque

    n = g.n
    base = (
        [g.index(v) for v in g.trace_order]
        if g.trace_order is not None
        else g.topological_order().tolist()
    )
    rank = {v: k for k, v in enumerate(base)}
    indeg = [len(pred[v]) for v in range(n)]
    succ = [
        g.succ_idx[g.succ_ptr[v] : g.succ_ptr[v + 1]].tolist()
        for v in range(n)
    ]
    queue = deque(sorted((v for v in range(n) if indeg[v] == 0), key=rank.get))
    out = []
    while queue:
        v = queue.popleft()
        out.append(v)
        for w in sorted(succ[v], key=rank.get):
            indeg[w] -= 1
            if indeg[w] == 0:
                queue.append(w)
    return out


def _induced(g: Graph, nodes: list[int]) -> Graph:
    """The subgraph on ``nodes`` with explicit buffers: data from outside is
    a graph input; data leaving it lives until its readers inside (or its
    producer) finish, its transfer being short."""
    from ..graph import Buffer
    from ..graph import Graph as G

    keep = set(nodes)
    ids = g.ids
    mb = g.memory_buffers()
    buffers = []
    for b in range(len(mb)):
        p = int(mb.producer[b])
        cons = mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]].tolist()
        inside = [ids[c] for c in cons if c in keep]
        if p >= 0 and p in keep:
            buffers.append(
                Buffer(
                    f"b{b}",
                    ids[p],
                    int(mb.size[b]),
                    tuple(inside),
                    bool(mb.output[b]),
                )
            )
        elif inside:
            buffers.append(
                Buffer(f"b{b}", None, int(mb.size[b]), tuple(inside), False)
            )
    edges = [
        (ids[a], ids[b])
        for a, b in zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True)
        if a in keep and b in keep
    ]
    return G([ids[v] for v in nodes], edges, buffers=buffers)
