"""The DORA metrics of an environment's pipeline (python -m ops dora ENV [--days 30] [--json]).

Read from the deployment records (functions/shared/dora.py says what counts);
each metric with its DORA band and the number of deployments it rests on.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

from functions.shared import dora
from ops.arguments import Command, bounded
from ops.common import Context, iso


def _shown(metric: dora.Metric) -> str:
    if metric.value is None:
        return "no data"
    if metric.unit == "seconds":
        median, p90 = metric.detail["median"], metric.detail["p90"]
        shown = f"median {timedelta(seconds=round(median))}, p90 {timedelta(seconds=round(p90))}"
        # Recoveries counted at an incident whose alarm lost its data
        # (INSUFFICIENT_DATA): in the figure, but their real end is unknown.
        unknown = metric.detail.get("endedUnknown")
        return f"{shown}; {unknown} ended without data (end unknown)" if unknown else shown
    if metric.unit == "ratio":
        return f"{metric.value:.1%}"
    return f"{metric.value:.2f} {metric.unit}"


def cmd_dora(ctx: Context, args) -> int:
    end = datetime.now(UTC)
    start = end - timedelta(days=args.days)
    items = list(ctx.store().recent(ctx.config.name, since=iso(start - dora.LOOKBACK_MARGIN)))
    metrics = dora.measure(items, start, end)
    lines = [f"DORA metrics of {ctx.names.pipeline}, {iso(start)} to {iso(end)} ({args.days} days):"]
    kept = ctx.config.deployment_record_ttl_days
    if args.days + dora.LOOKBACK_MARGIN.days > kept:
        lines.append(
            f"! records are kept {kept} days (deployment_record_ttl_days): a {args.days}-day window "
            "undercounts its oldest deployments and recoveries"
        )
    for m in metrics:
        lines.append(f"  {m.name:30} {_shown(m):40} band {m.band:7} (rests on {m.rests_on})")
    data = {
        "environment": ctx.config.name,
        "start": iso(start),
        "end": iso(end),
        "metrics": [
            {
                "name": m.name,
                "value": m.value,
                "unit": m.unit,
                "band": m.band,
                "restsOn": m.rests_on,
                **(m.detail or {}),
            }
            for m in metrics
        ],
    }
    ctx.emit(data, lines)
    return 0


def arguments_dora(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=bounded(int, 1, 3650, "days"), default=30)


COMMANDS = {
    "dora": Command(
        cmd_dora, "DORA metrics of the environment's pipeline", "dora production --days 30", arguments_dora
    ),
}
