"""Tensor parallelism for any PyTorch model: output-channel shards.

:func:`shard_channels` replaces the ``nn.Conv1d/2d/3d`` and ``nn.Linear``
modules whose paths match ``fnmatch`` patterns by the module one rank of a
tensor-parallel group of degree t holds (FlexFlow's parameter-dimension
split; Megatron's column parallelism followed by a gather):

- a ``tp_in`` module before the shard (an identity traced as a view):
  in the backward pass each rank holds a partial gradient of the module's
  input (from its channels only), all-reduced across the group by the
  ``pebble.grad_all_reduce`` operator it inserts there (traced as a copy:
  NCCL reduces in place, so that copy's buffer is a small overcount);
- the shard itself: ``out / t`` output channels (or features), so 1/t of
  the weights, of the FLOPs and of the output;
- ``pebble.gather_channels`` after it: the ranks all-gather the channel
  slices (forward), so every later operator sees the full tensor and runs
  replicated on every rank (the "others replicate" rule); in the backward
  pass every rank holds the same full gradient and keeps its slice (a view,
  no transfer).

Grouped convolutions (depthwise ones included) and modules whose output
count t does not divide are left whole. The sharded model is traced like
any other (:func:`pebble_sched.importers.torch_fx.from_torch`); simulate it
with a strategy of the same ``tp``. Activation memory: the shard's output
is 1/t, the gathered tensor is whole; weights and their optimizer state
are 1/t for sharded modules and whole for the rest.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

from ._util import require

torch = require("torch", "torch")
nn = torch.nn

__all__ = ["shard_channels"]


@torch.library.custom_op("pebble::gather_channels", mutates_args=())
def _gather_channels(x: torch.Tensor, world: int) -> torch.Tensor:
    return torch.cat([x] * world, dim=1)


@_gather_channels.register_fake
def _(x, world):
    shape = list(x.shape)
    shape[1] *= world
    return x.new_empty(shape)


def _gather_setup(ctx, inputs, output):
    ctx.world = inputs[1]


def _gather_backward(ctx, g):
    # every rank holds the same gradient: keep this rank's slice (a view)
    return g.narrow(1, 0, g.shape[1] // ctx.world), None


_gather_channels.register_autograd(
    _gather_backward, setup_context=_gather_setup
)


@torch.library.custom_op("pebble::grad_all_reduce", mutates_args=())
def _grad_all_reduce(g: torch.Tensor) -> torch.Tensor:
    return g.clone()


@_grad_all_reduce.register_fake
def _(g):
    return torch.empty_like(g)


class _EnterFn(torch.autograd.Function):
    """Identity forward (a view); the gradient all-reduced backward."""

    @staticmethod
    def forward(ctx, x):
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return _grad_all_reduce(g)


class _Enter(nn.Module):
    """Where the input gradient is all-reduced across the group."""

    def forward(self, x):
        return _EnterFn.apply(x)


class _ColumnShard(nn.Module):
    """One rank's output-channel shard of a convolution or linear layer."""

    def __init__(self, inner: nn.Module, world: int) -> None:
        super().__init__()
        self.world = world
        self.tp_in = _Enter()
        self.shard = _narrow(inner, world)

    def forward(self, x):
        y = self.shard(self.tp_in(x))
        if y.dim() == 2 or isinstance(self.shard, nn.Linear):
            # features last: move them to dim 1 for the gather and back
            y = y.movedim(-1, 1)
            return _gather_channels(y, self.world).movedim(1, -1)
        return _gather_channels(y, self.world)


def _narrow(m: nn.Module, t: int) -> nn.Module:
    kw = {"device": m.weight.device, "dtype": m.weight.dtype}
    bias = m.bias is not None
    if isinstance(m, nn.Linear):
        return nn.Linear(m.in_features, m.out_features // t, bias=bias, **kw)
    cls = type(m)
    return cls(
        m.in_channels,
        m.out_channels // t,
        m.kernel_size,
        stride=m.stride,
        padding=m.padding,
        dilation=m.dilation,
        groups=m.groups,
        bias=bias,
        padding_mode=m.padding_mode,
        **kw,
    )


def _shardable(m: nn.Module, t: int) -> bool:
    if type(m) is nn.Linear:
        return m.out_features % t == 0 and m.out_features >= t
    if type(m) in (nn.Conv1d, nn.Conv2d, nn.Conv3d):
        return m.groups == 1 and m.out_channels % t == 0
    return False


def shard_channels(
    model: Any, world: int, patterns: tuple[str, ...] | list[str] = ("*",)
) -> tuple[Any, list[str]]:
    """Replace matching convolutions and linears by rank shards, in place.

    Returns the model and the paths of the sharded modules. ``world`` 1
    changes nothing.

    Raises
    ------
    ValueError
        A degree below 1.
    """
    if world < 1:
        raise ValueError(f"Tensor-parallel degree {world} is below 1.")
    if world == 1:
        return model, []
    done: list[str] = []
    for path, module in list(model.named_modules()):
        if not path or not _shardable(module, world):
            continue
        if not any(fnmatchcase(path, p) for p in patterns):
            continue
        parent_path, _, name = path.rpartition(".")
        parent = model.get_submodule(parent_path) if parent_path else model
        setattr(parent, name, _ColumnShard(module, world))
        done.append(path)
    return model, done
