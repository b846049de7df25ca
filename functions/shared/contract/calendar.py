"""The environment's change calendar's text: an SSM Change Calendar document
(iCalendar) whose events are one-off freezes. The stack creates it empty
(modules/freeze.py), `ops freeze` reads and writes its events
(ops/freezes.py). One home for the format, here.

"In Change Calendar, the document stores iCalendar 2.0 data in plaintext
format. Events that you add to the Change Calendar entry become part of the
document" (Systems Manager user guide, "AWS Systems Manager Change Calendar",
https://docs.aws.amazon.com/systems-manager/latest/userguide/systems-manager-change-calendar.html).
The calendar is DEFAULT_OPEN: "All actions can run by default, except during
calendar events. During events, the state of a DEFAULT_OPEN calendar is
CLOSED" (same page). The header is that of CloudFormation's own Change
Calendar example (AWS::SSM::Document, "Create a Change Calendar document").

Freezes are written as UTC events that can be read back; an event added
another way (the console, an import, a recurring one) is kept verbatim.
No imports of this repository (a leaf).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

CRLF = "\r\n"
HEADER = (
    "BEGIN:VCALENDAR",
    "PRODID:-//AWS//Change Calendar 1.0//EN",
    "VERSION:2.0",
    "X-CALENDAR-TYPE:DEFAULT_OPEN",
    "X-WR-CALDESC:Change freezes of the kiro-pipeline (python -m ops freeze)",
)
UTC_TIME = "%Y%m%dT%H%M%SZ"


@dataclass(frozen=True)
class Freeze:
    id: str
    starts: datetime
    ends: datetime
    reason: str

    def span(self) -> str:
        return f"{self.starts:%Y-%m-%d %H:%M} to {self.ends:%Y-%m-%d %H:%M} UTC"


# The mark of an event `ops freeze` wrote: its UID ends so. Any other event
# (the console's, an import, a recurring one) is another's, kept verbatim.
UID_SUFFIX = "@kiro-pipeline-freeze"
# AWS's own empty Change Calendar holds this placeholder (CloudFormation's
# example, AWS::SSM::Document): RFC 5545 wants at least one component.
PLACEHOLDER = (
    "BEGIN:VTODO",
    "DTSTAMP:20200320T004207Z",
    "UID:3b5af39a-d0b3-4049-a839-d7bb8af01f92",
    "SUMMARY:Add events to this calendar.",
    "END:VTODO",
)


@dataclass
class Calendar:
    freezes: list[Freeze] = field(default_factory=list)
    # Every line of the document that is not one of our events, in order,
    # without END:VCALENDAR (the header, time zones, to-dos, others' events).
    kept: list[str] = field(default_factory=lambda: [*HEADER, *PLACEHOLDER])
    # Others' events (their text, kept verbatim in `kept`), for the warnings.
    foreign: list[str] = field(default_factory=list)

    def render(self, stamp: datetime) -> str:
        lines = list(self.kept)
        for f in sorted(self.freezes, key=lambda f: (f.starts, f.id)):
            lines += [
                "BEGIN:VEVENT",
                f"UID:{f.id}",
                f"DTSTAMP:{stamp.astimezone(UTC):{UTC_TIME}}",
                f"DTSTART:{f.starts:{UTC_TIME}}",
                f"DTEND:{f.ends:{UTC_TIME}}",
                f"SUMMARY:{_escape(f.reason)}",
                "END:VEVENT",
            ]
        lines.append("END:VCALENDAR")
        return CRLF.join(lines) + CRLF


def new_id(token: str) -> str:
    return f"{token}{UID_SUFFIX}"


def _escape(text: str) -> str:
    # RFC 5545 TEXT: backslash, semicolon and comma are escaped.
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")


def _unescape(text: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _ours(block: list[str]) -> Freeze | None:
    """One of our events, read back; None for anyone else's."""
    unfolded = re.sub(r"\r?\n[ \t]", "", CRLF.join(block))
    fields = dict(line.split(":", 1) for line in unfolded.split(CRLF) if ":" in line)
    if not fields.get("UID", "").endswith(UID_SUFFIX):
        return None
    try:
        return Freeze(
            fields["UID"],
            datetime.strptime(fields["DTSTART"], UTC_TIME).replace(tzinfo=UTC),
            datetime.strptime(fields["DTEND"], UTC_TIME).replace(tzinfo=UTC),
            _unescape(fields.get("SUMMARY", "")),
        )
    except (KeyError, ValueError):
        return None  # marked, but not as we write it: kept as it is


def parse(text: str) -> Calendar:
    """Our freezes, and every other line of the document as it is."""
    calendar = Calendar(kept=[])
    lines = [line for line in re.split(r"\r?\n", text) if line]
    block: list[str] | None = None
    for line in lines:
        if block is not None:
            block.append(line)
            if line.startswith("END:VEVENT"):
                found = _ours(block)
                if found:
                    calendar.freezes.append(found)
                else:
                    calendar.kept += block
                    calendar.foreign.append(CRLF.join(block))
                block = None
        elif line.startswith("BEGIN:VEVENT"):
            block = [line]
        elif not line.startswith("END:VCALENDAR"):
            calendar.kept.append(line)
    if block:  # an event never closed: kept as it was
        calendar.kept += block
    return calendar


def empty() -> str:
    """The calendar with no freezes, as the stack creates it: the header and
    AWS's placeholder (fixed text, the same at every synth)."""
    return CRLF.join([*HEADER, *PLACEHOLDER, "END:VCALENDAR"]) + CRLF
