"""Tests of pebble-sched simulate (#14)."""

import json

from click.testing import CliRunner

from pebble_sched.cli import main
from tests.helpers import ROOT

GPT2 = str(ROOT / "instances" / "dl-trace" / "gpt2-train.json")


def test_simulate_prints_and_writes(tmp_path):
    """Tests the report, the JSON output and a Chrome trace that loads."""
    trace = tmp_path / "trace.json"
    r = CliRunner().invoke(
        main,
        [
            "simulate",
            GPT2,
            "-c",
            "cpu-test",
            "-s",
            "megatron(1,2,2,4)",
            "--trace",
            str(trace),
        ],
    )
    assert r.exit_code == 0, r.output
    assert (
        "step time" in r.stdout
        and "stage 1" in r.stdout
        and "fits" in r.stdout
    )
    events = json.loads(trace.read_text())["traceEvents"]
    assert {e["ph"] for e in events} >= {"X", "C", "M"}
    r = CliRunner().invoke(
        main, ["simulate", GPT2, "-c", "cpu-test", "--json"]
    )
    data = json.loads(r.stdout)
    assert data["fits"] and data["devices"][0]["peak_bytes"] > 0


def test_simulate_errors_are_one_line():
    """Tests that a bad cluster, a strategy too big and a missing file exit 2 with one line."""
    for args, message in [
        (["-c", "nope"], "Unknown cluster 'nope'"),
        (["-c", "cpu-test", "-s", "megatron(1,4,2)"], "uses 8 devices"),
        (["-c", "h100-sxm:2", "-s", "pipeline(16,2)"], "16 pipeline stages"),
        (["-t", "0"], "--time-limit must be a positive"),
    ]:
        r = CliRunner().invoke(main, ["simulate", GPT2, *args])
        assert r.exit_code == 2, r.output
        assert message in r.output and "Traceback" not in r.output
        assert len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(main, ["simulate", "missing.json"])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_simulate_fuse_and_peer_offload_from_the_command_line():
    """Tests --fuse (never slower, same memory) and a peer-offload strategy."""
    base = ["simulate", GPT2, "-c", "cpu-test", "--json"]
    plain = json.loads(CliRunner().invoke(main, base).stdout)
    fused = json.loads(CliRunner().invoke(main, [*base, "--fuse"]).stdout)
    assert fused["iteration_time_s"] <= plain["iteration_time_s"]
    assert (
        fused["devices"][0]["peak_bytes"] == plain["devices"][0]["peak_bytes"]
    )
    s = '{"pp": 2, "microbatches": 2, "offload": ["blocks.0"], "offload_to": "peer"}'
    r = CliRunner().invoke(main, [*base, "-s", s])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(
        main, [*base, "-s", '{"offload": ["blocks.0"], "offload_to": "peer"}']
    )
    assert r.exit_code == 2 and "needs pipeline stages" in r.output
