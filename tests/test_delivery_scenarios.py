"""Delivery scenarios: the product's functions on the CodePipeline V2
semantics model (tests/codepipeline_model), on pipelines synthesized from
configurations written here (never the team's environments/*.py).

Each expected outcome is a literal, with the rule of docs/codepipeline-semantics.md
(or the AWS documentation sentence) it follows from. A scenario whose outcome
depends on an undocumented point runs under every reading of it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest
from moto import mock_aws

from environments import load
from environments.config import ChangeWindow
from tests.codepipeline_model import Readings
from tests.support.delivery_world import DeliveryWorld

UTC = dt.UTC
# Monday 2026-03-02 .. : a week with a Mon-Thu 09:00-16:59 window.
MON, TUE, WED, THU, FRI, SAT, SUN = (dt.datetime(2026, 3, day, tzinfo=UTC) for day in range(2, 9))
NEXT_MON = dt.datetime(2026, 3, 9, tzinfo=UTC)
WEEKDAYS_9_TO_5 = "* * 9-16 ? * MON-THU *"


def at(day: dt.datetime, hour: int, minute: int = 0) -> dt.datetime:
    return day.replace(hour=hour, minute=minute)


def configurations():
    """Three pipelines: production with an approval and a UTC window; staging
    (named so only for unique stack names) with an approval and a Berlin
    window across daylight saving; test with neither."""
    production = dataclasses.replace(
        load("production"),
        approval_required=True,
        change_window=ChangeWindow(enabled=True, cron=WEEKDAYS_9_TO_5, time_zone="UTC"),
        health_check_duration_minutes=10,
    )
    staging = dataclasses.replace(
        load("staging"),
        approval_required=True,
        change_window=ChangeWindow(enabled=True, cron="* * 9-16 ? * MON-FRI *", time_zone="Europe/Berlin"),
        health_check_duration_minutes=10,
    )
    test = dataclasses.replace(
        load("test"),
        approval_required=False,
        change_window=ChangeWindow(enabled=False),
        health_check_duration_minutes=10,
    )
    return [production, staging, test]


@pytest.fixture(scope="module")
def pipelines(tmp_path_factory, function_zips) -> dict[str, dict]:
    from modules.app import build_app

    out = tmp_path_factory.mktemp("scenarios.out")
    build_app(configurations(), outdir=str(out)).synth()
    found = {}
    for env in ("production", "staging", "test"):
        stack = json.loads((out / "stacks" / f"pipeline-{env}" / "cdk.tf.json").read_text())
        found[env] = stack["resource"]["aws_codepipeline"]["pipeline"]
    return found


@pytest.fixture
def world_of(pipelines, aws_credentials, monkeypatch):
    """world_of(env, start, readings=...) -> a DeliveryWorld on moto."""
    with mock_aws():

        def make(env: str, start: dt.datetime, **options) -> DeliveryWorld:
            return DeliveryWorld(env, pipelines[env], start, monkeypatch=monkeypatch, **options)

        yield make


def release(w: DeliveryWorld, commit: str, pushed: dt.datetime, approve_after: int | None = 10) -> None:
    """A push; production's approval answered `approve_after` minutes after
    it is requested (None: not answered here)."""
    w.push(commit, pushed)
    if approve_after is not None:
        w.world.approval("ApproveProduction").approve(after=dt.timedelta(minutes=approve_after))


def pages(w: DeliveryWorld) -> list[str]:
    return [p["Subject"].split(":")[0] for p in w.pages()]


# --- the happy path ---------------------------------------------------------------
def test_a_release_in_the_window_reaches_production(world_of):
    """Pushed Monday 10:00 (5-minute actions, a 10-minute bake): every stage
    in order, the approval answered at 11:00, the window open (Mon-Thu
    09:00-16:59 UTC), the gate's alarm OK: DeployProduction runs 11:10-11:15."""
    w = world_of("production", at(MON, 9, 55))
    release(w, "c1", at(MON, 10))
    w.run(at(MON, 13))
    assert w.deployed("c1", "production") == at(MON, 11, 15)
    assert w.execution_record("c1")["outcome"] == "DEPLOYED"
    assert (w.metric("DeploymentSuccess"), w.metric("DeploymentFailure")) == (1, 0)
    assert pages(w) == []


# --- the weekend ------------------------------------------------------------------
WINDOW_AND_ROLLBACK_READINGS = Readings.combinations("window_outside", "rollback_evaluates_entry_condition")


@pytest.mark.parametrize("readings", WINDOW_AND_ROLLBACK_READINGS, ids=Readings.short)
def test_the_weekend(world_of, readings):
    """p1 (Monday) and p2 (Tuesday) deployed. c1 is approved Thursday 17:05,
    after the window closed at 16:59. An incident starts Saturday 10:00 and
    clears Monday 10:00.

    - deployment-window-waits / the DeploymentWindow rule: c1 never deploys
      outside the window, whether the rule waits for it (it then meets the
      incident gate at Monday 09:05) or fails the stage at once;
    - alarm-entry-wait: at the gate the alarm is in ALARM; WaitTime 30
      minutes later it still is, and the stage fails (blocked, not a failed
      deployment: nothing was deployed);
    - the rollback function answers Saturday's ALARM: ProductionDeploy rolls
      back from p2 to p1 during the incident and outside the window, under
      either reading of whether a rollback evaluates an entry condition
      (ProductionDeploy has none).
    """
    w = world_of("production", at(MON, 9, 55), readings=readings)
    release(w, "p1", at(MON, 10), approve_after=5)
    release(w, "p2", at(TUE, 10), approve_after=5)
    release(w, "c1", at(THU, 16), approve_after=15)  # requested 16:50, approved 17:05
    w.incident("production", at(SAT, 10), at(NEXT_MON, 10))
    w.run(at(NEXT_MON, 12))

    assert w.running("production", at(SAT, 9)) == "p2"
    assert w.running("production", at(SAT, 10, 30)) == "p1"  # rolled back during the incident, on a Saturday
    assert w.running("production", at(NEXT_MON, 12)) == "p1"
    assert w.deployed("c1", "production") is None
    c1 = w.execution_record("c1")
    assert (c1["status"], c1["outcome"]) == ("FAILED", "BLOCKED_BY_GATE")
    assert c1["stage"] == ("ProductionGate" if readings.window_outside == "wait" else "ProductionWindow")
    assert w.metric("DeploymentSuccess") == 2 and w.metric("DeploymentFailure") == 0
    assert w.metric("ReleaseBlockedByGate") == 1 and w.metric("RollbackCount") == 1
    assert pages(w) == ["Rollback Initiated"]
    figures = w.dora(MON, NEXT_MON + dt.timedelta(days=1))
    # p2 was rolled back: one change failure of two deployments. c1 deployed nothing.
    assert (figures["ChangeFailureRate"].value, figures["ChangeFailureRate"].rests_on) == (0.5, 2)
    assert figures["DeploymentFrequency"].rests_on == 2
