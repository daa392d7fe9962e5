"""Tests of the training-step simulator against quantities it must reproduce exactly (#14)."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pebble_sched import Graph, evaluate, read_graph
from pebble_sched.distributed import cluster, simulate, strategy
from pebble_sched.distributed.costs import all_reduce_time, op_time
from pebble_sched.graph import Buffer
from tests.helpers import ROOT, graphs, topological_orders

CPU = cluster("cpu-test")
DL_INSTANCES = sorted(
    p
    for family in ("dl-trace", "dl-optstep", "nas")
    for p in (ROOT / "instances" / family).glob("*.json")
    if ".best." not in p.name and p.name != "index.json"
)


def chain(units, flops=1e9, act=1000, grad=500, params=None, update=False):
    """A training step of ``units`` layers: forward f_i, backward b_i, saved activations (``act`` bytes, or a list: per layer)."""
    ids, phase, layer = [], [], []
    for i in range(units):
        ids.append(f"f{i}"), phase.append("forward"), layer.append(f"u.{i}")
    for i in reversed(range(units)):
        ids.append(f"b{i}"), phase.append("backward"), layer.append(f"u.{i}")
    if update:
        for i in range(units):
            ids.append(f"w{i}"), phase.append("update"), layer.append(f"u.{i}")
    buffers, edges = [], []
    for i in range(units):
        readers = [f"b{i}"] + ([f"f{i + 1}"] if i + 1 < units else [])
        size = act[i] if isinstance(act, list) else act
        buffers.append(Buffer(f"a{i}", f"f{i}", size, tuple(readers)))
        if i:
            buffers.append(Buffer(f"g{i}", f"b{i}", grad, (f"b{i - 1}",)))
        if update:
            edges.append((f"b{i}", f"w{i}"))
    edges.append((f"f{units - 1}", f"b{units - 1}"))
    meta = {}
    if params:
        meta = {
            "parameters": params * units,
            "parameter_bytes": 4 * params * units,
            "parameters_by_layer": {f"u.{i}": params for i in range(units)},
        }
    n = len(ids)
    return Graph(
        ids,
        edges,
        buffers=buffers,
        flops=[int(flops)] * n,
        op_bytes=[0] * n,
        phase=phase,
        layer=layer,
        meta=meta,
    )


@pytest.mark.parametrize("path", DL_INSTANCES, ids=lambda p: p.stem)
def test_single_device_reproduces_evaluate_on_shipped_instances(path):
    """Tests that one device, one micro-batch has evaluate()'s peak byte for byte, program order and best known order."""
    g = read_graph(path)
    orders = [list(g.trace_order)] if g.trace_order is not None else []
    best = path.with_name(path.stem + ".best.json")
    if best.exists():
        orders.append(json.loads(best.read_text())["order"])
    assert orders
    for order in orders:
        r = simulate(g, CPU, "single", order=order)
        assert r.orders[0] == order
        assert r.devices[0].activation_peak == evaluate(g, order).peak
        assert r.devices[0].model_state == g.meta.get("constant_bytes", 0)


@settings(max_examples=60, deadline=None)
@given(graphs(max_nodes=7), st.data())
def test_single_device_reproduces_evaluate_with_durations(g, data):
    """Tests exactness on random graphs with random op times (zero-time ops included) and any order."""
    flops = data.draw(
        st.lists(
            st.sampled_from([0, 0, 10**6, 10**9]), min_size=g.n, max_size=g.n
        )
    )
    g = g.replace(flops=flops)
    orders = list(topological_orders(g))
    order = data.draw(st.sampled_from(orders)) if orders else []
    r = simulate(g, CPU, "single", order=order)
    assert r.devices[0].activation_peak == evaluate(g, order).peak
    # one device: the step is the sum of the op times
    expected = sum(op_time(f, 0, CPU.device, "fp32") for f in flops)
    assert r.iteration_time == pytest.approx(expected)


def test_orders_on_a_traced_model():
    """Tests fifo, trace and optimal orders on a traced model: each reproduces evaluate, optimal is lowest."""
    g = read_graph(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    peaks = {}
    for order in ("fifo", "trace", "optimal"):
        r = simulate(g, CPU, "single", order=order, time_limit=5)
        assert r.devices[0].activation_peak == evaluate(g, r.orders[0]).peak
        peaks[order] = r.devices[0].activation_peak
    assert peaks["optimal"] <= min(peaks["fifo"], peaks["trace"])


def test_gradient_all_reduce_time():
    """Tests that data parallelism adds exactly the ring all-reduce of the gradients after the backward."""
    params = 10**6
    g = chain(1, flops=1e9, params=params)
    compute = 2 * op_time(1e9, 0, CPU.device, "fp32")
    for devices, link in ((2, CPU.intra), (4, CPU.inter)):
        r = simulate(g, CPU, {"dp": devices}, order="trace")
        sync = all_reduce_time(4 * params, devices, link)
        assert r.iteration_time == pytest.approx(compute + sync)
        assert r.breakdown["exposed_communication"] == pytest.approx(sync)
        volume = 2 * (devices - 1) / devices * 4 * params
        klass = "intra" if link is CPU.intra else "inter"
        assert r.communication[klass] == pytest.approx(volume)
        # per-device memory is that of one replica
        assert r.devices[0].activation_peak == evaluate(g, r.orders[0]).peak


@pytest.mark.parametrize("schedule", ["1f1b", "gpipe"])
@pytest.mark.parametrize(("p", "m"), [(2, 1), (2, 4), (4, 4), (4, 8)])
def test_pipeline_bubble(schedule, p, m):
    """Tests that p uniform stages and m micro-batches take (m + p - 1)(t_f + t_b), a (p-1)/(m+p-1) bubble."""
    g = chain(p, flops=1e9, act=0, grad=0)
    s = strategy({"pp": p, "microbatches": m, "schedule": schedule}, CPU)
    r = simulate(g, CPU, s, order="trace")
    t = op_time(1e9, 0, CPU.device, "fp32")
    assert r.iteration_time == pytest.approx((m + p - 1) * 2 * t)
    b = r.breakdown
    assert b["compute"] == pytest.approx(m * 2 * t)
    assert b["bubble"] / r.iteration_time == pytest.approx(
        (p - 1) / (m + p - 1)
    )


def test_one_f_one_b_holds_fewer_micro_batches():
    """Tests that stage i of 1F1B holds min(p - i, m) micro-batches of activations, GPipe all m."""
    p, m, act = 4, 8, 1000
    g = chain(p, flops=1e9, act=act, grad=0)
    for schedule in ("1f1b", "gpipe"):
        s = strategy({"pp": p, "microbatches": m, "schedule": schedule}, CPU)
        r = simulate(g, CPU, s, order="trace")
        for d in r.devices:
            held = min(p - d.stage, m) if schedule == "1f1b" else m
            # a stage's saved activation, plus the received one it forwards
            received = act if d.stage else 0
            assert d.activation_peak in (
                held * act + received,
                held * act + received + act,
            )
            assert d.activation_peak >= held * act


@pytest.mark.parametrize(
    ("zero", "per_param"),
    [(0, 16), (1, 4 + 12 / 64), (2, 2 + 14 / 64), (3, 16 / 64)],
)
def test_zero_model_state(zero, per_param):
    """Tests ZeRO's model state per GPU: 7.5B parameters on 64 ranks give 120, 31.4, 16.6 and 1.9 GB."""
    psi = 7_500_000_000
    g = chain(1, params=psi)
    c = cluster("a100-80g:8")
    s = strategy({"dp": 64, "zero": zero, "optimizer": "adam-mixed"}, c)
    r = simulate(g, c, s, order="trace")
    assert r.devices[0].model_state == pytest.approx(per_param * psi, rel=1e-9)
    published = {0: 120e9, 1: 31.4e9, 2: 16.6e9, 3: 1.9e9}[zero]
    assert r.devices[0].model_state == pytest.approx(published, rel=0.02)


def test_mixed_precision_adam_is_16_bytes_per_parameter():
    """Tests that adam-mixed counts 2 + 2 + 12 bytes per parameter and drops the traced gradients."""
    g = chain(2, params=1000)
    r = simulate(g, CPU, {"optimizer": "adam-mixed"}, order="trace")
    assert r.devices[0].model_state == 16 * 2000


def test_recomputation_trades_time_for_memory():
    """Tests that recomputing every block lowers the activation peak, adds time, keeps model FLOPs."""
    g = read_graph(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    g = g.replace(flops=[10**6] * g.n)
    if g.layer is None:
        pytest.skip("instance without layer labels")
    base = simulate(g, CPU, "single", order="trace")
    rec = simulate(g, CPU, {"recompute": ["blocks.*"]}, order="trace")
    assert rec.devices[0].activation_peak < base.devices[0].activation_peak
    assert rec.iteration_time > base.iteration_time
    assert rec.model_flops == base.model_flops


def test_pipeline_with_data_runs_on_traced_models():
    """Tests pipeline and data parallelism with transfers on traced models: no deadlock, consistent reports."""
    for name in ("gpt2-train", "resnet18-train"):
        g = read_graph(ROOT / "instances" / "dl-trace" / f"{name}.json")
        g = g.replace(flops=[10**7] * g.n, op_bytes=[10**4] * g.n)
        if g.layer is None:
            pytest.skip("instance without layer labels")
        r = simulate(g, CPU, "megatron(1,2,2,4)", order="fifo")
        assert len(r.devices) == 2 and r.iteration_time > 0
        assert all(d.activation_peak > 0 for d in r.devices)
        b = r.breakdown
        assert b["compute"] + b["exposed_communication"] + b[
            "bubble"
        ] == pytest.approx(r.iteration_time)
        trace = r.chrome_trace()["traceEvents"]
        assert any(e["ph"] == "X" and e["cat"] == "p2p" for e in trace)


def test_errors():
    """Tests that strategies a graph cannot run are refused with one sentence."""
    from pebble_sched.distributed import StrategyError

    g = chain(2)
    with pytest.raises(
        StrategyError, match="3 pipeline stages but the graph has 2"
    ):
        simulate(g, CPU, "pipeline(3,1)")
    with pytest.raises(
        StrategyError, match="traced as one tensor-parallel shard"
    ):
        simulate(g, CPU, "megatron(2,1,1)")
    with pytest.raises(ValueError, match="order must be one of"):
        simulate(g, CPU, order="random")


def test_optimal_orders_never_raise_a_device_peak():
    """Tests that under pipelines the optimal orders keep every device at or below its FIFO peak."""
    for name in ("inception-train", "randwire-train"):
        g = read_graph(
            ROOT
            / "instances"
            / ("nas" if "randwire" in name else "dl-trace")
            / f"{name}.json"
        )
        for strat in ("pipeline(2,4)", "megatron(1,2,2,2)"):
            fifo = simulate(g, CPU, strat, order="fifo")
            best = simulate(g, CPU, strat, order="optimal", time_limit=2)
            for a, b in zip(fifo.devices, best.devices, strict=True):
                assert b.activation_peak <= a.activation_peak


def test_ctrl_c_inside_the_optimal_order_reaches_the_caller(monkeypatch):
    """Tests that a Ctrl-C answered by solve() inside the simulator is raised again, not taken as the order."""
    import sys

    from pebble_sched.schedule import Schedule

    g = read_graph(ROOT / "instances" / "dl-trace" / "small_cnn-train.json")
    real = sys.modules["pebble_sched.solve"].solve

    def interrupted(graph, *args, **kwargs):
        s = real(graph, "input")
        return Schedule(
            s.order,
            s.peak,
            s.lower_bound,
            s.status,
            s.method,
            stats={"interrupted": "ctrl-c"},
        )

    monkeypatch.setattr(
        sys.modules["pebble_sched.solve"], "solve", interrupted
    )
    for strat in ("single", "pipeline(2,2)"):
        with pytest.raises(KeyboardInterrupt):
            simulate(g, CPU, strat, order="optimal", time_limit=2)
    monkeypatch.undo()
    simulate(g, CPU, "single", order="optimal", time_limit=2)


def test_tensor_parallel_collectives():
    """Tests that a tensor-parallel shard pays Megatron's all-reduces: 4 per layer per micro-batch, sized by the activation."""
    pytest.importorskip("torch")
    from pebble_sched.importers.gpt import gpt_graph

    c = cluster("a100-80g")
    one = gpt_graph((2, 256, 4), batch=2, seq=64, vocab=512, tp=1)
    two = gpt_graph((2, 256, 4), batch=2, seq=64, vocab=512, tp=2)
    r1 = simulate(one, c, "single", order="trace")
    r2 = simulate(two, c, {"tp": 2}, order="trace")
    act = 2 * 64 * 256 * 2  # b s h, bf16
    # per layer 2 forward + 2 backward all-reduces, plus the embedding's and the head's
    count = 2 * 4 + 2
    assert r2.communication["intra"] == pytest.approx(count * act)
    # the shard halves the layers' matrix products, the collectives add time
    assert r2.iteration_time > r1.iteration_time / 2
    assert r2.model_flops == pytest.approx(r1.model_flops, rel=0.01)
    assert r2.devices[0].stored_activations < r1.devices[0].stored_activations
    with pytest.raises(Exception, match="tensor-parallel shard of degree 4"):
        simulate(two, c, {"tp": 4})


@pytest.mark.parametrize(
    ("sp", "recompute", "per_layer"),
    [
        (False, (), lambda t, r: 10 + 24 / t + 5 * r / t),  # TP only
        (
            False,
            ("layers.*.attn.core",),
            lambda t, r: 10 + 24 / t,
        ),  # + selective
        (True, (), lambda t, r: (34 + 5 * r) / t),  # + sequence parallelism
        (True, ("layers.*.attn.core",), lambda t, r: 34 / t),  # both
        (False, ("layers.*",), lambda t, r: 2),  # full recomputation
    ],
)
def test_stored_activations_per_layer_match_korthikanti(
    sp, recompute, per_layer
):
    """Tests that a traced layer keeps the activations of Korthikanti et al.'s Table 2 (bytes / sbh), by liveness."""
    pytest.importorskip("torch")
    from pebble_sched.importers.gpt import gpt_graph

    s, b, h, a, t = 256, 2, 512, 8, 2
    stored = {}
    for k in (1, 2):
        g = gpt_graph(
            (2, h, a), batch=b, seq=s, vocab=1024, tp=t, layers=k, sp=sp
        )
        r = simulate(g, CPU, {"recompute": list(recompute)}, order="trace")
        stored[k] = r.devices[0].stored_activations
    ratio = a * s / h
    expected = s * b * h * per_layer(t, ratio)
    # LayerNorm statistics (fp32 mean and rstd per token) are the only extra
    assert stored[2] - stored[1] == pytest.approx(expected, rel=0.01)


def test_model_definitions_at_real_size():
    """Tests parameter counts of the full-size definitions (meta device): GPT-3 shapes, Llama-7B, ImageNet ResNet-50."""
    pytest.importorskip("torch")
    from pebble_sched.importers.gpt import gpt_model
    from pebble_sched.importers.zoo import resnet50_imagenet

    def count(m):
        return sum(p.numel() for p in m.parameters())

    # Narayanan et al.'s eq. 2 with V = 51,200, s = 2,048
    for name, (layers, h) in {
        "gpt-1.3b": (24, 2048),
        "gpt-6.7b": (32, 4096),
    }.items():
        eq2 = (
            12
            * layers
            * h
            * h
            * (1 + 13 / (12 * h) + (51200 + 2048) / (12 * layers * h))
        )
        assert count(gpt_model(name)) == pytest.approx(eq2, rel=1e-3)
    assert count(gpt_model("llama-7b")) == 6_738_415_616
    model, (x,) = resnet50_imagenet()
    assert count(model) == 25_557_032 and tuple(x.shape) == (256, 3, 224, 224)


def test_op_times_and_unit_times():
    """Tests that given op times replace the roofline, and that unit_times adds a unit's op times by phase."""
    from pebble_sched.distributed.simulator import unit_times

    g = chain(2, flops=1e9)
    times = {"f0": 0.5, "f1": 0.25, "b1": 1.0, "b0": 2.0}
    r = simulate(g, CPU, "single", order="trace", op_times=times)
    assert r.iteration_time == pytest.approx(3.75)
    u = unit_times(g, CPU)
    t = op_time(1e9, 0, CPU.device, "fp32")
    assert u == pytest.approx(
        {
            ("u.0", "forward"): t,
            ("u.0", "backward"): t,
            ("u.1", "forward"): t,
            ("u.1", "backward"): t,
        }
    )
    with pytest.raises(ValueError, match="is not a duration"):
        simulate(g, CPU, op_times={"f0": -1.0})


def test_offload_to_host():
    """Tests activation offload: lower device peak, every offloaded byte copied out and back, never faster, no deadlock."""
    g = read_graph(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    g = g.replace(flops=[10**8] * g.n, op_bytes=[10**5] * g.n)
    for strat in ({}, {"pp": 2, "microbatches": 4}):
        for order in ("fifo", "trace"):
            base = simulate(g, CPU, strat, order=order)
            off = simulate(
                g, CPU, {**strat, "offload": ["blocks.*"]}, order=order
            )
            for a, b in zip(base.devices, off.devices, strict=True):
                assert b.activation_peak < a.activation_peak
            assert off.iteration_time >= base.iteration_time - 1e-12
            assert off.communication["host"] > 0
            events = off.chrome_trace()["traceEvents"]
            copies = [e for e in events if e.get("cat") == "offload"]
            assert len(copies) % 2 == 0 and copies


def test_offload_transfer_is_exposed_when_compute_is_short():
    """Tests that a copy back with nothing to hide behind delays the backward reader by its transfer time."""
    from pebble_sched.distributed.costs import p2p_time

    g = chain(1, flops=10**3, act=10**6)  # f0 -> b0 reads a 1 MB activation
    base = simulate(g, CPU, "single", order="trace")
    off = simulate(g, CPU, {"offload": ["u.*"]}, order="trace")
    copy = p2p_time(10**6, CPU.host)
    # out after f0, back before b0: both transfers on the critical path
    assert off.iteration_time == pytest.approx(base.iteration_time + 2 * copy)
    assert off.communication["host"] == 2 * 10**6


def test_stage_boundaries_and_data_parallel_batch():
    """Tests user-given stage boundaries, and that data parallelism over N devices of a micro-batch-b trace counts N*b samples per step."""
    from pebble_sched.distributed import StrategyError

    g = read_graph(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    r = simulate(
        g, CPU, {"pp": 2, "microbatches": 2, "stage_starts": ["blocks.1"]}
    )
    assert r.stats["units_per_stage"] == [3, 5]
    with pytest.raises(StrategyError, match="not a layer unit"):
        simulate(g, CPU, {"pp": 2, "stage_starts": ["blocks.9"]})
    one = simulate(g, CPU, "single", order="trace")
    four = simulate(g, CPU, "data-parallel", order="trace")
    batch = g.meta["input_shapes"][0][0]
    assert four.samples_per_second == pytest.approx(
        4 * batch / four.iteration_time
    )
    # each replica holds one micro-batch's activations and the whole model
    assert four.devices[0].activation_peak == one.devices[0].activation_peak
    assert four.devices[0].model_state == one.devices[0].model_state


def test_placement_decides_which_stage_boundaries_cross_nodes():
    """Tests that a stage placement changes the transfers' link class, and that a bad one is refused."""
    from pebble_sched.distributed import StrategyError

    g = read_graph(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    line = simulate(g, CPU, {"pp": 4, "microbatches": 4})
    zigzag = simulate(
        g, CPU, {"pp": 4, "microbatches": 4, "placement": [0, 2, 1, 3]}
    )
    # devices 0,1 | 2,3 per node: in order one boundary crosses nodes, zigzag all three
    assert zigzag.communication["inter"] > line.communication["inter"]
    assert "intra" not in zigzag.communication
    with pytest.raises(StrategyError, match=r"a permutation of 0\.\.3"):
        simulate(g, CPU, {"pp": 4, "placement": [0, 1, 1, 3]})


def test_cache_gives_the_same_results():
    """Tests that a cache kept between simulations (a search's) changes no result."""
    g = read_graph(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    cache = {}
    for strat in (
        "single",
        {"pp": 2, "microbatches": 4, "recompute": ["blocks.*"]},
        {"dp": 2, "offload": ["blocks.1"]},
        {"pp": 2, "microbatches": 4, "recompute": ["blocks.*"]},
    ):
        for order in ("fifo", "trace"):
            a = simulate(g, CPU, strat, order=order)
            b = simulate(g, CPU, strat, order=order, cache=cache)
            assert a.iteration_time == b.iteration_time
            assert [d.peak for d in a.devices] == [d.peak for d in b.devices]
    assert any(k[0] == "recompute" for k in cache) and any(
        k[0] == "fifo" for k in cache
    )


def test_offload_to_a_peer_stage():
    """Tests MemFlow's peer offload: the first stage's activations held by
    the last stage's device over the device link, every byte counted on
    both sides, and refused without pipeline stages."""
    from pebble_sched.distributed import StrategyError

    g = read_graph(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    g = g.replace(flops=[10**8] * g.n, op_bytes=[10**5] * g.n)
    strat = {"pp": 2, "microbatches": 4, "stage_starts": ["blocks.1"]}
    base = simulate(g, CPU, strat, order="trace")
    host = simulate(g, CPU, {**strat, "offload": ["blocks.*"]}, order="trace")
    peer = simulate(
        g,
        CPU,
        {**strat, "offload": ["blocks.*"], "offload_to": "peer"},
        order="trace",
    )
    first = simulate(
        g,
        CPU,
        {**strat, "offload": ["blocks.0", "embed"]},
        order="trace",
    )
    # stage 0's buffers leave over the device link instead of PCIe; stage
    # 1 (the peer) offloads nothing
    assert peer.communication.get("host", 0) == 0
    assert peer.communication["intra"] == pytest.approx(
        base.communication["intra"] + first.communication["host"]
    )
    assert peer.devices[0].activation_peak < base.devices[0].activation_peak
    assert peer.devices[0].activation_peak == pytest.approx(
        host.devices[0].activation_peak, rel=0.2
    )
    # what stage 1 holds for stage 0 raises its own peak
    assert peer.devices[1].activation_peak > base.devices[1].activation_peak
    assert host.communication["host"] > first.communication["host"]
    with pytest.raises(StrategyError, match="needs pipeline stages"):
        simulate(g, CPU, {"offload": ["blocks.*"], "offload_to": "peer"})
    with pytest.raises(StrategyError, match="'host' or 'peer'"):
        simulate(g, CPU, {"offload": ["blocks.*"], "offload_to": "disk"})


def test_fused_elementwise_chains():
    """Tests kernel fusion: a buffer read only by the next elementwise op
    is neither written nor read (one launch for the group), a buffer saved
    for the backward pass breaks the chain, and memory is unchanged."""
    from pebble_sched.distributed.simulator import fused_times

    ops = ["aten.mm.default", "aten.mul.Tensor", "aten.add.Tensor"]
    ops += ["aten.gelu.default", "aten.mm.default"]
    ids = ["mm", "mul", "add", "gelu", "mm2"]
    size = 10**6
    bufs = [
        Buffer("x0", "mm", size, ("mul",)),
        Buffer("x1", "mul", size, ("add",)),  # fused away
        Buffer("x2", "add", size, ("gelu", "mm2")),  # read twice: kept
        Buffer("x3", "gelu", size, ("mm2",)),
    ]
    g = Graph(
        ids,
        [("mm", "mul"), ("mul", "add"), ("add", "gelu"), ("gelu", "mm2")],
        buffers=bufs,
        op=ops,
        flops=[10**9, size, size, 8 * size, 10**9],
        op_bytes=[3 * size, 2 * size, 2 * size, 2 * size, 3 * size],
        phase=["forward"] * 5,
    )
    dev = cluster("a100-80g").device
    dur = np.array(
        [
            op_time(float(f), float(b), dev, "bf16")
            for f, b in zip(g.flops, g.op_bytes, strict=True)
        ]
    )
    fused = fused_times(g, g.memory_buffers(), dur, dev, "bf16")
    group = op_time(2.0 * size, 4.0 * size - 2 * size, dev, "bf16")
    assert fused[1] + fused[2] == pytest.approx(group)
    assert fused[1] / fused[2] == pytest.approx(dur[1] / dur[2])
    assert (fused[[0, 3, 4]] == dur[[0, 3, 4]]).all()  # nothing else fused
    a = simulate(g, "a100-80g", "single", order="trace", dtype="bf16")
    b = simulate(
        g, "a100-80g", "single", order="trace", dtype="bf16", fuse=True
    )
    assert b.iteration_time == pytest.approx(
        a.iteration_time - dur[1] - dur[2] + group
    )
    assert a.devices[0].peak == b.devices[0].peak


def test_tree_all_reduce():
    """Tests the tree algorithm's alpha-beta cost, auto picking the faster,
    and a cluster file choosing it (an unknown algorithm is one line)."""
    from pebble_sched.distributed import ClusterError
    from pebble_sched.distributed.cluster import Link

    ring = Link(25e9, 5e-6, 1.0)
    tree = Link(25e9, 5e-6, 1.0, "tree")
    auto = Link(25e9, 5e-6, 1.0, "auto")
    for n, size in [(2, 1e3), (64, 1e3), (512, 1e5), (8, 1e9), (512, 1e9)]:
        r = 2 * (n - 1) / n * size / 25e9 + 2 * (n - 1) * 5e-6
        t = 2 * size / 25e9 + 2 * math.ceil(math.log2(n)) * 5e-6
        assert all_reduce_time(size, n, ring) == pytest.approx(r)
        assert all_reduce_time(size, n, tree) == pytest.approx(t)
        assert all_reduce_time(size, n, auto) == pytest.approx(min(r, t))
    # small messages over many ranks: the tree; large ones: the ring
    assert all_reduce_time(1e3, 512, auto) < all_reduce_time(1e3, 512, ring)
    assert all_reduce_time(1e9, 8, auto) == all_reduce_time(1e9, 8, ring)
    c = cluster(
        {"preset": "a100-80g", "nodes": 2, "inter": {"algorithm": "auto"}}
    )
    assert c.inter.algorithm == "auto" and c.intra.algorithm == "ring"
    with pytest.raises(ClusterError, match="algorithm 'star'"):
        cluster({"preset": "a100-80g", "inter": {"algorithm": "star"}})


def test_every_graph_input_is_live_before_the_first_step():
    """Tests a case hypothesis found: an input nobody reads and an input
    read by the first node are both resident before the first step
    (evaluate()'s initial memory), also with zero-time operations."""
    g = Graph(
        ["v0", "v1"],
        [("v0", "v1")],
        size=[8, 6],
        edge_size=[4],
        buffers=[
            Buffer("b0", None, 20, ()),
            Buffer("b1", None, 17, ("v0",)),
        ],
        keep_outputs=True,
        flops=[0, 0],
    )
    r = simulate(g, CPU, "single", order=["v0", "v1"])
    assert r.devices[0].activation_peak == evaluate(g, ["v0", "v1"]).peak == 37


@pytest.mark.parametrize(
    "units",
    [["blocks.*"], ["blocks.0"], ["blocks.1", "blocks.0"], ["blocks.1.att*"]],
)
def test_recomputing_graph_passes_the_checked_constructor(units):
    """Tests that a recomputing graph (built from arrays, unchecked) is the graph the checking constructor builds from its parts."""
    from pebble_sched.distributed.recompute import with_recomputation

    g = read_graph(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    r = with_recomputation(g, units)
    assert r.n > g.n
    again = Graph(**r._init_args())
    assert again == r
    a, b = again.memory_buffers(), r.memory_buffers()
    for name in ("producer", "size", "output", "cons_ptr", "cons_idx"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert list(again.topological_order()) == list(r.topological_order())


def test_cache_keeps_the_latest_recomputing_graphs(monkeypatch):
    """Tests that the simulation cache drops least recently used recomputing graphs (with what is cached about them) and changes no result."""
    from pebble_sched.distributed import simulator

    monkeypatch.setattr(simulator, "CACHED_GRAPHS", 2)
    g = read_graph(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    cache = {}
    sets = [
        ["blocks.0"],
        ["blocks.1"],
        ["blocks.*"],
        ["blocks.0"],
        ["blocks.1"],
    ]
    for units in sets:
        strat = {"pp": 2, "microbatches": 2, "recompute": units}
        a = simulate(g, CPU, strat)
        b = simulate(g, CPU, strat, cache=cache)
        assert a.iteration_time == b.iteration_time
        assert [d.peak for d in a.devices] == [d.peak for d in b.devices]
        kept = [k for k in cache if k[0] == "recompute"]
        assert len(kept) <= 2
        assert kept[-1][2] == tuple(units)
        graphs = {id(v[1]) for k, v in cache.items() if k[0] == "recompute"}
        # everything cached is about the source graph or a kept one
        assert {k[1] for k in cache if len(k) > 1} <= graphs | {id(g)}
