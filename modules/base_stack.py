"""What every kiro-pipeline stack shares: the AWS provider and the state backend."""

from __future__ import annotations

from cdktf import S3Backend, TerraformStack
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from cdktf_cdktf_provider_aws.provider import AwsProvider, AwsProviderDefaultTags
from constructs import Construct

from environments import EnvironmentConfig
from modules.checks import LOG_RETENTION, skip_checks
from modules.ids import keep_logical_id
from topology import naming

# S3-native locking (`use_lockfile`) needs Terraform 1.10.
REQUIRED_TERRAFORM_VERSION = ">= 1.10.0"


class BaseStack(TerraformStack):
    """A stack `{concern}-{env}` with its provider, default tags and backend."""

    def __init__(self, scope: Construct, concern: str, config: EnvironmentConfig):
        stack_id = naming.stack_id(concern, config.name)
        super().__init__(scope, stack_id)
        self.config = config
        self.names = config.names

        AwsProvider(
            self,
            "aws",
            region=config.region,
            # A plan run with credentials for the wrong account fails instead
            # of creating a second copy of the environment there.
            allowed_account_ids=[config.account_id],
            default_tags=[
                AwsProviderDefaultTags(
                    tags={
                        "project": naming.PROJECT,
                        "environment": config.name,
                        "stack": stack_id,
                        "managed-by": "cdktf",
                    }
                )
            ],
        )

        backend = config.state_backend
        S3Backend(
            self,
            bucket=config.state_bucket,
            key=naming.state_key(stack_id),
            region=config.region,
            encrypt=True,
            dynamodb_table=config.state_lock_table if backend.dynamodb_locking else None,
        )
        # cdktf 0.21's S3Backend predates `use_lockfile`; the override writes
        # the same JSON that a native argument would.
        if backend.s3_native_locking:
            self.add_override("terraform.backend.s3.use_lockfile", True)
        self.add_override("terraform.required_version", REQUIRED_TERRAFORM_VERSION)

    def to_terraform(self):
        """The stack's JSON, with the remote-state reads CDKTF generated for
        cross-stack references made lock-free: a read takes no lock, and
        `dynamodb_table` there is deprecated (a warning in every validate)."""
        config = super().to_terraform()
        for read in config.get("data", {}).get("terraform_remote_state", {}).values():
            read.get("config", {}).pop("dynamodb_table", None)
            read.get("config", {}).pop("use_lockfile", None)
        return config

    def log_group(
        self, construct_id: str, name: str, kms_key_arn: str, scope: Construct | None = None
    ) -> CloudwatchLogGroup:
        """A log group encrypted with the project key, with the configured
        retention; in `scope` when a construct of this stack owns it."""
        group = keep_logical_id(
            CloudwatchLogGroup(
                scope or self,
                construct_id,
                name=name,
                retention_in_days=self.config.log_retention_days,
                kms_key_id=kms_key_arn,
            )
        )
        skip_checks(group, {"CKV_AWS_338": LOG_RETENTION})
        return group

    @property
    def partition(self) -> str:
        return self.config.partition

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        """An ARN in this environment's partition, region and account."""
        return naming.arn(
            self.partition,
            service,
            self.config.region if region else "",
            self.config.account_id if account else "",
            resource,
        )
