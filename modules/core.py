"""core-{env}: the KMS key, artifacts bucket, deployments table and log groups
that the pipeline and monitoring stacks build on."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf import TerraformOutput
from cdktf_cdktf_provider_aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
    DynamodbTableTtl,
)
from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from constructs import Construct

from environments import EnvironmentConfig
from functions.shared import records
from modules.base_stack import BaseStack
from modules.bucket import BucketSpec, PrivateBucket
from modules.checks import skip_checks
from modules.iam import Statement, account_root, from_service, policy_document
from topology import naming

# Deployment records: `deploymentId` identifies one record; the index serves
# the runbook's "latest deployments of this environment" query, newest first,
# because ISO-8601 UTC timestamps sort as strings in time order.
DEPLOYMENTS_PARTITION_KEY = records.KEY
DEPLOYMENTS_INDEX_PARTITION_KEY = records.INDEX_PARTITION
DEPLOYMENTS_INDEX_SORT_KEY = records.INDEX_SORT
DEPLOYMENTS_TTL_ATTRIBUTE = records.EXPIRES

# Where the artifacts bucket's access logs go, inside the access-log bucket.
ACCESS_LOG_PREFIX = "artifacts/"

# What a service needs to encrypt and decrypt with the key; never `kms:*`.
_KMS_USE = [
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
]
# What a service needs to publish to a KMS-encrypted SNS topic.
_KMS_PUBLISH_TO_TOPIC = ["kms:Decrypt", "kms:GenerateDataKey"]


@dataclass(frozen=True)
class CoreOutputs:
    """What the pipeline and monitoring stacks receive from core.

    The values are Terraform references; used in another stack, CDKTF turns
    each into a `terraform_remote_state` read of this stack's outputs.
    """

    kms_key_arn: str
    # The asymmetric key the build signs its artifact's digest with (only the
    # build project's role may sign; the deploy projects verify).
    signing_key_arn: str
    artifacts_bucket_name: str
    artifacts_bucket_arn: str
    deployments_table_name: str
    deployments_table_arn: str
    pipeline_log_group_name: str
    pipeline_log_group_arn: str
    rollback_log_group_name: str
    rollback_log_group_arn: str


class CoreStack(BaseStack):
    def __init__(self, scope: Construct, config: EnvironmentConfig):
        super().__init__(scope, "core", config)
        self.key = self._kms_key()
        self.signing_key = self._signing_key()
        self.bucket = self._artifacts_bucket()
        self.table = self._deployments_table()
        self.pipeline_log_group = self.log_group("pipeline_log_group", self.names.pipeline_log_group, self.key.arn)
        self.rollback_log_group = self.log_group("rollback_log_group", self.names.rollback_log_group, self.key.arn)

        self.outputs = CoreOutputs(
            kms_key_arn=self.key.arn,
            signing_key_arn=self.signing_key.arn,
            artifacts_bucket_name=self.bucket.bucket,
            artifacts_bucket_arn=self.bucket.arn,
            deployments_table_name=self.table.name,
            deployments_table_arn=self.table.arn,
            pipeline_log_group_name=self.pipeline_log_group.name,
            pipeline_log_group_arn=self.pipeline_log_group.arn,
            rollback_log_group_name=self.rollback_log_group.name,
            rollback_log_group_arn=self.rollback_log_group.arn,
        )
        for name, value in vars(self.outputs).items():
            TerraformOutput(self, name, value=value)

    # --- KMS -------------------------------------------------------------
    def _kms_key(self) -> KmsKey:
        config, names = self.config, self.names
        env_prefix = names.pipeline  # kiro-pipeline-{env}
        sns_via = f"sns.{config.region}.amazonaws.com"
        statements = [
            Statement(
                sid="EnableRootAccountAdministration",
                # The account root keeps full control so the key can never
                # become unmanageable; every other principal gets use only.
                actions=["kms:*"],
                # In a key policy, "*" means "this key": AWS requires it.
                resources=["*"],
                aws_principals=[account_root(self.partition, config.account_id)],
            ),
            Statement(
                sid="AllowCloudWatchLogsForThisEnvironment",
                actions=_KMS_USE,
                resources=["*"],  # key policy: "*" is this key
                service_principals=[f"logs.{config.region}.amazonaws.com"],
                conditions={
                    ("ArnLike", "kms:EncryptionContext:aws:logs:arn"): [
                        self.arn("logs", f"log-group:/aws/codepipeline/{env_prefix}"),
                        self.arn("logs", f"log-group:/aws/codebuild/{env_prefix}-*"),
                        self.arn("logs", f"log-group:/aws/lambda/{env_prefix}-*"),
                    ]
                },
            ),
            # This environment's alarms and rules publish to its topics.
            *(
                from_service(
                    sid,
                    _KMS_PUBLISH_TO_TOPIC,
                    ["*"],  # key policy: "*" is this key
                    service=f"{service}.amazonaws.com",
                    account_id=config.account_id,
                    source_arn=self.arn(service, resource),
                )
                for sid, service, resource in (
                    ("AllowAlarmNotificationsToEncryptedTopics", "cloudwatch", f"alarm:{env_prefix}-*"),
                    ("AllowEventBridgeToEncryptedTopics", "events", f"rule/{env_prefix}-*"),
                )
            ),
            Statement(
                sid="AllowPipelineNotificationsToEncryptedTopics",
                actions=_KMS_PUBLISH_TO_TOPIC,
                resources=["*"],  # key policy: "*" is this key
                service_principals=["codestar-notifications.amazonaws.com"],
                conditions={("StringEquals", "kms:ViaService"): [sns_via]},
            ),
            Statement(
                sid="AllowProjectRolesThroughTheirServices",
                # CodePipeline and CodeBuild use the key through S3 (artifacts)
                # and CloudWatch Logs; DynamoDB, SNS, SQS, Lambda and Secrets
                # Manager (the Slack webhook) encrypt
                # with it on a caller's behalf. Only this environment's roles, only via
                # those services, only from this account.
                actions=_KMS_USE,
                resources=["*"],  # key policy: "*" is this key
                aws_principals=[account_root(self.partition, config.account_id)],
                conditions={
                    ("StringEquals", "kms:CallerAccount"): [config.account_id],
                    ("StringEquals", "kms:ViaService"): [
                        f"{service}.{config.region}.amazonaws.com"
                        for service in (
                            "codebuild",
                            "codepipeline",
                            "dynamodb",
                            "lambda",
                            "s3",
                            "secretsmanager",
                            "sns",
                            "sqs",
                        )
                    ],
                    ("ArnLike", "aws:PrincipalArn"): [
                        naming.arn(self.partition, "iam", "", config.account_id, f"role/{env_prefix}-*")
                    ],
                },
            ),
            Statement(
                sid="AllowDynamoDbGrantsForThisEnvironment",
                # DynamoDB encrypts a table with a customer key through a grant
                # that it creates on the caller's behalf.
                actions=["kms:CreateGrant"],
                resources=["*"],  # key policy: "*" is this key
                aws_principals=[account_root(self.partition, config.account_id)],
                conditions={
                    ("StringEquals", "kms:CallerAccount"): [config.account_id],
                    ("StringEquals", "kms:ViaService"): [f"dynamodb.{config.region}.amazonaws.com"],
                    ("Bool", "kms:GrantIsForAWSResource"): ["true"],
                },
            ),
        ]
        key_policy = policy_document(self, "key_policy", statements)
        skip_checks(
            key_policy,
            {
                "CKV_AWS_109": "a key policy's * resource is the key itself; only the account root holds kms:*, "
                "so the key can never become unmanageable",
                "CKV_AWS_111": "a key policy's * resource is the key itself; every non-root statement is "
                "limited by service, source or caller conditions",
                "CKV_AWS_356": "AWS requires Resource * in a key policy, where it means this key only",
            },
        )
        key = KmsKey(
            self,
            "key",
            description=f"Encrypts kiro-pipeline {config.name} artifacts, records, logs and notifications",
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=config.kms_deletion_window_days,
            policy=key_policy.json,
            tags={"Name": names.kms_key},
        )
        KmsAlias(self, "key_alias", name=names.kms_alias, target_key_id=key.key_id)
        return key

    def _signing_key(self) -> KmsKey:
        """The key the build signs each artifact's manifest digest with
        (docs/security.md, "The same bytes from build to production").

        Only the build project's role may sign. The account statement ("gives
        the AWS account that owns the KMS key permission to use IAM policies to
        allow access to all AWS KMS operations on the KMS key",
        https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html)
        alone would let any principal whose IAM policy grants kms:Sign sign; the
        Deny closes that to all but the build role (an explicit deny wins over
        any allow: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).
        kms:Verify comes from IAM policies (the deploy roles, `ops provenance`)."""
        config, names = self.config, self.names
        build_role = naming.arn(self.partition, "iam", "", config.account_id, f"role/{names.role('build')}")
        statements = [
            Statement(
                sid="EnableRootAccountAdministration",
                actions=["kms:*"],
                resources=["*"],  # key policy: "*" is this key
                aws_principals=[account_root(self.partition, config.account_id)],
            ),
            Statement(
                sid="OnlyTheBuildRoleSigns",
                effect="Deny",
                actions=["kms:Sign"],
                resources=["*"],  # key policy: "*" is this key
                aws_principals=["*"],
                conditions={("ArnNotEquals", "aws:PrincipalArn"): [build_role]},
            ),
        ]
        key_policy = policy_document(self, "signing_key_policy", statements)
        skip_checks(
            key_policy,
            {
                "CKV_AWS_109": "a key policy's * resource is the key itself; only the account root holds kms:*",
                "CKV_AWS_111": "a key policy's * resource is the key itself; the only other statement is a Deny",
                "CKV_AWS_356": "AWS requires Resource * in a key policy, where it means this key only",
            },
        )
        key = KmsKey(
            self,
            "signing_key",
            description=f"Signs kiro-pipeline {config.name} build artifacts' manifest digests",
            customer_master_key_spec="ECC_NIST_P256",
            key_usage="SIGN_VERIFY",
            # Automatic rotation is for symmetric encryption keys only (checkov's
            # CKV_AWS_7 knows: it leaves asymmetric keys alone): "Automatic key
            # rotation is supported only on symmetric encryption KMS keys"
            # (https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html).
            enable_key_rotation=False,
            deletion_window_in_days=config.kms_deletion_window_days,
            policy=key_policy.json,
            tags={"Name": names.signing_key},
        )
        KmsAlias(self, "signing_key_alias", name=names.signing_key_alias, target_key_id=key.key_id)
        return key

    # --- S3 --------------------------------------------------------------
    def _artifacts_bucket(self) -> S3Bucket:
        """The pipeline's artifacts, encrypted with the project key, with its
        server access logs in a bucket of their own."""
        names, lifecycle = self.names, self.config.artifact_lifecycle
        artifacts_arn = self.arn("s3", names.artifacts_bucket, region=False, account=False)
        logs = PrivateBucket(
            self,
            BucketSpec(
                "access_logs_bucket",
                names.access_logs_bucket,
                lifecycle,
                "access-log-retention",
                policy_statements=lambda bucket: [
                    from_service(
                        "AllowServerAccessLogsOfTheArtifactsBucket",
                        ["s3:PutObject"],
                        [f"{bucket.arn}/{ACCESS_LOG_PREFIX}*"],
                        service="logging.s3.amazonaws.com",
                        account_id=self.config.account_id,
                        source_arn=artifacts_arn,
                    )
                ],
                checkov_skips={
                    "CKV_AWS_145": "S3 server access logging delivers only to buckets encrypted with SSE-S3, "
                    "not SSE-KMS",
                    "CKV_AWS_144": "cross-region replication is out of scope for 90-day access logs",
                    "CKV2_AWS_62": "nothing consumes events of the access-log bucket",
                },
            ),
        )
        artifacts = PrivateBucket(
            self,
            BucketSpec(
                "artifacts_bucket",
                names.artifacts_bucket,
                lifecycle,
                "artifact-retention",
                transition_to_ia=True,
                kms_key_arn=self.key.arn,
                checkov_skips={
                    "CKV_AWS_144": "cross-region replication is out of scope for a 90-day artifact bucket; "
                    "a lost region rebuilds artifacts from source",
                    "CKV2_AWS_62": "nothing consumes artifact-bucket events; CodePipeline tracks its own artifacts",
                },
            ),
        )
        artifacts.logs_to(logs, ACCESS_LOG_PREFIX)
        return artifacts.bucket

    # --- DynamoDB --------------------------------------------------------
    def _deployments_table(self) -> DynamodbTable:
        return DynamodbTable(
            self,
            "deployments_table",
            name=self.names.deployments_table,
            billing_mode="PAY_PER_REQUEST",
            hash_key=DEPLOYMENTS_PARTITION_KEY,
            attribute=[
                DynamodbTableAttribute(name=DEPLOYMENTS_PARTITION_KEY, type="S"),
                DynamodbTableAttribute(name=DEPLOYMENTS_INDEX_PARTITION_KEY, type="S"),
                DynamodbTableAttribute(name=DEPLOYMENTS_INDEX_SORT_KEY, type="S"),
            ],
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=self.names.deployments_index,
                    hash_key=DEPLOYMENTS_INDEX_PARTITION_KEY,
                    range_key=DEPLOYMENTS_INDEX_SORT_KEY,
                    projection_type="ALL",
                )
            ],
            ttl=DynamodbTableTtl(attribute_name=DEPLOYMENTS_TTL_ATTRIBUTE, enabled=True),
            point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
            server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=self.key.arn),
            deletion_protection_enabled=self.config.deletion_protection,
        )
