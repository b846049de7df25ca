"""Delivery scenarios: the product's functions on the CodePipeline V2
semantics model (tests/codepipeline_model), on pipelines synthesized from
configurations written here (never the team's environments/*.py).

Each expected outcome is a literal, with the rule of docs/codepipeline-semantics.md
(or the AWS documentation sentence) it follows from. A scenario whose outcome
depends on an undocumented point runs under every reading of it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from moto import mock_aws

from tests.codepipeline_model import Readings
from tests.support.delivery_world import DeliveryWorld

UTC = dt.UTC
# Monday 2026-03-02 .. : a week with a Mon-Thu 09:00-16:59 window.
MON, TUE, WED, THU, FRI, SAT, SUN = (dt.datetime(2026, 3, day, tzinfo=UTC) for day in range(2, 9))
NEXT_MON = dt.datetime(2026, 3, 9, tzinfo=UTC)


def at(day: dt.datetime, hour: int, minute: int = 0) -> dt.datetime:
    return day.replace(hour=hour, minute=minute)


# The pipelines the scenarios run on: tests/conftest.py's scenario_pipelines.
@pytest.fixture
def pipelines(scenario_pipelines):
    return scenario_pipelines


def worlds(pipelines, monkeypatch, mutation: str | None = None):
    """world_of(env, start, readings=...) -> a DeliveryWorld (inside moto).
    With `mutation`, every world runs that mutation of the model
    (tests/test_model_mutations.py)."""

    def make(env: str, start: dt.datetime, **options) -> DeliveryWorld:
        if mutation:
            options["mutations"] = {*options.get("mutations", ()), mutation}
        return DeliveryWorld(env, pipelines[env], start, monkeypatch=monkeypatch, **options)

    return make


@pytest.fixture
def world_of(pipelines, aws_credentials, monkeypatch):
    with mock_aws():
        yield worlds(pipelines, monkeypatch)


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
    # ExecutionAge is judged once, under the default readings (a simulated
    # week of 5-minute rounds is the slowest part of the scenario).
    judge_age = readings == Readings()
    w = world_of("production", at(MON, 9, 55), readings=readings, ages_every_5_minutes=judge_age)
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
    # Stuck means stuck: waiting for Monday's window (and then the gate) is a
    # known wait until its expected end. The duration alarm (50 minutes with
    # 60-minute builds) stays quiet all weekend.
    assert not judge_age or w.max_age(at(THU, 17), at(NEXT_MON, 9)) < 50 * 60
    figures = w.dora(MON, NEXT_MON + dt.timedelta(days=1))
    # p2 was rolled back: one change failure of two deployments. c1 deployed nothing.
    assert (figures["ChangeFailureRate"].value, figures["ChangeFailureRate"].rests_on) == (0.5, 2)
    assert figures["DeploymentFrequency"].rests_on == 2


# --- the window and the approval ----------------------------------------------------
@pytest.mark.parametrize("readings", Readings.combinations("window_outside"), ids=Readings.short)
def test_a_friday_approval_waits_for_monday(world_of, readings):
    """Approved Friday 10:00; the window is Mon-Thu 09:00-16:59 UTC. The
    window is evaluated after the approval (its own stage): nothing reaches
    production before Monday 09:00. If the rule waits (deployment-window-waits),
    the window stage enters at 09:00, its checkpoint runs to 09:05, the gate's
    to 09:10, the deploy to 09:15. If it fails instead, the release is
    blocked, not failed."""
    w = world_of("production", at(FRI, 8, 55), readings=readings)
    release(w, "c1", at(FRI, 9), approve_after=10)  # requested 09:50, approved 10:00
    w.run(at(NEXT_MON, 12))
    c1 = w.execution_record("c1")
    if readings.window_outside == "wait":
        assert w.deployed("c1", "production") == at(NEXT_MON, 9, 15)
        assert c1["outcome"] == "DEPLOYED"
    else:
        assert w.deployed("c1", "production") is None
        assert (c1["outcome"], c1["stage"]) == ("BLOCKED_BY_GATE", "ProductionWindow")
    assert w.metric("DeploymentFailure") == 0 and pages(w) == []


@pytest.mark.parametrize("readings", Readings.combinations("approval_timeout_reported_as"), ids=Readings.short)
def test_an_unanswered_approval_times_out_after_seven_days(world_of, readings):
    """approval-timeout: "If the approval action is not approved or rejected
    within seven days ... the action fails" (requested Monday 10:50, so it
    ends Monday 10:50 a week later). Nothing deployed: not a failed
    deployment, not a change failure; its own metric."""
    w = world_of("production", at(MON, 9, 55), readings=readings)
    release(w, "c1", at(MON, 10), approve_after=None)
    w.run(at(NEXT_MON, 12))
    c1 = w.execution_record("c1")
    assert (c1["status"], c1["outcome"]) == ("FAILED", "APPROVAL_TIMED_OUT")
    assert c1["endTime"] == "2026-03-09T10:50:00Z"
    assert w.deployed("c1", "production") is None
    assert (w.metric("ApprovalTimedOut"), w.metric("DeploymentFailure"), w.metric("ReleaseRejected")) == (1, 0, 0)
    assert w.dora(MON, NEXT_MON + dt.timedelta(days=1))["ChangeFailureRate"].rests_on == 0
    assert pages(w) == []


def test_a_rejection_deploys_nothing_and_the_next_push_goes_through(world_of):
    """approval-result: a rejection fails the approval, so its stage, which
    holds nothing else and has no on-failure result: no rollback. c2, pushed
    after it, is approved and deployed."""
    w = world_of("production", at(MON, 9, 55))
    w.push("c1", at(MON, 10))
    w.world.approval("ApproveProduction").reject(after=dt.timedelta(minutes=10))
    release(w, "c2", at(MON, 12))
    w.run(at(MON, 16))
    c1 = w.execution_record("c1")
    assert (c1["status"], c1["outcome"], c1["approvalResult"]) == ("FAILED", "REJECTED", "REJECTED")
    assert w.deployed("c1", "production") is None
    assert w.deployed("c2", "production") == at(MON, 13, 15)
    assert w.sim.timeline.action_runs(stage="ProductionDeploy")[0].execution.revision == "c2"
    assert (w.metric("ReleaseRejected"), w.metric("DeploymentFailure"), w.metric("DeploymentSuccess")) == (1, 0, 1)
    assert w.metric("RollbackCount") == 0 and pages(w) == []
    figures = w.dora(MON, TUE)
    assert (figures["ChangeFailureRate"].value, figures["DeploymentFrequency"].rests_on) == (0, 1)


def test_a_release_queued_behind_an_approval_waits_its_turn(world_of):
    """execution-order and stage-lock (QUEUED): "it enters one stage at a
    time and locks the stage". c2, pushed while c1 waits for its approval,
    runs up to StagingEnv, waits for ProductionEnv until c1 leaves it (12:50),
    gets its own approval (13:00), and follows c1 stage by stage: the deploy
    stage is free once c1's bake ends (13:15), so c2 deploys 13:15-13:20."""
    w = world_of("production", at(MON, 9, 55))
    release(w, "c1", at(MON, 10), approve_after=120)  # requested 10:50, approved 12:50
    release(w, "c2", at(MON, 10, 30), approve_after=10)
    w.run(at(MON, 16))
    assert w.deployed("c1", "production") == at(MON, 13, 5)
    assert w.sim.timeline.reached("c2", "StagingEnv") == at(MON, 11, 20)
    assert w.sim.timeline.entered("c2", "ProductionEnv") == at(MON, 12, 50)
    assert w.deployed("c2", "production") == at(MON, 13, 20)
    assert w.metric("DeploymentSuccess") == 2
    assert pages(w) == []  # nothing alarmed: nobody is paged
    assert w.dora(MON, TUE)["DeploymentFrequency"].rests_on == 2


def test_a_flaky_build_is_healed_by_the_retry(world_of):
    """automatic-retry: Build's on-failure result is RETRY (FAILED_ACTIONS):
    the failed action runs once more, and the release goes on."""
    w = world_of("test", at(MON, 9, 55))
    w.world.action("Build").fail(after=dt.timedelta(minutes=5)).succeed(after=dt.timedelta(minutes=5))
    w.push("c1", at(MON, 10))
    w.run(at(MON, 13))
    assert [run.status for run in w.sim.timeline.action_runs("Build")] == ["Failed", "Succeeded"]
    assert w.deployed("c1", "production") is not None
    assert w.execution_record("c1")["outcome"] == "DEPLOYED"
    assert w.metric("DeploymentFailure") == 0 and w.metric("DeploymentSuccess") == 1
    assert pages(w) == []


def test_a_hung_deploy_is_ended_by_codebuild_and_rolled_back(world_of):
    """A build that hangs ends at its CodeBuild timeout (60 minutes) and
    fails its stage; on-failure-rollback puts back the last good release."""
    w = world_of("test", at(MON, 9, 55), ages_every_5_minutes=True)
    w.push("p1", at(MON, 10))
    w.world.action("DeployTest").succeed(after=dt.timedelta(minutes=5)).hang(timeout=dt.timedelta(minutes=60))
    w.push("c1", at(MON, 12))
    w.run(at(MON, 16))
    assert w.running("test", at(MON, 15)) == "p1"
    assert w.deployed("c1", "test") is None
    # The hang began 12:15: the duration alarm's 50 minutes are passed by
    # 13:10, before CodeBuild ends the build at 13:15.
    assert w.max_age(at(MON, 13, 5), at(MON, 13, 15)) > 50 * 60
    c1 = w.execution_record("c1")
    assert (c1["outcome"], c1["failedAction"]) == ("DEPLOY_FAILED", "TestEnv/DeployTest")
    assert w.metric("DeploymentFailure") == 1 and w.metric("RollbackCount") == 1
    # Not production: no change failure.
    assert w.dora(MON, TUE)["ChangeFailureRate"].value == 0


# --- incidents, overrides, rollbacks ------------------------------------------------
def holding(w: DeliveryWorld, stage: str, condition: str = "beforeEntryConditionState") -> bool:
    """Whether `stage`'s condition holds an execution now (GetPipelineState)."""
    return any(
        s.get("stageName") == stage
        and (s.get(condition) or {}).get("latestExecution", {}).get("status") == "InProgress"
        for s in w.sim.client.get_pipeline_state(name=w.names.pipeline)["stageStates"]
    )


def held_at(w: DeliveryWorld, stage: str, condition: str = "beforeEntryConditionState") -> None:
    """Run until `stage`'s condition holds an execution."""
    w.sim.run_until(lambda sim: holding(w, stage, condition), limit=dt.timedelta(days=3))


def waiting_at(w: DeliveryWorld, stage: str) -> None:
    held_at(w, stage)


@pytest.mark.parametrize(
    "readings", Readings.combinations("bake_reading", base=Readings(window_outside="wait")), ids=Readings.short
)
def test_a_hotfix_during_an_incident(world_of, readings):
    """p0 runs in production. The incident (Friday 08:00 - Monday) holds
    ProductionGate; the window (Mon-Thu) holds ProductionWindow. Each is its
    own condition (one-control-per-condition): the hotfix takes two audited
    overrides to reach production while the incident is open.

    Its bake then watches a health alarm already in ALARM. alarm-bake is
    inferred: if the rule fails the moment the alarm is in ALARM
    (watch-whole-wait), the bake rolls the hotfix back to p0 at once, before
    anyone can override it; if it waits for the alarm to clear like the entry
    rule (like-entry), a third audited override keeps the hotfix.
    docs/delivery-controls.md says how to tell on a real account.

    override-stage-condition acts on a condition in progress, so this needs
    the window rule to wait (deployment-window-waits)."""
    w = world_of("production", at(THU, 9, 55), readings=readings)
    release(w, "p0", at(THU, 10), approve_after=5)
    w.incident("production", at(FRI, 8))
    release(w, "hotfix", at(FRI, 9), approve_after=5)
    waiting_at(w, "ProductionWindow")
    code, out = w.ops("override", "production", "--stage", "ProductionWindow", "--reason", "Hotfix for INC-7")
    assert code == 0, out
    waiting_at(w, "ProductionGate")
    code, out = w.ops("override", "production", "--stage", "ProductionGate", "--reason", "Hotfix for INC-7")
    assert code == 0, out
    overridden = ["ProductionGate", "ProductionWindow"]
    if readings.bake_reading == "like-entry":
        held_at(w, "ProductionDeploy", "onSuccessConditionState")
        code, out = w.ops(
            "override", "production", "--stage", "ProductionDeploy", "--condition", "on-success", "--reason", "INC-7"
        )
        assert code == 0, out
        overridden.insert(0, "ProductionDeploy")
    w.run(at(FRI, 12))
    # During the incident, outside the window: the deploy ends five minutes
    # after the gate's checkpoint; like-entry passes staging's bake at once
    # (its alarm is OK), ten minutes sooner.
    expected = at(FRI, 10) if readings.bake_reading == "like-entry" else at(FRI, 10, 10)
    assert w.deployed("hotfix", "production") == expected
    audits = sorted(r["stage"] for r in w.records() if r["deploymentId"].startswith("override#"))
    assert audits == overridden
    assert all(r["status"] == "OVERRIDDEN" for r in w.records() if r["deploymentId"].startswith("override#"))
    if readings.bake_reading == "like-entry":
        assert w.running("production", at(FRI, 12)) == "hotfix"
        assert w.execution_record("hotfix")["outcome"] == "DEPLOYED"
    else:
        assert w.running("production", at(FRI, 12)) == "p0"
        assert w.execution_record("hotfix")["outcome"] == "DEPLOY_FAILED"


def test_one_override_never_waives_the_other_control(world_of):
    """Overriding the window during an incident: the gate still holds the
    release, WaitTime (30 minutes) later it fails its stage: blocked."""
    w = world_of("production", at(FRI, 7, 55), readings=Readings(window_outside="wait"))
    w.incident("production", at(FRI, 8))
    release(w, "c1", at(FRI, 9), approve_after=5)
    waiting_at(w, "ProductionWindow")
    assert w.ops("override", "production", "--stage", "ProductionWindow", "--reason", "urgent")[0] == 0
    w.run(at(FRI, 13))
    assert w.deployed("c1", "production") is None
    assert (w.execution_record("c1")["outcome"], w.execution_record("c1")["stage"]) == (
        "BLOCKED_BY_GATE",
        "ProductionGate",
    )


def test_a_first_deployment_goes_through_the_incident_gate_with_an_override(world_of):
    """A target's first deployment: its health URL cannot answer yet, so its
    health alarm is in ALARM and TestGate holds the release (alarm-entry-wait);
    the audited override lets it through; nothing is rolled back (no target)."""
    w = world_of("test", at(MON, 9, 55))
    w.world.alarm(w.health["test"], initial="ALARM")
    w.push("first", at(MON, 10))
    waiting_at(w, "TestGate")
    assert w.ops("override", "test", "--stage", "TestGate", "--reason", "first deployment of test")[0] == 0
    w.run(at(MON, 11))
    assert w.deployed("first", "test") is not None
    (audit,) = [r for r in w.records() if r["deploymentId"].startswith("override#")]
    assert (audit["stage"], audit["status"]) == ("TestGate", "OVERRIDDEN")


def follow(w: DeliveryWorld, steps: list[str], commit: str) -> None:
    """Run a page's commands in order, each when its control holds the
    release (the page says: "only when that control holds the release"); a
    control the release passes by itself is skipped."""
    import shlex

    execution = None
    for step in steps:
        if step.startswith("#"):
            continue
        argv = shlex.split(step)
        if argv[:3] == ["aws", "codepipeline", "start-pipeline-execution"]:
            revision = dict(pair.split("=", 1) for pair in argv[argv.index("--source-revisions") + 1].split(","))
            started = w.sim.client.start_pipeline_execution(
                name=argv[argv.index("--name") + 1], sourceRevisions=[revision]
            )
            execution = w.sim.execution(started["pipelineExecutionId"])
            continue
        assert argv[:3] == ["python", "-m", "ops"], step
        if argv[3] == "approve":
            w.sim.run_until(lambda sim: holding_approval(w), limit=dt.timedelta(days=1))
        else:
            stage = argv[argv.index("--stage") + 1]
            condition = "onSuccessConditionState" if "on-success" in argv else "beforeEntryConditionState"
            w.sim.run_until(
                lambda sim, stage=stage, condition=condition, e=execution: (
                    holding(w, stage, condition) or passed(e, stage) or e.status != "InProgress"
                ),
                limit=dt.timedelta(days=1),
            )
            if not holding(w, stage, condition):
                continue
        code, out = w.ops(*argv[3:])
        assert code == 0, (step, out)


def passed(execution, stage: str) -> bool:
    run = execution.runs.get(stage)
    return run is not None and run.status == "Succeeded"


def page_steps(page: dict) -> list[str]:
    """The commands under the page's "Do:", up to the first blank line."""
    lines = page["Message"].split("Do:", 1)[1].split("\n\n", 1)[0].splitlines()
    return [line.strip() for line in lines if line.strip()]


def holding_approval(w: DeliveryWorld) -> bool:
    return any(
        a.get("actionName") == "ApproveProduction" and a.get("latestExecution", {}).get("status") == "InProgress"
        for s in w.sim.client.get_pipeline_state(name=w.names.pipeline)["stageStates"]
        for a in s.get("actionStates", [])
    )


def test_a_gate_does_not_hold_a_release_for_missing_data(world_of):
    """alarm-states: AlarmStates is ALARM; a health alarm in INSUFFICIENT_DATA
    (a target the probe cannot reach yet reads so only without data) does not
    hold the gate: the release goes through without an override."""
    w = world_of("test", at(MON, 9, 55))
    w.world.alarm(w.health["test"], initial="INSUFFICIENT_DATA")
    w.push("c1", at(MON, 10))
    w.run(at(MON, 11))
    assert w.deployed("c1", "test") == at(MON, 10, 20)
    assert not [r for r in w.records() if r["deploymentId"].startswith("override#")]


def bad_bake(w: DeliveryWorld, commit: str, when: dt.datetime) -> None:
    """The production health alarm goes to ALARM at `when`, 3 minutes into `commit`'s bake."""
    w.world.alarm(w.health["production"]).set("ALARM", when)


@pytest.mark.parametrize("readings", Readings.combinations("in_flight_on_update"), ids=Readings.short)
def test_a_pipeline_update_while_a_release_waits_for_its_approval(world_of, pipelines, readings):
    """update-in-flight: an update starts a new structure version; what the
    waiting release does depends on the reading (canceled, or it goes on in
    its own version). Either way it is never counted as a failed deployment,
    and the records keep each execution's version."""
    w = world_of("production", at(MON, 9, 55), readings=readings)
    release(w, "p1", at(MON, 10), approve_after=5)
    release(w, "c1", at(MON, 12), approve_after=None)
    w.world.update_pipeline(pipelines["production"], at(MON, 13))
    w.run(at(MON, 16))
    c1 = w.execution_record("c1")
    assert int(w.execution_record("p1")["pipelineVersion"]) == 1
    if readings.in_flight_on_update == "cancel":
        assert (c1["status"], c1["outcome"]) == ("CANCELED", "CANCELED")
        assert w.metric("ExecutionCanceledByUpdate") == 1
    else:
        assert c1["status"] == "IN_PROGRESS"
    assert w.metric("DeploymentFailure") == 0


@pytest.mark.parametrize("readings", Readings.combinations("bake_reading"), ids=Readings.short)
def test_a_bad_release_after_an_update_with_no_good_execution_in_the_new_version(world_of, pipelines, readings):
    """rollback-preconditions: only executions of the current structure
    version are targets. p1 ran in version 1; the update makes version 2; c2
    (version 2) fails its bake. CodePipeline's own rollback has no target, so
    the stage fails with c2 running; the rollback function finds none either
    and pages the way back; the page's commands, run as written (a new
    execution of p1's commit, the gate's override during the incident, the
    approval, and the bake the incident would fail), put p1 back in production."""
    w = world_of("production", at(MON, 9, 55), readings=readings)
    release(w, "p1", at(MON, 10), approve_after=5)
    w.world.update_pipeline(pipelines["production"], at(MON, 12))
    release(w, "c2", at(MON, 13), approve_after=5)
    bad_bake(w, "c2", at(MON, 14, 13))  # c2 deploys 14:05-14:10, bakes from 14:10
    w.run(at(MON, 15))
    assert w.running("production", at(MON, 15)) == "c2"
    page = next(p for p in w.pages() if p["Subject"].startswith("Rollback impossible"))
    assert "ran in pipeline version 1, not the current 2" in page["Message"]
    steps = page_steps(page)
    start = next(s for s in steps if s.startswith("aws codepipeline start-pipeline-execution"))
    assert start.endswith("revisionValue=p1")
    # The way back, run as the page writes it.
    follow(w, steps, commit="p1")
    w.run(at(MON, 18))
    assert w.running("production", at(MON, 18)) == "p1"
    # watch-whole-wait: c2's bake fails at 14:13; like-entry: it passed at
    # 14:10 (the alarm was OK) and the rollback function meets the incident.
    c2_outcome = "DEPLOYED" if readings.bake_reading == "like-entry" else "DEPLOY_FAILED"
    assert w.execution_record("c2")["outcome"] == c2_outcome
    # Attempts: p1, c2, and p1 again. Under like-entry the bake override
    # keeps p1's second release: one failure (c2) of three. Under
    # watch-whole-wait its bake fails at once in the open incident (and has
    # no target of version 2 to roll back to, so p1 stays): two of three.
    expected = 0.3333 if readings.bake_reading == "like-entry" else 0.6667
    assert w.dora(MON, TUE)["ChangeFailureRate"].value == expected


def test_a_bad_release_after_an_update_rolls_back_to_a_good_execution_of_the_new_version(world_of, pipelines):
    """p2 succeeded in version 2: CodePipeline's on-success rollback takes c3
    back to it (on-failure-rollback / alarm-bake); nobody is paged to do it."""
    w = world_of("production", at(MON, 9, 55))
    release(w, "p1", at(MON, 10), approve_after=5)
    w.world.update_pipeline(pipelines["production"], at(MON, 12))
    release(w, "p2", at(MON, 13), approve_after=5)
    release(w, "c3", at(MON, 15), approve_after=5)
    bad_bake(w, "c3", at(MON, 16, 13))
    w.run(at(MON, 18))
    assert w.running("production", at(MON, 18)) == "p2"
    assert not any(p["Subject"].startswith("Rollback impossible") for p in w.pages())


def test_a_rollback_whose_target_lost_its_artifacts_pages_the_way_back(world_of):
    """rollback-reuses-target and artifact-expiry: with 2-day artifacts, p1
    (Monday) cannot be rolled back to on Thursday: the function refuses it
    (the margin is a day) and pages the new-release way back instead."""
    w = world_of("production", at(MON, 9, 55), artifact_days=2)
    release(w, "p1", at(MON, 10), approve_after=5)
    release(w, "c2", at(THU, 10), approve_after=5)
    bad_bake(w, "c2", at(THU, 11, 13))
    w.run(at(THU, 13))
    subjects = [p["Subject"] for p in w.pages()]
    assert any(s.startswith("Rollback impossible") for s in subjects), subjects
    page = next(p for p in w.pages() if p["Subject"].startswith("Rollback impossible"))
    # Whichever the function meets first -- its own check of p1's artifacts,
    # or CodePipeline's rollback failing on them -- the way back is p1's commit.
    assert next(s for s in page_steps(page) if "start-pipeline-execution" in s).endswith("revisionValue=p1")


# --- a time zone with daylight saving -----------------------------------------------
def test_a_window_in_berlin_across_the_change_to_summer_time(world_of):
    """The second pipeline's window is Mon-Fri 09:00-16:59 Europe/Berlin
    (deployment-window-cron: the cron in its TimeZone). Approved Friday
    2026-03-27 16:30 UTC = 17:30 CET, after the window; Berlin moves to CEST
    (UTC+2) on Sunday 03-29, so Monday's window opens at 07:00 UTC, not
    08:00: the checkpoints run 07:00-07:10 and the deploy ends 07:15."""
    friday, monday = dt.datetime(2026, 3, 27, tzinfo=UTC), dt.datetime(2026, 3, 30, tzinfo=UTC)
    w = world_of("staging", at(friday, 15, 35), readings=Readings(window_outside="wait"))
    release(w, "c1", at(friday, 15, 40), approve_after=0)  # approval requested and given 16:30
    w.run(at(monday, 9))
    assert w.deployed("c1", "production") == at(monday, 7, 15)
    assert w.execution_record("c1")["outcome"] == "DEPLOYED" and pages(w) == []


def test_a_build_that_fails_twice_is_not_retried_again(world_of):
    """automatic-retry: "One attempt is allowed for automatic stage retry on
    failure." A build that fails, and fails its retry, fails the release:
    BUILD_FAILED, which deployed nothing (no DeploymentFailure)."""
    w = world_of("test", at(MON, 9, 55))
    w.world.action("Build").fail().fail().succeed()
    w.push("c1", at(MON, 10))
    w.run(at(MON, 12))
    assert [run.status for run in w.sim.timeline.action_runs("Build")] == ["Failed", "Failed"]
    assert w.execution_record("c1")["outcome"] == "BUILD_FAILED"
    assert (w.metric("BuildFailure"), w.metric("DeploymentFailure")) == (1, 0)


@pytest.mark.parametrize("readings", Readings.combinations("bake_reading"), ids=Readings.short)
def test_a_bake_rolls_back_when_the_probe_goes_silent(world_of, readings):
    """condition-all-rules: the bake's condition holds two rules (the health
    alarm, and the probe's silence); one failing fails it, even when the other
    succeeds first. The probe falls silent as p2 deploys (13:58-14:40; health
    stays OK): whether the bake fails at once or waits its ten minutes for
    the silence to end, it rolls the stage back to p1."""
    w = world_of("production", at(MON, 9, 55), readings=readings)
    release(w, "p1", at(MON, 10), approve_after=5)
    release(w, "p2", at(MON, 13), approve_after=5)
    w.world.alarm(w.names.health_probe_silent_alarm).set("ALARM", at(MON, 13, 58)).set("OK", at(MON, 14, 40))
    w.run(at(MON, 16))
    # like-entry passes staging's bake at once (its alarms are OK then): ten minutes sooner.
    assert w.deployed("p2", "production") == (at(MON, 14) if readings.bake_reading == "like-entry" else at(MON, 14, 10))
    assert w.running("production", at(MON, 16)) == "p1"
    assert w.execution_record("p2")["outcome"] == "DEPLOY_FAILED"


def test_a_window_that_never_opens_is_stuck(world_of, pipelines, monkeypatch):
    """A window cron that matches no minute (February 30th): the release
    waits at ProductionWindow with no expected end, so the wait counts and
    the duration alarm (50 minutes) fires within the hour."""
    import copy

    never = copy.deepcopy(pipelines["production"])
    window = next(s for s in never["stage"] if s["name"] == "ProductionWindow")
    window["before_entry"]["condition"]["rule"][0]["configuration"]["Cron"] = "* * 9-16 30 2 ? *"
    monkeypatch.setitem(pipelines, "production", never)
    w = world_of("production", at(MON, 9, 55), readings=Readings(window_outside="wait"), ages_every_5_minutes=True)
    release(w, "c1", at(MON, 10), approve_after=5)  # approved 10:55, then waits at the window
    w.run(at(MON, 12, 5))
    assert w.deployed("c1", "production") is None
    assert w.max_age(at(MON, 10, 55), at(MON, 11, 45)) <= 50 * 60
    assert w.max_age(at(MON, 11, 45), at(MON, 12, 5)) > 50 * 60


@pytest.mark.parametrize("readings", Readings.combinations("outdated_target_error"), ids=Readings.short)
def test_a_manual_rollback_to_an_older_version_is_refused_and_the_way_back_offered(world_of, pipelines, readings):
    """rollback-preconditions and rollback-outdated-error: naming a target of
    the previous structure version with --to, CodePipeline refuses it (with
    either exception, by reading); `ops rollback` says so and prints the way
    back instead of failing with a traceback."""
    w = world_of("production", at(MON, 9, 55), readings=readings)
    release(w, "p1", at(MON, 10), approve_after=5)
    w.world.update_pipeline(pipelines["production"], at(MON, 12))
    release(w, "p2", at(MON, 13), approve_after=5)
    w.run(at(MON, 15))
    p1 = next(e.id for e in w.sim.executions if e.revision == "p1")
    code, out = w.ops("rollback", "production", "--stage", "ProductionDeploy", "--to", p1)
    assert code == 1, out
    assert readings.outdated_target_error in out and "cannot be rolled back" in out
    assert "start-pipeline-execution" in out and "revisionValue=p1" in out
    w.run(at(MON, 16))
    assert w.running("production", at(MON, 16)) == "p2"


def test_a_failed_deploy_rolls_back_to_the_latest_good_release(world_of):
    """on-failure-rollback: "When the stage fails, the stage is rolled back to
    the most recent successful execution." p1 then p2 succeeded in TestEnv;
    c3's integration test fails after its deploy: TestEnv goes back to p2."""
    w = world_of("test", at(MON, 9, 55))
    w.push("p1", at(MON, 10))
    w.push("p2", at(MON, 11))
    w.world.action("IntegrationTest").succeed(dt.timedelta(minutes=5)).succeed(dt.timedelta(minutes=5)).fail()
    w.push("c3", at(MON, 12))
    w.run(at(MON, 14))
    assert w.deployed("c3", "test") is not None
    assert w.running("test", at(MON, 14)) == "p2"
    assert w.execution_record("c3")["outcome"] == "DEPLOY_FAILED"
    # CodePipeline's own rollback: counted once, nobody paged (no alarm fired),
    # and not a change failure (the test environment, not production).
    assert (w.metric("DeploymentFailure"), w.metric("RollbackCount")) == (1, 1)
    assert pages(w) == [] and w.dora(MON, TUE)["ChangeFailureRate"].value == 0
