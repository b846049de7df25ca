"""The deployment record's contract: one home for its key, its index, its
time format and its expiry, read by both functions, `ops`, the core stack's
table definition and the tests.

It imports nothing but the standard library, so it works both inside the
Lambda zips (as `shared.records`) and from the rest of the repository (as
`functions.shared.records`). Numbers stay numbers: `expiresAt` is an epoch
second (DynamoDB TTL reads a Number), never a string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# The table's partition key, and the index the runbook's queries use
# (EnvironmentStatusIndex: environment, then startTime).
KEY = "deploymentId"
INDEX_PARTITION = "environment"
INDEX_SORT = "startTime"
# The TTL attribute: epoch seconds.
EXPIRES = "expiresAt"
# Every time on a record: ISO 8601 UTC to the second, which sorts in time order.
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# The head commit's author time (CodeConnections' AuthorDate): lead time starts there.
COMMIT_AUTHOR_TIME = "commitAuthorTime"
# The pipeline structure version an execution ran in (a Number).
PIPELINE_VERSION = "pipelineVersion"
# How an execution ended (shared/stages.py's OUTCOMES).
OUTCOME = "outcome"
# Records that are not deployments share the table under their own prefixes.
ROLLBACK_PREFIX = "rollback#"
NOTIFICATION_PREFIX = "notification#"
# A break-glass override of a stage condition (python -m ops override).
OVERRIDE_PREFIX = "override#"
# A health alarm's ALARM -> OK window (deployment_recorder/incidents.py).
INCIDENT_PREFIX = "incident#"


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def expires_at(time: str, ttl_days: int) -> int:
    """The TTL of a record that starts at `time` (TIME_FORMAT) and is kept `ttl_days`."""
    return int((parse_time(time) + timedelta(days=ttl_days)).timestamp())


def key(deployment_id: str) -> dict[str, dict[str, str]]:
    """The record's key in DynamoDB's typed JSON."""
    return {KEY: {"S": deployment_id}}


def is_deployment(deployment_id: str) -> bool:
    """Whether a record is a pipeline execution (not a rollback, a notification claim, an override or an incident)."""
    return not deployment_id.startswith((ROLLBACK_PREFIX, NOTIFICATION_PREFIX, OVERRIDE_PREFIX, INCIDENT_PREFIX))


@dataclass(frozen=True)
class Update:
    """One conditional UpdateItem on the record `deployment_id`, as the
    recorder's logic plans it and the store applies it."""

    deployment_id: str
    set_values: dict[str, Any]
    condition: str | None
    condition_values: dict[str, Any] = field(default_factory=dict)
    # `if_not_exists` assignments: keep an existing value.
    set_if_absent: dict[str, Any] = field(default_factory=dict)
    # Attributes to delete, and string sets to add to.
    remove: tuple[str, ...] = ()
    add_to_sets: dict[str, tuple[str, ...]] = field(default_factory=dict)
    purpose: str = ""


@dataclass(frozen=True)
class Metrics:
    """The outcome metrics a record owes, and the key (`status@updatedAt`)
    that says they were published."""

    key: str
    counts: dict[str, int]
    duration: int | None
