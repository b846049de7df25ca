"""What changed since the last good release
(python -m ops changes ENV [--target T] [--since-last-good | --from EXEC --to EXEC] [--json]).

Reads the environment's ledger (a Query on EnvironmentStatusIndex, every
page) and the configuration's names, versions and dates: SSM
DescribeParameters under the environment's prefix (where setup-parameters
puts them) and Secrets Manager ListSecrets and DescribeSecret for the
environment's secrets. functions/shared/changes.py picks the span and
builds the view; the rollback function's page shows its first lines.

Never GetParameter, GetParameters, GetParametersByPath, GetParameterHistory,
GetSecretValue or BatchGetSecretValue: they return values. botocore's
models say which answers carry none: DescribeParameters' ParameterMetadata
has no Value member (GetParameterHistory's ParameterHistory has one), and
"DescribeSecret: Retrieves the details of a secret. It does not include the
encrypted secret value." (https://docs.aws.amazon.com/cli/latest/reference/secretsmanager/describe-secret.html);
tests/test_ops_changes.py holds the models to that.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from datetime import datetime

from functions.shared import changes
from ops.arguments import Command
from ops.aws import AWS_ERRORS, EXIT_USAGE, OpsError, calling, explain
from ops.commands.dora import readable
from ops.commands.options import add_choice
from ops.commands.parameters import parameter_path
from ops.common import Context
from ops.values import execution_id
from topology import naming


def _ledger(ctx: Context) -> tuple[list[dict], list[str]]:
    """Every record of the environment, and those left out for a field of an
    unexpected type (one line each: `ops dora`'s rule)."""
    with calling(f"table {ctx.names.deployments_table}"):
        return readable(ctx.store().recent(ctx.config.name))


def _parameters(ctx: Context) -> list[changes.ConfigChange]:
    """The environment's parameters: name, version, date, who (DescribeParameters: no values)."""
    found = []
    pages = ctx.client("ssm").get_paginator("describe_parameters")
    path = parameter_path(ctx.config.name)
    for page in pages.paginate(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [path]}]):
        for parameter in page.get("Parameters", []):
            found.append(
                changes.ConfigChange(
                    "parameter",
                    parameter["Name"],
                    str(parameter.get("Version", changes.NOT_RECORDED)),
                    _utc(parameter.get("LastModifiedDate")),
                    parameter.get("LastModifiedUser", ""),
                )
            )
    return found


def _secrets(ctx: Context) -> list[changes.ConfigChange]:
    """The environment's secrets (`kiro-pipeline-{env}-*`): name, current
    version, date. ListSecrets finds them ("name: Prefix match,
    case-sensitive"); it "might not reflect changes from the last five
    minutes. You can get more recent information for a specific secret by
    calling DescribeSecret" (botocore's model of ListSecrets), so each is described."""
    client, found = ctx.client("secretsmanager"), []
    prefix = naming.resource_name(ctx.config.name) + "-"
    for page in client.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [prefix]}]):
        for listed in page.get("SecretList", []):
            secret = client.describe_secret(SecretId=listed["ARN"])
            current = [v for v, labels in (secret.get("VersionIdsToStages") or {}).items() if "AWSCURRENT" in labels]
            found.append(
                changes.ConfigChange(
                    "secret",
                    secret["Name"],
                    current[0] if current else changes.NOT_RECORDED,
                    _utc(secret.get("LastChangedDate") or secret.get("CreatedDate")),
                )
            )
    return found


def _utc(moment) -> datetime | None:
    return moment if isinstance(moment, datetime) else None


def _configuration(ctx: Context) -> tuple[list[changes.ConfigChange], list[str]]:
    """Parameters and secrets; a source that cannot be read is a note, not a failure."""
    found, notes = [], []
    for what, read in (("parameters (DescribeParameters)", _parameters), ("secrets (ListSecrets)", _secrets)):
        try:
            found += read(ctx)
        except AWS_ERRORS as error:
            notes.append(f"configuration {what} not read: {explain(error, 'reading ' + what)}")
    return found, notes


def cmd_changes(ctx: Context, args) -> int:
    if args.since_last_good and args.last:
        raise OpsError("--since-last-good ends now: drop --to, or name the span with --from and --to", EXIT_USAGE)
    if bool(args.first) != bool(args.last):
        raise OpsError("--from and --to go together: name both executions, or neither (--since-last-good)", EXIT_USAGE)
    items, skipped = _ledger(ctx)
    configuration, notes = _configuration(ctx)
    repository = f"{ctx.config.github.owner}/{ctx.config.github.repo}"
    try:
        view = changes.build(
            items,
            configuration,
            environment=ctx.config.name,
            repository=repository,
            target=args.target,
            first=args.first,
            last=args.last,
        )
    except changes.SpanError as error:
        raise OpsError(str(error), EXIT_USAGE) from error
    if skipped:
        notes.append(f"{len(skipped)} record(s) left out, a field of an unexpected type (first: {skipped[0]})")
    view = replace(view, notes=(*view.notes, *notes))
    ctx.emit(changes.as_json(view), changes.lines(view))
    return 0


def arguments_changes(parser: argparse.ArgumentParser) -> None:
    add_choice(parser, "--target", tuple(naming.DEPLOY_STAGES), "deploy target", "the target whose health decides")
    parser.set_defaults(target=changes.DEFAULT_TARGET)
    span = parser.add_mutually_exclusive_group()
    span.add_argument(
        "--since-last-good",
        action="store_true",
        help="from the last release healthy on the target to now (the default)",
    )
    span.add_argument(
        "--from", dest="first", metavar="EXECUTION", type=execution_id, help="from this execution (with --to)"
    )
    parser.add_argument(
        "--to", dest="last", metavar="EXECUTION", type=execution_id, help="to this execution (with --from)"
    )


COMMANDS = {
    "changes": Command(
        cmd_changes,
        "What changed since the last good release: releases, pipeline, applies, ops runs, overrides, configuration",
        "changes production --target production",
        arguments=arguments_changes,
    ),
}
