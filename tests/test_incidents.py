"""The incident ledger (incident_recorder/handler.py) on moto, with the
alarm state-change event in its documented shape, delivered in order, out of
order and twice; and the DORA metrics it feeds (an incident spanning two
deployments, an incident still open), against hand-computed values."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from environments import load
from functions.shared import dora, records
from tests.support import events
from tests.support.tables import all_items, create_contract_table

NAMES = load("test").names
ALARM = NAMES.health_alarm("production")


def change(value: str, at: str, previous: str, previous_at: str) -> dict:
    event = events.alarm(ALARM, value, at)
    event["detail"]["previousState"].update({"value": previous, "timestamp": previous_at})
    return event


OPENED = change("ALARM", "2026-11-22T05:00:00.123+0000", "OK", "2026-11-21T00:00:00.000+0000")
CLOSED = change("OK", "2026-11-22T05:42:10.900+0000", "ALARM", "2026-11-22T05:00:00.123+0000")


@pytest.fixture
def recorder(aws_credentials, monkeypatch):
    from functions.incident_recorder import handler as incidents

    monkeypatch.setenv("TABLE_NAME", NAMES.deployments_table)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("RECORD_TTL_DAYS", "400")
    monkeypatch.setenv("ALARM_TARGETS", json.dumps({ALARM: "production", NAMES.health_alarm("staging"): "staging"}))
    with mock_aws():
        incidents.config.cache_clear()
        incidents.store.cache_clear()
        create_contract_table(boto3.client("dynamodb"), NAMES.deployments_table)
        yield incidents
        incidents.config.cache_clear()
        incidents.store.cache_clear()


def ledger_incidents():
    return [i for i in all_items(NAMES.deployments_table) if i[records.KEY].startswith(records.INCIDENT_PREFIX)]


@pytest.mark.parametrize("order", [(OPENED, CLOSED), (CLOSED, OPENED), (OPENED, CLOSED, OPENED, CLOSED)])
def test_one_incident_whatever_the_order_or_the_duplicates(recorder, order):
    for event in order:
        assert recorder.handler(copy.deepcopy(event))["result"] == "recorded"
    (incident,) = ledger_incidents()
    assert incident[records.KEY] == f"incident#{ALARM}#2026-11-22T05:00:00Z"
    assert (incident["status"], incident[records.INDEX_SORT], incident["endTime"]) == (
        "RESOLVED",
        "2026-11-22T05:00:00Z",
        "2026-11-22T05:42:10Z",
    )
    assert (incident["target"], incident[records.INDEX_PARTITION]) == ("production", "test")


def test_an_open_incident_has_no_end(recorder):
    recorder.handler(copy.deepcopy(OPENED))
    (incident,) = ledger_incidents()
    assert incident["status"] == "OPEN" and "endTime" not in incident


@pytest.mark.parametrize(
    "event, result",
    [
        (change("OK", "2026-11-22T05:00:00Z", "INSUFFICIENT_DATA", "2026-11-22T04:00:00Z"), "ignored"),
        (events.alarm("someone-elses-alarm", "ALARM"), "ignored"),
        (events.without(OPENED, "detail", "state"), "rejected"),
        ({"detail-type": "CodePipeline Pipeline Execution State Change"}, "rejected"),
    ],
)
def test_other_changes_are_ignored_or_rejected_without_a_record(recorder, event, result):
    assert recorder.handler(event)["result"] == result
    assert ledger_incidents() == []


BASE = datetime(2026, 11, 1, tzinfo=UTC)


def at(day: float, hour: float = 0) -> str:
    return records.format_time(BASE + timedelta(days=day, hours=hour))


def deployed(key: str, day: float, start_hour: float, end_hour: float) -> dict:
    return {
        records.KEY: key,
        records.INDEX_PARTITION: "test",
        records.INDEX_SORT: at(day, start_hour),
        "status": "SUCCEEDED",
        "executionType": "STANDARD",
        "succeededStages": {"TestEnv", "StagingEnv", "ProductionEnv"},
        "endTime": at(day, end_hour),
    }


def incident(day: float, hour: float, target: str = "production", end: str | None = None) -> dict:
    item = {
        records.KEY: f"incident#kiro-pipeline-test-{target}-health#{at(day, hour)}",
        records.INDEX_PARTITION: "test",
        records.INDEX_SORT: at(day, hour),
        "target": target,
        "status": "RESOLVED" if end else "OPEN",
    }
    if end:
        item["endTime"] = end
    return item


def test_an_incident_spanning_two_deployments_and_one_still_open():
    items = [
        deployed("dA", 14, 9, 10),
        # Production unhealthy from day 14 11:00 to day 15 09:00: dA's change failed.
        incident(14, 11, end=at(15, 9)),
        deployed("dB", 14, 20, 21),  # shipped during the incident: a hotfix, rework
        incident(14, 12, target="staging", end=at(14, 13)),  # staging's health: not production's
        deployed("dC", 20, 10, 11),
        incident(20, 12),  # still open: a failure with no recovery yet
    ]
    m = {x.name: x for x in dora.measure(items, BASE, BASE + timedelta(days=30))}
    assert m["DeploymentFrequency"].rests_on == 3
    # dA and dC failed of 3 deployments.
    assert (m["ChangeFailureRate"].value, m["ChangeFailureRate"].band) == (0.6667, "low")
    # dA recovered when the alarm returned to OK: 22 h. dC has not recovered.
    recovery = m["FailedDeploymentRecoveryTime"]
    assert (recovery.value, recovery.band, recovery.rests_on) == (79200, "high", 2)
    # dB, made during the incident, is the one rework of 3 deployments.
    assert m["DeploymentReworkRate"].value == 0.3333
    assert [f.execution for f in dora.failures(items)] == ["dA", "dC"]


def test_an_incident_is_blamed_on_what_reached_production_not_on_what_merely_started():
    """(Found in review.) ex2 started before the incident but is still in TestEnv."""
    in_test = {
        records.KEY: "ex2",
        records.INDEX_PARTITION: "test",
        records.INDEX_SORT: at(3, 2.5),
        "status": "IN_PROGRESS",
        "executionType": "STANDARD",
        "stageStarts": {f"TestEnv@{at(3, 2.6)}"},
    }
    items = [deployed("ex1", 3, 1, 2), in_test, incident(3, 3, end=at(3, 4))]
    assert [f.execution for f in dora.failures(items)] == ["ex1"]
    m = {x.name: x for x in dora.measure(items, BASE, BASE + timedelta(days=30))}
    assert (m["ChangeFailureRate"].value, m["ChangeFailureRate"].rests_on) == (1.0, 1)


def test_overlapping_incidents_after_one_change_recover_when_the_last_ends():
    """(Found in review.) Two alarms' windows, 03:00-09:00 and 03:05-03:10."""
    second = incident(3, 3 + 5 / 60, end=at(3, 3 + 10 / 60))
    second[records.KEY] += "-other-alarm"
    items = [deployed("ex1", 3, 1, 2), incident(3, 3, end=at(3, 9)), second]
    (failure,) = dora.failures(items)
    assert (failure.at, failure.recovered) == (BASE + timedelta(days=3, hours=3), BASE + timedelta(days=3, hours=9))
    m = {x.name: x for x in dora.measure(items, BASE, BASE + timedelta(days=30))}
    assert m["FailedDeploymentRecoveryTime"].value == 21600
    still_open = incident(3, 3 + 5 / 60)
    still_open[records.KEY] += "-other-alarm"
    (failure,) = dora.failures([deployed("ex1", 3, 1, 2), incident(3, 3, end=at(3, 9)), still_open])
    assert failure.recovered is None  # one of them is still open


def test_a_production_stage_start_is_when_a_change_reached_production():
    during_bake = {
        records.KEY: "ex3",
        records.INDEX_PARTITION: "test",
        records.INDEX_SORT: at(5, 1),
        "status": "IN_PROGRESS",
        "executionType": "STANDARD",
        "stageStarts": {f"TestEnv@{at(5, 1.1)}", f"ProductionEnv@{at(5, 2)}"},
    }
    items = [deployed("ex1", 3, 1, 2), during_bake, incident(5, 2.5, end=at(5, 3))]
    assert [f.execution for f in dora.failures(items)] == ["ex3"]  # the alarm fired during its bake


@pytest.mark.parametrize(
    "events_, status",
    [
        (
            [OPENED, change("INSUFFICIENT_DATA", "2026-11-22T05:30:00Z", "ALARM", "2026-11-22T05:00:00.123+0000")],
            "RESOLVED",
        ),
        ([OPENED, change("ALARM", "2026-11-22T05:10:00Z", "ALARM", "2026-11-22T05:00:00.123+0000")], "OPEN"),
    ],
)
def test_leaving_alarm_for_no_data_ends_it_and_a_renotification_opens_nothing_new(recorder, events_, status):
    for event in events_:
        recorder.handler(copy.deepcopy(event))
    (incident_,) = ledger_incidents()
    assert incident_["status"] == status


# The alarm leaves ALARM for no data (the probe's status stopped arriving),
# then later returns to OK from INSUFFICIENT_DATA.
NO_DATA = change("INSUFFICIENT_DATA", "2026-11-22T05:30:00.500+0000", "ALARM", "2026-11-22T05:00:00.123+0000")
OK_AFTER_NO_DATA = change("OK", "2026-11-22T06:10:00.000+0000", "INSUFFICIENT_DATA", "2026-11-22T05:30:00.500+0000")


@pytest.mark.parametrize(
    "order",
    [
        (OPENED, NO_DATA),
        (NO_DATA, OPENED),  # the end before the start
        (OPENED, NO_DATA, NO_DATA, OPENED),  # duplicates
        (OPENED, NO_DATA, OK_AFTER_NO_DATA),  # the later OK neither reopens nor closes again
        (OK_AFTER_NO_DATA, NO_DATA, OPENED, OK_AFTER_NO_DATA),
    ],
)
def test_leaving_alarm_for_no_data_ends_the_incident_with_its_end_unknown(recorder, order):
    for event in order:
        recorder.handler(copy.deepcopy(event))
    (incident_,) = ledger_incidents()
    assert incident_[records.KEY] == f"incident#{ALARM}#2026-11-22T05:00:00Z"
    assert (incident_["status"], incident_["endTime"], incident_["endReason"]) == (
        "RESOLVED",
        "2026-11-22T05:30:00Z",
        "INSUFFICIENT_DATA",
    )


def test_an_ok_end_says_so(recorder):
    for event in (CLOSED, OPENED, CLOSED):
        recorder.handler(copy.deepcopy(event))
    (incident_,) = ledger_incidents()
    assert (incident_["status"], incident_["endTime"], incident_["endReason"]) == (
        "RESOLVED",
        "2026-11-22T05:42:10Z",
        "OK",
    )


def test_the_ok_after_no_data_is_ignored_and_records_nothing(recorder):
    assert recorder.handler(copy.deepcopy(OK_AFTER_NO_DATA))["result"] == "ignored"
    assert ledger_incidents() == []


def unknown_end(item: dict) -> dict:
    return {**item, "endReason": "INSUFFICIENT_DATA"}


def test_a_recovery_whose_end_is_unknown_is_counted_and_flagged():
    items = [
        deployed("dA", 3, 1, 2),
        # Production unhealthy from day 3 03:00 until its alarm lost its data at 05:00.
        unknown_end(incident(3, 3, end=at(3, 5))),
        deployed("dB", 6, 1, 2),
        {**incident(6, 3, end=at(6, 4)), "endReason": "OK"},
        deployed("dC", 9, 1, 2),
        incident(9, 3, end=at(9, 3.5)),  # written before endReason existed: an OK end
    ]
    m = {x.name: x for x in dora.measure(items, BASE, BASE + timedelta(days=30))}
    recovery = m["FailedDeploymentRecoveryTime"]
    # Recoveries of 2 h, 1 h and 30 min: median 1 h (high: not under an hour); p90 2 h.
    assert (recovery.value, recovery.band, recovery.rests_on) == (3600, "high", 3)
    assert recovery.detail == {"median": 3600, "p90": 7200, "endedUnknown": 1}
    assert [(f.execution, f.end_unknown) for f in dora.failures(items)] == [
        ("dA", True),
        ("dB", False),
        ("dC", False),
    ]


def test_overlapping_incidents_take_the_flag_of_the_one_that_ends_last():
    last_unknown = unknown_end(incident(3, 3 + 5 / 60, end=at(3, 9)))
    last_unknown[records.KEY] += "-other-alarm"
    items = [deployed("ex1", 3, 1, 2), incident(3, 3, end=at(3, 4)), last_unknown]
    (failure,) = dora.failures(items)
    assert (failure.recovered, failure.end_unknown) == (BASE + timedelta(days=3, hours=9), True)
    first_unknown = unknown_end(incident(3, 3, end=at(3, 4)))
    last_ok = incident(3, 3 + 5 / 60, end=at(3, 9))
    last_ok[records.KEY] += "-other-alarm"
    (failure,) = dora.failures([deployed("ex1", 3, 1, 2), first_unknown, last_ok])
    assert (failure.recovered, failure.end_unknown) == (BASE + timedelta(days=3, hours=9), False)
    m = {
        x.name: x
        for x in dora.measure([deployed("ex1", 3, 1, 2), first_unknown, last_ok], BASE, BASE + timedelta(days=30))
    }
    assert m["FailedDeploymentRecoveryTime"].detail == {"median": 21600, "p90": 21600, "endedUnknown": 0}


def test_a_state_cloudwatch_does_not_have_closes_nothing(recorder):
    """Only OK and INSUFFICIENT_DATA end an incident; a hand-made event with
    any other state after ALARM is ignored, not taken as an end."""
    recorder.handler(copy.deepcopy(OPENED))
    made_up = change("RECOVERED", "2026-11-22T05:10:00Z", "ALARM", "2026-11-22T05:00:00.123+0000")
    assert recorder.handler(made_up)["result"] == "ignored"
    (incident_,) = ledger_incidents()
    assert incident_["status"] == "OPEN" and "endTime" not in incident_
