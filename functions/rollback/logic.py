"""Decisions of the rollback function. Pure functions, no boto3.

An alarm of ours entering ALARM means the stage it watches is unhealthy:
roll that stage back to the newest execution that succeeded before the
current deployment. Everything else is ignored or rejected, with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from shared.outcomes import Ignored, MalformedEvent  # noqa: F401  (part of this module's interface)

ALARM_EVENT = "CloudWatch Alarm State Change"
ROLLBACK_PREFIX = "rollback#"


@dataclass(frozen=True)
class RollbackRequest:
    rollback_id: str  # deterministic: duplicates of one alarm transition share it
    alarm: str
    stage: str
    reason: str
    time: str  # ISO-8601 UTC of the alarm's state change


@dataclass(frozen=True)
class Target:
    current_execution: str
    target_execution: str


@dataclass(frozen=True)
class NoTarget:
    reason: str


def _iso(value: str) -> str:
    # CloudWatch writes "2026-11-22T04:05:06.789+0000".
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(value, fmt).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        except (TypeError, ValueError):
            continue
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise MalformedEvent(f"state timestamp {value!r} is not a timestamp") from None
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def decide(event: Any, rollback_alarms: dict[str, str]) -> RollbackRequest | Ignored:
    """`rollback_alarms` maps each rollback-triggering alarm to the stage it guards."""
    if not isinstance(event, dict):
        raise MalformedEvent("event is not a JSON object")
    if event.get("detail-type") != ALARM_EVENT:
        raise MalformedEvent(f"detail-type {event.get('detail-type')!r} is not an alarm state change")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("event has no detail object")
    alarm = detail.get("alarmName")
    state = detail.get("state")
    if not isinstance(alarm, str) or not alarm or not isinstance(state, dict):
        raise MalformedEvent("detail lacks alarmName or state")
    value, timestamp = state.get("value"), state.get("timestamp")
    if not isinstance(value, str) or not isinstance(timestamp, str):
        raise MalformedEvent("state lacks value or timestamp")
    time = _iso(timestamp)

    if alarm not in rollback_alarms:
        return Ignored(f"alarm {alarm!r} does not trigger rollbacks")
    if value != "ALARM":
        return Ignored(f"alarm {alarm!r} is {value}, not ALARM")
    return RollbackRequest(
        rollback_id=f"{ROLLBACK_PREFIX}{alarm}#{time}",
        alarm=alarm,
        stage=rollback_alarms[alarm],
        reason=str(state.get("reason", ""))[:500],
        time=time,
    )


def choose_target(records: Iterable[dict[str, Any]]) -> Target | NoTarget:
    """From deployment records, newest first (the EnvironmentStatusIndex query),
    the current deployment and the last successful one before it."""
    deployments = [r for r in records if not str(r.get("deploymentId", "")).startswith(ROLLBACK_PREFIX)]
    if not deployments:
        return NoTarget("no deployment of this environment is recorded")
    current = deployments[0]
    for record in deployments[1:]:
        if record.get("status") == "SUCCEEDED":
            return Target(current["pipelineExecutionId"], record["pipelineExecutionId"])
    return NoTarget(f"no successful deployment before {current['pipelineExecutionId']} is recorded")


def rollback_in_progress(stage_state: dict[str, Any] | None) -> bool:
    """Whether GetPipelineState shows a rollback of this stage still running."""
    latest = (stage_state or {}).get("latestExecution") or {}
    return latest.get("type") == "ROLLBACK" and latest.get("status") == "InProgress"


def expires_at(time: str, ttl_days: int) -> int:
    moment = datetime.strptime(time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return int((moment + timedelta(days=ttl_days)).timestamp())


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
    subject: str, request: RollbackRequest, *, pipeline: str, environment: str, table: str, log_group: str, **details: Any
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
        f"Record:    aws dynamodb get-item --table-name {table} "
        f"--key '{{\"deploymentId\":{{\"S\":\"{request.rollback_id}\"}}}}'",
    ]
    return {"Subject": f"{subject}: {pipeline} {request.stage}"[:100], "Message": "\n".join(lines)}
