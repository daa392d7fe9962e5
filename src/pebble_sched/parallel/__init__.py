"""Parallel execution under a memory bound.

- :mod:`.max_peak`: the largest peak any parallel schedule can reach
  (one minimum cut, exact when each buffer has one release node; a sound
  bound and an exact CP-SAT model otherwise).
- :mod:`.fictitious_edges`: :func:`restrict` adds precedences until no
  parallel schedule exceeds a bound (RespectOrder, MinLevels, MaxSize,
  MaxMinSize).
- :mod:`.list_scheduling`: critical-path list scheduling on p processors,
  a memory-aware dynamic scheduler, and the simulator that measures both.
"""

from .exact_edges import exact_restrict as exact_restrict
from .fictitious_edges import RestrictedGraph as RestrictedGraph
from .fictitious_edges import critical_path as critical_path
from .fictitious_edges import restrict as restrict
from .list_scheduling import ParallelSchedule as ParallelSchedule
from .list_scheduling import list_schedule as list_schedule
from .list_scheduling import memory_aware_schedule as memory_aware_schedule
from .list_scheduling import simulate as simulate
from .max_peak import ParallelPeak as ParallelPeak
from .max_peak import (
    brute_force_max_parallel_peak as brute_force_max_parallel_peak,
)
from .max_peak import max_parallel_peak as max_parallel_peak
from .max_peak import state_memory as state_memory
