"""Exceptions raised by pebble-sched."""


class PebbleSchedError(Exception):
    """Base class of every error pebble-sched raises on purpose."""


class InstanceError(PebbleSchedError, ValueError):
    """A graph (file, dict or networkx graph) is malformed."""


class ScheduleError(PebbleSchedError, ValueError):
    """An order is not a valid schedule of its graph, or a claim is false."""
