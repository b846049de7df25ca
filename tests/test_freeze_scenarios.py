"""Change freezes end to end: `python -m ops freeze` writes the change
calendar, the freeze gate (functions/freeze_gate) runs every minute, on the
CodePipeline semantics model with its stage transitions, moto behind the
ledger and the topics, and the model's Change Calendar fake behind SSM
(moto has neither TEXT documents nor GetCalendarState).

Expected outcomes come from the documentation, never from the product:
- a disabled inbound transition holds "any subsequent revisions", and one
  "already running in the stages that come after" it goes on (transition-holds);
- on re-enabling, "the pipeline starts running the latest revision through
  the stages after the formerly disabled transition" (transition-resumes;
  in QUEUED mode, which executions go on is a reading: both are run);
- "During events, the state of a DEFAULT_OPEN calendar is CLOSED" (Systems
  Manager Change Calendar);
- the window (Mon-Thu 09:00-16:59 UTC) and the incident gate are the next
  stages' entry conditions (docs/codepipeline-semantics.md), so a release
  let through by the freeze meets them afterwards.

Production's pipeline (tests/support/delivery_world.py): approval, window,
incident gate, deploy; every action takes 5 minutes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from moto import mock_aws

from environments import load
from functions.shared import records
from tests.codepipeline_model import Readings
from tests.support.delivery_world import DeliveryWorld

UTC = dt.UTC
MON, TUE, WED, THU, FRI = (dt.datetime(2026, 3, day, tzinfo=UTC) for day in range(2, 7))
READINGS = Readings.combinations("window_outside", "reenable_lets_through")


def at(day: dt.datetime, hour: int, minute: int = 0) -> dt.datetime:
    return day.replace(hour=hour, minute=minute)


@pytest.fixture
def world_of(scenario_pipelines, aws_credentials, monkeypatch):
    with mock_aws():

        def make(start: dt.datetime, **options) -> DeliveryWorld:
            return DeliveryWorld(
                "production", scenario_pipelines["production"], start, monkeypatch=monkeypatch, freezes=True, **options
            )

        yield make


def freeze(w: DeliveryWorld, start: str, end: str, reason: str = "Quarter close") -> str:
    code, out = w.ops("freeze", "production", "add", "--from", start, "--to", end, "--reason", reason)
    assert code == 0, out
    return out


def deployments(w: DeliveryWorld, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, str]]:
    return [
        (d.time, d.revision)
        for d in w.sim.timeline.deployments
        if d.stage == "ProductionDeploy" and start <= d.time < end
    ]


def kinds(w: DeliveryWorld, prefix: str) -> list[dict]:
    return [r for r in w.records() if r[records.KEY].startswith(prefix)]


def freezes_off(monkeypatch) -> None:
    """`ops` reads an environment file that turns respect_freezes off (the
    change merged; whether monitoring is applied is each test's own)."""
    from ops import cli

    monkeypatch.setattr(cli, "load", lambda name: dataclasses.replace(load(name), respect_freezes=False))


@pytest.mark.parametrize("readings", READINGS, ids=Readings.short)
def test_a_freeze_added_while_a_release_waits_holds_it_and_lets_it_through_after(world_of, readings):
    """c1 waits for its approval from Monday 15:00. A freeze is added Monday
    16:00 for Tuesday 00:00 to Wednesday 12:00. The approval comes Tuesday
    10:00: c1 then waits before ProductionWindow (the freeze point). Nothing
    reaches production during the freeze. At Wednesday 12:00 the calendar is
    OPEN again, the gate re-enables the transition, and c1 meets the window
    (open: Wednesday noon) and the gate: 12:00 + 5 (window checkpoint) + 5
    (gate checkpoint) + 5 (deploy) = 12:15."""
    w = world_of(at(MON, 14, 55), readings=readings)
    w.push("c1", at(MON, 15))
    w.run(at(MON, 16))
    freeze(w, "2026-03-03T00:00Z", "2026-03-04T12:00Z")
    w.world.at(at(TUE, 10), lambda sim: _approve(sim))
    w.run(at(WED, 13))

    assert deployments(w, at(TUE, 0), at(WED, 12)) == []
    assert w.deployed("c1", "production") == at(WED, 12, 15)
    held, released = w.gate_moves
    # The gate holds LEAD (2 minutes) before the freeze starts, and releases
    # on the minute it ends.
    assert (held[0], held[1]["result"]) == (at(MON, 23, 58), "HELD")
    assert (released[0], released[1]["result"]) == (at(WED, 12), "RELEASED")
    moves = sorted(r[records.STATUS] for r in kinds(w, records.FREEZE_PREFIX))
    assert moves == ["HELD", "RELEASED"]
    subjects = [n["Subject"] for n in w.news()]
    assert subjects == [
        "Change freeze: kiro-pipeline-production holds production releases until 2026-03-04T12:00:00Z",
        "Change freeze over: kiro-pipeline-production releases go on",
    ]
    (run,) = kinds(w, records.RUN_PREFIX)
    assert run[records.COMMAND] == "freeze add" and run[records.REASON] == "Quarter close"


def _approve(sim) -> None:
    """Approve production's waiting approval, as an approver would."""
    state = sim.client.get_pipeline_state(name=sim.pipeline.name)
    stage = next(s for s in state["stageStates"] if s["stageName"] == "ProductionEnv")
    token = stage["actionStates"][0]["latestExecution"]["token"]
    sim.client.put_approval_result(
        pipelineName=sim.pipeline.name,
        stageName="ProductionEnv",
        actionName="ApproveProduction",
        result={"summary": "ok", "status": "Approved"},
        token=token,
    )


@pytest.mark.parametrize("readings", READINGS, ids=Readings.short)
def test_lifting_a_freeze_lets_a_hotfix_through_audited_while_the_window_still_holds(world_of, readings):
    """A freeze from Tuesday 00:00 to Friday 00:00. The hotfix h1 is pushed
    Wednesday 18:00 and approved 10 minutes after its approval is asked
    (18:10 -> 18:20): it waits at the freeze point. At 18:30 an engineer
    lifts the freeze: h1 enters ProductionWindow at once -- but the window
    (Mon-Thu 09:00-16:59) is closed on Wednesday evening. Waiting, it deploys
    Thursday 09:00 + 5 + 5 + 5 = 09:15; failing instead, it never deploys.
    Either way, nothing deploys outside the window, and the lift is audited:
    a record written before the transition moved, and a message."""
    w = world_of(at(MON, 9, 55), readings=readings)
    w.run(at(MON, 10))
    freeze(w, "2026-03-03", "2026-03-06", "Board week")
    w.push("h1", at(WED, 18))
    w.world.approval("ApproveProduction").approve(after=dt.timedelta(minutes=10))
    w.run(at(WED, 18, 30))
    assert deployments(w, at(MON, 10), at(WED, 18, 30)) == []
    code, out = w.ops("freeze", "production", "lift", "--reason", "Hotfix for INC-7")
    assert code == 0, out
    w.run(at(THU, 12))

    expected = at(THU, 9, 15) if readings.window_outside == "wait" else None
    assert w.deployed("h1", "production") == expected
    (lift,) = kinds(w, records.FREEZE_LIFT_PREFIX)
    assert lift[records.KEY] == "freeze-lift#2026-03-06T00:00:00Z"
    assert (lift[records.REASON], lift[records.STATUS]) == ("Hotfix for INC-7", "LIFTED")
    assert lift[records.OVERRIDDEN_BY].startswith("arn:aws:")
    # The gate does not hold again during the rest of the lifted freeze.
    assert [m["result"] for _, m in w.gate_moves] == ["HELD"]
    subjects = [n["Subject"] for n in w.news()]
    assert subjects[-1] == "Change freeze lifted: kiro-pipeline-production"


def test_a_release_already_past_the_freeze_point_is_named_with_the_command_that_stops_it(world_of):
    """c1 is approved Monday 17:30, after the window closed: it waits inside
    ProductionWindow (its entry condition) for Tuesday 09:00. A freeze from
    Tuesday 00:00 is added Monday 18:00. A disabled transition holds only
    later revisions ("Any revisions that were already running in the stages
    that come after the disabled transition continue"): the gate's message
    names c1's execution and the `ops stop` line."""
    w = world_of(at(MON, 16, 55), readings=Readings(window_outside="wait"))
    w.push("c1", at(MON, 17))
    w.world.approval("ApproveProduction").approve(after=dt.timedelta(minutes=15))
    w.run(at(MON, 18))
    freeze(w, "2026-03-03", "2026-03-04")
    w.run(at(TUE, 1))
    c1 = next(e for e in w.sim.executions if e.revision == "c1")
    (held,) = [n for n in w.news() if n["Subject"].startswith("Change freeze:")]
    assert f"execution {c1.id}" in held["Message"]
    assert f"python -m ops stop production --execution-id {c1.id}" in held["Message"]


def test_a_lift_leaves_a_hold_someone_else_made_and_a_failed_lift_can_be_run_again(world_of):
    """Monday an engineer holds ProductionWindow's transition by hand ("Bad
    build 7 waiting"). The freeze from Tuesday finds it held by someone else
    and leaves it. Wednesday a lift is recorded but does not end that hold.
    Then the engineer ends their hold; the gate holds for the freeze again.
    A lift whose EnableStageTransition fails (throttled) says so and can be
    run again: the second run finds its record and enables."""
    w = world_of(at(MON, 9, 55))
    w.run(at(MON, 10))
    freeze(w, "2026-03-03", "2026-03-06", "Board week")
    w.sim.client.disable_stage_transition(
        pipelineName=w.names.pipeline,
        stageName="ProductionWindow",
        transitionType="Inbound",
        reason="Bad build 7 waiting",
    )
    w.run(at(WED, 10))
    code, out = w.ops("freeze", "production", "lift", "--reason", "Hotfix for INC-8")
    assert code == 1 and "held by" in out and "Bad build 7 waiting" in out, out
    assert w.sim.transition("ProductionWindow").reason == "Bad build 7 waiting"
    assert [m["result"] for _, m in w.gate_moves] == []
    (lift,) = kinds(w, records.FREEZE_LIFT_PREFIX)
    assert lift[records.REASON] == "Hotfix for INC-8"
    # The engineer ends their hold: the lift recorded for this freeze stands, the gate does not hold again.
    w.sim.client.enable_stage_transition(
        pipelineName=w.names.pipeline, stageName="ProductionWindow", transitionType="Inbound"
    )
    w.run(at(WED, 11))
    assert w.sim.transition("ProductionWindow").enabled and w.gate_moves == []


def test_a_lift_whose_enable_failed_is_run_again(world_of):
    w = world_of(at(MON, 9, 55))
    w.run(at(MON, 10))
    freeze(w, "2026-03-03", "2026-03-06", "Board week")
    w.run(at(WED, 10))
    assert not w.sim.transition("ProductionWindow").enabled
    w.sim.client.fail("enable_stage_transition", "ThrottlingException")
    code, out = w.ops("freeze", "production", "lift", "--reason", "Hotfix for INC-9")
    assert code == 1 and "run lift again" in out, out
    code, out = w.ops("freeze", "production", "lift", "--reason", "Hotfix for INC-9")
    assert code == 0, out
    assert w.sim.transition("ProductionWindow").enabled
    assert len(kinds(w, records.FREEZE_LIFT_PREFIX)) == 1


def test_a_hold_left_when_freezes_are_turned_off_is_shown_by_health_and_ended_by_lift(world_of, monkeypatch):
    """A freeze from Tuesday to Friday holds h1 (pushed Wednesday 10:00,
    approved 10 minutes after its approval is asked). At 11:00 the team sets
    respect_freezes=False and deploys: the gate and the calendar are gone,
    the transition stays disabled ("any subsequent revisions do not continue
    past the disabled transition"; nothing is left to re-enable it), so at
    13:00 h1 has not deployed. `ops health` shows the hold and says it is the
    gate's, left behind (exit 1); `ops freeze lift` ends it, audited, and
    on re-enabling "the pipeline starts running the latest revision": h1
    meets the window (open Wednesday 13:00) and the gate: 13:15."""
    w = world_of(at(MON, 9, 55))
    w.run(at(MON, 10))
    freeze(w, "2026-03-03", "2026-03-06", "Board week")
    w.push("h1", at(WED, 10))
    w.world.approval("ApproveProduction").approve(after=dt.timedelta(minutes=10))
    w.run(at(WED, 11))
    assert not w.sim.transition("ProductionWindow").enabled
    freezes_off(monkeypatch)
    w.freezes = False  # the gate's schedule is gone with it
    w.run(at(WED, 13))
    assert w.deployed("h1", "production") is None

    code, out = w.ops("health", "production")
    assert code == 1, out
    assert "ProductionWindow" in out and "⏸ entry held by" in out and "Change freeze (freeze gate)" in out
    assert (
        "turns freezes off: once monitoring-production is deployed so, nothing ends it; "
        "python -m ops freeze production lift" in out
    )

    code, out = w.ops("freeze", "production", "lift", "--reason", "Freezes off since 11:00")
    assert code == 0, out
    w.run(at(WED, 14))
    assert w.deployed("h1", "production") == at(WED, 13, 15)
    (lift,) = kinds(w, records.FREEZE_LIFT_PREFIX)
    # The ordinary lift of the freeze the hold's reason names: a gate still deployed would read it.
    assert lift[records.KEY] == "freeze-lift#2026-03-06T00:00:00Z"
    assert (lift[records.REASON], lift[records.FROZEN_STAGE]) == ("Freezes off since 11:00", "ProductionWindow")
    assert lift[records.FREEZE_UNTIL] == "2026-03-06T00:00:00Z"
    assert w.news()[-1]["Subject"] == "Change freeze hold ended: kiro-pipeline-production"
    # Nothing left: health is clean of it, and a second lift lifts nothing.
    code, out = w.ops("health", "production")
    assert "⏸" not in out and "turns freezes off" not in out, out
    code, out = w.ops("freeze", "production", "lift", "--reason", "again")
    assert code == 2 and "no hold of the freeze gate is in place" in out, out
    assert len(kinds(w, records.FREEZE_LIFT_PREFIX)) == 1


def test_an_engineers_own_hold_is_shown_by_health_and_not_ended_by_lift_when_freezes_are_off(world_of, monkeypatch):
    """An engineer's hold ("Bad build 7 waiting") in an environment that does
    not respect freezes: health shows who holds it and why, and does not call
    it left behind; `ops freeze lift` refuses, leaving it."""
    w = world_of(at(MON, 9, 55))
    w.freezes = False
    freezes_off(monkeypatch)
    w.sim.client.disable_stage_transition(
        pipelineName=w.names.pipeline,
        stageName="ProductionWindow",
        transitionType="Inbound",
        reason="Bad build 7 waiting",
    )
    w.run(at(MON, 10))
    code, out = w.ops("health", "production")
    assert "⏸ entry held by" in out and "Bad build 7 waiting" in out and "turns freezes off" not in out, out
    code, out = w.ops("freeze", "production", "lift", "--reason", "hotfix")
    assert code == 2 and "nothing to lift" in out, out
    assert not w.sim.transition("ProductionWindow").enabled
    assert kinds(w, records.FREEZE_LIFT_PREFIX) == []


def test_a_lift_while_the_gate_is_still_deployed_is_not_undone_by_it(world_of, monkeypatch):
    """The change turning respect_freezes off is merged, but monitoring-production
    is not applied yet: the gate still runs every minute. `ops freeze lift`
    (the checkout says freezes are off) ends the hold with the ordinary lift
    record of that freeze, so the gate finds the freeze lifted and does not
    hold again; h1 goes through (window open Wednesday 13:00: 13:15)."""
    w = world_of(at(MON, 9, 55))
    w.run(at(MON, 10))
    freeze(w, "2026-03-03", "2026-03-06", "Board week")
    w.push("h1", at(WED, 10))
    w.world.approval("ApproveProduction").approve(after=dt.timedelta(minutes=10))
    w.run(at(WED, 13))
    freezes_off(monkeypatch)
    code, out = w.ops("freeze", "production", "lift", "--reason", "Freezes off")
    assert code == 0, out
    w.run(at(WED, 14))
    assert [m["result"] for _, m in w.gate_moves] == ["HELD"]  # held Monday night, never again
    assert w.deployed("h1", "production") == at(WED, 13, 15)
    # A second lift finds nothing held and records nothing more.
    code, out = w.ops("freeze", "production", "lift", "--reason", "again")
    assert code == 2 and "nothing to lift" in out, out
    assert len(kinds(w, records.FREEZE_LIFT_PREFIX)) == 1
