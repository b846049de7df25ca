"""The functions' handlers against moto: DynamoDB, SNS, CloudWatch.

moto implements none of CodePipeline's GetPipelineExecution, GetPipelineState
or RollbackStage, so those calls are answered by botocore's Stubber, which
also checks the exact parameters the functions send.

The deployments table is created from the synthesized core-test stack, so its
keys and index are exactly what Terraform creates.
"""

from __future__ import annotations

import datetime
import importlib
import json

import boto3
import jmespath
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from functions.shared.settings import SettingsError
from tests.support import events
from tests.support.tables import create_deployments_table

ENV = "test"
PIPELINE = "kiro-pipeline-test"
PIPELINE_ARN = f"arn:aws:codepipeline:us-east-1:123456789012:{PIPELINE}"
TABLE = "kiro-pipeline-test-deployments"
INDEX = "EnvironmentStatusIndex"
STAGING_ALARM = "kiro-pipeline-test-staging-health"


@pytest.fixture
def aws(aws_credentials):
    with mock_aws():
        create_deployments_table(ENV)
        yield


def fresh(module: str, monkeypatch, **environment):
    """Import a handler module as a cold start with `environment`."""
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    handler = importlib.import_module(module)
    handler.cold_start()  # settings are read at the first invocation, not at import
    return handler


def item(deployment_id: str) -> dict:
    found = boto3.resource("dynamodb").Table(TABLE).get_item(Key={"deploymentId": deployment_id})
    return found.get("Item")


def metric_sum(name: str) -> float:
    stats = boto3.client("cloudwatch").get_metric_statistics(
        Namespace="KiroPipeline",
        MetricName=name,
        Dimensions=[{"Name": "Environment", "Value": ENV}],
        StartTime=datetime.datetime(2020, 1, 1),
        EndTime=datetime.datetime(2100, 1, 1),
        Period=86400 * 365 * 80,
        Statistics=["Sum"],
    )
    return sum(point["Sum"] for point in stats["Datapoints"])


def metric_values(name: str) -> list[float]:
    stats = boto3.client("cloudwatch").get_metric_statistics(
        Namespace="KiroPipeline",
        MetricName=name,
        Dimensions=[{"Name": "Environment", "Value": ENV}],
        StartTime=datetime.datetime(2020, 1, 1),
        EndTime=datetime.datetime(2100, 1, 1),
        Period=86400 * 365 * 80,
        Statistics=["Maximum", "SampleCount"],
    )
    return [(p["Maximum"], p["SampleCount"]) for p in stats["Datapoints"]]


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


# --- deployment recorder ------------------------------------------------
@pytest.fixture
def recorder(aws, monkeypatch):
    module = fresh(
        "functions.deployment_recorder.handler",
        monkeypatch,
        TABLE_NAME=TABLE,
        PIPELINE_NAME=PIPELINE,
        ENVIRONMENT=ENV,
        METRICS_NAMESPACE="KiroPipeline",
        RECORD_TTL_DAYS="90",
    )
    stub = Stubber(module.recorder().codepipeline)
    stub.activate()
    module.stub = stub
    yield module
    stub.deactivate()


def expect_commit(recorder, execution_id="exec-1", commit="3f2a9c1"):
    recorder.stub.add_response(
        "get_pipeline_execution",
        {
            "pipelineExecution": {
                "pipelineExecutionId": execution_id,
                "artifactRevisions": [{"name": "SourceOutput", "revisionId": commit}],
            }
        },
        {"pipelineName": PIPELINE, "pipelineExecutionId": execution_id},
    )


def expect_source(
    recorder, execution_id="exec-1", author_date="2026-11-21T16:05:09+01:00", approval_status="Succeeded"
):
    """ListActionExecutions as the API answers it (the Stubber checks the shape
    against botocore's model): the Source action's output variables."""
    source = {
        "pipelineExecutionId": execution_id,
        "actionName": "GitHub",
        "stageName": "Source",
        "status": "Succeeded",
        "input": {
            "actionTypeId": {
                "category": "Source",
                "owner": "AWS",
                "provider": "CodeStarSourceConnection",
                "version": "1",
            },
            "namespace": "SourceVariables",
        },
        "output": {
            "outputVariables": {
                "AuthorDate": author_date,
                "BranchName": "main",
                "CommitId": "3f2a9c1e",
                "CommitMessage": "Fix the thing",
                "ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x",
                "FullRepositoryName": "your-org/kiro-codebuild-worker",
            }
        },
    }
    build = {**source, "actionName": "Build", "stageName": "Build", "output": {"outputVariables": {}}}
    build["input"] = {"actionTypeId": {**source["input"]["actionTypeId"], "category": "Build", "provider": "CodeBuild"}}
    approval = {
        "pipelineExecutionId": execution_id,
        "actionName": "ApproveProduction",
        "stageName": "ProductionEnv",
        "status": approval_status,
        "startTime": datetime.datetime(2026, 11, 22, 4, 0, tzinfo=datetime.UTC),
        "lastUpdateTime": datetime.datetime(2026, 11, 22, 4, 12, 30, tzinfo=datetime.UTC),
        "updatedBy": "arn:aws:sts::123456789012:assumed-role/ReleaseManagers/jane",
        "input": {"actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}},
    }
    recorder.stub.add_response(
        "list_action_executions",
        {"actionExecutionDetails": [approval, build, source]},
        {"pipelineName": PIPELINE, "filter": {"pipelineExecutionId": execution_id}, "maxResults": 100},
    )


class TestRecorder:
    def test_a_final_execution_records_its_commits_author_time_once(self, recorder):
        expect_commit(recorder)
        recorder.handler(events.execution("STARTED", "2026-11-22T03:44:00Z"))
        expect_source(recorder)
        recorder.handler(events.execution("SUCCEEDED", "2026-11-22T04:20:30Z"))
        recorder.stub.assert_no_pending_responses()
        record = item("exec-1")
        # AuthorDate's offset is normalized to UTC, the record's time format.
        assert record["commitAuthorTime"] == "2026-11-21T15:05:09Z" and record["commitId"] == "3f2a9c1"
        # The approval: requested, decided, by whom (the ListActionExecutions `updatedBy`), and how.
        assert {k: record[k] for k in ("approvalRequestedAt", "approvalDecidedAt", "approvedBy", "approvalResult")} == {
            "approvalRequestedAt": "2026-11-22T04:00:00Z",
            "approvalDecidedAt": "2026-11-22T04:12:30Z",
            "approvedBy": "arn:aws:sts::123456789012:assumed-role/ReleaseManagers/jane",
            "approvalResult": "APPROVED",
        }
        assert "failedAction" not in record
        # A duplicate final event does not ask again (no response is queued: a call would fail the Stubber).
        recorder.handler(events.execution("SUCCEEDED", "2026-11-22T04:20:30Z"))
        recorder.stub.assert_no_pending_responses()

    def test_each_stage_keeps_its_starts_and_ends_whatever_the_order(self, recorder):
        later_first = [
            events.stage("StagingEnv", "SUCCEEDED", "2026-11-22T04:10:00Z"),
            events.stage("StagingEnv", "STARTED", "2026-11-22T04:00:00Z"),
            events.stage("StagingEnv", "SUCCEEDED", "2026-11-22T04:10:00Z"),  # a duplicate
            events.stage("ProductionEnv", "STARTED", "2026-11-22T04:11:00Z"),
        ]
        for event in later_first:
            recorder.handler(event)
        record = item("exec-1")
        assert record["stageStarts"] == {"StagingEnv@2026-11-22T04:00:00Z", "ProductionEnv@2026-11-22T04:11:00Z"}
        assert record["stageEnds"] == {"StagingEnv@2026-11-22T04:10:00Z"}

    def test_a_retried_execution_keeps_the_facts_of_its_last_outcome(self, recorder):
        """Rejected, then retried and approved: the record ends APPROVED with no
        failed action, and the commit's author time is the first one read."""
        expect_commit(recorder)
        recorder.handler(events.execution("STARTED", "2026-11-22T03:44:00Z"))
        expect_source(recorder, approval_status="Failed")
        recorder.handler(events.execution("FAILED", "2026-11-22T04:20:30Z"))
        assert item("exec-1")["failedAction"] == "ProductionEnv/ApproveProduction"
        recorder.handler(events.execution("RESUMED", "2026-11-22T05:00:00Z"))
        expect_source(recorder, author_date="2026-11-22T09:00:00+00:00")
        recorder.handler(events.execution("SUCCEEDED", "2026-11-22T05:30:00Z"))
        recorder.stub.assert_no_pending_responses()
        record = item("exec-1")
        assert record["approvalResult"] == "APPROVED" and "failedAction" not in record
        assert record["commitAuthorTime"] == "2026-11-21T15:05:09Z"  # the source never changes
        assert record["actionsReadFor"] == "SUCCEEDED@2026-11-22T05:30:00Z"

    def test_an_unreadable_author_date_is_left_out_and_the_record_stands(self, recorder):
        expect_commit(recorder)
        recorder.handler(events.execution("STARTED", "2026-11-22T03:44:00Z"))
        expect_source(recorder, author_date="last Tuesday", approval_status="Failed")
        assert recorder.handler(events.execution("FAILED", "2026-11-22T04:20:30Z"))["result"] == "recorded"
        record = item("exec-1")
        assert "commitAuthorTime" not in record and record["status"] == "FAILED"
        # A rejection: the approval failed its stage.
        assert (record["approvalResult"], record["failedAction"]) == ("REJECTED", "ProductionEnv/ApproveProduction")

    def test_a_run_in_order(self, recorder):
        expect_commit(recorder)
        assert recorder.handler(events.execution("STARTED", "2026-11-22T03:44:00Z"))["result"] == "recorded"
        recorder.handler(events.stage("Build", "STARTED", "2026-11-22T03:45:00Z"))
        recorder.handler(events.stage("ProductionEnv", "SUCCEEDED", "2026-11-22T04:20:00Z"))
        assert recorder.handler(events.execution("SUCCEEDED", "2026-11-22T04:20:30Z"))["result"] == "recorded"

        record = item("exec-1")
        assert {
            k: record[k]
            for k in (
                "environment",
                "status",
                "startTime",
                "endTime",
                "commitId",
                "stage",
                "pipelineExecutionId",
                "triggerType",
            )
        } == {
            "environment": "test",
            "status": "SUCCEEDED",
            "startTime": "2026-11-22T03:44:00Z",
            "endTime": "2026-11-22T04:20:30Z",
            "commitId": "3f2a9c1",
            "stage": "ProductionEnv",
            "pipelineExecutionId": "exec-1",
            "triggerType": "WebhookV2",
        }
        start = datetime.datetime(2026, 11, 22, 3, 44, tzinfo=datetime.UTC)
        assert int(record["expiresAt"]) == int((start + datetime.timedelta(days=90)).timestamp())
        assert metric_sum("DeploymentSuccess") == 1
        assert metric_values("DeploymentDuration") == [(2190.0, 1.0)]
        recorder.stub.assert_no_pending_responses()

    def test_duplicates_change_nothing_and_count_once(self, recorder):
        expect_commit(recorder)
        recorder.handler(events.execution("STARTED", "2026-11-22T03:44:00Z"))
        assert recorder.handler(events.execution("FAILED", "2026-11-22T04:00:00Z"))["result"] == "recorded"
        before = item("exec-1")
        assert recorder.handler(events.execution("FAILED", "2026-11-22T04:00:00Z"))["result"] == "duplicate"
        assert recorder.handler(events.execution("STARTED", "2026-11-22T03:44:00Z"))["result"] == "duplicate"
        assert item("exec-1") == before
        assert metric_sum("DeploymentFailure") == 1
        assert len(metric_values("DeploymentDuration")) == 1

    def test_a_late_started_never_overwrites_the_final_state(self, recorder):
        assert recorder.handler(events.execution("SUCCEEDED", "2026-11-22T04:30:00Z"))["result"] == "recorded"
        assert item("exec-1")["startTime"] == "2026-11-22T04:30:00Z"  # provisional, so the index shows it
        assert metric_values("DeploymentDuration") == []  # start unknown: no made-up duration
        expect_commit(recorder)
        result = recorder.handler(events.execution("STARTED", "2026-11-22T04:00:00Z"))
        assert result == {"result": "recorded", "applied": ["start"]}
        record = item("exec-1")
        assert record["status"] == "SUCCEEDED"
        assert record["startTime"] == "2026-11-22T04:00:00Z"
        assert metric_values("DeploymentDuration") == [(1800.0, 1.0)]
        assert metric_sum("DeploymentSuccess") == 1

    def test_an_older_stage_event_does_not_replace_a_newer_one(self, recorder):
        recorder.handler(events.stage("StagingEnv", "STARTED", "2026-11-22T04:00:00Z"))
        recorder.handler(events.stage("TestEnv", "SUCCEEDED", "2026-11-22T03:59:00Z"))
        assert (item("exec-1")["stage"], item("exec-1")["stageStatus"]) == ("StagingEnv", "STARTED")

    def test_malformed_and_foreign_events_are_acknowledged_not_retried(self, recorder, capsys):
        result = recorder.handler(
            events.without(events.execution("STARTED", "2026-11-22T03:44:00Z"), "detail", "state")
        )
        assert result == {"result": "rejected", "reason": "detail.state is not a non-empty string"}
        other = recorder.handler(events.execution("STARTED", "2026-11-22T03:44:00Z", pipeline="kiro-pipeline-staging"))
        assert other["result"] == "ignored"
        assert boto3.client("dynamodb").scan(TableName=TABLE)["Items"] == []
        lines = log_lines(capsys)
        assert lines[0]["level"] == "ERROR" and lines[0]["message"] == "rejected malformed event"
        assert lines[0]["function"] == "deployment-recorder"

    def test_a_failed_commit_lookup_keeps_the_record(self, recorder, capsys):
        recorder.stub.add_client_error("get_pipeline_execution", "PipelineExecutionNotFoundException", "not yet")
        recorder.handler(events.execution("STARTED", "2026-11-22T03:44:00Z"))
        assert item("exec-1")["status"] == "IN_PROGRESS"
        assert "commitId" not in item("exec-1")
        assert any(line["message"] == "could not look up the commit" for line in log_lines(capsys))

    def test_the_runbooks_query_returns_newest_first(self, recorder):
        for index, start in enumerate(["2026-11-20T10:00:00Z", "2026-11-22T09:00:00Z", "2026-11-21T12:00:00Z"]):
            expect_commit(recorder, f"exec-{index}")
            recorder.handler(events.execution("STARTED", start, execution_id=f"exec-{index}"))
        recorder.handler(events.execution("SUCCEEDED", "2026-11-20T10:30:00Z", execution_id="exec-0"))
        # aws dynamodb query --index-name EnvironmentStatusIndex --key-condition-expression "environment = :env"
        #   --scan-index-forward false --limit 10 --query 'Items[*].[deploymentId.S,status.S,startTime.S]'
        response = boto3.client("dynamodb").query(
            TableName=TABLE,
            IndexName=INDEX,
            KeyConditionExpression="environment = :env",
            ExpressionAttributeValues={":env": {"S": ENV}},
            ScanIndexForward=False,
            Limit=10,
        )
        assert jmespath.search("Items[*].[deploymentId.S,status.S,startTime.S]", response) == [
            ["exec-1", "IN_PROGRESS", "2026-11-22T09:00:00Z"],
            ["exec-2", "IN_PROGRESS", "2026-11-21T12:00:00Z"],
            ["exec-0", "SUCCEEDED", "2026-11-20T10:00:00Z"],
        ]

    def test_settings_are_validated_at_cold_start(self, aws, monkeypatch):
        monkeypatch.delenv("TABLE_NAME", raising=False)
        module = fresh(
            "functions.deployment_recorder.handler",
            monkeypatch,
            PIPELINE_NAME=PIPELINE,
            ENVIRONMENT=ENV,
            METRICS_NAMESPACE="KiroPipeline",
            RECORD_TTL_DAYS="zero",
        )  # importing reads nothing; the first invocation does
        with pytest.raises(SettingsError) as caught:
            module.handler({"id": "e"})
        assert str(caught.value) == (
            "configuration error: TABLE_NAME is not set; RECORD_TTL_DAYS='zero' is invalid: "
            "invalid literal for int() with base 10: 'zero'"
        )


class MarkFailsOnce:
    """The recorder's DynamoDB client, except that the first write of
    `metricsPublished` fails, after PutMetricData has succeeded."""

    def __init__(self, client):
        self.client, self.armed = client, True

    def update_item(self, **request):
        if self.armed and request["UpdateExpression"].startswith("SET metricsPublished"):
            self.armed = False
            raise ClientError(
                {"Error": {"Code": "InternalServerError", "Message": "x"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
                "UpdateItem",
            )
        return self.client.update_item(**request)

    def __getattr__(self, name):
        return getattr(self.client, name)


def test_a_failed_published_mark_never_publishes_the_outcome_twice(recorder):
    """Lambda retries the event after the mark failed: PutMetricData has no
    idempotency, so a second publication would count the deployment twice."""
    expect_commit(recorder)
    recorder.handler(events.execution("STARTED", "2026-11-22T03:44:00Z"))
    store = recorder.recorder().store
    store.dynamodb = MarkFailsOnce(store.dynamodb)
    succeeded = events.execution("SUCCEEDED", "2026-11-22T04:20:30Z")
    with pytest.raises(ClientError):
        recorder.handler(succeeded)
    assert metric_sum("DeploymentSuccess") == 1
    recorder.handler(succeeded)  # the retry of the same event (same id)
    recorder.handler(succeeded)
    assert metric_sum("DeploymentSuccess") == 1
    assert metric_values("DeploymentDuration") == [(2190.0, 1.0)]
    assert item("exec-1")["metricsPublished"] == "SUCCEEDED@2026-11-22T04:20:30Z"
