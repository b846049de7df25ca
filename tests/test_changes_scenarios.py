"""`python -m ops changes` on the CodePipeline semantics model: the ledger is
written by the product's own functions as the model runs the pipeline (the
recorder, the rollback function, the incident recorder), plus one
infrastructure apply recorded as the apply workflow records it
(tools/apply_record.py) and one ops run (`ops freeze add`). Expected
outcomes from DORA's definitions (docs/delivery-controls.md): a deployment
rolled back after an incident is a change failure, so the last good release
is the one before it.
"""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from moto import mock_aws

from functions.shared import records
from tests.support.delivery_world import DeliveryWorld
from tools import apply_record

UTC = dt.UTC
MON, TUE, WED = (dt.datetime(2026, 3, day, tzinfo=UTC) for day in range(2, 5))


def at(day: dt.datetime, hour: int, minute: int = 0) -> dt.datetime:
    return day.replace(hour=hour, minute=minute)


@pytest.fixture
def world(scenario_pipelines, aws_credentials, monkeypatch):
    with mock_aws():
        yield DeliveryWorld(
            "production", scenario_pipelines["production"], at(MON, 9, 55), monkeypatch=monkeypatch, freezes=True
        )


def test_an_incident_after_three_releases_an_apply_and_an_ops_run_lists_exactly_those(world):
    """p1 Monday, p2 Tuesday, p3 Wednesday (each approved 10 minutes after
    it is asked, inside the window). Tuesday 12:00 an apply of
    pipeline-production is recorded; Wednesday 09:00 a freeze for next week
    is added (an ops run). Wednesday 14:00 production's health alarm fires:
    the rollback function rolls p3 back to p2. p3 is the change failure, so
    the last good release is p2, and since it: the commit p3 and the
    rollback, the apply, the run. p1 is before the span."""
    w = world
    for commit, day in (("p1", MON), ("p2", TUE), ("p3", WED)):
        w.push(commit, at(day, 10))
        w.world.approval("ApproveProduction").approve(after=dt.timedelta(minutes=10))
    w.run(at(TUE, 12))
    reviewed = {"stacks": {"pipeline-production": {"fingerprint": "sha256:feed"}}}
    item = apply_record.item(
        "production",
        reviewed,
        ["pipeline-production"],
        pull_request="42",
        merged_by="alice",
        commit="c0ffee",
        run_url="https://github.com/o/r/actions/runs/7",
        run_id="7",
        attempt="1",
        now=at(TUE, 12),
    )
    boto3.client("dynamodb").put_item(TableName=w.table, Item=item)
    w.run(at(WED, 9))
    code, out = w.ops("freeze", "production", "add", "--from", "2026-03-09", "--to", "2026-03-10", "--reason", "Audit")
    assert code == 0, out
    w.incident("production", at(WED, 14), at(WED, 15))
    w.run(at(WED, 16))
    assert w.running("production", at(WED, 13)) == "p3"
    assert w.running("production", at(WED, 16)) == "p2"

    code, out = w.ops("changes", "production", "--json")
    assert code == 0, out
    view = json.loads(out)
    p2 = next(e for e in w.sim.executions if e.revision == "p2" and e.type == "STANDARD")
    assert view["lastGood"]["execution"] == p2.id
    # Since p2: p3, and the rollback execution that put p2 back (it carries p2's commit).
    p3 = next(e for e in w.sim.executions if e.revision == "p3" and e.type == "STANDARD")
    (rollback,) = [e for e in w.sim.executions if e.type == "ROLLBACK"]
    listed = [(release["execution"], release["commit"]) for release in view["releases"]]
    assert sorted(listed) == sorted([(p3.id, "p3"), (rollback.id, "p2")])
    (applied,) = view["applies"]
    assert applied[records.PULL_REQUEST] == "42" and applied[records.MERGED_BY] == "alice"
    (run,) = view["opsRuns"]
    assert run[records.COMMAND] == "freeze add" and run[records.REASON] == "Audit"
    assert view["overrides"] == []
