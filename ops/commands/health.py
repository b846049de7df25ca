"""Stage states (and every held transition), alarms in ALARM, recent
deployments (python -m ops health ENV).

Each part is read on its own: one that cannot be read (denied, not there, no
answer) is marked ✗ with the reason, and the others are still shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ops import freezes
from ops.arguments import Command
from ops.aws import AWS_ERRORS, EXIT_FAILED, OpsError, calling
from ops.common import Context, deployment_lines, failure, iso, pipeline_state, query_deployments


def _stages(ctx: Context) -> list[dict]:
    state = pipeline_state(ctx)
    left = freezes.left_behind(ctx.config.respect_freezes, state)
    return [
        {
            "stage": s["stageName"],
            "status": s.get("latestExecution", {}).get("status", "-"),
            "type": s.get("latestExecution", {}).get("type", ""),
            "held": _held(s.get("inboundTransitionState") or {}, s["stageName"] in left),
        }
        for s in state.get("stageStates", [])
    ]


def _held(transition: dict, left_behind: bool) -> dict | None:
    """A disabled inbound transition: no release enters the stage until it is
    enabled again, whoever disabled it (a person, the freeze gate)."""
    if transition.get("enabled", True):
        return None
    return {
        "by": transition.get("lastChangedBy", ""),
        "at": iso(transition.get("lastChangedAt", "")),
        "reason": transition.get("disabledReason", ""),
        "leftBehind": left_behind,
    }


def _stage_lines(ctx: Context, stage: dict) -> list[str]:
    rollback = " (rollback)" if stage["type"] == "ROLLBACK" else ""
    lines = [f"  {stage['stage']:14} {stage['status']}{rollback}"]
    held = stage["held"]
    if held:
        lines.append(f"    ⏸ entry held by {held['by'] or 'someone'} since {held['at'] or '?'}: {held['reason']}")
    if held and held["leftBehind"]:
        lines.append(
            f"    ✗ the freeze gate's hold, and environments/{ctx.config.name}.py turns freezes off: once "
            f"monitoring-{ctx.config.name} is deployed so, nothing ends it; "
            f'python -m ops freeze {ctx.config.name} lift --reason "..."'
        )
    return lines


def _alarms(ctx: Context) -> list[dict]:
    prefix = ctx.names.pipeline + "-"
    with calling(f"alarms {prefix}*"):
        return [
            {"alarm": a["AlarmName"], "reason": a.get("StateReason", "")}
            for page in ctx.client("cloudwatch")
            .get_paginator("describe_alarms")
            .paginate(AlarmNamePrefix=prefix, StateValue="ALARM")
            for a in page["MetricAlarms"]
        ]


def _recent(ctx: Context) -> list[dict]:
    return query_deployments(ctx, 5)


# (key, what the ✗ line calls it, reader)
PARTS: tuple[tuple[str, str, Callable[[Context], Any]], ...] = (
    ("stages", "the stages", _stages),
    ("alarms", "the alarms", _alarms),
    ("deployments", "the deployment records", _recent),
)


def cmd_health(ctx: Context, args) -> int:
    read: dict[str, Any] = {}
    unread: dict[str, str] = {}
    for key, _, reader in PARTS:
        try:
            read[key] = reader(ctx)
        except (OpsError, *AWS_ERRORS) as error:
            unread[key] = str(failure(error, ctx.config.name))
    what = {key: label for key, label, _ in PARTS}

    def could_not(key: str) -> list[str]:
        return [f"  ✗ could not read {what[key]}: {unread[key]}"]

    stages, alarms, recent = read.get("stages"), read.get("alarms"), read.get("deployments")
    lines = [f"Pipeline health for {ctx.config.name} ({ctx.names.pipeline})", "", "Stages:"]
    lines += [line for s in stages for line in _stage_lines(ctx, s)] if stages is not None else could_not("stages")
    lines += ["", "Alarms in ALARM:"]
    if alarms is None:
        lines += could_not("alarms")
    else:
        lines += [f"  ✗ {a['alarm']}: {a['reason']}" for a in alarms] or ["  none"]
    lines += ["", "Recent deployments:"]
    lines += ["  " + line for line in deployment_lines(recent)] if recent is not None else could_not("deployments")
    if unread:
        lines += ["", f"✗ {len(unread)} of {len(PARTS)} parts could not be read: the health above is incomplete."]
    # A part not read is null in --json, with its reason under "unread".
    ctx.emit({"stages": stages, "alarms": alarms, "deployments": recent, "unread": unread}, lines)
    failed = alarms or any(s["status"] == "Failed" or (s["held"] or {}).get("leftBehind") for s in stages or [])
    return EXIT_FAILED if unread or failed else 0


COMMANDS = {
    "health": Command(cmd_health, "Stage states, alarms in ALARM, the last five deployments", "health production"),
}
