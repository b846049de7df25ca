"""`python -m ops provenance ENV [EXECUTION]`, end to end on moto: the chain
from the build record and the deployment record, the signature verified
again with KMS Verify (moto's ECC_NIST_P256 key; moto treats MessageType
DIGEST as RAW on Sign and Verify alike, so a signature it made verifies with
it), the SBOM's hash checked against the object in the bucket."""

from __future__ import annotations

import base64
import hashlib
import json

import boto3
import pytest

from environments import load
from functions.shared import records
from ops import cli
from tests.support.tables import create_contract_table
from topology import naming

CONFIG = load("production")
NAMES = CONFIG.names
EXECUTION = "11111111-2222-3333-4444-555555555555"
OLDER = "00000000-2222-3333-4444-555555555555"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SBOM = b'{"bomFormat": "CycloneDX", "specVersion": "1.5"}'
# The digest of a one-file artifact, worked by hand from the definition.
DIGEST = hashlib.sha256(f"{hashlib.sha256(b'x').hexdigest()}  app.js\n".encode()).hexdigest()
BUILD_ID = "kiro-pipeline-production-build:b1e6661e"


@pytest.fixture
def ledger(ops_on_moto):
    dynamodb, kms, s3 = boto3.client("dynamodb"), boto3.client("kms"), boto3.client("s3")
    create_contract_table(dynamodb, NAMES.deployments_table)
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=NAMES.signing_key_alias, TargetKeyId=key)
    signature = kms.sign(
        KeyId=key, Message=bytes.fromhex(DIGEST), MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
    )["Signature"]
    s3.create_bucket(Bucket=NAMES.artifacts_bucket)
    sbom_key = f"provenance/{DIGEST}/{EXECUTION}/sbom.cdx.json"
    s3.put_object(Bucket=NAMES.artifacts_bucket, Key=sbom_key, Body=SBOM)
    build = {
        records.KEY: f"{records.BUILD_PREFIX}{EXECUTION}",
        records.ARTIFACT_DIGEST: DIGEST,
        records.ARTIFACT_SIGNATURE: base64.b64encode(signature).decode(),
        records.SIGNING_KEY: key,
        records.SIGNING_ALGORITHM: "ECDSA_SHA_256",
        records.SBOM_LOCATION: f"s3://{NAMES.artifacts_bucket}/{sbom_key}",
        records.SBOM_DIGEST: hashlib.sha256(SBOM).hexdigest(),
        records.MANIFEST_LOCATION: f"s3://{NAMES.artifacts_bucket}/provenance/{DIGEST}/{EXECUTION}/manifest.txt",
        records.BUILD_ID: BUILD_ID,
        records.COMMIT_ID: COMMIT,
        records.PIPELINE_EXECUTION_ID: EXECUTION,
        records.BUILT_AT: "2026-12-07T10:02:00Z",
    }
    deployment = {
        records.KEY: EXECUTION,
        records.INDEX_PARTITION: CONFIG.name,
        records.INDEX_SORT: "2026-12-07T10:00:00Z",
        records.COMMIT_ID: COMMIT,
        records.UNIT_TESTS: "PASSED",
        records.INTEGRATION_TESTS: "PASSED",
        records.E2E_TESTS: "PASSED",
        records.APPROVAL_RESULT: "Approved",
        records.APPROVED_BY: "arn:aws:sts::123456789012:assumed-role/release/alice",
        records.APPROVAL_DECIDED_AT: "2026-12-07T10:30:00Z",
        records.SUCCEEDED_STAGES: {"Build", *(naming.DEPLOY_STAGES[t] for t in ("test", "staging", "production"))},
    }
    override = {
        records.KEY: f"{records.OVERRIDE_PREFIX}ProductionWindow#2026-12-07T10:40:00Z#{EXECUTION}",
        records.INDEX_PARTITION: CONFIG.name,
        records.INDEX_SORT: "2026-12-07T10:40:00Z",
        records.STAGE: "ProductionWindow",
        records.CONDITION_TYPE: "BEFORE_ENTRY",
        records.PIPELINE_EXECUTION_ID: EXECUTION,
        records.OVERRIDDEN_BY: "arn:aws:sts::123456789012:assumed-role/oncall/bob",
        records.REASON: "hotfix for INC-7",
    }
    # An older execution from before provenance: no build record.
    older = {records.KEY: OLDER, records.INDEX_PARTITION: CONFIG.name, records.INDEX_SORT: "2026-12-01T10:00:00Z"}
    table = boto3.resource("dynamodb").Table(NAMES.deployments_table)
    for item in (build, deployment, override, older):
        table.put_item(Item=item)
    return table


def test_the_chain_of_a_release(ledger, capsys):
    assert cli.main(["provenance", "production", EXECUTION]) == 0
    out = capsys.readouterr().out
    expected = [
        f"execution  {EXECUTION}",
        f"commit     {COMMIT}",
        f"build      {BUILD_ID} at 2026-12-07T10:02:00Z",
        f"digest     {DIGEST} (manifest s3://{NAMES.artifacts_bucket}/provenance/{DIGEST}/{EXECUTION}/manifest.txt)",
        f"signature  verified (KMS Verify with {NAMES.signing_key_alias})",
        f"sbom       s3://{NAMES.artifacts_bucket}/provenance/{DIGEST}/{EXECUTION}/sbom.cdx.json "
        f"sha256 {hashlib.sha256(SBOM).hexdigest()} (matches)",
        "tests      unit PASSED, integration PASSED, e2e PASSED",
        "approval   Approved by arn:aws:sts::123456789012:assumed-role/release/alice at 2026-12-07T10:30:00Z",
        "override   ProductionWindow BEFORE_ENTRY by arn:aws:sts::123456789012:assumed-role/oncall/bob "
        "at 2026-12-07T10:40:00Z: hotfix for INC-7",
        "reached    test, staging, production",
    ]
    assert out.splitlines() == expected
    print("\n".join(expected))  # docs/delivery-controls.md quotes this run


def test_without_an_execution_the_newest_with_a_build_record(ledger, capsys):
    assert cli.main(["provenance", "production", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["execution"] == EXECUTION
    assert shown["signature"]["state"] == "verified"
    assert shown["targetsReached"] == ["test", "staging", "production"]


def test_a_rewritten_digest_does_not_verify(ledger, capsys):
    ledger.update_item(
        Key={records.KEY: f"{records.BUILD_PREFIX}{EXECUTION}"},
        UpdateExpression="SET #d = :d",
        ExpressionAttributeNames={"#d": records.ARTIFACT_DIGEST},
        ExpressionAttributeValues={":d": "f" * 64},
    )
    assert cli.main(["provenance", "production", EXECUTION]) == 1
    assert "signature  does not verify (KMS Verify answered SignatureValid false)" in capsys.readouterr().out


def test_a_rewritten_sbom_is_shown(ledger, capsys):
    boto3.client("s3").put_object(
        Bucket=NAMES.artifacts_bucket, Key=f"provenance/{DIGEST}/{EXECUTION}/sbom.cdx.json", Body=b"{}"
    )
    assert cli.main(["provenance", "production", EXECUTION]) == 0
    assert "(differs from the recorded hash)" in capsys.readouterr().out


def test_a_release_from_before_provenance_is_a_clear_error(ledger, capsys):
    assert cli.main(["provenance", "production", OLDER]) == 1
    error = capsys.readouterr().err
    assert f"execution {OLDER} has no build record ({records.BUILD_PREFIX}{OLDER}" in error
    assert "Traceback" not in error


def test_a_malformed_execution_is_a_usage_error(ledger, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["provenance", "production", "not-an-execution"])
    assert exit_.value.code == 2
    assert "is not a pipeline execution ID" in capsys.readouterr().err
