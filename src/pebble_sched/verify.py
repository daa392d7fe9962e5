"""The referee: check that a schedule is valid and that its claims hold."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .exceptions import ScheduleError
from .graph import require_graph
from .memory import evaluate
from .schedule import Schedule, Status
from .validation import check_type

if TYPE_CHECKING:
    from .graph import Graph

__all__ = ["verify"]


def verify(graph: Graph, schedule: Schedule) -> int:
    """Check ``schedule`` against ``graph`` and return its true peak.

    The order must be a topological order of all nodes, its peak must equal
    ``schedule.peak``, and ``lower_bound <= peak``. An ``optimal`` status
    is only consistent when ``lower_bound == peak`` (the bound itself is
    the solver's proof, which cannot be re-checked in general).

    Raises
    ------
    ScheduleError
        With the reason, when any check fails.

    Examples
    --------
    >>> from pebble_sched import Graph, solve
    >>> g = Graph(["a", "b"], [("a", "b")], size=[2, 3])
    >>> verify(g, solve(g))
    5
    """
    require_graph(graph, "verify")
    check_type(
        schedule,
        Schedule,
        "verify",
        "read_schedule",
        " as its second argument",
    )
    profile = evaluate(graph, schedule.order)
    if profile.peak != schedule.peak:
        raise ScheduleError(
            f"The order's peak is {profile.peak}, but the schedule claims "
            f"{schedule.peak}."
        )
    if schedule.lower_bound > profile.peak:
        raise ScheduleError(
            f"The lower bound {schedule.lower_bound} exceeds the peak "
            f"{profile.peak}."
        )
    if (
        schedule.status is Status.OPTIMAL
        and schedule.lower_bound != profile.peak
    ):
        raise ScheduleError("Status 'optimal' without a matching lower bound.")
    return profile.peak
