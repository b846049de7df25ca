"""The Slack webhook secret (python -m ops setup-secrets ENV)."""

from __future__ import annotations

import getpass
import re
import sys

from botocore.exceptions import ClientError

from ops.arguments import Command
from ops.aws import EXIT_USAGE, OpsError
from ops.common import Context, code
from ops.ledger_runs import record_run

_SLACK_WEBHOOK = re.compile(r"^https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+$")


def _read_secret(prompt: str) -> str:
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    return sys.stdin.readline().strip()


def cmd_setup_secrets(ctx: Context, args) -> int:
    name = ctx.names.resource_secret("slack-webhook")
    value = _read_secret("Slack webhook URL (not echoed): ")
    if not _SLACK_WEBHOOK.match(value):
        raise OpsError(
            "the value is not a Slack webhook URL (https://hooks.slack.com/services/...); nothing stored", EXIT_USAGE
        )
    secrets = ctx.client("secretsmanager")
    try:
        secrets.put_secret_value(SecretId=name, SecretString=value)
        action = "updated"
    except ClientError as error:
        if code(error) != "ResourceNotFoundException":
            raise
        secrets.create_secret(
            Name=name,
            Description=f"Slack webhook for kiro-pipeline {ctx.config.name} notifications",
            KmsKeyId=ctx.names.kms_alias,
            SecretString=value,
        )
        action = "created"
    # A new version of the secret: recorded by name (never its value).
    record_run(ctx, "setup-secrets", [f"{name}: {action}, a new version"])
    ctx.emit(
        {"secret": name, "action": action},
        [
            f"✓ secret {name} {action} (value not shown); {ctx.names.lambda_function('slack-notifier')} "
            "reads it at its next message"
        ],
    )
    return 0


COMMANDS = {
    "setup-secrets": Command(
        cmd_setup_secrets,
        "Store the Slack webhook in Secrets Manager (read from stdin or a prompt)",
        "setup-secrets test < webhook.txt",
    ),
}
