"""Tests of the ONNX importer (needs onnx)."""

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from pebble_sched import InstanceError, evaluate  # noqa: E402
from pebble_sched.importers import from_onnx  # noqa: E402


def _model(batch):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 8])
    w = helper.make_tensor("w", TensorProto.FLOAT, [16, 8], [0.0] * 128)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
        helper.make_node("Relu", ["h"], ["r"], name="relu"),
        helper.make_node("Sigmoid", ["h"], ["s"], name="sig"),
        helper.make_node("Add", ["r", "s"], ["y"], name="add"),
    ]
    graph = helper.make_graph(nodes, "tiny", [x], [y], initializer=[w])
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]
    )


def test_sizes_from_shape_inference(tmp_path):
    """Tests tensor sizes, graph inputs, outputs and constants of a tiny model."""
    path = tmp_path / "tiny.onnx"
    onnx.save(_model(4), str(path))
    g = from_onnx(path)
    sizes = {b.id: b.size for b in g.buffers}
    assert sizes == {"x": 4 * 16 * 4, "h": 128, "r": 128, "s": 128, "y": 128}
    assert next(b for b in g.buffers if b.id == "x").producer is None
    assert next(b for b in g.buffers if b.id == "y").output
    assert g.meta["constant_bytes"] == 16 * 8 * 4
    # x (256) + h (128) live during mm; during relu: h, r; sig: h, r, s; add: r, s, y
    assert evaluate(g, ["mm", "relu", "sig", "add"]).memory.tolist() == [
        384,
        256,
        384,
        384,
    ]


def test_dynamic_shapes_are_an_error():
    """Tests that a symbolic dimension is reported with the tensor's name."""
    with pytest.raises(
        InstanceError, match=r"ONNX tensor '.' has a dynamic dimension 'N'"
    ):
        from_onnx(_model("N"))


def test_cli_import_onnx(tmp_path):
    """Tests pebble-sched import onnx, and its one-line error for a bad file."""
    from click.testing import CliRunner

    from pebble_sched.cli import main

    path = tmp_path / "tiny.onnx"
    onnx.save(_model(4), str(path))
    out = tmp_path / "g.json"
    r = CliRunner().invoke(main, ["import", "onnx", str(path), "-o", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(main, ["solve", str(out), "--json", "-q"])
    assert r.exit_code == 0 and '"peak": 384' in r.stdout
    bad = tmp_path / "bad.onnx"
    bad.write_text("not onnx")
    r = CliRunner().invoke(main, ["import", "onnx", str(bad), "-o", str(out)])
    assert r.exit_code == 2 and r.stderr.count("\n") == 1
