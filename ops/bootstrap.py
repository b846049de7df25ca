"""Create an environment's Terraform state bucket and lock table, idempotently.

    python -m ops bootstrap test [--profile NAME]

Like `cdk bootstrap`: run it once per environment before the first deploy.
Each setting is read first and written only when it differs, so a second run
changes nothing and says so. The bucket and table are not managed by any
stack: they hold the stacks' state, so they must outlive them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import botocore.exceptions

from environments import EnvironmentConfig
from ops.aws import AWS_ERRORS, OpsError, explain
from topology import naming

LOCK_TABLE_KEY = "LockID"  # the attribute name Terraform's S3 backend uses


@dataclass(frozen=True)
class Step:
    resource: str
    setting: str
    changed: bool


def _code(error: botocore.exceptions.ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _deny_insecure_transport_policy(bucket: str, partition: str) -> dict:
    arn = naming.arn(partition, "s3", "", "", bucket)
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


class Bootstrapper:
    def __init__(self, config: EnvironmentConfig, boto_session):
        self.config = config
        self.bucket = config.state_bucket
        self.table = config.state_lock_table
        self.s3 = boto_session.client("s3")
        self.dynamodb = boto_session.client("dynamodb")
        self.sts = boto_session.client("sts")
        self.steps: list[Step] = []

    def run(self) -> list[Step]:
        self._check_account()
        self._bucket()
        if self.config.state_backend.dynamodb_locking:
            self._lock_table()
        return self.steps

    def _record(self, resource: str, setting: str, changed: bool) -> None:
        self.steps.append(Step(resource, setting, changed))

    def _check_account(self) -> None:
        try:
            account = self.sts.get_caller_identity()["Account"]
        except AWS_ERRORS as error:
            raise explain(error, "checking which AWS account the credentials belong to") from error
        if account != self.config.account_id:
            raise OpsError(
                f"the credentials are for account {account}, but environment {self.config.name!r} "
                f"lives in {self.config.account_id} (environments/{self.config.name}.py: account_id); "
                "switch credentials or fix the config"
            )

    # --- bucket ----------------------------------------------------------
    def _bucket(self) -> None:
        resource = f"s3://{self.bucket}"
        try:
            self._ensure_bucket_exists(resource)
            for what, read, desired, write in self._bucket_settings():
                self._ensure(resource, what, read=read, desired=desired, write=write)
        except OpsError:
            raise
        except AWS_ERRORS as error:
            raise explain(error, f"configuring {resource}") from error

    def _bucket_settings(self) -> list[tuple]:
        """Each setting of the state bucket: (what, read, desired value, write)."""
        s3, bucket = self.s3, self.bucket
        ownership = [{"ObjectOwnership": "BucketOwnerEnforced"}]
        block = {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
        # The project's KMS key is created by core-{env}, whose state lives
        # here, so the state bucket uses the AWS-managed S3 key instead.
        encryption = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
        policy = _deny_insecure_transport_policy(bucket, self.config.partition)
        return [
            (
                "object ownership BucketOwnerEnforced",
                self._ownership,
                ownership,
                lambda: s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": ownership}),
            ),
            (
                "public access blocked",
                self._public_access_block,
                block,
                lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=block),
            ),
            (
                "versioning enabled",
                lambda: s3.get_bucket_versioning(Bucket=bucket).get("Status"),
                "Enabled",
                lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}),
            ),
            (
                "encrypted with SSE-KMS",
                self._encryption,
                encryption,
                lambda: s3.put_bucket_encryption(
                    Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [encryption]}
                ),
            ),
            (
                "policy denies non-TLS requests",
                self._policy,
                policy,
                lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy)),
            ),
        ]

    def _ensure_bucket_exists(self, resource: str) -> None:
        try:
            self.s3.head_bucket(Bucket=self.bucket, ExpectedBucketOwner=self.config.account_id)
            self._record(resource, "exists", False)
            return
        except botocore.exceptions.ClientError as error:
            if _code(error) in ("403", "AccessDenied"):
                raise OpsError(
                    f"bucket {self.bucket} exists but belongs to another account, or you may not read it; "
                    f"set state_backend.bucket in environments/{self.config.name}.py to another name"
                ) from error
            if _code(error) not in ("404", "NoSuchBucket", "NotFound"):
                raise
        create = {"Bucket": self.bucket}
        if self.config.region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": self.config.region}
        self.s3.create_bucket(**create)
        self._record(resource, "exists", True)

    def _ownership(self):
        try:
            return self.s3.get_bucket_ownership_controls(Bucket=self.bucket)["OwnershipControls"]["Rules"]
        except botocore.exceptions.ClientError as error:
            if _code(error) == "OwnershipControlsNotFoundError":
                return None
            raise

    def _public_access_block(self):
        try:
            return self.s3.get_public_access_block(Bucket=self.bucket)["PublicAccessBlockConfiguration"]
        except botocore.exceptions.ClientError as error:
            if _code(error) == "NoSuchPublicAccessBlockConfiguration":
                return None
            raise

    def _encryption(self):
        try:
            rules = self.s3.get_bucket_encryption(Bucket=self.bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        except botocore.exceptions.ClientError as error:
            if _code(error) == "ServerSideEncryptionConfigurationNotFoundError":
                return None
            raise
        return rules[0] if len(rules) == 1 else rules

    def _policy(self):
        try:
            return json.loads(self.s3.get_bucket_policy(Bucket=self.bucket)["Policy"])
        except botocore.exceptions.ClientError as error:
            if _code(error) == "NoSuchBucketPolicy":
                return None
            raise

    def _ensure(self, resource: str, setting: str, read, desired, write) -> None:
        if read() == desired:
            self._record(resource, setting, False)
            return
        write()
        self._record(resource, setting, True)

    # --- lock table ------------------------------------------------------
    def _lock_table(self) -> None:
        resource = f"dynamodb://{self.table}"
        try:
            table = self._describe_table()
            if table is None:
                self.dynamodb.create_table(
                    TableName=self.table,
                    BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": LOCK_TABLE_KEY, "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": LOCK_TABLE_KEY, "KeyType": "HASH"}],
                    SSESpecification={"Enabled": True, "SSEType": "KMS"},
                    DeletionProtectionEnabled=True,
                )
                self.dynamodb.get_waiter("table_exists").wait(
                    TableName=self.table, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
                )
                self._record(resource, "exists (PAY_PER_REQUEST, SSE-KMS)", True)
            else:
                key = [k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "HASH"]
                if key != [LOCK_TABLE_KEY]:
                    raise OpsError(
                        f"table {self.table} exists with partition key {key}, not {LOCK_TABLE_KEY!r}: Terraform "
                        f"cannot lock with it; set state_backend.lock_table in environments/{self.config.name}.py"
                    )
                self._record(resource, "exists (PAY_PER_REQUEST, SSE-KMS)", False)
                self._ensure(
                    resource,
                    "billing PAY_PER_REQUEST",
                    read=lambda: table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
                    desired="PAY_PER_REQUEST",
                    write=lambda: self.dynamodb.update_table(TableName=self.table, BillingMode="PAY_PER_REQUEST"),
                )
                self._ensure(
                    resource,
                    "encrypted with SSE-KMS",
                    read=lambda: table.get("SSEDescription", {}).get("Status"),
                    desired="ENABLED",
                    write=lambda: self.dynamodb.update_table(
                        TableName=self.table, SSESpecification={"Enabled": True, "SSEType": "KMS"}
                    ),
                )
            self._ensure(
                resource,
                "point-in-time recovery",
                read=self._point_in_time_recovery,
                desired="ENABLED",
                write=lambda: self.dynamodb.update_continuous_backups(
                    TableName=self.table,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                ),
            )
        except OpsError:
            raise
        except AWS_ERRORS as error:
            raise explain(error, f"configuring {resource}") from error

    def _describe_table(self):
        try:
            return self.dynamodb.describe_table(TableName=self.table)["Table"]
        except botocore.exceptions.ClientError as error:
            if _code(error) == "ResourceNotFoundException":
                return None
            raise

    def _point_in_time_recovery(self):
        backups = self.dynamodb.describe_continuous_backups(TableName=self.table)["ContinuousBackupsDescription"]
        return backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")


def report(config: EnvironmentConfig, steps: list[Step]) -> str:
    lines = [f"State backend for {config.name} ({config.account_id}, {config.region}):"]
    for step in steps:
        lines.append(f"  {'+' if step.changed else '='} {step.resource}: {step.setting}")
    changes = sum(step.changed for step in steps)
    if changes:
        lines.append(f"Bootstrapped: {changes} change(s) made.")
    else:
        lines.append("Nothing to change: already bootstrapped.")
    return "\n".join(lines)
