"""Tests of progress reporting: the status line and strict callbacks (#11)."""

import io
import itertools

import pytest

from pebble_sched import Callbacks, solve
from pebble_sched.generators import daggen, layered
from pebble_sched.progress import StatusLine


class FakeClock:
    """A clock that moves only when told."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_status_line_content():
    """Tests that the status line shows elapsed time, peak, bound, gap and phase."""
    clock = FakeClock()
    line = StatusLine(io.StringIO(), live=False, clock=clock)
    assert line.text() == "0.0 s  peak -  bound -"
    line.on_phase("ideals")
    line.on_bound(3 * 2**20)
    clock.now = 12.34
    line.on_improvement([0], 4 * 2**20)
    assert line.text() == (
        "12.3 s  peak 4.0 MiB  bound 3.0 MiB  gap 25.00%  ideals"
    )


def test_log_is_throttled_but_keeps_phases():
    """Tests that off a terminal at most one line a second is written, plus every phase change."""
    clock = FakeClock()
    out = io.StringIO()
    line = StatusLine(out, live=False, clock=clock)
    line.on_phase("heuristic")
    for k in range(300):  # 300 improvements in 3 s
        clock.now = k / 100
        line.on_improvement([0], 1000 - k)
    line.on_phase("cpsat")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("heuristic") and lines[-1].endswith("cpsat")
    assert 3 <= len(lines) <= 6


def test_verbose_logs_every_event():
    """Tests that --verbose writes a line per improvement and bound."""
    out = io.StringIO()
    line = StatusLine(out, live=False, verbose=True, clock=FakeClock())
    for k in range(10):
        line.on_improvement([0], 100 - k)
    line.on_bound(50)
    assert len(out.getvalue().splitlines()) == 11


@pytest.mark.parametrize("method", ["auto", "heuristic", "ideals"])
def test_solve_reports_strict_progress(method):
    """Tests that bounds only rise, peaks only fall, and phases change (#11: on_bound fired twice)."""
    peaks, bounds, phases = [], [], []
    cb = Callbacks(
        on_improvement=lambda order, peak: peaks.append(peak),
        on_bound=bounds.append,
        on_phase=phases.append,
    )
    g = layered(60, 8, 0.3, seed=4)
    s = solve(g, method, time_limit=5, callbacks=cb)
    assert bounds and all(a < b for a, b in itertools.pairwise(bounds))
    assert all(a > b for a, b in itertools.pairwise(peaks))
    assert all(a != b for a, b in itertools.pairwise(phases))
    assert bounds[-1] == s.lower_bound
    assert not peaks or peaks[-1] >= s.peak


def test_status_line_through_solve():
    """Tests that a solve drives the status line to its final peak and bound."""
    out = io.StringIO()
    line = StatusLine(out, live=False, verbose=True)
    s = solve(
        daggen(60, fat=0.8, density=0.8, regularity=0.8, jump=4),
        time_limit=3,
        callbacks=line,
    )
    text = out.getvalue()
    assert text.startswith("solving daggen")
    assert "bounds" in text and "heuristic" in text
    assert line.bound == s.lower_bound
    assert line.peak is None or line.peak >= s.peak


def test_callbacks_from_keywords():
    """Tests that Callbacks accepts functions by keyword and rejects non-callables (#11)."""
    seen = []
    cb = Callbacks(on_bound=seen.append)
    cb.on_bound(3)
    cb.on_improvement([0], 1)  # the others stay no-ops
    assert seen == [3]
    with pytest.raises(TypeError, match="on_phase must be callable"):
        Callbacks(on_phase=3)


def test_status_line_shows_the_share_done():
    """Tests that a phase that tells its progress shows it as a percentage, reset by the next phase."""
    line = StatusLine(io.StringIO(), live=False, clock=FakeClock())
    line.on_phase("sp (threshold family)")
    assert line.text().endswith("sp (threshold family)")
    line.on_progress(0.374)
    assert line.text().endswith("sp (threshold family) 37%")
    line.on_phase("sp proof")
    assert line.text().endswith("sp proof")


def test_solve_reports_the_sp_pass_share_done():
    """Tests that auto's SP pass on a 25,000-node SP graph reports a growing share of its nodes, through the strict tracker, and that the answer is the one without a listener."""
    from pebble_sched.generators import series_parallel

    g = series_parallel(25_000, seed=3, max_out_degree=6)
    phases, done = [], []
    cb = Callbacks(
        on_phase=phases.append,
        on_progress=lambda f: done.append((phases[-1], f)),
    )
    s = solve(g, callbacks=cb)
    assert s.status == "optimal"
    assert solve(g).peak == s.peak
    sp = [f for phase, f in done if phase.startswith("sp")]
    # (a report per hundredth of the nodes placed here; the forked
    # process's parts count at once, when taken)
    assert len(sp) >= 10
    assert all(a < b for a, b in itertools.pairwise(sp))
    assert sp[0] > 0 and sp[-1] == pytest.approx(0.99)


def test_tracker_forwards_growing_progress_per_phase():
    """Tests that solve's tracker passes on a phase's progress only when it grows, from 0 again after each phase change, clipped to [0, 1]."""
    from pebble_sched.runtime import Tracker

    seen = []
    t = Tracker(Callbacks(on_progress=seen.append))
    t.on_phase("sp")
    for done in (0.1, 0.05, 0.1, 0.3, 1.5):
        t.on_progress(done)
    t.on_phase("sp proof")
    t.on_progress(0.2)
    t.on_phase("sp proof")  # (the same phase: no reset)
    t.on_progress(0.1)
    assert seen == [0.1, 0.3, 1.0, 0.2]
