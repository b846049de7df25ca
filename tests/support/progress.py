"""A line of progress at least every 30 seconds (pytest plugin, loaded by
tests/conftest.py).

A session fixture such as the synth or the rehearsal can run for minutes
before its first test reports; pytest prints nothing meanwhile, and a user
who ran `make test` cannot tell a slow step from a hang. While no test has
reported for `INTERVAL` seconds, this prints which test is running, in which
phase, and for how long, on stderr (never captured by pytest).
"""

from __future__ import annotations

import sys
import threading
import time

import pytest

INTERVAL = 30.0


class Heartbeat:
    def __init__(self, interval: float = INTERVAL, stream=None, clock=time.monotonic):
        self.interval = interval
        self.stream = stream or sys.__stderr__
        self.clock = clock
        self.started = clock()
        self.last_output = self.started
        self.current = "collecting"
        self.phase_started = self.started
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="pytest-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def running(self, what: str) -> None:
        with self._lock:
            now = self.clock()
            self.current, self.phase_started, self.last_output = what, now, now

    def reported(self) -> None:
        with self._lock:
            self.last_output = self.clock()

    def line(self) -> str | None:
        """The progress line due now, or None."""
        with self._lock:
            now = self.clock()
            if now - self.last_output < self.interval:
                return None
            self.last_output = now
            return (
                f"\n[progress {now - self.started:4.0f} s] still running {self.current} "
                f"({now - self.phase_started:.0f} s so far)"
            )

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            text = self.line()
            if text:
                print(text, file=self.stream, flush=True)


_heartbeat: Heartbeat | None = None


def pytest_configure(config):
    global _heartbeat
    # Workers of pytest-xdist and --collect-only runs need none.
    if config.option.collectonly or hasattr(config, "workerinput"):
        return
    _heartbeat = Heartbeat()
    _heartbeat.start()


def pytest_unconfigure(config):
    if _heartbeat:
        _heartbeat.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart(nodeid, location):
    if _heartbeat:
        _heartbeat.running(nodeid)


def pytest_runtest_logreport(report):
    if _heartbeat:
        _heartbeat.reported()
