"""`preflight ENV`: what must hold before `make deploy` or `make diff` touches
AWS. One ✓/✗/! line per check, each ✗ with its fix; any ✗ stops the deploy.

Synthesis never runs this: the README's first command works on a fresh
machine with the guide's placeholder values. A real deploy must not.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from environments import EnvironmentConfig
from ops.aws import AWS_ERRORS, explain

MINIMUM_TERRAFORM = (1, 10)
# The deployment guide's sample values: a deploy with any of them is a mistake.
PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_OWNER = "your-org"
PLACEHOLDER_DOMAIN = "example.com"


@dataclass(frozen=True)
class Check:
    label: str
    status: str  # "ok", "fail" or "warn"
    detail: str = ""

    def line(self) -> str:
        mark = {"ok": "✓", "fail": "✗", "warn": "!"}[self.status]
        return f"{mark} {self.label}" + (f": {self.detail}" if self.detail else "")


def _code(error: Exception) -> str:
    return error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""


def terraform_version(which: Callable[[str], str | None] = shutil.which, run=subprocess.run) -> Check:
    label = f"Terraform >= {'.'.join(map(str, MINIMUM_TERRAFORM))} on PATH"
    binary = which("terraform")
    if not binary:
        return Check(
            label, "fail", "no terraform on PATH: install it (https://developer.hashicorp.com/terraform/install)"
        )
    try:
        found = json.loads(run([binary, "version", "-json"], capture_output=True, text=True, timeout=30).stdout)
        version = tuple(int(p) for p in found["terraform_version"].split(".")[:2])
    except (OSError, ValueError, KeyError, subprocess.TimeoutExpired):
        return Check(label, "fail", f"{binary} did not report a version: reinstall Terraform")
    if version < MINIMUM_TERRAFORM:
        return Check(label, "fail", f"{binary} is {found['terraform_version']}: S3 lock files need 1.10 or newer")
    return Check(label, "ok", f"{binary} {found['terraform_version']}")


def placeholders(config: EnvironmentConfig) -> Check:
    label = "No placeholder values in the configuration"
    found = []
    if config.account_id == PLACEHOLDER_ACCOUNT:
        found.append(f"account_id {PLACEHOLDER_ACCOUNT}")
    if config.github.owner == PLACEHOLDER_OWNER:
        found.append(f"github.owner {PLACEHOLDER_OWNER!r}")
    if config.notification_email.lower().endswith("@" + PLACEHOLDER_DOMAIN):
        found.append(f"notification_email {config.notification_email}")
    for target in config.deploy_targets:
        if PLACEHOLDER_ACCOUNT in target.role_arn:
            found.append(f"deploy role of {target.environment} in account {PLACEHOLDER_ACCOUNT}")
        if PLACEHOLDER_DOMAIN in target.health_check_url:
            found.append(f"health URL of {target.environment} ({target.health_check_url})")
    if found:
        return Check(label, "fail", "; ".join(found) + f": set real values in environments/{config.name}.py")
    return Check(label, "ok")


class Preflight:
    def __init__(self, config: EnvironmentConfig, session):
        self.config, self.names, self.session = config, config.names, session

    def client(self, service: str):
        return self.session.client(service, region_name=self.config.region)

    def run(self) -> list[Check]:
        checks = [terraform_version(), placeholders(self.config)]
        account = self.credentials(checks)
        if account == self.config.account_id:
            checks += [self.state_backend(), *self.deployer_roles(account), self.connection()]
        return checks

    def credentials(self, checks: list[Check]) -> str | None:
        label = f"AWS credentials for account {self.config.account_id}"
        try:
            identity = self.client("sts").get_caller_identity()
        except AWS_ERRORS as error:
            checks.append(Check(label, "fail", str(explain(error, "checking the credentials"))))
            return None
        if identity["Account"] != self.config.account_id:
            checks.append(
                Check(
                    label,
                    "fail",
                    f"the credentials are for account {identity['Account']}: "
                    "switch profile (AWS_PROFILE) or fix account_id",
                )
            )
        else:
            checks.append(Check(label, "ok", identity["Arn"]))
        return identity["Account"]

    def state_backend(self) -> Check:
        label = f"State backend s3://{self.config.state_bucket} is bootstrapped"
        fix = f"run make bootstrap ENV={self.config.name}"
        try:
            self.client("s3").head_bucket(Bucket=self.config.state_bucket)
            if self.config.state_backend.dynamodb_locking:
                self.client("dynamodb").describe_table(TableName=self.config.state_lock_table)
        except ClientError as error:
            return Check(label, "fail", f"{_code(error) or 'missing'}: {fix}")
        except AWS_ERRORS as error:
            return Check(label, "fail", str(explain(error, "reading the state backend")))
        return Check(label, "ok")

    def deployer_roles(self, account: str) -> list[Check]:
        """The roles the deploy projects assume. Only roles in this account can
        be seen from here; others are listed as not checked."""
        checks = []
        for target in self.config.deploy_targets:
            role_account, role_name = target.role_arn.split(":")[4], target.role_arn.split("/")[-1]
            label = f"Deployer role {role_name} of {target.environment} exists"
            if role_account != account:
                checks.append(Check(label, "warn", f"in account {role_account}: not checked from here"))
                continue
            try:
                self.client("iam").get_role(RoleName=role_name)
                checks.append(Check(label, "ok"))
            except ClientError as error:
                if _code(error) != "NoSuchEntity":
                    raise
                # The infrastructure deploys without it; the pipeline's deploy
                # stage would fail on AssumeRole. Not a stop, but said loudly.
                checks.append(
                    Check(
                        label,
                        "warn",
                        f"missing: the {target.environment} deploy stage will fail on "
                        f"AssumeRole until it exists: python -m ops deployer-roles "
                        f"{self.config.name}",
                    )
                )
        return checks

    def connection(self) -> Check:
        label = f"GitHub connection {self.names.github_connection}"
        try:
            connections = self.client("codeconnections").list_connections(ProviderTypeFilter="GitHub")["Connections"]
        except AWS_ERRORS as error:
            return Check(label, "warn", f"not checked: {explain(error, 'listing connections')}")
        mine = [c for c in connections if c.get("ConnectionName") == self.names.github_connection]
        if not mine:
            return Check(label, "ok", f"not created yet (pipeline-{self.config.name} creates it)")
        status = mine[0].get("ConnectionStatus")
        if status != "AVAILABLE":
            return Check(
                label,
                "warn",
                f"{status}: complete the handshake in the console (docs/operations.md, "
                "Completing the GitHub connection); the pipeline cannot start until then",
            )
        return Check(label, "ok", "AVAILABLE")
