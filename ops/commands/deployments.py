"""Recent deployment records (python -m ops deployments ENV)."""

from __future__ import annotations

import argparse

from functions.rollback import logic as rollback
from functions.shared import records
from ops.arguments import Command, bounded
from ops.commands.options import add_choice
from ops.commands.override import FAILED as OVERRIDE_FAILED
from ops.commands.override import OVERRIDDEN, REQUESTED
from ops.common import Context, deployment_lines, query_deployments

# Every status a record of the table can have (docs/deployment-records.md):
# the recorder's and the incident ledger's (the contract's), the rollback
# function's and `ops rollback`'s (the three the rollback handler writes as
# literals), `ops override`'s; tests/test_ops_arguments.py holds every status the code writes
# to be here. The table stores them in upper case and the query compares
# exactly, so `--status failed` is read as FAILED, and a status no record
# can have is a usage error, not an empty answer.
STATUSES = tuple(
    sorted(
        set(records.EXECUTION_STATUSES)
        | {rollback.STARTED, "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED", "SKIPPED_STAGE_IN_PROGRESS"}
        | {REQUESTED, OVERRIDDEN, OVERRIDE_FAILED}
        | set(records.INCIDENT_STATUSES)
    )
)


def cmd_deployments(ctx: Context, args) -> int:
    items = query_deployments(ctx, args.limit, args.status)
    ctx.emit(items, deployment_lines(items))
    return 0


def arguments_deployments(parser: argparse.ArgumentParser) -> None:
    add_choice(parser, "--status", STATUSES, "record status", "only records of this status")
    parser.add_argument("--limit", type=bounded(int, 1, 1000, "records"), default=10)


COMMANDS = {
    "deployments": Command(
        cmd_deployments,
        "Recent deployment records, newest first",
        "deployments test --status FAILED",
        arguments=arguments_deployments,
    ),
}
