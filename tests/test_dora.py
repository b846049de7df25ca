"""DORA metrics (functions/shared/dora.py, python -m ops dora) on seeded
ledgers whose answers are worked out by hand below, and end to end on moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from environments import load
from functions.shared import dora, records
from ops import cli
from tests.support.tables import seed_ledger

# Records written before v0.19.0 (layout 1): ProductionEnv held the approval
# and the production deploy. Layout 2: ProductionEnv is the approval alone.
ALL_STAGES = {"TestEnv", "StagingEnv", "ProductionEnv"}
ALL_STAGES_V2 = {"TestGate", "TestEnv", "StagingGate", "StagingEnv", "ProductionEnv", "ProductionWindow"}
ALL_STAGES_V2 |= {"ProductionGate", "ProductionDeploy"}


def ledger(base: datetime) -> list[dict]:
    """A month of one environment, times relative to `base` (day 0, 00:00 UTC)."""

    def at(day: float, hour: float = 0) -> str:
        return records.format_time(base + timedelta(days=day, hours=hour))

    def deployed(key, day, hour, author=None, layout=1):
        item = {
            records.KEY: key,
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(day, hour - 1),
            "status": "SUCCEEDED",
            "executionType": "STANDARD",
            "succeededStages": set(ALL_STAGES if layout == 1 else ALL_STAGES_V2),
            "endTime": at(day, hour),
        }
        if layout > 1:
            item["recordLayout"] = layout
        if author is not None:
            item[records.COMMIT_AUTHOR_TIME] = at(*author)
        return item

    return [
        deployed("d0", -11, 12, author=(-11, 10)),  # before the window: not counted
        deployed("d1", 2, 12, author=(2, 10)),  # lead 2 h
        deployed("d2", 5, 12, author=(4, 12)),  # lead 24 h
        # f1 fails deploying production: a change failure; d3 recovers 3 h later (rework).
        {
            records.KEY: "f1",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(6, 11),
            "status": "FAILED",
            "stage": "ProductionEnv",
            "stageStatus": "FAILED",
            "failedAction": "ProductionEnv/DeployProduction",
            "executionType": "STANDARD",
            "succeededStages": {"TestEnv", "StagingEnv"},
            "endTime": at(6, 12),
        },
        # Failures that deployed nothing to production: none is a change failure,
        # a deployment or an attempt.
        {  # failed in staging (an older record)
            records.KEY: "x0",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(7, 11),
            "status": "FAILED",
            "stage": "StagingEnv",
            "stageStatus": "FAILED",
            "executionType": "STANDARD",
            "succeededStages": {"TestEnv"},
            "endTime": at(7, 12),
        },
        {  # rejected at the approval (layout 2: ProductionEnv is the approval alone)
            records.KEY: "x1",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(14, 9),
            "status": "FAILED",
            "stage": "ProductionEnv",
            "stageStatus": "FAILED",
            "failedAction": "ProductionEnv/ApproveProduction",
            "approvedBy": "arn:aws:sts::123456789012:assumed-role/oncall/jane",
            "outcome": "REJECTED",
            "recordLayout": 2,
            "executionType": "STANDARD",
            "succeededStages": {"TestGate", "TestEnv", "StagingGate", "StagingEnv"},
            "endTime": at(14, 10),
        },
        {  # approved, then held by production's incident gate: ProductionEnv passed, nothing deployed
            records.KEY: "x2",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(15, 9),
            "status": "FAILED",
            "stage": "ProductionGate",
            "stageStatus": "FAILED",
            "outcome": "BLOCKED_BY_GATE",
            "recordLayout": 2,
            "executionType": "STANDARD",
            "succeededStages": {
                "TestGate",
                "TestEnv",
                "StagingGate",
                "StagingEnv",
                "ProductionEnv",
                "ProductionWindow",
            },
            "endTime": at(15, 10),
        },
        deployed("d3", 6, 15, author=(6, 14)),  # lead 1 h
        deployed("d4", 10, 12, author=(8, 12)),  # lead 48 h; then rolled back: a change failure
        {
            records.KEY: f"{records.ROLLBACK_PREFIX}ProductionEnv#d4",
            "stage": "ProductionEnv",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(10, 12.5),
            "status": "ROLLBACK_SUCCEEDED",
            "rolledBackExecutionId": "d4",
        },
        {  # the rollback execution: recovery 20 min after the failure (rework)
            records.KEY: "rb1",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(10, 12.6),
            "status": "SUCCEEDED",
            "executionType": "ROLLBACK",
            "succeededStages": {"ProductionEnv"},
            "endTime": at(10, 12 + 50 / 60),
        },
        {  # failed in Build: never deployed, so not a change failure (the Build stage retries)
            records.KEY: "r1",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(12, 1),
            "status": "FAILED",
            "stage": "Build",
            "executionType": "STANDARD",
            "endTime": at(12, 2),
        },
        deployed("d5", 20, 12, layout=2),  # no author time: not in lead time
        {  # stopped before production: not a deployment
            records.KEY: "s1",
            records.INDEX_PARTITION: "test",
            records.INDEX_SORT: at(21, 1),
            "status": "STOPPED",
            "executionType": "STANDARD",
            "succeededStages": {"TestEnv"},
            "endTime": at(21, 2),
        },
        {records.KEY: f"{records.OVERRIDE_PREFIX}ProductionEnv#x", records.INDEX_SORT: at(22), "status": "OVERRIDDEN"},
    ]


BASE = datetime(2026, 11, 1, tzinfo=UTC)
START, END = BASE - timedelta(days=1), BASE + timedelta(days=29)  # 30 days


def by_name(metrics):
    return {m.name: m for m in metrics}


def test_every_metric_against_its_hand_computed_value():
    m = by_name(dora.measure(ledger(BASE), START, END))
    # d1..d5: 5 deployments in 30 days = 0.1667 a day; weekly or better: high.
    assert (m["DeploymentFrequency"].value, m["DeploymentFrequency"].band) == (0.1667, "high")
    assert m["DeploymentFrequency"].rests_on == 5
    # Leads 2 h, 24 h, 1 h, 48 h: median (2 h + 24 h) / 2 = 13 h = 46 800 s (under a day: elite);
    # p90 by nearest rank: the 4th of 4 = 48 h.
    lead = m["LeadTimeForChanges"]
    assert (lead.value, lead.detail["p90"], lead.band, lead.rests_on) == (46800, 172800, "elite", 4)
    # Failures f1 and d4 over 6 attempts (5 deployments and f1): 33.3 %: low.
    cfr = m["ChangeFailureRate"]
    assert (cfr.value, cfr.band, cfr.rests_on) == (0.3333, "low", 6)
    # f1 -> d3: 3 h; d4's rollback -> rb1: 20 min. Median 6 000 s (under a day): high.
    recovery = m["FailedDeploymentRecoveryTime"]
    assert (recovery.value, recovery.detail["p90"], recovery.band, recovery.rests_on) == (6000, 10800, "high", 2)
    # d3 and rb1 were rework, of 6 changes (5 deployments and rb1).
    assert (m["DeploymentReworkRate"].value, m["DeploymentReworkRate"].band) == (0.3333, "n/a")


def test_an_empty_window_measures_nothing_rather_than_zero_risk():
    m = by_name(dora.measure(ledger(BASE), END + timedelta(days=100), END + timedelta(days=130)))
    assert (m["DeploymentFrequency"].value, m["DeploymentFrequency"].band) == (0, "low")
    for name in ("LeadTimeForChanges", "ChangeFailureRate", "FailedDeploymentRecoveryTime", "DeploymentReworkRate"):
        assert (m[name].value, m[name].band, m[name].rests_on) == (None, "n/a", 0), name


def test_a_single_deployment():
    one = [r for r in ledger(BASE) if r[records.KEY] == "d2"]
    m = by_name(dora.measure(one, START, END))
    assert (m["DeploymentFrequency"].value, m["DeploymentFrequency"].band) == (0.0333, "medium")  # monthly
    assert (m["LeadTimeForChanges"].value, m["LeadTimeForChanges"].detail["p90"]) == (86400, 86400)
    assert m["LeadTimeForChanges"].band == "high"  # a day, not under a day
    assert (m["ChangeFailureRate"].value, m["ChangeFailureRate"].band) == (0.0, "elite")


def test_a_failure_just_before_the_window_still_counts_its_recovery_inside_only_if_it_failed_inside():
    items = ledger(BASE)
    m = by_name(dora.measure(items, BASE + timedelta(days=6, hours=13), END))  # after f1 failed, before d3
    assert m["FailedDeploymentRecoveryTime"].rests_on == 1  # only d4's rollback
    assert m["FailedDeploymentRecoveryTime"].value == 1200


@pytest.fixture
def aws(ops_on_moto):
    return ops_on_moto


def test_ops_dora_end_to_end_on_moto(aws, capsys):
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=28)
    seed_ledger(load("test").names, ledger(base))
    assert cli.main(["dora", "test", "--days", "30", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    got = {m["name"]: m for m in report["metrics"]}
    assert got["DeploymentFrequency"]["restsOn"] == 5 and got["DeploymentFrequency"]["band"] == "high"
    assert (got["LeadTimeForChanges"]["median"], got["LeadTimeForChanges"]["p90"]) == (46800, 172800)
    assert (got["ChangeFailureRate"]["value"], got["FailedDeploymentRecoveryTime"]["median"]) == (0.3333, 6000)
    assert cli.main(["dora", "test"]) == 0
    text = capsys.readouterr().out
    assert "LeadTimeForChanges" in text and "median 13:00:00, p90 2 days, 0:00:00" in text and "band elite" in text


@pytest.fixture
def scheduled(aws_credentials, monkeypatch):
    from functions.dora_metrics import handler as dora_schedule

    names = load("test").names
    for key, value in {
        "TABLE_NAME": names.deployments_table,
        "TABLE_INDEX": names.deployments_index,
        "ENVIRONMENT": "test",
        "METRICS_NAMESPACE": "KiroPipeline",
        "WINDOW_DAYS": "30",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        dora_schedule.config.cache_clear()
        dora_schedule.clients.cache_clear()
        seed_ledger(names, ledger(BASE))
        yield dora_schedule
        dora_schedule.config.cache_clear()
        dora_schedule.clients.cache_clear()


def published(name: str, at: datetime) -> list[dict]:
    return boto3.client("cloudwatch").get_metric_statistics(
        Namespace="KiroPipeline",
        MetricName=name,
        Dimensions=[{"Name": "Environment", "Value": "test"}],
        StartTime=at - timedelta(minutes=1),
        EndTime=at + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum", "SampleCount"],
    )["Datapoints"]


def test_the_hourly_publisher_puts_the_same_figures_at_the_schedules_hour(scheduled):
    event = {"time": records.format_time(END + timedelta(minutes=7))}  # EventBridge's scheduled time
    assert scheduled.handler(event, now=END + timedelta(minutes=8)) == {"result": "published", "metrics": 5}
    (lead,) = published("LeadTimeForChanges", END)
    assert (lead["Maximum"], lead["Unit"]) == (46800, "Seconds")
    (rate,) = published("ChangeFailureRate", END)
    assert (rate["Maximum"], rate["Unit"]) == (33.33, "Percent")
    (frequency,) = published("DeploymentFrequency", END)
    assert frequency["Maximum"] == 0.1667


def test_nothing_to_measure_publishes_nothing_rather_than_zero(scheduled):
    later = END + timedelta(days=200)
    assert scheduled.handler({"time": records.format_time(later)}, now=later) == {"result": "published", "metrics": 1}
    assert published("LeadTimeForChanges", later) == [] and published("ChangeFailureRate", later) == []
    (frequency,) = published("DeploymentFrequency", later)  # zero deployments is a fact, and is published
    assert frequency["Maximum"] == 0


def test_a_time_cloudwatch_would_refuse_falls_back_to_the_current_hour(scheduled):
    now = datetime(2026, 11, 22, 5, 42, tzinfo=UTC)
    hour = datetime(2026, 11, 22, 5, tzinfo=UTC)
    assert scheduled.scheduled_hour({"time": "2026-11-22T05:00:01Z"}, now) == hour
    assert scheduled.scheduled_hour({"time": "2026-10-01T05:00:00Z"}, now) == hour  # a month old
    assert scheduled.scheduled_hour({"time": "2027-01-01T00:00:00Z"}, now) == hour  # ahead
    assert scheduled.scheduled_hour({}, now) == hour


def test_the_publishers_request_is_valid_for_cloudwatch(scheduled):
    """Units and shapes checked by botocore against CloudWatch's model."""
    from botocore.stub import Stubber

    data = scheduled.metric_data(dora.measure(ledger(BASE), START, END), "test", END)
    assert {d["Unit"] for d in data} == {"None", "Seconds", "Percent"}
    client = boto3.client("cloudwatch")
    with Stubber(client) as stub:
        stub.add_response("put_metric_data", {}, {"Namespace": "KiroPipeline", "MetricData": data})
        client.put_metric_data(Namespace="KiroPipeline", MetricData=data)


@pytest.mark.parametrize(
    "time",
    [
        "9999-12-31T23:59:59-01:00",  # year 9999 shifted to UTC: past datetime.max (OverflowError)
        "0001-01-01T00:30:00+01:00",  # year 1 shifted to UTC: before datetime.min (OverflowError)
        "9999-12-31T23:59:59.999999-23:59",
        "99999-01-01T00:00:00Z",  # a five-digit year
        "2026-13-01T00:00:00Z",  # no such month
        pytest.param("2026-11-22T05:00:01Z" + "0" * 10_000, id="10000-characters"),  # longer than any timestamp
        pytest.param(10**5000, id="a-5001-digit-number"),  # too long even to print
        float("nan"),
        None,
        ["2026-11-22T05:00:01Z"],
    ],
)
def test_an_unreadable_or_out_of_range_time_is_the_current_hour(scheduled, time):
    now = datetime(2026, 11, 22, 5, 42, tzinfo=UTC)
    assert scheduled.scheduled_hour({"time": time}, now) == datetime(2026, 11, 22, 5, tzinfo=UTC)


@pytest.mark.parametrize("event", [{"time": "9999-12-31T23:59:59-01:00"}, ["not", "a", "dict"], "text", None])
def test_the_hourly_publisher_publishes_at_the_current_hour_for_a_bad_event(scheduled, event):
    now = END + timedelta(minutes=8)
    assert scheduled.handler(event, now=now) == {"result": "published", "metrics": 5}
    (frequency,) = published("DeploymentFrequency", END)  # END is on the hour: now's hour
    assert frequency["Maximum"] == 0.1667


def test_ops_dora_shows_recoveries_whose_end_is_unknown(aws, capsys):
    """An incident ended by its alarm going to INSUFFICIENT_DATA is a counted
    recovery, flagged in the report (text and JSON)."""
    names = load("test").names
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=5)
    deployed = {
        records.KEY: "d1",
        records.INDEX_SORT: records.format_time(day + timedelta(hours=1)),
        "status": "SUCCEEDED",
        "executionType": "STANDARD",
        "succeededStages": set(ALL_STAGES),
        "endTime": records.format_time(day + timedelta(hours=2)),
    }
    start = records.format_time(day + timedelta(hours=3))
    incident = {
        records.KEY: f"incident#{names.health_alarm('production')}#{start}",
        records.INDEX_SORT: start,
        "target": "production",
        "status": "RESOLVED",
        "endTime": records.format_time(day + timedelta(hours=4, minutes=30)),
        "endReason": "INSUFFICIENT_DATA",
    }
    seed_ledger(names, [deployed, incident])
    assert cli.main(["dora", "test", "--json"]) == 0
    got = {m["name"]: m for m in json.loads(capsys.readouterr().out)["metrics"]}
    recovery = got["FailedDeploymentRecoveryTime"]
    assert (recovery["median"], recovery["p90"], recovery["endedUnknown"], recovery["restsOn"]) == (5400, 5400, 1, 1)
    assert cli.main(["dora", "test"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if "FailedDeploymentRecoveryTime" in x]
    assert "median 1:30:00, p90 1:30:00; 1 ended without data (end unknown)" in line
