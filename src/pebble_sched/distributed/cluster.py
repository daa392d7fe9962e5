"""Cluster descriptions: devices, nodes and the links between them.

A cluster is ``nodes`` machines of ``devices_per_node`` identical devices
(GPUs). Devices in one node talk over the intra-node link (NVLink through
NVSwitch: every pair at the full per-device bandwidth); devices in
different nodes over the inter-node network (InfiniBand, one NIC per
device); each device reaches its host's memory over PCIe. Bandwidths are
bytes per second *per direction per device*; an ``efficiency`` is the
fraction a collective or a copy achieves in practice.

Presets (``cluster("a100-80g")``, ``cluster("h100-sxm:4")`` for 4 nodes):

- ``a100-80g``: DGX A100, 8 x A100 SXM4 80 GB (312 TFLOP/s BF16 dense,
  2.039 TB/s HBM2e), NVSwitch 300 GB/s per direction, HDR InfiniBand
  25 GB/s per GPU, PCIe 4.0 x16 32 GB/s;
- ``h100-sxm``: DGX H100, 8 x H100 SXM5 80 GB (989 TFLOP/s BF16 dense,
  3.35 TB/s HBM3), NVSwitch 450 GB/s per direction, NDR InfiniBand
  50 GB/s per GPU, PCIe 5.0 x16 64 GB/s;
- ``cpu-test``: 2 nodes x 2 small devices (1 GiB, 1 TFLOP/s), round
  numbers for tests (``cpu-test:1`` for one node).

Vendor dense peak figures; the achievable fractions (``compute_efficiency``
0.75 for large matrix products, ``memory_efficiency`` 0.85, link
``efficiency`` 0.85) are tunable per file. A description file (JSON or
TOML) has the same fields; see ``docs/distributed.md``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = [
    "PRESETS",
    "Cluster",
    "ClusterError",
    "Device",
    "Link",
    "cluster",
]

GiB = 1 << 30
ALGORITHMS = ("ring", "tree", "auto")


class ClusterError(ValueError):
    """An impossible or unreadable cluster description."""


@dataclass(frozen=True)
class Device:
    """One accelerator.

    Attributes
    ----------
    name
        A label (``A100-SXM4-80GB``).
    memory
        Capacity in bytes.
    peak_flops
        Dense peak FLOP/s per dtype (``bf16``, ``fp16``, ``fp32``, ...).
    hbm_bandwidth
        Device-memory bandwidth in bytes/s.
    compute_efficiency, memory_efficiency
        Achievable fractions of the two peaks.
    launch_overhead
        Seconds added to every kernel.
    """

    name: str
    memory: int
    peak_flops: dict[str, float]
    hbm_bandwidth: float
    compute_efficiency: float = 0.75
    memory_efficiency: float = 0.85
    launch_overhead: float = 5e-6

    def flops(self, dtype: str) -> float:
        """Achievable FLOP/s for ``dtype`` (fp32 when it has no entry)."""
        peak = self.peak_flops.get(dtype)
        if peak is None:
            peak = self.peak_flops.get("fp32", max(self.peak_flops.values()))
        return peak * self.compute_efficiency


@dataclass(frozen=True)
class Link:
    """A link class: per-device bandwidth (bytes/s, one direction), latency
    (s), the achievable fraction, and the all-reduce algorithm (``ring``,
    ``tree``: NCCL's pipelined double binary tree, or ``auto``: the faster
    of the two for each message, as NCCL's tuner picks)."""

    bandwidth: float
    latency: float
    efficiency: float = 0.85
    algorithm: str = "ring"

    @property
    def effective(self) -> float:
        return self.bandwidth * self.efficiency


@dataclass(frozen=True)
class Cluster:
    """``nodes`` x ``devices_per_node`` devices and their links.

    Devices are numbered node by node: device d sits in node
    ``d // devices_per_node``.
    """

    name: str
    device: Device
    nodes: int
    devices_per_node: int
    intra: Link
    inter: Link
    host: Link
    host_memory: int
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def num_devices(self) -> int:
        return self.nodes * self.devices_per_node

    def node_of(self, device: int) -> int:
        return device // self.devices_per_node

    def link(self, devices: list[int] | tuple[int, ...] | range) -> Link:
        """The bottleneck link of a group: intra-node if it fits in one node."""
        nodes = {self.node_of(d) for d in devices}
        return self.intra if len(nodes) <= 1 else self.inter

    def link_class(self, devices: Any) -> str:
        return "intra" if self.link(devices) is self.intra else "inter"

    def with_nodes(self, nodes: int) -> Cluster:
        return _checked(replace(self, nodes=nodes))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _a100() -> Cluster:
    return Cluster(
        name="a100-80g",
        device=Device(
            "A100-SXM4-80GB",
            80 * GiB,
            {"bf16": 312e12, "fp16": 312e12, "tf32": 156e12, "fp32": 19.5e12},
            2.039e12,
        ),
        nodes=1,
        devices_per_node=8,
        intra=Link(300e9, 3e-6),
        inter=Link(25e9, 5e-6),
        host=Link(32e9, 2e-6),
        host_memory=1024 * GiB,
    )


def _h100() -> Cluster:
    return Cluster(
        name="h100-sxm",
        device=Device(
            "H100-SXM5-80GB",
            80 * GiB,
            {
                "fp8": 1979e12,
                "bf16": 989e12,
                "fp16": 989e12,
                "tf32": 494e12,
                "fp32": 67e12,
            },
            3.35e12,
        ),
        nodes=1,
        devices_per_node=8,
        intra=Link(450e9, 3e-6),
        inter=Link(50e9, 5e-6),
        host=Link(64e9, 2e-6),
        host_memory=2048 * GiB,
    )


def _cpu_test() -> Cluster:
    return Cluster(
        name="cpu-test",
        device=Device(
            "test-device",
            GiB,
            {"fp32": 1e12, "bf16": 1e12},
            1e11,
            compute_efficiency=1.0,
            memory_efficiency=1.0,
            launch_overhead=0.0,
        ),
        nodes=2,
        devices_per_node=2,
        intra=Link(1e10, 1e-6, efficiency=1.0),
        inter=Link(1e9, 1e-5, efficiency=1.0),
        host=Link(1e9, 1e-6, efficiency=1.0),
        host_memory=16 * GiB,
    )


PRESETS = {"a100-80g": _a100, "h100-sxm": _h100, "cpu-test": _cpu_test}

#: Most nodes a preset takes (``name:N``).
MAX_NODES = 64


def cluster(spec: str | Path | Cluster | dict[str, Any]) -> Cluster:
    """A cluster from a preset name (``a100-80g``, ``h100-sxm:4``), a file
    (``.json`` or ``.toml``), a dict of the file's fields, or a Cluster.

    Raises
    ------
    ClusterError
        One sentence naming what is wrong.

    Examples
    --------
    >>> c = cluster("h100-sxm:2")
    >>> c.num_devices, c.link([0, 7]) is c.intra, c.link([0, 8]) is c.inter
    (16, True, True)
    """
    if isinstance(spec, Cluster):
        return _checked(spec)
    if isinstance(spec, dict):
        return _from_dict(spec, "the cluster description")
    text = str(spec)
    m = re.fullmatch(r"([a-z0-9-]+)(?::(\d+))?", text)
    if m and m.group(1) in PRESETS:
        base = PRESETS[m.group(1)]()
        nodes = int(m.group(2)) if m.group(2) else base.nodes
        if not 1 <= nodes <= MAX_NODES:
            raise ClusterError(
                f"Cluster {text!r}: {nodes} nodes; a preset takes 1 to "
                f"{MAX_NODES}."
            )
        return base.with_nodes(nodes)
    path = Path(text)
    if not path.exists():
        raise ClusterError(
            f"Unknown cluster {text!r}: not a preset "
            f"({', '.join(PRESETS)}, optionally ':NODES') nor a file."
        )
    try:
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(path.read_text())
        else:
            data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ClusterError(f"{path}: cannot read it ({exc}).") from None
    return _from_dict(data, str(path))


def _number(data: dict, key: str, where: str, default: Any = None) -> float:
    value = data.get(key, default)
    if value is None:
        raise ClusterError(f"{where}: '{key}' is missing.")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClusterError(
            f"{where}: '{key}' must be a number, not {value!r}."
        )
    if not math.isfinite(value) or value < 0:
        raise ClusterError(f"{where}: '{key}' must be >= 0, not {value!r}.")
    return value


def _link(data: Any, where: str) -> Link:
    if not isinstance(data, dict):
        raise ClusterError(f"{where} must be an object with 'bandwidth'.")
    unknown = sorted(
        set(data) - {"bandwidth", "latency", "efficiency", "algorithm"}
    )
    if unknown:
        raise ClusterError(f"{where}: unknown key {unknown[0]!r}.")
    algorithm = data.get("algorithm", "ring")
    if algorithm not in ALGORITHMS:
        raise ClusterError(
            f"{where}: algorithm {algorithm!r} is not one of "
            f"{', '.join(ALGORITHMS)}."
        )
    return Link(
        _number(data, "bandwidth", where),
        _number(data, "latency", where, 0.0),
        _number(data, "efficiency", where, 1.0),
        algorithm,
    )


def _from_dict(data: Any, where: str) -> Cluster:
    if not isinstance(data, dict):
        raise ClusterError(f"{where}: a cluster description is an object.")
    base = data.get("preset")
    if base is not None:
        if base not in PRESETS:
            raise ClusterError(f"{where}: unknown preset {base!r}.")
        start = PRESETS[base]().to_dict()
        for key, value in data.items():
            if key == "preset":
                continue
            if isinstance(value, dict) and isinstance(start.get(key), dict):
                start[key] = {**start[key], **value}
            else:
                start[key] = value
        data = start
    known = {
        "name",
        "device",
        "nodes",
        "devices_per_node",
        "intra",
        "inter",
        "host",
        "host_memory",
        "meta",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ClusterError(f"{where}: unknown key {unknown[0]!r}.")
    dev = data.get("device")
    if not isinstance(dev, dict):
        raise ClusterError(f"{where}: 'device' must be an object.")
    dkeys = {
        "name",
        "memory",
        "peak_flops",
        "hbm_bandwidth",
        "compute_efficiency",
        "memory_efficiency",
        "launch_overhead",
    }
    unknown = sorted(set(dev) - dkeys)
    if unknown:
        raise ClusterError(f"{where}: device: unknown key {unknown[0]!r}.")
    peak = dev.get("peak_flops")
    if not isinstance(peak, dict) or not peak:
        raise ClusterError(
            f"{where}: device.peak_flops must map dtypes to FLOP/s."
        )
    for k in peak:
        _number(peak, k, f"{where}: device.peak_flops")
    device = Device(
        str(dev.get("name", "device")),
        int(_number(dev, "memory", f"{where}: device")),
        {str(k): float(v) for k, v in peak.items()},
        _number(dev, "hbm_bandwidth", f"{where}: device"),
        _number(dev, "compute_efficiency", f"{where}: device", 0.75),
        _number(dev, "memory_efficiency", f"{where}: device", 0.85),
        _number(dev, "launch_overhead", f"{where}: device", 5e-6),
    )
    for key in ("nodes", "devices_per_node"):
        v = data.get(key, 1)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ClusterError(
                f"{where}: '{key}' must be a positive integer, not {v!r}."
            )
    c = Cluster(
        name=str(data.get("name", Path(where).stem)),
        device=device,
        nodes=data.get("nodes", 1),
        devices_per_node=data.get("devices_per_node", 1),
        intra=_link(data.get("intra"), f"{where}: intra"),
        inter=_link(data.get("inter", data.get("intra")), f"{where}: inter"),
        host=_link(
            data.get("host", {"bandwidth": 16e9, "latency": 2e-6}),
            f"{where}: host",
        ),
        host_memory=int(_number(data, "host_memory", where, 0)),
        meta=dict(data.get("meta") or {}),
    )
    return _checked(c, where)


def _checked(c: Cluster, where: str | None = None) -> Cluster:
    where = where or f"Cluster {c.name!r}"
    if c.device.memory <= 0:
        raise ClusterError(f"{where}: device memory must be positive.")
    if c.device.hbm_bandwidth <= 0:
        raise ClusterError(f"{where}: device hbm_bandwidth must be positive.")
    if not all(v > 0 for v in c.device.peak_flops.values()):
        raise ClusterError(f"{where}: every peak_flops must be positive.")
    for name in ("compute_efficiency", "memory_efficiency"):
        v = getattr(c.device, name)
        if not 0 < v <= 1:
            raise ClusterError(f"{where}: {name} must be in (0, 1], not {v}.")
    for name in ("intra", "inter", "host"):
        link = getattr(c, name)
        if link.bandwidth <= 0:
            raise ClusterError(f"{where}: {name} bandwidth must be positive.")
        if not 0 < link.efficiency <= 1:
            raise ClusterError(
                f"{where}: {name} efficiency must be in (0, 1]."
            )
    if c.nodes < 1 or c.devices_per_node < 1:
        raise ClusterError(f"{where}: needs at least one node and device.")
    return c
