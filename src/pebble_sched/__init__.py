"""pebble-sched: operator orders with provably minimal peak memory."""

import logging

from ._version import __version__ as __version__
from .exceptions import InstanceError as InstanceError
from .exceptions import PebbleSchedError as PebbleSchedError
from .exceptions import ScheduleError as ScheduleError
from .formats import read_graph as read_graph
from .formats import read_schedule as read_schedule
from .formats import write_graph as write_graph
from .formats import write_schedule as write_schedule
from .graph import Buffer as Buffer
from .graph import Graph as Graph
from .memory import Profile as Profile
from .memory import evaluate as evaluate
from .runtime import Callbacks as Callbacks
from .schedule import Schedule as Schedule
from .schedule import Status as Status
from .show_versions import show_versions as show_versions
from .solve import solve as solve
from .verify import verify as verify

logging.getLogger(__name__).addHandler(logging.NullHandler())
