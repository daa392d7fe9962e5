"""Read scientific workflows in WfCommons' WfFormat (JSON).

WfFormat describes a workflow's tasks, the files each reads and writes,
and the measured runtimes. Two layouts exist and both are read:

- 1.5 and later: ``workflow.specification.tasks`` (``id``, ``parents``,
  ``children``, ``inputFiles``, ``outputFiles``), ``workflow.specification.
  files`` (``id``, ``sizeInBytes``) and ``workflow.execution.tasks``
  (``id``, ``runtimeInSeconds``);
- up to 1.4: ``workflow.tasks`` (``name`` or ``id``, ``parents``,
  ``runtime`` or ``runtimeInSeconds``, ``files`` with ``link`` = ``input``
  or ``output``, ``name`` or ``id``, ``size`` or ``sizeInBytes``).

Our graph: a node per task, its runtime as ``time`` (1 when absent); the
``parents`` as edges; one buffer per file, produced by the task that writes
it (none: a workflow input, resident from the start), read by the tasks
that read it, and kept to the end (``output``) when nobody reads it.
Sizes are in bytes; fractional sizes are rounded up. A file written by two
tasks, an unknown parent, or a missing key is an
:class:`~pebble_sched.exceptions.InstanceError` naming it.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..exceptions import InstanceError
from ..graph import Buffer, Graph

__all__ = ["from_wfformat"]


def _size(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InstanceError(f"{what}: size {value!r} is not a number.")
    if value < 0 or not math.isfinite(value):
        raise InstanceError(f"{what}: size {value!r} is not valid.")
    return math.ceil(value)


def _tasks(data: dict[str, Any]) -> tuple[list[dict], dict[str, int], dict]:
    """Tasks as ``{"id", "parents", "inputs", "outputs", "runtime"}``, file sizes."""
    wf = data.get("workflow")
    if not isinstance(wf, dict):
        raise InstanceError("Not a WfFormat file: no 'workflow' object.")
    tasks: list[dict] = []
    sizes: dict[str, int] = {}
    if "specification" in wf:
        spec = wf["specification"]
        for f in spec.get("files", []):
            sizes[f["id"]] = _size(
                f.get("sizeInBytes", 0), f"File {f['id']!r}"
            )
        runtime = {
            t["id"]: t.get("runtimeInSeconds")
            for t in wf.get("execution", {}).get("tasks", [])
        }
        for t in spec.get("tasks", []):
            tasks.append(
                {
                    "id": t["id"],
                    "parents": list(t.get("parents", [])),
                    "inputs": list(t.get("inputFiles", [])),
                    "outputs": list(t.get("outputFiles", [])),
                    "runtime": runtime.get(t["id"]),
                }
            )
        return tasks, sizes, wf
    if "tasks" not in wf:
        raise InstanceError("Not a WfFormat file: no tasks.")
    for t in wf["tasks"]:
        tid = t.get("id", t.get("name"))
        if tid is None:
            raise InstanceError("A task has neither 'id' nor 'name'.")
        inputs, outputs = [], []
        for f in t.get("files", []):
            fid = f.get("id", f.get("name"))
            size = _size(
                f.get("sizeInBytes", f.get("size", 0)), f"File {fid!r}"
            )
            sizes[fid] = max(sizes.get(fid, 0), size)
            link = f.get("link")
            if link == "input":
                inputs.append(fid)
            elif link == "output":
                outputs.append(fid)
            else:
                raise InstanceError(
                    f"File {fid!r} of task {tid!r}: link {link!r} is neither "
                    "'input' nor 'output'."
                )
        tasks.append(
            {
                "id": tid,
                "parents": list(t.get("parents", [])),
                "inputs": inputs,
                "outputs": outputs,
                "runtime": t.get("runtimeInSeconds", t.get("runtime")),
            }
        )
    return tasks, sizes, wf


def from_wfformat(
    source: str | os.PathLike | dict[str, Any], name: str | None = None
) -> Graph:
    """A graph from a WfFormat workflow (a path or the parsed dict).

    Examples
    --------
    >>> wf = {"name": "tiny", "workflow": {"specification": {
    ...     "tasks": [
    ...         {"id": "a", "parents": [], "inputFiles": ["in"],
    ...          "outputFiles": ["x"]},
    ...         {"id": "b", "parents": ["a"], "inputFiles": ["x"],
    ...          "outputFiles": ["out"]}],
    ...     "files": [{"id": "in", "sizeInBytes": 10},
    ...               {"id": "x", "sizeInBytes": 5},
    ...               {"id": "out", "sizeInBytes": 2}]},
    ...     "execution": {"tasks": [{"id": "a", "runtimeInSeconds": 3.0},
    ...                             {"id": "b", "runtimeInSeconds": 1.5}]}}}
    >>> g = from_wfformat(wf)
    >>> g.n, g.m, [b.id for b in g.buffers], g.time.tolist()
    (2, 1, ['in', 'x', 'out'], [3.0, 1.5])
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            return _from_data(_load(path), name)
        except InstanceError as exc:
            if str(exc).startswith(f"{path}: "):
                raise
            raise InstanceError(f"{path}: {exc}") from None
    return _from_data(source, name)


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InstanceError(f"{path}: no such file.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InstanceError(f"{path}: {exc}.") from None


def _from_data(data: Any, name: str | None) -> Graph:
    if not isinstance(data, dict):
        raise InstanceError("Not a WfFormat file: not a JSON object.")
    try:
        tasks, sizes, _wf = _tasks(data)
    except KeyError as exc:
        raise InstanceError(
            f"Not a WfFormat file: missing key {exc.args[0]!r}."
        ) from None
    ids = [t["id"] for t in tasks]
    known = set(ids)
    edges = []
    for t in tasks:
        for p in t["parents"]:
            if p not in known:
                raise InstanceError(f"Task {t['id']!r}: unknown parent {p!r}.")
            edges.append((p, t["id"]))
    edges = list(dict.fromkeys(edges))
    producer: dict[str, str] = {}
    readers: dict[str, list[str]] = {}
    for t in tasks:
        for f in t["outputs"]:
            if f in producer and producer[f] != t["id"]:
                raise InstanceError(
                    f"File {f!r} is written by both {producer[f]!r} and "
                    f"{t['id']!r}."
                )
            producer[f] = t["id"]
        for f in t["inputs"]:
            readers.setdefault(f, [])
            if t["id"] not in readers[f]:
                readers[f].append(t["id"])
    buffers = []
    mentioned = [f for t in tasks for f in (*t["inputs"], *t["outputs"])]
    for f in dict.fromkeys(mentioned):
        cons = tuple(c for c in readers.get(f, []) if c != producer.get(f))
        buffers.append(
            Buffer(
                f,
                producer.get(f),
                sizes.get(f, 0),
                cons,
                output=not cons and f in producer,
            )
        )
    times = []
    for t in tasks:
        r = t["runtime"]
        times.append(1.0 if r is None else max(0.0, float(r)))
    meta = {
        "source": "wfformat",
        "schema_version": data.get("schemaVersion"),
        "workflow": data.get("name"),
    }
    return Graph(
        ids,
        edges,
        time=times,
        buffers=buffers,
        name=name or data.get("name"),
        meta=meta,
    )
