"""Strategy search: Metropolis-Hastings over parallelization, recomputation, offload and duplication.

The state is a :class:`~.strategy.Strategy`: the data-, tensor- and
pipeline-parallel degrees (their product at most the cluster's devices; the
global batch fixed, so the micro-batch count follows the data-parallel
degree), the ZeRO stage, and per layer unit whether it recomputes and
whether it offloads its activations to host memory (or a peer stage's
GPU), and with pipelines whether other stages compute its forward pass
again instead of receiving its output (duplication). Its cost is the
simulated step time of :func:`~.simulator.simulate` (or another objective);
a strategy whose per-device peak, judged by liveness, exceeds the memory
limit is rejected (or penalized). Moves: resample the parallel degrees; move
the ZeRO stage; toggle one unit's recomputation, offload or duplication; send offloaded
activations to host memory or to a peer stage's GPU; copy one unit's
choice to its neighbour (FlexFlow's propagation); shift one pipeline stage
boundary by one unit; give one layer another tensor-parallel degree or its
neighbour's (when the space can trace per-layer degrees); change the
pipeline schedule; swap two pipeline stages' device groups (which decides
which stage boundaries cross nodes). Acceptance is ``min(1, exp(-beta * (c' - c) / c))`` (a relative
change, so ``beta`` does not depend on the time scale), with a reset to the
best state every ``reset`` iterations, as FlexFlow's MCMC does (Jia et al.,
SysML 2019). Several chains start from data parallelism, Megatron-style
grid points (the fastest grid point that fits first) and random states;
they run in parallel processes, seeded and reproducible; a chain stops at its time or iteration budget, or after half
of it without improvement.

:func:`grid_search` is the baseline users have: every ``megatron(tp, pp,
dp)`` point, no recomputation or offload, the fastest that fits.
``memory="sum"`` judges memory as FlexFlow and its successors do (the sum of
every buffer's size per device, no liveness), to show what that check
wrongly rejects.
"""

from __future__ import annotations

import gc
import math
import os
import random
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..graph import require_graph
from ..runtime import sigint_held, sigint_seen
from .cluster import Cluster
from .cluster import cluster as make_cluster
from .recompute import unit_of
from .simulator import _partition, simulate, unit_times
from .strategy import Strategy, StrategyError

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..graph import Graph

__all__ = [
    "OBJECTIVES",
    "SearchResult",
    "Space",
    "exhaustive",
    "grid_search",
    "search",
]

#: graphs traced with per-layer degrees a space keeps (each a new trace)
LAYER_GRAPHS = 8

#: named objectives over a simulation result (lower is better)
OBJECTIVES: dict[str, Any] = {
    "time": lambda r: r.iteration_time,
    "memory": lambda r: float(r.peak),
    "throughput": lambda r: -(r.samples_per_second or 0.0),
    "time-memory": lambda r: (
        r.iteration_time * (1 + r.peak / r.cluster.device.memory)
    ),
}


@dataclass
class Evaluation:
    """One simulated strategy."""

    strategy: Strategy
    cost: float
    time: float
    peak: int
    fits: bool
    error: str | None = None


@dataclass
class SearchResult:
    """What :func:`search` found.

    ``best`` is the lowest-cost strategy that fits (``None`` when none was
    found; ``smallest_peak`` then says how close the search came);
    ``history`` holds ``(seconds, best cost)`` whenever the best improved;
    ``errors`` the simulations that failed (a deadlocked simulation is a
    bug to report, not a strategy to choose).
    """

    best: Strategy | None
    best_evaluation: Evaluation | None
    evaluated: int
    accepted: int
    feasible: int
    smallest_peak: int
    history: list[tuple[float, float]] = field(default_factory=list)
    chains: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / max(1, self.evaluated)

    @property
    def feasible_fraction(self) -> float:
        return self.feasible / max(1, self.evaluated)


class Space:
    """The strategies a search may visit for one model on one cluster.

    Parameters
    ----------
    graphs
        The training step at the micro-batch size: a graph (tensor-parallel
        degree fixed to its ``meta["tensor_parallel"]``, default 1) or a
        function from a tensor-parallel degree to the shard's graph.
    cluster
        Preset, file or :class:`~.cluster.Cluster`.
    global_batch
        Samples per step; micro-batches = global_batch / (dp * micro-batch).
        Default: the micro-batch times the devices.
    tp_degrees
        Tensor-parallel degrees to try (with ``graphs`` a function).
    recompute, offload, zero, duplicate
        Whether those moves are allowed (duplication with pipelines only).
    layer_graphs, layer_units
        A function from a tensor-parallel degree and a map of layer units to
        their own degrees (``{"layers.3": 4}``) to the graph traced so
        (``lambda tp, m: gpt_graph("gpt-1.3b", tp=tp, layer_tp=m)``):
        moves may then give one of ``layer_units`` (default: the units that
        are elements of a module list) another degree, or copy a unit's
        degree to its neighbour. Each new map costs a trace.
    boundaries
        Whether a move may shift a pipeline stage boundary by one layer unit
        (from the simulator's forward-time balanced split; a stage that
        holds more micro-batches in flight can then take fewer layers).
    """

    def __init__(
        self,
        graphs: Graph | Callable[[int], Graph],
        cluster: Any,
        *,
        global_batch: int | None = None,
        tp_degrees: tuple[int, ...] = (1,),
        recompute: bool = True,
        offload: bool = True,
        zero: bool = True,
        boundaries: bool = True,
        duplicate: bool = True,
        optimizer: str = "adam-mixed",
        layer_graphs: Callable[[int, dict[str, int]], Graph] | None = None,
        layer_units: list[str] | None = None,
    ) -> None:
        self.cluster: Cluster = make_cluster(cluster)
        self._layer_factory = layer_graphs
        self._layer_graphs: dict[tuple, Graph] = {}
        if callable(graphs):
            self._factory = graphs
            self.tp_degrees = tuple(tp_degrees)
        else:
            require_graph(graphs, "Space")
            fixed = int((graphs.meta or {}).get("tensor_parallel", 1))
            self._factory = lambda tp, g=graphs: g
            self.tp_degrees = (fixed,)
        self._graphs: dict[int, Graph] = {}
        self._cache: dict = {}  # the simulator's, between evaluations
        base = self.graph(self.tp_degrees[0])
        shapes = (base.meta or {}).get("input_shapes") or [[1]]
        self.micro = int(shapes[0][0]) if shapes and shapes[0] else 1
        self.global_batch = (
            global_batch or self.micro * self.cluster.num_devices
        )
        self.units = _units(base)
        self.layer_units = (
            [u for u in self.units if u in set(layer_units)]
            if layer_units is not None
            else [u for u in self.units if u.rsplit(".", 1)[-1].isdigit()]
        )
        self.allow = {
            "recompute": recompute,
            "offload": offload,
            "zero": zero,
            "boundaries": boundaries,
            "duplicate": duplicate,
            "layers": layer_graphs is not None and bool(self.layer_units),
        }
        self._cuts: dict[tuple, tuple[int, ...]] = {}
        self.optimizer = optimizer
        self.points = self._points()
        if not self.points:
            raise StrategyError(
                f"No (dp, tp, pp) fits {self.cluster.num_devices} devices with "
                f"a global batch of {self.global_batch} and micro-batches of "
                f"{self.micro}."
            )

    def clear_cache(self) -> None:
        """Forget what simulations reuse (recomputing graphs, op times,
        device orders): memory back, or a measurement from a cold start."""
        self._cache.clear()

    def graph_for(self, s: Strategy) -> Graph:
        """The graph a strategy runs: the shard of its tensor-parallel
        degree, traced with its per-layer degrees when it has any (the last
        few such graphs are kept: each is a new trace)."""
        if not s.layer_tp:
            return self.graph(s.tp)
        key = (s.tp, s.layer_tp)
        graphs = self._layer_graphs
        if key in graphs:
            graphs[key] = graphs.pop(key)  # the most recently used last
        else:
            if self._layer_factory is None:
                raise StrategyError(
                    f"Strategy {s.name}: per-layer degrees need a space "
                    "built with layer_graphs."
                )
            graphs[key] = self._layer_factory(s.tp, dict(s.layer_tp))
            while len(graphs) > LAYER_GRAPHS:
                del graphs[next(iter(graphs))]
        return graphs[key]

    def _layer_degree(self, s: Strategy, rng: random.Random) -> Strategy:
        """Give one layer unit another tensor-parallel degree, or copy a
        unit's degree to its neighbour (FlexFlow's propagation)."""
        units = self.layer_units
        degrees = [
            t
            for t in self.tp_degrees
            if (s.dp * s.tp) % t == 0
            and (self.micro * t) % s.tp == 0
            and self.cluster.devices_per_node % t == 0
        ]
        current = {u: s.tp_of(u) for u in units}
        u = rng.choice(units)
        if rng.random() < 0.5 and len(units) > 1:
            k = units.index(u)
            v = units[k + 1] if k + 1 < len(units) else units[k - 1]
            current[v] = current[u]
        else:
            options = [t for t in degrees if t != current[u]]
            if not options:
                return s
            current[u] = rng.choice(options)
        layer_tp = tuple((u, t) for u, t in current.items() if t != s.tp)
        return replace(s, layer_tp=layer_tp, stage_starts=())

    def graph(self, tp: int) -> Graph:
        if tp not in self._graphs:
            self._graphs[tp] = self._factory(tp)
        return self._graphs[tp]

    def _points(self) -> list[tuple[int, int, int]]:
        c = self.cluster
        out = []
        for tp in self.tp_degrees:
            if c.devices_per_node % tp:
                continue
            for pp in range(1, max(1, len(self.units)) + 1):
                for dp in range(1, c.num_devices // (tp * pp) + 1):
                    if dp * tp * pp > c.num_devices:
                        continue
                    samples = dp * self.micro
                    if self.global_batch % samples:
                        continue
                    out.append((dp, tp, pp))
        return out

    def strategy(self, dp, tp, pp, **extra: Any) -> Strategy:
        m = self.global_batch // (dp * self.micro)
        return Strategy(
            name=f"dp{dp}-tp{tp}-pp{pp}",
            dp=dp,
            tp=tp,
            pp=pp,
            microbatches=m,
            optimizer=self.optimizer,
            **extra,
        )

    def random(self, rng: random.Random) -> Strategy:
        dp, tp, pp = rng.choice(self.points)
        rec = tuple(
            u
            for u in self.units
            if self.allow["recompute"] and rng.random() < 0.3
        )
        return self.strategy(dp, tp, pp, recompute=rec)

    def starts(self, rng: random.Random, chains: int) -> list[Strategy]:
        """Data parallelism, Megatron-style grid points, then random ones."""
        starts: list[Strategy] = []
        most = max(self.points, key=lambda p: (p[0] * p[1] * p[2], p[0]))
        starts.append(self.strategy(*most))
        grid = sorted(self.points, key=lambda p: (-p[0] * p[1] * p[2], -p[1]))
        for point in grid:
            if len(starts) >= max(1, chains // 2 + 1):
                break
            s = self.strategy(*point)
            if s not in starts:
                starts.append(s)
        while len(starts) < chains:
            starts.append(self.random(rng))
        return starts[:chains]

    def propose(self, s: Strategy, rng: random.Random) -> Strategy:
        """A neighbour of ``s`` (see the module docstring)."""
        moves = ["degrees", "schedule"]
        if s.pp > 1:
            moves += ["swap"]
        if self.allow["recompute"] and self.units:
            moves += ["recompute", "recompute", "propagate"]
        if self.allow["offload"] and self.units:
            moves += ["offload"]
            if s.offload and s.pp > 1:
                moves += ["offload-target"]
        if self.allow["zero"]:
            moves += ["zero"]
        if self.allow["duplicate"] and s.pp > 1 and self.units:
            moves += ["duplicate", "propagate-duplicate"]
        if self.allow["boundaries"] and 1 < s.pp < len(self.units):
            moves += ["boundary"]
        if self.allow["layers"] and len(self.tp_degrees) > 1:
            moves += ["layer"]
        move = rng.choice(moves)
        if move == "boundary":
            return self._shift_boundary(s, rng)
        if move == "layer":
            return self._layer_degree(s, rng)
        if move == "degrees":
            dp, tp, pp = rng.choice(self.points)
            return replace(
                self.strategy(dp, tp, pp),
                zero=s.zero if dp > 1 else 0,
                recompute=s.recompute,
                offload=s.offload,
                duplicate=s.duplicate if pp > 1 else (),
                offload_to=s.offload_to if pp > 1 else "host",
                schedule=s.schedule,
            )
        if move == "swap":  # exchange two stages' device groups
            order = list(s.placement or range(s.pp))
            a, b = rng.sample(range(s.pp), 2)
            order[a], order[b] = order[b], order[a]
            return replace(s, placement=tuple(order))
        if move == "schedule":
            return replace(
                s, schedule="gpipe" if s.schedule == "1f1b" else "1f1b"
            )
        if move == "offload-target":  # host memory or a peer stage's GPU
            return replace(
                s, offload_to="peer" if s.offload_to == "host" else "host"
            )
        if move == "zero":
            zero = rng.choice([z for z in (0, 1, 2, 3) if z != s.zero])
            return replace(s, zero=zero if s.dp > 1 else 0)
        key = (
            "duplicate"
            if move.endswith("duplicate")
            else "offload"
            if move == "offload"
            else "recompute"
        )
        chosen = set(getattr(s, key))
        u = rng.choice(self.units)
        if move.startswith("propagate"):
            k = self.units.index(u)
            v = (
                self.units[k + 1]
                if k + 1 < len(self.units)
                else self.units[k - 1]
            )
            if u in chosen:
                chosen.add(v)
            else:
                chosen.discard(v)
        else:
            chosen ^= {u}
        ordered = tuple(x for x in self.units if x in chosen)
        return replace(s, **{key: ordered})

    def default_cuts(self, tp: int, pp: int) -> tuple[int, ...]:
        """The simulator's own stage boundaries (indices into ``units`` of
        the first unit of stages 1..pp-1: forward time balanced)."""
        return self._default_cuts(Strategy(tp=tp, pp=pp))

    def _default_cuts(self, s: Strategy) -> tuple[int, ...]:
        key = (s.tp, s.pp, s.layer_tp)  # dp leaves the forward times alone
        if key not in self._cuts:
            times = unit_times(
                self.graph_for(s),
                self.cluster,
                Strategy(
                    dp=s.dp,  # a layer's degree divides dp x tp
                    tp=s.tp,
                    layer_tp=s.layer_tp,
                    optimizer=self.optimizer,
                ),
            )
            weights = [times.get((u, "forward"), 0.0) for u in self.units]
            self._cuts[key] = tuple(_partition(weights, s.pp).tolist())
        return self._cuts[key]

    def cuts(self, s: Strategy) -> tuple[int, ...]:
        """The stage boundaries of ``s`` as indices into ``units``."""
        if s.stage_starts:
            return tuple(sorted(self.units.index(u) for u in s.stage_starts))
        return self._default_cuts(s)

    def with_cuts(self, s: Strategy, cuts: tuple[int, ...]) -> Strategy:
        """``s`` with stage boundaries ``cuts`` (the simulator's default
        written as none, so that one strategy has one form)."""
        if tuple(cuts) == self._default_cuts(s):
            return replace(s, stage_starts=())
        return replace(s, stage_starts=tuple(self.units[c] for c in cuts))

    def _shift_boundary(self, s: Strategy, rng: random.Random) -> Strategy:
        """Move one pipeline stage boundary by one layer unit."""
        cuts = list(self.cuts(s))
        options = []
        for i, c in enumerate(cuts):
            low = cuts[i - 1] + 1 if i else 1
            high = (
                cuts[i + 1] - 1 if i + 1 < len(cuts) else len(self.units) - 1
            )
            options += [(i, c + d) for d in (-1, 1) if low <= c + d <= high]
        if not options:
            return s
        i, c = rng.choice(options)
        cuts[i] = c
        return self.with_cuts(s, tuple(cuts))

    def evaluate(
        self,
        s: Strategy,
        objective: Callable[[Any], float],
        limit: int,
        memory: str = "liveness",
        order: str = "fifo",
    ) -> Evaluation:
        try:
            g = self.graph_for(s)
            r = simulate(g, self.cluster, s, order=order, cache=self._cache)
        except StrategyError as exc:  # a strategy this graph cannot run
            return Evaluation(s, math.inf, math.inf, 2**62, False, str(exc))
        except RuntimeError as exc:  # a simulation that deadlocked: reported
            return Evaluation(s, math.inf, math.inf, 2**62, False, str(exc))
        peak = r.peak if memory == "liveness" else _sum_of_sizes(g, r, s)
        return Evaluation(
            s, objective(r), r.iteration_time, peak, peak <= limit
        )


def _units(g: Graph) -> list[str]:
    """Layer units in program order (forward nodes)."""
    seen: dict[str, None] = {}
    order = (
        [g.index(v) for v in g.trace_order]
        if g.trace_order is not None
        else g.topological_order().tolist()
    )
    phase = g.phase or ["forward"] * g.n
    layer = g.layer or [None] * g.n
    for v in order:
        u = unit_of(layer[v])
        if u is not None and phase[v] == "forward":
            seen.setdefault(u, None)
    return list(seen)


def _sum_of_sizes(g: Graph, r: Any, s: Strategy) -> int:
    """FlexFlow's memory check: the model state plus every buffer the
    stage's operations produce, all counted at once (no liveness), once per
    micro-batch in flight (1F1B: ``min(pp - stage, m)``; GPipe: ``m``)."""
    sizes = r.stats["buffer_bytes_per_stage"]

    def flight(st: int) -> int:
        m = s.microbatches
        return m if s.schedule == "gpipe" else min(s.pp - st, m)

    return max(
        d.model_state + sizes[d.stage] * flight(d.stage) for d in r.devices
    )


#: the cost of a strategy over the limit when they are rejected: above any
#: step time, growing with the excess
UNFIT = 1e12

# The chains' arguments (a Space holds functions, which do not pickle) are
# handed to forked workers through this list, set just before the fork and
# cleared after: workers receive only an index.
_FORK_JOBS: list[tuple] = []


def _run_job(k: int) -> dict[str, Any]:
    # The parent stops us on Ctrl-C (which reaches the whole process group
    # from a terminal): ignored here. SIGTERM (a supervisor's, to the
    # group, or the pool's terminate()) ends the chain at its next
    # proposal with its best, as the parent's stop does; it was held while
    # this process was forked, so it is let in here. Should the parent die
    # without stopping us (SIGKILL), the chain ends the same way and the
    # process exits instead of waiting for work forever, holding the
    # parent's stdout open.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    termed: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, frame: termed.append(signum))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    parent = os.getppid()
    job, stop, queue = _FORK_JOBS[k]

    def stopped() -> bool:
        return bool(termed) or stop.is_set() or os.getppid() != parent

    result = _chain(job, stopped, lambda status: queue.put((k, status)))
    if os.getppid() != parent:
        os._exit(1)
    return result


def _chain(
    args: tuple,
    stopped: Callable[[], bool] | None = None,
    report: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    """One chain (:func:`_walk`) with the objects that exist before it (the
    traced graphs among them) left out of garbage collection: each
    simulation creates tens of thousands of objects, and full collections
    would otherwise walk the whole heap again and again."""
    gc.freeze()
    try:
        return _walk(args, stopped, report)
    finally:
        gc.unfreeze()


def _walk(
    args: tuple,
    stopped: Callable[[], bool] | None = None,
    report: Callable[[dict], None] | None = None,
) -> dict[str, Any]:
    (
        space,
        start,
        seed,
        budget,
        iterations,
        beta,
        reset,
        objective_name,
        limit,
        penalty,
        memory,
        t0,
    ) = args
    objective = OBJECTIVES[objective_name]
    rng = random.Random(seed)
    cache: dict[Any, Evaluation] = {}

    def cost(e: Evaluation) -> float:
        if e.fits:
            return e.cost
        if not math.isfinite(e.cost):
            return math.inf
        excess = max(0.0, e.peak - limit) / limit
        if penalty is None:
            # never chosen, but a chain that is over the limit still walks
            # towards it: any fitting strategy beats it, less excess is better
            return UNFIT * (1 + excess)
        return e.cost * (1 + penalty * excess)

    def evaluate(s: Strategy) -> Evaluation:
        key = s.key()
        if key not in cache:
            cache[key] = space.evaluate(s, objective, limit, memory)
        return cache[key]

    current = start
    cur = evaluate(current)
    best = cur if cur.fits else None
    smallest = cur.peak
    history = [(time.perf_counter() - t0, cur.cost)] if best else []
    accepted = evaluated = feasible = 0
    failed: set[str] = set()  # proposals that raised
    last_gain = time.perf_counter()
    begin = last_report = time.perf_counter()
    interrupted = False
    for it in range(iterations):
        now = time.perf_counter()
        if now - begin > budget or (now - last_gain > budget / 2 and it > 20):
            break
        if stopped is not None and stopped():
            interrupted = True
            break
        if report is not None and now - last_report > 0.5:
            last_report = now
            report(
                {
                    "best": best.time if best else None,
                    "evaluated": evaluated,
                    "accepted": accepted,
                    "feasible": feasible,
                }
            )
        if reset and it and it % reset == 0 and best is not None:
            current, cur = best.strategy, best
        try:
            cand = space.propose(current, rng)
        except StrategyError as exc:  # a move that cannot apply: a bug to
            failed.add(f"proposal from {current.name}: {exc}")  # report
            continue
        e = evaluate(cand)
        evaluated += 1
        feasible += e.fits
        smallest = min(smallest, e.peak)
        c_new, c_old = cost(e), cost(cur)
        if e.fits and (best is None or e.cost < best.cost):
            best = e
            last_gain = time.perf_counter()
            history.append((last_gain - t0, e.cost))
        if c_new < c_old or (
            math.isfinite(c_new)
            and rng.random()
            < math.exp(-beta * (c_new - c_old) / max(c_old, 1e-30))
        ):
            current, cur = cand, e
            accepted += 1
    return {
        "best": best,
        "evaluated": evaluated,
        "accepted": accepted,
        "feasible": feasible,
        "smallest_peak": smallest,
        "history": history,
        "start": start.name,
        "distinct": len(cache),
        "interrupted": interrupted,
        "errors": sorted(
            {
                e.error
                for e in cache.values()
                if e.error and "deadlock" in e.error
            }
            | failed
        )[:5],
    }


def search(
    space: Space,
    *,
    memory_limit: int | None = None,
    budget: float = 60.0,
    iterations: int = 10**9,
    chains: int = 2,
    seed: int = 0,
    beta: float = 20.0,
    objective: str = "time",
    penalty: float | None = None,
    memory: str = "liveness",
    processes: int | None = None,
    progress: Callable[[dict], None] | None = None,
    starts: list[Strategy] | None = None,
    grid_start: bool = True,
    executor: str = "local",
    scheduler: str | None = None,
) -> SearchResult:
    """Metropolis-Hastings over ``space`` (see the module docstring).

    Parameters
    ----------
    memory_limit
        Bytes per device (default: the device's capacity).
    budget, iterations
        Seconds and proposals per chain.
    chains
        Independent chains (different starts and seeds), run in parallel
        processes (``processes``, default up to the CPU count).
    beta
        Inverse temperature on the relative cost change.
    objective
        A name of :data:`OBJECTIVES`.
    penalty
        ``None``: strategies over the limit are never chosen (a chain that
        is over it moves towards less excess); a number ``w``: their cost
        is multiplied by ``1 + w * excess / limit``.
    memory
        ``liveness`` (the simulator's per-device peak) or ``sum``
        (FlexFlow's sum of sizes, for comparison).
    starts
        Strategies some chains start from (before the space's own starts:
        data parallelism, grid points, random ones).
    executor, scheduler
        ``local``: forked processes on this machine; ``dask``: one task per
        chain on a Dask cluster (``scheduler`` its address, else a local
        cluster), as ``pebble-sched bench`` does; progress is then reported
        when chains end.
    grid_start
        First evaluate every grid point (:func:`grid_search`) and start one
        chain from the fastest that fits, so the result is never slower
        than the grid's.
    progress
        Called about twice a second with ``best`` (step time), ``evaluated``,
        ``accepted``, ``feasible`` summed over the chains.

    Ctrl-C stops every chain and returns the best found so far
    (``SearchResult.interrupted``).
    """
    if executor not in ("local", "dask"):
        raise ValueError("The executor must be 'local' or 'dask'.")
    if objective not in OBJECTIVES:
        raise ValueError(
            f"Unknown objective {objective!r}; choose one of {', '.join(OBJECTIVES)}."
        )
    limit = int(memory_limit or space.cluster.device.memory)
    rng = random.Random(seed)
    given = list(starts or [])
    early_stop = False
    if grid_start:
        try:
            point, _ = grid_search(
                space, memory_limit=limit, objective=objective, memory=memory
            )
        except KeyboardInterrupt:  # the chains will only evaluate their starts
            point, early_stop = None, True
        if point is not None:
            given.insert(0, point.strategy)
    given = given[:chains]
    starts = (
        given + space.starts(rng, chains - len(given))
        if chains > len(given)
        else given
    )
    reset = max(1, min(iterations // 100 if iterations < 10**8 else 50, 1000))
    t0 = time.perf_counter()
    jobs = [
        (
            space,
            st,
            seed * 1000 + k,
            budget,
            iterations,
            beta,
            reset,
            objective,
            limit,
            penalty,
            memory,
            t0,
        )
        for k, st in enumerate(starts)
    ]
    workers = min(len(jobs), processes or os.cpu_count() or 1)
    status: dict[int, dict] = {}

    def tell(k: int, st: dict) -> None:
        status[k] = st
        if progress is not None:
            times = [
                x["best"] for x in status.values() if x["best"] is not None
            ]
            progress(
                {
                    "best": min(times) if times else None,
                    **{
                        key: sum(x[key] for x in status.values())
                        for key in ("evaluated", "accepted", "feasible")
                    },
                }
            )

    interrupted = early_stop
    if executor == "dask":
        results, stopped = _on_dask(jobs, scheduler, tell)
        interrupted = interrupted or stopped
    elif workers > 1 and hasattr(os, "fork"):
        import multiprocessing
        import queue as queues

        ctx = multiprocessing.get_context("fork")
        stop, channel = ctx.Event(), ctx.Queue()
        if early_stop:
            stop.set()
        _FORK_JOBS[:] = [(job, stop, channel) for job in jobs]
        try:
            with sigint_seen() as seen:
                try:  # no Ctrl-C while the workers fork (sigint_held)
                    with sigint_held():
                        pool = ProcessPoolExecutor(workers, mp_context=ctx)
                        futures = [
                            pool.submit(_run_job, k) for k in range(len(jobs))
                        ]
                except KeyboardInterrupt:  # it came meanwhile: stop them
                    seen.append(signal.SIGINT)
                with pool:
                    while True:
                        try:
                            if seen and not stop.is_set():
                                interrupted = True
                                stop.set()
                            if all(f.done() for f in futures):
                                break
                            k, st = channel.get(timeout=0.2)
                            tell(k, st)
                        except queues.Empty:
                            pass
                        except KeyboardInterrupt:
                            seen.append(signal.SIGINT)
                    results = [f.result() for f in futures]
                interrupted = interrupted or bool(seen)
        finally:
            _FORK_JOBS.clear()
    else:
        flag = {"stop": early_stop}
        results = []
        for k, job in enumerate(jobs):
            try:
                results.append(
                    _chain(
                        job, lambda: flag["stop"], lambda st, k=k: tell(k, st)
                    )
                )
            except KeyboardInterrupt:  # between two proposals: start over
                flag["stop"] = interrupted = True
                results.append(_chain(job, lambda: True))
    interrupted = interrupted or any(r["interrupted"] for r in results)
    bests = [r["best"] for r in results if r["best"] is not None]
    best = min(bests, key=lambda e: e.cost) if bests else None
    if best is not None:  # a few simulations, also after Ctrl-C
        try:
            best = _simplify(space, best, OBJECTIVES[objective], limit, memory)
        except KeyboardInterrupt:  # a second one: the best as found
            interrupted = True
    history = sorted(h for r in results for h in r["history"])
    running, merged = math.inf, []
    for t, c in history:
        if c < running:
            running = c
            merged.append((t, c))
    return SearchResult(
        best=best.strategy if best else None,
        best_evaluation=best,
        evaluated=sum(r["evaluated"] for r in results),
        accepted=sum(r["accepted"] for r in results),
        feasible=sum(r["feasible"] for r in results),
        smallest_peak=min(r["smallest_peak"] for r in results),
        history=merged,
        chains=[
            {
                k: r[k]
                for k in (
                    "start",
                    "evaluated",
                    "accepted",
                    "feasible",
                    "distinct",
                )
            }
            for r in results
        ],
        interrupted=interrupted,
        errors=sorted({m for r in results for m in r["errors"]})[:5],
    )


def _on_dask(jobs, scheduler, tell) -> tuple[list[dict[str, Any]], bool]:
    """Each chain as a task on a Dask cluster; Ctrl-C keeps the finished ones."""
    from ..runtime import dask_client

    client = dask_client(scheduler, len(jobs))
    from distributed import as_completed

    done: dict[int, dict[str, Any]] = {}
    stopped = False
    try:
        futures = {
            client.submit(_chain, job, pure=False): k
            for k, job in enumerate(jobs)
        }
        try:
            for future in as_completed(futures):
                k = futures[future]
                done[k] = future.result()
                r = done[k]
                tell(
                    k,
                    {
                        "best": r["best"].time if r["best"] else None,
                        "evaluated": r["evaluated"],
                        "accepted": r["accepted"],
                        "feasible": r["feasible"],
                    },
                )
        except KeyboardInterrupt:
            stopped = True
            for future in futures:
                future.cancel()
    finally:
        client.close()
    if not done:
        # interrupted before any chain ended: evaluate the starts here
        done = {k: _chain(job, lambda: True) for k, job in enumerate(jobs)}
    return [done[k] for k in sorted(done)], stopped


def _simplify(space, best: Evaluation, objective, limit, memory) -> Evaluation:
    """Drop recomputation, offload and duplication flags that buy nothing (equal or
    lower cost without them, still fitting), one at a time."""
    changed = True
    while changed:
        changed = False
        for key in ("recompute", "offload", "duplicate", "zero"):
            values = getattr(best.strategy, key)
            options = (
                [0]
                if key == "zero" and values
                else [tuple(x for x in values if x != u) for u in values]
                if key != "zero"
                else []
            )
            for value in options:
                e = space.evaluate(
                    replace(best.strategy, **{key: value}),
                    objective,
                    limit,
                    memory,
                )
                if e.fits and e.cost <= best.cost:
                    best, changed = e, True
                    break
    return best


def grid_search(
    space: Space,
    *,
    memory_limit: int | None = None,
    objective: str = "time",
    memory: str = "liveness",
) -> tuple[Evaluation | None, list[Evaluation]]:
    """Every (dp, tp, pp) point, no recomputation or offload: the fastest
    that fits, and every evaluation."""
    limit = int(memory_limit or space.cluster.device.memory)
    evals = [
        space.evaluate(
            space.strategy(*p), OBJECTIVES[objective], limit, memory
        )
        for p in space.points
    ]
    ok = [e for e in evals if e.fits]
    return (min(ok, key=lambda e: e.cost) if ok else None), evals


def exhaustive(
    space: Space,
    *,
    memory_limit: int | None = None,
    objective: str = "time",
) -> tuple[Evaluation | None, int]:
    """Every strategy of a small space (all points, stage boundaries,
    schedules, ZeRO stages and subsets of recomputed, offloaded and (with
    pipelines) duplicated units the space allows): the
    optimum that fits and the number evaluated. For tests and tiny models."""
    from itertools import combinations, product

    limit = int(memory_limit or space.cluster.device.memory)
    units = space.units
    subsets = [
        tuple(u for u, bit in zip(units, bits, strict=True) if bit)
        for bits in product((0, 1), repeat=len(units))
    ]
    rec = subsets if space.allow["recompute"] else [()]
    off = subsets if space.allow["offload"] else [()]
    dup = subsets if space.allow["duplicate"] else [()]
    best, count = None, 0
    for dp, tp, pp in space.points:
        zeros = (0, 1, 2, 3) if space.allow["zero"] and dp > 1 else (0,)
        base = space.strategy(dp, tp, pp)
        splits = (
            [
                space.with_cuts(base, c)
                for c in combinations(range(1, len(units)), pp - 1)
            ]
            if space.allow["boundaries"] and pp > 1
            else [base]
        )
        for split, zero, schedule, r, o, d in product(
            splits, zeros, ("1f1b", "gpipe"), rec, off, dup if pp > 1 else [()]
        ):
            s = replace(
                split,
                zero=zero,
                schedule=schedule,
                recompute=r,
                offload=o,
                duplicate=d,
            )
            e = space.evaluate(s, OBJECTIVES[objective], limit)
            count += 1
            if e.fits and (best is None or e.cost < best.cost):
                best = e
    return best, count
