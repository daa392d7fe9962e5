"""Files: read instances and schedules, write them, with clear error wording."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .exceptions import InstanceError, ScheduleError
from .graph import Graph
from .schedule import Schedule

__all__ = ["read_graph", "read_schedule", "write_graph", "write_schedule"]


def _load(path: str | os.PathLike, error: type[Exception]) -> Any:
    path = Path(path)
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                text = fh.read()
        else:
            text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory.") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not a UTF-8 text file.") from None
    except (OSError, EOFError) as exc:
        raise error(
            f"{path}: {getattr(exc, 'strerror', None) or exc}."
        ) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}."
        ) from None
    except RecursionError:
        raise error(f"{path}: JSON nested too deeply.") from None


def read_graph(path: str | os.PathLike) -> Graph:
    """Read an instance file (docs/formats.md).

    Raises
    ------
    InstanceError
        For a missing or unreadable file, invalid JSON or a malformed graph;
        the message starts with the file name.
    """
    data = _load(path, InstanceError)
    try:
        graph = Graph.from_dict(data)
    except InstanceError as exc:
        raise InstanceError(f"{Path(path)}: {exc}") from None
    if graph.name is None:
        name = Path(path).name
        for suffix in (".json.gz", ".json"):
            name = name.removesuffix(suffix)
        graph = graph.replace(name=name)
    return graph


def _write_atomically(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all.

    The text goes to a temporary file in the same folder, which replaces
    ``path`` only once it is completely written and flushed: a full disk,
    an unwritable folder or an interrupt leaves no half-written file (and
    an existing file untouched). ``.gz`` names are gzipped.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or "."
    )
    try:
        with os.fdopen(fd, "wb") as fh:
            data = text.encode("utf-8")
            if path.name.endswith(".gz"):
                data = gzip.compress(data, compresslevel=9)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write any JSON value, whole or not at all."""
    _write_atomically(path, json.dumps(data, indent=1) + "\n")


def write_graph(path: str | os.PathLike, graph: Graph) -> None:
    """Write an instance file (docs/formats.md); gzipped when the name ends in ``.gz``.

    The file is written whole or not at all (a temporary file renamed).
    """
    _write_atomically(
        path, json.dumps(graph.to_dict(), separators=(",", ":")) + "\n"
    )


def read_schedule(path: str | os.PathLike) -> Schedule:
    """Read a schedule file (docs/formats.md); ``ScheduleError`` when malformed."""
    data = _load(path, ScheduleError)
    try:
        return Schedule.from_dict(data)
    except ScheduleError as exc:
        raise ScheduleError(f"{Path(path)}: {exc}") from None


def write_schedule(path: str | os.PathLike, schedule: Schedule) -> None:
    """Write a schedule file (docs/formats.md), whole or not at all."""
    _write_atomically(path, json.dumps(schedule.to_dict(), indent=1) + "\n")
