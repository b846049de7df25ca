"""Lambda entry point: rolls a stage back when its health alarm enters ALARM.

Environment: TABLE_NAME, TABLE_INDEX, PIPELINE_ARN, TOPIC_ARN, ENVIRONMENT,
RECORD_TTL_DAYS, ROLLBACK_ALARMS (JSON: alarm -> stage).

The flow, each step decided in `logic`:
1. The alarm event is parsed; any malformed shape is rejected and
   acknowledged, never raised.
2. GetPipelineState says what the stage runs now. A stage in progress (a
   deploy, a bake, a native rollback) is left to CodePipeline: recorded, not
   paged. A stage already running a rollback that is still unhealthy pages.
3. The record `rollback#{stage}#{execution}` is claimed: one rollback per bad
   deployment, however often the alarm fires. A claim found at
   ROLLBACK_STARTED (a lost acknowledgement, or an attempt that died) is
   resumed, not dropped.
4. The target is the newest older STANDARD execution in which the stage
   succeeded (paginated index query).
5. RollbackStage, retried on transient errors within the time budget; a
   timeout after sending is resolved by re-reading the stage, not by guessing.
6. The record ends in ROLLBACK_IN_PROGRESS or ROLLBACK_FAILED (with the
   manual command), and the rollbacks topic is told. If the record cannot be
   written even after retries, the handler raises: the retry finds the claim
   at ROLLBACK_STARTED and finishes it.

Reserved concurrency 1: rollbacks of one environment never overlap.
RollbackCount is counted by the deployment recorder from the rollback
execution itself, so native and manual rollbacks count too, and none twice.
"""

from __future__ import annotations

import functools
import itertools
import os
import time

from rollback import logic
from rollback.aws import AWS_ERRORS, Rollbacks, error_text, parse_alarm_map
from shared import records, retry, settings
from shared.log import Logger

log = Logger("rollback")
SPEC = {
    "TABLE_NAME": str,
    "TABLE_INDEX": str,
    "PIPELINE_ARN": settings.arn("codepipeline"),
    "TOPIC_ARN": settings.arn("sns"),
    "ENVIRONMENT": str,
    "RECORD_TTL_DAYS": settings.positive_int,
    "ROLLBACK_ALARMS": parse_alarm_map,
}


@functools.lru_cache(maxsize=1)
def config() -> dict:
    """The settings, read and validated at the first invocation (not at import)."""
    return settings.read(SPEC)


def pipeline_name() -> str:
    return config()["PIPELINE_ARN"].split(":")[5]


def _log_group() -> str:
    return f"/aws/lambda/{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', pipeline_name() + '-rollback')}"


def cold_start() -> None:
    """Forget the settings and clients, as a new execution environment would."""
    global _aws
    config.cache_clear()
    _aws = None


_aws: Rollbacks | None = None
# Tests replace it to count and skip the waits.
sleep = time.sleep


def aws() -> Rollbacks:
    global _aws
    if _aws is None:
        _aws = Rollbacks(
            table=config()["TABLE_NAME"],
            index=config()["TABLE_INDEX"],
            pipeline=pipeline_name(),
            topic_arn=config()["TOPIC_ARN"],
            environment=config()["ENVIRONMENT"],
        )
    return _aws


class Invocation:
    """One alarm event's handling: the request, its budget and its record."""

    def __init__(self, request: logic.RollbackRequest, context):
        self.request = request
        self.budget = retry.Budget.of(context)
        self.key = request.alarm_key

    def call(self, operation, idempotent: bool = True):
        return retry.call(
            operation,
            self.budget,
            sleep=sleep,
            idempotent=idempotent,
            on_retry=lambda error, attempt: log.warning(
                "retrying a transient AWS error", error=error_text(error), attempt=attempt
            ),
        )

    def record(self, **values) -> None:
        self.call(lambda: aws().update(self.key, **values))

    def notify(self, subject: str, **details) -> bool:
        """Publish to the rollbacks topic; a failure is logged, never fatal."""
        try:
            self.call(
                lambda: aws().notify(
                    logic.message(
                        subject,
                        self.request,
                        pipeline=pipeline_name(),
                        environment=config()["ENVIRONMENT"],
                        table=config()["TABLE_NAME"],
                        record_key=self.key,
                        log_group=_log_group(),
                        **details,
                    )
                )
            )
            return True
        except (*AWS_ERRORS, retry.Ambiguous) as error:
            log.error("could not publish to the rollbacks topic; the record is kept", error=error_text(error))
            return False

    def claim(self, **extra):
        request = self.request
        return self.call(
            lambda: aws().claim(
                self.key,
                {
                    "environment": config()["ENVIRONMENT"],
                    "startTime": request.time,
                    "status": logic.STARTED,
                    "stage": request.stage,
                    "alarmName": request.alarm,
                    "reason": request.reason,
                    "pipelineName": pipeline_name(),
                    records.EXPIRES: records.expires_at(request.time, config()["RECORD_TTL_DAYS"]),
                    **extra,
                },
            )
        )

    def fail(self, reason: str, target: str | None, **record) -> dict:
        command = logic.manual_command(pipeline_name(), self.request.stage, target)
        self.record(status="ROLLBACK_FAILED", failureReason=reason, manualCommand=command, **record)
        log.error("automatic rollback not possible; manual rollback needed", reason=reason, command=command)
        self.notify("Manual rollback needed", Problem=reason, Command=command)
        return {"result": "failed", "reason": reason, "command": command}


def handler(event, context=None) -> dict:
    log.bind(
        requestId=getattr(context, "aws_request_id", None),
        eventId=event.get("id") if isinstance(event, dict) and isinstance(event.get("id"), str) else None,
    )
    try:
        decision = logic.decide(event, config()["ROLLBACK_ALARMS"])
    except logic.MalformedEvent as error:
        log.error("rejected malformed event", reason=str(error))
        return {"result": "rejected", "reason": str(error)}
    if isinstance(decision, logic.Ignored):
        log.info("ignored alarm event", reason=decision.reason)
        return {"result": "ignored", "reason": decision.reason}

    run = Invocation(decision, context)
    log.add(alarm=decision.alarm, stage=decision.stage)
    # Nothing is claimed yet: an error here raises, and the event is retried.
    state = run.call(lambda: aws().stage_state(decision.stage))
    now = logic.assess(state)
    if isinstance(now, (logic.Skip, logic.Refuse)):
        return _finish_unfinished(run, state) or _without_rollback(run, now)

    run.key = now.key(decision.stage)
    log.add(record=run.key, execution=now.execution_id)
    existing = run.claim(rolledBackExecutionId=now.execution_id)
    if existing is not None:
        if existing.get("status") != logic.STARTED:
            log.info("this deployment is already handled", status=existing.get("status"))
            return {"result": "duplicate", "status": existing.get("status")}
        log.warning("resuming a rollback whose record was claimed but not finished")
    return _roll_back(run, now.execution_id)


def _finish_unfinished(run: Invocation, state: dict | None) -> dict | None:
    """An earlier attempt started the rollback and died before writing it
    down: the stage now runs a rollback. Finish that record; do not page."""
    stage = run.request.stage
    latest = (state or {}).get("latestExecution") or {}
    if latest.get("type") != "ROLLBACK":
        return None
    keys = logic.unfinished_claims(itertools.islice(history(run), 50), stage)
    for key in keys:
        run.key = key
        run.record(status="ROLLBACK_IN_PROGRESS", rollbackExecutionId=latest["pipelineExecutionId"])
        log.info("finished the record of a rollback an earlier attempt started", record=key)
        # The attempt that started it died before it could announce it.
        run.notify("Rollback Initiated", **{"Rollback execution": latest["pipelineExecutionId"]})
    return {"result": "resumed", "records": keys} if keys else None


def history(run: Invocation):
    """The deployment records, newest first, each page read with retries."""
    return aws().deployments(fetch=lambda request: run.call(lambda: aws().page(request)))


def _without_rollback(run: Invocation, outcome) -> dict:
    """Record a skip or a refusal once per alarm transition. A claim of this
    transition still at ROLLBACK_STARTED is our own (a lost acknowledgement, or
    an attempt that died before writing the outcome): finish it."""
    existing = run.claim()
    if existing is not None and existing.get("status") != logic.STARTED:
        return {"result": "duplicate"}
    if isinstance(outcome, logic.Skip):
        run.record(status="SKIPPED_STAGE_IN_PROGRESS", skipReason=outcome.reason)
        log.info("not rolling back", reason=outcome.reason)
        return {"result": "skipped", "reason": outcome.reason}
    return run.fail(outcome.reason, None)


def _roll_back(run: Invocation, current: str) -> dict:
    stage = run.request.stage
    try:
        target = logic.choose_target(history(run), stage, current)
    except (*AWS_ERRORS, retry.Ambiguous) as error:
        return run.fail(f"could not read the deployment history: {error_text(error)}", None)
    if isinstance(target, logic.NoTarget):
        return run.fail(target.reason, None)
    details = {"rolledBackExecutionId": current, "targetExecutionId": target.target_execution}
    try:
        # Not idempotent: after a timeout, re-read instead of calling again.
        rollback_execution = run.call(lambda: aws().roll_back(stage, target.target_execution), idempotent=False)
    except (retry.Ambiguous, *AWS_ERRORS) as error:
        # Applied after all (a lost response), or refused because a rollback
        # is already running (a conflict that outlived the retries): the
        # stage says which.
        latest = (run.call(lambda: aws().stage_state(stage)) or {}).get("latestExecution") or {}
        if latest.get("type") != "ROLLBACK" or latest.get("status") not in ("InProgress", "Succeeded"):
            why = "timed out" if isinstance(error, retry.Ambiguous) else f"was refused: {error_text(error)}"
            return run.fail(f"RollbackStage {why}, and no rollback is running", target.target_execution, **details)
        rollback_execution = latest["pipelineExecutionId"]
        log.info(
            "RollbackStage did not answer cleanly, but the stage runs the rollback",
            error=error_text(error),
            rollbackExecutionId=rollback_execution,
        )

    run.record(status="ROLLBACK_IN_PROGRESS", rollbackExecutionId=rollback_execution, **details)
    log.info("rollback initiated", rollbackExecutionId=rollback_execution, **details)
    notified = run.notify(
        "Rollback Initiated",
        **{
            "Rolled back execution": current,
            "Rolling back to": target.target_execution,
            "Rollback execution": rollback_execution,
        },
    )
    return {"result": "rolled-back", "rollbackExecutionId": rollback_execution, "notified": notified}
