"""A line of progress at least every 30 seconds, and each test's time for
`make bench-tests` (pytest plugin, loaded by tests/conftest.py).

A session fixture such as the synth or the rehearsal can run for minutes
before its first test reports; pytest prints nothing meanwhile, and a user
who ran `make test` cannot tell a slow step from a hang. While no test has
reported for `INTERVAL` seconds, this prints which test is running and for
how long, on a copy of the real stderr taken when pytest is configured
(while a fixture runs, pytest has file descriptors 1 and 2 captured).

With KIRO_TEST_TIMINGS set, the session also writes {nodeid: {"seconds",
"markers"}} there when it ends: setup, call and teardown added up, and the
tier markers, read by tools/bench_tests.py.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

INTERVAL = 30.0


class Heartbeat:
    def __init__(self, interval: float = INTERVAL, emit=None, clock=time.monotonic):
        self.interval = interval
        self.emit = emit or (lambda text: print(text, file=sys.__stderr__, flush=True))
        self.clock = clock
        self.started = clock()
        self.last_output = self.started
        self.current: dict[str, float] = {}  # test -> when it started (one per xdist worker)
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
            self.current[what] = now
            self.last_output = now

    def reported(self, what: str | None = None, finished: bool = False) -> None:
        with self._lock:
            self.last_output = self.clock()
            if finished:
                self.current.pop(what, None)

    def line(self) -> str | None:
        """The progress line due now, or None."""
        with self._lock:
            now = self.clock()
            if now - self.last_output < self.interval:
                return None
            self.last_output = now
            running = ", ".join(f"{test} ({now - began:.0f} s so far)" for test, began in self.current.items())
            return f"[progress {now - self.started:4.0f} s] still running {running or 'collection'}"

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            text = self.line()
            if text:
                self.emit(text)


_heartbeat: Heartbeat | None = None
_timings: dict[str, dict] = {}
TIMINGS_VARIABLE = "KIRO_TEST_TIMINGS"
# The markers a timing keeps: the tiers and the acceptance tier's parts.
TIMED_MARKERS = ("unit", "integration", "stacks", "constructs", "acceptance", "validate", "scan", "upgrade")


def pytest_configure(config):
    global _heartbeat
    # Workers of pytest-xdist and --collect-only runs need none: the
    # controller sees every report.
    if config.option.collectonly or hasattr(config, "workerinput"):
        return
    # pytest_configure runs between the initial conftests' capture and the
    # tests': the descriptor is the terminal's (or the log's) here.
    real_stderr = os.dup(2)

    def emit(text: str) -> None:
        os.write(real_stderr, f"\n{text}\n".encode())

    _heartbeat = Heartbeat(emit=emit)
    _heartbeat.start()


def pytest_unconfigure(config):
    if _heartbeat:
        _heartbeat.stop()


def pytest_sessionfinish(session):
    path = os.environ.get(TIMINGS_VARIABLE)
    if path and _heartbeat and _timings:
        Path(path).write_text(json.dumps(_timings, indent=1, sort_keys=True))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart(nodeid, location):
    if _heartbeat:
        _heartbeat.running(nodeid)


def pytest_runtest_logreport(report):
    if _heartbeat:
        _heartbeat.reported(report.nodeid, finished=report.when == "teardown")
        timing = _timings.setdefault(report.nodeid, {"seconds": 0.0, "markers": []})
        timing["seconds"] += report.duration
        timing["markers"] = sorted(set(timing["markers"]) | {m for m in TIMED_MARKERS if m in report.keywords})
