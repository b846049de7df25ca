"""`python -m ops override`, end to end: the audit record on moto's DynamoDB,
the announcement on moto's SNS (read back through an SQS subscription), and
OverrideStageCondition through botocore's Stubber (moto has no CodePipeline
state or condition APIs), which checks the exact request against the model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
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
# The incident gate, and the stage that bakes: each condition has its own stage.
GATE = naming.INCIDENT_GATE_STAGES["production"]
BAKE = naming.DEPLOY_STAGES["production"]


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


def held_at_entry(
    stub,
    execution="e5",
    rules=(("NotDuringAnIncident", "InProgress"),),
    baking="Succeeded",
    stage=GATE,
):
    """`stage` (the production incident gate), with `execution` waiting at
    its entry condition."""
    stub.add_response(
        "get_pipeline_state",
        {
            "pipelineName": NAMES.pipeline,
            "stageStates": [
                {
                    "stageName": stage,
                    "inboundExecution": {"pipelineExecutionId": execution, "status": "InProgress"},
                    "latestExecution": {"pipelineExecutionId": "e4", "status": "InProgress"},
                    "onSuccessConditionState": {"latestExecution": {"status": baking, "summary": "bake"}},
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


def expect_override(stub, execution="e5", condition="BEFORE_ENTRY", stage=GATE):
    stub.add_response(
        "override_stage_condition",
        {},
        {
            "pipelineName": NAMES.pipeline,
            "stageName": stage,
            "pipelineExecutionId": execution,
            "conditionType": condition,
        },
    )


def run(capsys, *argv):
    stage = BAKE if "on-success" in argv else GATE
    code = cli.main(["override", "production", "--stage", stage, *argv])
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
    assert record["rules"] == {"NotDuringAnIncident": "InProgress"}  # the gate alone: the window is not waived
    assert record[records.INDEX_PARTITION] == "production"
    assert isinstance(record[records.EXPIRES], Decimal)  # a DynamoDB Number, as TTL needs
    assert not records.is_deployment(record[records.KEY])  # never counted as a deployment
    (message,) = inbox()
    assert message["Subject"] == f"Stage condition overridden: {NAMES.pipeline} {GATE}"
    assert "Hotfix for INC-42" in message["Message"] and "NotDuringAnIncident InProgress" in message["Message"]
    assert "overridden for execution e5" in out and "announced on the deployments topic" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (("--reason", ""), "argument --reason: the reason is empty"),
        (("--reason", "   "), "argument --reason: the reason is empty"),
        (("--reason", "\n"), "argument --reason: the reason is empty"),
        # OverrideStageCondition's pipelineExecutionId is a UUID: AWS would refuse it after the audit.
        (("--reason", "Hotfix", "--execution", "e5"), "argument --execution: 'e5' is not a pipeline execution ID"),
        (("--reason", "Hotfix", "--condition", "after"), "argument --condition: 'after' is not a condition"),
    ],
)
def test_a_usage_error_is_refused_before_anything_happens(aws, capsys, argv, message):
    """Exit 2 from the parser: no call, and so no audit record left behind."""
    with pytest.raises(SystemExit) as caught:
        run(capsys, *argv)
    assert caught.value.code == 2 and message in capsys.readouterr().err
    aws.stub("codepipeline").assert_no_pending_responses()  # nothing was asked of CodePipeline
    assert audit_records() == []


def test_stage_and_condition_are_read_in_any_case(aws, inbox, capsys):
    stub = aws.stub("codepipeline")
    held_at_entry(stub)
    expect_override(stub)
    code = cli.main(["override", "production", "--stage", GATE.lower(), "--condition", "Before-Entry", "--reason", "x"])
    assert code == 0, capsys.readouterr().err
    assert audit_records()[0]["stage"] == GATE


def lose_the_first_answer(aws, monkeypatch):
    """PutItem is applied, its answer lost, and the SDK's retry meets its own
    record: ConditionalCheckFailedException (what a dropped connection after
    a successful write looks like to the caller)."""
    dynamodb = aws.client("dynamodb")
    real = dynamodb.put_item

    def applied_then_resent(**request):
        real(**request)
        return real(**request)

    monkeypatch.setattr(dynamodb, "put_item", applied_then_resent)


def test_a_lost_acknowledgement_of_the_audit_write_does_not_stop_the_override(aws, inbox, capsys, monkeypatch):
    """(Issue 22.) Before, the retry's ConditionalCheckFailed read as another
    override this very second: the command refused, and left its own record
    behind as OVERRIDE_REQUESTED with nothing overridden."""
    stub = aws.stub("codepipeline")
    held_at_entry(stub)
    expect_override(stub)
    lose_the_first_answer(aws, monkeypatch)
    code, out, err = run(capsys, "--reason", "Hotfix for INC-42")
    assert code == 0, err
    stub.assert_no_pending_responses()
    (record,) = audit_records()
    assert record["status"] == "OVERRIDDEN" and "overridden for execution e5" in out


def test_a_write_whose_last_answer_was_lost_is_found_and_the_override_goes_on(aws, inbox, capsys, monkeypatch):
    """The write was applied but every attempt's answer was lost (the SDK gave
    up): the record is read back, found to be this run's, and used."""
    from botocore.exceptions import ReadTimeoutError

    stub = aws.stub("codepipeline")
    held_at_entry(stub)
    expect_override(stub)
    dynamodb = aws.client("dynamodb")
    real = dynamodb.put_item

    def applied_but_timed_out(**request):
        real(**request)
        raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    monkeypatch.setattr(dynamodb, "put_item", applied_but_timed_out)
    code, _, err = run(capsys, "--reason", "Hotfix for INC-42")
    assert code == 0, err
    assert audit_records()[0]["status"] == "OVERRIDDEN"


def test_the_bake_condition_overrides_the_execution_in_the_stage(aws, inbox, capsys):
    stub = aws.stub("codepipeline")
    held_at_entry(stub, baking="InProgress", stage=BAKE)
    expect_override(stub, execution="e4", condition="ON_SUCCESS", stage=BAKE)
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
        "get_pipeline_state", {"pipelineName": NAMES.pipeline, "stageStates": [{"stageName": GATE}]}, None
    )
    code, _, err = run(capsys, "--reason", "Hotfix for INC-42")
    assert code == 1 and "condition is not holding an execution (status none)" in err
    assert audit_records() == []


def test_a_finished_condition_is_not_overridden_unless_the_execution_is_named(aws, capsys):
    stub = aws.stub("codepipeline")
    held_at_entry(stub, stage=BAKE)  # the bake (on-success) condition has finished
    code, _, err = run(capsys, "--condition", "on-success", "--reason", "late")
    assert code == 1 and "not holding an execution (status Succeeded)" in err
    assert audit_records() == []


def test_an_unsettled_record_never_hides_a_made_override(aws, inbox, capsys, monkeypatch):
    """(Found in review.) The override succeeds; the record's update fails."""
    stub = aws.stub("codepipeline")
    held_at_entry(stub)
    expect_override(stub)
    dynamodb = aws.client("dynamodb")
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "UpdateItem")
    monkeypatch.setattr(dynamodb, "update_item", lambda **p: (_ for _ in ()).throw(throttled))
    code, out, _ = run(capsys, "--reason", "Hotfix for INC-42")
    assert code == 0 and "the override was made" in out and "do not override again" in out
    assert audit_records()[0]["status"] == "OVERRIDE_REQUESTED"


def test_a_second_override_in_the_same_second_does_not_take_over_the_first_record(aws, capsys, monkeypatch):
    """(Found in review.) The audit key is the stage, the second and the execution."""
    from ops.commands import override

    stub = aws.stub("codepipeline")
    held_at_entry(stub)
    moment = datetime(2026, 11, 22, 5, 0, 0, tzinfo=UTC)
    monkeypatch.setattr(override, "datetime", type("Frozen", (), {"now": staticmethod(lambda tz=None: moment)}))
    expect_override(stub)
    assert run(capsys, "--reason", "first")[0] == 0
    held_at_entry(stub)
    code, _, err = run(capsys, "--reason", "second")
    assert code == 1 and "recorded this very second" in err
    (record,) = audit_records()
    assert record["reason"] == "first" and record["status"] == "OVERRIDDEN"
