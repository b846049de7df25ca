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


@dataclass
class Calendar:
    freezes: list[Freeze] = field(default_factory=list)
    # Events not written by ops (their text, kept verbatim).
    foreign: list[str] = field(default_factory=list)

    def render(self, stamp: datetime) -> str:
        lines = list(HEADER)
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
        lines += [line for block in self.foreign for line in block.split(CRLF)]
        lines.append("END:VCALENDAR")
        return CRLF.join(lines) + CRLF


def _escape(text: str) -> str:
    # RFC 5545 TEXT: backslash, semicolon and comma are escaped.
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")


def _unescape(text: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def parse(text: str) -> Calendar:
    """The freezes in the document's text (unfolded lines, RFC 5545 3.1)."""
    unfolded = re.sub(r"\r?\n[ \t]", "", text)
    calendar = Calendar()
    for block in re.findall(r"BEGIN:VEVENT\r?\n.*?END:VEVENT", unfolded, re.S):
        lines = [line for line in re.split(r"\r?\n", block) if line]
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        try:
            calendar.freezes.append(
                Freeze(
                    fields["UID"],
                    datetime.strptime(fields["DTSTART"], UTC_TIME).replace(tzinfo=UTC),
                    datetime.strptime(fields["DTEND"], UTC_TIME).replace(tzinfo=UTC),
                    _unescape(fields.get("SUMMARY", "")),
                )
            )
        except (KeyError, ValueError):
            calendar.foreign.append(CRLF.join(lines))
    return calendar


def empty() -> str:
    """The calendar with no freezes, as the stack creates it (no DTSTAMP: the
    text is the same at every synth)."""
    return CRLF.join([*HEADER, "END:VCALENDAR"]) + CRLF
