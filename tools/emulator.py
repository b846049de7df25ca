"""Everything the deploy rehearsal (tools/rehearse/) does differently because
it runs against moto instead of AWS: the one place that says where the
emulator falls short, and what is done about it. The rehearsal changes only
its scratch copies of the stacks, never cdktf.out/ nor the stacks' code.

* Endpoints (`patch`): the provider, the S3 backend and every
  `terraform_remote_state` read get the moto server's endpoints, fake
  credentials and path-style S3.
* `NOT_EMULATED`: resource types moto has no API for, planned with the rest
  and not applied (`-target` leaves out them and what depends on them);
  `STAND_INS` replace references to them.
* `CODEPIPELINE_SOURCE_LOCATION`: moto's CreateProject demands locations
  that AWS does not take for CODEPIPELINE projects.
* `aws:SecureTransport`: moto applies a bucket policy's conditional Deny to
  every request, TLS or not. The scratch copies drop the
  `DenyInsecureTransport` statements, and `prepare_backend` removes the state
  bucket's policy; the statements are asserted on the synthesized JSON
  (tests/test_core_stack.py, tests/test_bootstrap.py).
* `NOT_UPDATABLE` (`unappliable_updates`): updates moto does not implement;
  an upgrade plans and reports them, and does not apply them.
* `SLOW_TO_CREATE` (`fast_created`, `fast_create`): made through the API and
  imported, instead of waiting on the provider's settle delay.
* Lost answers (`run_terraform`): the retry of a call moto answered too late
  meets Terraform's own state lock, or the Lambda function or CodeBuild
  project the first call made.
* `KNOWN_ARTIFACTS` (`known_artifact`): differences moto introduces into the
  second plan, each with its reason. Anything else in a second plan is a defect.
* `health_probe_round`: moto never runs the scheduled health probe; one round
  of its handler runs in the rehearsal, with the deployed settings.
* `NOT_EMULATED_CHECKS`, `PREFLIGHT_NOT_EMULATED`: the `ops validate` and
  `ops preflight` failures the emulator explains.
* `patch_codepipeline_timestamps` (run by tools/moto_server.py): moto's
  CodePipeline answers ISO-8601 strings where AWS sends epoch seconds.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import boto3

from tools.s3_lifecycle import lifecycle_rule
from tools.stack_graph import addresses, dependents
from tools.terraform_cli import REPO, Result, Terraform

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
    # The one document the stacks make is the change calendar (modules/freeze.py).
    "aws_ssm_document": "moto refuses TEXT documents such as a Change Calendar (Invalid document format TEXT)",
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


def not_emulated(config: dict) -> dict[str, str]:
    """Every resource that cannot be created on moto, with why: the types in
    NOT_EMULATED, and whatever depends on one of them."""
    excluded = {a: NOT_EMULATED[a.split(".")[0]] for a in addresses(config) if a.split(".")[0] in NOT_EMULATED}
    return {**excluded, **dependents(config, excluded, "which is not emulated")}


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


def client(service: str, url: str, region: str, session_factory: Callable = boto3.session.Session):
    """A boto3 client of the moto server, with the fake credentials it takes."""
    return session_factory().client(
        service, endpoint_url=url, region_name=region, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def prepare_backend(config, url: str, session_factory: Callable = boto3.session.Session) -> None:
    """After bootstrap: remove the state bucket's policy, whose
    aws:SecureTransport Deny moto would apply to every request."""
    client("s3", url, config.region, session_factory).delete_bucket_policy(Bucket=config.state_bucket)


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

_BUCKET_ID = re.compile(r"\$\{aws_s3_bucket\.([\w-]+)\.(?:id|bucket)\}")


def fast_created(config: dict) -> dict[str, tuple[str, dict]]:
    """{address: (bucket resource name, PutBucketLifecycleConfiguration request
    without the bucket)} for each slow resource the rehearsal makes itself."""
    found = {}
    for name, body in config.get("resource", {}).get("aws_s3_bucket_lifecycle_configuration", {}).items():
        bucket = _BUCKET_ID.fullmatch(str(body.get("bucket", "")))
        rules = [lifecycle_rule(r) for r in body.get("rule", [])]
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
    s3 = client("s3", url, region)
    imports = []
    for address, (bucket_resource, request) in sorted(planned.items()):
        bucket = buckets[bucket_resource]
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, **request)
        imports.append({"to": address, "id": bucket})
    return imports


# Answers the emulator loses (`run_terraform`).
_LOCK_ID = re.compile(r"Lock Info:\s+ID:\s+([0-9a-f-]{36})")
# What a retried create call finds already made: moto was slow to answer the
# first call, the SDK retried, the first had succeeded. Per call: Terraform's
# error text (the provider's "creating ..." line, then "with <address>,"),
# whose `name` is the resource's import ID. CreateFunction was seen in a
# loaded rehearsal, CreateProject in a fresh-clone acceptance run (the
# upgrade gate's pipeline-production, 2026-12-07).
_CREATED_TWICE = {
    "CreateFunction": re.compile(
        r"ResourceConflictException: Function already exist: (?P<name>[\w-]+)"
        r".*?with (?P<address>aws_lambda_function\.[\w-]+),",
        re.DOTALL,
    ),
    "CreateProject": re.compile(
        r"ResourceAlreadyExistsException: Project already exists: arn:[\w-]+:codebuild:[\w-]+:\d+:project/"
        r"(?P<name>[\w-]+).*?with (?P<address>aws_codebuild_project\.[\w-]+),",
        re.DOTALL,
    ),
}


def own_stale_lock(result: Result) -> str | None:
    """The ID of a lock that a failed lock acquisition reports, when the
    failure is the conditional check on it (a retried PutItem of our own)."""
    text = result.stderr + result.stdout
    if result.code == 0 or "Error acquiring the state lock" not in text or "ConditionalCheckFailed" not in text:
        return None
    found = _LOCK_ID.search(text)
    return found.group(1) if found else None


def created_twice(result: Result) -> tuple[str, str, str] | None:
    """(address, import ID, call) when an apply failed only because its own
    retried create call found what its first call made."""
    if not result.code:
        return None
    text = result.stderr + result.stdout
    for call, pattern in _CREATED_TWICE.items():
        found = pattern.search(text)
        if found:
            return found.group("address"), found.group("name"), call
    return None


def run_terraform(terraform: Terraform, scratch: Path, *args: str) -> tuple[Result, list[str]]:
    """One Terraform command, and the lost answers it recovered from (for the
    report's artifacts). Under load, moto can answer a call so late that the
    SDK retries it, and the retry meets what the first call did; both cases
    were seen, in CI and in a loaded rehearsal (tests/test_emulator.py holds
    Terraform's error texts). A lost answer to Terraform's lock PutItem: the SDK's
    retry finds Terraform's own lock and fails; that lock (made by this very
    command) is released and the command run once more. A lost answer to an
    apply's CreateFunction or CreateProject: what it made is taken into the
    state, as an operator would import it, and the apply run once more."""
    recovered = []
    result = terraform.run(scratch, *args)
    stale = own_stale_lock(result)
    if stale:
        terraform.run(scratch, "force-unlock", "-force", stale)
        recovered.append(f"released a lock the emulator's lost answer left behind ({args[0]})")
        result = terraform.run(scratch, *args)
    # One apply can lose more than one answer: each is recovered in turn, up
    # to a bound, and only while its import succeeds (a failed import leaves
    # the apply's own error as the result).
    for _ in range(_MOST_RECOVERIES):
        twice = created_twice(result) if args[0] == "apply" else None
        if not twice:
            break
        address, name, call = twice
        if terraform.run(scratch, "import", "-input=false", "-no-color", address, name).code != 0:
            recovered.append(f"could not import {address} ({name}), made by a {call} whose answer was lost")
            break
        recovered.append(f"imported {address}, made by a {call} whose answer the emulator lost")
        result = terraform.run(scratch, *args)
    return result, recovered


_MOST_RECOVERIES = 5


_HEALTH_PROBE_ROUND = "import json; from functions.health_probe import handler; print(json.dumps(handler.handler({})))"


def health_probe_round(config, url: str, env_vars: dict[str, str], python: Callable) -> subprocess.CompletedProcess:
    """moto never runs the health probe: its EventBridge stores a rule's
    schedule and never fires it (moto/events has no timer), and its Lambda
    runs a function only on Invoke, in Docker ("Invoking functions is
    supported - they will run inside a Docker container",
    https://docs.getmoto.org/en/latest/docs/services/lambda.html). So one
    round of the probe's handler runs here, by `python` (the rehearsal's
    runner; its output is returned), with the deployed function's own
    environment, as its schedule would; `ops validate` then sees its data.
    The targets' example URLs do not resolve here, so every target reports
    0, quickly (timeout lowered to 2 s for the same reason)."""
    name = config.names.lambda_function("health-probe")
    settings = client("lambda", url, config.region).get_function_configuration(FunctionName=name)
    variables = settings["Environment"]["Variables"]
    return python(
        ["-c", _HEALTH_PROBE_ROUND], {**env_vars, **variables, "TIMEOUT_SECONDS": "2", "PYTHONPATH": str(REPO)}
    )


def _epoch_seconds(moment: datetime) -> float:
    # moto's utcnow() is naive UTC; a naive timestamp() would read it as local time.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def patch_codepipeline_timestamps() -> None:
    """In the moto server's own process (tools/moto_server.py): moto's
    CodePipeline writes ISO-8601 strings where its protocol, AWS JSON 1.1,
    has epoch seconds (botocore's model: `"timestampFormat"` unset, JSON
    protocol default `unixTimestamp`; getmoto/moto#9763 reports the same of
    other JSON-protocol services). The AWS SDK for Go in the provider cannot
    decode them, so no pipeline could be read back. The patch is confined to
    moto's CodePipeline module and to that process; the tests' in-process
    moto is untouched."""
    from moto.codepipeline import models

    models.iso_8601_datetime_with_milliseconds = _epoch_seconds
