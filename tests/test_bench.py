"""Tests of the benchmark runner, its robustness, reports and the Dask path."""

import csv
import json
import shutil

import pytest
from click.testing import CliRunner

from pebble_sched import (
    Graph,
    Status,
    read_graph,
    read_schedule,
    solve,
    write_graph,
)
from pebble_sched.bench import (
    BenchConfig,
    find_instances,
    markdown_report,
    run_bench,
)
from pebble_sched.bench.instances import (
    instance_name,
    read_index,
    update_best,
)
from pebble_sched.bench.runner import run_task
from pebble_sched.cli import main
from pebble_sched.generators import layered, training_like
from pebble_sched.verify import verify

from .helpers import DATA_DIR, ROOT, sigint_by_default


@pytest.fixture
def small_set(tmp_path):
    """A family folder with three small instances (one gzipped)."""
    root = tmp_path / "fam"
    root.mkdir()
    write_graph(root / "a.json", layered(12, seed=1))
    write_graph(root / "b.json.gz", training_like(6, seed=2))
    shutil.copy(DATA_DIR / "fork.json", root / "fork.json")
    return root


def test_run_verify_report_update(small_set, tmp_path):
    """Tests a sweep: verified rows, a report, and --update-best writing the index."""
    sets = find_instances([small_set])
    cfg = BenchConfig(
        methods=["auto", "inductor"],
        time_limit=10,
        jobs=2,
        out=tmp_path / "out",
    )
    rows, interrupted = run_bench(sets, cfg)
    assert not interrupted and len(rows) == 6
    assert all(
        r["verified"] and r["status"] in ("optimal", "feasible") for r in rows
    )
    report = markdown_report(rows, {})
    assert "| fam | auto | 3 | 3 |" in report
    changes = update_best(sets, rows, cfg.out)
    index = read_index(small_set)
    assert set(index) == {"a", "b", "fork"} and changes
    assert index["fork"]["bkv"] == 5 and index["fork"]["status"] == "opt"
    best = json.loads((small_set / "fork.best.json").read_text())
    assert best["peak"] == 5
    # best files and the index are not instances
    assert {p.name for p in find_instances([small_set])[0].files} == {
        "a.json",
        "b.json.gz",
        "fork.json",
    }


def test_update_best_gives_the_best_file_the_proven_bound(tmp_path):
    """Tests that a later run proving the best known peak optimal, without
    beating it, makes the kept best file say so (its own run's bound was
    weaker), and that the file stays a valid schedule of the instance."""
    # a graph whose file order is optimal, beyond its static bound
    graph = layered(8, seed=1)
    optimum = solve(graph, "brute")
    data = graph.to_dict()
    data["nodes"].sort(key=lambda v: optimum.order.index(v["id"]))
    root = tmp_path / "fam"
    root.mkdir()
    write_graph(root / "g.json", Graph.from_dict(data))
    sets = find_instances([root])
    first = run_bench(
        sets,
        BenchConfig(methods=["input"], time_limit=5, out=tmp_path / "o1"),
    )[0]
    update_best(sets, first, tmp_path / "o1")
    best = read_schedule(root / "g.best.json")
    assert best.peak == optimum.peak
    assert best.status is Status.FEASIBLE and best.lower_bound < best.peak
    assert read_index(root)["g"]["status"] == "best"
    second = run_bench(
        sets,
        BenchConfig(methods=["brute"], time_limit=5, out=tmp_path / "o2"),
    )[0]
    assert second[0]["status"] == "optimal"
    update_best(sets, second, tmp_path / "o2")
    kept = read_schedule(root / "g.best.json")
    row = read_index(root)["g"]
    assert kept.method == "input" and kept.order == best.order
    assert kept.status is Status.OPTIMAL and kept.lower_bound == kept.peak
    assert row["status"] == "opt" and row["lb"] == kept.lower_bound
    assert verify(read_graph(root / "g.json"), kept) == kept.peak


def test_shipped_best_files_agree_with_their_index():
    """Tests every shipped instance set: each instance has a best file that
    is a valid order of it with the index's best known peak, the index's
    proven bound, and ``optimal`` exactly where the index says ``opt``."""
    sets = find_instances([ROOT / "instances"])
    assert len(sets) >= 10
    for s in sets:
        index = read_index(s.root)
        assert {instance_name(p) for p in s.files} == set(index), s.root
        for path in s.files:
            row = index[instance_name(path)]
            best = read_schedule(s.root / f"{row['instance']}.best.json")
            where = f"{s.family}/{row['instance']}"
            assert verify(read_graph(path), best) == row["bkv"], where
            assert best.lower_bound == row["lb"] <= row["bkv"], where
            assert (best.status is Status.OPTIMAL) == (
                row["status"] == "opt"
            ), where
            assert row["status"] == (
                "opt" if row["lb"] == row["bkv"] else "best"
            )


def test_resume_skips_finished(small_set, tmp_path):
    """Tests that --resume runs only the missing pairs."""
    sets = find_instances([small_set])
    out = tmp_path / "out"
    run_bench(sets, BenchConfig(methods=["input"], time_limit=5, out=out))
    calls = []
    rows, _ = run_bench(
        sets,
        BenchConfig(
            methods=["input", "lpmf"], time_limit=5, out=out, resume=True
        ),
        progress=lambda k, n, r: calls.append(r["method"]),
    )
    assert calls == ["lpmf"] * 3 and len(rows) == 6


def _task(tmp_path, path, **kw):
    task = {
        "family": "f",
        "instance": "x",
        "method": "auto",
        "path": str(path),
        "schedule_path": str(tmp_path / "x.json"),
        "time_limit": 5,
        "grace": 5,
        "seed": 0,
        "memory_limit_mb": None,
        "num_workers": 1,
    }
    task.update(kw)
    return task


def test_failures_are_recorded(tmp_path):
    """Tests that a crash, an overrun and a memory limit are recorded, not raised."""
    bad = DATA_DIR / "bad" / "cycle.json"
    r = run_task(_task(tmp_path, bad))
    assert (
        r["status"] == "crashed"
        and "Cycle" in r["error"]
        and not r["verified"]
    )
    r = run_task(
        _task(tmp_path, DATA_DIR / "fork.json", time_limit=0.001, grace=0.0)
    )
    assert r["status"] == "timeout"
    r = run_task(_task(tmp_path, DATA_DIR / "fork.json", memory_limit_mb=40))
    assert r["status"] in ("oom", "crashed") and not r["verified"]


def test_unsupported_method_is_neither_failed_nor_valid(small_set, tmp_path):
    """Tests that a method that does not support an instance (pumpkin on a layered DAG) is reported apart, not as a crash."""
    from pebble_sched.generators import pumpkin

    write_graph(small_set / "p.json", pumpkin(3, 2, 3, seed=1))
    sets = find_instances([small_set])
    cfg = BenchConfig(
        methods=["pumpkin", "lpmf"], time_limit=10, out=tmp_path / "out"
    )
    rows, _ = run_bench(sets, cfg)
    pk = {r["instance"]: r for r in rows if r["method"] == "pumpkin"}
    assert pk["a"]["status"] == "unsupported" and not pk["a"]["verified"]
    assert pk["a"]["n"] == 12 and "does not support" in pk["a"]["error"]
    assert pk["fork"]["status"] == "unsupported"  # no sink: not a pumpkin
    assert pk["p"]["verified"] and pk["p"]["status"] == "optimal"
    report = markdown_report(rows, {})
    assert "Not run (the method does not support the instance)" in report
    assert "fam/a pumpkin" in report and "Failures:" not in report
    assert "| fam | pumpkin | 1 | 1 | 1 | 0 |" in report
    r = CliRunner().invoke(
        main,
        [
            "bench",
            str(small_set),
            "--methods",
            "pumpkin",
            "-t",
            "10",
            "--out",
            str(tmp_path / "cli"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "0 failed" in r.output
    assert "pumpkin: not this method's kind of graph, skipped" in r.output


def test_wrong_schedule_counts_as_failure(tmp_path, monkeypatch):
    """Tests that the referee rejects a schedule whose claim is false."""
    import pebble_sched.bench.runner as runner

    real = runner._run

    def tamper(*args, **kwargs):
        proc = real(*args, **kwargs)
        sched = tmp_path / "x.json"
        data = json.loads(sched.read_text())
        data["peak"] -= 1
        data["lower_bound"] = min(data["lower_bound"], data["peak"])
        sched.write_text(json.dumps(data))
        return proc

    monkeypatch.setattr(runner, "_run", tamper)
    r = run_task(_task(tmp_path, DATA_DIR / "fork.json"))
    assert r["status"] == "wrong" and "claims" in r["error"]


def test_cli_bench(small_set, tmp_path):
    """Tests the bench command end to end: report on stdout, files written."""
    out = tmp_path / "o"
    r = CliRunner().invoke(
        main,
        [
            "bench",
            str(small_set),
            "--methods",
            "auto,input",
            "-t",
            "5",
            "--out",
            str(out),
            "--update-best",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "| fam | auto |" in r.stdout
    assert (out / "report.md").exists() and (out / "results.csv").exists()
    with (out / "results.csv").open() as fh:
        assert len(list(csv.DictReader(fh))) == 6
    assert (small_set / "index.csv").exists()
    r = CliRunner().invoke(
        main, ["bench", str(small_set), "--methods", "nope"]
    )
    assert r.exit_code == 2 and "Unknown method" in r.stderr
    r = CliRunner().invoke(main, ["bench", str(tmp_path / "missing")])
    assert r.exit_code == 2


def test_dask_local_cluster_matches_local(small_set, tmp_path):
    """Tests that a Dask LocalCluster gives the same results as the local executor."""
    pytest.importorskip("distributed")
    sets = find_instances([small_set])
    local, _ = run_bench(
        sets,
        BenchConfig(
            methods=["auto", "lpmf"], time_limit=10, out=tmp_path / "l"
        ),
    )
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        dashboard_address=None,
    ) as cluster:
        dask_rows, _ = run_bench(
            sets,
            BenchConfig(
                methods=["auto", "lpmf"],
                time_limit=10,
                out=tmp_path / "d",
                executor="dask",
                scheduler=cluster.scheduler_address,
            ),
        )

    def key(rows):
        return sorted(
            (r["instance"], r["method"], r["peak"], r["lb"], r["status"])
            for r in rows
        )

    assert key(local) == key(dask_rows)


def test_plot_commands(tmp_path):
    """Tests pebble-sched plot and the gap-vs-time plot (needs matplotlib)."""
    pytest.importorskip("matplotlib")
    runner = CliRunner()
    sched = tmp_path / "s.json"
    graph = str(DATA_DIR / "fork.json")
    assert (
        runner.invoke(main, ["solve", graph, "-o", str(sched), "-q"]).exit_code
        == 0
    )
    png = tmp_path / "p.png"
    r = runner.invoke(main, ["plot", graph, str(sched), "-o", str(png)])
    assert r.exit_code == 0 and png.stat().st_size > 1000
    from pebble_sched.plotting import plot_gap_vs_time

    rows = [
        {
            "family": "f",
            "instance": "i",
            "method": "m",
            "peak": 6,
            "verified": True,
            "time_s": 0.5,
        }
    ]
    plot_gap_vs_time(rows, {("f", "i"): 5}, tmp_path / "g.png")
    assert (tmp_path / "g.png").exists()


def test_rows_record_wall_and_cpu_time(small_set, tmp_path):
    """Tests that each row has the worker's wall and CPU time (#12)."""
    rows, _ = run_bench(
        find_instances([small_set]),
        BenchConfig(methods=["lpmf"], time_limit=5, out=tmp_path / "out"),
    )
    for r in rows:
        assert r["wall_s"] >= r["time_s"] > 0
        assert r["cpu_s"] > 0


def test_resume_upgrades_an_older_csv(small_set, tmp_path):
    """Tests that --resume on a results file without wall_s/cpu_s keeps its rows (#12)."""
    sets = find_instances([small_set])
    out = tmp_path / "out"
    run_bench(sets, BenchConfig(methods=["input"], time_limit=5, out=out))
    path = out / "results.csv"
    with path.open(newline="") as fh:
        old = list(csv.DictReader(fh))
    drop = ("wall_s", "cpu_s")
    with path.open("w", newline="") as fh:
        fields = [f for f in old[0] if f not in drop]
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(old)
    rows, _ = run_bench(
        sets,
        BenchConfig(
            methods=["input", "lpmf"], time_limit=5, out=out, resume=True
        ),
    )
    assert len(rows) == 6
    assert sum(r["wall_s"] is None for r in rows) == 3  # the old rows


def _bench_process(tmp_path, graphs: int, limit: float, session=False):
    """``bench`` of lpmf and the heuristic (which takes its whole time
    limit on them) on ``graphs`` layered graphs of 40 nodes, two runs at
    once, started (in a session of its own with ``session``): the process,
    its command and its results file."""
    import os
    import subprocess
    import sys

    root = tmp_path / "fam"
    root.mkdir()
    for k in range(graphs):
        write_graph(root / f"g{k}.json", layered(40, seed=k))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "pebble_sched", "bench", str(root)]
    cmd += ["--methods", "lpmf,heuristic", "-t", str(limit), "-j", "2"]
    cmd += ["--out", str(out)]

    def setup() -> None:
        sigint_by_default()
        if session:
            os.setsid()

    proc = subprocess.Popen(
        cmd,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        preexec_fn=setup,
    )
    return proc, cmd, out / "results.csv"


def _wait_rows(results, rows: int) -> None:
    """Wait (up to 30 s) for ``rows`` finished rows in ``results``."""
    import time

    for _ in range(300):
        time.sleep(0.1)
        if results.exists() and results.read_text().count("\n") > rows:
            break


def test_interrupted_bench_resumes_without_loss(tmp_path):
    """Tests that Ctrl-C keeps every finished row and --resume runs exactly the rest (#12)."""
    import signal
    import subprocess

    proc, cmd, results = _bench_process(tmp_path, 6, 2)
    _wait_rows(results, 2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    with results.open(newline="") as fh:
        before = [(r["instance"], r["method"]) for r in csv.DictReader(fh)]
    assert 2 <= len(before) < 12
    done = subprocess.run(
        [*cmd, "--resume"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    with results.open(newline="") as fh:
        after = [(r["instance"], r["method"]) for r in csv.DictReader(fh)]
    assert after[: len(before)] == before  # nothing lost or rewritten
    assert sorted(after) == sorted(
        (f"g{k}", m) for k in range(6) for m in ("lpmf", "heuristic")
    )


def test_sigterm_keeps_the_rows_and_stops_the_runs(tmp_path):
    """Tests that SIGTERM sent to ``bench`` alone (not to its process
    group, as a supervisor may) writes the report of the finished runs,
    exits 143, and stops the runs in progress: before, it killed the
    command at once, no report, and its runs went on to their limits."""
    import contextlib
    import os
    import signal
    import time

    proc, _, results = _bench_process(tmp_path, 4, 60, session=True)
    try:
        _wait_rows(results, 2)  # the fast rows, then two long runs
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        time.sleep(0.5)  # (a killed run is reaped by the command's exit)
        left = True
        try:
            os.killpg(proc.pid, 0)  # any process left in its session?
        except ProcessLookupError:
            left = False
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 143, err
    assert "Traceback" not in err
    assert (results.parent / "report.md").exists()
    assert not left


def test_a_run_ends_with_the_process_that_started_it(tmp_path):
    """Tests that a benchmark run whose parent is gone (a Dask worker
    killed by its nanny, a sweep stopped by a signal sent to it alone)
    ends within a second or two instead of running on to its limit."""
    import json
    import os
    import subprocess
    import sys
    import time

    path = tmp_path / "g.json"
    write_graph(path, layered(40, seed=1))  # (60 s of heuristic)
    task = _task(tmp_path, path, method="heuristic", time_limit=60)
    # a parent that starts the run as run_task does (its pid in the
    # task), says the run's pid and exits at once
    starter = (
        "import json, os, subprocess, sys\n"
        "task = {**json.loads(sys.argv[1]), 'parent': os.getpid()}\n"
        "p = subprocess.Popen([sys.executable, '-m', "
        "'pebble_sched.bench.worker', json.dumps(task)],"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(p.pid, flush=True)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", starter, json.dumps(task)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    pid = int(out.stdout.split()[0])
    gone = False
    for _ in range(100):  # up to 10 s
        time.sleep(0.1)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            gone = True
            break
    if not gone:
        os.kill(pid, 9)
    assert gone
