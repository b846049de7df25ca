"""A private S3 bucket that owns its parts, as terraform-aws-s3-bucket does:
owner-enforced, every public access blocked, versioned, encrypted (with the
project key, or SSE-S3 where a service needs it), a lifecycle, and a policy
that always denies plain HTTP, plus the statements its caller adds.

No state moves: its elements keep their stack-level logical IDs (modules/ids.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from cdktf import TerraformElement
from cdktf_cdktf_provider_aws.s3_bucket import S3Bucket
from cdktf_cdktf_provider_aws.s3_bucket_lifecycle_configuration import (
    S3BucketLifecycleConfiguration,
    S3BucketLifecycleConfigurationRule,
    S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload,
    S3BucketLifecycleConfigurationRuleExpiration,
    S3BucketLifecycleConfigurationRuleFilter,
    S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration,
    S3BucketLifecycleConfigurationRuleTransition,
)
from cdktf_cdktf_provider_aws.s3_bucket_logging import S3BucketLoggingA
from cdktf_cdktf_provider_aws.s3_bucket_ownership_controls import (
    S3BucketOwnershipControls,
    S3BucketOwnershipControlsRule,
)
from cdktf_cdktf_provider_aws.s3_bucket_policy import S3BucketPolicy
from cdktf_cdktf_provider_aws.s3_bucket_public_access_block import S3BucketPublicAccessBlock
from cdktf_cdktf_provider_aws.s3_bucket_server_side_encryption_configuration import (
    S3BucketServerSideEncryptionConfigurationA,
    S3BucketServerSideEncryptionConfigurationRuleA,
    S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA,
)
from cdktf_cdktf_provider_aws.s3_bucket_versioning import (
    S3BucketVersioningA,
    S3BucketVersioningVersioningConfiguration,
)
from constructs import Construct

from environments.config import ArtifactLifecycle
from modules.checks import skip_checks
from modules.iam import Statement, deny_insecure_transport, policy_document
from modules.ids import keep_logical_id

T = TypeVar("T", bound=TerraformElement)


@dataclass(frozen=True)
class BucketSpec:
    # The construct ID of the bucket (`aws_s3_bucket.<id>`); its parts are `<id>_policy`, `<id>_versioning`...
    construct_id: str
    name: str
    lifecycle: ArtifactLifecycle
    # The lifecycle rule's ID, and whether objects move to STANDARD_IA (after lifecycle.transition_to_ia_days).
    lifecycle_rule_id: str
    transition_to_ia: bool = False
    # The project key (SSE-KMS with a bucket key), or None for SSE-S3.
    kms_key_arn: str | None = None
    # Statements the policy adds to its Deny of plain HTTP, given the bucket.
    policy_statements: Callable[[S3Bucket], Sequence[Statement]] = lambda bucket: ()
    checkov_skips: dict[str, str] = field(default_factory=dict)


class PrivateBucket(Construct):
    def __init__(self, scope: Construct, spec: BucketSpec):
        super().__init__(scope, f"{spec.construct_id}_unit")
        self.bucket = keep_logical_id(S3Bucket(self, spec.construct_id, bucket=spec.name, force_destroy=False))
        skip_checks(self.bucket, spec.checkov_skips)
        self._part(
            S3BucketOwnershipControls,
            "ownership",
            rule=S3BucketOwnershipControlsRule(object_ownership="BucketOwnerEnforced"),
        )
        self._part(
            S3BucketPublicAccessBlock,
            "public_access_block",
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        self._part(
            S3BucketVersioningA,
            "versioning",
            versioning_configuration=S3BucketVersioningVersioningConfiguration(status="Enabled"),
        )
        self._encryption(spec)
        self._lifecycle(spec)
        statements = [*spec.policy_statements(self.bucket), deny_insecure_transport(self.bucket.arn)]
        document = policy_document(self, f"{spec.construct_id}_policy_document", statements)
        self.policy = self._part(S3BucketPolicy, "policy", policy=document.json)

    def _part(self, resource: Callable[..., T], suffix: str, **settings) -> T:
        """A part of the bucket: `<construct_id>_<suffix>`, on this bucket, at
        its stack-level logical ID."""
        return keep_logical_id(resource(self, f"{self.bucket.node.id}_{suffix}", bucket=self.bucket.id, **settings))

    def logs_to(self, target: PrivateBucket, prefix: str) -> None:
        """Server access logs into `target`, once its policy lets S3 write there."""
        self._part(
            S3BucketLoggingA,
            "logging",
            target_bucket=target.bucket.id,
            target_prefix=prefix,
            # S3 checks the target bucket's policy when logging is turned
            # on; the policy must exist first.
            depends_on=[target.policy],
        )

    def _encryption(self, spec: BucketSpec) -> None:
        if spec.kms_key_arn:
            default = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=spec.kms_key_arn
            )
            # One data key per bucket instead of one KMS call per object.
            rule = S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=default, bucket_key_enabled=True
            )
        else:
            default = S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="AES256"
            )
            rule = S3BucketServerSideEncryptionConfigurationRuleA(apply_server_side_encryption_by_default=default)
        self._part(S3BucketServerSideEncryptionConfigurationA, "encryption", rule=[rule])

    def _lifecycle(self, spec: BucketSpec) -> None:
        lifecycle = spec.lifecycle
        extra = {}
        if spec.transition_to_ia:
            extra["transition"] = [
                S3BucketLifecycleConfigurationRuleTransition(
                    days=lifecycle.transition_to_ia_days, storage_class="STANDARD_IA"
                )
            ]
        self._part(
            S3BucketLifecycleConfiguration,
            "lifecycle",
            rule=[
                S3BucketLifecycleConfigurationRule(
                    id=spec.lifecycle_rule_id,
                    status="Enabled",
                    filter=[S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                    expiration=[S3BucketLifecycleConfigurationRuleExpiration(days=lifecycle.expiration_days)],
                    noncurrent_version_expiration=[
                        S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                            noncurrent_days=lifecycle.noncurrent_version_expiration_days
                        )
                    ],
                    abort_incomplete_multipart_upload=[
                        S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                            days_after_initiation=lifecycle.abort_incomplete_multipart_upload_days
                        )
                    ],
                    **extra,
                )
            ],
        )
