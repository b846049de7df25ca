"""Decisions of the rollback function. Pure functions, no boto3.

An alarm of ours entering ALARM means the stage it watches is unhealthy:
roll that stage back to the newest execution that succeeded before the
current deployment. Everything else is ignored or rejected, with a reason.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from shared import fields, records
from shared.executions import ROLLBACK, execution_type
from shared.outcomes import Ignored, MalformedEvent  # noqa: F401  (part of this module's interface)

ALARM_EVENT = "CloudWatch Alarm State Change"
ROLLBACK_PREFIX = records.ROLLBACK_PREFIX
# The claim's status; every path ends in ROLLBACK_IN_PROGRESS,
# ROLLBACK_FAILED or SKIPPED_STAGE_IN_PROGRESS.
STARTED = "ROLLBACK_STARTED"


@dataclass(frozen=True)
class RollbackRequest:
    alarm: str
    stage: str
    reason: str
    time: str  # ISO-8601 UTC of the alarm's state change

    @property
    def alarm_key(self) -> str:
        """Identifies this alarm transition: duplicates of it share the key."""
        return f"{ROLLBACK_PREFIX}{self.alarm}#{self.time}"


@dataclass(frozen=True)
class Deployed:
    """The execution the alarmed stage is running now (GetPipelineState)."""

    execution_id: str

    def key(self, stage: str) -> str:
        """One rollback per bad deployment: keyed by stage and execution, not
        by alarm transition, so an alarm that fires again does nothing new."""
        return f"{ROLLBACK_PREFIX}{stage}#{self.execution_id}"


@dataclass(frozen=True)
class Skip:
    """Left to CodePipeline: record, do not page."""

    reason: str


@dataclass(frozen=True)
class Refuse:
    """Nothing automatic is safe: record and page."""

    reason: str


@dataclass(frozen=True)
class Target:
    current_execution: str
    target_execution: str


@dataclass(frozen=True)
class NoTarget:
    reason: str


def decide(event: Any, rollback_alarms: dict[str, str]) -> RollbackRequest | Ignored:
    """`rollback_alarms` maps each rollback-triggering alarm to the stage it
    guards. Any event shape is either decided or rejected with MalformedEvent."""
    try:
        return _decide(event, rollback_alarms)
    except MalformedEvent:
        raise
    except (TypeError, ValueError, OverflowError, UnicodeError, AttributeError, KeyError) as error:
        raise MalformedEvent(f"event could not be read: {type(error).__name__}") from None


def _decide(event: Any, rollback_alarms: dict[str, str]) -> RollbackRequest | Ignored:
    if not isinstance(event, dict):
        raise MalformedEvent("event is not a JSON object")
    if event.get("detail-type") != ALARM_EVENT:
        raise MalformedEvent(f"detail-type {str(event.get('detail-type'))[:80]!r} is not an alarm state change")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("event has no detail object")
    alarm = fields.text(detail.get("alarmName"), "detail.alarmName", max_length=255)
    state = detail.get("state")
    if not isinstance(state, dict):
        raise MalformedEvent("detail lacks a state object")
    value = fields.text(state.get("value"), "state.value", max_length=32)
    time = fields.timestamp(state.get("timestamp"), "state.timestamp")
    reason = state.get("reason", "")
    reason = fields.text(reason, "state.reason", max_length=100_000) if reason else ""

    if alarm not in rollback_alarms:
        return Ignored(f"alarm {alarm!r} does not trigger rollbacks")
    if value != "ALARM":
        return Ignored(f"alarm {alarm!r} is {value}, not ALARM")
    return RollbackRequest(alarm=alarm, stage=rollback_alarms[alarm], reason=reason[:500], time=time)


def assess(stage_state: dict[str, Any] | None) -> Deployed | Skip | Refuse:
    """What the alarmed stage is doing now, from GetPipelineState."""
    latest = (stage_state or {}).get("latestExecution") or {}
    execution_id, status = latest.get("pipelineExecutionId"), latest.get("status")
    if not execution_id:
        return Skip("the stage has not run yet: there is no deployment to roll back")
    if status in ("InProgress", "Stopping"):
        # A deploy, a bake (the stage's on-success condition) or a native
        # rollback is running: CodePipeline decides; RollbackStage would be
        # refused anyway.
        return Skip(f"the stage is {status} (execution {execution_id}): left to CodePipeline")
    if latest.get("type") == "ROLLBACK":
        return Refuse(
            f"the stage already runs rollback execution {execution_id} and is still unhealthy: "
            "rolling back further needs a person"
        )
    return Deployed(execution_id)


def _succeeded_in(record: dict[str, Any], stage: str) -> bool:
    stages = record.get("succeededStages")
    if stages:
        return stage in stages
    # Records written before succeededStages existed: a whole-run success.
    return record.get("status") == "SUCCEEDED"


def is_rollback_execution(record: dict[str, Any]) -> bool:
    return record.get("executionType") == ROLLBACK or execution_type(record.get("triggerType")) == ROLLBACK


def choose_target(records: Iterable[dict[str, Any]], stage: str, current: str) -> Target | NoTarget:
    """The newest STANDARD execution older than `current` in which `stage`
    succeeded, and that was not itself rolled back out of `stage`. `records`
    are the environment's deployment records, newest first (the
    EnvironmentStatusIndex query); they are read only as far as needed, so a
    paginated source stops early."""
    current_start = None
    rolled_back = set()  # deployments already rolled back out of this stage: known bad
    for record in records:
        execution = record.get("pipelineExecutionId")
        if str(record.get("deploymentId", "")).startswith(ROLLBACK_PREFIX):
            # A rollback record is newer than the deployment it undid, so it
            # is read first.
            if record.get("stage") == stage and record.get("status") in ("ROLLBACK_IN_PROGRESS", STARTED):
                rolled_back.add(record.get("rolledBackExecutionId"))
            continue
        if not execution:
            continue
        if execution == current:
            current_start = record.get("startTime")
            continue
        if current_start is None:
            continue  # newer than the running deployment: not yet in the stage
        if is_rollback_execution(record):
            continue  # CodePipeline refuses a ROLLBACK-type target
        if execution in rolled_back:
            continue  # it was rolled back out of this stage once already
        if str(record.get("startTime", "")) < str(current_start) and _succeeded_in(record, stage):
            return Target(current, execution)
    if current_start is None:
        return NoTarget(f"execution {current} running in {stage} has no deployment record")
    return NoTarget(f"no earlier execution in which {stage} succeeded is recorded")


def unfinished_claims(records: Iterable[dict[str, Any]], stage: str) -> list[str]:
    """Keys of this stage's rollback records still at ROLLBACK_STARTED: a
    rollback was claimed and, perhaps, started, but its outcome never written."""
    prefix = f"{ROLLBACK_PREFIX}{stage}#"
    return [
        r["deploymentId"]
        for r in records
        if str(r.get("deploymentId", "")).startswith(prefix) and r.get("status") == STARTED
    ]


def manual_command(pipeline: str, stage: str, target: str | None) -> str:
    """The runbook command an operator runs when the automatic rollback could not."""
    if target:
        return (
            f"aws codepipeline rollback-stage --pipeline-name {pipeline} --stage-name {stage} "
            f"--target-pipeline-execution-id {target}"
        )
    return (
        f"aws codepipeline list-pipeline-executions --pipeline-name {pipeline} --max-results 20 "
        f"# pick a Succeeded execution, then: aws codepipeline rollback-stage --pipeline-name {pipeline} "
        f"--stage-name {stage} --target-pipeline-execution-id <execution-id>"
    )


def message(
    subject: str,
    request: RollbackRequest,
    *,
    pipeline: str,
    environment: str,
    table: str,
    log_group: str,
    record_key: str,
    **details: Any,
) -> dict[str, str]:
    """The SNS message for the rollbacks topic: a subject and a readable body."""
    lines = [
        f"{subject} for {pipeline} ({environment})",
        "",
        f"Alarm:  {request.alarm}",
        f"Stage:  {request.stage}",
        f"Time:   {request.time}",
        f"Reason: {request.reason}",
    ]
    lines += [f"{key}: {value}" for key, value in details.items() if value]
    lines += [
        "",
        f"Follow it: aws logs tail {log_group} --since 10m",
        f'Record:    aws dynamodb get-item --table-name {table} --key \'{{"deploymentId":{{"S":"{record_key}"}}}}\'',
    ]
    return {"Subject": f"{subject}: {pipeline} {request.stage}"[:100], "Message": "\n".join(lines)}
