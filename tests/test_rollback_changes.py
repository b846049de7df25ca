"""The rollback function's page carries what changed since the last good
release (issue 24, item 1): the first lines of `python -m ops changes` and
the command, computed after RollbackStage, best effort within
SUMMARY_SECONDS. A summary that fails every time, or never answers, still
gives exactly one rollback and one page.

On moto (DynamoDB, SNS) with the fake CodePipeline of
tests/test_rollback_scenarios.py, whose `world` fixture this module uses.
The ledger, by hand: e1 deployed StagingEnv on the 20th; e3 deployed it on
the 22nd at 04:00 and the staging alarm fired at 05:00 (the incident
record): by the DORA rules e3 is a failure on staging and e1 the last good
release, so the summary spans e3 alone.
"""

from __future__ import annotations

import threading

import boto3
import pytest

from functions.shared import records
from tests.support import events
from tests.support.fake_codepipeline import StageRun
from tests.test_rollback_scenarios import ENV, STAGE, world  # noqa: F401 - the fixture

COMMAND = "python -m ops changes test --target staging"


def execution(table, key, start, end, commit):
    boto3.resource("dynamodb").Table(table).put_item(
        Item={
            records.KEY: key,
            records.PIPELINE_EXECUTION_ID: key,
            records.INDEX_PARTITION: ENV,
            records.INDEX_SORT: start,
            records.END_TIME: end,
            records.STATUS: "SUCCEEDED",
            records.EXECUTION_TYPE: records.STANDARD,
            records.RECORD_LAYOUT: 2,
            records.COMMIT_ID: commit,
            records.SUCCEEDED_STAGES: {"TestEnv", STAGE},
        }
    )


@pytest.fixture
def ledger(world):  # noqa: F811 - the imported fixture
    execution(world.table, "e1", "2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z", "c1")
    execution(world.table, "e3", "2026-11-22T03:00:00Z", "2026-11-22T04:00:00Z", "c3")
    boto3.resource("dynamodb").Table(world.table).put_item(
        Item={
            records.KEY: "incident#kiro-pipeline-test-staging-health#2026-11-22T05:00:00Z",
            records.INDEX_PARTITION: ENV,
            records.INDEX_SORT: "2026-11-22T05:00:00Z",
            records.TARGET: "staging",
            records.STATUS: "OPEN",
        }
    )
    world.pipeline.stages[STAGE] = StageRun("e3", "Succeeded")
    return world


def what_changed(page: dict) -> str:
    """The page's "What changed:" detail: its line and the indented lines under it."""
    lines = page["Message"].splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith("What changed:"))
    end = next(n for n in range(start + 1, len(lines) + 1) if n == len(lines) or not lines[n].startswith("  "))
    return "\n".join(lines[start:end])


def test_the_page_carries_the_first_lines_and_the_command(ledger):
    assert ledger.handler.handler(events.alarm())["result"] == "rolled-back"
    assert [r["targetPipelineExecutionId"] for r in ledger.pipeline.rollbacks()] == ["e1"]
    (page,) = ledger.pages()
    shown = what_changed(page).splitlines()
    assert shown[1] == "  What changed in test since e1, the last good release on staging, until now:"
    assert "    compare:   c1...c3" in shown  # no repository in the function: the commits, no link
    assert shown[-1] == f"  all of it: {COMMAND}"


def test_a_summary_that_fails_every_time_still_gives_one_rollback_and_one_page(ledger, monkeypatch):
    seen = []

    def broken(*args, **kwargs):
        seen.append(len(ledger.pipeline.rollbacks()))  # RollbackStage came first
        raise RuntimeError("the summary is broken")

    monkeypatch.setattr(ledger.handler.changes, "build", broken)
    assert ledger.handler.handler(events.alarm())["result"] == "rolled-back"
    assert len(ledger.pipeline.rollbacks()) == 1 and seen == [1]
    (page,) = ledger.pages()
    assert page["Subject"] == "Rollback Initiated: kiro-pipeline-test StagingEnv"
    assert what_changed(page) == (f"What changed: not available (RuntimeError: the summary is broken); run: {COMMAND}")
    # Again (the alarm re-fires): still one rollback, and no second page for it.
    assert ledger.handler.handler(events.alarm())["result"] in ("skipped", "duplicate")
    assert len(ledger.pipeline.rollbacks()) == 1


def test_a_summary_that_never_answers_delays_the_page_by_the_deadline_only(ledger, monkeypatch):
    release = threading.Event()

    def hangs(*args, **kwargs):
        release.wait(10)
        raise RuntimeError("too late")

    monkeypatch.setattr(ledger.handler.changes, "build", hangs)
    monkeypatch.setattr(ledger.handler, "SUMMARY_SECONDS", 0.2)
    try:
        assert ledger.handler.handler(events.alarm())["result"] == "rolled-back"
    finally:
        release.set()
    assert len(ledger.pipeline.rollbacks()) == 1
    (page,) = ledger.pages()
    assert what_changed(page) == f"What changed: not available (not done within 0.2 s); run: {COMMAND}"
