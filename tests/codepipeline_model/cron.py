"""A DeploymentWindow rule's `Cron` and `TimeZone`, read as a set of minutes.

CodePipeline's cron has 6 required fields and an optional year:
seconds, minutes, hours, day-of-month, month, day-of-week [, year]
(rule reference, DeploymentWindow). A window is the set of wall-clock minutes
in the rule's time zone that the expression matches; a UTC minute is in the
window when its local time is. So a daylight-saving change moves the window
in UTC, a local hour that does not exist (spring forward) matches nothing, and
a local hour that happens twice (fall back) matches twice.

The seconds field does not narrow a minute (assumed: the window's grain is a
minute). `W` and `L-n` are not supported (a ValueError says so).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

MONTHS = {name: n for n, name in enumerate(calendar.month_abbr) if name}  # JAN=1
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}  # the page: "1-7 or SUN-SAT"
MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Field:
    """One field: the values it allows, or None for `?` (no specific value)."""

    values: frozenset[int] | None
    last: bool = False  # `L` in day-of-month
    last_weekday: frozenset[int] = frozenset()  # `6L` in day-of-week
    nth_weekday: frozenset[tuple[int, int]] = frozenset()  # `6#3` in day-of-week


def _number(token: str, names: dict[str, int]) -> int:
    token = token.upper()
    if token in names:
        return names[token]
    if not token.isdigit():
        raise ValueError(f"not a cron value: {token!r}")
    return int(token)


def _range(item: str, low: int, high: int, names: dict[str, int]) -> list[int]:
    """`*`, `a`, `a-b` (wrapping when a > b), each with an optional `/step`."""
    base, _, step = item.partition("/")
    if base == "*":
        start, end = low, high
    elif "-" in base:
        first, second = base.split("-", 1)
        start, end = _number(first, names), _number(second, names)
    else:
        start = _number(base, names)
        end = high if step else start
    if not (low <= start <= high and low <= end <= high):
        raise ValueError(f"{item!r} is outside {low}-{high}")
    span = list(range(start, end + 1)) if start <= end else [*range(start, high + 1), *range(low, end + 1)]
    return span[:: int(step)] if step else span


def parse_field(text: str, low: int, high: int, names: dict[str, int] | None = None, *, kind: str = "") -> Field:
    names = names or {}
    if text == "?":
        if kind not in ("day-of-month", "day-of-week"):
            raise ValueError("'?' is allowed only in day-of-month and day-of-week")
        return Field(None)
    values: set[int] = set()
    last, last_weekday, nth = False, set(), set()
    for item in text.split(","):
        if kind == "day-of-month" and item.upper() == "L":
            last = True
        elif kind == "day-of-week" and re.fullmatch(r"\w+L", item, re.I) and item.upper() != "L":
            last_weekday.add(_number(item[:-1], names))
        elif kind == "day-of-week" and "#" in item:
            day, n = item.split("#")
            nth.add((_number(day, names), int(n)))
        elif kind == "day-of-week" and item.upper() == "L":
            values.add(7)  # the page: alone in day-of-week, 'L' means "7" or "SAT"
        elif "W" in item.upper() or item.upper().startswith("L"):
            raise ValueError(f"{item!r} is not supported by this model")
        else:
            values.update(_range(item, low, high, names))
    return Field(frozenset(values), last, frozenset(last_weekday), frozenset(nth))


@dataclass(frozen=True)
class Cron:
    minutes: Field
    hours: Field
    days: Field
    months: Field
    weekdays: Field
    years: Field | None
    monday_is_one: bool = False

    def matches(self, local: datetime) -> bool:
        """Whether a local wall-clock minute is in the expression."""
        if self.years is not None and local.year not in self.years.values:
            return False
        return (
            local.minute in self.minutes.values
            and local.hour in self.hours.values
            and local.month in self.months.values
            and self._day(local)
        )

    def _day(self, local: datetime) -> bool:
        dom, dow = self.days, self.weekdays
        day_ok = (
            dom.values is None
            or local.day in dom.values
            or (dom.last and local.day == calendar.monthrange(local.year, local.month)[1])
        )
        weekday = local.isoweekday() if self.monday_is_one else local.isoweekday() % 7 + 1  # SUN=1
        last_of_month = local.day + 7 > calendar.monthrange(local.year, local.month)[1]
        week_ok = (
            dow.values is None
            or weekday in dow.values
            or (weekday in dow.last_weekday and last_of_month)
            or (weekday, (local.day - 1) // 7 + 1) in dow.nth_weekday
        )
        # Assumed: when neither field is '?', both must match.
        return day_ok and week_ok


def parse_cron(expression: str, *, month_base: int = 1, monday_is_one: bool = False) -> Cron:
    """A CodePipeline cron expression. `month_base` 0 reads numeric months as
    0-11 (the China-region copy of the rule reference), 1 as 1-12."""
    parts = expression.split()
    if len(parts) not in (6, 7):
        raise ValueError(f"a CodePipeline cron has 6 or 7 fields, not {len(parts)}: {expression!r}")
    seconds, minutes, hours, days, months, weekdays, *year = parts
    parse_field(seconds, 0, 59)  # checked, then ignored: a window is made of minutes
    month_names = {k: v - 1 + month_base for k, v in MONTHS.items()}
    month = parse_field(months, month_base, 11 + month_base, month_names)
    if month_base != 1:
        month = Field(frozenset(v + 1 - month_base for v in month.values or ()))
    return Cron(
        minutes=parse_field(minutes, 0, 59),
        hours=parse_field(hours, 0, 23),
        days=parse_field(days, 1, 31, kind="day-of-month"),
        months=month,
        weekdays=parse_field(weekdays, 1, 7, DAYS, kind="day-of-week"),
        years=parse_field(year[0], 1970, 2199) if year and year[0] != "*" else None,
        monday_is_one=monday_is_one,
    )


def parse_time_zone(name: str | None) -> tzinfo:
    """`UTC`, `UTC+hh:mm` / `UTC-hh:mm`, or an IANA name (daylight saving applies).
    Absent: UTC (assumed)."""
    if not name or name.upper() in ("UTC", "GMT", "Z"):
        return UTC
    offset = re.fullmatch(r"(?:UTC|GMT)([+-])(\d{1,2})(?::?(\d{2}))?", name.upper())
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3) or 0)))
    return ZoneInfo(name)


@dataclass(frozen=True)
class Window:
    cron: Cron
    zone: tzinfo

    def allows(self, moment: datetime) -> bool:
        """Whether the minute holding `moment` (aware) is in the window."""
        minute = moment.astimezone(UTC).replace(second=0, microsecond=0)
        return self.cron.matches(minute.astimezone(self.zone))

    def minutes(self, start: datetime, end: datetime) -> list[datetime]:
        """The window's minutes in [start, end), as UTC datetimes."""
        found, moment = [], start.astimezone(UTC).replace(second=0, microsecond=0)
        while moment < end:
            if self.allows(moment):
                found.append(moment)
            moment += MINUTE
        return found

    def next_open(self, after: datetime, limit: timedelta = timedelta(days=400)) -> datetime | None:
        moment = after.astimezone(UTC).replace(second=0, microsecond=0)
        stop = moment + limit
        while moment < stop:
            if self.allows(moment):
                return moment
            moment += MINUTE
        return None


def window(cron: str, time_zone: str | None = "UTC", *, month_base: int = 1, monday_is_one: bool = False) -> Window:
    return Window(parse_cron(cron, month_base=month_base, monday_is_one=monday_is_one), parse_time_zone(time_zone))
