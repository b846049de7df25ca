"""The deployment record's helpers: its times, its expiry, its key, its kind,
and the updates and metrics the recorder plans. The names themselves (every
attribute, kind and status) are contract/records.py's, re-exported here.

It imports only the standard library and the contract, so it works both inside the
Lambda zips (as `shared.records`) and from the rest of the repository (as
`functions.shared.records`). Numbers stay numbers: `expiresAt` is an epoch
second (DynamoDB TTL reads a Number), never a string.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

# Every attribute name, kind prefix and status lives in contract/records.py;
# re-exported here, so `records.COMMIT_ID` reads as it always did.
from .contract.records import *  # noqa: E402, F403
from .contract.records import KEY, KIND_PREFIXES, TIME_FORMAT  # noqa: E402


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
    return not deployment_id.startswith(KIND_PREFIXES)


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
