"""The installed version of pebble-sched."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pebble-sched")
except PackageNotFoundError:  # pragma: no cover - running from a checkout
    __version__ = "0.0.0+unknown"
