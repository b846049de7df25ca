"""`python -m ops override`, end to end: the audit record on moto's DynamoDB,
the announcement on moto's SNS (read back through an SQS subscription), and
OverrideStageCondition through botocore's Stubber (moto has no CodePipeline
state or condition APIs), which checks the exact request against the model."""

from __future__ import annotations

import json
from decimal import Decimal

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from environments import load
from functions.shared import records
from ops import cli, common
from tests.support.sessions import StubbingSession
from tests.support.tables import all_items, create_contract_table
from topology import naming

CONFIG = load("production")
NAMES = CONFIG.names
STAGE = naming.DEPLOY_STAGES["production"]


@pytest.fixture
def aws(aws_credentials, monkeypatch):
    with mock_aws():
        session = StubbingSession(stubbed_services=["codepipeline"])
        monkeypatch.setattr(common, "session", lambda region, profile: session)
        create_contract_table(boto3.client("dynamodb"), NAMES.deployments_table)
        yield session


@pytest.fixture
def inbox(aws):
    """An SQS queue subscribed to the deployments topic: what the team would read."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=NAMES.topic("deployments"))["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)

    def read() -> list[dict]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


def held_at_entry(stub, execution="e5", rules=(("NotDuringAnIncident", "Failed"), ("InChangeWindow", "InProgress"))):
    """ProductionEnv, with `execution` waiting at its entry condition."""
    stub.add_response(
        "get_pipeline_state",
        {
            "pipelineName": NAMES.pipeline,
            "stageStates": [
                {
                    "stageName": STAGE,
                    "inboundExecution": {"pipelineExecutionId": execution, "status": "InProgress"},
                    "latestExecution": {"pipelineExecutionId": "e4", "status": "Succeeded"},
                    "beforeEntryConditionState": {
                        "latestExecution": {"status": "InProgress", "summary": "waiting"},
                        "conditionStates": [
                            {
                                "ruleStates": [
                                    {"ruleName": name, "latestExecution": {"status": status}} for name, status in rules
                                ]
                            }
                        ],
                    },
                }
            ],
        },
        {"name": NAMES.pipeline},
    )


def expect_override(stub, execution="e5", condition="BEFORE_ENTRY"):
    stub.add_response(
        "override_stage_condition",
        {},
        {
            "pipelineName": NAMES.pipeline,
            "stageName": STAGE,
            "pipelineExecutionId": execution,
            "conditionType": condition,
        },
    )


def run(capsys, *argv):
    code = cli.main(["override", "production", "--stage", STAGE, *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def audit_records():
    return [i for i in all_items(NAMES.deployments_table) if i[records.KEY].startswith(records.OVERRIDE_PREFIX)]


def test_an_override_is_audited_before_it_is_made_and_announced(aws, inbox, capsys):
    stub = aws.stub("codepipeline")
    held_at_entry(stub)
    expect_override(stub)
    code, out, err = run(capsys, "--reason", "Hotfix for INC-42: the incident itself")
    assert code == 0, err
    stub.assert_no_pending_responses()
    (record,) = audit_records()
    assert record["status"] == "OVERRIDDEN" and record["reason"] == "Hotfix for INC-42: the incident itself"
    assert record["pipelineExecutionId"] == "e5" and record["conditionType"] == "BEFORE_ENTRY"
    assert record["overriddenBy"].startswith("arn:aws:")  # the caller's identity, from STS
    assert record["rules"] == {"NotDuringAnIncident": "Failed", "InChangeWindow": "InProgress"}
    assert record[records.INDEX_PARTITION] == "production"
    assert isinstance(record[records.EXPIRES], Decimal)  # a DynamoDB Number, as TTL needs
    assert not records.is_deployment(record[records.KEY])  # never counted as a deployment
    (message,) = inbox()
    assert message["Subject"] == f"Stage condition overridden: {NAMES.pipeline} {STAGE}"
    assert "Hotfix for INC-42" in message["Message"] and "NotDuringAnIncident Failed" in message["Message"]
    assert "overridden for execution e5" in out and "announced on the deployments topic" in out


@pytest.mark.parametrize("reason", ["", "   ", "\n"])
def test_an_empty_reason_is_refused_before_anything_happens(aws, capsys, reason):
    code, _, err = run(capsys, "--reason", reason)
    assert code == 2 and "--reason must say why" in err
    aws.stub("codepipeline").assert_no_pending_responses()  # nothing was asked of CodePipeline
    assert audit_records() == []


def test_the_bake_condition_overrides_the_execution_in_the_stage(aws, inbox, capsys):
    stub = aws.stub("codepipeline")
    held_at_entry(stub)
    expect_override(stub, execution="e4", condition="ON_SUCCESS")
    code, _, err = run(capsys, "--condition", "on-success", "--reason", "alarm is a false positive: INC-43")
    assert code == 0, err
    assert audit_records()[0]["pipelineExecutionId"] == "e4"


def test_a_refused_override_is_recorded_as_failed_and_says_why(aws, inbox, capsys):
    stub = aws.stub("codepipeline")
    held_at_entry(stub)
    stub.add_client_error(
        "override_stage_condition", "ConditionNotOverridableException", "The condition is not in progress"
    )
    code, _, err = run(capsys, "--reason", "Hotfix for INC-42")
    assert code == 1 and "ConditionNotOverridableException" in err
    (record,) = audit_records()
    assert record["status"] == "OVERRIDE_FAILED" and "not in progress" in record["failureReason"]
    assert inbox() == []  # nothing was overridden, so nothing is announced


def test_no_audit_no_override(aws, capsys, monkeypatch):
    stub = aws.stub("codepipeline")
    held_at_entry(stub)  # and no override_stage_condition response: a call would fail the Stubber
    dynamodb = aws.client("dynamodb")
    denied = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no PutItem"}}, "PutItem")
    monkeypatch.setattr(dynamodb, "put_item", lambda **p: (_ for _ in ()).throw(denied))
    code, _, err = run(capsys, "--reason", "Hotfix for INC-42")
    assert code == 1 and "no audit, no override" in err
    stub.assert_no_pending_responses()


def test_an_unannounced_override_still_stands_and_says_so(aws, capsys):
    stub = aws.stub("codepipeline")  # no topic exists: the publish fails
    held_at_entry(stub)
    expect_override(stub)
    code, out, _ = run(capsys, "--reason", "Hotfix for INC-42")
    assert code == 0 and "not announced on the deployments topic" in out and "tell the team" in out
    assert audit_records()[0]["status"] == "OVERRIDDEN"


def test_nothing_held_means_nothing_to_override(aws, capsys):
    stub = aws.stub("codepipeline")
    stub.add_response(
        "get_pipeline_state", {"pipelineName": NAMES.pipeline, "stageStates": [{"stageName": STAGE}]}, None
    )
    code, _, err = run(capsys, "--reason", "Hotfix for INC-42")
    assert code == 1 and "no execution is at ProductionEnv's before-entry condition" in err
    assert audit_records() == []
