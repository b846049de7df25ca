"""What every `python -m ops` command shares: the Context it runs with, the
account check every command makes first, one line for any error it meets,
and the reads that several commands make (the pipeline's state, the newest
deployment records)."""

from __future__ import annotations

import itertools
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

import environments
from environments import EnvironmentConfig
from functions.shared import records
from functions.shared.store import Store
from ops.arguments import ENVIRONMENT_ACCOUNT, NO_ACCOUNT, TARGET_ACCOUNT
from ops.aws import (  # noqa: F401 - `code` is re-exported: commands read it as ops.common.code
    AWS_ERRORS,
    EXIT_USAGE,
    OpsError,
    calling,
    chosen_profile,
    code,
    explain,
    profile_source,
    session,
    what_failed,
)
from topology import naming

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Context:
    """What every command gets: the environment's config, names and clients."""

    def __init__(
        self,
        config: EnvironmentConfig,
        region: str,
        profile: str | None,
        as_json: bool,
        timeout: float | None = None,
    ):
        self.config, self.names = config, config.names
        self.region, self.as_json, self.profile = region, as_json, profile
        self.session = session(region, profile) if timeout is None else session(region, profile, timeout)
        # What this command started that outlives it (an execution), said on Ctrl-C.
        self.remote: list[str] = []

    def client(self, service: str):
        return self.session.client(service, region_name=self.region)

    def still_running(self, what: str, stop: str) -> None:
        """Register a remote operation this command started and how to stop it
        (`execution X of P`, `python -m ops stop ENV --execution-id X --reason '...'`):
        Ctrl-C then says it keeps running, and how to stop it."""
        self.remote.append(f"{what} keeps running; stop it with {stop}")

    def interrupted(self) -> str:
        """The one line Ctrl-C prints."""
        return "; ".join(["interrupted", *self.remote])

    def identity(self, doing: str | None = None) -> dict:
        """Whose credentials these are. "No permissions are required to perform
        this operation. If an administrator attaches a policy to your identity
        that explicitly denies access to the sts:GetCallerIdentity action, you
        can still perform this operation."
        (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html)"""
        try:
            return self.client("sts").get_caller_identity()
        except AWS_ERRORS as error:
            raise explain(error, doing or f"checking the credentials' account for {self.config.name}") from error

    def check_account(self, kind: str, command: str, target: str | None = None) -> None:
        """Refuse, before any other call, credentials for another account than
        the one `command` works in (kind: ops.arguments.ENVIRONMENT_ACCOUNT,
        TARGET_ACCOUNT or NO_ACCOUNT), naming what was found and what was expected."""
        if kind == NO_ACCOUNT:
            return
        expected, setting = self.expected_accounts(kind, target)
        identity = self.identity(f"{command} {self.config.name}")
        if identity["Account"] in expected:
            return
        raise OpsError(
            f"the credentials are for account {identity['Account']} ({identity.get('Arn', '?')}; "
            f"{credentials_source(self.session, self.profile)}), but `{command} {self.config.name}` works in "
            f"{' or '.join(sorted(expected))} ({setting}): pass --profile NAME with a profile for that account "
            "(`aws sso login --profile NAME` first for an SSO profile), or correct the setting",
            EXIT_USAGE,
        )

    def expected_accounts(self, kind: str, target: str | None = None) -> tuple[set[str], str]:
        """The accounts a command of `kind` may run in, and the setting that says so."""
        path = environment_file(self.config.name)
        if kind == ENVIRONMENT_ACCOUNT:
            return {self.config.account_id}, f"account_id in {path}"
        if kind == TARGET_ACCOUNT:
            targets = [t for t in self.config.deploy_targets if target in (None, t.environment)]
            if not targets:
                raise OpsError(
                    f"{self.config.name} has no deploy target {target!r}: it has "
                    f"{', '.join(t.environment for t in self.config.deploy_targets)} ({path})",
                    EXIT_USAGE,
                )
            which = f"deploy target {target}'s" if target else "the deploy targets'"
            return {t.role_arn.split(":")[4] for t in targets}, f"{which} role_arn in {path}"
        raise ValueError(f"unknown account kind {kind!r}")

    def store(self) -> Store:
        """The deployment-record table, read and written as the functions do."""
        return Store(self.client("dynamodb"), self.names.deployments_table, self.names.deployments_index)

    def arn(self, service: str, resource: str) -> str:
        return naming.arn(self.config.partition, service, self.region, self.config.account_id, resource)

    def emit(self, data: Any, lines: list[str]) -> None:
        print(json.dumps(data, indent=2, default=str) if self.as_json else "\n".join(lines))


def environment_file(name: str) -> str:
    """Where environment `name` is configured, as the user would type it."""
    try:
        path = Path(environments.module(name).__file__).resolve()
    except Exception:  # noqa: BLE001 - only for the message; loading already succeeded
        return f"environments/{name}.py"
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# botocore's names for where credentials came from (Credentials.method).
CREDENTIAL_SOURCES = {
    "env": "from AWS_ACCESS_KEY_ID in the environment",
    "shared-credentials-file": "from the shared credentials file",
    "config-file": "from the AWS config file",
    "sso": "from an AWS SSO login",
    "assume-role": "from a role the profile assumes",
    "assume-role-with-web-identity": "from a web identity token",
    "custom-process": "from the profile's credential_process",
    "container-role": "from the container's role",
    "iam-role": "from the instance's role",
}


def credentials_source(boto_session, profile: str | None) -> str:
    """`profile dev (--profile), from an AWS SSO login`: how the user chose them."""
    given = chosen_profile(profile)
    how = " (--profile)" if profile else profile_source(given)
    parts = [f"profile {given}{how}" if given else "no profile"]
    try:
        method = boto_session.get_credentials().method
    except Exception:  # noqa: BLE001 - a description only; the identity call already succeeded
        method = None
    if method:
        parts.append(CREDENTIAL_SOURCES.get(method, f"from {method}"))
    return ", ".join(parts)


NOT_FOUND_CODES = {
    "ResourceNotFoundException",
    "PipelineNotFoundException",
    "NotFound",
    "NotFoundException",
    "ResourceNotFound",
    "NoSuchBucket",
    "PipelineExecutionNotFoundException",
    "ParameterNotFound",
}


# Which stack creates what an operation reads, so "not found" says what to deploy.
STACK_OF_OPERATION = {
    **dict.fromkeys(
        (
            "Query",
            "GetItem",
            "PutItem",
            "UpdateItem",
            "Scan",
            "DescribeTable",
            "DescribeTimeToLive",
            "GetBucketEncryption",
            "GetBucketVersioning",
            "GetPublicAccessBlock",
        ),
        "core",
    ),
    **dict.fromkeys(
        (
            "GetPipeline",
            "GetPipelineState",
            "GetPipelineExecution",
            "StartPipelineExecution",
            "StopPipelineExecution",
            "PutApprovalResult",
            "RollbackStage",
            "ListPipelineExecutions",
            "BatchGetProjects",
            "GetConnection",
        ),
        "pipeline",
    ),
    **dict.fromkeys(
        (
            "Publish",
            "Subscribe",
            "GetTopicAttributes",
            "ListSubscriptionsByTopic",
            "GetDashboard",
            "DescribeRule",
            "GetFunctionConfiguration",
            "DescribeAlarms",
            "DescribeAlarmHistory",
        ),
        "monitoring",
    ),
}


def missing_resource(error: Exception, env: str) -> str | None:
    """A not-found error as one line naming the call, what is missing and the stack that creates it."""
    if not isinstance(error, ClientError) or code(error) not in NOT_FOUND_CODES:
        return None
    detail = error.response.get("Error", {}).get("Message", "") or code(error)
    stack = STACK_OF_OPERATION.get(error.operation_name)
    fix = (
        f"deploy {stack}-{env} (make deploy ENV={env} STACK={stack})"
        if stack
        else f"check that every stack of {env} is deployed (make deploy ENV={env})"
    )
    return f"not found while calling {what_failed(error)}: {detail.splitlines()[0][:200]}; {fix}"


def failure(error: Exception, env: str) -> OpsError:
    """Any error a command meets as one line (and its exit code)."""
    if isinstance(error, OpsError):
        return error
    missing = missing_resource(error, env)
    return OpsError(missing) if missing else explain(error)


def iso(moment: Any) -> str:
    if isinstance(moment, datetime):
        return records.format_time(moment)
    return str(moment or "")


def pipeline_state(ctx: Context) -> dict:
    try:
        with calling(f"pipeline {ctx.names.pipeline}"):
            return ctx.client("codepipeline").get_pipeline_state(name=ctx.names.pipeline)
    except ClientError as error:
        if code(error) == "PipelineNotFoundException":
            raise OpsError(f"pipeline {ctx.names.pipeline} not found: deploy pipeline-{ctx.config.name}") from error
        raise


def query_deployments(ctx: Context, limit: int, status: str | None = None, since: str | None = None) -> list[dict]:
    """The environment's newest `limit` records (optionally of one status, from `since`)."""
    with calling(f"table {ctx.names.deployments_table}"):
        return list(itertools.islice(ctx.store().recent(ctx.config.name, since=since, status=status), limit))


def deployment_lines(items: list[dict]) -> list[str]:
    if not items:
        return ["(no deployment records)"]
    lines = [f"{records.KEY:40} {'status':28} {'startTime':21} {'stage':14} commit"]
    for item in items:
        lines.append(
            f"{item.get(records.KEY, ''):40} {item.get('status', ''):28} {item.get('startTime', ''):21} "
            f"{item.get('stage', ''):14} {str(item.get(records.COMMIT_ID, ''))[:12]}"
        )
    return lines
