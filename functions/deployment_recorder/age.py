"""Scheduled entry point: how long has the oldest running execution been running?

Every few minutes (an EventBridge schedule) this publishes `ExecutionAge`:
the age in seconds of the oldest in-progress execution of the pipeline, not
counting time spent waiting for a manual approval, or 0 when nothing runs.
The duration alarm watches it, so an execution that hangs (runbook
Incident 3) alarms while it hangs, and a release that waits a day for its
approval does not. `DeploymentDuration` (per finished execution, from the
recorder) stays on the dashboard.

Environment: PIPELINE_NAME, ENVIRONMENT, METRICS_NAMESPACE. Settings are read
at the first invocation, not at import.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import boto3

from shared import settings
from shared.log import Logger

log = Logger("execution-age")
# At most this many running executions are examined (QUEUED mode keeps few).
MAX_EXECUTIONS = 10


@functools.lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    return settings.read({"PIPELINE_NAME": str, "ENVIRONMENT": str, "METRICS_NAMESPACE": str})


def approval_wait_seconds(actions: Iterable[dict[str, Any]], now: datetime) -> float:
    """Seconds the execution's manual approvals waited (or are waiting)."""
    waited = 0.0
    for action in actions:
        category = ((action.get("input") or {}).get("actionTypeId") or {}).get("category")
        start = action.get("startTime")
        if category != "Approval" or not isinstance(start, datetime):
            continue
        end = now if action.get("status") == "InProgress" else action.get("lastUpdateTime") or now
        waited += max(0.0, (end - start).total_seconds())
    return waited


def execution_age_seconds(started: datetime, approval_wait: float, now: datetime) -> int:
    return max(0, int((now - started).total_seconds() - approval_wait))


class Pipeline:
    def __init__(self, name: str, session: boto3.Session | None = None):
        session = session or boto3.Session()
        self.codepipeline = session.client("codepipeline")
        self.name = name

    def running(self) -> list[dict[str, Any]]:
        found, token = [], None
        while len(found) < MAX_EXECUTIONS:
            request = {"pipelineName": self.name, "maxResults": 25, **({"nextToken": token} if token else {})}
            response = self.codepipeline.list_pipeline_executions(**request)
            found += [e for e in response.get("pipelineExecutionSummaries", []) if e.get("status") == "InProgress"]
            token = response.get("nextToken")
            if not token:
                break
        return found[:MAX_EXECUTIONS]

    def actions(self, execution_id: str) -> list[dict[str, Any]]:
        found, token = [], None
        while True:
            request = {
                "pipelineName": self.name,
                "filter": {"pipelineExecutionId": execution_id},
                **({"nextToken": token} if token else {}),
            }
            response = self.codepipeline.list_action_executions(**request)
            found += response.get("actionExecutionDetails", [])
            token = response.get("nextToken")
            if not token:
                return found


_pipeline: Pipeline | None = None
_cloudwatch = None


def pipeline() -> Pipeline:
    global _pipeline
    if _pipeline is None:
        _pipeline = Pipeline(config()["PIPELINE_NAME"])
    return _pipeline


def cloudwatch():
    global _cloudwatch
    if _cloudwatch is None:
        _cloudwatch = boto3.client("cloudwatch")
    return _cloudwatch


def handler(event, context=None, now: datetime | None = None) -> dict:
    settings_ = config()
    log.bind(requestId=getattr(context, "aws_request_id", None))
    now = now or datetime.now(UTC)
    ages = {}
    for execution in pipeline().running():
        execution_id = execution["pipelineExecutionId"]
        waited = approval_wait_seconds(pipeline().actions(execution_id), now)
        ages[execution_id] = execution_age_seconds(execution["startTime"], waited, now)
    oldest = max(ages.values(), default=0)
    cloudwatch().put_metric_data(
        Namespace=settings_["METRICS_NAMESPACE"],
        MetricData=[
            {
                "MetricName": "ExecutionAge",
                "Dimensions": [{"Name": "Environment", "Value": settings_["ENVIRONMENT"]}],
                "Value": oldest,
                "Unit": "Seconds",
            }
        ],
    )
    log.info("published execution age", seconds=oldest, running=ages)
    return {"result": "published", "ExecutionAge": oldest, "running": len(ages)}
