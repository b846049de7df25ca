"""Scheduled entry point: hold production's releases during a change freeze.

Every minute (an EventBridge schedule) the gate reads the environment's
change calendar (GetCalendarState) and the freeze stage's inbound transition
(GetPipelineState), and moves the transition only when the two disagree:
disabled while a freeze is in force (or starts within logic.LEAD) and not
lifted, enabled otherwise -- but only a transition this gate disabled (its
reason says so); one an engineer disabled is left alone.

Why a schedule, not the calendar's EventBridge events: the state is read
from the calendar each time, so a duplicate, late, out-of-order or lost
event cannot mislead the gate, and the gate holds a freeze LEAD before it
starts (an event arrives only after the state changed). A missed minute is
repaired the next minute.

Each move writes a ledger record (`freeze#<minute>#HELD|RELEASED`, a
conditional put: two invocations in the same minute record it once) and is
announced on the deployments topic, with the executions already past the
freeze point (a disabled transition does not hold them; `ops stop` does).

Environment: FREEZE_GATE in functions/shared/contract/settings.py. IAM:
ssm:GetCalendarState on the calendar; codepipeline:GetPipelineState,
DisableStageTransition, EnableStageTransition; dynamodb:GetItem, PutItem;
sns:Publish on the deployments topic.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

import boto3

from functions.freeze_gate import aws, logic
from functions.freeze_gate.logic import Move
from functions.shared import records, settings
from functions.shared.log import Logger
from functions.shared.store import Store

log = Logger("freeze-gate")
HELD, RELEASED = "HELD", "RELEASED"


@functools.lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    """The settings, read and validated at the first invocation (not at import)."""
    return settings.read(settings.FREEZE_GATE)


@functools.lru_cache(maxsize=1)
def clients() -> dict[str, Any]:
    session = boto3.Session()
    return {name: session.client(name) for name in ("ssm", "codepipeline", "dynamodb", "sns")}


def cold_start() -> None:
    config.cache_clear()
    clients.cache_clear()


def handler(event, context=None, now: datetime | None = None) -> dict:
    s, c = config(), clients()
    log.bind(requestId=getattr(context, "aws_request_id", None))
    now = (now or datetime.now(UTC)).astimezone(UTC)
    pipeline, stage = s[settings.PIPELINE_NAME], s[settings.FREEZE_STAGE]
    freeze = logic.freeze_now(now, aws.calendar_state(c["ssm"], s[settings.CALENDAR_NAME], now))
    if freeze is not None and freeze.until is None and freeze.starts > now:
        # Held ahead of its start: its end is the next change after it starts.
        ahead = aws.calendar_state(c["ssm"], s[settings.CALENDAR_NAME], freeze.starts)
        freeze = logic.Freeze(freeze.starts, ahead.next_transition if ahead.state == "CLOSED" else None)
    store = Store(c["dynamodb"], s[settings.TABLE_NAME])
    # The transition first, the lift second: a lift written between the two
    # reads is seen (its enable comes after its record), never undone.
    states = aws.stage_states(c["codepipeline"], pipeline)
    inbound = next((x.get("inboundTransitionState") or {} for x in states if x.get("stageName") == stage), None)
    if inbound is None:
        raise aws.GateError(f"codepipeline:GetPipelineState on {pipeline}: no stage {stage} (FREEZE_STAGE)")
    key = logic.lift_key(records.FREEZE_LIFT_PREFIX, freeze.until) if freeze else None
    lifted = bool(key and store.get(key))
    decision = logic.decide(
        freeze, enabled=inbound.get("enabled", True), reason=inbound.get("disabledReason", ""), lifted=lifted
    )
    if freeze is not None or decision.move is not Move.STAY or not inbound.get("enabled", True):
        # A quiet minute (no freeze, nothing held) writes no line: 1,440 a day say nothing.
        log.info(
            "freeze gate",
            move=decision.move.value,
            why=decision.why,
            freezeUntil=logic.iso(freeze.until) if freeze and freeze.until else None,
            lifted=lifted,
        )
    if decision.move is Move.STAY:
        return {"result": decision.move.value, "why": decision.why}
    aws.set_transition(c["codepipeline"], pipeline, stage, enable=decision.move is Move.RELEASE, reason=decision.reason)
    moved = HELD if decision.move is Move.HOLD else RELEASED
    past = logic.past_the_freeze_point(states, stage) if moved == HELD else []
    if _record(store, s, now, moved, stage, freeze, decision.why):
        _announce(c["sns"], s, pipeline, stage, moved, freeze, decision.why, past)
    return {"result": moved, "why": decision.why, "pastTheFreezePoint": past}


def _record(store: Store, s: dict, now: datetime, moved: str, stage: str, freeze, why: str) -> bool:
    """Record the move once per minute; False when another invocation of the
    same minute already did (it announces, this one does not)."""
    time = records.format_time(now.replace(second=0, microsecond=0))
    item = {
        records.INDEX_PARTITION: s[settings.ENVIRONMENT],
        records.INDEX_SORT: time,
        records.STATUS: moved,
        records.FROZEN_STAGE: stage,
        records.REASON: why,
        records.EXPIRES: records.expires_at(time, s[settings.RECORD_TTL_DAYS]),
    }
    if freeze and freeze.until:
        item[records.FREEZE_UNTIL] = logic.iso(freeze.until)
    try:
        existing = store.claim(f"{records.FREEZE_PREFIX}{time}#{moved}", item, read_existing=False)
    except aws.AWS_ERRORS as error:
        # The transition moved; the record is the audit of it. Loud, not fatal:
        # the next minute finds the transition as it should be and moves nothing.
        log.error(
            "the move was made but not recorded",
            error=str(aws.failed("dynamodb:PutItem", s[settings.TABLE_NAME], error)),
        )
        return True
    if existing is not None:
        log.info("this minute's move was already recorded (a duplicate invocation)")
        return False
    return True


def _announce(sns, s: dict, pipeline: str, stage: str, moved: str, freeze, why: str, past: list[str]) -> None:
    until = f" until {logic.iso(freeze.until)}" if freeze and freeze.until else ""
    if moved == HELD:
        subject = f"Change freeze: {pipeline} holds production releases{until}"
        lines = [f"Releases wait before {stage} of {pipeline}{until} ({why})."]
        lines += [
            f"Already past the freeze point, not held: execution {e}. Stop it if it must not deploy: "
            f"python -m ops stop {s[settings.ENVIRONMENT]} --execution-id {e}"
            for e in past
        ]
    else:
        subject = f"Change freeze over: {pipeline} releases go on"
        lines = [
            f"Releases enter {stage} of {pipeline} again ({why}); the change window and incident gate still apply."
        ]
    lines.append(f"python -m ops freeze list {s[settings.ENVIRONMENT]}")
    problem = aws.publish(sns, s[settings.DEPLOYMENTS_TOPIC_ARN], subject, "\n".join(lines))
    if problem:
        log.error("the move was made but not announced", error=problem)
