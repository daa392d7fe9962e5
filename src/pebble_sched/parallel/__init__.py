"""Parallel execution under a memory bound.

- :mod:`.max_peak`: the largest peak any parallel schedule can reach
  (one minimum cut, exact when each buffer has one release node; a sound
  bound and an exact CP-SAT model otherwise).
"""

from .fictitious_edges import RestrictedGraph as RestrictedGraph
from .fictitious_edges import critical_path as critical_path
from .fictitious_edges import restrict as restrict
from .max_peak import ParallelPeak as ParallelPeak
from .max_peak import (
    brute_force_max_parallel_peak as brute_force_max_parallel_peak,
)
from .max_peak import max_parallel_peak as max_parallel_peak
from .max_peak import state_memory as state_memory
