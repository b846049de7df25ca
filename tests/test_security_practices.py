"""The deployment guide's security practices, as checks over every stack:
encryption everywhere, no public buckets, log retention set, KMS rotation on."""

from __future__ import annotations

from environments import load_all
from topology import naming

KEY_REFERENCE = ("aws_kms_keykeyarn", "${aws_kms_key.key.arn}")


def resources(stacks, resource_type):
    for stack_id, stack in stacks.items():
        for name, body in stack.resources(resource_type).items():
            yield stack_id, name, body


def uses_project_key(value: str) -> bool:
    return any(marker in value for marker in KEY_REFERENCE)


def test_every_bucket_is_encrypted_private_and_versioned(stacks):
    for stack_id, stack in stacks.items():
        bucket_refs = {f"${{aws_s3_bucket.{name}.id}}" for name in stack.resources("aws_s3_bucket")}
        for resource_type in (
            "aws_s3_bucket_server_side_encryption_configuration",
            "aws_s3_bucket_public_access_block",
            "aws_s3_bucket_versioning",
            "aws_s3_bucket_policy",
            "aws_s3_bucket_ownership_controls",
        ):
            covered = {body["bucket"] for body in stack.resources(resource_type).values()}
            assert covered == bucket_refs, f"{stack_id}: {resource_type} missing for {bucket_refs - covered}"
        for body in stack.resources("aws_s3_bucket_public_access_block").values():
            assert all(
                body[k] is True
                for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
            )
        for body in stack.resources("aws_s3_bucket").values():
            assert "acl" not in body and "website" not in body


def test_everything_that_stores_data_is_encrypted_with_the_project_key(stacks):
    checks = {
        "aws_dynamodb_table": lambda b: (
            b["server_side_encryption"]["enabled"] and uses_project_key(b["server_side_encryption"]["kms_key_arn"])
        ),
        "aws_cloudwatch_log_group": lambda b: uses_project_key(b["kms_key_id"]),
        "aws_sns_topic": lambda b: uses_project_key(b["kms_master_key_id"]),
        "aws_sqs_queue": lambda b: uses_project_key(b["kms_master_key_id"]),
        "aws_codebuild_project": lambda b: uses_project_key(b["encryption_key"]),
        "aws_lambda_function": lambda b: uses_project_key(b["kms_key_arn"]),
        "aws_codepipeline": lambda b: uses_project_key(b["artifact_store"][0]["encryption_key"]["id"]),
    }
    seen = set()
    for resource_type, encrypted in checks.items():
        for stack_id, name, body in resources(stacks, resource_type):
            seen.add(resource_type)
            assert encrypted(body), f"{stack_id}: {resource_type}.{name} is not encrypted with the project key"
    assert seen == set(checks)


def test_every_log_group_has_retention(stacks):
    groups = list(resources(stacks, "aws_cloudwatch_log_group"))
    # Derived, not counted: the pipeline's group, one per CodeBuild project,
    # and one per Lambda function, in every environment.
    expected = set()
    for config in load_all():
        names = config.names
        functions = [
            body["function_name"]
            for stack_id, _, body in resources(stacks, "aws_lambda_function")
            if stack_id.endswith(f"-{config.name}")
        ]
        expected |= {
            names.pipeline_log_group,
            *(names.codebuild_log_group(k) for k in naming.CODEBUILD_PROJECTS),
            *(f"/aws/lambda/{f}" for f in functions),
        }
    assert {body["name"] for _, _, body in groups} == expected
    assert len(groups) == len(expected)
    for stack_id, name, body in groups:
        assert body.get("retention_in_days", 0) > 0, f"{stack_id}: {name} keeps logs forever"


def test_every_kms_key_rotates(stacks):
    """Every encryption key rotates; the signing keys cannot: "Automatic key
    rotation is supported only on symmetric encryption KMS keys"
    (https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html)."""
    keys = list(resources(stacks, "aws_kms_key"))
    signing = [body for _, _, body in keys if body.get("key_usage") == "SIGN_VERIFY"]
    encrypting = [body for _, _, body in keys if body.get("key_usage") != "SIGN_VERIFY"]
    assert (len(encrypting), len(signing)) == (3, 3)
    assert all(body["enable_key_rotation"] is True for body in encrypting)
    assert all(body["customer_master_key_spec"] == "ECC_NIST_P256" for body in signing)


def test_every_bucket_and_topic_denies_plain_http(stacks):
    for stack_id, stack in stacks.items():
        for resource_type in ("aws_s3_bucket_policy", "aws_sns_topic_policy"):
            for name, body in stack.resources(resource_type).items():
                sids = [s.get("sid") for s in stack.policy_statements(body["policy"]) if s["effect"] == "Deny"]
                assert "DenyInsecureTransport" in sids, f"{stack_id}: {name}"
