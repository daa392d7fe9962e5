"""One benchmark task in its own process: ``python -m pebble_sched.bench.worker TASK_JSON``.

Reads the instance, solves it with the task's method and time limit, writes
the schedule file, and prints one JSON line with the result and this
process's peak RSS and CPU time. Isolation in a process lets the runner survive crashes,
memory exhaustion and overruns.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time

#: how often a run looks whether the process that started it still exists
PARENT_CHECK_S = 0.5


def _end_with_parent(parent: int | None) -> None:
    """End this run once the process that started it, ``parent`` (its
    pid, in the task: it may be gone before this process looks), is gone
    (a sweep stopped by a signal sent to it alone, a Dask worker killed by
    its nanny): nothing would read its result, and it would otherwise run
    on to its limit."""
    if parent is None:
        return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def main(argv: list[str]) -> int:
    task = json.loads(argv[0])
    _end_with_parent(task.get("parent"))
    from pebble_sched import read_graph, solve, write_schedule
    from pebble_sched.runtime import process_age, write_reserve

    t0 = time.monotonic() - process_age()  # the limit covers start-up too
    graph = read_graph(task["path"])
    from pebble_sched.solve import METHODS

    method = METHODS.get(task["method"])
    if method is not None and not method.supports(graph):
        # (pumpkin on a general DAG, say): not a failure, not a result
        print(
            json.dumps({"status": "unsupported", "n": graph.n, "m": graph.m})
        )
        return 0
    options = {}
    # the cores each run may use (CP-SAT's workers, the SP solver's
    # processes): the machine's cores shared among the runs at once
    if task.get("num_workers") and task["method"] in (
        "auto",
        "cpsat",
        "sp",
        "pumpkin",
        "tree",
    ):
        options["num_workers"] = task["num_workers"]
    schedule = solve(
        graph,
        task["method"],
        time_limit=max(
            0.0,
            task["time_limit"]
            - (time.monotonic() - t0)
            - write_reserve(graph),
        ),
        seed=task.get("seed", 0),
        **options,
    )
    write_schedule(task["schedule_path"], schedule)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # forked workers (CP-SAT's child, the SP solver's second process) count
    # too: their CPU time, and the largest one's memory on top of ours
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss_kb = usage.ru_maxrss + kids.ru_maxrss
    print(
        json.dumps(
            {
                "peak": schedule.peak,
                "lb": schedule.lower_bound,
                "status": schedule.status.value,
                "method_used": schedule.method,
                "time_s": time.monotonic() - t0,
                "rss_mb": rss_kb / 1024,
                # all threads and forked workers of this process
                "cpu_s": usage.ru_utime
                + usage.ru_stime
                + kids.ru_utime
                + kids.ru_stime,
                "n": graph.n,
                "m": graph.m,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
