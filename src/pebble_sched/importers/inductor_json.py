"""Read the graph PyTorch Inductor dumps for its memory simulator.

With ``torch._inductor.config.reorder_for_peak_memory_debug = True``,
``reorder_for_peak_memory`` writes ``{"nodes": [{"name", "buffer_names"}],
"buffers": [{"name", "size_alloc", "size_free", "is_input", "is_output",
"deps", "unmet_deps"}]}``: each node with the buffers it allocates, each
buffer with the buffers its producer reads (``deps``). We turn it into
explicit buffers: a buffer's consumers are the nodes whose buffers list it
in ``deps``; graph inputs (``is_input``) have no producer; outputs are kept.
The node list's order is the input order (``trace_order``). Sizes use
``size_alloc`` (Inductor frees ``size_free`` bytes; the two differ only for
buffers that reuse another's memory, which our model does not express).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import InstanceError
from ..graph import Buffer, Graph

if TYPE_CHECKING:
    import os

__all__ = ["from_inductor_json"]


def from_inductor_json(
    source: str | os.PathLike | dict[str, Any], name: str | None = None
) -> Graph:
    """A graph from Inductor's ``reorder_for_peak_memory_debug`` dump (a path or the parsed dict)."""
    if isinstance(source, dict):
        data = source
    else:
        path = Path(source)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise InstanceError(
                f"{path}: cannot read an Inductor dump: {exc}."
            ) from None
        name = name or path.stem
    try:
        nodes = data["nodes"]
        bufs = data["buffers"]
    except (KeyError, TypeError):
        raise InstanceError(
            "An Inductor dump needs 'nodes' and 'buffers'."
        ) from None
    producer: dict[str, str] = {}
    ids = []
    for node in nodes:
        ids.append(node["name"])
        for b in node.get("buffer_names", []):
            producer[b] = node["name"]
    info = {b["name"]: b for b in bufs}
    readers: dict[str, set[str]] = {b: set() for b in info}
    for b in bufs:
        if b.get("is_input") or b["name"] not in producer:
            continue
        for dep in b.get("deps", []):
            readers.setdefault(dep, set()).add(producer[b["name"]])
    buffers = []
    for bname, b in info.items():
        prod = None if b.get("is_input") else producer.get(bname)
        cons = sorted(
            readers.get(bname, ()) - {prod} if prod else readers.get(bname, ())
        )
        buffers.append(
            Buffer(
                bname,
                prod,
                int(b.get("size_alloc", b.get("size", 0))),
                tuple(cons),
                bool(b.get("is_output", False)),
            )
        )
    return Graph(
        ids,
        buffers=buffers,
        trace_order=ids,
        name=name,
        meta={"source": "inductor reorder_for_peak_memory_debug dump"},
    )
