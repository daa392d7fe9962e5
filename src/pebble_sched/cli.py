"""The ``pebble-sched`` command: a thin click shell over the library.

stdout is data (schedules, JSON), stderr is for people (summaries,
progress, errors). A bad input file exits with status 2 and one line
``Error: ...`` on stderr; Ctrl-C during ``solve`` writes the best schedule
found so far and exits with status 130.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import math
import os
import re
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, Self

import click

from ._version import __version__
from .exceptions import PebbleSchedError, ScheduleError
from .formats import (
    read_graph,
    read_schedule,
    write_graph,
    write_json,
    write_schedule,
)
from .info import graph_info
from .parallel.fictitious_edges import HEURISTICS as PARALLEL_METHODS
from .progress import StatusLine
from .runtime import process_age, write_reserve
from .schedule import format_bytes, format_size
from .solve import METHODS, solve
from .solvers.dominant import SP_FAMILIES
from .verify import verify

if TYPE_CHECKING:
    from collections.abc import Callable

    from .graph import Graph


class InputError(click.ClickException):
    """A user mistake in a file or an argument: one line, exit status 2."""

    exit_code = 2


def _read(path: str) -> Graph:
    try:
        return read_graph(path)
    except PebbleSchedError as exc:
        raise InputError(str(exc)) from None


class _Signals:
    """SIGINT and SIGTERM while ``solve`` runs: stop and keep the best.

    Both raise ``KeyboardInterrupt`` (which every solver turns into "return
    the best so far"); the signal received first decides the exit status,
    128 + its number (130 for Ctrl-C, 143 for SIGTERM), as shells report
    them.

    A later signal is ignored for ``AGAIN_S`` seconds after the one that
    raised: that one already stops every phase, and a double press must
    not cut short the return of the best so far. After that it raises
    again: a raise can be lost (an exception raised by a signal handler
    inside an at-fork hook, or in a library's bare ``except``, is
    dropped), and a user who presses again after waiting wants the run to
    stop. :meth:`hold` ignores every signal while the result is written.

    A signal ignored when the command starts stays ignored, as in the
    interpreter and POSIX programs: a shell without job control starts its
    background jobs with SIGINT ignored, so that Ctrl-C at the terminal
    does not reach them.
    """

    AGAIN_S = 2.0

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.received: int | None = None
        self.previous: dict[int, Any] = {}
        self.clock = clock
        self.raised = -math.inf  # (when the handler last raised)

    def _handler(self, signum: int, frame: Any) -> None:
        now = self.clock()
        if self.received is None or now - self.raised >= self.AGAIN_S:
            if self.received is None:
                self.received = signum
            self.raised = now
            raise KeyboardInterrupt

    def __enter__(self) -> Self:
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not signal.SIG_IGN:
                self.previous[sig] = signal.signal(sig, self._handler)
        return self

    def hold(self) -> None:
        """Ignore further signals (while the result is written)."""
        for sig in self.previous:
            signal.signal(sig, signal.SIG_IGN)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


class _Group(click.Group):
    """The command group: Ctrl-C in a command that does not keep a best
    result of its own (reading, setting up) ends with one line and exit
    status 130, as shells report it, instead of click's "Aborted!" and 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("\ninterrupted: nothing written", err=True)
            sys.exit(128 + signal.SIGINT)


@click.group(
    cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.version_option(package_name="pebble-sched")
@click.option(
    "-v", "--verbose", count=True, help="Log more (repeat for debug)."
)
def main(verbose: int) -> None:
    """Operator orders of computation graphs with minimal peak memory."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s"
    )


def run() -> None:
    """The command line (the ``pebble-sched`` script, ``python -m
    pebble_sched``): :func:`main`, then an exit that skips the
    interpreter's teardown once the command has returned and its output
    is flushed. Freeing the solvers' millions of objects one by one took
    0.55 s after a 10^5-node solve had written its schedule, and 0.7 s
    at 10^6 nodes; nothing is left to do by then (files are written and
    closed, child processes waited for, and the solver threads are
    daemons)."""
    try:
        main()  # (click's standalone mode: ends with SystemExit)
    except SystemExit as exc:
        code = exc.code
    else:  # pragma: no cover - click always exits
        code = 0
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # (a closed pipe)
            stream.flush()
    os._exit(code)


METHOD_NAMES = ["auto", *METHODS]


@main.command("solve")
@click.argument("graph_file", metavar="GRAPH.json", type=click.Path())
@click.option(
    "--method",
    "-m",
    default="auto",
    show_default=True,
    type=click.Choice(METHOD_NAMES),
    help="Solver to use.",
)
@click.option(
    "--time-limit",
    "-t",
    type=float,
    default=None,
    help="Wall-clock limit in seconds (default: none; the "
    "heuristics stop at a local optimum).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(),
    default=None,
    help="Write the schedule (JSON) to this file.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the schedule JSON on stdout.",
)
@click.option(
    "--keep-outputs/--no-keep-outputs",
    default=None,
    help="Keep the sinks' outputs resident to the end "
    "(default: as the file says).",
)
@click.option(
    "--sp-family",
    type=click.Choice(SP_FAMILIES),
    default=None,
    help="Fork candidates of the SP solver (sp, pumpkin, tree, auto): "
    "all pre-release ideals (full), the threshold family of Lemma 5 "
    "(threshold: exact on flat forks, and with nested branches where "
    "their own families fit the budgets; beyond them the answer says "
    "feasible), "
    "or full with threshold first on flat forks and beyond its budgets "
    "(auto, the default).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress and no summary."
)
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Log every improvement, bound and phase, one line each.",
)
def solve_cmd(
    graph_file,
    method,
    time_limit,
    output,
    as_json,
    keep_outputs,
    sp_family,
    seed,
    quiet,
    verbose,
):
    """Find a low-peak schedule of GRAPH.json and say what was proven."""
    if time_limit is not None and not (
        time_limit >= 0 and math.isfinite(time_limit)
    ):
        raise InputError(
            "--time-limit must be a non-negative number of seconds."
        )
    options = {}
    if sp_family is not None:
        if method not in ("auto", "sp", "pumpkin", "tree"):
            raise InputError(
                "--sp-family applies to the methods auto, sp, pumpkin and tree."
            )
        options["sp_family"] = sp_family
    started = time.monotonic() - process_age()
    with _Signals() as signals:
        try:
            graph = _read(graph_file)
            progress = (
                None
                if quiet
                else StatusLine(
                    sys.stderr,
                    live=False if verbose else None,
                    verbose=verbose,
                )
            )
            # the limit counts from the process's start (interpreter start-up,
            # imports and reading included) and keeps back what checking and
            # writing the result will take
            limit = math.inf
            if time_limit is not None:
                spent = time.monotonic() - started
                limit = max(0.0, time_limit - spent - write_reserve(graph))
                if limit == 0 and not quiet:
                    click.echo(
                        f"note: starting and reading {graph_file} took "
                        f"{spent:.1f} s of the {time_limit:g} s limit; "
                        "no time is left to solve",
                        err=True,
                    )
        except KeyboardInterrupt:
            click.echo("interrupted before solving: nothing written", err=True)
            sys.exit(128 + (signals.received or signal.SIGINT))
        try:
            schedule = solve(
                graph,
                method,
                time_limit=limit,
                seed=seed,
                callbacks=progress,
                keep_outputs=keep_outputs,
                **options,
            )
        except ValueError as exc:
            raise InputError(str(exc)) from None
        except KeyboardInterrupt:
            # a signal in the last milliseconds, while solve() was wrapping
            # up: the input order with the cheap bounds, signals held
            signals.hold()
            schedule = solve(graph, "input", keep_outputs=keep_outputs)
        finally:
            if progress is not None:
                progress.close()
        signals.hold()
        if output:
            try:
                write_schedule(output, schedule)
            except OSError as exc:
                raise InputError(
                    f"{output}: {exc.strerror or exc}; nothing written."
                ) from None
        if as_json:
            click.echo(json.dumps(schedule.to_dict()))
        if not quiet:
            click.echo(schedule.summary(), err=True)
            if (why := _lemma5_note(schedule)) is not None:
                click.echo(why, err=True)
            if output:
                click.echo(f"schedule written to {output}", err=True)
            elif not as_json:
                click.echo(
                    "schedule not saved: add --output FILE (or --json for "
                    "stdout)",
                    err=True,
                )
        if signals.received is not None:
            click.echo("interrupted: best schedule so far", err=True)
            sys.exit(128 + signals.received)


def _lemma5_note(schedule: Any) -> str | None:
    """Why an order of the SP solver is not reported optimal, when the only
    reason is the conjectured form of Lemma 5 (forks with nested branches
    decided with one threshold shared by all branches, which can miss the
    optimum: docs/theory.md)."""
    if schedule.status.value == "optimal" or schedule.method != "sp":
        return None
    st = schedule.stats
    if "conjectured_forks" not in st:
        st = st.get("sp") or {}
    k = st.get("conjectured_forks", 0)
    if not k or not st.get("optimal_if_lemma5"):
        return None
    return (
        f"  note        : {k} of {st.get('forks', '?')} forks were decided by "
        "the conjectured form of Lemma 5, which can miss the optimum (see "
        "docs/theory.md); --sp-family threshold decides them exactly where "
        "its budgets allow"
    )


@main.command("verify")
@click.argument("graph_file", metavar="GRAPH.json", type=click.Path())
@click.argument("schedule_file", metavar="SCHEDULE.json", type=click.Path())
def verify_cmd(graph_file, schedule_file):
    """Check that SCHEDULE.json is a valid order of GRAPH.json with the peak it claims.

    Exit status 0 when it is (the peak is printed), 1 with the reason when
    it is not, 2 when a file cannot be read.
    """
    graph = _read(graph_file)
    try:
        schedule = read_schedule(schedule_file)
    except PebbleSchedError as exc:
        raise InputError(str(exc)) from None
    try:
        peak = verify(graph, schedule)
    except ScheduleError as exc:
        click.echo(f"INVALID: {exc}", err=True)
        sys.exit(1)
    click.echo(
        f"valid: peak {format_size(peak)}, status {schedule.status.value}"
    )


@main.command("info")
@click.argument("graph_file", metavar="GRAPH.json", type=click.Path())
@click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable output."
)
def info_cmd(graph_file, as_json):
    """Describe GRAPH.json: size, shape, class and memory."""
    graph = _read(graph_file)
    info = graph_info(graph)
    if as_json:
        click.echo(json.dumps(info))
        return
    width = max(len(k) for k in info)
    for key, val in info.items():
        if key.endswith("bytes") and isinstance(val, int):
            val = format_size(val)
        click.echo(f"{key:<{width}} : {val}")


@main.command("bench")
@click.argument(
    "sets", metavar="SET...", nargs=-1, required=True, type=click.Path()
)
@click.option(
    "--methods",
    default="auto,inductor",
    show_default=True,
    help="Comma-separated methods to compare.",
)
@click.option(
    "--time-limit",
    "-t",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds per instance and method.",
)
@click.option(
    "--jobs",
    "-j",
    type=int,
    default=1,
    show_default=True,
    help="Tasks run at once.",
)
@click.option(
    "--out",
    type=click.Path(),
    default="bench-out",
    show_default=True,
    help="Folder for results.csv, report.md and schedules/.",
)
@click.option(
    "--update-best",
    is_flag=True,
    help="Update the sets' index files with verified improvements.",
)
@click.option(
    "--resume", is_flag=True, help="Skip pairs already in results.csv."
)
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
)
@click.option(
    "--scheduler",
    default=None,
    help="Dask scheduler address (tcp://host:8786); default: a local cluster.",
)
@click.option(
    "--memory-limit",
    type=int,
    default=None,
    help="Address-space limit per task, in MiB.",
)
@click.option(
    "--grace",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds past the time limit before a task counts as hung.",
)
@click.option(
    "--plot",
    is_flag=True,
    help="Also write gap_vs_time.png (needs matplotlib).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the raw rows as JSON."
)
def bench_cmd(
    sets,
    methods,
    time_limit,
    jobs,
    out,
    update_best,
    resume,
    executor,
    scheduler,
    memory_limit,
    grace,
    plot,
    as_json,
):
    """Run methods on instance sets and report gaps to the best known values."""

    from .bench import (
        BenchConfig,
        find_instances,
        markdown_report,
        read_index,
        run_bench,
    )
    from .bench.instances import update_best as do_update
    from .bench.report import report_header

    names = [m.strip() for m in methods.split(",") if m.strip()]
    bad = [m for m in names if m not in METHOD_NAMES]
    if bad:
        raise InputError(
            f"Unknown method {bad[0]!r}; choose among {', '.join(METHOD_NAMES)}."
        )
    try:
        config = BenchConfig(
            methods=names,
            time_limit=time_limit,
            jobs=jobs,
            out=out,
            resume=resume,
            executor=executor,
            scheduler=scheduler,
            memory_limit_mb=memory_limit,
            grace=grace,
        )
        found = find_instances(list(sets))
    except (ValueError, FileNotFoundError) as exc:
        raise InputError(str(exc)) from None
    if not found:
        raise InputError(
            "No instance files (*.json, *.json.gz) in the given sets."
        )
    cores = os.cpu_count() or 1
    if jobs > cores:
        click.echo(
            f"warning: {jobs} jobs on {cores} cores: timings will suffer",
            err=True,
        )
    total = sum(len(s.files) for s in found) * len(names)
    click.echo(
        f"bench: {total} runs ({len(found)} sets, {len(names)} methods, "
        f"{time_limit:g} s each, {jobs} at once)",
        err=True,
    )

    def progress(k, n, row):
        peak = row["peak"] if row["peak"] is not None else "-"
        mark = "" if row["verified"] else "  <-- FAILED"
        if row["status"] == "unsupported":
            click.echo(
                f"[{k}/{n}] {row['family']}/{row['instance']} "
                f"{row['method']}: not this method's kind of graph, skipped",
                err=True,
            )
            return
        if row["status"] == "wrong":
            mark = "  <-- WRONG SCHEDULE"
        click.echo(
            f"[{k}/{n}] {row['family']}/{row['instance']} {row['method']}: "
            f"{row['status']} peak {peak} ({row['time_s']:.1f} s){mark}",
            err=True,
        )

    # Ctrl-C and SIGTERM: the finished runs are kept and reported
    with _Signals() as signals:
        try:
            rows, interrupted = run_bench(found, config, progress)
        except ModuleNotFoundError as exc:
            raise InputError(str(exc)) from None
    index = {s.family: read_index(s.root) for s in found}
    header = report_header(
        time_limit=time_limit,
        methods=names,
        jobs=jobs,
        sets=[s.family for s in found],
        version=__version__,
        date=datetime.date.today().isoformat(),
        cores=cores,
    )
    report = markdown_report(rows, index, header)
    (config.out / "report.md").write_text(report)
    if plot:
        from .bench.report import best_known
        from .plotting import plot_gap_vs_time

        try:
            plot_gap_vs_time(
                rows,
                best_known(rows, index),
                config.out / "gap_vs_time.png",
                title=f"Gap to best known vs time ({time_limit:g} s limit, "
                f"{len(rows)} runs)",
            )
        except ModuleNotFoundError as exc:
            click.echo(f"warning: {exc}", err=True)
    if update_best and not interrupted:
        for line in do_update(found, rows, config.out):
            click.echo(f"updated {line}", err=True)
    if as_json:
        click.echo(json.dumps(rows))
    else:
        click.echo(report)
    failed = sum(
        1 for r in rows if not r["verified"] and r["status"] != "unsupported"
    )
    click.echo(
        f"{len(rows)} runs, {failed} failed; results in {config.out}/",
        err=True,
    )
    if interrupted:
        click.echo(
            "interrupted: the finished runs are saved (rerun with --resume)",
            err=True,
        )
        sys.exit(128 + (signals.received or signal.SIGINT))


@main.command("parallel")
@click.argument("graph_file", metavar="GRAPH.json", type=click.Path())
@click.option(
    "--memory",
    "memory",
    type=int,
    default=None,
    help="The memory bound M in bytes.",
)
@click.option(
    "--memory-factor",
    type=float,
    default=None,
    help="M as a multiple of the sequential optimum (default 1.0).",
)
@click.option(
    "--procs",
    "-p",
    type=int,
    default=4,
    show_default=True,
    help="Processors for the makespans.",
)
@click.option(
    "--method",
    "-m",
    type=click.Choice([*PARALLEL_METHODS, "cpsat", "best"]),
    default="respect-order",
    show_default=True,
    help="How to choose the fictitious edges: a heuristic, cpsat (the "
    "least critical path, proven; at most 40 nodes, single-reader data), "
    "or best (all that apply, the shortest critical path wins).",
)
@click.option(
    "--time-limit",
    "-t",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds for the sequential solve and the edge insertion.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(),
    default=None,
    help="Write the restricted graph (instance format; the added edges "
    'carry "fictitious": true).',
)
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(),
    default=None,
    help="Draw the restricted graph's schedule as a Gantt chart with the "
    "memory curve underneath (PNG; needs the plot extra).",
)
@click.option(
    "--schedule",
    "schedule_file",
    type=click.Path(),
    default=None,
    help="Write the list schedule of the restricted graph (start and "
    "processor per node).",
)
def parallel_cmd(
    graph_file,
    memory,
    memory_factor,
    procs,
    method,
    time_limit,
    output,
    schedule_file,
    plot_file,
):
    """Keep every parallel schedule of GRAPH.json under a memory bound.

    Computes the sequential optimum (the smallest bound any parallel
    execution can be held to), the largest parallel peak, adds fictitious
    edges until that is at most M, and reports the critical paths and the
    makespans on P processors: unconstrained, restricted, and a
    memory-aware dynamic scheduler.
    """
    if memory is not None and memory_factor is not None:
        raise InputError("Give --memory or --memory-factor, not both.")
    if procs < 1:
        raise InputError("--procs must be at least 1.")
    if not (time_limit > 0 and math.isfinite(time_limit)):
        raise InputError("--time-limit must be a positive number of seconds.")
    graph = _read(graph_file)
    deadline = time.monotonic() + time_limit
    with _Signals() as signals:  # Ctrl-C: keep the best restriction
        return _parallel(
            graph,
            deadline,
            signals,
            memory,
            memory_factor,
            procs,
            method,
            time_limit,
            output,
            schedule_file,
            plot_file,
        )


def _parallel(
    graph,
    deadline,
    signals,
    memory,
    memory_factor,
    procs,
    method,
    time_limit,
    output,
    schedule_file,
    plot_file,
):
    from .parallel import (
        exact_restrict,
        list_schedule,
        max_parallel_peak,
        memory_aware_schedule,
        restrict,
    )
    from .parallel.exact_edges import MAX_NODES as EXACT_MAX_NODES

    def stop_early() -> None:
        click.echo("interrupted before restricting: nothing written", err=True)
        sys.exit(128 + signals.received)

    seq = solve(graph, time_limit=time_limit * 0.3)
    if signals.received is not None:
        stop_early()
    if memory is None:
        factor = 1.0 if memory_factor is None else memory_factor
        if factor <= 0:
            raise InputError("--memory-factor must be positive.")
        memory = int(factor * seq.peak)
    if memory < seq.lower_bound:
        raise InputError(
            f"Infeasible: every schedule, even sequential, needs at least "
            f"{format_size(seq.lower_bound)} (proven lower bound, "
            f"method {seq.method}); the bound is {format_size(memory)}."
        )
    if memory < seq.peak:
        raise InputError(
            f"No order within {format_size(memory)} was found (best "
            f"{format_size(seq.peak)}, proven lower bound "
            f"{format_size(seq.lower_bound)}): feasibility unknown; try "
            "pebble-sched solve with a longer time limit."
        )
    try:
        before = max_parallel_peak(
            graph, time_limit=max(1.0, time_limit * 0.1)
        )
    except KeyboardInterrupt:
        stop_early()
    methods = list(PARALLEL_METHODS) if method == "best" else [method]
    if method == "best" and graph.n <= EXACT_MAX_NODES:
        methods.append("cpsat")
    results = []
    for name in methods:
        left = max(0.1, deadline - time.monotonic())
        share = left / max(1, len(methods) - len(results))
        try:
            if name == "cpsat":
                results.append(exact_restrict(graph, memory, time_limit=share))
            else:
                results.append(
                    restrict(
                        graph,
                        memory,
                        name,
                        order=list(seq.order)
                        if name == "respect-order"
                        else None,
                        time_limit=share,
                    )
                )
        except ValueError as exc:
            if method == "best":
                continue  # cpsat declines graphs outside its model
            raise InputError(str(exc)) from None
        except KeyboardInterrupt:
            break  # a method with no answer yet: the others' are kept
        if signals.received is not None:
            break  # restrict kept its best answer: report it
    signals.hold()
    if not results:
        stop_early()
    ok = [r for r in results if r.success]
    best = min(ok, key=lambda r: r.critical_path_after) if ok else results[0]
    free = list_schedule(graph, procs)
    bounded = list_schedule(best.graph, procs) if best.success else None
    dynamic = memory_aware_schedule(graph, procs, memory)
    click.echo(
        f"sequential optimum : {format_size(seq.peak)} ({seq.status.value}, "
        f"lower bound {format_size(seq.lower_bound)})"
    )
    click.echo(f"memory bound M     : {format_size(memory)}")
    click.echo(
        f"max parallel peak  : {format_size(before.upper_bound)}"
        + (
            ""
            if before.exact
            else f" (upper bound; a reachable state has {format_size(before.value)})"
        )
        + f" -> {format_size(best.max_peak_after)} after"
    )
    for r in results:
        proven = " (proven least)" if r.stats.get("optimal") else ""
        click.echo(
            f"{r.method:<19}: {'ok' if r.success else 'FAILED'}, "
            f"{len(r.added)} edges added, critical path "
            f"{r.critical_path_before:g} -> {r.critical_path_after:g}{proven}"
        )
    click.echo(
        f"makespan on {procs} procs : unconstrained {free.makespan:g} "
        f"(peak {format_size(free.peak)})"
        + (
            f", restricted {bounded.makespan:g} (peak "
            f"{format_size(bounded.peak)})"
            if bounded
            else ""
        )
        + ", memory-aware dynamic "
        + (
            "DEADLOCK"
            if dynamic.deadlock
            else f"{dynamic.makespan:g} (peak {format_size(dynamic.peak)})"
        )
    )
    if output:
        try:
            write_graph(output, best.graph)
        except OSError as exc:
            raise InputError(
                f"{output}: {exc.strerror or exc}; nothing written."
            ) from None
    if schedule_file and bounded is not None:
        payload = {
            "instance": graph.name,
            "memory_bound": memory,
            "procs": procs,
            "makespan": bounded.makespan,
            "peak": bounded.peak,
            "start": [[v, bounded.start[v]] for v in graph.ids],
            "processor": [[v, bounded.processor[v]] for v in graph.ids],
        }
        try:
            write_json(schedule_file, payload)
        except OSError as exc:
            raise InputError(
                f"{schedule_file}: {exc.strerror or exc}; nothing written."
            ) from None
    if plot_file and bounded is not None:
        from .plotting import plot_gantt

        try:
            plot_gantt(
                best.graph,
                bounded.start,
                bounded.processor,
                plot_file,
                memory_bound=memory,
                title=f"{graph.name}: {best.method}, M = {memory} B, "
                f"{procs} processors, makespan {bounded.makespan:g}",
            )
        except ModuleNotFoundError as exc:
            raise InputError(str(exc)) from None
    if signals.received is not None:
        click.echo("interrupted: best restriction so far", err=True)
        sys.exit(128 + signals.received)
    if not best.success:
        raise InputError(
            f"{best.method} found no edge to add; the bound is not "
            "guaranteed (try --method respect-order)."
        )


@main.command("simulate")
@click.argument("graph_file", metavar="GRAPH.json", type=click.Path())
@click.option(
    "--cluster",
    "-c",
    "cluster_spec",
    default="a100-80g",
    show_default=True,
    help="A preset (a100-80g, h100-sxm, cpu-test; NAME:NODES for several "
    "nodes) or a JSON/TOML description.",
)
@click.option(
    "--strategy",
    "-s",
    "strategy_spec",
    default="single",
    show_default=True,
    help="single, data-parallel, megatron(tp,pp,dp[,m]), zero(stage), "
    "pipeline(pp,m), or a JSON file.",
)
@click.option(
    "--order",
    type=click.Choice(["fifo", "optimal", "trace"]),
    default="fifo",
    show_default=True,
    help="Each device's order: first ready first run, the memory-optimal "
    "order of pebble-sched, or the program's.",
)
@click.option(
    "--time-limit",
    "-t",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds for the optimal orders.",
)
@click.option(
    "--dtype", default=None, help="Compute dtype (bf16, fp16, fp32)."
)
@click.option(
    "--batch",
    type=int,
    default=None,
    help="Samples per micro-batch (default: read from the graph).",
)
@click.option(
    "--trace",
    "trace_file",
    type=click.Path(),
    default=None,
    help="Write the timeline as Chrome trace events (Perfetto).",
)
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(),
    default=None,
    help="Plot each device's memory over the step (plot extra).",
)
@click.option(
    "--fuse",
    is_flag=True,
    help="Time chains of elementwise ops as fused kernels (as Megatron-LM, "
    "XLA or Inductor run them); memory unchanged.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def simulate_cmd(
    graph_file,
    cluster_spec,
    strategy_spec,
    order,
    time_limit,
    dtype,
    batch,
    trace_file,
    plot_file,
    fuse,
    as_json,
):
    """Simulate one training step of GRAPH.json on a cluster.

    GRAPH.json is a training step traced at the per-device micro-batch size
    (pebble-sched import torch). Prints the step time, throughput, each
    pipeline stage's peak memory against the device's capacity, the
    communication volume and where the time goes.
    """
    from .distributed import ClusterError, StrategyError, simulate

    if not (time_limit > 0 and math.isfinite(time_limit)):
        raise InputError("--time-limit must be a positive number of seconds.")
    graph = _read(graph_file)
    try:
        result = simulate(
            graph,
            cluster_spec,
            strategy_spec,
            order=order,
            dtype=dtype,
            batch=batch,
            time_limit=time_limit,
            fuse=fuse,
        )
    except (ClusterError, StrategyError) as exc:
        raise InputError(str(exc)) from None
    except PebbleSchedError as exc:
        raise InputError(str(exc)) from None
    if trace_file:
        try:
            write_json(trace_file, result.chrome_trace())
        except OSError as exc:
            raise InputError(
                f"{trace_file}: {exc.strerror or exc}; nothing written."
            ) from None
    if plot_file:
        from .plotting import plot_device_memory

        try:
            plot_device_memory(result, plot_file)
        except ModuleNotFoundError as exc:
            raise InputError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=1))
        return
    s, c = result.strategy, result.cluster
    if not graph.flops.any() and not graph.op_bytes.any():
        click.echo(
            "note: the graph has no op costs (flops, bytes): every op takes "
            "no time (pebble-sched import torch records them).",
            err=True,
        )
    click.echo(f"graph        : {graph.name} ({graph.n} nodes)")
    click.echo(
        f"cluster      : {c.name}, {c.nodes} x {c.devices_per_node} "
        f"{c.device.name} ({format_bytes(c.device.memory)} each)"
    )
    click.echo(
        f"strategy     : {s.name}: dp {s.dp}, tp {s.tp}, pp {s.pp}, "
        f"{s.microbatches} micro-batch{'es' if s.microbatches != 1 else ''} "
        f"({s.schedule}), ZeRO {s.zero}, model state {s.optimizer}"
        + (
            ", layer tp " + ", ".join(f"{p}={t}" for p, t in s.layer_tp)
            if s.layer_tp
            else ""
        )
        + (f", recompute {', '.join(s.recompute)}" if s.recompute else "")
        + (
            f", offload {', '.join(s.offload)} to {s.offload_to}"
            if s.offload
            else ""
        )
        + (f", duplicate {', '.join(s.duplicate)}" if s.duplicate else "")
        + (
            f", stages start at {', '.join(s.stage_starts)}"
            if s.stage_starts
            else ""
        )
    )
    click.echo(f"order        : {result.order}")
    rate = (
        f"{result.samples_per_second:,.1f} samples/s, "
        if result.samples_per_second
        else ""
    )
    click.echo(
        f"step time    : {result.iteration_time * 1e3:.3f} ms; {rate}"
        f"{result.tflops_per_device:.2f} model TFLOP/s per device"
    )
    for d in result.devices:
        click.echo(
            f"stage {d.stage:<7}: peak {format_bytes(d.peak)} (activations "
            f"{format_bytes(d.activation_peak)} + model state "
            f"{format_bytes(d.model_state)}) of {format_bytes(d.capacity)}: "
            + ("fits" if d.fits else "DOES NOT FIT")
        )
    comm = ", ".join(
        f"{k} {format_bytes(int(v))}"
        for k, v in sorted(result.communication.items())
    )
    click.echo(f"communication: {comm or 'none'} per device")
    b = result.breakdown
    click.echo(
        f"breakdown    : stage {b['stage']}: compute "
        f"{b['compute'] * 1e3:.3f} ms, exposed communication "
        f"{b['exposed_communication'] * 1e3:.3f} ms, bubble "
        f"{b['bubble'] * 1e3:.3f} ms"
    )


def _bytes_option(text: str | None) -> int | None:
    """``40GiB``, ``24GB``, ``512MiB`` or a plain number of bytes."""
    if text is None:
        return None
    units = {
        "": 1,
        "b": 1,
        "kb": 10**3,
        "mb": 10**6,
        "gb": 10**9,
        "tb": 10**12,
        "kib": 2**10,
        "mib": 2**20,
        "gib": 2**30,
        "tib": 2**40,
    }
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in units:
        raise InputError(
            f"Cannot read {text!r} as a size (examples: 40GiB, 24GB, 1e9)."
        )
    value = float(m.group(1)) * units[m.group(2).lower()]
    if value <= 0:
        raise InputError(f"The size {text!r} must be positive.")
    return int(value)


@main.command("search")
@click.argument("graph_file", metavar="GRAPH.json", type=click.Path())
@click.option(
    "--cluster", "-c", "cluster_spec", default="a100-80g", show_default=True
)
@click.option(
    "--memory-limit",
    default=None,
    help="Bytes per device (40GiB, 24GB, ...; default the device's capacity).",
)
@click.option(
    "--budget",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds per chain (a chain also stops after half of it without improvement).",
)
@click.option("--chains", type=int, default=2, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--global-batch",
    type=int,
    default=None,
    help="Samples per step (default: the micro-batch times the devices).",
)
@click.option(
    "--objective",
    type=click.Choice(["time", "memory", "throughput", "time-memory"]),
    default="time",
    show_default=True,
)
@click.option(
    "--penalty",
    type=float,
    default=None,
    help="Penalize strategies over the limit (cost x (1 + W excess/limit)) "
    "instead of rejecting them.",
)
@click.option(
    "--no-recompute", is_flag=True, help="Do not explore recomputation."
)
@click.option("--no-offload", is_flag=True, help="Do not explore offload.")
@click.option(
    "--no-duplicate", is_flag=True, help="Do not explore duplication."
)
@click.option("--no-zero", is_flag=True, help="Do not explore ZeRO stages.")
@click.option(
    "--executor",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="Run the chains in local processes or as tasks on a Dask cluster.",
)
@click.option(
    "--scheduler",
    default=None,
    help="The Dask scheduler's address (default: a local cluster).",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(),
    default=None,
    help="Write the best strategy.",
)
@click.option(
    "--plot",
    "plot_file",
    type=click.Path(),
    default=None,
    help="Plot the best step time over the search (plot extra).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def search_cmd(
    graph_file,
    cluster_spec,
    memory_limit,
    budget,
    chains,
    seed,
    global_batch,
    objective,
    penalty,
    no_recompute,
    no_offload,
    no_duplicate,
    no_zero,
    executor,
    scheduler,
    output,
    plot_file,
    as_json,
):
    """Search the fastest strategy whose every device fits its memory.

    Metropolis-Hastings over data/tensor/pipeline degrees, ZeRO stages,
    recomputation and offload per layer unit, costed by the simulator with
    liveness-exact per-device peaks; compared at the end with data
    parallelism and the best Megatron grid point that fits. Ctrl-C keeps
    the best strategy found.
    """
    from .distributed import ClusterError, StrategyError
    from .distributed.search import Space, grid_search, search

    if budget <= 0 or not math.isfinite(budget):
        raise InputError("--budget must be a positive number of seconds.")
    if chains < 1:
        raise InputError("--chains must be at least 1.")
    limit = _bytes_option(memory_limit)
    graph = _read(graph_file)
    try:
        space = Space(
            graph,
            cluster_spec,
            global_batch=global_batch,
            recompute=not no_recompute,
            offload=not no_offload,
            duplicate=not no_duplicate,
            zero=not no_zero,
        )
    except (ClusterError, StrategyError) as exc:
        raise InputError(str(exc)) from None
    limit = limit or space.cluster.device.memory
    if not graph.flops.any() and not graph.op_bytes.any():
        click.echo(
            "note: the graph has no op costs (flops, bytes): every strategy "
            "takes no time; the search only looks at memory.",
            err=True,
        )
    live = sys.stderr.isatty()
    last = [0.0]
    t0 = time.monotonic()

    def show(st: dict) -> None:
        now = time.monotonic()
        if not live and now - last[0] < 2.0:
            return
        last[0] = now
        best = "-" if st["best"] is None else f"{st['best'] * 1e3:.3f} ms"
        n = max(1, st["evaluated"])
        text = (
            f"{now - t0:.1f} s  best {best}  evaluated {st['evaluated']}  "
            f"accepted {st['accepted'] / n:.0%}  feasible {st['feasible'] / n:.0%}"
        )
        click.echo(
            ("\r" + text + " " * 8) if live else text, err=True, nl=not live
        )

    # Ctrl-C and SIGTERM stop the chains and keep the best strategy (a
    # SIGTERM used to kill this process at once, nothing reported, and
    # leave the chains' processes running)
    with _Signals() as signals:
        try:
            result = search(
                space,
                memory_limit=limit,
                budget=budget,
                chains=chains,
                seed=seed,
                objective=objective,
                penalty=penalty,
                progress=None if as_json else show,
                executor=executor,
                scheduler=scheduler,
            )
        except KeyboardInterrupt:  # (in the last steps: nothing to keep)
            click.echo("\ninterrupted: nothing found", err=True)
            sys.exit(128 + (signals.received or signal.SIGINT))
        signals.hold()  # (the report below takes a tenth of a second)
        if live and not as_json:
            click.echo("", err=True)
        grid, _ = grid_search(space, memory_limit=limit)
        dp = space.strategy(
            *max(space.points, key=lambda p: (p[0] * p[1] * p[2], p[0]))
        )
        dp_eval = space.evaluate(dp, lambda r: r.iteration_time, limit)
        rows = [
            ("found", result.best_evaluation),
            ("best grid point", grid),
            ("data parallel", dp_eval),
        ]
        if output and result.best is not None:
            try:
                write_json(output, result.best.to_dict())
            except OSError as exc:
                raise InputError(
                    f"{output}: {exc.strerror or exc}; nothing written."
                ) from None
        if plot_file and result.history:
            from .plotting import plot_search

            try:
                plot_search(result, plot_file)
            except ModuleNotFoundError as exc:
                raise InputError(str(exc)) from None
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "best": result.best.to_dict() if result.best else None,
                        "rows": {
                            name: None
                            if e is None
                            else {
                                "strategy": e.strategy.to_dict(),
                                "iteration_time_s": e.time,
                                "peak_bytes": e.peak,
                                "fits": e.fits,
                            }
                            for name, e in rows
                        },
                        "evaluated": result.evaluated,
                        "acceptance_rate": result.acceptance_rate,
                        "feasible_fraction": result.feasible_fraction,
                        "smallest_peak_bytes": result.smallest_peak,
                        "interrupted": result.interrupted,
                    },
                    indent=1,
                )
            )
            return
        cap = format_bytes(limit)
        click.echo(
            f"searched       : {result.evaluated} proposals in {chains} chains "
            f"(accepted {result.acceptance_rate:.0%}, feasible "
            f"{result.feasible_fraction:.0%})"
            + (", interrupted" if result.interrupted else "")
        )
        click.echo(f"memory limit   : {cap} per device")
        for message in result.errors:  # a bug in the simulator or a move
            click.echo(f"warning        : {message} (please report)", err=True)
        for name, e in rows:
            if e is None:
                click.echo(f"{name:<15}: none fits")
                continue
            s = e.strategy
            extra = []
            if s.zero:
                extra.append(f"ZeRO {s.zero}")
            if s.recompute:
                extra.append(f"recompute {len(s.recompute)} units")
            if s.offload:
                extra.append(f"offload {len(s.offload)} units")
            if s.duplicate:
                extra.append(f"duplicate {len(s.duplicate)} units")
            if s.stage_starts:
                extra.append(f"stages start at {', '.join(s.stage_starts)}")
            click.echo(
                f"{name:<15}: dp {s.dp} tp {s.tp} pp {s.pp}, {s.microbatches} "
                f"micro-batches ({s.schedule})"
                + (", " + ", ".join(extra) if extra else "")
                + f": {e.time * 1e3:.3f} ms/step, peak {format_bytes(e.peak)}"
                + ("" if e.fits else " (over the limit)")
            )
        if result.best is None:
            raise InputError(
                f"No strategy fits {cap} per device; the smallest peak found is "
                f"{format_bytes(result.smallest_peak)}."
            )
        # the best so far is written above; a chain stopped by a signal of
        # its own (not this command's) only shortened the search
        if result.interrupted and signals.received is not None:
            raise SystemExit(128 + signals.received)


@main.command("plot")
@click.argument("graph_file", metavar="GRAPH.json", type=click.Path())
@click.argument("schedule_file", metavar="SCHEDULE.json", type=click.Path())
@click.option(
    "--output",
    "-o",
    type=click.Path(),
    default="profile.png",
    show_default=True,
)
def plot_cmd(graph_file, schedule_file, output):
    """Plot the memory profile of SCHEDULE.json (needs matplotlib)."""
    from .plotting import plot_profile

    graph = _read(graph_file)
    try:
        schedule = read_schedule(schedule_file)
        plot_profile(graph, schedule, output)
    except (PebbleSchedError, ModuleNotFoundError) as exc:
        raise InputError(str(exc)) from None
    click.echo(f"profile written to {output}", err=True)


@main.group("import")
def import_group():
    """Import a real model graph (PyTorch, ONNX, Inductor's dump) as GRAPH.json."""


def _write_graph(graph: Graph, output: str) -> None:
    from .formats import write_graph

    try:
        write_graph(output, graph)
    except OSError as exc:
        raise InputError(f"{output}: {exc.strerror or exc}.") from None
    zero = sum(b.size == 0 for b in graph.buffers)
    click.echo(
        f"{graph.name}: {graph.n} nodes, {graph.m} edges, "
        f"{len(graph.buffers)} explicit buffers"
        + (f" ({zero} of size 0, never resident)" if zero else "")
        + f" -> {output}",
        err=True,
    )


@import_group.command("torch")
@click.argument("factory", metavar="MODULE:FACTORY")
@click.option(
    "--input-shape",
    "shapes",
    multiple=True,
    help="Shape of an example input, e.g. 4,3,32,32 (repeat for several).",
)
@click.option(
    "--dtype",
    default="float32",
    show_default=True,
    help="dtype of the example inputs (int64 for token ids).",
)
@click.option(
    "--high",
    type=int,
    default=2,
    show_default=True,
    help="Upper bound (exclusive) of integer example inputs.",
)
@click.option(
    "--mode",
    type=click.Choice(["train", "forward"]),
    default="train",
    show_default=True,
)
@click.option(
    "--optimizer",
    type=click.Choice(["none", "sgd", "adam"]),
    default="none",
    show_default=True,
    help="In-graph parameter update (train mode).",
)
@click.option(
    "--batch-dims",
    is_flag=True,
    help="Trace again with one more sample to record which dimension of "
    "every tensor is the batch (meta.batch_dims).",
)
@click.option(
    "--tp",
    type=int,
    default=1,
    show_default=True,
    help="Trace one rank of this tensor-parallel degree: convolutions and "
    "linears split by output channels, gathered after (the strategy's tp).",
)
@click.option(
    "--tp-layers",
    default="*",
    show_default=True,
    metavar="PATTERN[,PATTERN...]",
    help="With --tp: the module paths to split (fnmatch); the others run "
    "replicated on every rank.",
)
@click.option("--output", "-o", type=click.Path(), required=True)
def import_torch(
    factory,
    shapes,
    dtype,
    high,
    mode,
    optimizer,
    batch_dims,
    tp,
    tp_layers,
    output,
):
    """Trace MODULE:FACTORY (a callable returning an nn.Module, or (module,
    inputs)) with fake tensors. ``zoo:NAME`` names a model of the built-in zoo
    (resnet18, gpt2, randwire, ...)."""
    import importlib

    try:
        import torch
    except ImportError:
        raise InputError(
            "Importing from PyTorch needs torch: pip install "
            '"pebble-sched[torch]"'
        ) from None
    from .importers.torch_fx import from_torch

    if factory.startswith("zoo:"):
        from .importers.zoo import build

        try:
            model, inputs = build(factory[4:])
        except ValueError as exc:
            raise InputError(str(exc)) from None
        name = factory[4:]
    else:
        mod_name, _, attr = factory.partition(":")
        if not attr:
            raise InputError("FACTORY must look like module.path:callable.")
        # like `python -m`: modules in the current folder are importable
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())
        try:
            fn = getattr(importlib.import_module(mod_name), attr)
        except ModuleNotFoundError as exc:
            raise InputError(
                f"Cannot load {factory}: no module named {exc.name!r} (looked "
                "in the current folder and on PYTHONPATH)."
            ) from None
        except AttributeError:
            raise InputError(
                f"Cannot load {factory}: {mod_name} has no {attr!r}."
            ) from None
        except Exception as exc:
            raise InputError(
                _one_line(f"Cannot import {mod_name}", exc)
            ) from None
        try:
            made = fn()
        except Exception as exc:
            raise InputError(_one_line(f"{factory}() failed", exc)) from None
        model, inputs = made if isinstance(made, tuple) else (made, None)
        name = attr
    if shapes:
        try:
            dims = [[int(d) for d in s.split(",")] for s in shapes]
            dt = getattr(torch, dtype)
        except (ValueError, AttributeError):
            raise InputError(
                "--input-shape takes integers like 4,3,32,32; --dtype a "
                "torch dtype name."
            ) from None
        inputs = tuple(
            torch.randint(0, high, d, dtype=dt)
            if not dt.is_floating_point
            else torch.randn(d, dtype=dt)
            for d in dims
        )
    if inputs is None:
        raise InputError(
            "Give --input-shape (the factory returned no example inputs)."
        )
    if tp < 1:
        raise InputError("--tp must be at least 1.")
    sharded: list[str] = []
    if tp > 1:
        from .importers.tensor_parallel import shard_channels

        patterns = [p.strip() for p in tp_layers.split(",") if p.strip()]
        model, sharded = shard_channels(model, tp, patterns)
        if not sharded:
            raise InputError(
                f"--tp {tp}: no convolution or linear layer matching "
                f"{tp_layers!r} has a number of outputs {tp} divides."
            )
    try:
        graph = from_torch(
            model,
            inputs,
            mode=mode,
            optimizer=None if optimizer == "none" else optimizer,
            name=f"{name}-{mode}"
            + ("" if optimizer == "none" else f"-{optimizer}")
            + (f"-tp{tp}" if tp > 1 else ""),
            batch_dims=batch_dims,
            engine="autograd" if tp > 1 else "functorch",
        )
        if tp > 1:
            graph = graph.replace(
                meta=dict(
                    graph.meta,
                    tensor_parallel=tp,
                    tensor_parallel_layers=sharded,
                )
            )
    except Exception as exc:
        logging.getLogger(__name__).debug("tracing failed", exc_info=True)
        given = ", ".join(
            f"{tuple(x.shape)} {str(x.dtype).removeprefix('torch.')}"
            for x in inputs
            if hasattr(x, "shape")
        )
        hint = " (pebble-sched -v import ... shows the traceback)"
        if "indices" in str(exc) and dtype.startswith("float"):
            hint = " (token ids need --dtype int64)" + hint
        raise InputError(
            _one_line(
                f"Cannot trace {name} ({mode}) with inputs {given or '?'}",
                exc,
            )
            + hint
        ) from None
    _write_graph(graph, output)


def _one_line(what: str, exc: BaseException) -> str:
    """``what: ExcType: first line of the message`` (library errors, one line)."""
    lines = str(exc).strip().splitlines()
    first = lines[0].strip() if lines else ""
    if len(first) > 300:
        first = first[:297] + "..."
    return f"{what}: {type(exc).__name__}: {first}".rstrip(": ")


@import_group.command("onnx")
@click.argument("model_file", metavar="MODEL.onnx", type=click.Path())
@click.option("--output", "-o", type=click.Path(), required=True)
def import_onnx(model_file, output):
    """Read an ONNX model (static shapes) into GRAPH.json."""
    try:
        from .importers.onnx import from_onnx

        graph = from_onnx(model_file)
    except ModuleNotFoundError as exc:
        raise InputError(str(exc)) from None
    except PebbleSchedError as exc:
        raise InputError(f"{model_file}: {exc}") from None
    except Exception as exc:  # onnx raises its own errors for bad files
        raise InputError(
            f"{model_file}: not a readable ONNX model ({exc})."
        ) from None
    _write_graph(graph, output)


@import_group.command("gpt")
@click.argument("config", metavar="NAME|LAYERS,HIDDEN,HEADS")
@click.option(
    "--batch",
    "-b",
    type=int,
    default=1,
    show_default=True,
    help="Micro-batch.",
)
@click.option(
    "--tp",
    type=int,
    default=1,
    show_default=True,
    help="Tensor-parallel degree.",
)
@click.option("--seq", type=int, default=2048, show_default=True)
@click.option(
    "--vocab", type=int, default=None, help="Vocabulary (default 51,200)."
)
@click.option(
    "--layers",
    type=int,
    default=None,
    help="Trace this many layers instead of the configuration's.",
)
@click.option(
    "--sp", is_flag=True, help="Sequence parallelism (with --tp above 1)."
)
@click.option(
    "--layer-tp",
    default=None,
    metavar="PATTERN=T[,PATTERN=T...]",
    help="Per-layer tensor-parallel degrees, e.g. 'layers.1*=4' (the "
    "strategy's layer_tp); the micro-batch of such a layer is "
    "batch * T / tp.",
)
@click.option(
    "--padding-mask",
    is_flag=True,
    help="Take a padding mask input and build the attention mask from it "
    "once, read by every layer (a 'mask' unit a pipeline can duplicate).",
)
@click.option("--output", "-o", type=click.Path(), required=True)
def import_gpt(
    config, batch, tp, seq, vocab, layers, sp, layer_tp, padding_mask, output
):
    """Trace a GPT-style decoder's training step (one tensor-parallel rank).

    NAME is one of gpt-125m, gpt-350m, gpt-1.3b, gpt-2.7b, gpt-6.7b, gpt-13b
    (GPT-3's shapes), llama-7b, llama-13b (Llama-style blocks); or give
    LAYERS,HIDDEN,HEADS. Built on the meta device
    and traced with fake tensors: no memory, seconds. Needs the torch extra.
    """
    try:
        from .importers.gpt import GPT_CONFIGS, LLAMA_CONFIGS, gpt_graph
    except ModuleNotFoundError as exc:
        raise InputError(str(exc)) from None
    if config in GPT_CONFIGS or config in LLAMA_CONFIGS:
        shape: Any = config
    else:
        try:
            shape = tuple(int(x) for x in config.split(","))
        except ValueError:
            shape = ()
        if len(shape) != 3 or min(shape) < 1:
            raise InputError(
                f"Unknown GPT configuration {config!r}: give one of "
                f"{', '.join([*GPT_CONFIGS, *LLAMA_CONFIGS])} or "
                "LAYERS,HIDDEN,HEADS."
            )
    for name, value in (("--batch", batch), ("--tp", tp), ("--seq", seq)):
        if value < 1:
            raise InputError(f"{name} must be at least 1.")
    degrees = None
    if layer_tp:
        degrees = {}
        for item in layer_tp.split(","):
            pattern, eq, t = item.partition("=")
            if not eq or not pattern.strip() or not t.strip().isdigit():
                raise InputError(
                    f"--layer-tp: {item!r} is not PATTERN=DEGREE "
                    "(for example layers.1*=4)."
                )
            degrees[pattern.strip()] = int(t)
    try:
        graph = gpt_graph(
            shape,
            batch=batch,
            tp=tp,
            seq=seq,
            vocab=vocab,
            layers=layers,
            sp=sp,
            layer_tp=degrees,
            padding_mask=padding_mask,
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None
    _write_graph(graph, output)


@import_group.command("wfformat")
@click.argument("trace", metavar="TRACE.json", type=click.Path())
@click.option("--output", "-o", type=click.Path(), required=True)
def import_wfformat(trace, output):
    """Read a WfCommons WfFormat workflow (tasks, files, runtimes) into GRAPH.json."""
    from .importers.wfformat import from_wfformat

    try:
        graph = from_wfformat(trace)
    except PebbleSchedError as exc:
        raise InputError(str(exc)) from None
    _write_graph(graph, output)


@import_group.command("dot")
@click.argument("dot_file", metavar="GRAPH.dot", type=click.Path())
@click.option(
    "--node-time",
    default="size",
    show_default=True,
    help="Node attribute read as the duration (DAGGEN: size).",
)
@click.option(
    "--edge-memory",
    default="size",
    show_default=True,
    help="Edge attribute read as the data on the edge, in bytes.",
)
@click.option(
    "--node-memory",
    default=None,
    help="Node attribute read as the node's output size (none by default).",
)
@click.option("--output", "-o", type=click.Path(), required=True)
def import_dot(dot_file, node_time, edge_memory, node_memory, output):
    """Read a DOT task graph (DAGGEN, memDAG-style) into GRAPH.json."""
    from .importers.dot import from_dot

    try:
        graph = from_dot(
            dot_file,
            node_time=node_time,
            edge_memory=edge_memory,
            node_memory=node_memory,
        )
    except PebbleSchedError as exc:
        raise InputError(str(exc)) from None
    except ModuleNotFoundError as exc:
        raise InputError(str(exc)) from None
    _write_graph(graph, output)


@import_group.command("inductor")
@click.argument("dump_file", metavar="DUMP.json", type=click.Path())
@click.option("--output", "-o", type=click.Path(), required=True)
def import_inductor(dump_file, output):
    """Read the graph Inductor dumps with reorder_for_peak_memory_debug."""
    from .importers.inductor_json import from_inductor_json

    try:
        graph = from_inductor_json(dump_file)
    except PebbleSchedError as exc:
        raise InputError(str(exc)) from None
    _write_graph(graph, output)
