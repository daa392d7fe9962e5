"""Tensor parallelism for any PyTorch model: output-channel shards (#14)."""

import pytest

from pebble_sched.distributed import simulate

torch = pytest.importorskip("torch")
from pebble_sched.importers.tensor_parallel import shard_channels  # noqa: E402
from pebble_sched.importers.torch_fx import from_torch  # noqa: E402
from pebble_sched.importers.zoo import build  # noqa: E402


def _traced(world, patterns=("*",)):
    model, inputs = build("resnet18")
    model, done = shard_channels(model, world, patterns)
    g = from_torch(model, inputs, engine="autograd")
    return g.replace(meta=dict(g.meta, tensor_parallel=world)), done


def _conv_flops(g):
    return sum(
        int(g.flops[v])
        for v in range(g.n)
        if g.phase[v] == "forward"
        and (g.op[v] or "").startswith("aten.convolution")
    )


def test_shards_hold_a_slice_of_weights_and_flops():
    """Tests that every split layer holds 1/t of its weights and FLOPs, the
    others all of theirs, and that each split layer is gathered once."""
    whole, _ = _traced(1)
    half, done = _traced(2)
    model, _ = build("resnet18")
    split = sum(
        p.numel()
        for path in done
        for p in model.get_submodule(path).parameters()
    )
    assert done and all(
        isinstance(model.get_submodule(p), (torch.nn.Conv2d, torch.nn.Linear))
        for p in done
    )
    assert half.meta["parameters"] == whole.meta["parameters"] - split // 2
    assert _conv_flops(half) * 2 == _conv_flops(whole)
    ops = [half.op[v] or "" for v in range(half.n)]
    assert sum(o.startswith("pebble.gather_channels") for o in ops) == len(
        done
    )
    # the first layer's input gradient is never needed: one all-reduce fewer
    assert (
        sum(o.startswith("pebble.grad_all_reduce") for o in ops)
        == len(done) - 1
    )


def test_collectives_are_the_gathers_and_the_gradient_all_reduces():
    """Tests the bytes on the links: each gather moves (t-1)/t of its
    output, each input-gradient all-reduce 2 (t-1)/t of the gradient."""
    g, _ = _traced(2)
    mb = g.memory_buffers()
    expected = 0.0
    for v in range(g.n):
        op = g.op[v] or ""
        reads = mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]]
        made = mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]]
        if op.startswith("pebble.gather_channels"):
            expected += float(mb.size[made].sum()) / 2
        elif op.startswith("pebble.grad_all_reduce"):
            expected += float(mb.size[reads].sum())
    r = simulate(g, "a100-80g", {"tp": 2})
    assert r.communication["intra"] == pytest.approx(expected)
    one = simulate(_traced(1)[0], "a100-80g", "single")
    assert r.devices[0].model_state < one.devices[0].model_state


def test_only_matching_layers_are_split():
    """Tests --tp-layers: the others run whole (replicated) on every rank."""
    g, done = _traced(2, ("layers.7*", "head"))
    assert done and all(p.startswith(("layers.7", "head")) for p in done)
    whole, _ = _traced(1)
    assert _conv_flops(whole) > _conv_flops(g) > _conv_flops(whole) // 2


def test_cli_import_with_tp(tmp_path):
    """Tests import torch --tp, and a degree that divides no layer."""
    from click.testing import CliRunner

    from pebble_sched.cli import main

    out = tmp_path / "g.json"
    r = CliRunner().invoke(
        main, ["import", "torch", "zoo:resnet18", "--tp", "2", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        main, ["simulate", str(out), "-c", "a100-80g", "-s", "megatron(2,1,4)"]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        main, ["import", "torch", "zoo:resnet18", "--tp", "3", "-o", str(out)]
    )
    assert r.exit_code == 2 and "divides" in r.output
