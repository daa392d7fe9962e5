"""Tests of ``pebble-sched parallel`` (#13)."""

import json

from click.testing import CliRunner

from pebble_sched import read_graph
from pebble_sched.cli import main
from pebble_sched.parallel import brute_force_max_parallel_peak, simulate
from tests.helpers import ROOT

FORK = str(ROOT / "instances" / "examples" / "fork.json")


def test_parallel_reports_and_writes(tmp_path):
    """Tests the report lines, the restricted graph and the schedule written."""
    out, sched = tmp_path / "r.json", tmp_path / "s.json"
    result = CliRunner().invoke(
        main,
        [
            "parallel",
            FORK,
            "-m",
            "best",
            "-p",
            "2",
            "-o",
            str(out),
            "--schedule",
            str(sched),
        ],
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "sequential optimum : 5 B (optimal" in text
    assert "max parallel peak  : 6 B -> 5 B after" in text
    assert "respect-order      : ok, 1 edges added" in text
    restricted = read_graph(out)
    pairs = zip(
        restricted.edge_src,
        restricted.edge_dst,
        restricted.edge_fictitious,
        strict=True,
    )
    assert [
        (restricted.ids[a], restricted.ids[b]) for a, b, f in pairs if f
    ] == [("b", "c")]
    assert brute_force_max_parallel_peak(restricted).value == 5
    data = json.loads(sched.read_text())
    start = {v: t for v, t in data["start"]}
    assert simulate(restricted, start) == (data["makespan"], data["peak"])
    assert data["peak"] <= 5


def test_parallel_infeasible_bound_is_one_line():
    """Tests that a bound below the proven optimum is exit 2 with the proof."""
    result = CliRunner().invoke(main, ["parallel", FORK, "--memory", "4"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: Infeasible: every schedule")
    assert "proven lower bound" in result.stderr
    assert result.stderr.count("\n") == 1


def test_parallel_argument_errors():
    """Tests conflicting or out-of-range options."""
    runner = CliRunner()
    both = runner.invoke(
        main, ["parallel", FORK, "--memory", "5", "--memory-factor", "1.2"]
    )
    assert both.exit_code == 2 and "not both" in both.stderr
    procs = runner.invoke(main, ["parallel", FORK, "-p", "0"])
    assert procs.exit_code == 2 and "--procs" in procs.stderr


def test_parallel_gantt_plot(tmp_path):
    """Tests that --plot writes a PNG Gantt chart (plot extra)."""
    import pytest

    pytest.importorskip("matplotlib")
    png = tmp_path / "gantt.png"
    result = CliRunner().invoke(
        main, ["parallel", FORK, "-p", "2", "--plot", str(png)]
    )
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
