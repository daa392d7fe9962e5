"""Import an ONNX model: one node per operator, one buffer per tensor.

Sizes come from ONNX shape inference (``onnx.shape_inference``): a tensor of
static shape ``(d1, ..., dk)`` and element type t takes ``d1 * ... * dk *
itemsize(t)`` bytes. Initializers (weights) are resident whatever the order,
so they are left out and their total is recorded in
``meta["constant_bytes"]``; graph inputs are buffers without producer,
freed after their last reader; graph outputs are kept. A tensor whose shape
has a symbolic or unknown dimension is an error naming it (export with
static shapes, or fix the input shapes first). ONNX tensors never alias,
so every tensor is its own buffer. Inference graphs only: ONNX has no
backward pass.
"""

from __future__ import annotations

import math
import os
from typing import Any

from ..exceptions import InstanceError
from ..graph import Buffer, Graph
from ._util import require

__all__ = ["from_onnx"]


def _bytes(onnx: Any, vi: Any) -> int:
    ttype = vi.type.tensor_type
    if not ttype.HasField("shape"):
        raise InstanceError(f"ONNX tensor {vi.name!r} has an unknown shape.")
    dims = []
    for d in ttype.shape.dim:
        if d.HasField("dim_value") and d.dim_value >= 0:
            dims.append(d.dim_value)
        else:
            sym = d.dim_param or "?"
            raise InstanceError(
                f"ONNX tensor {vi.name!r} has a dynamic dimension {sym!r}; "
                "export the model with static input shapes."
            )
    itemsize = onnx.helper.tensor_dtype_to_np_dtype(ttype.elem_type).itemsize
    return int(math.prod(dims)) * int(itemsize)


def from_onnx(
    source: str | os.PathLike | Any, name: str | None = None
) -> Graph:
    """A graph from an ONNX model (a path or a ``ModelProto``).

    Raises
    ------
    InstanceError
        When a tensor's size cannot be inferred (dynamic or unknown shape).
    ModuleNotFoundError
        Without onnx (``pip install "pebble-sched[onnx]"``).
    """
    onnx = require("onnx", "onnx")
    if isinstance(source, (str, os.PathLike)):
        model = onnx.load(os.fspath(source))
        name = name or os.path.splitext(os.path.basename(os.fspath(source)))[0]
    else:
        model = source
    model = onnx.shape_inference.infer_shapes(model)
    g = model.graph
    consts = {t.name for t in g.initializer}
    const_bytes = 0
    for t in g.initializer:
        size = onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
        const_bytes += int(math.prod(t.dims)) * int(size)
    infos = {vi.name: vi for vi in [*g.input, *g.output, *g.value_info]}
    ids: list[str] = []
    producer: dict[str, str | None] = {}
    readers: dict[str, list[str]] = {}
    used: set[str] = set()
    for k, node in enumerate(g.node):
        nid = node.name or f"{node.op_type}_{k}"
        while nid in used:
            nid = f"{nid}_{k}"
        used.add(nid)
        ids.append(nid)
        for t in node.input:
            if t and t not in consts:
                readers.setdefault(t, [])
                if nid not in readers[t]:
                    readers[t].append(nid)
        for t in node.output:
            if t:
                producer[t] = nid
    for vi in g.input:
        if vi.name not in consts:
            producer.setdefault(vi.name, None)
    outputs = {vi.name for vi in g.output}
    buffers = []
    for t, prod in producer.items():
        if t not in infos:
            raise InstanceError(
                f"ONNX tensor {t!r} has no inferred type or shape."
            )
        cons = tuple(c for c in readers.get(t, ()) if c != prod)
        buffers.append(
            Buffer(t, prod, _bytes(onnx, infos[t]), cons, t in outputs)
        )
    return Graph(
        ids,
        buffers=buffers,
        trace_order=ids,
        name=name or g.name or "onnx",
        meta={
            "source": "onnx",
            "constant_bytes": const_bytes,
            "opset": [o.version for o in model.opset_import],
        },
    )
