"""Import a PyTorch model as an ATen-level graph with exact storage-level buffers.

The model is traced with ``make_fx`` and fake tensors (no real memory, no
weights downloaded): its forward pass (under ``no_grad``), the joint
forward + backward of a training step (``torch.func.grad_and_value``), or
that step with an in-place SGD or Adam update of every parameter inside the
graph. Then:

- every ATen call becomes a node (in trace order, recorded as
  ``trace_order``); ``getitem`` projections of multi-output ops are not
  nodes, they name one of the producer's outputs;
- every *storage* is one buffer, sized ``untyped_storage().nbytes()``,
  produced by the first op that returns it; views and aliases (same
  storage) allocate nothing and their readers are consumers of the root
  storage, so liveness is exact; multi-output ops get one buffer per output
  storage;
- data inputs are graph inputs (buffers with no producer, freed after their
  last reader); parameters, model buffers and optimizer state are resident
  the whole time whatever the order, so they are left out of the model and
  their total is recorded in ``meta["constant_bytes"]``;
- graph results (loss, gradients) are outputs, kept to the end;
- an op that writes into an existing storage (``add_``, ``sub_``,
  ``copy_``: the optimizer's updates) gets edges from that storage's earlier
  readers and to its later readers, so every order keeps the program's
  meaning.

This follows the recipe in ``shared/notes/peers.md`` (4.2), measured there
on PyTorch 2.13.0 CPU.
"""

from __future__ import annotations

import operator
import time
from typing import TYPE_CHECKING, Any

from ..graph import Buffer, Graph
from ._util import require

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["from_torch", "graph_from_fx", "trace"]

MODES = ("forward", "train")
OPTIMIZERS = (None, "sgd", "adam")


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(_flat(v))
        return out
    if isinstance(value, dict):
        return _flat(list(value.values()))
    return [value]


def _fx_inputs(node: Any) -> list[Any]:
    import torch.fx

    found: list[Any] = []
    torch.fx.node.map_arg((node.args, node.kwargs), found.append)
    return found


def trace(
    model: Any,
    example_inputs: Sequence[Any],
    *,
    mode: str = "train",
    optimizer: str | None = None,
    lr: float = 0.01,
    loss: Callable[[Any], Any] | None = None,
) -> tuple[Any, int, int]:
    """Trace ``model`` with fake tensors.

    Returns the ``GraphModule``, the number of leading placeholders that
    are model state (parameters, buffers, optimizer state) and their total
    bytes.
    """
    torch = require("torch", "torch")
    from torch.func import functional_call, functionalize, grad_and_value
    from torch.fx.experimental.proxy_tensor import make_fx

    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}.")
    if optimizer not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {OPTIMIZERS}, not {optimizer!r}."
        )
    if optimizer and mode != "train":
        raise ValueError("An optimizer needs mode='train'.")
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    inputs = tuple(example_inputs)
    loss = loss or (lambda out: _flat(out)[0].float().pow(2).mean())
    state: list[Any] = []
    if mode == "forward":
        model.eval()

        def fn(p, b, *x):
            with torch.no_grad():
                return functional_call(model, (p, b), x)

        gm = make_fx(functionalize(fn), tracing_mode="fake")(
            params, buffers, *inputs
        )
    else:
        model.train()

        def loss_fn(p, b, *x):
            return loss(functional_call(model, (p, b), x))

        if optimizer is None:

            def fn(p, b, *x):
                return grad_and_value(loss_fn)(p, b, *x)

            gm = make_fx(functionalize(fn), tracing_mode="fake")(
                params, buffers, *inputs
            )
        else:
            state = (
                [
                    {k: torch.zeros_like(v) for k, v in params.items()},
                    {k: torch.zeros_like(v) for k, v in params.items()},
                ]
                if optimizer == "adam"
                else []
            )

            def fn(p, b, *rest):
                x = rest[len(state) :]
                grads, value = grad_and_value(loss_fn)(p, b, *x)
                with torch.no_grad():
                    if optimizer == "sgd":
                        for k in p:
                            p[k].sub_(lr * grads[k])
                    else:
                        m, v = rest[0], rest[1]
                        for k in p:
                            m[k].mul_(0.9).add_(grads[k], alpha=0.1)
                            v[k].mul_(0.999).addcmul_(
                                grads[k], grads[k], value=0.001
                            )
                            p[k].addcdiv_(
                                m[k], v[k].sqrt().add_(1e-8), value=-lr
                            )
                return value

            gm = make_fx(fn, tracing_mode="fake")(
                params, buffers, *state, *inputs
            )
    n_state = len(params) + len(buffers) + sum(len(s) for s in state)
    const = sum(t.untyped_storage().nbytes() for t in params.values())
    const += sum(t.untyped_storage().nbytes() for t in buffers.values())
    const += sum(
        t.untyped_storage().nbytes() for s in state for t in s.values()
    )
    return gm, n_state, const


def graph_from_fx(
    gm: Any,
    n_state: int,
    *,
    name: str | None = None,
    meta: dict[str, Any] | None = None,
) -> Graph:
    """The buffer graph of a traced ``GraphModule`` (see the module docstring).

    The first ``n_state`` placeholders are model state (not counted); the
    others are data inputs.
    """
    torch = require("torch", "torch")
    from torch.multiprocessing.reductions import StorageWeakRef

    root_of: dict[Any, str] = {}  # storage -> buffer id ("" for state)
    size: dict[str, int] = {}
    producer: dict[str, str | None] = {}
    consumers: dict[str, set[str]] = {}
    outputs: set[str] = set()
    node_roots: dict[str, list[str]] = {}  # fx name -> root ids of its tensors
    graph_node: dict[
        str, str | None
    ] = {}  # fx name -> graph node producing it
    ids: list[str] = []
    edges: set[tuple[str, str]] = set()
    last_writer: dict[str, str] = {}
    readers: dict[str, set[str]] = {}
    placeholders = 0

    def tensors(val: Any) -> list[Any]:
        return [t for t in _flat(val) if isinstance(t, torch.Tensor)]

    def key(t: Any) -> Any:
        return StorageWeakRef(t.untyped_storage())

    for node in gm.graph.nodes:
        if node.op == "placeholder":
            roots = []
            for t in tensors(node.meta.get("val")):
                k = key(t)
                if placeholders < n_state:
                    root_of.setdefault(k, "")
                else:
                    bid = f"in:{node.name}"
                    if k not in root_of:
                        root_of[k] = bid
                        size[bid] = int(t.untyped_storage().nbytes())
                        producer[bid] = None
                        consumers[bid] = set()
                roots.append(root_of[k])
            placeholders += 1
            node_roots[node.name] = roots
            graph_node[node.name] = None
            continue
        if node.op == "output":
            for arg in _fx_inputs(node):
                for r in node_roots.get(arg.name, []):
                    if r:
                        outputs.add(r)
            continue
        if node.op != "call_function":
            raise ValueError(f"Unsupported FX node {node.op!r} ({node.name}).")
        if node.target is operator.getitem:
            src = node.args[0]
            roots = [
                root_of.get(key(t), "") for t in tensors(node.meta.get("val"))
            ]
            node_roots[node.name] = roots
            graph_node[node.name] = graph_node.get(src.name)
            continue
        nid = node.name
        ids.append(nid)
        graph_node[nid] = nid
        read_roots: set[str] = set()
        for arg in _fx_inputs(node):
            src = graph_node.get(arg.name)
            if src is not None and src != nid:
                edges.add((src, nid))
            read_roots.update(r for r in node_roots.get(arg.name, []) if r)
        # which inputs does the op write into (in-place)?
        written: set[str] = set()
        schema = getattr(node.target, "_schema", None)
        if schema is not None and schema.is_mutable:
            for i, a in enumerate(schema.arguments):
                if a.alias_info is not None and a.alias_info.is_write:
                    value = (
                        node.args[i]
                        if i < len(node.args)
                        else node.kwargs.get(a.name)
                    )
                    for v in _flat(value):
                        if hasattr(v, "name"):
                            written.update(node_roots.get(v.name, []))
        for r in read_roots | {w for w in written if w}:
            w = last_writer.get(r)
            if w is not None and w != nid:
                edges.add((w, nid))
        for r in written:
            for rd in readers.get(r, set()) - {nid}:
                edges.add((rd, nid))
        roots = []
        for t in tensors(node.meta.get("val")):
            k = key(t)
            if k not in root_of:
                bid = f"buf:{nid}:{len(roots)}"
                root_of[k] = bid
                size[bid] = int(t.untyped_storage().nbytes())
                producer[bid] = nid
                consumers[bid] = set()
            roots.append(root_of[k])
        node_roots[nid] = roots
        for r in read_roots:
            if r and producer.get(r) != nid:
                consumers[r].add(nid)
                readers.setdefault(r, set()).add(nid)
        for r in written:
            if r:
                last_writer[r] = nid
                readers[r] = set()
    buffers = [
        Buffer(
            bid,
            producer[bid],
            size[bid],
            tuple(sorted(consumers[bid])),
            bid in outputs,
        )
        for bid in size
    ]
    return Graph(
        ids,
        sorted(edges),
        buffers=buffers,
        trace_order=ids,
        name=name,
        meta=meta or {},
    )


def from_torch(
    model: Any,
    example_inputs: Sequence[Any],
    *,
    mode: str = "train",
    optimizer: str | None = None,
    lr: float = 0.01,
    loss: Callable[[Any], Any] | None = None,
    name: str | None = None,
) -> Graph:
    """Trace a PyTorch model into a :class:`Graph` (see the module docstring).

    Parameters
    ----------
    model
        A ``torch.nn.Module`` (random initialisation is fine: only shapes
        matter).
    example_inputs
        Tensors of the shapes to trace with (they are replaced by fake
        tensors; nothing is computed).
    mode
        ``"forward"`` (inference, no grad) or ``"train"`` (loss, backward).
    optimizer
        ``None``, ``"sgd"`` or ``"adam"``: an in-place update of every
        parameter inside the training step.
    loss
        Maps the model's output to a scalar; default the mean of squares of
        the first output.

    Raises
    ------
    ModuleNotFoundError
        Without torch (``pip install "pebble-sched[torch]"``).
    """
    t0 = time.monotonic()
    gm, n_state, const = trace(
        model, example_inputs, mode=mode, optimizer=optimizer, lr=lr, loss=loss
    )
    seconds = time.monotonic() - t0
    import torch

    meta = {
        "source": "torch",
        "model": type(model).__name__,
        "mode": mode,
        "optimizer": optimizer,
        "input_shapes": [list(x.shape) for x in example_inputs],
        "constant_bytes": int(const),
        "torch": torch.__version__,
        "trace_seconds": round(seconds, 3),
    }
    return graph_from_fx(
        gm, n_state, name=name or type(model).__name__, meta=meta
    )
