"""The operations CLI's commands, against moto. moto has none of CodePipeline's
GetPipelineState, StartPipelineExecution, GetPipelineExecution,
ListPipelineExecutions, PutApprovalResult, StopPipelineExecution or
RollbackStage, so those answers come from botocore's Stubber, which also
checks the exact requests the commands send."""

from __future__ import annotations

import datetime
import io
import json

import boto3
import pytest
from moto import mock_aws

from environments import load
from ops import cli, common
from ops.commands import trigger
from tests.support.sessions import StubbingSession
from tests.support.tables import create_contract_table
from tests.support.validated import answer

CONFIG = load("production")
NAMES = CONFIG.names
WEBHOOK = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"


@pytest.fixture
def aws(aws_credentials, monkeypatch):
    with mock_aws():
        session = StubbingSession(stubbed_services=["codepipeline"])
        monkeypatch.setattr(common, "session", lambda region, profile: session)
        yield session


@pytest.fixture
def table(aws):
    create_contract_table(boto3.client("dynamodb"), NAMES.deployments_table)
    return boto3.resource("dynamodb").Table(NAMES.deployments_table)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def pipeline(aws):
    return aws.stub("codepipeline")


def state(stub, stages, version=None):
    answer_ = {"pipelineName": NAMES.pipeline, "stageStates": stages}
    if version is not None:
        answer_["pipelineVersion"] = version
    stub.add_response("get_pipeline_state", answer_, {"name": NAMES.pipeline})


# --- usage and errors ------------------------------------------------------------
def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(["approve", "production"])  # --summary missing
    assert caught.value.code == 2
    assert "--summary" in capsys.readouterr().err
    code, _, err = run(capsys, "health", "prod")
    assert code == 2 and "valid names are test, staging, production" in err


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_has_help_with_an_example(capsys, command):
    with pytest.raises(SystemExit) as caught:
        cli.main([command, "--help"])
    assert caught.value.code == 0
    assert f"example: python -m ops {command} " in capsys.readouterr().out


def test_missing_credentials_are_one_line(no_aws_credentials, capsys):
    code, _, err = run(capsys, "deployments", "test")
    assert code == 1
    assert err.startswith("error: no AWS credentials while deployments test") and err.count("\n") == 1


def test_access_denied_is_one_line(aws, capsys):
    pipeline(aws).add_client_error(
        "get_pipeline_state",
        "AccessDeniedException",
        "User is not authorized to perform: codepipeline:GetPipelineState",
    )
    code, out, err = run(capsys, "health", "production")
    # health shows what it could read and marks what it could not (exit 1).
    assert code == 1
    assert err == ""
    assert (
        "  ✗ could not read the stages: access denied: GetPipelineState on pipeline kiro-pipeline-production "
        "needs codepipeline:GetPipelineState (User is not authorized to perform: codepipeline:GetPipelineState); "
        "your role needs that permission"
    ) in out.splitlines()


# --- secrets and parameters ------------------------------------------------------
def test_setup_secrets_reads_stdin_and_never_prints_the_value(aws, capsys, monkeypatch):
    boto3.client("kms").create_alias(
        AliasName=NAMES.kms_alias, TargetKeyId=boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(WEBHOOK + "\n"))
    code, out, err = run(capsys, "setup-secrets", "production")
    assert code == 0 and out == (
        "✓ secret kiro-pipeline-production-slack-webhook created (value not shown); "
        "kiro-pipeline-production-slack-notifier reads it at its next message\n"
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(WEBHOOK.replace("XXXX", "YYYY") + "\n"))
    code, out, err = run(capsys, "setup-secrets", "production", "--json")
    assert code == 0 and json.loads(out) == {"secret": "kiro-pipeline-production-slack-webhook", "action": "updated"}
    stored = boto3.client("secretsmanager").get_secret_value(SecretId="kiro-pipeline-production-slack-webhook")
    assert stored["SecretString"] == WEBHOOK.replace("XXXX", "YYYY")
    assert "SECRET" not in out + err and "hooks.slack.com" not in out + err


def test_setup_secrets_rejects_a_non_webhook_without_echoing_it(aws, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("not-a-url-but-a-password-123\n"))
    code, out, err = run(capsys, "setup-secrets", "production")
    assert code == 2 and "not a Slack webhook URL" in err
    assert "password-123" not in out + err


def test_setup_parameters_exports_and_warns_when_a_value_differs_from_the_configuration(aws, capsys):
    code, out, _ = run(capsys, "setup-parameters", "production", "--github-owner", "acme")
    assert code == 0 and "exported /kiro-pipeline/production/github-owner = acme" in out
    assert "✓" not in out  # nothing the pipeline reads has changed
    (warning,) = [line for line in out.splitlines() if line.startswith("!")]
    assert "differs from the configuration ('your-org'); the pipeline uses the configuration" in warning
    code, out, _ = run(capsys, "setup-parameters", "production", "--show")
    assert out.splitlines() == [
        "/kiro-pipeline/production/github-owner = acme",
        "/kiro-pipeline/production/github-repo = kiro-codebuild-worker",
        "/kiro-pipeline/production/notification-email = devops-team@example.com",
    ]
    # A value AWS or the pipeline would refuse is a usage error of the parser:
    # exit 2 before any call, nothing written.
    with pytest.raises(SystemExit) as exited:
        run(capsys, "setup-parameters", "production", "--notification-email", "nope")
    assert exited.value.code == 2
    assert "argument --notification-email: 'nope' is not an email address" in capsys.readouterr().err


def test_subscribe_reports_pending_confirmations(aws, capsys):
    for purpose in ("deployments", "approvals", "rollbacks"):
        boto3.client("sns").create_topic(Name=NAMES.topic(purpose))
    code, out, _ = run(capsys, "subscribe", "production", "oncall@example.com", "--json")
    assert code == 0
    report = json.loads(out)
    assert set(report) == {NAMES.topic(p) for p in ("deployments", "approvals", "rollbacks")}
    subscriptions = boto3.client("sns").list_subscriptions()["Subscriptions"]
    assert sorted(s["Endpoint"] for s in subscriptions) == ["oncall@example.com"] * 3
    with pytest.raises(SystemExit) as exited:
        run(capsys, "subscribe", "production", "not-an-address")
    assert exited.value.code == 2


# --- deployments, health, summary --------------------------------------------------
def records(table, *items):
    for deployment_id, status, start, extra in items:
        table.put_item(
            Item={
                "deploymentId": deployment_id,
                "environment": "production",
                "status": status,
                "startTime": start,
                **extra,
            }
        )


def test_deployments_newest_first_with_a_status_filter(table, capsys):
    records(
        table,
        ("e1", "SUCCEEDED", "2026-11-20T10:00:00Z", {}),
        ("e2", "FAILED", "2026-11-22T10:00:00Z", {}),
        ("e3", "SUCCEEDED", "2026-11-21T10:00:00Z", {"commitId": "3f2a9c1d2e3f"}),
    )
    code, out, _ = run(capsys, "deployments", "production", "--json")
    assert [r["deploymentId"] for r in json.loads(out)] == ["e2", "e3", "e1"]
    code, out, _ = run(capsys, "deployments", "production", "--status", "SUCCEEDED", "--limit", "1")
    assert out.splitlines()[1].split()[:3] == ["e3", "SUCCEEDED", "2026-11-21T10:00:00Z"]


def test_health_shows_stages_alarms_and_recent_deployments(aws, table, capsys):
    records(table, ("e1", "SUCCEEDED", "2026-11-22T10:00:00Z", {}))
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName=f"{NAMES.pipeline}-failures",
        MetricName="DeploymentFailure",
        Namespace="KiroPipeline",
        Statistic="Sum",
        Period=900,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    boto3.client("cloudwatch").set_alarm_state(
        AlarmName=f"{NAMES.pipeline}-failures", StateValue="ALARM", StateReason="1 failed execution"
    )
    state(
        pipeline(aws),
        [
            {"stageName": "Source", "latestExecution": {"pipelineExecutionId": "e1", "status": "Succeeded"}},
            {"stageName": "ProductionEnv", "latestExecution": {"pipelineExecutionId": "e1", "status": "Failed"}},
        ],
    )
    code, out, _ = run(capsys, "health", "production")
    assert code == 1
    assert "  ProductionEnv  Failed" in out
    assert "  ✗ kiro-pipeline-production-failures: 1 failed execution" in out
    assert "e1" in out.split("Recent deployments:")[1]


def test_summary_from_metrics_and_records(aws, table, capsys):
    now = datetime.datetime.now(datetime.UTC)

    def iso(d):
        return d.strftime("%Y-%m-%dT%H:%M:%SZ")

    data = [("DeploymentSuccess", 3), ("DeploymentFailure", 1), ("RollbackCount", 1)]
    boto3.client("cloudwatch").put_metric_data(
        Namespace="KiroPipeline",
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": "Environment", "Value": "production"}],
                "Value": value,
                "Timestamp": now - datetime.timedelta(hours=1),
            }
            for name, value in data
        ],
    )
    for index, minutes in enumerate((20, 40, 30)):
        start = now - datetime.timedelta(days=1, hours=index)
        records(
            table,
            (
                f"e{index}",
                "SUCCEEDED",
                iso(start),
                {"startedAt": iso(start), "endTime": iso(start + datetime.timedelta(minutes=minutes))},
            ),
        )
    records(table, ("old", "SUCCEEDED", iso(now - datetime.timedelta(days=30)), {}))
    code, out, _ = run(capsys, "summary", "production", "--days", "7", "--json")
    assert code == 0
    assert json.loads(out) == {
        "environment": "production",
        "days": 7,
        "deployments": 3,
        "successes": 3,
        "failures": 1,
        "rollbacks": 1,
        "success_rate_percent": 75.0,
        "median_duration_minutes": 30.0,
    }


# --- pipeline control ----------------------------------------------------------------
def test_trigger_and_wait_follows_the_stages_to_the_end(aws, capsys, monkeypatch):
    slept = []
    monkeypatch.setattr(trigger.time, "sleep", slept.append)
    stub = pipeline(aws)
    stub.add_response("start_pipeline_execution", {"pipelineExecutionId": "e9"}, {"name": NAMES.pipeline})
    for status, stage_status in (("InProgress", "InProgress"), ("Failed", "Failed")):
        stub.add_response(
            "get_pipeline_execution",
            {"pipelineExecution": {"pipelineExecutionId": "e9", "status": status}},
            {"pipelineName": NAMES.pipeline, "pipelineExecutionId": "e9"},
        )
        state(stub, [{"stageName": "Build", "latestExecution": {"pipelineExecutionId": "e9", "status": stage_status}}])
    code, out, _ = run(capsys, "trigger", "production", "--wait", "--poll-seconds", "2")
    assert code == 1 and slept == [2.0]
    assert out.splitlines() == [
        "Started kiro-pipeline-production execution e9",
        "  Build          InProgress",
        "  Build          Failed",
        "✗ execution e9: Failed",
    ]
    stub.assert_no_pending_responses()


def approval_state(stub, status="InProgress"):
    state(
        stub,
        [
            {
                "stageName": "ProductionEnv",
                "actionStates": [
                    {"actionName": "ApproveProduction", "latestExecution": {"status": status, "token": "tok-123"}}
                ],
            }
        ],
    )


@pytest.mark.parametrize("command, result", [("approve", "Approved"), ("reject", "Rejected")])
def test_approve_and_reject_find_the_token_themselves(aws, capsys, command, result):
    stub = pipeline(aws)
    approval_state(stub)
    stub.add_response(
        "put_approval_result",
        {},
        {
            "pipelineName": NAMES.pipeline,
            "stageName": "ProductionEnv",
            "actionName": "ApproveProduction",
            "result": {"status": result, "summary": "by Jane"},
            "token": "tok-123",
        },
    )
    code, out, _ = run(capsys, command, "production", "--summary", "by Jane")
    assert code == 0 and out.startswith(f"✓ {result.lower()} the production release")
    stub.assert_no_pending_responses()


def test_no_pending_approval_says_so(aws, capsys):
    approval_state(pipeline(aws), status="Succeeded")
    code, _, err = run(capsys, "approve", "production", "--summary", "x")
    assert code == 1 and "no approval is pending for kiro-pipeline-production" in err


def test_stop_finds_the_running_execution(aws, capsys):
    stub = pipeline(aws)
    stub.add_response(
        "list_pipeline_executions",
        {
            "pipelineExecutionSummaries": [
                {"pipelineExecutionId": "e8", "status": "InProgress"},
                {"pipelineExecutionId": "e7", "status": "Succeeded"},
            ]
        },
    )
    stub.add_response(
        "stop_pipeline_execution",
        {"pipelineExecutionId": "e8"},
        {
            "pipelineName": NAMES.pipeline,
            "pipelineExecutionId": "e8",
            "abandon": False,
            "reason": "Stuck execution, restarting",
        },
    )
    code, out, _ = run(capsys, "stop", "production", "--reason", "Stuck execution, restarting")
    assert code == 0 and "e8" in out
    stub.assert_no_pending_responses()


@pytest.fixture(autouse=True)
def rollback_clock(monkeypatch):
    """The rollback histories below are from 2026-11-2x: judged on 2026-11-23."""
    from ops.commands import rollback

    monkeypatch.setattr(rollback, "now", lambda: datetime.datetime(2026, 11, 23, tzinfo=datetime.UTC))


def production_history(table):
    """e4 is what ProductionDeploy runs; e3 failed there; rb a rollback; e5 newer, not there yet."""
    for execution, start, status, stages, extra in (
        ("e1", "2026-11-20T10:00:00Z", "SUCCEEDED", {"ProductionDeploy"}, {}),
        ("e2", "2026-11-21T10:00:00Z", "SUCCEEDED", {"ProductionDeploy"}, {}),
        ("rb", "2026-11-21T12:00:00Z", "SUCCEEDED", {"ProductionDeploy"}, {"executionType": "ROLLBACK"}),
        ("e3", "2026-11-22T01:00:00Z", "FAILED", {"StagingEnv"}, {}),
        ("e4", "2026-11-22T02:00:00Z", "SUCCEEDED", {"ProductionDeploy"}, {}),
        ("e5", "2026-11-22T03:00:00Z", "IN_PROGRESS", {"TestEnv"}, {}),
    ):
        table.put_item(
            Item={
                "deploymentId": execution,
                "pipelineExecutionId": execution,
                "environment": "production",
                "startTime": start,
                "status": status,
                "succeededStages": stages,
                **extra,
            }
        )


def production_runs(stub, execution="e4", status="Succeeded", kind="STANDARD", version=None):
    """GetPipelineState lists every stage; ProductionDeploy runs `execution`."""
    others = ["Source", "Build", "TestGate", "TestEnv", "StagingGate", "StagingEnv", "ProductionEnv"]
    others += ["ProductionWindow", "ProductionGate"]
    state(
        stub,
        [
            *({"stageName": name} for name in others),
            {
                "stageName": "ProductionDeploy",
                "latestExecution": {"pipelineExecutionId": execution, "status": status, "type": kind},
            },
        ],
        version=version,
    )


def test_rollback_across_a_pipeline_update_offers_the_way_back_instead(aws, table, capsys):
    """The records of e1..e4 carry no structure version (written before it
    was recorded), and the pipeline is at version 5: CodePipeline "can only
    roll back to a previous execution if the previous execution was started
    in the current pipeline structure version" (user guide, stage rollback)."""
    production_history(table)
    table.update_item(
        Key={"deploymentId": "e2"},
        UpdateExpression="SET commitId = :c, endTime = :e",
        ExpressionAttributeValues={":c": "abc123def4567890", ":e": "2026-11-21T10:42:00Z"},
    )
    stub = pipeline(aws)
    production_runs(stub, version=5)  # no rollback_stage response: a call would fail the Stubber
    code, _, err = run(capsys, "rollback", "production", "--stage", "ProductionDeploy")
    assert code == 1
    assert "ProductionDeploy cannot be rolled back: no valid rollback target: e2 ran in pipeline version unknown" in err
    assert "about 42 minutes to production" in err
    assert (
        "aws codepipeline start-pipeline-execution --name kiro-pipeline-production --source-revisions "
        "actionName=GitHub,revisionType=COMMIT_ID,revisionValue=abc123def4567890"
    ) in err
    for gate in ("TestGate", "StagingGate", "ProductionWindow", "ProductionGate"):
        assert f"python -m ops override production --stage {gate} --reason" in err
    assert 'python -m ops approve production --summary "roll back to abc123def456"' in err
    stub.assert_no_pending_responses()


def test_rollback_chooses_as_the_rollback_function_does_and_is_recorded(aws, table, capsys):
    production_history(table)
    stub = pipeline(aws)
    production_runs(stub)
    stub.add_response(
        "rollback_stage",
        {"pipelineExecutionId": "rb-7"},
        {"pipelineName": NAMES.pipeline, "stageName": "ProductionDeploy", "targetPipelineExecutionId": "e2"},
    )
    code, out, _ = run(capsys, "rollback", "production", "--stage", "ProductionDeploy")
    assert code == 0 and "back from e4 to e2" in out  # not e5 (newer), rb (a rollback), e3 (failed before it)
    (record,) = [r for r in table.scan()["Items"] if r["deploymentId"].startswith("rollback#manual#ProductionDeploy#")]
    assert (
        record["status"],
        record["stage"],
        record["targetExecutionId"],
        record["rolledBackExecutionId"],
        record["rollbackExecutionId"],
    ) == ("ROLLBACK_IN_PROGRESS", "ProductionDeploy", "e2", "e4", "rb-7")
    assert record["initiatedBy"].startswith("arn:aws:")
    stub.assert_no_pending_responses()


def test_rollback_of_a_busy_stage_is_refused_without_calling_codepipeline(aws, table, capsys):
    production_history(table)
    production_runs(pipeline(aws), status="InProgress")
    code, _, err = run(capsys, "rollback", "production", "--stage", "ProductionDeploy")
    assert code == 1 and "left to CodePipeline" in err and "python -m ops stop" in err


def test_a_failed_record_write_says_the_rollback_runs_and_not_to_start_another(aws, table, capsys, monkeypatch):
    production_history(table)
    stub = pipeline(aws)
    production_runs(stub)
    stub.add_response("rollback_stage", {"pipelineExecutionId": "rb-8"})
    dynamodb = aws.client("dynamodb")
    from botocore.exceptions import ClientError

    monkeypatch.setattr(
        dynamodb,
        "put_item",
        lambda **p: (_ for _ in ()).throw(
            ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "PutItem")
        ),
    )
    code, out, _ = run(capsys, "rollback", "production", "--stage", "ProductionDeploy")
    assert code == 0
    assert "rollback execution rb-8" in out and "do not start another" in out


def test_rollback_rejects_unknown_stages(aws, capsys):
    code, _, err = run(capsys, "rollback", "production", "--stage", "Build")
    assert code == 2 and "--stage must be one of TestEnv, StagingEnv, ProductionDeploy" in err


# --- command-line edges -----------------------------------------------------------
@pytest.mark.parametrize(
    "argv, message",
    [
        (["summary", "test", "--days", "0"], "argument --days: must be 1 to 3650 days, got 0"),
        (["summary", "test", "--days", "many"], "argument --days: 'many' is not a number of days"),
        (["deployments", "test", "--limit", "-5"], "argument --limit: must be 1 to 1000 records, got -5"),
        (["trigger", "test", "--wait", "--poll-seconds", "nan"], "argument --poll-seconds: must be 1.0 to 3600.0"),
        (["health", "test", "--region", "mars-north-1"], "argument --region: 'mars-north-1' is not an AWS region"),
    ],
)
def test_bad_options_are_one_line_usage_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert len(err.strip().splitlines()) == 1 and message in err


def test_ctrl_c_while_waiting_says_the_execution_keeps_running(aws, capsys, monkeypatch):
    stub = pipeline(aws)
    stub.add_response("start_pipeline_execution", {"pipelineExecutionId": "e9"}, {"name": NAMES.pipeline})

    def interrupted(ctx, args, codepipeline, execution_id):
        raise KeyboardInterrupt

    monkeypatch.setattr(trigger, "_follow", interrupted)
    code, _, err = run(capsys, "trigger", "production", "--wait")
    assert code == 130
    assert "execution e9 keeps running" in err and "Traceback" not in err


def test_validate_without_credentials_is_one_line(no_aws_credentials, capsys):
    code, out, err = run(capsys, "validate", "test")
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and "no AWS credentials" in err


def test_not_found_names_the_resource_and_the_stack_that_creates_it(aws, capsys):
    code, _, err = run(capsys, "deployments", "test")  # no table: core-test was never deployed
    assert code == 1
    assert "not found while calling Query" in err and "deploy core-test (make deploy ENV=test STACK=core)" in err


# --- alarms (runbook Task 6) ----------------------------------------------------------
def make_alarm(name, metric="DeploymentFailure"):
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="KiroPipeline",
        MetricName=metric,
        Statistic="Sum",
        Dimensions=[{"Name": "Environment", "Value": "production"}],
        Period=900,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )


def test_alarms_lists_this_environments_alarms_and_states(aws, capsys):
    make_alarm(f"{NAMES.pipeline}-failures")
    make_alarm(f"{NAMES.pipeline}-duration", "ExecutionAge")
    make_alarm("kiro-pipeline-staging-failures")  # another environment's
    code, out, _ = run(capsys, "alarms", "production")
    assert code == 0
    names = sorted(line.split()[1] for line in out.splitlines())
    assert names == [f"{NAMES.pipeline}-duration", f"{NAMES.pipeline}-failures"]
    assert "KiroPipeline DeploymentFailure" in out


def test_alarm_history_shows_state_changes_and_hourly_statistics(aws, capsys):
    """moto has no DescribeAlarmHistory: that one call is answered after its
    parameters are checked against botocore's model."""
    make_alarm(f"{NAMES.pipeline}-failures")
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=f"{NAMES.pipeline}-failures", StateValue="ALARM", StateReason="a run failed")
    calls = []
    answer(
        aws.client("cloudwatch"),
        "describe_alarm_history",
        {
            "AlarmHistoryItems": [
                {
                    "AlarmName": f"{NAMES.pipeline}-failures",
                    "Timestamp": datetime.datetime(2026, 11, 22, 5, 0),
                    "HistoryItemType": "StateUpdate",
                    "HistorySummary": "Alarm updated from OK to ALARM",
                }
            ]
        },
        calls,
    )
    cloudwatch.put_metric_data(
        Namespace="KiroPipeline",
        MetricData=[
            {
                "MetricName": "DeploymentFailure",
                "Dimensions": [{"Name": "Environment", "Value": "production"}],
                "Value": 1,
                "Timestamp": datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=90),
            }
        ],
    )
    code, out, _ = run(capsys, "alarms", "production", "--history", "failures", "--json")
    assert code == 0
    data = json.loads(out)
    assert (data["alarm"], data["state"], data["metric"]) == (
        f"{NAMES.pipeline}-failures",
        "ALARM",
        "DeploymentFailure",
    )
    assert any("ALARM" in h["summary"] for h in data["history"])
    assert [p["Sum"] for p in data["hourly"]] == [1.0]
    assert calls == [
        {
            "AlarmName": f"{NAMES.pipeline}-failures",
            "HistoryItemType": "StateUpdate",
            "MaxRecords": 20,
            "ScanBy": "TimestampDescending",
        }
    ]


def test_alarm_history_of_an_unknown_alarm_says_how_to_list_them(aws, capsys):
    code, _, err = run(capsys, "alarms", "production", "--history", "pipeline-failures")
    assert code == 1 and "python -m ops alarms production" in err
