"""`make bootstrap`: the state bucket and lock table, on moto."""

from __future__ import annotations

import dataclasses
import json

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from environments import load
from ops import bootstrap, cli
from ops.aws import OpsError
from tests.support.configs import unvalidated_replace

MOTO_ACCOUNT = "123456789012"  # moto's default account, and the seed's


@pytest.fixture
def aws(aws_credentials):
    with mock_aws():
        yield


def run(config):
    return bootstrap.Bootstrapper(config, boto3.Session(region_name=config.region)).run()


def test_first_run_creates_a_secure_bucket_and_table(aws):
    config = load("test")
    steps = run(config)
    assert all(step.changed for step in steps)

    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = config.state_bucket
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert rule["BucketKeyEnabled"] is True
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    }
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    (deny,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Resource"] == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]

    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table = dynamodb.describe_table(TableName=config.state_lock_table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "LockID", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["DeletionProtectionEnabled"] is True
    backups = dynamodb.describe_continuous_backups(TableName=config.state_lock_table)
    assert (
        backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
        == "ENABLED"
    )


def test_second_run_changes_nothing_and_says_so(aws, capsys):
    assert cli.main(["bootstrap", "staging"]) == 0
    first = capsys.readouterr().out
    assert "Bootstrapped: 8 change(s) made." in first

    assert cli.main(["bootstrap", "staging"]) == 0
    second = capsys.readouterr().out
    assert "Nothing to change: already bootstrapped." in second
    assert "+ " not in second
    assert second.count("= ") == 10


def test_drift_is_repaired_and_only_the_drift(aws):
    config = load("test")
    run(config)
    boto3.client("s3").put_bucket_versioning(
        Bucket=config.state_bucket, VersioningConfiguration={"Status": "Suspended"}
    )
    changed = [(s.resource, s.setting) for s in run(config) if s.changed]
    assert changed == [(f"s3://{config.state_bucket}", "versioning enabled")]
    assert boto3.client("s3").get_bucket_versioning(Bucket=config.state_bucket)["Status"] == "Enabled"


def test_other_regions_get_a_location_constraint(aws):
    # The stacks need us-east-1 today; bootstrap does not, and is ready.
    config = unvalidated_replace(load("test"), region="eu-west-1")
    run(config)
    location = boto3.client("s3", region_name="eu-west-1").get_bucket_location(Bucket=config.state_bucket)
    assert location["LocationConstraint"] == "eu-west-1"


def test_lock_table_is_skipped_when_dynamodb_locking_is_off(aws):
    config = dataclasses.replace(
        load("test"), state_backend=dataclasses.replace(load("test").state_backend, dynamodb_locking=False)
    )
    steps = run(config)
    assert not any(s.resource.startswith("dynamodb://") for s in steps)
    assert boto3.client("dynamodb").list_tables()["TableNames"] == []


def test_wrong_account_is_refused_before_anything_is_created(aws):
    config = dataclasses.replace(load("test"), account_id="210987654321")
    with pytest.raises(
        OpsError, match="credentials are for account 123456789012, but environment 'test' lives in 210987654321"
    ):
        run(config)
    assert boto3.client("s3").list_buckets()["Buckets"] == []


def test_a_lock_table_with_the_wrong_key_is_reported(aws):
    config = load("test")
    boto3.client("dynamodb").create_table(
        TableName=config.state_lock_table,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    with pytest.raises(OpsError, match="partition key \\['id'\\], not 'LockID'"):
        run(config)


def test_missing_credentials_give_one_clear_line(no_aws_credentials, capsys):
    assert cli.main(["bootstrap", "test"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: no AWS credentials while checking which AWS account")
    assert "\n" not in err and "Traceback" not in err


def test_unknown_environment_is_a_usage_error(capsys):
    assert cli.main(["bootstrap", "prod"]) == 2
    assert "valid names are test, staging, production" in capsys.readouterr().err


def _stubbed(config):
    """A bootstrapper whose clients answer from botocore Stubbers.

    moto cannot deny access or own a bucket from another account, so these
    answers are stubbed; the code under test is unchanged.
    """
    boot = bootstrap.Bootstrapper(
        config, boto3.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    )
    sts, s3 = Stubber(boot.sts), Stubber(boot.s3)
    sts.add_response(
        "get_caller_identity",
        {"Account": config.account_id, "Arn": "arn:aws:iam::123456789012:user/ops", "UserId": "ops"},
    )
    return boot, sts, s3


def test_access_denied_names_the_operation():
    config = load("test")
    boot, sts, s3 = _stubbed(config)
    s3.add_client_error("head_bucket", service_error_code="404", http_status_code=404)
    s3.add_client_error(
        "create_bucket",
        service_error_code="AccessDenied",
        service_message="User: arn:aws:iam::123456789012:user/ops is not authorized to perform: s3:CreateBucket",
        http_status_code=403,
    )
    with sts, s3, pytest.raises(OpsError) as caught:
        boot.run()
    assert str(caught.value) == (
        f"access denied while configuring s3://{config.state_bucket}: CreateBucket needs s3:CreateBucket "
        "(User: arn:aws:iam::123456789012:user/ops is not authorized to perform: s3:CreateBucket); "
        "your role needs that permission"
    )


def test_a_bucket_owned_elsewhere_suggests_another_name():
    boot, sts, s3 = _stubbed(load("production"))
    s3.add_client_error("head_bucket", service_error_code="403", http_status_code=403)
    with sts, s3, pytest.raises(OpsError, match="set state_backend.bucket in environments/production.py"):
        boot.run()
