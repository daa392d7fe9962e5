"""Versions of pebble-sched and its dependencies, for bug reports."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version


def versions() -> dict[str, str]:
    """Installed versions of pebble-sched, its dependencies and Python."""
    out = {}
    for pkg in ("pebble-sched", "ortools", "networkx", "numpy", "click"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    out["python"] = platform.python_version()
    out["platform"] = platform.platform()
    return out


def show_versions() -> None:
    """Print the versions of pebble-sched, its dependencies and Python."""
    for key, val in versions().items():
        print(f"{key:>13}: {val}")
