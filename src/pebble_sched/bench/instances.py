"""Instance sets: folders of instance files with a best-known index.

A set is a folder ``instances/<family>/`` of instance files (``*.json`` or
``*.json.gz``) and an index, ``index.csv`` (and the same rows in
``index.json``) with one row per instance::

    instance,n,m,bkv,lb,status,method,date,version

``bkv`` is the best known peak (of a verified schedule, kept beside the
instance as ``<instance>.best.json``), ``lb`` the best proven lower bound,
``status`` ``opt`` when they are equal, else ``best``. The best file says
the same: its ``lower_bound`` is the index's ``lb`` (proven by any verified
run, not always the one whose order it keeps) and its ``status`` is
``optimal`` exactly when the index says ``opt``.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import os

__all__ = [
    "INDEX_FIELDS",
    "InstanceSet",
    "find_instances",
    "read_index",
    "sync_best_file",
    "update_best",
    "write_index",
]

INDEX_FIELDS = [
    "instance",
    "n",
    "m",
    "bkv",
    "lb",
    "status",
    "method",
    "date",
    "version",
]


def instance_name(path: Path) -> str:
    """The instance name of a file: its name without ``.json`` / ``.json.gz``."""
    name = path.name
    for suffix in (".json.gz", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def _is_instance(path: Path) -> bool:
    name = path.name
    return (name.endswith(".json") or name.endswith(".json.gz")) and not (
        name.startswith("index.") or ".best." in name
    )


@dataclass(frozen=True)
class InstanceSet:
    """A family folder and its instance files (sorted by name)."""

    root: Path
    files: tuple[Path, ...]

    @property
    def family(self) -> str:
        return self.root.name


def find_instances(paths: list[str | os.PathLike]) -> list[InstanceSet]:
    """Instance sets from folders (a folder of folders counts as many sets) or files."""
    sets: list[InstanceSet] = []
    loose: dict[Path, list[Path]] = {}
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(
                f for f in p.iterdir() if f.is_file() and _is_instance(f)
            )
            if files:
                sets.append(InstanceSet(p, tuple(files)))
            for sub in sorted(d for d in p.iterdir() if d.is_dir()):
                sub_files = sorted(
                    f for f in sub.iterdir() if f.is_file() and _is_instance(f)
                )
                if sub_files:
                    sets.append(InstanceSet(sub, tuple(sub_files)))
        elif p.is_file():
            loose.setdefault(p.parent, []).append(p)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder.")
    for root, files in loose.items():
        sets.append(InstanceSet(root, tuple(sorted(files))))
    return sets


def read_index(root: Path) -> dict[str, dict]:
    """The rows of ``root/index.csv`` by instance name (empty when absent)."""
    path = Path(root) / "index.csv"
    if not path.exists():
        return {}
    with path.open(newline="") as fh:
        rows = {}
        for row in csv.DictReader(fh):
            for key in ("n", "m", "bkv", "lb"):
                row[key] = (
                    int(row[key]) if row.get(key) not in (None, "") else None
                )
            rows[row["instance"]] = row
        return rows


def write_index(root: Path, rows: dict[str, dict]) -> None:
    """Write ``index.csv`` and ``index.json`` (rows sorted by instance)."""
    root = Path(root)
    ordered = [rows[k] for k in sorted(rows)]
    with (root / "index.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=INDEX_FIELDS, extrasaction="ignore"
        )
        writer.writeheader()
        for row in ordered:
            writer.writerow(row)
    (root / "index.json").write_text(
        json.dumps(
            [{k: r.get(k) for k in INDEX_FIELDS} for r in ordered], indent=1
        )
        + "\n"
    )


def sync_best_file(root: Path, row: dict) -> bool:
    """Give ``<instance>.best.json`` the index row's proven bound and status.

    The file keeps its order, peak and method (the run that found the
    order); its ``lower_bound`` becomes the best proven bound of the
    instance, raised in ``row`` as well if the file held a larger one, and
    its ``status`` follows (``optimal`` when the bound meets the peak).
    Returns whether anything changed.
    """
    from ..formats import write_json

    path = Path(root) / f"{row['instance']}.best.json"
    if not path.exists():
        return False
    data = json.loads(path.read_text())
    lb = max(int(row.get("lb") or 0), int(data.get("lower_bound") or 0))
    status = "optimal" if lb == data["peak"] else "feasible"
    changed = row.get("lb") != lb
    row["lb"] = lb
    if row.get("bkv") is not None:
        row["status"] = "opt" if lb == row["bkv"] else "best"
    if data.get("lower_bound") != lb or data.get("status") != status:
        data["lower_bound"], data["status"] = lb, status
        write_json(path, data)
        changed = True
    return changed


def update_best(
    sets: list[InstanceSet], rows: list[dict], out: Path
) -> list[str]:
    """Update each set's index with this run's verified schedules and proven bounds.

    A best known value changes only when a *verified* schedule beats it; its
    schedule is copied beside the instance as ``<instance>.best.json``. The
    lower bound becomes the largest bound proven by a verified run. Returns
    one line per change.
    """
    import datetime
    import shutil

    from .._version import __version__

    changes = []
    today = datetime.date.today().isoformat()
    for s in sets:
        index = read_index(s.root)
        changed = False
        names = {instance_name(p): p for p in s.files}
        for name in names:
            runs = [
                r
                for r in rows
                if r["family"] == s.family
                and r["instance"] == name
                and r["verified"]
                and r["peak"] is not None
            ]
            if not runs:
                continue
            row = index.get(name) or {
                "instance": name,
                "bkv": None,
                "lb": None,
            }
            win = min(runs, key=lambda r: (r["peak"], r["time_s"] or 0))
            lb = max(r["lb"] or 0 for r in runs)
            row["n"], row["m"] = win["n"], win["m"]
            if row.get("bkv") is None or win["peak"] < row["bkv"]:
                src = (
                    Path(out)
                    / "schedules"
                    / s.family
                    / f"{name}.{win['method']}.json"
                )
                shutil.copyfile(src, s.root / f"{name}.best.json")
                changes.append(
                    f"{s.family}/{name}: best {row.get('bkv')} -> {win['peak']} "
                    f"({win['method']})"
                )
                row.update(
                    bkv=win["peak"],
                    method=win["method"],
                    date=today,
                    version=__version__,
                )
                changed = True
            if row.get("lb") is None or lb > row["lb"]:
                changes.append(
                    f"{s.family}/{name}: lower bound {row.get('lb')} -> {lb}"
                )
                row["lb"] = lb
                changed = True
            row["status"] = "opt" if row["lb"] == row["bkv"] else "best"
            if sync_best_file(s.root, row):
                changed = True
            index[name] = row
        if changed:
            write_index(s.root, index)
    return changes
