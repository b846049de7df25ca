"""Validators for fields read from events: any shape an event can take is
either accepted or rejected with MalformedEvent, never raised as something
else (a float where a string belongs, a lone surrogate that DynamoDB cannot
encode, a year 9999 that overflows a TTL, a megabyte-long name)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from functions.shared.outcomes import MalformedEvent
from functions.shared.records import TIME_FORMAT

__all__ = ["TIME_FORMAT"]  # re-exported: events and records share the format
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def text(value: Any, name: str, *, max_length: int = 256, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{name} is not a non-empty string")
    if len(value) > max_length:
        raise MalformedEvent(f"{name} is longer than {max_length} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise MalformedEvent(f"{name} is not valid Unicode text") from None
    return value


def timestamp(value: Any, name: str = "time") -> str:
    """An ISO-8601 time as UTC `YYYY-MM-DDTHH:MM:SSZ`, within 2000-2100."""
    text(value, name, max_length=64)
    candidates = [value.replace("Z", "+00:00")]
    # CloudWatch writes "2026-11-22T04:05:06.789+0000" (no colon in the offset).
    if len(value) > 5 and value[-5] in "+-" and value[-4:].isdigit():
        candidates.append(value[:-2] + ":" + value[-2:])
    for candidate in candidates:
        try:
            parsed = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        try:
            utc = parsed.astimezone(UTC)
        except (OverflowError, ValueError):
            break
        if not EARLIEST_YEAR <= utc.year <= LATEST_YEAR:
            raise MalformedEvent(f"{name} {value!r} is outside {EARLIEST_YEAR}-{LATEST_YEAR}")
        return utc.strftime(TIME_FORMAT)
    raise MalformedEvent(f"{name} {value[:64]!r} is not an ISO-8601 timestamp")
