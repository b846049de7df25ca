"""The rollback function on its bad days, on moto (DynamoDB, SNS) with a
parameter-validating fake for the CodePipeline APIs moto lacks
(tests/support/fake_codepipeline.py): which execution it rolls back and to
what, duplicates and re-fired alarms, a stage CodePipeline is busy with, lost
acknowledgements, throttling, timeouts after the call, and every record
ending in a state that says what happened.
"""

from __future__ import annotations

import datetime
import importlib
import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from tests.support import events
from tests.support.fake_codepipeline import FakeCodePipeline, StageRun, client_error, timeout
from tests.support.tables import all_items, create_deployments_table

ENV = "test"
PIPELINE = "kiro-pipeline-test"
PIPELINE_ARN = f"arn:aws:codepipeline:us-east-1:123456789012:{PIPELINE}"
INDEX = "EnvironmentStatusIndex"
ALARM = "kiro-pipeline-test-staging-health"
STAGE = "StagingEnv"


@pytest.fixture
def world(aws_credentials, monkeypatch):
    """moto + the fake pipeline + a freshly imported rollback handler."""
    with mock_aws():
        table = create_deployments_table(ENV)
        sns, sqs = boto3.client("sns"), boto3.client("sqs")
        topic = sns.create_topic(Name="kiro-pipeline-test-rollbacks")["TopicArn"]
        queue = sqs.create_queue(QueueName="reader")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        for name, value in {
            "TABLE_NAME": table,
            "TABLE_INDEX": INDEX,
            "PIPELINE_ARN": PIPELINE_ARN,
            "TOPIC_ARN": topic,
            "ENVIRONMENT": ENV,
            "RECORD_TTL_DAYS": "90",
            "ARTIFACT_EXPIRATION_DAYS": "90",
            "ROLLBACK_ALARMS": json.dumps({ALARM: STAGE}),
        }.items():
            monkeypatch.setenv(name, value)
        handler = importlib.import_module("functions.rollback.handler")
        handler.cold_start()
        # The alarms of these scenarios fire on 2026-11-22.
        monkeypatch.setattr(handler, "now", lambda: datetime.datetime(2026, 11, 22, 12, tzinfo=datetime.UTC))
        pipeline = FakeCodePipeline(PIPELINE)
        handler.aws().codepipeline = pipeline
        sleeps: list[float] = []
        monkeypatch.setattr(handler, "sleep", sleeps.append)

        class World:
            pass

        w = World()
        w.handler, w.pipeline, w.table, w.sleeps = handler, pipeline, table, sleeps

        def pages():
            messages = []
            while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
                for m in batch:
                    messages.append(json.loads(m["Body"]))
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
            return messages

        w.pages = pages
        w.records = lambda: {i["deploymentId"]: i for i in all_items(table)}
        yield w


def record(table, execution, start, status="SUCCEEDED", stages=(STAGE,), execution_type=None, **extra):
    item = {
        "deploymentId": execution,
        "pipelineExecutionId": execution,
        "environment": ENV,
        "status": status,
        "startTime": start,
        **extra,
    }
    if stages:
        item["succeededStages"] = set(stages)
    if execution_type:
        item["executionType"] = execution_type
    boto3.resource("dynamodb").Table(table).put_item(Item=item)


def history(w):
    """e1 and e2 good in StagingEnv; rb-0 a rollback execution; e3 is what
    StagingEnv runs now; e4 a newer push that has not reached StagingEnv."""
    record(w.table, "e1", "2026-11-20T10:00:00Z", stages=("TestEnv", STAGE, "ProductionEnv"))
    record(w.table, "e2", "2026-11-21T10:00:00Z", status="FAILED", stages=("TestEnv", STAGE))
    record(
        w.table,
        "rb-0",
        "2026-11-21T11:00:00Z",
        stages=(STAGE,),
        execution_type="ROLLBACK",
        triggerType="AutomatedRollback",
    )
    record(w.table, "e3", "2026-11-22T04:00:00Z", status="SUCCEEDED", stages=("TestEnv", STAGE, "ProductionEnv"))
    record(w.table, "e4", "2026-11-22T04:50:00Z", status="IN_PROGRESS", stages=("TestEnv",))
    w.pipeline.stages[STAGE] = StageRun("e3", "Succeeded")


def no_record_left_started(w):
    started = [k for k, r in w.records().items() if r.get("status") == "ROLLBACK_STARTED"]
    assert started == [], f"records left at ROLLBACK_STARTED: {started}"


KEY = f"rollback#{STAGE}#e3"


class TestTarget:
    def test_the_stage_is_rolled_back_from_what_it_runs_to_the_newest_older_success(self, world):
        history(world)
        result = world.handler.handler(events.alarm())
        assert result["result"] == "rolled-back"
        # Not e4 (newer, not in the stage), not rb-0 (a rollback), not e3 (current).
        assert world.pipeline.rollbacks() == [
            {"pipelineName": PIPELINE, "stageName": STAGE, "targetPipelineExecutionId": "e2"}
        ]
        saved = world.records()[KEY]
        assert (saved["status"], saved["rolledBackExecutionId"], saved["targetExecutionId"]) == (
            "ROLLBACK_IN_PROGRESS",
            "e3",
            "e2",
        )
        (page,) = world.pages()
        assert page["Subject"] == "Rollback Initiated: kiro-pipeline-test StagingEnv"
        no_record_left_started(world)

    def test_history_is_read_across_pages(self, world):
        w = world
        record(w.table, "old-good", "2026-11-01T00:00:00Z")  # within the artifacts' 90 days
        for n in range(130):  # three pages of failures in between
            record(w.table, f"bad-{n:03}", f"2026-11-10T00:{n // 60:02}:{n % 60:02}Z", status="FAILED", stages=())
        record(w.table, "e3", "2026-11-22T04:00:00Z")
        w.pipeline.stages[STAGE] = StageRun("e3")
        assert w.handler.handler(events.alarm())["result"] == "rolled-back"
        assert w.pipeline.rollbacks()[0]["targetPipelineExecutionId"] == "old-good"

    def test_no_earlier_success_pages_with_the_manual_command(self, world):
        record(world.table, "e3", "2026-11-22T04:00:00Z")
        world.pipeline.stages[STAGE] = StageRun("e3")
        result = world.handler.handler(events.alarm())
        assert result["result"] == "failed"
        assert world.records()[KEY]["failureReason"] == "no earlier execution in which StagingEnv succeeded is recorded"
        assert world.pages()[0]["Subject"].startswith("Manual rollback needed")
        assert world.pipeline.rollbacks() == []


class TestOnePerDeployment:
    def test_a_duplicate_delivery_rolls_back_once(self, world):
        history(world)
        world.handler.handler(events.alarm())
        # The stage now runs the rollback: the copy finds it busy, and leaves it.
        assert world.handler.handler(events.alarm())["result"] == "skipped"
        assert world.handler.handler(events.alarm())["result"] == "duplicate"
        assert len(world.pipeline.rollbacks()) == 1 and len(world.pages()) == 1

    def test_an_alarm_that_fires_again_while_the_rollback_runs_is_left_alone(self, world):
        history(world)
        world.handler.handler(events.alarm())
        again = events.alarm(timestamp="2026-11-22T05:07:00.000+0000")
        assert world.handler.handler(again)["result"] == "skipped"
        assert len(world.pipeline.rollbacks()) == 1
        assert len(world.pages()) == 1  # no page for the skip

    def test_an_alarm_after_a_completed_rollback_pages_and_does_not_roll_back_again(self, world):
        history(world)
        world.handler.handler(events.alarm())
        world.pipeline.stages[STAGE].status = "Succeeded"  # the rollback finished; still unhealthy
        again = events.alarm(timestamp="2026-11-22T06:00:00.000+0000")
        assert world.handler.handler(again)["result"] == "failed"
        assert world.handler.handler(again)["result"] == "duplicate"
        assert len(world.pipeline.rollbacks()) == 1
        subjects = [p["Subject"] for p in world.pages()]
        assert subjects == [
            "Rollback Initiated: kiro-pipeline-test StagingEnv",
            "Manual rollback needed: kiro-pipeline-test StagingEnv",
        ]
        no_record_left_started(world)

    @pytest.mark.parametrize("status", ["InProgress", "Stopping"])
    def test_a_stage_codepipeline_is_busy_with_is_left_to_it_without_a_page(self, world, status):
        history(world)
        world.pipeline.stages[STAGE] = StageRun("e3", status)  # deploying, baking or rolling back
        result = world.handler.handler(events.alarm())
        assert result["result"] == "skipped"
        assert world.pipeline.rollbacks() == [] and world.pages() == []
        (skip,) = [r for r in world.records().values() if r["deploymentId"].startswith("rollback#")]
        assert skip["status"] == "SKIPPED_STAGE_IN_PROGRESS"


class TestFaults:
    def test_a_lost_acknowledgement_of_the_claim_still_rolls_back_once(self, world):
        history(world)
        dynamodb = world.handler.aws().store.dynamodb
        real_put = dynamodb.put_item
        state = {"lost": False}

        def put_then_lose_the_answer(**params):
            response = real_put(**params)
            if not state["lost"]:
                state["lost"] = True
                raise timeout()
            return response

        dynamodb.put_item = put_then_lose_the_answer
        assert world.handler.handler(events.alarm())["result"] == "rolled-back"
        assert len(world.pipeline.rollbacks()) == 1
        assert world.records()[KEY]["status"] == "ROLLBACK_IN_PROGRESS"

    @pytest.mark.parametrize("code", ["ThrottlingException", "ConflictException", "ServiceUnavailableException"])
    def test_transient_errors_are_retried_before_anything_is_declared_failed(self, world, code):
        history(world)
        world.pipeline.fail("get_pipeline_state", client_error(code), times=2)
        world.pipeline.fail("rollback_stage", client_error(code), times=3)
        assert world.handler.handler(events.alarm())["result"] == "rolled-back"
        assert len(world.sleeps) == 5 and all(s <= 5 for s in world.sleeps)

    def test_throttling_that_outlasts_the_retries_fails_the_record_it_does_not_strand_it(self, world):
        history(world)
        world.pipeline.fail("rollback_stage", client_error("ThrottlingException"), times=50)
        result = world.handler.handler(events.alarm())
        assert result["result"] == "failed"
        assert world.records()[KEY]["status"] == "ROLLBACK_FAILED"
        assert "Throttling" in world.records()[KEY]["failureReason"]
        no_record_left_started(world)

    def test_a_timeout_after_rollback_stage_is_resolved_by_reading_the_stage(self, world):
        history(world)
        world.pipeline.apply_then_time_out("rollback_stage")
        result = world.handler.handler(events.alarm())
        assert result == {"result": "rolled-back", "rollbackExecutionId": "rb-1", "notified": True}
        assert len(world.pipeline.rollbacks()) == 1  # not called a second time
        assert world.records()[KEY]["rollbackExecutionId"] == "rb-1"

    def test_a_timeout_with_nothing_applied_fails_with_the_manual_command(self, world):
        history(world)
        world.pipeline.fail("rollback_stage", timeout(), times=1)
        result = world.handler.handler(events.alarm())
        assert result["result"] == "failed"
        assert "timed out, and no rollback is running" in world.records()[KEY]["failureReason"]
        assert "--target-pipeline-execution-id e2" in world.records()[KEY]["manualCommand"]

    def test_a_conflict_because_a_rollback_already_runs_is_not_a_page_for_a_person(self, world):
        history(world)
        original = world.pipeline.rollback_stage

        def codepipeline_started_its_own(**params):
            world.pipeline.stages[STAGE] = StageRun("native-rb", "InProgress", "ROLLBACK")
            return original(**params)

        world.pipeline.rollback_stage = codepipeline_started_its_own
        result = world.handler.handler(events.alarm())
        assert result["result"] == "rolled-back" and result["rollbackExecutionId"] == "native-rb"
        assert [p["Subject"] for p in world.pages()] == ["Rollback Initiated: kiro-pipeline-test StagingEnv"]

    def test_a_record_write_that_keeps_failing_is_finished_by_the_retry(self, world):
        history(world)
        dynamodb = world.handler.aws().store.dynamodb
        real_update = dynamodb.update_item
        throttled = ClientError(
            {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "UpdateItem"
        )
        dynamodb.update_item = lambda **params: (_ for _ in ()).throw(throttled)
        with pytest.raises(ClientError):
            world.handler.handler(events.alarm())  # Lambda retries the event
        assert world.records()[KEY]["status"] == "ROLLBACK_STARTED"
        dynamodb.update_item = real_update
        assert world.handler.handler(events.alarm())["result"] == "resumed"
        assert world.records()[KEY]["status"] == "ROLLBACK_IN_PROGRESS"
        assert world.records()[KEY]["rollbackExecutionId"] == "rb-1"
        assert len(world.pipeline.rollbacks()) == 1
        no_record_left_started(world)


class TestEverydayCases:
    @pytest.mark.parametrize("event", [events.alarm(name="kiro-pipeline-test-failures"), events.alarm(value="OK")])
    def test_foreign_alarms_and_recoveries_do_nothing(self, world, event):
        assert world.handler.handler(event)["result"] == "ignored"
        assert world.records() == {} and world.pages() == [] and world.pipeline.calls == []

    def test_an_sns_failure_after_the_rollback_keeps_the_record(self, world):
        history(world)
        boto3.client("sns").delete_topic(TopicArn=world.handler.config()["TOPIC_ARN"])
        result = world.handler.handler(events.alarm())
        assert result == {"result": "rolled-back", "rollbackExecutionId": "rb-1", "notified": False}
        assert world.records()[KEY]["status"] == "ROLLBACK_IN_PROGRESS"

    def test_the_page_says_how_to_follow_and_find_the_record(self, world):
        history(world)
        world.handler.handler(events.alarm())
        (page,) = world.pages()
        assert "Rolling back to: e2" in page["Message"]
        assert '"deploymentId":{"S":"rollback#StagingEnv#e3"}' in page["Message"]

    def test_the_runbook_sees_the_rollback_first(self, world):
        history(world)
        world.handler.handler(events.alarm(timestamp="2026-11-22T23:00:00.000+0000"))
        response = boto3.client("dynamodb").query(
            TableName=world.table,
            IndexName=INDEX,
            KeyConditionExpression="environment = :env",
            ExpressionAttributeValues={":env": {"S": ENV}},
            ScanIndexForward=False,
            Limit=1,
        )
        assert [(i["deploymentId"]["S"], i["status"]["S"]) for i in response["Items"]] == [
            (KEY, "ROLLBACK_IN_PROGRESS")
        ]

    def test_settings_are_validated_at_cold_start(self, world, monkeypatch):
        from functions.shared.settings import SettingsError

        monkeypatch.delenv("TABLE_NAME")
        monkeypatch.setenv("RECORD_TTL_DAYS", "zero")
        handler = importlib.import_module("functions.rollback.handler")
        handler.cold_start()  # importing reads nothing; the first invocation does
        with pytest.raises(SettingsError, match="TABLE_NAME is not set; RECORD_TTL_DAYS='zero' is invalid"):
            handler.handler(events.alarm())


class TestReviewFindings:
    """Faults an independent review found; each test failed before its fix."""

    def test_a_refusal_whose_claim_answer_was_lost_is_still_recorded_and_paged(self, world):
        history(world)
        world.pipeline.stages[STAGE] = StageRun("rb-9", "Succeeded", "ROLLBACK")  # rolled back, still unhealthy
        dynamodb = world.handler.aws().store.dynamodb
        real_put, lost = dynamodb.put_item, []

        def put_then_lose_the_answer(**params):
            response = real_put(**params)
            if not lost:
                lost.append(True)
                raise timeout()
            return response

        dynamodb.put_item = put_then_lose_the_answer
        assert world.handler.handler(events.alarm())["result"] == "failed"
        assert [p["Subject"] for p in world.pages()] == ["Manual rollback needed: kiro-pipeline-test StagingEnv"]
        no_record_left_started(world)

    def test_a_throttled_history_page_is_retried(self, world):
        history(world)
        dynamodb = world.handler.aws().store.dynamodb
        real_query, throttled = dynamodb.query, []

        def throttle_once(**params):
            if not throttled:
                throttled.append(True)
                raise ClientError(
                    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "Query"
                )
            return real_query(**params)

        dynamodb.query = throttle_once
        assert world.handler.handler(events.alarm())["result"] == "rolled-back"
        assert world.pipeline.rollbacks()[0]["targetPipelineExecutionId"] == "e2"

    def test_a_deployment_once_rolled_back_out_of_the_stage_is_never_a_target(self, world):
        history(world)
        world.handler.handler(events.alarm())  # e3 -> e2
        # e5 is deployed on top, passes the stage, and goes bad.
        record(world.table, "e5", "2026-11-23T04:00:00Z", stages=("TestEnv", STAGE))
        world.pipeline.stages[STAGE] = StageRun("e5", "Succeeded")
        later = events.alarm(timestamp="2026-11-23T05:00:00.000+0000")
        assert world.handler.handler(later)["result"] == "rolled-back"
        # Not e3: it was rolled back out of StagingEnv once already.
        assert world.pipeline.rollbacks()[1]["targetPipelineExecutionId"] == "e2"

    def test_a_rollback_finished_by_a_retry_is_announced(self, world):
        history(world)
        dynamodb = world.handler.aws().store.dynamodb
        real_update = dynamodb.update_item
        dynamodb.update_item = lambda **params: (_ for _ in ()).throw(
            ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "UpdateItem")
        )
        with pytest.raises(ClientError):
            world.handler.handler(events.alarm())
        dynamodb.update_item = real_update
        assert world.handler.handler(events.alarm())["result"] == "resumed"
        assert [p["Subject"] for p in world.pages()] == ["Rollback Initiated: kiro-pipeline-test StagingEnv"]

    def test_a_delivery_that_loses_the_settle_to_the_live_attempt_is_a_duplicate(self, world):
        """Parallel deliveries without reserved concurrency: the attempt that
        started the rollback is still alive and settles its record first. The
        delivery that found the rollback running, and the record unfinished,
        did not announce it: it is a duplicate, not a second "resumed"."""
        history(world)
        dynamodb = world.handler.aws().store.dynamodb
        real_update = dynamodb.update_item
        dynamodb.update_item = lambda **params: (_ for _ in ()).throw(
            ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "UpdateItem")
        )
        with pytest.raises(ClientError):
            world.handler.handler(events.alarm())  # started rb-1, died before settling
        dynamodb.update_item = real_update
        store = world.handler.aws().store
        real_settle = store.settle

        def the_live_attempt_settles_first(key, from_status, token, **values):
            real_settle(key, from_status, "the-live-attempt", **values)
            return real_settle(key, from_status, token, **values)

        store.settle = the_live_attempt_settles_first
        assert world.handler.handler(events.alarm())["result"] == "duplicate"
        assert world.pages() == []


class TestStructureVersionArtifactsAndFaults:
    """Issue 21's defects, each with the documentation it rests on:

    - "The pipeline can only roll back to a previous execution if the previous
      execution was started in the current pipeline structure version" (user
      guide, "Configure stage rollback");
    - a rollback execution reuses "the variables and artifacts from the
      execution to which it is rolling back", and the artifacts bucket deletes
      them after its expiration (90 days here);
    - RollbackStage answers an outdated target with UnableToRollbackStageException
      or PipelineExecutionOutdatedException (API reference, RollbackStage, Errors).
    """

    def good_then_current(self, w, good_version=3, current_version=3, good_start="2026-11-20T10:00:00Z"):
        record(w.table, "good", good_start, pipelineVersion=good_version, commitId="c0ffee1234567890")
        record(w.table, "e3", "2026-11-22T04:00:00Z", pipelineVersion=current_version)
        w.pipeline.stages[STAGE] = StageRun("e3", "Succeeded")
        w.pipeline.version = current_version

    def test_a_target_of_the_current_version_is_rolled_back_to(self, world):
        self.good_then_current(world)
        assert world.handler.handler(events.alarm())["result"] == "rolled-back"
        assert world.pipeline.rollbacks()[0]["targetPipelineExecutionId"] == "good"

    def test_a_target_of_an_older_version_is_refused_and_the_page_gives_the_way_back(self, world):
        self.good_then_current(world, good_version=2, current_version=3)
        result = world.handler.handler(events.alarm())
        assert result["result"] == "fallback"
        assert world.pipeline.rollbacks() == []  # RollbackStage would be refused: not called
        (page,) = world.pages()
        assert page["Subject"].startswith("Rollback impossible: release the last good commit")
        body = page["Message"]
        assert "ran in pipeline version 2, not the current 3" in body
        assert (
            "aws codepipeline start-pipeline-execution --name kiro-pipeline-test --source-revisions "
            "actionName=GitHub,revisionType=COMMIT_ID,revisionValue=c0ffee1234567890"
        ) in body
        # StagingEnv: the test and staging incident gates may need their audited overrides.
        assert "python -m ops override test --stage TestGate" in body
        assert "python -m ops override test --stage StagingGate" in body
        assert "ProductionGate" not in body and "approve" not in body
        saved = world.records()["rollback#StagingEnv#e3"]
        assert (saved["status"], saved["fallbackCommit"]) == ("ROLLBACK_FAILED", "c0ffee1234567890")
        no_record_left_started(world)

    def test_a_target_whose_artifacts_expire_is_refused(self, world):
        # 90-day artifacts; the alarm is judged on 2026-11-22 (the world's clock).
        self.good_then_current(world, good_start="2026-08-24T10:00:00Z")  # 90 days less 2 hours before
        assert world.handler.handler(events.alarm())["result"] == "fallback"
        assert "artifacts expire 90 days after its start" in world.pages()[0]["Message"]

    @pytest.mark.parametrize("code", ["UnableToRollbackStageException", "PipelineExecutionOutdatedException"])
    def test_an_outdated_target_refused_by_aws_falls_back(self, world, code):
        self.good_then_current(world)
        world.pipeline.fail("rollback_stage", client_error(code, "target is outdated", "RollbackStage"))
        assert world.handler.handler(events.alarm())["result"] == "fallback"
        (page,) = world.pages()
        assert page["Subject"].startswith("Rollback impossible") and code in page["Message"]

    def test_a_failed_stage_is_not_rolled_back_to_what_already_runs(self, world):
        self.good_then_current(world)
        world.pipeline.stages[STAGE] = StageRun("e3", "Failed")
        assert world.handler.handler(events.alarm())["result"] == "failed"
        assert world.pipeline.rollbacks() == []
        (page,) = world.pages()
        assert page["Subject"].startswith("Manual rollback needed") and "is Failed" in page["Message"]
        assert "Rollback Initiated" not in page["Subject"]

    @pytest.mark.parametrize("code", ["AccessDeniedException", "PipelineNotFoundException", "ValidationException"])
    def test_a_permanent_error_reading_the_stage_records_and_pages(self, world, code):
        self.good_then_current(world)
        world.pipeline.fail("get_pipeline_state", client_error(code, "no", "GetPipelineState"), times=10)
        result = world.handler.handler(events.alarm())  # does not raise: no retry would help
        assert result["result"] == "failed"
        (page,) = world.pages()
        assert f"GetPipelineState on {PIPELINE} failed: {code}" in page["Message"]
        (saved,) = [r for k, r in world.records().items() if k.startswith("rollback#")]
        assert saved["status"] == "ROLLBACK_FAILED"

    def test_a_transient_error_reading_the_stage_is_retried_by_lambda(self, world):
        self.good_then_current(world)
        world.pipeline.fail("get_pipeline_state", client_error("ThrottlingException", "slow down"), times=100)
        with pytest.raises(ClientError):
            world.handler.handler(events.alarm())
        assert world.pages() == [] and not [k for k in world.records() if k.startswith("rollback#")]

    def test_a_duplicate_of_the_alarm_after_the_rollback_finished_is_only_a_duplicate(self, world):
        self.good_then_current(world)
        assert world.handler.handler(events.alarm())["result"] == "rolled-back"
        world.pages()
        # The rollback execution ran and finished; the recorder has its record.
        (rollback_id,) = [s.execution_id for s in world.pipeline.stages.values()]
        record(world.table, rollback_id, "2026-11-22T05:01:00Z", execution_type="ROLLBACK")
        world.pipeline.stages[STAGE] = StageRun(rollback_id, "Succeeded", "ROLLBACK")
        assert world.handler.handler(events.alarm())["result"] == "duplicate"
        assert world.pages() == []
        failed = [r for r in world.records().values() if r.get("status") == "ROLLBACK_FAILED"]
        assert failed == []

    def test_a_new_alarm_after_the_rollback_still_pages(self, world):
        self.good_then_current(world)
        world.handler.handler(events.alarm())
        world.pages()
        (rollback_id,) = [s.execution_id for s in world.pipeline.stages.values()]
        record(world.table, rollback_id, "2026-11-22T05:01:00Z", execution_type="ROLLBACK")
        world.pipeline.stages[STAGE] = StageRun(rollback_id, "Succeeded", "ROLLBACK")
        later = events.alarm(timestamp="2026-11-22T06:00:00.000+0000")  # ALARM again, after the rollback
        assert world.handler.handler(later)["result"] == "failed"
        assert "still unhealthy" in world.pages()[0]["Message"]

    def test_five_parallel_deliveries_make_one_rollback_and_one_page(self, world):
        """Without relying on the function's reserved concurrency of 1: the
        claim (a conditional put) lets one delivery through."""
        import threading
        from concurrent.futures import ThreadPoolExecutor

        self.good_then_current(world)
        # DynamoDB applies each conditional write atomically; moto's backend
        # does not under threads. One lock per call restores that guarantee
        # (and no more: the handler's calls still interleave freely).
        dynamodb = world.handler.aws().store.dynamodb
        lock, call = threading.Lock(), dynamodb._make_api_call

        def atomic(operation, params):
            with lock:
                return call(operation, params)

        dynamodb._make_api_call = atomic
        with ThreadPoolExecutor(max_workers=5) as pool:
            results = list(pool.map(lambda _: world.handler.handler(events.alarm()), range(5)))
        # One delivery announces the rollback (the one that started it, or one
        # that found it started and settled the record first); the rest are duplicates.
        outcomes = sorted(r["result"] for r in results)
        assert len([o for o in outcomes if o in ("rolled-back", "resumed")]) == 1, outcomes
        # One rollback execution started (a second RollbackStage, if a
        # delivery raced to it, was refused: the stage was busy).
        assert world.pipeline.stages[STAGE].execution_id == "rb-1" and next(world.pipeline._ids) == "rb-2"
        assert [p["Subject"] for p in world.pages()] == ["Rollback Initiated: kiro-pipeline-test StagingEnv"]
