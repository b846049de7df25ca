"""The DeploymentWindow reading (functions/shared/window.py): when a window
is open and when it next opens, with literal expected times, across daylight
saving, fixed offsets, crons that never match and crons it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.shared import window
from functions.shared.window import is_open, next_opening, parse_cron, parse_time_zone

# Every minute of 09:00-16:59, Monday to Thursday (the stack's default window).
MON_THU = "* * 9-16 ? * MON-THU *"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


class TestTheDefaultWindowInUtc:
    def test_thursday_evening_waits_for_monday_morning(self):
        # 2026-11-19 is a Thursday; 2026-11-23 the Monday after.
        assert next_opening(MON_THU, "UTC", utc(2026, 11, 19, 17, 5)) == utc(2026, 11, 23, 9, 0)

    def test_the_weekend_waits_for_monday_morning(self):
        assert next_opening(MON_THU, "UTC", utc(2026, 11, 21, 12, 0)) == utc(2026, 11, 23, 9, 0)

    def test_an_open_window_opens_at_once(self):
        moment = utc(2026, 11, 19, 16, 59, 30)
        assert is_open(MON_THU, "UTC", moment)
        assert next_opening(MON_THU, "UTC", moment) == moment

    def test_before_the_window_the_same_morning(self):
        assert next_opening(MON_THU, "UTC", utc(2026, 11, 24, 6, 30)) == utc(2026, 11, 24, 9, 0)

    @pytest.mark.parametrize(
        ("moment", "open_"),
        [
            (utc(2026, 11, 19, 9, 0), True),  # Thursday, first minute
            (utc(2026, 11, 19, 16, 59), True),  # Thursday, last minute
            (utc(2026, 11, 19, 17, 0), False),
            (utc(2026, 11, 19, 8, 59, 59), False),
            (utc(2026, 11, 20, 10, 0), False),  # Friday
            (utc(2026, 11, 22, 10, 0), False),  # Sunday
            (utc(2026, 11, 23, 9, 0), True),  # Monday
        ],
    )
    def test_which_minutes_are_open(self, moment, open_):
        assert is_open(MON_THU, "UTC", moment) is open_

    def test_numeric_days_are_sunday_first(self):
        # 2-5 is MON-THU when SUN is 1 (the rule reference: "1-7 or SUN-SAT").
        assert next_opening("* * 9-16 ? * 2-5 *", "UTC", utc(2026, 11, 19, 17, 5)) == utc(2026, 11, 23, 9, 0)

    def test_the_seconds_field_may_be_zero_as_the_docs_example_writes(self):
        assert next_opening("0 * 9-16 ? * MON-THU *", "UTC", utc(2026, 11, 19, 17, 5)) == utc(2026, 11, 23, 9, 0)

    def test_six_fields_without_a_year(self):
        assert next_opening("* * 9-16 ? * mon-thu", "UTC", utc(2026, 11, 19, 17, 5)) == utc(2026, 11, 23, 9, 0)


class TestDaylightSavingInBerlin:
    """Europe/Berlin: CET (UTC+1) to CEST (UTC+2) on 2026-03-29 at 02:00;
    back on 2026-10-25 at 03:00."""

    def test_the_window_follows_local_time_into_summer(self):
        weekdays = "* * 9-16 ? * MON-FRI *"
        # Friday 17:00 UTC (18:00 CET) -> Monday 09:00 CEST, which is 07:00 UTC.
        assert next_opening(weekdays, "Europe/Berlin", utc(2026, 3, 27, 17, 0)) == utc(2026, 3, 30, 7, 0)
        # The Friday before, still in winter: 09:00 CET is 08:00 UTC.
        assert next_opening(weekdays, "Europe/Berlin", utc(2026, 3, 20, 17, 0)) == utc(2026, 3, 23, 8, 0)

    def test_the_window_follows_local_time_into_winter(self):
        weekdays = "* * 9-16 ? * MON-FRI *"
        # Friday 2026-10-23 16:00 UTC (18:00 CEST) -> Monday 09:00 CET, which is 08:00 UTC.
        assert next_opening(weekdays, "Europe/Berlin", utc(2026, 10, 23, 16, 0)) == utc(2026, 10, 26, 8, 0)

    def test_a_local_time_that_does_not_exist_is_skipped(self):
        # 02:30 does not exist on 2026-03-29 in Berlin: the next 02:30 is the
        # 30th, 02:30 CEST = 00:30 UTC.
        assert next_opening("* 30 2 ? * * *", "Europe/Berlin", utc(2026, 3, 28, 23, 0)) == utc(2026, 3, 30, 0, 30)

    def test_a_local_time_that_occurs_twice_is_its_first_occurrence(self):
        half_past_two = "* 30 2 ? * * *"
        # 02:30 on 2026-10-25 happens at 00:30 UTC (CEST) and again at 01:30 UTC (CET).
        assert next_opening(half_past_two, "Europe/Berlin", utc(2026, 10, 24, 23, 0)) == utc(2026, 10, 25, 0, 30)
        assert is_open(half_past_two, "Europe/Berlin", utc(2026, 10, 25, 0, 30))
        assert not is_open(half_past_two, "Europe/Berlin", utc(2026, 10, 25, 1, 30))
        # After the first occurrence, the next is the day after: 02:30 CET = 01:30 UTC.
        assert next_opening(half_past_two, "Europe/Berlin", utc(2026, 10, 25, 0, 45)) == utc(2026, 10, 26, 1, 30)


class TestFixedOffsets:
    def test_india_standard_time(self):
        # Monday 09:00 at UTC+05:30 is 03:30 UTC.
        assert next_opening("0 0 9 ? * MON *", "UTC+05:30", utc(2026, 11, 19, 17, 5)) == utc(2026, 11, 23, 3, 30)
        assert is_open("* * 9-16 ? * MON-THU *", "UTC+05:30", utc(2026, 11, 23, 3, 30))
        assert not is_open("* * 9-16 ? * MON-THU *", "UTC+05:30", utc(2026, 11, 23, 3, 29))

    def test_a_negative_offset_crosses_midnight(self):
        # Thursday 22:00 at UTC-03:00 is Friday 01:00 UTC.
        assert next_opening("* 0 22 ? * THU *", "UTC-03:00", utc(2026, 11, 19, 0, 0)) == utc(2026, 11, 20, 1, 0)

    def test_no_time_zone_is_utc(self):
        assert next_opening(MON_THU, None, utc(2026, 11, 19, 17, 5)) == utc(2026, 11, 23, 9, 0)


class TestSteps:
    def test_every_quarter_hour(self):
        assert next_opening("* */15 9 ? * * *", "UTC", utc(2026, 11, 19, 9, 1)) == utc(2026, 11, 19, 9, 15)

    def test_a_start_and_a_step(self):
        assert next_opening("* 5/20 9 ? * * *", "UTC", utc(2026, 11, 19, 9, 26)) == utc(2026, 11, 19, 9, 45)

    def test_a_range_with_a_step_and_a_list(self):
        cron = "* 0 1-9/4,20 ? * * *"  # 01:00, 05:00, 09:00, 20:00
        assert next_opening(cron, "UTC", utc(2026, 11, 19, 5, 1)) == utc(2026, 11, 19, 9, 0)
        assert next_opening(cron, "UTC", utc(2026, 11, 19, 9, 1)) == utc(2026, 11, 19, 20, 0)

    def test_a_range_that_wraps(self):
        cron = "* * 22-1 ? * * *"
        assert next_opening(cron, "UTC", utc(2026, 11, 19, 2, 0)) == utc(2026, 11, 19, 22, 0)
        assert is_open(cron, "UTC", utc(2026, 11, 19, 0, 30))

    def test_day_of_month_and_month_names(self):
        assert next_opening("* 0 12 1 JAN,JUL ? *", "UTC", utc(2026, 1, 2)) == utc(2026, 7, 1, 12, 0)


class TestWindowsThatNeverOpen:
    def test_february_the_thirtieth(self):
        assert next_opening("* * 9-16 30 FEB ? *", "UTC", utc(2026, 1, 1)) is None

    def test_a_year_that_has_passed(self):
        assert next_opening("* * * ? * * 2020", "UTC", utc(2026, 1, 1)) is None

    def test_beyond_the_horizon(self):
        assert next_opening("* * * ? * * 2028", "UTC", utc(2026, 1, 1)) is None
        assert next_opening("* * * ? * * 2026", "UTC", utc(2025, 12, 31)) == utc(2026, 1, 1)

    def test_the_search_goes_by_days_hours_and_minutes_not_minute_by_minute(self, monkeypatch):
        calls = []
        instant = window._instant
        monkeypatch.setattr(window, "_instant", lambda *a: calls.append(a) or instant(*a))
        assert next_opening("* * * 30 FEB ? *", "UTC", utc(2026, 1, 1)) is None
        assert calls == []  # no day matched: no time was converted
        # Once a year, searched from the day after: one candidate.
        assert next_opening("* 0 12 1 JAN ? *", "UTC", utc(2026, 1, 2)) == utc(2027, 1, 1, 12, 0)
        assert len(calls) == 1


class TestRefused:
    @pytest.mark.parametrize(
        ("cron", "field"),
        [
            ("* * * L * ? *", "day-of-month"),
            ("* * * 15W * ? *", "day-of-month"),
            ("* * * ? * 6L *", "day-of-week"),
            ("* * * ? * 6#3 *", "day-of-week"),
            ("* * * ? * MON#1 *", "day-of-week"),
            ("5 * 9-16 ? * * *", "seconds"),
            ("0/15 * 9-16 ? * * *", "seconds"),
            ("* 60 * ? * * *", "minutes"),
            ("* * 24 ? * * *", "hours"),
            ("* ? * ? * * *", "minutes"),
            ("* * * 0 * ? *", "day-of-month"),
            ("* * * ? 13 * *", "month"),
            ("* * * ? FOO * *", "month"),
            ("* * * ? * 8 *", "day-of-week"),
            ("* * * ? * FUN *", "day-of-week"),
            ("* * * ? * * 1969", "year"),
            ("* */0 * ? * * *", "minutes"),
            ("* 5/ * ? * * *", "minutes"),
            ("* * 9-16 ? *", "cron"),
            ("* * 9-16 ? * * * *", "cron"),
        ],
    )
    def test_a_cron_it_cannot_read_names_the_field(self, cron, field):
        with pytest.raises(ValueError, match=f"^{field}: "):
            parse_cron(cron)

    @pytest.mark.parametrize("name", ["Mars/Olympus_Mons", "UTC+15:00", "UTC+05:75", "CET+1", "../etc/passwd"])
    def test_a_time_zone_it_cannot_read(self, name):
        with pytest.raises(ValueError, match="^time zone: "):
            parse_time_zone(name)

    def test_a_naive_moment_is_refused(self):
        with pytest.raises(ValueError, match="no time zone"):
            next_opening(MON_THU, "UTC", datetime(2026, 11, 19, 17, 5))


def test_the_time_zones_it_reads():
    moment = utc(2026, 7, 1, 12, 0)
    assert parse_time_zone("UTC").utcoffset(moment) == timedelta(0)
    assert parse_time_zone("UTC+05:30").utcoffset(moment) == timedelta(hours=5, minutes=30)
    assert parse_time_zone("UTC-03:00").utcoffset(moment) == timedelta(hours=-3)
    assert parse_time_zone("Europe/Berlin").utcoffset(moment) == timedelta(hours=2)
    assert parse_time_zone("").utcoffset(moment) == timedelta(0)
