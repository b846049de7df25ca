"""Roll a stage back (python -m ops rollback ENV --stage STAGE)."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from functions.shared import records
from ops.arguments import Command
from ops.aws import AWS_ERRORS, EXIT_USAGE, OpsError, code, explain
from ops.common import Context, iso, pipeline_state
from ops.values import canonical, execution_id
from topology import naming


def now() -> datetime:
    """When a target's artifact age is judged (tests fix it)."""
    return datetime.now(UTC)


def cmd_rollback(ctx: Context, args) -> int:
    """The rollback function's own choice (rollback.logic): roll back what the
    stage runs now, to the newest older STANDARD execution that passed it."""
    from functions.rollback import logic as choice

    # Checked here, before any call, in any case (stage names are the stacks').
    args.stage = canonical(naming.DEPLOY_STAGES.values(), args.stage)
    if args.stage is None:
        raise OpsError(f"--stage must be one of {', '.join(naming.DEPLOY_STAGES.values())}", EXIT_USAGE)
    state = pipeline_state(ctx)
    stage_state = next((s for s in state.get("stageStates", []) if s.get("stageName") == args.stage), None)
    version = state.get("pipelineVersion") if isinstance(state.get("pipelineVersion"), int) else None
    running = choice.assess(stage_state, version)
    latest = ((stage_state or {}).get("latestExecution") or {}).get("pipelineExecutionId")
    if isinstance(running, choice.Skip):
        raise OpsError(f"{args.stage}: {running.reason}; wait for it to finish, or stop it first (python -m ops stop)")
    if isinstance(running, choice.Refuse) and not args.to:
        raise OpsError(f"{args.stage}: {running.reason}; name an older execution with --to to roll back further")
    current = running.execution_id if isinstance(running, choice.Deployed) else latest
    present = [s.get("stageName") for s in state.get("stageStates", [])] or None
    target = args.to or _target(ctx, args.stage, current, version, present)
    try:
        rollback_execution = ctx.client("codepipeline").rollback_stage(
            pipelineName=ctx.names.pipeline, stageName=args.stage, targetPipelineExecutionId=target
        )["pipelineExecutionId"]
    except AWS_ERRORS as error:
        if code(error) in OUTDATED_TARGET:
            last_good = next(
                (r for r in ctx.store().recent(ctx.config.name) if r.get(records.PIPELINE_EXECUTION_ID) == target), None
            )
            raise OpsError(_fallback(ctx, args.stage, explain(error, "RollbackStage"), last_good, present)) from error
        raise
    done = [
        f"✓ rolling {args.stage} of {ctx.names.pipeline} back from {current} to {target} "
        f"(rollback execution {rollback_execution})"
    ]
    done += _record(ctx, args.stage, current, target, rollback_execution)
    ctx.emit(
        {
            records.STAGE: args.stage,
            "from": current,
            records.TARGET: target,
            records.ROLLBACK_EXECUTION_ID: rollback_execution,
        },
        done,
    )
    return 0


def _target(ctx: Context, stage: str, current: str | None, version: int | None, present: list | None) -> str:
    """The rollback function's choice of target, or the way back when none is valid."""
    from functions.rollback import logic as choice

    chosen = choice.choose_target(
        ctx.store().recent(ctx.config.name),
        stage,
        current,
        version=version,
        now=now(),
        artifact_days=ctx.config.artifact_lifecycle.expiration_days,
    )
    if isinstance(chosen, choice.NoTarget):
        if chosen.last_good is not None:
            raise OpsError(_fallback(ctx, stage, chosen.reason, chosen.last_good, present))
        raise OpsError(f"{chosen.reason}; give the execution to roll back to with --to")
    return chosen.target_execution


def _record(ctx: Context, stage: str, current: str | None, target: str, rollback_execution: str) -> list[str]:
    """Record the rollback like an automatic one, so the runbook's queries
    show it; a failed write is said, never fatal (the rollback runs)."""
    try:
        caller = ctx.client("sts").get_caller_identity()["Arn"]
        started = iso(datetime.now(UTC))
        ctx.store().claim(
            f"{records.ROLLBACK_PREFIX}manual#{stage}#{started}",
            {
                records.ENVIRONMENT: ctx.config.name,
                records.START_TIME: started,
                records.STATUS: "ROLLBACK_IN_PROGRESS",
                records.STAGE: stage,
                records.PIPELINE_NAME: ctx.names.pipeline,
                records.TARGET_EXECUTION_ID: target,
                records.ROLLED_BACK_EXECUTION_ID: current or "unknown",
                records.ROLLBACK_EXECUTION_ID: rollback_execution,
                records.INITIATED_BY: caller,
                records.EXPIRES: records.expires_at(started, ctx.config.deployment_record_ttl_days),
            },
        )
    except AWS_ERRORS as error:
        # A second rollback would only be refused or, worse, roll back further.
        return [
            f"! the rollback is running, but its record could not be written ({explain(error, 'recording it')}); "
            "do not start another: follow it with python -m ops health " + ctx.config.name
        ]
    return []


# RollbackStage's answers for a target of an older pipeline structure version.
OUTDATED_TARGET = frozenset({"UnableToRollbackStageException", "PipelineExecutionOutdatedException"})


def _fallback(ctx: Context, stage: str, reason: str, last_good: dict | None, present: list | None = None) -> str:
    """No execution can be rolled back to: the way back is a new release of
    the last good commit (the rollback function pages the same steps)."""
    from functions.rollback import logic as choice

    steps = choice.fallback_commands(ctx.names.pipeline, ctx.config.name, stage, last_good, present)
    minutes = choice.expected_minutes(last_good)
    return "\n".join(
        [
            f"{stage} cannot be rolled back: {reason}",
            "The way back is a new release of the last good commit"
            + (f" (about {minutes} minutes to production, as the last good release took):" if minutes else ":"),
            *(f"  {step}" for step in steps),
        ]
    )


def arguments_rollback(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stage", required=True, help=f"the deploy stage to roll back: {', '.join(naming.DEPLOY_STAGES.values())}"
    )
    parser.add_argument(
        "--to", type=execution_id, help="execution ID to roll back to (default: the rollback function's choice)"
    )


COMMANDS = {
    "rollback": Command(
        cmd_rollback,
        "Roll a stage back to the last success, or --to an execution",
        "rollback production --stage ProductionDeploy",
        arguments=arguments_rollback,
    ),
}
