"""A model zoo defined in code (random weights, no downloads, no torchvision).

Each factory returns ``(model, example_inputs)`` at a small default scale so
that traced graphs stay a few hundred to a few thousand ATen ops:

- ``small_cnn``, ``resnet18`` / ``resnet50`` (basic / bottleneck residual
  blocks), ``mobilenet_v2`` (inverted residuals, depthwise convolutions),
  ``inception`` (four-branch blocks), ``unet`` (encoder-decoder with skips);
- ``gpt2`` (pre-norm causal decoder stack), ``bert`` (post-norm encoder);
- irregular NAS networks, where the order matters most: ``randwire``
  (RandWire, Xie et al. 2019: a Watts-Strogatz WS(32, 4, 0.75) random graph
  per stage, oriented by node index; each node sums its inputs, then
  ReLU-conv-BN) and ``darts`` (DARTS-like cells, Liu et al. 2019: four
  intermediate nodes per cell, each the sum of two operations on earlier
  nodes, chosen by a seeded genotype; the cell output concatenates them).

Needs the ``torch`` extra.
"""

from __future__ import annotations

import math
from typing import Any

from ._util import require

torch = require("torch", "torch")
nn = torch.nn
F = torch.nn.functional

__all__ = ["MODELS", "build"]


def _conv_bn(
    cin: int,
    cout: int,
    k: int = 3,
    stride: int = 1,
    groups: int = 1,
    act: bool = True,
) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SmallCNN(nn.Module):
    def __init__(self, width: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _conv_bn(3, width),
            _conv_bn(width, width),
            nn.MaxPool2d(2),
            _conv_bn(width, 2 * width),
            _conv_bn(2 * width, 2 * width),
            nn.MaxPool2d(2),
        )
        self.head = nn.Linear(2 * width, classes)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))


class _Basic(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.a = _conv_bn(cin, cout, 3, stride)
        self.b = _conv_bn(cout, cout, 3, 1, act=False)
        self.skip = (
            nn.Identity()
            if stride == 1 and cin == cout
            else _conv_bn(cin, cout, 1, stride, act=False)
        )

    def forward(self, x):
        return F.relu(self.b(self.a(x)) + self.skip(x))


class _Bottleneck(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        mid = cout // 4
        self.a = _conv_bn(cin, mid, 1)
        self.b = _conv_bn(mid, mid, 3, stride)
        self.c = _conv_bn(mid, cout, 1, act=False)
        self.skip = (
            nn.Identity()
            if stride == 1 and cin == cout
            else _conv_bn(cin, cout, 1, stride, act=False)
        )

    def forward(self, x):
        return F.relu(self.c(self.b(self.a(x))) + self.skip(x))


class ResNet(nn.Module):
    def __init__(
        self,
        block: type,
        depths: list[int],
        widths: list[int],
        classes: int = 10,
    ) -> None:
        super().__init__()
        self.stem = _conv_bn(
            3, widths[0] if block is _Basic else widths[0] // 4
        )
        cin = widths[0] if block is _Basic else widths[0] // 4
        layers = []
        for i, (d, w) in enumerate(zip(depths, widths, strict=True)):
            for j in range(d):
                layers.append(block(cin, w, 2 if (j == 0 and i > 0) else 1))
                cin = w
        self.layers = nn.Sequential(*layers)
        self.head = nn.Linear(cin, classes)

    def forward(self, x):
        return self.head(self.layers(self.stem(x)).mean((2, 3)))


class ImageNetResNet(ResNet):
    """ResNet-50 as He et al. (2016) define it for ImageNet: a 7 x 7 stride-2
    stem and max pooling, bottlenecks of 256-2048 channels, 1000 classes."""

    def __init__(self, depths: tuple[int, ...] = (3, 4, 6, 3)) -> None:
        super().__init__(
            _Bottleneck, list(depths), [256, 512, 1024, 2048], 1000
        )
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, 2, 3, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            nn.MaxPool2d(3, 2, 1),
        )


def resnet50_imagenet(batch: int = 256, size: int = 224):
    """ImageNet ResNet-50 on the meta device (no memory), with its input."""
    with torch.device("meta"):
        model = ImageNetResNet()
        x = torch.empty(batch, 3, size, size)
    return model, (x,)


class _Inverted(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        self.body = nn.Sequential(
            _conv_bn(cin, mid, 1),
            _conv_bn(mid, mid, 3, stride, groups=mid),
            _conv_bn(mid, cout, 1, act=False),
        )
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


class MobileNetV2(nn.Module):
    def __init__(self, width: int = 8, classes: int = 10) -> None:
        super().__init__()
        cfg = [
            (1, width, 1, 1),
            (6, int(1.5 * width), 2, 2),
            (6, 2 * width, 2, 2),
            (6, 4 * width, 2, 2),
            (6, 6 * width, 1, 1),
        ]
        layers: list[nn.Module] = [_conv_bn(3, width)]
        cin = width
        for t, c, n, s in cfg:
            for i in range(n):
                layers.append(_Inverted(cin, c, s if i == 0 else 1, t))
                cin = c
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, classes)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))


class _InceptionBlock(nn.Module):
    def __init__(self, cin: int, c: int) -> None:
        super().__init__()
        self.b1 = _conv_bn(cin, c, 1)
        self.b2 = nn.Sequential(_conv_bn(cin, c, 1), _conv_bn(c, c, 3))
        self.b3 = nn.Sequential(
            _conv_bn(cin, c // 2, 1), _conv_bn(c // 2, c, 3), _conv_bn(c, c, 3)
        )
        self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, 1), _conv_bn(cin, c, 1))

    def forward(self, x):
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], 1)


class InceptionNet(nn.Module):
    def __init__(
        self, width: int = 8, blocks: int = 4, classes: int = 10
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 4 * width)]
        for i in range(blocks):
            layers.append(_InceptionBlock(4 * width, width))
            if i % 2 == 1:
                layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(4 * width, classes)

    def forward(self, x):
        return self.head(self.features(x).mean((2, 3)))


class UNet(nn.Module):
    def __init__(self, width: int = 8, depth: int = 3) -> None:
        super().__init__()
        self.down = nn.ModuleList()
        self.up = nn.ModuleList()
        self.upconv = nn.ModuleList()
        cin = 3
        chans = []
        for i in range(depth):
            c = width * 2**i
            self.down.append(nn.Sequential(_conv_bn(cin, c), _conv_bn(c, c)))
            chans.append(c)
            cin = c
        self.mid = nn.Sequential(
            _conv_bn(cin, 2 * cin), _conv_bn(2 * cin, 2 * cin)
        )
        cin = 2 * cin
        for c in reversed(chans):
            self.upconv.append(nn.ConvTranspose2d(cin, c, 2, 2))
            self.up.append(nn.Sequential(_conv_bn(2 * c, c), _conv_bn(c, c)))
            cin = c
        self.out = nn.Conv2d(cin, 1, 1)

    def forward(self, x):
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.mid(x)
        for up, block, skip in zip(
            self.upconv, self.up, reversed(skips), strict=True
        ):
            x = block(torch.cat([up(x), skip], 1))
        return self.out(x)


class _Attention(nn.Module):
    def __init__(self, d: int, heads: int, causal: bool) -> None:
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.heads = heads
        self.causal = causal

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=2)
        h = self.heads
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        att = (q @ k.transpose(-2, -1)) / math.sqrt(d // h)
        if self.causal:
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            att = att.masked_fill(~mask, float("-inf"))
        y = att.softmax(-1) @ v
        return self.proj(y.transpose(1, 2).reshape(b, t, d))


class _Block(nn.Module):
    def __init__(
        self, d: int, heads: int, causal: bool, prenorm: bool
    ) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.att = _Attention(d, heads, causal)
        self.mlp = nn.Sequential(
            nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d)
        )
        self.prenorm = prenorm

    def forward(self, x):
        if self.prenorm:
            x = x + self.att(self.ln1(x))
            return x + self.mlp(self.ln2(x))
        x = self.ln1(x + self.att(x))
        return self.ln2(x + self.mlp(x))


class Transformer(nn.Module):
    def __init__(
        self,
        vocab: int,
        d: int,
        layers: int,
        heads: int,
        seq: int,
        causal: bool,
        prenorm: bool,
    ) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(seq, d)
        self.blocks = nn.Sequential(
            *[_Block(d, heads, causal, prenorm) for _ in range(layers)]
        )
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.tok(ids) + self.pos(torch.arange(t, device=ids.device))
        return self.head(self.ln(self.blocks(x)))


def _ws_dag(n: int, k: int, p: float, seed: int) -> list[list[int]]:
    """Predecessors of each node of a Watts-Strogatz graph oriented by index."""
    import networkx as nx

    g = nx.connected_watts_strogatz_graph(n, k, p, seed=seed)
    preds: list[list[int]] = [[] for _ in range(n)]
    for a, b in g.edges:
        lo, hi = min(a, b), max(a, b)
        preds[hi].append(lo)
    return [sorted(p) for p in preds]


class _RandNode(nn.Module):
    def __init__(self, c: int, fan_in: int, stride: int, cin: int) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.ones(max(fan_in, 1)))
        self.op = nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False),
            nn.Conv2d(cin, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )

    def forward(self, xs):
        s = xs[0] * self.w[0]
        for i, x in enumerate(xs[1:], 1):
            s = s + x * self.w[i]
        return self.op(s)


class _RandStage(nn.Module):
    def __init__(
        self, cin: int, c: int, n: int, k: int, p: float, seed: int
    ) -> None:
        super().__init__()
        self.preds = _ws_dag(n, k, p, seed)
        self.nodes = nn.ModuleList(
            _RandNode(c, len(pr), 1 if pr else 2, c if pr else cin)
            for pr in self.preds
        )
        succ = {u for pr in self.preds for u in pr}
        self.sinks = [v for v in range(n) if v not in succ]

    def forward(self, x):
        outs: list[Any] = []
        for pr, node in zip(self.preds, self.nodes, strict=True):
            outs.append(node([outs[u] for u in pr] if pr else [x]))
        y = outs[self.sinks[0]]
        for v in self.sinks[1:]:
            y = y + outs[v]
        return y / len(self.sinks)


class RandWire(nn.Module):
    def __init__(
        self,
        width: int = 8,
        nodes: int = 32,
        stages: int = 2,
        seed: int = 0,
        classes: int = 10,
    ) -> None:
        super().__init__()
        self.stem = _conv_bn(3, width)
        self.stages = nn.Sequential(
            *[
                _RandStage(
                    width * 2**i,
                    width * 2 ** (i + 1),
                    nodes,
                    4,
                    0.75,
                    seed + i,
                )
                for i in range(stages)
            ]
        )
        self.head = nn.Linear(width * 2**stages, classes)

    def forward(self, x):
        return self.head(self.stages(self.stem(x)).mean((2, 3)))


_DARTS_OPS = ["sep3", "sep5", "dil3", "max", "avg", "skip"]


def _darts_op(name: str, c: int) -> nn.Module:
    if name == "sep3":
        return nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c, c, 3, 1, 1, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )
    if name == "sep5":
        return nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c, c, 5, 1, 2, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )
    if name == "dil3":
        return nn.Sequential(
            nn.ReLU(),
            nn.Conv2d(c, c, 3, 1, 2, dilation=2, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        )
    if name == "max":
        return nn.MaxPool2d(3, 1, 1)
    if name == "avg":
        return nn.AvgPool2d(3, 1, 1)
    return nn.Identity()


class _DartsCell(nn.Module):
    def __init__(
        self, c: int, genotype: list[tuple[str, int, str, int]]
    ) -> None:
        super().__init__()
        self.pre0 = _conv_bn(c, c, 1)
        self.pre1 = _conv_bn(c, c, 1)
        self.genotype = genotype
        self.ops = nn.ModuleList()
        for op1, _, op2, _ in genotype:
            self.ops.append(_darts_op(op1, c))
            self.ops.append(_darts_op(op2, c))
        self.reduce = _conv_bn(len(genotype) * c, c, 1)

    def forward(self, s0, s1):
        states = [self.pre0(s0), self.pre1(s1)]
        for i, (_, a, _, b) in enumerate(self.genotype):
            states.append(
                self.ops[2 * i](states[a]) + self.ops[2 * i + 1](states[b])
            )
        return self.reduce(torch.cat(states[2:], 1))


class Darts(nn.Module):
    def __init__(
        self, width: int = 16, cells: int = 6, seed: int = 0, classes: int = 10
    ) -> None:
        super().__init__()
        import random

        rng = random.Random(seed)
        self.stem = _conv_bn(3, width)
        self.cells = nn.ModuleList()
        for _ in range(cells):
            genotype = []
            for i in range(4):
                a, b = rng.sample(range(i + 2), 2)
                genotype.append(
                    (rng.choice(_DARTS_OPS), a, rng.choice(_DARTS_OPS), b)
                )
            self.cells.append(_DartsCell(width, genotype))
        self.head = nn.Linear(width, classes)

    def forward(self, x):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.head(s1.mean((2, 3)))


def _image(batch: int = 4, size: int = 32) -> tuple[Any, ...]:
    return (torch.randn(batch, 3, size, size),)


def _tokens(
    batch: int = 2, seq: int = 64, vocab: int = 512
) -> tuple[Any, ...]:
    return (torch.randint(0, vocab, (batch, seq)),)


MODELS = {
    "small_cnn": lambda: (SmallCNN(), _image()),
    "resnet18": lambda: (
        ResNet(_Basic, [2, 2, 2, 2], [16, 32, 64, 128]),
        _image(),
    ),
    "resnet50": lambda: (
        ResNet(_Bottleneck, [3, 4, 6, 3], [64, 128, 256, 512]),
        _image(),
    ),
    "mobilenet_v2": lambda: (MobileNetV2(), _image()),
    "inception": lambda: (InceptionNet(), _image()),
    "unet": lambda: (UNet(), _image(2, 32)),
    "gpt2": lambda: (
        Transformer(512, 64, 4, 4, 64, causal=True, prenorm=True),
        _tokens(),
    ),
    "bert": lambda: (
        Transformer(512, 64, 4, 4, 64, causal=False, prenorm=False),
        _tokens(),
    ),
    "randwire": lambda: (RandWire(), _image()),
    "darts": lambda: (Darts(), _image()),
}
"""Factories: name -> () -> (model, example_inputs)."""


def build(name: str) -> tuple[Any, tuple[Any, ...]]:
    """A zoo model and example inputs, seeded (``torch.manual_seed(0)``)."""
    if name not in MODELS:
        raise ValueError(
            f"Unknown zoo model {name!r}; choose one of {', '.join(MODELS)}."
        )
    torch.manual_seed(0)
    return MODELS[name]()
