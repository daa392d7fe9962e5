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

The recipe (fake tensors, an autograd trace of forward and backward, one
buffer per storage) was checked against PyTorch 2.13.0 on CPU.
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


def _module_of(parameter: str) -> str:
    """The module path of a parameter name (``h.0.attn.weight`` -> ``h.0.attn``)."""
    return parameter.rpartition(".")[0]


class _Recorder:
    """Which module and phase each ATen call of a trace belongs to.

    Module hooks keep a stack of module paths during the forward pass; a
    module's forward post-hook also labels the autograd nodes it created
    (walking back from its outputs, inner modules first), so that during
    the backward pass the autograd node being run names the layer. A
    dispatch mode below autograd records ``(op, layer, phase)`` per ATen
    call: ``forward`` before the backward pass, ``backward`` inside it,
    ``update`` after it (the optimizer).
    """

    def __init__(self, model: Any) -> None:
        self.records: list[tuple[str, str | None, str]] = []
        self.stack: list[str] = []
        self.handles: list[Any] = []
        self.seen_backward = False
        for name, module in model.named_modules():
            self.handles.append(
                module.register_forward_pre_hook(
                    lambda _m, _a, name=name: self.stack.append(name)
                )
            )
            self.handles.append(
                module.register_forward_hook(
                    lambda _m, _a, out, name=name: self._leave(out, name)
                )
            )

    def _leave(self, out: Any, name: str) -> None:
        import torch

        self.stack.pop()
        todo = [
            t.grad_fn
            for t in _flat(out)
            if isinstance(t, torch.Tensor) and t.grad_fn is not None
        ]
        while todo:
            fn = todo.pop()
            if fn is None or "pebble_layer" in fn.metadata:
                continue
            fn.metadata["pebble_layer"] = name
            todo += [f for f, _ in fn.next_functions]

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        import torch
        from torch.utils._python_dispatch import TorchDispatchMode

        recorder = self

        class Mode(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                if func.namespace != "prim":
                    # the autograd node being run: set only in the backward
                    node = torch._C._current_autograd_node()  # noqa: SLF001
                    if node is not None:
                        recorder.seen_backward = True
                        layer = node.metadata.get("pebble_layer")
                        phase = "backward"
                    else:
                        layer = recorder.stack[-1] if recorder.stack else None
                        phase = (
                            "update" if recorder.seen_backward else "forward"
                        )
                    recorder.records.append((str(func), layer, phase))
                return out

        def wrapped(*args: Any) -> Any:
            with Mode():
                return fn(*args)

        return wrapped

    def close(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []


def trace(
    model: Any,
    example_inputs: Sequence[Any],
    *,
    mode: str = "train",
    optimizer: str | None = None,
    lr: float = 0.01,
    loss: Callable[[Any], Any] | None = None,
    engine: str = "functorch",
) -> tuple[Any, int, int]:
    """Trace ``model`` with fake tensors.

    Returns the ``GraphModule``, the number of leading placeholders that
    are model state (parameters, buffers, optimizer state) and their total
    bytes. ``gm.meta["pebble_records"]`` holds, per ATen call in trace
    order, ``(op, layer, phase)`` (see :class:`_Recorder`). ``engine``
    (training without an optimizer): ``functorch`` (``grad_and_value``,
    functionalized) or ``autograd`` (``torch.autograd.grad``, for models
    with custom operators whose autograd functorch cannot transform).
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
    if engine not in ("functorch", "autograd"):
        raise ValueError(
            f"engine must be functorch or autograd, not {engine!r}."
        )
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    inputs = tuple(example_inputs)
    recorder = _Recorder(model)
    try:
        loss = loss or (lambda out: _flat(out)[0].float().pow(2).mean())
        state: list[Any] = []
        if mode == "forward":
            model.eval()

            def fn(p, b, *x):
                with torch.no_grad():
                    return functional_call(model, (p, b), x)

            gm = make_fx(
                functionalize(recorder.wrap(fn)), tracing_mode="fake"
            )(params, buffers, *inputs)
        else:
            model.train()

            def loss_fn(p, b, *x):
                return loss(functional_call(model, (p, b), x))

            if optimizer is None and engine == "autograd":

                def fn(p, b, *x):
                    p = {
                        k: v.detach().requires_grad_(True)
                        for k, v in p.items()
                    }
                    value = loss_fn(p, b, *x)
                    grads = torch.autograd.grad(
                        value, list(p.values()), allow_unused=True
                    )
                    out = {
                        k: g
                        for k, g in zip(p, grads, strict=True)
                        if g is not None
                    }
                    return out, value

                gm = make_fx(recorder.wrap(fn), tracing_mode="fake")(
                    params, buffers, *inputs
                )
            elif optimizer is None:

                def fn(p, b, *x):
                    return grad_and_value(loss_fn)(p, b, *x)

                gm = make_fx(
                    functionalize(recorder.wrap(fn)), tracing_mode="fake"
                )(params, buffers, *inputs)
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
                                recorder.stack[:] = [_module_of(k)]
                                p[k].sub_(lr * grads[k])
                        else:
                            m, v = rest[0], rest[1]
                            for k in p:
                                recorder.stack[:] = [_module_of(k)]
                                m[k].mul_(0.9).add_(grads[k], alpha=0.1)
                                v[k].mul_(0.999).addcmul_(
                                    grads[k], grads[k], value=0.001
                                )
                                p[k].addcdiv_(
                                    m[k], v[k].sqrt().add_(1e-8), value=-lr
                                )
                    recorder.stack[:] = []
                    return value

                gm = make_fx(recorder.wrap(fn), tracing_mode="fake")(
                    params, buffers, *state, *inputs
                )
    finally:
        recorder.close()
    gm.meta["pebble_records"] = recorder.records
    gm.meta["pebble_parameters"] = {
        k: (int(v.numel()), int(v.untyped_storage().nbytes()), str(v.dtype))
        for k, v in params.items()
    }
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
    fx_nodes: list[Any] = []

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
        fx_nodes.append(node)
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
        **_op_costs(fx_nodes, gm.meta.get("pebble_records")),
    )


def _op_costs(fx_nodes: list[Any], records: list | None) -> dict[str, Any]:
    """Per node: ATen op, FLOPs (``torch.utils.flop_counter``'s formulas),
    bytes read and written (0 for views), and the layer and phase recorded
    while tracing (matched to the FX nodes in order, by op name)."""
    import torch
    from torch.utils.flop_counter import flop_registry

    def val(a: Any) -> Any:
        return a.meta.get("val") if hasattr(a, "meta") else a

    def nbytes(x: Any) -> int:
        return sum(
            t.numel() * t.element_size()
            for t in _flat(x)
            if isinstance(t, torch.Tensor)
        )

    ops, flops, moved = [], [], []
    for node in fx_nodes:
        target = node.target
        ops.append(str(target))
        args, kwargs = torch.fx.node.map_arg((node.args, node.kwargs), val)
        out = node.meta.get("val")
        packet = getattr(target, "overloadpacket", None)
        f = 0
        if packet in flop_registry:
            try:
                f = int(flop_registry[packet](*args, **kwargs, out_val=out))
            except Exception:  # an odd signature: no count
                f = 0
        flops.append(f)
        view = getattr(target, "is_view", False)
        moved.append(0 if view else nbytes((args, kwargs)) + nbytes(out))
    layers: list[str | None] = [None] * len(fx_nodes)
    phases: list[str | None] = [None] * len(fx_nodes)
    if records:
        j = 0
        for i, op in enumerate(ops):
            for k in range(j, min(j + 64, len(records))):
                if records[k][0] == op:
                    layers[i], phases[i] = records[k][1], records[k][2]
                    j = k + 1
                    break
    return {
        "op": ops,
        "flops": flops,
        "op_bytes": moved,
        "layer": [x if x else None for x in layers],
        "phase": phases,
    }


def from_torch(
    model: Any,
    example_inputs: Sequence[Any],
    *,
    mode: str = "train",
    optimizer: str | None = None,
    lr: float = 0.01,
    loss: Callable[[Any], Any] | None = None,
    name: str | None = None,
    engine: str = "functorch",
    batch_dims: bool = False,
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
    batch_dims
        Also trace with one more sample and record, per node and output, the
        dimension that grows with the batch (``meta["batch_dims"]``; the
        output shapes and dtypes are always in ``meta["outputs"]``).

    Raises
    ------
    ModuleNotFoundError
        Without torch (``pip install "pebble-sched[torch]"``).
    """
    t0 = time.monotonic()
    gm, n_state, const = trace(
        model,
        example_inputs,
        mode=mode,
        optimizer=optimizer,
        lr=lr,
        loss=loss,
        engine=engine,
    )
    seconds = time.monotonic() - t0
    import torch

    counts = gm.meta.get("pebble_parameters", {})
    by_layer: dict[str, int] = {}
    for k, (count, _, _) in counts.items():
        layer = _module_of(k)
        by_layer[layer] = by_layer.get(layer, 0) + count
    dtypes = sorted({d for _, _, d in counts.values()})
    meta = {
        "source": "torch",
        "model": type(model).__name__,
        "parameters": int(sum(c for c, _, _ in counts.values())),
        "parameter_bytes": int(sum(b for _, b, _ in counts.values())),
        "parameters_by_layer": by_layer,
        "dtype": dtypes[0].replace("torch.", "") if len(dtypes) == 1 else None,
        "mode": mode,
        "optimizer": optimizer,
        "input_shapes": [list(x.shape) for x in example_inputs],
        "constant_bytes": int(const),
        "torch": torch.__version__,
        "trace_seconds": round(seconds, 3),
    }
    outputs = _output_shapes(gm)
    meta["outputs"] = outputs
    if batch_dims:
        meta["batch_dims"] = _batch_dims(
            outputs,
            model,
            example_inputs,
            mode=mode,
            optimizer=optimizer,
            lr=lr,
            loss=loss,
            engine=engine,
        )
    return graph_from_fx(
        gm, n_state, name=name or type(model).__name__, meta=meta
    )


def _output_shapes(gm: Any) -> dict[str, list[list[Any]]]:
    """Per ATen node: ``[shape, dtype]`` of each tensor it returns."""
    import torch

    out: dict[str, list[list[Any]]] = {}
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target is operator.getitem:
            continue
        out[node.name] = [
            [list(t.shape), str(t.dtype).replace("torch.", "")]
            for t in _flat(node.meta.get("val"))
            if isinstance(t, torch.Tensor)
        ]
    return out


def _batch_dims(outputs, model, example_inputs, **kwargs) -> dict[str, list]:
    """Per node and output, the dimension that grows with the batch (the
    first dimension of the inputs), found by tracing again with one more
    sample; ``None`` where no single dimension does (or the traces differ)."""
    import torch

    bigger = [
        torch.empty(
            (x.shape[0] + 1, *x.shape[1:]), dtype=x.dtype, device=x.device
        )
        if isinstance(x, torch.Tensor) and x.dim()
        else x
        for x in example_inputs
    ]
    gm, _, _ = trace(model, bigger, **kwargs)
    other = _output_shapes(gm)
    dims: dict[str, list] = {}
    for name, tensors in outputs.items():
        twin = other.get(name)
        found: list = []
        for k, (shape, _) in enumerate(tensors):
            if twin is None or k >= len(twin) or len(twin[k][0]) != len(shape):
                found.append(None)
                continue
            grew = [
                i
                for i, (a, b) in enumerate(zip(shape, twin[k][0], strict=True))
                if a != b
            ]
            found.append(grew[0] if len(grew) == 1 else None)
        dims[name] = found
    return dims
