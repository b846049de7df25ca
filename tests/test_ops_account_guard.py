"""Every operational command checks the account first (issue 22, "Why" 5):
credentials for another account stop it before any other call, with one
line naming the credentials found and the account expected; each command
declares which account that is (ops.arguments.Command.account)."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from environments import load
from environments.config import standard_deploy_targets
from ops.arguments import ACCOUNTS, ENVIRONMENT_ACCOUNT, NO_ACCOUNT, TARGET_ACCOUNT, Command
from ops.aws import OpsError
from ops.commands import COMMANDS
from ops.common import Context
from tests.conftest import FIXTURE_ENVIRONMENTS

REPO = Path(__file__).resolve().parent.parent
ELSEWHERE = "210987654321"  # not moto's account (123456789012)


# --- the declarations ---------------------------------------------------------------------
def test_every_command_declares_a_valid_account():
    for name, command in COMMANDS.items():
        assert callable(command.account) or command.account in ACCOUNTS, name


def test_each_command_declares_the_account_it_works_in():
    """bootstrap and preflight compare the accounts themselves (preflight as
    one of its ✓/✗ lines); deployer-roles works in a deploy target's account;
    ci-roles --print calls nothing; everything else in the environment's."""
    parse = __import__("ops.cli", fromlist=["parser"]).parser().parse_args
    special = {"bootstrap": NO_ACCOUNT, "preflight": NO_ACCOUNT, "deployer-roles": TARGET_ACCOUNT}
    for name, command in COMMANDS.items():
        if name == "ci-roles":
            assert command.account_for(parse([name, "test", "--repository", "a/b", "--print"])) == NO_ACCOUNT
            assert command.account_for(parse([name, "test", "--repository", "a/b"])) == ENVIRONMENT_ACCOUNT
        elif not callable(command.account):
            assert command.account == special.get(name, ENVIRONMENT_ACCOUNT), name


def test_an_unknown_declaration_is_refused():
    command = Command(lambda ctx, args: 0, "help", "x test", account="pipeline")
    with pytest.raises(ValueError, match="must be one of environment, target, none"):
        command.account_for(None)


def test_a_target_command_expects_any_target_account_or_the_one_named():
    config = load("test")
    targets = standard_deploy_targets("test", ELSEWHERE, "https://{stage}-{env}.acme.io/health")
    mixed = dataclasses.replace(config, deploy_targets=(config.deploy_targets[0], *targets[1:]))
    ctx = Context(mixed, "us-east-1", None, False)
    assert ctx.expected_accounts(ENVIRONMENT_ACCOUNT)[0] == {config.account_id}
    assert ctx.expected_accounts(TARGET_ACCOUNT)[0] == {config.account_id, ELSEWHERE}
    assert ctx.expected_accounts(TARGET_ACCOUNT, targets[1].environment)[0] == {ELSEWHERE}
    with pytest.raises(OpsError, match="has no deploy target 'qa'") as caught:
        ctx.expected_accounts(TARGET_ACCOUNT, "qa")
    assert caught.value.exit_code == 2


# --- as a user runs them, on a moto server -------------------------------------------------
@pytest.fixture(scope="module")
def recording_server(tmp_path_factory):
    """A moto server that records every request it gets (moto's recorder)."""
    from tools.rehearse import MotoServer

    recording = tmp_path_factory.mktemp("recorder") / "requests.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MOTO_RECORDER_FILEPATH", str(recording))
        with MotoServer() as server:
            yield server.url


def requests(url: str) -> list[tuple[str, str]]:
    """(service, operation) of each request recorded since the last reset:
    the service from the signature's credential scope, the operation from
    the JSON protocol's X-Amz-Target or the query protocol's Action."""
    with urllib.request.urlopen(f"{url}/moto-api/recorder/download-recording") as answer:  # noqa: S310 - our own 127.0.0.1
        entries = [json.loads(line) for line in answer.read().decode().splitlines() if line.strip()]
    found = []
    for entry in entries:
        headers = {k.lower(): v for k, v in entry["headers"].items()}
        service = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("authorization", ""))
        body = base64.b64decode(entry["body"]).decode() if entry.get("body_encoded") else entry.get("body") or ""
        action = headers.get("x-amz-target", "").split(".")[-1] or (re.findall(r"Action=(\w+)", body) or ["?"])[0]
        found.append((service.group(1) if service else "?", action))
    return found


def record(url: str) -> None:
    for step in ("stop-recording", "reset-recording", "start-recording"):
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/recorder/{step}", method="POST")).read()  # noqa: S310


def environments_in(tmp_path: Path, account: str) -> Path:
    """The fixture environments with `test` in another account."""
    directory = tmp_path / "environments"
    directory.mkdir()
    for source in FIXTURE_ENVIRONMENTS.glob("*.py"):
        text = source.read_text()
        if source.name == "test.py":
            text = text.replace('ACCOUNT_ID = "123456789012"', f'ACCOUNT_ID = "{account}"')
            assert account in text
        (directory / source.name).write_text(text)
    return directory


def ops(*argv: str, url: str, tmp_path: Path, environments: Path = FIXTURE_ENVIRONMENTS) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env = {
        **clean,
        "KIRO_ENVIRONMENTS_DIR": str(environments),
        "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    return subprocess.run(
        [sys.executable, "-m", "ops", *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    "argv",
    [
        ["deployments", "test"],
        ["health", "test", "--json"],
        ["trigger", "test"],
        ["stop", "test", "--reason", "stuck"],
        ["validate", "test"],
    ],
    ids=lambda argv: argv[0],
)
def test_credentials_for_another_account_stop_the_command_before_any_other_call(recording_server, tmp_path, argv):
    record(recording_server)
    run = ops(*argv, url=recording_server, tmp_path=tmp_path, environments=environments_in(tmp_path, ELSEWHERE))
    assert run.returncode == 2, run.stderr
    assert run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith(
        f"error: the credentials are for account 123456789012 (arn:aws:sts::123456789012:user/moto; no profile, "
        f"from AWS_ACCESS_KEY_ID in the environment), but `{argv[0]} test` works in {ELSEWHERE} "
        f"(account_id in {tmp_path / 'environments' / 'test.py'}): pass --profile NAME"
    ), line
    assert "aws sso login --profile NAME" in line
    assert requests(recording_server) == [("sts", "GetCallerIdentity")]


@pytest.mark.integration
def test_the_right_account_goes_on_to_the_command(recording_server, tmp_path):
    record(recording_server)
    run = ops("deployments", "test", url=recording_server, tmp_path=tmp_path)
    # No table on this server: the command itself ran, and said what is missing.
    assert run.returncode == 1 and "not found while calling Query on table kiro-pipeline-test-deployments" in run.stderr
    assert requests(recording_server)[:2] == [("sts", "GetCallerIdentity"), ("dynamodb", "Query")]
