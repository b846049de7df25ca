"""An environment's logs (python -m ops logs ENV SOURCE [--since 10m] [--follow]).

What the runbook did with `aws logs tail`, which exists only in AWS CLI v2,
through FilterLogEvents (boto3, like every command): SOURCE is a Lambda
function, a CodeBuild project, or the pipeline's own log group, and its log
group's name comes from topology/naming.py, as the stacks name it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from botocore.exceptions import ClientError

from ops.arguments import Command, bounded
from ops.aws import OpsError
from ops.commands.options import add_choice
from ops.common import Context, code
from ops.values import limited, since
from topology import functions as functions_table
from topology import naming

# The functions of the monitoring stack, by purpose, from their one table
# (topology/functions.py): each one's name is `kiro-pipeline-{env}-{purpose}`,
# its log group /aws/lambda/ and that name. A new row is a new source.
FUNCTIONS = tuple(row.purpose for row in functions_table.FUNCTIONS)
# The log group the pipeline-events rule writes the pipeline's execution and
# stage state changes into (docs/architecture.md).
PIPELINE = "pipeline"
SOURCES = (PIPELINE, *naming.CODEBUILD_PROJECTS, *FUNCTIONS)
# Ctrl-C ends --follow: the shell's code for SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


def log_group(names: naming.ResourceNames, source: str) -> str:
    if source == PIPELINE:
        return names.pipeline_log_group
    if source in naming.CODEBUILD_PROJECTS:
        return names.codebuild_log_group(source)
    return names.lambda_log_group(source)


def _events(logs, group: str, start_ms: int, pattern: str | None) -> Iterator[dict]:
    """Every event of `group` from `start_ms`, oldest first, every page.

    FilterLogEvents: "Partially full or empty pages don't necessarily mean
    that pagination is finished. If the results include a nextToken, there
    might be more log events available. ... If the results don't include a
    nextToken, then pagination is finished." and "By default, the events are
    returned in ascending timestamp order (oldest first)."
    (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html)
    """
    request = {"logGroupName": group, "startTime": start_ms}
    if pattern:
        request["filterPattern"] = pattern
    while True:
        try:
            page = logs.filter_log_events(**request)
        except ClientError as error:
            if code(error) == "ResourceNotFoundException":
                raise OpsError(
                    f"log group {group} not found in {logs.meta.region_name}: its stack is not deployed there "
                    "(make deploy ENV=...), or --region names another region"
                ) from error
            raise
        yield from page.get("events", [])
        if not page.get("nextToken"):
            return
        request["nextToken"] = page["nextToken"]


def _moment(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).isoformat(timespec="milliseconds")


def _line(event: dict, as_json: bool) -> str:
    moment = _moment(event["timestamp"])
    message = event.get("message", "").rstrip("\n")
    if as_json:
        return json.dumps(
            {
                "timestamp": moment,
                "logStreamName": event.get("logStreamName"),
                "message": message,
                "eventId": event.get("eventId"),
            }
        )
    return f"{moment} {event.get('logStreamName', '-')} {message}"


def cmd_logs(ctx: Context, args) -> int:
    group = log_group(ctx.names, args.source)
    logs = ctx.client("logs")
    start_ms = int((datetime.now(UTC) - args.since).timestamp() * 1000)
    # Each event once: --follow asks again from the newest timestamp shown,
    # so the events at that millisecond come back and are known by their ID.
    # (Assumed, as `aws logs tail --follow` does: an event ingested after a
    # newer one was shown, with an older timestamp, is not shown.)
    shown: dict[str, int] = {}
    try:
        while True:
            for event in _events(logs, group, start_ms, args.filter_pattern):
                if event.get("eventId") in shown:
                    continue
                shown[event.get("eventId")] = event["timestamp"]
                print(_line(event, args.as_json), flush=True)
            if not args.follow:
                break
            start_ms = max([start_ms, *shown.values()])
            shown = {event: at for event, at in shown.items() if at >= start_ms}
            time.sleep(args.poll_seconds)
    except KeyboardInterrupt:
        if not args.follow:
            raise
        print(f"stopped following {group}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if not shown and not args.as_json:
        print(f"(no log events in {group} since {_moment(start_ms)})")
    return 0


def arguments_logs(parser: argparse.ArgumentParser) -> None:
    add_choice(parser, "source", SOURCES, "log source", "whose logs")
    parser.add_argument(
        "--since",
        type=since,
        default=timedelta(minutes=10),
        help="how far back: a number and one unit of s, m, h, d, w (default 10m, as aws logs tail)",
    )
    parser.add_argument("--follow", action="store_true", help="keep polling for new events; Ctrl-C ends it")
    parser.add_argument(
        "--poll-seconds", type=bounded(float, 1, 60, "seconds"), default=5.0, help="--follow's interval (default 5)"
    )
    # FilterLogEvents' filterPattern: "Length Constraints: Minimum length of 0.
    # Maximum length of 1024." (the API reference above).
    parser.add_argument(
        "--filter-pattern",
        type=limited("the filter pattern", "logs", "FilterPattern"),
        help="a CloudWatch Logs filter pattern, e.g. ERROR or '{ $.level = \"ERROR\" }'",
    )


COMMANDS = {
    "logs": Command(
        cmd_logs,
        "An environment's logs (a function, a CodeBuild project or the pipeline), as aws logs tail shows them",
        "logs test build --since 1h",
        arguments=arguments_logs,
    ),
}
