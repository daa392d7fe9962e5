"""Tests of the reader of Inductor's reorder_for_peak_memory_debug dump."""

import json

from pebble_sched import evaluate
from pebble_sched.importers import from_inductor_json

DUMP = {
    "nodes": [
        {"name": "op0", "buffer_names": ["buf0"]},
        {"name": "op1", "buffer_names": ["buf1"]},
        {"name": "op2", "buffer_names": ["buf2"]},
    ],
    "buffers": [
        {
            "name": "arg0",
            "size_alloc": 10,
            "size_free": 10,
            "size": 10,
            "is_input": True,
            "is_output": False,
            "deps": [],
            "unmet_deps": [],
        },
        {
            "name": "buf0",
            "size_alloc": 4,
            "size_free": 4,
            "size": 4,
            "is_input": False,
            "is_output": False,
            "deps": ["arg0"],
            "unmet_deps": [],
        },
        {
            "name": "buf1",
            "size_alloc": 2,
            "size_free": 2,
            "size": 2,
            "is_input": False,
            "is_output": False,
            "deps": ["buf0", "arg0"],
            "unmet_deps": ["buf0"],
        },
        {
            "name": "buf2",
            "size_alloc": 1,
            "size_free": 1,
            "size": 1,
            "is_input": False,
            "is_output": True,
            "deps": ["buf1"],
            "unmet_deps": ["buf1"],
        },
    ],
}


def test_reads_the_dump(tmp_path):
    """Tests producers, consumers (from deps), inputs, outputs and the input order."""
    path = tmp_path / "dump.json"
    path.write_text(json.dumps(DUMP))
    g = from_inductor_json(path)
    assert g.trace_order == ("op0", "op1", "op2")
    assert g.successors("op0") == ["op1"]
    # arg0 (10) is read by op0 and op1: 14, 16, then buf1 + buf2 = 3
    assert evaluate(g, ["op0", "op1", "op2"]).memory.tolist() == [14, 16, 3]


def test_cli_import_inductor(tmp_path):
    """Tests pebble-sched import inductor on a dump file."""
    from click.testing import CliRunner

    from pebble_sched.cli import main

    path = tmp_path / "dump.json"
    path.write_text(json.dumps(DUMP))
    out = tmp_path / "g.json"
    r = CliRunner().invoke(
        main, ["import", "inductor", str(path), "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["solve", str(out), "--json", "-q"])
    assert r.exit_code == 0 and '"peak": 16' in r.stdout
