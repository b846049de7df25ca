"""Recent deployment records (python -m ops deployments ENV)."""

from __future__ import annotations

import argparse

from ops.arguments import Command, bounded
from ops.common import Context, deployment_lines, query_deployments


def cmd_deployments(ctx: Context, args) -> int:
    items = query_deployments(ctx, args.limit, args.status)
    ctx.emit(items, deployment_lines(items))
    return 0


def arguments_deployments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status")
    parser.add_argument("--limit", type=bounded(int, 1, 1000, "records"), default=10)


COMMANDS = {
    "deployments": Command(
        cmd_deployments,
        "Recent deployment records, newest first",
        "deployments test --status FAILED",
        arguments=arguments_deployments,
    ),
}
