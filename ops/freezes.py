"""Checking a new freeze against the calendar (`python -m ops freeze add`):
times, overlaps, the 30-day limit; and finding a hold the freeze gate left
behind (`ops freeze lift`, `ops health`). The calendar's format is the
contract's (functions/shared/contract/calendar.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from functions.freeze_gate.logic import ours
from functions.shared.contract.calendar import Calendar, Freeze, new_id
from functions.shared.contract.stages import freeze_stage

# "When you re-enable a disabled transition, the latest revision runs through
# the remaining stages of the pipeline unless more than 30 days have passed"
# (CodePipeline user guide, https://docs.aws.amazon.com/codepipeline/latest/userguide/transitions.html):
# a freeze, with the freezes it runs into, is held for less, or the release it
# holds would never resume by itself. The gate holds LEAD before a freeze
# starts and lets go within a minute of its end, and it does not re-enable
# across a gap shorter than LEAD: freezes closer than GAP count as one hold,
# and a hold is at most LONGEST (30 days, less an hour for LEAD and the
# gate's minute).
TRANSITION_LIMIT = timedelta(days=30)
LONGEST = TRANSITION_LIMIT - timedelta(hours=1)
GAP = timedelta(minutes=30)
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
    """The span of `new` joined with every freeze less than GAP from it, in turn."""
    start, end = new.starts, new.ends
    changed = True
    while changed:
        changed = False
        for f in freezes:
            near = f.starts < end + GAP and f.ends > start - GAP
            if near and (f.starts < start or f.ends > end):
                start, end, changed = min(start, f.starts), max(end, f.ends), True
    return start, end


def _days(span: timedelta) -> str:
    hours = span.seconds // 3600
    return f"{span.days} days" + (f" {hours} h" if hours else "")


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
    new = Freeze(new_id(uuid.uuid4().hex), max(starts, now.replace(second=0, microsecond=0)), ends, one_line)
    for f in calendar.freezes:
        if f.starts < new.ends and new.starts < f.ends:
            problems.append(f"it overlaps freeze {f.id} ({f.span()}: {f.reason}); change that one or pick other times")
    if not problems:
        start, end = contiguous(calendar.freezes, new)
        if end - start > LONGEST:
            problems.append(
                f"with the freezes less than {GAP.seconds // 60} minutes from it, it would hold releases for "
                f"{_days(end - start)} ({start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC; at most "
                f"{_days(LONGEST)}); CodePipeline does not resume a transition disabled for more than 30 days, "
                f"so split it, with a gap of at least {GAP.seconds // 60} minutes for the held release to go through"
            )
    if problems:
        raise CalendarError("; ".join(problems))
    return new


def left_behind(respect_freezes: bool, state: dict) -> dict[str, str]:
    """The stages whose inbound transition still carries the freeze gate's
    hold (with its reason) where this checkout's environment file does not
    respect freezes: once monitoring is deployed so, the gate is gone
    (topology/functions.py) and nothing re-enables them. Either gate stage
    is looked at, in case the change window was turned off too. `state`:
    GetPipelineState's answer."""
    if respect_freezes:
        return {}
    candidates = {freeze_stage(window=True), freeze_stage(window=False)}
    found = {}
    for s in state.get("stageStates", []):
        transition = s.get("inboundTransitionState") or {}
        reason = transition.get("disabledReason", "")
        if s["stageName"] in candidates and not transition.get("enabled", True) and ours(reason):
            found[s["stageName"]] = reason
    return found
