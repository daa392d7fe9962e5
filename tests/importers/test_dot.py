"""Tests of the DOT importer (DAGGEN attributes) (#13)."""

import pytest

pytest.importorskip("pydot")

from click.testing import CliRunner

from pebble_sched import InstanceError
from pebble_sched.cli import main
from pebble_sched.importers import from_dot

DAGGEN = """digraph G {
  1 [size="2.5", alpha="0.1"]
  2 [size="3e1"]
  3 [size="4"]
  1 -> 2 [size="1024"]
  1 -> 3 [size="2048.5"]
  2 -> 3 [size="8"]
}
"""


def test_daggen_attributes(tmp_path):
    """Tests node size as time, edge size as data (rounded up), nothing else."""
    path = tmp_path / "g.dot"
    path.write_text(DAGGEN)
    g = from_dot(path)
    assert g.ids == ("1", "2", "3")
    assert g.time.tolist() == [2.5, 30.0, 4.0]
    assert g.node_size.tolist() == [0, 0, 0]
    sizes = dict(
        zip(
            zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True),
            g.edge_size.tolist(),
            strict=True,
        )
    )
    assert sizes == {(0, 1): 1024, (0, 2): 2049, (1, 2): 8}


def test_node_memory_option(tmp_path):
    """Tests reading another attribute as node memory."""
    path = tmp_path / "g.dot"
    path.write_text('digraph { a [mem="7"]; b; a -> b }')
    g = from_dot(path, node_memory="mem")
    assert g.node_size.tolist() == [7, 0]


@pytest.mark.parametrize(
    "text, message",
    [
        ("digraph { a -> b; b -> a }", "Cycle"),
        ('digraph { a [size="abc"] }', "is not a number"),
        ("not dot at all {{{", "not a readable DOT graph"),
        ("graph { a -- b }", "not directed"),
    ],
)
def test_bad_files(tmp_path, text, message):
    """Tests that each defect is one InstanceError naming the file."""
    path = tmp_path / "bad.dot"
    path.write_text(text)
    with pytest.raises(InstanceError, match=message) as info:
        from_dot(path)
    assert str(info.value).startswith(str(path))


def test_cli_import_dot(tmp_path, capsys):
    """Tests the command, and that pydot's own parse message stays off stdout."""
    good, bad = tmp_path / "g.dot", tmp_path / "bad.dot"
    good.write_text(DAGGEN)
    bad.write_text("not dot at all {{{")
    runner = CliRunner()
    out = tmp_path / "g.json"
    ok = runner.invoke(main, ["import", "dot", str(good), "-o", str(out)])
    assert ok.exit_code == 0 and out.exists()
    err = runner.invoke(main, ["import", "dot", str(bad), "-o", str(out)])
    assert err.exit_code == 2 and err.stdout == ""
    assert err.stderr.startswith(f"Error: {bad}: not a readable DOT graph")
