"""The chain behind a release: commit, build, digest, signature, SBOM,
tests, approvals, targets reached
(python -m ops provenance ENV [EXECUTION] [--json]).

The build record (`build#{execution}`, buildspecs/build.yml) holds the
artifact's manifest digest and the build's signature over it; the signature
is verified again now, with KMS Verify against the environment's signing key
(never the key the record names: a rewritten record could name its own).
The deployment record of the execution holds the commit, the test results,
the approval and the stages that succeeded; override audit records
(ops/commands/override.py) say which controls were lifted for it.
Without EXECUTION: the newest execution of the environment that has a
build record. docs/security.md says what the signature stops and what not.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import re

from botocore.exceptions import ClientError

from functions.shared import records
from ops.arguments import Command
from ops.aws import OpsError, calling, code
from ops.common import Context
from ops.values import execution_id
from topology import naming

SIGNING_ALGORITHM = "ECDSA_SHA_256"
VERIFIED, NOT_VERIFIED = "verified", "does not verify"
# How far back the default looks for an execution with a build record.
NEWEST_LOOKED_AT = 200
_DIGEST = re.compile(r"[0-9a-f]{64}")
_TESTS = {"unit": records.UNIT_TESTS, "integration": records.INTEGRATION_TESTS, "e2e": records.E2E_TESTS}


def cmd_provenance(ctx: Context, args) -> int:
    store = ctx.store()
    with calling(f"table {ctx.names.deployments_table}"):
        execution = args.execution or _newest_built(ctx, store)
        build = store.get(f"{records.BUILD_PREFIX}{execution}")
        deployment = store.get(execution) or {}
        overrides = [
            r
            for r in store.recent(ctx.config.name)
            if str(r.get(records.KEY, "")).startswith(records.OVERRIDE_PREFIX)
            and r.get(records.PIPELINE_EXECUTION_ID) == execution
        ]
    if not build:
        raise OpsError(
            f"execution {execution} has no build record ({records.BUILD_PREFIX}{execution} in "
            f"{ctx.names.deployments_table}): it was built before provenance was recorded, or never built; "
            f"`python -m ops deployments {ctx.config.name}` lists the executions"
        )
    digest = str(build.get(records.ARTIFACT_DIGEST, ""))
    signature, why = _verify(ctx, digest, str(build.get(records.ARTIFACT_SIGNATURE, "")))
    sbom = _sbom(ctx, build)
    chain = {
        "execution": execution,
        "commit": build.get(records.COMMIT_ID) or deployment.get(records.COMMIT_ID),
        "build": build.get(records.BUILD_ID),
        "buildTime": build.get(records.BUILT_AT),
        "digest": digest,
        "manifest": build.get(records.MANIFEST_LOCATION),
        "signature": {"state": signature, "why": why, "key": ctx.names.signing_key_alias},
        "sbom": sbom,
        "tests": {name: deployment.get(attribute, "not recorded") for name, attribute in _TESTS.items()},
        "approval": _approval(deployment),
        "overrides": [_override(r) for r in overrides],
        "targetsReached": _targets(deployment),
    }
    ctx.emit(chain, _lines(chain))
    return 0 if signature == VERIFIED else 1


def _newest_built(ctx: Context, store) -> str:
    """The newest execution of the environment that has a build record."""
    for looked, record in enumerate(store.recent(ctx.config.name)):
        if looked >= NEWEST_LOOKED_AT:
            break
        key = str(record.get(records.KEY, ""))
        if records.is_deployment(key) and store.get(f"{records.BUILD_PREFIX}{key}"):
            return key
    raise OpsError(
        f"none of the newest {NEWEST_LOOKED_AT} records of {ctx.config.name} has a build record "
        "(records from before provenance was recorded): name an execution, "
        f"`python -m ops provenance {ctx.config.name} EXECUTION`"
    )


def _verify(ctx: Context, digest: str, signature: str) -> tuple[str, str]:
    """KMS Verify, now, over the recorded digest (MessageType DIGEST: "When the
    value is DIGEST, KMS skips the hashing step in the signing algorithm",
    https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html), with
    the environment's signing key. A signature that does not verify is an
    error, not an answer: "KMSInvalidSignatureException: The request was
    rejected because the signature verification failed" (same page)."""
    if not _DIGEST.fullmatch(digest):
        return NOT_VERIFIED, "the recorded digest is not a SHA-256 in hex"
    try:
        signed = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        return NOT_VERIFIED, "the recorded signature is not base64"
    if not signed:
        return NOT_VERIFIED, "no signature is recorded"
    try:
        with calling(f"key {ctx.names.signing_key_alias}"):
            answer = ctx.client("kms").verify(
                KeyId=ctx.names.signing_key_alias,
                Message=bytes.fromhex(digest),
                MessageType="DIGEST",
                Signature=signed,
                SigningAlgorithm=SIGNING_ALGORITHM,
            )
    except ClientError as error:
        if code(error) == "KMSInvalidSignatureException":
            return NOT_VERIFIED, "KMS Verify: KMSInvalidSignatureException"
        raise
    if answer.get("SignatureValid") is True:
        return VERIFIED, f"KMS Verify with {ctx.names.signing_key_alias}"
    return NOT_VERIFIED, "KMS Verify answered SignatureValid false"


def _sbom(ctx: Context, build: dict) -> dict:
    """Where the SBOM is, its recorded SHA-256, and whether the object there still has it."""
    location = str(build.get(records.SBOM_LOCATION, ""))
    recorded = build.get(records.SBOM_DIGEST)
    found = {"location": location or None, "sha256": recorded, "now": "not checked"}
    bucket, _, key = location.removeprefix("s3://").partition("/")
    if not (location.startswith("s3://") and bucket and key):
        return found
    try:
        with calling(location):
            body = ctx.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as error:
        found["now"] = f"unreadable ({code(error) or 'error'})"
        return found
    found["now"] = "matches" if hashlib.sha256(body).hexdigest() == recorded else "differs from the recorded hash"
    return found


def _approval(deployment: dict) -> dict | None:
    if not deployment.get(records.APPROVAL_RESULT) and not deployment.get(records.APPROVED_BY):
        return None
    return {
        "result": deployment.get(records.APPROVAL_RESULT),
        "by": deployment.get(records.APPROVED_BY),
        "at": deployment.get(records.APPROVAL_DECIDED_AT),
    }


def _override(record: dict) -> dict:
    return {
        "stage": record.get(records.STAGE),
        "condition": record.get(records.CONDITION_TYPE),
        "by": record.get(records.OVERRIDDEN_BY),
        "at": record.get(records.INDEX_SORT),
        "reason": record.get(records.REASON),
    }


def _targets(deployment: dict) -> list[str]:
    succeeded = set(deployment.get(records.SUCCEEDED_STAGES) or ())
    return [target for target, stage in naming.DEPLOY_STAGES.items() if stage in succeeded]


def _lines(chain: dict) -> list[str]:
    signature, sbom, approval = chain["signature"], chain["sbom"], chain["approval"]
    lines = [
        f"execution  {chain['execution']}",
        f"commit     {chain['commit'] or 'not recorded'}",
        f"build      {chain['build'] or 'not recorded'} at {chain['buildTime'] or 'unknown'}",
        f"digest     {chain['digest']} (manifest {chain['manifest'] or 'not recorded'})",
        f"signature  {signature['state']} ({signature['why']})",
        f"sbom       {sbom['location'] or 'not recorded'} sha256 {sbom['sha256'] or 'not recorded'} ({sbom['now']})",
        "tests      " + ", ".join(f"{name} {result}" for name, result in chain["tests"].items()),
        "approval   "
        + (f"{approval['result']} by {approval['by']} at {approval['at']}" if approval else "none recorded"),
    ]
    lines += [
        f"override   {o['stage']} {o['condition']} by {o['by']} at {o['at']}: {o['reason']}" for o in chain["overrides"]
    ]
    lines.append("reached    " + (", ".join(chain["targetsReached"]) or "no target"))
    return lines


def arguments_provenance(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "execution",
        nargs="?",
        type=execution_id,
        help="the pipeline execution (default: the newest one with a build record)",
    )


COMMANDS = {
    "provenance": Command(
        cmd_provenance,
        "The chain behind a release: commit, build, digest, signature (verified now), SBOM, tests, approvals",
        "provenance production",
        arguments=arguments_provenance,
    ),
}
