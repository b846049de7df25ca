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
