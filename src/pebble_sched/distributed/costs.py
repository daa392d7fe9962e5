"""Analytical costs: a roofline for operations, alpha-beta for collectives.

An operation with ``f`` floating-point operations moving ``b`` bytes of
device memory takes ``max(f / (eta_c * P), b / (eta_m * B)) + t_launch``
seconds (Williams, Waterman and Patterson's roofline; P the dense peak of
its dtype, B the memory bandwidth, eta the achievable fractions). A view,
which moves nothing, takes no time.

Collectives over n ranks, S the full buffer's bytes, B the per-device link
bandwidth (times its efficiency) and alpha its latency, ring algorithms:

- all-reduce: ``2 (n - 1) / n * S / B + 2 (n - 1) alpha``;
- reduce-scatter, all-gather: ``(n - 1) / n * S / B + (n - 1) alpha``;
- point to point: ``alpha + S / B``.

A link may instead all-reduce on a tree (``Link.algorithm``): NCCL's
double binary tree, pipelined, reduces up and broadcasts down two trees
that each carry half the data, ``2 S / B + 2 ceil(log2 n) alpha``: a
logarithmic latency term against the ring's linear one, for a bandwidth
term up to twice the ring's; ``auto`` takes the faster for each message.

A group inside one node uses the intra-node link; a group spanning nodes
is bounded by the inter-node link (one NIC per device, so a ring's
inter-node hops run in parallel at the per-device bandwidth).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .cluster import Device, Link

__all__ = [
    "all_gather_time",
    "all_reduce_time",
    "op_time",
    "op_times",
    "p2p_time",
    "reduce_scatter_time",
]


def op_time(flops: float, moved: float, device: Device, dtype: str) -> float:
    """Roofline time of one operation (0 when it computes and moves nothing)."""
    if flops <= 0 and moved <= 0:
        return 0.0
    compute = flops / device.flops(dtype) if flops > 0 else 0.0
    memory = (
        moved / (device.hbm_bandwidth * device.memory_efficiency)
        if moved > 0
        else 0.0
    )
    return max(compute, memory) + device.launch_overhead


def op_times(
    flops: np.ndarray, moved: np.ndarray, device: Device, dtype: str
) -> np.ndarray:
    """:func:`op_time` of many operations at once (the same values)."""
    f = np.asarray(flops, dtype=np.float64)
    b = np.asarray(moved, dtype=np.float64)
    compute = np.where(f > 0, f / device.flops(dtype), 0.0)
    memory = np.where(
        b > 0, b / (device.hbm_bandwidth * device.memory_efficiency), 0.0
    )
    out = np.maximum(compute, memory) + device.launch_overhead
    out[(f <= 0) & (b <= 0)] = 0.0
    return out


def all_reduce_time(size: float, n: int, link: Link) -> float:
    """All-reduce of ``size`` bytes over ``n`` ranks (the link's algorithm).

    >>> from pebble_sched.distributed.cluster import Link
    >>> all_reduce_time(8e9, 8, Link(100e9, 0.0, 1.0))  # 2 * 7/8 * 0.08 s
    0.14
    >>> tree = Link(100e9, 1e-5, 1.0, "tree")  # 2 * 1e-5 s + 2 * 3 * 1e-5 s
    >>> round(all_reduce_time(1e6, 8, tree), 9)
    8e-05
    """
    if n <= 1 or size <= 0:
        return 0.0
    ring = 2 * (n - 1) / n * size / link.effective + 2 * (n - 1) * link.latency
    if link.algorithm == "ring":
        return ring
    tree = (
        2 * size / link.effective + 2 * math.ceil(math.log2(n)) * link.latency
    )
    return tree if link.algorithm == "tree" else min(ring, tree)


def reduce_scatter_time(size: float, n: int, link: Link) -> float:
    """Ring reduce-scatter of ``size`` bytes over ``n`` ranks."""
    if n <= 1 or size <= 0:
        return 0.0
    return (n - 1) / n * size / link.effective + (n - 1) * link.latency


def all_gather_time(size: float, n: int, link: Link) -> float:
    """Ring all-gather to ``size`` bytes on each of ``n`` ranks."""
    return reduce_scatter_time(size, n, link)


def p2p_time(size: float, link: Link) -> float:
    """One message of ``size`` bytes."""
    if size <= 0:
        return 0.0
    return link.latency + size / link.effective
