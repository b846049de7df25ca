"""The deployment summary (python -m ops summary ENV)."""

from __future__ import annotations

import statistics
from functools import partial

from functions.shared import records
from functions.shared.contract import metrics as published
from ops.arguments import Command
from ops.aws import calling
from ops.commands.options import add_days, days_back
from ops.common import Context, iso, query_deployments
from topology import naming


def cmd_summary(ctx: Context, args) -> int:
    start, end = days_back(args.days)
    cloudwatch, metrics = ctx.client("cloudwatch"), {}
    for counted in (published.DEPLOYMENT_SUCCESS, published.DEPLOYMENT_FAILURE, published.ROLLBACK_COUNT):
        metric = counted.name
        with calling(f"metric {naming.METRICS_NAMESPACE} {metric} of {ctx.config.name}"):
            points = cloudwatch.get_metric_statistics(
                Namespace=naming.METRICS_NAMESPACE,
                MetricName=metric,
                Dimensions=counted.dimensions_of(ctx.config.name),
                StartTime=start,
                EndTime=end,
                Period=86400,
                Statistics=[counted.statistic],
            )["Datapoints"]
        metrics[metric] = int(sum(p[counted.statistic] for p in points))
    deployments = [
        r
        for r in query_deployments(ctx, 10_000, since=iso(start))
        if records.is_deployment(str(r.get(records.KEY, "")))
    ]
    durations = []
    for record in deployments:
        if record.get(records.STARTED_AT) and record.get(records.END_TIME):
            begin = records.parse_time(record[records.STARTED_AT])
            finish = records.parse_time(record[records.END_TIME])
            durations.append((finish - begin).total_seconds() / 60)
    finished = metrics[published.DEPLOYMENT_SUCCESS.name] + metrics[published.DEPLOYMENT_FAILURE.name]
    summary = {
        "environment": ctx.config.name,
        "days": args.days,
        "deployments": len(deployments),
        "successes": metrics[published.DEPLOYMENT_SUCCESS.name],
        "failures": metrics[published.DEPLOYMENT_FAILURE.name],
        "rollbacks": metrics[published.ROLLBACK_COUNT.name],
        "success_rate_percent": round(100 * metrics[published.DEPLOYMENT_SUCCESS.name] / finished, 1)
        if finished
        else None,
        "median_duration_minutes": round(statistics.median(durations), 1) if durations else None,
    }
    lines = [
        f"Deployment summary for {ctx.config.name} (last {args.days} days)",
        f"  deployments recorded: {summary['deployments']}",
        f"  successes:            {summary['successes']}",
        f"  failures:             {summary['failures']}",
        f"  rollbacks:            {summary['rollbacks']}",
        f"  success rate:         {summary['success_rate_percent'] if finished else '-'}%",
        f"  median duration:      {summary['median_duration_minutes'] if durations else '-'} min",
    ]
    ctx.emit(summary, lines)
    return 0


COMMANDS = {
    "summary": Command(
        cmd_summary,
        "Deployments, successes, failures, rollbacks, success rate, median duration",
        "summary production --days 30",
        arguments=partial(add_days, default=7),
    ),
}
