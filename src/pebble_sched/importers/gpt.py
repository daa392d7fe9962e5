"""GPT-style decoders as Megatron-LM lays them out, for tracing at real sizes.

:class:`MegatronGPT` is the model one tensor-parallel rank holds (Shoeybi
et al. 2019; Narayanan et al., SC'21): with tensor-parallel degree ``t``
each rank has ``heads / t`` attention heads, a ``4 h / t`` slice of the MLP
and a ``V / t`` slice of the vocabulary; the column-parallel linears (QKV,
the MLP's first) take the full activation, the row-parallel ones (the
attention projection, the MLP's second) produce partial sums that an
all-reduce completes. Markers name those collectives for the simulator: a
``tp_exit`` module (identity forward, all-reduce of its output across the
tensor-parallel group) after each row-parallel linear and a ``tp_enter``
module (identity forward, all-reduce of the gradient in the backward pass)
before each column-parallel block; both trace as views, so they allocate
nothing. Layers are pre-LayerNorm with dropout after the attention
probabilities and after each residual branch, and the attention is the
plain (not fused) one, as in the activation-memory analysis of Korthikanti
et al. (MLSys'23), so the traced buffers are the ones that analysis counts.

The layer units are ``embed``, ``layers.0`` ... ``layers.{L-1}``, ``head``;
the attention's core (scores, softmax, dropout, weighted sum) is its own
module ``layers.i.attn.core``, the unit Megatron's *selective*
recomputation recomputes.

Models are built on the ``meta`` device (no memory; a 6.7B-parameter model
builds in a second) and traced with fake tensors: :func:`gpt_graph`.
Configurations from the GPT-3 paper (Brown et al. 2020, Table 2.1) are in
:data:`GPT_CONFIGS`, Llama-style ones (RMSNorm, rotary positions, SwiGLU, no
biases or dropout) in :data:`LLAMA_CONFIGS`; the 1.3B one uses 16 heads of 128 (the paper's table
lists 24 heads of 128 for a 2048-wide model, which does not multiply out).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from ._util import require

torch = require("torch", "torch")
nn = torch.nn
F = torch.nn.functional
from torch.utils.flop_counter import (  # noqa: E402
    register_flop_formula as _register_flop_formula,
)

__all__ = [
    "GPT_CONFIGS",
    "LLAMA_CONFIGS",
    "MegatronGPT",
    "gpt_graph",
    "gpt_model",
]

#: name -> (layers, hidden, heads); vocabulary 51,200 and sequence 2,048
GPT_CONFIGS: dict[str, tuple[int, int, int]] = {
    "gpt-125m": (12, 768, 12),
    "gpt-350m": (24, 1024, 16),
    "gpt-1.3b": (24, 2048, 16),
    "gpt-2.7b": (32, 2560, 32),
    "gpt-6.7b": (32, 4096, 32),
    "gpt-13b": (40, 5120, 40),
}

#: name -> (layers, hidden, heads, ffn, vocabulary): Llama-style blocks
#: (Touvron et al. 2023): RMSNorm, rotary positions, SwiGLU MLP, no biases,
#: no dropout, an output layer of its own
LLAMA_CONFIGS: dict[str, tuple[int, int, int, int, int]] = {
    "llama-7b": (32, 4096, 32, 11008, 32000),
    "llama-13b": (40, 5120, 40, 13824, 32000),
}


# -- sequence parallelism: collectives as custom operators ----------------
# Opaque to tracing, so they appear by name in the graph and the simulator
# times them; their fake kernels give the shapes.


@torch.library.custom_op("pebble::all_gather", mutates_args=())
def _all_gather(x: torch.Tensor, world: int) -> torch.Tensor:
    return torch.cat([x] * world, dim=1)


@_all_gather.register_fake
def _(x, world):
    shape = list(x.shape)
    shape[1] *= world
    return x.new_empty(shape)


@torch.library.custom_op("pebble::reduce_scatter", mutates_args=())
def _reduce_scatter(x: torch.Tensor, world: int) -> torch.Tensor:
    b, s = x.shape[:2]
    return x.view(b, world, s // world, *x.shape[2:]).sum(1)


@_reduce_scatter.register_fake
def _(x, world):
    shape = list(x.shape)
    shape[1] //= world
    return x.new_empty(shape)


def _world(ctx, inputs, output):
    ctx.world = inputs[1]


_all_gather.register_autograd(
    lambda ctx, g: (_reduce_scatter(g, ctx.world), None), setup_context=_world
)
_reduce_scatter.register_autograd(
    lambda ctx, g: (_all_gather(g, ctx.world), None), setup_context=_world
)


@torch.library.custom_op("pebble::gather_linear", mutates_args=())
def _gather_linear(
    x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None, world: int
) -> torch.Tensor:
    return F.linear(torch.cat([x] * world, dim=1), w, b)


@_gather_linear.register_fake
def _(x, w, b, world):
    return x.new_empty(x.shape[0], x.shape[1] * world, w.shape[0])


def _gather_linear_setup(ctx, inputs, output):
    x, w, b, world = inputs
    ctx.save_for_backward(x, w)  # the sequence shard, not the gathered input
    ctx.world, ctx.bias = world, b is not None


def _gather_linear_backward(ctx, g):
    x, w = ctx.saved_tensors
    full = _all_gather(x, ctx.world)  # gathered again, as Megatron does
    gw = g.flatten(0, -2).t() @ full.flatten(0, -2)
    gb = g.sum(tuple(range(g.dim() - 1))) if ctx.bias else None
    gx = _reduce_scatter(g @ w, ctx.world)
    return gx, gw, gb, None


_gather_linear.register_autograd(
    _gather_linear_backward, setup_context=_gather_linear_setup
)


@_register_flop_formula(torch.ops.pebble.gather_linear)
def _gather_linear_flops(x_shape, w_shape, b_shape, world, out_shape=None):
    tokens = math.prod(x_shape[:-1]) * world
    return 2 * tokens * w_shape[0] * w_shape[1]


# -- per-layer tensor parallelism: the batch reshard between layouts -----
# A layer of tensor-parallel degree t on a stage of D devices runs data
# parallel over D / t replicas, each on t / T of the reference micro-batch.
# Between layers of degrees t1 < t2 each device all-gathers the batch
# slices of the t2 / t1 devices that form its new group (forward); the
# other way it keeps its slice (and the backward gathers the gradient).


@torch.library.custom_op("pebble::reshard", mutates_args=())
def _reshard(x: torch.Tensor, batch: int) -> torch.Tensor:
    b = x.shape[0]
    if batch >= b:
        return torch.cat([x] * (batch // b), dim=0)
    return x[:batch].clone()


@_reshard.register_fake
def _(x, batch):
    return x.new_empty((batch, *x.shape[1:]))


def _reshard_setup(ctx, inputs, output):
    ctx.batch = inputs[0].shape[0]


_reshard.register_autograd(
    lambda ctx, g: (_reshard(g, ctx.batch), None), setup_context=_reshard_setup
)


class _Reshard(nn.Module):
    """Identity when the degrees agree; else the batch reshard."""

    def __init__(self, before: int, after: int) -> None:
        super().__init__()
        self.before, self.after = before, after

    def forward(self, x):
        if self.before == self.after:
            return x
        return _reshard(x, x.shape[0] * self.after // self.before)


def _dropout(x, p: float, training: bool):
    """Dropout as the fused GPU kernel runs it: a one-byte mask is saved."""
    if not training or p == 0:
        return x
    return torch.ops.aten.native_dropout(x, p, True)[0]


class _Marker(nn.Module):
    """A tensor-parallel collective's place: an identity that traces as a view."""

    def forward(self, x):
        return x.view(x.shape)


class _Gather(nn.Linear):
    """Sequence parallelism's column-parallel linear: all-gather the sequence
    shards, multiply; only the shard is kept for the backward pass."""

    def __init__(self, din: int, dout: int, world: int, bias: bool = True):
        super().__init__(din, dout, bias=bias)
        self.world = world

    def forward(self, x):
        return _gather_linear(x, self.weight, self.bias, self.world)


class _Scatter(nn.Module):
    """Sequence parallelism's exit: reduce-scatter along the sequence."""

    def __init__(self, world: int) -> None:
        super().__init__()
        self.world = world

    def forward(self, x):
        return _reduce_scatter(x, self.world)


class _Core(nn.Module):
    def __init__(self, heads: int, head_dim: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.head_dim, self.p = heads, head_dim, dropout

    def forward(self, qkv, mask, rope=None):
        b, s, _ = qkv.shape
        h, d = self.heads, self.head_dim
        q, k, v = qkv.view(b, s, h, 3, d).unbind(3)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # b, h, s, d
        if rope is not None:  # rotary position embedding (Su et al.)
            cos, sin = rope
            half = d // 2
            q, k = (
                z * cos + torch.cat([-z[..., half:], z[..., :half]], -1) * sin
                for z in (q, k)
            )
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
        scores = scores.masked_fill(mask, float("-inf"))
        probs = _dropout(scores.softmax(-1), self.p, self.training)
        out = torch.matmul(probs, v)  # b, h, s, d
        return out.transpose(1, 2).reshape(b, s, h * d)


class _Attention(nn.Module):
    def __init__(self, hidden, heads, tp, dropout, sp=False, bias=True):
        super().__init__()
        d = hidden // heads
        local = heads // tp
        self.tp_enter = nn.Identity() if sp else _Marker()
        self.qkv = (
            _Gather(hidden, 3 * local * d, tp, bias=bias)
            if sp
            else nn.Linear(hidden, 3 * local * d, bias=bias)
        )
        self.core = _Core(local, d, dropout)
        self.proj = nn.Linear(local * d, hidden, bias=bias)
        self.tp_exit = _Scatter(tp) if sp else _Marker()

    def forward(self, x, mask, rope=None):
        qkv = self.qkv(self.tp_enter(x))
        return self.tp_exit(self.proj(self.core(qkv, mask, rope)))


class _SwiGLU(nn.Module):
    def forward(self, x):
        gate, up = x.chunk(2, dim=-1)
        return F.silu(gate) * up


class _MLP(nn.Module):
    def __init__(self, hidden, ffn, tp, sp=False, llama=False) -> None:
        super().__init__()
        width = (2 if llama else 1) * ffn // tp  # SwiGLU: gate and up fused
        self.tp_enter = nn.Identity() if sp else _Marker()
        self.fc1 = (
            _Gather(hidden, width, tp, bias=not llama)
            if sp
            else nn.Linear(hidden, width, bias=not llama)
        )
        self.act = _SwiGLU() if llama else nn.GELU()
        self.fc2 = nn.Linear(ffn // tp, hidden, bias=not llama)
        self.tp_exit = _Scatter(tp) if sp else _Marker()

    def forward(self, x):
        return self.tp_exit(self.fc2(self.act(self.fc1(self.tp_enter(x)))))


class _Layer(nn.Module):
    def __init__(self, hidden, heads, ffn, tp, dropout, sp=False, llama=False):
        super().__init__()
        norm = nn.RMSNorm if llama else nn.LayerNorm
        self.ln1 = norm(hidden)
        self.attn = _Attention(hidden, heads, tp, dropout, sp, bias=not llama)
        self.ln2 = norm(hidden)
        self.mlp = _MLP(hidden, ffn, tp, sp, llama)
        self.p = dropout

    def forward(self, x, mask, rope=None):
        y = self.attn(self.ln1(x), mask, rope)
        x = x + _dropout(y, self.p, self.training)
        return x + _dropout(self.mlp(self.ln2(x)), self.p, self.training)


class _Embed(nn.Module):
    def __init__(self, vocab, hidden, seq, tp, dropout, sp=False, llama=False):
        super().__init__()
        self.word = nn.Embedding(vocab // tp, hidden)
        self.position = None if llama else nn.Embedding(seq, hidden)
        # vocabulary-parallel lookup: all-reduce (reduce-scatter with SP)
        self.tp_exit = _Scatter(tp) if sp else _Marker()
        self.p = dropout
        self.shard = tp if sp else 1

    def forward(self, ids):
        s = ids.shape[1]
        x = self.tp_exit(self.word(ids))
        if self.position is not None:
            pos = torch.arange(s // self.shard, device=ids.device)
            x = x + self.position(pos)
        return _dropout(x, self.p, self.training)


class _Head(nn.Module):
    def __init__(self, vocab, hidden, tp, sp=False, llama=False) -> None:
        super().__init__()
        self.ln = nn.RMSNorm(hidden) if llama else nn.LayerNorm(hidden)
        self.tp_enter = nn.Identity() if sp else _Marker()
        self.logits = (
            _Gather(hidden, vocab // tp, tp, bias=False)
            if sp
            else nn.Linear(hidden, vocab // tp, bias=False)
        )

    def forward(self, x, targets):
        logits = self.logits(self.tp_enter(self.ln(x)))
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())


class _PaddingMask(nn.Module):
    """The attention mask built once from the data and passed to every
    layer, as Hugging Face models do with a padding mask: true where a query
    must not see a key (a future position, or a padded one)."""

    def forward(self, future, keep):
        return future | ~keep[:, None, None, :]


class MegatronGPT(nn.Module):
    """One tensor-parallel rank of a GPT-style decoder (see the module docstring)."""

    def __init__(
        self,
        layers: int,
        hidden: int,
        heads: int,
        *,
        vocab: int = 51200,
        seq: int = 2048,
        tp: int = 1,
        sp: bool = False,
        ffn: int | None = None,
        dropout: float = 0.1,
        llama: bool = False,
        layer_tp: list[int] | None = None,
        padding_mask: bool = False,
    ) -> None:
        super().__init__()
        ffn = ffn or 4 * hidden
        degrees = list(layer_tp) if layer_tp is not None else [tp] * layers
        if len(degrees) != layers:
            raise ValueError(
                f"layer_tp gives {len(degrees)} degrees for {layers} layers."
            )
        if sp and degrees != [tp] * layers:
            raise ValueError(
                "Sequence parallelism with per-layer tensor-parallel degrees "
                "is not modelled."
            )
        if sp and seq % tp:
            raise ValueError(
                f"Sequence parallelism: degree {tp} does not divide the "
                f"sequence ({seq})."
            )
        for t in {tp, *degrees}:
            for what, value in (
                ("heads", heads),
                ("ffn", ffn),
                ("vocab", vocab),
            ):
                if t < 1 or value % t:
                    raise ValueError(
                        f"Tensor-parallel degree {t} does not divide {what} "
                        f"({value})."
                    )
        if hidden % heads:
            raise ValueError(f"{heads} heads do not divide hidden {hidden}.")
        if padding_mask and degrees != [tp] * layers:
            raise ValueError(
                "A padding mask with per-layer tensor-parallel degrees is not "
                "modelled (the layers' batches differ)."
            )
        self.mask = _PaddingMask() if padding_mask else None
        self.embed = _Embed(vocab, hidden, seq, tp, dropout, sp, llama)
        self.layers = nn.ModuleList(
            [
                _Layer(hidden, heads, ffn, t, dropout, sp, llama)
                for t in degrees
            ]
        )
        # batch reshards before each layer and before the head, where the
        # degree changes (identity modules elsewhere: nothing traced)
        edges = [tp, *degrees, tp]
        self.reshard = nn.ModuleList(
            [_Reshard(a, b) for a, b in itertools.pairwise(edges)]
        )
        self.degrees = degrees
        self.head = _Head(vocab, hidden, tp, sp, llama)
        self.sp, self.llama = sp, llama
        if not llama:
            # the output layer shares the word embedding (Megatron's default)
            self.head.logits.weight = self.embed.word.weight
        else:
            # rotary embedding tables: model buffers, not data
            d = hidden // heads
            inv = 1.0 / 10000 ** (torch.arange(0, d, 2).float() / d)
            angles = torch.outer(torch.arange(seq).float(), inv)
            angles = torch.cat([angles, angles], -1)
            self.register_buffer("cos", angles.cos(), persistent=False)
            self.register_buffer("sin", angles.sin(), persistent=False)
        self.vocab_local = vocab // tp
        # the causal mask (true above the diagonal), shared by every layer;
        # Megatron's fused softmax needs none: a model buffer, not data
        self.register_buffer(
            "future",
            torch.ones(seq, seq, dtype=torch.bool).triu(1),
            persistent=False,
        )

    def forward(self, ids, targets, keep=None):
        s = ids.shape[1]
        mask = self.future[:s, :s]
        if self.mask is not None:
            mask = self.mask(mask, keep)
        x = self.embed(ids)
        rope = (self.cos[:s], self.sin[:s]) if self.llama else None
        for reshard, layer in zip(self.reshard, self.layers, strict=False):
            x = layer(reshard(x), mask, rope)
        return self.head(self.reshard[-1](x), targets)


def _depth(name_or_shape) -> int:
    if isinstance(name_or_shape, str):
        cfg = GPT_CONFIGS.get(name_or_shape) or LLAMA_CONFIGS.get(
            name_or_shape
        )
        if cfg is None:
            raise ValueError(
                f"Unknown GPT configuration {name_or_shape!r}; choose one of "
                f"{', '.join([*GPT_CONFIGS, *LLAMA_CONFIGS])}."
            )
        return cfg[0]
    return int(next(iter(name_or_shape)))


def gpt_model(
    name_or_shape: str | tuple[int, int, int],
    *,
    tp: int = 1,
    seq: int = 2048,
    vocab: int | None = None,
    dtype: Any = None,
    dropout: float = 0.1,
    layers: int | None = None,
    sp: bool = False,
    layer_tp: list[int] | None = None,
    padding_mask: bool = False,
) -> MegatronGPT:
    """A :class:`MegatronGPT` on the meta device (no memory used).

    ``name_or_shape`` is a :data:`GPT_CONFIGS` or :data:`LLAMA_CONFIGS`
    name or ``(layers, hidden, heads)``; ``layers`` overrides the depth
    (trace a few layers of a big model); ``vocab`` defaults to 51,200 (the
    Llama configurations' own); ``dtype`` defaults to bfloat16.
    ``padding_mask``: the model takes a third input, which positions of
    each sequence are real (``keep``, booleans), and builds the attention
    mask from it once, read by every layer (a ``mask`` unit).
    """
    llama, ffn = False, None
    if isinstance(name_or_shape, str):
        if name_or_shape in LLAMA_CONFIGS:
            depth, hidden, heads, ffn, own = LLAMA_CONFIGS[name_or_shape]
            llama, vocab, dropout = True, vocab or own, 0.0
        elif name_or_shape in GPT_CONFIGS:
            depth, hidden, heads = GPT_CONFIGS[name_or_shape]
        else:
            raise ValueError(
                f"Unknown GPT configuration {name_or_shape!r}; choose one of "
                f"{', '.join([*GPT_CONFIGS, *LLAMA_CONFIGS])}."
            )
    else:
        depth, hidden, heads = tuple(name_or_shape)
    with torch.device("meta"):
        model = MegatronGPT(
            layers if layers is not None else depth,
            hidden,
            heads,
            vocab=vocab or 51200,
            seq=seq,
            tp=tp,
            sp=sp,
            ffn=ffn,
            dropout=dropout,
            llama=llama,
            layer_tp=layer_tp,
            padding_mask=padding_mask,
        )
    return model.to(dtype or torch.bfloat16)


def gpt_graph(
    name_or_shape: str | tuple[int, int, int],
    *,
    batch: int = 1,
    tp: int = 1,
    seq: int = 2048,
    vocab: int | None = None,
    layers: int | None = None,
    dtype: Any = None,
    dropout: float = 0.1,
    optimizer: str | None = None,
    sp: bool = False,
    layer_tp: dict[str, int] | None = None,
    padding_mask: bool = False,
) -> Any:
    """The training step of one tensor-parallel rank, traced with fake tensors.

    The graph's ``meta`` records the configuration (``tensor_parallel``,
    ``gpt``) for the simulator; ``batch`` is the micro-batch of the
    embedding and the head (degree ``tp``). ``layer_tp`` maps ``fnmatch``
    patterns over the layer units (``layers.0``, ...) to their own degrees
    (first match wins), as a strategy's ``layer_tp`` does: a layer of
    degree t holds a 1/t shard and ``batch * t / tp`` samples, and batch
    reshards join layers of different degrees
    (``meta["tensor_parallel_by_unit"]``, ``meta["reshard_groups"]``).
    ``padding_mask``: see :func:`gpt_model`.
    """
    from fnmatch import fnmatchcase

    from .torch_fx import from_torch

    depth0 = _depth(name_or_shape) if layers is None else layers
    degrees = None
    if layer_tp:
        degrees = []
        for i in range(depth0):
            unit = f"layers.{i}"
            t = next(
                (d for p, d in layer_tp.items() if fnmatchcase(unit, p)), tp
            )
            if (batch * t) % tp:
                raise ValueError(
                    f"Layer {unit}: degree {t} needs a micro-batch of "
                    f"{batch} x {t} / {tp} samples, not a whole number."
                )
            degrees.append(t)
    model = gpt_model(
        name_or_shape,
        tp=tp,
        seq=seq,
        vocab=vocab,
        dtype=dtype,
        dropout=dropout,
        layers=layers,
        sp=sp,
        layer_tp=degrees,
        padding_mask=padding_mask,
    )
    # the reshard operator is custom: traced by the autograd engine
    mixed = bool(degrees) and set(degrees) != {tp}
    ids = torch.zeros(batch, seq, dtype=torch.long, device="meta")
    targets = torch.zeros(batch, seq, dtype=torch.long, device="meta")
    inputs = (ids, targets)
    if padding_mask:
        keep = torch.ones(batch, seq, dtype=torch.bool, device="meta")
        inputs = (ids, targets, keep)
    label = name_or_shape if isinstance(name_or_shape, str) else "gpt"
    g = from_torch(
        model,
        inputs,
        optimizer=optimizer,
        loss=lambda out: out,
        name=f"{label}-b{batch}-tp{tp}"
        + ("-sp" if sp else "")
        + ("-mask" if padding_mask else "")
        + ("-layer-tp" if mixed else ""),
        engine="autograd" if sp or mixed else "functorch",
    )
    cfg = GPT_CONFIGS.get(label) or LLAMA_CONFIGS.get(label)
    depth, hidden, heads = (cfg or name_or_shape)[:3]
    by_unit = {"embed": tp, "head": tp}
    groups = {}
    for i, t in enumerate(model.degrees):
        by_unit[f"layers.{i}"] = t
    edges = [tp, *model.degrees, tp]
    for i, (a, b) in enumerate(itertools.pairwise(edges)):
        if a != b:
            groups[f"reshard.{i}"] = max(a, b)
    meta = dict(
        g.meta,
        tensor_parallel=tp,
        tensor_parallel_by_unit=by_unit,
        reshard_groups=groups,
        sequence_parallel=sp,
        gpt={
            "layers": layers if layers is not None else depth,
            "hidden": hidden,
            "heads": heads,
            "seq": seq,
            "vocab": model.vocab_local * tp,
            "batch": batch,
            "llama": model.llama,
        },
    )
    return g.replace(meta=meta)
