"""The alarms, their states and history (python -m ops alarms ENV)."""

from __future__ import annotations

import argparse

from ops.arguments import Command
from ops.aws import OpsError, calling
from ops.commands.options import add_days, days_back
from ops.common import Context, iso


def _alarm_name(ctx: Context, name: str) -> str:
    """A full alarm name, or a suffix of this environment's (`failures`)."""
    prefix = f"{ctx.names.pipeline}-"
    return name if name.startswith(prefix) else prefix + name


def cmd_alarms(ctx: Context, args) -> int:
    """Runbook Task 6, steps 1-2, with this project's alarm and metric names."""
    return _history(ctx, args) if args.history else _list(ctx)


def _list(ctx: Context) -> int:
    cloudwatch = ctx.client("cloudwatch")
    alarms = [
        a
        for page in cloudwatch.get_paginator("describe_alarms").paginate(
            AlarmNamePrefix=f"{ctx.names.pipeline}-", AlarmTypes=["MetricAlarm"]
        )
        for a in page["MetricAlarms"]
    ]
    if not alarms:
        raise OpsError(
            f"no alarm named {ctx.names.pipeline}-*: deploy monitoring-{ctx.config.name} "
            f"(make deploy ENV={ctx.config.name} STACK=monitoring)"
        )
    rows = [
        {
            "name": a["AlarmName"],
            "state": a["StateValue"],
            "metric": f"{a['Namespace']} {a['MetricName']}",
            "threshold": f"{a['ComparisonOperator']} {a['Threshold']:g}",
        }
        for a in alarms
    ]
    ctx.emit(rows, [f"{r['state']:17} {r['name']:44} {r['metric']:32} {r['threshold']}" for r in rows])
    return 0


def _history(ctx: Context, args) -> int:
    """One alarm's state changes and its metric's hourly statistics."""
    cloudwatch, name = ctx.client("cloudwatch"), _alarm_name(ctx, args.history)
    found = cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["MetricAlarm"])["MetricAlarms"]
    if not found:
        raise OpsError(f"alarm {name} not found: list them with python -m ops alarms {ctx.config.name}")
    alarm = found[0]
    history = cloudwatch.describe_alarm_history(
        AlarmName=name, HistoryItemType="StateUpdate", MaxRecords=20, ScanBy="TimestampDescending"
    )["AlarmHistoryItems"]
    start, end = days_back(args.days)
    with calling(f"metric {alarm['Namespace']} {alarm['MetricName']} of alarm {name}"):
        points = cloudwatch.get_metric_statistics(
            Namespace=alarm["Namespace"],
            MetricName=alarm["MetricName"],
            Dimensions=alarm.get("Dimensions", []),
            StartTime=start,
            EndTime=end,
            Period=3600,
            Statistics=["Sum", "Average", "Maximum", "Minimum"],
        )["Datapoints"]
    data = {
        "alarm": name,
        "state": alarm["StateValue"],
        "namespace": alarm["Namespace"],
        "metric": alarm["MetricName"],
        "dimensions": alarm.get("Dimensions", []),
        "threshold": alarm["Threshold"],
        "comparison": alarm["ComparisonOperator"],
        "history": [{"time": iso(h["Timestamp"]), "summary": h["HistorySummary"]} for h in history],
        "hourly": [
            {"time": iso(p["Timestamp"]), **{k: p[k] for k in ("Sum", "Average", "Maximum", "Minimum")}}
            for p in sorted(points, key=lambda p: p["Timestamp"])
        ],
    }
    ctx.emit(data, _history_lines(ctx, alarm, data, args.days))
    return 0


def _history_lines(ctx: Context, alarm: dict, data: dict, days: int) -> list[str]:
    dims = ",".join(f"{d['Name']}={d['Value']}" for d in data["dimensions"])
    lines = [
        f"{data['alarm']}: {alarm['StateValue']} ({alarm['Namespace']} {alarm['MetricName']} {dims}, "
        f"{alarm['Statistic'] if 'Statistic' in alarm else ''} {alarm['ComparisonOperator']} {alarm['Threshold']:g})",
        "",
        "State changes, newest first:",
    ]
    lines += [f"  {h['time']}  {h['summary']}" for h in data["history"]] or ["  (none)"]
    lines += ["", f"Hourly statistics, last {days} day(s):"]
    lines += [
        f"  {p['time']}  sum {p['Sum']:g}  avg {p['Average']:g}  max {p['Maximum']:g}  min {p['Minimum']:g}"
        for p in data["hourly"]
    ] or ["  (no data points)"]
    return lines + [
        "",
        "To change the threshold: edit the environment's config (deployment_duration_threshold_minutes, "
        "coverage_threshold_percent, polling_interval_minutes), then make deploy ENV="
        f"{ctx.config.name} STACK=monitoring; a put-metric-alarm would be undone by the next deploy.",
    ]


def arguments_alarms(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", metavar="NAME", help="an alarm name, or its suffix (failures, duration...)")
    add_days(parser, default=7, most=15, help="days of hourly metric statistics (default 7)")


COMMANDS = {
    "alarms": Command(
        cmd_alarms,
        "The environment's alarms and states; --history NAME: state changes and metric data",
        "alarms production --history failures",
        arguments=arguments_alarms,
    ),
}
