"""`python -m ops validate ENV` against moto, one passing and one failing
case per check. CodeConnections is not in moto: its ListConnections answer
comes from botocore's Stubber."""

from __future__ import annotations

import datetime
import io
import json
import zipfile

import boto3
import pytest
from moto import mock_aws

from environments import load
from ops import cli, common
from ops.validate import Validator
from tests.support.sessions import StubbingSession
from tests.support.tables import create_contract_table
from topology import naming

ENV = "test"
CONFIG = load(ENV)
NAMES = CONFIG.names
ACCOUNT = CONFIG.account_id
# Derived from the checklist itself, not counted by hand.
CHECKS = len(Validator(CONFIG, session=None).checks())


def arn(service, resource):
    return f"arn:aws:{service}:us-east-1:{ACCOUNT}:{resource}"


def build_world(probed=tuple(naming.DEPLOY_STAGES)):
    """Every resource the checklist looks at, as the stacks create them, and
    a round of the health probe's status for the targets in `probed`."""
    iam = boto3.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": f"{service}.amazonaws.com"}}
            for service in ("codepipeline", "codebuild", "lambda")
        ],
    }
    role = iam.create_role(RoleName="kiro-pipeline-test-any-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=NAMES.artifacts_bucket)
    s3.put_bucket_encryption(
        Bucket=NAMES.artifacts_bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]
        },
    )
    s3.put_bucket_versioning(Bucket=NAMES.artifacts_bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket=NAMES.artifacts_bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )

    dynamodb = boto3.client("dynamodb")
    create_contract_table(dynamodb, NAMES.deployments_table)
    dynamodb.update_time_to_live(
        TableName=NAMES.deployments_table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"}
    )

    stages = [
        {
            "name": s,
            "actions": [
                {
                    "name": "A",
                    "actionTypeId": {"category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                }
            ],
        }
        for s in naming.pipeline_stages(approval=CONFIG.approval_required, window=CONFIG.change_window.enabled)
    ]
    boto3.client("codepipeline").create_pipeline(
        pipeline={
            "name": NAMES.pipeline,
            "roleArn": role,
            "stages": stages,
            "artifactStore": {"type": "S3", "location": NAMES.artifacts_bucket},
        }
    )

    codebuild = boto3.client("codebuild")
    for kind in naming.CODEBUILD_PROJECTS:
        codebuild.create_project(
            name=NAMES.codebuild_project(kind),
            serviceRole=role,
            # moto insists on a source location; the check only looks for the project.
            source={"type": "S3", "location": f"{NAMES.artifacts_bucket}/source.zip"},
            artifacts={"type": "NO_ARTIFACTS"},
            environment={
                "type": "LINUX_CONTAINER",
                "image": "aws/codebuild/standard:7.0",
                "computeType": "BUILD_GENERAL1_SMALL",
            },
        )

    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("functions/rollback/handler.py", "def handler(e, c): return e\n")
    boto3.client("lambda").create_function(
        FunctionName=NAMES.lambda_function("rollback"),
        Runtime="python3.13",
        Role=role,
        Handler="functions.rollback.handler.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={
            "Variables": {
                "TABLE_NAME": NAMES.deployments_table,
                "PIPELINE_ARN": arn("codepipeline", NAMES.pipeline),
                "TOPIC_ARN": arn("sns", NAMES.topic("rollbacks")),
            }
        },
    )

    for purpose in ("deployments", "approvals", "rollbacks"):
        boto3.client("sns").create_topic(Name=NAMES.topic(purpose))
    boto3.client("cloudwatch").put_dashboard(DashboardName=NAMES.dashboard, DashboardBody=json.dumps({"widgets": []}))
    boto3.client("events").put_rule(
        Name=NAMES.alarm_rollback_rule, EventPattern=json.dumps({"source": ["aws.cloudwatch"]})
    )
    kms = boto3.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=NAMES.kms_alias, TargetKeyId=key)
    kms.enable_key_rotation(KeyId=key)
    if probed:
        boto3.client("cloudwatch").put_metric_data(
            Namespace="KiroPipeline",
            MetricData=[
                {
                    "MetricName": "HealthCheckStatus",
                    "Value": 1.0,
                    "Dimensions": [{"Name": "Environment", "Value": ENV}, {"Name": "Target", "Value": t}],
                }
                for t in probed
            ],
        )


@pytest.fixture
def world(aws_credentials, monkeypatch):
    with mock_aws():
        build_world()
        session = StubbingSession(stubbed_services=["codeconnections"])
        monkeypatch.setattr(common, "session", lambda region, profile: session)
        yield session


def connection(session, status="AVAILABLE", name=NAMES.github_connection):
    session.stub("codeconnections").add_response(
        "list_connections",
        {
            "Connections": [
                {
                    "ConnectionName": name,
                    "ConnectionStatus": status,
                    "ProviderType": "GitHub",
                    "ConnectionArn": arn("codeconnections", "connection/abc"),
                }
            ]
        },
        {"ProviderTypeFilter": "GitHub"},
    )


def validate(capsys, *extra):
    code = cli.main(["validate", ENV, *extra])
    return code, capsys.readouterr()


def test_everything_in_place_passes(world, capsys):
    connection(world)
    code, out = validate(capsys)
    assert code == 0, out.out
    lines = out.out.splitlines()
    assert lines[0] == "Validating kiro-pipeline deployment for environment: test"
    assert lines[-1] == "All validation checks passed!"
    checks = [line for line in lines if line.startswith(("✓", "✗"))]
    assert len(checks) == CHECKS and all(line.startswith("✓") for line in checks)
    assert "✓ Pipeline kiro-pipeline-test exists with its stages" in lines
    assert "✓ EventBridge rule kiro-pipeline-test-alarm-rollback exists" in lines


def _drop_encryption():
    boto3.client("s3").delete_bucket_encryption(Bucket=NAMES.artifacts_bucket)


def _aes_encryption():
    boto3.client("s3").put_bucket_encryption(
        Bucket=NAMES.artifacts_bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def _suspend_versioning():
    boto3.client("s3").put_bucket_versioning(
        Bucket=NAMES.artifacts_bucket, VersioningConfiguration={"Status": "Suspended"}
    )


def _open_public_access():
    boto3.client("s3").delete_public_access_block(Bucket=NAMES.artifacts_bucket)


def _disable_ttl():
    boto3.client("dynamodb").update_time_to_live(
        TableName=NAMES.deployments_table, TimeToLiveSpecification={"Enabled": False, "AttributeName": "expiresAt"}
    )


def _drop_topic_arn():
    boto3.client("lambda").update_function_configuration(
        FunctionName=NAMES.lambda_function("rollback"),
        Environment={
            "Variables": {"TABLE_NAME": NAMES.deployments_table, "PIPELINE_ARN": arn("codepipeline", NAMES.pipeline)}
        },
    )


def _delete_topic():
    boto3.client("sns").delete_topic(TopicArn=arn("sns", NAMES.topic("approvals")))


def _delete_project():
    boto3.client("codebuild").delete_project(name=NAMES.codebuild_project("e2e-test"))


def _four_stages():
    client = boto3.client("codepipeline")
    pipeline = client.get_pipeline(name=NAMES.pipeline)["pipeline"]
    pipeline["stages"] = pipeline["stages"][:4]
    client.update_pipeline(pipeline=pipeline)


def _delete_dashboard():
    boto3.client("cloudwatch").delete_dashboards(DashboardNames=[NAMES.dashboard])


def _delete_rule():
    boto3.client("events").delete_rule(Name=NAMES.alarm_rollback_rule)


def _disable_rotation():
    kms = boto3.client("kms")
    kms.disable_key_rotation(KeyId=kms.describe_key(KeyId=NAMES.kms_alias)["KeyMetadata"]["KeyId"])


@pytest.mark.parametrize(
    "breaker, failing, reason",
    [
        (_drop_encryption, "S3 bucket kiro-pipeline-test-artifacts", "no default encryption"),
        (_aes_encryption, "S3 bucket kiro-pipeline-test-artifacts", "encrypted with AES256, not KMS"),
        (_suspend_versioning, "S3 bucket kiro-pipeline-test-artifacts", "versioning is off"),
        (_open_public_access, "S3 bucket kiro-pipeline-test-artifacts", "no public access block"),
        (_disable_ttl, "DynamoDB table kiro-pipeline-test-deployments", "TTL is DISABLED"),
        (_drop_topic_arn, "Lambda function kiro-pipeline-test-rollback", "missing TOPIC_ARN"),
        (_delete_topic, "SNS topic kiro-pipeline-test-approvals", "not found"),
        (_delete_project, "CodeBuild project kiro-pipeline-test-e2e-test", "not found"),
        (_four_stages, "Pipeline kiro-pipeline-test", "stages are Source, Build, TestGate, TestEnv; expected"),
        (_delete_dashboard, "CloudWatch dashboard kiro-pipeline-test-dashboard", "not found"),
        (_delete_rule, "EventBridge rule kiro-pipeline-test-alarm-rollback", "not found"),
        (_disable_rotation, "KMS key alias/kiro-pipeline-test-key", "rotation is off"),
    ],
)
def test_each_check_fails_with_its_reason(world, capsys, breaker, failing, reason):
    breaker()
    connection(world)
    code, out = validate(capsys)
    assert code == 1
    failed = [line for line in out.out.splitlines() if line.startswith("✗")]
    assert len(failed) == 1, failed
    assert failed[0].startswith(f"✗ {failing}") and reason in failed[0], failed[0]
    assert out.out.splitlines()[-1] == f"1 of {CHECKS} checks failed."


def test_a_silent_health_probe_names_the_targets_without_data(aws_credentials, monkeypatch, capsys):
    with mock_aws():
        build_world(probed=("test",))
        session = StubbingSession(stubbed_services=["codeconnections"])
        monkeypatch.setattr(common, "session", lambda region, profile: session)
        connection(session)
        code, out = validate(capsys)
    assert code == 1
    (failed,) = [line for line in out.out.splitlines() if line.startswith("✗")]
    assert failed.startswith(
        "✗ Health probe kiro-pipeline-test-health-probe reported every target in the last 5 minutes: "
        "no status for staging, production: see `python -m ops logs test health-probe --since 15m`"
    )


def test_data_older_than_five_minutes_does_not_count(aws_credentials, monkeypatch, capsys):
    with mock_aws():
        build_world(probed=())
        old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)
        boto3.client("cloudwatch").put_metric_data(
            Namespace="KiroPipeline",
            MetricData=[
                {
                    "MetricName": "HealthCheckStatus",
                    "Value": 1.0,
                    "Timestamp": old,
                    "Dimensions": [{"Name": "Environment", "Value": ENV}, {"Name": "Target", "Value": t}],
                }
                for t in naming.DEPLOY_STAGES
            ],
        )
        session = StubbingSession(stubbed_services=["codeconnections"])
        monkeypatch.setattr(common, "session", lambda region, profile: session)
        connection(session)
        code, out = validate(capsys)
    assert code == 1
    assert "no status for test, staging, production" in out.out


def test_a_pending_connection_says_how_to_complete_it(world, capsys):
    connection(world, status="PENDING")
    code, out = validate(capsys)
    assert code == 1
    (failed,) = [line for line in out.out.splitlines() if line.startswith("✗")]
    assert failed.startswith("✗ GitHub connection kiro-pipeline-test-github is AVAILABLE: PENDING")
    assert "Update pending connection" in failed


def test_a_missing_connection(world, capsys):
    connection(world, name="someone-elses-connection")
    code, out = validate(capsys)
    assert "not found: deploy pipeline-test" in out.out


def test_json_output(world, capsys):
    connection(world)
    code, out = validate(capsys, "--json")
    report = json.loads(out.out)
    assert code == 0 and report["passed"] is True and len(report["checks"]) == CHECKS
    assert all(set(c) == {"label", "ok", "reason"} for c in report["checks"])
