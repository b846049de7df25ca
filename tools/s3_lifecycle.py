"""An `aws_s3_bucket_lifecycle_configuration`'s `rule` block, as synthesized,
translated into S3's LifecycleRule (the PutBucketLifecycleConfiguration
request's shape, checked against botocore's model in tests/test_emulator.py).
The rehearsal makes lifecycle configurations through the API with it
(tools/emulator.py, SLOW_TO_CREATE)."""

from __future__ import annotations

_BLOCKS = {  # Terraform block -> (S3 API member, {Terraform attribute: API member})
    "expiration": ("Expiration", {"days": "Days"}),
    "noncurrent_version_expiration": ("NoncurrentVersionExpiration", {"noncurrent_days": "NoncurrentDays"}),
    "abort_incomplete_multipart_upload": (
        "AbortIncompleteMultipartUpload",
        {"days_after_initiation": "DaysAfterInitiation"},
    ),
}
_TRANSITION = {"days": "Days", "storage_class": "StorageClass"}


def lifecycle_rule(rule: dict) -> dict | None:
    """Terraform's `rule` block as S3's LifecycleRule, or None when it holds
    anything this converter does not know."""
    known = {"id", "status", "filter", "transition", *_BLOCKS}
    if set(rule) - known:
        return None
    api = {"ID": rule["id"], "Status": rule["status"]}
    filters = rule.get("filter") or [{}]
    if len(filters) != 1 or set(filters[0]) - {"prefix"}:
        return None
    api["Filter"] = {"Prefix": filters[0]["prefix"]} if "prefix" in filters[0] else {}
    for block, (member, fields) in _BLOCKS.items():
        for item in rule.get(block, []):
            if set(item) - set(fields):
                return None
            api[member] = {fields[k]: v for k, v in item.items()}
    transitions = rule.get("transition", [])
    if any(set(t) - set(_TRANSITION) for t in transitions):
        return None
    if transitions:
        api["Transitions"] = [{_TRANSITION[k]: v for k, v in t.items()} for t in transitions]
    return api
