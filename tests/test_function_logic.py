"""The functions' decision logic: pure, no AWS, no jsii."""

from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest

from deployment_recorder import logic as recorder
from rollback import logic as rollback
from tests.support import events

PIPELINE = "kiro-pipeline-test"
ALARMS = {"kiro-pipeline-test-staging-health": "StagingEnv", "kiro-pipeline-test-production-health": "ProductionEnv"}


def plan(event):
    return recorder.plan(recorder.parse(event), pipeline=PIPELINE, environment="test", ttl_days=90)


class TestRecorderParsing:
    def test_execution_event(self):
        parsed = recorder.parse(events.execution("STARTED", "2026-11-22T03:44:00Z"))
        assert parsed == recorder.Event(
            kind="execution",
            pipeline=PIPELINE,
            execution_id="exec-1",
            state="STARTED",
            time="2026-11-22T03:44:00Z",
            stage=None,
            trigger_type="WebhookV2",
        )

    def test_stage_event(self):
        parsed = recorder.parse(events.stage("TestEnv", "FAILED", "2026-11-22T03:50:00+00:00"))
        assert (parsed.kind, parsed.stage, parsed.state, parsed.time) == ("stage", "TestEnv", "FAILED", "2026-11-22T03:50:00Z")

    @pytest.mark.parametrize(
        "event, reason",
        [
            ("not a dict", "not a JSON object"),
            ({"detail-type": "EC2 Instance State-change Notification", "detail": {}}, "not a pipeline or stage"),
            (events.without(events.execution("STARTED", "2026-11-22T03:44:00Z"), "detail"), "no detail"),
            (events.without(events.execution("STARTED", "2026-11-22T03:44:00Z"), "detail", "execution-id"), "execution-id"),
            (events.without(events.stage("Build", "STARTED", "2026-11-22T03:44:00Z"), "detail", "stage"), "stage"),
            (events.execution("EXPLODED", "2026-11-22T03:44:00Z"), "unknown state"),
            (events.execution("STARTED", "yesterday"), "not an ISO-8601"),
        ],
    )
    def test_malformed_events_are_named(self, event, reason):
        with pytest.raises(recorder.MalformedEvent, match=reason):
            recorder.parse(event)


class TestRecorderPlans:
    def test_other_pipelines_are_ignored(self):
        decision = plan(events.execution("STARTED", "2026-11-22T03:44:00Z", pipeline="someone-else"))
        assert isinstance(decision, recorder.Ignored)
        assert "someone-else" in decision.reason

    def test_started_sets_status_and_the_real_start(self):
        decision = plan(events.execution("STARTED", "2026-11-22T03:44:00Z"))
        status, start = decision.updates
        assert status.set_values["status"] == "IN_PROGRESS" and status.set_values["statusRank"] == 1
        assert status.condition == "attribute_not_exists(statusRank) OR statusRank < :rank"
        assert status.set_if_absent["startTime"] == "2026-11-22T03:44:00Z"
        ninety_days_later = datetime(2027, 2, 20, 3, 44, tzinfo=timezone.utc)
        assert status.set_if_absent["expiresAt"] == int(ninety_days_later.timestamp())
        assert start.set_values == {"startTime": "2026-11-22T03:44:00Z", "startedAt": "2026-11-22T03:44:00Z"}
        assert start.condition == "attribute_not_exists(startedAt)"
        assert decision.started and not decision.final

    @pytest.mark.parametrize("state, status", [("SUCCEEDED", "SUCCEEDED"), ("FAILED", "FAILED"), ("STOPPED", "STOPPED"),
                                               ("SUPERSEDED", "SUPERSEDED"), ("CANCELED", "CANCELED")])
    def test_final_states_end_the_record(self, state, status):
        decision = plan(events.execution(state, "2026-11-22T04:10:00Z"))
        (update,) = decision.updates
        assert update.set_values["status"] == status
        assert update.set_values["statusRank"] == recorder.FINAL_RANK
        assert update.set_values["endTime"] == "2026-11-22T04:10:00Z"
        assert decision.final

    def test_ranks_only_move_forward(self):
        ranks = [recorder.STATUS[s][1] for s in ("STARTED", "STOPPING", "STOPPED")]
        assert ranks == sorted(ranks) and len(set(ranks)) == 3

    def test_stage_updates_keep_the_newest(self):
        (update,) = plan(events.stage("StagingEnv", "SUCCEEDED", "2026-11-22T04:00:00Z")).updates
        assert update.set_values["stage"] == "StagingEnv" and update.set_values["stageStatus"] == "SUCCEEDED"
        assert update.condition == "attribute_not_exists(stageUpdatedAt) OR stageUpdatedAt <= :time"

    def test_outcome_metrics(self):
        assert recorder.outcome_metrics("SUCCEEDED") == {"DeploymentSuccess": 1}
        assert recorder.outcome_metrics("FAILED") == {"DeploymentFailure": 1}
        assert recorder.outcome_metrics("SUPERSEDED") == {}

    def test_duration_needs_both_ends(self):
        assert recorder.duration_seconds({"startedAt": "2026-11-22T03:44:00Z", "endTime": "2026-11-22T04:14:30Z"}) == 1830
        assert recorder.duration_seconds({"endTime": "2026-11-22T04:14:30Z"}) is None


class TestRollbackDecisions:
    def test_an_alarm_of_ours_entering_alarm_requests_a_rollback(self):
        decision = rollback.decide(events.alarm(), ALARMS)
        assert decision == rollback.RollbackRequest(
            rollback_id="rollback#kiro-pipeline-test-staging-health#2026-11-22T05:00:00Z",
            alarm="kiro-pipeline-test-staging-health",
            stage="StagingEnv",
            reason=events.alarm()["detail"]["state"]["reason"],
            time="2026-11-22T05:00:00Z",
        )

    def test_duplicates_share_one_rollback_id(self):
        assert rollback.decide(events.alarm(), ALARMS).rollback_id == rollback.decide(events.alarm(), ALARMS).rollback_id
        later = rollback.decide(events.alarm(timestamp="2026-11-22T06:00:00.000+0000"), ALARMS)
        assert later.rollback_id != rollback.decide(events.alarm(), ALARMS).rollback_id

    def test_foreign_alarms_and_recoveries_are_ignored(self):
        foreign = rollback.decide(events.alarm(name="kiro-pipeline-test-failures"), ALARMS)
        assert foreign == rollback.Ignored("alarm 'kiro-pipeline-test-failures' does not trigger rollbacks")
        ok = rollback.decide(events.alarm(value="OK"), ALARMS)
        assert ok == rollback.Ignored("alarm 'kiro-pipeline-test-staging-health' is OK, not ALARM")

    @pytest.mark.parametrize(
        "event, reason",
        [
            ([], "not a JSON object"),
            ({**events.alarm(), "detail-type": "Something Else"}, "not an alarm state change"),
            (events.without(events.alarm(), "detail", "alarmName"), "alarmName"),
            (events.without(events.alarm(), "detail", "state", "timestamp"), "timestamp"),
            (events.alarm(timestamp="later"), "not a timestamp"),
        ],
    )
    def test_malformed_events_are_named(self, event, reason):
        with pytest.raises(rollback.MalformedEvent, match=reason):
            rollback.decide(event, ALARMS)


def record(execution, status, start):
    return {"deploymentId": execution, "pipelineExecutionId": execution, "status": status, "startTime": start}


class TestRollbackTarget:
    def test_current_deployment_and_the_last_success_before_it(self):
        history = [
            record("e4", "SUCCEEDED", "2026-11-22T04:00:00Z"),
            {"deploymentId": "rollback#x#t", "status": "ROLLBACK_FAILED", "startTime": "2026-11-22T03:30:00Z"},
            record("e3", "FAILED", "2026-11-22T03:00:00Z"),
            record("e2", "SUCCEEDED", "2026-11-22T02:00:00Z"),
            record("e1", "SUCCEEDED", "2026-11-22T01:00:00Z"),
        ]
        assert rollback.choose_target(history) == rollback.Target("e4", "e2")

    def test_no_earlier_success(self):
        result = rollback.choose_target([record("e2", "IN_PROGRESS", "t2"), record("e1", "FAILED", "t1")])
        assert result == rollback.NoTarget("no successful deployment before e2 is recorded")
        assert rollback.choose_target([]) == rollback.NoTarget("no deployment of this environment is recorded")

    def test_rollback_in_progress(self):
        assert rollback.rollback_in_progress({"latestExecution": {"type": "ROLLBACK", "status": "InProgress"}})
        assert not rollback.rollback_in_progress({"latestExecution": {"type": "STANDARD", "status": "InProgress"}})
        assert not rollback.rollback_in_progress({"latestExecution": {"type": "ROLLBACK", "status": "Succeeded"}})
        assert not rollback.rollback_in_progress(None)

    def test_manual_command_is_the_runbook_command(self):
        assert rollback.manual_command(PIPELINE, "StagingEnv", "e2") == (
            "aws codepipeline rollback-stage --pipeline-name kiro-pipeline-test --stage-name StagingEnv "
            "--target-pipeline-execution-id e2"
        )
        assert "list-pipeline-executions" in rollback.manual_command(PIPELINE, "StagingEnv", None)


def test_every_order_of_a_runs_events_plans_the_same_final_status():
    """The plans of a run's events, in any order, always include the final
    status and the real start; what applies is decided by their conditions."""
    run = [
        events.execution("STARTED", "2026-11-22T03:44:00Z"),
        events.execution("STOPPING", "2026-11-22T03:50:00Z"),
        events.execution("STOPPED", "2026-11-22T03:51:00Z"),
    ]
    for order in itertools.permutations(run):
        plans = [plan(e) for e in order]
        assert max(u.set_values.get("statusRank", 0) for p in plans for u in p.updates) == recorder.FINAL_RANK
