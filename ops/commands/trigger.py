"""Start an execution and follow it (python -m ops trigger ENV)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ops.arguments import Command, bounded
from ops.aws import EXIT_FAILED
from ops.common import Context, pipeline_state

FINAL_EXECUTION_STATES = {"Succeeded", "Failed", "Stopped", "Superseded", "Cancelled"}


def cmd_trigger(ctx: Context, args) -> int:
    codepipeline = ctx.client("codepipeline")
    execution_id = codepipeline.start_pipeline_execution(name=ctx.names.pipeline)["pipelineExecutionId"]
    if not args.as_json:
        print(f"Started {ctx.names.pipeline} execution {execution_id}", flush=True)
    if not args.wait:
        if args.as_json:
            print(json.dumps({"executionId": execution_id}))
        return 0
    try:
        return _follow(ctx, args, codepipeline, execution_id)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: execution {execution_id} keeps running; follow it with "
            f"python -m ops health {ctx.config.name}, or stop it with python -m ops stop {ctx.config.name} "
            f"--execution-id {execution_id} --reason '...'",
            file=sys.stderr,
        )
        return 130


def _follow(ctx: Context, args, codepipeline, execution_id: str) -> int:
    seen: dict[str, str] = {}
    while True:
        status = codepipeline.get_pipeline_execution(pipelineName=ctx.names.pipeline, pipelineExecutionId=execution_id)[
            "pipelineExecution"
        ]["status"]
        for stage in pipeline_state(ctx).get("stageStates", []):
            latest = stage.get("latestExecution", {})
            if latest.get("pipelineExecutionId") == execution_id and seen.get(stage["stageName"]) != latest.get(
                "status"
            ):
                seen[stage["stageName"]] = latest.get("status")
                if not args.as_json:
                    print(f"  {stage['stageName']:14} {latest.get('status')}", flush=True)
        if status in FINAL_EXECUTION_STATES:
            break
        time.sleep(args.poll_seconds)
    if args.as_json:
        print(json.dumps({"executionId": execution_id, "status": status, "stages": seen}))
    else:
        print(f"{'✓' if status == 'Succeeded' else '✗'} execution {execution_id}: {status}")
    return 0 if status == "Succeeded" else EXIT_FAILED


def arguments_trigger(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true")
    parser.add_argument(
        "--poll-seconds",
        type=bounded(float, 1.0, 3600.0, "seconds"),
        default=15.0,
        help="seconds between polls while waiting (default 15)",
    )


COMMANDS = {
    "trigger": Command(
        cmd_trigger,
        "Start an execution; --wait follows it to the end",
        "trigger test --wait",
        arguments=arguments_trigger,
    ),
}
