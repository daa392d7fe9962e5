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
