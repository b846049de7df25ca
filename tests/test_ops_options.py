"""The options several `python -m ops` commands share (ops/commands/options.py):
--days with its bounds and window, and a choice in any case whose help lists
every option. The commands' own tests run them end to end; these hold the
helper to what each command relies on."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from ops.arguments import Parser
from ops.cli import parser as ops_parser
from ops.commands.options import LONGEST_DAYS, add_choice, add_days, days_back


def test_days_takes_whole_days_within_its_bounds_and_its_default():
    parser = Parser(prog="probe")
    add_days(parser, default=7, most=15, help="days of statistics")
    assert parser.parse_args([]).days == 7
    assert parser.parse_args(["--days", "15"]).days == 15
    for refused in ("0", "16", "1.5"):
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args(["--days", refused])
        assert exit_info.value.code == 2, refused
    assert "days of statistics" in parser.format_help()


def test_days_reaches_ten_years_by_default_and_has_no_help_unless_given():
    parser = argparse.ArgumentParser(prog="probe")
    add_days(parser, default=30)
    assert parser.parse_args(["--days", str(LONGEST_DAYS)]).days == LONGEST_DAYS
    assert parser.format_help().rstrip().endswith("--days DAYS")


def test_days_back_ends_now_and_starts_that_many_days_before():
    before = datetime.now(UTC)
    start, end = days_back(3)
    after = datetime.now(UTC)
    assert before <= end <= after
    assert end - start == timedelta(days=3)
    assert end.tzinfo is UTC


def test_a_choice_is_read_in_any_case_and_its_help_lists_every_option():
    parser = argparse.ArgumentParser(prog="probe")
    add_choice(parser, "--status", ("FAILED", "SUCCEEDED"), "record status", "only records of this status")
    add_choice(parser, "source", ("build", "pipeline"), "log source", "whose logs")
    args = parser.parse_args(["PIPELINE", "--status", "failed"])
    assert (args.status, args.source) == ("FAILED", "pipeline")
    text = " ".join(parser.format_help().split())
    assert "--status STATUS only records of this status, in any case: FAILED, SUCCEEDED" in text
    assert "SOURCE whose logs, in any case: build, pipeline" in text


def test_a_choice_outside_the_options_is_a_usage_error_naming_them(capsys):
    parser = Parser(prog="probe")
    add_choice(parser, "--status", ("FAILED", "SUCCEEDED"), "record status", "only records of this status")
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(["--status", "bogus"])
    assert exit_info.value.code == 2
    assert "'bogus' is not a record status: one of FAILED, SUCCEEDED" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "days"),
    [
        (["summary", "test"], 7),
        (["dora", "test"], 30),
        (["alarms", "test"], 7),
        (["dora", "test", "--days", "3650"], 3650),
    ],
)
def test_the_commands_keep_their_days_defaults_and_bounds(argv, days):
    assert ops_parser().parse_args(argv).days == days
