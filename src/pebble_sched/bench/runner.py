"""Run methods on instance sets, in parallel processes, locally or on Dask.

Each (instance, method) pair is a task run by :func:`run_task` in a fresh
Python process (:mod:`pebble_sched.bench.worker`) with a wall-clock guard
(time limit + grace) and an optional address-space limit, then checked by
the referee (:func:`pebble_sched.verify.verify`): an invalid schedule or a
false claim counts as a failure (``wrong``). Crashes (``crashed``), memory
exhaustion (``oom``) and overruns (``timeout``) are recorded and the sweep
goes on.

Tasks are submitted through the ``concurrent.futures`` interface: a
``ThreadPoolExecutor`` locally (each thread waits on its process), or a Dask
``distributed`` client's executor (``--executor dask``), so both paths are
the same code.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import resource
import signal
import subprocess
import sys
import time
from concurrent.futures import (
    FIRST_COMPLETED,
    Executor,
    ThreadPoolExecutor,
    wait,
)
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..exceptions import PebbleSchedError
from ..runtime import sigint_seen
from .instances import InstanceSet, instance_name

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["RESULT_FIELDS", "BenchConfig", "Result", "run_bench", "run_task"]

RESULT_FIELDS = [
    "family",
    "instance",
    "method",
    "n",
    "m",
    "peak",
    "lb",
    "status",
    "verified",
    "time_s",
    "wall_s",
    "cpu_s",
    "rss_mb",
    "method_used",
    "error",
]
"""Columns of ``results.csv``. ``time_s`` is the solver's own time (reading,
solving, writing), ``wall_s`` the worker process's whole life as the runner
saw it (start-up included: what a time limit promises), ``cpu_s`` the CPU
time of all its threads (above ``wall_s`` when CP-SAT uses several cores,
below it when the machine is oversubscribed)."""


@dataclass
class BenchConfig:
    """What to run and how (see ``pebble-sched bench --help``)."""

    methods: list[str] = field(default_factory=lambda: ["auto", "inductor"])
    time_limit: float = 10.0
    jobs: int = 1
    out: Path = Path("bench-out")
    seed: int = 0
    grace: float = 10.0
    memory_limit_mb: int | None = None
    resume: bool = False
    executor: str = "local"
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if self.time_limit <= 0:
            raise ValueError("The time limit must be positive.")
        if self.jobs < 1:
            raise ValueError("--jobs must be at least 1.")
        if self.executor not in ("local", "dask"):
            raise ValueError("The executor must be 'local' or 'dask'.")
        self.out = Path(self.out)


@dataclass
class Result:
    """One row of ``results.csv``."""

    family: str
    instance: str
    method: str
    n: int | None = None
    m: int | None = None
    peak: int | None = None
    lb: int | None = None
    status: str = "crashed"
    verified: bool = False
    time_s: float = 0.0
    wall_s: float | None = None
    cpu_s: float | None = None
    rss_mb: float | None = None
    method_used: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.verified and self.status in ("optimal", "feasible")


def _limit_memory(mb: int | None) -> Callable[[], None] | None:
    if not mb:
        return None

    def apply() -> None:  # pragma: no cover - runs in the child
        limit = mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def run_task(
    task: dict[str, Any], running: set[subprocess.Popen] | None = None
) -> dict[str, Any]:
    """Run one task in a subprocess, then verify its schedule. Returns a
    Result dict. ``running``: a set that holds the subprocess while it
    runs (so that an interrupted sweep can stop it)."""
    from ..formats import read_graph, read_schedule
    from ..verify import verify

    res = Result(task["family"], task["instance"], task["method"])
    t0 = time.monotonic()
    # (the run ends should this process go: bench.worker)
    task = {**task, "parent": os.getpid()}
    cmd = [sys.executable, "-m", "pebble_sched.bench.worker", json.dumps(task)]
    try:
        proc = _run(
            cmd,
            task["time_limit"] + task["grace"],
            _limit_memory(task.get("memory_limit_mb")),
            set() if running is None else running,
        )
    except subprocess.TimeoutExpired:
        res.status = "timeout"
        res.time_s = time.monotonic() - t0
        res.error = (
            f"no answer within {task['time_limit'] + task['grace']:.0f} s"
        )
        return asdict(res)
    res.time_s = res.wall_s = time.monotonic() - t0
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        last = err[-1] if err else f"exit status {proc.returncode}"
        res.status = (
            "oom"
            if ("MemoryError" in proc.stderr or proc.returncode == -9)
            else "crashed"
        )
        res.error = last[:300]
        return asdict(res)
    try:
        info = json.loads(proc.stdout.strip().splitlines()[-1])
        res.n, res.m = info["n"], info["m"]
        if info["status"] == "unsupported":
            res.status = "unsupported"
            res.error = f"{task['method']} does not support this instance"
            return asdict(res)
        res.peak, res.lb, res.status = info["peak"], info["lb"], info["status"]
        res.time_s, res.rss_mb = info["time_s"], info["rss_mb"]
        res.cpu_s = info.get("cpu_s")
        res.method_used = info["method_used"]
        graph = read_graph(task["path"])
        schedule = read_schedule(task["schedule_path"])
        verify(graph, schedule)
        res.verified = True
    except (
        PebbleSchedError,
        ValueError,
        KeyError,
        IndexError,
        OSError,
    ) as exc:
        res.status = "wrong"
        res.error = str(exc)[:300]
    return asdict(res)


def _run(
    cmd: list[str],
    timeout: float,
    preexec: Callable[[], None] | None,
    running: set[subprocess.Popen],
) -> subprocess.CompletedProcess:
    """:func:`subprocess.run` of ``cmd`` (output captured, killed past
    ``timeout``) with the process in ``running`` while it runs."""
    with subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec,
    ) as proc:
        running.add(proc)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise
        finally:
            running.discard(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def _tasks(
    sets: Iterable[InstanceSet], config: BenchConfig
) -> list[dict[str, Any]]:
    cores = os.cpu_count() or 1
    tasks = []
    for s in sets:
        sched_dir = config.out / "schedules" / s.family
        sched_dir.mkdir(parents=True, exist_ok=True)
        for path in s.files:
            name = instance_name(path)
            for method in config.methods:
                tasks.append(
                    {
                        "family": s.family,
                        "instance": name,
                        "method": method,
                        "path": str(path.resolve()),
                        "schedule_path": str(
                            (sched_dir / f"{name}.{method}.json").resolve()
                        ),
                        "time_limit": config.time_limit,
                        "grace": config.grace,
                        "seed": config.seed,
                        "memory_limit_mb": config.memory_limit_mb,
                        "num_workers": max(1, cores // config.jobs),
                    }
                )
    return tasks


def _finished(csv_path: Path) -> set[tuple[str, str, str]]:
    if not csv_path.exists():
        return set()
    with csv_path.open(newline="") as fh:
        return {
            (r["family"], r["instance"], r["method"])
            for r in csv.DictReader(fh)
        }


def _upgrade_header(csv_path: Path) -> None:
    """Rewrite a results file of an older version with today's columns."""
    if not csv_path.exists():
        return
    with csv_path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames == RESULT_FIELDS:
            return
        rows = list(reader)
    tmp = csv_path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=RESULT_FIELDS, extrasaction="ignore"
        )
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(csv_path)


def _executor(config: BenchConfig) -> tuple[Executor, Callable[[], None]]:
    if config.executor == "local":
        ex = ThreadPoolExecutor(max_workers=config.jobs)
        return ex, lambda: ex.shutdown(wait=False, cancel_futures=True)
    from ..runtime import dask_client

    client = dask_client(config.scheduler, config.jobs)
    return client.get_executor(), client.close


def read_results(csv_path: Path) -> list[dict[str, Any]]:
    """Rows of a results CSV with numbers parsed."""
    rows = []
    with Path(csv_path).open(newline="") as fh:
        for r in csv.DictReader(fh):
            for key in ("n", "m", "peak", "lb"):
                r[key] = int(r[key]) if r[key] not in ("", "None") else None
            for key in ("time_s", "wall_s", "cpu_s", "rss_mb"):
                v = r.get(key)  # wall_s and cpu_s: absent in older files
                r[key] = float(v) if v not in (None, "", "None") else None
            r["verified"] = r["verified"] == "True"
            rows.append(r)
    return rows


def run_bench(
    sets: list[InstanceSet],
    config: BenchConfig,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Run every method on every instance; append rows to ``out/results.csv``.

    Returns all rows of the CSV (earlier runs included when resuming) and
    whether the sweep was interrupted (Ctrl-C): what finished is kept.
    """
    config.out.mkdir(parents=True, exist_ok=True)
    csv_path = config.out / "results.csv"
    if not config.resume and csv_path.exists():
        csv_path.unlink()
    _upgrade_header(csv_path)
    done = _finished(csv_path)
    tasks = [
        t
        for t in _tasks(sets, config)
        if (t["family"], t["instance"], t["method"]) not in done
    ]
    new_file = not csv_path.exists()
    interrupted = False
    with csv_path.open("a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=RESULT_FIELDS)
        if new_file:
            writer.writeheader()
        executor, close = _executor(config)
        # the runs' processes started here (local runs; a Dask worker's
        # runs hold a copy of this set and end with it: bench.worker),
        # stopped when the sweep is interrupted (a Ctrl-C at a terminal
        # reaches them too, a SIGTERM sent to the command does not: they
        # would run on to their limits)
        running: set[subprocess.Popen] = set()
        # Ctrl-C is also recorded, in case its exception is lost (see
        # sigint_seen): the loop polls for it between finished runs
        with sigint_seen() as seen:
            try:
                pending = {
                    executor.submit(run_task, t, running) for t in tasks
                }
                k = 0
                while pending and not seen:
                    finished, pending = wait(
                        pending, timeout=0.5, return_when=FIRST_COMPLETED
                    )
                    for fut in finished:
                        k += 1
                        row = fut.result()
                        writer.writerow(row)
                        fh.flush()
                        if progress is not None:
                            progress(k, len(tasks), row)
            except KeyboardInterrupt:
                seen.append(signal.SIGINT)
            finally:
                close()
                if seen:
                    stopping = list(running)
                    for proc in stopping:
                        with contextlib.suppress(OSError):
                            proc.kill()
                    for proc in stopping:  # (reaped before this returns)
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            proc.wait(timeout=5)
        interrupted = bool(seen)
    return read_results(csv_path), interrupted
