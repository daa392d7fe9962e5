"""Tests of the PyTorch importer and of our Inductor sorts against torch's own (need torch)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from pebble_sched import Graph, evaluate, solve  # noqa: E402
from pebble_sched.importers import from_torch  # noqa: E402
from pebble_sched.importers.zoo import MODELS, build  # noqa: E402
from pebble_sched.solvers.inductor import bfs_order, dfs_order, lpmf_order  # noqa: E402


def _small():
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1),
        torch.nn.BatchNorm2d(4),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(4 * 8 * 8, 5),
    )
    return m, (torch.randn(2, 3, 8, 8),)


@pytest.mark.parametrize(
    "mode,opt",
    [("forward", None), ("train", None), ("train", "sgd"), ("train", "adam")],
)
def test_modes_give_valid_graphs(mode, opt):
    """Tests every mode: a DAG whose trace order is a valid schedule, sized from storages."""
    m, x = _small()
    g = from_torch(m, x, mode=mode, optimizer=opt)
    assert g.n > 5 and g.trace_order is not None
    peak = evaluate(g, g.trace_order).peak
    assert peak > 0
    # data input: 2*3*8*8 floats, a graph input
    inputs = [b for b in g.buffers if b.producer is None]
    assert [b.size for b in inputs] == [2 * 3 * 8 * 8 * 4]
    assert g.meta["constant_bytes"] > 0 and g.meta["mode"] == mode


def test_views_allocate_nothing_and_read_the_root():
    """Tests that a view makes no buffer and its readers consume the root storage."""

    class M(torch.nn.Module):
        def forward(self, x):
            y = x * 2  # new storage
            z = y.view(-1)  # alias of y
            return z.relu()  # reads y's storage through z

    g = from_torch(M(), (torch.randn(4, 4),), mode="forward")
    mul = next(
        b
        for b in g.buffers
        if b.producer is not None and b.producer.startswith("mul")
    )
    assert mul.size == 64
    assert any(c.startswith("relu") for c in mul.consumers)
    assert not any(
        b.producer and b.producer.startswith("view") for b in g.buffers
    )


def test_multi_output_ops_are_exact():
    """Tests that batch norm's outputs are separate buffers (not folded into one size)."""
    m, x = _small()
    g = from_torch(m, x, mode="train")
    bn = [
        b
        for b in g.buffers
        if b.producer and b.producer.startswith("native_batch_norm")
    ]
    assert len(bn) >= 2


def test_optimizer_updates_follow_every_reader():
    """Tests that an in-place update runs after every reader of its parameter in any order."""
    m, x = _small()
    g = from_torch(m, x, mode="train", optimizer="sgd")
    s = solve(g, "lpmf")
    pos = {v: k for k, v in enumerate(s.order)}
    updates = [v for v in g.ids if str(v).startswith("sub_")]
    assert updates
    for u in updates:
        assert all(pos[p] < pos[u] for p in g.predecessors(u))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_zoo_models_trace_and_solve(name):
    """Tests that every zoo model traces (forward) and solves within a short limit."""
    model, x = build(name)
    g = from_torch(model, x, mode="forward", name=name)
    s = solve(g, time_limit=5)
    assert s.peak <= evaluate(g, g.trace_order).peak
    assert s.lower_bound <= s.peak


# ---- our LPMF / BFS / DFS against torch._inductor.memory on the same graphs ----


def _torch_nodes(g: Graph):
    from torch._inductor import memory as mem
    from torch.utils._ordered_set import OrderedSet

    class Buf:
        def __init__(self, name, size):
            self.name = name
            self.mpi_buffer = mem.MemoryPlanningInfoForBuffer(
                size_alloc=size, size_free=size
            )

        def get_name(self):
            return self.name

        def __hash__(self):
            return hash(self.name)

    class Dep:
        def __init__(self, name):
            self.name = name

    class Node:
        def __init__(self, name, index):
            self.name = name
            self.mpi_node = mem.MemoryPlanningInfoForNode(index=index)
            self.outputs = []
            self.unmet_dependencies = OrderedSet()

        def get_name(self):
            return self.name

        def get_outputs(self):
            return self.outputs

        def get_buffer_names(self):
            return OrderedSet(b.name for b in self.outputs)

        def __hash__(self):
            return hash(self.name)

    nodes = [Node(f"n{v}", v) for v in range(g.n)]
    bufs = {}
    for v in range(g.n):
        size = int(g.node_size[v])
        b = Buf(f"b{v}", size)
        nodes[v].outputs.append(b)
        nodes[v].mpi_node.size = size
        bufs[b.name] = b
    for a, b in zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=False):
        nodes[b].mpi_node.pred_nodes.add(nodes[a])
        nodes[a].mpi_node.succ_nodes.add(nodes[b])
        nodes[b].mpi_node.pred_buffers.add(bufs[f"b{a}"])
        bufs[f"b{a}"].mpi_buffer.succ_nodes.add(nodes[b])
        nodes[b].unmet_dependencies.add(Dep(f"b{a}"))
    outputs = OrderedSet(
        f"b{v}"
        for v in range(g.n)
        if g.keep_outputs and not g.successors(g.ids[v])
    )
    return nodes, bufs, outputs


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 30),
    st.floats(0.05, 0.6),
    st.integers(0, 2**31),
    st.booleans(),
)
def test_same_orders_as_torch(n, p, seed, keep):
    """Tests that LPMF, BFS and DFS pick exactly torch 2.13's orders on random DAGs."""
    from torch._inductor import memory as mem

    rng = np.random.default_rng(seed)
    edges = [
        (i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < p
    ]
    g = Graph(range(n), edges, size=rng.integers(0, 50, n), keep_outputs=keep)
    nodes, bufs, outputs = _torch_nodes(g)
    order = lambda seq: [int(x.name[1:]) for x in seq]  # noqa: E731
    assert (
        order(mem.topological_sort_lpmf(nodes, {}, bufs, outputs))
        == lpmf_order(g).tolist()
    )
    assert order(mem.topological_sort_bfs(nodes)) == bfs_order(g).tolist()
    assert order(mem.topological_sort_dfs(nodes)) == dfs_order(g).tolist()


def test_cli_import_then_solve(tmp_path):
    """Tests pebble-sched import torch zoo:NAME, then solve on the written graph."""
    from click.testing import CliRunner

    from pebble_sched.cli import main

    out = tmp_path / "g.json"
    r = CliRunner().invoke(
        main,
        [
            "import",
            "torch",
            "zoo:small_cnn",
            "--mode",
            "train",
            "--optimizer",
            "sgd",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        main, ["solve", str(out), "-t", "5", "--json", "-q"]
    )
    assert r.exit_code == 0 and '"peak"' in r.stdout
    r = CliRunner().invoke(
        main, ["import", "torch", "zoo:nope", "-o", str(out)]
    )
    assert r.exit_code == 2 and "Unknown zoo model" in r.stderr
    r = CliRunner().invoke(
        main,
        [
            "import",
            "torch",
            "pebble_sched.importers.zoo:SmallCNN",
            "--input-shape",
            "2,3,16,16",
            "--mode",
            "forward",
            "-o",
            str(out),
        ],
    )
    assert r.exit_code == 0, r.output


def _import(args, cwd, env=None):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "pebble_sched", "import", "torch", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )


def test_cli_trace_failure_is_one_line(tmp_path):
    """Tests that a model that fails to trace is one line naming model, shapes and torch's message, exit 2 (#11)."""
    out = _import(
        ["zoo:resnet18", "--input-shape", "4,3", "-o", "g.json"], tmp_path
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("Error: Cannot trace resnet18 (train)")
    assert "(4, 3) float32" in lines[0] and "RuntimeError" in lines[0]
    assert not (tmp_path / "g.json").exists()


def test_cli_factory_in_current_folder(tmp_path):
    """Tests that MODULE:FACTORY finds a module in the current folder without PYTHONPATH (#11)."""
    import os

    (tmp_path / "mymod.py").write_text(
        "import torch\n"
        "def make():\n"
        "    m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())\n"
        "    return m, (torch.randn(2, 4),)\n"
        "def broken():\n"
        "    raise ValueError('no such layer size\\nsecond line')\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    ok = _import(["mymod:make", "-o", "g.json"], tmp_path, env)
    assert ok.returncode == 0, ok.stderr
    assert (
        Graph.from_dict(
            __import__("json").loads((tmp_path / "g.json").read_text())
        ).n
        > 0
    )
    missing = _import(["nosuch:make", "-o", "h.json"], tmp_path, env)
    assert missing.returncode == 2
    assert "no module named 'nosuch'" in missing.stderr
    broken = _import(["mymod:broken", "-o", "h.json"], tmp_path, env)
    assert broken.returncode == 2
    assert broken.stderr.strip() == (
        "Error: mymod:broken() failed: ValueError: no such layer size"
    )


def test_costs_layers_and_phases():
    """Tests the recorded op costs: FLOPs of matrix products, layers from module paths, phases in order."""
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4)
    )
    g = from_torch(m, (torch.randn(3, 8),), optimizer="sgd")
    ops = dict(zip(g.ids, g.op, strict=True))
    flops = dict(zip(g.ids, g.flops.tolist(), strict=True))
    layer = dict(zip(g.ids, g.layer, strict=True))
    phase = dict(zip(g.ids, g.phase, strict=True))
    # forward: addmm of (3 x 8) by (8 x 16) = 2 * 3 * 8 * 16 FLOPs, in layer 0
    assert ops["addmm"] == "aten.addmm.default"
    assert flops["addmm"] == 2 * 3 * 8 * 16 and layer["addmm"] == "0"
    assert flops["addmm_1"] == 2 * 3 * 16 * 4 and layer["addmm_1"] == "2"
    assert layer["relu"] == "1" and phase["relu"] == "forward"
    # every matrix product of the backward is labelled with its layer
    bw = [v for v in g.ids if ops[v] == "aten.mm.default"]
    assert bw and all(phase[v] == "backward" for v in bw)
    assert {layer[v] for v in bw} == {"0", "2"}
    assert sum(flops[v] for v in bw) == 2 * (
        2 * 3 * 8 * 16
    ) - 2 * 3 * 8 * 16 + 2 * (2 * 3 * 16 * 4)
    # the SGD update of each parameter is in its layer's update phase
    ups = [v for v in g.ids if phase[v] == "update"]
    assert ups and {layer[v] for v in ups} == {"0", "2"}
    # phases come in program order: forward, backward, update
    rank = {"forward": 0, "backward": 1, "update": 2}
    seq = [rank[phase[v]] for v in g.trace_order]
    assert seq == sorted(seq)
    # views move nothing; others move their inputs and outputs
    assert all(
        g.op_bytes[g.index(v)] == 0
        for v in g.ids
        if ops[v] == "aten.t.default"
    )
    assert g.op_bytes[g.index("relu")] == 2 * 3 * 16 * 4
    assert g.meta["parameters"] == 8 * 16 + 16 + 16 * 4 + 4
    assert g.meta["parameters_by_layer"] == {"0": 8 * 16 + 16, "2": 16 * 4 + 4}
    # the attributes survive the file format
    assert Graph.from_dict(g.to_dict()) == g


def test_output_shapes_and_batch_dimensions():
    """Tests the recorded output shapes and dtypes, and the batch dimension found by tracing one more sample."""
    m, x = _small()
    g = from_torch(m, x, mode="forward", batch_dims=True)
    outs, dims = g.meta["outputs"], g.meta["batch_dims"]
    assert set(outs) == set(g.ids) == set(dims)
    conv = next(
        v for v in g.ids if g.op[g.index(v)].startswith("aten.convolution")
    )
    assert outs[conv] == [[[2, 4, 8, 8], "float32"]] and dims[conv] == [0]
    # a weight's transpose does not grow with the batch
    assert all(
        d == [None]
        for v, d in dims.items()
        if g.op[g.index(v)] == "aten.t.default"
    )
