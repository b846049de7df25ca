"""Stage states, alarms in ALARM, recent deployments (python -m ops health ENV)."""

from __future__ import annotations

from ops.arguments import Command
from ops.aws import EXIT_FAILED
from ops.common import Context, deployment_lines, pipeline_state, query_deployments


def cmd_health(ctx: Context, args) -> int:
    stages = [
        {
            "stage": s["stageName"],
            "status": s.get("latestExecution", {}).get("status", "-"),
            "type": s.get("latestExecution", {}).get("type", ""),
        }
        for s in pipeline_state(ctx).get("stageStates", [])
    ]
    alarms = [
        {"alarm": a["AlarmName"], "reason": a.get("StateReason", "")}
        for page in ctx.client("cloudwatch")
        .get_paginator("describe_alarms")
        .paginate(AlarmNamePrefix=ctx.names.pipeline + "-", StateValue="ALARM")
        for a in page["MetricAlarms"]
    ]
    recent = query_deployments(ctx, 5)
    lines = [f"Pipeline health for {ctx.config.name} ({ctx.names.pipeline})", "", "Stages:"]
    lines += [f"  {s['stage']:14} {s['status']}{' (rollback)' if s['type'] == 'ROLLBACK' else ''}" for s in stages]
    lines += ["", "Alarms in ALARM:"] + ([f"  ✗ {a['alarm']}: {a['reason']}" for a in alarms] or ["  none"])
    lines += ["", "Recent deployments:"] + ["  " + line for line in deployment_lines(recent)]
    ctx.emit({"stages": stages, "alarms": alarms, "deployments": recent}, lines)
    return EXIT_FAILED if alarms or any(s["status"] == "Failed" for s in stages) else 0


COMMANDS = {
    "health": Command(cmd_health, "Stage states, alarms in ALARM, the last five deployments", "health production"),
}
