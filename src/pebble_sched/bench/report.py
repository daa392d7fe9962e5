"""Markdown reports of benchmark results (per family, per instance)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

__all__ = ["DEFINITIONS", "best_known", "markdown_report", "report_header"]


def best_known(
    rows: list[dict[str, Any]], index: dict[str, dict[str, dict]]
) -> dict:
    """Best known peak per (family, instance): the index's or this run's best verified."""
    best: dict[tuple[str, str], int] = {}
    for fam, entries in index.items():
        for name, row in entries.items():
            if row.get("bkv") is not None:
                best[(fam, name)] = row["bkv"]
    for r in rows:
        if r["verified"] and r["peak"] is not None:
            key = (r["family"], r["instance"])
            best[key] = min(best.get(key, math.inf), r["peak"])
    return best


def _gap(peak: int, bkv: int) -> float:
    if bkv == 0:
        return 0.0 if peak == 0 else math.inf
    return 100.0 * (peak - bkv) / bkv


DEFINITIONS = """\
Columns: *valid* = runs whose schedule the referee re-verified (a
topological order whose re-evaluated peak is the one claimed); *proven
optimal* = valid runs whose peak equals their own proven lower bound;
*failed* = crashed, out of memory, over the time limit plus grace, or a
wrong schedule; *gap to best* = (peak - best known) / best known, where the
best known peak is the lowest verified one in the set's index or in this
run (not the solver's own gap, (peak - lower bound) / peak, which `solve`
prints); *mean time* = the solver's time per run (reading, solving,
writing), in seconds. Per instance: each method's peak in bytes (or its
failure), the best lower bound any method proved, the best known peak, the
winner (lowest peak; `(opt)` when it is proven optimal) and, where both
ran, the ratio of `auto`'s peak to `inductor`'s."""


def report_header(
    *,
    time_limit: float,
    methods: list[str],
    jobs: int,
    sets: list[str],
    version: str,
    date: str,
    cores: int,
) -> str:
    """The title and run description that open ``report.md``.

    Examples
    --------
    >>> print(report_header(time_limit=10, methods=["auto"], jobs=2,
    ...       sets=["trees-in"], version="0.1.0", date="2026-11-29",
    ...       cores=2).splitlines()[0])
    # pebble-sched benchmark: trees-in
    """
    return (
        f"# pebble-sched benchmark: {', '.join(sets)}\n\n"
        f"{date}, pebble-sched {version}; methods {', '.join(methods)}; "
        f"time limit {time_limit:g} s per run; {jobs} runs at once on "
        f"{cores} cores.\n\n{DEFINITIONS}\n\n"
    )


def markdown_report(
    rows: list[dict[str, Any]],
    index: dict[str, dict[str, dict]],
    header: str = "",
) -> str:
    """Per family and method: solved, proven optimal, gaps to best known, time;
    per instance: the winner. Failures (crashed, timeout, oom, wrong) are
    counted; runs of a method on an instance it does not support
    (``unsupported``) are listed apart, neither failed nor valid.
    ``header`` (see :func:`report_header`) opens the report."""
    best = best_known(rows, index)
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    skipped = [r for r in rows if r["status"] == "unsupported"]
    for r in rows:
        if r["status"] != "unsupported":
            groups[(r["family"], r["method"])].append(r)
    out = [
        *([header.rstrip("\n"), ""] if header else []),
        "| family | method | instances | valid | proven optimal | failed "
        "| mean gap to best | max gap to best | mean time (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (fam, method), rs in sorted(groups.items()):
        valid = [
            r
            for r in rs
            if r["verified"] and r["status"] in ("optimal", "feasible")
        ]
        gaps = [_gap(r["peak"], best[(fam, r["instance"])]) for r in valid]
        opt = sum(r["status"] == "optimal" for r in valid)
        failed = len(rs) - len(valid)
        times = [r["time_s"] for r in rs if r["time_s"] is not None]
        mean_gap = f"{sum(gaps) / len(gaps):.2f}%" if gaps else "-"
        max_gap = f"{max(gaps):.2f}%" if gaps else "-"
        mean_t = f"{sum(times) / len(times):.2f}" if times else "-"
        out.append(
            f"| {fam} | {method} | {len(rs)} | {len(valid)} | {opt} | {failed} "
            f"| {mean_gap} | {max_gap} | {mean_t} |"
        )
    if skipped:
        out += ["", "Not run (the method does not support the instance):", ""]
        out.append(
            ", ".join(
                f"{r['family']}/{r['instance']} {r['method']}" for r in skipped
            )
        )
    failures = [
        r
        for r in rows
        if r["status"] != "unsupported"
        and not (r["verified"] and r["status"] in ("optimal", "feasible"))
    ]
    if failures:
        out += ["", "Failures:", ""]
        for r in failures:
            out.append(
                f"- {r['family']}/{r['instance']} {r['method']}: {r['status']} "
                f"{r.get('error') or ''}".rstrip()
            )
    # per instance: every method's peak, the best proven bound, the winner
    by_inst: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        by_inst[(r["family"], r["instance"])].append(r)
    methods = sorted(
        {r["method"] for r in rows}, key=lambda m: (m != "auto", m)
    )
    ratio = "auto" in methods and "inductor" in methods
    head = ["instance", "n", *methods, "lower bound", "best known", "winner"]
    if ratio:
        head.append("auto / inductor")
    # right-align numbers; the instance and winner columns stay left
    align = (
        ["---"] + ["---:"] * (len(methods) + 3) + ["---"] + ["---:"] * ratio
    )
    out += ["", "| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for (fam, inst), rs in sorted(by_inst.items()):
        peak = {r["method"]: r for r in rs}
        valid = [r for r in rs if r["verified"] and r["peak"] is not None]
        if valid:
            win = min(
                valid,
                key=lambda r: (
                    r["peak"],
                    r["status"] != "optimal",
                    r["time_s"],
                ),
            )
            winner = win["method"] + (
                " (opt)" if win["status"] == "optimal" else ""
            )
        else:
            winner = "-"
        lbs = [r["lb"] for r in valid if r["lb"] is not None]
        cells = [
            f"{fam}/{inst}",
            str(next((r["n"] for r in rs if r["n"] is not None), "")),
        ]
        for m in methods:
            r = peak.get(m)
            if r is None:
                cells.append("")
            elif r["verified"] and r["peak"] is not None:
                cells.append(str(r["peak"]))
            elif r["status"] == "unsupported":
                cells.append("n/a")
            else:
                cells.append(r["status"])
        cells += [
            str(max(lbs)) if lbs else "",
            str(best.get((fam, inst), "")),
            winner,
        ]
        if ratio:
            a, i = peak.get("auto"), peak.get("inductor")
            ok = a and i and a["verified"] and i["verified"] and i["peak"]
            cells.append(f"{a['peak'] / i['peak']:.3f}" if ok else "")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
