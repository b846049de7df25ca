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

The docs contradict themselves. This module reads a Cron in two ways: as
written in a pipeline (`parse_cron`, what the execution-age function reads),
and strictly (`cron_problem`, what the environment configuration accepts).
The strict reading is a subset of what AWS documents, chosen so that every
reading of the docs accepts it and means the same by it:

- Seconds: the table allows only `*`, while the page's own example writes `0`
  (and the China-region copy gives "0-59"). The strict reading accepts `*`
  only (valid under all three); the reader also accepts `0`, with the same
  meaning: the window is a set of whole minutes. Any other value is refused.
- Months: the global page says 1-12 (JAN=1); the China-region copy says 0-11.
  1-12 is assumed; names (JAN-DEC) mean the same under both.
- Day-of-week: 1-7 is SUN-SAT (SUN=1, as the table's "1-7 or SUN-SAT" reads).
- `L`, `W` and `#` are not supported here: a ValueError names the field.
- Day-of-month and day-of-week: `?` leaves a field unconstrained. The strict
  reading wants `?` in exactly one of them (the page: "It is useful when you
  need to specify something in one of the two fields, but not the other");
  the reader, when neither is `?`, matches a day against both.
- Ranges: the page gives only ascending ones ("10-12"). The strict reading
  refuses one whose start is after its end (write `22-23,0-2`); the reader
  wraps it (`FRI-MON`, `22-2`), as Quartz does (assumed).
- Names: the page writes them in capitals (JAN-DEC, SUN-SAT); the strict
  reading accepts capitals only, the reader any case.
- Separators: "separated by white space"; the strict reading accepts single
  spaces only (no tabs or newlines, which reach AWS unchanged).
- TimeZone: `UTC`, `UTC+hh:mm` / `UTC-hh:mm` (a fixed offset from -12:00 to
  +14:00, the offsets in use on Earth), or an IANA Area/Location name that
  zoneinfo knows (its daylight saving applies). Abbreviations (CST is three
  zones) are refused. The page's wording of TimeZone was not found; absent
  or empty is UTC (assumed). One rule (`time_zone_problem`) serves both.
- Daylight saving: the cron matches local wall-clock minutes. A local time
  that does not exist (the spring-forward gap) is skipped; a local time that
  occurs twice (fall back) is its first occurrence only.

The year is searched at most `HORIZON` ahead: a cron that matches no minute
in that time (February 30th, a past year) has no next opening (None).
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

HORIZON = timedelta(days=400)
MONTH_NAMES = {name.upper(): number for number, name in enumerate(calendar.month_abbr) if name}  # JAN=1
DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
FIELDS = ("seconds", "minutes", "hours", "day-of-month", "month", "day-of-week", "[year]")
_OFFSET = re.compile(r"UTC([+-])([0-9]{2}):([0-9]{2})", re.ASCII)
# The offsets in use: from UTC-12:00 (Baker Island) to UTC+14:00 (Kiribati).
OFFSET_RANGE = (-timedelta(hours=12), timedelta(hours=14))
# The strict reading's shape: printable ASCII fields, one space between them.
_STRICT_SHAPE = re.compile(r"[!-~]+(?: [!-~]+)*", re.ASCII)


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


def _value(token: str, field: str, low: int, high: int, names: dict[str, int], strict: bool) -> int:
    upper = token.upper()
    if upper in names:
        if strict and token != upper:
            raise ValueError(f"{field}: write {token!r} in capitals ({upper}), as the rule reference does")
        return names[upper]
    bare = upper.rstrip("LW")
    if "#" in upper or (bare != upper and (not bare or bare.isdigit())):
        raise ValueError(f"{field}: {token!r} uses 'L', 'W' or '#', which are not supported")
    if not (token.isascii() and token.isdigit()):
        raise ValueError(f"{field}: {token!r} is not a value (allowed: {low}-{high}{' or names' if names else ''})")
    number = int(token)
    if not low <= number <= high:
        raise ValueError(f"{field}: {number} is outside {low}-{high}")
    return number


def _field(
    text: str, field: str, low: int, high: int, names: dict[str, int] | None = None, strict: bool = False
) -> frozenset[int] | None:
    names = names or {}
    if text == "?":
        if field not in ("day-of-month", "day-of-week"):
            raise ValueError(f"{field}: '?' is allowed only in day-of-month and day-of-week")
        return None
    values: set[int] = set()
    for item in text.split(","):
        base, slash, step_text = item.partition("/")
        if slash and not (step_text.isascii() and step_text.isdigit()):
            raise ValueError(f"{field}: {item!r} has no valid step after '/'")
        step = int(step_text) if slash else 1
        if step < 1:
            raise ValueError(f"{field}: the step in {item!r} must be at least 1")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            first, second = base.split("-", 1)
            start, end = _value(first, field, low, high, names, strict), _value(second, field, low, high, names, strict)
            if strict and start > end:
                raise ValueError(f"{field}: the range {base!r} runs backwards; write it as two ranges joined by ','")
        else:
            start = _value(base, field, low, high, names, strict)
            end = high if slash else start
        span = list(range(start, end + 1)) if start <= end else [*range(start, high + 1), *range(low, end + 1)]
        values.update(span[::step])
    return frozenset(values)


def parse_cron(expression: str, *, strict: bool = False) -> Cron:
    """A DeploymentWindow Cron; a ValueError names the field it cannot read.
    `strict`: only the subset every reading of the docs accepts (module doc)."""
    if strict and not _STRICT_SHAPE.fullmatch(expression):
        raise ValueError("cron: must be printable ASCII fields separated by single spaces (no tabs or newlines)")
    parts = expression.split()
    if len(parts) not in (6, 7):
        raise ValueError(f"cron: has {len(parts)} fields, not 6 or 7 ({' '.join(FIELDS)})")
    seconds, minutes, hours, days, months, weekdays, *year = parts
    allowed_seconds = ("*",) if strict else ("*", "0")
    if seconds not in allowed_seconds:
        raise ValueError(
            f"seconds: {seconds!r} is not supported (only {' or '.join(map(repr, allowed_seconds))}: "
            "the window is whole minutes, and the rule reference's field table allows only '*')"
        )
    if strict and (days == "?") == (weekdays == "?"):
        raise ValueError(
            f"day-of-month, day-of-week: exactly one must be '?' (the one the window does not constrain), "
            f"got {days!r} and {weekdays!r}"
        )
    year_values = _field(year[0], "year", 1970, 2199, strict=strict) if year and year[0] != "*" else None
    return Cron(
        minutes=tuple(sorted(_field(minutes, "minutes", 0, 59, strict=strict) or ())),
        hours=tuple(sorted(_field(hours, "hours", 0, 23, strict=strict) or ())),
        days=_field(days, "day-of-month", 1, 31, strict=strict),
        months=_field(months, "month", 1, 12, MONTH_NAMES, strict) or frozenset(),
        weekdays=_field(weekdays, "day-of-week", 1, 7, DAY_NAMES, strict),
        years=year_values,
    )


def cron_problem(expression: object) -> str | None:
    """Why the environment configuration refuses `expression` as a change
    window's cron (the strict reading), or None. The reason names the field."""
    if not isinstance(expression, str):
        return f"cron: must be a string, got {type(expression).__name__}"
    try:
        parse_cron(expression, strict=True)
    except ValueError as error:
        return str(error)
    return None


@functools.lru_cache(maxsize=1)
def _iana_names() -> frozenset[str]:
    """Area/Location names zoneinfo knows (no abbreviations such as EST)."""
    return frozenset(name for name in available_timezones() if "/" in name)


def time_zone_problem(name: object) -> str | None:
    """Why `name` is not a DeploymentWindow TimeZone this project reads, or
    None: `UTC`, `UTC+hh:mm` / `UTC-hh:mm` within OFFSET_RANGE, or an IANA name."""
    if not isinstance(name, str):
        return f"must be a string, got {type(name).__name__}"
    if name == "UTC":
        return None
    offset = _OFFSET.fullmatch(name)
    if offset:
        sign, hours, minutes = offset.groups()
        span = timedelta(hours=int(hours), minutes=int(minutes)) * (1 if sign == "+" else -1)
        if int(minutes) > 59 or not OFFSET_RANGE[0] <= span <= OFFSET_RANGE[1]:
            return f"{name!r} is not an offset from UTC-12:00 to UTC+14:00 (minutes 00-59)"
        return None
    if name not in _iana_names():
        return (
            f"{name!r} is not 'UTC', 'UTC+05:30' (UTC-12:00 to UTC+14:00) or an IANA name such as "
            "'Europe/Berlin' (abbreviations such as CST are ambiguous)"
        )
    return None


def parse_time_zone(name: str | None) -> tzinfo:
    """`UTC`, `UTC+hh:mm` / `UTC-hh:mm`, or an IANA name; absent is UTC."""
    if name is None or not name.strip():
        return UTC
    problem = time_zone_problem(name)
    if problem:
        raise ValueError(f"time zone: {problem}")
    if name == "UTC":
        return UTC
    offset = _OFFSET.fullmatch(name)
    if offset:
        sign, hours, minutes = offset.groups()
        span = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(span if sign == "+" else -span)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:  # listed, yet unreadable: a broken tz database
        raise ValueError(f"time zone: {name!r} cannot be read from this system's time zone database") from error


def window(cron: str, time_zone: str | None = "UTC") -> Window:
    return Window(parse_cron(cron), parse_time_zone(time_zone))


def is_open(cron: str, time_zone: str | None, at: datetime) -> bool:
    """Whether the window is open at `at` (an aware datetime)."""
    return window(cron, time_zone).is_open(at)


def next_opening(cron: str, time_zone: str | None, after: datetime) -> datetime | None:
    """The first moment at or after `after` the window is open (in UTC), or
    None if it does not open within HORIZON."""
    return window(cron, time_zone).next_opening(after)
