"""Importers: real model graphs into :class:`~pebble_sched.graph.Graph`.

- :func:`from_torch` (extra ``torch``): a PyTorch model traced to ATen ops
  with fake tensors, forward or a whole training step.
- :func:`from_onnx` (extra ``onnx``): an ONNX model, sized by shape inference.
- :func:`from_inductor_json`: the graph dump PyTorch Inductor writes with
  ``reorder_for_peak_memory_debug`` (no extra needed).
- :func:`from_wfformat`: a scientific workflow in WfCommons' WfFormat
  (JSON; no extra needed).
- :func:`from_dot` (extra ``dot``): a DOT task graph, as DAGGEN writes it.

Heavy libraries are imported only when an importer is called.
"""

from __future__ import annotations

from typing import Any

from .inductor_json import from_inductor_json as from_inductor_json
from .wfformat import from_wfformat as from_wfformat

__all__ = [
    "from_dot",
    "from_inductor_json",
    "from_onnx",
    "from_torch",
    "from_wfformat",
]


def from_torch(*args: Any, **kwargs: Any):
    """See :func:`pebble_sched.importers.torch_fx.from_torch`."""
    from .torch_fx import from_torch as impl

    return impl(*args, **kwargs)


def from_onnx(*args: Any, **kwargs: Any):
    """See :func:`pebble_sched.importers.onnx.from_onnx`."""
    from .onnx import from_onnx as impl

    return impl(*args, **kwargs)


def from_dot(*args: Any, **kwargs: Any):
    """See :func:`pebble_sched.importers.dot.from_dot`."""
    from .dot import from_dot as impl

    return impl(*args, **kwargs)
