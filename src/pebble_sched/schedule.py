"""The result of a solver: a schedule, its peak and what was proven about it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from .exceptions import ScheduleError

if TYPE_CHECKING:
    from .graph import NodeId

__all__ = ["Schedule", "Status", "format_bytes"]


class Status(StrEnum):
    """What a solver proved; the values are the strings of the JSON format."""

    OPTIMAL = "optimal"
    """No schedule has a smaller peak (peak == proven lower bound)."""
    FEASIBLE = "feasible"
    """A valid schedule; optimality not proven."""
    INFEASIBLE = "infeasible"
    """Proven that no schedule meets the requested bound."""
    UNKNOWN = "unknown"
    """No schedule was found and nothing was proven."""


def format_bytes(value: float) -> str:
    """A size with binary units, up to EiB.

    Examples
    --------
    >>> format_bytes(564), format_bytes(3 * 2**20), format_bytes(2**62)
    ('564 B', '3.0 MiB', '4.0 EiB')
    """
    v = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(v) < 1024 or unit == "EiB":
            return f"{int(v)} B" if unit == "B" else f"{v:.1f} {unit}"
        v /= 1024
    raise AssertionError  # pragma: no cover


def format_size(value: int) -> str:
    """A size for people: units, and the exact bytes when units round.

    Examples
    --------
    >>> format_size(564), format_size(2048)
    ('564 B', '2.0 KiB (2048 B)')
    """
    text = format_bytes(value)
    return text if abs(value) < 1024 else f"{text} ({value} B)"


@dataclass(frozen=True)
class Schedule:
    """A schedule and what its method proved.

    Attributes
    ----------
    order
        Node ids in execution order (external ids).
    peak
        The peak memory of ``order`` in bytes.
    lower_bound
        A proven lower bound on the minimum peak over all schedules.
    status
        ``OPTIMAL`` exactly when ``peak == lower_bound``.
    method
        The method that found ``order``.
    time_s
        Wall-clock seconds spent.
    version
        The pebble-sched version that produced it.
    instance
        The instance name, if any.
    stats
        Free-form statistics (per-method peaks, counters).
    """

    order: tuple[NodeId, ...]
    peak: int
    lower_bound: int
    status: Status
    method: str
    time_s: float = 0.0
    version: str = ""
    instance: str | None = None
    stats: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "order", tuple(self.order))
        object.__setattr__(self, "status", Status(self.status))
        if self.lower_bound > self.peak:
            raise ScheduleError(
                f"Lower bound {self.lower_bound} exceeds the peak {self.peak}."
            )
        if self.status is Status.OPTIMAL and self.lower_bound != self.peak:
            raise ScheduleError(
                "Status 'optimal' needs lower_bound == peak, got "
                f"{self.lower_bound} < {self.peak}."
            )

    @property
    def gap(self) -> float:
        """Relative gap ``(peak - lower_bound) / peak`` (0 when optimal)."""
        if self.peak == self.lower_bound:
            return 0.0
        return (
            (self.peak - self.lower_bound) / self.peak
            if self.peak
            else math.inf
        )

    def summary(self) -> str:
        """A short aligned text block for people."""
        name = f" {self.instance}" if self.instance else ""
        lines = [
            f"Schedule{name}",
            f"  peak        : {format_size(self.peak)}",
            f"  lower bound : {format_size(self.lower_bound)}",
            f"  gap         : {100 * self.gap:.2f}% (peak - lower bound) / peak",
            f"  status      : {self.status.value}",
            f"  method      : {self.method}",
            f"  time        : {self.time_s:.3f} s",
            f"  nodes       : {len(self.order)}",
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        """The schedule format of docs/formats.md."""
        return {
            "instance": self.instance,
            "order": list(self.order),
            "peak": int(self.peak),
            "lower_bound": int(self.lower_bound),
            "status": self.status.value,
            "method": self.method,
            "time_s": float(self.time_s),
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Schedule:
        """Read the schedule format of docs/formats.md."""
        if not isinstance(data, Mapping):
            raise ScheduleError("The schedule must be a JSON object.")
        if "nodes" in data and "order" not in data:
            raise ScheduleError(
                "This is an instance (it has 'nodes'), not a schedule: "
                "check the order of the arguments (the graph comes first)."
            )
        for key in ("order", "peak"):
            if key not in data:
                raise ScheduleError(f"The schedule has no {key!r}.")
        order = data["order"]
        if not isinstance(order, list):
            raise ScheduleError("'order' must be a list.")
        peak = data["peak"]
        lb = data.get("lower_bound", 0)
        for key, val in (("peak", peak), ("lower_bound", lb)):
            if isinstance(val, bool) or not isinstance(val, int) or val < 0:
                raise ScheduleError(f"{key!r} must be a non-negative integer.")
        status = data.get("status", "feasible")
        try:
            status = Status(status)
        except ValueError:
            valid = ", ".join(s.value for s in Status)
            raise ScheduleError(
                f"Unknown status {status!r}; expected one of {valid}."
            ) from None
        return cls(
            order=tuple(order),
            peak=peak,
            lower_bound=lb,
            status=status,
            method=str(data.get("method", "")),
            time_s=float(data.get("time_s", 0.0)),
            version=str(data.get("version", "")),
            instance=data.get("instance"),
        )
