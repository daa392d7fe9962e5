"""An exact comparator: a dynamic program over a series-parallel layer graph.

Each layer has candidate configurations (a parallel configuration, with or
without recomputation, ...) with a time ``t``, the memory it leaves
resident for later (``r``: stored activations, its share of model state)
and the memory it needs while it runs above what was resident before
(``p >= r``). Layers compose as a series-parallel decomposition (as
flexflow-train's machine-mapping search does), with *peaks*, not sums:

- series ``A ; B``: time ``tA + tB``, resident ``rA + rB``, peak
  ``max(pA, rA + pB)``;
- parallel ``A | B`` on the same devices: the branches run one after the
  other, in the better order: time ``tA + tB``, resident ``rA + rB``, peak
  ``min(max(pA, rA + pB), max(pB, rB + pA))``.

(flexflow-train's memory-aware mapping adds memories in series; the series
rule above is what liveness gives.) :func:`pareto` keeps, per subtree, the
configurations that no other beats on all of time, peak and resident;
:func:`best_under` reads off the fastest whose peak fits a limit.
:func:`exhaustive` tries every assignment, the oracle of the tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Union

__all__ = [
    "Config",
    "Layer",
    "Parallel",
    "Point",
    "Series",
    "best_under",
    "exhaustive",
    "pareto",
]


@dataclass(frozen=True)
class Config:
    """One way to run a layer."""

    name: str
    time: float
    resident: int
    peak: int


@dataclass(frozen=True)
class Layer:
    name: str
    configs: tuple[Config, ...]


@dataclass(frozen=True)
class Series:
    first: Tree
    second: Tree


@dataclass(frozen=True)
class Parallel:
    left: Tree
    right: Tree


Tree = Union[Layer, Series, Parallel]  # noqa: UP007 - a recursive alias


@dataclass(frozen=True)
class Point:
    """A composed choice: its cost and the configuration of every layer."""

    time: float
    peak: int
    resident: int
    choice: tuple[tuple[str, str], ...]


def _series(a: Point, b: Point) -> Point:
    return Point(
        a.time + b.time,
        max(a.peak, a.resident + b.peak),
        a.resident + b.resident,
        a.choice + b.choice,
    )


def _parallel(a: Point, b: Point) -> Point:
    peak = min(
        max(a.peak, a.resident + b.peak), max(b.peak, b.resident + a.peak)
    )
    return Point(
        a.time + b.time, peak, a.resident + b.resident, a.choice + b.choice
    )


def _frontier(points: list[Point]) -> list[Point]:
    """The points no other point beats (or ties) on time, peak and resident."""
    points = sorted(points, key=lambda p: (p.time, p.peak, p.resident))
    kept: list[Point] = []
    for p in points:
        if any(
            q.time <= p.time and q.peak <= p.peak and q.resident <= p.resident
            for q in kept
        ):
            continue
        kept.append(p)
    return kept


def pareto(tree: Tree) -> list[Point]:
    """The Pareto frontier of ``tree`` over (time, peak, resident).

    Examples
    --------
    >>> fast = Config("keep", 1.0, 10, 12)
    >>> slow = Config("recompute", 1.5, 2, 12)
    >>> chain = Series(Layer("a", (fast, slow)), Layer("b", (fast, slow)))
    >>> [(p.time, p.peak) for p in pareto(chain)]
    [(2.0, 22), (2.5, 14), (3.0, 14)]
    """
    if isinstance(tree, Layer):
        return _frontier(
            [
                Point(c.time, c.peak, c.resident, ((tree.name, c.name),))
                for c in tree.configs
            ]
        )
    if isinstance(tree, Series):
        left, right = pareto(tree.first), pareto(tree.second)
        return _frontier([_series(a, b) for a in left for b in right])
    left, right = pareto(tree.left), pareto(tree.right)
    return _frontier([_parallel(a, b) for a in left for b in right])


def best_under(tree: Tree, limit: int) -> Point | None:
    """The fastest composed choice whose peak is at most ``limit``."""
    ok = [p for p in pareto(tree) if p.peak <= limit]
    return min(ok, key=lambda p: (p.time, p.peak)) if ok else None


def _layers(tree: Tree) -> list[Layer]:
    if isinstance(tree, Layer):
        return [tree]
    if isinstance(tree, Series):
        return _layers(tree.first) + _layers(tree.second)
    return _layers(tree.left) + _layers(tree.right)


def _evaluate(tree: Tree, pick: dict[str, Config]) -> Point:
    if isinstance(tree, Layer):
        c = pick[tree.name]
        return Point(c.time, c.peak, c.resident, ((tree.name, c.name),))
    if isinstance(tree, Series):
        return _series(
            _evaluate(tree.first, pick), _evaluate(tree.second, pick)
        )
    return _parallel(_evaluate(tree.left, pick), _evaluate(tree.right, pick))


def exhaustive(tree: Tree, limit: int) -> Point | None:
    """Every assignment of configurations, evaluated directly: the oracle."""
    layers = _layers(tree)
    best = None
    for combo in product(*(layer.configs for layer in layers)):
        pick = {layer.name: c for layer, c in zip(layers, combo, strict=True)}
        p = _evaluate(tree, pick)
        if p.peak <= limit and (
            best is None or (p.time, p.peak) < (best.time, best.peak)
        ):
            best = p
    return best
