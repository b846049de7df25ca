"""Scheduled entry point: how long has the pipeline been stuck?

Every few minutes (an EventBridge schedule) this publishes `ExecutionAge`:
the largest, over the pipeline's in-progress executions, of the age in
seconds of its *current stretch without progress* (0 when nothing runs).
The duration alarm watches it with a threshold below the CodeBuild action
time-out, so an execution that hangs (runbook Incident 3) alarms while it
hangs, before CodeBuild ends it; a long but moving release (Source, Build,
the test and staging deploys with their tests and bake, production's deploy
and bake) does not, however long it runs in all. What counts as progress and
which waits are excluded until their expected end: logic.py. The AWS calls:
aws.py.

`DeploymentDuration` (per finished execution, from the recorder) stays on the
dashboard.

Environment: PIPELINE_NAME, ENVIRONMENT, METRICS_NAMESPACE; optional
WINDOW_CRON and WINDOW_TIME_ZONE (empty: no window), INCIDENT_WAIT_MINUTES
(30), APPROVAL_TIMEOUT_MINUTES (10080), BAKE_MINUTES (10: the pipeline's
health_check_duration_minutes). Settings are read at the first invocation,
not at import. IAM: codepipeline:ListPipelineExecutions, ListActionExecutions,
GetPipelineState; cloudwatch:PutMetricData.
"""

from __future__ import annotations

import functools
import os
from datetime import UTC, datetime
from typing import Any

from functions.execution_age import logic
from functions.execution_age.aws import Pipeline, cloudwatch_client, publish_age
from functions.shared import settings
from functions.shared.contract import metrics as published
from functions.shared.log import Logger

log = Logger("execution-age")
REQUIRED = settings.EXECUTION_AGE
# name: (parser, default when unset or empty)
OPTIONAL = settings.EXECUTION_AGE_OPTIONAL


@functools.lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    """The settings, read and validated at the first invocation (not at import)."""
    present = {name: parse for name, (parse, _) in OPTIONAL.items() if os.environ.get(name, "").strip()}
    values = settings.read({**REQUIRED, **present})
    return {**{name: default for name, (_, default) in OPTIONAL.items()}, **values}


@functools.lru_cache(maxsize=1)
def rules() -> logic.Rules:
    found = logic.Rules.from_settings(config())
    if config()["WINDOW_CRON"] and found.window is None:
        log.error("the change window cannot be read: its waits count", reason=found.no_window)
    return found


# The clients, made at the first invocation (tests replace them).
_pipeline: Pipeline | None = None
_cloudwatch = None


def cold_start() -> None:
    """Forget the settings and clients, as a new execution environment would."""
    global _pipeline, _cloudwatch
    config.cache_clear()
    rules.cache_clear()
    _pipeline = _cloudwatch = None


def pipeline() -> Pipeline:
    global _pipeline
    if _pipeline is None:
        _pipeline = Pipeline(config()["PIPELINE_NAME"])
    return _pipeline


def cloudwatch():
    global _cloudwatch
    if _cloudwatch is None:
        _cloudwatch = cloudwatch_client()
    return _cloudwatch


def _state() -> dict[str, Any]:
    state, error = pipeline().state_or_why_not()
    if error:
        log.error("cannot read the pipeline state: waits at conditions and in line count", error=error)
    return state


def handler(event, context=None, now: datetime | None = None) -> dict:
    settings_ = config()
    rules_ = rules()
    log.bind(requestId=getattr(context, "aws_request_id", None))
    now = now or datetime.now(UTC)
    running = pipeline().running()
    state = _state() if running else {}
    where, conditions = logic.positions(state), logic.condition_progress(state)
    ages = {}
    for execution in running:
        execution_id, started = execution["pipelineExecutionId"], execution["startTime"]
        behind_older = logic.behind_older(execution, running)
        actions = pipeline().actions(execution_id)
        found = logic.stretch(
            started, actions, where.get(execution_id), conditions.get(execution_id, ()), behind_older, rules_, now
        )
        ages[execution_id] = found.age_seconds()
        (log.warning if found.overdue else log.info)(
            "execution age: a known wait outlasted its expected end" if found.overdue else "execution age",
            pipelineExecutionId=execution_id,
            startTime=logic.iso(started),
            ageSeconds=ages[execution_id],
            totalSeconds=int((now - started).total_seconds()),
            stretch=found.describe(),
        )
    oldest = max(ages.values(), default=0)
    publish_age(
        cloudwatch(), namespace=settings_["METRICS_NAMESPACE"], environment=settings_["ENVIRONMENT"], seconds=oldest
    )
    log.info("published execution age", seconds=oldest, running=ages)
    return {"result": "published", published.EXECUTION_AGE.name: oldest, "running": len(ages)}
