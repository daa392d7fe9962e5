"""Plots (optional extra ``plot``: matplotlib, imported lazily)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from .memory import evaluate

if TYPE_CHECKING:
    import os

    from .graph import Graph
    from .schedule import Schedule

__all__ = [
    "plot_device_memory",
    "plot_gantt",
    "plot_gap_vs_time",
    "plot_profile",
    "plot_search",
]


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


def plot_gantt(
    graph: Graph,
    start: dict[Any, float],
    processor: dict[Any, int],
    path: str | os.PathLike,
    *,
    memory_bound: int | None = None,
    title: str | None = None,
) -> None:
    """A Gantt chart of a parallel schedule with its memory curve underneath.

    One row per processor, a bar per node (labelled when there is room);
    below, the memory over time (:func:`pebble_sched.parallel.memory_curve`)
    with the bound M when given.
    """
    from .parallel.list_scheduling import memory_curve

    plt = _pyplot()
    makespan, times, values = memory_curve(graph, start)
    procs = max(processor.values(), default=0) + 1
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(9, 2 + 0.35 * procs + 2.2),
        sharex=True,
        gridspec_kw={"height_ratios": [max(1.0, 0.35 * procs), 2.2]},
    )
    durations = dict(zip(graph.ids, graph.time.tolist(), strict=True))
    cmap = plt.get_cmap("tab20")
    for k, v in enumerate(graph.ids):
        s, d, p = start[v], durations[v], processor[v]
        top.broken_barh([(s, d)], (p - 0.4, 0.8), color=cmap(k % 20))
        if makespan and d / makespan > 0.04:
            top.text(
                s + d / 2, p, str(v), ha="center", va="center", fontsize=7
            )
    top.set_yticks(range(procs))
    top.set_yticklabels([f"P{p}" for p in range(procs)])
    top.invert_yaxis()
    top.set_title(title or f"{graph.name or 'graph'}: {procs} processors")
    bottom.step(times, values, where="post", label="memory")
    if memory_bound is not None:
        bottom.axhline(
            memory_bound,
            color="red",
            lw=0.8,
            ls="--",
            label=f"M = {memory_bound}",
        )
    bottom.set_xlabel("time")
    bottom.set_ylabel("bytes")
    bottom.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_device_memory(result: Any, path: str | os.PathLike) -> None:
    """Per-device memory over one simulated training step (one line per
    pipeline stage), with the device capacity; see
    :func:`pebble_sched.distributed.simulate`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    top_bytes = max(d.peak for d in result.devices)
    gib, unit = (
        (float(1 << 30), "GiB")
        if top_bytes >= 1 << 30
        else (float(1 << 20), "MiB")
    )
    for dev, (times, values) in zip(
        result.devices, result.memory, strict=True
    ):
        ax.step(
            [t * 1e3 for t in times.tolist()],
            [v / gib for v in values.tolist()],
            where="post",
            label=f"stage {dev.stage}: peak {dev.peak / gib:.2f} {unit}",
        )
    cap = result.cluster.device.memory / gib
    top = max(d.peak for d in result.devices) / gib
    if cap <= 2 * top:
        ax.axhline(cap, color="red", linestyle="--", label="capacity")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel(f"memory ({unit})")
    ax.set_title(
        f"{result.strategy.name} on {result.cluster.name}, "
        f"{result.order} order: {result.iteration_time * 1e3:.2f} ms/step"
    )
    ax.legend(loc="best", fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_search(result: Any, path: str | os.PathLike) -> None:
    """The best step time found over the search's wall-clock time."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    xs = [t for t, _ in result.history]
    ys = [c * 1e3 for _, c in result.history]
    ax.step(xs, ys, where="post")
    ax.set_xlabel("search time (s)")
    ax.set_ylabel("best step time (ms)")
    ax.set_title(f"{result.evaluated} strategies evaluated")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
