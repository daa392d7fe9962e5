"""Tests of the package as a whole: cheap import, README example, versions."""

import doctest
import subprocess
import sys
from pathlib import Path

import pytest

import pebble_sched

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize(
    ("module", "heavy"),
    [
        (
            "pebble_sched",
            "click ortools torch onnx dask matplotlib networkx numba",
        ),
        # the command line's start-up: networkx took 0.2 s of it
        (
            "pebble_sched.cli",
            "ortools torch onnx dask matplotlib networkx numba",
        ),
    ],
)
def test_import_is_cheap(module, heavy):
    """Tests that importing pebble_sched (or its command line) loads no
    solver, graph or plotting library: each is imported where it is
    used."""
    code = (
        f"import sys; import {module}; "
        f"bad = [m for m in {heavy.split()!r} if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == ""


def test_readme_example_runs():
    """Tests that the README's pycon example gives the printed answers."""
    failures, tried = doctest.testfile(
        str(ROOT / "README.md"), module_relative=False
    )
    assert tried > 0 and failures == 0


def test_docstring_examples():
    """Tests the Examples sections of the public modules (doctests)."""
    import importlib

    total = 0
    for name in (
        "graph",
        "convert",
        "buffers",
        "memory",
        "bounds",
        "solvers.brute_force",
        "solvers.inductor",
        "solvers.trees",
        "solvers.heuristics",
        "solvers.ideals",
        "solvers.cpsat",
        "solvers.pivots",
        "solvers.series_parallel",
        "solvers.profiles",
        "solvers.dominant",
        "solvers.sp_merge",
        "solvers.spization",
        "solve",
        "verify",
        "info",
        "structure",
        "parallel.max_peak",
        "progress",
        "runtime",
        "generators",
    ):
        mod = importlib.import_module(f"pebble_sched.{name}")
        result = doctest.testmod(mod, extraglobs={"Graph": pebble_sched.Graph})
        assert result.failed == 0, name
        total += result.attempted
    assert total > 10


def test_show_versions(capsys):
    """Tests that show_versions prints the package and its dependencies."""
    pebble_sched.show_versions()
    out = capsys.readouterr().out
    assert "pebble-sched" in out and "ortools" in out and "python" in out
    assert pebble_sched.__version__ != ""


def _runtime_imports(tree):
    """Relative ``from`` imports outside ``if TYPE_CHECKING:`` blocks."""
    import ast

    stack = [(tree, False)]
    while stack:
        node, typing_only = stack.pop()
        for child in ast.iter_child_nodes(node):
            guarded = typing_only or (
                isinstance(child, ast.If)
                and getattr(child.test, "id", "") == "TYPE_CHECKING"
            )
            if isinstance(child, ast.ImportFrom) and not typing_only:
                yield child
            stack.append((child, guarded))


def test_no_import_cycles():
    """Tests that no two modules import each other, even lazily (#11)."""
    import ast

    import networkx as nx

    src = ROOT / "src" / "pebble_sched"
    deps = nx.DiGraph()
    for path in src.rglob("*.py"):
        parts = path.relative_to(src).with_suffix("").parts
        module = ".".join(p for p in parts if p != "__init__")
        package = list(parts[:-1])
        for imp in _runtime_imports(ast.parse(path.read_text())):
            if imp.level and imp.module:
                base = package[: len(package) - (imp.level - 1)]
                deps.add_edge(module, ".".join([*base, imp.module]))
    cycles = [c for c in nx.simple_cycles(deps) if len(c) > 1]
    assert cycles == []


def _entry_points():
    from pebble_sched import evaluate, solve, verify
    from pebble_sched.distributed import simulate
    from pebble_sched.distributed.search import Space
    from pebble_sched.parallel import (
        brute_force_max_parallel_peak,
        exact_restrict,
        list_schedule,
        max_parallel_peak,
        memory_aware_schedule,
        restrict,
    )
    from pebble_sched.parallel import simulate as parallel_simulate

    return {
        "solve": lambda g: solve(g),
        "evaluate": lambda g: evaluate(g, []),
        "verify": lambda g: verify(g, None),
        "simulate": lambda g: simulate(g),
        "Space": lambda g: Space(g, "cpu-test"),
        "max_parallel_peak": lambda g: max_parallel_peak(g),
        "brute_force_max_parallel_peak": brute_force_max_parallel_peak,
        "restrict": lambda g: restrict(g, 10),
        "exact_restrict": lambda g: exact_restrict(g, 10),
        "list_schedule": lambda g: list_schedule(g, 2),
        "memory_aware_schedule": lambda g: memory_aware_schedule(g, 2, 10),
        "parallel simulate": lambda g: parallel_simulate(g, {}),
    }


@pytest.mark.parametrize("name", sorted(_entry_points()))
def test_entry_points_given_a_path_say_how_to_read_a_graph(name):
    """Tests that every public call taking a graph, given a file name (or a
    dict), raises a TypeError naming the call and read_graph, not an
    AttributeError from deep inside (what all but solve raised)."""
    call = _entry_points()[name]
    caller = name.split()[-1]
    with pytest.raises(TypeError, match=rf"{caller}\(\) takes .*read_graph"):
        call("graph.json")
    with pytest.raises(TypeError, match="not dict"):
        call({"nodes": [], "edges": []})


def test_verify_given_a_path_for_the_schedule():
    """Tests that verify's second argument, a file name, says how to read a schedule."""
    from pebble_sched import Graph, verify

    g = Graph(["a"], [], size=[1])
    with pytest.raises(TypeError, match="read_schedule"):
        verify(g, "schedule.json")
