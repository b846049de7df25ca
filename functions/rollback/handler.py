"""Lambda entry point: rolls a stage back when its health alarm enters ALARM.

Environment: TABLE_NAME, TABLE_INDEX, PIPELINE_ARN, TOPIC_ARN, ENVIRONMENT,
METRICS_NAMESPACE, RECORD_TTL_DAYS, ROLLBACK_ALARMS (JSON: alarm -> stage).

Reserved concurrency 1 means rollbacks of one environment never overlap.
Every outcome lands in the deployment table and, except ignored events, on
the rollbacks topic. Malformed and foreign events are acknowledged, not
retried; an AWS error before the rollback record exists raises, so the event
is retried and finally kept by the dead-letter queue.
"""

from __future__ import annotations

import os

from rollback import logic
from rollback.aws import AWS_ERRORS, Rollbacks, error_text, parse_alarm_map
from shared import settings
from shared.log import Logger

log = Logger("rollback")
SETTINGS = settings.read(
    {
        "TABLE_NAME": str,
        "TABLE_INDEX": str,
        "PIPELINE_ARN": settings.arn("codepipeline"),
        "TOPIC_ARN": settings.arn("sns"),
        "ENVIRONMENT": str,
        "METRICS_NAMESPACE": str,
        "RECORD_TTL_DAYS": settings.positive_int,
        "ROLLBACK_ALARMS": parse_alarm_map,
    }
)
PIPELINE = SETTINGS["PIPELINE_ARN"].split(":")[5]
_aws: Rollbacks | None = None


def aws() -> Rollbacks:
    global _aws
    if _aws is None:
        _aws = Rollbacks(
            table=SETTINGS["TABLE_NAME"],
            index=SETTINGS["TABLE_INDEX"],
            pipeline=PIPELINE,
            topic_arn=SETTINGS["TOPIC_ARN"],
            namespace=SETTINGS["METRICS_NAMESPACE"],
            environment=SETTINGS["ENVIRONMENT"],
        )
    return _aws


def _notify(subject: str, request: logic.RollbackRequest, **details) -> bool:
    """Publish to the rollbacks topic; a failure is logged, never fatal."""
    try:
        aws().notify(
            logic.message(
                subject,
                request,
                pipeline=PIPELINE,
                environment=SETTINGS["ENVIRONMENT"],
                table=SETTINGS["TABLE_NAME"],
                log_group=f"/aws/lambda/{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', PIPELINE + '-rollback')}",
                **details,
            )
        )
        return True
    except AWS_ERRORS as error:
        log.error("could not publish to the rollbacks topic; the record is kept", error=error_text(error))
        return False


def _fail(request: logic.RollbackRequest, reason: str, target: str | None, **record) -> dict:
    command = logic.manual_command(PIPELINE, request.stage, target)
    aws().update(request.rollback_id, status="ROLLBACK_FAILED", failureReason=reason, manualCommand=command, **record)
    log.error("automatic rollback not possible; manual rollback needed", reason=reason, command=command)
    _notify("Manual rollback needed", request, Problem=reason, Command=command)
    return {"result": "failed", "reason": reason, "command": command}


def handler(event, context=None) -> dict:
    log.bind(requestId=getattr(context, "aws_request_id", None), eventId=event.get("id") if isinstance(event, dict) else None)
    try:
        decision = logic.decide(event, SETTINGS["ROLLBACK_ALARMS"])
    except logic.MalformedEvent as error:
        log.error("rejected malformed event", reason=str(error))
        return {"result": "rejected", "reason": str(error)}
    if isinstance(decision, logic.Ignored):
        log.info("ignored alarm event", reason=decision.reason)
        return {"result": "ignored", "reason": decision.reason}

    request = decision
    log.add(rollbackId=request.rollback_id, alarm=request.alarm, stage=request.stage)
    claimed = aws().claim(
        request.rollback_id,
        {
            "environment": SETTINGS["ENVIRONMENT"],
            "startTime": request.time,
            "status": "ROLLBACK_STARTED",
            "stage": request.stage,
            "alarmName": request.alarm,
            "reason": request.reason,
            "pipelineName": PIPELINE,
            "expiresAt": logic.expires_at(request.time, SETTINGS["RECORD_TTL_DAYS"]),
        },
    )
    if not claimed:
        log.info("duplicate delivery: this alarm transition is already handled")
        return {"result": "duplicate"}

    # From here on the record exists: every path updates it instead of raising.
    try:
        target = logic.choose_target(aws().recent_deployments())
        if isinstance(target, logic.NoTarget):
            return _fail(request, target.reason, None)
        details = {"rolledBackExecutionId": target.current_execution, "targetExecutionId": target.target_execution}
        if logic.rollback_in_progress(aws().stage_state(request.stage)):
            aws().update(request.rollback_id, status="ROLLBACK_ALREADY_IN_PROGRESS", **details)
            log.info("a rollback of this stage is already running; not starting another")
            _notify("Rollback already in progress", request, **{"Rolling back to": target.target_execution})
            return {"result": "already-in-progress"}
        try:
            rollback_execution = aws().roll_back(request.stage, target.target_execution)
        except AWS_ERRORS as error:
            return _fail(request, f"CodePipeline refused the rollback: {error_text(error)}", target.target_execution, **details)
    except AWS_ERRORS as error:
        return _fail(request, f"could not prepare the rollback: {error_text(error)}", None)

    aws().update(request.rollback_id, status="ROLLBACK_IN_PROGRESS", rollbackExecutionId=rollback_execution, **details)
    log.info("rollback initiated", rollbackExecutionId=rollback_execution, **details)
    try:
        aws().count_rollback()
    except AWS_ERRORS as error:
        log.error("could not emit RollbackCount", error=error_text(error))
    notified = _notify(
        "Rollback Initiated",
        request,
        **{
            "Rolled back execution": target.current_execution,
            "Rolling back to": target.target_execution,
            "Rollback execution": rollback_execution,
        },
    )
    return {"result": "rolled-back", "rollbackExecutionId": rollback_execution, "notified": notified}
