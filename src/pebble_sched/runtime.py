"""Deadlines and progress callbacks shared by every solver."""

from __future__ import annotations

import contextlib
import gc
import math
import os
import pickle
import select
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .graph import Graph
    from .schedule import Schedule

__all__ = [
    "Callbacks",
    "ChildDied",
    "Deadline",
    "TimeUp",
    "Tracker",
    "dask_client",
    "gc_paused",
    "import_optional",
    "process_age",
    "run_cancellable",
    "run_in_child",
    "sigint_held",
    "sigint_seen",
    "start_in_child",
    "write_reserve",
]

T = TypeVar("T")


class TimeUp(Exception):
    """Raised inside a solver when its deadline has passed."""


class Deadline:
    """A monotonic-clock deadline, measured from its creation.

    Examples
    --------
    >>> d = Deadline(math.inf)
    >>> d.expired(), d.remaining()
    (False, inf)
    """

    __slots__ = ("limit", "start")

    def __init__(self, time_limit: float = math.inf) -> None:
        if time_limit is None:
            time_limit = math.inf
        if not (time_limit >= 0):
            raise ValueError("time_limit must be non-negative.")
        self.start = time.monotonic()
        self.limit = float(time_limit)

    def elapsed(self) -> float:
        """Seconds since the deadline was created."""
        return time.monotonic() - self.start

    def remaining(self) -> float:
        """Seconds left (``inf`` without a limit, never negative)."""
        return max(0.0, self.limit - self.elapsed())

    def expired(self) -> bool:
        """Whether the time is up."""
        return self.elapsed() >= self.limit

    def check(self) -> None:
        """Raise :class:`TimeUp` when the time is up."""
        if self.elapsed() >= self.limit:
            raise TimeUp

    def sub(self, fraction: float) -> Deadline:
        """A deadline ending after ``fraction`` of the remaining time."""
        return Deadline(
            self.remaining() * fraction
            if math.isfinite(self.limit)
            else math.inf
        )


class Callbacks:
    """Progress hooks; every method is a no-op.

    Subclass it and override what you need, or pass plain functions as
    keywords. ``solve`` reports only strict progress: each improvement has a
    lower peak than the last, each bound is higher than the last.

    Examples
    --------
    >>> seen = []
    >>> cb = Callbacks(on_improvement=lambda order, peak: seen.append(peak))
    >>> cb.on_improvement([0, 1], 7); cb.on_bound(3)
    >>> seen
    [7]
    """

    def __init__(
        self,
        *,
        on_start: Callable[[Graph, str], None] | None = None,
        on_improvement: Callable[[Any, int], None] | None = None,
        on_bound: Callable[[int], None] | None = None,
        on_phase: Callable[[str], None] | None = None,
        on_progress: Callable[[float], None] | None = None,
        on_end: Callable[[Schedule], None] | None = None,
    ) -> None:
        hooks = {
            "on_start": on_start,
            "on_improvement": on_improvement,
            "on_bound": on_bound,
            "on_phase": on_phase,
            "on_progress": on_progress,
            "on_end": on_end,
        }
        for name, fn in hooks.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"{name} must be callable.")
                setattr(self, name, fn)

    def on_start(self, graph: Graph, method: str) -> None:
        """Called once when a solve starts."""

    def on_improvement(self, order: Any, peak: int) -> None:
        """Called when a better order is found (order as node indices)."""

    def on_bound(self, lower_bound: int) -> None:
        """Called when a better lower bound is proven."""

    def on_phase(self, phase: str) -> None:
        """Called when the solver enters a phase (``"heuristic"``, ``"cpsat"``, ...)."""

    def on_progress(self, done: float) -> None:
        """Called with the share (0 to 1) of the current phase's work done,
        by phases that can tell (the SP solver's passes: the share of the
        graph's nodes placed); it grows within a phase."""

    def on_end(self, schedule: Schedule) -> None:
        """Called once with the final schedule."""


class Tracker(Callbacks):
    """Keeps the best order, peak and bound reported, and forwards progress.

    ``solve`` puts one between the solvers and the user's callbacks: the
    user sees strict improvements only, and every exit path (time limit,
    Ctrl-C, a method that proves nothing) can report the best order and the
    best bound any part of the run found (#11).
    """

    def __init__(self, inner: Callbacks | None = None) -> None:
        self.inner = inner
        self.best_order: Any = None
        self.best_peak: int | None = None
        self.bound = 0
        self.phase = ""
        self.done = 0.0  # (the current phase's progress)

    def on_start(self, graph: Graph, method: str) -> None:
        if self.inner is not None:
            self.inner.on_start(graph, method)

    def on_improvement(self, order: Any, peak: int) -> None:
        peak = int(peak)
        if self.best_peak is not None and peak >= self.best_peak:
            return
        self.best_order, self.best_peak = order, peak
        if self.inner is not None:
            self.inner.on_improvement(order, peak)

    def on_bound(self, lower_bound: int) -> None:
        lower_bound = int(lower_bound)
        if lower_bound <= self.bound:
            return
        self.bound = lower_bound
        if self.inner is not None:
            self.inner.on_bound(lower_bound)

    def on_phase(self, phase: str) -> None:
        if phase == self.phase:
            return
        self.phase = phase
        self.done = 0.0
        if self.inner is not None:
            self.inner.on_phase(phase)

    def on_progress(self, done: float) -> None:
        done = min(1.0, max(0.0, float(done)))
        if done <= self.done:
            return
        self.done = done
        if self.inner is not None:
            self.inner.on_progress(done)

    def on_end(self, schedule: Schedule) -> None:
        if self.inner is not None:
            self.inner.on_end(schedule)


def run_cancellable(
    fn: Callable[[], T],
    cancel: Callable[[], None],
    *,
    deep: bool = False,
) -> tuple[T, bool]:
    """Run ``fn`` in a worker thread so that Ctrl-C reaches it.

    A Python signal handler only runs in the main thread between bytecodes,
    so a long call into C++ (CP-SAT) or a deep recursion cannot see Ctrl-C
    by itself. Here the main thread waits in short joins; on
    ``KeyboardInterrupt`` it calls ``cancel()`` (which makes ``fn`` return
    or raise soon: a stop flag, ``CpSolver.stop_search``), waits for it and
    reports that an interrupt happened. An interrupt is therefore always a
    signal this process received, never a solver's early return.

    Parameters
    ----------
    fn
        The work; its return value is passed on, its exception re-raised.
    cancel
        Called once, from the main thread, on Ctrl-C.
    deep
        Give the worker a 512 MiB stack and a recursion limit of 10**6
        (recursive decompositions of large graphs).

    Returns
    -------
    tuple
        ``(result, interrupted)``.

    Examples
    --------
    >>> run_cancellable(lambda: 6 * 7, lambda: None)
    (42, False)
    """
    result: list[T] = []
    error: list[BaseException] = []
    done = threading.Event()

    def target() -> None:
        old = sys.getrecursionlimit()
        if deep:
            sys.setrecursionlimit(max(old, 1_000_000))
        try:
            result.append(fn())
        except BaseException as exc:  # re-raised in the caller
            error.append(exc)
        finally:
            if deep:
                sys.setrecursionlimit(old)
            done.set()

    previous = threading.stack_size()
    if deep:
        threading.stack_size(512 * 1024 * 1024)
    try:
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
    finally:
        if deep:
            threading.stack_size(previous)
    interrupted = False
    # wait on an event, not in Thread.join: a KeyboardInterrupt inside
    # join(timeout) can leave is_alive() False while the thread still runs
    while not done.is_set():
        try:
            done.wait(0.05)
        except KeyboardInterrupt:
            if not interrupted:
                interrupted = True
                cancel()
    thread.join()
    if error:
        raise error[0]
    return result[0], interrupted


def run_in_child(
    fn: Callable[..., T],
    hard_limit: float,
    grace: float = 1.0,
    on_message: Callable[[Any], None] | None = None,
) -> tuple[T | None, bool]:
    """Run ``fn`` in a forked child process that can be killed at a deadline.

    For native code that does not keep its own time limit (CP-SAT loading a
    large cumulative into its LP can take seconds after its limit has
    passed, and ignores ``stop_search`` meanwhile): the child computes
    ``fn()`` and sends its (picklable) result back; a child still running
    ``hard_limit`` seconds from now is killed and ``None`` is returned. On
    Ctrl-C (or SIGTERM, which the CLI turns into the same) the child gets
    SIGINT, which makes CP-SAT return its best so far, and ``grace`` more
    seconds to send it.

    With ``on_message``, the child runs ``fn(send)``: each object it passes
    to ``send`` (its progress) is given to ``on_message`` here, in this
    process, as it comes.

    Where ``os.fork`` does not exist, ``fn`` runs in a thread instead, with
    no hard limit.

    Returns
    -------
    tuple
        ``(result or None when killed, interrupted)``.

    Examples
    --------
    >>> run_in_child(lambda: sum(range(10)), hard_limit=10)
    (45, False)
    """
    if not hasattr(os, "fork"):  # pragma: no cover - not on Linux
        if on_message is not None:
            return run_cancellable(lambda: fn(on_message), lambda: None)
        return run_cancellable(fn, lambda: None)
    child = start_in_child(fn, messages=on_message is not None)
    interrupted = False
    end = time.monotonic() + hard_limit
    try:
        while True:
            try:
                wait = end - time.monotonic()
                if wait <= 0:
                    break
                fds = [child.fd] + (
                    [child.msg_fd] if child.msg_fd >= 0 else []
                )
                ready, _, _ = select.select(fds, [], [], min(wait, 0.05))
                if on_message is not None:
                    for message in child.messages():
                        on_message(message)
                if child.fd in ready:
                    chunk = os.read(child.fd, 1 << 20)
                    if not chunk:
                        break  # the child closed its end: done
                    child.chunks.append(chunk)
            except KeyboardInterrupt:
                if not interrupted:
                    interrupted = True
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child.pid, signal.SIGINT)
                    end = min(end, time.monotonic() + grace)
    finally:
        child.stop()
    chunks = child.chunks
    try:
        kind, value = pickle.loads(b"".join(chunks))
    except Exception:  # killed before it sent a complete answer
        return None, interrupted
    if kind == "error":
        raise value
    return value, interrupted


class ChildDied(RuntimeError):
    """A forked worker ended without an answer (killed, out of memory)."""


class Child:
    """A computation running in a forked process (:func:`start_in_child`)."""

    def __init__(self, pid: int, fd: int, msg_fd: int = -1) -> None:
        self.pid, self.fd = pid, fd
        self.chunks: list[bytes] = []
        self.eof = False  # (the whole answer read)
        self.msg_fd = msg_fd  # (-1: no messages)
        self._pending = b""

    def messages(self) -> list[Any]:
        """The messages the child sent (``send``) since the last call,
        without waiting."""
        out: list[Any] = []
        while self.msg_fd >= 0:
            ready, _, _ = select.select([self.msg_fd], [], [], 0)
            if not ready:
                break
            chunk = os.read(self.msg_fd, 1 << 20)
            if not chunk:
                os.close(self.msg_fd)
                self.msg_fd = -1
                break
            self._pending += chunk
        while len(self._pending) >= 4:
            size = int.from_bytes(self._pending[:4], "little")
            if len(self._pending) < 4 + size:
                break
            out.append(pickle.loads(self._pending[4 : 4 + size]))
            self._pending = self._pending[4 + size :]
        return out

    def result(self, check: Callable[[], None]) -> Any:
        """Wait for the answer, calling ``check`` about 20 times a second
        (what it raises, such as ``TimeUp`` or ``KeyboardInterrupt``, ends
        the wait: call :meth:`stop` then); re-raise the child's exception.
        Asked again, it answers the same."""
        while not self.eof:
            check()
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    self.eof = True
                    break
                self.chunks.append(chunk)
        self.stop()
        try:
            kind, value = pickle.loads(b"".join(self.chunks))
        except Exception as exc:  # died before it sent a complete answer
            raise ChildDied("a worker process died") from exc
        if kind == "error":
            raise value
        return value

    def done(self, wait: float = 0.0) -> bool:
        """Whether the answer has come, whole, waiting up to ``wait``
        seconds for it (:meth:`result` then returns at once)."""
        end = time.monotonic() + wait
        while self.pid and not self.eof:
            left = max(0.0, end - time.monotonic())
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return False
            chunk = os.read(self.fd, 1 << 20)
            if chunk:
                self.chunks.append(chunk)
            else:
                self.eof = True
        return True

    def stop(self) -> None:
        """End the child (killed if still running); safe to call twice."""
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            os.close(self.fd)
            if self.msg_fd >= 0:
                os.close(self.msg_fd)
                self.msg_fd = -1
            self.pid = 0


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a block runs.

    For code that builds millions of small objects and no reference cycles
    to speak of (the SP decomposition and solver: a solve on 30,000 nodes
    leaves 317 objects in cycles): the collector's passes over all live
    objects are then pure cost, half of the decomposition's time at 10^6
    nodes and a fifth of the solver's at 10^5. The collector is
    process-wide, so other threads run without it meanwhile; a nested
    pause leaves it to the outer one to resume. On resuming after a block
    that kept more than ``GC_YOUNG_MAX`` new objects, every object the
    collector tracks moves to its oldest generation.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            if gc.get_count()[0] > GC_YOUNG_MAX:
                # what the block allocated and kept sits in the youngest
                # generation, whose first pass after resuming would walk
                # it all (up to a second at 10^5 nodes, past a time
                # limit): everything goes to the oldest one instead,
                # unwalked (freeze and unfreeze move the lists whole),
                # and is collected there with the other long-lived objects
                gc.freeze()
                gc.unfreeze()
            gc.enable()


GC_YOUNG_MAX = 100_000
"""Objects kept from a pause of the garbage collector above which
:func:`gc_paused` hands them to the oldest generation (a pass over this
many takes about 10 ms)."""


@contextlib.contextmanager
def sigint_held() -> Iterator[set[int]]:
    """Hold SIGINT and SIGTERM back while a block runs (one that forks: a
    handler's exception landing in a fork hook is lost, see
    :func:`sigint_seen`).

    A Ctrl-C (or a SIGTERM, which the CLI turns into the same) that came
    meanwhile is delivered when the block ends, so its
    ``KeyboardInterrupt`` is raised on leaving the ``with``. Yields the
    signal mask to restore, for a forked child that leaves by ``os._exit``.
    """
    mask = signal.pthread_sigmask(
        signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM}
    )
    try:
        yield mask
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


@contextlib.contextmanager
def sigint_restored() -> Iterator[None]:
    """Put SIGINT's action back as Python knows it after a block of native
    code that may change it behind Python's back (OR-Tools sets it to the
    default, terminate, when a CP-SAT solve ends). Outside the main thread
    nothing is done: only the main thread may set signal actions.

    Examples
    --------
    >>> import signal
    >>> before = signal.getsignal(signal.SIGINT)
    >>> with sigint_restored():
    ...     pass
    >>> signal.getsignal(signal.SIGINT) is before
    True
    """
    try:
        yield
    finally:
        if threading.current_thread() is threading.main_thread():
            handler = signal.getsignal(signal.SIGINT)
            if handler is not None:  # (None: set outside Python)
                signal.signal(signal.SIGINT, handler)


PIPE_SIZE = 1 << 20


def start_in_child(fn: Callable[..., T], messages: bool = False) -> Child:
    """Start ``fn()`` in a forked process and return at once.

    The child ignores SIGINT (the parent decides: :meth:`Child.stop`) and
    sends back ``fn()``'s value or exception, pickled. With ``messages``,
    the child runs ``fn(send)`` instead, where ``send(obj)`` passes a
    picklable object to the parent while ``fn`` runs (read with
    :meth:`Child.messages`). POSIX only.
    """
    msg_read = msg_write = -1
    if messages:
        msg_read, msg_write = os.pipe()
    read_fd, write_fd = os.pipe()
    # a larger pipe where Linux allows it (1 MB by default): an answer that
    # fits is written whole while the parent is busy elsewhere, so that
    # Child.done sees it at once (an order of 10^5 nodes is about 0.8 MB;
    # with the default 64 KB the child waited on each read)
    with contextlib.suppress(AttributeError, OSError):
        import fcntl

        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    child = None
    try:
        with sigint_held() as mask:
            pid = os.fork()
            if pid == 0:  # the child: only os._exit leaves
                code = 0
                try:
                    os.close(read_fd)
                    signal.signal(signal.SIGINT, signal.SIG_IGN)
                    signal.signal(signal.SIGTERM, signal.SIG_DFL)
                    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
                    if messages:
                        os.close(msg_read)
                        value = fn(_sender(msg_write))
                    else:
                        value = fn()
                    data = pickle.dumps(("ok", value))
                except BaseException as exc:
                    data = pickle.dumps(("error", exc))
                    code = 1
                try:
                    with os.fdopen(write_fd, "wb") as out:
                        out.write(data)
                finally:
                    os._exit(code)
            os.close(write_fd)
            if messages:
                os.close(msg_write)
            child = Child(pid, read_fd, msg_read)
    except BaseException:  # a Ctrl-C that came meanwhile: end the child
        if child is not None:
            child.stop()
        raise
    return child


def _sender(fd: int) -> Callable[[Any], None]:
    """The child's ``send``: each object as a 4-byte length and its pickle."""

    def send(obj: Any) -> None:
        data = pickle.dumps(obj)
        view = memoryview(len(data).to_bytes(4, "little") + data)
        while view:
            view = view[os.write(fd, view) :]

    return send


@contextlib.contextmanager
def sigint_seen() -> Iterator[list[int]]:
    """Record Ctrl-C while a block runs, besides raising ``KeyboardInterrupt``.

    Yields a list that receives the signal number at each SIGINT. An
    exception raised by a signal handler is lost when it lands inside a
    fork hook (``os.fork`` runs ``logging``'s, for one, and ignores what
    they raise), so loops that start processes check the list as well.
    Outside the main thread, or when SIGINT already has a handler other
    than Python's default, the list stays empty and nothing changes.

    Examples
    --------
    >>> with sigint_seen() as seen:
    ...     pass
    >>> seen
    []
    """
    seen: list[int] = []
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield seen
        return

    def note(signum: int, frame: Any) -> None:
        seen.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, note)
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while a block runs that drops exceptions
    (numba compiling: what a signal handler raises inside its callbacks is
    printed as "Exception ignored" and lost, and the run would go on), then
    hand the first one received to the handler in place as the block ends.
    Outside the main thread nothing changes. (:func:`sigint_held` masks
    the signals instead, for a fork; a mask holds them for the calling
    thread only, and if another thread takes one, Python still runs the
    handler in the main thread, inside the compilation.)

    Examples
    --------
    >>> with signals_deferred():
    ...     pass
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    previous: dict[int, Any] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(sig)
        if handler is signal.SIG_IGN or handler is None:
            continue
        previous[sig] = handler
        signal.signal(sig, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if got:
            handler = previous[got[0]]
            if callable(handler):
                handler(got[0], None)
            else:  # SIG_DFL
                os.kill(os.getpid(), got[0])


def process_age() -> float:
    """Seconds since this process started (0 where the system cannot say).

    The interpreter's start-up and the imports take a few tenths of a
    second before any of our code runs; a time limit is a promise about the
    whole command. Linux: the start time in /proc/self/stat (clock ticks
    since boot) against the boot-time clock.
    """
    try:
        with open("/proc/self/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22, starttime (after pid and comm)
        start = ticks / os.sysconf("SC_CLK_TCK")
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - start
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0
    return age if 0.0 <= age < 60.0 else 0.0


def write_reserve(graph: Graph) -> float:
    """Seconds kept back from a time limit to check and write the schedule.

    Evaluating an order and writing it take about 0.1 us per node and edge
    (10^6 nodes, 2.4 * 10^6 nodes and edges: 0.03 s and 0.28 s); ten times
    that, and 50 ms at least. (It was 10 us: 24 s at 10^6 nodes, which
    left ``solve -t 30`` no time after reading the file, and it returned
    the input order 15 s early.)
    """
    return 0.05 + 1e-6 * (graph.n + graph.m)


def import_optional(name: str) -> Any:
    """The module ``name``, or None when it is not installed or is broken.

    An import cut short by Ctrl-C or SIGTERM leaves the modules it had
    begun half initialised in ``sys.modules``, where a later import finds
    them and fails only when they are used (numba, interrupted while it
    loads numpy.polynomial: "module 'numba' has no attribute 'core'",
    a traceback instead of the best order so far). So the modules the
    interrupted import added are removed before the interrupt goes on,
    and a later import starts afresh.

    Examples
    --------
    >>> import_optional("json").dumps([1])
    '[1]'
    >>> import_optional("no_such_module_here") is None
    True
    """
    import importlib

    before = set(sys.modules)
    try:
        return importlib.import_module(name)
    except Exception:  # not installed, or broken
        return None
    except BaseException:
        for added in set(sys.modules) - before:
            sys.modules.pop(added, None)
        raise


def dask_client(scheduler: str | None, workers: int) -> Any:
    """A ``distributed.Client``: connected to ``scheduler`` when given, else
    a local cluster of ``workers`` single-threaded processes.

    Raises
    ------
    ModuleNotFoundError
        Without the ``dask`` extra, saying how to install it.
    """
    try:
        from distributed import Client
    except ImportError:
        raise ModuleNotFoundError(
            "The Dask executor needs the 'dask' extra: "
            'pip install "pebble-sched[dask]"'
        ) from None
    if scheduler:
        return Client(scheduler)
    import logging

    # a local cluster's start-up and shutdown chatter is not the user's news
    logging.getLogger("distributed").setLevel(logging.WARNING)
    return Client(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        silence_logs=logging.WARNING,
    )
