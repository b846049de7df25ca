"""The execution-age function: what the duration alarm watches, so a hung
execution alarms while it hangs (runbook Incident 3). CloudWatch is moto;
ListPipelineExecutions and ListActionExecutions come from the
parameter-validating fake (moto lacks them)."""

from __future__ import annotations

import datetime

import boto3
import pytest
from moto import mock_aws

from deployment_recorder import age
from tests.support.fake_codepipeline import FakeCodePipeline

UTC = datetime.UTC
NOW = datetime.datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def minutes_ago(minutes: float) -> datetime.datetime:
    return NOW - datetime.timedelta(minutes=minutes)


def approval(start, end=None, status="Succeeded"):
    return {
        "actionName": "ApproveProduction",
        "status": status,
        "startTime": start,
        "lastUpdateTime": end or NOW,
        "input": {"actionTypeId": {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}},
    }


def build(start, end):
    return {
        "actionName": "Build",
        "status": "Succeeded",
        "startTime": start,
        "lastUpdateTime": end,
        "input": {"actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"}},
    }


@pytest.fixture
def world(aws_credentials, monkeypatch):
    with mock_aws():
        for name, value in {
            "PIPELINE_NAME": "kiro-pipeline-test",
            "ENVIRONMENT": "test",
            "METRICS_NAMESPACE": "KiroPipeline",
        }.items():
            monkeypatch.setenv(name, value)
        age.config.cache_clear()
        fake = FakeCodePipeline("kiro-pipeline-test")
        monkeypatch.setattr(age, "_pipeline", age.Pipeline("kiro-pipeline-test"))
        age._pipeline.codepipeline = fake
        monkeypatch.setattr(age, "_cloudwatch", None)
        yield fake


def published() -> list[float]:
    stats = boto3.client("cloudwatch").get_metric_statistics(
        Namespace="KiroPipeline",
        MetricName="ExecutionAge",
        Dimensions=[{"Name": "Environment", "Value": "test"}],
        StartTime=datetime.datetime(2000, 1, 1),
        EndTime=datetime.datetime(2101, 1, 1),
        Period=86400 * 365 * 100,
        Statistics=["Maximum", "SampleCount"],
    )
    return [(p["Maximum"], p["SampleCount"]) for p in stats["Datapoints"]]


def test_nothing_running_publishes_zero(world):
    assert age.handler({}, now=NOW)["ExecutionAge"] == 0
    assert published() == [(0.0, 1.0)]


def test_a_hung_execution_reports_its_age(world):
    world.executions = [
        {"pipelineExecutionId": "e1", "status": "InProgress", "startTime": minutes_ago(95)},
        {"pipelineExecutionId": "e0", "status": "Succeeded", "startTime": minutes_ago(300)},
    ]
    world.actions = {"e1": [build(minutes_ago(95), minutes_ago(90))]}
    assert age.handler({}, now=NOW)["ExecutionAge"] == 95 * 60
    assert (
        "list_action_executions",
        {"pipelineName": "kiro-pipeline-test", "filter": {"pipelineExecutionId": "e1"}},
    ) in world.calls


def test_time_waiting_for_approval_does_not_count(world):
    world.executions = [{"pipelineExecutionId": "e1", "status": "InProgress", "startTime": minutes_ago(600)}]
    # Approved after 8 hours of waiting; now deploying for 70 minutes more... and a second wait still open.
    world.actions = {
        "e1": [approval(minutes_ago(590), minutes_ago(110)), approval(minutes_ago(30), status="InProgress")]
    }
    assert age.handler({}, now=NOW)["ExecutionAge"] == (600 - 480 - 30) * 60


def test_the_oldest_of_several_running_executions_wins(world):
    world.executions = [
        {"pipelineExecutionId": f"e{n}", "status": "InProgress", "startTime": minutes_ago(10 * n)} for n in range(1, 4)
    ]
    assert age.handler({}, now=NOW) == {"result": "published", "ExecutionAge": 1800, "running": 3}


def test_settings_are_read_at_the_first_invocation_not_at_import(world, monkeypatch):
    monkeypatch.delenv("PIPELINE_NAME")
    age.config.cache_clear()
    from shared.settings import SettingsError

    with pytest.raises(SettingsError, match="PIPELINE_NAME is not set"):
        age.config()
