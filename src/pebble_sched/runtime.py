"""Deadlines and progress callbacks shared by every solver."""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .graph import Graph
    from .schedule import Schedule

__all__ = ["Callbacks", "Deadline", "TimeUp"]


class TimeUp(Exception):
    """Raised inside a solver when its deadline has passed."""


class Deadline:
    """A monotonic-clock deadline, measured from its creation.

    Examples
    --------
    >>> d = Deadline(math.inf)
    >>> d.expired(), d.remaining()
    (False, inf)
    """

    __slots__ = ("limit", "start")

    def __init__(self, time_limit: float = math.inf) -> None:
        if time_limit is None:
            time_limit = math.inf
        if not (time_limit >= 0):
            raise ValueError("time_limit must be non-negative.")
        self.start = time.monotonic()
        self.limit = float(time_limit)

    def elapsed(self) -> float:
        """Seconds since the deadline was created."""
        return time.monotonic() - self.start

    def remaining(self) -> float:
        """Seconds left (``inf`` without a limit, never negative)."""
        return max(0.0, self.limit - self.elapsed())

    def expired(self) -> bool:
        """Whether the time is up."""
        return self.elapsed() >= self.limit

    def check(self) -> None:
        """Raise :class:`TimeUp` when the time is up."""
        if self.elapsed() >= self.limit:
            raise TimeUp

    def sub(self, fraction: float) -> Deadline:
        """A deadline ending after ``fraction`` of the remaining time."""
        return Deadline(
            self.remaining() * fraction
            if math.isfinite(self.limit)
            else math.inf
        )


class Callbacks:
    """Progress hooks; every method is a no-op. Subclass what you need."""

    def on_start(self, graph: Graph, method: str) -> None:
        """Called once when a solve starts."""

    def on_improvement(self, order: Any, peak: int) -> None:
        """Called when a better order is found (order as node indices)."""

    def on_bound(self, lower_bound: int) -> None:
        """Called when a better lower bound is proven."""

    def on_end(self, schedule: Schedule) -> None:
        """Called once with the final schedule."""
