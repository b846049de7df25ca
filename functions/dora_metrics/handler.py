"""Scheduled entry point: the DORA metrics, as CloudWatch metrics.

Every hour (an EventBridge schedule) this measures the environment's last
WINDOW_DAYS from its deployment records (shared/dora.py, the same function
`python -m ops dora` calls) and publishes the five figures in the
`KiroPipeline` namespace with dimension `Environment`, so the dashboard can
graph them and alarms can watch them. A metric with nothing to measure (no
deployment in the window) is left out, never published as 0.

The data point carries the schedule's own time (the event's `time`,
truncated to the hour): a duplicated or retried invocation writes at the
same timestamp, so an hour holds one figure per run of its schedule (a late
retry may see newer records and write a slightly newer figure there).

Environment: TABLE_NAME, TABLE_INDEX, ENVIRONMENT, METRICS_NAMESPACE,
WINDOW_DAYS. Settings are read at the first invocation, not at import.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from functions.shared import dora, fields, records, settings
from functions.shared.contract import metrics as published
from functions.shared.log import Logger
from functions.shared.outcomes import MalformedEvent
from functions.shared.store import Store

log = Logger("dora-metrics")
# A ratio goes out as Percent (the contract's unit); the rate and times as they are.
SCALE = {"per day": 1, "seconds": 1, "ratio": 100}
# PutMetricData refuses data older than two weeks or more than two hours ahead.
ACCEPTED_PAST, ACCEPTED_FUTURE = timedelta(days=14), timedelta(hours=2)


@functools.lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    return settings.read(settings.DORA_METRICS)


def scheduled_hour(event: Any, now: datetime) -> datetime:
    """The hour the schedule fired for (EventBridge's `time`), else now's
    hour: for an event without a readable time, a time out of range (year
    9999 shifted past datetime's last instant raises OverflowError, not
    ValueError), and a time CloudWatch would refuse (a hand-made test event)."""
    try:
        # The events' one reader (shared/fields.py): any shape, any length,
        # any year is an ISO-8601 UTC time within 2000-2100 or MalformedEvent.
        moment = records.parse_time(fields.timestamp(event["time"]))
    except (KeyError, TypeError, MalformedEvent):
        moment = now
    if not now - ACCEPTED_PAST < moment < now + ACCEPTED_FUTURE:
        moment = now
    return moment.replace(minute=0, second=0, microsecond=0)


def metric_data(metrics: list[dora.Metric], environment: str, at: datetime) -> list[dict[str, Any]]:
    data = []
    for metric in metrics:
        if metric.value is None:
            continue
        value = round(metric.value * SCALE[metric.unit], 4)
        data.append(published.BY_NAME[metric.name].datum(value, environment, at=at))
    return data


@functools.lru_cache(maxsize=1)
def clients() -> tuple[Store, Any]:
    settings_ = config()
    return Store(boto3.client("dynamodb"), settings_["TABLE_NAME"], settings_["TABLE_INDEX"]), boto3.client(
        "cloudwatch"
    )


def handler(event, context=None, now: datetime | None = None) -> dict:
    settings_ = config()
    log.bind(requestId=getattr(context, "aws_request_id", None))
    at = scheduled_hour(event, now or datetime.now(UTC))
    start = at - timedelta(days=settings_["WINDOW_DAYS"])
    store, cloudwatch = clients()
    items = list(store.recent(settings_["ENVIRONMENT"], since=records.format_time(start - dora.LOOKBACK_MARGIN)))
    metrics = dora.measure(items, start, at)
    data = metric_data(metrics, settings_["ENVIRONMENT"], at)
    if data:
        cloudwatch.put_metric_data(Namespace=settings_["METRICS_NAMESPACE"], MetricData=data)
    log.info(
        "published DORA metrics",
        window=[records.format_time(start), records.format_time(at)],
        metrics={m.name: m.value for m in metrics},
        restsOn={m.name: m.rests_on for m in metrics},
    )
    return {"result": "published", "metrics": len(data)}
