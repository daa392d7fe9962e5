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
:data:`GPT_CONFIGS`; the 1.3B one uses 16 heads of 128 (the paper's table
lists 24 heads of 128 for a 2048-wide model, which does not multiply out).
"""

from __future__ import annotations

import math
from typing import Any

from ._util import require

torch = require("torch", "torch")
nn = torch.nn
F = torch.nn.functional

__all__ = ["GPT_CONFIGS", "MegatronGPT", "gpt_graph", "gpt_model"]

#: name -> (layers, hidden, heads); vocabulary 51,200 and sequence 2,048
GPT_CONFIGS: dict[str, tuple[int, int, int]] = {
    "gpt-125m": (12, 768, 12),
    "gpt-350m": (24, 1024, 16),
    "gpt-1.3b": (24, 2048, 16),
    "gpt-2.7b": (32, 2560, 32),
    "gpt-6.7b": (32, 4096, 32),
    "gpt-13b": (40, 5120, 40),
}


def _dropout(x, p: float, training: bool):
    """Dropout as the fused GPU kernel runs it: a one-byte mask is saved."""
    if not training or p == 0:
        return x
    return torch.ops.aten.native_dropout(x, p, True)[0]


class _Marker(nn.Module):
    """A tensor-parallel collective's place: an identity that traces as a view."""

    def forward(self, x):
        return x.view(x.shape)


class _Core(nn.Module):
    def __init__(self, heads: int, head_dim: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.head_dim, self.p = heads, head_dim, dropout

    def forward(self, qkv, mask):
        b, s, _ = qkv.shape
        h, d = self.heads, self.head_dim
        q, k, v = qkv.view(b, s, h, 3, d).unbind(3)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # b, h, s, d
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(d))
        scores = scores.masked_fill(mask, float("-inf"))
        probs = _dropout(scores.softmax(-1), self.p, self.training)
        out = torch.matmul(probs, v)  # b, h, s, d
        return out.transpose(1, 2).reshape(b, s, h * d)


class _Attention(nn.Module):
    def __init__(self, hidden: int, heads: int, tp: int, dropout: float):
        super().__init__()
        d = hidden // heads
        local = heads // tp
        self.tp_enter = _Marker()
        self.qkv = nn.Linear(hidden, 3 * local * d)
        self.core = _Core(local, d, dropout)
        self.proj = nn.Linear(local * d, hidden)
        self.tp_exit = _Marker()

    def forward(self, x, mask):
        qkv = self.qkv(self.tp_enter(x))
        return self.tp_exit(self.proj(self.core(qkv, mask)))


class _MLP(nn.Module):
    def __init__(self, hidden: int, ffn: int, tp: int) -> None:
        super().__init__()
        self.tp_enter = _Marker()
        self.fc1 = nn.Linear(hidden, ffn // tp)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(ffn // tp, hidden)
        self.tp_exit = _Marker()

    def forward(self, x):
        return self.tp_exit(self.fc2(self.act(self.fc1(self.tp_enter(x)))))


class _Layer(nn.Module):
    def __init__(self, hidden, heads, ffn, tp, dropout) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(hidden)
        self.attn = _Attention(hidden, heads, tp, dropout)
        self.ln2 = nn.LayerNorm(hidden)
        self.mlp = _MLP(hidden, ffn, tp)
        self.p = dropout

    def forward(self, x, mask):
        x = x + _dropout(self.attn(self.ln1(x), mask), self.p, self.training)
        return x + _dropout(self.mlp(self.ln2(x)), self.p, self.training)


class _Embed(nn.Module):
    def __init__(self, vocab, hidden, seq, tp, dropout) -> None:
        super().__init__()
        self.word = nn.Embedding(vocab // tp, hidden)
        self.position = nn.Embedding(seq, hidden)
        self.tp_exit = _Marker()  # vocabulary-parallel lookup: all-reduce
        self.p = dropout

    def forward(self, ids):
        s = ids.shape[1]
        x = self.tp_exit(self.word(ids))
        x = x + self.position(torch.arange(s, device=ids.device))
        return _dropout(x, self.p, self.training)


class _Head(nn.Module):
    def __init__(self, vocab, hidden, tp) -> None:
        super().__init__()
        self.ln = nn.LayerNorm(hidden)
        self.tp_enter = _Marker()
        self.logits = nn.Linear(hidden, vocab // tp, bias=False)

    def forward(self, x, targets):
        logits = self.logits(self.tp_enter(self.ln(x)))
        return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())


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
        ffn: int | None = None,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        ffn = ffn or 4 * hidden
        for what, value in (("heads", heads), ("ffn", ffn), ("vocab", vocab)):
            if value % tp:
                raise ValueError(
                    f"Tensor-parallel degree {tp} does not divide {what} "
                    f"({value})."
                )
        if hidden % heads:
            raise ValueError(f"{heads} heads do not divide hidden {hidden}.")
        self.embed = _Embed(vocab, hidden, seq, tp, dropout)
        self.layers = nn.ModuleList(
            [_Layer(hidden, heads, ffn, tp, dropout) for _ in range(layers)]
        )
        self.head = _Head(vocab, hidden, tp)
        # the output layer shares the word embedding (Megatron's default)
        self.head.logits.weight = self.embed.word.weight
        self.vocab_local = vocab // tp
        # the causal mask (true above the diagonal), shared by every layer;
        # Megatron's fused softmax needs none: a model buffer, not data
        self.register_buffer(
            "future",
            torch.ones(seq, seq, dtype=torch.bool).triu(1),
            persistent=False,
        )

    def forward(self, ids, targets):
        s = ids.shape[1]
        mask = self.future[:s, :s]
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x, mask)
        return self.head(x, targets)


def gpt_model(
    name_or_shape: str | tuple[int, int, int],
    *,
    tp: int = 1,
    seq: int = 2048,
    vocab: int = 51200,
    dtype: Any = None,
    dropout: float = 0.1,
    layers: int | None = None,
) -> MegatronGPT:
    """A :class:`MegatronGPT` on the meta device (no memory used).

    ``name_or_shape`` is a :data:`GPT_CONFIGS` name or ``(layers, hidden,
    heads)``; ``layers`` overrides the depth (trace a few layers of a big
    model); ``dtype`` defaults to bfloat16.
    """
    if isinstance(name_or_shape, str):
        if name_or_shape not in GPT_CONFIGS:
            raise ValueError(
                f"Unknown GPT configuration {name_or_shape!r}; choose one of "
                f"{', '.join(GPT_CONFIGS)}."
            )
        shape = GPT_CONFIGS[name_or_shape]
    else:
        shape = tuple(name_or_shape)
    depth, hidden, heads = shape
    with torch.device("meta"):
        model = MegatronGPT(
            layers if layers is not None else depth,
            hidden,
            heads,
            vocab=vocab,
            seq=seq,
            tp=tp,
            dropout=dropout,
        )
    return model.to(dtype or torch.bfloat16)


def gpt_graph(
    name_or_shape: str | tuple[int, int, int],
    *,
    batch: int = 1,
    tp: int = 1,
    seq: int = 2048,
    vocab: int = 51200,
    layers: int | None = None,
    dtype: Any = None,
    dropout: float = 0.1,
    optimizer: str | None = None,
) -> Any:
    """The training step of one tensor-parallel rank, traced with fake tensors.

    The graph's ``meta`` records the configuration (``tensor_parallel``,
    ``gpt``) for the simulator; ``batch`` is the micro-batch.
    """
    from .torch_fx import from_torch

    model = gpt_model(
        name_or_shape,
        tp=tp,
        seq=seq,
        vocab=vocab,
        dtype=dtype,
        dropout=dropout,
        layers=layers,
    )
    ids = torch.zeros(batch, seq, dtype=torch.long, device="meta")
    targets = torch.zeros(batch, seq, dtype=torch.long, device="meta")
    label = name_or_shape if isinstance(name_or_shape, str) else "gpt"
    g = from_torch(
        model,
        (ids, targets),
        optimizer=optimizer,
        loss=lambda out: out,
        name=f"{label}-b{batch}-tp{tp}",
    )
    cfg = GPT_CONFIGS.get(label) if isinstance(label, str) else None
    depth, hidden, heads = cfg or name_or_shape
    meta = dict(
        g.meta,
        tensor_parallel=tp,
        gpt={
            "layers": layers if layers is not None else depth,
            "hidden": hidden,
            "heads": heads,
            "seq": seq,
            "vocab": vocab,
            "batch": batch,
        },
    )
    return g.replace(meta=meta)
