"""Live progress of a solve for people: one status line, or a throttled log.

:class:`StatusLine` is a :class:`~pebble_sched.runtime.Callbacks` that keeps
what a person wants to see while a solve runs: the time elapsed, the best
peak, the best proven bound, the gap between them and the phase the solver
is in. On a terminal it is drawn as one line refreshed a few times a second
(with `rich <https://rich.readthedocs.io>`_); elsewhere (a log file, CI) it
writes a line at most once a second and at every phase change, so that a
long run leaves a readable trace without hundreds of lines.

The library never prints; the CLI creates one of these for ``solve``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Self, TextIO

from .runtime import Callbacks
from .schedule import format_bytes

if TYPE_CHECKING:
    from collections.abc import Callable

    from .graph import Graph
    from .schedule import Schedule

__all__ = ["StatusLine"]


class StatusLine(Callbacks):
    """Status of a running solve, drawn live or logged at a bounded rate.

    Parameters
    ----------
    stream
        Where to write (the CLI passes ``sys.stderr``).
    live
        Draw one refreshed line (needs a terminal and ``rich``); otherwise
        write log lines. Default: whether ``stream`` is a terminal.
    interval
        Seconds between two log lines (phase changes are always written).
        Default ``1.0``.
    verbose
        Also log every improvement and bound, however frequent.
    clock
        The clock (tests pass a fake one). Default ``time.monotonic``.

    Examples
    --------
    >>> import io
    >>> now = [0.0]
    >>> out = io.StringIO()
    >>> s = StatusLine(out, live=False, clock=lambda: now[0])
    >>> s.on_phase("heuristic"); now[0] = 0.4; s.on_improvement([], 2048)
    >>> now[0] = 1.5; s.on_bound(1024)
    >>> s.text()
    '1.5 s  peak 2.0 KiB  bound 1.0 KiB  gap 50.00%  heuristic'
    >>> print(out.getvalue(), end="")
    0.0 s  peak -  bound -  heuristic
    1.5 s  peak 2.0 KiB  bound 1.0 KiB  gap 50.00%  heuristic
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool | None = None,
        interval: float = 1.0,
        verbose: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.clock = clock
        self.interval = interval
        self.verbose = verbose
        self.t0 = clock()
        self.peak: int | None = None
        self.bound: int | None = None
        self.phase = ""
        self.done: float | None = None  # (the phase's share done, if told)
        self.last_line = -float("inf")
        if live is None:
            live = bool(getattr(stream, "isatty", lambda: False)())
        self._live: Any = self._start_live(stream) if live else None

    # -- the line ---------------------------------------------------------

    def text(self) -> str:
        """The status as one line of text."""
        parts = [f"{self.clock() - self.t0:.1f} s"]
        parts.append(f"peak {_bytes(self.peak)}")
        parts.append(f"bound {_bytes(self.bound)}")
        if self.peak is not None and self.bound is not None:
            gap = (self.peak - self.bound) / self.peak if self.peak else 0.0
            parts.append(f"gap {100 * max(gap, 0.0):.2f}%")
        if self.phase:
            parts.append(self.phase)
            if self.done is not None:
                parts[-1] += f" {100 * self.done:.0f}%"
        return "  ".join(parts)

    def _start_live(self, stream: TextIO) -> Any:
        try:
            from rich.console import Console
            from rich.live import Live
            from rich.text import Text
        except ModuleNotFoundError:  # rich is a dependency; be safe anyway
            return None

        line = self

        class _Line:
            def __rich__(self) -> Text:
                return Text(line.text(), no_wrap=True, overflow="ellipsis")

        live = Live(
            _Line(),
            console=Console(file=stream),
            refresh_per_second=4,
            transient=True,
        )
        live.start()
        return live

    def close(self) -> None:
        """Remove the live line (call before printing anything else)."""
        if self._live is not None:
            self._live.stop()
            self._live = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _log(self, force: bool = False) -> None:
        now = self.clock()
        if self._live is not None:
            # it also redraws itself 4 times a second; a burst of events
            # (hundreds of improvements a second) redraws at most 10 times
            if force or now - self.last_line >= 0.1:
                self.last_line = now
                self._live.refresh()
            return
        if force or now - self.last_line >= self.interval:
            self.last_line = now
            self.stream.write(self.text() + "\n")
            self.stream.flush()

    # -- callbacks --------------------------------------------------------

    def on_start(self, graph: Graph, method: str) -> None:
        self.stream.write(
            f"solving {graph.name or 'graph'}: {graph.n} nodes, "
            f"{graph.m} edges, method {method}\n"
        )
        self.stream.flush()

    def on_improvement(self, order: Any, peak: int) -> None:
        self.peak = int(peak)
        self._log(force=self.verbose)

    def on_bound(self, lower_bound: int) -> None:
        self.bound = int(lower_bound)
        self._log(force=self.verbose)

    def on_phase(self, phase: str) -> None:
        self.phase = phase
        self.done = None
        self._log(force=True)

    def on_progress(self, done: float) -> None:
        self.done = float(done)
        self._log()

    def on_end(self, schedule: Schedule) -> None:
        self.close()


def _bytes(value: int | None) -> str:
    return "-" if value is None else format_bytes(value)
