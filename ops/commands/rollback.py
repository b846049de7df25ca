"""Roll a stage back (python -m ops rollback ENV --stage STAGE)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from functions.shared import records
from ops.arguments import Command
from ops.aws import AWS_ERRORS, EXIT_USAGE, OpsError, explain
from ops.common import Context, iso, pipeline_state
from topology import naming


def cmd_rollback(ctx: Context, args) -> int:
    """The rollback function's own choice (rollback.logic): roll back what the
    stage runs now, to the newest older STANDARD execution that passed it."""
    from rollback import logic as choice

    if args.stage not in naming.DEPLOY_STAGES.values():
        raise OpsError(f"--stage must be one of {', '.join(naming.DEPLOY_STAGES.values())}", EXIT_USAGE)
    stage_state = next(
        (s for s in pipeline_state(ctx).get("stageStates", []) if s.get("stageName") == args.stage), None
    )
    now = choice.assess(stage_state)
    latest = ((stage_state or {}).get("latestExecution") or {}).get("pipelineExecutionId")
    if isinstance(now, choice.Skip):
        raise OpsError(f"{args.stage}: {now.reason}; wait for it to finish, or stop it first (python -m ops stop)")
    if isinstance(now, choice.Refuse) and not args.to:
        raise OpsError(f"{args.stage}: {now.reason}; name an older execution with --to to roll back further")
    current = now.execution_id if isinstance(now, choice.Deployed) else latest
    target = args.to
    if not target:
        chosen = choice.choose_target(ctx.store().recent(ctx.config.name), args.stage, current)
        if isinstance(chosen, choice.NoTarget):
            raise OpsError(f"{chosen.reason}; give the execution to roll back to with --to")
        target = chosen.target_execution
    rollback_execution = ctx.client("codepipeline").rollback_stage(
        pipelineName=ctx.names.pipeline, stageName=args.stage, targetPipelineExecutionId=target
    )["pipelineExecutionId"]
    done = [
        f"✓ rolling {args.stage} of {ctx.names.pipeline} back from {current} to {target} "
        f"(rollback execution {rollback_execution})"
    ]
    moment = datetime.now(UTC)
    try:
        caller = ctx.client("sts").get_caller_identity()["Arn"]
        # Recorded like an automatic rollback, so the runbook's queries show it.
        started = iso(moment)
        ctx.store().claim(
            f"{records.ROLLBACK_PREFIX}manual#{args.stage}#{started}",
            {
                "environment": ctx.config.name,
                "startTime": started,
                "status": "ROLLBACK_IN_PROGRESS",
                "stage": args.stage,
                "pipelineName": ctx.names.pipeline,
                "targetExecutionId": target,
                "rolledBackExecutionId": current or "unknown",
                "rollbackExecutionId": rollback_execution,
                "initiatedBy": caller,
                records.EXPIRES: records.expires_at(started, ctx.config.deployment_record_ttl_days),
            },
        )
    except AWS_ERRORS as error:
        # The rollback runs; a second one would only be refused or, worse,
        # roll back further. Say so, and do not fail the command.
        done.append(
            f"! the rollback is running, but its record could not be written ({explain(error, 'recording it')}); "
            "do not start another: follow it with python -m ops health " + ctx.config.name
        )
    ctx.emit({"stage": args.stage, "from": current, "target": target, "rollbackExecutionId": rollback_execution}, done)
    return 0


def arguments_rollback(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stage", required=True)
    parser.add_argument("--to", help="execution ID to roll back to (default: the last success)")


COMMANDS = {
    "rollback": Command(
        cmd_rollback,
        "Roll a stage back to the last success, or --to an execution",
        "rollback production --stage ProductionEnv",
        arguments=arguments_rollback,
    ),
}
