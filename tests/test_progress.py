"""The progress line `make test` prints while a long fixture runs (tests/support/progress.py)."""

from __future__ import annotations

from tests.support.progress import Heartbeat


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_line_is_due_only_after_thirty_silent_seconds_and_names_the_test():
    clock = Clock()
    beat = Heartbeat(clock=clock)
    beat.running("tests/test_rehearsal.py::test_core")
    clock.now += 29
    assert beat.line() is None
    clock.now += 2
    assert beat.line() == "[progress   31 s] still running tests/test_rehearsal.py::test_core (31 s so far)"
    # The next line is due thirty seconds after the last one, not before.
    clock.now += 10
    assert beat.line() is None
    clock.now += 20
    assert "(61 s so far)" in beat.line()


def test_a_test_reporting_resets_the_silence():
    clock = Clock()
    beat = Heartbeat(clock=clock)
    clock.now += 25
    beat.reported()
    clock.now += 25
    assert beat.line() is None


def test_each_test_still_running_is_named_until_its_teardown_reports():
    """Under pytest-xdist two tests run at once: both are named."""
    clock = Clock()
    beat = Heartbeat(clock=clock)
    beat.running("tests/a.py::test_rehearsal")
    clock.now += 10
    beat.running("tests/b.py::test_upgrade")
    beat.reported("tests/b.py::test_upgrade")  # its setup reported: still running
    clock.now += 30
    assert beat.line() == (
        "[progress   40 s] still running tests/a.py::test_rehearsal (40 s so far), "
        "tests/b.py::test_upgrade (30 s so far)"
    )
    beat.reported("tests/a.py::test_rehearsal", finished=True)
    clock.now += 30
    assert beat.line() == "[progress   70 s] still running tests/b.py::test_upgrade (60 s so far)"
