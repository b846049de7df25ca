"""Entry point for health-alarm state changes: the incident ledger.

A health alarm's ALARM -> OK (or -> INSUFFICIENT_DATA) window is an incident of its target. Each one is
a record `incident#{alarm}#{start}`: environment, target, start, and once
the alarm leaves ALARM, its end and `endReason`: `OK` (the target is
healthy again) or `INSUFFICIENT_DATA` (the alarm lost its data: the incident
ended, cause unknown; DORA counts the recovery and flags it).
`shared/dora.py` links it, when it reads the ledger, to the deployment that
started last before it (a change failure, recovered at the incident's end),
and marks a deployment made during it as rework (a hotfix).

EventBridge delivers at least once and in any order, and each event alone
names its incident: an ALARM event by its own time, an OK or
INSUFFICIENT_DATA event by its `previousState` time. So duplicates rewrite
the same values, and an end that arrives before its ALARM still closes the
right record (the ALARM then changes nothing that is set). An alarm leaves
one ALARM state once, so an incident has one end: the OK that follows an
INSUFFICIENT_DATA names no ALARM and is ignored (it neither reopens nor
closes again).

Environment: TABLE_NAME, ENVIRONMENT, ALARM_TARGETS (JSON: alarm -> target),
RECORD_TTL_DAYS. Settings are read at the first invocation, not at import.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import boto3

from functions.shared import dora, fields, records, settings
from functions.shared.log import Logger
from functions.shared.outcomes import Ignored, MalformedEvent
from functions.shared.store import Store

log = Logger("incident-recorder")
ALARM_EVENT = "CloudWatch Alarm State Change"
# The incident statuses (the contract: ops lists them as record statuses).
OPEN, RESOLVED = records.INCIDENT_OPEN, records.INCIDENT_RESOLVED
# The states an alarm can leave ALARM for; each ends the incident. "The
# alarm state also changes to INSUFFICIENT_DATA if CloudWatch metrics become
# unavailable, or not enough data is available for the metric to determine
# the alarm state" (https://docs.aws.amazon.com/autoscaling/application/
# userguide/cloudwatch-alarm-notifications.html): the incident is no longer
# seen, but whether the target recovered then is unknown.
ENDS = (dora.ENDED_OK, dora.ENDED_UNKNOWN)


@dataclass(frozen=True)
class Change:
    alarm: str
    state: str
    time: str
    previous_state: str | None
    previous_time: str | None


def parse(event: Any) -> Change:
    if not isinstance(event, dict) or event.get("detail-type") != ALARM_EVENT:
        raise MalformedEvent("not a CloudWatch alarm state change")
    detail = event.get("detail")
    if not isinstance(detail, dict) or not isinstance(detail.get("state"), dict):
        raise MalformedEvent("event has no detail.state object")
    state = detail["state"]
    previous = detail.get("previousState") if isinstance(detail.get("previousState"), dict) else {}
    return Change(
        alarm=fields.text(detail.get("alarmName"), "detail.alarmName"),
        state=fields.text(state.get("value"), "detail.state.value", max_length=32),
        time=fields.timestamp(state.get("timestamp") or event.get("time"), "detail.state.timestamp"),
        previous_state=fields.text(previous.get("value"), "detail.previousState.value", max_length=32, required=False),
        previous_time=fields.timestamp(previous["timestamp"], "detail.previousState.timestamp")
        if previous.get("timestamp")
        else None,
    )


def plan(change: Change, *, environment: str, targets: dict[str, str], ttl_days: int) -> records.Update | Ignored:
    """The incident update an alarm change makes, or why it makes none."""
    target = targets.get(change.alarm)
    if target is None:
        return Ignored(f"alarm {change.alarm} is not one of this environment's health alarms")
    if change.state == "ALARM" and change.previous_state != "ALARM":
        start, values = change.time, {"status": OPEN}
        settled: dict[str, Any] = {}
    elif change.state in ENDS and change.previous_state == "ALARM" and change.previous_time:
        # Leaving ALARM for OK, or for INSUFFICIENT_DATA (no data is no
        # longer evidence of the incident): the incident ends here, and the
        # state it went to says whether the end is known (OK) or not.
        start, values = change.previous_time, {}
        settled = {"status": RESOLVED, "endTime": change.time, dora.END_REASON: change.state}
    else:
        # ALARM -> ALARM is a re-notification of the same incident; the rest
        # (OK or no data to OK or no data) neither opens nor closes one.
        return Ignored(f"{change.previous_state} -> {change.state} opens or closes no incident")
    return records.Update(
        f"{records.INCIDENT_PREFIX}{change.alarm}#{start}",
        # The end is a fact once known; OPEN never overwrites RESOLVED.
        set_values=settled,
        condition=None,
        set_if_absent={
            records.INDEX_PARTITION: environment,
            records.INDEX_SORT: start,
            records.ALARM_NAME: change.alarm,
            records.TARGET: target,
            records.EXPIRES: records.expires_at(start, ttl_days),
            **values,
        },
        purpose="incident",
    )


@functools.lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    return settings.read(settings.INCIDENT_RECORDER)


@functools.lru_cache(maxsize=1)
def store() -> Store:
    return Store(boto3.client("dynamodb"), config()["TABLE_NAME"])


def handler(event, context=None) -> dict:
    settings_ = config()
    log.bind(requestId=getattr(context, "aws_request_id", None))
    try:
        change = parse(event)
    except MalformedEvent as error:
        log.error("rejected malformed event", reason=str(error))
        return {"result": "rejected", "reason": str(error)}
    update = plan(
        change,
        environment=settings_["ENVIRONMENT"],
        targets=settings_["ALARM_TARGETS"],
        ttl_days=settings_["RECORD_TTL_DAYS"],
    )
    if isinstance(update, Ignored):
        log.info("ignored alarm change", reason=update.reason, alarm=change.alarm)
        return {"result": "ignored", "reason": update.reason}
    record = store().apply(update)  # AWS errors raise: EventBridge retries, then the DLQ keeps it
    log.info("recorded incident", incident=update.deployment_id, status=(record or {}).get("status"))
    return {"result": "recorded", "incident": update.deployment_id}
