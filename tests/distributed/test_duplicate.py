"""Tests of duplication: a pipeline stage computes a unit's output instead of receiving it (#15)."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pebble_sched import Graph, read_graph
from pebble_sched.distributed import StrategyError, cluster, simulate
from pebble_sched.distributed.costs import p2p_time
from pebble_sched.distributed.duplicate import with_duplication
from pebble_sched.graph import Buffer
from tests.helpers import ROOT, graphs

CPU = cluster("cpu-test")


def masked(units=4, mask=10**6, mask_flops=10**3, flops=10**9, act=1000):
    """A step of ``units`` layers that all read one mask (forward and
    backward) built by a ``mask`` unit from a graph input."""
    ids, phase, layer = ["m"], ["forward"], ["mask"]
    for i in range(units):
        ids.append(f"f{i}"), phase.append("forward"), layer.append(f"u.{i}")
    for i in reversed(range(units)):
        ids.append(f"b{i}"), phase.append("backward"), layer.append(f"u.{i}")
    readers = tuple(f"f{i}" for i in range(units)) + tuple(
        f"b{i}" for i in range(units)
    )
    buffers = [
        Buffer("keep", None, 10, ("m",)),
        Buffer("mask", "m", mask, readers),
    ]
    for i in range(units):
        nxt = (f"f{i + 1}",) if i + 1 < units else ()
        buffers.append(Buffer(f"a{i}", f"f{i}", act, (f"b{i}", *nxt)))
        if i:
            buffers.append(Buffer(f"g{i}", f"b{i}", act, (f"b{i - 1}",)))
    n = len(ids)
    return Graph(
        ids,
        [(f"f{units - 1}", f"b{units - 1}")],
        buffers=buffers,
        flops=[mask_flops] + [int(flops)] * (n - 1),
        op_bytes=[0] * n,
        phase=phase,
        layer=layer,
    )


TWO = {"pp": 2, "microbatches": 4, "stage_starts": ["u.2"]}


def test_duplicated_mask_is_computed_on_the_reading_stage():
    """Tests that duplicating the mask unit drops its transfers (bytes counted exactly), adds one copy per reading stage, and buys the transfer time back when the mask is cheap to build."""
    g = masked(mask=10**8)  # its transfer outlasts stage 0's forward
    base = simulate(g, CPU, TWO, order="trace")
    dup = simulate(g, CPU, {**TWO, "duplicate": ["mask"]}, order="trace")
    saved = sum(base.communication.values()) - sum(dup.communication.values())
    assert saved == 10**8 * 4  # one mask per micro-batch no longer sent
    t = dup.tasks
    names = Counter(
        x for x, st in zip(t["name"], t["stage"], strict=True) if st == 1
    )
    assert names["m@stage1"] == 4  # the copy, on stage 1, per micro-batch
    # stage 1 waited for the mask's transfer before its first forward task
    assert dup.iteration_time < base.iteration_time
    link = CPU.link([0, 1])
    assert base.iteration_time - dup.iteration_time <= 4 * p2p_time(
        10**8, link
    )
    # and the mask is no longer held on stage 1 from its transfer's start
    assert dup.devices[1].peak < base.devices[1].peak


def test_duplicating_an_expensive_unit_costs_time():
    """Tests the other side of the trade: a mask that is costly to build makes the pipeline slower when duplicated."""
    g = masked(mask=10, mask_flops=10**12)
    base = simulate(g, CPU, TWO, order="trace")
    dup = simulate(g, CPU, {**TWO, "duplicate": ["mask"]}, order="trace")
    assert dup.iteration_time > base.iteration_time


def test_duplicating_what_no_other_stage_reads_changes_nothing():
    """Tests that a duplicated unit read only on its own stage leaves the graph and every result as they were."""
    g = masked()
    base = simulate(g, CPU, TWO, order="trace")
    same = simulate(g, CPU, {**TWO, "duplicate": ["u.0"]}, order="trace")
    assert same.iteration_time == base.iteration_time
    assert [d.peak for d in same.devices] == [d.peak for d in base.devices]
    assert same.communication == base.communication


def test_duplication_needs_a_pipeline():
    """Tests that duplication with one stage is refused in one sentence."""
    with pytest.raises(StrategyError, match="needs pp >= 2"):
        simulate(masked(), CPU, {"duplicate": ["mask"]})


@pytest.mark.parametrize(
    "units", [["blocks.*"], ["blocks.1", "blocks.2"], ["blocks.0"]]
)
def test_duplicating_graph_passes_the_checked_constructor(units):
    """Tests that a duplicating graph (built from arrays, unchecked) is the graph the checking constructor builds from its parts, and that no buffer a duplicated unit makes is read on another stage."""
    from pebble_sched.distributed.simulator import _Builder

    g = read_graph(ROOT / "instances" / "dl-trace" / "gpt2-train.json")
    s = _strategy({"pp": 4, "microbatches": 4})
    probe = _Builder(g, CPU, s, "fp32")
    probe.assign_stages()
    r = with_duplication(g, probe.stage, units)
    assert r.n > g.n or units == ["blocks.0"]
    again = Graph(**r._init_args())
    assert again == r
    b = _Builder(r, CPU, s, "fp32")
    b.assign_stages()
    assert b.stage[: g.n] == probe.stage  # the originals stay where they were
    _check_no_crossing(r, b.stage, units)


def _strategy(spec):
    from pebble_sched.distributed import strategy

    return strategy(spec, CPU)


def _check_no_crossing(r, stage, units):
    from pebble_sched.distributed.recompute import matching_unit

    select = matching_unit(units)
    mb = r.memory_buffers()
    for b in range(len(mb)):
        p = int(mb.producer[b])
        if p < 0 or r.phase[p] != "forward" or select(r.layer[p]) is None:
            continue
        for c in mb.cons_idx[mb.cons_ptr[b] : mb.cons_ptr[b + 1]].tolist():
            assert stage[c] == stage[p], (r.ids[p], r.ids[c])


@settings(max_examples=150, deadline=None)
@given(graphs(max_nodes=9), st.data())
def test_copies_read_what_their_originals_read(g, data):
    """Tests on random graphs, stages and units that every copy reads the same buffers as its original (or their copies on its stage), that no chosen node's buffer is read on another stage, and that every other reader reads what it read before."""
    n = g.n
    if n == 0:
        return
    layer = data.draw(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n)
    )
    phase = data.draw(
        st.lists(
            st.sampled_from(["forward", "backward"]), min_size=n, max_size=n
        )
    )
    stage = data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    units = data.draw(
        st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, unique=True)
    )
    g = g.replace(layer=layer, phase=phase)
    r = with_duplication(g, stage, units)
    if r is g:
        return
    forced = r.meta["duplicate_stage"]
    full = list(stage) + [forced[x] for x in r.ids[n:]]
    origin = list(range(n)) + [
        g.index(x.rsplit("@stage", 1)[0]) for x in r.ids[n:]
    ]
    assert Graph(**r._init_args()) == r
    _check_no_crossing(r, full, units)
    a, b = g.memory_buffers(), r.memory_buffers()

    def reads(mb, v):
        return mb.read_idx[mb.read_ptr[v] : mb.read_ptr[v + 1]].tolist()

    def made(mb, v):
        return mb.prod_idx[mb.prod_ptr[v] : mb.prod_ptr[v + 1]].tolist()

    # a buffer of r stands for one of g: its producer's original's k-th
    # buffer (graph inputs are shared)
    def meaning(buf):
        p = int(b.producer[buf])
        if p < 0:
            return ("input", buf)
        k = made(b, p).index(buf)
        return ("made", made(a, origin[p])[k])

    def meaning_g(buf):
        p = int(a.producer[buf])
        return ("input", buf) if p < 0 else ("made", buf)

    for v in range(r.n):
        assert sorted(map(meaning, reads(b, v))) == sorted(
            map(meaning_g, reads(a, origin[v]))
        ), r.ids[v]
        assert np.array_equal(
            np.sort(b.size[made(b, v)]), np.sort(a.size[made(a, origin[v])])
        )


def test_gpt_padding_mask_duplicated_from_the_command_line(tmp_path):
    """Tests a traced GPT with a padding mask (a 'mask' unit read by every layer): importing it, and simulating a pipeline with and without duplicating the mask from the command line: the mask's transfers (one per micro-batch to the second stage) are gone, byte for byte."""
    import json

    pytest.importorskip("torch")
    from click.testing import CliRunner

    from pebble_sched.cli import main

    out = tmp_path / "g.json"
    args = ["import", "gpt", "2,256,4", "--batch", "2", "--seq", "64"]
    args += ["--vocab", "512", "--padding-mask", "-o", str(out)]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    g = read_graph(out)
    assert any(x == "mask" for x in g.layer)
    mask_bytes = 2 * 64 * 64  # (b, 1, s, s) booleans
    runs = {}
    for dup in ([], ["mask"]):
        s = json.dumps(
            {"pp": 2, "microbatches": 2, "duplicate": dup}
            if dup
            else {"pp": 2, "microbatches": 2}
        )
        r = CliRunner().invoke(
            main, ["simulate", str(out), "-c", "cpu-test", "-s", s, "--json"]
        )
        assert r.exit_code == 0, r.output
        runs[bool(dup)] = json.loads(r.stdout)
    sent = sum(runs[False]["communication_bytes"].values())
    assert (
        sum(runs[True]["communication_bytes"].values())
        == sent - 2 * mask_bytes
    )
    assert runs[True]["strategy"]["duplicate"] == ["mask"]
