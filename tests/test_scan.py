"""The IaC scan: checkov over every synthesized stack, zero failed checks."""

from __future__ import annotations

import pytest

from tools import scan


@pytest.mark.acceptance
@pytest.mark.scan
def test_checkov_finds_nothing_unskipped(synth_dir):
    if not scan.DEFAULT_CHECKOV.exists():
        pytest.fail("checkov is not installed: run `make install-scan` (make acceptance does)")
    result = scan.scan(synth_dir / "stacks")
    assert result.parsing_errors == []
    assert result.failed == [], scan.render(result)
    assert result.unused_skips == [], scan.render(result)
    assert result.passed > 1000  # it really scanned the nine stacks


def report(*failures):
    return {
        "summary": {"passed": 5},
        "results": {
            "failed_checks": [
                {"file_path": f"/{stack}/cdk.tf.json", "check_id": check, "check_name": "name", "resource": resource}
                for stack, check, resource in failures
            ]
        },
    }


SKIPS = {
    "core-test": {
        ("resource", "aws_s3_bucket", "artifacts_bucket"): {"CKV_AWS_144": "out of scope for 90-day artifacts"}
    }
}


def test_a_skip_applies_only_to_its_check_on_its_resource():
    result = scan.evaluate(
        report(
            ("core-test", "CKV_AWS_144", "aws_s3_bucket.artifacts_bucket"),
            ("core-test", "CKV_AWS_18", "aws_s3_bucket.artifacts_bucket"),
            ("core-staging", "CKV_AWS_144", "aws_s3_bucket.artifacts_bucket"),
        ),
        SKIPS,
    )
    assert [(f.stack, f.check_id) for f in result.failed] == [
        ("core-test", "CKV_AWS_18"),
        ("core-staging", "CKV_AWS_144"),
    ]
    assert [(f.check_id, reason) for f, reason in result.skipped] == [
        ("CKV_AWS_144", "out of scope for 90-day artifacts")
    ]
    assert not result.ok


def test_python_check_names_match_by_block_and_name():
    skips = {
        "core-test": {("data", "aws_iam_policy_document", "key_policy"): {"CKV_AWS_356": "a key policy's * is the key"}}
    }
    result = scan.evaluate(report(("core-test", "CKV_AWS_356", "data.key_policy")), skips)
    assert result.ok and len(result.skipped) == 1


def test_stale_skips_fail_the_scan():
    result = scan.evaluate(report(), SKIPS)
    assert result.unused_skips == [("core-test", "resource.aws_s3_bucket.artifacts_bucket", "CKV_AWS_144")]
    assert not result.ok


def test_a_skip_without_a_reason_is_refused():
    stack = {"resource": {"aws_s3_bucket": {"b": {"//": {"checkov": ["checkov:skip=CKV_AWS_18"]}}}}}
    with pytest.raises(ValueError, match="has no reason"):
        scan.inline_skips(stack)
