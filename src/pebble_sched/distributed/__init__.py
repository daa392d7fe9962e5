"""Distributed training: cluster and strategy descriptions, a cost model,
activation recomputation, and a memory-aware simulator of one training step.

- :mod:`.cluster`: devices, nodes, links; presets ``a100-80g``,
  ``h100-sxm``, ``cpu-test``;
- :mod:`.strategy`: data, tensor and pipeline parallelism, micro-batches,
  ZeRO, recomputation; presets ``single``, ``data-parallel``,
  ``megatron(tp,pp,dp)``, ``zero(stage)``, ``pipeline(pp,m)``;
- :mod:`.costs`: the roofline op time and alpha-beta collectives;
- :mod:`.recompute`: recomputation as a graph transformation;
- :mod:`.simulator`: :func:`simulate` -> :class:`SimulationResult`.
"""

from .cluster import Cluster as Cluster
from .cluster import ClusterError as ClusterError
from .cluster import cluster as cluster
from .recompute import with_recomputation as with_recomputation
from .simulator import SimulationResult as SimulationResult
from .simulator import simulate as simulate
from .strategy import Strategy as Strategy
from .strategy import StrategyError as StrategyError
from .strategy import strategy as strategy
