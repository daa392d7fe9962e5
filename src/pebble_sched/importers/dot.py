"""Read task graphs in Graphviz DOT, as DAGGEN and memDAG-style tools write them.

Which attribute means what (the DAGGEN convention, configurable):

- a node's ``size`` is its computation cost: our ``time``;
- an edge's ``size`` is the data sent along it: our edge ``size`` (a buffer
  produced by the edge's source and read by its target alone, in bytes;
  fractional values are rounded up);
- optionally a node attribute for memory (``node_memory=``, for example
  ``"memory"``): our node ``size``.

Other attributes are ignored. Parsing is done by ``pydot`` through
networkx (extra ``dot``: ``pip install "pebble-sched[dot]"``). Parallel
edges between the same two nodes are merged, their data added. A cycle, a
non-numeric value or an unreadable file is an
:class:`~pebble_sched.exceptions.InstanceError`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import InstanceError
from ..graph import Graph
from ._util import require

if TYPE_CHECKING:
    import os

__all__ = ["from_dot"]


def _number(value: Any, what: str) -> float:
    text = str(value).strip().strip('"')
    try:
        x = float(text)
    except ValueError:
        raise InstanceError(f"{what}: {text!r} is not a number.") from None
    if not math.isfinite(x) or x < 0:
        raise InstanceError(f"{what}: {text!r} is not a non-negative number.")
    return x


def from_dot(
    path: str | os.PathLike,
    *,
    node_time: str | None = "size",
    edge_memory: str | None = "size",
    node_memory: str | None = None,
    name: str | None = None,
) -> Graph:
    """A graph from a DOT file (DAGGEN's attributes by default).

    Parameters
    ----------
    path
        The ``.dot`` file.
    node_time, edge_memory, node_memory
        The attributes read as node durations, edge data (bytes) and node
        output sizes (bytes); ``None`` skips one. Missing values mean 1 for
        times and 0 for sizes.
    """
    require("pydot", "dot")
    path = Path(path)
    if not path.is_file():
        raise InstanceError(f"{path}: no such file.")
    try:
        return _read(path, node_time, edge_memory, node_memory, name)
    except InstanceError as exc:
        raise InstanceError(f"{path}: {exc}") from None


def _read(path, node_time, edge_memory, node_memory, name) -> Graph:
    import contextlib
    import io

    import networkx as nx

    said = io.StringIO()
    try:
        # pydot prints its parse errors on stdout, then returns nothing
        with contextlib.redirect_stdout(said):
            G = nx.nx_pydot.read_dot(str(path))
    except Exception as exc:
        lines = [x for x in said.getvalue().splitlines() if x.strip()]
        why = lines[-1].strip() if lines else type(exc).__name__
        raise InstanceError(f"not a readable DOT graph: {why}.") from None
    if not G.is_directed():
        raise InstanceError("the graph is not directed.")
    ids = [str(v) for v in G.nodes]
    data = {str(v): d for v, d in G.nodes(data=True)}
    times, sizes = [], []
    for v in ids:
        d = data[v]
        t = d.get(node_time) if node_time else None
        times.append(
            1.0 if t is None else _number(t, f"Node {v!r} {node_time}")
        )
        m = d.get(node_memory) if node_memory else None
        sizes.append(
            0
            if m is None
            else math.ceil(_number(m, f"Node {v!r} {node_memory}"))
        )
    merged: dict[tuple[str, str], int] = {}
    for u, v, d in G.edges(data=True):
        key = (str(u), str(v))
        m = d.get(edge_memory) if edge_memory else None
        size = (
            0
            if m is None
            else math.ceil(
                _number(m, f"Edge ({key[0]!r}, {key[1]!r}) {edge_memory}")
            )
        )
        merged[key] = merged.get(key, 0) + size
    return Graph(
        ids,
        list(merged),
        size=sizes,
        time=times,
        edge_size=list(merged.values()),
        name=name or path.stem,
        meta={"source": "dot", "file": path.name},
    )
