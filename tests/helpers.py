"""Shared test helpers: data files, a reference evaluator, graph strategies."""

from __future__ import annotations

import signal
from functools import lru_cache
from itertools import permutations
from pathlib import Path

from hypothesis import strategies as st

from pebble_sched import Graph, Schedule, read_graph
from pebble_sched.graph import Buffer

DATA_DIR = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
"""The repository (instances/, README.md)."""


@lru_cache
def read(name: str) -> Graph:
    """A graph from tests/data (cached)."""
    return read_graph(DATA_DIR / name)


def two_releases() -> Graph:
    """A node with two buffers read by different parallel successors: two
    releases at one fork, outside the SP solver's model."""
    return Graph(
        list("abcd"),
        [("a", "b"), ("a", "c"), ("a", "d")],
        buffers=[
            Buffer("x", "a", 5, ("b", "c")),
            Buffer("y", "a", 2, ("c", "d")),
        ],
    )


def reference_memory(graph: Graph, order: list) -> tuple[int, list[int]]:
    """Memory during each step, straight from docs/model.md with Python sets.

    Deliberately independent of the library's buffer expansion: reads the
    shorthands and explicit buffers directly.
    """
    ids = graph.ids
    succ = {v: set(graph.successors(v)) for v in ids}
    bufs = []  # (producer or None, size, consumers, output)
    for i, v in enumerate(ids):
        sinks = not succ[v]
        bufs.append(
            (v, int(graph.node_size[i]), succ[v], graph.keep_outputs and sinks)
        )
        bufs.append((v, int(graph.workspace[i]), set(), False))
    for a, b, s in zip(
        graph.edge_src, graph.edge_dst, graph.edge_size, strict=True
    ):
        bufs.append((ids[a], int(s), {ids[b]}, False))
    for b in graph.buffers:
        bufs.append((b.producer, b.size, set(b.consumers), b.output))
    pos = {v: k for k, v in enumerate(order)}
    n = len(order)
    mem = []
    for t in range(n):
        total = 0
        for p, s, cons, out in bufs:
            start = -1 if p is None else pos[p]
            if out:
                end = n - 1
            elif cons:
                end = max(pos[c] for c in cons)
            else:
                end = start
            if start <= t <= end:
                total += s
        mem.append(total)
    initial = sum(s for p, s, _, _ in bufs if p is None)
    has_inputs = any(p is None for p, _, _, _ in bufs)
    peak = max(mem + ([initial] if has_inputs or not mem else []))
    return peak, mem


def topological_orders(graph: Graph):
    """All topological orders (small graphs only)."""
    for perm in permutations(graph.ids):
        pos = {v: k for k, v in enumerate(perm)}
        if all(
            pos[graph.ids[a]] < pos[graph.ids[b]]
            for a, b in zip(graph.edge_src, graph.edge_dst, strict=True)
        ):
            yield list(perm)


def assert_valid_schedule(graph: Graph, schedule: Schedule) -> None:
    """A permutation, topological, peak re-evaluated, lower bound <= peak."""
    assert sorted(map(str, schedule.order)) == sorted(map(str, graph.ids))
    peak, _ = (
        reference_memory(graph, list(schedule.order))
        if graph.n <= 200
        else (schedule.peak, None)
    )
    from pebble_sched import evaluate

    assert evaluate(graph, schedule.order).peak == schedule.peak
    assert peak == schedule.peak
    assert 0 <= schedule.lower_bound <= schedule.peak


@st.composite
def graphs(
    draw, max_nodes: int = 8, features: bool = True, max_size: int = 20
):
    """Random DAGs with every memory-model feature, ids in a random order."""
    n = draw(st.integers(0, max_nodes))
    perm = draw(st.permutations(range(n)))  # perm[i] = topological rank of i
    ids = [f"v{i}" for i in range(n)]
    by_rank = {perm[i]: ids[i] for i in range(n)}
    edges, esize = [], []
    p = draw(st.sampled_from([0.2, 0.4, 0.7]))
    for a in range(n):
        for b in range(a + 1, n):
            if draw(st.floats(0, 1)) < p:
                edges.append((by_rank[a], by_rank[b]))
                esize.append(
                    draw(st.integers(0, max_size))
                    if features and draw(st.booleans())
                    else 0
                )
    sizes = draw(st.lists(st.integers(0, max_size), min_size=n, max_size=n))
    work = (
        draw(st.lists(st.integers(0, max_size // 2), min_size=n, max_size=n))
        if features and draw(st.booleans())
        else None
    )
    buffers = []
    if features and n:
        for k in range(draw(st.integers(0, 3))):
            has_prod = draw(st.booleans())
            if has_prod:
                r = draw(st.integers(0, n - 1))
                cons = (
                    draw(
                        st.lists(
                            st.integers(r + 1, n - 1), unique=True, max_size=3
                        )
                    )
                    if r < n - 1
                    else []
                )
                prod = by_rank[r]
            else:
                cons = draw(
                    st.lists(st.integers(0, n - 1), unique=True, max_size=3)
                )
                prod = None
            buffers.append(
                Buffer(
                    f"b{k}",
                    prod,
                    draw(st.integers(0, max_size)),
                    tuple(by_rank[c] for c in cons),
                    draw(st.booleans()),
                )
            )
    keep = features and draw(st.booleans())
    return Graph(
        ids,
        edges,
        size=sizes,
        workspace=work,
        edge_size=esize,
        buffers=buffers,
        keep_outputs=keep,
    )


def order_peak(graph: Graph, order) -> int:
    """The peak of an order of node *indices*, after checking it (by ids)."""
    import numpy as np

    from pebble_sched import evaluate

    return evaluate(
        graph, [graph.ids[v] for v in np.asarray(order).tolist()]
    ).peak


def pareto_items(pairs, same_sum: bool) -> list[tuple]:
    """Items (pre name, post name, pre word, post word) for the Pareto
    pruning of the SP solver, from pairs of word tails: words start at 0;
    with ``same_sum``, every post word ends where the two final levels sum
    to 5 (as a fork's partial combinations of the same branches do)."""
    items = []
    for k, (pre, post) in enumerate(pairs):
        pre, post = [0, *pre], [0, *post]
        if same_sum:  # the post word ends where the sum says
            post.append(5 - pre[-1])
        items.append((f"pre{k}", f"post{k}", pre, post))
    return items


def word_pairs(max_atoms: int, max_items: int):
    """Hypothesis: lists of (pre, post) word tails for :func:`pareto_items`."""
    from hypothesis import strategies as st

    tail = st.lists(st.integers(-4, 6), min_size=1, max_size=max_atoms)
    return st.lists(st.tuples(tail, tail), min_size=1, max_size=max_items)


def signal_state(pid: int) -> str:
    """The signal masks of process ``pid`` (Linux /proc; "" elsewhere):
    blocked, ignored and caught signals of its main thread, to say in a
    failed Ctrl-C test whether the process could see SIGINT at all."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            rows = dict(line.split(":", 1) for line in fh.read().splitlines())
    except (OSError, ValueError):
        return ""
    return (
        " ".join(
            f"{key}={rows[key].strip()}"
            for key in ("SigBlk", "SigIgn", "SigCgt")
            if key in rows
        )
        + f" (pid {pid})"
    )


def sigint_by_default() -> None:
    """For ``preexec_fn``: SIGINT's default action in a child process that
    a test interrupts. A test run started as a background job of a shell
    without job control ignores SIGINT (as POSIX has such jobs do), its
    children inherit that, and the command line leaves an ignored SIGINT
    ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
