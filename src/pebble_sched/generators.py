"""Seeded random graph families, shared by tests, benchmarks and instance sets.

Every generator takes ``seed`` (an int or a ``numpy.random.Generator``) and
returns a :class:`~pebble_sched.graph.Graph` with integer node ids
``0..n-1`` in a topological order and its parameters recorded in ``meta``.
Sizes are drawn uniformly from ``1..max_size`` unless stated otherwise.

- :func:`layered`: n nodes in a line; each pair (i, j) with 0 < j - i <=
  window is an edge with probability p (the "window" DAGs of the neural
  topological ordering literature).
- :func:`in_tree` / :func:`out_tree`: random recursive trees, edges towards
  / away from the root.
- :func:`pumpkin`: a source and a sink joined by d internally disjoint chains.
- :func:`series_parallel`: a random two-terminal series-parallel DAG grown
  by series and parallel expansions of its edges.
- :func:`near_series_parallel`: a random series-parallel DAG plus a few
  cross edges between nodes that were parallel (SP up to k extra edges).
- :func:`training_like`: a forward chain with skip connections, a loss, a
  mirrored backward pass reading the forward activations, and weight
  gradients as sinks.
- :func:`workflow`: edge-weighted scientific workflows shaped like the
  Pegasus families GENOME, LIGO and MONTAGE (fork/join structures).
- :func:`daggen`: layered random task graphs with DAGGEN's four shape
  parameters (fat, density, regularity, jump), edge-weighted data and
  node durations: the random DAGs of the memory-aware parallel scheduling
  literature.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .graph import Graph

__all__ = [
    "FAMILIES",
    "daggen",
    "in_tree",
    "layered",
    "near_series_parallel",
    "out_tree",
    "pumpkin",
    "series_parallel",
    "training_like",
    "workflow",
]


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    return np.random.default_rng(seed)


def _sizes(rng: np.random.Generator, n: int, max_size: int) -> np.ndarray:
    return rng.integers(1, max_size + 1, size=n, dtype=np.int64)


def _meta(name: str, seed: Any, **params: Any) -> dict[str, Any]:
    meta = {"generator": name, **params}
    if isinstance(seed, (int, np.integer)):
        meta["seed"] = int(seed)
    return meta


def layered(
    n: int,
    window: int = 8,
    p: float = 0.3,
    *,
    seed: int | np.random.Generator = 0,
    max_size: int = 100,
) -> Graph:
    """A random DAG on 0..n-1 with edges (i, j), 0 < j - i <= window, each with probability p.

    Examples
    --------
    >>> g = layered(20, seed=1)
    >>> g.n
    20
    """
    rng = _rng(seed)
    src, dst = [], []
    for d in range(1, window + 1):
        i = np.flatnonzero(rng.random(max(n - d, 0)) < p)
        src.append(i)
        dst.append(i + d)
    s = np.concatenate(src) if src else np.zeros(0, np.int64)
    t = np.concatenate(dst) if dst else np.zeros(0, np.int64)
    return Graph(
        range(n),
        zip(s.tolist(), t.tolist(), strict=True),
        size=_sizes(rng, n, max_size),
        name=f"layered-n{n}-w{window}-p{p}",
        meta=_meta(
            "layered", seed, n=n, window=window, p=p, max_size=max_size
        ),
    )


def _random_parents(rng: np.random.Generator, n: int) -> np.ndarray:
    """parent[i] in [0, i) for i >= 1 (a random recursive tree)."""
    if n <= 1:
        return np.zeros(0, dtype=np.int64)
    return (rng.random(n - 1) * np.arange(1, n)).astype(np.int64)


def in_tree(
    n: int,
    *,
    seed: int | np.random.Generator = 0,
    max_size: int = 100,
    max_workspace: int = 0,
) -> Graph:
    """A random in-tree: every node but the root (node n-1) has one successor.

    Examples
    --------
    >>> g = in_tree(10, seed=3)
    >>> int(g.outdegree.max())
    1
    """
    rng = _rng(seed)
    parent = _random_parents(rng, n)
    # node i of the recursive tree becomes n-1-i, so edges go forward
    child = n - 1 - np.arange(1, n)
    par = n - 1 - parent
    work = (
        rng.integers(0, max_workspace + 1, size=n) if max_workspace else None
    )
    return Graph(
        range(n),
        zip(child.tolist(), par.tolist(), strict=True),
        size=_sizes(rng, n, max_size),
        workspace=work,
        name=f"intree-n{n}",
        meta=_meta("in_tree", seed, n=n, max_size=max_size),
    )


def out_tree(
    n: int, *, seed: int | np.random.Generator = 0, max_size: int = 100
) -> Graph:
    """A random out-tree: every node but the root (node 0) has one predecessor."""
    rng = _rng(seed)
    parent = _random_parents(rng, n)
    return Graph(
        range(n),
        zip(parent.tolist(), range(1, n), strict=True),
        size=_sizes(rng, n, max_size),
        name=f"outtree-n{n}",
        meta=_meta("out_tree", seed, n=n, max_size=max_size),
    )


def pumpkin(
    d: int,
    min_len: int = 1,
    max_len: int = 5,
    *,
    seed: int | np.random.Generator = 0,
    max_size: int = 100,
) -> Graph:
    """A source (0) and a sink (n-1) joined by d chains of random lengths."""
    rng = _rng(seed)
    lengths = rng.integers(min_len, max_len + 1, size=d)
    n = int(lengths.sum()) + 2
    sink = n - 1
    edges = []
    v = 1
    for length in lengths.tolist():
        chain = list(range(v, v + length))
        edges.append((0, chain[0]))
        edges.extend(itertools.pairwise(chain))
        edges.append((chain[-1], sink))
        v += length
    return Graph(
        range(n),
        edges,
        size=_sizes(rng, n, max_size),
        name=f"pumpkin-d{d}",
        meta=_meta(
            "pumpkin",
            seed,
            d=d,
            min_len=min_len,
            max_len=max_len,
            max_size=max_size,
        ),
    )


def series_parallel(
    n: int,
    *,
    p_parallel: float = 0.4,
    seed: int | np.random.Generator = 0,
    max_size: int = 100,
    max_out_degree: int | None = None,
) -> Graph:
    """A random two-terminal series-parallel DAG with n >= 2 nodes.

    Starting from one edge s -> t, repeatedly pick an edge (u, v) and either
    subdivide it (series: u -> w -> v) or add a parallel path u -> w -> v
    beside it, until there are n nodes. Node ids are then relabelled in a
    topological order. With ``max_out_degree`` = d, a parallel path is
    only added beside an edge whose tail has fewer than d successors (the
    parameter of the dominant-schedule algorithm).
    """
    if n < 2:
        raise ValueError("series_parallel needs n >= 2.")
    rng = _rng(seed)
    edges: list[tuple[int, int]] = [(0, 1)]
    outdeg = [1, 0]
    nodes = 2
    while nodes < n:
        k = int(rng.integers(len(edges)))
        u, v = edges[k]
        w = nodes
        nodes += 1
        outdeg.append(1)
        if rng.random() < p_parallel and (
            max_out_degree is None or outdeg[u] < max_out_degree
        ):
            outdeg[u] += 1
            edges.append((u, w))
            edges.append((w, v))
        else:
            edges[k] = (u, w)
            edges.append((w, v))
    g = Graph(range(n), edges)
    topo = g.topological_order()
    relabel = np.empty(n, dtype=np.int64)
    relabel[topo] = np.arange(n)
    edges = [(int(relabel[a]), int(relabel[b])) for a, b in edges]
    return Graph(
        range(n),
        edges,
        size=_sizes(rng, n, max_size),
        name=f"sp-n{n}",
        meta=_meta(
            "series_parallel",
            seed,
            n=n,
            p_parallel=p_parallel,
            max_size=max_size,
            **(
                {}
                if max_out_degree is None
                else {"max_out_degree": max_out_degree}
            ),
        ),
    )


def near_series_parallel(
    n: int,
    extra: int,
    *,
    seed: int | np.random.Generator = 0,
    max_size: int = 100,
    max_out_degree: int | None = 4,
) -> Graph:
    """:func:`series_parallel` (n nodes) plus ``extra`` cross edges: each
    joins two nodes that neither reach the other (so that the edge is no
    shortcut), from the earlier to the later in the topological labels. A
    cross edge makes its source's buffer live until its new reader, and
    every one of them can break series-parallelism."""
    rng = _rng(seed)
    g = series_parallel(
        n, seed=rng, max_size=max_size, max_out_degree=max_out_degree
    )
    edges = list(zip(g.edge_src.tolist(), g.edge_dst.tolist(), strict=True))
    added: list[tuple[int, int]] = []
    for _ in range(200 * max(1, extra)):
        if len(added) == extra:
            break
        h = Graph(range(n), edges + added)
        u, v = sorted(int(x) for x in rng.choice(n, 2, replace=False))
        if _reaches(h, u, v):
            continue
        added.append((u, v))
    if len(added) < extra:
        raise ValueError(
            f"near_series_parallel: found only {len(added)} of {extra} cross "
            f"edges on {n} nodes."
        )
    return Graph(
        range(n),
        edges + added,
        size=g.node_size,
        name=f"nsp-n{n}-k{extra}",
        meta=_meta(
            "near_series_parallel",
            seed,
            n=n,
            extra=extra,
            max_size=max_size,
            max_out_degree=max_out_degree,
        ),
    )


def _reaches(g: Graph, u: int, v: int) -> bool:
    """Whether a path leads from u to v (u before v in the labels)."""
    seen, todo = {u}, [u]
    while todo:
        x = todo.pop()
        if x == v:
            return True
        for y in g.succ_idx[g.succ_ptr[x] : g.succ_ptr[x + 1]].tolist():
            if y not in seen and y <= v:
                seen.add(y)
                todo.append(y)
    return False


def training_like(
    layers: int,
    *,
    skip: int = 3,
    p_skip: float = 0.5,
    seed: int | np.random.Generator = 0,
    max_size: int = 100,
    keep_outputs: bool = True,
) -> Graph:
    """A training step: forward chain with skips, loss, mirrored backward.

    Nodes: forward ``f0..f{L-1}`` (activations), ``loss``, activation
    gradients ``g{L-1}..g0`` (``g_i`` reads ``g_{i+1}`` and ``f_i``), and
    weight gradients ``w_i`` (read ``g_i`` and ``f_{i-1}``; sinks, kept
    when ``keep_outputs``). A forward skip ``f_i -> f_{i+k}`` (probability
    ``p_skip`` every ``skip`` layers) is mirrored by ``g_{i+k} -> g_i``.
    Weight gradients are small (1..max_size/4), activations 1..max_size.
    """
    rng = _rng(seed)
    L = layers
    f = list(range(L))
    loss = L
    g = [L + 1 + (L - 1 - i) for i in range(L)]  # g[L-1] runs first
    w = [2 * L + 1 + i for i in range(L)]
    n = 3 * L + 1
    edges = [(f[i], f[i + 1]) for i in range(L - 1)]
    edges.append((f[L - 1], loss))
    edges.append((loss, g[L - 1]))
    for i in range(L - 1):
        edges.append((g[i + 1], g[i]))
    for i in range(L):
        edges.append((f[i], g[i]))
        edges.append((g[i], w[i]))
        if i > 0:
            edges.append((f[i - 1], w[i]))
    for i in range(0, L - skip, skip):
        if rng.random() < p_skip:
            edges.append((f[i], f[i + skip]))
            edges.append((g[i + skip], g[i]))
    edges = list(dict.fromkeys(edges))
    sizes = np.empty(n, dtype=np.int64)
    sizes[:L] = _sizes(rng, L, max_size)
    sizes[loss] = 1
    sizes[L + 1 : 2 * L + 1] = _sizes(rng, L, max_size)
    sizes[2 * L + 1 :] = _sizes(rng, L, max(1, max_size // 4))
    ids = (
        [f"f{i}" for i in range(L)]
        + ["loss"]
        + [f"g{L - 1 - i}" for i in range(L)]
    )
    ids += [f"w{i}" for i in range(L)]
    id_edges = [(ids[a], ids[b]) for a, b in edges]
    return Graph(
        ids,
        id_edges,
        size=sizes,
        keep_outputs=keep_outputs,
        name=f"train-L{L}",
        meta=_meta(
            "training_like",
            seed,
            layers=L,
            skip=skip,
            p_skip=p_skip,
            max_size=max_size,
        ),
    )


def _workflow_graph(name, nodes, edges, rng, max_size, seed, **params):
    """A workflow: files on edges (edge buffers), small scratch on nodes."""
    m = len(edges)
    esize = rng.integers(1, max_size + 1, size=m, dtype=np.int64)
    work = rng.integers(
        0, max(1, max_size // 10) + 1, size=len(nodes), dtype=np.int64
    )
    return Graph(
        nodes,
        edges,
        edge_size=esize,
        workspace=work,
        name=name,
        meta=_meta("workflow", seed, **params, max_size=max_size),
    )


def workflow(
    kind: str,
    width: int,
    *,
    seed: int | np.random.Generator = 0,
    max_size: int = 100,
) -> Graph:
    """An edge-weighted workflow DAG shaped like a Pegasus family.

    ``kind`` is ``"genome"`` (1000Genome: per chromosome, ``width``
    individuals jobs merge, then sifting, mutation-overlap and frequency
    jobs), ``"ligo"`` (Inspiral: ``width`` template-bank/inspiral pipelines
    joined by thinca jobs in groups, then a second inspiral stage) or
    ``"montage"`` (``width`` projections, overlap fits, a global background
    model, corrections, and an add/shrink/JPEG tail). Files are edge
    buffers of 1..max_size bytes; jobs have small workspaces.
    """
    rng = _rng(seed)
    nodes: list[str] = []
    edges: list[tuple[str, str]] = []

    def add(v: str) -> str:
        nodes.append(v)
        return v

    if kind == "genome":
        chroms = max(1, width // 4)
        pops = 3
        for c in range(chroms):
            merge = add(f"merge{c}")
            sift = add(f"sift{c}")
            for k in range(width):
                edges.append((add(f"ind{c}_{k}"), merge))
            for p in range(pops):
                mo, fr = add(f"overlap{c}_{p}"), add(f"freq{c}_{p}")
                edges += [(merge, mo), (sift, mo), (merge, fr), (sift, fr)]
    elif kind == "ligo":
        group = 4
        thincas = []
        for k in range(width):
            tb, insp = add(f"tmplt{k}"), add(f"insp{k}")
            edges.append((tb, insp))
            if k % group == 0:
                thincas.append(add(f"thinca{k // group}"))
            edges.append((insp, thincas[-1]))
        for j, th in enumerate(thincas):
            for k in range(group):
                trig, insp2 = add(f"trig{j}_{k}"), add(f"insp2_{j}_{k}")
                edges += [(th, trig), (trig, insp2)]
            th2 = add(f"thinca2_{j}")
            edges += [(f"insp2_{j}_{k}", th2) for k in range(group)]
    elif kind == "montage":
        proj = [add(f"project{k}") for k in range(width)]
        concat = add("concatfit")
        for k in range(width):
            for d in (1, 2):
                if k + d < width and (d == 1 or rng.random() < 0.5):
                    diff = add(f"diff{k}_{k + d}")
                    edges += [
                        (proj[k], diff),
                        (proj[k + d], diff),
                        (diff, concat),
                    ]
        bg = add("bgmodel")
        edges.append((concat, bg))
        table = add("imgtbl")
        for k in range(width):
            corr = add(f"background{k}")
            edges += [(proj[k], corr), (bg, corr), (corr, table)]
        madd, shrink, jpeg = add("add"), add("shrink"), add("jpeg")
        edges += [(table, madd), (madd, shrink), (shrink, jpeg)]
    else:
        raise ValueError(
            f"Unknown workflow kind {kind!r}; use genome, ligo or montage."
        )
    return _workflow_graph(
        f"{kind}-w{width}",
        nodes,
        edges,
        rng,
        max_size,
        seed,
        kind=kind,
        width=width,
    )


def daggen(
    n: int,
    *,
    fat: float = 0.5,
    density: float = 0.5,
    regularity: float = 0.5,
    jump: int = 1,
    seed: int | np.random.Generator = 0,
    max_size: int = 100,
) -> Graph:
    """A layered random task graph with DAGGEN's shape parameters.

    The n tasks are cut into levels of about ``n ** fat`` tasks each (fat
    near 0: a chain-like graph, near 1: one wide level); each level's
    width is drawn uniformly within ``±(1 - regularity)`` of that mean.
    Every task after the first level gets at least one parent; it gets on
    average ``density`` times the size of the previous level of them
    (at least one), drawn among the up to ``jump`` levels before its own.
    Data items are edge buffers of 1..max_size bytes (each read by its one
    consumer); durations (``time``) are drawn in 1..10.

    Examples
    --------
    >>> g = daggen(30, fat=0.8, density=0.8, regularity=0.8, jump=4)
    >>> g.n, g.meta["generator"]
    (30, 'daggen')
    """
    if n < 1:
        raise ValueError("n must be positive.")
    for name, value in (("fat", fat), ("density", density)):
        if not 0 < value <= 1:
            raise ValueError(f"{name} must be in (0, 1].")
    if not 0 <= regularity <= 1:
        raise ValueError("regularity must be in [0, 1].")
    if jump < 1:
        raise ValueError("jump must be at least 1.")
    rng = _rng(seed)
    mean = max(1.0, float(n) ** fat)
    spread = 1.0 - regularity
    levels: list[list[int]] = []
    placed = 0
    while placed < n:
        lo = max(1, int(mean * (1 - spread)))
        hi = max(lo, int(mean * (1 + spread)))
        width = min(n - placed, int(rng.integers(lo, hi + 1)))
        levels.append(list(range(placed, placed + width)))
        placed += width
    edges: list[tuple[int, int]] = []
    for k in range(1, len(levels)):
        pool = list(itertools.chain(*levels[max(0, k - jump) : k]))
        prev = levels[k - 1]
        want = max(1, round(density * len(prev)))
        for v in levels[k]:
            count = min(len(pool), int(rng.integers(1, 2 * want)))
            parents = set(rng.choice(pool, size=count, replace=False).tolist())
            if not parents & set(prev):  # keep the levels: one parent above
                parents.add(int(rng.choice(prev)))
            edges += [(u, v) for u in sorted(parents)]
    m = len(edges)
    return Graph(
        list(range(n)),
        edges,
        edge_size=rng.integers(1, max_size + 1, size=m, dtype=np.int64),
        time=rng.integers(1, 11, size=n).astype(float).tolist(),
        name=f"daggen-n{n}-f{fat}-d{density}-r{regularity}-j{jump}",
        meta=_meta(
            "daggen",
            seed,
            n=n,
            fat=fat,
            density=density,
            regularity=regularity,
            jump=jump,
            max_size=max_size,
        ),
    )


FAMILIES = {
    "layered": lambda n, seed: layered(n, seed=seed),
    "in_tree": lambda n, seed: in_tree(n, seed=seed),
    "out_tree": lambda n, seed: out_tree(n, seed=seed),
    "pumpkin": lambda n, seed: pumpkin(
        max(2, int(n**0.5) // 2), 1, max(1, 4 * int(n**0.5) - 1), seed=seed
    ),
    "series_parallel": lambda n, seed: series_parallel(max(2, n), seed=seed),
    "near_series_parallel": lambda n, seed: near_series_parallel(
        max(8, n), max(1, n // 50), seed=seed, max_out_degree=None
    ),
    "training_like": lambda n, seed: training_like(max(1, n // 3), seed=seed),
    "montage": lambda n, seed: workflow("montage", max(2, n // 4), seed=seed),
    "daggen": lambda n, seed: daggen(
        n, fat=0.8, density=0.8, regularity=0.8, jump=4, seed=seed
    ),
}
"""Each family as ``f(n, seed) -> Graph`` with about n nodes (benchmarks)."""
