"""The CodePipeline semantics model (tests/codepipeline_model) on small literal
pipelines. Expected times and states are written from the documentation
(docs/codepipeline-semantics.md), never computed by the model."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from tests.codepipeline_model import (
    ASSUMED,
    DOCUMENTED,
    INFERRED,
    MODEL,
    REGISTRY,
    SWITCHES,
    InvalidPipeline,
    Readings,
    Simulation,
    World,
    load_pipeline,
    mutations,
    window,
)

pytestmark = pytest.mark.unit

MIN = timedelta(minutes=1)
CRON = "* * 9-16 ? * MON-THU *"


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def source_stage() -> dict:
    return {
        "name": "Source",
        "action": [
            {
                "name": "Source",
                "category": "Source",
                "provider": "CodeStarSourceConnection",
                "run_order": 1,
                "configuration": {"ConnectionArn": "${aws_codeconnections_connection.github.arn}"},
                "output_artifacts": ["SourceOutput"],
            }
        ],
    }


def build(name: str, run_order: int = 1) -> dict:
    return {
        "name": name,
        "category": "Build",
        "provider": "CodeBuild",
        "run_order": run_order,
        "configuration": {"ProjectName": f"${{aws_codebuild_project.{name.lower()}.name}}"},
        "input_artifacts": ["SourceOutput"],
    }


def approval(name: str = "Approve", run_order: int = 1) -> dict:
    return {"name": name, "category": "Approval", "provider": "Manual", "run_order": run_order}


def alarm_rule(name: str, alarm: str, wait: str) -> dict:
    return {
        "name": name,
        "rule_type_id": {"category": "Rule", "owner": "AWS", "provider": "CloudWatchAlarm", "version": "1"},
        "configuration": {"AlarmName": alarm, "AlarmStates": "ALARM", "WaitTime": wait},
    }


def window_rule(cron: str = CRON, zone: str = "UTC") -> dict:
    return {
        "name": "InChangeWindow",
        "rule_type_id": {"category": "Rule", "owner": "AWS", "provider": "DeploymentWindow", "version": "1"},
        "configuration": {"Cron": cron, "TimeZone": zone},
    }


def pipeline(*stages: dict, mode: str = "QUEUED") -> dict:
    return {
        "name": "demo",
        "pipeline_type": "V2",
        "execution_mode": mode,
        "role_arn": "${aws_iam_role.pipeline_role.arn}",
        "artifact_store": [{"location": "${aws_s3_bucket.artifacts.bucket}", "type": "S3"}],
        "stage": [source_stage(), *stages],
    }


def start(sim: Simulation, commit: str) -> str:
    return sim.client.start_pipeline_execution(
        name="demo", sourceRevisions=[{"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": commit}]
    )["pipelineExecutionId"]


def states(sim: Simulation, kind: str, **match) -> list[tuple[str, str]]:
    """(time, state) of the events of `kind` (Pipeline/Stage/Action) whose detail matches."""
    return [
        (e["time"], e["detail"]["state"])
        for e in sim.events
        if e["detail-type"] == f"CodePipeline {kind} Execution State Change"
        and all(e["detail"].get(k) == v for k, v in match.items())
    ]


def code(error: pytest.ExceptionInfo) -> str:
    return error.value.response["Error"]["Code"]


# --- cron -> window ------------------------------------------------------------------


def test_the_product_window_is_nine_to_five_monday_to_thursday_in_utc():
    w = window(CRON, "UTC")
    thursday = w.minutes(at(26, 0), at(27, 0))  # 2026-03-26 is a Thursday
    assert (thursday[0], thursday[-1], len(thursday)) == (at(26, 9), at(26, 16, 59), 8 * 60)
    assert w.minutes(at(27, 0), at(28, 0)) == []  # Friday
    assert w.allows(at(23, 9)) and not w.allows(at(22, 12))  # Monday in, Sunday out


def test_a_berlin_window_moves_in_utc_across_daylight_saving():
    w = window("* * 9-16 ? * * *", "Europe/Berlin")
    # CET (UTC+1) before 2026-03-29 01:00 UTC, CEST (UTC+2) after; back on 2026-10-25 01:00 UTC.
    assert w.minutes(at(28, 0), at(29, 0))[::479] == [at(28, 8), at(28, 15, 59)]
    assert w.minutes(at(29, 0), at(30, 0))[::479] == [at(29, 7), at(29, 14, 59)]
    assert w.minutes(at(24, 0, month=10), at(25, 0, month=10))[::479] == [at(24, 7, month=10), at(24, 14, 59, month=10)]
    assert w.minutes(at(25, 0, month=10), at(26, 0, month=10))[::479] == [at(25, 8, month=10), at(25, 15, 59, month=10)]


def test_a_local_hour_that_is_skipped_matches_nothing_and_one_that_repeats_matches_twice():
    w = window("* * 2 ? * * *", "Europe/Berlin")
    assert w.minutes(at(29, 0), at(30, 0)) == []  # 02:00-02:59 does not exist on 2026-03-29
    twice = w.minutes(at(25, 0, month=10), at(26, 0, month=10))
    assert (len(twice), twice[0], twice[-1]) == (120, at(25, 0, month=10), at(25, 1, 59, month=10))


def test_fixed_offsets_lists_and_steps():
    w = window("* 0/15 9,17 ? * MON *", "UTC+05:30")
    monday = w.minutes(at(23, 0), at(24, 0))
    assert monday == [
        at(23, 3, 30),
        at(23, 3, 45),
        at(23, 4, 0),
        at(23, 4, 15),
        at(23, 11, 30),
        at(23, 11, 45),
        at(23, 12, 0),
        at(23, 12, 15),
    ]


def test_a_cron_needs_six_or_seven_fields():
    with pytest.raises(ValueError, match="6 or 7 fields"):
        window("* 9-16 ? * MON-THU", "UTC")


# --- the registry ------------------------------------------------------------------


def test_every_rule_has_a_label_a_page_a_quote_and_a_mutation():
    assert len(REGISTRY) >= 20
    for rule in REGISTRY.values():
        assert rule.label in (DOCUMENTED, INFERRED, ASSUMED), rule.name
        assert re.match(r"https://(docs\.aws\.amazon\.com|docs\.amazonaws\.cn|aws\.amazon\.com)/", rule.url), rule.name
        assert len(rule.quote) > 30 and rule.quote[0].isupper(), rule.name
        assert rule.mutations, rule.name
        assert rule.function.__doc__, rule.name
        assert set(rule.switches) <= set(SWITCHES), rule.name
    assert {s for r in REGISTRY.values() for s in r.switches} == set(SWITCHES)  # every switch belongs to a rule


def test_the_mutations_are_listed_and_a_simulation_refuses_an_unknown_one():
    listed = mutations()
    assert "alarm-not-rechecked:recheck" in listed and "rollback-preconditions:ignore-structure-version" in listed
    assert all(name.split(":")[0] in REGISTRY for name in listed)
    with pytest.raises(KeyError):
        Simulation(pipeline(), start=at(2, 9), mutations={"no-such-rule:x"})


def test_readings_enumerate_the_combinations_a_scenario_depends_on():
    combos = Readings.combinations("window_outside", "in_flight_on_update")
    assert {(r.window_outside, r.in_flight_on_update) for r in combos} == {
        ("wait", "cancel"),
        ("wait", "continue"),
        ("fail", "cancel"),
        ("fail", "continue"),
    }
    assert all(r.approval_timeout_reported_as == "Failed" for r in combos)


# --- the declaration ----------------------------------------------------------------


def test_a_condition_holds_one_to_five_rules_and_the_results_its_kind_allows():
    six = {
        "name": "Prod",
        "action": [build("Deploy")],
        "before_entry": {"condition": {"result": "FAIL", "rule": [alarm_rule(f"R{i}", "a", "1") for i in range(6)]}},
    }
    with pytest.raises(InvalidPipeline, match="1 to 5"):
        load_pipeline(pipeline(six))
    rollback_at_entry = {
        "name": "Prod",
        "action": [build("Deploy")],
        "before_entry": {"condition": {"result": "ROLLBACK", "rule": [window_rule()]}},
    }
    with pytest.raises(InvalidPipeline, match="ROLLBACK"):
        load_pipeline(pipeline(rollback_at_entry))
    fail_on_success = {
        "name": "Prod",
        "action": [build("Deploy")],
        "on_success": {"condition": {"result": "FAIL", "rule": [alarm_rule("Bake", "a", "5")]}},
    }
    assert load_pipeline(pipeline(fail_on_success)).stage("Prod").on_success.result == "FAIL"
    from tests.codepipeline_model import Mode

    with pytest.raises(InvalidPipeline, match="FAIL"):
        load_pipeline(pipeline(fail_on_success), Mode(Readings(on_success_fail_result_allowed=False)))


def test_a_simulation_refuses_a_declaration_codepipeline_refuses():
    """BeforeEntryConditions: Array Members: Fixed number of 1 item; Condition.rules: Minimum number of 1 item.
    Maximum number of 5 items; Entry: Rules are engaged with the following result options: Fail or Skip."""
    six_rules = gated(*(alarm_rule(f"R{i}", "health", "1") for i in range(6)))
    with pytest.raises(InvalidPipeline, match="1 to 5"):
        Simulation(six_rules, World(), start=at(2, 9))
    two_conditions = pipeline(
        {
            "name": "Prod",
            "action": [build("Deploy")],
            "before_entry": {
                "condition": [
                    {"result": "FAIL", "rule": [window_rule()]},
                    {"result": "FAIL", "rule": [alarm_rule("Healthy", "health", "1")]},
                ]
            },
        }
    )
    with pytest.raises(InvalidPipeline, match="exactly 1"):
        Simulation(two_conditions, World(), start=at(2, 9))
    with pytest.raises(InvalidPipeline, match="ROLLBACK"):
        Simulation(gated(window_rule(), result="ROLLBACK"), World(), start=at(2, 9))
    retry_on_success = pipeline(
        {
            "name": "Prod",
            "action": [build("Deploy")],
            "on_success": {"condition": {"result": "RETRY", "rule": [alarm_rule("Bake", "health", "5")]}},
        }
    )
    with pytest.raises(InvalidPipeline, match="RETRY"):
        Simulation(retry_on_success, World(), start=at(2, 9))
    five_rules = gated(*(alarm_rule(f"R{i}", "health", "1") for i in range(5)), result="SKIP")
    assert len(Simulation(five_rules, World(), start=at(2, 9)).pipeline.stage("Prod").before_entry.rules) == 5


# --- approvals ------------------------------------------------------------------------


def prod_with_approval() -> dict:
    return pipeline({"name": "Prod", "action": [approval(), build("Deploy", run_order=2)]})


def test_a_rejection_fails_the_action_the_stage_and_the_execution():
    world = World()
    world.approval("Approve").reject(after=5 * MIN)
    sim = Simulation(prod_with_approval(), world, start=at(2, 9))
    execution = start(sim, "c1")
    sim.advance(hours=1)
    assert states(sim, "Action", action="Approve") == [
        ("2026-03-02T09:01:00Z", "STARTED"),
        ("2026-03-02T09:06:00Z", "FAILED"),
    ]
    assert states(sim, "Stage", stage="Prod")[-1] == ("2026-03-02T09:06:00Z", "FAILED")
    assert states(sim, "Pipeline")[-1] == ("2026-03-02T09:06:00Z", "FAILED")
    assert sim.timeline.action_runs("Deploy") == []
    assert (
        sim.client.get_pipeline_execution(pipelineName="demo", pipelineExecutionId=execution)["pipelineExecution"][
            "status"
        ]
        == "Failed"
    )


@pytest.mark.parametrize("readings", Readings.combinations("approval_timeout_reported_as"), ids=Readings.short)
def test_an_unanswered_approval_times_out_after_seven_days(readings):
    sim = Simulation(prod_with_approval(), World(), start=at(2, 9), readings=readings)
    start(sim, "c1")
    sim.advance(to=at(9, 9))
    assert sim.timeline.action_runs("Approve")[0].status == "InProgress"  # 09:01 + 7 days is not yet
    sim.advance(to=at(9, 9, 2))
    expected = {"Failed": "FAILED", "Abandoned": "ABANDONED"}[readings.approval_timeout_reported_as]
    assert states(sim, "Action", action="Approve")[-1] == ("2026-03-09T09:01:00Z", expected)
    assert states(sim, "Pipeline")[-1] == ("2026-03-09T09:01:00Z", "FAILED")


def test_put_approval_result_answers_with_the_token_from_get_pipeline_state():
    sim = Simulation(prod_with_approval(), World(), start=at(2, 9))
    start(sim, "c1")
    sim.advance(minutes=10)
    prod = next(s for s in sim.client.get_pipeline_state(name="demo")["stageStates"] if s["stageName"] == "Prod")
    token = prod["actionStates"][0]["latestExecution"]["token"]
    answer = {"status": "Approved", "summary": "ok"}
    sim.client.put_approval_result(
        pipelineName="demo", stageName="Prod", actionName="Approve", result=answer, token=token
    )
    sim.advance(minutes=5)
    assert states(sim, "Pipeline")[-1] == ("2026-03-02T09:11:00Z", "SUCCEEDED")
    with pytest.raises(ClientError) as error:
        sim.client.put_approval_result(
            pipelineName="demo", stageName="Prod", actionName="Approve", result=answer, token=token
        )
    assert code(error) == "ApprovalAlreadyCompletedException"


# --- QUEUED -------------------------------------------------------------------------------


def test_queued_executions_enter_a_stage_one_at_a_time_in_order():
    world = World()
    world.approval("Approve").approve(after=30 * MIN).approve(after=30 * MIN).approve(after=30 * MIN)
    sim = Simulation(prod_with_approval(), world, start=at(2, 9), deploys={"Prod": {"Deploy"}})
    for minute, commit in ((0, "c1"), (2, "c2"), (4, "c3")):
        sim.advance(to=at(2, 9, minute))
        start(sim, commit)
    sim.advance(to=at(2, 9, 10))
    prod = next(s for s in sim.client.get_pipeline_state(name="demo")["stageStates"] if s["stageName"] == "Prod")
    waiting = [sim.execution(x["pipelineExecutionId"]).revision for x in prod["inboundExecutions"]]
    assert waiting == ["c2", "c3"]
    sim.advance(hours=2)
    entered = [sim.timeline.entered(c, "Prod") for c in ("c1", "c2", "c3")]
    assert entered == [at(2, 9, 1), at(2, 9, 32), at(2, 10, 3)]
    assert [sim.timeline.running_on("Prod", t) for t in (at(2, 9, 31), at(2, 10, 0), at(2, 10, 3), at(2, 11))] == [
        None,
        "c1",
        "c2",
        "c3",
    ]


# --- conditions -----------------------------------------------------------------------


def gated(*rules: dict, result: str = "FAIL") -> dict:
    return pipeline(
        {
            "name": "Prod",
            "action": [build("Deploy")],
            "before_entry": {"condition": {"result": result, "rule": list(rules)}},
        }
    )


@pytest.mark.parametrize("readings", Readings.combinations("window_outside"), ids=Readings.short)
def test_an_entry_window_holds_the_stage_until_it_opens_or_fails_it(readings):
    sim = Simulation(gated(window_rule()), World(), start=at(26, 7), readings=readings)  # a Thursday
    start(sim, "c1")
    sim.advance(to=at(26, 10))
    deploy = sim.timeline.action_runs("Deploy")
    if readings.window_outside == "wait":
        assert [(d.start, d.status) for d in deploy] == [(at(26, 9), "Succeeded")]
    else:
        assert deploy == [] and states(sim, "Stage", stage="Prod")[-1] == ("2026-03-26T07:01:00Z", "FAILED")


def test_window_and_alarm_in_one_condition_the_alarm_is_not_checked_again():
    """The Important note: the alarm rule succeeds before the window opens and is
    not checked again once it opens, so the stage is entered in ALARM."""
    world = World()
    world.alarm("health").set("ALARM", at=at(26, 8, 55))
    resource = gated(alarm_rule("NotDuringAnIncident", "health", "30"), window_rule())
    sim = Simulation(resource, world, start=at(26, 8, 49))
    start(sim, "c1")  # Prod is reached at 08:50, alarm OK, window closed
    sim.advance(to=at(26, 10))
    assert [d.start for d in sim.timeline.action_runs("Deploy")] == [at(26, 9)]

    world = World()
    world.alarm("health").set("ALARM", at=at(26, 8, 55))
    mutant = Simulation(resource, world, start=at(26, 8, 49), mutations={"alarm-not-rechecked:recheck"})
    start(mutant, "c1")
    mutant.advance(to=at(26, 10))
    assert mutant.timeline.action_runs("Deploy") == []  # the mutation is seen


def test_an_entry_alarm_waits_for_the_alarm_to_clear_up_to_wait_time():
    world = World()
    world.alarm("health", initial="ALARM").set("OK", at=at(2, 9, 11))
    sim = Simulation(gated(alarm_rule("Healthy", "health", "30")), world, start=at(2, 9))
    start(sim, "c1")
    sim.advance(hours=1)
    assert [d.start for d in sim.timeline.action_runs("Deploy")] == [at(2, 9, 11)]

    world = World()
    world.alarm("health", initial="ALARM")
    sim = Simulation(gated(alarm_rule("Healthy", "health", "30")), world, start=at(2, 9))
    start(sim, "c1")
    sim.advance(hours=1)
    assert states(sim, "Stage", stage="Prod")[-1] == ("2026-03-02T09:31:00Z", "FAILED")  # first checked 09:01


def test_insufficient_data_is_not_an_alarm_state_the_rule_monitors():
    world = World()
    world.alarm("health", initial="INSUFFICIENT_DATA")
    sim = Simulation(gated(alarm_rule("Healthy", "health", "30")), world, start=at(2, 9))
    start(sim, "c1")
    sim.advance(minutes=5)
    assert [d.start for d in sim.timeline.action_runs("Deploy")] == [at(2, 9, 1)]


def test_override_of_an_entry_condition_lets_the_execution_in():
    sim = Simulation(gated(window_rule()), World(), start=at(26, 7))
    execution = start(sim, "c1")
    sim.advance(to=at(26, 7, 30))
    sim.client.override_stage_condition(
        pipelineName="demo", stageName="Prod", pipelineExecutionId=execution, conditionType="BEFORE_ENTRY"
    )
    sim.advance(minutes=5)
    assert [(d.start, d.status) for d in sim.timeline.action_runs("Deploy")] == [(at(26, 7, 30), "Succeeded")]
    prod = next(s for s in sim.client.get_pipeline_state(name="demo")["stageStates"] if s["stageName"] == "Prod")
    condition = prod["beforeEntryConditionState"]
    assert condition["latestExecution"]["status"] == "Overridden"
    assert condition["conditionStates"][0]["ruleStates"][0]["latestExecution"]["status"] == "Abandoned"
    with pytest.raises(ClientError) as error:  # no longer in progress
        sim.client.override_stage_condition(
            pipelineName="demo", stageName="Prod", pipelineExecutionId=execution, conditionType="BEFORE_ENTRY"
        )
    assert code(error) == "ConditionNotOverridableException"


# --- retry, rollback ------------------------------------------------------------------------


def retried() -> dict:
    return pipeline(
        {
            "name": "Build",
            "action": [build("Build")],
            "on_failure": {"result": "RETRY", "retry_configuration": {"retry_mode": "FAILED_ACTIONS"}},
        }
    )


def test_a_failed_stage_is_retried_automatically_once():
    world = World()
    world.action("Build").fail().fail()
    sim = Simulation(retried(), world, start=at(2, 9))
    start(sim, "c1")
    sim.advance(minutes=10)
    assert [(r.attempt, r.start, r.status) for r in sim.timeline.action_runs("Build")] == [
        (1, at(2, 9, 1), "Failed"),
        (2, at(2, 9, 2), "Failed"),
    ]
    assert states(sim, "Stage", stage="Build") == [
        ("2026-03-02T09:01:00Z", "STARTED"),
        ("2026-03-02T09:02:00Z", "RESUMED"),
        ("2026-03-02T09:03:00Z", "FAILED"),
    ]
    build_state = sim.client.get_pipeline_state(name="demo")["stageStates"][1]
    assert build_state["retryStageMetadata"] == {
        "latestRetryTrigger": "AutomatedStageRetry",
        "autoStageRetryAttempt": 1,
    }


def test_a_retry_that_succeeds_lets_the_execution_go_on():
    world = World()
    world.action("Build").fail()
    sim = Simulation(retried(), world, start=at(2, 9))
    start(sim, "c1")
    sim.advance(minutes=10)
    assert states(sim, "Pipeline")[-1] == ("2026-03-02T09:03:00Z", "SUCCEEDED")


def two_builds() -> dict:
    return pipeline({"name": "Build", "action": [build("Compile"), build("Package", run_order=2)]})


def test_failed_actions_retry_reruns_only_the_failed_action_and_all_actions_reruns_every_one():
    """RetryConfiguration: You can specify to retry only failed action in the stage or all actions in the stage."""
    world = World()
    world.action("Package").fail().fail()
    sim = Simulation(two_builds(), world, start=at(2, 9))
    execution = start(sim, "c1")  # Compile 09:01-09:02, Package 09:02-09:03 fails
    sim.advance(to=at(2, 9, 10))
    retry = {"pipelineName": "demo", "stageName": "Build", "pipelineExecutionId": execution}
    sim.client.retry_stage_execution(**retry, retryMode="FAILED_ACTIONS")
    sim.advance(to=at(2, 9, 20))
    assert [r.start for r in sim.timeline.action_runs("Compile")] == [at(2, 9, 1)]
    assert [(r.start, r.status) for r in sim.timeline.action_runs("Package")] == [
        (at(2, 9, 2), "Failed"),
        (at(2, 9, 10), "Failed"),
    ]
    sim.client.retry_stage_execution(**retry, retryMode="ALL_ACTIONS")
    sim.advance(to=at(2, 9, 30))
    assert [r.start for r in sim.timeline.action_runs("Compile")] == [at(2, 9, 1), at(2, 9, 20)]
    assert [r.start for r in sim.timeline.action_runs("Package")] == [at(2, 9, 2), at(2, 9, 10), at(2, 9, 21)]
    assert states(sim, "Pipeline")[-1] == ("2026-03-02T09:22:00Z", "SUCCEEDED")


def test_an_automatic_failed_actions_retry_reruns_only_the_failed_action():
    world = World()
    world.action("Package").fail()
    resource = two_builds()
    resource["stage"][1]["on_failure"] = {"result": "RETRY", "retry_configuration": {"retry_mode": "FAILED_ACTIONS"}}
    sim = Simulation(resource, world, start=at(2, 9))
    start(sim, "c1")
    sim.advance(minutes=10)
    assert [r.start for r in sim.timeline.action_runs("Compile")] == [at(2, 9, 1)]
    assert [r.start for r in sim.timeline.action_runs("Package")] == [at(2, 9, 2), at(2, 9, 3)]


def test_a_stage_without_failed_actions_cannot_be_retried():
    """RetryStageExecution: Before a stage can be retried, it must either have all actions failed or some
    actions failed and some succeeded."""
    sim = Simulation(two_builds(), World(), start=at(2, 9))
    execution = start(sim, "c1")
    sim.advance(minutes=10)
    assert states(sim, "Pipeline")[-1] == ("2026-03-02T09:03:00Z", "SUCCEEDED")
    for retry_mode in ("FAILED_ACTIONS", "ALL_ACTIONS"):
        with pytest.raises(ClientError) as error:
            sim.client.retry_stage_execution(
                pipelineName="demo", stageName="Build", pipelineExecutionId=execution, retryMode=retry_mode
            )
        assert code(error) == "StageNotRetryableException"
    assert [r.start for r in sim.timeline.action_runs("Compile")] == [at(2, 9, 1)]


@pytest.mark.parametrize("readings", Readings.combinations("retry_reevaluates_entry_condition"), ids=Readings.short)
def test_whether_a_retried_stage_checks_its_entry_condition_again(readings):
    """Under the reading that it does, the entry alarm (in ALARM at the retry) holds the retried stage until it
    clears: "the amount of time CodePipeline will wait if the alarm is in ALARM state when it is first evaluated"."""
    world = World()
    world.action("Deploy").fail()
    world.alarm("health").set("ALARM", at=at(2, 9, 5)).set("OK", at=at(2, 9, 20))
    sim = Simulation(gated(alarm_rule("Healthy", "health", "30")), world, start=at(2, 9), readings=readings)
    execution = start(sim, "c1")  # Prod entered 09:01 with the alarm OK; Deploy fails 09:02
    sim.advance(to=at(2, 9, 10))
    sim.client.retry_stage_execution(
        pipelineName="demo", stageName="Prod", pipelineExecutionId=execution, retryMode="FAILED_ACTIONS"
    )
    sim.advance(to=at(2, 9, 30))
    rerun = at(2, 9, 20) if readings.retry_reevaluates_entry_condition else at(2, 9, 10)
    assert [r.start for r in sim.timeline.action_runs("Deploy")] == [at(2, 9, 1), rerun]


def deployed_with_bake() -> dict:
    return pipeline(
        {
            "name": "Prod",
            "action": [build("Deploy")],
            "on_failure": {"result": "ROLLBACK"},
            "on_success": {"condition": {"result": "ROLLBACK", "rule": [alarm_rule("Bake", "health", "10")]}},
        }
    )


def test_a_bake_alarm_rolls_the_stage_back_to_the_last_successful_commit():
    world = World()
    world.alarm("health").set("ALARM", at=at(2, 10, 5))
    sim = Simulation(deployed_with_bake(), world, start=at(2, 9))
    start(sim, "c1")
    sim.advance(to=at(2, 10))
    start(sim, "c2")  # Source 10:00-10:01, Deploy 10:01-10:02, bake from 10:02
    sim.advance(to=at(2, 11))
    rollback = sim.executions[-1]
    assert (rollback.type, rollback.revision, rollback.trigger_type) == ("ROLLBACK", "c1", "AutomatedRollback")
    assert [sim.timeline.running_on("Prod", t) for t in (at(2, 9, 30), at(2, 10, 3), at(2, 10, 7))] == [
        "c1",
        "c2",
        "c1",
    ]
    assert sim.timeline.reached("c1", "Prod") == at(2, 9, 12) and sim.timeline.reached("c2", "Prod") is None


def rolled_back_on_failure(failure: dict | None = None) -> dict:
    return pipeline({"name": "Prod", "action": [build("Deploy")], "on_failure": failure or {"result": "ROLLBACK"}})


def test_a_failed_stage_rolls_back_to_the_most_recent_successful_execution():
    """When the stage fails, the stage is rolled back to the most recent successful execution."""
    world = World()
    world.action("Deploy").succeed().succeed().fail()
    sim = Simulation(rolled_back_on_failure(), world, start=at(2, 9))
    for minute, commit in ((0, "c1"), (10, "c2"), (20, "c3")):
        sim.advance(to=at(2, 9, minute))
        start(sim, commit)
    sim.advance(to=at(2, 10))
    c2 = next(e for e in sim.executions if e.revision == "c2")
    rollback = sim.executions[-1]
    assert (rollback.type, rollback.revision, rollback.rollback_target) == ("ROLLBACK", "c2", c2.id)
    assert [sim.timeline.running_on("Prod", t) for t in (at(2, 9, 5), at(2, 9, 15), at(2, 9, 30))] == [
        "c1",
        "c2",
        "c2",
    ]


def test_an_on_failure_condition_rolls_back_only_when_it_fails():
    """The stage performs the specified result only when the condition fails."""
    failure = {"result": "ROLLBACK", "condition": {"rule": [alarm_rule("Unhealthy", "health", "0")]}}
    for alarm_at_failure, rolled_back in (("OK", False), ("ALARM", True)):
        world = World()
        world.action("Deploy").succeed().fail()
        world.alarm("health", initial=alarm_at_failure)
        sim = Simulation(rolled_back_on_failure(failure), world, start=at(2, 9))
        start(sim, "c1")
        sim.advance(to=at(2, 9, 10))
        start(sim, "c2")  # Deploy fails at 09:12
        sim.advance(to=at(2, 10))
        assert [e.type for e in sim.executions] == ["STANDARD", "STANDARD"] + ["ROLLBACK"] * rolled_back
        assert states(sim, "Stage", stage="Prod")[-1][1] == ("SUCCEEDED" if rolled_back else "FAILED")


@pytest.mark.parametrize("readings", Readings.combinations("rollback_evaluates_entry_condition"), ids=Readings.short)
def test_whether_a_rollback_checks_the_stage_entry_condition(readings):
    """Under the reading that it does, the entry alarm (in ALARM at the rollback) holds the rollback until it
    clears."""
    world = World()
    world.alarm("health").set("ALARM", at=at(2, 9, 15)).set("OK", at=at(2, 9, 40))
    sim = Simulation(gated(alarm_rule("Healthy", "health", "60")), world, start=at(2, 9), readings=readings)
    c1 = start(sim, "c1")  # Deploy 09:01-09:02
    sim.advance(to=at(2, 9, 10))
    start(sim, "c2")  # Deploy 09:11-09:12
    sim.advance(to=at(2, 9, 20))
    sim.client.rollback_stage(pipelineName="demo", stageName="Prod", targetPipelineExecutionId=c1)
    sim.advance(to=at(2, 10))
    rollback = at(2, 9, 40) if readings.rollback_evaluates_entry_condition else at(2, 9, 20)
    assert [r.start for r in sim.timeline.action_runs("Deploy")] == [at(2, 9, 1), at(2, 9, 11), rollback]


@pytest.mark.parametrize(
    "readings", Readings.combinations("outdated_target_error", "in_flight_on_update"), ids=Readings.short
)
def test_rollback_is_refused_to_a_target_of_an_older_structure_version(readings):
    sim = Simulation(deployed_with_bake(), World(), start=at(2, 9), readings=readings)
    target = start(sim, "c1")
    sim.advance(hours=1)
    changed = deployed_with_bake()
    changed["stage"][1]["action"][0]["configuration"] = {"ProjectName": "deploy-v2"}
    sim.update_pipeline(changed)
    with pytest.raises(ClientError) as error:
        sim.client.rollback_stage(pipelineName="demo", stageName="Prod", targetPipelineExecutionId=target)
    assert code(error) == readings.outdated_target_error
    assert sim.client.get_pipeline_state(name="demo")["pipelineVersion"] == 2


def test_a_manual_rollback_reuses_the_target_commit_unless_its_artifacts_expired():
    sim = Simulation(deployed_with_bake(), World(), start=at(2, 9), artifact_lifecycle_days=1)
    c1 = start(sim, "c1")
    sim.advance(hours=1)
    start(sim, "c2")
    sim.advance(hours=1)
    rollback = sim.client.rollback_stage(pipelineName="demo", stageName="Prod", targetPipelineExecutionId=c1)
    sim.advance(minutes=30)
    assert sim.execution(rollback["pipelineExecutionId"]).revision == "c1"
    assert sim.timeline.running_on("Prod", sim.now) == "c1"
    sim.advance(days=2)
    late = sim.client.rollback_stage(pipelineName="demo", stageName="Prod", targetPipelineExecutionId=c1)
    sim.advance(minutes=5)
    assert sim.execution(late["pipelineExecutionId"]).status == "Failed"  # c1's artifacts are past the lifecycle
    with pytest.raises(ClientError) as error:
        sim.client.rollback_stage(pipelineName="demo", stageName="Source", targetPipelineExecutionId=c1)
    assert code(error) == "UnableToRollbackStageException"


# --- versions, events, the API -------------------------------------------------------------


@pytest.mark.parametrize("readings", Readings.combinations("in_flight_on_update"), ids=Readings.short)
def test_events_and_apis_carry_the_structure_version_the_execution_started_in(readings):
    sim = Simulation(prod_with_approval(), World(), start=at(2, 9), readings=readings)
    first = start(sim, "c1")  # waits for its approval
    sim.advance(to=at(2, 9, 10))
    sim.update_pipeline(prod_with_approval())
    second = start(sim, "c2")
    sim.advance(minutes=5)
    versions = {
        e["detail"]["execution-id"]: e["detail"]["version"] for e in sim.events if e["source"] == "aws.codepipeline"
    }
    assert versions == {first: 1.0, second: 2.0}
    assert (
        sim.client.get_pipeline_execution(pipelineName="demo", pipelineExecutionId=first)["pipelineExecution"][
            "pipelineVersion"
        ]
        == 1
    )
    expected = {"cancel": ("2026-03-02T09:10:00Z", "CANCELED"), "continue": ("2026-03-02T09:00:00Z", "STARTED")}
    assert states(sim, "Pipeline", **{"execution-id": first})[-1] == expected[readings.in_flight_on_update]
    summary = MODEL.shape_for("PipelineExecutionSummary")
    assert "pipelineVersion" not in summary.members  # the list has no version; GetPipelineExecution has


def test_the_succeeded_in_stage_filter_lists_only_the_current_structure_version():
    """ListPipelineExecutions: the operation returns all executions in the current pipeline version."""
    sim = Simulation(rolled_back_on_failure(), World(), start=at(2, 9))
    first = start(sim, "c1")
    sim.advance(to=at(2, 9, 10))
    sim.update_pipeline(rolled_back_on_failure())
    second = start(sim, "c2")
    sim.advance(to=at(2, 9, 20))
    listed = sim.client.list_pipeline_executions(
        pipelineName="demo", filter={"succeededInStage": {"stageName": "Prod"}}
    )
    assert [s["pipelineExecutionId"] for s in listed["pipelineExecutionSummaries"]] == [second]
    everything = sim.client.list_pipeline_executions(pipelineName="demo")["pipelineExecutionSummaries"]
    assert [s["pipelineExecutionId"] for s in everything] == [second, first]


def test_an_alarm_event_is_sent_only_when_the_state_changes():
    """CloudWatch sends events to Amazon EventBridge whenever a CloudWatch alarm [...] changes alarm state."""
    world = World()
    world.alarm("health").set("OK", at=at(2, 9, 10)).set("ALARM", at=at(2, 9, 20)).set("ALARM", at=at(2, 9, 30))
    sim = Simulation(pipeline(), world, start=at(2, 9))
    sim.advance(hours=1)
    alarm_events = [
        (e["time"], e["detail"]["previousState"]["value"], e["detail"]["state"]["value"])
        for e in sim.events
        if e["source"] == "aws.cloudwatch"
    ]
    assert alarm_events == [("2026-03-02T09:20:00Z", "OK", "ALARM")]


def test_events_have_the_documented_envelope_and_details():
    world = World()
    world.alarm("health").set("ALARM", at=at(2, 9, 30))
    sim = Simulation(deployed_with_bake(), world, start=at(2, 9))
    start(sim, "c1")
    sim.advance(hours=1)
    kinds = {e["detail-type"] for e in sim.events}
    assert kinds == {
        "CodePipeline Pipeline Execution State Change",
        "CodePipeline Stage Execution State Change",
        "CodePipeline Action Execution State Change",
        "CloudWatch Alarm State Change",
    }
    for e in sim.events:
        assert set(e) == {"version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"}
    pipeline_event = next(e for e in sim.events if e["detail-type"].startswith("CodePipeline Pipeline"))
    assert pipeline_event["source"] == "aws.codepipeline"
    assert set(pipeline_event["detail"]) == {
        "pipeline",
        "execution-id",
        "execution-trigger",
        "start-time",
        "state",
        "version",
        "pipeline-execution-attempt",
    }
    alarm = next(e for e in sim.events if e["source"] == "aws.cloudwatch")
    assert (
        alarm["time"],
        alarm["detail"]["alarmName"],
        alarm["detail"]["state"]["value"],
        alarm["detail"]["previousState"]["value"],
    ) == ("2026-03-02T09:30:00Z", "health", "ALARM", "OK")


def shape_problems(value, shape, path="$") -> list[str]:
    """Where `value` does not fit botocore's output `shape`."""
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: not an object"]
        found = [f"{path}.{k}: not in {shape.name}" for k in value if k not in shape.members]
        found += [f"{path}.{k}: required" for k in shape.required_members if k not in value]
        for k, v in value.items():
            if k in shape.members:
                found += shape_problems(v, shape.members[k], f"{path}.{k}")
        return found
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: not a list"]
        return [p for i, v in enumerate(value) for p in shape_problems(v, shape.member, f"{path}[{i}]")]
    if kind == "map":
        return [] if isinstance(value, dict) else [f"{path}: not a map"]
    expected = {"string": str, "integer": int, "long": int, "boolean": bool, "timestamp": datetime}.get(kind)
    if expected and (not isinstance(value, expected) or (expected is int and isinstance(value, bool))):
        return [f"{path}: not a {kind}"]
    if kind == "string" and shape.enum and value not in shape.enum:
        return [f"{path}: {value!r} not in {shape.enum}"]
    return []


def test_every_response_fits_botocores_output_shape():
    world = World()
    world.approval("Approve").approve(after=5 * MIN).no_answer()
    world.alarm("health").set("ALARM", at=at(2, 10, 20))
    resource = pipeline(
        {
            "name": "Prod",
            "action": [approval(), build("Deploy", 2)],
            "on_failure": {"result": "ROLLBACK"},
            "on_success": {"condition": {"result": "ROLLBACK", "rule": [alarm_rule("Bake", "health", "10")]}},
            "before_entry": {"condition": {"result": "FAIL", "rule": [window_rule("* * * ? * * *")]}},
        },
    )
    sim = Simulation(resource, world, start=at(2, 9))
    client, responses = sim.client, []
    first = start(sim, "c1")
    sim.advance(hours=1)
    second = start(sim, "c2")
    sim.advance(minutes=30)
    responses.append(("GetPipelineState", client.get_pipeline_state(name="demo")))
    responses.append(("GetPipeline", client.get_pipeline(name="demo")))
    for execution in (first, second):
        responses.append(
            ("GetPipelineExecution", client.get_pipeline_execution(pipelineName="demo", pipelineExecutionId=execution))
        )
        responses.append(
            (
                "ListActionExecutions",
                client.list_action_executions(pipelineName="demo", filter={"pipelineExecutionId": execution}),
            )
        )
    responses.append(("ListPipelineExecutions", client.list_pipeline_executions(pipelineName="demo", maxResults=2)))
    responses.append(
        (
            "ListPipelineExecutions",
            client.list_pipeline_executions(pipelineName="demo", filter={"succeededInStage": {"stageName": "Prod"}}),
        )
    )
    responses.append(
        (
            "StopPipelineExecution",
            client.stop_pipeline_execution(
                pipelineName="demo", pipelineExecutionId=sim.active()[0].id, abandon=True, reason="test"
            ),
        )
    )
    responses.append(
        ("RollbackStage", client.rollback_stage(pipelineName="demo", stageName="Prod", targetPipelineExecutionId=first))
    )
    assert len(responses) == 10
    for operation, response in responses:
        assert shape_problems(response, MODEL.operation_model(operation).output_shape) == [], operation


def test_parameters_are_validated_and_faults_injected():
    sim = Simulation(deployed_with_bake(), World(), start=at(2, 9))
    target = start(sim, "c1")
    sim.advance(hours=1)
    start(sim, "c2")
    sim.advance(hours=1)
    with pytest.raises(AssertionError, match="invalid parameters"):
        sim.client.rollback_stage(pipelineName="demo", stage="Prod", targetPipelineExecutionId=target)
    sim.client.fail("rollback_stage", "ConflictException")
    with pytest.raises(sim.client.exceptions.ConflictException):
        sim.client.rollback_stage(pipelineName="demo", stageName="Prod", targetPipelineExecutionId=target)
    assert len(sim.executions) == 2  # not applied
    sim.client.apply_then_time_out("rollback_stage")
    with pytest.raises(ReadTimeoutError):
        sim.client.rollback_stage(pipelineName="demo", stageName="Prod", targetPipelineExecutionId=target)
    assert sim.executions[-1].type == "ROLLBACK"  # applied, answer lost
    with pytest.raises(ClientError) as error:
        sim.client.get_pipeline_state(name="other")
    assert code(error) == "PipelineNotFoundException"


def test_a_session_stand_in_hands_out_the_client():
    sim = Simulation(pipeline(), World(), start=at(2, 9))
    sentinel = object()
    session = sim.session({"dynamodb": sentinel})
    assert session.client("codepipeline") is sim.client and session.client("dynamodb") is sentinel


def test_stop_and_abandon_ends_the_running_action():
    world = World()
    world.action("Deploy").succeed(after=30 * MIN)
    sim = Simulation(deployed_with_bake(), world, start=at(2, 9))
    execution = start(sim, "c1")
    sim.advance(minutes=5)
    sim.client.stop_pipeline_execution(pipelineName="demo", pipelineExecutionId=execution, abandon=True)
    assert states(sim, "Action", action="Deploy")[-1] == ("2026-03-02T09:05:00Z", "ABANDONED")
    assert states(sim, "Pipeline")[-1] == ("2026-03-02T09:05:00Z", "STOPPED")
    with pytest.raises(ClientError) as error:
        sim.client.stop_pipeline_execution(pipelineName="demo", pipelineExecutionId=execution)
    assert code(error) == "PipelineExecutionNotStoppableException"


def test_a_skip_result_skips_the_stage_and_the_execution_goes_on():
    world = World()
    world.alarm("health", initial="ALARM")
    sim = Simulation(gated(alarm_rule("Healthy", "health", "0"), result="SKIP"), world, start=at(2, 9))
    start(sim, "c1")
    sim.advance(minutes=10)
    assert sim.timeline.action_runs("Deploy") == []
    assert states(sim, "Pipeline")[-1] == ("2026-03-02T09:01:00Z", "SUCCEEDED")


@pytest.mark.parametrize("readings", Readings.combinations("stage_started_event_at"), ids=Readings.short)
def test_when_a_gated_stage_reports_started(readings):
    sim = Simulation(gated(window_rule()), World(), start=at(26, 7), readings=readings)
    start(sim, "c1")
    sim.advance(to=at(26, 10))
    expected = {"entry-condition": "2026-03-26T07:01:00Z", "first-action": "2026-03-26T09:00:00Z"}
    assert states(sim, "Stage", stage="Prod")[0] == (expected[readings.stage_started_event_at], "STARTED")


def test_a_rollback_execution_is_not_a_rollback_target():
    world = World()
    world.alarm("health").set("ALARM", at=at(2, 10, 5))
    sim = Simulation(deployed_with_bake(), world, start=at(2, 9))
    start(sim, "c1")
    sim.advance(to=at(2, 10))
    start(sim, "c2")
    sim.advance(to=at(2, 11))
    rollback = sim.executions[-1]
    with pytest.raises(ClientError) as error:
        sim.client.rollback_stage(pipelineName="demo", stageName="Prod", targetPipelineExecutionId=rollback.id)
    assert code(error) == "UnableToRollbackStageException"


# --- stage transitions ------------------------------------------------------------------
# Expected outcomes from "Working with stage transitions in CodePipeline"
# (https://docs.aws.amazon.com/codepipeline/latest/userguide/transitions.html).


def two_stages() -> dict:
    return pipeline({"name": "Build", "action": [build("Build")]}, {"name": "Prod", "action": [build("Deploy")]})


def transition(sim: Simulation, stage: str) -> dict:
    found = next(s for s in sim.client.get_pipeline_state(name="demo")["stageStates"] if s["stageName"] == stage)
    return found["inboundTransitionState"]


def test_a_disabled_transition_holds_later_revisions_and_the_one_already_past_it_goes_on():
    # "Any revisions that were already running in the stages that come after
    # the disabled transition continue through the pipeline, but any subsequent
    # revisions do not continue past the disabled transition."
    world = World()
    world.action("Deploy").succeed(after=30 * MIN).succeed(after=30 * MIN)
    sim = Simulation(two_stages(), world, start=at(2, 9), deploys={"Prod": {"Deploy"}})
    start(sim, "c1")
    sim.advance(to=at(2, 9, 5))  # c1 is deploying
    sim.client.disable_stage_transition(
        pipelineName="demo", stageName="Prod", transitionType="Inbound", reason="Frozen until Monday"
    )
    start(sim, "c2")
    sim.advance(to=at(2, 12))
    assert sim.timeline.running_on("Prod", at(2, 12)) == "c1"
    assert sim.timeline.entered("c2", "Prod") is None
    state = transition(sim, "Prod")
    assert state["enabled"] is False and state["disabledReason"] == "Frozen until Monday"
    assert state["lastChangedAt"] == at(2, 9, 5)
    # "If any revisions have been run through the earlier stages after the
    # transition was disabled, in a few moments, the pipeline starts running
    # the latest revision through the stages after the formerly disabled transition."
    sim.client.enable_stage_transition(pipelineName="demo", stageName="Prod", transitionType="Inbound")
    sim.advance(hours=1)
    assert sim.timeline.entered("c2", "Prod") == at(2, 12)
    assert sim.timeline.running_on("Prod", at(2, 13)) == "c2"
    assert transition(sim, "Prod")["enabled"] is True


@pytest.mark.parametrize(("days", "resumes"), [(30, True), (31, False)])
def test_a_transition_disabled_more_than_thirty_days_lets_nothing_through_until_a_new_change(days, resumes):
    # "Pipeline execution won't resume for a transition that has been disabled
    # more than 30 days unless a new change is detected or you manually rerun the pipeline."
    sim = Simulation(two_stages(), World(), start=at(2, 9), deploys={"Prod": {"Deploy"}})
    sim.client.disable_stage_transition(pipelineName="demo", stageName="Prod", transitionType="Inbound", reason="x")
    start(sim, "c1")
    sim.advance(to=at(2, 9) + timedelta(days=days))
    sim.client.enable_stage_transition(pipelineName="demo", stageName="Prod", transitionType="Inbound")
    sim.advance(hours=1)
    assert (sim.timeline.running_on("Prod", sim.now) == "c1") is resumes
    if not resumes:
        start(sim, "c2")
        sim.advance(hours=1)
        assert sim.timeline.running_on("Prod", sim.now) == "c2"


@pytest.mark.parametrize("readings", Readings.combinations("reenable_lets_through"), ids=Readings.short)
def test_revisions_queued_at_a_disabled_transition_the_latest_always_goes_through(readings):
    # QUEUED mode is not covered by the page (a reading): either every waiting
    # execution goes on in order, or only the latest. Under both, the latest
    # revision ends up deployed, and never an older one after it.
    sim = Simulation(two_stages(), World(), start=at(2, 9), readings=readings, deploys={"Prod": {"Deploy"}})
    sim.client.disable_stage_transition(pipelineName="demo", stageName="Prod", transitionType="Inbound", reason="x")
    for minute, commit in ((0, "c1"), (2, "c2"), (4, "c3")):
        sim.advance(to=at(2, 9, minute))
        start(sim, commit)
    sim.advance(to=at(2, 10))
    sim.client.enable_stage_transition(pipelineName="demo", stageName="Prod", transitionType="Inbound")
    sim.advance(hours=1)
    deployed = [d.revision for d in sim.timeline.deployments if d.stage == "Prod"]
    assert deployed == (["c1", "c2", "c3"] if readings.reenable_lets_through == "queue" else ["c3"])


def test_a_transition_reason_outside_the_documented_pattern_is_refused():
    sim = Simulation(two_stages(), World(), start=at(2, 9))
    with pytest.raises(ClientError) as error:
        sim.client.disable_stage_transition(
            pipelineName="demo", stageName="Prod", transitionType="Inbound", reason="frozen: until 2026-12-26"
        )
    assert code(error) == "ValidationException"
    assert transition(sim, "Prod")["enabled"] is True
