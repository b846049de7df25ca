"""`make bench-tests`: every CI step timed against its budget, and the ten
slowest tests.

    python -m tools.bench_tests [--here] [--keep]

By default it clones this repository's HEAD (committed work only) into a
temporary directory and runs there what CI runs (`.ci/run` calls this with
`--here`): install, synth, lint, `make test`, `make acceptance` (the two
halves of `make test-all`). The acceptance tier's validate, scan and upgrade
gate are shown as the test time of their tests (they run beside the rest, on
the other worker). Each row is ✓ within its budget or ✗ over it; a budget
missed is reported, never a failure: a benchmark shows, CI's time limit
enforces. A step that fails stops the run with exit 1.

Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TIMINGS_VARIABLE = "KIRO_TEST_TIMINGS"  # tests/support/progress.py writes each test's time there


@dataclass(frozen=True)
class Step:
    name: str
    command: tuple[str, ...]
    budget: float  # seconds
    timings: bool = False  # a pytest run whose per-test times are collected


STEPS = (
    Step("install", ("make", "-j3", "install", "install-scan", "functions"), 90),
    Step("synth", ("make", "synth"), 20),
    Step("lint", ("make", "lint"), 10),
    Step("test", ("make", "test"), 160, timings=True),
    Step("acceptance", ("make", "acceptance"), 620, timings=True),
)
# Parts of the acceptance tier, by marker: the time of their tests.
PARTS = (("validate", 120), ("scan", 60), ("upgrade", 480))
TOTAL_BUDGET = 900.0  # CI's promise: the step budgets add up to it


@dataclass
class Result:
    step: Step
    seconds: float
    code: int
    tests: dict[str, dict] = field(default_factory=dict)  # nodeid -> {"seconds", "markers"}


def run_step(step: Step, cwd: Path, scratch: Path) -> Result:
    environ = {**os.environ, "CI": os.environ.get("CI", "true")}
    timings = scratch / f"{step.name}-timings.json"
    if step.timings:
        environ[TIMINGS_VARIABLE] = str(timings)
    print(f"\n== {step.name}: {' '.join(step.command)}", flush=True)
    started = time.monotonic()
    code = subprocess.run(step.command, cwd=cwd, env=environ).returncode
    result = Result(step, time.monotonic() - started, code)
    if timings.exists():
        result.tests = json.loads(timings.read_text())
    return result


def _mark(seconds: float, budget: float) -> str:
    return "✓" if seconds <= budget else "✗"


def report(results: list[Result]) -> str:
    lines = ["", f"{'step':<22}{'seconds':>9}{'budget':>9}", "-" * 42]
    for result in results:
        lines.append(
            f"{result.step.name:<22}{result.seconds:>9.0f}{result.step.budget:>9.0f}  "
            f"{_mark(result.seconds, result.step.budget)}"
        )
        if result.step.name == "acceptance":
            for marker, budget in PARTS:
                seconds = sum(t["seconds"] for t in result.tests.values() if marker in t["markers"])
                lines.append(f"  {marker + ' (test time)':<20}{seconds:>9.0f}{budget:>9.0f}  {_mark(seconds, budget)}")
    total = sum(r.seconds for r in results)
    lines.append("-" * 42)
    lines.append(f"{'total':<22}{total:>9.0f}{TOTAL_BUDGET:>9.0f}  {_mark(total, TOTAL_BUDGET)}")
    tests = [(t["seconds"], nodeid) for r in results for nodeid, t in r.tests.items()]
    if tests:
        lines += ["", "the ten slowest tests (setup, call and teardown; a shared fixture counts for its first test):"]
        lines += [f"  {seconds:7.1f} s  {nodeid}" for seconds, nodeid in sorted(tests, reverse=True)[:10]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_tests", description=__doc__.split("\n\n")[0])
    parser.add_argument("--here", action="store_true", help="run in this checkout instead of a fresh clone")
    parser.add_argument("--keep", action="store_true", help="keep the fresh clone")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="kiro-bench-"))
    cwd = REPO
    if not args.here:
        cwd = scratch / "clone"
        subprocess.run([shutil.which("git") or "git", "clone", "--quiet", str(REPO), str(cwd)], check=True)
        print(f"fresh clone of HEAD in {cwd}")
    results: list[Result] = []
    try:
        for step in STEPS:
            results.append(run_step(step, cwd, scratch))
            if results[-1].code != 0:
                print(report(results))
                print(f"\n{step.name} failed (exit {results[-1].code})", file=sys.stderr)
                return 1
        text = report(results)
        print(text)
        (scratch / "bench-tests.txt").write_text(text + "\n")
        return 0
    finally:
        if not args.keep and not args.here:
            shutil.rmtree(cwd, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
