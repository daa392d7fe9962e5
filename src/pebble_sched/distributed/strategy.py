"""Parallelization strategies: how a training step is spread over devices.

A strategy gives the data-parallel degree ``dp`` (replicas, each on its own
micro-batches), the tensor-parallel degree ``tp``, the number of pipeline
stages ``pp`` (consecutive layer units per stage, balanced by forward
FLOPs), the number of micro-batches per step and the pipeline schedule
(``1f1b`` or ``gpipe``), the ZeRO stage (0-3: optimizer states, then
gradients, then parameters sharded over the data-parallel ranks), which
modules recompute their activations in the backward pass (``fnmatch``
patterns over layer paths: ``blocks.*`` every block, Megatron's full
recomputation; ``layers.*.attn.core`` the attention cores, its selective
one), which units a pipeline *duplicates* (``duplicate``, the same
patterns: every other stage that reads a duplicated unit's output computes
the unit's forward pass itself instead of receiving it; see
:mod:`.duplicate`), and how model state is counted (``optimizer``). It uses ``dp * tp * pp`` devices, tensor-parallel
ranks innermost (inside a node), then data-parallel, then stages.

Per layer: ``layer_tp`` maps ``fnmatch`` patterns over layer units to a
tensor-parallel degree for those units (first match wins; others use
``tp``). A stage keeps its ``dp * tp`` devices, so a unit with degree t runs
data-parallel over ``dp * tp / t`` replicas: a wider shard of the model on
a larger slice of the micro-batch. Between units of different degrees the
activations are *resharded*: the batch slices of the narrower layout are
all-gathered among the devices of the wider tensor-parallel group (forward
when the degree grows, backward when it shrinks). The graph must be traced
with the same per-unit degrees (``gpt_graph(..., layer_tp=...)``,
``pebble-sched import gpt --layer-tp``).

Presets: ``single``, ``data-parallel`` (every device of the cluster),
``megatron(tp,pp,dp)`` or ``megatron(tp,pp,dp,m)``, ``zero(stage)`` (data
parallel over every device with that ZeRO stage), ``pipeline(pp,m)``.

Model state per parameter (``optimizer``), as in Rajbhandari et al. (ZeRO,
SC'20): ``adam-mixed`` 2 (16-bit weights) + 2 (16-bit gradients) + 12
(fp32 master weights, momentum and variance) = 16 bytes;
``megatron-mixed`` 2 + 4 (fp32 gradient accumulation) + 12 = 18 bytes, as
Megatron-LM counts without its distributed optimizer; ``adam-fp32`` 4 + 4 +
8; ``sgd-fp32`` 4 + 4 + 0; ``trace`` (default): exactly what the trace
held resident (``meta["constant_bytes"]``: parameters, buffers and any
optimizer state the traced step updates), with its gradients counted as
the graph's outputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cluster import Cluster

__all__ = ["OPTIMIZERS", "Strategy", "StrategyError", "strategy"]

#: bytes per parameter: (weights, gradients, optimizer states)
OPTIMIZERS: dict[str, tuple[int, int, int] | None] = {
    "trace": None,
    "adam-mixed": (2, 2, 12),
    "adam-fp32": (4, 4, 8),
    "sgd-fp32": (4, 4, 0),
    "megatron-mixed": (2, 4, 12),
}
SCHEDULES = ("1f1b", "gpipe")


class StrategyError(ValueError):
    """An invalid strategy (one sentence naming what is wrong)."""


@dataclass(frozen=True)
class Strategy:
    """See the module docstring."""

    name: str = "single"
    dp: int = 1
    tp: int = 1
    pp: int = 1
    microbatches: int = 1
    schedule: str = "1f1b"
    zero: int = 0
    recompute: tuple[str, ...] = ()
    offload: tuple[str, ...] = ()
    duplicate: tuple[str, ...] = ()
    stage_starts: tuple[str, ...] = ()
    placement: tuple[int, ...] = ()
    optimizer: str = "trace"
    unit_depth: int = 0
    layer_tp: tuple[tuple[str, int], ...] = ()
    offload_to: str = "host"
    meta: dict[str, Any] = field(default_factory=dict)

    def key(self) -> tuple:
        """What identifies the strategy: every field but ``name`` and
        ``meta`` (hashable, for caches of evaluations)."""
        return tuple(
            getattr(self, f.name)
            for f in fields(self)
            if f.name not in ("name", "meta")
        )

    @property
    def devices(self) -> int:
        return self.dp * self.tp * self.pp

    def tp_of(self, unit: str | None) -> int:
        """The tensor-parallel degree of a layer unit (or any layer path):
        the first pattern of ``layer_tp`` that matches it or one of its
        prefixes, else ``tp``."""
        if unit is not None and self.layer_tp:
            parts = unit.split(".")
            for pattern, t in self.layer_tp:
                for k in range(len(parts), 0, -1):
                    if fnmatchcase(".".join(parts[:k]), pattern):
                        return t
        return self.tp

    def dp_of(self, unit: str | None) -> int:
        """The data-parallel degree of a layer unit: a stage's ``dp * tp``
        devices over its tensor-parallel degree."""
        return self.dp * self.tp // self.tp_of(unit)

    def peer_stage(self, stage: int) -> int:
        """The stage whose device holds ``stage``'s activations offloaded to
        a peer: under 1F1B stage s keeps ``pp - s`` micro-batches in flight,
        so the first half of the pipeline offloads to the mirror stage of
        the second half (the first to the last, which keeps the fewest);
        stages of the second half are the peers and offload nothing (the
        stage itself is returned)."""
        mirror = self.pp - 1 - stage
        return mirror if mirror > stage else stage

    def unit_group(self, stage: int, unit: str | None) -> list[int]:
        """The devices that hold replicas of one shard of ``unit`` (its
        data-parallel group): every ``tp_of(unit)``-th device of the stage."""
        t = self.tp_of(unit)
        first = self.device_of(stage)
        return [first + k * t for k in range(self.dp_of(unit))]

    def device_of(self, stage: int, dp_rank: int = 0, tp_rank: int = 0) -> int:
        """The device index of a rank (tensor-parallel innermost; stage s
        takes device group ``placement[s]``, by default group s)."""
        group = self.placement[stage] if self.placement else stage
        return (group * self.dp + dp_rank) * self.tp + tp_rank

    def dp_group(self, stage: int) -> list[int]:
        return [self.device_of(stage, r) for r in range(self.dp)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dp": self.dp,
            "tp": self.tp,
            "pp": self.pp,
            "microbatches": self.microbatches,
            "schedule": self.schedule,
            "zero": self.zero,
            "recompute": list(self.recompute),
            "offload": list(self.offload),
            **({"duplicate": list(self.duplicate)} if self.duplicate else {}),
            "stage_starts": list(self.stage_starts),
            "placement": list(self.placement),
            "optimizer": self.optimizer,
            "unit_depth": self.unit_depth,
            **({"offload_to": self.offload_to} if self.offload else {}),
            **({"layer_tp": dict(self.layer_tp)} if self.layer_tp else {}),
        }


def strategy(spec: Any, cluster: Cluster | None = None) -> Strategy:
    """A strategy from a preset (``megatron(2,2,4)``), a JSON file, JSON
    text (``{"dp": 2}``), a dict of its fields, or a Strategy; checked
    against ``cluster`` when given.

    Raises
    ------
    StrategyError
        One sentence naming the problem.

    Examples
    --------
    >>> from pebble_sched.distributed.cluster import cluster
    >>> s = strategy("megatron(1,2,4)", cluster("a100-80g"))
    >>> s.dp, s.pp, s.devices, s.microbatches
    (4, 2, 8, 2)
    """
    if isinstance(spec, Strategy):
        s = spec
    elif isinstance(spec, dict):
        s = _from_dict(spec, "the strategy", cluster)
    elif str(spec).lstrip().startswith("{"):
        try:
            data = json.loads(str(spec))
        except ValueError as exc:
            raise StrategyError(
                f"Strategy {spec!r}: invalid JSON ({exc})."
            ) from None
        s = _from_dict(data, "the strategy", cluster)
    else:
        text = str(spec).replace(" ", "")
        s = _preset(text, cluster)
        if s is None:
            path = Path(text)
            if not path.exists():
                raise StrategyError(
                    f"Unknown strategy {text!r}: not a preset (single, "
                    "data-parallel, megatron(tp,pp,dp[,m]), zero(stage), "
                    "pipeline(pp,m)) nor a file."
                )
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise StrategyError(
                    f"{path}: cannot read it ({exc})."
                ) from None
            s = _from_dict(data, str(path), cluster)
    _check(s, cluster)
    return s


def _preset(text: str, cluster: Cluster | None) -> Strategy | None:
    everything = cluster.num_devices if cluster is not None else 1
    if text == "single":
        return Strategy("single")
    if text == "data-parallel":
        return Strategy("data-parallel", dp=everything)
    m = re.fullmatch(r"(megatron|zero|pipeline)\(([\d,]*)\)", text)
    if not m:
        return None
    kind = m.group(1)
    try:
        args = [int(x) for x in m.group(2).split(",") if x]
    except ValueError:
        return None
    if kind == "megatron":
        if len(args) not in (3, 4):
            raise StrategyError(
                f"{text}: megatron takes (tp, pp, dp) or (tp, pp, dp, m)."
            )
        tp, pp, dp = args[:3]
        mb = args[3] if len(args) == 4 else max(1, pp)
        return Strategy(text, dp=dp, tp=tp, pp=pp, microbatches=mb)
    if kind == "zero":
        if len(args) != 1:
            raise StrategyError(f"{text}: zero takes the stage, 0 to 3.")
        return Strategy(
            text, dp=everything, zero=args[0], optimizer="adam-mixed"
        )
    if len(args) != 2:
        raise StrategyError(f"{text}: pipeline takes (pp, m).")
    return Strategy(text, pp=args[0], microbatches=args[1])


def _from_dict(data: Any, where: str, cluster: Cluster | None) -> Strategy:
    if not isinstance(data, dict):
        raise StrategyError(f"{where}: a strategy is a JSON object.")
    fields = set(Strategy.__dataclass_fields__) - {"meta"}
    unknown = sorted(set(data) - fields - {"preset"})
    if unknown:
        raise StrategyError(f"{where}: unknown key {unknown[0]!r}.")
    base = Strategy(name="custom")
    if "preset" in data:
        got = _preset(str(data["preset"]).replace(" ", ""), cluster)
        if got is None:
            raise StrategyError(f"{where}: unknown preset {data['preset']!r}.")
        base = got
    kwargs = {k: v for k, v in data.items() if k != "preset"}
    if "offload_to" in kwargs and not isinstance(kwargs["offload_to"], str):
        raise StrategyError(f"{where}: 'offload_to' is 'host' or 'peer'.")
    if "layer_tp" in kwargs:
        v = kwargs["layer_tp"]
        if not isinstance(v, dict) or not all(
            isinstance(k, str)
            and isinstance(t, int)
            and not isinstance(t, bool)
            for k, t in v.items()
        ):
            raise StrategyError(
                f"{where}: 'layer_tp' maps layer patterns to "
                'tensor-parallel degrees, like {"layers.1*": 4}.'
            )
        kwargs["layer_tp"] = tuple(v.items())
    if "placement" in kwargs:
        v = kwargs["placement"]
        if not isinstance(v, list) or not all(
            isinstance(x, int) and not isinstance(x, bool) for x in v
        ):
            raise StrategyError(f"{where}: 'placement' is a list of integers.")
        kwargs["placement"] = tuple(v)
    for key in ("dp", "tp", "pp", "microbatches", "zero", "unit_depth"):
        if key in kwargs:
            v = kwargs[key]
            if isinstance(v, bool) or not isinstance(v, int):
                raise StrategyError(
                    f"{where}: '{key}' must be an integer, not {v!r}."
                )
    for key in ("recompute", "offload", "duplicate", "stage_starts"):
        if key in kwargs:
            r = kwargs[key]
            if isinstance(r, str):
                r = [r]
            if not isinstance(r, list) or not all(
                isinstance(x, str) for x in r
            ):
                raise StrategyError(f"{where}: '{key}' is a list of strings.")
            kwargs[key] = tuple(r)
    return replace(base, **kwargs)


def _check(s: Strategy, cluster: Cluster | None) -> None:
    if s.unit_depth < 0:
        raise StrategyError(
            f"Strategy {s.name}: unit_depth must be >= 0 (0: automatic)."
        )
    for key in ("dp", "tp", "pp", "microbatches"):
        v = getattr(s, key)
        if v < 1:
            raise StrategyError(
                f"Strategy {s.name}: {key} must be >= 1, not {v}."
            )
    if s.offload_to not in ("host", "peer"):
        raise StrategyError(
            f"Strategy {s.name}: offload_to is 'host' or 'peer', not "
            f"{s.offload_to!r}."
        )
    if s.offload_to == "peer" and s.offload and s.pp < 2:
        raise StrategyError(
            f"Strategy {s.name}: offloading to a peer GPU needs pipeline "
            "stages (pp >= 2): with one stage every device is alike and none "
            "has spare memory."
        )
    if s.duplicate and s.pp < 2:
        raise StrategyError(
            f"Strategy {s.name}: duplication computes a unit again on other "
            "pipeline stages; it needs pp >= 2."
        )
    for pattern, t in s.layer_tp:
        if t < 1 or (s.dp * s.tp) % t:
            raise StrategyError(
                f"Strategy {s.name}: layer_tp {pattern!r} = {t} must divide "
                f"the {s.dp * s.tp} devices of a stage (dp {s.dp} x tp "
                f"{s.tp}); its data-parallel degree is the quotient."
            )
        if cluster is not None and (
            t > cluster.devices_per_node or cluster.devices_per_node % t
        ):
            raise StrategyError(
                f"Strategy {s.name}: layer_tp {pattern!r} = {t} must divide "
                f"the {cluster.devices_per_node} devices of a node."
            )
    if s.placement and sorted(s.placement) != list(range(s.pp)):
        raise StrategyError(
            f"Strategy {s.name}: placement must order the {s.pp} stages' "
            f"device groups (a permutation of 0..{s.pp - 1})."
        )
    if s.zero not in (0, 1, 2, 3):
        raise StrategyError(
            f"Strategy {s.name}: zero stage {s.zero} is not 0-3."
        )
    if s.schedule not in SCHEDULES:
        raise StrategyError(
            f"Strategy {s.name}: schedule {s.schedule!r} is not one of "
            f"{', '.join(SCHEDULES)}."
        )
    if s.optimizer not in OPTIMIZERS:
        raise StrategyError(
            f"Strategy {s.name}: optimizer {s.optimizer!r} is not one of "
            f"{', '.join(OPTIMIZERS)}."
        )
    if s.zero and s.optimizer == "trace":
        raise StrategyError(
            f"Strategy {s.name}: ZeRO shards model state counted per "
            "parameter; choose an optimizer (adam-mixed, adam-fp32, "
            "sgd-fp32)."
        )
    if cluster is not None:
        if s.devices > cluster.num_devices:
            raise StrategyError(
                f"Strategy {s.name} uses {s.devices} devices (dp {s.dp} x "
                f"tp {s.tp} x pp {s.pp}); cluster {cluster.name} has "
                f"{cluster.num_devices}."
            )
        if s.tp > cluster.devices_per_node or (
            cluster.devices_per_node % s.tp
        ):
            raise StrategyError(
                f"Strategy {s.name}: tensor-parallel degree {s.tp} must "
                f"divide the {cluster.devices_per_node} devices of a node."
            )
