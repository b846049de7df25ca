"""A CodePipeline DeploymentWindow rule's `Cron` and `TimeZone`: is the window
open at a moment, and when does it next open. Pure: standard library only.

The rule reference (AWS CodePipeline user guide, "DeploymentWindow",
https://docs.aws.amazon.com/codepipeline/latest/userguide/rule-reference-DeploymentWindow.html)
says a Cron has "6 required fields and one optional field separated by white
space", and gives this field table:

    Field name        Allowed values        Allowed special characters
    Seconds           N/A                   *
    Minutes           0-59                  , - * /
    Hours             0-23                  , - * /
    Day-of-month      1-31                  , - * ? / L W
    Month             1-12 or JAN-DEC       , - * /
    Day-of-Week       1-7 or SUN-SAT        , - * ? / L #
    Year (Optional)   empty, 1970-2199      , - * /

The docs contradict themselves, and this module assumes:

- Seconds: the table allows only `*`, while the page's own example writes `0`
  (and the China-region copy gives "0-59"). Both `*` and `0` are accepted and
  mean the same: the window is a set of whole minutes (a window open one
  second a minute would be absurd). Any other seconds value is refused.
- Months: the global page says 1-12 (JAN=1); the China-region copy says 0-11.
  1-12 is assumed.
- Day-of-week: 1-7 is SUN-SAT (SUN=1, as the table's "1-7 or SUN-SAT" reads).
- `L`, `W` and `#` are not supported here: a ValueError names the field.
- Day-of-month and day-of-week: `?` leaves a field unconstrained; when
  neither is `?`, a day must match both (AWS requires one `?`; the stack's
  config check enforces it).
- A range whose start is after its end wraps (`FRI-MON`, `22-2`).
- TimeZone: `UTC`, `UTC+hh:mm` / `UTC-hh:mm` (a fixed offset), or an IANA
  name read with zoneinfo (its daylight saving applies). The page's wording
  of TimeZone was not found; absent or empty is UTC (assumed).
- Daylight saving: the cron matches local wall-clock minutes. A local time
  that does not exist (the spring-forward gap) is skipped; a local time that
  occurs twice (fall back) is its first occurrence only.

The year is searched at most `HORIZON` ahead: a cron that matches no minute
in that time (February 30th, a past year) has no next opening (None).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HORIZON = timedelta(days=400)
MONTH_NAMES = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}  # JAN=1
DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
FIELDS = ("seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_OFFSET = re.compile(r"UTC([+-])(\d{1,2}):(\d{2})")


@dataclass(frozen=True)
class Cron:
    """A parsed Cron: the values each field allows (None: `?`, or no year field)."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int] | None
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1-7, SUN=1
    years: frozenset[int] | None

    def matches_day(self, day: date) -> bool:
        return (
            (self.years is None or day.year in self.years)
            and day.month in self.months
            and (self.days is None or day.day in self.days)
            and (self.weekdays is None or day.isoweekday() % 7 + 1 in self.weekdays)
        )

    def matches(self, local: datetime) -> bool:
        """Whether a local wall-clock minute is in the expression."""
        return self.matches_day(local.date()) and local.hour in self.hours and local.minute in self.minutes


@dataclass(frozen=True)
class Window:
    """A cron read in a time zone."""

    cron: Cron
    zone: tzinfo

    def is_open(self, at: datetime) -> bool:
        """Whether the window is open at `at` (an aware datetime)."""
        minute = _aware(at).astimezone(UTC).replace(second=0, microsecond=0)
        local = minute.astimezone(self.zone)
        # Not the second occurrence of a local time that occurs twice.
        return self.cron.matches(local) and _instant(local.replace(tzinfo=None, fold=0), self.zone) == minute

    def next_opening(self, after: datetime, horizon: timedelta = HORIZON) -> datetime | None:
        """The first moment at or after `after` when the window is open (UTC),
        or None if it does not open within `horizon`. Day by day, then the
        cron's hours, then its minutes: at most a few hundred days are read."""
        after = _aware(after).astimezone(UTC)
        if self.is_open(after):
            return after
        first = after.astimezone(self.zone).date()
        last = (after + horizon).astimezone(self.zone).date()
        day = first
        while day <= last:
            if self.cron.matches_day(day):
                for hour in self.cron.hours:
                    for minute in self.cron.minutes:
                        wall = datetime.combine(day, time(hour, minute))
                        moment = _instant(wall, self.zone)
                        if moment is not None and moment >= after:
                            return moment if moment - after <= horizon else None
            day += timedelta(days=1)
        return None


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{moment!r} has no time zone")
    return moment


def _instant(wall: datetime, zone: tzinfo) -> datetime | None:
    """The moment (UTC) a naive local wall time names in `zone`: its first
    occurrence when it occurs twice, None when it does not occur."""
    moment = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None, fold=0) != wall:
        return None  # skipped by a spring-forward change
    return moment


def _value(token: str, field: str, low: int, high: int, names: dict[str, int]) -> int:
    upper = token.upper()
    if upper in names:
        return names[upper]
    bare = upper.rstrip("LW")
    if "#" in upper or (bare != upper and (not bare or bare.isdigit())):
        raise ValueError(f"{field}: {token!r} uses 'L', 'W' or '#', which are not supported")
    if not token.isdigit():
        raise ValueError(f"{field}: {token!r} is not a value (allowed: {low}-{high}{' or names' if names else ''})")
    number = int(token)
    if not low <= number <= high:
        raise ValueError(f"{field}: {number} is outside {low}-{high}")
    return number


def _field(text: str, field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    names = names or {}
    if text == "?":
        if field not in ("day-of-month", "day-of-week"):
            raise ValueError(f"{field}: '?' is allowed only in day-of-month and day-of-week")
        return None
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not step_text.isdigit():
            raise ValueError(f"{field}: {item!r} has no valid step after '/'")
        step = int(step_text) if slash else 1
        if step < 1:
            raise ValueError(f"{field}: the step in {item!r} must be at least 1")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, second = base.split("-", 1)
            start, end = _value(first, field, low, high, names), _value(second, field, low, high, names)
        else:
            start = _value(base, field, low, high, names)
            end = high if slash else start
        span = list(range(start, end + 1)) if start <= end else [*range(start, high + 1), *range(low, end + 1)]
        values.update(span[::step])
    return frozenset(values)


def parse_cron(expression: str) -> Cron:
    """A DeploymentWindow Cron; a ValueError names the field it cannot read."""
    parts = expression.split()
    if len(parts) not in (6, 7):
        raise ValueError(f"cron: {expression!r} has {len(parts)} fields, not 6 or 7 ({' '.join(FIELDS)})")
    seconds, minutes, hours, days, months, weekdays, *year = parts
    if seconds not in ("*", "0"):
        raise ValueError(f"seconds: {seconds!r} is not supported (only '*' or '0': the window is whole minutes)")
    year_values = _field(year[0], "year", 1970, 2199) if year and year[0] != "*" else None
    cron = Cron(
        minutes=tuple(sorted(_field(minutes, "minutes", 0, 59) or ())),
        hours=tuple(sorted(_field(hours, "hours", 0, 23) or ())),
        days=_field(days, "day-of-month", 1, 31),
        months=_field(months, "month", 1, 12, MONTH_NAMES) or frozenset(),
        weekdays=_field(weekdays, "day-of-week", 1, 7, DAY_NAMES),
        years=year_values,
    )
    return cron


def parse_time_zone(name: str | None) -> tzinfo:
    """`UTC`, `UTC+hh:mm` / `UTC-hh:mm`, or an IANA name; absent is UTC."""
    name = (name or "").strip()
    if not name or name == "UTC":
        return UTC
    offset = _OFFSET.fullmatch(name)
    if offset:
        sign, hours, minutes = offset.groups()
        span = timedelta(hours=int(hours), minutes=int(minutes))
        if int(minutes) > 59 or span > timedelta(hours=14):
            raise ValueError(f"time zone: {name!r} is not an offset of at most 14:00")
        return timezone(span if sign == "+" else -span)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"time zone: {name!r} is not 'UTC', 'UTC+hh:mm' or a known IANA name") from error


def window(cron: str, time_zone: str | None = "UTC") -> Window:
    return Window(parse_cron(cron), parse_time_zone(time_zone))


def is_open(cron: str, time_zone: str | None, at: datetime) -> bool:
    """Whether the window is open at `at` (an aware datetime)."""
    return window(cron, time_zone).is_open(at)


def next_opening(cron: str, time_zone: str | None, after: datetime) -> datetime | None:
    """The first moment at or after `after` the window is open (in UTC), or
    None if it does not open within HORIZON."""
    return window(cron, time_zone).next_opening(after)
