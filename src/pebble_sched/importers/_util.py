"""Helpers shared by the importers."""

from __future__ import annotations

from typing import Any


def require(module: str, extra: str) -> Any:
    """Import ``module`` or raise ModuleNotFoundError with the pip line."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ModuleNotFoundError(
            f'This importer needs {module}: pip install "pebble-sched[{extra}]"'
        ) from None
