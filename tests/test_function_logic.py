"""The functions' decision logic: pure, no AWS, no jsii."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.deployment_recorder import logic as recorder
from functions.rollback import logic as rollback
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
            version=3,  # the events' `detail.version`: the pipeline structure version
        )

    @pytest.mark.parametrize(
        "value, expected", [(3, 3), ("7", 7), (2.0, 2), (True, None), (0, None), (-1, None), ("3a", None), (None, None)]
    )
    def test_the_structure_version_is_a_positive_whole_number_or_left_out(self, value, expected):
        event = events.execution("STARTED", "2026-11-22T03:44:00Z")
        event["detail"]["version"] = value
        assert recorder.parse(event).version == expected

    def test_stage_event(self):
        parsed = recorder.parse(events.stage("TestEnv", "FAILED", "2026-11-22T03:50:00+00:00"))
        assert (parsed.kind, parsed.stage, parsed.state, parsed.time) == (
            "stage",
            "TestEnv",
            "FAILED",
            "2026-11-22T03:50:00Z",
        )

    @pytest.mark.parametrize(
        "event, reason",
        [
            ("not a dict", "not a JSON object"),
            ({"detail-type": "EC2 Instance State-change Notification", "detail": {}}, "not a pipeline or stage"),
            (events.without(events.execution("STARTED", "2026-11-22T03:44:00Z"), "detail"), "no detail"),
            (
                events.without(events.execution("STARTED", "2026-11-22T03:44:00Z"), "detail", "execution-id"),
                "execution-id",
            ),
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
        assert status.condition == (
            "attribute_not_exists(updatedAt) OR updatedAt < :time OR (updatedAt = :time AND statusRank < :rank)"
        )
        assert status.remove == ("endTime",)
        assert status.set_if_absent["startTime"] == "2026-11-22T03:44:00Z"
        ninety_days_later = datetime(2027, 2, 20, 3, 44, tzinfo=UTC)
        assert start.set_values == {
            "startTime": "2026-11-22T03:44:00Z",
            "startedAt": "2026-11-22T03:44:00Z",
            "expiresAt": int(ninety_days_later.timestamp()),
        }
        assert start.set_if_absent["executionType"] == "STANDARD"
        assert start.condition == "attribute_not_exists(startedAt)"
        assert decision.check_metrics

    @pytest.mark.parametrize(
        "state, status",
        [
            ("SUCCEEDED", "SUCCEEDED"),
            ("FAILED", "FAILED"),
            ("STOPPED", "STOPPED"),
            ("SUPERSEDED", "SUPERSEDED"),
            ("CANCELED", "CANCELED"),
        ],
    )
    def test_final_states_end_the_record(self, state, status):
        decision = plan(events.execution(state, "2026-11-22T04:10:00Z"))
        (update,) = decision.updates
        assert update.set_values["status"] == status
        assert update.set_values["statusRank"] == recorder.FINAL_RANK
        assert update.set_values["endTime"] == "2026-11-22T04:10:00Z"
        assert update.remove == ()
        assert decision.check_metrics

    def test_a_resumed_run_is_in_progress_again(self):
        (update,) = plan(events.execution("RESUMED", "2026-11-22T04:20:00Z")).updates
        assert update.set_values["status"] == "IN_PROGRESS" and update.remove == ("endTime",)

    def test_rollback_triggers_make_a_rollback_execution(self):
        event = events.execution("STARTED", "2026-11-22T04:20:00Z")
        for trigger, kind in (
            ("AutomatedRollback", "ROLLBACK"),
            ("ManualRollback", "ROLLBACK"),
            ("WebhookV2", "STANDARD"),
        ):
            event["detail"]["execution-trigger"] = {"trigger-type": trigger}
            assert recorder.parse(event).execution_type == kind

    def test_pending_metrics_come_from_the_record(self):
        done = {
            "status": "SUCCEEDED",
            "updatedAt": "t2",
            "startedAt": "2026-11-22T03:00:00Z",
            "endTime": "2026-11-22T03:10:00Z",
        }
        assert recorder.pending_metrics(done) == recorder.Metrics("SUCCEEDED@t2", {"DeploymentSuccess": 1}, 600)
        assert recorder.pending_metrics({**done, "metricsPublished": "SUCCEEDED@t2"}) is None
        assert recorder.pending_metrics({**done, "metricsFor": "SUCCEEDED@t2"}) is not None  # claimed, not published
        assert recorder.pending_metrics({**done, "metricsPublished": "FAILED@t1"}) is not None
        assert recorder.pending_metrics({**done, "startedAt": None}) is None  # waits for STARTED
        assert recorder.pending_metrics({**done, "status": "IN_PROGRESS"}) is None
        rollback_run = recorder.pending_metrics({**done, "executionType": "ROLLBACK"})
        assert (rollback_run.counts, rollback_run.duration) == ({"RollbackCount": 1}, None)

    def test_ranks_only_move_forward(self):
        ranks = [recorder.STATUS[s][1] for s in ("STARTED", "STOPPING", "STOPPED")]
        assert ranks == sorted(ranks) and len(set(ranks)) == 3

    def test_stage_updates_keep_the_newest_and_collect_successes(self):
        update, succeeded = plan(events.stage("StagingEnv", "SUCCEEDED", "2026-11-22T04:00:00Z")).updates
        assert update.set_values["stage"] == "StagingEnv" and update.set_values["stageStatus"] == "SUCCEEDED"
        assert update.condition == "attribute_not_exists(stageUpdatedAt) OR stageUpdatedAt <= :time"
        assert succeeded.add_to_sets == {
            "succeededStages": ("StagingEnv",),
            "stageEnds": ("StagingEnv@2026-11-22T04:00:00Z",),
        }
        assert succeeded.condition is None
        update, timed = plan(events.stage("StagingEnv", "FAILED", "2026-11-22T04:00:00Z")).updates
        assert update.purpose == "stage" and timed.add_to_sets == {"stageEnds": ("StagingEnv@2026-11-22T04:00:00Z",)}
        _, started = plan(events.stage("StagingEnv", "STARTED", "2026-11-22T03:50:00Z")).updates
        assert started.add_to_sets == {"stageStarts": ("StagingEnv@2026-11-22T03:50:00Z",)}
        (only,) = plan(events.stage("StagingEnv", "STOPPING", "2026-11-22T04:00:00Z")).updates
        assert only.purpose == "stage"  # not an end yet

    def test_outcome_metrics(self):
        # Only a deploy that failed is a DeploymentFailure (the -failures alarm).
        assert recorder.outcome_metrics("DEPLOYED") == {"DeploymentSuccess": 1}
        assert recorder.outcome_metrics("DEPLOY_FAILED") == {"DeploymentFailure": 1}
        assert recorder.outcome_metrics("REJECTED") == {"ReleaseRejected": 1}
        assert recorder.outcome_metrics("APPROVAL_TIMED_OUT") == {"ApprovalTimedOut": 1}
        assert recorder.outcome_metrics("BLOCKED_BY_GATE") == {"ReleaseBlockedByGate": 1}
        assert recorder.outcome_metrics("BUILD_FAILED") == {"BuildFailure": 1}
        assert recorder.outcome_metrics("CANCELED") == {"ExecutionCanceledByUpdate": 1}
        assert recorder.outcome_metrics("SUPERSEDED") == {} and recorder.outcome_metrics(None) == {}

    def test_duration_needs_both_ends(self):
        assert (
            recorder.duration_seconds({"startedAt": "2026-11-22T03:44:00Z", "endTime": "2026-11-22T04:14:30Z"}) == 1830
        )
        assert recorder.duration_seconds({"endTime": "2026-11-22T04:14:30Z"}) is None


class TestRollbackDecisions:
    def test_an_alarm_of_ours_entering_alarm_requests_a_rollback(self):
        decision = rollback.decide(events.alarm(), ALARMS)
        assert decision == rollback.RollbackRequest(
            alarm="kiro-pipeline-test-staging-health",
            stage="StagingEnv",
            reason=events.alarm()["detail"]["state"]["reason"],
            time="2026-11-22T05:00:00Z",
        )
        assert decision.alarm_key == "rollback#kiro-pipeline-test-staging-health#2026-11-22T05:00:00Z"

    def test_one_rollback_key_per_stage_and_deployment(self):
        assert rollback.Deployed("e3").key("StagingEnv") == "rollback#StagingEnv#e3"
        first = rollback.decide(events.alarm(), ALARMS)
        later = rollback.decide(events.alarm(timestamp="2026-11-22T06:00:00.000+0000"), ALARMS)
        assert first.alarm_key != later.alarm_key  # transitions differ; the deployment key does not

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
            (events.alarm(timestamp="later"), "not an ISO-8601 timestamp"),
            (events.alarm(timestamp="9999-01-01T00:00:00.000+0000"), "outside 2000-2100"),
        ],
    )
    def test_malformed_events_are_named(self, event, reason):
        with pytest.raises(rollback.MalformedEvent, match=reason):
            rollback.decide(event, ALARMS)


def record(execution, status, start, stages=None, **extra):
    found = {"deploymentId": execution, "pipelineExecutionId": execution, "status": status, "startTime": start, **extra}
    if stages is not None:
        found["succeededStages"] = set(stages)
    return found


class TestRollbackTarget:
    HISTORY = [
        record("e5", "IN_PROGRESS", "2026-11-22T05:00:00Z", stages=()),  # newer, not in the stage yet
        record("e4", "SUCCEEDED", "2026-11-22T04:00:00Z"),  # what the stage runs
        {"deploymentId": "rollback#StagingEnv#e0", "status": "ROLLBACK_FAILED", "startTime": "2026-11-22T03:30:00Z"},
        record("rb", "SUCCEEDED", "2026-11-22T03:10:00Z", executionType="ROLLBACK"),
        record("e3", "FAILED", "2026-11-22T03:00:00Z", stages=("TestEnv",)),  # failed before StagingEnv
        record("e2", "FAILED", "2026-11-22T02:00:00Z", stages=("TestEnv", "StagingEnv")),  # StagingEnv was fine
        record("e1", "SUCCEEDED", "2026-11-22T01:00:00Z"),
    ]

    def test_the_newest_older_standard_execution_that_passed_the_stage(self):
        assert rollback.choose_target(self.HISTORY, "StagingEnv", "e4") == rollback.Target("e4", "e2")
        assert rollback.choose_target(self.HISTORY, "ProductionEnv", "e4") == rollback.Target("e4", "e1")

    def test_the_current_execution_must_be_recorded(self):
        assert rollback.choose_target(self.HISTORY, "StagingEnv", "zzz") == rollback.NoTarget(
            "execution zzz running in StagingEnv has no deployment record"
        )

    def test_no_earlier_success(self):
        result = rollback.choose_target(
            [record("e2", "IN_PROGRESS", "t2"), record("e1", "FAILED", "t1")], "TestEnv", "e2"
        )
        assert result == rollback.NoTarget("no earlier execution in which TestEnv succeeded is recorded")

    def test_reads_only_as_far_as_it_needs(self):
        read = []

        def records():
            for r in self.HISTORY:
                read.append(r["deploymentId"])
                yield r
            raise AssertionError("read past the answer")

        rollback.choose_target(records(), "ProductionEnv", "e4")
        assert read[-1] == "e1"

    def test_what_the_stage_is_doing_decides(self):
        def state(status, kind="STANDARD"):
            return {"latestExecution": {"pipelineExecutionId": "x", "status": status, "type": kind}}

        assert rollback.assess(state("Succeeded")) == rollback.Deployed("x")
        assert rollback.assess(state("Succeeded"), 4) == rollback.Deployed("x", 4)
        # A failed or stopped stage deployed nothing that stands: rolling
        # "back" would redeploy what runs (and announce it).
        assert isinstance(rollback.assess(state("Failed")), rollback.Refuse)
        assert isinstance(rollback.assess(state("Stopped")), rollback.Refuse)
        assert isinstance(rollback.assess(state("InProgress")), rollback.Skip)
        assert isinstance(rollback.assess(state("InProgress", "ROLLBACK")), rollback.Skip)
        assert isinstance(rollback.assess(state("Succeeded", "ROLLBACK")), rollback.Refuse)
        assert isinstance(rollback.assess(None), rollback.Skip)

    def test_manual_command_is_the_runbook_command(self):
        assert rollback.manual_command(PIPELINE, "StagingEnv", "e2") == (
            "aws codepipeline rollback-stage --pipeline-name kiro-pipeline-test --stage-name StagingEnv "
            "--target-pipeline-execution-id e2"
        )
        assert "list-pipeline-executions" in rollback.manual_command(PIPELINE, "StagingEnv", None)


def test_the_metrics_token_is_the_event_id_on_every_redelivery():
    from functions.deployment_recorder import logic as recorder_logic

    assert recorder_logic.metrics_token({"id": "evt-1"}, "req-1") == "evt-1"
    assert recorder_logic.metrics_token({"id": "evt-1"}, "req-2") == "evt-1"
    for event in ({}, {"id": ""}, {"id": 7}):
        assert recorder_logic.metrics_token(event, "req-1") == "req-1"


def test_the_record_helpers_write_the_contracts_time_key_and_expiry():
    from datetime import timedelta

    from functions.shared import records

    moment = datetime(2026, 11, 22, 3, 4, 5, tzinfo=UTC)
    assert records.format_time(moment) == "2026-11-22T03:04:05Z"
    assert records.parse_time("2026-11-22T03:04:05Z") == moment
    expires = records.expires_at("2026-11-22T03:04:05Z", 90)
    assert isinstance(expires, int) and expires == int((moment + timedelta(days=90)).timestamp())
    assert records.key("e-1") == {"deploymentId": {"S": "e-1"}}
    assert records.is_deployment("e-1")
    assert not records.is_deployment("rollback#StagingEnv#e-1")
    assert not records.is_deployment("notification#m-1")


def test_the_statuses_the_recorder_and_ledger_write_are_the_contracts():
    """`ops deployments --status` offers the contract's statuses (it no longer
    imports the recorder's or the incident ledger's packages): they must be
    exactly what those functions write."""
    from functions.incident_recorder import handler as incidents
    from functions.shared import records

    assert {status for status, _ in recorder.STATUS.values()} == set(records.EXECUTION_STATUSES)
    assert {incidents.OPEN, incidents.RESOLVED} == set(records.INCIDENT_STATUSES)
