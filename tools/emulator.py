"""Everything the deploy rehearsal does differently because it runs against
moto instead of AWS: the one place that says where the emulator falls short.

Only scratch copies are changed (tools/rehearse.py); cdktf.out/ and the
stacks' code are not.

* Endpoints: the provider, the S3 backend and every `terraform_remote_state`
  read get the moto server's endpoints, fake credentials and path-style S3.
* `NOT_EMULATED`: resource types moto has no API for. They are planned with
  the rest and not applied (`-target` excludes them and what depends on them).
* `SCRATCH_ONLY`: settings moto refuses although AWS accepts them.
* `aws:SecureTransport`: moto cannot evaluate the condition and applies a
  bucket policy's conditional Deny to every request, TLS or not. The scratch
  copies drop the `DenyInsecureTransport` statement from S3 bucket policies,
  and the state bucket's policy is removed after bootstrap. The statements
  themselves are asserted on the synthesized JSON (tests/test_core_stack.py,
  tests/test_bootstrap.py).
* `KNOWN_ARTIFACTS`: differences moto introduces into the second plan, each
  with its reason. Anything else in a second plan is a defect.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable

import boto3

# Endpoint keys of the provider's `endpoints` block (5.x and 6.x) for every
# service the stacks use.
PROVIDER_ENDPOINTS = (
    "cloudwatch",
    "cloudwatchlogs",
    "codebuild",
    "codeconnections",
    "codepipeline",
    "codestarnotifications",
    "dynamodb",
    "events",
    "iam",
    "kms",
    "lambda",
    "s3",
    "sns",
    "sqs",
    "sts",
)
FAKE_CREDENTIALS = {"access_key": "testing", "secret_key": "testing"}

NOT_EMULATED = {
    "aws_codeconnections_connection": "moto has no CodeConnections API",
    "aws_codestarnotifications_notification_rule": "moto has no CodeStar Notifications API",
    "aws_codebuild_report_group": "moto has no CodeBuild report-group API",
}

# What the scratch copy puts where a stack refers to a resource of a type in
# NOT_EMULATED, so that what refers to it can still be created: a plausible
# value of the attribute, which moto does not check.
STAND_INS = {
    (
        "aws_codeconnections_connection",
        "arn",
    ): "arn:aws:codeconnections:{region}:{account}:connection/rehearsal-stand-in",
}

# moto's CreateProject demands a source and an artifacts location even for
# CODEPIPELINE ones, where AWS takes none (the pipeline supplies both).
CODEPIPELINE_SOURCE_LOCATION = "rehearsal-stand-in"

INSECURE_TRANSPORT_SID = "DenyInsecureTransport"

# (resource type, attribute, why moto differs): the second plan may show a
# change of exactly this attribute on this type, and nothing else.
KNOWN_ARTIFACTS: dict[tuple[str, str], str] = {
    ("aws_kms_key", "rotation_period_in_days"): "moto reports a rotation period of 0 for a rotating key",
    ("aws_codebuild_project", "encryption_key"): "moto ignores a project's encryptionKey and reports alias/aws/s3",
    ("aws_lambda_function", "dead_letter_config"): "moto does not keep a function's DeadLetterConfig",
    ("aws_lambda_function", "logging_config"): "moto does not keep a function's LoggingConfig",
}

# `ops validate` checks that look at a resource of a NOT_EMULATED type, or of
# a type whose update the emulator held back (NOT_UPDATABLE and what depends
# on it): their ✗ is expected in a rehearsal when that resource was not
# emulated or not updated there, and only theirs.
NOT_EMULATED_CHECKS = {
    "GitHub connection ": "aws_codeconnections_connection",
    # On an upgrade, a changed CodeBuild project holds back the pipeline
    # that names it (moto has no UpdateProject): it keeps its old stages.
    "Pipeline ": "aws_codepipeline",
}

# Preflight checks the emulator (or a machine without the registry) cannot
# pass, by label prefix (ops/preflight.py), and why. A rehearsal's preflight
# ✗ lines outside this list are reported (Rehearsal.preflight_failures).
PREFLIGHT_NOT_EMULATED = {
    "hashicorp/aws ": "the machine, not the emulator: without the registry, terraform init cannot install the "
    "exact pin; the rehearsal approximates with the version at hand (docs/development.md)",
    "Lambda concurrency ": "moto has no lambda GetAccountSettings",
    "GitHub connection ": "moto has no CodeConnections",
}

_REFERENCE = re.compile(r"\$\{(aws_[a-z0-9_]+\.[A-Za-z0-9_-]+)")


def _backend_settings(url: str) -> dict:
    return {
        "endpoints": {"s3": url, "dynamodb": url, "sts": url},
        "use_path_style": True,
        **FAKE_CREDENTIALS,
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": True,
    }


def _point_at(url: str, config: dict) -> None:
    for provider in config.get("provider", {}).get("aws", []):
        provider.update(
            endpoints=[{key: url for key in PROVIDER_ENDPOINTS}],
            s3_use_path_style=True,
            skip_credentials_validation=True,
            skip_metadata_api_check=True,
            **FAKE_CREDENTIALS,
        )
    backend = config["terraform"]["backend"]["s3"]
    backend.update(_backend_settings(url))
    for read in config.get("data", {}).get("terraform_remote_state", {}).values():
        read["config"].update(_backend_settings(url))


def _drop_insecure_transport_denies(config: dict) -> None:
    documents = config.get("data", {}).get("aws_iam_policy_document", {})
    for policy in config.get("resource", {}).get("aws_s3_bucket_policy", {}).values():
        match = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.([\w-]+)\.json\}", policy["policy"])
        if match:
            document = documents[match.group(1)]
            document["statement"] = [s for s in document["statement"] if s.get("sid") != INSECURE_TRANSPORT_SID]


def addresses(config: dict) -> list[str]:
    return [f"{kind}.{name}" for kind, items in config.get("resource", {}).items() for name in items]


def _dependencies(config: dict) -> dict[str, set[str]]:
    """Resource address -> the resource addresses it references or depends on."""
    found = {}
    for kind, items in config.get("resource", {}).items():
        for name, body in items.items():
            text = repr(body)
            found[f"{kind}.{name}"] = set(_REFERENCE.findall(text))
    # References through data sources (policy documents) count too.
    data_refs = {
        f"data.{kind}.{name}": set(_REFERENCE.findall(repr(body)))
        for kind, items in config.get("data", {}).items()
        for name, body in items.items()
    }
    for address, body_refs in found.items():
        kind, name = address.split(".", 1)
        text = repr(config["resource"][kind][name])
        for data_address, refs in data_refs.items():
            if "${" + data_address + "." in text:
                body_refs |= refs
    return found


def not_emulated(config: dict) -> dict[str, str]:
    """Every resource that cannot be created on moto, with why: the types in
    NOT_EMULATED, and whatever depends on one of them."""
    excluded = {a: NOT_EMULATED[a.split(".")[0]] for a in addresses(config) if a.split(".")[0] in NOT_EMULATED}
    return {**excluded, **dependents(config, excluded, "which is not emulated")}


def dependents(config: dict, excluded: dict[str, str], why: str) -> dict[str, str]:
    """What depends, directly or not, on an excluded resource: address ->
    "depends on X, {why}". `terraform apply -target` applies a target's
    dependencies too, so a dependent must be left out with what it needs."""
    found: dict[str, str] = {}
    dependencies = _dependencies(config)
    changed = True
    while changed:
        changed = False
        for address, refs in dependencies.items():
            if address not in excluded and address not in found:
                blocked = sorted(refs & (excluded.keys() | found.keys()))
                if blocked:
                    found[address] = f"depends on {blocked[0]}, {why}"
                    changed = True
    return found


def _stand_in(config: dict, region: str, account: str) -> dict:
    text = json.dumps(config)
    for (kind, attribute), value in STAND_INS.items():
        text = re.sub(
            rf"\$\{{{kind}\.[A-Za-z0-9_-]+\.{attribute}\}}",
            value.format(region=region, account=account),
            text,
        )
    return json.loads(text)


def _codepipeline_source_locations(config: dict) -> None:
    for project in config.get("resource", {}).get("aws_codebuild_project", {}).values():
        for block in ("source", "artifacts"):
            if project[block]["type"] == "CODEPIPELINE":
                project[block].setdefault("location", CODEPIPELINE_SOURCE_LOCATION)


def patch(config: dict, url: str) -> tuple[dict, dict[str, str]]:
    """A copy of a synthesized stack for the moto server, and what it cannot create."""
    provider = config["provider"]["aws"][0]
    patched = _stand_in(copy.deepcopy(config), provider["region"], provider["allowed_account_ids"][0])
    _point_at(url, patched)
    _drop_insecure_transport_denies(patched)
    _codepipeline_source_locations(patched)
    return patched, not_emulated(patched)


def apply_targets(config: dict, excluded: dict[str, str]) -> list[str]:
    return [a for a in addresses(config) if a not in excluded]


# Types whose update moto does not implement (it answers 500, which the
# provider retries until the command times out). On an upgrade, a planned
# update of one is reported and left unapplied, never silently dropped.
NOT_UPDATABLE: dict[str, str] = {
    "aws_codebuild_project": "moto has no CodeBuild UpdateProject",
}


def unappliable_updates(plan: dict) -> dict[str, str]:
    """The planned in-place updates the emulator cannot apply: address -> why.
    Known artifacts (the value moto misreports, which AWS would not change)
    and updates of a type in NOT_UPDATABLE."""
    found = {}
    for change in plan.get("resource_changes", []):
        if change["change"]["actions"] != ["update"]:
            continue
        why = known_artifact(change)
        if why:
            found[change["address"]] = f"known emulator artifact: {why}"
        elif change["type"] in NOT_UPDATABLE:
            found[change["address"]] = NOT_UPDATABLE[change["type"]]
    return found


def known_artifact(change: dict) -> str | None:
    """Why a second-plan change is a known emulator artifact, or None."""
    if change["change"]["actions"] != ["update"]:
        return None
    before, after = change["change"].get("before") or {}, change["change"].get("after") or {}
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    reasons = [KNOWN_ARTIFACTS.get((change["type"], attribute)) for attribute in sorted(changed)]
    if changed and all(reasons):
        return "; ".join(sorted(set(reasons)))
    return None


def prepare_backend(config, url: str, session_factory: Callable = boto3.session.Session) -> None:
    """After bootstrap: remove the state bucket's policy, whose
    aws:SecureTransport Deny moto would apply to every request."""
    s3 = session_factory().client(
        "s3", endpoint_url=url, region_name=config.region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    s3.delete_bucket_policy(Bucket=config.state_bucket)


# Resources whose create the provider follows with a wait that buys nothing
# on the emulator: the rehearsal makes them through the API and imports them
# (`fast_created` and `fast_create`), then the second plan proves the imported
# resource is exactly what the configuration asks for. A configuration the
# converter does not know is applied the slow way, never skipped.
SLOW_TO_CREATE = {
    "aws_s3_bucket_lifecycle_configuration": (
        "the provider waits 55 s after PutBucketLifecycleConfiguration (a 10 s delay, then 10 equal reads "
        "5 s apart) for the rules to settle, which moto does at once"
    ),
}

_LIFECYCLE_BLOCKS = {  # Terraform block -> (S3 API member, {Terraform attribute: API member})
    "expiration": ("Expiration", {"days": "Days"}),
    "noncurrent_version_expiration": ("NoncurrentVersionExpiration", {"noncurrent_days": "NoncurrentDays"}),
    "abort_incomplete_multipart_upload": (
        "AbortIncompleteMultipartUpload",
        {"days_after_initiation": "DaysAfterInitiation"},
    ),
}
_TRANSITION = {"days": "Days", "storage_class": "StorageClass"}
_BUCKET_ID = re.compile(r"\$\{aws_s3_bucket\.([\w-]+)\.(?:id|bucket)\}")


def _lifecycle_rule(rule: dict) -> dict | None:
    """Terraform's `rule` block as S3's LifecycleRule, or None when it holds
    anything this converter does not know."""
    known = {"id", "status", "filter", "transition", *_LIFECYCLE_BLOCKS}
    if set(rule) - known:
        return None
    api = {"ID": rule["id"], "Status": rule["status"]}
    filters = rule.get("filter") or [{}]
    if len(filters) != 1 or set(filters[0]) - {"prefix"}:
        return None
    api["Filter"] = {"Prefix": filters[0]["prefix"]} if "prefix" in filters[0] else {}
    for block, (member, fields) in _LIFECYCLE_BLOCKS.items():
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


def fast_created(config: dict) -> dict[str, tuple[str, dict]]:
    """{address: (bucket resource name, PutBucketLifecycleConfiguration request
    without the bucket)} for each slow resource the rehearsal makes itself."""
    found = {}
    for name, body in config.get("resource", {}).get("aws_s3_bucket_lifecycle_configuration", {}).items():
        bucket = _BUCKET_ID.fullmatch(str(body.get("bucket", "")))
        rules = [_lifecycle_rule(r) for r in body.get("rule", [])]
        extra = set(body) - {"//", "bucket", "rule", "transition_default_minimum_object_size"}
        if bucket and rules and all(rules) and not extra:
            request = {"LifecycleConfiguration": {"Rules": rules}}
            if "transition_default_minimum_object_size" in body:
                request["TransitionDefaultMinimumObjectSize"] = body["transition_default_minimum_object_size"]
            found[f"aws_s3_bucket_lifecycle_configuration.{name}"] = (bucket.group(1), request)
    return found


def fast_create(planned: dict[str, tuple[str, dict]], buckets: dict[str, str], url: str, region: str) -> list[dict]:
    """Make each planned lifecycle configuration through the API; returns the
    `import` blocks that take them into the state. `buckets`: bucket resource
    name -> the bucket's name, read from the state."""
    s3 = boto3.client(
        "s3", endpoint_url=url, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    imports = []
    for address, (bucket_resource, request) in sorted(planned.items()):
        bucket = buckets[bucket_resource]
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, **request)
        imports.append({"to": address, "id": bucket})
    return imports
