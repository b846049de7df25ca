"""EventBridge events in the shapes AWS documents.

CodePipeline (user guide, "Monitoring CodePipeline events"): source
`aws.codepipeline`, detail-type "CodePipeline Pipeline/Stage/Action Execution
State Change"; `detail.version` is the pipeline structure version (a number),
`detail.execution-id` the execution, `pipeline-execution-attempt` the attempt;
the page's examples carry `execution-trigger` and `start-time` (pipeline),
`start-time` (stage), and `action-execution-id`, `region`, `type`,
`execution-result` (action). CloudWatch (user guide, "Alarm events and
EventBridge"): detail-type "CloudWatch Alarm State Change", source
`aws.cloudwatch`, `detail.alarmName`, `detail.state`, `detail.previousState`.
No documented rollback field was found for the CodePipeline events, so none
is added.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

PIPELINE_EVENT = "CodePipeline Pipeline Execution State Change"
STAGE_EVENT = "CodePipeline Stage Execution State Change"
ACTION_EVENT = "CodePipeline Action Execution State Change"
ALARM_EVENT = "CloudWatch Alarm State Change"

PIPELINE_STATES = {"STARTED", "SUCCEEDED", "RESUMED", "FAILED", "CANCELED", "SUPERSEDED", "STOPPING", "STOPPED"}
STAGE_STATES = {"STARTED", "SUCCEEDED", "RESUMED", "FAILED", "CANCELED", "STOPPING", "STOPPED"}
ACTION_STATES = {"STARTED", "SUCCEEDED", "FAILED", "CANCELED", "ABANDONED"}

_ids = itertools.count(1)


def event_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def detail_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _envelope(detail_type: str, source: str, moment: datetime, resource: str, account: str, region: str, detail):
    return {
        "version": "0",
        "id": f"{next(_ids):08x}-0000-4000-8000-{0:012x}",
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": event_time(moment),
        "region": region,
        "resources": [resource],
        "detail": detail,
    }


def pipeline_arn(pipeline: str, account: str, region: str) -> str:
    return f"arn:aws:codepipeline:{region}:{account}:{pipeline}"


def pipeline_event(
    *,
    pipeline: str,
    execution_id: str,
    state: str,
    version: int,
    time: datetime,
    start_time: datetime,
    trigger_type: str,
    trigger_detail: str,
    attempt: int,
    account: str,
    region: str,
) -> dict[str, Any]:
    assert state in PIPELINE_STATES, state
    detail = {
        "pipeline": pipeline,
        "execution-id": execution_id,
        "execution-trigger": {"trigger-type": trigger_type, "trigger-detail": trigger_detail},
        "start-time": detail_time(start_time),
        "state": state,
        "version": float(version),
        "pipeline-execution-attempt": float(attempt),
    }
    return _envelope(
        PIPELINE_EVENT, "aws.codepipeline", time, pipeline_arn(pipeline, account, region), account, region, detail
    )


def stage_event(
    *,
    pipeline: str,
    execution_id: str,
    stage: str,
    state: str,
    version: int,
    time: datetime,
    start_time: datetime,
    attempt: int,
    account: str,
    region: str,
) -> dict[str, Any]:
    assert state in STAGE_STATES, state
    detail = {
        "pipeline": pipeline,
        "execution-id": execution_id,
        "start-time": detail_time(start_time),
        "pipeline-execution-attempt": float(attempt),
        "stage": stage,
        "state": state,
        "version": float(version),
    }
    return _envelope(
        STAGE_EVENT, "aws.codepipeline", time, pipeline_arn(pipeline, account, region), account, region, detail
    )


def action_event(
    *,
    pipeline: str,
    execution_id: str,
    action_execution_id: str,
    stage: str,
    action: str,
    state: str,
    version: int,
    time: datetime,
    start_time: datetime,
    attempt: int,
    type_id: dict[str, str],
    account: str,
    region: str,
    summary: str | None = None,
) -> dict[str, Any]:
    assert state in ACTION_STATES, state
    detail: dict[str, Any] = {
        "pipeline": pipeline,
        "execution-id": execution_id,
        "action-execution-id": action_execution_id,
        "start-time": detail_time(start_time),
        "pipeline-execution-attempt": float(attempt),
        "stage": stage,
        "action": action,
        "state": state,
        "region": region,
        "type": dict(type_id),
        "version": float(version),
    }
    if state != "STARTED" and summary:
        detail["execution-result"] = {"external-execution-summary": summary}
    return _envelope(
        ACTION_EVENT, "aws.codepipeline", time, pipeline_arn(pipeline, account, region), account, region, detail
    )


def alarm_event(
    *, name: str, state: str, previous: str, time: datetime, previous_time: datetime, account: str, region: str
) -> dict[str, Any]:
    stamp = time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    before = previous_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    detail = {
        "alarmName": name,
        "state": {"value": state, "reason": f"scripted: {state}", "timestamp": stamp},
        "previousState": {"value": previous, "reason": f"scripted: {previous}", "timestamp": before},
        "configuration": {"description": f"{name} (simulated)", "metrics": []},
    }
    resource = f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"
    return _envelope(ALARM_EVENT, "aws.cloudwatch", time, resource, account, region, detail)
