"""What a CodePipeline state-change event means for the deployment record.

Pure functions, no boto3. EventBridge delivers these events at least once and
in no guaranteed order, so every change is expressed as a conditional update
that only moves a record forward:

- a record's status only advances in rank (in progress < stopping < final),
  so a late or duplicate STARTED never overwrites SUCCEEDED;
- `startTime` is the STARTED event's time whenever that event arrives, and
  until then the earliest time seen, so the record is in the index at once;
- the stage shown is the one from the newest stage event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from shared.outcomes import Ignored, MalformedEvent  # noqa: F401  (part of this module's interface)

EXECUTION_EVENT = "CodePipeline Pipeline Execution State Change"
STAGE_EVENT = "CodePipeline Stage Execution State Change"

# Record status for each CodePipeline execution state, and its rank.
STATUS = {
    "STARTED": ("IN_PROGRESS", 1),
    "RESUMED": ("IN_PROGRESS", 1),
    "STOPPING": ("STOPPING", 2),
    "SUCCEEDED": ("SUCCEEDED", 3),
    "FAILED": ("FAILED", 3),
    "CANCELED": ("CANCELED", 3),
    "STOPPED": ("STOPPED", 3),
    "SUPERSEDED": ("SUPERSEDED", 3),
}
FINAL_RANK = 3
STAGE_STATES = {"STARTED", "SUCCEEDED", "RESUMED", "FAILED", "CANCELED", "STOPPED", "STOPPING"}


@dataclass(frozen=True)
class Update:
    """One conditional DynamoDB UpdateItem on the record `deployment_id`."""

    deployment_id: str
    set_values: dict[str, Any]
    condition: str
    condition_values: dict[str, Any] = field(default_factory=dict)
    # `if_not_exists` assignments: keep an existing value.
    set_if_absent: dict[str, Any] = field(default_factory=dict)
    purpose: str = ""


@dataclass(frozen=True)
class Plan:
    """The updates for one event, in order, and what to do if each applies."""

    deployment_id: str
    status: str | None
    updates: tuple[Update, ...]
    # Publish outcome metrics when the status update applies (first time only).
    final: bool = False
    started: bool = False


@dataclass(frozen=True)
class Event:
    kind: str  # "execution" or "stage"
    pipeline: str
    execution_id: str
    state: str
    time: str  # ISO-8601 UTC, second precision, "Z"
    stage: str | None = None
    trigger_type: str | None = None


def _iso(value: str) -> str:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        raise MalformedEvent(f"time {value!r} is not an ISO-8601 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(event: Any) -> Event:
    """The fields this function uses, or MalformedEvent naming what is missing."""
    if not isinstance(event, dict):
        raise MalformedEvent("event is not a JSON object")
    detail_type = event.get("detail-type")
    if detail_type not in (EXECUTION_EVENT, STAGE_EVENT):
        raise MalformedEvent(f"detail-type {detail_type!r} is not a pipeline or stage state change")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("event has no detail object")
    required = ["pipeline", "execution-id", "state"] + (["stage"] if detail_type == STAGE_EVENT else [])
    missing = [key for key in required if not isinstance(detail.get(key), str) or not detail.get(key)]
    if missing:
        raise MalformedEvent(f"detail lacks {', '.join(missing)}")
    state = detail["state"]
    known = STATUS if detail_type == EXECUTION_EVENT else STAGE_STATES
    if state not in known:
        raise MalformedEvent(f"unknown state {state!r}")
    trigger = detail.get("execution-trigger")
    return Event(
        kind="execution" if detail_type == EXECUTION_EVENT else "stage",
        pipeline=detail["pipeline"],
        execution_id=detail["execution-id"],
        state=state,
        time=_iso(event.get("time", "")),
        stage=detail.get("stage"),
        trigger_type=trigger.get("trigger-type") if isinstance(trigger, dict) else None,
    )


def expires_at(time: str, ttl_days: int) -> int:
    moment = datetime.strptime(time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return int((moment + timedelta(days=ttl_days)).timestamp())


def plan(event: Event, *, pipeline: str, environment: str, ttl_days: int) -> Plan | Ignored:
    """The conditional updates that record `event`."""
    if event.pipeline != pipeline:
        return Ignored(f"event is for pipeline {event.pipeline!r}, not {pipeline!r}")

    deployment_id = event.execution_id
    common = {"environment": environment, "pipelineName": pipeline, "pipelineExecutionId": event.execution_id}
    absent = {"startTime": event.time, "expiresAt": expires_at(event.time, ttl_days)}

    if event.kind == "stage":
        update = Update(
            deployment_id,
            set_values={**common, "stage": event.stage, "stageStatus": event.state, "stageUpdatedAt": event.time},
            set_if_absent=absent,
            condition="attribute_not_exists(stageUpdatedAt) OR stageUpdatedAt <= :time",
            condition_values={":time": event.time},
            purpose="stage",
        )
        return Plan(deployment_id, None, (update,))

    status, rank = STATUS[event.state]
    values = {**common, "status": status, "statusRank": rank, "updatedAt": event.time}
    if rank == FINAL_RANK:
        values["endTime"] = event.time
    if event.trigger_type:
        values["triggerType"] = event.trigger_type
    updates = [
        Update(
            deployment_id,
            set_values=values,
            set_if_absent=absent,
            condition="attribute_not_exists(statusRank) OR statusRank < :rank",
            condition_values={":rank": rank},
            purpose="status",
        )
    ]
    started = event.state == "STARTED"
    if started:
        # Whenever STARTED arrives, even after the final state, it fixes the start.
        updates.append(
            Update(
                deployment_id,
                set_values={"startTime": event.time, "startedAt": event.time},
                set_if_absent={**common, "expiresAt": absent["expiresAt"]},
                condition="attribute_not_exists(startedAt)",
                purpose="start",
            )
        )
    return Plan(deployment_id, status, tuple(updates), final=rank == FINAL_RANK, started=started)


def duration_seconds(record: dict[str, Any]) -> int | None:
    """Seconds from STARTED to the final state, once both are known."""
    start, end = record.get("startedAt"), record.get("endTime")
    if not start or not end:
        return None
    parse_time = lambda t: datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    return max(0, int((parse_time(end) - parse_time(start)).total_seconds()))


def outcome_metrics(status: str) -> dict[str, int]:
    """Counts for a final status; stopped or superseded runs count as neither."""
    if status == "SUCCEEDED":
        return {"DeploymentSuccess": 1}
    if status == "FAILED":
        return {"DeploymentFailure": 1}
    return {}
