"""Checking a new freeze against the calendar (`python -m ops freeze add`):
times, overlaps, the 30-day limit. The calendar's format is the contract's
(functions/shared/contract/calendar.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from functions.shared.contract.calendar import Calendar, Freeze

# "When you re-enable a disabled transition, the latest revision runs through
# the remaining stages of the pipeline unless more than 30 days have passed"
# (CodePipeline user guide, https://docs.aws.amazon.com/codepipeline/latest/userguide/transitions.html):
# a freeze, with any freeze it touches, is at most this long, or the release
# it holds would never resume by itself.
LONGEST = timedelta(days=30)
# A reason is one line, short enough to read in a list and a notification.
REASON_LONGEST = 200
# How far in the past `--from` may lie before it is a mistake (a command typed
# a minute late is not one); earlier, say `--from now`.
LATE_START = timedelta(minutes=5)


class CalendarError(ValueError):
    """The freezes asked for cannot be written: every problem, together."""


def moment(text: str, now: datetime) -> datetime:
    """`now`, a date (midnight UTC) or an ISO 8601 time with its zone."""
    if text.strip().lower() == "now":
        return now.replace(second=0, microsecond=0)
    try:
        found = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: write 2026-12-24, 2026-12-24T18:00Z or 2026-12-24T18:00+01:00"
        ) from None
    if found.tzinfo is None:
        if len(text.strip()) == 10:
            return found.replace(tzinfo=UTC)
        raise ValueError(f"{text!r} has no time zone: add Z (UTC) or an offset such as +01:00")
    if found.second or found.microsecond:
        raise ValueError(f"{text!r}: freezes start and end on a whole minute")
    return found.astimezone(UTC)


def contiguous(freezes: list[Freeze], new: Freeze) -> tuple[datetime, datetime]:
    """The span of `new` joined with every freeze that touches it, in turn."""
    start, end = new.starts, new.ends
    changed = True
    while changed:
        changed = False
        for f in freezes:
            if f.starts <= end and f.ends >= start and (f.starts < start or f.ends > end):
                start, end, changed = min(start, f.starts), max(end, f.ends), True
    return start, end


def add(calendar: Calendar, starts: datetime, ends: datetime, reason: str, now: datetime) -> Freeze:
    """A new freeze, checked against the calendar; every problem at once."""
    problems = []
    if ends <= starts:
        problems.append(f"--to ({ends:%Y-%m-%d %H:%M}Z) must be after --from ({starts:%Y-%m-%d %H:%M}Z)")
    if ends <= now:
        problems.append(f"the freeze would end in the past ({ends:%Y-%m-%d %H:%M}Z, now {now:%Y-%m-%d %H:%M}Z)")
    elif starts < now - LATE_START:
        problems.append(f"--from lies in the past ({starts:%Y-%m-%d %H:%M}Z): use --from now")
    one_line = " ".join(reason.split())
    if not one_line or len(one_line) > REASON_LONGEST:
        problems.append(f"--reason must say why in 1 to {REASON_LONGEST} characters (got {len(one_line)})")
    new = Freeze(uuid.uuid4().hex, max(starts, now.replace(second=0, microsecond=0)), ends, one_line)
    for f in calendar.freezes:
        if f.starts < new.ends and new.starts < f.ends:
            problems.append(f"it overlaps freeze {f.id} ({f.span()}: {f.reason}); change that one or pick other times")
    if not problems:
        start, end = contiguous(calendar.freezes, new)
        if end - start > LONGEST:
            problems.append(
                f"with the freezes it touches it would hold releases for {(end - start).days} days "
                f"({start:%Y-%m-%d} to {end:%Y-%m-%d}); CodePipeline does not resume a transition disabled for "
                "more than 30 days, so split it, with a gap for the held release to go through"
            )
    if problems:
        raise CalendarError("; ".join(problems))
    return new
