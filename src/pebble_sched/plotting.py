"""Plots (optional extra ``plot``: matplotlib, imported lazily)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from .memory import evaluate

if TYPE_CHECKING:
    import os

    from .graph import Graph
    from .schedule import Schedule

__all__ = ["plot_gap_vs_time", "plot_profile"]


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ModuleNotFoundError(
            'Plotting needs matplotlib: pip install "pebble-sched[plot]"'
        ) from None
    return plt


def plot_profile(
    graph: Graph, schedule: Schedule, path: str | os.PathLike
) -> None:
    """Plot the memory during each step of ``schedule`` (and its peak) to ``path``."""
    plt = _pyplot()
    profile = evaluate(graph, schedule.order)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.step(
        range(len(profile.memory)),
        profile.memory,
        where="mid",
        label="during step",
    )
    ax.step(
        range(len(profile.resident)),
        profile.resident,
        where="mid",
        alpha=0.6,
        label="resident after step",
    )
    ax.axhline(
        profile.peak,
        color="red",
        lw=0.8,
        ls="--",
        label=f"peak {profile.peak}",
    )
    if schedule.lower_bound:
        ax.axhline(
            schedule.lower_bound,
            color="green",
            lw=0.8,
            ls=":",
            label=f"lower bound {schedule.lower_bound}",
        )
    ax.set_xlabel("step")
    ax.set_ylabel("bytes")
    ax.set_title(
        f"{graph.name or 'graph'}: {schedule.method}, {schedule.status.value}"
    )
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_gap_vs_time(
    rows: list[dict[str, Any]],
    best: dict,
    path: str | os.PathLike,
    title: str = "Gap to best known vs time",
) -> None:
    """Scatter of (time, gap to best known) per method, from benchmark rows.

    The gap is (peak - best known) / best known, in percent.
    """
    plt = _pyplot()
    pts: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for r in rows:
        if r["verified"] and r["peak"] is not None:
            bkv = best[(r["family"], r["instance"])]
            gap = 100.0 * (r["peak"] - bkv) / bkv if bkv else 0.0
            pts[r["method"]].append((max(r["time_s"] or 0, 1e-3), gap))
    fig, ax = plt.subplots(figsize=(6, 4))
    for method, xy in sorted(pts.items()):
        xs, ys = zip(*xy, strict=True)
        ax.scatter(xs, ys, label=method, s=14, alpha=0.7)
    ax.set_xscale("log")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("(peak - best known) / best known (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
