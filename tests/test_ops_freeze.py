"""`python -m ops freeze`: the calendar it writes and every bad input, on
moto (ledger, topic) with the model's Change Calendar fake behind SSM (moto
refuses TEXT documents) and the model behind CodePipeline."""

from __future__ import annotations

import contextlib
import datetime as dt
import io

import boto3
import pytest
from moto import mock_aws

from environments import load
from functions.shared import records
from functions.shared.contract import calendar
from ops import cli, common
from ops.commands import freeze
from tests.codepipeline_model.calendar import CalendarSSM
from tests.support.tables import all_items, create_contract_table

UTC = dt.UTC
NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
NAMES = load("production").names


@pytest.fixture
def ops(aws_credentials, monkeypatch):
    with mock_aws():
        ssm = CalendarSSM(lambda: NOW)
        ssm.create_document(
            Name=NAMES.freeze_calendar, Content=calendar.empty(), DocumentType="ChangeCalendar", DocumentFormat="TEXT"
        )
        create_contract_table(boto3.client("dynamodb"), NAMES.deployments_table)
        boto3.client("sns").create_topic(Name=NAMES.topic("deployments"))

        class Session:
            def client(self, service, **kwargs):
                return ssm if service == "ssm" else boto3.client(service, region_name="us-east-1")

        monkeypatch.setattr(common, "session", lambda region, profile: Session())
        monkeypatch.setattr(freeze, "now", lambda: NOW)

        def run(*argv: str, env: str = "production") -> tuple[int, str]:
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                code = cli.main(["freeze", env, *argv])
            return code, out.getvalue()

        run.ssm = ssm
        yield run


def add(ops, start: str, end: str, reason: str = "Holidays") -> tuple[int, str]:
    return ops("add", "--from", start, "--to", end, "--reason", reason)


def test_a_freeze_is_written_as_a_utc_event_listed_and_recorded(ops):
    code, out = add(ops, "2026-12-24", "2026-12-27T00:00+01:00", "Christmas, and a launch; quietly")
    assert code == 0, out
    content = ops.ssm.get_document(Name=NAMES.freeze_calendar)["Content"]
    assert "DTSTART:20261224T000000Z\r\nDTEND:20261226T230000Z\r\n" in content
    assert "SUMMARY:Christmas\\, and a launch\\; quietly\r\n" in content
    code, out = ops("list")
    assert code == 0 and "2026-12-24 00:00 to 2026-12-26 23:00 UTC  Christmas, and a launch; quietly" in out
    assert "OPEN, changes at 2026-12-24T00:00:00Z" in out
    (run,) = [i for i in all_items(NAMES.deployments_table) if i[records.KEY].startswith(records.RUN_PREFIX)]
    assert run[records.COMMAND] == "freeze add"


@pytest.mark.parametrize(
    ("start", "end", "reason", "says"),
    [
        ("2026-12-27", "2026-12-24", "x", ["--to (2026-12-24 00:00Z) must be after --from (2026-12-27 00:00Z)"]),
        ("2026-11-20", "2026-11-21", "x", ["the freeze would end in the past"]),
        ("2026-11-20", "2026-12-05", "x", ["--from lies in the past (2026-11-20 00:00Z): use --from now"]),
        ("2026-12-24T10:00", "2026-12-25", "x", ["--from: '2026-12-24T10:00' has no time zone"]),
        ("tomorrow", "2026-12-25", "x", ["--from: 'tomorrow' is not a time"]),
        ("2026-12-02", "2027-01-05", "x", ["CodePipeline does not resume a transition disabled for more than 30 days"]),
        # Every problem at once.
        ("2026-11-27", "2026-11-24", "x", ["must be after --from", "the freeze would end in the past"]),
    ],
)
def test_a_bad_freeze_is_refused_with_every_problem_and_nothing_written(ops, start, end, reason, says):
    code, out = add(ops, start, end, reason)
    assert code == 2, out
    assert all(s in out for s in says), out
    assert "Traceback" not in out
    assert len(ops.ssm.documents[NAMES.freeze_calendar]["versions"]) == 1


def test_an_overlapping_freeze_is_refused_naming_the_other(ops):
    assert add(ops, "2026-12-24", "2026-12-27", "Christmas")[0] == 0
    code, out = add(ops, "2026-12-26", "2026-12-28", "Inventory")
    assert code == 2 and "it overlaps freeze" in out and "Christmas" in out


def test_freezes_that_touch_count_together_against_the_thirty_days(ops):
    assert add(ops, "2026-12-02", "2026-12-20")[0] == 0
    code, out = add(ops, "2026-12-20", "2027-01-05")
    assert code == 2 and "34 days (2026-12-02 00:00 to 2027-01-05 00:00 UTC; at most 29 days 23 h)" in out


def test_freezes_less_than_half_an_hour_apart_are_one_hold():
    """The gate holds 2 minutes ahead of a freeze and does not let go across a
    shorter gap: a freeze one minute after another is the same hold."""
    from ops import freezes as checks

    cal = calendar.Calendar()
    cal.freezes.append(calendar.Freeze("a", NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=21), "a"))
    later = NOW + dt.timedelta(days=21, minutes=1)
    with pytest.raises(checks.CalendarError, match="39 days"):
        checks.add(cal, later, later + dt.timedelta(days=19), "b", NOW)
    # With half an hour between them, each is a hold of its own.
    apart = NOW + dt.timedelta(days=21, minutes=30)
    assert checks.add(cal, apart, apart + dt.timedelta(days=19), "b", NOW).reason == "b"


def test_an_event_written_another_way_survives_every_write_as_it_was(ops):
    """A yearly freeze made in the console, with its own time zone, and a
    to-do: `add` and `remove` rewrite only the events ops wrote."""
    foreign = (
        "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:yearly-close\r\nDTSTART;TZID=Europe/Berlin:20261229T000000\r\n"
        "DTEND;TZID=Europe/Berlin:20270102T000000\r\nRRULE:FREQ=YEARLY\r\nSUMMARY:Year-end\r\nEND:VEVENT\r\n"
    )
    content = calendar.empty().replace("END:VCALENDAR", foreign + "END:VCALENDAR")
    ops.ssm.update_document(Name=NAMES.freeze_calendar, Content=content, DocumentVersion="1")
    ops.ssm.update_document_default_version(Name=NAMES.freeze_calendar, DocumentVersion="2")
    code, out = add(ops, "2026-12-24", "2026-12-27")
    assert code == 0 and "1 event(s) not written by ops" in out
    (mine,) = calendar.parse(ops.ssm.get_document(Name=NAMES.freeze_calendar)["Content"]).freezes
    assert ops("remove", "--id", mine.id, "--reason", "cancelled")[0] == 0
    after = ops.ssm.get_document(Name=NAMES.freeze_calendar)["Content"]
    assert foreign in after and "RRULE:FREQ=YEARLY" in after and mine.id not in after


def test_an_environment_that_does_not_respect_freezes_says_where_to_turn_them_on(ops):
    code, out = ops("list", env="test")
    assert code == 2 and "respect_freezes=True" in out and "environments/test.py" in out


def test_removing_an_unknown_freeze_names_the_known_ones(ops):
    add(ops, "2026-12-24", "2026-12-27")
    known = calendar.parse(ops.ssm.get_document(Name=NAMES.freeze_calendar)["Content"]).freezes[0].id
    code, out = ops("remove", "--id", "nope", "--reason", "typo")
    assert code == 2 and known in out
    code, out = ops("remove", "--id", known, "--reason", "cancelled")
    assert code == 0 and calendar.parse(ops.ssm.get_document(Name=NAMES.freeze_calendar)["Content"]).freezes == []


def test_lifting_when_no_freeze_is_in_force_lifts_nothing(ops):
    code, out = ops("lift", "--reason", "hotfix")
    assert code == 1 and "no freeze is in force" in out
    assert [
        i for i in all_items(NAMES.deployments_table) if i[records.KEY].startswith(records.FREEZE_LIFT_PREFIX)
    ] == []


def test_a_calendar_changed_by_someone_else_meanwhile_is_not_overwritten(ops, monkeypatch):
    real = ops.ssm.get_document

    def then_someone_writes(**params):
        found = real(**params)
        latest = str(len(ops.ssm.documents[NAMES.freeze_calendar]["versions"]))
        ops.ssm.update_document(Name=NAMES.freeze_calendar, Content=calendar.empty() + " ", DocumentVersion=latest)
        return found

    monkeypatch.setattr(ops.ssm, "get_document", then_someone_writes)
    code, out = add(ops, "2026-12-24", "2026-12-27")
    assert code == 1 and "changed while this ran; run the command again" in out
