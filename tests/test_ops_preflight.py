"""`python -m ops preflight ENV`: each check passes, and fails with its fix.
moto for STS, S3, DynamoDB and IAM; CodeConnections (which moto lacks) is
answered after its parameters are checked against botocore's model."""

from __future__ import annotations

import dataclasses
import json

import boto3
import pytest
from moto import mock_aws

from environments import GitHubSource, load, standard_deploy_targets
from ops import bootstrap, cli, common, preflight
from tests.support.sessions import StubbingSession
from tests.support.validated import answer

REAL_ACCOUNT = "123456789012"  # moto's account: the one the credentials belong to


def real(config):
    """`config` with the placeholders replaced (the account stays moto's)."""
    return dataclasses.replace(
        config,
        github=GitHubSource(owner="acme", repo="worker"),
        notification_email="ops@acme.io",
        deploy_targets=standard_deploy_targets(config.name, REAL_ACCOUNT, "https://{stage}-{env}.acme.io/health"),
    )


@pytest.fixture
def aws(aws_credentials, monkeypatch):
    with mock_aws():
        session = StubbingSession()
        monkeypatch.setattr(common, "session", lambda region, profile: session)
        answer(session.client("codeconnections"), "list_connections", {"Connections": []})
        yield session


def check(checks, prefix):
    (found,) = [c for c in checks if c.label.startswith(prefix)]
    return found


def fake_terraform(version):
    return dict(
        which=lambda name: "/usr/bin/terraform",
        run=lambda *a, **k: type("Done", (), {"stdout": json.dumps({"terraform_version": version})})(),
    )


def test_terraform_is_found_and_its_version_checked():
    assert preflight.terraform_version(**fake_terraform("1.11.4")).status == "ok"
    old = preflight.terraform_version(**fake_terraform("1.9.8"))
    assert old.status == "fail" and "1.10 or newer" in old.detail
    missing = preflight.terraform_version(which=lambda name: None)
    assert missing.status == "fail" and "install it" in missing.detail


def test_the_guides_placeholders_are_refused_and_named():
    found = preflight.placeholders(load("test"))
    assert found.status == "fail"
    for text in ("account_id 123456789012", "github.owner 'your-org'", "devops-team@example.com", "set real values"):
        assert text in found.detail
    assert preflight.placeholders(dataclasses.replace(real(load("test")), account_id="210987654321")).status == "fail"


def test_everything_ready(aws, monkeypatch):
    config = real(load("test"))
    bootstrap.Bootstrapper(config, boto3.Session()).run()
    iam = boto3.client("iam")
    for target in config.deploy_targets:
        iam.create_role(RoleName=target.role_arn.split("/")[-1], AssumeRolePolicyDocument="{}")
    monkeypatch.setattr(preflight, "terraform_version", lambda: preflight.Check("Terraform", "ok"))
    monkeypatch.setattr(preflight, "placeholders", lambda config: preflight.Check("placeholders", "ok"))
    checks = preflight.Preflight(config, aws).run()
    assert [c.status for c in checks] == ["ok"] * len(checks), [c.line() for c in checks]
    assert check(checks, "GitHub connection").detail == "not created yet (pipeline-test creates it)"


def test_what_is_missing_is_said_with_its_fix(aws, monkeypatch):
    config = real(load("test"))
    checks = preflight.Preflight(config, aws).run()
    backend = check(checks, "State backend")
    assert backend.status == "fail" and "make bootstrap ENV=test" in backend.detail
    role = check(checks, "Deployer role kiro-pipeline-test-test-deployer")
    assert role.status == "warn" and "AssumeRole" in role.detail and "python -m ops deployer-roles test" in role.detail


def test_a_pending_connection_is_flagged(aws):
    answer(
        aws.client("codeconnections"),
        "list_connections",
        {
            "Connections": [
                {
                    "ConnectionName": "kiro-pipeline-test-github",
                    "ConnectionStatus": "PENDING",
                    "ConnectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/x",
                }
            ]
        },
    )
    found = preflight.Preflight(real(load("test")), aws).connection()
    assert found.status == "warn" and "PENDING" in found.detail and "handshake" in found.detail


def test_credentials_for_another_account_stop_everything_else(aws):
    config = dataclasses.replace(
        real(load("test")),
        account_id="210987654321",
        deploy_targets=standard_deploy_targets("test", "210987654321", "https://{stage}.acme.io"),
    )
    checks = preflight.Preflight(config, aws).run()
    account = check(checks, "AWS credentials")
    assert account.status == "fail" and "account 123456789012" in account.detail
    assert not any(c.label.startswith("State backend") for c in checks)


def test_the_command_prints_one_line_per_check_and_fails_on_placeholders(aws, capsys):
    code = cli.main(["preflight", "test"])
    out = capsys.readouterr().out
    assert code == 1
    assert "✗ No placeholder values in the configuration: account_id 123456789012" in out
    assert out.strip().splitlines()[-1].endswith("fix them before deploying.")
