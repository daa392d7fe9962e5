"""Solver back ends: one module per algorithm family.

``pebble_sched.solve`` is the one door; these modules stay importable for
users who want one algorithm directly:

- :mod:`.brute_force`: dynamic programming over all subsets (the oracle);
- :mod:`.ideals`: budgeted search over the lattice of ideals, and beam
  searches over it (:mod:`.beam_arrays`: their layers on arrays, compiled
  with numba where installed);
- :mod:`.cpsat`: the OR-Tools CP-SAT model;
- :mod:`.trees`: Liu's algorithm on in-trees, out-tree orders;
- :mod:`.series_parallel`: SP recognition and decomposition, pumpkins;
- :mod:`.profiles` and :mod:`.dominant`: atoms, dominance and dominant
  schedules of series-parallel graphs;
- :mod:`.spization`: adding precedences to make any DAG series-parallel;
- :mod:`.pivots`: splitting a graph at nodes comparable to all others;
- :mod:`.heuristics`: baselines and local search; :mod:`.interleave`,
  its exact re-interleaving move; :mod:`.move_arrays`, its window and
  interleave moves on arrays, compiled with numba where installed;
- :mod:`.inductor`: PyTorch Inductor's orders, re-implemented.
"""
