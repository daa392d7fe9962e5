"""Per-layer tensor parallelism: degrees, batch reshards, per-unit data parallelism (#14)."""

import pytest

from pebble_sched import Graph
from pebble_sched.distributed import cluster, simulate, strategy
from pebble_sched.distributed.costs import (
    all_gather_time,
    all_reduce_time,
    op_time,
)
from pebble_sched.distributed.strategy import StrategyError

torch = pytest.importorskip("torch")
from pebble_sched.importers.gpt import gpt_graph  # noqa: E402

SHAPE = (2, 256, 4)  # layers, hidden, heads
KW = {"batch": 2, "seq": 64, "vocab": 512, "tp": 2}
A100 = cluster("a100-80g")
ACT = 2 * 64 * 256 * 2  # one (b=2, s, h) activation in bf16


@pytest.fixture(scope="module")
def mixed():
    """Layer 1 at degree 4 (batch 4), the rest at degree 2 (batch 2)."""
    return gpt_graph(SHAPE, layer_tp={"layers.1": 4}, **KW)


def test_uniform_layer_tp_is_the_global_strategy():
    """Tests that layer_tp equal to tp everywhere changes nothing, exactly."""
    plain = gpt_graph(SHAPE, **KW)
    same = gpt_graph(SHAPE, layer_tp={"layers.*": 2}, **KW)
    base = {"dp": 2, "tp": 2, "optimizer": "adam-mixed", "zero": 1}
    a = simulate(plain, A100, base)
    b = simulate(same, A100, {**base, "layer_tp": {"layers.*": 2}})
    assert a.iteration_time == b.iteration_time
    assert a.devices[0].peak == b.devices[0].peak
    assert dict(a.communication) == dict(b.communication)


def test_reshards_are_traced_with_the_right_batches(mixed):
    """Tests the reshard operators: forward 2 -> 4 before layer 1, 4 -> 2 before the head."""
    meta = mixed.meta
    assert meta["tensor_parallel_by_unit"] == {
        "embed": 2,
        "head": 2,
        "layers.0": 2,
        "layers.1": 4,
    }
    assert meta["reshard_groups"] == {"reshard.1": 4, "reshard.2": 4}
    mb = mixed.memory_buffers()
    seen = {}
    for v in range(mixed.n):
        if not (mixed.op[v] or "").startswith("pebble.reshard"):
            continue
        reads = mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]]
        made = mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]]
        seen[(mixed.layer[v], mixed.phase[v])] = (
            int(mb.size[reads].sum()),
            int(mb.size[made].sum()),
        )
    assert seen == {
        ("reshard.1", "forward"): (ACT, 2 * ACT),
        ("reshard.2", "forward"): (2 * ACT, ACT),
        ("reshard.2", "backward"): (ACT, 2 * ACT),
        ("reshard.1", "backward"): (2 * ACT, ACT),
    }


def test_collectives_per_unit(mixed):
    """Tests every byte on the links: tensor-parallel all-reduces at each
    unit's degree and batch, the two gathering reshards, and gradient
    all-reduces over each unit's own data-parallel group (layer 1: none)."""
    s = strategy(
        {
            "dp": 2,
            "tp": 2,
            "optimizer": "adam-mixed",
            "layer_tp": {"layers.1": 4},
        },
        A100,
    )
    assert (s.tp_of("layers.1"), s.dp_of("layers.1")) == (4, 1)
    assert (s.tp_of("layers.1.mlp.fc1"), s.tp_of("layers.0")) == (4, 2)
    assert s.unit_group(0, "layers.0") == [0, 2]
    r = simulate(mixed, A100, s, order="trace")
    params = mixed.meta["parameters_by_layer"]
    units: dict[str, int] = {}
    for layer, count in params.items():
        u = (
            ".".join(layer.split(".")[:2])
            if layer.startswith("layers")
            else layer.split(".")[0]
        )
        units[u] = units.get(u, 0) + count
    # embed 1 forward all-reduce, layer 0 four at batch 2 (t = 2), layer 1
    # four at batch 4 (t = 4: 2 * 3/4 each), the head 1 backward; reshards
    # gather half of a batch-4 activation twice
    tp = ACT * (1 + 4 + 4 * 2 * 2 * 3 / 4 + 1)
    reshard = 2 * (1 / 2) * 2 * ACT
    dp = sum(2 * c * 2 * (1 / 2) for u, c in units.items() if u != "layers.1")
    assert r.communication["intra"] == pytest.approx(tp + reshard + dp)
    names = set(r.tasks["name"])
    assert {"grad sync embed", "grad sync layers.0", "grad sync head"} <= names
    assert "grad sync layers.1" not in names
    # the gathering reshard's task: roofline of its bytes + the all-gather
    k = next(
        i
        for i, name in enumerate(r.tasks["name"])
        if name == "reshard" and r.tasks["kind"][i] == "compute"
    )
    v = mixed.index("reshard")
    expected = op_time(
        float(mixed.flops[v]), float(mixed.op_bytes[v]), A100.device, "bf16"
    ) + all_gather_time(2 * ACT, 2, A100.link(range(4)))
    assert r.tasks["end"][k] - r.tasks["start"][k] == pytest.approx(expected)
    sync = next(
        i
        for i, name in enumerate(r.tasks["name"])
        if name == "grad sync layers.0"
    )
    assert r.tasks["end"][sync] - r.tasks["start"][sync] == pytest.approx(
        all_reduce_time(2 * units["layers.0"], 2, A100.link([0, 2]))
    )


def test_model_state_is_sharded_per_unit(mixed):
    """Tests ZeRO-1 with per-unit groups: 4 bytes per parameter kept, 12 over each unit's dp."""
    s = {
        "dp": 2,
        "tp": 2,
        "optimizer": "adam-mixed",
        "zero": 1,
        "layer_tp": {"layers.1": 4},
    }
    r = simulate(mixed, A100, s)
    units: dict[str, int] = {}
    for layer, count in mixed.meta["parameters_by_layer"].items():
        u = (
            ".".join(layer.split(".")[:2])
            if layer.startswith("layers")
            else layer.split(".")[0]
        )
        units[u] = units.get(u, 0) + count
    expected = sum(
        4 * c + 12 * c / (1 if u == "layers.1" else 2)
        for u, c in units.items()
    )
    assert r.devices[0].model_state == int(expected)


def test_layer_tp_errors(mixed):
    """Tests the one-line errors: degrees that do not divide, graph and strategy disagreeing."""
    with pytest.raises(StrategyError, match="must divide the 4 devices"):
        strategy({"dp": 2, "tp": 2, "layer_tp": {"layers.1": 3}}, A100)
    with pytest.raises(
        StrategyError, match=r"unit 'layers\.1' has tensor-parallel degree 2"
    ):
        simulate(mixed, A100, {"dp": 2, "tp": 2})
    plain = gpt_graph(SHAPE, **KW)
    with pytest.raises(StrategyError, match="traced with 2; trace it"):
        simulate(plain, A100, {"dp": 2, "tp": 2, "layer_tp": {"layers.1": 4}})
    with pytest.raises(
        StrategyError, match="needs a graph traced with per-layer"
    ):
        simulate(Graph(["a"]), A100, {"dp": 2, "layer_tp": {"a": 2}})
    with pytest.raises(StrategyError, match="maps layer patterns"):
        strategy({"layer_tp": ["layers.1", 4]})
    with pytest.raises(ValueError, match="not a whole number"):
        gpt_graph(SHAPE, layer_tp={"layers.1": 1}, **{**KW, "batch": 1})


def test_cli_import_and_simulate_per_layer_degrees(tmp_path):
    """Tests the command line: import gpt --layer-tp, simulate with the same
    layer_tp, and one-line errors for a bad --layer-tp or a mismatch."""
    import json

    from click.testing import CliRunner

    from pebble_sched.cli import main

    out = tmp_path / "g.json"
    args = ["import", "gpt", "2,256,4", "--batch", "2", "--tp", "2"]
    args += ["--seq", "64", "--vocab", "512", "-o", str(out)]
    r = CliRunner().invoke(main, [*args, "--layer-tp", "layers.1=4"])
    assert r.exit_code == 0, r.output
    s = json.dumps({"dp": 2, "tp": 2, "layer_tp": {"layers.1": 4}})
    r = CliRunner().invoke(
        main, ["simulate", str(out), "-c", "a100-80g", "-s", s, "--json"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["fits"]
    r = CliRunner().invoke(
        main, ["simulate", str(out), "-c", "a100-80g", "-s", "megatron(2,1,2)"]
    )
    assert r.exit_code == 2 and "traced with 4" in r.output
    assert len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(main, [*args, "--layer-tp", "layers.1:4"])
    assert r.exit_code == 2 and "PATTERN=DEGREE" in r.output
    r = CliRunner().invoke(main, [*args, "--layer-tp", "layers.1=3"])
    assert r.exit_code == 2 and "does not divide heads" in r.output


def test_search_moves_over_per_layer_degrees():
    """Tests that a space built with layer_graphs proposes per-layer degrees that simulate as the directly traced graph does, and that a search over them runs and keeps its best fitting."""
    import random

    from pebble_sched.distributed.search import OBJECTIVES, Space, search

    shape, kw = (2, 64, 4), {"batch": 2, "seq": 32, "vocab": 128}
    space = Space(
        lambda tp: gpt_graph(shape, tp=tp, **kw),
        "h100-sxm",
        global_batch=8,
        tp_degrees=(1, 2, 4),
        layer_graphs=lambda tp, m: gpt_graph(shape, tp=tp, layer_tp=m, **kw),
    )
    assert space.layer_units == ["layers.0", "layers.1"]
    rng = random.Random(0)
    s, seen = space.strategy(2, 2, 1), set()
    for _ in range(8):
        s = space._layer_degree(s, rng)
        assert all(u in space.layer_units for u, _t in s.layer_tp)
        assert all(t != s.tp for _u, t in s.layer_tp)  # the default omitted
        e = space.evaluate(s, OBJECTIVES["time"], 80 * 2**30)
        assert e.error is None
        if s.layer_tp:
            direct = simulate(
                gpt_graph(shape, tp=2, layer_tp=dict(s.layer_tp), **kw),
                space.cluster,
                s,
            )
            assert e.time == direct.iteration_time
            assert e.peak == direct.peak
        seen.add(s.layer_tp)
    assert len(seen) >= 2
    # a pipeline whose layer degree exceeds tp: boundaries still move
    from dataclasses import replace

    s = replace(space.strategy(2, 2, 2), layer_tp=(("layers.1", 4),))
    shifted = space._shift_boundary(s, rng)
    assert (
        space.evaluate(shifted, OBJECTIVES["time"], 80 * 2**30).error is None
    )
    r = search(space, iterations=40, chains=1, seed=0)
    assert r.best is not None and r.best_evaluation.fits
    again = simulate(space.graph_for(r.best), space.cluster, r.best)
    assert again.iteration_time == r.best_evaluation.time
