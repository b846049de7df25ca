"""Stop a stuck execution (python -m ops stop ENV)."""

from __future__ import annotations

import argparse

from ops.arguments import Command
from ops.aws import OpsError
from ops.common import Context
from ops.values import execution_id, text


def _executions(ctx: Context, max_results: int = 50) -> list[dict]:
    return ctx.client("codepipeline").list_pipeline_executions(pipelineName=ctx.names.pipeline, maxResults=max_results)[
        "pipelineExecutionSummaries"
    ]


def cmd_stop(ctx: Context, args) -> int:
    execution_id = args.execution_id
    if not execution_id:
        running = [e for e in _executions(ctx) if e["status"] in ("InProgress", "Stopping")]
        if not running:
            raise OpsError(f"no execution of {ctx.names.pipeline} is in progress")
        execution_id = running[0]["pipelineExecutionId"]
    ctx.client("codepipeline").stop_pipeline_execution(
        pipelineName=ctx.names.pipeline, pipelineExecutionId=execution_id, abandon=args.abandon, reason=args.reason
    )
    ctx.emit(
        {"executionId": execution_id, "reason": args.reason},
        [f"✓ stopping {ctx.names.pipeline} execution {execution_id}: {args.reason}"],
    )
    return 0


def arguments_stop(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--execution-id", type=execution_id, help="the execution to stop (default: the newest one in progress)"
    )
    # StopPipelineExecution: "reason ... Length Constraints: Maximum length of 200"
    # (https://docs.aws.amazon.com/codepipeline/latest/APIReference/API_StopPipelineExecution.html).
    parser.add_argument(
        "--reason",
        required=True,
        type=text("the reason", "codepipeline", "StopPipelineExecutionReason"),
        help="why (at most 200 characters); CodePipeline keeps it with the execution",
    )
    parser.add_argument("--abandon", action="store_true", help="stop without waiting for running actions")


COMMANDS = {
    "stop": Command(
        cmd_stop, "Stop a stuck execution", "stop test --reason 'Stuck execution, restarting'", arguments=arguments_stop
    ),
}
