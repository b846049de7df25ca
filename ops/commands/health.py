"""Stage states, alarms in ALARM, recent deployments (python -m ops health ENV).

Each part is read on its own: one that cannot be read (denied, not there, no
answer) is marked ✗ with the reason, and the others are still shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ops.arguments import Command
from ops.aws import AWS_ERRORS, EXIT_FAILED, OpsError, calling
from ops.common import Context, deployment_lines, failure, pipeline_state, query_deployments


def _stages(ctx: Context) -> list[dict]:
    return [
        {
            "stage": s["stageName"],
            "status": s.get("latestExecution", {}).get("status", "-"),
            "type": s.get("latestExecution", {}).get("type", ""),
        }
        for s in pipeline_state(ctx).get("stageStates", [])
    ]


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
    lines += (
        [f"  {s['stage']:14} {s['status']}{' (rollback)' if s['type'] == 'ROLLBACK' else ''}" for s in stages]
        if stages is not None
        else could_not("stages")
    )
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
    failed = alarms or any(s["status"] == "Failed" for s in stages or [])
    return EXIT_FAILED if unread or failed else 0


COMMANDS = {
    "health": Command(cmd_health, "Stage states, alarms in ALARM, the last five deployments", "health production"),
}
