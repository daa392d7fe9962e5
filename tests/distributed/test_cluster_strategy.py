"""Tests of cluster and strategy descriptions and the analytical costs (#14)."""

import json

import pytest

from pebble_sched.distributed import (
    ClusterError,
    StrategyError,
    cluster,
    strategy,
)
from pebble_sched.distributed.cluster import Link
from pebble_sched.distributed.costs import (
    all_gather_time,
    all_reduce_time,
    op_time,
    p2p_time,
    reduce_scatter_time,
)


def test_presets_and_links():
    """Tests the presets' shapes, node counts and which link a group uses."""
    a = cluster("a100-80g")
    assert (a.nodes, a.devices_per_node, a.num_devices) == (1, 8, 8)
    assert a.device.peak_flops["bf16"] == 312e12
    h = cluster("h100-sxm:4")
    assert h.num_devices == 32 and h.device.hbm_bandwidth == 3.35e12
    assert h.link(range(8)) is h.intra and h.link([7, 8]) is h.inter
    assert cluster("cpu-test").nodes == 2 and cluster("cpu-test:1").nodes == 1


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nope", "Unknown cluster 'nope'"),
        ("a100-80g:0", "a preset takes 1 to 64"),
        ("a100-80g:65", "a preset takes 1 to 64"),
    ],
)
def test_bad_cluster_names(spec, message):
    """Tests that unknown presets and impossible node counts are one clear error."""
    with pytest.raises(ClusterError, match=message):
        cluster(spec)


def test_cluster_files(tmp_path):
    """Tests JSON and TOML descriptions, overriding a preset, and their errors."""
    f = tmp_path / "c.json"
    f.write_text(
        json.dumps(
            {
                "preset": "h100-sxm",
                "nodes": 2,
                "device": {"memory": 40 * 2**30},
            }
        )
    )
    c = cluster(f)
    assert c.num_devices == 16 and c.device.memory == 40 * 2**30
    assert c.device.peak_flops["bf16"] == 989e12  # kept from the preset
    t = tmp_path / "c.toml"
    t.write_text(
        "nodes = 1\ndevices_per_node = 2\nhost_memory = 1e9\n"
        "[device]\nmemory = 1e9\nhbm_bandwidth = 1e11\n"
        "peak_flops = { fp32 = 1e12 }\n"
        "[intra]\nbandwidth = 1e10\nlatency = 1e-6\n"
    )
    c = cluster(t)
    assert c.num_devices == 2 and c.inter == c.intra
    for bad, message in [
        ({"preset": "h100-sxm", "nodez": 2}, "unknown key 'nodez'"),
        (
            {"preset": "h100-sxm", "intra": {"bandwidth": -1}},
            "'bandwidth' must be >= 0",
        ),
        (
            {"preset": "h100-sxm", "intra": {"bandwidth": 0}},
            "intra bandwidth must be positive",
        ),
        (
            {"preset": "h100-sxm", "device": {"memory": 0}},
            "device memory must be positive",
        ),
        (
            {"preset": "h100-sxm", "nodes": 0},
            "'nodes' must be a positive integer",
        ),
        (
            {"preset": "h100-sxm", "device": {"compute_efficiency": 2}},
            r"must be in \(0, 1\]",
        ),
        ({"device": {"memory": 1}}, "peak_flops must map dtypes"),
    ]:
        with pytest.raises(ClusterError, match=message):
            cluster(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ClusterError, match="cannot read it"):
        cluster(broken)


def test_strategies():
    """Tests the presets, JSON strategies and their validation against a cluster."""
    c = cluster("a100-80g:2")
    assert strategy("data-parallel", c).dp == 16
    s = strategy("megatron(8,2,1,8)", c)
    assert (s.tp, s.pp, s.dp, s.microbatches, s.devices) == (8, 2, 1, 8, 16)
    assert s.device_of(1) == 8 and s.dp_group(0) == [0]
    z = strategy("zero(2)", c)
    assert z.zero == 2 and z.dp == 16 and z.optimizer == "adam-mixed"
    assert strategy({"preset": "zero(3)"}, c).dp == 16
    assert strategy({"dp": 2, "recompute": "blocks.*"}, c).recompute == (
        "blocks.*",
    )
    for bad, message in [
        ("megatron(8,2,2)", "uses 32 devices"),
        ("megatron(3,1,1)", "must divide the 8 devices of a node"),
        ("zero(4)", "zero stage 4 is not 0-3"),
        ({"dp": 0}, "dp must be >= 1"),
        ({"dp": "2"}, "'dp' must be an integer"),
        ({"zero": 1}, "choose an optimizer"),
        ({"schedule": "zigzag"}, "schedule 'zigzag' is not one of"),
        ({"optimizer": "lion"}, "optimizer 'lion' is not one of"),
        ({"colour": 1}, "unknown key 'colour'"),
        ("megatron(1,2)", r"megatron takes \(tp, pp, dp\)"),
        ("wat", "Unknown strategy 'wat'"),
    ]:
        with pytest.raises(StrategyError, match=message):
            strategy(bad, c)


def test_collective_formulas():
    """Tests the ring formulas: all-reduce 2(N-1)/N S/B + 2(N-1) alpha, and the others."""
    link = Link(100e9, 2e-6, 0.5)  # 50 GB/s effective
    S = 1e9
    for n in (2, 4, 8, 64):
        assert all_reduce_time(S, n, link) == pytest.approx(
            2 * (n - 1) / n * S / 50e9 + 2 * (n - 1) * 2e-6
        )
        assert reduce_scatter_time(S, n, link) == pytest.approx(
            (n - 1) / n * S / 50e9 + (n - 1) * 2e-6
        )
        assert all_gather_time(S, n, link) == reduce_scatter_time(S, n, link)
        # an all-reduce is a reduce-scatter then an all-gather
        assert all_reduce_time(S, n, link) == pytest.approx(
            2 * reduce_scatter_time(S, n, link)
        )
    assert all_reduce_time(S, 1, link) == 0 and p2p_time(0, link) == 0
    assert p2p_time(S, link) == pytest.approx(2e-6 + S / 50e9)


def test_roofline():
    """Tests that an op takes the slower of its compute and memory times, views nothing."""
    dev = cluster("a100-80g").device
    big_gemm = op_time(2 * 8192**3, 3 * 2 * 8192**2, dev, "bf16")
    assert big_gemm == pytest.approx(
        2 * 8192**3 / (312e12 * 0.75) + dev.launch_overhead
    )
    copy = op_time(0, 1e9, dev, "bf16")
    assert copy == pytest.approx(1e9 / (2.039e12 * 0.85) + dev.launch_overhead)
    assert op_time(0, 0, dev, "bf16") == 0.0
    # an unknown dtype falls back to fp32's peak
    assert op_time(1e12, 0, dev, "fp64") == pytest.approx(
        1e12 / (19.5e12 * 0.75) + dev.launch_overhead
    )


def test_strategy_key_tells_every_field_but_the_name():
    """Tests that Strategy.key() differs on any field that changes the run and ignores name and meta."""
    from dataclasses import replace

    from pebble_sched.distributed.strategy import Strategy

    s = Strategy(dp=2, pp=2, microbatches=4)
    assert replace(s, name="x", meta={"a": 1}).key() == s.key()
    for change in (
        {"stage_starts": ("u.1",)},
        {"offload_to": "peer"},
        {"layer_tp": (("u.1", 2),)},
        {"zero": 1},
    ):
        assert replace(s, **change).key() != s.key()
    hash(s.key())
