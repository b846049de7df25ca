"""The private bucket unit (modules/bucket.py) synthesized alone in a scratch
stack: it owns every part a private bucket needs, and each part keeps its
stack-level address (no state moves)."""

from __future__ import annotations

import json

import pytest

from environments import load

pytestmark = pytest.mark.constructs


@pytest.fixture(scope="module")
def synthesized():
    from cdktf import Testing

    from modules.base_stack import BaseStack
    from modules.bucket import BucketSpec, PrivateBucket

    config = load("test")
    stack = BaseStack(Testing.app(), "core", config)
    logs = PrivateBucket(stack, BucketSpec("logs", "demo-logs", config.artifact_lifecycle, "keep-logs"))
    data = PrivateBucket(
        stack,
        BucketSpec("data", "demo-data", config.artifact_lifecycle, "keep-data", transition_to_ia=True, kms_key_arn="k"),
    )
    data.logs_to(logs, "access/")
    return json.loads(Testing.synth(stack))


@pytest.mark.parametrize("bucket", ["logs", "data"])
def test_every_part_of_a_private_bucket(synthesized, bucket):
    resources = synthesized["resource"]
    for kind, suffix in (
        ("aws_s3_bucket_ownership_controls", "ownership"),
        ("aws_s3_bucket_public_access_block", "public_access_block"),
        ("aws_s3_bucket_versioning", "versioning"),
        ("aws_s3_bucket_server_side_encryption_configuration", "encryption"),
        ("aws_s3_bucket_lifecycle_configuration", "lifecycle"),
        ("aws_s3_bucket_policy", "policy"),
    ):
        assert resources[kind][f"{bucket}_{suffix}"]["bucket"] == f"${{aws_s3_bucket.{bucket}.id}}", kind
    block = resources["aws_s3_bucket_public_access_block"][f"{bucket}_public_access_block"]
    assert all(
        block[k] is True
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    statements = synthesized["data"]["aws_iam_policy_document"][f"{bucket}_policy_document"]["statement"]
    assert statements[-1]["sid"] == "DenyInsecureTransport" and statements[-1]["effect"] == "Deny"


def test_encryption_lifecycle_and_logging_follow_the_spec(synthesized):
    resources = synthesized["resource"]
    kms = resources["aws_s3_bucket_server_side_encryption_configuration"]["data_encryption"]["rule"][0]
    assert kms["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms" and kms["bucket_key_enabled"]
    s3 = resources["aws_s3_bucket_server_side_encryption_configuration"]["logs_encryption"]["rule"][0]
    assert s3["apply_server_side_encryption_by_default"]["sse_algorithm"] == "AES256"
    assert "transition" in resources["aws_s3_bucket_lifecycle_configuration"]["data_lifecycle"]["rule"][0]
    assert "transition" not in resources["aws_s3_bucket_lifecycle_configuration"]["logs_lifecycle"]["rule"][0]
    logging = resources["aws_s3_bucket_logging"]["data_logging"]
    assert logging["target_bucket"] == "${aws_s3_bucket.logs.id}"
    assert logging["depends_on"] == ["aws_s3_bucket_policy.logs_policy"]
    assert not [name for body in resources.values() for name in body if "_unit_" in name]
