"""Create an environment's Terraform state bucket and lock table, idempotently.

    python -m ops bootstrap test [--profile NAME]

Like `cdk bootstrap`: run it once per environment before the first deploy.
Each setting is read first and written only when it differs, so a second run
changes nothing and says so. The bucket and table are not managed by any
stack: they hold the stacks' state, so they must outlive them.
"""

from __future__ import annotations

import json

import botocore.exceptions

from environments import EnvironmentConfig
from ops.aws import OpsError
from ops.common import code
from ops.reconcile import Reconciler, explained, read_or_none
from topology import naming

LOCK_TABLE_KEY = "LockID"  # the attribute name Terraform's S3 backend uses


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


class Bootstrapper(Reconciler):
    NOUN = "resource"
    CHANGED = "Bootstrapped: {changes} change(s) made."
    UNCHANGED = "Nothing to change: already bootstrapped."

    def __init__(self, config: EnvironmentConfig, boto_session):
        super().__init__(config, boto_session)
        self.bucket = config.state_bucket
        self.table = config.state_lock_table
        self.s3 = boto_session.client("s3")
        self.dynamodb = boto_session.client("dynamodb")

    def title(self) -> str:
        return f"State backend for {self.config.name} ({self.config.account_id}, {self.config.region}):"

    def run(self):
        self.require_account(
            f"environment {self.config.name!r}",
            f" (environments/{self.config.name}.py: account_id); switch credentials or fix the config",
        )
        self._bucket()
        if self.config.state_backend.dynamodb_locking:
            self._lock_table()
        return self.steps

    # --- bucket ----------------------------------------------------------
    def _bucket(self) -> None:
        resource = f"s3://{self.bucket}"
        with explained(f"configuring {resource}"):
            self._ensure_bucket_exists(resource)
            for what, read, desired, write in self._bucket_settings():
                self.ensure(resource, what, read=read, desired=desired, write=write)

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
            self.record(resource, "exists", False)
            return
        except botocore.exceptions.ClientError as error:
            if code(error) in ("403", "AccessDenied"):
                raise OpsError(
                    f"bucket {self.bucket} exists but belongs to another account, or you may not read it; "
                    f"set state_backend.bucket in environments/{self.config.name}.py to another name"
                ) from error
            if code(error) not in ("404", "NoSuchBucket", "NotFound"):
                raise
        create = {"Bucket": self.bucket}
        if self.config.region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": self.config.region}
        self.s3.create_bucket(**create)
        self.record(resource, "exists", True)

    def _ownership(self):
        return read_or_none(
            lambda: self.s3.get_bucket_ownership_controls(Bucket=self.bucket)["OwnershipControls"]["Rules"],
            "OwnershipControlsNotFoundError",
        )

    def _public_access_block(self):
        return read_or_none(
            lambda: self.s3.get_public_access_block(Bucket=self.bucket)["PublicAccessBlockConfiguration"],
            "NoSuchPublicAccessBlockConfiguration",
        )

    def _encryption(self):
        rules = read_or_none(
            lambda: self.s3.get_bucket_encryption(Bucket=self.bucket)["ServerSideEncryptionConfiguration"]["Rules"],
            "ServerSideEncryptionConfigurationNotFoundError",
        )
        return rules[0] if rules is not None and len(rules) == 1 else rules

    def _policy(self):
        return read_or_none(
            lambda: json.loads(self.s3.get_bucket_policy(Bucket=self.bucket)["Policy"]), "NoSuchBucketPolicy"
        )

    # --- lock table ------------------------------------------------------
    def _lock_table(self) -> None:
        resource = f"dynamodb://{self.table}"
        with explained(f"configuring {resource}"):
            table = read_or_none(
                lambda: self.dynamodb.describe_table(TableName=self.table)["Table"], "ResourceNotFoundException"
            )
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
                self.record(resource, "exists (PAY_PER_REQUEST, SSE-KMS)", True)
            else:
                key = [k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "HASH"]
                if key != [LOCK_TABLE_KEY]:
                    raise OpsError(
                        f"table {self.table} exists with partition key {key}, not {LOCK_TABLE_KEY!r}: Terraform "
                        f"cannot lock with it; set state_backend.lock_table in environments/{self.config.name}.py"
                    )
                self.record(resource, "exists (PAY_PER_REQUEST, SSE-KMS)", False)
                self.ensure(
                    resource,
                    "billing PAY_PER_REQUEST",
                    read=lambda: table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED"),
                    desired="PAY_PER_REQUEST",
                    write=lambda: self.dynamodb.update_table(TableName=self.table, BillingMode="PAY_PER_REQUEST"),
                )
                self.ensure(
                    resource,
                    "encrypted with SSE-KMS",
                    read=lambda: table.get("SSEDescription", {}).get("Status"),
                    desired="ENABLED",
                    write=lambda: self.dynamodb.update_table(
                        TableName=self.table, SSESpecification={"Enabled": True, "SSEType": "KMS"}
                    ),
                )
            self.ensure(
                resource,
                "point-in-time recovery",
                read=self._point_in_time_recovery,
                desired="ENABLED",
                write=lambda: self.dynamodb.update_continuous_backups(
                    TableName=self.table,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                ),
            )

    def _point_in_time_recovery(self):
        backups = self.dynamodb.describe_continuous_backups(TableName=self.table)["ContinuousBackupsDescription"]
        return backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus")
