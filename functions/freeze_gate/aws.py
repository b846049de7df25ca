"""The freeze gate's AWS calls: the calendar's state (Systems Manager), the
freeze stage's inbound transition (CodePipeline), the ledger (DynamoDB) and
the announcement (SNS). Each error names the call and the resource."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from functions.freeze_gate.logic import Calendar
from functions.shared import errors, records

AWS_ERRORS = (BotoCoreError, ClientError)


class GateError(RuntimeError):
    """An AWS call failed: which call, on what, and AWS's words."""


def failed(call: str, resource: str, error: Exception) -> GateError:
    return GateError(f"{call} on {resource} failed: {errors.text(error)}")


def _time(text: str | None) -> datetime | None:
    # "The time, as an ISO 8601 string, that the calendar state will change"
    # (GetCalendarState, NextTransitionTime); absent when none is coming.
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def calendar_state(ssm, calendar: str, at: datetime | None = None) -> Calendar:
    """GetCalendarState: "An OPEN calendar indicates that actions are allowed
    to proceed, and a CLOSED calendar indicates that actions aren't allowed to
    proceed" (SSM API reference, GetCalendarState)."""
    request: dict[str, Any] = {"CalendarNames": [calendar]}
    if at is not None:
        request["AtTime"] = records.format_time(at)
    try:
        answer = ssm.get_calendar_state(**request)
    except AWS_ERRORS as error:
        raise failed("ssm:GetCalendarState", calendar, error) from error
    return Calendar(answer["State"], _time(answer.get("NextTransitionTime")))


def stage_states(codepipeline, pipeline: str) -> list[dict[str, Any]]:
    try:
        return codepipeline.get_pipeline_state(name=pipeline).get("stageStates", [])
    except AWS_ERRORS as error:
        raise failed("codepipeline:GetPipelineState", pipeline, error) from error


def set_transition(codepipeline, pipeline: str, stage: str, *, enable: bool, reason: str = "") -> None:
    """Disable or enable `stage`'s inbound transition; both are idempotent
    in effect (the same state again), so a retried call is harmless."""
    where = f"{pipeline}/{stage}"
    try:
        if enable:
            codepipeline.enable_stage_transition(pipelineName=pipeline, stageName=stage, transitionType="Inbound")
        else:
            codepipeline.disable_stage_transition(
                pipelineName=pipeline, stageName=stage, transitionType="Inbound", reason=reason
            )
    except AWS_ERRORS as error:
        call = "EnableStageTransition" if enable else "DisableStageTransition"
        raise failed(f"codepipeline:{call}", where, error) from error


def publish(sns, topic: str, subject: str, message: str) -> str | None:
    """Announce; a failure is returned (and logged by the caller), never raised:
    the transition already moved and the ledger says so."""
    try:
        sns.publish(TopicArn=topic, Subject=subject[:100], Message=message)
    except AWS_ERRORS as error:
        return str(failed("sns:Publish", topic, error))
    return None
